//! An owned, simplified view of the instructions (absolute byte spans into the source text),
//! read from parse-dockerfile.

use super::prepass::TEMPLATE_BLANK;
use crate::text::location::Span;
use crate::text::{Problem, SourceText};
use parse_dockerfile::{Command, Instruction};

#[derive(Clone, Debug)]
pub(super) struct Word {
    pub(super) span: Span,
    pub(super) value: String,
}

#[derive(Clone, Debug)]
pub(super) struct Flag {
    pub(super) name: String,
    pub(super) value: Option<Word>,
}

#[derive(Clone, Debug)]
pub(super) enum Inst {
    From { flags: Vec<Flag>, image: Word, name: Option<Word> },
    Arg { args: Word },
    Env { args: Word },
    Copy { keyword: usize, add: bool, flags: Vec<Flag>, sources: Vec<Word>, dest: Word },
    Workdir { path: Word },
    Run { keyword: usize, flags: Vec<Flag>, shell: Option<Span>, exec: Vec<Word>, heredocs: Vec<HereBody> },
    Other,
}

/// A heredoc body: `body` is its text (without the delimiter line), `blank` what the pre-pass
/// blanked (body and delimiter line), `script` whether a shell runs it.
#[derive(Clone, Debug)]
pub(super) struct HereBody {
    pub(super) body: Span,
    pub(super) blank: Span,
    pub(super) script: bool,
}

fn word(w: &parse_dockerfile::UnescapedString<'_>) -> Word {
    Word { span: w.span.clone(), value: w.value.replace(TEMPLATE_BLANK, " ") }
}

/// The path sources of a `COPY` / `ADD` (heredoc sources create files from their text).
fn path_sources(src: &[parse_dockerfile::Source<'_>]) -> Vec<Word> {
    src.iter()
        .filter_map(|s| match s {
            parse_dockerfile::Source::Path(p) => Some(word(p)),
            _ => None,
        })
        .collect()
}

fn flags(fl: &[parse_dockerfile::Flag<'_>]) -> Vec<Flag> {
    fl.iter()
        .map(|f| Flag { name: f.name.value.to_ascii_lowercase(), value: f.value.as_ref().map(word) })
        .collect()
}

impl Inst {
    fn from_parsed(i: &Instruction<'_>) -> Inst {
        match i {
            Instruction::From(f) => Inst::From {
                flags: flags(&f.options),
                image: word(&f.image),
                name: f.as_.as_ref().map(|(_, n)| word(n)),
            },
            Instruction::Arg(a) => Inst::Arg { args: word(&a.arguments) },
            Instruction::Env(e) => Inst::Env { args: word(&e.arguments) },
            Instruction::Copy(c) => Inst::Copy {
                keyword: c.copy.span.start,
                add: false,
                flags: flags(&c.options),
                sources: path_sources(&c.src),
                dest: word(&c.dest),
            },
            Instruction::Add(a) => Inst::Copy {
                keyword: a.add.span.start,
                add: true,
                flags: flags(&a.options),
                sources: path_sources(&a.src),
                dest: word(&a.dest),
            },
            Instruction::Workdir(w) => Inst::Workdir { path: word(&w.arguments) },
            Instruction::Run(r) => {
                let (shell, exec) = match &r.arguments {
                    Command::Shell(s) => (Some(s.span.clone()), Vec::new()),
                    Command::Exec(e) => (None, e.value.iter().map(word).collect()),
                    _ => (None, Vec::new()),
                };
                let heredocs = r
                    .here_docs
                    .iter()
                    .map(|h| HereBody { body: h.span.clone(), blank: h.span.clone(), script: true })
                    .collect();
                Inst::Run { keyword: r.run.span.start, flags: flags(&r.options), shell, exec, heredocs }
            }
            _ => Inst::Other,
        }
    }

    /// Move spans by `by` bytes (the BOM) and re-read words whose template blanks were masked.
    pub(super) fn shift(self, by: usize, _text: &str) -> Inst {
        let w = |w: Word| Word { span: w.span.start + by..w.span.end + by, value: w.value };
        let f = |fl: Vec<Flag>| {
            fl.into_iter().map(|f| Flag { name: f.name, value: f.value.map(&w) }).collect::<Vec<_>>()
        };
        let s = |s: Span| s.start + by..s.end + by;
        match self {
            Inst::From { flags, image, name } => {
                Inst::From { flags: f(flags), image: w(image), name: name.map(w) }
            }
            Inst::Arg { args } => Inst::Arg { args: w(args) },
            Inst::Env { args } => Inst::Env { args: w(args) },
            Inst::Copy { keyword, add, flags, sources, dest } => Inst::Copy {
                keyword: keyword + by,
                add,
                flags: f(flags),
                sources: sources.into_iter().map(w).collect(),
                dest: w(dest),
            },
            Inst::Workdir { path } => Inst::Workdir { path: w(path) },
            Inst::Run { keyword, flags, shell, exec, heredocs } => Inst::Run {
                keyword: keyword + by,
                flags: f(flags),
                shell: shell.map(s),
                exec: exec.into_iter().map(w).collect(),
                heredocs: heredocs
                    .into_iter()
                    .map(|h| HereBody { body: s(h.body), blank: s(h.blank), ..h })
                    .collect(),
            },
            Inst::Other => Inst::Other,
        }
    }
}

pub(super) type Parsed = (Vec<Inst>, char, Option<parse_dockerfile::Error>);

/// All instructions up to the first error, the escape character, and that error.
pub(super) fn collect(work: &str) -> Result<Parsed, parse_dockerfile::Error> {
    let escape = match parse_dockerfile::parse(work) {
        Ok(d) => d.parser_directives.escape.as_ref().map_or('\\', |e| e.value.value),
        Err(_) => escape_directive(work),
    };
    let mut insts = Vec::new();
    let mut error = None;
    for i in parse_dockerfile::parse_iter(work)? {
        match i {
            Ok(i) => insts.push(Inst::from_parsed(&i)),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    Ok((insts, escape, error))
}

/// The `escape` parser directive, read by hand (only when the whole file does not parse).
fn escape_directive(text: &str) -> char {
    for line in text.lines() {
        let Some(rest) = line.trim_start().strip_prefix('#') else { return '\\' };
        let Some((key, value)) = rest.split_once('=') else { return '\\' };
        let key = key.trim().to_ascii_lowercase();
        if key == "escape" {
            return if value.trim() == "`" { '`' } else { '\\' };
        }
        if key != "syntax" && key != "check" {
            return '\\';
        }
    }
    '\\'
}

pub(super) fn error_problem(src: &SourceText, bom: usize, e: &parse_dockerfile::Error) -> Problem {
    let message = format!("{e:#}");
    if e.line() == 0 {
        return Problem { message, location: src.file_location() };
    }
    let line = u32::try_from(e.line()).unwrap_or(u32::MAX);
    let start = src.index.offset(&src.text, line, 1);
    let mut offset = start + e.column().saturating_sub(1);
    if line == 1 {
        offset += bom;
    }
    let offset = offset.min(src.text.len());
    Problem { message, location: src.location(offset..offset) }
}

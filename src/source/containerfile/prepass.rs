//! The two pre-passes run on a working copy of the text before parse-dockerfile reads it; neither
//! moves a byte (see the parent module's documentation): blanks inside template markup are
//! masked, and the bodies of heredocs parse-dockerfile does not understand are blanked.

use super::instructions::HereBody;
use super::shell::is_assignment;
use crate::text::{Problem, SourceText};
use parse_dockerfile::{Command, Instruction};
use std::collections::HashMap;

/// What replaces a blank inside template markup in the working copy.
pub(super) const TEMPLATE_BLANK: char = '\u{1}';

/// The working copy parse-dockerfile reads, and what the pre-passes found.
pub(super) struct Prepared {
    pub(super) work: String,
    /// The heredoc bodies blanked in `work`, by the offset of their `RUN` keyword.
    pub(super) heredocs: HashMap<usize, Vec<HereBody>>,
    /// Unterminated heredocs.
    pub(super) problems: Vec<Problem>,
}

/// Run both pre-passes on `body` (the text after a BOM of `bom` bytes); spans are relative to
/// `body`.
pub(super) fn prepare(body: &str, src: &SourceText, bom: usize) -> Prepared {
    let mut work = mask_templates(body);
    let mut heredocs: HashMap<usize, Vec<HereBody>> = HashMap::new();
    let mut problems = Vec::new();
    // Blank heredoc bodies that parse-dockerfile does not know about, one RUN at a time.
    for _ in 0..10_000 {
        let Some((run_start, bodies)) = next_unhandled_heredocs(&work, &heredocs, &mut problems, src, bom)
        else {
            break;
        };
        let mut bytes = std::mem::take(&mut work).into_bytes();
        for b in &bodies {
            for byte in &mut bytes[b.blank.clone()] {
                if *byte != b'\n' {
                    *byte = b' ';
                }
            }
        }
        work = String::from_utf8(bytes).unwrap_or_default();
        heredocs.insert(run_start, bodies);
    }
    Prepared { work, heredocs, problems }
}

/// Replace blanks inside `{{ ... }}` / `{% ... %}` (on one line) by a placeholder byte.
fn mask_templates(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut rest = line;
        while let Some(open) = rest.find("{{").or_else(|| rest.find("{%")) {
            let close_tok = if rest[open..].starts_with("{{") { "}}" } else { "%}" };
            let Some(close) = rest[open..].find(close_tok) else { break };
            let end = open + close + 2;
            out.push_str(&rest[..open]);
            out.extend(
                rest[open..end].chars().map(|c| if c == ' ' || c == '\t' { TEMPLATE_BLANK } else { c }),
            );
            rest = &rest[end..];
        }
        out.push_str(rest);
    }
    out
}

/// The first `RUN` whose arguments hold heredoc markers that parse-dockerfile left alone,
/// with the spans of its bodies (relative to `work`).
fn next_unhandled_heredocs(
    work: &str,
    done: &HashMap<usize, Vec<HereBody>>,
    problems: &mut Vec<Problem>,
    src: &SourceText,
    bom: usize,
) -> Option<(usize, Vec<HereBody>)> {
    let iter = parse_dockerfile::parse_iter(work).ok()?;
    for inst in iter {
        let Ok(Instruction::Run(run)) = inst else { continue };
        let Command::Shell(args) = &run.arguments else { continue };
        if !run.here_docs.is_empty() || done.contains_key(&run.run.span.start) {
            continue;
        }
        let markers = heredoc_markers(args.value);
        if markers.is_empty() {
            continue;
        }
        let mut pos = match work[args.span.end..].find('\n') {
            Some(n) => args.span.end + n + 1,
            None => work.len(),
        };
        let mut bodies = Vec::new();
        for m in markers {
            let start = pos;
            let mut end_of_body = None;
            while pos < work.len() {
                let line_end = work[pos..].find('\n').map_or(work.len(), |n| pos + n);
                let mut line = work[pos..line_end].trim_end_matches('\r');
                if m.strip_tabs {
                    line = line.trim_start_matches('\t');
                }
                let next = (line_end + 1).min(work.len());
                if line == m.delimiter {
                    end_of_body = Some(pos);
                    pos = next;
                    break;
                }
                pos = next;
            }
            let body_end = end_of_body.unwrap_or(work.len());
            if end_of_body.is_none() {
                let at = run.run.span.start + bom;
                problems.push(Problem {
                    message: format!("here-document `{}` is not terminated", m.delimiter),
                    location: src.location(at..at),
                });
            }
            bodies.push(HereBody { body: start..body_end, blank: start..pos, script: m.script });
        }
        return Some((run.run.span.start, bodies));
    }
    None
}

struct Marker {
    delimiter: String,
    strip_tabs: bool,
    /// The command reading the heredoc is a shell.
    script: bool,
}

/// `<<EOF`, `<<-EOF`, `<<'EOF'`, `<<"EOF"` in a shell line (not `<<<`, not inside quotes).
fn heredoc_markers(line: &str) -> Vec<Marker> {
    let mut out = Vec::new();
    let b = line.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    let mut cmd_start = 0;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == q {
                quote = None;
            } else if c == b'\\' && q == b'"' {
                i += 1;
            }
            i += 1;
            continue;
        }
        match c {
            b'\'' | b'"' => quote = Some(c),
            b'\\' => i += 1,
            b';' | b'&' | b'|' | b'(' | b'\n' => cmd_start = i + 1,
            b'<' if b.get(i + 1) == Some(&b'<') && b.get(i + 2) != Some(&b'<') => {
                let script = is_shell_command(&line[cmd_start..i]);
                let mut j = i + 2;
                let strip_tabs = b.get(j) == Some(&b'-');
                if strip_tabs {
                    j += 1;
                }
                while b.get(j).is_some_and(|c| *c == b' ' || *c == b'\t') {
                    j += 1;
                }
                let mut delim = String::new();
                while let Some(&c) = b.get(j) {
                    match c {
                        b'\'' | b'"' => {
                            let close = line[j + 1..].find(c as char).map_or(line.len(), |n| j + 1 + n);
                            delim.push_str(&line[j + 1..close]);
                            j = close + 1;
                        }
                        b' ' | b'\t' | b'\r' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')' => {
                            break;
                        }
                        _ => {
                            let ch = line[j..].chars().next().unwrap_or(' ');
                            delim.push(ch);
                            j += ch.len_utf8();
                        }
                    }
                }
                if !delim.is_empty() {
                    out.push(Marker { delimiter: delim, strip_tabs, script });
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Whether a simple command (the text before a heredoc marker) runs a shell.
fn is_shell_command(cmd: &str) -> bool {
    let first = cmd.split_whitespace().find(|w| !is_assignment(w)).unwrap_or("");
    let name = first.rsplit('/').next().unwrap_or(first);
    matches!(name, "sh" | "bash" | "ash" | "dash" | "zsh" | "ksh")
}

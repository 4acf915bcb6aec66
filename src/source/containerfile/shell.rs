//! A small shell-word splitter: quotes, backslashes, parameter expansion with the build
//! ARG/ENV values, command substitution kept as written; `;`, `&&`, `||`, `|`, `&`, newlines
//! separate commands; redirections keep their target word.

use super::instructions::Word;
use super::scope::Scope;
use crate::source::args;
use crate::source::args::Budget;
use crate::text::location::Span;

#[derive(Clone, Debug, Default)]
pub(super) struct ShWord {
    /// Source byte range (start of the first character, end of the word).
    pub(super) start: usize,
    pub(super) end: usize,
    /// Quotes removed, ARG/ENV expanded; shell variables and `$(...)` kept as written.
    pub(super) value: String,
    /// Where the characters of `value` come from, as `(first character, source byte offset)`
    /// runs: one per character written out, one per expansion (all its characters map to its
    /// `$`), so an expanded value costs its own length and no more (see [`ShWord::offset_of`]).
    marks: Vec<(usize, usize)>,
    /// Characters in `value`.
    chars: usize,
    /// Variables with no build value (shell variables, or ARGs declared without a value).
    pub(super) shell_vars: Vec<String>,
    /// Holds command substitution or a substitution error.
    pub(super) dynamic: bool,
}

impl ShWord {
    pub(super) fn literal(w: &Word) -> ShWord {
        let mut word = ShWord { start: w.span.start, end: w.span.end, ..ShWord::default() };
        let mut at = w.span.start;
        for c in w.value.chars() {
            word.push(c, at);
            at += c.len_utf8();
        }
        word
    }

    /// The source byte offset of character `index` of `value`.
    pub(super) fn offset_of(&self, index: usize) -> Option<usize> {
        if index >= self.chars {
            return None;
        }
        let run = self.marks.partition_point(|&(first, _)| first <= index);
        Some(self.marks[run.checked_sub(1)?].1)
    }

    pub(super) fn is_literal(&self) -> bool {
        !self.dynamic && self.shell_vars.is_empty()
    }

    fn push(&mut self, c: char, at: usize) {
        self.value.push(c);
        self.marks.push((self.chars, at));
        self.chars += 1;
    }

    /// An expansion produced by the `$` at `at`.
    fn push_expansion(&mut self, s: &str, at: usize) {
        if s.is_empty() {
            return;
        }
        self.value.push_str(s);
        self.marks.push((self.chars, at));
        self.chars += s.chars().count();
    }

    pub(super) fn unquoted(&self, text: &str) -> String {
        unquote(text.get(self.start..self.end).unwrap_or(&self.value))
    }
}

#[derive(Clone, Debug)]
pub(super) enum ShTok {
    Word(ShWord),
    Sep,
    Redir { op: String, target: Option<ShWord> },
}

pub(super) struct Sh<'a> {
    t: &'a str,
    i: usize,
    end: usize,
    /// The line-continuation character (the Dockerfile escape for shell-form RUN).
    cont: char,
    /// Shell-form RUN text: comment lines after a continuation are dropped, as the
    /// Dockerfile parser does.
    dockerfile: bool,
    scope: &'a Scope,
    budget: &'a Budget,
}

impl<'a> Sh<'a> {
    pub(super) fn new(
        t: &'a str,
        span: Span,
        cont: char,
        dockerfile: bool,
        scope: &'a Scope,
        budget: &'a Budget,
    ) -> Sh<'a> {
        let end = span.end.min(t.len());
        Sh { t, i: span.start.min(end), end, cont, dockerfile, scope, budget }
    }

    fn peek(&self) -> Option<char> {
        if self.i >= self.end {
            return None;
        }
        self.t.get(self.i..self.end)?.chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.t.get(self.i..self.end)?.chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += c.len_utf8();
        Some(c)
    }

    /// Skip a line continuation (escape, optional blanks, newline) if one starts here.
    fn skip_cont(&mut self) -> bool {
        if self.peek() != Some(self.cont) {
            return false;
        }
        let rest = &self.t[self.i + self.cont.len_utf8()..self.end];
        let trimmed = rest.trim_start_matches([' ', '\t', '\r']);
        if !trimmed.starts_with('\n') {
            return false;
        }
        self.i = self.end - trimmed.len() + 1;
        if self.dockerfile {
            loop {
                let line_end = self.t[self.i..self.end].find('\n').map_or(self.end, |n| self.i + n);
                let line = self.t[self.i..line_end].trim_start();
                if line_end < self.end && (line.trim().is_empty() || line.starts_with('#')) {
                    self.i = line_end + 1;
                } else {
                    break;
                }
            }
        }
        true
    }

    pub(super) fn tokens(mut self) -> Vec<ShTok> {
        let mut out = Vec::new();
        loop {
            loop {
                if self.skip_cont() {
                    continue;
                }
                match self.peek() {
                    Some(' ' | '\t' | '\r') => {
                        self.bump();
                    }
                    _ => break,
                }
            }
            let Some(c) = self.peek() else { break };
            match c {
                '\n' | ';' | '&' | '|' | '(' | ')' => {
                    self.bump();
                    if matches!(
                        (c, self.peek()),
                        ('&', Some('&')) | ('|', Some('|' | '&')) | (';', Some(';'))
                    ) {
                        self.bump();
                    }
                    out.push(ShTok::Sep);
                }
                '#' => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                '<' | '>' => out.push(self.redirect(String::new())),
                c if c.is_ascii_digit() && self.digits_then_redirect() => {
                    let mut fd = String::new();
                    while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                        fd.push(d);
                        self.bump();
                    }
                    out.push(self.redirect(fd));
                }
                _ => out.push(ShTok::Word(self.word())),
            }
        }
        out
    }

    fn digits_then_redirect(&self) -> bool {
        let rest = &self.t[self.i..self.end];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        rest[digits..].starts_with(['<', '>'])
    }

    fn redirect(&mut self, mut op: String) -> ShTok {
        if let Some(c) = self.bump() {
            op.push(c);
            while let Some(n) = self.peek() {
                if (n == c && op.len() < 3) || n == '&' || n == '|' || (n == '-' && op.ends_with("<<")) {
                    op.push(n);
                    self.bump();
                } else {
                    break;
                }
            }
        }
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.bump();
        }
        let target = match self.peek() {
            None | Some('\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>') => None,
            Some(_) => Some(self.word()),
        };
        ShTok::Redir { op, target }
    }

    fn word(&mut self) -> ShWord {
        let mut w = ShWord { start: self.i, ..ShWord::default() };
        loop {
            if self.skip_cont() {
                continue;
            }
            let Some(c) = self.peek() else { break };
            match c {
                ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>' => break,
                '\'' => {
                    self.bump();
                    while let Some(c) = self.peek() {
                        let at = self.i;
                        self.bump();
                        if c == '\'' {
                            break;
                        }
                        w.push(c, at);
                    }
                }
                '"' => {
                    self.bump();
                    loop {
                        if self.skip_cont() {
                            continue;
                        }
                        let Some(c) = self.peek() else { break };
                        match c {
                            '"' => {
                                self.bump();
                                break;
                            }
                            '\\' => {
                                let at = self.i;
                                self.bump();
                                match self.peek() {
                                    Some(n @ ('$' | '`' | '"' | '\\')) => {
                                        w.push(n, self.i);
                                        self.bump();
                                    }
                                    Some('\n') => {
                                        self.bump();
                                    }
                                    _ => w.push('\\', at),
                                }
                            }
                            '$' => self.dollar(&mut w),
                            '`' => self.backtick(&mut w),
                            c => {
                                w.push(c, self.i);
                                self.bump();
                            }
                        }
                    }
                }
                '\\' => {
                    self.bump();
                    match self.peek() {
                        Some('\n') => {
                            self.bump();
                        }
                        Some(n) => {
                            w.push(n, self.i);
                            self.bump();
                        }
                        None => {}
                    }
                }
                '$' => self.dollar(&mut w),
                '`' => self.backtick(&mut w),
                c => {
                    w.push(c, self.i);
                    self.bump();
                }
            }
        }
        w.end = self.i;
        w.shell_vars = args::dedup(std::mem::take(&mut w.shell_vars));
        w
    }

    fn raw_until(&mut self, w: &mut ShWord, to: usize) {
        while self.i < to {
            let Some(c) = self.bump() else { break };
            w.push(c, self.i - c.len_utf8());
        }
    }

    fn dollar(&mut self, w: &mut ShWord) {
        if self.peek_at(1) == Some('(') {
            // Command or arithmetic substitution: kept as written, matched by parentheses.
            let mut depth = 0usize;
            let mut j = self.i + 1;
            let bytes = self.t.as_bytes();
            let mut quote: Option<u8> = None;
            while j < self.end {
                let b = bytes[j];
                match quote {
                    Some(q) if b == q => quote = None,
                    Some(_) => {}
                    None => match b {
                        b'\'' | b'"' => quote = Some(b),
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                j += 1;
                                break;
                            }
                        }
                        _ => {}
                    },
                }
                j += 1;
            }
            w.dynamic = true;
            let to = j.min(self.end);
            self.raw_until(w, to);
            return;
        }
        let (e, used) = args::expand_parameter(&self.t[self.i..self.end], self.scope, self.budget);
        let raw_end = self.i + used;
        if e.error.is_some() {
            w.dynamic = true;
        }
        w.shell_vars.extend(e.undefined);
        if e.value == self.t[self.i..raw_end] {
            self.raw_until(w, raw_end);
        } else {
            w.push_expansion(&e.value, self.i);
            self.i = raw_end;
        }
    }

    fn backtick(&mut self, w: &mut ShWord) {
        let close = self.t[self.i + 1..self.end].find('`').map_or(self.end, |n| self.i + 1 + n + 1);
        w.dynamic = true;
        self.raw_until(w, close);
    }
}

/// Remove shell quotes from a raw text (for the "as written" image text).
pub(super) fn unquote(s: &str) -> String {
    s.chars().filter(|c| *c != '"' && *c != '\'').collect()
}

/// `NAME=value`: a shell variable assignment.
pub(super) fn is_assignment(w: &str) -> bool {
    match w.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

//! BuildKit/Dockerfile variable substitution for one word (`FROM` image, `--platform`, `ARG`
//! and `ENV` values, `--from=`), modelled on the behaviour of BuildKit's
//! `frontend/dockerfile/shell` lexer (`ProcessWord`):
//!
//! - `$V`, `${V}`, `${V:-d}`, `${V-d}`, `${V:+x}`, `${V+x}`, `${V:?m}`, `${V?m}`, `${V#p}`,
//!   `${V##p}`, `${V%p}`, `${V%%p}`, `${V/p/r}`, `${V//p/r}`; patterns use `*` and `?` globs
//!   (no bracket expressions, as in BuildKit); `\*`, `\?`, `\\` are literal in patterns.
//! - Quotes are removed: `'...'` is literal, `"..."` expands `$` and lets the escape character
//!   escape `"`, `$` and itself (other escapes stay literal). Outside quotes the escape
//!   character (`\`, or `` ` `` from the escape directive) makes the next character literal.
//! - `$` not followed by a name stays `$` (so `$(cmd)` stays as written).
//!
//! One deliberate difference: BuildKit expands an unset variable to the empty string; here an
//! unset variable **without a default** is left as written (`$V`, `${V}`, `${V#p}`) and its name
//! is reported in [`Expanded::undefined`], so callers can report the reference as unresolved
//! instead of guessing. Special parameters (`$1`, `$@`, ...) are never set.
//!
//! Expansion is bounded ([`Budget`]): a file is text someone else wrote, and each `ARG` can
//! double the previous one (`ARG A1=${A0}${A0}`, forty times, is 8 TiB). Every byte a
//! substitution inserts (a value, a trimmed value, a replacement) is counted against a limit
//! per word and a limit per file, pattern matching against a number of steps per file, and
//! `${` nesting against a depth. Once a limit is reached nothing more is inserted in the file:
//! every later expansion that would insert or match something stops with
//! [`ExpandError::Limit`], its value the word as written; words that need no substitution
//! still read as they are.

mod budget;
mod glob;

use std::collections::{BTreeMap, HashMap};

pub use budget::{Budget, Limit, MAX_FILE_EXPANSION, MAX_NESTING, MAX_PATTERN_STEPS, MAX_WORD_EXPANSION};
use glob::Glob;

/// Variables visible to an expansion.
pub trait Vars {
    /// The value of `name`, `None` when it is not set (an empty value is set).
    fn var(&self, name: &str) -> Option<&str>;
}

impl Vars for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl Vars for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl Vars for [(&str, &str)] {
    fn var(&self, name: &str) -> Option<&str> {
        self.iter().rev().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }
}

/// A syntax error in a word, worded as BuildKit words it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// A `${...}` or pattern word that ends before its closing character.
    #[error("unexpected end of statement while looking for matching {0}")]
    Unterminated(char),
    #[error("unexpected end of statement while looking for matching single-quote")]
    UnterminatedSingleQuote,
    #[error("unexpected end of statement while looking for matching double-quote")]
    UnterminatedDoubleQuote,
    #[error("syntax error: missing '}}'")]
    MissingBrace,
    /// `${}`, `${{...` or `${:...`.
    #[error("syntax error: bad substitution")]
    BadSubstitution,
    /// `${V/pattern` without the `/` that ends the pattern.
    #[error("syntax error: missing '/' in ${{}}")]
    MissingSlash,
    /// `${V:op...}` with an operator BuildKit does not know.
    #[error("unsupported modifier (:{0}) in substitution")]
    UnsupportedColonModifier(char),
    /// `${Vop...}` with an operator BuildKit does not know.
    #[error("unsupported modifier ({0}) in substitution")]
    UnsupportedModifier(char),
    /// A bound of the [`Budget`] was reached: not a syntax error of the word, a refusal to go on.
    #[error(transparent)]
    Limit(#[from] Limit),
}

/// The result of expanding a word.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expanded {
    /// The word after substitution and quote removal; undefined variables are kept as written.
    pub value: String,
    /// Variables that were needed but not set, in order of appearance, without duplicates.
    pub undefined: Vec<String>,
    /// A syntax error (`${}`, a missing `}`, an unsupported modifier, an unterminated quote).
    /// `value` is then the word as written.
    pub error: Option<ExpandError>,
}

impl Expanded {
    /// True when the value is complete: nothing undefined and no error.
    pub fn is_complete(&self) -> bool {
        self.undefined.is_empty() && self.error.is_none()
    }
}

/// Expand `word` like BuildKit's `ProcessWord`, with `escape` the Dockerfile escape character,
/// spending from `budget` (the file's: see [`Budget`]).
pub fn expand(word: &str, escape: char, vars: &dyn Vars, budget: &Budget) -> Expanded {
    let mut lex = Lex::new(word, escape, vars, budget);
    match lex.word(None, false) {
        Ok(value) => Expanded { value, undefined: dedup(lex.undefined), error: None },
        Err(e) => Expanded { value: word.to_string(), undefined: dedup(lex.undefined), error: Some(e) },
    }
}

/// Expand the one parameter expression at the start of `text` (which must start with `$`),
/// for callers with their own quoting rules (a shell-word splitter). Returns the expansion
/// and the number of bytes of `text` it used. The escape character is `\`, as in a shell.
pub fn expand_parameter(text: &str, vars: &dyn Vars, budget: &Budget) -> (Expanded, usize) {
    let mut lex = Lex::new(text, '\\', vars, budget);
    match lex.dollar() {
        Ok(value) => {
            let used = lex.pos.max(1);
            (Expanded { value, undefined: dedup(lex.undefined), error: None }, used)
        }
        Err(e) => {
            let used = lex.pos.max(1).min(text.len());
            let value = text[..used].to_string();
            (Expanded { value, undefined: dedup(lex.undefined), error: Some(e) }, used)
        }
    }
}

/// `names` without repeats, in order of first appearance (a set, not a scan per name: a word
/// can name hundreds of thousands of variables).
pub(crate) fn dedup(mut names: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::with_capacity(names.len());
    names.retain(|n| seen.insert(n.clone()));
    names
}

struct Lex<'a> {
    s: &'a str,
    pos: usize,
    escape: char,
    vars: &'a dyn Vars,
    undefined: Vec<String>,
    budget: &'a Budget,
    /// Bytes this word may still insert.
    word_left: usize,
    /// `${` currently open.
    depth: usize,
}

impl<'a> Lex<'a> {
    fn new(s: &'a str, escape: char, vars: &'a dyn Vars, budget: &'a Budget) -> Lex<'a> {
        Lex { s, pos: 0, escape, vars, undefined: Vec::new(), budget, word_left: budget.word, depth: 0 }
    }

    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// The value of `name`, borrowed: nothing is copied (or counted) until it is inserted.
    fn lookup(&self, name: &str) -> Option<&'a str> {
        self.vars.var(name)
    }

    /// `text` as inserted into the word: counted against the budget, then copied.
    fn insert(&mut self, text: &str) -> Result<String, ExpandError> {
        self.budget.spend(&mut self.word_left, text.len())?;
        Ok(text.to_string())
    }

    fn raw_since(&self, start: usize) -> String {
        self.s[start..self.pos].to_string()
    }

    /// Process up to `stop` (consumed) or the end. `raw_escapes` keeps escape characters
    /// (pattern words, where `\*` must stay an escaped glob).
    fn word(&mut self, stop: Option<char>, raw_escapes: bool) -> Result<String, ExpandError> {
        let mut out = String::new();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.next();
                return Ok(out);
            }
            match ch {
                '$' => out.push_str(&self.dollar()?),
                '\'' => out.push_str(&self.single_quoted()?),
                '"' => out.push_str(&self.double_quoted()?),
                _ => {
                    self.next();
                    if ch == self.escape {
                        if raw_escapes {
                            out.push(ch);
                        }
                        match self.next() {
                            Some(c) => out.push(c),
                            None => break,
                        }
                    } else {
                        out.push(ch);
                    }
                }
            }
        }
        match stop {
            Some(c) => Err(ExpandError::Unterminated(c)),
            None => Ok(out),
        }
    }

    fn single_quoted(&mut self) -> Result<String, ExpandError> {
        self.next();
        let mut out = String::new();
        loop {
            match self.next() {
                None => {
                    return Err(ExpandError::UnterminatedSingleQuote);
                }
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, ExpandError> {
        self.next();
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(ExpandError::UnterminatedDoubleQuote);
                }
                Some('"') => {
                    self.next();
                    return Ok(out);
                }
                Some('$') => out.push_str(&self.dollar()?),
                Some(_) => {
                    let Some(mut ch) = self.next() else { continue };
                    if ch == self.escape {
                        match self.peek() {
                            None => continue,
                            Some(c) if c == '"' || c == '$' || c == self.escape => {
                                self.next();
                                ch = c;
                            }
                            Some(_) => {}
                        }
                    }
                    out.push(ch);
                }
            }
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_ascii_digit() {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    self.next();
                    name.push(d);
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                return ch.to_string();
            }
            if !ch.is_alphanumeric() && ch != '_' {
                break;
            }
            self.next();
            name.push(ch);
        }
        name
    }

    fn undefined(&mut self, name: &str) {
        self.undefined.push(name.to_string());
    }

    fn dollar(&mut self) -> Result<String, ExpandError> {
        let start = self.pos;
        self.next();
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return match self.lookup(&name) {
                Some(v) => self.insert(v),
                None => {
                    self.undefined(&name);
                    Ok(self.raw_since(start))
                }
            };
        }
        self.next();
        if self.depth >= self.budget.nesting {
            return Err(self.budget.stop(Limit::Nesting(self.budget.nesting)));
        }
        self.depth += 1;
        let braced = self.braced(start);
        self.depth -= 1;
        braced
    }

    /// After `${`.
    fn braced(&mut self, start: usize) -> Result<String, ExpandError> {
        match self.peek() {
            None => return Err(ExpandError::MissingBrace),
            Some('{' | '}' | ':') => return Err(ExpandError::BadSubstitution),
            Some(_) => {}
        }
        let name = self.name();
        match self.next() {
            Some('}') => match self.lookup(&name) {
                Some(v) => self.insert(v),
                None => {
                    self.undefined(&name);
                    Ok(self.raw_since(start))
                }
            },
            Some(':') => match self.next() {
                Some(op @ ('-' | '+' | '?' | '#' | '%')) => self.modifier(start, &name, op, true),
                Some(op) => Err(ExpandError::UnsupportedColonModifier(op)),
                None => Err(ExpandError::MissingBrace),
            },
            Some(op @ ('-' | '+' | '?' | '#' | '%')) => self.modifier(start, &name, op, false),
            Some('/') => self.substitution(start, &name),
            Some(op) => Err(ExpandError::UnsupportedModifier(op)),
            None => Err(ExpandError::MissingBrace),
        }
    }

    fn modifier(
        &mut self,
        start: usize,
        name: &str,
        op: char,
        null_is_unset: bool,
    ) -> Result<String, ExpandError> {
        let mark = self.undefined.len();
        let word = self.word(Some('}'), op == '#' || op == '%')?;
        let value = self.lookup(name);
        let set = value.is_some_and(|v| !(null_is_unset && v.is_empty()));
        match op {
            '-' => {
                if set {
                    self.undefined.truncate(mark);
                    self.insert(value.unwrap_or_default())
                } else {
                    Ok(word)
                }
            }
            '+' => {
                if set {
                    Ok(word)
                } else {
                    self.undefined.truncate(mark);
                    Ok(String::new())
                }
            }
            '?' => {
                self.undefined.truncate(mark);
                if set {
                    self.insert(value.unwrap_or_default())
                } else {
                    self.undefined(name);
                    Ok(self.raw_since(start))
                }
            }
            _ => {
                let Some(value) = value else {
                    self.undefined.truncate(mark);
                    self.undefined(name);
                    return Ok(self.raw_since(start));
                };
                let (pattern, greedy) = match word.strip_prefix(op) {
                    Some(p) => (p, true),
                    None => (word.as_str(), false),
                };
                let glob = Glob::new(pattern);
                let kept = if op == '#' {
                    glob.trim_prefix(value, greedy, self.budget)?
                } else {
                    glob.trim_suffix(value, greedy, self.budget)?
                };
                self.insert(kept)
            }
        }
    }

    fn substitution(&mut self, start: usize, name: &str) -> Result<String, ExpandError> {
        let all = self.peek() == Some('/');
        if all {
            self.next();
        }
        let mark = self.undefined.len();
        let pattern = self.word(Some('/'), true).map_err(|e| match e {
            ExpandError::Limit(l) => ExpandError::Limit(l),
            _ => ExpandError::MissingSlash,
        })?;
        let replacement = self.word(Some('}'), true)?;
        let Some(value) = self.lookup(name) else {
            self.undefined.truncate(mark);
            self.undefined(name);
            return Ok(self.raw_since(start));
        };
        Glob::new(&pattern).replace(value, &replacement, all, self.budget, &mut self.word_left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> HashMap<String, String> {
        [
            ("A", "alpine"),
            ("TAG", "3.20"),
            ("EMPTY", ""),
            ("PATHV", "/usr/local/lib/file.tar.gz"),
            ("IMG", "quay.io/org/app:1.2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn x(word: &str) -> String {
        let e = expand(word, '\\', &vars(), &Budget::default());
        assert_eq!(e.error, None, "{word}");
        e.value
    }

    #[test]
    fn simple_forms() {
        assert_eq!(x("$A:$TAG"), "alpine:3.20");
        assert_eq!(x("${A}:${TAG}"), "alpine:3.20");
        assert_eq!(x("${A}x"), "alpinex");
        assert_eq!(x("plain"), "plain");
        assert_eq!(x("a$"), "a$");
        assert_eq!(x("$(uname -m)"), "$(uname -m)");
    }

    #[test]
    fn defaults_and_alternatives() {
        assert_eq!(x("${NOPE:-busybox}"), "busybox");
        assert_eq!(x("${NOPE-busybox}"), "busybox");
        assert_eq!(x("${EMPTY:-d}"), "d");
        assert_eq!(x("${EMPTY-d}"), "");
        assert_eq!(x("${A:-d}"), "alpine");
        assert_eq!(x("${A:+x}"), "x");
        assert_eq!(x("${A+x}"), "x");
        assert_eq!(x("${EMPTY:+x}"), "");
        assert_eq!(x("${EMPTY+x}"), "x");
        assert_eq!(x("${NOPE+x}"), "");
        assert_eq!(x("${NOPE:-$A:$TAG}"), "alpine:3.20");
        assert_eq!(x("${NOPE:-\"q d\"}"), "q d");
        let e = expand("${NOPE:-d}", '\\', &vars(), &Budget::default());
        assert!(e.undefined.is_empty());
        // the default of a set variable is not looked at
        let e = expand("${A:-$MISSING}", '\\', &vars(), &Budget::default());
        assert!(e.is_complete());
    }

    #[test]
    fn undefined_is_kept_and_reported() {
        let e = expand("$REG/app:${VER}", '\\', &vars(), &Budget::default());
        assert_eq!(e.value, "$REG/app:${VER}");
        assert_eq!(e.undefined, vec!["REG", "VER"]);
        let e = expand("${NOPE#x}-${NOPE}", '\\', &vars(), &Budget::default());
        assert_eq!(e.value, "${NOPE#x}-${NOPE}");
        assert_eq!(e.undefined, vec!["NOPE"]);
        let e = expand("${NOPE:?must be set}", '\\', &vars(), &Budget::default());
        assert_eq!(e.undefined, vec!["NOPE"]);
        let e = expand("$1", '\\', &vars(), &Budget::default());
        assert_eq!(e.value, "$1");
        assert_eq!(e.undefined, vec!["1"]);
    }

    #[test]
    fn pattern_trimming() {
        assert_eq!(x("${PATHV#*/}"), "usr/local/lib/file.tar.gz");
        assert_eq!(x("${PATHV##*/}"), "file.tar.gz");
        assert_eq!(x("${PATHV%.*}"), "/usr/local/lib/file.tar");
        assert_eq!(x("${PATHV%%.*}"), "/usr/local/lib/file");
        assert_eq!(x("${IMG%:*}"), "quay.io/org/app");
        assert_eq!(x("${IMG##*:}"), "1.2");
        assert_eq!(x("${TAG#?.}"), "20");
        assert_eq!(x("${TAG#nomatch}"), "3.20");
        assert_eq!(x("${TAG%\\*}"), "3.20");
        assert_eq!(x("${A/l/L}"), "aLpine");
        assert_eq!(x("${TAG//[0-9]/x}"), "3.20");
        assert_eq!(x("${A//?/x}"), "xxxxxx");
        assert_eq!(x("${PATHV/\\/usr/opt}"), "opt/local/lib/file.tar.gz");
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(x("\"$A\":'$TAG'"), "alpine:$TAG");
        assert_eq!(x("\\$A"), "$A");
        assert_eq!(x("\"\\$A\""), "$A");
        assert_eq!(x("\"a\\b\""), "a\\b");
        assert_eq!(expand("`$A", '`', &vars(), &Budget::default()).value, "$A");
        assert_eq!(expand("\\$A", '`', &vars(), &Budget::default()).value, "\\alpine");
    }

    #[test]
    fn syntax_errors_keep_the_word() {
        for w in ["${", "${}", "${:x}", "${A", "${A:-x", "${A^x}", "\"open", "'open"] {
            let e = expand(w, '\\', &vars(), &Budget::default());
            assert!(e.error.is_some(), "{w}");
            assert_eq!(e.value, w);
        }
    }

    #[test]
    fn syntax_errors_are_worded_like_buildkit() {
        for (w, message) in [
            ("${", "syntax error: missing '}'"),
            ("${}", "syntax error: bad substitution"),
            ("${A:=x}", "unsupported modifier (:=) in substitution"),
            ("${A^x}", "unsupported modifier (^) in substitution"),
            ("${A:-x", "unexpected end of statement while looking for matching }"),
            ("${A/x", "syntax error: missing '/' in ${}"),
            ("\"open", "unexpected end of statement while looking for matching double-quote"),
            ("'open", "unexpected end of statement while looking for matching single-quote"),
        ] {
            let e = expand(w, '\\', &vars(), &Budget::default());
            assert_eq!(e.error.map(|e| e.to_string()).as_deref(), Some(message), "{w}");
        }
    }

    #[test]
    fn one_parameter() {
        let (e, used) = expand_parameter("${IMG}/rest", &vars(), &Budget::default());
        assert_eq!((e.value.as_str(), used), ("quay.io/org/app:1.2", 6));
        let (e, used) = expand_parameter("$img\"", &vars(), &Budget::default());
        assert_eq!((e.value.as_str(), used), ("$img", 4));
        assert_eq!(e.undefined, vec!["img"]);
        let (e, used) = expand_parameter("$(uname -m)", &vars(), &Budget::default());
        assert_eq!((e.value.as_str(), used), ("$", 1));
    }

    #[test]
    fn unicode_names_and_values() {
        let v: HashMap<String, String> = [("É".to_string(), "é/ü".to_string())].into_iter().collect();
        assert_eq!(expand("${É%/*}", '\\', &v, &Budget::default()).value, "é");
    }

    /// Vars of one name.
    fn one(name: &str, value: &str) -> HashMap<String, String> {
        [(name.to_string(), value.to_string())].into_iter().collect()
    }

    fn limit(e: &Expanded) -> Option<Limit> {
        match e.error {
            Some(ExpandError::Limit(l)) => Some(l),
            _ => None,
        }
    }

    #[test]
    fn doubling_arguments_stop_at_the_word_limit() {
        // The issue: `ARG A{i}=${A{i-1}}${A{i-1}}`, 40 times, from 8 bytes.
        let budget = Budget::default();
        let mut vars = one("A0", "xxxxxxxx");
        let mut stopped_at = None;
        for i in 1..=40 {
            let e = expand(&format!("${{A{}}}${{A{}}}", i - 1, i - 1), '\\', &vars, &budget);
            assert!(e.value.len() <= MAX_WORD_EXPANSION, "A{i}");
            if e.error.is_some() && stopped_at.is_none() {
                stopped_at = Some(i);
            }
            vars.insert(format!("A{i}"), e.value);
        }
        // A17 is 8 × 2^17 = 1 MiB exactly, the most a word may take; A18 would be 2 MiB.
        assert_eq!(stopped_at, Some(18));
        assert_eq!(vars["A17"].len(), MAX_WORD_EXPANSION);
        assert_eq!(vars["A18"], "${A17}${A17}");
        assert_eq!(budget.exceeded(), Some(Limit::Word(MAX_WORD_EXPANSION)));
        // Everything after is refused at once, with nothing substituted.
        let spent = budget.bytes_spent();
        let e = expand("$A0", '\\', &vars, &budget);
        assert_eq!((e.value.as_str(), limit(&e)), ("$A0", Some(Limit::Word(MAX_WORD_EXPANSION))));
        let (e, used) = expand_parameter("${A0}", &vars, &budget);
        assert_eq!((e.value.as_str(), used, limit(&e).is_some()), ("${A0}", 5, true));
        assert_eq!(budget.bytes_spent(), spent);
    }

    #[test]
    fn the_word_limit_counts_substituted_bytes_only() {
        let budget = Budget::new(8, 100, 1000, 4);
        let v = one("A", "1234");
        assert_eq!(expand("$A$A", '\\', &v, &budget).value, "12341234");
        // Literal text is the file's own: not counted.
        assert_eq!(expand("a long literal word, longer than 8 bytes", '\\', &v, &budget).error, None);
        let e = expand("$A$A$A", '\\', &v, &budget);
        assert_eq!((e.value.as_str(), limit(&e)), ("$A$A$A", Some(Limit::Word(8))));
        // The file's substitution is over; a word that needs none still reads.
        assert_eq!(limit(&expand("$A", '\\', &v, &budget)), Some(Limit::Word(8)));
        assert_eq!(expand("'x'$UNSET", '\\', &v, &budget).value, "x$UNSET");
    }

    #[test]
    fn the_file_limit_counts_every_word() {
        let budget = Budget::new(8, 20, 1000, 4);
        let v = one("A", "1234");
        for _ in 0..5 {
            assert_eq!(expand("$A", '\\', &v, &budget).error, None);
        }
        assert_eq!(budget.bytes_spent(), 20);
        let e = expand("$A", '\\', &v, &budget);
        assert_eq!(limit(&e), Some(Limit::File(20)));
        assert_eq!(budget.bytes_spent(), 20);
    }

    #[test]
    fn defaults_alternatives_and_quotes_are_counted() {
        let v = one("A", "1234");
        for word in [
            "${NOPE:-$A$A$A}",
            "${NOPE-$A$A$A}",
            "${A:+$A$A$A}",
            "${A+$A$A$A}",
            "\"$A$A$A\"",
            "${NOPE:-${NOPE:-${A}${A}}$A}",
            "${A:-x}${A:?m}${A}",
            "${A#1}${A%4}${A}${A}",
            "${A/1/$A}${A}",
        ] {
            let budget = Budget::new(8, 100, 1000, 8);
            let e = expand(word, '\\', &v, &budget);
            assert_eq!(limit(&e), Some(Limit::Word(8)), "{word}");
            assert_eq!(e.value, word);
        }
        // A default not taken still had to be expanded (BuildKit checks its syntax).
        let budget = Budget::new(8, 100, 1000, 8);
        assert_eq!(limit(&expand("${A:-$A$A$A}", '\\', &v, &budget)), Some(Limit::Word(8)));
    }

    #[test]
    fn replacements_cannot_multiply_a_value() {
        // `${A//?/$A}` replaces each of n characters with n characters: n² bytes.
        let budget = Budget::default();
        let v = one("A", &"x".repeat(64 * 1024));
        let e = expand("${A//?/$A}", '\\', &v, &budget);
        assert_eq!(limit(&e), Some(Limit::Word(MAX_WORD_EXPANSION)));
        assert_eq!(e.value, "${A//?/$A}");
        assert!(budget.bytes_spent() <= MAX_WORD_EXPANSION);
    }

    #[test]
    fn nesting_is_bounded() {
        let nested = |depth: usize| format!("{}alpine{}", "${X:-".repeat(depth), "}".repeat(depth));
        let budget = Budget::default();
        assert_eq!(expand(&nested(MAX_NESTING), '\\', &HashMap::new(), &budget).value, "alpine");
        let e = expand(&nested(MAX_NESTING + 1), '\\', &HashMap::new(), &budget);
        assert_eq!(limit(&e), Some(Limit::Nesting(MAX_NESTING)));
        // Deep enough to overflow the stack if it were followed.
        let deep = nested(1_000_000);
        let e = expand(&deep, '\\', &HashMap::new(), &Budget::default());
        assert_eq!(limit(&e), Some(Limit::Nesting(MAX_NESTING)));
        let (e, _) = expand_parameter(&deep, &HashMap::new(), &Budget::default());
        assert_eq!(limit(&e), Some(Limit::Nesting(MAX_NESTING)));
    }

    #[test]
    fn pattern_matching_is_linear_and_bounded() {
        // Trying every prefix, suffix or substring of a 512 KiB value with a pattern that
        // never matches took time quadratic (cubic for `//`) in its length.
        let long = "x".repeat(512 * 1024);
        let v = one("A", &long);
        for word in ["${A#*y}", "${A##*y}", "${A%y*}", "${A%%y*}", "${A/*y/z}", "${A//x*y/z}"] {
            let budget = Budget::default();
            let started = std::time::Instant::now();
            let e = expand(word, '\\', &v, &budget);
            assert_eq!(e.error, None, "{word}");
            assert_eq!(e.value.len(), long.len(), "{word}");
            assert!(started.elapsed().as_secs() < 10, "{word}: {:?}", started.elapsed());
        }
        // A long pattern against a long value is n × m steps: refused past the budget.
        let mut vars = one("A", &long);
        vars.insert("P".into(), "x".repeat(64 * 1024));
        let budget = Budget::new(MAX_WORD_EXPANSION, MAX_FILE_EXPANSION, 1_000_000, MAX_NESTING);
        let e = expand("${A#${P}y}", '\\', &vars, &budget);
        assert_eq!(limit(&e), Some(Limit::Steps(1_000_000)));
    }

    #[test]
    fn many_undefined_names_cost_linear_time() {
        // Each name was compared with every earlier one: 200,000 names took minutes.
        let word: String = (0..200_000).map(|i| format!("$v{i}")).collect();
        let started = std::time::Instant::now();
        let e = expand(&word, '\\', &HashMap::new(), &Budget::default());
        assert_eq!(e.undefined.len(), 200_000);
        assert_eq!(e.undefined[199_999], "v199999");
        assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
        assert_eq!(dedup(vec!["b".into(), "a".into(), "b".into()]), ["b", "a"]);
    }

    #[test]
    fn limits_are_worded_for_people() {
        assert_eq!(
            Limit::Word(MAX_WORD_EXPANSION).to_string(),
            "variable substitution stopped: substitutions would insert more than 1 MiB into one word"
        );
        assert_eq!(
            Limit::File(1000).to_string(),
            "variable substitution stopped: substitutions would insert more than 1000 bytes into this file's words in all"
        );
        assert_eq!(
            Limit::Nesting(64).to_string(),
            "variable substitution stopped: more than 64 nested `${...}`"
        );
    }

    /// The matching this module did before it ran patterns as automata: every prefix, suffix
    /// or substring tried in turn. Slow, but obviously right: the reference for the proptest.
    mod oracle {
        use super::super::glob::{Glob, Tok};

        fn matches(p: &[Tok], t: &[char]) -> bool {
            match p.split_first() {
                None => t.is_empty(),
                Some((Tok::Star, rest)) => (0..=t.len()).any(|i| matches(rest, &t[i..])),
                Some((Tok::Any, rest)) => !t.is_empty() && matches(rest, &t[1..]),
                Some((Tok::Lit(c), rest)) => t.first() == Some(c) && matches(rest, &t[1..]),
            }
        }

        fn m(g: &Glob, s: &str) -> bool {
            matches(&g.0, &s.chars().collect::<Vec<_>>())
        }

        fn boundaries(text: &str) -> Vec<usize> {
            text.char_indices().map(|(i, _)| i).chain(std::iter::once(text.len())).collect()
        }

        pub fn trim_prefix<'t>(g: &Glob, text: &'t str, longest: bool) -> &'t str {
            let mut ends = boundaries(text);
            if longest {
                ends.reverse();
            }
            ends.into_iter().find(|&e| m(g, &text[..e])).map_or(text, |e| &text[e..])
        }

        pub fn trim_suffix<'t>(g: &Glob, text: &'t str, longest: bool) -> &'t str {
            let mut starts = boundaries(text);
            if !longest {
                starts.reverse();
            }
            starts.into_iter().find(|&s| m(g, &text[s..])).map_or(text, |s| &text[..s])
        }

        pub fn find(g: &Glob, text: &str, from: usize) -> Option<(usize, usize)> {
            let b = boundaries(text);
            for &s in b.iter().filter(|&&s| s >= from) {
                if let Some(&e) = b.iter().rev().filter(|&&e| e >= s).find(|&&e| m(g, &text[s..e])) {
                    return Some((s, e));
                }
            }
            None
        }
    }

    proptest::proptest! {
        #[test]
        fn patterns_match_as_the_exhaustive_search_does(
            pattern in "[ab*?é\\\\]{0,6}",
            text in "[abé/]{0,12}",
        ) {
            let g = Glob::new(&pattern);
            let budget = Budget::default();
            for longest in [false, true] {
                proptest::prop_assert_eq!(g.trim_prefix(&text, longest, &budget).unwrap(), oracle::trim_prefix(&g, &text, longest));
                proptest::prop_assert_eq!(g.trim_suffix(&text, longest, &budget).unwrap(), oracle::trim_suffix(&g, &text, longest));
            }
            for (from, _) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
                proptest::prop_assert_eq!(g.find(&text, from, &budget).unwrap(), oracle::find(&g, &text, from));
            }
        }
    }
}

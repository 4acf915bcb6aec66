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

use std::collections::{BTreeMap, HashMap};

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

/// Expand `word` like BuildKit's `ProcessWord`, with `escape` the Dockerfile escape character.
pub fn expand(word: &str, escape: char, vars: &dyn Vars) -> Expanded {
    let mut lex = Lex { s: word, pos: 0, escape, vars, undefined: Vec::new() };
    match lex.word(None, false) {
        Ok(value) => Expanded { value, undefined: dedup(lex.undefined), error: None },
        Err(e) => Expanded { value: word.to_string(), undefined: dedup(lex.undefined), error: Some(e) },
    }
}

/// Expand the one parameter expression at the start of `text` (which must start with `$`),
/// for callers with their own quoting rules (a shell-word splitter). Returns the expansion
/// and the number of bytes of `text` it used. The escape character is `\`, as in a shell.
pub fn expand_parameter(text: &str, vars: &dyn Vars) -> (Expanded, usize) {
    let mut lex = Lex { s: text, pos: 0, escape: '\\', vars, undefined: Vec::new() };
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
}

impl Lex<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn lookup(&self, name: &str) -> Option<String> {
        self.vars.var(name).map(str::to_string)
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
            return Ok(match self.lookup(&name) {
                Some(v) => v,
                None => {
                    self.undefined(&name);
                    self.raw_since(start)
                }
            });
        }
        self.next();
        match self.peek() {
            None => return Err(ExpandError::MissingBrace),
            Some('{' | '}' | ':') => return Err(ExpandError::BadSubstitution),
            Some(_) => {}
        }
        let name = self.name();
        match self.next() {
            Some('}') => Ok(match self.lookup(&name) {
                Some(v) => v,
                None => {
                    self.undefined(&name);
                    self.raw_since(start)
                }
            }),
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
        let set = value.as_deref().is_some_and(|v| !(null_is_unset && v.is_empty()));
        match op {
            '-' => {
                if set {
                    self.undefined.truncate(mark);
                    Ok(value.unwrap_or_default())
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
                    Ok(value.unwrap_or_default())
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
                Ok(if op == '#' {
                    glob.trim_prefix(&value, greedy).to_string()
                } else {
                    glob.trim_suffix(&value, greedy).to_string()
                })
            }
        }
    }

    fn substitution(&mut self, start: usize, name: &str) -> Result<String, ExpandError> {
        let all = self.peek() == Some('/');
        if all {
            self.next();
        }
        let mark = self.undefined.len();
        let pattern = self.word(Some('/'), true).map_err(|_| ExpandError::MissingSlash)?;
        let replacement = self.word(Some('}'), true)?;
        let Some(value) = self.lookup(name) else {
            self.undefined.truncate(mark);
            self.undefined(name);
            return Ok(self.raw_since(start));
        };
        Ok(Glob::new(&pattern).replace(&value, &replacement, all))
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok {
    Lit(char),
    Any,
    Star,
}

/// A shell pattern as BuildKit supports it: `*`, `?`, literal characters, `\` escapes.
struct Glob(Vec<Tok>);

impl Glob {
    fn new(pattern: &str) -> Glob {
        let mut toks = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => toks.push(Tok::Star),
                '?' => toks.push(Tok::Any),
                '\\' => match chars.next() {
                    Some(n) => toks.push(Tok::Lit(n)),
                    None => toks.push(Tok::Lit('\\')),
                },
                _ => toks.push(Tok::Lit(c)),
            }
        }
        Glob(toks)
    }

    /// Whether the whole of `text` matches.
    fn matches(&self, text: &str) -> bool {
        let t: Vec<char> = text.chars().collect();
        let p = &self.0;
        let (mut ti, mut pi) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            match p.get(pi) {
                Some(Tok::Any) => {
                    ti += 1;
                    pi += 1;
                }
                Some(Tok::Lit(c)) if *c == t[ti] => {
                    ti += 1;
                    pi += 1;
                }
                Some(Tok::Star) => {
                    star = Some((pi, ti));
                    pi += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        pi = sp + 1;
                        ti = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        p[pi..].iter().all(|t| *t == Tok::Star)
    }

    fn boundaries(text: &str) -> Vec<usize> {
        text.char_indices().map(|(i, _)| i).chain(std::iter::once(text.len())).collect()
    }

    fn trim_prefix<'t>(&self, text: &'t str, longest: bool) -> &'t str {
        let mut ends = Self::boundaries(text);
        if longest {
            ends.reverse();
        }
        ends.into_iter().find(|&e| self.matches(&text[..e])).map_or(text, |e| &text[e..])
    }

    fn trim_suffix<'t>(&self, text: &'t str, longest: bool) -> &'t str {
        let mut starts = Self::boundaries(text);
        if !longest {
            starts.reverse();
        }
        starts.into_iter().find(|&s| self.matches(&text[s..])).map_or(text, |s| &text[..s])
    }

    /// The leftmost match starting at or after `from`, longest at that start.
    fn find(&self, text: &str, from: usize) -> Option<(usize, usize)> {
        let b = Self::boundaries(text);
        for &s in b.iter().filter(|&&s| s >= from) {
            if let Some(&e) = b.iter().rev().filter(|&&e| e >= s).find(|&&e| self.matches(&text[s..e])) {
                return Some((s, e));
            }
        }
        None
    }

    fn replace(&self, text: &str, replacement: &str, all: bool) -> String {
        let mut out = String::new();
        let mut pos = 0;
        while pos <= text.len() {
            let Some((s, e)) = self.find(text, pos) else { break };
            out.push_str(&text[pos..s]);
            out.push_str(replacement);
            if e == s {
                match text[e..].chars().next() {
                    Some(c) => {
                        out.push(c);
                        pos = e + c.len_utf8();
                    }
                    None => {
                        pos = text.len() + 1;
                        break;
                    }
                }
            } else {
                pos = e;
            }
            if !all {
                break;
            }
        }
        if pos <= text.len() {
            out.push_str(&text[pos..]);
        }
        out
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
        let e = expand(word, '\\', &vars());
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
        let e = expand("${NOPE:-d}", '\\', &vars());
        assert!(e.undefined.is_empty());
        // the default of a set variable is not looked at
        let e = expand("${A:-$MISSING}", '\\', &vars());
        assert!(e.is_complete());
    }

    #[test]
    fn undefined_is_kept_and_reported() {
        let e = expand("$REG/app:${VER}", '\\', &vars());
        assert_eq!(e.value, "$REG/app:${VER}");
        assert_eq!(e.undefined, vec!["REG", "VER"]);
        let e = expand("${NOPE#x}-${NOPE}", '\\', &vars());
        assert_eq!(e.value, "${NOPE#x}-${NOPE}");
        assert_eq!(e.undefined, vec!["NOPE"]);
        let e = expand("${NOPE:?must be set}", '\\', &vars());
        assert_eq!(e.undefined, vec!["NOPE"]);
        let e = expand("$1", '\\', &vars());
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
        assert_eq!(expand("`$A", '`', &vars()).value, "$A");
        assert_eq!(expand("\\$A", '`', &vars()).value, "\\alpine");
    }

    #[test]
    fn syntax_errors_keep_the_word() {
        for w in ["${", "${}", "${:x}", "${A", "${A:-x", "${A^x}", "\"open", "'open"] {
            let e = expand(w, '\\', &vars());
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
            let e = expand(w, '\\', &vars());
            assert_eq!(e.error.map(|e| e.to_string()).as_deref(), Some(message), "{w}");
        }
    }

    #[test]
    fn one_parameter() {
        let (e, used) = expand_parameter("${IMG}/rest", &vars());
        assert_eq!((e.value.as_str(), used), ("quay.io/org/app:1.2", 6));
        let (e, used) = expand_parameter("$img\"", &vars());
        assert_eq!((e.value.as_str(), used), ("$img", 4));
        assert_eq!(e.undefined, vec!["img"]);
        let (e, used) = expand_parameter("$(uname -m)", &vars());
        assert_eq!((e.value.as_str(), used), ("$", 1));
    }

    #[test]
    fn unicode_names_and_values() {
        let v: HashMap<String, String> = [("É".to_string(), "é/ü".to_string())].into_iter().collect();
        assert_eq!(expand("${É%/*}", '\\', &v).value, "é");
    }

    #[test]
    fn many_undefined_names_cost_linear_time() {
        // Each name was compared with every earlier one: 200,000 names took minutes.
        let word: String = (0..200_000).map(|i| format!("$v{i}")).collect();
        let started = std::time::Instant::now();
        let e = expand(&word, '\\', &HashMap::new());
        assert_eq!(e.undefined.len(), 200_000);
        assert_eq!(e.undefined[199_999], "v199999");
        assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
        assert_eq!(dedup(vec!["b".into(), "a".into(), "b".into()]), ["b", "a"]);
    }
}

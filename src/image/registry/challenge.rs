//! `WWW-Authenticate` challenges (RFC 7235 §4.1): a scheme followed by comma-separated
//! `name=value` parameters, values either tokens or quoted strings (which may hold commas and
//! `\`-escapes); one header may carry several challenges, and a response several headers.

use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// Lowercased: `basic`, `bearer`, ...
    pub scheme: String,
    /// Parameter names lowercased, values unquoted.
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// Every challenge of one header value, in order. Malformed parts are skipped: a registry's
/// odd header must not hide the challenge we can answer.
pub fn parse(header: &str) -> Vec<Challenge> {
    let mut lexer = Lexer { rest: header };
    let mut challenges: Vec<Challenge> = Vec::new();
    loop {
        lexer.skip_separators();
        let Some(word) = lexer.token() else {
            if lexer.rest.is_empty() {
                break;
            }
            // Not a token: drop one character and go on.
            let mut chars = lexer.rest.chars();
            chars.next();
            lexer.rest = chars.as_str();
            continue;
        };
        lexer.skip_spaces();
        if let Some(after_eq) = lexer.rest.strip_prefix('=')
            && !after_eq.starts_with('=')
            && let Some(current) = challenges.last_mut()
        {
            // `name=value`: a parameter of the current challenge.
            lexer.rest = after_eq;
            lexer.skip_spaces();
            let value = if lexer.rest.starts_with('"') { lexer.quoted() } else { lexer.token() };
            current.params.insert(word.to_ascii_lowercase(), value.unwrap_or_default());
            continue;
        }
        // A scheme; a token68 (`Basic dXNlcg==`) after it is ignored.
        challenges.push(Challenge { scheme: word.to_ascii_lowercase(), params: BTreeMap::new() });
        let token68_end = lexer
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || "-._~+/".contains(c)))
            .unwrap_or(lexer.rest.len());
        let after = lexer.rest[token68_end..].trim_start();
        if token68_end > 0 && (after.is_empty() || after.starts_with(',') || after.starts_with('=')) {
            let padded = after.trim_start_matches('=').trim_start();
            if padded.is_empty() || padded.starts_with(',') {
                lexer.rest = padded;
            }
        }
    }
    challenges
}

struct Lexer<'a> {
    rest: &'a str,
}

impl<'a> Lexer<'a> {
    fn skip_spaces(&mut self) {
        self.rest = self.rest.trim_start_matches([' ', '\t']);
    }

    fn skip_separators(&mut self) {
        self.rest = self.rest.trim_start_matches([' ', '\t', ',']);
    }

    /// An RFC 7230 token.
    fn token(&mut self) -> Option<String> {
        let end = self
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~/:".contains(c)))
            .unwrap_or(self.rest.len());
        if end == 0 {
            return None;
        }
        let (token, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(token.to_string())
    }

    /// A quoted string starting at `"`; an unterminated one runs to the end.
    fn quoted(&mut self) -> Option<String> {
        let mut value = String::new();
        let mut chars = self.rest[1..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.rest = &self.rest[1 + i + 1..];
                    return Some(value);
                }
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(escaped);
                    }
                }
                c => value.push(c),
            }
        }
        self.rest = "";
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(c: &Challenge) -> Vec<(&str, &str)> {
        c.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn bearer_with_quoted_commas() {
        let c = parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push""#,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(
            params(&c[0]),
            [
                ("realm", "https://auth.docker.io/token"),
                ("scope", "repository:library/nginx:pull,push"),
                ("service", "registry.docker.io"),
            ]
        );
    }

    #[test]
    fn several_challenges_in_one_header() {
        let c =
            parse(r#"Basic realm="a, b", Bearer realm="https://t/x", service=reg , error="invalid_token""#);
        assert_eq!(c.iter().map(|c| c.scheme.as_str()).collect::<Vec<_>>(), ["basic", "bearer"]);
        assert_eq!(c[0].param("realm"), Some("a, b"));
        assert_eq!(c[1].param("service"), Some("reg"));
        assert_eq!(c[1].param("error"), Some("invalid_token"));
    }

    #[test]
    fn escapes_case_and_token68() {
        let c = parse(r#"BASIC Realm="say \"hi\"""#);
        assert_eq!(c[0].scheme, "basic");
        assert_eq!(c[0].param("realm"), Some(r#"say "hi""#));
        let c = parse("Negotiate abc+/==, Bearer realm=x");
        assert_eq!(c.iter().map(|c| c.scheme.as_str()).collect::<Vec<_>>(), ["negotiate", "bearer"]);
        assert_eq!(c[1].param("realm"), Some("x"));
        assert!(c[0].params.is_empty());
    }

    #[test]
    fn garbage_never_panics() {
        for h in ["", ",,,", "=", "Bearer realm=\"unterminated", "Bearer ===", "é ü, Basic"] {
            let _ = parse(h);
        }
        assert_eq!(parse("Bearer realm=\"unterminated")[0].param("realm"), Some("unterminated"));
    }
}

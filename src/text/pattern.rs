//! Patterns in the configuration: a string is a glob (`quay.io/acme/*`), `{regex: ...}` a
//! regular expression. Both must match the whole text.

use globset::{GlobBuilder, GlobMatcher};
use regex::Regex;

#[derive(Clone, Debug)]
pub enum Pattern {
    Glob { text: String, matcher: GlobMatcher },
    Regex { text: String, regex: Regex },
}

/// A configuration pattern that does not compile; the message quotes the pattern.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PatternError {
    /// A glob globset rejects.
    #[error("invalid glob `{text}`: {kind}")]
    Glob { text: String, kind: globset::ErrorKind },
    /// A regular expression the regex crate rejects; the message keeps the last line of its
    /// explanation.
    #[error("invalid regex `{text}`: {}", first_line(&.error.to_string()))]
    Regex { text: String, error: regex::Error },
}

impl Pattern {
    /// A glob where `*` also matches `/` (image names and paths are matched as plain text;
    /// `**` behaves the same).
    pub fn glob(text: &str) -> Result<Pattern, PatternError> {
        Pattern::glob_with(text, false)
    }

    /// A path glob where `*` stops at `/` and `**` crosses directories (`.gitignore`-like).
    pub fn path_glob(text: &str) -> Result<Pattern, PatternError> {
        Pattern::glob_with(text, true)
    }

    /// A glob; `literal_separator` keeps `*` from matching `/`.
    fn glob_with(text: &str, literal_separator: bool) -> Result<Pattern, PatternError> {
        let glob = GlobBuilder::new(text)
            .literal_separator(literal_separator)
            .backslash_escape(true)
            .build()
            .map_err(|e| PatternError::Glob { text: text.to_string(), kind: e.kind().clone() })?;
        Ok(Pattern::Glob { text: text.to_string(), matcher: glob.compile_matcher() })
    }

    pub fn regex(text: &str) -> Result<Pattern, PatternError> {
        let regex = Regex::new(&format!("^(?:{text})$"))
            .map_err(|error| PatternError::Regex { text: text.to_string(), error })?;
        Ok(Pattern::Regex { text: text.to_string(), regex })
    }

    pub fn matches(&self, text: &str) -> bool {
        match self {
            Pattern::Glob { matcher, .. } => matcher.is_match(text),
            Pattern::Regex { regex, .. } => regex.is_match(text),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Pattern::Glob { text, .. } | Pattern::Regex { text, .. } => text,
        }
    }
}

fn first_line(text: &str) -> String {
    text.lines().rfind(|l| !l.trim().is_empty()).unwrap_or(text).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_regexes_match_whole_texts() {
        let g = Pattern::glob("quay.io/acme/*").unwrap();
        assert!(g.matches("quay.io/acme/app"));
        assert!(g.matches("quay.io/acme/team/app"));
        assert!(!g.matches("quay.io/acmecorp/app"));
        let p = Pattern::path_glob("overlays/*/kustomization.yaml").unwrap();
        assert!(p.matches("overlays/dev/kustomization.yaml"));
        assert!(!p.matches("overlays/dev/x/kustomization.yaml"));
        let r = Pattern::regex(r"registry\.(redhat|access)\.io").unwrap();
        assert!(r.matches("registry.redhat.io"));
        assert!(!r.matches("xregistry.redhat.io"));
        assert!(Pattern::regex("(").unwrap_err().to_string().starts_with("invalid regex `(`"));
        assert!(Pattern::glob("a[").is_err());
    }
}

//! Extra image field paths (`image-fields` in the configuration), e.g.
//! `spec.template.spec.containers[*].env[?name=RELATED_IMAGE_*].value`: keys separated by
//! `.`, and after a key any number of selectors — `[*]` every item, `[N]` one item,
//! `[?key=GLOB]` the items whose `key` matches the glob.

use crate::text::pattern::{Pattern, PatternError};
use crate::text::tree::Val;
use crate::text::yaml::Node;

#[derive(Clone, Debug)]
pub struct FieldPath {
    pub text: String,
    steps: Vec<Step>,
}

/// An `image-fields` path that cannot be read; apart from the empty path, the message starts
/// with the path as written.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FieldPathError {
    #[error("an empty field path")]
    Empty,
    #[error("`{path}`: expected a key before `{found}`")]
    MissingKey { path: String, found: char },
    #[error("`{path}`: `[` without `]`")]
    UnclosedBracket { path: String },
    #[error("`{path}`: ends with `.`")]
    TrailingDot { path: String },
    #[error("`{path}`: unexpected `{found}`")]
    Unexpected { path: String, found: char },
    #[error("`{path}`: a filter is `[?key=GLOB]`")]
    Filter { path: String },
    #[error("`{path}`: {source}")]
    Pattern { path: String, source: PatternError },
    #[error("`{path}`: unknown selector `[{selector}]` (use [*], [N] or [?key=GLOB])")]
    UnknownSelector { path: String, selector: String },
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    All,
    Index(usize),
    Filter { key: String, pattern: Pattern },
}

impl FieldPath {
    pub fn parse(text: &str) -> Result<FieldPath, FieldPathError> {
        let path = || text.to_string();
        let mut steps = Vec::new();
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err(FieldPathError::Empty);
        }
        while let Some(found) = rest.chars().next() {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let key = &rest[..end];
            if key.is_empty() {
                return Err(FieldPathError::MissingKey { path: path(), found });
            }
            steps.push(Step::Key(key.to_string()));
            rest = &rest[end..];
            while let Some(inner) = rest.strip_prefix('[') {
                let close =
                    inner.find(']').ok_or_else(|| FieldPathError::UnclosedBracket { path: path() })?;
                let selector = &inner[..close];
                steps.push(parse_selector(text, selector)?);
                rest = &inner[close + 1..];
            }
            if let Some(after) = rest.strip_prefix('.') {
                if after.is_empty() {
                    return Err(FieldPathError::TrailingDot { path: path() });
                }
                rest = after;
            } else if let Some(found) = rest.chars().next() {
                return Err(FieldPathError::Unexpected { path: path(), found });
            }
        }
        Ok(FieldPath { text: text.to_string(), steps })
    }

    /// Every node the path reaches from `root`: a manifest's nodes or a kustomize build's
    /// values alike.
    pub fn select<'a, T: YamlTree>(&self, root: &'a T) -> Vec<&'a T> {
        let mut current = vec![root];
        for step in &self.steps {
            let mut next = Vec::new();
            for node in current {
                match step {
                    Step::Key(k) => next.extend(node.get(k)),
                    Step::All => next.extend(node.items().unwrap_or_default()),
                    Step::Index(i) => next.extend(node.items().and_then(|items| items.get(*i))),
                    Step::Filter { key, pattern } => {
                        next.extend(node.items().unwrap_or_default().iter().filter(|item| {
                            item.get(key).and_then(T::as_str).is_some_and(|v| pattern.matches(v))
                        }))
                    }
                }
            }
            current = next;
        }
        current
    }
}

/// What a field path, and the pod-spec walk (`source::podspec`), read of a YAML tree: the
/// nodes of a parsed document ([`Node`], with their spans) or the values of a kustomize build
/// ([`Val`], with where they were written). Missing keys and type mismatches give `None`.
pub trait YamlTree: Sized {
    /// The value of `key` in a mapping.
    fn get(&self, key: &str) -> Option<&Self>;
    /// The items of a sequence.
    fn items(&self) -> Option<&[Self]>;
    /// The entries of a mapping in written order; a key that is not a string has no text.
    fn entries(&self) -> Option<impl Iterator<Item = (Option<&str>, &Self)>>;
    /// A string: for a [`Node`] a string scalar only, for a [`Val`] any scalar (a build keeps
    /// no scalar types).
    fn as_str(&self) -> Option<&str>;
    fn is_null(&self) -> bool;
}

impl YamlTree for Node {
    fn get(&self, key: &str) -> Option<&Self> {
        Node::get(self, key)
    }

    fn items(&self) -> Option<&[Self]> {
        self.as_seq()
    }

    fn entries(&self) -> Option<impl Iterator<Item = (Option<&str>, &Self)>> {
        Some(self.as_map()?.iter().map(|(k, v)| (k.as_str(), v)))
    }

    fn as_str(&self) -> Option<&str> {
        Node::as_str(self)
    }

    fn is_null(&self) -> bool {
        Node::is_null(self)
    }
}

impl YamlTree for Val {
    fn get(&self, key: &str) -> Option<&Self> {
        Val::get(self, key)
    }

    fn items(&self) -> Option<&[Self]> {
        self.as_seq()
    }

    fn entries(&self) -> Option<impl Iterator<Item = (Option<&str>, &Self)>> {
        Some(self.as_map()?.iter().map(|(k, v)| (Some(k.as_str()), v)))
    }

    fn as_str(&self) -> Option<&str> {
        Val::as_str(self)
    }

    fn is_null(&self) -> bool {
        Val::is_null(self)
    }
}

fn parse_selector(text: &str, selector: &str) -> Result<Step, FieldPathError> {
    if selector == "*" {
        return Ok(Step::All);
    }
    if let Ok(i) = selector.parse::<usize>() {
        return Ok(Step::Index(i));
    }
    if let Some(filter) = selector.strip_prefix('?') {
        let (key, glob) =
            filter.split_once('=').ok_or_else(|| FieldPathError::Filter { path: text.to_string() })?;
        let pattern = Pattern::glob(glob.trim())
            .map_err(|source| FieldPathError::Pattern { path: text.to_string(), source })?;
        return Ok(Step::Filter { key: key.trim().to_string(), pattern });
    }
    Err(FieldPathError::UnknownSelector { path: text.to_string(), selector: selector.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::SourceText;
    use crate::text::yaml::parse_documents;

    #[test]
    fn selects_env_values_by_name_glob() {
        let text = "spec:\n  template:\n    spec:\n      containers:\n      - name: op\n        env:\n        - name: RELATED_IMAGE_DB\n          value: quay.io/x/db:1\n        - name: LOG\n          value: debug\n        - name: RELATED_IMAGE_UI\n          value: quay.io/x/ui:2\n";
        let src = SourceText::from_str("op.yaml", text);
        let (docs, _) = parse_documents(&src);
        let path =
            FieldPath::parse("spec.template.spec.containers[*].env[?name=RELATED_IMAGE_*].value").unwrap();
        let values: Vec<&str> = path.select(&docs[0].root).into_iter().filter_map(Node::as_str).collect();
        assert_eq!(values, ["quay.io/x/db:1", "quay.io/x/ui:2"]);
        let first = FieldPath::parse("spec.template.spec.containers[0].env[1].value").unwrap();
        assert_eq!(first.select(&docs[0].root)[0].as_str(), Some("debug"));

        // The same selection in the values a kustomize build reads, at the same places.
        let src = std::sync::Arc::new(src);
        let val = Val::from_node(&docs[0].root, &src);
        let selected: Vec<(&str, u32, u32)> = path
            .select(&val)
            .into_iter()
            .filter_map(|v| {
                let at = v.location()?;
                Some((v.as_str()?, at.line, at.column))
            })
            .collect();
        assert_eq!(selected, [("quay.io/x/db:1", 8, 18), ("quay.io/x/ui:2", 12, 18)]);
        let at_nodes: Vec<(u32, u32)> = path
            .select(&docs[0].root)
            .into_iter()
            .map(|n| {
                let at = src.location(n.span.clone());
                (at.line, at.column)
            })
            .collect();
        assert_eq!(at_nodes, [(8, 18), (12, 18)]);
    }

    #[test]
    fn rejects_malformed_paths() {
        for (bad, why) in [
            ("", "empty"),
            ("a..b", "expected a key"),
            ("a[", "without `]`"),
            ("a[x]", "unknown selector"),
            ("a[?name]", "[?key=GLOB]"),
            ("a.", "ends with"),
            ("a[*]b", "unexpected `b`"),
        ] {
            let err = FieldPath::parse(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}

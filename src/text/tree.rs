//! The resource tree kustomize transforms: YAML values that remember the file and span they
//! came from, and the kustomization entries that changed them (provenance).

use crate::text::SourceText;
use crate::text::location::{Location, Span};
use crate::text::yaml::{Node, Value};
use std::sync::Arc;

/// Where a value was written.
#[derive(Clone, Debug)]
pub struct Pos {
    pub file: Arc<SourceText>,
    pub span: Span,
}

impl Pos {
    pub fn new(file: &Arc<SourceText>, span: Span) -> Self {
        Pos { file: Arc::clone(file), span }
    }

    pub fn location(&self) -> Location {
        self.file.location(self.span.clone())
    }
}

/// One kustomization entry that changed a value: `newTag`, `patch`, `replacement`...
#[derive(Clone, Debug)]
pub struct Change {
    pub what: String,
    pub pos: Pos,
}

#[derive(Clone, Debug)]
pub enum V {
    Null,
    /// Strings, numbers and booleans, as their text.
    Scalar(String),
    Seq(Vec<Val>),
    Map(Vec<(String, Val)>),
}

/// A value with its origin. Scalars keep the position they started at when a transformer
/// rewrites them, and collect the changes.
#[derive(Clone, Debug)]
pub struct Val {
    pub v: V,
    pub pos: Option<Pos>,
    pub changes: Vec<Change>,
}

impl Val {
    pub fn new(v: V, pos: Option<Pos>) -> Self {
        Val { v, pos, changes: Vec::new() }
    }

    pub fn scalar(text: impl Into<String>, pos: Option<Pos>) -> Self {
        Val::new(V::Scalar(text.into()), pos)
    }

    pub fn from_node(node: &Node, file: &Arc<SourceText>) -> Self {
        let pos = Some(Pos::new(file, node.span.clone()));
        let v = match &node.value {
            Value::Null => V::Null,
            Value::Bool(_) | Value::Number(_) | Value::String(_) => {
                V::Scalar(node.scalar_text(&file.text).map(|s| s.into_owned()).unwrap_or_default())
            }
            Value::Seq(items) => V::Seq(items.iter().map(|n| Val::from_node(n, file)).collect()),
            Value::Map(entries) => V::Map(
                entries
                    .iter()
                    .filter_map(|(k, v)| {
                        Some((k.scalar_text(&file.text)?.into_owned(), Val::from_node(v, file)))
                    })
                    .collect(),
            ),
        };
        Val::new(v, pos)
    }

    pub fn get(&self, key: &str) -> Option<&Val> {
        match &self.v {
            V::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Val> {
        match &mut self.v {
            V::Map(entries) => entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Set `key` in a mapping (replacing an existing value); no-op on other values.
    pub fn set(&mut self, key: &str, value: Val) {
        if let V::Map(entries) = &mut self.v {
            match entries.iter_mut().find(|(k, _)| k == key) {
                Some((_, v)) => *v = value,
                None => entries.push((key.to_string(), value)),
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Val> {
        if let V::Map(entries) = &mut self.v {
            let i = entries.iter().position(|(k, _)| k == key)?;
            return Some(entries.remove(i).1);
        }
        None
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.v {
            V::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Val]> {
        match &self.v {
            V::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(String, Val)]> {
        match &self.v {
            V::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.v, V::Null)
    }

    /// The string at a key path (`["metadata", "name"]`).
    pub fn str_at(&self, path: &[&str]) -> Option<&str> {
        let mut node = self;
        for key in path {
            node = node.get(key)?;
        }
        node.as_str()
    }

    /// Replace a scalar's text, keeping where it started and recording the change. A value
    /// that does not change is not recorded.
    pub fn rewrite(&mut self, text: String, change: Change) {
        if self.as_str() == Some(text.as_str()) {
            return;
        }
        self.v = V::Scalar(text);
        self.changes.push(change);
    }

    pub fn location(&self) -> Option<Location> {
        self.pos.as_ref().map(Pos::location)
    }

    /// `metadata.labels` or `metadata.annotations` as pairs.
    pub fn metadata_pairs(&self, field: &str) -> Vec<(&str, &str)> {
        self.get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Val::as_map)
            .map(|entries| entries.iter().filter_map(|(k, v)| Some((k.as_str(), v.as_str()?))).collect())
            .unwrap_or_default()
    }
}

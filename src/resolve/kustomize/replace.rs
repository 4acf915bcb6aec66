//! `replacements`: copy a field of one resource (e.g. a ConfigMap value) into fields of
//! others (e.g. `spec.template.spec.containers.[name=app].image`), after every other
//! transformer, as kustomize v5 does.
//!
//! Field paths are dot-separated; `[key=value]` picks the list items whose `key` is
//! `value`, a number picks an item, `*` every item or value. `options.delimiter` with
//! `options.index` reads or writes one part of a delimited value; `options.create` creates
//! missing mapping keys of a target.

use super::resource::{Resource, Selector, SelectorError};
use crate::text::tree::{Change, Pos, V, Val};

/// One replacement, as read from the kustomization (or its `path:` file).
pub struct Replacement {
    pub source: Val,
    pub targets: Vec<Val>,
    /// The entry in the kustomization, for provenance.
    pub pos: Option<Pos>,
}

/// Why a replacement cannot run; each is a kustomize build error.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ReplaceError {
    #[error(transparent)]
    Selector(#[from] SelectorError),
    #[error("replacement source selects no resource")]
    NoSource,
    #[error("replacement source selects more than one resource")]
    ManySources,
    #[error("replacement source field `{0}` not found")]
    NoSourceField(String),
    /// `options.index` names no part of the delimited source value.
    #[error("source index out of range")]
    SourceIndex,
}

pub fn split_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => {
                if depth == 0 && !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                depth += 1;
                current.push(c);
            }
            ']' => {
                depth -= 1;
                current.push(c);
            }
            '.' if depth == 0 => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn lookup<'a>(root: &'a Val, path: &[String]) -> Vec<&'a Val> {
    let mut current = vec![root];
    for seg in path {
        let mut next = Vec::new();
        for node in current {
            match (&node.v, seg.strip_prefix('[').and_then(|s| s.strip_suffix(']'))) {
                (V::Seq(items), Some(cond)) => {
                    if let Some((k, v)) = cond.split_once('=') {
                        next.extend(items.iter().filter(|i| i.get(k).and_then(Val::as_str) == Some(v)));
                    }
                }
                (V::Seq(items), None) if seg == "*" => next.extend(items.iter()),
                (V::Seq(items), None) => {
                    if let Some(i) = seg.parse::<usize>().ok().and_then(|i| items.get(i)) {
                        next.push(i);
                    }
                }
                (V::Map(entries), None) if seg == "*" => next.extend(entries.iter().map(|(_, v)| v)),
                (V::Map(_), None) => next.extend(node.get(seg)),
                _ => {}
            }
        }
        current = next;
    }
    current
}

/// Apply `f` to every node at `path` under `root`, creating missing mapping keys when
/// `create`.
fn for_each_at(root: &mut Val, path: &[String], create: bool, f: &mut dyn FnMut(&mut Val)) {
    let Some((seg, rest)) = path.split_first() else {
        f(root);
        return;
    };
    let cond = seg.strip_prefix('[').and_then(|s| s.strip_suffix(']'));
    match (&mut root.v, cond) {
        (V::Seq(items), Some(cond)) => {
            if let Some((k, v)) = cond.split_once('=') {
                for item in items.iter_mut().filter(|i| i.get(k).and_then(Val::as_str) == Some(v)) {
                    for_each_at(item, rest, create, f);
                }
            }
        }
        (V::Seq(items), None) if seg == "*" => items.iter_mut().for_each(|i| for_each_at(i, rest, create, f)),
        (V::Seq(items), None) => {
            if let Some(item) = seg.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                for_each_at(item, rest, create, f);
            }
        }
        (V::Map(entries), None) if seg == "*" => {
            entries.iter_mut().for_each(|(_, v)| for_each_at(v, rest, create, f))
        }
        (V::Map(_), None) => {
            if root.get(seg).is_none() && create {
                let empty = if rest.is_empty() { V::Null } else { V::Map(Vec::new()) };
                root.set(seg, Val::new(empty, None));
            }
            if let Some(child) = root.get_mut(seg) {
                for_each_at(child, rest, create, f);
            }
        }
        (V::Null, None) if create => {
            root.v = V::Map(Vec::new());
            for_each_at(root, path, create, f);
        }
        _ => {}
    }
}

fn options(v: &Val) -> (Option<String>, i64, bool) {
    let o = v.get("options");
    let delimiter = o.and_then(|o| o.get("delimiter")).and_then(Val::as_str).map(str::to_string);
    let index =
        o.and_then(|o| o.get("index")).and_then(Val::as_str).and_then(|s| s.parse().ok()).unwrap_or(0);
    let create = o.and_then(|o| o.get("create")).and_then(Val::as_str) == Some("true");
    (delimiter, index, create)
}

/// Run one replacement over the resources. Errors are kustomize's build errors.
pub fn apply(rep: &Replacement, resources: &mut [Resource]) -> Result<(), ReplaceError> {
    let selector = Selector::from_val(&rep.source)?;
    let sources: Vec<&Resource> = resources.iter().filter(|r| selector.matches(r)).collect();
    let source = match sources.as_slice() {
        [one] => *one,
        [] => return Err(ReplaceError::NoSource),
        _ => return Err(ReplaceError::ManySources),
    };
    let field = rep.source.get("fieldPath").and_then(Val::as_str).unwrap_or("metadata.name");
    let found = lookup(&source.obj, &split_path(field));
    let value = found.first().copied().ok_or_else(|| ReplaceError::NoSourceField(field.to_string()))?;
    let mut value = value.clone();
    let (delimiter, index, _) = options(&rep.source);
    if let (Some(d), Some(text)) = (&delimiter, value.as_str()) {
        let parts: Vec<&str> = text.split(d.as_str()).collect();
        let part = usize::try_from(index).ok().and_then(|i| parts.get(i)).ok_or(ReplaceError::SourceIndex)?;
        value.v = V::Scalar((*part).to_string());
    }
    let source_name = format!("{}/{}", source.kind(), source.name());
    let mut changes = Vec::new();
    if let Some(pos) = &rep.pos {
        changes.push(Change { what: "replacements".into(), pos: pos.clone() });
    }
    if let Some(pos) = &value.pos {
        changes.push(Change { what: format!("value from {source_name} {field}"), pos: pos.clone() });
    }

    for target in &rep.targets {
        let select = match target.get("select") {
            Some(s) => Selector::from_val(s)?,
            None => Selector::default(),
        };
        let rejects: Vec<Selector> = target
            .get("reject")
            .and_then(Val::as_seq)
            .unwrap_or(&[])
            .iter()
            .map(Selector::from_val)
            .collect::<Result<_, _>>()?;
        let paths: Vec<String> = target
            .get("fieldPaths")
            .and_then(Val::as_seq)
            .unwrap_or(&[])
            .iter()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect();
        let (delimiter, index, create) = options(target);
        for r in resources.iter_mut() {
            if !select.matches(r) || rejects.iter().any(|s| s.matches(r)) {
                continue;
            }
            for path in &paths {
                for_each_at(&mut r.obj, &split_path(path), create, &mut |node| {
                    set_value(node, &value, delimiter.as_deref(), index, &changes)
                });
            }
        }
    }
    Ok(())
}

fn set_value(node: &mut Val, value: &Val, delimiter: Option<&str>, index: i64, changes: &[Change]) {
    let new_text = match (delimiter, node.as_str(), value.as_str()) {
        (Some(d), Some(old), Some(v)) => {
            let mut parts: Vec<String> = old.split(d).map(str::to_string).collect();
            match usize::try_from(index) {
                Ok(i) if i < parts.len() => parts[i] = v.to_string(),
                Ok(_) => parts.push(v.to_string()),
                Err(_) => parts.insert(0, v.to_string()),
            }
            Some(parts.join(d))
        }
        (_, _, Some(v)) => Some(v.to_string()),
        _ => None,
    };
    match new_text {
        Some(text) if node.as_str().is_some() => {
            if node.as_str() != Some(text.as_str()) {
                node.v = V::Scalar(text);
                node.changes.extend(changes.iter().cloned());
            }
        }
        Some(text) => {
            let mut v = Val::scalar(text, value.pos.clone());
            v.changes.extend(changes.iter().cloned());
            *node = v;
        }
        None => *node = value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_keep_bracketed_segments_whole() {
        assert_eq!(
            split_path("spec.template.spec.containers.[name=a.b].image"),
            ["spec", "template", "spec", "containers", "[name=a.b]", "image"]
        );
        assert_eq!(split_path("spec.containers[name=x].image"), ["spec", "containers", "[name=x]", "image"]);
    }
}

//! Patches: strategic merge (containers merged by `name`) and JSON 6902.
//!
//! The strategic merge covers what decides images: mappings merge key by key, `null`
//! deletes a key, `$patch: delete` / `$patch: replace` work on mappings and list items, and
//! the lists of the pod spec whose Kubernetes schema has a merge key (`containers`,
//! `initContainers`, `ephemeralContainers`, `volumes`, `env`, `imagePullSecrets` by `name`,
//! `volumeMounts` by `mountPath`, `ports` by `containerPort`) merge item by item; every other
//! list is replaced, as the schema says for the lists that matter here.

use crate::text::tree::{Change, V, Val};

/// The merge key of a list field, from the Kubernetes schema.
fn merge_key(field: &str) -> Option<&'static str> {
    match field {
        "containers" | "initContainers" | "ephemeralContainers" | "volumes" | "env" | "imagePullSecrets" => {
            Some("name")
        }
        "volumeMounts" => Some("mountPath"),
        "ports" => Some("containerPort"),
        _ => None,
    }
}

/// What a strategic merge asks of the value it is merged into.
pub enum Merged {
    Keep,
    Delete,
}

/// Merge `patch` into `target`. `change` is recorded on every scalar it rewrites.
pub fn strategic_merge(target: &mut Val, patch: &Val, what: &str) -> Merged {
    match (&mut target.v, &patch.v) {
        (V::Map(_), V::Map(entries)) => {
            match directive(patch) {
                Some("delete") => return Merged::Delete,
                Some("replace") => {
                    *target = strip_directives(patch);
                    return Merged::Keep;
                }
                _ => {}
            }
            for (key, value) in entries {
                if key.starts_with('$') {
                    continue;
                }
                if value.is_null() {
                    target.remove(key);
                    continue;
                }
                match target.get_mut(key) {
                    Some(existing) => {
                        if let (Some(mk), V::Seq(_), V::Seq(_)) = (merge_key(key), &existing.v, &value.v) {
                            merge_list(existing, value, mk, what);
                        } else if let Merged::Delete = strategic_merge(existing, value, what) {
                            target.remove(key);
                        }
                    }
                    None => {
                        if directive(value) != Some("delete") {
                            target.set(key, strip_directives(value));
                        }
                    }
                }
            }
            Merged::Keep
        }
        (_, V::Scalar(text)) => {
            match &patch.pos {
                Some(pos) if target.as_str().is_some() => {
                    target.rewrite(text.clone(), Change { what: what.to_string(), pos: pos.clone() })
                }
                _ => *target = patch.clone(),
            }
            Merged::Keep
        }
        _ => {
            *target = strip_directives(patch);
            Merged::Keep
        }
    }
}

fn directive(v: &Val) -> Option<&str> {
    v.get("$patch").and_then(Val::as_str)
}

fn strip_directives(v: &Val) -> Val {
    let mut out = v.clone();
    strip_in_place(&mut out);
    out
}

fn strip_in_place(v: &mut Val) {
    match &mut v.v {
        V::Map(entries) => {
            entries.retain(|(k, _)| !k.starts_with('$'));
            entries.iter_mut().for_each(|(_, v)| strip_in_place(v));
        }
        V::Seq(items) => items.iter_mut().for_each(strip_in_place),
        _ => {}
    }
}

fn merge_list(target: &mut Val, patch: &Val, key: &str, what: &str) {
    let Some(items) = patch.as_seq() else { return };
    if items.iter().any(|i| directive(i) == Some("replace")) {
        let kept: Vec<Val> =
            items.iter().filter(|i| directive(i) != Some("replace")).map(strip_directives).collect();
        target.v = V::Seq(kept);
        return;
    }
    let V::Seq(existing) = &mut target.v else { return };
    for item in items {
        let Some(k) = item.get(key).and_then(Val::as_str) else {
            existing.push(strip_directives(item));
            continue;
        };
        let found = existing.iter().position(|e| e.get(key).and_then(Val::as_str) == Some(k));
        match (found, directive(item)) {
            (Some(i), Some("delete")) => {
                existing.remove(i);
            }
            (Some(i), _) => {
                if let Merged::Delete = strategic_merge(&mut existing[i], item, what) {
                    existing.remove(i);
                }
            }
            (None, Some("delete")) => {}
            (None, _) => existing.push(strip_directives(item)),
        }
    }
}

/// One JSON 6902 operation.
#[derive(Clone, Debug)]
pub struct JsonOp {
    pub op: String,
    pub path: String,
    pub from: Option<String>,
    pub value: Option<Val>,
}

impl JsonOp {
    pub fn from_val(v: &Val) -> Option<JsonOp> {
        Some(JsonOp {
            op: v.get("op")?.as_str()?.to_string(),
            path: v.get("path")?.as_str()?.to_string(),
            from: v.get("from").and_then(Val::as_str).map(str::to_string),
            value: v.get("value").cloned(),
        })
    }
}

fn tokens(pointer: &str) -> Result<Vec<String>, JsonOpError> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let rest = pointer.strip_prefix('/').ok_or_else(|| JsonOpError::Pointer(pointer.to_string()))?;
    Ok(rest.split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect())
}

fn walk_mut<'a>(root: &'a mut Val, path: &[String]) -> Option<&'a mut Val> {
    let mut node = root;
    for token in path {
        node = match &mut node.v {
            V::Map(entries) => entries.iter_mut().find(|(k, _)| k == token).map(|(_, v)| v)?,
            V::Seq(items) => items.get_mut(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

/// A JSON 6902 operation that failed, naming the operation and its path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("JSON 6902 {op} {path}: {source}")]
pub struct PatchError {
    pub op: String,
    pub path: String,
    pub source: JsonOpError,
}

/// Why one JSON 6902 operation cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JsonOpError {
    #[error("JSON pointer `{0}` does not start with /")]
    Pointer(String),
    #[error("no value")]
    NoValue,
    #[error("no from")]
    NoFrom,
    #[error("the path does not exist")]
    NoPath,
    #[error("`from` does not exist")]
    NoFromPath,
    #[error("the parent path does not exist")]
    NoParent,
    #[error("the parent is not a mapping or a list")]
    ParentNotContainer,
    #[error("`{0}` is not an index")]
    NotAnIndex(String),
    #[error("index {0} is out of range")]
    OutOfRange(usize),
    #[error("cannot remove the document")]
    RemoveDocument,
    #[error("test failed")]
    TestFailed,
    #[error("unknown operation `{0}`")]
    UnknownOp(String),
}

/// Apply the operations in order; a failing operation is an error (kustomize stops too).
pub fn apply_json(root: &mut Val, ops: &[JsonOp]) -> Result<(), PatchError> {
    for op in ops {
        apply_one(root, op).map_err(|source| PatchError {
            op: op.op.clone(),
            path: op.path.clone(),
            source,
        })?;
    }
    Ok(())
}

fn apply_one(root: &mut Val, op: &JsonOp) -> Result<(), JsonOpError> {
    let path = tokens(&op.path)?;
    match op.op.as_str() {
        "add" | "replace" => {
            let mut value = op.value.clone().ok_or(JsonOpError::NoValue)?;
            if op.op == "replace" {
                let target = walk_mut(root, &path).ok_or(JsonOpError::NoPath)?;
                match (&op.value, target.as_str().is_some(), value.as_str().map(str::to_string)) {
                    (Some(v), true, Some(text)) => {
                        if let Some(pos) = &v.pos {
                            let what = "JSON 6902 replace".to_string();
                            target.rewrite(text, Change { what, pos: pos.clone() });
                        } else {
                            *target = value;
                        }
                    }
                    _ => *target = value,
                }
                return Ok(());
            }
            value.changes.clear();
            insert(root, &path, value)
        }
        "remove" => remove(root, &path).map(|_| ()),
        "move" | "copy" => {
            let from = tokens(op.from.as_deref().ok_or(JsonOpError::NoFrom)?)?;
            let value = if op.op == "move" {
                remove(root, &from)?
            } else {
                walk_mut(root, &from).ok_or(JsonOpError::NoFromPath)?.clone()
            };
            insert(root, &path, value)
        }
        "test" => {
            let found = walk_mut(root, &path).ok_or(JsonOpError::NoPath)?;
            let expected = op.value.as_ref().and_then(Val::as_str);
            if found.as_str() == expected { Ok(()) } else { Err(JsonOpError::TestFailed) }
        }
        other => Err(JsonOpError::UnknownOp(other.to_string())),
    }
}

fn insert(root: &mut Val, path: &[String], value: Val) -> Result<(), JsonOpError> {
    let Some((last, parent)) = path.split_last() else {
        *root = value;
        return Ok(());
    };
    let parent = walk_mut(root, parent).ok_or(JsonOpError::NoParent)?;
    match &mut parent.v {
        V::Map(_) => parent.set(last, value),
        V::Seq(items) => {
            if last == "-" {
                items.push(value);
            } else {
                let i: usize = last.parse().map_err(|_| JsonOpError::NotAnIndex(last.clone()))?;
                if i > items.len() {
                    return Err(JsonOpError::OutOfRange(i));
                }
                items.insert(i, value);
            }
        }
        _ => return Err(JsonOpError::ParentNotContainer),
    }
    Ok(())
}

fn remove(root: &mut Val, path: &[String]) -> Result<Val, JsonOpError> {
    let (last, parent) = path.split_last().ok_or(JsonOpError::RemoveDocument)?;
    let parent = walk_mut(root, parent).ok_or(JsonOpError::NoParent)?;
    match &mut parent.v {
        V::Map(_) => parent.remove(last).ok_or(JsonOpError::NoPath),
        V::Seq(items) => {
            let i: usize = last.parse().map_err(|_| JsonOpError::NotAnIndex(last.clone()))?;
            if i < items.len() { Ok(items.remove(i)) } else { Err(JsonOpError::OutOfRange(i)) }
        }
        _ => Err(JsonOpError::ParentNotContainer),
    }
}

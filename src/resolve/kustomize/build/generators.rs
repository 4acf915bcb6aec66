//! `configMapGenerator`: ConfigMaps from literals, env files and files, created or merged
//! into an existing one (`behavior: merge` / `replace`), their values positioned where they
//! were written.

use super::super::IssueKind;
use super::super::fs::normalize;
use super::super::resource::Resource;
use super::super::tree::{Pos, V, Val};
use super::{Builder, list};
use crate::location::Location;
use crate::source::SourceText;
use crate::source::discover::display_path;
use std::path::Path;
use std::sync::Arc;

impl Builder<'_> {
    pub(super) fn generate_config_maps(&mut self, k: &Val, dir: &Path, resources: &mut Vec<Resource>) {
        for generator in list(k, "configMapGenerator") {
            let Some(name) = generator.str_at(&["name"]) else { continue };
            let mut data: Vec<(String, Val)> = Vec::new();
            for lit in generator.get("literals").and_then(Val::as_seq).unwrap_or(&[]) {
                if let Some((key, value)) = literal(lit) {
                    data.push((key, value));
                }
            }
            let mut env_files: Vec<&Val> = list(generator, "envs").iter().collect();
            env_files.extend(generator.get("env"));
            for env in env_files {
                let Some(file) = env.as_str() else { continue };
                let path = normalize(&dir.join(file));
                let at = env.location().unwrap_or_else(|| Location::file_only(display_path(dir)));
                self.reached.insert(path.clone());
                match self.source(&path) {
                    Ok(src) => data.extend(env_pairs(&src)),
                    Err(e) => self.issue(
                        IssueKind::Unbuildable,
                        format!("`{}` cannot be read: {e}", display_path(&path)),
                        at,
                    ),
                }
            }
            for f in list(generator, "files") {
                let Some(spec) = f.as_str() else { continue };
                let (key, file) =
                    spec.split_once('=').unwrap_or_else(|| (spec.rsplit('/').next().unwrap_or(spec), spec));
                let path = normalize(&dir.join(file));
                if let Ok(src) = self.source(&path) {
                    self.reached.insert(path);
                    let pos = Pos::new(&src, 0..src.text.len());
                    data.push((key.to_string(), Val::scalar(src.text.clone(), Some(pos))));
                }
            }
            let behavior = generator.str_at(&["behavior"]).unwrap_or("create");
            let namespace = generator.str_at(&["namespace"]);
            if behavior != "create"
                && let Some(existing) =
                    resources.iter_mut().find(|r| r.kind() == "ConfigMap" && r.known_as(name, namespace))
            {
                if behavior == "replace" {
                    existing.obj.set("data", Val::new(V::Map(Vec::new()), None));
                }
                if existing.obj.get("data").is_none_or(|d| d.as_map().is_none()) {
                    existing.obj.set("data", Val::new(V::Map(Vec::new()), None));
                }
                if let Some(d) = existing.obj.get_mut("data") {
                    for (key, value) in data {
                        d.set(&key, value);
                    }
                }
                continue;
            }
            let mut meta = vec![(
                "name".to_string(),
                Val::scalar(name, generator.get("name").and_then(|n| n.pos.clone())),
            )];
            if let Some(ns) = namespace {
                meta.push(("namespace".to_string(), Val::scalar(ns, None)));
            }
            let obj = Val::new(
                V::Map(vec![
                    ("apiVersion".into(), Val::scalar("v1", None)),
                    ("kind".into(), Val::scalar("ConfigMap", None)),
                    ("metadata".into(), Val::new(V::Map(meta), None)),
                    ("data".into(), Val::new(V::Map(data), None)),
                ]),
                generator.pos.clone(),
            );
            resources.push(Resource::new(obj));
        }
    }
}

/// `KEY=VALUE` with the value positioned after the `=` (exact for plain scalars).
fn literal(v: &Val) -> Option<(String, Val)> {
    let text = v.as_str()?;
    let (key, value) = text.split_once('=')?;
    let pos = v.pos.as_ref().map(|p| {
        let raw = p.file.text.get(p.span.clone()).unwrap_or("");
        let start = if raw == text { p.span.start + key.len() + 1 } else { p.span.start };
        Pos::new(&p.file, start..start + if raw == text { value.len() } else { 0 })
    });
    let value = value.trim_matches(|c| c == '"' || c == '\'');
    Some((key.trim().to_string(), Val::scalar(value, pos)))
}

/// The `KEY=VALUE` lines of an env file, values positioned.
fn env_pairs(src: &Arc<SourceText>) -> Vec<(String, Val)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in src.text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        let trimmed = content.trim_start();
        if !trimmed.is_empty()
            && !trimmed.starts_with('#')
            && let Some((key, value)) = content.split_once('=')
        {
            let start = offset + key.len() + 1;
            let pos = Pos::new(src, start..start + value.len());
            out.push((key.trim().to_string(), Val::scalar(value, Some(pos))));
        }
        offset += line.len();
    }
    out
}

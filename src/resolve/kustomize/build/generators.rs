//! `configMapGenerator`: ConfigMaps from literals, env files and files, created or merged
//! into an existing one (`behavior: merge` / `replace`), their values positioned where they
//! were written.

use super::super::IssueKind;
use super::super::resource::Resource;
use super::{Builder, list};
use crate::text::SourceText;
use crate::text::location::Location;
use crate::text::paths::normalize;
use crate::text::source::display_path;
use crate::text::tree::{Pos, V, Val};
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

#[cfg(test)]
mod tests {
    use super::super::super::fs::MemFs;
    use super::*;
    use crate::resolve::kustomize::build::documents;
    use std::collections::HashMap;
    use std::path::PathBuf;

    /// The text a value was read from.
    fn written(v: &Val) -> &str {
        let pos = v.pos.as_ref().expect("a position");
        &pos.file.text[pos.span.clone()]
    }

    #[test]
    fn config_maps_are_generated_merged_and_replaced() {
        let mut fs = MemFs::default();
        for (path, text) in
            [("k/app.env", "# comment\nMODE=prod\n\nLEVEL=3\n"), ("k/conf/settings.ini", "a=1\n")]
        {
            fs.files.insert(PathBuf::from(path), text.to_string());
        }
        let known = HashMap::new();
        let mut b = Builder::new(&fs, &known);
        let k = documents(
            "k/kustomization.yaml",
            "configMapGenerator:
  - name: app
    namespace: web
    literals:
      - COLOR=\"blue\"
    envs:
      - app.env
    files:
      - conf/settings.ini
      - custom=conf/settings.ini
  - name: merged
    behavior: merge
    literals:
      - EXTRA=1
  - name: replaced
    behavior: replace
    literals:
      - B=2
  - name: unreadable
    env: missing.env
",
        )
        .remove(0);
        let existing = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: merged\ndata:\n  KEEP: x\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: replaced\ndata:\n  OLD: y\n";
        let mut rs: Vec<Resource> = documents("k/cm.yaml", existing).into_iter().map(Resource::new).collect();
        b.generate_config_maps(&k, Path::new("k"), &mut rs);

        let names: Vec<&str> = rs.iter().map(Resource::name).collect();
        assert_eq!(names, ["merged", "replaced", "app", "unreadable"]);
        let data = |i: usize| -> Vec<(&str, &str)> {
            rs[i]
                .obj
                .get("data")
                .and_then(Val::as_map)
                .unwrap_or(&[])
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("?")))
                .collect()
        };
        assert_eq!(data(0), [("KEEP", "x"), ("EXTRA", "1")]);
        assert_eq!(data(1), [("B", "2")]);
        assert_eq!(
            data(2),
            [
                ("COLOR", "blue"),
                ("MODE", "prod"),
                ("LEVEL", "3"),
                ("settings.ini", "a=1\n"),
                ("custom", "a=1\n")
            ]
        );
        assert_eq!(data(3), []);
        let app = &rs[2];
        assert_eq!(app.obj.str_at(&["kind"]), Some("ConfigMap"));
        assert_eq!(app.obj.str_at(&["metadata", "namespace"]), Some("web"));
        // Values point at what was written: the literal's value, the env file's value.
        let value = |key: &str| app.obj.get("data").and_then(|d| d.get(key)).expect(key);
        assert_eq!(written(value("COLOR")), "\"blue\"");
        assert_eq!(written(value("MODE")), "prod");
        assert_eq!(value("MODE").pos.as_ref().map(|p| p.file.display.as_str()), Some("k/app.env"));
        assert!(b.reached.contains(Path::new("k/app.env")));
        assert!(b.reached.contains(Path::new("k/conf/settings.ini")));
        let messages: Vec<&str> = b.issues.iter().map(|i| i.message.as_str()).collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].starts_with("`k/missing.env` cannot be read"), "{messages:?}");
    }
}

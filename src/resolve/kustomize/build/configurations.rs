//! `configurations:`: files of transformer field specs (kustomize's `TransformerConfig`,
//! read strictly: an unknown field fails `kubectl kustomize`).
//!
//! Their `images` specs are merged, file after file, into kustomize's built-in ones, and those
//! into the accumulation (see `fieldspec` for the merge and its quirks): the images at those
//! fields are rewritten by `images:` here and in every kustomization using this one, and are
//! references. The other lists (`namePrefix`, `commonLabels`, `nameReference`,
//! `varReference`...) add fields for other transformers to write, which stowage does not
//! apply: none of them changes an image (the name, namespace and labels patches select by stay
//! at `metadata`), except a spec whose field is an `image` — reported, since stowage leaves
//! that image as written where kubectl kustomize would change it (`varReference`: substitute
//! `vars` into it).

use super::super::IssueKind;
use super::super::fieldspec::{FieldSpec, ImageFieldSpecs, type_name};
use super::{Builder, list};
use crate::text::location::Location;
use crate::text::paths::normalize;
use crate::text::source::display_path;
use crate::text::tree::{V, Val};
use std::path::Path;

/// The lists of field specs a configuration file may hold.
const FIELD_SPEC_LISTS: [&str; 10] = [
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "templateLabels",
    "commonAnnotations",
    "varReference",
    "images",
    "replicas",
];

const FIELD_SPEC_KEYS: [&str; 5] = ["group", "version", "kind", "path", "create"];

/// `nameReference` entries: the kind referred to, and the fields referring to it.
const NAME_REFERENCE_KEYS: [&str; 4] = ["group", "version", "kind", "fieldSpecs"];

impl Builder<'_> {
    /// Merge this kustomization's `images` field specs (kustomize's own, and those of its
    /// `configurations:` files) into `images`, the accumulation so far.
    pub(super) fn configurations(&mut self, k: &Val, dir: &Path, images: &mut ImageFieldSpecs) {
        let entries = list(k, "configurations");
        let here = || Location::file_only(display_path(dir));
        let first = entries.first().and_then(Val::location).unwrap_or_else(here);
        let mut own = ImageFieldSpecs::builtin();
        if !entries.is_empty() {
            let mut loaded = ImageFieldSpecs::default();
            for entry in entries {
                let at = entry.location().unwrap_or_else(here);
                let Some(file) = entry.as_str() else {
                    let msg = "a `configurations` entry is a file path".to_string();
                    self.issue(IssueKind::Unbuildable, msg, at);
                    continue;
                };
                let path = normalize(&dir.join(file));
                if super::is_remote(file) && !self.fs.is_file(&path) {
                    self.remote(file, "configuration", at);
                    continue;
                }
                let Some(docs) = self.documents(&path, &at) else { continue };
                let Some(doc) = docs.first() else { continue };
                let mut specs = ImageFieldSpecs { specs: self.configuration(doc, &display_path(&path), &at) };
                specs.sort();
                let conflicts = loaded.merge(&specs.specs);
                self.conflicts(conflicts, &at);
            }
            let conflicts = own.merge(&loaded.specs);
            self.conflicts(conflicts, &first);
        }
        let conflicts = images.merge(&own.specs);
        self.conflicts(conflicts, &first);
    }

    /// The `images` field specs of one configuration file; what kubectl kustomize refuses in
    /// it, and specs of other lists naming an `image` field, are reported.
    fn configuration(&mut self, doc: &Val, file: &str, at: &Location) -> Vec<FieldSpec> {
        let mut images = Vec::new();
        let entries = match &doc.v {
            V::Map(entries) => entries,
            V::Null => return images,
            _ => {
                let msg = format!(
                    "`{file}` is a {}, not a transformer configuration (a mapping of field spec lists): kubectl kustomize refuses it",
                    type_name(doc)
                );
                self.issue(IssueKind::Unbuildable, msg, doc.location().unwrap_or_else(|| at.clone()));
                return images;
            }
        };
        for (key, value) in entries {
            let specs = if key == "nameReference" {
                let mut specs = Vec::new();
                for entry in self.items(value, key, at) {
                    self.check_keys(entry, &NAME_REFERENCE_KEYS, key, at);
                    if let Some(referrers) = entry.get("fieldSpecs") {
                        specs.extend(self.field_specs(referrers, "nameReference fieldSpecs", at));
                    }
                }
                specs
            } else if FIELD_SPEC_LISTS.contains(&key.as_str()) {
                self.field_specs(value, key, at)
            } else {
                let msg = format!("unknown field `{key}`: kubectl kustomize refuses this configuration file");
                self.issue(IssueKind::Unbuildable, msg, value.location().unwrap_or_else(|| at.clone()));
                continue;
            };
            if key == "images" {
                images.extend(specs);
                continue;
            }
            for spec in specs.iter().filter(|s| names_an_image(s)) {
                let msg = format!(
                    "`{key}` field spec {} names an image field: stowage applies only the `images` field specs of `configurations`, so this image is reported as written, where kubectl kustomize would change it",
                    spec.describe()
                );
                let location = spec.pos.as_ref().map_or_else(|| at.clone(), |p| p.location());
                self.issue(IssueKind::Unbuildable, msg, location);
            }
        }
        images
    }

    /// The items of a list in a configuration file (a null is an empty list).
    fn items<'v>(&mut self, value: &'v Val, key: &str, at: &Location) -> &'v [Val] {
        match &value.v {
            V::Seq(items) => items,
            V::Null => &[],
            _ => {
                let msg = format!(
                    "`{key}` is a {}, not a list: kubectl kustomize refuses this configuration file",
                    type_name(value)
                );
                self.issue(IssueKind::Unbuildable, msg, value.location().unwrap_or_else(|| at.clone()));
                &[]
            }
        }
    }

    /// Report the keys of a mapping item that are not among `known` (or an item that is not a
    /// mapping); whether it is a mapping.
    fn check_keys(&mut self, item: &Val, known: &[&str], list: &str, at: &Location) -> bool {
        let location = item.location().unwrap_or_else(|| at.clone());
        let Some(entries) = item.as_map() else {
            let msg = format!(
                "an item of `{list}` is a {}, not a mapping: kubectl kustomize refuses this configuration file",
                type_name(item)
            );
            self.issue(IssueKind::Unbuildable, msg, location);
            return false;
        };
        for (key, value) in entries {
            if !known.contains(&key.as_str()) {
                let msg = format!(
                    "unknown field `{key}` in `{list}`: kubectl kustomize refuses this configuration file"
                );
                self.issue(IssueKind::Unbuildable, msg, value.location().unwrap_or_else(|| location.clone()));
            }
        }
        true
    }

    fn field_specs(&mut self, value: &Val, list: &str, at: &Location) -> Vec<FieldSpec> {
        let mut specs = Vec::new();
        for item in self.items(value, list, at) {
            if !self.check_keys(item, &FIELD_SPEC_KEYS, list, at) {
                continue;
            }
            let text = |key: &str| item.str_at(&[key]).unwrap_or("").to_string();
            let create = match item.get("create").map(|v| (v, v.as_str())) {
                None | Some((_, None)) => false,
                Some((v, Some(text))) => match yaml_bool(text).filter(|_| !is_quoted(v)) {
                    Some(b) => b,
                    None => {
                        let shown = if is_quoted(v) { format!("\"{text}\"") } else { text.to_string() };
                        let msg = format!(
                            "`create` is `{shown}`, not true or false: kubectl kustomize refuses this configuration file"
                        );
                        self.issue(IssueKind::Unbuildable, msg, v.location().unwrap_or_else(|| at.clone()));
                        false
                    }
                },
            };
            specs.push(FieldSpec::new(
                text("group"),
                text("version"),
                text("kind"),
                text("path"),
                create,
                item.pos.clone(),
            ));
        }
        specs
    }
}

/// A boolean as kustomize's YAML reader (YAML 1.1) reads it.
fn yaml_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => Some(true),
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n" | "N" => Some(false),
        _ => None,
    }
}

/// Whether a scalar was written quoted (a string, never a boolean): its span holds the text
/// between the quotes.
fn is_quoted(v: &Val) -> bool {
    v.pos.as_ref().and_then(|p| p.file.text.get(..p.span.start)).is_some_and(|t| t.ends_with(['"', '\'']))
}

/// Whether a spec's field is an `image` (its last field name).
fn names_an_image(spec: &FieldSpec) -> bool {
    spec.segments().last().is_some_and(|s| s.strip_suffix("[]").unwrap_or(s) == "image")
}

#[cfg(test)]
mod tests {
    use super::super::super::fs::MemFs;
    use super::*;
    use crate::resolve::kustomize::build::documents;
    use std::collections::HashMap;
    use std::path::PathBuf;

    /// The `images` specs and the issues (`line:column message`) of `k/kustomization.yaml`'s
    /// configurations, the file `k/conf.yaml` holding `conf`.
    fn read(conf: &str) -> (Vec<String>, Vec<String>) {
        let mut fs = MemFs::default();
        fs.files.insert(PathBuf::from("k/conf.yaml"), conf.to_string());
        let known = HashMap::new();
        let mut b = Builder::new(&fs, &known);
        let k = documents("k/kustomization.yaml", "configurations:\n- conf.yaml\n").remove(0);
        let mut specs = ImageFieldSpecs::default();
        b.configurations(&k, Path::new("k"), &mut specs);
        let written = specs.written().map(FieldSpec::describe).collect();
        let issues = b
            .issues
            .iter()
            .map(|i| format!("{}:{}:{} {}", i.location.file, i.location.line, i.location.column, i.message))
            .collect();
        (written, issues)
    }

    #[test]
    fn images_specs_are_read_and_the_others_checked() {
        let conf = "\
images:
- path: spec/runners/image
  kind: RunnerSet
  create: yes
namePrefix:
- path: spec/serviceName
  kind: RunnerSet
nameReference:
- kind: ConfigMap
  fieldSpecs:
  - path: spec/configMap
    kind: RunnerSet
varReference:
- path: spec/env/value
  kind: RunnerSet
commonLabels:
";
        let (specs, issues) = read(conf);
        assert_eq!(specs, ["`spec/runners/image` (kind RunnerSet)"]);
        assert!(issues.is_empty(), "{issues:?}");
    }

    /// A spec of another list naming an `image` field: stowage does not do what kubectl
    /// kustomize would with it (substitute `vars`, prefix it...), so it says so.
    #[test]
    fn specs_of_other_lists_naming_an_image_are_reported() {
        let (specs, issues) = read(
            "varReference:\n- path: spec/template/spec/containers[]/image\n  kind: Deployment\nnameReference:\n- kind: Secret\n  fieldSpecs:\n  - path: spec/image\n",
        );
        assert!(specs.is_empty());
        assert_eq!(issues.len(), 2, "{issues:?}");
        assert!(
            issues[0].starts_with(
                "k/conf.yaml:2:3 `varReference` field spec `spec/template/spec/containers[]/image` (kind Deployment) names an image field"
            ),
            "{issues:?}"
        );
        assert!(
            issues[1].starts_with("k/conf.yaml:7:5 `nameReference` field spec `spec/image`"),
            "{issues:?}"
        );
    }

    /// kubectl kustomize reads the file strictly.
    #[test]
    fn what_kubectl_refuses_is_reported_where_written() {
        let (_, issues) = read(
            "images:\n- path: a\n  create: maybe\n- path: b\n  create: \"true\"\n- path: c\n  create: y\nfoo: []\nreplicas: 3\nlabels:\n- just-a-path\n",
        );
        assert_eq!(
            issues,
            [
                "k/conf.yaml:3:11 `create` is `maybe`, not true or false: kubectl kustomize refuses this configuration file",
                "k/conf.yaml:5:12 `create` is `\"true\"`, not true or false: kubectl kustomize refuses this configuration file",
                "k/conf.yaml:8:6 unknown field `foo`: kubectl kustomize refuses this configuration file",
                "k/conf.yaml:9:11 `replicas` is a string, not a list: kubectl kustomize refuses this configuration file",
                "k/conf.yaml:11:3 an item of `labels` is a string, not a mapping: kubectl kustomize refuses this configuration file",
            ]
        );
        let (_, issues) = read("- images\n");
        assert_eq!(
            issues,
            [
                "k/conf.yaml:1:1 `k/conf.yaml` is a list, not a transformer configuration (a mapping of field spec lists): kubectl kustomize refuses it"
            ]
        );
        assert_eq!(read(""), (Vec::new(), Vec::new()));
    }
}

//! The built-in transformers of a kustomization, run in kustomize's order over what the
//! resources, generators and components accumulated.

use super::super::IssueKind;
use super::super::fs::normalize;
use super::super::images::{ImageRule, apply_to_object};
use super::super::patch::{self, JsonOp, Merged};
use super::super::replace::{self, Replacement};
use super::super::resource::{Resource, Selector, is_cluster_scoped};
use super::super::tree::{Pos, V, Val};
use super::{Builder, list};
use crate::location::Location;
use crate::source::SourceText;
use crate::source::discover::display_path;
use crate::source::yaml;
use std::path::Path;
use std::sync::Arc;

impl Builder<'_> {
    /// Run the built-in transformers of `k` over `resources`, in kustomize's order (v5,
    /// `configureBuiltinTransformers` in `api/internal/target/kusttarget_configplugin.go`):
    /// PatchStrategicMerge, Patch, Namespace, Prefix, Suffix, Label, Annotations,
    /// PatchJson6902, ReplicaCount, ImageTag, Replacement. `replicas` (ReplicaCount) changes
    /// no image, so it is not run.
    pub(super) fn transform(&mut self, k: &Val, dir: &Path, resources: &mut Vec<Resource>) {
        self.patches_strategic_merge(k, dir, resources);
        self.patches(k, dir, resources);
        namespace(k, resources);
        name_prefix_suffix(k, resources);
        labels(k, resources);
        common_annotations(k, resources);
        self.patches_json6902(k, dir, resources);
        images(k, resources);
        self.replacements(k, dir, resources);
    }

    /// `patchesStrategicMerge`: file paths or inline YAML.
    fn patches_strategic_merge(&mut self, k: &Val, dir: &Path, resources: &mut Vec<Resource>) {
        for entry in list(k, "patchesStrategicMerge") {
            let at = entry_location(entry, dir);
            for doc in self.patch_documents(dir, entry, None, &at) {
                self.strategic(&doc, None, resources, &at);
            }
        }
    }

    /// `patches`: a JSON 6902 list (which needs a `target`) or strategic merge patches, of
    /// the resources `target` selects or else the one each patch names.
    fn patches(&mut self, k: &Val, dir: &Path, resources: &mut Vec<Resource>) {
        for entry in list(k, "patches") {
            let at = entry_location(entry, dir);
            let target = match entry.get("target").map(Selector::from_val).transpose() {
                Ok(t) => t,
                Err(e) => {
                    self.issue(IssueKind::Unbuildable, e, at);
                    continue;
                }
            };
            let docs = self.patch_documents(dir, entry.get("path").unwrap_or(entry), entry.get("patch"), &at);
            match docs.as_slice() {
                [single] if single.as_seq().is_some() => {
                    let Some(target) = &target else {
                        let msg = "a JSON 6902 patch needs a `target`".to_string();
                        self.issue(IssueKind::Unbuildable, msg, at);
                        continue;
                    };
                    let ops: Vec<JsonOp> =
                        single.as_seq().unwrap_or(&[]).iter().filter_map(JsonOp::from_val).collect();
                    self.json(&ops, target, resources, &at);
                }
                _ => {
                    for doc in &docs {
                        self.strategic(doc, target.as_ref(), resources, &at);
                    }
                }
            }
        }
    }

    /// `patchesJson6902`: JSON 6902 operations on the resources `target` selects.
    fn patches_json6902(&mut self, k: &Val, dir: &Path, resources: &mut [Resource]) {
        for entry in list(k, "patchesJson6902") {
            let at = entry_location(entry, dir);
            let target = match entry.get("target").map(Selector::from_val) {
                Some(Ok(t)) => t,
                Some(Err(e)) => {
                    self.issue(IssueKind::Unbuildable, e, at);
                    continue;
                }
                None => {
                    self.issue(IssueKind::Unbuildable, "a JSON 6902 patch needs a `target`".into(), at);
                    continue;
                }
            };
            let docs = self.patch_documents(dir, entry.get("path").unwrap_or(entry), entry.get("patch"), &at);
            let ops: Vec<JsonOp> =
                docs.iter().filter_map(Val::as_seq).flatten().filter_map(JsonOp::from_val).collect();
            self.json(&ops, &target, resources, &at);
        }
    }

    /// `replacements`: inline, or read from a `path:` file (one replacement or a list).
    fn replacements(&mut self, k: &Val, dir: &Path, resources: &mut [Resource]) {
        for entry in list(k, "replacements") {
            let at = entry_location(entry, dir);
            let reps: Vec<Replacement> = match entry.str_at(&["path"]) {
                Some(file) => {
                    let path = normalize(&dir.join(file));
                    let docs = self.documents(&path, &at).unwrap_or_default();
                    docs.iter()
                        .flat_map(|d| d.as_seq().map(<[Val]>::to_vec).unwrap_or_else(|| vec![d.clone()]))
                        .map(|d| replacement(&d))
                        .collect()
                }
                None => vec![replacement(entry)],
            };
            for rep in reps {
                if let Err(e) = replace::apply(&rep, resources) {
                    self.issue(IssueKind::Unbuildable, format!("replacement: {e}"), at.clone());
                }
            }
        }
    }

    /// The documents of a patch: `inline` text, or `entry` as a file path (or, for
    /// `patchesStrategicMerge`, inline YAML when it is not a file).
    fn patch_documents(&mut self, dir: &Path, entry: &Val, inline: Option<&Val>, at: &Location) -> Vec<Val> {
        if let Some(text) = inline {
            return self.inline_documents(text);
        }
        let Some(text) = entry.as_str() else { return Vec::new() };
        let path = normalize(&dir.join(text));
        if !text.contains('\n') && self.fs.is_file(&path) {
            return self.documents(&path, at).map(|d| d.as_ref().clone()).unwrap_or_default();
        }
        if text.contains('\n') || text.contains(':') {
            return self.inline_documents(entry);
        }
        let msg = format!("patch file `{}` does not exist", display_path(&path));
        self.issue(IssueKind::Unbuildable, msg, at.clone());
        Vec::new()
    }

    /// Parse YAML written inside a kustomization string, keeping positions in the
    /// kustomization file: the file's text is masked outside the string's lines so that
    /// offsets are the file's own. Quoted strings (escapes) fall back to the string alone,
    /// positioned at its start.
    fn inline_documents(&mut self, v: &Val) -> Vec<Val> {
        let (Some(text), Some(pos)) = (v.as_str(), &v.pos) else { return Vec::new() };
        let file = &pos.file;
        if is_block_scalar(&file.text, pos.span.start) {
            let start = pos.span.start;
            let masked: String = file
                .text
                .char_indices()
                .map(|(i, c)| if (start..pos.span.end).contains(&i) || c == '\n' { c } else { ' ' })
                .collect();
            let mut src = SourceText::new(file.path.clone(), file.display.clone(), masked);
            src.in_image = file.in_image;
            let src = Arc::new(src);
            let mut docs = Vec::new();
            let problems = yaml::for_each_document(&src, |d| docs.push(Val::from_node(&d.root, &src)));
            if problems.is_empty() && !docs.is_empty() {
                return docs;
            }
        }
        let src = Arc::new(SourceText::new(file.path.clone(), file.display.clone(), text.to_string()));
        let mut docs = Vec::new();
        let problems = yaml::for_each_document(&src, |d| docs.push(Val::from_node(&d.root, &src)));
        if let Some(p) = problems.first() {
            let msg = format!("inline patch is not valid YAML: {}", p.message);
            self.issue(IssueKind::Unbuildable, msg, pos.location());
        }
        // Positions inside a quoted string cannot be mapped back: point at the string.
        fn repoint(v: &mut Val, pos: &Pos) {
            v.pos = Some(pos.clone());
            match &mut v.v {
                V::Map(entries) => entries.iter_mut().for_each(|(_, v)| repoint(v, pos)),
                V::Seq(items) => items.iter_mut().for_each(|v| repoint(v, pos)),
                _ => {}
            }
        }
        docs.iter_mut().for_each(|d| repoint(d, pos));
        docs
    }

    fn strategic(
        &mut self,
        patch: &Val,
        target: Option<&Selector>,
        resources: &mut Vec<Resource>,
        at: &Location,
    ) {
        if patch.as_map().is_none() {
            return;
        }
        let mut body = patch.clone();
        let matched: Vec<usize> = match target {
            Some(sel) => {
                for key in ["apiVersion", "kind"] {
                    body.remove(key);
                }
                if let Some(meta) = body.get_mut("metadata") {
                    meta.remove("name");
                    meta.remove("namespace");
                }
                (0..resources.len()).filter(|&i| sel.matches(&resources[i])).collect()
            }
            None => {
                let kind = patch.str_at(&["kind"]).unwrap_or("");
                let name = patch.str_at(&["metadata", "name"]).unwrap_or("");
                let ns = patch.str_at(&["metadata", "namespace"]);
                let found: Vec<usize> = (0..resources.len())
                    .filter(|&i| resources[i].kind() == kind && resources[i].known_as(name, ns))
                    .collect();
                if found.is_empty() {
                    let msg = format!("no resource matches the patch for {kind} `{name}`");
                    self.issue(IssueKind::Unbuildable, msg, at.clone());
                }
                found
            }
        };
        let mut deleted = Vec::new();
        for i in matched {
            if let Merged::Delete = patch::strategic_merge(&mut resources[i].obj, &body, "patch") {
                deleted.push(i);
            }
        }
        for i in deleted.into_iter().rev() {
            resources.remove(i);
        }
    }

    fn json(&mut self, ops: &[JsonOp], target: &Selector, resources: &mut [Resource], at: &Location) {
        for r in resources.iter_mut().filter(|r| target.matches(r)) {
            if let Err(e) = patch::apply_json(&mut r.obj, ops) {
                self.issue(IssueKind::Unbuildable, e, at.clone());
            }
        }
    }
}

/// Where a kustomization entry was written; the kustomization's directory when unknown.
fn entry_location(entry: &Val, dir: &Path) -> Location {
    entry.location().unwrap_or_else(|| Location::file_only(display_path(dir)))
}

/// `namespace`: set on every resource that has one.
fn namespace(k: &Val, resources: &mut [Resource]) {
    if let Some(ns) = k.str_at(&["namespace"]) {
        for r in resources.iter_mut().filter(|r| !is_cluster_scoped(r.kind())) {
            r.set_namespace(ns.to_string());
        }
    }
}

/// `namePrefix` and `nameSuffix` (kustomize's Prefix and Suffix transformers, one after the
/// other: one rename here), except on CustomResourceDefinitions and Namespaces.
fn name_prefix_suffix(k: &Val, resources: &mut [Resource]) {
    let prefix = k.str_at(&["namePrefix"]).unwrap_or("");
    let suffix = k.str_at(&["nameSuffix"]).unwrap_or("");
    if !prefix.is_empty() || !suffix.is_empty() {
        for r in
            resources.iter_mut().filter(|r| r.kind() != "CustomResourceDefinition" && r.kind() != "Namespace")
        {
            let name = format!("{prefix}{}{suffix}", r.name());
            r.set_name(name);
        }
    }
}

/// `commonLabels` and the `pairs` of `labels`, into `metadata.labels`.
fn labels(k: &Val, resources: &mut [Resource]) {
    let mut labels: Vec<(String, String)> = pairs(k.get("commonLabels"));
    for entry in list(k, "labels") {
        labels.extend(pairs(entry.get("pairs")));
    }
    add_metadata(resources, "labels", &labels);
}

/// `commonAnnotations`, into `metadata.annotations`.
fn common_annotations(k: &Val, resources: &mut [Resource]) {
    add_metadata(resources, "annotations", &pairs(k.get("commonAnnotations")));
}

/// `images`: each entry's `newName`, `newTag` and `digest`, on the container images it matches.
fn images(k: &Val, resources: &mut [Resource]) {
    for entry in list(k, "images") {
        let Some(name) = entry.str_at(&["name"]) else { continue };
        let field = |f: &str| {
            entry
                .get(f)
                .and_then(|v| Some((v.as_str()?.to_string(), v.pos.clone()?)))
                .filter(|(s, _)| !s.is_empty())
        };
        let rule = ImageRule::new(name.to_string(), field("newName"), field("newTag"), field("digest"));
        for r in resources.iter_mut() {
            apply_to_object(&rule, &mut r.obj);
        }
    }
}

fn pairs(v: Option<&Val>) -> Vec<(String, String)> {
    v.and_then(Val::as_map)
        .map(|e| e.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default()
}

fn add_metadata(resources: &mut [Resource], field: &str, pairs: &[(String, String)]) {
    if pairs.is_empty() {
        return;
    }
    for r in resources.iter_mut() {
        let Some(meta) = r.obj.get_mut("metadata") else { continue };
        if meta.get(field).is_none_or(|m| m.as_map().is_none()) {
            meta.set(field, Val::new(V::Map(Vec::new()), None));
        }
        if let Some(m) = meta.get_mut(field) {
            for (k, v) in pairs {
                m.set(k, Val::scalar(v.clone(), None));
            }
        }
    }
}

fn replacement(v: &Val) -> Replacement {
    Replacement {
        source: v.get("source").cloned().unwrap_or_else(|| Val::new(V::Null, None)),
        targets: list(v, "targets").to_vec(),
        pos: v.pos.clone(),
    }
}
/// Whether the scalar starting at `start` is a block scalar (`|`, `|-`, `>`...): its
/// content starts on a line after the indicator.
fn is_block_scalar(text: &str, start: usize) -> bool {
    let Some(before) = text.get(..start) else { return false };
    let Some(before) = before.trim_end_matches(' ').strip_suffix('\n') else { return false };
    let line = before.rsplit('\n').next().unwrap_or(before);
    let line = line.split(" #").next().unwrap_or(line).trim_end();
    line.rsplit([' ', ':']).next().is_some_and(|token| token.starts_with('|') || token.starts_with('>'))
}

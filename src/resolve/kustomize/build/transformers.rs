//! The built-in transformers of a kustomization, run in kustomize's order over what the
//! resources, generators and components accumulated.

use super::super::IssueKind;
use super::super::fieldspec::ImageFieldSpecs;
use super::super::images::{ImageRule, apply_to_object};
use super::super::patch::{self, JsonOp, Merged};
use super::super::replace::{self, Replacement};
use super::super::resource::{Resource, Selector, is_cluster_scoped};
use super::{Builder, list};
use crate::text::SourceText;
use crate::text::location::Location;
use crate::text::paths::normalize;
use crate::text::source::display_path;
use crate::text::tree::{Pos, V, Val};
use crate::text::yaml;
use std::path::Path;
use std::sync::Arc;

impl Builder<'_> {
    /// Run the built-in transformers of `k` over `resources`, in kustomize's order (v5,
    /// `configureBuiltinTransformers` in `api/internal/target/kusttarget_configplugin.go`):
    /// PatchStrategicMerge, Patch, Namespace, Prefix, Suffix, Label, Annotations,
    /// PatchJson6902, ReplicaCount, ImageTag, Replacement. `replicas` (ReplicaCount) changes
    /// no image, so it is not run. `images` reads the field specs accumulated so far.
    pub(super) fn transform(
        &mut self,
        k: &Val,
        dir: &Path,
        resources: &mut Vec<Resource>,
        image_specs: &ImageFieldSpecs,
    ) {
        self.patches_strategic_merge(k, dir, resources);
        self.patches(k, dir, resources);
        namespace(k, resources);
        name_prefix_suffix(k, resources);
        labels(k, resources);
        common_annotations(k, resources);
        self.patches_json6902(k, dir, resources);
        self.images(k, dir, resources, image_specs);
        self.replacements(k, dir, resources);
    }

    /// `images`: each entry's `newName`, `newTag`, `digest` and `tagSuffix`, on the images it
    /// matches at the container lists and the field specs (see `images`). What would stop
    /// kustomize is reported where it was found.
    fn images(&mut self, k: &Val, dir: &Path, resources: &mut [Resource], specs: &ImageFieldSpecs) {
        for entry in list(k, "images") {
            let Some(name) = entry.str_at(&["name"]) else { continue };
            let field = |f: &str| {
                entry
                    .get(f)
                    .and_then(|v| Some((v.as_str()?.to_string(), v.pos.clone()?)))
                    .filter(|(s, _)| !s.is_empty())
            };
            let mut rule = ImageRule::new(name);
            rule.new_name = field("newName");
            rule.new_tag = field("newTag");
            rule.digest = field("digest");
            rule.tag_suffix = field("tagSuffix");
            let at = entry_location(entry, dir);
            for r in resources.iter_mut() {
                for e in apply_to_object(&rule, &specs.specs, &mut r.obj) {
                    let location = e.pos.as_ref().map_or_else(|| at.clone(), |p| p.location());
                    self.issue(IssueKind::Unbuildable, e.message, location);
                }
            }
        }
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
                    self.issue(IssueKind::Unbuildable, e.to_string(), at);
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
                    self.issue(IssueKind::Unbuildable, e.to_string(), at);
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
                (0..resources.len()).filter(|&i| sel.targets(&resources[i])).collect()
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
        for r in resources.iter_mut().filter(|r| target.targets(r)) {
            if let Err(e) = patch::apply_json(&mut r.obj, ops) {
                self.issue(IssueKind::Unbuildable, e.to_string(), at.clone());
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
            r.add_prefix_suffix(prefix, suffix);
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

#[cfg(test)]
mod tests {
    use super::super::super::fs::MemFs;
    use super::*;
    use crate::resolve::kustomize::build::documents;
    use std::collections::HashMap;
    use std::path::PathBuf;

    /// Two Pods (`web`, and `db` with a `tier` label) and a Namespace.
    const RESOURCES: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: app
      image: nginx:1.0
---
apiVersion: v1
kind: Pod
metadata:
  name: db
  labels:
    tier: db
spec:
  containers:
    - name: app
      image: postgres:15
---
apiVersion: v1
kind: Namespace
metadata:
  name: team
";

    fn kustomization(text: &str) -> Val {
        documents("k/kustomization.yaml", text).remove(0)
    }

    fn resources(text: &str) -> Vec<Resource> {
        documents("k/resources.yaml", text).into_iter().map(Resource::new).collect()
    }

    /// A file system holding `files` (paths under `k/`).
    fn fs(files: &[(&str, &str)]) -> MemFs {
        let mut fs = MemFs::default();
        for (path, text) in files {
            fs.files.insert(PathBuf::from(path), (*text).to_string());
        }
        fs
    }

    fn find<'r>(resources: &'r [Resource], name: &str) -> &'r Resource {
        resources.iter().find(|r| r.name() == name).unwrap_or_else(|| panic!("no resource {name}"))
    }

    /// The first container's `field` of a Pod.
    fn container<'r>(r: &'r Resource, field: &str) -> Option<&'r Val> {
        r.obj.get("spec")?.get("containers")?.as_seq()?.first()?.get(field)
    }

    fn image(r: &Resource) -> &str {
        container(r, "image").and_then(Val::as_str).unwrap_or("")
    }

    fn messages<'b>(b: &'b Builder) -> Vec<&'b str> {
        b.issues.iter().map(|i| i.message.as_str()).collect()
    }

    #[test]
    fn patches_strategic_merge_reads_files_and_inline_yaml() {
        let patch = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: app\n      image: nginx:2.0\n";
        let fs = fs(&[("k/patch.yaml", patch)]);
        let known = HashMap::new();
        let mut b = Builder::new(&fs, &known);
        let k = kustomization(
            "patchesStrategicMerge:
  - patch.yaml
  - |-
    apiVersion: v1
    kind: Pod
    metadata:
      name: db
    $patch: delete
  - missing.yaml
  - |-
    apiVersion: v1
    kind: Pod
    metadata:
      name: nobody
",
        );
        let mut rs = resources(RESOURCES);
        b.patches_strategic_merge(&k, Path::new("k"), &mut rs);
        let names: Vec<&str> = rs.iter().map(Resource::name).collect();
        assert_eq!(names, ["web", "team"]);
        let web = find(&rs, "web");
        assert_eq!(image(web), "nginx:2.0");
        let changes = &container(web, "image").unwrap().changes;
        assert_eq!(changes.len(), 1);
        assert_eq!(
            (changes[0].what.as_str(), changes[0].pos.file.display.as_str()),
            ("patch", "k/patch.yaml")
        );
        assert!(b.reached.contains(Path::new("k/patch.yaml")));
        assert_eq!(
            messages(&b),
            ["patch file `k/missing.yaml` does not exist", "no resource matches the patch for Pod `nobody`"]
        );
    }

    #[test]
    fn patches_apply_to_their_target_or_the_resource_they_name() {
        let fs = fs(&[]);
        let known = HashMap::new();
        let mut b = Builder::new(&fs, &known);
        let k = kustomization(
            "patches:
  - target:
      kind: Pod
    patch: |-
      apiVersion: v1
      kind: Pod
      metadata:
        name: ignored
      spec:
        containers:
          - name: app
            imagePullPolicy: Always
  - target:
      name: web
    patch: |-
      - op: replace
        path: /spec/containers/0/image
        value: nginx:3.0
  - patch: |-
      apiVersion: v1
      kind: Pod
      metadata:
        name: db
      spec:
        containers:
          - name: app
            image: postgres:16
  - patch: |-
      - op: replace
        path: /spec/containers/0/image
        value: nope
  - target:
      name: \"(\"
    patch: |-
      - op: remove
        path: /spec
",
        );
        let mut rs = resources(RESOURCES);
        b.patches(&k, Path::new("k"), &mut rs);
        // The target picks the resources; the patch's own name and kind are left out of it.
        let names: Vec<&str> = rs.iter().map(Resource::name).collect();
        assert_eq!(names, ["web", "db", "team"]);
        for pod in ["web", "db"] {
            let policy = container(find(&rs, pod), "imagePullPolicy").and_then(Val::as_str);
            assert_eq!(policy, Some("Always"), "{pod}");
        }
        assert!(find(&rs, "team").obj.get("spec").is_none());
        let web = find(&rs, "web");
        assert_eq!(image(web), "nginx:3.0");
        assert_eq!(container(web, "image").unwrap().changes[0].what, "JSON 6902 replace");
        assert_eq!(image(find(&rs, "db")), "postgres:16");
        let messages = messages(&b);
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert_eq!(messages[0], "a JSON 6902 patch needs a `target`");
        assert!(messages[1].starts_with("target name `(`"), "{messages:?}");
    }

    #[test]
    fn namespace_is_set_on_namespaced_resources_only() {
        let mut rs = resources(RESOURCES);
        namespace(&kustomization("namePrefix: x-\n"), &mut rs);
        assert!(rs.iter().all(|r| r.obj.str_at(&["metadata", "namespace"]).is_none()));
        namespace(&kustomization("namespace: prod\n"), &mut rs);
        let web = find(&rs, "web");
        assert_eq!(web.obj.str_at(&["metadata", "namespace"]), Some("prod"));
        assert_eq!(web.namespaces, [None, Some("prod".to_string())]);
        // Patches may still name it by its namespace before and after.
        assert!(web.known_as("web", None) && web.known_as("web", Some("prod")));
        assert_eq!(find(&rs, "db").obj.str_at(&["metadata", "namespace"]), Some("prod"));
        let team = find(&rs, "team");
        assert_eq!(team.obj.str_at(&["metadata", "namespace"]), None);
        assert_eq!(team.namespaces.len(), 1);
    }

    #[test]
    fn name_prefix_and_suffix_rename_all_but_namespaces_and_crds() {
        let crd = "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: things.example.com\n";
        let mut rs = resources(&format!("{RESOURCES}{crd}"));
        name_prefix_suffix(&kustomization("namePrefix: a-\nnameSuffix: -z\n"), &mut rs);
        let names: Vec<&str> = rs.iter().map(Resource::name).collect();
        assert_eq!(names, ["a-web-z", "a-db-z", "team", "things.example.com"]);
        let web = &rs[0];
        assert_eq!(web.obj.str_at(&["metadata", "name"]), Some("a-web-z"));
        // One rename, the original name kept for patches.
        assert_eq!(web.names().collect::<Vec<_>>(), ["web", "a-web-z"]);
        assert_eq!(rs[2].names().collect::<Vec<_>>(), ["team"]);
        name_prefix_suffix(&kustomization("nameSuffix: -2\n"), &mut rs);
        assert_eq!(rs[1].name(), "a-db-z-2");
        name_prefix_suffix(&kustomization("namespace: x\n"), &mut rs);
        assert_eq!(rs[1].names().collect::<Vec<_>>(), ["db", "a-db-z", "a-db-z-2"]);
    }

    #[test]
    fn labels_and_common_labels_go_into_metadata_labels() {
        let bare = "---\napiVersion: v1\nkind: Pod\nspec: {}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: odd\n  labels: text\n";
        let mut rs = resources(&format!("{RESOURCES}{bare}"));
        let k = kustomization(
            "commonLabels:\n  app: shop\nlabels:\n  - pairs:\n      team: a\n  - pairs:\n      tier: front\n",
        );
        labels(&k, &mut rs);
        let want = [("app", "shop"), ("team", "a"), ("tier", "front")];
        assert_eq!(find(&rs, "web").obj.metadata_pairs("labels"), want);
        // An existing label is overwritten in place.
        assert_eq!(
            find(&rs, "db").obj.metadata_pairs("labels"),
            [("tier", "front"), ("app", "shop"), ("team", "a")]
        );
        assert_eq!(find(&rs, "odd").obj.metadata_pairs("labels"), want);
        // Without metadata, nothing is added.
        assert!(rs[3].obj.get("metadata").is_none());
        assert!(find(&rs, "web").obj.metadata_pairs("annotations").is_empty());
    }

    #[test]
    fn common_annotations_go_into_metadata_annotations() {
        let mut rs = resources(RESOURCES);
        common_annotations(&kustomization("commonLabels:\n  app: shop\n"), &mut rs);
        assert!(rs.iter().all(|r| r.obj.get("metadata").and_then(|m| m.get("annotations")).is_none()));
        common_annotations(&kustomization("commonAnnotations:\n  owner: me\n  n: 1\n"), &mut rs);
        for r in &rs {
            assert_eq!(r.obj.metadata_pairs("annotations"), [("owner", "me"), ("n", "1")], "{}", r.name());
        }
        assert_eq!(find(&rs, "web").obj.metadata_pairs("labels"), []);
        assert_eq!(find(&rs, "db").obj.metadata_pairs("labels"), [("tier", "db")]);
    }

    #[test]
    fn patches_json6902_need_a_target_and_change_what_it_selects() {
        let ops = "- op: add\n  path: /spec/containers/0/imagePullPolicy\n  value: IfNotPresent\n";
        let fs = fs(&[("k/ops.yaml", ops)]);
        let known = HashMap::new();
        let mut b = Builder::new(&fs, &known);
        let k = kustomization(
            "patchesJson6902:
  - target:
      kind: Pod
      name: db
    path: ops.yaml
  - path: ops.yaml
  - target:
      kind: Pod
    patch: |-
      - op: replace
        path: /spec/containers/5/image
        value: x
",
        );
        let mut rs = resources(RESOURCES);
        b.patches_json6902(&k, Path::new("k"), &mut rs);
        let policy = |name| container(find(&rs, name), "imagePullPolicy").and_then(Val::as_str);
        assert_eq!(policy("db"), Some("IfNotPresent"));
        assert_eq!(policy("web"), None);
        let failed = "JSON 6902 replace /spec/containers/5/image: the path does not exist";
        // The failing operation is reported for each resource it was applied to.
        assert_eq!(messages(&b), ["a JSON 6902 patch needs a `target`", failed, failed]);
    }

    #[test]
    fn images_rewrite_the_container_images_they_name() {
        let mut rs = resources(RESOURCES);
        let k = kustomization(
            "images:\n  - name: nginx\n    newName: mirror/nginx\n    newTag: \"2\"\n  - newTag: \"9\"\n  - name: redis\n    newTag: \"7\"\n",
        );
        let fs = fs(&[]);
        let known = HashMap::new();
        let mut b = Builder::new(&fs, &known);
        b.images(&k, Path::new("k"), &mut rs, &ImageFieldSpecs::builtin());
        assert!(b.issues.is_empty(), "{:?}", messages(&b));
        let web = find(&rs, "web");
        assert_eq!(image(web), "mirror/nginx:2");
        let changes = &container(web, "image").unwrap().changes;
        let what: Vec<&str> = changes.iter().map(|c| c.what.as_str()).collect();
        assert_eq!(what, ["images newName", "images newTag"]);
        assert_eq!(changes[1].pos.location().file, "k/kustomization.yaml");
        assert_eq!(changes[1].pos.location().line, 4);
        let db = find(&rs, "db");
        assert_eq!(image(db), "postgres:15");
        assert!(container(db, "image").unwrap().changes.is_empty());
    }

    #[test]
    fn replacements_are_read_inline_and_from_files() {
        let file = "- source:\n    kind: ConfigMap\n    fieldPath: data.db\n  targets:\n    - select:\n        name: db\n      fieldPaths:\n        - spec.containers.0.image\n";
        let fs = fs(&[("k/replacements.yaml", file)]);
        let known = HashMap::new();
        let mut b = Builder::new(&fs, &known);
        let versions = "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: versions\ndata:\n  web: nginx:7\n  db: postgres:16\n";
        let mut rs = resources(&format!("{RESOURCES}{versions}"));
        let k = kustomization(
            "replacements:
  - source:
      kind: ConfigMap
      name: versions
      fieldPath: data.web
    targets:
      - select:
          kind: Pod
          name: web
        fieldPaths:
          - spec.containers.[name=app].image
  - path: replacements.yaml
  - source:
      kind: Secret
    targets: []
",
        );
        b.replacements(&k, Path::new("k"), &mut rs);
        let web = find(&rs, "web");
        assert_eq!(image(web), "nginx:7");
        let what: Vec<&str> =
            container(web, "image").unwrap().changes.iter().map(|c| c.what.as_str()).collect();
        assert_eq!(what, ["replacements", "value from ConfigMap/versions data.web"]);
        assert_eq!(image(find(&rs, "db")), "postgres:16");
        assert!(b.reached.contains(Path::new("k/replacements.yaml")));
        assert_eq!(messages(&b), ["replacement: replacement source selects no resource"]);
    }

    /// Patches run before labels exist, JSON 6902 patches after them; replacements see the
    /// renamed resources and the fields the patches added.
    #[test]
    fn transform_runs_the_transformers_in_kustomize_order() {
        let fs = fs(&[]);
        let known = HashMap::new();
        let mut b = Builder::new(&fs, &known);
        let k = kustomization(
            "namePrefix: p-
commonLabels:
  team: a
patches:
  - target:
      kind: Pod
      labelSelector: team=a
    patch: |-
      - op: add
        path: /spec/nodeName
        value: n1
patchesJson6902:
  - target:
      kind: Pod
      labelSelector: team=a
    patch: |-
      - op: add
        path: /spec/hostname
        value: h1
replacements:
  - source:
      kind: Pod
      name: web
      fieldPath: metadata.name
    targets:
      - select:
          name: db
        fieldPaths:
          - spec.hostname
",
        );
        let mut rs = resources(RESOURCES);
        b.transform(&k, Path::new("k"), &mut rs, &ImageFieldSpecs::builtin());
        assert!(b.issues.is_empty(), "{:?}", messages(&b));
        let spec = |name: &str, field: &str| find(&rs, name).obj.get("spec")?.get(field)?.as_str();
        assert_eq!(spec("p-web", "nodeName"), None);
        assert_eq!(spec("p-db", "nodeName"), None);
        assert_eq!(spec("p-web", "hostname"), Some("h1"));
        assert_eq!(spec("p-db", "hostname"), Some("p-web"));
    }
}

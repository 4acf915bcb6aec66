//! Kubernetes manifests: the objects of a (multi-document) YAML file and the images their
//! pods run (DOMAIN.md §3).
//!
//! A document is a Kubernetes object only if it has both `apiVersion` and `kind`. Images
//! come from `containers`, `initContainers` and `ephemeralContainers` of a Pod's `spec` and
//! of every pod template (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
//! ReplicationController, PodTemplate, CronJob), and from the `items` of any `*List`.
//! Other kinds (CRDs included) yield an object and no reference, but for the configured
//! extra field paths (`image-fields`). The pod-spec walk and the configured fields are those of
//! [`podspec`](crate::source::podspec), shared with the kustomize build; this file reads a
//! document's objects and turns its nodes into references.

use crate::reference::{ObjectRef, Origin, PullPolicy, RefKind, Reference};
use crate::source::podspec::{self, Reader};
use crate::text::fieldpath::FieldPath;
use crate::text::location::Location;
use crate::text::tree::Val;
use crate::text::yaml;
use crate::text::yaml::{Document, DocumentError, Node, Value};
use crate::text::{Problem, SourceText};
use std::sync::Arc;

/// What one manifest file holds.
#[derive(Debug, Default)]
pub struct Manifests {
    pub references: Vec<Reference>,
    pub objects: Vec<K8sObject>,
    pub problems: Vec<Problem>,
    /// The documents as kustomize values, when asked for and every document parsed (see
    /// [`parse_keeping_documents`]).
    pub documents: Option<Vec<Val>>,
}

/// One Kubernetes object (a `*List` and each of its items are objects).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct K8sObject {
    pub api_version: String,
    pub kind: String,
    /// `metadata.name` (or `metadata.generateName`), when present.
    pub name: Option<String>,
    pub namespace: Option<String>,
    /// The start of the object's mapping.
    pub location: Location,
    /// Index of the YAML document in the file, from 0.
    pub document: usize,
    /// `metadata.labels` and `metadata.annotations` with scalar values, in file order.
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
}

impl K8sObject {
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef {
            kind: self.kind.clone(),
            name: self.name.clone().unwrap_or_default(),
            namespace: self.namespace.clone(),
        }
    }
}

/// Whether a `.json` file is a Kubernetes manifest, as `kubectl apply -f` takes one: valid JSON
/// whose top level is an object with string `apiVersion` and `kind`. Other JSON files
/// (`package.json`, image configs, ...) are not manifests, and are ignored without a finding.
/// The file is then read by the YAML layer like any manifest (JSON is YAML's flow style), which
/// keeps the positions of its values.
pub fn is_json_manifest(text: &str) -> bool {
    struct Head;
    impl<'de> serde::de::Visitor<'de> for Head {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let (mut api_version, mut kind) = (false, false);
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                match key.as_ref() {
                    // A repeated key: the last value is the one kubectl reads.
                    "apiVersion" => api_version = map.next_value::<serde_json::Value>()?.is_string(),
                    "kind" => kind = map.next_value::<serde_json::Value>()?.is_string(),
                    _ => {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
            }
            Ok(api_version && kind)
        }
    }
    struct Object;
    impl<'de> serde::Deserialize<'de> for Object {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            if d.deserialize_map(Head)? {
                Ok(Object)
            } else {
                Err(serde::de::Error::custom("not a manifest"))
            }
        }
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    serde_json::from_str::<Object>(text).is_ok()
}

/// Whether `path` names a JSON file (its extension, in any case).
pub fn is_json_file(path: &std::path::Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// Parse every document of a manifest file. Never panics on input; what could not be read
/// is in `problems`, and the other documents are still read.
pub fn parse(src: &SourceText) -> Manifests {
    parse_with_fields(src, &[])
}

/// [`parse`], plus the images at the configured extra field paths (`image-fields`) of every
/// object, e.g. operator images passed in `env` values.
impl Manifests {
    /// Give back the spare capacity of the growing vectors: a program keeps a file's
    /// references and objects until the end, and a large file leaves up to half of each vector
    /// unused.
    fn shrink(&mut self) {
        self.references.shrink_to_fit();
        self.objects.shrink_to_fit();
    }
}

pub fn parse_with_fields(src: &SourceText, fields: &[FieldPath]) -> Manifests {
    let mut out = Manifests::default();
    yaml::for_each_result(src, |result| match result {
        Ok(doc) => {
            read_document(src, &doc, &mut out);
            read_extra_fields(src, &doc.root, fields, &mut out);
        }
        Err(err) => read_broken_document(src, err, &mut out),
    });
    out.shrink();
    out
}

/// [`parse_with_fields`], also keeping every document as the value a kustomization reading
/// this file builds from, so that the file is parsed once (`documents` is `None` when a
/// document could not be parsed: the kustomize build then parses it itself, and reports it).
pub fn parse_keeping_documents(src: &Arc<SourceText>, fields: &[FieldPath]) -> Manifests {
    let mut out = Manifests::default();
    let mut documents = Some(Vec::new());
    yaml::for_each_result(src, |result| match result {
        Ok(doc) => {
            read_document(src, &doc, &mut out);
            read_extra_fields(src, &doc.root, fields, &mut out);
            if let Some(d) = documents.as_mut() {
                d.push(Val::from_node(&doc.root, src));
            }
        }
        Err(err) => {
            documents = None;
            read_broken_document(src, err, &mut out);
        }
    });
    out.documents = documents;
    out.shrink();
    out
}

fn read_extra_fields(src: &SourceText, root: &Node, fields: &[FieldPath], out: &mut Manifests) {
    let text = src.text.as_str();
    let (Some(kind), Some(_)) = (root.get("kind").and_then(|n| n.scalar_text(text)), root.get("apiVersion"))
    else {
        return;
    };
    let metadata = root.get("metadata");
    let meta = |key: &str| {
        metadata.and_then(|m| m.get(key)).and_then(|n| n.scalar_text(text)).map(|s| s.into_owned())
    };
    let object = ObjectRef {
        kind: kind.into_owned(),
        name: meta("name").unwrap_or_default(),
        namespace: meta("namespace"),
    };
    podspec::read_configured_fields(root, fields, &object, &mut ManifestReader { src, out });
}

fn read_document(src: &SourceText, doc: &Document, out: &mut Manifests) {
    read_object(src, &doc.root, doc.index, out);
}

/// Read `node` as an object if it has `apiVersion` and `kind`; recurse into `*List` items.
fn read_object(src: &SourceText, node: &Node, document: usize, out: &mut Manifests) {
    let text = src.text.as_str();
    let (Some(api_version), Some(kind)) = (
        node.get("apiVersion").and_then(|n| n.scalar_text(text)),
        node.get("kind").and_then(|n| n.scalar_text(text)),
    ) else {
        return;
    };
    let (api_version, kind) = (api_version.into_owned(), kind.into_owned());
    let metadata = node.get("metadata");
    let meta_text = |key: &str| {
        metadata.and_then(|m| m.get(key)).and_then(|n| n.scalar_text(text)).map(|s| s.into_owned())
    };
    let object = K8sObject {
        name: meta_text("name").or_else(|| meta_text("generateName")),
        namespace: meta_text("namespace"),
        location: src.location(node.span.clone()),
        document,
        labels: string_map(metadata.and_then(|m| m.get("labels")), text),
        annotations: string_map(metadata.and_then(|m| m.get("annotations")), text),
        api_version,
        kind,
    };
    let object_ref = object.object_ref();
    podspec::read_workload(
        node,
        &object.api_version,
        &object.kind,
        &object_ref,
        &mut ManifestReader { src, out },
    );
    let is_list = object.kind.ends_with("List");
    out.objects.push(object);

    if is_list && let Some(items) = node.get("items").and_then(Node::as_seq) {
        for item in items {
            read_object(src, item, document, out);
        }
    }
}

/// The pod-spec walk's view of a manifest: values as written at their spans, template markup
/// left unresolved, and what is malformed a problem.
struct ManifestReader<'a> {
    src: &'a SourceText,
    out: &'a mut Manifests,
}

impl Reader<Node> for ManifestReader<'_> {
    fn image(&mut self, image: &Node, origin: Origin, _container: Option<&Node>) -> Option<Reference> {
        image_reference(self.src, image, origin, self.out)
    }

    fn pull_policy(&mut self, policy: &Node, _container: &Node) -> Option<PullPolicy> {
        let value = policy.scalar_text(&self.src.text)?.into_owned();
        Some(PullPolicy { value, location: self.src.location(policy.span.clone()) })
    }

    fn text(&self, value: &Node) -> Option<String> {
        value.scalar_text(&self.src.text).map(|s| s.into_owned())
    }

    fn malformed(&mut self, node: &Node, message: &dyn Fn(&str) -> String) {
        if !is_template(self.src, node) {
            problem(self.src, node, message(node.value.type_name()), self.out);
        }
    }

    fn found(&mut self, reference: Reference) {
        self.out.references.push(reference.resolve());
    }
}

/// A runtime reference for an image node: a string as written, a number or boolean as its
/// source text, template markup (`{{ ... }}` read as a flow mapping) as its raw text (left
/// for `resolve` to mark unresolved). Null gives nothing; other collections a problem.
/// The reference is not resolved yet.
fn image_reference(src: &SourceText, image: &Node, origin: Origin, out: &mut Manifests) -> Option<Reference> {
    let text = src.text.as_str();
    let written = match &image.value {
        Value::Null => return None,
        Value::String(_) | Value::Number(_) | Value::Bool(_) => image.scalar_text(text)?.into_owned(),
        _ if is_template(src, image) => {
            let start = image.span.start;
            let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
            text[start..line_end].trim_end().to_string()
        }
        other => {
            problem(src, image, format!("`image` is a {}, not a string", other.type_name()), out);
            return None;
        }
    };
    let location = src.location(image.span.clone());
    Some(Reference::new(RefKind::Runtime, origin, written, location))
}

/// Every scalar at `path` under `root` (see [`Node::at_path`]) as a resolved runtime
/// reference with the given origin; a non-scalar at the path is a problem. The building
/// block for configurable extra field paths (CRDs, env values).
pub fn images_at_path(
    src: &SourceText,
    root: &Node,
    path: &str,
    origin: Origin,
    object: Option<&ObjectRef>,
    out: &mut Manifests,
) {
    for node in root.at_path(path) {
        if let Some(mut reference) = image_reference(src, node, origin, out) {
            reference.object = object.cloned();
            out.references.push(reference.resolve());
        }
    }
}

/// Helm-style markup read by YAML as a flow collection: `image: {{ .Values.image }}`.
fn is_template(src: &SourceText, node: &Node) -> bool {
    src.text.get(node.span.start..).is_some_and(|rest| rest.starts_with("{{"))
}

fn string_map(node: Option<&Node>, text: &str) -> Vec<(String, String)> {
    let Some(entries) = node.and_then(Node::as_map) else { return Vec::new() };
    entries
        .iter()
        .filter_map(|(k, v)| Some((k.scalar_text(text)?.into_owned(), v.scalar_text(text)?.into_owned())))
        .collect()
}

fn problem(src: &SourceText, node: &Node, message: String, out: &mut Manifests) {
    out.problems.push(Problem { message, location: src.location(node.span.start..node.span.start) });
}

/// A document that is not YAML. When it carries template markup (a Helm template), the
/// `image:` lines are still located and reported (unresolved when they hold markup); the
/// document stays a problem either way.
fn read_broken_document(src: &SourceText, err: DocumentError, out: &mut Manifests) {
    let text = &src.text[err.span.clone()];
    let mut problem = err.problem;
    if text.contains("{{") {
        let before = out.references.len();
        let mut offset = err.span.start;
        for line in text.split_inclusive('\n') {
            if let Some(start) = template_image_value(line) {
                let value = line[start..].trim_end();
                let value_start = offset + start;
                let (value, value_start) = match value.chars().next() {
                    Some(q @ ('"' | '\'')) if value.len() >= 2 && value.ends_with(q) => {
                        (&value[1..value.len() - 1], value_start + 1)
                    }
                    _ => (value, value_start),
                };
                let location = src.location(value_start..value_start + value.len());
                let reference =
                    Reference::new(RefKind::Runtime, Origin::KubernetesContainer, value, location);
                out.references.push(reference.resolve());
            }
            offset += line.len();
        }
        let found = out.references.len() - before;
        problem.message = format!(
            "{} (template markup; {found} `image:` line(s) reported without their object)",
            problem.message
        );
    }
    out.problems.push(problem);
}

/// In a line `  - image: VALUE` or `  image: VALUE`, the byte offset of VALUE. A trailing
/// comment is not removed (template lines rarely have one).
fn template_image_value(line: &str) -> Option<usize> {
    let trimmed = line.trim_start_matches([' ', '\t']);
    let trimmed = trimmed.strip_prefix("- ").map_or(trimmed, |t| t.trim_start_matches([' ', '\t']));
    let rest = trimmed.strip_prefix("image:")?;
    let value = rest.trim_start_matches([' ', '\t']);
    if value.trim_end().is_empty() || !rest.starts_with([' ', '\t']) {
        return None;
    }
    Some(line.len() - value.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::Status;

    fn parse_str(text: &str) -> Manifests {
        parse(&SourceText::from_str("m.yaml", text))
    }

    #[test]
    fn a_json_file_is_a_manifest_when_its_object_has_api_version_and_kind() {
        let yes = [
            r#"{"apiVersion": "v1", "kind": "Pod"}"#,
            "\u{feff}{\"kind\": \"Pod\", \"apiVersion\": \"v1\", \"spec\": {\"x\": [1, null, true]}}",
            // The last of a repeated key is the one read.
            r#"{"apiVersion": 1, "kind": "Pod", "apiVersion": "v1"}"#,
            r#"{"apiVersion":"v1","kind":"List","items":[]}"#,
        ];
        for text in yes {
            assert!(is_json_manifest(text), "{text}");
        }
        let no = [
            r#"{"name": "dashboard", "dependencies": {"kind": "^1"}}"#,
            r#"{"apiVersion": "v1"}"#,
            r#"{"apiVersion": "v1", "kind": 3}"#,
            r#"[{"apiVersion": "v1", "kind": "Pod"}]"#,
            r#"{"apiVersion": "v1", "kind": "Pod""#,
            r#"{"apiVersion": "v1", "kind": "Pod"} {"apiVersion": "v1", "kind": "Pod"}"#,
            "apiVersion: v1\nkind: Pod\n",
            "",
        ];
        for text in no {
            assert!(!is_json_manifest(text), "{text}");
        }
    }

    /// JSON is read by the YAML layer: tabs, escapes and multi-byte text before the image keep
    /// the positions right (the column counts code points and starts after the quote).
    #[test]
    fn json_manifests_keep_the_positions_of_their_images() {
        let text = "{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"Pod\",\n\t\"metadata\": {\"name\": \"\u{e9}t\u{e9}\", \"annotations\": {\"a\": \"\\u00e9\\/\"}},\n\t\"spec\": {\"containers\": [\n\t\t{\"name\": \"a\", \"image\": \"q.io\\/a:1\"},\n\t\t{\"name\": \"\u{e9}\", \"image\": \"q.io/b:2\"}\n\t]}\n}\n";
        let m = parse(&SourceText::from_str("m.json", text));
        assert!(m.problems.is_empty(), "{:?}", m.problems);
        let got: Vec<(&str, u32, u32)> =
            m.references.iter().map(|r| (r.image.as_str(), r.location.line, r.location.column)).collect();
        assert_eq!(got, [("q.io/a:1", 6, 27), ("q.io/b:2", 7, 27)]);
    }

    /// (image, line, column, origin, within) of every reference.
    fn refs(m: &Manifests) -> Vec<(&str, u32, u32, Origin, Option<&str>)> {
        m.references
            .iter()
            .map(|r| (r.image.as_str(), r.location.line, r.location.column, r.origin, r.within.as_deref()))
            .collect()
    }

    const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels:
    app: web
spec:
  template:
    spec:
      initContainers:
      - name: migrate
        image: \"registry.example.com:5000/shop/migrate:1.2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"
      containers:
      - name: app
        image: quay.io/shop/web:1.20
        imagePullPolicy: Always
      - name: sidecar
        image: 'nginx'
";

    #[test]
    fn deployment_images_with_exact_positions() {
        let m = parse_str(DEPLOYMENT);
        assert!(m.problems.is_empty(), "{:?}", m.problems);
        assert_eq!(
            refs(&m),
            [
                (
                    "registry.example.com:5000/shop/migrate:1.2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                    13,
                    17,
                    Origin::KubernetesInitContainer,
                    Some("migrate")
                ),
                ("quay.io/shop/web:1.20", 16, 16, Origin::KubernetesContainer, Some("app")),
                ("nginx", 19, 17, Origin::KubernetesContainer, Some("sidecar")),
            ]
        );
        let app = &m.references[1];
        assert_eq!(app.kind, RefKind::Runtime);
        assert_eq!(app.status, Status::Resolved);
        assert_eq!(app.location.file, "m.yaml");
        let object = app.object.as_ref().unwrap();
        assert_eq!((object.kind.as_str(), object.name.as_str()), ("Deployment", "web"));
        assert_eq!(object.namespace.as_deref(), Some("shop"));
        let policy = app.pull_policy.as_ref().unwrap();
        assert_eq!((policy.value.as_str(), policy.location.line, policy.location.column), ("Always", 17, 26));
        assert!(m.references[0].pull_policy.is_none());
        assert_eq!(m.objects.len(), 1);
        let o = &m.objects[0];
        assert_eq!((o.api_version.as_str(), o.kind.as_str()), ("apps/v1", "Deployment"));
        assert_eq!((o.location.line, o.location.column, o.document), (1, 1, 0));
        assert_eq!(o.labels, [("app".to_string(), "web".to_string())]);
    }

    #[test]
    fn cronjob_pod_ephemeral_and_other_workloads() {
        let text = "\
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: '0 0 * * *'
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: job
            image: busybox:1.36
---
apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers: [{name: main, image: \"alpine:3\"}]
  ephemeralContainers:
  - name: dbg
    image: busybox
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec: {template: {spec: {containers: [{name: pg, image: 'postgres:16'}]}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ds}
spec: {template: {spec: {containers: [{name: a, image: ds:1}]}}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs}
spec: {template: {spec: {containers: [{name: a, image: rs:1}]}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec: {template: {spec: {containers: [{name: a, image: job:1}]}}}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: rc}
spec: {template: {spec: {containers: [{name: a, image: rc:1}]}}}
";
        let m = parse_str(text);
        assert!(m.problems.is_empty(), "{:?}", m.problems);
        assert_eq!(
            refs(&m),
            [
                ("busybox:1.36", 12, 20, Origin::KubernetesContainer, Some("job")),
                ("alpine:3", 19, 37, Origin::KubernetesContainer, Some("main")),
                ("busybox", 22, 12, Origin::KubernetesEphemeralContainer, Some("dbg")),
                ("postgres:16", 27, 58, Origin::KubernetesContainer, Some("pg")),
                ("ds:1", 32, 56, Origin::KubernetesContainer, Some("a")),
                ("rs:1", 37, 56, Origin::KubernetesContainer, Some("a")),
                ("job:1", 42, 56, Origin::KubernetesContainer, Some("a")),
                ("rc:1", 47, 56, Origin::KubernetesContainer, Some("a")),
            ]
        );
        let kinds: Vec<_> = m.references.iter().map(|r| r.object.as_ref().unwrap().kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "CronJob",
                "Pod",
                "Pod",
                "StatefulSet",
                "DaemonSet",
                "ReplicaSet",
                "Job",
                "ReplicationController"
            ]
        );
        assert_eq!(m.references[0].object.as_ref().unwrap().name, "nightly");
        assert_eq!(m.objects.iter().map(|o| o.document).collect::<Vec<_>>(), [0, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn list_items_recursively() {
        let text = "\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: p1}
  spec:
    containers:
    - {name: c, image: one:1}
- apiVersion: apps/v1
  kind: DeploymentList
  items:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: d1, namespace: ns}
    spec:
      template:
        spec:
          containers:
          - name: c
            image: two:2
- kind: Pod
  spec: {containers: [{name: x, image: ignored}]}
";
        let m = parse_str(text);
        assert!(m.problems.is_empty(), "{:?}", m.problems);
        assert_eq!(
            refs(&m),
            [
                ("one:1", 9, 24, Origin::KubernetesContainer, Some("c")),
                ("two:2", 21, 20, Origin::KubernetesContainer, Some("c")),
            ]
        );
        assert_eq!(m.references[1].object.as_ref().unwrap().namespace.as_deref(), Some("ns"));
        let kinds: Vec<_> = m.objects.iter().map(|o| o.kind.as_str()).collect();
        assert_eq!(kinds, ["List", "Pod", "DeploymentList", "Deployment"]);
        assert_eq!((m.objects[1].location.line, m.objects[1].location.column), (4, 3));
    }

    #[test]
    fn broken_middle_document_leaves_the_others() {
        let text = "\
apiVersion: v1
kind: Pod
metadata: {name: a}
spec: {containers: [{name: a, image: first}]}
---
apiVersion: v1
kind: Pod
spec:
  containers: [
---
apiVersion: v1
kind: Pod
metadata: {name: c}
spec: {containers: [{name: c, image: third}]}
";
        let m = parse_str(text);
        assert_eq!(refs(&m).iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(), [("first", 4), ("third", 14)]);
        assert_eq!(m.problems.len(), 1);
        let p = &m.problems[0];
        assert_eq!((p.location.line, p.location.column), (9, 15), "{p:?}");
        assert_eq!(m.objects.iter().map(|o| o.document).collect::<Vec<_>>(), [0, 2]);
    }

    #[test]
    fn documents_without_api_version_or_kind_are_ignored() {
        let text = "\
kind: Pod
spec: {containers: [{name: a, image: no-api-version}]}
---
apiVersion: v1
spec: {containers: [{name: a, image: no-kind}]}
---
just: config
---
- a list
";
        let m = parse_str(text);
        assert!(m.references.is_empty() && m.objects.is_empty() && m.problems.is_empty(), "{m:?}");
    }

    #[test]
    fn unknown_kinds_and_crds_give_objects_but_no_references() {
        let text = "\
apiVersion: example.com/v1
kind: Deployment
spec: {template: {spec: {containers: [{name: a, image: not-ours}]}}}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: x.example.com}
spec: {image: {type: string}}
---
apiVersion: v1
kind: ConfigMap
data: {image: quay.io/x/y:1}
";
        let m = parse_str(text);
        assert!(m.references.is_empty() && m.problems.is_empty(), "{m:?}");
        assert_eq!(m.objects.len(), 3);
    }

    #[test]
    fn non_string_image_is_a_problem_and_scalars_keep_their_text() {
        let text = "\
apiVersion: v1
kind: Pod
spec:
  containers:
  - name: bad
    image: {name: x}
  - name: num
    image: 1.20
  - name: none
    image:
  - name: list
    image: [a]
  initContainers: notalist
";
        let m = parse_str(text);
        assert_eq!(refs(&m), [("1.20", 8, 12, Origin::KubernetesContainer, Some("num"))]);
        let problems: Vec<_> =
            m.problems.iter().map(|p| (p.message.as_str(), p.location.line, p.location.column)).collect();
        assert_eq!(
            problems,
            [
                ("`image` is a mapping, not a string", 6, 12),
                ("`image` is a sequence, not a string", 12, 12),
                ("`initContainers` is a string, not a list", 13, 19),
            ]
        );
    }

    #[test]
    fn helm_markup_is_unresolved_never_a_crash() {
        let text = "\
apiVersion: v1
kind: Pod
metadata: {name: t}
spec:
  containers:
  - name: a
    image: {{ .Values.image }}
  - name: b
    image: \"{{ .Values.repo }}:{{ .Values.tag }}\"
  - name: c
    image: ${IMAGE}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include \"x.fullname\" . }}
spec:
  template:
    spec:
      containers:
      - name: app
        image: {{ .Values.repo }}:{{ .Values.tag }}
        {{- with .Values.pullPolicy }}
        imagePullPolicy: {{ . }}
        {{- end }}
      - name: fixed
        image: \"quay.io/x/fixed:1\"
";
        let m = parse_str(text);
        assert_eq!(
            refs(&m),
            [
                ("{{ .Values.image }}", 7, 12, Origin::KubernetesContainer, Some("a")),
                ("{{ .Values.repo }}:{{ .Values.tag }}", 9, 13, Origin::KubernetesContainer, Some("b")),
                ("${IMAGE}", 11, 12, Origin::KubernetesContainer, Some("c")),
                ("{{ .Values.repo }}:{{ .Values.tag }}", 22, 16, Origin::KubernetesContainer, None),
                ("quay.io/x/fixed:1", 27, 17, Origin::KubernetesContainer, None),
            ]
        );
        for r in &m.references[..4] {
            assert!(matches!(r.status, Status::Unresolved { .. }), "{r:?}");
        }
        assert_eq!(m.references[4].status, Status::Resolved);
        assert_eq!(m.problems.len(), 1, "{:?}", m.problems);
        assert!(m.problems[0].message.contains("template markup"), "{}", m.problems[0].message);
    }

    #[test]
    fn generic_path_helper() {
        let text = "\
apiVersion: example.com/v1
kind: Thing
spec:
  workers:
  - image: a:1
  - image: 'b:2'
";
        let src = SourceText::from_str("m.yaml", text);
        let (docs, _) = yaml::parse_documents(&src);
        let mut out = Manifests::default();
        images_at_path(
            &src,
            &docs[0].root,
            "spec.workers[].image",
            Origin::KubernetesContainer,
            None,
            &mut out,
        );
        assert_eq!(
            refs(&out),
            [
                ("a:1", 5, 12, Origin::KubernetesContainer, None),
                ("b:2", 6, 13, Origin::KubernetesContainer, None)
            ]
        );
    }

    #[test]
    fn alias_bomb_and_deep_nesting_in_a_manifest_are_problems() {
        let mut text = String::from("apiVersion: v1\nkind: Pod\nspec:\n  a: &a [x,x,x,x,x,x,x,x,x,x]\n");
        for (i, c) in "bcdefghij".chars().enumerate() {
            let p = (b'a' + i as u8) as char;
            text.push_str(&format!("  {c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"));
        }
        text.push_str("---\n");
        text.push_str(&"[".repeat(100_000));
        text.push_str("\n---\n");
        text.push_str(&"- ".repeat(100_000));
        text.push_str(
            "\n---\napiVersion: v1\nkind: Pod\nspec: {containers: [{name: ok, image: survivor}]}\n",
        );
        let m = parse_str(&text);
        assert_eq!(m.problems.len(), 3, "{:?}", m.problems);
        assert_eq!(refs(&m).iter().map(|r| r.0).collect::<Vec<_>>(), ["survivor"]);
    }

    /// ~50 MB: 100,000 small Deployments. Slow in a debug build; run with
    /// `cargo test --release --lib manifest::tests::large_stream -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn large_stream() {
        let n = 100_000;
        let text = generated_stream(n);
        let t0 = std::time::Instant::now();
        let m = parse_str(&text);
        eprintln!("{} bytes, {} documents in {:?}", text.len(), n, t0.elapsed());
        assert!(m.problems.is_empty());
        assert_eq!(m.references.len(), 2 * n);
        assert_eq!(m.objects.len(), n);
        let last = &m.references[2 * n - 1];
        assert_eq!(last.image, format!("registry.example.com:5000/team/sidecar-{}:1.0", n - 1));
    }

    /// The same stream through the YAML layer alone (no facts kept): shows that parsing
    /// holds one document at a time. Run like `large_stream`.
    #[test]
    #[ignore]
    fn large_stream_yaml_only() {
        let n = 100_000;
        let src = SourceText::new("m.yaml", "m.yaml", generated_stream(n));
        let t0 = std::time::Instant::now();
        let mut count = 0;
        let problems = yaml::for_each_document(&src, |_| count += 1);
        eprintln!("{} bytes, {count} documents parsed in {:?}", src.text.len(), t0.elapsed());
        assert!(problems.is_empty());
        assert_eq!(count, n);
    }

    #[test]
    fn small_generated_stream() {
        let text = generated_stream(200);
        let m = parse_str(&text);
        assert!(m.problems.is_empty());
        assert_eq!(m.references.len(), 400);
        let lines_per_doc = text.lines().count() / 200;
        assert_eq!(
            m.references[2].location.line as usize,
            lines_per_doc + m.references[0].location.line as usize
        );
    }

    pub(crate) fn generated_stream(n: usize) -> String {
        let mut text = String::with_capacity(n * 520);
        for i in 0..n {
            text.push_str(&format!(
                "---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  namespace: team-{ns}
  labels:
    app.kubernetes.io/name: app-{i}
    app.kubernetes.io/part-of: generated
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: app-{i}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: app-{i}
    spec:
      containers:
      - name: app
        image: quay.io/team/app-{i}@sha256:{i:064x}
        imagePullPolicy: IfNotPresent
        ports:
        - containerPort: 8080
      - name: sidecar
        image: \"registry.example.com:5000/team/sidecar-{i}:1.0\"
",
                ns = i % 10
            ));
        }
        text
    }
}

//! The pod-spec walk, once for both trees that hold Kubernetes objects: the documents of a
//! manifest file ([`Node`](crate::text::yaml::Node)) and the resources a kustomize build
//! yields ([`Val`](crate::text::tree::Val)).
//!
//! What is walked is the same for both: the pod spec of the built-in workload kinds
//! ([`pod_spec_path`]), its `containers`, `initContainers` and `ephemeralContainers` in written
//! order ([`CONTAINER_FIELDS`]), and the configured `image-fields` of any object. How a value
//! becomes a reference differs (a manifest has spans and template markup and reports what is
//! malformed; a build has the kustomization entries that changed a value), so each tree brings
//! a [`Reader`].

use crate::reference::{ObjectRef, Origin, PullPolicy, Reference};
use crate::text::fieldpath::{FieldPath, YamlTree};

/// Where the pod spec of a kind lives, for the built-in workload kinds only (a CRD that
/// reuses a name in another API group is not guessed at).
pub fn pod_spec_path(api_version: &str, kind: &str) -> Option<&'static str> {
    let group = api_version.split_once('/').map_or("", |(group, _)| group);
    match (group, kind) {
        ("", "Pod") => Some("spec"),
        ("", "PodTemplate") => Some("template.spec"),
        ("", "ReplicationController")
        | ("apps" | "extensions", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("batch", "Job") => Some("spec.template.spec"),
        ("batch", "CronJob") => Some("spec.jobTemplate.spec.template.spec"),
        _ => None,
    }
}

/// The container lists of a pod spec and the origin of their images.
pub const CONTAINER_FIELDS: [(&str, Origin); 3] = [
    ("containers", Origin::KubernetesContainer),
    ("initContainers", Origin::KubernetesInitContainer),
    ("ephemeralContainers", Origin::KubernetesEphemeralContainer),
];

/// How one kind of tree turns the values the walk finds into references.
pub trait Reader<T> {
    /// The reference of an image value, not resolved yet; `None` for a value that gives none
    /// (null, or what is not a string: the reader reports it if it reports anything).
    /// `container` is the container holding it (none for a configured field).
    fn image(&mut self, image: &T, origin: Origin, container: Option<&T>) -> Option<Reference>;
    /// The `imagePullPolicy` of `container`.
    fn pull_policy(&mut self, policy: &T, container: &T) -> Option<PullPolicy>;
    /// A scalar's text (a container's name).
    fn text(&self, value: &T) -> Option<String>;
    /// A part of the pod spec that is not what it should be; `message` builds the message from
    /// the type `node` has.
    fn malformed(&mut self, node: &T, message: &dyn Fn(&str) -> String);
    /// A reference found, complete but for what the reader adds (resolving it).
    fn found(&mut self, reference: Reference);
}

/// The images of an object's pod spec, when its kind is a workload with one, in written order.
pub fn read_workload<T: YamlTree>(
    object: &T,
    api_version: &str,
    kind: &str,
    object_ref: &ObjectRef,
    reader: &mut impl Reader<T>,
) {
    let Some(path) = pod_spec_path(api_version, kind) else { return };
    let mut spec = Some(object);
    for key in path.split('.') {
        spec = spec.and_then(|s| s.get(key));
    }
    if let Some(spec) = spec {
        read_pod_spec(spec, object_ref, reader);
    }
}

fn read_pod_spec<T: YamlTree>(spec: &T, object: &ObjectRef, reader: &mut impl Reader<T>) {
    let Some(entries) = spec.entries() else {
        if !spec.is_null() {
            reader.malformed(spec, &|found| format!("pod spec is a {found}, not a mapping"));
        }
        return;
    };
    for (key, list) in entries {
        let Some(&(field, origin)) = CONTAINER_FIELDS.iter().find(|(f, _)| key == Some(f)) else {
            continue;
        };
        match list.items() {
            Some(containers) => {
                for container in containers {
                    read_container(container, origin, object, reader);
                }
            }
            None if list.is_null() => {}
            None => reader.malformed(list, &|found| format!("`{field}` is a {found}, not a list")),
        }
    }
}

fn read_container<T: YamlTree>(
    container: &T,
    origin: Origin,
    object: &ObjectRef,
    reader: &mut impl Reader<T>,
) {
    if container.entries().is_none() {
        reader.malformed(container, &|found| format!("a container is a {found}, not a mapping"));
        return;
    }
    let Some(image) = container.get("image") else { return };
    let Some(mut reference) = reader.image(image, origin, Some(container)) else { return };
    reference.object = Some(object.clone());
    reference.within = container.get("name").and_then(|n| reader.text(n));
    reference.pull_policy =
        container.get("imagePullPolicy").and_then(|p| reader.pull_policy(p, container)).map(Box::new);
    reader.found(reference);
}

/// The images at the configured extra field paths (`image-fields`) of an object of any kind,
/// e.g. operator images passed in `env` values; `within` names the field path.
pub fn read_configured_fields<T: YamlTree>(
    object: &T,
    fields: &[FieldPath],
    object_ref: &ObjectRef,
    reader: &mut impl Reader<T>,
) {
    for field in fields {
        for node in field.select(object) {
            if let Some(mut reference) = reader.image(node, Origin::ConfiguredField, None) {
                reference.object = Some(object_ref.clone());
                reference.within = Some(field.text.clone());
                reader.found(reference);
            }
        }
    }
}

//! The central fact: one image reference found somewhere, with where it is and what it
//! resolves to.

pub mod imageref;
pub mod platform;

use crate::reference::imageref::ImageRef;
use crate::text::location::Location;
use serde::{Serialize, Serializer};

/// What the reference is used for (DESIGN.md "JSON is the machine contract").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RefKind {
    /// `FROM`, `COPY --from`, `RUN --mount=from=`: needed to build, not on the device.
    Build,
    /// Run by the device: pod containers, Quadlet `Image=`, CRI-O's pause image.
    Runtime,
    /// Copied into the OS image by the build (`skopeo copy`, `podman pull --root`).
    Embed,
    /// A logically bound image (bootc pulls it at upgrade).
    Bound,
    /// A MicroShift release image (core components).
    Release,
}

impl RefKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RefKind::Build => "build",
            RefKind::Runtime => "runtime",
            RefKind::Embed => "embed",
            RefKind::Bound => "bound",
            RefKind::Release => "release",
        }
    }
}

/// The construct the reference was written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    ContainerfileFrom,
    ContainerfileCopyFrom,
    ContainerfileRunMount,
    ContainerfileEmbed,
    KubernetesContainer,
    KubernetesInitContainer,
    KubernetesEphemeralContainer,
    QuadletImage,
    MicroshiftRelease,
    CrioPauseImage,
    /// A field path from the configuration's `image-fields`, or an `images` field spec of a
    /// kustomization's `configurations:`.
    ConfiguredField,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::ContainerfileFrom => "containerfile-from",
            Origin::ContainerfileCopyFrom => "containerfile-copy-from",
            Origin::ContainerfileRunMount => "containerfile-run-mount",
            Origin::ContainerfileEmbed => "containerfile-embed",
            Origin::KubernetesContainer => "kubernetes-container",
            Origin::KubernetesInitContainer => "kubernetes-init-container",
            Origin::KubernetesEphemeralContainer => "kubernetes-ephemeral-container",
            Origin::QuadletImage => "quadlet-image",
            Origin::MicroshiftRelease => "microshift-release",
            Origin::CrioPauseImage => "crio-pause-image",
            Origin::ConfiguredField => "configured-field",
        }
    }
}

/// Whether the text could be turned into an image reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Status {
    /// Not parsed yet: [`Reference::resolve`] has not run. Reported as unresolved, so that a
    /// reference nothing resolved can never pass as resolved.
    #[serde(rename = "unresolved", serialize_with = "serialize_pending")]
    Pending,
    Resolved,
    /// Still holds `$VAR`/`{{ }}` after substitution, or names something not found
    /// (a Quadlet `.image` unit that does not exist): never guessed.
    Unresolved {
        reason: String,
    },
    /// Fully substituted but not a valid reference.
    Invalid {
        reason: String,
    },
}

impl Status {
    /// Why the text is not a reference to check: `None` once resolved or found invalid.
    pub fn unresolved_reason(&self) -> Option<&str> {
        match self {
            Status::Pending => Some(PENDING_REASON),
            Status::Unresolved { reason } => Some(reason),
            Status::Resolved | Status::Invalid { .. } => None,
        }
    }
}

const PENDING_REASON: &str = "not resolved yet";

fn serialize_pending<S: Serializer>(s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut st = s.serialize_struct("Status", 1)?;
    st.serialize_field("reason", PENDING_REASON)?;
    st.end()
}

/// A Kubernetes object, as far as findings need to name it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ObjectRef {
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `imagePullPolicy` as written on the container, with its position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PullPolicy {
    pub value: String,
    pub location: Location,
}

#[derive(Clone, Debug, Serialize)]
pub struct Reference {
    /// The text as written (without surrounding quotes).
    pub image: String,
    /// Fully qualified normalized form, `None` when unresolved or invalid.
    #[serde(serialize_with = "serialize_resolved")]
    pub resolved: Option<ImageRef>,
    pub kind: RefKind,
    pub origin: Origin,
    /// Points at the first character of the image text.
    pub location: Location,
    /// The text after ARG substitution, when it differs from `image`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expanded: Option<String>,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectRef>,
    /// Container name, Containerfile stage name, release image key or Quadlet unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
    // Boxed, like `kustomization`: most references have neither, and a program holds one
    // Reference per image text it finds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<Box<PullPolicy>>,
    /// `FROM --platform=...` as written, after substitution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The kustomization entries that turned the text at `location` into `expanded`, in the
    /// order they applied (`images` newTag, a patch, a replacement...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed_by: Vec<Change>,
    /// The kustomization whose build deploys this reference (for manifests reached through
    /// one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kustomization: Option<Box<Location>>,
}

/// One change a kustomization made to a reference, and where it is written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What changed it: `images newTag`, `patch`, `replacements`, `value from ConfigMap/x ...`.
    pub what: String,
    pub location: Location,
}

fn serialize_resolved<S: Serializer>(r: &Option<ImageRef>, s: S) -> Result<S::Ok, S::Error> {
    match r {
        Some(r) => s.serialize_str(&r.to_string()),
        None => s.serialize_none(),
    }
}

impl Reference {
    /// A reference whose text is used as written; call [`Reference::resolve`] to parse it.
    pub fn new(kind: RefKind, origin: Origin, image: impl Into<String>, location: Location) -> Self {
        Reference {
            image: image.into(),
            resolved: None,
            kind,
            origin,
            location,
            expanded: None,
            status: Status::Pending,
            object: None,
            within: None,
            pull_policy: None,
            platform: None,
            changed_by: Vec::new(),
            kustomization: None,
        }
    }

    /// Parse the (expanded) text into an [`ImageRef`], unless it is already known to be
    /// unresolved. Text that still holds `$` or `{{` is unresolved, never guessed.
    pub fn resolve(mut self) -> Self {
        if let Status::Unresolved { .. } = &self.status {
            return self;
        }
        let text = self.expanded.as_deref().unwrap_or(&self.image);
        if let Some(reason) = unresolved_reason(text) {
            self.status = Status::Unresolved { reason };
            self.resolved = None;
            return self;
        }
        match ImageRef::parse(text) {
            Ok(r) => {
                self.resolved = Some(r);
                self.status = Status::Resolved;
            }
            Err(e) => {
                self.resolved = None;
                self.status = Status::Invalid { reason: e.to_string() };
            }
        }
        self
    }

    /// Mark the reference as unresolved with a reason (e.g. an undefined ARG).
    pub fn unresolved(mut self, reason: impl Into<String>) -> Self {
        self.status = Status::Unresolved { reason: reason.into() };
        self.resolved = None;
        self
    }

    /// Where a byte range of the image text is, when the text is used as written (not
    /// substituted); otherwise where the whole text is.
    pub fn component_location(&self, range: std::ops::Range<usize>) -> Location {
        let mut loc = self.location.clone();
        if self.expanded.is_none()
            && self.image.is_char_boundary(range.start)
            && range.start <= self.image.len()
        {
            loc.column += self.image[..range.start].chars().count() as u32;
            if let Some(span) = &loc.span {
                loc.span = Some(span.start + range.start..span.start + range.end.min(self.image.len()));
            }
        }
        loc
    }

    /// The image as findings name it: fully qualified when resolved, else as written.
    pub fn display_image(&self) -> String {
        match &self.resolved {
            Some(r) => r.to_string(),
            None => self.text().to_string(),
        }
    }

    /// `Deployment acme/gateway, container gateway`, `builder` (a stage), `app.container`.
    pub fn describe_object(&self) -> Option<String> {
        let within = self.within.as_deref();
        match (&self.object, within) {
            (Some(o), within) => {
                let name = match &o.namespace {
                    Some(ns) => format!("{ns}/{}", o.name),
                    None => o.name.clone(),
                };
                Some(match within {
                    Some(c) => format!("{} {name}, container {c}", o.kind),
                    None => format!("{} {name}", o.kind),
                })
            }
            (None, Some(w)) => Some(w.to_string()),
            (None, None) => None,
        }
    }

    pub fn is_kubernetes(&self) -> bool {
        matches!(
            self.origin,
            Origin::KubernetesContainer
                | Origin::KubernetesInitContainer
                | Origin::KubernetesEphemeralContainer
        )
    }

    pub fn text(&self) -> &str {
        self.expanded.as_deref().unwrap_or(&self.image)
    }
}

/// Why a text cannot be taken as a reference yet: variables or template markup remain.
pub fn unresolved_reason(text: &str) -> Option<String> {
    if text.contains("{{") || text.contains("{%") {
        Some("contains template markup".into())
    } else if text.contains('$') {
        Some("contains an unexpanded variable".into())
    } else {
        None
    }
}

/// For parser tests: `r` is a resolved reference of `kind` and `origin` whose location spans
/// exactly its text in `source`.
#[cfg(test)]
pub(crate) fn assert_found(r: &Reference, source: &str, kind: RefKind, origin: Origin) {
    assert_eq!((r.kind, r.origin), (kind, origin), "{r:?}");
    assert_eq!(r.status, Status::Resolved, "{r:?}");
    let span = r.location.span.clone().expect("a located reference");
    assert_eq!(&source[span], r.image, "{r:?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_stays_small() {
        // One is kept per image text found (200,000 for a 59 MB manifest stream): the rare
        // fields are boxed and the ImageRef spans are u32. Growing it is a choice to make
        // knowingly.
        assert!(std::mem::size_of::<Reference>() <= 432, "{}", std::mem::size_of::<Reference>());
        assert!(std::mem::size_of::<ImageRef>() <= 120, "{}", std::mem::size_of::<ImageRef>());
    }
    fn written(text: &str) -> Reference {
        Reference::new(RefKind::Runtime, Origin::KubernetesContainer, text, Location::file_only("p.yaml"))
    }

    #[test]
    fn a_reference_never_resolved_reads_as_unresolved() {
        let r = written("quay.io/x/app:1");
        assert_eq!(r.status, Status::Pending);
        assert_eq!(r.status.unresolved_reason(), Some("not resolved yet"));
        let json = serde_json::to_value(&r.status).unwrap();
        assert_eq!(json, serde_json::json!({"state": "unresolved", "reason": "not resolved yet"}));
    }

    #[test]
    fn resolving_keeps_an_earlier_verdict_and_parses_the_rest() {
        let r = written("quay.io/x/app:1").resolve();
        assert_eq!(r.status, Status::Resolved);
        assert_eq!(r.status.unresolved_reason(), None);
        let mut kept = written("quay.io/x/app:1");
        kept.status = Status::Unresolved { reason: "ARG V has no value".into() };
        let kept = kept.resolve();
        assert_eq!(kept.status.unresolved_reason(), Some("ARG V has no value"));
        assert!(kept.resolved.is_none());
        let r = written("quay.io/x/App:1").resolve();
        assert!(matches!(r.status, Status::Invalid { .. }), "{:?}", r.status);
    }
}

//! Custom rules from the configuration: an id, a severity, a message, a help text and a
//! `match` over the facts of each reference.
//!
//! ```yaml
//! custom-rules:
//!   - id: no-docker-hub
//!     severity: error
//!     message: "{image} is pulled from Docker Hub"
//!     match:
//!       all:
//!         - registry: docker.io
//!         - not: {kind: build}
//! ```
//! A mapping with several keys requires all of them. String fields take a glob or
//! `{regex: ...}`; `digest` and `embedded` take `true`/`false`.

use crate::finding::Severity;
use crate::reference::Reference;
use crate::text::location::Location;
use crate::text::pattern::Pattern;

#[derive(Clone, Debug)]
pub struct CustomRule {
    pub id: String,
    pub severity: Severity,
    pub message: String,
    pub help: Option<String>,
    pub matcher: Matcher,
    pub location: Location,
}

#[derive(Clone, Debug)]
pub enum Matcher {
    All(Vec<Matcher>),
    Any(Vec<Matcher>),
    Not(Box<Matcher>),
    Text(TextField, Pattern),
    Flag(FlagField, bool),
}

/// Text facts of a reference a custom rule can test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextField {
    /// The resolved reference (`quay.io/acme/app:1.0`).
    Image,
    Registry,
    Repository,
    /// `registry/repository`.
    Name,
    Tag,
    Kind,
    Origin,
    File,
    Namespace,
    PullPolicy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagField {
    Digest,
    /// Whether the image is carried inside the built image (known only with `--image`).
    Embedded,
}

pub const TEXT_FIELDS: &[(&str, TextField)] = &[
    ("image", TextField::Image),
    ("registry", TextField::Registry),
    ("repository", TextField::Repository),
    ("name", TextField::Name),
    ("tag", TextField::Tag),
    ("kind", TextField::Kind),
    ("origin", TextField::Origin),
    ("file", TextField::File),
    ("namespace", TextField::Namespace),
    ("pull-policy", TextField::PullPolicy),
];

pub const FLAG_FIELDS: &[(&str, FlagField)] =
    &[("digest", FlagField::Digest), ("embedded", FlagField::Embedded)];

/// What a matcher knows beyond the reference itself.
pub trait Context {
    /// `Some(true)` when the reference's image is carried inside the built image; `None` when
    /// unknown (no image given).
    fn embedded(&self, reference: &Reference) -> Option<bool>;
}

/// No image: nothing is known to be embedded.
pub struct Static;

impl Context for Static {
    fn embedded(&self, _: &Reference) -> Option<bool> {
        None
    }
}

impl Matcher {
    /// Whether the reference matches. A test on a fact the reference lacks (no tag, an
    /// unresolved reference's registry, embedding without an image) does not match, and
    /// neither does its negation's inner test — so `not: {tag: x}` matches references without
    /// a tag.
    pub fn matches(&self, r: &Reference, ctx: &dyn Context) -> bool {
        match self {
            Matcher::All(ms) => ms.iter().all(|m| m.matches(r, ctx)),
            Matcher::Any(ms) => ms.iter().any(|m| m.matches(r, ctx)),
            Matcher::Not(m) => !m.matches(r, ctx),
            Matcher::Text(field, pattern) => text(r, *field).is_some_and(|t| pattern.matches(&t)),
            Matcher::Flag(FlagField::Digest, want) => {
                r.resolved.as_ref().is_some_and(|i| i.digest().is_some() == *want)
            }
            Matcher::Flag(FlagField::Embedded, want) => ctx.embedded(r) == Some(*want),
        }
    }
}

fn text(r: &Reference, field: TextField) -> Option<String> {
    let resolved = r.resolved.as_ref();
    match field {
        TextField::Image => resolved.map(|i| i.to_string()),
        TextField::Registry => resolved.map(|i| i.registry().to_string()),
        TextField::Repository => resolved.map(|i| i.repository().to_string()),
        TextField::Name => resolved.map(|i| i.name()),
        TextField::Tag => resolved.and_then(|i| i.tag()).map(str::to_string),
        TextField::Kind => Some(r.kind.as_str().to_string()),
        TextField::Origin => Some(r.origin.as_str().to_string()),
        TextField::File => Some(r.location.file.clone()),
        TextField::Namespace => r.object.as_ref().and_then(|o| o.namespace.clone()),
        TextField::PullPolicy => r.pull_policy.as_ref().map(|p| p.value.clone()),
    }
}

/// The message of a custom rule with `{image}`, `{file}`, `{kind}`, `{registry}`,
/// `{repository}` and `{tag}` filled in.
pub fn render_message(template: &str, r: &Reference) -> String {
    let resolved = r.resolved.as_ref();
    template
        .replace("{image}", &r.display_image())
        .replace("{file}", &r.location.file)
        .replace("{kind}", r.kind.as_str())
        .replace("{registry}", resolved.map_or("", |i| i.registry()))
        .replace("{repository}", resolved.map_or("", |i| i.repository()))
        .replace("{tag}", resolved.and_then(|i| i.tag()).unwrap_or(""))
}

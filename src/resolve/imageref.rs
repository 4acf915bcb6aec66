//! Our own container image reference parser and normaliser.
//!
//! Follows the grammar of distribution/reference and the normalisation of containers/image
//! (what CRI-O and podman use), hand-written so that every component keeps its byte span in
//! the text as written: findings point at the tag or the registry, not just at the reference.
//!
//! ```text
//! reference  := name [ ":" tag ] [ "@" digest ]
//! name       := [ registry "/" ] path            registry only if it has "." or ":" or is localhost
//! registry   := host [ ":" port ]                host: domain-name | "[" ipv6 "]"
//! path       := component ( "/" component )*     component: [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//! tag        := [\w][\w.-]{0,127}
//! digest     := algorithm ":" hex                sha256 (64), sha384 (96), sha512 (128) lowercase hex
//! ```
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Range;

/// Docker Hub, the registry of a name that does not spell one.
const DEFAULT_REGISTRY: &str = "docker.io";
/// The old name of Docker Hub; containers/image rewrites it to [`DEFAULT_REGISTRY`].
const LEGACY_REGISTRY: &str = "index.docker.io";
/// Namespace of Docker Hub's official images (`nginx` is `library/nginx`).
const OFFICIAL_NAMESPACE: &str = "library/";
/// The tag implied when neither a tag nor a digest is written.
const DEFAULT_TAG: &str = "latest";
/// Maximum length of the normalised `registry/repository`, as containers/image checks it.
const NAME_MAX: usize = 255;
/// Maximum length of a tag (`[\w][\w.-]{0,127}`).
const TAG_MAX: usize = 128;

/// What is wrong with a reference; the message is meant for users.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ParseErrorKind {
    #[error("empty image reference")]
    Empty,
    #[error("invalid reference format")]
    InvalidFormat,
    #[error("repository name must be lowercase")]
    Uppercase,
    #[error("invalid tag")]
    InvalidTag,
    #[error("invalid digest")]
    InvalidDigest,
    #[error("unsupported digest algorithm")]
    UnsupportedDigest,
    #[error("repository name must not be longer than 255 characters")]
    NameTooLong,
    /// containers/image refuses these: a bare image ID is not a name.
    #[error("cannot specify 64-byte hexadecimal strings")]
    HexIdentifier,
}

/// A reference that could not be parsed, with where in the input the problem starts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct ParseError {
    kind: ParseErrorKind,
    offset: usize,
}

impl ParseError {
    fn new(kind: ParseErrorKind, offset: usize) -> Self {
        ParseError { kind, offset }
    }

    /// What went wrong, for callers that branch on it (messages may change, kinds do not).
    pub fn kind(&self) -> ParseErrorKind {
        self.kind
    }

    /// Byte offset in the input where the problem starts (best effort, always a char
    /// boundary), so that a finding can point at the offending character.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

/// A parsed image reference: the text as written, the span of each written component, and
/// the normalised registry and repository.
///
/// Equality and hashing use the normalised identity — registry, repository, *effective*
/// tag and digest — so `nginx`, `docker.io/nginx:latest` and
/// `index.docker.io/library/nginx:latest` are equal: they name the same image for CRI-O.
#[derive(Clone, Debug)]
pub struct ImageRef {
    raw: String,
    registry: String,
    repository: String,
    registry_span: Option<Range<usize>>,
    repository_span: Range<usize>,
    tag_span: Option<Range<usize>>,
    digest_span: Option<Range<usize>>,
}

impl ImageRef {
    /// Parse and normalise `text` like containers/image's `ParseNormalizedNamed`.
    /// Never panics, whatever the input.
    pub fn parse(text: &str) -> Result<ImageRef, ParseError> {
        use ParseErrorKind::*;
        let err = ParseError::new;
        if text.is_empty() {
            return Err(err(Empty, 0));
        }
        if text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(err(HexIdentifier, 0));
        }
        // Neither the name nor the tag may contain `@`, so the first one starts the digest.
        let (head_end, digest_span) = match text.find('@') {
            Some(at) => (at, Some(at + 1..text.len())),
            None => (text.len(), None),
        };
        let head = &text[..head_end];
        // The first component is a registry only if it looks like a host; otherwise Docker Hub.
        let registry_span = match head.find('/') {
            Some(slash) if looks_like_registry(&head[..slash]) => Some(0..slash),
            _ => None,
        };
        let path_start = registry_span.as_ref().map_or(0, |r| r.end + 1);
        // A path cannot contain `:`, so the first one after the registry starts the tag.
        let (path_end, tag_span) = match head[path_start..].find(':') {
            Some(c) => (path_start + c, Some(path_start + c + 1..head_end)),
            None => (head_end, None),
        };
        let repository_span = path_start..path_end;

        if let Some(span) = &registry_span {
            check_registry(&text[span.clone()]).map_err(|at| err(InvalidFormat, span.start + at))?;
        }
        check_path(&text[repository_span.clone()])
            .map_err(|(kind, at)| err(kind, repository_span.start + at))?;
        if let Some(span) = &tag_span {
            check_tag(&text[span.clone()]).map_err(|at| err(InvalidTag, span.start + at))?;
        }
        if let Some(span) = &digest_span {
            check_digest(&text[span.clone()]).map_err(|(kind, at)| err(kind, span.start + at))?;
        }

        let written_path = &text[repository_span.clone()];
        let registry = match registry_span.clone().map(|s| &text[s]) {
            None | Some(LEGACY_REGISTRY) => DEFAULT_REGISTRY,
            Some(r) => r,
        };
        let repository = if registry == DEFAULT_REGISTRY && !written_path.contains('/') {
            format!("{OFFICIAL_NAMESPACE}{written_path}")
        } else {
            written_path.to_string()
        };
        if registry.len() + 1 + repository.len() > NAME_MAX {
            return Err(err(NameTooLong, repository_span.start));
        }
        Ok(ImageRef {
            raw: text.to_string(),
            registry: registry.to_string(),
            repository,
            registry_span,
            repository_span,
            tag_span,
            digest_span,
        })
    }

    /// The text exactly as written.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Normalised registry: `docker.io` when none is written or `index.docker.io` is.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// Normalised repository path without the registry (`library/nginx` for `nginx`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// `registry/repository`: the key of a repository in stores and registries.conf.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The tag as written; `None` when it is only implied (see [`ImageRef::effective_tag`]).
    pub fn tag(&self) -> Option<&str> {
        self.tag_span.clone().map(|s| &self.raw[s])
    }

    /// The digest as written, `algorithm:hex`.
    pub fn digest(&self) -> Option<&str> {
        self.digest_span.clone().map(|s| &self.raw[s])
    }

    /// Whether a registry was written; short names go through `unqualified-search-registries`.
    pub fn has_explicit_registry(&self) -> bool {
        self.registry_span.is_some()
    }

    /// A short name (no registry written), which CRI-O resolves through registries.conf.
    pub fn is_short_name(&self) -> bool {
        !self.has_explicit_registry()
    }

    /// The tag a pull would use: the written one, else `latest` unless a digest pins the image.
    pub fn effective_tag(&self) -> Option<&str> {
        match (self.tag(), self.digest()) {
            (Some(t), _) => Some(t),
            (None, None) => Some(DEFAULT_TAG),
            (None, Some(_)) => None,
        }
    }

    /// The name as Docker shows it: `nginx`, `user/app`; other registries stay qualified.
    pub fn familiar_name(&self) -> String {
        if self.registry != DEFAULT_REGISTRY {
            return self.name();
        }
        match self.repository.strip_prefix(OFFICIAL_NAMESPACE) {
            Some(rest) if !rest.contains('/') => rest.to_string(),
            _ => self.repository.clone(),
        }
    }

    /// The string a store lookup uses (DOMAIN.md §4): `name@digest` when a digest is written
    /// (a `name:tag@digest` is looked up by its digest alone), else `name:tag` with the
    /// effective tag.
    pub fn lookup_key(&self) -> String {
        match (self.digest(), self.effective_tag()) {
            (Some(d), _) => format!("{}@{d}", self.name()),
            (None, Some(t)) => format!("{}:{t}", self.name()),
            (None, None) => self.name(),
        }
    }

    /// Byte range of the registry as written, if one was.
    pub fn registry_span(&self) -> Option<Range<usize>> {
        self.registry_span.clone()
    }

    /// Byte range of the repository path as written (without an implied `library/`).
    pub fn repository_span(&self) -> Range<usize> {
        self.repository_span.clone()
    }

    /// Byte range of the tag, without the `:`.
    pub fn tag_span(&self) -> Option<Range<usize>> {
        self.tag_span.clone()
    }

    /// Byte range of the digest, without the `@`.
    pub fn digest_span(&self) -> Option<Range<usize>> {
        self.digest_span.clone()
    }

    /// The normalised identity that equality and hashing compare.
    fn identity(&self) -> (&str, &str, Option<&str>, Option<&str>) {
        (&self.registry, &self.repository, self.effective_tag(), self.digest())
    }
}

impl PartialEq for ImageRef {
    fn eq(&self, other: &Self) -> bool {
        self.identity() == other.identity()
    }
}

impl Eq for ImageRef {}

impl Hash for ImageRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.identity().hash(state);
    }
}

/// Fully qualified, implied tag made explicit: `nginx` → `docker.io/library/nginx:latest`;
/// no `latest` is added to a digest reference. This is the `resolved` form of the JSON output.
impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = self.effective_tag() {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = self.digest() {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// containers/image's rule: a first component is a host if it has `.` or `:` or is localhost.
fn looks_like_registry(first: &str) -> bool {
    first.contains(['.', ':']) || first == "localhost"
}

/// `host[:port]`; on error, the offset of the first bad byte.
fn check_registry(s: &str) -> Result<(), usize> {
    let b = s.as_bytes();
    let host_end = if b.first() == Some(&b'[') {
        let close = s.find(']').ok_or(s.len())?;
        let inner = &b[1..close];
        if inner.is_empty() {
            return Err(close);
        }
        if let Some(i) = inner.iter().position(|&c| !(c.is_ascii_hexdigit() || c == b':')) {
            return Err(1 + i);
        }
        close + 1
    } else {
        let end = s.find(':').unwrap_or(s.len());
        let mut start = 0;
        for label in s[..end].split('.') {
            check_domain_label(label.as_bytes()).map_err(|i| start + i)?;
            start += label.len() + 1;
        }
        end
    };
    match &b[host_end..] {
        [] => Ok(()),
        [b':', port @ ..] => match port.iter().position(|c| !c.is_ascii_digit()) {
            Some(i) => Err(host_end + 1 + i),
            None if port.is_empty() => Err(host_end + 1),
            None => Ok(()),
        },
        _ => Err(host_end),
    }
}

/// A DNS-like label: alphanumerics and inner dashes, either case.
fn check_domain_label(l: &[u8]) -> Result<(), usize> {
    if let Some(i) = l.iter().position(|&c| !(c.is_ascii_alphanumeric() || c == b'-')) {
        return Err(i);
    }
    match (l.first(), l.last()) {
        (None, _) => Err(0),
        (Some(b'-'), _) => Err(0),
        (_, Some(b'-')) => Err(l.len() - 1),
        _ => Ok(()),
    }
}

/// Slash-separated components; grammar errors win over uppercase (like upstream, where the
/// lowercase check only fires if lowercasing would make the reference valid).
fn check_path(path: &str) -> Result<(), (ParseErrorKind, usize)> {
    let mut start = 0;
    for component in path.split('/') {
        check_component(component.as_bytes()).map_err(|i| (ParseErrorKind::InvalidFormat, start + i))?;
        start += component.len() + 1;
    }
    match path.bytes().position(|c| c.is_ascii_uppercase()) {
        Some(i) => Err((ParseErrorKind::Uppercase, i)),
        None => Ok(()),
    }
}

/// `alnum+ (sep alnum+)*` with sep one of `.`, `_`, `__`, `-`+ (uppercase accepted here and
/// reported separately).
fn check_component(c: &[u8]) -> Result<(), usize> {
    let alnum = |b: u8| b.is_ascii_alphanumeric();
    let mut i = 0;
    loop {
        let run = c[i..].iter().take_while(|&&b| alnum(b)).count();
        if run == 0 {
            return Err(i);
        }
        i += run;
        if i == c.len() {
            return Ok(());
        }
        let sep = c[i..].iter().take_while(|&&b| matches!(b, b'.' | b'_' | b'-')).count();
        let ok = match &c[i..i + sep] {
            b"." | b"_" | b"__" => true,
            s => !s.is_empty() && s.iter().all(|&b| b == b'-'),
        };
        if !ok {
            return Err(i);
        }
        i += sep;
    }
}

/// `[\w][\w.-]{0,127}`.
fn check_tag(tag: &str) -> Result<(), usize> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    match tag.bytes().position(|b| !(word(b) || b == b'.' || b == b'-')) {
        Some(i) => Err(i),
        None if !tag.bytes().next().is_some_and(word) => Err(0),
        None if tag.len() > TAG_MAX => Err(TAG_MAX),
        None => Ok(()),
    }
}

/// `algorithm:hex`, then the algorithm must be one go-digest knows with its exact length.
fn check_digest(d: &str) -> Result<(), (ParseErrorKind, usize)> {
    use ParseErrorKind::{InvalidDigest, UnsupportedDigest};
    let colon = d.find(':').ok_or((InvalidDigest, d.len()))?;
    let (algorithm, hex) = (&d[..colon], &d.as_bytes()[colon + 1..]);
    let mut start = 0;
    for part in algorithm.split(['+', '.', '_', '-']) {
        let p = part.as_bytes();
        if !p.first().is_some_and(u8::is_ascii_alphabetic) {
            return Err((InvalidDigest, start));
        }
        if let Some(i) = p.iter().position(|c| !c.is_ascii_alphanumeric()) {
            return Err((InvalidDigest, start + i));
        }
        start += part.len() + 1;
    }
    let hex_at = colon + 1;
    if let Some(i) = hex.iter().position(|c| !c.is_ascii_hexdigit()) {
        return Err((InvalidDigest, hex_at + i));
    }
    if hex.len() < 32 {
        return Err((InvalidDigest, hex_at));
    }
    let expected = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err((UnsupportedDigest, 0)),
    };
    if let Some(i) = hex.iter().position(|c| c.is_ascii_uppercase()) {
        return Err((InvalidDigest, hex_at + i));
    }
    if hex.len() != expected {
        return Err((InvalidDigest, hex_at + expected.min(hex.len())));
    }
    Ok(())
}

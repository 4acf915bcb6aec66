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
    // Byte ranges into `raw`, kept small: a program holds one ImageRef per reference.
    registry_span: Option<Span32>,
    repository_span: Span32,
    tag_span: Option<Span32>,
    digest_span: Option<Span32>,
}

/// A byte range of a reference's text (at most 4 GiB: parse refuses longer text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span32 {
    start: u32,
    end: u32,
}

impl Span32 {
    fn new(r: Range<usize>) -> Span32 {
        // parse() refuses text longer than u32::MAX first.
        Span32 { start: r.start as u32, end: r.end as u32 }
    }

    fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
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
        if u32::try_from(text.len()).is_err() {
            return Err(err(NameTooLong, 0));
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
            registry_span: registry_span.map(Span32::new),
            repository_span: Span32::new(repository_span),
            tag_span: tag_span.map(Span32::new),
            digest_span: digest_span.map(Span32::new),
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
        self.tag_span.map(|s| &self.raw[s.range()])
    }

    /// The digest as written, `algorithm:hex`.
    pub fn digest(&self) -> Option<&str> {
        self.digest_span.map(|s| &self.raw[s.range()])
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

    /// The name as Docker shows it: `nginx`, `user/app`; other registries stay qualified, and
    /// so does a Docker Hub repository whose first component would read as a registry
    /// (`docker.io/quay.io/app`: `quay.io/app` names another image).
    pub fn familiar_name(&self) -> String {
        let first = self.repository.split('/').next().unwrap_or_default();
        if self.registry != DEFAULT_REGISTRY || (self.repository.contains('/') && looks_like_registry(first))
        {
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
        self.registry_span.map(Span32::range)
    }

    /// Byte range of the repository path as written (without an implied `library/`).
    pub fn repository_span(&self) -> Range<usize> {
        self.repository_span.range()
    }

    /// Byte range of the tag, without the `:`.
    pub fn tag_span(&self) -> Option<Range<usize>> {
        self.tag_span.map(Span32::range)
    }

    /// Byte range of the digest, without the `@`.
    pub fn digest_span(&self) -> Option<Range<usize>> {
        self.digest_span.map(Span32::range)
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

#[cfg(test)]
mod tests {
    use super::ParseErrorKind::*;
    use super::*;
    use proptest::prelude::*;

    const H64: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    const D256: &str = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    const D512: &str = "sha512:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\
                        ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

    /// (input, registry, repository, explicit tag, digest, Display)
    type Vector = (String, &'static str, String, Option<&'static str>, Option<&'static str>, String);

    #[rustfmt::skip]
    fn valid_vectors() -> Vec<Vector> {
        let s = |x: &str| x.to_string();
        let deep = "a/".repeat(122) + "a";
        vec![
            // distribution/reference reference_test.go, normalised the containers/image way.
            (s("test_com"), "docker.io", s("library/test_com"), None, None, s("docker.io/library/test_com:latest")),
            (s("test.com:tag"), "docker.io", s("library/test.com"), Some("tag"), None, s("docker.io/library/test.com:tag")),
            (s("test.com:5000"), "docker.io", s("library/test.com"), Some("5000"), None, s("docker.io/library/test.com:5000")),
            (s("test.com/repo:tag"), "test.com", s("repo"), Some("tag"), None, s("test.com/repo:tag")),
            (s("test:5000/repo"), "test:5000", s("repo"), None, None, s("test:5000/repo:latest")),
            (s("test:5000/repo:tag"), "test:5000", s("repo"), Some("tag"), None, s("test:5000/repo:tag")),
            (format!("test:5000/repo@{D256}"), "test:5000", s("repo"), None, Some(D256), format!("test:5000/repo@{D256}")),
            (format!("test:5000/repo:tag@{D256}"), "test:5000", s("repo"), Some("tag"), Some(D256), format!("test:5000/repo:tag@{D256}")),
            (s("lowercase:Uppercase"), "docker.io", s("library/lowercase"), Some("Uppercase"), None, s("docker.io/library/lowercase:Uppercase")),
            (s("sub-dom1.foo.com/bar/baz/quux:some-long-tag"), "sub-dom1.foo.com", s("bar/baz/quux"), Some("some-long-tag"), None, s("sub-dom1.foo.com/bar/baz/quux:some-long-tag")),
            (s("b.gcr.io/test.example.com/my-app:test.example.com"), "b.gcr.io", s("test.example.com/my-app"), Some("test.example.com"), None, s("b.gcr.io/test.example.com/my-app:test.example.com")),
            (s("xn--n3h.com/myimage:xn--n3h.com"), "xn--n3h.com", s("myimage"), Some("xn--n3h.com"), None, s("xn--n3h.com/myimage:xn--n3h.com")),
            (format!("xn--7o8h.com/myimage:xn--7o8h.com@{D512}"), "xn--7o8h.com", s("myimage"), Some("xn--7o8h.com"), Some(D512), format!("xn--7o8h.com/myimage:xn--7o8h.com@{D512}")),
            (s("foo_bar.com:8080"), "docker.io", s("library/foo_bar.com"), Some("8080"), None, s("docker.io/library/foo_bar.com:8080")),
            (s("foo/foo_bar.com:8080"), "docker.io", s("foo/foo_bar.com"), Some("8080"), None, s("docker.io/foo/foo_bar.com:8080")),
            (s("192.168.1.1"), "docker.io", s("library/192.168.1.1"), None, None, s("docker.io/library/192.168.1.1:latest")),
            (s("192.168.1.1:5000"), "docker.io", s("library/192.168.1.1"), Some("5000"), None, s("docker.io/library/192.168.1.1:5000")),
            (s("192.168.1.1/repo"), "192.168.1.1", s("repo"), None, None, s("192.168.1.1/repo:latest")),
            (s("192.168.1.1:5000/repo:5050"), "192.168.1.1:5000", s("repo"), Some("5050"), None, s("192.168.1.1:5000/repo:5050")),
            (s("[2001:db8::1]/repo"), "[2001:db8::1]", s("repo"), None, None, s("[2001:db8::1]/repo:latest")),
            (s("[2001:db8:1:2:3:4:5:6]/repo:tag"), "[2001:db8:1:2:3:4:5:6]", s("repo"), Some("tag"), None, s("[2001:db8:1:2:3:4:5:6]/repo:tag")),
            (s("[2001:db8::1]:5000/repo:tag"), "[2001:db8::1]:5000", s("repo"), Some("tag"), None, s("[2001:db8::1]:5000/repo:tag")),
            (format!("[2001:db8::1]:5000/repo:tag@{D256}"), "[2001:db8::1]:5000", s("repo"), Some("tag"), Some(D256), format!("[2001:db8::1]:5000/repo:tag@{D256}")),
            (s("[2001:db8::]:5000/repo"), "[2001:db8::]:5000", s("repo"), None, None, s("[2001:db8::]:5000/repo:latest")),
            (s("[::1]:5000/repo"), "[::1]:5000", s("repo"), None, None, s("[::1]:5000/repo:latest")),
            // normalize_test.go
            (s("docker/docker"), "docker.io", s("docker/docker"), None, None, s("docker.io/docker/docker:latest")),
            (s("docker.io/debian"), "docker.io", s("library/debian"), None, None, s("docker.io/library/debian:latest")),
            (s("index.docker.io/library/debian"), "docker.io", s("library/debian"), None, None, s("docker.io/library/debian:latest")),
            (s("index.docker.io/debian"), "docker.io", s("library/debian"), None, None, s("docker.io/library/debian:latest")),
            (s("127.0.0.1:5000/debian"), "127.0.0.1:5000", s("debian"), None, None, s("127.0.0.1:5000/debian:latest")),
            (s("192.168.0.1:80"), "docker.io", s("library/192.168.0.1"), Some("80"), None, s("docker.io/library/192.168.0.1:80")),
            (s("[fc00:1:2:3:4:5:6:7]:5000/library/debian"), "[fc00:1:2:3:4:5:6:7]:5000", s("library/debian"), None, None, s("[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest")),
            (s("docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"), "docker.io", s("library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"), None, None, s("docker.io/library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a:latest")),
            (s("thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev"), "docker.io", s("library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev"), None, None, s("docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest")),
            (s("docker---rules/docker"), "docker.io", s("docker---rules/docker"), None, None, s("docker.io/docker---rules/docker:latest")),
            (s("dock__er/docker"), "docker.io", s("dock__er/docker"), None, None, s("docker.io/dock__er/docker:latest")),
            (s("d/docker"), "docker.io", s("d/docker"), None, None, s("docker.io/d/docker:latest")),
            (s("docker.io/library/foo/bar"), "docker.io", s("library/foo/bar"), None, None, s("docker.io/library/foo/bar:latest")),
            (s("example.com:8000/private/moonbase"), "example.com:8000", s("private/moonbase"), None, None, s("example.com:8000/private/moonbase:latest")),
            (format!("busybox:latest@{D256}"), "docker.io", s("library/busybox"), Some("latest"), Some(D256), format!("docker.io/library/busybox:latest@{D256}")),
            (format!("redis@{D256}"), "docker.io", s("library/redis"), None, Some(D256), format!("docker.io/library/redis@{D256}")),
            // Our own: localhost, DOMAIN.md examples, uppercase host, the length limit.
            (s("localhost/app"), "localhost", s("app"), None, None, s("localhost/app:latest")),
            (s("localhost:5000/a/b"), "localhost:5000", s("a/b"), None, None, s("localhost:5000/a/b:latest")),
            (s("localhost"), "docker.io", s("library/localhost"), None, None, s("docker.io/library/localhost:latest")),
            (s("nginx"), "docker.io", s("library/nginx"), None, None, s("docker.io/library/nginx:latest")),
            (s("Example.COM/app"), "Example.COM", s("app"), None, None, s("Example.COM/app:latest")),
            (s("registry:5000/app"), "registry:5000", s("app"), None, None, s("registry:5000/app:latest")),
            (format!("{deep}:tag"), "docker.io", deep.clone(), Some("tag"), None, format!("docker.io/{deep}:tag")),
        ]
    }

    #[test]
    fn valid_references() {
        for (input, registry, repository, tag, digest, display) in valid_vectors() {
            let r = ImageRef::parse(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.raw(), input);
            assert_eq!(r.registry(), registry, "{input}");
            assert_eq!(r.repository(), repository, "{input}");
            assert_eq!(r.tag(), tag, "{input}");
            assert_eq!(r.digest(), digest, "{input}");
            assert_eq!(r.to_string(), display, "{input}");
            assert_eq!(r.name(), format!("{registry}/{repository}"));
            let again = ImageRef::parse(&display).unwrap();
            assert_eq!(again, r, "{input}");
            assert_eq!(again.to_string(), display);
        }
    }

    #[test]
    fn invalid_references() {
        let long_ns = ["this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255"; 4].join("_");
        let cases: Vec<(String, ParseErrorKind)> = vec![
            (String::new(), Empty),
            (":justtag".into(), InvalidFormat),
            (format!("@{D256}"), InvalidFormat),
            ("repo@sha256:ffffffffffffffffffffffffffffffffff".into(), InvalidDigest),
            (format!("validname@invaliddigest:{H64}"), UnsupportedDigest),
            (format!("repo@sha256:{}", H64.to_uppercase()), InvalidDigest),
            (format!("repo@sha512:{H64}"), InvalidDigest),
            (format!("repo@sha256:{H64}f"), InvalidDigest),
            ("repo@sha256".into(), InvalidDigest),
            (format!("repo@sha256:{H64}@x"), InvalidDigest),
            (format!("repo@-sha:{H64}"), InvalidDigest),
            ("Uppercase:tag".into(), Uppercase),
            ("test:5000/Uppercase/lowercase:tag".into(), Uppercase),
            ("docker/Docker".into(), Uppercase),
            ("docker.io/docker/Docker".into(), Uppercase),
            ("quay.io/Org/x".into(), Uppercase),
            // distribution/reference treats an uppercase first component as a host;
            // containers/image (what CRI-O uses) does not.
            ("Docker/docker".into(), Uppercase),
            ("DOCKER/docker".into(), Uppercase),
            (format!("{}a:tag", "a/".repeat(128)), NameTooLong),
            (format!("{}a:tag", "a/".repeat(123)), NameTooLong),
            (format!("{long_ns}/docker"), NameTooLong),
            ("aa/asdf$$^/aa".into(), InvalidFormat),
            ("[2001:db8::1]".into(), InvalidFormat),
            ("[2001:db8::1]:5000".into(), InvalidFormat),
            ("[2001:db8::1]:tag".into(), InvalidFormat),
            ("[fe80::1%eth0]:5000/repo".into(), InvalidFormat),
            ("[fe80::1%@invalidzone]:5000/repo".into(), InvalidFormat),
            ("[2001:db8:3:4::192.0.2.33]:5000/debian".into(), InvalidFormat),
            ("[fc00::1]".into(), InvalidFormat),
            ("fc00::1:5000/debian".into(), InvalidFormat),
            ("https://github.com/docker/docker".into(), InvalidFormat),
            ("-docker".into(), InvalidFormat),
            ("-docker/docker".into(), InvalidFormat),
            ("docker-/docker".into(), InvalidFormat),
            ("-docker.io/docker/docker".into(), InvalidFormat),
            ("docker///docker".into(), InvalidFormat),
            ("docker.io/docker///docker".into(), InvalidFormat),
            ("____/____".into(), InvalidFormat),
            ("_docker/_docker".into(), InvalidFormat),
            ("dock..er/docker".into(), InvalidFormat),
            ("dock_.er/docker".into(), InvalidFormat),
            ("dock-.er/docker".into(), InvalidFormat),
            ("docker___x/docker".into(), InvalidFormat),
            ("docker/".into(), InvalidFormat),
            ("foo_bar.com/x".into(), InvalidFormat),
            ("registry:/app".into(), InvalidFormat),
            ("registry:50a/app".into(), InvalidFormat),
            ("nginx:".into(), InvalidTag),
            ("nginx:-x".into(), InvalidTag),
            ("nginx:.x".into(), InvalidTag),
            ("nginx:a:b".into(), InvalidTag),
            ("nginx:1.0/foo".into(), InvalidFormat), // `nginx:1.0` is taken as a host:port
            ("ab/c:1.0/foo".into(), InvalidTag),
            (format!("nginx:{}", "a".repeat(129)), InvalidTag),
            ("1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a".into(), HexIdentifier),
            ("ngïnx".into(), InvalidFormat),
            ("nginx:tä".into(), InvalidTag),
            (" nginx".into(), InvalidFormat),
            ("nginx ".into(), InvalidFormat),
        ];
        for (input, kind) in cases {
            match ImageRef::parse(&input) {
                Ok(r) => panic!("{input:?} parsed as {r}"),
                Err(e) => {
                    assert_eq!(e.kind(), kind, "{input:?}: {e}");
                    assert!(input.is_char_boundary(e.offset()), "{input:?}");
                    assert!(e.offset() <= input.len());
                }
            }
        }
        assert_eq!(format!("{}a", "a/".repeat(127)).len(), 255); // the vector's name, unqualified
        let ok = format!("{}a:tag-puts-this-over-max", "a/".repeat(122));
        assert!(ImageRef::parse(&ok).is_ok());
    }

    #[test]
    fn error_offsets_and_messages() {
        let at = |s: &str| ImageRef::parse(s).unwrap_err();
        assert_eq!(at("docker/Docker").offset(), 7);
        assert_eq!(at("docker/Docker").to_string(), "repository name must be lowercase");
        assert_eq!(at("aa/asdf$$^/aa").offset(), 7);
        assert_eq!(at("aa/asdf$$^/aa").to_string(), "invalid reference format");
        assert_eq!(at("nginx:1.0/x").offset(), 7);
        assert_eq!(at("ab/c:1.0/x").offset(), 8);
        assert_eq!(at("ab/c:1.0/x").to_string(), "invalid tag");
        assert_eq!(at("x@sha256:abc").offset(), 9);
        assert_eq!(at("x@sha256:abc").to_string(), "invalid digest");
        assert_eq!(at("x@md5:ffffffffffffffffffffffffffffffff").offset(), 2);
        assert_eq!(at("ab/c:ä").offset(), 5);
        assert_eq!(at("registry:5x00/app").offset(), 10);
        assert_eq!(at("[::1]x/app").offset(), 5);
        assert_eq!(at("a..b/c").offset(), 2); // "a..b" is a registry candidate: empty label
        assert!(at(&"a/".repeat(200)).to_string().contains("invalid reference format"));
        assert_eq!(
            at(&format!("{}a", "a/".repeat(128))).to_string(),
            "repository name must not be longer than 255 characters"
        );
    }

    #[test]
    fn spans_are_exact() {
        let text = format!("registry:5000/app:1.0@{D256}");
        let r = ImageRef::parse(&text).unwrap();
        assert_eq!(r.registry_span(), Some(0..13));
        assert_eq!(r.repository_span(), 14..17);
        assert_eq!(r.tag_span(), Some(18..21));
        assert_eq!(r.digest_span(), Some(22..text.len()));
        assert_eq!(&text[r.digest_span().unwrap()], D256);

        let r = ImageRef::parse("[::1]:5000/a/b:tag").unwrap();
        assert_eq!(r.registry_span(), Some(0..10));
        assert_eq!(r.repository_span(), 11..14);
        assert_eq!(r.tag_span(), Some(15..18));
        assert_eq!(r.digest_span(), None);

        let r = ImageRef::parse("nginx").unwrap();
        assert_eq!((r.registry_span(), r.repository_span(), r.tag_span()), (None, 0..5, None));

        let r = ImageRef::parse("index.docker.io/debian:12").unwrap();
        assert_eq!(r.registry_span(), Some(0..15));
        assert_eq!(r.repository_span(), 16..22);
        assert_eq!(r.tag_span(), Some(23..25));
    }

    #[test]
    fn accessors() {
        let r = ImageRef::parse("nginx").unwrap();
        assert!(r.is_short_name() && !r.has_explicit_registry());
        assert_eq!((r.tag(), r.effective_tag()), (None, Some("latest")));
        assert_eq!(r.familiar_name(), "nginx");
        assert_eq!(r.lookup_key(), "docker.io/library/nginx:latest");

        let r = ImageRef::parse("docker.io/user/app:1").unwrap();
        assert!(!r.is_short_name());
        assert_eq!(r.familiar_name(), "user/app");
        assert_eq!(ImageRef::parse("library/a/b").unwrap().familiar_name(), "library/a/b");
        assert_eq!(ImageRef::parse("quay.io/a/b").unwrap().familiar_name(), "quay.io/a/b");
        // A Docker Hub namespace that reads as a registry stays qualified (fuzz/regressions/image_ref).
        let hub = ImageRef::parse("docker.io/quay.io/acme/app").unwrap();
        assert_eq!(hub.familiar_name(), "docker.io/quay.io/acme/app");
        assert_eq!(ImageRef::parse(&hub.familiar_name()).unwrap(), hub);
        assert_eq!(ImageRef::parse("docker.io/localhost").unwrap().familiar_name(), "localhost");

        let r = ImageRef::parse(&format!("x@{D256}")).unwrap();
        assert_eq!(r.effective_tag(), None);
        assert_eq!(r.lookup_key(), format!("docker.io/library/x@{D256}"));

        let r = ImageRef::parse(&format!("quay.io/x:1@{D256}")).unwrap();
        assert_eq!(r.effective_tag(), Some("1"));
        assert_eq!(r.lookup_key(), format!("quay.io/x@{D256}"));
        assert_eq!(r.to_string(), format!("quay.io/x:1@{D256}"));
    }

    #[test]
    fn equality_is_on_normalized_identity() {
        use std::collections::HashSet;
        let spellings = [
            "nginx",
            "nginx:latest",
            "docker.io/nginx",
            "library/nginx:latest",
            "index.docker.io/library/nginx",
            "docker.io/library/nginx:latest",
        ];
        let set: HashSet<ImageRef> = spellings.iter().map(|s| ImageRef::parse(s).unwrap()).collect();
        assert_eq!(set.len(), 1);
        let p = |s: &str| ImageRef::parse(s).unwrap();
        assert_ne!(p("nginx"), p("nginx:1"));
        assert_ne!(p("nginx"), p("localhost/nginx"));
        assert_ne!(p(&format!("x@{D256}")), p(&format!("x:latest@{D256}")));
    }

    fn domain() -> impl Strategy<Value = String> {
        let label = "[a-zA-Z0-9]([a-zA-Z0-9-]{0,4}[a-zA-Z0-9])?";
        let port = prop::option::of(1u32..65536).prop_map(|p| p.map(|p| format!(":{p}")).unwrap_or_default());
        prop_oneof![
            (prop::collection::vec(label, 2..4), port.clone()).prop_map(|(l, p)| l.join(".") + &p),
            (label, 1u32..65536).prop_map(|(l, p)| format!("{l}:{p}")),
            port.clone().prop_map(|p| format!("localhost{p}")),
            ("[0-9a-f]{0,4}:[0-9a-fA-F:]{0,12}", port).prop_map(|(h, p)| format!("[{h}]{p}")),
            Just("index.docker.io".to_string()),
            Just("docker.io".to_string()),
        ]
    }

    /// A valid reference text: optional registry, 1–4 path components, optional tag/digest.
    fn reference_text() -> impl Strategy<Value = String> {
        let component = "[a-z0-9]{1,8}(([._]|__|-{1,3})[a-z0-9]{1,8}){0,2}";
        let first_no_dot = "[a-z0-9]{1,8}(([_]|__|-{1,3})[a-z0-9]{1,8}){0,2}";
        let digest = prop_oneof![
            "[0-9a-f]{64}".prop_map(|h| format!("sha256:{h}")),
            "[0-9a-f]{128}".prop_map(|h| format!("sha512:{h}")),
        ];
        (
            prop::option::of(domain()),
            first_no_dot,
            prop::collection::vec(component, 0..4),
            prop::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
            prop::option::of(digest),
        )
            .prop_map(|(reg, first, rest, tag, digest)| {
                let mut s = reg.map(|r| r + "/").unwrap_or_default();
                s += &first;
                for c in rest {
                    s += "/";
                    s += &c;
                }
                if let Some(t) = tag {
                    s += ":";
                    s += &t;
                }
                if let Some(d) = digest {
                    s += "@";
                    s += &d;
                }
                s
            })
    }

    proptest! {
        #[test]
        fn never_panics_on_any_string(s in any::<String>()) {
            if let Err(e) = ImageRef::parse(&s) {
                prop_assert!(s.is_char_boundary(e.offset()));
            }
        }

        #[test]
        fn never_panics_on_reference_like_strings(s in "[a-zA-Z0-9._:/@\\[\\]%+ é-]{0,80}") {
            match ImageRef::parse(&s) {
                Err(e) => prop_assert!(s.is_char_boundary(e.offset())),
                Ok(r) => {
                    prop_assert_eq!(r.raw(), s.as_str());
                    prop_assert_eq!(ImageRef::parse(&r.to_string()), Ok(r));
                }
            }
        }

        #[test]
        fn valid_references_round_trip(s in reference_text()) {
            let r = ImageRef::parse(&s).map_err(|e| TestCaseError::fail(format!("{s}: {e}")))?;
            let shown = r.to_string();
            let again = ImageRef::parse(&shown).map_err(|e| TestCaseError::fail(format!("{shown}: {e}")))?;
            prop_assert_eq!(&again, &r);
            prop_assert_eq!(again.to_string(), shown);
            prop_assert!(again.has_explicit_registry());
            for span in [r.registry_span(), Some(r.repository_span()), r.tag_span(), r.digest_span()].into_iter().flatten() {
                prop_assert!(span.end <= s.len() && span.start <= span.end);
            }
        }
    }
}

//! `--format cyclonedx`: the inventory as a CycloneDX 1.6 SBOM (JSON), for auditors' tools.
//!
//! Hand-written serde structs for the part of CycloneDX we emit, like SARIF's: the official
//! Rust crate (`cyclonedx-bom`) stops at spec 1.5, and a model generated from the whole schema
//! would be far bigger than the five objects used here. The output is checked against the
//! official 1.6 schema in the tests.
//!
//! The document is deterministic — the same image and inventory give the same bytes:
//! - `serialNumber` is a name-based UUID (version 5, RFC 4122) in stowage's own namespace
//!   [`SERIAL_NAMESPACE`], of the OS image's digest (`sha256:…`); an image without a digest (a
//!   `rootfs:` tree) gets the UUID of `content:` + the SHA-256 of the document without its
//!   serial number.
//! - `metadata.timestamp` is `SOURCE_DATE_EPOCH` when set, else the image's creation time,
//!   else absent (the schema makes it optional).
//! - components follow the inventory's order; a `bom-ref` is `METHOD:PATH` (the copy's own
//!   path inside the OS image), with `#2`, `#3`… for further images at the same path (the
//!   entries of one OCI layout).
//!
//! The OS image is `metadata.component`; every image of the inventory is a `container`
//! component with a `pkg:oci` purl when it has a name (canonical form of the PURL standard:
//! the name is the repository's last path component, lowercased; the version the digest; the
//! `arch` qualifier only for a single-platform copy), its manifest digest as a hash, and
//! stowage's facts as `stowage:` properties. Bound images are listed with `stowage:carried`
//! `false`.

use super::ImageInfo;
use crate::image::Transport;
use crate::inventory::{EmbeddedImage, Inventory, Method};
use crate::reference::imageref::ImageRef;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};

pub const SPEC_VERSION: &str = "1.6";
const SCHEMA: &str = "http://cyclonedx.org/schema/bom-1.6.schema.json";
/// The `bom-ref` of the OS image; carried images' refs start with their method, never this.
pub const OS_IMAGE_REF: &str = "os-image";
/// The namespace of stowage's serial numbers (a random UUID, fixed once).
pub const SERIAL_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0xb98c_a3ee_f7ee_4b17_8b2e_8729_9c22_8704);
/// The OCI label whose value is the OS image's version.
const VERSION_LABEL: &str = "org.opencontainers.image.version";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bom {
    #[serde(rename = "$schema")]
    schema: &'static str,
    bom_format: &'static str,
    spec_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    serial_number: Option<String>,
    version: u32,
    metadata: Metadata,
    components: Vec<Component>,
    dependencies: Vec<Dependency>,
}

#[derive(Serialize)]
struct Metadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<String>,
    lifecycles: Vec<Lifecycle>,
    tools: Tools,
    component: Component,
}

#[derive(Serialize)]
struct Lifecycle {
    phase: &'static str,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<Component>,
}

#[derive(Serialize)]
struct Component {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    bom_ref: Option<String>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

#[derive(Serialize)]
struct Hash {
    alg: &'static str,
    content: String,
}

#[derive(Serialize)]
struct Property {
    name: String,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    depends_on: Vec<String>,
}

/// The CycloneDX document of `inv`, the inventory of `image`; `epoch` is `SOURCE_DATE_EPOCH`.
pub fn render(image: &ImageInfo, inv: &Inventory, epoch: Option<u64>) -> String {
    let mut refs = RefAllocator::default();
    let components: Vec<Component> =
        inv.images.iter().map(|i| carried(i, refs.next(i.method, &i.path))).collect();
    let dependencies = vec![Dependency {
        reference: OS_IMAGE_REF.to_string(),
        depends_on: components.iter().filter_map(|c| c.bom_ref.clone()).collect(),
    }];
    let timestamp = match epoch {
        Some(secs) => Some(super::rfc3339(secs)),
        None => image.created.as_deref().filter(|c| is_rfc3339(c)).map(str::to_string),
    };
    let mut bom = Bom {
        schema: SCHEMA,
        bom_format: "CycloneDX",
        spec_version: SPEC_VERSION,
        serial_number: None,
        version: 1,
        metadata: Metadata {
            timestamp,
            lifecycles: vec![Lifecycle { phase: "post-build" }],
            tools: Tools {
                components: vec![Component {
                    kind: "application",
                    bom_ref: None,
                    name: "stowage".into(),
                    version: Some(env!("CARGO_PKG_VERSION").into()),
                    hashes: Vec::new(),
                    purl: None,
                    properties: Vec::new(),
                }],
            },
            component: os_image(image, inv),
        },
        components,
        dependencies,
    };
    let name = match &image.digest {
        Some(digest) => digest.clone(),
        None => format!("content:{}", hex::encode(Sha256::digest(to_json(&bom).as_bytes()))),
    };
    bom.serial_number = Some(serial_number(&name));
    to_json(&bom)
}

/// `urn:uuid:` + the version-5 UUID of `name` in [`SERIAL_NAMESPACE`].
pub fn serial_number(name: &str) -> String {
    format!("urn:uuid:{}", uuid::Uuid::new_v5(&SERIAL_NAMESPACE, name.as_bytes()).hyphenated())
}

fn to_json(bom: &Bom) -> String {
    let mut text = serde_json::to_string_pretty(bom).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    text.push('\n');
    text
}

/// `bom-ref`s: `METHOD:PATH`, then `#2`, `#3`… for the next images at the same path.
#[derive(Default)]
struct RefAllocator {
    used: HashSet<String>,
}

impl RefAllocator {
    fn next(&mut self, method: Method, path: &str) -> String {
        let base = format!("{}:{path}", method.as_str());
        let mut candidate = base.clone();
        let mut n = 1;
        // A path may itself end in `#2`: skip every ref already given.
        while self.used.contains(&candidate) {
            n += 1;
            candidate = format!("{base}#{n}");
        }
        self.used.insert(candidate.clone());
        candidate
    }
}

fn os_image(image: &ImageInfo, inv: &Inventory) -> Component {
    let transport = Transport::parse(&image.reference).ok();
    // docker-archive has no manifest: its "digest" is the config's, the image ID.
    let image_id = matches!(transport, Some(Transport::DockerArchive { .. }));
    let mut properties = vec![prop("stowage:image", &image.reference)];
    if let Some(digest) = &image.digest {
        properties.push(prop(if image_id { "stowage:image_id" } else { "stowage:digest" }, digest));
    }
    if let Some(arch) = &inv.target_arch {
        properties.push(prop("stowage:architecture", arch));
    }
    if let Some(created) = &image.created {
        properties.push(prop("stowage:created", created));
    }
    for (key, value) in &image.labels {
        properties.push(prop(&format!("stowage:label:{key}"), value));
    }
    for store in &inv.stores {
        for problem in &store.problems {
            properties.push(prop("stowage:problem", &format!("store {}: {problem}", store.path)));
        }
    }
    for problem in
        inv.config.problems.iter().map(|p| format!("config: {p}")).chain(inv.problems.iter().cloned())
    {
        properties.push(prop("stowage:problem", &problem));
    }
    // A registry reference names the image: docker://REF, containers-storage:REF.
    let named = match &transport {
        Some(Transport::Docker { reference }) | Some(Transport::ContainersStorage { reference, .. }) => {
            ImageRef::parse(reference).ok().filter(ImageRef::has_explicit_registry)
        }
        _ => None,
    };
    let digest = if image_id { None } else { image.digest.as_deref() };
    Component {
        kind: "container",
        bom_ref: Some(OS_IMAGE_REF.to_string()),
        name: image.reference.clone(),
        version: image.labels.get(VERSION_LABEL).filter(|v| !v.is_empty()).cloned(),
        hashes: digest.and_then(hash).into_iter().collect(),
        purl: named.map(|r| purl(&r, digest, None, true)),
        properties,
    }
}

fn carried(image: &EmbeddedImage, bom_ref: String) -> Component {
    let first = image.names.iter().find(|n| !n.is_empty());
    let parsed = first.and_then(|n| ImageRef::parse(n).ok()).filter(|r| match image.method {
        // A layout's `ref.name` or an archive's name is a tag, unless it names a registry.
        Method::OciLayout | Method::Archive => r.has_explicit_registry(),
        _ => true,
    });
    let (name, version) = match (&parsed, first) {
        (Some(r), _) => {
            (r.raw()[..r.repository_span().end].to_string(), r.tag().or(r.digest()).map(str::to_string))
        }
        (None, Some(n)) => (n.clone(), None),
        (None, None) if !image.path.is_empty() => (image.path.clone(), None),
        (None, None) => (image.method.as_str().to_string(), None),
    };
    // A short name in a bound image is resolved on the device (registries.conf), so its
    // registry is unknown; stores and `dir:` copies normalise short names to docker.io.
    let qualified =
        parsed.as_ref().is_some_and(|r| r.has_explicit_registry() || image.method != Method::Bound);
    let digest = image.digest.as_deref().or_else(|| parsed.as_ref().and_then(ImageRef::digest));
    let arch = match image.architectures.as_slice() {
        [one] if !image.index => Some(one.split('/').next().unwrap_or(one)),
        _ => None,
    };
    Component {
        kind: "container",
        bom_ref: Some(bom_ref),
        name,
        version,
        hashes: image.digest.as_deref().and_then(hash).into_iter().collect(),
        purl: parsed.as_ref().map(|r| purl(r, digest, arch, qualified)),
        properties: facts(image),
    }
}

/// stowage's facts about a carried image, in a fixed order.
fn facts(image: &EmbeddedImage) -> Vec<Property> {
    let mut p = vec![
        prop("stowage:carried", if image.method == Method::Bound { "false" } else { "true" }),
        prop("stowage:method", image.method.as_str()),
        prop("stowage:store", &image.store),
        prop("stowage:path", &image.path),
        prop("stowage:complete", if image.complete { "true" } else { "false" }),
        prop("stowage:visible_to_crio", if image.visible_to_crio { "true" } else { "false" }),
    ];
    if !image.visibility.is_empty() {
        p.push(prop("stowage:visibility", &image.visibility));
    }
    p.push(prop("stowage:size", &image.size.to_string()));
    if image.digest.is_some() {
        p.push(prop("stowage:index", if image.index { "true" } else { "false" }));
    }
    p.extend(image.names.iter().map(|n| prop("stowage:name", n)));
    p.extend(image.architectures.iter().map(|a| prop("stowage:architecture", a)));
    p.extend(image.digests.iter().map(|d| prop("stowage:digest", d)));
    if let Some(id) = &image.id {
        p.push(prop("stowage:id", id));
    }
    p.extend(image.problems.iter().map(|m| prop("stowage:problem", m)));
    p.extend(image.warnings.iter().map(|m| prop("stowage:warning", m)));
    p
}

fn prop(name: &str, value: &str) -> Property {
    Property { name: name.to_string(), value: value.to_string() }
}

/// The CycloneDX hash of a `sha256:`/`sha512:` digest; `None` for anything else.
fn hash(digest: &str) -> Option<Hash> {
    let (algorithm, hex) = digest.split_once(':')?;
    let (alg, len) = match algorithm {
        "sha256" => ("SHA-256", 64),
        "sha512" => ("SHA-512", 128),
        _ => return None,
    };
    (hex.len() == len && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| Hash { alg, content: hex.to_string() })
}

/// `pkg:oci/NAME[@DIGEST][?arch=…&repository_url=…&tag=…]` in the PURL standard's canonical
/// form: name = last path component of the repository, lowercased; qualifiers sorted; `:`
/// left as it is and every other character outside `[A-Za-z0-9.-_~]` percent-encoded.
/// `qualified`: the registry is known, so `repository_url` is given.
pub(crate) fn purl(r: &ImageRef, digest: Option<&str>, arch: Option<&str>, qualified: bool) -> String {
    let repository = r.repository();
    let last = repository.rsplit('/').next().unwrap_or(repository).to_lowercase();
    let mut out = format!("pkg:oci/{}", percent_encode(&last));
    if let Some(d) = digest {
        out.push('@');
        out.push_str(&percent_encode(d));
    }
    let mut qualifiers: BTreeMap<&str, String> = BTreeMap::new();
    if let Some(a) = arch.filter(|a| !a.is_empty()) {
        qualifiers.insert("arch", a.to_string());
    }
    if qualified {
        qualifiers.insert("repository_url", r.name());
    }
    if let Some(t) = r.tag() {
        qualifiers.insert("tag", t.to_string());
    }
    let query: Vec<String> = qualifiers.iter().map(|(k, v)| format!("{k}={}", percent_encode(v))).collect();
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query.join("&"));
    }
    out
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// RFC 3339 `date-time`: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, a real date and time.
/// An image's `created` that is not one is left out of the timestamp (the schema checks it).
fn is_rfc3339(text: &str) -> bool {
    let Some((date, time)) = text.split_once('T') else { return false };
    if crate::config::date::Date::parse(date).is_none() {
        return false;
    }
    let (clock, zone) = match time.find(['Z', '+', '-']) {
        Some(at) => time.split_at(at),
        None => return false,
    };
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, f)) => (hms, Some(f)),
        None => (clock, None),
    };
    let two = |s: &str, max: u32| {
        s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u32>().is_ok_and(|v| v <= max)
    };
    let hms: Vec<&str> = hms.split(':').collect();
    let clock_ok = matches!(hms.as_slice(), [h, m, s] if two(h, 23) && two(m, 59) && two(s, 59));
    let fraction_ok = fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    let zone_ok = zone == "Z"
        || (zone.len() == 6
            && matches!(zone.split_at(1).1.split_once(':'), Some((h, m)) if two(h, 23) && two(m, 59)));
    clock_ok && fraction_ok && zone_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> ImageRef {
        ImageRef::parse(text).expect("a valid reference")
    }

    #[test]
    fn purls_follow_the_standard_canonical_form() {
        // The `build` vectors of the PURL standard's oci type tests.
        assert_eq!(
            purl(&r("docker.io/library/debian:latest"), Some("sha256:244fd47e07d10"), Some("amd64"), true),
            "pkg:oci/debian@sha256:244fd47e07d10?arch=amd64&repository_url=docker.io%2Flibrary%2Fdebian&tag=latest"
        );
        assert_eq!(
            purl(&r("ghcr.io/debian:bullseye"), Some("sha256:244fd47e07d10"), None, true),
            "pkg:oci/debian@sha256:244fd47e07d10?repository_url=ghcr.io%2Fdebian&tag=bullseye"
        );
        assert_eq!(
            purl(&r("gcr.io/distroless/static:latest"), Some("sha256:244fd47e07d10"), None, true),
            "pkg:oci/static@sha256:244fd47e07d10?repository_url=gcr.io%2Fdistroless%2Fstatic&tag=latest"
        );
        // A registry port keeps its colon; a short name is normalised like containers/image;
        // no digest, no version; an unknown registry, no repository_url.
        assert_eq!(
            purl(&r("localhost:5000/team/app"), None, None, true),
            "pkg:oci/app?repository_url=localhost:5000%2Fteam%2Fapp"
        );
        assert_eq!(
            purl(&r("nginx:1"), None, None, true),
            "pkg:oci/nginx?repository_url=docker.io%2Flibrary%2Fnginx&tag=1"
        );
        assert_eq!(purl(&r("nginx:1"), None, None, false), "pkg:oci/nginx?tag=1");
    }

    #[test]
    fn serial_numbers_are_version_5_uuids_of_the_digest() {
        let a = serial_number("sha256:5ccff81bb88af1cab19cb6778eef1d67305a1bd5df5108b42e9a7dff33aa7c31");
        assert_eq!(
            a,
            serial_number("sha256:5ccff81bb88af1cab19cb6778eef1d67305a1bd5df5108b42e9a7dff33aa7c31")
        );
        assert_ne!(
            a,
            serial_number("sha256:77bb24d54584b73a8cb6043f4accd5cf6f6fd9dd35424f93b6cc2b6927a289cd")
        );
        // Python's uuid.uuid5(UUID("b98ca3ee-f7ee-4b17-8b2e-87299c228704"), digest) agrees.
        assert_eq!(a, "urn:uuid:54f846b2-ac46-5cf3-aba2-f037080a4ec4");
        // urn:uuid:xxxxxxxx-xxxx-5xxx-[89ab]xxx-xxxxxxxxxxxx
        let uuid = a.strip_prefix("urn:uuid:").expect("a UUID URN");
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "5");
        assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn hashes_only_for_well_formed_sha_digests() {
        let hex = "5ccff81bb88af1cab19cb6778eef1d67305a1bd5df5108b42e9a7dff33aa7c31";
        let h = hash(&format!("sha256:{hex}")).expect("a hash");
        assert_eq!((h.alg, h.content.as_str()), ("SHA-256", hex));
        assert!(hash(&format!("sha512:{hex}{hex}")).is_some_and(|h| h.alg == "SHA-512"));
        assert!(hash("sha256:5ccff8").is_none());
        assert!(hash(&format!("md5:{hex}")).is_none());
        assert!(hash(hex).is_none());
    }

    #[test]
    fn only_rfc3339_creation_times_become_timestamps() {
        for ok in ["2023-11-14T22:13:20Z", "2024-02-29T00:00:00.123456789Z", "2024-05-01T10:20:30+02:00"] {
            assert!(is_rfc3339(ok), "{ok}");
        }
        for bad in [
            "",
            "2023-11-14",
            "2023-11-14 22:13:20Z",
            "2023-02-30T00:00:00Z",
            "2023-11-14T24:00:00Z",
            "2023-11-14T22:13:20",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20+2:00",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }

    #[test]
    fn bom_refs_are_unique_per_path() {
        let mut refs = RefAllocator::default();
        let mut next = |path: &str| refs.next(Method::OciLayout, path);
        assert_eq!(next("/l"), "oci-layout:/l");
        assert_eq!(next("/l"), "oci-layout:/l#2");
        assert_eq!(next("/m"), "oci-layout:/m");
        assert_eq!(next("/l#3"), "oci-layout:/l#3");
        assert_eq!(next("/l"), "oci-layout:/l#4");
        assert_eq!(refs.next(Method::Dir, "/l"), "dir:/l");
    }
}

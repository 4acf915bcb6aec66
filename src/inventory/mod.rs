//! What a built bootc image carries: every embedded container image, how it is carried
//! (DOMAIN.md §2), whether it is complete, and whether CRI-O will see it.
//!
//! Everything here reads a [`FileView`] (the merged, watched files of the image) and nothing
//! else. A broken store is data in the [`Inventory`] (a problem on a row or on a store), never
//! an error: only an image that cannot be read at all fails, and that happens before this
//! module is reached.

pub mod bound;
pub mod config;
pub mod copyservice;
pub mod copystep;
pub mod cstorage;
pub mod dircopy;
mod manifest;
pub mod oci;
pub mod plan;
pub mod policy;

use crate::image::view::FileView;
use config::EffectiveConfig;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// How an image is carried inside the OS image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// A `skopeo copy ... dir:` directory named in an image list (§2.A).
    Dir,
    /// An image in a read-only containers-storage store inside the image (§2.B).
    ContainersStorage,
    /// An OCI image layout directory (§2.C).
    OciLayout,
    /// An `oci-archive` / `docker-archive` tarball (§2.C).
    Archive,
    /// A logically bound image: named, not carried (§2.D).
    Bound,
    /// An image in the default store `/var/lib/containers/storage` (§2.E).
    DefaultStore,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Dir => "dir",
            Method::ContainersStorage => "containers-storage",
            Method::OciLayout => "oci-layout",
            Method::Archive => "archive",
            Method::Bound => "bound",
            Method::DefaultStore => "default-store",
        }
    }
}

/// One image found inside the OS image (one row of `stowage inventory`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EmbeddedImage {
    /// The names it is (or will be, for `dir:` copies) known by, as written in the store or
    /// list; empty when nothing names it.
    pub names: Vec<String>,
    /// The digest of its top manifest (a manifest list / index when one was copied).
    pub digest: Option<String>,
    /// Every digest a digest reference can match it by (containers/storage's digest list:
    /// `digest` plus every `manifest*` big-data digest; for a `dir:` copy, its manifest and
    /// per-platform manifests).
    pub digests: Vec<String>,
    pub method: Method,
    /// The store root, list file or directory that holds it.
    pub store: String,
    /// The image's own path inside the OS image (copy directory, big-data directory, layout,
    /// archive, bound-images.d link).
    pub path: String,
    /// OCI architectures available (`amd64`, `arm64/v8`); several for a `--all` copy; empty
    /// when unknown.
    pub architectures: Vec<String>,
    /// Bytes on disk inside the OS image (files of the copy, big data plus layer diff sizes
    /// for a store, the archive file).
    pub size: u64,
    /// True when everything needed to run it is present.
    pub complete: bool,
    /// Why it is incomplete (empty when complete).
    pub problems: Vec<String>,
    /// Hazards that do not make it incomplete (architecture mismatch, wrong list hash, ...).
    pub warnings: Vec<String>,
    /// Whether CRI-O will find it: configured store with its lock files, or a `dir:` copy
    /// with the copy service installed.
    pub visible_to_crio: bool,
    /// Why (or why not) CRI-O will see it.
    pub visibility: String,
    /// containers-storage image ID, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// For a `dir:` copy named in an image list: the list line (1-based) and whether its `H`
    /// is sha256(REF + newline).
    #[serde(skip)]
    pub list_line: Option<ListLine>,
    /// For a `dir:` copy: what the boot-time copy step does with it (`None` when nothing runs
    /// the step over its list).
    #[serde(skip)]
    pub copy: Option<copystep::LineOutcome>,
    /// Its top manifest is a manifest list / OCI index.
    #[serde(skip)]
    pub index: bool,
    /// For a `dir:` copy of one image manifest: its layer blobs, each with whether the copy
    /// holds it (a missing one can be reused from the store, see `dircopy`).
    #[serde(skip)]
    pub layer_blobs: Vec<(String, bool)>,
}

/// Where a `dir:` copy is named in its image list, and whether the line is well-formed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListLine {
    pub line: u32,
    pub hash: String,
    /// sha256(REF + newline), the `H` the documented recipe writes.
    pub expected_hash: String,
}

impl ListLine {
    pub fn hash_valid(&self) -> bool {
        self.hash == self.expected_hash
    }
}

impl EmbeddedImage {
    fn new(method: Method, store: impl Into<String>, path: impl Into<String>) -> Self {
        EmbeddedImage {
            names: Vec::new(),
            digest: None,
            digests: Vec::new(),
            method,
            store: store.into(),
            path: path.into(),
            architectures: Vec::new(),
            size: 0,
            complete: true,
            problems: Vec::new(),
            warnings: Vec::new(),
            visible_to_crio: false,
            visibility: String::new(),
            id: None,
            list_line: None,
            copy: None,
            index: false,
            layer_blobs: Vec::new(),
        }
    }

    fn problem(&mut self, message: impl Into<String>) {
        self.complete = false;
        self.problems.push(message.into());
    }

    fn visible(&mut self, visible: bool, why: impl Into<String>) {
        self.visible_to_crio = visible;
        self.visibility = why.into();
    }
}

/// One store (list file, containers-storage root, layout root) that was examined.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoreInfo {
    pub path: String,
    /// `image-list`, `overlay`, `vfs`, `oci-layout`, `bound-images.d`.
    pub kind: String,
    pub method: Method,
    /// Named in the effective configuration (storage.conf / CRI-O) or served by the copy
    /// service.
    pub configured: bool,
    pub images: usize,
    /// What is wrong with the store as a whole (unreadable metadata, missing lock files).
    pub problems: Vec<String>,
    /// Lock files a read-only containers-storage store needs and lacks (absolute paths).
    #[serde(skip)]
    pub missing_locks: Vec<String>,
    /// Image list lines that are not `REF,H` (1-based line, text).
    #[serde(skip)]
    pub malformed_lines: Vec<(u32, String)>,
}

/// Everything the OS image carries, and the configuration that decides who sees it.
#[derive(Clone, Debug, Serialize)]
pub struct Inventory {
    /// The OS image's architecture (OCI form), when known: embedded images are compared to it.
    pub target_arch: Option<String>,
    pub images: Vec<EmbeddedImage>,
    pub stores: Vec<StoreInfo>,
    pub config: EffectiveConfig,
    /// Problems of the image as a whole (e.g. what makes `bootc` refuse its bound images).
    pub problems: Vec<String>,
    /// The MicroShift copy service that makes `dir:` copies visible to CRI-O.
    #[serde(skip)]
    pub copy_service: copyservice::CopyService,
}

impl Inventory {
    /// Images by method, in [`Method`] order, for the summary line.
    pub fn count_by_method(&self) -> Vec<(Method, usize)> {
        let mut counts: std::collections::BTreeMap<Method, usize> = Default::default();
        for i in &self.images {
            *counts.entry(i.method).or_default() += 1;
        }
        counts.into_iter().collect()
    }

    pub fn total_size(&self) -> u64 {
        self.images.iter().map(|i| i.size).sum()
    }
}

/// Inventory of an image's file view. `target_arch` is the OS image's architecture (from its
/// config; any of `amd64`/`x86_64`/`arm64`/`aarch64`), used to flag foreign images.
pub fn inventory(view: &FileView, target_arch: Option<&str>) -> Inventory {
    let target_arch = target_arch.map(|a| crate::reference::platform::oci_arch(a).to_string());
    let config = config::read(view);
    let mut images = Vec::new();
    let mut stores = Vec::new();
    let mut problems = Vec::new();

    let broken = cstorage::storage_failure(view, &config);
    let copy_service =
        dircopy::read(view, target_arch.as_deref(), broken.as_deref(), &mut images, &mut stores);
    cstorage::read(view, &config, &mut images, &mut stores);
    oci::read(view, &config, &mut images, &mut stores);
    bound::read(view, &mut images, &mut stores, &mut problems);
    if let Some(why) = &broken {
        for image in images.iter_mut().filter(|i| i.method != Method::Bound) {
            image.visible(false, why.clone());
        }
        problems.push(why.clone());
    }

    if let Some(target) = &target_arch {
        for image in images.iter_mut().filter(|i| i.method != Method::Bound) {
            if !image.architectures.is_empty() && !image.architectures.iter().any(|a| same_arch(a, target)) {
                image.warnings.push(format!(
                    "built for {}, not for the OS image's architecture {target}",
                    image.architectures.join(", ")
                ));
            }
        }
    }
    Inventory { target_arch, images, stores, config, problems, copy_service }
}

/// `arm64/v8` matches `arm64`; uname names match their OCI names.
pub fn same_arch(available: &str, target: &str) -> bool {
    let base = |a: &str| crate::reference::platform::oci_arch(a.split('/').next().unwrap_or(a)).to_string();
    base(available) == base(target)
}

/// `sha256:<hex>` of some bytes.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let sum = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in sum.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// True for a bare lowercase 64-hex name (a sha256 digest's encoded part).
pub(crate) fn is_hex64(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Sum of the sizes of the regular files at or below `path`.
pub(crate) fn tree_size(view: &FileView, path: &str) -> u64 {
    view.walk(path)
        .map(|(_, e)| match e {
            crate::image::view::Entry::File { size, .. } => *size,
            _ => 0,
        })
        .sum()
}

/// Join an absolute directory and a relative name.
pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') { format!("{dir}{name}") } else { format!("{dir}/{name}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_names() {
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(is_hex64(&"a1".repeat(32)));
        assert!(!is_hex64(&"A1".repeat(32)));
        assert!(same_arch("arm64/v8", "aarch64"));
        assert!(!same_arch("arm64", "amd64"));
    }
}

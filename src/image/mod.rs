//! Reading a built bootc image: transports, layer streaming, and the merged view of the few
//! files an audit needs.
//!
//! [`open`] parses an `--image` value (containers-transports(5) syntax plus `rootfs:DIR`),
//! finds the image's manifest and config, streams every layer once in parallel (largest
//! first, each verified against its digest in the same pass), and merges the layers' watched
//! changes into one [`FileView`]. Per-layer results are cached by layer digest.

mod archive;
pub mod blobs;
pub mod cache;
pub mod gzip;
pub mod layer;
pub mod manifest;
pub mod progress;
pub mod records;
pub mod registry;
mod rootfs;
pub mod spec;
mod storage;
pub mod toc;
pub mod view;

use crate::reference::platform::Platform;
use blobs::{BlobRef, BlobSource};
use cache::Cache;
use layer::{Expect, LayerChanges};
pub use spec::{SpecError, Transport};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
pub use view::FileView;

/// How to read an image.
#[derive(Clone, Debug)]
pub struct ImageOptions {
    /// The platform chosen in a multi-platform index.
    pub platform: Platform,
    /// Use and fill the per-layer cache (`--no-cache` clears it).
    pub use_cache: bool,
    /// Cache directory; default `$XDG_CACHE_HOME/stowage` (or `~/.cache/stowage`).
    pub cache_dir: Option<PathBuf>,
    /// Stream every layer in full even when a table of contents would do (`--verify`).
    pub verify: bool,
    /// `--tls-verify=false` allows plain HTTP and unverified certificates for a registry.
    pub tls_verify: bool,
    /// `--cert-dir`: `*.crt` CA certificates trusted for the registry, `NAME.cert` +
    /// `NAME.key` client certificates (skopeo's layout).
    pub cert_dir: Option<PathBuf>,
    /// `--creds USER[:PASSWORD]` for the registry, instead of the auth files.
    pub creds: Option<String>,
    /// `--authfile`: the auth file to use instead of the default search.
    pub auth_file: Option<PathBuf>,
    /// Show progress on stderr (only effective on a terminal).
    pub progress: bool,
    /// What to watch besides the audit's paths (`/var` for `stowage diff`).
    pub watch: view::Watch,
    /// Layers already read in this run, shared between the images of one command (`diff`
    /// reads a layer OLD and NEW share once, cache or no cache).
    pub shared: Option<SharedLayers>,
}

/// The layers read in this run, by cache key (layer digest): cheap to clone, shared.
#[derive(Clone, Debug, Default)]
pub struct SharedLayers(std::sync::Arc<Mutex<BTreeMap<String, LayerChanges>>>);

impl SharedLayers {
    fn get(&self, key: &str) -> Option<LayerChanges> {
        self.0.lock().ok()?.get(key).cloned()
    }

    fn put(&self, key: &str, changes: &LayerChanges) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(key.to_string(), changes.clone());
        }
    }
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions {
            platform: Platform::default(),
            use_cache: true,
            cache_dir: None,
            verify: false,
            tls_verify: true,
            cert_dir: None,
            creds: None,
            auth_file: None,
            progress: false,
            watch: view::Watch::default(),
            shared: None,
        }
    }
}

/// The image's own configuration: the target platform for later checks.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImageConfig {
    pub architecture: Option<String>,
    pub os: Option<String>,
    pub variant: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub created: Option<String>,
    /// The manifest digest, when the transport has one.
    pub digest: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImageStats {
    pub layers: usize,
    /// Blob bytes read (compressed, as stored).
    pub bytes_read: u64,
    /// Layers whose result came from the cache (not read, not downloaded).
    pub cached_layers: usize,
    /// Entries ignored because their path escaped the image root.
    pub unsafe_entries: u64,
    /// Layers listed from their table of contents (zstd:chunked, eStargz) instead of being read in
    /// full: their watched contents were checked against the TOC's digests, but their blob
    /// digests were not verified (`--verify` reads them in full).
    pub toc_layers: usize,
    /// Range reads made for those layers (HTTP requests over a registry).
    pub range_reads: u64,
    /// Layers another image of the same run had read already ([`ImageOptions::shared`]).
    pub shared_layers: usize,
}

/// An image, read.
#[derive(Clone, Debug)]
pub struct OpenedImage {
    /// The `--image` value as given.
    pub spec: String,
    pub view: FileView,
    pub config: ImageConfig,
    pub stats: ImageStats,
}

/// Why an image could not be read; always names the image.
#[derive(Debug, thiserror::Error)]
#[error("cannot read image `{image}`: {cause}")]
pub struct ImageError {
    pub image: String,
    pub cause: Cause,
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum Cause {
    #[error("{0}")]
    Spec(String),
    /// The `--image` value itself is not in the transports syntax.
    #[error(transparent)]
    Transport(SpecError),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("corrupt image: {0}")]
    Corrupt(String),
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { expected: String, actual: String },
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("registry: {0}")]
    Registry(String),
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The registry (or its token server) gave no answer: refused connection, TLS failure,
    /// timeout.
    #[error("registry: {0}")]
    Unreachable(String),
    #[error("layer {layer}: {cause}")]
    Layer { layer: String, cause: Box<Cause> },
}

impl Cause {
    pub fn io(path: &Path, e: std::io::Error) -> Cause {
        let message = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => e.to_string(),
        };
        Cause::Io { path: path.display().to_string(), message }
    }
}

/// Open the image named by `spec` and read its watched view.
pub fn open(spec: &str, opts: &ImageOptions) -> Result<OpenedImage, ImageError> {
    let wrap = |cause| ImageError { image: spec.to_string(), cause };
    let transport = Transport::parse(spec).map_err(|e| wrap(Cause::Transport(e)))?;
    let (view, config, stats) = match transport {
        Transport::Rootfs { dir } => rootfs::open(&dir, opts.watch).map_err(wrap)?,
        Transport::ContainersStorage { driver, root, reference } => {
            storage::open(driver.as_deref(), root.as_deref(), &reference, opts.watch).map_err(wrap)?
        }
        Transport::Oci { dir, tag } => {
            let source = blobs::LayoutDir { dir: dir.clone() };
            if !dir.join("index.json").is_file() {
                let what =
                    if dir.is_dir() { "has no index.json: not an OCI layout" } else { "does not exist" };
                return Err(wrap(Cause::NotFound(format!("{} {what}", dir.display()))));
            }
            let plan = archive::oci_layout_plan(&source, tag.as_deref(), &opts.platform).map_err(wrap)?;
            read_plan(&source, plan, opts).map_err(wrap)?
        }
        Transport::OciArchive { file, tag } => {
            let source = blobs::TarArchive::index(&file).map_err(wrap)?;
            if !source.has("index.json") {
                return Err(wrap(Cause::Corrupt(format!(
                    "{} has no index.json: not an OCI archive",
                    file.display()
                ))));
            }
            let plan = archive::oci_layout_plan(&source, tag.as_deref(), &opts.platform).map_err(wrap)?;
            read_plan(&source, plan, opts).map_err(wrap)?
        }
        Transport::DockerArchive { file, reference } => {
            let source = blobs::TarArchive::index(&file).map_err(wrap)?;
            let plan = archive::docker_archive_plan(&source, reference.as_deref()).map_err(wrap)?;
            read_plan(&source, plan, opts).map_err(wrap)?
        }
        Transport::Docker { reference } => registry::open(&reference, opts).map_err(wrap)?,
    };
    Ok(OpenedImage { spec: spec.to_string(), view, config, stats })
}

/// One layer to read.
#[derive(Clone, Debug)]
pub struct LayerDesc {
    pub blob: BlobRef,
    pub expect: Expect,
    /// Size as stored (for ordering and progress); 0 when unknown.
    pub size: u64,
    /// The table of contents (zstd:chunked, eStargz) announced by the manifest's annotations.
    pub toc: Option<toc::TocHint>,
}

impl LayerDesc {
    /// The cache key: only a layer whose content is pinned by a digest is cached.
    fn cache_key(&self) -> Option<&str> {
        match &self.expect {
            Expect::Blob(d) | Expect::Uncompressed(d) => Some(d),
            Expect::Nothing => None,
        }
    }
}

/// What a transport found: the layers bottom-up and the config.
pub struct Plan {
    pub layers: Vec<LayerDesc>,
    pub config: ImageConfig,
}

/// The layers of `plan` already known: read by another image of this run, or in the cache;
/// with how many came from each (cache, shared).
fn known_layers(
    plan: &Plan,
    opts: &ImageOptions,
    cache: &Cache,
) -> (Vec<Option<LayerChanges>>, usize, usize) {
    let mut results: Vec<Option<LayerChanges>> = vec![None; plan.layers.len()];
    let (mut cached, mut shared) = (0, 0);
    for (i, layer) in plan.layers.iter().enumerate() {
        let Some(key) = layer.cache_key() else { continue };
        if let Some(changes) = opts.shared.as_ref().and_then(|s| s.get(key)) {
            results[i] = Some(changes);
            shared += 1;
        } else if let Some(changes) = cache.get(key) {
            results[i] = Some(changes);
            cached += 1;
        }
    }
    (results, cached, shared)
}

/// Read every layer of `plan` (cached ones excepted), largest first on all rayon threads,
/// then merge them bottom-up.
pub(crate) fn read_plan(
    source: &dyn BlobSource,
    plan: Plan,
    opts: &ImageOptions,
) -> Result<(FileView, ImageConfig, ImageStats), Cause> {
    let cache = Cache::new(opts);
    let n = plan.layers.len();
    let (mut results, cached, shared) = known_layers(&plan, opts, &cache);
    let mut todo: Vec<usize> = (0..n).filter(|i| results[*i].is_none()).collect();
    todo.sort_by_key(|i| std::cmp::Reverse(plan.layers[*i].size));
    let total: u64 = todo.iter().map(|i| plan.layers[*i].size).sum();
    let bytes = AtomicU64::new(0);
    let requests = AtomicU64::new(0);
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::<(usize, Result<(LayerChanges, bool), Cause>)>::new());
    let progress = progress::Progress::start(opts.progress, todo.len(), total);
    rayon::scope(|s| {
        for _ in 0..rayon::current_num_threads().min(todo.len()) {
            s.spawn(|_| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = todo.get(k) else { break };
                    let layer = &plan.layers[i];
                    // A table of contents lists the audit's paths only: watching `/var` reads in full.
                    let toc = if opts.verify || opts.watch != view::Watch::default() {
                        Ok(None)
                    } else {
                        toc::read_layer(source, layer, &bytes, &requests)
                    };
                    let result = match toc {
                        Ok(Some(changes)) => Ok((changes, true)),
                        Ok(None) => source
                            .open(&layer.blob)
                            .and_then(|r| layer::read_layer_watching(r, &layer.expect, &bytes, opts.watch))
                            .map(|c| (c, false)),
                        Err(e) => Err(e),
                    }
                    .map_err(|cause| Cause::Layer { layer: layer.blob.to_string(), cause: Box::new(cause) });
                    let failed = result.is_err();
                    if let Ok(done) = done.lock().as_mut() {
                        done.push((i, result));
                    }
                    progress.layer_done(bytes.load(Ordering::Relaxed));
                    if failed {
                        // Stop handing out layers: the image cannot be read anyway.
                        next.store(usize::MAX / 2, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    progress.finish();
    let done = done.into_inner().unwrap_or_default();
    let mut first_error = None;
    let mut toc_layers = 0;
    for (i, result) in done {
        match result {
            Ok((changes, from_toc)) => {
                // A TOC read costs a few small reads, and its blob was not verified: only
                // full, verified reads are cached.
                if from_toc {
                    toc_layers += 1;
                } else if let Some(key) = plan.layers[i].cache_key() {
                    cache.put(key, &changes);
                }
                if let (Some(s), Some(key)) = (&opts.shared, plan.layers[i].cache_key()) {
                    s.put(key, &changes);
                }
                results[i] = Some(changes);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let mut view = FileView::new();
    let mut stats = ImageStats {
        layers: n,
        bytes_read: bytes.load(Ordering::Relaxed),
        cached_layers: cached,
        unsafe_entries: 0,
        toc_layers,
        range_reads: requests.load(Ordering::Relaxed),
        shared_layers: shared,
    };
    for (i, changes) in results.iter().enumerate() {
        let changes = changes.as_ref().ok_or_else(|| Cause::Corrupt(format!("layer {i} was not read")))?;
        stats.unsafe_entries += changes.unsafe_entries;
        layer::apply(&mut view, changes);
    }
    Ok((view, plan.config, stats))
}

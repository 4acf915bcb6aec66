//! One layer, streamed once: decompress (gzip, zstd or none, sniffed from the first bytes),
//! verify the blob digest in the same pass, keep only the watched paths (see
//! [`capture`](super::view::capture)) and skip everything else without buffering it.
//!
//! The result, [`LayerChanges`], is what the layer does to the paths an audit watches; the
//! layers' changes are applied bottom-up by [`apply`], which gives the same view as merging
//! top-down with whiteouts.

use super::Cause;
use super::view::{
    Capture, Entry, FileView, MAX_CONTENT_BYTES, Watch, normalize_path, oversized_configuration,
};
use sha2::{Digest, Sha256};
use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Decompressed bytes allowed beyond [`BOMB_RATIO`] × the compressed bytes read so far, so
/// that small layers of highly compressible files pass.
pub const BOMB_ALLOWANCE: u64 = 1 << 30;
/// Real layers inflate 2–20×; a stream inflating more than this is refused as a bomb.
pub const BOMB_RATIO: u64 = 100;

/// Watched entries one layer may record. A containers-storage store records a few per image
/// (its contents below `diff/` are skipped), a `dir:` copy a few per image: real layers stay
/// far below this.
pub const MAX_LAYER_ENTRIES: usize = 1_000_000;
/// Bytes of watched file content one layer may keep (store records, lists, configurations,
/// manifests; each file at most [`MAX_CONTENT_BYTES`]).
pub const MAX_LAYER_CONTENT: u64 = 256 << 20;

/// Counts what one layer records against [`MAX_LAYER_ENTRIES`] and [`MAX_LAYER_CONTENT`], so
/// that a hostile layer (a million copies of a 16 MiB `/etc/containers` file, compressed to
/// nothing) cannot make the view hold more than that.
#[derive(Debug, Default)]
pub struct Kept {
    entries: usize,
    content: u64,
}

impl Kept {
    /// Admit one more entry keeping `content` bytes, or say which bound it crosses.
    pub fn admit(&mut self, content: u64, what: &str) -> Result<(), Cause> {
        self.entries += 1;
        self.content = self.content.saturating_add(content);
        if self.entries > MAX_LAYER_ENTRIES {
            return Err(Cause::Unsupported(format!(
                "{what} layer records more than {MAX_LAYER_ENTRIES} entries under the watched paths (README \"Limits\")"
            )));
        }
        if self.content > MAX_LAYER_CONTENT {
            return Err(Cause::Unsupported(format!(
                "{what} layer keeps more than {} MiB of watched file content (README \"Limits\")",
                MAX_LAYER_CONTENT >> 20
            )));
        }
        Ok(())
    }
}

/// What one layer does to the watched paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LayerChanges {
    /// Directories made opaque (`.wh..wh..opq`, overlay `opaque` xattr): lower content hidden.
    pub opaque: Vec<String>,
    /// Paths deleted (`.wh.NAME`, overlay 0/0 character devices).
    pub whiteouts: Vec<String>,
    /// Entries in archive order.
    pub items: Vec<(String, Item)>,
    /// Entries ignored because their path escapes the root (`../../x`).
    pub unsafe_entries: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Entry(Entry),
    /// A hard link to another path of the image (already normalized inside the root).
    HardLink(String),
}

impl LayerChanges {
    /// Record a whiteout or opaque marker named `name` inside directory `dir`; true when
    /// `name` was one.
    pub fn whiteout_marker(&mut self, dir: &str, name: &str) -> bool {
        self.whiteout_marker_watching(dir, name, Watch::default())
    }

    /// [`whiteout_marker`](Self::whiteout_marker) for a view that watches `watch`.
    pub fn whiteout_marker_watching(&mut self, dir: &str, name: &str, watch: Watch) -> bool {
        let Some(target) = name.strip_prefix(".wh.") else { return false };
        if target == ".wh..opq" {
            if dir.is_empty() || watch.is_watched(dir) {
                self.opaque.push(if dir.is_empty() { "/".into() } else { dir.to_string() });
            }
        } else if !target.is_empty() {
            let path = format!("{dir}/{target}");
            if watch.is_watched(&path) {
                self.whiteouts.push(path);
            }
        }
        true
    }
}

/// How a blob's integrity is checked while it streams.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The digest of the bytes as stored (OCI / registry blobs).
    Blob(String),
    /// The digest of the uncompressed tar (a docker-archive layer's diff ID).
    Uncompressed(String),
    /// Nothing to verify against (local directories).
    Nothing,
}

/// Stream one layer blob and return its watched changes. `read` counts the blob bytes read
/// (for progress and statistics).
pub fn read_layer(raw: impl Read, expect: &Expect, read: &AtomicU64) -> Result<LayerChanges, Cause> {
    read_layer_watching(raw, expect, read, Watch::default())
}

/// [`read_layer`] for a view that watches `watch`.
pub fn read_layer_watching(
    raw: impl Read,
    expect: &Expect,
    read: &AtomicU64,
    watch: Watch,
) -> Result<LayerChanges, Cause> {
    let compressed = Arc::new(AtomicU64::new(0));
    let hashing = HashingReader { inner: raw, hasher: Sha256::new(), count: compressed.clone(), total: read };
    let mut src = BufReader::with_capacity(256 * 1024, hashing);
    let head = src.fill_buf().map_err(|e| Cause::Corrupt(format!("cannot read the layer: {e}")))?;
    let kind = Compression::sniff(head);
    let want_uncompressed = match expect {
        Expect::Uncompressed(d) if kind != Compression::None => Some(d.clone()),
        _ => None,
    };
    let (changes, uncompressed_digest) = match kind {
        Compression::Gzip => {
            let d = super::gzip::GzReader::new(&mut src);
            scan(guard(d, &compressed, want_uncompressed.is_some()), "gzip", watch)?
        }
        Compression::Zstd => {
            let d = zstd::stream::read::Decoder::with_buffer(&mut src)
                .map_err(|e| Cause::Corrupt(format!("zstd: {e}")))?;
            scan(guard(d, &compressed, want_uncompressed.is_some()), "zstd", watch)?
        }
        Compression::None => scan(guard(&mut src, &compressed, false), "tar", watch)?,
    };
    // Whatever follows the end of the compressed stream still belongs to the blob.
    io::copy(&mut src, &mut io::sink()).map_err(|e| Cause::Corrupt(format!("cannot read the layer: {e}")))?;
    let blob_digest = format!("sha256:{}", hex::encode(src.into_inner().hasher.finalize()));
    let (expected, actual) = match expect {
        Expect::Blob(d) => (d, &blob_digest),
        Expect::Uncompressed(d) => (d, uncompressed_digest.as_ref().unwrap_or(&blob_digest)),
        Expect::Nothing => return Ok(changes),
    };
    if !expected.starts_with("sha256:") {
        return Err(Cause::Unsupported(format!(
            "digest algorithm of `{expected}` (only sha256 is supported)"
        )));
    }
    if !expected.eq_ignore_ascii_case(actual) {
        return Err(Cause::DigestMismatch { expected: expected.clone(), actual: actual.clone() });
    }
    Ok(changes)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Compression {
    Gzip,
    Zstd,
    None,
}

impl Compression {
    fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

struct HashingReader<'a, R> {
    inner: R,
    hasher: Sha256,
    count: Arc<AtomicU64>,
    total: &'a AtomicU64,
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        self.total.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Counts (and optionally hashes) the decompressed stream and stops a decompression bomb.
struct Guard<'a, R> {
    inner: R,
    out: u64,
    compressed: &'a AtomicU64,
    hasher: Option<Sha256>,
}

fn guard<R: Read>(inner: R, compressed: &AtomicU64, hash: bool) -> Guard<'_, R> {
    Guard { inner, out: 0, compressed, hasher: hash.then(Sha256::new) }
}

impl<R: Read> Read for Guard<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out += n as u64;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        let limit =
            BOMB_ALLOWANCE.saturating_add(self.compressed.load(Ordering::Relaxed).saturating_mul(BOMB_RATIO));
        if self.out > limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "decompression bomb: {} bytes inflated from {} (more than {BOMB_RATIO}× plus 1 GiB)",
                    self.out,
                    self.compressed.load(Ordering::Relaxed)
                ),
            ));
        }
        Ok(n)
    }
}

/// Walk the tar stream, then read it to its end (so truncation is always noticed).
fn scan<R: Read>(
    mut stream: Guard<'_, R>,
    what: &str,
    watch: Watch,
) -> Result<(LayerChanges, Option<String>), Cause> {
    let corrupt = |e: io::Error| Cause::Corrupt(format!("{what} layer: {e}"));
    let mut changes = LayerChanges::default();
    let mut kept = Kept::default();
    let kind = what;
    {
        let mut archive = tar::Archive::new(&mut stream);
        for entry in archive.entries().map_err(corrupt)? {
            let mut entry = entry.map_err(corrupt)?;
            let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if escapes_root(&raw_path) {
                changes.unsafe_entries += 1;
                continue;
            }
            let Some(path) = normalize_path(&raw_path) else { continue };
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", &path));
            if changes.whiteout_marker_watching(dir, name, watch) {
                continue;
            }
            let size = entry.size();
            let what = watch.capture(&path, size);
            if what == Capture::Skip {
                continue;
            }
            if oversized_configuration(&path, size) {
                return Err(Cause::Unsupported(format!(
                    "{kind} layer: {path} is {size} bytes, more than the {} MiB read of a watched configuration file (README \"Limits\")",
                    MAX_CONTENT_BYTES >> 20
                )));
            }
            kept.admit(if what == Capture::Content { size } else { 0 }, kind)?;
            let header = entry.header();
            let mode = header.mode().unwrap_or(0o644);
            let item = match header.entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                    let content = if what == Capture::Content {
                        let mut buf = Vec::with_capacity(size as usize);
                        (&mut entry).take(size).read_to_end(&mut buf).map_err(corrupt)?;
                        Some(Arc::from(buf))
                    } else {
                        None
                    };
                    Item::Entry(Entry::File { size, mode, content })
                }
                tar::EntryType::Directory => Item::Entry(Entry::Dir { mode }),
                tar::EntryType::Symlink => {
                    let target = entry.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned());
                    Item::Entry(Entry::Symlink { target: target.unwrap_or_default() })
                }
                tar::EntryType::Link => {
                    let target = entry.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned());
                    match target.as_deref().and_then(normalize_path) {
                        Some(t) => Item::HardLink(t),
                        None => continue,
                    }
                }
                tar::EntryType::Char => Item::Entry(Entry::Other { kind: 'c' }),
                tar::EntryType::Block => Item::Entry(Entry::Other { kind: 'b' }),
                tar::EntryType::Fifo => Item::Entry(Entry::Other { kind: 'p' }),
                _ => continue,
            };
            changes.items.push((path, item));
        }
    }
    io::copy(&mut stream, &mut io::sink()).map_err(corrupt)?;
    let digest = stream.hasher.take().map(|h| format!("sha256:{}", hex::encode(h.finalize())));
    Ok((changes, digest))
}

/// True when `..` components climb above the root (`../x`, `a/../../x`).
pub fn escapes_root(raw: &str) -> bool {
    let mut depth: i64 = 0;
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

/// Apply one layer's changes on top of the view of the layers below it.
pub fn apply(view: &mut FileView, changes: &LayerChanges) {
    for dir in &changes.opaque {
        let below: Vec<String> = view
            .walk(dir)
            .map(|(p, _)| p.to_string())
            .filter(|p| p != dir && (dir == "/" || p.len() > dir.len()))
            .collect();
        for p in below {
            if p != *dir {
                view.remove_tree(&p);
            }
        }
    }
    for path in &changes.whiteouts {
        view.remove_tree(path);
    }
    for (path, item) in &changes.items {
        let entry = match item {
            Item::Entry(e) => e.clone(),
            // A link to a path that is not watched carries no content here.
            Item::HardLink(target) => match view.entry(target) {
                Some(e @ Entry::File { .. }) => e.clone(),
                _ => Entry::File { size: 0, mode: 0o644, content: None },
            },
        };
        let replaces_dir =
            matches!(view.entry(path), Some(Entry::Dir { .. })) && !matches!(entry, Entry::Dir { .. });
        if replaces_dir {
            view.remove_tree(path);
        }
        view.insert(path.clone(), entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            h.set_cksum();
            b.append_data(&mut h, path, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn digest(b: &[u8]) -> String {
        format!("sha256:{}", hex::encode(Sha256::digest(b)))
    }

    #[test]
    fn streams_plain_gzip_and_zstd_and_verifies() {
        let tar = tar_of(&[
            ("etc/crio/crio.conf", b"pause_image = \"x\"\n"),
            ("usr/bin/bash", b"ELF"),
            ("etc/containers/.wh.registries.conf", b""),
            ("usr/share/containers/.wh..wh..opq", b""),
        ]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, &tar).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&tar[..], 1).unwrap();
        for blob in [&tar, &gz, &zst] {
            let n = AtomicU64::new(0);
            let c = read_layer(&blob[..], &Expect::Blob(digest(blob)), &n).unwrap();
            assert_eq!(n.load(Ordering::Relaxed), blob.len() as u64);
            assert_eq!(c.items.len(), 1);
            assert_eq!(c.items[0].0, "/etc/crio/crio.conf");
            assert_eq!(c.whiteouts, ["/etc/containers/registries.conf"]);
            assert_eq!(c.opaque, ["/usr/share/containers"]);
            let c2 = read_layer(&blob[..], &Expect::Uncompressed(digest(&tar)), &n).unwrap();
            assert_eq!(c, c2);
            let err = read_layer(&blob[..], &Expect::Blob(digest(b"other")), &n).unwrap_err();
            assert!(matches!(err, Cause::DigestMismatch { .. }), "{err}");
        }
        let truncated = &gz[..gz.len() - 20];
        let err = read_layer(truncated, &Expect::Nothing, &AtomicU64::new(0)).unwrap_err();
        assert!(err.to_string().contains("gzip"), "{err}");
    }

    #[test]
    fn a_layer_keeps_bounded_watched_content_and_entries() {
        // 17 files of 16 MiB (each small enough to be kept) under /etc/containers: 272 MiB.
        let big = vec![b'#'; 16 << 20];
        let names: Vec<String> = (0..17).map(|i| format!("etc/containers/f{i}.conf")).collect();
        let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &big[..])).collect();
        let tar = tar_of(&entries);
        let err = read_layer(&tar[..], &Expect::Nothing, &AtomicU64::new(0)).unwrap_err();
        assert!(matches!(err, Cause::Unsupported(_)), "{err}");
        assert!(err.to_string().contains("more than 256 MiB of watched file content"), "{err}");
        // A configuration file too large to keep is not taken for absent: the layer is refused.
        let huge = vec![b'#'; (16 << 20) + 1];
        let tar = tar_of(&[("etc/containers/storage.conf", &huge[..])]);
        let err = read_layer(&tar[..], &Expect::Nothing, &AtomicU64::new(0)).unwrap_err().to_string();
        assert!(err.contains("/etc/containers/storage.conf is 16777217 bytes"), "{err}");
        let mut kept = Kept::default();
        for _ in 0..MAX_LAYER_ENTRIES {
            kept.admit(0, "tar").unwrap();
        }
        let err = kept.admit(0, "tar").unwrap_err().to_string();
        assert!(err.contains("more than 1000000 entries"), "{err}");
    }

    #[test]
    fn escaping_entries_are_ignored() {
        let mut b = tar::Builder::new(Vec::new());
        let data = b"x";
        let mut h = tar::Header::new_old();
        // Write the raw name; the builder refuses `..` in append_data.
        h.as_old_mut().name[..24].copy_from_slice(b"../../etc/crio/crio.conf");
        h.set_size(1);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append(&h, &data[..]).unwrap();
        let tar = b.into_inner().unwrap();
        let c = read_layer(&tar[..], &Expect::Nothing, &AtomicU64::new(0)).unwrap();
        assert!(c.items.is_empty());
        assert_eq!(c.unsafe_entries, 1);
        assert!(escapes_root("a/../../b"));
        assert!(!escapes_root("./a/../b"));
    }

    #[test]
    fn apply_honours_whiteouts_opaque_dirs_and_hard_links() {
        let file = |s: &str| Entry::File {
            size: s.len() as u64,
            mode: 0o644,
            content: Some(Arc::from(s.as_bytes())),
        };
        let mut view = FileView::new();
        let lower = LayerChanges {
            items: vec![
                ("/etc/crio".into(), Item::Entry(Entry::Dir { mode: 0o755 })),
                ("/etc/crio/a.conf".into(), Item::Entry(file("a"))),
                ("/etc/crio/b.conf".into(), Item::Entry(file("b"))),
                ("/etc/containers/x".into(), Item::Entry(file("x"))),
            ],
            ..Default::default()
        };
        apply(&mut view, &lower);
        let upper = LayerChanges {
            opaque: vec!["/etc/crio".into()],
            whiteouts: vec!["/etc/containers/x".into()],
            items: vec![
                ("/etc/crio/c.conf".into(), Item::Entry(file("c"))),
                ("/etc/crio/d.conf".into(), Item::HardLink("/etc/crio/c.conf".into())),
            ],
            unsafe_entries: 0,
        };
        apply(&mut view, &upper);
        let paths: Vec<&str> = view.iter().map(|(p, _)| p).collect();
        assert_eq!(paths, ["/etc/crio", "/etc/crio/c.conf", "/etc/crio/d.conf"]);
        assert_eq!(view.read("/etc/crio/d.conf"), Some(&b"c"[..]));
    }
}

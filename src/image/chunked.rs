//! zstd:chunked layers: list the layer from its table of contents (TOC) instead of
//! decompressing it, and decompress only the frames of the files whose content is captured.
//!
//! A zstd:chunked blob is an ordinary zstd stream (it decompresses to the layer tar) made of
//! many frames: each regular file's content starts a new frame, so `[offset, endOffset)` of
//! a TOC entry is a self-contained run of frames holding exactly that file. At the end of the
//! blob, skippable frames hold the zstd-compressed TOC (JSON: `{"version":1,"entries":[...]}`,
//! one entry per tar entry in archive order, plus `chunk` entries that continue the previous
//! file) and a footer locating it. The manifest's layer descriptor carries the same position
//! and the SHA-256 of the compressed TOC as annotations:
//!
//! - `io.containers.zstd-chunked.manifest-position` / `-checksum` (containers/storage up to
//!   1.4x, skopeo 1.9: footer of 40 bytes in a skippable frame, magic `GnUlInUx`);
//! - `io.github.containers.zstd-chunked.manifest-position` / `-checksum` (later versions:
//!   footer of 64 bytes, magic `GNUlInUx`, which also locates the tar-split data).
//!
//! Position: `offset:compressedLength:uncompressedLength:type`.
//!
//! Trust: the TOC is used only when the manifest (verified by its digest) pins its checksum,
//! and every file content read is checked against the TOC's per-file digest and size. What a
//! TOC read cannot check is the blob digest itself (the rest of the blob is never read), so
//! such layers are counted in [`ImageStats::toc_layers`](super::ImageStats) and `--verify`
//! falls back to the full streaming read.

use super::blobs::BlobSource;
use super::layer::{Item, LayerChanges, escapes_root};
use super::view::{Capture, Entry, capture, normalize_path};
use super::{Cause, LayerDesc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Magic of the 64-byte footer (containers/storage ≥ 1.5x).
pub const MAGIC: &[u8; 8] = b"GNUlInUx";
/// Magic of the older 40-byte footer (skopeo 1.9 / containers/storage 1.4x).
pub const MAGIC_V1: &[u8; 8] = b"GnUlInUx";
/// The zstd skippable frame magic containers/storage uses for its metadata frames.
const SKIPPABLE_MAGIC: u32 = 0x184D_2A50;
/// Bytes at the end of the blob that hold either footer (with its skippable frame header).
pub const FOOTER_PROBE: u64 = 72;

/// Largest compressed TOC read (a 4 GB layer of 100k files has a TOC of a few MiB).
const MAX_TOC_COMPRESSED: u64 = 64 << 20;
/// Largest decompressed TOC accepted.
const MAX_TOC_BYTES: u64 = 512 << 20;

const ANNOTATION_PREFIXES: &[&str] = &["io.github.containers.zstd-chunked.", "io.containers.zstd-chunked."];

/// Where the compressed TOC lies in the blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TocPosition {
    pub offset: u64,
    pub length: u64,
    pub uncompressed: u64,
    /// Manifest type; 1 (the CRFS-style JSON TOC) is the only one known.
    pub kind: u64,
}

impl TocPosition {
    /// `offset:length:uncompressedLength:type`.
    pub fn parse(s: &str) -> Option<TocPosition> {
        let v: Vec<u64> = s.split(':').map(|p| p.trim().parse().ok()).collect::<Option<_>>()?;
        match v.as_slice() {
            [offset, length, uncompressed, kind] => Some(TocPosition {
                offset: *offset,
                length: *length,
                uncompressed: *uncompressed,
                kind: *kind,
            }),
            _ => None,
        }
    }
}

/// What the manifest says about a layer's TOC.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TocHint {
    pub position: Option<TocPosition>,
    /// `sha256:HEX` of the compressed TOC.
    pub checksum: Option<String>,
}

impl TocHint {
    /// The hint from a layer descriptor's annotations, if it has any zstd:chunked one.
    pub fn from_annotations(annotations: &BTreeMap<String, String>) -> Option<TocHint> {
        let get = |key: &str| {
            ANNOTATION_PREFIXES.iter().find_map(|p| annotations.get(&format!("{p}{key}")).cloned())
        };
        let position = get("manifest-position");
        let checksum = get("manifest-checksum");
        if position.is_none() && checksum.is_none() {
            return None;
        }
        Some(TocHint { position: position.as_deref().and_then(TocPosition::parse), checksum })
    }
}

/// Parse the footer at the end of `tail` (the last bytes of the blob): the 72-byte form
/// (`GNUlInUx`) or the older 48-byte form (`GnUlInUx`), each a skippable frame.
pub fn parse_footer(tail: &[u8]) -> Option<TocPosition> {
    let u64_at = |b: &[u8], i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
    let u32_at = |b: &[u8], i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or_default());
    for (magic, payload) in [(MAGIC, 64usize), (MAGIC_V1, 40usize)] {
        let total = payload + 8;
        if tail.len() < total {
            continue;
        }
        let f = &tail[tail.len() - total..];
        if &f[total - 8..] != magic || u32_at(f, 0) != SKIPPABLE_MAGIC || u32_at(f, 4) as usize != payload {
            continue;
        }
        // Both forms: offset, length, uncompressed length, type first.
        return Some(TocPosition {
            offset: u64_at(f, 8),
            length: u64_at(f, 16),
            uncompressed: u64_at(f, 24),
            kind: u64_at(f, 32),
        });
    }
    None
}

#[derive(Debug, Deserialize)]
struct Toc {
    #[serde(default)]
    version: i64,
    #[serde(default)]
    entries: Vec<TocEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TocEntry {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    link_name: String,
    #[serde(default)]
    mode: i64,
    #[serde(default)]
    size: i64,
    #[serde(default)]
    digest: String,
    #[serde(default)]
    offset: i64,
    #[serde(default)]
    end_offset: i64,
}

/// A captured file whose content must be read: its item and the frames holding it.
struct ContentJob {
    item: usize,
    start: u64,
    end: u64,
    size: u64,
    digest: String,
}

/// Read a layer through its TOC. `Ok(None)` when the layer is not zstd:chunked, its TOC is
/// not pinned by a checksum in the manifest, or the source has no random access: the caller
/// then streams the layer in full. Errors are corrupt TOCs or contents, never a fallback.
pub fn read_layer(
    source: &dyn BlobSource,
    layer: &LayerDesc,
    read: &AtomicU64,
) -> Result<Option<LayerChanges>, Cause> {
    let Some(hint) = &layer.toc else { return Ok(None) };
    let Some(checksum) = &hint.checksum else { return Ok(None) };
    let range = |offset: u64, length: u64, what: &str| -> Result<Option<Vec<u8>>, Cause> {
        let end = offset.checked_add(length).filter(|e| layer.size == 0 || *e <= layer.size);
        if end.is_none() {
            return Err(Cause::Corrupt(format!(
                "zstd:chunked {what} at bytes {offset}+{length} lies outside the blob of {} bytes",
                layer.size
            )));
        }
        let got = source.read_range(&layer.blob, offset, length)?;
        if let Some(b) = &got {
            read.fetch_add(b.len() as u64, Ordering::Relaxed);
            if b.len() as u64 != length {
                return Err(Cause::Corrupt(format!(
                    "zstd:chunked {what} at bytes {offset}+{length} lies outside the blob"
                )));
            }
        }
        Ok(got)
    };
    let position = match &hint.position {
        Some(p) => p.clone(),
        None => {
            if layer.size < FOOTER_PROBE {
                return Ok(None);
            }
            let Some(tail) = range(layer.size - FOOTER_PROBE, FOOTER_PROBE, "footer")? else {
                return Ok(None);
            };
            match parse_footer(&tail) {
                Some(p) => p,
                None => return Err(Cause::Corrupt("zstd:chunked layer without a valid footer".into())),
            }
        }
    };
    if position.kind != 1 {
        return Err(Cause::Unsupported(format!("zstd:chunked table of contents of type {}", position.kind)));
    }
    if position.length > MAX_TOC_COMPRESSED || position.uncompressed > MAX_TOC_BYTES {
        return Err(Cause::Corrupt(format!(
            "zstd:chunked table of contents of {} bytes ({} uncompressed) is too large",
            position.length, position.uncompressed
        )));
    }
    let Some(compressed) = range(position.offset, position.length, "table of contents")? else {
        return Ok(None);
    };
    let actual = format!("sha256:{}", hex::encode(Sha256::digest(&compressed)));
    if !checksum.eq_ignore_ascii_case(&actual) {
        return Err(Cause::Corrupt(format!(
            "zstd:chunked table of contents checksum mismatch: the manifest says {checksum}, the blob has {actual}"
        )));
    }
    let json = decompress(&compressed, MAX_TOC_BYTES)
        .map_err(|e| Cause::Corrupt(format!("zstd:chunked table of contents: {e}")))?;
    let toc: Toc = serde_json::from_slice(&json)
        .map_err(|e| Cause::Corrupt(format!("zstd:chunked table of contents is not valid JSON: {e}")))?;
    if toc.version != 1 {
        return Err(Cause::Unsupported(format!("zstd:chunked table of contents version {}", toc.version)));
    }
    let (mut changes, jobs) = list(&toc.entries)?;
    for job in jobs {
        let content = if job.size == 0 {
            Vec::new()
        } else {
            if job.end <= job.start {
                return Err(Cause::Corrupt(format!(
                    "zstd:chunked entry `{}` has no frames",
                    changes.items[job.item].0
                )));
            }
            let frames = range(job.start, job.end - job.start, "file content")?
                .ok_or_else(|| Cause::Corrupt("the blob stopped allowing random access".to_string()))?;
            decompress(&frames, job.size)
                .map_err(|e| Cause::Corrupt(format!("zstd:chunked `{}`: {e}", changes.items[job.item].0)))?
        };
        let path = &changes.items[job.item].0;
        if content.len() as u64 != job.size {
            return Err(Cause::Corrupt(format!(
                "zstd:chunked `{path}`: {} bytes in its frames, {} in the table of contents",
                content.len(),
                job.size
            )));
        }
        if !job.digest.is_empty() {
            let actual = format!("sha256:{}", hex::encode(Sha256::digest(&content)));
            if !job.digest.eq_ignore_ascii_case(&actual) {
                return Err(Cause::Corrupt(format!(
                    "zstd:chunked `{path}`: content digest {actual}, the table of contents says {}",
                    job.digest
                )));
            }
        }
        if let (_, Item::Entry(Entry::File { content: c, .. })) = &mut changes.items[job.item] {
            *c = Some(Arc::from(content));
        }
    }
    Ok(Some(changes))
}

/// Decompress a run of zstd frames, refusing more than `limit` bytes.
fn decompress(frames: &[u8], limit: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    zstd::stream::read::Decoder::new(frames)?.take(limit.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("more than {limit} bytes")));
    }
    Ok(out)
}

/// The layer's changes from the TOC entries, exactly as the streaming reader records them
/// from the tar entries, and the files whose content must be read.
fn list(entries: &[TocEntry]) -> Result<(LayerChanges, Vec<ContentJob>), Cause> {
    let mut changes = LayerChanges::default();
    let mut jobs: Vec<ContentJob> = Vec::new();
    // Chunk entries extend the frames of the regular file before them.
    let mut last_file: Option<usize> = None;
    let offset = |v: i64, name: &str| {
        u64::try_from(v).map_err(|_| Cause::Corrupt(format!("zstd:chunked entry `{name}` has offset {v}")))
    };
    for e in entries {
        if e.kind == "chunk" {
            if let Some(j) = last_file {
                let end = offset(e.end_offset, &e.name)?;
                jobs[j].end = jobs[j].end.max(end);
            }
            continue;
        }
        last_file = None;
        if escapes_root(&e.name) {
            changes.unsafe_entries += 1;
            continue;
        }
        let Some(path) = normalize_path(&e.name) else { continue };
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", &path));
        if changes.whiteout_marker(dir, name) {
            continue;
        }
        let size = u64::try_from(e.size)
            .map_err(|_| Cause::Corrupt(format!("zstd:chunked entry `{}` has size {}", e.name, e.size)))?;
        let what = capture(&path, size);
        if what == Capture::Skip {
            continue;
        }
        let mode = u32::try_from(e.mode).unwrap_or(0);
        let item = match e.kind.as_str() {
            "reg" => {
                if what == Capture::Content {
                    jobs.push(ContentJob {
                        item: changes.items.len(),
                        start: offset(e.offset, &e.name)?,
                        end: offset(e.end_offset, &e.name)?,
                        size,
                        digest: e.digest.clone(),
                    });
                    last_file = Some(jobs.len() - 1);
                }
                Item::Entry(Entry::File { size, mode, content: None })
            }
            "dir" => Item::Entry(Entry::Dir { mode }),
            "symlink" => Item::Entry(Entry::Symlink { target: e.link_name.clone() }),
            "hardlink" => match normalize_path(&e.link_name) {
                Some(t) => Item::HardLink(t),
                None => continue,
            },
            "char" => Item::Entry(Entry::Other { kind: 'c' }),
            "block" => Item::Entry(Entry::Other { kind: 'b' }),
            "fifo" => Item::Entry(Entry::Other { kind: 'p' }),
            _ => continue,
        };
        changes.items.push((path, item));
    }
    Ok((changes, jobs))
}

/// Whether a blob's last bytes are a zstd:chunked footer (either generation).
pub fn has_footer(tail: &[u8]) -> bool {
    parse_footer(tail).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn footer(payload: &[u64], magic: &[u8; 8]) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&SKIPPABLE_MAGIC.to_le_bytes());
        f.extend_from_slice(&((payload.len() as u32 + 1) * 8).to_le_bytes());
        for v in payload {
            f.extend_from_slice(&v.to_le_bytes());
        }
        f.extend_from_slice(magic);
        f
    }

    #[test]
    fn both_footer_generations_parse() {
        let old = footer(&[22056, 1070, 6677, 1], MAGIC_V1);
        assert_eq!(old.len(), 48);
        let want = TocPosition { offset: 22056, length: 1070, uncompressed: 6677, kind: 1 };
        assert_eq!(parse_footer(&[&[0u8; 100][..], &old].concat()), Some(want.clone()));
        let new = footer(&[22056, 1070, 6677, 1, 23000, 200, 900], MAGIC);
        assert_eq!(new.len(), 72);
        assert_eq!(parse_footer(&new), Some(want));
        // The magics are not interchangeable: each one fixes the footer's length.
        assert_eq!(parse_footer(&footer(&[1, 2, 3, 1], MAGIC)), None);
        assert!(!has_footer(b"not a footer at all, just some bytes of a gzip layer........"));
    }

    #[test]
    fn annotations_of_both_generations() {
        let mut a = BTreeMap::new();
        assert_eq!(TocHint::from_annotations(&a), None);
        a.insert("io.containers.zstd-chunked.manifest-position".into(), "1:2:3:1".into());
        a.insert("io.containers.zstd-chunked.manifest-checksum".into(), "sha256:ab".into());
        let h = TocHint::from_annotations(&a).unwrap();
        assert_eq!(h.position, Some(TocPosition { offset: 1, length: 2, uncompressed: 3, kind: 1 }));
        assert_eq!(h.checksum.as_deref(), Some("sha256:ab"));
        let mut b = BTreeMap::new();
        b.insert("io.github.containers.zstd-chunked.manifest-position".into(), "4:5:6:1".into());
        b.insert("io.github.containers.zstd-chunked.manifest-checksum".into(), "sha256:cd".into());
        assert_eq!(TocHint::from_annotations(&b).unwrap().position.unwrap().offset, 4);
        assert_eq!(TocPosition::parse("1:2:3"), None);
        assert_eq!(TocPosition::parse("1:x:3:1"), None);
    }
}

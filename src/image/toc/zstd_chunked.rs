//! zstd:chunked: an ordinary zstd stream (it decompresses to the layer tar) made of many
//! frames: each regular file's content starts a new frame, so `[offset, endOffset)` of a TOC
//! entry is a self-contained run of frames holding exactly that file. At the end of the blob,
//! skippable frames hold the zstd-compressed TOC and a footer locating it. The manifest's
//! layer descriptor carries the same position and the SHA-256 of the compressed TOC as
//! annotations:
//!
//! - `io.containers.zstd-chunked.manifest-position` / `-checksum` (containers/storage up to
//!   1.4x, skopeo 1.9, stargz-snapshotter 0.12: footer of 40 bytes in a skippable frame,
//!   magic `GnUlInUx`);
//! - `io.github.containers.zstd-chunked.manifest-position` / `-checksum` (later versions:
//!   footer of 64 bytes, magic `GNUlInUx`, which also locates the tar-split data).
//!
//! Position: `offset:compressedLength:uncompressedLength:type`.

use super::{Loaded, MAX_TOC_BYTES, MAX_TOC_COMPRESSED, Ranges, TocFormat, TocHint, parse_toc};
use crate::image::Cause;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Magic of the 64-byte footer (containers/storage ≥ 1.5x).
pub const MAGIC: &[u8; 8] = b"GNUlInUx";
/// Magic of the older 40-byte footer (skopeo 1.9 / containers/storage 1.4x).
pub const MAGIC_V1: &[u8; 8] = b"GnUlInUx";
/// The zstd skippable frame magic containers/storage uses for its metadata frames.
const SKIPPABLE_MAGIC: u32 = 0x184D_2A50;
/// Bytes at the end of the blob that hold either footer (with its skippable frame header).
pub const FOOTER_PROBE: u64 = 72;

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

/// The hint from a layer descriptor's zstd:chunked annotations, if it has any.
pub fn hint(annotations: &BTreeMap<String, String>) -> Option<TocHint> {
    let get =
        |key: &str| ANNOTATION_PREFIXES.iter().find_map(|p| annotations.get(&format!("{p}{key}")).cloned());
    let position = get("manifest-position");
    let checksum = get("manifest-checksum");
    if position.is_none() && checksum.is_none() {
        return None;
    }
    Some(TocHint {
        format: TocFormat::ZstdChunked,
        position: position.as_deref().and_then(TocPosition::parse),
        checksum,
    })
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

/// The TOC at the position the manifest gives (else the footer's), checked against the
/// manifest's checksum of the compressed TOC.
pub(super) fn load(ranges: &Ranges<'_>, hint: &TocHint, checksum: &str) -> Result<Option<Loaded>, Cause> {
    let size = ranges.layer.size;
    let position = match &hint.position {
        Some(p) => p.clone(),
        None => {
            if size < FOOTER_PROBE {
                return Ok(None);
            }
            let Some(tail) = ranges.get(size - FOOTER_PROBE, FOOTER_PROBE, "footer")? else {
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
    let Some(compressed) = ranges.get(position.offset, position.length, "table of contents")? else {
        return Ok(None);
    };
    let actual = format!("sha256:{}", hex::encode(Sha256::digest(&compressed)));
    if !checksum.eq_ignore_ascii_case(&actual) {
        return Err(Cause::Corrupt(format!(
            "zstd:chunked table of contents checksum mismatch: the manifest says {checksum}, the blob has {actual}"
        )));
    }
    let json = decompress_piece(&compressed, 0, MAX_TOC_BYTES + 1)
        .map_err(|e| Cause::Corrupt(format!("zstd:chunked table of contents: {e}")))?;
    if json.len() as u64 > MAX_TOC_BYTES {
        return Err(Cause::Corrupt(format!(
            "zstd:chunked table of contents: more than {MAX_TOC_BYTES} bytes"
        )));
    }
    let entries = parse_toc(&json, TocFormat::ZstdChunked)?;
    Ok(Some(Loaded { entries, toc_offset: position.offset }))
}

/// The `take` bytes after `skip` in the zstd frames at the start of `compressed`.
pub(super) fn decompress_piece(compressed: &[u8], skip: u64, take: u64) -> std::io::Result<Vec<u8>> {
    super::skip_take(zstd::stream::read::Decoder::new(compressed)?, skip, take)
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
        assert_eq!(parse_footer(b"not a footer at all, just some bytes of a gzip layer........"), None);
    }

    #[test]
    fn annotations_of_both_generations() {
        let mut a = BTreeMap::new();
        assert_eq!(hint(&a), None);
        a.insert("io.containers.zstd-chunked.manifest-position".into(), "1:2:3:1".into());
        a.insert("io.containers.zstd-chunked.manifest-checksum".into(), "sha256:ab".into());
        let h = hint(&a).unwrap();
        assert_eq!(h.position, Some(TocPosition { offset: 1, length: 2, uncompressed: 3, kind: 1 }));
        assert_eq!(h.checksum.as_deref(), Some("sha256:ab"));
        let mut b = BTreeMap::new();
        b.insert("io.github.containers.zstd-chunked.manifest-position".into(), "4:5:6:1".into());
        b.insert("io.github.containers.zstd-chunked.manifest-checksum".into(), "sha256:cd".into());
        assert_eq!(hint(&b).unwrap().position.unwrap().offset, 4);
        assert_eq!(TocPosition::parse("1:2:3"), None);
        assert_eq!(TocPosition::parse("1:x:3:1"), None);
    }
}

//! eStargz: a gzip layer whose blob is a concatenation of gzip members, cut so that each
//! regular file's content (or each chunk of a large file) begins a new member at the offset
//! the TOC records; a member holds the content and then the next tar headers. The TOC is the
//! tar entry `stargz.index.json` in the last member before the footer, and the manifest pins
//! its SHA-256 (of the JSON) in the `containerd.io/snapshot/stargz/toc.digest` annotation.
//!
//! The footer is an empty gzip member whose header's extra field holds the TOC offset as 16
//! hex digits followed by `STARGZ`: 51 bytes in eStargz (inside an `SG` subfield), 47 in the
//! legacy stargz form (the extra field is the payload itself).
//!
//! A TOC entry's content ends where the next gzip member begins: at the next larger offset any
//! entry records, or at the TOC. Chunks: the `reg` entry is the first chunk, `chunk` entries
//! follow with `chunkOffset` (where in the file) and `chunkSize` (0: to the end of the file);
//! newer writers may pack several small files in one member, each at an `innerOffset` in the
//! decompressed member.

use super::{Loaded, MAX_TOC_BYTES, MAX_TOC_COMPRESSED, Ranges, TocFormat, TocHint};
use crate::image::Cause;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;

/// The annotation with the digest of the TOC JSON.
pub const TOC_DIGEST: &str = "containerd.io/snapshot/stargz/toc.digest";
/// The TOC's name inside the last tar entry.
const TOC_NAME: &str = "stargz.index.json";
const FOOTER: u64 = 51;
const LEGACY_FOOTER: u64 = 47;

/// The hint from a gzip layer's annotations, if it has the eStargz TOC digest.
pub fn hint(annotations: &BTreeMap<String, String>) -> Option<TocHint> {
    let checksum = annotations.get(TOC_DIGEST)?.clone();
    Some(TocHint { format: TocFormat::Estargz, position: None, checksum: Some(checksum) })
}

/// The TOC offset and the footer's size from the last bytes of a blob: the 51-byte eStargz
/// footer or the 47-byte legacy stargz one.
pub fn parse_footer(tail: &[u8]) -> Option<(u64, u64)> {
    let gzip_with_extra = |f: &[u8], xlen: usize| {
        f.len() > 12 + xlen
            && f[..3] == [0x1f, 0x8b, 0x08]
            && f[3] & 0x04 != 0
            && usize::from(u16::from_le_bytes([f[10], f[11]])) == xlen
    };
    let offset = |payload: &[u8]| -> Option<u64> {
        let (hex, magic) = payload.split_at(16);
        if magic != b"STARGZ" || !hex.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        u64::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
    };
    if tail.len() as u64 >= FOOTER {
        let f = &tail[tail.len() - FOOTER as usize..];
        // Extra field: subfield id `SG`, length 22, then the payload.
        if gzip_with_extra(f, 26)
            && &f[12..14] == b"SG"
            && f[14..16] == [22, 0]
            && let Some(o) = offset(&f[16..38])
        {
            return Some((o, FOOTER));
        }
    }
    if tail.len() as u64 >= LEGACY_FOOTER {
        let f = &tail[tail.len() - LEGACY_FOOTER as usize..];
        if gzip_with_extra(f, 22)
            && let Some(o) = offset(&f[12..34])
        {
            return Some((o, LEGACY_FOOTER));
        }
    }
    None
}

/// The TOC from the footer's offset, checked against the manifest's digest of its JSON.
pub(super) fn load(ranges: &Ranges<'_>, checksum: &str) -> Result<Option<Loaded>, Cause> {
    let size = ranges.layer.size;
    if size < FOOTER {
        return Ok(None);
    }
    let Some(tail) = ranges.get(size - FOOTER, FOOTER, "footer")? else { return Ok(None) };
    let Some((toc_offset, footer)) = parse_footer(&tail) else {
        return Err(Cause::Corrupt("eStargz layer without a valid footer".into()));
    };
    let Some(length) = (size - footer).checked_sub(toc_offset) else {
        return Err(Cause::Corrupt(format!(
            "eStargz table of contents at byte {toc_offset} lies outside the blob of {size} bytes"
        )));
    };
    if length > MAX_TOC_COMPRESSED {
        return Err(Cause::Corrupt(format!("eStargz table of contents of {length} bytes is too large")));
    }
    let Some(compressed) = ranges.get(toc_offset, length, "table of contents")? else { return Ok(None) };
    let json =
        toc_json(&compressed).map_err(|e| Cause::Corrupt(format!("eStargz table of contents: {e}")))?;
    let actual = format!("sha256:{}", hex::encode(Sha256::digest(&json)));
    if !checksum.eq_ignore_ascii_case(&actual) {
        return Err(Cause::Corrupt(format!(
            "eStargz table of contents digest mismatch: the manifest says {checksum}, the blob has {actual}"
        )));
    }
    let entries = super::parse_toc(&json, TocFormat::Estargz)?;
    Ok(Some(Loaded { entries, toc_offset }))
}

/// `stargz.index.json` from the gzip member(s) holding the TOC's tar entry.
fn toc_json(compressed: &[u8]) -> std::io::Result<Vec<u8>> {
    let gz = flate2::read::MultiGzDecoder::new(compressed).take(MAX_TOC_BYTES + 4096);
    let mut archive = tar::Archive::new(gz);
    for entry in archive.entries()? {
        let mut entry = entry?;
        if entry.path_bytes().as_ref() == TOC_NAME.as_bytes() {
            let mut json = Vec::new();
            entry.by_ref().take(MAX_TOC_BYTES + 1).read_to_end(&mut json)?;
            if json.len() as u64 > MAX_TOC_BYTES {
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "too large"));
            }
            return Ok(json);
        }
    }
    Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("no {TOC_NAME} entry")))
}

/// The `take` bytes after `skip` in the gzip member at the start of `compressed`.
pub(super) fn decompress(compressed: &[u8], skip: u64, take: u64) -> std::io::Result<Vec<u8>> {
    super::skip_take(flate2::read::GzDecoder::new(compressed), skip, take)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty gzip member with `extra` as its extra field, as Go's gzip writer makes it.
    fn footer(extra: &[u8]) -> Vec<u8> {
        let mut f = vec![0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff];
        f.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        f.extend_from_slice(extra);
        f.extend_from_slice(&[0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
        f
    }

    #[test]
    fn both_footer_forms_parse() {
        let estargz = footer(&[b"SG".as_slice(), &[22, 0], b"0000000000000194STARGZ"].concat());
        assert_eq!(estargz.len(), 51);
        assert_eq!(parse_footer(&[&[7u8; 30][..], &estargz].concat()), Some((0x194, 51)));
        let legacy = footer(b"00000000000a0b0cSTARGZ");
        assert_eq!(legacy.len(), 47);
        assert_eq!(parse_footer(&[&[0u8; 10][..], &legacy].concat()), Some((0xa0b0c, 47)));
        // Not hex, wrong magic, or a gzip header without the extra flag: no footer.
        assert_eq!(parse_footer(&footer(b"000000000000019xSTARGZ")), None);
        assert_eq!(parse_footer(&footer(b"0000000000000194STARGY")), None);
        let mut no_flag = legacy.clone();
        no_flag[3] = 0;
        assert_eq!(parse_footer(&no_flag), None);
        assert_eq!(parse_footer(b"short"), None);
    }
}

//! Layers that carry a table of contents (TOC) — zstd:chunked and eStargz — are listed from
//! it instead of being decompressed, and only the captured files' compressed ranges are read.
//!
//! Both formats write the same JSON TOC (`{"version":1,"entries":[...]}`, the CRFS/stargz
//! entry format: one entry per tar entry in archive order, plus `chunk` entries that continue
//! the regular file before them) and compress each regular file's content separately, so a
//! file can be read from its own byte range:
//!
//! - zstd:chunked ([`zstd_chunked`]): each file's content is a run of zstd frames
//!   `[offset, endOffset)`; the TOC is a zstd skippable frame near the end of the blob.
//! - eStargz ([`estargz`]): each file's content (or chunk) starts a gzip member at `offset`;
//!   the TOC is a tar entry `stargz.index.json` in the last gzip member before the footer.
//!
//! Trust: a TOC is used only when the manifest (verified by its digest) pins its checksum, and
//! every content read is checked against the TOC's per-file (and per-chunk) digest and size.
//! What a TOC read cannot check is the blob digest itself (the rest of the blob is never
//! read), so such layers are counted in [`ImageStats::toc_layers`](super::ImageStats), their
//! results are not cached, and `--verify` falls back to the full streaming read.

pub mod estargz;
pub mod zstd_chunked;

use super::blobs::BlobSource;
use super::layer::{Item, Kept, LayerChanges, escapes_root};
use super::view::{Capture, Entry, capture, normalize_path, oversized_configuration};
use super::{Cause, LayerDesc};
use rayon::prelude::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Largest compressed TOC read (a 4 GB layer of 100k files has a TOC of a few MiB).
const MAX_TOC_COMPRESSED: u64 = 64 << 20;
/// Largest decompressed TOC accepted.
const MAX_TOC_BYTES: u64 = 512 << 20;

/// Which table-of-contents format a layer carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TocFormat {
    ZstdChunked,
    Estargz,
}

impl TocFormat {
    pub fn name(self) -> &'static str {
        match self {
            TocFormat::ZstdChunked => "zstd:chunked",
            TocFormat::Estargz => "eStargz",
        }
    }
}

/// What the manifest says about a layer's TOC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TocHint {
    pub format: TocFormat,
    /// zstd:chunked only: where the compressed TOC lies (else read from the footer).
    pub position: Option<zstd_chunked::TocPosition>,
    /// `sha256:HEX` pinning the TOC: of the compressed TOC for zstd:chunked, of the TOC JSON
    /// for eStargz.
    pub checksum: Option<String>,
}

impl TocHint {
    /// The hint from a layer descriptor: zstd:chunked annotations win (stargz-snapshotter
    /// writes both kinds on its zstd:chunked layers); the eStargz TOC digest counts only on a
    /// gzip layer.
    pub fn from_layer(media_type: Option<&str>, annotations: &BTreeMap<String, String>) -> Option<TocHint> {
        if let Some(hint) = zstd_chunked::hint(annotations) {
            return Some(hint);
        }
        let gzip = media_type.is_some_and(|m| m.ends_with("gzip"));
        if gzip {
            return estargz::hint(annotations);
        }
        None
    }
}

/// One TOC entry; the fields both formats use.
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
    /// zstd:chunked: the end of the file's (or chunk's) frames.
    #[serde(default)]
    end_offset: i64,
    /// eStargz: where in the file this chunk begins, its length (0: to the end of the
    /// file) and digest, and where it begins in its decompressed gzip member.
    #[serde(default)]
    chunk_offset: i64,
    #[serde(default)]
    chunk_size: i64,
    #[serde(default)]
    chunk_digest: String,
    #[serde(default)]
    inner_offset: i64,
    /// zstd:chunked (containers/storage): `zeros` for a hole, which has no data.
    #[serde(default)]
    chunk_type: String,
}

#[derive(Debug, Deserialize)]
struct Toc {
    #[serde(default)]
    version: i64,
    #[serde(default)]
    entries: Vec<TocEntry>,
}

fn parse_toc(json: &[u8], format: TocFormat) -> Result<Vec<TocEntry>, Cause> {
    let toc: Toc = serde_json::from_slice(json)
        .map_err(|e| Cause::Corrupt(format!("{} table of contents is not valid JSON: {e}", format.name())))?;
    if toc.version != 1 {
        return Err(Cause::Unsupported(format!(
            "{} table of contents version {}",
            format.name(),
            toc.version
        )));
    }
    Ok(toc.entries)
}

/// A compressed range holding (part of) a captured file's content.
#[derive(Debug)]
struct Piece {
    start: u64,
    /// Exclusive: `endOffset` (zstd:chunked from containers/storage), else where the next
    /// compressed unit begins (see [`set_piece_ends`]).
    end: u64,
    /// A hole (`chunkType: zeros`): `take` zero bytes, nothing to read.
    zeros: bool,
    /// Bytes to skip in the decompressed data (eStargz `innerOffset`).
    skip: u64,
    /// Bytes this piece contributes.
    take: u64,
    /// The piece's own digest (eStargz `chunkDigest`), checked when present.
    digest: String,
}

/// A captured file whose content must be read.
#[derive(Debug)]
struct ContentJob {
    item: usize,
    size: u64,
    digest: String,
    pieces: Vec<Piece>,
}

/// Read a layer through its TOC. `Ok(None)` when the layer has no TOC pinned by the manifest
/// or the source has no random access: the caller then streams the layer in full. Errors are
/// corrupt TOCs or contents, never a fallback.
pub fn read_layer(
    source: &dyn BlobSource,
    layer: &LayerDesc,
    read: &AtomicU64,
    requests: &AtomicU64,
) -> Result<Option<LayerChanges>, Cause> {
    let Some(hint) = &layer.toc else { return Ok(None) };
    let Some(checksum) = &hint.checksum else { return Ok(None) };
    let format = hint.format;
    let ranges = Ranges { source, layer, read, requests, format };
    let loaded = match format {
        TocFormat::ZstdChunked => zstd_chunked::load(&ranges, hint, checksum)?,
        TocFormat::Estargz => estargz::load(&ranges, checksum)?,
    };
    let Some(loaded) = loaded else { return Ok(None) };
    let (mut changes, mut jobs) = list(&loaded.entries, format)?;
    set_piece_ends(&mut jobs, &loaded.entries, loaded.toc_offset);
    // Files close together in the blob are fetched by one range read (one HTTP request over
    // a registry); the groups are fetched in parallel.
    let spans: Vec<Option<(u64, u64)>> =
        jobs.iter().map(|job| span(job, &changes.items[job.item].0, format)).collect::<Result<_, _>>()?;
    let groups = group_spans(&spans, source.range_gap());
    let contents: Vec<Vec<(usize, Vec<u8>)>> = groups
        .par_iter()
        .map(|group| {
            let bytes = match group.end > group.start {
                true => ranges
                    .get(group.start, group.end - group.start, "file content")?
                    .ok_or_else(|| Cause::Corrupt("the blob stopped allowing random access".to_string()))?,
                false => Vec::new(),
            };
            group
                .jobs
                .iter()
                .map(|&j| {
                    let job = &jobs[j];
                    let content = decode(&bytes, group.start, job, &changes.items[job.item].0, format)?;
                    Ok((job.item, content))
                })
                .collect()
        })
        .collect::<Result<_, Cause>>()?;
    for (item, content) in contents.into_iter().flatten() {
        if let (_, Item::Entry(Entry::File { content: c, .. })) = &mut changes.items[item] {
            *c = Some(Arc::from(content));
        }
    }
    Ok(Some(changes))
}

/// The largest range read made of several files.
const GROUP_MAX: u64 = 4 << 20;

/// Some jobs (indices) and the blob range holding all their data.
#[derive(Debug, PartialEq, Eq)]
struct Group {
    start: u64,
    end: u64,
    jobs: Vec<usize>,
}

/// Jobs grouped by nearness in the blob: ranges at most `gap` bytes apart share a read (a job
/// without data is a group of its own).
fn group_spans(spans: &[Option<(u64, u64)>], gap: u64) -> Vec<Group> {
    let mut order: Vec<usize> = (0..spans.len()).collect();
    order.sort_by_key(|&j| spans[j].map_or((0, 0), |s| s));
    let mut groups: Vec<Group> = Vec::new();
    for j in order {
        let Some((start, end)) = spans[j] else {
            groups.push(Group { start: 0, end: 0, jobs: vec![j] });
            continue;
        };
        if let Some(g) = groups.last_mut().filter(|g| {
            g.end > g.start && start <= g.end.saturating_add(gap) && end.max(g.end) - g.start <= GROUP_MAX
        }) {
            g.end = g.end.max(end);
            g.jobs.push(j);
        } else {
            groups.push(Group { start, end, jobs: vec![j] });
        }
    }
    groups
}

/// What a format's loader found: the entries, and where the TOC begins (the end of the file
/// contents).
struct Loaded {
    entries: Vec<TocEntry>,
    toc_offset: u64,
}

/// Range reads of one layer blob, bounds-checked and counted.
struct Ranges<'a> {
    source: &'a dyn BlobSource,
    layer: &'a LayerDesc,
    read: &'a AtomicU64,
    /// Range reads made (HTTP requests over a registry).
    requests: &'a AtomicU64,
    format: TocFormat,
}

impl Ranges<'_> {
    /// The bytes `[offset, offset + length)`; `None` when the source has no random access.
    fn get(&self, offset: u64, length: u64, what: &str) -> Result<Option<Vec<u8>>, Cause> {
        let size = self.layer.size;
        let outside = || {
            Cause::Corrupt(format!(
                "{} {what} at bytes {offset}+{length} lies outside the blob of {size} bytes",
                self.format.name()
            ))
        };
        let end = offset.checked_add(length).ok_or_else(outside)?;
        if size != 0 && end > size {
            return Err(outside());
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let got = self.source.read_range(&self.layer.blob, offset, length)?;
        if let Some(b) = &got {
            self.read.fetch_add(b.len() as u64, Ordering::Relaxed);
            if b.len() as u64 != length {
                return Err(outside());
            }
        }
        Ok(got)
    }
}

/// The blob range holding a file's data (its pieces are contiguous in both formats); `None`
/// when there is nothing to read (an empty file, only holes).
fn span(job: &ContentJob, path: &str, format: TocFormat) -> Result<Option<(u64, u64)>, Cause> {
    let data_pieces = || job.pieces.iter().filter(|p| !p.zeros);
    if job.size == 0 {
        return Ok(None);
    }
    if data_pieces().any(|p| p.end <= p.start) {
        return Err(Cause::Corrupt(format!(
            "{} entry `{path}` has an empty compressed range",
            format.name()
        )));
    }
    let (Some(start), Some(end)) = (data_pieces().map(|p| p.start).min(), data_pieces().map(|p| p.end).max())
    else {
        return Ok(None);
    };
    // A member may hold the tar headers that follow the file (eStargz), but a range far larger
    // than its content is a corrupt TOC, which must not make us hold the blob in memory.
    if end - start > MAX_SPAN_SLACK.saturating_add(job.size.saturating_mul(2)) {
        return Err(Cause::Corrupt(format!(
            "{} entry `{path}`: {} compressed bytes for {} bytes of content",
            format.name(),
            end - start,
            job.size
        )));
    }
    Ok(Some((start, end)))
}

/// How much larger than twice its content a file's compressed range may be.
const MAX_SPAN_SLACK: u64 = 64 << 20;

/// A file's content from `bytes` (the blob from offset `base`): each piece decompressed and
/// checked against its chunk digest, the whole against the file's size and digest.
fn decode(
    bytes: &[u8],
    base: u64,
    job: &ContentJob,
    path: &str,
    format: TocFormat,
) -> Result<Vec<u8>, Cause> {
    let name = format.name();
    if job.size == 0 {
        return Ok(Vec::new());
    }
    let mut content = Vec::with_capacity(job.size.min(1 << 20) as usize);
    for piece in &job.pieces {
        let data = if piece.zeros {
            Ok(vec![0; piece.take.min(job.size) as usize])
        } else {
            let compressed = &bytes[(piece.start - base) as usize..(piece.end - base) as usize];
            match format {
                TocFormat::ZstdChunked => zstd_chunked::decompress_piece(compressed, piece.skip, piece.take),
                TocFormat::Estargz => estargz::decompress(compressed, piece.skip, piece.take),
            }
        }
        .map_err(|e| Cause::Corrupt(format!("{name} `{path}`: {e}")))?;
        if !piece.digest.is_empty() {
            check_digest(&data, &piece.digest, || format!("{name} `{path}` (chunk at {})", piece.start))?;
        }
        content.extend_from_slice(&data);
        if content.len() as u64 > job.size {
            break;
        }
    }
    if content.len() as u64 != job.size {
        return Err(Cause::Corrupt(format!(
            "{name} `{path}`: {} bytes in its compressed data, {} in the table of contents",
            content.len(),
            job.size
        )));
    }
    if !job.digest.is_empty() {
        check_digest(&content, &job.digest, || format!("{name} `{path}`"))?;
    }
    Ok(content)
}

/// The `take` bytes after the first `skip` of a decompressing reader (fewer when it ends).
fn skip_take(mut data: impl Read, skip: u64, take: u64) -> std::io::Result<Vec<u8>> {
    std::io::copy(&mut data.by_ref().take(skip), &mut std::io::sink())?;
    let mut out = Vec::new();
    data.take(take).read_to_end(&mut out)?;
    Ok(out)
}

fn check_digest(data: &[u8], want: &str, what: impl Fn() -> String) -> Result<(), Cause> {
    let actual = format!("sha256:{}", hex::encode(Sha256::digest(data)));
    if want.eq_ignore_ascii_case(&actual) {
        Ok(())
    } else {
        Err(Cause::Corrupt(format!("{}: content digest {actual}, the table of contents says {want}", what())))
    }
}

/// The layer's changes from the TOC entries, exactly as the streaming reader records them
/// from the tar entries, and the files whose content must be read.
fn list(entries: &[TocEntry], format: TocFormat) -> Result<(LayerChanges, Vec<ContentJob>), Cause> {
    let name = format.name();
    let mut changes = LayerChanges::default();
    let mut kept = Kept::default();
    let mut jobs: Vec<ContentJob> = Vec::new();
    // Chunk entries continue the regular file before them.
    let mut last_file: Option<usize> = None;
    let num = |v: i64, field: &str, entry: &str| {
        u64::try_from(v).map_err(|_| Cause::Corrupt(format!("{name} entry `{entry}` has {field} {v}")))
    };
    for e in entries {
        if e.kind == "chunk" {
            if let Some(j) = last_file {
                let p = piece(e, jobs[j].size, &num)?;
                jobs[j].pieces.push(p);
            }
            continue;
        }
        last_file = None;
        if escapes_root(&e.name) {
            changes.unsafe_entries += 1;
            continue;
        }
        let Some(path) = normalize_path(&e.name) else { continue };
        let (dir, base) = path.rsplit_once('/').unwrap_or(("", &path));
        if changes.whiteout_marker(dir, base) {
            continue;
        }
        let size = num(e.size, "size", &e.name)?;
        let what = capture(&path, size);
        if what == Capture::Skip {
            continue;
        }
        if e.kind == "reg" && oversized_configuration(&path, size) {
            return Err(Cause::Unsupported(format!(
                "{name} layer: {path} is {size} bytes, more than the watched configuration files kept (README \"Limits\")"
            )));
        }
        kept.admit(if what == Capture::Content && e.kind == "reg" { size } else { 0 }, name)?;
        let mode = u32::try_from(e.mode).unwrap_or(0);
        let item = match e.kind.as_str() {
            "reg" => {
                if what == Capture::Content && size > 0 {
                    jobs.push(ContentJob {
                        item: changes.items.len(),
                        size,
                        digest: e.digest.clone(),
                        pieces: vec![piece(e, size, &num)?],
                    });
                    last_file = Some(jobs.len() - 1);
                }
                let content = (what == Capture::Content && size == 0).then(|| Arc::from(Vec::new()));
                Item::Entry(Entry::File { size, mode, content })
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

/// The piece of a `reg` entry (the first chunk) or a `chunk` entry: from `offset`, skipping
/// `innerOffset` decompressed bytes, `chunkSize` bytes (0 or absent: to the end of the file).
fn piece(
    e: &TocEntry,
    file_size: u64,
    num: &dyn Fn(i64, &str, &str) -> Result<u64, Cause>,
) -> Result<Piece, Cause> {
    let chunk_offset = num(e.chunk_offset, "chunkOffset", &e.name)?;
    let chunk_size = num(e.chunk_size, "chunkSize", &e.name)?;
    let rest = file_size.checked_sub(chunk_offset).ok_or_else(|| {
        Cause::Corrupt(format!("entry `{}` has chunkOffset {chunk_offset} past its size {file_size}", e.name))
    })?;
    Ok(Piece {
        start: num(e.offset, "offset", &e.name)?,
        end: num(e.end_offset, "endOffset", &e.name)?,
        zeros: e.chunk_type == "zeros",
        skip: num(e.inner_offset, "innerOffset", &e.name)?,
        take: if chunk_size == 0 { rest } else { chunk_size.min(rest) },
        digest: e.chunk_digest.clone(),
    })
}

/// A piece without `endOffset` ends where the next compressed unit (gzip member, zstd frame
/// run) begins: at the next larger offset any entry records, or at the TOC — the rule of
/// eStargz, which stargz-snapshotter also follows for the zstd:chunked layers it writes.
fn set_piece_ends(jobs: &mut [ContentJob], entries: &[TocEntry], toc_offset: u64) {
    let mut offsets: Vec<u64> =
        entries.iter().filter_map(|e| u64::try_from(e.offset).ok()).filter(|o| *o > 0).collect();
    offsets.push(toc_offset);
    offsets.sort_unstable();
    offsets.dedup();
    for piece in jobs.iter_mut().flat_map(|j| j.pieces.iter_mut()).filter(|p| p.end == 0 && !p.zeros) {
        let i = offsets.partition_point(|o| *o <= piece.start);
        piece.end = offsets.get(i).copied().unwrap_or(toc_offset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(json: &str) -> Vec<TocEntry> {
        parse_toc(format!(r#"{{"version":1,"entries":[{json}]}}"#).as_bytes(), TocFormat::Estargz).unwrap()
    }

    fn pieces(job: &ContentJob) -> Vec<(u64, u64, u64, u64, bool)> {
        job.pieces.iter().map(|p| (p.start, p.end, p.skip, p.take, p.zeros)).collect()
    }

    #[test]
    fn pieces_end_at_the_next_compressed_unit() {
        // Two small files packed in one member (innerOffset), a file in 3 chunks (the last
        // one to the end of the file), a zstd:chunked hole, then the TOC at 900.
        let e = entries(concat!(
            r#"{"type":"reg","name":"etc/crio/a.conf","size":10,"offset":100},"#,
            r#"{"type":"reg","name":"etc/crio/b.conf","size":5,"offset":100,"innerOffset":10},"#,
            r#"{"type":"dir","name":"etc/crio/x/"},"#,
            r#"{"type":"reg","name":"etc/crio/c.conf","size":70,"offset":200,"chunkSize":32},"#,
            r#"{"type":"chunk","name":"etc/crio/c.conf","offset":300,"chunkOffset":32,"chunkSize":32},"#,
            r#"{"type":"chunk","name":"etc/crio/c.conf","offset":400,"chunkOffset":64},"#,
            r#"{"type":"reg","name":"etc/crio/d.conf","size":8,"offset":500,"endOffset":600,"chunkSize":4},"#,
            r#"{"type":"chunk","name":"etc/crio/d.conf","chunkOffset":4,"chunkSize":4,"chunkType":"zeros"},"#,
            r#"{"type":"reg","name":"usr/bin/unwatched","size":8,"offset":700}"#
        ));
        let (changes, mut jobs) = list(&e, TocFormat::Estargz).unwrap();
        set_piece_ends(&mut jobs, &e, 900);
        let names: Vec<&str> = jobs.iter().map(|j| changes.items[j.item].0.as_str()).collect();
        assert_eq!(names, ["/etc/crio/a.conf", "/etc/crio/b.conf", "/etc/crio/c.conf", "/etc/crio/d.conf"]);
        assert_eq!(pieces(&jobs[0]), [(100, 200, 0, 10, false)]);
        assert_eq!(pieces(&jobs[1]), [(100, 200, 10, 5, false)]);
        assert_eq!(
            pieces(&jobs[2]),
            [(200, 300, 0, 32, false), (300, 400, 0, 32, false), (400, 500, 0, 6, false)]
        );
        // endOffset kept; the hole reads nothing.
        assert_eq!(pieces(&jobs[3]), [(500, 600, 0, 4, false), (0, 0, 0, 4, true)]);
    }

    #[test]
    fn near_files_share_a_range_read() {
        const GROUP_GAP: u64 = 64 << 10;
        let far = 10 << 20;
        let spans = [
            Some((100, 200)),
            None,
            Some((far, far + 50)),
            Some((200 + GROUP_GAP, 200 + GROUP_GAP + 10)),
            Some((150, 180)),
            Some((300 + GROUP_GAP + 10, 300 + GROUP_GAP + GROUP_MAX)),
        ];
        let got: Vec<(u64, u64, Vec<usize>)> =
            group_spans(&spans, GROUP_GAP).into_iter().map(|g| (g.start, g.end, g.jobs)).collect();
        assert_eq!(
            got,
            [
                (0, 0, vec![1]),
                (100, 200 + GROUP_GAP + 10, vec![0, 4, 3]),
                // Near, but the group would pass GROUP_MAX.
                (300 + GROUP_GAP + 10, 300 + GROUP_GAP + GROUP_MAX, vec![5]),
                (far, far + 50, vec![2]),
            ]
        );
        // Without a gap only touching or overlapping ranges share a read.
        let got: Vec<Vec<usize>> = group_spans(&spans, 0).into_iter().map(|g| g.jobs).collect();
        assert_eq!(got, [vec![1], vec![0, 4], vec![3], vec![5], vec![2]]);
    }

    #[test]
    fn a_range_far_larger_than_its_file_is_corrupt() {
        // A lone watched file whose range runs to a TOC 1 GiB away.
        let e = entries(r#"{"type":"reg","name":"etc/crio/a.conf","size":10,"offset":100}"#);
        let (changes, mut jobs) = list(&e, TocFormat::Estargz).unwrap();
        set_piece_ends(&mut jobs, &e, 1 << 30);
        let err = span(&jobs[0], &changes.items[0].0, TocFormat::Estargz).unwrap_err().to_string();
        assert!(err.contains("1073741724 compressed bytes for 10 bytes"), "{err}");
        // The same file 1 MiB before its TOC is fine.
        jobs[0].pieces[0].end = 0;
        set_piece_ends(&mut jobs, &e, 1 << 20);
        assert_eq!(span(&jobs[0], "", TocFormat::Estargz).unwrap(), Some((100, 1 << 20)));
    }

    #[test]
    fn a_chunk_past_the_end_of_its_file_is_corrupt() {
        let e = entries(concat!(
            r#"{"type":"reg","name":"etc/crio/c.conf","size":10,"offset":200,"chunkSize":4},"#,
            r#"{"type":"chunk","name":"etc/crio/c.conf","offset":300,"chunkOffset":40}"#
        ));
        let err = list(&e, TocFormat::Estargz).unwrap_err().to_string();
        assert!(err.contains("chunkOffset 40 past its size 10"), "{err}");
    }

    #[test]
    fn hints_prefer_zstd_chunked_and_need_gzip_for_estargz() {
        let mut a = BTreeMap::new();
        a.insert(estargz::TOC_DIGEST.to_string(), "sha256:ab".to_string());
        let gzip = Some("application/vnd.oci.image.layer.v1.tar+gzip");
        let zstd = Some("application/vnd.oci.image.layer.v1.tar+zstd");
        assert_eq!(TocHint::from_layer(gzip, &a).unwrap().format, TocFormat::Estargz);
        assert_eq!(TocHint::from_layer(zstd, &a), None);
        a.insert("io.containers.zstd-chunked.manifest-checksum".into(), "sha256:cd".into());
        let h = TocHint::from_layer(zstd, &a).unwrap();
        assert_eq!((h.format, h.checksum.as_deref()), (TocFormat::ZstdChunked, Some("sha256:cd")));
    }
}

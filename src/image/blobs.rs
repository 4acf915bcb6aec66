//! Where blobs are read from: an OCI layout directory, or the members of a tar archive
//! (oci-archive, docker-archive), indexed once without reading the layers.

use super::Cause;
use super::view::normalize_path;
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// How to find one blob in its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobRef {
    /// `sha256:HEX`, in `blobs/sha256/HEX` of a layout or in a registry.
    Digest(String),
    /// A member path of an archive (docker-archive `Layers` entries).
    Member(String),
}

impl std::fmt::Display for BlobRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlobRef::Digest(d) => f.write_str(d),
            BlobRef::Member(m) => f.write_str(m),
        }
    }
}

pub type BlobReader<'a> = Box<dyn Read + Send + 'a>;

pub trait BlobSource: Sync {
    fn open(&self, blob: &BlobRef) -> Result<BlobReader<'_>, Cause>;

    /// `length` bytes at `offset` of a blob, for the sources with random access; `None`
    /// when the source has none (the caller then streams the blob). Fewer bytes than asked
    /// means the blob ends before.
    fn read_range(&self, blob: &BlobRef, offset: u64, length: u64) -> Result<Option<Vec<u8>>, Cause> {
        let _ = (blob, offset, length);
        Ok(None)
    }

    /// What one more range read costs, in bytes: ranges closer than this are read as one
    /// (0 for local files; a network round trip for a registry).
    fn range_gap(&self) -> u64 {
        0
    }

    /// A small document (manifest, config, index.json), at most 16 MiB.
    fn read_small(&self, blob: &BlobRef) -> Result<Vec<u8>, Cause> {
        let mut buf = Vec::new();
        self.open(blob)?
            .take(16 << 20)
            .read_to_end(&mut buf)
            .map_err(|e| Cause::Corrupt(format!("cannot read {blob}: {e}")))?;
        Ok(buf)
    }
}

/// Check a small document against its digest (layers are checked while they stream).
pub fn verify_small(bytes: &[u8], digest: &str) -> Result<(), Cause> {
    use sha2::{Digest, Sha256};
    let Some(hex_part) = digest.strip_prefix("sha256:") else {
        return Err(Cause::Unsupported(format!("digest algorithm of `{digest}` (only sha256 is supported)")));
    };
    let actual = hex::encode(Sha256::digest(bytes));
    if !actual.eq_ignore_ascii_case(hex_part) {
        return Err(Cause::DigestMismatch {
            expected: digest.to_string(),
            actual: format!("sha256:{actual}"),
        });
    }
    Ok(())
}

/// `blobs/ALG/HEX` for a digest, refusing anything that is not a plain digest (a path
/// component must never come from the image unchecked).
pub fn blob_path(digest: &str) -> Result<String, Cause> {
    let (alg, hex_part) =
        digest.split_once(':').ok_or_else(|| Cause::Corrupt(format!("`{digest}` is not a digest")))?;
    let ok = !alg.is_empty()
        && alg.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
        && !hex_part.is_empty()
        && hex_part.bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(Cause::Corrupt(format!("`{digest}` is not a digest")));
    }
    Ok(format!("blobs/{alg}/{hex_part}"))
}

/// An OCI image layout directory.
pub struct LayoutDir {
    pub dir: PathBuf,
}

impl BlobSource for LayoutDir {
    fn open(&self, blob: &BlobRef) -> Result<BlobReader<'_>, Cause> {
        let rel = match blob {
            BlobRef::Digest(d) => blob_path(d)?,
            BlobRef::Member(m) => m.clone(),
        };
        let path = self.dir.join(rel);
        let file = File::open(&path).map_err(|e| Cause::io(&path, e))?;
        Ok(Box::new(file))
    }

    fn read_range(&self, blob: &BlobRef, offset: u64, length: u64) -> Result<Option<Vec<u8>>, Cause> {
        let rel = match blob {
            BlobRef::Digest(d) => blob_path(d)?,
            BlobRef::Member(m) => m.clone(),
        };
        let path = self.dir.join(rel);
        let file = File::open(&path).map_err(|e| Cause::io(&path, e))?;
        Ok(Some(read_at(file, offset, length, &path)?))
    }
}

/// Read up to `length` bytes at `offset` of a seekable blob (fewer at its end).
fn read_at(mut reader: impl Read + Seek, offset: u64, length: u64, what: &Path) -> Result<Vec<u8>, Cause> {
    reader.seek(SeekFrom::Start(offset)).map_err(|e| Cause::io(what, e))?;
    let mut buf = Vec::with_capacity(length.min(64 << 20) as usize);
    reader.take(length).read_to_end(&mut buf).map_err(|e| Cause::io(what, e))?;
    Ok(buf)
}

/// A tar archive's members, by normalized path (`blobs/sha256/x`, `manifest.json`).
pub struct TarArchive {
    path: PathBuf,
    members: HashMap<String, Member>,
}

#[derive(Clone, Debug)]
enum Member {
    File { offset: u64, size: u64 },
    Link(String),
}

impl TarArchive {
    /// Index the members, seeking over their data.
    pub fn index(path: &Path) -> Result<TarArchive, Cause> {
        let file = File::open(path).map_err(|e| Cause::io(path, e))?;
        let corrupt = |e: std::io::Error| {
            Cause::Corrupt(format!("{} is not a readable tar archive: {e}", path.display()))
        };
        let mut archive = tar::Archive::new(file);
        let mut members = HashMap::new();
        for entry in archive.entries_with_seek().map_err(corrupt)? {
            let entry = entry.map_err(corrupt)?;
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let Some(name) = normalize_path(&raw) else { continue };
            let name = name.trim_start_matches('/').to_string();
            let header = entry.header();
            match header.entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    members
                        .insert(name, Member::File { offset: entry.raw_file_position(), size: entry.size() });
                }
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    let target = entry.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned());
                    let Some(target) = target else { continue };
                    let resolved = if header.entry_type() == tar::EntryType::Link || target.starts_with('/') {
                        normalize_path(&target)
                    } else {
                        let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
                        normalize_path(&format!("{dir}/{target}"))
                    };
                    if let Some(r) = resolved {
                        members.insert(name, Member::Link(r.trim_start_matches('/').to_string()));
                    }
                }
                _ => {}
            }
        }
        if members.is_empty() {
            return Err(Cause::Corrupt(format!("{} is an empty or non-tar file", path.display())));
        }
        Ok(TarArchive { path: path.to_path_buf(), members })
    }

    pub fn has(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    fn find(&self, name: &str) -> Option<(u64, u64)> {
        let mut name = name.trim_start_matches("./").to_string();
        for _ in 0..40 {
            match self.members.get(&name)? {
                Member::File { offset, size } => return Some((*offset, *size)),
                Member::Link(target) => name = target.clone(),
            }
        }
        None
    }

    pub fn member_size(&self, name: &str) -> Option<u64> {
        self.find(name).map(|(_, s)| s)
    }
}

impl BlobSource for TarArchive {
    fn open(&self, blob: &BlobRef) -> Result<BlobReader<'_>, Cause> {
        let name = match blob {
            BlobRef::Digest(d) => blob_path(d)?,
            BlobRef::Member(m) => m.clone(),
        };
        let (offset, size) =
            self.find(&name).ok_or_else(|| Cause::NotFound(format!("`{name}` is not in the archive")))?;
        let mut file = File::open(&self.path).map_err(|e| Cause::io(&self.path, e))?;
        file.seek(SeekFrom::Start(offset)).map_err(|e| Cause::io(&self.path, e))?;
        Ok(Box::new(file.take(size)))
    }

    fn read_range(&self, blob: &BlobRef, offset: u64, length: u64) -> Result<Option<Vec<u8>>, Cause> {
        let name = match blob {
            BlobRef::Digest(d) => blob_path(d)?,
            BlobRef::Member(m) => m.clone(),
        };
        let (start, size) =
            self.find(&name).ok_or_else(|| Cause::NotFound(format!("`{name}` is not in the archive")))?;
        // Never past the member: the next member's bytes are not this blob's.
        let length = length.min(size.saturating_sub(offset));
        let file = File::open(&self.path).map_err(|e| Cause::io(&self.path, e))?;
        Ok(Some(read_at(file, start.saturating_add(offset), length, &self.path)?))
    }
}

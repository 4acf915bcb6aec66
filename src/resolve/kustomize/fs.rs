//! The files a kustomize build reads: the disk, or an in-memory tree for tests.

use crate::text::paths::normalize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub trait Fs: Sync {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>>;
    fn is_dir(&self, path: &Path) -> bool;
    fn is_file(&self, path: &Path) -> bool;
}

pub struct DiskFs;

impl Fs for DiskFs {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }
}

/// Files by (normalised) path; directories are implied by the files under them.
#[derive(Default)]
pub struct MemFs {
    pub files: BTreeMap<PathBuf, String>,
}

impl Fs for MemFs {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.files
            .get(&normalize(path))
            .map(|t| t.as_bytes().to_vec())
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }
    fn is_dir(&self, path: &Path) -> bool {
        let dir = normalize(path);
        self.files.keys().any(|f| f.starts_with(&dir) && *f != dir)
    }
    fn is_file(&self, path: &Path) -> bool {
        self.files.contains_key(&normalize(path))
    }
}

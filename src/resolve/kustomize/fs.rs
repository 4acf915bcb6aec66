//! The files a kustomize build reads: the disk, or an in-memory tree for tests.

use crate::text::paths::normalize;
use std::collections::BTreeMap;
use std::ops::Bound;
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
        // Paths order by component, so the files under `dir` come right after it.
        let dir = normalize(path);
        self.files
            .range::<Path, _>((Bound::Excluded(dir.as_path()), Bound::Unbounded))
            .next()
            .is_some_and(|(f, _)| f.starts_with(&dir))
    }
    fn is_file(&self, path: &Path) -> bool {
        self.files.contains_key(&normalize(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_implied_by_the_files_under_them() {
        let mut fs = MemFs::default();
        for f in ["a/b/k.yaml", "a/b0", "a/bc/d/e.yaml", "z.yaml"] {
            fs.files.insert(PathBuf::from(f), String::new());
        }
        let dirs: Vec<&str> = ["a", "a/b", "a/bc", "a/bc/d", "a/b0", "a/b/k.yaml", "b", "a/c", ""]
            .into_iter()
            .filter(|d| fs.is_dir(Path::new(d)))
            .collect();
        assert_eq!(dirs, ["a", "a/b", "a/bc", "a/bc/d"]);
        assert!(fs.is_file(Path::new("a/b0")) && !fs.is_file(Path::new("a/b")));
    }
}

//! The files a kustomize build reads: the disk, or an in-memory tree for tests.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

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

/// Lexical normalisation: `a/./b/../c` → `a/c`; a leading `..` is kept.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) => {}
                _ => out.push(c),
            },
            other => out.push(other),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

/// The file names MicroShift and kustomize recognise, in kustomize's order.
pub const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Inside a built image: the watched files of its merged layers (MicroShift's manifest
/// directories are watched, so their content is there). Paths are absolute in-image paths.
impl Fs for crate::image::view::FileView {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        let path = normalize(path);
        crate::image::view::FileView::read(self, &path.to_string_lossy())
            .map(<[u8]>::to_vec)
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }
    fn is_dir(&self, path: &Path) -> bool {
        let path = normalize(path);
        matches!(self.lookup(&path.to_string_lossy()), Some(crate::image::view::Entry::Dir { .. }))
            || !self.list_dir(&path.to_string_lossy()).is_empty()
    }
    fn is_file(&self, path: &Path) -> bool {
        let path = normalize(path);
        matches!(self.lookup(&path.to_string_lossy()), Some(crate::image::view::Entry::File { .. }))
    }
}

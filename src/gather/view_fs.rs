//! The kustomize build reads a built image through its merged view.

use crate::image::view::{Entry, FileView};
use crate::resolve::kustomize::fs::Fs;
use crate::text::paths::normalize;
use std::path::Path;

/// Inside a built image: the watched files of its merged layers (MicroShift's manifest
/// directories are watched, so their content is there). Paths are absolute in-image paths.
impl Fs for FileView {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        let path = normalize(path);
        FileView::read(self, &path.to_string_lossy())
            .map(<[u8]>::to_vec)
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }
    fn is_dir(&self, path: &Path) -> bool {
        let path = normalize(path);
        matches!(self.lookup(&path.to_string_lossy()), Some(Entry::Dir { .. }))
            || !self.list_dir(&path.to_string_lossy()).is_empty()
    }
    fn is_file(&self, path: &Path) -> bool {
        let path = normalize(path);
        matches!(self.lookup(&path.to_string_lossy()), Some(Entry::File { .. }))
    }
}

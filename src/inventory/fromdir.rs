//! A [`FileView`] from an unpacked tree on disk (`--image rootfs:DIR` until the image reader
//! lands, and the fixtures' loader). Private to the inventory: the image reader has its own
//! `rootfs:` transport; at merge the CLI switches to it and this stays for tests.
//!
//! It applies the capture policy of [`crate::image::view::capture`].

use crate::image::view::{Capture, Entry, FileView, capture, is_watched};
use std::io;
use std::path::Path;
use std::sync::Arc;

/// Read the watched part of the tree rooted at `root` (symlinks are recorded, never
/// followed on disk).
pub fn load(root: &Path) -> io::Result<FileView> {
    let meta = std::fs::metadata(root)?;
    if !meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a directory", root.display()),
        ));
    }
    let mut view = FileView::new();
    walk(root, "", &mut view)?;
    Ok(view)
}

fn walk(dir: &Path, prefix: &str, view: &mut FileView) -> io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Some(name) = e.file_name().to_str().map(str::to_string) else { continue };
        let path = format!("{prefix}/{name}");
        if !is_watched(&path) {
            continue;
        }
        let meta = std::fs::symlink_metadata(e.path())?;
        let ft = meta.file_type();
        let mode = mode_of(&meta);
        if ft.is_symlink() {
            let target = std::fs::read_link(e.path())?.to_string_lossy().into_owned();
            view.insert(path, Entry::Symlink { target });
        } else if ft.is_dir() {
            // A directory's capture says whether it is recorded; what is below it is decided
            // entry by entry, as a layer reader sees them (a 64-hex `dir:` copy is recorded,
            // its `manifest.json` read; an overlay `diff` is recorded, its contents skipped).
            if capture(&path, 0) != Capture::Skip {
                view.insert(path.clone(), Entry::Dir { mode });
                walk(&e.path(), &path, view)?;
            }
        } else if ft.is_file() {
            let size = meta.len();
            match capture(&path, size) {
                Capture::Skip => {}
                Capture::Entry => view.insert(path, Entry::File { size, mode, content: None }),
                Capture::Content => {
                    let bytes = std::fs::read(e.path())?;
                    view.insert(path, Entry::File { size, mode, content: Some(Arc::from(bytes)) });
                }
            }
        } else if capture(&path, 0) != Capture::Skip {
            view.insert(path, Entry::Other { kind: 'c' });
        }
    }
    Ok(())
}

#[cfg(unix)]
fn mode_of(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode_of(_: &std::fs::Metadata) -> u32 {
    0o644
}

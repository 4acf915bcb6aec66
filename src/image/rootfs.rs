//! `rootfs:DIR` and layer directories of a containers-storage store: walk only the watched
//! paths of a tree on disk, never following a symbolic link (links are recorded and resolved
//! later inside the image root by [`FileView::resolve`]).

use super::layer::{self, Item, LayerChanges};
use super::view::{Capture, Entry, FileView, Watch, oversized_configuration};
use super::{Cause, ImageConfig, ImageStats};
use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::sync::Arc;

/// How on-disk whiteouts are spelled in the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Whiteouts {
    /// A plain tree (`rootfs:`, a vfs layer directory): nothing is a whiteout.
    None,
    /// An overlay `diff` directory: 0/0 character devices delete, the `opaque` xattr (or a
    /// `.wh..wh..opq` file) hides the lower content, `.wh.NAME` files delete too.
    Overlay,
}

pub fn open(dir: &Path, watch: Watch) -> Result<(FileView, ImageConfig, ImageStats), Cause> {
    let meta = fs::metadata(dir).map_err(|e| Cause::io(dir, e))?;
    if !meta.is_dir() {
        return Err(Cause::NotFound(format!("{} is not a directory", dir.display())));
    }
    let changes = walk(dir, Whiteouts::None, watch)?;
    let mut view = FileView::new();
    layer::apply(&mut view, &changes);
    let stats = ImageStats { layers: 0, ..Default::default() };
    Ok((view, ImageConfig::default(), stats))
}

/// The watched content of the tree at `root`, as one layer's changes.
pub fn walk(root: &Path, whiteouts: Whiteouts, watch: Watch) -> Result<LayerChanges, Cause> {
    let mut changes = LayerChanges::default();
    let mut seen = std::collections::HashSet::new();
    for watched in watch.roots() {
        // Ancestors first: a symlinked ancestor is recorded and not entered.
        let parts: Vec<&str> = watched.split('/').filter(|p| !p.is_empty()).collect();
        let mut blocked = false;
        for depth in 1..=parts.len() {
            let path = format!("/{}", parts[..depth].join("/"));
            let on_disk = root.join(&path[1..]);
            let Ok(meta) = fs::symlink_metadata(&on_disk) else {
                blocked = true;
                break;
            };
            if depth < parts.len() {
                if !seen.insert(path.clone()) {
                    if !meta.is_dir() {
                        blocked = true;
                        break;
                    }
                    continue;
                }
                if let Some(item) = record(&on_disk, &path, &meta, (whiteouts, watch), &mut changes)? {
                    changes.items.push((path.clone(), item));
                }
                if !meta.is_dir() {
                    blocked = true;
                    break;
                }
            }
        }
        if !blocked && seen.insert(watched.to_string()) {
            visit(root, watched, whiteouts, &mut changes, &mut seen, 0, watch)?;
        }
    }
    Ok(changes)
}

fn visit(
    root: &Path,
    path: &str,
    whiteouts: Whiteouts,
    changes: &mut LayerChanges,
    seen: &mut std::collections::HashSet<String>,
    depth: usize,
    watch: Watch,
) -> Result<(), Cause> {
    let on_disk = root.join(&path[1..]);
    let Ok(meta) = fs::symlink_metadata(&on_disk) else { return Ok(()) };
    if watch.capture(path, meta.len()) == Capture::Skip {
        return Ok(());
    }
    let Some(item) = record(&on_disk, path, &meta, (whiteouts, watch), changes)? else { return Ok(()) };
    let is_dir = matches!(item, Item::Entry(Entry::Dir { .. }));
    changes.items.push((path.to_string(), item));
    if !is_dir || depth > 64 {
        return Ok(());
    }
    let mut names: Vec<String> = match fs::read_dir(&on_disk) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
        Err(e) => return Err(Cause::io(&on_disk, e)),
    };
    names.sort();
    for name in names {
        if whiteouts == Whiteouts::Overlay && changes.whiteout_marker_watching(path, &name, watch) {
            continue;
        }
        let child = format!("{path}/{name}");
        if seen.insert(child.clone()) {
            visit(root, &child, whiteouts, changes, seen, depth + 1, watch)?;
        }
    }
    Ok(())
}

/// One path's entry; `None` when it is a whiteout (recorded in `changes`).
fn record(
    on_disk: &Path,
    path: &str,
    meta: &fs::Metadata,
    (whiteouts, watch): (Whiteouts, Watch),
    changes: &mut LayerChanges,
) -> Result<Option<Item>, Cause> {
    let ft = meta.file_type();
    let mode = meta.mode() & 0o7777;
    let entry = if ft.is_dir() {
        if whiteouts == Whiteouts::Overlay && is_opaque(on_disk) {
            changes.opaque.push(path.to_string());
        }
        Entry::Dir { mode }
    } else if ft.is_symlink() {
        let target = fs::read_link(on_disk).map_err(|e| Cause::io(on_disk, e))?;
        Entry::Symlink { target: target.to_string_lossy().into_owned() }
    } else if ft.is_file() {
        let size = meta.len();
        if oversized_configuration(path, size) {
            return Err(Cause::Unsupported(format!(
                "{}: {size} bytes, more than the watched configuration files kept (README \"Limits\")",
                on_disk.display()
            )));
        }
        let content = if watch.capture(path, size) == Capture::Content {
            let mut buf = Vec::with_capacity(size as usize);
            let file = fs::File::open(on_disk).map_err(|e| Cause::io(on_disk, e))?;
            file.take(size).read_to_end(&mut buf).map_err(|e| Cause::io(on_disk, e))?;
            Some(Arc::from(buf))
        } else {
            None
        };
        Entry::File { size, mode, content }
    } else if ft.is_char_device() {
        if whiteouts == Whiteouts::Overlay && meta.rdev() == 0 {
            changes.whiteouts.push(path.to_string());
            return Ok(None);
        }
        Entry::Other { kind: 'c' }
    } else if ft.is_block_device() {
        Entry::Other { kind: 'b' }
    } else if ft.is_fifo() {
        Entry::Other { kind: 'p' }
    } else {
        return Ok(None);
    };
    Ok(Some(Item::Entry(entry)))
}

fn is_opaque(dir: &Path) -> bool {
    ["trusted.overlay.opaque", "user.overlay.opaque"]
        .iter()
        .any(|name| matches!(xattr::get(dir, name), Ok(Some(v)) if v == b"y"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An overlay `diff` directory as containers/storage writes it: a 0/0 character device
    /// deletes, the `opaque` xattr hides the lower directory. Needs root (mknod, trusted.*).
    #[test]
    fn overlay_whiteouts_and_opaque_directories() {
        let root = tempfile::tempdir().unwrap();
        let d = root.path();
        fs::create_dir_all(d.join("etc/crio")).unwrap();
        fs::create_dir_all(d.join("usr/lib/microshift/manifests")).unwrap();
        fs::write(d.join("usr/lib/microshift/manifests/b.yaml"), "b").unwrap();
        fs::write(d.join("etc/crio/.wh.old.conf"), "").unwrap();
        let node = d.join("etc/crio/gone.conf");
        let made = std::process::Command::new("mknod").arg(&node).args(["c", "0", "0"]).status();
        if !matches!(made, Ok(s) if s.success()) {
            eprintln!("SKIP: mknod needs root");
            return;
        }
        let manifests = d.join("usr/lib/microshift/manifests");
        let opaque = xattr::set(&manifests, "trusted.overlay.opaque", b"y")
            .or_else(|_| xattr::set(&manifests, "user.overlay.opaque", b"y"));
        let changes = walk(d, Whiteouts::Overlay, Watch::default()).unwrap();
        assert_eq!(
            changes.whiteouts,
            ["/etc/crio/.wh.old.conf".replace(".wh.", ""), "/etc/crio/gone.conf".into()]
        );
        if opaque.is_ok() {
            assert_eq!(changes.opaque, ["/usr/lib/microshift/manifests"]);
        } else {
            eprintln!("SKIP: this filesystem has no overlay xattrs");
        }
        let plain = walk(d, Whiteouts::None, Watch::default()).unwrap();
        assert!(plain.whiteouts.is_empty() && plain.opaque.is_empty());
        assert!(
            plain
                .items
                .iter()
                .any(|(p, i)| p == "/etc/crio/gone.conf" && *i == Item::Entry(Entry::Other { kind: 'c' }))
        );
    }
}

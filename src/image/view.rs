//! The watched part of an image's filesystem, after merging its layers: what the inventory
//! and the in-image sources read. Only small metadata files keep their content; blobs and
//! layer contents of embedded images are recorded (size, type) or skipped, never read.

use std::collections::BTreeMap;
use std::sync::Arc;

/// Directories (and single files) an audit reads from an image. Paths are absolute, without
/// a trailing slash.
pub const WATCHED: &[&str] = &[
    "/etc/containers",
    "/etc/crio",
    "/etc/microshift",
    "/etc/systemd/system/microshift.service",
    "/etc/systemd/system/microshift.service.d",
    "/usr/bin/microshift-copy-images",
    "/usr/lib/bootc/bound-images.d",
    "/usr/lib/containers",
    "/usr/lib/containers-image-cache",
    "/usr/lib/microshift",
    "/usr/lib/systemd/system/microshift.service",
    "/usr/lib/systemd/system/microshift.service.d",
    "/usr/share/containers",
    "/usr/share/microshift",
    "/var/lib/containers/storage",
];

/// What an image view watches besides [`WATCHED`]. `stowage diff` watches `/var` too, to
/// compare what an upgrade would (not) change there; the layer cache keys on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Watch {
    /// All of `/var` (its containers-storage stores keep their own policy).
    pub var: bool,
}

/// Largest `/var` file whose content is kept when [`Watch::var`] is on; larger ones are
/// compared by size and mode.
pub const MAX_VAR_CONTENT_BYTES: u64 = 256 * 1024;

impl Watch {
    /// The watched roots; `/var` first, so that a tree walk enters it before recording it
    /// as an ancestor of `/var/lib/containers/storage`.
    pub fn roots(self) -> Vec<&'static str> {
        let mut roots: Vec<&'static str> = if self.var { vec!["/var"] } else { Vec::new() };
        roots.extend(WATCHED);
        roots
    }

    /// True when `path` is watched, or an ancestor directory of a watched root.
    pub fn is_watched(self, path: &str) -> bool {
        is_watched(path) || (self.var && under(path, "/var"))
    }

    /// The capture policy of `path` (see [`capture`]); `/var` outside [`WATCHED`] keeps
    /// contents up to [`MAX_VAR_CONTENT_BYTES`].
    pub fn capture(self, path: &str, size: u64) -> Capture {
        if self.var && under(path, "/var") && !is_watched(path) {
            return if size > MAX_VAR_CONTENT_BYTES { Capture::Entry } else { Capture::Content };
        }
        capture(path, size)
    }

    /// What the layer cache keys on besides the layer digest.
    pub fn cache_key(self) -> String {
        let mut key = self.roots().join("\n");
        if self.var {
            key.push_str(&format!("\nvar-max {MAX_VAR_CONTENT_BYTES}"));
        }
        key
    }
}

fn under(path: &str, root: &str) -> bool {
    path == root || (path.starts_with(root) && path.as_bytes().get(root.len()) == Some(&b'/'))
}

/// Largest file whose content is kept (store metadata such as `images.json` of a store with
/// hundreds of images stays well below this).
pub const MAX_CONTENT_BYTES: u64 = 16 * 1024 * 1024;

/// Largest blob (64-hex name, or under `blobs/`) whose content is kept: the configs
/// (architecture) and manifests of `dir:` copies and OCI layouts are a few KiB; layers are far
/// bigger.
pub const MAX_BLOB_CONTENT_BYTES: u64 = 64 * 1024;

/// What to do with one path found in a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capture {
    /// Not watched: skip without recording.
    Skip,
    /// Record that it exists (type, size, mode, link target) but not its content.
    Entry,
    /// Record it with its content (regular files up to `MAX_CONTENT_BYTES`).
    Content,
}

/// The capture policy for an absolute, normalized path (`/usr/lib/...`) of a regular file of
/// `size` bytes (directories and links: any size).
///
/// - Outside [`WATCHED`]: skipped.
/// - Layer contents of a containers-storage store (`.../overlay/<id>/diff/...`,
///   `.../vfs/dir/<id>/...`) and anything below an `overlay/<id>/merged` or `work` directory:
///   skipped, except the `diff` / `<id>` directory itself, recorded as an entry (so a layer can be
///   known to exist).
/// - Blobs: files named by a bare 64-hex digest (the blobs of `dir:` copies) and files under
///   `blobs/` (OCI layouts): content up to `MAX_BLOB_CONTENT_BYTES` (configs, manifests),
///   else entry only. `*.tar`, `*.tar.gz`, `*.tar.zst`, `*.tar-split.gz` files: entry only.
/// - Other regular files up to `MAX_CONTENT_BYTES`: content; larger: entry.
pub fn capture(path: &str, size: u64) -> Capture {
    if !is_watched(path) {
        return Capture::Skip;
    }
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        let rest = parts.len() - i - 1;
        // <root>/overlay/<id>/diff[/...], <root>/overlay/<id>/{merged,work}[/...]
        if *part == "overlay" && rest >= 2 {
            let sub = parts[i + 2];
            if matches!(sub, "diff" | "merged" | "work" | "empty") {
                return if rest == 2 && sub == "diff" { Capture::Entry } else { Capture::Skip };
            }
        }
        // <root>/vfs/dir/<id>[/...]
        if *part == "vfs" && rest >= 2 && parts[i + 1] == "dir" {
            return if rest == 2 { Capture::Entry } else { Capture::Skip };
        }
    }
    let name = parts.last().copied().unwrap_or("");
    let tarlike =
        [".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar-split.gz"].iter().any(|ext| name.ends_with(ext));
    let is_blob =
        (name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())) || parts.contains(&"blobs");
    if tarlike || (is_blob && size > MAX_BLOB_CONTENT_BYTES) || size > MAX_CONTENT_BYTES {
        Capture::Entry
    } else {
        Capture::Content
    }
}

/// True for a watched file that is read as configuration (not a store record, blob or layer)
/// and is too large to keep: readers would take it for absent, and the device reads it, so the
/// image is refused instead (fail closed; README "Limits").
pub fn oversized_configuration(path: &str, size: u64) -> bool {
    let in_store = path.split('/').any(|p| p == "storage" || p == "containers-image-cache");
    size > MAX_CONTENT_BYTES && !in_store && capture(path, size) == Capture::Entry
}

/// True when `path` is one of [`WATCHED`] or below one, or an ancestor directory of one
/// (ancestors are recorded so that symlinks like `/usr/lib/containers -> ...` resolve).
pub fn is_watched(path: &str) -> bool {
    WATCHED.iter().any(|w| {
        path == *w
            || (path.starts_with(w) && path.as_bytes().get(w.len()) == Some(&b'/'))
            || (w.starts_with(path) && w.as_bytes().get(path.len()) == Some(&b'/'))
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    File {
        size: u64,
        mode: u32,
        content: Option<Arc<[u8]>>,
    },
    Dir {
        mode: u32,
    },
    /// The target as stored in the image (absolute or relative); resolve it with
    /// [`FileView::resolve`], which never leaves the image root.
    Symlink {
        target: String,
    },
    /// Character/block devices, FIFOs (overlay whiteouts inside embedded stores are 0/0
    /// character devices).
    Other {
        kind: char,
    },
}

/// The merged, watched files of an image (or of an unpacked tree), keyed by absolute path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileView {
    entries: BTreeMap<String, Entry>,
}

impl FileView {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add or replace an entry at an absolute, normalized path.
    pub fn insert(&mut self, path: impl Into<String>, entry: Entry) {
        self.entries.insert(path.into(), entry);
    }

    /// Remove a path and everything below it (a whiteout).
    pub fn remove_tree(&mut self, path: &str) {
        self.entries.remove(path);
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let below: Vec<String> = self
            .entries
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in below {
            self.entries.remove(&k);
        }
    }

    /// The entry at `path` without following a final symlink.
    ///
    /// A directory that a layer never lists itself but that has entries below it (tar
    /// writers may omit parent directories) is an implied directory.
    pub fn entry(&self, path: &str) -> Option<&Entry> {
        self.entries.get(path).or_else(|| self.implied_dir(path))
    }

    fn implied_dir(&self, path: &str) -> Option<&Entry> {
        static IMPLIED_DIR: Entry = Entry::Dir { mode: 0o755 };
        let prefix = if path == "/" { "/".to_string() } else { format!("{}/", path.trim_end_matches('/')) };
        let has_children =
            self.entries.range(prefix.clone()..).next().is_some_and(|(k, _)| k.starts_with(&prefix));
        has_children.then_some(&IMPLIED_DIR)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Resolve symlinks in every component of `path` inside the image root (an absolute
    /// target restarts at the image root, `..` never climbs above it). `None` on a loop
    /// (more than 40 links, as Linux) or a dangling link inside the path.
    pub fn resolve(&self, path: &str) -> Option<String> {
        let mut pending: Vec<String> = components(path).into_iter().rev().collect();
        let mut resolved: Vec<String> = Vec::new();
        let mut links = 0;
        while let Some(part) = pending.pop() {
            match part.as_str() {
                "." => continue,
                ".." => {
                    resolved.pop();
                    continue;
                }
                _ => {}
            }
            resolved.push(part);
            let current = format!("/{}", resolved.join("/"));
            if let Some(Entry::Symlink { target }) = self.entries.get(&current) {
                links += 1;
                if links > 40 {
                    return None;
                }
                resolved.pop();
                if target.starts_with('/') {
                    resolved.clear();
                }
                for c in components(target).into_iter().rev() {
                    pending.push(c);
                }
            }
        }
        Some(format!("/{}", resolved.join("/")))
    }

    /// The entry at `path`, following symlinks inside the image.
    pub fn lookup(&self, path: &str) -> Option<&Entry> {
        self.entry(&self.resolve(path)?)
    }

    /// The content of a regular file, following symlinks; `None` when absent, not a file, or
    /// not captured (see [`capture`]).
    pub fn read(&self, path: &str) -> Option<&[u8]> {
        match self.lookup(path)? {
            Entry::File { content: Some(c), .. } => Some(c),
            _ => None,
        }
    }

    /// The direct children of a directory (following symlinks to it), as `(name, entry)`.
    pub fn list_dir(&self, path: &str) -> Vec<(&str, &Entry)> {
        let Some(dir) = self.resolve(path) else { return Vec::new() };
        let prefix = if dir == "/" { "/".to_string() } else { format!("{dir}/") };
        self.entries
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(k, _)| !k[prefix.len()..].contains('/'))
            .map(|(k, v)| (&k[prefix.len()..], v))
            .collect()
    }

    /// Every entry at or below `path` (not following symlinks), in path order.
    pub fn walk<'a>(&'a self, path: &str) -> impl Iterator<Item = (&'a str, &'a Entry)> + 'a {
        let base = path.trim_end_matches('/').to_string();
        let prefix = format!("{base}/");
        self.entries
            .range(base.clone()..)
            .take_while(move |(k, _)| **k == base || k.starts_with(&prefix))
            .map(|(k, v)| (k.as_str(), v))
    }
}

fn components(path: &str) -> Vec<String> {
    path.split('/').filter(|p| !p.is_empty()).map(str::to_string).collect()
}

/// Normalize a path from a tar entry (`./usr/lib/x`, `usr/lib/x/`) to `/usr/lib/x`, resolving
/// `.` and `..` lexically without ever climbing above the root. `None` for the root itself.
pub fn normalize_path(raw: &str) -> Option<String> {
    let parts = crate::text::paths::lexical_parts(raw);
    if parts.is_empty() { None } else { Some(format!("/{}", parts.join("/"))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(content: &str) -> Entry {
        Entry::File { size: content.len() as u64, mode: 0o644, content: Some(Arc::from(content.as_bytes())) }
    }

    #[test]
    fn capture_policy() {
        assert_eq!(capture("/usr/bin/bash", 10), Capture::Skip);
        assert_eq!(capture("/usr", 0), Capture::Content, "ancestors of watched paths are recorded");
        assert_eq!(capture("/usr/lib/containers/storage/image-list.txt", 100), Capture::Content);
        let hex = "a".repeat(64);
        assert_eq!(capture(&format!("/usr/lib/containers/storage/{hex}/{hex}"), 1 << 20), Capture::Entry);
        assert_eq!(capture(&format!("/usr/lib/containers/storage/{hex}/{hex}"), 1500), Capture::Content);
        assert_eq!(
            capture(&format!("/usr/lib/containers/storage/{hex}/manifest.json"), 900),
            Capture::Content
        );
        assert_eq!(capture("/usr/lib/containers/storage/overlay/abc/diff", 0), Capture::Entry);
        assert_eq!(capture("/usr/lib/containers/storage/overlay/abc/diff/usr/bin/x", 9), Capture::Skip);
        assert_eq!(capture("/usr/lib/containers/storage/overlay/abc/link", 26), Capture::Content);
        assert_eq!(capture("/usr/lib/containers/storage/overlay-images/images.json", 5000), Capture::Content);
        assert_eq!(
            capture("/usr/lib/containers/storage/overlay-layers/abc.tar-split.gz", 5000),
            Capture::Entry
        );
        assert_eq!(capture("/var/lib/containers/storage/vfs/dir/abc", 0), Capture::Entry);
        assert_eq!(capture("/var/lib/containers/storage/vfs/dir/abc/etc/passwd", 9), Capture::Skip);
        assert_eq!(capture("/usr/share/containers/oci/app/blobs/sha256/abc", 9), Capture::Content);
        assert_eq!(capture("/usr/share/containers/oci/app/blobs/sha256/abc", 1 << 20), Capture::Entry);
        assert_eq!(capture("/usr/share/containers/oci/app.tar", 9), Capture::Entry);
        assert_eq!(capture("/etc/crio/crio.conf", MAX_CONTENT_BYTES + 1), Capture::Entry);
        assert!(oversized_configuration("/etc/crio/crio.conf", MAX_CONTENT_BYTES + 1));
        assert!(!oversized_configuration("/etc/crio/crio.conf", MAX_CONTENT_BYTES));
        assert!(!oversized_configuration("/usr/lib/containers/storage/overlay-images/images.json", 1 << 30));
        assert!(!oversized_configuration("/usr/lib/containers/storage/x/layer.tar", 1 << 30));
        assert!(!oversized_configuration("/usr/bin/bash", 1 << 30));
    }

    #[test]
    fn watching_var_captures_it_and_keeps_the_store_policy() {
        let var = Watch { var: true };
        assert_eq!(capture("/var/lib/acme/app.yaml", 10), Capture::Skip);
        assert_eq!(var.capture("/var/lib/acme/app.yaml", 10), Capture::Content);
        assert_eq!(var.capture("/var/lib/acme/big", MAX_VAR_CONTENT_BYTES + 1), Capture::Entry);
        assert_eq!(var.capture("/var/lib/containers/storage/vfs/dir/abc/etc/passwd", 9), Capture::Skip);
        assert_eq!(var.capture("/usr/bin/bash", 10), Capture::Skip);
        assert!(var.is_watched("/var/log/x") && !Watch::default().is_watched("/var/log/x"));
        assert_eq!(var.roots()[0], "/var");
        assert_ne!(var.cache_key(), Watch::default().cache_key());
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let mut v = FileView::new();
        v.insert("/usr/share/containers/systemd/app.container", file("[Container]\nImage=x\n"));
        v.insert(
            "/usr/lib/bootc/bound-images.d/app.container",
            Entry::Symlink { target: "../../../share/containers/systemd/app.container".into() },
        );
        v.insert(
            "/usr/lib/bootc/bound-images.d/abs.container",
            Entry::Symlink { target: "/usr/share/containers/systemd/app.container".into() },
        );
        v.insert(
            "/usr/lib/bootc/bound-images.d/escape",
            Entry::Symlink { target: "../../../../../../../../etc/shadow".into() },
        );
        v.insert("/usr/lib/bootc/bound-images.d/loop", Entry::Symlink { target: "loop".into() });
        assert_eq!(
            v.read("/usr/lib/bootc/bound-images.d/app.container"),
            Some(&b"[Container]\nImage=x\n"[..])
        );
        assert_eq!(
            v.read("/usr/lib/bootc/bound-images.d/abs.container"),
            Some(&b"[Container]\nImage=x\n"[..])
        );
        assert_eq!(v.resolve("/usr/lib/bootc/bound-images.d/escape").as_deref(), Some("/etc/shadow"));
        assert_eq!(v.resolve("/usr/lib/bootc/bound-images.d/loop"), None);
        let names: Vec<&str> =
            v.list_dir("/usr/lib/bootc/bound-images.d").into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["abs.container", "app.container", "escape", "loop"]);
    }

    #[test]
    fn parents_a_layer_did_not_list_are_implied_directories() {
        let mut v = FileView::new();
        v.insert("/usr/lib/containers/storage/image-list.txt", file("a,b\n"));
        assert_eq!(v.lookup("/usr/lib/containers/storage"), Some(&Entry::Dir { mode: 0o755 }));
        assert_eq!(v.lookup("/usr/lib"), Some(&Entry::Dir { mode: 0o755 }));
        assert_eq!(v.lookup("/usr/lib/containers/storage/image-list.txt/x"), None);
        assert_eq!(v.lookup("/usr/lib/containers/other"), None);
        assert_eq!(v.list_dir("/usr/lib/containers/storage").len(), 1);
    }

    #[test]
    fn whiteouts_remove_trees() {
        let mut v = FileView::new();
        v.insert("/etc/crio", Entry::Dir { mode: 0o755 });
        v.insert("/etc/crio/crio.conf", file("x"));
        v.insert("/etc/crio.conf.bak", file("y"));
        v.remove_tree("/etc/crio");
        assert_eq!(v.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["/etc/crio.conf.bak"]);
    }

    #[test]
    fn tar_paths_normalize() {
        assert_eq!(normalize_path("./usr/lib/x/").as_deref(), Some("/usr/lib/x"));
        assert_eq!(normalize_path("../../etc/passwd").as_deref(), Some("/etc/passwd"));
        assert_eq!(normalize_path("./"), None);
    }
}

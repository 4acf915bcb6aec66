//! The files under `/var` of an OS image, and how two images' differ. bootc unpacks `/var`
//! of the image at install time only: on `bootc upgrade` the device keeps its own `/var`, so
//! whatever a new image changes there never reaches an installed device (DOMAIN.md §2.E; the
//! bootc documentation, docs/src/filesystem.md "/var": image content there acts like a volume,
//! copied at the initial install only; bootc-dev/bootc#2433: "bootc should not modify or merge
//! /var after installation").

use crate::image::view::{Entry, FileView};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One non-directory entry under `/var`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VarFile {
    /// A regular file; `content` when it was small enough to keep (else compared by size).
    File {
        size: u64,
        mode: u32,
        content: Option<Arc<[u8]>>,
    },
    Symlink {
        target: String,
    },
    Other {
        kind: char,
    },
}

/// The non-directory entries under `/var`, by absolute path.
pub type VarFiles = BTreeMap<String, VarFile>;

/// The `/var` entries of a view (empty when the view did not watch `/var`).
pub fn var_files(view: &FileView) -> VarFiles {
    view.walk("/var")
        .filter_map(|(path, entry)| {
            let file = match entry {
                Entry::File { size, mode, content } => {
                    VarFile::File { size: *size, mode: *mode & 0o7777, content: content.clone() }
                }
                Entry::Symlink { target } => VarFile::Symlink { target: target.clone() },
                Entry::Other { kind } => VarFile::Other { kind: *kind },
                Entry::Dir { .. } => return None,
            };
            Some((path.to_string(), file))
        })
        .collect()
}

/// How one `/var` path differs between the old image and the new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VarDiff {
    /// Only in the new image: installed devices will not get it.
    Added,
    /// Only in the old image: installed devices keep it.
    Removed,
    /// Other content (or size, for a file too large to keep), link target or file type.
    Content,
    /// Same content, other permission bits.
    Mode,
}

impl VarDiff {
    pub fn describe(self) -> &'static str {
        match self {
            VarDiff::Added => "is new in NEW",
            VarDiff::Removed => "is gone from NEW",
            VarDiff::Content => "has other content in NEW",
            VarDiff::Mode => "has another mode in NEW",
        }
    }
}

/// One changed `/var` path, with the modes when they matter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VarChange {
    pub path: String,
    pub change: VarDiff,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_mode: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_mode: Option<u32>,
}

/// True when `path` is `prefix` or below it (`prefix` a directory, with or without a trailing
/// slash; a trailing `*` matches any name beginning: `/var/lib/rpm*`).
pub fn excluded(path: &str, prefixes: &[String]) -> bool {
    prefixes.iter().any(|p| {
        let p = p.trim_end_matches('/');
        if let Some(stem) = p.strip_suffix('*') {
            return path.starts_with(stem);
        }
        path == p || (path.starts_with(p) && path.as_bytes().get(p.len()) == Some(&b'/'))
    })
}

/// Every path under `/var` that differs, in path order, `exclude`d prefixes left out.
pub fn changes(old: &VarFiles, new: &VarFiles, exclude: &[String]) -> Vec<VarChange> {
    let mut out = Vec::new();
    let paths: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for path in paths.into_iter().filter(|p| !excluded(p, exclude)) {
        let mode = |f: Option<&VarFile>| match f {
            Some(VarFile::File { mode, .. }) => Some(*mode),
            _ => None,
        };
        let (a, b) = (old.get(path), new.get(path));
        let change = match (a, b) {
            (None, Some(_)) => VarDiff::Added,
            (Some(_), None) => VarDiff::Removed,
            (Some(a), Some(b)) => match differ(a, b) {
                Some(d) => d,
                None => continue,
            },
            (None, None) => continue,
        };
        out.push(VarChange { path: path.clone(), change, old_mode: mode(a), new_mode: mode(b) });
    }
    out
}

fn differ(a: &VarFile, b: &VarFile) -> Option<VarDiff> {
    match (a, b) {
        (
            VarFile::File { size: s1, mode: m1, content: c1 },
            VarFile::File { size: s2, mode: m2, content: c2 },
        ) => {
            let same = match (c1, c2) {
                (Some(c1), Some(c2)) => c1 == c2,
                _ => s1 == s2,
            };
            if !same {
                Some(VarDiff::Content)
            } else if m1 != m2 {
                Some(VarDiff::Mode)
            } else {
                None
            }
        }
        _ if a == b => None,
        _ => Some(VarDiff::Content),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str, mode: u32) -> VarFile {
        VarFile::File { size: text.len() as u64, mode, content: Some(Arc::from(text.as_bytes())) }
    }

    #[test]
    fn content_mode_added_removed_and_exclusions() {
        let old: VarFiles = [
            ("/var/lib/app/a".to_string(), file("1", 0o644)),
            ("/var/lib/app/b".to_string(), file("1", 0o644)),
            ("/var/lib/app/gone".to_string(), file("1", 0o644)),
            ("/var/log/x".to_string(), file("1", 0o644)),
            ("/var/lib/app/same".to_string(), file("1", 0o644)),
        ]
        .into();
        let new: VarFiles = [
            ("/var/lib/app/a".to_string(), file("2", 0o644)),
            ("/var/lib/app/b".to_string(), file("1", 0o600)),
            ("/var/lib/app/new".to_string(), VarFile::Symlink { target: "a".into() }),
            ("/var/log/x".to_string(), file("2", 0o644)),
            ("/var/lib/app/same".to_string(), file("1", 0o644)),
        ]
        .into();
        let found: Vec<(String, VarDiff)> =
            changes(&old, &new, &["/var/log".into()]).into_iter().map(|c| (c.path, c.change)).collect();
        assert_eq!(
            found,
            [
                ("/var/lib/app/a".to_string(), VarDiff::Content),
                ("/var/lib/app/b".to_string(), VarDiff::Mode),
                ("/var/lib/app/gone".to_string(), VarDiff::Removed),
                ("/var/lib/app/new".to_string(), VarDiff::Added),
            ]
        );
        assert!(excluded("/var/lib/rpm-state/x", &["/var/lib/rpm*".into()]));
        assert!(!excluded("/var/logger", &["/var/log/".into()]));
    }
}

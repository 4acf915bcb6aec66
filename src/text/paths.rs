//! Paths resolved lexically: no file system is asked (except for the working directory that
//! [`absolute`] starts from).

use std::path::{Component, Path, PathBuf};

/// The components of `path` with `.` and empty ones dropped and each `..` removing the one
/// before it, never climbing above the start (`../x` and `/x` both give `["x"]`).
pub fn lexical_parts(path: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts
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

/// `path` made absolute from the working directory, and normalised.
pub fn absolute(path: &Path) -> PathBuf {
    absolute_from(std::env::current_dir().ok().as_deref(), path)
}

pub fn absolute_from(cwd: Option<&Path>, path: &Path) -> PathBuf {
    match cwd {
        Some(cwd) if path.is_relative() => normalize(&cwd.join(path)),
        _ => normalize(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_and_slashes_resolve_without_leaving_the_start() {
        assert_eq!(lexical_parts("./usr//lib/./x/"), ["usr", "lib", "x"]);
        assert_eq!(lexical_parts("/a/b/../c"), ["a", "c"]);
        assert_eq!(lexical_parts("../../etc/shadow"), ["etc", "shadow"]);
        assert!(lexical_parts("/").is_empty());
    }

    /// The file-system rule: a relative path keeps its leading `..` (`../base` from an overlay
    /// is another directory, and `--format json=a.json --format sarif=../a.json` are two files),
    /// an absolute one cannot climb above `/`.
    #[test]
    fn normalize_keeps_a_leading_parent_and_stops_at_the_root() {
        let n = |p: &str| normalize(Path::new(p));
        assert_eq!(n("a/./b/../c"), Path::new("a/c"));
        assert_eq!(n("../base"), Path::new("../base"));
        assert_eq!(n("overlay/../../base"), Path::new("../base"));
        assert_eq!(n("/../etc/./x"), Path::new("/etc/x"));
        assert_eq!(n("a/.."), Path::new("."));
        assert_ne!(n("a.json"), n("../a.json"));
    }
}

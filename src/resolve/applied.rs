//! Which manifests MicroShift applies (DOMAIN.md §3): a directory is applied when it matches
//! an entry of the effective `manifests.kustomizePaths` (globs allowed; defaults when unset)
//! **and** holds `kustomization.yaml`, `kustomization.yml` or `Kustomization`
//! (openshift/microshift pkg/config/manifests.go `GetKustomizationPaths`). For each entry
//! `P`, `P/delete` (`DIR/delete/*` for `DIR/*`) is applied as deletions.
//!
//! A repository file is placed in the image where a Containerfile among the sources copies
//! it ([`crate::resolve::copies`]: `COPY manifests/ /usr/lib/microshift/manifests.d/acme/`);
//! failing that, where the repository mirrors the image: a path containing
//! `usr/lib/microshift/manifests...` or `etc/microshift/manifests...` maps to that absolute
//! path. Files read from inside an image already have their absolute path. Files that map
//! nowhere are not judged (stowage cannot know where they will be installed).

use crate::source::microshift::KustomizePath;
use crate::text::location::Location;
use globset::GlobBuilder;
use std::collections::BTreeSet;

/// A YAML file under a MicroShift manifests directory that MicroShift will not apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotApplied {
    pub location: Location,
    pub reason: String,
    /// Where the kustomize path that matters is set (none for the defaults).
    pub setting: Option<Location>,
}

/// One candidate file: its in-image path, whether it is a kustomization, and whether some
/// kustomization build read it.
pub struct Placed {
    pub in_image: String,
    pub location: Location,
    pub is_kustomization: bool,
    pub reached: bool,
}

const ROOTS: [&str; 2] = ["/usr/lib/microshift/manifests", "/etc/microshift/manifests"];

/// The in-image path of a repository (or in-image) file, when it has one.
pub fn in_image_path(display: &str, in_image: bool) -> Option<String> {
    if in_image {
        return Some(display.to_string());
    }
    let path = format!("/{}", display.trim_start_matches('/'));
    ROOTS.iter().filter_map(|root| path.find(root).map(|i| path[i..].to_string())).next()
}

/// The `kustomizePaths` entry under which MicroShift applies the in-image directory `dir` as
/// a kustomization, if any (the `delete/` directories, applied as deletions, do not count).
pub fn applying_entry<'a>(dir: &str, paths: &'a [KustomizePath]) -> Option<&'a KustomizePath> {
    let dir = dir.trim_end_matches('/');
    paths.iter().find(|p| {
        GlobBuilder::new(p.path.trim_end_matches('/'))
            .literal_separator(true)
            .build()
            .is_ok_and(|g| g.compile_matcher().is_match(dir))
    })
}

fn under_root(path: &str) -> bool {
    ROOTS
        .iter()
        .any(|r| path.strip_prefix(r).is_some_and(|rest| rest.starts_with('/') || rest.starts_with(".d/")))
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

pub fn not_applied(files: &[Placed], paths: &[KustomizePath]) -> Vec<NotApplied> {
    let kustomized: BTreeSet<&str> =
        files.iter().filter(|f| f.is_kustomization).map(|f| parent(&f.in_image)).collect();
    let mut patterns: Vec<(globset::GlobMatcher, &KustomizePath)> = Vec::new();
    for p in paths {
        let delete = match p.path.strip_suffix("/*") {
            Some(dir) => format!("{dir}/delete/*"),
            None => format!("{}/delete", p.path.trim_end_matches('/')),
        };
        for pattern in [p.path.trim_end_matches('/').to_string(), delete] {
            if let Ok(g) = GlobBuilder::new(&pattern).literal_separator(true).build() {
                patterns.push((g.compile_matcher(), p));
            }
        }
    }
    let matching = |dir: &str| patterns.iter().find(|(g, _)| g.is_match(dir)).map(|(_, p)| *p);
    let mut out = Vec::new();
    for f in files.iter().filter(|f| !f.is_kustomization && under_root(&f.in_image)) {
        let mut dir = parent(&f.in_image);
        let mut applied = None;
        while !dir.is_empty() {
            if kustomized.contains(dir) && matching(dir).is_some() {
                applied = Some(dir);
                break;
            }
            dir = parent(dir);
        }
        let own = parent(&f.in_image);
        let (reason, setting) = match applied {
            Some(_) if f.reached => continue,
            Some(dir) => (
                format!(
                    "MicroShift applies `{dir}`, but its kustomization does not use this file, so it is never applied"
                ),
                matching(dir).and_then(|p| p.location.clone()),
            ),
            None => match matching(own) {
                Some(p) => (
                    format!(
                        "MicroShift skips `{own}`: it has no kustomization.yaml, kustomization.yml or Kustomization"
                    ),
                    p.location.clone(),
                ),
                None => {
                    let list: Vec<&str> = paths.iter().map(|p| p.path.as_str()).collect();
                    let list = if list.is_empty() {
                        "an empty list: manifest loading is disabled".to_string()
                    } else {
                        list.join(", ")
                    };
                    (
                        format!(
                            "`{own}` is not in manifests.kustomizePaths ({list}), so MicroShift never applies it"
                        ),
                        None,
                    )
                }
            },
        };
        out.push(NotApplied { location: f.location.clone(), reason, setting });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::microshift::{DEFAULT_KUSTOMIZE_PATHS, KustomizePath};

    fn placed(path: &str, reached: bool) -> Placed {
        Placed {
            in_image: path.into(),
            location: Location::file_only(path),
            is_kustomization: path.ends_with("kustomization.yaml"),
            reached,
        }
    }

    fn defaults() -> Vec<KustomizePath> {
        DEFAULT_KUSTOMIZE_PATHS
            .iter()
            .map(|p| KustomizePath { path: p.to_string(), location: None })
            .collect()
    }

    #[test]
    fn applying_entries_follow_globs_one_level() {
        let paths = defaults();
        let entry = |d: &str| applying_entry(d, &paths).map(|p| p.path.as_str());
        assert_eq!(entry("/usr/lib/microshift/manifests"), Some("/usr/lib/microshift/manifests"));
        assert_eq!(entry("/usr/lib/microshift/manifests.d/acme/"), Some("/usr/lib/microshift/manifests.d/*"));
        assert_eq!(entry("/etc/microshift/manifests.d/x"), Some("/etc/microshift/manifests.d/*"));
        assert_eq!(entry("/usr/lib/microshift/manifests.d/acme/base"), None);
        assert_eq!(entry("/usr/lib/microshift/manifests/sub"), None);
        assert_eq!(entry("/usr/lib/microshift/manifests.d/delete/x"), None);
        assert_eq!(applying_entry("/usr/lib/microshift/manifests", &[]), None);
    }

    #[test]
    fn maps_repository_mirrors_only() {
        assert_eq!(
            in_image_path("repo/usr/lib/microshift/manifests.d/app/d.yaml", false).as_deref(),
            Some("/usr/lib/microshift/manifests.d/app/d.yaml")
        );
        assert_eq!(in_image_path("manifests/d.yaml", false), None);
    }

    #[test]
    fn catches_directories_without_kustomization_and_outside_the_paths() {
        let files = [
            placed("/usr/lib/microshift/manifests.d/app/kustomization.yaml", true),
            placed("/usr/lib/microshift/manifests.d/app/d.yaml", true),
            placed("/usr/lib/microshift/manifests.d/app/unused.yaml", false),
            placed("/usr/lib/microshift/manifests.d/bare/d.yaml", false),
            placed("/usr/lib/microshift/manifests.d/app/nested/x/y.yaml", false),
            placed("/usr/lib/microshift/manifests.d/delete/old/kustomization.yaml", true),
            placed("/usr/lib/microshift/manifests.d/delete/old/d.yaml", true),
        ];
        let found = not_applied(&files, &defaults());
        let got: Vec<(&str, &str)> = found
            .iter()
            .map(|n| (n.location.file.as_str(), n.reason.split(' ').next().unwrap_or("")))
            .collect();
        assert_eq!(
            got,
            [
                ("/usr/lib/microshift/manifests.d/app/unused.yaml", "MicroShift"),
                ("/usr/lib/microshift/manifests.d/bare/d.yaml", "MicroShift"),
                ("/usr/lib/microshift/manifests.d/app/nested/x/y.yaml", "MicroShift"),
            ]
        );
        assert!(found[1].reason.contains("no kustomization"), "{}", found[1].reason);
        let disabled = not_applied(&files[1..2], &[]);
        assert!(disabled[0].reason.contains("disabled"), "{}", disabled[0].reason);
    }
}

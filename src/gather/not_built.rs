//! Manifests no kustomize build takes, so nothing deploys them: a file beside a kustomization
//! that does not list it (applying a directory that holds a kustomization applies the
//! kustomization only: `kubectl apply -k`, MicroShift's `kustomizePaths`), and the files of a
//! Component no kustomization enables (or of what only such Components use). Their images are
//! not runtime references. A manifest a Quadlet `.kube` unit names in `Yaml=` is still one:
//! `podman kube play` reads the file itself.

use super::parse::{Details, ParsedFile};
use crate::resolve::kustomize::Resolution;
use crate::source::FileKind;
use crate::source::quadlet::UnitType;
use crate::text::location::Location;
use crate::text::paths::normalize;
use crate::text::source::display_path;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// One directory whose manifests no build takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotBuilt {
    /// The kustomization that leaves them out: its `resources` list, or its `kind: Component`.
    pub location: Location,
    pub message: String,
    /// Each file left out, at its first image.
    pub files: Vec<Location>,
}

/// The files one kustomization leaves out, and why.
struct Group {
    location: Location,
    why: Why,
    files: Vec<LeftOut>,
}

/// One file left out: its name below the kustomization's directory, its first image, and
/// how many it has.
struct LeftOut {
    name: String,
    at: Location,
    images: usize,
}

/// Why the files of one directory are left out.
enum Why {
    /// Beside the kustomization `file` (display path), which does not list them.
    Unlisted { file: String },
    /// Under a Component no kustomization enables (`component`), or a kustomization only such
    /// Components use.
    Dormant { dir: String, component: bool },
}

/// The manifests among `parsed` that no kustomize build takes (indexes into `parsed`), and one
/// finding per directory holding some with images. `kustomizations` are the walked
/// kustomization files that parsed without a problem, by directory, with where their
/// `resources` list starts (a broken kustomization leaves its directory alone: what it lists
/// cannot be known). Files in `reported` (display paths: MicroShift will not apply them, and
/// says so) are left out without a second finding.
pub(super) fn not_built(
    parsed: &[ParsedFile],
    kustomize: &Resolution,
    kustomizations: &BTreeMap<PathBuf, Location>,
    reported: &HashSet<&str>,
    placed: &[(usize, String)],
) -> (HashSet<usize>, Vec<NotBuilt>) {
    let played = kube_yaml_files(parsed, placed);
    let named_by_dormant: BTreeMap<&Path, &Path> = kustomize
        .dormant
        .iter()
        .flat_map(|(dir, d)| d.files.iter().map(move |f| (f.as_path(), dir.as_path())))
        .collect();
    let mut dropped = HashSet::new();
    let mut groups: BTreeMap<PathBuf, Group> = BTreeMap::new();
    for (i, f) in parsed.iter().enumerate() {
        let Some(source) = f.source.as_ref().filter(|_| f.kind == FileKind::Manifest) else { continue };
        let path = normalize(&source.path);
        if kustomize.reached.contains(&path) || played.contains(&path) {
            continue;
        }
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let beside = kustomize.dormant.contains_key(&dir)
            || (kustomize.built.contains(&dir) && kustomizations.contains_key(&dir));
        let owner = if beside {
            dir
        } else {
            let Some(d) = named_by_dormant.get(path.as_path()) else { continue };
            d.to_path_buf()
        };
        dropped.insert(i);
        if f.references.is_empty() || reported.contains(source.display.as_str()) {
            continue;
        }
        let group = groups.entry(owner.clone()).or_insert_with(|| match kustomize.dormant.get(&owner) {
            Some(d) => Group {
                location: d.location.clone(),
                why: Why::Dormant { dir: display_path(&owner), component: d.component },
                files: Vec::new(),
            },
            None => {
                let location = kustomizations.get(&owner).cloned().unwrap_or_else(|| source.file_location());
                let why = Why::Unlisted { file: location.file.clone() };
                Group { location, why, files: Vec::new() }
            }
        });
        group.files.push(LeftOut {
            name: path.strip_prefix(&owner).map_or_else(|_| source.display.clone(), display_path),
            at: f.references.first().map_or_else(|| source.file_location(), |r| r.location.clone()),
            images: f.references.len(),
        });
    }
    let findings = groups
        .into_values()
        .map(|g| NotBuilt {
            message: message(&g.why, &g.files),
            location: g.location,
            files: g.files.into_iter().map(|f| f.at).collect(),
        })
        .collect();
    (dropped, findings)
}

/// What one kustomization leaves out and why: the names of up to five files (then how many
/// more), and how many images they hold.
fn message(why: &Why, files: &[LeftOut]) -> String {
    const SHOWN: usize = 5;
    let mut names: Vec<String> = files.iter().take(SHOWN).map(|f| format!("`{}`", f.name)).collect();
    if files.len() > SHOWN {
        names.push(format!("{} more files", files.len() - SHOWN));
    }
    let list = match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.concat(),
    };
    let (they, are, their) = if files.len() == 1 { ("it", "is", "its") } else { ("they", "are", "their") };
    let images = match files.iter().map(|f| f.images).sum::<usize>() {
        1 => format!("{their} image is not counted as a runtime reference"),
        n => format!("{their} {n} images are not counted as runtime references"),
    };
    match why {
        Why::Unlisted { file } => format!(
            "`{file}` does not list {list}, and applying the directory applies its kustomization only: {they} {are} not deployed, so {images}"
        ),
        Why::Dormant { dir, component: true } => format!(
            "`{dir}` is a kustomize Component that no kustomization enables under `components`, so {list} {are} never built: {images}"
        ),
        Why::Dormant { dir, component: false } => format!(
            "`{dir}` is used only by kustomize Components that no kustomization enables, so {list} {are} never built: {images}"
        ),
    }
}

/// The manifests Quadlet `.kube` units name in `Yaml=`, normalised: relative to the unit's
/// directory, or an absolute in-image path (an in-image file, a file a Containerfile copies
/// there, or a repository file mirroring it).
fn kube_yaml_files(parsed: &[ParsedFile], placed: &[(usize, String)]) -> HashSet<PathBuf> {
    let mut out = HashSet::new();
    for f in parsed {
        let (Details::Quadlet(unit), Some(source)) = (&f.details, &f.source) else { continue };
        if unit.unit_type != UnitType::Kube {
            continue;
        }
        let dir = source.path.parent().unwrap_or(Path::new(""));
        for (value, _) in &unit.yaml {
            if !value.starts_with('/') {
                out.insert(normalize(&dir.join(value)));
                continue;
            }
            if source.in_image {
                out.insert(normalize(Path::new(value)));
            }
            for (i, at) in placed {
                if at == value
                    && let Some(s) = parsed.get(*i).and_then(|p| p.source.as_ref())
                {
                    out.insert(normalize(&s.path));
                }
            }
            for p in parsed.iter().filter(|p| p.kind == FileKind::Manifest) {
                if let Some(s) =
                    p.source.as_ref().filter(|s| !s.in_image && s.display.ends_with(value.as_str()))
                {
                    out.insert(normalize(&s.path));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn left_out(n: usize) -> Vec<LeftOut> {
        (0..n)
            .map(|i| LeftOut { name: format!("f{i}.yaml"), at: Location::file_only("x"), images: 2 })
            .collect()
    }

    #[test]
    fn messages_name_five_files_at_most() {
        let why = Why::Unlisted { file: "k/kustomization.yaml".into() };
        assert_eq!(
            message(&why, &left_out(7)),
            "`k/kustomization.yaml` does not list `f0.yaml`, `f1.yaml`, `f2.yaml`, `f3.yaml`, `f4.yaml` and \
             2 more files, and applying the directory applies its kustomization only: they are not deployed, \
             so their 14 images are not counted as runtime references"
        );
        let why = Why::Dormant { dir: "k/c".into(), component: false };
        assert_eq!(
            message(&why, &left_out(2)),
            "`k/c` is used only by kustomize Components that no kustomization enables, so `f0.yaml` and \
             `f1.yaml` are never built: their 4 images are not counted as runtime references"
        );
    }
}

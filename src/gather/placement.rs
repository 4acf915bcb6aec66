//! Where the sources sit inside the image (through the Containerfiles' COPY), which
//! kustomization directories MicroShift applies, and which manifests it will not apply.

use super::parse::{Details, ParsedFile};
use crate::resolve::applied::{self, NotApplied, Placed};
use crate::resolve::copies::ImageCopies;
use crate::source::FileKind;
use crate::source::microshift::KustomizePath;
use crate::text::SourceText;
use crate::text::paths::normalize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// A kustomization directory MicroShift applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedDir {
    /// The directory as walked (or its in-image path).
    pub dir: String,
    /// Where it sits in the image.
    pub in_image: String,
}

/// Where the manifests and kustomizations of the sources sit inside the image, and which
/// kustomization directories MicroShift applies.
pub(super) struct Placement {
    /// Every manifest or kustomization placed in the image: (index into the parsed files,
    /// in-image path). A file copied to several places is there once per place.
    pub(super) placed: Vec<(usize, String)>,
    /// The effective `kustomizePaths`.
    pub(super) paths: Vec<KustomizePath>,
    /// The kustomization directories (normalised, as walked) MicroShift applies, with their
    /// in-image path: they are kustomize roots even when another kustomization uses them.
    pub(super) applied: BTreeMap<PathBuf, String>,
}

/// `/etc/microshift/config.yaml` or a `config.d/*.yaml` drop-in.
fn is_microshift_config(in_image: &str) -> bool {
    in_image == "/etc/microshift/config.yaml"
        || in_image
            .strip_prefix("/etc/microshift/config.d/")
            .is_some_and(|name| !name.contains('/') && name.ends_with(".yaml"))
}

/// Place the sources in the image (the Containerfiles' build-context copies first, then the
/// repository's mirror of the image) and work out the effective `kustomizePaths` (given for
/// in-image sources; else from the MicroShift configs among the sources, at the place they are
/// copied to) and the directories MicroShift applies.
pub(super) fn place(parsed: &[ParsedFile], kustomize_paths: Option<Vec<KustomizePath>>) -> Placement {
    let copies: Vec<ImageCopies> = parsed
        .iter()
        .filter_map(|f| match (&f.details, &f.source) {
            (Details::Containerfile(c), Some(s)) if !s.in_image => Some(ImageCopies::new(&s.path, c)),
            _ => None,
        })
        .collect();
    let copied = |source: &SourceText| -> Vec<String> {
        let mut out: Vec<String> = copies.iter().flat_map(|c| c.in_image(&source.path)).collect();
        out.sort();
        out.dedup();
        out
    };
    let mut placed = Vec::new();
    let mut configs = Vec::new();
    for (i, f) in parsed.iter().enumerate() {
        let Some(source) = &f.source else { continue };
        let places = if source.in_image { vec![source.display.clone()] } else { copied(source) };
        match (&f.details, f.kind) {
            (Details::Microshift(c), _) if places.is_empty() => configs.push(c.clone()),
            (Details::Microshift(c), _) => {
                for at in places.iter().filter(|p| is_microshift_config(p)) {
                    configs
                        .push(crate::source::microshift::MicroshiftConfig { file: at.clone(), ..c.clone() });
                }
            }
            (_, FileKind::Manifest | FileKind::Kustomization) => {
                if f.kind == FileKind::Manifest {
                    // A YAML file copied to MicroShift's configuration is one.
                    for at in places.iter().filter(|p| is_microshift_config(p)) {
                        let c = crate::source::microshift::parse(source);
                        configs.push(crate::source::microshift::MicroshiftConfig { file: at.clone(), ..c });
                    }
                }
                let places = if places.is_empty() {
                    applied::in_image_path(&source.display, source.in_image).into_iter().collect()
                } else {
                    places
                };
                placed.extend(places.into_iter().map(|at| (i, at)));
            }
            _ => {}
        }
    }
    let paths =
        kustomize_paths.unwrap_or_else(|| crate::source::microshift::effective_kustomize_paths(&configs));
    let mut applied = BTreeMap::new();
    for (i, at) in &placed {
        let (Some(f), Some((dir, _))) = (parsed.get(*i), at.rsplit_once('/')) else { continue };
        let Some(source) = f.source.as_ref().filter(|_| f.kind == FileKind::Kustomization) else { continue };
        if applied::applying_entry(dir, &paths).is_some()
            && let Some(parent) = source.path.parent()
        {
            applied.insert(normalize(parent), dir.to_string());
        }
    }
    Placement { placed, paths, applied }
}

/// Manifests under a MicroShift manifests directory (as placed in the image) that MicroShift
/// will not apply, judged against the effective `kustomizePaths`.
pub(super) fn manifests_not_applied(
    parsed: &[ParsedFile],
    placement: &Placement,
    reached: &BTreeSet<PathBuf>,
) -> Vec<NotApplied> {
    let placed: Vec<Placed> = placement
        .placed
        .iter()
        .filter_map(|(i, at)| {
            let f = parsed.get(*i)?;
            let source = f.source.as_ref()?;
            Some(Placed {
                in_image: at.clone(),
                location: source.file_location(),
                is_kustomization: f.kind == FileKind::Kustomization,
                reached: reached.contains(&normalize(&source.path)),
            })
        })
        .collect();
    if placed.is_empty() {
        return Vec::new();
    }
    applied::not_applied(&placed, &placement.paths)
}

//! The sources inside the OS image, parsed with the repository's parsers: the manifests
//! MicroShift applies (every `kustomizePaths` directory that holds a kustomization), Quadlets
//! (a unit linked from `bound-images.d` is `bound`), the release files for the image's
//! architecture, and CRI-O's effective `pause_image`. Locations carry the in-image absolute
//! path and `in_image: true`.

use crate::gather::discover::into_facts_in_image;
use crate::gather::facts::Facts;
use crate::gather::parse::{Details, ParsedFile, parse_source};
use crate::image::view::{Entry, FileView};
use crate::inventory::{Inventory, Method};
use crate::reference::{Origin, RefKind};
use crate::source::crio::{CRIO_CONF, CRIO_DROP_INS};
use crate::source::kustomization::KUSTOMIZATION_FILES;
use crate::source::microshift::RELEASE_DIR;
use crate::source::quadlet::QUADLET_DIRS;
use crate::source::{BuildOptions, FileKind};
use crate::text::location::Location;
use crate::text::source::source_from_bytes;
use crate::text::{Problem, SourceText};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

/// The facts of the in-image sources (their own world: Quadlet `.image` links stay inside the
/// image). Store metadata the image-scope rules point into (image lists, storage.conf) is
/// added to `sources` for excerpts.
pub fn read(view: &FileView, inv: &Inventory, target_arch: &str, opts: &BuildOptions) -> Facts {
    let mut files: Vec<(String, FileKind)> = Vec::new();
    for dir in kustomize_dirs(view, inv) {
        for path in kustomize_files(view, &dir) {
            if let Some(kind) = FileKind::classify(Path::new(&path)) {
                files.push((path, kind));
            }
        }
    }
    for dir in QUADLET_DIRS {
        for (path, entry) in view.walk(dir) {
            if matches!(entry, Entry::File { .. })
                && FileKind::classify(Path::new(path)) == Some(FileKind::Quadlet)
            {
                files.push((path.to_string(), FileKind::Quadlet));
            }
        }
    }
    for (name, entry) in view.list_dir(RELEASE_DIR) {
        if matches!(entry, Entry::File { .. }) && crate::source::release::is_for_arch(name, target_arch) {
            files.push((format!("{RELEASE_DIR}/{name}"), FileKind::MicroshiftRelease));
        }
    }
    let mut crio = vec![CRIO_CONF.to_string()];
    let mut drop_ins: Vec<String> = view
        .list_dir(CRIO_DROP_INS)
        .into_iter()
        .filter(|(n, e)| n.ends_with(".conf") && matches!(e, Entry::File { .. }))
        .map(|(n, _)| format!("{CRIO_DROP_INS}/{n}"))
        .collect();
    drop_ins.sort();
    crio.extend(drop_ins);
    files.extend(crio.into_iter().filter(|p| view.lookup(p).is_some()).map(|p| (p, FileKind::CrioConfig)));

    // File order, like the repository's sources (Quadlets in /etc still come before /usr, as
    // Quadlet's precedence wants).
    files.sort();
    let mut seen = BTreeSet::new();
    let mut parsed: Vec<ParsedFile> = Vec::new();
    for (path, kind) in files {
        if seen.insert(path.clone()) {
            parsed.push(parse(view, &path, kind, opts));
        }
    }
    keep_effective_pause_image(&mut parsed);
    let mut facts =
        into_facts_in_image(parsed, view, &inv.config.microshift.kustomize_paths, &opts.image_fields);
    mark_bound(view, inv, &mut facts);
    for path in metadata_files(inv) {
        if let Some(src) = text_source(view, &path) {
            facts.sources.entry(path).or_insert_with(|| Arc::new(src));
        }
    }
    facts
}

fn parse(view: &FileView, path: &str, kind: FileKind, opts: &BuildOptions) -> ParsedFile {
    let failed = |message: String, location: Location| ParsedFile {
        kind,
        source: None,
        references: Vec::new(),
        problems: vec![Problem { message, location }],
        details: Details::None,
        documents: None,
    };
    let Some(bytes) = view.read(path) else {
        let mut location = Location::file_only(path);
        location.in_image = true;
        return failed("cannot be read from the image (too large, or not a regular file)".into(), location);
    };
    match source_from_bytes(Path::new(path), path, bytes.to_vec()) {
        Ok(mut src) => {
            src.in_image = true;
            parse_source(kind, src, opts)
        }
        Err(mut problem) => {
            problem.location.in_image = true;
            failed(problem.message, problem.location)
        }
    }
}

/// A text file of the image as a source (for excerpts), in-image.
pub fn text_source(view: &FileView, path: &str) -> Option<SourceText> {
    let bytes = view.read(path)?;
    let mut src = source_from_bytes(Path::new(path), path, bytes.to_vec()).ok()?;
    src.in_image = true;
    Some(src)
}

/// Image lists and the effective storage.conf: image-scope findings point into them.
fn metadata_files(inv: &Inventory) -> Vec<String> {
    let mut out: Vec<String> =
        inv.stores.iter().filter(|s| s.kind == "image-list").map(|s| s.path.clone()).collect();
    out.extend(inv.config.storage.file.clone());
    out
}

/// The directories MicroShift applies: every effective `kustomizePaths` entry (a glob in its
/// last component is expanded) that is a directory holding a kustomization file.
pub fn kustomize_dirs(view: &FileView, inv: &Inventory) -> Vec<String> {
    let mut out = Vec::new();
    for pattern in &inv.config.microshift.kustomize_paths {
        let pattern = pattern.trim_end_matches('/');
        let (parent, last) = pattern.rsplit_once('/').unwrap_or(("", pattern));
        let candidates: Vec<String> = if last.contains(['*', '?', '[']) {
            let Ok(glob) = globset::Glob::new(last) else { continue };
            let matcher = glob.compile_matcher();
            view.list_dir(parent)
                .into_iter()
                .filter(|(name, _)| matcher.is_match(name))
                .map(|(name, _)| format!("{parent}/{name}"))
                .collect()
        } else {
            vec![pattern.to_string()]
        };
        for dir in candidates {
            let is_dir = matches!(view.lookup(&dir), Some(Entry::Dir { .. }));
            let has_kustomization =
                KUSTOMIZATION_FILES.iter().any(|k| view.lookup(&format!("{dir}/{k}")).is_some());
            if is_dir && has_kustomization && !out.contains(&dir) {
                out.push(dir);
            }
        }
    }
    out
}

/// The files of one kustomization directory MicroShift applies: every YAML file below it
/// (except `delete/`, which MicroShift applies as deletions). They are parsed like the
/// repository's files, and the kustomize build over the image's files then reports each
/// manifest once, as its kustomization resolves it.
pub fn kustomize_files(view: &FileView, dir: &str) -> Vec<String> {
    let deletions = format!("{dir}/delete/");
    view.walk(dir)
        .filter(|(path, entry)| matches!(entry, Entry::File { .. }) && !path.starts_with(&deletions))
        .filter(|(path, _)| {
            matches!(FileKind::classify(Path::new(path)), Some(FileKind::Manifest | FileKind::Kustomization))
        })
        .map(|(path, _)| path.to_string())
        .collect()
}

/// CRI-O uses the `pause_image` of the last file (in its reading order) that sets it: only
/// that one is a reference.
fn keep_effective_pause_image(parsed: &mut [ParsedFile]) {
    let last = parsed.iter().rposition(|f| {
        f.kind == FileKind::CrioConfig && f.references.iter().any(|r| r.origin == Origin::CrioPauseImage)
    });
    for (i, f) in parsed.iter_mut().enumerate() {
        if f.kind == FileKind::CrioConfig && Some(i) != last {
            f.references.retain(|r| r.origin != Origin::CrioPauseImage);
        }
    }
}

/// A Quadlet that a `bound-images.d` entry links to is a bound image, not a runtime one.
fn mark_bound(view: &FileView, inv: &Inventory, facts: &mut Facts) {
    let targets: BTreeSet<String> = inv
        .images
        .iter()
        .filter(|i| i.method == Method::Bound)
        .filter_map(|i| view.resolve(&i.path))
        .collect();
    for r in &mut facts.references {
        if r.origin == Origin::QuadletImage && r.location.in_image && targets.contains(&r.location.file) {
            r.kind = RefKind::Bound;
        }
    }
}

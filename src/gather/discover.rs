//! Walking the PATH arguments, reading each source once, and parsing them in parallel.

use crate::gather::facts::Facts;
use crate::reference::Reference;
use crate::resolve::applied::{self, NotApplied, Placed};
use crate::resolve::copies::ImageCopies;
use crate::resolve::kustomize;
use crate::resolve::kustomize::fs::{DiskFs, Fs, MemFs};
use crate::source::microshift::KustomizePath;
use crate::source::{BuildOptions, FileKind};
use crate::text::fieldpath::FieldPath;
use crate::text::location::Location;
use crate::text::paths::normalize;
use crate::text::source::{display_path, io_message, read_source, source_from_bytes};
use crate::text::tree::Val;
use crate::text::{Problem, SourceText};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A file found by the walk, not read yet.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Discovered {
    pub display: String,
    pub path: PathBuf,
    pub kind: FileKind,
}

/// A PATH argument that does not exist or cannot be walked at all: the analysis cannot be done.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct WalkError {
    pub path: String,
    pub message: String,
}

/// Walk the PATH arguments respecting `.gitignore`, following symlinks (a loop is walked once),
/// and classify every file by name. Files given explicitly are taken even when ignored.
/// Returns the files sorted by display path, and the entries that could not be walked.
pub fn discover(paths: &[PathBuf]) -> Result<(Vec<Discovered>, Vec<Problem>), WalkError> {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for root in paths {
        let meta = std::fs::metadata(root)
            .map_err(|e| WalkError { path: root.display().to_string(), message: io_message(&e) })?;
        if meta.is_file() {
            if let Some(kind) = FileKind::classify(root) {
                found.push(Discovered { display: display_path(root), path: root.clone(), kind });
            }
            continue;
        }
        let walker = ignore::WalkBuilder::new(root).follow_links(true).require_git(false).build();
        for entry in walker {
            match entry {
                Ok(entry) => {
                    if !entry.file_type().is_some_and(|t| t.is_file()) {
                        continue;
                    }
                    let path = entry.path();
                    if let Some(kind) = FileKind::classify(path) {
                        found.push(Discovered {
                            display: display_path(path),
                            path: path.to_path_buf(),
                            kind,
                        });
                    }
                }
                // A symlink loop leads back into a directory already walked: nothing is lost.
                Err(e) if is_loop(&e) => {}
                Err(e) => {
                    let path =
                        error_path(&e).map_or_else(|| root.display().to_string(), |p| display_path(&p));
                    problems.push(Problem {
                        message: format!("cannot be read: {}", strip_path(&e.to_string())),
                        location: Location::file_only(path),
                    });
                }
            }
        }
    }
    found.sort();
    found.dedup_by(|a, b| a.path == b.path);
    Ok((found, problems))
}

fn is_loop(e: &ignore::Error) -> bool {
    match e {
        ignore::Error::Loop { .. } => true,
        ignore::Error::WithPath { err, .. } | ignore::Error::WithDepth { err, .. } => is_loop(err),
        ignore::Error::WithLineNumber { err, .. } => is_loop(err),
        _ => false,
    }
}

fn error_path(e: &ignore::Error) -> Option<PathBuf> {
    match e {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => error_path(err),
        _ => None,
    }
}

fn strip_path(message: &str) -> String {
    message.rsplit(": ").next().unwrap_or(message).to_string()
}

/// One source after parsing.
#[derive(Debug)]
pub struct ParsedFile {
    pub kind: FileKind,
    pub source: Option<Arc<SourceText>>,
    pub references: Vec<Reference>,
    pub problems: Vec<Problem>,
    pub details: Details,
    /// A manifest's documents as kustomize values, kept when a kustomization may read it
    /// (see [`parse_source_keeping`]), so the kustomize build does not parse it again.
    pub documents: Option<Arc<Vec<Val>>>,
}

/// What a parser found beyond references, for the facts of later stages.
#[derive(Debug)]
pub enum Details {
    None,
    Containerfile(Box<crate::source::containerfile::Containerfile>),
    Manifest(Vec<crate::source::manifest::K8sObject>),
    Quadlet(crate::source::quadlet::QuadletUnit),
    Release(crate::source::release::Release),
    Crio(Box<crate::source::crio::CrioConfig>),
    Microshift(crate::source::microshift::MicroshiftConfig),
}

/// Parse one source of a known kind.
pub fn parse_source(kind: FileKind, source: SourceText, opts: &BuildOptions) -> ParsedFile {
    parse_source_keeping(kind, source, opts, false)
}

/// [`parse_source`]; with `keep_documents`, a manifest's documents are kept for the
/// kustomize build (its directory holds a kustomization).
pub fn parse_source_keeping(
    kind: FileKind,
    source: SourceText,
    opts: &BuildOptions,
    keep_documents: bool,
) -> ParsedFile {
    let source = Arc::new(source);
    let mut documents = None;
    let (references, problems, details) = match kind {
        FileKind::Containerfile => {
            let mut c = crate::source::containerfile::parse(&source, opts);
            (
                std::mem::take(&mut c.references),
                std::mem::take(&mut c.problems),
                Details::Containerfile(Box::new(c)),
            )
        }
        FileKind::Manifest if keep_documents => {
            let m = crate::source::manifest::parse_keeping_documents(&source, &opts.image_fields);
            documents = m.documents.map(Arc::new);
            (m.references, m.problems, Details::Manifest(m.objects))
        }
        FileKind::Manifest => {
            let m = crate::source::manifest::parse_with_fields(&source, &opts.image_fields);
            (m.references, m.problems, Details::Manifest(m.objects))
        }
        FileKind::Kustomization => {
            let (docs, problems) = crate::source::kustomization::parse(&source);
            documents = docs.map(Arc::new);
            (Vec::new(), problems, Details::None)
        }
        FileKind::Quadlet => {
            // References stay in the unit until `into_facts` has linked `.image` units.
            let mut q = crate::source::quadlet::parse(&source);
            (Vec::new(), std::mem::take(&mut q.problems), Details::Quadlet(q))
        }
        FileKind::MicroshiftRelease => {
            let mut r = crate::source::release::parse(&source);
            (std::mem::take(&mut r.references), std::mem::take(&mut r.problems), Details::Release(r))
        }
        FileKind::CrioConfig => {
            let mut c = crate::source::crio::parse(&source);
            (
                c.pause_image.iter().cloned().collect(),
                std::mem::take(&mut c.problems),
                Details::Crio(Box::new(c)),
            )
        }
        FileKind::MicroshiftConfig => {
            let mut m = crate::source::microshift::parse(&source);
            (Vec::new(), std::mem::take(&mut m.problems), Details::Microshift(m))
        }
    };
    ParsedFile { kind, source: Some(source), references, problems, details, documents }
}

/// Read and parse every discovered file in parallel; the result keeps the input order.
///
/// The work runs on a pool whose threads have the stack the YAML parser needs, so it does not
/// start a thread per file.
pub fn parse_all(files: &[Discovered], opts: &BuildOptions) -> Vec<ParsedFile> {
    match parser_pool() {
        Some(pool) => pool.install(|| parse_files(files, opts)),
        None => parse_files(files, opts),
    }
}

fn parser_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("stowage-parse-{i}"))
            .stack_size(crate::text::yaml::PARSER_STACK_SIZE)
            .start_handler(|_| crate::text::yaml::mark_parser_stack())
            .build()
            .ok()
    })
    .as_ref()
}

fn parse_files(files: &[Discovered], opts: &BuildOptions) -> Vec<ParsedFile> {
    let kustomized = resource_files(files);
    files
        .par_iter()
        .map(|f| match read_source(&f.path, &f.display) {
            Ok(source) => {
                let keep = f.kind == FileKind::Manifest && kustomized.contains(&normalize(&f.path));
                parse_source_keeping(f.kind, source, opts, keep)
            }
            Err(problem) => ParsedFile {
                kind: f.kind,
                source: None,
                references: Vec::new(),
                problems: vec![problem],
                details: Details::None,
                documents: None,
            },
        })
        .collect()
}

/// The files the kustomizations among `files` name in `resources` or `bases`: their
/// documents are kept when they are parsed, for the kustomize build (a hint only: the build
/// parses whatever else it reads).
fn resource_files(files: &[Discovered]) -> BTreeSet<PathBuf> {
    files
        .par_iter()
        .filter(|f| f.kind == FileKind::Kustomization)
        .flat_map_iter(|f| {
            let mut named = Vec::new();
            let (Ok(source), Some(dir)) = (read_source(&f.path, &f.display), f.path.parent()) else {
                return named;
            };
            crate::text::yaml::for_each_document(&source, |d| {
                for field in ["resources", "bases"] {
                    let entries = d.root.get(field).and_then(|n| n.as_seq()).unwrap_or(&[]);
                    named.extend(entries.iter().filter_map(|e| e.as_str()).map(|e| normalize(&dir.join(e))));
                }
            });
            named
        })
        .collect()
}

/// `dest` followed by `src`; taken over whole when `dest` is empty, so that one large file's
/// references are moved, not copied into a second vector as large.
fn append<T>(dest: &mut Vec<T>, src: Vec<T>) {
    if dest.is_empty() {
        *dest = src;
    } else {
        dest.extend(src);
    }
}

/// Combine parsed files into the facts: cross-file links (Quadlet `.image` units), the
/// kustomize builds, then every reference and problem in file order. A manifest some
/// kustomization reads is reported through that kustomization only, as it resolves it (the
/// configured `image_fields` included).
pub fn into_facts(
    parsed: Vec<ParsedFile>,
    walk_problems: Vec<Problem>,
    fs: &dyn Fs,
    image_fields: &[FieldPath],
) -> Facts {
    into_facts_with(parsed, walk_problems, fs, None, image_fields)
}

/// [`into_facts`] for the sources read from inside an image, whose MicroShift configuration
/// (the effective `kustomizePaths`) was read with the image's inventory.
pub fn into_facts_in_image(
    parsed: Vec<ParsedFile>,
    fs: &dyn Fs,
    kustomize_paths: &[String],
    image_fields: &[FieldPath],
) -> Facts {
    let paths = kustomize_paths.iter().map(|p| KustomizePath { path: p.clone(), location: None }).collect();
    into_facts_with(parsed, Vec::new(), fs, Some(paths), image_fields)
}

fn into_facts_with(
    mut parsed: Vec<ParsedFile>,
    walk_problems: Vec<Problem>,
    fs: &dyn Fs,
    kustomize_paths: Option<Vec<KustomizePath>>,
    image_fields: &[FieldPath],
) -> Facts {
    link_quadlets(&mut parsed);
    let placement = place(&parsed, kustomize_paths);
    let always_roots: BTreeSet<PathBuf> = placement.applied.keys().cloned().collect();
    let kustomize = resolve_kustomizations(&parsed, fs, &always_roots, image_fields);
    // The build is done with the documents the walk kept for it.
    let documents: Vec<_> = parsed.iter_mut().filter_map(|f| f.documents.take()).collect();
    if documents.len() >= crate::source::LARGE_TREE {
        crate::source::drop_in_background(documents);
    }
    let mut facts = Facts {
        manifests_not_applied: manifests_not_applied(&parsed, &placement, &kustomize.reached),
        applied_kustomizations: placement
            .applied
            .iter()
            .map(|(dir, in_image)| AppliedDir { dir: display_path(dir), in_image: in_image.clone() })
            .collect(),
        ..Facts::default()
    };
    facts.problems.extend(walk_problems);
    let mut containerfiles = Vec::new();
    let mut releases = Vec::new();
    let reached: HashSet<&Path> = kustomize.reached.iter().map(PathBuf::as_path).collect();
    // The raw references of manifests a kustomization resolves, replaced by its own.
    let mut superseded = Vec::new();
    for file in parsed {
        let display = file.source.as_ref().map(|s| s.display.clone());
        match file.details {
            Details::Manifest(objects) => append(&mut facts.objects, objects),
            Details::Containerfile(c) => containerfiles.push(*c),
            // The release references were handed to the file; the plan needs them back.
            Details::Release(mut r) => {
                r.references = file.references.clone();
                releases.push((display.clone().unwrap_or_default(), r));
            }
            _ => {}
        }
        if let Some(source) = file.source {
            let reached = reached.contains(normalize(&source.path).as_path());
            facts.sources.insert(source.display.clone(), source);
            if reached && file.kind == FileKind::Manifest {
                facts.problems.extend(file.problems);
                superseded.push(file.references);
                continue;
            }
        }
        append(&mut facts.references, file.references);
        facts.problems.extend(file.problems);
    }
    if superseded.len() >= crate::source::LARGE_TREE {
        crate::source::drop_in_background(superseded);
    }
    for source in kustomize.sources {
        facts.sources.entry(source.display.clone()).or_insert(source);
    }
    facts.references.extend(kustomize.references);
    facts.references.sort_by(|a, b| {
        (&a.location.file, a.location.line, a.location.column).cmp(&(
            &b.location.file,
            b.location.line,
            b.location.column,
        ))
    });
    facts.kustomize_issues = kustomize.issues;
    let containerfiles: Vec<&crate::source::containerfile::Containerfile> = containerfiles.iter().collect();
    let releases: Vec<(String, &crate::source::release::Release)> =
        releases.iter().map(|(p, r)| (p.clone(), r)).collect();
    facts.embed_plan = crate::inventory::plan::embed_plan(&containerfiles, &releases);
    facts
}

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
struct Placement {
    /// Every manifest or kustomization placed in the image: (index into the parsed files,
    /// in-image path). A file copied to several places is there once per place.
    placed: Vec<(usize, String)>,
    /// The effective `kustomizePaths`.
    paths: Vec<KustomizePath>,
    /// The kustomization directories (normalised, as walked) MicroShift applies, with their
    /// in-image path: they are kustomize roots even when another kustomization uses them.
    applied: BTreeMap<PathBuf, String>,
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
fn place(parsed: &[ParsedFile], kustomize_paths: Option<Vec<KustomizePath>>) -> Placement {
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
fn manifests_not_applied(
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

/// Build every kustomization among the parsed files, on the parser pool (whose threads have
/// the stack the YAML parser needs, so no thread is started per file read); `always_roots` are
/// built on their own; the images at the configured `image_fields` are taken from the built
/// objects.
fn resolve_kustomizations(
    parsed: &[ParsedFile],
    fs: &dyn Fs,
    always_roots: &BTreeSet<PathBuf>,
    image_fields: &[FieldPath],
) -> kustomize::Resolution {
    let mut files = Vec::new();
    let mut known = HashMap::new();
    let mut documents = HashMap::new();
    for file in parsed {
        if let Some(source) = &file.source {
            let path = normalize(&source.path);
            if file.kind == FileKind::Kustomization {
                files.push(path.clone());
            }
            if let Some(docs) = &file.documents {
                documents.insert(path.clone(), Arc::clone(docs));
            }
            known.insert(path, Arc::clone(source));
        }
    }
    if files.is_empty() {
        return kustomize::Resolution::default();
    }
    let request = kustomize::Request {
        fs,
        kustomization_files: &files,
        always_roots,
        known: &known,
        parsed: &documents,
        image_fields,
        parallel: true,
    };
    let resolve = || request.resolve();
    match parser_pool() {
        Some(pool) => pool.install(resolve),
        None => resolve(),
    }
}

/// Resolve `Image=NAME.image` through the unit of that name, then hand the Quadlet
/// references to their files.
fn link_quadlets(parsed: &mut [ParsedFile]) {
    let mut units: Vec<crate::source::quadlet::QuadletUnit> = Vec::new();
    let mut owners = Vec::new();
    for (i, file) in parsed.iter_mut().enumerate() {
        if let Details::Quadlet(unit) = &mut file.details {
            owners.push(i);
            units.push(unit.clone());
        }
    }
    crate::source::quadlet::link_image_units(&mut units);
    for (i, mut unit) in owners.into_iter().zip(units) {
        parsed[i].references = std::mem::take(&mut unit.references);
        parsed[i].details = Details::Quadlet(unit);
    }
}

/// Discover, read and parse: the facts of the PATH arguments.
pub fn gather(paths: &[PathBuf], opts: &BuildOptions) -> Result<Facts, WalkError> {
    gather_filtered(paths, opts, &|_| true)
}

/// [`gather`], keeping only the files whose display path `keep` accepts (`exclude` globs).
pub fn gather_filtered(
    paths: &[PathBuf],
    opts: &BuildOptions,
    keep: &dyn Fn(&str) -> bool,
) -> Result<Facts, WalkError> {
    let (mut files, walk_problems) = discover(paths)?;
    files.retain(|f| keep(&f.display));
    Ok(into_facts(parse_all(&files, opts), walk_problems, &DiskFs, &opts.image_fields))
}

/// The same as [`gather`] over in-memory files `(path, text)`, for tests.
pub fn gather_in_memory(files: &[(&str, &str)], opts: &BuildOptions) -> Facts {
    let parsed = files
        .iter()
        .filter_map(|(path, text)| {
            let kind = FileKind::classify(Path::new(path))?;
            Some(match source_from_bytes(Path::new(path), path, text.as_bytes().to_vec()) {
                Ok(source) => parse_source(kind, source, opts),
                Err(problem) => ParsedFile {
                    kind,
                    source: None,
                    references: Vec::new(),
                    problems: vec![problem],
                    details: Details::None,
                    documents: None,
                },
            })
        })
        .collect();
    let fs = MemFs { files: files.iter().map(|(p, t)| (normalize(Path::new(p)), t.to_string())).collect() };
    into_facts(parsed, Vec::new(), &fs, &opts.image_fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &str =
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - d.yaml\n";
    const D: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: quay.io/a/b:1\n";

    #[test]
    fn a_copied_config_sets_the_kustomize_paths() {
        let facts = gather_in_memory(
            &[
                (
                    "repo/Containerfile",
                    "FROM quay.io/fedora/fedora-bootc:42\nCOPY conf/paths.yaml /etc/microshift/config.d/10-paths.yaml\nCOPY app/ /opt/apps/app/\nCOPY other/ /usr/lib/microshift/manifests.d/other/\n",
                ),
                ("repo/conf/paths.yaml", "manifests:\n  kustomizePaths:\n    - /opt/apps/*\n"),
                ("repo/app/kustomization.yaml", K),
                ("repo/app/d.yaml", D),
                ("repo/other/kustomization.yaml", K),
                ("repo/other/d.yaml", D),
            ],
            &BuildOptions::default(),
        );
        let applied: Vec<(&str, &str)> =
            facts.applied_kustomizations.iter().map(|a| (a.dir.as_str(), a.in_image.as_str())).collect();
        assert_eq!(applied, [("repo/app", "/opt/apps/app")]);
        let skipped: Vec<(&str, &str)> = facts
            .manifests_not_applied
            .iter()
            .map(|n| (n.location.file.as_str(), n.setting.as_ref().map_or("", |s| s.file.as_str())))
            .collect();
        assert_eq!(skipped, [("repo/other/d.yaml", "")]);
        assert!(
            facts.manifests_not_applied[0].reason.contains("/opt/apps/*"),
            "{:?}",
            facts.manifests_not_applied
        );
    }

    #[test]
    fn copies_win_over_the_mirror_and_the_mirror_still_counts() {
        let facts = gather_in_memory(
            &[
                ("repo/Containerfile", "FROM x\nCOPY m/ /etc/microshift/manifests.d/m/\n"),
                ("repo/m/d.yaml", D),
                ("repo/usr/lib/microshift/manifests/kustomization.yaml", K),
                ("repo/usr/lib/microshift/manifests/d.yaml", D),
            ],
            &BuildOptions::default(),
        );
        let applied: Vec<&str> = facts.applied_kustomizations.iter().map(|a| a.in_image.as_str()).collect();
        assert_eq!(applied, ["/usr/lib/microshift/manifests"]);
        let skipped: Vec<&str> =
            facts.manifests_not_applied.iter().map(|n| n.location.file.as_str()).collect();
        assert_eq!(skipped, ["repo/m/d.yaml"]);
    }

    const OPERATOR: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: op
  namespace: ops
spec:
  template:
    spec:
      containers:
        - name: manager
          image: quay.io/x/op:1.0
          env:
            - name: RELATED_IMAGE_DB
              value: quay.io/x/db:1.0
            - name: LOG_LEVEL
              value: debug
";

    /// (file:line:column, origin, image, object kind/name/namespace, within, kustomization) of
    /// every reference.
    fn described(facts: &Facts) -> Vec<String> {
        facts
            .references
            .iter()
            .map(|r| {
                let object = r.object.as_ref().map_or(String::new(), |o| {
                    format!("{}/{}/{}", o.kind, o.name, o.namespace.as_deref().unwrap_or(""))
                });
                format!(
                    "{}:{}:{} {} {} {:?} {} {} {}",
                    r.location.file,
                    r.location.line,
                    r.location.column,
                    r.kind.as_str(),
                    r.origin.as_str(),
                    r.status,
                    r.image,
                    object,
                    r.within.as_deref().unwrap_or("-"),
                ) + &r.kustomization.as_ref().map_or(String::new(), |k| format!(" via {}", k.file))
            })
            .collect()
    }

    /// A configured `image-fields` path gives its reference whether or not a kustomization
    /// lists the manifest, at the same place and once.
    #[test]
    fn configured_fields_of_a_kustomize_resource_are_kept() {
        let field = "spec.template.spec.containers[*].env[?name=RELATED_IMAGE_*].value";
        let opts = BuildOptions {
            image_fields: vec![crate::text::fieldpath::FieldPath::parse(field).unwrap()],
            ..BuildOptions::default()
        };
        let plain = gather_in_memory(&[("app/deployment.yaml", OPERATOR)], &opts);
        let want_plain = [
            "app/deployment.yaml:11:18 runtime kubernetes-container Resolved quay.io/x/op:1.0 Deployment/op/ops manager".to_string(),
            format!("app/deployment.yaml:14:22 runtime configured-field Resolved quay.io/x/db:1.0 Deployment/op/ops {field}"),
        ];
        assert_eq!(described(&plain), want_plain);

        let kustomized = gather_in_memory(
            &[
                ("app/kustomization.yaml", "resources:\n  - deployment.yaml\n"),
                ("app/deployment.yaml", OPERATOR),
            ],
            &opts,
        );
        let want: Vec<String> =
            want_plain.iter().map(|r| format!("{r} via app/kustomization.yaml")).collect();
        assert_eq!(described(&kustomized), want);

        // Without the configured field, only the container.
        let without = gather_in_memory(
            &[
                ("app/kustomization.yaml", "resources:\n  - deployment.yaml\n"),
                ("app/deployment.yaml", OPERATOR),
            ],
            &BuildOptions::default(),
        );
        assert_eq!(described(&without), want[..1]);
    }
}

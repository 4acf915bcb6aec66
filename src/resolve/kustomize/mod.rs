//! A native kustomize build, as far as it decides which images a kustomization deploys:
//! the same images and pull policies `kubectl kustomize` (kustomize v5) yields, offline,
//! with where each image was written and which kustomization entries changed it.
//!
//! Roots: every kustomization directory that no other kustomization uses (as a resource,
//! base or component) is built on its own; the others are built only as part of their
//! users. A Component (`kind: Component`) is never a root: kustomize builds it only where a
//! kustomization lists it under `components`, so one no build enables deploys nothing, and
//! neither does what only such Components lead to ([`Dormant`]). A directory left unbuilt
//! after that (a cycle) is built too, so the cycle is reported. What cannot be built offline
//! (remote resources, Helm charts, missing files, cycles) is an [`Issue`], never a crash; the
//! build goes on with what it could read.

mod build;
mod fieldspec;
pub mod fs;
mod images;
mod patch;
mod replace;
mod resource;

use crate::reference::{Change, ObjectRef, Origin, PullPolicy, RefKind, Reference};
use crate::source::podspec::{self, Reader};
use crate::text::SourceText;
use crate::text::fieldpath::FieldPath;
use crate::text::location::Location;
use crate::text::paths::normalize;
use crate::text::tree::Val;
use build::{Builder, Limits};
pub use build::{MAX_NESTING, MAX_RESOURCES, is_remote};
use fieldspec::FieldSpec;
use fs::Fs;
use rayon::prelude::*;
use resource::Resource;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why (part of) a kustomization cannot be built offline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IssueKind {
    /// A resource, base or component fetched from the network.
    Remote,
    /// A missing file, a cycle, Helm charts, invalid YAML, a patch that matches nothing.
    Unbuildable,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    pub kind: IssueKind,
    pub message: String,
    pub location: Location,
}

/// Everything the builds found.
#[derive(Debug, Default)]
pub struct Resolution {
    /// The images of every root, resolved.
    pub references: Vec<Reference>,
    pub issues: Vec<Issue>,
    /// Every file some build read: these manifests are reported through their kustomization,
    /// not again as raw files.
    pub reached: BTreeSet<PathBuf>,
    /// Files read by the builds that the walk had not read.
    pub sources: Vec<Arc<SourceText>>,
    /// The kustomization directories built on their own.
    pub roots: Vec<PathBuf>,
    /// Every kustomization directory built, on its own or for another one.
    pub built: BTreeSet<PathBuf>,
    /// The kustomizations no build reaches because only Components that no kustomization
    /// enables lead to them (those Components included), by directory.
    pub dormant: BTreeMap<PathBuf, Dormant>,
}

/// A kustomization that is never built: a Component no kustomization enables, or one only such
/// Components use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dormant {
    /// Whether it is itself a Component (else it is used only by dormant ones).
    pub component: bool,
    /// Where to point at it: its `kind: Component`, else its `resources` list, else the start
    /// of its file.
    pub location: Location,
    /// The files its `resources` (and `bases`) name, normalised: they are built only through it.
    pub files: Vec<PathBuf>,
}

/// Build the kustomizations whose files are given (and whatever they use). `known` holds
/// sources already read, by path. `always_roots` are directories built on their own even
/// when another kustomization uses them (MicroShift applies them).
pub fn resolve(
    fs: &dyn Fs,
    kustomization_files: &[PathBuf],
    always_roots: &BTreeSet<PathBuf>,
    known: &HashMap<PathBuf, Arc<SourceText>>,
) -> Resolution {
    let parsed = HashMap::new();
    Request {
        fs,
        kustomization_files,
        always_roots,
        known,
        parsed: &parsed,
        image_fields: &[],
        parallel: true,
    }
    .resolve()
}

/// A kustomize resolution with everything it may reuse: [`resolve`]'s inputs, the documents of
/// some `known` files already parsed (by path) so they are not parsed again, and the configured
/// extra field paths (`image-fields`) read on every built object.
pub struct Request<'a> {
    pub fs: &'a dyn Fs,
    pub kustomization_files: &'a [PathBuf],
    pub always_roots: &'a BTreeSet<PathBuf>,
    pub known: &'a HashMap<PathBuf, Arc<SourceText>>,
    pub parsed: &'a HashMap<PathBuf, Arc<Vec<Val>>>,
    pub image_fields: &'a [FieldPath],
    /// False builds every entry one after the other (the reference the parallel build must
    /// equal).
    pub parallel: bool,
}

impl Request<'_> {
    /// Build every kustomization, on the parser pool: the build recurses once per nested
    /// kustomization, up to [`MAX_NESTING`] deep, which needs the pool's stack whatever
    /// thread asks (a test's, the main thread).
    pub fn resolve(&self) -> Resolution {
        self.resolve_limited(Limits::default())
    }

    /// [`Request::resolve`] within other bounds (smaller ones, in tests).
    pub(crate) fn resolve_limited(&self, limits: Limits) -> Resolution {
        match crate::text::yaml::parser_pool() {
            Some(pool) => pool.install(|| self.resolve_here(limits)),
            None => self.resolve_here(limits),
        }
    }

    fn resolve_here(&self, limits: Limits) -> Resolution {
        let Request { fs, kustomization_files, always_roots, known, parsed, image_fields, parallel } = *self;
        let mut dirs: Vec<PathBuf> = kustomization_files
            .iter()
            .filter_map(|f| f.parent())
            .map(normalize)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        dirs.sort();
        let uses = used_dirs(fs, &dirs, known, parsed);
        let mut builder = Builder::new(fs, known);
        builder.parsed = Some(parsed);
        builder.preread = Some(&uses.read);
        builder.parallel = parallel;
        builder.limits = limits;
        let mut out = Resolution::default();
        let mut roots: Vec<PathBuf> = dirs
            .iter()
            .filter(|d| {
                always_roots.contains(*d)
                    || !(uses.direct.contains_key(*d) || uses.components.contains_key(*d))
            })
            .cloned()
            .collect();
        // A directory built once (a root nothing uses, or used by one entry only) is not kept for
        // reuse: its resources are big, and a copy of them would only be dropped at the end.
        let is_root: HashSet<&PathBuf> = roots.iter().collect();
        builder.built_once = Arc::new(
            dirs.iter()
                .chain(uses.all.keys())
                .filter(|d| uses.all.get(*d).copied().unwrap_or(0) + usize::from(is_root.contains(d)) <= 1)
                .cloned()
                .collect(),
        );
        let mut done = BTreeSet::new();
        let (mut below, mut below_of) = (HashSet::new(), 0);
        let mut dormant;
        loop {
            for root in &roots {
                if !done.insert(root.clone()) {
                    continue;
                }
                let files = builder.kustomization_file(root);
                let at = files.first().map_or_else(
                    || Location::file_only(crate::text::source::display_path(root)),
                    |f| Location::file_only(crate::text::source::display_path(f)),
                );
                let built = builder.build_root(root, &at);
                let specs: Vec<FieldSpec> = built.images.written().cloned().collect();
                let resources = built.resources;
                extract(&resources, &at, image_fields, &specs, &mut out.references);
                if resources.len() >= crate::source::LARGE_TREE {
                    crate::source::drop_in_background(resources);
                }
                out.roots.push(root.clone());
            }
            // Directories only used by each other (a cycle) have no root: build one of them. Those
            // below a kustomization nested too deep are left unbuilt: that is the issue reported.
            // So are Components no build enabled, and what only they lead to: kustomize never
            // builds them.
            if builder.too_deep.len() != below_of {
                below = uses.reachable(&builder.too_deep);
                below_of = builder.too_deep.len();
            }
            dormant = uses.dormant(&builder.visited);
            match dirs.iter().find(|d| {
                !builder.visited.contains(*d)
                    && !done.contains(*d)
                    && !below.contains(*d)
                    && !dormant.contains(*d)
            }) {
                Some(next) => roots = vec![next.clone()],
                None => break,
            }
        }
        dedup(&mut out.references);
        out.issues = std::mem::take(&mut builder.issues);
        out.issues.sort_by(|a, b| (&a.location, &a.message).cmp(&(&b.location, &b.message)));
        out.issues.dedup();
        out.reached = std::mem::take(&mut builder.reached);
        out.dormant = dormant
            .into_iter()
            .filter(|d| !builder.visited.contains(d))
            .filter_map(|d| {
                let found = uses.dormant_entry(fs, &builder, &d, parsed);
                found.map(|found| (d, found))
            })
            .collect();
        out.built = std::mem::take(&mut builder.visited);
        let mut sources: Vec<_> = builder.sources.into_values().collect();
        sources.sort_by(|a, b| a.display.cmp(&b.display));
        out.sources = sources;
        out
    }
}

/// What [`used_dirs`] found: how many kustomization entries name each directory, and the
/// kustomization files it read that the walk had not.
#[derive(Default)]
struct Uses {
    /// The directories named by the kustomizations of the walked directories (`resources`,
    /// `bases`, `components`), with the number of entries naming each: a directory used by
    /// none is a root.
    direct: BTreeMap<PathBuf, usize>,
    /// The same over every kustomization the builds can reach (those of the directories
    /// named, and so on): a directory named once is built once, so its build is not kept.
    all: BTreeMap<PathBuf, usize>,
    /// The directories each kustomization names.
    edges: HashMap<PathBuf, Vec<PathBuf>>,
    /// The directories whose kustomization is a Component, with where its kind is written.
    components: BTreeMap<PathBuf, Option<Location>>,
    read: Preread,
}

impl Uses {
    /// The directories `from` and those they name, and so on.
    fn reachable(&self, from: &BTreeSet<PathBuf>) -> HashSet<PathBuf> {
        let mut seen: HashSet<PathBuf> = from.iter().cloned().collect();
        let mut todo: Vec<&PathBuf> = from.iter().collect();
        while let Some(dir) = todo.pop() {
            for next in self.edges.get(dir).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next);
                }
            }
        }
        seen
    }

    /// The directories never built: the Components not among the `built` ones, and what they
    /// lead to that no build reached.
    fn dormant(&self, built: &BTreeSet<PathBuf>) -> HashSet<PathBuf> {
        let unbuilt: BTreeSet<PathBuf> =
            self.components.keys().filter(|d| !built.contains(*d)).cloned().collect();
        if unbuilt.is_empty() {
            return HashSet::new();
        }
        let mut dormant = self.reachable(&unbuilt);
        dormant.retain(|d| !built.contains(d));
        dormant
    }

    /// What [`Resolution::dormant`] says of the dormant directory `dir`; `None` when its
    /// kustomization cannot be read.
    fn dormant_entry(
        &self,
        fs: &dyn Fs,
        builder: &Builder,
        dir: &Path,
        parsed: &HashMap<PathBuf, Arc<Vec<Val>>>,
    ) -> Option<Dormant> {
        let file = builder.kustomization_file(dir).into_iter().next()?;
        let docs = parsed.get(&file).or_else(|| self.read.documents.get(&file))?;
        let k = docs.first()?;
        let component = self.components.get(dir);
        let location = component
            .cloned()
            .flatten()
            .or_else(|| k.get("resources").and_then(Val::location))
            .or_else(|| k.location())
            .unwrap_or_else(|| Location::file_only(crate::text::source::display_path(&file)));
        let mut files = Vec::new();
        for field in ["resources", "bases"] {
            for entry in k.get(field).and_then(Val::as_seq).unwrap_or(&[]) {
                if let Some(text) = entry.as_str().filter(|t| !is_remote(t)) {
                    let path = normalize(&dir.join(text));
                    if fs.is_file(&path) {
                        files.push(path);
                    }
                }
            }
        }
        Some(Dormant { component: component.is_some(), location, files })
    }
}

/// Kustomization files read (and parsed, when they are valid YAML) before the build, for it to
/// take instead of reading them again.
#[derive(Default)]
pub(crate) struct Preread {
    pub sources: HashMap<PathBuf, Arc<SourceText>>,
    pub documents: HashMap<PathBuf, Arc<Vec<Val>>>,
}

/// The directories kustomizations name in `resources`, `bases` or `components`, from the
/// walked directories `dirs` and then from each directory named (a worklist, not recursion:
/// a chain of thousands of overlays is followed in constant stack). Kustomizations the walk
/// parsed (`parsed`) are not parsed again.
///
/// Counting only the walked directories' entries left every directory outside the walk
/// (`check overlays/prod`, the directories MicroShift applies inside an image) looking like
/// one used again later, so the build of each was kept, copied, for reuse that never came:
/// over a chain of N overlays, N copies of resources whose names grow with each
/// `namePrefix`.
fn used_dirs(
    fs: &dyn Fs,
    dirs: &[PathBuf],
    known: &HashMap<PathBuf, Arc<SourceText>>,
    parsed: &HashMap<PathBuf, Arc<Vec<Val>>>,
) -> Uses {
    let mut uses = Uses::default();
    let scratch = Builder::new(fs, known);
    let walked: HashSet<&PathBuf> = dirs.iter().collect();
    let mut seen: HashSet<PathBuf> = dirs.iter().cloned().collect();
    let mut todo: Vec<PathBuf> = dirs.to_vec();
    while let Some(dir) = todo.pop() {
        let is_walked = walked.contains(&dir);
        for file in scratch.kustomization_file(&dir) {
            let docs = match parsed.get(&file) {
                Some(d) => Arc::clone(d),
                None => match read_documents(fs, &file, known, &mut uses.read) {
                    Some(d) => d,
                    None => continue,
                },
            };
            let Some(k) = docs.first() else { continue };
            if let Some(kind) = k.get("kind").filter(|kind| kind.as_str() == Some("Component")) {
                uses.components.insert(dir.clone(), kind.location());
            }
            for field in ["resources", "bases", "components"] {
                for entry in k.get(field).and_then(Val::as_seq).unwrap_or(&[]) {
                    if let Some(text) = entry.as_str() {
                        let path = normalize(&dir.join(text));
                        if fs.is_dir(&path) && path != dir {
                            if is_walked {
                                *uses.direct.entry(path.clone()).or_insert(0) += 1;
                            }
                            *uses.all.entry(path.clone()).or_insert(0) += 1;
                            uses.edges.entry(dir.clone()).or_default().push(path.clone());
                            if seen.insert(path.clone()) {
                                todo.push(path);
                            }
                        }
                    }
                }
            }
        }
    }
    uses
}

/// The documents of a kustomization file the walk did not parse, read from `fs` (or taken from
/// the walk's sources); what was read and parsed is kept in `read` for the build. A file that
/// is not valid YAML is left for the build to parse again and report.
fn read_documents(
    fs: &dyn Fs,
    file: &Path,
    known: &HashMap<PathBuf, Arc<SourceText>>,
    read: &mut Preread,
) -> Option<Arc<Vec<Val>>> {
    let src = match known.get(file) {
        Some(s) => Arc::clone(s),
        None => {
            let bytes = fs.read(file).ok()?;
            let display = crate::text::source::display_path(file);
            let src = Arc::new(crate::text::source::source_from_bytes(file, &display, bytes).ok()?);
            read.sources.insert(file.to_path_buf(), Arc::clone(&src));
            src
        }
    };
    let mut docs = Vec::new();
    let problems = crate::text::yaml::for_each_document(&src, |d| docs.push(Val::from_node(&d.root, &src)));
    let docs = Arc::new(docs);
    if problems.is_empty() {
        read.documents.insert(file.to_path_buf(), Arc::clone(&docs));
    }
    Some(docs)
}

/// Exact duplicates (a base reached from two roots with the same result) are reported once.
fn dedup(references: &mut Vec<Reference>) {
    let mut seen = HashSet::with_capacity(references.len());
    let first: Vec<bool> = references
        .iter()
        .map(|r| {
            // The location as ordered and shown (its byte span aside).
            seen.insert((
                (&r.location.file, r.location.line, r.location.column, r.location.in_image),
                r.text(),
                r.pull_policy.as_ref().map(|p| p.value.as_str()),
                &r.object,
                &r.within,
            ))
        })
        .collect();
    let mut first = first.into_iter();
    references.retain(|_| first.next().unwrap_or(true));
}

/// The images of built resources, as references that keep where they were written (in
/// resource order; resolving them is most of the work, done in parallel). `specs` are the
/// `images` field specs the root's `configurations:` (and those of what it uses) wrote.
fn extract(
    resources: &[Resource],
    kustomization: &Location,
    fields: &[FieldPath],
    specs: &[FieldSpec],
    out: &mut Vec<Reference>,
) {
    let found: Vec<Reference> =
        resources.par_iter().flat_map_iter(|r| extract_one(r, kustomization, fields, specs)).collect();
    out.extend(found);
}

/// The images of one built resource: its pod spec's, those at the configured fields, then
/// those at the `configurations:` field specs that select it (a value already read through
/// the others is not read again).
fn extract_one(
    r: &Resource,
    kustomization: &Location,
    fields: &[FieldPath],
    specs: &[FieldSpec],
) -> Vec<Reference> {
    let (Some(api), Some(kind)) = (r.obj.str_at(&["apiVersion"]), r.obj.str_at(&["kind"])) else {
        return Vec::new();
    };
    let object = ObjectRef {
        kind: kind.to_string(),
        name: r.name().to_string(),
        namespace: r.namespaces.last().cloned().flatten(),
    };
    let mut reader = BuildReader { resource: r, kustomization, out: Vec::new(), read: HashSet::new() };
    podspec::read_workload(&r.obj, api, kind, &object, &mut reader);
    podspec::read_configured_fields(&r.obj, fields, &object, &mut reader);
    for spec in specs.iter().filter(|s| s.selects(api, kind)) {
        let mut values = Vec::new();
        fieldspec::select(&r.obj, spec.segments(), &mut values);
        for value in values {
            if reader.read.contains(&std::ptr::from_ref(value)) {
                continue;
            }
            if let Some(mut reference) = reader.image(value, Origin::ConfiguredField, None) {
                reference.object = Some(object.clone());
                reference.within = Some(spec.path.clone());
                reader.found(reference);
            }
        }
    }
    reader.out
}

/// The pod-spec walk's view of a built resource: a value is the build's result, located where
/// it was written (else at its container, its resource, or the kustomization), with the
/// entries that changed it. What is malformed is not reported here: the manifest's own parse
/// reports it.
struct BuildReader<'a> {
    resource: &'a Resource,
    kustomization: &'a Location,
    out: Vec<Reference>,
    /// The image values read, so that one reached again is not reported twice.
    read: HashSet<*const Val>,
}

impl BuildReader<'_> {
    /// Where a value without a position of its own is reported.
    fn fallback(&self, container: Option<&Val>) -> Location {
        container
            .and_then(Val::location)
            .or_else(|| self.resource.obj.location())
            .unwrap_or_else(|| self.kustomization.clone())
    }
}

impl Reader<Val> for BuildReader<'_> {
    fn image(&mut self, image: &Val, origin: Origin, container: Option<&Val>) -> Option<Reference> {
        self.read.insert(std::ptr::from_ref(image));
        let text = image.as_str()?;
        let location = image.location().unwrap_or_else(|| self.fallback(container));
        // The text as written at `location`; the build's result is `expanded` when it differs.
        let written = image
            .pos
            .as_ref()
            .filter(|_| !image.changes.is_empty())
            .and_then(|p| p.file.text.get(p.span.clone()))
            .filter(|w| !w.is_empty() && !w.contains('\n'))
            .unwrap_or(text)
            .to_string();
        let mut reference = Reference::new(RefKind::Runtime, origin, written.clone(), location);
        if written != text {
            reference.expanded = Some(text.to_string());
        }
        reference.changed_by = image
            .changes
            .iter()
            .map(|c| Change { what: c.what.clone(), location: c.pos.location() })
            .collect();
        Some(reference)
    }

    fn pull_policy(&mut self, policy: &Val, container: &Val) -> Option<PullPolicy> {
        let value = policy.as_str()?.to_string();
        let location = policy
            .changes
            .last()
            .map(|c| c.pos.location())
            .or_else(|| policy.location())
            .unwrap_or_else(|| self.fallback(Some(container)));
        Some(PullPolicy { value, location })
    }

    fn text(&self, value: &Val) -> Option<String> {
        value.as_str().map(str::to_string)
    }

    fn malformed(&mut self, _node: &Val, _message: &dyn Fn(&str) -> String) {}

    fn found(&mut self, mut reference: Reference) {
        reference.kustomization = Some(Box::new(self.kustomization.clone()));
        self.out.push(reference.resolve());
    }
}

/// Whether `dir` holds one of the kustomization file names.
pub fn has_kustomization(fs: &dyn Fs, dir: &Path) -> bool {
    crate::source::kustomization::KUSTOMIZATION_FILES.iter().any(|n| fs.is_file(&dir.join(n)))
}

#[cfg(test)]
mod tests {
    use super::fs::MemFs;
    use super::*;

    /// Overlays built in parallel that share bases (built by several forks); `broken` adds a
    /// file with invalid YAML named by several of them, a missing file, and a cycle seen from
    /// two siblings.
    fn tree(broken: bool) -> MemFs {
        let mut fs = MemFs::default();
        let mut add = |path: &str, text: String| {
            fs.files.insert(PathBuf::from(path), text);
        };
        let mut root = String::from("resources:\n");
        for i in 0..24 {
            root.push_str(&format!("  - o{i}\n"));
            let base = i % 5;
            let mut overlay = format!("namePrefix: o{i}-\nresources:\n  - ../b{base}\n");
            if broken && i % 7 == 0 {
                overlay.push_str("  - ../shared/broken.yaml\n  - ../shared/missing.yaml\n");
            }
            overlay.push_str(&format!("images:\n  - name: app\n    newTag: \"{i}\"\n"));
            add(&format!("r/o{i}/kustomization.yaml"), overlay);
        }
        // The even bases declare where a Runner holds its image (`configurations:`): their
        // overlays' `images` rewrite it; a conflicting spec is an issue seen by several forks.
        for b in 0..5 {
            let mut k = String::from("resources:\n  - d.yaml\n");
            if b % 2 == 0 {
                k.push_str("configurations:\n  - ../shared/runner.yaml\n");
                if broken {
                    k.push_str("  - ../shared/conflict.yaml\n");
                }
            }
            add(&format!("r/b{b}/kustomization.yaml"), k);
            add(
                &format!("r/b{b}/d.yaml"),
                format!(
                    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p{b}\nspec:\n  containers:\n    - name: c\n      image: app:{b}\n---\napiVersion: ci.acme.io/v1\nkind: Runner\nmetadata:\n  name: r{b}\nspec:\n  runner:\n    image: app:{b}\n"
                ),
            );
        }
        add("r/shared/runner.yaml", "images:\n  - path: spec/runner/image\n    kind: Runner\n".into());
        add("r/shared/conflict.yaml", "images:\n  - path: spec/containers[]/image\n".into());
        add("r/shared/broken.yaml", "kind: [\n".into());
        if broken {
            root.push_str("  - a\n  - b\n");
            add("r/a/kustomization.yaml", "resources:\n  - ../c\n".into());
            add("r/b/kustomization.yaml", "resources:\n  - ../c\n".into());
            add("r/c/kustomization.yaml", "resources:\n  - ../b\n  - ../b1/d.yaml\n".into());
        }
        add("r/kustomization.yaml", root);
        fs
    }

    fn summary(fs: &MemFs, parallel: bool) -> String {
        let files: Vec<PathBuf> =
            fs.files.keys().filter(|p| p.ends_with("kustomization.yaml")).cloned().collect();
        let (roots, known, parsed) = (BTreeSet::new(), HashMap::new(), HashMap::new());
        let r = Request {
            fs,
            kustomization_files: &files,
            always_roots: &roots,
            known: &known,
            parsed: &parsed,
            image_fields: &[],
            parallel,
        }
        .resolve();
        let sources: Vec<&str> = r.sources.iter().map(|s| s.display.as_str()).collect();
        format!(
            "{}\n{:?}\n{:?}\n{:?}\n{:?}",
            serde_json::to_string_pretty(&r.references).unwrap_or_default(),
            r.issues,
            r.reached,
            r.roots,
            sources
        )
    }

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: quay.io/acme/app:1.0\n";

    /// `c/l0` holds a Deployment `app`; each `c/lI` (I = 1..=depth) uses `../l(I-1)` with
    /// `namePrefix: pI-`.
    fn chain(depth: usize) -> MemFs {
        let mut fs = MemFs::default();
        fs.files.insert("c/l0/kustomization.yaml".into(), "resources:\n  - deploy.yaml\n".into());
        fs.files.insert("c/l0/deploy.yaml".into(), DEPLOYMENT.into());
        for i in 1..=depth {
            let k = format!("resources:\n  - ../l{}\nnamePrefix: p{i}-\n", i - 1);
            fs.files.insert(format!("c/l{i}/kustomization.yaml").into(), k);
        }
        fs
    }

    /// Each `d/lI` uses `../aI` and `../bI`, overlays (`namePrefix` `a-`, `b-`) of
    /// `../l(I-1)`: 2^I Deployments at `d/lI`.
    fn doubling(levels: usize) -> MemFs {
        let mut fs = MemFs::default();
        fs.files.insert("d/l0/kustomization.yaml".into(), "resources:\n  - deploy.yaml\n".into());
        fs.files.insert("d/l0/deploy.yaml".into(), DEPLOYMENT.into());
        for i in 1..=levels {
            for side in ["a", "b"] {
                let k = format!("resources:\n  - ../l{}\nnamePrefix: {side}-\n", i - 1);
                fs.files.insert(format!("d/{side}{i}/kustomization.yaml").into(), k);
            }
            let k = format!("resources:\n  - ../a{i}\n  - ../b{i}\n");
            fs.files.insert(format!("d/l{i}/kustomization.yaml").into(), k);
        }
        fs
    }

    fn resolve_files(fs: &MemFs, files: &[PathBuf], limits: Limits, parallel: bool) -> Resolution {
        let (roots, known, parsed) = (BTreeSet::new(), HashMap::new(), HashMap::new());
        Request {
            fs,
            kustomization_files: files,
            always_roots: &roots,
            known: &known,
            parsed: &parsed,
            image_fields: &[],
            parallel,
        }
        .resolve_limited(limits)
    }

    fn issues(r: &Resolution) -> Vec<String> {
        r.issues.iter().map(|i| format!("{}: {}", i.location, i.message)).collect()
    }

    /// 3,000 nested overlays, built from a test thread (a small stack: the build moves to the
    /// parser pool): the entry 1,000 levels down is the issue, nothing below it is built, and
    /// the directories below are not built as roots of their own either.
    #[test]
    fn nesting_deeper_than_the_limit_is_an_issue_at_the_entry_that_goes_too_deep() {
        let fs = chain(3000);
        let top = [PathBuf::from("c/l3000/kustomization.yaml")];
        let every: Vec<PathBuf> =
            fs.files.keys().filter(|p| p.ends_with("kustomization.yaml")).cloned().collect();
        for files in [&top[..], &every[..]] {
            let r = resolve_files(&fs, files, Limits::default(), true);
            assert_eq!(
                issues(&r),
                [
                    "c/l2001/kustomization.yaml:2:5: kustomizations nested more than 1000 deep (from `c/l3000`): \
                  stowage does not build `c/l2000`, so the images it deploys are not checked"
                ]
            );
            assert!(r.references.is_empty(), "{:?}", r.references);
            assert_eq!(r.roots, [PathBuf::from("c/l3000")]);
        }
    }

    /// 1,000 nested overlays are built: the name carries every prefix, and a patch still finds
    /// the resource by the name it had 500 levels down.
    #[test]
    fn nesting_up_to_the_limit_is_built() {
        let mut fs = chain(MAX_NESTING - 1);
        let middle: String = (1..=500).rev().map(|i| format!("p{i}-")).chain(["app".to_string()]).collect();
        let top = format!("c/l{}/kustomization.yaml", MAX_NESTING - 1);
        let patch = format!(
            "patches:\n  - patch: |-\n      apiVersion: apps/v1\n      kind: Deployment\n      metadata:\n        name: {middle}\n      spec:\n        template:\n          spec:\n            containers:\n              - name: app\n                image: quay.io/acme/app:2.0\n"
        );
        fs.files.get_mut(Path::new(&top)).unwrap().push_str(&patch);
        let r = resolve_files(&fs, &[PathBuf::from(top)], Limits::default(), true);
        assert!(r.issues.is_empty(), "{:?}", issues(&r));
        let [one] = &r.references[..] else { panic!("{:?}", r.references) };
        let name: String =
            (1..MAX_NESTING).rev().map(|i| format!("p{i}-")).chain(["app".to_string()]).collect();
        assert_eq!(one.object.as_ref().map(|o| o.name.as_str()), Some(name.as_str()));
        assert_eq!(one.text(), "quay.io/acme/app:2.0");
    }

    /// Smaller limits, the same rules: the chain stops at its third kustomization; a build
    /// that doubles stops where it holds more than the budget, at the entry naming it, and the
    /// parallel build gives the serial one.
    #[test]
    fn nesting_and_resources_are_bounded() {
        let limits = Limits { nesting: 3, resources: 8 };
        let r = resolve_files(&chain(5), &[PathBuf::from("c/l5/kustomization.yaml")], limits, true);
        assert_eq!(
            issues(&r),
            ["c/l3/kustomization.yaml:2:5: kustomizations nested more than 3 deep (from `c/l5`): \
              stowage does not build `c/l2`, so the images it deploys are not checked"]
        );
        let fs = doubling(5);
        let top = [PathBuf::from("d/l5/kustomization.yaml")];
        let limits = Limits { nesting: 16, resources: 8 };
        let r = resolve_files(&fs, &top, limits, true);
        assert_eq!(
            issues(&r),
            ["d/a5/kustomization.yaml:2:5: `d/l4` builds 16 resources, more than the 8 stowage builds \
              in one kustomization, so the images it deploys are not checked"]
        );
        assert!(r.references.is_empty());
        let r = resolve_files(&fs, &top, Limits { nesting: 16, resources: 32 }, true);
        assert_eq!(r.references.len(), 32);
        let debug = |r: &Resolution| format!("{:?} {:?} {:?}", r.references, r.issues, r.reached);
        for (nesting, resources) in [(3, 8), (16, 8), (16, 32)] {
            let limits = Limits { nesting, resources };
            let serial = resolve_files(&fs, &top, limits, false);
            assert_eq!(debug(&resolve_files(&fs, &top, limits, true)), debug(&serial));
        }
    }

    #[test]
    fn sibling_entries_built_in_parallel_give_the_serial_build() {
        for broken in [false, true] {
            let fs = tree(broken);
            let serial = summary(&fs, false);
            assert!(serial.contains("o23-p3"), "{serial}");
            // o22's `images` reaches its Runner (its base declares the field), o23's does not;
            // the root inherits the field spec, so both Runners are references.
            assert_eq!(serial.matches("\"docker.io/library/app:22\"").count(), 2, "{serial}");
            assert_eq!(serial.matches("\"docker.io/library/app:23\"").count(), 1, "{serial}");
            assert!(serial.contains("o23-r3"), "{serial}");
            assert_eq!(serial.contains("conflicting fieldspecs"), broken, "{serial}");
            assert_eq!(serial.contains("kustomization cycle"), broken, "{serial}");
            assert_eq!(serial.contains("not valid YAML"), broken, "{serial}");
            for _ in 0..4 {
                assert_eq!(summary(&fs, true), serial);
            }
        }
    }

    fn resolve_with_roots(fs: &MemFs, always_roots: &BTreeSet<PathBuf>) -> Resolution {
        let files: Vec<PathBuf> =
            fs.files.keys().filter(|p| p.ends_with("kustomization.yaml")).cloned().collect();
        let (known, parsed) = (HashMap::new(), HashMap::new());
        Request {
            fs,
            kustomization_files: &files,
            always_roots,
            known: &known,
            parsed: &parsed,
            image_fields: &[],
            parallel: false,
        }
        .resolve()
    }

    /// `app` enables `on`; `off` is enabled by nothing, and only it uses `extra` (a
    /// Kustomization) and `deeper` (a Component it enables): none of the three is built, and
    /// only `app` is a root.
    fn components() -> MemFs {
        let mut fs = MemFs::default();
        let pod = |image: &str| {
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {image}\nspec:\n  containers:\n    - name: c\n      image: q.io/{image}:1\n"
            )
        };
        for (path, text) in [
            ("app/kustomization.yaml", "resources:\n  - pod.yaml\ncomponents:\n  - ../on\n".to_string()),
            ("app/pod.yaml", pod("app")),
            ("on/kustomization.yaml", "kind: Component\nresources:\n  - on.yaml\n".to_string()),
            ("on/on.yaml", pod("on")),
            (
                "off/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - off.yaml\n  - sub/more.yaml\n  - ../extra\ncomponents:\n  - ../deeper\n"
                    .to_string(),
            ),
            ("off/off.yaml", pod("off")),
            ("off/sub/more.yaml", pod("more")),
            ("extra/kustomization.yaml", "resources:\n  - extra.yaml\n".to_string()),
            ("extra/extra.yaml", pod("extra")),
            ("deeper/kustomization.yaml", "kind: Component\nresources:\n  - deeper.yaml\n".to_string()),
            ("deeper/deeper.yaml", pod("deeper")),
        ] {
            fs.files.insert(PathBuf::from(path), text);
        }
        fs
    }

    #[test]
    fn a_component_nothing_enables_is_never_built_nor_what_only_it_uses() {
        let r = resolve_with_roots(&components(), &BTreeSet::new());
        assert!(r.issues.is_empty(), "{:?}", issues(&r));
        assert_eq!(r.roots, [PathBuf::from("app")]);
        let images: Vec<&str> = r.references.iter().map(|r| r.image.as_str()).collect();
        assert_eq!(images, ["q.io/app:1", "q.io/on:1"]);
        let built: Vec<&Path> = r.built.iter().map(PathBuf::as_path).collect();
        assert_eq!(built, [Path::new("app"), Path::new("on")]);
        let dormant: Vec<String> = r
            .dormant
            .iter()
            .map(|(dir, d)| {
                let files: Vec<String> = d.files.iter().map(|f| f.display().to_string()).collect();
                format!("{} {} {} [{}]", dir.display(), d.component, d.location, files.join(", "))
            })
            .collect();
        assert_eq!(
            dormant,
            [
                "deeper true deeper/kustomization.yaml:1:7 [deeper/deeper.yaml]",
                "extra false extra/kustomization.yaml:2:3 [extra/extra.yaml]",
                "off true off/kustomization.yaml:2:7 [off/off.yaml, off/sub/more.yaml]",
            ]
        );
    }

    /// A Component MicroShift applies is built on its own, as `kubectl kustomize DIR` builds
    /// it: no issue.
    #[test]
    fn a_component_applied_on_its_own_is_built_without_an_issue() {
        let roots: BTreeSet<PathBuf> = [PathBuf::from("off")].into();
        let r = resolve_with_roots(&components(), &roots);
        assert!(r.issues.is_empty(), "{:?}", issues(&r));
        let images: BTreeSet<&str> = r.references.iter().map(|r| r.image.as_str()).collect();
        let want = ["q.io/app:1", "q.io/deeper:1", "q.io/extra:1", "q.io/more:1", "q.io/off:1", "q.io/on:1"];
        assert_eq!(images, want.into_iter().collect());
        assert!(r.dormant.is_empty(), "{:?}", r.dormant);
    }

    /// The configured `image-fields` of a built object: the value after the build (the
    /// `images` transformer leaves env values alone; a replacement rewrites one), located
    /// where it was written, on the object as built.
    #[test]
    fn configured_fields_are_read_from_the_built_objects() {
        let mut fs = MemFs::default();
        for (path, text) in [
            ("base/kustomization.yaml", "resources:\n  - deployment.yaml\n"),
            (
                "base/deployment.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: op\nspec:\n  template:\n    spec:\n      containers:\n        - name: manager\n          image: quay.io/x/op:1.0\n          env:\n            - name: RELATED_IMAGE_DB\n              value: quay.io/x/db:1.0\n            - name: RELATED_IMAGE_UI\n              value: quay.io/x/ui:1.0\n            - name: LOG_LEVEL\n              value: debug\n",
            ),
            (
                "overlay/kustomization.yaml",
                "namePrefix: o-\nnamespace: prod\nresources:\n  - ../base\n  - versions.yaml\nimages:\n  - name: quay.io/x/db\n    newTag: \"9.9\"\n  - name: quay.io/x/op\n    newTag: \"2.0\"\nreplacements:\n  - source:\n      kind: ConfigMap\n      name: versions\n      fieldPath: data.ui\n    targets:\n      - select:\n          kind: Deployment\n        fieldPaths:\n          - spec.template.spec.containers.[name=manager].env.[name=RELATED_IMAGE_UI].value\n",
            ),
            (
                "overlay/versions.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: versions\ndata:\n  ui: quay.io/x/ui:2.0\n",
            ),
        ] {
            fs.files.insert(PathBuf::from(path), text.to_string());
        }
        let files = [PathBuf::from("base/kustomization.yaml"), PathBuf::from("overlay/kustomization.yaml")];
        let field = "spec.template.spec.containers[*].env[?name=RELATED_IMAGE_*].value";
        let fields = [FieldPath::parse(field).unwrap()];
        let (roots, known, parsed) = (BTreeSet::new(), HashMap::new(), HashMap::new());
        let r = Request {
            fs: &fs,
            kustomization_files: &files,
            always_roots: &roots,
            known: &known,
            parsed: &parsed,
            image_fields: &fields,
            parallel: false,
        }
        .resolve();
        assert!(r.issues.is_empty(), "{:?}", r.issues);
        let got: Vec<String> = r
            .references
            .iter()
            .map(|r| {
                let o = r.object.as_ref().unwrap();
                let changes: Vec<String> = r
                    .changed_by
                    .iter()
                    .map(|c| format!("{}@{}:{}", c.what, c.location.file, c.location.line))
                    .collect();
                format!(
                    "{}:{}:{} {} {} -> {} {}/{}/{} {} [{}] via {}",
                    r.location.file,
                    r.location.line,
                    r.location.column,
                    r.origin.as_str(),
                    r.image,
                    r.text(),
                    o.kind,
                    o.name,
                    o.namespace.as_deref().unwrap_or(""),
                    r.within.as_deref().unwrap_or("-"),
                    changes.join(", "),
                    r.kustomization.as_ref().unwrap().file,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                "base/deployment.yaml:10:18 kubernetes-container quay.io/x/op:1.0 -> quay.io/x/op:2.0 \
                 Deployment/o-op/prod manager [images newTag@overlay/kustomization.yaml:10] via overlay/kustomization.yaml"
                    .to_string(),
                format!(
                    "base/deployment.yaml:13:22 configured-field quay.io/x/db:1.0 -> quay.io/x/db:1.0 \
                     Deployment/o-op/prod {field} [] via overlay/kustomization.yaml"
                ),
                format!(
                    "base/deployment.yaml:15:22 configured-field quay.io/x/ui:1.0 -> quay.io/x/ui:2.0 \
                     Deployment/o-op/prod {field} [replacements@overlay/kustomization.yaml:12, \
                     value from ConfigMap/o-versions data.ui@overlay/versions.yaml:6] via overlay/kustomization.yaml"
                ),
            ]
        );
    }
}

//! Building one kustomization directory: load its resources, bases and components, run the
//! generators and transformers in kustomize's order, and report what cannot be built offline.
//!
//! Order (kustomize v5 `accumulateTarget`, builtin transformer order): resources and `bases`
//! (in that order), the `images` field specs of `configurations:` (joining those the
//! resources' builds accumulated), components (each applied to everything accumulated so far),
//! `configMapGenerator`, then `patchesStrategicMerge`, `patches`, `namespace`, `namePrefix`,
//! `nameSuffix`, `labels`/`commonLabels`, `commonAnnotations`, `patchesJson6902`, `images`,
//! `replacements`. `vars` are never substituted into `image` by kustomize's default
//! configuration (the text stays `$(VAR)`), so they need no evaluation here.

mod configurations;
mod generators;
mod transformers;

use super::fieldspec::{Conflict, ImageFieldSpecs};
use super::fs::Fs;
use super::resource::Resource;
use super::{Issue, IssueKind, Preread};
use crate::source::kustomization::KUSTOMIZATION_FILES;
use crate::text::SourceText;
use crate::text::location::Location;
use crate::text::paths::normalize;
use crate::text::source::display_path;
use crate::text::tree::{V, Val};
use crate::text::yaml;
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The most kustomizations (overlays, bases, components) built one inside the other; a
/// deeper entry is an [`Issue`] at the entry. The build recurses once per level, on the parser
/// pool's threads (`PARSER_STACK_SIZE`, 64 MiB): about 6 KiB per level in a debug build, which
/// overflows between 10,000 and 12,000 levels; far less in a release build. Real repositories
/// nest fewer than 20; `kubectl kustomize` has no limit of its own.
pub const MAX_NESTING: usize = 1000;

/// The most resources one kustomization's build may hold; a larger build is an [`Issue`] at
/// the entry naming it and yields nothing. Depth alone does not bound a build: a kustomization
/// that uses the one below it twice (through two overlays) doubles at each level, 2^20
/// resources after 20. The largest repository of the benchmarks (`bench/gen_manifests.py
/// --overlays`, 10,000 manifests) holds 20,000 in its root.
pub const MAX_RESOURCES: usize = 50_000;

/// The bounds of one build: [`MAX_NESTING`] and [`MAX_RESOURCES`] (smaller in tests).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub nesting: usize,
    pub resources: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { nesting: MAX_NESTING, resources: MAX_RESOURCES }
    }
}

/// Sibling directory entries are built in parallel forks in the outer kustomizations only (a
/// root and its overlays, where the work is spread): a fork at every level of a deep tree would
/// copy the stack, walk a chain of parents at each cache lookup and merge every deeper result
/// once per level, which costs the square of the depth.
const PARALLEL_NESTING: usize = 4;

/// Sibling directory entries of one kustomization are built in parallel, each by a fork of
/// the builder that reads its parent's caches and writes its own; the forks are merged back in
/// entry order, so the result is the serial build's. Two forks that both did the same work
/// (parsed one file, built one shared directory) would not have done it one after the other:
/// when that happened and some fork reported an issue (whose text or count could depend on
/// which of them did the work, e.g. a cycle seen from each side), the entries are built again
/// serially.
pub struct Builder<'a> {
    fs: &'a dyn Fs,
    /// Sources already read by the walk, by path, so each file is read once.
    known: &'a HashMap<PathBuf, Arc<SourceText>>,
    /// Documents of known files parsed by the walk already, by path.
    pub parsed: Option<&'a HashMap<PathBuf, Arc<Vec<Val>>>>,
    /// Kustomization files outside the walk, read and parsed before the build (see
    /// `used_dirs`): taken as if read now.
    pub(crate) preread: Option<&'a Preread>,
    /// The builder this one was forked from: its caches are read, never written.
    parent: Option<&'a Builder<'a>>,
    /// Whether sibling directory entries may be built in parallel.
    pub parallel: bool,
    pub(crate) limits: Limits,
    pub sources: HashMap<PathBuf, Arc<SourceText>>,
    docs: HashMap<PathBuf, Arc<Vec<Val>>>,
    built: HashMap<PathBuf, Arc<Accumulated>>,
    /// Directories requested once only: their builds are not kept in `built`.
    pub built_once: Arc<BTreeSet<PathBuf>>,
    /// The kustomizations being built, outermost first (for the cycle message) ...
    stack: Vec<PathBuf>,
    /// ... and as a set (for the cycle check, in constant time at any depth).
    on_stack: HashSet<PathBuf>,
    pub issues: Vec<Issue>,
    /// Every file a build read (resources, patches, kustomization files).
    pub reached: BTreeSet<PathBuf>,
    /// Every kustomization directory built, as a root or for another one.
    pub visited: BTreeSet<PathBuf>,
    /// Directories not built because they are nested deeper than the limit.
    pub too_deep: BTreeSet<PathBuf>,
    /// Files this builder parsed and directories it built for reuse itself (not found in a
    /// cache): what two parallel forks must not both have done for their merge to equal the
    /// serial build when issues were reported.
    fresh: BTreeSet<PathBuf>,
}

/// What a kustomization's build accumulated (kustomize's `ResAccumulator`): its resources,
/// and the `images` field specs its own `images` used, which the kustomizations using it
/// inherit (a base's `configurations:` apply in its overlays, an overlay's to its bases'
/// resources, never the other way round).
#[derive(Clone, Debug, Default)]
pub struct Accumulated {
    pub resources: Vec<Resource>,
    pub images: ImageFieldSpecs,
}

/// What one `resources` or `bases` entry gave: its resources, and for a directory what its
/// build accumulated.
type Loaded = (Vec<Resource>, Option<ImageFieldSpecs>);

/// What a fork built and learnt, without its borrow of the parent.
struct Forked {
    loaded: Loaded,
    sources: HashMap<PathBuf, Arc<SourceText>>,
    docs: HashMap<PathBuf, Arc<Vec<Val>>>,
    built: HashMap<PathBuf, Arc<Accumulated>>,
    issues: Vec<Issue>,
    reached: BTreeSet<PathBuf>,
    visited: BTreeSet<PathBuf>,
    too_deep: BTreeSet<PathBuf>,
    fresh: BTreeSet<PathBuf>,
}

/// One `resources` or `bases` entry, located.
struct Entry<'k> {
    field: &'static str,
    text: &'k str,
    at: Location,
    path: PathBuf,
    is_dir: bool,
}

impl<'a> Builder<'a> {
    pub fn new(fs: &'a dyn Fs, known: &'a HashMap<PathBuf, Arc<SourceText>>) -> Self {
        Builder {
            fs,
            known,
            parsed: None,
            preread: None,
            parent: None,
            parallel: true,
            limits: Limits::default(),
            sources: HashMap::new(),
            docs: HashMap::new(),
            built: HashMap::new(),
            built_once: Arc::new(BTreeSet::new()),
            stack: Vec::new(),
            on_stack: HashSet::new(),
            issues: Vec::new(),
            reached: BTreeSet::new(),
            visited: BTreeSet::new(),
            too_deep: BTreeSet::new(),
            fresh: BTreeSet::new(),
        }
    }

    /// A builder for one sibling entry, on top of this one's caches and stack.
    fn fork(&self) -> Builder<'_> {
        Builder {
            fs: self.fs,
            known: self.known,
            parsed: self.parsed,
            preread: self.preread,
            parent: Some(self),
            parallel: self.parallel,
            limits: self.limits,
            sources: HashMap::new(),
            docs: HashMap::new(),
            built: HashMap::new(),
            built_once: Arc::clone(&self.built_once),
            stack: self.stack.clone(),
            on_stack: self.on_stack.clone(),
            issues: Vec::new(),
            reached: BTreeSet::new(),
            visited: BTreeSet::new(),
            too_deep: BTreeSet::new(),
            fresh: BTreeSet::new(),
        }
    }

    fn into_forked(self, loaded: Loaded) -> Forked {
        Forked {
            loaded,
            sources: self.sources,
            docs: self.docs,
            built: self.built,
            issues: self.issues,
            reached: self.reached,
            visited: self.visited,
            too_deep: self.too_deep,
            fresh: self.fresh,
        }
    }

    /// Take in what a fork learnt; what it loaded is returned.
    fn absorb(&mut self, fork: Forked) -> Loaded {
        for (path, source) in fork.sources {
            self.sources.entry(path).or_insert(source);
        }
        for (path, docs) in fork.docs {
            self.docs.entry(path).or_insert(docs);
        }
        for (dir, built) in fork.built {
            self.built.entry(dir).or_insert(built);
        }
        self.issues.extend(fork.issues);
        self.reached.extend(fork.reached);
        self.visited.extend(fork.visited);
        self.too_deep.extend(fork.too_deep);
        self.fresh.extend(fork.fresh);
        fork.loaded
    }

    fn cached_source(&self, path: &Path) -> Option<&Arc<SourceText>> {
        self.sources
            .get(path)
            .or_else(|| self.known.get(path))
            .or_else(|| self.parent.and_then(|p| p.cached_source(path)))
    }

    fn cached_documents(&self, path: &Path) -> Option<&Arc<Vec<Val>>> {
        self.docs.get(path).or_else(|| self.parent.and_then(|p| p.cached_documents(path)))
    }

    fn cached_build(&self, dir: &Path) -> Option<&Arc<Accumulated>> {
        self.built.get(dir).or_else(|| self.parent.and_then(|p| p.cached_build(dir)))
    }

    fn issue(&mut self, kind: IssueKind, message: String, location: Location) {
        self.issues.push(Issue { kind, message, location });
    }

    /// Field specs that conflict fail `kubectl kustomize`: each is reported where it was
    /// written, else at `at`.
    fn conflicts(&mut self, conflicts: Vec<Conflict>, at: &Location) {
        for c in conflicts {
            let location = c.pos().map_or_else(|| at.clone(), |p| p.location());
            self.issue(IssueKind::Unbuildable, c.message(), location);
        }
    }

    /// The kustomization file of a directory; several is a build error (as in kustomize).
    pub fn kustomization_file(&self, dir: &Path) -> Vec<PathBuf> {
        KUSTOMIZATION_FILES.iter().map(|n| dir.join(n)).filter(|p| self.fs.is_file(p)).collect()
    }

    fn source(&mut self, path: &Path) -> Result<Arc<SourceText>, String> {
        if let Some(s) = self.cached_source(path) {
            return Ok(Arc::clone(s));
        }
        let source = match self.preread.and_then(|p| p.sources.get(path)) {
            Some(s) => Arc::clone(s),
            None => {
                let bytes = self.fs.read(path).map_err(|e| e.to_string())?;
                let display = display_path(path);
                Arc::new(
                    crate::text::source::source_from_bytes(path, &display, bytes).map_err(|p| p.message)?,
                )
            }
        };
        self.sources.insert(path.to_path_buf(), Arc::clone(&source));
        Ok(source)
    }

    /// The YAML documents of a file, parsed once.
    fn documents(&mut self, path: &Path, at: &Location) -> Option<Arc<Vec<Val>>> {
        if let Some(d) = self.cached_documents(path) {
            return Some(Arc::clone(d));
        }
        self.reached.insert(path.to_path_buf());
        let parsed = self.parsed.and_then(|p| p.get(path));
        if let Some(docs) = parsed.or_else(|| self.preread.and_then(|p| p.documents.get(path))) {
            self.docs.insert(path.to_path_buf(), Arc::clone(docs));
            return Some(Arc::clone(docs));
        }
        let source = match self.source(path) {
            Ok(s) => s,
            Err(e) => {
                let msg = format!("`{}` cannot be read: {e}", display_path(path));
                self.issue(IssueKind::Unbuildable, msg, at.clone());
                return None;
            }
        };
        let mut docs = Vec::new();
        let problems = yaml::for_each_document(&source, |d| docs.push(Val::from_node(&d.root, &source)));
        if let Some(p) = problems.first() {
            let msg = format!(
                "`{}` is not valid YAML, so the kustomization cannot be built: {}",
                source.display, p.message
            );
            self.issue(IssueKind::Unbuildable, msg, at.clone());
        }
        let docs = Arc::new(docs);
        self.docs.insert(path.to_path_buf(), Arc::clone(&docs));
        self.fresh.insert(path.to_path_buf());
        Some(docs)
    }

    /// Build the kustomization in `dir`, named by a `resources` or `bases` entry: a Component
    /// there is an error. `from` is the entry that named it (for errors).
    pub fn build_dir(&mut self, dir: &Path, from: &Location) -> Accumulated {
        self.build_as(dir, from, Some("Kustomization"))
    }

    /// Build the kustomization in `dir` on its own (`kubectl kustomize DIR`, a directory
    /// MicroShift applies): a Component builds there as well as a Kustomization.
    pub fn build_root(&mut self, dir: &Path, from: &Location) -> Accumulated {
        self.build_as(dir, from, None)
    }

    fn build_as(&mut self, dir: &Path, from: &Location, want: Option<&str>) -> Accumulated {
        let dir = normalize(dir);
        if let Some(done) = self.cached_build(&dir) {
            return done.as_ref().clone();
        }
        let Some((k, kfile)) = self.load_kustomization(&dir, from, want) else {
            return Accumulated::default();
        };
        self.enter(&dir);
        let mut acc = Accumulated::default();
        self.run(&k, &dir, &kfile, &mut acc);
        self.leave();
        let resources = &mut acc.resources;
        if resources.len() > self.limits.resources {
            let msg = format!(
                "`{}` builds {} resources, more than the {} stowage builds in one kustomization, so the images it deploys are not checked",
                display_path(&dir),
                resources.len(),
                self.limits.resources,
            );
            self.issue(IssueKind::Unbuildable, msg, from.clone());
            *resources = Vec::new();
        }
        if !self.built_once.contains(&dir) {
            self.fresh.insert(dir.clone());
            self.built.insert(dir, Arc::new(acc.clone()));
        }
        acc
    }

    /// Start building the kustomization (or component) of `dir`, inside those on the stack.
    fn enter(&mut self, dir: &Path) {
        self.stack.push(dir.to_path_buf());
        self.on_stack.insert(dir.to_path_buf());
        self.visited.insert(dir.to_path_buf());
    }

    fn leave(&mut self) {
        if let Some(dir) = self.stack.pop() {
            self.on_stack.remove(&dir);
        }
    }

    /// The kustomization of `dir` (its first document), after checking for cycles, depth and
    /// kind (`want`; any kind when `None`).
    fn load_kustomization(
        &mut self,
        dir: &Path,
        from: &Location,
        want: Option<&str>,
    ) -> Option<(Val, Arc<SourceText>)> {
        if self.on_stack.contains(dir) {
            let chain: Vec<String> = self
                .stack
                .iter()
                .chain(std::iter::once(&dir.to_path_buf()))
                .map(|p| display_path(p))
                .collect();
            let msg = format!("kustomization cycle: {}", chain.join(" → "));
            self.issue(IssueKind::Unbuildable, msg, from.clone());
            return None;
        }
        if self.stack.len() >= self.limits.nesting {
            let msg = format!(
                "kustomizations nested more than {} deep (from `{}`): stowage does not build `{}`, so the images it deploys are not checked",
                self.limits.nesting,
                self.stack.first().map(|d| display_path(d)).unwrap_or_default(),
                display_path(dir),
            );
            self.issue(IssueKind::Unbuildable, msg, from.clone());
            self.too_deep.insert(dir.to_path_buf());
            return None;
        }
        let files = self.kustomization_file(dir);
        let kfile = match files.as_slice() {
            [one] => one.clone(),
            [] => {
                let msg = format!(
                    "`{}` has no kustomization.yaml, kustomization.yml or Kustomization",
                    display_path(dir)
                );
                self.issue(IssueKind::Unbuildable, msg, from.clone());
                return None;
            }
            _ => {
                let msg = format!("`{}` has more than one kustomization file", display_path(dir));
                self.issue(IssueKind::Unbuildable, msg, from.clone());
                return None;
            }
        };
        let docs = self.documents(&kfile, from)?;
        let source = self.source(&kfile).ok()?;
        let k = docs.first().cloned().unwrap_or_else(|| Val::new(V::Map(Vec::new()), None));
        let kind = k.str_at(&["kind"]).unwrap_or("Kustomization");
        if let Some(want) = want.filter(|w| *w != kind) {
            let msg = format!("`{}` is a {kind}, but is used as a {want}", source.display);
            self.issue(IssueKind::Unbuildable, msg, from.clone());
            if want == "Component" || kind != "Component" {
                return None;
            }
        }
        Some((k, source))
    }

    /// Build the kustomization (or component) `k` of `dir` into `acc`: a kustomization's own
    /// accumulation, or for a component the one of the kustomization using it.
    fn run(&mut self, k: &Val, dir: &Path, kfile: &Arc<SourceText>, acc: &mut Accumulated) {
        let file_loc = kfile.location(0..0);
        let mut entries = Vec::new();
        for field in ["resources", "bases"] {
            for entry in list(k, field) {
                let Some(text) = entry.as_str() else { continue };
                let at = entry.location().unwrap_or_else(|| file_loc.clone());
                let path = normalize(&dir.join(text));
                let is_dir = self.fs.is_dir(&path);
                entries.push(Entry { field, text, at, path, is_dir });
            }
        }
        self.load_entries(&entries, acc);
        self.configurations(k, dir, &mut acc.images);
        for entry in list(k, "components") {
            let Some(text) = entry.as_str() else { continue };
            let at = entry.location().unwrap_or_else(|| file_loc.clone());
            if is_remote(text) && !self.fs.is_dir(&dir.join(text)) {
                self.remote(text, "component", at);
                continue;
            }
            let cdir = normalize(&dir.join(text));
            let Some((ck, cfile)) = self.load_kustomization(&cdir, &at, Some("Component")) else { continue };
            self.enter(&cdir);
            self.run(&ck, &cdir, &cfile, acc);
            self.leave();
            // Kustomize moves what the component accumulated into a new, empty accumulator:
            // its field specs are merged once more, in their sorted order (see `fieldspec`).
            let specs = std::mem::take(&mut acc.images);
            let conflicts = acc.images.merge(&specs.specs);
            self.conflicts(conflicts, &at);
        }
        for field in ["helmCharts", "helmChartInflationGenerator"] {
            if let Some(v) = k.get(field).filter(|v| !v.is_null()) {
                let at = v.location().unwrap_or_else(|| file_loc.clone());
                let msg = format!(
                    "`{field}` needs Helm and a chart repository (`kubectl kustomize --enable-helm`); MicroShift does not inflate charts, so this kustomization cannot be applied"
                );
                self.issue(IssueKind::Unbuildable, msg, at);
            }
        }
        for field in ["generators", "transformers", "validators"] {
            if let Some(v) = k.get(field).and_then(Val::as_seq).filter(|s| !s.is_empty()) {
                let at = v[0].location().unwrap_or_else(|| file_loc.clone());
                let msg = format!(
                    "`{field}` (kustomize plugins) are not evaluated by stowage; the images they produce are not known"
                );
                self.issue(IssueKind::Unbuildable, msg, at);
            }
        }
        self.generate_config_maps(k, dir, &mut acc.resources);
        self.transform(k, dir, &mut acc.resources, &acc.images);
    }

    fn remote(&mut self, entry: &str, what: &str, at: Location) {
        let msg = format!("remote {what} `{entry}` cannot be fetched offline; what it deploys is unknown");
        self.issue(IssueKind::Remote, msg, at);
    }

    /// Load the entries in order; with several directories among them, in parallel forks
    /// (see [`Builder`]) while the kustomization is one of the outer [`PARALLEL_NESTING`].
    fn load_entries(&mut self, entries: &[Entry], acc: &mut Accumulated) {
        if !self.parallel
            || self.stack.len() > PARALLEL_NESTING
            || entries.iter().filter(|e| e.is_dir).count() < 2
        {
            for entry in entries {
                let loaded = self.load_entry(entry);
                self.take_loaded(loaded, entry, acc);
            }
            return;
        }
        let this = &*self;
        let forks: Vec<Forked> = entries
            .par_iter()
            .map(|entry| {
                let mut fork = this.fork();
                let loaded = fork.load_entry(entry);
                fork.into_forked(loaded)
            })
            .collect();
        let mut seen = BTreeSet::new();
        let overlap = forks.iter().any(|f| f.fresh.iter().any(|p| !seen.insert(p)));
        if overlap && forks.iter().any(|f| !f.issues.is_empty()) {
            for entry in entries {
                let loaded = self.load_entry(entry);
                self.take_loaded(loaded, entry, acc);
            }
            return;
        }
        for (fork, entry) in forks.into_iter().zip(entries) {
            let loaded = self.absorb(fork);
            self.take_loaded(loaded, entry, acc);
        }
    }

    /// Add what an entry loaded to the accumulation: its resources, and the field specs of a
    /// directory's build merged into those accumulated so far.
    fn take_loaded(&mut self, (resources, images): Loaded, entry: &Entry, acc: &mut Accumulated) {
        acc.resources.extend(resources);
        if let Some(images) = images {
            let conflicts = acc.images.merge(&images.specs);
            self.conflicts(conflicts, &entry.at);
        }
    }

    fn load_entry(&mut self, entry: &Entry) -> Loaded {
        let Entry { field, text, ref at, ref path, is_dir } = *entry;
        if is_dir {
            let built = self.build_dir(path, at);
            return (built.resources, Some(built.images));
        }
        if self.fs.is_file(path) {
            let Some(docs) = self.documents(path, at) else { return (Vec::new(), None) };
            let mut out = Vec::new();
            for doc in docs.iter() {
                push_objects(doc, &mut out);
            }
            return (out, None);
        }
        if is_remote(text) {
            self.remote(text, if field == "bases" { "base" } else { "resource" }, at.clone());
        } else {
            let msg = format!("`{}` does not exist", display_path(path));
            self.issue(IssueKind::Unbuildable, msg, at.clone());
        }
        (Vec::new(), None)
    }
}

fn list<'v>(k: &'v Val, field: &str) -> &'v [Val] {
    k.get(field).and_then(Val::as_seq).unwrap_or(&[])
}

/// A Kubernetes object (with `apiVersion` and `kind`) becomes a resource; a `*List` gives its
/// items.
fn push_objects(doc: &Val, out: &mut Vec<Resource>) {
    let (Some(_), Some(kind)) = (doc.str_at(&["apiVersion"]), doc.str_at(&["kind"])) else { return };
    if kind.ends_with("List") && doc.get("items").is_some() {
        for item in list(doc, "items") {
            push_objects(item, out);
        }
        return;
    }
    out.push(Resource::new(doc.clone()));
}

/// Whether a resource entry names something kustomize would fetch: a URL, an scp-like git
/// address, or a `host.tld/org/repo` path.
pub fn is_remote(entry: &str) -> bool {
    if entry.contains("://")
        || entry.starts_with("git@")
        || entry.contains("?ref=")
        || entry.contains(".git//")
    {
        return true;
    }
    let first = entry.split('/').next().unwrap_or("");
    entry.contains('/')
        && first.contains('.')
        && !first.starts_with('.')
        && ["github.com", "gitlab.com", "bitbucket.org"].contains(&first)
}

/// The documents of `text`, read as the file `path` (for the transformer and generator tests).
#[cfg(test)]
pub(crate) fn documents(path: &str, text: &str) -> Vec<Val> {
    let src = Arc::new(crate::text::SourceText::from_str(path, text));
    let mut docs = Vec::new();
    let problems = crate::text::yaml::for_each_document(&src, |d| docs.push(Val::from_node(&d.root, &src)));
    assert!(problems.is_empty(), "{:?}", problems.iter().map(|p| &p.message).collect::<Vec<_>>());
    docs
}

//! Building one kustomization directory: load its resources, bases and components, run the
//! generators and transformers in kustomize's order, and report what cannot be built offline.
//!
//! Order (kustomize v5 `accumulateTarget`, builtin transformer order): resources and `bases`
//! (in that order), components (each applied to everything accumulated so far),
//! `configMapGenerator`, then `patchesStrategicMerge`, `patches`, `namespace`, `namePrefix`,
//! `nameSuffix`, `labels`/`commonLabels`, `commonAnnotations`, `patchesJson6902`, `images`,
//! `replacements`. `vars` are never substituted into `image` by kustomize's default
//! configuration (the text stays `$(VAR)`), so they need no evaluation here.

use super::fs::{Fs, KUSTOMIZATION_FILES};
use super::images::{self, ImageRule};
use super::patch::{self, JsonOp, Merged};
use super::replace::{self, Replacement};
use super::resource::{Resource, Selector, is_cluster_scoped};
use super::{Issue, IssueKind};
use crate::text::SourceText;
use crate::text::location::Location;
use crate::text::paths::normalize;
use crate::text::source::display_path;
use crate::text::tree::{Pos, V, Val};
use crate::text::yaml;
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// The builder this one was forked from: its caches are read, never written.
    parent: Option<&'a Builder<'a>>,
    /// Whether sibling directory entries may be built in parallel.
    pub parallel: bool,
    pub sources: HashMap<PathBuf, Arc<SourceText>>,
    docs: HashMap<PathBuf, Arc<Vec<Val>>>,
    built: HashMap<PathBuf, Arc<Vec<Resource>>>,
    /// Directories requested once only: their builds are not kept in `built`.
    pub built_once: Arc<BTreeSet<PathBuf>>,
    stack: Vec<PathBuf>,
    pub issues: Vec<Issue>,
    /// Every file a build read (resources, patches, kustomization files).
    pub reached: BTreeSet<PathBuf>,
    /// Every kustomization directory built, as a root or for another one.
    pub visited: BTreeSet<PathBuf>,
    /// Files this builder parsed and directories it built for reuse itself (not found in a
    /// cache): what two parallel forks must not both have done for their merge to equal the
    /// serial build when issues were reported.
    fresh: BTreeSet<PathBuf>,
}

/// What a fork built and learnt, without its borrow of the parent.
struct Forked {
    resources: Vec<Resource>,
    sources: HashMap<PathBuf, Arc<SourceText>>,
    docs: HashMap<PathBuf, Arc<Vec<Val>>>,
    built: HashMap<PathBuf, Arc<Vec<Resource>>>,
    issues: Vec<Issue>,
    reached: BTreeSet<PathBuf>,
    visited: BTreeSet<PathBuf>,
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
            parent: None,
            parallel: true,
            sources: HashMap::new(),
            docs: HashMap::new(),
            built: HashMap::new(),
            built_once: Arc::new(BTreeSet::new()),
            stack: Vec::new(),
            issues: Vec::new(),
            reached: BTreeSet::new(),
            visited: BTreeSet::new(),
            fresh: BTreeSet::new(),
        }
    }

    /// A builder for one sibling entry, on top of this one's caches and stack.
    fn fork(&self) -> Builder<'_> {
        Builder {
            fs: self.fs,
            known: self.known,
            parsed: self.parsed,
            parent: Some(self),
            parallel: self.parallel,
            sources: HashMap::new(),
            docs: HashMap::new(),
            built: HashMap::new(),
            built_once: Arc::clone(&self.built_once),
            stack: self.stack.clone(),
            issues: Vec::new(),
            reached: BTreeSet::new(),
            visited: BTreeSet::new(),
            fresh: BTreeSet::new(),
        }
    }

    fn into_forked(self, resources: Vec<Resource>) -> Forked {
        Forked {
            resources,
            sources: self.sources,
            docs: self.docs,
            built: self.built,
            issues: self.issues,
            reached: self.reached,
            visited: self.visited,
            fresh: self.fresh,
        }
    }

    fn absorb(&mut self, fork: Forked, resources: &mut Vec<Resource>) {
        resources.extend(fork.resources);
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
        self.fresh.extend(fork.fresh);
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

    fn cached_build(&self, dir: &Path) -> Option<&Arc<Vec<Resource>>> {
        self.built.get(dir).or_else(|| self.parent.and_then(|p| p.cached_build(dir)))
    }

    fn issue(&mut self, kind: IssueKind, message: String, location: Location) {
        self.issues.push(Issue { kind, message, location });
    }

    /// The kustomization file of a directory; several is a build error (as in kustomize).
    pub fn kustomization_file(&self, dir: &Path) -> Vec<PathBuf> {
        KUSTOMIZATION_FILES.iter().map(|n| dir.join(n)).filter(|p| self.fs.is_file(p)).collect()
    }

    fn source(&mut self, path: &Path) -> Result<Arc<SourceText>, String> {
        if let Some(s) = self.cached_source(path) {
            return Ok(Arc::clone(s));
        }
        let bytes = self.fs.read(path).map_err(|e| e.to_string())?;
        let display = display_path(path);
        let source = crate::text::source::source_from_bytes(path, &display, bytes).map_err(|p| p.message)?;
        let source = Arc::new(source);
        self.sources.insert(path.to_path_buf(), Arc::clone(&source));
        Ok(source)
    }

    /// The YAML documents of a file, parsed once.
    fn documents(&mut self, path: &Path, at: &Location) -> Option<Arc<Vec<Val>>> {
        if let Some(d) = self.cached_documents(path) {
            return Some(Arc::clone(d));
        }
        self.reached.insert(path.to_path_buf());
        if let Some(docs) = self.parsed.and_then(|p| p.get(path)) {
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

    /// Build the kustomization in `dir`. `from` is the entry that named it (for errors).
    pub fn build_dir(&mut self, dir: &Path, from: &Location) -> Vec<Resource> {
        let dir = normalize(dir);
        if let Some(done) = self.cached_build(&dir) {
            return done.as_ref().clone();
        }
        let Some((k, kfile)) = self.load_kustomization(&dir, from, "Kustomization") else {
            return Vec::new();
        };
        self.stack.push(dir.clone());
        self.visited.insert(dir.clone());
        let mut resources = Vec::new();
        self.run(&k, &dir, &kfile, &mut resources);
        self.stack.pop();
        if !self.built_once.contains(&dir) {
            self.fresh.insert(dir.clone());
            self.built.insert(dir, Arc::new(resources.clone()));
        }
        resources
    }

    /// The kustomization of `dir` (its first document), after checking for cycles and kind.
    fn load_kustomization(
        &mut self,
        dir: &Path,
        from: &Location,
        want: &str,
    ) -> Option<(Val, Arc<SourceText>)> {
        if self.stack.iter().any(|d| d == dir) {
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
        if kind != want {
            let msg = format!("`{}` is a {kind}, but is used as a {want}", source.display);
            self.issue(IssueKind::Unbuildable, msg, from.clone());
            if want == "Component" || kind != "Component" {
                return None;
            }
        }
        Some((k, source))
    }

    fn run(&mut self, k: &Val, dir: &Path, kfile: &Arc<SourceText>, resources: &mut Vec<Resource>) {
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
        self.load_entries(&entries, resources);
        for entry in list(k, "components") {
            let Some(text) = entry.as_str() else { continue };
            let at = entry.location().unwrap_or_else(|| file_loc.clone());
            if is_remote(text) && !self.fs.is_dir(&dir.join(text)) {
                self.remote(text, "component", at);
                continue;
            }
            let cdir = normalize(&dir.join(text));
            let Some((ck, cfile)) = self.load_kustomization(&cdir, &at, "Component") else { continue };
            self.stack.push(cdir.clone());
            self.visited.insert(cdir.clone());
            self.run(&ck, &cdir, &cfile, resources);
            self.stack.pop();
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
        self.generate_config_maps(k, dir, resources);
        self.transform(k, dir, resources);
    }

    fn remote(&mut self, entry: &str, what: &str, at: Location) {
        let msg = format!("remote {what} `{entry}` cannot be fetched offline; what it deploys is unknown");
        self.issue(IssueKind::Remote, msg, at);
    }

    /// Load the entries in order; with several directories among them, in parallel forks
    /// (see [`Builder`]).
    fn load_entries(&mut self, entries: &[Entry], resources: &mut Vec<Resource>) {
        if !self.parallel || entries.iter().filter(|e| e.is_dir).count() < 2 {
            for entry in entries {
                let loaded = self.load_entry(entry);
                resources.extend(loaded);
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
                resources.extend(loaded);
            }
            return;
        }
        for fork in forks {
            self.absorb(fork, resources);
        }
    }

    fn load_entry(&mut self, entry: &Entry) -> Vec<Resource> {
        let Entry { field, text, ref at, ref path, is_dir } = *entry;
        if is_dir {
            return self.build_dir(path, at);
        }
        if self.fs.is_file(path) {
            let Some(docs) = self.documents(path, at) else { return Vec::new() };
            let mut out = Vec::new();
            for doc in docs.iter() {
                push_objects(doc, &mut out);
            }
            return out;
        }
        if is_remote(text) {
            self.remote(text, if field == "bases" { "base" } else { "resource" }, at.clone());
        } else {
            let msg = format!("`{}` does not exist", display_path(path));
            self.issue(IssueKind::Unbuildable, msg, at.clone());
        }
        Vec::new()
    }

    fn generate_config_maps(&mut self, k: &Val, dir: &Path, resources: &mut Vec<Resource>) {
        for generator in list(k, "configMapGenerator") {
            let Some(name) = generator.str_at(&["name"]) else { continue };
            let mut data: Vec<(String, Val)> = Vec::new();
            for lit in generator.get("literals").and_then(Val::as_seq).unwrap_or(&[]) {
                if let Some((key, value)) = literal(lit) {
                    data.push((key, value));
                }
            }
            let mut env_files: Vec<&Val> = list(generator, "envs").iter().collect();
            env_files.extend(generator.get("env"));
            for env in env_files {
                let Some(file) = env.as_str() else { continue };
                let path = normalize(&dir.join(file));
                let at = env.location().unwrap_or_else(|| Location::file_only(display_path(dir)));
                self.reached.insert(path.clone());
                match self.source(&path) {
                    Ok(src) => data.extend(env_pairs(&src)),
                    Err(e) => self.issue(
                        IssueKind::Unbuildable,
                        format!("`{}` cannot be read: {e}", display_path(&path)),
                        at,
                    ),
                }
            }
            for f in list(generator, "files") {
                let Some(spec) = f.as_str() else { continue };
                let (key, file) =
                    spec.split_once('=').unwrap_or_else(|| (spec.rsplit('/').next().unwrap_or(spec), spec));
                let path = normalize(&dir.join(file));
                if let Ok(src) = self.source(&path) {
                    self.reached.insert(path);
                    let pos = Pos::new(&src, 0..src.text.len());
                    data.push((key.to_string(), Val::scalar(src.text.clone(), Some(pos))));
                }
            }
            let behavior = generator.str_at(&["behavior"]).unwrap_or("create");
            let namespace = generator.str_at(&["namespace"]);
            if behavior != "create"
                && let Some(existing) =
                    resources.iter_mut().find(|r| r.kind() == "ConfigMap" && r.known_as(name, namespace))
            {
                if behavior == "replace" {
                    existing.obj.set("data", Val::new(V::Map(Vec::new()), None));
                }
                if existing.obj.get("data").is_none_or(|d| d.as_map().is_none()) {
                    existing.obj.set("data", Val::new(V::Map(Vec::new()), None));
                }
                if let Some(d) = existing.obj.get_mut("data") {
                    for (key, value) in data {
                        d.set(&key, value);
                    }
                }
                continue;
            }
            let mut meta = vec![(
                "name".to_string(),
                Val::scalar(name, generator.get("name").and_then(|n| n.pos.clone())),
            )];
            if let Some(ns) = namespace {
                meta.push(("namespace".to_string(), Val::scalar(ns, None)));
            }
            let obj = Val::new(
                V::Map(vec![
                    ("apiVersion".into(), Val::scalar("v1", None)),
                    ("kind".into(), Val::scalar("ConfigMap", None)),
                    ("metadata".into(), Val::new(V::Map(meta), None)),
                    ("data".into(), Val::new(V::Map(data), None)),
                ]),
                generator.pos.clone(),
            );
            resources.push(Resource::new(obj));
        }
    }

    fn transform(&mut self, k: &Val, dir: &Path, resources: &mut Vec<Resource>) {
        let kloc = |v: &Val| v.location().unwrap_or_else(|| Location::file_only(display_path(dir)));
        // patchesStrategicMerge: file paths or inline YAML.
        for entry in list(k, "patchesStrategicMerge") {
            let at = kloc(entry);
            for doc in self.patch_documents(dir, entry, None, &at) {
                self.strategic(&doc, None, resources, &at);
            }
        }
        for entry in list(k, "patches") {
            let at = kloc(entry);
            let target = match entry.get("target").map(Selector::from_val).transpose() {
                Ok(t) => t,
                Err(e) => {
                    self.issue(IssueKind::Unbuildable, e, at);
                    continue;
                }
            };
            let docs = self.patch_documents(dir, entry.get("path").unwrap_or(entry), entry.get("patch"), &at);
            match docs.as_slice() {
                [single] if single.as_seq().is_some() => {
                    let Some(target) = &target else {
                        let msg = "a JSON 6902 patch needs a `target`".to_string();
                        self.issue(IssueKind::Unbuildable, msg, at);
                        continue;
                    };
                    let ops: Vec<JsonOp> =
                        single.as_seq().unwrap_or(&[]).iter().filter_map(JsonOp::from_val).collect();
                    self.json(&ops, target, resources, &at);
                }
                _ => {
                    for doc in &docs {
                        self.strategic(doc, target.as_ref(), resources, &at);
                    }
                }
            }
        }
        if let Some(ns) = k.str_at(&["namespace"]) {
            for r in resources.iter_mut().filter(|r| !is_cluster_scoped(r.kind())) {
                r.set_namespace(ns.to_string());
            }
        }
        let prefix = k.str_at(&["namePrefix"]).unwrap_or("");
        let suffix = k.str_at(&["nameSuffix"]).unwrap_or("");
        if !prefix.is_empty() || !suffix.is_empty() {
            for r in resources
                .iter_mut()
                .filter(|r| r.kind() != "CustomResourceDefinition" && r.kind() != "Namespace")
            {
                let name = format!("{prefix}{}{suffix}", r.name());
                r.set_name(name);
            }
        }
        let mut labels: Vec<(String, String)> = pairs(k.get("commonLabels"));
        for entry in list(k, "labels") {
            labels.extend(pairs(entry.get("pairs")));
        }
        add_metadata(resources, "labels", &labels);
        add_metadata(resources, "annotations", &pairs(k.get("commonAnnotations")));
        for entry in list(k, "patchesJson6902") {
            let at = kloc(entry);
            let target = match entry.get("target").map(Selector::from_val) {
                Some(Ok(t)) => t,
                Some(Err(e)) => {
                    self.issue(IssueKind::Unbuildable, e, at);
                    continue;
                }
                None => {
                    self.issue(IssueKind::Unbuildable, "a JSON 6902 patch needs a `target`".into(), at);
                    continue;
                }
            };
            let docs = self.patch_documents(dir, entry.get("path").unwrap_or(entry), entry.get("patch"), &at);
            let ops: Vec<JsonOp> =
                docs.iter().filter_map(Val::as_seq).flatten().filter_map(JsonOp::from_val).collect();
            self.json(&ops, &target, resources, &at);
        }
        for entry in list(k, "images") {
            let Some(name) = entry.str_at(&["name"]) else { continue };
            let field = |f: &str| {
                entry
                    .get(f)
                    .and_then(|v| Some((v.as_str()?.to_string(), v.pos.clone()?)))
                    .filter(|(s, _)| !s.is_empty())
            };
            let rule = ImageRule::new(name.to_string(), field("newName"), field("newTag"), field("digest"));
            for r in resources.iter_mut() {
                images::apply_to_object(&rule, &mut r.obj);
            }
        }
        for entry in list(k, "replacements") {
            let at = kloc(entry);
            let reps: Vec<Replacement> = match entry.str_at(&["path"]) {
                Some(file) => {
                    let path = normalize(&dir.join(file));
                    let docs = self.documents(&path, &at).unwrap_or_default();
                    docs.iter()
                        .flat_map(|d| d.as_seq().map(<[Val]>::to_vec).unwrap_or_else(|| vec![d.clone()]))
                        .map(|d| replacement(&d))
                        .collect()
                }
                None => vec![replacement(entry)],
            };
            for rep in reps {
                if let Err(e) = replace::apply(&rep, resources) {
                    self.issue(IssueKind::Unbuildable, format!("replacement: {e}"), at.clone());
                }
            }
        }
    }

    /// The documents of a patch: `inline` text, or `entry` as a file path (or, for
    /// `patchesStrategicMerge`, inline YAML when it is not a file).
    fn patch_documents(&mut self, dir: &Path, entry: &Val, inline: Option<&Val>, at: &Location) -> Vec<Val> {
        if let Some(text) = inline {
            return self.inline_documents(text);
        }
        let Some(text) = entry.as_str() else { return Vec::new() };
        let path = normalize(&dir.join(text));
        if !text.contains('\n') && self.fs.is_file(&path) {
            return self.documents(&path, at).map(|d| d.as_ref().clone()).unwrap_or_default();
        }
        if text.contains('\n') || text.contains(':') {
            return self.inline_documents(entry);
        }
        let msg = format!("patch file `{}` does not exist", display_path(&path));
        self.issue(IssueKind::Unbuildable, msg, at.clone());
        Vec::new()
    }

    /// Parse YAML written inside a kustomization string, keeping positions in the
    /// kustomization file: the file's text is masked outside the string's lines so that
    /// offsets are the file's own. Quoted strings (escapes) fall back to the string alone,
    /// positioned at its start.
    fn inline_documents(&mut self, v: &Val) -> Vec<Val> {
        let (Some(text), Some(pos)) = (v.as_str(), &v.pos) else { return Vec::new() };
        let file = &pos.file;
        if is_block_scalar(&file.text, pos.span.start) {
            let start = pos.span.start;
            let masked: String = file
                .text
                .char_indices()
                .map(|(i, c)| if (start..pos.span.end).contains(&i) || c == '\n' { c } else { ' ' })
                .collect();
            let mut src = SourceText::new(file.path.clone(), file.display.clone(), masked);
            src.in_image = file.in_image;
            let src = Arc::new(src);
            let mut docs = Vec::new();
            let problems = yaml::for_each_document(&src, |d| docs.push(Val::from_node(&d.root, &src)));
            if problems.is_empty() && !docs.is_empty() {
                return docs;
            }
        }
        let src = Arc::new(SourceText::new(file.path.clone(), file.display.clone(), text.to_string()));
        let mut docs = Vec::new();
        let problems = yaml::for_each_document(&src, |d| docs.push(Val::from_node(&d.root, &src)));
        if let Some(p) = problems.first() {
            let msg = format!("inline patch is not valid YAML: {}", p.message);
            self.issue(IssueKind::Unbuildable, msg, pos.location());
        }
        // Positions inside a quoted string cannot be mapped back: point at the string.
        fn repoint(v: &mut Val, pos: &Pos) {
            v.pos = Some(pos.clone());
            match &mut v.v {
                V::Map(entries) => entries.iter_mut().for_each(|(_, v)| repoint(v, pos)),
                V::Seq(items) => items.iter_mut().for_each(|v| repoint(v, pos)),
                _ => {}
            }
        }
        docs.iter_mut().for_each(|d| repoint(d, pos));
        docs
    }

    fn strategic(
        &mut self,
        patch: &Val,
        target: Option<&Selector>,
        resources: &mut Vec<Resource>,
        at: &Location,
    ) {
        if patch.as_map().is_none() {
            return;
        }
        let mut body = patch.clone();
        let matched: Vec<usize> = match target {
            Some(sel) => {
                for key in ["apiVersion", "kind"] {
                    body.remove(key);
                }
                if let Some(meta) = body.get_mut("metadata") {
                    meta.remove("name");
                    meta.remove("namespace");
                }
                (0..resources.len()).filter(|&i| sel.matches(&resources[i])).collect()
            }
            None => {
                let kind = patch.str_at(&["kind"]).unwrap_or("");
                let name = patch.str_at(&["metadata", "name"]).unwrap_or("");
                let ns = patch.str_at(&["metadata", "namespace"]);
                let found: Vec<usize> = (0..resources.len())
                    .filter(|&i| resources[i].kind() == kind && resources[i].known_as(name, ns))
                    .collect();
                if found.is_empty() {
                    let msg = format!("no resource matches the patch for {kind} `{name}`");
                    self.issue(IssueKind::Unbuildable, msg, at.clone());
                }
                found
            }
        };
        let mut deleted = Vec::new();
        for i in matched {
            if let Merged::Delete = patch::strategic_merge(&mut resources[i].obj, &body, "patch") {
                deleted.push(i);
            }
        }
        for i in deleted.into_iter().rev() {
            resources.remove(i);
        }
    }

    fn json(&mut self, ops: &[JsonOp], target: &Selector, resources: &mut [Resource], at: &Location) {
        for r in resources.iter_mut().filter(|r| target.matches(r)) {
            if let Err(e) = patch::apply_json(&mut r.obj, ops) {
                self.issue(IssueKind::Unbuildable, e, at.clone());
            }
        }
    }
}

fn list<'v>(k: &'v Val, field: &str) -> &'v [Val] {
    k.get(field).and_then(Val::as_seq).unwrap_or(&[])
}

fn pairs(v: Option<&Val>) -> Vec<(String, String)> {
    v.and_then(Val::as_map)
        .map(|e| e.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default()
}

fn add_metadata(resources: &mut [Resource], field: &str, pairs: &[(String, String)]) {
    if pairs.is_empty() {
        return;
    }
    for r in resources.iter_mut() {
        let Some(meta) = r.obj.get_mut("metadata") else { continue };
        if meta.get(field).is_none_or(|m| m.as_map().is_none()) {
            meta.set(field, Val::new(V::Map(Vec::new()), None));
        }
        if let Some(m) = meta.get_mut(field) {
            for (k, v) in pairs {
                m.set(k, Val::scalar(v.clone(), None));
            }
        }
    }
}

fn replacement(v: &Val) -> Replacement {
    Replacement {
        source: v.get("source").cloned().unwrap_or_else(|| Val::new(V::Null, None)),
        targets: list(v, "targets").to_vec(),
        pos: v.pos.clone(),
    }
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

/// `KEY=VALUE` with the value positioned after the `=` (exact for plain scalars).
fn literal(v: &Val) -> Option<(String, Val)> {
    let text = v.as_str()?;
    let (key, value) = text.split_once('=')?;
    let pos = v.pos.as_ref().map(|p| {
        let raw = p.file.text.get(p.span.clone()).unwrap_or("");
        let start = if raw == text { p.span.start + key.len() + 1 } else { p.span.start };
        Pos::new(&p.file, start..start + if raw == text { value.len() } else { 0 })
    });
    let value = value.trim_matches(|c| c == '"' || c == '\'');
    Some((key.trim().to_string(), Val::scalar(value, pos)))
}

/// The `KEY=VALUE` lines of an env file, values positioned.
fn env_pairs(src: &Arc<SourceText>) -> Vec<(String, Val)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in src.text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        let trimmed = content.trim_start();
        if !trimmed.is_empty()
            && !trimmed.starts_with('#')
            && let Some((key, value)) = content.split_once('=')
        {
            let start = offset + key.len() + 1;
            let pos = Pos::new(src, start..start + value.len());
            out.push((key.trim().to_string(), Val::scalar(value, Some(pos))));
        }
        offset += line.len();
    }
    out
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

/// Whether the scalar starting at `start` is a block scalar (`|`, `|-`, `>`...): its
/// content starts on a line after the indicator.
fn is_block_scalar(text: &str, start: usize) -> bool {
    let Some(before) = text.get(..start) else { return false };
    let Some(before) = before.trim_end_matches(' ').strip_suffix('\n') else { return false };
    let line = before.rsplit('\n').next().unwrap_or(before);
    let line = line.split(" #").next().unwrap_or(line).trim_end();
    line.rsplit([' ', ':']).next().is_some_and(|token| token.starts_with('|') || token.starts_with('>'))
}

//! The stage interpreter: reads the instructions in order, keeping the ARG/ENV scopes, the
//! working directory and the stage names, and records stages, references, copies and (through
//! `Builder::script` in `embed`) the embed plan. One function per instruction.

use super::instructions::{Flag, HereBody, Inst, Word};
use super::scope::{Scope, Value, build_arg, platform_args, split_words};
use super::shell::{Sh, ShTok, ShWord};
use super::{BaseKind, Containerfile, CopyPath, FileCopy, Stage, absolute_path};
use crate::reference::{Origin, RefKind, Reference};
use crate::source::BuildOptions;
use crate::source::args;
use crate::source::args::{Budget, ExpandError, Expanded};
use crate::text::location::{Location, Span};
use crate::text::{Problem, SourceText};
use std::collections::{HashMap, HashSet};

pub(super) struct Builder<'a> {
    pub(super) src: &'a SourceText,
    opts: &'a BuildOptions,
    pub(super) out: &'a mut Containerfile,
    /// Heredoc bodies blanked by the pre-pass, by the offset of their `RUN` keyword.
    heredocs: HashMap<usize, Vec<HereBody>>,
    /// ENV at the end of each finished stage.
    stage_envs: Vec<HashMap<String, Value>>,
    /// WORKDIR at the end of each finished stage.
    stage_workdirs: Vec<String>,
    /// The ARGs declared before the first `FROM`, over the automatic platform ARGs.
    global: Scope,
    /// Every stage name in the file, lowercase: `COPY --from` may name a later stage.
    all_names: Vec<String>,
    /// The stage names met so far, lowercase.
    seen_names: HashSet<String>,
    /// The first stage of each name met so far (lowercase), so that a `FROM` naming a stage
    /// costs one lookup, not a scan of every earlier stage (issue 17: 20,000 chained stages).
    stage_index: HashMap<String, usize>,
    /// The stage being read (none before the first `FROM`).
    stage: Option<StageState>,
    /// What the file's expansions may still spend (see [`Budget`]).
    budget: Budget,
    /// The budget's limit was reported as a problem.
    limit_reported: bool,
}

struct StageState {
    name: Option<String>,
    scope: Scope,
    /// The working directory (`/` unless a `WORKDIR` or the parent stage set one; the
    /// `WorkingDir` of a base image is not known statically and taken as `/`).
    workdir: String,
}

impl<'a> Builder<'a> {
    pub(super) fn new(
        src: &'a SourceText,
        opts: &'a BuildOptions,
        out: &'a mut Containerfile,
        heredocs: HashMap<usize, Vec<HereBody>>,
    ) -> Builder<'a> {
        let mut global = Scope::default();
        for (k, v) in platform_args(opts) {
            global.args.insert(k.to_string(), Some(v.into()));
        }
        Builder {
            src,
            opts,
            out,
            heredocs,
            stage_envs: Vec::new(),
            stage_workdirs: Vec::new(),
            global,
            all_names: Vec::new(),
            seen_names: HashSet::new(),
            stage_index: HashMap::new(),
            stage: None,
            budget: Budget::default(),
            limit_reported: false,
        }
    }
}

impl Builder<'_> {
    /// Read the instructions in order.
    pub(super) fn interpret(&mut self, insts: &[Inst]) {
        // Every stage name in the file: `COPY --from` may name a later stage.
        self.all_names = insts
            .iter()
            .filter_map(|i| match i {
                Inst::From { name: Some(n), .. } => Some(n.value.to_lowercase()),
                _ => None,
            })
            .collect();
        for inst in insts {
            match inst {
                Inst::Arg { args } => self.arg(args),
                Inst::Env { args } => self.env(args),
                Inst::From { flags, image, name } => self.from(flags, image, name.as_ref()),
                Inst::Workdir { path } => self.workdir(path),
                Inst::Copy { keyword, add, flags, sources, dest } => {
                    self.copy(*keyword, *add, flags, sources, dest);
                }
                Inst::Run { keyword, flags, shell, exec, heredocs } => {
                    self.run(*keyword, flags, shell.as_ref(), exec, heredocs);
                }
                Inst::Other => {}
            }
            self.report_limit(inst);
        }
    }

    /// The first time an expansion reaches a limit of the budget: a problem at the instruction
    /// doing it. Nothing more is substituted in the file (a reference that needs a variable is
    /// unresolved).
    fn report_limit(&mut self, inst: &Inst) {
        let Some(limit) = self.budget.exceeded() else { return };
        if self.limit_reported {
            return;
        }
        self.limit_reported = true;
        let at = match inst {
            Inst::From { image, .. } => image.span.start,
            Inst::Arg { args } | Inst::Env { args } => args.span.start,
            Inst::Workdir { path } => path.span.start,
            Inst::Copy { keyword, .. } | Inst::Run { keyword, .. } => *keyword,
            Inst::Other => 0,
        };
        self.out.problems.push(Problem {
            message: format!(
                "{limit} (stowage's bound against files built to exhaust memory or time); the rest of \
                 the file is read without substituting variables"
            ),
            location: self.src.location(at..at),
        });
    }

    /// `ARG NAME[=DEFAULT] ...`: global before the first `FROM`, else in the stage. The value is
    /// the build argument, else the default, else the global value.
    fn arg(&mut self, args: &Word) {
        let escape = self.out.escape;
        for w in split_words(&args.value, escape) {
            let (name, default) = match w.split_once('=') {
                Some((n, d)) => (n.to_string(), Some(d.to_string())),
                None => (w.clone(), None),
            };
            // A bare `ARG TARGETARCH` keeps the automatic platform value.
            let scope = self.stage.as_ref().map_or(&self.global, |st| &st.scope);
            let value: Option<Value> = build_arg(self.opts, &name)
                .or_else(|| default.map(|d| args::expand(&d, escape, scope, &self.budget).value))
                .map(Value::from)
                .or_else(|| self.global.args.get(&name).cloned().flatten());
            let scope = match &mut self.stage {
                None => &mut self.global,
                Some(st) => &mut st.scope,
            };
            scope.args.insert(name, value);
        }
    }

    /// `ENV KEY=VALUE ...` (or the legacy `ENV KEY VALUE`) in the stage.
    fn env(&mut self, args: &Word) {
        let escape = self.out.escape;
        let Some(st) = &mut self.stage else { return };
        let words = split_words(&args.value, escape);
        let mut pairs = Vec::new();
        if words.first().is_some_and(|w| !w.contains('=')) {
            // Legacy `ENV KEY value with spaces`.
            let key = words[0].clone();
            let rest = args.value.trim_start().get(key.len()..).unwrap_or("").trim();
            pairs.push((key, args::expand(rest, escape, &st.scope, &self.budget).value.into()));
        } else {
            for w in &words {
                if let Some((k, v)) = w.split_once('=') {
                    pairs
                        .push((k.to_string(), args::expand(v, escape, &st.scope, &self.budget).value.into()));
                }
            }
        }
        st.scope.env.extend(pairs);
    }

    /// `FROM [--platform=P] BASE [AS NAME]`: the current stage ends, a new one starts.
    fn from(&mut self, flags: &[Flag], image: &Word, name: Option<&Word>) {
        if let Some(prev) = self.stage.take() {
            self.stage_envs.push(prev.scope.env);
            self.stage_workdirs.push(prev.workdir);
        }
        let escape = self.out.escape;
        let index = self.out.stages.len();
        let stage_name = name.map(|n| n.value.clone());
        if let Some(n) = name
            && !self.seen_names.insert(n.value.to_lowercase())
        {
            self.out.problems.push(Problem {
                message: format!("duplicate stage name '{}'", n.value),
                location: self.src.location(n.span.clone()),
            });
        }
        let platform = flag_value(flags, "platform", escape, &self.global, &self.budget);
        let e = args::expand(&image.value, escape, &self.global, &self.budget);
        let location = self.src.location(image.span.clone());
        let base_kind = self.base_kind(&e);
        let expanded = (e.value != image.value).then(|| e.value.clone());
        // ENV of a parent stage is inherited; ARGs are not.
        let mut scope = Scope::default();
        if let BaseKind::Stage(i) = base_kind
            && let Some(parent) = self.stage_envs.get(i)
        {
            scope.env = parent.clone();
        }
        if base_kind == BaseKind::Image {
            let mut r =
                self.reference(RefKind::Build, Origin::ContainerfileFrom, &image.value, &e, location.clone());
            r.platform = platform.clone();
            r.within = stage_name.clone();
            self.out.references.push(r);
        }
        if let Some(name) = &stage_name {
            self.stage_index.entry(name.to_lowercase()).or_insert(self.out.stages.len());
        }
        self.out.stages.push(Stage {
            index,
            name: stage_name.clone(),
            base: image.value.clone(),
            base_expanded: expanded,
            platform,
            base_kind,
            location,
        });
        let workdir = match base_kind {
            BaseKind::Stage(i) => self.stage_workdirs.get(i).cloned(),
            _ => None,
        }
        .unwrap_or_else(|| "/".to_string());
        self.stage = Some(StageState { name: stage_name, scope, workdir });
    }

    /// What the substituted base of a `FROM` names.
    fn base_kind(&self, e: &Expanded) -> BaseKind {
        if !e.is_complete() {
            BaseKind::Image
        } else if e.value == "scratch" {
            BaseKind::Scratch
        } else if let Some(&i) = self.stage_index.get(&e.value.to_lowercase()) {
            BaseKind::Stage(i)
        } else {
            BaseKind::Image
        }
    }

    /// `WORKDIR PATH`, against the current working directory.
    fn workdir(&mut self, path: &Word) {
        let escape = self.out.escape;
        let Some(st) = &mut self.stage else { return };
        let e = args::expand(&path.value, escape, &st.scope, &self.budget);
        st.workdir = absolute_path(&st.workdir, &e.value);
    }

    /// `COPY` / `ADD`: the copy, and the image a `COPY --from` names.
    fn copy(&mut self, keyword: usize, add: bool, flags: &[Flag], sources: &[Word], dest: &Word) {
        // Taken out while it is read, not cloned: copying the scope per instruction would cost
        // its size (up to the expansion budget) times the number of instructions.
        let Some(st) = self.stage.take() else { return };
        let copy = self.file_copy(&st, keyword, add, flags, sources, dest);
        self.out.copies.push(copy);
        // `ADD` has no `--from`.
        let from = flags.iter().find(|f| f.name == "from" && !add).and_then(|f| f.value.as_ref());
        if let Some(v) = from {
            let within = st.name.clone();
            self.stage_or_image(Origin::ContainerfileCopyFrom, &v.value, v.span.start, &st.scope, within);
        }
        self.stage = Some(st);
    }

    /// A `COPY` / `ADD` with its paths substituted and its destination made absolute.
    fn file_copy(
        &self,
        st: &StageState,
        keyword: usize,
        add: bool,
        flags: &[Flag],
        sources: &[Word],
        dest: &Word,
    ) -> FileCopy {
        let escape = self.out.escape;
        let path = |w: &Word| {
            let e = args::expand(&w.value, escape, &st.scope, &self.budget);
            CopyPath {
                resolved: e.is_complete(),
                value: e.value,
                location: self.src.location(w.span.clone()),
            }
        };
        let from = flag_value(flags, "from", escape, &st.scope, &self.budget);
        let parents = flags.iter().any(|f| {
            f.name == "parents" && f.value.as_ref().is_none_or(|v| !v.value.eq_ignore_ascii_case("false"))
        });
        let mut destination = path(dest);
        let destination_is_dir = sources.len() > 1
            || destination.value.ends_with('/')
            || destination.value == "."
            || destination.value.ends_with("/.");
        destination.value = absolute_path(&st.workdir, &destination.value);
        FileCopy {
            add,
            stage: self.out.stages.len().saturating_sub(1),
            from,
            parents,
            sources: sources.iter().map(path).collect(),
            destination,
            destination_is_dir,
            location: self.src.location(keyword..keyword + if add { 3 } else { 4 }),
        }
    }

    /// `RUN`: the images its mounts name, and the embedding commands of its scripts.
    fn run(
        &mut self,
        keyword: usize,
        flags: &[Flag],
        shell: Option<&Span>,
        exec: &[Word],
        heredocs: &[HereBody],
    ) {
        // Taken out while it is read, not cloned (as in `copy`).
        let Some(st) = self.stage.take() else { return };
        self.run_mounts(flags, &st.scope, &st.name);
        for toks in self.scripts(keyword, shell, exec, heredocs, &st.scope) {
            self.script(&toks, &st.scope, st.name.clone());
        }
        self.stage = Some(st);
    }

    /// `RUN --mount=...,from=X`: the stage or image each mount reads.
    fn run_mounts(&mut self, flags: &[Flag], scope: &Scope, within: &Option<String>) {
        for f in flags.iter().filter(|f| f.name == "mount") {
            let Some(v) = &f.value else { continue };
            let mut offset = 0;
            for field in v.value.split(',') {
                if let Some(from) = field.strip_prefix("from=") {
                    let raw_ok = self.src.text.get(v.span.clone()) == Some(v.value.as_str());
                    let at = if raw_ok { v.span.start + offset + 5 } else { v.span.start };
                    self.stage_or_image(Origin::ContainerfileRunMount, from, at, scope, within.clone());
                }
                offset += field.len() + 1;
            }
        }
    }

    /// The scripts of a `RUN` as shell tokens: the shell form, the heredoc bodies a shell runs,
    /// the exec form.
    fn scripts(
        &self,
        keyword: usize,
        shell: Option<&Span>,
        exec: &[Word],
        heredocs: &[HereBody],
        scope: &Scope,
    ) -> Vec<Vec<ShTok>> {
        let escape = self.out.escape;
        let mut scripts: Vec<Vec<ShTok>> = Vec::new();
        if let Some(span) = shell {
            scripts.push(Sh::new(&self.src.text, span.clone(), escape, true, scope, &self.budget).tokens());
        }
        let mut bodies: Vec<HereBody> = heredocs.to_vec();
        if let Some(extra) = self.heredocs.get(&keyword) {
            bodies.extend(extra.iter().cloned());
        }
        for b in bodies.iter().filter(|b| b.script) {
            scripts.push(Sh::new(&self.src.text, b.body.clone(), '\\', false, scope, &self.budget).tokens());
        }
        if !exec.is_empty() {
            scripts.push(exec.iter().map(|w| ShTok::Word(ShWord::literal(w))).collect());
        }
        scripts
    }

    pub(super) fn reference(
        &self,
        kind: RefKind,
        origin: Origin,
        image: &str,
        e: &Expanded,
        location: Location,
    ) -> Reference {
        let mut r = Reference::new(kind, origin, image, location);
        if e.value != image {
            r.expanded = Some(e.value.clone());
        }
        if let Some(ExpandError::Limit(limit)) = &e.error {
            r.unresolved(limit.to_string())
        } else if !e.undefined.is_empty() {
            r.unresolved(undefined_reason(&e.undefined))
        } else if let Some(err) = &e.error {
            r.unresolved(format!("invalid variable substitution: {err}"))
        } else {
            r.resolve()
        }
    }

    /// `COPY --from=X` / `RUN --mount=...,from=X`: a reference unless X is a stage name or
    /// index. BuildKit refuses variables in `--from`; Buildah expands them, so we do.
    fn stage_or_image(
        &mut self,
        origin: Origin,
        text: &str,
        at: usize,
        scope: &Scope,
        within: Option<String>,
    ) {
        let e = args::expand(text, self.out.escape, scope, &self.budget);
        if e.is_complete() {
            let v = e.value.to_lowercase();
            if (!v.is_empty() && v.chars().all(|c| c.is_ascii_digit())) || self.all_names.contains(&v) {
                return;
            }
        }
        let mut r = self.reference(RefKind::Build, origin, text, &e, self.src.location(at..at + text.len()));
        r.within = within;
        self.out.references.push(r);
    }
}

/// The value of the instruction flag `--name=...`, expanded with `vars`.
fn flag_value(
    flags: &[Flag],
    name: &str,
    escape: char,
    vars: &dyn args::Vars,
    budget: &Budget,
) -> Option<String> {
    let value = flags.iter().find(|f| f.name == name).and_then(|f| f.value.as_ref())?;
    Some(args::expand(&value.value, escape, vars, budget).value)
}

fn undefined_reason(names: &[String]) -> String {
    match names {
        [one] => format!("undefined build argument {one}"),
        many => format!("undefined build arguments {}", many.join(", ")),
    }
}

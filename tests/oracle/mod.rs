//! The device-simulation oracle: cases (fixture images and mutations of a good one), each
//! booted by the real tools (`device`), judged by stowage (`verdict`), and compared.

pub mod device;
pub mod mutate;
pub mod verdict;

use device::{Boot, Presence, Tools};
use mutate::{Base, Mutation};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use verdict::Verdict;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where an image of the fixtures comes from.
#[derive(Clone, Debug)]
pub enum Source {
    /// An unpacked root filesystem (stowage reads `rootfs:DIR`).
    Rootfs(PathBuf),
    /// A built image stowage reads with its own reader (`spec`, where `{work}` is the case's
    /// directory); the oracle boots what `prepare` (skopeo to a gzip OCI layout, then umoci)
    /// unpacks.
    Built { spec: String, prepare: Prepare },
    /// The good image with mutations applied.
    Mutated(Vec<Mutation>),
}

/// How a built fixture image becomes an OCI layout umoci can unpack.
#[derive(Clone, Debug)]
pub enum Prepare {
    /// `skopeo copy --dest-compress-format gzip SRC oci:LAYOUT:v1` (zstd layers included).
    Skopeo(String),
    /// A containers-storage store archived in a tar: extracted, then copied out by skopeo.
    StorageTar { tar: PathBuf, reference: String },
}

#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub source: Source,
    pub arch: String,
}

/// Why a comparison failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// stowage: embedded; the device: not there.
    FalseEmbedded,
    /// stowage: missing; the device: there.
    FalseMissing,
    /// stowage: READY; the device does not come up with every image.
    FalseReady,
    /// stowage gives one image two verdicts.
    Inconsistent,
    /// stowage could not analyse the image.
    StowageFailed,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::FalseEmbedded => "false-embedded",
            Kind::FalseMissing => "false-missing",
            Kind::FalseReady => "false-READY",
            Kind::Inconsistent => "inconsistent",
            Kind::StowageFailed => "stowage-failed",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Disagreement {
    pub kind: Kind,
    /// Which stowage run (`rootfs`, `oci:...`, `+probes`).
    pub run: String,
    /// The resolved reference, empty for the image as a whole.
    pub resolved: String,
    /// The reference and where stowage found it.
    pub reference: String,
    pub oracle: String,
    pub stowage: String,
}

/// The result of one case.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub name: String,
    /// The mutations, described, with what each did.
    pub mutations: Vec<String>,
    pub mutation_kinds: Vec<&'static str>,
    pub boot: Option<Boot>,
    /// Why the case could not be judged.
    pub not_judged: Option<String>,
    pub disagreements: Vec<Disagreement>,
    /// stowage READY / device ready, per stowage run.
    pub verdicts: Vec<(String, bool, bool)>,
    pub notes: Vec<String>,
    pub contract: bool,
    pub references: usize,
}

/// Everything a case needs.
pub struct Harness {
    pub tools: Tools,
    pub stowage: PathBuf,
    pub base: Base,
    pub keep: bool,
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// Unpack a built fixture image with the real tools into `work/bundle`; its rootfs.
fn unpack(tools: &Tools, prepare: &Prepare, work: &Path) -> Result<PathBuf, String> {
    let layout = work.join("layout");
    let source = match prepare {
        Prepare::Skopeo(src) => src.clone(),
        Prepare::StorageTar { tar, reference } => {
            let store = work.join("store");
            std::fs::create_dir_all(&store).map_err(|e| e.to_string())?;
            run(Command::new("tar").arg("-xf").arg(tar).arg("-C").arg(&store))?;
            format!("containers-storage:[vfs@{}+{}]{reference}", store.display(), work.join("run").display())
        }
    };
    run(Command::new(&tools.skopeo)
        .args(["copy", "-q", "--dest-compress-format", "gzip", &source])
        .arg(format!("oci:{}:v1", layout.display())))?;
    let bundle = work.join("bundle");
    run(Command::new(&tools.umoci)
        .args(["unpack", "--image"])
        .arg(format!("{}:v1", layout.display()))
        .arg(&bundle))?;
    Ok(bundle.join("rootfs"))
}

/// Names worth asking about besides the image's own references: every name its image lists
/// and its stores hold (written as Quadlet `Image=` probes stowage judges too).
fn probe_names(root: &Path) -> Vec<String> {
    let mut names = BTreeSet::new();
    for list in [
        "usr/lib/containers/storage/image-list.txt",
        "usr/lib/containers-image-cache/mapping.txt",
        "usr/lib/containers-image-cache/image-list.txt",
    ] {
        for line in std::fs::read_to_string(root.join(list)).unwrap_or_default().lines() {
            let name = line.split_once(',').map_or(line, |(r, _)| r).trim();
            names.insert(name.to_string());
        }
    }
    for store in ["usr/lib/containers/storage", "usr/share/containers/storage", "var/lib/containers/storage"]
    {
        for driver in ["overlay", "vfs"] {
            let file = root.join(store).join(format!("{driver}-images/images.json"));
            let Ok(text) = std::fs::read_to_string(file) else { continue };
            let Ok(serde_json::Value::Array(images)) = serde_json::from_str::<serde_json::Value>(&text)
            else {
                continue;
            };
            for image in images {
                for name in image["names"].as_array().into_iter().flatten().filter_map(|n| n.as_str()) {
                    names.insert(name.to_string());
                    if let Some(digest) = image["digest"].as_str() {
                        let repo = name.split('@').next().unwrap_or(name);
                        let repo = match repo.rsplit_once(':') {
                            Some((r, tag)) if !tag.contains('/') => r,
                            _ => repo,
                        };
                        names.insert(format!("{repo}@{digest}"));
                    }
                }
            }
        }
    }
    names.into_iter().collect()
}

/// Whether a name can be written as a Quadlet `Image=` probe.
fn probe_ok(name: &str) -> bool {
    !name.is_empty() && !name.contains(char::is_whitespace) && !name.contains('%') && name.is_ascii()
}

fn write_probes(names: &[String], dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (i, name) in names.iter().enumerate() {
        std::fs::write(dir.join(format!("probe-{i:03}.container")), format!("[Container]\nImage={name}\n"))?;
    }
    Ok(())
}

impl Harness {
    /// Run one case in `work` (a fresh directory).
    pub fn run(&self, case: &Case, work: &Path) -> Outcome {
        let mut outcome = Outcome { name: case.name.clone(), ..Outcome::default() };
        if let Err(e) = self.run_inner(case, work, &mut outcome) {
            outcome.not_judged = Some(e);
        }
        outcome
    }

    fn run_inner(&self, case: &Case, work: &Path, outcome: &mut Outcome) -> Result<(), String> {
        // The image, and the stowage runs over it: (label, image spec).
        let (root, specs): (PathBuf, Vec<(String, String)>) = match &case.source {
            Source::Rootfs(dir) => {
                (dir.clone(), vec![("rootfs".into(), format!("rootfs:{}", dir.display()))])
            }
            Source::Built { spec, prepare } => {
                let root = unpack(&self.tools, prepare, work)?;
                let rootfs = format!("rootfs:{}", root.display());
                let spec = spec.replace("{work}", &work.display().to_string());
                let label = spec.split(':').next().unwrap_or("image").to_string();
                (root, vec![("rootfs (umoci)".into(), rootfs), (label, spec)])
            }
            Source::Mutated(mutations) => {
                let root = work.join("root");
                run(Command::new("cp").arg("-a").arg(&self.base.root).arg(&root))?;
                for m in mutations {
                    let did = mutate::apply(m, &root, &self.base, &self.tools, work)?;
                    outcome.mutations.push(format!("{} [{did}]", m.describe(&self.base)));
                    outcome.mutation_kinds.push(m.kind());
                }
                (root.clone(), vec![("rootfs".into(), format!("rootfs:{}", root.display()))])
            }
        };
        // Probes for the fixtures (most carry images no workload of theirs runs); a mutated
        // image's references already name every copy it carries.
        let probes = work.join("probes");
        let mutated = matches!(case.source, Source::Mutated(_));
        let mut names = if mutated { Vec::new() } else { probe_names(&root) };
        if !mutated {
            // What stowage's inventory names too (OCI layouts and archives, manifest lists).
            for n in verdict::inventory_names(&self.stowage, &specs[0].1, &work.join("stowage"))? {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        names.retain(|n| probe_ok(n));
        write_probes(&names, &probes).map_err(|e| e.to_string())?;
        let cwd = work.join("stowage");
        std::fs::create_dir_all(&cwd).map_err(|e| e.to_string())?;

        let mut runs: Vec<(String, Result<Verdict, String>)> = Vec::new();
        for (label, spec) in &specs {
            runs.push((label.clone(), verdict::judge(&self.stowage, spec, &case.arch, &[], &cwd)));
            if !names.is_empty() {
                runs.push((
                    format!("{label} +probes"),
                    verdict::judge(&self.stowage, spec, &case.arch, std::slice::from_ref(&probes), &cwd),
                ));
            }
        }
        let mut references: Vec<(String, String)> = Vec::new();
        for (_, v) in &runs {
            for j in v.iter().flat_map(|v| &v.judged).filter(|j| !j.resolved.is_empty()) {
                if !references.iter().any(|(_, r)| *r == j.resolved) {
                    references.push((j.image.clone(), j.resolved.clone()));
                }
            }
        }
        outcome.references = references.len();
        let boot = device::boot(&self.tools, &root, &case.arch, &references, &work.join("boot"))?;
        for (label, v) in &runs {
            match v {
                Ok(v) => {
                    outcome.contract |= v.contract;
                    compare(label, v, &boot, outcome);
                }
                Err(e) => outcome.disagreements.push(Disagreement {
                    kind: Kind::StowageFailed,
                    run: label.clone(),
                    resolved: String::new(),
                    reference: String::new(),
                    oracle: boot.startup(),
                    stowage: e.clone(),
                }),
            }
        }
        outcome.boot = Some(boot);
        Ok(())
    }
}

/// Compare one stowage run with the booted device.
fn compare(label: &str, v: &Verdict, boot: &Boot, outcome: &mut Outcome) {
    let mut seen: BTreeMap<&str, bool> = BTreeMap::new();
    let mut absent = Vec::new();
    // An unresolved reference cannot be looked up (stowage counts it against READY).
    for j in v.judged.iter().filter(|j| !j.resolved.is_empty()) {
        if let Some(&before) = seen.get(j.resolved.as_str()) {
            if before != j.embedded {
                outcome.disagreements.push(Disagreement {
                    kind: Kind::Inconsistent,
                    run: label.into(),
                    resolved: j.resolved.clone(),
                    reference: j.resolved.clone(),
                    oracle: String::new(),
                    stowage: format!("{} at {}, the other way elsewhere", j.detail, j.location),
                });
            }
            continue;
        }
        seen.insert(&j.resolved, j.embedded);
        let presence =
            boot.lookups.get(&j.resolved).cloned().unwrap_or(Presence::Absent("not looked up".into()));
        if !presence.is_present() {
            absent.push(j.resolved.clone());
        }
        let oracle = match &presence {
            Presence::Present { name, digest } => format!("present as {name} ({digest})"),
            Presence::Absent(why) => format!("absent: {why}{}", copy_story(boot, &j.resolved)),
        };
        let kind = match (j.embedded, presence.is_present()) {
            (true, false) => Some(Kind::FalseEmbedded),
            (false, true) => Some(Kind::FalseMissing),
            _ => None,
        };
        // A probe run repeats the plain run's references: report each disagreement once.
        let repeated = outcome.disagreements.iter().any(|d| kind == Some(d.kind) && d.resolved == j.resolved);
        if let Some(kind) = kind.filter(|_| !repeated) {
            outcome.disagreements.push(Disagreement {
                resolved: j.resolved.clone(),
                kind,
                run: label.into(),
                reference: format!("{} ({} {}, {})", j.resolved, j.kind, j.origin, j.location),
                oracle,
                stowage: j.detail.clone(),
            });
        } else if let (Some(d), Presence::Present { digest, .. }) = (&j.digest, &presence)
            && d != digest
        {
            outcome.notes.push(format!(
                "{label}: {} embedded with digest {d} says stowage; the device's store has {digest}",
                j.resolved
            ));
        }
    }
    let device_ready = boot.microshift_starts && absent.is_empty();
    let repeated = outcome.disagreements.iter().any(|d| d.kind == Kind::FalseReady);
    if v.ready && !device_ready && !repeated {
        let mut why = Vec::new();
        if !boot.microshift_starts {
            why.push(format!("MicroShift {}", boot.startup()));
        }
        if !absent.is_empty() {
            why.push(format!("{} absent: {}", absent.len(), absent.join(", ")));
        }
        outcome.disagreements.push(Disagreement {
            kind: Kind::FalseReady,
            run: label.into(),
            resolved: String::new(),
            reference: String::new(),
            oracle: why.join("; "),
            stowage: format!("READY ({})", v.summary),
        });
    }
    if !v.ready && device_ready && !outcome.disagreements.iter().any(|d| d.run == label) {
        outcome.notes.push(format!(
            "{label}: stowage NOT READY ({}; errors: {}) while the device comes up with every image",
            v.summary,
            v.errors.join(", ")
        ));
    }
    outcome.verdicts.push((label.into(), v.ready, device_ready));
}

/// What the copy script did about a reference's repository (to explain an absence).
fn copy_story(boot: &Boot, resolved: &str) -> String {
    let repo = |r: &str| -> String {
        let r = r.split('@').next().unwrap_or(r);
        match r.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => name.to_string(),
            _ => r.to_string(),
        }
    };
    // A copy into the same repository with the same digest, or the same tag.
    let tag_or_digest = |r: &str| -> (Option<String>, Option<String>) {
        let (name, digest) = match r.split_once('@') {
            Some((n, d)) => (n, Some(d.to_string())),
            None => (r, None),
        };
        let tag = name.rsplit_once(':').filter(|(_, t)| !t.contains('/')).map(|(_, t)| t.to_string());
        (tag, digest)
    };
    let want = repo(resolved);
    let (want_tag, want_digest) = tag_or_digest(resolved);
    let copies: Vec<String> = boot
        .copies
        .iter()
        .filter(|c| {
            let dest = c.destination.trim_start_matches("containers-storage:");
            let (tag, digest) = tag_or_digest(dest);
            repo(dest) == want
                && ((digest.is_some() && digest == want_digest) || (tag.is_some() && tag == want_tag))
        })
        .map(|c| {
            format!("copy to {} exited {}", c.destination.trim_start_matches("containers-storage:"), c.status)
        })
        .collect();
    let start = if boot.microshift_starts { "" } else { "; MicroShift does not start" };
    if copies.is_empty() {
        format!("; no copy into it ran{start}")
    } else {
        format!("; {}{start}", copies.join(", "))
    }
}

/// Every case's boot and stowage's view of it (`STOWAGE_ORACLE_VERBOSE=1`).
pub fn details(outcomes: &[Outcome]) -> String {
    let mut s = String::new();
    for o in outcomes {
        writeln!(s, "== {}", o.name).unwrap();
        for m in &o.mutations {
            writeln!(s, "   mutation: {m}").unwrap();
        }
        if let Some(why) = &o.not_judged {
            writeln!(s, "   not judged: {why}").unwrap();
            continue;
        }
        let Some(b) = &o.boot else { continue };
        writeln!(s, "   MicroShift {}", b.startup()).unwrap();
        writeln!(s, "   storage: driver {}, additional stores {:?}", b.storage_driver, b.additional_stores)
            .unwrap();
        for c in &b.copies {
            writeln!(s, "   copy {} -> {}: {}", c.source, c.destination, c.status).unwrap();
        }
        for (r, p) in &b.lookups {
            writeln!(s, "   {r}: {p:?}").unwrap();
        }
        for (run, stowage, device) in &o.verdicts {
            writeln!(
                s,
                "   {run}: stowage {}, device {}",
                if *stowage { "READY" } else { "NOT READY" },
                if *device { "ready" } else { "not ready" }
            )
            .unwrap();
        }
    }
    s
}

/// The report: counts, the distinct disagreements (smallest mutation sets), the full table.
pub fn report(outcomes: &[Outcome], header: &str) -> String {
    let mut s = String::new();
    let judged = outcomes.iter().filter(|o| o.not_judged.is_none()).count();
    let disagreeing = outcomes.iter().filter(|o| !o.disagreements.is_empty()).count();
    let total: usize = outcomes.iter().map(|o| o.disagreements.len()).sum();
    let false_ready =
        outcomes.iter().flat_map(|o| &o.disagreements).filter(|d| d.kind == Kind::FalseReady).count();
    let starts_not =
        outcomes.iter().filter(|o| o.boot.as_ref().is_some_and(|b| !b.microshift_starts)).count();
    let contract = outcomes.iter().any(|o| o.contract);
    writeln!(s, "{header}").unwrap();
    writeln!(
        s,
        "{} cases, {judged} judged ({starts_not} where MicroShift does not start); per-reference verdicts from {}",
        outcomes.len(),
        if contract { "`references` of check --format json" } else { "the findings (no `references` in check's JSON yet)" }
    )
    .unwrap();
    writeln!(s, "{total} disagreements in {disagreeing} cases; {false_ready} false READY").unwrap();
    for o in outcomes.iter().filter(|o| o.not_judged.is_some()) {
        writeln!(s, "  NOT JUDGED {}: {}", o.name, o.not_judged.as_deref().unwrap_or("")).unwrap();
    }
    // Distinct: per disagreement kind, the sets of mutation kinds no smaller set explains.
    type Group<'a> = Vec<(&'a Outcome, &'a Disagreement)>;
    let mut groups: BTreeMap<(Kind, Vec<&str>), Group> = BTreeMap::new();
    for o in outcomes {
        let mut kinds = o.mutation_kinds.clone();
        kinds.sort();
        kinds.dedup();
        // A fixture is its own group.
        let kinds = if kinds.is_empty() { vec![o.name.as_str()] } else { kinds };
        for d in &o.disagreements {
            groups.entry((d.kind, kinds.clone())).or_default().push((o, d));
        }
    }
    let keys: Vec<(Kind, Vec<&str>)> = groups.keys().cloned().collect();
    let distinct: Vec<&(Kind, Vec<&str>)> = keys
        .iter()
        .filter(|(k, set)| {
            !keys.iter().any(|(k2, s2)| k2 == k && s2.len() < set.len() && s2.iter().all(|x| set.contains(x)))
        })
        .collect();
    if !distinct.is_empty() {
        writeln!(s, "\ndistinct disagreements (kind [mutations] — cases — one reproduction):").unwrap();
    }
    for key in distinct {
        let items = &groups[key];
        let (o, d) = items[0];
        let cases: BTreeSet<&str> = items.iter().map(|(o, _)| o.name.as_str()).collect();
        writeln!(s, "- {} [{}] — {} case(s) — {}", key.0.as_str(), key.1.join(" + "), cases.len(), o.name)
            .unwrap();
        for m in &o.mutations {
            writeln!(s, "    mutation: {m}").unwrap();
        }
        writeln!(s, "    {} {}", d.run, d.reference).unwrap();
        writeln!(s, "    oracle:  {}", d.oracle).unwrap();
        writeln!(s, "    stowage: {}", d.stowage).unwrap();
    }
    if total > 0 {
        writeln!(s, "\nall disagreements:").unwrap();
        writeln!(s, "| case | kind | run | reference | oracle says | stowage says |").unwrap();
        writeln!(s, "|---|---|---|---|---|---|").unwrap();
    }
    for o in outcomes {
        for d in &o.disagreements {
            writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                o.name,
                d.kind.as_str(),
                d.run,
                d.reference,
                d.oracle.replace('|', "\\|"),
                d.stowage.replace('|', "\\|")
            )
            .unwrap();
        }
    }
    let mut failing =
        outcomes.iter().filter(|o| !o.disagreements.is_empty() && !o.mutations.is_empty()).peekable();
    if failing.peek().is_some() {
        writeln!(s, "\nfailing mutation cases:").unwrap();
    }
    for o in failing {
        writeln!(s, "- {}: {}", o.name, o.mutations.join("; ")).unwrap();
        if let Some(b) = &o.boot {
            writeln!(s, "    MicroShift {}", b.startup()).unwrap();
        }
    }
    let notes: Vec<String> =
        outcomes.iter().flat_map(|o| o.notes.iter().map(move |n| format!("{}: {n}", o.name))).collect();
    if !notes.is_empty() {
        writeln!(s, "\nnotes (not disagreements):").unwrap();
        for n in notes {
            writeln!(s, "- {n}").unwrap();
        }
    }
    s
}

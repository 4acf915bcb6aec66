//! The device-simulation oracle (issue 15): for the readiness verdict, the booted device plays
//! the role `kubectl kustomize` plays for kustomize. `stowage check --image` says, for every
//! image the device runs, whether the device will find it without a network; here the real
//! tools boot the image and say whether it does.
//!
//! For each image — every fixture image (`fixtures/audit/images/*`, `fixtures/inventory/*`,
//! `fixtures/images/*` unpacked by umoci, zstd converted by skopeo first) and seeded mutations
//! of the good one (`fixtures/audit/images/complete`) — the oracle:
//! 1. runs the image's own copy script (the `ExecStartPre=` of the `microshift.service`
//!    drop-ins, with its arguments) with bash and real skopeo, in a private mount namespace
//!    where the image's `/usr` is read-only, against a containers-storage configured from the
//!    image's effective storage.conf (see `oracle/device.rs` for every rebasing);
//! 2. decides whether MicroShift starts by systemd.service(5)'s rule — **no systemd runs
//!    here**: an `ExecStartPre=` that fails without a `-` prefix fails the unit;
//! 3. asks containers/image (`skopeo inspect containers-storage:REF`, target architecture,
//!    layers read back) for every reference stowage judges — the references of stowage's own
//!    output, plus Quadlet probes naming everything the image lists or stores, so fixtures
//!    without workloads are judged too;
//! 4. compares, reference by reference (embedded vs present) and overall (stowage READY must
//!    mean MicroShift starts and every judged image is present).
//!
//! Needs root, skopeo, umoci and `unshare` (util-linux): SKIP otherwise, a failure with `CI`
//! set. `STOWAGE_ORACLE_MUTATIONS=N` (default 200), `STOWAGE_ORACLE_SEED=S`,
//! `STOWAGE_ORACLE_CASES=3,17` (only those mutation cases), `STOWAGE_ORACLE_THREADS=N`,
//! `STOWAGE_ORACLE_KEEP=1` (keep each case's directory: the mutated tree, the boot's logs),
//! `STOWAGE_ORACLE_VERBOSE=1` (every case's boot, lookups and verdicts).

mod oracle;

use oracle::device;
use oracle::mutate::{self, Base, HChange, Locks, Mutation};
use oracle::{Case, Harness, Outcome, Prepare, Source};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

const DEFAULT_SEED: u64 = 0x15_0AC1E;
const ARCH: &str = "amd64";

/// The harness, or `None` (SKIP printed) when the tools are missing outside CI.
fn harness(test: &str) -> Option<Harness> {
    let tools = match device::tools() {
        Ok(t) => t,
        Err(device::Unavailable::Missing(why)) => {
            // CI installs them (.ci/run): there, a skip would hide a broken install step.
            assert!(std::env::var_os("CI").is_none(), "CI must run the device oracle: {why}");
            eprintln!("SKIP {test}: {why}");
            return None;
        }
        Err(device::Unavailable::Unusable(why)) => {
            eprintln!("SKIP {test}: {why}");
            return None;
        }
    };
    let repo = oracle::repo();
    let base = Base::new(
        &repo.join("fixtures/audit/images/complete"),
        &repo.join("fixtures/audit/images/wrong-arch"),
    );
    Some(Harness {
        tools,
        stowage: PathBuf::from(env!("CARGO_BIN_EXE_stowage")),
        base,
        keep: std::env::var_os("STOWAGE_ORACLE_KEEP").is_some(),
    })
}

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => {
            let v = v.trim();
            let parsed = match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => v.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        }
        Err(_) => default,
    }
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    out.sort();
    out
}

/// Every fixture image.
fn fixture_cases() -> Vec<Case> {
    let repo = oracle::repo();
    let mut cases = Vec::new();
    for dir in ["fixtures/audit/images", "fixtures/inventory"] {
        for root in sorted_dirs(&repo.join(dir)) {
            let name = root.strip_prefix(&repo).unwrap().display().to_string();
            cases.push(Case { name, source: Source::Rootfs(root), arch: ARCH.into() });
        }
    }
    // The audit image built for amd64, judged for an arm64 device too, and its arm64 state.
    for state in ["complete", "wrong-arch"] {
        let root = repo.join("fixtures/audit/images").join(state);
        let name = format!("fixtures/audit/images/{state} (arm64)");
        cases.push(Case { name, source: Source::Rootfs(root), arch: "arm64".into() });
    }
    let images = repo.join("fixtures/images");
    for layout in sorted_dirs(&images).into_iter().filter(|d| d.join("index.json").is_file()) {
        let name = layout.strip_prefix(&repo).unwrap().display().to_string();
        let spec = format!("oci:{}:v1", layout.display());
        cases.push(Case {
            name,
            source: Source::Built { spec: spec.clone(), prepare: Prepare::Skopeo(spec) },
            arch: ARCH.into(),
        });
    }
    let mut tars: Vec<PathBuf> = std::fs::read_dir(&images)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "tar"))
        .collect();
    tars.sort();
    for tar in tars {
        let name = tar.strip_prefix(&repo).unwrap().display().to_string();
        let file = tar.file_name().unwrap().to_string_lossy().into_owned();
        let source = if file == "storage.tar" {
            let reference = "example.com/stowage/fixture:v1".to_string();
            Source::Built {
                spec: format!("containers-storage:[vfs@{{work}}/store+{{work}}/run]{reference}"),
                prepare: Prepare::StorageTar { tar: tar.clone(), reference },
            }
        } else {
            let transport = if file.contains("docker") { "docker-archive" } else { "oci-archive" };
            let spec = format!("{transport}:{}", tar.display());
            Source::Built { spec: spec.clone(), prepare: Prepare::Skopeo(spec) }
        };
        cases.push(Case { name, source, arch: ARCH.into() });
    }
    cases
}

/// Run `cases` on `threads` threads; outcomes in case order.
fn run_all(h: &Harness, cases: &[Case], threads: usize) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new(vec![None; cases.len()]);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(case) = cases.get(i) else { break };
                    let work = tempfile::Builder::new()
                        .prefix("stowage-oracle-")
                        .tempdir()
                        .expect("a work directory");
                    let outcome = h.run(case, work.path());
                    if h.keep {
                        eprintln!("kept {}: {}", case.name, work.keep().display());
                    }
                    results.lock().unwrap()[i] = Some(outcome);
                }
            });
        }
    });
    results.into_inner().unwrap().into_iter().map(|o| o.expect("every case ran")).collect()
}

/// Fixture images the real tools refuse, so the device cannot be played for them.
fn known_unjudgeable(case: &str, why: &str) -> bool {
    // skopeo 1.9 wrote these zstd:chunked layers re-serialised (Go's tar headers instead of
    // GNU tar's) but kept the config's diff_ids: umoci refuses the last layer ("diffid
    // mismatch"). Same files as fixtures/images/oci, which is judged.
    case == "fixtures/images/oci-chunked" && why.contains("diffid mismatch")
}

/// Fixtures and mutations, compared with stowage: 0 disagreements, 0 false READY. The report:
/// `cargo test --test device_oracle -- --nocapture`.
#[test]
fn stowage_agrees_with_the_device() {
    let Some(h) = harness("stowage_agrees_with_the_device") else { return };
    let seed = env_number("STOWAGE_ORACLE_SEED", DEFAULT_SEED);
    let count = env_number("STOWAGE_ORACLE_MUTATIONS", 200) as usize;
    let threads = env_number(
        "STOWAGE_ORACLE_THREADS",
        // Twice the cores: a case mostly waits on skopeo (about 0.2 s a copy, little of it CPU).
        2 * std::thread::available_parallelism().map_or(2, |n| n.get()) as u64,
    ) as usize;
    let only: Option<Vec<usize>> = std::env::var("STOWAGE_ORACLE_CASES")
        .ok()
        .map(|v| v.split(',').map(|n| n.trim().parse().expect("STOWAGE_ORACLE_CASES: numbers")).collect());
    let mut cases = if only.is_some() { Vec::new() } else { fixture_cases() };
    let fixtures = cases.len();
    for index in only.clone().unwrap_or_else(|| (0..count).collect()) {
        let mutations = mutate::generate(seed, index, &h.base);
        cases.push(Case { name: format!("m{index}"), source: Source::Mutated(mutations), arch: ARCH.into() });
    }
    let started = Instant::now();
    let outcomes = run_all(&h, &cases, threads);
    let took = started.elapsed();
    let header = format!(
        "device oracle: {fixtures} fixture images + {} mutations of fixtures/audit/images/complete \
         (STOWAGE_ORACLE_SEED={seed:#x}), {threads} threads, overlay {}: {:.1} s\n\
         replay one case: STOWAGE_ORACLE_SEED={seed:#x} STOWAGE_ORACLE_CASES=N cargo test --test device_oracle -- --nocapture",
        cases.len() - fixtures,
        if h.tools.overlay { "works" } else { "does not work (vfs where it can)" },
        took.as_secs_f64()
    );
    if std::env::var_os("STOWAGE_ORACLE_VERBOSE").is_some() {
        println!("{}", oracle::details(&outcomes));
    }
    let report = oracle::report(&outcomes, &header);
    println!("{report}");
    let not_judged: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.not_judged.as_deref().is_some_and(|why| !known_unjudgeable(&o.name, why)))
        .map(|o| o.name.as_str())
        .collect();
    let disagreements: usize = outcomes.iter().map(|o| o.disagreements.len()).sum();
    assert!(not_judged.is_empty(), "cases the harness could not judge (report above): {not_judged:?}");
    assert_eq!(disagreements, 0, "stowage disagrees with the booted device (report above)");
}

// --- the oracle itself, against what the real tools are known to do (DOMAIN.md §2, §4) ----

/// The good image's references, as the list names them, and web's as the manifests pin it.
struct Refs {
    web_tag: String,
    web_pinned: String,
    worker: String,
    agent: String,
    pod: String,
    dns: String,
}

fn refs(base: &Base) -> Refs {
    let e = |i: usize| base.entries[i].reference.clone();
    let manifest =
        std::fs::read(base.root.join(mutate::STORE).join(&base.entries[0].h).join("manifest.json")).unwrap();
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(&manifest));
    Refs {
        web_pinned: format!("{}@sha256:{digest}", e(0)),
        web_tag: e(0),
        worker: e(1),
        agent: e(2),
        pod: e(3),
        dns: e(4),
    }
}

/// Boot the good image with `mutations`; which of `names` are present.
fn boot_with(h: &Harness, mutations: &[Mutation], names: &[&String]) -> (device::Boot, Vec<bool>) {
    let references: Vec<(String, String)> = names.iter().map(|n| (n.to_string(), n.to_string())).collect();
    boot_refs(h, mutations, &references)
}

/// Boot the good image with `mutations`; which `(written, resolved)` references are present.
fn boot_refs(
    h: &Harness,
    mutations: &[Mutation],
    references: &[(String, String)],
) -> (device::Boot, Vec<bool>) {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    assert!(
        std::process::Command::new("cp").arg("-a").arg(&h.base.root).arg(&root).status().unwrap().success()
    );
    for m in mutations {
        mutate::apply(m, &root, &h.base, &h.tools, work.path()).unwrap();
    }
    let boot = device::boot(&h.tools, &root, ARCH, references, &work.path().join("boot")).unwrap();
    let present = references.iter().map(|(_, r)| boot.lookups[r].is_present()).collect();
    (boot, present)
}

#[test]
fn the_oracle_looks_short_names_up_through_the_search_registries() {
    assert!(device::is_short_name("acme/worker:2.0") && device::is_short_name("nginx"));
    assert!(!device::is_short_name("quay.io/acme/worker") && !device::is_short_name("localhost/x"));
    assert!(!device::is_short_name("registry:5000/x"));
    let Some(h) = harness("the_oracle_looks_short_names_up_through_the_search_registries") else { return };
    // Resolved as stowage shows a short name; the device tries the search registries in order.
    let short = [("acme/worker:2.0".to_string(), "docker.io/acme/worker:2.0".to_string())];
    let (_, present) = boot_refs(&h, &[Mutation::ShortName { search_quay: true }], &short);
    assert_eq!(present, [true], "quay.io/acme/worker:2.0 is the first candidate found");
    let (boot, present) = boot_refs(&h, &[Mutation::ShortName { search_quay: false }], &short);
    assert_eq!(present, [false], "no search registry carries it: {:?}", boot.lookups);
}

#[test]
fn the_oracle_boots_like_the_device() {
    let Some(h) = harness("the_oracle_boots_like_the_device") else { return };
    let r = refs(&h.base);
    let all = [&r.web_tag, &r.web_pinned, &r.worker, &r.agent, &r.pod, &r.dns];
    // (what, mutations, MicroShift starts, which of `all` are present), booted in parallel.
    type Expectation = (String, Vec<Mutation>, bool, [bool; 6]);
    let expectations: Mutex<Vec<Expectation>> = Mutex::new(Vec::new());
    let check = |what: &str, mutations: &[Mutation], starts: bool, present: [bool; 6]| {
        expectations.lock().unwrap().push((what.to_string(), mutations.to_vec(), starts, present));
    };
    check("the good image", &[], true, [true; 6]);
    // A line `,` of a blank line fails its copy: under set -e the unit fails at once.
    check("a blank first line", &[Mutation::BlankLine { at: 0 }], false, [false; 6]);
    // `read` does not run its body for the last line without a newline: exit 0, dns not copied.
    check("no final newline", &[Mutation::DropFinalNewline], true, [true, true, true, true, true, false]);
    // skopeo refuses a copy whose manifest is not the digest its name pins: set -e stops there.
    check(
        "pod re-pointed to dns's copy",
        &[Mutation::RepointDigest { entry: 3, from: 4 }],
        false,
        [true, true, true, true, false, false],
    );
    // A missing directory stops the script at worker; with `-`, MicroShift starts all the same.
    check(
        "worker whited out, ExecStartPre=-",
        &[Mutation::WhiteoutCopy { entry: 1 }, Mutation::DashPrefix],
        true,
        [true, true, false, false, false, false],
    );
    // Without set -e the loop goes on, and its status is the last copy's.
    check(
        "worker whited out, no set -e",
        &[Mutation::WhiteoutCopy { entry: 1 }, Mutation::DropSetE { whole_line: false }],
        true,
        [true, true, false, true, true, true],
    );
    // An H without the newline, consistently: the script uses H as written, the copy is made.
    check(
        "a consistent echo -n H",
        &[Mutation::ChangeH { entry: 2, how: HChange::NoNewlineRenamed }],
        true,
        [true; 6],
    );
    // A foreign-architecture copy is copied (a single manifest), but cannot run here.
    check(
        "agent built for arm64",
        &[Mutation::ForeignArch { entry: 2 }],
        true,
        [true, true, true, false, true, true],
    );
    // CRLF: every H ends in \r, no directory matches: the first copy fails.
    check("CRLF", &[Mutation::CrlfLineEndings], false, [false; 6]);
    check("a script systemd cannot execute", &[Mutation::ScriptNotExecutable], false, [false; 6]);
    // A configured additional store (vfs) on the read-only /usr: found; not listed: not found.
    let store = Mutation::ToStore { entry: 1, driver: "vfs" };
    check("worker in a vfs store", std::slice::from_ref(&store), true, [true; 6]);
    // Without a lock file on the read-only /usr, skopeo 1.9.3's containers/storage cannot
    // open the store at all ("open .../images.lock: read-only file system"): not only the
    // store's images but every containers-storage copy and lookup fails.
    for which in [Locks::Images, Locks::Layers] {
        check(
            &format!("worker in a vfs store without {which:?} lock"),
            &[store.clone(), Mutation::RemoveLocks { which }],
            false,
            [false; 6],
        );
    }
    // Read with another driver, containers/storage tries to create `overlay-images/` in the
    // read-only store: the same failure of every copy and lookup.
    check(
        "worker in a vfs store read as overlay",
        &[store.clone(), Mutation::ChangeDriver],
        false,
        [false; 6],
    );
    check(
        "worker in an unlisted store",
        &[store, Mutation::UnlistStore { delete_conf: false }],
        true,
        [true, true, false, true, true, true],
    );
    let expectations = expectations.into_inner().unwrap();
    let next = AtomicUsize::new(0);
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                while let Some((what, mutations, starts, present)) = expectations.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let (boot, got) = boot_with(&h, mutations, &all);
                    if (boot.microshift_starts, got.as_slice()) != (*starts, present.as_slice()) {
                        failures.lock().unwrap().push(format!(
                            "{what}: expected MicroShift to {}, present {present:?}; got MicroShift {}, present {got:?}\n{:#?}\n{}",
                            if *starts { "start" } else { "fail" },
                            boot.startup(),
                            boot.lookups,
                            boot.log
                        ));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_oracle_reads_drop_ins_as_systemd_does() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let usr = root.join("usr/lib/systemd/system/microshift.service.d");
    let etc = root.join("etc/systemd/system/microshift.service.d");
    std::fs::create_dir_all(&usr).unwrap();
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(usr.join("10-a.conf"), "[Service]\nExecStartPre=/usr/bin/a copy\n").unwrap();
    std::fs::write(
        usr.join("20-b.conf"),
        "[Unit]\nExecStartPre=/not/service\n[Service]\nExecStartPre=-/usr/bin/b \"x y\"\n",
    )
    .unwrap();
    // /etc hides the same name in /usr/lib; an empty assignment clears the list so far.
    std::fs::write(etc.join("10-a.conf"), "[Service]\nExecStartPre=@/usr/bin/c\n").unwrap();
    std::fs::write(usr.join("30-c.conf"), "[Service]\nExecStartPre=\nExecStartPre=/usr/bin/d \\\n  --flag\n")
        .unwrap();
    let got: Vec<(bool, String, Vec<String>)> =
        device::exec_start_pre(root).into_iter().map(|c| (c.ignore_failure, c.path, c.args)).collect();
    assert_eq!(got, [(false, "/usr/bin/d".to_string(), vec!["--flag".to_string()])]);
    std::fs::remove_file(usr.join("30-c.conf")).unwrap();
    let got: Vec<(bool, String, Vec<String>)> =
        device::exec_start_pre(root).into_iter().map(|c| (c.ignore_failure, c.path, c.args)).collect();
    assert_eq!(
        got,
        [
            (false, "/usr/bin/c".to_string(), vec![]),
            (true, "/usr/bin/b".to_string(), vec!["x y".to_string()])
        ]
    );
}

#[test]
fn the_oracle_rebases_the_effective_storage_conf() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let work = root.join("work");
    // No storage.conf: the defaults, overlay.
    let s = device::storage(root, &work, true).unwrap();
    assert_eq!(s.driver, "overlay");
    assert!(s.conf.contains(&format!("graphroot = \"{}/graph\"", work.display())), "{}", s.conf);
    // /usr/share's only when /etc has none; they do not merge.
    std::fs::create_dir_all(root.join("usr/share/containers")).unwrap();
    std::fs::write(
        root.join("usr/share/containers/storage.conf"),
        "[storage]\ndriver = \"vfs\"\n[storage.options]\nadditionalimagestores = [\"/usr/lib/containers/storage\"]\n",
    )
    .unwrap();
    let s = device::storage(root, &work, false).unwrap();
    assert_eq!(
        (s.driver.as_str(), s.stores.as_slice()),
        ("vfs", ["/usr/lib/containers/storage".to_string()].as_slice())
    );
    assert!(s.conf.contains(&format!("\"{}/usr/lib/containers/storage\"", root.display())), "{}", s.conf);
    std::fs::create_dir_all(root.join("etc/containers")).unwrap();
    std::fs::write(root.join("etc/containers/storage.conf"), "[storage]\ndriver = \"overlay\"\n").unwrap();
    let s = device::storage(root, &work, true).unwrap();
    assert!(s.stores.is_empty());
    // Overlay unusable here: vfs for the writable store only; with stores read by overlay, not judged.
    assert!(device::storage(root, &work, false).unwrap().conf.contains("driver = \"vfs\""));
    std::fs::write(
        root.join("etc/containers/storage.conf"),
        "[storage]\n[storage.options]\nadditionalimagestores = [\"/usr/lib/containers/storage\"]\n",
    )
    .unwrap();
    assert!(device::storage(root, &work, false).is_err());
}

#[test]
fn mutations_are_reproducible() {
    let repo = oracle::repo();
    let base = Base::new(
        &repo.join("fixtures/audit/images/complete"),
        &repo.join("fixtures/audit/images/wrong-arch"),
    );
    assert_eq!(base.entries.len(), 5);
    assert_eq!(base.foreign_entries, [0, 1, 2], "web, worker and agent have arm64 builds");
    let a: Vec<_> = (0..50).map(|i| mutate::generate(7, i, &base)).collect();
    let b: Vec<_> = (0..50).map(|i| mutate::generate(7, i, &base)).collect();
    assert_eq!(a, b);
    assert_ne!(a, (0..50).map(|i| mutate::generate(8, i, &base)).collect::<Vec<_>>());
    // Every kind is drawn within the default 200 cases, and each case has 1–4 mutations
    // (3 drawn + the store a store mutation brings).
    let kinds: std::collections::BTreeSet<&str> =
        (0..200).flat_map(|i| mutate::generate(DEFAULT_SEED, i, &base)).map(|m| m.kind()).collect();
    assert_eq!(kinds.len(), 23, "{kinds:?}");
    assert!((0..200).map(|i| mutate::generate(DEFAULT_SEED, i, &base).len()).all(|n| (1..=4).contains(&n)));
}

/// The per-reference verdicts of `check --format json`'s `references` (issue 15's contract),
/// read from a stand-in for stowage that prints them.
#[test]
fn the_oracle_reads_the_references_of_check() {
    let dir = tempfile::tempdir().unwrap();
    let json = serde_json::json!({
        "schema_version": 1,
        "findings": [],
        "references": [
            {"image": "quay.io/a:1", "resolved": "quay.io/a:1", "kind": "runtime", "origin": "quadlet-image",
             "location": {"file": "/a.container", "line": 2, "column": 7},
             "embedded": {"method": "dir", "path": "/usr/lib/containers/storage/x", "digest": "sha256:ab"}},
            {"image": "quay.io/b:1", "resolved": "quay.io/b:1", "kind": "release", "origin": "microshift-release",
             "location": {"file": "/r.json", "line": 3, "column": 9},
             "missing": {"reason": "copy-not-reached", "message": "never copied"}},
            {"image": "quay.io/c:1", "resolved": "quay.io/c:1", "kind": "build", "origin": "containerfile-from",
             "location": {"file": "/Containerfile", "line": 1, "column": 6}}
        ],
        "summary": {"readiness": {"referenced": 2, "embedded": 1, "missing": 1, "unresolved": 0, "verdict": "not ready"}}
    });
    let bin = dir.path().join("stowage");
    std::fs::write(&bin, format!("#!/bin/sh\ncat <<'EOF'\n{json}\nEOF\nexit 1\n")).unwrap();
    std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let v = oracle::verdict::judge(&bin, "rootfs:/x", ARCH, &[], dir.path()).unwrap();
    assert!(v.contract && !v.ready);
    let got: Vec<(&str, bool, Option<&str>)> =
        v.judged.iter().map(|j| (j.resolved.as_str(), j.embedded, j.digest.as_deref())).collect();
    assert_eq!(got, [("quay.io/a:1", true, Some("sha256:ab")), ("quay.io/b:1", false, None)]);
    assert!(v.judged[1].detail.contains("copy-not-reached"), "{}", v.judged[1].detail);
}

//! Replays, without the fuzzer and on stable, every input the fuzz targets once failed on
//! (`fuzz/regressions/TARGET/*`) and their seeds (`fuzz/corpus/TARGET/seed-*`), through the same
//! function the target calls (`fuzz/src/lib.rs`, included here): no panic, no broken property,
//! within a time bound. `tests/regressions.rs` also runs the Containerfile ones through the
//! command line.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod harness;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One input of a debug build: the slowest seeds take well under a second.
const TIME_LIMIT: Duration = Duration::from_secs(30);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `(target, file)` for every file under `dir/TARGET/` whose name `keep` accepts.
fn inputs(dir: &str, keep: impl Fn(&str) -> bool) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let Ok(kinds) = std::fs::read_dir(root().join(dir)) else { return out };
    for kind in kinds.flatten() {
        let name = kind.file_name().to_string_lossy().into_owned();
        if !kind.path().is_dir() || harness::target(&name).is_none() {
            continue;
        }
        for file in std::fs::read_dir(kind.path()).unwrap().flatten() {
            if keep(&file.file_name().to_string_lossy()) {
                out.push((name.clone(), file.path()));
            }
        }
    }
    out.sort();
    out
}

fn replay(cases: &[(String, PathBuf)]) {
    let mut failed = Vec::new();
    for (target, path) in cases {
        let data = std::fs::read(path).unwrap();
        let run = harness::target(target).unwrap();
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(|| run(&data));
        let elapsed = started.elapsed();
        let shown = path.strip_prefix(root()).unwrap_or(path).display().to_string();
        match outcome {
            Err(e) => {
                let why = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failed.push(format!("{shown}: panicked: {why}"));
            }
            Ok(()) if elapsed > TIME_LIMIT => failed.push(format!("{shown}: took {elapsed:?}")),
            Ok(()) => {}
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn every_regression_directory_names_a_target() {
    for kind in std::fs::read_dir(root().join("fuzz/regressions")).unwrap().flatten() {
        let name = kind.file_name().to_string_lossy().into_owned();
        // `kustomize/` holds tree descriptions, replayed by tests/kustomize_limits.rs.
        if kind.path().is_dir() && name != "kustomize" {
            assert!(harness::target(&name).is_some(), "fuzz/regressions/{name}/ is no fuzz target");
        }
    }
}

#[test]
fn fuzz_regression_inputs_replay_cleanly() {
    let cases = inputs("fuzz/regressions", |_| true);
    assert!(!cases.is_empty(), "no fuzz regression inputs found");
    replay(&cases);
}

#[test]
fn fuzz_seeds_replay_cleanly() {
    let cases = inputs("fuzz/corpus", |name| name.starts_with("seed-"));
    assert!(cases.len() > 100, "only {} seeds: run fuzz/seed.sh", cases.len());
    for (target, _) in harness::TARGETS {
        assert!(cases.iter().any(|(t, _)| t == target), "no seed for {target}");
    }
    replay(&cases);
}

#[test]
fn bundles_split_into_files() {
    let files = harness::bundle("ignored\n=== a.yaml\nx: 1\n\n=== dir b\n=== c\nlast\n");
    assert_eq!(
        files,
        [("a.yaml".into(), "x: 1\n".into()), ("dir b".into(), String::new()), ("c".into(), "last\n".into())]
    );
}

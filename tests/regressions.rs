//! Replays `fuzz/regressions/`: inputs that once crashed, hung or exhausted stowage. Each runs
//! through the command line as a CI gate runs it (`stowage check FILE`, `stowage refs FILE`),
//! in a child process with a time limit and, on Linux, a memory limit (`ulimit -v`), so a
//! regression fails these tests instead of taking the machine down with it.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// Every input, by its path under `fuzz/regressions/`: the finding it must produce (rule,
/// `line:column`, part of the message). Add a line with each new input.
const EXPECTED: &[(&str, &str, &str, &str)] = &[
    // Issue 17: forty doublings of an 8-byte ARG (8 TiB); A18 is the first over 1 MiB.
    (
        "containerfile/issue-17-arg-doubling-40.containerfile",
        "unparsable-file",
        "19:5",
        "substitutions would insert more than 1 MiB into one word",
    ),
    // The smallest doubling that reaches the bound: A0..A18.
    (
        "containerfile/issue-17-arg-doubling-18.containerfile",
        "unparsable-file",
        "19:5",
        "substitutions would insert more than 1 MiB into one word",
    ),
    // The same with ENV in a stage.
    ("containerfile/env-doubling.containerfile", "unparsable-file", "20:5", "more than 1 MiB into one word"),
    // The same through `${UNSET:-$A}${A:+${A}}`.
    (
        "containerfile/default-alternative-doubling.containerfile",
        "unparsable-file",
        "19:5",
        "more than 1 MiB into one word",
    ),
    // `${A16//?/$A16}`: each of 512 Ki characters replaced by 512 KiB.
    (
        "containerfile/replace-amplification.containerfile",
        "unparsable-file",
        "18:5",
        "more than 1 MiB into one word",
    ),
    // `${A16#$P}` with a 256 KiB pattern: n × m steps (and, before, a copy of the value per try).
    (
        "containerfile/pattern-steps.containerfile",
        "unparsable-file",
        "19:5",
        "pattern matching would take more than 100000000 steps",
    ),
    // `${X:-` 100 deep (200,000 deep overflowed the parser's stack).
    (
        "containerfile/nested-substitution-depth.containerfile",
        "unparsable-file",
        "1:6",
        "more than 64 nested",
    ),
    // A RUN script naming a 1 MiB ARG 4096 times: 4 GiB, and 8 bytes of offsets per character.
    (
        "containerfile/run-script-amplification.containerfile",
        "unparsable-file",
        "20:1",
        "more than 16 MiB into this file's words in all",
    ),
    // 2000 stages built on a stage whose ENV holds 13 MiB: each copied it (26 GiB), where
    // they now share it; the last line then overflows a word.
    (
        "containerfile/stage-env-inheritance.containerfile",
        "unparsable-file",
        "2034:5",
        "more than 1 MiB into one word",
    ),
    // 10,000 RUN lines in a stage whose ARGs hold 13 MiB: each copied the scope (130 GB of
    // copying, 13 s per 1,000 lines in a debug build), where they now read it in place.
    (
        "containerfile/run-scope-copies.containerfile",
        "unparsable-file",
        "10034:5",
        "more than 1 MiB into one word",
    ),
];

/// Far above what these inputs need now (a fraction of a second, ~30 MiB resident in a debug
/// build), far below what they took before (killed for memory, or minutes).
const TIME_LIMIT: Duration = Duration::from_secs(120);
const ADDRESS_SPACE_KIB: u64 = 1024 * 1024;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The kinds of `fuzz/regressions/` that are source files `stowage check` reads as they are
/// (`kustomize/` holds tree descriptions, replayed by `tests/kustomize_limits.rs`; every kind,
/// these included, is also replayed through its fuzz target by `tests/fuzz_regressions.rs`).
const CLI_KINDS: &[&str] = &["containerfile"];

/// Every input file this test replays, as `KIND/NAME` under `fuzz/regressions/`.
fn inputs() -> Vec<String> {
    let dir = root().join("fuzz/regressions");
    let mut out = Vec::new();
    for kind in std::fs::read_dir(&dir).expect("fuzz/regressions exists") {
        let kind = kind.unwrap().path();
        if !kind.is_dir() || !CLI_KINDS.iter().any(|k| kind.ends_with(k)) {
            continue;
        }
        for file in std::fs::read_dir(&kind).unwrap() {
            let file = file.unwrap().path();
            out.push(file.strip_prefix(&dir).unwrap().to_string_lossy().replace('\\', "/"));
        }
    }
    out.sort();
    out
}

/// `stowage ARGS`, bounded in time and (on Linux) in address space.
fn bounded(args: &[&str]) -> std::process::Output {
    let bin = assert_cmd::cargo::cargo_bin("stowage");
    let mut cmd = if cfg!(target_os = "linux") {
        let mut sh = Command::new("sh");
        sh.arg("-c").arg(format!("ulimit -v {ADDRESS_SPACE_KIB} && exec \"$0\" \"$@\"")).arg(bin);
        sh
    } else {
        Command::new(bin)
    };
    cmd.current_dir(root())
        // Fewer parser threads, each reserving its stack: the address space stays predictable.
        .env("RAYON_NUM_THREADS", "2")
        .env("NO_COLOR", "1")
        .args(args)
        .timeout(TIME_LIMIT)
        .output()
        .expect("runs")
}

fn describe(out: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    format!("status {:?}, stderr: {}", out.status, &stderr[..stderr.len().min(2000)])
}

#[test]
fn every_regression_input_has_an_expectation() {
    let listed: Vec<String> = EXPECTED.iter().map(|e| e.0.to_string()).collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(inputs(), sorted, "fuzz/regressions/ and EXPECTED list different files");
}

#[test]
fn regression_inputs_fail_the_check_at_the_position_that_overflows() {
    for &(input, rule, at, message) in EXPECTED {
        let path = format!("fuzz/regressions/{input}");
        let started = std::time::Instant::now();
        let out = bounded(&["check", "--no-config", "--format", "json", &path]);
        let elapsed = started.elapsed();
        // Exit 1: findings; not 2 (could not analyse), not a signal (aborted, killed).
        assert_eq!(out.status.code(), Some(1), "{input}: {}", describe(&out));
        // Nothing of the expansion reaches the report.
        assert!(out.stdout.len() < 64 * 1024, "{input}: {} bytes of output", out.stdout.len());
        let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let findings = json["findings"].as_array().expect("findings");
        let found = findings.iter().find(|f| {
            let loc = &f["location"];
            f["rule"] == rule
                && loc["file"] == path.as_str()
                && format!("{}:{}", loc["line"], loc["column"]) == at
                && f["message"].as_str().is_some_and(|m| m.contains(message))
        });
        assert!(found.is_some(), "{input}: no {rule} at {at} with {message:?} in {findings:#?}");
        assert!(elapsed < TIME_LIMIT, "{input}: {elapsed:?}");
    }
}

#[test]
fn regression_inputs_resolve_to_bounded_references() {
    let bound = stowage::source::args::MAX_WORD_EXPANSION;
    for &(input, ..) in EXPECTED {
        let path = format!("fuzz/regressions/{input}");
        let size = std::fs::metadata(root().join(&path)).unwrap().len() as usize;
        let out = bounded(&["refs", "--no-config", "--format", "json", &path]);
        assert_eq!(out.status.code(), Some(0), "{input}: {}", describe(&out));
        let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let mut longest = 0;
        longest_string(&json, &mut longest);
        // What a reference resolves to is at most its text plus what one word may insert.
        assert!(longest <= size + bound, "{input}: a string of {longest} bytes");
    }
}

fn longest_string(v: &Value, longest: &mut usize) {
    match v {
        Value::String(s) => *longest = (*longest).max(s.len()),
        Value::Array(a) => a.iter().for_each(|v| longest_string(v, longest)),
        Value::Object(o) => o.values().for_each(|v| longest_string(v, longest)),
        _ => {}
    }
}

#[test]
fn the_bound_leaves_real_containerfiles_alone() {
    // The repository's own Containerfiles and fixtures: no substitution comes near a limit.
    let out =
        bounded(&["check", "--no-config", "--format", "json", "fixtures/demo", "examples", "Containerfile"]);
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let stopped: Vec<&Value> = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["message"].as_str().is_some_and(|m| m.contains("variable substitution stopped")))
        .collect();
    assert!(stopped.is_empty(), "{stopped:#?}");
}

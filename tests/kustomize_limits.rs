//! The bounds of the kustomize build (README "Limits"), replayed from the regression inputs in
//! fuzz/regressions/kustomize: each is a tree of thousands of directories, generated here into a
//! temporary directory and checked by the stowage binary under an address-space limit and a
//! time limit, so a build that grows without bound fails the test instead of the machine.

#![cfg(target_os = "linux")]

use assert_cmd::Command;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

const CASES: &str = "fuzz/regressions/kustomize";
/// The address space the binary gets (`ulimit -v`, KiB): a few hundred MiB are thread stacks
/// and malloc arenas reserved but not used; the largest case peaks near 1 GiB of heap.
const ADDRESS_SPACE_KIB: u64 = 3 * 1024 * 1024;
const TIME_LIMIT: Duration = Duration::from_secs(180);

fn deployment(name: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: quay.io/acme/app@sha256:{:064}\n",
        0
    )
}

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The tree a case describes (its README gives the shapes).
fn generate(root: &Path, tree: &Value) {
    let depth = tree["depth"].as_u64().expect("tree.depth");
    write(root, "l0/kustomization.yaml", "resources:\n  - deploy.yaml\n");
    write(root, "l0/deploy.yaml", &deployment("app"));
    for i in 1..=depth {
        match tree["shape"].as_str() {
            Some("chain") => {
                let mut k = format!("resources:\n  - ../l{}\n", i - 1);
                if tree["resource_per_level"].as_bool().unwrap_or(false) {
                    k.push_str("  - deploy.yaml\n");
                    write(root, &format!("l{i}/deploy.yaml"), &deployment(&format!("app{i}")));
                }
                k.push_str(&format!("namePrefix: p{i}-\n"));
                write(root, &format!("l{i}/kustomization.yaml"), &k);
            }
            Some("doubling") => {
                for side in ["a", "b"] {
                    let k = format!("resources:\n  - ../l{}\nnamePrefix: {side}-\n", i - 1);
                    write(root, &format!("{side}{i}/kustomization.yaml"), &k);
                }
                let k = format!("resources:\n  - ../a{i}\n  - ../b{i}\n");
                write(root, &format!("l{i}/kustomization.yaml"), &k);
            }
            other => panic!("unknown tree shape {other:?}"),
        }
    }
}

/// `stowage check PATH --format json` in `root`, bounded: the exit status (`None`: killed, e.g.
/// aborted on allocation) and the findings as `RULE FILE:LINE:COLUMN` with their messages.
fn check(root: &Path, path: &str) -> (Option<i32>, Vec<(String, String)>, String) {
    // `STOWAGE_BIN` replays the inputs against another build (an older release, say).
    let bin =
        std::env::var_os("STOWAGE_BIN").map_or_else(|| assert_cmd::cargo::cargo_bin("stowage"), Into::into);
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {ADDRESS_SPACE_KIB} && exec \"$0\" \"$@\""))
        .arg(&bin)
        .args(["check", path, "--format", "json", "--no-config"])
        .current_dir(root)
        .env("RAYON_NUM_THREADS", "2")
        .env("MALLOC_ARENA_MAX", "2")
        .timeout(TIME_LIMIT)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).chars().take(2000).collect();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let findings = json["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let l = &f["location"];
            let at = format!(
                "{} {}:{}:{}",
                f["rule"].as_str().unwrap_or(""),
                l["file"].as_str().unwrap_or(""),
                l["line"],
                l["column"]
            );
            (at, f["message"].as_str().unwrap_or("").to_string())
        })
        .collect();
    (out.status.code(), findings, stderr)
}

fn cases() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(CASES);
    let mut cases: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let case = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), case)
        })
        .collect();
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    cases
}

/// Every regression input finishes within the limits with its exit status and findings: the
/// chains of issue 17 (3,000 nested overlays: the finding at the entry 1,000 levels down; 1,000
/// levels each adding a Deployment: built, no finding) and a build that doubles at each level
/// (the finding where it holds more than 50,000 resources).
#[test]
fn every_kustomize_regression_input_stays_within_the_limits() {
    let cases = cases();
    assert!(cases.len() >= 4, "regression inputs missing from {CASES}: {cases:?}");
    let mut failures = Vec::new();
    // Cases on the same tree share it (writing thousands of directories is quick, removing them
    // is not).
    let mut trees: HashMap<String, tempfile::TempDir> = HashMap::new();
    for (name, case) in &cases {
        let tmp = trees.entry(case["tree"].to_string()).or_insert_with(|| {
            let tmp = tempfile::tempdir().unwrap();
            generate(tmp.path(), &case["tree"]);
            tmp
        });
        let (code, findings, stderr) = check(tmp.path(), case["check"].as_str().expect("check"));
        let want_code = case["exit"].as_i64().map(|c| c as i32);
        let want: Vec<&str> = case["findings"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        let got: Vec<&str> = findings.iter().map(|(at, _)| at.as_str()).collect();
        if code != want_code || got != want {
            failures.push(format!(
                "{name}: exit {code:?}, findings {got:?}; want exit {want_code:?}, {want:?}\n{stderr}"
            ));
            continue;
        }
        for text in case["message_contains"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            for (at, message) in &findings {
                if !message.contains(text) {
                    failures.push(format!("{name}: {at}: `{message}` does not say `{text}`"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The README's "Limits" table gives the bounds the code enforces.
#[test]
fn the_limits_table_gives_the_enforced_bounds() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme.find("\n## Limits\n").expect("a Limits section") + 1;
    let limits = &readme[start..];
    let limits = &limits[..limits[1..].find("\n## ").map_or(limits.len(), |end| end + 1)];
    let thousands = |n: usize| {
        let digits = n.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    for bound in [stowage::resolve::kustomize::MAX_NESTING, stowage::resolve::kustomize::MAX_RESOURCES] {
        assert!(
            limits.contains(&format!("| {} ", thousands(bound))),
            "README Limits lacks {}",
            thousands(bound)
        );
    }
}

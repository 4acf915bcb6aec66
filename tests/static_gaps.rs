//! What static mode (`refs PATH`, `check PATH`, `plan`) counts as deployed, against what the
//! reference tools deploy: fixtures/static/<case>/repo is the tree walked, and
//! fixtures/static/<case>/expected.yaml is `kubectl kustomize` output (written by
//! fixtures/static/regenerate.sh, following the case's `truth` file). The runtime references
//! stowage reports are the images of that output, one for one:
//! - `components`: the microservices-demo shape — Components nothing enables are never roots,
//!   and neither their manifests nor a resource commented out of `resources` are deployed;
//! - `json`: Kubernetes manifests written as JSON, listed by a kustomization or not;
//! - `quadlet`: a manifest a `.kube` unit plays is deployed though its kustomization leaves it
//!   out;
//! - `microshift`: a directory MicroShift applies that holds a Component, and a file beside a
//!   kustomization MicroShift applies;
//! - `release-arch` (no kustomize): MicroShift release files follow `--arch`.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;
use stowage::text::SourceText;

const CASES: &str = "fixtures/static";

/// `stowage SUBCOMMAND --no-config`, run from the crate root.
fn stowage(subcommand: &str) -> Command {
    let mut cmd = Command::cargo_bin("stowage").expect("the stowage binary is built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).args([subcommand, "--no-config"]);
    cmd
}

/// `stowage SUBCOMMAND --no-config ARGS --format json`, parsed.
fn json(subcommand: &str, args: &[&str]) -> Value {
    let out = stowage(subcommand).args(args).args(["--format", "json"]).output().expect("runs");
    assert!(matches!(out.status.code(), Some(0 | 1)), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn repo(case: &str) -> String {
    format!("{CASES}/{case}/repo")
}

/// The resolved runtime references `refs` reports, sorted (one per container, as kubectl
/// builds one object per container).
fn runtime_references(case: &str) -> Vec<String> {
    let refs = json("refs", &[&repo(case)]);
    let mut out: Vec<String> = refs["references"]
        .as_array()
        .expect("references")
        .iter()
        .filter(|r| r["kind"] == "runtime")
        .map(|r| r["resolved"].as_str().unwrap_or("(unresolved)").to_string())
        .collect();
    out.sort();
    out
}

/// The images of the case's expected.yaml, normalised as stowage resolves them, sorted.
fn expected_images(case: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(CASES).join(case).join("expected.yaml");
    let text = std::fs::read_to_string(&path).expect("expected.yaml");
    let m = stowage::source::manifest::parse(&SourceText::from_str(&path.to_string_lossy(), &text));
    assert!(m.problems.is_empty(), "{}: {:?}", path.display(), m.problems);
    let mut out: Vec<String> = m
        .references
        .iter()
        .map(|r| r.resolved.as_ref().map_or_else(|| "(unresolved)".to_string(), |i| i.to_string()))
        .collect();
    out.sort();
    out
}

/// `(rule, file:line:column, message)` of the findings of `check` over the case.
fn findings(case: &str, args: &[&str]) -> Vec<(String, String, String)> {
    let mut all = vec![repo(case)];
    all.extend(args.iter().map(|a| a.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let check = json("check", &all);
    check["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let at = &f["location"];
            (
                f["rule"].as_str().unwrap_or("").to_string(),
                format!("{}:{}:{}", at["file"].as_str().unwrap_or(""), at["line"], at["column"]),
                f["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn of_rule<'f>(found: &'f [(String, String, String)], rule: &str) -> Vec<(&'f str, &'f str)> {
    found.iter().filter(|f| f.0 == rule).map(|f| (f.1.as_str(), f.2.as_str())).collect()
}

const KUSTOMIZE_CASES: [&str; 4] = ["components", "json", "microshift", "quadlet"];

#[test]
fn every_case_deploys_the_images_the_reference_tools_build() {
    let mut failures = Vec::new();
    for case in KUSTOMIZE_CASES {
        let (got, want) = (runtime_references(case), expected_images(case));
        if got != want {
            failures.push(format!("{case}:\n  stowage: {got:?}\n  kubectl: {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// With kubectl at hand, the committed outputs are still what it builds (kubectl is optional:
/// the comparison above runs on the committed files).
#[test]
fn expected_outputs_are_what_kubectl_builds_today() {
    let kubectl = std::process::Command::new("kubectl").args(["version", "--client"]).output();
    if !kubectl.is_ok_and(|o| o.status.success()) {
        eprintln!("SKIP: kubectl is not installed; the committed expected.yaml files are taken as they are");
        return;
    }
    let scratch = tempfile::tempdir().expect("temp dir");
    let copy = std::process::Command::new("cp")
        .args(["-r", CASES])
        .arg(scratch.path().join("static"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cp runs");
    assert!(copy.success());
    let regenerated = std::process::Command::new("sh")
        .arg(scratch.path().join("static/regenerate.sh"))
        .output()
        .expect("regenerate.sh runs");
    assert!(regenerated.status.success(), "{}", String::from_utf8_lossy(&regenerated.stderr));
    for case in KUSTOMIZE_CASES {
        let read =
            |root: &Path| std::fs::read_to_string(root.join(case).join("expected.yaml")).expect("read");
        let committed = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join(CASES));
        assert_eq!(
            read(&scratch.path().join("static")),
            committed,
            "{case}: run fixtures/static/regenerate.sh"
        );
    }
}

/// GoogleCloudPlatform/microservices-demo's shape: a root enabling one Component, the others
/// commented out, and a resource commented out of the base. One info per directory left out,
/// none for a Component without images, and no error for a Component built on its own.
#[test]
fn components_nothing_enables_and_unlisted_resources_are_not_deployed() {
    let found = findings("components", &[]);
    let unbuildable = of_rule(&found, "kustomization-unbuildable");
    assert!(unbuildable.is_empty(), "{unbuildable:?}");
    let k = "fixtures/static/components/repo/kustomize";
    assert_eq!(
        of_rule(&found, "manifests-not-built"),
        [
            (
                format!("{k}/base/kustomization.yaml:4:3").as_str(),
                format!(
                    "`{k}/base/kustomization.yaml` does not list `loadgenerator.yaml`, and applying the directory \
                     applies its kustomization only: it is not deployed, so its 2 images are not counted as runtime \
                     references"
                )
                .as_str()
            ),
            (
                format!("{k}/components/assistant/kustomization.yaml:4:7").as_str(),
                format!(
                    "`{k}/components/assistant` is a kustomize Component that no kustomization enables under \
                     `components`, so `assistant.yaml` and `db/database.yaml` are never built: their 2 images are \
                     not counted as runtime references"
                )
                .as_str()
            ),
            (
                format!("{k}/components/otel/kustomization.yaml:3:7").as_str(),
                format!(
                    "`{k}/components/otel` is a kustomize Component that no kustomization enables under \
                     `components`, so `otel-collector.yaml` is never built: its 2 images are not counted as \
                     runtime references"
                )
                .as_str()
            ),
            (
                format!("{k}/extras/kustomization.yaml:5:3").as_str(),
                format!(
                    "`{k}/extras` is used only by kustomize Components that no kustomization enables, so \
                     `cache.yaml` is never built: its image is not counted as a runtime reference"
                )
                .as_str()
            ),
        ]
    );
    let plan = stowage("plan").arg(repo("components")).output().expect("runs");
    assert_eq!(
        String::from_utf8_lossy(&plan.stdout),
        "docker.io/library/redis:alpine\nregistry.local/boutique/cart:v0.10.6\nregistry.local/boutique/frontend:v0.10.6\n"
    );
}

/// JSON manifests are read where they are written; other JSON files are not sources at all.
#[test]
fn json_manifests_are_manifests_and_other_json_files_are_ignored() {
    let refs = json("refs", &[&repo("json")]);
    let located: Vec<String> = refs["references"]
        .as_array()
        .expect("references")
        .iter()
        .map(|r| {
            let at = &r["location"];
            format!(
                "{}:{}:{} {} -> {}",
                at["file"].as_str().unwrap_or("").trim_start_matches("fixtures/static/json/repo/"),
                at["line"],
                at["column"],
                r["image"].as_str().unwrap_or(""),
                r["resolved"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        located,
        [
            "kustomized/api.json:15:23 quay.io/acme/api:2.0 -> quay.io/acme/api:2.1",
            "kustomized/worker.yaml:8:14 quay.io/acme/worker:1.4 -> quay.io/acme/worker:1.4",
            "plain/list.json:1:144 quay.io/acme/probe:3 -> quay.io/acme/probe:3",
            "plain/web.json:10:31 quay.io/acme/web:1.0 -> quay.io/acme/web:1.0",
            "plain/web.json:11:35 quay.io/acme/sidecar:2.0 -> quay.io/acme/sidecar:2.0",
        ]
    );
    let check = json("check", &[&repo("json")]);
    // kustomization.yaml, api.json, worker.yaml, unlisted.json, list.json, web.json: not
    // package.json, the top-level array, nor the file that is not JSON at all.
    assert_eq!(check["summary"]["files"], 6, "{}", check["summary"]);
    let found = findings("json", &[]);
    let about_others: Vec<_> = found
        .iter()
        .filter(|f| ["package.json", "not-an-object.json", "broken.json"].iter().any(|n| f.1.contains(n)))
        .collect();
    assert!(about_others.is_empty(), "{about_others:?}");
    let not_built = of_rule(&found, "manifests-not-built");
    assert_eq!(not_built.len(), 1, "{not_built:?}");
    assert!(not_built[0].1.contains("does not list `unlisted.json`"), "{not_built:?}");
}

#[test]
fn a_manifest_a_kube_unit_plays_is_deployed_beside_a_kustomization() {
    let found = findings("quadlet", &[]);
    let not_built = of_rule(&found, "manifests-not-built");
    assert_eq!(not_built.len(), 1, "{not_built:?}");
    assert!(not_built[0].1.contains("does not list `old.yaml`,"), "{not_built:?}");
}

/// MicroShift applies each directory of manifests.d: a Component there is built on its own
/// (as `kubectl kustomize` builds it); a file beside a kustomization MicroShift applies has
/// its `manifests-not-applied` warning, not a second finding, and is not deployed.
#[test]
fn microshift_directories_follow_the_same_rules() {
    let found = findings("microshift", &[]);
    let unbuildable = of_rule(&found, "kustomization-unbuildable");
    assert!(unbuildable.is_empty(), "{unbuildable:?}");
    assert!(of_rule(&found, "manifests-not-built").is_empty(), "{found:?}");
    let not_applied = of_rule(&found, "manifests-not-applied");
    let files: Vec<&str> = not_applied.iter().map(|f| f.0).collect();
    assert_eq!(files, ["fixtures/static/microshift/repo/usr/lib/microshift/manifests.d/app/unused.yaml:1:1"]);
}

/// The same inside a built image (`--image rootfs:DIR`): the Component MicroShift applies is
/// built without an issue, the file its neighbour's kustomization leaves out is not a
/// reference, and `manifests-not-applied` says so.
#[test]
fn microshift_directories_inside_an_image_follow_the_same_rules() {
    let rootfs = tempfile::tempdir().expect("temp dir");
    let copy = std::process::Command::new("cp")
        .args(["-r", &format!("{}/usr", repo("microshift"))])
        .arg(rootfs.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cp runs");
    assert!(copy.success());
    let image = format!("rootfs:{}", rootfs.path().display());
    let refs = json("refs", &["--image", &image]);
    let mut images: Vec<&str> = refs["references"]
        .as_array()
        .expect("references")
        .iter()
        .filter(|r| r["kind"] == "runtime")
        .filter_map(|r| r["resolved"].as_str())
        .collect();
    images.sort();
    assert_eq!(images, expected_images("microshift"));
    let check = json("check", &["--image", &image]);
    let rules: Vec<(&str, &str)> = check["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| {
            f["rule"].as_str().is_some_and(|r| r.starts_with("manifests-") || r.starts_with("kustomization"))
        })
        .map(|f| (f["rule"].as_str().unwrap_or(""), f["location"]["file"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(rules, [("manifests-not-applied", "/usr/lib/microshift/manifests.d/app/unused.yaml")]);
}

fn plan(args: &[&str]) -> Vec<String> {
    let repo = repo("release-arch");
    let out = stowage("plan").arg(&repo).args(args).output().expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.rsplit('@').next().unwrap_or(l).to_string())
        .collect()
}

fn digests(ns: &[u32]) -> Vec<String> {
    ns.iter().map(|n| format!("sha256:{n:064}")).collect()
}

/// `release-x86_64.json`, `release-aarch64.json` and their `olm` components side by side:
/// `--arch` (any spelling, or the configuration's `arch`) takes those of one architecture;
/// without it, static mode takes every release file it finds.
#[test]
fn release_files_follow_the_architecture_asked_for() {
    let amd64 = digests(&[1, 2, 3]);
    let arm64 = digests(&[11, 12, 13]);
    assert_eq!(plan(&["--arch", "amd64"]), amd64);
    assert_eq!(plan(&["--arch", "x86_64"]), amd64);
    assert_eq!(plan(&["--arch", "linux/arm64"]), arm64);
    assert_eq!(plan(&[]), [amd64.clone(), arm64.clone()].concat());
    let configured = tempfile::tempdir().expect("temp dir");
    let config = configured.path().join("stowage.yaml");
    std::fs::write(&config, "arch: arm64\n").expect("writes");
    let out = Command::cargo_bin("stowage")
        .expect("built")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["plan", &repo("release-arch"), "--config"])
        .arg(&config)
        .output()
        .expect("runs");
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.rsplit('@').next().unwrap_or(l).to_string())
        .collect();
    assert_eq!(lines, arm64);
    for (arch, want) in [("arm64", 3), ("amd64", 3)] {
        let check = json("check", &[&repo("release-arch"), "--arch", arch]);
        assert_eq!(check["summary"]["references"], want, "{arch}: {}", check["summary"]);
    }
    let check = json("check", &[&repo("release-arch")]);
    assert_eq!(check["summary"]["references"], 6, "{}", check["summary"]);
}

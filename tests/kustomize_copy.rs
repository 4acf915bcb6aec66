//! Repository directories judged where the Containerfile copies them in the image
//! (fixtures/kustomize-copy, fixtures/demo): `manifests-not-applied` and the kustomize roots
//! MicroShift applies.

use assert_cmd::Command;
use serde_json::Value;
use stowage::source::BuildOptions;
use stowage::source::discover::{AppliedDir, gather};

fn stowage() -> Command {
    let mut cmd = Command::cargo_bin("stowage").expect("the stowage binary is built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

fn json(args: &[&str]) -> Value {
    let out = stowage().args(args).args(["--format", "json"]).output().expect("runs");
    assert!(matches!(out.status.code(), Some(0 | 1)), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The directories MicroShift applies, as `check PATH` run from the crate root sees them
/// (integration tests run there).
fn applied(path: &str) -> Vec<AppliedDir> {
    gather(&[path.into()], &BuildOptions::default()).expect("walks").applied_kustomizations
}

#[test]
fn a_copied_directory_without_kustomization_is_not_applied() {
    let check = json(&["check", "fixtures/kustomize-copy"]);
    let findings: Vec<(String, String, String)> = check["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "manifests-not-applied")
        .map(|f| {
            (
                f["location"]["file"].as_str().unwrap_or("").to_string(),
                f["location"]["line"].to_string(),
                f["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let (file, line, message) = &findings[0];
    assert_eq!(file, "fixtures/kustomize-copy/apps/bare/deployment.yaml");
    assert_eq!(line, "1");
    assert!(
        message.contains("`/usr/lib/microshift/manifests.d/bare`") && message.contains("no kustomization"),
        "{message}"
    );
}

#[test]
fn copied_kustomizations_microshift_applies_are_roots() {
    assert_eq!(
        applied("fixtures/kustomize-copy"),
        [
            AppliedDir {
                dir: "fixtures/kustomize-copy/apps/web".into(),
                in_image: "/usr/lib/microshift/manifests.d/web".into(),
            },
            AppliedDir {
                dir: "fixtures/kustomize-copy/apps/web-prod".into(),
                in_image: "/usr/lib/microshift/manifests.d/web-prod".into(),
            },
        ]
    );
    // web is used by web-prod, but MicroShift applies it too: both builds are reported.
    let refs = json(&["refs", "fixtures/kustomize-copy"]);
    let mut resolved: Vec<&str> = refs["references"]
        .as_array()
        .expect("references")
        .iter()
        .filter_map(|r| r["resolved"].as_str())
        .filter(|r| r.starts_with("quay.io/acme/"))
        .collect();
    resolved.sort();
    assert_eq!(
        resolved,
        ["quay.io/acme/bare:1.0", "quay.io/acme/extras:1.0", "quay.io/acme/web:1.0", "quay.io/acme/web:2.0"]
    );
}

#[test]
fn the_demo_manifests_are_applied_where_the_containerfile_copies_them() {
    assert_eq!(
        applied("fixtures/demo"),
        [AppliedDir {
            dir: "fixtures/demo/manifests".into(),
            in_image: "/usr/lib/microshift/manifests.d/acme".into(),
        }]
    );
    let check = json(&["check", "fixtures/demo"]);
    let not_applied = check["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "manifests-not-applied")
        .count();
    assert_eq!(not_applied, 0);
}

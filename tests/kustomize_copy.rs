//! Repository directories judged where the Containerfile copies them in the image
//! (fixtures/kustomize-copy, fixtures/demo): `manifests-not-applied` and the kustomize roots
//! MicroShift applies.

use assert_cmd::Command;
use serde_json::Value;
use stowage::gather::discover::gather;
use stowage::gather::placement::AppliedDir;
use stowage::source::BuildOptions;

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

/// A repository whose bootc Containerfile is built from the repository root
/// (`podman build -f images/bootc/Containerfile .`): its COPY sources are root-relative.
/// `deploy/app` has a kustomization, `deploy/bare` none.
fn root_context_repo(config: Option<&str>) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    let write = |path: &str, text: &str| {
        let full = tmp.path().join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, text).expect("write");
    };
    write(
        "images/bootc/Containerfile",
        "FROM quay.io/fedora/fedora-bootc:42\nCOPY deploy/app/ /usr/lib/microshift/manifests.d/app/\n\
         COPY deploy/bare/ /usr/lib/microshift/manifests.d/bare/\n",
    );
    let deployment = |name: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  template:\n    spec:\n      \
             containers:\n        - name: {name}\n          image: quay.io/acme/{name}:1.0\n"
        )
    };
    write("deploy/app/kustomization.yaml", "resources: [deployment.yaml]\n");
    write("deploy/app/deployment.yaml", &deployment("app"));
    write("deploy/bare/deployment.yaml", &deployment("bare"));
    if let Some(config) = config {
        write("stowage.yaml", config);
    }
    tmp
}

fn run_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("stowage").expect("built").current_dir(dir).args(args).output().expect("runs")
}

#[test]
fn a_configured_build_context_places_the_copies() {
    let not_applied = |out: &std::process::Output| -> Vec<String> {
        let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["rule"] == "manifests-not-applied")
            .map(|f| f["message"].as_str().unwrap_or("").to_string())
            .collect()
    };
    // Without the setting, the context is images/bootc/: nothing of deploy/ is copied, so
    // nothing is judged where MicroShift reads.
    let repo = root_context_repo(None);
    let opts = BuildOptions::default();
    assert_eq!(gather(&[repo.path().into()], &opts).expect("walks").applied_kustomizations, []);
    let out = run_in(repo.path(), &["check", ".", "--format", "json"]);
    assert_eq!(not_applied(&out), Vec::<String>::new());

    // With it, deploy/app lands in manifests.d/app, which MicroShift applies, and deploy/bare
    // in manifests.d/bare, which it does not (no kustomization).
    let repo = root_context_repo(Some("build-contexts:\n  images/bootc/Containerfile: .\n"));
    let opts = BuildOptions {
        build_contexts: vec![(repo.path().join("images/bootc/Containerfile"), repo.path().into())],
        ..BuildOptions::default()
    };
    let applied = gather(&[repo.path().into()], &opts).expect("walks").applied_kustomizations;
    let in_image: Vec<&str> = applied.iter().map(|a| a.in_image.as_str()).collect();
    assert_eq!(in_image, ["/usr/lib/microshift/manifests.d/app"]);
    let out = run_in(repo.path(), &["check", ".", "--format", "json"]);
    let messages = not_applied(&out);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains("`/usr/lib/microshift/manifests.d/bare`"), "{messages:?}");

    // A setting naming a missing Containerfile or context is a configuration error (exit 2).
    for (config, want) in [
        ("build-contexts:\n  images/other/Containerfile: .\n", "stowage.yaml:2:3"),
        ("build-contexts:\n  images/bootc/Containerfile: nowhere\n", "is not a directory"),
    ] {
        let repo = root_context_repo(Some(config));
        let out = run_in(repo.path(), &["check", "."]);
        assert_eq!(out.status.code(), Some(2), "{config}");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(err.contains(want), "{config}: {err}");
    }
}

//! End-to-end tests of the command line on the bundled demo and on generated trees.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn stowage() -> Command {
    let mut cmd = Command::cargo_bin("stowage").expect("the stowage binary is built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

/// Run stowage with `args`, expect exit status `code`, and return its standard output.
fn stdout_of(args: &[&str], code: i32) -> String {
    let out = stowage().args(args).output().expect("runs");
    assert_eq!(out.status.code(), Some(code), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn refs_json(args: &[&str]) -> Vec<Value> {
    let out = stowage().arg("refs").args(args).args(["--format", "json"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).expect("refs prints JSON");
    json["references"].as_array().expect("a references array").clone()
}

/// `(file:line:column, kind, image as written, resolved or "")` of each reference.
fn summarize(refs: &[Value]) -> Vec<(String, String, String, String)> {
    refs.iter()
        .map(|r| {
            let loc = &r["location"];
            (
                format!("{}:{}:{}", loc["file"].as_str().unwrap(), loc["line"], loc["column"]),
                r["kind"].as_str().unwrap().to_string(),
                r["image"].as_str().unwrap().to_string(),
                r["resolved"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn every_demo_image_is_listed_with_its_exact_position() {
    let refs = refs_json(&["fixtures/demo"]);
    let got = summarize(&refs);
    let want = [
        (
            "fixtures/demo/Containerfile:5:6",
            "build",
            "registry.access.redhat.com/ubi9/ubi-minimal",
            "registry.access.redhat.com/ubi9/ubi-minimal:latest",
        ),
        (
            "fixtures/demo/Containerfile:8:6",
            "build",
            "${BOOTC_BASE}",
            "registry.redhat.io/rhel9/rhel-bootc:9.6",
        ),
        (
            "fixtures/demo/Containerfile:14:18",
            "embed",
            "quay.io/acme/telemetry:2.3.1",
            "quay.io/acme/telemetry:2.3.1",
        ),
        ("fixtures/demo/Containerfile:26:13", "build", "quay.io/acme/config-bundle:${TOOLS_TAG}", ""),
        (
            "fixtures/demo/etc/crio/crio.conf.d/10-pause.conf:2:16",
            "runtime",
            "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:6b5b1f62b0e6f1d0a8f0e1d4a1b8d9e2c9b3b0e7d5e1a4c2f8e9d7b6a5c4e3d2",
            "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:6b5b1f62b0e6f1d0a8f0e1d4a1b8d9e2c9b3b0e7d5e1a4c2f8e9d7b6a5c4e3d2",
        ),
        (
            "fixtures/demo/manifests/cronjob.yaml:14:22",
            "runtime",
            "busybox:1.36",
            "docker.io/library/busybox:1.36",
        ),
        (
            "fixtures/demo/manifests/deployment.yaml:15:19",
            "runtime",
            "quay.io/acme/gateway-migrate:1.8.0@sha256:9d1fbbbc1e0bb4cbe44d6bb6f0b8d4b2c4c6c2a7b59a0f9e3e6b9a5c0d7e1f24",
            "quay.io/acme/gateway-migrate:1.8.0@sha256:9d1fbbbc1e0bb4cbe44d6bb6f0b8d4b2c4c6c2a7b59a0f9e3e6b9a5c0d7e1f24",
        ),
        (
            "fixtures/demo/manifests/deployment.yaml:18:18",
            "runtime",
            "quay.io/acme/gateway:latest",
            "quay.io/acme/gateway:latest",
        ),
        (
            "fixtures/demo/manifests/deployment.yaml:20:18",
            "runtime",
            "quay.io/acme/metrics-agent:0.9.2",
            "quay.io/acme/metrics-agent:0.9.2",
        ),
        (
            "fixtures/demo/quadlet/telemetry.container:5:7",
            "runtime",
            "telemetry.image",
            "quay.io/acme/telemetry:2.3.1",
        ),
        (
            "fixtures/demo/quadlet/telemetry.image:2:7",
            "runtime",
            "quay.io/acme/telemetry:2.3.1",
            "quay.io/acme/telemetry:2.3.1",
        ),
    ];
    let want: Vec<(String, String, String, String)> = want
        .iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
        .collect();
    assert_eq!(got, want);
    // The pull policy travels with the container it belongs to.
    let metrics = refs.iter().find(|r| r["image"] == "quay.io/acme/metrics-agent:0.9.2").unwrap();
    assert_eq!(metrics["pull_policy"]["value"], "Always");
    assert_eq!(metrics["pull_policy"]["location"]["line"], 21);
    assert_eq!(metrics["origin"], "kubernetes-container");
}

#[test]
fn refs_table_lists_every_reference() {
    let text = stdout_of(&["refs", "fixtures/demo"], 0);
    assert!(text.contains("fixtures/demo/manifests/deployment.yaml:18:18"), "{text}");
    assert!(text.contains("11 references"), "{text}");
}

#[test]
fn check_on_the_demo_fails_with_positioned_findings() {
    let out = stowage().args(["check", "fixtures/demo", "--format", "compact"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "fixtures/demo/manifests/deployment.yaml:21:28: error[pull-policy-always]",
        "fixtures/demo/manifests/deployment.yaml:18:18: error[pull-policy-always]",
        "fixtures/demo/manifests/deployment.yaml:18:39: warning[latest-tag]",
        "fixtures/demo/manifests/deployment.yaml:20:45: warning[mutable-tag]",
        "fixtures/demo/manifests/cronjob.yaml:14:22: warning[short-name]",
        "fixtures/demo/Containerfile:26:13: error[unresolved-reference]",
        "fixtures/demo/Containerfile:5:6: warning[latest-tag]",
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("FAILED"), "{stderr}");
}

#[test]
fn build_args_resolve_what_was_unresolved() {
    let refs = refs_json(&["fixtures/demo/Containerfile", "--build-arg", "TOOLS_TAG=1.0"]);
    let bundle = refs.iter().find(|r| r["location"]["line"] == 26).unwrap();
    // TOOLS_TAG is a global ARG not re-declared in the stage, so COPY --from cannot see it.
    assert_eq!(bundle["resolved"], Value::Null);
    let refs = refs_json(&[
        "fixtures/demo/Containerfile",
        "--build-arg",
        "BOOTC_BASE=quay.io/fedora/fedora-bootc:42",
    ]);
    let base = refs.iter().find(|r| r["location"]["line"] == 8).unwrap();
    assert_eq!(base["resolved"], "quay.io/fedora/fedora-bootc:42");
}

#[test]
fn json_output_has_findings_and_summary() {
    let out = stowage().args(["check", "fixtures/demo", "--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = json["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    for f in findings {
        for key in ["rule", "severity", "message", "location", "related", "help"] {
            assert!(f.get(key).is_some(), "finding lacks {key}: {f}");
        }
        assert!(f["location"]["line"].as_u64().unwrap() >= 1);
    }
    assert_eq!(json["summary"]["failed"], true);
    assert_eq!(
        json["summary"]["errors"].as_u64().unwrap() as usize,
        findings.iter().filter(|f| f["severity"] == "error").count()
    );
}

#[test]
fn fail_on_sets_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Containerfile"), "FROM quay.io/x/a:latest\n").unwrap();
    stowage().arg("check").arg(dir.path()).assert().code(0);
    stowage().arg("check").arg(dir.path()).args(["--fail-on", "warning"]).assert().code(1);
    std::fs::write(
        dir.path().join("Containerfile"),
        "FROM quay.io/x/a:1@sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
    )
    .unwrap();
    stowage().arg("check").arg(dir.path()).args(["--fail-on", "info"]).assert().code(0);
}

#[test]
fn fail_on_never_passes_even_with_errors() {
    stowage().args(["check", "fixtures/demo", "--fail-on", "never"]).assert().code(0);
}

#[test]
fn a_missing_path_or_a_bad_argument_exits_2() {
    let out = stowage().args(["check", "no/such/dir"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/dir"));
    stowage().args(["check", "--fail-on", "sometimes"]).assert().code(2);
    stowage().args(["refs", "--arch", "a/b/c/d", "fixtures/demo"]).assert().code(2);
    stowage().args(["check", "--build-arg", "=x", "fixtures/demo"]).assert().code(2);
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn compact_check(dir: &Path) -> (i32, String) {
    let out = stowage().arg("check").arg(dir).args(["--format", "compact"]).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn bad_files_are_findings_and_the_good_ones_are_still_checked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "good/pod.yaml", b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: quay.io/x/a:latest\n");
    write(d, "bad/malformed.yaml", b"apiVersion: v1\nkind: Pod\nspec:\n  containers: [\n    - a\n");
    write(d, "bad/Dockerfile", b"\x7fELF\x02\x01\x01\x00\x00\x00binary");
    write(d, "bad/latin1.yaml", b"apiVersion: v1\nkind: Pod # caf\xe9\n");
    let mut bomb =
        String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for (i, prev) in
        ["b", "c", "d", "e", "f", "g", "h", "i"].iter().zip(["a", "b", "c", "d", "e", "f", "g", "h"])
    {
        bomb.push_str(&format!(
            "{i}: &{i} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
    }
    write(d, "bad/bomb.yaml", bomb.as_bytes());
    let deep = format!("apiVersion: v1\nkind: Pod\nspec: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    write(d, "bad/deep.yaml", deep.as_bytes());
    let (code, text) = compact_check(d);
    assert_eq!(code, 1, "{text}");
    let base = d.display().to_string();
    for (file, pos) in [
        ("bad/malformed.yaml", None),
        ("bad/Dockerfile", Some("1:8")),
        ("bad/latin1.yaml", Some("2:16")),
        ("bad/bomb.yaml", None),
        ("bad/deep.yaml", None),
    ] {
        let prefix = format!("{base}/{file}:");
        let line = text.lines().find(|l| l.starts_with(&prefix) && l.contains("error[unparsable-file]"));
        let line = line.unwrap_or_else(|| panic!("no unparsable-file finding for {file} in:\n{text}"));
        if let Some(pos) = pos {
            assert!(line.starts_with(&format!("{prefix}{pos}:")), "{line}");
        }
    }
    assert!(text.contains(&format!("{base}/good/pod.yaml:8:24: warning[latest-tag]")), "{text}");
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_is_walked_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "a/Containerfile", b"FROM quay.io/x/a:1\n");
    std::os::unix::fs::symlink("..", d.join("a/up")).unwrap();
    std::os::unix::fs::symlink(d.join("a"), d.join("a/self")).unwrap();
    let refs = refs_json(&[d.to_str().unwrap()]);
    assert_eq!(refs.len(), 1, "{refs:?}");
}

#[test]
fn rules_lists_and_explains() {
    let text = stdout_of(&["rules"], 0);
    for id in [
        "pull-policy-always",
        "latest-tag",
        "mutable-tag",
        "short-name",
        "invalid-reference",
        "unresolved-reference",
        "unparsable-file",
    ] {
        assert!(text.contains(id), "{id} missing from:\n{text}");
    }
    let text = stdout_of(&["rules", "pull-policy-always"], 0);
    assert!(text.contains("Why is this bad?") && text.contains("IfNotPresent"), "{text}");
    stowage().args(["rules", "no-such-rule"]).assert().code(2);
}

#[test]
fn docs_rules_md_is_generated_from_the_catalog() {
    let out = stowage().args(["rules", "--format", "markdown"]).output().unwrap();
    let generated = String::from_utf8(out.stdout).unwrap();
    let committed =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules.md")).unwrap();
    assert!(
        generated == committed,
        "docs/rules.md is stale: run `cargo run -- rules --format markdown > docs/rules.md`"
    );
}

#[test]
fn help_says_what_stowage_is() {
    let text = stdout_of(&["--help"], 0);
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("is carried inside its OS image"), "{text}");
    assert!(text.contains("Commands:"), "{text}");
    let short = stdout_of(&["-h"], 0);
    assert!(
        short.lines().next().is_some_and(|l| l.starts_with("Checks that every container image")),
        "{short}"
    );
}

/// A configuration that reads the operator's `RELATED_IMAGE_*` environment values as images.
const IMAGE_FIELDS_CONFIG: &[u8] =
    b"image-fields:\n  - spec.template.spec.containers[*].env[?name=RELATED_IMAGE_*].value\n";

/// An operator Deployment whose `RELATED_IMAGE_DB` (line 13, column 22) names an image.
const OPERATOR_DEPLOYMENT: &[u8] = b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: op\nspec:\n  template:\n    spec:\n      containers:\n        - name: manager\n          image: quay.io/x/op:1.0\n          env:\n            - name: RELATED_IMAGE_DB\n              value: quay.io/x/db:1.0\n";

/// `image-fields` from stowage.yaml give `configured-field` references whether or not a
/// kustomization lists the manifest, located in the manifest.
#[test]
fn configured_image_fields_are_listed_through_a_kustomization() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "stowage.yaml", IMAGE_FIELDS_CONFIG);
    write(d, "app/deployment.yaml", OPERATOR_DEPLOYMENT);
    let config = d.join("stowage.yaml");
    let app = d.join("app");
    let configured = |refs: &[Value]| -> Vec<(String, String, String)> {
        refs.iter()
            .filter(|r| r["origin"] == "configured-field")
            .map(|r| {
                let loc = &r["location"];
                let file = loc["file"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
                (
                    format!("{file}:{}:{}", loc["line"], loc["column"]),
                    r["image"].to_string(),
                    r["object"].to_string(),
                )
            })
            .collect()
    };
    let want = [(
        "deployment.yaml:13:22".to_string(),
        "\"quay.io/x/db:1.0\"".to_string(),
        r#"{"kind":"Deployment","name":"op"}"#.to_string(),
    )];
    let args = ["--config", config.to_str().unwrap(), app.to_str().unwrap()];
    assert_eq!(configured(&refs_json(&args)), want, "a plain manifest");
    write(d, "app/kustomization.yaml", b"resources:\n  - deployment.yaml\n");
    let refs = refs_json(&args);
    assert_eq!(configured(&refs), want, "a kustomize resource: {refs:#?}");
    assert!(
        refs.iter()
            .all(|r| r["kustomization"]["file"].as_str().is_some_and(|f| f.ends_with("kustomization.yaml"))),
        "{refs:#?}"
    );
}

/// The same inside a built image: a kustomization MicroShift applies from the image keeps the
/// configured-field references of its resources (they were dropped before).
#[test]
fn configured_image_fields_are_checked_in_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "cfg/stowage.yaml", IMAGE_FIELDS_CONFIG);
    write(d, "root/usr/lib/microshift/manifests/kustomization.yaml", b"resources:\n  - deployment.yaml\n");
    write(d, "root/usr/lib/microshift/manifests/deployment.yaml", OPERATOR_DEPLOYMENT);
    let out = stowage()
        .args(["check", "--config"])
        .arg(d.join("cfg/stowage.yaml"))
        .arg("--image")
        .arg(format!("rootfs:{}", d.join("root").display()))
        .args(["--arch", "amd64", "--format", "compact"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let not_embedded: Vec<&str> = text.lines().filter(|l| l.contains("[not-embedded]")).collect();
    assert_eq!(not_embedded.len(), 2, "{text}");
    assert!(
        not_embedded[1].starts_with("/usr/lib/microshift/manifests/deployment.yaml:13:22: ")
            && not_embedded[1].contains("`quay.io/x/db:1.0`"),
        "{text}"
    );
}

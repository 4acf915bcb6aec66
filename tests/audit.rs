//! The offline-readiness audit end to end: `stowage check --image` on the root filesystems of
//! `fixtures/audit/images/` (a MicroShift repository, `fixtures/audit/repo`, built in several
//! states by `fixtures/audit/regenerate.sh` with skopeo and umoci). Each state's exact findings
//! are kept as snapshots of the human (no color) and JSON output.

use assert_cmd::Command;
use serde_json::Value;

fn stowage() -> Command {
    let mut cmd = Command::cargo_bin("stowage").expect("the stowage binary is built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).env("NO_COLOR", "1").env_remove("STOWAGE_ARCH");
    cmd
}

/// `check --image` of one state (the target architecture given, as the rootfs has no config):
/// (exit status, stdout, stderr).
fn check(state: &str, format: &str) -> (i32, String, String) {
    let image = format!("rootfs:fixtures/audit/images/{state}");
    let out = stowage()
        .args(["check", "--no-config", "--arch", "x86_64", "--image", &image, "--format", format])
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The rules of the error findings, sorted and unique.
fn error_rules(json: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(json).expect("JSON output");
    let mut rules: Vec<String> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] == "error")
        .filter_map(|f| f["rule"].as_str().map(str::to_string))
        .collect();
    rules.sort();
    rules.dedup();
    rules
}

fn state(name: &str, status: i32, rules: &[&str]) {
    let (code, human, stderr) = check(name, "human");
    assert_eq!(code, status, "{name}: {stderr}");
    insta::assert_snapshot!(format!("audit_{name}_human"), format!("{human}\n--- stderr\n{stderr}"));
    let (code, json, _) = check(name, "json");
    assert_eq!(code, status, "{name}");
    assert_eq!(error_rules(&json), rules, "{name}");
    insta::assert_snapshot!(format!("audit_{name}_json"), json);
}

#[test]
fn the_complete_image_is_ready() {
    state("complete", 0, &[]);
}

#[test]
fn a_missing_app_image() {
    state("app-missing", 1, &["not-embedded"]);
}

#[test]
fn a_missing_release_image() {
    state("release-missing", 1, &["release-image-not-embedded"]);
}

#[test]
fn a_re_pointed_tag() {
    state("tag-repointed", 1, &["embedded-digest-mismatch", "not-embedded"]);
}

#[test]
fn an_additional_store_without_storage_conf() {
    state("store-not-configured", 1, &["not-embedded", "store-not-configured"]);
}

#[test]
fn images_for_another_architecture() {
    state("wrong-arch", 1, &["embedded-arch-mismatch", "embedded-digest-mismatch", "not-embedded"]);
}

#[test]
fn an_unreadable_image_is_exit_2() {
    for image in ["rootfs:fixtures/audit/no-such-image", "rootfs:fixtures/audit/repo/Containerfile", "oci:x"]
    {
        let out = stowage().args(["check", "--no-config", "--image", image]).output().expect("runs");
        assert_eq!(out.status.code(), Some(2), "{image}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(image), "the message names the image: {stderr}");
    }
    // A directory with nothing stowage reads is not an OS image: failing closed.
    let empty = tempfile::tempdir().expect("temp dir");
    let image = format!("rootfs:{}", empty.path().display());
    let out = stowage().args(["check", "--no-config", "--image", &image]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_repository_and_its_image_together() {
    let out = stowage()
        .args(["check", "--no-config", "--arch", "x86_64", "fixtures/audit/repo"])
        .args(["--image", "rootfs:fixtures/audit/images/complete", "--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let readiness = &v["summary"]["readiness"];
    assert_eq!(readiness["verdict"], "ready");
    assert_eq!(readiness["referenced"], 5);
    assert_eq!(readiness["missing"], 0);
}

#[test]
fn the_repository_alone_is_checked_against_its_embed_plan() {
    let out = stowage()
        .args(["check", "--no-config", "--arch", "x86_64", "fixtures/audit/repo", "--format", "compact"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("not-embedded"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("5 runtime images referenced, 5 embedded in the embed plan"), "{stderr}");

    // Drop the agent's embed: the static check says so, and says it is static.
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/audit/repo");
    copy_tree(&repo, dir.path());
    let containerfile = dir.path().join("Containerfile");
    let text = std::fs::read_to_string(&containerfile).expect("Containerfile");
    let without: Vec<&str> = text.lines().filter(|l| !l.contains("agent")).collect();
    std::fs::write(&containerfile, without.join("\n")).expect("written");
    let out = stowage()
        .args(["check", "--no-config", "--format", "compact"])
        .arg(dir.path())
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("quadlet/agent.container:5:7: error[not-embedded]"), "{stdout}");
    assert!(stdout.contains("is not in the embed plan"), "{stdout}");
}

#[test]
fn refs_with_an_image_include_the_sources_inside_it() {
    let out = stowage()
        .args(["refs", "--no-config", "--arch", "x86_64", "--image", "rootfs:fixtures/audit/images/complete"])
        .args(["--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let refs = v["references"].as_array().expect("references");
    let got: Vec<String> = refs
        .iter()
        .map(|r| {
            let l = &r["location"];
            format!(
                "{}:{}:{} {} {}",
                l["file"].as_str().unwrap_or(""),
                l["line"],
                l["column"],
                r["kind"],
                l["in_image"]
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "/etc/crio/crio.conf.d/10-microshift_amd64.conf:2:16 \"runtime\" true",
            "/usr/lib/microshift/manifests.d/acme/base/web.yaml:14:18 \"runtime\" true",
            "/usr/lib/microshift/manifests.d/acme/worker.yaml:14:18 \"runtime\" true",
            "/usr/share/containers/systemd/agent.container:5:7 \"runtime\" true",
            "/usr/share/microshift/release/release-x86_64.json:4:13 \"release\" true",
            "/usr/share/microshift/release/release-x86_64.json:5:17 \"release\" true",
        ]
    );
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).expect("readable") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

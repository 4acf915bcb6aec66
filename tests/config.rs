//! The configuration file, environment overrides and waivers through the command line.

use assert_cmd::Command;
use std::path::Path;

fn stowage(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("stowage").expect("the stowage binary is built");
    cmd.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("STOWAGE_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A repository whose only finding is a `latest-tag` warning.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "Containerfile", "FROM quay.io/acme/base:latest\n");
    dir
}

fn code(cmd: &mut Command) -> i32 {
    cmd.output().unwrap().status.code().unwrap_or(-1)
}

#[test]
fn fail_on_precedence_is_cli_then_env_then_file_then_default() {
    let dir = repo();
    let d = dir.path();
    // Default: fail on errors only; a warning passes.
    assert_eq!(code(stowage(d).arg("check")), 0);
    // The file says warning.
    write(d, "stowage.yaml", "fail-on: warning\n");
    assert_eq!(code(stowage(d).arg("check")), 1);
    // The environment wins over the file.
    assert_eq!(code(stowage(d).arg("check").env("STOWAGE_FAIL_ON", "error")), 0);
    // The command line wins over the environment.
    assert_eq!(code(stowage(d).args(["check", "--fail-on", "warning"]).env("STOWAGE_FAIL_ON", "error")), 1);
}

#[test]
fn arch_and_build_args_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "Containerfile",
        "ARG TARGETARCH\nARG TAG=file-default\nFROM quay.io/acme/base-${TARGETARCH}:${TAG}\n",
    );
    let resolved = |cmd: &mut Command| -> String {
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["references"][0]["resolved"].as_str().unwrap_or("null").to_string()
    };
    let refs = |extra: &[&str]| {
        let mut cmd = stowage(d);
        cmd.args(["refs", "--format", "json"]).args(extra);
        cmd
    };
    assert_eq!(resolved(&mut refs(&[])), "quay.io/acme/base-amd64:file-default");
    write(d, "stowage.yaml", "arch: arm64\nbuild-args:\n  TAG: from-config\n");
    assert_eq!(resolved(&mut refs(&[])), "quay.io/acme/base-arm64:from-config");
    assert_eq!(resolved(refs(&[]).env("STOWAGE_ARCH", "linux/s390x")), "quay.io/acme/base-s390x:from-config");
    assert_eq!(
        resolved(refs(&["--arch", "amd64", "--build-arg", "TAG=cli"]).env("STOWAGE_ARCH", "s390x")),
        "quay.io/acme/base-amd64:cli"
    );
    // --no-config ignores the file.
    assert_eq!(resolved(&mut refs(&["--no-config"])), "quay.io/acme/base-amd64:file-default");
}

#[test]
fn the_config_is_found_in_a_parent_directory_and_paths_are_relative_to_it() {
    let dir = repo();
    let d = dir.path();
    write(d, "stowage.yaml", "fail-on: warning\nexclude: [\"vendor/**\"]\n");
    write(d, "vendor/Containerfile", "FROM quay.io/acme/vendored:1\n");
    write(d, "sub/deeper/README", "x\n");
    let out =
        stowage(&d.join("sub/deeper")).args(["check", "../..", "--format", "compact"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("../../Containerfile:1:24: warning[latest-tag]"), "{text}");
    assert!(!text.contains("vendored"), "excluded files are not read: {text}");
}

#[test]
fn config_errors_point_into_the_file_and_exit_2() {
    let dir = repo();
    let d = dir.path();
    write(
        d,
        "stowage.yaml",
        "fail-on: sometimes\nrulez: {}\nrules:\n  latest-tags: error\n  mutable-tag:\n    kind: [build]\nregistries:\n  allow: [{regex: \"(\"}]\nignore:\n  - rule: latest-tag\n    expires: 2026-02-30\n  - reason: nothing to match\nimage-fields: [\"spec.containers[x]\"]\ncustom-rules:\n  - id: Bad_Id\n    message: x\n    match: {registy: docker.io}\n",
    );
    let out = stowage(d).arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let expected = [
        ("[stowage.yaml:1:10]", "`fail-on` must be one of error, warning, info, never, not `sometimes`"),
        ("[stowage.yaml:2:1]", "unknown key `rulez` (did you mean `rules`?)"),
        ("[stowage.yaml:4:3]", "unknown rule `latest-tags` (did you mean `latest-tag`?)"),
        (
            "[stowage.yaml:6:5]",
            "rule `mutable-tag` has no parameter `kind` (it takes: severity, kinds) (did you mean `kinds`?)",
        ),
        ("[stowage.yaml:8:20]", "invalid regex `(`"),
        ("[stowage.yaml:11:14]", "`expires` must be a date YYYY-MM-DD, not `2026-02-30`"),
        ("[stowage.yaml:12:5]", "an ignore entry needs at least one of `rule`, `path`, `image`"),
        ("[stowage.yaml:13:17]", "invalid field path `spec.containers[x]`: unknown selector `[x]`"),
        ("[stowage.yaml:15:9]", "rule id `Bad_Id` must be kebab-case"),
        ("[stowage.yaml:17:13]", "unknown match field `registy`"),
    ];
    for (position, message) in expected {
        let at = stderr.find(message).unwrap_or_else(|| panic!("missing `{message}` in:\n{stderr}"));
        let excerpt = &stderr[at..];
        let next = excerpt.find("config").map_or(excerpt, |end| &excerpt[..end.max(1)]);
        assert!(stderr[at..].contains(position), "`{message}` not followed by {position}:\n{next}");
    }
    assert!(stderr.contains("stowage: error: stowage.yaml: 10 configuration errors"), "{stderr}");
    insta::assert_snapshot!("config_errors", stderr);
}

#[test]
fn waivers_and_comments_through_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "Containerfile",
        "# stowage:ignore latest-tag -- the base is rebuilt nightly\nFROM quay.io/acme/base:latest\nFROM quay.io/acme/tools:latest\n",
    );
    write(
        d,
        "stowage.yaml",
        "fail-on: warning\nignore:\n  - rule: latest-tag\n    image: \"quay.io/acme/tools:*\"\n    reason: tools are build-only\n    expires: 2026-06-30\n",
    );
    let run = |today: &str, extra: &[&str]| {
        let out = stowage(d)
            .args(["check", "--format", "json"])
            .args(extra)
            .env("STOWAGE_TODAY", today)
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let rules: Vec<String> = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_string())
            .collect();
        (out.status.code().unwrap(), rules, json["waived"].as_array().unwrap().len())
    };
    assert_eq!(run("2026-01-01", &[]), (0, vec![], 2));
    // After the expiry the waived finding comes back, with the reason why.
    assert_eq!(run("2026-07-01", &[]), (1, vec!["latest-tag".to_string(), "expired-ignore".to_string()], 1));
    // Strict gates ignore comments.
    assert_eq!(run("2026-01-01", &["--no-inline-ignores"]), (1, vec!["latest-tag".to_string()], 1));
}

#[test]
fn a_baseline_survives_moved_lines() {
    let dir = repo();
    let d = dir.path();
    let out = stowage(d).args(["check", "--write-baseline", "baseline.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let baseline = std::fs::read_to_string(d.join("baseline.json")).unwrap();
    assert!(baseline.contains("\"rule\": \"latest-tag\""), "{baseline}");
    write(
        d,
        "Containerfile",
        "# moved down\n\nFROM quay.io/acme/base:latest\nFROM quay.io/acme/new:latest\n",
    );
    let out = stowage(d)
        .args(["check", "--baseline", "baseline.json", "--format", "compact", "--fail-on", "warning"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        "Containerfile:4:23: warning[latest-tag] `quay.io/acme/new:latest` uses the `latest` tag, which names whatever the registry served last\n"
    );
    let out = stowage(d).args(["check", "--baseline", "missing.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn init_writes_a_config_that_loads() {
    let dir = repo();
    let d = dir.path();
    assert_eq!(code(stowage(d).arg("init")), 0);
    let text = std::fs::read_to_string(d.join("stowage.yaml")).unwrap();
    assert!(text.contains("fail-on: error") && text.contains("# latest-tag: warning"), "{text}");
    assert_eq!(code(stowage(d).arg("init")), 2, "an existing file is not overwritten");
    assert_eq!(code(stowage(d).args(["init", "--force"])), 0);
    // The written file is a valid configuration.
    assert_eq!(code(stowage(d).arg("check")), 0);
}

#[test]
fn custom_rules_from_rule_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "Containerfile",
        "FROM docker.io/library/golang:1.23@sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
    );
    write(d, "stowage.yaml", "rule-files: [policy/images.yaml]\nrules:\n  no-docker-hub: warning\n");
    write(
        d,
        "policy/images.yaml",
        "custom-rules:\n  - id: no-docker-hub\n    severity: error\n    message: \"{image} comes from Docker Hub\"\n    match: {registry: docker.io}\n",
    );
    let out = stowage(d).args(["check", "--format", "compact"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Containerfile:1:6: warning[no-docker-hub] docker.io/library/golang:1.23@sha256:"),
        "the rule runs, at the severity the configuration gives it: {text}"
    );
    // Errors in a rule file point into it.
    write(
        d,
        "policy/images.yaml",
        "custom-rules:\n  - id: no-docker-hub\n    message: x\n    match: {registri: docker.io}\n",
    );
    let out = stowage(d).arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("unknown match field `registri`") && stderr.contains("[policy/images.yaml:4:13]"),
        "{stderr}"
    );
    write(d, "stowage.yaml", "rule-files: [policy/missing.yaml]\n");
    let out = stowage(d).arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rule file `policy/missing.yaml`"));
}

/// Rule parameters are typed: a value the rule cannot use is a configuration error at the
/// value, not a rule that silently matches nothing; a single string is a list of one.
#[test]
fn rule_parameters_are_checked_when_the_configuration_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "Containerfile", "FROM quay.io/acme/base:1.0\n");
    write(d, "stowage.yaml", "rules:\n  mutable-tag:\n    kinds: [runtime, runtme, {a: 1}]\n");
    let out = stowage(d).args(["check", "--format", "compact"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    for (message, position) in [
        (
            "`rules.mutable-tag.kinds` takes runtime, embed, release, bound, build, not `runtme` (did you mean `runtime`?)",
            "[stowage.yaml:3:22]",
        ),
        ("`rules.mutable-tag.kinds` takes a list of strings", "[stowage.yaml:3:30]"),
    ] {
        let at = stderr.find(message).unwrap_or_else(|| panic!("missing `{message}` in:\n{stderr}"));
        assert!(stderr[at..].contains(position), "`{message}` not at {position}:\n{stderr}");
    }

    write(d, "stowage.yaml", "rules:\n  mutable-tag:\n    kinds: build\n");
    let out = stowage(d).args(["check", "--format", "compact"]).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("Containerfile:1:24: warning[mutable-tag]"), "{stdout}");
}

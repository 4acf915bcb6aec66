//! The integration files the repository ships (pre-commit hooks, GitHub Action, GitLab
//! template, Tekton Task, the example bootc Containerfile) checked against the shapes their
//! tools document, and run where that is possible here.

use serde_json::Value;
use std::path::Path;

fn load(path: &str) -> Value {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path} is not valid YAML: {e}"))
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for key in path {
        cur = &cur[*key];
    }
    cur.as_str().unwrap_or_else(|| panic!("{} is not a string in {v}", path.join(".")))
}

#[test]
fn pre_commit_hooks_have_the_documented_keys_and_match_sources() {
    let hooks = load(".pre-commit-hooks.yaml");
    let hooks = hooks.as_array().expect("a list of hooks");
    let ids: Vec<&str> = hooks.iter().map(|h| str_at(h, &["id"])).collect();
    assert_eq!(ids, ["stowage", "stowage-docker"]);
    for hook in hooks {
        for key in ["id", "name", "entry", "language", "files"] {
            assert!(hook[key].is_string(), "hook lacks {key}: {hook}");
        }
        assert!(["system", "docker", "docker_image"].contains(&str_at(hook, &["language"])));
        let files = regex::Regex::new(str_at(hook, &["files"])).expect("files is a valid regex");
        for path in [
            "Containerfile",
            "build/Dockerfile.prod",
            "deploy/app.yaml",
            "k/kustomization.yml",
            "q/app.container",
            "usr/share/microshift/release/release-x86_64.json",
            "etc/crio/crio.conf.d/10-x.conf",
        ] {
            assert!(files.is_match(path), "{path} should be checked");
        }
        for path in ["README.md", "src/main.rs", "x.json"] {
            assert!(!files.is_match(path), "{path} should not be checked");
        }
    }
    // The docker hook builds this repository's Dockerfile.
    assert!(Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile").exists());
}

#[test]
fn the_github_action_is_a_valid_composite_action() {
    let action = load("action.yml");
    for key in ["name", "description"] {
        assert!(action[key].is_string(), "action.yml needs {key}");
    }
    assert_eq!(str_at(&action, &["runs", "using"]), "composite");
    for (name, input) in action["inputs"].as_object().expect("inputs") {
        assert!(input["description"].is_string(), "input {name} needs a description");
    }
    for (name, output) in action["outputs"].as_object().expect("outputs") {
        assert!(output["value"].is_string(), "composite output {name} needs a value");
    }
    for step in action["runs"]["steps"].as_array().expect("steps") {
        match (step.get("run"), step.get("uses")) {
            (Some(_), None) => assert!(step["shell"].is_string(), "a composite run step needs shell: {step}"),
            (None, Some(uses)) => {
                assert!(uses.as_str().is_some_and(|u| u.contains('@')), "uses needs a ref: {step}")
            }
            _ => panic!("a step has exactly one of run and uses: {step}"),
        }
    }
    let check = action["runs"]["steps"].as_array().unwrap().iter().find(|s| s["id"] == "check").unwrap();
    let run = str_at(check, &["run"]);
    assert!(run.contains("--format \"sarif=") && run.contains("GITHUB_STEP_SUMMARY"), "{run}");
}

#[test]
fn the_gitlab_template_has_code_quality_and_junit_reports() {
    let template = load("ci/gitlab/stowage.yml");
    let job = &template[".stowage"];
    assert!(job["script"].as_array().is_some_and(|s| !s.is_empty()), "a job needs a script");
    assert!(job["image"]["name"].is_string());
    let reports = &job["artifacts"]["reports"];
    assert_eq!(reports["codequality"], "gl-code-quality-report.json");
    assert_eq!(reports["junit"], "stowage-junit.xml");
    let script = job["script"][0].as_str().unwrap();
    assert!(
        script.contains("--format gitlab=gl-code-quality-report.json")
            && script.contains("--format junit=stowage-junit.xml")
    );
    assert_eq!(template["stowage"]["extends"], ".stowage");
}

#[test]
fn the_tekton_task_is_well_formed_and_its_references_exist() {
    let task = load("examples/tekton/stowage-task.yaml");
    assert_eq!(str_at(&task, &["apiVersion"]), "tekton.dev/v1");
    assert_eq!(str_at(&task, &["kind"]), "Task");
    let name = str_at(&task, &["metadata", "name"]);
    assert!(
        name.len() <= 63 && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    );
    let params: Vec<&str> =
        task["spec"]["params"].as_array().unwrap().iter().map(|p| str_at(p, &["name"])).collect();
    let workspaces: Vec<&str> =
        task["spec"]["workspaces"].as_array().unwrap().iter().map(|w| str_at(w, &["name"])).collect();
    let steps = task["spec"]["steps"].as_array().expect("steps");
    assert!(!steps.is_empty());
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tekton/stowage-task.yaml"),
    )
    .unwrap();
    for reference in text.split("$(").skip(1) {
        let inner = &reference[..reference.find(')').expect("closed $(")];
        let parts: Vec<&str> = inner.split('.').collect();
        match parts.as_slice() {
            ["params", p] => assert!(params.contains(p), "unknown param {p}"),
            ["workspaces", w, "path"] => assert!(workspaces.contains(w), "unknown workspace {w}"),
            other => panic!("unexpected reference $({})", other.join(".")),
        }
    }
    for step in steps {
        assert!(step["name"].is_string() && step["image"].is_string(), "{step}");
    }
}

#[test]
fn the_example_bootc_containerfile_checks_itself_as_its_last_step() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/bootc/Containerfile"))
            .unwrap();
    assert!(text.contains("COPY --from=stowage /stowage /usr/local/bin/stowage"));
    assert!(text.contains("RUN stowage check --image rootfs:/"));
}

#[test]
fn run_stowage_check_image_rootfs_as_the_last_build_step() {
    // What `RUN stowage check --image rootfs:/` does inside a bootc build: no PATH, so only the
    // image's own sources are read (the working directory is not walked as a repository).
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/audit/images");
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(cwd.path().join("Containerfile"), "FROM quay.io/not/read:latest\n").unwrap();
    let run = |state: &str| {
        assert_cmd::Command::cargo_bin("stowage")
            .unwrap()
            .current_dir(cwd.path())
            .args(["check", "--no-cache", "--format", "compact", "--arch", "x86_64", "--image"])
            .arg(format!("rootfs:{}", root.join(state).display()))
            .output()
            .unwrap()
    };
    let ready = run("complete");
    let stderr = String::from_utf8_lossy(&ready.stderr);
    assert_eq!(ready.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(": READY"), "{stderr}");
    assert!(
        !String::from_utf8_lossy(&ready.stdout).contains("quay.io/not/read"),
        "the working directory is not walked"
    );
    let missing = run("app-missing");
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stdout).contains("error[not-embedded]"));
}

//! `stowage diff OLD NEW`: the fixture pairs of fixtures/diff (built by umoci and skopeo,
//! regenerate.sh), each with its exact upgrade findings and exit status, the JSON validated
//! against docs/diff.schema.json, and the layers OLD and NEW share read once.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn stowage() -> Command {
    let mut cmd = Command::cargo_bin("stowage").expect("the stowage binary is built");
    cmd.current_dir(root()).env_remove("STOWAGE_FORMAT").env_remove("STOWAGE_FAIL_ON");
    cmd
}

/// `stowage diff rootfs:fixtures/diff/PAIR/old rootfs:fixtures/diff/PAIR/new --format json ARGS`:
/// the exit status and the JSON (validated against the published schema).
fn diff(pair: &str, args: &[&str]) -> (i32, Value) {
    let old = format!("rootfs:fixtures/diff/{pair}/old");
    let new = format!("rootfs:fixtures/diff/{pair}/new");
    diff_specs(&old, &new, args)
}

fn diff_specs(old: &str, new: &str, args: &[&str]) -> (i32, Value) {
    let out = stowage()
        .args(["diff", old, new, "--no-cache", "--format", "json"])
        .args(args)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}; stderr: {stderr}"));
    validate(&json);
    (out.status.code().expect("exited"), json)
}

fn validate(instance: &Value) {
    let text = std::fs::read_to_string(root().join("docs/diff.schema.json")).expect("the schema");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    let validator = jsonschema::options().should_validate_formats(true).build(&schema).expect("a schema");
    let errors: Vec<String> =
        validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "not valid against docs/diff.schema.json:\n{}", errors.join("\n"));
}

/// `rule severity file:line:col` of the upgrade findings (scope `upgrade`).
fn upgrade_findings(json: &Value) -> Vec<String> {
    const UPGRADE: &[&str] =
        &["additional-store-changed", "embedded-removed-still-referenced", "var-content-changed"];
    json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| UPGRADE.contains(&f["rule"].as_str().unwrap_or("")))
        .map(|f| {
            let l = &f["location"];
            format!(
                "{} {} {}:{}:{}",
                f["rule"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
                l["file"].as_str().unwrap(),
                l["line"],
                l["column"]
            )
        })
        .collect()
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|i| i["name"].as_str().or(i["image"].as_str()).unwrap())
        .collect()
}

const WORKER: &str =
    "quay.io/acme/worker:1@sha256:63b1958ca42cc1554a875ab0bdbdbbad0d328a7c03acf4218a7857761d28b782";
const AGENT: &str =
    "quay.io/acme/agent:1@sha256:cb896d483fd0d9c945a6c98f1dfd85e245dd5d71bdd986b2d60591bbb828b10d";

#[test]
fn a_clean_upgrade_passes_and_lists_what_it_adds() {
    let (code, json) = diff("clean", &[]);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(upgrade_findings(&json), Vec::<String>::new());
    assert_eq!(names(&json["images"]["added"]), [WORKER]);
    assert_eq!(json["images"]["added"][0]["visible_to_crio"], true);
    assert_eq!(json["images"]["added"][0]["method"], "dir");
    assert!(json["images"]["removed"].as_array().unwrap().is_empty());
    assert!(json["images"]["changed"].as_array().unwrap().is_empty());
    assert_eq!(names(&json["references"]["added"]), [WORKER]);
    assert_eq!(
        json["references"]["added"][0]["location"]["file"],
        "/usr/share/containers/systemd/worker.container"
    );
    assert!(json["references"]["removed"].as_array().unwrap().is_empty());
    assert_eq!(json["old"]["verdict"], "ready");
    assert_eq!(json["new"]["verdict"], "ready");
    assert_eq!(json["summary"]["failed"], false);
    // Nothing is an error, so even a strict gate on NEW's own warnings stays on upgrade findings.
    let (code, _) = diff("clean", &["--fail-on", "info"]);
    assert_eq!(code, 0);
}

#[test]
fn an_image_changed_in_an_additional_store_fails_the_upgrade() {
    let (code, json) = diff("store", &[]);
    assert_eq!(code, 1);
    assert_eq!(upgrade_findings(&json), ["additional-store-changed error /etc/containers/storage.conf:7:1"]);
    let changed = &json["images"]["changed"];
    assert_eq!(names(changed), ["quay.io/acme/web:1"]);
    assert_eq!(changed[0]["old"]["method"], "containers-storage");
    assert_ne!(changed[0]["old"]["digest"], changed[0]["new"]["digest"]);
    assert_eq!(changed[0]["new"]["visible_to_crio"], true);
    let message = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "additional-store-changed")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("`quay.io/acme/web:1` in the additional image store /usr/lib/containers/store is changed from sha256:"), "{message}");
    assert!(message.contains("RHEL-75827"), "{message}");
    // NEW is ready on its own: the upgrade rule alone fails the gate.
    assert_eq!(json["new"]["verdict"], "ready");
    // NEW's own warning about the store is kept beside it.
    assert!(json["findings"].as_array().unwrap().iter().any(|f| f["rule"] == "additional-store-upgrade"));
    let (code, _) = diff("store", &["--fail-on", "never"]);
    assert_eq!(code, 0, "fail-on never, and NEW is ready");
}

#[test]
fn var_changes_are_warnings_with_logs_excluded_and_configurable() {
    let (code, json) = diff("var", &["--no-config"]);
    assert_eq!(code, 0, "warnings only");
    assert_eq!(
        upgrade_findings(&json),
        [
            "var-content-changed warning /var/lib/acme/app.yaml:1:1",
            "var-content-changed warning /var/lib/acme/hook:1:1",
            "var-content-changed warning /var/lib/acme/seed-new:1:1",
            "var-content-changed warning /var/lib/acme/seed-old:1:1",
        ]
    );
    let messages: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "var-content-changed")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(messages[0].starts_with("/var/lib/acme/app.yaml has other content in NEW"), "{}", messages[0]);
    assert!(messages[1].ends_with("installed devices keep mode 0644 (NEW has 0755)"), "{}", messages[1]);
    assert!(messages[2].ends_with("installed devices will not get it"), "{}", messages[2]);
    assert!(messages[3].ends_with("installed devices keep it"), "{}", messages[3]);
    assert_eq!(json["summary"]["upgrade_warnings"], 4);
    let (code, _) = diff("var", &["--no-config", "--fail-on", "warning"]);
    assert_eq!(code, 1);

    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("stowage.yaml");
    std::fs::write(
        &config,
        "rules:\n  var-content-changed:\n    exclude: [/var/lib/acme/seed*, /var/lib/acme/hook]\n",
    )
    .unwrap();
    let (_, json) = diff("var", &["--config", config.to_str().unwrap()]);
    // The configured list replaces the default one: /var/log is compared again.
    assert_eq!(
        upgrade_findings(&json),
        [
            "var-content-changed warning /var/lib/acme/app.yaml:1:1",
            "var-content-changed warning /var/log/acme.log:1:1"
        ]
    );
    // A waiver in the configuration applies to upgrade findings too; an expired one does not.
    std::fs::write(
        &config,
        "ignore:\n  - rule: var-content-changed\n    path: /var/lib/acme/seed-*\n    reason: seeds only matter at install\n  \
         - rule: var-content-changed\n    path: /var/lib/acme/hook\n    reason: old\n    expires: 2020-01-01\n",
    )
    .unwrap();
    let (_, json) = diff("var", &["--config", config.to_str().unwrap()]);
    assert_eq!(
        upgrade_findings(&json),
        [
            "var-content-changed warning /var/lib/acme/app.yaml:1:1",
            "var-content-changed warning /var/lib/acme/hook:1:1"
        ]
    );
    // NEW's own check never has upgrade findings: its entries are not "unused" there.
    let rules: Vec<&str> =
        json["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert!(!rules.contains(&"unused-ignore"), "{rules:?}");
    assert!(rules.contains(&"expired-ignore"), "{rules:?}");
    std::fs::write(&config, "rules:\n  var-content-changed: off\n").unwrap();
    let (_, json) = diff("var", &["--config", config.to_str().unwrap(), "--fail-on", "warning"]);
    assert_eq!(upgrade_findings(&json), Vec::<String>::new());
}

#[test]
fn an_image_removed_but_still_referenced_replaces_not_embedded() {
    let (code, json) = diff("removed", &[]);
    assert_eq!(code, 1);
    assert_eq!(
        upgrade_findings(&json),
        ["embedded-removed-still-referenced error /usr/share/containers/systemd/agent.container:2:7"]
    );
    assert_eq!(names(&json["images"]["removed"]), [AGENT]);
    assert_eq!(json["new"]["verdict"], "not ready");
    assert_eq!(json["old"]["verdict"], "ready");
    // One finding per cause: NEW's own not-embedded for the reference is not repeated.
    let rules: Vec<&str> =
        json["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert!(!rules.contains(&"not-embedded"), "{rules:?}");
    // ... although `check` of NEW alone reports it there.
    let out = stowage()
        .args(["check", "--image", "rootfs:fixtures/diff/removed/new", "--no-cache", "--format", "compact"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("agent.container:2:7: error[not-embedded]"), "{text}");
    // Not ready fails the gate whatever --fail-on says.
    let (code, _) = diff("removed", &["--fail-on", "never"]);
    assert_eq!(code, 1);
}

#[test]
fn path_gives_new_its_sources() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("extra.container"), "[Container]\nImage=quay.io/acme/extra:1\n").unwrap();
    let (code, json) = diff("clean", &["--no-config", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 1, "NEW's sources run an image NEW does not carry");
    let added = names(&json["references"]["added"]);
    assert!(added.contains(&"quay.io/acme/extra:1"), "{added:?}");
    assert_eq!(json["new"]["verdict"], "not ready");
    assert!(json["findings"].as_array().unwrap().iter().any(|f| f["rule"] == "not-embedded"));
}

#[test]
fn an_unreadable_image_exits_2_naming_it() {
    for (old, new, named) in [
        ("rootfs:fixtures/diff/nope", "rootfs:fixtures/diff/clean/new", "rootfs:fixtures/diff/nope"),
        ("rootfs:fixtures/diff/clean/old", "oci:fixtures/diff/nope", "oci:fixtures/diff/nope"),
    ] {
        let out = stowage().args(["diff", old, new, "--no-cache"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("cannot read image `{named}`")), "{stderr}");
    }
}

#[test]
fn human_and_markdown_say_what_changed() {
    let out = stowage()
        .args(["diff", "rootfs:fixtures/diff/removed/old", "rootfs:fixtures/diff/removed/new", "--no-cache"])
        .args(["--format", "human", "--format"])
        .arg(format!(
            "markdown={}",
            std::env::temp_dir().join(format!("stowage-diff-{}.md", std::process::id())).display()
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("NEW rootfs:fixtures/diff/removed/new: NOT READY"), "{text}");
    assert!(text.contains(&format!("  - {AGENT} sha256:cb896d483fd0 (dir copy)")), "{text}");
    assert!(text.contains("error[embedded-removed-still-referenced] (upgrade)"), "{text}");
    let md_file = std::env::temp_dir().join(format!("stowage-diff-{}.md", std::process::id()));
    let md = std::fs::read_to_string(&md_file).unwrap();
    let _ = std::fs::remove_file(&md_file);
    assert!(md.starts_with("## ❌ stowage diff: upgrade gate FAILED"), "{md}");
    assert!(md.contains("```diff\n- quay.io/acme/agent:1@"), "{md}");
    assert!(md.contains("| error | `embedded-removed-still-referenced` (upgrade) | `/usr/share/containers/systemd/agent.container:2:7` |"), "{md}");
}

#[test]
fn oci_layers_shared_by_old_and_new_are_read_once() {
    use stowage::image::{ImageOptions, SharedLayers, open};
    let opts = ImageOptions {
        use_cache: false,
        watch: stowage::image::view::Watch { var: true },
        shared: Some(SharedLayers::default()),
        ..Default::default()
    };
    let old = open("oci:fixtures/diff/oci:old", &opts).expect("old");
    let new = open("oci:fixtures/diff/oci:new", &opts).expect("new");
    assert_eq!((old.stats.layers, old.stats.shared_layers), (1, 0));
    assert_eq!((new.stats.layers, new.stats.shared_layers), (2, 1), "the base layer came from OLD's read");
    // NEW read only its own top layer.
    let index: Value =
        serde_json::from_slice(&std::fs::read("fixtures/diff/oci/index.json").unwrap()).unwrap();
    let manifest_of = |tag: &str| -> Value {
        let m = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
            .unwrap();
        let hex = m["digest"].as_str().unwrap().trim_start_matches("sha256:");
        serde_json::from_slice(&std::fs::read(format!("fixtures/diff/oci/blobs/sha256/{hex}")).unwrap())
            .unwrap()
    };
    let top = manifest_of("new")["layers"][1]["size"].as_u64().unwrap();
    assert_eq!(new.stats.bytes_read, top);
    // Without sharing, NEW reads both.
    let alone = open("oci:fixtures/diff/oci:new", &ImageOptions { shared: None, ..opts.clone() }).unwrap();
    assert!(alone.stats.bytes_read > top);
    assert_eq!(alone.view, new.view);

    // And the command on the layout says what the rootfs pair says.
    let (code, json) = diff_specs("oci:fixtures/diff/oci:old", "oci:fixtures/diff/oci:new", &[]);
    assert_eq!(code, 0);
    assert_eq!(names(&json["images"]["added"]), [WORKER]);
    assert_eq!(upgrade_findings(&json), Vec::<String>::new());
}

#[test]
fn html_shows_the_changes_since_old_in_the_report_style() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("changes.html");
    let out = stowage()
        .args(["diff", "rootfs:fixtures/diff/store/old", "rootfs:fixtures/diff/store/new", "--no-cache"])
        .arg("--format")
        .arg(format!("html={}", file.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.contains("<h1>Changes since OLD</h1>"), "{html}");
    assert!(html.contains("UPGRADE GATE FAILED"));
    assert!(html.contains("<tr class=\"changed\">"));
    assert!(html.contains("<code>quay.io&#x2f;acme&#x2f;web:1</code>"), "names are HTML-escaped");
    assert!(
        html.contains("additional-store-changed</code> <span class=\"pill info\">upgrade</span>"),
        "{html}"
    );
    // The readiness report's stylesheet, and nothing fetched from elsewhere.
    assert!(html.contains(".hero.failed { border-left: 6px solid var(--err); }"));
    assert!(!html.contains("http://") && !html.contains("https://"));
    // Everything to a file: the summary line goes to stderr.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("stowage diff: 0 image(s) added, 0 removed, 1 changed; 1 upgrade error(s)"),
        "{stderr}"
    );
}

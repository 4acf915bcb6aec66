//! Every output format of `check` on the demo, from one run: validated against the formats'
//! own schemas (SARIF 2.1.0, the JUnit XSD, GitLab's Code Quality shape, our published JSON
//! Schemas), snapshotted, and the HTML report opened in headless Chromium.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// 2026-05-01T12:00:00Z: reports carry the time of the run; tests fix it.
const EPOCH: &str = "1777636800";
const FORMATS: &[(&str, &str)] = &[
    ("human", "report.txt"),
    ("compact", "report.compact"),
    ("json", "report.json"),
    ("sarif", "report.sarif"),
    ("junit", "junit.xml"),
    ("github", "github.txt"),
    ("gitlab", "gl-code-quality.json"),
    ("markdown", "report.md"),
    ("html", "readiness.html"),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn stowage() -> Command {
    let mut cmd = Command::cargo_bin("stowage").expect("the stowage binary is built");
    cmd.current_dir(root()).env("SOURCE_DATE_EPOCH", EPOCH).env_remove("STOWAGE_FORMAT");
    cmd
}

/// One `check` of the demo (with one configured waiver) writing every format to `dir`.
fn run_all(dir: &Path) -> std::process::Output {
    let mut cmd = stowage();
    cmd.args(["check", "fixtures/demo", "--config", "tests/data/waivers.stowage.yaml"]);
    for (format, file) in FORMATS {
        cmd.arg("--format").arg(format!("{format}={}", dir.join(file).display()));
    }
    cmd.output().expect("runs")
}

struct Outputs {
    _dir: tempfile::TempDir,
    path: PathBuf,
    stderr: String,
    status: Option<i32>,
}

impl Outputs {
    fn new() -> Outputs {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let out = run_all(dir.path());
        Outputs {
            path: dir.path().to_path_buf(),
            _dir: dir,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            status: out.status.code(),
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The text of a format, with the tool version made stable for snapshots.
    fn text(&self, name: &str) -> String {
        let text = std::fs::read_to_string(self.file(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        text.replace(env!("CARGO_MANIFEST_DIR"), "[ROOT]").replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
    }

    fn json(&self, name: &str) -> Value {
        serde_json::from_str(&self.text(name)).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
    }
}

/// The official SARIF 2.1.0 schema has one `pattern` (of `language`) with a lone `]`, a literal
/// in ECMAScript's Annex B grammar but rejected by the validator's strict regex check. Escaping
/// it keeps the pattern's meaning; the vendored file stays byte-for-byte the official one.
const SARIF_LANGUAGE_PATTERN: (&str, &str) =
    (r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#, r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$""#);

fn validate(schema_file: &str, instance: &Value) {
    let errors = schema_errors(schema_file, instance);
    assert!(errors.is_empty(), "not valid against {schema_file}:\n{}", errors.join("\n"));
}

fn schema_errors(schema_file: &str, instance: &Value) -> Vec<String> {
    let text =
        std::fs::read_to_string(root().join(schema_file)).unwrap_or_else(|e| panic!("{schema_file}: {e}"));
    let text = text.replace(SARIF_LANGUAGE_PATTERN.0, SARIF_LANGUAGE_PATTERN.1);
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{schema_file}: {e}"));
    validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

#[test]
fn every_format_is_written_by_one_run_and_the_gate_still_fails() {
    let out = Outputs::new();
    assert_eq!(out.status, Some(1), "stderr: {}", out.stderr);
    for (_, file) in FORMATS {
        assert!(out.file(file).is_file(), "{file} was not written");
    }
    // Nothing but the outputs: temporary files were renamed into place, readable by others.
    let entries = std::fs::read_dir(&out.path).expect("lists").count();
    assert_eq!(entries, FORMATS.len());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.file("readiness.html")).expect("exists").permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
    assert_eq!(
        out.stderr.trim_end(),
        "stowage: 9 files, 11 references, 6 images referenced: 7 errors, 6 warnings, 0 infos (3 waived) — FAILED\n\
         stowage: 6 runtime images referenced, 2 embedded in the embed plan, 4 missing (crio-pause-image 1/1, \
         kubernetes 0/4, quadlet 1/1): NOT READY"
    );
}

#[test]
fn sarif_validates_against_the_official_schema_and_carries_positions() {
    let out = Outputs::new();
    let sarif = out.json("report.sarif");
    validate("tests/schemas/sarif-schema-2.1.0.json", &sarif);
    // The validation is real: a wrong level is caught.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!schema_errors("tests/schemas/sarif-schema-2.1.0.json", &broken).is_empty());
    let run = &sarif["runs"][0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 13 + 3, "13 findings and 3 waived ones");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    for r in results {
        let index = r["ruleIndex"].as_u64().expect("a rule index") as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
        assert!(rules[index]["help"]["text"].as_str().is_some_and(|h| !h.is_empty()));
        assert!(r["partialFingerprints"]["stowage/v1"].as_str().is_some_and(|f| f.len() == 32));
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().is_some_and(|l| l >= 1));
    }
    let suppressed: Vec<&Value> = results.iter().filter(|r| r.get("suppressions").is_some()).collect();
    assert_eq!(suppressed.len(), 3);
    assert_eq!(suppressed[0]["suppressions"][0]["kind"], "external");
    let fingerprints: std::collections::BTreeSet<&str> =
        results.iter().filter_map(|r| r["partialFingerprints"]["stowage/v1"].as_str()).collect();
    assert_eq!(fingerprints.len(), results.len(), "fingerprints are unique");
}

#[test]
fn gitlab_code_quality_has_the_documented_shape_and_unique_fingerprints() {
    let out = Outputs::new();
    let report = out.json("gl-code-quality.json");
    validate("tests/schemas/gitlab-codequality.schema.json", &report);
    let mut broken = report.clone();
    broken[0]["severity"] = "error".into();
    assert!(!schema_errors("tests/schemas/gitlab-codequality.schema.json", &broken).is_empty());
    let issues = report.as_array().expect("an array");
    assert_eq!(issues.len(), 13);
    let prints: std::collections::BTreeSet<&str> =
        issues.iter().filter_map(|i| i["fingerprint"].as_str()).collect();
    assert_eq!(prints.len(), issues.len());
}

#[test]
fn json_outputs_follow_their_published_schemas() {
    let out = Outputs::new();
    validate("docs/check.schema.json", &out.json("report.json"));
    let refs = stowage().args(["refs", "fixtures/demo", "--format", "json"]).output().expect("runs");
    assert_eq!(refs.status.code(), Some(0));
    let refs: Value = serde_json::from_slice(&refs.stdout).expect("refs prints JSON");
    validate("docs/refs.schema.json", &refs);

    // Image mode: each device reference carries exactly one verdict, in both outputs.
    let image = ["--no-config", "--arch", "x86_64", "--image", "rootfs:fixtures/audit/images/app-missing"];
    let check = stowage().arg("check").args(image).args(["--format", "json"]).output().expect("runs");
    let check: Value = serde_json::from_slice(&check.stdout).expect("check prints JSON");
    validate("docs/check.schema.json", &check);
    let refs = stowage().arg("refs").args(image).args(["--format", "json"]).output().expect("runs");
    let refs: Value = serde_json::from_slice(&refs.stdout).expect("refs prints JSON");
    validate("docs/refs.schema.json", &refs);
    assert_eq!(check["references"], refs["references"], "check and refs judge references alike");
    let judged: Vec<&Value> = refs["references"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("embedded").is_some() || r.get("missing").is_some())
        .collect();
    assert!(!judged.is_empty());
    assert!(judged.iter().all(|r| r.get("embedded").is_some() != r.get("missing").is_some()));
    let reasons: Vec<&str> = judged.iter().filter_map(|r| r["missing"]["reason"].as_str()).collect();
    assert_eq!(reasons, ["not-carried"], "app-missing lacks the agent image only");
    // The schema holds the reason codes: an unknown one is refused.
    let mut broken = refs.clone();
    let agent = broken["references"].as_array_mut().unwrap().iter_mut().find(|r| r.get("missing").is_some());
    agent.unwrap()["missing"]["reason"] = "gone".into();
    assert!(!schema_errors("docs/refs.schema.json", &broken).is_empty());
    // check and refs share one definition of a reference.
    let schema = |p: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(p)).unwrap())
            .unwrap()
    };
    let (c, r) = (schema("docs/check.schema.json"), schema("docs/refs.schema.json"));
    assert_eq!(c["properties"]["references"]["items"], r["properties"]["references"]["items"]);
}

#[test]
fn junit_validates_against_the_junit_xsd() {
    let out = Outputs::new();
    let Ok(xmllint) = which("xmllint") else {
        eprintln!(
            "SKIPPED junit_validates_against_the_junit_xsd: xmllint is not installed (apt-get install libxml2-utils; .ci/run installs it)"
        );
        return;
    };
    let result = std::process::Command::new(xmllint)
        .args(["--noout", "--schema"])
        .arg(root().join("tests/schemas/junit.xsd"))
        .arg(out.file("junit.xml"))
        .output()
        .expect("xmllint runs");
    assert!(
        result.status.success(),
        "junit.xml does not validate:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let xml = out.text("junit.xml");
    assert_eq!(xml.matches("<failure").count(), 5, "one failure per reference with an error");
    assert_eq!(xml.matches("<testcase").count(), 11, "one case per reference");
}

#[test]
fn snapshots_of_every_format() {
    let out = Outputs::new();
    for (format, file) in FORMATS {
        insta::assert_snapshot!(format!("demo_{format}"), out.text(file));
    }
}

#[test]
fn at_most_one_format_goes_to_stdout() {
    let out = stowage()
        .args(["check", "fixtures/demo", "--format", "json", "--format", "sarif"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at most one format can go to stdout"));
    let out = stowage().args(["check", "fixtures/demo", "--format", "pdf"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown format `pdf`"));
}

#[test]
fn the_format_can_come_from_the_environment() {
    let out =
        stowage().args(["check", "fixtures/demo"]).env("STOWAGE_FORMAT", "github").output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("::warning file=fixtures/demo/Containerfile,line=5,col=6,"), "{text}");
}

fn which(name: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}

/// The HTML report opens in headless Chromium without console errors and shows the verdict;
/// a screenshot is taken (and copied to docs/ with STOWAGE_UPDATE_SCREENSHOT=1).
#[test]
fn the_html_report_renders_in_headless_chromium() {
    let Ok(chromium) = which("chromium").or_else(|_| which("chromium-browser")) else {
        eprintln!(
            "SKIPPED the_html_report_renders_in_headless_chromium: chromium is not installed (apt-get install chromium; .ci/run installs it)"
        );
        return;
    };
    let out = Outputs::new();
    let html = out.file("readiness.html");
    let url = format!("file://{}", html.display());
    let profile = tempfile::tempdir().expect("a profile directory");
    let browser = |extra: &[&str]| {
        let mut cmd = std::process::Command::new("timeout");
        cmd.arg("120").arg(&chromium).args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ]);
        cmd.arg(format!("--user-data-dir={}", profile.path().display()));
        cmd.args(extra).arg(&url);
        cmd.output().expect("chromium runs")
    };

    let dom = browser(&["--dump-dom"]);
    assert!(dom.status.success(), "chromium failed: {}", String::from_utf8_lossy(&dom.stderr));
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    assert!(dom_text.contains(r#"id="verdict">FAILED</span>"#), "the verdict is not shown");
    assert!(dom_text.contains("Readiness score"), "the score is not shown");
    let log = String::from_utf8_lossy(&dom.stderr);
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages:\n{}", console.join("\n"));

    let png = profile.path().join("report.png");
    let shot = browser(&[&format!("--screenshot={}", png.display()), "--window-size=1280,2000"]);
    assert!(shot.status.success(), "chromium failed: {}", String::from_utf8_lossy(&shot.stderr));
    let bytes = std::fs::read(&png).expect("a screenshot was written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000, "not a real screenshot");
    if std::env::var_os("STOWAGE_UPDATE_SCREENSHOT").is_some() {
        std::fs::copy(&png, root().join("docs/readiness-report.png")).expect("copies the screenshot");
    }
}

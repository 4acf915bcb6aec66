//! The boot-time copy step as the device runs it (issue 15): each case is the complete audit
//! image (`fixtures/audit/images/complete`: five `dir:` copies, the documented script under
//! `set -eux -o pipefail`, `ExecStartPre=` without `-`) with one change, checked with
//! `stowage check --image rootfs:...`. `tests/device_oracle.rs` runs the same kinds of change
//! through bash, skopeo and containers/storage and compares; these pin the verdicts.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

const STORE: &str = "usr/lib/containers/storage";
const LIST: &str = "usr/lib/containers/storage/image-list.txt";
const SCRIPT: &str = "usr/bin/microshift-copy-images";
const DROP_IN: &str = "usr/lib/systemd/system/microshift.service.d/microshift-copy-images.conf";

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of the complete image to change.
struct Image {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Image {
    fn complete() -> Image {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/audit/images/complete"), &root);
        Image { _dir: dir, root }
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.root.join(path)).unwrap()
    }

    fn write(&self, path: &str, text: &str) {
        std::fs::write(self.root.join(path), text).unwrap();
    }

    /// The list's lines, as (REF, H).
    fn lines(&self) -> Vec<(String, String)> {
        self.read(LIST)
            .lines()
            .map(|l| {
                let (r, h) = l.split_once(',').unwrap();
                (r.to_string(), h.to_string())
            })
            .collect()
    }

    fn check(&self) -> (i32, Value) {
        let out = Command::cargo_bin("stowage")
            .unwrap()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("NO_COLOR", "1")
            .args(["check", "--no-config", "--arch", "x86_64", "--format", "json", "--image"])
            .arg(format!("rootfs:{}", self.root.display()))
            .output()
            .expect("runs");
        (out.status.code().unwrap_or(-1), serde_json::from_slice(&out.stdout).expect("JSON"))
    }
}

/// The missing reason of each judged reference, by image text.
fn verdicts(report: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = report["references"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| {
            let verdict = match (r.get("embedded"), r.get("missing")) {
                (Some(_), None) => "embedded".to_string(),
                (None, Some(m)) => m["reason"].as_str().unwrap().to_string(),
                _ => return None,
            };
            Some((r["resolved"].as_str().unwrap_or_default().to_string(), verdict))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The verdict on the reference that is `image`, or `image` pinned by a digest.
fn verdict_of<'a>(all: &'a [(String, String)], image: &str) -> &'a str {
    all.iter()
        .find(|(r, _)| r == image || r.strip_prefix(image).is_some_and(|rest| rest.starts_with('@')))
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("{image} judged in {all:?}"))
}

fn findings<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == rule).collect()
}

fn ready(report: &Value) -> bool {
    report["summary"]["readiness"]["verdict"] == "ready"
}

#[test]
fn the_complete_image_is_ready_and_every_reference_embedded() {
    let image = Image::complete();
    let (code, report) = image.check();
    assert_eq!(code, 0);
    assert!(ready(&report));
    let all = verdicts(&report);
    assert_eq!(all.len(), 5);
    assert!(all.iter().all(|(_, v)| v == "embedded"), "{all:?}");
}

/// The list names `REF@sha256:A`; its directory holds another image (B): skopeo refuses the
/// copy ("Digest of source image's manifest would not match destination reference"), and under
/// `set -e` the script stops there. stowage used to count it as embedded and say READY.
#[test]
fn a_copy_whose_manifest_is_not_the_pinned_digest_is_refused_and_stops_the_script() {
    let image = Image::complete();
    let lines = image.lines();
    // Line 4 is the pause image (a digest reference); line 5 another release image.
    let (pause, pause_h) = &lines[3];
    let (dns, dns_h) = &lines[4];
    assert!(pause.contains("@sha256:"));
    let pause_dir = image.root.join(STORE).join(pause_h);
    std::fs::remove_dir_all(&pause_dir).unwrap();
    copy_tree(&image.root.join(STORE).join(dns_h), &pause_dir);
    let (code, report) = image.check();
    assert_eq!(code, 1);
    assert!(!ready(&report));
    let all = verdicts(&report);
    assert_eq!(verdict_of(&all, pause), "digest-mismatch");
    assert_eq!(verdict_of(&all, dns), "copy-not-reached", "the script stopped at line 4");
    let fails = findings(&report, "copy-script-fails");
    assert_eq!(fails.len(), 1);
    assert_eq!(fails[0]["location"]["line"], 4);
    let message = fails[0]["message"].as_str().unwrap();
    assert!(message.contains("would not match destination reference"), "{message}");
    assert!(message.contains("microshift.service does not start"), "{message}");
}

/// The first failing copy ends a `set -e` script: every later line is never copied, and the
/// failing `ExecStartPre=` keeps MicroShift from starting.
#[test]
fn under_set_e_the_first_failure_ends_the_script() {
    let image = Image::complete();
    let lines = image.lines();
    let web_dir = image.root.join(STORE).join(&lines[0].1);
    let blob = std::fs::read_dir(&web_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().len() == 64)
        .unwrap();
    std::fs::remove_file(blob).unwrap();
    let (code, report) = image.check();
    assert_eq!(code, 1);
    let all = verdicts(&report);
    assert_eq!(verdict_of(&all, &lines[1].0), "copy-not-reached");
    assert_eq!(verdict_of(&all, &lines[4].0), "copy-not-reached");
    let fails = findings(&report, "copy-script-fails");
    assert_eq!(fails.len(), 1);
    assert!(fails[0]["message"].as_str().unwrap().contains("4 later line(s) are never copied"));

    // Without `set -e` the script goes on: only the broken copy is missing, and as it is not the
    // last line the script still succeeds.
    let script = image.read(SCRIPT).replace("set -eux -o pipefail\n", "");
    image.write(SCRIPT, &script);
    let (_, report) = image.check();
    let all = verdicts(&report);
    assert_eq!(all.iter().filter(|(_, v)| v != "embedded").count(), 1, "{all:?}");
    assert_eq!(verdict_of(&all, &lines[1].0), "embedded");
    let fails = findings(&report, "copy-script-fails");
    assert!(fails[0]["message"].as_str().unwrap().contains("goes on (no `set -e`)"));
    assert!(!fails[0]["message"].as_str().unwrap().contains("does not start"));
}

/// `while IFS=, read -r img sha` never runs its body for a last line without a newline: that
/// image is never copied, and the script exits 0.
#[test]
fn a_last_line_without_a_newline_is_never_copied() {
    let image = Image::complete();
    let list = image.read(LIST);
    image.write(LIST, list.trim_end_matches('\n'));
    let lines = image.lines();
    let (code, report) = image.check();
    assert_eq!(code, 1);
    assert!(!ready(&report));
    let all = verdicts(&report);
    assert_eq!(verdict_of(&all, &lines[4].0), "copy-not-reached");
    assert_eq!(all.iter().filter(|(_, v)| v != "embedded").count(), 1, "{all:?}");
    let corrupt = findings(&report, "image-list-corrupt");
    assert_eq!(corrupt.len(), 1);
    assert_eq!(corrupt[0]["location"]["line"], 5);
    assert!(findings(&report, "copy-script-fails").is_empty(), "the script itself succeeds");
}

/// An empty line gives skopeo an empty reference: under `set -e` it ends the script.
#[test]
fn an_empty_line_fails_the_copy() {
    let image = Image::complete();
    let lines = image.lines();
    let list = image.read(LIST).replacen('\n', "\n\n", 1);
    image.write(LIST, &list);
    let (_, report) = image.check();
    let all = verdicts(&report);
    assert_eq!(verdict_of(&all, &lines[0].0), "embedded");
    assert_eq!(verdict_of(&all, &lines[1].0), "copy-not-reached");
    assert_eq!(findings(&report, "copy-script-fails")[0]["location"]["line"], 2);
}

/// `ExecStartPre=-` ignores the script's failure: MicroShift starts, without the images not
/// copied.
#[test]
fn a_dash_prefix_lets_microshift_start() {
    let image = Image::complete();
    let lines = image.lines();
    std::fs::remove_dir_all(image.root.join(STORE).join(&lines[4].1)).unwrap();
    let drop_in = image.read(DROP_IN).replace("ExecStartPre=/", "ExecStartPre=-/");
    image.write(DROP_IN, &drop_in);
    let (_, report) = image.check();
    let fails = findings(&report, "copy-script-fails");
    assert_eq!(fails.len(), 1);
    let message = fails[0]["message"].as_str().unwrap();
    assert!(message.contains("MicroShift starts without"), "{message}");
    assert_eq!(verdict_of(&verdicts(&report), &lines[4].0), "copy-fails");
}

/// A script of another shape is reported (info) and taken line by line.
#[test]
fn another_script_shape_is_reported() {
    let image = Image::complete();
    image.write(
        SCRIPT,
        "#!/bin/bash\nfor d in /usr/lib/containers/storage/*/; do\n    skopeo copy \"dir:$d\" containers-storage:x\ndone\n",
    );
    let (_, report) = image.check();
    let info = findings(&report, "copy-script-unrecognised");
    assert_eq!(info.len(), 1);
    assert_eq!(info[0]["severity"], "info");
    assert!(verdicts(&report).iter().all(|(_, v)| v == "embedded"));
}

/// A script systemd cannot execute fails `ExecStartPre=` with 203/EXEC before anything is
/// copied: every `dir:` image is missing and MicroShift does not start.
#[test]
fn a_script_that_is_not_executable_copies_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let image = Image::complete();
    std::fs::set_permissions(image.root.join(SCRIPT), std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, report) = image.check();
    assert_eq!(code, 1);
    let all = verdicts(&report);
    assert!(all.iter().all(|(_, v)| v == "copy-not-reached"), "{all:?}");
    let fails = findings(&report, "copy-script-fails");
    assert_eq!(fails.len(), 1);
    assert_eq!(fails[0]["location"]["file"], format!("/{DROP_IN}"));
    let message = fails[0]["message"].as_str().unwrap();
    assert!(message.contains("203/EXEC") && message.contains("does not start"), "{message}");
}

/// CRLF line endings: `read` keeps the carriage return in H, so the first copy's directory does
/// not exist and, under `set -e`, nothing after it is copied either.
#[test]
fn crlf_line_endings_fail_the_first_copy() {
    let image = Image::complete();
    let lines = image.lines();
    image.write(LIST, &image.read(LIST).replace('\n', "\r\n"));
    let (_, report) = image.check();
    let all = verdicts(&report);
    assert_eq!(verdict_of(&all, &lines[0].0), "copy-fails");
    assert_eq!(verdict_of(&all, &lines[4].0), "copy-not-reached");
    assert_eq!(findings(&report, "copy-script-fails")[0]["location"]["line"], 1);
}

/// systemd reads drop-ins from `/etc/systemd/system/microshift.service.d` as well
/// (systemd.unit(5)): a copy step installed there runs at boot like one in `/usr/lib`.
#[test]
fn a_drop_in_in_etc_runs_the_copy_step() {
    let image = Image::complete();
    let text = image.read(DROP_IN);
    std::fs::remove_file(image.root.join(DROP_IN)).unwrap();
    let etc = image.root.join("etc/systemd/system/microshift.service.d");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(etc.join("10-copy.conf"), text).unwrap();
    let (code, report) = image.check();
    assert_eq!(code, 0, "{report}");
    assert!(ready(&report));
    assert!(verdicts(&report).iter().all(|(_, v)| v == "embedded"));
}

/// A drop-in of the same name in `/etc` hides the one in `/usr/lib`, and an empty
/// `ExecStartPre=` in a drop-in sorted after it (`zz-` > `m`) clears the commands before it: either way the copy step
/// no longer runs, and nothing in the list is copied.
#[test]
fn an_etc_drop_in_that_hides_or_clears_the_copy_step_stops_it() {
    let etc = "etc/systemd/system/microshift.service.d";
    let name = Path::new(DROP_IN).file_name().unwrap().to_str().unwrap().to_string();
    for (file, text) in
        [(name.as_str(), "[Service]\nEnvironment=X=1\n"), ("zz-reset.conf", "[Service]\nExecStartPre=\n")]
    {
        let image = Image::complete();
        std::fs::create_dir_all(image.root.join(etc)).unwrap();
        image.write(&format!("{etc}/{file}"), text);
        let (code, report) = image.check();
        assert_eq!(code, 1, "{file}: {report}");
        assert!(!ready(&report), "{file}");
        let all = verdicts(&report);
        assert!(all.iter().all(|(_, v)| v == "not-visible"), "{file}: {all:?}");
        assert_eq!(findings(&report, "copy-service-missing").len(), 1, "{file}");
    }
}

/// containers/image reuses a layer the store already has instead of reading the source's blob:
/// a copy missing a layer blob that an earlier line's copy put in the store still succeeds,
/// and fails when it comes first (device oracle case m145 at seed 0x150ac1e).
#[test]
fn a_missing_layer_blob_an_earlier_copy_stored_is_reused() {
    use sha2::{Digest, Sha256};
    for earlier in [true, false] {
        let image = Image::complete();
        let (web, web_h) = image.lines()[0].clone();
        let reference = web.replace(":1.2", ":reuse");
        let hash = hex::encode(Sha256::digest(format!("{reference}\n")));
        let copy = image.root.join(STORE).join(&hash);
        copy_tree(&image.root.join(STORE).join(&web_h), &copy);
        let manifest: Value =
            serde_json::from_str(&image.read(&format!("{STORE}/{hash}/manifest.json"))).unwrap();
        let layer = manifest["layers"][0]["digest"].as_str().unwrap().to_string();
        std::fs::remove_file(copy.join(layer.trim_start_matches("sha256:"))).unwrap();
        let list = image.read(LIST);
        let line = format!("{reference},{hash}\n");
        image.write(LIST, &if earlier { format!("{list}{line}") } else { format!("{line}{list}") });
        let (code, report) = image.check();
        if earlier {
            assert_eq!(code, 0, "{report}");
            assert!(ready(&report));
            assert!(findings(&report, "copy-script-fails").is_empty());
        } else {
            assert_eq!(code, 1);
            let fails = findings(&report, "copy-script-fails");
            assert_eq!(fails.len(), 1, "{report}");
            assert_eq!(fails[0]["location"]["line"], 1);
            assert!(
                fails[0]["message"].as_str().unwrap().contains(&format!("layer blob {layer} is missing"))
            );
        }
    }
}

/// Not the copy step, but the same image: a kustomization MicroShift applies from the image
/// that does not build (a resource file missing) is refused whole by MicroShift, so its
/// workloads never start. The in-image build's problems used to be dropped when the image's
/// facts joined the repository's: READY, exit 0.
#[test]
fn an_in_image_kustomization_that_does_not_build_fails_the_gate() {
    let image = Image::complete();
    let path = "usr/lib/microshift/manifests.d/acme/kustomization.yaml";
    image.write(path, "resources:\n  - worker.yaml\n  - missing.yaml\n");
    let (code, report) = image.check();
    assert_eq!(code, 1, "{report}");
    let found = findings(&report, "kustomization-unbuildable");
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0]["location"]["file"], format!("/{path}"));
    assert_eq!(found[0]["location"]["line"], 3);
    assert_eq!(found[0]["location"]["in_image"], true);
}

/// The storage and registries configuration CRI-O reads, and MicroShift's own, must parse:
/// containers/storage, containers/image and MicroShift refuse a file that does not, so the
/// device does not work as the rest of the audit assumes. Each used to be read as absent:
/// READY, exit 0.
#[test]
fn an_unparsable_storage_registries_or_microshift_conf_fails_the_gate() {
    for (path, text, at) in [
        ("etc/containers/storage.conf", "[storage\ndriver = \"overlay\"\n", (1, 9)),
        ("etc/containers/registries.conf", "unqualified-search-registries = [\n", (1, 1)),
        ("etc/microshift/config.yaml", "manifests:\n  kustomizePaths: [\n", (2, 19)),
    ] {
        let image = Image::complete();
        std::fs::create_dir_all(image.root.join(path).parent().unwrap()).unwrap();
        image.write(path, text);
        let (code, report) = image.check();
        assert_eq!(code, 1, "{path}: {report}");
        assert!(!ready(&report), "{path}");
        let found = findings(&report, "unparsable-file");
        assert_eq!(found.len(), 1, "{path}: {report}");
        assert_eq!(found[0]["location"]["file"], format!("/{path}"));
        assert_eq!(
            (found[0]["location"]["line"].as_u64(), found[0]["location"]["column"].as_u64()),
            (Some(at.0), Some(at.1))
        );
        assert_eq!(found[0]["location"]["in_image"], true);
        assert!(found[0]["message"].as_str().unwrap().contains("refuses it"), "{}", found[0]["message"]);
    }
}

/// skopeo checks each `dir:` source against the image's signature policy: a policy whose
/// default is `reject` (as containers-policy.json(5) recommends) with no `dir` scope refuses
/// the first copy, and under `set -e` MicroShift does not start; allowing the `dir` transport
/// makes the image ready again.
#[test]
fn a_signature_policy_that_rejects_dir_sources_fails_the_copy() {
    let image = Image::complete();
    std::fs::create_dir_all(image.root.join("etc/containers")).unwrap();
    image.write("etc/containers/policy.json", r#"{"default": [{"type": "reject"}]}"#);
    let (code, report) = image.check();
    assert_eq!(code, 1, "{report}");
    assert!(!ready(&report));
    let fails = findings(&report, "copy-script-fails");
    assert_eq!(fails.len(), 1, "{report}");
    assert_eq!(fails[0]["location"]["line"], 1);
    let message = fails[0]["message"].as_str().unwrap();
    assert!(message.contains("policy.json rejects it"), "{message}");
    image.write(
        "etc/containers/policy.json",
        r#"{"default": [{"type": "reject"}], "transports": {"dir": {"": [{"type": "insecureAcceptAnything"}]}}}"#,
    );
    let (code, report) = image.check();
    assert_eq!(code, 0, "{report}");
    assert!(ready(&report));
}

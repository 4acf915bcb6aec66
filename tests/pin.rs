//! `stowage pin` against a real registry (the CNCF distribution `docker-registry`) on
//! 127.0.0.1, images pushed by skopeo from fixtures/online/oci (see its regenerate.sh): a
//! repository with every kind of source (tests/data/pin/repo) is pinned, and the written bytes
//! are compared with the fixture plus exactly the expected changes. The fixture names
//! `registry.pin.test/...`; a registries.conf `[[registry]]` sends it to the test's registry.
//! `.ci/run` installs the tools; elsewhere the tests print SKIP.

mod registries;

use assert_cmd::Command;
use registries::{free_port, have, start_registry, tools};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Stdio;

fn oci(tag: &str) -> String {
    format!("oci:{}/fixtures/online/oci:{tag}", env!("CARGO_MANIFEST_DIR"))
}

fn skopeo(args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new("skopeo").args(args).output().unwrap();
    assert!(out.status.success(), "skopeo {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Push the fixture image `tag` to `host/repo` (`--all` for an index).
fn push_image(tag: &str, host: &str, repo: &str) {
    let dest = format!("docker://{host}/{repo}");
    skopeo(&["copy", "-q", "--all", "--dest-tls-verify=false", &oci(tag), &dest]);
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// What `skopeo inspect --raw` hashes to: the digest a pull of `repo` gets.
fn digest(host: &str, repo: &str) -> String {
    sha256(&skopeo(&["inspect", "--raw", "--tls-verify=false", &format!("docker://{host}/{repo}")]))
}

/// The digest of the linux/`arch` manifest of the index `repo`.
fn instance(host: &str, repo: &str, arch: &str) -> String {
    let raw = skopeo(&["inspect", "--raw", "--tls-verify=false", &format!("docker://{host}/{repo}")]);
    let index: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    let m = index["manifests"].as_array().unwrap();
    let d = m.iter().find(|d| d["platform"]["architecture"] == arch).expect("the platform");
    d["digest"].as_str().unwrap().to_string()
}

/// H of a `dir:` copy: sha256 of the reference and a newline.
fn h(reference: &str) -> String {
    hex::encode(Sha256::digest(format!("{reference}\n").as_bytes()))
}

struct Setup {
    registry: registries::Registry,
    dir: tempfile::TempDir,
    repo: PathBuf,
    conf: PathBuf,
}

/// A registry with the fixture's images, a copy of tests/data/pin/repo (two files in CRLF)
/// and a registries.conf sending `registry.pin.test` to the registry.
fn setup() -> Option<Setup> {
    if !tools(&["docker-registry", "skopeo", "patch"]) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let registry = start_registry(dir.path(), "", "");
    let host = registry.host.clone();
    for (tag, repo) in [
        ("amd", "acme/base:amd"),
        ("amd", "acme/tool:amd"),
        ("amd", "acme/app:amd"),
        ("amd", "acme/svc:amd"),
        ("other", "acme/app:latest"),
        ("multi", "acme/app:multi"),
        ("multi", "acme/web:multi"),
        ("multi", "acme/svc:multi"),
    ] {
        push_image(tag, &host, repo);
    }
    let repo = dir.path().join("repo");
    copy_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pin/repo"), &repo);
    for crlf in ["k8s/pod.yaml", "kustomize/prod/kustomization.yaml"] {
        let text = std::fs::read_to_string(repo.join(crlf)).unwrap();
        std::fs::write(repo.join(crlf), text.replace('\n', "\r\n")).unwrap();
    }
    let conf = dir.path().join("registries.conf");
    let text =
        format!("[[registry]]\nprefix = \"registry.pin.test\"\nlocation = \"{host}\"\ninsecure = true\n");
    std::fs::write(&conf, text).unwrap();
    Some(Setup { registry, dir, repo, conf })
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

impl Setup {
    fn host(&self) -> &str {
        &self.registry.host
    }

    fn stowage(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        Command::cargo_bin("stowage")
            .unwrap()
            .current_dir(&self.repo)
            .env("HOME", self.dir.path())
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("CONTAINERS_REGISTRIES_CONF")
            .env_remove("STOWAGE_ARCH")
            .args(args)
            .assert()
    }

    fn pin(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        let conf = self.conf.display().to_string();
        let mut all = vec!["pin", "--registries-conf", conf.as_str()];
        all.extend_from_slice(args);
        self.stowage(&all)
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.repo.join(file)).unwrap()
    }

    fn tree(&self) -> Vec<(PathBuf, Vec<u8>)> {
        tree(&self.repo)
    }
}

/// Every file under `root`, by path relative to it, and its bytes.
fn tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// `text` with each `from` (found exactly once) replaced by its `to`.
fn replaced(text: &str, changes: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (from, to) in changes {
        assert_eq!(out.matches(from.as_str()).count(), 1, "`{from}` once in\n{out}");
        out = out.replace(from.as_str(), to);
    }
    out
}

fn c(from: &str, to: &str) -> (String, String) {
    (from.to_string(), to.to_string())
}

fn original(file: &str) -> String {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pin/repo").join(file))
            .unwrap();
    if file == "k8s/pod.yaml" || file == "kustomize/prod/kustomization.yaml" {
        text.replace('\n', "\r\n")
    } else {
        text
    }
}

const R: &str = "registry.pin.test/acme";

#[test]
fn pin_writes_each_digest_where_it_takes_effect() {
    let Some(s) = setup() else { return };
    let host = s.host().to_string();
    let amd = digest(&host, "acme/base:amd");
    let (app_multi, app_latest) = (digest(&host, "acme/app:multi"), digest(&host, "acme/app:latest"));
    let web_amd64 = instance(&host, "acme/web:multi", "amd64");
    let svc_multi = digest(&host, "acme/svc:multi");
    assert_ne!(web_amd64, digest(&host, "acme/web:multi"), "an index and its manifest differ");
    let before = s.tree();

    // The default prints the diff and changes nothing; --check fails.
    let out = s.pin(&[]).success();
    let diff = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let patched = s.dir.path().join("patched");
    copy_tree(&s.repo, &patched);
    let applied = std::process::Command::new("patch")
        .args(["-p1", "-s", "-d"])
        .arg(&patched)
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut p| {
            use std::io::Write;
            p.stdin.take().unwrap().write_all(diff.as_bytes())?;
            p.wait()
        });
    let quadlet = format!(
        "--- a/quadlet/app.container\n+++ b/quadlet/app.container\n@@ -2,4 +2,4 @@\n Description=app\n \n [Container]\n-Image={R}/app\n+Image={R}/app@{app_latest}\n"
    );
    assert!(diff.contains(&quadlet), "{diff}");
    assert_eq!(s.tree(), before);
    s.pin(&["--check"]).code(1);
    assert_eq!(s.tree(), before);

    let asked_before = s.registry.requests().len();
    let out = s.pin(&["--write"]).success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    // One manifest request per tag, however many references name it (16 references, 8 tags),
    // and one config request per single-platform image, for its platform.
    let asked: Vec<String> = s.registry.requests()[asked_before..].to_vec();
    let manifests: Vec<&String> = asked.iter().filter(|r| r.contains("/manifests/")).collect();
    let unique: std::collections::BTreeSet<&String> = manifests.iter().copied().collect();
    assert_eq!((manifests.len(), unique.len()), (8, 8), "{asked:#?}");
    assert_eq!(asked.iter().filter(|r| r.contains("/blobs/")).count(), 5, "{asked:#?}");
    assert!(
        stderr.contains("stowage: 15 pinned, 1 already pinned, 1 left (1 built from variables or templates)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Containerfile:9:6: `registry.pin.test/acme/tool:amd` left: built from variables"),
        "{stderr}"
    );

    let (app_h, web_h) = (h(&format!("{R}/app:multi")), h(&format!("{R}/web:multi")));
    let (app_new, web_new) = (format!("{R}/app:multi@{app_multi}"), format!("{R}/web:multi@{web_amd64}"));
    let expected = replaced(
        &original("Containerfile"),
        &[
            c(&format!("ARG BASE={R}/base:amd\n"), &format!("ARG BASE={R}/base:amd@{amd}\n")),
            c(&format!("FROM {R}/app:multi\n"), &format!("FROM {app_new}\n")),
            c(&format!("--from={R}/tool:amd "), &format!("--from={R}/tool:amd@{amd} ")),
            c(&format!("from={R}/tool:amd,"), &format!("from={R}/tool:amd@{amd},")),
            c(
                &format!("docker://{R}/app:multi dir:/usr/lib/containers/storage/{app_h}"),
                &format!("docker://{app_new} dir:/usr/lib/containers/storage/{}", h(&app_new)),
            ),
            c(&format!("\"{R}/app:multi,{app_h}\""), &format!("\"{app_new},{}\"", h(&app_new))),
            c(
                &format!("\"docker://{R}/web:multi\" 'dir:/usr/lib/containers/storage/{web_h}'"),
                &format!("\"docker://{web_new}\" 'dir:/usr/lib/containers/storage/{}'", h(&web_new)),
            ),
            c(&format!("storage {R}/app:amd\n"), &format!("storage {R}/app:amd@{amd}\n")),
        ],
    );
    assert_eq!(s.read("Containerfile"), expected);
    assert_eq!(s.read("files/image-list.txt"), format!("{web_new},{}\n", h(&web_new)));
    let expected = replaced(
        &original("k8s/pod.yaml"),
        &[
            c(&format!("\"{R}/app:latest\""), &format!("\"{R}/app@{app_latest}\"")),
            c(&format!("image: {R}/tool:amd\r\n"), &format!("image: {R}/tool:amd@{amd}\r\n")),
        ],
    );
    assert_eq!(s.read("k8s/pod.yaml"), expected, "CRLF, quotes and comments kept");
    let expected = replaced(
        &original("k8s/operator.yaml"),
        &[
            c(&format!("image: {R}/base:amd\n"), &format!("image: {R}/base:amd@{amd}\n")),
            c(&format!("value: {R}/tool:amd\n"), &format!("value: {R}/tool:amd@{amd}\n")),
        ],
    );
    assert_eq!(s.read("k8s/operator.yaml"), expected);
    assert_eq!(
        s.read("quadlet/app.container"),
        original("quadlet/app.container").replace(&format!("{R}/app\n"), &format!("{R}/app@{app_latest}\n"))
    );
    // The overlay that re-tags gets the digest; the shared base is not touched; the overlay
    // ending on the base's tag gets an entry of its own.
    assert_eq!(
        s.read("kustomize/prod/kustomization.yaml"),
        format!("{}  digest: {svc_multi}\r\n", original("kustomize/prod/kustomization.yaml"))
    );
    assert_eq!(s.read("kustomize/base/deploy.yaml"), original("kustomize/base/deploy.yaml"));
    assert_eq!(
        s.read("kustomize/dev/kustomization.yaml"),
        format!(
            "{}images:\n- name: {R}/svc\n  newTag: \"amd\"\n  digest: {amd}\n",
            original("kustomize/dev/kustomization.yaml")
        )
    );

    // kustomize itself (the oracle, when installed) builds the pinned images.
    if have("kubectl") {
        for (overlay, image) in
            [("dev", format!("{R}/svc:amd@{amd}")), ("prod", format!("{R}/svc:multi@{svc_multi}"))]
        {
            let out = std::process::Command::new("kubectl")
                .arg("kustomize")
                .arg(s.repo.join("kustomize").join(overlay))
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let built = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(built.contains(&format!("image: {image}\n")), "{overlay}: {built}");
        }
    }

    // The diff printed before says exactly what --write did.
    assert!(applied.is_ok_and(|status| status.success()), "patch -p1 did not apply the diff:\n{diff}");
    assert_eq!(tree(&patched), s.tree());

    // A second run changes nothing; --check passes.
    let after = s.tree();
    let out = s.pin(&["--write"]).success();
    assert!(
        String::from_utf8_lossy(&out.get_output().stderr).contains("0 pinned, 16 already pinned, 1 left")
    );
    assert_eq!(s.tree(), after);
    s.pin(&["--check"]).success();

    // check has nothing left to say about tags, but for the reference built from a variable.
    let out = s.stowage(&["check", "--format", "json", "--fail-on", "never"]).success();
    let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let tags: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            ["mutable-tag", "latest-tag", "base-image-unpinned"].contains(&f["rule"].as_str().unwrap())
        })
        .map(|f| format!("{}:{}", f["location"]["file"].as_str().unwrap(), f["location"]["line"]))
        .collect();
    assert_eq!(tags, ["Containerfile:9"]);
}

/// What the pinned embeds copy holds the digest they name: skopeo copies the pinned
/// reference as the Containerfile line does, and the boot-time copy would verify it.
#[test]
fn a_copy_without_all_holds_the_manifest_its_pinned_digest_names() {
    let Some(s) = setup() else { return };
    s.pin(&["--write"]).success();
    let host = s.host().to_string();
    for (repo, all) in [("web", false), ("app", true)] {
        let text = s.read("Containerfile");
        let at = text.find(&format!("docker://{R}/{repo}:multi@")).unwrap() + "docker://".len();
        let pinned = text[at..].split([' ', '"']).next().unwrap();
        let digest = pinned.split('@').nth(1).unwrap();
        let dir = s.dir.path().join(format!("copy-{repo}"));
        let source = format!("docker://{host}/acme/{repo}@{digest}");
        let dest = format!("dir:{}", dir.display());
        let mut args = vec!["copy", "-q", "--preserve-digests", "--src-tls-verify=false"];
        if all {
            args.push("--all");
        }
        args.extend([source.as_str(), dest.as_str()]);
        skopeo(&args);
        let manifest = std::fs::read(dir.join("manifest.json")).unwrap();
        assert_eq!(sha256(&manifest), digest, "{repo}: the dir: copy's manifest is the pinned one");
    }
}

#[test]
fn update_rewrites_a_tag_that_moved() {
    let Some(s) = setup() else { return };
    s.pin(&["--write"]).success();
    let host = s.host().to_string();
    let old = digest(&host, "acme/tool:amd");
    push_image("other", &host, "acme/tool:amd");
    let new = digest(&host, "acme/tool:amd");
    assert_ne!(old, new);
    s.pin(&["--check"]).success();
    s.pin(&["--check", "--update"]).code(1);
    s.pin(&["--update", "--write"]).success();
    let pod = s.read("k8s/pod.yaml");
    assert!(pod.contains(&format!("image: {R}/tool:amd@{new}\r\n")), "{pod}");
    let containerfile = s.read("Containerfile");
    assert!(containerfile.contains(&format!("--from={R}/tool:amd@{new} ")), "{containerfile}");
    assert!(containerfile.contains(&format!("from={R}/tool:amd@{new},")), "{containerfile}");
    assert!(
        containerfile.contains(&format!("ARG BASE={R}/base:amd@{old}\n")),
        "a tag that did not move stays"
    );
    s.pin(&["--check", "--update"]).success();
}

#[test]
fn an_unreachable_registry_exits_2_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(dir.path().join("Containerfile"), "FROM registry.pin.test/acme/app:1\n").unwrap();
    let conf = dir.path().join("registries.conf");
    let text = format!(
        "[[registry]]\nprefix = \"registry.pin.test\"\nlocation = \"127.0.0.1:{port}\"\ninsecure = true\n"
    );
    std::fs::write(&conf, text).unwrap();
    let out = Command::cargo_bin("stowage")
        .unwrap()
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .args(["pin", "--write", "--online-timeout", "5", "--registries-conf"])
        .arg(&conf)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains(&format!("registry 127.0.0.1:{port} could not be reached")), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("Containerfile")).unwrap(),
        "FROM registry.pin.test/acme/app:1\n"
    );
}

#[test]
fn a_registry_that_refuses_exits_2_and_creds_go_only_to_their_registry() {
    if !tools(&["docker-registry", "skopeo", "htpasswd"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let htpasswd =
        std::process::Command::new("htpasswd").args(["-Bbn", "stowage", "s3cret"]).output().unwrap();
    std::fs::write(dir.path().join("htpasswd"), &htpasswd.stdout).unwrap();
    let auth = format!(
        "auth:\n  htpasswd:\n    realm: stowage\n    path: {}\n",
        dir.path().join("htpasswd").display()
    );
    let registry = start_registry(dir.path(), "", &auth);
    let host = registry.host.clone();
    let dest = format!("docker://{host}/acme/app:1");
    skopeo(&["copy", "-q", "--dest-tls-verify=false", "--dest-creds", "stowage:s3cret", &oci("amd"), &dest]);
    std::fs::write(dir.path().join("Containerfile"), "FROM registry.pin.test/acme/app:1\n").unwrap();
    let conf = dir.path().join("registries.conf");
    let text =
        format!("[[registry]]\nprefix = \"registry.pin.test\"\nlocation = \"{host}\"\ninsecure = true\n");
    std::fs::write(&conf, text).unwrap();
    let pin = |creds: &[&str]| {
        Command::cargo_bin("stowage")
            .unwrap()
            .current_dir(dir.path())
            .env("HOME", dir.path())
            .env_remove("REGISTRY_AUTH_FILE")
            .args(["pin", "--check", "--registries-conf"])
            .arg(&conf)
            .args(creds)
            .assert()
    };
    let out = pin(&[]).code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains(&format!("registry {host} refused the lookup")), "{stderr}");
    pin(&["--creds", "stowage:s3cret", "--creds-registry", "other.example:5000"]).code(2);
    pin(&["--creds", "stowage:s3cret", "--creds-registry", &host]).code(1);
}

//! `check --online` against real registries (the CNCF distribution `docker-registry`) on
//! 127.0.0.1, images pushed by skopeo from fixtures/online/oci (regenerate.sh there). The
//! registries' own logs prove what was asked, how often, and with whose credentials.
//! `.ci/run` installs the tools; elsewhere the tests print SKIP.

mod registries;

use assert_cmd::Command;
use registries::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const AMD: &str = "sha256:87378091a64b9cb06bef10cb4779d7de26c7d34db3149b90ccfe654925404dae";
const MULTI: &str = "sha256:03e956b5d4d2c18fc3a4c1354dc3c05b85099b4627ca738663c474f7d0fb5d63";
const ONLINE_RULES: &[&str] = &["image-not-found", "platform-missing", "tag-moved", "registry-unreachable"];

fn images() -> String {
    format!("oci:{}", Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/online/oci").display())
}

/// Push the fixture image `tag` to `host/dest`, with skopeo flags.
fn push_to(tag: &str, host: &str, dest: &str, flags: &[&str]) {
    let args: Vec<&str> = [&["--all", "--dest-tls-verify=false"][..], flags].concat();
    push(&format!("{}:{tag}", images()), &format!("docker://{host}/{dest}"), &args);
}

/// A repository directory holding `files`.
fn repo(dir: &Path, files: &[(&str, String)]) -> PathBuf {
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    for (name, text) in files {
        std::fs::write(repo.join(name), text).unwrap();
    }
    repo
}

/// `stowage check --no-config ARGS` in `repo` with an empty HOME and no auth, proxy or
/// registries.conf environment: exit status, stdout, stderr.
fn check(repo: &Path, home: &Path, args: &[&str]) -> (i32, String, String) {
    check_env(repo, home, &[], args)
}

/// [`check`] with environment variables set after the others are removed.
fn check_env(repo: &Path, home: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::cargo_bin("stowage").unwrap();
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "ALL_PROXY",
        "REGISTRY_AUTH_FILE",
        "XDG_RUNTIME_DIR",
        "DOCKER_CONFIG",
        "CONTAINERS_REGISTRIES_CONF",
        "STOWAGE_ONLINE",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let out =
        cmd.current_dir(repo).env("HOME", home).args(["check", "--no-config"]).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The findings of the online rules in `check --format json` output, as `rule file:line:col`.
fn online_findings(json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    let mut out: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| ONLINE_RULES.contains(&f["rule"].as_str().unwrap()))
        .map(|f| {
            let l = &f["location"];
            format!(
                "{} {}:{}:{}",
                f["rule"].as_str().unwrap(),
                l["file"].as_str().unwrap(),
                l["line"],
                l["column"]
            )
        })
        .collect();
    out.sort();
    out
}

fn message_of(json: &str, rule: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule)
        .map_or_else(String::new, |f| f["message"].as_str().unwrap().to_string())
}

fn pod(images: &[String]) -> String {
    let mut text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n".to_string();
    for (i, image) in images.iter().enumerate() {
        text.push_str(&format!("  - name: c{i}\n    image: {image}\n"));
    }
    text
}

#[test]
fn each_rule_fires_where_the_registry_says_and_each_reference_is_asked_once() {
    if !tools(&["docker-registry", "skopeo"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let registry = start_registry(tmp.path(), "", "");
    let r = registry.host.clone();
    for (tag, dest) in [
        ("amd", "t/amd:1"),
        ("multi", "t/multi:1"),
        ("arm", "t/arm:1"),
        ("armonly", "t/armonly:1"),
        ("amd", "t/moved:1"),
    ] {
        push_to(tag, &r, dest, &[]);
    }
    // The tag is pushed again, to another image: the first stays there by digest.
    push_to("other", &r, "t/moved:1", &[]);
    let containerfile = format!(
        "FROM {r}/t/amd:1\nFROM {r}/t/multi:1\nFROM --platform=linux/arm64 {r}/t/amd:1\n\
         RUN skopeo copy --all docker://{r}/t/arm:1 dir:/usr/lib/containers/storage/x\n"
    );
    let pod = pod(&[
        format!("{r}/t/amd:1"),
        format!("{r}/t/amd:missing"),
        format!("{r}/t/nothere:1"),
        format!("{r}/t/armonly:1"),
        format!("{r}/t/moved:1@{AMD}"),
        format!("{r}/t/multi:1@{MULTI}"),
        "localhost/built-here:1".to_string(),
    ]);
    let repo = repo(tmp.path(), &[("Containerfile", containerfile), ("pod.yaml", pod)]);
    let before = registry.requests().len();

    // Without --online: not one request.
    let (code, out, err) = check(&repo, &home, &["--format", "json"]);
    assert_eq!(code, 1, "{err}");
    assert!(online_findings(&out).is_empty());
    assert_eq!(registry.requests().len(), before, "no request without --online: {:?}", registry.requests());

    let (code, out, err) = check(&repo, &home, &["--online", "--tls-verify=false", "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        online_findings(&out),
        [
            "image-not-found pod.yaml:10:12",
            "image-not-found pod.yaml:12:12",
            "platform-missing Containerfile:3:29",
            "platform-missing Containerfile:4:32",
            "platform-missing pod.yaml:14:12",
            "tag-moved pod.yaml:16:12",
        ]
    );
    assert!(message_of(&out, "image-not-found").contains("MANIFEST_UNKNOWN"), "{out}");
    assert!(message_of(&out, "tag-moved").contains("now names sha256:"), "{out}");
    // The answers are in the JSON contract, each reference's `online`.
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/check.schema.json"))
            .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::options().build(&schema).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(&json).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let online_of = |image: &str| {
        json["references"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["image"] == image)
            .map(|r| r["online"].clone())
    };
    let moved = online_of(&format!("{r}/t/moved:1@{AMD}")).unwrap();
    assert_eq!(
        (moved["answer"].as_str(), moved["tag"]["state"].as_str()),
        (Some("found"), Some("moved")),
        "{moved}"
    );
    assert_eq!(moved["digest"], AMD);
    assert_eq!(online_of(&format!("{r}/t/amd:missing")).unwrap()["answer"], "not-found");
    assert_eq!(online_of(&format!("{r}/t/armonly:1")).unwrap()["platform"]["state"], "index-without");
    assert_eq!(online_of("localhost/built-here:1"), Some(serde_json::Value::Null), "not looked up");
    // Each manifest and config asked once, though amd:1 is written three times (twice for
    // one platform) and multi:1 is asked both as a tag and for the tag of multi:1@digest.
    let asked: Vec<String> = registry.requests()[before..].to_vec();
    let unique: BTreeSet<&String> = asked.iter().collect();
    assert_eq!(unique.len(), asked.len(), "asked twice: {asked:#?}");
    assert_eq!(asked.len(), 12, "{asked:#?}");
    assert!(!asked.iter().any(|a| a.contains("built-here")), "localhost/ is not asked: {asked:#?}");
    eprintln!("{} references, {} requests: {asked:#?}", 11, asked.len());

    // Another target platform: the amd64-only references fail, the arm64 ones pass.
    let (code, out, err) =
        check(&repo, &home, &["--online", "--tls-verify=false", "--arch", "arm64", "--format", "json"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        online_findings(&out),
        [
            "image-not-found pod.yaml:10:12",
            "image-not-found pod.yaml:12:12",
            "platform-missing Containerfile:1:6",
            "platform-missing Containerfile:3:29",
            "platform-missing pod.yaml:16:12",
            "platform-missing pod.yaml:8:12",
            "tag-moved pod.yaml:16:12",
        ]
    );
}

#[test]
fn unreachable_and_refusing_registries_fail_closed() {
    if !tools(&["docker-registry", "skopeo", "htpasswd"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let htpasswd =
        std::process::Command::new("htpasswd").args(["-Bbn", "stowage", "s3cret"]).output().unwrap();
    std::fs::write(tmp.path().join("htpasswd"), &htpasswd.stdout).unwrap();
    let auth = format!(
        "auth:\n  htpasswd:\n    realm: stowage\n    path: {}\n",
        tmp.path().join("htpasswd").display()
    );
    let locked = start_registry(tmp.path(), "", &auth);
    push_to("amd", &locked.host, "t/amd:1", &["--dest-creds", "stowage:s3cret"]);
    let closed = format!("127.0.0.1:{}", free_port());

    let unreachable = pod(&[format!("{closed}/t/a:1"), format!("{closed}/t/b:1")]);
    let repo = repo(tmp.path(), &[("pod.yaml", unreachable)]);
    let (code, _, err) = check(&repo, &home, &["--online", "--tls-verify=false"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("registry {closed} could not be reached to look up 2 references"))
            && err.contains("pod.yaml:8:12"),
        "{err}"
    );
    eprintln!("unreachable: {err}");
    // --online-skip-unreachable: one info finding for the registry, at its first reference.
    let (code, out, err) = check(
        &repo,
        &home,
        &["--online", "--online-skip-unreachable", "--tls-verify=false", "--format", "json"],
    );
    assert_eq!(code, 0, "an info and mutable-tag warnings: {err}");
    assert_eq!(online_findings(&out), ["registry-unreachable pod.yaml:8:12"]);
    assert!(message_of(&out, "registry-unreachable").contains(&closed), "{out}");
    let (code, _, err) =
        check(&repo, &home, &["--online", "--online-skip-unreachable", "--tls-verify=false"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("stowage: --online: 2 unique references looked up in ")
            && err.contains(&format!(" requests (unreachable: {closed})")),
        "{err}"
    );

    // 401: exit 2 naming the registry, skip or not.
    std::fs::write(repo.join("pod.yaml"), pod(&[format!("{}/t/amd:1", locked.host)])).unwrap();
    for extra in [&[][..], &["--online-skip-unreachable"][..]] {
        let args: Vec<&str> = [&["--online", "--tls-verify=false"][..], extra].concat();
        let (code, _, err) = check(&repo, &home, &args);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(&format!("registry {} refused the lookup", locked.host)), "{err}");
    }
    // With the registry's credentials in an auth file: found.
    let authfile = auth_file(tmp.path(), "auth.json", &locked.host, "stowage", "s3cret");
    let (code, out, err) = check(
        &repo,
        &home,
        &["--online", "--tls-verify=false", "--authfile", authfile.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(code, 0, "mutable-tag warnings remain: {err}");
    assert!(online_findings(&out).is_empty(), "{out}");
}

#[test]
fn creds_go_only_to_the_registry_they_were_given_for() {
    if !tools(&["docker-registry", "skopeo", "htpasswd"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let htpasswd =
        std::process::Command::new("htpasswd").args(["-Bbn", "stowage", "s3cret"]).output().unwrap();
    std::fs::write(tmp.path().join("htpasswd"), &htpasswd.stdout).unwrap();
    let auth = format!(
        "auth:\n  htpasswd:\n    realm: stowage\n    path: {}\n",
        tmp.path().join("htpasswd").display()
    );
    let (a_dir, b_dir) = (tmp.path().join("a"), tmp.path().join("b"));
    std::fs::create_dir_all(&a_dir).unwrap();
    std::fs::create_dir_all(&b_dir).unwrap();
    let a = start_registry(&a_dir, "", &auth);
    let b = start_registry(&b_dir, "", &auth);
    for host in [&a.host, &b.host] {
        push_to("amd", host, "t/amd:1", &["--dest-creds", "stowage:s3cret"]);
    }
    // The OS image read with --image docker:// (with --creds): its sources reference no
    // image, so only the repository's references are asked about.
    push_to("os", &a.host, "os:1", &["--dest-creds", "stowage:s3cret"]);
    // distribution logs `authorized request` for each request whose credentials it accepted,
    // `error authorizing context` for one without (or with wrong) credentials.
    let authorized = |r: &Registry| {
        r.log()
            .lines()
            .filter(|l| l.contains("msg=\"authorized request\"") && l.contains("useragent=stowage/"))
            .count()
    };
    let anonymous = |r: &Registry| {
        r.log()
            .lines()
            .filter(|l| l.contains("error authorizing context") && l.contains("useragent=stowage/"))
            .count()
    };

    let repo = repo(
        tmp.path(),
        &[("pod.yaml", pod(&[format!("{}/t/amd:1", a.host), format!("{}/t/amd:1", b.host)]))],
    );
    let image = format!("docker://{}/os:1", a.host);
    let base = [
        "--online",
        "--tls-verify=false",
        "--no-cache",
        "--image",
        image.as_str(),
        "--creds",
        "stowage:s3cret",
        ".",
    ];

    // B gets no credentials, so it refuses the lookup.
    let (code, _, err) = check(&repo, &home, &base);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("registry {} refused the lookup", b.host)), "{err}");
    assert!(authorized(&a) > 0, "A was asked with the credentials: {}", a.log());
    assert_eq!(authorized(&b), 0, "B never saw them: {}", b.log());
    assert!(anonymous(&b) > 0, "B was asked without credentials: {}", b.log());
    assert!(b.requests().iter().any(|r| r.contains("/v2/t/amd/manifests/1 401")), "{:?}", b.requests());

    // B's own credentials from an auth file: both answer.
    let authfile = auth_file(tmp.path(), "auth.json", &b.host, "stowage", "s3cret");
    let args: Vec<&str> =
        [&base[..], &["--authfile", authfile.to_str().unwrap(), "--format", "json"]].concat();
    let (code, out, err) = check(&repo, &home, &args);
    assert!(code == 0 || code == 1, "{err}");
    assert!(online_findings(&out).is_empty(), "{out}");
    assert!(authorized(&b) > 0, "{}", b.log());

    // --creds without a docker:// image names no registry: refused.
    let (code, _, err) = check(&repo, &home, &["--online", "--creds", "stowage:s3cret"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--creds is sent only to the registry of --image docker://"), "{err}");
}

#[test]
fn lookups_go_to_mirrors_as_containers_image_sends_them() {
    if !tools(&["docker-registry", "skopeo"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mirror = start_registry(tmp.path(), "", "");
    let m = mirror.host.clone();
    push_to("amd", &m, "mirrored/t/amd:1", &[]);
    push_to("armonly", &m, "mirrored/t/armonly:1", &[]);
    // The primary is not there at all: only the mirror can answer.
    let primary = format!("127.0.0.1:{}", free_port());
    let conf = |digest_only: bool| {
        format!(
            "[[registry]]\nprefix = \"{primary}/t\"\nlocation = \"{primary}/t\"\ninsecure = true\n{}\
             [[registry.mirror]]\nlocation = \"{m}/mirrored/t\"\ninsecure = true\n",
            if digest_only { "mirror-by-digest-only = true\n" } else { "" }
        )
    };
    std::fs::write(tmp.path().join("mirrors.conf"), conf(false)).unwrap();
    std::fs::write(tmp.path().join("digests.conf"), conf(true)).unwrap();
    let conf_arg = |name: &str| tmp.path().join(name).display().to_string();
    let repo = repo(
        tmp.path(),
        &[("pod.yaml", pod(&[format!("{primary}/t/amd:1"), format!("{primary}/t/armonly:1")]))],
    );
    // No --tls-verify=false: `insecure = true` in registries.conf allows plain HTTP.
    let (code, out, err) = check(
        &repo,
        &home,
        &["--online", "--registries-conf", &conf_arg("mirrors.conf"), "--format", "json"],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(online_findings(&out), ["platform-missing pod.yaml:10:12"]);
    assert!(
        message_of(&out, "platform-missing").contains(&format!("mirror `{m}/mirrored/t/armonly:1`")),
        "{out}"
    );
    let asked = mirror.requests();
    assert!(asked.iter().any(|r| r.starts_with("GET /v2/mirrored/t/amd/manifests/1 200")), "{asked:#?}");

    // A tag the mirror does not have: the primary is asked last, and cannot be reached.
    std::fs::write(repo.join("pod.yaml"), pod(&[format!("{primary}/t/amd:2")])).unwrap();
    let (code, _, err) = check(&repo, &home, &["--online", "--registries-conf", &conf_arg("mirrors.conf")]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("registry {primary} could not be reached"))
            && err.contains("mirrors also failed"),
        "{err}"
    );

    // mirror-by-digest-only: tags go to the primary (unreachable, and said so), digests to
    // the mirror.
    std::fs::write(repo.join("pod.yaml"), pod(&[format!("{primary}/t/amd:1")])).unwrap();
    let (code, _, err) = check(&repo, &home, &["--online", "--registries-conf", &conf_arg("digests.conf")]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("tag lookups are not sent to a mirror") && err.contains("mirror-by-digest-only"),
        "{err}"
    );
    std::fs::write(repo.join("pod.yaml"), pod(&[format!("{primary}/t/amd@{AMD}")])).unwrap();
    let (code, out, err) = check(
        &repo,
        &home,
        &["--online", "--registries-conf", &conf_arg("digests.conf"), "--format", "json"],
    );
    assert!(code == 0 || code == 1, "{err}");
    assert!(online_findings(&out).is_empty(), "{out}");
    assert!(mirror.requests().iter().any(|r| r.contains(&format!("/v2/mirrored/t/amd/manifests/{AMD} 200"))));

    // blocked = true: no request, exit 2 naming the file; a finding with --online-skip-unreachable.
    std::fs::write(
        tmp.path().join("blocked.conf"),
        format!("[[registry]]\nlocation = \"{m}\"\nblocked = true\n"),
    )
    .unwrap();
    std::fs::write(repo.join("pod.yaml"), pod(&[format!("{m}/mirrored/t/amd:1")])).unwrap();
    let before = mirror.requests().len();
    let (code, _, err) = check(&repo, &home, &["--online", "--registries-conf", &conf_arg("blocked.conf")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is blocked by") && err.contains("blocked.conf"), "{err}");
    let args = [
        "--online",
        "--online-skip-unreachable",
        "--registries-conf",
        &conf_arg("blocked.conf"),
        "--format",
        "json",
    ];
    let (code, out, err) = check(&repo, &home, &args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(online_findings(&out), ["registry-unreachable pod.yaml:8:12"]);
    assert_eq!(mirror.requests().len(), before, "a blocked registry is not asked");

    // A registries.conf containers/image refuses: exit 2 naming it.
    std::fs::write(tmp.path().join("bad.conf"), "[[registry]]\nlocation = \"https://x.example\"\n").unwrap();
    let (code, _, err) = check(&repo, &home, &["--online", "--registries-conf", &conf_arg("bad.conf")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.conf") && err.contains("URI schemes"), "{err}");
}

#[test]
fn lookups_go_through_the_proxy_of_the_environment() {
    if !tools(&["docker-registry", "skopeo", "tinyproxy"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let registry = start_registry(tmp.path(), "", "");
    push_to("amd", &registry.host, "t/amd:1", &[]);
    let proxy = start_proxy(tmp.path());
    let repo = repo(tmp.path(), &[("pod.yaml", pod(&[format!("{}/t/amd:1", registry.host)]))]);
    let env = [("HTTP_PROXY", proxy.url.as_str()), ("HTTPS_PROXY", proxy.url.as_str())];
    let (code, out, err) =
        check_env(&repo, &home, &env, &["--online", "--tls-verify=false", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(online_findings(&out).is_empty(), "{out}");
    let log = std::fs::read_to_string(&proxy.log).unwrap_or_default();
    assert!(log.contains(&format!("{}/v2/t/amd/manifests/1", registry.host)), "through the proxy: {log}");
}

#[test]
fn tls_options_are_those_of_image_docker() {
    if !tools(&["docker-registry", "skopeo", "openssl"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let pki = tmp.path().join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    let tls = server_tls(&pki);
    let registry = start_registry(tmp.path(), &tls, "");
    let certs = tmp.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(pki.join("ca.crt"), certs.join("ca.crt")).unwrap();
    let certs_arg = certs.display().to_string();
    push(
        &format!("{}:amd", images()),
        &format!("docker://{}/t/amd:1", registry.host),
        &["--dest-cert-dir", &certs_arg],
    );
    let repo = repo(tmp.path(), &[("pod.yaml", pod(&[format!("{}/t/amd:1", registry.host)]))]);
    // The CA from --cert-dir: verified HTTPS.
    let (code, out, err) = check(&repo, &home, &["--online", "--cert-dir", &certs_arg, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(online_findings(&out).is_empty(), "{out}");
    // Without it the certificate is not trusted: the registry cannot be reached, exit 2.
    let (code, _, err) = check(&repo, &home, &["--online"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&registry.host) && err.to_lowercase().contains("certificate"), "{err}");
    // --tls-verify=false accepts it, as skopeo does.
    let (code, _, err) = check(&repo, &home, &["--online", "--tls-verify=false"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn bearer_tokens_through_a_token_server() {
    if !tools(&["docker-registry", "skopeo", "openssl"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let auth = token_auth(tmp.path());
    let registry = start_registry(tmp.path(), "", &auth);
    push_to("multi", &registry.host, "t/multi:1", &["--dest-creds", "stowage:s3cret"]);
    let repo = repo(
        tmp.path(),
        &[(
            "pod.yaml",
            pod(&[format!("{}/t/multi:1", registry.host), format!("{}/t/multi:2", registry.host)]),
        )],
    );
    let authfile = auth_file(tmp.path(), "auth.json", &registry.host, "stowage", "s3cret");
    let args =
        ["--online", "--tls-verify=false", "--authfile", authfile.to_str().unwrap(), "--format", "json"];
    let (code, out, err) = check(&repo, &home, &args);
    assert_eq!(code, 1, "{err}");
    assert_eq!(online_findings(&out), ["image-not-found pod.yaml:10:12"]);
    // Anonymous: the token server refuses, exit 2.
    let (code, _, err) = check(&repo, &home, &["--online", "--tls-verify=false"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("registry {} refused the lookup", registry.host)), "{err}");
}

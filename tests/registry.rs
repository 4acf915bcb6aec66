//! `docker://` against a real registry (the CNCF distribution `docker-registry`) on
//! 127.0.0.1 with htpasswd auth; the image is pushed by skopeo. `.ci/run` installs the tools;
//! elsewhere the test prints SKIP.

use assert_cmd::Command;
use base64::Engine;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use stowage::image::{self, ImageOptions};

fn have(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

struct Registry(Child);

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn auth_file(dir: &Path, name: &str, host: &str, user: &str, password: &str) -> std::path::PathBuf {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let path = dir.join(name);
    std::fs::write(&path, format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#)).unwrap();
    path
}

#[test]
fn reads_an_image_from_a_registry_with_credentials_from_an_auth_file() {
    let missing: Vec<&str> =
        ["docker-registry", "skopeo", "htpasswd"].into_iter().filter(|t| !have(t)).collect();
    if !missing.is_empty() {
        // CI installs them (.ci/run): there, a skip would hide a broken install step.
        assert!(std::env::var_os("CI").is_none(), "CI must run the registry test; missing {missing:?}");
        eprintln!("SKIP: registry test needs {} (.ci/run installs them)", missing.join(", "));
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let host = format!("127.0.0.1:{port}");
    let htpasswd =
        std::process::Command::new("htpasswd").args(["-Bbn", "stowage", "s3cret"]).output().unwrap();
    assert!(htpasswd.status.success());
    std::fs::write(tmp.path().join("htpasswd"), &htpasswd.stdout).unwrap();
    let config = format!(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {data}\n\
         http:\n  addr: {host}\nauth:\n  htpasswd:\n    realm: stowage\n    path: {pw}\n",
        data = tmp.path().join("data").display(),
        pw = tmp.path().join("htpasswd").display(),
    );
    std::fs::write(tmp.path().join("config.yml"), config).unwrap();
    let child = std::process::Command::new("docker-registry")
        .args(["serve", &tmp.path().join("config.yml").to_string_lossy()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _registry = Registry(child);
    let start = Instant::now();
    while TcpStream::connect(&host).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "the registry did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/images/oci");
    let pushed = std::process::Command::new("skopeo")
        .args(["copy", "-q", "--dest-tls-verify=false", "--dest-creds", "stowage:s3cret"])
        .arg(format!("oci:{}:v1", fixture.display()))
        .arg(format!("docker://{host}/stowage/fixture:v1"))
        .status()
        .unwrap();
    assert!(pushed.success(), "skopeo push failed");

    let spec = format!("docker://{host}/stowage/fixture:v1");
    let good = auth_file(tmp.path(), "auth.json", &host, "stowage", "s3cret");
    let cache = tmp.path().join("cache");
    let opts = ImageOptions {
        tls_verify: false,
        auth_file: Some(good.clone()),
        cache_dir: Some(cache.clone()),
        ..Default::default()
    };
    let remote = image::open(&spec, &opts).unwrap_or_else(|e| panic!("{e}"));
    let local = image::open(
        &format!("oci:{}", fixture.display()),
        &ImageOptions { use_cache: false, ..Default::default() },
    )
    .unwrap();
    assert_eq!(remote.view, local.view);
    assert_eq!(remote.stats.cached_layers, 0);
    assert_eq!(remote.config.digest, local.config.digest, "the manifest digest is kept");
    // Cached layers are not downloaded again.
    let warm = image::open(&spec, &opts).unwrap();
    assert_eq!((warm.stats.cached_layers, warm.stats.bytes_read), (3, 0));

    // Through the CLI, with $REGISTRY_AUTH_FILE.
    Command::cargo_bin("stowage")
        .unwrap()
        .env("REGISTRY_AUTH_FILE", &good)
        .env("XDG_CACHE_HOME", &cache)
        .args(["ls", "--tls-verify=false", "--image", &spec, "/etc/crio"])
        .assert()
        .success()
        .stdout(predicates::str::contains("/etc/crio/crio.conf 55"));

    let bad = auth_file(tmp.path(), "bad.json", &host, "stowage", "wrong");
    let out = Command::cargo_bin("stowage")
        .unwrap()
        .env("REGISTRY_AUTH_FILE", &bad)
        .args(["ls", "--no-cache", "--tls-verify=false", "--image", &spec])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains(&spec) && err.contains("authentication failed"), "{err}");
}

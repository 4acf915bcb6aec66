//! `docker://` against a real registry (the CNCF distribution `docker-registry`) on
//! 127.0.0.1; images are pushed by skopeo. Each test starts its own registry: htpasswd auth,
//! mutual TLS with certificates made by `openssl`, distribution's token auth with a token
//! server written in tests/registries/ (JWTs signed with ring), and a plain one serving
//! zstd:chunked layers.
//! `.ci/run` installs the tools; elsewhere the tests print SKIP.

use assert_cmd::Command;
use std::path::Path;
use stowage::image::{self, ImageOptions, OpenedImage};

mod registries;
use registries::*;

fn local(name: &str) -> OpenedImage {
    let spec = format!("oci:{}", fixture(name).display());
    image::open(&spec, &ImageOptions { use_cache: false, ..Default::default() }).unwrap()
}

/// `stowage ls` exiting 2; its stderr.
fn fails(args: &[&str], env: &[(&str, &Path)]) -> String {
    let mut cmd = Command::cargo_bin("stowage").unwrap();
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.args(["ls", "--no-cache"]).args(args).assert().code(2);
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}

#[test]
fn reads_an_image_from_a_registry_with_credentials_from_an_auth_file() {
    if !tools(&["docker-registry", "skopeo", "htpasswd"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let htpasswd =
        std::process::Command::new("htpasswd").args(["-Bbn", "stowage", "s3cret"]).output().unwrap();
    assert!(htpasswd.status.success());
    std::fs::write(tmp.path().join("htpasswd"), &htpasswd.stdout).unwrap();
    let auth = format!(
        "auth:\n  htpasswd:\n    realm: stowage\n    path: {}\n",
        tmp.path().join("htpasswd").display()
    );
    let registry = start_registry(tmp.path(), "", &auth);
    let host = &registry.host;
    let fixture_spec = format!("oci:{}:v1", fixture("oci").display());
    let spec = format!("docker://{host}/stowage/fixture:v1");
    push(&fixture_spec, &spec, &["--dest-tls-verify=false", "--dest-creds", "stowage:s3cret"]);

    let good = auth_file(tmp.path(), "auth.json", host, "stowage", "s3cret");
    let cache = tmp.path().join("cache");
    let opts = ImageOptions {
        tls_verify: false,
        auth_file: Some(good.clone()),
        cache_dir: Some(cache.clone()),
        ..Default::default()
    };
    let remote = image::open(&spec, &opts).unwrap_or_else(|e| panic!("{e}"));
    let local = local("oci");
    assert_eq!(remote.view, local.view);
    assert_eq!(remote.stats.cached_layers, 0);
    assert_eq!(remote.config.digest, local.config.digest, "the manifest digest is kept");
    // Cached layers are not downloaded again.
    let warm = image::open(&spec, &opts).unwrap();
    assert_eq!((warm.stats.cached_layers, warm.stats.bytes_read), (3, 0));

    // By digest, and a digest the registry does not have.
    let digest = local.config.digest.clone().unwrap();
    let pinned = format!("docker://{host}/stowage/fixture@{digest}");
    assert_eq!(image::open(&pinned, &opts).unwrap().view, local.view);
    let other = format!("docker://{host}/stowage/fixture@sha256:{}", "0".repeat(64));
    let err = image::open(&other, &opts).unwrap_err().to_string();
    assert!(err.contains("not found"), "{err}");
    let err = image::open(&format!("docker://{host}/stowage/none:v1"), &opts).unwrap_err().to_string();
    assert!(err.contains("not found"), "{err}");

    // Through the CLI, with $REGISTRY_AUTH_FILE.
    Command::cargo_bin("stowage")
        .unwrap()
        .env("REGISTRY_AUTH_FILE", &good)
        .env("XDG_CACHE_HOME", &cache)
        .args(["ls", "--tls-verify=false", "--image", &spec, "/etc/crio"])
        .assert()
        .success()
        .stdout(predicates::str::contains("/etc/crio/crio.conf 55"));

    let bad = auth_file(tmp.path(), "bad.json", host, "stowage", "wrong");
    let err = fails(&["--tls-verify=false", "--image", &spec], &[("REGISTRY_AUTH_FILE", &bad)]);
    assert!(err.contains(&spec) && err.contains("authentication failed"), "{err}");
    let none = tmp.path().join("none.json");
    std::fs::write(&none, r#"{"auths":{}}"#).unwrap();
    let err = fails(&["--tls-verify=false", "--image", &spec], &[("REGISTRY_AUTH_FILE", &none)]);
    assert!(err.contains("authentication failed") && err.contains("requires credentials"), "{err}");
}

#[test]
fn mutual_tls_with_a_cert_dir_laid_out_like_skopeos() {
    if !tools(&["docker-registry", "skopeo", "openssl"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let pki = tmp.path().join("pki");
    std::fs::create_dir(&pki).unwrap();
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    let ca = [
        "req",
        "-x509",
        "-subj",
        "/CN=stowage-test-ca",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
    ];
    openssl(&pki, &[&ca[..], &ec].concat());
    for (name, usage, san) in
        [("server", "serverAuth", "subjectAltName=IP:127.0.0.1\n"), ("client", "clientAuth", "")]
    {
        std::fs::write(pki.join(format!("{name}.ext")), format!("{san}extendedKeyUsage={usage}\n")).unwrap();
        let subject = format!("/CN=stowage-test-{name}");
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        openssl(&pki, &[&["req"][..], &ec, &["-subj", &subject, "-keyout", &key, "-out", &csr]].concat());
        let cert = if name == "client" { "client.cert".to_string() } else { "server.crt".to_string() };
        let ext = format!("{name}.ext");
        openssl(
            &pki,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &cert,
                "-extfile",
                &ext,
            ],
        );
    }
    let tls = format!(
        "  tls:\n    certificate: {p}/server.crt\n    key: {p}/server.key\n    clientcas:\n      - {p}/ca.crt\n",
        p = pki.display()
    );
    let registry = start_registry(tmp.path(), &tls, "");
    // skopeo's cert-dir layout: ca.crt, client.cert, client.key.
    let certs = tmp.path().join("certs");
    std::fs::create_dir(&certs).unwrap();
    for f in ["ca.crt", "client.cert", "client.key"] {
        std::fs::copy(pki.join(f), certs.join(f)).unwrap();
    }
    let spec = format!("docker://{}/stowage/fixture:v1", registry.host);
    push(
        &format!("oci:{}:v1", fixture("oci").display()),
        &spec,
        &["--dest-cert-dir", certs.to_str().unwrap()],
    );

    let opts = ImageOptions {
        cert_dir: Some(certs.clone()),
        cache_dir: Some(tmp.path().join("cache")),
        ..Default::default()
    };
    let remote = image::open(&spec, &opts).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(remote.view, local("oci").view);

    // Without the client certificate the server refuses the handshake.
    let ca_only = tmp.path().join("ca-only");
    std::fs::create_dir(&ca_only).unwrap();
    std::fs::copy(pki.join("ca.crt"), ca_only.join("ca.crt")).unwrap();
    let err = fails(&["--cert-dir", ca_only.to_str().unwrap(), "--image", &spec], &[]);
    assert!(
        err.contains(&spec) && err.contains(&registry.host) && err.contains("client certificate"),
        "{err}"
    );
    // The same under --tls-verify=false, which then also tries plain HTTP.
    let err = fails(&["--tls-verify=false", "--image", &spec], &[]);
    assert!(err.contains("client certificate") && err.contains("over plain HTTP"), "{err}");
    eprintln!("without a client certificate: {err}");
    // Without our CA the server is not trusted.
    let err = fails(&["--image", &spec], &[]);
    assert!(err.contains(&spec) && err.to_lowercase().contains("certificate"), "{err}");
    // A .cert without its .key, and a garbage .crt: errors naming the file.
    let unpaired = tmp.path().join("unpaired");
    std::fs::create_dir(&unpaired).unwrap();
    std::fs::copy(pki.join("ca.crt"), unpaired.join("ca.crt")).unwrap();
    std::fs::copy(pki.join("client.cert"), unpaired.join("client.cert")).unwrap();
    let err = fails(&["--cert-dir", unpaired.to_str().unwrap(), "--image", &spec], &[]);
    assert!(err.contains("client.cert") && err.contains("client.key"), "{err}");
    let garbage = tmp.path().join("garbage");
    std::fs::create_dir(&garbage).unwrap();
    std::fs::write(garbage.join("bad.crt"), "this is not a certificate\n").unwrap();
    let err = fails(&["--cert-dir", garbage.to_str().unwrap(), "--image", &spec], &[]);
    assert!(err.contains("bad.crt"), "{err}");
}

#[test]
fn bearer_token_auth_through_a_token_server() {
    if !tools(&["docker-registry", "skopeo", "openssl"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let auth = token_auth(tmp.path());
    let registry = start_registry(tmp.path(), "", &auth);
    let spec = format!("docker://{}/stowage/fixture:v1", registry.host);
    push(
        &format!("oci:{}:v1", fixture("oci").display()),
        &spec,
        &["--dest-tls-verify=false", "--dest-creds", "stowage:s3cret"],
    );

    let opts = ImageOptions {
        tls_verify: false,
        creds: Some("stowage:s3cret".into()),
        cache_dir: Some(tmp.path().join("cache")),
        ..Default::default()
    };
    let remote = image::open(&spec, &opts).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(remote.view, local("oci").view);

    // An auth file's identity token, exchanged through the OAuth2 refresh_token grant.
    let identity = tmp.path().join("identity.json");
    let with_token = |token: &str| {
        format!(r#"{{"auths":{{"{}":{{"auth":"PHRva2VuPjo=","identitytoken":"{token}"}}}}}}"#, registry.host)
    };
    std::fs::write(&identity, with_token("stowage-refresh-token")).unwrap();
    let opts = ImageOptions { creds: None, auth_file: Some(identity.clone()), use_cache: false, ..opts };
    assert_eq!(image::open(&spec, &opts).unwrap_or_else(|e| panic!("{e}")).view, remote.view);
    std::fs::write(&identity, with_token("revoked")).unwrap();
    let err = image::open(&spec, &opts).unwrap_err().to_string();
    assert!(err.contains("authentication failed") && err.contains("identity token"), "{err}");

    let err = fails(&["--tls-verify=false", "--creds", "stowage:wrong", "--image", &spec], &[]);
    assert!(err.contains(&spec) && err.contains("authentication failed"), "{err}");
    eprintln!("wrong password: {err}");
    let err = fails(&["--tls-verify=false", "--image", &spec], &[("HOME", tmp.path())]);
    assert!(err.contains(&spec) && err.contains("authentication failed"), "{err}");
    eprintln!("anonymous: {err}");
}

#[test]
fn toc_layers_are_listed_through_range_requests() {
    if !tools(&["docker-registry", "skopeo"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let registry = start_registry(tmp.path(), "", "");
    // zstd:chunked by skopeo, eStargz by ctr-remote with 32-byte chunks (several range-read
    // gzip members per watched file).
    for (name, max_requests) in [("oci-chunked", 6), ("oci-estargz-chunks", 9)] {
        let spec = format!("docker://{}/stowage/{name}:v1", registry.host);
        push(
            &format!("oci:{}:v1", fixture(name).display()),
            &spec,
            &["--dest-tls-verify=false", "--preserve-digests"],
        );
        let local = local(name);
        let layer_bytes: u64 = {
            let manifest_digest = local.config.digest.clone().unwrap();
            let path = fixture(name).join("blobs/sha256").join(manifest_digest.trim_start_matches("sha256:"));
            let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
            manifest["layers"].as_array().unwrap().iter().map(|l| l["size"].as_u64().unwrap()).sum()
        };
        let opts = ImageOptions { tls_verify: false, use_cache: false, ..Default::default() };
        let remote = image::open(&spec, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(remote.view, local.view, "{name}");
        assert_eq!(
            remote.config.digest, local.config.digest,
            "{name}: skopeo kept the manifest and its annotations"
        );
        // Every layer listed from its table of contents, through a few range requests: the
        // TOC (and the eStargz footer), then one for the watched files, which lie within
        // 64 KiB of each other in these small layers.
        assert_eq!(remote.stats.toc_layers, 3, "{name}: {:?}", remote.stats);
        assert!(remote.stats.range_reads <= max_requests, "{name}: {:?}", remote.stats);
        eprintln!(
            "{name} over docker://: {} of {layer_bytes} bytes read in {} requests",
            remote.stats.bytes_read, remote.stats.range_reads
        );

        // --verify streams every blob in full, verified against its digest: the same view.
        let verified = image::open(&spec, &ImageOptions { verify: true, ..opts })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(verified.view, local.view, "{name}");
        assert_eq!((verified.stats.toc_layers, verified.stats.bytes_read), (0, layer_bytes), "{name}");
    }
}

#[test]
fn the_proxy_environment_is_honoured_like_skopeo() {
    if !tools(&["docker-registry", "skopeo", "tinyproxy"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let registry = start_registry(tmp.path(), "", "");
    let spec = format!("docker://{}/stowage/proxied:v1", registry.host);
    push(&format!("oci:{}:v1", fixture("oci").display()), &spec, &["--dest-tls-verify=false"]);
    let proxy = start_proxy(tmp.path());
    let proxied = |log: &str| {
        log.lines().filter(|l| l.contains(&format!("{}/v2/stowage/proxied", registry.host))).count()
    };
    let ls = |env: &[(&str, &str)]| {
        let mut cmd = Command::cargo_bin("stowage").unwrap();
        for var in
            ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy", "ALL_PROXY"]
        {
            cmd.env_remove(var);
        }
        cmd.envs(env.iter().copied())
            .args(["ls", "--no-cache", "--tls-verify=false", "--image", &spec, "/etc/crio"])
            .assert()
            .success()
            .stdout(predicates::str::contains("/etc/crio/crio.conf 55"));
        std::fs::read_to_string(&proxy.log).unwrap_or_default()
    };
    // Through the proxy: the manifest and the blobs are asked of it.
    let log = ls(&[("HTTP_PROXY", &proxy.url), ("HTTPS_PROXY", &proxy.url)]);
    let through = proxied(&log);
    assert!(through >= 4, "manifest, config and layers through the proxy: {log}");
    // NO_PROXY names the registry: it is reached directly.
    let log = ls(&[("HTTP_PROXY", &proxy.url), ("HTTPS_PROXY", &proxy.url), ("NO_PROXY", "127.0.0.1")]);
    assert_eq!(proxied(&log), through, "nothing more through the proxy: {log}");
}

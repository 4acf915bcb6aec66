//! Real servers for the registry tests (tests/registry.rs, tests/online.rs): the CNCF
//! distribution `docker-registry` and `tinyproxy` on 127.0.0.1, each logging to files in its
//! test's directory, stopped on drop; skopeo pushes; auth files.
#![allow(dead_code)]

use base64::Engine;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub fn have(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the tools are there; outside CI a missing tool skips the test.
pub fn tools(names: &[&str]) -> bool {
    let missing: Vec<&str> = names.iter().copied().filter(|t| !have(t)).collect();
    if missing.is_empty() {
        return true;
    }
    // CI installs them (.ci/run): there, a skip would hide a broken install step.
    assert!(std::env::var_os("CI").is_none(), "CI must run the registry tests; missing {missing:?}");
    eprintln!("SKIP: registry test needs {} (.ci/run installs them)", missing.join(", "));
    false
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A server process of a test, stopped on drop.
pub struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running `docker-registry serve`: its access log (one line per request, combined log
/// format) in `dir/access.log`, its own log (`response completed` lines with the
/// `auth.user.name` of authenticated requests) in `dir/registry.log`.
pub struct Registry {
    _daemon: Daemon,
    pub host: String,
    pub dir: PathBuf,
}

impl Registry {
    /// The access log so far, one line per request.
    pub fn access_log(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.dir.join("access.log")).unwrap_or_default()).into_owned()
    }

    /// The registry's own log so far.
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.dir.join("registry.log")).unwrap_or_default())
            .into_owned()
    }

    /// The API requests logged so far (`GET /v2/...`), as `METHOD PATH STATUS`.
    pub fn requests(&self) -> Vec<String> {
        self.access_log()
            .lines()
            .filter_map(|l| {
                let (_, rest) = l.split_once('"')?;
                let (request, after) = rest.split_once('"')?;
                let mut r = request.split_whitespace();
                let (method, path) = (r.next()?, r.next()?);
                let status = after.split_whitespace().next()?;
                path.starts_with("/v2/").then(|| format!("{method} {path} {status}"))
            })
            .collect()
    }
}

/// Start a registry storing into `dir/data`; `http` is appended under `http:` (indented by
/// two spaces), `top` at the top level of the configuration (an `auth:` section).
pub fn start_registry(dir: &Path, http: &str, top: &str) -> Registry {
    let host = format!("127.0.0.1:{}", free_port());
    let config = format!(
        "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {data}\n\
         http:\n  addr: {host}\n{http}{top}",
        data = dir.join("data").display(),
    );
    let path = dir.join("config.yml");
    std::fs::write(&path, config).unwrap();
    let child = std::process::Command::new("docker-registry")
        .arg("serve")
        .arg(&path)
        .stdout(std::fs::File::create(dir.join("access.log")).unwrap())
        .stderr(std::fs::File::create(dir.join("registry.log")).unwrap())
        .spawn()
        .unwrap();
    let registry = Registry { _daemon: Daemon(child), host, dir: dir.to_path_buf() };
    let start = Instant::now();
    while TcpStream::connect(&registry.host).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "the registry did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    registry
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/images").join(name)
}

pub fn push(from: &str, to: &str, args: &[&str]) {
    let out = std::process::Command::new("skopeo")
        .args(["copy", "-q"])
        .args(args)
        .args([from, to])
        .output()
        .unwrap();
    assert!(out.status.success(), "skopeo copy {from} {to}: {}", String::from_utf8_lossy(&out.stderr));
}

pub fn auth_file(dir: &Path, name: &str, host: &str, user: &str, password: &str) -> PathBuf {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let path = dir.join(name);
    std::fs::write(&path, format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#)).unwrap();
    path
}

/// A running `tinyproxy` on 127.0.0.1 logging every request.
pub struct Proxy {
    _daemon: Daemon,
    pub url: String,
    pub log: PathBuf,
}

pub fn start_proxy(dir: &Path) -> Proxy {
    let port = free_port();
    let log = dir.join("proxy.log");
    let config = dir.join("tinyproxy.conf");
    std::fs::write(
        &config,
        format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 60\nLogFile \"{}\"\nLogLevel Info\nAllow 127.0.0.1\n\
             ConnectPort 443\nConnectPort 0\n",
            log.display()
        ),
    )
    .unwrap();
    // -d: stay in the foreground, so that the test owns the process.
    let child = std::process::Command::new("tinyproxy")
        .args(["-d", "-c"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "tinyproxy did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Proxy { _daemon: Daemon(child), url: format!("http://127.0.0.1:{port}"), log }
}

pub fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("openssl").current_dir(dir).args(args).output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA and a server certificate for 127.0.0.1 signed by it, made by `openssl` in `dir`:
/// `ca.crt`, `server.crt`, `server.key`. Returns the `http:` lines of a registry serving TLS
/// with them.
pub fn server_tls(dir: &Path) -> String {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    let ca =
        ["req", "-x509", "-subj", "/CN=stowage-online-ca", "-addext", "basicConstraints=critical,CA:TRUE"];
    openssl(
        dir,
        &[
            &ca[..],
            &ec,
            &[
                "-addext",
                "keyUsage=critical,keyCertSign",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "2",
            ],
        ]
        .concat(),
    );
    std::fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        .unwrap();
    openssl(
        dir,
        &[
            &["req"][..],
            &ec,
            &["-subj", "/CN=stowage-online-server", "-keyout", "server.key", "-out", "server.csr"],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "server.crt",
            "-extfile",
            "server.ext",
        ],
    );
    format!("  tls:\n    certificate: {d}/server.crt\n    key: {d}/server.key\n", d = dir.display())
}

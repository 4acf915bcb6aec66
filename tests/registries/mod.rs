//! Real servers for the registry tests (tests/registry.rs, tests/online.rs): the CNCF
//! distribution `docker-registry` and `tinyproxy` on 127.0.0.1, each logging to files in its
//! test's directory, stopped on drop; skopeo pushes; auth files.
#![allow(dead_code)]

use base64::Engine;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

/// A token server for distribution's `auth: token:`: checks basic credentials and answers
/// `{"token": JWT}` granting what each `scope` asks, the JWT signed with ES256 by `key` and
/// carrying `cert` (trusted by the registry's `rootcertbundle`) in `x5c`.
pub struct TokenServer {
    pub key: ring::signature::EcdsaKeyPair,
    pub cert_der: Vec<u8>,
    pub issuer: String,
    pub user: String,
    pub password: String,
    /// The identity token (OAuth2 refresh token) the server accepts.
    pub refresh_token: String,
}

impl TokenServer {
    pub fn serve(self, listener: TcpListener) {
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = self.answer(stream);
            }
        });
    }

    /// `GET realm?service=&scope=` with basic credentials (distribution's token spec), or
    /// `POST realm` with an OAuth2 `refresh_token` grant (its OAuth2 variant).
    fn answer(&self, mut stream: TcpStream) -> std::io::Result<()> {
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut request_line = String::new();
        reader.read_line(&mut request_line)?;
        let mut authorization = None;
        let mut content_length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("authorization") {
                    authorization = Some(value.trim().to_string());
                } else if name.eq_ignore_ascii_case("content-length") {
                    content_length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut form = vec![0u8; content_length];
        std::io::Read::read_exact(&mut reader, &mut form)?;
        let target = request_line.split_whitespace().nth(1).unwrap_or("");
        let pairs = |text: &str| -> Vec<(String, String)> {
            text.split('&')
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| (percent_decode(k), percent_decode(v)))
                .collect()
        };
        let param = |params: &[(String, String)], key: &str| {
            params.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
        };
        let (status, body) = if request_line.starts_with("POST ") {
            let params = pairs(&String::from_utf8_lossy(&form));
            if param(&params, "grant_type") == "refresh_token"
                && param(&params, "refresh_token") == self.refresh_token
            {
                let scope = param(&params, "scope");
                let token = self.token(&param(&params, "service"), scope.split(' '));
                ("200 OK", format!(r#"{{"access_token":"{token}","expires_in":300}}"#))
            } else {
                ("401 Unauthorized", r#"{"error":"invalid_grant"}"#.to_string())
            }
        } else {
            let params = pairs(target.split_once('?').map_or("", |(_, q)| q));
            let expected = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.user, self.password))
            );
            if authorization.as_deref() == Some(expected.as_str()) {
                let scopes: Vec<String> =
                    params.iter().filter(|(k, _)| k == "scope").map(|(_, v)| v.clone()).collect();
                let token = self.token(&param(&params, "service"), scopes.iter().map(String::as_str));
                ("200 OK", format!(r#"{{"token":"{token}","expires_in":300}}"#))
            } else {
                ("401 Unauthorized", r#"{"details":"wrong credentials"}"#.to_string())
            }
        };
        write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    fn token<'a>(&self, service: &str, scopes: impl Iterator<Item = &'a str>) -> String {
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        // `repository:NAME:ACTIONS`, NAME itself free of `:` for repositories.
        let access: Vec<serde_json::Value> = scopes
            .filter_map(|s| {
                let (kind, rest) = s.split_once(':')?;
                let (name, actions) = rest.rsplit_once(':')?;
                Some(serde_json::json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
            })
            .collect();
        let header = serde_json::json!({
            "typ": "JWT",
            "alg": "ES256",
            "x5c": [base64::engine::general_purpose::STANDARD.encode(&self.cert_der)],
        });
        let claims = serde_json::json!({
            "iss": self.issuer,
            "sub": self.user,
            "aud": service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": format!("stowage-{now}-{}", access.len()),
            "access": access,
        });
        let signing_input =
            format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
        let rng = ring::rand::SystemRandom::new();
        let signature = self.key.sign(&rng, signing_input.as_bytes()).unwrap();
        format!("{signing_input}.{}", b64(signature.as_ref()))
    }
}

pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => out.push(b),
                    None => out.extend_from_slice(&bytes[i..i + 3]),
                }
                i += 3;
                continue;
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The DER inside a one-object PEM file.
pub fn pem_der(path: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(path).unwrap();
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(body).unwrap()
}

/// Start a token server in `dir` (user `stowage`, password `s3cret`, identity token
/// `stowage-refresh-token`) and return the `auth: token:` section of a registry trusting it.
pub fn token_auth(dir: &Path) -> String {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=stowage-token-issuer",
            "-keyout",
            "token.key",
            "-out",
            "token.crt",
            "-days",
            "2",
        ],
    );
    let rng = ring::rand::SystemRandom::new();
    let key = ring::signature::EcdsaKeyPair::from_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &pem_der(&dir.join("token.key")),
        &rng,
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let realm = format!("http://{}/token", listener.local_addr().unwrap());
    TokenServer {
        key,
        cert_der: pem_der(&dir.join("token.crt")),
        issuer: "stowage-test-issuer".into(),
        user: "stowage".into(),
        password: "s3cret".into(),
        refresh_token: "stowage-refresh-token".into(),
    }
    .serve(listener);
    format!(
        "auth:\n  token:\n    realm: {realm}\n    service: stowage-registry\n    issuer: stowage-test-issuer\n    rootcertbundle: {}\n",
        dir.join("token.crt").display()
    )
}

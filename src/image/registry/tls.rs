//! `--cert-dir`, read like containers/image reads `/etc/containers/certs.d/HOST`: every
//! `*.crt` holds CA certificates trusted in addition to the system roots, and every
//! `NAME.cert` + `NAME.key` pair is a client certificate for mutual TLS. A `.cert` without
//! its `.key` (or the reverse) is an error, and so is a file that holds no usable PEM:
//! a certificate that is silently ignored turns into a puzzling handshake failure later.

use super::super::Cause;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};

/// What a certificate directory adds to the TLS configuration.
#[derive(Default)]
pub struct CertDir {
    pub roots: Vec<reqwest::Certificate>,
    /// The client identity: the first `NAME.cert`/`NAME.key` pair in name order (rustls
    /// presents one identity; containers/image offers them all to Go's TLS stack).
    pub identity: Option<(reqwest::Identity, PathBuf)>,
}

impl CertDir {
    pub fn read(dir: Option<&Path>) -> Result<CertDir, Cause> {
        let Some(dir) = dir else { return Ok(CertDir::default()) };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Cause::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        let mut found = CertDir::default();
        for path in &files {
            match path.extension().and_then(|e| e.to_str()) {
                Some("crt") => {
                    for der in ca_certificates(path)? {
                        found.roots.push(
                            reqwest::Certificate::from_der(&der).map_err(|e| bad(path, &e.to_string()))?,
                        );
                    }
                }
                Some("cert") => {
                    let key = path.with_extension("key");
                    if !files.contains(&key) {
                        return Err(bad(
                            path,
                            &format!(
                                "client certificate without its key {} (CA certificates use the extension .crt)",
                                key.display()
                            ),
                        ));
                    }
                    if found.identity.is_none() {
                        found.identity = Some((identity(path, &key)?, path.clone()));
                    }
                }
                Some("key") => {
                    let cert = path.with_extension("cert");
                    if !files.contains(&cert) {
                        return Err(bad(
                            path,
                            &format!("key without its client certificate {}", cert.display()),
                        ));
                    }
                }
                _ => {}
            }
        }
        Ok(found)
    }
}

fn bad(path: &Path, message: &str) -> Cause {
    Cause::Io { path: path.display().to_string(), message: message.to_string() }
}

/// The certificates of a `.crt` file, each checked to be one a trust store accepts.
fn ca_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, Cause> {
    let pem = std::fs::read(path).map_err(|e| Cause::io(path, e))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| bad(path, &format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(bad(path, "holds no PEM certificate"));
    }
    let mut store = rustls::RootCertStore::empty();
    for cert in &certs {
        store.add(cert.clone()).map_err(|e| bad(path, &format!("not a usable CA certificate: {e}")))?;
    }
    Ok(certs)
}

/// A client identity from a `.cert` (certificate chain) and its `.key`.
fn identity(cert: &Path, key: &Path) -> Result<reqwest::Identity, Cause> {
    let cert_pem = std::fs::read(cert).map_err(|e| Cause::io(cert, e))?;
    let key_pem = std::fs::read(key).map_err(|e| Cause::io(key, e))?;
    let chain: Vec<CertificateDer<'_>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| bad(cert, &format!("not a PEM certificate file: {e}")))?;
    if chain.is_empty() {
        return Err(bad(cert, "holds no PEM certificate"));
    }
    PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| bad(key, &format!("no usable private key: {e}")))?;
    let mut pem = cert_pem;
    pem.push(b'\n');
    pem.extend_from_slice(&key_pem);
    reqwest::Identity::from_pem(&pem).map_err(|e| bad(cert, &format!("not a usable client identity: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    fn error(files: &[(&str, &str)]) -> String {
        let dir = dir_with(files);
        match CertDir::read(Some(dir.path())) {
            Ok(_) => panic!("{files:?} was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn unpaired_and_garbage_files_are_errors_naming_the_file() {
        let e = error(&[("client.cert", "x")]);
        assert!(e.contains("client.cert") && e.contains("client.key"), "{e}");
        let e = error(&[("client.key", "x")]);
        assert!(e.contains("client.key:") && e.contains("client.cert"), "{e}");
        let e = error(&[("ca.crt", "not a certificate")]);
        assert!(e.contains("ca.crt:") && e.contains("no PEM certificate"), "{e}");
        let e = error(&[("ca.crt", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")]);
        assert!(e.contains("ca.crt:") && e.contains("not a usable CA certificate"), "{e}");
    }

    #[test]
    fn other_files_and_no_dir_are_fine() {
        let dir = dir_with(&[("README", "x"), ("ca.pem", "ignored, like containers/image")]);
        let found = CertDir::read(Some(dir.path())).unwrap();
        assert!(found.roots.is_empty() && found.identity.is_none());
        assert!(CertDir::read(None).unwrap().roots.is_empty());
        assert!(CertDir::read(Some(Path::new("/nonexistent/certs"))).is_err());
    }
}

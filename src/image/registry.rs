//! `docker://REF`: read an image from a registry with oci-client. The tokio runtime lives
//! only here; layers stream through a bounded channel into the same synchronous layer reader
//! as every other transport, and cached layers are never downloaded.

use super::blobs::{BlobReader, BlobRef, BlobSource, verify_small};
use super::manifest::{Manifest, select_platform};
use super::view::FileView;
use super::{Cause, ImageConfig, ImageOptions, ImageStats, Plan, archive, read_plan};
use futures_util::StreamExt;
use oci_client::client::{BlobResponse, Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use std::io::Read;
use std::path::{Path, PathBuf};

const ACCEPT: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

pub fn open(reference: &str, opts: &ImageOptions) -> Result<(FileView, ImageConfig, ImageStats), Cause> {
    // Several providers may be compiled in; ours is ring. A second install is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let image: Reference = reference
        .parse()
        .map_err(|e| Cause::Spec(format!("`{reference}` is not a registry reference: {e}")))?;
    let auth = credentials(&image, opts)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Cause::Registry(format!("cannot start the network runtime: {e}")))?;
    let certs = ca_certificates(opts.cert_dir.as_deref())?;
    let mut protocols = vec![ClientProtocol::Https];
    if !opts.tls_verify {
        // Like skopeo --tls-verify=false: HTTPS without verification, then plain HTTP.
        protocols.push(ClientProtocol::Http);
    }
    let mut last_error = None;
    for protocol in protocols {
        let config = ClientConfig {
            protocol,
            accept_invalid_certificates: !opts.tls_verify,
            extra_root_certificates: certs.clone(),
            user_agent: concat!("stowage/", env!("CARGO_PKG_VERSION")),
            platform_resolver: None,
            ..Default::default()
        };
        let client = Client::new(config);
        match runtime.block_on(client.pull_manifest_raw(&image, &auth, ACCEPT)) {
            Ok((bytes, digest)) => {
                let source =
                    RegistryBlobs { runtime: &runtime, client, image: image.clone(), auth: auth.clone() };
                let plan = plan(&source, &bytes, digest, opts)?;
                return read_plan(&source, plan, opts);
            }
            Err(e) => {
                let cause = registry_error(e);
                if matches!(cause, Cause::Auth(_) | Cause::NotFound(_)) {
                    return Err(cause);
                }
                last_error = Some(cause);
            }
        }
    }
    Err(last_error.unwrap_or_else(|| Cause::Registry("no protocol to try".into())))
}

fn plan(
    source: &RegistryBlobs<'_>,
    bytes: &[u8],
    digest: String,
    opts: &ImageOptions,
) -> Result<Plan, Cause> {
    let manifest = Manifest::parse(bytes, &digest)?;
    if !manifest.is_index() {
        verify_small(bytes, &digest)?;
        return archive::single_manifest_plan(source, &manifest, digest);
    }
    let chosen = select_platform(&manifest, &opts.platform)?;
    let by_digest = source.image.clone_with_digest(chosen.digest.clone());
    let (bytes, digest) = source
        .runtime
        .block_on(source.client.pull_manifest_raw(&by_digest, &source.auth, ACCEPT))
        .map_err(registry_error)?;
    let manifest = Manifest::parse(&bytes, &digest)?;
    if manifest.is_index() {
        return Err(Cause::Corrupt(format!("{digest}: an index inside an index")));
    }
    plan(source, &bytes, digest, opts)
}

struct RegistryBlobs<'a> {
    runtime: &'a tokio::runtime::Runtime,
    client: Client,
    image: Reference,
    auth: RegistryAuth,
}

impl BlobSource for RegistryBlobs<'_> {
    fn open(&self, blob: &BlobRef) -> Result<BlobReader<'_>, Cause> {
        let BlobRef::Digest(digest) = blob else {
            return Err(Cause::NotFound(format!("{blob} is not a registry blob")));
        };
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(16);
        let client = self.client.clone();
        let image = self.image.clone();
        let digest = digest.clone();
        self.runtime.spawn(async move {
            match client.pull_blob_stream(&image, digest.as_str()).await {
                Ok(mut stream) => {
                    while let Some(chunk) = stream.next().await {
                        let stop = chunk.is_err();
                        if tx.send(chunk).await.is_err() || stop {
                            break;
                        }
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(std::io::Error::other(registry_error(e).to_string()))).await;
                }
            }
        });
        Ok(Box::new(ChannelReader { rx, chunk: bytes::Bytes::new() }))
    }

    /// An HTTP range request; a registry that answers with the whole blob (200 instead of
    /// 206) has no random access, and the layer is streamed instead.
    fn read_range(&self, blob: &BlobRef, offset: u64, length: u64) -> Result<Option<Vec<u8>>, Cause> {
        let BlobRef::Digest(digest) = blob else {
            return Err(Cause::NotFound(format!("{blob} is not a registry blob")));
        };
        if length == 0 {
            return Ok(Some(Vec::new()));
        }
        self.runtime.block_on(async {
            let response = self
                .client
                .pull_blob_stream_partial(&self.image, digest.as_str(), offset, Some(length))
                .await
                .map_err(registry_error)?;
            let mut stream = match response {
                BlobResponse::Partial(s) => s.stream,
                BlobResponse::Full(_) => return Ok(None),
            };
            let mut buf = Vec::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| Cause::Registry(format!("{digest}: {e}")))?;
                buf.extend_from_slice(&chunk);
                if buf.len() as u64 > length {
                    return Err(Cause::Registry(format!("{digest}: more bytes than the range asked")));
                }
            }
            Ok(Some(buf))
        })
    }
}

/// The synchronous end of a blob download.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, std::io::Error>>,
    chunk: bytes::Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

fn registry_error(e: oci_client::errors::OciDistributionError) -> Cause {
    use oci_client::errors::OciDistributionError as E;
    let text = e.to_string();
    match &e {
        E::AuthenticationFailure(_) | E::UnauthorizedError { .. } => Cause::Auth(text),
        E::ImageManifestNotFoundError(_) => Cause::NotFound(text),
        _ if text.contains("401") || text.contains("UNAUTHORIZED") || text.contains("Unauthorized") => {
            Cause::Auth(text)
        }
        _ if text.contains("MANIFEST_UNKNOWN") || text.contains("NAME_UNKNOWN") => Cause::NotFound(text),
        _ => Cause::Registry(text),
    }
}

/// `--creds`, else the first auth file that has an entry for the registry, in skopeo's order:
/// `--authfile` / `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
/// `~/.config/containers/auth.json`, `~/.docker/config.json` (with credential helpers).
fn credentials(image: &Reference, opts: &ImageOptions) -> Result<RegistryAuth, Cause> {
    if let Some(creds) = &opts.creds {
        let (user, password) = creds.split_once(':').unwrap_or((creds.as_str(), ""));
        return Ok(RegistryAuth::Basic(user.to_string(), password.to_string()));
    }
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(f) = &opts.auth_file {
        files.push(f.clone());
    } else if let Some(f) = std::env::var_os("REGISTRY_AUTH_FILE").filter(|v| !v.is_empty()) {
        files.push(f.into());
    } else {
        if let Some(run) = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
            files.push(PathBuf::from(run).join("containers/auth.json"));
        }
        if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            files.push(PathBuf::from(&home).join(".config/containers/auth.json"));
        }
        let docker = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")));
        if let Some(d) = docker {
            files.push(d.join("config.json"));
        }
    }
    let keys = auth_keys(image);
    for file in files {
        let Ok(text) = std::fs::read(&file) else {
            if opts.auth_file.as_ref() == Some(&file) {
                return Err(Cause::io(&file, std::io::Error::from(std::io::ErrorKind::NotFound)));
            }
            continue;
        };
        for key in &keys {
            use docker_credential::{CredentialRetrievalError as R, DockerCredential as C};
            match docker_credential::get_credential_from_reader(&text[..], key) {
                Ok(C::UsernamePassword(u, p)) => return Ok(RegistryAuth::Basic(u, p)),
                Ok(C::IdentityToken(t)) => return Ok(RegistryAuth::Bearer(t)),
                Err(R::NoCredentialConfigured) => {}
                Err(R::ConfigReadError) => {
                    return Err(Cause::Auth(format!("{} is not a valid auth file", file.display())));
                }
                Err(e) => return Err(Cause::Auth(format!("{}: {key}: {e}", file.display()))),
            }
        }
    }
    Ok(RegistryAuth::Anonymous)
}

/// Auth-file keys for an image, most specific first (`host/ns/repo`, `host/ns`, `host`).
fn auth_keys(image: &Reference) -> Vec<String> {
    let host = image.registry();
    let mut keys = Vec::new();
    let parts: Vec<&str> = image.repository().split('/').collect();
    for n in (1..=parts.len()).rev() {
        keys.push(format!("{host}/{}", parts[..n].join("/")));
    }
    keys.push(host.to_string());
    if matches!(host, "docker.io" | "index.docker.io" | "registry-1.docker.io") {
        keys.push("https://index.docker.io/v1/".into());
        keys.push("index.docker.io".into());
    } else {
        keys.push(format!("https://{host}"));
    }
    keys
}

/// `*.crt` files of `--cert-dir`, trusted as certificate authorities.
fn ca_certificates(dir: Option<&Path>) -> Result<Vec<Certificate>, Cause> {
    let Some(dir) = dir else { return Ok(Vec::new()) };
    let mut certs = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| Cause::io(dir, e))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "crt") {
            let data = std::fs::read(&path).map_err(|e| Cause::io(&path, e))?;
            certs.push(Certificate { encoding: CertificateEncoding::Pem, data });
        }
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_keys_most_specific_first() {
        let r: Reference = "127.0.0.1:5000/ns/app:1".parse().unwrap();
        assert_eq!(
            auth_keys(&r),
            ["127.0.0.1:5000/ns/app", "127.0.0.1:5000/ns", "127.0.0.1:5000", "https://127.0.0.1:5000"]
        );
    }
}

//! `docker://REF`: read an image from a registry through the distribution API (our own small
//! client on reqwest, [`client`]). The tokio runtime lives only here; layers stream through a
//! bounded channel into the same synchronous layer reader as every other transport, cached
//! layers are never downloaded, and zstd:chunked and eStargz layers are listed through range
//! requests.
//!
//! Why not oci-client (DESIGN.md's first choice): its latest release (0.18) cannot present a
//! client certificate, which skopeo-style `--cert-dir` needs (`NAME.cert` + `NAME.key`), and
//! it silently replaces a configuration with a bad CA certificate by the default one. The
//! subset of the API needed here (manifests, blobs, ranges, basic and bearer auth) is small,
//! and dropping it removed 39 crates from the lock file.

pub mod challenge;
mod client;
pub mod lookup;
mod tls;

pub use client::{Credentials, token_from_body};

use super::blobs::{BlobReader, BlobRef, BlobSource, blob_path, verify_small};
use super::manifest::{Manifest, select_platform};
use super::view::FileView;
use super::{Cause, ImageConfig, ImageOptions, ImageStats, Plan, archive, read_plan};
use crate::reference::imageref::ImageRef;
use client::{Client, RangeAnswer};
use std::io::Read;
use std::path::{Path, PathBuf};

const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
    application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json";

/// The host that serves Docker Hub's API (`docker.io` names the registry, not the server).
fn api_host(registry: &str) -> &str {
    match registry {
        "docker.io" | "index.docker.io" => "registry-1.docker.io",
        other => other,
    }
}

pub fn open(reference: &str, opts: &ImageOptions) -> Result<(FileView, ImageConfig, ImageStats), Cause> {
    // Several providers may be compiled in; ours is ring. A second install is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let image = ImageRef::parse(reference)
        .map_err(|e| Cause::Spec(format!("`{reference}` is not a registry reference: {e}")))?;
    // A digest pins the manifest: `name:tag@digest` is fetched by its digest, like skopeo.
    let wanted = match (image.digest(), image.effective_tag()) {
        (Some(digest), _) => {
            blob_path(digest)?;
            digest.to_string()
        }
        (None, Some(tag)) => tag.to_string(),
        (None, None) => return Err(Cause::Spec(format!("`{reference}` names no tag or digest"))),
    };
    let credentials = credentials(&image, opts)?;
    let certs = tls::CertDir::read(opts.cert_dir.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Cause::Registry(format!("cannot start the network runtime: {e}")))?;
    let host = api_host(image.registry());
    // Like skopeo --tls-verify=false: HTTPS without verification, then plain HTTP.
    let schemes: &[&str] = if opts.tls_verify { &["https"] } else { &["https", "http"] };
    let mut https_error: Option<Cause> = None;
    for scheme in schemes {
        let client = Client::new(
            format!("{scheme}://{host}"),
            image.registry(),
            image.repository(),
            credentials.clone(),
            &certs,
            !opts.tls_verify,
        )?;
        match runtime.block_on(client.manifest(&wanted, ACCEPT)) {
            Ok(bytes) => {
                let digest = match image.digest() {
                    Some(pinned) => {
                        verify_small(&bytes, pinned)?;
                        pinned.to_string()
                    }
                    None => sha256_digest(&bytes),
                };
                let source = RegistryBlobs { runtime: &runtime, client };
                let plan = plan(&source, &bytes, digest, opts)?;
                return read_plan(&source, plan, opts);
            }
            // Only a registry that never answered over HTTPS is tried again over plain HTTP.
            Err(cause) if *scheme == "https" && !client.answered() => https_error = Some(cause),
            // Plain HTTP failing too: both reasons, the HTTPS one first (a TLS-only registry
            // answers plain HTTP with a puzzling 400).
            Err(Cause::Registry(http) | Cause::Unreachable(http))
                if let Some(Cause::Registry(https) | Cause::Unreachable(https)) = &https_error =>
            {
                return Err(Cause::Registry(format!("{https}; over plain HTTP: {http}")));
            }
            Err(cause) => return Err(cause),
        }
    }
    Err(https_error.unwrap_or_else(|| Cause::Registry("no protocol to try".into())))
}

/// The registry's `Docker-Content-Digest` is not trusted: the digest is the body's.
fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// `bytes` was verified against `digest`; an index leads to the platform's manifest, fetched
/// by digest and verified in turn.
fn plan(
    source: &RegistryBlobs<'_>,
    bytes: &[u8],
    digest: String,
    opts: &ImageOptions,
) -> Result<Plan, Cause> {
    let manifest = Manifest::parse(bytes, &digest)?;
    if !manifest.is_index() {
        return archive::single_manifest_plan(source, &manifest, digest);
    }
    let chosen = select_platform(&manifest, &opts.platform)?;
    blob_path(&chosen.digest)?;
    let bytes = source.runtime.block_on(source.client.manifest(&chosen.digest, ACCEPT))?;
    verify_small(&bytes, &chosen.digest)?;
    let manifest = Manifest::parse(&bytes, &chosen.digest)?;
    if manifest.is_index() {
        return Err(Cause::Corrupt(format!("{}: an index inside an index", chosen.digest)));
    }
    archive::single_manifest_plan(source, &manifest, chosen.digest.clone())
}

struct RegistryBlobs<'a> {
    runtime: &'a tokio::runtime::Runtime,
    client: Client,
}

impl RegistryBlobs<'_> {
    fn digest<'b>(&self, blob: &'b BlobRef) -> Result<&'b str, Cause> {
        match blob {
            BlobRef::Digest(digest) => {
                blob_path(digest)?;
                Ok(digest)
            }
            BlobRef::Member(_) => Err(Cause::NotFound(format!("{blob} is not a registry blob"))),
        }
    }
}

impl BlobSource for RegistryBlobs<'_> {
    fn open(&self, blob: &BlobRef) -> Result<BlobReader<'_>, Cause> {
        let digest = self.digest(blob)?;
        let mut response = self.runtime.block_on(self.client.blob(digest, None))?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(16);
        self.runtime.spawn(async move {
            loop {
                let chunk = match response.chunk().await {
                    Ok(Some(chunk)) => Ok(chunk),
                    Ok(None) => break,
                    Err(e) => Err(std::io::Error::other(client::describe(&e))),
                };
                let stop = chunk.is_err();
                // A closed channel: the reader stopped (an error elsewhere); so do we.
                if tx.send(chunk).await.is_err() || stop {
                    break;
                }
            }
        });
        Ok(Box::new(ChannelReader { rx, chunk: bytes::Bytes::new() }))
    }

    /// An HTTP range request; a registry that answers with the whole blob (200 instead of
    /// 206) has no random access, and the layer is streamed instead.
    /// A round trip costs about what 64 KiB take to arrive on a fast link: nearer files are
    /// fetched by one request.
    fn range_gap(&self) -> u64 {
        64 << 10
    }

    fn read_range(&self, blob: &BlobRef, offset: u64, length: u64) -> Result<Option<Vec<u8>>, Cause> {
        let digest = self.digest(blob)?;
        if length == 0 {
            return Ok(Some(Vec::new()));
        }
        self.runtime.block_on(async {
            let response = self.client.blob(digest, Some((offset, length))).await?;
            let content_range =
                response.headers().get(reqwest::header::CONTENT_RANGE).and_then(|v| v.to_str().ok());
            let what =
                |e: &dyn std::fmt::Display| Cause::Registry(format!("{digest} bytes {offset}+{length}: {e}"));
            match client::range_answer(response.status(), content_range, offset).map_err(|e| what(&e))? {
                // Dropping the response abandons the whole-blob download.
                RangeAnswer::Whole => Ok(None),
                RangeAnswer::Partial => {
                    client::read_limited(response, length).await.map(Some).map_err(|e| what(&e))
                }
            }
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

/// `--creds`, else the first auth file that has an entry for the registry, in skopeo's order:
/// `--authfile` / `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
/// `~/.config/containers/auth.json`, `~/.docker/config.json` (with credential helpers).
fn credentials(image: &ImageRef, opts: &ImageOptions) -> Result<Credentials, Cause> {
    match &opts.creds {
        Some(creds) => Ok(parse_creds(creds)),
        None => auth_files_credentials(image, opts.auth_file.as_deref()),
    }
}

/// `--creds USER[:PASSWORD]`.
pub fn parse_creds(creds: &str) -> Credentials {
    let (user, password) = creds.split_once(':').unwrap_or((creds, ""));
    Credentials::Basic { user: user.to_string(), password: password.to_string() }
}

/// The first auth file that has an entry for the image's registry (see [`credentials`]);
/// `auth_file` (`--authfile`) replaces the search and must exist.
pub fn auth_files_credentials(image: &ImageRef, auth_file: Option<&Path>) -> Result<Credentials, Cause> {
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(f) = auth_file {
        files.push(f.to_path_buf());
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
    for file in files {
        let Ok(text) = std::fs::read(&file) else {
            if auth_file == Some(file.as_path()) {
                return Err(Cause::io(&file, std::io::Error::from(std::io::ErrorKind::NotFound)));
            }
            continue;
        };
        if let Some(found) = auth_file_credentials(&text, image, &file)? {
            return Ok(found);
        }
    }
    Ok(Credentials::Anonymous)
}

/// The credentials an auth file's text (`file`, for messages) holds for `image`, most specific
/// key first; `None` when it has none. A credential helper it names is run.
pub fn auth_file_credentials(
    text: &[u8],
    image: &ImageRef,
    file: &Path,
) -> Result<Option<Credentials>, Cause> {
    for key in &auth_keys(image) {
        use docker_credential::{CredentialRetrievalError as R, DockerCredential as C};
        match docker_credential::get_credential_from_reader(text, key) {
            Ok(C::UsernamePassword(user, password)) => {
                return Ok(Some(Credentials::Basic { user, password }));
            }
            Ok(C::IdentityToken(t)) => return Ok(Some(Credentials::IdentityToken(t))),
            Err(R::NoCredentialConfigured) => {}
            Err(R::ConfigReadError) => {
                return Err(Cause::Auth(format!("{} is not a valid auth file", file.display())));
            }
            Err(e) => return Err(Cause::Auth(format!("{}: {key}: {e}", file.display()))),
        }
    }
    Ok(None)
}

/// Auth-file keys for an image, most specific first (`host/ns/repo`, `host/ns`, `host`).
fn auth_keys(image: &ImageRef) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_keys_most_specific_first() {
        let r = ImageRef::parse("127.0.0.1:5000/ns/app:1").unwrap();
        assert_eq!(
            auth_keys(&r),
            ["127.0.0.1:5000/ns/app", "127.0.0.1:5000/ns", "127.0.0.1:5000", "https://127.0.0.1:5000"]
        );
        let hub = ImageRef::parse("nginx").unwrap();
        assert_eq!(auth_keys(&hub)[..3], ["docker.io/library/nginx", "docker.io/library", "docker.io"]);
        assert_eq!(api_host(hub.registry()), "registry-1.docker.io");
    }
}

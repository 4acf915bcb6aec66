//! `check --online`: ask the registries about references, once each, before the build does.
//!
//! A query is a fully qualified reference and the platform it must serve. Its pull goes where
//! containers/image would send it ([`Registries::pull_sources`]: the mirrors that apply, in
//! order, then the primary location); the first source that has the manifest answers, and
//! when none has it the primary's answer is the answer. Requests run on one shared HTTP
//! client, at most [`LookupOptions::parallel`] at a time, each bounded by a timeout; a
//! manifest or config asked twice in a run is fetched once. `--creds` goes only to the
//! registry it was given for; every other registry gets the auth files' entry for it.

use super::client::{self, Client, Timeouts, http_client};
use super::tls::CertDir;
use super::{ACCEPT, api_host, auth_files_credentials, parse_creds, sha256_digest};
use crate::image::Cause;
use crate::image::blobs::{blob_path, verify_small};
use crate::image::manifest::{Manifest, RawConfig, platforms, select_platform};
use crate::reference::imageref::ImageRef;
use crate::reference::platform::Platform;
use crate::source::registries_conf::{PullSource, Registries};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OnceCell, Semaphore};

/// How to ask the registries.
#[derive(Clone, Debug)]
pub struct LookupOptions {
    /// `--tls-verify=false`: plain HTTP and unverified certificates everywhere.
    pub tls_verify: bool,
    pub cert_dir: Option<PathBuf>,
    pub auth_file: Option<PathBuf>,
    /// `--creds` and the registry it was given for (the `--image docker://` one).
    pub creds: Option<(String, String)>,
    /// Where pulls go: the build host's registries.conf.
    pub registries: Registries,
    /// Requests in flight at most.
    pub parallel: usize,
    /// Bound on one request, its answer included.
    pub timeout: Duration,
    /// A progress line on stderr (only on a terminal).
    pub progress: bool,
}

impl Default for LookupOptions {
    fn default() -> Self {
        LookupOptions {
            tls_verify: true,
            cert_dir: None,
            auth_file: None,
            creds: None,
            registries: Registries::default(),
            parallel: 8,
            timeout: Duration::from_secs(30),
            progress: false,
        }
    }
}

/// One reference to ask about, and the platform it must serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub reference: ImageRef,
    pub platform: Platform,
}

/// What the registries said about one query (in `check --format json`, a reference's
/// `online`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "answer", rename_all = "kebab-case")]
pub enum Answer {
    Found(Found),
    /// 404, `MANIFEST_UNKNOWN`, `NAME_UNKNOWN`: the pull would fail.
    NotFound {
        message: String,
    },
    /// No answer could be had.
    Failed(Failure),
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Found {
    /// The digest of the manifest (or index) a pull gets.
    pub digest: String,
    /// The mirror reference that answered, when not the primary location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    pub platform: PlatformCheck,
    /// For an index: the digest of the target platform's manifest in it (what a copy without
    /// `--all` stores); `None` for a single manifest or an index without the platform. Used by
    /// `stowage pin`; not in the JSON contract.
    #[serde(skip)]
    pub instance: Option<String>,
    /// For `repo:tag@digest`: what the tag names now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<TagCheck>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum PlatformCheck {
    Present,
    /// An index without the platform; the platforms it has.
    IndexWithout {
        have: Vec<String>,
    },
    /// A single manifest whose config is for another platform.
    SingleFor {
        platform: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum TagCheck {
    Same,
    Moved { now: String },
    Gone,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    pub kind: FailureKind,
    /// The registry that could not be asked (the primary's host).
    pub registry: String,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// No answer: refused connection, TLS failure, timeout, 5xx, 429 after waiting.
    Unreachable,
    /// 401/403: the lookup was refused (an absent repository often looks the same).
    Denied,
    /// `blocked = true` in registries.conf.
    Blocked,
    /// An answer that cannot be used: a manifest that does not hash to the digest asked for,
    /// or is not a manifest.
    BadAnswer,
}

/// The answers, one per query in order, and the HTTP requests made to get them.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub answers: Vec<Answer>,
    pub requests: u64,
}

/// Ask about every query. Fails only when the lookups cannot start (bad `--cert-dir`, no
/// runtime); what a registry answers, or that it does not, is in the answers.
pub fn lookup(queries: &[Query], opts: &LookupOptions) -> Result<Outcome, Cause> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certs = CertDir::read(opts.cert_dir.as_deref())?;
    let timeouts = Timeouts { connect: opts.timeout.min(Duration::from_secs(10)), read: opts.timeout };
    let shared = Arc::new(Shared {
        secure: http_client(&certs, false, timeouts)?,
        insecure: http_client(&certs, true, timeouts)?,
        has_identity: certs.identity.is_some(),
        opts: opts.clone(),
        permits: Semaphore::new(opts.parallel.max(1)),
        clients: Mutex::default(),
        plain_http: Mutex::default(),
        manifests: Mutex::default(),
        configs: Mutex::default(),
        requests: AtomicU64::new(0),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Cause::Registry(format!("cannot start the network runtime: {e}")))?;
    let progress =
        crate::image::progress::Progress::counter(opts.progress, queries.len(), "asking registries");
    let answers = runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, q) in queries.iter().enumerate() {
            let (shared, q) = (shared.clone(), q.clone());
            tasks.spawn(async move { (i, shared.answer(&q).await) });
        }
        let mut answers: Vec<Option<Answer>> = vec![None; queries.len()];
        while let Some(done) = tasks.join_next().await {
            progress.step();
            match done {
                Ok((i, answer)) => answers[i] = Some(answer),
                Err(e) => return Err(Cause::Registry(format!("a lookup stopped: {e}"))),
            }
        }
        Ok(answers)
    });
    progress.finish();
    let answers = answers?
        .into_iter()
        .map(|a| a.ok_or_else(|| Cause::Registry("a lookup gave no answer".into())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Outcome { answers, requests: shared.requests.load(Ordering::Relaxed) })
}

type Fetched = Result<(Vec<u8>, String, Arc<Client>), Cause>;
/// Answers fetched once per run, shared by every task that asks for the same key.
type Once<K, V> = Mutex<HashMap<K, Arc<OnceCell<V>>>>;

struct Shared {
    secure: reqwest::Client,
    insecure: reqwest::Client,
    has_identity: bool,
    opts: LookupOptions,
    permits: Semaphore,
    /// One client per base URL and repository: its token is reused by every request.
    clients: Mutex<HashMap<(String, String), Arc<Client>>>,
    /// Insecure hosts that did not answer over HTTPS: asked over plain HTTP from then on.
    plain_http: Mutex<HashSet<String>>,
    /// Manifests by physical reference, fetched once.
    manifests: Once<(String, bool), Fetched>,
    /// Image configs by base URL, repository and digest.
    configs: Once<(String, String, String), Result<RawConfig, Cause>>,
    requests: AtomicU64,
}

impl Shared {
    async fn answer(&self, q: &Query) -> Answer {
        let name = q.reference.name();
        let blocked = self.opts.registries.find(&name).filter(|t| t.blocked);
        if let Some(table) = blocked {
            return Answer::Failed(Failure {
                kind: FailureKind::Blocked,
                registry: q.reference.registry().to_string(),
                message: format!("`{}` is blocked by {} (prefix `{}`)", name, table.file, table.prefix),
            });
        }
        let wanted = match (q.reference.digest(), q.reference.effective_tag()) {
            (Some(d), _) => format!("{name}@{d}"),
            (None, Some(t)) => format!("{name}:{t}"),
            (None, None) => format!("{name}:latest"),
        };
        let (bytes, digest, client, via) = match self.pull(&name, &wanted).await {
            Pulled::Found { bytes, digest, client, via } => (bytes, digest, client, via),
            Pulled::NotFound(message) => return Answer::NotFound { message },
            Pulled::Failed(f) => return Answer::Failed(f),
        };
        let (platform, instance) = match self.platform(&bytes, &digest, &client, &q.platform).await {
            Ok(p) => p,
            Err(cause) => return Answer::Failed(self.failure(&q.reference, &cause, None)),
        };
        let tag = match (q.reference.tag(), q.reference.digest()) {
            (Some(tag), Some(pinned)) => match self.pull(&name, &format!("{name}:{tag}")).await {
                Pulled::Found { digest: now, .. } if now == pinned => Some(TagCheck::Same),
                Pulled::Found { digest: now, .. } => Some(TagCheck::Moved { now }),
                Pulled::NotFound(_) => Some(TagCheck::Gone),
                Pulled::Failed(f) => return Answer::Failed(f),
            },
            _ => None,
        };
        Answer::Found(Found { digest, via, platform, instance, tag })
    }

    /// The manifest `reference` (`name:tag` or `name@digest`) names, from the first source
    /// that has it; the primary's answer when none has.
    async fn pull(&self, name: &str, reference: &str) -> Pulled {
        let sources = self.opts.registries.pull_sources(name, reference);
        let mut tried: Vec<String> = Vec::new();
        let last = sources.len().saturating_sub(1);
        for (i, source) in sources.iter().enumerate() {
            let physical = match ImageRef::parse(&source.reference) {
                Ok(r) => r,
                Err(e) => {
                    tried.push(format!("[{}: not a reference: {e}]", source.reference));
                    continue;
                }
            };
            match self.fetch(&physical, source).await {
                Ok((bytes, digest, client)) => {
                    let via = source.mirror.then(|| source.reference.clone());
                    return Pulled::Found { bytes, digest, client, via };
                }
                Err(cause) if i < last => tried.push(format!("[{}: {cause}]", source.reference)),
                Err(cause) => {
                    let primary = ImageRef::parse(reference).ok();
                    let logical = primary.as_ref().unwrap_or(&physical);
                    if let Cause::NotFound(message) = &cause {
                        return Pulled::NotFound(with_mirrors(message, &tried));
                    }
                    let note = self.mirror_note(name, reference);
                    let mut failure = self.failure(logical, &cause, note);
                    failure.registry = physical.registry().to_string();
                    failure.message = with_mirrors(&failure.message, &tried);
                    return Pulled::Failed(failure);
                }
            }
        }
        Pulled::Failed(Failure {
            kind: FailureKind::Unreachable,
            registry: name.split('/').next().unwrap_or(name).to_string(),
            message: with_mirrors(&format!("no source for `{reference}`"), &tried),
        })
    }

    /// Why the lookup of `reference` skipped mirrors, when it did (`mirror-by-digest-only`, or
    /// a mirror's `pull-from-mirror`).
    fn mirror_note(&self, name: &str, reference: &str) -> Option<String> {
        let table = self.opts.registries.find(name)?;
        let asked = self.opts.registries.pull_sources(name, reference).iter().filter(|s| s.mirror).count();
        let skipped = table.mirrors.len().saturating_sub(asked);
        if skipped == 0 {
            return None;
        }
        let (what, why) = match (reference.contains('@'), table.mirror_by_digest_only) {
            (false, true) => ("tag lookups are", "mirror-by-digest-only"),
            (false, false) => ("tag lookups are", "pull-from-mirror"),
            (true, _) => ("digest lookups are", "pull-from-mirror"),
        };
        let mirrors = if skipped == 1 { "a mirror".to_string() } else { format!("{skipped} mirrors") };
        Some(format!("{what} not sent to {mirrors} of `{}`: {why} in {}", table.prefix, table.file))
    }

    fn failure(&self, reference: &ImageRef, cause: &Cause, note: Option<String>) -> Failure {
        let kind = match cause {
            Cause::Auth(_) => FailureKind::Denied,
            Cause::DigestMismatch { .. } | Cause::Corrupt(_) | Cause::Unsupported(_) => {
                FailureKind::BadAnswer
            }
            _ => FailureKind::Unreachable,
        };
        let mut message = cause.to_string();
        if let Some(note) = note {
            message.push_str(&format!(" ({note})"));
        }
        Failure { kind, registry: reference.registry().to_string(), message }
    }

    /// A manifest, fetched once per run.
    async fn fetch(&self, physical: &ImageRef, source: &PullSource) -> Fetched {
        let insecure = source.insecure || !self.opts.tls_verify;
        let key = (physical.lookup_key(), insecure);
        let cell = {
            let mut map = self.manifests.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(key).or_default().clone()
        };
        cell.get_or_init(|| self.fetch_uncached(physical, insecure)).await.clone()
    }

    async fn fetch_uncached(&self, physical: &ImageRef, insecure: bool) -> Fetched {
        let wanted = match (physical.digest(), physical.effective_tag()) {
            (Some(d), _) => {
                blob_path(d)?;
                d.to_string()
            }
            (None, Some(t)) => t.to_string(),
            (None, None) => "latest".to_string(),
        };
        let host = api_host(physical.registry()).to_string();
        let plain = self.plain_http.lock().map(|p| p.contains(&host)).unwrap_or(false);
        let schemes: &[&str] = match (insecure, plain) {
            (false, _) => &["https"],
            (true, false) => &["https", "http"],
            (true, true) => &["http"],
        };
        let mut https_error: Option<Cause> = None;
        for scheme in schemes {
            let client = self.client(&format!("{scheme}://{host}"), physical, insecure)?;
            let answer = {
                let _permit = self.permits.acquire().await;
                self.requests.fetch_add(1, Ordering::Relaxed);
                client.manifest(&wanted, ACCEPT).await
            };
            match answer {
                Ok(bytes) => {
                    let digest = match physical.digest() {
                        Some(pinned) => {
                            verify_small(&bytes, pinned)?;
                            pinned.to_string()
                        }
                        None => sha256_digest(&bytes),
                    };
                    return Ok((bytes, digest, client));
                }
                Err(cause) if *scheme == "https" && insecure && !client.answered() => {
                    if let Ok(mut p) = self.plain_http.lock() {
                        p.insert(host.clone());
                    }
                    https_error = Some(cause);
                }
                Err(cause) => {
                    return Err(match (&https_error, cause) {
                        (Some(Cause::Unreachable(https)), Cause::Unreachable(http)) => {
                            Cause::Unreachable(format!("{https}; over plain HTTP: {http}"))
                        }
                        (_, cause) => cause,
                    });
                }
            }
        }
        Err(https_error.unwrap_or_else(|| Cause::Unreachable(format!("{host}: no protocol to try"))))
    }

    /// The client of a repository at `base`, with the credentials meant for that registry.
    fn client(&self, base: &str, physical: &ImageRef, insecure: bool) -> Result<Arc<Client>, Cause> {
        let key = (base.to_string(), physical.repository().to_string());
        if let Some(c) = self.clients.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(c);
        }
        let credentials = match &self.opts.creds {
            Some((registry, creds)) if registry == physical.registry() => parse_creds(creds),
            _ => auth_files_credentials(physical, self.opts.auth_file.as_deref())?,
        };
        let http = if insecure { self.insecure.clone() } else { self.secure.clone() };
        let client = Arc::new(
            Client::with_http(
                http,
                base.to_string(),
                physical.registry(),
                physical.repository(),
                credentials,
                self.has_identity,
            )
            .with_timeout(self.opts.timeout),
        );
        let mut map = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        Ok(map.entry(key).or_insert(client).clone())
    }

    /// Whether the manifest serves `want`: an index lists it, a single manifest's config is
    /// for it; and for an index, the digest of `want`'s manifest.
    async fn platform(
        &self,
        bytes: &[u8],
        digest: &str,
        client: &Arc<Client>,
        want: &Platform,
    ) -> Result<(PlatformCheck, Option<String>), Cause> {
        let manifest = Manifest::parse(bytes, digest)?;
        if manifest.is_index() {
            return Ok(match select_platform(&manifest, want) {
                Ok(d) => (PlatformCheck::Present, Some(d.digest.clone())),
                Err(_) => (PlatformCheck::IndexWithout { have: platforms(&manifest) }, None),
            });
        }
        let Some(config) = manifest.config.as_ref() else {
            return Err(Cause::Corrupt(format!("{digest}: a manifest without a config")));
        };
        let config = self.config(client, &config.digest).await?;
        let arch = config.architecture.as_deref().unwrap_or_default();
        let os = config.os.as_deref().unwrap_or_default();
        let variant_ok = match (&want.variant, &config.variant) {
            (Some(w), Some(h)) => w == h,
            _ => true,
        };
        if arch == want.arch && os == want.os && variant_ok {
            return Ok((PlatformCheck::Present, None));
        }
        let mut platform = format!("{os}/{arch}");
        if let Some(v) = &config.variant {
            platform.push_str(&format!("/{v}"));
        }
        Ok((PlatformCheck::SingleFor { platform }, None))
    }

    async fn config(&self, client: &Arc<Client>, digest: &str) -> Result<RawConfig, Cause> {
        let key = (client.base().to_string(), client.repository().to_string(), digest.to_string());
        let cell = {
            let mut map = self.configs.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(key).or_default().clone()
        };
        cell.get_or_init(|| async {
            blob_path(digest)?;
            let _permit = self.permits.acquire().await;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let response = client.blob(digest, None).await?;
            let bytes = client::read_limited(response, client::MAX_MANIFEST)
                .await
                .map_err(|e| Cause::Unreachable(format!("config {digest}: {e}")))?;
            verify_small(&bytes, digest)?;
            RawConfig::parse(&bytes)
        })
        .await
        .clone()
    }
}

enum Pulled {
    Found { bytes: Vec<u8>, digest: String, client: Arc<Client>, via: Option<String> },
    NotFound(String),
    Failed(Failure),
}

fn with_mirrors(message: &str, tried: &[String]) -> String {
    if tried.is_empty() {
        message.to_string()
    } else {
        format!("{message} (mirrors also failed: {})", tried.join(", "))
    }
}

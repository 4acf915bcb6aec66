//! A small client of the distribution API (the OCI distribution spec): manifests and blobs of
//! one repository, with the registry's authentication dance done once and its result reused
//! by every later request of the run.
//!
//! Auth: every request goes out with the cached `Authorization` (none at first). On 401 the
//! `WWW-Authenticate` challenges decide: `Bearer` → a token from the realm for
//! `repository:NAME:pull` (basic credentials if we have them, an identity token through the
//! OAuth2 `refresh_token` grant), `Basic` → the credentials themselves; then the request is
//! retried once. A second 401 means the credentials were refused.

use super::super::Cause;
use super::challenge::{self, Challenge};
use super::tls::CertDir;
use base64::Engine;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Response, StatusCode};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const USER_AGENT: &str = concat!("stowage/", env!("CARGO_PKG_VERSION"));
/// Largest manifest or index accepted (containers/image uses 4 MiB).
pub const MAX_MANIFEST: u64 = 16 << 20;
/// Largest token response or error body read.
const MAX_SMALL_BODY: u64 = 1 << 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    Anonymous,
    Basic {
        user: String,
        password: String,
    },
    /// An auth file's `identitytoken`: an OAuth2 refresh token for the registry's token server.
    IdentityToken(String),
}

pub struct Client {
    http: reqwest::Client,
    /// `https://HOST` or `http://HOST`.
    base: String,
    /// The registry as named in messages.
    registry: String,
    repository: String,
    credentials: Credentials,
    /// The `Authorization` value the last auth dance produced.
    authorization: Mutex<Option<HeaderValue>>,
    /// Whether the registry ever answered (a transport failure before that lets the caller
    /// try plain HTTP under `--tls-verify=false`).
    answered: AtomicBool,
    /// Whether a client certificate is offered.
    has_identity: bool,
    /// A bound on each request, answer included.
    timeout: Option<Duration>,
}

/// How a registry answered a range request.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeAnswer {
    /// 206: the bytes asked for.
    Partial,
    /// 200: the whole blob; the registry has no random access.
    Whole,
}

/// A range request the registry answered in a way that cannot be used.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// A 206 whose `Content-Range` does not start at the offset asked for.
    #[error("the registry answered `Content-Range: {range}` to a request at offset {offset}")]
    ContentRange { range: String, offset: u64 },
    #[error("unexpected status {0} to a range request")]
    Status(StatusCode),
}

/// A response body that could not be read whole.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The connection failed; the message is the error with its causes ([`describe`]).
    #[error("{}", describe(.0))]
    Read(reqwest::Error),
    #[error("more than the {limit} bytes expected")]
    TooLong { limit: u64 },
}

/// How long to wait for a connection, and for the next bytes of an answer.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { connect: Duration::from_secs(30), read: Duration::from_secs(120) }
    }
}

/// The HTTP client of a run: TLS from `certs` (`insecure` accepts any certificate), the proxy
/// environment, `timeouts`. One serves every repository of the run (its connections are pooled).
pub fn http_client(certs: &CertDir, insecure: bool, timeouts: Timeouts) -> Result<reqwest::Client, Cause> {
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(timeouts.connect)
        .read_timeout(timeouts.read)
        .tls_certs_merge(certs.roots.iter().cloned())
        .tls_danger_accept_invalid_certs(insecure);
    if let Some((identity, _)) = &certs.identity {
        builder = builder.identity(identity.clone());
    }
    builder.build().map_err(|e| {
        let with = certs.identity.as_ref().map(|(_, p)| format!(" with {}", p.display()));
        Cause::Registry(format!("cannot set up TLS{}: {}", with.unwrap_or_default(), describe(&e)))
    })
}

impl Client {
    pub fn new(
        base: String,
        registry: &str,
        repository: &str,
        credentials: Credentials,
        certs: &CertDir,
        insecure: bool,
    ) -> Result<Client, Cause> {
        let http = http_client(certs, insecure, Timeouts::default())?;
        Ok(Client::with_http(http, base, registry, repository, credentials, certs.identity.is_some()))
    }

    /// A client of one repository over an HTTP client shared with others.
    pub fn with_http(
        http: reqwest::Client,
        base: String,
        registry: &str,
        repository: &str,
        credentials: Credentials,
        has_identity: bool,
    ) -> Client {
        Client {
            http,
            base,
            registry: registry.to_string(),
            repository: repository.to_string(),
            credentials,
            authorization: Mutex::new(None),
            answered: AtomicBool::new(false),
            has_identity,
            timeout: None,
        }
    }

    /// Bound every request, its answer included, by `timeout`.
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.timeout = Some(timeout);
        self
    }

    /// `https://HOST` or `http://HOST`.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn repository(&self) -> &str {
        &self.repository
    }

    pub fn answered(&self) -> bool {
        self.answered.load(Ordering::Relaxed)
    }

    /// A manifest or index by tag or digest, as the registry stores it.
    pub async fn manifest(&self, reference: &str, accept: &str) -> Result<Vec<u8>, Cause> {
        let url = format!("{}/v2/{}/manifests/{reference}", self.base, self.repository);
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, value(accept)?);
        let response = self.get(&url, &headers).await?;
        if response.status() != StatusCode::OK {
            return Err(self.failure(&format!("manifest {reference}"), response).await);
        }
        read_limited(response, MAX_MANIFEST)
            .await
            .map_err(|e| Cause::Registry(format!("{}: manifest {reference}: {e}", self.registry)))
    }

    /// A blob, whole or the `length` bytes at `offset`: the response once its status is 200
    /// or 206 (redirects to a blob store are followed; reqwest drops `Authorization` when
    /// one leaves the registry's host).
    pub async fn blob(&self, digest: &str, range: Option<(u64, u64)>) -> Result<Response, Cause> {
        let url = format!("{}/v2/{}/blobs/{digest}", self.base, self.repository);
        let mut headers = HeaderMap::new();
        if let Some((offset, length)) = range {
            let last = offset.saturating_add(length).saturating_sub(1);
            headers.insert(header::RANGE, value(&format!("bytes={offset}-{last}"))?);
        }
        let response = self.get(&url, &headers).await?;
        match response.status() {
            StatusCode::OK | StatusCode::PARTIAL_CONTENT => Ok(response),
            _ => Err(self.failure(&format!("blob {digest}"), response).await),
        }
    }

    async fn get(&self, url: &str, headers: &HeaderMap) -> Result<Response, Cause> {
        let cached = self.authorization.lock().ok().and_then(|a| a.clone());
        let response = self.send(url, headers, cached).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        // First contact, or the cached token expired: one dance, then one retry.
        let challenges: Vec<Challenge> = response
            .headers()
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(challenge::parse)
            .collect();
        let authorization = self.authenticate(&challenges).await?;
        if let Ok(mut cache) = self.authorization.lock() {
            *cache = Some(authorization.clone());
        }
        let response = self.send(url, headers, Some(authorization)).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(self.refused("the registry"));
        }
        Ok(response)
    }

    async fn send(
        &self,
        url: &str,
        headers: &HeaderMap,
        authorization: Option<HeaderValue>,
    ) -> Result<Response, Cause> {
        let mut request = self.http.get(url).headers(headers.clone());
        if let Some(t) = self.timeout {
            request = request.timeout(t);
        }
        if let Some(a) = authorization {
            request = request.header(header::AUTHORIZATION, a);
        }
        // A pooled keep-alive connection that the server or a proxy closed while it sat idle
        // fails the next request before any answer. Go's net/http (so skopeo) sends such an
        // idempotent request again on a new connection; so does this, once.
        let mut waits = 0;
        loop {
            let again = request.try_clone();
            let retry = request.try_clone();
            let response = match (request.send().await, retry) {
                (Err(e), Some(retry)) if is_stale_connection(&e) => retry.send().await,
                (result, _) => result,
            };
            let response = response.map_err(|e| self.transport(&e))?;
            self.answered.store(true, Ordering::Relaxed);
            // 429: wait as long as Retry-After says (bounded), a few times, then give up with
            // the answer.
            let Some(next) = again.filter(|_| response.status() == StatusCode::TOO_MANY_REQUESTS) else {
                return Ok(response);
            };
            if waits == MAX_429_WAITS {
                return Ok(response);
            }
            waits += 1;
            let after = response.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok());
            tokio::time::sleep(retry_after(after, std::time::SystemTime::now(), waits)).await;
            request = next;
        }
    }

    /// The `Authorization` value answering the challenges of a 401.
    async fn authenticate(&self, challenges: &[Challenge]) -> Result<HeaderValue, Cause> {
        let find = |scheme: &str| challenges.iter().find(|c| c.scheme == scheme);
        if let Some(bearer) = find("bearer") {
            let token = self.bearer_token(bearer).await?;
            let mut v = value(&format!("Bearer {token}"))?;
            v.set_sensitive(true);
            return Ok(v);
        }
        if find("basic").is_some() {
            return match &self.credentials {
                Credentials::Basic { user, password } => {
                    let encoded =
                        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                    let mut v = value(&format!("Basic {encoded}"))?;
                    v.set_sensitive(true);
                    Ok(v)
                }
                Credentials::Anonymous => Err(Cause::Auth(format!(
                    "{} requires credentials, and none were given (--creds) or found in the auth files",
                    self.registry
                ))),
                Credentials::IdentityToken(_) => Err(Cause::Auth(format!(
                    "{} asks for a user name and password, and the auth file holds an identity token",
                    self.registry
                ))),
            };
        }
        let schemes: Vec<&str> = challenges.iter().map(|c| c.scheme.as_str()).collect();
        Err(Cause::Auth(format!(
            "{} answered 401 without a Basic or Bearer challenge ({})",
            self.registry,
            if schemes.is_empty() { "no WWW-Authenticate header".to_string() } else { schemes.join(", ") }
        )))
    }

    /// A token from the challenge's realm (distribution's token spec; its OAuth2 variant for
    /// an identity token).
    async fn bearer_token(&self, challenge: &Challenge) -> Result<String, Cause> {
        let realm = challenge
            .param("realm")
            .ok_or_else(|| Cause::Auth(format!("{}: the Bearer challenge has no realm", self.registry)))?;
        let mut url = reqwest::Url::parse(realm).map_err(|e| {
            Cause::Auth(format!("{}: the token realm `{realm}` is not a URL: {e}", self.registry))
        })?;
        let scope = format!("repository:{}:pull", self.repository);
        let service = challenge.param("service");
        let request = match &self.credentials {
            Credentials::IdentityToken(token) => {
                let mut form = vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                    ("client_id", "stowage"),
                    ("scope", scope.as_str()),
                ];
                if let Some(s) = service {
                    form.push(("service", s));
                }
                self.http
                    .post(url)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(form_urlencoded(&form))
            }
            credentials => {
                {
                    let mut query = url.query_pairs_mut();
                    if let Some(s) = service {
                        query.append_pair("service", s);
                    }
                    query.append_pair("scope", &scope);
                    if let Credentials::Basic { user, .. } = credentials {
                        query.append_pair("account", user);
                    }
                }
                let request = self.http.get(url);
                match credentials {
                    Credentials::Basic { user, password } => request.basic_auth(user, Some(password)),
                    _ => request,
                }
            }
        };
        let response = request.send().await.map_err(|e| {
            Cause::Unreachable(format!("{}: token server {realm}: {}", self.registry, describe(&e)))
        })?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(self.refused(&format!("the token server {realm}")));
        }
        if !status.is_success() {
            return Err(Cause::Registry(format!(
                "{}: token server {realm} answered {status}",
                self.registry
            )));
        }
        let body = read_limited(response, MAX_SMALL_BODY)
            .await
            .map_err(|e| Cause::Registry(format!("{}: token server {realm}: {e}", self.registry)))?;
        token_from_body(&body)
            .map_err(|e| Cause::Registry(format!("{}: token server {realm} {e}", self.registry)))
    }

    /// `by` (the registry or its token server) answered 401 to our credentials.
    fn refused(&self, by: &str) -> Cause {
        let what = match &self.credentials {
            Credentials::Anonymous => {
                format!("{by} refused anonymous access (no credentials were given or found)")
            }
            Credentials::Basic { user, .. } => format!("{by} refused the credentials of `{user}`"),
            Credentials::IdentityToken(_) => format!("{by} refused the identity token"),
        };
        Cause::Auth(format!("{}: {what}", self.registry))
    }

    /// The cause of a non-success answer, from its status and the distribution error body
    /// (`{"errors":[{"code","message"}]}`).
    async fn failure(&self, what: &str, response: Response) -> Cause {
        let status = response.status();
        let body = read_limited(response, MAX_SMALL_BODY).await.unwrap_or_default();
        let codes = error_codes(&body);
        let detail = if codes.is_empty() {
            status.to_string()
        } else {
            format!(
                "{status}: {}",
                codes.iter().map(|(c, m)| format!("{c} {m}")).collect::<Vec<_>>().join("; ")
            )
        };
        let unknown = codes
            .iter()
            .any(|(c, _)| matches!(c.as_str(), "MANIFEST_UNKNOWN" | "NAME_UNKNOWN" | "BLOB_UNKNOWN"));
        let place = format!("{}/{}", self.registry, self.repository);
        if status == StatusCode::NOT_FOUND || unknown {
            Cause::NotFound(format!("{place}: {what} not found ({detail})"))
        } else if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            Cause::Auth(format!("{place}: {what}: access denied ({detail})"))
        } else {
            Cause::Registry(format!("{place}: {what}: {detail}"))
        }
    }

    fn transport(&self, e: &reqwest::Error) -> Cause {
        let text = describe(e);
        let mut message = if text.contains(&self.base) { text } else { format!("{}: {text}", self.base) };
        if message.contains("received fatal alert") && !self.has_identity {
            message.push_str(
                " (the registry refused the TLS handshake: if it asks for a client certificate, \
                 put NAME.cert and NAME.key in --cert-dir)",
            );
        }
        Cause::Unreachable(message)
    }
}

/// How many times a 429 answer is waited out before it is the answer.
const MAX_429_WAITS: u32 = 3;
/// The longest wait a `Retry-After` gets.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How long to wait before the `attempt`th retry of a 429: its `Retry-After` (seconds, or an
/// HTTP date after `now`), at most [`MAX_RETRY_AFTER`]; without one, 1, 2, 4... seconds.
pub fn retry_after(value: Option<&str>, now: std::time::SystemTime, attempt: u32) -> Duration {
    let fallback = Duration::from_secs(1 << attempt.saturating_sub(1).min(5));
    let wait = match value.map(str::trim) {
        Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
            v.parse::<u64>().map_or(MAX_RETRY_AFTER, Duration::from_secs)
        }
        Some(v) => match http_date(v) {
            Some(at) => at.duration_since(now).unwrap_or_default(),
            None => fallback,
        },
        None => fallback,
    };
    wait.min(MAX_RETRY_AFTER)
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form HTTP servers send.
fn http_date(text: &str) -> Option<std::time::SystemTime> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else { return None };
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = MONTHS.iter().position(|m| m == month)? as i64 + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<i64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else { return None };
    // Days from the civil date (proleptic Gregorian), as in Howard Hinnant's algorithm.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + h * 3600 + m * 60 + s).ok()?;
    Some(std::time::UNIX_EPOCH + Duration::from_secs(secs))
}

/// How a blob response answers a range request at `offset`: 206 must start where asked,
/// 200 is the whole blob.
pub fn range_answer(
    status: StatusCode,
    content_range: Option<&str>,
    offset: u64,
) -> Result<RangeAnswer, RangeError> {
    match status {
        StatusCode::OK => Ok(RangeAnswer::Whole),
        StatusCode::PARTIAL_CONTENT => {
            let Some(range) = content_range else { return Ok(RangeAnswer::Partial) };
            // `bytes START-END/TOTAL`
            let start = range
                .trim()
                .strip_prefix("bytes ")
                .and_then(|r| r.split_once('-'))
                .and_then(|(s, _)| s.trim().parse::<u64>().ok());
            match start {
                Some(s) if s == offset => Ok(RangeAnswer::Partial),
                _ => Err(RangeError::ContentRange { range: range.to_string(), offset }),
            }
        }
        other => Err(RangeError::Status(other)),
    }
}

/// The body, refusing more than `limit` bytes.
pub async fn read_limited(mut response: Response, limit: u64) -> Result<Vec<u8>, BodyError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        append_limited(&mut body, &chunk, limit)?;
    }
    Ok(body)
}

/// The token of a token server's answer (`token`, else OAuth2's `access_token`); the error
/// completes "token server REALM ...".
pub fn token_from_body(body: &[u8]) -> Result<String, String> {
    #[derive(serde::Deserialize)]
    struct TokenResponse {
        token: Option<String>,
        access_token: Option<String>,
    }
    let parsed: TokenResponse =
        serde_json::from_slice(body).map_err(|e| format!("sent no token JSON: {e}"))?;
    parsed
        .token
        .filter(|t| !t.is_empty())
        .or(parsed.access_token.filter(|t| !t.is_empty()))
        .ok_or_else(|| "sent no token".to_string())
}

fn append_limited(body: &mut Vec<u8>, chunk: &[u8], limit: u64) -> Result<(), BodyError> {
    if body.len() as u64 + chunk.len() as u64 > limit {
        return Err(BodyError::TooLong { limit });
    }
    body.extend_from_slice(chunk);
    Ok(())
}

fn error_codes(body: &[u8]) -> Vec<(String, String)> {
    #[derive(serde::Deserialize)]
    struct Errors {
        #[serde(default)]
        errors: Vec<Error>,
    }
    #[derive(serde::Deserialize)]
    struct Error {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    serde_json::from_slice::<Errors>(body)
        .map(|e| e.errors.into_iter().map(|e| (e.code, e.message)).collect())
        .unwrap_or_default()
}

/// An error with its causes, without the repetitions reqwest and hyper add.
/// A request that failed after the connection was made and before an answer came: what a
/// reused connection closed by the other side looks like (not a refused connection, not a
/// timeout, which are answers in their own right).
fn is_stale_connection(e: &reqwest::Error) -> bool {
    e.is_request() && !e.is_connect() && !e.is_timeout()
}

pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}

fn value(text: &str) -> Result<HeaderValue, Cause> {
    HeaderValue::from_str(text).map_err(|_| Cause::Spec(format!("`{text}` cannot be sent in an HTTP header")))
}

/// `application/x-www-form-urlencoded`, through the URL crate reqwest already uses.
fn form_urlencoded(pairs: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse("http://form.invalid/").expect("a constant URL parses");
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_answers() {
        let p = StatusCode::PARTIAL_CONTENT;
        assert_eq!(range_answer(p, Some("bytes 100-199/1000"), 100), Ok(RangeAnswer::Partial));
        assert_eq!(range_answer(p, None, 100), Ok(RangeAnswer::Partial));
        assert_eq!(
            range_answer(p, Some("bytes 0-99/1000"), 100).unwrap_err().to_string(),
            "the registry answered `Content-Range: bytes 0-99/1000` to a request at offset 100"
        );
        assert!(range_answer(p, Some("garbage"), 0).is_err());
        assert_eq!(range_answer(StatusCode::OK, None, 100), Ok(RangeAnswer::Whole));
        assert_eq!(
            range_answer(StatusCode::RANGE_NOT_SATISFIABLE, None, 0).unwrap_err().to_string(),
            "unexpected status 416 Range Not Satisfiable to a range request"
        );
    }

    #[test]
    fn never_more_bytes_than_asked() {
        let mut body = Vec::new();
        append_limited(&mut body, b"abcd", 6).unwrap();
        append_limited(&mut body, b"ef", 6).unwrap();
        assert_eq!(
            append_limited(&mut body, b"g", 6).unwrap_err().to_string(),
            "more than the 6 bytes expected"
        );
        assert_eq!(body, b"abcdef");
    }

    #[test]
    fn distribution_error_bodies() {
        let body =
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#;
        assert_eq!(error_codes(body), [("MANIFEST_UNKNOWN".to_string(), "manifest unknown".to_string())]);
        assert!(error_codes(b"<html>not json</html>").is_empty());
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date_bounded() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(retry_after(Some("2"), now, 1), Duration::from_secs(2));
        assert_eq!(retry_after(Some("Sun, 06 Nov 1994 08:49:40 GMT"), now, 1), Duration::from_secs(3));
        assert_eq!(retry_after(Some("Sun, 06 Nov 1994 08:49:30 GMT"), now, 1), Duration::ZERO);
        assert_eq!(retry_after(Some("86400"), now, 1), MAX_RETRY_AFTER);
        assert_eq!(retry_after(None, now, 1), Duration::from_secs(1));
        assert_eq!(retry_after(Some("soon"), now, 3), Duration::from_secs(4));
    }

    #[test]
    fn form_encoding() {
        assert_eq!(
            form_urlencoded(&[
                ("grant_type", "refresh_token"),
                ("scope", "repository:a/b:pull"),
                ("t", "x+y &z")
            ]),
            "grant_type=refresh_token&scope=repository%3Aa%2Fb%3Apull&t=x%2By+%26z"
        );
    }

    /// A registry that answers 429 with `Retry-After: 1` is asked again after a second; one that
    /// keeps answering 429 is given up on after a few waits, with its answer as the error.
    #[test]
    fn too_many_requests_waits_as_retry_after_says() {
        use std::io::{Read, Write};
        use std::net::TcpListener;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // 429, then 200 for `a`; then 429 for ever for `b` (1 + MAX_429_WAITS answers).
        let answers: Vec<&[u8]> = [
            &[&b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n"[..]][..],
            &[&b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"[..]],
            &[&b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n"[..]; 4],
        ]
        .concat();
        let server = std::thread::spawn(move || {
            let mut served = 0;
            for answer in answers {
                let (mut s, _) = listener.accept().unwrap();
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = s.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                // One answer per connection: the client opens a new one for the next request.
                let mut framed = answer.to_vec();
                let at = framed.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
                framed.splice(at..at, b"\r\nConnection: close".iter().copied());
                s.write_all(&framed).unwrap();
                served += 1;
            }
            served
        });
        let _ = rustls::crypto::ring::default_provider().install_default();
        let certs = CertDir { roots: Vec::new(), identity: None };
        let client =
            Client::new(format!("http://{addr}"), "127.0.0.1", "r", Credentials::Anonymous, &certs, false)
                .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let start = std::time::Instant::now();
        let first = runtime.block_on(client.manifest("a", "application/json"));
        assert_eq!(first.unwrap(), b"{}");
        assert!(start.elapsed() >= Duration::from_secs(1), "waited {:?}", start.elapsed());
        let err = runtime.block_on(client.manifest("b", "application/json")).unwrap_err().to_string();
        assert!(err.contains("429"), "{err}");
        assert_eq!(server.join().unwrap(), 6);
    }

    /// The server keeps the first connection alive, then closes it after reading the second
    /// request without answering (as an idle-timeout on a proxy does): the GET is sent again
    /// on a new connection instead of failing the image.
    #[test]
    fn a_reused_connection_closed_without_an_answer_is_tried_again() {
        use std::io::{Read, Write};
        use std::net::{TcpListener, TcpStream};
        fn read_request(s: &mut TcpStream) {
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "the client closed the connection");
                got.extend_from_slice(&buf[..n]);
            }
        }
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
            let (mut first, _) = listener.accept().unwrap();
            read_request(&mut first);
            first.write_all(answer).unwrap();
            read_request(&mut first);
            drop(first);
            let (mut second, _) = listener.accept().unwrap();
            read_request(&mut second);
            second.write_all(answer).unwrap();
        });
        let _ = rustls::crypto::ring::default_provider().install_default();
        let certs = CertDir { roots: Vec::new(), identity: None };
        let client =
            Client::new(format!("http://{addr}"), "127.0.0.1", "r", Credentials::Anonymous, &certs, false)
                .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            assert_eq!(client.manifest("a", "application/json").await.unwrap(), b"{}");
            assert_eq!(client.manifest("b", "application/json").await.unwrap(), b"{}");
        });
        server.join().unwrap();
    }
}

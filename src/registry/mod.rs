//! The registry client (OCI distribution API over HTTP). Only `capture`, `push` and
//! `verify --registry` use it; the verification core never does.
//!
//! Transport rules: every request has a connect timeout and an idle read timeout
//! ([`ClientOptions::timeout`]); only timeouts, connection resets, 5xx and 429 are retried (with
//! backoff), a refused connection fails at once; a redirect from HTTPS to plain HTTP is refused;
//! credentials go only to the registry host they belong to and to a token realm on the same
//! host (a realm on another host gets credentials only when the auth file names that host),
//! and never over plain HTTP unless that host was given with `--insecure-registry`.
#![allow(clippy::disallowed_methods)] // an edge: file I/O (and clocks for timeouts) live here by design
pub mod auth;
pub mod tls;
pub mod wire;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{
    HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode};

use crate::layout::{BlobWriter, CommitError, LayoutError};
use crate::oci::manifest::{MANIFEST_ACCEPT, MAX_MANIFEST_BYTES};
use crate::oci::Digest;
use auth::{AuthError, AuthStore, Challenge, Credentials};

/// How many times a request is retried after a timeout, a reset connection, 429 or 5xx.
pub const MAX_RETRIES: u32 = 4;
/// Connect and idle-read timeout when `--timeout` is not given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest token response accepted.
const MAX_TOKEN_BYTES: usize = 1 << 20;
/// Largest registry error body read.
const MAX_ERROR_BODY_BYTES: usize = 2048;
/// Longest part of a registry error body quoted in a message.
const MAX_QUOTED_BODY_BYTES: usize = 300;
/// Most redirects followed for one request.
const MAX_REDIRECTS: usize = 8;

/// Client settings.
#[derive(Debug, Default)]
pub struct ClientOptions {
    /// Hosts (`host[:port]`) to talk to over plain HTTP.
    pub insecure: BTreeSet<String>,
    /// Trusted CAs (`--ca-file`) and `certs.d` directories.
    pub tls: tls::TlsSettings,
    pub auth: AuthStore,
    /// Base delay for retries (tests shorten it).
    pub retry_base: Option<Duration>,
    /// Connect timeout and idle read timeout ([`DEFAULT_TIMEOUT`] when unset).
    pub timeout: Option<Duration>,
}

fn tries_note(tries: &u32) -> String {
    if *tries > 1 {
        format!(" (gave up after {tries} tries)")
    } else {
        String::new()
    }
}

/// What went wrong talking to a registry (exit 2: outside the content being judged).
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{url}: cannot connect: {detail}{}; is the registry running and reachable? (plain-HTTP registries need --insecure-registry HOST)", tries_note(.tries))]
    Connect {
        url: String,
        detail: String,
        tries: u32,
    },
    #[error("{host}: TLS: {detail}")]
    Tls { host: String, detail: String },
    #[error("{host}: no answer within {secs} s while waiting for {waiting_for} ({url}){}; the registry stalled (if it is only slow, raise --timeout)", tries_note(.tries))]
    Timeout {
        host: String,
        url: String,
        waiting_for: String,
        secs: u64,
        tries: u32,
    },
    #[error("{url}: the transfer broke off after {received} bytes: {detail}; run the command again (complete blobs are kept)")]
    Interrupted {
        url: String,
        received: u64,
        detail: String,
    },
    #[error("{url}: refused to follow a redirect from HTTPS to plain HTTP ({location})")]
    Downgrade { url: String, location: String },
    #[error("{host}: {detail}")]
    CredentialsWithheld { host: String, detail: String },
    #[error("{0}")]
    Auth(#[from] AuthError),
    #[error("{url}: authentication failed (HTTP {status}); check the credentials for this registry in the auth file ({source_file})")]
    Unauthorized {
        url: String,
        status: u16,
        source_file: String,
    },
    #[error("{url}: HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url}: HTTP {status} {tries} times in a row, giving up: {body}")]
    GaveUp {
        url: String,
        status: u16,
        body: String,
        tries: u32,
    },
    #[error("{url}: {what} is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        url: String,
        what: &'static str,
        size: u64,
        limit: u64,
    },
    #[error(
        "{url}: the registry sent content that hashes to {actual}, not to the requested {expected}"
    )]
    DigestMismatch {
        url: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("{url}: {detail}")]
    Protocol { url: String, detail: String },
    #[error("writing {url} to the bundle: {source}")]
    Store { url: String, source: LayoutError },
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
}

/// A manifest as fetched: exact bytes, announced content type and digest header.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
    pub docker_content_digest: Option<String>,
}

/// Result of a manifest PUT.
#[derive(Debug, Clone)]
pub struct PutResult {
    pub oci_subject: Option<String>,
    pub docker_content_digest: Option<String>,
}

/// The HTTP client for one host (its own TLS settings: cert-dir CAs, client certificate).
#[derive(Clone)]
struct HostHttp {
    http: reqwest::Client,
    tls: tls::TlsState,
}

/// Why a redirect was refused (found again in the error chain).
#[derive(Debug)]
struct RedirectRefused(String);

impl std::fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "redirect to {} refused", self.0)
    }
}

impl std::error::Error for RedirectRefused {}

/// A registry client shared across tasks.
#[derive(Clone)]
pub struct Client {
    hosts: Arc<Mutex<HashMap<String, HostHttp>>>,
    tls: Arc<tls::TlsSettings>,
    timeout: Duration,
    insecure: Arc<BTreeSet<String>>,
    auth: Arc<AuthStore>,
    creds: Arc<Mutex<HashMap<String, Option<Credentials>>>>,
    tokens: Arc<Mutex<HashMap<(String, String), String>>>,
    basic: Arc<Mutex<BTreeSet<String>>>,
    retry_base: Duration,
    requests: Arc<AtomicU64>,
}

/// `host[:port]` of a URL, as registry hosts are written.
fn authority(u: &reqwest::Url) -> String {
    let h = u.host_str().unwrap_or("");
    match u.port() {
        Some(p) => format!("{h}:{p}"),
        None => h.to_string(),
    }
}

/// The host name of `host[:port]` (brackets of an IPv6 literal kept), lowercased.
fn hostname(authority: &str) -> String {
    let a = authority.to_ascii_lowercase();
    if a.starts_with('[') {
        return a.split(']').next().map(|h| format!("{h}]")).unwrap_or(a);
    }
    a.rsplit_once(':').map(|(h, _)| h.to_string()).unwrap_or(a)
}

/// Docker Hub's hosts are one service (the registry, its index and its token server).
fn is_docker_hub(h: &str) -> bool {
    matches!(
        h,
        "docker.io" | "registry-1.docker.io" | "index.docker.io" | "auth.docker.io"
    )
}

/// Whether two `host[:port]` authorities are the same host for credentials.
fn same_host(a: &str, b: &str) -> bool {
    let (a, b) = (hostname(a), hostname(b));
    a == b || (is_docker_hub(&a) && is_docker_hub(&b))
}

fn chain_has(
    e: &(dyn std::error::Error + 'static),
    pred: &dyn Fn(&std::io::Error) -> bool,
) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if pred(io) {
                return true;
            }
        }
        cur = c.source();
    }
    false
}

fn is_refused(e: &reqwest::Error) -> bool {
    chain_has(e, &|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
}

fn is_reset(e: &reqwest::Error) -> bool {
    use std::io::ErrorKind::*;
    chain_has(e, &|io| {
        matches!(
            io.kind(),
            ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
        )
    }) || error_chain(e).contains("connection closed before message completed")
}

fn redirect_refused(e: &reqwest::Error) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(r) = c.downcast_ref::<RedirectRefused>() {
            return Some(r.0.clone());
        }
        cur = c.source();
    }
    None
}

impl Client {
    pub fn new(opts: ClientOptions) -> Result<Client, RegistryError> {
        Ok(Client {
            hosts: Arc::new(Mutex::new(HashMap::new())),
            tls: Arc::new(opts.tls),
            timeout: opts.timeout.unwrap_or(DEFAULT_TIMEOUT),
            insecure: Arc::new(opts.insecure),
            auth: Arc::new(opts.auth),
            creds: Arc::new(Mutex::new(HashMap::new())),
            tokens: Arc::new(Mutex::new(HashMap::new())),
            basic: Arc::new(Mutex::new(BTreeSet::new())),
            retry_base: opts.retry_base.unwrap_or(Duration::from_millis(250)),
            requests: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Requests sent so far (for progress and tests).
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn is_insecure(&self, authority: &str) -> bool {
        self.insecure.contains(authority)
    }

    fn base(&self, host: &str) -> String {
        let scheme = if self.is_insecure(host) {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{host}")
    }

    /// The HTTP client for `authority` (built on first use with that host's TLS settings).
    fn http_for(&self, authority: &str) -> Result<HostHttp, RegistryError> {
        if let Some(h) = self
            .hosts
            .lock()
            .ok()
            .and_then(|m| m.get(authority).cloned())
        {
            return Ok(h);
        }
        let (config, state) = tls::host_config(&self.tls, authority)
            .map_err(|e| RegistryError::Setup(e.to_string()))?;
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            let from_https = attempt
                .previous()
                .last()
                .map(|u| u.scheme() == "https")
                .unwrap_or(false);
            if from_https && attempt.url().scheme() != "https" {
                let to = attempt.url().to_string();
                return attempt.error(RedirectRefused(to));
            }
            attempt.follow()
        });
        let http = reqwest::Client::builder()
            .user_agent(concat!("airlock/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(self.timeout)
            .read_timeout(self.timeout)
            .pool_max_idle_per_host(16)
            .redirect(policy)
            .use_preconfigured_tls(config)
            .build()
            .map_err(|e| RegistryError::Setup(error_chain(&e)))?;
        let h = HostHttp { http, tls: state };
        if let Ok(mut m) = self.hosts.lock() {
            m.insert(authority.to_string(), h.clone());
        }
        Ok(h)
    }

    fn credentials(&self, host: &str) -> Result<Option<Credentials>, RegistryError> {
        if let Some(c) = self.creds.lock().ok().and_then(|m| m.get(host).cloned()) {
            return Ok(c);
        }
        let c = self.auth.credentials_for(host)?;
        if let Ok(mut m) = self.creds.lock() {
            m.insert(host.to_string(), c.clone());
        }
        Ok(c)
    }

    /// Turn a failed request into a message that says what happened.
    fn classify(
        &self,
        e: &reqwest::Error,
        hh: &HostHttp,
        host: &str,
        method: &Method,
        url: &str,
        tries: u32,
    ) -> RegistryError {
        if let Some(detail) = hh.tls.failure.lock().ok().and_then(|mut f| f.take()) {
            return RegistryError::Tls {
                host: host.into(),
                detail,
            };
        }
        let chain = error_chain(e);
        if chain.contains("InvalidContentType") || chain.contains("corrupt message") {
            return RegistryError::Tls {
                host: host.into(),
                detail: format!("TLS spoken to an HTTP port: {host} answered in plain HTTP, not TLS; if this registry only speaks HTTP, use --insecure-registry {host}"),
            };
        }
        if chain.contains("CertificateRequired")
            || chain.contains("alert: BadCertificate")
            || (hh.tls.client_cert_requested.load(Ordering::SeqCst)
                && !e.is_timeout()
                && !is_refused(e))
        {
            return RegistryError::Tls {
                host: host.into(),
                detail: format!("the registry requires a client certificate (mutual TLS) and refused ours or got none; put client.cert and client.key into DIR/{host}/ of a --cert-dir DIR"),
            };
        }
        if let Some(location) = redirect_refused(e) {
            return RegistryError::Downgrade {
                url: url.into(),
                location,
            };
        }
        if e.is_timeout() {
            let waiting_for = if e.is_connect() {
                "the connection (TCP connect and TLS handshake)".to_string()
            } else {
                format!("the response to {method}")
            };
            return RegistryError::Timeout {
                host: host.into(),
                url: url.into(),
                waiting_for,
                secs: self.timeout.as_secs().max(1),
                tries,
            };
        }
        if is_refused(e) {
            let to = reqwest::Url::parse(url)
                .map(|u| authority(&u))
                .unwrap_or_else(|_| host.to_string());
            return RegistryError::Connect {
                url: url.into(),
                detail: format!("connection refused (nothing listens on {to})"),
                tries,
            };
        }
        if chain.contains("invalid HTTP version") || chain.contains("invalid HTTP status") {
            return RegistryError::Tls {
                host: host.into(),
                detail: format!("HTTP spoken to a TLS port: {host} did not answer in plain HTTP (it probably speaks TLS); drop --insecure-registry for it"),
            };
        }
        RegistryError::Connect {
            url: url.into(),
            detail: chain,
            tries,
        }
    }

    /// A failed read of a response body.
    fn body_error(&self, e: &reqwest::Error, url: &str, received: u64) -> RegistryError {
        let host = reqwest::Url::parse(url)
            .map(|u| authority(&u))
            .unwrap_or_default();
        if e.is_timeout() {
            return RegistryError::Timeout {
                host,
                url: url.into(),
                waiting_for: format!("more of the response body (after {received} bytes)"),
                secs: self.timeout.as_secs().max(1),
                tries: 1,
            };
        }
        RegistryError::Interrupted {
            url: url.into(),
            received,
            detail: error_chain(e),
        }
    }

    /// Send a request with auth, retries and challenge handling. `body` is cloned per attempt.
    #[allow(clippy::too_many_arguments)]
    async fn send(
        &self,
        host: &str,
        repo: &str,
        push: bool,
        method: Method,
        url: &str,
        headers: HeaderMap,
        body: Option<Body>,
    ) -> Result<reqwest::Response, RegistryError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| RegistryError::Protocol {
            url: url.into(),
            detail: format!("not a URL: {e}"),
        })?;
        let target = authority(&parsed);
        match parsed.scheme() {
            "https" => {}
            "http" if self.is_insecure(&target) => {}
            "http" => {
                return Err(RegistryError::Downgrade {
                    url: format!("{}/v2/", self.base(host)),
                    location: url.into(),
                })
            }
            other => {
                return Err(RegistryError::Protocol {
                    url: url.into(),
                    detail: format!("unsupported URL scheme {other:?}"),
                })
            }
        }
        // Credentials and tokens only go back to the registry's own host.
        let may_authenticate = same_host(&target, host);
        let hh = self.http_for(host)?;
        let scope_key = (
            host.to_string(),
            format!("{repo}:{}", if push { "pull,push" } else { "pull" }),
        );
        let mut attempt = 0u32;
        let mut challenged = false;
        loop {
            let mut req = hh
                .http
                .request(method.clone(), url)
                .headers(headers.clone());
            if let Some(b) = &body {
                req = req.body(b.to_reqwest().await.map_err(|e| RegistryError::Protocol {
                    url: url.into(),
                    detail: e,
                })?);
            }
            if may_authenticate {
                let token = self
                    .tokens
                    .lock()
                    .ok()
                    .and_then(|t| t.get(&scope_key).cloned());
                if let Some(tok) = token {
                    req = req.header(AUTHORIZATION, format!("Bearer {tok}"));
                } else if self.basic.lock().map(|b| b.contains(host)).unwrap_or(false) {
                    if let Some(c) = self.credentials(host)? {
                        req = req.basic_auth(c.username, Some(c.password));
                    }
                }
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    let err = self.classify(&e, &hh, host, &method, url, attempt + 1);
                    let retry = matches!(err, RegistryError::Timeout { .. })
                        || (matches!(err, RegistryError::Connect { .. }) && is_reset(&e));
                    if retry && attempt < MAX_RETRIES {
                        attempt += 1;
                        tokio::time::sleep(self.retry_base * 2u32.pow(attempt - 1)).await;
                        continue;
                    }
                    return Err(err);
                }
            };
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED && !challenged && may_authenticate {
                challenged = true;
                let ch = resp
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .map(auth::parse_challenge);
                match ch {
                    Some(Challenge::Basic) => {
                        if self.credentials(host)?.is_none() {
                            return Err(self.unauthorized(url, status, host));
                        }
                        if let Ok(mut b) = self.basic.lock() {
                            b.insert(host.to_string());
                        }
                        continue;
                    }
                    Some(Challenge::Bearer { realm, service, .. }) => {
                        let scope = format!(
                            "repository:{repo}:{}",
                            if push { "pull,push" } else { "pull" }
                        );
                        let tok = self
                            .fetch_token(host, &realm, service.as_deref(), &scope)
                            .await?;
                        if let Ok(mut t) = self.tokens.lock() {
                            t.insert(scope_key.clone(), tok);
                        }
                        continue;
                    }
                    _ => return Err(self.unauthorized(url, status, host)),
                }
            }
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                return Err(self.unauthorized(url, status, host));
            }
            if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                if attempt < MAX_RETRIES {
                    attempt += 1;
                    let wait = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .map(|s| Duration::from_secs(s.min(30)))
                        .unwrap_or(self.retry_base * 2u32.pow(attempt - 1));
                    tokio::time::sleep(wait).await;
                    continue;
                }
                let (status, body) = self.error_body(resp, url).await;
                return Err(RegistryError::GaveUp {
                    url: url.into(),
                    status,
                    body,
                    tries: attempt + 1,
                });
            }
            return Ok(resp);
        }
    }

    fn unauthorized(&self, url: &str, status: StatusCode, host: &str) -> RegistryError {
        let has = self.credentials(host).ok().flatten().is_some();
        let src = match (self.auth.source(), has) {
            (Some(p), true) => p.display().to_string(),
            (Some(p), false) => format!("{} has no entry for {host}", p.display()),
            (None, _) => {
                "no auth file: use --auth-file, $REGISTRY_AUTH_FILE or ~/.docker/config.json".into()
            }
        };
        RegistryError::Unauthorized {
            url: url.into(),
            status: status.as_u16(),
            source_file: src,
        }
    }

    async fn fetch_token(
        &self,
        host: &str,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<String, RegistryError> {
        let realm_url = reqwest::Url::parse(realm).map_err(|e| RegistryError::Protocol {
            url: format!("{}/v2/", self.base(host)),
            detail: format!(
                "the token realm {:?} is not a URL: {e}",
                crate::text::shorten(realm, 200)
            ),
        })?;
        let realm_host = authority(&realm_url);
        match realm_url.scheme() {
            "https" => {}
            "http" if self.is_insecure(&realm_host) => {}
            _ => {
                return Err(RegistryError::CredentialsWithheld {
                    host: host.into(),
                    detail: format!(
                        "the registry sends token requests to {}, which is not HTTPS; airlock sends credentials and token requests over plain HTTP only to hosts given with --insecure-registry (here {realm_host})",
                        crate::text::shorten(realm, 200)
                    ),
                })
            }
        }
        let creds = if same_host(&realm_host, host) {
            self.credentials(host)?
        } else if self.auth.names_host(&realm_host) {
            self.credentials(&realm_host)?
        } else if self.credentials(host)?.is_some() {
            return Err(RegistryError::CredentialsWithheld {
                host: host.into(),
                detail: format!(
                    "the registry asks for credentials at {} on another host ({realm_host}); airlock sends the credentials for {host} only to {host}. If that token service belongs to the registry, add an entry for {realm_host} to the auth file",
                    crate::text::shorten(realm, 200)
                ),
            });
        } else {
            None
        };
        let hh = self.http_for(&realm_host)?;
        let mut req = hh.http.get(realm_url);
        let mut q: Vec<(&str, &str)> = vec![("scope", scope)];
        if let Some(s) = service {
            q.push(("service", s));
        }
        req = req.query(&q);
        if let Some(c) = creds {
            req = req.basic_auth(c.username, Some(c.password));
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return Err(self.classify(&e, &hh, &realm_host, &Method::GET, realm, 1)),
        };
        let status = resp.status();
        if !status.is_success() {
            return Err(self.unauthorized(realm, status, host));
        }
        let bytes = self
            .read_limited(resp, MAX_TOKEN_BYTES, realm, "token response")
            .await?;
        wire::parse_token_response(&bytes).map_err(|e| RegistryError::Protocol {
            url: realm.into(),
            detail: e.to_string(),
        })
    }

    /// GET a manifest by tag or digest. `Ok(None)` on 404.
    pub async fn get_manifest(
        &self,
        host: &str,
        repo: &str,
        reference: &str,
    ) -> Result<Option<Fetched>, RegistryError> {
        let url = format!("{}/v2/{repo}/manifests/{reference}", self.base(host));
        let mut h = HeaderMap::new();
        h.insert(ACCEPT, header_value(MANIFEST_ACCEPT));
        let resp = self
            .send(host, repo, false, Method::GET, &url, h, None)
            .await?;
        let status = resp.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(self.status_error(resp, &url).await);
        }
        let content_type = header_str(resp.headers(), CONTENT_TYPE.as_str());
        let dcd = header_str(resp.headers(), "docker-content-digest");
        let bytes = self
            .read_limited(resp, MAX_MANIFEST_BYTES, &url, "manifest")
            .await?;
        Ok(Some(Fetched {
            bytes,
            content_type,
            docker_content_digest: dcd,
        }))
    }

    /// HEAD a manifest: its digest header, or None on 404.
    pub async fn head_manifest(
        &self,
        host: &str,
        repo: &str,
        reference: &str,
    ) -> Result<Option<Option<String>>, RegistryError> {
        let url = format!("{}/v2/{repo}/manifests/{reference}", self.base(host));
        let mut h = HeaderMap::new();
        h.insert(ACCEPT, header_value(MANIFEST_ACCEPT));
        let resp = self
            .send(host, repo, false, Method::HEAD, &url, h, None)
            .await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(Some(header_str(resp.headers(), "docker-content-digest"))),
            _ => Err(self.status_error(resp, &url).await),
        }
    }

    /// The referrers API. `Ok(None)` when the registry has no referrers API (404): the caller then
    /// reads the `sha256-<hex>` fallback tag.
    pub async fn get_referrers(
        &self,
        host: &str,
        repo: &str,
        subject: &Digest,
    ) -> Result<Option<Fetched>, RegistryError> {
        let url = format!("{}/v2/{repo}/referrers/{subject}", self.base(host));
        let mut h = HeaderMap::new();
        h.insert(
            ACCEPT,
            header_value("application/vnd.oci.image.index.v1+json"),
        );
        let resp = self
            .send(host, repo, false, Method::GET, &url, h, None)
            .await?;
        let status = resp.status();
        if status == StatusCode::NOT_FOUND
            || status == StatusCode::METHOD_NOT_ALLOWED
            || status == StatusCode::BAD_REQUEST
        {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(self.status_error(resp, &url).await);
        }
        let content_type = header_str(resp.headers(), CONTENT_TYPE.as_str());
        let bytes = self
            .read_limited(resp, MAX_MANIFEST_BYTES, &url, "referrers index")
            .await?;
        Ok(Some(Fetched {
            bytes,
            content_type,
            docker_content_digest: None,
        }))
    }

    /// Stream a blob into a bundle writer, checking digest and size; commits only on a match.
    pub async fn fetch_blob(
        &self,
        host: &str,
        repo: &str,
        digest: &Digest,
        size: Option<u64>,
        mut writer: BlobWriter,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(), RegistryError> {
        let url = format!("{}/v2/{repo}/blobs/{digest}", self.base(host));
        let resp = match self
            .send(host, repo, false, Method::GET, &url, HeaderMap::new(), None)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                writer.abort();
                return Err(e);
            }
        };
        if !resp.status().is_success() {
            writer.abort();
            return Err(self.status_error(resp, &url).await);
        }
        // The descriptor's size caps the download: a longer (or endless) body never fills the disk.
        if let (Some(limit), Some(len)) = (size, resp.content_length()) {
            if len > limit {
                writer.abort();
                return Err(RegistryError::TooLarge {
                    url,
                    what: "blob (longer than its descriptor's size)",
                    size: len,
                    limit,
                });
            }
        }
        let mut resp = resp;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if let Some(limit) = size {
                        if writer.written() + chunk.len() as u64 > limit {
                            writer.abort();
                            return Err(RegistryError::TooLarge {
                                url,
                                what: "blob (longer than its descriptor's size)",
                                size: limit + 1,
                                limit,
                            });
                        }
                    }
                    if let Err(e) = writer.write_chunk(&chunk) {
                        writer.abort();
                        return Err(RegistryError::Store { url, source: e });
                    }
                    progress(chunk.len() as u64);
                }
                Ok(None) => break,
                Err(e) => {
                    let received = writer.written();
                    writer.abort();
                    return Err(self.body_error(&e, &url, received));
                }
            }
        }
        match tokio::task::block_in_place(|| writer.commit(digest, size)) {
            Ok(()) => Ok(()),
            Err(CommitError::Mismatch { actual, .. }) => Err(RegistryError::DigestMismatch {
                url,
                expected: digest.clone(),
                actual,
            }),
            Err(CommitError::Io(e)) => Err(RegistryError::Store { url, source: e }),
        }
    }

    /// Does the registry have this blob?
    pub async fn blob_exists(
        &self,
        host: &str,
        repo: &str,
        digest: &Digest,
        push: bool,
    ) -> Result<bool, RegistryError> {
        let url = format!("{}/v2/{repo}/blobs/{digest}", self.base(host));
        let resp = self
            .send(host, repo, push, Method::HEAD, &url, HeaderMap::new(), None)
            .await?;
        match resp.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.status_error(resp, &url).await),
        }
    }

    /// HEAD a blob: `Ok(None)` on 404, else `Some(Content-Length)` (None when the registry
    /// announces no length). Used by push read-back and `verify --registry`.
    pub async fn head_blob(
        &self,
        host: &str,
        repo: &str,
        digest: &Digest,
    ) -> Result<Option<Option<u64>>, RegistryError> {
        let url = format!("{}/v2/{repo}/blobs/{digest}", self.base(host));
        let resp = self
            .send(
                host,
                repo,
                false,
                Method::HEAD,
                &url,
                HeaderMap::new(),
                None,
            )
            .await?;
        match resp.status() {
            s if s.is_success() => Ok(Some(
                header_str(resp.headers(), CONTENT_LENGTH.as_str())
                    .and_then(|v| v.trim().parse::<u64>().ok()),
            )),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(self.status_error(resp, &url).await),
        }
    }

    /// GET a whole blob into memory, refusing more than `limit` bytes. `Ok(None)` on 404. The
    /// caller checks the digest (so a mismatch can become a finding rather than an error).
    pub async fn get_blob_bytes(
        &self,
        host: &str,
        repo: &str,
        digest: &Digest,
        limit: usize,
    ) -> Result<Option<Vec<u8>>, RegistryError> {
        let url = format!("{}/v2/{repo}/blobs/{digest}", self.base(host));
        let resp = self
            .send(host, repo, false, Method::GET, &url, HeaderMap::new(), None)
            .await?;
        match resp.status() {
            s if s.is_success() => Ok(Some(self.read_limited(resp, limit, &url, "blob").await?)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(self.status_error(resp, &url).await),
        }
    }

    /// Stream a blob and hash it without keeping it: `Ok(None)` on 404, else the digest of the
    /// bytes served (with `digest`'s algorithm) and their length. Stops after `limit` bytes.
    pub async fn hash_blob(
        &self,
        host: &str,
        repo: &str,
        digest: &Digest,
        limit: u64,
    ) -> Result<Option<(Digest, u64)>, RegistryError> {
        let url = format!("{}/v2/{repo}/blobs/{digest}", self.base(host));
        let mut resp = self
            .send(host, repo, false, Method::GET, &url, HeaderMap::new(), None)
            .await?;
        match resp.status() {
            s if s.is_success() => {}
            StatusCode::NOT_FOUND => return Ok(None),
            _ => return Err(self.status_error(resp, &url).await),
        }
        let mut h = digest.hasher();
        let mut n = 0u64;
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    n += c.len() as u64;
                    if n > limit {
                        return Err(RegistryError::TooLarge {
                            url,
                            what: "blob (longer than its descriptor's size)",
                            size: n,
                            limit,
                        });
                    }
                    h.update(&c);
                }
                Ok(None) => return Ok(Some((h.finish(), n))),
                Err(e) => return Err(self.body_error(&e, &url, n)),
            }
        }
    }

    /// Try a cross-repository mount; true when the registry mounted it.
    pub async fn mount_blob(
        &self,
        host: &str,
        repo: &str,
        from_repo: &str,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        let url = format!(
            "{}/v2/{repo}/blobs/uploads/?mount={digest}&from={from_repo}",
            self.base(host)
        );
        let resp = self
            .send(
                host,
                repo,
                true,
                Method::POST,
                &url,
                HeaderMap::new(),
                Some(Body::Bytes(Vec::new())),
            )
            .await?;
        if resp.status() == StatusCode::CREATED {
            return Ok(true);
        }
        // 202 = upload session opened instead; abandon it (it expires) and upload normally.
        Ok(false)
    }

    /// Upload a blob (monolithic: POST then PUT with the content).
    pub async fn upload_blob(
        &self,
        host: &str,
        repo: &str,
        digest: &Digest,
        body: Body,
    ) -> Result<(), RegistryError> {
        let url = format!("{}/v2/{repo}/blobs/uploads/", self.base(host));
        let resp = self
            .send(
                host,
                repo,
                true,
                Method::POST,
                &url,
                HeaderMap::new(),
                Some(Body::Bytes(Vec::new())),
            )
            .await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(self.status_error(resp, &url).await);
        }
        let loc = header_str(resp.headers(), LOCATION.as_str()).ok_or_else(|| {
            RegistryError::Protocol {
                url: url.clone(),
                detail: "upload response has no Location header".into(),
            }
        })?;
        let mut put_url = if loc.starts_with("http://") || loc.starts_with("https://") {
            loc
        } else {
            format!("{}{loc}", self.base(host))
        };
        put_url.push(if put_url.contains('?') { '&' } else { '?' });
        put_url.push_str(&format!("digest={digest}"));
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, header_value("application/octet-stream"));
        h.insert(CONTENT_LENGTH, header_value(&body.len().to_string()));
        let resp = self
            .send(host, repo, true, Method::PUT, &put_url, h, Some(body))
            .await?;
        if resp.status() != StatusCode::CREATED {
            return Err(self.status_error(resp, &put_url).await);
        }
        Ok(())
    }

    /// PUT a manifest (exact bytes) under a tag or digest.
    pub async fn put_manifest(
        &self,
        host: &str,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<PutResult, RegistryError> {
        let url = format!("{}/v2/{repo}/manifests/{reference}", self.base(host));
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, header_value(media_type));
        let resp = self
            .send(
                host,
                repo,
                true,
                Method::PUT,
                &url,
                h,
                Some(Body::Bytes(bytes)),
            )
            .await?;
        if !resp.status().is_success() {
            return Err(self.status_error(resp, &url).await);
        }
        Ok(PutResult {
            oci_subject: header_str(resp.headers(), "oci-subject"),
            docker_content_digest: header_str(resp.headers(), "docker-content-digest"),
        })
    }

    /// DELETE a manifest by digest.
    pub async fn delete_manifest(
        &self,
        host: &str,
        repo: &str,
        digest: &Digest,
    ) -> Result<(), RegistryError> {
        let url = format!("{}/v2/{repo}/manifests/{digest}", self.base(host));
        let resp = self
            .send(
                host,
                repo,
                true,
                Method::DELETE,
                &url,
                HeaderMap::new(),
                None,
            )
            .await?;
        if !resp.status().is_success() {
            return Err(self.status_error(resp, &url).await);
        }
        Ok(())
    }

    /// Status and a short, printable piece of an error response's body.
    async fn error_body(&self, resp: reqwest::Response, url: &str) -> (u16, String) {
        let status = resp.status().as_u16();
        let body = self
            .read_limited(resp, MAX_ERROR_BODY_BYTES, url, "error body")
            .await
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        let text: String = text
            .trim()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        (status, crate::text::shorten(&text, MAX_QUOTED_BODY_BYTES))
    }

    async fn status_error(&self, resp: reqwest::Response, url: &str) -> RegistryError {
        let target = authority(resp.url());
        let plain = resp.url().scheme() == "http";
        let (status, body) = self.error_body(resp, url).await;
        if plain && status == 400 && body.contains("HTTP request to an HTTPS server") {
            return RegistryError::Tls {
                host: target.clone(),
                detail: format!("HTTP spoken to a TLS port: {target} answers plain HTTP with 400 (it speaks TLS); drop --insecure-registry for it (and trust its CA with --ca-file or --cert-dir)"),
            };
        }
        RegistryError::Status {
            url: url.into(),
            status,
            body,
        }
    }

    async fn read_limited(
        &self,
        mut resp: reqwest::Response,
        limit: usize,
        url: &str,
        what: &'static str,
    ) -> Result<Vec<u8>, RegistryError> {
        if let Some(len) = resp.content_length() {
            if len > limit as u64 {
                return Err(RegistryError::TooLarge {
                    url: url.into(),
                    what,
                    size: len,
                    limit: limit as u64,
                });
            }
        }
        let mut out = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    if out.len() + c.len() > limit {
                        return Err(RegistryError::TooLarge {
                            url: url.into(),
                            what,
                            size: (out.len() + c.len()) as u64,
                            limit: limit as u64,
                        });
                    }
                    out.extend_from_slice(&c);
                }
                Ok(None) => return Ok(out),
                Err(e) => return Err(self.body_error(&e, url, out.len() as u64)),
            }
        }
    }
}

/// A request body: bytes in memory or a file streamed from disk.
#[derive(Debug, Clone)]
pub enum Body {
    Bytes(Vec<u8>),
    File {
        path: std::path::PathBuf,
        len: u64,
    },
    /// A file streamed from disk that reports, after each piece handed to the connection, how
    /// many bytes of it this attempt has sent so far (a retry starts again from 0).
    WatchedFile {
        path: std::path::PathBuf,
        len: u64,
        on_sent: OnSent,
    },
    /// Byte ranges of files, sent one after the other (a blob inside archive chunk files):
    /// `(path, offset, length)`.
    Segments {
        parts: Vec<(std::path::PathBuf, u64, u64)>,
        len: u64,
    },
}

/// The callback of [`Body::WatchedFile`]: bytes of the body sent so far in this attempt.
#[derive(Clone)]
pub struct OnSent(pub Arc<dyn Fn(u64) + Send + Sync>);

impl std::fmt::Debug for OnSent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnSent(..)")
    }
}

impl Body {
    pub fn len(&self) -> u64 {
        match self {
            Body::Bytes(b) => b.len() as u64,
            Body::File { len, .. } | Body::WatchedFile { len, .. } => *len,
            Body::Segments { len, .. } => *len,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn file(path: &Path) -> std::io::Result<Body> {
        let len = std::fs::metadata(path)?.len();
        Ok(Body::File {
            path: path.to_path_buf(),
            len,
        })
    }
    async fn to_reqwest(&self) -> Result<reqwest::Body, String> {
        match self {
            Body::Bytes(b) => Ok(reqwest::Body::from(b.clone())),
            Body::File { path, .. } => {
                let f = tokio::fs::File::open(path)
                    .await
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let stream = tokio_util_stream(f, None);
                Ok(reqwest::Body::wrap_stream(stream))
            }
            Body::WatchedFile { path, on_sent, .. } => {
                let f = tokio::fs::File::open(path)
                    .await
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                on_sent.0(0);
                let stream = tokio_util_stream(f, Some(on_sent.clone()));
                Ok(reqwest::Body::wrap_stream(stream))
            }
            Body::Segments { parts, .. } => {
                Ok(reqwest::Body::wrap_stream(segments_stream(parts.clone())))
            }
        }
    }
}

/// Size of the pieces a file body is read and sent in (and so the step of [`OnSent`] reports).
const BODY_PIECE_BYTES: usize = 1 << 20;

/// The bytes of `parts` in order, 1 MiB at a time; a file shorter than its range is an error.
fn segments_stream(
    parts: Vec<(std::path::PathBuf, u64, u64)>,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    struct State {
        parts: std::vec::IntoIter<(std::path::PathBuf, u64, u64)>,
        current: Option<(tokio::fs::File, u64, std::path::PathBuf)>,
    }
    let state = State {
        parts: parts.into_iter(),
        current: None,
    };
    futures_util::stream::unfold(Some(state), |st| async move {
        let mut st = st?;
        loop {
            if st.current.is_none() {
                let (path, offset, len) = st.parts.next()?;
                let opened = async {
                    let mut f = tokio::fs::File::open(&path).await?;
                    f.seek(std::io::SeekFrom::Start(offset)).await?;
                    Ok::<_, std::io::Error>(f)
                }
                .await;
                match opened {
                    Ok(f) => st.current = Some((f, len, path)),
                    Err(e) => {
                        let e = std::io::Error::new(e.kind(), format!("{}: {e}", path.display()));
                        return Some((Err(e), None));
                    }
                }
            }
            let Some((f, left, path)) = st.current.as_mut() else {
                continue;
            };
            if *left == 0 {
                st.current = None;
                continue;
            }
            let want = usize::try_from(*left)
                .unwrap_or(usize::MAX)
                .min(BODY_PIECE_BYTES);
            let mut buf = vec![0u8; want];
            match f.read(&mut buf).await {
                Ok(0) => {
                    let e = std::io::Error::other(format!(
                        "{}: shorter than the archive says",
                        path.display()
                    ));
                    return Some((Err(e), None));
                }
                Ok(n) => {
                    buf.truncate(n);
                    *left -= n as u64;
                    return Some((Ok(buf), Some(st)));
                }
                Err(e) => return Some((Err(e), None)),
            }
        }
    })
}

/// The file as a stream of pieces; with `on_sent`, each piece's end offset is reported when the
/// connection asks for the next piece (the previous one was handed to it).
fn tokio_util_stream(
    f: tokio::fs::File,
    on_sent: Option<OnSent>,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> {
    use tokio::io::AsyncReadExt;
    futures_util::stream::unfold(Some((f, 0u64)), move |state| {
        let on_sent = on_sent.clone();
        async move {
            let (mut f, offset) = state?;
            if let Some(cb) = &on_sent {
                cb.0(offset);
            }
            let mut buf = vec![0u8; BODY_PIECE_BYTES];
            match f.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(buf), Some((f, offset + n as u64))))
                }
                Err(e) => Some((Err(e), None)),
            }
        }
    })
}

fn header_value(s: &str) -> reqwest::header::HeaderValue {
    reqwest::header::HeaderValue::from_str(s)
        .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static(""))
}

fn header_str(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let cs = c.to_string();
        if !s.contains(&cs) {
            s.push_str(": ");
            s.push_str(&cs);
        }
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod body_tests {
    use super::*;
    use futures_util::StreamExt;

    #[test]
    fn watched_file_reports_each_piece_sent_and_the_whole_file_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        let len = 2 * BODY_PIECE_BYTES + 1000;
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let rec = seen.clone();
        let on_sent = OnSent(Arc::new(move |n| rec.lock().unwrap().push(n)));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let got = rt.block_on(async {
            let f = tokio::fs::File::open(&path).await.unwrap();
            let mut s = Box::pin(tokio_util_stream(f, Some(on_sent)));
            let mut out = Vec::new();
            while let Some(piece) = s.next().await {
                out.extend(piece.unwrap());
            }
            out
        });
        assert_eq!(got, bytes);
        let p = BODY_PIECE_BYTES as u64;
        assert_eq!(*seen.lock().unwrap(), vec![0, p, 2 * p, len as u64]);
    }
}

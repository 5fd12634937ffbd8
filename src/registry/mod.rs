//! The registry client (OCI distribution API over HTTP). Only `capture`, `push` and
//! `verify --registry` use it; the verification core never does.
pub mod auth;
pub mod view;
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
use auth::{AuthStore, Challenge, Credentials};

/// How many times a request is retried after a connection error, 429 or 5xx.
pub const MAX_RETRIES: u32 = 4;
/// Largest token response accepted.
const MAX_TOKEN_BYTES: usize = 1 << 20;

/// Client settings.
#[derive(Debug, Default)]
pub struct ClientOptions {
    /// Hosts to talk to over plain HTTP.
    pub insecure: BTreeSet<String>,
    /// Extra CA certificates (PEM) to trust.
    pub ca_pem: Vec<Vec<u8>>,
    pub auth: AuthStore,
    /// Base delay for retries (tests shorten it).
    pub retry_base: Option<Duration>,
}

/// What went wrong talking to a registry (exit 2: outside the content being judged).
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{url}: cannot connect: {detail} (is the registry running and reachable? for plain HTTP use --insecure-registry HOST; for a private CA use --ca-file)")]
    Connect { url: String, detail: String },
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

/// A registry client shared across tasks.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    insecure: Arc<BTreeSet<String>>,
    auth: Arc<AuthStore>,
    tokens: Arc<Mutex<HashMap<(String, String), String>>>,
    basic: Arc<Mutex<BTreeSet<String>>>,
    retry_base: Duration,
    requests: Arc<AtomicU64>,
}

impl Client {
    pub fn new(opts: ClientOptions) -> Result<Client, RegistryError> {
        let mut b = reqwest::Client::builder()
            .user_agent(concat!("airlock/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(15))
            .pool_max_idle_per_host(16)
            .redirect(reqwest::redirect::Policy::limited(8));
        for pem in &opts.ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| RegistryError::Setup(format!("--ca-file: {e}")))?
            {
                b = b.add_root_certificate(cert);
            }
        }
        let http = b.build().map_err(|e| RegistryError::Setup(e.to_string()))?;
        Ok(Client {
            http,
            insecure: Arc::new(opts.insecure),
            auth: Arc::new(opts.auth),
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

    fn base(&self, host: &str) -> String {
        let scheme = if self.insecure.contains(host) {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{host}")
    }

    fn credentials(&self, host: &str) -> Option<Credentials> {
        self.auth.credentials_for(host)
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
        let scope_key = (
            host.to_string(),
            format!("{repo}:{}", if push { "pull,push" } else { "pull" }),
        );
        let mut attempt = 0u32;
        let mut challenged = false;
        loop {
            let mut req = self
                .http
                .request(method.clone(), url)
                .headers(headers.clone());
            if let Some(b) = &body {
                req = req.body(b.to_reqwest().await.map_err(|e| RegistryError::Protocol {
                    url: url.into(),
                    detail: e,
                })?);
            }
            let token = self
                .tokens
                .lock()
                .ok()
                .and_then(|t| t.get(&scope_key).cloned());
            if let Some(tok) = token {
                req = req.header(AUTHORIZATION, format!("Bearer {tok}"));
            } else if self.basic.lock().map(|b| b.contains(host)).unwrap_or(false) {
                if let Some(c) = self.credentials(host) {
                    req = req.basic_auth(c.username, Some(c.password));
                }
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    if attempt < MAX_RETRIES && (e.is_connect() || e.is_timeout() || e.is_request())
                    {
                        attempt += 1;
                        tokio::time::sleep(self.retry_base * 2u32.pow(attempt - 1)).await;
                        continue;
                    }
                    return Err(RegistryError::Connect {
                        url: url.into(),
                        detail: error_chain(&e),
                    });
                }
            };
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED && !challenged {
                challenged = true;
                let ch = resp
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .map(auth::parse_challenge);
                match ch {
                    Some(Challenge::Basic) => {
                        if self.credentials(host).is_none() {
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
            if (status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error())
                && attempt < MAX_RETRIES
            {
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
            return Ok(resp);
        }
    }

    fn unauthorized(&self, url: &str, status: StatusCode, host: &str) -> RegistryError {
        let src = match (self.auth.source(), self.credentials(host)) {
            (Some(p), Some(_)) => p.display().to_string(),
            (Some(p), None) => format!("{} has no entry for {host}", p.display()),
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
        let mut req = self.http.get(realm);
        let mut q: Vec<(&str, &str)> = vec![("scope", scope)];
        if let Some(s) = service {
            q.push(("service", s));
        }
        req = req.query(&q);
        if let Some(c) = self.credentials(host) {
            req = req.basic_auth(c.username, Some(c.password));
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let resp = req.send().await.map_err(|e| RegistryError::Connect {
            url: realm.into(),
            detail: error_chain(&e),
        })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(self.unauthorized(realm, status, host));
        }
        let bytes = read_limited(resp, MAX_TOKEN_BYTES, realm, "token response").await?;
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
            return Err(status_error(resp, &url).await);
        }
        let content_type = header_str(resp.headers(), CONTENT_TYPE.as_str());
        let dcd = header_str(resp.headers(), "docker-content-digest");
        let bytes = read_limited(resp, MAX_MANIFEST_BYTES, &url, "manifest").await?;
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
            _ => Err(status_error(resp, &url).await),
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
            return Err(status_error(resp, &url).await);
        }
        let content_type = header_str(resp.headers(), CONTENT_TYPE.as_str());
        let bytes = read_limited(resp, MAX_MANIFEST_BYTES, &url, "referrers index").await?;
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
            return Err(status_error(resp, &url).await);
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
                    writer.abort();
                    return Err(RegistryError::Connect {
                        url,
                        detail: format!("transfer interrupted: {}", error_chain(&e)),
                    });
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
            _ => Err(status_error(resp, &url).await),
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
            _ => Err(status_error(resp, &url).await),
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
            s if s.is_success() => Ok(Some(read_limited(resp, limit, &url, "blob").await?)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(status_error(resp, &url).await),
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
            _ => return Err(status_error(resp, &url).await),
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
                Err(e) => {
                    return Err(RegistryError::Connect {
                        url,
                        detail: format!("transfer interrupted: {}", error_chain(&e)),
                    })
                }
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
            return Err(status_error(resp, &url).await);
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
            return Err(status_error(resp, &put_url).await);
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
            return Err(status_error(resp, &url).await);
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
            return Err(status_error(resp, &url).await);
        }
        Ok(())
    }
}

/// A request body: bytes in memory or a file streamed from disk.
#[derive(Debug, Clone)]
pub enum Body {
    Bytes(Vec<u8>),
    File { path: std::path::PathBuf, len: u64 },
}

impl Body {
    pub fn len(&self) -> u64 {
        match self {
            Body::Bytes(b) => b.len() as u64,
            Body::File { len, .. } => *len,
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
                let stream = tokio_util_stream(f);
                Ok(reqwest::Body::wrap_stream(stream))
            }
        }
    }
}

fn tokio_util_stream(
    f: tokio::fs::File,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> {
    use tokio::io::AsyncReadExt;
    futures_util::stream::unfold(Some(f), |state| async move {
        let mut f = state?;
        let mut buf = vec![0u8; 1 << 20];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(buf), Some(f)))
            }
            Err(e) => Some((Err(e), None)),
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

async fn status_error(resp: reqwest::Response, url: &str) -> RegistryError {
    let status = resp.status().as_u16();
    let body = read_limited(resp, 2048, url, "error body")
        .await
        .unwrap_or_default();
    let body = wire::error_body_excerpt(&body);
    RegistryError::Status {
        url: url.into(),
        status,
        body,
    }
}

async fn read_limited(
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
            Err(e) => {
                return Err(RegistryError::Connect {
                    url: url.into(),
                    detail: format!("transfer interrupted: {}", error_chain(&e)),
                })
            }
        }
    }
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

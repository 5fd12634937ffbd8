//! A minimal Docker registry token issuer ("token auth", the `realm` of a
//! `WWW-Authenticate: Bearer` challenge), run in-process over plain HTTP on
//! 127.0.0.1 for [`Flavour::Token`](super::registry::Flavour::Token) registries.
//!
//! `GET /token?service=S&scope=repository:NAME:pull,push[&scope=...]` with HTTP
//! basic auth returns `{"token": JWT, "access_token": JWT, "expires_in": 300,
//! "issued_at": RFC3339}`. The JWT is ES256-signed; its header carries the
//! self-signed signing certificate in `x5c`, and the registry trusts that
//! certificate through `auth.token.rootcertbundle` (distribution 2.8 checks the
//! chain, `iss`, `aud`, `exp`/`nbf` and the signature, then the `access` claim).
//! Every requested action is granted to a caller with the right credentials.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

use super::content::b64;

/// Lifetime of issued tokens, in seconds (`expires_in`).
pub const TOKEN_TTL_SECS: u64 = 300;

/// A running token issuer; stops (and joins its thread) on drop.
pub struct TokenIssuer {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    cert_pem: String,
}

struct State {
    username: String,
    password: String,
    service: String,
    issuer: String,
    key: EcdsaKeyPair,
    rng: SystemRandom,
    cert_der_b64: String,
    /// Every HTTP request to `/token` (any method, any outcome).
    requests: Arc<AtomicUsize>,
    /// Tokens actually issued.
    issued: AtomicUsize,
    /// `scope` values requested, in arrival order.
    scopes: Mutex<Vec<String>>,
    /// When set, `/token` answers 503 (an outage of the auth server).
    failing: AtomicBool,
}

impl TokenIssuer {
    /// Start an issuer that accepts `username`/`password` and issues tokens for
    /// audience `service`, signed as `issuer`.
    pub fn start(username: &str, password: &str, service: &str, issuer: &str) -> TokenIssuer {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("generate token signing key");
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("load token signing key");
        let rc_key = rcgen::KeyPair::try_from(pkcs8.as_ref()).expect("rcgen key from PKCS#8");
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "airlock test token signer");
        let cert = params.self_signed(&rc_key).expect("self-sign token cert");

        let listener = TcpListener::bind("127.0.0.1:0").expect("bind token issuer");
        let addr = listener.local_addr().expect("token issuer addr");
        let state = Arc::new(State {
            username: username.to_string(),
            password: password.to_string(),
            service: service.to_string(),
            issuer: issuer.to_string(),
            key,
            rng,
            cert_der_b64: b64(cert.der()),
            requests: Arc::new(AtomicUsize::new(0)),
            issued: AtomicUsize::new(0),
            scopes: Mutex::new(Vec::new()),
            failing: AtomicBool::new(false),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let state = Arc::clone(&state);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("token-issuer".into())
                .spawn(move || accept_loop(listener, state, stop))
                .expect("spawn token issuer")
        };
        TokenIssuer {
            addr,
            state,
            stop,
            thread: Some(thread),
            cert_pem: cert.pem(),
        }
    }

    /// The realm URL, `http://127.0.0.1:PORT/token`.
    pub fn realm(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    /// Listening address of the issuer.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `service` (JWT audience) the registry is configured with.
    pub fn service(&self) -> &str {
        &self.state.service
    }

    /// The `iss` claim the registry trusts.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// PEM of the self-signed signing certificate (the registry's rootcertbundle).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Number of HTTP requests to `/token` so far (including refused ones).
    pub fn request_count(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// The shared request counter itself, for tests that keep it after moving on.
    pub fn request_counter(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.state.requests)
    }

    /// Number of tokens issued so far.
    pub fn issued_count(&self) -> usize {
        self.state.issued.load(Ordering::SeqCst)
    }

    /// Every `scope` value requested so far, in order (e.g. `repository:a/b:pull,push`).
    pub fn scopes(&self) -> Vec<String> {
        self.state.scopes.lock().expect("scopes lock").clone()
    }

    /// Make `/token` answer `503 Service Unavailable` (true) or work again (false).
    pub fn set_failing(&self, failing: bool) {
        self.state.failing.store(failing, Ordering::SeqCst);
    }

    /// Mint a token directly (counted in `issued_count`, not as a request) granting `access`
    /// entries `(repository name, actions)`, valid for [`TOKEN_TTL_SECS`].
    pub fn mint(&self, subject: &str, access: &[(&str, &[&str])]) -> String {
        let access: Vec<Value> = access
            .iter()
            .map(|(name, actions)| json!({"type": "repository", "name": name, "actions": actions}))
            .collect();
        self.state.sign_jwt(subject, access, 0)
    }

    /// Mint a token whose `exp` lies an hour in the past (well beyond the
    /// registry's 60 s leeway), for expiry tests.
    pub fn mint_expired(&self, subject: &str, access: &[(&str, &[&str])]) -> String {
        let access: Vec<Value> = access
            .iter()
            .map(|(name, actions)| json!({"type": "repository", "name": name, "actions": actions}))
            .collect();
        self.state.sign_jwt(subject, access, -3600)
    }
}

impl Drop for TokenIssuer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept().
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl State {
    /// Sign a JWT; `shift` moves iat/nbf/exp (seconds) for expiry tests.
    fn sign_jwt(&self, subject: &str, access: Vec<Value>, shift: i64) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64
            + shift;
        let n = self.issued.fetch_add(1, Ordering::SeqCst);
        let header = json!({"typ": "JWT", "alg": "ES256", "x5c": [self.cert_der_b64]});
        let claims = json!({
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + TOKEN_TTL_SECS as i64,
            "nbf": now - 10,
            "iat": now,
            "jti": format!("airlock-test-{}-{n}", std::process::id()),
            "access": access,
        });
        let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let signing_input = format!(
            "{}.{}",
            b64url.encode(serde_json::to_vec(&header).expect("json")),
            b64url.encode(serde_json::to_vec(&claims).expect("json"))
        );
        let sig = self
            .key
            .sign(&self.rng, signing_input.as_bytes())
            .expect("sign JWT");
        format!("{signing_input}.{}", b64url.encode(sig.as_ref()))
    }
}

fn accept_loop(listener: TcpListener, state: Arc<State>, stop: Arc<AtomicBool>) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let state = Arc::clone(&state);
        let _ = std::thread::Builder::new()
            .name("token-conn".into())
            .spawn(move || {
                let _ = handle(stream, &state);
            });
    }
}

struct Request {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    authorization: Option<String>,
}

fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Request>> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk)?;
        if n == 0 || buf.len() > 64 * 1024 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let method = first.next().unwrap_or("").to_string();
    let target = first.next().unwrap_or("").to_string();
    let (path, raw_query) = target.split_once('?').unwrap_or((&target, ""));
    let query = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    let authorization = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.trim().to_string());
    Ok(Some(Request {
        method,
        path: path.to_string(),
        query,
        authorization,
    }))
}

fn percent_decode(s: &str) -> String {
    fn hex_val(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn respond(stream: &mut TcpStream, status: &str, extra: &[(&str, &str)], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
}

fn handle(mut stream: TcpStream, state: &State) -> std::io::Result<()> {
    let Some(req) = read_request(&mut stream)? else {
        return Ok(());
    };
    if req.path != "/token" {
        respond(
            &mut stream,
            "404 Not Found",
            &[],
            br#"{"error":"not found"}"#,
        );
        return Ok(());
    }
    state.requests.fetch_add(1, Ordering::SeqCst);
    if req.method != "GET" {
        respond(
            &mut stream,
            "405 Method Not Allowed",
            &[("Allow", "GET")],
            br#"{"error":"unsupported"}"#,
        );
        return Ok(());
    }
    if state.failing.load(Ordering::SeqCst) {
        respond(
            &mut stream,
            "503 Service Unavailable",
            &[],
            br#"{"error":"token service unavailable (test)"}"#,
        );
        return Ok(());
    }
    let expected = format!(
        "Basic {}",
        b64(format!("{}:{}", state.username, state.password).as_bytes())
    );
    let authorized = req
        .authorization
        .as_deref()
        .is_some_and(|a| a.trim() == expected);
    if !authorized {
        respond(
            &mut stream,
            "401 Unauthorized",
            &[("WWW-Authenticate", "Basic realm=\"airlock-test-token\"")],
            br#"{"error":"invalid credentials"}"#,
        );
        return Ok(());
    }
    if let Some((_, service)) = req.query.iter().find(|(k, _)| k == "service") {
        if service != &state.service {
            respond(
                &mut stream,
                "400 Bad Request",
                &[],
                br#"{"error":"unknown service"}"#,
            );
            return Ok(());
        }
    }
    let mut access = Vec::new();
    for (_, scope) in req.query.iter().filter(|(k, _)| k == "scope") {
        state
            .scopes
            .lock()
            .expect("scopes lock")
            .push(scope.clone());
        // Several scopes may also be joined by spaces in one parameter.
        for one in scope.split(' ').filter(|s| !s.is_empty()) {
            let Some((kind, rest)) = one.split_once(':') else {
                continue;
            };
            let Some((name, actions)) = rest.rsplit_once(':') else {
                continue;
            };
            let actions: Vec<&str> = actions.split(',').filter(|a| !a.is_empty()).collect();
            access.push(json!({"type": kind, "name": name, "actions": actions}));
        }
    }
    let jwt = state.sign_jwt(&state.username, access, 0);
    let issued_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format time");
    let body = json!({
        "token": jwt,
        "access_token": jwt,
        "expires_in": TOKEN_TTL_SECS,
        "issued_at": issued_at,
    });
    respond(
        &mut stream,
        "200 OK",
        &[],
        &serde_json::to_vec(&body).expect("json"),
    );
    Ok(())
}

//! Throwaway OCI registries for integration tests: Debian's `docker-registry`
//! (CNCF distribution 2.8) on 127.0.0.1 with a free port, storage in a
//! temporary directory, and optionally TLS, htpasswd basic auth or bearer-token
//! auth.
//!
//! ```ignore
//! mod common;
//! use common::{Flavour, Registry};
//!
//! let reg = Registry::start(Flavour::TlsBasicAuth);
//! let fx = reg.fixtures();
//! let img = fx.image("team/app", "v1", &[b"hello".to_vec()]);
//! let out = assert_cmd::Command::cargo_bin("airlock").unwrap()
//!     .envs(reg.airlock_env())
//!     .args(["capture", &reg.image_ref("team/app", "v1"), "-o", bundle_dir])
//!     .args(reg.cli_flags())
//!     .output().unwrap();
//! ```
//!
//! The process is killed and the directory removed when the [`Registry`] is
//! dropped, also when the test panics. If the whole test process dies, a small
//! watchdog process kills the registry.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, ClientBuilder};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use tempfile::TempDir;

use super::content::{b64, digest_hex};
use super::fixtures::{Fixtures, Pusher};
use super::token::TokenIssuer;

/// The registry binary (Debian package `docker-registry`).
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
/// User name accepted by the auth-enabled flavours.
pub const TEST_USERNAME: &str = "airlock-tester";
/// Password accepted by the auth-enabled flavours.
pub const TEST_PASSWORD: &str = "s3cret-Passw0rd";
/// `auth.token.service` (JWT audience) of [`Flavour::Token`] registries.
pub const TOKEN_SERVICE: &str = "airlock-test-registry";
/// `auth.token.issuer` of [`Flavour::Token`] registries.
pub const TOKEN_ISSUER: &str = "airlock-test-token-issuer";
/// Response header every harness registry adds (value: [`Registry::instance_id`]),
/// used to make sure we talk to *our* process on the port.
pub const INSTANCE_HEADER: &str = "X-Airlock-Harness";

/// How long to wait for the registry to answer `GET /v2/`.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How many fresh ports to try when the chosen one was taken meanwhile.
const PORT_ATTEMPTS: usize = 10;

static INSTANCES: AtomicUsize = AtomicUsize::new(0);

/// Which kind of registry to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flavour {
    /// Plain HTTP, anonymous.
    Plain,
    /// HTTPS with a test CA (see [`Registry::ca_file`]), anonymous.
    Tls,
    /// HTTPS + htpasswd (bcrypt) basic auth with [`TEST_USERNAME`]/[`TEST_PASSWORD`].
    TlsBasicAuth,
    /// HTTPS + bearer-token auth; tokens come from an in-process
    /// [`TokenIssuer`] (plain-HTTP realm) that checks the same credentials.
    Token,
    /// HTTPS with a self-signed `CA:TRUE` server certificate (what `openssl req -x509` makes);
    /// [`Registry::ca_file`] is that certificate itself. Anonymous. Not in [`Flavour::ALL`].
    TlsSelfSigned,
    /// HTTPS with a test CA that requires client certificates (`http.tls.clientcas`); the
    /// client certificate and key are in [`Registry::cert_dir`]. Anonymous. Not in [`Flavour::ALL`].
    MutualTls,
}

impl Flavour {
    /// All flavours, for tests that loop over them.
    pub const ALL: [Flavour; 4] = [
        Flavour::Plain,
        Flavour::Tls,
        Flavour::TlsBasicAuth,
        Flavour::Token,
    ];

    /// Whether the registry speaks HTTPS.
    pub fn is_tls(self) -> bool {
        !matches!(self, Flavour::Plain)
    }

    /// Whether the registry requires credentials.
    pub fn needs_auth(self) -> bool {
        matches!(self, Flavour::TlsBasicAuth | Flavour::Token)
    }

    /// `http` or `https`.
    pub fn scheme(self) -> &'static str {
        if self.is_tls() {
            "https"
        } else {
            "http"
        }
    }
}

/// A running `docker-registry` process and everything it needs (config, TLS
/// files, htpasswd, storage, log) inside its own temporary directory.
pub struct Registry {
    /// `127.0.0.1:PORT` — the registry host as used in image references.
    pub host: String,
    /// The port part of [`host`](Self::host).
    pub port: u16,
    /// Which kind of registry this is.
    pub flavour: Flavour,
    /// PEM of the CA that issued the server certificate (TLS flavours).
    pub ca_pem: Option<String>,
    /// Path of [`ca_pem`](Self::ca_pem) on disk (for `--ca-file`).
    pub ca_file: Option<PathBuf>,
    /// User name (auth flavours).
    pub username: Option<String>,
    /// Password (auth flavours).
    pub password: Option<String>,
    token: Option<TokenIssuer>,
    instance_id: String,
    config_path: PathBuf,
    log_path: PathBuf,
    storage_dir: PathBuf,
    child: Option<Child>,
    watchdog: Option<Watchdog>,
    /// Declared last: removed only after the process is gone.
    dir: TempDir,
}

/// Why a launch attempt did not produce a ready registry.
enum LaunchError {
    AddrInUse,
    Failed(String),
}

impl Registry {
    /// Start a registry of the given flavour and wait until it answers
    /// `GET /v2/`. Panics (with the registry's log) if it does not come up.
    pub fn start(flavour: Flavour) -> Registry {
        assert!(
            Path::new(REGISTRY_BIN).exists(),
            "{REGISTRY_BIN} is missing: install Debian's docker-registry package"
        );
        let dir = tempfile::Builder::new()
            .prefix("airlock-registry-")
            .tempdir()
            .expect("create registry temp dir");
        let root = dir.path().to_path_buf();
        let storage_dir = root.join("storage");
        fs::create_dir_all(&storage_dir).expect("create storage dir");
        let instance_id = format!(
            "{}-{}-{}",
            std::process::id(),
            INSTANCES.fetch_add(1, Ordering::SeqCst),
            SystemClock::nanos()
        );

        let (ca_pem, ca_file) = if flavour.is_tls() {
            let (ca_pem, ca_file) = if flavour == Flavour::TlsSelfSigned {
                write_self_signed_tls_material(&root)
            } else {
                write_tls_material(&root)
            };
            if flavour == Flavour::MutualTls {
                write_client_tls_material(&root);
            }
            (Some(ca_pem), Some(ca_file))
        } else {
            (None, None)
        };
        let (username, password) = if flavour.needs_auth() {
            (
                Some(TEST_USERNAME.to_string()),
                Some(TEST_PASSWORD.to_string()),
            )
        } else {
            (None, None)
        };
        if flavour == Flavour::TlsBasicAuth {
            write_htpasswd(&root.join("htpasswd"));
        }
        let token = (flavour == Flavour::Token).then(|| {
            let issuer =
                TokenIssuer::start(TEST_USERNAME, TEST_PASSWORD, TOKEN_SERVICE, TOKEN_ISSUER);
            fs::write(root.join("token-rootcerts.pem"), issuer.cert_pem())
                .expect("write token root cert bundle");
            issuer
        });

        let mut reg = Registry {
            host: String::new(),
            port: 0,
            flavour,
            ca_pem,
            ca_file,
            username,
            password,
            token,
            instance_id,
            config_path: root.join("config.yml"),
            log_path: root.join("registry.log"),
            storage_dir,
            child: None,
            watchdog: None,
            dir,
        };

        let mut last_error = String::new();
        for _ in 0..PORT_ATTEMPTS {
            reg.port = free_port();
            reg.host = format!("127.0.0.1:{}", reg.port);
            reg.write_config();
            match reg.launch() {
                Ok(()) => return reg,
                Err(LaunchError::AddrInUse) => {
                    last_error = format!("port {} was taken", reg.port);
                    continue;
                }
                Err(LaunchError::Failed(msg)) => panic!("{msg}"),
            }
        }
        panic!(
            "docker-registry ({flavour:?}) did not start after {PORT_ATTEMPTS} ports: {last_error}"
        );
    }

    /// Kill the registry now (SIGKILL) but keep its storage and port, e.g. to
    /// simulate a registry dying mid-transfer. No-op if already stopped.
    pub fn stop(&mut self) {
        self.disarm_watchdog();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start the registry again on the same port with the same storage (stops
    /// it first if it is running). Panics if it does not come back.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.launch() {
                Ok(()) => return,
                Err(LaunchError::AddrInUse) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(LaunchError::AddrInUse) => {
                    panic!("cannot restart registry: port {} stays in use", self.port)
                }
                Err(LaunchError::Failed(msg)) => panic!("{msg}"),
            }
        }
    }

    /// Whether the registry process is currently running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Process id of the running registry (None when stopped).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Unique id of this harness instance (also sent as [`INSTANCE_HEADER`]).
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// The temporary directory holding config, certificates, storage and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The registry's config file.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The filesystem storage root (`storage.filesystem.rootdirectory`).
    pub fn storage_dir(&self) -> &Path {
        &self.storage_dir
    }

    /// Where the registry stores the content of `digest` (blobs *and*
    /// manifests). Overwrite it to make the registry serve altered bytes under
    /// the same digest (distribution 2.8 does not re-check on read).
    pub fn blob_data_path(&self, digest: &str) -> PathBuf {
        let hex = digest_hex(digest);
        self.storage_dir
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// The registry's combined stdout/stderr so far (log level warn).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The token issuer ([`Flavour::Token`] only).
    pub fn token_issuer(&self) -> Option<&TokenIssuer> {
        self.token.as_ref()
    }

    /// `scheme://127.0.0.1:PORT` + `path` (a leading `/` is added if missing).
    pub fn url(&self, path: &str) -> String {
        let sep = if path.starts_with('/') { "" } else { "/" };
        format!("{}://{}{sep}{path}", self.flavour.scheme(), self.host)
    }

    /// `127.0.0.1:PORT/REPO`, the repository as it appears in references and in
    /// the cosign simple-signing `docker-reference`.
    pub fn repo_ref(&self, repo: &str) -> String {
        format!("{}/{repo}", self.host)
    }

    /// `127.0.0.1:PORT/REPO:TAG`, or `...@sha256:...` when `reference` is a digest.
    pub fn image_ref(&self, repo: &str, reference: &str) -> String {
        if reference.contains(':') {
            format!("{}/{repo}@{reference}", self.host)
        } else {
            format!("{}/{repo}:{reference}", self.host)
        }
    }

    /// A client builder that trusts the test CA (TLS flavours) and, for
    /// [`Flavour::TlsBasicAuth`] with `with_credentials`, sends basic auth on
    /// every request. Bearer tokens are handled by [`Pusher`], not here.
    pub fn client_builder(&self, with_credentials: bool) -> ClientBuilder {
        let mut b = Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(5));
        if let Some(pem) = &self.ca_pem {
            if self.flavour == Flavour::TlsSelfSigned {
                // The harness's own client only needs to reach the process, not to judge it.
                b = b.danger_accept_invalid_certs(true);
            } else {
                let cert = reqwest::Certificate::from_pem(pem.as_bytes()).expect("parse test CA");
                b = b.add_root_certificate(cert);
            }
        }
        if self.flavour == Flavour::MutualTls {
            let mut pem = fs::read(self.dir.path().join("client.cert")).expect("client.cert");
            pem.extend(fs::read(self.dir.path().join("client.key")).expect("client.key"));
            b = b.identity(reqwest::Identity::from_pem(&pem).expect("client identity"));
        }
        if with_credentials && self.flavour == Flavour::TlsBasicAuth {
            let mut headers = HeaderMap::new();
            let mut value = HeaderValue::from_str(&self.basic_auth_header().expect("creds"))
                .expect("header value");
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
            b = b.default_headers(headers);
        }
        b
    }

    /// A blocking client: test CA trusted, basic auth preconfigured (see
    /// [`client_builder`](Self::client_builder)).
    pub fn client(&self) -> Client {
        self.client_builder(true).build().expect("build client")
    }

    /// A blocking client that trusts the CA but sends no credentials.
    pub fn anonymous_client(&self) -> Client {
        self.client_builder(false).build().expect("build client")
    }

    /// `Basic base64(user:pass)` for the auth flavours.
    pub fn basic_auth_header(&self) -> Option<String> {
        Some(format!("Basic {}", self.auth_b64()?))
    }

    fn auth_b64(&self) -> Option<String> {
        let (u, p) = (self.username.as_ref()?, self.password.as_ref()?);
        Some(b64(format!("{u}:{p}").as_bytes()))
    }

    /// A [`Pusher`] (raw OCI distribution client with auth handling) for this registry.
    pub fn pusher(&self) -> Pusher<'_> {
        Pusher::new(self)
    }

    /// A [`Fixtures`] builder pushing into this registry.
    pub fn fixtures(&self) -> Fixtures<'_> {
        Fixtures::new(self)
    }

    /// Write (once) and return the path of a docker `config.json` holding this
    /// registry's credentials (`{"auths":{}}` for anonymous flavours).
    pub fn auth_file(&self) -> PathBuf {
        let path = self.dir.path().join("docker-config").join("config.json");
        let mut auths = serde_json::Map::new();
        if let Some(auth) = self.auth_b64() {
            auths.insert(self.host.clone(), serde_json::json!({ "auth": auth }));
        }
        let doc = serde_json::json!({ "auths": auths });
        fs::create_dir_all(path.parent().expect("parent")).expect("create docker-config");
        fs::write(&path, serde_json::to_vec_pretty(&doc).expect("json"))
            .expect("write config.json");
        path
    }

    /// Environment for running the airlock binary against this registry:
    /// `REGISTRY_AUTH_FILE` pointing at [`auth_file`](Self::auth_file) (always
    /// set, so a developer's `~/.docker/config.json` is never read).
    pub fn airlock_env(&self) -> Vec<(String, String)> {
        vec![(
            "REGISTRY_AUTH_FILE".to_string(),
            self.auth_file().to_string_lossy().into_owned(),
        )]
    }

    /// The airlock binary with this registry's credentials in its environment.
    pub fn airlock(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::cargo_bin("airlock").expect("airlock binary");
        c.envs(self.airlock_env());
        c
    }

    /// `airlock capture REFS -o OUT` from this registry, with its transport flags and `extra`.
    pub fn capture(&self, refs: &[String], out: &Path, extra: &[&str]) -> std::process::Output {
        self.airlock()
            .arg("capture")
            .args(refs)
            .arg("-o")
            .arg(out)
            .args(self.cli_flags())
            .args(extra)
            .output()
            .expect("run airlock capture")
    }

    /// Transport flags for the airlock binary: `--insecure-registry HOST` for
    /// [`Flavour::Plain`], `--ca-file PATH` for the TLS flavours (`--cert-dir` for
    /// [`Flavour::MutualTls`], whose client certificate lives there). The plain-HTTP token
    /// realm of [`Flavour::Token`] is named with `--insecure-registry` (airlock sends
    /// credentials over plain HTTP only to hosts named so).
    pub fn cli_flags(&self) -> Vec<String> {
        let mut v = match (&self.ca_file, self.flavour) {
            (None, _) => vec!["--insecure-registry".into(), self.host.clone()],
            (Some(_), Flavour::MutualTls) => {
                vec![
                    "--cert-dir".into(),
                    self.cert_dir().to_string_lossy().into_owned(),
                ]
            }
            (Some(ca), _) => vec!["--ca-file".into(), ca.to_string_lossy().into_owned()],
        };
        if let Some(t) = &self.token {
            v.push("--insecure-registry".into());
            v.push(t.addr().to_string());
        }
        v
    }

    /// A `certs.d` directory for this registry (created on first call): `HOST:PORT/ca.crt`
    /// (TLS flavours) and `HOST:PORT/client.cert` + `client.key` ([`Flavour::MutualTls`]).
    pub fn cert_dir(&self) -> PathBuf {
        let root = self.dir.path().join("certs.d");
        let host_dir = root.join(&self.host);
        fs::create_dir_all(&host_dir).expect("create certs.d host dir");
        if let Some(pem) = &self.ca_pem {
            fs::write(host_dir.join("ca.crt"), pem).expect("write ca.crt");
        }
        if self.flavour == Flavour::MutualTls {
            for f in ["client.cert", "client.key"] {
                fs::copy(self.dir.path().join(f), host_dir.join(f)).expect("copy client cert");
            }
        }
        root
    }

    fn write_config(&self) {
        let root = self.dir.path();
        let mut cfg = format!(
            "version: 0.1\n\
             log:\n  level: warn\n  formatter: text\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n  \
             maintenance:\n    uploadpurging:\n      enabled: false\n  redirect:\n    disable: true\n\
             http:\n  addr: {host}\n  secret: airlock-harness-{id}\n  headers:\n    {hdr}: [\"{id}\"]\n",
            storage = yaml_str(&self.storage_dir),
            host = self.host,
            id = self.instance_id,
            hdr = INSTANCE_HEADER,
        );
        if self.flavour.is_tls() {
            cfg.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                yaml_str(&root.join("server.crt")),
                yaml_str(&root.join("server.key")),
            ));
        }
        if self.flavour == Flavour::MutualTls {
            cfg.push_str(&format!(
                "    clientcas:\n      - {}\n",
                yaml_str(&root.join("client-ca.pem")),
            ));
        }
        match self.flavour {
            Flavour::TlsBasicAuth => cfg.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: airlock-test-registry\n    path: {}\n",
                yaml_str(&root.join("htpasswd")),
            )),
            Flavour::Token => {
                let issuer = self.token.as_ref().expect("token issuer");
                cfg.push_str(&format!(
                    "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                    issuer.realm(),
                    issuer.service(),
                    issuer.issuer(),
                    yaml_str(&root.join("token-rootcerts.pem")),
                ));
            }
            Flavour::Plain | Flavour::Tls | Flavour::TlsSelfSigned | Flavour::MutualTls => {}
        }
        fs::write(&self.config_path, cfg).expect("write registry config");
    }

    /// Spawn the process on `self.port` and wait until it is ready.
    fn launch(&mut self) -> Result<(), LaunchError> {
        let log_start = fs::metadata(&self.log_path).map(|m| m.len()).unwrap_or(0);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("open registry log");
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&self.config_path)
            // distribution reads REGISTRY_* variables as config overrides:
            // never let the test environment leak into it.
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {REGISTRY_BIN}: {e}"));
        self.watchdog = Watchdog::arm(child.id());
        self.child = Some(child);

        let client = self
            .anonymous_client_with_timeout(Duration::from_secs(2))
            .expect("readiness client");
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child_exit_status() {
                let log = self.log_since(log_start);
                self.stop();
                if log.contains("address already in use") {
                    return Err(LaunchError::AddrInUse);
                }
                return Err(LaunchError::Failed(format!(
                    "docker-registry ({:?}) on {} exited with {status} before becoming ready; log:\n{log}",
                    self.flavour, self.host
                )));
            }
            if let Ok(resp) = client.get(self.url("/v2/")).send() {
                let ours = resp
                    .headers()
                    .get(INSTANCE_HEADER)
                    .and_then(|v| v.to_str().ok())
                    == Some(self.instance_id.as_str());
                let status = resp.status().as_u16();
                if ours && (status == 200 || status == 401) {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                let log = self.log_since(log_start);
                self.stop();
                return Err(LaunchError::Failed(format!(
                    "docker-registry ({:?}) on {} did not answer GET /v2/ within {:?}; log:\n{log}",
                    self.flavour, self.host, START_TIMEOUT
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn anonymous_client_with_timeout(&self, t: Duration) -> reqwest::Result<Client> {
        self.client_builder(false).timeout(t).build()
    }

    fn child_exit_status(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    fn log_since(&self, offset: u64) -> String {
        let mut s = String::new();
        if let Ok(mut f) = File::open(&self.log_path) {
            let _ = f.seek(SeekFrom::Start(offset));
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    fn disarm_watchdog(&mut self) {
        if let Some(w) = self.watchdog.take() {
            w.disarm();
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
        // Fields drop afterwards: the token issuer stops, then the TempDir
        // (config, certs, storage, log) is removed.
    }
}

/// A `sh` process that kills the registry if the test process dies without
/// running destructors: it blocks reading a pipe only we hold the write end of.
struct Watchdog {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Watchdog {
    fn arm(pid: u32) -> Option<Watchdog> {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg("cat >/dev/null; kill -9 \"$1\" 2>/dev/null")
            .arg("airlock-registry-watchdog")
            .arg(pid.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let stdin = child.stdin.take();
        Some(Watchdog { child, stdin })
    }

    /// Kill the watchdog shell first (so it can never signal a recycled pid),
    /// then close the pipe so its `cat` exits too.
    fn disarm(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        drop(self.stdin.take());
    }
}

struct SystemClock;

impl SystemClock {
    fn nanos() -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    }
}

/// A port that was free a moment ago (bind 127.0.0.1:0, read it, release it).
/// The caller retries if someone else grabs it before the registry binds.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// Double-quoted YAML scalar for a path.
fn yaml_str(p: &Path) -> String {
    serde_json::to_string(&p.to_string_lossy()).expect("json string")
}

/// Generate a CA and a server certificate for 127.0.0.1/localhost; write
/// `ca.pem`, `server.crt`, `server.key` into `root`. Returns the CA PEM and path.
pub fn write_tls_material(root: &Path) -> (String, PathBuf) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "airlock test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).expect("self-sign CA");

    let server_key = KeyPair::generate().expect("server key");
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("server params");
    params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    debug_assert!(params.subject_alt_names.iter().any(
        |s| matches!(s, rcgen::SanType::IpAddress(IpAddr::V4(ip)) if *ip == Ipv4Addr::LOCALHOST)
    ));
    let server_cert = params
        .signed_by(&server_key, &ca_cert, &ca_key)
        .expect("sign server cert");

    let ca_pem = ca_cert.pem();
    let ca_file = root.join("ca.pem");
    fs::write(&ca_file, &ca_pem).expect("write ca.pem");
    fs::write(root.join("server.crt"), server_cert.pem()).expect("write server.crt");
    fs::write(root.join("server.key"), server_key.serialize_pem()).expect("write server.key");
    (ca_pem, ca_file)
}

/// A self-signed `CA:TRUE` server certificate for 127.0.0.1/localhost, as `openssl req -x509`
/// makes it; writes `ca.pem` (= the certificate), `server.crt`, `server.key`.
fn write_self_signed_tls_material(root: &Path) -> (String, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let key = KeyPair::generate().expect("server key");
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("server params");
    params
        .distinguished_name
        .push(DnType::CommonName, "airlock self-signed registry");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("self-sign server cert");
    let pem = cert.pem();
    let ca_file = root.join("ca.pem");
    fs::write(&ca_file, &pem).expect("write ca.pem");
    fs::write(root.join("server.crt"), &pem).expect("write server.crt");
    fs::write(root.join("server.key"), key.serialize_pem()).expect("write server.key");
    (pem, ca_file)
}

/// A client CA (`client-ca.pem`, the registry's `clientcas`) and a client certificate it
/// issued (`client.cert`, `client.key`).
fn write_client_tls_material(root: &Path) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().expect("client CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("client CA params");
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "airlock test client CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).expect("self-sign client CA");
    let key = KeyPair::generate().expect("client key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
    params
        .distinguished_name
        .push(DnType::CommonName, "airlock test client");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let cert = params
        .signed_by(&key, &ca_cert, &ca_key)
        .expect("sign client cert");
    fs::write(root.join("client-ca.pem"), ca_cert.pem()).expect("write client-ca.pem");
    fs::write(root.join("client.cert"), cert.pem()).expect("write client.cert");
    fs::write(root.join("client.key"), key.serialize_pem()).expect("write client.key");
}

/// Write a bcrypt htpasswd file for the test credentials using `htpasswd -Bbn`.
fn write_htpasswd(path: &Path) {
    let out = Command::new("htpasswd")
        .args(["-Bbn", TEST_USERNAME, TEST_PASSWORD])
        .output()
        .expect("run htpasswd (apt install apache2-utils)");
    assert!(
        out.status.success(),
        "htpasswd failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    fs::write(path, &out.stdout).expect("write htpasswd");
}

//! Registry TLS: trusted CAs from `--ca-file` and `certs.d` directories, client certificates for
//! mutual TLS, exact-certificate trust for self-signed registry certificates, and errors that
//! say what went wrong (unknown CA with subject and issuer, name mismatch, expiry).
//!
//! The `certs.d` layout is the one containers and docker use: `DIR/HOST[:PORT]/*.crt` are CA
//! certificates trusted for that registry, `DIR/HOST[:PORT]/NAME.cert` + `NAME.key` a client
//! certificate and key (`client.cert`/`client.key` by convention).
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Largest certificate or key file read (a CA bundle is far smaller).
pub const MAX_CERT_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Most certificate files read from one `certs.d` host directory.
pub const MAX_CERT_DIR_ENTRIES: usize = 256;
/// `certs.d` directories used when they exist, after any `--cert-dir`.
pub const DEFAULT_CERT_DIRS: [&str; 2] = ["/etc/containers/certs.d", "/etc/docker/certs.d"];

/// A problem with the TLS material given to airlock (exit 2, names the file).
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: over the {MAX_CERT_FILE_BYTES}-byte limit for certificate and key files")]
    TooLarge { path: PathBuf },
    #[error("{path}: {problem}")]
    Invalid { path: PathBuf, problem: String },
    #[error("{dir}: more than {MAX_CERT_DIR_ENTRIES} entries in a certs.d host directory")]
    TooManyEntries { dir: PathBuf },
    #[error("cannot set up TLS for {host}: {problem}")]
    Config { host: String, problem: String },
}

/// Certificates read from one PEM file (`--ca-file` or a `*.crt` in a cert dir).
#[derive(Debug, Clone)]
pub struct CaFile {
    pub path: PathBuf,
    pub certs: Vec<CertificateDer<'static>>,
}

/// Everything TLS-related airlock was given.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    /// `--ca-file` contents: trusted for every registry.
    pub ca_files: Vec<CaFile>,
    /// `certs.d` roots, searched in order (`--cert-dir` first, then the defaults that exist).
    pub cert_dirs: Vec<PathBuf>,
}

fn read_small(path: &Path) -> Result<Vec<u8>, TlsSetupError> {
    let meta = std::fs::metadata(path).map_err(|e| TlsSetupError::Read {
        path: path.to_path_buf(),
        source: e,
    })?;
    if !meta.is_file() {
        return Err(TlsSetupError::Invalid {
            path: path.to_path_buf(),
            problem: "not a regular file".into(),
        });
    }
    if meta.len() > MAX_CERT_FILE_BYTES {
        return Err(TlsSetupError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    std::fs::read(path).map_err(|e| TlsSetupError::Read {
        path: path.to_path_buf(),
        source: e,
    })
}

/// Read a PEM file of certificates; a file without any certificate is an error naming it.
pub fn load_ca_file(path: &Path) -> Result<CaFile, TlsSetupError> {
    let bytes = read_small(path)?;
    let mut certs = Vec::new();
    for c in CertificateDer::pem_slice_iter(&bytes) {
        match c {
            Ok(c) => certs.push(c),
            Err(e) => {
                return Err(TlsSetupError::Invalid {
                    path: path.to_path_buf(),
                    problem: format!("not a PEM certificate file: {e}"),
                })
            }
        }
    }
    if certs.is_empty() {
        return Err(TlsSetupError::Invalid {
            path: path.to_path_buf(),
            problem: "holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)".into(),
        });
    }
    for (i, c) in certs.iter().enumerate() {
        if x509_parser::parse_x509_certificate(c.as_ref()).is_err() {
            return Err(TlsSetupError::Invalid {
                path: path.to_path_buf(),
                problem: format!("certificate #{} is not valid X.509 DER", i + 1),
            });
        }
    }
    Ok(CaFile {
        path: path.to_path_buf(),
        certs,
    })
}

/// The cert-dir material for one registry host.
#[derive(Default)]
struct HostMaterial {
    cas: Vec<CaFile>,
    client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

fn load_host_dir(dir: &Path, out: &mut HostMaterial) -> Result<(), TlsSetupError> {
    let rd = std::fs::read_dir(dir).map_err(|e| TlsSetupError::Read {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let mut names = Vec::new();
    for e in rd {
        let e = e.map_err(|e| TlsSetupError::Read {
            path: dir.to_path_buf(),
            source: e,
        })?;
        names.push(e.path());
        if names.len() > MAX_CERT_DIR_ENTRIES {
            return Err(TlsSetupError::TooManyEntries {
                dir: dir.to_path_buf(),
            });
        }
    }
    names.sort();
    for p in &names {
        match p.extension().and_then(|e| e.to_str()) {
            Some("crt") => out.cas.push(load_ca_file(p)?),
            Some("cert") if out.client.is_none() => {
                let key_path = p.with_extension("key");
                let chain = load_ca_file(p)?.certs;
                let key_bytes = read_small(&key_path).map_err(|e| match e {
                    TlsSetupError::Read { path, source }
                        if source.kind() == std::io::ErrorKind::NotFound =>
                    {
                        TlsSetupError::Invalid {
                            path,
                            problem: format!(
                                "missing: a client certificate {} needs its key next to it",
                                p.display()
                            ),
                        }
                    }
                    other => other,
                })?;
                let key = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|e| {
                    TlsSetupError::Invalid {
                        path: key_path.clone(),
                        problem: format!("not a PEM private key (PKCS#8, PKCS#1 or SEC1): {e}"),
                    }
                })?;
                out.client = Some((chain, key));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The host directory names that apply to `host` (as written in references, `HOST[:PORT]`).
fn host_dir_names(host: &str) -> Vec<String> {
    let mut v = vec![host.to_string()];
    if host == "docker.io" || host == "registry-1.docker.io" {
        v.push("docker.io".into());
        v.push("registry-1.docker.io".into());
        v.push("index.docker.io".into());
        v.dedup();
    }
    v
}

/// What the last failed handshake to a host was about, in words (read after a connect error).
pub type FailureSlot = Arc<Mutex<Option<String>>>;

/// What the handshakes with one host revealed, for error messages.
#[derive(Clone, Default)]
pub struct TlsState {
    /// Why the server's certificate was refused, if it was.
    pub failure: FailureSlot,
    /// The server asked for a client certificate and airlock had none for it.
    pub client_cert_requested: Arc<AtomicBool>,
}

/// No client certificate: remembers that the server asked for one.
#[derive(Debug)]
struct NoClientCert(Arc<AtomicBool>);

impl rustls::client::ResolvesClientCert for NoClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.0.store(true, Ordering::SeqCst);
        None
    }

    fn has_certs(&self) -> bool {
        false
    }
}

/// A rustls client configuration for one registry host, plus the slot where its certificate
/// verifier leaves the reason for a rejection.
pub fn host_config(
    settings: &TlsSettings,
    host: &str,
) -> Result<(rustls::ClientConfig, TlsState), TlsSetupError> {
    let mut material = HostMaterial::default();
    for root in &settings.cert_dirs {
        for name in host_dir_names(host) {
            let d = root.join(&name);
            if d.is_dir() {
                load_host_dir(&d, &mut material)?;
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config_err = |problem: String| TlsSetupError::Config {
        host: host.to_string(),
        problem,
    };
    let (verifier, state) = verifier(settings, &material, host, provider.clone())?;
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_err(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mutual = material.client.is_some();
    let mut config = match material.client {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| config_err(format!("client certificate/key: {e}")))?,
        None => builder
            .with_client_cert_resolver(Arc::new(NoClientCert(state.client_cert_requested.clone()))),
    };
    // HTTP/2 where the registry offers it; HTTP/1.1 only with a client certificate (distribution
    // closes HTTP/2 streams of mutually authenticated connections).
    config.alpn_protocols = if mutual {
        vec![b"http/1.1".to_vec()]
    } else {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    };
    Ok((config, state))
}

/// The server-certificate verifier for one host and the state it reports into.
fn verifier(
    settings: &TlsSettings,
    material: &HostMaterial,
    host: &str,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<(Arc<Verifier>, TlsState), TlsSetupError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let mut exact: Vec<CertificateDer<'static>> = Vec::new();
    for f in settings.ca_files.iter().chain(material.cas.iter()) {
        for c in &f.certs {
            // A certificate webpki cannot use as a trust anchor is still trusted exactly.
            let _ = roots.add(c.clone());
            exact.push(c.clone());
        }
    }
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| TlsSetupError::Config {
            host: host.to_string(),
            problem: e.to_string(),
        })?;
    let state = TlsState::default();
    let v = Arc::new(Verifier {
        inner,
        exact,
        failure: state.failure.clone(),
        host: host.to_string(),
    });
    Ok((v, state))
}

/// WebPKI verification plus exact-certificate trust, recording why a certificate was refused.
#[derive(Debug)]
struct Verifier {
    inner: Arc<WebPkiServerVerifier>,
    /// Certificates the user gave (`--ca-file`, `*.crt`): a server presenting exactly one of
    /// them is trusted (the self-signed `CA:TRUE` registry certificate `openssl req -x509` makes).
    exact: Vec<CertificateDer<'static>>,
    failure: FailureSlot,
    host: String,
}

impl Verifier {
    fn record(&self, why: String) {
        if let Ok(mut f) = self.failure.lock() {
            *f = Some(why);
        }
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.exact.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
            let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
            if let Err(e) = rustls::client::verify_server_name(&parsed, server_name) {
                self.record(describe(&e, end_entity, server_name, &self.host));
                return Err(e);
            }
            if let Some(e) = validity_error(end_entity, now) {
                self.record(describe(&e, end_entity, server_name, &self.host));
                return Err(e);
            }
            return Ok(ServerCertVerified::assertion());
        }
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(v) => Ok(v),
            Err(e) => {
                self.record(describe(&e, end_entity, server_name, &self.host));
                Err(e)
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

fn validity_error(cert: &CertificateDer<'_>, now: UnixTime) -> Option<rustls::Error> {
    let (_, c) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let now = now.as_secs() as i64;
    let v = c.validity();
    if now > v.not_after.timestamp() {
        return Some(CertificateError::Expired.into());
    }
    if now < v.not_before.timestamp() {
        return Some(CertificateError::NotValidYet.into());
    }
    None
}

/// Subject, issuer, names and validity of a certificate, for messages.
struct CertInfo {
    subject: String,
    issuer: String,
    names: Vec<String>,
    not_before: String,
    not_after: String,
    is_ca: bool,
    self_issued: bool,
}

fn cert_info(der: &CertificateDer<'_>) -> Option<CertInfo> {
    let (_, c) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = c.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                x509_parser::extensions::GeneralName::DNSName(d) => names.push(d.to_string()),
                x509_parser::extensions::GeneralName::IPAddress(b) => match b.len() {
                    4 => names.push(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string()),
                    16 => {
                        let mut a = [0u8; 16];
                        a.copy_from_slice(b);
                        names.push(std::net::Ipv6Addr::from(a).to_string())
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    let is_ca = c
        .basic_constraints()
        .ok()
        .flatten()
        .map(|b| b.value.ca)
        .unwrap_or(false);
    let clean = |s: String| crate::text::shorten(&s.replace(|c: char| c.is_control(), "?"), 200);
    Some(CertInfo {
        subject: clean(c.subject().to_string()),
        issuer: clean(c.issuer().to_string()),
        names: names.into_iter().map(clean).collect(),
        not_before: c.validity().not_before.to_string(),
        not_after: c.validity().not_after.to_string(),
        is_ca,
        self_issued: c.subject().as_raw() == c.issuer().as_raw(),
    })
}

/// Words for a rejected server certificate.
fn describe(
    e: &rustls::Error,
    cert: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    host: &str,
) -> String {
    let info = cert_info(cert);
    let who = info
        .as_ref()
        .map(|i| format!("subject \"{}\", issuer \"{}\"", i.subject, i.issuer))
        .unwrap_or_else(|| "unparsable certificate".into());
    let name = server_name.to_str();
    let ce = match e {
        rustls::Error::InvalidCertificate(ce) => Some(ce),
        _ => None,
    };
    match ce {
        Some(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => {
            let names = info
                .as_ref()
                .map(|i| i.names.join(", "))
                .unwrap_or_default();
            format!(
                "name mismatch: the certificate ({who}) is for [{names}], not for {name}; connect with a name the certificate lists, or have the certificate reissued"
            )
        }
        Some(CertificateError::Expired | CertificateError::ExpiredContext { .. }) => {
            let until = info
                .as_ref()
                .map(|i| i.not_after.clone())
                .unwrap_or_default();
            format!("expired: the certificate ({who}) was valid until {until}; renew the registry's certificate")
        }
        Some(CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. }) => {
            let from = info
                .as_ref()
                .map(|i| i.not_before.clone())
                .unwrap_or_default();
            format!("not valid yet: the certificate ({who}) is valid from {from}; check this machine's clock")
        }
        _ => {
            let self_signed = info
                .as_ref()
                .map(|i| i.self_issued || i.is_ca)
                .unwrap_or(false);
            let what = if self_signed {
                "unknown CA: the server presents a self-signed certificate"
            } else {
                "unknown CA: the certificate is not issued by a trusted CA"
            };
            format!(
                "{what} ({who}); trust it with --ca-file PEM or put the CA (or that certificate) in --cert-dir DIR as DIR/{host}/ca.crt"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed(names: &[&str], expired: bool) -> (CertificateDer<'static>, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p =
            rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "test registry");
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        if expired {
            p.not_before = rcgen::date_time_ymd(2020, 1, 1);
            p.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let c = p.self_signed(&key).unwrap();
        (c.der().clone(), c.pem())
    }

    /// Verify `presented` for `name` with `given` trusted as by `--ca-file`.
    fn check(given: &str, presented: &CertificateDer<'static>, name: &str) -> Result<(), String> {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ca.pem");
        std::fs::write(&f, given).unwrap();
        let settings = TlsSettings {
            ca_files: vec![load_ca_file(&f).unwrap()],
            cert_dirs: vec![],
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let (verifier, state) =
            verifier(&settings, &HostMaterial::default(), name, provider).unwrap();
        let sn = ServerName::try_from(name.to_string()).unwrap();
        match verifier.verify_server_cert(presented, &[], &sn, &[], UnixTime::now()) {
            Ok(_) => Ok(()),
            Err(_) => Err(state.failure.lock().unwrap().clone().unwrap_or_default()),
        }
    }

    #[test]
    fn given_self_signed_ca_true_certificate_is_trusted_exactly_for_its_names() {
        let (der, pem) = self_signed(&["127.0.0.1", "localhost"], false);
        assert_eq!(check(&pem, &der, "127.0.0.1"), Ok(()));
        assert_eq!(check(&pem, &der, "localhost"), Ok(()));
    }

    #[test]
    fn given_certificate_for_another_name_is_a_name_mismatch() {
        let (der, pem) = self_signed(&["registry.example"], false);
        let e = check(&pem, &der, "127.0.0.1").unwrap_err();
        assert!(e.starts_with("name mismatch"), "{e}");
        assert!(
            e.contains("[registry.example]") && e.contains("not for 127.0.0.1"),
            "{e}"
        );
    }

    #[test]
    fn given_but_expired_certificate_is_expired() {
        let (der, pem) = self_signed(&["127.0.0.1"], true);
        let e = check(&pem, &der, "127.0.0.1").unwrap_err();
        assert!(e.starts_with("expired") && e.contains("2021"), "{e}");
    }

    #[test]
    fn other_self_signed_certificate_is_unknown_ca_with_subject_and_issuer() {
        let (_, pem) = self_signed(&["127.0.0.1"], false);
        let (der, _) = self_signed(&["127.0.0.1"], false);
        let e = check(&pem, &der, "127.0.0.1").unwrap_err();
        assert!(e.starts_with("unknown CA"), "{e}");
        assert!(
            e.contains("subject \"CN=test registry\"") && e.contains("issuer \"CN=test registry\""),
            "{e}"
        );
    }

    #[test]
    fn cert_dir_client_certificate_without_key_names_the_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let host = dir.path().join("reg.example:5000");
        std::fs::create_dir_all(&host).unwrap();
        let (_, pem) = self_signed(&["reg.example"], false);
        std::fs::write(host.join("client.cert"), pem).unwrap();
        let settings = TlsSettings {
            ca_files: vec![],
            cert_dirs: vec![dir.path().to_path_buf()],
        };
        let e = host_config(&settings, "reg.example:5000")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("client.key") && e.contains("missing"), "{e}");
    }
}

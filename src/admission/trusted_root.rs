//! The parts of a Sigstore `trusted_root.json` that admission controllers need: Fulcio CA chains,
//! Rekor and CT log keys, timestamp authorities. Read from the file the operator imported (the
//! policy's `trustedRoots`), never fetched.
//!
//! Only what is needed to hand the material to Kyverno (`roots`, `rekor.pubkey`, `ctlog.pubkey`)
//! and to a policy-controller `TrustRoot` (`spec.sigstoreKeys`) is read; validity periods are not
//! interpreted here (both controllers check certificates at the signed time themselves).
#![allow(clippy::disallowed_methods)] // an edge: file I/O (and clocks for timeouts) live here by design
use std::io::Read;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::Deserialize;

use crate::keys::{KeyAlgorithm, PublicKey};

/// Largest `trusted_root.json` read (bytes). The public-good root is about 7 KiB.
pub const MAX_TRUSTED_ROOT_BYTES: usize = 4 * 1024 * 1024;
/// Most entries read from each list (`certificateAuthorities`, `tlogs`, `ctlogs`,
/// `timestampAuthorities`).
pub const MAX_ROOT_ENTRIES: usize = 64;
/// Most certificates in one chain.
pub const MAX_CHAIN_CERTIFICATES: usize = 10;

/// A transparency log (Rekor or CT) and its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogKey {
    /// `baseUrl`.
    pub base_url: String,
    /// The Merkle tree hash in policy-controller's spelling (`sha-256`).
    pub hash_algorithm: String,
    /// The key as given (DER SubjectPublicKeyInfo).
    pub spki_der: Vec<u8>,
    /// The key's algorithm, when airlock knows it (`None` for others, e.g. P-521).
    pub algorithm: Option<KeyAlgorithm>,
}

impl LogKey {
    /// PEM `PUBLIC KEY` of the key as given.
    pub fn pem(&self) -> String {
        pem_encode("PUBLIC KEY", &[&self.spki_der])
    }
    /// Is this an ECDSA key (the only kind policy-controller accepts for Rekor)?
    pub fn is_ecdsa(&self) -> bool {
        matches!(
            self.algorithm,
            Some(KeyAlgorithm::EcdsaP256) | Some(KeyAlgorithm::EcdsaP384)
        )
    }
}

/// A certificate authority (Fulcio) or timestamp authority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authority {
    pub organization: String,
    pub common_name: String,
    pub uri: String,
    /// DER certificates, leaf (or intermediate) first, root last.
    pub chain_der: Vec<Vec<u8>>,
}

impl Authority {
    /// The chain as concatenated PEM `CERTIFICATE` blocks.
    pub fn chain_pem(&self) -> String {
        let refs: Vec<&[u8]> = self.chain_der.iter().map(Vec::as_slice).collect();
        pem_encode("CERTIFICATE", &refs)
    }
}

/// The trust material of one `trusted_root.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedRoot {
    pub certificate_authorities: Vec<Authority>,
    pub tlogs: Vec<LogKey>,
    pub ctlogs: Vec<LogKey>,
    pub timestamp_authorities: Vec<Authority>,
}

/// Why a trusted root could not be read.
#[derive(Debug, thiserror::Error)]
#[error("trusted root {path}: {message}")]
pub struct TrustedRootError {
    pub path: String,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRoot {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    tlogs: Vec<RawLog>,
    #[serde(default)]
    certificate_authorities: Vec<RawAuthority>,
    #[serde(default)]
    ctlogs: Vec<RawLog>,
    #[serde(default)]
    timestamp_authorities: Vec<RawAuthority>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLog {
    #[serde(default)]
    base_url: String,
    #[serde(default)]
    hash_algorithm: Option<String>,
    public_key: RawKey,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawKey {
    #[serde(default)]
    raw_bytes: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAuthority {
    #[serde(default)]
    subject: Option<RawSubject>,
    #[serde(default)]
    uri: String,
    cert_chain: RawChain,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSubject {
    #[serde(default)]
    organization: String,
    #[serde(default)]
    common_name: String,
}

#[derive(Deserialize)]
struct RawChain {
    certificates: Vec<RawCert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCert {
    raw_bytes: String,
}

impl TrustedRoot {
    /// Read and parse `path` (at most [`MAX_TRUSTED_ROOT_BYTES`]).
    pub fn load(path: &Path) -> Result<TrustedRoot, TrustedRootError> {
        let shown = path.display().to_string();
        let err = |message: String| TrustedRootError {
            path: shown.clone(),
            message,
        };
        let file = std::fs::File::open(path).map_err(|e| {
            err(format!(
                "cannot open it ({e}); check the policy's trustedRoots path"
            ))
        })?;
        let mut bytes = Vec::new();
        file.take(MAX_TRUSTED_ROOT_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| err(format!("cannot read it ({e})")))?;
        TrustedRoot::parse(&bytes).map_err(err)
    }

    /// Parse `trusted_root.json` bytes. The error is a message without the file name.
    pub fn parse(bytes: &[u8]) -> Result<TrustedRoot, String> {
        if bytes.len() > MAX_TRUSTED_ROOT_BYTES {
            return Err(format!(
                "the file is over the {MAX_TRUSTED_ROOT_BYTES}-byte limit; expected a Sigstore \
                 trusted_root.json (a few KiB)"
            ));
        }
        let not_root = |e: String| {
            format!(
                "not a Sigstore trusted_root.json ({e}); expected the JSON object with \
                 certificateAuthorities, tlogs, ctlogs and timestampAuthorities (as `cosign \
                 trusted-root create` or the Sigstore TUF repository give)"
            )
        };
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| not_root(e.to_string()))?;
        if !value.is_object() {
            return Err(not_root("the top level is not an object".into()));
        }
        let raw: RawRoot = serde_json::from_value(value).map_err(|e| not_root(e.to_string()))?;
        if let Some(mt) = &raw.media_type {
            if !mt.starts_with("application/vnd.dev.sigstore.trustedroot") {
                return Err(format!(
                    "mediaType is {mt:?}; expected application/vnd.dev.sigstore.trustedroot+json"
                ));
            }
        }
        for (field, n) in [
            ("certificateAuthorities", raw.certificate_authorities.len()),
            ("tlogs", raw.tlogs.len()),
            ("ctlogs", raw.ctlogs.len()),
            ("timestampAuthorities", raw.timestamp_authorities.len()),
        ] {
            if n > MAX_ROOT_ENTRIES {
                return Err(format!(
                    "{field} has {n} entries, over the limit of {MAX_ROOT_ENTRIES}"
                ));
            }
        }
        Ok(TrustedRoot {
            certificate_authorities: authorities(
                raw.certificate_authorities,
                "certificateAuthorities",
            )?,
            tlogs: logs(raw.tlogs, "tlogs")?,
            ctlogs: logs(raw.ctlogs, "ctlogs")?,
            timestamp_authorities: authorities(raw.timestamp_authorities, "timestampAuthorities")?,
        })
    }

    /// All CA certificates (every chain), PEM, for Kyverno's `keyless.roots`.
    pub fn ca_pem(&self) -> String {
        self.certificate_authorities
            .iter()
            .map(Authority::chain_pem)
            .collect()
    }
}

fn logs(raw: Vec<RawLog>, field: &str) -> Result<Vec<LogKey>, String> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, l) in raw.into_iter().enumerate() {
        let at = format!("{field}[{i}]");
        if l.base_url.is_empty() {
            return Err(format!("{at} has no baseUrl; expected the log's URL"));
        }
        let b64 = l.public_key.raw_bytes.ok_or_else(|| {
            format!("{at}.publicKey has no rawBytes; expected a DER key in base64")
        })?;
        let spki_der = BASE64
            .decode(b64.as_bytes())
            .map_err(|e| format!("{at}.publicKey.rawBytes is not base64 ({e})"))?;
        let algorithm = PublicKey::from_spki_der(&spki_der)
            .ok()
            .map(|k| k.algorithm());
        let hash_algorithm = match l.hash_algorithm.as_deref() {
            None | Some("SHA2_256") => "sha-256",
            Some("SHA2_384") => "sha-384",
            Some("SHA2_512") => "sha-512",
            Some(other) => {
                return Err(format!(
                    "{at}.hashAlgorithm is {other:?}; expected SHA2_256, SHA2_384 or SHA2_512"
                ))
            }
        };
        out.push(LogKey {
            base_url: l.base_url,
            hash_algorithm: hash_algorithm.to_string(),
            spki_der,
            algorithm,
        });
    }
    Ok(out)
}

fn authorities(raw: Vec<RawAuthority>, field: &str) -> Result<Vec<Authority>, String> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, a) in raw.into_iter().enumerate() {
        let at = format!("{field}[{i}]");
        if a.uri.is_empty() {
            return Err(format!("{at} has no uri; expected the authority's URL"));
        }
        let certs = a.cert_chain.certificates;
        if certs.is_empty() || certs.len() > MAX_CHAIN_CERTIFICATES {
            return Err(format!(
                "{at}.certChain has {} certificates; expected 1 to {MAX_CHAIN_CERTIFICATES}",
                certs.len()
            ));
        }
        let mut chain_der = Vec::with_capacity(certs.len());
        for (j, c) in certs.into_iter().enumerate() {
            let der = BASE64.decode(c.raw_bytes.as_bytes()).map_err(|e| {
                format!("{at}.certChain.certificates[{j}].rawBytes is not base64 ({e})")
            })?;
            if let Err(e) = x509_parser::parse_x509_certificate(&der) {
                return Err(format!(
                    "{at}.certChain.certificates[{j}] is not a DER X.509 certificate ({e})"
                ));
            }
            chain_der.push(der);
        }
        let (organization, common_name) = match a.subject {
            Some(s) => (s.organization, s.common_name),
            None => (String::new(), String::new()),
        };
        let (organization, common_name) = fill_subject(organization, common_name, &chain_der);
        out.push(Authority {
            organization,
            common_name,
            uri: a.uri,
            chain_der,
        });
    }
    Ok(out)
}

/// policy-controller requires a subject organization and common name: take missing ones from the
/// root certificate's subject, else use the authority URI's placeholder.
fn fill_subject(org: String, cn: String, chain: &[Vec<u8>]) -> (String, String) {
    if !org.is_empty() && !cn.is_empty() {
        return (org, cn);
    }
    let (mut cert_org, mut cert_cn) = (String::new(), String::new());
    if let Some(root) = chain.last() {
        if let Ok((_, cert)) = x509_parser::parse_x509_certificate(root) {
            let subject = cert.subject();
            if let Some(o) = subject.iter_organization().next() {
                cert_org = o.as_str().unwrap_or_default().to_string();
            }
            if let Some(c) = subject.iter_common_name().next() {
                cert_cn = c.as_str().unwrap_or_default().to_string();
            }
        }
    }
    let pick = |given: String, from_cert: String| {
        if !given.is_empty() {
            given
        } else if !from_cert.is_empty() {
            from_cert
        } else {
            "unknown".to_string()
        }
    };
    (pick(org, cert_org), pick(cn, cert_cn))
}

/// PEM blocks with `\n` line ends and 64-column base64.
pub(crate) fn pem_encode(label: &str, ders: &[&[u8]]) -> String {
    let mut out = String::new();
    for der in ders {
        out.push_str(&format!("-----BEGIN {label}-----\n"));
        let b64 = BASE64.encode(der);
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str(&format!("-----END {label}-----\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC_GOOD: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/vectors/sigstore-python/sigstore/_store/",
        "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json"
    );

    #[test]
    fn public_good_root_parses() {
        let root = TrustedRoot::load(Path::new(PUBLIC_GOOD)).unwrap();
        assert_eq!(root.certificate_authorities.len(), 2);
        assert_eq!(root.certificate_authorities[1].chain_der.len(), 2);
        assert_eq!(root.certificate_authorities[0].organization, "sigstore.dev");
        assert_eq!(root.tlogs.len(), 2);
        assert!(root.tlogs[0].is_ecdsa());
        assert!(!root.tlogs[1].is_ecdsa(), "the Rekor v2 key is Ed25519");
        assert_eq!(root.tlogs[0].hash_algorithm, "sha-256");
        assert_eq!(root.ctlogs.len(), 2);
        assert_eq!(root.timestamp_authorities.len(), 1);
        assert_eq!(root.ca_pem().matches("BEGIN CERTIFICATE").count(), 3);
        assert!(root.tlogs[0]
            .pem()
            .starts_with("-----BEGIN PUBLIC KEY-----\n"));
    }

    #[test]
    fn junk_is_refused_with_a_reason() {
        assert!(TrustedRoot::parse(b"[]")
            .unwrap_err()
            .contains("trusted_root.json"));
        let bad = br#"{"certificateAuthorities":[{"uri":"https://f","certChain":{"certificates":[{"rawBytes":"!!"}]}}]}"#;
        assert!(TrustedRoot::parse(bad).unwrap_err().contains("not base64"));
        let no_uri = br#"{"certificateAuthorities":[{"certChain":{"certificates":[]}}]}"#;
        assert!(TrustedRoot::parse(no_uri).unwrap_err().contains("no uri"));
    }
}

//! Sigstore trusted roots (`trusted_root.json`): Fulcio CAs, Rekor keys (v1) and checkpoint keys
//! (v2), CT log keys and TSAs, each with its validity window. Read from files only.
#![allow(clippy::disallowed_methods)] // an edge: file I/O (and clocks for timeouts) live here by design
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};
use sigstore_verify::trust_root::TrustedRoot as SigstoreRoot;
use sigstore_verify::Verifier;

use super::{b64, sha256, MAX_TRUSTED_ROOT_BYTES};
use crate::keys::{KeyAlgorithm, PublicKey};

/// Why a trusted root cannot be used. This is operator input: the gate cannot run (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum TrustedRootError {
    #[error("trusted root {source_name}: cannot read it: {error}")]
    Read {
        source_name: String,
        error: std::io::Error,
    },
    #[error(
        "trusted root {source_name} is {found} bytes, over the {limit}-byte limit; a \
         trusted_root.json is a few KiB: check that the right file was given"
    )]
    TooLarge {
        source_name: String,
        found: u64,
        limit: usize,
    },
    #[error(
        "trusted root {source_name} is not a usable Sigstore trusted_root.json: {detail}; export it \
         again (e.g. `cosign trusted-root create` or the trusted_root.json target of the Sigstore \
         TUF repository) and import that file"
    )]
    Invalid { source_name: String, detail: String },
    #[error("building a trusted root from {what}: {detail}")]
    Parts { what: String, detail: String },
}

/// Most trusted roots one JSON-lines file may hold.
pub const MAX_TRUSTED_ROOTS_PER_FILE: usize = 16;

/// Several trusted roots as one: the certificate authorities, transparency logs, CT logs and
/// timestamp authorities of all of them, each once (the first line's media type).
fn merge_roots(docs: Vec<Value>) -> Result<Value, String> {
    let mut merged = serde_json::Map::new();
    for (i, doc) in docs.into_iter().enumerate() {
        let Value::Object(map) = doc else {
            return Err(format!("line {} is not a JSON object", i + 1));
        };
        for (k, v) in map {
            match (merged.get_mut(&k), v) {
                (Some(Value::Array(into)), Value::Array(items)) => {
                    // The same authority or log in two lines counts once.
                    for item in items {
                        if !into.contains(&item) {
                            into.push(item);
                        }
                    }
                }
                (Some(_), _) => {}
                (None, v) => {
                    merged.insert(k, v);
                }
            }
        }
    }
    Ok(Value::Object(merged))
}

struct Inner {
    verifier: Verifier,
    has_ct_logs: bool,
    has_tlogs: bool,
    fulcio_cas: usize,
    tsas: usize,
}

/// A verified-to-parse trusted root with its verifier ready. Cheap to clone.
///
/// A root is used at one verification time ([`TrustedRoot::at`]): the time the caller passed in
/// (`--at`, default now at the command line). Material whose `validFor` window starts after that
/// time is left out, signed times after it are refused, and no wall clock is read.
#[derive(Clone)]
pub struct TrustedRoot {
    source: String,
    doc: Arc<Value>,
    inner: Arc<Inner>,
    at: Option<i64>,
}

impl fmt::Debug for TrustedRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedRoot")
            .field("source", &self.source)
            .field("fulcio_cas", &self.inner.fulcio_cas)
            .field("tsas", &self.inner.tsas)
            .field("has_tlogs", &self.inner.has_tlogs)
            .field("has_ct_logs", &self.inner.has_ct_logs)
            .finish()
    }
}

impl TrustedRoot {
    /// Reads a `trusted_root.json` file.
    pub fn load(path: &Path) -> Result<TrustedRoot, TrustedRootError> {
        let source_name = path.display().to_string();
        let bytes = crate::limited::read_file_limited(path, MAX_TRUSTED_ROOT_BYTES as u64)
            .map_err(|e| match e {
                crate::limited::LimitedReadError::TooLarge { .. } => TrustedRootError::TooLarge {
                    source_name: source_name.clone(),
                    found: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
                    limit: MAX_TRUSTED_ROOT_BYTES,
                },
                crate::limited::LimitedReadError::Io(error) => TrustedRootError::Read {
                    source_name: source_name.clone(),
                    error,
                },
                crate::limited::LimitedReadError::NotAFile => TrustedRootError::Read {
                    source_name: source_name.clone(),
                    error: std::io::Error::other(
                        "not a regular file (a FIFO, device or directory); expected a \
                         trusted_root.json file",
                    ),
                },
            })?;
        TrustedRoot::from_json(&bytes, &source_name)
    }

    /// Parses `trusted_root.json` bytes, or a JSON-lines file of several trusted roots (one per
    /// line, as `gh attestation trusted-root` writes); `source_name` names them in messages.
    pub fn from_json(bytes: &[u8], source_name: &str) -> Result<TrustedRoot, TrustedRootError> {
        if bytes.len() > MAX_TRUSTED_ROOT_BYTES {
            return Err(TrustedRootError::TooLarge {
                source_name: source_name.to_string(),
                found: bytes.len() as u64,
                limit: MAX_TRUSTED_ROOT_BYTES,
            });
        }
        let invalid = |detail: String| TrustedRootError::Invalid {
            source_name: source_name.to_string(),
            detail,
        };
        let text = std::str::from_utf8(bytes).map_err(|e| invalid(format!("not UTF-8 ({e})")))?;
        // One trusted root, or GitHub's JSON lines (`gh attestation trusted-root`): several
        // roots, one per line, used as one root holding all their authorities and logs.
        let mut docs = Vec::new();
        for doc in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
            let doc = doc.map_err(|e| invalid(format!("not JSON ({e})")))?;
            if docs.len() == MAX_TRUSTED_ROOTS_PER_FILE {
                return Err(invalid(format!(
                    "more than {MAX_TRUSTED_ROOTS_PER_FILE} trusted roots in one JSON-lines file"
                )));
            }
            docs.push(doc);
        }
        let (doc, inner) = match docs.len() {
            0 => return Err(invalid("no JSON document in it".into())),
            1 => {
                let inner = build_inner(text).map_err(invalid)?;
                (docs.remove(0), inner)
            }
            n => {
                let merged = merge_roots(docs).map_err(invalid)?;
                let merged_text = serde_json::to_string(&merged)
                    .map_err(|e| invalid(format!("merging {n} JSON lines: {e}")))?;
                let inner = build_inner(&merged_text)
                    .map_err(|e| invalid(format!("the {n} JSON lines together: {e}")))?;
                (merged, inner)
            }
        };
        Ok(TrustedRoot {
            source: source_name.to_string(),
            doc: Arc::new(doc),
            inner: Arc::new(inner),
            at: None,
        })
    }

    /// This root used at verification time `unix` (seconds): Fulcio CAs, transparency and CT
    /// log keys and TSAs whose `validFor.start` lies after that time are left out (they did not
    /// exist yet), and [`super::verify_bundle`] refuses signed times after it.
    pub fn at(&self, unix: i64) -> Result<TrustedRoot, TrustedRootError> {
        let mut doc = (*self.doc).clone();
        let mut dropped = 0usize;
        for list in [
            "certificateAuthorities",
            "timestampAuthorities",
            "tlogs",
            "ctlogs",
        ] {
            if let Some(items) = doc.get_mut(list).and_then(Value::as_array_mut) {
                let before = items.len();
                items.retain(|item| {
                    let window = item
                        .get("validFor")
                        .or_else(|| item.pointer("/publicKey/validFor"));
                    let start = window
                        .and_then(|w| w.get("start"))
                        .and_then(Value::as_str)
                        .and_then(super::parse_rfc3339);
                    start.is_none_or(|s| s <= unix)
                });
                dropped += before - items.len();
            }
        }
        let inner = if dropped == 0 {
            Arc::clone(&self.inner)
        } else {
            let text = serde_json::to_string(&doc).map_err(|e| TrustedRootError::Invalid {
                source_name: self.source.clone(),
                detail: e.to_string(),
            })?;
            Arc::new(
                build_inner(&text).map_err(|detail| TrustedRootError::Invalid {
                    source_name: self.source.clone(),
                    detail: format!("at the verification time: {detail}"),
                })?,
            )
        };
        Ok(TrustedRoot {
            source: self.source.clone(),
            doc: Arc::new(doc),
            inner,
            at: Some(unix),
        })
    }

    /// The verification time this root is used at (see [`TrustedRoot::at`]).
    pub fn verification_time(&self) -> Option<i64> {
        self.at
    }

    /// A trusted root from plain files: Fulcio (or private) CA certificates in PEM (roots and
    /// intermediates), Rekor public keys, and optionally TSA certificate chains in PEM. Validity
    /// windows are open (from 1970 on), as a bare PEM file carries none.
    pub fn from_parts(
        ca_certificates_pem: &[&[u8]],
        rekor_keys: &[PublicKey],
        tsa_chains_pem: &[&[u8]],
        source_name: &str,
    ) -> Result<TrustedRoot, TrustedRootError> {
        let open = json!({"start": "1970-01-01T00:00:00Z"});
        let mut cas = Vec::new();
        for pem_bytes in ca_certificates_pem {
            for der in pem_certificates(pem_bytes, "CA certificates")? {
                cas.push(json!({
                    "subject": {},
                    "uri": "",
                    "certChain": {"certificates": [{"rawBytes": b64(&der)}]},
                    "validFor": open,
                }));
            }
        }
        let mut tsas = Vec::new();
        for pem_bytes in tsa_chains_pem {
            let chain: Vec<Value> = pem_certificates(pem_bytes, "TSA certificates")?
                .iter()
                .map(|der| json!({"rawBytes": b64(der)}))
                .collect();
            tsas.push(json!({
                "subject": {},
                "certChain": {"certificates": chain},
                "validFor": open,
            }));
        }
        let tlogs: Vec<Value> = rekor_keys
            .iter()
            .map(|k| {
                json!({
                    "baseUrl": "",
                    "hashAlgorithm": "SHA2_256",
                    "publicKey": {
                        "rawBytes": b64(k.spki_der()),
                        "keyDetails": key_details(k.algorithm()),
                        "validFor": open,
                    },
                    "logId": {"keyId": b64(&sha256(k.spki_der()))},
                })
            })
            .collect();
        let doc = json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": tlogs,
            "certificateAuthorities": cas,
            "ctlogs": [],
            "timestampAuthorities": tsas,
        });
        let bytes = serde_json::to_vec(&doc).map_err(|e| TrustedRootError::Parts {
            what: source_name.to_string(),
            detail: e.to_string(),
        })?;
        TrustedRoot::from_json(&bytes, source_name)
    }

    /// Where the root came from (a path, or a description).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the root lists certificate-transparency logs (then SCTs are checked).
    pub fn has_ct_logs(&self) -> bool {
        self.inner.has_ct_logs
    }

    pub(crate) fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }
}

fn build_inner(text: &str) -> Result<Inner, String> {
    let root = SigstoreRoot::from_json(text).map_err(|e| e.to_string())?;
    let verifier = Verifier::new(&root).map_err(|e| e.to_string())?;
    Ok(Inner {
        verifier,
        has_ct_logs: !root.ctlogs.is_empty(),
        has_tlogs: !root.tlogs.is_empty(),
        fulcio_cas: root.certificate_authorities.len(),
        tsas: root.timestamp_authorities.len(),
    })
}

fn key_details(alg: KeyAlgorithm) -> String {
    match alg {
        KeyAlgorithm::EcdsaP256 => "PKIX_ECDSA_P256_SHA_256".into(),
        KeyAlgorithm::EcdsaP384 => "PKIX_ECDSA_P384_SHA_384".into(),
        KeyAlgorithm::Rsa { bits } => format!("PKIX_RSA_PKCS1V15_{bits}_SHA256"),
        KeyAlgorithm::Ed25519 => "PKIX_ED25519".into(),
    }
}

/// The DER certificates of a PEM text (at most [`super::MAX_CHAIN_CERTIFICATES`] * 4).
pub(crate) fn pem_certificates(text: &[u8], what: &str) -> Result<Vec<Vec<u8>>, TrustedRootError> {
    let parts = |detail: String| TrustedRootError::Parts {
        what: what.to_string(),
        detail,
    };
    let blocks = pem::parse_many(text).map_err(|e| {
        parts(format!(
            "expected PEM \"CERTIFICATE\" blocks, the text does not parse ({e})"
        ))
    })?;
    let limit = super::MAX_CHAIN_CERTIFICATES * 4;
    if blocks.len() > limit {
        return Err(parts(format!(
            "{} PEM blocks, over the limit of {limit}",
            blocks.len()
        )));
    }
    let mut out = Vec::new();
    for b in blocks {
        if b.tag() != "CERTIFICATE" {
            return Err(parts(format!(
                "found a PEM {:?} block where only \"CERTIFICATE\" blocks are expected",
                b.tag()
            )));
        }
        out.push(b.into_contents());
    }
    if out.is_empty() {
        return Err(parts(
            "no PEM \"CERTIFICATE\" block found; expected at least one".into(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod json_lines_tests {
    use super::*;

    const PROD: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/vectors/sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json"
    );

    fn line() -> String {
        let v: Value = serde_json::from_slice(&std::fs::read(PROD).unwrap()).unwrap();
        serde_json::to_string(&v).unwrap()
    }

    #[test]
    fn json_lines_with_the_same_root_twice_counts_each_authority_once() {
        let one = TrustedRoot::from_json(line().as_bytes(), "one").unwrap();
        let two =
            TrustedRoot::from_json(format!("{}\n{}\n", line(), line()).as_bytes(), "two").unwrap();
        assert_eq!(one.inner.fulcio_cas, two.inner.fulcio_cas);
        assert_eq!(one.inner.tsas, two.inner.tsas);
    }

    #[test]
    fn json_lines_over_the_limit_or_with_a_non_object_line_are_refused() {
        let many = format!("{}\n", line()).repeat(MAX_TRUSTED_ROOTS_PER_FILE + 1);
        let e = TrustedRoot::from_json(many.as_bytes(), "many").unwrap_err();
        assert!(e.to_string().contains("more than 16 trusted roots"), "{e}");
        let e = TrustedRoot::from_json(format!("{}\n[1]\n", line()).as_bytes(), "odd").unwrap_err();
        assert!(e.to_string().contains("line 2 is not a JSON object"), "{e}");
        let e = TrustedRoot::from_json(b"  \n", "empty").unwrap_err();
        assert!(e.to_string().contains("no JSON document"), "{e}");
    }
}

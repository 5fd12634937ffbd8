//! cosign's legacy signature material (a `.sig` layer: payload blob, base64 signature and the
//! `dev.sigstore.cosign/certificate`, `/chain`, `/bundle`, `/rfc3161timestamp` annotations) as an
//! equivalent Sigstore bundle, so it is verified by the same code as bundles.
//!
//! The mapping: the signature over the payload blob is a `messageSignature` whose digest is
//! SHA-256(payload); the certificate (plus any intermediates of the chain annotation, never a
//! self-signed root) is the `x509CertificateChain`; the Rekor bundle annotation
//! `{SignedEntryTimestamp, Payload{body, integratedTime, logIndex, logID}}` is a transparency-log
//! entry with an inclusion promise (its SET is over the RFC 8785 form of `Payload`, exactly what
//! Sigstore bundles v0.1 carry); the timestamp annotation `{SignedRFC3161Timestamp}` is an RFC
//! 3161 timestamp over the signature.
use serde_json::{json, Value};

use super::root::pem_certificates;
use super::{b64, b64_decode, sha256, unhex, Failure, MAX_ANNOTATION_BYTES};
use crate::finding::Code;
use crate::keys::PublicKey;

pub const ANNOTATION_CERTIFICATE: &str = "dev.sigstore.cosign/certificate";
pub const ANNOTATION_CHAIN: &str = "dev.sigstore.cosign/chain";
pub const ANNOTATION_BUNDLE: &str = "dev.sigstore.cosign/bundle";
pub const ANNOTATION_RFC3161: &str = "dev.sigstore.cosign/rfc3161timestamp";

const MEDIA_V01: &str = "application/vnd.dev.sigstore.bundle+json;version=0.1";
const MEDIA_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// The material of one legacy signature layer.
#[derive(Clone, Copy, Debug, Default)]
pub struct LegacyLayer<'a> {
    /// The layer blob (the simple-signing payload) exactly as stored.
    pub payload: &'a [u8],
    /// `dev.cosignproject.cosign/signature`.
    pub signature_b64: &'a str,
    /// `dev.sigstore.cosign/certificate` (PEM leaf).
    pub certificate_pem: Option<&'a str>,
    /// `dev.sigstore.cosign/chain` (PEM intermediates, maybe the root).
    pub chain_pem: Option<&'a str>,
    /// `dev.sigstore.cosign/bundle` (Rekor SET bundle JSON).
    pub rekor_bundle: Option<&'a str>,
    /// `dev.sigstore.cosign/rfc3161timestamp` (JSON).
    pub rfc3161_timestamp: Option<&'a str>,
}

impl<'a> LegacyLayer<'a> {
    /// The layer's material from its annotations (`get` looks one up by key).
    pub fn from_annotations(
        payload: &'a [u8],
        signature_b64: &'a str,
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> LegacyLayer<'a> {
        LegacyLayer {
            payload,
            signature_b64,
            certificate_pem: get(ANNOTATION_CERTIFICATE),
            chain_pem: get(ANNOTATION_CHAIN),
            rekor_bundle: get(ANNOTATION_BUNDLE),
            rfc3161_timestamp: get(ANNOTATION_RFC3161),
        }
    }

    /// The equivalent Sigstore bundle JSON. `key` is the managed key for key-signed layers
    /// (used only for the bundle's key hint).
    pub fn to_bundle_json(&self, key: Option<&PublicKey>) -> Result<Vec<u8>, Failure> {
        for (name, v) in [
            (ANNOTATION_CERTIFICATE, self.certificate_pem),
            (ANNOTATION_CHAIN, self.chain_pem),
            (ANNOTATION_BUNDLE, self.rekor_bundle),
            (ANNOTATION_RFC3161, self.rfc3161_timestamp),
        ] {
            if v.is_some_and(|v| v.len() > MAX_ANNOTATION_BYTES) {
                return Err(Failure::new(
                    Code::LimitExceeded,
                    format!(
                        "annotation {name} is over the {MAX_ANNOTATION_BYTES}-byte limit; real \
                         values are a few KiB"
                    ),
                ));
            }
        }
        let sig = b64_decode(self.signature_b64).ok_or_else(|| {
            Failure::new(
                Code::SignatureInvalid,
                "the signature annotation is not base64",
            )
        })?;
        let mut material = serde_json::Map::new();
        match (self.certificate_pem, key) {
            (Some(cert), _) => {
                let mut certs = certificates(cert, ANNOTATION_CERTIFICATE)?;
                certs.truncate(1);
                if let Some(chain) = self.chain_pem {
                    for der in certificates(chain, ANNOTATION_CHAIN)? {
                        if !is_self_issued(&der) {
                            certs.push(der);
                        }
                    }
                }
                let list: Vec<Value> = certs.iter().map(|d| json!({"rawBytes": b64(d)})).collect();
                if self.rekor_bundle.is_some() {
                    material.insert(
                        "x509CertificateChain".into(),
                        json!({ "certificates": list }),
                    );
                } else {
                    // v0.3 carries the leaf alone; intermediates must be in the trusted root.
                    let leaf = list.first().cloned().ok_or_else(|| {
                        Failure::new(
                            Code::CertificateInvalid,
                            format!("{ANNOTATION_CERTIFICATE} holds no certificate"),
                        )
                    })?;
                    material.insert("certificate".into(), leaf);
                }
            }
            (None, Some(k)) => {
                material.insert("publicKey".into(), json!({"hint": k.hint()}));
            }
            (None, None) => {
                return Err(Failure::new(
                    Code::SignatureInvalid,
                    format!(
                        "the signature layer has no {ANNOTATION_CERTIFICATE} and no key was given"
                    ),
                ))
            }
        }
        let mut tlog = Vec::new();
        if let Some(rb) = self.rekor_bundle {
            tlog.push(rekor_entry(rb)?);
        }
        material.insert("tlogEntries".into(), Value::Array(tlog));
        let mut timestamps = Vec::new();
        if let Some(ts) = self.rfc3161_timestamp {
            let v: Value = serde_json::from_str(ts).map_err(|e| {
                Failure::new(
                    Code::TimestampInvalid,
                    format!("{ANNOTATION_RFC3161} is not JSON ({e}); expected {{\"SignedRFC3161Timestamp\": \"<base64 DER>\"}}"),
                )
            })?;
            let der = v
                .get("SignedRFC3161Timestamp")
                .and_then(Value::as_str)
                .and_then(b64_decode)
                .ok_or_else(|| {
                    Failure::new(
                        Code::TimestampInvalid,
                        format!("{ANNOTATION_RFC3161} has no base64 SignedRFC3161Timestamp"),
                    )
                })?;
            timestamps.push(json!({"signedTimestamp": b64(&der)}));
        }
        material.insert(
            "timestampVerificationData".into(),
            json!({ "rfc3161Timestamps": timestamps }),
        );
        let media = if self.rekor_bundle.is_some() {
            MEDIA_V01
        } else {
            MEDIA_V03
        };
        let bundle = json!({
            "mediaType": media,
            "verificationMaterial": Value::Object(material),
            "messageSignature": {
                "messageDigest": {"algorithm": "SHA2_256", "digest": b64(&sha256(self.payload))},
                "signature": b64(&sig),
            },
        });
        serde_json::to_vec(&bundle).map_err(|e| {
            Failure::new(
                Code::SignatureInvalid,
                format!("internal: bundle serialisation failed ({e})"),
            )
        })
    }
}

fn certificates(pem_text: &str, what: &str) -> Result<Vec<Vec<u8>>, Failure> {
    pem_certificates(pem_text.as_bytes(), what)
        .map_err(|e| Failure::new(Code::CertificateInvalid, format!("annotation {e}")))
}

fn is_self_issued(der: &[u8]) -> bool {
    use x509_parser::prelude::*;
    X509Certificate::from_der(der).is_ok_and(|(_, c)| c.subject() == c.issuer())
}

/// A transparency-log entry from the Rekor bundle annotation.
fn rekor_entry(text: &str) -> Result<Value, Failure> {
    let bad = |what: &str| {
        Failure::new(
            Code::TlogInvalid,
            format!(
                "{ANNOTATION_BUNDLE}: {what}; expected {{\"SignedEntryTimestamp\": <base64>, \
                 \"Payload\": {{\"body\", \"integratedTime\", \"logIndex\", \"logID\"}}}}"
            ),
        )
    };
    let v: Value = serde_json::from_str(text).map_err(|e| bad(&format!("not JSON ({e})")))?;
    let set = v
        .get("SignedEntryTimestamp")
        .and_then(Value::as_str)
        .and_then(b64_decode)
        .ok_or_else(|| bad("SignedEntryTimestamp is missing or not base64"))?;
    let p = v.get("Payload").ok_or_else(|| bad("Payload is missing"))?;
    let body_b64 = p
        .get("body")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("Payload.body is missing"))?;
    let body = b64_decode(body_b64).ok_or_else(|| bad("Payload.body is not base64"))?;
    let body_v: Value = serde_json::from_slice(&body)
        .map_err(|e| bad(&format!("Payload.body is not JSON ({e})")))?;
    let kind = body_v
        .get("kind")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("the entry body has no kind"))?;
    let version = body_v
        .get("apiVersion")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("the entry body has no apiVersion"))?;
    let integrated = p
        .get("integratedTime")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad("Payload.integratedTime is not an integer"))?;
    let index = p
        .get("logIndex")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad("Payload.logIndex is not an integer"))?;
    if index < 0 || integrated < 0 {
        return Err(bad(
            "Payload.logIndex and integratedTime must not be negative",
        ));
    }
    let log_id = p
        .get("logID")
        .and_then(Value::as_str)
        .and_then(unhex)
        .ok_or_else(|| bad("Payload.logID is not hex"))?;
    Ok(json!({
        "logIndex": index.to_string(),
        "logId": {"keyId": b64(&log_id)},
        "kindVersion": {"kind": kind, "version": version},
        "integratedTime": integrated.to_string(),
        "inclusionPromise": {"signedEntryTimestamp": b64(&set)},
        "canonicalizedBody": b64(&body),
    }))
}

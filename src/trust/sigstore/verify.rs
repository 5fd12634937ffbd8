//! One Sigstore bundle against one signer and one trusted root.
use serde_json::Value;
use sigstore_verify::types::{Bundle, DerPublicKey, Sha256Hash};
use sigstore_verify::{
    CertificateError, Error as SvError, PublicKeyVerificationPolicy, TimestampError,
    VerificationPolicy,
};

use super::identity::IdentityPolicy;
use super::root::TrustedRoot;
use super::{
    b64_decode, hex, sha256, Failure, MAX_BUNDLE_BYTES, MAX_CHAIN_CERTIFICATES, MAX_TIMESTAMPS,
    MAX_TLOG_ENTRIES,
};
use crate::report::Code;
use crate::trust::keys::PublicKey;

/// The in-toto payload type, the only DSSE payload type a bundle may carry here.
const INTOTO: &str = "application/vnd.in-toto+json";

/// What was signed: the artifact bytes, or only its SHA-256 (an image manifest digest).
#[derive(Clone, Copy, Debug)]
pub enum Artifact<'a> {
    Bytes(&'a [u8]),
    Sha256([u8; 32]),
}

impl Artifact<'_> {
    fn sha256(&self) -> [u8; 32] {
        match self {
            Artifact::Bytes(b) => sha256(b),
            Artifact::Sha256(d) => *d,
        }
    }
}

/// Who must have signed.
#[derive(Clone, Copy, Debug)]
pub enum Signer<'a> {
    /// A Fulcio certificate with this identity, chaining to the trusted root. `require_sct`:
    /// check the certificate's embedded SCT against the root's CT logs (a root without CT logs,
    /// or `false` for certificates from before Fulcio embedded SCTs, skips it).
    Keyless {
        identity: &'a IdentityPolicy,
        require_sct: bool,
    },
    /// A managed key (the bundle has `publicKey.hint`). Its log entries are still verified
    /// against the trusted root.
    Key(&'a PublicKey),
}

/// What the bundle signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// A signature over the artifact bytes.
    MessageSignature,
    /// A DSSE envelope: its exact payload bytes (an in-toto statement).
    Dsse {
        payload_type: String,
        payload: Vec<u8>,
    },
}

/// A bundle that verified.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The certificate's SAN identity (keyless).
    pub identity: Option<String>,
    /// The certificate's OIDC issuer (keyless).
    pub issuer: Option<String>,
    /// Authenticated signing times (Unix seconds): Rekor integrated times and TSA times.
    pub signed_times: Vec<i64>,
    pub content: Content,
}

/// Verify `bundle_json` for `artifact`, signed by `signer`, against `root`. Never touches the
/// network. The failure's code is the finding to report; for an attestation the caller maps the
/// signature codes to the attestation ones.
pub fn verify_bundle(
    bundle_json: &[u8],
    artifact: Artifact<'_>,
    signer: Signer<'_>,
    root: &TrustedRoot,
) -> Result<Verified, Failure> {
    if bundle_json.len() > MAX_BUNDLE_BYTES {
        return Err(Failure::new(
            Code::LimitExceeded,
            format!(
                "the Sigstore bundle is {} bytes, over the {MAX_BUNDLE_BYTES}-byte limit",
                bundle_json.len()
            ),
        ));
    }
    let text = std::str::from_utf8(bundle_json).map_err(|e| {
        Failure::new(
            Code::SignatureInvalid,
            format!("the Sigstore bundle is not UTF-8 JSON ({e})"),
        )
    })?;
    let value: Value = serde_json::from_str(text).map_err(|e| {
        Failure::new(
            Code::SignatureInvalid,
            format!("the Sigstore bundle is not valid JSON ({e}); it is truncated or corrupted"),
        )
    })?;
    let content = precheck(&value, &artifact, &signer)?;
    let bundle = Bundle::from_json(text).map_err(|e| {
        Failure::new(
            Code::SignatureInvalid,
            format!(
                "the Sigstore bundle does not parse ({e}); expected a bundle of media type \
                 application/vnd.dev.sigstore.bundle(.v0.3)+json, version 0.1 to 0.3"
            ),
        )
    })?;
    let digest_hex = hex(&artifact.sha256());
    let verifier = root.verifier();
    let result = match signer {
        Signer::Keyless {
            require_sct,
            identity: _,
        } => {
            let mut policy = VerificationPolicy::any_identity();
            if !require_sct || !root.has_ct_logs() {
                policy = policy.skip_sct();
            }
            match artifact {
                Artifact::Bytes(b) => verifier.verify(b, &bundle, &policy),
                Artifact::Sha256(_) => verifier.verify(sha256_hash(&digest_hex)?, &bundle, &policy),
            }
        }
        Signer::Key(key) => {
            let policy =
                PublicKeyVerificationPolicy::new(DerPublicKey::new(key.spki_der().to_vec()));
            match artifact {
                Artifact::Bytes(b) => verifier.verify(b, &bundle, &policy),
                Artifact::Sha256(_) => verifier.verify(sha256_hash(&digest_hex)?, &bundle, &policy),
            }
        }
    }
    .map_err(|e| map_error(e, root))?;
    let identity = result.identity().map(|i| i.as_str().to_string());
    let issuer = result.issuer().map(str::to_string);
    if let Signer::Keyless { identity: want, .. } = signer {
        want.check(identity.as_deref(), issuer.as_deref())?;
    }
    Ok(Verified {
        identity,
        issuer,
        signed_times: result
            .verified_timestamps()
            .iter()
            .map(|t| t.as_second())
            .collect(),
        content,
    })
}

fn sha256_hash(hex_digest: &str) -> Result<Sha256Hash, Failure> {
    Sha256Hash::from_hex(hex_digest).map_err(|e| {
        Failure::new(
            Code::SignatureInvalid,
            format!("internal: digest {hex_digest} not accepted ({e})"),
        )
    })
}

/// Checks made before the cryptography, so the common mistakes get precise findings: material
/// of the wrong kind, an empty chain or one that carries a root, a digest or subject that names
/// another artifact, counts over the limits.
fn precheck(v: &Value, artifact: &Artifact<'_>, signer: &Signer<'_>) -> Result<Content, Failure> {
    let material = v.get("verificationMaterial").ok_or_else(|| {
        Failure::new(
            Code::SignatureInvalid,
            "the Sigstore bundle has no verificationMaterial; expected a certificate, a \
             certificate chain or a public-key hint",
        )
    })?;
    for (field, limit) in [
        ("tlogEntries", MAX_TLOG_ENTRIES),
        (
            "timestampVerificationData/rfc3161Timestamps",
            MAX_TIMESTAMPS,
        ),
        ("x509CertificateChain/certificates", MAX_CHAIN_CERTIFICATES),
    ] {
        let n = material
            .pointer(&format!("/{field}"))
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if n > limit {
            return Err(Failure::new(
                Code::LimitExceeded,
                format!("the Sigstore bundle has {n} {field}, over the limit of {limit}"),
            ));
        }
    }
    for e in material
        .get("tlogEntries")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let kind = e.pointer("/kindVersion/kind").and_then(Value::as_str);
        let version = e.pointer("/kindVersion/version").and_then(Value::as_str);
        let known = matches!(
            (kind, version),
            (Some("hashedrekord"), Some("0.0.1" | "0.0.2"))
                | (Some("dsse"), Some("0.0.1"))
                | (Some("intoto"), Some("0.0.2"))
        );
        if !known {
            return Err(Failure::new(
                Code::TlogInvalid,
                format!(
                    "the transparency-log entry is of kind {}/{}, which airlock cannot verify \
                     (supported: hashedrekord 0.0.1/0.0.2, dsse 0.0.1, intoto 0.0.2; `rekord` \
                     entries come from cosign releases of 2021); re-sign with a current cosign",
                    kind.unwrap_or("?"),
                    version.unwrap_or("?")
                ),
            ));
        }
    }
    let has_key = material.get("publicKey").is_some();
    match (signer, has_key) {
        (Signer::Keyless { identity, .. }, true) => {
            return Err(Failure::new(
                Code::SignatureUntrusted,
                format!(
                    "the bundle is signed with a managed key (publicKey hint), but a keyless \
                     signature ({identity}) is required; verify it with that key (--key) if the \
                     key is trusted"
                ),
            ))
        }
        (Signer::Key(k), false) => {
            return Err(Failure::new(
                Code::SignatureUntrusted,
                format!(
                    "the bundle carries a certificate (keyless), but a signature by key {} is \
                     required; verify it with a certificate identity instead",
                    k.key_id()
                ),
            ))
        }
        _ => {}
    }
    if let Some(chain) = material.get("x509CertificateChain") {
        let certs = chain
            .get("certificates")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if certs.is_empty() {
            return Err(Failure::new(
                Code::CertificateInvalid,
                "the bundle's x509CertificateChain is empty; expected the signing certificate \
                 first",
            ));
        }
        for (i, c) in certs.iter().enumerate().skip(1) {
            let der = c
                .get("rawBytes")
                .and_then(Value::as_str)
                .and_then(b64_decode)
                .unwrap_or_default();
            if is_self_signed(&der) {
                return Err(Failure::new(
                    Code::CertificateInvalid,
                    format!(
                        "certificate {i} of the bundle's chain is a self-signed root; a bundle \
                         must not carry the root, which comes only from the trusted root"
                    ),
                ));
            }
        }
    }
    let want = artifact.sha256();
    if let Some(ms) = v.get("messageSignature") {
        if let Some(d) = ms.pointer("/messageDigest/digest").and_then(Value::as_str) {
            let alg = ms
                .pointer("/messageDigest/algorithm")
                .and_then(Value::as_str)
                .unwrap_or("SHA2_256");
            if alg == "SHA2_256" && b64_decode(d).as_deref() != Some(&want[..]) {
                return Err(Failure::new(
                    Code::SignatureDigestMismatch,
                    format!(
                        "the bundle signs an artifact with sha256 {}, not the given artifact \
                         (sha256:{}): it is a signature of something else",
                        b64_decode(d).map_or_else(|| "(undecodable)".into(), |b| hex(&b)),
                        hex(&want)
                    ),
                ));
            }
        }
        return Ok(Content::MessageSignature);
    }
    let env = v.get("dsseEnvelope").ok_or_else(|| {
        Failure::new(
            Code::SignatureInvalid,
            "the bundle has neither messageSignature nor dsseEnvelope",
        )
    })?;
    let payload_type = env
        .get("payloadType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if payload_type != INTOTO {
        return Err(Failure::new(
            Code::SignatureInvalid,
            format!("the bundle's DSSE payloadType is {payload_type:?}, expected {INTOTO:?}"),
        ));
    }
    let payload = env
        .get("payload")
        .and_then(Value::as_str)
        .and_then(b64_decode)
        .ok_or_else(|| {
            Failure::new(
                Code::SignatureInvalid,
                "the bundle's DSSE payload is missing or not base64",
            )
        })?;
    let statement: Value = serde_json::from_slice(&payload).map_err(|e| {
        Failure::new(
            Code::SignatureInvalid,
            format!("the bundle's DSSE payload is not an in-toto statement (JSON: {e})"),
        )
    })?;
    let want_hex = hex(&want);
    let subjects = statement
        .get("subject")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let named: Vec<String> = subjects
        .iter()
        .filter_map(|s| s.pointer("/digest/sha256").and_then(Value::as_str))
        .map(str::to_ascii_lowercase)
        .collect();
    if !named.contains(&want_hex) {
        return Err(Failure::new(
            Code::SignatureDigestMismatch,
            format!(
                "the bundle's statement names subjects [{}], not sha256:{want_hex}",
                named
                    .iter()
                    .map(|h| format!("sha256:{h}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok(Content::Dsse {
        payload_type,
        payload,
    })
}

fn is_self_signed(der: &[u8]) -> bool {
    use x509_parser::prelude::*;
    match X509Certificate::from_der(der) {
        Ok((_, c)) => c.subject() == c.issuer() && c.verify_signature(None).is_ok(),
        Err(_) => false,
    }
}

/// The finding for a verification error.
fn map_error(e: SvError, root: &TrustedRoot) -> Failure {
    let src = root.source();
    match &e {
        SvError::IdentityMismatch { .. } | SvError::IssuerMismatch { .. } => {
            Failure::new(Code::CertificateIdentityMismatch, e.to_string())
        }
        SvError::SignatureInvalid(d) => Failure::new(
            Code::SignatureInvalid,
            format!(
                "the signature does not verify with the signing certificate or key ({d}): the \
                 content or the signature was altered"
            ),
        ),
        // The digest/subject binding was checked first, so a mismatch found later is between the
        // bundle and its transparency-log entry.
        SvError::ArtifactMismatch(d) => Failure::new(
            Code::TlogInvalid,
            format!(
                "the transparency-log entry does not match the signed artifact ({d}): the logged \
                 entry is for something else"
            ),
        ),
        SvError::Certificate(c) => {
            let hint = match c {
                CertificateError::Expired { .. } | CertificateError::NotYetValid { .. } => {
                    "the certificate was not valid at the signed time (Rekor integrated time or \
                     TSA time)"
                }
                CertificateError::NoValidAuthority { .. } => {
                    "no certificate authority of the trusted root was valid at the signed time"
                }
                CertificateError::Sct(_) => {
                    "the certificate's embedded SCT does not verify against the trusted root's \
                     CT logs"
                }
                _ => {
                    "the certificate does not chain to a Fulcio CA of the trusted root, or is \
                      valid only outside the signed time"
                }
            };
            Failure::new(
                Code::CertificateInvalid,
                format!("{hint}: {e} (trusted root {src})"),
            )
        }
        SvError::TransparencyLog(_) => Failure::new(
            Code::TlogInvalid,
            format!("the transparency-log evidence does not verify: {e} (trusted root {src})"),
        ),
        SvError::Timestamp(t) => {
            let what = match t {
                TimestampError::OutsideAuthorityValidity { .. } => {
                    "the RFC 3161 timestamp lies outside the validity window of its TSA"
                }
                TimestampError::NoVerifiedTimestamp(_) => {
                    "no verified signing time: the bundle needs a Rekor SET or an RFC 3161 \
                     timestamp from a TSA of the trusted root"
                }
                _ => "the RFC 3161 timestamp does not verify against a TSA of the trusted root",
            };
            Failure::new(
                Code::TimestampInvalid,
                format!("{what}: {e} (trusted root {src})"),
            )
        }
        SvError::Bundle(b) => {
            use sigstore_verify::bundle::Error as B;
            let code = match b {
                B::MissingInclusionPromise(_)
                | B::MissingInclusionProof(_)
                | B::MissingCheckpoint
                | B::LogIndexOutOfRange { .. }
                | B::CheckpointRootMismatch => Code::TlogInvalid,
                B::MissingTimestamp | B::MissingSigningTimeEvidence => Code::TimestampInvalid,
                _ => Code::SignatureInvalid,
            };
            Failure::new(code, format!("the bundle is not valid: {e}"))
        }
        SvError::InvalidTrustRoot(_) | SvError::TrustRoot(_) | SvError::TrustedCertificate(_) => {
            Failure::new(
                Code::CertificateInvalid,
                format!("trusted root {src} cannot verify this bundle: {e}"),
            )
        }
        _ => Failure::new(
            Code::SignatureInvalid,
            format!("the bundle does not verify: {e}"),
        ),
    }
}

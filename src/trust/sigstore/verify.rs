//! One Sigstore bundle against one signer and one trusted root.
use serde_json::Value;
use sigstore_verify::types::{
    Artifact as SvArtifact, ArtifactDigest, Bundle, DerPublicKey, HashAlgorithm, Sha256Hash,
};
use sigstore_verify::{
    CertificateError, Error as SvError, PublicKeyVerificationPolicy, TimestampError,
    VerificationPolicy,
};

use super::identity::IdentityPolicy;
use super::root::TrustedRoot;
use super::{
    b64_decode, hex, sha256, sha512, Failure, MAX_BUNDLE_BYTES, MAX_CHAIN_CERTIFICATES,
    MAX_CLOCK_SKEW_SECS, MAX_TIMESTAMPS, MAX_TLOG_ENTRIES,
};
use crate::finding::Code;
use crate::keys::PublicKey;

/// The in-toto payload type, the only DSSE payload type a bundle may carry here.
const INTOTO: &str = "application/vnd.in-toto+json";

/// Fulcio's "username" identity: an otherName SAN of this type (a UTF8String).
const OID_FULCIO_USERNAME: &str = "1.3.6.1.4.1.57264.1.7";

/// What was signed: the artifact bytes, or only its SHA-256 (an image manifest digest) or
/// SHA-512 (an npm package's `integrity`).
#[derive(Clone, Copy, Debug)]
pub enum Artifact<'a> {
    Bytes(&'a [u8]),
    Sha256([u8; 32]),
    Sha512([u8; 64]),
}

/// The digests known for an artifact: both when the bytes are at hand, else the one given.
struct Digests {
    sha256: Option<[u8; 32]>,
    sha512: Option<[u8; 64]>,
}

impl Digests {
    fn of(artifact: &Artifact<'_>) -> Digests {
        match artifact {
            Artifact::Bytes(b) => Digests {
                sha256: Some(sha256(b)),
                sha512: Some(sha512(b)),
            },
            Artifact::Sha256(d) => Digests {
                sha256: Some(*d),
                sha512: None,
            },
            Artifact::Sha512(d) => Digests {
                sha256: None,
                sha512: Some(*d),
            },
        }
    }

    /// By in-toto / Sigstore algorithm name (`sha256`, `sha512`, `SHA2_256`, `SHA2_512`).
    fn get(&self, algorithm: &str) -> Option<Vec<u8>> {
        match algorithm {
            "sha256" | "SHA2_256" => self.sha256.map(|d| d.to_vec()),
            "sha512" | "SHA2_512" => self.sha512.map(|d| d.to_vec()),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(d) = self.sha256 {
            parts.push(format!("sha256:{}", hex(&d)));
        }
        if let Some(d) = self.sha512 {
            parts.push(format!("sha512:{}", hex(&d)));
        }
        parts.join(" / ")
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
    /// The certificate's SAN identity that matched the policy (keyless): an email, a URI or a
    /// Fulcio username (otherName).
    pub identity: Option<String>,
    /// The certificate's OIDC issuer (keyless).
    pub issuer: Option<String>,
    /// Authenticated signing times (Unix seconds): Rekor integrated times and TSA times.
    pub signed_times: Vec<i64>,
    pub content: Content,
    /// Things that did not stop verification but the report should show (for example an RFC
    /// 3161 timestamp that did not verify and was ignored).
    pub warnings: Vec<String>,
}

/// Verify `bundle_json` for `artifact`, signed by `signer`, against `root` at the root's
/// verification time ([`TrustedRoot::at`]). Never touches the network and reads no clock. The
/// failure's code is the finding to report; for an attestation the caller maps the signature
/// codes to the attestation ones.
pub fn verify_bundle(
    bundle_json: &[u8],
    artifact: Artifact<'_>,
    signer: Signer<'_>,
    root: &TrustedRoot,
) -> Result<Verified, Failure> {
    let Some(at) = root.verification_time() else {
        return Err(Failure::new(
            Code::CertificateInvalid,
            format!(
                "trusted root {} has no verification time; the caller must pass one \
                 (TrustedRoot::at) so that no clock is read during verification",
                root.source()
            ),
        ));
    };
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
    let digests = Digests::of(&artifact);
    let content = precheck(&value, &digests, &signer)?;
    let timestamps = value
        .pointer("/verificationMaterial/timestampVerificationData/rfc3161Timestamps")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut warnings = Vec::new();
    let result = match crypto_verify(text, &value, None, &artifact, &signer, root) {
        Ok(r) => r,
        // A timestamp that does not verify is ignored (with a warning) as long as a verified
        // time source remains, as sigstore-go and sigstore-python count verified timestamps
        // against their threshold of one.
        Err(SvError::Timestamp(first)) if !timestamps.is_empty() => {
            let mut good = Vec::new();
            for (i, _) in timestamps.iter().enumerate() {
                if crypto_verify(text, &value, Some(&[i]), &artifact, &signer, root).is_ok() {
                    good.push(i);
                }
            }
            let retried = crypto_verify(text, &value, Some(&good), &artifact, &signer, root);
            match retried {
                Ok(r) => {
                    for (i, _) in timestamps.iter().enumerate() {
                        if !good.contains(&i) {
                            warnings.push(format!(
                                "RFC 3161 timestamp {} of {} does not verify against a TSA of \
                                 trusted root {} and was ignored; the signing time comes from \
                                 the {} that verified",
                                i + 1,
                                timestamps.len(),
                                root.source(),
                                if good.is_empty() {
                                    "transparency-log entry".to_string()
                                } else {
                                    format!("{} timestamp(s)", good.len())
                                }
                            ));
                        }
                    }
                    r
                }
                Err(_) => return Err(map_error(SvError::Timestamp(first), root)),
            }
        }
        Err(e) => return Err(map_error(e, root)),
    };
    let signed_times: Vec<i64> = result
        .verified_timestamps()
        .iter()
        .map(|t| t.as_second())
        .collect();
    // One clock: the verification time the caller passed in. A signature cannot have been
    // logged or timestamped after the moment it is judged at.
    if let Some(late) = signed_times
        .iter()
        .copied()
        .find(|t| *t > at.saturating_add(MAX_CLOCK_SKEW_SECS))
    {
        return Err(Failure::new(
            Code::TimestampInvalid,
            format!(
                "the bundle's verified signing time {} lies after the verification time {}: \
                 at that time this signature did not exist yet; verify at a later time (--at) \
                 if that is what you mean",
                super::format_unix(late),
                super::format_unix(at)
            ),
        ));
    }
    let (identity, issuer) = match signer {
        Signer::Keyless { identity: want, .. } => {
            let issuer = result.issuer().map(str::to_string);
            let candidates = san_identities(&value);
            let candidates = if candidates.is_empty() {
                result
                    .identity()
                    .map(|i| vec![i.as_str().to_string()])
                    .unwrap_or_default()
            } else {
                candidates
            };
            let matched = want.check(&candidates, issuer.as_deref())?;
            (matched, issuer)
        }
        Signer::Key(_) => (None, None),
    };
    Ok(Verified {
        identity,
        issuer,
        signed_times,
        content,
        warnings,
    })
}

/// The cryptographic verification by `sigstore-verify`, optionally with only the RFC 3161
/// timestamps at `keep` (indexes into the bundle's list).
fn crypto_verify(
    text: &str,
    value: &Value,
    keep: Option<&[usize]>,
    artifact: &Artifact<'_>,
    signer: &Signer<'_>,
    root: &TrustedRoot,
) -> Result<sigstore_verify::VerificationResult, SvError> {
    let text = match keep {
        None => text.to_string(),
        Some(keep) => {
            let mut v = value.clone();
            if let Some(list) = v
                .pointer_mut("/verificationMaterial/timestampVerificationData/rfc3161Timestamps")
                .and_then(Value::as_array_mut)
            {
                let kept: Vec<Value> = list
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| keep.contains(i))
                    .map(|(_, t)| t.clone())
                    .collect();
                *list = kept;
            }
            v.to_string()
        }
    };
    let bundle = Bundle::from_json(&text).map_err(|e| {
        SvError::UnsupportedBundle(format!(
            "the Sigstore bundle does not parse ({e}); expected a bundle of media type \
             application/vnd.dev.sigstore.bundle(.v0.3)+json, version 0.1 to 0.3"
        ))
    })?;
    let sv_artifact: SvArtifact<'_> = match artifact {
        Artifact::Bytes(b) => SvArtifact::Blob(b),
        Artifact::Sha256(d) => SvArtifact::Digest(ArtifactDigest::sha256(
            Sha256Hash::from_hex(&hex(d))
                .map_err(|e| SvError::UnsupportedArtifact(e.to_string()))?,
        )),
        Artifact::Sha512(d) => SvArtifact::Digest(
            ArtifactDigest::new(HashAlgorithm::Sha2512, d.to_vec())
                .map_err(|e| SvError::UnsupportedArtifact(e.to_string()))?,
        ),
    };
    let verifier = root.verifier();
    match signer {
        Signer::Keyless { require_sct, .. } => {
            let mut policy = VerificationPolicy::any_identity();
            if !require_sct || !root.has_ct_logs() {
                policy = policy.skip_sct();
            }
            verifier.verify(sv_artifact, &bundle, &policy)
        }
        Signer::Key(key) => {
            let policy =
                PublicKeyVerificationPolicy::new(DerPublicKey::new(key.spki_der().to_vec()));
            verifier.verify(sv_artifact, &bundle, &policy)
        }
    }
}

/// The identities in the signing certificate's SAN: emails, URIs and Fulcio usernames (the
/// otherName of type 1.3.6.1.4.1.57264.1.7), in certificate order.
fn san_identities(bundle: &Value) -> Vec<String> {
    use x509_parser::der_parser::asn1_rs::{Any, FromDer};
    use x509_parser::prelude::*;
    let material = bundle.get("verificationMaterial");
    let leaf = material
        .and_then(|m| {
            m.pointer("/certificate/rawBytes")
                .or_else(|| m.pointer("/x509CertificateChain/certificates/0/rawBytes"))
        })
        .and_then(Value::as_str)
        .and_then(b64_decode);
    let Some(der) = leaf else {
        return Vec::new();
    };
    let Ok((_, cert)) = X509Certificate::from_der(&der) else {
        return Vec::new();
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in &san.value.general_names {
        match name {
            GeneralName::RFC822Name(e) => out.push((*e).to_string()),
            GeneralName::URI(u) => out.push((*u).to_string()),
            GeneralName::OtherName(oid, value) if oid.to_id_string() == OID_FULCIO_USERNAME => {
                // value: [0] EXPLICIT UTF8String
                let inner = Any::from_der(value)
                    .ok()
                    .and_then(|(_, tagged)| Any::from_der(tagged.data).ok())
                    .and_then(|(_, s)| std::str::from_utf8(s.data).ok().map(str::to_string));
                if let Some(u) = inner {
                    out.push(u);
                }
            }
            _ => {}
        }
    }
    out
}

/// Checks made before the cryptography, so the common mistakes get precise findings: material
/// of the wrong kind, an empty chain or one that carries a root, a digest or subject that names
/// another artifact, counts over the limits.
fn precheck(v: &Value, digests: &Digests, signer: &Signer<'_>) -> Result<Content, Failure> {
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
            // Too many timestamps is a timestamp problem (sigstore-python refuses them too).
            let code = if field.ends_with("rfc3161Timestamps") {
                Code::TimestampInvalid
            } else {
                Code::LimitExceeded
            };
            return Err(Failure::new(
                code,
                format!("the Sigstore bundle has {n} {field}, over the limit of {limit}"),
            ));
        }
    }
    let stamps: Vec<&str> = material
        .pointer("/timestampVerificationData/rfc3161Timestamps")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|t| t.get("signedTimestamp").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    for (i, t) in stamps.iter().enumerate() {
        if let Some(j) = stamps[..i].iter().position(|u| u == t) {
            return Err(Failure::new(
                Code::TimestampInvalid,
                format!(
                    "RFC 3161 timestamps {} and {} of the bundle are identical; a timestamp \
                     counts once, so a bundle that repeats one is refused (as sigstore-python \
                     does)",
                    j + 1,
                    i + 1
                ),
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
    if let Some(ms) = v.get("messageSignature") {
        if let Some(d) = ms.pointer("/messageDigest/digest").and_then(Value::as_str) {
            let alg = ms
                .pointer("/messageDigest/algorithm")
                .and_then(Value::as_str)
                .unwrap_or("SHA2_256");
            let signed = b64_decode(d);
            match digests.get(alg) {
                Some(want) if signed.as_deref() != Some(&want[..]) => {
                    return Err(Failure::new(
                        Code::SignatureDigestMismatch,
                        format!(
                            "the bundle signs an artifact with {alg} {}, not the given artifact \
                             ({}): it is a signature of something else",
                            signed.map_or_else(|| "(undecodable)".into(), |b| hex(&b)),
                            digests.describe()
                        ),
                    ));
                }
                Some(_) => {}
                None if alg == "SHA2_256" || alg == "SHA2_512" => {
                    return Err(Failure::new(
                        Code::SignatureDigestMismatch,
                        format!(
                            "the bundle signs the artifact's {alg} digest, but only {} was given; \
                             give the artifact file, or its digest in that algorithm",
                            digests.describe()
                        ),
                    ));
                }
                None => {}
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
    let subjects = statement
        .get("subject")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // A subject matches when an algorithm both sides have gives the same digest; a name alone
    // never matches.
    let mut named = Vec::new();
    let mut matched = false;
    for s in &subjects {
        let Some(map) = s.get("digest").and_then(Value::as_object) else {
            continue;
        };
        for (alg, val) in map {
            let Some(val) = val.as_str() else { continue };
            let val = val.to_ascii_lowercase();
            named.push(format!("{alg}:{val}"));
            if digests.get(alg).is_some_and(|d| hex(&d) == val) {
                matched = true;
            }
        }
    }
    if !matched {
        return Err(Failure::new(
            Code::SignatureDigestMismatch,
            format!(
                "the bundle's statement names subjects [{}], none of which is the given artifact \
                 ({}) by an algorithm both have",
                named.join(", "),
                digests.describe()
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
        SvError::UnsupportedArtifact(d) => Failure::new(
            Code::SignatureDigestMismatch,
            format!("the given artifact cannot be checked against this bundle: {d}"),
        ),
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

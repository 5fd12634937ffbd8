//! DSSE (Dead Simple Signing Envelope) v1: the pre-authentication encoding, a strict envelope
//! parser and signature verification over the exact decoded payload bytes.
//!
//! Envelope JSON: `{"payload":"<b64>","payloadType":"…","signatures":[{"keyid":"…","sig":"<b64>"}]}`.
//! Verifiers must accept standard and URL-safe base64, padded or not; both are accepted here for
//! `payload` and `sig`. A string mixing both alphabets is rejected.
//!
//! Decision on an empty `signatures` list: [`Envelope::parse`] accepts it (so `inspect` and the
//! report can still show what an unsigned envelope claims to be), and [`Envelope::verify`] then
//! fails with [`DsseError::NoSignatures`]. Nothing past `verify` should ever see such an envelope.
//!
//! `keyid` is an unauthenticated hint: verification tries every signature with the given key and
//! never uses `keyid` to skip one. An empty `keyid` (cosign writes `"keyid":""`) is kept as `None`.
//!
//! Limits (each has its own error variant): [`MAX_ENVELOPE_BYTES`], [`MAX_JSON_DEPTH`],
//! [`MAX_SIGNATURES`], [`MAX_PAYLOAD_TYPE_BYTES`], [`MAX_KEYID_BYTES`], [`MAX_SIG_B64_BYTES`].
use std::fmt;

use base64::alphabet;
use base64::engine::general_purpose::GeneralPurpose;
use base64::engine::{DecodePaddingMode, GeneralPurposeConfig};
use base64::Engine as _;
use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::keys::PublicKey;

/// `payloadType` of an in-toto Statement inside DSSE.
pub const INTOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// Largest envelope accepted, in bytes (checked before parsing).
pub const MAX_ENVELOPE_BYTES: usize = 16 * 1024 * 1024;
/// JSON nesting limit for every document parsed under `verify`: a document whose arrays/objects
/// nest `MAX_JSON_DEPTH` levels deep is refused (at most 127 levels pass), the same bound as
/// serde_json's own recursion limit, but checked first and reported as a named limit.
pub const MAX_JSON_DEPTH: usize = 128;
/// Most signatures one envelope may carry.
pub const MAX_SIGNATURES: usize = 64;
/// Longest `payloadType`, in bytes.
pub const MAX_PAYLOAD_TYPE_BYTES: usize = 256;
/// Longest `keyid`, in bytes.
pub const MAX_KEYID_BYTES: usize = 1024;
/// Longest base64 text of one `sig` (RSA-4096 is 684 characters; this leaves room for anything sane).
pub const MAX_SIG_B64_BYTES: usize = 16 * 1024;

/// Why an envelope does not parse or does not verify.
#[derive(Debug, thiserror::Error)]
pub enum DsseError {
    #[error("DSSE envelope is {found} bytes, larger than the limit of {limit} bytes")]
    TooLarge { limit: usize, found: usize },
    #[error("DSSE envelope JSON nests too deeply (limit: fewer than {limit} levels)")]
    TooDeep { limit: usize },
    #[error("DSSE envelope: expected a JSON object {{payload, payloadType, signatures}}: {0}")]
    Json(String),
    #[error("DSSE envelope has {found} signatures, more than the limit of {limit}")]
    TooManySignatures { limit: usize, found: usize },
    #[error("DSSE envelope: payloadType is empty (expected a media type such as {INTOTO_PAYLOAD_TYPE:?})")]
    EmptyPayloadType,
    #[error("DSSE envelope: payloadType is {found} bytes, longer than the limit of {limit}")]
    PayloadTypeTooLong { limit: usize, found: usize },
    #[error("DSSE envelope: signatures[{index}].keyid is {found} bytes, longer than the limit of {limit}")]
    KeyidTooLong {
        index: usize,
        limit: usize,
        found: usize,
    },
    #[error("DSSE envelope: signatures[{index}].sig is {found} base64 characters, longer than the limit of {limit}")]
    SignatureTooLong {
        index: usize,
        limit: usize,
        found: usize,
    },
    #[error("DSSE envelope: {field} is not valid base64 (standard or URL-safe): {reason}")]
    Base64 { field: String, reason: String },
    #[error("DSSE envelope has no signatures (expected at least one)")]
    NoSignatures,
    #[error(
        "none of the {tried} DSSE signatures verifies with key {key} (last error: {last_error})"
    )]
    NoValidSignature {
        tried: usize,
        key: String,
        last_error: String,
    },
}

/// One signature of an envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeSignature {
    /// Unauthenticated key hint; `None` when absent or empty.
    pub keyid: Option<String>,
    /// Raw signature bytes (base64-decoded).
    pub sig: Vec<u8>,
}

/// A parsed DSSE envelope. `payload` holds the exact decoded bytes that were signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub payload_type: String,
    pub payload: Vec<u8>,
    pub signatures: Vec<EnvelopeSignature>,
}

/// DSSE v1 pre-authentication encoding:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII decimal.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let type_len = payload_type.len().to_string();
    let body_len = payload.len().to_string();
    let mut out = Vec::with_capacity(
        6 + 1 + type_len.len() + 1 + payload_type.len() + 1 + body_len.len() + 1 + payload.len(),
    );
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(type_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(body_len.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

impl Envelope {
    /// Parse an envelope strictly: size and depth limits first, then JSON shape, then base64.
    pub fn parse(bytes: &[u8]) -> Result<Envelope, DsseError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(DsseError::TooLarge {
                limit: MAX_ENVELOPE_BYTES,
                found: bytes.len(),
            });
        }
        if json_too_deep(bytes) {
            return Err(DsseError::TooDeep {
                limit: MAX_JSON_DEPTH,
            });
        }
        let Obj(raw): Obj<RawEnvelope> =
            serde_json::from_slice(bytes).map_err(|e| DsseError::Json(e.to_string()))?;
        if raw.signatures.total > MAX_SIGNATURES {
            return Err(DsseError::TooManySignatures {
                limit: MAX_SIGNATURES,
                found: raw.signatures.total,
            });
        }
        if raw.payload_type.is_empty() {
            return Err(DsseError::EmptyPayloadType);
        }
        if raw.payload_type.len() > MAX_PAYLOAD_TYPE_BYTES {
            return Err(DsseError::PayloadTypeTooLong {
                limit: MAX_PAYLOAD_TYPE_BYTES,
                found: raw.payload_type.len(),
            });
        }
        let payload = decode_base64_any(&raw.payload).map_err(|reason| DsseError::Base64 {
            field: "payload".to_string(),
            reason,
        })?;
        let mut signatures = Vec::with_capacity(raw.signatures.items.len());
        for (index, s) in raw.signatures.items.into_iter().enumerate() {
            if s.sig.len() > MAX_SIG_B64_BYTES {
                return Err(DsseError::SignatureTooLong {
                    index,
                    limit: MAX_SIG_B64_BYTES,
                    found: s.sig.len(),
                });
            }
            let keyid = s.keyid.filter(|k| !k.is_empty());
            if let Some(k) = &keyid {
                if k.len() > MAX_KEYID_BYTES {
                    return Err(DsseError::KeyidTooLong {
                        index,
                        limit: MAX_KEYID_BYTES,
                        found: k.len(),
                    });
                }
            }
            let sig = decode_base64_any(&s.sig).map_err(|reason| DsseError::Base64 {
                field: format!("signatures[{index}].sig"),
                reason,
            })?;
            signatures.push(EnvelopeSignature { keyid, sig });
        }
        Ok(Envelope {
            payload_type: raw.payload_type,
            payload,
            signatures,
        })
    }

    /// The bytes every signature is computed over: `PAE(payloadType, payload)`.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// Verify with `key`: returns the index of the first signature that verifies over the PAE of
    /// the exact decoded payload bytes. Fails when there are no signatures or none verifies.
    pub fn verify(&self, key: &PublicKey) -> Result<usize, DsseError> {
        self.verify_with(&key.key_id(), |message, sig| key.verify(message, sig))
    }

    /// Like [`Envelope::verify`], with any verification function `(message, signature)`;
    /// `key_label` names the key in the error.
    pub fn verify_with<E: fmt::Display>(
        &self,
        key_label: &str,
        mut verify: impl FnMut(&[u8], &[u8]) -> Result<(), E>,
    ) -> Result<usize, DsseError> {
        if self.signatures.is_empty() {
            return Err(DsseError::NoSignatures);
        }
        let message = self.pae();
        let mut last_error = String::new();
        for (index, s) in self.signatures.iter().enumerate() {
            match verify(&message, &s.sig) {
                Ok(()) => return Ok(index),
                Err(e) => last_error = e.to_string(),
            }
        }
        Err(DsseError::NoValidSignature {
            tried: self.signatures.len(),
            key: key_label.to_string(),
            last_error,
        })
    }
}

#[derive(Deserialize)]
struct RawEnvelope {
    payload: String,
    #[serde(rename = "payloadType")]
    payload_type: String,
    signatures: SignatureList,
}

#[derive(Deserialize)]
struct RawSignature {
    #[serde(default)]
    keyid: Option<String>,
    sig: String,
}

/// The `signatures` array, keeping at most `MAX_SIGNATURES` entries but counting all of them
/// (the rest are skipped without allocation), so the limit error can say how many were found.
struct SignatureList {
    items: Vec<RawSignature>,
    total: usize,
}

impl<'de> Deserialize<'de> for SignatureList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SignatureList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of {keyid, sig} objects")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SignatureList, A::Error> {
                let mut items = Vec::new();
                let mut total = 0usize;
                while total < MAX_SIGNATURES {
                    match seq.next_element::<Obj<RawSignature>>()? {
                        Some(Obj(s)) => {
                            items.push(s);
                            total += 1;
                        }
                        None => return Ok(SignatureList { items, total }),
                    }
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    total += 1;
                }
                Ok(SignatureList { items, total })
            }
        }
        d.deserialize_seq(V)
    }
}

/// A `T` that must be written as a JSON object. Derived `Deserialize` for structs also accepts a
/// JSON array of the fields in order (`["payload","type",[…]]`); strict parsers must not, so
/// every struct read from hostile JSON goes through this wrapper.
pub(crate) struct Obj<T>(pub(crate) T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Obj)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Decode base64 in either the standard or the URL-safe alphabet, padded or not.
/// The alphabet is chosen by the characters present; mixing both is an error.
pub(crate) fn decode_base64_any(text: &str) -> Result<Vec<u8>, String> {
    const CONFIG: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, CONFIG);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, CONFIG);
    let url_safe = text.bytes().any(|b| b == b'-' || b == b'_');
    let standard = text.bytes().any(|b| b == b'+' || b == b'/');
    if url_safe && standard {
        return Err("mixes the standard (+ /) and URL-safe (- _) alphabets".to_string());
    }
    let engine = if url_safe { &URL_SAFE } else { &STANDARD };
    engine.decode(text).map_err(|e| e.to_string())
}

/// Does `bytes`, read as JSON, reach [`MAX_JSON_DEPTH`] levels of nesting?
pub(crate) fn json_too_deep(bytes: &[u8]) -> bool {
    exceeds_json_depth(bytes, MAX_JSON_DEPTH - 1)
}

/// Does `bytes`, read as JSON, nest arrays/objects deeper than `limit`? A linear scan that
/// skips string contents; it does not validate JSON (the parser does that afterwards).
pub(crate) fn exceeds_json_depth(bytes: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use ring::rand::SystemRandom;
    use ring::signature::{
        EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_ASN1,
        ECDSA_P256_SHA256_ASN1_SIGNING,
    };

    struct TestKey {
        pair: EcdsaKeyPair,
        rng: SystemRandom,
    }

    impl TestKey {
        fn new() -> TestKey {
            let rng = SystemRandom::new();
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
                    .unwrap();
            TestKey { pair, rng }
        }
        fn sign(&self, message: &[u8]) -> Vec<u8> {
            self.pair
                .sign(&self.rng, message)
                .unwrap()
                .as_ref()
                .to_vec()
        }
        fn verifier(&self) -> impl Fn(&[u8], &[u8]) -> Result<(), String> + '_ {
            move |m, s| {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, self.pair.public_key().as_ref())
                    .verify(m, s)
                    .map_err(|_| "bad signature".to_string())
            }
        }
    }

    fn envelope_json(payload_b64: &str, payload_type: &str, sigs: &[&str]) -> Vec<u8> {
        let sigs: Vec<_> = sigs
            .iter()
            .map(|s| serde_json::json!({"keyid": "", "sig": s}))
            .collect();
        serde_json::to_vec(&serde_json::json!({
            "payload": payload_b64, "payloadType": payload_type, "signatures": sigs
        }))
        .unwrap()
    }

    #[test]
    fn pae_matches_the_spec_vector() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn pae_of_empty_type_and_body_keeps_both_zero_lengths() {
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn signed_envelope_verifies_and_names_the_signature_index() {
        let key = TestKey::new();
        let other = TestKey::new();
        let payload = br#"{"_type":"https://in-toto.io/Statement/v1"}"#;
        let pae_bytes = pae(INTOTO_PAYLOAD_TYPE, payload);
        let bad = STANDARD.encode(other.sign(&pae_bytes));
        let good = STANDARD.encode(key.sign(&pae_bytes));
        let json = envelope_json(
            &STANDARD.encode(payload),
            INTOTO_PAYLOAD_TYPE,
            &[&bad, &good],
        );
        let env = Envelope::parse(&json).unwrap();
        assert_eq!(env.payload, payload.to_vec());
        assert_eq!(env.signatures[0].keyid, None);
        assert_eq!(env.verify_with("test", key.verifier()).unwrap(), 1);
    }

    #[test]
    fn signature_over_other_payload_type_is_rejected() {
        let key = TestKey::new();
        let payload = b"{}";
        let sig = STANDARD.encode(key.sign(&pae("application/json", payload)));
        let json = envelope_json(&STANDARD.encode(payload), INTOTO_PAYLOAD_TYPE, &[&sig]);
        let env = Envelope::parse(&json).unwrap();
        let err = env.verify_with("test", key.verifier()).unwrap_err();
        assert!(
            matches!(err, DsseError::NoValidSignature { tried: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn url_safe_base64_payload_is_accepted() {
        // 0xfb 0xff encodes to "+/8" (standard) and "-_8" (URL-safe).
        let payload = [0xfbu8, 0xff, 0x00, 0x3e];
        let json = envelope_json(&URL_SAFE_NO_PAD.encode(payload), "x/y", &["-_8"]);
        let env = Envelope::parse(&json).unwrap();
        assert_eq!(env.payload, payload.to_vec());
        assert_eq!(env.signatures[0].sig, vec![0xfb, 0xff]);
    }

    #[test]
    fn unpadded_standard_base64_is_accepted() {
        let json = envelope_json("aGk", "x/y", &["+/8"]);
        let env = Envelope::parse(&json).unwrap();
        assert_eq!(env.payload, b"hi".to_vec());
    }

    #[test]
    fn mixed_base64_alphabets_are_rejected() {
        let json = envelope_json("+_8", "x/y", &[]);
        let err = Envelope::parse(&json).unwrap_err();
        assert!(
            matches!(&err, DsseError::Base64 { field, .. } if field == "payload"),
            "{err}"
        );
    }

    #[test]
    fn garbage_base64_signature_names_its_index() {
        let json = envelope_json("aGk=", "x/y", &["aGk=", "not base64!"]);
        let err = Envelope::parse(&json).unwrap_err();
        assert!(err.to_string().contains("signatures[1].sig"), "{err}");
    }

    #[test]
    fn empty_signature_list_parses_but_does_not_verify() {
        let json = envelope_json("aGk=", "x/y", &[]);
        let env = Envelope::parse(&json).unwrap();
        assert!(env.signatures.is_empty());
        let key = TestKey::new();
        assert!(matches!(
            env.verify_with("test", key.verifier()),
            Err(DsseError::NoSignatures)
        ));
    }

    #[test]
    fn missing_payload_type_is_rejected() {
        let err = Envelope::parse(br#"{"payload":"aGk=","signatures":[]}"#).unwrap_err();
        assert!(err.to_string().contains("payloadType"), "{err}");
    }

    #[test]
    fn empty_payload_type_is_rejected() {
        let json = envelope_json("aGk=", "", &[]);
        assert!(matches!(
            Envelope::parse(&json),
            Err(DsseError::EmptyPayloadType)
        ));
    }

    #[test]
    fn duplicate_payload_field_is_rejected() {
        let json = br#"{"payload":"aGk=","payload":"aGk=","payloadType":"x","signatures":[]}"#;
        let err = Envelope::parse(json).unwrap_err();
        assert!(err.to_string().contains("duplicate field"), "{err}");
    }

    #[test]
    fn oversized_envelope_is_limit_error() {
        let big = vec![b' '; MAX_ENVELOPE_BYTES + 1];
        let err = Envelope::parse(&big).unwrap_err();
        assert!(
            matches!(err, DsseError::TooLarge { found, .. } if found == MAX_ENVELOPE_BYTES + 1)
        );
    }

    #[test]
    fn too_many_signatures_is_limit_error_with_count() {
        let sigs = vec!["aGk="; MAX_SIGNATURES + 3];
        let json = envelope_json("aGk=", "x/y", &sigs);
        let err = Envelope::parse(&json).unwrap_err();
        assert!(
            matches!(err, DsseError::TooManySignatures { limit: MAX_SIGNATURES, found } if found == MAX_SIGNATURES + 3),
            "{err}"
        );
    }

    #[test]
    fn exactly_max_signatures_is_accepted() {
        let sigs = vec!["aGk="; MAX_SIGNATURES];
        let env = Envelope::parse(&envelope_json("aGk=", "x/y", &sigs)).unwrap();
        assert_eq!(env.signatures.len(), MAX_SIGNATURES);
    }

    #[test]
    fn deeply_nested_envelope_is_depth_error() {
        let mut doc = "[".repeat(MAX_JSON_DEPTH);
        doc.push_str(&"]".repeat(MAX_JSON_DEPTH));
        assert!(matches!(
            Envelope::parse(doc.as_bytes()),
            Err(DsseError::TooDeep { .. })
        ));
    }

    #[test]
    fn depth_scan_ignores_brackets_inside_strings() {
        let s = format!(r#"{{"a":"{}\"{}"}}"#, "[".repeat(500), "{".repeat(500));
        assert!(!exceeds_json_depth(s.as_bytes(), 2));
        assert!(exceeds_json_depth(b"[[[]]]", 2));
        assert!(!exceeds_json_depth(b"[[]]", 2));
    }

    #[test]
    fn depth_limit_matches_serde_json_recursion_limit() {
        let ok = format!(
            "{}{}",
            "[".repeat(MAX_JSON_DEPTH - 1),
            "]".repeat(MAX_JSON_DEPTH - 1)
        );
        assert!(!json_too_deep(ok.as_bytes()));
        assert!(serde_json::from_str::<serde_json::Value>(&ok).is_ok());
        let deep = format!(
            "{}{}",
            "[".repeat(MAX_JSON_DEPTH),
            "]".repeat(MAX_JSON_DEPTH)
        );
        assert!(json_too_deep(deep.as_bytes()));
        assert!(serde_json::from_str::<serde_json::Value>(&deep).is_err());
    }

    #[test]
    fn overlong_signature_text_is_limit_error() {
        let long = "A".repeat(MAX_SIG_B64_BYTES + 4);
        let err = Envelope::parse(&envelope_json("aGk=", "x/y", &[&long])).unwrap_err();
        assert!(
            matches!(err, DsseError::SignatureTooLong { index: 0, .. }),
            "{err}"
        );
    }

    #[test]
    fn overlong_payload_type_is_limit_error() {
        let long = "a".repeat(MAX_PAYLOAD_TYPE_BYTES + 1);
        let err = Envelope::parse(&envelope_json("aGk=", &long, &[])).unwrap_err();
        assert!(matches!(err, DsseError::PayloadTypeTooLong { .. }), "{err}");
    }

    #[test]
    fn envelope_written_as_array_is_rejected() {
        let err = Envelope::parse(br#"["aGk=","x/y",[]]"#).unwrap_err();
        assert!(matches!(err, DsseError::Json(_)), "{err}");
        let err =
            Envelope::parse(br#"{"payload":"aGk=","payloadType":"x","signatures":[["","aGk="]]}"#)
                .unwrap_err();
        assert!(matches!(err, DsseError::Json(_)), "{err}");
    }

    #[test]
    fn non_empty_keyid_is_kept() {
        let json =
            br#"{"payload":"aGk=","payloadType":"x","signatures":[{"keyid":"k1","sig":"aGk="}]}"#;
        let env = Envelope::parse(json).unwrap();
        assert_eq!(env.signatures[0].keyid.as_deref(), Some("k1"));
    }
}

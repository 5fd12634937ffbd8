//! The cosign "simple signing" payload (the blob of a `.sig` layer,
//! `application/vnd.dev.cosign.simplesigning.v1+json`):
//!
//! ```json
//! {"critical":{"identity":{"docker-reference":"registry.example/app"},
//!              "image":{"docker-manifest-digest":"sha256:<hex>"},
//!              "type":"cosign container image signature"},
//!  "optional":null}
//! ```
//! The parser is strict in the way containers/image is: the root holds only `critical` and
//! `optional`; `critical` holds exactly `identity`, `image` and `type`; `identity` exactly
//! `docker-reference`; `image` exactly `docker-manifest-digest`. Unknown or duplicate fields are
//! errors. `optional` may be absent, `null` or an object (kept as is). `critical.type` must be
//! exactly `cosign container image signature`; the manifest digest must parse as a [`Digest`].
//!
//! Verify the signature over the exact blob bytes *before* parsing, and never re-serialize a
//! received payload: [`payload`] is only for producing new signatures.
//!
//! Limits (each has its own error variant): [`MAX_PAYLOAD_BYTES`], [`MAX_JSON_DEPTH`],
//! [`MAX_OPTIONAL_ENTRIES`].
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::formats::dsse::{json_too_deep, Obj};
use crate::oci::{Digest, DigestError};

pub use crate::formats::dsse::MAX_JSON_DEPTH;

/// The only `critical.type` accepted.
pub const COSIGN_SIGNATURE_TYPE: &str = "cosign container image signature";
/// Layer media type of a simple-signing payload.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";

/// Largest payload accepted, in bytes (cosign's are a few hundred bytes; annotations add little).
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;
/// Most top-level entries in `optional`.
pub const MAX_OPTIONAL_ENTRIES: usize = 1024;

/// Why a simple-signing payload is rejected.
#[derive(Debug, thiserror::Error)]
pub enum SimpleSigningError {
    #[error("simple-signing payload is {found} bytes, larger than the limit of {limit} bytes")]
    TooLarge { limit: usize, found: usize },
    #[error("simple-signing payload JSON nests too deeply (limit: fewer than {limit} levels)")]
    TooDeep { limit: usize },
    #[error("simple-signing payload: expected {{\"critical\":{{\"identity\":{{\"docker-reference\"}},\"image\":{{\"docker-manifest-digest\"}},\"type\"}},\"optional\"}}: {0}")]
    Schema(String),
    #[error(
        "simple-signing payload critical.type is {found:?}, expected {COSIGN_SIGNATURE_TYPE:?}"
    )]
    WrongType { found: String },
    #[error(
        "simple-signing payload critical.image.docker-manifest-digest is not a valid digest: {0}"
    )]
    BadManifestDigest(#[source] DigestError),
    #[error("simple-signing payload optional has {found} entries, more than the limit of {limit}")]
    TooManyOptionalEntries { limit: usize, found: usize },
}

/// A parsed simple-signing payload.
#[derive(Clone, Debug, PartialEq)]
pub struct SimpleSigning {
    /// `critical.identity.docker-reference`: the repository (cosign) or full reference
    /// (containers/image) the signer claims.
    pub docker_reference: String,
    /// `critical.image.docker-manifest-digest`.
    pub manifest_digest: Digest,
    /// `optional` annotations; `None` when absent or `null`.
    pub optional: Option<Map<String, Value>>,
}

impl SimpleSigning {
    /// Parse payload bytes strictly (see the module documentation).
    pub fn parse(bytes: &[u8]) -> Result<SimpleSigning, SimpleSigningError> {
        if bytes.len() > MAX_PAYLOAD_BYTES {
            return Err(SimpleSigningError::TooLarge {
                limit: MAX_PAYLOAD_BYTES,
                found: bytes.len(),
            });
        }
        if json_too_deep(bytes) {
            return Err(SimpleSigningError::TooDeep {
                limit: MAX_JSON_DEPTH,
            });
        }
        let Obj(raw): Obj<RawPayload> =
            serde_json::from_slice(bytes).map_err(|e| SimpleSigningError::Schema(e.to_string()))?;
        let Obj(critical) = raw.critical;
        let (Obj(identity), Obj(image)) = (critical.identity, critical.image);
        if critical.type_ != COSIGN_SIGNATURE_TYPE {
            let found = crate::text::shorten(&critical.type_, 200);
            return Err(SimpleSigningError::WrongType { found });
        }
        let manifest_digest = Digest::parse(&image.docker_manifest_digest)
            .map_err(SimpleSigningError::BadManifestDigest)?;
        if let Some(optional) = &raw.optional {
            if optional.len() > MAX_OPTIONAL_ENTRIES {
                return Err(SimpleSigningError::TooManyOptionalEntries {
                    limit: MAX_OPTIONAL_ENTRIES,
                    found: optional.len(),
                });
            }
        }
        Ok(SimpleSigning {
            docker_reference: identity.docker_reference,
            manifest_digest,
            optional: raw.optional,
        })
    }

    /// Does the payload sign exactly this manifest digest?
    pub fn signs_digest(&self, digest: &Digest) -> bool {
        self.manifest_digest == *digest
    }

    /// The `optional` entry `key` when it is a string (cosign `-a key=value` annotations).
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.optional.as_ref()?.get(key)?.as_str()
    }
}

/// The payload bytes cosign writes for `docker_reference` and `digest`: field order
/// `critical{identity, image, type}, optional`, compact, `"optional":null` when there are no
/// annotations, object keys sorted and `<`, `>`, `&`, U+2028, U+2029 escaped as Go's
/// `encoding/json` does. Used for signing only.
pub fn payload(
    docker_reference: &str,
    digest: &Digest,
    optional: Option<&Map<String, Value>>,
) -> Vec<u8> {
    let doc = OutPayload {
        critical: OutCritical {
            identity: OutIdentity { docker_reference },
            image: OutImage {
                docker_manifest_digest: digest.to_string(),
            },
            type_: COSIGN_SIGNATURE_TYPE,
        },
        optional: optional.map(sorted_object),
    };
    // Serializing plain structs, strings and JSON values cannot fail.
    let json = serde_json::to_string(&doc).unwrap_or_default();
    go_html_escape(&json).into_bytes()
}

/// Rebuild an object with keys in sorted order, recursively (Go sorts map keys when marshalling).
fn sorted_object(m: &Map<String, Value>) -> BTreeMap<String, Value> {
    m.iter()
        .map(|(k, v)| (k.clone(), sorted_value(v)))
        .collect()
}

fn sorted_value(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let sorted = sorted_object(m);
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted_value).collect()),
        other => other.clone(),
    }
}

/// Go's `encoding/json` escapes these inside strings; in compact JSON they can only occur inside
/// strings, so replacing them everywhere is exact.
fn go_html_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPayload {
    critical: Obj<RawCritical>,
    #[serde(default)]
    optional: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCritical {
    identity: Obj<RawIdentity>,
    image: Obj<RawImage>,
    #[serde(rename = "type")]
    type_: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImage {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

#[derive(Serialize)]
struct OutPayload<'a> {
    critical: OutCritical<'a>,
    optional: Option<BTreeMap<String, Value>>,
}

#[derive(Serialize)]
struct OutCritical<'a> {
    identity: OutIdentity<'a>,
    image: OutImage,
    #[serde(rename = "type")]
    type_: &'a str,
}

#[derive(Serialize)]
struct OutIdentity<'a> {
    #[serde(rename = "docker-reference")]
    docker_reference: &'a str,
}

#[derive(Serialize)]
struct OutImage {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DIGEST: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    fn doc(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    fn good() -> Value {
        json!({"critical": {"identity": {"docker-reference": "registry.example/app"},
                            "image": {"docker-manifest-digest": DIGEST},
                            "type": COSIGN_SIGNATURE_TYPE},
               "optional": null})
    }

    #[test]
    fn cosign_payload_parses() {
        let s = SimpleSigning::parse(&doc(good())).unwrap();
        assert_eq!(s.docker_reference, "registry.example/app");
        assert_eq!(s.manifest_digest.to_string(), DIGEST);
        assert!(s.optional.is_none());
        assert!(s.signs_digest(&Digest::parse(DIGEST).unwrap()));
        assert!(!s.signs_digest(&Digest::sha256_of(b"other")));
    }

    #[test]
    fn absent_optional_is_none() {
        let mut v = good();
        v.as_object_mut().unwrap().remove("optional");
        assert!(SimpleSigning::parse(&doc(v)).unwrap().optional.is_none());
    }

    #[test]
    fn optional_annotations_are_kept() {
        let mut v = good();
        v["optional"] =
            json!({"creator": "containers/image 5.22", "timestamp": 1660000000, "env": "prod"});
        let s = SimpleSigning::parse(&doc(v)).unwrap();
        assert_eq!(s.annotation("env"), Some("prod"));
        assert_eq!(s.annotation("timestamp"), None);
        assert_eq!(s.optional.unwrap().len(), 3);
    }

    #[test]
    fn optional_that_is_not_an_object_is_rejected() {
        let mut v = good();
        v["optional"] = json!(["a"]);
        assert!(matches!(
            SimpleSigning::parse(&doc(v)),
            Err(SimpleSigningError::Schema(_))
        ));
    }

    #[test]
    fn wrong_critical_type_is_rejected() {
        let mut v = good();
        v["critical"]["type"] = json!("atomic container signature");
        let err = SimpleSigning::parse(&doc(v)).unwrap_err();
        assert!(
            matches!(&err, SimpleSigningError::WrongType { found } if found == "atomic container signature")
        );
        assert!(err.to_string().contains(COSIGN_SIGNATURE_TYPE));
    }

    #[test]
    fn bad_manifest_digest_is_rejected_naming_it() {
        let mut v = good();
        v["critical"]["image"]["docker-manifest-digest"] = json!("sha256:ABCD");
        let err = SimpleSigning::parse(&doc(v)).unwrap_err();
        assert!(matches!(err, SimpleSigningError::BadManifestDigest(_)));
        assert!(err.to_string().contains("sha256:ABCD"), "{err}");
    }

    #[test]
    fn unknown_field_in_critical_is_rejected() {
        let mut v = good();
        v["critical"]["extra"] = json!(1);
        let err = SimpleSigning::parse(&doc(v)).unwrap_err();
        assert!(err.to_string().contains("unknown field `extra`"), "{err}");
    }

    #[test]
    fn unknown_field_in_identity_is_rejected() {
        let mut v = good();
        v["critical"]["identity"]["docker-tag"] = json!("x");
        assert!(matches!(
            SimpleSigning::parse(&doc(v)),
            Err(SimpleSigningError::Schema(_))
        ));
    }

    #[test]
    fn unknown_root_field_is_rejected() {
        let mut v = good();
        v["extra"] = json!({});
        assert!(matches!(
            SimpleSigning::parse(&doc(v)),
            Err(SimpleSigningError::Schema(_))
        ));
    }

    #[test]
    fn capitalised_digest_key_from_the_spec_typo_is_rejected() {
        let mut v = good();
        v["critical"]["image"] = json!({"Docker-manifest-digest": DIGEST});
        assert!(matches!(
            SimpleSigning::parse(&doc(v)),
            Err(SimpleSigningError::Schema(_))
        ));
    }

    #[test]
    fn non_string_docker_reference_is_rejected() {
        let mut v = good();
        v["critical"]["identity"]["docker-reference"] = json!(7);
        assert!(matches!(
            SimpleSigning::parse(&doc(v)),
            Err(SimpleSigningError::Schema(_))
        ));
    }

    #[test]
    fn critical_written_as_array_is_rejected() {
        let bytes = format!(
            r#"{{"critical":[{{"docker-reference":"r"}},{{"docker-manifest-digest":"{DIGEST}"}},"{COSIGN_SIGNATURE_TYPE}"],"optional":null}}"#
        );
        assert!(matches!(
            SimpleSigning::parse(bytes.as_bytes()),
            Err(SimpleSigningError::Schema(_))
        ));
        let mut v = good();
        v["critical"]["image"] = json!([DIGEST]);
        assert!(matches!(
            SimpleSigning::parse(&doc(v)),
            Err(SimpleSigningError::Schema(_))
        ));
        let err = SimpleSigning::parse(br#"[{"identity":{}}]"#).unwrap_err();
        assert!(matches!(err, SimpleSigningError::Schema(_)), "{err}");
    }

    #[test]
    fn missing_critical_is_rejected() {
        let err = SimpleSigning::parse(br#"{"optional":null}"#).unwrap_err();
        assert!(
            err.to_string().contains("missing field `critical`"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_type_field_is_rejected() {
        let bytes = format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"r"}},"image":{{"docker-manifest-digest":"{DIGEST}"}},"type":"x","type":"{COSIGN_SIGNATURE_TYPE}"}},"optional":null}}"#
        );
        let err = SimpleSigning::parse(bytes.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("duplicate field"), "{err}");
    }

    #[test]
    fn oversized_payload_is_limit_error() {
        let big = vec![b' '; MAX_PAYLOAD_BYTES + 1];
        assert!(matches!(
            SimpleSigning::parse(&big),
            Err(SimpleSigningError::TooLarge { .. })
        ));
    }

    #[test]
    fn deeply_nested_optional_is_depth_error() {
        let mut v = good();
        let mut nested = json!(1);
        for _ in 0..MAX_JSON_DEPTH {
            nested = json!([nested]);
        }
        v["optional"] = json!({ "deep": nested });
        // serde_json serializes any depth; the parser must refuse to read past the limit.
        let bytes = doc(v);
        assert!(matches!(
            SimpleSigning::parse(&bytes),
            Err(SimpleSigningError::TooDeep { .. })
        ));
    }

    #[test]
    fn too_many_optional_entries_is_limit_error() {
        let mut v = good();
        let m: Map<String, Value> = (0..=MAX_OPTIONAL_ENTRIES)
            .map(|i| (format!("k{i}"), json!("v")))
            .collect();
        v["optional"] = Value::Object(m);
        assert!(matches!(
            SimpleSigning::parse(&doc(v)),
            Err(SimpleSigningError::TooManyOptionalEntries { .. })
        ));
    }

    #[test]
    fn payload_without_annotations_is_byte_exact_cosign_form() {
        let d = Digest::parse(DIGEST).unwrap();
        let bytes = payload("registry.example/app", &d, None);
        let expected = format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"registry.example/app"}},"image":{{"docker-manifest-digest":"{DIGEST}"}},"type":"cosign container image signature"}},"optional":null}}"#
        );
        assert_eq!(String::from_utf8(bytes.clone()).unwrap(), expected);
        assert_eq!(SimpleSigning::parse(&bytes).unwrap().manifest_digest, d);
    }

    #[test]
    fn payload_annotations_are_sorted_and_go_escaped() {
        let d = Digest::parse(DIGEST).unwrap();
        let mut m = Map::new();
        m.insert("z".into(), json!("a<b>&c\u{2028}"));
        m.insert("a".into(), json!({"y": 1, "b": 2}));
        let bytes = payload("r", &d, Some(&m));
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.ends_with(r#""optional":{"a":{"b":2,"y":1},"z":"a\u003cb\u003e\u0026c\u2028"}}"#),
            "{text}"
        );
        let back = SimpleSigning::parse(&bytes).unwrap();
        assert_eq!(back.annotation("z"), Some("a<b>&c\u{2028}"));
    }
}

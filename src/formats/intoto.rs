//! in-toto Statements (v0.1 and v1), subject matching by digest, and predicate-type families.
//!
//! ```json
//! {"_type":"https://in-toto.io/Statement/v1",
//!  "subject":[{"name":"<name>","digest":{"sha256":"<hex>"}}],
//!  "predicateType":"<URI>","predicate":{…}}
//! ```
//! Parsing rules applied here:
//! - `_type` must be exactly `https://in-toto.io/Statement/v0.1` or `https://in-toto.io/Statement/v1`;
//! - `subject` must be a non-empty array; every subject must have a non-empty `digest` map
//!   (spec: "Each element MUST have `digest` set"); `name` may be absent (kept as `""`);
//! - `predicateType` must be a non-empty absolute URI (`scheme:…`), as cosign itself requires when
//!   attesting (a bare `cosign.sigstore.dev/attestation/v1` is malformed);
//! - `predicate` may be any JSON value (cosign's `--type spdx` writes a JSON *string*); absent is `null`;
//! - unknown fields are ignored (in-toto parsing rules); duplicate fields are errors.
//!
//! Only call [`Statement::parse`] on payload bytes whose DSSE signature has been verified.
//! The predicate type is read from the signed statement, never from an OCI annotation.
//!
//! Limits (each has its own error variant): [`MAX_STATEMENT_BYTES`], [`MAX_JSON_DEPTH`],
//! [`MAX_SUBJECTS`], [`MAX_DIGESTS_PER_SUBJECT`], [`MAX_PREDICATE_TYPE_BYTES`].
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;

use crate::formats::dsse::{json_too_deep, Envelope, Obj, INTOTO_PAYLOAD_TYPE};
use crate::oci::Digest;

pub use crate::formats::dsse::MAX_JSON_DEPTH;

/// `_type` of an in-toto Statement v0.1 (what legacy `cosign attest` writes).
pub const STATEMENT_V01: &str = "https://in-toto.io/Statement/v0.1";
/// `_type` of an in-toto Statement v1.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";

/// Largest statement accepted, in bytes (a statement always arrives inside a DSSE envelope).
pub const MAX_STATEMENT_BYTES: usize = crate::formats::dsse::MAX_ENVELOPE_BYTES;
/// Most subjects one statement may name.
pub const MAX_SUBJECTS: usize = 10_000;
/// Most digest entries one subject may carry.
pub const MAX_DIGESTS_PER_SUBJECT: usize = 32;
/// Longest `predicateType`, in bytes.
pub const MAX_PREDICATE_TYPE_BYTES: usize = 1024;

pub const PREDICATE_SLSA_PROVENANCE_V02: &str = "https://slsa.dev/provenance/v0.2";
pub const PREDICATE_SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
pub const PREDICATE_SPDX: &str = "https://spdx.dev/Document";
pub const PREDICATE_CYCLONEDX: &str = "https://cyclonedx.org/bom";
pub const PREDICATE_COSIGN_SIGN: &str = "https://sigstore.dev/cosign/sign/v1";
pub const PREDICATE_VSA_V1: &str = "https://slsa.dev/verification_summary/v1";

/// Why a statement does not parse.
#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    #[error("in-toto statement is {found} bytes, larger than the limit of {limit} bytes")]
    TooLarge { limit: usize, found: usize },
    #[error("in-toto statement JSON nests too deeply (limit: fewer than {limit} levels)")]
    TooDeep { limit: usize },
    #[error("in-toto statement: expected a JSON object {{_type, subject, predicateType, predicate}}: {0}")]
    Json(String),
    #[error(
        "DSSE payloadType is {found:?}, expected {INTOTO_PAYLOAD_TYPE:?} for an in-toto statement"
    )]
    WrongPayloadType { found: String },
    #[error(
        "in-toto statement _type is {found:?}, expected {STATEMENT_V01:?} or {STATEMENT_V1:?}"
    )]
    WrongType { found: String },
    #[error("in-toto statement has an empty subject list (expected at least one subject)")]
    NoSubjects,
    #[error("in-toto statement has {found} subjects, more than the limit of {limit}")]
    TooManySubjects { limit: usize, found: usize },
    #[error("in-toto statement subject[{index}] ({name:?}) has no digest (expected e.g. {{\"sha256\": \"<hex>\"}})")]
    SubjectWithoutDigest { index: usize, name: String },
    #[error(
        "in-toto statement subject[{index}] has {found} digests, more than the limit of {limit}"
    )]
    TooManyDigests {
        index: usize,
        limit: usize,
        found: usize,
    },
    #[error("in-toto statement predicateType is empty (expected a URI)")]
    EmptyPredicateType,
    #[error("in-toto statement predicateType is {found} bytes, longer than the limit of {limit}")]
    PredicateTypeTooLong { limit: usize, found: usize },
    #[error("in-toto statement predicateType {found:?} is not an absolute URI (expected e.g. \"https://slsa.dev/provenance/v1\")")]
    PredicateTypeNotUri { found: String },
}

/// Which Statement schema the `_type` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatementVersion {
    V01,
    V1,
}

impl StatementVersion {
    pub fn type_uri(self) -> &'static str {
        match self {
            StatementVersion::V01 => STATEMENT_V01,
            StatementVersion::V1 => STATEMENT_V1,
        }
    }
}

/// One subject: a name (informational only) and its digest set (`algorithm -> hex`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

/// A parsed in-toto Statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub version: StatementVersion,
    pub subjects: Vec<Subject>,
    pub predicate_type: String,
    pub predicate: serde_json::Value,
}

impl Statement {
    /// Parse statement bytes (the verified DSSE payload).
    pub fn parse(payload: &[u8]) -> Result<Statement, StatementError> {
        if payload.len() > MAX_STATEMENT_BYTES {
            return Err(StatementError::TooLarge {
                limit: MAX_STATEMENT_BYTES,
                found: payload.len(),
            });
        }
        if json_too_deep(payload) {
            return Err(StatementError::TooDeep {
                limit: MAX_JSON_DEPTH,
            });
        }
        let Obj(raw): Obj<RawStatement> =
            serde_json::from_slice(payload).map_err(|e| StatementError::Json(e.to_string()))?;
        let version = match raw.type_.as_str() {
            STATEMENT_V01 => StatementVersion::V01,
            STATEMENT_V1 => StatementVersion::V1,
            _ => {
                return Err(StatementError::WrongType {
                    found: shorten(&raw.type_),
                })
            }
        };
        if raw.subject.total > MAX_SUBJECTS {
            return Err(StatementError::TooManySubjects {
                limit: MAX_SUBJECTS,
                found: raw.subject.total,
            });
        }
        if raw.subject.items.is_empty() {
            return Err(StatementError::NoSubjects);
        }
        let mut subjects = Vec::with_capacity(raw.subject.items.len());
        for (index, s) in raw.subject.items.into_iter().enumerate() {
            let name = s.name.unwrap_or_default();
            let digest = s.digest.unwrap_or_default();
            if digest.is_empty() {
                return Err(StatementError::SubjectWithoutDigest {
                    index,
                    name: shorten(&name),
                });
            }
            if digest.len() > MAX_DIGESTS_PER_SUBJECT {
                return Err(StatementError::TooManyDigests {
                    index,
                    limit: MAX_DIGESTS_PER_SUBJECT,
                    found: digest.len(),
                });
            }
            subjects.push(Subject { name, digest });
        }
        let predicate_type = raw.predicate_type;
        if predicate_type.is_empty() {
            return Err(StatementError::EmptyPredicateType);
        }
        if predicate_type.len() > MAX_PREDICATE_TYPE_BYTES {
            return Err(StatementError::PredicateTypeTooLong {
                limit: MAX_PREDICATE_TYPE_BYTES,
                found: predicate_type.len(),
            });
        }
        if !is_absolute_uri(&predicate_type) {
            return Err(StatementError::PredicateTypeNotUri {
                found: shorten(&predicate_type),
            });
        }
        Ok(Statement {
            version,
            subjects,
            predicate_type,
            predicate: raw.predicate.unwrap_or(serde_json::Value::Null),
        })
    }

    /// Check the envelope's `payloadType` is in-toto, then parse its payload.
    /// Call only after [`Envelope::verify`] succeeded.
    pub fn from_envelope(envelope: &Envelope) -> Result<Statement, StatementError> {
        if !is_intoto_payload_type(&envelope.payload_type) {
            return Err(StatementError::WrongPayloadType {
                found: shorten(&envelope.payload_type),
            });
        }
        Statement::parse(&envelope.payload)
    }

    /// Does any subject carry `d` (same algorithm name, identical lowercase hex)? Names are ignored.
    pub fn has_subject(&self, d: &Digest) -> bool {
        let alg = d.algorithm().as_str();
        self.subjects
            .iter()
            .any(|s| s.digest.get(alg).is_some_and(|hex| hex == d.hex()))
    }

    /// The family of this statement's predicate type.
    pub fn predicate_kind(&self) -> PredicateKind {
        predicate_kind(&self.predicate_type)
    }
}

/// Is `payload_type` an in-toto media type: `application/vnd.in-toto+json`, or the
/// `application/vnd.in-toto.<predicate>+json` form?
pub fn is_intoto_payload_type(payload_type: &str) -> bool {
    if payload_type == INTOTO_PAYLOAD_TYPE {
        return true;
    }
    payload_type
        .strip_prefix("application/vnd.in-toto.")
        .and_then(|rest| rest.strip_suffix("+json"))
        .is_some_and(|mid| {
            !mid.is_empty()
                && mid
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        })
}

/// Predicate-type families the gate understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PredicateKind {
    /// `https://slsa.dev/provenance/v0.2`
    SlsaProvenanceV02,
    /// `https://slsa.dev/provenance/v1`
    SlsaProvenanceV1,
    /// `https://spdx.dev/Document` or `https://spdx.dev/Document/v2.<n>`
    Spdx,
    /// `https://cyclonedx.org/bom` or `https://cyclonedx.org/bom/v1.<n>`
    CycloneDx,
    /// `https://sigstore.dev/cosign/sign/v1` (cosign v3 image signatures)
    CosignSign,
    /// `https://slsa.dev/verification_summary/v1` (also v0.1, v0.2)
    Vsa,
    Other,
}

impl PredicateKind {
    /// Is this an SBOM family (SPDX or CycloneDX)?
    pub fn is_sbom(self) -> bool {
        matches!(self, PredicateKind::Spdx | PredicateKind::CycloneDx)
    }
}

/// Classify a predicate type URI. Exact strings only (no case folding, no trailing slash).
pub fn predicate_kind(predicate_type: &str) -> PredicateKind {
    match predicate_type {
        PREDICATE_SLSA_PROVENANCE_V02 => PredicateKind::SlsaProvenanceV02,
        PREDICATE_SLSA_PROVENANCE_V1 => PredicateKind::SlsaProvenanceV1,
        PREDICATE_SPDX => PredicateKind::Spdx,
        PREDICATE_CYCLONEDX => PredicateKind::CycloneDx,
        PREDICATE_COSIGN_SIGN => PredicateKind::CosignSign,
        PREDICATE_VSA_V1
        | "https://slsa.dev/verification_summary/v0.1"
        | "https://slsa.dev/verification_summary/v0.2" => PredicateKind::Vsa,
        other => {
            if versioned(other, PREDICATE_SPDX, "2") {
                PredicateKind::Spdx
            } else if versioned(other, PREDICATE_CYCLONEDX, "1") {
                PredicateKind::CycloneDx
            } else {
                PredicateKind::Other
            }
        }
    }
}

/// Does a statement with predicate type `actual` satisfy a requirement for `required`?
/// Exact match, or — when `required` is the unversioned SPDX or CycloneDX URI — any versioned
/// URI of the same family (`https://spdx.dev/Document/v2.3` satisfies `https://spdx.dev/Document`).
/// A versioned requirement is only met by that exact version.
pub fn predicate_type_matches(required: &str, actual: &str) -> bool {
    if required == actual {
        return true;
    }
    match required {
        PREDICATE_SPDX => predicate_kind(actual) == PredicateKind::Spdx,
        PREDICATE_CYCLONEDX => predicate_kind(actual) == PredicateKind::CycloneDx,
        _ => false,
    }
}

/// `base/v<major>.<minor>` with digits only, e.g. `https://spdx.dev/Document/v2.3`.
fn versioned(uri: &str, base: &str, major: &str) -> bool {
    uri.strip_prefix(base)
        .and_then(|rest| rest.strip_prefix("/v"))
        .and_then(|v| v.strip_prefix(major))
        .and_then(|v| v.strip_prefix('.'))
        .is_some_and(|minor| !minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit()))
}

/// RFC 3986 absolute URI check, loose on the part after the scheme: `ALPHA *(ALPHA / DIGIT /
/// "+" / "-" / ".") ":" 1*char`, no whitespace or control characters anywhere.
fn is_absolute_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    first_ok
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn shorten(s: &str) -> String {
    crate::text::shorten(s, 200)
}

#[derive(Deserialize)]
struct RawStatement {
    #[serde(rename = "_type")]
    type_: String,
    subject: SubjectList,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    #[serde(default)]
    predicate: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawSubject {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    digest: Option<BTreeMap<String, String>>,
}

/// The `subject` array: at most `MAX_SUBJECTS` entries are kept, the rest only counted.
struct SubjectList {
    items: Vec<RawSubject>,
    total: usize,
}

impl<'de> Deserialize<'de> for SubjectList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SubjectList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of {name, digest} objects")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SubjectList, A::Error> {
                let mut items = Vec::new();
                let mut total = 0usize;
                while total < MAX_SUBJECTS {
                    match seq.next_element::<Obj<RawSubject>>()? {
                        Some(Obj(s)) => {
                            items.push(s);
                            total += 1;
                        }
                        None => return Ok(SubjectList { items, total }),
                    }
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    total += 1;
                }
                Ok(SubjectList { items, total })
            }
        }
        d.deserialize_seq(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const HEX: &str = "658781cd4ed9bca60dacd09f7bb914bb51502e8b5d619f57f39a1d652596cc24";

    fn statement(v: serde_json::Value) -> Result<Statement, StatementError> {
        Statement::parse(&serde_json::to_vec(&v).unwrap())
    }

    fn minimal(type_: &str, predicate_type: &str) -> serde_json::Value {
        json!({"_type": type_, "subject": [{"name": "blob", "digest": {"sha256": HEX}}],
               "predicateType": predicate_type, "predicate": {}})
    }

    #[test]
    fn v01_statement_parses() {
        let s = statement(minimal(STATEMENT_V01, PREDICATE_SLSA_PROVENANCE_V02)).unwrap();
        assert_eq!(s.version, StatementVersion::V01);
        assert_eq!(s.subjects[0].name, "blob");
        assert_eq!(s.predicate_kind(), PredicateKind::SlsaProvenanceV02);
    }

    #[test]
    fn v1_statement_parses() {
        let s = statement(minimal(STATEMENT_V1, PREDICATE_SLSA_PROVENANCE_V1)).unwrap();
        assert_eq!(s.version, StatementVersion::V1);
        assert_eq!(s.predicate, json!({}));
    }

    #[test]
    fn statement_with_wrong_type_is_rejected() {
        let err = statement(minimal(
            "https://in-toto.io/Statement/v0.2",
            "https://x.example/p",
        ))
        .unwrap_err();
        assert!(
            matches!(&err, StatementError::WrongType { found } if found.ends_with("v0.2")),
            "{err}"
        );
    }

    #[test]
    fn statement_with_empty_subject_list_is_rejected() {
        let mut v = minimal(STATEMENT_V1, "https://x.example/p");
        v["subject"] = json!([]);
        assert!(matches!(statement(v), Err(StatementError::NoSubjects)));
    }

    #[test]
    fn subject_without_digest_is_rejected() {
        let mut v = minimal(STATEMENT_V01, "https://x.example/p");
        v["subject"] = json!([{"name": "blob", "digest": {}}]);
        let err = statement(v).unwrap_err();
        assert!(
            matches!(&err, StatementError::SubjectWithoutDigest { index: 0, .. }),
            "{err}"
        );
    }

    #[test]
    fn subject_without_name_is_accepted_with_empty_name() {
        let mut v = minimal(STATEMENT_V1, "https://x.example/p");
        v["subject"] = json!([{"digest": {"sha256": HEX}}]);
        assert_eq!(statement(v).unwrap().subjects[0].name, "");
    }

    #[test]
    fn non_string_digest_value_is_rejected() {
        let mut v = minimal(STATEMENT_V1, "https://x.example/p");
        v["subject"] = json!([{"digest": {"sha256": 5}}]);
        assert!(matches!(statement(v), Err(StatementError::Json(_))));
    }

    #[test]
    fn missing_predicate_type_is_rejected() {
        let mut v = minimal(STATEMENT_V1, "x");
        v.as_object_mut().unwrap().remove("predicateType");
        let err = statement(v).unwrap_err();
        assert!(err.to_string().contains("predicateType"), "{err}");
    }

    #[test]
    fn empty_predicate_type_is_rejected() {
        assert!(matches!(
            statement(minimal(STATEMENT_V1, "")),
            Err(StatementError::EmptyPredicateType)
        ));
    }

    #[test]
    fn predicate_type_without_scheme_is_rejected() {
        let err =
            statement(minimal(STATEMENT_V01, "cosign.sigstore.dev/attestation/v1")).unwrap_err();
        assert!(
            matches!(err, StatementError::PredicateTypeNotUri { .. }),
            "{err}"
        );
    }

    #[test]
    fn absent_predicate_is_null() {
        let mut v = minimal(STATEMENT_V1, "https://x.example/p");
        v.as_object_mut().unwrap().remove("predicate");
        assert_eq!(statement(v).unwrap().predicate, serde_json::Value::Null);
    }

    #[test]
    fn string_predicate_is_kept() {
        let mut v = minimal(STATEMENT_V01, PREDICATE_SPDX);
        v["predicate"] = json!("SPDXVersion: SPDX-2.2");
        assert_eq!(
            statement(v).unwrap().predicate,
            json!("SPDXVersion: SPDX-2.2")
        );
    }

    #[test]
    fn statement_written_as_array_is_rejected() {
        let doc = format!(
            r#"["{STATEMENT_V1}",[["n",{{"sha256":"{HEX}"}}]],"https://x.example/p",{{}}]"#
        );
        assert!(matches!(
            Statement::parse(doc.as_bytes()),
            Err(StatementError::Json(_))
        ));
        let mut v = minimal(STATEMENT_V1, "https://x.example/p");
        v["subject"] = json!([["n", {"sha256": HEX}]]);
        assert!(matches!(statement(v), Err(StatementError::Json(_))));
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let mut v = minimal(STATEMENT_V1, "https://x.example/p");
        v["extra"] = json!({"a": 1});
        v["subject"][0]["annotations"] = json!({"k": "v"});
        assert!(statement(v).is_ok());
    }

    #[test]
    fn duplicate_type_field_is_rejected() {
        let doc = format!(
            r#"{{"_type":"{STATEMENT_V1}","_type":"{STATEMENT_V01}","subject":[{{"digest":{{"sha256":"{HEX}"}}}}],"predicateType":"https://x.example/p"}}"#
        );
        let err = Statement::parse(doc.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("duplicate field"), "{err}");
    }

    #[test]
    fn too_many_subjects_is_limit_error_with_count() {
        let mut v = minimal(STATEMENT_V1, "https://x.example/p");
        let subject = json!({"digest": {"sha256": HEX}});
        v["subject"] = serde_json::Value::Array(vec![subject; MAX_SUBJECTS + 2]);
        let err = statement(v).unwrap_err();
        assert!(
            matches!(err, StatementError::TooManySubjects { found, .. } if found == MAX_SUBJECTS + 2),
            "{err}"
        );
    }

    #[test]
    fn too_many_digests_in_a_subject_is_limit_error() {
        let mut v = minimal(STATEMENT_V1, "https://x.example/p");
        let digests: serde_json::Map<String, serde_json::Value> = (0..=MAX_DIGESTS_PER_SUBJECT)
            .map(|i| (format!("alg{i}"), json!(HEX)))
            .collect();
        v["subject"] = json!([{"digest": digests}]);
        assert!(matches!(
            statement(v),
            Err(StatementError::TooManyDigests { index: 0, .. })
        ));
    }

    #[test]
    fn oversized_statement_is_limit_error() {
        let big = vec![b' '; MAX_STATEMENT_BYTES + 1];
        assert!(matches!(
            Statement::parse(&big),
            Err(StatementError::TooLarge { .. })
        ));
    }

    #[test]
    fn deeply_nested_predicate_is_depth_error() {
        let doc = format!(
            r#"{{"_type":"{STATEMENT_V1}","subject":[],"predicateType":"https://x.example/p","predicate":{}{}}}"#,
            "[".repeat(MAX_JSON_DEPTH),
            "]".repeat(MAX_JSON_DEPTH)
        );
        assert!(matches!(
            Statement::parse(doc.as_bytes()),
            Err(StatementError::TooDeep { .. })
        ));
    }

    #[test]
    fn subject_matches_by_digest_only() {
        let mut v = minimal(STATEMENT_V1, "https://x.example/p");
        v["subject"] = json!([
            {"name": "other", "digest": {"sha256": "00".repeat(32)}},
            {"name": "whatever-name", "digest": {"sha512": "11".repeat(64), "sha256": HEX}}
        ]);
        let s = statement(v).unwrap();
        assert!(s.has_subject(&Digest::parse(&format!("sha256:{HEX}")).unwrap()));
        assert!(!s.has_subject(&Digest::sha256_of(b"another-blob")));
    }

    #[test]
    fn uppercase_subject_hex_does_not_match() {
        let mut v = minimal(STATEMENT_V1, "https://x.example/p");
        v["subject"] = json!([{"digest": {"sha256": HEX.to_uppercase()}}]);
        let s = statement(v).unwrap();
        assert!(!s.has_subject(&Digest::parse(&format!("sha256:{HEX}")).unwrap()));
    }

    #[test]
    fn digest_under_other_algorithm_does_not_match() {
        let mut v = minimal(STATEMENT_V1, "https://x.example/p");
        v["subject"] = json!([{"digest": {"sha512": HEX}}]);
        let s = statement(v).unwrap();
        assert!(!s.has_subject(&Digest::parse(&format!("sha256:{HEX}")).unwrap()));
    }

    #[test]
    fn envelope_with_other_payload_type_is_rejected() {
        let payload = serde_json::to_vec(&minimal(STATEMENT_V1, "https://x.example/p")).unwrap();
        let env = Envelope {
            payload_type: "application/json".into(),
            payload,
            signatures: vec![],
        };
        assert!(matches!(
            Statement::from_envelope(&env),
            Err(StatementError::WrongPayloadType { .. })
        ));
    }

    #[test]
    fn intoto_payload_type_forms_are_recognised() {
        assert!(is_intoto_payload_type(INTOTO_PAYLOAD_TYPE));
        assert!(is_intoto_payload_type(
            "application/vnd.in-toto.provenance+json"
        ));
        assert!(!is_intoto_payload_type("application/vnd.in-toto.+json"));
        assert!(!is_intoto_payload_type(
            "application/vnd.in-toto+json; charset=utf-8"
        ));
        assert!(!is_intoto_payload_type("application/json"));
    }

    #[test]
    fn versioned_sbom_predicate_types_are_classified() {
        assert_eq!(
            predicate_kind("https://spdx.dev/Document/v2.3"),
            PredicateKind::Spdx
        );
        assert_eq!(
            predicate_kind("https://spdx.dev/Document"),
            PredicateKind::Spdx
        );
        assert_eq!(
            predicate_kind("https://cyclonedx.org/bom/v1.4"),
            PredicateKind::CycloneDx
        );
        assert_eq!(
            predicate_kind("https://cyclonedx.org/bom"),
            PredicateKind::CycloneDx
        );
        assert_eq!(
            predicate_kind("https://slsa.dev/provenance/v1"),
            PredicateKind::SlsaProvenanceV1
        );
        assert_eq!(
            predicate_kind("https://slsa.dev/provenance/v0.2"),
            PredicateKind::SlsaProvenanceV02
        );
        assert_eq!(
            predicate_kind(PREDICATE_COSIGN_SIGN),
            PredicateKind::CosignSign
        );
        assert_eq!(predicate_kind(PREDICATE_VSA_V1), PredicateKind::Vsa);
    }

    #[test]
    fn look_alike_predicate_types_are_other() {
        for t in [
            "https://spdx.dev/Document/",
            "https://spdx.dev/Document/v3.0",
            "https://spdx.dev/Document/v2.",
            "https://spdx.dev/Documentation",
            "http://spdx.dev/Document",
            "https://cyclonedx.org/bom/v1.4x",
            "https://slsa.dev/provenance/v1.0",
            "https://syft.dev/bom",
            "notreallyslsaprovenance",
        ] {
            assert_eq!(predicate_kind(t), PredicateKind::Other, "{t}");
        }
    }

    #[test]
    fn unversioned_sbom_requirement_accepts_any_version() {
        assert!(predicate_type_matches(
            PREDICATE_SPDX,
            "https://spdx.dev/Document/v2.3"
        ));
        assert!(predicate_type_matches(
            PREDICATE_CYCLONEDX,
            "https://cyclonedx.org/bom/v1.5"
        ));
        assert!(predicate_type_matches(PREDICATE_SPDX, PREDICATE_SPDX));
    }

    #[test]
    fn versioned_or_other_requirement_needs_exact_match() {
        assert!(!predicate_type_matches(
            "https://spdx.dev/Document/v2.3",
            "https://spdx.dev/Document/v2.2"
        ));
        assert!(!predicate_type_matches(
            "https://spdx.dev/Document/v2.3",
            PREDICATE_SPDX
        ));
        assert!(!predicate_type_matches(PREDICATE_SPDX, PREDICATE_CYCLONEDX));
        assert!(!predicate_type_matches(
            PREDICATE_SLSA_PROVENANCE_V02,
            PREDICATE_SLSA_PROVENANCE_V1
        ));
        assert!(!predicate_type_matches(
            "notreallyslsaprovenance",
            PREDICATE_SLSA_PROVENANCE_V02
        ));
    }
}

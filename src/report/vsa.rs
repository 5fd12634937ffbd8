//! The signed report: a DSSE envelope (payloadType `application/vnd.in-toto+json`) around an
//! in-toto Statement v1 whose predicate is a SLSA Verification Summary Attestation (VSA v1,
//! `https://slsa.dev/verification_summary/v1`) carrying the whole `airlock.report/v1` document in
//! the extension field [`REPORT_FIELD`].
//!
//! ```json
//! {"_type": "https://in-toto.io/Statement/v1",
//!  "subject": [{"name": "registry.example/app:1.0", "digest": {"sha256": "…"}}, …],
//!  "predicateType": "https://slsa.dev/verification_summary/v1",
//!  "predicate": {
//!    "verifier": {"id": "urn:airlock:verifier", "version": {"airlock": "0.1.0"}},
//!    "timeVerified": "2026-01-31T12:00:00Z",
//!    "resourceUri": "file:///srv/bundles/demo",
//!    "policy": {"uri": "file:///srv/policies/site.yaml", "digest": {"sha256": "…"}},
//!    "inputAttestations": [{"name": "registry.example/app@sha256:…",
//!                           "uri": "oci://registry.example/app@sha256:…", "digest": {"sha256": "…"}}],
//!    "verificationResult": "PASSED",
//!    "verifiedLevels": [],                  // ["FAILED"] when the result is FAILED
//!    "urn:airlock:report": { …the airlock.report/v1 document… }}}
//! ```
//!
//! Everything in the statement except `resourceUri` and `policy.uri` is derived from the embedded
//! report by [`subjects`] and [`input_attestations`], so [`verify`] can recompute it and refuse a
//! statement that says something its own report does not. Subject names are informational (as in
//! in-toto): the check compares digests. docs/report.md is the reference for this mapping.
//!
//! Limits: [`MAX_REPORT_FILE_BYTES`] for a report file of either form, [`MAX_QUOTED_CHARS`] and
//! [`MAX_LISTED_DIFFERENCES`] for what an error quotes; the DSSE and in-toto parsers apply their
//! own (envelope size, JSON depth, signature and subject counts).
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::formats::dsse::{
    json_too_deep, DsseError, Envelope, INTOTO_PAYLOAD_TYPE, MAX_JSON_DEPTH,
};
use crate::formats::intoto::{
    Statement, StatementError, StatementVersion, PREDICATE_VSA_V1, STATEMENT_V1,
};
use crate::keys::{KeyError, PublicKey, SigningKey};
use crate::oci::{Digest, Reference};
use crate::report::{Outcome, Report, REPORT_SCHEMA};
use crate::sign::sign_envelope;

/// `predicate.verifier.id`: airlock names itself with a URN, not a URL it does not control.
pub const VERIFIER_ID: &str = "urn:airlock:verifier";
/// Key of `predicate.verifier.version` holding airlock's version.
pub const VERIFIER_VERSION_KEY: &str = "airlock";
/// The predicate's extension field holding the full `airlock.report/v1` document. Extension
/// fields are URI-named (a URN, like [`VERIFIER_ID`]); reports signed before carry it as
/// [`LEGACY_REPORT_FIELD`], which is still read.
pub const REPORT_FIELD: &str = "urn:airlock:report";
/// The extension field's name in reports signed by earlier versions.
pub const LEGACY_REPORT_FIELD: &str = "airlockReport";
/// Subject name used for the bundle's lock file (`inputs.lockSha256`).
pub const LOCK_SUBJECT_NAME: &str = "airlock.lock.json";
/// `verificationResult` values.
pub const PASSED: &str = "PASSED";
pub const FAILED: &str = "FAILED";
/// Largest report file (plain JSON or signed envelope) read, in bytes.
pub const MAX_REPORT_FILE_BYTES: usize = crate::formats::dsse::MAX_ENVELOPE_BYTES;
/// At most this many individual differences are listed in one consistency error.
pub const MAX_LISTED_DIFFERENCES: usize = 8;
/// Longest piece of text from the file quoted in an error message, in characters.
pub const MAX_QUOTED_CHARS: usize = 200;

/// Why a report cannot be signed, opened or verified.
#[derive(Debug, thiserror::Error)]
pub enum VsaError {
    #[error("the report file is {found} bytes, larger than the limit of {limit} bytes; expected an airlock report (treat an oversized file as hostile)")]
    TooLarge { limit: usize, found: usize },
    #[error("the report file nests JSON too deeply (limit: fewer than {limit} levels); expected an airlock report")]
    TooDeep { limit: usize },
    #[error("the report file is not JSON ({0}); expected an airlock.report/v1 document or its DSSE-signed form")]
    NotJson(String),
    #[error("the report file is a JSON {found}, neither an airlock.report/v1 document (with \"schema\") nor a DSSE envelope (with \"payloadType\")")]
    UnknownShape { found: String },
    #[error("the file is a plain (unsigned) airlock report; expected the signed form (a DSSE envelope), which `airlock verify --report FILE --sign-key KEY` writes")]
    Unsigned,
    #[error("{0}")]
    Envelope(DsseError),
    #[error("the envelope's payloadType is {found:?}; expected {INTOTO_PAYLOAD_TYPE:?} (an in-toto statement)")]
    PayloadType { found: String },
    #[error("signature check failed: {0}; the report was altered after signing or was signed by another key")]
    Signature(DsseError),
    #[error("the signed payload is not a valid in-toto statement: {0}")]
    Statement(StatementError),
    #[error("the statement's _type is {found:?}; expected {STATEMENT_V1:?}")]
    StatementVersion { found: String },
    #[error("the statement's predicateType is {found:?}; expected {PREDICATE_VSA_V1:?} (a SLSA verification summary)")]
    PredicateType { found: String },
    #[error("the verification summary predicate does not have the expected shape: {0}")]
    Predicate(String),
    #[error("the embedded report's schema is {found:?}; expected {REPORT_SCHEMA:?}")]
    Schema { found: String },
    #[error("the plain report does not parse: {0}")]
    Report(String),
    #[error("the signed statement does not match its embedded report: {}", .0.join("; "))]
    Inconsistent(Vec<String>),
    #[error("the report names no digest (no image was read from the bundle and there is no lock), so a signed statement would have no subject; fix the bundle (see the report's findings) or write the plain report without --sign-key")]
    NoSubjects,
    #[error("signing the report failed: {0}")]
    Sign(KeyError),
    #[error("could not serialise the statement: {0}")]
    Serialise(String),
}

/// `predicate.verifier`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VsaVerifier {
    pub id: String,
    #[serde(default)]
    pub version: BTreeMap<String, String>,
}

/// An in-toto ResourceDescriptor (the fields airlock writes).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResourceDescriptor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default)]
    pub digest: BTreeMap<String, String>,
}

/// The SLSA VSA v1 predicate with airlock's extension field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VsaPredicate {
    pub verifier: VsaVerifier,
    pub time_verified: String,
    pub resource_uri: String,
    pub policy: ResourceDescriptor,
    #[serde(default)]
    pub input_attestations: Vec<ResourceDescriptor>,
    pub verification_result: String,
    #[serde(default)]
    pub verified_levels: Vec<String>,
    #[serde(rename = "urn:airlock:report", alias = "airlockReport")]
    pub airlock_report: Report,
}

/// One statement subject: name and digest set (`algorithm -> hex`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct VsaSubject {
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct OutStatement<'a> {
    #[serde(rename = "_type")]
    type_: &'static str,
    subject: &'a [VsaSubject],
    #[serde(rename = "predicateType")]
    predicate_type: &'static str,
    predicate: &'a VsaPredicate,
}

/// What the report does not say itself: where the verified resource and the policy live.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// `predicate.resourceUri`: the bundle (or registry) that was verified.
    pub resource_uri: String,
    /// `predicate.policy.uri`.
    pub policy_uri: String,
}

impl Context {
    /// URIs derived from the report's own strings (`inputs.bundle`, `policy.path`), as
    /// [`path_uri`] forms them. Prefer absolute paths (see [`file_uri`]) when they are known.
    pub fn from_report(report: &Report) -> Context {
        Context {
            resource_uri: path_uri(report.inputs.bundle.as_deref().unwrap_or("")),
            policy_uri: path_uri(&report.policy.path),
        }
    }
}

/// `file://` URI of an absolute path (`/` separated), percent-encoding everything but unreserved
/// characters and `/`.
pub fn file_uri(absolute_path: &str) -> String {
    let mut out = String::from("file://");
    if !absolute_path.starts_with('/') {
        out.push('/');
    }
    percent_encode_path(absolute_path, &mut out);
    out
}

/// A URI reference for a path as given: absolute paths become `file://` URIs, strings that
/// already have a URI scheme are kept, relative paths become percent-encoded relative references.
pub fn path_uri(path: &str) -> String {
    if path.starts_with('/') {
        return file_uri(path);
    }
    if has_uri_scheme(path) {
        return path.to_string();
    }
    let mut out = String::new();
    percent_encode_path(path, &mut out);
    out
}

fn has_uri_scheme(s: &str) -> bool {
    match s.split_once(':') {
        Some((scheme, _)) => {
            scheme.len() > 1
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

fn percent_encode_path(path: &str, out: &mut String) {
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// The digest as a subject digest map, when it parses (`sha256:<hex>` or bare 64-hex sha256).
fn digest_map(d: &str) -> Option<(String, BTreeMap<String, String>)> {
    let parsed = Digest::parse(d)
        .or_else(|_| Digest::parse(&format!("sha256:{d}")))
        .ok()?;
    let mut m = BTreeMap::new();
    m.insert(
        parsed.algorithm().as_str().to_string(),
        parsed.hex().to_string(),
    );
    Some((parsed.to_string(), m))
}

/// How attachments and platform children of an image are named: `repository@digest`.
fn child_name(repository: Option<&str>, digest: &str) -> String {
    match repository {
        Some(r) => format!("{r}@{digest}"),
        None => digest.to_string(),
    }
}

fn repository_of(image_ref: &str) -> Option<String> {
    Reference::parse(image_ref).ok().map(|r| r.repository())
}

/// The statement's subjects, derived from the report: each image (named by its reference as
/// captured), each present platform child, each signature and attestation manifest that was
/// examined (named `repository@digest`), and the bundle's lock file ([`LOCK_SUBJECT_NAME`]).
/// First occurrence of a digest wins; entries without a valid digest (a missing platform, an
/// image not in the bundle) are left out.
pub fn subjects(report: &Report) -> Vec<VsaSubject> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut add = |name: String, digest: &str| {
        if let Some((key, map)) = digest_map(digest) {
            if seen.insert(key) {
                out.push(VsaSubject { name, digest: map });
            }
        }
    };
    for img in &report.images {
        let repo = repository_of(&img.r#ref);
        add(img.r#ref.clone(), &img.digest);
        for p in img.platforms.iter().filter(|p| p.present) {
            add(child_name(repo.as_deref(), &p.digest), &p.digest);
        }
        for s in &img.signatures {
            add(child_name(repo.as_deref(), &s.manifest), &s.manifest);
        }
        for a in &img.attestations {
            add(child_name(repo.as_deref(), &a.manifest), &a.manifest);
        }
    }
    if let Some(lock) = &report.inputs.lock_sha256 {
        add(LOCK_SUBJECT_NAME.to_string(), lock);
    }
    out
}

/// `predicate.inputAttestations`: every attestation manifest the report examined (verified or
/// not; the embedded report says which), once each, and every attestation envelope a provenance,
/// scan or VEX decision used; each with `uri` (`oci://REPOSITORY@MANIFEST`) and `digest`.
pub fn input_attestations(report: &Report) -> Vec<ResourceDescriptor> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for img in &report.images {
        let repo = repository_of(&img.r#ref);
        for a in &img.attestations {
            if let Some((key, digest)) = digest_map(&a.manifest) {
                if seen.insert(key) {
                    let name = child_name(repo.as_deref(), &a.manifest);
                    out.push(ResourceDescriptor {
                        uri: Some(attestation_uri(repo.as_deref(), &a.manifest)),
                        name: Some(name),
                        digest,
                    });
                }
            }
        }
        // The envelopes a provenance, vulnerability or VEX decision used, by their own digest.
        for u in &img.judged.attestations_used {
            if let Some((key, digest)) = digest_map(&u.digest) {
                if seen.insert(key) {
                    out.push(ResourceDescriptor {
                        name: Some(format!("{} ({})", u.purpose, u.predicate_type)),
                        uri: Some(format!(
                            "oci://{}",
                            child_name(repo.as_deref(), &u.manifest)
                        )),
                        digest,
                    });
                }
            }
        }
    }
    out
}

/// Where an examined attestation manifest is: `oci://REPOSITORY@DIGEST` (the repository it was
/// captured from), or `urn:airlock:manifest:DIGEST` when the image's repository is unknown.
fn attestation_uri(repository: Option<&str>, digest: &str) -> String {
    match repository {
        Some(r) => format!("oci://{r}@{digest}"),
        None => format!("urn:airlock:manifest:{digest}"),
    }
}

/// `predicate.verifiedLevels`: `["FAILED"]` for a failed report (SLSA VSA v1); airlock claims no
/// SLSA level for a passed one.
pub fn verified_levels(o: Outcome) -> Vec<String> {
    match o {
        Outcome::Pass => Vec::new(),
        Outcome::Fail => vec![FAILED.to_string()],
    }
}

fn result_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => PASSED,
        Outcome::Fail => FAILED,
    }
}

fn bare_sha256(s: &str) -> &str {
    s.strip_prefix("sha256:").unwrap_or(s)
}

/// The VSA predicate for `report`.
pub fn predicate(report: &Report, ctx: &Context) -> VsaPredicate {
    let mut version = BTreeMap::new();
    version.insert(
        VERIFIER_VERSION_KEY.to_string(),
        report.verifier.version.clone(),
    );
    let mut policy_digest = BTreeMap::new();
    policy_digest.insert(
        "sha256".to_string(),
        bare_sha256(&report.policy.sha256).to_string(),
    );
    VsaPredicate {
        verifier: VsaVerifier {
            id: VERIFIER_ID.to_string(),
            version,
        },
        time_verified: report.time.clone(),
        resource_uri: ctx.resource_uri.clone(),
        policy: ResourceDescriptor {
            name: None,
            uri: Some(ctx.policy_uri.clone()),
            digest: policy_digest,
        },
        input_attestations: input_attestations(report),
        verification_result: result_word(report.result).to_string(),
        verified_levels: verified_levels(report.result),
        airlock_report: report.clone(),
    }
}

/// The in-toto statement (JSON bytes) for `report`.
pub fn statement(report: &Report, ctx: &Context) -> Result<Vec<u8>, VsaError> {
    let subjects = subjects(report);
    if subjects.is_empty() {
        return Err(VsaError::NoSubjects);
    }
    let predicate = predicate(report, ctx);
    let st = OutStatement {
        type_: STATEMENT_V1,
        subject: &subjects,
        predicate_type: PREDICATE_VSA_V1,
        predicate: &predicate,
    };
    serde_json::to_vec(&st).map_err(|e| VsaError::Serialise(e.to_string()))
}

/// The signed report: a DSSE envelope (JSON bytes, trailing newline) over [`statement`].
pub fn sign(report: &Report, ctx: &Context, key: &SigningKey) -> Result<Vec<u8>, VsaError> {
    let payload = statement(report, ctx)?;
    sign_envelope(INTOTO_PAYLOAD_TYPE, &payload, key).map_err(VsaError::Sign)
}

/// How a report file was sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seal {
    /// A plain `airlock.report/v1` JSON document: nothing vouches for it.
    Plain,
    /// A DSSE envelope whose signature was not checked (no key given); `key_ids` are the
    /// envelope's unauthenticated hints.
    Unchecked { key_ids: Vec<String> },
    /// A DSSE envelope whose signature verified with this key, and whose statement matches
    /// its embedded report.
    Verified { key_id: String, algorithm: String },
}

/// A report file read for display.
#[derive(Clone, Debug)]
pub struct Opened {
    pub report: Report,
    pub seal: Seal,
    /// The VSA predicate, for the signed form.
    pub predicate: Option<VsaPredicate>,
}

/// The result of [`verify`].
#[derive(Clone, Debug)]
pub struct Verified {
    /// Id (`sha256:<hex>` of the SPKI) of the key whose signature verified.
    pub key_id: String,
    pub algorithm: String,
    pub predicate: VsaPredicate,
    pub subjects: Vec<VsaSubject>,
}

impl Verified {
    pub fn report(&self) -> &Report {
        &self.predicate.airlock_report
    }
    pub fn seal(&self) -> Seal {
        Seal::Verified {
            key_id: self.key_id.clone(),
            algorithm: self.algorithm.clone(),
        }
    }
}

enum Shape {
    Plain,
    Envelope,
}

fn shape(bytes: &[u8]) -> Result<Shape, VsaError> {
    if bytes.len() > MAX_REPORT_FILE_BYTES {
        return Err(VsaError::TooLarge {
            limit: MAX_REPORT_FILE_BYTES,
            found: bytes.len(),
        });
    }
    if json_too_deep(bytes) {
        return Err(VsaError::TooDeep {
            limit: MAX_JSON_DEPTH,
        });
    }
    let v: Value = serde_json::from_slice(bytes).map_err(|e| VsaError::NotJson(e.to_string()))?;
    let Value::Object(map) = &v else {
        return Err(VsaError::UnknownShape {
            found: json_kind(&v).to_string(),
        });
    };
    if map.contains_key("payloadType") {
        Ok(Shape::Envelope)
    } else if map.contains_key("schema") {
        Ok(Shape::Plain)
    } else {
        Err(VsaError::UnknownShape {
            found: "object".to_string(),
        })
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn parse_plain(bytes: &[u8]) -> Result<Report, VsaError> {
    let report: Report =
        serde_json::from_slice(bytes).map_err(|e| VsaError::Report(e.to_string()))?;
    if report.schema != REPORT_SCHEMA {
        return Err(VsaError::Schema {
            found: shorten(&report.schema),
        });
    }
    Ok(report)
}

/// Parse the envelope and its statement (without checking the signature).
fn parse_signed(bytes: &[u8]) -> Result<(Envelope, Statement, VsaPredicate), VsaError> {
    let env = Envelope::parse(bytes).map_err(VsaError::Envelope)?;
    let (st, pred) = parse_payload(&env)?;
    Ok((env, st, pred))
}

fn parse_payload(env: &Envelope) -> Result<(Statement, VsaPredicate), VsaError> {
    if env.payload_type != INTOTO_PAYLOAD_TYPE {
        return Err(VsaError::PayloadType {
            found: shorten(&env.payload_type),
        });
    }
    let st = Statement::parse(&env.payload).map_err(VsaError::Statement)?;
    if st.version != StatementVersion::V1 {
        return Err(VsaError::StatementVersion {
            found: st.version.type_uri().to_string(),
        });
    }
    if st.predicate_type != PREDICATE_VSA_V1 {
        return Err(VsaError::PredicateType {
            found: shorten(&st.predicate_type),
        });
    }
    let pred: VsaPredicate = serde_json::from_value(st.predicate.clone())
        .map_err(|e| VsaError::Predicate(e.to_string()))?;
    if pred.airlock_report.schema != REPORT_SCHEMA {
        return Err(VsaError::Schema {
            found: shorten(&pred.airlock_report.schema),
        });
    }
    Ok((st, pred))
}

/// Read a report file of either form for display. The signature is NOT checked (see
/// [`Seal::Unchecked`]); use [`verify`] for that.
pub fn open(bytes: &[u8]) -> Result<Opened, VsaError> {
    match shape(bytes)? {
        Shape::Plain => Ok(Opened {
            report: parse_plain(bytes)?,
            seal: Seal::Plain,
            predicate: None,
        }),
        Shape::Envelope => {
            let (env, _, pred) = parse_signed(bytes)?;
            let key_ids = env
                .signatures
                .iter()
                .map(|s| s.keyid.clone().unwrap_or_default())
                .collect();
            Ok(Opened {
                report: pred.airlock_report.clone(),
                seal: Seal::Unchecked { key_ids },
                predicate: Some(pred),
            })
        }
    }
}

/// Verify a signed report with `key`: the DSSE signature over the exact payload, the payload
/// type, the statement type and predicate type, and that the statement agrees with its embedded
/// report (subjects, result, time, policy digest, verifier, input attestations, and a result
/// that its own findings allow).
pub fn verify(bytes: &[u8], key: &PublicKey) -> Result<Verified, VsaError> {
    if let Shape::Plain = shape(bytes)? {
        return Err(VsaError::Unsigned);
    }
    let env = Envelope::parse(bytes).map_err(VsaError::Envelope)?;
    if env.payload_type != INTOTO_PAYLOAD_TYPE {
        return Err(VsaError::PayloadType {
            found: shorten(&env.payload_type),
        });
    }
    env.verify(key).map_err(VsaError::Signature)?;
    let (st, pred) = parse_payload(&env)?;
    let problems = consistency(&st, &pred);
    if !problems.is_empty() {
        return Err(VsaError::Inconsistent(problems));
    }
    Ok(Verified {
        key_id: key.key_id(),
        algorithm: key.algorithm().to_string(),
        subjects: st
            .subjects
            .into_iter()
            .map(|s| VsaSubject {
                name: s.name,
                digest: s.digest,
            })
            .collect(),
        predicate: pred,
    })
}

/// Everything the statement says that its embedded report does not support.
fn consistency(st: &Statement, pred: &VsaPredicate) -> Vec<String> {
    let report = &pred.airlock_report;
    let mut problems = Vec::new();

    let expected_result = result_word(report.result);
    if pred.verification_result != expected_result {
        problems.push(format!(
            "verificationResult is {:?} but the embedded report's result is {:?} (expected {expected_result:?})",
            shorten(&pred.verification_result),
            report.result.as_str()
        ));
    }
    if report.result == Outcome::Pass {
        let errors = report.all_findings().filter(|f| f.is_error()).count();
        if errors > 0 {
            problems.push(format!(
                "the embedded report says pass but holds {errors} error finding(s)"
            ));
        }
        if let Some(img) = report
            .images
            .iter()
            .find(|i| i.result == Outcome::Fail || i.findings.iter().any(|f| f.is_error()))
        {
            problems.push(format!(
                "the embedded report says pass but image {:?} failed",
                shorten(&img.r#ref)
            ));
        }
    }

    // Subject names are informational (in-toto); the digests are what the statement is about.
    let want: Vec<DigestSet> = subjects(report).into_iter().map(|s| s.digest).collect();
    let got: Vec<DigestSet> = st.subjects.iter().map(|s| s.digest.clone()).collect();
    compare_sets(
        "subject digest",
        &want,
        &got,
        describe_digest,
        &mut problems,
    );

    if pred.time_verified != report.time {
        problems.push(format!(
            "timeVerified is {:?} but the embedded report's time is {:?}",
            shorten(&pred.time_verified),
            shorten(&report.time)
        ));
    }
    let policy_sha = pred.policy.digest.get("sha256").map(String::as_str);
    if policy_sha != Some(bare_sha256(&report.policy.sha256)) || pred.policy.digest.len() != 1 {
        problems.push(format!(
            "policy.digest is {{{}}} but the embedded report's policy sha256 is {:?}",
            describe_digest(&pred.policy.digest),
            shorten(&report.policy.sha256)
        ));
    }
    if pred.verifier.id != VERIFIER_ID {
        problems.push(format!(
            "verifier.id is {:?}; expected {VERIFIER_ID:?}",
            shorten(&pred.verifier.id)
        ));
    }
    let version = pred.verifier.version.get(VERIFIER_VERSION_KEY);
    if version != Some(&report.verifier.version) {
        problems.push(format!(
            "verifier.version.{VERIFIER_VERSION_KEY} is {:?} but the embedded report was made by version {:?}",
            version.map(|v| shorten(v)),
            shorten(&report.verifier.version)
        ));
    }
    if pred.verified_levels != verified_levels(report.result) {
        problems.push(format!(
            "verifiedLevels is {:?} but the embedded report's result gives {:?}",
            pred.verified_levels
                .iter()
                .take(MAX_LISTED_DIFFERENCES)
                .map(|l| shorten(l))
                .collect::<Vec<_>>(),
            verified_levels(report.result)
        ));
    }
    for (i, a) in pred.input_attestations.iter().enumerate() {
        if a.uri.as_deref().is_none_or(str::is_empty) || a.digest.is_empty() {
            problems.push(format!(
                "inputAttestations[{i}] lacks a uri or a digest; every entry needs both"
            ));
            break;
        }
    }
    let want_att: Vec<DigestSet> = input_attestations(report)
        .into_iter()
        .map(|d| d.digest)
        .collect();
    let got_att: Vec<DigestSet> = pred
        .input_attestations
        .iter()
        .map(|d| d.digest.clone())
        .collect();
    compare_sets(
        "inputAttestations digest",
        &want_att,
        &got_att,
        describe_digest,
        &mut problems,
    );
    problems
}

/// A subject's digest set: algorithm -> lowercase hex.
type DigestSet = BTreeMap<String, String>;

fn describe_digest(m: &DigestSet) -> String {
    m.iter()
        .map(|(k, v)| format!("{}:{}", shorten(k), shorten(v)))
        .collect::<Vec<_>>()
        .join(",")
}

/// Equal as multisets? Otherwise name what is missing and what is extra.
fn compare_sets<T: Ord + Clone>(
    what: &str,
    want: &[T],
    got: &[T],
    describe: fn(&T) -> String,
    problems: &mut Vec<String>,
) {
    let mut w = want.to_vec();
    let mut g = got.to_vec();
    w.sort();
    g.sort();
    if w == g {
        return;
    }
    let mut missing = Vec::new();
    let mut extra = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < w.len() || j < g.len() {
        match (w.get(i), g.get(j)) {
            (Some(a), Some(b)) if a == b => {
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a < b => {
                missing.push(a);
                i += 1;
            }
            (Some(_), Some(b)) => {
                extra.push(b);
                j += 1;
            }
            (Some(a), None) => {
                missing.push(a);
                i += 1;
            }
            (None, Some(b)) => {
                extra.push(b);
                j += 1;
            }
            (None, None) => break,
        }
    }
    let list = |items: &[&T]| {
        let mut s: Vec<String> = items
            .iter()
            .take(MAX_LISTED_DIFFERENCES)
            .map(|x| describe(x))
            .collect();
        if items.len() > MAX_LISTED_DIFFERENCES {
            s.push(format!("… {} more", items.len() - MAX_LISTED_DIFFERENCES));
        }
        s.join(", ")
    };
    if !missing.is_empty() {
        problems.push(format!(
            "{} {what}(s) derived from the embedded report are not in the statement: {}",
            missing.len(),
            list(&missing)
        ));
    }
    if !extra.is_empty() {
        problems.push(format!(
            "{} {what}(s) in the statement are not derived from the embedded report: {}",
            extra.len(),
            list(&extra)
        ));
    }
}

/// At most [`MAX_QUOTED_CHARS`] characters of hostile text, for error messages.
fn shorten(s: &str) -> String {
    crate::text::shorten(s, MAX_QUOTED_CHARS)
}

impl fmt::Display for Seal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Seal::Plain => f.write_str("unsigned (plain JSON report; nothing vouches for it)"),
            Seal::Unchecked { key_ids } => {
                let ids: Vec<&str> = key_ids
                    .iter()
                    .map(|k| if k.is_empty() { "(no key id)" } else { k })
                    .collect();
                write!(
                    f,
                    "signed (DSSE) by key id {}, signature NOT checked here: run `airlock report verify FILE --key PUB`",
                    ids.join(", ")
                )
            }
            Seal::Verified { key_id, algorithm } => write!(
                f,
                "signature verified with key {key_id} ({algorithm}); statement matches the report"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyAlgorithm;
    use crate::report::{
        AttestationEntry, Code, Finding, ImageReport, PlatformEntry, PolicyRef, SignatureEntry,
    };
    use base64::Engine;

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    const D3: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
    const D4: &str = "sha256:4444444444444444444444444444444444444444444444444444444444444444";
    const D5: &str = "sha256:5555555555555555555555555555555555555555555555555555555555555555";

    fn sample() -> Report {
        let mut r = Report::new(
            "2026-01-31T12:00:00Z".into(),
            PolicyRef {
                path: "policies/site policy.yaml".into(),
                sha256: "ab".repeat(32),
            },
        );
        r.inputs.bundle = Some("/srv/bundle".into());
        r.inputs.lock_sha256 = Some(D5.into());
        r.images.push(ImageReport {
            r#ref: "registry.example/team/app:1.0".into(),
            digest: D1.into(),
            result: Outcome::Pass,
            rule: None,
            platforms: vec![
                PlatformEntry {
                    platform: "linux/amd64".into(),
                    digest: D2.into(),
                    present: true,
                },
                PlatformEntry {
                    platform: "linux/arm64".into(),
                    digest: "sha256:missing".into(),
                    present: false,
                },
            ],
            signatures: vec![SignatureEntry {
                format: "cosign".into(),
                subject: D1.into(),
                manifest: D3.into(),
                verified: true,
                signer: Some("release".into()),
                key_id: None,
                docker_reference: None,
            }],
            attestations: vec![
                AttestationEntry {
                    predicate_type: "https://slsa.dev/provenance/v1".into(),
                    subject: D1.into(),
                    manifest: D4.into(),
                    verified: true,
                    signer: None,
                    key_id: None,
                },
                AttestationEntry {
                    predicate_type: "https://spdx.dev/Document".into(),
                    subject: D1.into(),
                    manifest: D4.into(),
                    verified: true,
                    signer: None,
                    key_id: None,
                },
            ],
            sboms: vec![],
            findings: vec![],
            judged: Default::default(),
        });
        r.finalise();
        r
    }

    fn ctx() -> Context {
        Context::from_report(&sample())
    }

    #[test]
    fn subjects_cover_image_present_platforms_attachments_and_lock_once_each() {
        let s = subjects(&sample());
        let names: Vec<&str> = s.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "registry.example/team/app:1.0",
                &format!("registry.example/team/app@{D2}"),
                &format!("registry.example/team/app@{D3}"),
                &format!("registry.example/team/app@{D4}"),
                LOCK_SUBJECT_NAME,
            ]
        );
        assert_eq!(s[0].digest["sha256"], "1".repeat(64));
        assert_eq!(input_attestations(&sample()).len(), 1);
    }

    #[test]
    fn context_from_report_makes_uris() {
        let c = ctx();
        assert_eq!(c.resource_uri, "file:///srv/bundle");
        assert_eq!(c.policy_uri, "policies/site%20policy.yaml");
        assert_eq!(file_uri("/a b/c#d"), "file:///a%20b/c%23d");
        assert_eq!(path_uri("oci://x"), "oci://x");
    }

    #[test]
    fn signed_report_round_trips_and_names_the_key() {
        let k = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let env = sign(&sample(), &ctx(), &k).unwrap();
        let v = verify(&env, &k.public_key()).unwrap();
        assert_eq!(v.key_id, k.public_key().key_id());
        assert_eq!(v.report(), &sample());
        assert_eq!(v.predicate.verification_result, PASSED);
        let opened = open(&env).unwrap();
        assert!(matches!(opened.seal, Seal::Unchecked { .. }));
        assert_eq!(opened.report, sample());
    }

    #[test]
    fn ed25519_signed_report_verifies() {
        let k = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let env = sign(&sample(), &ctx(), &k).unwrap();
        assert!(verify(&env, &k.public_key()).is_ok());
    }

    #[test]
    fn wrong_key_fails_with_signature_error() {
        let k = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let other = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let env = sign(&sample(), &ctx(), &k).unwrap();
        assert!(matches!(
            verify(&env, &other.public_key()),
            Err(VsaError::Signature(_))
        ));
    }

    #[test]
    fn plain_report_is_not_a_signed_report_but_opens() {
        let k = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let plain = crate::report::render::json(&sample());
        assert!(matches!(
            verify(plain.as_bytes(), &k.public_key()),
            Err(VsaError::Unsigned)
        ));
        let o = open(plain.as_bytes()).unwrap();
        assert_eq!(o.seal, Seal::Plain);
    }

    type Edit = Box<dyn Fn(&mut Value)>;

    /// Re-sign a statement edited by `edit`, so only the consistency check can catch it.
    fn resigned(edit: impl Fn(&mut Value)) -> Result<Verified, VsaError> {
        let k = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let mut st: Value = serde_json::from_slice(&statement(&sample(), &ctx()).unwrap()).unwrap();
        edit(&mut st);
        let env =
            sign_envelope(INTOTO_PAYLOAD_TYPE, &serde_json::to_vec(&st).unwrap(), &k).unwrap();
        verify(&env, &k.public_key())
    }

    #[test]
    fn statement_that_disagrees_with_its_report_is_inconsistent() {
        assert!(resigned(|_| {}).is_ok());
        let cases: Vec<(&str, Edit)> = vec![
            (
                "result",
                Box::new(|st| st["predicate"]["verificationResult"] = "FAILED".into()),
            ),
            (
                "extra subject",
                Box::new(|st| {
                    st["subject"].as_array_mut().unwrap().push(
                        serde_json::json!({"name": "x", "digest": {"sha256": "9".repeat(64)}}),
                    )
                }),
            ),
            (
                "missing subject",
                Box::new(|st| {
                    st["subject"].as_array_mut().unwrap().pop();
                }),
            ),
            (
                "time",
                Box::new(|st| st["predicate"]["timeVerified"] = "2030-01-01T00:00:00Z".into()),
            ),
            (
                "policy",
                Box::new(|st| st["predicate"]["policy"]["digest"]["sha256"] = "00".into()),
            ),
            (
                "verifier",
                Box::new(|st| st["predicate"]["verifier"]["id"] = "urn:other".into()),
            ),
            (
                "input attestations",
                Box::new(|st| st["predicate"]["inputAttestations"] = serde_json::json!([])),
            ),
            (
                "pass with errors",
                Box::new(|st| {
                    st["predicate"]["urn:airlock:report"]["images"][0]["findings"] =
                        serde_json::to_value(vec![Finding::error(Code::SignatureMissing, "x", "y")])
                            .unwrap()
                }),
            ),
        ];
        for (name, edit) in cases {
            match resigned(edit) {
                Err(VsaError::Inconsistent(p)) => assert!(!p.is_empty(), "{name}"),
                other => panic!("{name}: expected Inconsistent, got {other:?}"),
            }
        }
    }

    #[test]
    fn wrong_predicate_type_and_statement_version_are_refused() {
        assert!(matches!(
            resigned(|st| st["predicateType"] = "https://slsa.dev/provenance/v1".into()),
            Err(VsaError::PredicateType { .. })
        ));
        assert!(matches!(
            resigned(|st| st["_type"] = "https://in-toto.io/Statement/v0.1".into()),
            Err(VsaError::StatementVersion { .. })
        ));
        assert!(matches!(
            resigned(|st| st["predicate"]["urn:airlock:report"]["schema"] = "other/v9".into()),
            Err(VsaError::Schema { .. })
        ));
    }

    #[test]
    fn every_flipped_payload_byte_fails() {
        let k = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let env = sign(&sample(), &ctx(), &k).unwrap();
        let e = Envelope::parse(&env).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD;
        for i in (0..e.payload.len()).step_by(97) {
            let mut p = e.payload.clone();
            p[i] ^= 0x01;
            let doc = serde_json::json!({"payloadType": INTOTO_PAYLOAD_TYPE, "payload": b64.encode(&p),
                "signatures": [{"keyid": "", "sig": b64.encode(&e.signatures[0].sig)}]});
            let bytes = serde_json::to_vec(&doc).unwrap();
            assert!(verify(&bytes, &k.public_key()).is_err(), "byte {i}");
        }
    }

    #[test]
    fn report_without_any_digest_cannot_be_signed() {
        let k = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let mut r = Report::new("2026-01-31T12:00:00Z".into(), PolicyRef::default());
        r.findings
            .push(Finding::error(Code::LayoutInvalid, "/b", "no index.json"));
        r.finalise();
        assert!(matches!(sign(&r, &ctx(), &k), Err(VsaError::NoSubjects)));
    }

    #[test]
    fn junk_is_refused_with_a_named_shape() {
        assert!(matches!(open(b"[1,2]"), Err(VsaError::UnknownShape { .. })));
        assert!(matches!(
            open(b"{\"a\":1}"),
            Err(VsaError::UnknownShape { .. })
        ));
        assert!(matches!(open(b"nope"), Err(VsaError::NotJson(_))));
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(matches!(
            open(deep.as_bytes()),
            Err(VsaError::TooDeep { .. })
        ));
    }
}

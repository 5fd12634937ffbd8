//! Vulnerability scans: cosign's vulnerability predicate
//! (`https://cosign.sigstore.dev/attestation/vuln/v1`) holding a Trivy or Grype JSON result.
//!
//! ```json
//! {"invocation": {…},
//!  "scanner": {"uri": "…", "version": "…", "db": {…}, "result": <the scanner's own JSON>},
//!  "metadata": {"scanStartedOn": "RFC 3339", "scanFinishedOn": "RFC 3339"}}
//! ```
//! `scanner.result` is recognised as Trivy JSON (`SchemaVersion` / `Results[].Vulnerabilities[]
//! .{VulnerabilityID, Severity, PkgName, InstalledVersion}`) or Grype JSON (`matches[]
//! .{vulnerability.{id, severity}, artifact.{name, version}}`); a result given as a JSON string
//! is unwrapped once. Any other shape (including `null`) is [`ScanError::UnknownResult`]: a scan
//! airlock cannot read never passes.
//!
//! Pure format code over already-parsed JSON. Limits: [`MAX_VULNERABILITIES`]
//! ([`ScanError::TooManyVulnerabilities`]), [`MAX_ID_BYTES`] ([`ScanError::FieldTooLong`]).
use std::fmt;

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Predicate type of cosign's vulnerability attestation.
pub const PREDICATE_COSIGN_VULN: &str = "https://cosign.sigstore.dev/attestation/vuln/v1";
/// Most vulnerabilities one scan may list.
pub const MAX_VULNERABILITIES: usize = 200_000;
/// Longest vulnerability id, package name or version, in bytes.
pub const MAX_ID_BYTES: usize = 1024;
/// Largest scanner result carried as a JSON string, in bytes.
pub const MAX_RESULT_STRING_BYTES: usize = 64 * 1024 * 1024;

/// A severity, ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// `none`: used only as a policy threshold (nothing may be found).
    None,
    /// Low (and Grype's `Negligible`).
    Low,
    Medium,
    High,
    Critical,
    /// A vulnerability the scanner could not rate (Trivy `UNKNOWN`, Grype `Unknown`). It ranks
    /// above critical: an unrated vulnerability is not known to be harmless, so only an allow
    /// entry or a VEX statement clears it.
    Unknown,
}

impl Severity {
    /// Read a scanner's severity word (case-insensitive).
    pub fn from_scanner(s: &str) -> Severity {
        match s.to_ascii_lowercase().as_str() {
            "negligible" | "low" => Severity::Low,
            "medium" | "moderate" => Severity::Medium,
            "high" | "important" => Severity::High,
            "critical" => Severity::Critical,
            _ => Severity::Unknown,
        }
    }
    /// Read a policy threshold: `none | low | medium | high | critical`.
    pub fn from_policy(s: &str) -> Option<Severity> {
        match s {
            "none" => Some(Severity::None),
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::None => "none",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
            Severity::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which scanner's JSON the result was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultFormat {
    Trivy,
    Grype,
}

impl ResultFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ResultFormat::Trivy => "trivy",
            ResultFormat::Grype => "grype",
        }
    }
}

/// One vulnerability a scan reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vulnerability {
    pub id: String,
    pub severity: Severity,
    pub package: Option<String>,
    pub version: Option<String>,
}

/// A scan as read from the predicate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    pub scanner_uri: Option<String>,
    pub scanner_version: Option<String>,
    pub finished_on: OffsetDateTime,
    pub format: ResultFormat,
    pub vulnerabilities: Vec<Vulnerability>,
}

/// Why a predicate is not a readable scan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("vulnerability predicate: expected a JSON object, found {found}")]
    NotAnObject { found: &'static str },
    #[error("vulnerability predicate has no metadata.scanFinishedOn; expected the RFC 3339 time the scan finished")]
    MissingFinishedOn,
    #[error("vulnerability predicate metadata.scanFinishedOn is {found:?}, not an RFC 3339 time")]
    BadFinishedOn { found: String },
    #[error("scanner.result is {found}; expected Trivy JSON (SchemaVersion, Results[].Vulnerabilities[]) or Grype JSON (matches[])")]
    UnknownResult { found: String },
    #[error("scanner.result is a JSON string of {found} bytes, over the limit of {limit}")]
    ResultTooLarge { limit: usize, found: usize },
    #[error("scanner.result is a JSON string that does not parse: {0}")]
    ResultJson(String),
    #[error("{format} result lists more than {limit} vulnerabilities")]
    TooManyVulnerabilities { format: &'static str, limit: usize },
    #[error("{format} result: {field} is {found}, expected {expected}")]
    BadField {
        format: &'static str,
        field: &'static str,
        found: &'static str,
        expected: &'static str,
    },
    #[error("{format} result: {field} is {found} bytes, longer than the limit of {limit}")]
    FieldTooLong {
        format: &'static str,
        field: &'static str,
        limit: usize,
        found: usize,
    },
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn opt_str(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= MAX_ID_BYTES)
        .map(str::to_string)
}

/// Parse cosign's vulnerability predicate.
///
/// # Errors
/// [`ScanError`] for anything that is not a complete, recognised scan.
pub fn parse(predicate: &Value) -> Result<Scan, ScanError> {
    if !predicate.is_object() {
        return Err(ScanError::NotAnObject {
            found: kind(predicate),
        });
    }
    let finished = match predicate.pointer("/metadata/scanFinishedOn") {
        None | Some(Value::Null) => return Err(ScanError::MissingFinishedOn),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(ScanError::BadFinishedOn {
                found: kind(other).to_string(),
            })
        }
    };
    let finished_on =
        OffsetDateTime::parse(&finished, &Rfc3339).map_err(|_| ScanError::BadFinishedOn {
            found: finished.chars().take(64).collect(),
        })?;
    let result = predicate.pointer("/scanner/result").unwrap_or(&Value::Null);
    let (format, vulnerabilities) = parse_result(result)?;
    Ok(Scan {
        scanner_uri: opt_str(predicate, "/scanner/uri"),
        scanner_version: opt_str(predicate, "/scanner/version"),
        finished_on,
        format,
        vulnerabilities,
    })
}

/// Recognise and read a scanner result.
pub fn parse_result(result: &Value) -> Result<(ResultFormat, Vec<Vulnerability>), ScanError> {
    if let Value::String(text) = result {
        if text.len() > MAX_RESULT_STRING_BYTES {
            return Err(ScanError::ResultTooLarge {
                limit: MAX_RESULT_STRING_BYTES,
                found: text.len(),
            });
        }
        let inner: Value =
            serde_json::from_str(text).map_err(|e| ScanError::ResultJson(e.to_string()))?;
        if inner.is_string() {
            return Err(ScanError::UnknownResult {
                found: "a JSON string holding another string".into(),
            });
        }
        return parse_result(&inner);
    }
    let Value::Object(obj) = result else {
        return Err(ScanError::UnknownResult {
            found: kind(result).to_string(),
        });
    };
    if obj.contains_key("matches") {
        return grype(result).map(|v| (ResultFormat::Grype, v));
    }
    if obj.contains_key("SchemaVersion") || obj.contains_key("Results") {
        return trivy(result).map(|v| (ResultFormat::Trivy, v));
    }
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).take(5).collect();
    keys.sort_unstable();
    Err(ScanError::UnknownResult {
        found: format!("an object with keys [{}]", keys.join(", ")),
    })
}

fn field(
    format: &'static str,
    v: &Value,
    pointer: &str,
    name: &'static str,
    required: bool,
) -> Result<Option<String>, ScanError> {
    match v.pointer(pointer) {
        None | Some(Value::Null) if !required => Ok(None),
        Some(Value::String(s)) if s.len() > MAX_ID_BYTES => Err(ScanError::FieldTooLong {
            format,
            field: name,
            limit: MAX_ID_BYTES,
            found: s.len(),
        }),
        Some(Value::String(s)) if !s.is_empty() || !required => Ok(Some(s.clone())),
        other => Err(ScanError::BadField {
            format,
            field: name,
            found: other.map_or("absent", |o| if o.is_string() { "empty" } else { kind(o) }),
            expected: "a non-empty string",
        }),
    }
}

fn array<'a>(
    format: &'static str,
    v: &'a Value,
    name: &'static str,
) -> Result<&'a [Value], ScanError> {
    match v {
        Value::Null => Ok(&[]),
        Value::Array(a) => Ok(a),
        other => Err(ScanError::BadField {
            format,
            field: name,
            found: kind(other),
            expected: "an array",
        }),
    }
}

fn trivy(result: &Value) -> Result<Vec<Vulnerability>, ScanError> {
    const F: &str = "Trivy";
    let mut out = Vec::new();
    for target in array(F, result.get("Results").unwrap_or(&Value::Null), "Results")? {
        let list = target.get("Vulnerabilities").unwrap_or(&Value::Null);
        for v in array(F, list, "Results[].Vulnerabilities")? {
            if out.len() >= MAX_VULNERABILITIES {
                return Err(ScanError::TooManyVulnerabilities {
                    format: F,
                    limit: MAX_VULNERABILITIES,
                });
            }
            let id = field(F, v, "/VulnerabilityID", "VulnerabilityID", true)?.unwrap_or_default();
            let severity = field(F, v, "/Severity", "Severity", false)?;
            out.push(Vulnerability {
                id,
                severity: Severity::from_scanner(severity.as_deref().unwrap_or("")),
                package: field(F, v, "/PkgName", "PkgName", false)?,
                version: field(F, v, "/InstalledVersion", "InstalledVersion", false)?,
            });
        }
    }
    Ok(out)
}

fn grype(result: &Value) -> Result<Vec<Vulnerability>, ScanError> {
    const F: &str = "Grype";
    let mut out = Vec::new();
    for m in array(F, result.get("matches").unwrap_or(&Value::Null), "matches")? {
        if out.len() >= MAX_VULNERABILITIES {
            return Err(ScanError::TooManyVulnerabilities {
                format: F,
                limit: MAX_VULNERABILITIES,
            });
        }
        let id = field(
            F,
            m,
            "/vulnerability/id",
            "matches[].vulnerability.id",
            true,
        )?
        .unwrap_or_default();
        let severity = field(
            F,
            m,
            "/vulnerability/severity",
            "matches[].vulnerability.severity",
            false,
        )?;
        out.push(Vulnerability {
            id,
            severity: Severity::from_scanner(severity.as_deref().unwrap_or("")),
            package: field(F, m, "/artifact/name", "matches[].artifact.name", false)?,
            version: field(
                F,
                m,
                "/artifact/version",
                "matches[].artifact.version",
                false,
            )?,
        });
    }
    Ok(out)
}

/// Counts by severity, most severe first, only severities that occur.
pub fn counts(vulns: &[&Vulnerability]) -> Vec<(Severity, usize)> {
    let mut out: Vec<(Severity, usize)> = Vec::new();
    for sev in [
        Severity::Unknown,
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ] {
        let n = vulns.iter().filter(|v| v.severity == sev).count();
        if n > 0 {
            out.push((sev, n));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn predicate(result: Value) -> Value {
        json!({
            "invocation": {"parameters": null, "uri": "", "event_id": "", "builder.id": ""},
            "scanner": {"uri": "pkg:github/aquasecurity/trivy@0.50.0", "version": "0.50.0",
                        "db": {"uri": "", "version": ""}, "result": result},
            "metadata": {"scanStartedOn": "2026-11-20T10:00:00Z", "scanFinishedOn": "2026-11-20T10:05:00Z"}
        })
    }

    #[test]
    fn trivy_result_gives_ids_and_severities() {
        let scan = parse(&predicate(json!({
            "SchemaVersion": 2,
            "Results": [
                {"Target": "alpine", "Vulnerabilities": [
                    {"VulnerabilityID": "CVE-2023-44487", "PkgName": "nghttp2", "InstalledVersion": "1.0", "Severity": "HIGH"},
                    {"VulnerabilityID": "CVE-2024-1", "PkgName": "x", "InstalledVersion": "2", "Severity": "CRITICAL"}]},
                {"Target": "jar", "Vulnerabilities": null}]
        })))
        .unwrap();
        assert_eq!(scan.format, ResultFormat::Trivy);
        let sev: Vec<(&str, Severity)> = scan
            .vulnerabilities
            .iter()
            .map(|v| (v.id.as_str(), v.severity))
            .collect();
        assert_eq!(
            sev,
            [
                ("CVE-2023-44487", Severity::High),
                ("CVE-2024-1", Severity::Critical)
            ]
        );
        assert_eq!(scan.finished_on.unix_timestamp(), 1_795_169_100);
    }

    #[test]
    fn grype_result_gives_ids_and_severities() {
        let scan = parse(&predicate(json!({"matches": [
            {"vulnerability": {"id": "GHSA-1", "severity": "Negligible"}, "artifact": {"name": "a", "version": "1"}},
            {"vulnerability": {"id": "CVE-2", "severity": "Unknown"}, "artifact": {"name": "b", "version": "2"}}]})))
        .unwrap();
        assert_eq!(scan.format, ResultFormat::Grype);
        assert_eq!(scan.vulnerabilities[0].severity, Severity::Low);
        assert_eq!(scan.vulnerabilities[1].severity, Severity::Unknown);
    }

    #[test]
    fn result_as_json_string_is_unwrapped_once() {
        let text = serde_json::to_string(&json!({"matches": []})).unwrap();
        let scan = parse(&predicate(Value::String(text))).unwrap();
        assert_eq!(scan.format, ResultFormat::Grype);
        assert!(scan.vulnerabilities.is_empty());
    }

    #[test]
    fn unknown_shapes_and_missing_time_are_errors() {
        assert!(matches!(
            parse(&predicate(json!({"findings": []}))),
            Err(ScanError::UnknownResult { .. })
        ));
        assert!(matches!(
            parse(&predicate(json!([1]))),
            Err(ScanError::UnknownResult { .. })
        ));
        let mut p = predicate(json!({"matches": []}));
        p["metadata"] = json!({});
        assert_eq!(parse(&p), Err(ScanError::MissingFinishedOn));
        p["metadata"] = json!({"scanFinishedOn": "yesterday"});
        assert!(matches!(parse(&p), Err(ScanError::BadFinishedOn { .. })));
        assert!(matches!(
            parse(&predicate(
                json!({"matches": [{"vulnerability": {"severity": "High"}}]})
            )),
            Err(ScanError::BadField { .. })
        ));
    }

    #[test]
    fn severities_order_and_policy_words() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Unknown > Severity::Critical);
        assert_eq!(Severity::from_policy("high"), Some(Severity::High));
        assert_eq!(Severity::from_policy("unknown"), None);
    }

    /// cosign's sample vulnerability predicate: the scan time is read, and its `scanner.result`
    /// is `null`, so it names no severities and is refused as a scan of unknown shape.
    #[test]
    fn cosign_vuln_predicate_vector_reads_time_and_has_no_result() {
        let v: Value = serde_json::from_slice(include_bytes!(
            "../../testdata/vectors/cosign/test/testdata/attestations/vuln-predicate.json"
        ))
        .unwrap();
        assert_eq!(
            v.pointer("/metadata/scanFinishedOn")
                .and_then(Value::as_str),
            Some("2022-04-12T00:10:00Z")
        );
        assert_eq!(
            parse(&v),
            Err(ScanError::UnknownResult {
                found: "null".into()
            })
        );
    }

    fn payload_of(envelope: &[u8]) -> Value {
        use base64::Engine;
        let env: Value = serde_json::from_slice(envelope).unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(env["payload"].as_str().unwrap())
            .unwrap();
        serde_json::from_slice(&raw).unwrap()
    }

    /// The shared vectors, read as scans: cosign's signed vuln attestation (`valid/vuln`) has
    /// predicate type vuln/v1, a zero scan time and a `null` result, so it names no severities
    /// and is refused; grype's attestations are SBOMs (syft JSON, CycloneDX), whose predicates
    /// are not scanner results either. No vector carries a severity: the Trivy/Grype severity
    /// reading is shown by the generated results above.
    #[test]
    fn shared_vectors_name_no_severities_and_are_refused_as_scans() {
        let st = payload_of(include_bytes!(
            "../../testdata/vectors/cosign/pkg/policy/testdata/valid/vuln"
        ));
        assert_eq!(st["predicateType"], PREDICATE_COSIGN_VULN);
        assert_eq!(
            st.pointer("/predicate/metadata/scanFinishedOn")
                .and_then(Value::as_str),
            Some("0001-01-01T00:00:00Z")
        );
        let found = parse(&st["predicate"]);
        assert_eq!(
            found,
            Err(ScanError::UnknownResult {
                found: "null".into()
            })
        );
        for (name, bytes) in [
            (
                "alpine.att.json",
                &include_bytes!("../../testdata/vectors/grype/grype/pkg/testdata/alpine.att.json")
                    [..],
            ),
            (
                "alpine.cdx.att.json",
                &include_bytes!(
                    "../../testdata/vectors/grype/grype/pkg/testdata/alpine.cdx.att.json"
                )[..],
            ),
        ] {
            let st = payload_of(bytes);
            let severities: Vec<Severity> = match parse_result(&st["predicate"]) {
                Ok((_, v)) => v.iter().map(|x| x.severity).collect(),
                Err(ScanError::UnknownResult { .. }) => Vec::new(),
                Err(e) => panic!("{name}: {e}"),
            };
            assert_eq!(severities, Vec::<Severity>::new(), "{name}");
            assert!(parse_result(&st["predicate"]).is_err(), "{name}");
        }
    }
}

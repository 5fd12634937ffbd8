//! Rule fields that judge what attestations say: `provenance`, `vulnerabilities`, the map form
//! of `sbom` (`denyPackages`), and the map form of top-level `keys` entries (validity, revocation).
//! docs/policy.md is the reference.
use std::fmt;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::raw::{map_with, str_with, FilePath, KeyRef, KeylessEntry};
use super::{KeylessSigner, SbomRequirement};
use crate::formats::purl::Ban;
use crate::formats::vuln::Severity;

/// Most entries of one pattern list (`builderIds`, `sourceRepos`, `refs`), of `allow` and of
/// `denyPackages`.
pub const MAX_LIST_ENTRIES: usize = 10_000;
/// Longest `builderIds`/`sourceRepos`/`refs` pattern.
pub const MAX_URL_PATTERN_LEN: usize = 4096;

/// A set of signers: names under `keys` and keyless identities (the shape of `signatures`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignerSet {
    pub keys: Vec<String>,
    pub keyless: Vec<KeylessSigner>,
}

impl SignerSet {
    /// "key ci or keyless …", for messages.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.keys.iter().map(|k| format!("key {k}")).collect();
        for k in &self.keyless {
            parts.push(format!(
                "keyless {} / {}",
                k.issuer
                    .as_deref()
                    .or(k.issuer_regexp.as_deref())
                    .unwrap_or("?"),
                k.subject
                    .as_deref()
                    .or(k.subject_regexp.as_deref())
                    .unwrap_or("?")
            ));
        }
        parts.join(" or ")
    }
}

/// Whole-string globs over URLs and refs (`*` within a `/`-separated segment, `**` across).
#[derive(Clone, Debug)]
pub struct UrlPatterns {
    pub patterns: Vec<String>,
    matcher: GlobSet,
}

impl PartialEq for UrlPatterns {
    fn eq(&self, other: &Self) -> bool {
        self.patterns == other.patterns
    }
}
impl Eq for UrlPatterns {}

impl UrlPatterns {
    fn compile(patterns: Vec<String>) -> Result<UrlPatterns, String> {
        let mut b = GlobSetBuilder::new();
        for p in &patterns {
            if p.is_empty() || p.len() > MAX_URL_PATTERN_LEN {
                return Err(format!(
                    "found a pattern of {} characters; expected 1 to {MAX_URL_PATTERN_LEN}",
                    p.len()
                ));
            }
            // Only `*` is special: escape the other glob metacharacters.
            let mut escaped = String::with_capacity(p.len());
            for c in p.chars() {
                if matches!(c, '?' | '[' | ']' | '{' | '}' | '\\') {
                    escaped.push('\\');
                }
                escaped.push(c);
            }
            let g = GlobBuilder::new(&escaped)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| format!("pattern {p:?} does not compile ({e})"))?;
            b.add(g);
        }
        let matcher = b
            .build()
            .map_err(|e| format!("patterns do not compile ({e})"))?;
        Ok(UrlPatterns { patterns, matcher })
    }
    /// Does any pattern cover the whole of `value`?
    pub fn matches(&self, value: &str) -> bool {
        self.matcher.is_match(value)
    }
}

/// YAML `provenance`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvenanceRule {
    pub signers: SignerSet,
    /// Allowed builder ids; `None` = not checked.
    pub builder_ids: Option<UrlPatterns>,
    /// Allowed source repositories (compared after `git+`, `@ref`, `.git` are removed).
    pub source_repos: Option<UrlPatterns>,
    /// Allowed refs; `None` = not checked.
    pub refs: Option<UrlPatterns>,
}

/// One `vulnerabilities.allow` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowance {
    pub id: String,
    /// The entry applies up to and including this instant (a date means the end of that UTC day).
    pub until: OffsetDateTime,
    /// `until` as written.
    pub until_text: String,
    pub reason: String,
}

/// YAML `vulnerabilities`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VulnerabilityRule {
    pub signers: SignerSet,
    /// Findings above this fail (default `none`: any unallowed, unsuppressed vulnerability fails).
    pub max_severity: Severity,
    /// The scan must have finished no earlier than the verification time minus this many seconds.
    pub max_scan_age: Option<i64>,
    /// `maxScanAge` as written.
    pub max_scan_age_text: Option<String>,
    pub allow: Vec<Allowance>,
    /// Signers whose OpenVEX attestations suppress `not_affected` / `fixed` vulnerabilities.
    pub vex: Option<SignerSet>,
}

/// Validity of a policy key (the map form of a `keys` entry).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyValidity {
    pub valid_from: Option<OffsetDateTime>,
    pub valid_until: Option<OffsetDateTime>,
    pub revoked: bool,
}

// ---------------------------------------------------------------------------------------------
// Parsing

fn signer_set(
    keys: Vec<KeyRef>,
    keyless: Vec<KeylessEntry>,
    field: &str,
) -> Result<SignerSet, String> {
    if keys.is_empty() && keyless.is_empty() {
        return Err(format!(
            "`{field}` names no signer; expected `keys` (names under the top-level `keys:`) and/or \
             `keyless` identities, such as `{field}: {{keys: [ci]}}`"
        ));
    }
    Ok(SignerSet {
        keys: keys.into_iter().map(|k| k.0).collect(),
        keyless: keyless.into_iter().map(|k| k.0).collect(),
    })
}

#[derive(Debug, serde::Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a signer set: a map with keys and/or keyless"
)]
struct SignerSetFields {
    #[serde(default)]
    keys: Vec<KeyRef>,
    #[serde(default)]
    keyless: Vec<KeylessEntry>,
}

/// A signer set read from YAML.
#[derive(Debug)]
pub struct SignerSetField(pub SignerSet);

impl<'de> Deserialize<'de> for SignerSetField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        map_with(
            d,
            "a signer set: a map with keys and/or keyless",
            |s: SignerSetFields| signer_set(s.keys, s.keyless, "signers").map(SignerSetField),
        )
    }
}

/// A list of URL/ref patterns.
#[derive(Debug)]
struct PatternList(UrlPatterns);

impl<'de> Deserialize<'de> for PatternList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let list: Vec<String> = Vec::deserialize(d)?;
        if list.is_empty() {
            return Err(de::Error::custom(
                "found an empty list, which nothing could match; list at least one pattern or \
                 remove the field",
            ));
        }
        if list.len() > MAX_LIST_ENTRIES {
            return Err(de::Error::custom(format!(
                "found {} patterns, more than the limit of {MAX_LIST_ENTRIES}",
                list.len()
            )));
        }
        UrlPatterns::compile(list)
            .map(PatternList)
            .map_err(de::Error::custom)
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "provenance: a map with signers, builderIds, sourceRepos and refs"
)]
struct ProvenanceFields {
    signers: SignerSetField,
    #[serde(default, rename = "builderIds")]
    builder_ids: Option<PatternList>,
    #[serde(default, rename = "sourceRepos")]
    source_repos: Option<PatternList>,
    #[serde(default)]
    refs: Option<PatternList>,
}

/// YAML `provenance`.
#[derive(Debug)]
pub struct ProvenanceField(pub ProvenanceRule);

impl<'de> Deserialize<'de> for ProvenanceField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        map_with(
            d,
            "provenance: a map with signers, builderIds, sourceRepos and refs",
            |p: ProvenanceFields| {
                let source_repos = match p.source_repos {
                    None => None,
                    Some(list) => {
                        let normalised: Vec<String> = list
                            .0
                            .patterns
                            .iter()
                            .map(|s| crate::formats::slsa::normalise_repo(s))
                            .collect();
                        Some(UrlPatterns::compile(normalised)?)
                    }
                };
                Ok(ProvenanceField(ProvenanceRule {
                    signers: p.signers.0,
                    builder_ids: p.builder_ids.map(|l| l.0),
                    source_repos,
                    refs: p.refs.map(|l| l.0),
                }))
            },
        )
    }
}

/// `maxSeverity`.
#[derive(Debug)]
struct SeverityField(Severity);

impl<'de> Deserialize<'de> for SeverityField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        str_with(d, "none, low, medium, high or critical", |v| {
            Severity::from_policy(v).map(SeverityField).ok_or_else(|| {
                format!("found maxSeverity `{v}`; expected none, low, medium, high or critical")
            })
        })
    }
}

/// Parse a duration `NUMBER(s|m|h|d)` into seconds.
pub fn parse_duration(v: &str) -> Result<i64, String> {
    let err = || {
        format!(
            "found the duration `{v}`; expected a whole number followed by s, m, h or d (such as \
             `168h` or `7d`)"
        )
    };
    let (num, unit) = v.split_at(v.len().saturating_sub(1));
    let n: i64 = num.parse().map_err(|_| err())?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(err()),
    };
    if n <= 0 {
        return Err(err());
    }
    n.checked_mul(mult).ok_or_else(err)
}

#[derive(Debug)]
struct DurationField(i64, String);

impl<'de> Deserialize<'de> for DurationField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        str_with(d, "a duration such as 168h", |v| {
            parse_duration(v).map(|s| DurationField(s, v.to_string()))
        })
    }
}

/// An RFC 3339 time, or a date `YYYY-MM-DD` (`end_of_day`: the last second of that UTC day;
/// otherwise its first).
pub fn parse_time(v: &str, end_of_day: bool) -> Result<OffsetDateTime, String> {
    if let Ok(t) = OffsetDateTime::parse(v, &Rfc3339) {
        return Ok(t);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(v, &fmt) {
        Ok(d) => {
            let t = if end_of_day {
                d.with_hms(23, 59, 59).map_err(|e| e.to_string())?
            } else {
                d.midnight()
            };
            Ok(t.assume_utc())
        }
        Err(_) => Err(format!(
            "found the time `{v}`; expected RFC 3339 (2027-03-01T00:00:00Z) or a date (2027-03-01)"
        )),
    }
}

/// A YAML scalar as text (dates may be written unquoted).
#[derive(Debug)]
struct TimeText(String);

impl<'de> Deserialize<'de> for TimeText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        str_with(d, "a date or RFC 3339 time", |v| {
            Ok(TimeText(v.to_string()))
        })
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an allow entry: a map with id, until and reason"
)]
struct AllowFields {
    id: String,
    until: TimeText,
    #[serde(default)]
    reason: String,
}

#[derive(Debug)]
struct AllowEntry(Allowance);

impl<'de> Deserialize<'de> for AllowEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        map_with(
            d,
            "an allow entry: a map with id, until and reason",
            |a: AllowFields| {
                if a.id.trim().is_empty() {
                    return Err(
                        "an allow entry has an empty `id`; expected a vulnerability id such as \
                            CVE-2023-44487"
                            .to_string(),
                    );
                }
                let until = parse_time(&a.until.0, true)?;
                Ok(AllowEntry(Allowance {
                    id: a.id,
                    until,
                    until_text: a.until.0,
                    reason: a.reason,
                }))
            },
        )
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, expecting = "vex: a map with signers")]
struct VexFields {
    signers: SignerSetField,
}

#[derive(Debug, serde::Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "vulnerabilities: a map with signers, maxSeverity, maxScanAge, allow and vex"
)]
struct VulnFields {
    signers: SignerSetField,
    #[serde(default, rename = "maxSeverity")]
    max_severity: Option<SeverityField>,
    #[serde(default, rename = "maxScanAge")]
    max_scan_age: Option<DurationField>,
    #[serde(default)]
    allow: Vec<AllowEntry>,
    #[serde(default)]
    vex: Option<VexFields>,
}

/// YAML `vulnerabilities`.
#[derive(Debug)]
pub struct VulnerabilitiesField(pub VulnerabilityRule);

impl<'de> Deserialize<'de> for VulnerabilitiesField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        map_with(
            d,
            "vulnerabilities: a map with signers, maxSeverity, maxScanAge, allow and vex",
            |v: VulnFields| {
                if v.allow.len() > MAX_LIST_ENTRIES {
                    return Err(format!(
                        "`allow` has {} entries, more than the limit of {MAX_LIST_ENTRIES}",
                        v.allow.len()
                    ));
                }
                Ok(VulnerabilitiesField(VulnerabilityRule {
                    signers: v.signers.0,
                    max_severity: v.max_severity.map_or(Severity::None, |s| s.0),
                    max_scan_age: v.max_scan_age.as_ref().map(|d| d.0),
                    max_scan_age_text: v.max_scan_age.map(|d| d.1),
                    allow: v.allow.into_iter().map(|a| a.0).collect(),
                    vex: v.vex.map(|x| x.signers.0),
                }))
            },
        )
    }
}

/// YAML `sbom`: `required`, `optional`, or `{required: bool, denyPackages: [purl]}`.
#[derive(Debug, Default)]
pub struct SbomField {
    pub requirement: SbomRequirement,
    pub deny_packages: Vec<Ban>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "sbom: a map with required and denyPackages"
)]
struct SbomFields {
    #[serde(default)]
    required: bool,
    #[serde(default, rename = "denyPackages")]
    deny_packages: Vec<BanEntry>,
}

#[derive(Debug)]
struct BanEntry(Ban);

impl<'de> Deserialize<'de> for BanEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        str_with(d, "a package URL such as pkg:npm/event-stream", |v| {
            Ban::parse(v).map(BanEntry).map_err(|e| e.to_string())
        })
    }
}

impl<'de> Deserialize<'de> for SbomField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SbomField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`required`, `optional`, or a map with required and denyPackages")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SbomField, E> {
                let requirement = match v {
                    "required" => SbomRequirement::Required,
                    "optional" => SbomRequirement::Optional,
                    _ => {
                        return Err(E::custom(format!(
                            "found `sbom: {v}`; expected `required` or `optional` (or a map \
                             `{{required: true, denyPackages: [...]}}`)"
                        )))
                    }
                };
                Ok(SbomField {
                    requirement,
                    deny_packages: Vec::new(),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SbomField, A::Error> {
                let raw = SbomFields::deserialize(de::value::MapAccessDeserializer::new(map))?;
                if raw.deny_packages.len() > MAX_LIST_ENTRIES {
                    return Err(de::Error::custom(format!(
                        "`denyPackages` has {} entries, more than the limit of {MAX_LIST_ENTRIES}",
                        raw.deny_packages.len()
                    )));
                }
                Ok(SbomField {
                    requirement: if raw.required {
                        SbomRequirement::Required
                    } else {
                        SbomRequirement::Optional
                    },
                    deny_packages: raw.deny_packages.into_iter().map(|b| b.0).collect(),
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// A top-level `keys` entry: a path, or `{path, validFrom, validUntil, revoked}`.
#[derive(Debug)]
pub struct KeyEntry {
    pub path: FilePath,
    pub validity: Option<KeyValidity>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a key: a path, or a map with path, validFrom, validUntil and revoked"
)]
struct KeyFields {
    path: FilePath,
    #[serde(default, rename = "validFrom")]
    valid_from: Option<TimeText>,
    #[serde(default, rename = "validUntil")]
    valid_until: Option<TimeText>,
    #[serde(default)]
    revoked: bool,
}

impl<'de> Deserialize<'de> for KeyEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key: a path, or a map with path, validFrom, validUntil and revoked")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyEntry, E> {
                let path = FilePath::deserialize(de::value::StrDeserializer::<E>::new(v))?;
                Ok(KeyEntry {
                    path,
                    validity: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<KeyEntry, A::Error> {
                let raw = KeyFields::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let from = raw
                    .valid_from
                    .map(|t| parse_time(&t.0, false))
                    .transpose()
                    .map_err(de::Error::custom)?;
                let until = raw
                    .valid_until
                    .map(|t| parse_time(&t.0, true))
                    .transpose()
                    .map_err(de::Error::custom)?;
                if let (Some(f), Some(u)) = (from, until) {
                    if u < f {
                        return Err(de::Error::custom(
                            "`validUntil` is before `validFrom`; no signature could be valid: \
                             correct the dates",
                        ));
                    }
                }
                Ok(KeyEntry {
                    path: raw.path,
                    validity: Some(KeyValidity {
                        valid_from: from,
                        valid_until: until,
                        revoked: raw.revoked,
                    }),
                })
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_times() {
        assert_eq!(parse_duration("168h"), Ok(168 * 3600));
        assert_eq!(parse_duration("7d"), Ok(7 * 86_400));
        assert!(parse_duration("7w").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("-1h").is_err());
        let t = parse_time("2027-03-01", true).unwrap();
        assert_eq!(t.hour(), 23);
        assert!(parse_time("2027-03-01T00:00:00Z", true).is_ok());
        assert!(parse_time("March", true).is_err());
    }

    #[test]
    fn url_patterns_match_whole_strings() {
        let p = UrlPatterns::compile(vec![
            "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v*".into(),
        ])
        .unwrap();
        assert!(p.matches("https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1.9.0"));
        assert!(!p.matches("https://github.com/evil/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1"));
        let refs = UrlPatterns::compile(vec!["refs/tags/v*".into()]).unwrap();
        assert!(refs.matches("refs/tags/v1.0"));
        assert!(!refs.matches("refs/heads/main"));
        let q = UrlPatterns::compile(vec!["https://x/a?b".into()]).unwrap();
        assert!(q.matches("https://x/a?b") && !q.matches("https://x/acb"));
    }
}

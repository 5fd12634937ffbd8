//! Judging what verified attestations say: SLSA provenance (builder, source, ref), vulnerability
//! scans with allow entries and OpenVEX, and SBOM package bans.
//!
//! The core hands in the attestations whose signatures it has verified (who signed, for which
//! subject, the statement, where it was) and the SBOM documents it found; this module applies
//! the rule's `provenance`, `vulnerabilities` and `sbom.denyPackages` and returns findings plus
//! what the report records. Pure: the verification time is passed in.
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use super::intoto::Statement;
use super::{purl, slsa, vex, vuln};
use crate::policy::{KeylessSigner, Rule, SignerSet};
use crate::report::{Code, Judged, ProvenanceEntry, ScanEntry, Suppression, UsedAttestation};

/// An attestation whose signature verified.
#[derive(Clone, Debug)]
pub struct Verified {
    /// Policy key name, or `keyless <subject> (<issuer>)`.
    pub signer: String,
    /// The digest (`sha256:…`) it was found for and names as a subject.
    pub subject: String,
    pub statement: Statement,
    /// Digest of the manifest that carried it.
    pub manifest: String,
    /// Digest of the envelope (or Sigstore bundle) blob.
    pub envelope: String,
}

/// One finding to add: error or warning, code, message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    pub error: bool,
    pub code: Code,
    pub message: String,
}

/// What the core passes in.
pub struct Input<'a> {
    pub rule: &'a Rule,
    /// The verification time (`None` when the text given could not be read).
    pub at: Option<OffsetDateTime>,
    /// The image digest.
    pub root: &'a str,
    /// Platform children present in the bundle (empty for a single manifest).
    pub children: &'a [String],
    pub attestations: &'a [Verified],
    /// SBOMs to apply package bans to: (where it came from, the package URLs it lists).
    pub sboms: &'a [(String, Vec<Cow<'a, str>>)],
}

/// Findings and report content.
#[derive(Debug, Default)]
pub struct Output {
    pub findings: Vec<Judgement>,
    pub judged: Judged,
}

impl Output {
    fn err(&mut self, code: Code, message: String) {
        self.findings.push(Judgement {
            error: true,
            code,
            message,
        });
    }
    fn warn(&mut self, code: Code, message: String) {
        self.findings.push(Judgement {
            error: false,
            code,
            message,
        });
    }
    fn used(&mut self, a: &Verified, purpose: &str) {
        if !self
            .judged
            .attestations_used
            .iter()
            .any(|u| u.digest == a.envelope && u.purpose == purpose)
        {
            self.judged.attestations_used.push(UsedAttestation {
                purpose: purpose.to_string(),
                predicate_type: a.statement.predicate_type.clone(),
                subject: a.subject.clone(),
                manifest: a.manifest.clone(),
                digest: a.envelope.clone(),
                signer: a.signer.clone(),
            });
        }
    }
}

/// Is `signer` (a key name or `keyless <subject> (<issuer>)`) in `set`?
pub fn signer_in(set: &SignerSet, signer: &str) -> bool {
    if set.keys.iter().any(|k| k == signer) {
        return true;
    }
    let Some(rest) = signer.strip_prefix("keyless ") else {
        return false;
    };
    let Some((subject, issuer)) = rest.rsplit_once(" (") else {
        return false;
    };
    let issuer = issuer.strip_suffix(')').unwrap_or(issuer);
    set.keyless
        .iter()
        .any(|k| keyless_matches(k, subject, issuer))
}

fn keyless_matches(k: &KeylessSigner, subject: &str, issuer: &str) -> bool {
    let one = |exact: &Option<String>, re: &Option<String>, value: &str| match (exact, re) {
        (Some(e), _) => e == value,
        (None, Some(r)) => regex::Regex::new(r).is_ok_and(|r| r.is_match(value)),
        (None, None) => false,
    };
    one(&k.issuer, &k.issuer_regexp, issuer) && one(&k.subject, &k.subject_regexp, subject)
}

/// The subjects a requirement must cover, and the attestations that cover each: one on the
/// image digest covers everything; otherwise every platform child needs its own.
fn coverage<'a>(
    input: &Input<'a>,
    candidates: &[&'a Verified],
) -> Vec<(String, Vec<&'a Verified>)> {
    let on_root: Vec<&Verified> = candidates
        .iter()
        .copied()
        .filter(|a| a.subject == input.root)
        .collect();
    if !on_root.is_empty() || input.children.is_empty() {
        return vec![(input.root.to_string(), on_root)];
    }
    input
        .children
        .iter()
        .map(|c| {
            (
                c.clone(),
                candidates
                    .iter()
                    .copied()
                    .filter(|a| &a.subject == c)
                    .collect(),
            )
        })
        .collect()
}

fn unlisted_note(all: &[&Verified], listed: &SignerSet) -> String {
    let others: BTreeSet<&str> = all
        .iter()
        .filter(|a| !signer_in(listed, &a.signer))
        .map(|a| a.signer.as_str())
        .collect();
    if others.is_empty() {
        String::new()
    } else {
        format!(
            " (found one signed by {}, which this requirement does not list: it counts as absent)",
            others.into_iter().collect::<Vec<_>>().join(", ")
        )
    }
}

/// Apply the rule's provenance, vulnerability and SBOM-ban requirements.
pub fn judge(input: &Input) -> Output {
    let mut out = Output::default();
    provenance(input, &mut out);
    vulnerabilities(input, &mut out);
    sbom_bans(input, &mut out);
    out
}

fn quoted(p: &[String]) -> String {
    crate::policy::quoted_list(p)
}

fn provenance(input: &Input, out: &mut Output) {
    let Some(req) = &input.rule.provenance else {
        return;
    };
    let all: Vec<&Verified> = input
        .attestations
        .iter()
        .filter(|a| slsa::SlsaVersion::of(&a.statement.predicate_type).is_some())
        .collect();
    let listed: Vec<&Verified> = all
        .iter()
        .copied()
        .filter(|a| signer_in(&req.signers, &a.signer))
        .collect();
    for (subject, atts) in coverage(input, &listed) {
        if atts.is_empty() {
            out.err(
                Code::ProvenanceMissing,
                format!(
                    "expected SLSA provenance (v0.2 or v1) for {subject} signed by {}; none found \
                     that verifies{}",
                    req.signers.describe(),
                    unlisted_note(&all, &req.signers)
                ),
            );
            continue;
        }
        let mut mismatches: Vec<String> = Vec::new();
        let mut accepted = false;
        for a in atts {
            let Some(version) = slsa::SlsaVersion::of(&a.statement.predicate_type) else {
                continue;
            };
            let p = match slsa::extract(version, &a.statement.predicate) {
                Ok(p) => p,
                Err(e) => {
                    out.err(
                        Code::AttestationInvalid,
                        format!("provenance attestation {} for {subject}: {e}", a.envelope),
                    );
                    continue;
                }
            };
            let mut bad: Vec<String> = Vec::new();
            let mut check = |field: &str,
                             patterns: &Option<crate::policy::UrlPatterns>,
                             found: &Option<String>| {
                if let Some(pats) = patterns {
                    let ok = found.as_deref().is_some_and(|f| pats.matches(f));
                    if !ok {
                        bad.push(format!(
                            "{field}: expected one of {}, found {}",
                            quoted(&pats.patterns),
                            found
                                .as_deref()
                                .map_or("nothing (the provenance does not say)".to_string(), |f| {
                                    format!("{f:?}")
                                })
                        ));
                    }
                }
            };
            check("builderId", &req.builder_ids, &p.builder_id);
            check("sourceRepo", &req.source_repos, &p.source_repo);
            check("ref", &req.refs, &p.r#ref);
            out.used(a, "provenance");
            out.judged.provenance.push(ProvenanceEntry {
                subject: subject.clone(),
                predicate_type: a.statement.predicate_type.clone(),
                builder_id: p.builder_id.clone(),
                source_repo: p.source_repo.clone(),
                source_uri: p.source_uri.clone(),
                r#ref: p.r#ref.clone(),
                signer: a.signer.clone(),
                attestation: a.envelope.clone(),
                matched: bad.is_empty(),
            });
            if bad.is_empty() {
                accepted = true;
            } else {
                mismatches.push(format!(
                    "provenance {} (signed by {}) for {subject}: {}",
                    a.envelope,
                    a.signer,
                    bad.join("; ")
                ));
            }
        }
        if !accepted {
            for m in mismatches {
                out.err(Code::ProvenanceMismatch, m);
            }
        }
    }
}

fn vulnerabilities(input: &Input, out: &mut Output) {
    let Some(req) = &input.rule.vulnerabilities else {
        return;
    };
    let all: Vec<&Verified> = input
        .attestations
        .iter()
        .filter(|a| a.statement.predicate_type == vuln::PREDICATE_COSIGN_VULN)
        .collect();
    let listed: Vec<&Verified> = all
        .iter()
        .copied()
        .filter(|a| signer_in(&req.signers, &a.signer))
        .collect();

    // VEX statements from listed VEX signers about this image.
    let mut digests: Vec<&str> = vec![input.root];
    digests.extend(input.children.iter().map(String::as_str));
    let mut vex_statements: Vec<(vex::VexStatement, &Verified)> = Vec::new();
    if let Some(vex_signers) = &req.vex {
        for a in input.attestations.iter().filter(|a| {
            vex::is_openvex(&a.statement.predicate_type) && signer_in(vex_signers, &a.signer)
        }) {
            match vex::parse(&a.statement.predicate) {
                Ok(sts) => {
                    let names: Vec<&str> = a
                        .statement
                        .subjects
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect();
                    for st in sts {
                        if st.applies_to(&digests, &names) {
                            vex_statements.push((st, a));
                        }
                    }
                }
                Err(e) => out.warn(
                    Code::AttestationInvalid,
                    format!(
                        "OpenVEX attestation {} (signed by {}) does not read, so it suppresses \
                         nothing: {e}",
                        a.envelope, a.signer
                    ),
                ),
            }
        }
    }

    let mut reported_ids: BTreeSet<String> = BTreeSet::new();
    let mut expired_reported: BTreeSet<usize> = BTreeSet::new();
    for (subject, atts) in coverage(input, &listed) {
        if atts.is_empty() {
            out.err(
                Code::ScanMissing,
                format!(
                    "expected a vulnerability scan ({}) for {subject} signed by {}; none found \
                     that verifies{}",
                    vuln::PREDICATE_COSIGN_VULN,
                    req.signers.describe(),
                    unlisted_note(&all, &req.signers)
                ),
            );
            continue;
        }
        // The newest scan that reads.
        let mut best: Option<(vuln::Scan, &Verified)> = None;
        for a in atts {
            match vuln::parse(&a.statement.predicate) {
                Ok(s) => {
                    if best
                        .as_ref()
                        .is_none_or(|(b, _)| s.finished_on > b.finished_on)
                    {
                        best = Some((s, a));
                    }
                }
                Err(e) => out.err(
                    Code::ScanInvalid,
                    format!(
                        "vulnerability scan {} (signed by {}) for {subject}: {e}; a scan airlock \
                         cannot read never passes",
                        a.envelope, a.signer
                    ),
                ),
            }
        }
        let Some((scan, a)) = best else {
            continue;
        };
        out.used(a, "vulnerabilities");
        let finished = scan
            .finished_on
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        if let Some(max_age) = req.max_scan_age {
            match input.at {
                Some(at) => {
                    let age = (at - scan.finished_on).whole_seconds();
                    if age > max_age {
                        out.err(
                            Code::ScanTooOld,
                            format!(
                                "the vulnerability scan of {subject} finished at {finished}, {} \
                                 before the verification time; expected no older than maxScanAge \
                                 {}",
                                human_age(age),
                                req.max_scan_age_text.as_deref().unwrap_or("")
                            ),
                        );
                    }
                }
                None => out.err(
                    Code::ScanTooOld,
                    "the verification time could not be read, so the scan's age was not checked"
                        .to_string(),
                ),
            }
        }
        let mut suppressed: Vec<Suppression> = Vec::new();
        let refs: Vec<&vuln::Vulnerability> = scan.vulnerabilities.iter().collect();
        let counts: BTreeMap<String, usize> = vuln::counts(&refs)
            .into_iter()
            .map(|(s, n)| (s.as_str().to_string(), n))
            .collect();
        let mut seen_in_scan: BTreeSet<&str> = BTreeSet::new();
        for v in &scan.vulnerabilities {
            if v.severity <= req.max_severity || !seen_in_scan.insert(v.id.as_str()) {
                continue;
            }
            // VEX: the last applicable statement naming the id decides.
            if let Some((st, va)) = vex_statements.iter().rev().find(|(st, _)| st.names(&v.id)) {
                if st.status.suppresses() {
                    out.used(va, "vex");
                    suppressed.push(Suppression {
                        id: v.id.clone(),
                        severity: v.severity.as_str().to_string(),
                        by: "vex".into(),
                        source: format!(
                            "{} ({}, signed by {})",
                            va.envelope,
                            st.status.as_str(),
                            va.signer
                        ),
                    });
                    continue;
                }
            }
            // Allow entries.
            let mut allowed = false;
            for (i, entry) in req.allow.iter().enumerate() {
                if entry.id != v.id {
                    continue;
                }
                match input.at {
                    Some(at) if at <= entry.until => {
                        allowed = true;
                        suppressed.push(Suppression {
                            id: v.id.clone(),
                            severity: v.severity.as_str().to_string(),
                            by: "allow".into(),
                            source: format!(
                                "allow {} until {} ({})",
                                entry.id, entry.until_text, entry.reason
                            ),
                        });
                        break;
                    }
                    _ => {
                        if expired_reported.insert(i) {
                            out.warn(
                                Code::AllowanceExpired,
                                format!(
                                    "the allow entry for {} expired on {} (reason: {:?}) and no \
                                     longer applies; renew it with a new `until` or fix the \
                                     vulnerability",
                                    entry.id, entry.until_text, entry.reason
                                ),
                            );
                        }
                    }
                }
            }
            if allowed {
                continue;
            }
            if reported_ids.insert(v.id.clone()) {
                out.err(
                    Code::VulnerabilityFound,
                    format!(
                        "{} ({}) in {}{} on {subject}: above maxSeverity {}, not allowed and not \
                         suppressed by a VEX statement from a listed signer",
                        v.id,
                        v.severity,
                        v.package.as_deref().unwrap_or("an unnamed package"),
                        v.version
                            .as_deref()
                            .map(|s| format!(" {s}"))
                            .unwrap_or_default(),
                        req.max_severity
                    ),
                );
            }
        }
        out.judged.scans.push(ScanEntry {
            subject: subject.clone(),
            scanner: scan.scanner_uri.clone(),
            scanner_version: scan.scanner_version.clone(),
            format: scan.format.as_str().to_string(),
            finished_on: finished,
            vulnerabilities: scan.vulnerabilities.len(),
            counts,
            suppressed,
            signer: a.signer.clone(),
            attestation: a.envelope.clone(),
        });
    }
}

fn human_age(seconds: i64) -> String {
    if seconds >= 86_400 {
        format!("{}d{}h", seconds / 86_400, (seconds % 86_400) / 3600)
    } else if seconds >= 3600 {
        format!("{}h{}m", seconds / 3600, (seconds % 3600) / 60)
    } else {
        format!("{seconds}s")
    }
}

fn sbom_bans(input: &Input, out: &mut Output) {
    let bans = &input.rule.deny_packages;
    if bans.is_empty() {
        return;
    }
    let mut reported: BTreeSet<(String, String)> = BTreeSet::new();
    for (source, listed) in input.sboms {
        for p in &purl::parse_listed(listed) {
            for ban in bans {
                if ban.denies(p) {
                    let shown = format!(
                        "pkg:{}/{}{}{}{}",
                        p.ty,
                        p.namespace,
                        if p.namespace.is_empty() { "" } else { "/" },
                        p.name,
                        p.version
                            .as_deref()
                            .map(|v| format!("@{v}"))
                            .unwrap_or_default()
                    );
                    if reported.insert((shown.clone(), ban.text.clone())) {
                        out.err(
                            Code::SbomPackageDenied,
                            format!(
                                "the SBOM ({source}) lists {shown}, which denyPackages entry {:?} \
                                 denies",
                                ban.text
                            ),
                        );
                    }
                }
            }
        }
    }
}

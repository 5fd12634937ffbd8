//! Findings, the `airlock.report/v1` document and its renderings.
pub mod html;
pub mod markdown;
pub mod render;
pub mod vsa;

use serde::{Deserialize, Serialize};

// Findings are vocabulary (the lowest layer); these paths are kept for users of the library.
pub use crate::finding::{self, Code, Finding, Severity};

pub const REPORT_SCHEMA: &str = "airlock.report/v1";

/// pass or fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verifier {
    pub name: String,
    pub version: String,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            name: "airlock".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRef {
    pub path: String,
    pub sha256: String,
}

/// A key the decision depended on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRef {
    pub name: String,
    pub key_id: String,
    pub algorithm: String,
}

/// What else the decision depended on (for reproducing it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inputs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<KeyRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_roots: Vec<KeyRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_signed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pins_sha256: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformEntry {
    pub platform: String,
    pub digest: String,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub present: bool,
}

fn yes() -> bool {
    true
}
fn is_true(b: &bool) -> bool {
    *b
}

/// A signature that was checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureEntry {
    /// `cosign` (simple signing), `sigstore-bundle`.
    pub format: String,
    /// The subject digest the signature is for (image or platform child).
    pub subject: String,
    /// Digest of the signature's manifest in the bundle.
    pub manifest: String,
    pub verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_reference: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttestationEntry {
    pub predicate_type: String,
    pub subject: String,
    pub manifest: String,
    pub verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SbomEntry {
    /// `spdx` or `cyclonedx`.
    pub format: String,
    pub spec_version: String,
    pub packages: usize,
    /// `attestation` (signed) or `attachment` (unsigned `.sbom`).
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageReport {
    pub r#ref: String,
    pub digest: String,
    pub result: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub platforms: Vec<PlatformEntry>,
    pub signatures: Vec<SignatureEntry>,
    pub attestations: Vec<AttestationEntry>,
    pub sboms: Vec<SbomEntry>,
    pub findings: Vec<Finding>,
    /// What the rule's provenance, vulnerability and SBOM-ban requirements read.
    #[serde(flatten, default)]
    pub judged: Judged,
}

/// What provenance/vulnerability/SBOM-ban checks read, per image.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Judged {
    /// The SLSA provenance read (builder, source, ref), one entry per attestation judged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provenance: Vec<ProvenanceEntry>,
    /// The vulnerability scan used for each covered subject.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scans: Vec<ScanEntry>,
    /// Every attestation a decision used (provenance, scan, VEX), by envelope digest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attestations_used: Vec<UsedAttestation>,
}

/// One provenance attestation as read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvenanceEntry {
    pub subject: String,
    pub predicate_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builder_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_repo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#ref: Option<String>,
    pub signer: String,
    /// Digest of the attestation (envelope or bundle blob).
    pub attestation: String,
    /// Did it satisfy the rule's builderIds/sourceRepos/refs?
    pub matched: bool,
}

/// The scan used for one subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanEntry {
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scanner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scanner_version: Option<String>,
    /// `trivy` or `grype`.
    pub format: String,
    /// `metadata.scanFinishedOn`.
    pub finished_on: String,
    /// How many vulnerabilities the scan lists.
    pub vulnerabilities: usize,
    /// Counts by severity (`critical`, `high`, …), before suppression.
    pub counts: std::collections::BTreeMap<String, usize>,
    /// Ids above maxSeverity that a VEX statement or an allow entry suppressed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressed: Vec<Suppression>,
    pub signer: String,
    /// Digest of the scan attestation.
    pub attestation: String,
}

/// A vulnerability id that did not fail the image, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Suppression {
    pub id: String,
    pub severity: String,
    /// `vex` or `allow`.
    pub by: String,
    /// The VEX attestation digest (status, signer) or the allow entry (id, until, reason).
    pub source: String,
}

/// An attestation a decision used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsedAttestation {
    /// `provenance`, `vulnerabilities` or `vex`.
    pub purpose: String,
    pub predicate_type: String,
    pub subject: String,
    /// Digest of the manifest that carried it.
    pub manifest: String,
    /// Digest of the envelope (or Sigstore bundle) blob.
    pub digest: String,
    pub signer: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub images: usize,
    pub passed: usize,
    pub failed: usize,
    #[serde(default)]
    pub errors: usize,
    #[serde(default)]
    pub warnings: usize,
}

/// The report document (`airlock.report/v1`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub result: Outcome,
    pub verifier: Verifier,
    pub time: String,
    pub policy: PolicyRef,
    #[serde(default)]
    pub inputs: Inputs,
    pub images: Vec<ImageReport>,
    /// Findings not tied to one image (layout, lock, pins).
    pub findings: Vec<Finding>,
    pub summary: Summary,
}

impl Report {
    pub fn new(time: String, policy: PolicyRef) -> Report {
        Report {
            schema: REPORT_SCHEMA.into(),
            result: Outcome::Pass,
            verifier: Verifier::default(),
            time,
            policy,
            inputs: Inputs::default(),
            images: Vec::new(),
            findings: Vec::new(),
            summary: Summary::default(),
        }
    }

    /// Set each image's result, the overall result and the summary from the findings.
    /// Fails closed: an error anywhere fails the report; a report with no images fails too
    /// unless nothing was asked for.
    pub fn finalise(&mut self) {
        let mut passed = 0;
        let mut errors = self.findings.iter().filter(|f| f.is_error()).count();
        let is_warning = |f: &&Finding| f.severity == Severity::Warning;
        let mut warnings = self.findings.iter().filter(is_warning).count();
        for img in &mut self.images {
            let e = img.findings.iter().filter(|f| f.is_error()).count();
            errors += e;
            warnings += img.findings.iter().filter(is_warning).count();
            img.result = if e == 0 { Outcome::Pass } else { Outcome::Fail };
            if e == 0 {
                passed += 1;
            }
        }
        self.summary = Summary {
            images: self.images.len(),
            passed,
            failed: self.images.len() - passed,
            errors,
            warnings,
        };
        self.result = if errors == 0 {
            Outcome::Pass
        } else {
            Outcome::Fail
        };
    }

    /// Every finding, global first.
    pub fn all_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .chain(self.images.iter().flat_map(|i| i.findings.iter()))
    }

    pub fn passed(&self) -> bool {
        self.result == Outcome::Pass
    }
}

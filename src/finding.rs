//! Findings: every problem the gate names, with a stable kebab-case code.
use serde::{Deserialize, Serialize};

/// Stable finding codes (public API: documented in docs/findings.md; never renamed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    BlobMissing,
    BlobDigestMismatch,
    PinMismatch,
    PinMissing,
    LockInvalid,
    RegistryRewrite,
    PlatformMissing,
    SignatureMissing,
    SignatureInvalid,
    SignatureUntrusted,
    SignatureDigestMismatch,
    SignatureIdentityMismatch,
    AttestationMissing,
    AttestationInvalid,
    AttestationSubjectMismatch,
    SbomMissing,
    SbomInvalid,
    PolicyUnmatched,
    LayoutInvalid,
    ManifestInvalid,
    LimitExceeded,
    ImageMissing,
    CertificateInvalid,
    CertificateIdentityMismatch,
    TlogInvalid,
    TimestampInvalid,
    ChartDigestMismatch,
    ChartProvenanceMissing,
    ChartProvenanceInvalid,
    LockUnlisted,
    LockUnverified,
    ImageUnverified,
    ChunkMissing,
    ChunkDigestMismatch,
    ChunksInvalid,
    ArchiveInvalid,
    BaseRequired,
    ProvenanceMissing,
    ProvenanceMismatch,
    ScanMissing,
    ScanInvalid,
    ScanTooOld,
    VulnerabilityFound,
    AllowanceExpired,
    SbomPackageDenied,
    SignatureThresholdUnmet,
    KeyExpired,
    KeyRevoked,
    TrustRootInvalid,
    TrustRootStale,
}

impl Code {
    pub const ALL: &'static [Code] = &[
        Code::BlobMissing,
        Code::BlobDigestMismatch,
        Code::PinMismatch,
        Code::PinMissing,
        Code::LockInvalid,
        Code::RegistryRewrite,
        Code::PlatformMissing,
        Code::SignatureMissing,
        Code::SignatureInvalid,
        Code::SignatureUntrusted,
        Code::SignatureDigestMismatch,
        Code::SignatureIdentityMismatch,
        Code::AttestationMissing,
        Code::AttestationInvalid,
        Code::AttestationSubjectMismatch,
        Code::SbomMissing,
        Code::SbomInvalid,
        Code::PolicyUnmatched,
        Code::LayoutInvalid,
        Code::ManifestInvalid,
        Code::LimitExceeded,
        Code::ImageMissing,
        Code::CertificateInvalid,
        Code::CertificateIdentityMismatch,
        Code::TlogInvalid,
        Code::TimestampInvalid,
        Code::ChartDigestMismatch,
        Code::ChartProvenanceMissing,
        Code::ChartProvenanceInvalid,
        Code::LockUnlisted,
        Code::LockUnverified,
        Code::ImageUnverified,
        Code::ChunkMissing,
        Code::ChunkDigestMismatch,
        Code::ChunksInvalid,
        Code::ArchiveInvalid,
        Code::BaseRequired,
        Code::ProvenanceMissing,
        Code::ProvenanceMismatch,
        Code::ScanMissing,
        Code::ScanInvalid,
        Code::ScanTooOld,
        Code::VulnerabilityFound,
        Code::AllowanceExpired,
        Code::SbomPackageDenied,
        Code::SignatureThresholdUnmet,
        Code::KeyExpired,
        Code::KeyRevoked,
        Code::TrustRootInvalid,
        Code::TrustRootStale,
    ];

    /// The kebab-case code string.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::BlobMissing => "blob-missing",
            Code::BlobDigestMismatch => "blob-digest-mismatch",
            Code::PinMismatch => "pin-mismatch",
            Code::PinMissing => "pin-missing",
            Code::LockInvalid => "lock-invalid",
            Code::RegistryRewrite => "registry-rewrite",
            Code::PlatformMissing => "platform-missing",
            Code::SignatureMissing => "signature-missing",
            Code::SignatureInvalid => "signature-invalid",
            Code::SignatureUntrusted => "signature-untrusted",
            Code::SignatureDigestMismatch => "signature-digest-mismatch",
            Code::SignatureIdentityMismatch => "signature-identity-mismatch",
            Code::AttestationMissing => "attestation-missing",
            Code::AttestationInvalid => "attestation-invalid",
            Code::AttestationSubjectMismatch => "attestation-subject-mismatch",
            Code::SbomMissing => "sbom-missing",
            Code::SbomInvalid => "sbom-invalid",
            Code::PolicyUnmatched => "policy-unmatched",
            Code::LayoutInvalid => "layout-invalid",
            Code::ManifestInvalid => "manifest-invalid",
            Code::LimitExceeded => "limit-exceeded",
            Code::ImageMissing => "image-missing",
            Code::CertificateInvalid => "certificate-invalid",
            Code::CertificateIdentityMismatch => "certificate-identity-mismatch",
            Code::TlogInvalid => "tlog-invalid",
            Code::TimestampInvalid => "timestamp-invalid",
            Code::ChartDigestMismatch => "chart-digest-mismatch",
            Code::ChartProvenanceMissing => "chart-provenance-missing",
            Code::ChartProvenanceInvalid => "chart-provenance-invalid",
            Code::LockUnlisted => "lock-unlisted",
            Code::LockUnverified => "lock-unverified",
            Code::ImageUnverified => "image-unverified",
            Code::ChunkMissing => "chunk-missing",
            Code::ChunkDigestMismatch => "chunk-digest-mismatch",
            Code::ChunksInvalid => "chunks-invalid",
            Code::ArchiveInvalid => "archive-invalid",
            Code::BaseRequired => "base-required",
            Code::ProvenanceMissing => "provenance-missing",
            Code::ProvenanceMismatch => "provenance-mismatch",
            Code::ScanMissing => "scan-missing",
            Code::ScanInvalid => "scan-invalid",
            Code::ScanTooOld => "scan-too-old",
            Code::VulnerabilityFound => "vulnerability-found",
            Code::AllowanceExpired => "allowance-expired",
            Code::SbomPackageDenied => "sbom-package-denied",
            Code::SignatureThresholdUnmet => "signature-threshold-unmet",
            Code::KeyExpired => "key-expired",
            Code::KeyRevoked => "key-revoked",
            Code::TrustRootInvalid => "trust-root-invalid",
            Code::TrustRootStale => "trust-root-stale",
        }
    }

    /// What the code means, one line (used by docs and `--explain`).
    pub fn meaning(self) -> &'static str {
        match self {
            Code::BlobMissing => "a descriptor points at content the bundle/registry does not have",
            Code::BlobDigestMismatch => "content does not hash to its digest (or its size differs)",
            Code::PinMismatch => {
                "a reference resolves to a digest other than the pinned one (tag moved, rewrite)"
            }
            Code::PinMissing => "the lock or pins name something the bundle does not hold",
            Code::LockInvalid => "the lock file or its signature does not verify or does not parse",
            Code::RegistryRewrite => {
                "the registry serves a different manifest digest than the one pushed"
            }
            Code::PlatformMissing => "a platform the policy requires is not in the index",
            Code::SignatureMissing => "no signature from a trusted key/identity for the digest",
            Code::SignatureInvalid => {
                "a signature does not verify (tampered, wrong algorithm, bad encoding)"
            }
            Code::SignatureUntrusted => {
                "verifies, but with a key/identity the policy does not trust"
            }
            Code::SignatureDigestMismatch => {
                "the signed payload names another digest (replayed signature)"
            }
            Code::SignatureIdentityMismatch => {
                "the signed docker-reference is not the source repository (or an allowed alias)"
            }
            Code::AttestationMissing => {
                "a required attestation (predicate type, signer) is not there"
            }
            Code::AttestationInvalid => "an attestation does not verify or does not parse",
            Code::AttestationSubjectMismatch => {
                "an attestation's subjects do not include the image digest"
            }
            Code::SbomMissing => "no SBOM (SPDX or CycloneDX) where the policy requires one",
            Code::SbomInvalid => "an SBOM that does not parse",
            Code::PolicyUnmatched => "an image no policy rule covers (deny by default)",
            Code::LayoutInvalid => "the bundle is not a valid OCI image layout",
            Code::ManifestInvalid => "a manifest or index inside the bundle is malformed",
            Code::LimitExceeded => "hostile-input limit exceeded (size, depth, count)",
            Code::ImageMissing => "a reference the operator asked for is not in the bundle",
            Code::CertificateInvalid => {
                "a signing certificate does not chain to a trusted CA at the signed time"
            }
            Code::CertificateIdentityMismatch => {
                "a certificate's identity or issuer is not the one the policy names"
            }
            Code::TlogInvalid => {
                "a transparency-log entry (SET, inclusion proof) does not verify or match"
            }
            Code::TimestampInvalid => {
                "a signed timestamp does not verify or lies outside the authority's validity"
            }
            Code::ChartDigestMismatch => {
                "a Helm chart archive does not hash to the digest its repository index lists"
            }
            Code::ChartProvenanceMissing => {
                "a Helm chart has no .prov file although the rule requires provenance"
            }
            Code::ChartProvenanceInvalid => {
                "a Helm chart's .prov signature does not verify with the keyring or does not name the archive's sha256"
            }
            Code::LockUnlisted => {
                "index.json names an image, artifact or attachment the lock does not list (added after capture)"
            }
            Code::LockUnverified => {
                "the lock's signature file is present but no key checked it (warning)"
            }
            Code::ImageUnverified => {
                "a workload uses an image that is in the bundle but did not pass verification"
            }
            Code::ChunkMissing => "a chunk file the chunk list names is not there",
            Code::ChunkDigestMismatch => {
                "a chunk file does not hash to (or is not the size) the chunk list says"
            }
            Code::ChunksInvalid => {
                "the chunk list or its signature does not verify or does not parse"
            }
            Code::ArchiveInvalid => {
                "an archive member is refused (absolute path, .., link, device, duplicate, junk) or the tar stream is unreadable"
            }
            Code::BaseRequired => {
                "a delta bundle needs its base bundle (verify --base), or the base given is not the one it was captured against"
            }
            Code::ProvenanceMissing => {
                "no SLSA provenance (v0.2 or v1) signed by a signer the rule lists"
            }
            Code::ProvenanceMismatch => {
                "the provenance's builder id, source repository or ref is not one the rule allows"
            }
            Code::ScanMissing => "no vulnerability scan signed by a signer the rule lists",
            Code::ScanInvalid => {
                "a vulnerability scan that does not read (unknown result shape, no scan time)"
            }
            Code::ScanTooOld => {
                "the scan finished longer ago than maxScanAge before the verification time"
            }
            Code::VulnerabilityFound => {
                "a vulnerability above maxSeverity, not allowed and not suppressed by VEX"
            }
            Code::AllowanceExpired => "an allow entry is past its until date and no longer applies",
            Code::SbomPackageDenied => "an SBOM lists a package that sbom.denyPackages denies",
            Code::SignatureThresholdUnmet => {
                "fewer distinct trusted signers than signatures.threshold"
            }
            Code::KeyExpired => "a signature was made with a key outside its validFrom/validUntil",
            Code::KeyRevoked => "a signature was made with a key the policy marks revoked",
            Code::TrustRootInvalid => {
                "a TUF-delivered trusted root fails a signature, hash, version or rotation check"
            }
            Code::TrustRootStale => {
                "TUF metadata of a trusted root expired at the verification time or is older than maxAge"
            }
        }
    }

    /// What to do about it.
    pub fn hint(self) -> &'static str {
        match self {
            Code::BlobMissing => "re-run capture on the connected side; check that the transfer copied every file under blobs/",
            Code::BlobDigestMismatch => "the bytes were altered in transit or at rest; re-capture and compare checksums",
            Code::PinMismatch => "the tag moved or content was rewritten; confirm the new digest with the publisher before updating the pin",
            Code::PinMissing => "capture the missing reference, or remove it from the pins",
            Code::LockInvalid => "use the lock written by capture and the matching --capture-key",
            Code::RegistryRewrite => "configure the registry to store manifests as pushed (no format conversion), then push again",
            Code::PlatformMissing => "capture without --platform, or relax the rule's platforms",
            Code::SignatureMissing => "capture the signature (.sig tag or referrer) together with the image, or fix the policy's signers",
            Code::SignatureInvalid => "the signature does not verify: it was altered, or made with a key you were not given; re-capture from the source and confirm the signer with the publisher",
            Code::SignatureUntrusted => "the signer is known to airlock but not listed by the rule that applies; check that the right rule matched, and list the signer only after confirming it out of band",
            Code::SignatureDigestMismatch => "a signature of another image was attached to this one; treat as tampering",
            Code::SignatureIdentityMismatch => "add the repository to the rule's identities if it is a legitimate alias",
            Code::AttestationMissing => "capture the attestation (.att tag or referrer) or fix the rule's attestations",
            Code::AttestationInvalid => "the attestation was altered or is malformed; re-capture from the source",
            Code::AttestationSubjectMismatch => "an attestation of another artifact was attached; treat as tampering",
            Code::SbomMissing => "attach an SBOM (cosign attest --type spdxjson or cyclonedx) at the source, or set sbom: optional",
            Code::SbomInvalid => "regenerate the SBOM with a conforming tool",
            Code::PolicyUnmatched => "add a rule whose match covers this repository, or remove the image",
            Code::LayoutInvalid => "copy the whole bundle directory (with index.json and oci-layout); do not strip path components",
            Code::ManifestInvalid => "re-capture; the manifest is not valid OCI/Docker JSON",
            Code::LimitExceeded => "the input is larger than airlock accepts; treat as hostile unless expected",
            Code::ImageMissing => "capture the reference, or remove it from the request",
            Code::CertificateInvalid => "check that the policy names the trusted_root.json of the Sigstore instance this signer used",
            Code::CertificateIdentityMismatch => "check the rule's keyless identity and issuer",
            Code::ChartDigestMismatch => "the archive was altered or the index is stale; re-fetch and ask the repository owner",
            Code::ChartProvenanceMissing => "publish the chart with `helm package --sign`, or set helm.provenance: optional",
            Code::ChartProvenanceInvalid => "check the keyring holds the chart publisher's key; treat a changed archive as tampering",
            Code::TlogInvalid => "check that the trusted root holds the Rekor log this entry came from; otherwise treat as tampering",
            Code::TimestampInvalid => "check that the trusted root holds the timestamp authority's certificate chain; otherwise treat as tampering",
            Code::LockUnlisted => "content was added to the bundle after capture; treat as tampering and re-capture",
            Code::LockUnverified => "give --capture-key PUB (or set lock.signers in the policy) so the lock's signature is checked",
            Code::ImageUnverified => "verify the bundle (airlock verify / push --policy) and deploy only images that passed",
            Code::ChunkMissing => "copy every chunk file next to the chunk list, then re-run (blobs already unpacked are kept)",
            Code::ChunkDigestMismatch => "copy that chunk again from the source media, then re-run (blobs already unpacked are kept)",
            Code::ChunksInvalid => "use the chunk list written by pack and the matching --key",
            Code::ArchiveInvalid => "treat the archive as hostile; re-create it with airlock pack on the connected side",
            Code::BaseRequired => "give the base bundle the delta was captured against (its lock's sha256 is in the message)",
            Code::ProvenanceMissing => "attach SLSA provenance signed by a listed signer at the source (cosign attest --type slsaprovenance), or fix provenance.signers",
            Code::ProvenanceMismatch => "the image was built elsewhere or from another source: rebuild on the trusted builder, or correct builderIds/sourceRepos/refs",
            Code::ScanMissing => "scan the image and attest the result (cosign attest --type vuln) with a listed scanner key",
            Code::ScanInvalid => "attest a Trivy or Grype JSON result in cosign's vuln predicate, with metadata.scanFinishedOn",
            Code::ScanTooOld => "re-scan the image and attest the new result, then capture again",
            Code::VulnerabilityFound => "update the affected package, or record accepted risk under vulnerabilities.allow (with an expiry) or a signed OpenVEX statement",
            Code::AllowanceExpired => "renew the entry with a new until date after review, or fix the vulnerability",
            Code::SbomPackageDenied => "rebuild without the denied package (or with a version outside the denied range)",
            Code::SignatureThresholdUnmet => "collect signatures from more of the listed signers (the same key twice counts once)",
            Code::KeyExpired => "re-sign with a current key, or correct the key's validity dates after checking",
            Code::KeyRevoked => "re-sign with a key that is not revoked; treat content signed by the revoked key as untrusted",
            Code::TrustRootInvalid => "copy the TUF repository again from a trusted source (airlock capture --tuf DIR)",
            Code::TrustRootStale => "bring a fresh copy of the TUF repository into the gap (airlock capture --tuf DIR)",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How bad a finding is. Any `Error` fails the gate (exit 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Recorded for the auditor, changes nothing: e.g. a signature by an unlisted key next to
    /// the one that satisfied the rule.
    Info,
    Warning,
    Error,
}

impl Severity {
    /// The word printed in text output: `error`, `warn`, `info`.
    pub fn short(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warn",
            Severity::Info => "info",
        }
    }
}

/// One problem, with what was expected, what was found, and where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    /// Reference and/or digest the finding is about.
    pub subject: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hint: String,
}

impl Finding {
    /// An error-severity finding with the code's default hint.
    pub fn error(code: Code, subject: impl Into<String>, message: impl Into<String>) -> Finding {
        Finding {
            code,
            severity: Severity::Error,
            subject: subject.into(),
            message: message.into(),
            hint: code.hint().to_string(),
        }
    }
    /// A warning-severity finding with the code's default hint.
    pub fn warning(code: Code, subject: impl Into<String>, message: impl Into<String>) -> Finding {
        Finding {
            code,
            severity: Severity::Warning,
            subject: subject.into(),
            message: message.into(),
            hint: code.hint().to_string(),
        }
    }
    /// An info-severity finding (recorded, never fails the gate).
    pub fn info(code: Code, subject: impl Into<String>, message: impl Into<String>) -> Finding {
        Finding {
            code,
            severity: Severity::Info,
            subject: subject.into(),
            message: message.into(),
            hint: String::new(),
        }
    }
    /// The same finding recorded as info (no hint): a candidate that did not count.
    pub fn into_info(self) -> Finding {
        Finding {
            severity: Severity::Info,
            hint: String::new(),
            ..self
        }
    }
    /// How specific a rejected candidate's problem is, for picking the one error to report when
    /// no candidate satisfies a requirement: the candidate that got furthest through the checks
    /// wins (the idea of webpki's error ranking).
    pub fn candidate_rank(&self) -> u8 {
        match self.code {
            Code::KeyRevoked | Code::KeyExpired => 8,
            Code::SignatureIdentityMismatch | Code::CertificateIdentityMismatch => 7,
            Code::SignatureUntrusted => 6,
            Code::SignatureDigestMismatch | Code::AttestationSubjectMismatch => 5,
            Code::CertificateInvalid | Code::TlogInvalid | Code::TimestampInvalid => 4,
            Code::SignatureInvalid | Code::AttestationInvalid => 3,
            _ => 1,
        }
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_serialises_as_its_kebab_string() {
        for c in Code::ALL {
            let s = serde_json::to_string(c).unwrap();
            assert_eq!(s, format!("\"{}\"", c.as_str()));
            let back: Code = serde_json::from_str(&s).unwrap();
            assert_eq!(back, *c);
        }
    }

    #[test]
    fn spec_codes_exist() {
        for needed in [
            "blob-missing",
            "blob-digest-mismatch",
            "pin-mismatch",
            "registry-rewrite",
            "platform-missing",
            "signature-missing",
            "signature-invalid",
            "signature-untrusted",
            "signature-digest-mismatch",
            "signature-identity-mismatch",
            "attestation-missing",
            "attestation-invalid",
            "attestation-subject-mismatch",
            "sbom-missing",
            "sbom-invalid",
            "policy-unmatched",
            "layout-invalid",
        ] {
            assert!(Code::ALL.iter().any(|c| c.as_str() == needed), "{needed}");
        }
    }
}

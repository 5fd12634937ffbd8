//! Sigstore verification, fully offline: trusted roots, keyless (Fulcio) certificates, Rekor
//! entries (SETs, inclusion proofs, checkpoints), RFC 3161 timestamps and Sigstore bundles
//! v0.1/v0.2/v0.3 (message signatures and DSSE envelopes).
//!
//! The cryptographic verification is done by the `sigstore-verify` crate (see `docs/sigstore.md`
//! for why that crate and not the older `sigstore` crate). This module is airlock's side of it:
//! - [`TrustedRoot`]: a `trusted_root.json` loaded from a file the operator imported (never TUF,
//!   never the network), or assembled from plain PEM files (Fulcio roots, Rekor keys);
//! - [`IdentityPolicy`]: issuer and subject, exact or regular expression (unanchored, like cosign);
//! - [`verify_bundle`]: one bundle against one signer, with every failure mapped to a finding
//!   [`Code`] and a message that says what was expected, what was found and what to do;
//! - [`legacy`]: cosign's legacy `.sig` layer annotations (`dev.sigstore.cosign/certificate`,
//!   `/chain`, `/bundle`, `/rfc3161timestamp`) turned into an equivalent bundle, so the legacy and
//!   the bundle formats go through one verifier.
//!
//! Certificates are validated at the signed time (the Rekor integrated time authenticated by its
//! SET, or an RFC 3161 timestamp from a trusted TSA). The verification time is passed in by the
//! caller ([`TrustedRoot::at`]): trust material that starts after it is left out and signed
//! times after it are refused. This module reads no clock (see `docs/sigstore.md` for the checks
//! inside `sigstore-verify` that still consult the wall clock, and why they never change an
//! outcome when the verification time is not in the future).
use crate::finding::Code;

mod identity;
pub mod legacy;
mod root;
mod verify;

pub use identity::{IdentityPolicy, Matcher};
pub use root::{TrustedRoot, TrustedRootError};
pub use verify::{verify_bundle, Artifact, Content, Signer, Verified};

/// Largest Sigstore bundle read (bytes). Real bundles are 5-15 KiB; a DSSE bundle that carries an
/// SBOM predicate can reach a few MiB.
pub const MAX_BUNDLE_BYTES: usize = 16 * 1024 * 1024;
/// Largest `trusted_root.json` read (bytes). The public-good root is about 7 KiB.
pub const MAX_TRUSTED_ROOT_BYTES: usize = 4 * 1024 * 1024;
/// Most certificates accepted in a bundle's or annotation's certificate chain.
pub const MAX_CHAIN_CERTIFICATES: usize = 10;
/// Most transparency-log entries accepted in one bundle.
pub const MAX_TLOG_ENTRIES: usize = 16;
/// Most RFC 3161 timestamps accepted in one bundle (sigstore-python's limit: more are refused).
pub const MAX_TIMESTAMPS: usize = 32;
/// How far (seconds) a verified signing time may lie after the verification time and still be
/// accepted: the clocks of Rekor, a TSA and the verifying machine are not exactly in step.
pub const MAX_CLOCK_SKEW_SECS: i64 = 60;
/// Largest legacy cosign annotation value (certificate, chain, Rekor bundle, timestamp) read.
pub const MAX_ANNOTATION_BYTES: usize = 256 * 1024;
/// Largest compiled size of an identity regular expression from the policy or the command line.
pub const MAX_REGEX_BYTES: usize = 1024 * 1024;

/// Why a bundle does not verify: the finding code and a message for the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub code: Code,
    pub message: String,
}

impl Failure {
    pub fn new(code: Code, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for Failure {}

/// The roots of a policy used at verification time `at` (RFC 3339, as the core receives it).
/// A root that cannot be used at that time, or a time that does not parse, leaves the root
/// without a time, and every bundle verified with it fails with a message that says so.
pub fn roots_at(
    roots: &std::collections::BTreeMap<String, TrustedRoot>,
    at: &str,
) -> std::collections::BTreeMap<String, TrustedRoot> {
    let unix = parse_rfc3339(at);
    roots
        .iter()
        .map(|(name, r)| {
            let timed = unix.and_then(|t| r.at(t).ok()).unwrap_or_else(|| r.clone());
            (name.clone(), timed)
        })
        .collect()
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Bytes of a hex string (either case); `None` when it is not hex.
pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|p| u8::from_str_radix(p, 16).ok()))
        .collect()
}

/// Standard base64, then URL-safe, each with or without padding.
pub(crate) fn b64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine as _;
    let s = s.trim();
    STANDARD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .or_else(|_| URL_SAFE.decode(s))
        .or_else(|_| URL_SAFE_NO_PAD.decode(s))
        .ok()
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn sha512(bytes: &[u8]) -> [u8; 64] {
    let d = ring::digest::digest(&ring::digest::SHA512, bytes);
    let mut out = [0u8; 64];
    out.copy_from_slice(d.as_ref());
    out
}

/// Unix seconds of an RFC 3339 time (`None` when it does not parse).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// RFC 3339 text of Unix seconds (the number itself when out of range).
pub fn format_unix(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(unhex("00AB10"), Some(vec![0, 0xab, 0x10]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn base64_accepts_both_alphabets() {
        assert_eq!(b64_decode("-_8="), Some(vec![0xfb, 0xff]));
        assert_eq!(b64_decode("+/8"), Some(vec![0xfb, 0xff]));
        assert_eq!(b64_decode("!!"), None);
    }
}

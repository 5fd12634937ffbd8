//! `airlock verify-bundle --bundle FILE [identity | --key PUB] --trusted-root FILE ARTIFACT_OR_DIGEST`:
//! one standalone Sigstore bundle, with the sigstore-conformance client's flags. Offline: the
//! trusted root is a file the operator imported; nothing is fetched.
//!
//! Exit 0 only when the bundle verifies for the artifact and signer, 1 when it does not (the
//! finding is printed), 2 when the input is unusable (unreadable files, a bad trusted root, key or
//! regular expression, missing flags).
use std::path::{Path, PathBuf};

use airlock::trust::keys;
use airlock::trust::sigstore::{
    verify_bundle, Artifact, Content, IdentityPolicy, Matcher, Signer, TrustedRoot,
    MAX_BUNDLE_BYTES,
};

use super::{Fatal, EXIT_FAIL, EXIT_OK};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The Sigstore bundle (JSON, v0.1 to v0.3).
    #[arg(long, value_name = "FILE")]
    bundle: PathBuf,
    /// Expected identity in the signing certificate's SAN (email or URI), exact.
    #[arg(
        long,
        value_name = "IDENTITY",
        conflicts_with = "certificate_identity_regexp"
    )]
    certificate_identity: Option<String>,
    /// Expected identity as a regular expression (unanchored, like cosign).
    #[arg(long, value_name = "REGEXP")]
    certificate_identity_regexp: Option<String>,
    /// Expected OIDC issuer of the signing certificate, exact.
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "certificate_oidc_issuer_regexp"
    )]
    certificate_oidc_issuer: Option<String>,
    /// Expected OIDC issuer as a regular expression (unanchored).
    #[arg(long, value_name = "REGEXP")]
    certificate_oidc_issuer_regexp: Option<String>,
    /// Verify a managed-key bundle with this public key (PEM) instead of a certificate identity.
    #[arg(long, value_name = "PUB", conflicts_with_all = ["certificate_identity", "certificate_identity_regexp", "certificate_oidc_issuer", "certificate_oidc_issuer_regexp"])]
    key: Option<PathBuf>,
    /// The Sigstore trusted_root.json to verify against (Fulcio CAs, Rekor keys, CT logs, TSAs).
    #[arg(long, value_name = "FILE")]
    trusted_root: Option<PathBuf>,
    /// Accepted for the conformance protocol; airlock never fetches the staging root, so give
    /// the staging trusted_root.json with --trusted-root.
    #[arg(long)]
    staging: bool,
    /// Accept certificates without a verifiable embedded SCT (certificates from before Fulcio
    /// embedded SCTs). A root without CT logs never checks SCTs.
    #[arg(long)]
    insecure_ignore_sct: bool,
    /// Verify as of this time (RFC 3339, default now): trust material that starts later is not
    /// used and signing times after it are refused. Keyless results are reproducible with it.
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    /// The artifact file, or its digest `sha256:<64 hex>` or `sha512:<128 hex>` (a digest that
    /// is not a file path). A file is hashed with the algorithm the bundle uses.
    #[arg(value_name = "FILE_OR_DIGEST")]
    artifact: String,
}

/// A digest given instead of a file.
enum GivenDigest {
    Sha256([u8; 32]),
    Sha512([u8; 64]),
}

/// `sha256:<64 hex>` or `sha512:<128 hex>` that is not a path on disk.
fn parse_digest(s: &str) -> Option<GivenDigest> {
    if Path::new(s).exists() {
        return None;
    }
    fn bytes<const N: usize>(hexpart: &str) -> Option<[u8; N]> {
        if hexpart.len() != N * 2 {
            return None;
        }
        let mut out = [0u8; N];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(hexpart.get(i * 2..i * 2 + 2)?, 16).ok()?;
        }
        Some(out)
    }
    if let Some(h) = s.strip_prefix("sha256:") {
        return bytes::<32>(h).map(GivenDigest::Sha256);
    }
    if let Some(h) = s.strip_prefix("sha512:") {
        return bytes::<64>(h).map(GivenDigest::Sha512);
    }
    None
}

pub fn run(a: Args) -> Result<u8, Fatal> {
    let Some(root_path) = &a.trusted_root else {
        return Err(Fatal(format!(
            "--trusted-root FILE is required: airlock verifies offline and never fetches trust \
             material{}; import the {} trusted_root.json and pass it",
            if a.staging {
                " (not even for --staging)"
            } else {
                ""
            },
            if a.staging { "staging" } else { "Sigstore" }
        )));
    };
    let at = match &a.at {
        Some(t) => airlock::trust::sigstore::parse_rfc3339(t).ok_or_else(|| {
            Fatal(format!(
                "--at {t:?}: expected RFC 3339 (e.g. 2026-01-31T12:00:00Z)"
            ))
        })?,
        None => time::OffsetDateTime::now_utc().unix_timestamp(),
    };
    let root = TrustedRoot::load(root_path)?.at(at)?;
    let key = match &a.key {
        Some(p) => Some(keys::load_public_key_file(p)?),
        None => None,
    };
    let identity = if key.is_none() {
        let has_subject =
            a.certificate_identity.is_some() || a.certificate_identity_regexp.is_some();
        let has_issuer =
            a.certificate_oidc_issuer.is_some() || a.certificate_oidc_issuer_regexp.is_some();
        if !has_subject || !has_issuer {
            return Err(Fatal(
                "expected either --key PUB, or both a certificate identity \
                 (--certificate-identity or --certificate-identity-regexp) and an OIDC issuer \
                 (--certificate-oidc-issuer or --certificate-oidc-issuer-regexp): keyless \
                 verification without an identity would accept anyone's signature"
                    .into(),
            ));
        }
        let subject = Matcher::from_parts(
            a.certificate_identity.as_deref(),
            a.certificate_identity_regexp.as_deref(),
            "--certificate-identity(-regexp)",
        )
        .map_err(|e| Fatal(e.message))?;
        let issuer = Matcher::from_parts(
            a.certificate_oidc_issuer.as_deref(),
            a.certificate_oidc_issuer_regexp.as_deref(),
            "--certificate-oidc-issuer(-regexp)",
        )
        .map_err(|e| Fatal(e.message))?;
        Some(IdentityPolicy { issuer, subject })
    } else {
        None
    };
    let bundle = read_limited(&a.bundle, MAX_BUNDLE_BYTES, "--bundle")?;
    let artifact_bytes;
    let artifact = match parse_digest(&a.artifact) {
        Some(GivenDigest::Sha256(d)) => Artifact::Sha256(d),
        Some(GivenDigest::Sha512(d)) => Artifact::Sha512(d),
        None => {
            artifact_bytes = std::fs::read(&a.artifact).map_err(|e| {
                Fatal(format!(
                    "artifact {}: {e}; give the artifact file or its digest as sha256:<64 hex> \
                     or sha512:<128 hex>",
                    a.artifact
                ))
            })?;
            Artifact::Bytes(&artifact_bytes)
        }
    };
    let signer = match (&key, &identity) {
        (Some(k), _) => Signer::Key(k),
        (None, Some(id)) => Signer::Keyless {
            identity: id,
            require_sct: !a.insecure_ignore_sct,
        },
        (None, None) => return Err(Fatal("no signer given".into())),
    };
    match verify_bundle(&bundle, artifact, signer, &root) {
        Ok(v) => {
            for w in &v.warnings {
                eprintln!("WARNING: {}: {w}", a.bundle.display());
            }
            let who = match (&v.identity, &v.issuer, &key) {
                (Some(i), Some(iss), _) => format!("{i} (issuer {iss})"),
                (_, _, Some(k)) => format!("key {}", k.key_id()),
                _ => "unknown".into(),
            };
            let what = match &v.content {
                Content::MessageSignature => "message signature".to_string(),
                Content::Dsse { payload_type, .. } => format!("DSSE envelope ({payload_type})"),
            };
            println!(
                "OK: {} verified: {what} by {who}; signed at {}",
                a.bundle.display(),
                v.signed_times
                    .iter()
                    .map(|t| rfc3339(*t))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Ok(EXIT_OK)
        }
        Err(f) => {
            eprintln!(
                "FAIL: {}: {} [{}]",
                a.bundle.display(),
                f.message,
                f.code.as_str()
            );
            Ok(EXIT_FAIL)
        }
    }
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

fn read_limited(path: &Path, limit: usize, flag: &str) -> Result<Vec<u8>, Fatal> {
    let meta =
        std::fs::metadata(path).map_err(|e| Fatal(format!("{flag} {}: {e}", path.display())))?;
    if meta.len() > limit as u64 {
        return Err(Fatal(format!(
            "{flag} {} is {} bytes, over the {limit}-byte limit",
            path.display(),
            meta.len()
        )));
    }
    std::fs::read(path).map_err(|e| Fatal(format!("{flag} {}: {e}", path.display())))
}

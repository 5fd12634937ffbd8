//! Sigstore trusted roots with provenance: a TUF repository snapshot (a directory of TUF metadata
//! and `targets/`) verified offline with the `tough` crate, starting from the operator's initial
//! trusted `root.json`, at the verification time; its `trusted_root.json` target is the root.
//!
//! `tough` checks signatures and thresholds, root rotations (`N.root.json`), versions, lengths
//! and hashes of every role and of the target. Its expiry check can only use the wall clock, so
//! it is switched off (`ExpirationEnforcement::Unsafe`) and airlock checks every role's `expires`
//! against the verification time itself: one clock, as for keyless verification.
//!
//! Failures are findings, not errors: `trust-root-invalid` (a signature, hash, version or
//! rotation check fails, a file is missing or malformed) and `trust-root-stale` (a role expired
//! at the verification time, or the snapshot is older than `maxAge`). Only an unreadable initial
//! `root.json` (the operator's own input) stops the command.
use std::path::{Path, PathBuf};

use tough::{ExpirationEnforcement, IntoVec, RepositoryLoader, TargetName};

use crate::report::Code;
use crate::trust::sigstore::{format_unix, Failure, MAX_TRUSTED_ROOT_BYTES};

/// Largest initial `root.json` read (bytes). Sigstore's is about 6 KiB.
pub const MAX_TUF_ROOT_BYTES: usize = 1024 * 1024;
/// The target that holds the Sigstore trusted root.
pub const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";

/// A `trustedRoots` entry of the form `{tuf: DIR, root: FILE, maxAge: DURATION}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TufSource {
    /// The TUF repository snapshot: `timestamp.json`, `N.snapshot.json`, `N.targets.json`,
    /// optional `N.root.json` rotations, and `targets/` with consistent-snapshot names.
    pub dir: PathBuf,
    /// The operator's initial trusted `root.json`.
    pub root: PathBuf,
    /// `maxAge` in seconds: the snapshot (the time its `timestamp.json` was written) may be at
    /// most this old at the verification time.
    pub max_age_secs: Option<i64>,
}

/// A snapshot that verified.
#[derive(Clone, Debug)]
pub struct TufVerified {
    /// The bytes of the `trusted_root.json` target (hash-checked by `tough`).
    pub trusted_root_json: Vec<u8>,
    /// Versions of root, timestamp, snapshot and targets metadata.
    pub versions: [u64; 4],
    /// The earliest `expires` of the four roles (Unix seconds).
    pub expires: i64,
}

/// Why a snapshot cannot be used.
#[derive(Debug)]
pub enum TufError {
    /// The operator's input is unusable (the initial root file cannot be read): exit 2.
    Unusable(String),
    /// A finding: `trust-root-invalid` or `trust-root-stale`.
    Finding(Failure),
}

fn invalid(dir: &Path, what: impl std::fmt::Display) -> TufError {
    TufError::Finding(Failure::new(
        Code::TrustRootInvalid,
        format!(
            "TUF repository {}: {what}; the trust material was altered or is incomplete: copy \
             the TUF repository again from a trusted source (e.g. `airlock capture --tuf DIR`)",
            dir.display()
        ),
    ))
}

/// Verify `source` at verification time `at` (Unix seconds). `fetched_at`: when the snapshot
/// was taken (for `maxAge`), if known.
pub fn verify_snapshot(
    source: &TufSource,
    at: i64,
    fetched_at: Option<i64>,
) -> Result<TufVerified, TufError> {
    let root_bytes = read_limited(&source.root, MAX_TUF_ROOT_BYTES)
        .map_err(|e| TufError::Unusable(format!("TUF root {}: {e}", source.root.display())))?;
    let dir = std::path::absolute(&source.dir)
        .map_err(|e| TufError::Unusable(format!("TUF repository {}: {e}", source.dir.display())))?;
    let meta_url = url::Url::from_directory_path(&dir)
        .map_err(|()| invalid(&source.dir, "the directory cannot be named as a file: URL"))?;
    let targets_url = url::Url::from_directory_path(dir.join("targets"))
        .map_err(|()| invalid(&source.dir, "targets/ cannot be named as a file: URL"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| TufError::Unusable(format!("starting the TUF reader: {e}")))?;
    let repo = rt
        .block_on(
            RepositoryLoader::new(&root_bytes, meta_url, targets_url)
                .expiration_enforcement(ExpirationEnforcement::Unsafe)
                .load(),
        )
        .map_err(|e| invalid(&source.dir, error_chain(&e)))?;

    let roles = [
        (
            "root",
            repo.root().signed.expires,
            repo.root().signed.version.get(),
        ),
        (
            "timestamp",
            repo.timestamp().signed.expires,
            repo.timestamp().signed.version.get(),
        ),
        (
            "snapshot",
            repo.snapshot().signed.expires,
            repo.snapshot().signed.version.get(),
        ),
        (
            "targets",
            repo.targets().signed.expires,
            repo.targets().signed.version.get(),
        ),
    ];
    for (role, expires, version) in roles {
        let exp = expires.as_second();
        if at >= exp {
            return Err(TufError::Finding(Failure::new(
                Code::TrustRootStale,
                format!(
                    "TUF repository {}: {role} metadata (version {version}) expired at {}, \
                     before the verification time {}; bring a fresh copy of the TUF repository \
                     into the gap",
                    source.dir.display(),
                    format_unix(exp),
                    format_unix(at)
                ),
            )));
        }
    }
    if let (Some(max), Some(fetched)) = (source.max_age_secs, fetched_at) {
        if at - fetched > max {
            return Err(TufError::Finding(Failure::new(
                Code::TrustRootStale,
                format!(
                    "TUF repository {}: the snapshot was taken at {}, more than maxAge ({max} s) \
                     before the verification time {}; bring a fresh copy into the gap",
                    source.dir.display(),
                    format_unix(fetched),
                    format_unix(at)
                ),
            )));
        }
    }
    let name =
        TargetName::new(TRUSTED_ROOT_TARGET).map_err(|e| invalid(&source.dir, error_chain(&e)))?;
    let trusted_root_json = rt
        .block_on(async {
            match repo.read_target(&name).await? {
                Some(stream) => stream.into_vec().await.map(Some),
                None => Ok(None),
            }
        })
        .map_err(|e| invalid(&source.dir, error_chain(&e)))?
        .ok_or_else(|| {
            invalid(
                &source.dir,
                format!("the signed targets list no {TRUSTED_ROOT_TARGET} target"),
            )
        })?;
    if trusted_root_json.len() > MAX_TRUSTED_ROOT_BYTES {
        return Err(invalid(
            &source.dir,
            format!(
                "the {TRUSTED_ROOT_TARGET} target is {} bytes, over the {MAX_TRUSTED_ROOT_BYTES}-byte limit",
                trusted_root_json.len()
            ),
        ));
    }
    let expires = roles
        .iter()
        .map(|(_, e, _)| e.as_second())
        .min()
        .unwrap_or(at);
    Ok(TufVerified {
        trusted_root_json,
        versions: [roles[0].2, roles[1].2, roles[2].2, roles[3].2],
        expires,
    })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

fn read_limited(path: &Path, limit: usize) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > limit as u64 {
        return Err(format!("{} bytes, over the {limit}-byte limit", meta.len()));
    }
    std::fs::read(path).map_err(|e| e.to_string())
}

/// `maxAge` text: a whole number with a unit, `s`, `m`, `h` or `d` (e.g. `720h`, `30d`).
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.len().checked_sub(1)?);
    let n: i64 = num.parse().ok().filter(|n| *n >= 0)?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("720h"), Some(720 * 3600));
        assert_eq!(parse_duration("30d"), Some(30 * 86400));
        assert_eq!(parse_duration("90s"), Some(90));
        assert_eq!(parse_duration("5w"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("-1h"), None);
    }
}

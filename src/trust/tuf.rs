//! Sigstore trusted roots with provenance: a TUF repository snapshot (a directory of TUF metadata
//! and `targets/`) verified offline, starting from the operator's initial trusted `root.json`, at
//! the verification time; its `trusted_root.json` target is the trusted root.
//!
//! The TUF client is `sigstore-tuf` (the TUF crate of the sigstore-rust family whose
//! `sigstore-verify` airlock already uses): root rotation (`N.root.json`, each new root signed by
//! a threshold of the old and of its own keys, version N+1), timestamp → snapshot → targets
//! (signature thresholds, pinned versions, lengths and hashes, rollback), expiry, and the
//! target's length and hashes are all checked by it. Every check takes the time from its caller:
//! airlock passes the verification time (`--at`); no clock is read here.
//!
//! Delegated targets roles are loaded only when a target lookup needs them (as python-tuf does):
//! `trusted_root.json` is a top-level target, so a snapshot that lists a delegated role whose
//! metadata is not in the copy (Sigstore's `registry.npmjs.org` role) is still usable.
//!
//! Reading files is this module's edge: [`DirRepository`] serves the client from a directory,
//! refusing non-regular files and anything over the size the client allows for that role.
//!
//! Failures are findings, not errors: `trust-root-invalid` (a signature, hash, version or
//! rotation check fails, a file is missing or malformed) and `trust-root-stale` (a role expired
//! at the verification time, or the snapshot is older than `maxAge`). Only an unreadable or
//! malformed initial `root.json` (the operator's own input) stops the command.
#![allow(clippy::disallowed_methods)] // an edge: file I/O (and clocks for timeouts) live here by design
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use sigstore_tuf::transport::FetchFuture;
use sigstore_tuf::{Repository, Updater};

use crate::finding::Code;
use crate::limited::{read_file_limited, LimitedReadError};
use crate::trust::sigstore::{format_unix, Failure, MAX_TRUSTED_ROOT_BYTES};

/// Largest initial `root.json` read (bytes). Sigstore's is about 6 KiB.
pub const MAX_TUF_ROOT_BYTES: usize = 1024 * 1024;
/// The target that holds the Sigstore trusted root.
pub const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";

/// A `trustedRoots` entry of the form `{tuf: DIR, root: FILE, maxAge: DURATION}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TufSource {
    /// The TUF repository snapshot: `timestamp.json`, `N.snapshot.json`, `N.targets.json`,
    /// optional `N.root.json` rotations, and `targets/` with consistent-snapshot names. `None`:
    /// the snapshot the bundle being verified carries (`capture --tuf`).
    pub dir: Option<PathBuf>,
    /// The operator's initial trusted `root.json`.
    pub root: PathBuf,
    /// `maxAge` in seconds: the snapshot may be at most this old at the verification time.
    pub max_age_secs: Option<i64>,
}

/// A snapshot that verified.
#[derive(Clone, Debug)]
pub struct TufVerified {
    /// The bytes of the `trusted_root.json` target (length- and hash-checked).
    pub trusted_root_json: Vec<u8>,
    /// Versions of root, timestamp, snapshot and targets metadata.
    pub versions: [u64; 4],
    /// The earliest `expires` of the four roles (Unix seconds).
    pub expires: i64,
}

/// Why a snapshot cannot be used.
#[derive(Debug)]
pub enum TufError {
    /// The operator's input is unusable (the initial root cannot be read or is not a self-signed
    /// TUF root): exit 2.
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

fn stale(dir: &Path, what: impl std::fmt::Display) -> TufError {
    TufError::Finding(Failure::new(
        Code::TrustRootStale,
        format!(
            "TUF repository {}: {what}; bring a fresh copy of the TUF repository into the gap \
             (`airlock capture --tuf DIR`)",
            dir.display()
        ),
    ))
}

/// A TUF client error as a finding: expiry is `trust-root-stale`, anything else (signature,
/// threshold, version, rollback, length, hash, a missing or malformed file) `trust-root-invalid`.
fn classify(dir: &Path, at: i64, e: &sigstore_tuf::Error) -> TufError {
    match e {
        sigstore_tuf::Error::Expired { role, expires } => stale(
            dir,
            format!(
                "{role} metadata expired at {expires}, before the verification time {}",
                format_unix(at)
            ),
        ),
        other => invalid(dir, error_chain(other)),
    }
}

/// Where the snapshot's files are read from.
#[derive(Clone, Debug)]
pub enum SnapshotFiles {
    /// A directory.
    Dir(PathBuf),
    /// Files already read (the bundle's copy, from its blobs), by path relative to the snapshot.
    Memory {
        /// Named in messages.
        name: String,
        files: BTreeMap<String, Vec<u8>>,
    },
}

impl SnapshotFiles {
    fn name(&self) -> PathBuf {
        match self {
            SnapshotFiles::Dir(d) => d.clone(),
            SnapshotFiles::Memory { name, .. } => PathBuf::from(name),
        }
    }
}

/// Verify the snapshot in `files` from `source.root` at verification time `at` (Unix seconds).
/// `taken_at`: when the snapshot was taken (for `maxAge`), if known.
pub fn verify_snapshot(
    source: &TufSource,
    files: SnapshotFiles,
    at: i64,
    taken_at: Option<i64>,
) -> Result<TufVerified, TufError> {
    let root_bytes = read_file_limited(&source.root, MAX_TUF_ROOT_BYTES as u64)
        .map_err(|e| TufError::Unusable(format!("TUF root {}: {e}", source.root.display())))?;
    let now = jiff::Timestamp::from_second(at)
        .map_err(|e| TufError::Unusable(format!("verification time {at}: {e}")))?;
    let dir_name = files.name();
    let mut updater = Updater::new(DirRepository { files }, &root_bytes).map_err(|e| {
        TufError::Unusable(format!(
            "TUF root {}: not a self-signed TUF root.json: {}; give the initial root.json of \
             the TUF repository, obtained from a trusted source",
            source.root.display(),
            error_chain(&e)
        ))
    })?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| TufError::Unusable(format!("starting the TUF reader: {e}")))?;
    let dir = dir_name.as_path();
    rt.block_on(updater.refresh(now))
        .map_err(|e| classify(dir, at, &e))?;
    let trusted_root_json = rt
        .block_on(updater.get_target(TRUSTED_ROOT_TARGET, now))
        .map_err(|e| classify(dir, at, &e))?;
    if trusted_root_json.len() > MAX_TRUSTED_ROOT_BYTES {
        return Err(invalid(
            dir,
            format!(
                "the {TRUSTED_ROOT_TARGET} target is {} bytes, over the \
                 {MAX_TRUSTED_ROOT_BYTES}-byte limit",
                trusted_root_json.len()
            ),
        ));
    }

    let t = updater.trusted();
    let root = t.root();
    let missing = |role: &str| invalid(dir, format!("no trusted {role} metadata after the update"));
    let timestamp = t.timestamp().ok_or_else(|| missing("timestamp"))?;
    let snapshot = t.snapshot().ok_or_else(|| missing("snapshot"))?;
    let targets = t
        .targets_role("targets")
        .ok_or_else(|| missing("targets"))?;
    let versions = [
        root.version,
        timestamp.version,
        snapshot.version,
        targets.version,
    ];
    let expires = [
        root.expires,
        timestamp.expires,
        snapshot.expires,
        targets.expires,
    ]
    .iter()
    .map(|e| e.as_second())
    .min()
    .unwrap_or(at);

    if let (Some(max), Some(taken)) = (source.max_age_secs, taken_at) {
        if at.saturating_sub(taken) > max {
            return Err(stale(
                dir,
                format!(
                    "the snapshot was taken at {}, more than maxAge ({max} s) before the \
                     verification time {}",
                    format_unix(taken),
                    format_unix(at)
                ),
            ));
        }
    }
    Ok(TufVerified {
        trusted_root_json,
        versions,
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

/// Serves the TUF client from a local directory or from files in memory: metadata at the top,
/// targets under `targets/`.
///
/// Besides a repository's consistent-snapshot names (`N.snapshot.json`, `targets/<sha256>.NAME`)
/// it serves a client cache's plain names (`snapshot.json`, `targets.json`, `targets/NAME`, and
/// `root.json` as `N.root.json` when its version is N), as a `cosign initialize` cache holds
/// them: the client checks versions, signatures and hashes of whatever it is served, so the
/// file name is only a way to find the bytes.
pub struct DirRepository {
    files: SnapshotFiles,
}

impl DirRepository {
    pub fn new(dir: &Path) -> DirRepository {
        DirRepository {
            files: SnapshotFiles::Dir(dir.to_path_buf()),
        }
    }

    /// `rel` under the directory, or `Ok(None)` when it is absent. Only plain relative names
    /// (no `..`, no root) are looked up.
    fn read(&self, rel: &str, max_length: u64) -> sigstore_tuf::Result<Option<Vec<u8>>> {
        let p = Path::new(rel);
        if rel.is_empty() || !p.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(sigstore_tuf::Error::transport(format!(
                "{rel:?} is not a plain relative file name"
            )));
        }
        let dir = match &self.files {
            SnapshotFiles::Dir(d) => d,
            SnapshotFiles::Memory { files, .. } => {
                return match files.get(rel) {
                    Some(b) if b.len() as u64 > max_length => Err(sigstore_tuf::Error::transport(
                        format!("{rel}: {} bytes, over the {max_length}-byte limit", b.len()),
                    )),
                    Some(b) => Ok(Some(b.clone())),
                    None => Ok(None),
                }
            }
        };
        let path = dir.join(p);
        match read_file_limited(&path, max_length) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(LimitedReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(sigstore_tuf::Error::transport(format!(
                "{}: {e} (at most {max_length} bytes)",
                path.display()
            ))),
        }
    }

    fn metadata(&self, name: &str, max_length: u64) -> sigstore_tuf::Result<Option<Vec<u8>>> {
        if let Some(bytes) = self.read(name, max_length)? {
            return Ok(Some(bytes));
        }
        // A cache's plain name for a versioned file.
        let Some((version, plain)) = name.split_once('.') else {
            return Ok(None);
        };
        let Ok(version) = version.parse::<u64>() else {
            return Ok(None);
        };
        let Some(bytes) = self.read(plain, max_length)? else {
            return Ok(None);
        };
        if plain == "root.json" {
            // Offer the cache's root.json only as the version asked for, so the end of the
            // rotation chain is found.
            let v = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|d| d.pointer("/signed/version").and_then(|v| v.as_u64()));
            if v != Some(version) {
                return Ok(None);
            }
        }
        Ok(Some(bytes))
    }

    fn target(&self, path: &str, max_length: u64) -> sigstore_tuf::Result<Option<Vec<u8>>> {
        if let Some(bytes) = self.read(&format!("targets/{path}"), max_length)? {
            return Ok(Some(bytes));
        }
        // A cache's plain name: `<hash>.NAME` stored as `NAME`.
        let (dir, file) = match path.rsplit_once('/') {
            Some((d, f)) => (format!("{d}/"), f),
            None => (String::new(), path),
        };
        match file.split_once('.') {
            Some((hash, plain))
                if hash.len() >= 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                self.read(&format!("targets/{dir}{plain}"), max_length)
            }
            _ => Ok(None),
        }
    }
}

impl Repository for DirRepository {
    fn fetch_metadata<'a>(&'a self, name: &'a str, max_length: u64) -> FetchFuture<'a> {
        let r = self.metadata(name, max_length);
        Box::pin(async move { r })
    }

    fn fetch_target<'a>(&'a self, path: &'a str, max_length: u64) -> FetchFuture<'a> {
        let r = self.target(path, max_length);
        Box::pin(async move { r })
    }
}

/// Most files a TUF snapshot copied by `capture --tuf` may hold.
pub const MAX_TUF_FILES: usize = 4096;
/// Largest single file of such a snapshot (bytes).
pub const MAX_TUF_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Largest such snapshot in total (bytes).
pub const MAX_TUF_SNAPSHOT_BYTES: u64 = 512 * 1024 * 1024;
/// Deepest directory nesting read in such a snapshot.
pub const MAX_TUF_DEPTH: usize = 8;

/// Every file of a TUF snapshot directory (`capture --tuf DIR`), by path relative to it with `/`
/// separators, sorted. Symbolic links, devices and FIFOs are refused, and so is a directory
/// without a `timestamp.json` at its top (not a TUF metadata directory).
pub fn read_snapshot_dir(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let mut total = 0u64;
    let mut stack = vec![(dir.to_path_buf(), String::new(), 0usize)];
    while let Some((d, prefix, depth)) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: {e}", d.display()))?;
            let path = entry.path();
            let name = entry
                .file_name()
                .into_string()
                .map_err(|n| format!("{}: the name {n:?} is not UTF-8", d.display()))?;
            let rel = format!("{prefix}{name}");
            let meta =
                std::fs::symlink_metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            if meta.is_dir() {
                if depth + 1 > MAX_TUF_DEPTH {
                    return Err(format!(
                        "{}: nested deeper than {MAX_TUF_DEPTH} directories",
                        path.display()
                    ));
                }
                stack.push((path, format!("{rel}/"), depth + 1));
                continue;
            }
            if !meta.is_file() {
                return Err(format!(
                    "{}: not a regular file (a symbolic link, FIFO or device); copy the TUF \
                     repository with plain files",
                    path.display()
                ));
            }
            if out.len() == MAX_TUF_FILES {
                return Err(format!(
                    "{}: more than {MAX_TUF_FILES} files; give the directory of one TUF \
                     repository",
                    dir.display()
                ));
            }
            let bytes = read_file_limited(&path, MAX_TUF_FILE_BYTES)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            total += bytes.len() as u64;
            if total > MAX_TUF_SNAPSHOT_BYTES {
                return Err(format!(
                    "{}: over {MAX_TUF_SNAPSHOT_BYTES} bytes in total; give the directory of \
                     one TUF repository",
                    dir.display()
                ));
            }
            out.push((rel, bytes));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    if !out.iter().any(|(p, _)| p == "timestamp.json") {
        return Err(format!(
            "{} has no timestamp.json: give the directory that holds the TUF metadata \
             (timestamp.json, N.snapshot.json, N.targets.json) and its targets/",
            dir.display()
        ));
    }
    Ok(out)
}

/// The TUF snapshot a bundle carries (`capture --tuf`), read from its blobs by the digests the
/// lock records (`read_blob` reads one blob, checking its digest, up to a limit). Each file that
/// is missing, over the limit, or not what the lock records is a `trust-root-invalid` finding
/// (subject `tuf:PATH`); the files that read are returned by path.
pub fn read_bundle_copy(
    locked: &crate::lock::LockedTuf,
    read_blob: impl Fn(&crate::oci::Digest, u64) -> Result<Vec<u8>, String>,
) -> (BTreeMap<String, Vec<u8>>, Vec<crate::finding::Finding>) {
    use crate::finding::Finding;
    let mut files = BTreeMap::new();
    let mut findings = Vec::new();
    if locked.files.len() > MAX_TUF_FILES {
        findings.push(Finding::error(
            Code::TrustRootInvalid,
            "tuf",
            format!(
                "the lock lists {} TUF files, over the {MAX_TUF_FILES}-file limit",
                locked.files.len()
            ),
        ));
        return (files, findings);
    }
    for f in &locked.files {
        let subject = format!("tuf:{}", f.path);
        match read_blob(&f.digest, MAX_TUF_FILE_BYTES) {
            Ok(bytes) if bytes.len() as u64 == f.size => {
                files.insert(f.path.clone(), bytes);
            }
            Ok(bytes) => findings.push(Finding::error(
                Code::TrustRootInvalid,
                subject,
                format!(
                    "expected {} bytes ({}) as the lock records; found {} bytes",
                    f.size,
                    f.digest,
                    bytes.len()
                ),
            )),
            Err(e) => findings.push(Finding::error(
                Code::TrustRootInvalid,
                subject,
                format!(
                    "the TUF file the lock records as {} ({} bytes) cannot be used: {e}; the \
                     snapshot in the bundle is not the one capture recorded: treat it as \
                     tampering and capture again with --tuf",
                    f.digest, f.size
                ),
            )),
        }
    }
    (files, findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_repository_refuses_names_that_leave_the_directory() {
        let t = tempfile::tempdir().unwrap();
        let r = DirRepository::new(t.path());
        assert!(r.metadata("../x.json", 10).is_err());
        assert!(r.metadata("/etc/passwd", 10).is_err());
        assert!(matches!(r.metadata("timestamp.json", 10), Ok(None)));
    }
}

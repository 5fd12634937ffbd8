//! `airlock merge`: shard bundles (from `capture --shard I/N`) into one bundle with one lock.
//!
//! Blobs are hard-linked where the file system allows (after re-hashing the source), otherwise
//! copied through the verify-then-rename writer. Index entries and lock images are taken in
//! shard order; an image or named entry already taken is not repeated.
#![allow(clippy::disallowed_methods)] // an edge: file I/O (and clocks for timeouts) live here by design
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::layout::{self, BlobState, Layout, LayoutError};
use crate::lock::{Lock, LockError};
use crate::oci::{Algorithm, Digest};

/// What a merge did.
#[derive(Debug, Default)]
pub struct MergeOutcome {
    pub lock: Option<Lock>,
    pub linked: usize,
    pub copied: usize,
    pub present: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error("{path}: {source}")]
    Lock { path: String, source: LockError },
    #[error("{path}: blob {digest} is {state}; re-capture that shard")]
    BadBlob {
        path: String,
        digest: Digest,
        state: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Merge `shards` into `out` (created if needed).
pub fn merge(shards: &[&Path], out: &Path, created: String) -> Result<MergeOutcome, MergeError> {
    let target = Layout::create(out)?;
    let mut outcome = MergeOutcome::default();
    let mut lock = Lock::new(created);
    let mut entries = Vec::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut unnamed: BTreeSet<Digest> = BTreeSet::new();
    let mut blob_list: std::collections::BTreeMap<Digest, crate::lock::LockedBlob> =
        Default::default();
    for shard in shards {
        let src = Layout::open(shard)?;
        let lock_path = shard.join(layout::LOCK_FILE);
        let bytes = layout::read_regular_limited(&lock_path, crate::lock::MAX_LOCK_BYTES as u64)?;
        let l = Lock::parse(&bytes).map_err(|source| MergeError::Lock {
            path: lock_path.display().to_string(),
            source,
        })?;
        for img in l.images {
            if lock.image(&img.r#ref).is_none() {
                lock.images.push(img);
            }
        }
        for b in l.blobs {
            blob_list.entry(b.digest.clone()).or_insert(b);
        }
        // A TUF snapshot (capture --tuf; its files are blobs, copied below): the first shard's.
        if lock.tuf.is_none() {
            lock.tuf = l.tuf;
        }
        for d in src.read_index()?.child_descriptors() {
            let fresh = match layout::ref_name(d) {
                Some(n) => names.insert(n.to_string()),
                None => unnamed.insert(d.digest.clone()),
            };
            if fresh {
                entries.push(d.clone());
            }
        }
        for alg in [Algorithm::Sha256, Algorithm::Sha512] {
            let dir = shard.join("blobs").join(alg.as_str());
            let Ok(rd) = fs::read_dir(&dir) else { continue };
            let mut blobs: Vec<Digest> = rd
                .flatten()
                .filter_map(|e| {
                    Digest::parse(&format!(
                        "{}:{}",
                        alg.as_str(),
                        e.file_name().to_string_lossy()
                    ))
                    .ok()
                })
                .collect();
            blobs.sort();
            for d in blobs {
                if target.has_verified_blob(&d, None) {
                    outcome.present += 1;
                    continue;
                }
                let from = src.blob_path(&d);
                match src.check_blob(&d, None) {
                    BlobState::Ok => {}
                    other => {
                        return Err(MergeError::BadBlob {
                            path: shard.display().to_string(),
                            digest: d,
                            state: format!("{other:?}"),
                        })
                    }
                }
                let to = target.blob_path(&d);
                let _ = fs::remove_file(&to); // a wrong file under the name (checked above)
                if fs::hard_link(&from, &to).is_ok() {
                    outcome.linked += 1;
                    continue;
                }
                let mut w = target.blob_writer(alg)?;
                let mut f = fs::File::open(&from).map_err(|source| MergeError::Io {
                    path: from.display().to_string(),
                    source,
                })?;
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n =
                        std::io::Read::read(&mut f, &mut buf).map_err(|source| MergeError::Io {
                            path: from.display().to_string(),
                            source,
                        })?;
                    if n == 0 {
                        break;
                    }
                    w.write_chunk(&buf[..n])?;
                }
                w.commit(&d, None).map_err(LayoutError::from)?;
                outcome.copied += 1;
            }
        }
    }
    lock.blobs = blob_list.into_values().collect();
    target.write_index(&entries)?;
    layout::write_atomic(&out.join(layout::LOCK_FILE), &lock.to_json())?;
    outcome.lock = Some(lock);
    Ok(outcome)
}

/// The shard (1-based `i` of `n`) each repository falls in: distinct repositories in sorted
/// order, dealt round-robin, so one repository's tags stay together and shards stay even.
pub fn shard_of(repositories: &[String], i: usize, n: usize) -> BTreeSet<String> {
    let distinct: BTreeSet<&String> = repositories.iter().collect();
    distinct
        .into_iter()
        .enumerate()
        .filter(|(k, _)| k % n == i - 1)
        .map(|(_, r)| r.clone())
        .collect()
}

/// Parse `I/N` (1 ≤ I ≤ N).
pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("--shard {s:?}: expected I/N with 1 <= I <= N, e.g. 2/3");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let i: usize = i.trim().parse().map_err(|_| bad())?;
    let n: usize = n.trim().parse().map_err(|_| bad())?;
    if i == 0 || n == 0 || i > n || n > 10_000 {
        return Err(bad());
    }
    Ok((i, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_repository_once_and_keep_tags_together() {
        let repos: Vec<String> = ["a/x", "b/y", "a/x", "c/z", "d/w", "b/y"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut all = BTreeSet::new();
        for i in 1..=3 {
            for r in shard_of(&repos, i, 3) {
                assert!(all.insert(r));
            }
        }
        assert_eq!(all.len(), 4);
        assert_eq!(parse_shard("2/3"), Ok((2, 3)));
        assert!(parse_shard("0/3").is_err());
        assert!(parse_shard("4/3").is_err());
        assert!(parse_shard("x").is_err());
    }
}

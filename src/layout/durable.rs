//! Making many freshly written files durable at once. Capture writes and renames blobs without
//! a per-file fsync while downloads run, then calls [`sync_all_parallel`] before it reports
//! success: the fsyncs overlap (the filesystem can commit them together) instead of each
//! download waiting for its own. A crash before that point can leave a renamed blob whose bytes
//! did not reach the disk; a re-run re-hashes every blob it finds, so such a blob is fetched again.
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::LayoutError;

/// Most threads used to fsync files.
pub const MAX_SYNC_THREADS: usize = 32;

/// fsync every file in `paths` on up to `threads` threads, then the directories holding them.
pub fn sync_all_parallel(paths: &[PathBuf], threads: usize) -> Result<(), LayoutError> {
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, MAX_SYNC_THREADS).min(paths.len().max(1));
    let sync = |p: &Path| -> Result<(), LayoutError> {
        File::open(p)
            .and_then(|f| f.sync_all())
            .map_err(|e| LayoutError::Io {
                path: p.to_path_buf(),
                source: e,
            })
    };
    let first_error = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> Result<(), LayoutError> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(p) = paths.get(i) else {
                            return Ok(());
                        };
                        sync(p)?;
                    }
                })
            })
            .collect();
        let mut err = None;
        for w in workers {
            match w.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => err = err.or(Some(e)),
                Err(_) => {
                    err = err.or(Some(LayoutError::Io {
                        path: PathBuf::new(),
                        source: std::io::Error::other("an fsync thread panicked"),
                    }))
                }
            }
        }
        err
    });
    if let Some(e) = first_error {
        return Err(e);
    }
    // The renames: fsync each directory once.
    let mut dirs: Vec<&Path> = paths.iter().filter_map(|p| p.parent()).collect();
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        sync(d)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syncs_every_file_and_reports_a_missing_one_by_path() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..20)
            .map(|i| {
                let p = dir.path().join(format!("f{i}"));
                std::fs::write(&p, vec![i as u8; 100]).unwrap();
                p
            })
            .collect();
        sync_all_parallel(&paths, 4).unwrap();
        let mut bad = paths.clone();
        bad.push(dir.path().join("gone"));
        let e = sync_all_parallel(&bad, 4).unwrap_err();
        assert!(e.to_string().contains("gone"), "{e}");
    }
}

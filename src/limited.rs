//! Reading operator-supplied files (trusted roots, pins) with a size limit.
//!
//! The path may be a symlink (ConfigMap mounts are), but what it names must be a regular file:
//! a FIFO or device would block or never end. At most `limit + 1` bytes are read whatever the
//! file claims, so a file that grows while being read still stops at the limit.
#![allow(clippy::disallowed_methods)] // an edge: file I/O (and clocks for timeouts) live here by design
use std::io::Read;
use std::path::Path;

/// Why a limited read failed.
#[derive(Debug, thiserror::Error)]
pub enum LimitedReadError {
    #[error("cannot read it: {0}")]
    Io(#[from] std::io::Error),
    #[error("it is not a regular file (a FIFO, device, socket or directory); expected a file")]
    NotAFile,
    #[error("it is over the {limit}-byte limit")]
    TooLarge { limit: u64 },
}

/// Read the regular file at `path` (symlinks followed), refusing more than `limit` bytes.
pub fn read_file_limited(path: &Path, limit: u64) -> Result<Vec<u8>, LimitedReadError> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(LimitedReadError::NotAFile);
    }
    if meta.len() > limit {
        return Err(LimitedReadError::TooLarge { limit });
    }
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(LimitedReadError::TooLarge { limit });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_read_refuses_large_files_and_non_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"12345").unwrap();
        assert_eq!(read_file_limited(&p, 5).unwrap(), b"12345");
        assert!(matches!(
            read_file_limited(&p, 4),
            Err(LimitedReadError::TooLarge { limit: 4 })
        ));
        assert!(matches!(
            read_file_limited(dir.path(), 4),
            Err(LimitedReadError::NotAFile)
        ));
        assert!(matches!(
            read_file_limited(Path::new("/dev/zero"), 4),
            Err(LimitedReadError::NotAFile)
        ));
    }
}

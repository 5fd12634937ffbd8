//! One-file and chunked bundle archives: `airlock pack` / `unpack`, and reading a bundle straight
//! from an archive (`verify FILE.chunks.json`).
//!
//! An archive is a POSIX (ustar) tar stream of the bundle directory with a deterministic member
//! order (`oci-layout`, `index.json`, the lock and its signature, other top-level files by name,
//! then every blob in digest order) and fixed metadata (mode 0644/0755, uid/gid 0, mtime 0), so
//! the same bundle always packs to the same bytes. The stream is cut into chunk files
//! (`FILE.001`, `FILE.002`, … or one chunk named `FILE`) described by a chunk list
//! `FILE.chunks.json` (schema `airlock.chunks/v1`), optionally signed as a DSSE envelope
//! `FILE.chunks.dsse.json`.
//!
//! Reading checks each chunk's sha256 *before* handing any of its bytes to the tar parser, so
//! nothing from a damaged chunk is ever written; members are classified before anything is
//! written, and absolute paths, `..`, links, devices, duplicates and archive junk are refused.
#![allow(clippy::disallowed_methods)] // an edge: file I/O (and clocks for timeouts) live here by design
pub mod chunks;
pub mod member;
pub mod pack;
pub mod unpack;
pub mod view;

pub use chunks::{ChunkEntry, ChunkList, ChunkProblem, ChunkReader, ChunkSet};
pub use member::{classify, Member, MemberError};
pub use pack::pack;
pub use unpack::unpack;

/// Schema of the chunk list.
pub const CHUNKS_SCHEMA: &str = "airlock.chunks/v1";
/// DSSE payload type of the signed chunk list.
pub const CHUNKS_PAYLOAD_TYPE: &str = "application/vnd.airlock.chunks.v1+json";
/// Suffix of the chunk list next to FILE.
pub const CHUNKS_SUFFIX: &str = ".chunks.json";
/// Suffix of the signed chunk list next to FILE.
pub const CHUNKS_DSSE_SUFFIX: &str = ".chunks.dsse.json";
/// Largest chunk list accepted.
pub const MAX_CHUNK_LIST_BYTES: u64 = 16 * 1024 * 1024;
/// Most chunks in one list.
pub const MAX_CHUNKS: usize = 100_000;
/// Most members in one archive.
pub const MAX_MEMBERS: usize = 10_000_000;
/// Largest top-level file (index.json, lock, …) read from an archive into memory.
pub const MAX_TOP_FILE_BYTES: u64 = crate::layout::MAX_INDEX_BYTES;

/// Why an archive could not be read or written at all (exit 2). Content problems are findings.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {problem}")]
    Invalid {
        path: std::path::PathBuf,
        problem: String,
    },
    #[error(transparent)]
    Layout(#[from] crate::layout::LayoutError),
}

/// Parse a chunk size: bytes, or a number with a binary unit `K`, `M`, `G`, `T` (also `KiB`,
/// `MiB`, …; `4G` is 4 GiB).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("size {s:?}: expected a number of bytes or e.g. 700M, 4G"))?;
    let mult: u64 = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KIB" | "KB" => 1 << 10,
        "M" | "MIB" | "MB" => 1 << 20,
        "G" | "GIB" | "GB" => 1 << 30,
        "T" | "TIB" | "TB" => 1 << 40,
        other => {
            return Err(format!(
                "size {s:?}: unknown unit {other:?} (use K, M, G or T, binary)"
            ))
        }
    };
    let v = n
        .checked_mul(mult)
        .ok_or_else(|| format!("size {s:?} is too large"))?;
    if v < 512 {
        return Err(format!(
            "size {s:?}: a chunk must be at least 512 bytes (one tar block)"
        ));
    }
    Ok(v)
}

/// Progress of a long archive operation (bytes through the stream).
pub trait Progress: Sync {
    fn total(&self, _bytes: u64) {}
    fn bytes(&self, _n: u64) {}
}

/// No progress display.
pub struct NoProgress;
impl Progress for NoProgress {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("4G").unwrap(), 4 << 30);
        assert_eq!(parse_size("700M").unwrap(), 700 << 20);
        assert_eq!(parse_size("1048576").unwrap(), 1 << 20);
        assert_eq!(parse_size("64KiB").unwrap(), 64 << 10);
        assert!(parse_size("12").is_err());
        assert!(parse_size("4X").is_err());
        assert!(parse_size("").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }
}

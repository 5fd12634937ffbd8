//! The bundle store: an OCI image layout on disk (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`).
//!
//! Writes stream to a temporary file in the same directory, are hashed while written, fsynced and
//! renamed, so no partially written blob ever sits under its final name. Reads refuse symlinks,
//! devices and anything outside the layout, and re-hash what they read.
#![allow(clippy::disallowed_methods)] // an edge: file I/O (and clocks for timeouts) live here by design
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::oci::digest::Hasher;
use crate::oci::manifest::{
    Descriptor, Manifest, ManifestError, ANNOTATION_REF_NAME, MEDIA_OCI_INDEX,
};
use crate::oci::{Algorithm, Digest};

pub const OCI_LAYOUT_FILE: &str = "oci-layout";
pub const INDEX_FILE: &str = "index.json";
pub const LOCK_FILE: &str = "airlock.lock.json";
pub const LOCK_DSSE_FILE: &str = "airlock.lock.dsse.json";
pub const MAPPING_FILE: &str = "airlock.mapping.json";
const OCI_LAYOUT_CONTENT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
/// Largest `oci-layout` file accepted.
pub const MAX_OCI_LAYOUT_BYTES: u64 = 4096;
/// Largest `index.json` accepted (it names every image and attachment of a bundle).
pub const MAX_INDEX_BYTES: u64 = 256 * 1024 * 1024;
/// Most entries in `index.json`.
pub const MAX_INDEX_JSON_ENTRIES: usize = 1_000_000;
pub mod dirlock;
pub mod durable;
pub mod load;

const READ_BUF: usize = 1 << 20;

/// Why a directory is not a usable layout. Each maps to the `layout-invalid` finding.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("{path}: not found; a bundle is an OCI image layout directory with oci-layout and index.json at its top (was the transfer unpacked with --strip-components, or is this a parent directory?)")]
    Missing { path: PathBuf },
    #[error("{path}: {problem}")]
    Invalid { path: PathBuf, problem: String },
    #[error("{path}: refusing {what}; a bundle holds only regular files and directories")]
    NotRegular { path: PathBuf, what: &'static str },
    #[error("{path}: archive junk ({what}); remove it (e.g. `find DIR -name '._*' -delete; rm -rf DIR/__MACOSX`) and re-run, after checking how it got there")]
    Junk { path: PathBuf, what: &'static str },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

pub use crate::view::{BlobReadError, BlobState};

/// An OCI image layout directory.
#[derive(Debug)]
pub struct Layout {
    root: PathBuf,
    tmp_counter: AtomicU64,
    durable: bool,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> LayoutError + '_ {
    move |source| LayoutError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Layout {
    /// Open an existing layout for reading, checking its shape.
    pub fn open(root: &Path) -> Result<Layout, LayoutError> {
        let meta = fs::symlink_metadata(root).map_err(|_| LayoutError::Missing {
            path: root.to_path_buf(),
        })?;
        if !meta.is_dir() {
            return Err(LayoutError::Invalid {
                path: root.to_path_buf(),
                problem: "not a directory".into(),
            });
        }
        let layout = Layout {
            root: root.to_path_buf(),
            tmp_counter: AtomicU64::new(0),
            durable: true,
        };
        layout.check_junk()?;
        let ol = layout.root.join(OCI_LAYOUT_FILE);
        let bytes = read_regular_limited(&ol, MAX_OCI_LAYOUT_BYTES)?;
        let v: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| LayoutError::Invalid {
                path: ol.clone(),
                problem: format!("not JSON: {e}"),
            })?;
        match v.get("imageLayoutVersion").and_then(|x| x.as_str()) {
            Some(s) if s.starts_with("1.") => {}
            other => {
                return Err(LayoutError::Invalid {
                    path: ol,
                    problem: format!("expected imageLayoutVersion \"1.0.0\", found {other:?}"),
                })
            }
        }
        let idx = layout.root.join(INDEX_FILE);
        if fs::symlink_metadata(&idx).is_err() {
            return Err(LayoutError::Missing { path: idx });
        }
        // Reads must stay inside the bundle: neither `blobs` nor `blobs/sha256` (nor any other
        // algorithm directory) may be a symlink or anything but a directory.
        let mut dirs = vec![layout.root.join("blobs")];
        if let Ok(rd) = fs::read_dir(layout.root.join("blobs")) {
            if fs::symlink_metadata(layout.root.join("blobs")).is_ok_and(|m| m.is_dir()) {
                dirs.extend(rd.filter_map(Result::ok).map(|e| e.path()));
            }
        }
        for dir in dirs {
            if let Ok(m) = fs::symlink_metadata(&dir) {
                if m.file_type().is_symlink() {
                    return Err(LayoutError::NotRegular {
                        path: dir,
                        what: "a symlinked blobs directory",
                    });
                }
                if !m.is_dir() {
                    return Err(LayoutError::NotRegular {
                        path: dir,
                        what: "a non-directory in place of a blobs directory",
                    });
                }
            }
        }
        Ok(layout)
    }

    /// Create (or reopen) a layout for writing.
    pub fn create(root: &Path) -> Result<Layout, LayoutError> {
        fs::create_dir_all(root.join("blobs").join("sha256")).map_err(io_err(root))?;
        let ol = root.join(OCI_LAYOUT_FILE);
        if fs::symlink_metadata(&ol).is_err() {
            write_atomic(&ol, OCI_LAYOUT_CONTENT)?;
        }
        let layout = Layout {
            root: root.to_path_buf(),
            tmp_counter: AtomicU64::new(0),
            durable: true,
        };
        if fs::symlink_metadata(root.join(INDEX_FILE)).is_err() {
            layout.write_index(&[])?;
        }
        Ok(layout)
    }

    /// Skip the per-blob fsync on commit: fixture generators, and capture, which makes all the
    /// blobs it wrote durable together (`durable::sync_all_parallel`) before it reports success.
    pub fn set_durable(&mut self, durable: bool) {
        self.durable = durable;
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Path of a blob. Safe by construction: a `Digest` holds only `[a-z0-9]` hex.
    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(d.algorithm().as_str())
            .join(d.hex())
    }

    fn check_junk(&self) -> Result<(), LayoutError> {
        let mut dirs = vec![self.root.clone()];
        for alg in [Algorithm::Sha256, Algorithm::Sha512] {
            dirs.push(self.root.join("blobs").join(alg.as_str()));
        }
        dirs.push(self.root.join("blobs"));
        for dir in dirs {
            let Ok(rd) = fs::read_dir(&dir) else { continue };
            for entry in rd.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name == "__MACOSX" {
                    return Err(LayoutError::Junk {
                        path: entry.path(),
                        what: "a macOS __MACOSX folder",
                    });
                }
                if name.starts_with("._") {
                    return Err(LayoutError::Junk {
                        path: entry.path(),
                        what: "a macOS AppleDouble ._ file",
                    });
                }
            }
        }
        Ok(())
    }

    /// Read and parse `index.json`.
    pub fn read_index(&self) -> Result<Manifest, LayoutError> {
        let path = self.root.join(INDEX_FILE);
        let bytes = read_regular_limited(&path, MAX_INDEX_BYTES)?;
        let m = Manifest::parse_with_limits(
            bytes,
            Some(MEDIA_OCI_INDEX),
            MAX_INDEX_BYTES as usize,
            MAX_INDEX_JSON_ENTRIES,
        )
        .map_err(|e| LayoutError::Invalid {
            path: path.clone(),
            problem: e.to_string(),
        })?;
        if !m.is_index() {
            return Err(LayoutError::Invalid {
                path,
                problem: "expected an image index (a \"manifests\" list)".into(),
            });
        }
        Ok(m)
    }

    /// Write `index.json` (atomically) listing `entries`.
    pub fn write_index(&self, entries: &[Descriptor]) -> Result<(), LayoutError> {
        #[derive(serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Index<'a> {
            schema_version: u32,
            media_type: &'a str,
            manifests: &'a [Descriptor],
        }
        let doc = Index {
            schema_version: 2,
            media_type: MEDIA_OCI_INDEX,
            manifests: entries,
        };
        let mut bytes = serde_json::to_vec_pretty(&doc).map_err(|e| LayoutError::Invalid {
            path: self.root.join(INDEX_FILE),
            problem: e.to_string(),
        })?;
        bytes.push(b'\n');
        write_atomic(&self.root.join(INDEX_FILE), &bytes)
    }

    /// Read a whole blob (refusing symlinks), checking its digest, up to `limit` bytes.
    pub fn read_blob(&self, d: &Digest, limit: u64) -> Result<Vec<u8>, BlobReadError> {
        let path = self.blob_path(d);
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(BlobReadError::Missing),
            Err(e) => return Err(BlobReadError::Io(e.to_string())),
        };
        if !meta.file_type().is_file() {
            return Err(BlobReadError::NotRegular(file_kind(&meta)));
        }
        if meta.len() > limit {
            return Err(BlobReadError::TooLarge {
                size: meta.len(),
                limit,
            });
        }
        let bytes = fs::read(&path).map_err(|e| BlobReadError::Io(e.to_string()))?;
        if !d.matches(&bytes) {
            return Err(BlobReadError::DigestMismatch {
                actual: Digest::of(d.algorithm(), &bytes),
            });
        }
        Ok(bytes)
    }

    /// Re-hash a blob by streaming and compare digest and size.
    pub fn check_blob(&self, d: &Digest, expected_size: Option<u64>) -> BlobState {
        let path = self.blob_path(d);
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return BlobState::Missing,
            Err(e) => return BlobState::Unreadable(e.to_string()),
        };
        if !meta.file_type().is_file() {
            return BlobState::NotRegular(file_kind(&meta));
        }
        if let Some(exp) = expected_size {
            if meta.len() != exp {
                return BlobState::SizeMismatch {
                    expected: exp,
                    actual: meta.len(),
                };
            }
        }
        match hash_file(&path, d.algorithm()) {
            Ok(actual) if &actual == d => BlobState::Ok,
            Ok(actual) => BlobState::DigestMismatch { actual },
            Err(e) => BlobState::Unreadable(e.to_string()),
        }
    }

    /// Check many blobs in parallel on `jobs` threads.
    pub fn check_blobs(
        &self,
        blobs: &[(Digest, Option<u64>)],
        jobs: usize,
    ) -> BTreeMap<Digest, BlobState> {
        let queue = Mutex::new(blobs.iter());
        let out = Mutex::new(BTreeMap::new());
        std::thread::scope(|s| {
            for _ in 0..jobs.max(1) {
                s.spawn(|| loop {
                    let next = match queue.lock() {
                        Ok(mut q) => q.next(),
                        Err(_) => None,
                    };
                    let Some((d, size)) = next else { break };
                    let st = self.check_blob(d, *size);
                    if let Ok(mut o) = out.lock() {
                        o.insert(d.clone(), st);
                    }
                });
            }
        });
        out.into_inner().unwrap_or_default()
    }

    /// Is the blob present, regular, of the expected size and hashing to its digest?
    pub fn has_verified_blob(&self, d: &Digest, size: Option<u64>) -> bool {
        self.check_blob(d, size) == BlobState::Ok
    }

    /// Start writing a blob: a temp file in the blob directory, hashed as written.
    pub fn blob_writer(&self, alg: Algorithm) -> Result<BlobWriter, LayoutError> {
        let dir = self.root.join("blobs").join(alg.as_str());
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let n = self.tmp_counter.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".tmp-{}-{n}", std::process::id()));
        let file = fs::File::create(&tmp).map_err(io_err(&tmp))?;
        Ok(BlobWriter {
            file: io::BufWriter::with_capacity(READ_BUF, file),
            tmp: TempGuard(Some(tmp)),
            hasher: Hasher::new(alg),
            written: 0,
            dir,
            durable: self.durable,
        })
    }

    /// Write a whole blob from memory; returns its digest.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<Digest, LayoutError> {
        let d = Digest::sha256_of(bytes);
        if self.has_verified_blob(&d, Some(bytes.len() as u64)) {
            return Ok(d);
        }
        let mut w = self.blob_writer(Algorithm::Sha256)?;
        w.write_chunk(bytes)?;
        w.commit(&d, Some(bytes.len() as u64))?;
        Ok(d)
    }

    /// Remove temp files left by an interrupted writer.
    pub fn clean_temp_files(&self) {
        for alg in [Algorithm::Sha256, Algorithm::Sha512] {
            let Ok(rd) = fs::read_dir(self.root.join("blobs").join(alg.as_str())) else {
                continue;
            };
            for e in rd.flatten() {
                if e.file_name().to_string_lossy().starts_with(".tmp-") {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
    }
}

/// A blob being written: commit only after the digest is checked.
pub struct BlobWriter {
    file: io::BufWriter<fs::File>,
    tmp: TempGuard,
    dir: PathBuf,
    hasher: Hasher,
    written: u64,
    durable: bool,
}

impl BlobWriter {
    pub fn write_chunk(&mut self, chunk: &[u8]) -> Result<(), LayoutError> {
        self.hasher.update(chunk);
        self.written += chunk.len() as u64;
        let path = self.tmp.path();
        self.file
            .write_all(chunk)
            .map_err(|e| LayoutError::Io { path, source: e })
    }
    pub fn written(&self) -> u64 {
        self.written
    }
    /// Finish: fsync, check digest and size, rename into place. On mismatch the temp file is
    /// removed and the actual digest returned in the error.
    pub fn commit(self, expected: &Digest, expected_size: Option<u64>) -> Result<(), CommitError> {
        let BlobWriter {
            file,
            tmp: mut guard,
            dir,
            hasher,
            written,
            durable,
        } = self;
        let tmp = guard.0.take().unwrap_or_default();
        let actual = hasher.finish();
        let file = file.into_inner().map_err(|e| {
            CommitError::Io(LayoutError::Io {
                path: tmp.clone(),
                source: e.into_error(),
            })
        });
        let file = match file {
            Ok(f) => f,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        if &actual != expected || expected_size.is_some_and(|s| s != written) {
            drop(file);
            let _ = fs::remove_file(&tmp);
            return Err(CommitError::Mismatch {
                expected: expected.clone(),
                actual,
                expected_size,
                actual_size: written,
            });
        }
        if let Err(e) = if durable { file.sync_all() } else { Ok(()) } {
            let _ = fs::remove_file(&tmp);
            return Err(CommitError::Io(LayoutError::Io {
                path: tmp,
                source: e,
            }));
        }
        drop(file);
        let dest = dir.join(expected.hex());
        fs::rename(&tmp, &dest).map_err(|e| {
            CommitError::Io(LayoutError::Io {
                path: dest,
                source: e,
            })
        })
    }
    /// Abandon the write (dropping the writer does the same).
    pub fn abort(self) {}
}

/// Removes an uncommitted temp file when a writer is dropped (cancelled or failed transfer).
struct TempGuard(Option<PathBuf>);

impl TempGuard {
    fn path(&self) -> PathBuf {
        self.0.clone().unwrap_or_default()
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("content hashes to {actual} ({actual_size} bytes), not to the expected {expected}{}", expected_size.map(|s| format!(" ({s} bytes)")).unwrap_or_default())]
    Mismatch {
        expected: Digest,
        actual: Digest,
        expected_size: Option<u64>,
        actual_size: u64,
    },
    #[error(transparent)]
    Io(#[from] LayoutError),
}

impl From<CommitError> for LayoutError {
    fn from(e: CommitError) -> Self {
        match e {
            CommitError::Io(l) => l,
            m @ CommitError::Mismatch { .. } => LayoutError::Invalid {
                path: PathBuf::from("blob"),
                problem: m.to_string(),
            },
        }
    }
}

impl From<ManifestError> for BlobReadError {
    fn from(e: ManifestError) -> Self {
        BlobReadError::Io(e.to_string())
    }
}

fn file_kind(meta: &fs::Metadata) -> String {
    let ft = meta.file_type();
    if ft.is_symlink() {
        "a symlink".into()
    } else if ft.is_dir() {
        "a directory".into()
    } else {
        "a special file (device, FIFO or socket)".into()
    }
}

/// Stream-hash a file.
pub fn hash_file(path: &Path, alg: Algorithm) -> io::Result<Digest> {
    let mut f = fs::File::open(path)?;
    let mut h = Hasher::new(alg);
    // Small blobs (most of a bundle by count) get a small buffer: no 1 MiB zeroing per file.
    let len = f.metadata().map(|m| m.len()).unwrap_or(READ_BUF as u64);
    let mut buf = vec![
        0u8;
        usize::try_from(len)
            .unwrap_or(READ_BUF)
            .clamp(4096, READ_BUF)
    ];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finish())
}

/// Read a regular (non-symlink) file up to `limit` bytes.
pub fn read_regular_limited(path: &Path, limit: u64) -> Result<Vec<u8>, LayoutError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(LayoutError::Missing {
                path: path.to_path_buf(),
            })
        }
        Err(e) => {
            return Err(LayoutError::Io {
                path: path.to_path_buf(),
                source: e,
            })
        }
    };
    if meta.file_type().is_symlink() {
        return Err(LayoutError::NotRegular {
            path: path.to_path_buf(),
            what: "a symlink",
        });
    }
    if !meta.file_type().is_file() {
        return Err(LayoutError::NotRegular {
            path: path.to_path_buf(),
            what: "a non-regular file",
        });
    }
    if meta.len() > limit {
        return Err(LayoutError::Invalid {
            path: path.to_path_buf(),
            problem: format!("{} bytes, over the {limit}-byte limit", meta.len()),
        });
    }
    fs::read(path).map_err(io_err(path))
}

/// Write a file atomically: temp file in the same directory, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), LayoutError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut f = fs::File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(bytes).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io_err(path))
}

/// The `org.opencontainers.image.ref.name` of an index entry.
pub fn ref_name(d: &Descriptor) -> Option<&str> {
    d.annotation(ANNOTATION_REF_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn created_layout_opens_and_has_empty_index() {
        let t = tmp();
        Layout::create(t.path()).unwrap();
        let l = Layout::open(t.path()).unwrap();
        assert!(l.read_index().unwrap().child_descriptors().is_empty());
    }

    #[test]
    fn manifest_digest_is_unchanged_through_store_and_read() {
        let t = tmp();
        let l = Layout::create(t.path()).unwrap();
        let raw = br#"{"schemaVersion":2,  "mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#.to_vec();
        let m = Manifest::parse(raw.clone(), None).unwrap();
        let d = l.put_blob(m.raw()).unwrap();
        assert_eq!(&d, m.digest());
        let back = Manifest::parse_expecting(l.read_blob(&d, 1 << 20).unwrap(), None, &d).unwrap();
        assert_eq!(back.raw(), &raw[..]);
        assert_eq!(back.digest(), m.digest());
    }

    #[test]
    fn missing_index_json_is_named() {
        let t = tmp();
        fs::write(t.path().join(OCI_LAYOUT_FILE), OCI_LAYOUT_CONTENT).unwrap();
        let e = Layout::open(t.path()).unwrap_err();
        assert!(matches!(e, LayoutError::Missing { .. }));
        assert!(e.to_string().contains("index.json"));
        assert!(e.to_string().contains("strip-components"));
    }

    #[test]
    fn missing_oci_layout_is_named() {
        let t = tmp();
        fs::write(t.path().join(INDEX_FILE), b"{}").unwrap();
        let e = Layout::open(t.path()).unwrap_err();
        assert!(e.to_string().contains("oci-layout"));
    }

    #[test]
    fn macos_junk_is_refused() {
        let t = tmp();
        Layout::create(t.path()).unwrap();
        fs::write(t.path().join("blobs/sha256/._abc"), b"x").unwrap();
        assert!(matches!(
            Layout::open(t.path()),
            Err(LayoutError::Junk { .. })
        ));
        let t2 = tmp();
        Layout::create(t2.path()).unwrap();
        fs::create_dir(t2.path().join("__MACOSX")).unwrap();
        assert!(matches!(
            Layout::open(t2.path()),
            Err(LayoutError::Junk { .. })
        ));
    }

    #[test]
    fn symlinked_blob_is_refused() {
        let t = tmp();
        let l = Layout::create(t.path()).unwrap();
        let outside = t.path().join("outside");
        fs::write(&outside, b"{}").unwrap();
        let d = Digest::sha256_of(b"{}");
        std::os::unix::fs::symlink(&outside, l.blob_path(&d)).unwrap();
        assert!(matches!(
            l.check_blob(&d, Some(2)),
            BlobState::NotRegular(_)
        ));
        assert!(matches!(
            l.read_blob(&d, 10),
            Err(BlobReadError::NotRegular(_))
        ));
    }

    #[test]
    fn flipped_byte_is_digest_mismatch_and_short_blob_is_size_mismatch() {
        let t = tmp();
        let l = Layout::create(t.path()).unwrap();
        let d = l.put_blob(b"hello world").unwrap();
        fs::write(l.blob_path(&d), b"hello worle").unwrap();
        assert!(matches!(
            l.check_blob(&d, Some(11)),
            BlobState::DigestMismatch { .. }
        ));
        fs::write(l.blob_path(&d), b"hello").unwrap();
        assert!(matches!(
            l.check_blob(&d, Some(11)),
            BlobState::SizeMismatch {
                expected: 11,
                actual: 5
            }
        ));
        fs::remove_file(l.blob_path(&d)).unwrap();
        assert_eq!(l.check_blob(&d, Some(11)), BlobState::Missing);
    }

    #[test]
    fn mismatching_write_leaves_no_blob_under_final_name() {
        let t = tmp();
        let l = Layout::create(t.path()).unwrap();
        let claimed = Digest::sha256_of(b"what the registry promised");
        let mut w = l.blob_writer(Algorithm::Sha256).unwrap();
        w.write_chunk(b"what it sent").unwrap();
        assert!(matches!(
            w.commit(&claimed, None),
            Err(CommitError::Mismatch { .. })
        ));
        assert!(!l.blob_path(&claimed).exists());
        let leftovers: Vec<_> = fs::read_dir(t.path().join("blobs/sha256"))
            .unwrap()
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn parallel_check_reports_each_blob() {
        let t = tmp();
        let l = Layout::create(t.path()).unwrap();
        let a = l.put_blob(b"a").unwrap();
        let b = Digest::sha256_of(b"b");
        let states = l.check_blobs(&[(a.clone(), Some(1)), (b.clone(), Some(1))], 2);
        assert_eq!(states[&a], BlobState::Ok);
        assert_eq!(states[&b], BlobState::Missing);
    }
}

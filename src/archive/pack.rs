//! `airlock pack`: the bundle directory as a deterministic tar stream cut into chunk files.
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};

use super::chunks::{list_path_for, ChunkEntry, ChunkList};
use super::{ArchiveError, Progress, CHUNKS_SCHEMA};
use crate::layout::{self, Layout};
use crate::oci::digest::Hasher;
use crate::oci::{Algorithm, Digest};

/// Read buffer per packed file.
const READ_BUF: usize = 1 << 20;

/// Files a bundle directory may hold that are not bundle content: the advisory lock of a running
/// capture/push/unpack, and what `push` writes about one site (the mapping and the report its
/// verdict came from). They are never packed: an archive carries the bundle, not the state of
/// the machine it was packed on. (Every other dot file is skipped too.)
pub const STATE_FILES: &[&str] = &[
    layout::dirlock::DIR_LOCK_FILE,
    layout::MAPPING_FILE,
    PUSH_REPORT_FILE,
];
/// The report `push --policy` writes next to the mapping.
pub const PUSH_REPORT_FILE: &str = "airlock.report.json";

/// Bytes handed to the hashing threads at a time.
const HASH_BUF: usize = 1 << 20;
/// Buffers queued per hashing thread.
const HASH_QUEUE: usize = 8;
/// Sent buffers remembered for reuse (more than can be queued or in use by the threads).
const SENT_KEPT: usize = 2 * HASH_QUEUE + 4;

enum HashMsg {
    Data(Arc<Vec<u8>>),
    /// Send the digest of everything since the last `End`, and start again.
    End(mpsc::Sender<Digest>),
    /// Send the digest of everything since the last `End`, and go on.
    SoFar(mpsc::Sender<Digest>),
}

/// A SHA-256 on its own thread, fed 1 MiB buffers.
struct HashThread {
    tx: mpsc::SyncSender<HashMsg>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl HashThread {
    fn start() -> HashThread {
        let (tx, rx) = mpsc::sync_channel::<HashMsg>(HASH_QUEUE);
        let handle = std::thread::spawn(move || {
            let mut h = Hasher::new(Algorithm::Sha256);
            for m in rx {
                match m {
                    HashMsg::Data(b) => h.update(&b),
                    HashMsg::End(reply) => {
                        let done = std::mem::replace(&mut h, Hasher::new(Algorithm::Sha256));
                        let _ = reply.send(done.finish());
                    }
                    HashMsg::SoFar(reply) => {
                        let _ = reply.send(h.digest_so_far());
                    }
                }
            }
        });
        HashThread {
            tx,
            handle: Some(handle),
        }
    }
    fn send(&self, b: Arc<Vec<u8>>) -> io::Result<()> {
        self.tx
            .send(HashMsg::Data(b))
            .map_err(|_| io::Error::other("the hashing thread stopped"))
    }
    fn digest(&self) -> io::Result<Digest> {
        self.ask(HashMsg::End)
    }
    fn digest_so_far(&self) -> io::Result<Digest> {
        self.ask(HashMsg::SoFar)
    }
    fn ask(&self, msg: fn(mpsc::Sender<Digest>) -> HashMsg) -> io::Result<Digest> {
        let (tx, rx) = mpsc::channel();
        self.tx
            .send(msg(tx))
            .map_err(|_| io::Error::other("the hashing thread stopped"))?;
        rx.recv()
            .map_err(|_| io::Error::other("the hashing thread stopped"))
    }
}

impl Drop for HashThread {
    fn drop(&mut self) {
        // Closing the channel ends the thread.
        let (tx, _) = mpsc::sync_channel(1);
        drop(std::mem::replace(&mut self.tx, tx));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Writes a stream into chunk files of at most `chunk_size` bytes, hashing each chunk and the
/// whole stream on two other threads while it writes. The first chunk is the start of the
/// stream, so its digest is the whole-stream hash so far: only later chunks are hashed twice. A
/// chunk file is created only when its first byte arrives.
///
/// Chunk files are not fsynced, as `tar`, `split` and `cp` do not: the chunk list is the
/// integrity proof (unpack checks every chunk's sha256 before it writes anything from it, so a
/// chunk cut short by a crash is named, never used), and making the copy on removable media
/// durable is the job of the copy and the eject. The chunk list itself is written atomically and
/// fsynced.
struct ChunkWriter<'p> {
    out: PathBuf,
    chunk_size: Option<u64>,
    /// The open chunk: file, name, bytes so far.
    current: Option<(fs::File, String, u64)>,
    buf: Vec<u8>,
    /// Buffers handed to the hashing threads, oldest first; reused once both threads are done
    /// with them (no fresh allocation, and no page faults, per MiB).
    sent: std::collections::VecDeque<Arc<Vec<u8>>>,
    done: Vec<ChunkEntry>,
    /// Hash of the second and later chunks (absent without `--chunk-size`: the one chunk is the
    /// whole stream).
    chunk_hash: Option<HashThread>,
    total: HashThread,
    total_size: u64,
    progress: &'p dyn Progress,
}

impl ChunkWriter<'_> {
    fn new<'q>(out: &Path, chunk_size: Option<u64>, progress: &'q dyn Progress) -> ChunkWriter<'q> {
        ChunkWriter {
            out: out.to_path_buf(),
            chunk_size,
            current: None,
            buf: Vec::with_capacity(HASH_BUF),
            sent: std::collections::VecDeque::new(),
            done: Vec::new(),
            chunk_hash: chunk_size.map(|_| HashThread::start()),
            total: HashThread::start(),
            total_size: 0,
            progress,
        }
    }

    fn chunk_name(&self, n: usize) -> (PathBuf, String) {
        let base = self
            .out
            .file_name()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "bundle.tar".into());
        let name = match self.chunk_size {
            None => base,
            Some(_) => format!("{base}.{n:03}"),
        };
        (self.out.with_file_name(&name), name)
    }

    fn open_next(&mut self) -> io::Result<()> {
        let (path, name) = self.chunk_name(self.done.len() + 1);
        let f = fs::File::create(&path)?;
        self.current = Some((f, name, 0));
        Ok(())
    }

    /// Write the buffered bytes to the open chunk and hand them to the hashing threads.
    fn flush_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let Some((f, _, _)) = self.current.as_mut() else {
            return Err(io::Error::other("no chunk open"));
        };
        f.write_all(&self.buf)?;
        let fresh = self.reuse().unwrap_or_else(|| Vec::with_capacity(HASH_BUF));
        let b = Arc::new(std::mem::replace(&mut self.buf, fresh));
        self.sent.push_back(b.clone());
        if self.sent.len() > SENT_KEPT {
            self.sent.pop_front();
        }
        if let Some(c) = self.chunk_hash.as_ref().filter(|_| !self.done.is_empty()) {
            c.send(b.clone())?;
        }
        self.total.send(b)
    }

    /// The oldest sent buffer, emptied, if no hashing thread holds it any more.
    fn reuse(&mut self) -> Option<Vec<u8>> {
        let oldest = self.sent.front_mut()?;
        Arc::get_mut(oldest)?;
        let mut v = Arc::try_unwrap(self.sent.pop_front()?).ok()?;
        v.clear();
        Some(v)
    }

    fn close_current(&mut self) -> io::Result<()> {
        self.flush_buf()?;
        if let Some((f, name, size)) = self.current.take() {
            let sha256 = match &self.chunk_hash {
                // The first chunk is the stream so far.
                Some(_) if self.done.is_empty() => self.total.digest_so_far()?,
                Some(c) => c.digest()?,
                // One chunk: its digest is the whole stream's, taken in `finish`.
                None => Digest::sha256_of(b""),
            };
            drop(f);
            self.done.push(ChunkEntry { name, size, sha256 });
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<(Vec<ChunkEntry>, u64, Digest)> {
        if self.current.is_none() && self.done.is_empty() {
            // An empty stream still has one (empty) chunk.
            self.open_next()?;
        }
        self.close_current()?;
        let total = self.total.digest()?;
        if self.chunk_hash.is_none() {
            if let Some(only) = self.done.first_mut() {
                only.sha256 = total.clone();
            }
        }
        Ok((std::mem::take(&mut self.done), self.total_size, total))
    }
}

impl Write for ChunkWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let (Some(limit), Some(c)) = (self.chunk_size, self.current.as_ref()) {
            if c.2 >= limit {
                self.close_current()?;
            }
        }
        if self.current.is_none() {
            self.open_next()?;
        }
        let Some((_, _, size)) = self.current.as_mut() else {
            return Err(io::Error::other("no chunk open"));
        };
        let room = match self.chunk_size {
            Some(limit) => usize::try_from(limit - *size).unwrap_or(usize::MAX),
            None => usize::MAX,
        };
        let n = buf
            .len()
            .min(room)
            .min(HASH_BUF - self.buf.len().min(HASH_BUF));
        self.buf.extend_from_slice(&buf[..n]);
        *size += n as u64;
        self.total_size += n as u64;
        self.progress.bytes(n as u64);
        if self.buf.len() >= HASH_BUF {
            self.flush_buf()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The members of a bundle directory in archive order, with their sizes.
fn members(dir: &Path) -> Result<Vec<(String, PathBuf, Option<u64>)>, ArchiveError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ArchiveError::Io { path, source }
    };
    let mut first: Vec<(String, PathBuf, Option<u64>)> = Vec::new();
    let mut other_top: Vec<(String, PathBuf, Option<u64>)> = Vec::new();
    let fixed = [
        layout::OCI_LAYOUT_FILE,
        layout::INDEX_FILE,
        layout::LOCK_FILE,
        layout::LOCK_DSSE_FILE,
    ];
    let mut names: Vec<(String, fs::Metadata)> = Vec::new();
    for e in fs::read_dir(dir).map_err(io_err(dir))? {
        let e = e.map_err(io_err(dir))?;
        let name = e.file_name().to_string_lossy().to_string();
        let meta = fs::symlink_metadata(e.path()).map_err(io_err(&e.path()))?;
        names.push((name, meta));
    }
    names.sort_by(|a, b| a.0.cmp(&b.0));
    let mut has_blobs = false;
    for (name, meta) in &names {
        let path = dir.join(name);
        if name.starts_with('.') || STATE_FILES.contains(&name.as_str()) {
            continue; // temp files, lock files of running tools, per-site push state
        }
        if name == "blobs" && meta.is_dir() {
            has_blobs = true;
            continue;
        }
        if !meta.file_type().is_file() {
            return Err(ArchiveError::Invalid {
                path,
                problem: "a bundle holds only regular files at its top and the blobs/ directory"
                    .into(),
            });
        }
        let entry = (name.clone(), path, Some(meta.len()));
        if fixed.contains(&name.as_str()) {
            first.push(entry);
        } else {
            other_top.push(entry);
        }
    }
    first.sort_by_key(|e| fixed.iter().position(|f| *f == e.0));
    first.extend(other_top);
    if has_blobs {
        first.push(("blobs/".into(), dir.join("blobs"), None));
        for alg in [Algorithm::Sha256, Algorithm::Sha512] {
            let adir = dir.join("blobs").join(alg.as_str());
            let Ok(meta) = fs::symlink_metadata(&adir) else {
                continue;
            };
            if !meta.is_dir() {
                return Err(ArchiveError::Invalid {
                    path: adir,
                    problem: "expected a directory of blobs".into(),
                });
            }
            first.push((format!("blobs/{}/", alg.as_str()), adir.clone(), None));
            let mut blobs: Vec<(String, PathBuf, Option<u64>)> = Vec::new();
            for e in fs::read_dir(&adir).map_err(io_err(&adir))? {
                let e = e.map_err(io_err(&adir))?;
                let name = e.file_name().to_string_lossy().to_string();
                if name.starts_with(".tmp-") {
                    continue; // an interrupted write, never a blob
                }
                let meta = fs::symlink_metadata(e.path()).map_err(io_err(&e.path()))?;
                if !meta.file_type().is_file() {
                    return Err(ArchiveError::Invalid {
                        path: e.path(),
                        problem:
                            "a blob must be a regular file (not a symlink, directory or device)"
                                .into(),
                    });
                }
                blobs.push((
                    format!("blobs/{}/{name}", alg.as_str()),
                    e.path(),
                    Some(meta.len()),
                ));
            }
            blobs.sort_by(|a, b| a.0.cmp(&b.0));
            first.extend(blobs);
        }
    }
    Ok(first)
}

/// Pack `dir` into chunk files next to `out` and write `out.chunks.json`. Returns the chunk
/// list and its bytes. Memory stays constant: every file is streamed.
pub fn pack(
    dir: &Path,
    out: &Path,
    chunk_size: Option<u64>,
    progress: &dyn Progress,
) -> Result<(ChunkList, Vec<u8>), ArchiveError> {
    // The same shape checks as every other reader of a bundle (junk, symlinked blobs dir).
    Layout::open(dir)?;
    let members = members(dir)?;
    progress.total(members.iter().filter_map(|m| m.2).sum());
    let writer = ChunkWriter::new(out, chunk_size, progress);
    let out_err = |source: io::Error| ArchiveError::Io {
        path: out.to_path_buf(),
        source,
    };
    let mut tar = tar::Builder::new(writer);
    let mut lock_sha256 = None;
    for (name, path, size) in &members {
        let mut h = tar::Header::new_ustar();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        match size {
            None => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                tar.append_data(&mut h, name, io::empty())
                    .map_err(out_err)?;
            }
            Some(size) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(*size);
                let f = fs::File::open(path).map_err(|source| ArchiveError::Io {
                    path: path.clone(),
                    source,
                })?;
                if name == layout::LOCK_FILE {
                    lock_sha256 = Some(layout::hash_file(path, Algorithm::Sha256).map_err(
                        |source| ArchiveError::Io {
                            path: path.clone(),
                            source,
                        },
                    )?);
                }
                // Exactly `size` bytes: a file that changes while packing fails the pack.
                let mut r = SizedReader {
                    inner: io::BufReader::with_capacity(READ_BUF, f),
                    left: *size,
                    path,
                };
                tar.append_data(&mut h, name, &mut r).map_err(out_err)?;
                if r.left != 0 {
                    return Err(ArchiveError::Invalid {
                        path: path.clone(),
                        problem: "the file shrank while it was packed".into(),
                    });
                }
            }
        }
    }
    let writer = tar.into_inner().map_err(out_err)?;
    let (chunks, size, sha256) = writer.finish().map_err(out_err)?;
    let list = ChunkList {
        schema: CHUNKS_SCHEMA.into(),
        chunks,
        size,
        sha256,
        lock_sha256,
    };
    let bytes = list.to_json();
    layout::write_atomic(&list_path_for(out), &bytes)?;
    Ok((list, bytes))
}

/// Reads at most `left` bytes and errors if the file is shorter (so headers never lie).
struct SizedReader<'a> {
    inner: io::BufReader<fs::File>,
    left: u64,
    path: &'a Path,
}

impl io::Read for SizedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::other(format!(
                "{}: the file shrank while it was packed",
                self.path.display()
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::super::NoProgress;
    use super::*;

    #[test]
    fn same_bundle_packs_to_the_same_bytes_and_chunks_add_up() {
        let t = tempfile::tempdir().unwrap();
        let b = t.path().join("b");
        let l = Layout::create(&b).unwrap();
        for i in 0..20u32 {
            l.put_blob(&vec![i as u8; 3000 + i as usize]).unwrap();
        }
        fs::write(b.join(layout::LOCK_FILE), b"{}").unwrap();
        // State of this machine, not bundle content: never packed.
        for f in STATE_FILES {
            fs::write(b.join(f), b"state").unwrap();
        }
        let (one, _) = pack(&b, &t.path().join("one.tar"), None, &NoProgress).unwrap();
        let (two, _) = pack(&b, &t.path().join("two.tar"), Some(10_000), &NoProgress).unwrap();
        assert_eq!(one.chunks.len(), 1);
        assert_eq!(one.chunks[0].name, "one.tar");
        assert_eq!(one.sha256, two.sha256);
        assert!(two.chunks.len() > 3);
        assert_eq!(two.chunks[0].name, "two.tar.001");
        assert!(two.chunks.iter().all(|c| c.size <= 10_000));
        assert_eq!(two.chunks.iter().map(|c| c.size).sum::<u64>(), two.size);
        assert_eq!(one.lock_sha256, Some(Digest::sha256_of(b"{}")));
        let whole = fs::read(t.path().join("one.tar")).unwrap();
        let mut joined = Vec::new();
        for c in &two.chunks {
            let bytes = fs::read(t.path().join(&c.name)).unwrap();
            // The first chunk's digest comes from the whole-stream hash; each is its file's.
            assert_eq!(c.sha256, Digest::sha256_of(&bytes), "{}", c.name);
            joined.extend(bytes);
        }
        assert_eq!(whole, joined);
        assert!(two.sha256.matches(&whole));
        // Member order: oci-layout, index.json, lock, then blobs in digest order.
        let mut ar = tar::Archive::new(&whole[..]);
        let names: Vec<String> = ar
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(
            &names[..3],
            &["oci-layout", "index.json", "airlock.lock.json"]
        );
        for f in STATE_FILES {
            assert!(!names.iter().any(|n| n == f), "{f} was packed");
        }
        // The one chunk's digest is the whole stream's.
        assert_eq!(one.chunks[0].sha256, one.sha256);
        assert_eq!(one.chunks[0].sha256, Digest::sha256_of(&whole));
        let blobs: Vec<&String> = names
            .iter()
            .filter(|n| n.starts_with("blobs/sha256/") && !n.ends_with('/'))
            .collect();
        let mut sorted = blobs.clone();
        sorted.sort();
        assert_eq!(blobs, sorted);
        assert_eq!(blobs.len(), 20);
    }
}

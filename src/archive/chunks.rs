//! The chunk list (`airlock.chunks/v1`) and a reader over the chunk files that checks each
//! chunk's sha256 before serving any of its bytes.
use std::cell::RefCell;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use super::{
    ArchiveError, Progress, CHUNKS_DSSE_SUFFIX, CHUNKS_PAYLOAD_TYPE, CHUNKS_SCHEMA, CHUNKS_SUFFIX,
    MAX_CHUNKS, MAX_CHUNK_LIST_BYTES,
};
use crate::formats::dsse::Envelope;
use crate::keys::PublicKey;
use crate::oci::digest::Hasher;
use crate::oci::{Algorithm, Digest};
use crate::report::{Code, Finding};

const READ_BUF: usize = 1 << 20;

/// One chunk file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChunkEntry {
    /// File name, in the chunk list's directory.
    pub name: String,
    pub size: u64,
    pub sha256: Digest,
}

/// The chunk list document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChunkList {
    pub schema: String,
    pub chunks: Vec<ChunkEntry>,
    /// Size of the whole tar stream (the sum of the chunk sizes).
    pub size: u64,
    /// sha256 of the whole tar stream.
    pub sha256: Digest,
    /// sha256 of the bundle's `airlock.lock.json` (absent when the bundle has no lock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_sha256: Option<Digest>,
}

impl ChunkList {
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// Parse and check the shape: schema, names, counts, sizes adding up.
    pub fn parse(bytes: &[u8]) -> Result<ChunkList, String> {
        if bytes.len() as u64 > MAX_CHUNK_LIST_BYTES {
            return Err(format!(
                "{} bytes, over the {MAX_CHUNK_LIST_BYTES}-byte limit for a chunk list",
                bytes.len()
            ));
        }
        let l: ChunkList =
            serde_json::from_slice(bytes).map_err(|e| format!("not a chunk list: {e}"))?;
        if l.schema != CHUNKS_SCHEMA {
            return Err(format!(
                "schema is {:?}, expected {CHUNKS_SCHEMA:?}",
                l.schema
            ));
        }
        if l.chunks.is_empty() || l.chunks.len() > MAX_CHUNKS {
            return Err(format!(
                "{} chunks listed; expected 1 to {MAX_CHUNKS}",
                l.chunks.len()
            ));
        }
        for d in std::iter::once(&l.sha256).chain(l.chunks.iter().map(|c| &c.sha256)) {
            if d.algorithm() != Algorithm::Sha256 {
                return Err(format!("{d}: expected a sha256 digest"));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut sum: u64 = 0;
        for c in &l.chunks {
            if !valid_chunk_name(&c.name) {
                return Err(format!(
                    "chunk name {:?} is not a plain file name (no '/', no leading '.')",
                    c.name
                ));
            }
            if !seen.insert(c.name.as_str()) {
                return Err(format!("chunk {:?} is listed twice", c.name));
            }
            sum = sum
                .checked_add(c.size)
                .ok_or_else(|| "chunk sizes overflow".to_string())?;
        }
        if sum != l.size {
            return Err(format!(
                "chunk sizes add up to {sum} bytes but the list says {} bytes",
                l.size
            ));
        }
        Ok(l)
    }
}

fn valid_chunk_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 255
        && !n.starts_with('.')
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
}

/// `FILE.chunks.json` for the archive `FILE`.
pub fn list_path_for(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_os_string();
    s.push(CHUNKS_SUFFIX);
    PathBuf::from(s)
}

/// `FILE.chunks.dsse.json` for the chunk list `FILE.chunks.json`.
pub fn dsse_path_for(list: &Path) -> PathBuf {
    let s = list.to_string_lossy();
    let base = s.strip_suffix(CHUNKS_SUFFIX).unwrap_or(&s);
    PathBuf::from(format!("{base}{CHUNKS_DSSE_SUFFIX}"))
}

/// The chunk files to read, in order: from a chunk list, or one plain tar file (no checksums).
#[derive(Clone, Debug)]
pub struct ChunkSet {
    /// What the user named (for messages).
    pub source: PathBuf,
    pub chunks: Vec<(PathBuf, String, u64, Option<Digest>)>,
    pub list: Option<ChunkList>,
}

impl ChunkSet {
    /// Open what `path` names: a `*.chunks.json` list, a file `FILE` with `FILE.chunks.json`
    /// beside it, or a plain tar file. With `key`, the signed list must verify with it and carry
    /// exactly these list bytes; a problem is a `chunks-invalid` finding (the set is then `None`).
    pub fn open(
        path: &Path,
        key: Option<&PublicKey>,
    ) -> Result<(Option<ChunkSet>, Vec<Finding>), ArchiveError> {
        let is_list = path.to_string_lossy().ends_with(CHUNKS_SUFFIX);
        let list_path = if is_list {
            path.to_path_buf()
        } else if list_path_for(path).exists() {
            list_path_for(path)
        } else {
            let size = regular_size(path)?;
            if key.is_some() {
                return Ok((
                    None,
                    vec![Finding::error(
                        Code::ChunksInvalid,
                        path.display().to_string(),
                        format!(
                            "--key was given but {} has no chunk list ({} not found) to check it against",
                            path.display(),
                            list_path_for(path).display()
                        ),
                    )],
                ));
            }
            return Ok((
                Some(ChunkSet {
                    source: path.to_path_buf(),
                    chunks: vec![(path.to_path_buf(), file_name(path), size, None)],
                    list: None,
                }),
                Vec::new(),
            ));
        };
        let subject = list_path.display().to_string();
        let bytes = crate::layout::read_regular_limited(&list_path, MAX_CHUNK_LIST_BYTES)?;
        let invalid = |msg: String| -> Result<(Option<ChunkSet>, Vec<Finding>), ArchiveError> {
            Ok((
                None,
                vec![Finding::error(Code::ChunksInvalid, subject.clone(), msg)],
            ))
        };
        if let Some(key) = key {
            let env_path = dsse_path_for(&list_path);
            let env_bytes =
                match crate::layout::read_regular_limited(&env_path, MAX_CHUNK_LIST_BYTES * 2) {
                    Ok(b) => b,
                    Err(e) => {
                        return invalid(format!(
                            "--key was given but the signed chunk list could not be read: {e}"
                        ))
                    }
                };
            let env = match Envelope::parse(&env_bytes) {
                Ok(e) => e,
                Err(e) => return invalid(format!("{}: {e}", env_path.display())),
            };
            if env.payload_type != CHUNKS_PAYLOAD_TYPE {
                return invalid(format!(
                    "{}: payloadType is {:?}, expected {CHUNKS_PAYLOAD_TYPE:?}",
                    env_path.display(),
                    env.payload_type
                ));
            }
            if env.verify(key).is_err() {
                return invalid(format!(
                    "{}: the chunk list's signature does not verify with key {}",
                    env_path.display(),
                    key.key_id()
                ));
            }
            if env.payload != bytes {
                return invalid(format!(
                    "{} differs from the signed chunk list in {}: the list was edited after packing",
                    list_path.display(),
                    env_path.display()
                ));
            }
        }
        let list = match ChunkList::parse(&bytes) {
            Ok(l) => l,
            Err(e) => return invalid(e),
        };
        let dir = list_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let chunks = list
            .chunks
            .iter()
            .map(|c| {
                (
                    dir.join(&c.name),
                    c.name.clone(),
                    c.size,
                    Some(c.sha256.clone()),
                )
            })
            .collect();
        Ok((
            Some(ChunkSet {
                source: list_path,
                chunks,
                list: Some(list),
            }),
            Vec::new(),
        ))
    }

    pub fn total_size(&self) -> u64 {
        self.chunks.iter().map(|c| c.2).sum()
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| p.display().to_string())
}

fn regular_size(path: &Path) -> Result<u64, ArchiveError> {
    let meta = fs::metadata(path).map_err(|source| ArchiveError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if !meta.is_file() {
        return Err(ArchiveError::Invalid {
            path: path.to_path_buf(),
            problem: "expected a chunk list (*.chunks.json) or a tar file".into(),
        });
    }
    Ok(meta.len())
}

/// What is wrong with one chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChunkProblem {
    Missing { name: String, detail: String },
    Mismatch { name: String, detail: String },
}

impl ChunkProblem {
    pub fn finding(&self) -> Finding {
        match self {
            ChunkProblem::Missing { name, detail } => Finding::error(
                Code::ChunkMissing,
                name.clone(),
                format!(
                    "chunk {name} is missing: {detail}; nothing from it or later chunks was used"
                ),
            ),
            ChunkProblem::Mismatch { name, detail } => Finding::error(
                Code::ChunkDigestMismatch,
                name.clone(),
                format!("chunk {name}: {detail}; nothing from it or later chunks was used"),
            ),
        }
    }
}

/// Hash the chunk file at `path` whole and compare it with the list (size and sha256).
fn check_chunk(path: &Path, name: &str, size: u64, expected: &Digest) -> Result<(), ChunkProblem> {
    let mut f = open_regular(path).map_err(|e| ChunkProblem::Missing {
        name: name.to_string(),
        detail: format!("{}: {e}", path.display()),
    })?;
    let actual_size = f.metadata().map(|m| m.len()).unwrap_or(0);
    if actual_size != size {
        return Err(ChunkProblem::Mismatch {
            name: name.to_string(),
            detail: format!("expected {size} bytes, found {actual_size} bytes"),
        });
    }
    let mut h = Hasher::new(Algorithm::Sha256);
    let mut buf = vec![0u8; READ_BUF];
    loop {
        let n = f.read(&mut buf).map_err(|e| ChunkProblem::Missing {
            name: name.to_string(),
            detail: format!("{}: {e}", path.display()),
        })?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let actual = h.finish();
    if &actual != expected {
        return Err(ChunkProblem::Mismatch {
            name: name.to_string(),
            detail: format!("expected sha256 {expected}, found {actual}"),
        });
    }
    Ok(())
}

/// Check every listed chunk of `set` in order (size and sha256); the first problem. Used by
/// readers that only judge (verify, push) when their pass found something wrong, to name the
/// damaged chunk: their result is then discarded.
pub fn check_all_chunks(set: &ChunkSet) -> Option<ChunkProblem> {
    for (path, name, size, digest) in &set.chunks {
        if let Some(d) = digest {
            if let Err(p) = check_chunk(path, name, *size, d) {
                return Some(p);
            }
        }
    }
    None
}

type PendingCheck = (usize, std::thread::JoinHandle<Result<(), ChunkProblem>>);

/// Reads the chunks of a [`ChunkSet`] as one stream. With `verify_first`, each chunk is hashed
/// whole and compared with the list before any of its bytes are returned (the next chunk is
/// hashed on another thread while this one is served); a bad chunk ends the stream with an
/// error and the problem is kept in [`ChunkReader::problem`]. Without it, only presence and
/// sizes are checked as chunks are opened.
pub struct ChunkReader<'p> {
    set: ChunkSet,
    verify_first: bool,
    next: usize,
    current: Option<(fs::File, u64)>,
    /// Absolute position in the stream.
    pos: u64,
    problem: Rc<RefCell<Option<ChunkProblem>>>,
    progress: &'p dyn Progress,
    /// The check of the chunk after the current one, running.
    pending: Option<PendingCheck>,
}

impl<'p> ChunkReader<'p> {
    pub fn new(set: ChunkSet, verify_first: bool, progress: &'p dyn Progress) -> ChunkReader<'p> {
        ChunkReader {
            set,
            verify_first,
            next: 0,
            current: None,
            pos: 0,
            problem: Rc::new(RefCell::new(None)),
            progress,
            pending: None,
        }
    }

    /// A handle on the first chunk problem met (shared, readable after the reader was moved).
    pub fn problem(&self) -> Rc<RefCell<Option<ChunkProblem>>> {
        self.problem.clone()
    }

    fn fail(&self, p: ChunkProblem) -> io::Error {
        let msg = p.finding().message;
        *self.problem.borrow_mut() = Some(p);
        io::Error::other(msg)
    }

    /// Start checking chunk `i` on another thread (when it has a digest).
    fn start_check(&mut self, i: usize) {
        let Some((path, name, size, Some(digest))) = self.set.chunks.get(i).cloned() else {
            return;
        };
        let handle = std::thread::spawn(move || check_chunk(&path, &name, size, &digest));
        self.pending = Some((i, handle));
    }

    /// The check of chunk `i`: the running one, or done now.
    fn await_check(&mut self, i: usize) -> Result<(), ChunkProblem> {
        if let Some((j, handle)) = self.pending.take() {
            if j == i {
                return handle.join().unwrap_or_else(|_| {
                    Err(ChunkProblem::Mismatch {
                        name: self.set.chunks[i].1.clone(),
                        detail: "the checking thread failed".into(),
                    })
                });
            }
        }
        match self.set.chunks[i].clone() {
            (path, name, size, Some(digest)) => check_chunk(&path, &name, size, &digest),
            _ => Ok(()),
        }
    }

    fn open_chunk(&mut self, i: usize) -> io::Result<(fs::File, u64)> {
        if self.verify_first {
            let checked = self.await_check(i);
            if let Err(p) = checked {
                return Err(self.fail(p));
            }
            // Hash the next chunk while this one is served.
            if i + 1 < self.set.chunks.len() {
                self.start_check(i + 1);
            }
        }
        let (path, name, size, _) = self.set.chunks[i].clone();
        let f = match open_regular(&path) {
            Ok(f) => f,
            Err(e) => {
                return Err(self.fail(ChunkProblem::Missing {
                    name,
                    detail: format!("{}: {e}", path.display()),
                }))
            }
        };
        let actual_size = f.metadata().map(|m| m.len()).unwrap_or(0);
        if actual_size != size {
            return Err(self.fail(ChunkProblem::Mismatch {
                name,
                detail: format!("expected {size} bytes, found {actual_size} bytes"),
            }));
        }
        Ok((f, size))
    }

    /// Make sure the open chunk has bytes left, opening (and checking) the next chunks in order
    /// as needed; `false` at the end of the stream. Reading and seeking both go through here.
    fn advance(&mut self) -> io::Result<bool> {
        loop {
            if self.problem.borrow().is_some() {
                return Err(io::Error::other("an earlier chunk was bad"));
            }
            match &self.current {
                Some((_, remaining)) if *remaining > 0 => return Ok(true),
                Some(_) => self.current = None,
                None => {
                    if self.next >= self.set.chunks.len() {
                        return Ok(false);
                    }
                    let c = self.open_chunk(self.next)?;
                    self.next += 1;
                    self.current = Some(c);
                }
            }
        }
    }

    /// Position in the whole stream.
    pub fn position(&self) -> u64 {
        self.pos
    }
}

fn open_regular(path: &Path) -> io::Result<fs::File> {
    let meta = fs::symlink_metadata(path)?;
    if !meta.file_type().is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    fs::File::open(path)
}

impl Read for ChunkReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if !self.advance()? {
            return Ok(0);
        }
        let Some((f, remaining)) = self.current.as_mut() else {
            return Ok(0);
        };
        let want = buf
            .len()
            .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
        let n = f.read(&mut buf[..want])?;
        if n == 0 {
            // The file shrank after it was checked.
            let name = self.set.chunks[self.next - 1].1.clone();
            return Err(self.fail(ChunkProblem::Mismatch {
                name,
                detail: "the file became shorter while it was read".into(),
            }));
        }
        *remaining -= n as u64;
        self.pos += n as u64;
        self.progress.bytes(n as u64);
        Ok(n)
    }
}

/// Forward seeks only (`SeekFrom::Current` with a non-negative offset, or `SeekFrom::Start` at
/// or after the current position): the bytes passed over are not read, but every chunk passed
/// over is still opened and checked for presence and size, in order.
impl Seek for ChunkReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let mut amt = match to {
            SeekFrom::Current(n) if n >= 0 => n.unsigned_abs(),
            SeekFrom::Start(p) if p >= self.pos => p - self.pos,
            _ => return Err(io::Error::other("the chunk stream only seeks forward")),
        };
        while amt > 0 {
            if !self.advance()? {
                return Err(io::Error::other("seek past the end of the archive"));
            }
            let Some((f, remaining)) = self.current.as_mut() else {
                continue;
            };
            let step = amt.min(*remaining);
            let by = i64::try_from(step).map_err(|_| io::Error::other("seek too far"))?;
            f.seek(SeekFrom::Current(by))?;
            *remaining -= step;
            amt -= step;
            self.pos += step;
        }
        Ok(self.pos)
    }
}

/// Random access to the stream (used to fetch a member's bytes a second time); no checks.
pub struct ChunkSeeker {
    chunks: Vec<(PathBuf, u64)>,
}

impl ChunkSeeker {
    pub fn new(set: &ChunkSet) -> ChunkSeeker {
        ChunkSeeker {
            chunks: set.chunks.iter().map(|c| (c.0.clone(), c.2)).collect(),
        }
    }

    /// Where `len` bytes at stream offset `offset` lie: `(chunk file, offset in it, length)`.
    pub fn segments(&self, mut offset: u64, len: u64) -> io::Result<Vec<(PathBuf, u64, u64)>> {
        let mut out = Vec::new();
        let mut want = len;
        for (path, size) in &self.chunks {
            if want == 0 {
                break;
            }
            if offset >= *size {
                offset -= size;
                continue;
            }
            let take = want.min(size - offset);
            out.push((path.clone(), offset, take));
            want -= take;
            offset = 0;
        }
        if want != 0 {
            return Err(io::Error::other(
                "member extends past the end of the archive",
            ));
        }
        Ok(out)
    }

    /// Read `len` bytes at stream offset `offset`.
    pub fn read_at(&self, mut offset: u64, len: u64) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0).min(1 << 26));
        let mut want = len;
        for (path, size) in &self.chunks {
            if want == 0 {
                break;
            }
            if offset >= *size {
                offset -= size;
                continue;
            }
            let mut f = open_regular(path)?;
            f.seek(SeekFrom::Start(offset))?;
            let take = want.min(size - offset);
            let before = out.len();
            f.take(take).read_to_end(&mut out)?;
            if (out.len() - before) as u64 != take {
                return Err(io::Error::other(format!(
                    "{}: shorter than listed",
                    path.display()
                )));
            }
            want -= take;
            offset = 0;
        }
        if want != 0 {
            return Err(io::Error::other(
                "member extends past the end of the archive",
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_json(chunks: &str, size: u64) -> String {
        format!(
            r#"{{"schema":"airlock.chunks/v1","chunks":[{chunks}],"size":{size},"sha256":"sha256:{}"}}"#,
            "0".repeat(64)
        )
    }

    #[test]
    fn chunk_list_with_path_names_or_wrong_sum_is_rejected() {
        let c = |n: &str| {
            format!(
                r#"{{"name":"{n}","size":10,"sha256":"sha256:{}"}}"#,
                "1".repeat(64)
            )
        };
        assert!(ChunkList::parse(list_json(&c("b.001"), 10).as_bytes()).is_ok());
        assert!(ChunkList::parse(list_json(&c("../b.001"), 10).as_bytes()).is_err());
        assert!(ChunkList::parse(list_json(&c("/etc/passwd"), 10).as_bytes()).is_err());
        assert!(ChunkList::parse(list_json(&c(".hidden"), 10).as_bytes()).is_err());
        assert!(ChunkList::parse(list_json(&c("b.001"), 11).as_bytes()).is_err());
        let two = format!("{},{}", c("b.001"), c("b.001"));
        assert!(ChunkList::parse(list_json(&two, 20).as_bytes()).is_err());
        assert!(ChunkList::parse(list_json("", 0).as_bytes()).is_err());
        assert!(ChunkList::parse(b"{\"schema\":\"other\"}").is_err());
    }

    #[test]
    fn segments_of_a_member_spanning_chunks_name_each_file_range() {
        let t = tempfile::tempdir().unwrap();
        let mk = |n: &str, b: &[u8]| {
            let p = t.path().join(n);
            fs::write(&p, b).unwrap();
            (p, n.to_string(), b.len() as u64, None)
        };
        let set = ChunkSet {
            source: t.path().join("x.chunks.json"),
            chunks: vec![
                mk("x.001", b"abcd"),
                mk("x.002", b"efgh"),
                mk("x.003", b"ij"),
            ],
            list: None,
        };
        let s = ChunkSeeker::new(&set);
        let parts = s.segments(2, 7).unwrap();
        assert_eq!(
            parts,
            vec![
                (t.path().join("x.001"), 2, 2),
                (t.path().join("x.002"), 0, 4),
                (t.path().join("x.003"), 0, 1)
            ]
        );
        assert_eq!(s.read_at(2, 7).unwrap(), b"cdefghi");
        assert!(s.segments(8, 5).is_err());
        // The concurrent check finds a bad chunk by name.
        let mut bad = set.clone();
        bad.chunks[1].3 = Some(Digest::sha256_of(b"efgX"));
        bad.chunks[0].3 = Some(Digest::sha256_of(b"abcd"));
        assert!(matches!(
            check_all_chunks(&bad),
            Some(ChunkProblem::Mismatch { name, .. }) if name == "x.002"
        ));
    }

    #[test]
    fn reader_stops_before_serving_a_bad_chunk() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("x.001");
        let b = t.path().join("x.002");
        fs::write(&a, b"hello ").unwrap();
        fs::write(&b, b"world").unwrap();
        let set = ChunkSet {
            source: t.path().join("x.chunks.json"),
            chunks: vec![
                (a, "x.001".into(), 6, Some(Digest::sha256_of(b"hello "))),
                (b, "x.002".into(), 5, Some(Digest::sha256_of(b"worle"))),
            ],
            list: None,
        };
        let mut r = ChunkReader::new(set, true, &super::super::NoProgress);
        let problem = r.problem();
        let mut out = Vec::new();
        assert!(r.read_to_end(&mut out).is_err());
        assert_eq!(out, b"hello ");
        assert!(matches!(
            &*problem.borrow(),
            Some(ChunkProblem::Mismatch { name, .. }) if name == "x.002"
        ));
    }
}

//! Read a bundle straight from an archive into the same [`BundleView`] the directory loader
//! builds. A sequential pass reads every member header, the top-level files and the small blobs
//! (kept in memory within a budget) and notes where each larger blob lies; the larger blobs are
//! then hashed by offset on `jobs` threads, as `verify DIR` hashes blob files, so one large blob
//! does not hold up the others. Anything else the verification core needs later is fetched
//! again by offset.
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use super::chunks::{ChunkReader, ChunkSeeker, ChunkSet};
use super::member::{classify, Member, MemberError};
use super::{Progress, MAX_MEMBERS, MAX_TOP_FILE_BYTES};
use crate::layout::load::{view_from, BlobSource};
use crate::layout::{self, BlobReadError, BlobState};
use crate::oci::digest::Hasher;
use crate::oci::manifest::MEDIA_OCI_INDEX;
use crate::oci::{Digest, Manifest};
use crate::report::{Code, Finding};
use crate::view::BundleView;

/// Blobs up to this size are kept in memory during the pass (manifests, configs, signatures).
pub const KEEP_BLOB_BYTES: u64 = 256 * 1024;
/// Total bytes of small blobs kept in memory; past it, they are read again by offset.
pub const MAX_KEPT_BYTES: u64 = 48 * 1024 * 1024;
/// Read buffer of each hashing thread.
const BUF: usize = 1 << 20;

/// One blob as found in the archive.
#[derive(Clone, Debug)]
struct Seen {
    actual: Digest,
    size: u64,
    offset: u64,
    kept: Option<Vec<u8>>,
}

/// The blobs of an archive after the pass.
pub struct ArchiveBlobs {
    blobs: BTreeMap<Digest, Seen>,
    seeker: ChunkSeeker,
}

impl ArchiveBlobs {
    /// The upload body of blob `d` (`size` bytes): from memory when the pass kept it, else the
    /// byte ranges of the chunk files that hold it (streamed, never read whole).
    pub fn upload_body(
        &self,
        d: &Digest,
        size: u64,
    ) -> Result<crate::registry::Body, BlobReadError> {
        let Some(s) = self.blobs.get(d) else {
            return Err(BlobReadError::Missing);
        };
        if s.size != size {
            return Err(BlobReadError::Io(format!(
                "{} bytes in the archive, {size} expected",
                s.size
            )));
        }
        // Small blobs read in the pass are sent from memory; others straight from the chunks.
        if let Some(k) = &s.kept {
            return Ok(crate::registry::Body::Bytes(k.clone()));
        }
        let parts = self
            .seeker
            .segments(s.offset, s.size)
            .map_err(|e| BlobReadError::Io(e.to_string()))?;
        Ok(crate::registry::Body::Segments { parts, len: size })
    }
}

impl BlobSource for ArchiveBlobs {
    fn read_blob(&self, d: &Digest, limit: u64) -> Result<Vec<u8>, BlobReadError> {
        let Some(s) = self.blobs.get(d) else {
            return Err(BlobReadError::Missing);
        };
        if &s.actual != d {
            return Err(BlobReadError::DigestMismatch {
                actual: s.actual.clone(),
            });
        }
        if s.size > limit {
            return Err(BlobReadError::TooLarge {
                size: s.size,
                limit,
            });
        }
        let bytes = match &s.kept {
            Some(b) => b.clone(),
            None => self
                .seeker
                .read_at(s.offset, s.size)
                .map_err(|e| BlobReadError::Io(e.to_string()))?,
        };
        // Hashed again: the chunk files may have changed since the pass.
        if !d.matches(&bytes) {
            return Err(BlobReadError::DigestMismatch {
                actual: Digest::of(d.algorithm(), &bytes),
            });
        }
        Ok(bytes)
    }

    fn check_blobs(
        &self,
        blobs: &[(Digest, Option<u64>)],
        _jobs: usize,
    ) -> BTreeMap<Digest, BlobState> {
        blobs
            .iter()
            .map(|(d, size)| {
                let st = match self.blobs.get(d) {
                    None => BlobState::Missing,
                    Some(s) if size.is_some_and(|e| e != s.size) => BlobState::SizeMismatch {
                        expected: size.unwrap_or_default(),
                        actual: s.size,
                    },
                    Some(s) if &s.actual != d => BlobState::DigestMismatch {
                        actual: s.actual.clone(),
                    },
                    Some(_) => BlobState::Ok,
                };
                (d.clone(), st)
            })
            .collect()
    }
}

impl ArchiveBlobs {
    /// Size of a blob as found in the archive.
    pub fn size_of(&self, d: &Digest) -> Option<u64> {
        self.blobs.get(d).map(|s| s.size)
    }
}

/// What reading an archive gave: the view, the lock files it holds, and archive findings
/// (bad chunks, refused members) to add to the report.
pub struct ArchiveRead {
    /// The archive's `index.json` (when it held a valid one).
    pub index: Option<Manifest>,
    pub view: BundleView,
    pub lock: Option<Vec<u8>>,
    pub lock_envelope: Option<Vec<u8>>,
    pub findings: Vec<Finding>,
    /// Top-level files other than blobs, by name (oci-layout, index.json, the lock, …).
    pub top_files: BTreeMap<String, Vec<u8>>,
    pub blobs: Option<ArchiveBlobs>,
}

/// Most stray non-zero 512-byte blocks remembered between two members before the pass just
/// calls the archive suspect.
const MAX_STRAY_BLOCKS: usize = 16;

/// What the tar reader read outside member contents: headers, padding, the end marker and
/// anything after it. In an archive `pack` wrote, the only non-zero blocks there are member
/// headers (each protected by the tar header checksum, which the tar reader checks).
#[derive(Default)]
struct Stray {
    /// 512-byte block numbers holding a non-zero byte outside member contents, since the last
    /// member header was accounted for.
    blocks: Vec<u64>,
    /// More than [`MAX_STRAY_BLOCKS`] of them, or a header where pack never puts one.
    suspect: bool,
}

impl Stray {
    fn note(&mut self, pos: u64, bytes: &[u8]) {
        let mut i = 0usize;
        while i < bytes.len() {
            if bytes[i] == 0 {
                i += 1;
                continue;
            }
            let block = (pos + i as u64) / 512;
            if self.blocks.last() != Some(&block) {
                if self.blocks.len() >= MAX_STRAY_BLOCKS {
                    self.suspect = true;
                    return;
                }
                self.blocks.push(block);
            }
            // Skip to the next block: this one is already noted.
            let next = (block + 1) * 512 - pos;
            i = usize::try_from(next).unwrap_or(bytes.len()).max(i + 1);
        }
    }
}

/// The stream as the tar reader sees it. Bytes the pass reads as member contents pass through;
/// every other byte read is noted in [`Stray`] when it is not zero. A forward seek (the tar
/// reader skipping what the pass did not read) passes over the contents of a blob handed to the
/// hashing threads without reading them, and reads (and notes) everything else it covers, such
/// as the padding after the contents.
struct Tap<'p> {
    inner: ChunkReader<'p>,
    pos: u64,
    state: std::rc::Rc<TapState>,
}

/// What the pass and the [`Tap`] share (the tar reader owns the tap while entries are read).
#[derive(Default)]
struct TapState {
    in_contents: std::cell::Cell<bool>,
    /// The contents of the current member, when they are hashed later by offset: `[start, end)`.
    deferred: std::cell::Cell<Option<(u64, u64)>>,
    stray: std::cell::RefCell<Stray>,
}

impl Read for Tap<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if !self.state.in_contents.get() {
            self.state.stray.borrow_mut().note(self.pos, &buf[..n]);
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for Tap<'_> {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            std::io::SeekFrom::Current(n) if n >= 0 => self.pos + n.unsigned_abs(),
            std::io::SeekFrom::Start(p) if p >= self.pos => p,
            _ => return Err(std::io::Error::other("the archive is read forward only")),
        };
        if let Some((start, end)) = self.state.deferred.get() {
            if start <= self.pos && self.pos < end {
                let over = end.min(target);
                self.pos = self.inner.seek(std::io::SeekFrom::Start(over))?;
            }
        }
        // Anything else is read, so padding is checked like every byte outside contents.
        let mut left = target.saturating_sub(self.pos);
        let mut buf = [0u8; 8192];
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(buf.len()));
            let n = self.read(&mut buf[..want])?;
            if n == 0 {
                return Err(std::io::Error::other("unexpected end of the archive"));
            }
            left -= n as u64;
        }
        Ok(self.pos)
    }
}

/// A blob whose contents are hashed after the pass, by offset.
struct Deferred {
    digest: Digest,
    offset: u64,
    size: u64,
}

/// Read `set` and build the view. Never fails: problems land in the view or in `findings`.
///
/// What is checked is what `verify DIR` checks, straight from the archive: every blob is hashed
/// and compared with its name, and the top-level files are read and parsed (the caller compares
/// the lock with the chunk list's `lockSha256`). Every other byte of the stream is checked too:
/// chunk presence and sizes as each chunk is reached, every member header's checksum (the tar
/// reader), and that padding, the end marker and anything after it are zero. The chunk digests
/// themselves (a second SHA-256 of every byte) are checked only when something above is wrong,
/// to name the damaged chunk: a bad chunk then replaces everything the pass found. `unpack`
/// checks every chunk digest before it writes anything.
pub fn read_archive(set: ChunkSet, jobs: usize, progress: &dyn Progress) -> ArchiveRead {
    let location = set.source.display().to_string();
    let seeker = ChunkSeeker::new(&set);
    progress.total(set.total_size());
    let mut out = ArchiveRead {
        view: BundleView {
            location: location.clone(),
            ..Default::default()
        },
        index: None,
        lock: None,
        lock_envelope: None,
        findings: Vec::new(),
        top_files: BTreeMap::new(),
        blobs: None,
    };
    let check_set = set.clone();
    let reader = ChunkReader::new(set, false, progress);
    let problem = reader.problem();
    let state = std::rc::Rc::new(TapState::default());
    let mut archive = tar::Archive::new(Tap {
        inner: reader,
        pos: 0,
        state: state.clone(),
    });
    let mut stop: Option<Finding> = None;
    let mut blobs: BTreeMap<Digest, Seen> = BTreeMap::new();
    let mut later: Vec<Deferred> = Vec::new();
    let fail = |what: String| -> Finding {
        match problem.borrow().as_ref() {
            Some(p) => p.finding(),
            None => Finding::error(
                Code::ArchiveInvalid,
                location.clone(),
                format!("the archive is not a readable tar stream: {what}"),
            ),
        }
    };
    // The pass: headers, top-level files, small blobs; where the larger blobs are.
    'pass: {
        let mut kept_total: u64 = 0;
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut entries = match archive.entries_with_seek() {
            Ok(e) => e,
            Err(e) => {
                stop = Some(fail(e.to_string()));
                break 'pass;
            }
        };
        loop {
            let mut entry = match entries.next() {
                None => break,
                Some(Ok(e)) => e,
                Some(Err(e)) => {
                    stop = Some(fail(e.to_string()));
                    break 'pass;
                }
            };
            let header = entry.raw_header_position();
            let contents = entry.raw_file_position();
            let size = entry.size();
            let raw = entry.path_bytes().into_owned();
            let kind = entry.header().entry_type();
            // Outside contents since the last member: only this member's header block.
            {
                let mut stray = state.stray.borrow_mut();
                if header % 512 != 0
                    || contents != header + 512
                    || stray.blocks.iter().any(|b| *b != header / 512)
                {
                    stray.suspect = true;
                }
                stray.blocks.clear();
            }
            state.deferred.set(None);
            if seen.len() >= MAX_MEMBERS {
                stop = Some(Finding::error(
                    Code::LimitExceeded,
                    location.clone(),
                    format!("more than {MAX_MEMBERS} members in the archive"),
                ));
                break 'pass;
            }
            let shown = String::from_utf8_lossy(&raw).to_string();
            let refuse = |e: MemberError| {
                Finding::error(
                    Code::ArchiveInvalid,
                    shown.clone(),
                    format!("archive member {shown:?} refused: {e}"),
                )
            };
            let member = match classify(&raw, kind) {
                Ok(m) => m,
                Err(e) => {
                    stop = Some(refuse(e));
                    break 'pass;
                }
            };
            let key = match &member {
                Member::Ignored => continue,
                Member::Dir(d) => format!("{d}/"),
                Member::TopFile(n) => n.clone(),
                Member::Blob(d) => format!("blobs/{}/{}", d.algorithm().as_str(), d.hex()),
            };
            if !seen.insert(key) {
                stop = Some(refuse(MemberError::Duplicate));
                break 'pass;
            }
            let read_all = |entry: &mut tar::Entry<'_, Tap<'_>>| -> std::io::Result<Vec<u8>> {
                let mut bytes = Vec::new();
                state.in_contents.set(true);
                let r = entry.take(size).read_to_end(&mut bytes);
                state.in_contents.set(false);
                r.map(|_| bytes)
            };
            match member {
                Member::Ignored | Member::Dir(_) => {}
                Member::TopFile(name) => {
                    if size > MAX_TOP_FILE_BYTES {
                        stop = Some(Finding::error(
                            Code::LimitExceeded,
                            name,
                            format!("{size} bytes, over the {MAX_TOP_FILE_BYTES}-byte limit for a top-level bundle file"),
                        ));
                        break 'pass;
                    }
                    match read_all(&mut entry) {
                        Ok(bytes) => {
                            out.top_files.insert(name, bytes);
                        }
                        Err(e) => {
                            stop = Some(fail(e.to_string()));
                            break 'pass;
                        }
                    }
                }
                Member::Blob(d) => {
                    if size <= KEEP_BLOB_BYTES && kept_total + size <= MAX_KEPT_BYTES {
                        kept_total += size;
                        match read_all(&mut entry) {
                            Ok(bytes) => {
                                let actual = Digest::of(d.algorithm(), &bytes);
                                blobs.insert(
                                    d,
                                    Seen {
                                        actual,
                                        size: bytes.len() as u64,
                                        offset: contents,
                                        kept: Some(bytes),
                                    },
                                );
                            }
                            Err(e) => {
                                stop = Some(fail(e.to_string()));
                                break 'pass;
                            }
                        }
                    } else {
                        // Hashed by offset after the pass; the tar reader seeks over it.
                        state.deferred.set(Some((contents, contents + size)));
                        later.push(Deferred {
                            digest: d,
                            offset: contents,
                            size,
                        });
                    }
                }
            }
        }
    }
    // Every listed chunk is read to its end, past the tar end marker: presence, sizes, zeros.
    let mut tap = archive.into_inner();
    if stop.is_none() {
        if let Err(e) = std::io::copy(&mut tap, &mut std::io::sink()) {
            stop = Some(fail(e.to_string()));
        }
    }
    drop(tap);
    let stray_bytes = {
        let stray = state.stray.borrow();
        stray.suspect || !stray.blocks.is_empty()
    };
    if stop.is_none() {
        match hash_deferred(&seeker, later, jobs, progress) {
            Ok(found) => blobs.extend(found),
            Err(e) => stop = Some(fail(e.to_string())),
        }
    }
    let wrong_blob = blobs.iter().any(|(d, s)| &s.actual != d);
    let top = check_top(&out.top_files, &location);
    if stop.is_some() || stray_bytes || wrong_blob || top.is_err() {
        // Something is wrong: if a chunk is damaged, say which, and nothing the pass read counts.
        if let Some(p) = super::chunks::check_all_chunks(&check_set) {
            stop = Some(p.finding());
        }
    }
    if let Some(f) = stop {
        out.view.layout_error = Some(format!("{}: {}", f.code, f.message));
        out.findings.push(f);
        return out;
    }
    out.lock = out.top_files.get(layout::LOCK_FILE).cloned();
    out.lock_envelope = out.top_files.get(layout::LOCK_DSSE_FILE).cloned();
    let index = match top {
        Ok(i) => i,
        Err(e) => {
            out.view.layout_error = Some(e);
            return out;
        }
    };
    out.view.entries = index.child_descriptors().to_vec();
    let source = ArchiveBlobs { blobs, seeker };
    let view = std::mem::take(&mut out.view);
    out.view = view_from(view, &index, &source, jobs);
    out.blobs = Some(source);
    out.index = Some(index);
    out
}

/// Hash the deferred blobs by offset on `jobs` threads, largest first.
fn hash_deferred(
    seeker: &ChunkSeeker,
    mut later: Vec<Deferred>,
    jobs: usize,
    progress: &dyn Progress,
) -> std::io::Result<Vec<(Digest, Seen)>> {
    later.sort_by_key(|d| std::cmp::Reverse(d.size));
    let queue = std::sync::Mutex::new(later.into_iter());
    let results = std::sync::Mutex::new(Vec::new());
    let first_error: std::sync::Mutex<Option<std::io::Error>> = std::sync::Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                let mut buf = vec![0u8; BUF];
                loop {
                    let next = match queue.lock() {
                        Ok(mut q) => q.next(),
                        Err(_) => None,
                    };
                    let Some(job) = next else { break };
                    match hash_range(seeker, &job, &mut buf, progress) {
                        Ok(actual) => {
                            if let Ok(mut r) = results.lock() {
                                r.push((
                                    job.digest,
                                    Seen {
                                        actual,
                                        size: job.size,
                                        offset: job.offset,
                                        kept: None,
                                    },
                                ));
                            }
                        }
                        Err(e) => {
                            if let Ok(mut f) = first_error.lock() {
                                f.get_or_insert(e);
                            }
                            break;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().ok().flatten() {
        return Err(e);
    }
    Ok(results.into_inner().unwrap_or_default())
}

/// SHA-256 (or the digest's algorithm) of `size` bytes at stream offset `offset`.
fn hash_range(
    seeker: &ChunkSeeker,
    job: &Deferred,
    buf: &mut [u8],
    progress: &dyn Progress,
) -> std::io::Result<Digest> {
    use std::io::Seek;
    let mut h: Hasher = job.digest.hasher();
    for (path, at, len) in seeker.segments(job.offset, job.size)? {
        let mut f = std::fs::File::open(&path)?;
        f.seek(std::io::SeekFrom::Start(at))?;
        let mut left = len;
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(buf.len()));
            let n = f.read(&mut buf[..want])?;
            if n == 0 {
                return Err(std::io::Error::other(format!(
                    "{}: shorter than the chunk list says",
                    path.display()
                )));
            }
            h.update(&buf[..n]);
            left -= n as u64;
            progress.bytes(n as u64);
        }
    }
    Ok(h.finish())
}

/// The same shape checks as opening a layout directory: `oci-layout` and `index.json`.
fn check_top(top: &BTreeMap<String, Vec<u8>>, location: &str) -> Result<Manifest, String> {
    let Some(ol) = top.get(layout::OCI_LAYOUT_FILE) else {
        return Err(format!("{location}: the archive holds no oci-layout file; a packed bundle starts with oci-layout and index.json"));
    };
    let v: serde_json::Value = serde_json::from_slice(ol)
        .map_err(|e| format!("{location}: oci-layout is not JSON: {e}"))?;
    match v.get("imageLayoutVersion").and_then(|x| x.as_str()) {
        Some(s) if s.starts_with("1.") => {}
        other => {
            return Err(format!(
                "{location}: oci-layout: expected imageLayoutVersion \"1.0.0\", found {other:?}"
            ))
        }
    }
    let Some(idx) = top.get(layout::INDEX_FILE) else {
        return Err(format!("{location}: the archive holds no index.json"));
    };
    let m = Manifest::parse_with_limits(
        idx.clone(),
        Some(MEDIA_OCI_INDEX),
        layout::MAX_INDEX_BYTES as usize,
        layout::MAX_INDEX_JSON_ENTRIES,
    )
    .map_err(|e| format!("{location}: index.json: {e}"))?;
    if !m.is_index() {
        return Err(format!(
            "{location}: index.json: expected an image index (a \"manifests\" list)"
        ));
    }
    Ok(m)
}

/// The top-level files of an archive (oci-layout, index.json, the lock, …), read up to the first
/// blob member; chunks are checked as they are opened.
pub fn read_top_files(set: ChunkSet) -> Result<BTreeMap<String, Vec<u8>>, Finding> {
    let location = set.source.display().to_string();
    let reader = ChunkReader::new(set, true, &super::NoProgress);
    let problem = reader.problem();
    let mut archive = tar::Archive::new(reader);
    let fail = |what: String| match problem.borrow().as_ref() {
        Some(p) => p.finding(),
        None => Finding::error(
            Code::ArchiveInvalid,
            location.clone(),
            format!("the archive is not a readable tar stream: {what}"),
        ),
    };
    let mut top = BTreeMap::new();
    let entries = archive.entries().map_err(|e| fail(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| fail(e.to_string()))?;
        let raw = entry.path_bytes().into_owned();
        let member = classify(&raw, entry.header().entry_type()).map_err(|e| {
            let shown = String::from_utf8_lossy(&raw).to_string();
            Finding::error(
                Code::ArchiveInvalid,
                shown.clone(),
                format!("archive member {shown:?} refused: {e}"),
            )
        })?;
        match member {
            Member::Blob(_) => break,
            Member::TopFile(name) => {
                let size = entry.size();
                if size > MAX_TOP_FILE_BYTES || top.len() >= 64 {
                    return Err(Finding::error(
                        Code::LimitExceeded,
                        name,
                        format!("over the {MAX_TOP_FILE_BYTES}-byte limit for a top-level bundle file, or more than 64 of them"),
                    ));
                }
                let mut bytes = Vec::new();
                (&mut entry)
                    .take(size)
                    .read_to_end(&mut bytes)
                    .map_err(|e| fail(e.to_string()))?;
                if top.insert(name.clone(), bytes).is_some() {
                    return Err(Finding::error(
                        Code::ArchiveInvalid,
                        name,
                        "listed twice: a member may appear only once",
                    ));
                }
            }
            Member::Dir(_) | Member::Ignored => {}
        }
    }
    Ok(top)
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use super::super::chunks::list_path_for;
    use super::super::{pack, NoProgress};
    use super::*;
    use crate::layout::Layout;

    /// A bundle with small blobs (kept in memory by the pass) and large ones (hashed by offset),
    /// every size odd so each member ends in padding; packed into 100 KiB chunks.
    fn packed(dir: &Path) -> (Vec<Digest>, ChunkSet, Vec<u8>) {
        let b = dir.join("b");
        let l = Layout::create(&b).unwrap();
        let mut digests = Vec::new();
        for i in 0..6u32 {
            let size = if i % 2 == 0 { 1001 } else { 300_001 } + i as usize;
            digests.push(l.put_blob(&vec![i as u8 + 1; size]).unwrap());
        }
        let f = dir.join("b.tar");
        pack(&b, &f, Some(100 * 1024), &NoProgress).unwrap();
        let (set, findings) = ChunkSet::open(&list_path_for(&f), None).unwrap();
        assert!(findings.is_empty());
        let set = set.unwrap();
        let mut whole = Vec::new();
        for c in &set.chunks {
            whole.extend(fs::read(&c.0).unwrap());
        }
        (digests, set, whole)
    }

    /// Flip the byte at stream offset `at` in its chunk file; the chunk's name.
    fn flip(set: &ChunkSet, mut at: u64) -> String {
        for (path, name, size, _) in &set.chunks {
            if at < *size {
                let mut bytes = fs::read(path).unwrap();
                bytes[at as usize] ^= 0x20;
                fs::write(path, bytes).unwrap();
                return name.clone();
            }
            at -= size;
        }
        panic!("offset past the end");
    }

    /// (contents offset, size) of every blob member.
    fn blob_members(whole: &[u8]) -> Vec<(u64, u64)> {
        let mut ar = tar::Archive::new(whole);
        ar.entries()
            .unwrap()
            .map(Result::unwrap)
            .filter(|e| e.path().unwrap().starts_with("blobs/sha256/") && e.size() > 0)
            .map(|e| (e.raw_file_position(), e.size()))
            .collect()
    }

    #[test]
    fn clean_archive_reads_small_blobs_in_the_pass_and_large_ones_by_offset() {
        let t = tempfile::tempdir().unwrap();
        let (digests, set, _) = packed(t.path());
        let r = read_archive(set, 2, &NoProgress);
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        assert_eq!(r.view.layout_error, None);
        let blobs = r.blobs.unwrap();
        let asked: Vec<(Digest, Option<u64>)> = digests.iter().map(|d| (d.clone(), None)).collect();
        let states = blobs.check_blobs(&asked, 2);
        assert!(states.values().all(|s| *s == BlobState::Ok), "{states:?}");
        let kept = digests
            .iter()
            .filter(|d| blobs.blobs[*d].kept.is_some())
            .count();
        assert_eq!(
            kept, 3,
            "the three small blobs are kept, the large ones are not"
        );
        for d in &digests {
            let bytes = blobs.read_blob(d, u64::MAX).unwrap();
            assert!(d.matches(&bytes));
        }
    }

    #[test]
    fn a_flipped_byte_in_padding_a_large_blob_or_after_the_end_marker_names_its_chunk() {
        type Probe = fn(&[u8]) -> u64;
        let probes: [(&str, Probe); 3] = [
            ("padding after a member", |whole| {
                let (at, size) = blob_members(whole)[0];
                at + size
            }),
            ("inside a large blob", |whole| {
                let (at, size) = blob_members(whole)
                    .into_iter()
                    .find(|(_, s)| *s > KEEP_BLOB_BYTES)
                    .unwrap();
                at + size / 2
            }),
            ("after the end marker", |whole| whole.len() as u64 - 1),
        ];
        for (what, at) in probes {
            let t = tempfile::tempdir().unwrap();
            let (_, set, whole) = packed(t.path());
            let chunk = flip(&set, at(&whole));
            let r = read_archive(set, 2, &NoProgress);
            let found: Vec<(Code, String)> = r
                .findings
                .iter()
                .map(|f| (f.code, f.subject.clone()))
                .collect();
            assert_eq!(found, vec![(Code::ChunkDigestMismatch, chunk)], "{what}");
            assert!(r.blobs.is_none(), "{what}: nothing from the pass counts");
        }
    }

    #[test]
    fn a_plain_tar_with_a_changed_large_blob_reports_that_blob() {
        let t = tempfile::tempdir().unwrap();
        let (digests, _, whole) = packed(t.path());
        let (at, size) = blob_members(&whole)
            .into_iter()
            .find(|(_, s)| *s > KEEP_BLOB_BYTES)
            .unwrap();
        let mut bad = whole.clone();
        bad[(at + size / 2) as usize] ^= 0x20;
        let plain = t.path().join("plain.tar");
        fs::write(&plain, &bad).unwrap();
        let (set, _) = ChunkSet::open(&plain, None).unwrap();
        let r = read_archive(set.unwrap(), 2, &NoProgress);
        assert!(
            r.findings.is_empty(),
            "no chunk digests to name: {:?}",
            r.findings
        );
        let asked: Vec<(Digest, Option<u64>)> = digests.iter().map(|d| (d.clone(), None)).collect();
        let states = r.blobs.unwrap().check_blobs(&asked, 1);
        let wrong: Vec<&BlobState> = states
            .values()
            .filter(|s| matches!(s, BlobState::DigestMismatch { .. }))
            .collect();
        assert_eq!(wrong.len(), 1, "{states:?}");
    }

    /// The trade this reader makes: an archive whose every byte checks out is judged on its
    /// contents even when the (unsigned) chunk list's digest for a chunk was edited; `unpack`,
    /// which checks every chunk digest before writing, refuses it.
    #[test]
    fn intact_archive_under_an_edited_chunk_digest_reads_clean_and_unpack_refuses_it() {
        let t = tempfile::tempdir().unwrap();
        let (_, set, _) = packed(t.path());
        let listp = set.source.clone();
        let mut list: super::super::chunks::ChunkList =
            serde_json::from_slice(&fs::read(&listp).unwrap()).unwrap();
        list.chunks[1].sha256 = Digest::sha256_of(b"not this chunk");
        fs::write(&listp, list.to_json()).unwrap();
        let (set, _) = ChunkSet::open(&listp, None).unwrap();
        let r = read_archive(set.unwrap(), 2, &NoProgress);
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        let (set, _) = ChunkSet::open(&listp, None).unwrap();
        let o =
            super::super::unpack::unpack(set.unwrap(), &t.path().join("out"), &NoProgress).unwrap();
        let found: Vec<Code> = o.findings.iter().map(|f| f.code).collect();
        assert_eq!(found, vec![Code::ChunkDigestMismatch]);
    }
}

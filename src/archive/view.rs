//! Read a bundle straight from an archive into the same [`BundleView`] the directory loader
//! builds: one sequential pass hashes every blob (on `jobs` threads, a bounded number of 1 MiB
//! buffers in flight) and keeps small blobs in memory within a budget; anything else the
//! verification core needs later is fetched again by offset.
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::sync::mpsc;

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
/// Buffers queued per hashing thread.
const QUEUE_DEPTH: usize = 4;
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

enum Msg {
    Start {
        digest: Digest,
        offset: u64,
        keep: bool,
    },
    Data(Vec<u8>),
    End,
}

/// Read `set` in one pass and build the view. Never fails: problems land in the view or in
/// `findings`.
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
    // Nothing is written from the pass, so the chunk digests are checked on their own thread
    // while the stream is parsed and hashed (presence and sizes as each chunk is opened); a bad
    // chunk then replaces everything the pass found.
    let check_set = set.clone();
    let reader = ChunkReader::new(set, false, progress);
    let problem = reader.problem();
    let mut archive = tar::Archive::new(reader);
    let jobs = jobs.max(1);
    let (res_tx, res_rx) = mpsc::channel::<(Digest, Seen)>();
    let mut stop: Option<Finding> = None;
    let checker = std::thread::spawn(move || super::chunks::check_all_chunks(&check_set));
    std::thread::scope(|s| {
        let mut senders = Vec::new();
        for _ in 0..jobs {
            let (tx, rx) = mpsc::sync_channel::<Msg>(QUEUE_DEPTH);
            let res_tx = res_tx.clone();
            s.spawn(move || hash_worker(rx, res_tx));
            senders.push(tx);
        }
        drop(res_tx);
        let mut kept_total: u64 = 0;
        let mut next_worker = 0usize;
        let mut seen: BTreeSet<String> = BTreeSet::new();
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
        let entries = match archive.entries() {
            Ok(e) => e,
            Err(e) => {
                stop = Some(fail(e.to_string()));
                return;
            }
        };
        for entry in entries {
            let mut entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    stop = Some(fail(e.to_string()));
                    return;
                }
            };
            if seen.len() >= MAX_MEMBERS {
                stop = Some(Finding::error(
                    Code::LimitExceeded,
                    location.clone(),
                    format!("more than {MAX_MEMBERS} members in the archive"),
                ));
                return;
            }
            let raw = entry.path_bytes().into_owned();
            let shown = String::from_utf8_lossy(&raw).to_string();
            let refuse = |e: MemberError| {
                Finding::error(
                    Code::ArchiveInvalid,
                    shown.clone(),
                    format!("archive member {shown:?} refused: {e}"),
                )
            };
            let member = match classify(&raw, entry.header().entry_type()) {
                Ok(m) => m,
                Err(e) => {
                    stop = Some(refuse(e));
                    return;
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
                return;
            }
            let size = entry.size();
            match member {
                Member::Ignored | Member::Dir(_) => {}
                Member::TopFile(name) => {
                    if size > MAX_TOP_FILE_BYTES {
                        stop = Some(Finding::error(
                            Code::LimitExceeded,
                            name,
                            format!("{size} bytes, over the {MAX_TOP_FILE_BYTES}-byte limit for a top-level bundle file"),
                        ));
                        return;
                    }
                    let mut bytes = Vec::new();
                    if let Err(e) = (&mut entry).take(size).read_to_end(&mut bytes) {
                        stop = Some(fail(e.to_string()));
                        return;
                    }
                    out.top_files.insert(name, bytes);
                }
                Member::Blob(d) => {
                    let keep = size <= KEEP_BLOB_BYTES && kept_total + size <= MAX_KEPT_BYTES;
                    if keep {
                        kept_total += size;
                    }
                    let w = &senders[next_worker % senders.len()];
                    next_worker += 1;
                    let offset = entry.raw_file_position();
                    if w.send(Msg::Start {
                        digest: d,
                        offset,
                        keep,
                    })
                    .is_err()
                    {
                        return;
                    }
                    loop {
                        let mut buf =
                            vec![0u8; BUF.min(usize::try_from(size).unwrap_or(BUF).max(1))];
                        let n = match entry.read(&mut buf) {
                            Ok(n) => n,
                            Err(e) => {
                                stop = Some(fail(e.to_string()));
                                let _ = w.send(Msg::End);
                                return;
                            }
                        };
                        if n == 0 {
                            break;
                        }
                        buf.truncate(n);
                        if w.send(Msg::Data(buf)).is_err() {
                            return;
                        }
                    }
                    if w.send(Msg::End).is_err() {
                        return;
                    }
                }
            }
        }
        drop(senders);
    });
    // Every listed chunk is checked, even past the tar end marker.
    if stop.is_none() {
        let mut reader = archive.into_inner();
        if let Err(e) = std::io::copy(&mut reader, &mut std::io::sink()) {
            stop = Some(match problem.borrow().as_ref() {
                Some(p) => p.finding(),
                None => Finding::error(Code::ArchiveInvalid, location.clone(), e.to_string()),
            });
        }
    }
    let blobs: BTreeMap<Digest, Seen> = res_rx.into_iter().collect();
    let chunk_problem = checker.join().unwrap_or_else(|_| {
        Some(super::ChunkProblem::Mismatch {
            name: location.clone(),
            detail: "the chunk checking thread failed".into(),
        })
    });
    if let Some(p) = chunk_problem {
        // A bad chunk: nothing the pass read counts.
        stop = Some(p.finding());
    }
    if let Some(f) = stop {
        out.view.layout_error = Some(format!("{}: {}", f.code, f.message));
        out.findings.push(f);
        return out;
    }
    out.lock = out.top_files.get(layout::LOCK_FILE).cloned();
    out.lock_envelope = out.top_files.get(layout::LOCK_DSSE_FILE).cloned();
    let index = match check_top(&out.top_files, &location) {
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

/// The blob a hashing thread is working on.
struct InFlight {
    digest: Digest,
    hasher: Hasher,
    offset: u64,
    size: u64,
    kept: Option<Vec<u8>>,
}

fn hash_worker(rx: mpsc::Receiver<Msg>, res: mpsc::Sender<(Digest, Seen)>) {
    let mut cur: Option<InFlight> = None;
    for m in rx {
        match m {
            Msg::Start {
                digest,
                offset,
                keep,
            } => {
                cur = Some(InFlight {
                    hasher: digest.hasher(),
                    digest,
                    offset,
                    size: 0,
                    kept: keep.then(Vec::new),
                });
            }
            Msg::Data(b) => {
                if let Some(f) = cur.as_mut() {
                    f.hasher.update(&b);
                    f.size += b.len() as u64;
                    if let Some(k) = f.kept.as_mut() {
                        k.extend_from_slice(&b);
                    }
                }
            }
            Msg::End => {
                if let Some(f) = cur.take() {
                    let _ = res.send((
                        f.digest,
                        Seen {
                            actual: f.hasher.finish(),
                            size: f.size,
                            offset: f.offset,
                            kept: f.kept,
                        },
                    ));
                }
            }
        }
    }
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

//! `airlock unpack`: chunk files back into a bundle directory, checking each chunk before
//! using it and each blob before it gets its final name.
use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read};
use std::path::Path;

use super::chunks::{ChunkReader, ChunkSet};
use super::member::{classify, Member, MemberError};
use super::{ArchiveError, Progress, MAX_MEMBERS, MAX_TOP_FILE_BYTES};
use crate::layout::{self, CommitError, Layout};
use crate::report::{Code, Finding};

const COPY_BUF: usize = 1 << 20;

/// What an unpack did.
#[derive(Debug, Default)]
pub struct UnpackOutcome {
    pub findings: Vec<Finding>,
    /// Blobs written now.
    pub written: usize,
    /// Blobs already present and correct (a resumed unpack).
    pub kept: usize,
}

/// Unpack `set` into `out`. Stops at the first bad chunk or refused member; problems are
/// findings. `Err` only when the output cannot be written.
pub fn unpack(
    set: ChunkSet,
    out: &Path,
    progress: &dyn Progress,
) -> Result<UnpackOutcome, ArchiveError> {
    let mut written = Vec::new();
    let r = unpack_into(set, out, progress, &mut written);
    // Every blob written (also before a failure, for the resumed run) made durable together.
    crate::layout::durable::sync_all_parallel(&written, SYNC_THREADS)?;
    r
}

/// Threads that fsync the unpacked blobs at the end.
const SYNC_THREADS: usize = 8;

fn unpack_into(
    set: ChunkSet,
    out: &Path,
    progress: &dyn Progress,
    written: &mut Vec<std::path::PathBuf>,
) -> Result<UnpackOutcome, ArchiveError> {
    progress.total(set.total_size());
    let source = set.source.display().to_string();
    let reader = ChunkReader::new(set, true, progress);
    let problem = reader.problem();
    let mut outcome = UnpackOutcome::default();
    let mut archive = tar::Archive::new(reader);
    let archive_err = |outcome: &mut UnpackOutcome, what: String| {
        if let Some(p) = problem.borrow().as_ref() {
            outcome.findings.push(p.finding());
        } else {
            outcome.findings.push(Finding::error(
                Code::ArchiveInvalid,
                source.clone(),
                format!("the archive is not a readable tar stream: {what}"),
            ));
        }
    };
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => {
            archive_err(&mut outcome, e.to_string());
            return Ok(outcome);
        }
    };
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut layout: Option<Layout> = None;
    let mut saw_index = false;
    let mut buf = vec![0u8; COPY_BUF];
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                archive_err(&mut outcome, e.to_string());
                return Ok(outcome);
            }
        };
        if seen.len() >= MAX_MEMBERS {
            outcome.findings.push(Finding::error(
                Code::LimitExceeded,
                source.clone(),
                format!("more than {MAX_MEMBERS} members in the archive"),
            ));
            return Ok(outcome);
        }
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).to_string();
        let refuse = |outcome: &mut UnpackOutcome, e: MemberError| {
            outcome.findings.push(Finding::error(
                Code::ArchiveInvalid,
                shown.clone(),
                format!("archive member {shown:?} refused: {e}; nothing more was unpacked"),
            ));
        };
        let member = match classify(&raw, entry.header().entry_type()) {
            Ok(m) => m,
            Err(e) => {
                refuse(&mut outcome, e);
                return Ok(outcome);
            }
        };
        let key = match &member {
            Member::Ignored => continue,
            Member::Dir(d) => format!("{d}/"),
            Member::TopFile(n) => n.clone(),
            Member::Blob(d) => format!("blobs/{}/{}", d.algorithm().as_str(), d.hex()),
        };
        if !seen.insert(key) {
            refuse(&mut outcome, MemberError::Duplicate);
            return Ok(outcome);
        }
        let size = entry.size();
        match member {
            Member::Ignored => {}
            Member::Dir(d) => {
                let p = out.join(&d);
                fs::create_dir_all(&p).map_err(|source| ArchiveError::Io { path: p, source })?;
            }
            Member::TopFile(name) => {
                if size > MAX_TOP_FILE_BYTES {
                    outcome.findings.push(Finding::error(
                        Code::LimitExceeded,
                        name.clone(),
                        format!("{size} bytes, over the {MAX_TOP_FILE_BYTES}-byte limit for a top-level bundle file"),
                    ));
                    return Ok(outcome);
                }
                let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
                if let Err(e) = (&mut entry).take(size).read_to_end(&mut bytes) {
                    archive_err(&mut outcome, e.to_string());
                    return Ok(outcome);
                }
                fs::create_dir_all(out).map_err(|source| ArchiveError::Io {
                    path: out.to_path_buf(),
                    source,
                })?;
                layout::write_atomic(&out.join(&name), &bytes)?;
                saw_index |= name == layout::INDEX_FILE;
            }
            Member::Blob(d) => {
                if layout.is_none() {
                    // Blobs are renamed into place without a per-file fsync; all of them are
                    // made durable together before unpack returns (`durable::sync_all_parallel`).
                    let mut l = Layout::create(out)?;
                    l.set_durable(false);
                    layout = Some(l);
                }
                let Some(l) = layout.as_ref() else { continue };
                if l.has_verified_blob(&d, Some(size)) {
                    // Resumed: keep it, but still read through (the chunk checks need the bytes).
                    if let Err(e) = io::copy(&mut entry, &mut io::sink()) {
                        archive_err(&mut outcome, e.to_string());
                        return Ok(outcome);
                    }
                    outcome.kept += 1;
                    continue;
                }
                let mut w = l.blob_writer(d.algorithm())?;
                loop {
                    let n = match entry.read(&mut buf) {
                        Ok(n) => n,
                        Err(e) => {
                            w.abort();
                            archive_err(&mut outcome, e.to_string());
                            return Ok(outcome);
                        }
                    };
                    if n == 0 {
                        break;
                    }
                    w.write_chunk(&buf[..n])?;
                }
                match w.commit(&d, Some(size)) {
                    Ok(()) => {
                        outcome.written += 1;
                        written.push(l.blob_path(&d));
                    }
                    Err(CommitError::Mismatch { actual, .. }) => {
                        outcome.findings.push(Finding::error(
                            Code::BlobDigestMismatch,
                            d.to_string(),
                            format!(
                                "archive member blobs/{}/{} hashes to {actual}; not written",
                                d.algorithm().as_str(),
                                d.hex()
                            ),
                        ));
                    }
                    Err(CommitError::Io(e)) => return Err(e.into()),
                }
            }
        }
    }
    // Read to the end so every listed chunk is checked, even past the tar end marker.
    let mut reader = archive.into_inner();
    if let Err(e) = io::copy(&mut reader, &mut io::sink()) {
        archive_err(&mut outcome, e.to_string());
        return Ok(outcome);
    }
    if !saw_index {
        outcome.findings.push(Finding::error(
            Code::LayoutInvalid,
            source,
            "the archive holds no index.json: it is not a packed bundle",
        ));
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::super::{pack, NoProgress};
    use super::*;

    fn bundle(dir: &Path) {
        let l = Layout::create(dir).unwrap();
        for i in 0..12u32 {
            l.put_blob(&vec![i as u8; 2000 + i as usize]).unwrap();
        }
    }

    fn hostile_tar(path: &Path, name: &[u8], kind: tar::EntryType) {
        let mut out = Vec::new();
        {
            let mut b = tar::Builder::new(&mut out);
            let mut h = tar::Header::new_gnu();
            h.set_size(0);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, "oci-layout", io::empty()).unwrap();
            let mut h = tar::Header::new_old();
            // Write the raw name, bypassing the builder's own path checks.
            h.as_old_mut().name[..name.len()].copy_from_slice(name);
            h.set_entry_type(kind);
            if kind == tar::EntryType::Symlink {
                h.set_link_name("/etc/passwd").unwrap();
            }
            h.set_size(0);
            h.set_mode(0o644);
            h.set_cksum();
            b.append(&h, io::empty()).unwrap();
            b.finish().unwrap();
        }
        fs::write(path, out).unwrap();
    }

    fn unpack_file(path: &Path, out: &Path) -> UnpackOutcome {
        let (set, f) = ChunkSet::open(path, None).unwrap();
        assert!(f.is_empty());
        unpack(set.unwrap(), out, &NoProgress).unwrap()
    }

    #[test]
    fn unpack_refuses_dotdot_absolute_symlink_and_macos_junk() {
        let t = tempfile::tempdir().unwrap();
        for (name, kind) in [
            (&b"../x"[..], tar::EntryType::Regular),
            (b"/tmp/abs", tar::EntryType::Regular),
            (b"index.json", tar::EntryType::Symlink),
            (b"__MACOSX/._index.json", tar::EntryType::Regular),
            (b"dev0", tar::EntryType::Char),
        ] {
            let tarf = t.path().join("h.tar");
            hostile_tar(&tarf, name, kind);
            let out = t.path().join("out");
            let o = unpack_file(&tarf, &out);
            let codes: Vec<Code> = o.findings.iter().map(|f| f.code).collect();
            assert_eq!(
                codes,
                vec![Code::ArchiveInvalid],
                "{}",
                String::from_utf8_lossy(name)
            );
            assert!(!t.path().join("x").exists());
            assert!(!Path::new("/tmp/abs").exists());
            assert!(!out.join("index.json").exists());
            let _ = fs::remove_dir_all(&out);
        }
    }

    #[test]
    fn duplicate_member_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let mut out = Vec::new();
        {
            let mut b = tar::Builder::new(&mut out);
            for _ in 0..2 {
                let mut h = tar::Header::new_ustar();
                h.set_size(2);
                h.set_mode(0o644);
                b.append_data(&mut h, "index.json", &b"{}"[..]).unwrap();
            }
            b.finish().unwrap();
        }
        let tarf = t.path().join("d.tar");
        fs::write(&tarf, out).unwrap();
        let o = unpack_file(&tarf, &t.path().join("out"));
        assert_eq!(o.findings.len(), 1);
        assert_eq!(o.findings[0].code, Code::ArchiveInvalid);
        assert!(o.findings[0].message.contains("twice"));
    }

    #[test]
    fn flipped_byte_in_second_chunk_writes_nothing_from_it_and_rerun_resumes() {
        let t = tempfile::tempdir().unwrap();
        let b = t.path().join("b");
        bundle(&b);
        let f = t.path().join("b.tar");
        let (list, _) = pack(&b, &f, Some(8192), &NoProgress).unwrap();
        assert!(list.chunks.len() >= 3);
        let c2 = t.path().join(&list.chunks[1].name);
        let good = fs::read(&c2).unwrap();
        let mut bad = good.clone();
        bad[100] ^= 1;
        fs::write(&c2, &bad).unwrap();
        let listp = super::super::chunks::list_path_for(&f);
        let out = t.path().join("out");
        let o = unpack_file(&listp, &out);
        let codes: Vec<Code> = o.findings.iter().map(|f| f.code).collect();
        assert_eq!(codes, vec![Code::ChunkDigestMismatch]);
        assert_eq!(o.findings[0].subject, list.chunks[1].name);
        // Blobs written are exactly those wholly inside chunk 1.
        let chunk1_end = list.chunks[0].size;
        let mut ar =
            tar::Archive::new(fs::File::open(t.path().join(&list.chunks[0].name)).unwrap());
        let mut inside = 0;
        for e in ar.entries().unwrap() {
            let Ok(e) = e else { break };
            if e.header().entry_type() == tar::EntryType::Regular
                && e.path().unwrap().starts_with("blobs/sha256/")
                && e.raw_file_position() + e.size() <= chunk1_end
            {
                inside += 1;
            }
        }
        assert_eq!(o.written, inside);
        let on_disk = fs::read_dir(out.join("blobs/sha256")).unwrap().count();
        assert_eq!(on_disk, inside);
        // Repair and re-run: kept blobs are not rewritten, the rest arrive.
        fs::write(&c2, &good).unwrap();
        let o2 = unpack_file(&listp, &out);
        assert!(o2.findings.is_empty(), "{:?}", o2.findings);
        assert_eq!(o2.kept, inside);
        assert_eq!(o2.kept + o2.written, 12);
    }
}

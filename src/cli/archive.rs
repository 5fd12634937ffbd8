//! `airlock pack DIR -o FILE` and `airlock unpack FILE.chunks.json -o DIR`: carrying a bundle
//! across the gap as one file or as chunk files with a (signed) chunk list.
use std::path::PathBuf;

use airlock::archive::{self, chunks, ChunkSet};
use airlock::report::{PolicyRef, Report};
use airlock::trust::keys;

use super::common::{self, Format};
use super::{Fatal, EXIT_FAIL, EXIT_OK};

#[derive(clap::Args, Debug)]
pub struct PackArgs {
    /// The bundle directory (an OCI image layout written by capture).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// The archive to write: one chunk named FILE, or FILE.001, FILE.002, … with --chunk-size;
    /// always FILE.chunks.json beside it.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: PathBuf,
    /// Largest chunk: bytes, or K/M/G/T (binary: 4G is 4 GiB, 700M is 700 MiB).
    #[arg(long, value_name = "SIZE", value_parser = archive::parse_size)]
    chunk_size: Option<u64>,
    /// Sign the chunk list (DSSE, FILE.chunks.dsse.json) with this private key (passphrase from
    /// AIRLOCK_PASSWORD or COSIGN_PASSWORD), or a pkcs11: URI naming a key in an HSM.
    #[arg(long, value_name = "KEY")]
    sign_key: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct UnpackArgs {
    /// The chunk list FILE.chunks.json (or a plain tar FILE).
    #[arg(value_name = "FILE.chunks.json")]
    list: PathBuf,
    /// The bundle directory to write (re-running into it resumes).
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    output: PathBuf,
    /// Public key the chunk list must be signed with (FILE.chunks.dsse.json).
    #[arg(long, value_name = "PUB")]
    key: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

/// A byte-progress bar on a terminal, nothing otherwise.
pub struct Bar(std::sync::Arc<super::progress::Progress>);
impl Bar {
    pub fn new() -> Bar {
        Bar(super::progress::Progress::start("archive"))
    }
    pub fn finish(&self) {
        self.0.finish();
    }
}
impl archive::Progress for Bar {
    fn total(&self, bytes: u64) {
        self.0.planned(0, bytes);
    }
    fn bytes(&self, n: u64) {
        self.0.bytes(n);
    }
}

/// An archive (`FILE.chunks.json` or a tar) read in one pass for `verify` or `push`: every
/// chunk checked, every blob hashed, metadata kept in memory within the limits.
pub struct OpenedArchive {
    /// What the user named.
    pub file: PathBuf,
    /// `None` when the chunk list itself was refused.
    pub read: Option<archive::view::ArchiveRead>,
    /// Archive problems: a bad chunk list or chunk, a refused member, a lock that is not the
    /// one the chunk list names.
    pub findings: Vec<airlock::report::Finding>,
}

impl OpenedArchive {
    pub fn open(file: &std::path::Path, jobs: usize) -> Result<OpenedArchive, Fatal> {
        use airlock::report::{Code, Finding};
        let (set, mut findings) = ChunkSet::open(file, None)?;
        let read = match set {
            Some(set) => {
                let bar = Bar::new();
                let r = archive::view::read_archive(set.clone(), jobs, &bar);
                bar.finish();
                findings.extend(r.findings.iter().cloned());
                if let (Some(list), Some(lock)) = (&set.list, &r.lock) {
                    if let Some(want) = &list.lock_sha256 {
                        if !want.matches(lock) {
                            findings.push(Finding::error(
                                Code::ChunksInvalid,
                                set.source.display().to_string(),
                                format!(
                                    "the chunk list names lock sha256 {want}, but the archive's airlock.lock.json hashes to {}",
                                    airlock::oci::Digest::sha256_of(lock)
                                ),
                            ));
                        }
                    }
                }
                Some(r)
            }
            None => None,
        };
        Ok(OpenedArchive {
            file: file.to_path_buf(),
            read,
            findings,
        })
    }

    /// Did the archive itself read cleanly (chunks, members, lock digest)?
    pub fn is_clean(&self) -> bool {
        self.read.is_some() && !self.findings.iter().any(|f| f.is_error())
    }
}

pub fn run_pack(a: PackArgs) -> Result<u8, Fatal> {
    let sign_key = match &a.sign_key {
        Some(p) => Some(common::load_signing_key("--sign-key", p)?),
        None => None,
    };
    let bar = Bar::new();
    let (list, bytes) = archive::pack(&a.dir, &a.output, a.chunk_size, &bar)?;
    bar.finish();
    let list_path = chunks::list_path_for(&a.output);
    if let Some(k) = &sign_key {
        let env = airlock::sign::sign_envelope(archive::CHUNKS_PAYLOAD_TYPE, &bytes, k)?;
        airlock::layout::write_atomic(&chunks::dsse_path_for(&list_path), &env)?;
    }
    eprintln!(
        "packed {} into {} chunk(s), {} bytes, sha256 {}; chunk list {}{}",
        a.dir.display(),
        list.chunks.len(),
        list.size,
        list.sha256,
        list_path.display(),
        if sign_key.is_some() { " (signed)" } else { "" }
    );
    Ok(EXIT_OK)
}

/// Open what the user named, checking the signed list with `key`. `Err(code)` when the list
/// itself is refused (findings printed).
pub fn open_set(
    path: &std::path::Path,
    key: Option<&PathBuf>,
    format: Format,
) -> Result<Result<ChunkSet, u8>, Fatal> {
    let key = match key {
        Some(p) => Some(keys::load_public_key_file(p)?),
        None => None,
    };
    let (set, findings) = ChunkSet::open(path, key.as_ref())?;
    match set {
        Some(s) if findings.is_empty() => Ok(Ok(s)),
        _ => {
            print_findings(findings, format);
            Ok(Err(EXIT_FAIL))
        }
    }
}

/// Findings of a command that has no policy (unpack), as a report.
fn print_findings(findings: Vec<airlock::report::Finding>, format: Format) -> bool {
    let mut r = Report::new(common::now_rfc3339(), PolicyRef::default());
    r.findings = findings;
    r.finalise();
    if !r.findings.is_empty() || format == Format::Json {
        common::print_report(&r, format);
    }
    r.passed()
}

pub fn run_unpack(a: UnpackArgs) -> Result<u8, Fatal> {
    let set = match open_set(&a.list, a.key.as_ref(), a.format)? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let bar = Bar::new();
    let outcome = archive::unpack(set, &a.output, &bar)?;
    bar.finish();
    eprintln!(
        "unpacked {} into {}: {} blobs written, {} already present and kept",
        a.list.display(),
        a.output.display(),
        outcome.written,
        outcome.kept
    );
    Ok(if print_findings(outcome.findings, a.format) {
        EXIT_OK
    } else {
        EXIT_FAIL
    })
}

/// The lock bytes of a base bundle given as a lock file, a bundle directory or a chunk list /
/// packed tar (read from the archive's first members, chunk checked).
pub fn base_lock_bytes(path: &std::path::Path) -> Result<Vec<u8>, Fatal> {
    let limit = airlock::lock::MAX_LOCK_BYTES as u64;
    if path.is_dir() {
        return Ok(airlock::layout::read_regular_limited(
            &path.join(airlock::layout::LOCK_FILE),
            limit,
        )?);
    }
    let name = path.to_string_lossy();
    if name.ends_with(".json") && !name.ends_with(archive::CHUNKS_SUFFIX) {
        return Ok(airlock::layout::read_regular_limited(path, limit)?);
    }
    let (set, findings) = ChunkSet::open(path, None)?;
    let Some(set) = set else {
        return Err(Fatal(format!(
            "{}: {}",
            path.display(),
            findings
                .first()
                .map(|f| f.message.clone())
                .unwrap_or_default()
        )));
    };
    let top = archive::view::read_top_files(set)
        .map_err(|f| Fatal(format!("{}: {}: {}", path.display(), f.code, f.message)))?;
    top.get(airlock::layout::LOCK_FILE).cloned().ok_or_else(|| {
        Fatal(format!(
            "{}: the archive holds no airlock.lock.json",
            path.display()
        ))
    })
}

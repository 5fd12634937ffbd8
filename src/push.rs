//! `push`: copy a bundle into a (private) registry byte-exact, so every digest is preserved, then
//! read every manifest and blob back and compare what the registry serves with what was pushed.
//!
//! Naming: a source repository `registry/path` lands at `HOST[/PREFIX]/path`, or with
//! `keep_host` at `HOST[/PREFIX]/<registry>/path` ([`Target`]). Two sources that would put
//! different content under the same target tag are refused before anything is sent.
//!
//! Order: blobs (parallel, existing ones skipped after a HEAD, cross-repository mounts where a
//! blob already went to another repository), then image manifests leaf-first, then indexes, then
//! attachments (`.sig`/`.att`/`.sbom` tags and referrers), then the referrers fallback tags
//! (`sha256-<hex>`) for registries that do not answer `OCI-Subject`. Every step checks first, so a
//! re-run after an interruption only sends what is missing.
//!
//! With `--attest-key` the CLI then calls [`attest`]: every pushed image gets the gate's signed
//! verification summary appended to its cosign `.att` tag (upstream layers kept as they are).
//!
//! This is an I/O edge (network and the bundle directory). It never prints; progress goes through
//! [`PushProgress`], problems with content become [`Finding`]s, and anything that stops the run
//! is a [`PushError`].
#![allow(clippy::disallowed_methods)] // an edge: file I/O (and clocks for timeouts) live here by design
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use crate::formats::dsse::{Envelope, INTOTO_PAYLOAD_TYPE};
use crate::formats::intoto::{is_intoto_payload_type, Statement, PREDICATE_VSA_V1, STATEMENT_V1};
use crate::keys::{KeyError, PublicKey, SigningKey};
use crate::layout::{self, BlobReadError, Layout, LayoutError};
use crate::lock::{parse_attachment_tag, AttachmentKind, Lock};
use crate::mapping::{MappedImage, Mapping, MAPPING_SCHEMA};
use crate::oci::manifest::{
    Descriptor, Manifest, ANNOTATION_COSIGN_SIGNATURE, ANNOTATION_REF_NAME, MAX_INDEX_ENTRIES,
    MAX_MANIFEST_BYTES, MEDIA_DSSE_ENVELOPE, MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST,
};
use crate::oci::{Digest, Reference};
use crate::registry::{Body, Client, RegistryError};
use crate::report::vsa::{
    ResourceDescriptor, VsaSubject, VsaVerifier, PASSED, VERIFIER_ID, VERIFIER_VERSION_KEY,
};
use crate::report::{Code, Finding};
use crate::sign::sign_envelope;

/// Most manifests one push plans (per target repository, summed).
pub const MAX_PUSH_MANIFESTS: usize = 500_000;
/// How deep indexes may nest in a pushed tree.
pub const MAX_PUSH_NESTING: usize = 8;
/// Longest repository name (without the host) registries accept.
pub const MAX_REPOSITORY_NAME_LEN: usize = 255;
/// Longest `HOST[/PREFIX]` accepted.
pub const MAX_TARGET_LEN: usize = 512;

// -------------------------------------------------------------------------------------------
// Where the bundle is read from
// -------------------------------------------------------------------------------------------

/// What a blob looks like in the bundle being pushed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobStat {
    Missing,
    /// Present but not a regular file (a symlink, directory, device).
    NotRegular(String),
    /// Present, this many bytes.
    Size(u64),
}

/// The bundle push reads: a layout directory, or an archive (`FILE.chunks.json` or a tar)
/// read in one pass (`airlock::archive::view::ArchiveRead`), whose blobs are uploaded straight
/// from the chunk files.
pub trait PushSource: Sync {
    /// Where the bundle is, for messages.
    fn location(&self) -> String;
    /// The bundle's `index.json`.
    fn read_index(&self) -> Result<Manifest, PushError>;
    /// A whole blob, digest checked, up to `limit` bytes.
    fn read_blob(&self, d: &Digest, limit: u64) -> Result<Vec<u8>, BlobReadError>;
    /// Whether the blob is there, and its size.
    fn stat_blob(&self, d: &Digest) -> BlobStat;
    /// The upload body of a blob (streamed, never read whole into memory).
    fn upload_body(&self, d: &Digest, size: u64) -> Result<Body, BlobReadError>;
    /// Re-hash a blob (after the registry refused it) to tell damage from a registry problem.
    fn check_blob(&self, d: &Digest, size: Option<u64>) -> layout::BlobState;
    fn has_blob(&self, d: &Digest) -> bool {
        matches!(self.stat_blob(d), BlobStat::Size(_))
    }
}

impl PushSource for Layout {
    fn location(&self) -> String {
        self.root().display().to_string()
    }
    fn read_index(&self) -> Result<Manifest, PushError> {
        Ok(Layout::read_index(self)?)
    }
    fn read_blob(&self, d: &Digest, limit: u64) -> Result<Vec<u8>, BlobReadError> {
        Layout::read_blob(self, d, limit)
    }
    fn stat_blob(&self, d: &Digest) -> BlobStat {
        let path = self.blob_path(d);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_file() => BlobStat::Size(m.len()),
            Ok(_) => BlobStat::NotRegular(format!("{} is not a regular file", path.display())),
            Err(_) => BlobStat::Missing,
        }
    }
    fn upload_body(&self, d: &Digest, size: u64) -> Result<Body, BlobReadError> {
        Ok(Body::File {
            path: self.blob_path(d),
            len: size,
        })
    }
    fn check_blob(&self, d: &Digest, size: Option<u64>) -> layout::BlobState {
        Layout::check_blob(self, d, size)
    }
}

impl PushSource for crate::archive::view::ArchiveRead {
    // (ArchiveRead lives in the archive edge; push, a layer above, says how it pushes.)
    fn location(&self) -> String {
        self.view.location.clone()
    }
    fn read_index(&self) -> Result<Manifest, crate::push::PushError> {
        self.index.clone().ok_or_else(|| {
            crate::push::PushError::Bundle(format!(
                "{}: {}",
                self.view.location,
                self.view
                    .layout_error
                    .clone()
                    .unwrap_or_else(|| "the archive holds no valid index.json".into())
            ))
        })
    }
    fn read_blob(&self, d: &Digest, limit: u64) -> Result<Vec<u8>, BlobReadError> {
        match &self.blobs {
            Some(b) => crate::view::BlobSource::read_blob(b, d, limit),
            None => Err(BlobReadError::Missing),
        }
    }
    fn stat_blob(&self, d: &Digest) -> crate::push::BlobStat {
        match self.blobs.as_ref().and_then(|b| b.size_of(d)) {
            Some(n) => crate::push::BlobStat::Size(n),
            None => crate::push::BlobStat::Missing,
        }
    }
    fn upload_body(&self, d: &Digest, size: u64) -> Result<crate::registry::Body, BlobReadError> {
        let Some(b) = self.blobs.as_ref() else {
            return Err(BlobReadError::Missing);
        };
        b.upload_body(d, size)
    }
    fn check_blob(&self, d: &Digest, size: Option<u64>) -> layout::BlobState {
        match &self.blobs {
            Some(b) => crate::view::BlobSource::check_blobs(b, &[(d.clone(), size)], 1)
                .remove(d)
                .unwrap_or(layout::BlobState::Missing),
            None => layout::BlobState::Missing,
        }
    }
}

// -------------------------------------------------------------------------------------------
// Naming
// -------------------------------------------------------------------------------------------

/// Where pushed content goes: `HOST[/PREFIX]`, and whether the source host is kept as the first
/// path component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    host: String,
    prefix: Option<String>,
    keep_host: bool,
}

/// A target name that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum NamingError {
    #[error("target {given:?}: {problem}; expected HOST[:PORT][/PREFIX], e.g. registry.site.local:5000/mirror")]
    BadTarget { given: String, problem: String },
    #[error("source repository {source_repository:?} cannot be mapped: {problem}")]
    BadSource {
        source_repository: String,
        problem: String,
    },
    #[error("{source_repository}: the target repository name {target:?} is {len} characters, over the {MAX_REPOSITORY_NAME_LEN}-character limit registries enforce; use a shorter PREFIX or drop --keep-host")]
    TooLong {
        source_repository: String,
        target: String,
        len: usize,
    },
}

/// Is `c` a valid repository path component (`[a-z0-9]+` joined by `.`, `_`, `__` or `-`+)?
pub fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    if !b
        .iter()
        .all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || b"._-".contains(x))
    {
        return false;
    }
    // Separators: one '.', one or two '_', or any run of '-'; never mixed.
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// A registry host turned into one repository path component (`127.0.0.1:5000` →
/// `127.0.0.1-5000`, `Quay.IO` → `quay.io`).
pub fn host_component(host: &str) -> Option<String> {
    let lowered: String = host
        .chars()
        .filter(|c| *c != '[' && *c != ']')
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    // Runs mixing separators are not allowed: turn any run containing '-' or two+ characters
    // into dashes, then trim separators from the ends.
    let mut out = String::new();
    let mut run = String::new();
    for c in lowered.chars() {
        if c.is_ascii_alphanumeric() {
            if !run.is_empty() {
                if run == "." || run == "_" {
                    out.push_str(&run);
                } else {
                    out.push_str(&"-".repeat(run.len()));
                }
                run.clear();
            }
            out.push(c);
        } else if !out.is_empty() {
            run.push(c);
        }
    }
    (!out.is_empty() && valid_path_component(&out)).then_some(out)
}

impl Target {
    /// Parse `HOST[:PORT][/PREFIX]` as given on the command line.
    pub fn parse(given: &str, keep_host: bool) -> Result<Target, NamingError> {
        let bad = |problem: &str| NamingError::BadTarget {
            given: given.chars().take(200).collect(),
            problem: problem.to_string(),
        };
        let s = given.trim().trim_end_matches('/');
        if s.is_empty() {
            return Err(bad("empty"));
        }
        if s.len() > MAX_TARGET_LEN {
            return Err(bad(&format!("longer than {MAX_TARGET_LEN} characters")));
        }
        if s.contains("://") {
            return Err(bad("give the host without a scheme (plain HTTP is chosen with --insecure-registry HOST)"));
        }
        let (host, prefix) = match s.split_once('/') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        };
        if host.is_empty()
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        {
            return Err(bad(
                "the host must be a host name or address with an optional :PORT",
            ));
        }
        if let Some(p) = prefix {
            for c in p.split('/') {
                if !valid_path_component(c) {
                    return Err(bad(&format!(
                        "prefix component {c:?} must be lowercase [a-z0-9] joined by '.', '_' or '-'"
                    )));
                }
            }
        }
        Ok(Target {
            host: host.to_ascii_lowercase(),
            prefix: prefix.map(str::to_string),
            keep_host,
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }
    pub fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }
    pub fn keep_host(&self) -> bool {
        self.keep_host
    }

    /// `HOST[/PREFIX]`.
    pub fn display(&self) -> String {
        match &self.prefix {
            Some(p) => format!("{}/{p}", self.host),
            None => self.host.clone(),
        }
    }

    /// The repository path on the target host (without the host) for a source repository
    /// (`registry/path`, as in the lock).
    pub fn repo_path(&self, source_repository: &str) -> Result<String, NamingError> {
        let r = Reference::parse(source_repository).map_err(|e| NamingError::BadSource {
            source_repository: source_repository.to_string(),
            problem: e.to_string(),
        })?;
        let mut parts: Vec<String> = Vec::new();
        if let Some(p) = &self.prefix {
            parts.push(p.clone());
        }
        if self.keep_host {
            let hc = host_component(r.registry()).ok_or_else(|| NamingError::BadSource {
                source_repository: source_repository.to_string(),
                problem: format!(
                    "its registry {:?} does not make a repository path component",
                    r.registry()
                ),
            })?;
            parts.push(hc);
        }
        parts.push(r.path().to_string());
        let path = parts.join("/");
        if path.len() > MAX_REPOSITORY_NAME_LEN {
            return Err(NamingError::TooLong {
                source_repository: source_repository.to_string(),
                len: path.len(),
                target: path,
            });
        }
        Ok(path)
    }

    /// `HOST/<repo_path>`.
    pub fn repository(&self, source_repository: &str) -> Result<String, NamingError> {
        Ok(format!(
            "{}/{}",
            self.host,
            self.repo_path(source_repository)?
        ))
    }

    /// The repository path on this host for a full target repository name (`HOST/path`), if it
    /// is on this host.
    pub fn strip_host<'a>(&self, target_repository: &'a str) -> Option<&'a str> {
        target_repository
            .strip_prefix(self.host.as_str())
            .and_then(|r| r.strip_prefix('/'))
            .filter(|r| !r.is_empty())
    }
}

/// The OCI 1.1 referrers fallback tag for a subject: `<alg>-<hex>`, the algorithm cut to 32
/// characters and the hex to 64 (distribution-spec).
pub fn referrers_tag(subject: &Digest) -> String {
    let alg: String = subject.algorithm().as_str().chars().take(32).collect();
    let hex: String = subject.hex().chars().take(64).collect();
    format!("{alg}-{hex}")
}

/// The repository part of a ref name (`registry/repo:tag` → `registry/repo`).
fn repository_of_name(name: &str) -> Option<String> {
    Reference::parse(name).ok().map(|r| r.repository())
}

/// The tag part of a ref name (`registry/repo:tag` → `tag`).
fn tag_of_name(name: &str) -> Option<String> {
    let no_digest = name.split('@').next().unwrap_or(name);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.rsplit_once(':').map(|(_, t)| t.to_string())
}

// -------------------------------------------------------------------------------------------
// The plan
// -------------------------------------------------------------------------------------------

/// Push settings.
#[derive(Clone, Debug)]
pub struct PushOptions {
    pub jobs: usize,
    /// RFC 3339 time recorded in the mapping.
    pub created: String,
    /// The verdict: only these source references (as named in index.json) are pushed, with
    /// their children and attachments. `None` pushes everything (`--no-verify`).
    pub only: Option<BTreeSet<String>>,
    /// Recorded in each mapping entry: `pass` with the report digest, or `unverified`.
    pub verdict: crate::mapping::MappedVerdict,
    pub report_digest: Option<Digest>,
    /// Where the mapping is written (default `DIR/airlock.mapping.json`).
    pub mapping_path: Option<std::path::PathBuf>,
    /// `--platform OS/ARCH`: push this platform's manifest (with its attachments) under each
    /// tag instead of the index (for bundles captured with `--platform`).
    pub platform: Option<String>,
}

/// Progress callbacks (the CLI draws a bar on a terminal; tests and pipes see nothing).
pub trait PushProgress: Send + Sync {
    fn phase(&self, _what: &str) {}
    fn blobs_planned(&self, _count: usize, _bytes: u64) {}
    /// More bytes of the planned blobs are done: sent while a blob uploads (in pieces, so a
    /// large layer moves the count smoothly), and the rest of its size when it is finished
    /// (already present, mounted, or uploaded). Each planned blob adds up to exactly its size,
    /// whatever retries happened.
    fn bytes_sent(&self, _n: u64) {}
    /// A planned blob is finished (its `bytes` were reported through `bytes_sent`).
    fn blob_done(&self, _bytes: u64) {}
    fn manifest_done(&self) {}
}

/// Turns the "sent so far in this attempt" reports of one blob upload into increments for
/// [`PushProgress::bytes_sent`]: only bytes beyond the most already reported count, so a retry
/// that starts again from 0 adds nothing until it passes the earlier attempt, and the total
/// never exceeds the blob's size.
struct BlobBytes {
    size: u64,
    reported: AtomicU64,
    progress: Arc<dyn PushProgress>,
}

impl BlobBytes {
    fn sent(&self, so_far: u64) {
        let so_far = so_far.min(self.size);
        let before = self.reported.fetch_max(so_far, Ordering::Relaxed);
        if so_far > before {
            self.progress.bytes_sent(so_far - before);
        }
    }
}

/// No progress display.
pub struct Quiet;
impl PushProgress for Quiet {}

/// Push could not run (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    Naming(#[from] NamingError),
    #[error("{0}")]
    Bundle(String),
    #[error("target name collision, nothing was pushed:\n{}\n(use --keep-host to keep source registries apart, or push the sources to different PREFIXes)", .0.join("\n"))]
    Collision(Vec<String>),
    #[error("{0}")]
    Limit(String),
    #[error("{what} {reference}: the registry holds something that is not an image index there ({detail}); refusing to overwrite it. Move it away or delete it, then push again")]
    NotAnIndex {
        what: &'static str,
        reference: String,
        detail: String,
    },
    #[error("gate attestation {reference}: {detail}")]
    Attest { reference: String, detail: String },
    #[error("gate attestation: signing failed: {0}")]
    Sign(#[from] KeyError),
}

/// What a push did.
#[derive(Debug, Default)]
pub struct PushOutcome {
    /// Content problems (bundle or read-back). Any error severity means exit 1.
    pub findings: Vec<Finding>,
    /// The mapping written to `DIR/airlock.mapping.json` (None when nothing was pushed).
    pub mapping: Option<Mapping>,
    pub images: usize,
    pub repositories: usize,
    pub blobs_uploaded: usize,
    pub bytes_uploaded: u64,
    pub blobs_mounted: usize,
    pub blobs_present: usize,
    pub manifests_pushed: usize,
    pub manifests_present: usize,
    pub referrer_tags_updated: usize,
    pub manifests_read_back: usize,
    pub blobs_read_back: usize,
    /// HTTP requests sent (including auth and retries).
    pub requests: u64,
    /// Attachment tags (`.sig`/`.att`/`.sbom`) that pointed at another manifest and now point
    /// at the bundle's (each also reported as a warning in `findings`).
    pub replaced_tags: Vec<ReplacedTag>,
}

/// An attachment tag at the target that push moved to the bundle's manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplacedTag {
    /// Repository path on the target host.
    pub repo: String,
    pub tag: String,
    /// What the tag pointed at before (the registry's `Docker-Content-Digest`).
    pub previous: String,
    /// What it points at now.
    pub now: Digest,
    /// The warning in [`PushOutcome::findings`] that reports it.
    pub warning: Finding,
}

impl PushOutcome {
    pub fn failed(&self) -> bool {
        self.findings.iter().any(Finding::is_error)
    }
}

/// Ordering groups: image trees, then attachments, then referrers lists.
const GROUP_IMAGE: usize = 0;
const GROUP_ATTACHMENT: usize = 100;

/// One referrers list to maintain: a subject in one repository.
#[derive(Debug, Default, Clone)]
struct RefGroup {
    referrers: BTreeSet<Digest>,
    /// The referrers index captured from the source (pushed byte-exact).
    captured: Option<Digest>,
    owner: String,
}

#[derive(Debug, Default)]
struct RepoPlan {
    /// Manifest → push phase (lower first).
    manifests: BTreeMap<Digest, usize>,
    blobs: BTreeMap<Digest, u64>,
    /// Tag → (digest, who asked for it).
    tags: BTreeMap<String, (Digest, String)>,
    referrers: BTreeMap<Digest, RefGroup>,
    /// Manifest → the bundle entry it belongs to (for messages).
    owner: BTreeMap<Digest, String>,
    /// Blob → the bundle entry it belongs to (for messages).
    blob_owner: BTreeMap<Digest, String>,
    /// Blobs of a delta bundle held by its base: not in the bundle, the target must hold them.
    base_blobs: BTreeSet<Digest>,
}

/// A delta bundle's relation to its base, as push needs it.
#[derive(Debug, Default)]
struct DeltaState {
    /// sha256 of the base lock (for messages); `None` for a full bundle.
    base_lock: Option<Digest>,
    /// Blobs (manifests included) the lock marks as held by the base.
    held: BTreeSet<Digest>,
    /// Base-held manifests read from the target registry (digest checked).
    fetched: BTreeMap<Digest, Vec<u8>>,
    /// Base-held manifests the target does not serve.
    absent: BTreeSet<Digest>,
}

struct Planner<'a> {
    source: &'a dyn PushSource,
    delta: &'a DeltaState,
    /// Base-held manifests the plan needs that were not fetched yet: digest → (repo, owner).
    wanted: BTreeMap<Digest, (String, String)>,
    /// How many of `findings` are base-held manifests the target does not serve.
    base_absent: usize,
    manifests: BTreeMap<Digest, Manifest>,
    findings: Vec<Finding>,
    repos: BTreeMap<String, RepoPlan>,
    collisions: Vec<String>,
    planned: usize,
}

impl Planner<'_> {
    /// Read a manifest from the bundle (cached); a problem becomes a finding.
    fn load(
        &mut self,
        d: &Digest,
        declared: Option<&str>,
        owner: &str,
        repo: &str,
    ) -> Option<Manifest> {
        if let Some(m) = self.manifests.get(d) {
            return Some(m.clone());
        }
        let read = match self.delta.fetched.get(d) {
            Some(b) => Ok(b.clone()),
            None => self.source.read_blob(d, MAX_MANIFEST_BYTES as u64),
        };
        let bytes = match read {
            Ok(b) => b,
            Err(BlobReadError::Missing) if self.delta.held.contains(d) => {
                if self.delta.absent.contains(d) {
                    self.findings.push(Finding::error(
                        Code::BlobMissing,
                        format!("{owner}@{d}"),
                        format!(
                            "manifest {d} of {owner} is held by the base bundle (lock {}), but the target repository {repo} does not serve it; push the base release first. The image was not pushed",
                            self.delta.base_lock.as_ref().map(|b| b.to_string()).unwrap_or_default()
                        ),
                    ));
                    self.base_absent += 1;
                } else {
                    self.wanted
                        .entry(d.clone())
                        .or_insert_with(|| (repo.to_string(), owner.to_string()));
                }
                return None;
            }
            Err(e) => {
                let (code, what) = match e {
                    BlobReadError::Missing => {
                        (Code::BlobMissing, "is not in the bundle".to_string())
                    }
                    BlobReadError::DigestMismatch { actual } => (
                        Code::BlobDigestMismatch,
                        format!("hashes to {actual}: altered after capture"),
                    ),
                    BlobReadError::NotRegular(k) => {
                        (Code::LayoutInvalid, format!("is {k}, not a regular file"))
                    }
                    BlobReadError::TooLarge { size, limit } => (
                        Code::LimitExceeded,
                        format!("is {size} bytes, over the {limit}-byte manifest limit"),
                    ),
                    BlobReadError::Io(s) => (Code::BlobMissing, format!("is unreadable: {s}")),
                };
                self.findings.push(Finding::error(
                    code,
                    format!("{owner}@{d}"),
                    format!("manifest {d} of {owner} {what}; nothing was pushed"),
                ));
                return None;
            }
        };
        match Manifest::parse_expecting(bytes, declared, d) {
            Ok(m) => {
                self.manifests.insert(d.clone(), m.clone());
                Some(m)
            }
            Err(e) => {
                self.findings.push(Finding::error(
                    Code::ManifestInvalid,
                    format!("{owner}@{d}"),
                    format!("manifest {d} of {owner}: {e}; nothing was pushed"),
                ));
                None
            }
        }
    }

    /// Check a blob is in the bundle with its descriptor's size (content is re-hashed by the
    /// registry on upload).
    fn check_blob(&mut self, b: &Descriptor, owner: &str, manifest: &Digest) -> bool {
        let location = self.source.location();
        match self.source.stat_blob(&b.digest) {
            BlobStat::Size(len) if len == b.size => true,
            BlobStat::Size(len) => {
                self.findings.push(Finding::error(
                    Code::BlobDigestMismatch,
                    format!("{owner}@{manifest}"),
                    format!(
                        "blob {} of {manifest} is {} bytes in the bundle, its descriptor says {}; nothing was pushed",
                        b.digest,
                        len,
                        b.size
                    ),
                ));
                false
            }
            BlobStat::NotRegular(what) => {
                self.findings.push(Finding::error(
                    Code::LayoutInvalid,
                    format!("{owner}@{manifest}"),
                    format!(
                        "blob {} of {manifest} is not a regular file ({what}); nothing was pushed",
                        b.digest,
                    ),
                ));
                false
            }
            BlobStat::Missing if !b.urls.is_empty() => false, // foreign layer, served from its URLs
            BlobStat::Missing if self.delta.held.contains(&b.digest) => {
                // A delta bundle: the target must already hold it (checked before any upload).
                true
            }
            BlobStat::Missing => {
                self.findings.push(Finding::error(
                    Code::BlobMissing,
                    format!("{owner}@{manifest}"),
                    format!(
                        "blob {} ({}) of {manifest} is not in the bundle ({location}); nothing was pushed",
                        b.digest,
                        b.media_type,
                    ),
                ));
                false
            }
        }
    }

    /// Plan a manifest tree into `repo`. Returns the tree's height (0 for an image manifest).
    #[allow(clippy::too_many_arguments)]
    fn walk(
        &mut self,
        repo: &str,
        d: &Digest,
        declared: Option<&str>,
        owner: &str,
        group: usize,
        depth: usize,
        optional: &BTreeSet<Digest>,
    ) -> Result<Option<usize>, PushError> {
        if depth > MAX_PUSH_NESTING {
            self.findings.push(Finding::error(
                Code::LimitExceeded,
                format!("{owner}@{d}"),
                format!("indexes under {owner} nest deeper than {MAX_PUSH_NESTING} levels; nothing was pushed"),
            ));
            return Ok(None);
        }
        self.planned += 1;
        if self.planned > MAX_PUSH_MANIFESTS {
            return Err(PushError::Limit(format!(
                "the bundle names more than {MAX_PUSH_MANIFESTS} manifests; refusing to push it"
            )));
        }
        let Some(m) = self.load(d, declared, owner, repo) else {
            return Ok(None);
        };
        let mut height = 0;
        for c in m.child_descriptors().to_vec() {
            if optional.contains(&c.digest) && !self.source.has_blob(&c.digest) {
                self.findings.push(Finding::warning(
                    Code::PlatformMissing,
                    format!("{owner}@{d}"),
                    format!(
                        "platform {} ({}) was left out at capture (--platform); registries that check index children will refuse index {d}",
                        c.platform.as_ref().map(|p| p.to_string()).unwrap_or_default(),
                        c.digest
                    ),
                ));
                continue;
            }
            if let Some(h) = self.walk(
                repo,
                &c.digest,
                Some(&c.media_type),
                owner,
                group,
                depth + 1,
                optional,
            )? {
                height = height.max(h + 1);
            }
        }
        let mut blobs = Vec::new();
        for b in m.blob_descriptors() {
            if self.check_blob(b, owner, d) {
                blobs.push((b.digest.clone(), b.size));
            }
        }
        let plan = self.repos.entry(repo.to_string()).or_default();
        let phase = group + height;
        let e = plan.manifests.entry(d.clone()).or_insert(phase);
        *e = (*e).min(phase);
        plan.owner
            .entry(d.clone())
            .or_insert_with(|| owner.to_string());
        for (b, _) in &blobs {
            plan.blob_owner
                .entry(b.clone())
                .or_insert_with(|| owner.to_string());
            if self.delta.held.contains(b) && !self.source.has_blob(b) {
                plan.base_blobs.insert(b.clone());
            }
        }
        plan.blobs.extend(blobs);
        Ok(Some(height))
    }

    fn tag(&mut self, repo: &str, tag: &str, d: &Digest, who: &str, host: &str) {
        let plan = self.repos.entry(repo.to_string()).or_default();
        match plan.tags.get(tag) {
            Some((old, old_who)) if old != d => self.collisions.push(format!(
                "  {host}/{repo}:{tag} would get {old} from {old_who} and {d} from {who}"
            )),
            Some(_) => {}
            None => {
                plan.tags
                    .insert(tag.to_string(), (d.clone(), who.to_string()));
            }
        }
    }
}

/// Without `--platform`: an index captured with `--platform` lacks children, and registries
/// refuse an index whose children they do not have. Say so before anything is uploaded.
fn refuse_partial_indexes(
    p: &Planner<'_>,
    lock: Option<&Lock>,
    roots: &[RootImage],
) -> Result<(), PushError> {
    let Some(lock) = lock else { return Ok(()) };
    for root in roots {
        let Some(li) = lock.image(&root.name) else {
            continue;
        };
        if li.digest != root.desc.digest {
            continue;
        }
        let left_out: Vec<&str> = li
            .platforms
            .iter()
            .filter(|pl| {
                !pl.captured && !p.source.has_blob(&pl.digest) && !p.delta.held.contains(&pl.digest)
            })
            .map(|pl| pl.platform.as_str())
            .collect();
        if left_out.is_empty() {
            continue;
        }
        let kept: Vec<&str> = li
            .platforms
            .iter()
            .filter(|pl| pl.captured)
            .map(|pl| pl.platform.as_str())
            .collect();
        return Err(PushError::Bundle(format!(
            "{} is an image index captured with --platform: {} of its platforms are not in the bundle ({}), and a registry accepts an index only when it has every child, so the push would fail; nothing was pushed. Push one platform's manifest under the tag instead: airlock push ... --platform {}",
            root.name,
            left_out.len(),
            left_out.join(", "),
            kept.first().copied().unwrap_or("OS/ARCH")
        )));
    }
    Ok(())
}

/// `--platform`: replace each index root by its child for `want` (the tag then names that
/// child; the mapping records its digest). Image manifests stay as they are.
fn select_platform(
    p: &mut Planner<'_>,
    roots: &mut [RootImage],
    want: &str,
) -> Result<(), PushError> {
    let filter = [want.to_string()];
    for root in roots.iter_mut() {
        let Some(m) = p.load(
            &root.desc.digest,
            Some(&root.desc.media_type),
            &root.name.clone(),
            &root.repo.clone(),
        ) else {
            continue;
        };
        if !m.is_index() {
            continue;
        }
        let child = m
            .child_descriptors()
            .iter()
            .find(|c| crate::capture::platform_matches(&filter, c.platform.as_ref()))
            .cloned();
        let Some(child) = child else {
            let have: Vec<String> = m
                .child_descriptors()
                .iter()
                .filter_map(|c| c.platform.as_ref().map(|p| p.to_string()))
                .collect();
            return Err(PushError::Bundle(format!(
                "{}: the index has no {want} manifest (it lists {}); nothing was pushed",
                root.name,
                have.join(", ")
            )));
        };
        if !p.source.has_blob(&child.digest) && !p.delta.held.contains(&child.digest) {
            return Err(PushError::Bundle(format!(
                "{}: the {want} manifest {} was not captured into this bundle; nothing was pushed (push a platform the bundle holds)",
                root.name, child.digest
            )));
        }
        root.desc = child;
    }
    Ok(())
}

/// A source image of the bundle (an `index.json` entry that is not an attachment).
#[derive(Debug, Clone)]
struct RootImage {
    name: String,
    repository: String,
    repo: String,
    tag: Option<String>,
    desc: Descriptor,
}

fn plan<'a>(
    source: &'a dyn PushSource,
    delta: &'a DeltaState,
    lock: Option<&Lock>,
    target: &Target,
    only: Option<&BTreeSet<String>>,
    platform: Option<&str>,
) -> Result<(Planner<'a>, Vec<RootImage>), PushError> {
    let index = source.read_index()?;
    let location = source.location();
    let mut p = Planner {
        source,
        delta,
        wanted: BTreeMap::new(),
        base_absent: 0,
        manifests: BTreeMap::new(),
        findings: Vec::new(),
        repos: BTreeMap::new(),
        collisions: Vec::new(),
        planned: 0,
    };
    let host = target.host().to_string();
    let mut roots = Vec::new();
    let mut attachments = Vec::new();
    for e in index.child_descriptors() {
        let Some(name) = e.annotation(ANNOTATION_REF_NAME) else {
            return Err(PushError::Bundle(format!(
                "{location}: index.json entry {} has no {ANNOTATION_REF_NAME} annotation; push needs each entry named by its source reference (registry/repository:tag), as `airlock capture` writes them",
                e.digest
            )));
        };
        let is_attachment = tag_of_name(name)
            .as_deref()
            .and_then(parse_attachment_tag)
            .is_some();
        if is_attachment {
            attachments.push(e.clone());
            continue;
        }
        if only.is_some_and(|o| !o.contains(name)) {
            continue; // did not pass: not pushed, nor anything attached to it
        }
        let r = Reference::parse(name).map_err(|err| {
            PushError::Bundle(format!(
                "{location}: index.json entry {} is named {name:?}, which is not a source reference: {err}",
                e.digest
            ))
        })?;
        let repository = lock
            .and_then(|l| l.image(name))
            .map(|i| i.repository.clone())
            .unwrap_or_else(|| r.repository());
        roots.push(RootImage {
            name: name.to_string(),
            repo: target.repo_path(&repository)?,
            repository,
            tag: r.tag().map(str::to_string),
            desc: e.clone(),
        });
    }
    if roots.is_empty() && only.is_none() {
        return Err(PushError::Bundle(format!(
            "{location}: index.json names no image; nothing to push"
        )));
    }
    if let Some(want) = platform {
        select_platform(&mut p, &mut roots, want)?;
    } else {
        refuse_partial_indexes(&p, lock, &roots)?;
    }
    for root in &roots {
        let optional: BTreeSet<Digest> = lock
            .and_then(|l| l.image(&root.name))
            .map(|li| {
                li.platforms
                    .iter()
                    .filter(|pl| !pl.captured)
                    .map(|pl| pl.digest.clone())
                    .collect()
            })
            .unwrap_or_default();
        p.walk(
            &root.repo,
            &root.desc.digest,
            Some(&root.desc.media_type),
            &root.name,
            GROUP_IMAGE,
            0,
            &optional,
        )?;
        if let Some(t) = &root.tag {
            p.tag(&root.repo, t, &root.desc.digest, &root.name, &host);
        }
    }
    if only.is_some() {
        // Only what hangs off a passing image: attachments whose subject is in a passing
        // image's tree, or attached to such an attachment (signed SBOMs), to a fixed point.
        let mut reach: BTreeSet<Digest> = p.manifests.keys().cloned().collect();
        let mut keep: Vec<Descriptor> = Vec::new();
        let mut pending = std::mem::take(&mut attachments);
        loop {
            let before = keep.len();
            let mut still = Vec::new();
            for e in pending {
                let subject = e
                    .annotation(ANNOTATION_REF_NAME)
                    .and_then(tag_of_name)
                    .as_deref()
                    .and_then(parse_attachment_tag)
                    .map(|(s, _)| s);
                if subject.is_some_and(|s| reach.contains(&s)) {
                    reach.insert(e.digest.clone());
                    keep.push(e);
                } else {
                    still.push(e);
                }
            }
            pending = still;
            if keep.len() == before {
                break;
            }
        }
        attachments = keep;
    }
    for e in &attachments {
        let name = e
            .annotation(ANNOTATION_REF_NAME)
            .unwrap_or_default()
            .to_string();
        let (Some(repository), Some(tag)) = (repository_of_name(&name), tag_of_name(&name)) else {
            return Err(PushError::Bundle(format!(
                "{location}: index.json entry {name:?} is not registry/repository:tag"
            )));
        };
        let Some((subject, kind)) = parse_attachment_tag(&tag) else {
            continue;
        };
        let repo = target.repo_path(&repository)?;
        if kind == AttachmentKind::ReferrersIndex {
            // The captured referrers list: its children are the referrers (pushed as
            // attachments); the list itself is pushed in the referrers step.
            let Some(idx) = p.load(&e.digest, Some(&e.media_type), &name, &repo) else {
                continue;
            };
            let mut referrers = BTreeSet::new();
            for c in idx.child_descriptors().to_vec() {
                if p.walk(
                    &repo,
                    &c.digest,
                    Some(&c.media_type),
                    &name,
                    GROUP_ATTACHMENT,
                    1,
                    &BTreeSet::new(),
                )?
                .is_some()
                {
                    referrers.insert(c.digest.clone());
                }
            }
            let plan = p.repos.entry(repo.clone()).or_default();
            plan.owner
                .entry(e.digest.clone())
                .or_insert_with(|| name.clone());
            let g = plan.referrers.entry(subject).or_default();
            g.referrers.extend(referrers);
            g.captured = Some(e.digest.clone());
            g.owner = name.clone();
            continue;
        }
        p.walk(
            &repo,
            &e.digest,
            Some(&e.media_type),
            &name,
            GROUP_ATTACHMENT,
            0,
            &BTreeSet::new(),
        )?;
        p.tag(&repo, &tag, &e.digest, &name, &host);
    }
    // Referrers the lock lists that no captured list named.
    if let Some(lock) = lock {
        for li in &lock.images {
            let Some(root) = roots.iter().find(|r| r.name == li.r#ref) else {
                continue;
            };
            for a in &li.attachments {
                if a.kind != AttachmentKind::Referrer {
                    continue;
                }
                let owner = format!("{} (referrer of {})", root.name, a.subject);
                if p.walk(
                    &root.repo,
                    &a.digest,
                    None,
                    &owner,
                    GROUP_ATTACHMENT,
                    1,
                    &BTreeSet::new(),
                )?
                .is_some()
                {
                    let plan = p.repos.entry(root.repo.clone()).or_default();
                    let g = plan.referrers.entry(a.subject.clone()).or_default();
                    g.referrers.insert(a.digest.clone());
                    if g.owner.is_empty() {
                        g.owner = owner;
                    }
                }
            }
        }
    }
    // Referrers' subjects, when they are not in the captured list's tag (referrers API sources).
    let repo_names: Vec<String> = p.repos.keys().cloned().collect();
    for repo in repo_names {
        let ds: Vec<Digest> = p.repos[&repo].manifests.keys().cloned().collect();
        for d in ds {
            let Some(subject) = p
                .manifests
                .get(&d)
                .and_then(|m| m.subject())
                .map(|s| s.digest.clone())
            else {
                continue;
            };
            let plan = p.repos.entry(repo.clone()).or_default();
            let owner = plan.owner.get(&d).cloned().unwrap_or_default();
            let g = plan.referrers.entry(subject).or_default();
            g.referrers.insert(d.clone());
            if g.owner.is_empty() {
                g.owner = owner;
            }
        }
    }
    if !p.collisions.is_empty() {
        let mut c = std::mem::take(&mut p.collisions);
        c.sort();
        c.dedup();
        return Err(PushError::Collision(c));
    }
    Ok((p, roots))
}

// -------------------------------------------------------------------------------------------
// Network
// -------------------------------------------------------------------------------------------

enum BlobResult {
    Present,
    Mounted,
    Uploaded(u64),
    /// The registry refused the upload and the local copy does not hash to its name.
    Corrupt(Finding),
}

#[allow(clippy::too_many_arguments)]
async fn ensure_blob(
    client: &Client,
    source: &dyn PushSource,
    host: &str,
    repo: &str,
    d: &Digest,
    size: u64,
    mount_from: Option<&str>,
    owner: &str,
    watch: Option<Arc<BlobBytes>>,
) -> Result<BlobResult, RegistryError> {
    if client.blob_exists(host, repo, d, true).await? {
        return Ok(BlobResult::Present);
    }
    if let Some(from) = mount_from {
        if from != repo && client.mount_blob(host, repo, from, d).await? {
            return Ok(BlobResult::Mounted);
        }
    }
    let body = match source.upload_body(d, size) {
        Ok(b) => b,
        Err(e) => {
            return Ok(BlobResult::Corrupt(Finding::error(
                Code::BlobMissing,
                owner.to_string(),
                format!(
                    "blob {d} is not at {host}/{repo} and cannot be uploaded from {}: {e}",
                    source.location()
                ),
            )))
        }
    };
    // A file body reports its progress piece by piece when the plan watches this blob.
    let body = match (body, watch) {
        (Body::File { path, len }, Some(w)) => Body::WatchedFile {
            path,
            len,
            on_sent: crate::registry::OnSent(Arc::new(move |n| w.sent(n))),
        },
        (b, _) => b,
    };
    match client.upload_blob(host, repo, d, body).await {
        Ok(()) => Ok(BlobResult::Uploaded(size)),
        Err(RegistryError::Status { url, status, body }) if status == 400 => {
            match source.check_blob(d, Some(size)) {
                layout::BlobState::Ok => Err(RegistryError::Status { url, status, body }),
                state => Ok(BlobResult::Corrupt(Finding::error(
                    Code::BlobDigestMismatch,
                    owner.to_string(),
                    format!(
                        "blob {d} in the bundle is damaged ({state:?}); the registry refused it ({url}: HTTP 400)"
                    ),
                ))),
            }
        }
        Err(e) => Err(e),
    }
}

/// Result of putting one manifest (and its tags).
#[derive(Default)]
struct PutOne {
    pushed: usize,
    present: usize,
    /// Some(answered OCI-Subject) when a manifest with `subject` was actually PUT.
    oci_subject: Option<bool>,
    replaced: Vec<(String, String)>,
}

async fn put_manifest_tags(
    client: &Client,
    host: &str,
    repo: &str,
    m: &Manifest,
    tags: &[String],
) -> Result<PutOne, RegistryError> {
    let mut out = PutOne::default();
    let digest = m.digest().to_string();
    let references: Vec<String> = if tags.is_empty() {
        vec![digest.clone()]
    } else {
        tags.to_vec()
    };
    for reference in references {
        match client.head_manifest(host, repo, &reference).await? {
            Some(Some(served)) if served == digest => {
                out.present += 1;
                continue;
            }
            Some(None) if reference == digest => {
                out.present += 1;
                continue;
            }
            Some(Some(other)) => out.replaced.push((reference.clone(), other)),
            _ => {}
        }
        let r = client
            .put_manifest(host, repo, &reference, m.media_type(), m.raw().to_vec())
            .await?;
        out.pushed += 1;
        if m.subject().is_some() {
            out.oci_subject = Some(out.oci_subject.unwrap_or(false) || r.oci_subject.is_some());
        }
    }
    Ok(out)
}

/// The descriptor a referrers list holds for a referrer manifest.
fn referrer_descriptor(m: &Manifest) -> serde_json::Value {
    let mut d = serde_json::Map::new();
    d.insert("mediaType".into(), m.media_type().into());
    d.insert("digest".into(), m.digest().to_string().into());
    d.insert("size".into(), m.size().into());
    if let Some(at) = m.artifact_type() {
        d.insert("artifactType".into(), at.into());
    }
    if !m.annotations().is_empty() {
        let ann: serde_json::Map<String, serde_json::Value> = m
            .annotations()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect();
        d.insert("annotations".into(), ann.into());
    }
    serde_json::Value::Object(d)
}

/// Digests listed in an index document (any `manifests[].digest` that parses).
fn listed_digests(v: &serde_json::Value) -> BTreeSet<Digest> {
    v.get("manifests")
        .and_then(|m| m.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|d| d.get("digest").and_then(|x| x.as_str()))
                .filter_map(|s| Digest::parse(s).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Push a bundle directory to `target`. Writes `DIR/airlock.mapping.json` when the push went
/// through (also when read-back found problems: it records what was pushed).
pub async fn push(
    client: &Client,
    dir: &Path,
    target: &Target,
    opts: &PushOptions,
    progress: Arc<dyn PushProgress>,
) -> Result<PushOutcome, PushError> {
    let layout = Layout::open(dir)?;
    let lock_path = dir.join(layout::LOCK_FILE);
    let lock = match std::fs::read(&lock_path) {
        Ok(b) => Some(
            Lock::parse(&b)
                .map_err(|e| PushError::Bundle(format!("{}: {e}", lock_path.display())))?,
        ),
        Err(_) => None,
    };
    let mapping_path = opts
        .mapping_path
        .clone()
        .unwrap_or_else(|| dir.join(layout::MAPPING_FILE));
    push_source(
        client,
        &layout,
        lock.as_ref(),
        target,
        opts,
        &mapping_path,
        progress,
    )
    .await
}

/// Plan the push; for a delta bundle, read the base-held manifests the plan needs from the
/// target (digest checked), round by round as index trees are walked down.
async fn plan_with_base<'a>(
    client: &Client,
    source: &'a dyn PushSource,
    delta: &'a mut DeltaState,
    lock: Option<&Lock>,
    target: &Target,
    opts: &PushOptions,
) -> Result<(), PushError> {
    let host = target.host().to_string();
    for _ in 0..=MAX_PUSH_NESTING + 1 {
        let wanted = {
            let (planner, _) = plan(
                source,
                delta,
                lock,
                target,
                opts.only.as_ref(),
                opts.platform.as_deref(),
            )?;
            planner.wanted
        };
        if wanted.is_empty() {
            return Ok(());
        }
        for (d, (repo, _owner)) in wanted {
            match client.get_manifest(&host, &repo, &d.to_string()).await? {
                Some(f) if d.matches(&f.bytes) && f.bytes.len() <= MAX_MANIFEST_BYTES => {
                    delta.fetched.insert(d, f.bytes);
                }
                _ => {
                    delta.absent.insert(d);
                }
            }
        }
    }
    Ok(())
}

/// A delta bundle's base-held blobs must be at the target: in the repository that needs them,
/// or in another repository of this push (then mounted). Checked before anything is written;
/// returns the mounts to make, or findings (`blob-missing`) when some are nowhere.
async fn check_base_blobs(
    client: &Client,
    host: &str,
    repos: &BTreeMap<String, RepoPlan>,
    delta: &DeltaState,
    jobs: usize,
) -> Result<
    (
        Vec<(Digest, u64, String, String)>,
        Vec<(String, Digest, Finding)>,
    ),
    RegistryError,
> {
    let mut wanted: Vec<(String, Digest, u64)> = Vec::new();
    for (repo, plan) in repos {
        for d in &plan.base_blobs {
            let size = plan.blobs.get(d).copied().unwrap_or_default();
            wanted.push((repo.clone(), d.clone(), size));
        }
    }
    let mut present: BTreeSet<(String, Digest)> = BTreeSet::new();
    {
        let mut s = stream::iter(wanted.iter().map(|(repo, d, _)| async move {
            client
                .blob_exists(host, repo, d, true)
                .await
                .map(|ok| (repo.clone(), d.clone(), ok))
        }))
        .buffer_unordered(jobs.max(1));
        while let Some(r) = s.next().await {
            let (repo, d, ok) = r?;
            if ok {
                present.insert((repo, d));
            }
        }
    }
    let mut mounts = Vec::new();
    let mut findings = Vec::new();
    for (repo, d, size) in &wanted {
        if present.contains(&(repo.clone(), d.clone())) {
            continue;
        }
        let from = present
            .iter()
            .find(|(r, pd)| pd == d && r != repo)
            .map(|(r, _)| r.clone());
        match from {
            Some(from) => mounts.push((d.clone(), *size, repo.clone(), from)),
            None => {
                let owner = repos
                    .get(repo)
                    .and_then(|p| p.blob_owner.get(d))
                    .cloned()
                    .unwrap_or_else(|| format!("{host}/{repo}"));
                let mut f = Finding::error(
                    Code::BlobMissing,
                    format!("{owner}@{d}"),
                    format!(
                        "blob {d} ({size} bytes) of {owner} is held by the base bundle (lock {}), not by this delta, and the target does not have it: not in {host}/{repo} nor in any other repository of this push; push the base release into {host} first. The image was not pushed",
                        delta.base_lock.as_ref().map(|b| b.to_string()).unwrap_or_default()
                    ),
                );
                f.hint = "a delta bundle is pushed on top of its base: push the release it was captured against (`capture --base`) into this registry first, or push a full bundle".into();
                findings.push((repo.clone(), d.clone(), f));
            }
        }
    }
    Ok((mounts, findings))
}

/// A delta bundle: the images whose base content the target lacks are withheld (with their
/// `blob-missing` findings); the others go. `None` when nothing is missing.
async fn withhold_incomplete(
    client: &Client,
    source: &dyn PushSource,
    delta: &DeltaState,
    lock: Option<&Lock>,
    target: &Target,
    opts: &PushOptions,
) -> Result<Option<(BTreeSet<String>, Vec<Finding>)>, PushError> {
    let host = target.host().to_string();
    let platform = opts.platform.as_deref();
    let (p, roots) = plan(source, delta, lock, target, opts.only.as_ref(), platform)?;
    if p.findings.iter().filter(|f| f.is_error()).count() > p.base_absent {
        return Ok(None); // the bundle itself is damaged: the whole push is refused as usual
    }
    let (_, missing) = check_base_blobs(client, &host, &p.repos, delta, opts.jobs).await?;
    if p.base_absent == 0 && missing.is_empty() {
        return Ok(None);
    }
    let mut keep = BTreeSet::new();
    let mut withheld: Vec<Finding> = Vec::new();
    for r in &roots {
        let one: BTreeSet<String> = std::iter::once(r.name.clone()).collect();
        let (pr, _) = plan(source, delta, lock, target, Some(&one), platform)?;
        let mut mine: Vec<Finding> = pr
            .findings
            .iter()
            .filter(|f| f.is_error())
            .cloned()
            .collect();
        for (repo, d, f) in &missing {
            if pr
                .repos
                .get(repo)
                .is_some_and(|rp| rp.base_blobs.contains(d))
            {
                mine.push(f.clone());
            }
        }
        if mine.is_empty() {
            keep.insert(r.name.clone());
        } else {
            for f in mine {
                if !withheld.contains(&f) {
                    withheld.push(f);
                }
            }
        }
    }
    Ok(Some((keep, withheld)))
}

/// Push a bundle (a directory or an archive) to `target` and write the mapping to
/// `mapping_path` when the push went through. For a delta bundle, an image whose base content
/// the target lacks is not pushed (`blob-missing`); the others are.
pub async fn push_source(
    client: &Client,
    source: &dyn PushSource,
    lock: Option<&Lock>,
    target: &Target,
    opts: &PushOptions,
    mapping_path: &Path,
    progress: Arc<dyn PushProgress>,
) -> Result<PushOutcome, PushError> {
    let start_requests = client.request_count();
    let mut delta = DeltaState::default();
    if let Some(l) = lock {
        if let Some(b) = &l.base {
            delta.base_lock = Some(b.sha256.clone());
            delta.held = l
                .blobs
                .iter()
                .filter(|b| b.base)
                .map(|b| b.digest.clone())
                .collect();
        }
    }
    progress.phase("planning");
    if delta.base_lock.is_none() {
        return push_planned(
            client,
            source,
            &delta,
            lock,
            target,
            opts,
            mapping_path,
            progress,
        )
        .await;
    }
    plan_with_base(client, source, &mut delta, lock, target, opts).await?;
    match withhold_incomplete(client, source, &delta, lock, target, opts).await? {
        None => {
            push_planned(
                client,
                source,
                &delta,
                lock,
                target,
                opts,
                mapping_path,
                progress,
            )
            .await
        }
        Some((keep, withheld)) if keep.is_empty() => Ok(PushOutcome {
            findings: withheld,
            requests: client.request_count() - start_requests,
            ..Default::default()
        }),
        Some((keep, withheld)) => {
            let mut o = opts.clone();
            o.only = Some(keep);
            let mut out = push_planned(
                client,
                source,
                &delta,
                lock,
                target,
                &o,
                mapping_path,
                progress,
            )
            .await?;
            out.findings.extend(withheld);
            out.requests = client.request_count() - start_requests;
            Ok(out)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn push_planned(
    client: &Client,
    source: &dyn PushSource,
    delta: &DeltaState,
    lock: Option<&Lock>,
    target: &Target,
    opts: &PushOptions,
    mapping_path: &Path,
    progress: Arc<dyn PushProgress>,
) -> Result<PushOutcome, PushError> {
    let start_requests = client.request_count();
    let (planner, roots) = plan(
        source,
        delta,
        lock,
        target,
        opts.only.as_ref(),
        opts.platform.as_deref(),
    )?;
    let Planner {
        manifests,
        mut findings,
        repos,
        wanted,
        ..
    } = planner;
    for (d, (repo, owner)) in wanted {
        findings.push(Finding::error(
            Code::BlobMissing,
            format!("{owner}@{d}"),
            format!("manifest {d} of {owner} is held by the base bundle and could not be read from the target repository {repo}; nothing was pushed"),
        ));
    }
    let mut out = PushOutcome {
        findings,
        images: roots.len(),
        repositories: repos.len(),
        ..Default::default()
    };
    if out.failed() {
        out.requests = client.request_count() - start_requests;
        return Ok(out);
    }
    let host = target.host().to_string();
    let jobs = opts.jobs.max(1);

    // 0. A delta bundle: every base-held blob must already be at the target.
    let mut base_mounts = Vec::new();
    if delta.base_lock.is_some() {
        progress.phase("base");
        let (mounts, missing) = check_base_blobs(client, &host, &repos, delta, jobs).await?;
        if !missing.is_empty() {
            out.findings.extend(missing.into_iter().map(|(_, _, f)| f));
            out.requests = client.request_count() - start_requests;
            return Ok(out);
        }
        base_mounts = mounts;
    }

    // 1. Blobs: each first to one repository, then mounted into the others.
    progress.phase("blobs");
    let mut per_blob: BTreeMap<Digest, (u64, Vec<String>)> = BTreeMap::new();
    for (repo, plan) in &repos {
        for (d, size) in &plan.blobs {
            if manifests.contains_key(d) {
                continue; // a manifest referenced as a blob (rare); pushed as a manifest
            }
            if plan.base_blobs.contains(d) {
                continue; // held by the target already (or mounted below)
            }
            per_blob
                .entry(d.clone())
                .or_insert_with(|| (*size, Vec::new()))
                .1
                .push(repo.clone());
        }
    }
    progress.blobs_planned(per_blob.len(), per_blob.values().map(|(s, _)| *s).sum());
    let owner_of_blob = |d: &Digest, repo: &str| -> String {
        repos
            .get(repo)
            .and_then(|p| p.blob_owner.get(d))
            .cloned()
            .unwrap_or_else(|| format!("{host}/{repo}"))
    };
    let mut first: Vec<(Digest, u64, String)> = per_blob
        .iter()
        .map(|(d, (s, rs))| (d.clone(), *s, rs[0].clone()))
        .collect();
    // Largest first: the longest transfer starts at once instead of in a late wave.
    first.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let rest: Vec<(Digest, u64, String, String)> = per_blob
        .iter()
        .flat_map(|(d, (s, rs))| {
            rs.iter()
                .skip(1)
                .map(move |r| (d.clone(), *s, r.clone(), rs[0].clone()))
        })
        .collect();
    for round in [
        first
            .into_iter()
            .map(|(d, s, r)| (d, s, r, None))
            .collect::<Vec<_>>(),
        rest.into_iter()
            .chain(std::mem::take(&mut base_mounts))
            .map(|(d, s, r, from)| (d, s, r, Some(from)))
            .collect(),
    ] {
        let host = &host;
        let owner_of_blob = &owner_of_blob;
        let mut s = stream::iter(round.into_iter().map(|(d, size, repo, from)| {
            let progress = progress.clone();
            async move {
                let owner = owner_of_blob(&d, &repo);
                // Only the first round's blobs are in the plan; the mounts after it are not.
                let watch = from.is_none().then(|| {
                    Arc::new(BlobBytes {
                        size,
                        reported: AtomicU64::new(0),
                        progress: progress.clone(),
                    })
                });
                let r = ensure_blob(
                    client,
                    source,
                    host,
                    &repo,
                    &d,
                    size,
                    from.as_deref(),
                    &owner,
                    watch.clone(),
                )
                .await;
                if let Some(w) = watch {
                    w.sent(size);
                    progress.blob_done(size);
                }
                r
            }
        }))
        .buffer_unordered(jobs);
        let mut first_err = None;
        while let Some(r) = s.next().await {
            match r {
                Ok(BlobResult::Present) => out.blobs_present += 1,
                Ok(BlobResult::Mounted) => out.blobs_mounted += 1,
                Ok(BlobResult::Uploaded(n)) => {
                    out.blobs_uploaded += 1;
                    out.bytes_uploaded += n;
                }
                Ok(BlobResult::Corrupt(f)) => out.findings.push(f),
                Err(e) => {
                    // Stop at the first transport failure; complete uploads stay for the re-run.
                    first_err = Some(e);
                    break;
                }
            }
        }
        drop(s);
        if let Some(e) = first_err {
            return Err(e.into());
        }
    }
    if out.failed() {
        out.requests = client.request_count() - start_requests;
        return Ok(out);
    }

    // 2. Manifests, phase by phase (children before the indexes that list them, images before
    //    attachments).
    progress.phase("manifests");
    let mut phases: BTreeMap<usize, Vec<(String, Digest)>> = BTreeMap::new();
    for (repo, plan) in &repos {
        for (d, ph) in &plan.manifests {
            phases
                .entry(*ph)
                .or_default()
                .push((repo.clone(), d.clone()));
        }
    }
    // (repo, subject) → whether the registry answered OCI-Subject for a referrer PUT.
    let mut subject_support: BTreeMap<(String, Digest), bool> = BTreeMap::new();
    let mut replaced: Vec<Finding> = Vec::new();
    for (_, items) in phases {
        let repos = &repos;
        let manifests = &manifests;
        let host = &host;
        let mut s = stream::iter(items.into_iter().filter_map(|(repo, d)| {
            let m = manifests.get(&d)?.clone();
            let tags: Vec<String> = repos
                .get(&repo)
                .map(|p| {
                    p.tags
                        .iter()
                        .filter(|(_, (td, _))| td == &d)
                        .map(|(t, _)| t.clone())
                        .collect()
                })
                .unwrap_or_default();
            let progress = progress.clone();
            Some(async move {
                let r = put_manifest_tags(client, host, &repo, &m, &tags).await;
                progress.manifest_done();
                r.map(|p| (repo, m, p))
            })
        }))
        .buffer_unordered(jobs);
        let mut first_err = None;
        while let Some(r) = s.next().await {
            match r {
                Ok((repo, m, p)) => {
                    out.manifests_pushed += p.pushed;
                    out.manifests_present += p.present;
                    if let (Some(sup), Some(subj)) = (p.oci_subject, m.subject()) {
                        let e = subject_support
                            .entry((repo.clone(), subj.digest.clone()))
                            .or_insert(sup);
                        *e = *e && sup;
                    }
                    let owner = repos
                        .get(&repo)
                        .and_then(|pl| pl.owner.get(m.digest()))
                        .cloned()
                        .unwrap_or_default();
                    for (tag, old) in p.replaced {
                        // Replacing an image tag is what mirroring does; replacing an attachment
                        // tag drops whatever the registry's copy held, which is worth a warning.
                        let code = match parse_attachment_tag(&tag).map(|(_, k)| k) {
                            Some(AttachmentKind::Sig) => Code::SignatureMissing,
                            Some(AttachmentKind::Att) => Code::AttestationMissing,
                            Some(AttachmentKind::Sbom) => Code::SbomMissing,
                            _ => continue,
                        };
                        let warning = Finding::warning(
                            code,
                            format!("{owner}@{}", m.digest()),
                            format!(
                                "{host}/{repo}:{tag} pointed at {old}; it now points at {} (the bundle's), so whatever only the registry's copy held is no longer reachable by that tag",
                                m.digest()
                            ),
                        );
                        replaced.push(warning.clone());
                        out.replaced_tags.push(ReplacedTag {
                            repo: repo.clone(),
                            tag,
                            previous: old,
                            now: m.digest().clone(),
                            warning,
                        });
                    }
                }
                Err(e) => {
                    first_err = Some(e);
                    break;
                }
            }
        }
        drop(s);
        if let Some(e) = first_err {
            return Err(e.into());
        }
    }
    out.findings.extend(replaced);

    // 3. Referrers lists: the captured list byte-exact where possible, else merged.
    progress.phase("referrers");
    let mut listing_checks: Vec<(String, Digest, BTreeSet<Digest>, String, bool)> = Vec::new();
    for (repo, plan) in &repos {
        for (subject, g) in &plan.referrers {
            let supported = match subject_support.get(&(repo.clone(), subject.clone())) {
                Some(s) => *s,
                None => client.get_referrers(&host, repo, subject).await?.is_some(),
            };
            let mut captured_put = false;
            if !supported {
                let tag = referrers_tag(subject);
                let existing = client.get_manifest(&host, repo, &tag).await?;
                match existing {
                    None => {
                        let captured = g.captured.as_ref().and_then(|c| manifests.get(c));
                        let usable = captured.filter(|c| {
                            let listed: BTreeSet<Digest> = c
                                .child_descriptors()
                                .iter()
                                .map(|x| x.digest.clone())
                                .collect();
                            g.referrers.is_subset(&listed)
                                && listed.iter().all(|x| plan.manifests.contains_key(x))
                        });
                        let (bytes, mt) = match usable {
                            Some(c) => {
                                captured_put = true;
                                (c.raw().to_vec(), c.media_type().to_string())
                            }
                            None => {
                                let descs: Vec<serde_json::Value> = g
                                    .referrers
                                    .iter()
                                    .filter_map(|d| manifests.get(d))
                                    .map(referrer_descriptor)
                                    .collect();
                                let doc = serde_json::json!({
                                    "schemaVersion": 2,
                                    "mediaType": MEDIA_OCI_INDEX,
                                    "manifests": descs,
                                });
                                (
                                    serde_json::to_vec(&doc).unwrap_or_default(),
                                    MEDIA_OCI_INDEX.to_string(),
                                )
                            }
                        };
                        client.put_manifest(&host, repo, &tag, &mt, bytes).await?;
                        out.referrer_tags_updated += 1;
                        out.manifests_pushed += 1;
                    }
                    Some(f) => {
                        let reference = format!("{host}/{repo}:{tag}");
                        let mut doc: serde_json::Value =
                            serde_json::from_slice(&f.bytes).map_err(|e| {
                                PushError::NotAnIndex {
                                    what: "referrers tag",
                                    reference: reference.clone(),
                                    detail: format!("not JSON: {e}"),
                                }
                            })?;
                        let is_index = Manifest::parse(f.bytes.clone(), Some(MEDIA_OCI_INDEX))
                            .map(|m| m.is_index())
                            .unwrap_or(false);
                        if !is_index {
                            return Err(PushError::NotAnIndex {
                                what: "referrers tag",
                                reference,
                                detail: "not an image index".into(),
                            });
                        }
                        let have = listed_digests(&doc);
                        if g.captured.as_ref().is_some_and(|c| c.matches(&f.bytes)) {
                            captured_put = true;
                        }
                        let missing: Vec<&Digest> =
                            g.referrers.iter().filter(|d| !have.contains(*d)).collect();
                        if !missing.is_empty() {
                            if have.len() + missing.len() > MAX_INDEX_ENTRIES {
                                return Err(PushError::Limit(format!(
                                    "{reference} would list {} referrers, over the limit of {MAX_INDEX_ENTRIES}",
                                    have.len() + missing.len()
                                )));
                            }
                            if let Some(list) =
                                doc.get_mut("manifests").and_then(|m| m.as_array_mut())
                            {
                                for d in missing {
                                    if let Some(m) = manifests.get(d) {
                                        list.push(referrer_descriptor(m));
                                    }
                                }
                            }
                            let bytes = serde_json::to_vec(&doc).unwrap_or_default();
                            client
                                .put_manifest(&host, repo, &tag, MEDIA_OCI_INDEX, bytes)
                                .await?;
                            out.referrer_tags_updated += 1;
                            out.manifests_pushed += 1;
                        } else {
                            out.manifests_present += 1;
                        }
                    }
                }
            }
            if let Some(c) = g.captured.as_ref().and_then(|c| manifests.get(c)) {
                if !captured_put {
                    let p = put_manifest_tags(client, &host, repo, c, &[]).await?;
                    out.manifests_pushed += p.pushed;
                    out.manifests_present += p.present;
                }
            }
            listing_checks.push((
                repo.clone(),
                subject.clone(),
                g.referrers.clone(),
                g.owner.clone(),
                supported,
            ));
        }
    }

    // 4. Read-back: every manifest by digest and by tag, every referrers list, every blob.
    progress.phase("read-back");
    enum Check {
        Manifest {
            repo: String,
            reference: String,
            expected: Digest,
            owner: String,
        },
        Blob {
            repo: String,
            digest: Digest,
            size: u64,
            owner: String,
        },
    }
    let mut checks = Vec::new();
    for (repo, plan) in &repos {
        for d in plan.manifests.keys() {
            checks.push(Check::Manifest {
                repo: repo.clone(),
                reference: d.to_string(),
                expected: d.clone(),
                owner: plan.owner.get(d).cloned().unwrap_or_default(),
            });
        }
        for g in plan.referrers.values() {
            if let Some(c) = &g.captured {
                checks.push(Check::Manifest {
                    repo: repo.clone(),
                    reference: c.to_string(),
                    expected: c.clone(),
                    owner: g.owner.clone(),
                });
            }
        }
        for (tag, (d, who)) in &plan.tags {
            checks.push(Check::Manifest {
                repo: repo.clone(),
                reference: tag.clone(),
                expected: d.clone(),
                owner: who.clone(),
            });
        }
        for (d, size) in &plan.blobs {
            if manifests.contains_key(d) {
                continue;
            }
            checks.push(Check::Blob {
                repo: repo.clone(),
                digest: d.clone(),
                size: *size,
                owner: owner_of_blob(d, repo),
            });
        }
    }
    {
        let host = &host;
        let mut s = stream::iter(checks.into_iter().map(|c| async move {
            match c {
                Check::Manifest {
                    repo,
                    reference,
                    expected,
                    owner,
                } => {
                    let f = client.get_manifest(host, &repo, &reference).await?;
                    let sep = if reference.contains(':') { "@" } else { ":" };
                    let at = format!("{host}/{repo}{sep}{reference}");
                    let finding = match f {
                        None => Some(Finding::error(
                            Code::BlobMissing,
                            format!("{owner}@{expected}"),
                            format!("pushed {expected} to {at}, but the registry answers 404 there when read back"),
                        )),
                        Some(f) => {
                            let served = crate::oci::Digest::of(expected.algorithm(), &f.bytes);
                            (served != expected).then(|| {
                                Finding::error(
                                    Code::RegistryRewrite,
                                    format!("{owner}@{expected}"),
                                    format!(
                                        "{owner}: pushed {expected} to {at}, but the registry serves {served} ({} bytes, {}) there: it re-wrote the manifest, so pulls pinned to {expected} will not get these bytes",
                                        f.bytes.len(),
                                        f.content_type.as_deref().unwrap_or("no content type")
                                    ),
                                )
                            })
                        }
                    };
                    Ok::<_, RegistryError>((true, finding))
                }
                Check::Blob {
                    repo,
                    digest,
                    size,
                    owner,
                } => {
                    let h = client.head_blob(host, &repo, &digest).await?;
                    let finding = match h {
                        None => Some(Finding::error(
                            Code::BlobMissing,
                            format!("{owner}@{digest}"),
                            format!("blob {digest} of {owner} is missing at {host}/{repo} when read back (HEAD 404)"),
                        )),
                        Some(Some(len)) if len != size => Some(Finding::error(
                            Code::BlobDigestMismatch,
                            format!("{owner}@{digest}"),
                            format!("blob {digest} of {owner} is {len} bytes at {host}/{repo}, its descriptor says {size}"),
                        )),
                        Some(_) => None,
                    };
                    Ok((false, finding))
                }
            }
        }))
        .buffer_unordered(jobs);
        while let Some(r) = s.next().await {
            let (is_manifest, finding) = r?;
            if is_manifest {
                out.manifests_read_back += 1;
            } else {
                out.blobs_read_back += 1;
            }
            out.findings.extend(finding);
        }
    }
    for (repo, subject, referrers, owner, supported) in listing_checks {
        if referrers.is_empty() {
            continue;
        }
        let listing = if supported {
            client.get_referrers(&host, &repo, &subject).await?
        } else {
            client
                .get_manifest(&host, &repo, &referrers_tag(&subject))
                .await?
        };
        let listed = listing
            .and_then(|f| serde_json::from_slice::<serde_json::Value>(&f.bytes).ok())
            .map(|v| listed_digests(&v))
            .unwrap_or_default();
        for d in referrers.difference(&listed) {
            out.findings.push(Finding::error(
                Code::BlobMissing,
                format!("{owner}@{d}"),
                format!(
                    "referrer {d} of {subject} was pushed to {host}/{repo} but the registry's referrers list ({}) does not name it",
                    if supported { "referrers API".to_string() } else { format!("tag {}", referrers_tag(&subject)) }
                ),
            ));
        }
    }

    // 5. The mapping.
    let mut mapping = Mapping {
        schema: MAPPING_SCHEMA.into(),
        registry: target.display(),
        created: opts.created.clone(),
        images: Vec::new(),
    };
    for r in &roots {
        let target_repository = format!("{host}/{}", r.repo);
        mapping.images.push(MappedImage {
            source: r.name.clone(),
            source_repository: r.repository.clone(),
            digest: r.desc.digest.clone(),
            target: format!("{target_repository}@{}", r.desc.digest),
            target_repository,
            tag: r.tag.clone(),
            verdict: Some(opts.verdict),
            report: opts.report_digest.clone(),
        });
    }
    layout::write_atomic(mapping_path, &mapping.to_json())?;
    out.mapping = Some(mapping);
    out.requests = client.request_count() - start_requests;
    Ok(out)
}

// -------------------------------------------------------------------------------------------
// Gate attestation (`push --attest-key`)
// -------------------------------------------------------------------------------------------

/// Media type of the config of a cosign `.att` manifest.
pub const MEDIA_OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// The layer annotation in which cosign names a statement's predicate type.
pub const ANNOTATION_PREDICATE_TYPE: &str = "predicateType";
/// The time go-containerregistry writes into the config and history of cosign's manifests.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";
/// Largest existing layer read to recognise an earlier gate attestation (they are about 1 KiB).
pub const MAX_GATE_LAYER_BYTES: u64 = 64 * 1024;

/// The policy the gate verified with (`predicate.policy`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatePolicy {
    pub uri: String,
    pub digest: Digest,
}

/// Settings for [`attest`].
#[derive(Debug)]
pub struct AttestOptions<'a> {
    /// The gate's key (loaded before anything was pushed).
    pub key: &'a SigningKey,
    /// RFC 3339 `predicate.timeVerified`.
    pub time_verified: String,
    /// `predicate.policy`, when the gate verified the bundle against a policy.
    pub policy: Option<GatePolicy>,
    /// Images attested in parallel.
    pub jobs: usize,
}

/// The gate attestation of one pushed image, as it is now at the target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GateAttestation {
    /// `HOST/repo@digest`: the attested image.
    pub target: String,
    /// `HOST/repo:sha256-<hex>.att`.
    pub tag: String,
    /// The `.att` manifest now under the tag.
    pub manifest: Digest,
    /// The gate's layer (its DSSE envelope blob).
    pub layer: Digest,
    /// Layers that were under the tag before and were kept as they are (upstream attestations).
    pub kept_layers: usize,
    /// The tag already held an equivalent gate attestation (same key, subject, resource and
    /// policy, PASSED), so nothing was written.
    pub already_present: bool,
}

/// What [`attest`] did.
#[derive(Debug, Default)]
pub struct AttestOutcome {
    /// One per pushed image (target repository and digest), sorted by target.
    pub attestations: Vec<GateAttestation>,
    /// Read-back problems (error severity: exit 1).
    pub findings: Vec<Finding>,
    /// Warnings of the push that the attestation made moot, removed from the push outcome: a
    /// re-run put the bundle's `.att` back in place of the one the gate had extended before
    /// (it held nothing but the bundle's layers and this gate's), and the gate extended it again.
    pub superseded: Vec<Finding>,
    /// HTTP requests sent.
    pub requests: u64,
}

impl AttestOutcome {
    pub fn failed(&self) -> bool {
        self.findings.iter().any(Finding::is_error)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GatePredicate<'a> {
    verifier: VsaVerifier,
    time_verified: &'a str,
    resource_uri: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<ResourceDescriptor>,
    verification_result: &'static str,
    verified_levels: Vec<String>,
}

#[derive(Serialize)]
struct GateStatement<'a> {
    #[serde(rename = "_type")]
    type_: &'static str,
    subject: Vec<VsaSubject>,
    #[serde(rename = "predicateType")]
    predicate_type: &'static str,
    predicate: GatePredicate<'a>,
}

fn digest_set(d: &Digest) -> BTreeMap<String, String> {
    BTreeMap::from([(d.algorithm().as_str().to_string(), d.hex().to_string())])
}

/// `predicate.resourceUri` for a pushed image: `oci://HOST/repo@digest`.
pub fn gate_resource_uri(target_repository: &str, digest: &Digest) -> String {
    format!("oci://{target_repository}@{digest}")
}

/// The in-toto Statement v1 (JSON bytes) the gate signs for one pushed image: subject
/// `{name: HOST/repo, digest: {sha256: hex}}`, predicate a SLSA VSA v1 saying PASSED.
pub fn gate_statement(
    target_repository: &str,
    digest: &Digest,
    time_verified: &str,
    policy: Option<&GatePolicy>,
) -> Result<Vec<u8>, PushError> {
    let resource_uri = gate_resource_uri(target_repository, digest);
    let st = GateStatement {
        type_: STATEMENT_V1,
        subject: vec![VsaSubject {
            name: target_repository.to_string(),
            digest: digest_set(digest),
        }],
        predicate_type: PREDICATE_VSA_V1,
        predicate: GatePredicate {
            verifier: VsaVerifier {
                id: VERIFIER_ID.to_string(),
                version: BTreeMap::from([(
                    VERIFIER_VERSION_KEY.to_string(),
                    env!("CARGO_PKG_VERSION").to_string(),
                )]),
            },
            time_verified,
            resource_uri: &resource_uri,
            policy: policy.map(|p| ResourceDescriptor {
                name: None,
                uri: Some(p.uri.clone()),
                digest: digest_set(&p.digest),
            }),
            verification_result: PASSED,
            verified_levels: Vec::new(),
        },
    };
    serde_json::to_vec(&st).map_err(|e| PushError::Attest {
        reference: resource_uri.clone(),
        detail: format!("cannot serialise the statement: {e}"),
    })
}

/// Could this layer be a gate attestation (a DSSE envelope announcing a VSA)?
fn is_gate_candidate(l: &Descriptor) -> bool {
    l.media_type == MEDIA_DSSE_ENVELOPE
        && l.annotation(ANNOTATION_PREDICATE_TYPE) == Some(PREDICATE_VSA_V1)
}

/// A gate attestation read back: signed by the key, about the subject, airlock's VSA.
struct GateLayer {
    predicate: serde_json::Value,
}

impl GateLayer {
    /// Does it say what a new one would (PASSED, same resource, same policy digest)?
    fn equivalent(&self, resource_uri: &str, policy: Option<&GatePolicy>) -> bool {
        let p = &self.predicate;
        let policy_digest = p.get("policy").and_then(|x| x.get("digest"));
        let want = policy.map(|g| serde_json::json!(digest_set(&g.digest)));
        p.get("verificationResult").and_then(|v| v.as_str()) == Some(PASSED)
            && p.get("resourceUri").and_then(|v| v.as_str()) == Some(resource_uri)
            && policy_digest == want.as_ref()
    }
}

/// The envelope as a gate attestation by `key` about `subject`, or None.
fn read_gate_layer(bytes: &[u8], key: &PublicKey, subject: &Digest) -> Option<GateLayer> {
    let env = Envelope::parse(bytes).ok()?;
    if !is_intoto_payload_type(&env.payload_type) {
        return None;
    }
    env.verify(key).ok()?;
    let st = Statement::from_envelope(&env).ok()?;
    let ours = st.predicate_type == PREDICATE_VSA_V1
        && st.has_subject(subject)
        && st
            .predicate
            .get("verifier")
            .and_then(|v| v.get("id"))
            .and_then(|v| v.as_str())
            == Some(VERIFIER_ID);
    ours.then_some(GateLayer {
        predicate: st.predicate,
    })
}

/// Fetch a layer that may be a gate attestation and read it (None when it is not one, or cannot
/// be read: it is then kept like any other layer).
async fn fetch_gate_layer(
    client: &Client,
    host: &str,
    repo: &str,
    l: &Descriptor,
    subject: &Digest,
    key: &PublicKey,
) -> Result<Option<GateLayer>, RegistryError> {
    if !is_gate_candidate(l) || l.size > MAX_GATE_LAYER_BYTES {
        return Ok(None);
    }
    let limit = usize::try_from(l.size).unwrap_or(usize::MAX);
    let bytes = match client.get_blob_bytes(host, repo, &l.digest, limit).await {
        Ok(Some(b)) => b,
        Ok(None) | Err(RegistryError::TooLarge { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    if !l.digest.matches(&bytes) {
        return Ok(None);
    }
    Ok(read_gate_layer(&bytes, key, subject))
}

/// Did a re-run of push replace a `.att` that was only `now` (the bundle's) extended by this
/// gate's own attestations? Then the warning about it says nothing the gate does not restore.
async fn replaced_gate_extension(
    client: &Client,
    host: &str,
    repo: &str,
    subject: &Digest,
    replaced: &ReplacedTag,
    now: &Manifest,
    key: &PublicKey,
) -> Result<bool, RegistryError> {
    if &replaced.now != now.digest() {
        return Ok(false);
    }
    let Ok(previous) = Digest::parse(&replaced.previous) else {
        return Ok(false);
    };
    let Some(f) = client
        .get_manifest(host, repo, &previous.to_string())
        .await?
    else {
        return Ok(false);
    };
    let Ok(prev) = Manifest::parse_expecting(f.bytes, f.content_type.as_deref(), &previous) else {
        return Ok(false);
    };
    let (old, new) = (prev.layers(), now.layers());
    if old.len() <= new.len() || old[..new.len()] != *new {
        return Ok(false);
    }
    for l in &old[new.len()..] {
        if fetch_gate_layer(client, host, repo, l, subject, key)
            .await?
            .is_none()
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Append a layer to a cosign config: `rootfs.diff_ids` (cosign's layers are uncompressed, so
/// the diff id is the layer digest) and, when the config has one, `history`.
fn extend_config(
    config: &mut serde_json::Value,
    existing: &[Descriptor],
    layer: &Digest,
) -> Result<(), String> {
    let obj = config
        .as_object_mut()
        .ok_or("its config is not a JSON object")?;
    let rootfs = obj
        .entry("rootfs")
        .or_insert_with(|| serde_json::json!({"type": "layers"}))
        .as_object_mut()
        .ok_or("its config's rootfs is not a JSON object")?;
    let ids = rootfs
        .entry("diff_ids")
        .or_insert_with(|| {
            serde_json::Value::Array(
                existing
                    .iter()
                    .map(|l| l.digest.to_string().into())
                    .collect(),
            )
        })
        .as_array_mut()
        .ok_or("its config's rootfs.diff_ids is not a list")?;
    ids.push(layer.to_string().into());
    if let Some(h) = obj.get_mut("history").and_then(|h| h.as_array_mut()) {
        h.push(serde_json::json!({ "created": ZERO_TIME }));
    }
    Ok(())
}

/// Point a manifest at a new config and append a layer, keeping every other field.
fn extend_manifest(
    manifest: &mut serde_json::Value,
    config: &Digest,
    config_size: usize,
    layer: serde_json::Value,
) -> Result<(), String> {
    let obj = manifest.as_object_mut().ok_or("not a JSON object")?;
    let c = obj
        .get_mut("config")
        .and_then(|c| c.as_object_mut())
        .ok_or("it has no config descriptor")?;
    c.insert("digest".into(), config.to_string().into());
    c.insert("size".into(), config_size.into());
    obj.entry("layers")
        .or_insert_with(|| serde_json::Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or("its layers are not a list")?
        .push(layer);
    Ok(())
}

/// Upload a blob unless the repository has it.
async fn ensure_bytes(
    client: &Client,
    host: &str,
    repo: &str,
    d: &Digest,
    bytes: Vec<u8>,
) -> Result<(), RegistryError> {
    if !client.blob_exists(host, repo, d, true).await? {
        client
            .upload_blob(host, repo, d, Body::Bytes(bytes))
            .await?;
    }
    Ok(())
}

type AttestedOne = (GateAttestation, Vec<Finding>, Option<Finding>);

async fn attest_one(
    client: &Client,
    host: &str,
    repo: &str,
    digest: &Digest,
    opts: &AttestOptions<'_>,
    replaced: Option<&ReplacedTag>,
) -> Result<AttestedOne, PushError> {
    let target_repository = format!("{host}/{repo}");
    let target = format!("{target_repository}@{digest}");
    let tag = AttachmentKind::Att
        .tag_for(digest)
        .unwrap_or_else(|| format!("{}.att", digest.tag_form()));
    let reference = format!("{target_repository}:{tag}");
    let fail = |detail: String| PushError::Attest {
        reference: reference.clone(),
        detail,
    };
    let resource_uri = gate_resource_uri(&target_repository, digest);
    let public = opts.key.public_key();

    // What the tag holds now: the upstream attestations push copied, someone else's, or nothing.
    let existing = match client.get_manifest(host, repo, &tag).await? {
        None => None,
        Some(f) => {
            let m = Manifest::parse(f.bytes, f.content_type.as_deref()).map_err(|e| {
                fail(format!("the registry holds something that is not a cosign attestation manifest there ({e}); refusing to overwrite it. Move it away or delete it, then push again"))
            })?;
            if m.is_index() {
                return Err(fail("the registry holds an image index there, not a cosign attestation manifest; refusing to overwrite it. Move it away or delete it, then push again".into()));
            }
            Some(m)
        }
    };
    let superseded = match (replaced, &existing) {
        (Some(r), Some(now))
            if replaced_gate_extension(client, host, repo, digest, r, now, &public).await? =>
        {
            Some(r.warning.clone())
        }
        _ => None,
    };
    if let Some(m) = &existing {
        for l in m.layers() {
            let Some(g) = fetch_gate_layer(client, host, repo, l, digest, &public).await? else {
                continue;
            };
            if g.equivalent(&resource_uri, opts.policy.as_ref()) {
                let done = GateAttestation {
                    target,
                    tag: reference,
                    manifest: m.digest().clone(),
                    layer: l.digest.clone(),
                    kept_layers: m.layers().len(),
                    already_present: true,
                };
                return Ok((done, Vec::new(), superseded));
            }
        }
    }

    // The gate's layer: a DSSE envelope over the statement, annotated as cosign does.
    let statement = gate_statement(
        &target_repository,
        digest,
        &opts.time_verified,
        opts.policy.as_ref(),
    )?;
    let envelope = sign_envelope(INTOTO_PAYLOAD_TYPE, &statement, opts.key)?;
    let layer_digest = Digest::sha256_of(&envelope);
    let layer_size = envelope.len();
    let mut annotations = serde_json::Map::new();
    annotations.insert(ANNOTATION_COSIGN_SIGNATURE.into(), "".into());
    annotations.insert(ANNOTATION_PREDICATE_TYPE.into(), PREDICATE_VSA_V1.into());
    let mut layer = serde_json::Map::new();
    layer.insert("mediaType".into(), MEDIA_DSSE_ENVELOPE.into());
    layer.insert("size".into(), layer_size.into());
    layer.insert("digest".into(), layer_digest.to_string().into());
    layer.insert("annotations".into(), annotations.into());

    // The existing manifest and config extended by that layer, or new ones as cosign makes.
    let (mut manifest, media_type, mut config, kept) = match &existing {
        Some(m) => {
            let crate::oci::manifest::Body::Image(im) = m.body() else {
                return Err(fail("not an image manifest".into()));
            };
            if m.layers().len() >= crate::oci::manifest::MAX_LAYERS {
                return Err(PushError::Limit(format!(
                    "{reference} already has {} layers; one more would pass the limit of {}",
                    m.layers().len(),
                    crate::oci::manifest::MAX_LAYERS
                )));
            }
            let limit = MAX_MANIFEST_BYTES;
            let cfg = client
                .get_blob_bytes(host, repo, &im.config.digest, limit)
                .await?
                .ok_or_else(|| {
                    fail(format!(
                        "its config blob {} is missing at {target_repository}; the manifest there is damaged, refusing to extend it",
                        im.config.digest
                    ))
                })?;
            if !im.config.digest.matches(&cfg) {
                return Err(fail(format!(
                    "its config blob {} is served with other bytes; refusing to extend it",
                    im.config.digest
                )));
            }
            let config: serde_json::Value = serde_json::from_slice(&cfg)
                .map_err(|e| fail(format!("its config is not JSON: {e}")))?;
            let manifest: serde_json::Value = serde_json::from_slice(m.raw())
                .map_err(|e| fail(format!("the manifest is not JSON: {e}")))?;
            (
                manifest,
                m.media_type().to_string(),
                config,
                m.layers().to_vec(),
            )
        }
        None => (
            serde_json::json!({
                "schemaVersion": 2,
                "mediaType": MEDIA_OCI_MANIFEST,
                "config": {"mediaType": MEDIA_OCI_CONFIG, "size": 0, "digest": ""},
                "layers": [],
            }),
            MEDIA_OCI_MANIFEST.to_string(),
            serde_json::json!({
                "architecture": "",
                "created": ZERO_TIME,
                "history": [],
                "os": "",
                "rootfs": {"type": "layers", "diff_ids": []},
                "config": {},
            }),
            Vec::new(),
        ),
    };
    extend_config(&mut config, &kept, &layer_digest).map_err(|e| fail(e.to_string()))?;
    let config_bytes = serde_json::to_vec(&config)
        .map_err(|e| fail(format!("cannot serialise the config: {e}")))?;
    let config_digest = Digest::sha256_of(&config_bytes);
    extend_manifest(
        &mut manifest,
        &config_digest,
        config_bytes.len(),
        layer.into(),
    )
    .map_err(|e| fail(format!("the manifest there cannot be extended: {e}")))?;
    let manifest_bytes = serde_json::to_vec(&manifest)
        .map_err(|e| fail(format!("cannot serialise the manifest: {e}")))?;
    let new = Manifest::parse(manifest_bytes.clone(), Some(&media_type))
        .map_err(|e| fail(format!("the extended manifest does not parse: {e}")))?;
    if new.layers().get(..kept.len()) != Some(&kept[..]) {
        return Err(fail(
            "the extended manifest would not keep the existing layers as they are".into(),
        ));
    }
    let config_size = config_bytes.len();
    ensure_bytes(client, host, repo, &layer_digest, envelope).await?;
    ensure_bytes(client, host, repo, &config_digest, config_bytes).await?;
    client
        .put_manifest(host, repo, &tag, &media_type, manifest_bytes)
        .await?;

    // Read-back: the tag serves exactly these bytes, and the two new blobs are there.
    let subject = target.clone();
    let mut findings = Vec::new();
    match client.get_manifest(host, repo, &tag).await? {
        None => findings.push(Finding::error(
            Code::AttestationMissing,
            subject.clone(),
            format!(
                "pushed the gate attestation {} to {reference}, but the registry answers 404 there when read back",
                new.digest()
            ),
        )),
        Some(f) if !new.digest().matches(&f.bytes) => findings.push(Finding::error(
            Code::RegistryRewrite,
            subject.clone(),
            format!(
                "pushed the gate attestation {} to {reference}, but the registry serves {} there: it re-wrote the manifest",
                new.digest(),
                Digest::of(new.digest().algorithm(), &f.bytes)
            ),
        )),
        Some(_) => {}
    }
    for (d, size) in [(&layer_digest, layer_size), (&config_digest, config_size)] {
        match client.head_blob(host, repo, d).await? {
            None => findings.push(Finding::error(
                Code::BlobMissing,
                subject.clone(),
                format!("blob {d} of the gate attestation is missing at {target_repository} when read back (HEAD 404)"),
            )),
            Some(Some(n)) if n != size as u64 => findings.push(Finding::error(
                Code::BlobDigestMismatch,
                subject.clone(),
                format!("blob {d} of the gate attestation is {n} bytes at {target_repository}; {size} were pushed"),
            )),
            Some(_) => {}
        }
    }
    let done = GateAttestation {
        target,
        tag: reference,
        manifest: new.digest().clone(),
        layer: layer_digest,
        kept_layers: kept.len(),
        already_present: false,
    };
    Ok((done, findings, superseded))
}

/// Attach the gate's attestation to every image a push put into the target (each mapping entry:
/// its digest in its target repository): a legacy cosign `.att` manifest under
/// `sha256-<hex>.att` with one DSSE layer (an in-toto statement whose predicate is a SLSA VSA v1
/// saying PASSED, see [`gate_statement`]), signed by `opts.key`.
///
/// A `.att` already under the tag (the upstream attestations push copied, or anyone's) is
/// extended: its layers are kept as they are and the gate's is appended, in a new manifest and
/// config (`rootfs.diff_ids` and `history` extended). When the tag already holds an equivalent
/// gate attestation (this key, this image, PASSED, the same policy) nothing is written.
///
/// Does nothing for a push that failed or pushed nothing. Every manifest written is read back.
/// Push warnings that the attestation makes moot move from `push.findings` to
/// [`AttestOutcome::superseded`].
pub async fn attest(
    client: &Client,
    target: &Target,
    push: &mut PushOutcome,
    opts: &AttestOptions<'_>,
) -> Result<AttestOutcome, PushError> {
    let start = client.request_count();
    let mut out = AttestOutcome::default();
    let Some(mapping) = &push.mapping else {
        return Ok(out);
    };
    if push.failed() {
        return Ok(out);
    }
    let host = target.host();
    let mut images: BTreeSet<(String, Digest)> = BTreeSet::new();
    for mi in &mapping.images {
        let repo = target
            .strip_host(&mi.target_repository)
            .ok_or_else(|| PushError::Attest {
                reference: mi.target.clone(),
                detail: format!("the mapping names a repository that is not on {host}"),
            })?;
        images.insert((repo.to_string(), mi.digest.clone()));
    }
    let replaced = &push.replaced_tags;
    let mut s = stream::iter(images.iter().map(|(repo, digest)| {
        let att_tag = AttachmentKind::Att.tag_for(digest);
        let r = replaced
            .iter()
            .find(|r| &r.repo == repo && Some(&r.tag) == att_tag.as_ref());
        attest_one(client, host, repo, digest, opts, r)
    }))
    .buffer_unordered(opts.jobs.max(1));
    let mut first_err = None;
    while let Some(r) = s.next().await {
        match r {
            Ok((a, findings, superseded)) => {
                out.attestations.push(a);
                out.findings.extend(findings);
                out.superseded.extend(superseded);
            }
            Err(e) => {
                first_err = Some(e);
                break;
            }
        }
    }
    drop(s);
    if let Some(e) = first_err {
        return Err(e);
    }
    out.attestations.sort_by(|a, b| a.target.cmp(&b.target));
    push.findings.retain(|f| !out.superseded.contains(f));
    push.replaced_tags
        .retain(|r| !out.superseded.contains(&r.warning));
    out.requests = client.request_count() - start;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Recorded(std::sync::Mutex<Vec<u64>>);
    impl PushProgress for Recorded {
        fn bytes_sent(&self, n: u64) {
            self.0.lock().unwrap().push(n);
        }
    }

    #[test]
    fn blob_bytes_move_in_pieces_count_a_retry_once_and_add_up_to_the_size() {
        let rec = Arc::new(Recorded::default());
        let w = BlobBytes {
            size: 3000,
            reported: AtomicU64::new(0),
            progress: rec.clone(),
        };
        for n in [0, 1000, 2000] {
            w.sent(n);
        }
        // The upload is retried: the second attempt starts again from 0.
        for n in [0, 1000, 2000, 2500, 9999] {
            w.sent(n);
        }
        w.sent(3000);
        let got = rec.0.lock().unwrap().clone();
        assert_eq!(got, vec![1000, 1000, 500, 500]);
        assert_eq!(got.iter().sum::<u64>(), 3000);
    }

    #[test]
    fn target_parses_host_port_and_prefix() {
        let t = Target::parse("Registry.Local:5000/mirror/team/", false).unwrap();
        assert_eq!(t.host(), "registry.local:5000");
        assert_eq!(t.prefix(), Some("mirror/team"));
        assert_eq!(t.display(), "registry.local:5000/mirror/team");
        assert!(Target::parse("https://r.local", false).is_err());
        assert!(Target::parse("r.local/Upper", false).is_err());
        assert!(Target::parse("r.local/a//b", false).is_err());
        assert!(Target::parse("", false).is_err());
    }

    #[test]
    fn source_host_is_dropped_or_kept() {
        let t = Target::parse("mirror.local/pfx", false).unwrap();
        assert_eq!(t.repo_path("quay.io/minio/app").unwrap(), "pfx/minio/app");
        assert_eq!(
            t.repo_path("docker.io/library/nginx").unwrap(),
            "pfx/library/nginx"
        );
        let k = Target::parse("mirror.local", true).unwrap();
        assert_eq!(
            k.repo_path("127.0.0.1:5000/team/app").unwrap(),
            "127.0.0.1-5000/team/app"
        );
        assert_eq!(
            k.repository("quay.io/minio/app").unwrap(),
            "mirror.local/quay.io/minio/app"
        );
        assert_eq!(
            k.strip_host("mirror.local/quay.io/minio/app"),
            Some("quay.io/minio/app")
        );
        assert_eq!(k.strip_host("other.local/x"), None);
    }

    #[test]
    fn over_long_target_name_is_refused() {
        let long = "a".repeat(250);
        let t = Target::parse(&format!("mirror.local/{long}"), false).unwrap();
        assert!(matches!(
            t.repo_path("quay.io/team/app"),
            Err(NamingError::TooLong { .. })
        ));
    }

    #[test]
    fn host_components_are_valid_path_components() {
        assert_eq!(host_component("Quay.IO").as_deref(), Some("quay.io"));
        assert_eq!(host_component("[::1]:5000").as_deref(), Some("1-5000"));
        assert_eq!(
            host_component("localhost:5000").as_deref(),
            Some("localhost-5000")
        );
        assert!(valid_path_component("a--b"));
        assert!(valid_path_component("a__b"));
        assert!(!valid_path_component("a._b"));
        assert!(!valid_path_component("a___b"));
        assert!(!valid_path_component("-a"));
    }

    #[test]
    fn referrers_tag_truncates_long_digests() {
        let d = Digest::sha256_of(b"x");
        assert_eq!(referrers_tag(&d), d.tag_form());
        let long = Digest::of(crate::oci::Algorithm::Sha512, b"x");
        let t = referrers_tag(&long);
        assert_eq!(t.len(), "sha512-".len() + 64);
    }

    #[test]
    fn ref_name_parts() {
        let d = Digest::sha256_of(b"x");
        let n = format!("127.0.0.1:5000/team/app:{}.sig", d.tag_form());
        assert_eq!(
            repository_of_name(&n).as_deref(),
            Some("127.0.0.1:5000/team/app")
        );
        assert_eq!(tag_of_name(&n), Some(format!("{}.sig", d.tag_form())));
        assert_eq!(tag_of_name("127.0.0.1:5000/team/app"), None);
    }

    #[test]
    fn referrer_descriptor_carries_artifact_type_and_annotations() {
        let raw = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/x","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[],"annotations":{"k":"v"}}"#.to_vec();
        let m = Manifest::parse(raw, None).unwrap();
        let d = referrer_descriptor(&m);
        assert_eq!(d["artifactType"], "application/x");
        assert_eq!(d["annotations"]["k"], "v");
        assert_eq!(d["digest"], m.digest().to_string());
    }
    fn gate_key() -> SigningKey {
        SigningKey::generate(crate::keys::KeyAlgorithm::EcdsaP256).unwrap()
    }

    #[test]
    fn gate_statement_is_a_vsa_about_the_pushed_image() {
        let d = Digest::sha256_of(b"image");
        let policy = GatePolicy {
            uri: "file:///srv/site.yaml".into(),
            digest: Digest::sha256_of(b"policy"),
        };
        let raw = gate_statement(
            "r.local/team/app",
            &d,
            "2026-01-31T12:00:00Z",
            Some(&policy),
        )
        .unwrap();
        let st = Statement::parse(&raw).unwrap();
        assert_eq!(st.predicate_type, PREDICATE_VSA_V1);
        assert!(st.has_subject(&d));
        assert_eq!(st.subjects[0].name, "r.local/team/app");
        let p = &st.predicate;
        assert_eq!(p["verifier"]["id"], VERIFIER_ID);
        assert_eq!(
            p["verifier"]["version"][VERIFIER_VERSION_KEY],
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(p["timeVerified"], "2026-01-31T12:00:00Z");
        assert_eq!(p["resourceUri"], format!("oci://r.local/team/app@{d}"));
        assert_eq!(p["policy"]["uri"], "file:///srv/site.yaml");
        assert_eq!(p["policy"]["digest"]["sha256"], policy.digest.hex());
        assert_eq!(p["verificationResult"], PASSED);
        assert_eq!(p["verifiedLevels"], serde_json::json!([]));
        let raw = gate_statement("r.local/team/app", &d, "2026-01-31T12:00:00Z", None).unwrap();
        let st = Statement::parse(&raw).unwrap();
        assert!(st.predicate.get("policy").is_none());
    }

    #[test]
    fn only_this_keys_vsa_about_this_subject_is_recognised_as_the_gates() {
        let key = gate_key();
        let d = Digest::sha256_of(b"image");
        let uri = gate_resource_uri("r.local/app", &d);
        let st = gate_statement("r.local/app", &d, "2026-01-31T12:00:00Z", None).unwrap();
        let env = sign_envelope(INTOTO_PAYLOAD_TYPE, &st, &key).unwrap();
        let g = read_gate_layer(&env, &key.public_key(), &d).unwrap();
        assert!(g.equivalent(&uri, None));
        let policy = GatePolicy {
            uri: "file:///p.yaml".into(),
            digest: Digest::sha256_of(b"p"),
        };
        assert!(
            !g.equivalent(&uri, Some(&policy)),
            "another policy: attest again"
        );
        assert!(!g.equivalent("oci://elsewhere", None));
        // Another key, another subject, or not airlock's verifier: not the gate's.
        assert!(read_gate_layer(&env, &gate_key().public_key(), &d).is_none());
        assert!(read_gate_layer(&env, &key.public_key(), &Digest::sha256_of(b"x")).is_none());
        let foreign = serde_json::to_vec(&serde_json::json!({
            "_type": STATEMENT_V1,
            "subject": [{"name": "x", "digest": {"sha256": d.hex()}}],
            "predicateType": PREDICATE_VSA_V1,
            "predicate": {"verifier": {"id": "https://example.com/other"}, "verificationResult": "PASSED"},
        }))
        .unwrap();
        let env = sign_envelope(INTOTO_PAYLOAD_TYPE, &foreign, &key).unwrap();
        assert!(read_gate_layer(&env, &key.public_key(), &d).is_none());
        assert!(read_gate_layer(b"not json", &key.public_key(), &d).is_none());
    }

    #[test]
    fn extending_a_cosign_att_keeps_its_layers_and_fields() {
        let old = Descriptor::new(MEDIA_DSSE_ENVELOPE, Digest::sha256_of(b"old"), 3);
        let new = Digest::sha256_of(b"new");
        let mut config = serde_json::json!({
            "architecture": "", "created": ZERO_TIME, "os": "", "config": {},
            "history": [{"created": ZERO_TIME}],
            "rootfs": {"type": "layers", "diff_ids": [old.digest.to_string()]},
        });
        extend_config(&mut config, std::slice::from_ref(&old), &new).unwrap();
        assert_eq!(
            config["rootfs"]["diff_ids"],
            serde_json::json!([old.digest.to_string(), new.to_string()])
        );
        assert_eq!(config["history"].as_array().unwrap().len(), 2);
        assert_eq!(config["os"], "");
        // A config without rootfs gets one listing every layer.
        let mut bare = serde_json::json!({});
        extend_config(&mut bare, std::slice::from_ref(&old), &new).unwrap();
        assert_eq!(
            bare["rootfs"]["diff_ids"],
            serde_json::json!([old.digest.to_string(), new.to_string()])
        );
        assert!(extend_config(&mut serde_json::json!([]), &[], &new).is_err());

        let old_layer = serde_json::json!({"mediaType": MEDIA_DSSE_ENVELOPE, "digest": old.digest.to_string(), "size": 3, "annotations": {"predicateType": "x"}});
        let mut m = serde_json::json!({
            "schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST,
            "config": {"mediaType": MEDIA_OCI_CONFIG, "digest": Digest::sha256_of(b"c").to_string(), "size": 1},
            "layers": [old_layer.clone()],
            "annotations": {"org.example": "kept"},
        });
        let cfg = Digest::sha256_of(b"c2");
        extend_manifest(
            &mut m,
            &cfg,
            7,
            serde_json::json!({"digest": new.to_string()}),
        )
        .unwrap();
        assert_eq!(m["layers"][0], old_layer);
        assert_eq!(m["layers"][1]["digest"], new.to_string());
        assert_eq!(m["config"]["digest"], cfg.to_string());
        assert_eq!(m["config"]["size"], 7);
        assert_eq!(m["config"]["mediaType"], MEDIA_OCI_CONFIG);
        assert_eq!(m["annotations"]["org.example"], "kept");
        assert!(
            extend_manifest(&mut serde_json::json!({}), &cfg, 1, serde_json::json!({})).is_err()
        );
    }
}

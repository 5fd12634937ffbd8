//! `capture`: copy images with every platform, signature, attestation, SBOM and referrer from a
//! registry into a bundle (an OCI image layout), and write the lock.
//!
//! This is an I/O edge: it talks to registries and writes files. Nothing is dropped silently:
//! anything expected but absent or wrong is a finding.
#![allow(clippy::disallowed_methods)] // an edge: file I/O (and clocks for timeouts) live here by design
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};

use crate::layout::{Layout, LayoutError};
use crate::lock::{AttachmentKind, Lock, LockedAttachment, LockedImage, LockedPlatform};
use crate::oci::manifest::{Descriptor, Manifest, ANNOTATION_REF_NAME};
use crate::oci::{Digest, Reference};
use crate::pins::Pins;
use crate::registry::{Client, RegistryError};
use crate::report::{Code, Finding};

/// How deep attachments of attachments are followed (a signed SBOM is depth 2).
pub const MAX_ATTACHMENT_DEPTH: usize = 3;
/// How deep nested indexes are followed.
pub const MAX_INDEX_DEPTH: usize = 4;
/// Most manifests one capture run will fetch.
pub const MAX_MANIFESTS: usize = 200_000;
/// Total bytes of manifests (and indexes) one capture run holds in memory until they are
/// written; past it a manifest is not stored and is reported `limit-exceeded`.
pub const MAX_CAPTURE_METADATA_BYTES: u64 = 64 * 1024 * 1024;
/// Longest `--platform` value accepted.
pub const MAX_PLATFORM_FILTER_LEN: usize = 128;

/// Check a `--platform` value: `os/arch` or `os/arch/variant`, each part non-empty and made of
/// lowercase letters, digits, `.`, `_` or `-`.
pub fn validate_platform_filter(s: &str) -> Result<(), String> {
    if s.len() > MAX_PLATFORM_FILTER_LEN {
        return Err(format!(
            "--platform is {} characters, over the limit of {MAX_PLATFORM_FILTER_LEN}",
            s.len()
        ));
    }
    let parts: Vec<&str> = s.split('/').collect();
    let ok_part = |p: &str| {
        !p.is_empty()
            && p.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
    };
    if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| ok_part(p)) {
        return Err(format!(
            "--platform {s:?} is not OS/ARCH or OS/ARCH/VARIANT (for example linux/amd64 or linux/arm64/v8)"
        ));
    }
    Ok(())
}

/// Progress callbacks (the CLI shows a bar on a terminal; tests and pipes see nothing).
pub trait Progress: Send + Sync {
    fn blobs_planned(&self, _count: usize, _bytes: u64) {}
    fn bytes(&self, _n: u64) {}
    fn blob_done(&self) {}
    fn image_resolved(&self, _reference: &str) {}
}

/// No progress display.
pub struct Quiet;
impl Progress for Quiet {}

#[derive(Debug, Clone)]
pub struct CaptureOptions {
    pub jobs: usize,
    /// Only these platforms' children (`os/arch[/variant]`); empty = all. The index is kept byte-exact.
    pub platforms: Vec<String>,
    pub pins: Pins,
    /// RFC 3339 time recorded in the lock.
    pub created: String,
    /// Total bytes of manifests held in memory (see [`MAX_CAPTURE_METADATA_BYTES`]).
    pub metadata_budget: u64,
    /// Delta capture (`--base`): blobs the base bundle holds are listed in the lock but not
    /// written.
    pub base: Option<BaseLock>,
}

/// The base of a delta capture: the base lock's digest and the blobs it lists.
#[derive(Debug, Clone)]
pub struct BaseLock {
    pub sha256: Digest,
    pub blobs: BTreeSet<Digest>,
}

/// What a capture run produced.
#[derive(Debug)]
pub struct CaptureOutcome {
    pub lock: Lock,
    pub findings: Vec<Finding>,
    pub blobs_fetched: usize,
    pub blobs_skipped: usize,
    pub bytes_fetched: u64,
    pub manifests: usize,
    /// Images resolved in this run (the lock may also list images of earlier runs).
    pub images: usize,
}

/// Capture could not run (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error("{0}")]
    Limit(String),
}

/// A manifest GET: found, absent (404), or refused with a finding already recorded.
enum Got {
    Found(crate::registry::Fetched),
    NotFound,
    Reported,
}

struct Ctx<'a> {
    client: &'a Client,
    manifests: BTreeMap<Digest, Manifest>,
    /// (host, repo) a blob can be fetched from.
    blob_sources: BTreeMap<Digest, (String, String, u64)>,
    findings: Vec<Finding>,
    /// Bytes of `manifests`, against `budget`.
    held: u64,
    budget: u64,
}

impl Ctx<'_> {
    fn add_manifest(&mut self, host: &str, repo: &str, m: &Manifest) -> Result<(), CaptureError> {
        if self.manifests.len() >= MAX_MANIFESTS {
            return Err(CaptureError::Limit(format!(
                "more than {MAX_MANIFESTS} manifests; refusing to continue"
            )));
        }
        if self.manifests.contains_key(m.digest()) {
            return Ok(());
        }
        if self.held.saturating_add(m.size()) > self.budget {
            self.findings.push(Finding::error(
                Code::LimitExceeded,
                format!("{host}/{repo}@{}", m.digest()),
                format!(
                    "manifest {} ({} bytes) would take the manifests held by this capture over the {}-byte budget; not stored (capture fewer images per run)",
                    m.digest(),
                    m.size(),
                    self.budget
                ),
            ));
            return Ok(());
        }
        self.held += m.size();
        for b in m.blob_descriptors() {
            if !b.urls.is_empty() {
                // Foreign (non-distributable) layers are not in the registry.
                self.findings.push(Finding::warning(
                    Code::BlobMissing,
                    format!("{host}/{repo}@{}", m.digest()),
                    format!(
                        "layer {} is a foreign layer served from {:?}; it is not captured",
                        b.digest, b.urls
                    ),
                ));
                continue;
            }
            self.blob_sources
                .entry(b.digest.clone())
                .or_insert_with(|| (host.to_string(), repo.to_string(), b.size));
        }
        self.manifests.insert(m.digest().clone(), m.clone());
        Ok(())
    }

    /// GET a manifest; `None` on 404. A manifest over the size limit is a `limit-exceeded`
    /// finding (content the registry served), not a failure of the run.
    async fn get_manifest(
        &mut self,
        host: &str,
        repo: &str,
        reference: &str,
        subject: &str,
    ) -> Result<Got, CaptureError> {
        match self.client.get_manifest(host, repo, reference).await {
            Ok(Some(f)) => Ok(Got::Found(f)),
            Ok(None) => Ok(Got::NotFound),
            Err(RegistryError::TooLarge {
                url, size, limit, ..
            }) => {
                self.findings.push(Finding::error(
                    Code::LimitExceeded,
                    subject,
                    format!("{url}: the manifest is {size} bytes, over the {limit}-byte limit; not captured"),
                ));
                Ok(Got::Reported)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Fetch a manifest by digest, checking that the bytes hash to it.
    async fn fetch_by_digest(
        &mut self,
        host: &str,
        repo: &str,
        d: &Digest,
        media_type: Option<&str>,
        expected_size: Option<u64>,
        subject: &str,
    ) -> Result<Option<Manifest>, CaptureError> {
        if let Some(m) = self.manifests.get(d) {
            return Ok(Some(m.clone()));
        }
        let f = match self
            .get_manifest(host, repo, &d.to_string(), subject)
            .await?
        {
            Got::Found(f) => f,
            Got::Reported => return Ok(None),
            Got::NotFound => {
                self.findings.push(Finding::error(
                    Code::BlobMissing,
                    subject,
                    format!(
                        "manifest {d} is listed but the registry answers 404 for {host}/{repo}@{d}"
                    ),
                ));
                return Ok(None);
            }
        };
        match Manifest::parse_expecting(f.bytes, f.content_type.as_deref().or(media_type), d) {
            Ok(m) => match expected_size {
                Some(want) if want != m.size() => {
                    self.findings.push(Finding::error(
                        Code::BlobDigestMismatch,
                        subject,
                        format!(
                            "manifest {d} is listed with size {want} but is {} bytes at {host}/{repo}; not stored",
                            m.size()
                        ),
                    ));
                    Ok(None)
                }
                _ => Ok(Some(m)),
            },
            Err(crate::oci::ManifestError::DigestMismatch { expected, actual }) => {
                self.findings.push(Finding::error(
                    Code::BlobDigestMismatch,
                    subject,
                    format!("the registry served {host}/{repo}@{expected} with bytes that hash to {actual}; not stored"),
                ));
                Ok(None)
            }
            Err(crate::oci::ManifestError::TooMany { what, count, limit }) => {
                self.findings.push(Finding::error(
                    Code::LimitExceeded,
                    subject,
                    format!(
                        "manifest {d} lists {count} {what}, over the limit of {limit}; not stored"
                    ),
                ));
                Ok(None)
            }
            Err(e) => {
                self.findings.push(Finding::error(
                    Code::ManifestInvalid,
                    subject,
                    format!("manifest {d}: {e}"),
                ));
                Ok(None)
            }
        }
    }

    /// Fetch a tag that may not exist (attachments). Returns the manifest, or None on 404.
    async fn fetch_tag(
        &mut self,
        host: &str,
        repo: &str,
        tag: &str,
        subject: &str,
    ) -> Result<Option<Manifest>, CaptureError> {
        let Got::Found(f) = self.get_manifest(host, repo, tag, subject).await? else {
            return Ok(None);
        };
        match Manifest::parse(f.bytes, f.content_type.as_deref()) {
            Ok(m) => {
                if let Some(h) = f.docker_content_digest.as_deref() {
                    if h != m.digest().to_string() && Digest::parse(h).is_ok() {
                        self.findings.push(Finding::error(
                            Code::BlobDigestMismatch,
                            subject,
                            format!("{host}/{repo}:{tag}: Docker-Content-Digest says {h} but the bytes hash to {}", m.digest()),
                        ));
                    }
                }
                Ok(Some(m))
            }
            Err(crate::oci::ManifestError::TooMany { what, count, limit }) => {
                self.findings.push(Finding::error(Code::LimitExceeded, subject, format!("{host}/{repo}:{tag} lists {count} {what}, over the limit of {limit}; not captured")));
                Ok(None)
            }
            Err(e) => {
                self.findings.push(Finding::error(
                    Code::ManifestInvalid,
                    subject,
                    format!("{host}/{repo}:{tag}: {e}"),
                ));
                Ok(None)
            }
        }
    }

    /// Discover and fetch everything attached to `subject` (cosign tags, referrers), recursively.
    fn discover<'s>(
        &'s mut self,
        host: &'s str,
        repo: &'s str,
        repository: &'s str,
        subject: Digest,
        depth: usize,
        out: &'s mut Vec<LockedAttachment>,
    ) -> futures_util::future::BoxFuture<'s, Result<(), CaptureError>> {
        Box::pin(async move {
            if depth > MAX_ATTACHMENT_DEPTH {
                return Ok(());
            }
            let subj_name = format!("{repository}@{subject}");
            let mut found: Vec<Digest> = Vec::new();
            for kind in [
                AttachmentKind::Sig,
                AttachmentKind::Att,
                AttachmentKind::Sbom,
            ] {
                let Some(tag) = kind.tag_for(&subject) else {
                    continue;
                };
                if let Some(m) = self.fetch_tag(host, repo, &tag, &subj_name).await? {
                    self.add_manifest(host, repo, &m)?;
                    if !out
                        .iter()
                        .any(|a| a.digest == *m.digest() && a.kind == kind)
                    {
                        out.push(LockedAttachment {
                            kind,
                            subject: subject.clone(),
                            digest: m.digest().clone(),
                            r#ref: Some(format!("{repository}:{tag}")),
                            artifact_type: m.artifact_type().map(str::to_string),
                        });
                        found.push(m.digest().clone());
                    }
                }
            }
            // OCI 1.1 referrers: the API, else the tag-schema fallback. Every listed manifest is
            // fetched: the fallback index's artifactType may be the empty config type.
            let listing = match self.client.get_referrers(host, repo, &subject).await? {
                Some(f) => {
                    match Manifest::parse(f.bytes, Some(crate::oci::manifest::MEDIA_OCI_INDEX)) {
                        Ok(m) if m.is_index() => Some((m, false)),
                        Ok(_) => None,
                        Err(e) => {
                            let code = if matches!(e, crate::oci::ManifestError::TooMany { .. }) {
                                Code::LimitExceeded
                            } else {
                                Code::ManifestInvalid
                            };
                            self.findings.push(Finding::error(
                                code,
                                &subj_name,
                                format!("referrers list of {subject}: {e}"),
                            ));
                            None
                        }
                    }
                }
                None => {
                    let tag = subject.tag_form();
                    match self.fetch_tag(host, repo, &tag, &subj_name).await? {
                        Some(m) if m.is_index() => Some((m, true)),
                        _ => None,
                    }
                }
            };
            if let Some((idx, from_tag)) = listing {
                if from_tag || !idx.child_descriptors().is_empty() {
                    self.add_manifest(host, repo, &idx)?;
                    out.push(LockedAttachment {
                        kind: AttachmentKind::ReferrersIndex,
                        subject: subject.clone(),
                        digest: idx.digest().clone(),
                        r#ref: Some(format!("{repository}:{}", subject.tag_form())),
                        artifact_type: None,
                    });
                }
                for desc in idx.child_descriptors().to_vec() {
                    if out
                        .iter()
                        .any(|a| a.digest == desc.digest && a.kind == AttachmentKind::Referrer)
                    {
                        continue;
                    }
                    if let Some(m) = self
                        .fetch_by_digest(
                            host,
                            repo,
                            &desc.digest,
                            Some(&desc.media_type),
                            Some(desc.size),
                            &subj_name,
                        )
                        .await?
                    {
                        if m.subject().map(|s| &s.digest) != Some(&subject) {
                            self.findings.push(Finding::warning(
                                Code::ManifestInvalid,
                                &subj_name,
                                format!(
                                    "referrer {} listed for {subject} names subject {:?}",
                                    m.digest(),
                                    m.subject().map(|s| s.digest.to_string())
                                ),
                            ));
                        }
                        self.add_manifest(host, repo, &m)?;
                        if m.is_index() {
                            for c in m.child_descriptors().to_vec() {
                                if let Some(cm) = self
                                    .fetch_by_digest(
                                        host,
                                        repo,
                                        &c.digest,
                                        Some(&c.media_type),
                                        Some(c.size),
                                        &subj_name,
                                    )
                                    .await?
                                {
                                    self.add_manifest(host, repo, &cm)?;
                                }
                            }
                        }
                        out.push(LockedAttachment {
                            kind: AttachmentKind::Referrer,
                            subject: subject.clone(),
                            digest: m.digest().clone(),
                            r#ref: None,
                            artifact_type: m.artifact_type().map(str::to_string),
                        });
                        found.push(m.digest().clone());
                    }
                }
            }
            for d in found {
                self.discover(host, repo, repository, d, depth + 1, out)
                    .await?;
            }
            Ok(())
        })
    }
}

/// Does platform `p` match one of `filter` (`os/arch` also matches `os/arch/variant`)? An empty
/// filter matches everything.
pub fn platform_matches(filter: &[String], p: Option<&crate::oci::Platform>) -> bool {
    if filter.is_empty() {
        return true;
    }
    let Some(p) = p else { return false };
    let s = p.to_string();
    filter
        .iter()
        .any(|f| f == &s || (p.variant.is_some() && f == &format!("{}/{}", p.os, p.architecture)))
}

/// Capture `refs` into `layout`.
pub async fn capture(
    client: &Client,
    layout: &Layout,
    refs: &[Reference],
    opts: &CaptureOptions,
    progress: Arc<dyn Progress>,
) -> Result<CaptureOutcome, CaptureError> {
    layout.clean_temp_files();
    let mut ctx = Ctx {
        client,
        manifests: BTreeMap::new(),
        blob_sources: BTreeMap::new(),
        findings: Vec::new(),
        held: 0,
        budget: opts.metadata_budget,
    };
    let mut images = 0usize;
    let mut lock = Lock::new(opts.created.clone());
    let mut entries: Vec<Descriptor> = Vec::new();

    for r in refs {
        let host = r.api_host().to_string();
        let repo = r.path().to_string();
        let repository = r.repository();
        let given = r
            .given()
            .strip_prefix("oci://")
            .unwrap_or(r.given())
            .to_string();
        let f = match ctx
            .get_manifest(&host, &repo, &r.reference_for_api(), &given)
            .await?
        {
            Got::Found(f) => f,
            Got::Reported => continue,
            Got::NotFound => {
                ctx.findings.push(Finding::error(
                    Code::ImageMissing,
                    &given,
                    format!(
                        "{given}: the registry answers 404 (no such repository, tag or digest)"
                    ),
                ));
                continue;
            }
        };
        let root = match r.digest() {
            Some(d) => match Manifest::parse_expecting(f.bytes, f.content_type.as_deref(), d) {
                Ok(m) => m,
                Err(crate::oci::ManifestError::DigestMismatch { expected, actual }) => {
                    ctx.findings.push(Finding::error(Code::BlobDigestMismatch, &given, format!("asked for {expected}, the registry served bytes hashing to {actual}; not captured")));
                    continue;
                }
                Err(e) => {
                    ctx.findings.push(Finding::error(
                        Code::ManifestInvalid,
                        &given,
                        format!("{given}: {e}"),
                    ));
                    continue;
                }
            },
            None => match Manifest::parse(f.bytes, f.content_type.as_deref()) {
                Ok(m) => m,
                Err(e) => {
                    let code = if matches!(
                        e,
                        crate::oci::ManifestError::TooLarge { .. }
                            | crate::oci::ManifestError::TooMany { .. }
                    ) {
                        Code::LimitExceeded
                    } else {
                        Code::ManifestInvalid
                    };
                    ctx.findings
                        .push(Finding::error(code, &given, format!("{given}: {e}")));
                    continue;
                }
            },
        };
        if r.digest().is_none() {
            // The same check as on attachment tags: a lying Docker-Content-Digest is an error.
            if let Some(h) = f.docker_content_digest.as_deref() {
                if let Ok(hd) = Digest::parse(h) {
                    if !hd.matches(root.raw()) {
                        ctx.findings.push(Finding::error(
                            Code::BlobDigestMismatch,
                            format!("{given}@{}", root.digest()),
                            format!(
                                "{given}: Docker-Content-Digest says {hd} but the bytes served hash to {}",
                                root.digest()
                            ),
                        ));
                    }
                }
            }
        }
        progress.image_resolved(&given);
        images += 1;
        if let Some(pinned) = opts.pins.lookup(r) {
            if pinned != root.digest() {
                ctx.findings.push(Finding::error(
                    Code::PinMismatch,
                    format!("{given}@{}", root.digest()),
                    format!("{given} is pinned to {pinned} but now resolves to {}: the tag moved or the content was rewritten", root.digest()),
                ));
            }
        }
        ctx.add_manifest(&host, &repo, &root)?;
        let mut platforms = Vec::new();
        let mut attachments = Vec::new();
        // Children of an index (recursively for nested indexes).
        let mut queue: Vec<(Manifest, usize)> = vec![(root.clone(), 0)];
        let mut tree: Vec<Digest> = vec![root.digest().clone()];
        while let Some((m, depth)) = queue.pop() {
            if depth >= MAX_INDEX_DEPTH {
                ctx.findings.push(Finding::error(
                    Code::LimitExceeded,
                    &given,
                    format!(
                        "indexes nested deeper than {MAX_INDEX_DEPTH} under {}",
                        root.digest()
                    ),
                ));
                continue;
            }
            for c in m.child_descriptors().to_vec() {
                let wanted = platform_matches(&opts.platforms, c.platform.as_ref())
                    || crate::oci::manifest::is_index_media_type(&c.media_type);
                if depth == 0 {
                    platforms.push(LockedPlatform {
                        platform: c
                            .platform
                            .as_ref()
                            .map(|p| p.to_string())
                            .unwrap_or_else(|| "unknown".into()),
                        digest: c.digest.clone(),
                        captured: wanted,
                    });
                }
                if !wanted {
                    continue;
                }
                if let Some(cm) = ctx
                    .fetch_by_digest(
                        &host,
                        &repo,
                        &c.digest,
                        Some(&c.media_type),
                        Some(c.size),
                        &given,
                    )
                    .await?
                {
                    ctx.add_manifest(&host, &repo, &cm)?;
                    tree.push(cm.digest().clone());
                    if cm.is_index() {
                        queue.push((cm, depth + 1));
                    }
                }
            }
        }
        for d in tree {
            ctx.discover(&host, &repo, &repository, d, 1, &mut attachments)
                .await?;
        }
        let mut desc = root.descriptor();
        desc.artifact_type = None;
        desc.annotations
            .insert(ANNOTATION_REF_NAME.into(), given.clone());
        entries.push(desc);
        for a in &attachments {
            if let (Some(name), Some(m)) = (&a.r#ref, ctx.manifests.get(&a.digest)) {
                let mut d = m.descriptor();
                d.artifact_type = None;
                d.annotations
                    .insert(ANNOTATION_REF_NAME.into(), name.clone());
                entries.push(d);
            }
        }
        lock.images.push(LockedImage {
            r#ref: given,
            repository,
            digest: root.digest().clone(),
            media_type: root.media_type().to_string(),
            size: root.size(),
            platforms,
            attachments,
        });
    }

    // Blobs: deduplicated, skipped when already complete and verified, fetched in parallel.
    let mut todo = Vec::new();
    let mut skipped = 0usize;
    let mut planned_bytes = 0u64;
    let in_base = |d: &Digest| opts.base.as_ref().is_some_and(|b| b.blobs.contains(d));
    for (d, (host, repo, size)) in &ctx.blob_sources {
        if ctx.manifests.contains_key(d) || in_base(d) {
            continue;
        }
        if layout.has_verified_blob(d, Some(*size)) {
            skipped += 1;
            continue;
        }
        planned_bytes += size;
        todo.push((d.clone(), host.clone(), repo.clone(), *size));
    }
    // Largest first: the longest transfer starts at once instead of in a late wave.
    todo.sort_by(|a, b| b.3.cmp(&a.3).then_with(|| a.0.cmp(&b.0)));
    progress.blobs_planned(todo.len(), planned_bytes);
    let fetched = todo.len();
    let mut fetches = stream::iter(todo.into_iter().map(|(d, host, repo, size)| {
        let progress = progress.clone();
        async move {
            let writer = match layout.blob_writer(d.algorithm()) {
                Ok(w) => w,
                Err(e) => {
                    let r = Err(RegistryError::Store {
                        url: d.to_string(),
                        source: e,
                    });
                    return (d, size, r);
                }
            };
            let p = progress.clone();
            let r = client
                .fetch_blob(&host, &repo, &d, Some(size), writer, &move |n| p.bytes(n))
                .await;
            if r.is_ok() {
                progress.blob_done();
            }
            (d, size, r)
        }
    }))
    .buffer_unordered(opts.jobs.max(1));
    let mut first_err = None;
    // Files this run wrote: made durable together before success is reported.
    let mut written: Vec<std::path::PathBuf> = Vec::new();
    while let Some((d, size, r)) = fetches.next().await {
        match r {
            Ok(()) => written.push(layout.blob_path(&d)),
            Err(RegistryError::Status { url, status: 404, .. }) => {
                ctx.findings.push(Finding::error(
                    Code::BlobMissing,
                    d.to_string(),
                    format!("{url}: the registry answers 404 for a blob an image lists; not stored (ask the publisher to repair the image)"),
                ))
            }
            Err(RegistryError::DigestMismatch { url, actual, .. }) if actual == d => {
                ctx.findings.push(Finding::error(
                    Code::BlobDigestMismatch,
                    d.to_string(),
                    format!("{url}: the descriptor gives size {size} but the registry sent a different number of bytes; not stored"),
                ))
            }
            Err(RegistryError::DigestMismatch {
                url,
                expected,
                actual,
            }) => ctx.findings.push(Finding::error(
                Code::BlobDigestMismatch,
                expected.to_string(),
                format!("{url}: the registry sent bytes hashing to {actual}; not stored"),
            )),
            Err(RegistryError::TooLarge { url, .. }) => ctx.findings.push(Finding::error(
                Code::BlobDigestMismatch,
                url.clone(),
                format!(
                    "{url}: the registry sent more bytes than the descriptor's size; not stored"
                ),
            )),
            Err(e) => {
                // Stop at the first transport failure: in-flight transfers are cancelled and
                // their temp files removed; complete blobs stay for the re-run.
                first_err = Some(e);
                break;
            }
        }
    }
    drop(fetches);
    if let Some(e) = first_err {
        return Err(e.into());
    }
    for m in ctx.manifests.values() {
        if !in_base(m.digest()) {
            let d = layout.put_blob(m.raw())?;
            written.push(layout.blob_path(&d));
        }
    }
    // Every blob durable before index.json and the lock name them (both written with fsync).
    let threads = opts.jobs.max(1) * 2;
    tokio::task::block_in_place(|| crate::layout::durable::sync_all_parallel(&written, threads))?;
    // Every blob the images need, marking those the base holds.
    let mut all: BTreeMap<Digest, u64> = ctx
        .blob_sources
        .iter()
        .map(|(d, (_, _, size))| (d.clone(), *size))
        .collect();
    for m in ctx.manifests.values() {
        all.insert(m.digest().clone(), m.size());
    }
    lock.blobs = all
        .into_iter()
        .map(|(digest, size)| crate::lock::LockedBlob {
            base: in_base(&digest),
            digest,
            size,
        })
        .collect();
    lock.base = opts.base.as_ref().map(|b| crate::lock::LockBase {
        sha256: b.sha256.clone(),
    });
    // Merge with entries of an earlier capture into the same directory (different refs).
    let mut names: BTreeSet<String> = entries
        .iter()
        .filter_map(|d| d.annotation(ANNOTATION_REF_NAME).map(str::to_string))
        .collect();
    if let Ok(old) = layout.read_index() {
        for d in old.child_descriptors() {
            match d.annotation(ANNOTATION_REF_NAME) {
                Some(n) if names.contains(n) => {}
                other => {
                    if let Some(n) = other {
                        names.insert(n.to_string());
                    }
                    entries.push(d.clone());
                }
            }
        }
    }
    if let Ok(bytes) = std::fs::read(layout.root().join(crate::layout::LOCK_FILE)) {
        if let Ok(old) = Lock::parse(&bytes) {
            for img in old.images {
                if lock.image(&img.r#ref).is_none() {
                    lock.images.push(img);
                }
            }
            for b in old.blobs {
                if !lock.blobs.iter().any(|x| x.digest == b.digest) {
                    lock.blobs.push(b);
                }
            }
            lock.blobs.sort_by(|a, b| a.digest.cmp(&b.digest));
            // A TUF snapshot an earlier capture copied in stays (capture --tuf replaces it).
            if lock.tuf.is_none() {
                lock.tuf = old.tuf;
            }
        }
    }
    // What this run could not store, so that the lock says so (the exit is 1).
    lock.missing = ctx
        .findings
        .iter()
        .filter(|f| f.is_error() && f.code != Code::PinMismatch)
        .map(|f| crate::lock::MissingContent {
            code: f.code.as_str().to_string(),
            subject: f.subject.clone(),
            message: f.message.clone(),
        })
        .collect();
    layout.write_index(&entries)?;
    crate::layout::write_atomic(
        &layout.root().join(crate::layout::LOCK_FILE),
        &lock.to_json(),
    )?;
    Ok(CaptureOutcome {
        lock,
        findings: ctx.findings,
        blobs_fetched: fetched,
        blobs_skipped: skipped,
        bytes_fetched: planned_bytes,
        manifests: ctx.manifests.len(),
        images,
    })
}

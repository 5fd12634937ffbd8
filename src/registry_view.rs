//! `verify --registry`: build the verification core's [`BundleView`] from what a registry serves,
//! so the same `verify` runs against the private registry instead of a bundle directory.
//!
//! For each image of the lock it reads the mapped target (the mapping file, else push's naming
//! rules): the manifest by tag and by the locked digest, the platform children by digest, the
//! attachments the way a client finds them (`sha256-<hex>.sig|.att|.sbom` tags, the referrers API,
//! else the `sha256-<hex>` fallback tag), the small verification blobs (signature payloads, DSSE
//! envelopes, SBOMs) into memory, and a HEAD of every other blob (existence and size; with
//! `rehash_blobs` a streamed GET and hash instead). Only that one registry is contacted.
//!
//! The view carries `index.json`-like entries named by the lock's source references (and
//! `source_repo:sha256-<hex>.sig` … for attachments), so the core treats it like a bundle. What
//! only the registry edge can see — a tag that moved after the push, a manifest the registry
//! re-wrote — comes back as [`EdgeFinding`]s to add to the report with [`add_edge_findings`].
use std::collections::{BTreeMap, BTreeSet};

use futures_util::stream::{self, StreamExt};

use crate::capture::MAX_ATTACHMENT_DEPTH;
use crate::layout::load::{is_verification_content, MAX_ATTACHMENT_BLOB_BYTES};
use crate::layout::BlobState;
use crate::lock::{AttachmentKind, Lock, LockedImage};
use crate::mapping::Mapping;
use crate::oci::manifest::{
    Descriptor, Manifest, ManifestError, ANNOTATION_REF_NAME, MEDIA_OCI_INDEX,
};
use crate::oci::{Digest, Reference};
use crate::push::{referrers_tag, NamingError, Target, MAX_PUSH_NESTING};
use crate::registry::{Client, RegistryError};
use crate::report::{Code, Finding, Report};
use crate::view::{BundleView, ManifestProblem};

/// Most manifests read from the registry for one verification.
pub const MAX_VIEW_MANIFESTS: usize = 200_000;

/// Settings for reading the view.
#[derive(Clone, Debug)]
pub struct RegistryViewOptions {
    /// Parallel blob checks.
    pub jobs: usize,
    /// GET and hash every blob instead of a HEAD (slow; the registry is content-addressed and
    /// checks digests on upload, so a HEAD is the default).
    pub rehash_blobs: bool,
}

/// A finding only the registry edge can make, tied to a lock image when it is about one.
#[derive(Clone, Debug)]
pub struct EdgeFinding {
    /// The lock's source reference of the image it is about.
    pub image: Option<String>,
    pub finding: Finding,
}

/// The view and what the edge found while reading it.
#[derive(Debug)]
pub struct RegistryView {
    pub view: BundleView,
    pub findings: Vec<EdgeFinding>,
    /// HTTP requests sent.
    pub requests: u64,
}

/// The view could not be read (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Naming(#[from] NamingError),
    #[error("{0}")]
    Mapping(String),
    #[error("{0}")]
    Limit(String),
}

/// Add edge findings to a report (on the image they name, else globally) and re-finalise it.
pub fn add_edge_findings(report: &mut Report, findings: &[EdgeFinding]) {
    for f in findings {
        match f
            .image
            .as_ref()
            .and_then(|r| report.images.iter_mut().find(|i| &i.r#ref == r))
        {
            Some(img) => img.findings.push(f.finding.clone()),
            None => report.findings.push(f.finding.clone()),
        }
    }
    report.finalise();
}

struct Loader<'a> {
    client: &'a Client,
    host: String,
    view: BundleView,
    findings: Vec<EdgeFinding>,
    /// Manifest → repository it was read from (blobs are read from the same one).
    found_in: BTreeMap<Digest, String>,
    fetched: usize,
}

impl Loader<'_> {
    fn count(&mut self) -> Result<(), ViewError> {
        self.fetched += 1;
        if self.fetched > MAX_VIEW_MANIFESTS {
            return Err(ViewError::Limit(format!(
                "more than {MAX_VIEW_MANIFESTS} manifests to read from {}; refusing to continue",
                self.host
            )));
        }
        Ok(())
    }

    fn edge(&mut self, image: &str, f: Finding) {
        self.findings.push(EdgeFinding {
            image: Some(image.to_string()),
            finding: f,
        });
    }

    /// Read a manifest by digest (and, recursively, its children). `record` puts problems into
    /// the view (for content reached through a descriptor, where the core reports them).
    async fn tree(
        &mut self,
        image: &str,
        repo: &str,
        root: &Digest,
        declared: Option<&str>,
        record: bool,
    ) -> Result<bool, ViewError> {
        let mut queue: Vec<(Digest, Option<String>, usize, bool)> =
            vec![(root.clone(), declared.map(str::to_string), 0, record)];
        let mut root_present = false;
        let mut first = true;
        let mut seen = BTreeSet::new();
        while let Some((d, mt, depth, rec)) = queue.pop() {
            if !seen.insert(d.clone()) {
                continue;
            }
            let present = if self.view.manifests.contains_key(&d) {
                true
            } else if self.view.manifest_problems.contains_key(&d) {
                false
            } else if depth > MAX_PUSH_NESTING {
                if rec {
                    self.view.manifest_problems.insert(
                        d.clone(),
                        ManifestProblem::Invalid(format!(
                            "indexes nest deeper than {MAX_PUSH_NESTING} levels"
                        )),
                    );
                }
                false
            } else {
                self.count()?;
                self.by_digest(image, repo, &d, mt.as_deref(), rec).await?
            };
            if first {
                root_present = present;
                first = false;
            }
            if let Some(m) = self.view.manifests.get(&d) {
                for c in m.child_descriptors() {
                    queue.push((
                        c.digest.clone(),
                        Some(c.media_type.clone()),
                        depth + 1,
                        true,
                    ));
                }
            }
        }
        Ok(root_present)
    }

    async fn by_digest(
        &mut self,
        image: &str,
        repo: &str,
        d: &Digest,
        declared: Option<&str>,
        record: bool,
    ) -> Result<bool, ViewError> {
        let at = format!("{}/{repo}@{d}", self.host);
        let Some(f) = self
            .client
            .get_manifest(&self.host, repo, &d.to_string())
            .await?
        else {
            if record {
                self.view
                    .manifest_problems
                    .insert(d.clone(), ManifestProblem::Missing);
            }
            return Ok(false);
        };
        match Manifest::parse_expecting(f.bytes, f.content_type.as_deref().or(declared), d) {
            Ok(m) => {
                self.view.manifests.insert(d.clone(), m);
                self.found_in.insert(d.clone(), repo.to_string());
                Ok(true)
            }
            Err(ManifestError::DigestMismatch { actual, .. }) => {
                if record {
                    self.view.manifest_problems.insert(
                        d.clone(),
                        ManifestProblem::DigestMismatch {
                            actual: actual.clone(),
                        },
                    );
                }
                self.edge(
                    image,
                    Finding::error(
                        Code::RegistryRewrite,
                        format!("{image}@{d}"),
                        format!(
                            "asked {at} for {d}; the registry served bytes hashing to {actual}"
                        ),
                    ),
                );
                Ok(false)
            }
            Err(e) => {
                if record {
                    self.view
                        .manifest_problems
                        .insert(d.clone(), ManifestProblem::Invalid(e.to_string()));
                } else {
                    self.edge(
                        image,
                        Finding::error(
                            Code::ManifestInvalid,
                            format!("{image}@{d}"),
                            format!("{at}: {e}"),
                        ),
                    );
                }
                Ok(false)
            }
        }
    }

    /// Read a manifest by tag; `None` on 404. Problems become edge findings.
    async fn by_tag(
        &mut self,
        image: &str,
        repo: &str,
        tag: &str,
    ) -> Result<Option<Manifest>, ViewError> {
        self.count()?;
        let at = format!("{}/{repo}:{tag}", self.host);
        let Some(f) = self.client.get_manifest(&self.host, repo, tag).await? else {
            return Ok(None);
        };
        let header = f
            .docker_content_digest
            .as_deref()
            .and_then(|h| Digest::parse(h).ok());
        match Manifest::parse(f.bytes, f.content_type.as_deref()) {
            Ok(m) => {
                if let Some(h) = header {
                    if !h.matches(m.raw()) {
                        self.edge(
                            image,
                            Finding::error(
                                Code::RegistryRewrite,
                                format!("{image}@{}", m.digest()),
                                format!(
                                    "{at}: Docker-Content-Digest says {h} but the bytes served hash to {}",
                                    m.digest()
                                ),
                            ),
                        );
                    }
                }
                Ok(Some(m))
            }
            Err(e) => {
                let code = if matches!(
                    e,
                    ManifestError::TooLarge { .. } | ManifestError::TooMany { .. }
                ) {
                    Code::LimitExceeded
                } else {
                    Code::ManifestInvalid
                };
                self.edge(
                    image,
                    Finding::error(code, image.to_string(), format!("{at}: {e}")),
                );
                Ok(None)
            }
        }
    }

    /// Add an attachment found by tag to the view, named like a bundle's index.json entry.
    async fn add_tagged(
        &mut self,
        image: &str,
        repo: &str,
        m: Manifest,
        name: String,
    ) -> Result<(), ViewError> {
        let d = m.digest().clone();
        let mut desc = m.descriptor();
        desc.artifact_type = None;
        desc.annotations.insert(ANNOTATION_REF_NAME.into(), name);
        self.view.entries.push(desc);
        if !self.view.manifests.contains_key(&d) {
            let children: Vec<Descriptor> = m.child_descriptors().to_vec();
            self.view.manifests.insert(d.clone(), m);
            self.found_in.insert(d.clone(), repo.to_string());
            for c in children {
                self.tree(image, repo, &c.digest, Some(&c.media_type), true)
                    .await?;
            }
        }
        Ok(())
    }

    /// Everything attached to the manifests of one image, found as a client would.
    async fn attachments(
        &mut self,
        li: &LockedImage,
        repo: &str,
        tree: Vec<Digest>,
    ) -> Result<(), ViewError> {
        let image = li.r#ref.as_str();
        let mut frontier: Vec<(Digest, usize)> = tree.into_iter().map(|d| (d, 1)).collect();
        let mut seen = BTreeSet::new();
        // What each cosign tag serves now, to compare with what the lock records.
        let mut served: BTreeMap<(Digest, AttachmentKind), Manifest> = BTreeMap::new();
        while let Some((subject, depth)) = frontier.pop() {
            if depth > MAX_ATTACHMENT_DEPTH || !seen.insert(subject.clone()) {
                continue;
            }
            for kind in [
                AttachmentKind::Sig,
                AttachmentKind::Att,
                AttachmentKind::Sbom,
            ] {
                let Some(tag) = kind.tag_for(&subject) else {
                    continue;
                };
                if let Some(m) = self.by_tag(image, repo, &tag).await? {
                    let d = m.digest().clone();
                    served.insert((subject.clone(), kind), m.clone());
                    self.add_tagged(image, repo, m, format!("{}:{tag}", li.repository))
                        .await?;
                    frontier.push((d, depth + 1));
                }
            }
            // OCI 1.1 referrers: the API, else the tag-schema fallback.
            self.count()?;
            let listing = match self
                .client
                .get_referrers(&self.host, repo, &subject)
                .await?
            {
                Some(f) => match Manifest::parse(f.bytes, Some(MEDIA_OCI_INDEX)) {
                    Ok(m) if m.is_index() => Some(m),
                    Ok(_) => None,
                    Err(e) => {
                        self.edge(
                            image,
                            Finding::error(
                                Code::ManifestInvalid,
                                format!("{image}@{subject}"),
                                format!("{}/{repo}: referrers list of {subject}: {e}", self.host),
                            ),
                        );
                        None
                    }
                },
                None => {
                    let tag = referrers_tag(&subject);
                    match self.by_tag(image, repo, &tag).await? {
                        Some(m) if m.is_index() => {
                            let listing = m.clone();
                            self.add_tagged(
                                image,
                                repo,
                                m,
                                format!("{}:{}", li.repository, subject.tag_form()),
                            )
                            .await?;
                            Some(listing)
                        }
                        _ => None,
                    }
                }
            };
            if let Some(idx) = listing {
                for c in idx.child_descriptors().to_vec() {
                    if self
                        .tree(image, repo, &c.digest, Some(&c.media_type), false)
                        .await?
                    {
                        frontier.push((c.digest.clone(), depth + 1));
                    }
                }
            }
        }
        // A cosign tag the lock records may have been extended since the push (`push
        // --attest-key` appends the gate's attestation, as `cosign attest` appends): the locked
        // manifest is still served when the manifest now under the tag holds every one of its
        // layers unchanged. It is read by digest to compare; otherwise it stays out of the view
        // and the core reports it missing.
        for a in &li.attachments {
            if !matches!(
                a.kind,
                AttachmentKind::Sig | AttachmentKind::Att | AttachmentKind::Sbom
            ) || self.view.manifests.contains_key(&a.digest)
            {
                continue;
            }
            let Some(now) = served.get(&(a.subject.clone(), a.kind)) else {
                continue;
            };
            self.count()?;
            let Some(f) = self
                .client
                .get_manifest(&self.host, repo, &a.digest.to_string())
                .await?
            else {
                continue;
            };
            let Ok(locked) =
                Manifest::parse_expecting(f.bytes, f.content_type.as_deref(), &a.digest)
            else {
                continue;
            };
            if !locked.is_index() && locked.layers().iter().all(|l| now.layers().contains(l)) {
                self.found_in.insert(a.digest.clone(), repo.to_string());
                self.view.manifests.insert(a.digest.clone(), locked);
            }
        }
        // A referrers list the lock records (pushed byte-exact by `push`) may not be what the
        // registry lists now (an API answer, or a fallback tag merged with other referrers): the
        // referrers themselves were checked above; the recorded list is read by digest.
        for a in &li.attachments {
            if a.kind == AttachmentKind::ReferrersIndex
                && !self.view.manifests.contains_key(&a.digest)
            {
                self.count()?;
                self.by_digest(image, repo, &a.digest, Some(MEDIA_OCI_INDEX), false)
                    .await?;
            }
        }
        Ok(())
    }

    /// One lock image: its manifest by tag and by digest, children, attachments.
    async fn image(
        &mut self,
        li: &LockedImage,
        repo: &str,
        tag: Option<&str>,
    ) -> Result<(), ViewError> {
        let image = li.r#ref.as_str();
        let d = &li.digest;
        let target = format!("{}/{repo}", self.host);
        let by_tag = match tag {
            Some(t) => {
                let m = self.by_tag(image, repo, t).await?;
                if m.is_none() {
                    self.edge(
                        image,
                        Finding::error(
                            Code::ImageMissing,
                            format!("{image}@{d}"),
                            format!("{target}:{t} is not in the registry (the tag was deleted, or the image was never pushed there); the lock pins {d}"),
                        ),
                    );
                }
                m
            }
            None => None,
        };
        let present = self
            .tree(image, repo, d, Some(&li.media_type), true)
            .await?;
        if let (Some(t), Some(served)) = (tag, by_tag) {
            if served.digest() != d {
                let pinned = self.view.manifests.get(d);
                let same_content = match (pinned, &served) {
                    (None, _) => true,
                    (Some(p), s) => same_image_content(p, s),
                };
                let (code, why) = if same_content {
                    (
                        Code::RegistryRewrite,
                        if present {
                            "the same image in other bytes: the registry re-wrote the manifest (format conversion or re-serialisation)".to_string()
                        } else {
                            format!("and does not serve {d} by digest at all: the registry re-wrote the manifest")
                        },
                    )
                } else {
                    (
                        Code::PinMismatch,
                        format!(
                            "other content: the tag moved after the push (the pinned manifest is {} by digest)",
                            if present { "still served" } else { "no longer served" }
                        ),
                    )
                };
                self.edge(
                    image,
                    Finding::error(
                        code,
                        format!("{image}@{d}"),
                        format!(
                            "{image}: {target}:{t} serves {} ({}), not the pushed and locked {d} ({}); {why}",
                            served.digest(),
                            served.media_type(),
                            li.media_type
                        ),
                    ),
                );
            }
        }
        // As served (a platform manifest pushed with `push --platform` has its own type and size).
        let (media_type, size) = match self.view.manifests.get(d) {
            Some(m) => (m.media_type().to_string(), m.size()),
            None => (li.media_type.clone(), li.size),
        };
        let mut desc = Descriptor::new(media_type, d.clone(), size);
        desc.annotations
            .insert(ANNOTATION_REF_NAME.into(), li.r#ref.clone());
        self.view.entries.push(desc);
        // The tree's manifests are the attachment subjects.
        let mut tree = Vec::new();
        let mut stack = vec![d.clone()];
        let mut seen = BTreeSet::new();
        while let Some(x) = stack.pop() {
            if !seen.insert(x.clone()) {
                continue;
            }
            if let Some(m) = self.view.manifests.get(&x) {
                tree.push(x.clone());
                stack.extend(m.child_descriptors().iter().map(|c| c.digest.clone()));
            }
        }
        self.attachments(li, repo, tree).await
    }
}

/// Do two manifests describe the same image in other bytes? (Same config blob and layers for
/// image manifests; same children for indexes.)
fn same_image_content(a: &Manifest, b: &Manifest) -> bool {
    match (a.is_index(), b.is_index()) {
        (false, false) => {
            let ab = a.blob_descriptors();
            let bb = b.blob_descriptors();
            ab.first().map(|c| &c.digest) == bb.first().map(|c| &c.digest)
        }
        (true, true) => {
            let ac: BTreeSet<&Digest> = a.child_descriptors().iter().map(|c| &c.digest).collect();
            let bc: BTreeSet<&Digest> = b.child_descriptors().iter().map(|c| &c.digest).collect();
            ac == bc
        }
        _ => false,
    }
}

/// Resolve where a lock image lives on the target: (repository path, tag).
fn resolve(
    li: &LockedImage,
    target: &Target,
    mapping: Option<&Mapping>,
) -> Result<(String, Option<String>), ViewError> {
    if let Some(mi) = mapping.and_then(|m| m.by_source(&li.r#ref)) {
        let repo = target.strip_host(&mi.target_repository).ok_or_else(|| {
            ViewError::Mapping(format!(
                "the mapping sends {} to {}, which is not on --registry {}; pass the registry the bundle was pushed to, or the mapping written by that push",
                li.r#ref,
                mi.target_repository,
                target.display()
            ))
        })?;
        return Ok((repo.to_string(), mi.tag.clone()));
    }
    let tag = Reference::parse(&li.r#ref)
        .ok()
        .and_then(|r| r.tag().map(str::to_string));
    Ok((target.repo_path(&li.repository)?, tag))
}

/// Read everything the core needs from the registry at `target` for the images of `lock`.
pub async fn load_registry_view(
    client: &Client,
    target: &Target,
    lock: &Lock,
    mapping: Option<&Mapping>,
    opts: &RegistryViewOptions,
) -> Result<RegistryView, ViewError> {
    let start = client.request_count();
    if let Some(m) = mapping {
        if m.registry != target.display() {
            return Err(ViewError::Mapping(format!(
                "the mapping was written by a push to {}, but --registry is {}; give the same HOST[/PREFIX], or point --mapping at the mapping of that push",
                m.registry,
                target.display()
            )));
        }
    }
    let mut l = Loader {
        client,
        host: target.host().to_string(),
        view: BundleView {
            location: format!("registry {}", target.display()),
            entries_from_lock: true,
            ..Default::default()
        },
        findings: Vec::new(),
        found_in: BTreeMap::new(),
        fetched: 0,
    };
    // A mapping with verdicts names exactly what push pushed: the rest did not pass.
    let verdicts = mapping.is_some_and(|m| m.images.iter().any(|i| i.verdict.is_some()));
    let pushed: Vec<&LockedImage> = lock
        .images
        .iter()
        .filter(|li| {
            let keep = !verdicts || mapping.is_some_and(|m| m.by_source(&li.r#ref).is_some());
            if !keep {
                l.view.withheld.insert(li.r#ref.clone());
            }
            keep
        })
        .collect();
    let mut resolved = Vec::new();
    for li in &pushed {
        resolved.push(resolve(li, target, mapping)?);
    }
    for (li, (repo, tag)) in pushed.into_iter().zip(resolved) {
        // `push --platform` put one captured platform's manifest under the tag (the mapping
        // records it): read that manifest as the image.
        let child = mapping
            .and_then(|m| m.by_source(&li.r#ref))
            .filter(|mi| {
                mi.digest != li.digest
                    && li
                        .platforms
                        .iter()
                        .any(|p| p.captured && p.digest == mi.digest)
            })
            .map(|mi| mi.digest.clone());
        match child {
            Some(c) => {
                let mut one = li.clone();
                one.digest = c;
                one.media_type = crate::oci::manifest::MEDIA_OCI_MANIFEST.to_string();
                one.platforms.clear();
                l.image(&one, &repo, tag.as_deref()).await?;
            }
            None => l.image(li, &repo, tag.as_deref()).await?,
        }
    }

    // Blobs: verification content into memory, the rest checked by HEAD (or GET + hash).
    let mut wanted: BTreeMap<(String, Digest), (u64, bool)> = BTreeMap::new();
    for (d, m) in &l.view.manifests {
        let repo = l.found_in.get(d).cloned().unwrap_or_default();
        for b in m.blob_descriptors() {
            let small =
                is_verification_content(&b.media_type) && b.size <= MAX_ATTACHMENT_BLOB_BYTES;
            wanted
                .entry((repo.clone(), b.digest.clone()))
                .or_insert((b.size, small));
        }
    }
    let host = l.host.clone();
    let rehash = opts.rehash_blobs;
    let mut s = stream::iter(wanted.into_iter().map(|((repo, d), (size, small))| {
        let host = &host;
        async move {
            let state = if small {
                match client
                    .get_blob_bytes(host, &repo, &d, usize::try_from(size).unwrap_or(usize::MAX))
                    .await
                {
                    Ok(None) => (BlobState::Missing, None),
                    Ok(Some(b)) if b.len() as u64 != size => (
                        BlobState::SizeMismatch {
                            expected: size,
                            actual: b.len() as u64,
                        },
                        None,
                    ),
                    Ok(Some(b)) if !d.matches(&b) => (
                        BlobState::DigestMismatch {
                            actual: Digest::of(d.algorithm(), &b),
                        },
                        None,
                    ),
                    Ok(Some(b)) => (BlobState::Ok, Some(b)),
                    Err(RegistryError::TooLarge { size: actual, .. }) => (
                        BlobState::SizeMismatch {
                            expected: size,
                            actual,
                        },
                        None,
                    ),
                    Err(e) => return Err(e),
                }
            } else if rehash {
                match client.hash_blob(host, &repo, &d, size).await {
                    Ok(None) => (BlobState::Missing, None),
                    Ok(Some((_, n))) if n != size => (
                        BlobState::SizeMismatch {
                            expected: size,
                            actual: n,
                        },
                        None,
                    ),
                    Ok(Some((actual, _))) if actual != d => {
                        (BlobState::DigestMismatch { actual }, None)
                    }
                    Ok(Some(_)) => (BlobState::Ok, None),
                    Err(RegistryError::TooLarge { size: actual, .. }) => (
                        BlobState::SizeMismatch {
                            expected: size,
                            actual,
                        },
                        None,
                    ),
                    Err(e) => return Err(e),
                }
            } else {
                match client.head_blob(host, &repo, &d).await? {
                    None => (BlobState::Missing, None),
                    Some(Some(n)) if n != size => (
                        BlobState::SizeMismatch {
                            expected: size,
                            actual: n,
                        },
                        None,
                    ),
                    Some(_) => (BlobState::Ok, None),
                }
            };
            Ok::<_, RegistryError>((d, state))
        }
    }))
    .buffer_unordered(opts.jobs.max(1));
    let mut states: BTreeMap<Digest, BlobState> = BTreeMap::new();
    let mut blobs: BTreeMap<Digest, Vec<u8>> = BTreeMap::new();
    while let Some(r) = s.next().await {
        let (d, (state, bytes)) = r?;
        if let Some(b) = bytes {
            blobs.insert(d.clone(), b);
        }
        // The same blob in several repositories: any problem wins.
        match states.get(&d) {
            Some(prev) if *prev != BlobState::Ok => {}
            _ => {
                states.insert(d, state);
            }
        }
    }
    drop(s);
    l.view.blob_states = states;
    l.view.blobs = blobs;
    Ok(RegistryView {
        view: l.view,
        findings: l.findings,
        requests: client.request_count() - start,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{MappedImage, MAPPING_SCHEMA};

    fn locked(r: &str, repo: &str) -> LockedImage {
        LockedImage {
            r#ref: r.into(),
            repository: repo.into(),
            digest: Digest::sha256_of(b"m"),
            media_type: MEDIA_OCI_INDEX.into(),
            size: 1,
            platforms: vec![],
            attachments: vec![],
        }
    }

    #[test]
    fn naming_rule_applies_without_mapping() {
        let t = Target::parse("mirror.local/pfx", false).unwrap();
        let li = locked("quay.io/team/app:v1", "quay.io/team/app");
        assert_eq!(
            resolve(&li, &t, None).unwrap(),
            ("pfx/team/app".to_string(), Some("v1".to_string()))
        );
        let by_digest = locked(
            &format!("quay.io/team/app@{}", Digest::sha256_of(b"m")),
            "quay.io/team/app",
        );
        assert_eq!(resolve(&by_digest, &t, None).unwrap().1, None);
    }

    #[test]
    fn mapping_wins_and_must_be_on_the_registry() {
        let t = Target::parse("mirror.local", false).unwrap();
        let li = locked("quay.io/team/app:v1", "quay.io/team/app");
        let d = Digest::sha256_of(b"m");
        let mut m = Mapping {
            schema: MAPPING_SCHEMA.into(),
            registry: "mirror.local".into(),
            created: String::new(),
            images: vec![MappedImage {
                source: li.r#ref.clone(),
                source_repository: li.repository.clone(),
                digest: d.clone(),
                target_repository: "mirror.local/elsewhere/app".into(),
                tag: Some("v1".into()),
                target: format!("mirror.local/elsewhere/app@{d}"),
                verdict: None,
                report: None,
            }],
        };
        assert_eq!(resolve(&li, &t, Some(&m)).unwrap().0, "elsewhere/app");
        m.images[0].target_repository = "other.local/elsewhere/app".into();
        assert!(matches!(
            resolve(&li, &t, Some(&m)),
            Err(ViewError::Mapping(_))
        ));
    }

    #[test]
    fn same_config_is_a_rewrite_other_config_is_a_move() {
        let cfg = |c: &str, mt: &str| {
            format!(
                r#"{{"schemaVersion":2,"mediaType":"{mt}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":2}},"layers":[]}}"#,
                Digest::sha256_of(c.as_bytes())
            )
        };
        let a = Manifest::parse(
            cfg("a", crate::oci::manifest::MEDIA_OCI_MANIFEST).into_bytes(),
            None,
        )
        .unwrap();
        let a2 = Manifest::parse(
            cfg("a", crate::oci::manifest::MEDIA_DOCKER_MANIFEST).into_bytes(),
            None,
        )
        .unwrap();
        let b = Manifest::parse(
            cfg("b", crate::oci::manifest::MEDIA_OCI_MANIFEST).into_bytes(),
            None,
        )
        .unwrap();
        assert!(same_image_content(&a, &a2));
        assert!(!same_image_content(&a, &b));
    }

    #[test]
    fn edge_findings_land_on_their_image() {
        let mut r = Report::new("t".into(), Default::default());
        r.images.push(crate::report::ImageReport {
            r#ref: "quay.io/team/app:v1".into(),
            digest: "d".into(),
            result: crate::report::Outcome::Pass,
            rule: None,
            platforms: vec![],
            signatures: vec![],
            attestations: vec![],
            sboms: vec![],
            findings: vec![],
            judged: Default::default(),
        });
        r.finalise();
        assert!(r.passed());
        add_edge_findings(
            &mut r,
            &[EdgeFinding {
                image: Some("quay.io/team/app:v1".into()),
                finding: Finding::error(Code::RegistryRewrite, "s", "m"),
            }],
        );
        assert!(!r.passed());
        assert_eq!(r.images[0].findings.len(), 1);
    }
}

//! `verify(view, policy, trust, time, parallelism) -> Report`: the decision, with every reason as a finding.
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use base64::Engine;

use super::dsse::{Envelope, INTOTO_PAYLOAD_TYPE};
use super::intoto::{self, PredicateKind, Statement};
use super::sbom;
use super::simplesign::SimpleSigning;
use super::view::{BundleView, ManifestProblem};

/// The signed lock's file name, for messages.
const LOCK_DSSE_NAME: &str = "airlock.lock.dsse.json";
use crate::keys::PublicKey;
use crate::lock::{parse_attachment_tag, AttachmentKind, Lock, LockedImage, LOCK_PAYLOAD_TYPE};
use crate::oci::manifest::{
    ANNOTATION_COSIGN_CERTIFICATE, ANNOTATION_COSIGN_SIGNATURE, ANNOTATION_REF_NAME,
    MEDIA_COSIGN_SIMPLESIGNING, MEDIA_DSSE_ENVELOPE,
};
use crate::oci::reference::same_repository;
use crate::oci::{Descriptor, Digest, Manifest, Reference};
use crate::pins::Pins;
use crate::policy::{Policy, Rule, SbomRequirement, SignatureRule, Unmatched};
use crate::report::{
    AttestationEntry, Code, Finding, ImageReport, Outcome, PlatformEntry, PolicyRef, Report,
    SbomEntry, SignatureEntry,
};
use crate::trust::sigstore::{self as sigstore, TrustedRoot};
use crate::view::BlobState;

/// The lock as read by the edge: bytes, optional DSSE envelope, optional key to check it with.
#[derive(Clone, Debug, Default)]
pub struct LockInput {
    pub source: String,
    pub bytes: Option<Vec<u8>>,
    pub envelope: Option<Vec<u8>>,
    pub capture_key: Option<PublicKey>,
}

/// Trust material and pins.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    /// The policy's keys, by name.
    pub keys: BTreeMap<String, PublicKey>,
    /// Other known keys (`--keys DIR`), used only to tell "untrusted" from "invalid".
    pub known_keys: Vec<(String, PublicKey)>,
    pub lock: LockInput,
    pub pins: Pins,
    /// The policy's Sigstore trusted roots (`trustedRoots`), by name: keyless signatures and
    /// bundles are verified against them, offline.
    pub trusted_roots: BTreeMap<String, TrustedRoot>,
}

/// A root image to verify: an index.json entry that is not an attachment.
struct Root<'a> {
    name: String,
    repository: Option<String>,
    /// Neither the lock nor the ref name (a bare `app:v1`) says which repository this came from.
    source_unknown: bool,
    desc: &'a Descriptor,
    /// The lock's signature was checked, so its claims (platforms left out) can be relied on.
    lock_authenticated: bool,
}

/// Where attachments of a subject are found.
#[derive(Default)]
struct Attachments {
    by_tag: BTreeMap<(Digest, AttachmentKind), BTreeSet<Digest>>,
    referrers: BTreeMap<Digest, BTreeSet<Digest>>,
}

impl Attachments {
    fn build(view: &BundleView) -> Attachments {
        let mut a = Attachments::default();
        for e in &view.entries {
            if let Some((subject, kind)) = e
                .annotation(ANNOTATION_REF_NAME)
                .and_then(tag_of)
                .and_then(parse_attachment_tag)
            {
                a.by_tag
                    .entry((subject, kind))
                    .or_default()
                    .insert(e.digest.clone());
            } else if let Some((subject, kind)) = cosign_save_subject(view, e) {
                a.by_tag
                    .entry((subject, kind))
                    .or_default()
                    .insert(e.digest.clone());
            }
        }
        for (d, m) in &view.manifests {
            if let Some(s) = m.subject() {
                a.referrers
                    .entry(s.digest.clone())
                    .or_default()
                    .insert(d.clone());
            }
        }
        a
    }
    fn tagged(&self, subject: &Digest, kind: AttachmentKind) -> Vec<Digest> {
        self.by_tag
            .get(&(subject.clone(), kind))
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }
    fn referrers_of(&self, subject: &Digest) -> Vec<Digest> {
        self.referrers
            .get(subject)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// `cosign save` layouts name signature and attestation manifests only by a `kind` annotation.
/// Which image they belong to is read from their first payload (the signed digest); this only
/// routes them to an image, where they are then verified like any other (digest, key, identity).
fn cosign_save_subject(view: &BundleView, e: &Descriptor) -> Option<(Digest, AttachmentKind)> {
    let kind = match e.annotation("kind")? {
        "dev.cosignproject.cosign/sigs" => AttachmentKind::Sig,
        "dev.cosignproject.cosign/atts" => AttachmentKind::Att,
        _ => return None,
    };
    let m = view.manifests.get(&e.digest)?;
    let layer = m.layers().first()?;
    let bytes = view.blobs.get(&layer.digest)?;
    match kind {
        AttachmentKind::Sig => SimpleSigning::parse(bytes)
            .ok()
            .map(|s| (s.manifest_digest, kind)),
        _ => {
            let env = Envelope::parse(bytes).ok()?;
            let st = Statement::parse(&env.payload).ok()?;
            let hex = st.subjects.first()?.digest.get("sha256")?;
            Digest::parse(&format!("sha256:{hex}"))
                .ok()
                .map(|d| (d, kind))
        }
    }
}

/// The tag part of a ref name (`registry/repo:tag` → `tag`; a bare `tag` → itself).
fn tag_of(name: &str) -> Option<&str> {
    let name = name.split('@').next().unwrap_or(name);
    let last = name.rsplit('/').next().unwrap_or(name);
    Some(last.rsplit_once(':').map(|(_, t)| t).unwrap_or(last))
}

fn is_attachment_entry(view: &BundleView, e: &Descriptor) -> bool {
    if e.annotation(ANNOTATION_REF_NAME)
        .and_then(tag_of)
        .and_then(parse_attachment_tag)
        .is_some()
    {
        return true;
    }
    if let Some(k) = e.annotation("kind") {
        if k == "dev.cosignproject.cosign/sigs" || k == "dev.cosignproject.cosign/atts" {
            return true;
        }
    }
    view.manifests
        .get(&e.digest)
        .is_some_and(|m| m.subject().is_some())
}

/// Verify a bundle view against a policy at time `at` (RFC 3339 text, recorded in the report and
/// used by every time-dependent check), checking independent images on up to `parallelism`
/// threads (the caller chooses; the report is the same for any value).
pub fn verify(
    view: &BundleView,
    policy: &Policy,
    trust: &Trust,
    at: &str,
    parallelism: usize,
) -> Report {
    let mut report = Report::new(
        at.to_string(),
        PolicyRef {
            path: policy.source.display().to_string(),
            sha256: policy.sha256.trim_start_matches("sha256:").to_string(),
        },
    );
    report.inputs.bundle = Some(view.location.clone());
    for (name, k) in &trust.keys {
        report.inputs.keys.push(crate::report::KeyRef {
            name: name.clone(),
            key_id: k.key_id(),
            algorithm: k.algorithm().to_string(),
        });
    }
    if let Some(err) = &view.layout_error {
        report.findings.push(Finding::error(
            Code::LayoutInvalid,
            &view.location,
            err.clone(),
        ));
        report.finalise();
        return report;
    }
    let attachments = Attachments::build(view);
    // One clock: keyless and timestamp checks use the verification time `at`.
    let roots_at = sigstore::roots_at(&trust.trusted_roots, at);
    let checked = check_lock(&trust.lock, policy, trust, &mut report);
    let lock_authenticated = checked.authenticated;
    let lock = checked.lock;
    let locked: HashMap<&str, &LockedImage> = lock
        .as_ref()
        .map(|l| l.images.iter().map(|i| (i.r#ref.as_str(), i)).collect())
        .unwrap_or_default();

    let roots: Vec<Root> = view
        .entries
        .iter()
        .filter(|e| !is_attachment_entry(view, e))
        .map(|e| {
            let name = e
                .annotation(ANNOTATION_REF_NAME)
                .map(str::to_string)
                .unwrap_or_else(|| format!("@{}", e.digest));
            // One name everywhere: a full reference names its own repository (the lock may not
            // rename it); a bare name (`v1`, as `skopeo copy … oci:DIR:v1` writes) takes the
            // lock's repository, or `--source-prefix`, or stays unknown (never guessed).
            let bare = !name.contains('/');
            let from_lock = locked.get(name.as_str()).map(|i| i.repository.clone());
            let (repository, source_unknown) = if bare {
                match (&view.source_prefix, from_lock) {
                    (Some(p), _) => (Some(p.clone()), false),
                    (None, Some(r)) => (Some(r), false),
                    (None, None) => (None, true),
                }
            } else {
                (Reference::parse(&name).ok().map(|r| r.repository()), false)
            };
            Root {
                name,
                repository,
                source_unknown,
                desc: e,
                lock_authenticated,
            }
        })
        .collect();
    if roots.is_empty() {
        report.findings.push(Finding::error(
            Code::LayoutInvalid,
            &view.location,
            "the bundle's index.json names no image: nothing to verify (an empty bundle never passes)",
        ));
    }

    // Pins and lock: every pinned/locked reference is present with the pinned digest.
    for p in &trust.pins.pins {
        let want = &p.digest;
        let hit = roots.iter().find(|r| {
            Reference::parse(&r.name)
                .ok()
                .is_some_and(|rr| trust.pins.find(&rr).map(|x| x.line) == Some(p.line))
        });
        match hit {
            Some(r) if &r.desc.digest == want => {}
            Some(r) => report.findings.push(Finding::error(
                Code::PinMismatch,
                format!("{}@{}", r.name, r.desc.digest),
                format!(
                    "{} is pinned to {want} (pins line {}) but the bundle holds {}",
                    r.name, p.line, r.desc.digest
                ),
            )),
            None => report.findings.push(Finding::error(
                Code::PinMissing,
                p.reference.given(),
                format!(
                    "pinned reference {} (line {}) is not in the bundle",
                    p.reference.given(),
                    p.line
                ),
            )),
        }
    }
    if let Some(lock) = &lock {
        let by_name: HashMap<&str, &Root> = roots.iter().map(|r| (r.name.as_str(), r)).collect();
        for li in &lock.images {
            match by_name.get(li.r#ref.as_str()) {
                // One platform of the locked index may be pushed alone (`push --platform`).
                Some(r)
                    if r.desc.digest != li.digest
                        && !li
                            .platforms
                            .iter()
                            .any(|p| p.captured && p.digest == r.desc.digest) =>
                {
                    report.findings.push(Finding::error(
                        Code::LockInvalid,
                        format!("{}@{}", r.name, r.desc.digest),
                        format!(
                            "the lock says {} is {} but the bundle's index.json names {}",
                            li.r#ref, li.digest, r.desc.digest
                        ),
                    ))
                }
                Some(r) => {
                    if let Some(own) = r.name.contains('/').then(|| r.repository.clone()).flatten() {
                        if !same_repository(&own, &li.repository) {
                            report.findings.push(Finding::error(
                                Code::LockInvalid,
                                format!("{}@{}", r.name, r.desc.digest),
                                format!(
                                    "the lock names the repository of {} as {:?}, but the reference names {own:?}: one name is used everywhere, so the lock was edited or is not this bundle's",
                                    li.r#ref, li.repository
                                ),
                            ));
                        }
                    }
                }
                None if view.withheld.contains(&li.r#ref) => report.findings.push(Finding::info(
                    Code::ImageUnverified,
                    &li.r#ref,
                    format!(
                        "{} ({}) was not pushed: it did not pass verification (the mapping has no entry for it)",
                        li.r#ref, li.digest
                    ),
                )),
                None => report.findings.push(Finding::error(
                    Code::LockInvalid,
                    &li.r#ref,
                    format!(
                        "the lock lists {} ({}) but the bundle's index.json does not name it",
                        li.r#ref, li.digest
                    ),
                )),
            }
        }
        // The lock is the bundle's manifest: nothing may be in index.json that it does not list.
        let mut listed: BTreeSet<&Digest> = BTreeSet::new();
        for li in &lock.images {
            listed.insert(&li.digest);
            listed.extend(li.platforms.iter().map(|p| &p.digest));
            listed.extend(li.attachments.iter().map(|a| &a.digest));
        }
        for e in view.entries.iter().filter(|_| !view.entries_from_lock) {
            let name = e.annotation(ANNOTATION_REF_NAME).unwrap_or("");
            let is_root_listed = lock.images.iter().any(|li| li.r#ref == name);
            let unlisted = if is_attachment_entry(view, e) {
                // A lock written by another tool lists images only.
                lock.schema != "foreign" && !listed.contains(&e.digest)
            } else {
                !is_root_listed
            };
            if unlisted {
                report.findings.push(Finding::error(
                    Code::LockUnlisted,
                    format!("{}@{}", if name.is_empty() { "(unnamed)" } else { name }, e.digest),
                    format!(
                        "index.json names {} ({}), which the lock does not list: it was added after capture",
                        if name.is_empty() { "an unnamed entry" } else { name },
                        e.digest
                    ),
                ));
            }
        }
    }

    // Images are independent: check them on the threads the caller allows, keeping the report in
    // index order.
    let workers = parallelism.clamp(1, 16);
    let chunk = roots.len().div_ceil(workers).max(1);
    let per_chunk: Vec<Vec<ImageReport>> = std::thread::scope(|s| {
        let handles: Vec<_> = roots
            .chunks(chunk)
            .map(|part| {
                let (locked, attachments, roots_at) = (&locked, &attachments, &roots_at);
                s.spawn(move || {
                    part.iter()
                        .map(|root| {
                            let locked_image = locked.get(root.name.as_str()).copied();
                            verify_root(
                                view,
                                policy,
                                trust,
                                roots_at,
                                locked_image,
                                attachments,
                                root,
                                at,
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    for (part, done) in roots.chunks(chunk).zip(per_chunk) {
        if done.len() != part.len() {
            // A worker panicked: that is a bug, and the images it held were not checked.
            for root in part {
                report.findings.push(Finding::error(
                    Code::ManifestInvalid,
                    &root.name,
                    "internal error while checking this image (please report this airlock bug); it was not verified",
                ));
            }
        }
        report.images.extend(done);
    }
    report.finalise();
    report
}

/// The lock as the core judged it.
struct CheckedLock {
    lock: Option<Lock>,
    /// Its DSSE signature verified with the capture key or a `lock.signers` key.
    authenticated: bool,
}

/// Check the lock and its signature. The lock is the bundle's manifest: with `--capture-key` or
/// the policy's `lock.signers` it must be present and signed; a signature file that is present
/// must parse; a present but unchecked signature is named (`lock-unverified`).
fn check_lock(
    input: &LockInput,
    policy: &Policy,
    trust: &Trust,
    report: &mut Report,
) -> CheckedLock {
    let mut signers: Vec<(String, &PublicKey)> = Vec::new();
    if let Some(k) = &input.capture_key {
        signers.push(("--capture-key".to_string(), k));
    }
    for n in &policy.lock_signers {
        if let Some(k) = trust.keys.get(n) {
            signers.push((format!("key {n} (lock.signers)"), k));
        }
    }
    let required = input.capture_key.is_some() || !policy.lock_signers.is_empty();
    let lock_err = |report: &mut Report, msg: String| {
        report
            .findings
            .push(Finding::error(Code::LockInvalid, &input.source, msg));
    };
    let envelope = match &input.envelope {
        None => None,
        Some(bytes) => match Envelope::parse(bytes) {
            Ok(e) => Some(e),
            Err(e) => {
                lock_err(
                    report,
                    format!("the signed lock ({LOCK_DSSE_NAME}) is not a DSSE envelope: {e}"),
                );
                None
            }
        },
    };
    let Some(bytes) = input.bytes.as_ref() else {
        if required {
            lock_err(report, "the bundle has no lock (airlock.lock.json), but --capture-key or the policy's lock.signers requires a signed one: without it nothing says what the bundle should hold".into());
        } else if input.envelope.is_some() {
            lock_err(report, format!("the bundle has a signed lock ({LOCK_DSSE_NAME}) but no airlock.lock.json: the lock was removed"));
        }
        return CheckedLock {
            lock: None,
            authenticated: false,
        };
    };
    report.inputs.lock_sha256 = Some(Digest::sha256_of(bytes).to_string());
    let mut authenticated = false;
    match (&envelope, required) {
        (_, false) => {
            if envelope.is_some() {
                report.findings.push(Finding::warning(
                    Code::LockUnverified,
                    &input.source,
                    format!("the lock is signed ({LOCK_DSSE_NAME}) but no key was given to check the signature, so the lock's contents are not authenticated; give --capture-key PUB or set lock.signers in the policy"),
                ));
            }
        }
        (None, true) => {
            if input.envelope.is_none() {
                lock_err(report, format!("a signed lock is required (--capture-key or lock.signers) but the bundle has no {LOCK_DSSE_NAME}"));
            }
        }
        (Some(env), true) => {
            if env.payload_type != LOCK_PAYLOAD_TYPE {
                lock_err(
                    report,
                    format!(
                        "signed lock payloadType is {:?}, expected {LOCK_PAYLOAD_TYPE:?}",
                        env.payload_type
                    ),
                );
            } else {
                match signers.iter().find(|(_, k)| env.verify(k).is_ok()) {
                    None => lock_err(
                        report,
                        format!(
                            "the lock's signature does not verify with {}",
                            signers
                                .iter()
                                .map(|(n, k)| format!("{n} ({})", k.key_id()))
                                .collect::<Vec<_>>()
                                .join(" or ")
                        ),
                    ),
                    Some((_, k)) if env.payload != *bytes => {
                        let _ = k;
                        lock_err(report, "airlock.lock.json differs from the signed lock in airlock.lock.dsse.json: the lock was edited after capture".into());
                    }
                    Some((_, k)) => {
                        report.inputs.lock_signed_by = Some(k.key_id());
                        authenticated = true;
                    }
                }
            }
        }
    }
    match Lock::parse(bytes) {
        Ok(l) => CheckedLock {
            lock: Some(l),
            authenticated,
        },
        Err(e) => {
            lock_err(report, e.to_string());
            CheckedLock {
                lock: None,
                authenticated: false,
            }
        }
    }
}

/// Per-image state while checking.
struct Img<'a> {
    rep: ImageReport,
    subject_name: String,
    view: &'a BundleView,
    checked_blobs: BTreeSet<Digest>,
    /// The root's ref name is bare and no lock names its repository.
    source_unknown: bool,
    /// Candidates (signatures, attestations) that did not satisfy anything, with why. They
    /// become errors only when no candidate satisfies the requirement (see `decide`).
    rejected: Vec<Rejected>,
}

/// What a rejected candidate was offered for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Candidate {
    Signature,
    Attestation,
}

/// One candidate that did not satisfy a requirement, and why.
struct Rejected {
    kind: Candidate,
    subject: Digest,
    finding: Finding,
}

impl Img<'_> {
    fn err(&mut self, code: Code, msg: impl Into<String>) {
        self.rep
            .findings
            .push(Finding::error(code, self.subject_name.clone(), msg));
    }
    /// A candidate signature or attestation that does not satisfy the rule: recorded, and an
    /// error only if nothing else satisfies the requirement.
    fn reject(&mut self, kind: Candidate, subject: &Digest, code: Code, msg: impl Into<String>) {
        let finding = Finding::error(code, self.subject_name.clone(), msg);
        self.rejected.push(Rejected {
            kind,
            subject: subject.clone(),
            finding,
        });
    }
    /// Settle the candidates of one kind: when the requirement on `subject` is unmet, the most
    /// specific rejected candidate on it becomes the error (or `missing` when there was none);
    /// every other rejected candidate is recorded as info.
    fn decide(
        &mut self,
        kind: Candidate,
        subject: &Digest,
        satisfied: bool,
        missing: Option<Finding>,
    ) {
        let mut mine: Vec<Rejected> = Vec::new();
        let mut rest: Vec<Rejected> = Vec::new();
        for r in std::mem::take(&mut self.rejected) {
            if r.kind == kind {
                mine.push(r)
            } else {
                rest.push(r)
            }
        }
        self.rejected = rest;
        let best = if satisfied {
            None
        } else {
            mine.iter()
                .enumerate()
                .filter(|(_, r)| &r.subject == subject)
                .max_by_key(|(i, r)| (r.finding.candidate_rank(), std::cmp::Reverse(*i)))
                .map(|(i, _)| i)
        };
        if let (false, None, Some(m)) = (satisfied, best, missing) {
            self.rep.findings.push(m);
        }
        for (i, r) in mine.into_iter().enumerate() {
            let f = if Some(i) == best {
                r.finding
            } else {
                let message = format!("not counted: {}", r.finding.message);
                Finding {
                    message,
                    ..r.finding.into_info()
                }
            };
            self.rep.findings.push(f);
        }
    }
    fn warn(&mut self, code: Code, msg: impl Into<String>) {
        self.rep
            .findings
            .push(Finding::warning(code, self.subject_name.clone(), msg));
    }

    /// Integrity of one manifest and, recursively, everything it references.
    fn integrity(
        &mut self,
        d: &Digest,
        what: &str,
        optional_children: &BTreeSet<Digest>,
    ) -> Option<&Manifest> {
        if let Some(p) = self.view.manifest_problems.get(d) {
            let p = p.clone();
            match p {
                ManifestProblem::Missing => {
                    if optional_children.contains(d) {
                        return None;
                    }
                    self.err(
                        Code::BlobMissing,
                        format!("{what} manifest {d} is not in the bundle"),
                    )
                }
                ManifestProblem::DigestMismatch { actual } => self.err(
                    Code::BlobDigestMismatch,
                    format!("{what} manifest {d} hashes to {actual}: altered after capture"),
                ),
                ManifestProblem::NotRegular(k) => self.err(
                    Code::LayoutInvalid,
                    format!("{what} manifest {d} is {k}, not a regular file"),
                ),
                ManifestProblem::TooLarge { size, limit } => self.err(
                    Code::LimitExceeded,
                    format!("{what} manifest {d} is {size} bytes, over the {limit}-byte limit"),
                ),
                ManifestProblem::Invalid(e) => {
                    self.err(Code::ManifestInvalid, format!("{what} manifest {d}: {e}"))
                }
                ManifestProblem::Unreadable(e) => self.err(
                    Code::BlobMissing,
                    format!("{what} manifest {d} unreadable: {e}"),
                ),
            }
            return None;
        }
        let view = self.view;
        let m = view.manifests.get(d)?;
        for b in m.blob_descriptors() {
            if !self.checked_blobs.insert(b.digest.clone()) {
                continue;
            }
            if !b.urls.is_empty()
                && matches!(view.blob_states.get(&b.digest), Some(BlobState::Missing))
            {
                self.warn(
                    Code::BlobMissing,
                    format!(
                        "foreign layer {} of {what} {d} is served from {:?} and not in the bundle",
                        b.digest, b.urls
                    ),
                );
                continue;
            }
            match view.blob_states.get(&b.digest) {
                Some(BlobState::Ok) => {}
                Some(BlobState::Missing) | None => self.err(
                    Code::BlobMissing,
                    format!(
                        "blob {} ({}) of {what} {d} is not in the bundle",
                        b.digest, b.media_type
                    ),
                ),
                Some(BlobState::DigestMismatch { actual }) => {
                    let actual = actual.clone();
                    self.err(
                        Code::BlobDigestMismatch,
                        format!(
                            "blob {} of {what} {d} hashes to {actual}: altered after capture",
                            b.digest
                        ),
                    )
                }
                Some(BlobState::SizeMismatch { expected, actual }) => {
                    let (e, a) = (*expected, *actual);
                    self.err(
                        Code::BlobDigestMismatch,
                        format!(
                            "blob {} of {what} {d} is {a} bytes, its descriptor says {e}",
                            b.digest
                        ),
                    )
                }
                Some(BlobState::NotRegular(k)) => {
                    let k = k.clone();
                    self.err(
                        Code::LayoutInvalid,
                        format!("blob {} of {what} {d} is {k}; refusing it", b.digest),
                    )
                }
                Some(BlobState::Unreadable(e)) => {
                    let e = e.clone();
                    self.err(
                        Code::BlobMissing,
                        format!("blob {} of {what} {d} is unreadable: {e}", b.digest),
                    )
                }
            }
        }
        for c in m.child_descriptors() {
            if c.size != 0
                && view
                    .manifests
                    .get(&c.digest)
                    .is_some_and(|cm| cm.size() != c.size)
            {
                self.err(
                    Code::BlobDigestMismatch,
                    format!(
                        "child {} of {d} is {} bytes, the index says {}",
                        c.digest,
                        view.manifests[&c.digest].size(),
                        c.size
                    ),
                );
            }
            self.integrity(&c.digest, "child", optional_children);
        }
        view.manifests.get(d)
    }
}

#[allow(clippy::too_many_arguments)]
fn verify_root(
    view: &BundleView,
    policy: &Policy,
    trust: &Trust,
    roots_at: &BTreeMap<String, TrustedRoot>,
    locked: Option<&LockedImage>,
    att: &Attachments,
    root: &Root,
    at: &str,
) -> ImageReport {
    let digest = root.desc.digest.clone();
    let mut img = Img {
        rep: ImageReport {
            r#ref: root.name.clone(),
            digest: digest.to_string(),
            result: Outcome::Pass,
            rule: None,
            platforms: Vec::new(),
            signatures: Vec::new(),
            attestations: Vec::new(),
            sboms: Vec::new(),
            findings: Vec::new(),
            judged: Default::default(),
        },
        subject_name: format!("{}@{}", root.name, digest),
        view,
        checked_blobs: BTreeSet::new(),
        source_unknown: root.source_unknown,
        rejected: Vec::new(),
    };

    // Children that capture deliberately left out (--platform).
    let skipped: BTreeSet<Digest> = locked
        .map(|l| {
            l.platforms
                .iter()
                .filter(|p| !p.captured)
                .map(|p| p.digest.clone())
                .collect()
        })
        .unwrap_or_default();

    let early_rule: Option<&Rule> = root.repository.as_deref().and_then(|r| policy.rule_for(r));
    // 1. Integrity of the image tree.
    if root.desc.size != 0
        && view
            .manifests
            .get(&digest)
            .is_some_and(|m| m.size() != root.desc.size)
    {
        img.err(
            Code::BlobDigestMismatch,
            format!(
                "index.json says the manifest is {} bytes, it is {}",
                root.desc.size,
                view.manifests[&digest].size()
            ),
        );
    }
    let Some(m) = img.integrity(&digest, "image", &skipped).cloned() else {
        return img.rep;
    };
    let mut tree: Vec<Digest> = vec![digest.clone()];
    for c in m.child_descriptors() {
        let present = view.manifests.contains_key(&c.digest);
        img.rep.platforms.push(PlatformEntry {
            platform: c
                .platform
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_else(|| "unknown".into()),
            digest: c.digest.to_string(),
            present,
        });
        if present {
            tree.push(c.digest.clone());
        }
        if !present && skipped.contains(&c.digest) {
            let pname = c
                .platform
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_else(|| "unknown".into());
            // The policy decides what is required: a platform it lists is checked below. One
            // it does not list may be left out when the lock (signed and checked) says so, or
            // when the rule names the platforms it needs; an unauthenticated lock's word alone
            // never waives content.
            let waived = root.lock_authenticated
                || early_rule.is_some_and(|r| {
                    !r.platforms.is_empty()
                        && !c
                            .platform
                            .as_ref()
                            .is_some_and(|p| r.platforms.iter().any(|w| platform_eq(w, p)))
                });
            if waived {
                img.rep.findings.push(Finding::info(
                    Code::PlatformMissing,
                    img.subject_name.clone(),
                    format!(
                        "platform {pname} ({}) was left out at capture (--platform); the policy does not require it",
                        c.digest
                    ),
                ));
            } else {
                img.err(
                    Code::PlatformMissing,
                    format!(
                        "platform {pname} ({}) is not in the bundle; the lock says it was left out at capture, but the lock's signature was not checked (give --capture-key or lock.signers) and the rule does not list which platforms it needs",
                        c.digest
                    ),
                );
            }
        }
    }
    if let Some(l) = locked {
        // `push --platform`: the root is one captured platform of the locked index; the
        // index's own platforms and attachments were not pushed with it.
        let platform_push =
            l.digest != digest && l.platforms.iter().any(|p| p.captured && p.digest == digest);
        for p in &l.platforms {
            if platform_push {
                break;
            }
            if p.captured && !m.child_descriptors().iter().any(|c| c.digest == p.digest) {
                img.err(
                    Code::PinMismatch,
                    format!(
                        "the lock lists platform {} as {}, which the index does not name",
                        p.platform, p.digest
                    ),
                );
            }
        }
        for a in &l.attachments {
            if platform_push && a.subject == l.digest {
                continue;
            }
            if !view.manifests.contains_key(&a.digest)
                && !view.manifest_problems.contains_key(&a.digest)
            {
                let code = match a.kind {
                    AttachmentKind::Sig => Code::SignatureMissing,
                    AttachmentKind::Att => Code::AttestationMissing,
                    AttachmentKind::Sbom => Code::SbomMissing,
                    _ => Code::BlobMissing,
                };
                img.err(
                    code,
                    format!(
                        "the lock lists {} {:?} ({}) for {}, but the bundle does not hold it",
                        kind_name(a.kind),
                        a.r#ref.as_deref().unwrap_or(""),
                        a.digest,
                        a.subject
                    ),
                );
            }
        }
    }

    // Attachments of the image and each child: integrity first.
    let mut sig_manifests: Vec<(Digest, Digest)> = Vec::new(); // (subject, sig manifest)
    let mut att_manifests: Vec<(Digest, Digest)> = Vec::new();
    let mut sbom_manifests: Vec<(Digest, Digest)> = Vec::new();
    let mut bundle_manifests: Vec<(Digest, Digest)> = Vec::new();
    let mut other_referrers: Vec<(Digest, Digest)> = Vec::new();
    let mut frontier: Vec<(Digest, usize)> = tree.iter().map(|d| (d.clone(), 0)).collect();
    let mut seen = BTreeSet::new();
    while let Some((subject, depth)) = frontier.pop() {
        if depth > 3 || !seen.insert(subject.clone()) {
            continue;
        }
        for (kind, list) in [
            (AttachmentKind::Sig, &mut sig_manifests),
            (AttachmentKind::Att, &mut att_manifests),
            (AttachmentKind::Sbom, &mut sbom_manifests),
        ] {
            for d in att.tagged(&subject, kind) {
                if img
                    .integrity(&d, kind_name(kind), &BTreeSet::new())
                    .is_some()
                {
                    list.push((subject.clone(), d.clone()));
                    frontier.push((d, depth + 1));
                }
            }
        }
        for d in att.referrers_of(&subject) {
            if let Some(rm) = img.integrity(&d, "referrer", &BTreeSet::new()) {
                let at = rm.artifact_type().unwrap_or("").to_string();
                if at.starts_with("application/vnd.dev.sigstore.bundle")
                    || rm.layers().iter().any(|l| {
                        l.media_type
                            .starts_with("application/vnd.dev.sigstore.bundle")
                    })
                {
                    bundle_manifests.push((subject.clone(), d.clone()));
                } else if rm
                    .layers()
                    .iter()
                    .any(|l| l.media_type == MEDIA_COSIGN_SIMPLESIGNING)
                {
                    sig_manifests.push((subject.clone(), d.clone()));
                } else if rm
                    .layers()
                    .iter()
                    .any(|l| l.media_type == MEDIA_DSSE_ENVELOPE)
                {
                    att_manifests.push((subject.clone(), d.clone()));
                } else if rm
                    .layers()
                    .iter()
                    .any(|l| sbom::sbom_media_type_kind(&l.media_type).is_some())
                {
                    sbom_manifests.push((subject.clone(), d.clone()));
                } else {
                    other_referrers.push((subject.clone(), d.clone()));
                }
                frontier.push((d, depth + 1));
            }
        }
    }

    // 2. Policy rule.
    let repository = root.repository.clone().unwrap_or_default();
    let rule: Option<&Rule> = policy.rule_for(&repository);
    let Some(rule) = rule else {
        match policy.unmatched {
            Unmatched::Deny => img.err(
                Code::PolicyUnmatched,
                format!("no policy rule matches repository {repository:?} and the policy says unmatched: deny"),
            ),
            Unmatched::Allow => img.warn(Code::PolicyUnmatched, format!("no policy rule matches repository {repository:?}; allowed by unmatched: allow (integrity and pins checked only)")),
        }
        return img.rep;
    };
    img.rep.rule = Some(rule.describe());

    // 3. Platforms.
    if !rule.platforms.is_empty() && m.is_index() {
        for want in &rule.platforms {
            let found = m
                .child_descriptors()
                .iter()
                .find(|c| c.platform.as_ref().is_some_and(|p| platform_eq(want, p)));
            match found {
                None => img.err(
                    Code::PlatformMissing,
                    format!(
                        "the policy requires platform {want}; the index has {}",
                        platform_list(&m)
                    ),
                ),
                Some(c) if !view.manifests.contains_key(&c.digest) => img.err(
                    Code::PlatformMissing,
                    format!(
                        "the policy requires platform {want}; its manifest {} is not in the bundle",
                        c.digest
                    ),
                ),
                Some(_) => {}
            }
        }
    } else if !rule.platforms.is_empty() {
        // A single-platform image must be one of the listed platforms (read from its config).
        match single_platform(view, &m) {
            Some(p) if rule.platforms.iter().any(|w| platform_eq(w, &p)) => {}
            Some(p) => img.err(
                Code::PlatformMissing,
                format!(
                    "the policy requires platform(s) {}; {digest} is a single-platform image for {p}",
                    rule.platforms.join(", ")
                ),
            ),
            None => img.err(
                Code::PlatformMissing,
                format!(
                    "the policy requires platform(s) {}; {digest} is a single-platform image whose config does not say its platform (os/architecture)",
                    rule.platforms.join(", ")
                ),
            ),
        }
    }

    // 4. Signatures and attestations.
    let all_keys: Vec<(&str, &PublicKey)> =
        trust.keys.iter().map(|(n, k)| (n.as_str(), k)).collect();
    let known: Vec<(&str, &PublicKey)> = all_keys
        .iter()
        .copied()
        .chain(trust.known_keys.iter().map(|(n, k)| (n.as_str(), k)))
        .collect();
    let sig_keys: Vec<(&str, &PublicKey)> = match &rule.signatures {
        SignatureRule::None => Vec::new(),
        SignatureRule::Required(s) => s
            .keys
            .iter()
            .filter_map(|n| trust.keys.get(n).map(|k| (n.as_str(), k)))
            .collect(),
    };
    let at_time =
        time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok();
    let mut trusted_sig_on_root = false;
    if let SignatureRule::Required(signers) = &rule.signatures {
        for (subject, sm) in &sig_manifests {
            let ok = check_simple_signatures(
                &mut img,
                view,
                subject,
                sm,
                &sig_keys,
                &known,
                signers,
                &repository,
                roots_at,
            );
            if ok && subject == &digest {
                trusted_sig_on_root = true;
            }
        }
        for (subject, bm) in &bundle_manifests {
            if let Some(true) = check_bundle(
                &mut img, view, subject, bm, &sig_keys, &known, rule, roots_at,
            ) {
                if subject == &digest {
                    trusted_sig_on_root = true;
                }
            }
        }
        // Key validity (revoked, outside validFrom/validUntil) and the distinct-signer threshold.
        let distinct = settle_signatures(&mut img, policy, at_time, &digest);
        trusted_sig_on_root = trusted_sig_on_root && distinct > 0;
        if distinct > 0 && distinct < signers.threshold {
            img.err(
                Code::SignatureThresholdUnmet,
                format!(
                    "signatures.threshold is {}: expected valid signatures on {digest} from {} \
                     distinct signers of {}; found {distinct} (several signatures by one key \
                     count once)",
                    signers.threshold,
                    signers.threshold,
                    describe_signers(signers)
                ),
            );
        }
        let have = sig_manifests.iter().filter(|(s, _)| s == &digest).count()
            + bundle_manifests
                .iter()
                .filter(|(s, _)| s == &digest)
                .count();
        let signers_desc = describe_signers(signers);
        let missing = Finding::error(
            Code::SignatureMissing,
            img.subject_name.clone(),
            if have == 0 {
                format!("expected a signature from {signers_desc} on {digest}; the bundle has no signature for it (.sig tag or referrer)")
            } else {
                format!("expected a signature from {signers_desc} on {digest}; none of the {have} signature artifact(s) found verifies with a trusted signer")
            },
        );
        img.decide(
            Candidate::Signature,
            &digest,
            trusted_sig_on_root,
            Some(missing),
        );
    }

    // Attestations: verify every envelope with any key the rule names for attestations or signatures.
    let mut att_keys: Vec<(&str, &PublicKey)> = sig_keys.clone();
    for a in &rule.attestations {
        for n in &a.keys {
            if let Some(k) = trust.keys.get(n) {
                if !att_keys.iter().any(|(x, _)| x == n) {
                    att_keys.push((n.as_str(), k));
                }
            }
        }
    }
    for set in judged_signer_sets(rule) {
        for n in &set.keys {
            if let Some(k) = trust.keys.get(n) {
                if !att_keys.iter().any(|(x, _)| x == n) {
                    att_keys.push((n.as_str(), k));
                }
            }
        }
    }
    let needs_atts = !rule.attestations.is_empty()
        || rule.provenance.is_some()
        || rule.vulnerabilities.is_some()
        || rule.sbom == SbomRequirement::Required
        || !att_keys.is_empty();
    let mut verified: Vec<super::judge::Verified> = Vec::new();
    if needs_atts {
        for (subject, am) in &att_manifests {
            verify_attestations(
                &mut img,
                view,
                subject,
                am,
                &att_keys,
                &known,
                &mut verified,
            );
        }
        for (subject, bm) in &bundle_manifests {
            check_bundle_attestation(
                &mut img,
                view,
                subject,
                bm,
                &att_keys,
                &keyless_signers(rule),
                roots_at,
                &mut verified,
            );
        }
    }
    // Attestations signed with a revoked or expired key do not count.
    let mut invalid_key: Vec<(Code, String)> = Vec::new();
    verified.retain(|v| match key_problem(policy, &v.signer, at_time) {
        Some((code, why)) => {
            invalid_key.push((
                code,
                format!(
                    "attestation {} ({}) on {}: {why}; it does not count",
                    v.envelope, v.statement.predicate_type, v.subject
                ),
            ));
            false
        }
        None => true,
    });
    for (code, msg) in invalid_key {
        img.warn(code, msg);
    }
    let mut unmet = 0usize;
    for req in &rule.attestations {
        let ok = verified.iter().any(|v| {
            v.subject == digest.to_string()
                && intoto::predicate_type_matches(&req.predicate_type, &v.statement.predicate_type)
                && (req.keys.is_empty() || req.keys.contains(&v.signer))
        });
        if !ok {
            unmet += 1;
            let from = if req.keys.is_empty() {
                String::from("any trusted key")
            } else {
                format!("key(s) {}", req.keys.join(", "))
            };
            img.err(Code::AttestationMissing, format!("expected an attestation with predicateType {} signed by {from} for {digest}; none found that verifies", req.predicate_type));
        }
    }
    // Rejected attestations explain an unmet requirement (the most specific one becomes an
    // error next to attestation-missing); otherwise they are recorded as info.
    img.decide(Candidate::Attestation, &digest, unmet == 0, None);

    // 5. SBOMs: from verified SBOM attestations, and from .sbom attachments.
    let want_docs = !rule.deny_packages.is_empty();
    let mut sbom_docs: Vec<(String, Vec<Cow<str>>)> = Vec::new();
    for v in &verified {
        let (subj, st) = (&v.subject, &v.statement);
        if st.predicate_kind().is_sbom() {
            match sbom::read_sbom_value(&st.predicate) {
                Ok(s) => {
                    img.rep.sboms.push(sbom_entry(&s.summary, "attestation"));
                    if want_docs {
                        sbom_docs.push((format!("attestation {} for {subj}", v.envelope), s.purls));
                    }
                }
                Err(e) => img.err(
                    Code::SbomInvalid,
                    format!("SBOM attestation ({}) for {subj}: {e}", st.predicate_type),
                ),
            }
        }
    }
    for (subject, sm) in &sbom_manifests {
        let Some(man) = view.manifests.get(sm) else {
            continue;
        };
        for l in man.layers() {
            let Some(bytes) = view.blobs.get(&l.digest) else {
                continue;
            };
            match sbom::sbom_media_type_kind(&l.media_type) {
                Some(_) => match sbom::read_sbom_json(bytes) {
                    Ok(s) => {
                        if subject == &digest || tree.contains(subject) {
                            img.rep.sboms.push(sbom_entry(&s.summary, "attachment"));
                            if want_docs {
                                sbom_docs.push((
                                    format!("attachment {} for {subject}", l.digest),
                                    s.purls,
                                ));
                            }
                        }
                    }
                    Err(e) => img.err(Code::SbomInvalid, format!("SBOM {} ({}) attached to {subject}: {e}", l.digest, l.media_type)),
                },
                None => img.err(Code::SbomInvalid, format!("SBOM layer {} of {sm} has media type {:?}, which airlock cannot read (SPDX JSON or CycloneDX JSON expected)", l.digest, l.media_type)),
            }
        }
    }
    if rule.sbom == SbomRequirement::Required && img.rep.sboms.is_empty() {
        img.err(Code::SbomMissing, format!("the policy requires an SBOM (SPDX or CycloneDX, attested or attached) for {digest}; none found"));
    }

    // 6. What the attestations say: provenance, vulnerability scans with VEX, package bans.
    let children: Vec<String> = tree
        .iter()
        .filter(|d| *d != &digest)
        .map(|d| d.to_string())
        .collect();
    let root_text = digest.to_string();
    let judged = super::judge::judge(&super::judge::Input {
        rule,
        at: time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok(),
        root: &root_text,
        children: &children,
        attestations: &verified,
        sboms: &sbom_docs,
    });
    for j in judged.findings {
        if j.error {
            img.err(j.code, j.message);
        } else {
            img.warn(j.code, j.message);
        }
    }
    img.rep.judged = judged.judged;
    for r in std::mem::take(&mut img.rejected) {
        img.rep.findings.push(r.finding.into_info());
    }
    img.rep
}

/// Why a policy key may not be used at `at`: revoked, or outside its validity window.
fn key_problem(
    policy: &Policy,
    name: &str,
    at: Option<time::OffsetDateTime>,
) -> Option<(Code, String)> {
    let v = policy.key_validity.get(name)?;
    if v.revoked {
        return Some((
            Code::KeyRevoked,
            format!("key {name} is marked revoked in the policy"),
        ));
    }
    let fmt = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let Some(at) = at else {
        return Some((
            Code::KeyExpired,
            format!(
                "key {name} has a validity window, but the verification time could not be read"
            ),
        ));
    };
    if let Some(from) = v.valid_from.filter(|f| at < *f) {
        return Some((
            Code::KeyExpired,
            format!(
                "key {name} is valid from {}, after the signing time {}",
                fmt(from),
                fmt(at)
            ),
        ));
    }
    if let Some(until) = v.valid_until.filter(|u| at > *u) {
        return Some((
            Code::KeyExpired,
            format!(
                "key {name} was valid until {}, before the signing time {}",
                fmt(until),
                fmt(at)
            ),
        ));
    }
    None
}

/// Signatures that verified with a revoked key, or with a key outside its validity window at the
/// verification time (no signature carries a trusted timestamp for key-based signing), do not
/// count: they become rejected candidates. Returns how many distinct signers (by key id, or by
/// identity for keyless) remain on `digest`.
fn settle_signatures(
    img: &mut Img,
    policy: &Policy,
    at: Option<time::OffsetDateTime>,
    digest: &Digest,
) -> usize {
    let mut rejected: Vec<(Digest, Code, String)> = Vec::new();
    for e in img.rep.signatures.iter_mut().filter(|e| e.verified) {
        let Some(name) = e.signer.clone() else {
            continue;
        };
        if let Some((code, why)) = key_problem(policy, &name, at) {
            e.verified = false;
            if let Ok(subject) = Digest::parse(&e.subject) {
                rejected.push((
                    subject,
                    code,
                    format!(
                        "signature in {} on {}: {why}; it does not count",
                        e.manifest, e.subject
                    ),
                ));
            }
        }
    }
    for (subject, code, msg) in rejected {
        img.reject(Candidate::Signature, &subject, code, msg);
    }
    let distinct: BTreeSet<String> = img
        .rep
        .signatures
        .iter()
        .filter(|e| e.verified && e.subject == digest.to_string())
        .map(|e| {
            e.key_id
                .clone()
                .or_else(|| e.signer.clone())
                .unwrap_or_default()
        })
        .collect();
    distinct.len()
}

/// The signer sets of a rule's provenance, vulnerability and VEX requirements.
fn judged_signer_sets(rule: &Rule) -> Vec<&crate::policy::SignerSet> {
    let mut out = Vec::new();
    if let Some(p) = &rule.provenance {
        out.push(&p.signers);
    }
    if let Some(v) = &rule.vulnerabilities {
        out.push(&v.signers);
        if let Some(x) = &v.vex {
            out.push(x);
        }
    }
    out
}

fn kind_name(k: AttachmentKind) -> &'static str {
    match k {
        AttachmentKind::Sig => "signature",
        AttachmentKind::Att => "attestation",
        AttachmentKind::Sbom => "sbom",
        AttachmentKind::Referrer => "referrer",
        AttachmentKind::ReferrersIndex => "referrers index",
    }
}

fn platform_eq(want: &str, p: &crate::oci::Platform) -> bool {
    let s = p.to_string();
    s == want || (want.split('/').count() == 2 && format!("{}/{}", p.os, p.architecture) == want)
}

/// The platform of a single-platform image, from its config blob (`os`, `architecture`,
/// `variant`).
fn single_platform(view: &BundleView, m: &Manifest) -> Option<crate::oci::Platform> {
    let config = m.blob_descriptors().into_iter().next()?;
    let bytes = view.blobs.get(&config.digest)?;
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let os = v.get("os")?.as_str()?;
    let arch = v.get("architecture")?.as_str()?;
    serde_json::from_value(serde_json::json!({
        "os": os,
        "architecture": arch,
        "variant": v.get("variant").and_then(|x| x.as_str()),
    }))
    .ok()
}

fn platform_list(m: &Manifest) -> String {
    let v: Vec<String> = m
        .child_descriptors()
        .iter()
        .filter_map(|c| c.platform.as_ref().map(|p| p.to_string()))
        .collect();
    if v.is_empty() {
        "no platforms".into()
    } else {
        v.join(", ")
    }
}

fn describe_signers(s: &crate::policy::Signers) -> String {
    let mut parts: Vec<String> = s.keys.iter().map(|k| format!("key {k}")).collect();
    for k in &s.keyless {
        parts.push(format!(
            "keyless {} / {}",
            k.issuer
                .as_deref()
                .or(k.issuer_regexp.as_deref())
                .unwrap_or("?"),
            k.subject
                .as_deref()
                .or(k.subject_regexp.as_deref())
                .unwrap_or("?")
        ));
    }
    if parts.is_empty() {
        "a trusted signer".into()
    } else {
        parts.join(" or ")
    }
}

fn sbom_entry(s: &sbom::SbomSummary, source: &str) -> SbomEntry {
    SbomEntry {
        format: match s.format {
            sbom::SbomFormat::Spdx => "spdx".into(),
            sbom::SbomFormat::CycloneDx => "cyclonedx".into(),
        },
        spec_version: s.spec_version.clone(),
        packages: s.packages,
        source: source.into(),
        name: s.name.clone(),
    }
}

fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(s))
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(s))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s))
        .ok()
}

/// Check every simple-signing layer of one `.sig` manifest. True when one is from a trusted key,
/// names this digest and an allowed identity.
#[allow(clippy::too_many_arguments)]
fn check_simple_signatures(
    img: &mut Img,
    view: &BundleView,
    subject: &Digest,
    sig_manifest: &Digest,
    keys: &[(&str, &PublicKey)],
    known: &[(&str, &PublicKey)],
    signers: &crate::policy::Signers,
    repository: &str,
    roots: &BTreeMap<String, TrustedRoot>,
) -> bool {
    let Some(man) = view.manifests.get(sig_manifest) else {
        return false;
    };
    let mut any_ok = false;
    for layer in man.layers() {
        if layer.media_type != MEDIA_COSIGN_SIMPLESIGNING {
            continue;
        }
        let mut entry = SignatureEntry {
            format: "cosign".into(),
            subject: subject.to_string(),
            manifest: sig_manifest.to_string(),
            verified: false,
            signer: None,
            key_id: None,
            docker_reference: None,
        };
        let Some(payload) = view.blobs.get(&layer.digest) else {
            // Integrity findings already name the missing/altered payload.
            img.rep.signatures.push(entry);
            continue;
        };
        let Some(sig_b64) = layer.annotation(ANNOTATION_COSIGN_SIGNATURE) else {
            img.reject(Candidate::Signature, subject, Code::SignatureInvalid, format!("signature layer {} of {sig_manifest} has no {ANNOTATION_COSIGN_SIGNATURE} annotation", layer.digest));
            img.rep.signatures.push(entry);
            continue;
        };
        let Some(sig) = b64_decode(sig_b64) else {
            img.reject(
                Candidate::Signature,
                subject,
                Code::SignatureInvalid,
                format!(
                    "signature layer {} of {sig_manifest}: the signature annotation is not base64",
                    layer.digest
                ),
            );
            img.rep.signatures.push(entry);
            continue;
        };
        let has_cert = layer.annotation(ANNOTATION_COSIGN_CERTIFICATE).is_some();
        let trusted = keys.iter().find(|(_, k)| k.verify(payload, &sig).is_ok());
        if trusted.is_none() && has_cert && !signers.keyless.is_empty() {
            match verify_keyless_layer(roots, &signers.keyless, payload, sig_b64, layer) {
                Ok((who, warnings)) => {
                    // Ignored (unverifiable) timestamps are shown, not fatal.
                    for w in warnings {
                        img.warn(
                            Code::TimestampInvalid,
                            format!("keyless signature {} on {subject}: {w}", layer.digest),
                        );
                    }
                    entry.signer = Some(who)
                }
                Err(f) => {
                    img.reject(
                        Candidate::Signature,
                        subject,
                        f.code,
                        format!(
                            "keyless signature {} on {subject}: {}",
                            layer.digest, f.message
                        ),
                    );
                    img.rep.signatures.push(entry);
                    continue;
                }
            }
        }
        // A key signature that carries a Rekor entry: when the policy gives trusted roots, the
        // entry must verify too (as cosign checks it), else this candidate is rejected.
        if let Some((n, k)) = trusted {
            if !has_cert
                && !roots.is_empty()
                && layer
                    .annotation(sigstore::legacy::ANNOTATION_BUNDLE)
                    .is_some()
            {
                if let Err(f) = verify_key_tlog(roots, k, payload, sig_b64, layer) {
                    img.reject(
                        Candidate::Signature,
                        subject,
                        f.code,
                        format!(
                            "signature {} on {subject} verifies with key {n}, but its transparency-log entry does not verify with any trusted root: {}",
                            layer.digest, f.message
                        ),
                    );
                    img.rep.signatures.push(entry);
                    continue;
                }
            }
        }
        let name: String = match (trusted, &entry.signer) {
            (Some((n, k)), _) => {
                entry.signer = Some(n.to_string());
                entry.key_id = Some(k.key_id());
                format!("key {n}")
            }
            (None, Some(who)) => who.clone(),
            (None, None) => {
                let other = known.iter().find(|(_, k)| k.verify(payload, &sig).is_ok());
                let parsed = SimpleSigning::parse(payload);
                if let Some((n, k)) = other {
                    img.reject(Candidate::Signature, subject, Code::SignatureUntrusted, format!("signature {} on {subject} verifies with key {n} ({}), which this rule does not trust", layer.digest, k.key_id()));
                } else if layer.annotation(ANNOTATION_COSIGN_CERTIFICATE).is_some() {
                    img.reject(Candidate::Signature, subject, Code::SignatureUntrusted, format!("signature {} on {subject} is keyless (Fulcio certificate); this rule trusts only keys {}", layer.digest, keys.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")));
                } else if parsed.is_err() {
                    img.reject(Candidate::Signature, subject, Code::SignatureInvalid, format!("signature {} on {subject}: the payload is not a cosign simple-signing payload ({}) and verifies with no trusted key", layer.digest, parsed.err().map(|e| e.to_string()).unwrap_or_default()));
                } else if sig.len() < 8 {
                    img.reject(
                        Candidate::Signature,
                        subject,
                        Code::SignatureInvalid,
                        format!(
                            "signature {} on {subject} is {} bytes: malformed",
                            layer.digest,
                            sig.len()
                        ),
                    );
                } else {
                    img.reject(Candidate::Signature, subject,
                    Code::SignatureInvalid,
                    format!(
                        "signature {} on {subject} does not verify with any trusted key ({}): altered, or made with a key you were not given",
                        layer.digest,
                        keys.iter().map(|(n, k)| format!("{n} {}", k.key_id())).collect::<Vec<_>>().join(", ")
                    ),
                );
                }
                img.rep.signatures.push(entry);
                continue;
            }
        };
        let ss = match SimpleSigning::parse(payload) {
            Ok(s) => s,
            Err(e) => {
                img.reject(Candidate::Signature, subject, Code::SignatureInvalid, format!("signature {} on {subject} verifies with {name} but its payload is invalid: {e}", layer.digest));
                img.rep.signatures.push(entry);
                continue;
            }
        };
        entry.docker_reference = Some(ss.docker_reference.clone());
        if !ss.signs_digest(subject) {
            img.reject(Candidate::Signature, subject,
                Code::SignatureDigestMismatch,
                format!("signature {} verifies with {name} but signs {}, not {subject}: a signature replayed from another image", layer.digest, ss.manifest_digest),
            );
            img.rep.signatures.push(entry);
            continue;
        }
        let signed_repo = ss.docker_reference.split('@').next().unwrap_or("");
        let signed_repo = Reference::parse(signed_repo)
            .map(|r| r.repository())
            .unwrap_or_else(|_| signed_repo.to_string());
        // A bare ref name (`app:v1`, as `skopeo copy … oci:DIR:app:v1` writes) with no lock
        // does not say which repository the image came from: the `source` identity cannot be
        // checked, so it is named as a warning instead of guessed.
        let source_unknown = img.source_unknown;
        let only_source = signers
            .identities
            .iter()
            .all(|i| matches!(i, crate::policy::Identity::Source));
        if source_unknown && only_source {
            img.reject(
                Candidate::Signature,
                subject,
                Code::SignatureIdentityMismatch,
                format!("signature {} verifies with {name} and signs {:?}, but the bundle does not record the source repository of {} (no lock, bare ref name), so the signed identity cannot be compared; give --source-prefix REGISTRY/REPO, or list the signed repository in the rule's identities", layer.digest, ss.docker_reference, img.rep.r#ref),
            );
            img.rep.signatures.push(entry);
            continue;
        } else if !(signers.allows_identity(repository, &signed_repo)
            || signers.identities.iter().any(|i| {
                matches!(i, crate::policy::Identity::Source)
                    && same_repository(repository, &signed_repo)
            }))
        {
            img.reject(Candidate::Signature, subject,
                Code::SignatureIdentityMismatch,
                format!("signature {} verifies with {name} but its docker-reference is {:?}, not the source repository {repository:?} or an allowed identity", layer.digest, ss.docker_reference),
            );
            img.rep.signatures.push(entry);
            continue;
        }
        let mut missing_ann = Vec::new();
        for (k, v) in &signers.annotations {
            if ss.annotation(k) != Some(v.as_str()) {
                missing_ann.push(format!("{k}={v}"));
            }
        }
        if !missing_ann.is_empty() {
            img.reject(
                Candidate::Signature,
                subject,
                Code::SignatureInvalid,
                format!(
                    "signature {} lacks required annotation(s) {}",
                    layer.digest,
                    missing_ann.join(", ")
                ),
            );
            img.rep.signatures.push(entry);
            continue;
        }
        entry.verified = true;
        img.rep.signatures.push(entry);
        any_ok = true;
    }
    any_ok
}

fn verify_attestations(
    img: &mut Img,
    view: &BundleView,
    subject: &Digest,
    att_manifest: &Digest,
    keys: &[(&str, &PublicKey)],
    known: &[(&str, &PublicKey)],
    verified: &mut Vec<super::judge::Verified>,
) {
    let Some(man) = view.manifests.get(att_manifest) else {
        return;
    };
    for layer in man.layers() {
        if layer.media_type != MEDIA_DSSE_ENVELOPE {
            continue;
        }
        let hint = layer.annotation("predicateType").unwrap_or("?").to_string();
        let mut entry = AttestationEntry {
            predicate_type: hint.clone(),
            subject: subject.to_string(),
            manifest: att_manifest.to_string(),
            verified: false,
            signer: None,
            key_id: None,
        };
        let Some(bytes) = view.blobs.get(&layer.digest) else {
            img.rep.attestations.push(entry);
            continue;
        };
        let env = match Envelope::parse(bytes) {
            Ok(e) => e,
            Err(e) => {
                img.reject(
                    Candidate::Attestation,
                    subject,
                    Code::AttestationInvalid,
                    format!("attestation {} on {subject}: {e}", layer.digest),
                );
                img.rep.attestations.push(entry);
                continue;
            }
        };
        if !intoto::is_intoto_payload_type(&env.payload_type) {
            img.reject(
                Candidate::Attestation,
                subject,
                Code::AttestationInvalid,
                format!(
                    "attestation {} on {subject}: payloadType {:?} is not {INTOTO_PAYLOAD_TYPE}",
                    layer.digest, env.payload_type
                ),
            );
            img.rep.attestations.push(entry);
            continue;
        }
        let Some((name, key)) = keys.iter().find(|(_, k)| env.verify(k).is_ok()) else {
            let other = known.iter().find(|(_, k)| env.verify(k).is_ok());
            let msg = match other {
                Some((n, k)) => format!("attestation {} ({hint}) on {subject} is signed by key {n} ({}), which this rule does not trust", layer.digest, k.key_id()),
                None => format!("attestation {} ({hint}) on {subject} does not verify with any trusted key: signed by another key, or altered", layer.digest),
            };
            img.reject(
                Candidate::Attestation,
                subject,
                Code::AttestationInvalid,
                msg,
            );
            img.rep.attestations.push(entry);
            continue;
        };
        entry.signer = Some(name.to_string());
        entry.key_id = Some(key.key_id());
        let st = match Statement::from_envelope(&env) {
            Ok(s) => s,
            Err(e) => {
                img.reject(Candidate::Attestation, subject, Code::AttestationInvalid, format!("attestation {} on {subject} verifies with key {name} but its statement is invalid: {e}", layer.digest));
                img.rep.attestations.push(entry);
                continue;
            }
        };
        entry.predicate_type = st.predicate_type.clone();
        if !st.has_subject(subject) {
            let subs: Vec<String> = st
                .subjects
                .iter()
                .flat_map(|s| s.digest.iter().map(|(a, h)| format!("{a}:{h}")))
                .collect();
            img.reject(Candidate::Attestation, subject, Code::AttestationSubjectMismatch, format!("attestation {} ({}) verifies with key {name} but its subjects are [{}], not {subject}", layer.digest, st.predicate_type, subs.join(", ")));
            img.rep.attestations.push(entry);
            continue;
        }
        if hint != "?" && hint != st.predicate_type {
            img.warn(Code::AttestationInvalid, format!("attestation {}: layer annotation says predicateType {hint} but the signed statement says {} (the signed value is used)", layer.digest, st.predicate_type));
        }
        entry.verified = true;
        img.rep.attestations.push(entry);
        verified.push(super::judge::Verified {
            signer: name.to_string(),
            subject: subject.to_string(),
            statement: st,
            manifest: att_manifest.to_string(),
            envelope: layer.digest.to_string(),
        });
    }
}

/// The keyless signers a rule trusts for attestations: those of its signatures and of each
/// attestation requirement.
fn keyless_signers(rule: &Rule) -> Vec<&crate::policy::KeylessSigner> {
    let mut out: Vec<&crate::policy::KeylessSigner> = Vec::new();
    if let SignatureRule::Required(s) = &rule.signatures {
        out.extend(s.keyless.iter());
    }
    for a in &rule.attestations {
        out.extend(a.keyless.iter());
    }
    for set in judged_signer_sets(rule) {
        out.extend(set.keyless.iter());
    }
    out
}

/// The trusted roots a keyless signer is verified against: the one it names, or all of them.
fn roots_for<'r>(
    roots: &'r BTreeMap<String, TrustedRoot>,
    signer: &crate::policy::KeylessSigner,
) -> Vec<&'r TrustedRoot> {
    roots
        .iter()
        .filter(|(n, _)| {
            signer
                .trusted_root
                .as_deref()
                .is_none_or(|t| t == n.as_str())
        })
        .map(|(_, r)| r)
        .collect()
}

/// "keyless <subject> (<issuer>)" for reports.
fn keyless_name(v: &sigstore::Verified) -> String {
    format!(
        "keyless {} ({})",
        v.identity.as_deref().unwrap_or("?"),
        v.issuer.as_deref().unwrap_or("?")
    )
}

/// Verify one Sigstore bundle against each keyless signer and each of its trusted roots. The
/// first success wins; otherwise the most telling failure: an identity mismatch (the
/// cryptography held under some root) before anything else.
fn verify_keyless(
    roots: &BTreeMap<String, TrustedRoot>,
    signers: &[&crate::policy::KeylessSigner],
    bundle: &[u8],
    artifact: sigstore::Artifact<'_>,
) -> Result<sigstore::Verified, sigstore::Failure> {
    let mut failures: Vec<sigstore::Failure> = Vec::new();
    for s in signers {
        let identity = sigstore::IdentityPolicy::from_signer(s)?;
        let rs = roots_for(roots, s);
        if rs.is_empty() {
            failures.push(sigstore::Failure::new(
                Code::CertificateInvalid,
                format!(
                    "the policy's keyless signer names trusted root {:?}, which was not loaded",
                    s.trusted_root.as_deref().unwrap_or("(any)")
                ),
            ));
        }
        for root in rs {
            match sigstore::verify_bundle(
                bundle,
                artifact,
                sigstore::Signer::Keyless {
                    identity: &identity,
                    require_sct: !s.ignore_sct,
                },
                root,
            ) {
                Ok(v) => return Ok(v),
                Err(f) => failures.push(f),
            }
        }
    }
    let pick = failures
        .iter()
        .position(|f| f.code == Code::CertificateIdentityMismatch)
        .unwrap_or(0);
    Err(if failures.is_empty() {
        sigstore::Failure::new(
            Code::SignatureUntrusted,
            "the rule trusts no keyless signer",
        )
    } else {
        failures.swap_remove(pick)
    })
}

/// A legacy `.sig` layer with a Fulcio certificate: its annotations as a bundle, verified against
/// The Rekor entry (SET) of a key-signed legacy layer, against each trusted root in turn.
fn verify_key_tlog(
    roots: &BTreeMap<String, TrustedRoot>,
    key: &PublicKey,
    payload: &[u8],
    sig_b64: &str,
    layer: &Descriptor,
) -> Result<(), sigstore::Failure> {
    let legacy =
        sigstore::legacy::LegacyLayer::from_annotations(payload, sig_b64, |k| layer.annotation(k));
    let bundle = legacy.to_bundle_json(Some(key))?;
    let mut last = None;
    for root in roots.values() {
        match sigstore::verify_bundle(
            &bundle,
            sigstore::Artifact::Bytes(payload),
            sigstore::Signer::Key(key),
            root,
        ) {
            Ok(_) => return Ok(()),
            Err(f) => last = Some(f),
        }
    }
    Err(last.unwrap_or_else(|| {
        sigstore::Failure::new(
            Code::TlogInvalid,
            "no trusted root to verify the entry with",
        )
    }))
}

/// the rule's keyless signers. Ok: who signed, and warnings for the report.
fn verify_keyless_layer(
    roots: &BTreeMap<String, TrustedRoot>,
    signers: &[crate::policy::KeylessSigner],
    payload: &[u8],
    sig_b64: &str,
    layer: &Descriptor,
) -> Result<(String, Vec<String>), sigstore::Failure> {
    let legacy =
        sigstore::legacy::LegacyLayer::from_annotations(payload, sig_b64, |k| layer.annotation(k));
    let bundle = legacy.to_bundle_json(None)?;
    let signers: Vec<&crate::policy::KeylessSigner> = signers.iter().collect();
    verify_keyless(roots, &signers, &bundle, sigstore::Artifact::Bytes(payload))
        .map(|v| (keyless_name(&v), v.warnings))
}

/// Sigstore bundle referrers (cosign v3) that carry a signature (predicate
/// `https://sigstore.dev/cosign/sign/v1`): key-based DSSE bundles are verified with the rule's
/// keys, keyless ones against the rule's keyless signers and their trusted roots.
#[allow(clippy::too_many_arguments)]
fn check_bundle(
    img: &mut Img,
    view: &BundleView,
    subject: &Digest,
    bm: &Digest,
    keys: &[(&str, &PublicKey)],
    _known: &[(&str, &PublicKey)],
    rule: &Rule,
    roots: &BTreeMap<String, TrustedRoot>,
) -> Option<bool> {
    let keyless: Vec<&crate::policy::KeylessSigner> = match &rule.signatures {
        SignatureRule::Required(s) => s.keyless.iter().collect(),
        SignatureRule::None => Vec::new(),
    };
    let opened = open_bundle(img, view, subject, bm, keys, &keyless, roots, true)?;
    let mut entry = SignatureEntry {
        format: "sigstore-bundle".into(),
        subject: subject.to_string(),
        manifest: bm.to_string(),
        verified: false,
        signer: Some(opened.name.clone()),
        key_id: opened.key_id.clone(),
        docker_reference: None,
    };
    if !opened.statement.has_subject(subject) {
        img.reject(
            Candidate::Signature,
            subject,
            Code::SignatureDigestMismatch,
            format!(
                "sigstore bundle {bm} verifies with {} but signs another digest, not {subject}",
                opened.name
            ),
        );
        img.rep.signatures.push(entry);
        return Some(false);
    }
    entry.verified = true;
    img.rep.signatures.push(entry);
    Some(true)
}

#[allow(clippy::too_many_arguments)]
fn check_bundle_attestation(
    img: &mut Img,
    view: &BundleView,
    subject: &Digest,
    bm: &Digest,
    keys: &[(&str, &PublicKey)],
    keyless: &[&crate::policy::KeylessSigner],
    roots: &BTreeMap<String, TrustedRoot>,
    verified: &mut Vec<super::judge::Verified>,
) {
    let Some(opened) = open_bundle(img, view, subject, bm, keys, keyless, roots, false) else {
        return;
    };
    let st = opened.statement;
    let ok = st.has_subject(subject);
    img.rep.attestations.push(AttestationEntry {
        predicate_type: st.predicate_type.clone(),
        subject: subject.to_string(),
        manifest: bm.to_string(),
        verified: ok,
        signer: Some(opened.name.clone()),
        key_id: opened.key_id,
    });
    if !ok {
        img.reject(
            Candidate::Attestation,
            subject,
            Code::AttestationSubjectMismatch,
            format!(
                "sigstore bundle {bm} ({}) verifies with {} but does not name {subject}",
                st.predicate_type, opened.name
            ),
        );
        return;
    }
    let envelope = view
        .manifests
        .get(bm)
        .and_then(|m| {
            m.layers()
                .iter()
                .find(|l| {
                    l.media_type
                        .starts_with("application/vnd.dev.sigstore.bundle")
                })
                .map(|l| l.digest.to_string())
        })
        .unwrap_or_else(|| bm.to_string());
    verified.push(super::judge::Verified {
        signer: opened.name,
        subject: subject.to_string(),
        statement: st,
        manifest: bm.to_string(),
        envelope,
    });
}

/// A bundle whose signature verified: who signed and the signed statement.
struct Opened {
    /// The policy key name, or `keyless <subject> (<issuer>)`.
    name: String,
    key_id: Option<String>,
    statement: Statement,
}

/// Parse a Sigstore bundle referrer's DSSE envelope and verify it with a trusted key or keyless
/// signer. `as_signature`: the caller wants signature bundles (predicate cosign/sign), else
/// attestations; bundles of the other kind are left to the other caller (decided on the
/// predicate type before verification, so each bundle's problems are reported once).
#[allow(clippy::too_many_arguments)]
fn open_bundle(
    img: &mut Img,
    view: &BundleView,
    subject: &Digest,
    bm: &Digest,
    keys: &[(&str, &PublicKey)],
    keyless: &[&crate::policy::KeylessSigner],
    roots: &BTreeMap<String, TrustedRoot>,
    as_signature: bool,
) -> Option<Opened> {
    let man = view.manifests.get(bm)?;
    let layer = man.layers().iter().find(|l| {
        l.media_type
            .starts_with("application/vnd.dev.sigstore.bundle")
    })?;
    let bytes = view.blobs.get(&layer.digest)?;
    let kind = if as_signature {
        Candidate::Signature
    } else {
        Candidate::Attestation
    };
    let (invalid, subject_code) = if as_signature {
        (Code::SignatureInvalid, Code::SignatureDigestMismatch)
    } else {
        (Code::AttestationInvalid, Code::AttestationSubjectMismatch)
    };
    let v: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            if as_signature {
                img.reject(
                    kind,
                    subject,
                    invalid,
                    format!("sigstore bundle {bm} on {subject} is not JSON: {e}"),
                );
            }
            return None;
        }
    };
    let env_v = v.get("dsseEnvelope")?;
    let env_bytes = serde_json::to_vec(env_v).ok()?;
    let env = match Envelope::parse(&env_bytes) {
        Ok(e) => e,
        Err(e) => {
            if as_signature {
                img.reject(
                    kind,
                    subject,
                    invalid,
                    format!("sigstore bundle {bm} on {subject}: {e}"),
                );
            }
            return None;
        }
    };
    // Unauthenticated peek at the predicate type, only to route the bundle to one caller.
    let claimed_sign = Statement::from_envelope(&env)
        .map(|s| s.predicate_kind() == PredicateKind::CosignSign)
        .unwrap_or(true);
    if claimed_sign != as_signature {
        return None;
    }
    let is_keyless = v.pointer("/verificationMaterial/publicKey").is_none();
    let (name, key_id) = if is_keyless {
        if keyless.is_empty() {
            img.reject(
                kind,
                subject,
                Code::SignatureUntrusted,
                format!(
                    "sigstore bundle {bm} on {subject} is keyless (Fulcio certificate) but the \
                     rule trusts no keyless identity, so it does not count; add a keyless signer \
                     (issuer, subject, trustedRoot) to the rule if this signer is trusted"
                ),
            );
            return None;
        }
        let hex = subject.hex();
        let mut digest = [0u8; 32];
        let parsed = hex.len() == 64
            && (0..32).all(|i| {
                hex.get(i * 2..i * 2 + 2)
                    .and_then(|p| u8::from_str_radix(p, 16).ok())
                    .map(|b| digest[i] = b)
                    .is_some()
            });
        if !parsed {
            img.reject(kind, subject,
                invalid,
                format!("sigstore bundle {bm}: subject {subject} is not a sha256 digest; keyless bundles are verified for sha256 subjects only"),
            );
            return None;
        }
        match verify_keyless(roots, keyless, bytes, sigstore::Artifact::Sha256(digest)) {
            Ok(verified) => {
                // Ignored (unverifiable) timestamps are shown, not fatal.
                for w in &verified.warnings {
                    img.warn(
                        Code::TimestampInvalid,
                        format!("keyless sigstore bundle {bm} on {subject}: {w}"),
                    );
                }
                (keyless_name(&verified), None)
            }
            Err(f) => {
                let code = match f.code {
                    Code::SignatureInvalid | Code::SignatureUntrusted => invalid,
                    Code::SignatureDigestMismatch => subject_code,
                    c => c,
                };
                img.reject(
                    kind,
                    subject,
                    code,
                    format!("keyless sigstore bundle {bm} on {subject}: {}", f.message),
                );
                return None;
            }
        }
    } else {
        let Some((name, key)) = keys.iter().find(|(_, k)| env.verify(k).is_ok()) else {
            img.reject(
                kind,
                subject,
                if as_signature {
                    Code::SignatureInvalid
                } else {
                    Code::AttestationInvalid
                },
                format!("sigstore bundle {bm} on {subject} does not verify with any trusted key: altered, or made with a key you were not given"),
            );
            return None;
        };
        (name.to_string(), Some(key.key_id()))
    };
    let statement = match Statement::from_envelope(&env) {
        Ok(s) => s,
        Err(e) => {
            img.reject(
                kind,
                subject,
                invalid,
                format!("sigstore bundle {bm} on {subject}: {e}"),
            );
            return None;
        }
    };
    Some(Opened {
        name,
        key_id,
        statement,
    })
}

//! Load a bundle into a [`BundleView`] for the verification core: manifests, the small blobs
//! verification reads, and a parallel streaming re-hash of every other blob.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::{BlobReadError, BlobState, Layout};
use crate::oci::manifest::MAX_MANIFEST_BYTES;
use crate::oci::{Digest, Manifest};
use crate::view::{BundleView, ManifestProblem};

/// Largest blob loaded into memory for verification (signature payloads, envelopes, SBOMs).
pub const MAX_ATTACHMENT_BLOB_BYTES: u64 = 64 * 1024 * 1024;

pub use crate::view::{is_verification_content, BlobSource, MAX_BUNDLE_MANIFESTS, MAX_NESTING};

impl BlobSource for Layout {
    fn read_blob(&self, d: &Digest, limit: u64) -> Result<Vec<u8>, BlobReadError> {
        Layout::read_blob(self, d, limit)
    }
    fn check_blobs(
        &self,
        blobs: &[(Digest, Option<u64>)],
        jobs: usize,
    ) -> BTreeMap<Digest, BlobState> {
        Layout::check_blobs(self, blobs, jobs)
    }
}

/// Read everything the core needs. Never fails: problems land in the view.
pub fn load_view(dir: &Path, jobs: usize) -> BundleView {
    let mut view = BundleView {
        location: dir.display().to_string(),
        ..Default::default()
    };
    let layout = match Layout::open(dir) {
        Ok(l) => l,
        Err(e) => {
            view.layout_error = Some(e.to_string());
            return view;
        }
    };
    let index = match layout.read_index() {
        Ok(i) => i,
        Err(e) => {
            view.layout_error = Some(e.to_string());
            return view;
        }
    };
    view_from(view, &index, &layout, jobs)
}

/// Walk the index's graph through `layout` and fill `view` (shared by the directory and
/// archive readers, so both build the same view).
pub fn view_from<S: BlobSource>(
    mut view: BundleView,
    index: &Manifest,
    layout: &S,
    jobs: usize,
) -> BundleView {
    view.entries = index.child_descriptors().to_vec();
    // Names are validated here, at the edge: a ref.name that is not an OCI name (a newline, a
    // control character) makes the whole layout invalid rather than reaching reports or YAML.
    for (i, e) in view.entries.iter().enumerate() {
        if let Some(name) = e.annotation(crate::oci::manifest::ANNOTATION_REF_NAME) {
            if let Err(problem) = crate::oci::reference::check_ref_name(name) {
                view.layout_error = Some(format!(
                    "index.json manifests[{i}]: {} {:?} is not a valid name: {problem}; treat the bundle as tampered with and re-capture it",
                    crate::oci::manifest::ANNOTATION_REF_NAME,
                    crate::text::shorten(name, 256)
                ));
                return view;
            }
        }
    }
    let mut queue: Vec<(Digest, Option<String>, usize)> = view
        .entries
        .iter()
        .map(|d| (d.digest.clone(), Some(d.media_type.clone()), 0))
        .collect();
    let mut seen: BTreeSet<Digest> = BTreeSet::new();
    let mut blobs: BTreeMap<Digest, Option<u64>> = BTreeMap::new();
    let mut small: Vec<(Digest, u64)> = Vec::new();
    while let Some((d, mt, depth)) = queue.pop() {
        if !seen.insert(d.clone()) {
            continue;
        }
        if seen.len() > MAX_BUNDLE_MANIFESTS || depth > MAX_NESTING {
            view.manifest_problems.insert(d, ManifestProblem::Invalid(format!("over the limit of {MAX_BUNDLE_MANIFESTS} manifests or {MAX_NESTING} levels of nesting")));
            continue;
        }
        let bytes = match layout.read_blob(&d, MAX_MANIFEST_BYTES as u64) {
            Ok(b) => b,
            Err(e) => {
                let p = match e {
                    BlobReadError::Missing => ManifestProblem::Missing,
                    BlobReadError::DigestMismatch { actual } => {
                        ManifestProblem::DigestMismatch { actual }
                    }
                    BlobReadError::NotRegular(k) => ManifestProblem::NotRegular(k),
                    BlobReadError::TooLarge { size, limit } => {
                        ManifestProblem::TooLarge { size, limit }
                    }
                    BlobReadError::Io(s) => ManifestProblem::Unreadable(s),
                };
                view.manifest_problems.insert(d, p);
                continue;
            }
        };
        let m = match Manifest::parse_expecting(bytes, mt.as_deref(), &d) {
            Ok(m) => m,
            Err(e) => {
                view.manifest_problems
                    .insert(d, ManifestProblem::Invalid(e.to_string()));
                continue;
            }
        };
        for c in m.child_descriptors() {
            queue.push((c.digest.clone(), Some(c.media_type.clone()), depth + 1));
        }
        for b in m.blob_descriptors() {
            if b.media_type == crate::oci::manifest::MEDIA_OCI_EMPTY && b.size == 2 {
                // still hashed below like any blob
            }
            blobs.insert(b.digest.clone(), Some(b.size));
        }
        for l in m.blob_descriptors() {
            if is_verification_content(&l.media_type) {
                small.push((l.digest.clone(), l.size));
            }
        }
        view.manifests.insert(d, m);
    }
    // Small verification content is read whole (and so hashed); the rest is streamed.
    for (d, size) in small {
        if view.blobs.contains_key(&d) {
            continue;
        }
        match layout.read_blob(&d, MAX_ATTACHMENT_BLOB_BYTES.min(size.max(1))) {
            Ok(b) if b.len() as u64 == size => {
                view.blob_states.insert(d.clone(), BlobState::Ok);
                view.blobs.insert(d.clone(), b);
            }
            Ok(b) => {
                view.blob_states.insert(
                    d.clone(),
                    BlobState::SizeMismatch {
                        expected: size,
                        actual: b.len() as u64,
                    },
                );
            }
            Err(BlobReadError::TooLarge { .. }) => {} // hashed below; reported as size mismatch if so
            Err(BlobReadError::Missing) => {
                view.blob_states.insert(d.clone(), BlobState::Missing);
            }
            Err(BlobReadError::DigestMismatch { actual }) => {
                view.blob_states
                    .insert(d.clone(), BlobState::DigestMismatch { actual });
            }
            Err(BlobReadError::NotRegular(k)) => {
                view.blob_states.insert(d.clone(), BlobState::NotRegular(k));
            }
            Err(BlobReadError::Io(s)) => {
                view.blob_states.insert(d.clone(), BlobState::Unreadable(s));
            }
        }
    }
    let rest: Vec<(Digest, Option<u64>)> = blobs
        .into_iter()
        .filter(|(d, _)| !view.blob_states.contains_key(d))
        .collect();
    let states = layout.check_blobs(&rest, jobs);
    view.blob_states.extend(states);
    view
}

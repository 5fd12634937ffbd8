//! The verification core's input: everything read from a bundle, already in memory.
//!
//! The edge (`layout::load`) fills this in: manifests with their raw bytes, the small blobs
//! verification needs (signature payloads, envelopes, SBOMs), and the result of re-hashing every
//! other blob. The core never touches the filesystem.
use std::collections::BTreeMap;

use crate::oci::manifest::{MEDIA_COSIGN_SIMPLESIGNING, MEDIA_DSSE_ENVELOPE};
use crate::oci::{Descriptor, Digest, Manifest};

/// A manifest that could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManifestProblem {
    Missing,
    DigestMismatch { actual: Digest },
    NotRegular(String),
    TooLarge { size: u64, limit: u64 },
    Invalid(String),
    Unreadable(String),
}

/// A bundle as the core sees it.
#[derive(Clone, Debug, Default)]
pub struct BundleView {
    /// Where it came from (for messages).
    pub location: String,
    /// Set when the directory is not a usable OCI layout at all.
    pub layout_error: Option<String>,
    /// `index.json` entries.
    pub entries: Vec<Descriptor>,
    pub manifests: BTreeMap<Digest, Manifest>,
    pub manifest_problems: BTreeMap<Digest, ManifestProblem>,
    /// Small blobs needed for verification, already checked against their digests.
    pub blobs: BTreeMap<Digest, Vec<u8>>,
    /// Result of re-hashing every referenced blob.
    pub blob_states: BTreeMap<Digest, BlobState>,
    /// `--source-prefix REGISTRY/REPO`: the source repository of entries whose ref name is a
    /// bare tag (layouts written by other tools), stated by the operator.
    pub source_prefix: Option<String>,
    /// The entries were derived from the lock (a registry view): the registry may hold more
    /// attachments than were captured (gate attestations, merged referrers), so `lock-unlisted`
    /// does not apply.
    pub entries_from_lock: bool,
    /// Lock references deliberately absent: `push` did not push them because they did not pass
    /// verification (the mapping records verdicts and has no entry for them).
    pub withheld: std::collections::BTreeSet<String>,
}

impl BundleView {
    /// A view of an in-memory bundle: `entries` are the `index.json` descriptors and `blobs`
    /// every blob by the digest it is stored under (manifests included). The same walk as the
    /// directory edge (`layout::load::load_view`), without a filesystem: manifests are parsed
    /// and checked against their digests, verification content is kept, every other blob is
    /// re-hashed. Meant for tests and for callers that already hold a bundle in memory.
    pub fn from_blobs(
        location: impl Into<String>,
        entries: Vec<Descriptor>,
        blobs: &BTreeMap<Digest, Vec<u8>>,
    ) -> BundleView {
        use crate::oci::manifest::MAX_MANIFEST_BYTES;

        let mut view = BundleView {
            location: location.into(),
            entries,
            ..Default::default()
        };
        let mut queue: Vec<(Digest, String, usize)> = view
            .entries
            .iter()
            .map(|d| (d.digest.clone(), d.media_type.clone(), 0))
            .collect();
        let mut referenced: BTreeMap<Digest, (u64, bool)> = BTreeMap::new();
        let mut seen = 0usize;
        while let Some((d, mt, depth)) = queue.pop() {
            if view.manifests.contains_key(&d) || view.manifest_problems.contains_key(&d) {
                continue;
            }
            seen += 1;
            if seen > MAX_BUNDLE_MANIFESTS || depth > MAX_NESTING {
                view.manifest_problems.insert(d, ManifestProblem::Invalid(format!("over the limit of {MAX_BUNDLE_MANIFESTS} manifests or {MAX_NESTING} levels of nesting")));
                continue;
            }
            let Some(bytes) = blobs.get(&d) else {
                view.manifest_problems.insert(d, ManifestProblem::Missing);
                continue;
            };
            if bytes.len() > MAX_MANIFEST_BYTES {
                view.manifest_problems.insert(
                    d,
                    ManifestProblem::TooLarge {
                        size: bytes.len() as u64,
                        limit: MAX_MANIFEST_BYTES as u64,
                    },
                );
                continue;
            }
            if !d.matches(bytes) {
                let actual = Digest::of(d.algorithm(), bytes);
                view.manifest_problems
                    .insert(d, ManifestProblem::DigestMismatch { actual });
                continue;
            }
            match Manifest::parse_expecting(bytes.clone(), Some(&mt), &d) {
                Ok(m) => {
                    for c in m.child_descriptors() {
                        queue.push((c.digest.clone(), c.media_type.clone(), depth + 1));
                    }
                    for b in m.blob_descriptors() {
                        referenced
                            .entry(b.digest.clone())
                            .or_insert((b.size, false));
                    }
                    for l in m.layers() {
                        if is_verification_content(&l.media_type) {
                            referenced.insert(l.digest.clone(), (l.size, true));
                        }
                    }
                    view.manifests.insert(d, m);
                }
                Err(e) => {
                    view.manifest_problems
                        .insert(d, ManifestProblem::Invalid(e.to_string()));
                }
            }
        }
        for (d, (size, keep)) in referenced {
            let state = match blobs.get(&d) {
                None => BlobState::Missing,
                Some(b) if !d.matches(b) => BlobState::DigestMismatch {
                    actual: Digest::of(d.algorithm(), b),
                },
                Some(b) if b.len() as u64 != size => BlobState::SizeMismatch {
                    expected: size,
                    actual: b.len() as u64,
                },
                Some(b) => {
                    if keep {
                        view.blobs.insert(d.clone(), b.clone());
                    }
                    BlobState::Ok
                }
            };
            view.blob_states.insert(d, state);
        }
        view
    }
}

/// What reading one blob found (the edge that built the view decides; the core only reads it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobState {
    /// Present, hashes to its digest, size as expected.
    Ok,
    Missing,
    /// Present but hashes elsewhere.
    DigestMismatch {
        actual: Digest,
    },
    /// Present but has another size than its descriptor says.
    SizeMismatch {
        expected: u64,
        actual: u64,
    },
    /// A symlink, device or directory where a blob should be.
    NotRegular(String),
    Unreadable(String),
}

/// Why a blob could not be read whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlobReadError {
    #[error("blob is missing")]
    Missing,
    #[error("blob is {0}, not a regular file")]
    NotRegular(String),
    #[error("blob is {size} bytes, over the {limit}-byte limit for this kind of content")]
    TooLarge { size: u64, limit: u64 },
    #[error("blob hashes to {actual}")]
    DigestMismatch { actual: Digest },
    #[error("blob unreadable: {0}")]
    Io(String),
}

/// Where a view's blobs come from: a layout directory, or an archive read in one pass.
pub trait BlobSource: Sync {
    /// A whole blob, digest checked, up to `limit` bytes.
    fn read_blob(&self, d: &Digest, limit: u64) -> Result<Vec<u8>, BlobReadError>;
    /// The state of each blob (digest and size checked).
    fn check_blobs(
        &self,
        blobs: &[(Digest, Option<u64>)],
        jobs: usize,
    ) -> BTreeMap<Digest, BlobState>;
}

/// Most manifests loaded from one bundle.
pub const MAX_BUNDLE_MANIFESTS: usize = 500_000;
/// How deep indexes may nest.
pub const MAX_NESTING: usize = 8;

/// Should this layer be read into memory for verification?
pub fn is_verification_content(media_type: &str) -> bool {
    media_type == MEDIA_COSIGN_SIMPLESIGNING
        || media_type == MEDIA_DSSE_ENVELOPE
        || media_type.starts_with("application/vnd.dev.sigstore.bundle")
        || media_type.starts_with("text/spdx")
        || media_type.starts_with("application/spdx")
        || media_type.starts_with("application/vnd.cyclonedx")
        || media_type.starts_with("application/vnd.syft")
        || media_type.starts_with("application/vnd.in-toto")
        // Image configs: the platform of a single-platform image is read from them.
        || media_type == "application/vnd.oci.image.config.v1+json"
        || media_type == "application/vnd.docker.container.image.v1+json"
}

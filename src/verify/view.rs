//! The verification core's input: everything read from a bundle, already in memory.
//!
//! The edge (`layout::load`) fills this in: manifests with their raw bytes, the small blobs
//! verification needs (signature payloads, envelopes, SBOMs), and the result of re-hashing every
//! other blob. The core never touches the filesystem.
use std::collections::BTreeMap;

use crate::layout::BlobState;
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

//! The lock file (`airlock.lock.json`): what capture resolved each source reference to.
//!
//! The far side of the gap checks the bundle against it; signed (DSSE) it proves the lock was not
//! edited in transit.
use serde::{Deserialize, Serialize};

use crate::oci::Digest;

pub const LOCK_SCHEMA: &str = "airlock.lock/v1";
/// Largest lock file accepted.
pub const MAX_LOCK_BYTES: usize = 64 * 1024 * 1024;
/// DSSE payload type of the signed lock.
pub const LOCK_PAYLOAD_TYPE: &str = "application/vnd.airlock.lock.v1+json";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Tool {
            name: "airlock".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// The kind of an attached artifact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttachmentKind {
    /// cosign `.sig` tag (simple signing).
    Sig,
    /// cosign `.att` tag (DSSE attestations).
    Att,
    /// cosign `.sbom` tag.
    Sbom,
    /// OCI 1.1 referrer (artifact manifest with `subject`).
    Referrer,
    /// The referrers list (API answer or `sha256-<hex>` fallback tag index).
    ReferrersIndex,
}

impl AttachmentKind {
    /// The cosign tag suffix, for tag-based kinds.
    pub fn suffix(self) -> Option<&'static str> {
        match self {
            AttachmentKind::Sig => Some("sig"),
            AttachmentKind::Att => Some("att"),
            AttachmentKind::Sbom => Some("sbom"),
            _ => None,
        }
    }
    /// The tag under which this kind is stored for `subject` (`sha256-<hex>.sig`, `sha256-<hex>`).
    pub fn tag_for(self, subject: &Digest) -> Option<String> {
        match self {
            AttachmentKind::Referrer => None,
            AttachmentKind::ReferrersIndex => Some(subject.tag_form()),
            k => k.suffix().map(|s| format!("{}.{s}", subject.tag_form())),
        }
    }
}

/// Parse a cosign/referrers tag (`sha256-<hex>[.sig|.att|.sbom]`) into (subject, kind).
pub fn parse_attachment_tag(tag: &str) -> Option<(Digest, AttachmentKind)> {
    let (alg, rest) = tag.split_once('-')?;
    let (hex, kind) = match rest.split_once('.') {
        Some((h, "sig")) => (h, AttachmentKind::Sig),
        Some((h, "att")) => (h, AttachmentKind::Att),
        Some((h, "sbom")) => (h, AttachmentKind::Sbom),
        Some(_) => return None,
        None => (rest, AttachmentKind::ReferrersIndex),
    };
    let d = Digest::parse(&format!("{alg}:{hex}")).ok()?;
    Some((d, kind))
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedPlatform {
    pub platform: String,
    pub digest: Digest,
    /// False when capture left this child out (`--platform`).
    #[serde(default = "yes")]
    pub captured: bool,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockedAttachment {
    pub kind: AttachmentKind,
    /// The manifest this artifact is attached to.
    pub subject: Digest,
    /// The attachment's manifest digest.
    pub digest: Digest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockedImage {
    /// The source reference as the user gave it.
    pub r#ref: String,
    /// Normalised source repository (`registry/path`).
    pub repository: String,
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    #[serde(default)]
    pub platforms: Vec<LockedPlatform>,
    #[serde(default)]
    pub attachments: Vec<LockedAttachment>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub schema: String,
    #[serde(default)]
    pub created: String,
    #[serde(default)]
    pub tool: Tool,
    pub images: Vec<LockedImage>,
    /// Why each item was captured (the input file and entry, or the command line), and which
    /// items are Helm charts. Absent in locks written before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<LockedSource>,
    /// What capture asked for but could not store (a missing or wrong blob at the source, a
    /// manifest over a limit): the capture exited 1 and verify reports these as missing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<MissingContent>,
    /// A delta bundle: the base lock it was captured against (`capture --base`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<LockBase>,
    /// Every blob (manifests included) the bundle's images need, and which of them the base holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blobs: Vec<LockedBlob>,
    /// A TUF repository snapshot carried in the bundle (`capture --tuf DIR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuf: Option<LockedTuf>,
}

/// A TUF repository snapshot copied into the bundle (`capture --tuf`): where it came from and
/// every file, stored as a blob of the bundle under its digest (so pack, unpack and every copy of
/// the bundle carry it like any other content).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedTuf {
    /// `DIR` as given to `capture --tuf`.
    pub source: String,
    /// Every file, by path relative to `DIR` (`timestamp.json`, `targets/<sha256>.NAME`, ...),
    /// with the digest of the blob that holds it.
    pub files: Vec<LockedFile>,
}

/// One file of the bundle that is not a blob.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedFile {
    pub path: String,
    pub digest: Digest,
    pub size: u64,
}

/// What kind of thing a captured item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    Image,
    /// A Helm chart (from an OCI registry or a classic repository); never admitted to a cluster.
    Chart,
}

/// Where a classic Helm repository chart came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockedChart {
    /// The repository URL (`https://charts.example/stable`).
    pub repository: String,
    pub name: String,
    pub version: String,
    /// The archive URL it was downloaded from.
    pub url: String,
    /// sha256 of the `.tgz` (equal to the index's `digest`).
    pub archive_digest: Digest,
    /// sha256 of the `.prov` file, when the repository has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance_digest: Option<Digest>,
}

/// Why one item of the lock was captured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockedSource {
    /// The `ref` of the item in `images`.
    pub r#ref: String,
    pub kind: SourceKind,
    /// Each entry that asked for it: `FILE:LINE (entry)`, `command line`, `chart NAME:VERSION …`.
    pub requested_by: Vec<String>,
    /// For a chart from a classic Helm repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<LockedChart>,
}

/// The base of a delta bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockBase {
    /// sha256 of the base lock file's bytes.
    pub sha256: Digest,
}

/// One blob of the bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedBlob {
    pub digest: Digest,
    pub size: u64,
    /// Held by the base bundle, not by this (delta) bundle.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub base: bool,
}

/// One thing capture could not store, with the finding code it reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingContent {
    pub code: String,
    pub subject: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("lock is {0} bytes, over the {MAX_LOCK_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("lock is not valid JSON for {LOCK_SCHEMA}: {0}")]
    Json(String),
    #[error("lock schema is {0:?}; expected {LOCK_SCHEMA:?}")]
    Schema(String),
    #[error("lock images[{index}]: {problem}; a lock names images by valid OCI references only (treat the lock as tampered with)")]
    Reference { index: usize, problem: String },
}

impl Lock {
    pub fn new(created: String) -> Lock {
        Lock {
            schema: LOCK_SCHEMA.into(),
            created,
            tool: Tool::default(),
            images: Vec::new(),
            sources: Vec::new(),
            base: None,
            blobs: Vec::new(),
            missing: Vec::new(),
            tuf: None,
        }
    }
    /// Parse a lock. airlock's own schema is parsed strictly. A lock written by another tool
    /// (no `schema`, or one that is not `airlock.lock/…`) is read leniently for what the gate
    /// needs — each image's reference and digest, and platforms/attachments where they use
    /// airlock's field names — and is rejected when no image can be read from it.
    pub fn parse(bytes: &[u8]) -> Result<Lock, LockError> {
        if bytes.len() > MAX_LOCK_BYTES {
            return Err(LockError::TooLarge(bytes.len()));
        }
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| LockError::Json(e.to_string()))?;
        let schema = value
            .get("schema")
            .and_then(|s| s.as_str())
            .unwrap_or("")
            .to_string();
        if schema.starts_with("airlock.lock/") {
            if schema != LOCK_SCHEMA {
                return Err(LockError::Schema(schema));
            }
            let lock: Lock =
                serde_json::from_value(value).map_err(|e| LockError::Json(e.to_string()))?;
            return lock.with_valid_references();
        }
        Self::parse_foreign(&value)
            .ok_or(LockError::Schema(schema))?
            .with_valid_references()
    }

    /// Every image's `ref` must be a valid reference: names from the lock reach admission YAML,
    /// reports and terminals.
    fn with_valid_references(self) -> Result<Lock, LockError> {
        for (index, img) in self.images.iter().enumerate() {
            if let Err(e) = crate::oci::Reference::parse(&img.r#ref) {
                return Err(LockError::Reference {
                    index,
                    problem: e.to_string(),
                });
            }
        }
        Ok(self)
    }

    /// Read a lock written by another tool: `images` (or `artifacts`/`entries`), each with a
    /// reference (`ref`/`reference`/`source`/`name`/`image`) and a digest
    /// (`digest`/`manifestDigest`/`resolvedDigest`).
    fn parse_foreign(v: &serde_json::Value) -> Option<Lock> {
        let list = ["images", "artifacts", "entries"]
            .iter()
            .find_map(|k| v.get(*k)?.as_array())?;
        let mut lock = Lock::new(
            v.get("created")
                .and_then(|c| c.as_str())
                .unwrap_or("")
                .into(),
        );
        lock.schema = "foreign".into();
        for item in list {
            let pick = |keys: &[&str]| {
                keys.iter()
                    .find_map(|k| item.get(*k)?.as_str().map(str::to_string))
            };
            let (Some(r), Some(d)) = (
                pick(&["ref", "reference", "source", "name", "image"]),
                pick(&["digest", "manifestDigest", "resolvedDigest"]),
            ) else {
                continue;
            };
            let Ok(digest) = Digest::parse(&d) else {
                return None;
            };
            let repository = pick(&["repository"]).unwrap_or_else(|| {
                crate::oci::Reference::parse(&r)
                    .map(|x| x.repository())
                    .unwrap_or_default()
            });
            let platforms = item
                .get("platforms")
                .and_then(|p| serde_json::from_value::<Vec<LockedPlatform>>(p.clone()).ok())
                .unwrap_or_default();
            let attachments = item
                .get("attachments")
                .and_then(|p| serde_json::from_value::<Vec<LockedAttachment>>(p.clone()).ok())
                .unwrap_or_default();
            lock.images.push(LockedImage {
                r#ref: r,
                repository,
                digest,
                media_type: pick(&["mediaType"]).unwrap_or_default(),
                size: item.get("size").and_then(|s| s.as_u64()).unwrap_or(0),
                platforms,
                attachments,
            });
        }
        (!lock.images.is_empty()).then_some(lock)
    }
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
    pub fn image(&self, r: &str) -> Option<&LockedImage> {
        self.images.iter().find(|i| i.r#ref == r)
    }
    /// Is the item with this `ref` a Helm chart?
    pub fn is_chart(&self, r: &str) -> bool {
        self.sources
            .iter()
            .any(|s| s.r#ref == r && s.kind == SourceKind::Chart)
    }
    /// Record that `requested_by` asked for `r` (merging with an earlier record).
    pub fn add_source(&mut self, r: &str, kind: SourceKind, requested_by: &str) {
        match self.sources.iter_mut().find(|s| s.r#ref == r) {
            Some(s) => {
                if !s.requested_by.iter().any(|x| x == requested_by) {
                    s.requested_by.push(requested_by.to_string());
                }
                if kind == SourceKind::Chart {
                    s.kind = kind;
                }
            }
            None => self.sources.push(LockedSource {
                r#ref: r.to_string(),
                kind,
                requested_by: vec![requested_by.to_string()],
                chart: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_tags_parse() {
        let d = Digest::sha256_of(b"x");
        assert_eq!(
            parse_attachment_tag(&format!("{}.sig", d.tag_form())),
            Some((d.clone(), AttachmentKind::Sig))
        );
        assert_eq!(
            parse_attachment_tag(&d.tag_form()),
            Some((d.clone(), AttachmentKind::ReferrersIndex))
        );
        assert_eq!(parse_attachment_tag("latest"), None);
        assert_eq!(parse_attachment_tag(&format!("{}.foo", d.tag_form())), None);
        assert_eq!(
            AttachmentKind::Att.tag_for(&d),
            Some(format!("{}.att", d.tag_form()))
        );
    }

    #[test]
    fn lock_round_trips_and_wrong_schema_is_rejected() {
        let mut l = Lock::new("2026-01-01T00:00:00Z".into());
        l.images.push(LockedImage {
            r#ref: "r/a:b".into(),
            repository: "r/a".into(),
            digest: Digest::sha256_of(b"m"),
            media_type: "m".into(),
            size: 1,
            platforms: vec![],
            attachments: vec![],
        });
        assert_eq!(Lock::parse(&l.to_json()).unwrap(), l);
        let bad = String::from_utf8(l.to_json())
            .unwrap()
            .replace(LOCK_SCHEMA, "airlock.lock/v9");
        assert!(matches!(
            Lock::parse(bad.as_bytes()),
            Err(LockError::Schema(_))
        ));
        assert!(matches!(
            Lock::parse(b"{\"schema\":"),
            Err(LockError::Json(_))
        ));
    }
}

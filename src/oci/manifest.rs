//! Descriptors, image manifests and indexes (OCI and Docker v2s2), kept with their exact raw bytes.
//!
//! A [`Manifest`] is built only from the bytes received; its digest is computed over those bytes and
//! never over a re-serialisation. Parsing is lenient about unknown fields (the OCI spec requires it)
//! and strict about the fields airlock relies on.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::digest::{Digest, DigestError};

pub const MEDIA_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MEDIA_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const MEDIA_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const MEDIA_OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
pub const MEDIA_COSIGN_SIMPLESIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const MEDIA_DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";
pub const MEDIA_SIGSTORE_BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
pub const ANNOTATION_COSIGN_SIGNATURE: &str = "dev.cosignproject.cosign/signature";
pub const ANNOTATION_COSIGN_CERTIFICATE: &str = "dev.sigstore.cosign/certificate";
pub const ANNOTATION_COSIGN_CHAIN: &str = "dev.sigstore.cosign/chain";
pub const ANNOTATION_COSIGN_BUNDLE: &str = "dev.sigstore.cosign/bundle";

/// Largest manifest or index accepted (registries commonly cap at 4 MiB).
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;
/// Most layers one image manifest may list (cosign's own limit is 1000 signature layers).
pub const MAX_LAYERS: usize = 1000;
/// Most entries one index may list.
pub const MAX_INDEX_ENTRIES: usize = 1000;

/// Accept header for manifest GETs: every manifest type airlock understands.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// Is this media type a manifest or index (as opposed to a plain blob)?
pub fn is_manifest_media_type(mt: &str) -> bool {
    matches!(
        mt,
        MEDIA_OCI_MANIFEST | MEDIA_OCI_INDEX | MEDIA_DOCKER_MANIFEST | MEDIA_DOCKER_LIST
    )
}

/// Is this media type an index (multi-platform list)?
pub fn is_index_media_type(mt: &str) -> bool {
    matches!(mt, MEDIA_OCI_INDEX | MEDIA_DOCKER_LIST)
}

/// A platform, as in an index entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A content descriptor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
}

impl Descriptor {
    pub fn new(media_type: impl Into<String>, digest: Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest,
            size,
            platform: None,
            artifact_type: None,
            annotations: BTreeMap::new(),
            urls: Vec::new(),
        }
    }
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }
}

/// An image manifest (OCI or Docker v2s2), including artifact manifests.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default)]
    pub subject: Option<Descriptor>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// An image index (OCI) or manifest list (Docker).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    pub schema_version: u32,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub artifact_type: Option<String>,
    pub manifests: Vec<Descriptor>,
    #[serde(default)]
    pub subject: Option<Descriptor>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// The parsed body of a manifest.
#[allow(clippy::large_enum_variant)] // one per manifest; boxing buys nothing here
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Image(ImageManifest),
    Index(ImageIndex),
}

/// A manifest with its exact bytes, the digest of those bytes, and the parsed body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    raw: Vec<u8>,
    digest: Digest,
    media_type: String,
    body: Body,
}

/// Why bytes are not a usable manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("manifest is not valid JSON: {0}")]
    Json(String),
    #[error(
        "manifest has schemaVersion {0}; only schemaVersion 2 (OCI, Docker v2s2) is supported"
    )]
    SchemaVersion(u64),
    #[error("manifest media type {0:?} is not an image manifest or index")]
    UnknownMediaType(String),
    #[error("manifest lists {count} {what}, over the limit of {limit}")]
    TooMany {
        what: &'static str,
        count: usize,
        limit: usize,
    },
    #[error("manifest has a bad digest: {0}")]
    Digest(#[from] DigestError),
    #[error("manifest hashes to {actual}, not to the expected {expected}")]
    DigestMismatch { expected: Digest, actual: Digest },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    #[serde(default)]
    schema_version: Option<serde_json::Value>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<serde::de::IgnoredAny>,
}

impl Manifest {
    /// Parse `raw` as a manifest. `declared` is the media type the transport announced (registry
    /// Content-Type or descriptor mediaType), used when the document itself names none.
    pub fn parse(raw: Vec<u8>, declared: Option<&str>) -> Result<Manifest, ManifestError> {
        Self::parse_with_limits(raw, declared, MAX_MANIFEST_BYTES, MAX_INDEX_ENTRIES)
    }

    /// [`Manifest::parse`] with other limits (an OCI layout's `index.json` lists every image).
    pub fn parse_with_limits(
        raw: Vec<u8>,
        declared: Option<&str>,
        max_bytes: usize,
        max_entries: usize,
    ) -> Result<Manifest, ManifestError> {
        if raw.len() > max_bytes {
            return Err(ManifestError::TooLarge {
                size: raw.len(),
                limit: max_bytes,
            });
        }
        let probe: Probe =
            serde_json::from_slice(&raw).map_err(|e| ManifestError::Json(e.to_string()))?;
        match probe.schema_version.as_ref().and_then(|v| v.as_u64()) {
            Some(2) => {}
            Some(other) => return Err(ManifestError::SchemaVersion(other)),
            None => {
                return Err(ManifestError::Json(
                    "missing or non-numeric schemaVersion".into(),
                ))
            }
        }
        let is_index = match probe.media_type.as_deref().or(declared) {
            Some(MEDIA_OCI_INDEX | MEDIA_DOCKER_LIST) => true,
            Some(MEDIA_OCI_MANIFEST | MEDIA_DOCKER_MANIFEST) => false,
            Some(other) if probe.media_type.is_some() => {
                return Err(ManifestError::UnknownMediaType(other.to_string()))
            }
            _ => probe.manifests.is_some(),
        };
        let body = if is_index {
            let idx: ImageIndex =
                serde_json::from_slice(&raw).map_err(|e| ManifestError::Json(e.to_string()))?;
            if idx.manifests.len() > max_entries {
                return Err(ManifestError::TooMany {
                    what: "index entries",
                    count: idx.manifests.len(),
                    limit: max_entries,
                });
            }
            Body::Index(idx)
        } else {
            let m: ImageManifest =
                serde_json::from_slice(&raw).map_err(|e| ManifestError::Json(e.to_string()))?;
            if m.layers.len() > MAX_LAYERS {
                return Err(ManifestError::TooMany {
                    what: "layers",
                    count: m.layers.len(),
                    limit: MAX_LAYERS,
                });
            }
            Body::Image(m)
        };
        let media_type = match (&body, probe.media_type) {
            (_, Some(mt)) => mt,
            (Body::Index(_), None) => declared
                .filter(|d| is_index_media_type(d))
                .unwrap_or(MEDIA_OCI_INDEX)
                .to_string(),
            (Body::Image(_), None) => declared
                .filter(|d| is_manifest_media_type(d) && !is_index_media_type(d))
                .unwrap_or(MEDIA_OCI_MANIFEST)
                .to_string(),
        };
        let digest = Digest::sha256_of(&raw);
        Ok(Manifest {
            raw,
            digest,
            media_type,
            body,
        })
    }

    /// Parse and check that the bytes hash to `expected` (with `expected`'s algorithm).
    pub fn parse_expecting(
        raw: Vec<u8>,
        declared: Option<&str>,
        expected: &Digest,
    ) -> Result<Manifest, ManifestError> {
        if !expected.matches(&raw) {
            let actual = Digest::of(expected.algorithm(), &raw);
            return Err(ManifestError::DigestMismatch {
                expected: expected.clone(),
                actual,
            });
        }
        let mut m = Manifest::parse(raw, declared)?;
        m.digest = expected.clone();
        Ok(m)
    }

    pub fn raw(&self) -> &[u8] {
        &self.raw
    }
    pub fn digest(&self) -> &Digest {
        &self.digest
    }
    pub fn media_type(&self) -> &str {
        &self.media_type
    }
    pub fn body(&self) -> &Body {
        &self.body
    }
    pub fn is_index(&self) -> bool {
        matches!(self.body, Body::Index(_))
    }
    pub fn size(&self) -> u64 {
        self.raw.len() as u64
    }
    /// A descriptor for this manifest.
    pub fn descriptor(&self) -> Descriptor {
        let mut d = Descriptor::new(self.media_type.clone(), self.digest.clone(), self.size());
        d.artifact_type = self.artifact_type().map(str::to_string);
        d
    }
    pub fn subject(&self) -> Option<&Descriptor> {
        match &self.body {
            Body::Image(m) => m.subject.as_ref(),
            Body::Index(i) => i.subject.as_ref(),
        }
    }
    pub fn annotations(&self) -> &BTreeMap<String, String> {
        match &self.body {
            Body::Image(m) => &m.annotations,
            Body::Index(i) => &i.annotations,
        }
    }
    /// The artifact type: `artifactType`, else the config media type for image manifests.
    pub fn artifact_type(&self) -> Option<&str> {
        match &self.body {
            Body::Image(m) => m
                .artifact_type
                .as_deref()
                .or(Some(m.config.media_type.as_str())),
            Body::Index(i) => i.artifact_type.as_deref(),
        }
    }
    /// Blobs this manifest references directly (config and layers), not child manifests.
    pub fn blob_descriptors(&self) -> Vec<&Descriptor> {
        match &self.body {
            Body::Image(m) => std::iter::once(&m.config).chain(m.layers.iter()).collect(),
            Body::Index(_) => Vec::new(),
        }
    }
    /// Child manifests (index entries).
    pub fn child_descriptors(&self) -> &[Descriptor] {
        match &self.body {
            Body::Image(_) => &[],
            Body::Index(i) => &i.manifests,
        }
    }
    pub fn layers(&self) -> &[Descriptor] {
        match &self.body {
            Body::Image(m) => &m.layers,
            Body::Index(_) => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image_json() -> Vec<u8> {
        br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}]}"#.to_vec()
    }

    #[test]
    fn image_manifest_parses_and_digest_is_over_raw_bytes() {
        let raw = image_json();
        let m = Manifest::parse(raw.clone(), None).unwrap();
        assert_eq!(m.digest(), &Digest::sha256_of(&raw));
        assert_eq!(m.raw(), &raw[..]);
        assert!(!m.is_index());
        assert_eq!(m.blob_descriptors().len(), 2);
    }

    #[test]
    fn whitespace_changes_the_digest_never_normalised() {
        let raw = image_json();
        let mut spaced = raw.clone();
        spaced.insert(1, b' ');
        let a = Manifest::parse(raw, None).unwrap();
        let b = Manifest::parse(spaced, None).unwrap();
        assert_ne!(a.digest(), b.digest());
    }

    #[test]
    fn index_without_media_type_is_detected_by_manifests_field() {
        let raw = br#"{"schemaVersion":2,"manifests":[]}"#.to_vec();
        let m = Manifest::parse(raw, None).unwrap();
        assert!(m.is_index());
        assert_eq!(m.media_type(), MEDIA_OCI_INDEX);
    }

    #[test]
    fn truncated_json_is_rejected() {
        let raw = image_json();
        let e = Manifest::parse(raw[..raw.len() - 5].to_vec(), None).unwrap_err();
        assert!(matches!(e, ManifestError::Json(_)));
    }

    #[test]
    fn schema_version_one_is_rejected() {
        let e = Manifest::parse(br#"{"schemaVersion":1,"name":"x"}"#.to_vec(), None).unwrap_err();
        assert!(matches!(e, ManifestError::SchemaVersion(1)));
    }

    #[test]
    fn oversized_manifest_is_rejected_before_parsing() {
        let raw = vec![b' '; MAX_MANIFEST_BYTES + 1];
        assert!(matches!(
            Manifest::parse(raw, None),
            Err(ManifestError::TooLarge { .. })
        ));
    }

    #[test]
    fn uppercase_digest_in_descriptor_is_rejected() {
        let raw = String::from_utf8(image_json())
            .unwrap()
            .replacen("44136fa355", "44136FA355", 1);
        assert!(Manifest::parse(raw.into_bytes(), None).is_err());
    }

    #[test]
    fn index_over_entry_limit_is_rejected() {
        let entry = r#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}"#;
        let entries = vec![entry; MAX_INDEX_ENTRIES + 1].join(",");
        let raw = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{entries}]}}"#
        );
        assert!(matches!(
            Manifest::parse(raw.into_bytes(), None),
            Err(ManifestError::TooMany { .. })
        ));
    }

    #[test]
    fn parse_expecting_catches_rewrite() {
        let raw = image_json();
        let other = Digest::sha256_of(b"other");
        assert!(matches!(
            Manifest::parse_expecting(raw, None, &other),
            Err(ManifestError::DigestMismatch { .. })
        ));
    }

    #[test]
    fn referrer_subject_and_artifact_type_are_read() {
        let raw = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}}"#.to_vec();
        let m = Manifest::parse(raw, None).unwrap();
        assert_eq!(m.artifact_type(), Some(MEDIA_SIGSTORE_BUNDLE_V03));
        assert!(m.subject().is_some());
    }
}

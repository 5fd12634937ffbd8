//! The mapping file (`airlock.mapping.json`, written by `push`): source reference → mirrored
//! `target@sha256:…`. `admission`, `preflight` and `verify --registry` read it.
use serde::{Deserialize, Serialize};

use crate::oci::Digest;

pub const MAPPING_SCHEMA: &str = "airlock.mapping/v1";
/// Largest mapping file accepted.
pub const MAX_MAPPING_BYTES: usize = 64 * 1024 * 1024;

/// One mirrored image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MappedImage {
    /// The source reference as captured (`registry/repo:tag` or `registry/repo@sha256:…`).
    pub source: String,
    /// Normalised source repository (`registry/path`).
    pub source_repository: String,
    pub digest: Digest,
    /// Target repository (`host[/prefix]/path`).
    pub target_repository: String,
    /// Tag pushed at the target, when the source had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// `target_repository@digest`.
    pub target: String,
    /// The verdict this image was pushed under: `pass`, or `unverified` (`push --no-verify`).
    /// Failed images are never mapped. Absent in mappings written before verdicts existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<MappedVerdict>,
    /// `sha256:` of the report bytes the verdict came from (absent for unverified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<Digest>,
}

/// The verdict recorded for a mapped image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MappedVerdict {
    Pass,
    Unverified,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    pub schema: String,
    /// `HOST[/PREFIX]` given to push.
    pub registry: String,
    #[serde(default)]
    pub created: String,
    pub images: Vec<MappedImage>,
}

#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("mapping is {0} bytes, over the {MAX_MAPPING_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("mapping is not valid {MAPPING_SCHEMA} JSON: {0}")]
    Json(String),
    #[error("mapping schema is {0:?}; expected {MAPPING_SCHEMA:?}")]
    Schema(String),
    #[error("mapping images[{index}].{field}: {problem}; a mapping names images by valid OCI references only")]
    Reference {
        index: usize,
        field: &'static str,
        problem: String,
    },
}

impl Mapping {
    pub fn parse(bytes: &[u8]) -> Result<Mapping, MappingError> {
        if bytes.len() > MAX_MAPPING_BYTES {
            return Err(MappingError::TooLarge(bytes.len()));
        }
        let m: Mapping =
            serde_json::from_slice(bytes).map_err(|e| MappingError::Json(e.to_string()))?;
        if m.schema != MAPPING_SCHEMA {
            return Err(MappingError::Schema(m.schema));
        }
        // Names from the mapping reach admission YAML and reports: valid references only.
        for (index, img) in m.images.iter().enumerate() {
            for (field, text) in [
                ("source", &img.source),
                ("target", &img.target),
                ("targetRepository", &img.target_repository),
                ("sourceRepository", &img.source_repository),
            ] {
                if let Err(e) = crate::oci::Reference::parse(text) {
                    return Err(MappingError::Reference {
                        index,
                        field,
                        problem: e.to_string(),
                    });
                }
            }
        }
        Ok(m)
    }
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
    /// The entry for a source reference as captured.
    pub fn by_source(&self, source: &str) -> Option<&MappedImage> {
        self.images.iter().find(|i| i.source == source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_round_trips_and_rejects_other_schema() {
        let d = Digest::sha256_of(b"m");
        let m = Mapping {
            schema: MAPPING_SCHEMA.into(),
            registry: "mirror.local/prefix".into(),
            created: String::new(),
            images: vec![MappedImage {
                source: "quay.io/a/b:1".into(),
                source_repository: "quay.io/a/b".into(),
                digest: d.clone(),
                target_repository: "mirror.local/prefix/a/b".into(),
                tag: Some("1".into()),
                target: format!("mirror.local/prefix/a/b@{d}"),
                verdict: Some(MappedVerdict::Pass),
                report: Some(Digest::sha256_of(b"report")),
            }],
        };
        assert_eq!(Mapping::parse(&m.to_json()).unwrap(), m);
        assert!(Mapping::parse(br#"{"schema":"x","registry":"r","images":[]}"#).is_err());
    }
}

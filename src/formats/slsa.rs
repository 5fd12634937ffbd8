//! SLSA provenance (v0.2 and v1): the builder, source repository and ref a predicate names.
//!
//! Pure format code: takes the predicate as already-parsed JSON (from a verified in-toto
//! statement) and depends on nothing else in the crate.
//!
//! - v1 (`https://slsa.dev/provenance/v1`): builder `runDetails.builder.id`; source and ref from
//!   `buildDefinition.externalParameters.workflow.{repository, ref}` (GitHub Actions build type)
//!   when present, else from the first `buildDefinition.resolvedDependencies[].uri` of the form
//!   `git+URL@REF`.
//! - v0.2 (`https://slsa.dev/provenance/v0.2`): builder `builder.id`; source and ref from
//!   `invocation.configSource.uri` (`git+URL@REF`), else from the first `materials[].uri`.
//!
//! Limits: every string read is at most [`MAX_FIELD_BYTES`] ([`SlsaError::FieldTooLong`]), and
//! at most [`MAX_DEPENDENCIES`] dependencies/materials are looked at
//! ([`SlsaError::TooManyDependencies`]).
use serde_json::Value;

/// Predicate type of SLSA provenance v0.2.
pub const PREDICATE_V02: &str = "https://slsa.dev/provenance/v0.2";
/// Predicate type of SLSA provenance v1.
pub const PREDICATE_V1: &str = "https://slsa.dev/provenance/v1";
/// Longest builder id, URI or ref accepted, in bytes.
pub const MAX_FIELD_BYTES: usize = 4096;
/// Most `resolvedDependencies` / `materials` entries accepted.
pub const MAX_DEPENDENCIES: usize = 10_000;

/// Which SLSA provenance version a predicate is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlsaVersion {
    V02,
    V1,
}

impl SlsaVersion {
    /// The version for a predicate type, `None` when it is not SLSA provenance.
    pub fn of(predicate_type: &str) -> Option<SlsaVersion> {
        match predicate_type {
            PREDICATE_V02 => Some(SlsaVersion::V02),
            PREDICATE_V1 => Some(SlsaVersion::V1),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            SlsaVersion::V02 => "v0.2",
            SlsaVersion::V1 => "v1",
        }
    }
}

/// What a provenance predicate says about where an artifact came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    pub version: SlsaVersion,
    /// The builder id, as written.
    pub builder_id: Option<String>,
    /// The source URI as written (`git+https://github.com/o/r@refs/tags/v1`).
    pub source_uri: Option<String>,
    /// The source repository, normalised by [`normalise_repo`].
    pub source_repo: Option<String>,
    /// The ref (`refs/tags/v1`), from the workflow parameters or the `@REF` suffix.
    pub r#ref: Option<String>,
}

/// Why a predicate is not readable provenance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlsaError {
    #[error("SLSA provenance {version}: expected a JSON object predicate, found {found}")]
    NotAnObject {
        version: &'static str,
        found: &'static str,
    },
    #[error("SLSA provenance field {field} is {found} bytes, longer than the limit of {limit}")]
    FieldTooLong {
        field: &'static str,
        limit: usize,
        found: usize,
    },
    #[error("SLSA provenance field {field} is {found}, expected a string")]
    NotAString {
        field: &'static str,
        found: &'static str,
    },
    #[error("SLSA provenance lists {found} {field}, more than the limit of {limit}")]
    TooManyDependencies {
        field: &'static str,
        limit: usize,
        found: usize,
    },
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The string at `pointer`, `None` when absent or null.
fn string_at(v: &Value, pointer: &str, field: &'static str) -> Result<Option<String>, SlsaError> {
    match v.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() > MAX_FIELD_BYTES => Err(SlsaError::FieldTooLong {
            field,
            limit: MAX_FIELD_BYTES,
            found: s.len(),
        }),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(SlsaError::NotAString {
            field,
            found: kind(other),
        }),
    }
}

/// The first `uri` of `list` (an array of `{uri, …}`) that is a `git+` URI; `None` when none is.
fn first_git_uri(
    v: &Value,
    pointer: &str,
    field: &'static str,
) -> Result<Option<String>, SlsaError> {
    let Some(Value::Array(items)) = v.pointer(pointer) else {
        return Ok(None);
    };
    if items.len() > MAX_DEPENDENCIES {
        return Err(SlsaError::TooManyDependencies {
            field,
            limit: MAX_DEPENDENCIES,
            found: items.len(),
        });
    }
    for item in items {
        if let Some(uri) = string_at(item, "/uri", field)? {
            if uri.starts_with("git+") {
                return Ok(Some(uri));
            }
        }
    }
    Ok(None)
}

/// Read builder, source and ref from a provenance predicate.
///
/// # Errors
/// [`SlsaError`] when the predicate is not an object or a field has the wrong type or size.
/// Absent fields are `None`, not errors: the policy decides whether it needed them.
pub fn extract(version: SlsaVersion, predicate: &Value) -> Result<Provenance, SlsaError> {
    if !predicate.is_object() {
        return Err(SlsaError::NotAnObject {
            version: version.as_str(),
            found: kind(predicate),
        });
    }
    let (builder_id, source_uri, mut r#ref) = match version {
        SlsaVersion::V1 => {
            let builder = string_at(predicate, "/runDetails/builder/id", "runDetails.builder.id")?;
            let wf_repo = string_at(
                predicate,
                "/buildDefinition/externalParameters/workflow/repository",
                "buildDefinition.externalParameters.workflow.repository",
            )?;
            let wf_ref = string_at(
                predicate,
                "/buildDefinition/externalParameters/workflow/ref",
                "buildDefinition.externalParameters.workflow.ref",
            )?;
            match wf_repo {
                Some(repo) => (builder, Some(repo), wf_ref),
                None => (
                    builder,
                    first_git_uri(
                        predicate,
                        "/buildDefinition/resolvedDependencies",
                        "buildDefinition.resolvedDependencies",
                    )?,
                    None,
                ),
            }
        }
        SlsaVersion::V02 => {
            let builder = string_at(predicate, "/builder/id", "builder.id")?;
            let config = string_at(
                predicate,
                "/invocation/configSource/uri",
                "invocation.configSource.uri",
            )?;
            let source = match config {
                Some(c) => Some(c),
                None => first_git_uri(predicate, "/materials", "materials")?,
            };
            (builder, source, None)
        }
    };
    let source_repo = source_uri.as_deref().map(normalise_repo);
    if r#ref.is_none() {
        r#ref = source_uri.as_deref().and_then(uri_ref).map(str::to_string);
    }
    Ok(Provenance {
        version,
        builder_id,
        source_uri,
        source_repo,
        r#ref,
    })
}

/// Where the path of a URI starts (after `scheme://authority`), or 0 when it has no authority.
fn path_start(uri: &str) -> usize {
    match uri.find("://") {
        Some(i) => {
            let after = i + 3;
            uri[after..].find('/').map_or(uri.len(), |p| after + p)
        }
        None => 0,
    }
}

/// The `@REF` suffix of a source URI (after its authority, so `ssh://git@host/…` is not split).
pub fn uri_ref(uri: &str) -> Option<&str> {
    let uri = uri.strip_prefix("git+").unwrap_or(uri);
    let start = path_start(uri);
    uri[start..]
        .rfind('@')
        .map(|i| &uri[start + i + 1..])
        .filter(|r| !r.is_empty())
}

/// A source repository for comparison: without a `git+` prefix, without any `@ref`, without a
/// trailing `.git` (and trailing `/`).
pub fn normalise_repo(uri: &str) -> String {
    let uri = uri.strip_prefix("git+").unwrap_or(uri);
    let start = path_start(uri);
    let base = match uri[start..].rfind('@') {
        Some(i) => &uri[..start + i],
        None => uri,
    };
    let base = base.trim_end_matches('/');
    base.strip_suffix(".git").unwrap_or(base).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v1_github_workflow_parameters_give_source_and_ref() {
        let p = json!({
            "buildDefinition": {
                "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": {"workflow": {
                    "ref": "refs/tags/v1.2.0",
                    "repository": "https://github.com/minio/aistor",
                    "path": ".github/workflows/release.yml"}},
                "resolvedDependencies": [{"uri": "git+https://github.com/other/repo@refs/heads/x"}]
            },
            "runDetails": {"builder": {"id": "https://github.com/actions/runner/github-hosted"}}
        });
        let got = extract(SlsaVersion::V1, &p).unwrap();
        assert_eq!(
            got.builder_id.as_deref(),
            Some("https://github.com/actions/runner/github-hosted")
        );
        assert_eq!(
            got.source_repo.as_deref(),
            Some("https://github.com/minio/aistor")
        );
        assert_eq!(got.r#ref.as_deref(), Some("refs/tags/v1.2.0"));
    }

    #[test]
    fn v1_resolved_dependencies_give_source_and_ref() {
        let p = json!({
            "buildDefinition": {"resolvedDependencies": [
                {"uri": "pkg:docker/alpine@3.19"},
                {"uri": "git+https://github.com/minio/aistor.git@refs/tags/v2"}]},
            "runDetails": {"builder": {"id": "https://ci.example/b"}}
        });
        let got = extract(SlsaVersion::V1, &p).unwrap();
        assert_eq!(
            got.source_repo.as_deref(),
            Some("https://github.com/minio/aistor")
        );
        assert_eq!(got.r#ref.as_deref(), Some("refs/tags/v2"));
    }

    #[test]
    fn v02_config_source_then_materials() {
        let p = json!({"builder": {"id": "https://b"},
            "invocation": {"configSource": {"uri": "git+https://git.example/team/app@refs/heads/main"}}});
        let got = extract(SlsaVersion::V02, &p).unwrap();
        assert_eq!(got.builder_id.as_deref(), Some("https://b"));
        assert_eq!(
            got.source_repo.as_deref(),
            Some("https://git.example/team/app")
        );
        assert_eq!(got.r#ref.as_deref(), Some("refs/heads/main"));
        let p = json!({"builder": {"id": "https://b"},
            "materials": [{"uri": "git+ssh://git@git.example/team/app.git@refs/tags/v1"}]});
        let got = extract(SlsaVersion::V02, &p).unwrap();
        assert_eq!(
            got.source_repo.as_deref(),
            Some("ssh://git@git.example/team/app")
        );
        assert_eq!(got.r#ref.as_deref(), Some("refs/tags/v1"));
    }

    #[test]
    fn wrong_types_and_sizes_are_errors_absent_fields_are_none() {
        assert!(matches!(
            extract(SlsaVersion::V1, &json!("x")),
            Err(SlsaError::NotAnObject { .. })
        ));
        assert!(matches!(
            extract(SlsaVersion::V02, &json!({"builder": {"id": 5}})),
            Err(SlsaError::NotAString { .. })
        ));
        let long = "a".repeat(MAX_FIELD_BYTES + 1);
        assert!(matches!(
            extract(SlsaVersion::V02, &json!({"builder": {"id": long}})),
            Err(SlsaError::FieldTooLong { .. })
        ));
        let got = extract(SlsaVersion::V1, &json!({})).unwrap();
        assert_eq!(got.builder_id, None);
        assert_eq!(got.source_repo, None);
    }

    #[test]
    fn the_cosign_provenance_vector_reads() {
        let st: Value = serde_json::from_slice(include_bytes!(
            "../../testdata/vectors/cosign/_extracted/cmd/cosign/cli/verify/verify_blob_attestation_test/blobSLSAProvenanceSignature.statement.json"
        ))
        .unwrap();
        let got = extract(SlsaVersion::V02, &st["predicate"]).unwrap();
        assert_eq!(got.version, SlsaVersion::V02);
    }
}

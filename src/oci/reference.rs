//! Image references: `[registry/]repository[:tag][@digest]`, with Docker Hub normalisation.
use std::fmt;

use super::digest::{Digest, DigestError};

/// Longest reference accepted.
pub const MAX_REFERENCE_LEN: usize = 4096;

/// A parsed reference. `given` keeps the text the user wrote, which is what a bundle's
/// `org.opencontainers.image.ref.name` records.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    given: String,
    registry: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("reference {0:?} is empty")]
    Empty(String),
    #[error("reference {0:?} is longer than {MAX_REFERENCE_LEN} characters")]
    TooLong(String),
    #[error("reference {given:?}: {problem}")]
    Invalid { given: String, problem: String },
    #[error("reference {given:?}: {source}")]
    Digest { given: String, source: DigestError },
}

pub const DOCKER_HUB: &str = "docker.io";

/// Check an `org.opencontainers.image.ref.name` annotation value against the OCI image-layout
/// grammar (`component ("/" component)*`, components of `[A-Za-z0-9]` joined by `-._:@+` or
/// `--`), so that only printable, well-formed names reach reports and generated YAML. A full
/// reference (`host/repo:tag`, `repo@sha256:…`) and a bare tag (`1.0`) both fit.
pub fn check_ref_name(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    if s.len() > MAX_REFERENCE_LEN {
        return Err(format!("it is longer than {MAX_REFERENCE_LEN} characters"));
    }
    if let Some(c) = s.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "character {} is not allowed (printable ASCII only, no spaces)",
            c.escape_unicode()
        ));
    }
    for comp in s.split('/') {
        let b = comp.as_bytes();
        let ok = !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"-._:@+".contains(c))
            && !b.windows(2).any(|w| {
                let sep = |c: u8| b"-._:@+".contains(&c);
                sep(w[0]) && sep(w[1]) && w != b"--"
            });
        if !ok {
            return Err(format!(
                "component {comp:?} does not match the OCI ref.name grammar ([A-Za-z0-9] joined by one of -._:@+ or --)"
            ));
        }
    }
    Ok(())
}

impl Reference {
    /// Parse a reference. `oci://` prefixes (Helm) are accepted and dropped.
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        let given = s.trim_matches(' ').to_string();
        if given.is_empty() {
            return Err(ReferenceError::Empty(s.to_string()));
        }
        if given.len() > MAX_REFERENCE_LEN {
            return Err(ReferenceError::TooLong(given.chars().take(64).collect()));
        }
        // Names travel into YAML, HTML, Markdown and terminals: a reference is printable ASCII
        // only (no newline, control, bidi or other invisible character can ride along).
        if let Some(c) = given.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(ReferenceError::Invalid {
                given: crate::text::shorten(&given, 256),
                problem: format!(
                    "character {} is not allowed; a reference is printable ASCII without spaces",
                    c.escape_unicode()
                ),
            });
        }
        let body = given.strip_prefix("oci://").unwrap_or(&given);
        let invalid = |problem: &str| ReferenceError::Invalid {
            given: given.clone(),
            problem: problem.to_string(),
        };
        let (name_tag, digest) = match body.split_once('@') {
            Some((n, d)) => {
                let d = Digest::parse(d).map_err(|e| ReferenceError::Digest {
                    given: given.clone(),
                    source: e,
                })?;
                (n, Some(d))
            }
            None => (body, None),
        };
        // The tag is after the last ':' that follows the last '/'.
        let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_tag[last_slash..].find(':') {
            Some(i) => (
                &name_tag[..last_slash + i],
                Some(name_tag[last_slash + i + 1..].to_string()),
            ),
            None => (name_tag, None),
        };
        if let Some(t) = &tag {
            if t.is_empty()
                || t.len() > 128
                || !t
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
                || t.starts_with(['.', '-'])
            {
                return Err(invalid(
                    "tag must be 1-128 characters of [A-Za-z0-9_.-], not starting with '.' or '-'",
                ));
            }
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
                (first.to_string(), rest.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
            _ => registry,
        };
        let path = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        if path.is_empty() {
            return Err(invalid("repository name is empty"));
        }
        for comp in path.split('/') {
            if comp.is_empty()
                || !comp
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                || !comp
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            {
                return Err(invalid("repository path components must be lowercase [a-z0-9] separated by '.', '_' or '-'"));
            }
        }
        if registry.is_empty()
            || !registry
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        {
            return Err(invalid("registry host is not a valid host[:port]"));
        }
        let tag = if tag.is_none() && digest.is_none() {
            Some("latest".to_string())
        } else {
            tag
        };
        Ok(Reference {
            given,
            registry,
            path,
            tag,
            digest,
        })
    }

    /// Build a reference from parts (registry host, repository path, tag/digest).
    pub fn from_parts(
        registry: &str,
        path: &str,
        tag: Option<&str>,
        digest: Option<&Digest>,
    ) -> Result<Reference, ReferenceError> {
        let mut s = format!("{registry}/{path}");
        if let Some(t) = tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = digest {
            s.push('@');
            s.push_str(&d.to_string());
        }
        Reference::parse(&s)
    }

    /// The text as the user gave it.
    pub fn given(&self) -> &str {
        &self.given
    }
    /// Registry host as named (`docker.io` for Docker Hub).
    pub fn registry(&self) -> &str {
        &self.registry
    }
    /// The host to talk to over the API (`registry-1.docker.io` for Docker Hub).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            "registry-1.docker.io"
        } else {
            &self.registry
        }
    }
    /// Repository path without the registry (`library/nginx`).
    pub fn path(&self) -> &str {
        &self.path
    }
    /// Full repository name (`docker.io/library/nginx`).
    pub fn repository(&self) -> String {
        format!("{}/{}", self.registry, self.path)
    }
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }
    /// What to ask the registry for: the digest when there is one, else the tag.
    pub fn reference_for_api(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }
    /// Same repository, other tag (and no digest).
    pub fn with_tag(&self, tag: &str) -> Reference {
        Reference {
            given: format!("{}:{tag}", self.repository()),
            registry: self.registry.clone(),
            path: self.path.clone(),
            tag: Some(tag.to_string()),
            digest: None,
        }
    }
    /// Same repository, pinned to a digest (no tag).
    pub fn with_digest(&self, digest: &Digest) -> Reference {
        Reference {
            given: format!("{}@{digest}", self.repository()),
            registry: self.registry.clone(),
            path: self.path.clone(),
            tag: None,
            digest: Some(digest.clone()),
        }
    }
}

/// Do two repository names denote the same repository (Docker Hub aliases folded)?
pub fn same_repository(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> String {
        match Reference::parse(s) {
            Ok(r) => r.repository(),
            Err(_) => s.to_string(),
        }
    }
    a == b || norm(a) == norm(b)
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repository())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_docker_hub_name_is_normalised() {
        let r = Reference::parse("nginx").unwrap();
        assert_eq!(r.repository(), "docker.io/library/nginx");
        assert_eq!(r.tag(), Some("latest"));
        assert_eq!(r.api_host(), "registry-1.docker.io");
        assert_eq!(r.given(), "nginx");
    }

    #[test]
    fn registry_with_port_and_tag_parses() {
        let r = Reference::parse("127.0.0.1:5000/team/app:v1.2").unwrap();
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.path(), "team/app");
        assert_eq!(r.tag(), Some("v1.2"));
    }

    #[test]
    fn digest_reference_parses_without_tag() {
        let d = Digest::sha256_of(b"x");
        let r = Reference::parse(&format!("quay.io/a/b@{d}")).unwrap();
        assert_eq!(r.digest(), Some(&d));
        assert_eq!(r.tag(), None);
        assert_eq!(r.reference_for_api(), d.to_string());
    }

    #[test]
    fn oci_scheme_is_dropped() {
        let r = Reference::parse("oci://ghcr.io/org/charts/app:1.0.0").unwrap();
        assert_eq!(r.repository(), "ghcr.io/org/charts/app");
    }

    #[test]
    fn uppercase_repository_is_rejected() {
        assert!(Reference::parse("quay.io/Team/app").is_err());
    }

    #[test]
    fn bad_digest_is_rejected() {
        assert!(matches!(
            Reference::parse("quay.io/a@sha256:ABC"),
            Err(ReferenceError::Digest { .. })
        ));
    }

    #[test]
    fn hub_aliases_are_the_same_repository() {
        assert!(same_repository(
            "index.docker.io/library/nginx",
            "docker.io/library/nginx"
        ));
        assert!(same_repository("nginx", "docker.io/library/nginx"));
        assert!(!same_repository("quay.io/a/b", "quay.io/a/c"));
    }
}

//! Package URLs in SBOMs, and package bans with `vers`-style version ranges.
//!
//! A ban is a purl without qualifiers whose version part may carry a comparator:
//! `pkg:npm/event-stream` (every version), `pkg:maven/org.example/lib@1.2.3` (that version),
//! `pkg:maven/org.example/lib@<2.17.1` (also `<=`, `>`, `>=`). Versions compare like the `vers`
//! spec's generic scheme: split on `.`, `-`, `_` and `+`; numeric segments compare as numbers,
//! others as text, a numeric segment sorts before a text one, and a version that is a prefix of
//! another is the smaller.
//!
//! SBOM purls are collected by `sbom` in the same pass that reads the document (SPDX
//! `packages[].externalRefs[]` with `referenceType: purl`, CycloneDX `components[].purl` with
//! nested `components`, limits `sbom::MAX_PURLS` and `sbom::MAX_COMPONENT_DEPTH`).
//!
//! Pure format code. Limit: [`MAX_PURL_BYTES`] (longer purls are skipped as unparseable, bans
//! longer than it are [`PurlError::Invalid`]).
use std::cmp::Ordering;

/// Longest purl, in bytes.
pub const MAX_PURL_BYTES: usize = 4096;

/// A parsed purl (only what matching needs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purl {
    /// Lower-cased type (`maven`, `npm`).
    pub ty: String,
    /// Percent-decoded namespace (may be empty).
    pub namespace: String,
    /// Percent-decoded name.
    pub name: String,
    /// Percent-decoded version, if any.
    pub version: Option<String>,
}

/// Why a ban or a purl cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PurlError {
    #[error("{found:?} is not a package URL: {why}; expected pkg:TYPE/[NAMESPACE/]NAME[@VERSION]")]
    Invalid { found: String, why: &'static str },
}

fn invalid(found: &str, why: &'static str) -> PurlError {
    PurlError::Invalid {
        found: found.chars().take(200).collect(),
        why,
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Split `pkg:type/ns/name@version?q#s` into its parts; the version is returned raw.
fn split(text: &str) -> Result<(String, String, String, Option<&str>), PurlError> {
    if text.len() > MAX_PURL_BYTES {
        return Err(invalid(text, "longer than 4096 bytes"));
    }
    let Some(rest) = text.strip_prefix("pkg:") else {
        return Err(invalid(text, "it does not start with pkg:"));
    };
    let rest = rest.trim_start_matches('/');
    let rest = rest.split('#').next().unwrap_or(rest);
    let rest = rest.split('?').next().unwrap_or(rest);
    let (path, version) = match rest.rsplit_once('@') {
        Some((p, v)) => (p, Some(v)),
        None => (rest, None),
    };
    let Some((ty, tail)) = path.split_once('/') else {
        return Err(invalid(text, "it has no type/name"));
    };
    let tail = tail.trim_end_matches('/');
    let (namespace, name) = match tail.rsplit_once('/') {
        Some((ns, n)) => (ns, n),
        None => ("", tail),
    };
    if ty.is_empty() || name.is_empty() {
        return Err(invalid(text, "its type or name is empty"));
    }
    Ok((
        ty.to_ascii_lowercase(),
        namespace
            .split('/')
            .map(decode)
            .collect::<Vec<_>>()
            .join("/"),
        decode(name),
        version,
    ))
}

impl Purl {
    /// Parse a purl.
    ///
    /// # Errors
    /// [`PurlError::Invalid`] when it is not `pkg:TYPE/…/NAME`.
    pub fn parse(text: &str) -> Result<Purl, PurlError> {
        let (ty, namespace, name, version) = split(text)?;
        Ok(Purl {
            ty,
            namespace,
            name,
            version: version.filter(|v| !v.is_empty()).map(decode),
        })
    }
}

/// A version constraint of a ban.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Constraint {
    Any,
    Eq(String),
    Lt(String),
    Le(String),
    Gt(String),
    Ge(String),
}

/// One `denyPackages` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ban {
    /// As written in the policy.
    pub text: String,
    pub ty: String,
    pub namespace: String,
    pub name: String,
    pub constraint: Constraint,
}

impl Ban {
    /// Parse a ban.
    ///
    /// # Errors
    /// [`PurlError::Invalid`] for text that is not a purl or carries qualifiers.
    pub fn parse(text: &str) -> Result<Ban, PurlError> {
        if text.contains('?') || text.contains('#') {
            return Err(invalid(
                text,
                "bans name a package and a version range, without qualifiers or subpath",
            ));
        }
        let (ty, namespace, name, version) = split(text)?;
        let constraint = match version {
            None => Constraint::Any,
            Some(v) => {
                let (ctor, rest): (fn(String) -> Constraint, &str) =
                    if let Some(r) = v.strip_prefix("<=") {
                        (Constraint::Le, r)
                    } else if let Some(r) = v.strip_prefix(">=") {
                        (Constraint::Ge, r)
                    } else if let Some(r) = v.strip_prefix('<') {
                        (Constraint::Lt, r)
                    } else if let Some(r) = v.strip_prefix('>') {
                        (Constraint::Gt, r)
                    } else if let Some(r) = v.strip_prefix('=') {
                        (Constraint::Eq, r)
                    } else {
                        (Constraint::Eq, v)
                    };
                let rest = decode(rest);
                if rest.is_empty() {
                    return Err(invalid(text, "the version after @ is empty"));
                }
                ctor(rest)
            }
        };
        Ok(Ban {
            text: text.to_string(),
            ty,
            namespace,
            name,
            constraint,
        })
    }

    /// Does this ban deny `p`? A package without a version is denied only by a ban without one.
    pub fn denies(&self, p: &Purl) -> bool {
        if p.ty != self.ty || p.namespace != self.namespace || p.name != self.name {
            return false;
        }
        let Some(v) = p.version.as_deref() else {
            return self.constraint == Constraint::Any;
        };
        match &self.constraint {
            Constraint::Any => true,
            Constraint::Eq(w) => compare_versions(v, w) == Ordering::Equal,
            Constraint::Lt(w) => compare_versions(v, w) == Ordering::Less,
            Constraint::Le(w) => compare_versions(v, w) != Ordering::Greater,
            Constraint::Gt(w) => compare_versions(v, w) == Ordering::Greater,
            Constraint::Ge(w) => compare_versions(v, w) != Ordering::Less,
        }
    }
}

/// Compare two versions by segments (see the module documentation). Within a segment, runs of
/// digits and of other characters are compared in turn (`r18` > `r9`).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    fn tokens(s: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for seg in s.split(['.', '-', '_', '+']).filter(|x| !x.is_empty()) {
            let bytes = seg.as_bytes();
            let mut start = 0;
            for i in 1..=bytes.len() {
                if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                    out.push(&seg[start..i]);
                    start = i;
                }
            }
        }
        out
    }
    let (ta, tb) = (tokens(a), tokens(b));
    for (x, y) in ta.iter().zip(tb.iter()) {
        let xn = x.bytes().all(|c| c.is_ascii_digit());
        let yn = y.bytes().all(|c| c.is_ascii_digit());
        let ord = match (xn, yn) {
            (true, true) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                x.len().cmp(&y.len()).then_with(|| x.cmp(y))
            }
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x.cmp(y),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    ta.len().cmp(&tb.len())
}

/// The purls an SBOM lists that parse (see `sbom::read_sbom_json`, which collects them). Purls
/// that do not parse are skipped: they cannot match a ban.
pub fn parse_listed<S: AsRef<str>>(raw: &[S]) -> Vec<Purl> {
    raw.iter()
        .filter_map(|t| Purl::parse(t.as_ref()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Purl {
        Purl::parse(s).unwrap()
    }

    #[test]
    fn ranges_deny_inside_and_allow_outside() {
        let ban = Ban::parse("pkg:maven/org.apache.logging.log4j/log4j-core@<2.17.1").unwrap();
        assert!(ban.denies(&p("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1")));
        assert!(ban.denies(&p("pkg:maven/org.apache.logging.log4j/log4j-core@2.9.0")));
        assert!(!ban.denies(&p("pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1")));
        assert!(!ban.denies(&p(
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.20.0?type=jar"
        )));
        assert!(!ban.denies(&p("pkg:maven/org.apache.logging.log4j/log4j-api@2.14.1")));
        let le = Ban::parse("pkg:npm/x@<=1.0").unwrap();
        assert!(
            le.denies(&p("pkg:npm/x@1.0.0"))
                == (compare_versions("1.0.0", "1.0") != Ordering::Greater)
        );
        assert!(Ban::parse("pkg:npm/x@>=2")
            .unwrap()
            .denies(&p("pkg:npm/x@2.0.1")));
        assert!(!Ban::parse("pkg:npm/x@>2")
            .unwrap()
            .denies(&p("pkg:npm/x@2")));
        assert!(Ban::parse("pkg:npm/x@1.2.3")
            .unwrap()
            .denies(&p("pkg:npm/x@1.2.3")));
    }

    #[test]
    fn a_ban_without_version_denies_every_version() {
        let ban = Ban::parse("pkg:npm/event-stream").unwrap();
        assert!(ban.denies(&p("pkg:npm/event-stream@3.3.6")));
        assert!(ban.denies(&p("pkg:npm/event-stream")));
        assert!(ban.denies(&p("pkg:NPM/event-stream@1")));
        let scoped = Ban::parse("pkg:npm/%40angular/core@<1.0").unwrap();
        assert!(scoped.denies(&p("pkg:npm/%40angular/core@0.9")));
    }

    #[test]
    fn versions_compare_by_segments() {
        assert_eq!(compare_versions("2.10", "2.9"), Ordering::Greater);
        assert_eq!(compare_versions("1.0", "1.0.1"), Ordering::Less);
        assert_eq!(compare_versions("3.2.0-r18", "3.2.0-r9"), Ordering::Greater);
        assert_eq!(compare_versions("1.0-rc1", "1.0.1"), Ordering::Greater);
        assert_eq!(compare_versions("007", "7"), Ordering::Equal);
    }

    #[test]
    fn bad_bans_are_errors() {
        assert!(Ban::parse("log4j").is_err());
        assert!(Ban::parse("pkg:npm").is_err());
        assert!(Ban::parse("pkg:npm/x?arch=1").is_err());
        assert!(Ban::parse("pkg:npm/x@<").is_err());
    }
}

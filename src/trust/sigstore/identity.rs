//! Who may have signed: the certificate's OIDC issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8,
//! or the legacy .1.1) and subject (the SAN: email, URI or Fulcio username, the otherName of type
//! 1.3.6.1.4.1.57264.1.7), each exact or a regular expression.
use std::fmt;

use super::{Failure, MAX_REGEX_BYTES};
use crate::finding::Code;

/// One value to match: anything, an exact string, or an unanchored regular expression (like
/// cosign's `--certificate-identity-regexp`: write `^…$` to anchor it).
#[derive(Clone, Debug)]
pub enum Matcher {
    Any,
    Exact(String),
    Regex(regex::Regex),
}

impl Matcher {
    /// An exact value, or (when `regexp` is given instead) a compiled regular expression.
    /// `what` names the field in error messages (e.g. `subjectRegExp`).
    pub fn from_parts(
        exact: Option<&str>,
        regexp: Option<&str>,
        what: &str,
    ) -> Result<Matcher, Failure> {
        match (exact, regexp) {
            (Some(_), Some(_)) => Err(Failure::new(
                Code::CertificateIdentityMismatch,
                format!("{what}: give either the exact value or the regular expression, not both"),
            )),
            (Some(e), None) => Ok(Matcher::Exact(e.to_string())),
            (None, Some(r)) => regex::RegexBuilder::new(r)
                .size_limit(MAX_REGEX_BYTES)
                .build()
                .map(Matcher::Regex)
                .map_err(|e| {
                    Failure::new(
                        Code::CertificateIdentityMismatch,
                        format!(
                            "{what} {r:?} is not a valid regular expression ({e}); fix the \
                             expression (it uses Rust regex syntax, like Go's RE2)"
                        ),
                    )
                }),
            (None, None) => Ok(Matcher::Any),
        }
    }

    pub fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Any => true,
            Matcher::Exact(e) => e == value,
            Matcher::Regex(r) => r.is_match(value),
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matcher::Any => f.write_str("any"),
            Matcher::Exact(e) => write!(f, "{e:?}"),
            Matcher::Regex(r) => write!(f, "/{}/", r.as_str()),
        }
    }
}

/// The keyless identity a signature must carry.
#[derive(Clone, Debug)]
pub struct IdentityPolicy {
    pub issuer: Matcher,
    pub subject: Matcher,
}

impl IdentityPolicy {
    /// From a policy's keyless signer (`issuer`/`issuerRegExp`, `subject`/`subjectRegExp`).
    pub fn from_signer(s: &crate::policy::KeylessSigner) -> Result<IdentityPolicy, Failure> {
        Ok(IdentityPolicy {
            issuer: Matcher::from_parts(
                s.issuer.as_deref(),
                s.issuer_regexp.as_deref(),
                "issuer/issuerRegExp",
            )?,
            subject: Matcher::from_parts(
                s.subject.as_deref(),
                s.subject_regexp.as_deref(),
                "subject/subjectRegExp",
            )?,
        })
    }

    /// Checks a verified certificate's identity: `subjects` are all its SAN identities (emails,
    /// URIs, Fulcio usernames), any of which may match. Ok: the identity that matched (the first
    /// one when the policy accepts any). The failure says what was expected and found.
    pub fn check(
        &self,
        subjects: &[String],
        issuer: Option<&str>,
    ) -> Result<Option<String>, Failure> {
        let matched = subjects.iter().find(|s| self.subject.matches(s));
        let subject_ok = matched.is_some() || matches!(self.subject, Matcher::Any);
        let issuer_ok =
            issuer.is_some_and(|i| self.issuer.matches(i)) || matches!(self.issuer, Matcher::Any);
        if subject_ok && issuer_ok {
            return Ok(matched.or(subjects.first()).cloned());
        }
        let mut parts = Vec::new();
        if !subject_ok {
            parts.push(format!(
                "subject {} expected, the certificate has {}",
                self.subject,
                if subjects.is_empty() {
                    "no SAN identity (email, URI or username)".to_string()
                } else {
                    subjects
                        .iter()
                        .map(|s| format!("{s:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ));
        }
        if !issuer_ok {
            parts.push(format!(
                "OIDC issuer {} expected, the certificate has {}",
                self.issuer,
                issuer.map_or("no issuer extension".to_string(), |s| format!("{s:?}"))
            ));
        }
        Err(Failure::new(
            Code::CertificateIdentityMismatch,
            format!(
                "the certificate verifies but its identity is not the trusted one: {}; trust this \
                 identity in the policy only if it is a legitimate signer",
                parts.join("; ")
            ),
        ))
    }
}

impl fmt::Display for IdentityPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "subject {} from issuer {}", self.subject, self.issuer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexps_are_unanchored_like_cosign() {
        let m = Matcher::from_parts(None, Some("github.com/minio/"), "subjectRegExp").unwrap();
        assert!(m.matches("https://github.com/minio/x/.github/workflows/r.yml@refs/tags/v1"));
        let anchored = Matcher::from_parts(None, Some("^https://github.com/minio/"), "s").unwrap();
        assert!(!anchored.matches("https://evil.example/https://github.com/minio/"));
    }

    #[test]
    fn mismatch_names_expected_and_found() {
        let p = IdentityPolicy {
            issuer: Matcher::Exact("https://token.actions.githubusercontent.com".into()),
            subject: Matcher::Exact("a@example.com".into()),
        };
        assert_eq!(
            p.check(
                &["https://x.example/".into(), "a@example.com".into()],
                Some("https://token.actions.githubusercontent.com")
            )
            .unwrap()
            .as_deref(),
            Some("a@example.com")
        );
        let e = p
            .check(
                &["b@example.com".into()],
                Some("https://github.com/login/oauth"),
            )
            .unwrap_err();
        assert_eq!(e.code, Code::CertificateIdentityMismatch);
        assert!(e.message.contains("b@example.com"), "{}", e.message);
        assert!(e.message.contains("login/oauth"), "{}", e.message);
    }

    #[test]
    fn bad_regexp_is_reported() {
        let e = Matcher::from_parts(None, Some("("), "issuerRegExp").unwrap_err();
        assert!(e.message.contains("issuerRegExp"));
    }
}

//! OpenVEX documents (`https://openvex.dev/ns`, `https://openvex.dev/ns/v0.2.0`).
//!
//! ```json
//! {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "…", "author": "…", "timestamp": "…",
//!  "statements": [{"vulnerability": {"name": "CVE-…"}, "products": [{"@id": "pkg:oci/app@sha256%3A…"}],
//!                  "status": "not_affected", "justification": "…"}]}
//! ```
//! Older documents write `vulnerability` as a string and `products` as strings; both are read.
//! A statement applies to an image when it names no products, or a product whose `@id` (or
//! `identifiers.purl`) is a `pkg:oci` purl whose version is the image digest (`sha256:<hex>` or
//! percent-encoded `sha256%3A<hex>`), or is the digest itself, or is the attested subject name.
//!
//! Pure format code over already-parsed JSON. Limits: [`MAX_STATEMENTS`]
//! ([`VexError::TooManyStatements`]), [`MAX_PRODUCTS`] ([`VexError::TooManyProducts`]).
use serde_json::Value;

/// Predicate types of OpenVEX attestations.
pub const PREDICATE_OPENVEX: &str = "https://openvex.dev/ns";
pub const PREDICATE_OPENVEX_V020: &str = "https://openvex.dev/ns/v0.2.0";
/// Most statements one document may hold.
pub const MAX_STATEMENTS: usize = 100_000;
/// Most products one statement may name.
pub const MAX_PRODUCTS: usize = 10_000;
/// Longest vulnerability name or product id, in bytes.
pub const MAX_ID_BYTES: usize = 4096;

/// Is this an OpenVEX predicate type?
pub fn is_openvex(predicate_type: &str) -> bool {
    predicate_type == PREDICATE_OPENVEX || predicate_type.starts_with("https://openvex.dev/ns/v")
}

/// A statement's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    NotAffected,
    Affected,
    Fixed,
    UnderInvestigation,
}

impl Status {
    fn parse(s: &str) -> Option<Status> {
        match s {
            "not_affected" => Some(Status::NotAffected),
            "affected" => Some(Status::Affected),
            "fixed" => Some(Status::Fixed),
            "under_investigation" => Some(Status::UnderInvestigation),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Status::NotAffected => "not_affected",
            Status::Affected => "affected",
            Status::Fixed => "fixed",
            Status::UnderInvestigation => "under_investigation",
        }
    }
    /// Does this status suppress the vulnerability?
    pub fn suppresses(self) -> bool {
        matches!(self, Status::NotAffected | Status::Fixed)
    }
}

/// One statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VexStatement {
    /// The vulnerability name and its aliases.
    pub ids: Vec<String>,
    /// Product ids (`@id`, and `identifiers.purl` when present); empty = every product.
    pub products: Vec<String>,
    pub status: Status,
}

/// Why a document is not readable OpenVEX.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VexError {
    #[error("OpenVEX: expected a JSON object with statements[], found {found}")]
    NotAnObject { found: &'static str },
    #[error("OpenVEX: statements is {found}, expected an array")]
    NoStatements { found: &'static str },
    #[error("OpenVEX: more than {limit} statements")]
    TooManyStatements { limit: usize },
    #[error("OpenVEX: statement {index} names more than {limit} products")]
    TooManyProducts { index: usize, limit: usize },
    #[error("OpenVEX: statement {index} has no vulnerability name")]
    NoVulnerability { index: usize },
    #[error("OpenVEX: statement {index} has status {found:?}; expected not_affected, affected, fixed or under_investigation")]
    BadStatus { index: usize, found: String },
    #[error("OpenVEX: statement {index}: a value is longer than {limit} bytes")]
    TooLong { index: usize, limit: usize },
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

/// Parse an OpenVEX document (a predicate given as a JSON string is unwrapped once).
///
/// # Errors
/// [`VexError`] for a document that is not OpenVEX or breaks a limit.
pub fn parse(doc: &Value) -> Result<Vec<VexStatement>, VexError> {
    if let Value::String(text) = doc {
        let inner: Value = serde_json::from_str(text).map_err(|_| VexError::NotAnObject {
            found: "a string that is not JSON",
        })?;
        if inner.is_string() {
            return Err(VexError::NotAnObject { found: "a string" });
        }
        return parse(&inner);
    }
    if !doc.is_object() {
        return Err(VexError::NotAnObject { found: kind(doc) });
    }
    let list = match doc.get("statements") {
        Some(Value::Array(a)) => a,
        other => {
            return Err(VexError::NoStatements {
                found: other.map_or("absent", kind),
            })
        }
    };
    if list.len() > MAX_STATEMENTS {
        return Err(VexError::TooManyStatements {
            limit: MAX_STATEMENTS,
        });
    }
    let mut out = Vec::with_capacity(list.len());
    for (index, st) in list.iter().enumerate() {
        let too_long = |s: &str| s.len() > MAX_ID_BYTES;
        let mut ids = Vec::new();
        match st.get("vulnerability") {
            Some(Value::String(s)) => ids.push(s.clone()),
            Some(v @ Value::Object(_)) => {
                for key in ["name", "@id"] {
                    if let Some(s) = v.get(key).and_then(Value::as_str) {
                        ids.push(s.to_string());
                    }
                }
                if let Some(Value::Array(aliases)) = v.get("aliases") {
                    ids.extend(aliases.iter().filter_map(Value::as_str).map(str::to_string));
                }
            }
            _ => {}
        }
        ids.retain(|s| !s.is_empty());
        if ids.is_empty() {
            return Err(VexError::NoVulnerability { index });
        }
        let mut products = Vec::new();
        if let Some(Value::Array(ps)) = st.get("products") {
            if ps.len() > MAX_PRODUCTS {
                return Err(VexError::TooManyProducts {
                    index,
                    limit: MAX_PRODUCTS,
                });
            }
            for p in ps {
                match p {
                    Value::String(s) => products.push(s.clone()),
                    Value::Object(_) => {
                        if let Some(s) = p.get("@id").and_then(Value::as_str) {
                            products.push(s.to_string());
                        }
                        if let Some(s) = p.pointer("/identifiers/purl").and_then(Value::as_str) {
                            products.push(s.to_string());
                        }
                    }
                    _ => {}
                }
            }
        }
        if ids.iter().chain(products.iter()).any(|s| too_long(s)) {
            return Err(VexError::TooLong {
                index,
                limit: MAX_ID_BYTES,
            });
        }
        let status_text = st.get("status").and_then(Value::as_str).unwrap_or("");
        let status = Status::parse(status_text).ok_or_else(|| VexError::BadStatus {
            index,
            found: status_text.chars().take(64).collect(),
        })?;
        out.push(VexStatement {
            ids,
            products,
            status,
        });
    }
    Ok(out)
}

impl VexStatement {
    /// Does this statement apply to an image with one of `digests` (`sha256:<hex>`), attested
    /// under one of `subject_names`?
    pub fn applies_to(&self, digests: &[&str], subject_names: &[&str]) -> bool {
        self.products.is_empty()
            || self
                .products
                .iter()
                .any(|p| product_names_image(p, digests, subject_names))
    }

    /// Does it name `id`?
    pub fn names(&self, id: &str) -> bool {
        self.ids.iter().any(|i| i == id)
    }
}

fn product_names_image(product: &str, digests: &[&str], subject_names: &[&str]) -> bool {
    if digests.contains(&product) || subject_names.iter().any(|n| !n.is_empty() && *n == product) {
        return true;
    }
    let Some(rest) = product.strip_prefix("pkg:oci/") else {
        return false;
    };
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let Some((_, version)) = rest.rsplit_once('@') else {
        return false;
    };
    let version = version.replace("%3A", ":").replace("%3a", ":");
    digests.contains(&version.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn statements_read_with_products_and_status() {
        let doc = json!({
            "@context": "https://openvex.dev/ns/v0.2.0",
            "@id": "https://example/vex/1", "author": "vendor", "timestamp": "2026-01-01T00:00:00Z",
            "statements": [
                {"vulnerability": {"name": "CVE-1", "aliases": ["GHSA-x"]},
                 "products": [{"@id": "pkg:oci/app@sha256%3A0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef?repository_url=r"}],
                 "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
                {"vulnerability": "CVE-2", "products": ["pkg:oci/other@sha256:ff"], "status": "fixed"},
                {"vulnerability": {"name": "CVE-3"}, "status": "affected"}
            ]
        });
        let sts = parse(&doc).unwrap();
        assert_eq!(sts.len(), 3);
        assert!(sts[0].names("GHSA-x"));
        assert!(sts[0].applies_to(&[D], &[]));
        assert!(!sts[1].applies_to(&[D], &[]));
        assert!(sts[2].applies_to(&[D], &[]));
        assert!(sts[0].status.suppresses() && !sts[2].status.suppresses());
        let by_name = VexStatement {
            ids: vec!["CVE-4".into()],
            products: vec!["registry.example/app".into()],
            status: Status::Fixed,
        };
        assert!(by_name.applies_to(&[D], &["registry.example/app"]));
    }

    #[test]
    fn malformed_documents_are_errors() {
        assert!(matches!(
            parse(&json!([])),
            Err(VexError::NotAnObject { .. })
        ));
        assert!(matches!(
            parse(&json!({})),
            Err(VexError::NoStatements { .. })
        ));
        assert!(matches!(
            parse(&json!({"statements": [{"status": "fixed"}]})),
            Err(VexError::NoVulnerability { index: 0 })
        ));
        assert!(matches!(
            parse(&json!({"statements": [{"vulnerability": "CVE-1", "status": "ok"}]})),
            Err(VexError::BadStatus { .. })
        ));
    }
}

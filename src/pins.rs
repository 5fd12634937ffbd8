//! The pins file: one `registry/repo[:tag]@sha256:<hex>` per line, `#` comments.
use crate::oci::{Digest, Reference};

/// Largest pins file accepted.
pub const MAX_PINS_BYTES: usize = 16 * 1024 * 1024;
/// Most pins accepted.
pub const MAX_PINS: usize = 100_000;

/// One pin: a reference (with optional tag) and the digest it must resolve to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub reference: Reference,
    pub digest: Digest,
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pins {
    pub pins: Vec<Pin>,
}

#[derive(Debug, thiserror::Error)]
pub enum PinsError {
    #[error("{source_name}:{line}: {problem}")]
    Line {
        source_name: String,
        line: usize,
        problem: String,
    },
    #[error("{0}: over the limit ({1})")]
    TooLarge(String, String),
    #[error("{source_name}: {error}")]
    Read {
        source_name: String,
        error: crate::limited::LimitedReadError,
    },
    #[error("{0}: not UTF-8 text; expected one `registry/repo[:tag]@sha256:<hex>` per line")]
    NotUtf8(String),
}

impl Pins {
    /// Read and parse the pins file at `path`, reading at most [`MAX_PINS_BYTES`].
    pub fn load(path: &std::path::Path) -> Result<Pins, PinsError> {
        let name = path.display().to_string();
        let bytes =
            crate::limited::read_file_limited(path, MAX_PINS_BYTES as u64).map_err(|error| {
                match error {
                    crate::limited::LimitedReadError::TooLarge { .. } => {
                        PinsError::TooLarge(name.clone(), format!("{MAX_PINS_BYTES} bytes"))
                    }
                    error => PinsError::Read {
                        source_name: name.clone(),
                        error,
                    },
                }
            })?;
        let text = String::from_utf8(bytes).map_err(|_| PinsError::NotUtf8(name.clone()))?;
        Pins::parse(&text, &name)
    }

    /// Parse a pins file's text. `source_name` is used in messages.
    pub fn parse(text: &str, source_name: &str) -> Result<Pins, PinsError> {
        if text.len() > MAX_PINS_BYTES {
            return Err(PinsError::TooLarge(
                source_name.into(),
                format!("{MAX_PINS_BYTES} bytes"),
            ));
        }
        let mut pins = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let err = |problem: String| PinsError::Line {
                source_name: source_name.into(),
                line: i + 1,
                problem,
            };
            let reference = Reference::parse(line).map_err(|e| err(e.to_string()))?;
            let digest = reference.digest().cloned().ok_or_else(|| {
                err(format!(
                    "expected `registry/repo[:tag]@sha256:<hex>`, found {line:?} (no digest)"
                ))
            })?;
            pins.push(Pin {
                reference,
                digest,
                line: i + 1,
            });
            if pins.len() > MAX_PINS {
                return Err(PinsError::TooLarge(
                    source_name.into(),
                    format!("{MAX_PINS} pins"),
                ));
            }
        }
        Ok(Pins { pins })
    }

    pub fn is_empty(&self) -> bool {
        self.pins.is_empty()
    }

    /// The pinned digest for a reference: same repository, and same tag when the pin names one.
    pub fn lookup(&self, r: &Reference) -> Option<&Digest> {
        self.find(r).map(|p| &p.digest)
    }

    pub fn find(&self, r: &Reference) -> Option<&Pin> {
        let repo = r.repository();
        self.pins
            .iter()
            .find(|p| {
                p.reference.repository() == repo
                    && p.reference.tag().is_some()
                    && p.reference.tag() == r.tag()
            })
            .or_else(|| {
                self.pins
                    .iter()
                    .find(|p| p.reference.repository() == repo && p.reference.tag().is_none())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_with_comments_and_match_by_tag() {
        let d1 = Digest::sha256_of(b"1");
        let d2 = Digest::sha256_of(b"2");
        let text = format!("# pins\nquay.io/a/b:v1@{d1}  # release\n\nquay.io/a/b:v2@{d2}\n");
        let p = Pins::parse(&text, "pins.txt").unwrap();
        assert_eq!(p.pins.len(), 2);
        assert_eq!(
            p.lookup(&Reference::parse("quay.io/a/b:v2").unwrap()),
            Some(&d2)
        );
        assert_eq!(p.lookup(&Reference::parse("quay.io/a/c:v2").unwrap()), None);
    }

    #[test]
    fn pin_without_digest_is_an_error_with_line_number() {
        let e = Pins::parse("\nquay.io/a/b:v1\n", "pins.txt").unwrap_err();
        assert!(e.to_string().starts_with("pins.txt:2:"), "{e}");
    }
}

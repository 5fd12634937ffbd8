//! `Digest`: a validated content address (`sha256:<64 hex>` or `sha512:<128 hex>`).
//!
//! Parsed once at the edge; a `Digest` value can only hold a well-formed digest, so code past the
//! parser never re-validates and never compares strings that merely look like digests.
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Hash algorithms a digest may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }
    /// Length of the lowercase hex encoding.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
    fn ring(self) -> &'static ring::digest::Algorithm {
        match self {
            Algorithm::Sha256 => &ring::digest::SHA256,
            Algorithm::Sha512 => &ring::digest::SHA512,
        }
    }
}

/// Why a string is not a digest.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("digest {0:?} has no algorithm prefix (expected \"sha256:<hex>\")")]
    NoAlgorithm(String),
    #[error("digest {0:?} uses unsupported algorithm {1:?} (supported: sha256, sha512)")]
    UnsupportedAlgorithm(String, String),
    #[error("digest {value:?}: expected {expected} hex characters for {alg}, found {found}")]
    WrongLength {
        value: String,
        alg: &'static str,
        expected: usize,
        found: usize,
    },
    #[error("digest {0:?}: hex must be lowercase 0-9a-f")]
    BadHex(String),
}

/// A validated digest.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    alg: Algorithm,
    hex: String,
}

impl Digest {
    /// Parse `alg:hex`, strictly (lowercase hex, exact length).
    pub fn parse(s: &str) -> Result<Digest, DigestError> {
        let shown = || truncate_for_display(s);
        let (alg, hex) = s
            .split_once(':')
            .ok_or_else(|| DigestError::NoAlgorithm(shown()))?;
        let alg = match alg {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            other => {
                return Err(DigestError::UnsupportedAlgorithm(
                    shown(),
                    truncate_for_display(other),
                ))
            }
        };
        if hex.len() != alg.hex_len() {
            return Err(DigestError::WrongLength {
                value: shown(),
                alg: alg.as_str(),
                expected: alg.hex_len(),
                found: hex.len(),
            });
        }
        if !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(DigestError::BadHex(shown()));
        }
        Ok(Digest {
            alg,
            hex: hex.to_string(),
        })
    }

    /// The sha256 digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        Self::of(Algorithm::Sha256, bytes)
    }

    /// The digest of `bytes` with `alg`.
    pub fn of(alg: Algorithm, bytes: &[u8]) -> Digest {
        let d = ring::digest::digest(alg.ring(), bytes);
        Digest {
            alg,
            hex: to_hex(d.as_ref()),
        }
    }

    /// Does `bytes` hash to this digest (with this digest's algorithm)?
    pub fn matches(&self, bytes: &[u8]) -> bool {
        Self::of(self.alg, bytes) == *self
    }

    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }
    pub fn hex(&self) -> &str {
        &self.hex
    }
    /// The cosign/referrers tag form: `sha256-<hex>`.
    pub fn tag_form(&self) -> String {
        format!("{}-{}", self.alg.as_str(), self.hex)
    }
    /// A short form for humans: `sha256:0123456789ab`.
    pub fn short(&self) -> String {
        format!("{}:{}", self.alg.as_str(), &self.hex[..12])
    }
    /// A streaming hasher for this digest's algorithm.
    pub fn hasher(&self) -> Hasher {
        Hasher::new(self.alg)
    }
}

/// Incremental hashing that ends in a [`Digest`].
pub struct Hasher {
    alg: Algorithm,
    ctx: ring::digest::Context,
}

impl Hasher {
    pub fn new(alg: Algorithm) -> Hasher {
        Hasher {
            alg,
            ctx: ring::digest::Context::new(alg.ring()),
        }
    }
    pub fn update(&mut self, bytes: &[u8]) {
        self.ctx.update(bytes);
    }
    pub fn finish(self) -> Digest {
        Digest {
            alg: self.alg,
            hex: to_hex(self.ctx.finish().as_ref()),
        }
    }
    /// The digest of everything hashed so far; hashing can go on.
    pub fn digest_so_far(&self) -> Digest {
        Digest {
            alg: self.alg,
            hex: to_hex(self.ctx.clone().finish().as_ref()),
        }
    }
}

/// Lowercase hex of bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 0xf) as usize] as char);
    }
    s
}

fn truncate_for_display(s: &str) -> String {
    crate::text::shorten(s, 140)
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.alg.as_str(), self.hex)
    }
}
impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}
impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}
impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_JSON: &str =
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    #[test]
    fn valid_sha256_parses_and_round_trips() {
        let d = Digest::parse(EMPTY_JSON).unwrap();
        assert_eq!(d.to_string(), EMPTY_JSON);
        assert_eq!(d.algorithm(), Algorithm::Sha256);
        assert!(d.matches(b"{}"));
        assert_eq!(Digest::sha256_of(b"{}"), d);
    }

    #[test]
    fn valid_sha512_parses() {
        let d = Digest::of(Algorithm::Sha512, b"x");
        assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
    }

    #[test]
    fn uppercase_hex_is_rejected() {
        let up = EMPTY_JSON.replace("fa", "FA");
        assert!(matches!(Digest::parse(&up), Err(DigestError::BadHex(_))));
    }

    #[test]
    fn wrong_length_is_rejected() {
        let e = Digest::parse("sha256:abcd").unwrap_err();
        assert!(matches!(
            e,
            DigestError::WrongLength {
                expected: 64,
                found: 4,
                ..
            }
        ));
        assert!(e.to_string().contains("expected 64 hex characters"));
    }

    #[test]
    fn missing_or_unknown_algorithm_is_rejected() {
        assert!(matches!(
            Digest::parse("abcd"),
            Err(DigestError::NoAlgorithm(_))
        ));
        assert!(matches!(
            Digest::parse("md5:abcd"),
            Err(DigestError::UnsupportedAlgorithm(..))
        ));
    }

    #[test]
    fn path_traversal_in_hex_is_rejected() {
        assert!(Digest::parse("sha256:../../x").is_err());
    }

    #[test]
    fn streaming_hasher_equals_one_shot() {
        let mut h = Hasher::new(Algorithm::Sha256);
        h.update(b"{");
        h.update(b"}");
        assert_eq!(h.finish().to_string(), EMPTY_JSON);
    }

    #[test]
    fn digest_so_far_is_the_prefix_digest_and_hashing_goes_on() {
        let mut h = Hasher::new(Algorithm::Sha256);
        h.update(b"{");
        assert_eq!(h.digest_so_far(), Digest::sha256_of(b"{"));
        h.update(b"}");
        assert_eq!(h.digest_so_far().to_string(), EMPTY_JSON);
        assert_eq!(h.finish().to_string(), EMPTY_JSON);
    }
}

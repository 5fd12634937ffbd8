//! Public keys, signing keys and cosign key files.
//!
//! - [`PublicKey`] holds a SubjectPublicKeyInfo (SPKI) for ECDSA P-256, ECDSA P-384, RSA (2048 to
//!   4096 bits) or Ed25519, and verifies signatures with it. It reads PEM `PUBLIC KEY` (the
//!   `cosign.pub` format) and `RSA PUBLIC KEY` (PKCS#1, turned into SPKI so that the key id is
//!   the same for both forms).
//! - [`SigningKey`] signs. It reads the cosign `cosign.key` format (PEM `ENCRYPTED SIGSTORE PRIVATE
//!   KEY` or `ENCRYPTED COSIGN PRIVATE KEY`: a JSON document with scrypt parameters, a salt, a
//!   nacl/secretbox nonce and the encrypted PKCS#8 key), plain PKCS#8 `PRIVATE KEY`, SEC1
//!   `EC PRIVATE KEY` and PKCS#1 `RSA PRIVATE KEY`, and writes the cosign format.
//!
//! Signature scheme, as cosign uses it: no algorithm identifier travels with a signature; the key
//! decides. ECDSA P-256 signs SHA-256 of the message and P-384 signs SHA-384, as ASN.1 DER
//! (`r||s` is also accepted when verifying). RSA is PKCS#1 v1.5 with SHA-256. Ed25519 is plain
//! Ed25519 over the message (not Ed25519ph).
//!
//! Everything read from outside is size-checked before it is parsed ([`MAX_PEM_BYTES`]), and the
//! scrypt parameters of an encrypted key are limited to the three sets cosign writes, so a hostile
//! key file cannot make the loader spend unbounded memory or time.
pub mod pkcs11;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self as ring_sig, KeyPair as _};
use serde::{Deserialize, Serialize};
use x509_parser::prelude::FromDer;
use zeroize::Zeroizing;

/// Largest PEM input (public or private key file) accepted, checked before parsing.
pub const MAX_PEM_BYTES: usize = 64 * 1024;
/// Largest DER SubjectPublicKeyInfo accepted (an RSA-4096 SPKI is about 550 bytes).
pub const MAX_SPKI_DER_BYTES: usize = 16 * 1024;
/// Largest signature accepted by [`PublicKey::verify`] (an RSA-4096 signature is 512 bytes).
pub const MAX_SIGNATURE_BYTES: usize = 1024;
/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits.
pub const MAX_RSA_BITS: usize = 4096;
/// The scrypt cost exponents (N = 2^log_n) accepted in encrypted key files: cosign's legacy,
/// standard and OWASP settings. Anything else is refused, as cosign does.
pub const SCRYPT_ALLOWED_LOG_N: [u8; 3] = [15, 16, 17];
/// The scrypt cost exponent used by cosign since v2.2.0 (N = 65536).
pub const SCRYPT_DEFAULT_LOG_N: u8 = 16;
/// The only scrypt block size `r` accepted and written.
pub const SCRYPT_R: u32 = 8;
/// The only scrypt parallelism `p` accepted and written.
pub const SCRYPT_P: u32 = 1;
/// Environment variables read by [`passphrase_from_env`], in order.
pub const PASSPHRASE_ENV_VARS: [&str; 2] = ["AIRLOCK_PASSWORD", "COSIGN_PASSWORD"];

const SALT_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const SECRETBOX_KEY_LEN: usize = 32;
const SECRETBOX_TAG_LEN: usize = 16;
const KDF_NAME: &str = "scrypt";
const CIPHER_NAME: &str = "nacl/secretbox";

const LABEL_PUBLIC_KEY: &str = "PUBLIC KEY";
const LABEL_RSA_PUBLIC_KEY: &str = "RSA PUBLIC KEY";
const LABEL_PRIVATE_KEY: &str = "PRIVATE KEY";
const LABEL_EC_PRIVATE_KEY: &str = "EC PRIVATE KEY";
const LABEL_RSA_PRIVATE_KEY: &str = "RSA PRIVATE KEY";
const LABEL_EC_PARAMETERS: &str = "EC PARAMETERS";
const LABEL_SIGSTORE_KEY: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
const LABEL_COSIGN_KEY: &str = "ENCRYPTED COSIGN PRIVATE KEY";

/// DER contents of the object identifiers this module recognises.
mod oid {
    /// id-ecPublicKey, 1.2.840.10045.2.1
    pub(super) const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    /// prime256v1 / secp256r1 (P-256), 1.2.840.10045.3.1.7
    pub(super) const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    /// secp384r1 (P-384), 1.3.132.0.34
    pub(super) const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
    /// secp521r1 (P-521), 1.3.132.0.35
    pub(super) const P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
    /// secp256k1, 1.3.132.0.10
    pub(super) const SECP256K1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x0a];
    /// rsaEncryption, 1.2.840.113549.1.1.1
    pub(super) const RSA_ENCRYPTION: &[u8] =
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    /// id-RSASSA-PSS, 1.2.840.113549.1.1.10
    pub(super) const RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
    /// id-Ed25519, 1.3.101.112
    pub(super) const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
    /// id-Ed448, 1.3.101.113
    pub(super) const ED448: &[u8] = &[0x2b, 0x65, 0x71];
    /// id-dsa, 1.2.840.10040.4.1
    pub(super) const DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
}

/// The key algorithms airlock supports. `Display` gives the names used in reports and on the
/// command line: `ecdsa-p256`, `ecdsa-p384`, `rsa-<bits>`, `ed25519`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// ECDSA on NIST P-256 with SHA-256 (cosign's default).
    #[default]
    EcdsaP256,
    /// ECDSA on NIST P-384 with SHA-384.
    EcdsaP384,
    /// RSA, PKCS#1 v1.5 signatures with SHA-256; `bits` is the modulus size.
    Rsa { bits: usize },
    /// Ed25519 (plain, not Ed25519ph).
    Ed25519,
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyAlgorithm::EcdsaP256 => f.write_str("ecdsa-p256"),
            KeyAlgorithm::EcdsaP384 => f.write_str("ecdsa-p384"),
            KeyAlgorithm::Rsa { bits } => write!(f, "rsa-{bits}"),
            KeyAlgorithm::Ed25519 => f.write_str("ed25519"),
        }
    }
}

impl FromStr for KeyAlgorithm {
    type Err = KeyError;

    /// Parses the `Display` form: `ecdsa-p256`, `ecdsa-p384`, `rsa-<bits>`, `ed25519`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unsupported = || {
            KeyError::UnsupportedAlgorithm(format!(
                "unknown key algorithm name \"{s}\"; expected one of ecdsa-p256, ecdsa-p384, \
                 rsa-2048, rsa-3072, rsa-4096, ed25519"
            ))
        };
        match s {
            "ecdsa-p256" => Ok(KeyAlgorithm::EcdsaP256),
            "ecdsa-p384" => Ok(KeyAlgorithm::EcdsaP384),
            "ed25519" => Ok(KeyAlgorithm::Ed25519),
            _ => {
                let bits: usize = s
                    .strip_prefix("rsa-")
                    .and_then(|b| b.parse().ok())
                    .ok_or_else(unsupported)?;
                if (MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                    Ok(KeyAlgorithm::Rsa { bits })
                } else {
                    Err(unsupported())
                }
            }
        }
    }
}

/// The PEM label written by [`SigningKey::to_encrypted_pem`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PemLabel {
    /// `ENCRYPTED SIGSTORE PRIVATE KEY`, written by cosign since v2.0.1.
    #[default]
    Sigstore,
    /// `ENCRYPTED COSIGN PRIVATE KEY`, written by older cosign; all cosign versions read it.
    Cosign,
}

impl PemLabel {
    /// The PEM label text, e.g. `ENCRYPTED SIGSTORE PRIVATE KEY`.
    pub fn as_str(self) -> &'static str {
        match self {
            PemLabel::Sigstore => LABEL_SIGSTORE_KEY,
            PemLabel::Cosign => LABEL_COSIGN_KEY,
        }
    }
}

impl fmt::Display for PemLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a key could not be read, decrypted, generated or used.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum KeyError {
    /// A key file could not be read.
    #[error("cannot read key file {}: {err}", path.display())]
    Io { path: PathBuf, err: std::io::Error },
    /// An error about a key file; names the file. Use [`KeyError::without_path`] to match on the
    /// underlying error.
    #[error("{}: {err}", path.display())]
    WithPath { path: PathBuf, err: Box<KeyError> },
    /// The input is larger than a key can be.
    #[error(
        "{what} is {found} bytes, over the limit of {limit} bytes; key files are a few kilobytes, \
         so check that the right file was given"
    )]
    TooLarge {
        what: &'static str,
        found: u64,
        limit: usize,
    },
    /// The input is not PEM, or its PEM framing or base64 is broken.
    #[error("malformed PEM: {0}")]
    Pem(String),
    /// The PEM block has a label that does not fit here.
    #[error("unexpected PEM block \"{found}\": expected {expected}")]
    PemLabel { found: String, expected: String },
    /// The DER structure inside the PEM (or given directly) is not a valid key.
    #[error("malformed key: {0}")]
    Malformed(String),
    /// The key is well formed but of a kind airlock does not support.
    #[error("unsupported key: {0}")]
    UnsupportedAlgorithm(String),
    /// The encrypted key uses scrypt parameters outside the accepted set.
    #[error(
        "encrypted key uses scrypt parameters N={n}, r={r}, p={p}; only N=32768, 65536 or 131072 \
         with r=8 and p=1 are accepted (the values cosign writes), as a guard against keys that \
         would take unbounded memory or time to open; re-encrypt the key with \
         `cosign import-key-pair` or airlock"
    )]
    KdfParams { n: u64, r: u64, p: u64 },
    /// The encrypted key file's JSON body is not the cosign format.
    #[error("malformed encrypted key: {0}")]
    EncryptedKey(String),
    /// Decryption failed: the passphrase is wrong (or the ciphertext was altered).
    #[error(
        "wrong passphrase: the passphrase given does not decrypt the private key; check the \
         passphrase (AIRLOCK_PASSWORD or COSIGN_PASSWORD), or the key file has been altered"
    )]
    WrongPassphrase,
    /// The key is encrypted and no passphrase was supplied.
    #[error(
        "the private key is encrypted but no passphrase was given; set AIRLOCK_PASSWORD (or \
         COSIGN_PASSWORD) to its passphrase, which may be empty"
    )]
    PassphraseRequired,
    /// The system random source or a cryptographic primitive failed.
    #[error("cryptographic operation failed: {0}")]
    Crypto(String),
    /// A key in a PKCS#11 token could not be found, opened or used.
    #[error(transparent)]
    Pkcs11(#[from] pkcs11::Pkcs11Error),
}

impl KeyError {
    /// The error without the file name added by the `load_*_file` functions, for matching.
    pub fn without_path(&self) -> &KeyError {
        match self {
            KeyError::WithPath { err, .. } => err.without_path(),
            other => other,
        }
    }

    fn with_path(self, path: &Path) -> KeyError {
        match self {
            KeyError::Io { .. } | KeyError::WithPath { .. } => self,
            err => KeyError::WithPath {
                path: path.to_path_buf(),
                err: Box::new(err),
            },
        }
    }
}

/// Why a signature did not verify.
#[derive(thiserror::Error, Debug, PartialEq)]
pub enum SignatureError {
    /// The signature is well formed but does not match the message and key.
    #[error(
        "signature does not verify with this key: the signed data was changed, or it was signed \
         by a different key"
    )]
    Invalid,
    /// The signature bytes cannot be a signature of this key's algorithm.
    #[error("malformed signature: {0}")]
    BadEncoding(String),
    /// The key's algorithm cannot verify this kind of signature.
    #[error("unsupported signature algorithm: {0}")]
    UnsupportedAlgorithm(String),
}

/// A public key: a DER SubjectPublicKeyInfo of a supported algorithm.
///
/// The SPKI is kept in a canonical encoding (rebuilt from the parsed key), so the same key read
/// from `PUBLIC KEY` or `RSA PUBLIC KEY` PEM has the same [`PublicKey::key_id`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PublicKey {
    algorithm: KeyAlgorithm,
    /// Canonical DER SubjectPublicKeyInfo.
    spki: Vec<u8>,
    /// The subjectPublicKey BIT STRING contents: the uncompressed EC point, the PKCS#1
    /// RSAPublicKey DER, or the 32 Ed25519 bytes.
    raw: Vec<u8>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id())
            .finish()
    }
}

impl PublicKey {
    /// Reads a PEM public key: `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY` (PKCS#1).
    pub fn from_pem(pem: &[u8]) -> Result<PublicKey, KeyError> {
        check_pem_size(pem.len())?;
        let block = single_pem_block(pem, &[], "a public key (PEM \"PUBLIC KEY\")")?;
        match block.tag() {
            LABEL_PUBLIC_KEY => PublicKey::from_spki_der(block.contents()),
            LABEL_RSA_PUBLIC_KEY => PublicKey::from_pkcs1_der(block.contents()),
            "CERTIFICATE" => Err(KeyError::PemLabel {
                found: block.tag().to_string(),
                expected: "a public key (\"PUBLIC KEY\"); to use the key of a certificate, \
                           extract it with `openssl x509 -pubkey -noout -in CERT`"
                    .to_string(),
            }),
            tag if tag.contains("PRIVATE KEY") => Err(KeyError::PemLabel {
                found: tag.to_string(),
                expected: "a public key (\"PUBLIC KEY\"); this is a private key: give the \
                           public half (e.g. cosign.pub) instead and keep the private key secret"
                    .to_string(),
            }),
            tag => Err(KeyError::PemLabel {
                found: tag.to_string(),
                expected: "\"PUBLIC KEY\" or \"RSA PUBLIC KEY\"".to_string(),
            }),
        }
    }

    /// Reads a DER SubjectPublicKeyInfo (ECDSA P-256/P-384, RSA 2048..=4096 bits, Ed25519).
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        if der.len() > MAX_SPKI_DER_BYTES {
            return Err(KeyError::TooLarge {
                what: "public key DER",
                found: len_u64(der.len()),
                limit: MAX_SPKI_DER_BYTES,
            });
        }
        let (rest, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(der).map_err(|e| {
            KeyError::Malformed(format!(
                "expected a DER SubjectPublicKeyInfo, but it does not parse ({e}); the key data \
                 is truncated or is not a public key"
            ))
        })?;
        if !rest.is_empty() {
            return Err(KeyError::Malformed(format!(
                "expected a single DER SubjectPublicKeyInfo, found {} extra bytes after it",
                rest.len()
            )));
        }
        if spki.subject_public_key.unused_bits != 0 {
            return Err(KeyError::Malformed(
                "the subjectPublicKey BIT STRING has unused bits; expected whole bytes".into(),
            ));
        }
        let raw: &[u8] = &spki.subject_public_key.data;
        let alg = spki.algorithm.algorithm.as_bytes();
        if alg == oid::EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .ok_or_else(|| {
                    KeyError::UnsupportedAlgorithm(
                        "EC key without a named curve (explicit curve parameters are not \
                         supported); expected P-256 or P-384 by name"
                            .into(),
                    )
                })?;
            PublicKey::from_ec_point(curve.as_bytes(), raw)
        } else if alg == oid::ED25519 {
            if spki.algorithm.parameters.is_some() {
                return Err(KeyError::Malformed(
                    "Ed25519 key with algorithm parameters; expected none (RFC 8410)".into(),
                ));
            }
            PublicKey::from_ed25519_bytes(raw)
        } else if alg == oid::RSA_ENCRYPTION {
            PublicKey::from_pkcs1_der(raw)
        } else {
            let name = if alg == oid::RSASSA_PSS {
                "RSASSA-PSS-only key (id-RSASSA-PSS); expected an rsaEncryption key".to_string()
            } else if alg == oid::ED448 {
                "Ed448 key".to_string()
            } else if alg == oid::DSA {
                "DSA key".to_string()
            } else {
                format!(
                    "key algorithm OID {}",
                    spki.algorithm.algorithm.to_id_string()
                )
            };
            Err(KeyError::UnsupportedAlgorithm(format!(
                "{name}; airlock supports ECDSA P-256, ECDSA P-384, RSA {MIN_RSA_BITS} to \
                 {MAX_RSA_BITS} bits and Ed25519"
            )))
        }
    }

    /// Builds a key from a PKCS#1 RSAPublicKey DER.
    fn from_pkcs1_der(pkcs1: &[u8]) -> Result<PublicKey, KeyError> {
        let (rest, rsa) = x509_parser::public_key::RSAPublicKey::from_der(pkcs1).map_err(|e| {
            KeyError::Malformed(format!(
                "expected a DER RSAPublicKey (modulus, exponent), but it does not parse ({e})"
            ))
        })?;
        if !rest.is_empty() {
            return Err(KeyError::Malformed(format!(
                "expected a single DER RSAPublicKey, found {} extra bytes after it",
                rest.len()
            )));
        }
        let bits = unsigned_bit_len(rsa.modulus);
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(KeyError::UnsupportedAlgorithm(format!(
                "RSA key with a {bits}-bit modulus; expected {MIN_RSA_BITS} to {MAX_RSA_BITS} bits"
            )));
        }
        let exponent = rsa.try_exponent().map_err(|_| {
            KeyError::Malformed(
                "RSA public exponent is negative or too large; expected a small odd number \
                 such as 65537"
                    .into(),
            )
        })?;
        if exponent < 3 || exponent % 2 == 0 || exponent > (1 << 33) - 1 {
            return Err(KeyError::UnsupportedAlgorithm(format!(
                "RSA public exponent {exponent}; expected an odd number from 3 to 2^33-1 \
                 (usually 65537)"
            )));
        }
        let spki = der::seq(&[
            &der::seq(&[
                &der::tlv(der::OID, oid::RSA_ENCRYPTION),
                &der::tlv(der::NULL, &[]),
            ]),
            &der::bit_string(pkcs1),
        ]);
        Ok(PublicKey {
            algorithm: KeyAlgorithm::Rsa { bits },
            spki,
            raw: pkcs1.to_vec(),
        })
    }

    /// Builds a key from a named curve OID and an EC point.
    pub(crate) fn from_ec_point(curve: &[u8], point: &[u8]) -> Result<PublicKey, KeyError> {
        let (algorithm, coordinate_len, name) = if curve == oid::P256 {
            (KeyAlgorithm::EcdsaP256, 32, "P-256")
        } else if curve == oid::P384 {
            (KeyAlgorithm::EcdsaP384, 48, "P-384")
        } else {
            return Err(unsupported_curve(curve));
        };
        match point.first() {
            Some(0x04) if point.len() == 1 + 2 * coordinate_len => {}
            Some(0x02 | 0x03) => {
                return Err(KeyError::UnsupportedAlgorithm(format!(
                    "{name} key in compressed point form; expected the uncompressed form \
                     (re-export with `openssl ec -pubin -conv_form uncompressed`)"
                )))
            }
            _ => {
                return Err(KeyError::Malformed(format!(
                    "{name} public point is {} bytes; expected {} bytes starting with 0x04",
                    point.len(),
                    1 + 2 * coordinate_len
                )))
            }
        }
        let spki = der::seq(&[
            &der::seq(&[
                &der::tlv(der::OID, oid::EC_PUBLIC_KEY),
                &der::tlv(der::OID, curve),
            ]),
            &der::bit_string(point),
        ]);
        Ok(PublicKey {
            algorithm,
            spki,
            raw: point.to_vec(),
        })
    }

    fn from_ed25519_bytes(raw: &[u8]) -> Result<PublicKey, KeyError> {
        if raw.len() != 32 {
            return Err(KeyError::Malformed(format!(
                "Ed25519 public key is {} bytes; expected 32",
                raw.len()
            )));
        }
        let spki = der::seq(&[
            &der::seq(&[&der::tlv(der::OID, oid::ED25519)]),
            &der::bit_string(raw),
        ]);
        Ok(PublicKey {
            algorithm: KeyAlgorithm::Ed25519,
            spki,
            raw: raw.to_vec(),
        })
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// PEM `PUBLIC KEY` (base64 in 64-column lines, `\n` line ends), the `cosign.pub` format.
    pub fn to_pem(&self) -> String {
        encode_pem(LABEL_PUBLIC_KEY, &self.spki)
    }

    /// `sha256:<lowercase hex of SHA-256(SPKI DER)>`.
    pub fn key_id(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.spki);
        let mut out = String::with_capacity(7 + 64);
        out.push_str("sha256:");
        for byte in digest.as_ref() {
            out.push_str(&format!("{byte:02x}"));
        }
        out
    }

    /// Standard base64 of SHA-256(SPKI DER): the Sigstore bundle `publicKey.hint`.
    pub fn hint(&self) -> String {
        BASE64.encode(ring::digest::digest(&ring::digest::SHA256, &self.spki))
    }

    /// Verifies `signature` over `message`.
    ///
    /// - ECDSA P-256 (SHA-256) and P-384 (SHA-384): ASN.1 DER, or fixed-size `r||s`.
    /// - RSA: PKCS#1 v1.5 with SHA-256; SHA-384, SHA-512 and PSS with SHA-256 are also accepted.
    /// - Ed25519: plain Ed25519 over the message.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        if signature.is_empty() {
            return Err(SignatureError::BadEncoding(format!(
                "the signature is empty; expected a {} signature",
                self.algorithm
            )));
        }
        if signature.len() > MAX_SIGNATURE_BYTES {
            return Err(SignatureError::BadEncoding(format!(
                "the signature is {} bytes, over the limit of {MAX_SIGNATURE_BYTES}; expected a \
                 {} signature",
                signature.len(),
                self.algorithm
            )));
        }
        match self.algorithm {
            KeyAlgorithm::EcdsaP256 => self.verify_ecdsa(
                &ring_sig::ECDSA_P256_SHA256_ASN1,
                &ring_sig::ECDSA_P256_SHA256_FIXED,
                32,
                message,
                signature,
            ),
            KeyAlgorithm::EcdsaP384 => self.verify_ecdsa(
                &ring_sig::ECDSA_P384_SHA384_ASN1,
                &ring_sig::ECDSA_P384_SHA384_FIXED,
                48,
                message,
                signature,
            ),
            KeyAlgorithm::Rsa { bits } => {
                let modulus_len = bits.div_ceil(8);
                if signature.len() != modulus_len {
                    return Err(SignatureError::BadEncoding(format!(
                        "the signature is {} bytes; an RSA-{bits} signature is {modulus_len} bytes",
                        signature.len()
                    )));
                }
                let schemes: [&'static ring_sig::RsaParameters; 4] = [
                    &ring_sig::RSA_PKCS1_2048_8192_SHA256,
                    &ring_sig::RSA_PKCS1_2048_8192_SHA384,
                    &ring_sig::RSA_PKCS1_2048_8192_SHA512,
                    &ring_sig::RSA_PSS_2048_8192_SHA256,
                ];
                let ok = schemes.into_iter().any(|scheme| {
                    ring_sig::UnparsedPublicKey::new(scheme, &self.raw)
                        .verify(message, signature)
                        .is_ok()
                });
                if ok {
                    Ok(())
                } else {
                    Err(SignatureError::Invalid)
                }
            }
            KeyAlgorithm::Ed25519 => {
                if signature.len() != 64 {
                    return Err(SignatureError::BadEncoding(format!(
                        "the signature is {} bytes; an Ed25519 signature is 64 bytes",
                        signature.len()
                    )));
                }
                ring_sig::UnparsedPublicKey::new(&ring_sig::ED25519, &self.raw)
                    .verify(message, signature)
                    .map_err(|_| SignatureError::Invalid)
            }
        }
    }

    fn verify_ecdsa(
        &self,
        asn1: &'static ring_sig::EcdsaVerificationAlgorithm,
        fixed: &'static ring_sig::EcdsaVerificationAlgorithm,
        scalar_len: usize,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        let is_der = der::is_ecdsa_signature(signature);
        let is_fixed = signature.len() == 2 * scalar_len;
        if !is_der && !is_fixed {
            return Err(SignatureError::BadEncoding(format!(
                "the {}-byte signature is neither an ASN.1 DER ECDSA signature nor a {}-byte \
                 r||s signature, as a {} key needs",
                signature.len(),
                2 * scalar_len,
                self.algorithm
            )));
        }
        if is_der
            && ring_sig::UnparsedPublicKey::new(asn1, &self.raw)
                .verify(message, signature)
                .is_ok()
        {
            return Ok(());
        }
        if is_fixed
            && ring_sig::UnparsedPublicKey::new(fixed, &self.raw)
                .verify(message, signature)
                .is_ok()
        {
            return Ok(());
        }
        Err(SignatureError::Invalid)
    }
}

/// The error for an EC key on a curve other than P-256 and P-384.
fn unsupported_curve(curve: &[u8]) -> KeyError {
    let name = if curve == oid::P521 {
        "P-521".to_string()
    } else if curve == oid::SECP256K1 {
        "secp256k1".to_string()
    } else {
        format!("the curve with OID {}", oid_to_string(curve))
    };
    KeyError::UnsupportedAlgorithm(format!(
        "ECDSA key on {name}; airlock supports ECDSA on P-256 (cosign's default) and P-384 only, \
         so use a P-256 key (`cosign generate-key-pair`)"
    ))
}

/// A private key that can sign: a key read from a file, or an ECDSA P-256 key held in a PKCS#11
/// token ([`SigningKey::from_pkcs11`]). Its `Debug` output shows the algorithm and public key id
/// only.
pub struct SigningKey {
    pair: KeyPairKind,
    /// The PKCS#8 v1 DER of the key, kept for re-export; zeroed on drop. Empty for a token key.
    pkcs8: Zeroizing<Vec<u8>>,
    public: PublicKey,
}

enum KeyPairKind {
    Ecdsa(ring_sig::EcdsaKeyPair),
    Ed25519(ring_sig::Ed25519KeyPair),
    Rsa(ring_sig::RsaKeyPair),
    /// In a PKCS#11 token: signing happens there, the private key never leaves it.
    Pkcs11(Box<pkcs11::Pkcs11Key>),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.public.algorithm)
            .field("public_key_id", &self.public.key_id())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a new key: ECDSA P-256 (the default, as cosign), ECDSA P-384 or Ed25519.
    /// RSA keys cannot be generated here (ring has no RSA key generation).
    pub fn generate(alg: KeyAlgorithm) -> Result<SigningKey, KeyError> {
        let rng = SystemRandom::new();
        let pkcs8 = match alg {
            KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => {
                let signing = if alg == KeyAlgorithm::EcdsaP256 {
                    &ring_sig::ECDSA_P256_SHA256_ASN1_SIGNING
                } else {
                    &ring_sig::ECDSA_P384_SHA384_ASN1_SIGNING
                };
                let doc = ring_sig::EcdsaKeyPair::generate_pkcs8(signing, &rng)
                    .map_err(|_| KeyError::Crypto(format!("could not generate an {alg} key")))?;
                Zeroizing::new(doc.as_ref().to_vec())
            }
            KeyAlgorithm::Ed25519 => {
                let doc = ring_sig::Ed25519KeyPair::generate_pkcs8(&rng)
                    .map_err(|_| KeyError::Crypto("could not generate an ed25519 key".into()))?;
                Zeroizing::new(doc.as_ref().to_vec())
            }
            KeyAlgorithm::Rsa { .. } => {
                return Err(KeyError::UnsupportedAlgorithm(format!(
                    "airlock cannot generate {alg} keys; generate one elsewhere (e.g. `openssl \
                     genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072`) and load it, or use \
                     ecdsa-p256"
                )))
            }
        };
        SigningKey::from_pkcs8_der(pkcs8)
    }

    /// Reads a PEM private key.
    ///
    /// Labels: `ENCRYPTED SIGSTORE PRIVATE KEY` and `ENCRYPTED COSIGN PRIVATE KEY` (cosign's
    /// format; needs `passphrase`, which may be empty), `PRIVATE KEY` (PKCS#8), `EC PRIVATE KEY`
    /// (SEC1) and `RSA PRIVATE KEY` (PKCS#1). An `EC PARAMETERS` block before the key is skipped.
    pub fn from_pem(pem: &[u8], passphrase: Option<&[u8]>) -> Result<SigningKey, KeyError> {
        check_pem_size(pem.len())?;
        let block = single_pem_block(
            pem,
            &[LABEL_EC_PARAMETERS],
            "a private key (PEM \"ENCRYPTED SIGSTORE PRIVATE KEY\")",
        )?;
        let tag = block.tag().to_string();
        let legacy_encrypted = block
            .headers()
            .get("Proc-Type")
            .is_some_and(|v| v.contains("ENCRYPTED"));
        let contents = Zeroizing::new(block.into_contents());
        match tag.as_str() {
            LABEL_SIGSTORE_KEY | LABEL_COSIGN_KEY => {
                let passphrase = passphrase.ok_or(KeyError::PassphraseRequired)?;
                let pkcs8 = decrypt_cosign_key(&contents, passphrase)?;
                SigningKey::from_pkcs8_der(pkcs8)
            }
            _ if legacy_encrypted => Err(KeyError::UnsupportedAlgorithm(format!(
                "\"{tag}\" encrypted with a legacy OpenSSL PEM header (Proc-Type: 4,ENCRYPTED); \
                 convert it with `cosign import-key-pair --key KEY`, which writes the cosign \
                 format"
            ))),
            LABEL_PRIVATE_KEY => SigningKey::from_pkcs8_der(contents),
            LABEL_EC_PRIVATE_KEY => SigningKey::from_pkcs8_der(sec1_to_pkcs8(&contents)?),
            LABEL_RSA_PRIVATE_KEY => SigningKey::from_pkcs8_der(Zeroizing::new(der::seq(&[
                &der::tlv(der::INTEGER, &[0]),
                &der::seq(&[
                    &der::tlv(der::OID, oid::RSA_ENCRYPTION),
                    &der::tlv(der::NULL, &[]),
                ]),
                &der::tlv(der::OCTET_STRING, &contents),
            ]))),
            "ENCRYPTED PRIVATE KEY" => Err(KeyError::UnsupportedAlgorithm(
                "password-protected PKCS#8 (\"ENCRYPTED PRIVATE KEY\") is not supported; convert \
                 it with `cosign import-key-pair --key KEY`, which writes the cosign format"
                    .into(),
            )),
            LABEL_PUBLIC_KEY | LABEL_RSA_PUBLIC_KEY => Err(KeyError::PemLabel {
                found: tag,
                expected: "a private key; this is a public key, which can only verify (the \
                           private key is the file given to `cosign sign --key`)"
                    .into(),
            }),
            _ => Err(KeyError::PemLabel {
                found: tag,
                expected: "\"ENCRYPTED SIGSTORE PRIVATE KEY\", \"ENCRYPTED COSIGN PRIVATE KEY\", \
                           \"PRIVATE KEY\", \"EC PRIVATE KEY\" or \"RSA PRIVATE KEY\""
                    .into(),
            }),
        }
    }

    /// Builds a signing key from PKCS#8 DER (v1 or v2).
    fn from_pkcs8_der(pkcs8: Zeroizing<Vec<u8>>) -> Result<SigningKey, KeyError> {
        let info = Pkcs8Info::parse(&pkcs8)?;
        let rng = SystemRandom::new();
        if info.algorithm == oid::EC_PUBLIC_KEY {
            let curve = info.parameters_oid.ok_or_else(|| {
                KeyError::UnsupportedAlgorithm(
                    "EC private key without a named curve; expected P-256 or P-384 by name".into(),
                )
            })?;
            let signing = if curve == oid::P256 {
                &ring_sig::ECDSA_P256_SHA256_ASN1_SIGNING
            } else if curve == oid::P384 {
                &ring_sig::ECDSA_P384_SHA384_ASN1_SIGNING
            } else {
                return Err(unsupported_curve(curve));
            };
            let pair = ring_sig::EcdsaKeyPair::from_pkcs8(signing, &pkcs8, &rng).map_err(|e| {
                if info.ec_public_key_missing() {
                    KeyError::Malformed(
                        "the EC private key does not include its public key, which airlock needs; \
                         re-export it with `openssl pkcs8 -topk8 -nocrypt -in KEY` or convert it \
                         with `cosign import-key-pair`"
                            .into(),
                    )
                } else {
                    KeyError::Malformed(format!(
                        "the EC private key was rejected ({e}); expected a valid PKCS#8 P-256 or \
                         P-384 key whose public key matches its private key"
                    ))
                }
            })?;
            let public = PublicKey::from_ec_point(curve, pair.public_key().as_ref())?;
            Ok(SigningKey {
                pair: KeyPairKind::Ecdsa(pair),
                pkcs8,
                public,
            })
        } else if info.algorithm == oid::ED25519 {
            let pair =
                ring_sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8).map_err(|e| {
                    KeyError::Malformed(format!(
                        "the Ed25519 private key was rejected ({e}); expected a PKCS#8 Ed25519 key"
                    ))
                })?;
            let public = PublicKey::from_ed25519_bytes(pair.public_key().as_ref())?;
            // Keep a v1 PKCS#8 (seed only): the form every other implementation reads.
            let v1 = Zeroizing::new(der::seq(&[
                &der::tlv(der::INTEGER, &[0]),
                &der::seq(&[&der::tlv(der::OID, oid::ED25519)]),
                &der::tlv(der::OCTET_STRING, info.private_key),
            ]));
            Ok(SigningKey {
                pair: KeyPairKind::Ed25519(pair),
                pkcs8: v1,
                public,
            })
        } else if info.algorithm == oid::RSA_ENCRYPTION {
            let pair = ring_sig::RsaKeyPair::from_pkcs8(&pkcs8).map_err(|e| {
                KeyError::Malformed(format!(
                    "the RSA private key was rejected ({e}); expected a PKCS#8 RSA key of \
                     {MIN_RSA_BITS} to {MAX_RSA_BITS} bits"
                ))
            })?;
            let public = PublicKey::from_pkcs1_der(pair.public().as_ref())?;
            let key = SigningKey {
                pair: KeyPairKind::Rsa(pair),
                pkcs8,
                public,
            };
            // ring checks the key's parts only partly; an inconsistent CRT parameter shows up as
            // a failed signature. Refuse such a key now rather than at the first signature.
            if key.sign(b"airlock key self-test").is_err() {
                return Err(KeyError::Malformed(
                    "the RSA private key is inconsistent (a test signature failed); expected an \
                     unmodified PKCS#8 RSA key (re-export it from its source)"
                        .into(),
                ));
            }
            Ok(key)
        } else {
            let name = if info.algorithm == oid::ED448 {
                "Ed448 private key".to_string()
            } else if info.algorithm == oid::RSASSA_PSS {
                "RSASSA-PSS-only private key".to_string()
            } else {
                format!(
                    "private key with algorithm OID {}",
                    oid_to_string(info.algorithm)
                )
            };
            Err(KeyError::UnsupportedAlgorithm(format!(
                "{name}; airlock signs with ECDSA P-256, ECDSA P-384, RSA or Ed25519 keys"
            )))
        }
    }

    /// A signing key held in a PKCS#11 token (see [`pkcs11`]).
    pub fn from_pkcs11(key: pkcs11::Pkcs11Key) -> SigningKey {
        let public = key.public_key().clone();
        SigningKey {
            pair: KeyPairKind::Pkcs11(Box::new(key)),
            pkcs8: Zeroizing::new(Vec::new()),
            public,
        }
    }

    /// Opens the key a `pkcs11:` URI names and logs in to its token; `pin` is used when the URI
    /// gives none (`pin-value`, `pin-source`) and `AIRLOCK_PKCS11_PIN` is unset.
    pub fn open_pkcs11(uri: &str, pin: Option<Zeroizing<String>>) -> Result<SigningKey, KeyError> {
        let parsed = pkcs11::Pkcs11Uri::parse(uri)?;
        let pin = match parsed.pin()? {
            Some(p) => Some(p),
            None => pin.map(|p| (p, "the terminal prompt".to_string())),
        };
        Ok(SigningKey::from_pkcs11(pkcs11::Pkcs11Key::open(
            &parsed, pin,
        )?))
    }

    /// True when the private key is held in a PKCS#11 token (it cannot be exported).
    pub fn is_in_token(&self) -> bool {
        matches!(self.pair, KeyPairKind::Pkcs11(_))
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        self.public.clone()
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.public.algorithm
    }

    /// Signs `message`: ECDSA as ASN.1 DER over SHA-256 (P-256, deterministic nonces per
    /// RFC 6979) or SHA-384 (P-384, random nonces), RSA as
    /// PKCS#1 v1.5 with SHA-256, Ed25519 as the raw 64-byte signature.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        match &self.pair {
            // P-256 signs deterministically (RFC 6979): the same key and message always give the
            // same signature bytes, so generated bundles are reproducible.
            KeyPairKind::Ecdsa(_) if self.algorithm() == KeyAlgorithm::EcdsaP256 => {
                use p256::ecdsa::signature::Signer as _;
                use p256::pkcs8::DecodePrivateKey as _;
                let key = p256::ecdsa::SigningKey::from_pkcs8_der(&self.pkcs8)
                    .map_err(|e| KeyError::Crypto(format!("ecdsa-p256 private key: {e}")))?;
                let sig: p256::ecdsa::Signature = key.try_sign(message).map_err(|_| {
                    KeyError::Crypto(format!("{} signing failed", self.algorithm()))
                })?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            KeyPairKind::Ecdsa(pair) => pair
                .sign(&rng, message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| KeyError::Crypto(format!("{} signing failed", self.algorithm()))),
            KeyPairKind::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            KeyPairKind::Pkcs11(key) => Ok(key.sign(message)?),
            KeyPairKind::Rsa(pair) => {
                let mut sig = vec![0u8; pair.public().modulus_len()];
                pair.sign(&ring_sig::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(|_| {
                        KeyError::Crypto(format!("{} signing failed", self.algorithm()))
                    })?;
                Ok(sig)
            }
        }
    }

    /// Writes the key in cosign's encrypted format: scrypt (N = 2^`scrypt_log_n`, r = 8, p = 1)
    /// with a random 32-byte salt, then nacl/secretbox with a random 24-byte nonce over the
    /// PKCS#8 DER. `scrypt_log_n` must be 15, 16 (cosign's default) or 17.
    pub fn to_encrypted_pem(
        &self,
        passphrase: &[u8],
        label: PemLabel,
        scrypt_log_n: u8,
    ) -> Result<String, KeyError> {
        if self.is_in_token() {
            return Err(KeyError::UnsupportedAlgorithm(
                "the private key is held in a PKCS#11 token and cannot be exported".into(),
            ));
        }
        if !SCRYPT_ALLOWED_LOG_N.contains(&scrypt_log_n) {
            return Err(KeyError::KdfParams {
                n: 1u64.checked_shl(u32::from(scrypt_log_n)).unwrap_or(0),
                r: u64::from(SCRYPT_R),
                p: u64::from(SCRYPT_P),
            });
        }
        let rng = SystemRandom::new();
        let mut salt = [0u8; SALT_LEN];
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut salt)
            .and_then(|()| rng.fill(&mut nonce))
            .map_err(|_| KeyError::Crypto("the system random source failed".into()))?;
        let key = derive_secretbox_key(passphrase, &salt, scrypt_log_n)?;
        let cipher = XSalsa20Poly1305::new(&crypto_secretbox::Key::from(*key));
        let ciphertext = cipher
            .encrypt(&crypto_secretbox::Nonce::from(nonce), self.pkcs8.as_slice())
            .map_err(|_| KeyError::Crypto("secretbox encryption failed".into()))?;
        let doc = EncryptedKeyDoc {
            kdf: KdfDoc {
                name: KDF_NAME.into(),
                params: ScryptParamsDoc {
                    n: 1u64 << scrypt_log_n,
                    r: u64::from(SCRYPT_R),
                    p: u64::from(SCRYPT_P),
                },
                salt: BASE64.encode(salt),
            },
            cipher: CipherDoc {
                name: CIPHER_NAME.into(),
                nonce: BASE64.encode(nonce),
            },
            ciphertext: BASE64.encode(ciphertext),
        };
        let json = serde_json::to_vec(&doc)
            .map_err(|e| KeyError::Crypto(format!("could not serialise the key document: {e}")))?;
        Ok(encode_pem(label.as_str(), &json))
    }

    /// Writes the key unencrypted as PEM `PRIVATE KEY` (PKCS#8). The returned string holds
    /// secret material in the clear; prefer [`SigningKey::to_encrypted_pem`] for files. Empty for
    /// a key held in a PKCS#11 token, which cannot be exported.
    pub fn to_pkcs8_pem(&self) -> String {
        if self.is_in_token() {
            return String::new();
        }
        encode_pem(LABEL_PRIVATE_KEY, &self.pkcs8)
    }
}

/// Reads a public key PEM file; errors name the file.
pub fn load_public_key_file(path: &Path) -> Result<PublicKey, KeyError> {
    let bytes = read_key_file(path)?;
    PublicKey::from_pem(&bytes).map_err(|e| e.with_path(path))
}

/// Reads a private key PEM file (see [`SigningKey::from_pem`]); errors name the file.
pub fn load_signing_key_file(
    path: &Path,
    passphrase: Option<&[u8]>,
) -> Result<SigningKey, KeyError> {
    let bytes = read_key_file(path)?;
    SigningKey::from_pem(&bytes, passphrase).map_err(|e| e.with_path(path))
}

/// The key passphrase from `AIRLOCK_PASSWORD`, else `COSIGN_PASSWORD`. A variable that is set
/// but empty gives an empty passphrase (cosign allows those); `None` if neither is set.
pub fn passphrase_from_env() -> Option<Vec<u8>> {
    PASSPHRASE_ENV_VARS
        .iter()
        .find_map(std::env::var_os)
        .map(os_string_bytes)
}

#[cfg(unix)]
fn os_string_bytes(value: std::ffi::OsString) -> Vec<u8> {
    use std::os::unix::ffi::OsStringExt;
    value.into_vec()
}

#[cfg(not(unix))]
fn os_string_bytes(value: std::ffi::OsString) -> Vec<u8> {
    value.to_string_lossy().into_owned().into_bytes()
}

/// Reads at most [`MAX_PEM_BYTES`] (+1 to detect overflow) from `path`, into a buffer that is
/// wiped when dropped (private keys), which is why it is not `limited::read_file_limited`.
#[allow(clippy::disallowed_methods)] // the key files' edge
fn read_key_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let io_err = |err| KeyError::Io {
        path: path.to_path_buf(),
        err,
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(len_u64(MAX_PEM_BYTES) + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() > MAX_PEM_BYTES {
        let found = std::fs::metadata(path)
            .map(|m| m.len())
            .unwrap_or(len_u64(bytes.len()));
        return Err(KeyError::TooLarge {
            what: "the key file",
            found,
            limit: MAX_PEM_BYTES,
        }
        .with_path(path));
    }
    Ok(bytes)
}

fn check_pem_size(len: usize) -> Result<(), KeyError> {
    if len > MAX_PEM_BYTES {
        return Err(KeyError::TooLarge {
            what: "the PEM key data",
            found: len_u64(len),
            limit: MAX_PEM_BYTES,
        });
    }
    Ok(())
}

fn len_u64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

/// Parses `input` as PEM and returns its one block, skipping blocks labelled `skip`.
fn single_pem_block(input: &[u8], skip: &[&str], expected: &str) -> Result<pem::Pem, KeyError> {
    if !input.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(KeyError::Pem(format!(
            "no \"-----BEGIN\" line found; expected {expected}"
        )));
    }
    let blocks = pem::parse_many(input).map_err(|e| KeyError::Pem(describe_pem_error(&e)))?;
    let mut blocks: Vec<pem::Pem> = blocks
        .into_iter()
        .filter(|b| !skip.contains(&b.tag()))
        .collect();
    match blocks.len() {
        1 => Ok(blocks.remove(0)),
        0 => Err(KeyError::Pem(format!(
            "no complete PEM block found (a \"-----BEGIN\" line without a matching \"-----END\" \
             line: the data may be truncated); expected {expected}"
        ))),
        n => Err(KeyError::Pem(format!(
            "found {n} PEM blocks ({}); expected exactly one, {expected}",
            blocks
                .iter()
                .map(|b| format!("\"{}\"", b.tag()))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn describe_pem_error(e: &pem::PemError) -> String {
    match e {
        pem::PemError::MismatchedTags(begin, end) => format!(
            "the BEGIN label \"{begin}\" does not match the END label \"{end}\"; the file may be \
             truncated or two files were joined"
        ),
        pem::PemError::MalformedFraming
        | pem::PemError::MissingBeginTag
        | pem::PemError::MissingEndTag => {
            "expected \"-----BEGIN <label>-----\" ... \"-----END <label>-----\" lines; the file may \
             be truncated"
                .into()
        }
        pem::PemError::MissingData => "the PEM block has no data".into(),
        pem::PemError::InvalidData(err) => format!(
            "the body of the PEM block is not valid base64 ({err}); the file may be damaged"
        ),
        pem::PemError::InvalidHeader(h) => format!("invalid PEM header line \"{h}\""),
        other => format!("{other}; expected ASCII PEM text"),
    }
}

/// PEM with `\n` line ends and 64-column base64.
fn encode_pem(label: &str, contents: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(label, contents),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// Number of significant bits of a big-endian unsigned integer.
fn unsigned_bit_len(bytes: &[u8]) -> usize {
    let mut iter = bytes.iter().skip_while(|b| **b == 0);
    match iter.next() {
        None => 0,
        Some(first) => {
            let rest = iter.count();
            rest * 8 + (8 - first.leading_zeros() as usize)
        }
    }
}

/// Dotted form of DER OID contents, for error messages.
fn oid_to_string(contents: &[u8]) -> String {
    match asn1_oid(contents) {
        Some(s) => s,
        None => "(malformed)".into(),
    }
}

fn asn1_oid(contents: &[u8]) -> Option<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    for (i, byte) in contents.iter().enumerate() {
        value = value.checked_mul(128)? | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        } else if i + 1 == contents.len() {
            return None;
        }
    }
    if arcs.is_empty() {
        return None;
    }
    Some(
        arcs.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// The fields of a PKCS#8 PrivateKeyInfo that decide how to load it.
struct Pkcs8Info<'a> {
    algorithm: &'a [u8],
    /// The algorithm parameters when they are an OID (the curve of an EC key).
    parameters_oid: Option<&'a [u8]>,
    /// The privateKey OCTET STRING contents.
    private_key: &'a [u8],
}

impl<'a> Pkcs8Info<'a> {
    fn parse(input: &'a [u8]) -> Result<Pkcs8Info<'a>, KeyError> {
        let malformed = |e: der::Error| {
            KeyError::Malformed(format!(
                "expected a DER PKCS#8 PrivateKeyInfo, but {e}; the key data is truncated, \
                 damaged or not a private key"
            ))
        };
        let mut outer = der::Reader::new(input);
        let mut info = der::Reader::new(outer.read(der::SEQUENCE).map_err(malformed)?);
        outer.finish().map_err(malformed)?;
        let version = info.read(der::INTEGER).map_err(malformed)?;
        if version != [0] && version != [1] {
            return Err(KeyError::Malformed(format!(
                "PKCS#8 version {version:02x?}; expected 0 (v1) or 1 (v2)"
            )));
        }
        let mut alg = der::Reader::new(info.read(der::SEQUENCE).map_err(malformed)?);
        let algorithm = alg.read(der::OID).map_err(malformed)?;
        let parameters_oid = match alg.peek_tag() {
            Some(der::OID) => Some(alg.read(der::OID).map_err(malformed)?),
            Some(_) => {
                alg.read_any().map_err(malformed)?;
                None
            }
            None => None,
        };
        alg.finish().map_err(malformed)?;
        let private_key = info.read(der::OCTET_STRING).map_err(malformed)?;
        Ok(Pkcs8Info {
            algorithm,
            parameters_oid,
            private_key,
        })
    }

    /// Whether an EC key's ECPrivateKey lacks the optional `[1] publicKey`.
    fn ec_public_key_missing(&self) -> bool {
        let mut outer = der::Reader::new(self.private_key);
        let Ok(body) = outer.read(der::SEQUENCE) else {
            return false;
        };
        let mut body = der::Reader::new(body);
        while let Ok((tag, _)) = body.read_any() {
            if tag == der::CONTEXT_1 {
                return false;
            }
        }
        true
    }
}

/// Wraps a SEC1 ECPrivateKey in a PKCS#8 PrivateKeyInfo, taking the curve from its `[0]` field.
fn sec1_to_pkcs8(sec1: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let malformed = |e: der::Error| {
        KeyError::Malformed(format!(
            "expected a DER SEC1 ECPrivateKey (\"EC PRIVATE KEY\"), but {e}"
        ))
    };
    let mut outer = der::Reader::new(sec1);
    let mut body = der::Reader::new(outer.read(der::SEQUENCE).map_err(malformed)?);
    outer.finish().map_err(malformed)?;
    if body.read(der::INTEGER).map_err(malformed)? != [1] {
        return Err(KeyError::Malformed(
            "SEC1 ECPrivateKey version is not 1".into(),
        ));
    }
    body.read(der::OCTET_STRING).map_err(malformed)?;
    let mut curve = None;
    while body.peek_tag().is_some() {
        let (tag, value) = body.read_any().map_err(malformed)?;
        if tag == der::CONTEXT_0 {
            let mut params = der::Reader::new(value);
            curve = Some(params.read(der::OID).map_err(|_| {
                KeyError::UnsupportedAlgorithm(
                    "EC private key with explicit curve parameters; expected P-256 or P-384 by \
                     name"
                        .into(),
                )
            })?);
        }
    }
    let curve = curve.ok_or_else(|| {
        KeyError::Malformed(
            "the SEC1 EC private key does not name its curve; re-export it with \
             `openssl pkcs8 -topk8 -nocrypt -in KEY`"
                .into(),
        )
    })?;
    Ok(Zeroizing::new(der::seq(&[
        &der::tlv(der::INTEGER, &[0]),
        &der::seq(&[
            &der::tlv(der::OID, oid::EC_PUBLIC_KEY),
            &der::tlv(der::OID, curve),
        ]),
        &der::tlv(der::OCTET_STRING, sec1),
    ])))
}

/// The JSON body of a cosign encrypted key (go-securesystemslib `encrypted` format).
#[derive(Serialize, Deserialize)]
struct EncryptedKeyDoc {
    kdf: KdfDoc,
    cipher: CipherDoc,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct KdfDoc {
    name: String,
    params: ScryptParamsDoc,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct ScryptParamsDoc {
    #[serde(rename = "N")]
    n: u64,
    r: u64,
    p: u64,
}

#[derive(Serialize, Deserialize)]
struct CipherDoc {
    name: String,
    nonce: String,
}

/// Decrypts a cosign encrypted key body to PKCS#8 DER.
fn decrypt_cosign_key(body: &[u8], passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let doc: EncryptedKeyDoc = serde_json::from_slice(body).map_err(|e| {
        KeyError::EncryptedKey(format!(
            "the PEM body is not the expected JSON document {{\"kdf\", \"cipher\", \
             \"ciphertext\"}} ({e}); the file is damaged or not a cosign key"
        ))
    })?;
    if doc.kdf.name != KDF_NAME {
        return Err(KeyError::EncryptedKey(format!(
            "key derivation function \"{}\"; expected \"{KDF_NAME}\"",
            doc.kdf.name
        )));
    }
    if doc.cipher.name != CIPHER_NAME {
        return Err(KeyError::EncryptedKey(format!(
            "cipher \"{}\"; expected \"{CIPHER_NAME}\"",
            doc.cipher.name
        )));
    }
    let ScryptParamsDoc { n, r, p } = doc.kdf.params;
    let log_n = SCRYPT_ALLOWED_LOG_N
        .iter()
        .copied()
        .find(|log_n| n == 1u64 << log_n)
        .filter(|_| r == u64::from(SCRYPT_R) && p == u64::from(SCRYPT_P))
        .ok_or(KeyError::KdfParams { n, r, p })?;
    let decode = |field: &str, value: &str| {
        BASE64.decode(value).map_err(|e| {
            KeyError::EncryptedKey(format!("\"{field}\" is not standard base64 ({e})"))
        })
    };
    let salt = decode("kdf.salt", &doc.kdf.salt)?;
    if salt.is_empty() {
        return Err(KeyError::EncryptedKey(
            "\"kdf.salt\" is empty; expected random bytes (cosign writes 32)".into(),
        ));
    }
    let nonce: [u8; NONCE_LEN] = decode("cipher.nonce", &doc.cipher.nonce)?
        .try_into()
        .map_err(|v: Vec<u8>| {
            KeyError::EncryptedKey(format!(
                "\"cipher.nonce\" is {} bytes; expected {NONCE_LEN}",
                v.len()
            ))
        })?;
    let ciphertext = decode("ciphertext", &doc.ciphertext)?;
    if ciphertext.len() <= SECRETBOX_TAG_LEN {
        return Err(KeyError::EncryptedKey(format!(
            "\"ciphertext\" is {} bytes; expected a {SECRETBOX_TAG_LEN}-byte tag followed by the \
             encrypted key",
            ciphertext.len()
        )));
    }
    let key = derive_secretbox_key(passphrase, &salt, log_n)?;
    let cipher = XSalsa20Poly1305::new(&crypto_secretbox::Key::from(*key));
    let plaintext = cipher
        .decrypt(&crypto_secretbox::Nonce::from(nonce), ciphertext.as_slice())
        .map_err(|_| KeyError::WrongPassphrase)?;
    Ok(Zeroizing::new(plaintext))
}

fn derive_secretbox_key(
    passphrase: &[u8],
    salt: &[u8],
    log_n: u8,
) -> Result<Zeroizing<[u8; SECRETBOX_KEY_LEN]>, KeyError> {
    let params = scrypt::Params::new(log_n, SCRYPT_R, SCRYPT_P, SECRETBOX_KEY_LEN)
        .map_err(|e| KeyError::Crypto(format!("scrypt parameters rejected: {e}")))?;
    let mut key = Zeroizing::new([0u8; SECRETBOX_KEY_LEN]);
    scrypt::scrypt(passphrase, salt, &params, key.as_mut_slice())
        .map_err(|e| KeyError::Crypto(format!("scrypt failed: {e}")))?;
    Ok(key)
}

/// A minimal DER reader and writer for the structures this module builds and inspects
/// (SPKI, PKCS#8, SEC1, ECDSA signatures). Reading never panics; lengths are bounds-checked.
mod der {
    use std::fmt;

    pub(super) const INTEGER: u8 = 0x02;
    pub(super) const BIT_STRING: u8 = 0x03;
    pub(super) const OCTET_STRING: u8 = 0x04;
    pub(super) const NULL: u8 = 0x05;
    pub(super) const OID: u8 = 0x06;
    pub(super) const SEQUENCE: u8 = 0x30;
    pub(super) const CONTEXT_0: u8 = 0xa0;
    pub(super) const CONTEXT_1: u8 = 0xa1;

    #[derive(Debug, PartialEq)]
    pub(super) enum Error {
        Truncated,
        BadLength,
        UnexpectedTag { expected: u8, found: u8 },
        TrailingData(usize),
    }

    impl fmt::Display for Error {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Error::Truncated => f.write_str("the DER data ends early"),
                Error::BadLength => f.write_str("a DER length is malformed"),
                Error::UnexpectedTag { expected, found } => write!(
                    f,
                    "found DER tag 0x{found:02x} where tag 0x{expected:02x} was expected"
                ),
                Error::TrailingData(n) => write!(f, "{n} unexpected bytes follow the DER value"),
            }
        }
    }

    pub(super) struct Reader<'a> {
        rest: &'a [u8],
    }

    impl<'a> Reader<'a> {
        pub(super) fn new(input: &'a [u8]) -> Reader<'a> {
            Reader { rest: input }
        }

        pub(super) fn peek_tag(&self) -> Option<u8> {
            self.rest.first().copied()
        }

        /// Reads one TLV (single-byte tags, definite lengths up to 4 length bytes).
        pub(super) fn read_any(&mut self) -> Result<(u8, &'a [u8]), Error> {
            let (&tag, rest) = self.rest.split_first().ok_or(Error::Truncated)?;
            if tag & 0x1f == 0x1f {
                return Err(Error::BadLength);
            }
            let (&first, mut rest) = rest.split_first().ok_or(Error::Truncated)?;
            let len = if first < 0x80 {
                usize::from(first)
            } else {
                let count = usize::from(first & 0x7f);
                if count == 0 || count > 4 || rest.len() < count {
                    return Err(if rest.len() < count {
                        Error::Truncated
                    } else {
                        Error::BadLength
                    });
                }
                let (len_bytes, after) = rest.split_at(count);
                rest = after;
                let len = len_bytes
                    .iter()
                    .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
                if len < 0x80 || len_bytes.first() == Some(&0) {
                    return Err(Error::BadLength);
                }
                len
            };
            if rest.len() < len {
                return Err(Error::Truncated);
            }
            let (value, after) = rest.split_at(len);
            self.rest = after;
            Ok((tag, value))
        }

        /// Reads one TLV that must have tag `expected`; returns its contents.
        pub(super) fn read(&mut self, expected: u8) -> Result<&'a [u8], Error> {
            match self.peek_tag() {
                Some(found) if found != expected => Err(Error::UnexpectedTag { expected, found }),
                _ => self.read_any().map(|(_, value)| value),
            }
        }

        pub(super) fn finish(&self) -> Result<(), Error> {
            if self.rest.is_empty() {
                Ok(())
            } else {
                Err(Error::TrailingData(self.rest.len()))
            }
        }
    }

    /// Whether `input` is exactly a DER `SEQUENCE { INTEGER r, INTEGER s }`.
    pub(super) fn is_ecdsa_signature(input: &[u8]) -> bool {
        let mut outer = Reader::new(input);
        let Ok(body) = outer.read(SEQUENCE) else {
            return false;
        };
        let mut body = Reader::new(body);
        outer.finish().is_ok()
            && body.read(INTEGER).is_ok_and(|r| !r.is_empty())
            && body.read(INTEGER).is_ok_and(|s| !s.is_empty())
            && body.finish().is_ok()
    }

    pub(super) fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(contents.len() + 6);
        out.push(tag);
        let len = contents.len();
        if let Ok(short @ 0..=0x7f) = u8::try_from(len) {
            out.push(short);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            let significant = &bytes[skip..];
            let count = u8::try_from(significant.len()).unwrap_or(u8::MAX);
            out.push(0x80 | count);
            out.extend_from_slice(significant);
        }
        out.extend_from_slice(contents);
        out
    }

    pub(super) fn seq(parts: &[&[u8]]) -> Vec<u8> {
        tlv(SEQUENCE, &parts.concat())
    }

    /// A BIT STRING with no unused bits.
    pub(super) fn bit_string(contents: &[u8]) -> Vec<u8> {
        let mut body = Vec::with_capacity(contents.len() + 1);
        body.push(0);
        body.extend_from_slice(contents);
        tlv(BIT_STRING, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../../testdata/keys/", $name)).as_slice()
        };
    }

    const PASSPHRASE: &[u8] = b"test-passphrase";
    const MESSAGE: &[u8] = fixture!("message.txt");

    fn b64(data: &[u8]) -> Vec<u8> {
        BASE64
            .decode(std::str::from_utf8(data).unwrap().trim())
            .unwrap()
    }

    /// Converts a DER ECDSA signature to fixed-size r||s.
    fn der_to_fixed(sig: &[u8], scalar_len: usize) -> Vec<u8> {
        let mut outer = der::Reader::new(sig);
        let mut body = der::Reader::new(outer.read(der::SEQUENCE).unwrap());
        let mut out = Vec::new();
        for _ in 0..2 {
            let int = body.read(der::INTEGER).unwrap();
            let int: Vec<u8> = int.iter().copied().skip_while(|b| *b == 0).collect();
            assert!(int.len() <= scalar_len);
            out.extend(std::iter::repeat_n(0u8, scalar_len - int.len()));
            out.extend(int);
        }
        out
    }

    fn assert_fixture_key_matches(key_pem: &[u8], pub_pem: &[u8], alg: KeyAlgorithm) {
        let key = SigningKey::from_pem(key_pem, Some(PASSPHRASE)).unwrap();
        let public = PublicKey::from_pem(pub_pem).unwrap();
        assert_eq!(key.algorithm(), alg);
        assert_eq!(key.public_key(), public);
        let sig = key.sign(MESSAGE).unwrap();
        public.verify(MESSAGE, &sig).unwrap();
        assert_eq!(
            public.verify(b"another message", &sig),
            Err(SignatureError::Invalid)
        );
    }

    fn with_json_body(key_pem: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let block = pem::parse(key_pem).unwrap();
        let mut doc: serde_json::Value = serde_json::from_slice(block.contents()).unwrap();
        edit(&mut doc);
        encode_pem(block.tag(), &serde_json::to_vec(&doc).unwrap())
    }

    #[test]
    fn key_algorithm_displays_and_parses_cli_names() {
        let cases = [
            (KeyAlgorithm::EcdsaP256, "ecdsa-p256"),
            (KeyAlgorithm::EcdsaP384, "ecdsa-p384"),
            (KeyAlgorithm::Rsa { bits: 2048 }, "rsa-2048"),
            (KeyAlgorithm::Ed25519, "ed25519"),
        ];
        for (alg, name) in cases {
            assert_eq!(alg.to_string(), name);
            assert_eq!(name.parse::<KeyAlgorithm>().unwrap(), alg);
        }
        assert!("rsa-1024".parse::<KeyAlgorithm>().is_err());
        assert!("dsa".parse::<KeyAlgorithm>().is_err());
        assert_eq!(KeyAlgorithm::default(), KeyAlgorithm::EcdsaP256);
    }

    #[test]
    fn generated_keys_round_trip_through_encrypted_pem() {
        for alg in [
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
            KeyAlgorithm::Ed25519,
        ] {
            for label in [PemLabel::Sigstore, PemLabel::Cosign] {
                let key = SigningKey::generate(alg).unwrap();
                let pem = key.to_encrypted_pem(PASSPHRASE, label, 15).unwrap();
                assert!(pem.starts_with(&format!("-----BEGIN {}-----\n", label.as_str())));
                let loaded = SigningKey::from_pem(pem.as_bytes(), Some(PASSPHRASE)).unwrap();
                assert_eq!(loaded.algorithm(), alg);
                assert_eq!(loaded.public_key(), key.public_key());
                let sig = loaded.sign(MESSAGE).unwrap();
                key.public_key().verify(MESSAGE, &sig).unwrap();
            }
        }
    }

    #[test]
    fn encrypted_pem_body_has_cosign_json_shape() {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let pem = key
            .to_encrypted_pem(PASSPHRASE, PemLabel::Sigstore, SCRYPT_DEFAULT_LOG_N)
            .unwrap();
        let block = pem::parse(&pem).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(block.contents()).unwrap();
        assert_eq!(doc["kdf"]["name"], "scrypt");
        assert_eq!(doc["kdf"]["params"]["N"], 65536);
        assert_eq!(doc["kdf"]["params"]["r"], 8);
        assert_eq!(doc["kdf"]["params"]["p"], 1);
        assert_eq!(
            b64(doc["kdf"]["salt"].as_str().unwrap().as_bytes()).len(),
            32
        );
        assert_eq!(doc["cipher"]["name"], "nacl/secretbox");
        assert_eq!(
            b64(doc["cipher"]["nonce"].as_str().unwrap().as_bytes()).len(),
            24
        );
        assert!(pem.lines().all(|l| l.len() <= 64));
    }

    #[test]
    fn empty_passphrase_round_trips() {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let pem = key.to_encrypted_pem(b"", PemLabel::Sigstore, 15).unwrap();
        let loaded = SigningKey::from_pem(pem.as_bytes(), Some(b"")).unwrap();
        assert_eq!(loaded.public_key(), key.public_key());
    }

    #[test]
    fn pkcs8_pem_round_trips_for_generated_keys() {
        for alg in [
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
            KeyAlgorithm::Ed25519,
        ] {
            let key = SigningKey::generate(alg).unwrap();
            let pem = key.to_pkcs8_pem();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
            let loaded = SigningKey::from_pem(pem.as_bytes(), None).unwrap();
            assert_eq!(loaded.public_key(), key.public_key());
        }
    }

    #[test]
    fn signatures_verify_and_tampered_message_fails() {
        for alg in [
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
            KeyAlgorithm::Ed25519,
        ] {
            let key = SigningKey::generate(alg).unwrap();
            let public = key.public_key();
            let sig = key.sign(MESSAGE).unwrap();
            public.verify(MESSAGE, &sig).unwrap();
            let mut tampered = MESSAGE.to_vec();
            tampered[10] ^= 1;
            assert_eq!(
                public.verify(&tampered, &sig),
                Err(SignatureError::Invalid),
                "{alg}"
            );
            let other = SigningKey::generate(alg).unwrap().public_key();
            assert_eq!(other.verify(MESSAGE, &sig), Err(SignatureError::Invalid));
        }
    }

    #[test]
    fn ecdsa_signer_emits_der() {
        for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::EcdsaP384] {
            let sig = SigningKey::generate(alg).unwrap().sign(MESSAGE).unwrap();
            assert!(der::is_ecdsa_signature(&sig), "{alg}");
        }
    }

    #[test]
    fn ecdsa_der_and_raw_signatures_both_verify() {
        for (alg, scalar_len) in [(KeyAlgorithm::EcdsaP256, 32), (KeyAlgorithm::EcdsaP384, 48)] {
            let key = SigningKey::generate(alg).unwrap();
            let public = key.public_key();
            let der_sig = key.sign(MESSAGE).unwrap();
            let fixed = der_to_fixed(&der_sig, scalar_len);
            assert_eq!(fixed.len(), 2 * scalar_len);
            public.verify(MESSAGE, &der_sig).unwrap();
            public.verify(MESSAGE, &fixed).unwrap();
            let mut bad = fixed.clone();
            bad[5] ^= 0x40;
            assert_eq!(public.verify(MESSAGE, &bad), Err(SignatureError::Invalid));
        }
    }

    #[test]
    fn malformed_signatures_are_bad_encoding() {
        let p256 = SigningKey::generate(KeyAlgorithm::EcdsaP256)
            .unwrap()
            .public_key();
        for sig in [&[][..], &[0x30, 0x03, 0x02, 0x01][..], &[7u8; 63][..]] {
            assert!(matches!(
                p256.verify(MESSAGE, sig),
                Err(SignatureError::BadEncoding(_))
            ));
        }
        assert!(matches!(
            p256.verify(MESSAGE, &[0u8; 2000]),
            Err(SignatureError::BadEncoding(_))
        ));
        assert_eq!(
            p256.verify(MESSAGE, &[7u8; 64]),
            Err(SignatureError::Invalid)
        );
        let ed = SigningKey::generate(KeyAlgorithm::Ed25519)
            .unwrap()
            .public_key();
        let err = ed.verify(MESSAGE, &[1u8; 63]).unwrap_err();
        assert!(err.to_string().contains("64 bytes"), "{err}");
        let rsa = PublicKey::from_pem(fixture!("rsa-2048.pub")).unwrap();
        assert!(matches!(
            rsa.verify(MESSAGE, &[1u8; 255]),
            Err(SignatureError::BadEncoding(_))
        ));
    }

    #[test]
    fn p256_key_from_cosign_key_py_n32768_cosign_label_loads() {
        assert_fixture_key_matches(
            fixture!("cosign-p256-n32768-cosign.key"),
            fixture!("cosign-p256-n32768-cosign.pub"),
            KeyAlgorithm::EcdsaP256,
        );
    }

    #[test]
    fn p256_key_from_cosign_key_py_n65536_sigstore_label_loads() {
        assert_fixture_key_matches(
            fixture!("cosign-p256-n65536-sigstore.key"),
            fixture!("cosign-p256-n65536-sigstore.pub"),
            KeyAlgorithm::EcdsaP256,
        );
    }

    #[test]
    fn p384_key_from_cosign_key_py_n65536_sigstore_label_loads() {
        assert_fixture_key_matches(
            fixture!("cosign-p384-n65536-sigstore.key"),
            fixture!("cosign-p384-n65536-sigstore.pub"),
            KeyAlgorithm::EcdsaP384,
        );
    }

    #[test]
    fn p384_key_from_cosign_key_py_n32768_cosign_label_loads() {
        assert_fixture_key_matches(
            fixture!("cosign-p384-n32768-cosign.key"),
            fixture!("cosign-p384-n32768-cosign.pub"),
            KeyAlgorithm::EcdsaP384,
        );
    }

    #[test]
    fn python_ecdsa_p256_signature_verifies() {
        let public = PublicKey::from_pem(fixture!("ecdsa-p256.pub")).unwrap();
        let sig = b64(fixture!("message.txt.ecdsa-p256.sig"));
        public.verify(MESSAGE, &sig).unwrap();
        public.verify(MESSAGE, &der_to_fixed(&sig, 32)).unwrap();
        assert_eq!(
            public.verify(b"tampered", &sig),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn python_ecdsa_p384_signature_verifies() {
        let public = PublicKey::from_pem(fixture!("ecdsa-p384.pub")).unwrap();
        assert_eq!(public.algorithm(), KeyAlgorithm::EcdsaP384);
        let sig = b64(fixture!("message.txt.ecdsa-p384.sig"));
        public.verify(MESSAGE, &sig).unwrap();
        assert_eq!(
            public.verify(b"tampered", &sig),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn python_rsa_2048_pkcs1v15_signature_verifies() {
        let public = PublicKey::from_pem(fixture!("rsa-2048.pub")).unwrap();
        assert_eq!(public.algorithm(), KeyAlgorithm::Rsa { bits: 2048 });
        assert_eq!(public.algorithm().to_string(), "rsa-2048");
        let sig = b64(fixture!("message.txt.rsa-2048.sig"));
        public.verify(MESSAGE, &sig).unwrap();
        assert_eq!(
            public.verify(b"tampered", &sig),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn python_ed25519_signature_verifies() {
        let public = PublicKey::from_pem(fixture!("ed25519.pub")).unwrap();
        assert_eq!(public.algorithm(), KeyAlgorithm::Ed25519);
        let sig = b64(fixture!("message.txt.ed25519.sig"));
        public.verify(MESSAGE, &sig).unwrap();
        assert_eq!(
            public.verify(b"tampered", &sig),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn rsa_public_key_pem_has_same_key_id_as_spki_form() {
        let pkcs1 = PublicKey::from_pem(fixture!("rsa-2048.pkcs1.pub")).unwrap();
        let spki = PublicKey::from_pem(fixture!("rsa-2048.pub")).unwrap();
        assert_eq!(pkcs1, spki);
        assert_eq!(pkcs1.key_id(), spki.key_id());
        assert_eq!(pkcs1.spki_der(), spki.spki_der());
        let sig = b64(fixture!("message.txt.rsa-2048.sig"));
        pkcs1.verify(MESSAGE, &sig).unwrap();
    }

    #[test]
    fn python_plain_private_keys_load_and_match_their_public_keys() {
        for (key_pem, pub_pem, alg) in [
            (
                fixture!("ecdsa-p256.key"),
                fixture!("ecdsa-p256.pub"),
                KeyAlgorithm::EcdsaP256,
            ),
            (
                fixture!("ecdsa-p256.sec1.key"),
                fixture!("ecdsa-p256.pub"),
                KeyAlgorithm::EcdsaP256,
            ),
            (
                fixture!("rsa-2048.key"),
                fixture!("rsa-2048.pub"),
                KeyAlgorithm::Rsa { bits: 2048 },
            ),
            (
                fixture!("ed25519.key"),
                fixture!("ed25519.pub"),
                KeyAlgorithm::Ed25519,
            ),
        ] {
            assert_fixture_key_matches(key_pem, pub_pem, alg);
            // A passphrase given for an unencrypted key is ignored.
            SigningKey::from_pem(key_pem, None).unwrap();
        }
    }

    #[test]
    fn loaded_keys_reexport_to_encrypted_pem() {
        for key_pem in [fixture!("ecdsa-p256.sec1.key"), fixture!("ed25519.key")] {
            let key = SigningKey::from_pem(key_pem, None).unwrap();
            let pem = key.to_encrypted_pem(b"pw", PemLabel::Cosign, 15).unwrap();
            let again = SigningKey::from_pem(pem.as_bytes(), Some(b"pw")).unwrap();
            assert_eq!(again.public_key(), key.public_key());
        }
    }

    #[test]
    fn rsa_private_key_pkcs1_pem_loads() {
        let key = SigningKey::from_pem(fixture!("rsa-2048.key"), None).unwrap();
        let pkcs8 = pem::parse(key.to_pkcs8_pem()).unwrap();
        // Extract the PKCS#1 RSAPrivateKey from the PKCS#8 and wrap it in "RSA PRIVATE KEY".
        let info = Pkcs8Info::parse(pkcs8.contents()).unwrap();
        let pkcs1_pem = encode_pem(LABEL_RSA_PRIVATE_KEY, info.private_key);
        let loaded = SigningKey::from_pem(pkcs1_pem.as_bytes(), None).unwrap();
        assert_eq!(loaded.public_key(), key.public_key());
    }

    #[test]
    fn public_key_pem_round_trips_and_ids_are_sha256_of_spki() {
        let public = PublicKey::from_pem(fixture!("ecdsa-p256.pub")).unwrap();
        assert_eq!(
            PublicKey::from_pem(public.to_pem().as_bytes()).unwrap(),
            public
        );
        assert_eq!(
            public.to_pem(),
            std::str::from_utf8(fixture!("ecdsa-p256.pub")).unwrap()
        );
        let digest = ring::digest::digest(&ring::digest::SHA256, public.spki_der());
        let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(public.key_id(), format!("sha256:{hex}"));
        assert_eq!(b64(public.hint().as_bytes()), digest.as_ref());
        assert_eq!(PublicKey::from_spki_der(public.spki_der()).unwrap(), public);
    }

    #[test]
    fn policy_controller_example_public_key_loads() {
        // The example cosign.pub quoted in formats.md §1.2.
        let pem = "-----BEGIN PUBLIC KEY-----\n\
            MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEOc6HkISHzVdUbtUsdjYtPuyPYBeg\n\
            4FCemyVurIM4KEORQk4OAu8ZNwxvGSoY3eAabYaFIPPQ8ROAjrbdPwNdJw==\n\
            -----END PUBLIC KEY-----\n";
        let public = PublicKey::from_pem(pem.as_bytes()).unwrap();
        assert_eq!(public.algorithm(), KeyAlgorithm::EcdsaP256);
        assert_eq!(public.to_pem(), pem);
    }

    #[test]
    fn wrong_passphrase_is_clear_error() {
        let err = SigningKey::from_pem(
            fixture!("cosign-p256-n32768-cosign.key"),
            Some(b"not-the-passphrase"),
        )
        .unwrap_err();
        assert!(matches!(err, KeyError::WrongPassphrase), "{err:?}");
        assert!(err.to_string().contains("wrong passphrase"), "{err}");
    }

    #[test]
    fn missing_passphrase_for_encrypted_key_is_passphrase_required() {
        let err =
            SigningKey::from_pem(fixture!("cosign-p256-n32768-cosign.key"), None).unwrap_err();
        assert!(matches!(err, KeyError::PassphraseRequired), "{err:?}");
        assert!(err.to_string().contains("AIRLOCK_PASSWORD"), "{err}");
    }

    #[test]
    fn scrypt_n1024_is_kdf_params_error() {
        let pem = with_json_body(fixture!("cosign-p256-n32768-cosign.key"), |doc| {
            doc["kdf"]["params"]["N"] = 1024.into();
        });
        let err = SigningKey::from_pem(pem.as_bytes(), Some(PASSPHRASE)).unwrap_err();
        assert!(
            matches!(
                err,
                KeyError::KdfParams {
                    n: 1024,
                    r: 8,
                    p: 1
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("N=1024"), "{err}");
    }

    #[test]
    fn scrypt_r_and_p_other_than_8_and_1_are_kdf_params_errors() {
        for (field, value) in [("r", 16), ("p", 2)] {
            let pem = with_json_body(fixture!("cosign-p256-n32768-cosign.key"), |doc| {
                doc["kdf"]["params"][field] = value.into();
            });
            let err = SigningKey::from_pem(pem.as_bytes(), Some(PASSPHRASE)).unwrap_err();
            assert!(matches!(err, KeyError::KdfParams { .. }), "{err:?}");
        }
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        assert!(matches!(
            key.to_encrypted_pem(PASSPHRASE, PemLabel::Sigstore, 10),
            Err(KeyError::KdfParams { n: 1024, .. })
        ));
    }

    #[test]
    fn unknown_kdf_or_cipher_or_bad_nonce_is_encrypted_key_error() {
        let edits = [
            ("/kdf/name", "argon2"),
            ("/cipher/name", "aes-gcm"),
            ("/cipher/nonce", "AAAA"),
            ("/ciphertext", "%%%"),
            ("/kdf/salt", ""),
        ];
        for (pointer, value) in edits {
            let pem = with_json_body(fixture!("cosign-p256-n32768-cosign.key"), |doc| {
                *doc.pointer_mut(pointer).unwrap() = value.into();
            });
            let err = SigningKey::from_pem(pem.as_bytes(), Some(PASSPHRASE)).unwrap_err();
            assert!(
                matches!(err, KeyError::EncryptedKey(_)),
                "{pointer}: {err:?}"
            );
        }
    }

    #[test]
    fn json_body_garbage_is_encrypted_key_error() {
        for body in [&b"not json at all"[..], b"{}", b"{\"kdf\": 1}", b"[]"] {
            let pem = encode_pem(LABEL_SIGSTORE_KEY, body);
            let err = SigningKey::from_pem(pem.as_bytes(), Some(PASSPHRASE)).unwrap_err();
            assert!(matches!(err, KeyError::EncryptedKey(_)), "{err:?}");
            assert!(err.to_string().contains("JSON"), "{err}");
        }
    }

    #[test]
    fn truncated_pem_is_clear_error_at_every_length() {
        let full = fixture!("cosign-p256-n32768-cosign.key");
        // Any cut before the END line is complete: never a panic, always an error.
        for len in 0..full.len() - 1 {
            assert!(SigningKey::from_pem(&full[..len], Some(PASSPHRASE)).is_err());
        }
        let err = SigningKey::from_pem(&full[..full.len() / 2], Some(PASSPHRASE)).unwrap_err();
        assert!(matches!(err, KeyError::Pem(_)), "{err:?}");
        assert!(err.to_string().contains("truncated"), "{err}");
        let public = fixture!("ecdsa-p256.pub");
        for len in 0..public.len() - 1 {
            assert!(PublicKey::from_pem(&public[..len]).is_err());
        }
    }

    #[test]
    fn truncated_or_corrupt_der_is_malformed_error() {
        let public = PublicKey::from_pem(fixture!("rsa-2048.pub")).unwrap();
        let spki = public.spki_der();
        for len in 0..spki.len() {
            let err = PublicKey::from_spki_der(&spki[..len]).unwrap_err();
            assert!(
                matches!(
                    err,
                    KeyError::Malformed(_) | KeyError::UnsupportedAlgorithm(_)
                ),
                "{len}: {err:?}"
            );
        }
        let mut trailing = spki.to_vec();
        trailing.push(0);
        assert!(matches!(
            PublicKey::from_spki_der(&trailing),
            Err(KeyError::Malformed(_))
        ));
        let pkcs8 = pem::parse(fixture!("ecdsa-p256.key")).unwrap();
        for len in 0..pkcs8.contents().len() {
            let pem = encode_pem(LABEL_PRIVATE_KEY, &pkcs8.contents()[..len]);
            assert!(SigningKey::from_pem(pem.as_bytes(), None).is_err());
        }
        let sec1 = pem::parse(fixture!("ecdsa-p256.sec1.key")).unwrap();
        for len in 0..sec1.contents().len() {
            let pem = encode_pem(LABEL_EC_PRIVATE_KEY, &sec1.contents()[..len]);
            assert!(SigningKey::from_pem(pem.as_bytes(), None).is_err());
        }
    }

    #[test]
    fn junk_base64_is_pem_error() {
        let pem = "-----BEGIN PUBLIC KEY-----\n!!!not*base64!!!\n-----END PUBLIC KEY-----\n";
        let err = PublicKey::from_pem(pem.as_bytes()).unwrap_err();
        assert!(matches!(err, KeyError::Pem(_)), "{err:?}");
        assert!(err.to_string().contains("base64"), "{err}");
        let pem = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n@@@@\n\
                   -----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
        let err = SigningKey::from_pem(pem.as_bytes(), Some(PASSPHRASE)).unwrap_err();
        assert!(matches!(err, KeyError::Pem(_)), "{err:?}");
    }

    #[test]
    fn non_pem_and_wrong_labels_are_clear_errors() {
        let err = PublicKey::from_pem(b"just some text").unwrap_err();
        assert!(err.to_string().contains("BEGIN"), "{err}");
        let err = PublicKey::from_pem(fixture!("ecdsa-p256.key")).unwrap_err();
        assert!(matches!(err, KeyError::PemLabel { .. }), "{err:?}");
        assert!(err.to_string().contains("private key"), "{err}");
        let err = SigningKey::from_pem(fixture!("ecdsa-p256.pub"), None).unwrap_err();
        assert!(matches!(err, KeyError::PemLabel { .. }), "{err:?}");
        let two = [fixture!("ecdsa-p256.pub"), fixture!("ed25519.pub")].concat();
        let err = PublicKey::from_pem(&two).unwrap_err();
        assert!(err.to_string().contains("2 PEM blocks"), "{err}");
        let mismatched = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(matches!(
            PublicKey::from_pem(mismatched.as_bytes()),
            Err(KeyError::Pem(_))
        ));
    }

    #[test]
    fn ec_pkcs8_without_public_key_is_clear_error() {
        let pkcs8 = pem::parse(fixture!("ecdsa-p256.key")).unwrap();
        let info = Pkcs8Info::parse(pkcs8.contents()).unwrap();
        let mut outer = der::Reader::new(info.private_key);
        let mut body = der::Reader::new(outer.read(der::SEQUENCE).unwrap());
        let version = body.read(der::INTEGER).unwrap();
        let scalar = body.read(der::OCTET_STRING).unwrap();
        let stripped = der::seq(&[
            &der::tlv(der::INTEGER, version),
            &der::tlv(der::OCTET_STRING, scalar),
        ]);
        let without_public = der::seq(&[
            &der::tlv(der::INTEGER, &[0]),
            &der::seq(&[
                &der::tlv(der::OID, oid::EC_PUBLIC_KEY),
                &der::tlv(der::OID, oid::P256),
            ]),
            &der::tlv(der::OCTET_STRING, &stripped),
        ]);
        let pem = encode_pem(LABEL_PRIVATE_KEY, &without_public);
        let err = SigningKey::from_pem(pem.as_bytes(), None).unwrap_err();
        assert!(matches!(err, KeyError::Malformed(_)), "{err:?}");
        assert!(
            err.to_string().contains("does not include its public key"),
            "{err}"
        );
    }

    #[test]
    fn ec_parameters_block_before_sec1_key_is_skipped() {
        let params = encode_pem(LABEL_EC_PARAMETERS, &der::tlv(der::OID, oid::P256));
        let input = [params.as_bytes(), fixture!("ecdsa-p256.sec1.key")].concat();
        let key = SigningKey::from_pem(&input, None).unwrap();
        assert_eq!(
            key.public_key(),
            PublicKey::from_pem(fixture!("ecdsa-p256.pub")).unwrap()
        );
    }

    #[test]
    fn one_mib_pem_is_size_limit_error() {
        let mut big = b"-----BEGIN PUBLIC KEY-----\n".to_vec();
        while big.len() < 1024 * 1024 {
            big.extend_from_slice(&[b'A'; 64]);
            big.push(b'\n');
        }
        big.extend_from_slice(b"-----END PUBLIC KEY-----\n");
        let err = PublicKey::from_pem(&big).unwrap_err();
        assert!(matches!(err, KeyError::TooLarge { .. }), "{err:?}");
        assert!(err.to_string().contains("65536"), "{err}");
        let err = SigningKey::from_pem(&big, Some(PASSPHRASE)).unwrap_err();
        assert!(matches!(err, KeyError::TooLarge { .. }), "{err:?}");
        assert!(matches!(
            PublicKey::from_spki_der(&big),
            Err(KeyError::TooLarge { .. })
        ));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.pub");
        std::fs::write(&path, &big).unwrap();
        let err = load_public_key_file(&path).unwrap_err();
        assert!(
            matches!(err.without_path(), KeyError::TooLarge { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("huge.pub"), "{err}");
    }

    #[test]
    fn p521_key_is_unsupported_algorithm_with_clear_message() {
        let err = PublicKey::from_pem(fixture!("ecdsa-p521.pub")).unwrap_err();
        assert!(matches!(err, KeyError::UnsupportedAlgorithm(_)), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("P-521") && msg.contains("P-256"), "{msg}");
    }

    #[test]
    fn rsa_1024_key_is_unsupported_algorithm() {
        let err = PublicKey::from_pem(fixture!("rsa-1024.pub")).unwrap_err();
        assert!(matches!(err, KeyError::UnsupportedAlgorithm(_)), "{err:?}");
        assert!(err.to_string().contains("1024-bit"), "{err}");
    }

    #[test]
    fn rsa_generation_is_unsupported_algorithm() {
        let err = SigningKey::generate(KeyAlgorithm::Rsa { bits: 3072 }).unwrap_err();
        assert!(matches!(err, KeyError::UnsupportedAlgorithm(_)), "{err:?}");
    }

    #[test]
    fn key_files_load_and_errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join("cosign.key");
        let pub_path = dir.path().join("cosign.pub");
        std::fs::write(&key_path, fixture!("cosign-p256-n65536-sigstore.key")).unwrap();
        std::fs::write(&pub_path, fixture!("cosign-p256-n65536-sigstore.pub")).unwrap();
        let key = load_signing_key_file(&key_path, Some(PASSPHRASE)).unwrap();
        assert_eq!(key.public_key(), load_public_key_file(&pub_path).unwrap());

        let err = load_signing_key_file(&key_path, Some(b"wrong")).unwrap_err();
        assert!(matches!(err.without_path(), KeyError::WrongPassphrase));
        assert!(err.to_string().contains("cosign.key"), "{err}");

        let missing = dir.path().join("absent.pub");
        let err = load_public_key_file(&missing).unwrap_err();
        assert!(matches!(err, KeyError::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("absent.pub"), "{err}");

        let err = load_public_key_file(&key_path).unwrap_err();
        assert!(err.to_string().contains("cosign.key"), "{err}");
    }

    #[test]
    fn signing_key_debug_shows_no_secret_material() {
        let key = SigningKey::from_pem(fixture!("ecdsa-p256.key"), None).unwrap();
        let debug = format!("{key:?}");
        assert!(
            debug.contains("EcdsaP256") && debug.contains("sha256:"),
            "{debug}"
        );
        let pkcs8_b64 = BASE64.encode(key.pkcs8.as_slice());
        assert!(!debug.contains(&pkcs8_b64[..16]));
        assert!(!debug.contains("pkcs8"));
    }

    #[test]
    fn passphrase_comes_from_airlock_then_cosign_env() {
        // The only test that touches these variables.
        std::env::remove_var("AIRLOCK_PASSWORD");
        std::env::remove_var("COSIGN_PASSWORD");
        assert_eq!(passphrase_from_env(), None);
        std::env::set_var("COSIGN_PASSWORD", "from-cosign");
        assert_eq!(passphrase_from_env(), Some(b"from-cosign".to_vec()));
        std::env::set_var("AIRLOCK_PASSWORD", "");
        assert_eq!(passphrase_from_env(), Some(Vec::new()));
        std::env::set_var("AIRLOCK_PASSWORD", "from-airlock");
        assert_eq!(passphrase_from_env(), Some(b"from-airlock".to_vec()));
        std::env::remove_var("AIRLOCK_PASSWORD");
        std::env::remove_var("COSIGN_PASSWORD");
    }

    #[test]
    fn oid_names_render_dotted() {
        assert_eq!(oid_to_string(oid::P521), "1.3.132.0.35");
        assert_eq!(oid_to_string(oid::EC_PUBLIC_KEY), "1.2.840.10045.2.1");
        assert_eq!(oid_to_string(&[0x86]), "(malformed)");
    }

    #[test]
    fn der_lengths_encode_and_decode() {
        for len in [0usize, 1, 127, 128, 255, 256, 70_000] {
            let data = vec![0xabu8; len];
            let encoded = der::tlv(der::OCTET_STRING, &data);
            let mut reader = der::Reader::new(&encoded);
            assert_eq!(reader.read(der::OCTET_STRING).unwrap(), data.as_slice());
            reader.finish().unwrap();
        }
        let mut reader = der::Reader::new(&[0x04, 0x81, 0x05, 0, 0, 0, 0, 0]);
        assert_eq!(reader.read(der::OCTET_STRING), Err(der::Error::BadLength));
        let mut reader = der::Reader::new(&[0x04, 0x84, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(reader.read(der::OCTET_STRING), Err(der::Error::Truncated));
    }
}

//! A throwaway ECDSA P-256 signing key for tests, independent of airlock's own
//! key module: signatures are ASN.1 DER over SHA-256, exactly as cosign makes them.

use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_ASN1,
    ECDSA_P256_SHA256_ASN1_SIGNING,
};

use super::content::pem_encode;

/// DER prefix of a P-256 `SubjectPublicKeyInfo` (id-ecPublicKey, prime256v1,
/// BIT STRING of 66 bytes); append the 65-byte uncompressed point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// An ECDSA P-256 key pair that signs like cosign (`SignASN1(SHA-256(msg))`).
///
/// ```ignore
/// let key = TestKey::generate();
/// let digest = fixtures.cosign_signature("team/app", &img.digest, &reg.repo_ref("team/app"), &key.signer());
/// std::fs::write(dir.join("release.pub"), key.public_key_pem())?;
/// ```
pub struct TestKey {
    pair: EcdsaKeyPair,
    pkcs8: Vec<u8>,
}

impl TestKey {
    /// A fresh random key.
    pub fn generate() -> TestKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .expect("generate P-256 key");
        TestKey::from_pkcs8(pkcs8.as_ref())
    }

    /// Load an unencrypted PKCS#8 DER P-256 private key.
    pub fn from_pkcs8(der: &[u8]) -> TestKey {
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der, &SystemRandom::new())
                .expect("parse PKCS#8 P-256 key");
        TestKey {
            pair,
            pkcs8: der.to_vec(),
        }
    }

    /// ASN.1 DER ECDSA signature over SHA-256(`msg`).
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.pair
            .sign(&SystemRandom::new(), msg)
            .expect("ECDSA sign")
            .as_ref()
            .to_vec()
    }

    /// A closure suitable for the fixture builder's `sign` parameters.
    pub fn signer(&self) -> impl Fn(&[u8]) -> Vec<u8> + '_ {
        move |msg| self.sign(msg)
    }

    /// Check an ASN.1 DER signature made by this key.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, self.pair.public_key().as_ref())
            .verify(msg, sig)
            .is_ok()
    }

    /// The uncompressed public point (65 bytes, `04 || X || Y`).
    pub fn public_point(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// PKIX `SubjectPublicKeyInfo` DER.
    pub fn public_key_der(&self) -> Vec<u8> {
        let mut der = P256_SPKI_PREFIX.to_vec();
        der.extend_from_slice(self.public_point());
        der
    }

    /// `-----BEGIN PUBLIC KEY-----` PEM, the format of `cosign.pub`.
    pub fn public_key_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.public_key_der())
    }

    /// Unencrypted PKCS#8 DER of the private key.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// `-----BEGIN PRIVATE KEY-----` PEM (unencrypted PKCS#8).
    pub fn private_key_pem(&self) -> String {
        pem_encode("PRIVATE KEY", &self.pkcs8)
    }
}

//! Trust material: public keys, private keys, trusted roots.
pub mod keys;
pub mod sigstore;
pub mod tuf;

/// PKCS#11 tokens hold signing keys; the module lives with the keys it produces.
pub use keys::pkcs11;

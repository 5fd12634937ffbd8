//! Trust material: public keys, private keys, trusted roots.
pub mod keys;
pub mod pkcs11;
pub mod sigstore;
pub mod tuf;

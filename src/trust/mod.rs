//! Trust material: public keys, private keys, trusted roots.
pub mod sigstore;
pub mod tuf;

// Keys are their own layer (below formats and policy); these paths are kept for library users.
pub use crate::keys::{self, pkcs11};

//! The OCI content model: digests, descriptors, manifests and references.
pub mod digest;

pub use digest::{Algorithm, Digest, DigestError};

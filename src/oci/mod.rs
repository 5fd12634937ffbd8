//! The OCI content model: digests, descriptors, manifests and references.
pub mod digest;
pub mod manifest;
pub mod reference;

pub use digest::{Algorithm, Digest, DigestError};
pub use manifest::{Descriptor, Manifest, ManifestError, Platform};
pub use reference::{Reference, ReferenceError};

//! airlock: a supply-chain verification and provenance gate for air-gapped Kubernetes sites.
//!
//! The library is split by responsibility:
//! - [`oci`]: the content model (digests, descriptors, manifests kept as raw bytes, references);
//! - [`layout`]: the bundle store, an OCI image layout on disk;
//! - [`registry`]: the registry client (only capture, push and `verify --registry` use the network);
//! - [`trust`]: keys and trust material;
//! - [`policy`]: the policy file;
//! - [`verify`]: the pure verification core (no filesystem, network or clock inside);
//! - [`report`]: findings, the report document and its renderings.
//!
//! Library code never prints; the binary's `cli` module is the only place that writes to a terminal.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::disallowed_methods))] // unit tests write their own temporary files

pub mod admission;
pub mod archive;
pub mod capture;
pub mod delta;
pub mod finding;
pub mod formats;
pub mod helm;
pub mod inspect;
pub mod keys;
pub mod layout;
pub mod limited;
pub mod lock;
pub mod mapping;
pub mod merge;
pub mod oci;
pub mod pins;
pub mod policy;
pub mod preflight;
pub mod push;
pub mod registry;
pub mod registry_view;
pub mod report;
pub mod sign;
pub mod sources;
pub mod text;
pub mod trust;
pub mod verify;
pub mod view;
pub mod yamldepth;

//! The pure verification core: no filesystem, network or clock inside.
//!
//! [`verify`] takes a [`BundleView`] (what the edge read), the [`Policy`], the [`Trust`] material
//! and the evaluation time, and returns a [`Report`]. A failed check is a finding in the report;
//! nothing here returns `Err` for content that does not verify.
pub mod chart;
pub mod core;
pub mod judge;

pub use self::core::{verify, LockInput, Trust};
// The formats and the view live in their own layers (docs/architecture.md); these paths are kept
// for users of the library.
pub use crate::formats::{dsse, intoto, purl, sbom, simplesign, slsa, vex, vuln};
pub use crate::view::{self, BundleView};

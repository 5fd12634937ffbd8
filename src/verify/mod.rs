//! The pure verification core: no filesystem, network or clock inside.
//!
//! [`verify`] takes a [`BundleView`] (what the edge read), the [`Policy`], the [`Trust`] material
//! and the evaluation time, and returns a [`Report`]. A failed check is a finding in the report;
//! nothing here returns `Err` for content that does not verify.
pub mod chart;
pub mod core;
pub mod dsse;
pub mod intoto;
pub mod judge;
pub mod purl;
pub mod sbom;
pub mod simplesign;
pub mod slsa;
pub mod vex;
pub mod view;
pub mod vuln;

pub use self::core::{verify, LockInput, Trust};
pub use view::BundleView;

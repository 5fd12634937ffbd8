//! The pure verification core: no filesystem, network or clock inside.
pub mod dsse;
pub mod intoto;
pub mod sbom;
pub mod simplesign;

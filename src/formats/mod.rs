//! The signed-content formats airlock reads and writes: DSSE envelopes, in-toto statements,
//! cosign simple signing, SBOMs (SPDX, CycloneDX), SLSA provenance, vulnerability scans, OpenVEX
//! and package URLs. Parsers of hostile input, each with its named limits; no policy, no I/O.
//! Used by the core (`verify`), by signing (`sign`, `report::vsa`) and by `push`.
pub mod dsse;
pub mod intoto;
pub mod purl;
pub mod sbom;
pub mod simplesign;
pub mod slsa;
pub mod vex;
pub mod vuln;

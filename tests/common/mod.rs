//! Shared integration-test harness for airlock.
//!
//! Use it from any `tests/*.rs` with `mod common;`:
//!
//! - [`registry`]: throwaway `docker-registry` (distribution 2.8) processes —
//!   [`Registry::start`] with a [`Flavour`] (plain HTTP, TLS, TLS + basic auth,
//!   TLS + bearer token), `stop`/`restart`, clients, airlock env/flags.
//! - [`token`]: the in-process token issuer behind [`Flavour::Token`].
//! - [`fixtures`]: [`Pusher`] (independent OCI push/pull client) and
//!   [`Fixtures`] (images, multi-arch indexes, cosign `.sig`/`.att`/`.sbom`,
//!   OCI 1.1 referrers with the tag fallback, Helm charts) plus payload
//!   builders (simple signing, DSSE/PAE, in-toto/SLSA/SPDX/CycloneDX).
//! - [`keys`]: [`TestKey`], an ECDSA P-256 key that signs like cosign.
//! - [`cut`]: [`cut::CutProxy`], a TCP proxy that cuts the connection after N bytes.
//! - [`provenance`]: SLSA provenance, Trivy/Grype vulnerability predicates, OpenVEX and SBOMs
//!   with purls, shaped like the real tools' output.
//! - [`softhsm`]: [`softhsm::SoftHsm`], a SoftHSM2 PKCS#11 token in a temporary directory.
//! - [`content`]: digests, deterministic bytes, tar/gzip writers, base64/PEM.
//!
//! Each test binary uses only part of this, hence the `allow`s.
#![allow(dead_code, unused_imports)]

pub mod content;
pub mod cut;
pub mod fixtures;
pub mod helm_repo;
pub mod hostile;
pub mod keys;
pub mod provenance;
pub mod registry;
pub mod scenarios;
pub mod softhsm;
pub mod token;

pub use content::{deterministic_bytes, digest_of, sha256_hex};
pub use fixtures::{
    att_tag, referrers_tag, sbom_tag, sig_tag, simple_signing_payload, Descriptor, Fixtures,
    Platform, Pushed, PushedIndex, Pusher, SignatureLayer,
};
pub use keys::TestKey;
pub use registry::{Flavour, Registry};
pub use token::TokenIssuer;

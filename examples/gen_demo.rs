//! Generates the demo bundle `testdata/bundles/demo`: a two-platform image index signed with
//! `keys/demo.key`, with a SLSA v1 provenance attestation, an SPDX SBOM attestation and a signed
//! lock, written as an OCI image layout. The builder is shared with the tests
//! (`tests/support/bundle.rs`).
//!
//! Run: `AIRLOCK_PASSWORD=demo cargo run --example gen_demo -- [OUT_DIR]`
//! Deterministic: ECDSA P-256 signs with RFC 6979 nonces, so every run writes the same bytes;
//! `scripts/test.sh` and `tests/fixtures_regenerate.rs` check that the checked-in bundle is
//! exactly what this writes.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
use std::path::PathBuf;

#[path = "../tests/support/bundle.rs"]
mod bundle;

fn main() {
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("testdata/bundles/demo"));
    let built = bundle::demo(&out);
    println!(
        "wrote {} (image {} = {})",
        out.display(),
        built[0].given,
        built[0].digest
    );
}

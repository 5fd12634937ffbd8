//! Generates the demo bundle `testdata/bundles/demo`: a two-platform image index signed with
//! `keys/demo.key`, with a SLSA v1 provenance attestation, an SPDX SBOM attestation and a signed
//! lock, written as an OCI image layout. The builder is shared with the tests
//! (`tests/support/bundle.rs`).
//!
//! Run: `AIRLOCK_PASSWORD=demo cargo run --example gen_demo -- [OUT_DIR]`
//! Content is deterministic; ECDSA signatures are randomised, so signature bytes differ per run.
use std::path::{Path, PathBuf};

use airlock::trust::keys::{self, SigningKey};

#[path = "../tests/support/bundle.rs"]
mod bundle;

fn main() {
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("testdata/bundles/demo"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pass = keys::passphrase_from_env().unwrap_or_else(|| b"demo".to_vec());
    let pem = std::fs::read(root.join("keys/demo.key")).expect("read keys/demo.key");
    let key =
        SigningKey::from_pem(&pem, Some(&pass)).expect("load keys/demo.key (passphrase: demo)");
    let spec = bundle::Spec::signed("registry.example/demo/app", "1.0.0", &key);
    let built = bundle::build(&out, &[spec], Some(&key));
    println!(
        "wrote {} (image {} = {})",
        out.display(),
        built[0].given,
        built[0].digest
    );
}

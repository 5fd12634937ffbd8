//! Benchmark fixtures (used by `benches/run.sh`):
//!
//! - `bench_fixture images DIR COUNT BASE_MIB UNIQUE_MIB`: an OCI layout with COUNT single-platform
//!   images that share one BASE_MIB base layer and each have a UNIQUE_MIB layer of their own
//!   (incompressible bytes), named `bench/imgN:v1`, to push to a registry with skopeo.
//! - `bench_fixture signed DIR COUNT`: an airlock bundle of COUNT small signed images (two
//!   platforms, a signature, a provenance and an SBOM attestation each) plus `DIR.policy.yaml`.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
use std::path::PathBuf;

use airlock::layout::Layout;
use airlock::oci::manifest::{ANNOTATION_REF_NAME, MEDIA_OCI_MANIFEST};
use airlock::oci::{Algorithm, Descriptor};
use airlock::trust::keys::{KeyAlgorithm, SigningKey};
use serde_json::json;

#[path = "../tests/support/bundle.rs"]
mod bundle;

/// xorshift64* stream: fast, incompressible enough for registries and hashing.
fn fill(seed: u64, out: &mut [u8]) {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for chunk in out.chunks_mut(8) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let v = x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
}

fn write_random_blob(l: &Layout, seed: u64, mib: usize) -> (airlock::oci::Digest, u64) {
    let mut w = l.blob_writer(Algorithm::Sha256).expect("writer");
    let mut buf = vec![0u8; 1 << 20];
    let mut h = airlock::oci::digest::Hasher::new(Algorithm::Sha256);
    for i in 0..mib {
        fill(seed * 1_000_003 + i as u64, &mut buf);
        h.update(&buf);
        w.write_chunk(&buf).expect("write");
    }
    let d = h.finish();
    w.commit(&d, None).expect("commit");
    (d, (mib as u64) << 20)
}

fn images(dir: PathBuf, count: usize, base_mib: usize, unique_mib: usize) {
    let mut l = Layout::create(&dir).expect("layout");
    l.set_durable(false);
    let (base, base_size) = write_random_blob(&l, 1, base_mib);
    let mut entries = Vec::new();
    for i in 0..count {
        let (own, own_size) = write_random_blob(&l, 100 + i as u64, unique_mib);
        let config = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [base.to_string(), own.to_string()]}});
        let cb = serde_json::to_vec(&config).expect("json");
        let cd = l.put_blob(&cb).expect("config");
        let m = json!({"schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": cb.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": base.to_string(), "size": base_size},
                       {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": own.to_string(), "size": own_size}]});
        let mb = serde_json::to_vec(&m).expect("json");
        let md = l.put_blob(&mb).expect("manifest");
        let mut desc = Descriptor::new(MEDIA_OCI_MANIFEST, md, mb.len() as u64);
        desc.annotations
            .insert(ANNOTATION_REF_NAME.into(), format!("bench/img{i}:v1"));
        entries.push(desc);
    }
    l.write_index(&entries).expect("index");
}

fn signed(dir: PathBuf, count: usize) {
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
    let specs: Vec<bundle::Spec> = (0..count)
        .map(|i| {
            let mut s =
                bundle::Spec::signed(&format!("registry.example/bench/app{i}"), "1.0", &key);
            s.salt = format!(" #{i}");
            s
        })
        .collect();
    bundle::build(&dir, &specs, None);
    let pubp = PathBuf::from(format!("{}.pub", dir.display()));
    std::fs::write(&pubp, key.public_key().to_pem()).expect("pub");
    let policy = format!(
        "apiVersion: airlock/v1\nkind: Policy\nkeys:\n  release: {}\nrules:\n  - match: [\"registry.example/**\"]\n    signatures:\n      keys: [release]\n    attestations:\n      - predicateType: https://slsa.dev/provenance/v1\n        keys: [release]\n    sbom: required\n    platforms: [linux/amd64, linux/arm64]\n",
        pubp.display()
    );
    std::fs::write(format!("{}.policy.yaml", dir.display()), policy).expect("policy");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let num = |i: usize| {
        args.get(i)
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(0)
    };
    match args.get(1).map(String::as_str) {
        Some("images") => images(PathBuf::from(&args[2]), num(3), num(4), num(5)),
        Some("signed") => signed(PathBuf::from(&args[2]), num(3)),
        _ => eprintln!(
            "usage: bench_fixture images DIR COUNT BASE_MIB UNIQUE_MIB | signed DIR COUNT"
        ),
    }
}

//! Published content shared by several integration tests.
use super::fixtures::*;
use super::keys::TestKey;
use super::registry::Registry;

/// A multi-arch image (linux/amd64, linux/arm64/v8, shared 64 KiB base) with a cosign signature
/// on the index and on each child, an attestation holding SLSA v1 provenance and an SPDX SBOM,
/// a CycloneDX `.sbom` attachment and an OCI 1.1 referrer pushed through the tag-schema fallback.
pub fn publish_full(reg: &Registry, key: &TestKey, repo: &str, tag: &str) -> PushedIndex {
    let fx = reg.fixtures();
    let idx = fx.multi_arch(
        repo,
        tag,
        &[("linux", "amd64", None), ("linux", "arm64", Some("v8"))],
        64 * 1024,
    );
    let repo_ref = reg.repo_ref(repo);
    fx.cosign_signature(repo, &idx.digest, &repo_ref, &key.signer());
    for (_, child) in &idx.children {
        fx.cosign_signature(repo, child, &repo_ref, &key.signer());
    }
    fx.cosign_attestations(
        repo,
        &idx.digest,
        &[
            (
                SLSA_PROVENANCE_V1,
                slsa_v1_statement(&repo_ref, &idx.digest),
            ),
            (SPDX_PREDICATE, spdx_statement(&repo_ref, &idx.digest)),
        ],
        &key.signer(),
    );
    fx.cosign_sbom(
        repo,
        &idx.digest,
        CYCLONEDX_JSON,
        &serde_json::to_vec(&cyclonedx_bom("app")).unwrap(),
    );
    fx.referrer(
        repo,
        &idx.descriptor(),
        "application/vnd.example.scan+json",
        "application/vnd.example.scan+json",
        br#"{"scanner":"x","findings":[]}"#,
        &[],
    );
    idx
}

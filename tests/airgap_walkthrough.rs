//! The whole trip of docs/airgap-walkthrough.md, command by command, against real registries:
//! capture (connected side) → verify (inside the gap) → signed report → push → verify --registry
//! → admission → preflight.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
mod common;

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use common::fixtures::*;
use common::keys::TestKey;
use common::registry::{Flavour, Registry};

fn airlock(dir: &Path, envs: &[(String, String)]) -> Command {
    let mut c = Command::cargo_bin("airlock").unwrap();
    c.current_dir(dir)
        .env("AIRLOCK_PASSWORD", "gate-passphrase")
        .envs(envs.iter().cloned());
    c
}

fn ok(c: &mut Command) -> String {
    let o = c.output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test]
fn capture_carry_verify_push_verify_registry_admission_preflight() {
    // The vendor publishes a signed, attested, multi-arch image in the source registry.
    let src = Registry::start(Flavour::Plain);
    let vendor = TestKey::generate();
    let fx = src.fixtures();
    let idx = fx.multi_arch(
        "team/app",
        "v1",
        &[("linux", "amd64", None), ("linux", "arm64", Some("v8"))],
        4096,
    );
    let repo_ref = src.repo_ref("team/app");
    fx.cosign_signature("team/app", &idx.digest, &repo_ref, &vendor.signer());
    fx.cosign_attestations(
        "team/app",
        &idx.digest,
        &[
            (
                SLSA_PROVENANCE_V1,
                slsa_v1_statement(&repo_ref, &idx.digest),
            ),
            (SPDX_PREDICATE, spdx_statement(&repo_ref, &idx.digest)),
        ],
        &vendor.signer(),
    );

    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    fs::create_dir_all(w.join("keys")).unwrap();
    fs::write(w.join("keys/vendor.pub"), vendor.public_key_pem()).unwrap();
    fs::write(
        w.join("policy.yaml"),
        format!(
            "apiVersion: airlock/v1\nkind: Policy\nkeys:\n  vendor: keys/vendor.pub\nrules:\n  - match: [\"{}/team/**\"]\n    signatures:\n      keys: [vendor]\n    attestations:\n      - predicateType: https://slsa.dev/provenance/v1\n        keys: [vendor]\n    sbom: required\n    platforms: [linux/amd64, linux/arm64]\nunmatched: deny\n",
            src.host
        ),
    )
    .unwrap();
    let src_env = src.airlock_env();
    let image = src.image_ref("team/app", "v1");

    // 1. Connected side: a gate key, then capture with verification right away and a signed lock.
    ok(airlock(w, &src_env).args(["keys", "generate", "--out", "keys/gate"]));
    ok(airlock(w, &src_env).args([
        "capture",
        &image,
        "-o",
        "bundle",
        "--policy",
        "policy.yaml",
        "--sign-key",
        "keys/gate.key",
        "--insecure-registry",
        &src.host,
    ]));
    let tree = ok(airlock(w, &src_env).args(["inspect", "bundle"]));
    assert!(
        tree.contains("linux/arm64/v8") && tree.contains(".sig") && tree.contains(".att"),
        "{tree}"
    );

    // 2. Inside the gap (the source registry is gone): verify offline, write a signed report.
    drop(src);
    let gap: Vec<(String, String)> = vec![(
        "REGISTRY_AUTH_FILE".into(),
        w.join("no-auth.json").display().to_string(),
    )];
    ok(airlock(w, &gap).args([
        "verify",
        "bundle",
        "--policy",
        "policy.yaml",
        "--capture-key",
        "keys/gate.pub",
        "--report",
        "report.dsse.json",
        "--sign-key",
        "keys/gate.key",
    ]));
    let shown = ok(airlock(w, &gap).args([
        "report",
        "verify",
        "report.dsse.json",
        "--key",
        "keys/gate.pub",
    ]));
    assert!(shown.to_lowercase().contains("pass"), "{shown}");
    ok(airlock(w, &gap).args([
        "report",
        "show",
        "report.dsse.json",
        "--format",
        "html",
        "-o",
        "report.html",
    ]));

    // 3. Push into the site registry (TLS + basic auth), reading every digest back.
    let site = Registry::start(Flavour::TlsBasicAuth);
    let site_env = site.airlock_env();
    let ca = site.ca_file.clone().unwrap();
    let target = format!("{}/mirror", site.host);
    ok(airlock(w, &site_env)
        .args(["push", "bundle", &target, "--report", "report.dsse.json"])
        .args([
            "--report-key",
            "keys/gate.pub",
            "--policy",
            "policy.yaml",
            "--ca-file",
        ])
        .arg(&ca));
    let mapping: serde_json::Value =
        serde_json::from_slice(&fs::read(w.join("bundle/airlock.mapping.json")).unwrap()).unwrap();
    let mirrored = mapping["images"][0]["target"].as_str().unwrap().to_string();
    assert_eq!(
        mirrored,
        format!("{}/mirror/team/app@{}", site.host, idx.digest)
    );

    // 4. Verify what the site registry actually serves.
    ok(airlock(w, &site_env)
        .args([
            "verify",
            "--registry",
            &target,
            "--lock",
            "bundle/airlock.lock.json",
            "--policy",
            "policy.yaml",
            "--ca-file",
        ])
        .arg(&ca));

    // 5. Admission policy for the clusters.
    ok(airlock(w, &gap).args([
        "admission",
        "--format",
        "kyverno",
        "--policy",
        "policy.yaml",
        "--lock",
        "bundle/airlock.lock.json",
        "-o",
        "kyverno.yaml",
    ]));
    ok(airlock(w, &gap).args([
        "admission",
        "--format",
        "policy-controller",
        "--policy",
        "policy.yaml",
        "--lock",
        "bundle/airlock.lock.json",
        "-o",
        "policy-controller.yaml",
    ]));
    let ky = fs::read_to_string(w.join("kyverno.yaml")).unwrap();
    assert!(
        ky.contains(&format!("{}/mirror/team/app", site.host)) && ky.contains("mutateDigest: true"),
        "{ky}"
    );

    // 6. Preflight a workload before deploying it.
    fs::write(
        w.join("deployment.yaml"),
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: {image}\n"),
    )
    .unwrap();
    let table = ok(airlock(w, &gap).args([
        "preflight",
        "deployment.yaml",
        "--lock",
        "bundle/airlock.lock.json",
    ]));
    assert!(table.contains(&mirrored), "{table}");
    fs::write(
        w.join("other.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n    - name: x\n      image: busybox:1.36\n",
    )
    .unwrap();
    let o = airlock(w, &gap)
        .args([
            "preflight",
            "other.yaml",
            "--lock",
            "bundle/airlock.lock.json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "an image that is not in the bundle fails before deploy"
    );
}

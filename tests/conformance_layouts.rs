//! Group C of the external vectors: OCI image layouts of real cosign `.sig` artifacts written by
//! oc-mirror (quay.io/rh_ee_aguidi/multi-platform-container and single-arch-empty-image), read
//! through airlock's own layout loader and verified with the real public keys; then assembled
//! with the signed image into one bundle and run through `airlock verify`.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
use std::fs;
use std::path::{Path, PathBuf};

use airlock::layout::load::load_view;
use airlock::oci::manifest::{ANNOTATION_COSIGN_SIGNATURE, MEDIA_COSIGN_SIMPLESIGNING};
use airlock::oci::Digest;
use airlock::trust::keys::load_public_key_file;
use airlock::verify::simplesign::SimpleSigning;
use base64::Engine;
use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/vectors")
}

/// Verify every simple-signing layer of the layout's single manifest with `key`; returns the
/// signed digests, or the first problem.
fn check_sig_layout(dir: &Path, key: &Path) -> Result<Vec<Digest>, String> {
    let view = load_view(dir, 2);
    if let Some(e) = view.layout_error {
        return Err(e);
    }
    let key = load_public_key_file(key).map_err(|e| e.to_string())?;
    let entry = view.entries.first().ok_or("no entry")?;
    let m = view
        .manifests
        .get(&entry.digest)
        .ok_or("manifest missing")?;
    let mut out = Vec::new();
    for l in m
        .layers()
        .iter()
        .filter(|l| l.media_type == MEDIA_COSIGN_SIMPLESIGNING)
    {
        let payload = view.blobs.get(&l.digest).ok_or("payload missing")?;
        let sig = base64::engine::general_purpose::STANDARD
            .decode(
                l.annotation(ANNOTATION_COSIGN_SIGNATURE)
                    .ok_or("no signature annotation")?,
            )
            .map_err(|e| e.to_string())?;
        key.verify(payload, &sig)
            .map_err(|e| format!("signature: {e}"))?;
        out.push(
            SimpleSigning::parse(payload)
                .map_err(|e| e.to_string())?
                .manifest_digest,
        );
    }
    Ok(out)
}

#[test]
fn group_c_signature_layouts_match_expected_outcomes() {
    let cases: Value =
        serde_json::from_slice(&fs::read(root().join("oc-mirror/CASES.json")).unwrap()).unwrap();
    let mut checked = 0;
    for c in cases["cases"].as_array().unwrap() {
        let Some(key) = c["trust"]["public_key"].as_str() else {
            continue;
        };
        let id = c["id"].as_str().unwrap();
        let dir = root().join(c["inputs"]["oci_layout"].as_str().unwrap());
        let got = check_sig_layout(&dir, &root().join(key));
        let pass = match &got {
            Ok(digests) => {
                // The subject is the digest in the directory name, when it has one.
                let name = dir.file_name().unwrap().to_string_lossy().to_string();
                match name.find("sha256-") {
                    Some(i) => {
                        let hex = &name[i + 7..i + 7 + 64];
                        digests.iter().all(|d| d.hex() == hex) && !digests.is_empty()
                    }
                    None => !digests.is_empty(),
                }
            }
            Err(_) => false,
        };
        let expect = c["expect"] == "pass";
        assert_eq!(
            pass, expect,
            "case {id}: expected {}, got {got:?}",
            c["expect"]
        );
        checked += 1;
    }
    assert_eq!(checked, 12);
}

/// Assemble the oc-mirror image layout and its five `.sig` layouts into one bundle named by the
/// real source repository, and verify it with the CLI: every signature verifies; the only errors
/// are the layer blobs oc-mirror's test data omits.
#[test]
fn oc_mirror_image_with_its_signatures_verifies_through_the_cli() {
    let t = tempfile::tempdir().unwrap();
    let bundle = t.path().join("bundle");
    let blobs = bundle.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    fs::write(
        bundle.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let td = root().join("oc-mirror/tests/unit/testdata");
    let repo = "quay.io/rh_ee_aguidi/multi-platform-container";
    let mut entries = Vec::new();
    for e in fs::read_dir(&td).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.starts_with("multi-platform-container") {
            continue;
        }
        for b in fs::read_dir(e.path().join("blobs/sha256"))
            .unwrap()
            .flatten()
        {
            fs::copy(b.path(), blobs.join(b.file_name())).unwrap();
        }
        let idx: Value =
            serde_json::from_slice(&fs::read(e.path().join("index.json")).unwrap()).unwrap();
        let mut d = idx["manifests"][0].clone();
        let ref_name = match name.find("sha256-") {
            Some(i) => format!("{repo}:{}.sig", &name[i..i + 7 + 64]),
            None => format!("{repo}:latest"),
        };
        d["annotations"] = json!({"org.opencontainers.image.ref.name": ref_name});
        entries.push(d);
    }
    fs::write(
        bundle.join("index.json"),
        serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": entries})).unwrap(),
    )
    .unwrap();
    fs::copy(
        root().join("oc-mirror/_extracted/multi-platform-container.cosign.pub"),
        t.path().join("vendor.pub"),
    )
    .unwrap();
    let policy = t.path().join("policy.yaml");
    fs::write(&policy, format!("apiVersion: airlock/v1\nkind: Policy\nkeys:\n  vendor: vendor.pub\nrules:\n  - match: [\"{repo}\"]\n    signatures:\n      keys: [vendor]\n    platforms: [linux/amd64, linux/arm64]\n")).unwrap();
    let out = assert_cmd::Command::cargo_bin("airlock")
        .unwrap()
        .arg("verify")
        .arg(&bundle)
        .arg("--policy")
        .arg(&policy)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let img = &r["images"][0];
    assert_eq!(img["ref"], format!("{repo}:latest"));
    let sigs = img["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 5, "index + 4 children signed");
    assert!(sigs.iter().all(|s| s["verified"] == true), "{sigs:#?}");
    let codes: Vec<&str> = img["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(
        !codes.is_empty() && codes.iter().all(|c| *c == "blob-missing"),
        "only the omitted layers may fail: {codes:?}"
    );
    assert_eq!(out.status.code(), Some(1), "omitted layers fail closed");
}

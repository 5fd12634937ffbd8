//! `airlock verify` end to end on bundles written by the test builder: one passing bundle, then
//! one test per finding code, each made by altering a copy of the bundle.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
use std::fs;
use std::path::{Path, PathBuf};

use airlock::oci::Digest;
use airlock::trust::keys::{KeyAlgorithm, SigningKey};
use assert_cmd::Command;
use serde_json::Value;

#[path = "support/bundle.rs"]
mod bundle;

use bundle::{build, Spec};

const SOURCE: &str = "registry.example/team/app";

struct Fixture {
    dir: tempfile::TempDir,
    key: SigningKey,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
            key: SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap(),
        }
    }
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    fn bundle(&self) -> PathBuf {
        self.path("bundle")
    }
    /// Policy requiring signatures, provenance, SBOM and both platforms from `release`.
    fn policy(&self, extra_rule_yaml: &str) -> PathBuf {
        fs::write(self.path("release.pub"), self.key.public_key().to_pem()).unwrap();
        let p = self.path("policy.yaml");
        fs::write(
            &p,
            format!(
                "apiVersion: airlock/v1\nkind: Policy\nkeys:\n  release: release.pub\nrules:\n{extra_rule_yaml}  - match: [\"registry.example/team/**\"]\n    signatures:\n      keys: [release]\n    attestations:\n      - predicateType: https://slsa.dev/provenance/v1\n        keys: [release]\n    sbom: required\n    platforms: [linux/amd64, linux/arm64]\nunmatched: deny\n"
            ),
        )
        .unwrap();
        p
    }
    fn verify(&self, extra: &[&str]) -> (i32, Value, String) {
        let policy = self.path("policy.yaml");
        let out = Command::cargo_bin("airlock")
            .unwrap()
            .arg("verify")
            .arg(self.bundle())
            .arg("--policy")
            .arg(&policy)
            .args(["--format", "json"])
            .args(extra)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let v: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        (
            out.status.code().unwrap_or(-1),
            v,
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }
}

fn codes(report: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in report["findings"].as_array().into_iter().flatten() {
        out.push(f["code"].as_str().unwrap_or("").to_string());
    }
    for img in report["images"].as_array().into_iter().flatten() {
        for f in img["findings"].as_array().into_iter().flatten() {
            if f["severity"] == "error" {
                out.push(f["code"].as_str().unwrap_or("").to_string());
            }
        }
    }
    out
}

fn blob(dir: &Path, d: &Digest) -> PathBuf {
    dir.join("blobs").join("sha256").join(d.hex())
}

fn expect_fail_with(f: &Fixture, code: &str) -> Value {
    expect_fail_with_codes(f, &[code])
}

/// Exit 1 with exactly these error finding codes (sorted, each once).
fn expect_fail_with_codes(f: &Fixture, want: &[&str]) -> Value {
    let (exit, report, stderr) = f.verify(&[]);
    assert_eq!(
        exit, 1,
        "expected exit 1 with {want:?}; stderr: {stderr}; report: {report:#}"
    );
    assert_eq!(report["result"], "fail");
    let mut c = codes(&report);
    c.sort();
    c.dedup();
    assert_eq!(c, want, "expected exactly the error findings {want:?}");
    report
}

#[test]
fn complete_signed_bundle_passes_with_exit_0_and_full_report() {
    let f = Fixture::new();
    f.policy("");
    let built = build(
        &f.bundle(),
        &[Spec::signed(SOURCE, "1.0", &f.key)],
        Some(&f.key),
    );
    let (exit, r, stderr) = f.verify(&[]);
    assert_eq!(exit, 0, "{stderr} {r:#}");
    assert_eq!(r["schema"], "airlock.report/v1");
    assert_eq!(r["result"], "pass");
    assert_eq!(r["verifier"]["name"], "airlock");
    assert_eq!(r["summary"]["images"], 1);
    assert_eq!(r["summary"]["passed"], 1);
    let img = &r["images"][0];
    assert_eq!(img["ref"], format!("{SOURCE}:1.0"));
    assert_eq!(img["digest"], built[0].digest.to_string());
    assert_eq!(img["platforms"].as_array().unwrap().len(), 2);
    assert_eq!(img["signatures"][0]["verified"], true);
    assert_eq!(img["sboms"][0]["format"], "spdx");
    assert_eq!(img["sboms"][0]["packages"], 3);
    let policy_bytes = fs::read(f.path("policy.yaml")).unwrap();
    assert_eq!(
        r["policy"]["sha256"],
        Digest::sha256_of(&policy_bytes).hex()
    );
}

#[test]
fn flipped_byte_in_a_layer_is_blob_digest_mismatch() {
    let f = Fixture::new();
    f.policy("");
    let built = build(&f.bundle(), &[Spec::signed(SOURCE, "1.0", &f.key)], None);
    let p = blob(&f.bundle(), &built[0].layers[1]);
    let mut bytes = fs::read(&p).unwrap();
    bytes[0] ^= 0x01;
    fs::write(&p, bytes).unwrap();
    expect_fail_with(&f, "blob-digest-mismatch");
}

#[test]
fn deleted_blob_is_blob_missing() {
    let f = Fixture::new();
    f.policy("");
    let built = build(&f.bundle(), &[Spec::signed(SOURCE, "1.0", &f.key)], None);
    fs::remove_file(blob(&f.bundle(), &built[0].layers[1])).unwrap();
    expect_fail_with(&f, "blob-missing");
}

#[test]
fn signature_swapped_in_from_another_image_is_signature_digest_mismatch() {
    let f = Fixture::new();
    f.policy("");
    let mut spec = Spec::signed(SOURCE, "1.0", &f.key);
    spec.signed_digest = Some(Digest::sha256_of(b"another image's manifest"));
    build(&f.bundle(), &[spec], None);
    expect_fail_with(&f, "signature-digest-mismatch");
}

/// Error-severity codes, sorted and deduplicated, for exact-set assertions.
fn error_set(report: &Value) -> Vec<String> {
    let mut c = codes(report);
    c.sort();
    c.dedup();
    c
}

#[test]
fn signature_by_a_key_the_verifier_was_not_given_is_signature_invalid_only() {
    let f = Fixture::new();
    f.policy("");
    let other = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let mut spec = Spec::signed(SOURCE, "1.0", &other);
    spec.att_key = Some(&f.key);
    build(&f.bundle(), &[spec], None);
    let r = expect_fail_with(&f, "signature-invalid");
    assert_eq!(error_set(&r), vec!["signature-invalid".to_string()]);
    let text = r.to_string();
    assert!(
        !text.contains("import the signer"),
        "no hint may suggest importing a key: {text}"
    );
}

#[test]
fn signature_by_a_known_key_the_rule_does_not_list_is_signature_untrusted_only() {
    let f = Fixture::new();
    let other = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    fs::write(f.path("other.pub"), other.public_key().to_pem()).unwrap();
    f.policy("");
    // The policy knows `other` (top-level keys) but the rule lists only `release`.
    let p = f.path("policy.yaml");
    let text = fs::read_to_string(&p).unwrap().replace(
        "  release: release.pub\n",
        "  release: release.pub\n  other: other.pub\n",
    );
    fs::write(&p, text).unwrap();
    let mut spec = Spec::signed(SOURCE, "1.0", &other);
    spec.att_key = Some(&f.key);
    build(&f.bundle(), &[spec], None);
    let r = expect_fail_with(&f, "signature-untrusted");
    assert_eq!(error_set(&r), vec!["signature-untrusted".to_string()]);
}

#[test]
fn trusted_and_unknown_signature_in_one_sig_manifest_passes_and_records_the_unknown_one() {
    let f = Fixture::new();
    f.policy("");
    let other = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let mut spec = Spec::signed(SOURCE, "1.0", &f.key);
    spec.extra_sig_keys = vec![&other];
    build(&f.bundle(), &[spec], None);
    let (exit, report, stderr) = f.verify(&[]);
    assert_eq!(exit, 0, "stderr: {stderr}; report: {report:#}");
    let img = &report["images"][0];
    let sigs = img["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 2);
    assert_eq!(sigs.iter().filter(|s| s["verified"] == true).count(), 1);
    let infos: Vec<&Value> = img["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "info")
        .collect();
    assert_eq!(infos.len(), 1, "the unknown signature is recorded: {img:#}");
    assert_eq!(infos[0]["code"], "signature-invalid");
}

#[test]
fn unsigned_image_is_signature_missing() {
    let f = Fixture::new();
    f.policy("");
    let mut spec = Spec::signed(SOURCE, "1.0", &f.key);
    spec.sig_key = None;
    spec.att_key = Some(&f.key);
    build(&f.bundle(), &[spec], None);
    expect_fail_with(&f, "signature-missing");
}

#[test]
fn tampered_signature_payload_is_caught() {
    let f = Fixture::new();
    f.policy("");
    let built = build(&f.bundle(), &[Spec::signed(SOURCE, "1.0", &f.key)], None);
    // Rewrite the payload bytes in place (keeping the file name): integrity and signature both fail.
    let p = blob(&f.bundle(), built[0].sig_payload.as_ref().unwrap());
    let text = fs::read_to_string(&p)
        .unwrap()
        .replace("registry.example", "registry.evil00");
    fs::write(&p, text).unwrap();
    let r = expect_fail_with_codes(&f, &["blob-digest-mismatch", "signature-missing"]);
    assert!(codes(&r).contains(&"signature-missing".to_string()));
}

#[test]
fn signature_for_another_repository_is_signature_identity_mismatch() {
    let f = Fixture::new();
    f.policy("");
    let mut spec = Spec::signed(SOURCE, "1.0", &f.key);
    spec.signed_reference = Some("registry.example/other/app".into());
    build(&f.bundle(), &[spec], None);
    expect_fail_with(&f, "signature-identity-mismatch");
}

#[test]
fn dropped_sbom_is_sbom_missing() {
    let f = Fixture::new();
    f.policy("");
    let mut spec = Spec::signed(SOURCE, "1.0", &f.key);
    spec.sbom_attestation = false;
    build(&f.bundle(), &[spec], None);
    expect_fail_with(&f, "sbom-missing");
}

#[test]
fn unsigned_sbom_attachment_satisfies_sbom_required() {
    let f = Fixture::new();
    f.policy("");
    let mut spec = Spec::signed(SOURCE, "1.0", &f.key);
    spec.sbom_attestation = false;
    spec.sbom_attachment = true;
    build(&f.bundle(), &[spec], None);
    let (exit, r, _) = f.verify(&[]);
    assert_eq!(exit, 0, "{r:#}");
    assert_eq!(r["images"][0]["sboms"][0]["source"], "attachment");
}

#[test]
fn dropped_provenance_is_attestation_missing() {
    let f = Fixture::new();
    f.policy("");
    let mut spec = Spec::signed(SOURCE, "1.0", &f.key);
    spec.provenance = false;
    build(&f.bundle(), &[spec], None);
    expect_fail_with(&f, "attestation-missing");
}

#[test]
fn dropped_platform_is_platform_missing() {
    let f = Fixture::new();
    f.policy("");
    let mut spec = Spec::signed(SOURCE, "1.0", &f.key);
    spec.platforms = vec![("linux", "amd64", None)];
    build(&f.bundle(), &[spec], None);
    expect_fail_with(&f, "platform-missing");
}

#[test]
fn image_no_rule_covers_is_policy_unmatched() {
    let f = Fixture::new();
    f.policy("");
    build(
        &f.bundle(),
        &[Spec::signed("quay.io/elsewhere/app", "1.0", &f.key)],
        None,
    );
    expect_fail_with(&f, "policy-unmatched");
}

#[test]
fn edited_lock_digest_is_lock_invalid() {
    let f = Fixture::new();
    f.policy("");
    build(&f.bundle(), &[Spec::signed(SOURCE, "1.0", &f.key)], None);
    let lock_path = f.bundle().join("airlock.lock.json");
    let mut lock: Value = serde_json::from_slice(&fs::read(&lock_path).unwrap()).unwrap();
    lock["images"][0]["digest"] = Value::String(Digest::sha256_of(b"x").to_string());
    fs::write(&lock_path, serde_json::to_vec_pretty(&lock).unwrap()).unwrap();
    expect_fail_with(&f, "lock-invalid");
}

#[test]
fn edited_signed_lock_is_lock_invalid_with_capture_key() {
    let f = Fixture::new();
    f.policy("");
    build(
        &f.bundle(),
        &[Spec::signed(SOURCE, "1.0", &f.key)],
        Some(&f.key),
    );
    let lock_path = f.bundle().join("airlock.lock.json");
    let text = fs::read_to_string(&lock_path)
        .unwrap()
        .replace("2026-01-01", "2026-01-02");
    fs::write(&lock_path, text).unwrap();
    let (exit, r, _) = f.verify(&["--capture-key", f.path("release.pub").to_str().unwrap()]);
    assert_eq!(exit, 1);
    assert!(
        codes(&r).contains(&"lock-invalid".to_string()),
        "{:?}",
        codes(&r)
    );
}

#[test]
fn pin_to_another_digest_is_pin_mismatch() {
    let f = Fixture::new();
    f.policy("");
    build(&f.bundle(), &[Spec::signed(SOURCE, "1.0", &f.key)], None);
    let pins = f.path("pins.txt");
    fs::write(
        &pins,
        format!("# pins\n{SOURCE}:1.0@{}\n", Digest::sha256_of(b"old")),
    )
    .unwrap();
    let (exit, r, _) = f.verify(&["--pins", pins.to_str().unwrap()]);
    assert_eq!(exit, 1);
    assert!(
        codes(&r).contains(&"pin-mismatch".to_string()),
        "{:?}",
        codes(&r)
    );
}

#[test]
fn missing_index_json_is_layout_invalid() {
    let f = Fixture::new();
    f.policy("");
    build(&f.bundle(), &[Spec::signed(SOURCE, "1.0", &f.key)], None);
    fs::remove_file(f.bundle().join("index.json")).unwrap();
    let r = expect_fail_with(&f, "layout-invalid");
    assert!(r["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("index.json"));
}

#[test]
fn macos_junk_is_layout_invalid() {
    let f = Fixture::new();
    f.policy("");
    build(&f.bundle(), &[Spec::signed(SOURCE, "1.0", &f.key)], None);
    fs::write(f.bundle().join("blobs/sha256/._junk"), b"x").unwrap();
    expect_fail_with(&f, "layout-invalid");
}

#[test]
fn symlinked_blob_is_refused() {
    let f = Fixture::new();
    f.policy("");
    let built = build(&f.bundle(), &[Spec::signed(SOURCE, "1.0", &f.key)], None);
    let p = blob(&f.bundle(), &built[0].layers[1]);
    let outside = f.path("outside-layer");
    fs::rename(&p, &outside).unwrap();
    std::os::unix::fs::symlink(&outside, &p).unwrap();
    expect_fail_with(&f, "layout-invalid");
}

#[test]
fn signatures_none_rule_passes_unsigned_image_but_still_checks_integrity() {
    let f = Fixture::new();
    f.policy("  - match: [\"docker.io/library/**\"]\n    signatures: none\n");
    let mut spec = Spec::signed("docker.io/library/busybox", "1.36", &f.key);
    spec.sig_key = None;
    spec.provenance = false;
    spec.sbom_attestation = false;
    let built = build(&f.bundle(), &[spec], None);
    let (exit, r, _) = f.verify(&[]);
    assert_eq!(exit, 0, "{r:#}");
    fs::remove_file(blob(&f.bundle(), &built[0].layers[0])).unwrap();
    expect_fail_with(&f, "blob-missing");
}

#[test]
fn bad_policy_is_exit_2_with_line_and_column() {
    let f = Fixture::new();
    build(&f.bundle(), &[Spec::signed(SOURCE, "1.0", &f.key)], None);
    fs::write(
        f.path("policy.yaml"),
        "apiVersion: airlock/v1\nkind: Policy\nrulez: []\n",
    )
    .unwrap();
    let (exit, _, stderr) = f.verify(&[]);
    assert_eq!(exit, 2);
    assert!(stderr.contains("3:1") || stderr.contains(":3:"), "{stderr}");
}

#[test]
fn missing_bundle_directory_fails_closed() {
    let f = Fixture::new();
    f.policy("");
    let (exit, r, _) = f.verify(&[]);
    assert_eq!(exit, 1);
    assert!(codes(&r).contains(&"layout-invalid".to_string()));
}

#[test]
fn empty_bundle_never_passes() {
    let f = Fixture::new();
    f.policy("");
    build(&f.bundle(), &[], None);
    let (exit, _, _) = f.verify(&[]);
    assert_eq!(exit, 1);
}

#[test]
fn uppercase_digest_in_index_json_is_layout_invalid_not_a_panic() {
    let f = Fixture::new();
    f.policy("");
    let built = build(&f.bundle(), &[Spec::signed(SOURCE, "1.0", &f.key)], None);
    let p = f.bundle().join("index.json");
    let text = fs::read_to_string(&p)
        .unwrap()
        .replace(built[0].digest.hex(), &built[0].digest.hex().to_uppercase());
    fs::write(&p, text).unwrap();
    let r = expect_fail_with(&f, "layout-invalid");
    let msg = r["findings"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("index.json") && msg.contains("lowercase"),
        "{msg}"
    );
}

#[test]
fn traversal_in_a_descriptor_digest_is_rejected_and_nothing_outside_is_read() {
    let f = Fixture::new();
    f.policy("");
    let built = build(&f.bundle(), &[Spec::signed(SOURCE, "1.0", &f.key)], None);
    let p = f.bundle().join("index.json");
    let text = fs::read_to_string(&p)
        .unwrap()
        .replace(&built[0].digest.to_string(), "sha256:../../../etc/passwd");
    fs::write(&p, text).unwrap();
    let r = expect_fail_with(&f, "layout-invalid");
    assert!(r["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("index.json"));
}

#[test]
fn fifty_megabyte_manifest_is_limit_exceeded_naming_it() {
    let f = Fixture::new();
    f.policy("");
    let built = build(&f.bundle(), &[Spec::signed(SOURCE, "1.0", &f.key)], None);
    // Replace the index manifest with 50 MB of JSON under its own (new) digest, and point
    // index.json at it.
    let big = format!(
        "{{\"schemaVersion\":2,\"manifests\":[],\"annotations\":{{\"pad\":\"{}\"}}}}",
        "x".repeat(50 * 1024 * 1024)
    );
    let d = Digest::sha256_of(big.as_bytes());
    fs::write(blob(&f.bundle(), &d), big.as_bytes()).unwrap();
    let p = f.bundle().join("index.json");
    let text = fs::read_to_string(&p)
        .unwrap()
        .replace(&built[0].digest.to_string(), &d.to_string())
        .replace(
            &format!("\"size\": {}", built[0].size),
            &format!("\"size\": {}", big.len()),
        );
    fs::write(&p, text).unwrap();
    let r = expect_fail_with_codes(&f, &["limit-exceeded", "lock-invalid"]);
    let msg = serde_json::to_string(&r).unwrap();
    assert!(
        msg.contains(&d.to_string()),
        "the finding names the manifest"
    );
}

#[test]
fn truncated_index_json_is_layout_invalid() {
    let f = Fixture::new();
    f.policy("");
    build(&f.bundle(), &[Spec::signed(SOURCE, "1.0", &f.key)], None);
    let p = f.bundle().join("index.json");
    let bytes = fs::read(&p).unwrap();
    fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    expect_fail_with(&f, "layout-invalid");
}

#[test]
fn unverifiable_extra_attestation_is_a_warning_when_the_rule_requires_none() {
    let f = Fixture::new();
    f.policy(
        "  - match: [\"registry.example/team/sigonly\"]\n    signatures:\n      keys: [release]\n",
    );
    let vendor = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let mut spec = Spec::signed("registry.example/team/sigonly", "1.0", &f.key);
    spec.att_key = Some(&vendor);
    build(&f.bundle(), &[spec], None);
    let (exit, r, _) = f.verify(&[]);
    assert_eq!(exit, 0, "{r:#}");
    let warned: Vec<&str> = r["images"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(warned.contains(&"attestation-invalid"), "{warned:?}");
}

#[test]
fn attestation_by_an_untrusted_key_is_attestation_invalid_when_required() {
    let f = Fixture::new();
    f.policy("");
    let vendor = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let mut spec = Spec::signed(SOURCE, "1.0", &f.key);
    spec.att_key = Some(&vendor);
    build(&f.bundle(), &[spec], None);
    let r = expect_fail_with_codes(
        &f,
        &["attestation-invalid", "attestation-missing", "sbom-missing"],
    );
    assert!(codes(&r).contains(&"attestation-missing".to_string()));
}

/// As `skopeo copy docker://… oci:DIR:app:1.0` names it: a bare ref name, and no lock.
fn skopeo_style(f: &Fixture, signed_reference: Option<&str>) {
    f.policy("  - match: [\"**\"]\n    signatures:\n      keys: [release]\n");
    let mut spec = Spec::signed(SOURCE, "1.0", &f.key);
    spec.signed_reference = signed_reference.map(str::to_string);
    build(&f.bundle(), &[spec], None);
    let p = f.bundle().join("index.json");
    let text = fs::read_to_string(&p)
        .unwrap()
        .replace(&format!("\"{SOURCE}:1.0\""), "\"app:1.0\"");
    fs::write(&p, text).unwrap();
    fs::remove_file(f.bundle().join("airlock.lock.json")).unwrap();
}

#[test]
fn skopeo_style_bare_ref_names_without_a_source_fail_with_identity_mismatch() {
    let f = Fixture::new();
    skopeo_style(&f, None);
    let r = expect_fail_with(&f, "signature-identity-mismatch");
    assert_eq!(
        error_set(&r),
        vec!["signature-identity-mismatch".to_string()]
    );
    assert_eq!(r["images"][0]["ref"], "app:1.0");
}

#[test]
fn skopeo_style_bare_ref_names_pass_with_the_right_source_prefix() {
    let f = Fixture::new();
    skopeo_style(&f, None);
    let (exit, r, stderr) = f.verify(&["--source-prefix", SOURCE]);
    assert_eq!(exit, 0, "{r:#} {stderr}");
    assert_eq!(r["images"][0]["signatures"][0]["verified"], true);
}

#[test]
fn skopeo_style_signature_for_another_repository_fails_even_with_a_source_prefix() {
    let f = Fixture::new();
    skopeo_style(&f, Some("registry.example/other/app"));
    expect_fail_with(&f, "signature-identity-mismatch");
    let (exit, r, _) = f.verify(&["--source-prefix", SOURCE]);
    assert_eq!(exit, 1, "{r:#}");
    assert_eq!(
        error_set(&r),
        vec!["signature-identity-mismatch".to_string()]
    );
}

#[test]
fn lock_written_by_another_tool_that_disagrees_on_the_digest_is_lock_invalid() {
    let f = Fixture::new();
    f.policy("");
    build(&f.bundle(), &[Spec::signed(SOURCE, "1.0", &f.key)], None);
    let lock = format!(
        r#"{{"version": 3, "images": [{{"reference": "{SOURCE}:1.0", "manifestDigest": "{}"}}]}}"#,
        Digest::sha256_of(b"elsewhere")
    );
    fs::write(f.bundle().join("airlock.lock.json"), lock).unwrap();
    expect_fail_with(&f, "lock-invalid");
}

#[test]
fn cosign_save_style_kind_annotations_route_signatures_and_attestations() {
    let f = Fixture::new();
    f.policy("");
    build(&f.bundle(), &[Spec::signed(SOURCE, "1.0", &f.key)], None);
    // `cosign save` marks attachments with a `kind` annotation instead of a tag name.
    let p = f.bundle().join("index.json");
    let mut idx: Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
    for m in idx["manifests"].as_array_mut().unwrap() {
        let name = m["annotations"]["org.opencontainers.image.ref.name"]
            .as_str()
            .unwrap()
            .to_string();
        let kind = if name.ends_with(".sig") {
            "dev.cosignproject.cosign/sigs"
        } else if name.ends_with(".att") {
            "dev.cosignproject.cosign/atts"
        } else {
            continue;
        };
        m["annotations"] = serde_json::json!({"kind": kind});
    }
    fs::write(&p, serde_json::to_vec(&idx).unwrap()).unwrap();
    let (exit, r, _) = f.verify(&[]);
    assert_eq!(exit, 0, "{r:#}");
    assert_eq!(r["images"][0]["signatures"][0]["verified"], true);
}

// --- The lock is the bundle's manifest (red-team cases) ---

fn capture_key_args(f: &Fixture) -> Vec<String> {
    vec![
        "--capture-key".into(),
        f.path("release.pub").display().to_string(),
    ]
}

fn verify_with(f: &Fixture, extra: &[String]) -> (i32, Value, String) {
    let v: Vec<&str> = extra.iter().map(String::as_str).collect();
    f.verify(&v)
}

#[test]
fn deleted_lock_under_capture_key_is_lock_invalid_exit_1() {
    let f = Fixture::new();
    f.policy("");
    build(
        &f.bundle(),
        &[Spec::signed(SOURCE, "1.0", &f.key)],
        Some(&f.key),
    );
    fs::remove_file(f.bundle().join("airlock.lock.json")).unwrap();
    let (exit, r, _) = verify_with(&f, &capture_key_args(&f));
    assert_eq!(exit, 1, "{r:#}");
    assert_eq!(error_set(&r), vec!["lock-invalid".to_string()]);
    // Without a key the deletion is still seen: the signed lock is there, the lock is not.
    let (exit, r, _) = f.verify(&[]);
    assert_eq!(exit, 1, "{r:#}");
    assert!(codes(&r).contains(&"lock-invalid".to_string()));
}

#[test]
fn lock_renaming_the_repository_is_lock_invalid_exit_1() {
    let f = Fixture::new();
    f.policy("");
    build(&f.bundle(), &[Spec::signed(SOURCE, "1.0", &f.key)], None);
    let lock_path = f.bundle().join("airlock.lock.json");
    let mut lock: Value = serde_json::from_slice(&fs::read(&lock_path).unwrap()).unwrap();
    lock["images"][0]["repository"] = Value::String("registry.example/sandbox/app".into());
    fs::write(&lock_path, serde_json::to_vec_pretty(&lock).unwrap()).unwrap();
    let r = expect_fail_with(&f, "lock-invalid");
    // The rule is still chosen by the reference's own repository.
    assert!(r["images"][0]["rule"]
        .as_str()
        .unwrap_or("")
        .contains("registry.example/team/**"));
}

#[test]
fn edited_unsigned_lock_hiding_a_missing_platform_fails_with_platform_missing() {
    let f = Fixture::new();
    // A rule that lists no platforms: the lock's word is all that could waive the child.
    f.policy("  - match: [\"registry.example/team/**\"]\n    signatures:\n      keys: [release]\n");
    let built = build(&f.bundle(), &[Spec::signed(SOURCE, "1.0", &f.key)], None);
    let child = built[0].children[1].1.clone();
    fs::remove_file(blob(&f.bundle(), &child)).unwrap();
    let lock_path = f.bundle().join("airlock.lock.json");
    let mut lock: Value = serde_json::from_slice(&fs::read(&lock_path).unwrap()).unwrap();
    for p in lock["images"][0]["platforms"].as_array_mut().unwrap() {
        if p["digest"] == child.to_string().as_str() {
            p["captured"] = Value::Bool(false);
        }
    }
    fs::write(&lock_path, serde_json::to_vec_pretty(&lock).unwrap()).unwrap();
    let r = expect_fail_with(&f, "platform-missing");
    assert_eq!(error_set(&r), vec!["platform-missing".to_string()]);
}

/// Two images built, the lock (and its signature) rewritten to list only the first: the second
/// was added after capture (blobs + index.json entry).
fn bundle_with_an_added_image(f: &Fixture, signed: bool) {
    let mut second = Spec::signed(SOURCE, "2.0", &f.key);
    second.salt = "added later".into();
    build(
        &f.bundle(),
        &[Spec::signed(SOURCE, "1.0", &f.key), second],
        None,
    );
    let lock_path = f.bundle().join("airlock.lock.json");
    let mut lock = airlock::lock::Lock::parse(&fs::read(&lock_path).unwrap()).unwrap();
    lock.images.retain(|i| i.r#ref.ends_with(":1.0"));
    let bytes = lock.to_json();
    fs::write(&lock_path, &bytes).unwrap();
    if signed {
        let env =
            airlock::sign::sign_envelope(airlock::lock::LOCK_PAYLOAD_TYPE, &bytes, &f.key).unwrap();
        fs::write(f.bundle().join("airlock.lock.dsse.json"), env).unwrap();
    }
}

#[test]
fn image_added_after_capture_is_lock_unlisted_without_a_key() {
    let f = Fixture::new();
    f.policy("");
    bundle_with_an_added_image(&f, false);
    let r = expect_fail_with(&f, "lock-unlisted");
    assert_eq!(error_set(&r), vec!["lock-unlisted".to_string()], "{r:#}");
}

#[test]
fn image_added_after_capture_is_lock_unlisted_with_the_capture_key() {
    let f = Fixture::new();
    f.policy("");
    bundle_with_an_added_image(&f, true);
    let (exit, r, _) = verify_with(&f, &capture_key_args(&f));
    assert_eq!(exit, 1, "{r:#}");
    assert_eq!(error_set(&r), vec!["lock-unlisted".to_string()]);
}

#[test]
fn policy_lock_signers_reject_an_edited_lock_and_accept_the_signed_one() {
    let f = Fixture::new();
    f.policy("");
    let p = f.path("policy.yaml");
    let text = fs::read_to_string(&p).unwrap();
    fs::write(&p, format!("{text}lock:\n  signers: [release]\n")).unwrap();
    build(
        &f.bundle(),
        &[Spec::signed(SOURCE, "1.0", &f.key)],
        Some(&f.key),
    );
    let (exit, r, _) = f.verify(&[]);
    assert_eq!(exit, 0, "{r:#}");
    assert!(
        r["inputs"]["lockSignedBy"].is_string() || r["inputs"]["lock_signed_by"].is_string(),
        "{r:#}"
    );
    let lock_path = f.bundle().join("airlock.lock.json");
    let text = fs::read_to_string(&lock_path)
        .unwrap()
        .replace("2026-01-01", "2026-01-02");
    fs::write(&lock_path, text).unwrap();
    let r = expect_fail_with(&f, "lock-invalid");
    assert_eq!(error_set(&r), vec!["lock-invalid".to_string()]);
}

#[test]
fn signed_lock_without_any_key_to_check_it_is_a_lock_unverified_warning() {
    let f = Fixture::new();
    f.policy("");
    build(
        &f.bundle(),
        &[Spec::signed(SOURCE, "1.0", &f.key)],
        Some(&f.key),
    );
    let (exit, r, _) = f.verify(&[]);
    assert_eq!(exit, 0, "{r:#}");
    let warned: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["code"] == "lock-unverified")
        .collect();
    assert_eq!(warned.len(), 1, "{r:#}");
    assert_eq!(warned[0]["severity"], "warning");
}

#[test]
fn garbage_lock_signature_file_is_lock_invalid_even_without_a_key() {
    let f = Fixture::new();
    f.policy("");
    build(&f.bundle(), &[Spec::signed(SOURCE, "1.0", &f.key)], None);
    fs::write(
        f.bundle().join("airlock.lock.dsse.json"),
        b"not an envelope",
    )
    .unwrap();
    let r = expect_fail_with(&f, "lock-invalid");
    assert_eq!(error_set(&r), vec!["lock-invalid".to_string()]);
}

#[test]
fn single_platform_image_not_among_the_rule_platforms_is_platform_missing_and_one_that_is_gets_no_finding(
) {
    let f = Fixture::new();
    f.policy("");
    let mut spec = Spec::signed(SOURCE, "1.0", &f.key);
    spec.platforms = vec![];
    build(&f.bundle(), &[spec], None);
    // The builder's single-platform image is linux/amd64: listed by the default rule.
    let (exit, r, _) = f.verify(&[]);
    assert_eq!(exit, 0, "{r:#}");
    assert!(
        r["images"][0]["findings"].as_array().unwrap().is_empty(),
        "{r:#}"
    );
    // A rule that lists only arm64.
    let p = f.path("policy.yaml");
    let text = fs::read_to_string(&p).unwrap().replace(
        "platforms: [linux/amd64, linux/arm64]",
        "platforms: [linux/arm64]",
    );
    fs::write(&p, text).unwrap();
    let r = expect_fail_with(&f, "platform-missing");
    assert_eq!(error_set(&r), vec!["platform-missing".to_string()]);
}

//! capture → verify where an image's signature and attestation exist only as cosign-v3-style
//! Sigstore bundle referrers (`application/vnd.dev.sigstore.bundle.v0.3+json`, DSSE in-toto
//! statement, `publicKey.hint`), pushed to the real `docker-registry` through the OCI 1.1
//! tag-schema fallback (distribution 2.8 has no referrers API). No `.sig`/`.att` tags exist.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
mod common;

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use common::content::b64;
use common::fixtures::*;
use common::keys::TestKey;
use common::registry::{Flavour, Registry};
use serde_json::{json, Value};

const REPO: &str = "team/app";
const BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const COSIGN_SIGN: &str = "https://sigstore.dev/cosign/sign/v1";
const SLSA_V1: &str = "https://slsa.dev/provenance/v1";

/// A v0.3 bundle, key-signed the way cosign v3 signs with `--key`: DSSE over an in-toto
/// Statement v1 naming `subject_digest`, `publicKey.hint` = base64(SHA-256(SPKI)).
fn key_bundle(key: &TestKey, subject_digest: &str, predicate_type: &str) -> Vec<u8> {
    let statement = serde_json::to_vec(&json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "", "digest": {"sha256": subject_digest.trim_start_matches("sha256:")}}],
        "predicateType": predicate_type,
        "predicate": if predicate_type == COSIGN_SIGN { json!({}) } else {
            json!({"buildDefinition": {"buildType": "https://example.com/build", "externalParameters": {}},
                   "runDetails": {"builder": {"id": "https://example.com/builder"}}})
        },
    }))
    .unwrap();
    let payload_type = "application/vnd.in-toto+json";
    let sig = key.sign(&pae(payload_type, &statement));
    let hint = b64(ring::digest::digest(&ring::digest::SHA256, &key.public_key_der()).as_ref());
    serde_json::to_vec(&json!({
        "mediaType": BUNDLE_V03,
        "verificationMaterial": {"publicKey": {"hint": hint}, "tlogEntries": []},
        "dsseEnvelope": {
            "payload": b64(&statement),
            "payloadType": payload_type,
            "signatures": [{"sig": b64(&sig), "keyid": ""}],
        },
    }))
    .unwrap()
}

fn push_bundle(reg: &Registry, subject: &Pushed, bundle: &[u8], predicate_type: &str) {
    reg.fixtures().referrer(
        REPO,
        &subject.descriptor(),
        BUNDLE_V03,
        BUNDLE_V03,
        bundle,
        &[
            ("dev.sigstore.bundle.content", "dsse-envelope"),
            ("dev.sigstore.bundle.predicateType", predicate_type),
            ("org.opencontainers.image.created", "2026-01-01T00:00:00Z"),
        ],
    );
}

fn policy(dir: &Path, key: &TestKey, reg: &Registry) -> std::path::PathBuf {
    fs::write(dir.join("release.pub"), key.public_key_pem()).unwrap();
    let p = dir.join("policy.yaml");
    fs::write(
        &p,
        format!(
            "apiVersion: airlock/v1\nkind: Policy\nkeys:\n  release: release.pub\nrules:\n  - match: [\"{host}/team/**\"]\n    signatures:\n      keys: [release]\n    attestations:\n      - predicateType: {SLSA_V1}\n        keys: [release]\n",
            host = reg.host
        ),
    )
    .unwrap();
    p
}

/// Run `airlock` with every proxy variable pointing at a closed local port.
fn airlock_offline() -> Command {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let proxy = format!("http://127.0.0.1:{port}");
    let mut c = Command::cargo_bin("airlock").unwrap();
    for v in [
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "ALL_PROXY",
        "https_proxy",
        "http_proxy",
        "all_proxy",
    ] {
        c.env(v, &proxy);
    }
    c.env("NO_PROXY", "").env("no_proxy", "");
    c
}

fn report(stdout: &[u8]) -> Value {
    serde_json::from_slice(stdout).unwrap_or(Value::Null)
}

fn codes(rep: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for i in rep["images"].as_array().into_iter().flatten() {
        for f in i["findings"].as_array().into_iter().flatten() {
            out.push(f["code"].as_str().unwrap_or("").to_string());
        }
    }
    out
}

fn capture_and_verify(reg: &Registry, key: &TestKey, tag: &str) -> (Value, Option<i32>) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    let c = Command::cargo_bin("airlock")
        .unwrap()
        .envs(reg.airlock_env())
        .arg("capture")
        .arg(reg.image_ref(REPO, tag))
        .arg("-o")
        .arg(&out)
        .args(reg.cli_flags())
        .output()
        .unwrap();
    assert_eq!(
        c.status.code(),
        Some(0),
        "capture: {}",
        String::from_utf8_lossy(&c.stderr)
    );
    let p = policy(tmp.path(), key, reg);
    let v = airlock_offline()
        .arg("verify")
        .arg(&out)
        .arg("--policy")
        .arg(&p)
        .args(["--format", "json"])
        .output()
        .unwrap();
    (report(&v.stdout), v.status.code())
}

#[test]
fn signature_and_attestation_only_as_bundle_referrers_capture_and_verify() {
    let reg = Registry::start(Flavour::Plain);
    let key = TestKey::generate();
    let img = reg.fixtures().image(REPO, "v1", &[b"app layer".to_vec()]);
    push_bundle(
        &reg,
        &img,
        &key_bundle(&key, &img.digest, COSIGN_SIGN),
        COSIGN_SIGN,
    );
    push_bundle(&reg, &img, &key_bundle(&key, &img.digest, SLSA_V1), SLSA_V1);
    // Nothing under the legacy cosign tags: only the referrers fallback index.
    let tags = reg.pusher().tags(REPO);
    assert!(
        !tags
            .iter()
            .any(|t| t.ends_with(".sig") || t.ends_with(".att")),
        "{tags:?}"
    );
    assert!(tags.contains(&referrers_tag(&img.digest)), "{tags:?}");

    let (rep, code) = capture_and_verify(&reg, &key, "v1");
    assert_eq!(code, Some(0), "{rep:#}");
    let image = &rep["images"][0];
    let sigs = image["signatures"].as_array().unwrap();
    assert!(
        sigs.iter()
            .any(|s| s["format"] == "sigstore-bundle" && s["verified"] == true),
        "{sigs:?}"
    );
    let atts = image["attestations"].as_array().unwrap();
    assert!(
        atts.iter()
            .any(|a| a["predicate_type"] == SLSA_V1 || a["predicateType"] == SLSA_V1),
        "{atts:?}"
    );
}

#[test]
fn bundle_referrers_from_another_key_do_not_count() {
    let reg = Registry::start(Flavour::Plain);
    let key = TestKey::generate();
    let other = TestKey::generate();
    let img = reg.fixtures().image(REPO, "v2", &[b"other layer".to_vec()]);
    push_bundle(
        &reg,
        &img,
        &key_bundle(&other, &img.digest, COSIGN_SIGN),
        COSIGN_SIGN,
    );
    push_bundle(
        &reg,
        &img,
        &key_bundle(&other, &img.digest, SLSA_V1),
        SLSA_V1,
    );
    let (rep, code) = capture_and_verify(&reg, &key, "v2");
    assert_eq!(code, Some(1), "{rep:#}");
    let c = codes(&rep);
    // The referrer is a candidate that does not verify with any key airlock was given: it is the
    // most specific reason the signature requirement is unmet.
    assert!(c.contains(&"signature-invalid".to_string()), "{c:?}");
    assert!(!c.contains(&"signature-untrusted".to_string()), "{c:?}");
    assert!(c.contains(&"attestation-missing".to_string()), "{c:?}");
}

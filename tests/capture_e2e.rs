//! capture against the real `docker-registry` (plain, TLS + basic auth, token auth), then verify.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
mod common;

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::cut::{CutProxy, Direction};
use common::fixtures::*;
use common::keys::TestKey;
use common::registry::{Flavour, Registry};
use common::scenarios::publish_full;
use serde_json::Value;

const REPO: &str = "team/app";

fn policy(dir: &Path, key: &TestKey, reg: &Registry) -> PathBuf {
    fs::write(dir.join("release.pub"), key.public_key_pem()).unwrap();
    let p = dir.join("policy.yaml");
    fs::write(
        &p,
        format!(
            "apiVersion: airlock/v1\nkind: Policy\nkeys:\n  release: release.pub\nrules:\n  - match: [\"{host}/charts/**\"]\n    signatures: none\n  - match: [\"{host}/team/**\"]\n    signatures:\n      keys: [release]\n    attestations:\n      - predicateType: https://slsa.dev/provenance/v1\n        keys: [release]\n    sbom: required\n    platforms: [linux/amd64, linux/arm64]\n",
            host = reg.host
        ),
    )
    .unwrap();
    p
}

fn report_codes(stdout: &[u8]) -> Vec<String> {
    let v: Value = serde_json::from_slice(stdout).unwrap_or(Value::Null);
    let mut out = Vec::new();
    for f in v["findings"].as_array().into_iter().flatten() {
        out.push(f["code"].as_str().unwrap_or("").to_string());
    }
    for i in v["images"].as_array().into_iter().flatten() {
        for f in i["findings"].as_array().into_iter().flatten() {
            out.push(f["code"].as_str().unwrap_or("").to_string());
        }
    }
    out
}

fn lock(out: &Path) -> Value {
    serde_json::from_slice(&fs::read(out.join("airlock.lock.json")).unwrap()).unwrap()
}

#[test]
fn plain_registry_capture_keeps_every_platform_signature_attestation_sbom_and_referrer() {
    let reg = Registry::start(Flavour::Plain);
    let key = TestKey::generate();
    let idx = publish_full(&reg, &key, REPO, "v1");
    let chart = reg.fixtures().helm_chart("charts/app", "1.2.3");
    let by_digest = reg
        .fixtures()
        .image("team/tool", "", &[b"tool layer".to_vec()]);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    let refs = vec![
        reg.image_ref(REPO, "v1"),
        format!("oci://{}", reg.image_ref("charts/app", "1.2.3")),
        format!("{}@{}", reg.repo_ref("team/tool"), by_digest.digest),
    ];
    let o = reg.capture(&refs, &out, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let l = lock(&out);
    let img = &l["images"][0];
    assert_eq!(img["digest"], idx.digest);
    assert_eq!(img["platforms"].as_array().unwrap().len(), 2);
    let kinds: Vec<(String, String)> = img["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_string(),
                a["subject"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("sig".into(), idx.digest.clone())),
        "{kinds:?}"
    );
    for (_, child) in &idx.children {
        assert!(
            kinds.contains(&("sig".into(), child.clone())),
            "child signature missing: {kinds:?}"
        );
    }
    assert!(kinds.contains(&("att".into(), idx.digest.clone())));
    assert!(kinds.contains(&("sbom".into(), idx.digest.clone())));
    assert!(
        kinds.contains(&("referrer".into(), idx.digest.clone())),
        "{kinds:?}"
    );
    assert!(kinds.contains(&("referrers-index".into(), idx.digest.clone())));
    assert_eq!(l["images"][1]["digest"], chart.digest);
    assert_eq!(l["images"][2]["digest"], by_digest.digest);

    // skopeo reads every captured image from the layout.
    for r in &refs {
        let name = r.strip_prefix("oci://").unwrap_or(r);
        let s = std::process::Command::new("skopeo")
            .args(["inspect", "--raw"])
            .arg(format!("oci:{}:{name}", out.display()))
            .output()
            .unwrap();
        assert!(
            s.status.success(),
            "skopeo inspect oci:{name}: {}",
            String::from_utf8_lossy(&s.stderr)
        );
        assert_eq!(
            airlock::oci::Digest::sha256_of(&s.stdout).to_string(),
            lock_digest(&l, name)
        );
    }

    // And the bundle verifies offline against the policy.
    let p = policy(tmp.path(), &key, &reg);
    let v = Command::cargo_bin("airlock")
        .unwrap()
        .arg("verify")
        .arg(&out)
        .arg("--policy")
        .arg(&p)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let codes = report_codes(&v.stdout);
    // team/tool has no signature: the only expected failures are about it.
    let rep: Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(
        rep["images"][0]["result"],
        "pass",
        "{codes:?} {}",
        String::from_utf8_lossy(&v.stdout)
    );
    assert_eq!(rep["images"][1]["result"], "pass", "{codes:?}");
    assert_eq!(rep["images"][2]["result"], "fail");
    assert_eq!(v.status.code(), Some(1));
    assert_eq!(
        rep["images"][0]["sboms"].as_array().unwrap().len(),
        2,
        "SPDX attestation + CycloneDX attachment"
    );

    // inspect shows the tree.
    let t = Command::cargo_bin("airlock")
        .unwrap()
        .arg("inspect")
        .arg(&out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&t.stdout);
    assert!(
        text.contains("linux/arm64/v8") && text.contains(".sig") && text.contains("referrer"),
        "{text}"
    );
}

fn lock_digest(l: &Value, given: &str) -> String {
    l["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["ref"] == given)
        .map(|i| i["digest"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

#[test]
fn capture_with_policy_verifies_right_away_and_passes() {
    let reg = Registry::start(Flavour::Plain);
    let key = TestKey::generate();
    publish_full(&reg, &key, REPO, "v1");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    let p = policy(tmp.path(), &key, &reg);
    let o = reg.capture(
        &[reg.image_ref(REPO, "v1")],
        &out,
        &["--policy", p.to_str().unwrap()],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn capture_with_policy_finds_a_missing_signature_before_the_trip() {
    let reg = Registry::start(Flavour::Plain);
    let key = TestKey::generate();
    reg.fixtures().multi_arch(
        REPO,
        "v1",
        &[("linux", "amd64", None), ("linux", "arm64", None)],
        1024,
    );
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    let p = policy(tmp.path(), &key, &reg);
    let o = reg.capture(
        &[reg.image_ref(REPO, "v1")],
        &out,
        &["--policy", p.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(report_codes(&o.stdout).contains(&"signature-missing".to_string()));
}

#[test]
fn tls_basic_auth_capture_works_with_ca_file_and_auth_file() {
    let reg = Registry::start(Flavour::TlsBasicAuth);
    let key = TestKey::generate();
    let idx = publish_full(&reg, &key, REPO, "v1");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    let o = reg.capture(&[reg.image_ref(REPO, "v1")], &out, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(lock(&out)["images"][0]["digest"], idx.digest);
}

#[test]
fn tls_without_the_ca_is_a_clear_exit_2() {
    let reg = Registry::start(Flavour::Tls);
    reg.fixtures().image(REPO, "v1", &[b"x".to_vec()]);
    let tmp = tempfile::tempdir().unwrap();
    let o = reg
        .airlock()
        .args(["capture", &reg.image_ref(REPO, "v1"), "-o"])
        .arg(tmp.path().join("b"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--ca-file"), "{err}");
}

#[test]
fn token_auth_capture_works() {
    let reg = Registry::start(Flavour::Token);
    let key = TestKey::generate();
    let idx = publish_full(&reg, &key, REPO, "v1");
    let before = reg.token_issuer().unwrap().issued_count();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    let o = reg.capture(&[reg.image_ref(REPO, "v1")], &out, &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(lock(&out)["images"][0]["digest"], idx.digest);
    assert!(
        reg.token_issuer().unwrap().issued_count() > before,
        "airlock must have fetched a token"
    );
}

#[test]
fn wrong_credentials_are_exit_2_naming_the_auth_file() {
    let reg = Registry::start(Flavour::TlsBasicAuth);
    reg.fixtures().image(REPO, "v1", &[b"x".to_vec()]);
    let tmp = tempfile::tempdir().unwrap();
    let auth = tmp.path().join("auth.json");
    fs::write(
        &auth,
        format!(
            r#"{{"auths":{{"{}":{{"auth":"dXNlcjp3cm9uZw=="}}}}}}"#,
            reg.host
        ),
    )
    .unwrap();
    let o = Command::cargo_bin("airlock")
        .unwrap()
        .env("REGISTRY_AUTH_FILE", &auth)
        .args(["capture", &reg.image_ref(REPO, "v1"), "-o"])
        .arg(tmp.path().join("b"))
        .args(reg.cli_flags())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("authentication failed"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn moved_tag_against_pins_is_pin_mismatch() {
    let reg = Registry::start(Flavour::Plain);
    let first = reg.fixtures().image(REPO, "v1", &[b"first".to_vec()]);
    reg.fixtures().image(REPO, "v1", &[b"second".to_vec()]); // the tag moves
    let tmp = tempfile::tempdir().unwrap();
    let pins = tmp.path().join("pins.txt");
    fs::write(
        &pins,
        format!(
            "# release pins\n{}@{}\n",
            reg.image_ref(REPO, "v1"),
            first.digest
        ),
    )
    .unwrap();
    let o = reg.capture(
        &[reg.image_ref(REPO, "v1")],
        &tmp.path().join("b"),
        &["--pins", pins.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("pin-mismatch"), "{err}");
}

#[test]
fn unknown_host_is_a_clear_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::cargo_bin("airlock")
        .unwrap()
        .env("REGISTRY_AUTH_FILE", tmp.path().join("none.json"))
        .args(["capture", "no-such-host.invalid/team/app:v1", "-o"])
        .arg(tmp.path().join("b"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no-such-host.invalid") && err.contains("cannot connect"),
        "{err}"
    );
}

#[test]
fn missing_tag_is_image_missing_exit_1() {
    let reg = Registry::start(Flavour::Plain);
    reg.fixtures().image(REPO, "v1", &[b"x".to_vec()]);
    let tmp = tempfile::tempdir().unwrap();
    let o = reg.capture(&[reg.image_ref(REPO, "nope")], &tmp.path().join("b"), &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("image-missing"));
}

#[test]
fn registry_serving_wrong_blob_bytes_is_blob_digest_mismatch_and_nothing_is_stored() {
    let reg = Registry::start(Flavour::Plain);
    let img = reg
        .fixtures()
        .image(REPO, "v1", &[b"honest layer bytes".to_vec()]);
    let layer = img.layer_digests[0].clone();
    let path = reg.blob_data_path(&layer);
    fs::write(&path, b"the registry lies about these").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("b");
    let o = reg.capture(&[reg.image_ref(REPO, "v1")], &out, &[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("blob-digest-mismatch"));
    assert!(!out
        .join("blobs/sha256")
        .join(layer.trim_start_matches("sha256:"))
        .exists());
}

/// A one-trick HTTP server: answers every manifest GET with `body` (distribution itself refuses
/// to store or serve manifests over 4 MiB, so a hostile registry is simulated here).
fn hostile_registry(body: Vec<u8>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(32) {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            if !req.starts_with("HEAD") {
                let _ = s.write_all(&body);
            }
        }
    });
    host
}

#[test]
fn oversized_manifest_is_limit_exceeded_exit_1_and_the_lock_records_it() {
    let pad = "x".repeat(5 * 1024 * 1024);
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"{OCI_CONFIG}","digest":"{OCI_EMPTY_DIGEST}","size":2}},"layers":[],"annotations":{{"pad":"{pad}"}}}}"#
    );
    let host = hostile_registry(body.into_bytes());
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::cargo_bin("airlock")
        .unwrap()
        .env("REGISTRY_AUTH_FILE", tmp.path().join("none.json"))
        .args(["capture", &format!("{host}/team/app:big"), "-o"])
        .arg(tmp.path().join("b"))
        .args(["--insecure-registry", &host])
        .output()
        .unwrap();
    // Content the registry served, not a failure to run: a finding, exit 1, and a lock.
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("limit-exceeded"), "{err}");
    let l = lock(&tmp.path().join("b"));
    assert_eq!(l["missing"][0]["code"], "limit-exceeded");
}

#[test]
fn referrers_index_with_ten_thousand_entries_is_limit_exceeded() {
    let reg = Registry::start(Flavour::Plain);
    let img = reg.fixtures().image(REPO, "v1", &[b"x".to_vec()]);
    let entry = serde_json::json!({"mediaType": OCI_MANIFEST, "digest": img.digest, "size": img.size, "artifactType": "application/x"});
    let idx = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": vec![entry; 10_000]});
    reg.pusher().put_manifest(
        REPO,
        &referrers_tag(&img.digest),
        OCI_INDEX,
        &serde_json::to_vec(&idx).unwrap(),
    );
    let tmp = tempfile::tempdir().unwrap();
    let o = reg.capture(&[reg.image_ref(REPO, "v1")], &tmp.path().join("b"), &[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("limit-exceeded"));
}

#[test]
fn connection_cut_mid_capture_is_exit_2_and_rerun_skips_complete_blobs() {
    let reg = Registry::start(Flavour::Plain);
    let fx = reg.fixtures();
    let proxy = CutProxy::start(&reg.host);
    let mut refs = Vec::new();
    for i in 0..16 {
        let layer = vec![i as u8; 2 * 1024 * 1024];
        fx.image(&format!("team/img{i}"), "v1", &[layer]);
        refs.push(format!("{}/team/img{i}:v1", proxy.host));
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("b");
    let capture = || {
        Command::cargo_bin("airlock")
            .unwrap()
            .envs(reg.airlock_env())
            .arg("capture")
            .args(&refs)
            .arg("-o")
            .arg(&out)
            .args(["--insecure-registry", &proxy.host, "--jobs", "1"])
            .output()
            .unwrap()
    };
    // The connection drops in the middle of the fifth 2 MiB layer, on every run.
    proxy.cut_after(Direction::Download, 9 * 1024 * 1024 + 12_345);
    let o = capture();
    assert!(proxy.was_cut(), "the transfer never reached the cut");
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("broke off") || err.contains("interrupted"),
        "{err}"
    );
    let blobs = out.join("blobs/sha256");
    // No half-written blob under its final name: every blob there hashes to its name.
    let mut complete = 0;
    for e in fs::read_dir(&blobs).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        let bytes = fs::read(e.path()).unwrap();
        assert_eq!(
            airlock::oci::Digest::sha256_of(&bytes).hex(),
            name,
            "half-written blob under its final name"
        );
        complete += 1;
    }
    assert!(complete > 0);
    proxy.heal();
    let o2 = capture();
    assert_eq!(
        o2.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o2.stderr)
    );
    let err2 = String::from_utf8_lossy(&o2.stderr);
    // "... N blobs fetched (...), M already present"
    let present: usize = err2
        .split(", ")
        .find(|s| s.ends_with("already present\n") || s.contains("already present"))
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        present >= complete.min(1),
        "re-run must reuse complete blobs: {err2}"
    );
}

#[test]
fn verify_runs_with_no_network_registry_stopped_and_proxies_pointing_at_a_closed_port() {
    let mut reg = Registry::start(Flavour::Plain);
    let key = TestKey::generate();
    publish_full(&reg, &key, REPO, "v1");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    let o = reg.capture(&[reg.image_ref(REPO, "v1")], &out, &[]);
    assert_eq!(o.status.code(), Some(0));
    let p = policy(tmp.path(), &key, &reg);
    reg.stop();
    let closed = format!("http://127.0.0.1:{}", common::registry::free_port());
    let v = Command::cargo_bin("airlock")
        .unwrap()
        .env("HTTP_PROXY", &closed)
        .env("HTTPS_PROXY", &closed)
        .env("ALL_PROXY", &closed)
        .env("http_proxy", &closed)
        .env("https_proxy", &closed)
        .env("REGISTRY_AUTH_FILE", tmp.path().join("none.json"))
        .env("DOCKER_CONFIG", tmp.path().join("none"))
        .arg("verify")
        .arg(&out)
        .arg("--policy")
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
}

#[test]
fn images_file_with_comments_is_read_and_duplicates_are_captured_once() {
    let reg = Registry::start(Flavour::Plain);
    let a = reg.fixtures().image("team/a", "v1", &[b"a".to_vec()]);
    let b = reg.fixtures().image("team/b", "v2", &[b"b".to_vec()]);
    let tmp = tempfile::tempdir().unwrap();
    let list = tmp.path().join("images.txt");
    fs::write(
        &list,
        format!(
            "# images for the release\n{}\n\n{}   # the api\n{}\n",
            reg.image_ref("team/a", "v1"),
            reg.image_ref("team/b", "v2"),
            reg.image_ref("team/a", "v1")
        ),
    )
    .unwrap();
    let out = tmp.path().join("bundle");
    let o = reg
        .airlock()
        .arg("capture")
        .arg("-f")
        .arg(&list)
        .arg("-o")
        .arg(&out)
        .args(reg.cli_flags())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let l = lock(&out);
    let digests: Vec<&str> = l["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["digest"].as_str().unwrap())
        .collect();
    assert_eq!(digests, vec![a.digest.as_str(), b.digest.as_str()]);
}

#[test]
fn platform_restriction_keeps_the_index_byte_exact_and_verify_names_what_was_left_out() {
    let reg = Registry::start(Flavour::Plain);
    let key = TestKey::generate();
    let idx = publish_full(&reg, &key, REPO, "v1");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    let o = reg.capture(
        &[reg.image_ref(REPO, "v1")],
        &out,
        &["--platform", "linux/amd64"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The index is the registry's exact bytes; the arm64 child is not in the bundle.
    let stored = fs::read(
        out.join("blobs/sha256")
            .join(idx.digest.trim_start_matches("sha256:")),
    )
    .unwrap();
    assert_eq!(stored, idx.manifest_bytes);
    let arm = idx.child("linux/arm64/v8").unwrap();
    assert!(!out
        .join("blobs/sha256")
        .join(arm.trim_start_matches("sha256:"))
        .exists());
    let l = lock(&out);
    let captured: Vec<bool> = l["images"][0]["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["captured"].as_bool().unwrap())
        .collect();
    assert_eq!(captured, vec![true, false]);
    // The policy requires both platforms: verify fails with platform-missing, not blob-missing.
    let p = policy(tmp.path(), &key, &reg);
    let v = Command::cargo_bin("airlock")
        .unwrap()
        .arg("verify")
        .arg(&out)
        .arg("--policy")
        .arg(&p)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(v.status.code(), Some(1));
    let codes = report_codes(&v.stdout);
    assert!(codes.contains(&"platform-missing".to_string()), "{codes:?}");
    assert!(!codes.contains(&"blob-missing".to_string()), "{codes:?}");
}

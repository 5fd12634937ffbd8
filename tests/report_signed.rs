//! The signed verification report end to end, through the real binary: `verify --report FILE
//! --sign-key KEY`, `report verify`, `report show` in every format; tampering of every kind;
//! independent checks (Python `cryptography` via scripts/check_report.py, and `openssl`); the
//! HTML page in headless Chromium; snapshots of the text and Markdown renderings.
//!
//! Snapshots live in tests/snapshots/; `UPDATE_SNAPSHOTS=1 cargo test --test report_signed`
//! rewrites them from the fixed report fixtures there (`*.report.json`).
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command as Proc, Output, Stdio};
use std::time::{Duration, Instant};

use airlock::trust::keys::{KeyAlgorithm, SigningKey};
use assert_cmd::Command;
use base64::Engine;
use serde_json::Value;

#[path = "support/bundle.rs"]
mod bundle;

const AT: &str = "2026-01-31T12:00:00Z";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn airlock() -> Command {
    let mut c = Command::cargo_bin("airlock").unwrap();
    c.env_remove("COSIGN_PASSWORD")
        .env_remove("AIRLOCK_PASSWORD");
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn demo_pub() -> PathBuf {
    root().join("keys/demo.pub")
}

/// Verify the demo bundle and write its signed report (demo key, passphrase `demo`) into `dir`.
fn signed_demo(dir: &Path) -> PathBuf {
    let out = dir.join("report.dsse.json");
    let (code, stdout, stderr) = run(airlock()
        .current_dir(root())
        .env("AIRLOCK_PASSWORD", "demo")
        .args([
            "verify",
            "testdata/bundles/demo",
            "--policy",
            "policies/demo.yaml",
        ])
        .args(["--at", AT, "--sign-key", "keys/demo.key", "--report"])
        .arg(&out));
    assert_eq!(code, 0, "verify demo: {stdout}\n{stderr}");
    out
}

fn report_verify(file: &Path, key: &Path) -> (i32, String, String) {
    run(airlock()
        .arg("report")
        .arg("verify")
        .arg(file)
        .arg("--key")
        .arg(key))
}

/// Byte range of the string value of `"field"` in raw envelope JSON.
fn field_range(bytes: &[u8], field: &str) -> std::ops::Range<usize> {
    let text = std::str::from_utf8(bytes).unwrap();
    let key = format!("\"{field}\"");
    let at = text.find(&key).unwrap() + key.len();
    let start = at + text[at..].find('"').unwrap() + 1;
    let end = start + text[start..].find('"').unwrap();
    start..end
}

/// A copy of `file` with one byte of `field`'s base64 text changed at `frac` of its length:
/// XOR 0x01 (`xor`), or replaced by another valid base64 character.
fn tampered(file: &Path, field: &str, frac: f64, xor: bool, n: usize) -> PathBuf {
    let mut bytes = fs::read(file).unwrap();
    let r = field_range(&bytes, field);
    let i = r.start + ((r.len() as f64 * frac) as usize).min(r.len() - 3);
    bytes[i] = if xor {
        bytes[i] ^ 0x01
    } else if bytes[i] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let out = file.with_file_name(format!("tampered-{field}-{n}.json"));
    fs::write(&out, bytes).unwrap();
    out
}

fn envelope(file: &Path) -> Value {
    serde_json::from_slice(&fs::read(file).unwrap()).unwrap()
}

fn payload(env: &Value) -> Value {
    serde_json::from_slice(&B64.decode(env["payload"].as_str().unwrap()).unwrap()).unwrap()
}

#[test]
fn signed_demo_report_verifies_with_exit_0_and_names_signer_time_and_result() {
    let t = tempfile::tempdir().unwrap();
    let file = signed_demo(t.path());
    let (code, stdout, stderr) = report_verify(&file, &demo_pub());
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let key_id = airlock::trust::keys::load_public_key_file(&demo_pub())
        .unwrap()
        .key_id();
    assert!(stdout.contains(&key_id), "{stdout}");
    assert!(stdout.contains(AT), "{stdout}");
    assert!(stdout.contains("PASSED"), "{stdout}");

    // The statement's shape: in-toto v1, VSA v1, subjects = every verified digest.
    let env = envelope(&file);
    assert_eq!(env["payloadType"], "application/vnd.in-toto+json");
    let st = payload(&env);
    assert_eq!(st["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        st["predicateType"],
        "https://slsa.dev/verification_summary/v1"
    );
    let p = &st["predicate"];
    assert_eq!(p["verifier"]["id"], "urn:airlock:verifier");
    assert_eq!(
        p["verifier"]["version"]["airlock"],
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(p["timeVerified"], AT);
    assert_eq!(p["verificationResult"], "PASSED");
    assert_eq!(p["verifiedLevels"], serde_json::json!([]));
    assert!(p["resourceUri"]
        .as_str()
        .unwrap()
        .ends_with("testdata/bundles/demo"));
    assert!(p["policy"]["uri"]
        .as_str()
        .unwrap()
        .ends_with("policies/demo.yaml"));
    let report = &p["urn:airlock:report"];
    assert_eq!(report["schema"], "airlock.report/v1");
    assert_eq!(p["policy"]["digest"]["sha256"], report["policy"]["sha256"]);
    let subjects: Vec<String> = st["subject"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("sha256:{}", s["digest"]["sha256"].as_str().unwrap()))
        .collect();
    let img = &report["images"][0];
    let mut want = vec![img["digest"].as_str().unwrap().to_string()];
    for p in img["platforms"].as_array().unwrap() {
        want.push(p["digest"].as_str().unwrap().to_string());
    }
    for s in img["signatures"].as_array().unwrap() {
        want.push(s["manifest"].as_str().unwrap().to_string());
    }
    for a in img["attestations"].as_array().unwrap() {
        want.push(a["manifest"].as_str().unwrap().to_string());
    }
    for w in &want {
        assert!(
            subjects.contains(w),
            "subject {w} missing from {subjects:?}"
        );
    }
    assert!(
        p["inputAttestations"][0]["uri"]
            .as_str()
            .unwrap()
            .starts_with("oci://"),
        "{}",
        p["inputAttestations"][0]
    );
    assert_eq!(
        p["inputAttestations"][0]["digest"]["sha256"],
        img["attestations"][0]["manifest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:")
    );
}

#[test]
fn without_sign_key_the_report_is_plain_json_and_report_verify_refuses_it_with_exit_1() {
    let t = tempfile::tempdir().unwrap();
    let file = t.path().join("report.json");
    let (code, _, stderr) = run(airlock()
        .current_dir(root())
        .args([
            "verify",
            "testdata/bundles/demo",
            "--policy",
            "policies/demo.yaml",
        ])
        .args(["--at", AT, "--report"])
        .arg(&file));
    assert_eq!(code, 0, "{stderr}");
    let v: Value = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
    assert_eq!(v["schema"], "airlock.report/v1");
    let (code, _, stderr) = report_verify(&file, &demo_pub());
    assert_eq!(code, 1);
    assert!(stderr.contains("plain (unsigned)"), "{stderr}");
}

#[test]
fn one_flipped_byte_in_the_base64_payload_fails_with_exit_1() {
    let t = tempfile::tempdir().unwrap();
    let file = signed_demo(t.path());
    let mut n = 0;
    for frac in [0.0, 0.13, 0.5, 0.77, 0.97] {
        for xor in [true, false] {
            n += 1;
            let bad = tampered(&file, "payload", frac, xor, n);
            let (code, stdout, stderr) = report_verify(&bad, &demo_pub());
            assert_eq!(code, 1, "frac {frac} xor {xor}: {stdout}\n{stderr}");
        }
    }
}

#[test]
fn one_flipped_byte_in_the_signature_fails_with_exit_1() {
    let t = tempfile::tempdir().unwrap();
    let file = signed_demo(t.path());
    let mut n = 0;
    for frac in [0.0, 0.3, 0.6, 0.9] {
        for xor in [true, false] {
            n += 1;
            let bad = tampered(&file, "sig", frac, xor, n);
            let (code, stdout, stderr) = report_verify(&bad, &demo_pub());
            assert_eq!(code, 1, "frac {frac} xor {xor}: {stdout}\n{stderr}");
        }
    }
}

#[test]
fn payload_edited_and_reencoded_fails_with_exit_1() {
    let t = tempfile::tempdir().unwrap();
    let file = signed_demo(t.path());
    let mut env = envelope(&file);
    let text = String::from_utf8(B64.decode(env["payload"].as_str().unwrap()).unwrap()).unwrap();
    assert!(text.contains("\"verificationResult\":\"PASSED\""));
    let edited = text
        .replace(
            "\"verificationResult\":\"PASSED\"",
            "\"verificationResult\":\"FAILED\"",
        )
        .replace("\"result\":\"pass\"", "\"result\":\"fail\"");
    env["payload"] = B64.encode(edited.as_bytes()).into();
    let bad = t.path().join("edited.json");
    fs::write(&bad, serde_json::to_vec_pretty(&env).unwrap()).unwrap();
    let (code, _, stderr) = report_verify(&bad, &demo_pub());
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("signature"), "{stderr}");
}

#[test]
fn statement_forged_and_resigned_with_the_right_key_is_inconsistent_exit_1() {
    // Someone holding the key signs a statement that claims more than its report: caught by the
    // consistency checks, not the signature.
    let t = tempfile::tempdir().unwrap();
    let file = signed_demo(t.path());
    let mut st = payload(&envelope(&file));
    st["subject"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "registry.example/evil:1", "digest": {"sha256": "e".repeat(64)}}));
    let key = SigningKey::from_pem(
        &fs::read(root().join("keys/demo.key")).unwrap(),
        Some(b"demo"),
    )
    .unwrap();
    let env = airlock::sign::sign_envelope(
        "application/vnd.in-toto+json",
        &serde_json::to_vec(&st).unwrap(),
        &key,
    )
    .unwrap();
    let bad = t.path().join("forged.json");
    fs::write(&bad, env).unwrap();
    let (code, _, stderr) = report_verify(&bad, &demo_pub());
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("does not match its embedded report"),
        "{stderr}"
    );
    assert!(stderr.contains(&"e".repeat(64)), "{stderr}");
}

#[test]
fn wrong_key_fails_with_exit_1() {
    let t = tempfile::tempdir().unwrap();
    let file = signed_demo(t.path());
    let other = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let other_pub = t.path().join("other.pub");
    fs::write(&other_pub, other.public_key().to_pem()).unwrap();
    let (code, stdout, stderr) = report_verify(&file, &other_pub);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("FAILED"), "{stdout}");
}

#[test]
fn unreadable_report_or_key_is_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let file = signed_demo(t.path());
    let (code, _, stderr) = report_verify(&t.path().join("absent.json"), &demo_pub());
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = report_verify(&file, &t.path().join("absent.pub"));
    assert_eq!(code, 2, "{stderr}");
    let junk = t.path().join("junk.pub");
    fs::write(&junk, "not a key").unwrap();
    let (code, _, stderr) = report_verify(&file, &junk);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn wrong_passphrase_for_sign_key_is_exit_2_and_writes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("r.json");
    let (code, _, stderr) = run(airlock()
        .current_dir(root())
        .env("AIRLOCK_PASSWORD", "not-the-passphrase")
        .args([
            "verify",
            "testdata/bundles/demo",
            "--policy",
            "policies/demo.yaml",
        ])
        .args(["--sign-key", "keys/demo.key", "--report"])
        .arg(&out));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--sign-key"), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn ed25519_signed_report_verifies_with_airlock_and_python() {
    let t = tempfile::tempdir().unwrap();
    let prefix = t.path().join("ed");
    let (code, _, stderr) = run(airlock()
        .env("AIRLOCK_PASSWORD", "pw")
        .args([
            "keys",
            "generate",
            "--algorithm",
            "ed25519",
            "--scrypt-log-n",
            "15",
            "--out",
        ])
        .arg(&prefix));
    assert_eq!(code, 0, "{stderr}");
    let out = t.path().join("r.json");
    let (code, _, stderr) = run(airlock()
        .current_dir(root())
        .env("AIRLOCK_PASSWORD", "pw")
        .args([
            "verify",
            "testdata/bundles/demo",
            "--policy",
            "policies/demo.yaml",
        ])
        .arg("--sign-key")
        .arg(t.path().join("ed.key"))
        .arg("--report")
        .arg(&out));
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = report_verify(&out, &t.path().join("ed.pub"));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("ed25519"), "{stdout}");
    let (code, stdout, stderr) = check_report_py(&out, &t.path().join("ed.pub"));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

fn check_report_py(envelope: &Path, key: &Path) -> (i32, String, String) {
    let probe = Proc::new("python3")
        .args(["-c", "import cryptography"])
        .output()
        .expect("python3 is needed for the independent check (scripts/test.sh installs it)");
    assert!(
        probe.status.success(),
        "the Python 'cryptography' package is needed (scripts/test.sh installs it): {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let out = Proc::new("python3")
        .arg(root().join("scripts/check_report.py"))
        .arg(envelope)
        .arg(key)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn python_cryptography_verifies_the_signed_report_independently() {
    let t = tempfile::tempdir().unwrap();
    let file = signed_demo(t.path());
    let (code, stdout, stderr) = check_report_py(&file, &demo_pub());
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.starts_with("OK"), "{stdout}");
    let key_id = airlock::trust::keys::load_public_key_file(&demo_pub())
        .unwrap()
        .key_id();
    assert!(stdout.contains(&key_id), "same key id as airlock: {stdout}");

    for (n, (field, frac)) in [("payload", 0.5), ("payload", 0.2), ("sig", 0.5)]
        .into_iter()
        .enumerate()
    {
        let bad = tampered(&file, field, frac, false, 100 + n);
        let (code, stdout, stderr) = check_report_py(&bad, &demo_pub());
        assert_ne!(code, 0, "{field} {frac}: {stdout}\n{stderr}");
    }
    let other = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let other_pub = t.path().join("other.pub");
    fs::write(&other_pub, other.public_key().to_pem()).unwrap();
    let (code, _, _) = check_report_py(&file, &other_pub);
    assert_eq!(code, 1);
}

#[test]
fn openssl_verifies_the_dsse_signature_over_the_pae() {
    // The recipe from docs/report.md: rebuild PAE(payloadType, payload), then `openssl dgst`.
    let t = tempfile::tempdir().unwrap();
    let file = signed_demo(t.path());
    let env = envelope(&file);
    let ptype = env["payloadType"].as_str().unwrap();
    let body = B64.decode(env["payload"].as_str().unwrap()).unwrap();
    let mut pae = format!("DSSEv1 {} {} {} ", ptype.len(), ptype, body.len()).into_bytes();
    pae.extend_from_slice(&body);
    fs::write(t.path().join("pae.bin"), &pae).unwrap();
    let sig = B64
        .decode(env["signatures"][0]["sig"].as_str().unwrap())
        .unwrap();
    fs::write(t.path().join("sig.der"), &sig).unwrap();
    let openssl = |pae_file: &str| {
        Proc::new("openssl")
            .current_dir(t.path())
            .args(["dgst", "-sha256", "-verify"])
            .arg(demo_pub())
            .args(["-signature", "sig.der", pae_file])
            .output()
            .expect("openssl is needed (scripts/test.sh installs it)")
    };
    let ok = openssl("pae.bin");
    assert!(ok.status.success(), "{ok:?}");
    pae[40] ^= 1;
    fs::write(t.path().join("pae-bad.bin"), &pae).unwrap();
    assert!(!openssl("pae-bad.bin").status.success());
}

#[test]
fn report_show_reads_plain_and_signed_reports_alike() {
    let t = tempfile::tempdir().unwrap();
    let signed = signed_demo(t.path());
    let plain = t.path().join("plain.json");
    let (code, _, stderr) = run(airlock()
        .current_dir(root())
        .args([
            "verify",
            "testdata/bundles/demo",
            "--policy",
            "policies/demo.yaml",
        ])
        .args(["--at", AT, "--report"])
        .arg(&plain));
    assert_eq!(code, 0, "{stderr}");
    let show = |f: &Path, fmt: &str| {
        run(airlock()
            .args(["report", "show"])
            .arg(f)
            .args(["--format", fmt]))
    };
    let (c1, j1, e1) = show(&signed, "json");
    let (c2, j2, e2) = show(&plain, "json");
    assert_eq!((c1, c2), (0, 0), "{e1} {e2}");
    let (v1, v2): (Value, Value) = (
        serde_json::from_str(&j1).unwrap(),
        serde_json::from_str(&j2).unwrap(),
    );
    assert_eq!(v1["images"], v2["images"]);
    assert_eq!(v1["time"], AT);
    let (_, text_signed, _) = show(&signed, "text");
    assert!(
        text_signed.contains("signature NOT checked"),
        "{text_signed}"
    );
    let (_, text_plain, _) = show(&plain, "text");
    assert!(text_plain.contains("unsigned"), "{text_plain}");
    for fmt in ["markdown", "html"] {
        let (c, out, e) = show(&signed, fmt);
        assert_eq!(c, 0, "{e}");
        assert!(out.contains("PASS"), "{fmt}");
    }
    // -o writes the file; --key checks the signature (and fails with exit 1 on a wrong key).
    let html = t.path().join("r.html");
    let (c, _, e) = run(airlock()
        .args(["report", "show"])
        .arg(&signed)
        .args(["--format", "html", "--key"])
        .arg(demo_pub())
        .arg("-o")
        .arg(&html));
    assert_eq!(c, 0, "{e}");
    assert!(fs::read_to_string(&html)
        .unwrap()
        .contains("Signature verified"));
    let bad = tampered(&signed, "payload", 0.5, false, 1);
    let (c, _, e) = run(airlock()
        .args(["report", "show"])
        .arg(&bad)
        .arg("--key")
        .arg(demo_pub()));
    assert_eq!(c, 1, "{e}");
    let junk = t.path().join("junk.json");
    fs::write(&junk, "[1]").unwrap();
    let (c, _, e) = show(&junk, "text");
    assert_eq!(c, 2, "{e}");
}

// --- a failing bundle with several findings --------------------------------------------------

/// A bundle with one good image and several bad ones; returns (bundle, policy).
fn failing_bundle(dir: &Path) -> (PathBuf, PathBuf) {
    use bundle::{build, Spec};
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let stranger = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    fs::write(dir.join("release.pub"), key.public_key().to_pem()).unwrap();
    let policy = dir.join("policy.yaml");
    fs::write(
        &policy,
        "apiVersion: airlock/v1\nkind: Policy\nkeys:\n  release: release.pub\nrules:\n  - match: [\"registry.example/team/**\"]\n    signatures:\n      keys: [release]\n    attestations:\n      - predicateType: https://slsa.dev/provenance/v1\n        keys: [release]\n    sbom: required\n    platforms: [linux/amd64, linux/arm64]\nunmatched: deny\n",
    )
    .unwrap();
    let good = Spec::signed("registry.example/team/app", "1.0", &key);
    let mut unsigned = Spec::signed("registry.example/team/api", "2.1", &key);
    unsigned.sig_key = None;
    unsigned.att_key = Some(&key);
    unsigned.salt = "api".into();
    let mut thin = Spec::signed("registry.example/team/web", "3.0", &key);
    thin.platforms = vec![("linux", "amd64", None)];
    thin.provenance = false;
    thin.sbom_attestation = false;
    thin.salt = "web".into();
    let mut foreign = Spec::signed("registry.example/team/worker", "1.2", &stranger);
    foreign.att_key = Some(&key);
    foreign.salt = "worker".into();
    let mut unmatched = Spec::signed("other.example/tools/debug", "latest", &key);
    unmatched.salt = "debug".into();
    let b = dir.join("bundle");
    build(&b, &[good, unsigned, thin, foreign, unmatched], Some(&key));
    (b, policy)
}

fn codes(report: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let all = report["findings"].as_array().into_iter().flatten().chain(
        report["images"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|i| i["findings"].as_array().into_iter().flatten()),
    );
    for f in all {
        let c = f["code"].as_str().unwrap().to_string();
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// Run chromium headless with the flags a container needs; kill it after `limit`.
fn chromium(profile: &Path, extra: &[&str], url: &str, limit: Duration) -> Output {
    let mut child = Proc::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium is needed for the HTML test (scripts/test.sh installs it)");
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("chromium did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn html_report_of_a_failing_bundle_renders_in_headless_chromium_with_verdict_and_every_code() {
    let t = tempfile::tempdir().unwrap();
    let (bundle, policy) = failing_bundle(t.path());
    let signed = t.path().join("report.dsse.json");
    let (code, _, stderr) = run(airlock()
        .env("AIRLOCK_PASSWORD", "demo")
        .arg("verify")
        .arg(&bundle)
        .arg("--policy")
        .arg(&policy)
        .args(["--at", AT, "--format", "json", "--sign-key"])
        .arg(root().join("keys/demo.key"))
        .arg("--report")
        .arg(&signed));
    assert_eq!(code, 1, "the bundle must fail: {stderr}");
    let (code, stdout, stderr) = run(airlock()
        .args(["report", "verify"])
        .arg(&signed)
        .arg("--key")
        .arg(demo_pub()));
    assert_eq!(
        code, 0,
        "a FAILED report is still authentic: {stdout}\n{stderr}"
    );
    assert!(stdout.contains("FAILED"), "{stdout}");
    let (code, _, _) = run(airlock()
        .args(["report", "verify", "--require-pass"])
        .arg(&signed)
        .arg("--key")
        .arg(demo_pub()));
    assert_eq!(code, 1, "--require-pass on a FAILED report");
    let pred = &payload(&envelope(&signed))["predicate"];
    assert_eq!(pred["verifiedLevels"], serde_json::json!(["FAILED"]));
    for a in pred["inputAttestations"].as_array().unwrap() {
        assert!(a["uri"].as_str().is_some_and(|u| !u.is_empty()), "{a}");
        assert!(a["digest"]["sha256"].is_string(), "{a}");
    }
    // The independent DSSE/VSA check agrees on the failed report.
    let (code, stdout, stderr) = check_report_py(&signed, &demo_pub());
    assert_eq!(code, 0, "{stdout}{stderr}");

    let report: Value = serde_json::from_value(
        payload(&envelope(&signed))["predicate"]["urn:airlock:report"].clone(),
    )
    .unwrap();
    let mut found = codes(&report);
    found.sort();
    assert_eq!(
        found,
        [
            "attestation-missing",
            "lock-unverified",
            "platform-missing",
            "policy-unmatched",
            "sbom-missing",
            "signature-invalid",
            "signature-missing",
        ],
        "the exact set of finding codes of the failing bundle (the stranger's key is not \
         given, so its signature is invalid, not untrusted)"
    );

    let html = t.path().join("report.html");
    let (code, _, stderr) = run(airlock()
        .args(["report", "show"])
        .arg(&signed)
        .args(["--format", "html", "-o"])
        .arg(&html)
        .arg("--key")
        .arg(demo_pub()));
    assert_eq!(code, 0, "{stderr}");
    let page = fs::read_to_string(&html).unwrap();
    assert!(!page.contains("<script"), "no JavaScript");
    assert!(!page.contains("src=\""), "no external resources");
    assert!(!page.contains("<link"), "no external resources");

    let url = format!("file://{}", html.display());
    let shot = t.path().join("shot.png");
    let out = chromium(
        &t.path().join("profile-shot"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,1600",
        ],
        &url,
        Duration::from_secs(90),
    );
    assert!(
        out.status.success(),
        "chromium --screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = fs::read(&shot).expect("chromium wrote no screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 20_000, "screenshot is only {} bytes", png.len());

    let out = chromium(
        &t.path().join("profile-dom"),
        &["--dump-dom"],
        &url,
        Duration::from_secs(90),
    );
    assert!(out.status.success());
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains("id=\"verdict\">FAIL<"),
        "verdict missing from the DOM"
    );
    for c in &found {
        assert!(
            dom.contains(c.as_str()),
            "finding code {c} missing from the DOM"
        );
    }
    for img in report["images"].as_array().unwrap() {
        for f in img["findings"].as_array().unwrap() {
            let hint = f["hint"].as_str().unwrap_or("");
            let escaped = hint
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            assert!(dom.contains(&escaped), "hint {hint:?} missing from the DOM");
        }
    }
}

// --- snapshots ---------------------------------------------------------------------------------

fn snapshot_dir() -> PathBuf {
    root().join("tests/snapshots")
}

/// Compare `actual` with tests/snapshots/`name`, or rewrite it when UPDATE_SNAPSHOTS=1.
fn assert_snapshot(name: &str, actual: &str) {
    let path = snapshot_dir().join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        fs::write(&path, actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "snapshot {}: {e}; run UPDATE_SNAPSHOTS=1 cargo test --test report_signed to write it",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .map(|i| i + 1)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()) + 1);
        panic!(
            "snapshot {} differs from the rendering at line {line}; review and run \
             UPDATE_SNAPSHOTS=1 cargo test --test report_signed if the change is intended\n\
             --- actual ---\n{actual}",
            path.display()
        );
    }
}

#[test]
fn text_and_markdown_renderings_match_snapshots_for_a_passing_and_a_failing_report() {
    for name in ["pass", "fail"] {
        let fixture = snapshot_dir().join(format!("{name}.report.json"));
        for (fmt, ext) in [("text", "txt"), ("markdown", "md")] {
            let (code, stdout, stderr) = run(airlock()
                .args(["report", "show"])
                .arg(&fixture)
                .args(["--format", fmt]));
            assert_eq!(code, 0, "{name} {fmt}: {stderr}");
            assert_snapshot(&format!("{name}.{ext}"), &stdout);
        }
    }
}

#[test]
fn pass_snapshot_fixture_is_what_airlock_verify_writes_for_the_demo_bundle() {
    let (code, stdout, stderr) = run(airlock()
        .current_dir(root())
        .args([
            "verify",
            "testdata/bundles/demo",
            "--policy",
            "policies/demo.yaml",
        ])
        .args(["--at", AT, "--format", "json"]));
    assert_eq!(code, 0, "{stderr}");
    assert_snapshot("pass.report.json", &stdout);
}

/// One image's ref, digest, result and sorted (severity, code) findings.
type Decision = (String, String, String, Vec<(String, String)>);

/// What a report decided, without what changes from run to run (random test keys make other key
/// ids and signature digests): per image its ref, digest, result and (severity, code) list.
fn decisions(report: &Value) -> Vec<Decision> {
    report["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let mut f: Vec<(String, String)> = i["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| (f["severity"].to_string(), f["code"].to_string()))
                .collect();
            f.sort();
            (
                i["ref"].to_string(),
                i["digest"].to_string(),
                i["result"].to_string(),
                f,
            )
        })
        .collect()
}

#[test]
fn fail_snapshot_fixture_has_the_decisions_airlock_verify_gives_for_the_failing_bundle() {
    let t = tempfile::tempdir().unwrap();
    failing_bundle(t.path());
    let (code, stdout, stderr) = run(airlock()
        .current_dir(t.path())
        .args(["verify", "bundle", "--policy", "policy.yaml"])
        .args(["--at", AT, "--format", "json"]));
    assert_eq!(code, 1, "{stderr}");
    let fresh: Value = serde_json::from_str(&stdout).unwrap();
    let path = snapshot_dir().join("fail.report.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        fs::write(&path, &stdout).unwrap();
        return;
    }
    let fixture: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(fixture["schema"], "airlock.report/v1");
    assert_eq!(fixture["result"], "fail");
    assert_eq!(
        decisions(&fixture),
        decisions(&fresh),
        "{} is stale: regenerate it with UPDATE_SNAPSHOTS=1 cargo test --test report_signed",
        path.display()
    );
}

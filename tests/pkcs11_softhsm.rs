//! Signing keys held in a PKCS#11 token: a SoftHSM2 token initialised by each test (in its own
//! temporary token directory, through its own SOFTHSM2_CONF) holds the gate key. The lock
//! (capture --sign-key) and the report (verify --sign-key) are signed in the token and verified
//! with the public key `keys generate --pkcs11` exported, exactly as with file keys.
//! SoftHSM2 (`softhsm2-util`, the module) must be installed: scripts/test.sh installs it, and a
//! missing one fails these tests.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use common::keys::TestKey;
use common::registry::{Flavour, Registry};
use common::softhsm::{SoftHsm, SOFTHSM_MODULE, TOKEN, USER_PIN};
use serde_json::Value;

fn show(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn run(c: &mut Command, want: i32) -> Output {
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(want), "{}", show(&o));
    o
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Error finding codes of a JSON report (top level and per image).
fn error_codes(report: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let top = report["findings"].as_array().into_iter().flatten();
    let per_image = report["images"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|i| i["findings"].as_array().into_iter().flatten());
    for f in top.chain(per_image) {
        if f["severity"] == "error" {
            out.push(f["code"].as_str().unwrap_or("").to_string());
        }
    }
    out
}

#[test]
fn token_key_signs_lock_and_report_that_verify_with_exported_public_key_and_tampering_fails() {
    let hsm = SoftHsm::init();
    // The vendor publishes a signed image.
    let src = Registry::start(Flavour::Plain);
    let vendor = TestKey::generate();
    let fx = src.fixtures();
    let img = fx.image("team/app", "v1", &[b"layer one".to_vec()]);
    let repo_ref = src.repo_ref("team/app");
    fx.cosign_signature("team/app", &img.digest, &repo_ref, &vendor.signer());

    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    fs::create_dir_all(w.join("keys")).unwrap();
    fs::write(w.join("keys/vendor.pub"), vendor.public_key_pem()).unwrap();
    fs::write(
        w.join("policy.yaml"),
        format!(
            "apiVersion: airlock/v1\nkind: Policy\nkeys:\n  vendor: keys/vendor.pub\nrules:\n  - match: [\"{}/team/**\"]\n    signatures:\n      keys: [vendor]\nunmatched: deny\n",
            src.host
        ),
    )
    .unwrap();

    // The gate key is made inside the token; only its public key comes out.
    let o = run(
        hsm.airlock(w, Some(USER_PIN))
            .args(["keys", "generate", "--pkcs11", &hsm.uri("gate")])
            .args(["--out", "keys/gate"]),
        0,
    );
    assert!(stderr(&o).contains(TOKEN), "{}", show(&o));
    assert!(w.join("keys/gate.pub").is_file());
    assert!(
        !w.join("keys/gate.key").exists(),
        "no private key file for a token key"
    );
    // A second key with the same label is refused (exit 2), naming the label.
    let o = run(
        hsm.airlock(w, Some(USER_PIN))
            .args(["keys", "generate", "--pkcs11", &hsm.uri("gate")])
            .args(["--out", "keys/again"]),
        2,
    );
    assert!(
        stderr(&o).contains("already holds a key labelled \"gate\""),
        "{}",
        show(&o)
    );

    // Capture signs the lock in the token (PIN from AIRLOCK_PKCS11_PIN).
    run(
        hsm.airlock(w, Some(USER_PIN))
            .args(["capture", &src.image_ref("team/app", "v1"), "-o", "bundle"])
            .args(["--insecure-registry", &src.host])
            .args(["--sign-key", &hsm.uri("gate")]),
        0,
    );
    let envelope: Value =
        serde_json::from_slice(&fs::read(w.join("bundle/airlock.lock.dsse.json")).unwrap())
            .unwrap();
    let gate_pub = airlock::trust::keys::load_public_key_file(&w.join("keys/gate.pub")).unwrap();
    assert_eq!(envelope["signatures"][0]["keyid"], gate_pub.key_id());
    drop(src);

    // Verify checks the lock with the exported public key and signs the report in the token
    // (PIN in the URI this time, no environment variable).
    run(
        hsm.airlock(w, None)
            .args(["verify", "bundle", "--policy", "policy.yaml"])
            .args(["--capture-key", "keys/gate.pub"])
            .args(["--report", "report.dsse.json"])
            .args(["--sign-key", &hsm.uri_with_pin("gate", USER_PIN)]),
        0,
    );
    let o = run(
        hsm.airlock(w, None).args([
            "report",
            "verify",
            "report.dsse.json",
            "--key",
            "keys/gate.pub",
        ]),
        0,
    );
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .to_lowercase()
            .contains("pass"),
        "{}",
        show(&o)
    );
    // The token's signature is ASN.1 DER, as a file key's: a SEQUENCE of two INTEGERs.
    let report: Value =
        serde_json::from_slice(&fs::read(w.join("report.dsse.json")).unwrap()).unwrap();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let sig = b64
        .decode(report["signatures"][0]["sig"].as_str().unwrap())
        .unwrap();
    assert_eq!(sig[0], 0x30, "DER SEQUENCE expected, got {sig:02x?}");
    assert_eq!(usize::from(sig[1]) + 2, sig.len(), "{sig:02x?}");

    // Tampering: a report whose signature was altered fails `report verify` (exit 1) ...
    let mut bad_report = report.clone();
    let mut bad_sig = sig.clone();
    let last = bad_sig.len() - 1;
    bad_sig[last] ^= 1;
    bad_report["signatures"][0]["sig"] = Value::String(b64.encode(&bad_sig));
    fs::write(
        w.join("tampered.dsse.json"),
        serde_json::to_vec(&bad_report).unwrap(),
    )
    .unwrap();
    run(
        hsm.airlock(w, None).args([
            "report",
            "verify",
            "tampered.dsse.json",
            "--key",
            "keys/gate.pub",
        ]),
        1,
    );
    // ... and so does the genuine report checked with some other key.
    let other = TestKey::generate();
    fs::write(w.join("keys/other.pub"), other.public_key_pem()).unwrap();
    run(
        hsm.airlock(w, None).args([
            "report",
            "verify",
            "report.dsse.json",
            "--key",
            "keys/other.pub",
        ]),
        1,
    );
    // An edited lock no longer matches its token signature: lock-invalid, exit 1.
    let lock_path = w.join("bundle/airlock.lock.json");
    let mut lock: Value = serde_json::from_slice(&fs::read(&lock_path).unwrap()).unwrap();
    lock["created"] = Value::String("2001-01-01T00:00:00Z".into());
    fs::write(&lock_path, serde_json::to_vec_pretty(&lock).unwrap()).unwrap();
    let o = run(
        hsm.airlock(w, None)
            .args(["verify", "bundle", "--policy", "policy.yaml"])
            .args(["--capture-key", "keys/gate.pub", "--format", "json"]),
        1,
    );
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        error_codes(&r).contains(&"lock-invalid".to_string()),
        "{:?}",
        error_codes(&r)
    );
}

#[test]
fn wrong_pin_is_exit_2_naming_the_token_and_where_the_pin_came_from() {
    let hsm = SoftHsm::init();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    run(
        hsm.airlock(w, Some(USER_PIN)).args([
            "keys",
            "generate",
            "--pkcs11",
            &hsm.uri("gate"),
            "--out",
            "gate",
        ]),
        0,
    );
    // Wrong PIN from the environment: capture stops before touching any registry, writes nothing.
    let o = run(
        hsm.airlock(w, Some("000000"))
            .args(["capture", "127.0.0.1:1/team/app:v1", "-o", "bundle"])
            .args(["--insecure-registry", "127.0.0.1:1"])
            .args(["--sign-key", &hsm.uri("gate")]),
        2,
    );
    let e = stderr(&o);
    assert!(
        e.contains(&format!("wrong PIN for token \"{TOKEN}\"")) && e.contains("AIRLOCK_PKCS11_PIN"),
        "{}",
        show(&o)
    );
    assert!(e.contains("--sign-key"), "{}", show(&o));
    assert!(!w.join("bundle/airlock.lock.json").exists());
    // Wrong PIN in the URI: the message says it came from pin-value, and never shows it.
    let o = run(
        hsm.airlock(w, None)
            .args(["capture", "127.0.0.1:1/team/app:v1", "-o", "bundle"])
            .args(["--insecure-registry", "127.0.0.1:1"])
            .args(["--sign-key", &hsm.uri_with_pin("gate", "999999")]),
        2,
    );
    let e = stderr(&o);
    assert!(
        e.contains("wrong PIN") && e.contains("pin-value") && !e.contains("999999"),
        "{}",
        show(&o)
    );
    // No PIN at all (no terminal to ask on): exit 2 saying how to give one.
    let o = run(
        hsm.airlock(w, None).args([
            "keys",
            "generate",
            "--pkcs11",
            &hsm.uri("other"),
            "--out",
            "other",
        ]),
        2,
    );
    assert!(
        stderr(&o).contains("needs its user PIN") && stderr(&o).contains("AIRLOCK_PKCS11_PIN"),
        "{}",
        show(&o)
    );
}

#[test]
fn missing_token_object_or_module_is_exit_2_naming_it() {
    let hsm = SoftHsm::init();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let capture_with = |key: &str| {
        run(
            hsm.airlock(w, Some(USER_PIN))
                .args(["capture", "127.0.0.1:1/team/app:v1", "-o", "bundle"])
                .args(["--insecure-registry", "127.0.0.1:1"])
                .args(["--sign-key", key]),
            2,
        )
    };
    // No key with that label in the token.
    let o = capture_with(&hsm.uri("absent"));
    assert!(
        stderr(&o).contains("no private key object=\"absent\"")
            && stderr(&o).contains(&format!("token \"{TOKEN}\"")),
        "{}",
        show(&o)
    );
    // No token with that label: the tokens present are listed.
    let o = capture_with(&format!(
        "pkcs11:token=nope;object=gate?module-path={SOFTHSM_MODULE}"
    ));
    assert!(
        stderr(&o).contains("no token token=\"nope\"") && stderr(&o).contains(TOKEN),
        "{}",
        show(&o)
    );
    // No such module.
    let o = capture_with("pkcs11:token=x;object=gate?module-path=/nonexistent/libpkcs11.so");
    assert!(
        stderr(&o).contains("/nonexistent/libpkcs11.so") && stderr(&o).contains("not found"),
        "{}",
        show(&o)
    );
    // A malformed URI says what was expected.
    let o = capture_with("pkcs11:token=a;token=b");
    assert!(stderr(&o).contains("given twice"), "{}", show(&o));
}

/// Policy for `team/**` at `host`: signed by the vendor key, plus `extra_rule` (YAML lines).
fn write_policy(w: &Path, name: &str, host: &str, extra_keys: &str, extra_rule: &str) {
    fs::write(
        w.join(name),
        format!(
            "apiVersion: airlock/v1\nkind: Policy\nkeys:\n  vendor: keys/vendor.pub\n{extra_keys}rules:\n  - match: [\"{host}/team/**\"]\n    signatures:\n      keys: [vendor]\n{extra_rule}unmatched: deny\n"
        ),
    )
    .unwrap();
}

#[test]
fn push_attest_key_in_token_attaches_a_gate_summary_that_verify_registry_accepts_with_the_exported_key(
) {
    let hsm = SoftHsm::init();
    let src = Registry::start(Flavour::Plain);
    let site = Registry::start(Flavour::Plain);
    let vendor = TestKey::generate();
    let fx = src.fixtures();
    let img = fx.image("team/app", "v1", &[b"layer".to_vec()]);
    fx.cosign_signature(
        "team/app",
        &img.digest,
        &src.repo_ref("team/app"),
        &vendor.signer(),
    );
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    fs::create_dir_all(w.join("keys")).unwrap();
    fs::write(w.join("keys/vendor.pub"), vendor.public_key_pem()).unwrap();
    fs::write(
        w.join("keys/other.pub"),
        TestKey::generate().public_key_pem(),
    )
    .unwrap();
    write_policy(w, "policy.yaml", &src.host, "", "");
    let vsa = "    attestations:\n      - predicateType: https://slsa.dev/verification_summary/v1\n        keys: [gate]\n";
    write_policy(
        w,
        "gate-policy.yaml",
        &src.host,
        "  gate: keys/gate.pub\n",
        vsa,
    );
    write_policy(
        w,
        "other-policy.yaml",
        &src.host,
        "  gate: keys/other.pub\n",
        vsa,
    );
    run(
        hsm.airlock(w, Some(USER_PIN)).args([
            "keys",
            "generate",
            "--pkcs11",
            &hsm.uri("gate"),
            "--out",
            "keys/gate",
        ]),
        0,
    );
    run(
        hsm.airlock(w, None)
            .env("REGISTRY_AUTH_FILE", src.auth_file())
            .args(["capture", &src.image_ref("team/app", "v1"), "-o", "bundle"])
            .args(["--insecure-registry", &src.host]),
        0,
    );
    // Push verifies with the policy, then attaches the gate's summary signed in the token.
    let target = format!("{}/mirror", site.host);
    let o = run(
        hsm.airlock(w, Some(USER_PIN))
            .env("REGISTRY_AUTH_FILE", site.auth_file())
            .args(["push", "bundle", &target, "--policy", "policy.yaml"])
            .args(["--insecure-registry", &site.host])
            .args(["--attest-key", &hsm.uri("gate")]),
        0,
    );
    assert!(stderr(&o).contains("gate attestation"), "{}", show(&o));
    // What the site serves carries a summary that verifies with the exported public key ...
    let verify_registry = |policy: &str, want: i32| {
        run(
            hsm.airlock(w, None)
                .env("REGISTRY_AUTH_FILE", site.auth_file())
                .args(["verify", "--registry", &target])
                .args(["--lock", "bundle/airlock.lock.json", "--policy", policy])
                .args(["--insecure-registry", &site.host, "--format", "json"]),
            want,
        )
    };
    verify_registry("gate-policy.yaml", 0);
    // ... and not with another key: the summary is then no proof (exit 1).
    let o = verify_registry("other-policy.yaml", 1);
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut codes = error_codes(&r);
    codes.sort();
    codes.dedup();
    assert_eq!(
        codes,
        ["attestation-invalid", "attestation-missing"],
        "{r:#}"
    );
}

#[test]
fn push_attest_key_in_token_with_wrong_pin_is_exit_2_before_anything_is_read() {
    let hsm = SoftHsm::init();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    run(
        hsm.airlock(w, Some(USER_PIN)).args([
            "keys",
            "generate",
            "--pkcs11",
            &hsm.uri("attest"),
            "--out",
            "attest",
        ]),
        0,
    );
    // A wrong PIN for --attest-key stops push before anything is read or sent.
    let o = run(
        hsm.airlock(w, Some("1"))
            .args(["push", "nobundle", "127.0.0.1:1/mirror", "--no-verify"])
            .args(["--attest-key", &hsm.uri("attest")]),
        2,
    );
    assert!(
        stderr(&o).contains("--attest-key") && stderr(&o).contains("wrong PIN"),
        "{}",
        show(&o)
    );
}

#[test]
fn pack_signed_in_token_unpacks_with_the_exported_key_and_not_with_another() {
    let hsm = SoftHsm::init();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/bundles/demo");
    run(
        hsm.airlock(w, Some(USER_PIN)).args([
            "keys",
            "generate",
            "--pkcs11",
            &hsm.uri("gate"),
            "--out",
            "gate",
        ]),
        0,
    );
    run(
        hsm.airlock(w, Some(USER_PIN)).arg("pack").arg(&demo).args([
            "-o",
            "demo.tar",
            "--sign-key",
            &hsm.uri("gate"),
        ]),
        0,
    );
    assert!(w.join("demo.tar.chunks.dsse.json").is_file());
    run(
        hsm.airlock(w, None).args([
            "unpack",
            "demo.tar.chunks.json",
            "-o",
            "out",
            "--key",
            "gate.pub",
        ]),
        0,
    );
    assert!(w.join("out/airlock.lock.json").is_file());
    fs::write(w.join("other.pub"), TestKey::generate().public_key_pem()).unwrap();
    let o = run(
        hsm.airlock(w, None).args([
            "unpack",
            "demo.tar.chunks.json",
            "-o",
            "out2",
            "--key",
            "other.pub",
        ]),
        1,
    );
    assert!(!w.join("out2/airlock.lock.json").exists(), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("chunks-invalid")
            || stderr(&o).contains("chunks-invalid"),
        "{}",
        show(&o)
    );
}

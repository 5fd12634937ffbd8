//! `airlock keys generate` and private-key loading through the CLI.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
use std::fs;

use airlock::trust::keys::{load_public_key_file, load_signing_key_file};
use assert_cmd::Command;

#[path = "support/bundle.rs"]
mod bundle;

#[test]
fn generated_key_pair_loads_back_and_signs() {
    let t = tempfile::tempdir().unwrap();
    let prefix = t.path().join("out/release");
    Command::cargo_bin("airlock")
        .unwrap()
        .env("AIRLOCK_PASSWORD", "s3cret")
        .args(["keys", "generate", "--out"])
        .arg(&prefix)
        .assert()
        .success();
    let key_pem = fs::read_to_string(t.path().join("out/release.key")).unwrap();
    assert!(
        key_pem.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"),
        "{key_pem}"
    );
    let pub_pem = fs::read_to_string(t.path().join("out/release.pub")).unwrap();
    assert!(pub_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    let sk = load_signing_key_file(&t.path().join("out/release.key"), Some(b"s3cret")).unwrap();
    let pk = load_public_key_file(&t.path().join("out/release.pub")).unwrap();
    assert_eq!(sk.public_key(), pk);
    let sig = sk.sign(b"payload").unwrap();
    assert!(pk.verify(b"payload", &sig).is_ok());
    // The body is the cosign JSON with scrypt N=2^16, r=8, p=1 and nacl/secretbox.
    let body: String = key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let json: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).unwrap(),
    )
    .unwrap();
    assert_eq!(json["kdf"]["params"]["N"], 65536);
    assert_eq!(json["cipher"]["name"], "nacl/secretbox");
}

#[test]
fn cosign_password_is_honoured_and_existing_files_are_not_overwritten() {
    let t = tempfile::tempdir().unwrap();
    let prefix = t.path().join("k");
    let run = || {
        Command::cargo_bin("airlock")
            .unwrap()
            .env_remove("AIRLOCK_PASSWORD")
            .env("COSIGN_PASSWORD", "pw")
            .args([
                "keys",
                "generate",
                "--label",
                "cosign",
                "--scrypt-log-n",
                "15",
                "--out",
            ])
            .arg(&prefix)
            .output()
            .unwrap()
    };
    assert!(run().status.success());
    let pem = fs::read_to_string(t.path().join("k.key")).unwrap();
    assert!(pem.starts_with("-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----"));
    assert!(load_signing_key_file(&t.path().join("k.key"), Some(b"pw")).is_ok());
    let again = run();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
}

#[test]
fn wrong_passphrase_for_sign_key_is_exit_2_with_a_clear_message() {
    let t = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::cargo_bin("airlock")
        .unwrap()
        .env("AIRLOCK_PASSWORD", "not-the-passphrase")
        .env("REGISTRY_AUTH_FILE", t.path().join("none.json"))
        .args(["capture", "127.0.0.1:1/team/app:v1", "-o"])
        .arg(t.path().join("b"))
        .arg("--sign-key")
        .arg(format!("{root}/keys/demo.key"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("demo.key") && err.to_lowercase().contains("passphrase"),
        "{err}"
    );
    assert!(
        !t.path().join("b").exists(),
        "nothing is written before the key loads"
    );
}

#[test]
fn keys_from_the_independent_python_writer_load() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/keys");
    for name in [
        "cosign-p256-n32768-cosign",
        "cosign-p256-n65536-sigstore",
        "cosign-p384-n65536-sigstore",
        "cosign-p384-n32768-cosign",
    ] {
        let sk = load_signing_key_file(&root.join(format!("{name}.key")), Some(b"test-passphrase"))
            .unwrap();
        let pk = load_public_key_file(&root.join(format!("{name}.pub"))).unwrap();
        assert_eq!(sk.public_key(), pk, "{name}");
    }
}

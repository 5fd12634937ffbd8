//! Keyless Sigstore bundles the public vector sets lack, generated here deterministically and
//! judged through `airlock verify-bundle`:
//! - a DSSE bundle whose in-toto subject is SHA-512 only (the shape of npm provenance);
//! - a certificate whose only identity is a Fulcio username (otherName SAN, OID
//!   1.3.6.1.4.1.57264.1.7).
//!
//! The generator builds a small private Sigstore instance: a CA ("Fulcio"), a transparency log
//! key ("Rekor") and a `trusted_root.json` naming both; a leaf certificate with the Fulcio issuer
//! extension; the DSSE envelope; a `dsse` 0.0.1 log entry with its signed entry timestamp (SET)
//! over the RFC 8785 canonical form; bundle v0.1. All keys are Ed25519 from fixed seeds and all
//! times are fixed, so every byte is the same on every run.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, OtherNameValue, SanType, SerialNumber,
};
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use serde_json::{json, Value};

const ISSUER: &str = "https://oidc.airlock.test";
const INTOTO: &str = "application/vnd.in-toto+json";
/// 2026-01-01T00:01:00Z: inside the leaf certificate's ten minutes.
const INTEGRATED_TIME: i64 = 1_767_225_660;
const AT: &str = "2026-06-01T00:00:00Z";

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn sha256(b: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, b)
        .as_ref()
        .to_vec()
}

fn sha512(b: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA512, b)
        .as_ref()
        .to_vec()
}

/// An Ed25519 key from a fixed seed: PKCS#8 v1 is a fixed prefix and the 32-byte seed.
fn ed25519(seed: u8) -> (KeyPair, Ed25519KeyPair) {
    let mut pkcs8 = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    pkcs8.extend([seed; 32]);
    let rc = KeyPair::try_from(&pkcs8[..]).expect("rcgen Ed25519 key");
    let ring = Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).expect("ring Ed25519 key");
    (rc, ring)
}

fn spki_ed25519(public: &[u8]) -> Vec<u8> {
    let mut v = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    v.extend_from_slice(public);
    v
}

fn utc(unix: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(unix).expect("time")
}

fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    v.extend_from_slice(payload);
    v
}

/// A generated keyless case: the bundle and the trusted root, written to `dir`.
struct Case {
    bundle: PathBuf,
    root: PathBuf,
}

/// A DSSE bundle over `statement`, signed by a certificate with `sans`.
fn generate(dir: &Path, name: &str, sans: Vec<SanType>, statement: &Value) -> Case {
    let (ca_key, _) = ed25519(1);
    let (leaf_key, leaf_ring) = ed25519(2);
    let (_, log_ring) = ed25519(3);

    let mut ca = CertificateParams::default();
    ca.distinguished_name = DistinguishedName::new();
    ca.distinguished_name
        .push(DnType::OrganizationName, "airlock test");
    ca.distinguished_name
        .push(DnType::CommonName, "airlock test fulcio");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = utc(1_735_689_600); // 2025-01-01
    ca.not_after = utc(2_051_222_400); // 2035-01-01
    ca.serial_number = Some(SerialNumber::from(1u64));
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");

    let mut leaf = CertificateParams::default();
    leaf.distinguished_name = DistinguishedName::new();
    leaf.subject_alt_names = sans;
    let mut issuer_der = vec![0x0c, ISSUER.len() as u8];
    issuer_der.extend_from_slice(ISSUER.as_bytes());
    leaf.custom_extensions = vec![CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 4, 1, 57264, 1, 8],
        issuer_der,
    )];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.not_before = utc(1_767_225_600); // 2026-01-01T00:00:00Z
    leaf.not_after = utc(1_767_226_200); // ten minutes later
    leaf.serial_number = Some(SerialNumber::from(2u64));
    let leaf_cert = leaf
        .signed_by(&leaf_key, &ca_cert, &ca_key)
        .expect("leaf certificate");
    let leaf_der = leaf_cert.der().to_vec();

    let payload = serde_json::to_vec(statement).expect("statement");
    let sig = leaf_ring.sign(&pae(INTOTO, &payload)).as_ref().to_vec();
    let envelope = json!({
        "payload": b64(&payload),
        "payloadType": INTOTO,
        "signatures": [{"sig": b64(&sig), "keyid": ""}],
    });
    let body = json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": hex(&sha256(envelope.to_string().as_bytes()))},
            "payloadHash": {"algorithm": "sha256", "value": hex(&sha256(&payload))},
            "signatures": [{"signature": b64(&sig), "verifier": b64(leaf_cert.pem().as_bytes())}],
        },
    });
    let body_b64 = b64(body.to_string().as_bytes());
    let log_spki = spki_ed25519(log_ring.public_key().as_ref());
    let log_id = sha256(&log_spki);
    // RFC 8785: keys sorted, no whitespace (serde_json's map is sorted).
    let set_payload = json!({
        "body": body_b64,
        "integratedTime": INTEGRATED_TIME,
        "logID": hex(&log_id),
        "logIndex": 7,
    })
    .to_string();
    let set = log_ring.sign(set_payload.as_bytes()).as_ref().to_vec();
    let bundle = json!({
        "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "verificationMaterial": {
            "x509CertificateChain": {"certificates": [{"rawBytes": b64(&leaf_der)}]},
            "tlogEntries": [{
                "logIndex": "7",
                "logId": {"keyId": b64(&log_id)},
                "kindVersion": {"kind": "dsse", "version": "0.0.1"},
                "integratedTime": INTEGRATED_TIME.to_string(),
                "inclusionPromise": {"signedEntryTimestamp": b64(&set)},
                "canonicalizedBody": body_b64,
            }],
            "timestampVerificationData": {"rfc3161Timestamps": []},
        },
        "dsseEnvelope": envelope,
    });
    let root = json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [{
            "baseUrl": "https://rekor.airlock.test",
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": b64(&log_spki),
                "keyDetails": "PKIX_ED25519",
                "validFor": {"start": "2025-01-01T00:00:00Z"},
            },
            "logId": {"keyId": b64(&log_id)},
        }],
        "certificateAuthorities": [{
            "subject": {"organization": "airlock test", "commonName": "airlock test fulcio"},
            "uri": "https://fulcio.airlock.test",
            "certChain": {"certificates": [{"rawBytes": b64(ca_cert.der())}]},
            "validFor": {"start": "2025-01-01T00:00:00Z"},
        }],
        "ctlogs": [],
        "timestampAuthorities": [],
    });
    let case = Case {
        bundle: dir.join(format!("{name}.sigstore.json")),
        root: dir.join(format!("{name}.trusted_root.json")),
    };
    std::fs::write(&case.bundle, serde_json::to_vec_pretty(&bundle).unwrap()).unwrap();
    std::fs::write(&case.root, serde_json::to_vec_pretty(&root).unwrap()).unwrap();
    case
}

fn statement(subject_digest: Value) -> Value {
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "pkg:npm/airlock-test@1.0.0", "digest": subject_digest}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {"buildType": "https://airlock.test/build"}},
    })
}

fn verify(case: &Case, identity: (&str, &str), artifact: &str) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_airlock"))
        .arg("verify-bundle")
        .arg("--bundle")
        .arg(&case.bundle)
        .arg(identity.0)
        .arg(identity.1)
        .arg("--certificate-oidc-issuer")
        .arg(ISSUER)
        .arg("--trusted-root")
        .arg(&case.root)
        .arg("--at")
        .arg(AT)
        .arg(artifact)
        .output()
        .expect("run airlock")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const EMAIL: (&str, &str) = ("--certificate-identity", "builder@airlock.test");

#[test]
fn sha512_only_dsse_subject_verifies_by_file_and_by_sha512_digest() {
    let dir = tempfile::tempdir().unwrap();
    let tgz = dir.path().join("airlock-test-1.0.0.tgz");
    std::fs::write(&tgz, b"an npm package tarball, for the test").unwrap();
    let bytes = std::fs::read(&tgz).unwrap();
    let case = generate(
        dir.path(),
        "npm-sha512",
        vec![SanType::Rfc822Name(
            "builder@airlock.test".try_into().unwrap(),
        )],
        &statement(json!({"sha512": hex(&sha512(&bytes))})),
    );
    let by_file = verify(&case, EMAIL, tgz.to_str().unwrap());
    assert_eq!(by_file.status.code(), Some(0), "{}", stderr(&by_file));
    let by_digest = verify(&case, EMAIL, &format!("sha512:{}", hex(&sha512(&bytes))));
    assert_eq!(by_digest.status.code(), Some(0), "{}", stderr(&by_digest));
}

#[test]
fn sha512_subject_fails_with_signature_digest_mismatch_for_other_content_or_only_a_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = b"an npm package tarball, for the test";
    let case = generate(
        dir.path(),
        "npm-sha512",
        vec![SanType::Rfc822Name(
            "builder@airlock.test".try_into().unwrap(),
        )],
        &statement(json!({"sha512": hex(&sha512(bytes))})),
    );
    let other = dir.path().join("other.tgz");
    std::fs::write(&other, b"another tarball").unwrap();
    // Other content, and the right content named by an algorithm the statement does not use:
    // a subject is never matched by its name alone.
    for artifact in [
        other.to_str().unwrap().to_string(),
        format!("sha512:{}", hex(&sha512(b"another tarball"))),
        format!("sha256:{}", hex(&sha256(bytes))),
    ] {
        let out = verify(&case, EMAIL, &artifact);
        assert_eq!(out.status.code(), Some(1), "{artifact}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("[signature-digest-mismatch]"),
            "{artifact}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn subjects_match_by_any_algorithm_both_sides_have() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = b"content with two digests";
    let file = dir.path().join("a.bin");
    std::fs::write(&file, bytes).unwrap();
    // sha256 of other content, sha512 of this one: the file matches through SHA-512.
    let case = generate(
        dir.path(),
        "mixed",
        vec![SanType::Rfc822Name(
            "builder@airlock.test".try_into().unwrap(),
        )],
        &statement(json!({
            "sha256": hex(&sha256(b"something else")),
            "sha512": hex(&sha512(bytes)),
        })),
    );
    let out = verify(&case, EMAIL, file.to_str().unwrap());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

fn username_case(dir: &Path, bytes: &[u8]) -> Case {
    generate(
        dir,
        "username",
        vec![SanType::OtherName((
            vec![1, 3, 6, 1, 4, 1, 57264, 1, 7],
            OtherNameValue::Utf8String("octo-builder!airlock.test".into()),
        ))],
        &statement(json!({"sha256": hex(&sha256(bytes))})),
    )
}

#[test]
fn othername_username_identity_verifies_exact_and_by_regexp() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.bin");
    std::fs::write(&file, b"signed by a username").unwrap();
    let case = username_case(dir.path(), b"signed by a username");
    let exact = verify(
        &case,
        ("--certificate-identity", "octo-builder!airlock.test"),
        file.to_str().unwrap(),
    );
    assert_eq!(exact.status.code(), Some(0), "{}", stderr(&exact));
    assert!(
        String::from_utf8_lossy(&exact.stdout).contains("octo-builder!airlock.test"),
        "{}",
        String::from_utf8_lossy(&exact.stdout)
    );
    let re = verify(
        &case,
        ("--certificate-identity-regexp", "^octo-builder!"),
        file.to_str().unwrap(),
    );
    assert_eq!(re.status.code(), Some(0), "{}", stderr(&re));
}

#[test]
fn othername_username_fails_with_identity_mismatch_naming_the_username() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.bin");
    std::fs::write(&file, b"signed by a username").unwrap();
    let case = username_case(dir.path(), b"signed by a username");
    let out = verify(
        &case,
        ("--certificate-identity", "someone-else!airlock.test"),
        file.to_str().unwrap(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("[certificate-identity-mismatch]"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("octo-builder!airlock.test"),
        "{}",
        stderr(&out)
    );
}

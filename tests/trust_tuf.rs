//! Trusted roots with provenance: a policy `trustedRoots` entry `{tuf: DIR, root: FILE, maxAge}`
//! verified offline at the verification time (`--at`), through `airlock verify`.
//!
//! Material: sigstore-python's staging TUF repository snapshot (`test/assets/staging-tuf`) and
//! the staging `root.json` it ships (`sigstore/_store/…sigstage.dev/root.json`), copied into
//! `testdata/vectors/` (provenance in its INDEX.md). Each case is also judged by an independent
//! TUF client, python-tuf (`scripts/tuf_check.py`; scripts/test.sh installs `tuf`), which must
//! agree: accepted, stale or invalid.
//!
//! Also here: `capture --tuf DIR` (the snapshot copied into the bundle, its digests in the lock,
//! then used from the bundle), and JSON-lines trusted roots (several roots in one file).
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::registry::{Flavour, Registry};
use serde_json::Value;

const TUF: &str = "testdata/vectors/sigstore-python/test/assets/staging-tuf";
const ROOT: &str =
    "testdata/vectors/sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstage.dev/root.json";
/// Inside every role's validity (timestamp.json expires 2025-07-29T13:28:44Z).
const INSIDE: &str = "2025-07-20T00:00:00Z";
/// After timestamp.json expired.
const AFTER: &str = "2025-08-01T00:00:00Z";
const TRUSTED_ROOT_TARGET: &str =
    "targets/ed6a9cf4e7c2e3297a4b5974fce0d17132f03c63512029d7aa3a402b43acab49.trusted_root.json";

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A copy of the staging snapshot in `dir`.
fn copy_snapshot(dir: &Path) -> PathBuf {
    let out = dir.join("staging-tuf");
    let src = repo(TUF);
    std::fs::create_dir_all(out.join("targets")).unwrap();
    for sub in ["", "targets"] {
        for e in std::fs::read_dir(src.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                std::fs::copy(&p, out.join(sub).join(p.file_name().unwrap())).unwrap();
            }
        }
    }
    out
}

/// One byte flipped: in a metadata file, a digit of the signed `expires` value (the signature no
/// longer verifies); in a target, a byte in the middle (its hash no longer matches).
fn flip(file: &Path) {
    let mut b = std::fs::read(file).unwrap();
    let i = match b.windows(9).position(|w| w == b"\"expires\"") {
        Some(p) => {
            let q = p + b[p..].iter().position(|c| c.is_ascii_digit()).unwrap();
            q + 3
        }
        None => b.len() / 2,
    };
    b[i] ^= 0x01;
    std::fs::write(file, b).unwrap();
}

fn policy(dir: &Path, tuf: &Path, max_age: &str) -> PathBuf {
    let p = dir.join("policy.yaml");
    std::fs::write(
        &p,
        format!(
            "apiVersion: airlock/v1\nkind: Policy\nkeys:\n  release: {}\ntrustedRoots:\n  staging:\n    tuf: {}\n    root: {}\n    maxAge: {max_age}\nrules:\n  - match: [\"**\"]\n    signatures:\n      keys: [release]\n    attestations:\n      - predicateType: https://slsa.dev/provenance/v1\n        keys: [release]\n    sbom: required\n    platforms: [linux/amd64, linux/arm64]\nunmatched: deny\n",
            repo("keys/demo.pub").display(),
            tuf.display(),
            repo(ROOT).display()
        ),
    )
    .unwrap();
    p
}

/// `airlock verify` of the demo bundle at `at`: (exit code, stdout JSON report text).
fn verify(policy: &Path, at: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .arg("verify")
        .arg(repo("testdata/bundles/demo"))
        .arg("--policy")
        .arg(policy)
        .args(["--at", at, "--format", "json"])
        .output()
        .expect("run airlock");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// python-tuf's verdict: "ok", "stale" or "invalid".
fn python_tuf(tuf: &Path, at: &str) -> String {
    let out = Command::new("python3")
        .arg(repo("scripts/tuf_check.py"))
        .arg(tuf)
        .arg(repo(ROOT))
        .arg(at)
        .output()
        .expect("python3 is needed (scripts/test.sh installs python-tuf)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_ne!(
        out.status.code(),
        Some(2),
        "python-tuf could not run: {}{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.split(':').next().unwrap_or("").trim().to_string()
}

#[test]
fn tuf_snapshot_is_accepted_inside_its_validity_and_python_tuf_agrees() {
    let t = tempfile::tempdir().unwrap();
    let tuf = copy_snapshot(t.path());
    let (code, out) = verify(&policy(t.path(), &tuf, "720h"), INSIDE);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("trust-root-"), "{out}");
    assert_eq!(python_tuf(&tuf, INSIDE), "ok");
}

#[test]
fn tuf_client_cache_layout_with_plain_names_is_accepted_inside_its_validity() {
    // As a TUF client cache (cosign initialize) holds it: root.json, snapshot.json, targets.json
    // and targets/trusted_root.json, without version or hash prefixes.
    let t = tempfile::tempdir().unwrap();
    let tuf = copy_snapshot(t.path());
    std::fs::rename(tuf.join("16.snapshot.json"), tuf.join("snapshot.json")).unwrap();
    std::fs::rename(tuf.join("17.targets.json"), tuf.join("targets.json")).unwrap();
    std::fs::rename(
        tuf.join(TRUSTED_ROOT_TARGET),
        tuf.join("targets/trusted_root.json"),
    )
    .unwrap();
    std::fs::copy(repo(ROOT), tuf.join("root.json")).unwrap();
    let (code, out) = verify(&policy(t.path(), &tuf, "720h"), INSIDE);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("trust-root-"), "{out}");
    // The same layout with the target altered is still caught.
    flip(&tuf.join("targets/trusted_root.json"));
    let (code, out) = verify(&policy(t.path(), &tuf, "720h"), INSIDE);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("trust-root-invalid"), "{out}");
}

#[test]
fn tuf_snapshot_after_expiry_fails_with_trust_root_stale_and_python_tuf_agrees() {
    let t = tempfile::tempdir().unwrap();
    let tuf = copy_snapshot(t.path());
    let (code, out) = verify(&policy(t.path(), &tuf, "720h"), AFTER);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("trust-root-stale"), "{out}");
    assert!(out.contains("timestamp metadata"), "{out}");
    assert_eq!(python_tuf(&tuf, AFTER), "stale");
}

#[test]
fn tuf_snapshot_older_than_max_age_fails_with_trust_root_stale() {
    let t = tempfile::tempdir().unwrap();
    let tuf = copy_snapshot(t.path());
    // Taken (timestamp.json written) on 2025-07-01; maxAge 24h; verified on 2025-07-20.
    let f = std::fs::File::options()
        .write(true)
        .open(tuf.join("timestamp.json"))
        .unwrap();
    f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_751_328_000))
        .unwrap();
    let (code, out) = verify(&policy(t.path(), &tuf, "24h"), INSIDE);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("trust-root-stale"), "{out}");
    assert!(out.contains("maxAge"), "{out}");
}

#[test]
fn one_flipped_byte_in_timestamp_snapshot_targets_or_trusted_root_fails_with_trust_root_invalid_and_python_tuf_agrees(
) {
    for file in [
        "timestamp.json",
        "16.snapshot.json",
        "17.targets.json",
        TRUSTED_ROOT_TARGET,
    ] {
        let t = tempfile::tempdir().unwrap();
        let tuf = copy_snapshot(t.path());
        flip(&tuf.join(file));
        let (code, out) = verify(&policy(t.path(), &tuf, "720h"), INSIDE);
        assert_eq!(code, 1, "{file}: {out}");
        assert!(out.contains("trust-root-invalid"), "{file}: {out}");
        assert_eq!(python_tuf(&tuf, INSIDE), "invalid", "{file}");
    }
}

/// The staging snapshot's files, as `capture --tuf` must copy them.
fn snapshot_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for sub in ["", "targets/"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                let name = format!("{sub}{}", p.file_name().unwrap().to_string_lossy());
                out.push((name, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    common::content::sha256_hex(bytes)
}

/// A policy trusting the TUF snapshot the bundle carries (a `trustedRoots` entry without
/// `tuf:`), with one rule that lets `host`'s unsigned images through (the point is the trusted
/// root, not the image).
fn unsigned_policy(dir: &Path, host: &str) -> PathBuf {
    let p = dir.join("policy.yaml");
    std::fs::write(
        &p,
        format!(
            "apiVersion: airlock/v1\nkind: Policy\ntrustedRoots:\n  staging:\n    root: {}\n    maxAge: 720h\nrules:\n  - match: [\"{host}/**\"]\n    signatures: none\n",
            repo(ROOT).display()
        ),
    )
    .unwrap();
    p
}

fn verify_dir(bundle: &Path, policy: &Path, at: &str) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .arg("verify")
        .arg(bundle)
        .arg("--policy")
        .arg(policy)
        .args(["--at", at, "--format", "json"])
        .output()
        .expect("run airlock");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "no JSON report: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

/// (code, subject) of every report-level finding.
fn global_findings(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["code"].as_str().unwrap_or("").to_string(),
                f["subject"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn capture_tuf_stores_the_snapshot_in_the_bundle_records_its_digests_and_verify_uses_it() {
    let reg = Registry::start(Flavour::Plain);
    reg.fixtures()
        .image("team/tool", "v1", &[b"tool layer".to_vec()]);
    let t = tempfile::tempdir().unwrap();
    let src = copy_snapshot(t.path());
    let bundle = t.path().join("bundle");
    let o = reg.capture(
        &[reg.image_ref("team/tool", "v1")],
        &bundle,
        &["--tuf", src.to_str().unwrap()],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // Every file recorded in the lock with its digest and size, and stored as that blob.
    let expected = snapshot_files(&src);
    let lock: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("airlock.lock.json")).unwrap()).unwrap();
    assert_eq!(lock["tuf"]["source"], src.display().to_string());
    let recorded: Vec<(String, String, u64)> = lock["tuf"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["digest"].as_str().unwrap().to_string(),
                f["size"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, String, u64)> = expected
        .iter()
        .map(|(p, b)| {
            (
                p.clone(),
                format!("sha256:{}", sha256_hex(b)),
                b.len() as u64,
            )
        })
        .collect();
    assert_eq!(recorded, want);
    for (_, b) in &expected {
        let blob = bundle.join("blobs/sha256").join(sha256_hex(b));
        assert_eq!(&std::fs::read(&blob).unwrap(), b);
    }

    // The bundle's snapshot is the policy's trusted root: accepted inside its validity.
    let policy = unsigned_policy(t.path(), &reg.host);
    let (code, report) = verify_dir(&bundle, &policy, INSIDE);
    assert_eq!(code, 0, "{report}");
    assert!(global_findings(&report).is_empty(), "{report}");
    // It crosses the gap with the bundle: packed, unpacked, verified from the unpacked copy.
    let packed = t.path().join("bundle.tar");
    let crossed = t.path().join("crossed");
    for args in [
        vec![
            "pack".into(),
            bundle.display().to_string(),
            "-o".into(),
            packed.display().to_string(),
        ],
        vec![
            "unpack".into(),
            format!("{}.chunks.json", packed.display()),
            "-o".into(),
            crossed.display().to_string(),
        ],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_airlock"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let (code, report) = verify_dir(&crossed, &policy, INSIDE);
    assert_eq!(code, 0, "{report}");
    assert!(global_findings(&report).is_empty(), "{report}");

    // ... and stale after timestamp.json expired.
    let (code, report) = verify_dir(&bundle, &policy, AFTER);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        global_findings(&report),
        vec![(
            "trust-root-stale".to_string(),
            "trustedRoots.staging".to_string()
        )]
    );

    // One byte of the carried trusted_root.json flipped: the lock check and the TUF check both
    // say trust-root-invalid.
    let target = &expected
        .iter()
        .find(|(p, _)| p == TRUSTED_ROOT_TARGET)
        .unwrap()
        .1;
    flip(&bundle.join("blobs/sha256").join(sha256_hex(target)));
    let (code, report) = verify_dir(&bundle, &policy, INSIDE);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        global_findings(&report),
        vec![
            (
                "trust-root-invalid".to_string(),
                format!("tuf:{TRUSTED_ROOT_TARGET}")
            ),
            (
                "trust-root-invalid".to_string(),
                "trustedRoots.staging".to_string()
            ),
        ]
    );
}

#[test]
fn tuf_entry_without_a_directory_fails_with_trust_root_invalid_when_the_bundle_carries_none() {
    let t = tempfile::tempdir().unwrap();
    let policy = unsigned_policy(t.path(), "registry.example");
    let (code, report) = verify_dir(&repo("testdata/bundles/demo"), &policy, INSIDE);
    assert_eq!(code, 1, "{report}");
    assert!(
        global_findings(&report).contains(&(
            "trust-root-invalid".to_string(),
            "trustedRoots.staging".to_string()
        )),
        "{report}"
    );
}

#[test]
fn capture_tuf_refuses_a_directory_without_timestamp_json_before_touching_the_network() {
    let t = tempfile::tempdir().unwrap();
    let empty = t.path().join("not-tuf");
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["capture", "127.0.0.1:9/none/app:v1", "-o"])
        .arg(t.path().join("bundle"))
        .arg("--tuf")
        .arg(&empty)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("has no timestamp.json"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// JSON-lines trusted roots (GitHub's `gh attestation trusted-root` format).

const HAPPY: &str =
    "testdata/vectors/sigstore-conformance/test/assets/bundle-verify/happy-path-v0.3/bundle.sigstore.json";
const A_TXT: &str = "testdata/vectors/sigstore-conformance/test/assets/bundle-verify/a.txt";
const PROD_ROOT: &str =
    "testdata/vectors/sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json";
const BEACON: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const GHA: &str = "https://token.actions.githubusercontent.com";

/// One compact JSON line per trusted root file.
fn json_lines(dir: &Path, roots: &[&str]) -> PathBuf {
    let mut text = String::new();
    for r in roots {
        let v: Value = serde_json::from_slice(&std::fs::read(repo(r)).unwrap()).unwrap();
        text.push_str(&serde_json::to_string(&v).unwrap());
        text.push('\n');
    }
    let p = dir.join("trusted_root.jsonl");
    std::fs::write(&p, text).unwrap();
    p
}

fn verify_bundle_with(root: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_airlock"))
        .arg("verify-bundle")
        .arg("--bundle")
        .arg(repo(HAPPY))
        .args([
            "--certificate-identity",
            BEACON,
            "--certificate-oidc-issuer",
            GHA,
        ])
        .arg("--trusted-root")
        .arg(root)
        .args(["--at", "2024-03-20T00:00:00Z"])
        .arg(repo(A_TXT))
        .output()
        .unwrap()
}

#[test]
fn json_lines_trusted_root_verifies_with_any_of_its_roots() {
    let t = tempfile::tempdir().unwrap();
    let staging = format!("{TUF}/{TRUSTED_ROOT_TARGET}");
    // The staging root first, the public-good root (that signed the bundle) second.
    let both = json_lines(t.path(), &[&staging, PROD_ROOT]);
    let o = verify_bundle_with(&both);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn json_lines_trusted_root_without_the_signing_root_fails_with_exit_1() {
    let t = tempfile::tempdir().unwrap();
    let staging = format!("{TUF}/{TRUSTED_ROOT_TARGET}");
    let only_staging = json_lines(t.path(), &[&staging, &staging]);
    let o = verify_bundle_with(&only_staging);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

//! Trusted roots with provenance: a policy `trustedRoots` entry `{tuf: DIR, root: FILE, maxAge}`
//! verified offline at the verification time (`--at`), through `airlock verify`.
//!
//! Material: sigstore-python's staging TUF repository snapshot (`test/assets/staging-tuf`) and
//! the staging `root.json` it ships (`sigstore/_store/…sigstage.dev/root.json`), copied into
//! `testdata/vectors/` (provenance in its INDEX.md). Each case is also judged by an independent
//! TUF client, python-tuf (`scripts/tuf_check.py`; scripts/test.sh installs `tuf`), which must
//! agree: accepted, stale or invalid.
use std::path::{Path, PathBuf};
use std::process::Command;

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

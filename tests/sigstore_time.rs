//! One clock for keyless verification, and RFC 3161 timestamp semantics, through the binary.
//!
//! - The verification time is `--at` (default now): the same keyless bundle passes or fails
//!   depending on it, and a faked wall clock (`faketime`, far in the future) changes nothing.
//! - A timestamp that does not verify is ignored with a warning while another time source
//!   verifies; with none left the bundle fails with `timestamp-invalid`; duplicates and more than
//!   32 timestamps are refused.
//!
//! The timestamp cases are generated here, deterministically, from the real Rekor v2 + TSA
//! bundle of the sigstore-conformance suite (`testdata/vectors/sigstore-conformance/…/
//! rekor2-happy-path`): a second copy of its timestamp with one byte of the CMS signature
//! flipped is a timestamp that does not verify.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use serde_json::Value;

const BEACON: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const GHA: &str = "https://token.actions.githubusercontent.com";
const ASSETS: &str = "testdata/vectors/sigstore-conformance/test/assets/bundle-verify";
const PROD_ROOT: &str =
    "testdata/vectors/sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json";

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// `airlock verify-bundle` for the conformance beacon identity, optionally under a faked wall
/// clock (`faketime` must be installed: scripts/test.sh installs it; a missing tool fails).
fn verify_bundle(
    bundle: &Path,
    root: &Path,
    artifact: &Path,
    at: Option<&str>,
    fake_clock: Option<&str>,
) -> Output {
    let mut cmd = match fake_clock {
        Some(clock) => {
            let mut c = Command::new("faketime");
            c.arg(clock).arg(env!("CARGO_BIN_EXE_airlock"));
            c
        }
        None => Command::new(env!("CARGO_BIN_EXE_airlock")),
    };
    cmd.arg("verify-bundle")
        .arg("--bundle")
        .arg(bundle)
        .arg("--certificate-identity")
        .arg(BEACON)
        .arg("--certificate-oidc-issuer")
        .arg(GHA)
        .arg("--trusted-root")
        .arg(root);
    if let Some(at) = at {
        cmd.arg("--at").arg(at);
    }
    cmd.arg(artifact);
    cmd.output()
        .expect("run airlock (and faketime: apt-get install faketime)")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

// ---------------------------------------------------------------------------------------------
// One clock.

/// happy-path-v0.3 was logged at 2024-03-19T17:26:26Z (its Rekor SET's integrated time).
fn happy(at: Option<&str>, clock: Option<&str>) -> Output {
    verify_bundle(
        &repo(&format!("{ASSETS}/happy-path-v0.3/bundle.sigstore.json")),
        &repo(PROD_ROOT),
        &repo(&format!("{ASSETS}/a.txt")),
        at,
        clock,
    )
}

#[test]
fn keyless_outcome_follows_at_fails_with_timestamp_invalid_before_the_signing_time() {
    let before = happy(Some("2024-03-19T00:00:00Z"), None);
    assert_eq!(before.status.code(), Some(1), "{}", stderr(&before));
    assert!(
        stderr(&before).contains("[timestamp-invalid]"),
        "{}",
        stderr(&before)
    );
    assert!(
        stderr(&before).contains("2024-03-19T17:26:26Z"),
        "{}",
        stderr(&before)
    );
    let after = happy(Some("2024-03-20T00:00:00Z"), None);
    assert_eq!(after.status.code(), Some(0), "{}", stderr(&after));
}

#[test]
fn keyless_outcome_ignores_a_faked_wall_clock_and_follows_at() {
    // The wall clock in 2099: only --at decides.
    let clock = "2099-01-01 00:00:00";
    let before = happy(Some("2024-03-19T00:00:00Z"), Some(clock));
    assert_eq!(before.status.code(), Some(1), "{}", stderr(&before));
    assert!(stderr(&before).contains("[timestamp-invalid]"));
    let after = happy(Some("2024-03-20T00:00:00Z"), Some(clock));
    assert_eq!(after.status.code(), Some(0), "{}", stderr(&after));
}

#[test]
fn sigstore_library_code_reads_no_clock() {
    // The verification core and the Sigstore module get the time from their caller.
    let mut offenders = Vec::new();
    for dir in ["src/trust", "src/verify"] {
        let mut stack = vec![repo(dir)];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("read src dir") {
                let p = e.expect("entry").path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let text = std::fs::read_to_string(&p).expect("read source");
                for needle in [
                    "SystemTime::now",
                    "Instant::now",
                    "now_utc",
                    "Timestamp::now",
                    "Utc::now",
                ] {
                    if text.contains(needle) {
                        offenders.push(format!("{} uses {needle}", p.display()));
                    }
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Timestamps.

/// The rekor2-happy-path bundle (its only time source is one RFC 3161 timestamp) with its
/// timestamp list replaced by `make(good)`, written to `dir`.
fn rekor2_with_timestamps(dir: &Path, name: &str, make: impl Fn(&Value) -> Vec<Value>) -> PathBuf {
    let src = repo(&format!("{ASSETS}/rekor2-happy-path/bundle.sigstore.json"));
    let mut b: Value = serde_json::from_slice(&std::fs::read(src).expect("bundle")).expect("json");
    let list = b
        .pointer_mut("/verificationMaterial/timestampVerificationData/rfc3161Timestamps")
        .and_then(Value::as_array_mut)
        .expect("timestamps");
    let good = list[0].clone();
    *list = make(&good);
    let out = dir.join(name);
    std::fs::write(&out, serde_json::to_vec_pretty(&b).expect("json")).expect("write");
    out
}

/// The timestamp with one byte of its CMS signature (near the end of the DER) flipped.
fn corrupted(good: &Value) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut der = b64
        .decode(good["signedTimestamp"].as_str().expect("signedTimestamp"))
        .expect("base64");
    let i = der.len() - 10;
    der[i] ^= 0x01;
    serde_json::json!({"signedTimestamp": b64.encode(der)})
}

fn rekor2(bundle: &Path) -> Output {
    verify_bundle(
        bundle,
        &repo(&format!("{ASSETS}/rekor2-happy-path/trusted_root.json")),
        &repo(&format!("{ASSETS}/a.txt")),
        None,
        None,
    )
}

#[test]
fn one_good_and_one_bad_timestamp_verifies_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    for (name, order) in [("good-bad.json", true), ("bad-good.json", false)] {
        let b = rekor2_with_timestamps(dir.path(), name, |g| {
            if order {
                vec![g.clone(), corrupted(g)]
            } else {
                vec![corrupted(g), g.clone()]
            }
        });
        let out = rekor2(&b);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("WARNING") && stderr(&out).contains("was ignored"),
            "{name}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn only_a_bad_timestamp_fails_with_timestamp_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let b = rekor2_with_timestamps(dir.path(), "bad.json", |g| vec![corrupted(g)]);
    let out = rekor2(&b);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("[timestamp-invalid]"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn duplicate_timestamps_fail_with_timestamp_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let b = rekor2_with_timestamps(dir.path(), "dup.json", |g| vec![g.clone(), g.clone()]);
    let out = rekor2(&b);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("[timestamp-invalid]"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("identical"), "{}", stderr(&out));
}

#[test]
fn more_than_32_timestamps_fail_with_timestamp_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let b = rekor2_with_timestamps(dir.path(), "many.json", |g| {
        let mut v = vec![g.clone()];
        for _ in 0..32 {
            v.push(corrupted(g));
        }
        v
    });
    let out = rekor2(&b);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("[timestamp-invalid]"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("over the limit of 32"),
        "{}",
        stderr(&out)
    );
}

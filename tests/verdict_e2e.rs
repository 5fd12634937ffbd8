//! The verdict binds, against the real `docker-registry`: push needs a verdict and pushes only
//! the images that passed; the mapping records it; `verify --registry` of that mapping passes;
//! a signed report is a verdict only when its signature and policy digest hold.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::fixtures::*;
use common::keys::TestKey;
use common::registry::{Flavour, Registry};
use serde_json::Value;

const REPO: &str = "team/single";

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// `team/**` needs a signature by `release`.
fn policy(dir: &Path, key: &TestKey, source: &Registry) -> PathBuf {
    fs::write(dir.join("release.pub"), key.public_key_pem()).unwrap();
    let p = dir.join("policy.yaml");
    fs::write(
        &p,
        format!(
            "apiVersion: airlock/v1\nkind: Policy\nkeys:\n  release: release.pub\nrules:\n  - match: [\"{}/team/**\"]\n    signatures:\n      keys: [release]\n",
            source.host
        ),
    )
    .unwrap();
    p
}

/// Two signed images (`good1`, `good2`) and one unsigned (`bad`), captured into `dir`.
fn mixed_bundle(src: &Registry, key: &TestKey, dir: &Path) -> (Pushed, Pushed, Pushed) {
    let fx = src.fixtures();
    let good1 = fx.image(REPO, "good1", &[b"good one".to_vec()]);
    fx.cosign_signature(REPO, &good1.digest, &src.repo_ref(REPO), &key.signer());
    let good2 = fx.image(REPO, "good2", &[b"good two".to_vec()]);
    fx.cosign_signature(REPO, &good2.digest, &src.repo_ref(REPO), &key.signer());
    let bad = fx.image(REPO, "bad", &[b"unsigned".to_vec()]);
    let refs: Vec<String> = ["good1", "good2", "bad"]
        .iter()
        .map(|t| src.image_ref(REPO, t))
        .collect();
    let o = src.capture(&refs, dir, &[]);
    assert_eq!(o.status.code(), Some(0), "capture: {}", stderr(&o));
    (good1, good2, bad)
}

fn get_json(reg: &Registry, path: &str) -> (u16, Value) {
    let r = reg.client().get(reg.url(path)).send().unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn catalog(reg: &Registry) -> Vec<String> {
    let (_, v) = get_json(reg, "/v2/_catalog");
    v["repositories"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x.as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn tags(reg: &Registry, repo: &str) -> Vec<String> {
    let (_, v) = get_json(reg, &format!("/v2/{repo}/tags/list"));
    let mut t: Vec<String> = v["tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x.as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    t.sort();
    t
}

fn manifest_status(reg: &Registry, repo: &str, reference: &str) -> u16 {
    reg.client()
        .head(reg.url(&format!("/v2/{repo}/manifests/{reference}")))
        .header(
            "Accept",
            "application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json",
        )
        .send()
        .unwrap()
        .status()
        .as_u16()
}

fn push(dst: &Registry, dir: &Path, extra: &[&str]) -> Output {
    dst.airlock()
        .arg("push")
        .arg(dir)
        .arg(&dst.host)
        .args(dst.cli_flags())
        .args(extra)
        .output()
        .unwrap()
}

/// `push --report SIGNED --report-key KEY --policy POLICY`.
fn push_with_report(
    dst: &Registry,
    dir: &Path,
    signed: &Path,
    key: &Path,
    policy: &Path,
) -> Output {
    let arg = |p: &Path| p.to_str().unwrap().to_string();
    let (signed, key, policy) = (arg(signed), arg(key), arg(policy));
    push(
        dst,
        dir,
        &[
            "--report",
            &signed,
            "--report-key",
            &key,
            "--policy",
            &policy,
        ],
    )
}

#[test]
fn push_with_policy_pushes_only_passing_images_exit_1_and_verify_registry_of_the_mapping_passes() {
    let tmp = tempfile::tempdir().unwrap();
    let src = Registry::start(Flavour::Plain);
    let dst = Registry::start(Flavour::Plain);
    let key = TestKey::generate();
    let dir = tmp.path().join("bundle");
    let (good1, good2, bad) = mixed_bundle(&src, &key, &dir);
    let pol = policy(tmp.path(), &key, &src);

    let o = push(&dst, &dir, &["--policy", pol.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("did not pass verification"),
        "{}",
        stderr(&o)
    );

    // The target holds exactly the passing images' tags (plus their signatures).
    let t = tags(&dst, REPO);
    assert!(
        t.contains(&"good1".to_string()) && t.contains(&"good2".to_string()),
        "{t:?}"
    );
    assert!(!t.contains(&"bad".to_string()), "{t:?}");
    assert_eq!(
        t.iter().filter(|x| !x.ends_with(".sig")).count(),
        2,
        "{t:?}"
    );
    assert_eq!(manifest_status(&dst, REPO, &bad.digest), 404);
    assert_eq!(manifest_status(&dst, REPO, &good1.digest), 200);
    assert_eq!(manifest_status(&dst, REPO, &good2.digest), 200);

    // The mapping records the verdict and the report it came from.
    let mapping: Value =
        serde_json::from_slice(&fs::read(dir.join("airlock.mapping.json")).unwrap()).unwrap();
    let images = mapping["images"].as_array().unwrap();
    assert_eq!(images.len(), 2);
    let report_bytes = fs::read(dir.join("airlock.report.json")).unwrap();
    let report_digest = airlock::oci::Digest::sha256_of(&report_bytes).to_string();
    for i in images {
        assert_eq!(i["verdict"], "pass");
        assert_eq!(i["report"], report_digest.as_str());
        assert_ne!(i["digest"], bad.digest.as_str());
    }

    // What the registry serves verifies against the lock (the failed image is known withheld).
    let o = dst
        .airlock()
        .arg("verify")
        .args(["--registry", &dst.host, "--lock"])
        .arg(dir.join("airlock.lock.json"))
        .arg("--policy")
        .arg(&pol)
        .args(["--format", "json"])
        .args(dst.cli_flags())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
}

#[test]
fn push_without_a_verdict_flag_is_exit_2_and_uploads_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let src = Registry::start(Flavour::Plain);
    let dst = Registry::start(Flavour::Plain);
    let key = TestKey::generate();
    let dir = tmp.path().join("bundle");
    mixed_bundle(&src, &key, &dir);
    let o = push(&dst, &dir, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    for flag in ["--policy", "--report", "--no-verify"] {
        assert!(stderr(&o).contains(flag), "{}", stderr(&o));
    }
    assert!(catalog(&dst).is_empty(), "{:?}", catalog(&dst));
    assert!(!dir.join("airlock.mapping.json").exists());
}

#[test]
fn push_with_no_verify_pushes_everything_recorded_as_unverified() {
    let tmp = tempfile::tempdir().unwrap();
    let src = Registry::start(Flavour::Plain);
    let dst = Registry::start(Flavour::Plain);
    let key = TestKey::generate();
    let dir = tmp.path().join("bundle");
    mixed_bundle(&src, &key, &dir);
    let o = push(&dst, &dir, &["--no-verify"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mapping: Value =
        serde_json::from_slice(&fs::read(dir.join("airlock.mapping.json")).unwrap()).unwrap();
    let images = mapping["images"].as_array().unwrap();
    assert_eq!(images.len(), 3);
    assert!(images
        .iter()
        .all(|i| i["verdict"] == "unverified" && i.get("report").is_none()));
}

#[test]
fn push_with_a_signed_report_pushes_what_it_passed_and_refuses_a_forged_or_stale_one() {
    let tmp = tempfile::tempdir().unwrap();
    let src = Registry::start(Flavour::Plain);
    let key = TestKey::generate();
    let gate = TestKey::generate();
    let dir = tmp.path().join("bundle");
    let (good1, _, bad) = mixed_bundle(&src, &key, &dir);
    let pol = policy(tmp.path(), &key, &src);
    fs::write(tmp.path().join("gate.key"), gate.private_key_pem()).unwrap();
    fs::write(tmp.path().join("gate.pub"), gate.public_key_pem()).unwrap();
    let signed = tmp.path().join("report.dsse.json");
    let o = src
        .airlock()
        .arg("verify")
        .arg(&dir)
        .arg("--policy")
        .arg(&pol)
        .arg("--report")
        .arg(&signed)
        .arg("--sign-key")
        .arg(tmp.path().join("gate.key"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));

    // A report signed by another key: exit 2, nothing uploaded.
    let other = TestKey::generate();
    fs::write(tmp.path().join("other.pub"), other.public_key_pem()).unwrap();
    let dst = Registry::start(Flavour::Plain);
    let o = push_with_report(&dst, &dir, &signed, &tmp.path().join("other.pub"), &pol);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(catalog(&dst).is_empty());

    // The right key, but the policy changed since the report was made: exit 2, nothing uploaded.
    let changed = tmp.path().join("changed.yaml");
    fs::write(
        &changed,
        format!("{}\nunmatched: deny\n", fs::read_to_string(&pol).unwrap()),
    )
    .unwrap();
    let o = push_with_report(&dst, &dir, &signed, &tmp.path().join("gate.pub"), &changed);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("policy"), "{}", stderr(&o));
    assert!(catalog(&dst).is_empty());

    // The genuine report: the passing images go, the failed one does not; exit 1.
    let o = push_with_report(&dst, &dir, &signed, &tmp.path().join("gate.pub"), &pol);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(manifest_status(&dst, REPO, &good1.digest), 200);
    assert_eq!(manifest_status(&dst, REPO, &bad.digest), 404);
    let mapping: Value =
        serde_json::from_slice(&fs::read(dir.join("airlock.mapping.json")).unwrap()).unwrap();
    let want = airlock::oci::Digest::sha256_of(&fs::read(&signed).unwrap()).to_string();
    for i in mapping["images"].as_array().unwrap() {
        assert_eq!(i["verdict"], "pass");
        assert_eq!(i["report"], want.as_str());
    }
    // Admission from this mapping names no digest of the failed image.
    for format in ["kyverno", "policy-controller"] {
        let o = dst
            .airlock()
            .args(["admission", "--format", format, "--lock"])
            .arg(dir.join("airlock.lock.json"))
            .arg("--policy")
            .arg(&pol)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            !out.contains(bad.digest.trim_start_matches("sha256:")),
            "{out}"
        );
        assert!(
            out.contains(good1.digest.trim_start_matches("sha256:")) || format == "kyverno",
            "{out}"
        );
    }
}

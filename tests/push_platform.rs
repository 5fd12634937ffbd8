//! Push of a bundle captured with `--platform`: refused before any upload without
//! `push --platform`, and pushed as that platform's manifest with it.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use common::keys::TestKey;
use common::registry::{Flavour, Registry};
use common::scenarios::publish_full;
use serde_json::Value;

const REPO: &str = "team/app";

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `airlock push DIR HOST` with the target's transport flags and `extra` (one place to add the
/// push verdict flags).
fn push(target: &Registry, dir: &Path, extra: &[&str]) -> Output {
    target
        .airlock()
        .arg("push")
        .arg(dir)
        .arg(&target.host)
        .args(target.cli_flags())
        .arg("--no-verify")
        .args(extra)
        .output()
        .unwrap()
}

fn amd64_bundle(source: &Registry, dir: &Path) -> common::PushedIndex {
    let key = TestKey::generate();
    let idx = publish_full(source, &key, REPO, "v1");
    fs::write(dir.join("release.pub"), key.public_key_pem()).unwrap();
    let o = source.capture(
        &[source.image_ref(REPO, "v1")],
        &dir.join("bundle"),
        &["--platform", "linux/amd64"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    idx
}

#[test]
fn platform_filtered_bundle_push_is_exit_2_before_any_upload_and_names_push_platform() {
    let source = Registry::start(Flavour::Plain);
    let target = Registry::start(Flavour::Plain);
    let tmp = tempfile::tempdir().unwrap();
    amd64_bundle(&source, tmp.path());
    let o = push(&target, &tmp.path().join("bundle"), &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("every child"), "{err}");
    assert!(err.contains("--platform linux/amd64"), "{err}");
    assert!(err.contains("linux/arm64/v8"), "{err}");
    // Nothing reached the target.
    assert!(target.pusher().tags(REPO).is_empty());
    assert!(!tmp.path().join("bundle/airlock.mapping.json").exists());
}

#[test]
fn push_platform_puts_that_platforms_manifest_with_its_signature_under_the_tag_and_maps_it() {
    let source = Registry::start(Flavour::Plain);
    let target = Registry::start(Flavour::Plain);
    let tmp = tempfile::tempdir().unwrap();
    let idx = amd64_bundle(&source, tmp.path());
    let amd64 = idx.child("linux/amd64").unwrap().to_string();
    let dir = tmp.path().join("bundle");
    let o = push(&target, &dir, &["--platform", "linux/amd64"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The tag names the amd64 manifest, byte-exact; its signature is there too.
    let (_, served) = target.pusher().get_manifest(REPO, "v1");
    assert_eq!(common::digest_of(&served), amd64);
    let sig_tag = common::sig_tag(&amd64);
    assert!(target.pusher().tags(REPO).contains(&sig_tag));
    let mapping: Value =
        serde_json::from_slice(&fs::read(dir.join("airlock.mapping.json")).unwrap()).unwrap();
    assert_eq!(mapping["images"][0]["digest"], amd64.as_str());
    assert_eq!(
        mapping["images"][0]["target"],
        format!("{}/{REPO}@{amd64}", target.host).as_str()
    );
}

#[test]
fn push_platform_that_the_bundle_does_not_hold_is_exit_2() {
    let source = Registry::start(Flavour::Plain);
    let target = Registry::start(Flavour::Plain);
    let tmp = tempfile::tempdir().unwrap();
    amd64_bundle(&source, tmp.path());
    let o = push(
        &target,
        &tmp.path().join("bundle"),
        &["--platform", "linux/arm64"],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("not captured"), "{err}");
    let o = push(
        &target,
        &tmp.path().join("bundle"),
        &["--platform", "linux"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn push_platform_then_verify_registry_passes() {
    let source = Registry::start(Flavour::Plain);
    let target = Registry::start(Flavour::Plain);
    let tmp = tempfile::tempdir().unwrap();
    amd64_bundle(&source, tmp.path());
    let dir = tmp.path().join("bundle");
    let o = push(&target, &dir, &["--platform", "linux/amd64"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let policy = tmp.path().join("policy.yaml");
    fs::write(
        &policy,
        format!(
            "apiVersion: airlock/v1\nkind: Policy\nkeys:\n  release: release.pub\nrules:\n  - match: [\"{}/team/**\"]\n    signatures:\n      keys: [release]\n    platforms: [linux/amd64]\n",
            source.host
        ),
    )
    .unwrap();
    let v = target
        .airlock()
        .arg("verify")
        .args(["--registry", &target.host, "--lock"])
        .arg(dir.join("airlock.lock.json"))
        .arg("--mapping")
        .arg(dir.join("airlock.mapping.json"))
        .arg("--policy")
        .arg(&policy)
        .args(target.cli_flags())
        .output()
        .unwrap();
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&v.stdout),
        stderr(&v)
    );
}

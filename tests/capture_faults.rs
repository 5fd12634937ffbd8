//! Capture-side faults against the real `docker-registry`: content problems at the source are
//! findings (exit 1) and the rest of the capture goes on; operator mistakes are exit 2; two
//! captures into one directory do not interleave.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
mod common;

use std::fs;
use std::path::Path;

use common::fixtures::*;
use common::registry::{Flavour, Registry};
use serde_json::Value;

const REPO: &str = "team/app";

fn lock(out: &Path) -> Value {
    serde_json::from_slice(&fs::read(out.join("airlock.lock.json")).unwrap()).unwrap()
}

fn missing_codes(l: &Value) -> Vec<String> {
    l["missing"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| m["code"].as_str().unwrap_or("").to_string())
        .collect()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn index_refs(out: &Path) -> Vec<String> {
    let idx: Value = serde_json::from_slice(&fs::read(out.join("index.json")).unwrap()).unwrap();
    let mut v: Vec<String> = idx["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[test]
fn blob_missing_at_the_source_is_exit_1_the_other_image_is_captured_and_the_lock_names_it() {
    let reg = Registry::start(Flavour::Plain);
    let fx = reg.fixtures();
    let broken = fx.image(REPO, "broken", &[b"layer the registry lost".to_vec()]);
    let good = fx.image("team/other", "v1", &[b"layer that is still there".to_vec()]);
    fs::remove_file(reg.blob_data_path(&broken.layer_digests[0])).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("b");
    let o = reg.capture(
        &[
            reg.image_ref(REPO, "broken"),
            reg.image_ref("team/other", "v1"),
        ],
        &out,
        &[],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("blob-missing"), "{err}");
    assert!(err.contains("captured 2 image(s)"), "{err}");
    // The other image is complete in the bundle.
    assert!(out
        .join("blobs/sha256")
        .join(good.layer_digests[0].trim_start_matches("sha256:"))
        .exists());
    let l = lock(&out);
    assert_eq!(l["images"].as_array().unwrap().len(), 2);
    assert_eq!(missing_codes(&l), vec!["blob-missing".to_string()]);
    assert_eq!(l["missing"][0]["subject"], broken.layer_digests[0].as_str());
}

#[test]
fn index_listing_a_child_with_the_wrong_size_is_blob_digest_mismatch_exit_1() {
    let reg = Registry::start(Flavour::Plain);
    let child = reg.fixtures().image(REPO, "", &[b"child layer".to_vec()]);
    let idx = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{
            "mediaType": OCI_MANIFEST,
            "digest": child.digest,
            "size": child.size + 7,
            "platform": {"os": "linux", "architecture": "amd64"},
        }],
    });
    reg.pusher()
        .put_manifest(REPO, "v1", OCI_INDEX, &serde_json::to_vec(&idx).unwrap());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("b");
    let o = reg.capture(&[reg.image_ref(REPO, "v1")], &out, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("blob-digest-mismatch"), "{err}");
    assert!(err.contains(&format!("size {}", child.size + 7)), "{err}");
    assert_eq!(missing_codes(&lock(&out)), vec!["blob-digest-mismatch"]);
}

#[test]
fn platform_without_an_architecture_is_exit_2_and_creates_nothing() {
    let reg = Registry::start(Flavour::Plain);
    reg.fixtures().image(REPO, "v1", &[b"x".to_vec()]);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("b");
    for bad in ["linux", "linux/", "Linux/AMD64", "linux/amd64/v8/x"] {
        let o = reg.capture(&[reg.image_ref(REPO, "v1")], &out, &["--platform", bad]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{bad}: {err}");
        assert!(err.contains("OS/ARCH"), "{err}");
        assert!(!out.exists(), "{bad}: nothing may be written");
    }
}

#[test]
fn capture_over_the_metadata_budget_is_limit_exceeded_exit_1_with_a_lock() {
    let reg = Registry::start(Flavour::Plain);
    reg.fixtures().image(REPO, "v1", &[b"x".to_vec()]);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("b");
    let o = reg
        .airlock()
        .env("AIRLOCK_CAPTURE_METADATA_BUDGET", "100")
        .arg("capture")
        .arg(reg.image_ref(REPO, "v1"))
        .arg("-o")
        .arg(&out)
        .args(reg.cli_flags())
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("limit-exceeded"), "{err}");
    assert!(err.contains("100-byte budget"), "{err}");
    assert_eq!(missing_codes(&lock(&out)), vec!["limit-exceeded"]);
}

#[test]
fn two_concurrent_captures_into_one_dir_both_land_in_the_index_and_the_lock() {
    let reg = Registry::start(Flavour::Plain);
    let fx = reg.fixtures();
    let names: Vec<String> = (0..4).map(|i| format!("team/app{i}")).collect();
    for (i, n) in names.iter().enumerate() {
        let layers: Vec<Vec<u8>> = (0..3)
            .map(|j| format!("layer {i}.{j}").into_bytes())
            .collect();
        fx.image(n, "v1", &layers);
    }
    let bin = assert_cmd::cargo::cargo_bin("airlock");
    // Computed once: the harness rewrites the auth file on every call.
    let env = reg.airlock_env();
    let flags = reg.cli_flags();
    for round in 0..3 {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("b");
        let spawn = |repos: &[String]| {
            std::process::Command::new(&bin)
                .envs(env.clone())
                .arg("capture")
                .args(repos.iter().map(|r| reg.image_ref(r, "v1")))
                .arg("-o")
                .arg(&out)
                .args(&flags)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let a = spawn(&names[..2]);
        let b = spawn(&names[2..]);
        let (oa, ob) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        assert_eq!(oa.status.code(), Some(0), "round {round}: {}", stderr(&oa));
        assert_eq!(ob.status.code(), Some(0), "round {round}: {}", stderr(&ob));
        let mut want: Vec<String> = names.iter().map(|n| reg.image_ref(n, "v1")).collect();
        want.sort();
        assert_eq!(index_refs(&out), want, "round {round}");
        let mut locked: Vec<String> = lock(&out)["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["ref"].as_str().unwrap().to_string())
            .collect();
        locked.sort();
        assert_eq!(locked, want, "round {round}");
    }
}

#[test]
fn capture_of_one_image_into_a_bundle_with_earlier_images_says_captured_1_image() {
    let reg = Registry::start(Flavour::Plain);
    let fx = reg.fixtures();
    fx.image(REPO, "v1", &[b"a".to_vec()]);
    fx.image(REPO, "v2", &[b"b".to_vec()]);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("b");
    let o = reg.capture(&[reg.image_ref(REPO, "v1")], &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = reg.capture(&[reg.image_ref(REPO, "v2")], &out, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("captured 1 image(s)"), "{err}");
    assert_eq!(lock(&out)["images"].as_array().unwrap().len(), 2);
}

#[test]
fn inspect_shows_human_sizes_and_exact_bytes_in_json() {
    let reg = Registry::start(Flavour::Plain);
    let img = reg
        .fixtures()
        .image(REPO, "v1", &[vec![7u8; 3000], vec![9u8; 2 * 1024 * 1024]]);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("b");
    let o = reg.capture(&[reg.image_ref(REPO, "v1")], &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m = img.json();
    let mut want = img.size + m["config"]["size"].as_u64().unwrap();
    for l in m["layers"].as_array().unwrap() {
        want += l["size"].as_u64().unwrap();
    }
    let j = reg
        .airlock()
        .arg("inspect")
        .arg(&out)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(j.status.code(), Some(0));
    let tree: Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(tree[0]["size"].as_u64(), Some(want));
    let t = reg.airlock().arg("inspect").arg(&out).output().unwrap();
    let text = String::from_utf8_lossy(&t.stdout);
    assert!(text.contains(" (2.0 MiB)"), "{text}");
}

#[test]
fn capture_with_stderr_to_a_file_prints_progress_lines_and_quiet_prints_none() {
    let reg = Registry::start(Flavour::Plain);
    reg.fixtures()
        .image(REPO, "v1", &[vec![1u8; 1024 * 1024], vec![2u8; 4096]]);
    let tmp = tempfile::tempdir().unwrap();
    let run = |out: &str, extra: &[&str]| {
        let log = tmp.path().join(format!("{out}.log"));
        let file = fs::File::create(&log).unwrap();
        let status = std::process::Command::new(assert_cmd::cargo::cargo_bin("airlock"))
            .envs(reg.airlock_env())
            // A tiny interval: periodic lines may appear; the final line always does.
            .env("AIRLOCK_PROGRESS_INTERVAL", "0.01")
            .arg("capture")
            .arg(reg.image_ref(REPO, "v1"))
            .arg("-o")
            .arg(tmp.path().join(out))
            .args(reg.cli_flags())
            .args(extra)
            .stderr(file)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(0));
        fs::read_to_string(log).unwrap()
    };
    let log = run("b1", &[]);
    let last = log
        .lines()
        .rfind(|l| l.starts_with("capture: "))
        .unwrap_or_else(|| panic!("no progress line in {log}"));
    // Three blobs: config and two layers, 1 MiB + 4 KiB + the config.
    assert!(
        last.starts_with("capture: done, 3 items, 1.0 MiB, "),
        "{log}"
    );
    assert!(last.contains("/s, "), "{log}");
    assert!(log
        .lines()
        .filter(|l| l.starts_with("capture: progress: "))
        .all(|l| l.contains(" items, ") && l.contains("/s, ")));
    let quiet = run("b2", &["--quiet"]);
    assert!(
        !quiet.lines().any(|l| l.starts_with("capture: ")),
        "{quiet}"
    );
    assert!(quiet.contains("captured 1 image(s)"), "{quiet}");
}

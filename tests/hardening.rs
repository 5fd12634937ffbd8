//! Hostile bundles and hostile operator input: what airlock must refuse, and how (exit codes and
//! messages), without hanging, leaving the bundle, or running out of memory.
//!
//! Every command runs with a generous process timeout only as a guard against a regression that
//! hangs (the tests assert exit codes and output, never how long anything took).
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::{json, Value};

const GUARD: Duration = Duration::from_secs(120);
const AT: &str = "2026-01-01T00:00:00Z";
const ROOT_DIGEST: &str = "sha256:6aa6270407f7a83f170a23e67fd594a9e0e43668763a0f27f85768a800f9f0aa";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn airlock(args: &[&str]) -> Run {
    let out = Command::cargo_bin("airlock")
        .unwrap()
        .current_dir(root())
        .env("AIRLOCK_PASSWORD", "demo")
        .args(args)
        .timeout(GUARD)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A copy of the demo bundle in a temporary directory.
fn demo_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join("bundle");
    copy_dir(&root().join("testdata/bundles/demo"), &dst);
    (tmp, dst)
}

fn copy_dir(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    for e in fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            fs::copy(e.path(), &to).unwrap();
        }
    }
}

fn mkfifo(path: &Path) {
    let _ = fs::remove_file(path);
    let st = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo (coreutils) must be installed");
    assert!(st.success());
}

fn verify(dir: &Path, extra: &[&str]) -> Run {
    let d = dir.display().to_string();
    let mut args = vec!["verify", &d, "--policy", "policies/demo.yaml", "--at", AT];
    args.extend_from_slice(extra);
    airlock(&args)
}

fn codes(stdout: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(stdout).unwrap_or(Value::Null);
    v["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["code"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn demo_bundle_verifies_as_the_baseline_of_these_tests() {
    let (_t, dir) = demo_copy();
    let r = verify(&dir, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

// ---------------------------------------------------------------------------------------------
// Only regular files are opened from a bundle

#[test]
fn verify_exits_2_instead_of_hanging_when_the_lock_is_a_fifo() {
    let (_t, dir) = demo_copy();
    mkfifo(&dir.join("airlock.lock.json"));
    let r = verify(&dir, &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("airlock.lock.json"), "{}", r.stderr);
    assert!(r.stderr.contains("non-regular file"), "{}", r.stderr);
}

#[test]
fn verify_exits_2_instead_of_hanging_when_the_lock_signature_is_a_fifo() {
    let (_t, dir) = demo_copy();
    mkfifo(&dir.join("airlock.lock.dsse.json"));
    let r = verify(&dir, &[]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("airlock.lock.dsse.json"), "{}", r.stderr);
}

#[test]
fn push_exits_2_instead_of_hanging_when_the_lock_or_its_signature_is_a_fifo() {
    for name in ["airlock.lock.json", "airlock.lock.dsse.json"] {
        let (_t, dir) = demo_copy();
        mkfifo(&dir.join(name));
        let d = dir.display().to_string();
        // Nothing listens on port 9: the bundle is refused before any connection is tried.
        let r = airlock(&[
            "push",
            &d,
            "127.0.0.1:9",
            "--insecure-registry",
            "127.0.0.1:9",
            "--policy",
            "policies/demo.yaml",
            "--attest-key",
            "keys/demo.key",
        ]);
        assert_eq!(r.code, 2, "{name}: {}\n{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(name), "{name}: {}", r.stderr);
        assert!(r.stderr.contains("non-regular file"), "{}", r.stderr);
    }
}

#[test]
fn verify_fails_with_layout_invalid_when_blobs_sha256_is_a_symlink_out_of_the_bundle() {
    let (t, dir) = demo_copy();
    let outside = t.path().join("outside");
    fs::rename(dir.join("blobs/sha256"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("blobs/sha256")).unwrap();
    let r = verify(&dir, &["--format", "json"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        codes(&r.stdout).contains(&"layout-invalid".to_string()),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("symlinked blobs directory"),
        "{}",
        r.stdout
    );
    let i = airlock(&["inspect", &dir.display().to_string()]);
    assert_eq!(i.code, 2, "{}", i.stderr);
    assert!(i.stderr.contains("layout-invalid"), "{}", i.stderr);
}

// ---------------------------------------------------------------------------------------------
// Operator files read with a size limit

#[test]
fn verify_exits_2_when_pins_is_not_a_regular_file_or_too_large() {
    let (t, dir) = demo_copy();
    let r = verify(&dir, &["--pins", "/dev/zero"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
    let big = t.path().join("pins.txt");
    let f = fs::File::create(&big).unwrap();
    f.set_len(airlock::pins::MAX_PINS_BYTES as u64 + 1).unwrap();
    let r = verify(&dir, &["--pins", &big.display().to_string()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("over the limit"), "{}", r.stderr);
}

#[test]
fn verify_exits_2_when_a_trusted_root_is_over_the_size_limit_or_a_device() {
    let (t, dir) = demo_copy();
    let big = t.path().join("trusted_root.json");
    fs::File::create(&big)
        .unwrap()
        .set_len(airlock::trust::sigstore::MAX_TRUSTED_ROOT_BYTES as u64 + 1)
        .unwrap();
    for (root_path, expect) in [
        (big.display().to_string(), "over the"),
        ("/dev/zero".to_string(), "not a regular file"),
    ] {
        let policy = t.path().join("policy.yaml");
        fs::write(
            &policy,
            format!(
                "apiVersion: airlock/v1\nkind: Policy\ntrustedRoots:\n  public: {root_path}\n\
                 rules:\n  - match: [\"**\"]\n    signatures:\n      keyless:\n        \
                 - trustedRoot: public\n          issuer: https://accounts.example\n          \
                 subject: a@example.com\n"
            ),
        )
        .unwrap();
        let d = dir.display().to_string();
        let p = policy.display().to_string();
        let r = airlock(&["verify", &d, "--policy", &p, "--at", AT]);
        assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(expect), "{expect}: {}", r.stderr);
    }
}

// ---------------------------------------------------------------------------------------------
// YAML nesting depth checked before parsing

#[test]
fn deeply_nested_policy_yaml_is_rejected_with_exit_2_before_parsing() {
    let t = tempfile::tempdir().unwrap();
    let policy = t.path().join("deep.yaml");
    fs::write(&policy, "{a: ".repeat(50_000) + "1" + &"}".repeat(50_000)).unwrap();
    let r = airlock(&[
        "verify",
        "testdata/bundles/demo",
        "--policy",
        &policy.display().to_string(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("nests more than 100 levels"),
        "{}",
        r.stderr
    );
}

#[test]
fn deeply_nested_preflight_manifest_is_rejected_with_exit_2_before_parsing() {
    let t = tempfile::tempdir().unwrap();
    let m = t.path().join("deep.yaml");
    fs::write(&m, "[".repeat(50_000) + &"]".repeat(50_000)).unwrap();
    let r = airlock(&[
        "preflight",
        &m.display().to_string(),
        "--lock",
        "testdata/bundles/demo",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("nests more than 100 levels"),
        "{}",
        r.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// --jobs clamped

#[test]
fn verify_with_a_huge_jobs_value_is_clamped_and_verifies() {
    let (_t, dir) = demo_copy();
    let r = verify(&dir, &["--jobs", "18446744073709551615"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

// ---------------------------------------------------------------------------------------------
// inspect: escaping, 10,000 entries, memory budget

fn write_index(dir: &Path, entries: &[Value]) {
    let idx = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": entries,
    });
    fs::write(dir.join("index.json"), serde_json::to_vec(&idx).unwrap()).unwrap();
}

fn entry(media_type: &str, digest: &str, size: u64, name: &str) -> Value {
    json!({
        "mediaType": media_type,
        "digest": digest,
        "size": size,
        "annotations": {"org.opencontainers.image.ref.name": name},
    })
}

const INDEX_MT: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST_MT: &str = "application/vnd.oci.image.manifest.v1+json";

#[test]
fn inspect_refuses_a_name_with_newline_terminal_escapes_and_bidi_and_prints_it_escaped() {
    let (_t, dir) = demo_copy();
    let evil = "registry.example/demo/app:1.0\nimage injected:1 sha256:00\u{1b}[2J\u{1b}]0;title\u{7}\u{202e}gpj.exe";
    write_index(&dir, &[entry(INDEX_MT, ROOT_DIGEST, 506, evil)]);
    let r = airlock(&["inspect", &dir.display().to_string()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    for raw in ['\u{1b}', '\u{7}', '\u{202e}'] {
        assert!(!all.contains(raw), "{all:?}");
    }
    assert!(!all.contains("\nimage injected"), "{all:?}");
    assert!(r.stderr.contains("layout-invalid"), "{}", r.stderr);
    assert!(
        r.stderr.contains("app:1.0\\nimage injected:1"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("\\u{202e}gpj.exe"), "{}", r.stderr);
}

/// What an attacker would smuggle into generated admission YAML through an image name.
const YAML_PAYLOAD: &str = "registry.example/demo/app:1.0\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: pwned\nroleRef: {kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: Group, name: system:authenticated}]";

#[test]
fn verify_fails_with_layout_invalid_when_a_ref_name_carries_a_yaml_document() {
    let (_t, dir) = demo_copy();
    write_index(&dir, &[entry(INDEX_MT, ROOT_DIGEST, 506, YAML_PAYLOAD)]);
    let r = verify(&dir, &["--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(codes(&r.stdout), ["layout-invalid"], "{}", r.stdout);
    assert!(
        !r.stdout.contains("\nkind: ClusterRoleBinding"),
        "{}",
        r.stdout
    );
}

#[test]
fn admission_refuses_a_lock_whose_image_name_carries_a_yaml_document_in_every_format() {
    let (_t, dir) = demo_copy();
    let lock_path = dir.join("airlock.lock.json");
    let mut lock: Value = serde_json::from_slice(&fs::read(&lock_path).unwrap()).unwrap();
    lock["images"][0]["ref"] = Value::String(YAML_PAYLOAD.into());
    fs::write(&lock_path, serde_json::to_vec_pretty(&lock).unwrap()).unwrap();
    let l = lock_path.display().to_string();
    for format in ["kyverno", "kyverno-ivpol", "policy-controller"] {
        let r = airlock(&[
            "admission",
            "--no-verify",
            "--format",
            format,
            "--lock",
            &l,
            "--policy",
            "policies/demo.yaml",
        ]);
        assert_eq!(r.code, 2, "{format}: {}", r.stderr);
        assert!(
            !r.stdout.contains("ClusterRoleBinding"),
            "{format}: {}",
            r.stdout
        );
        assert!(r.stderr.contains("images[0]"), "{format}: {}", r.stderr);
        assert!(
            r.stderr.contains("is not allowed"),
            "{format}: {}",
            r.stderr
        );
    }
    // preflight reads the same lock and refuses it the same way.
    let manifests = dir.join("deploy.yaml");
    fs::write(
        &manifests,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: a\n    image: registry.example/demo/app:1.0\n",
    )
    .unwrap();
    let r = airlock(&[
        "preflight",
        &manifests.display().to_string(),
        "--lock",
        &l,
        "--no-verify",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("images[0]"), "{}", r.stderr);
}

#[test]
fn admission_refuses_a_mapping_whose_target_carries_a_newline() {
    let (_t, dir) = demo_copy();
    let tmp = tempfile::tempdir().unwrap();
    let mapping = tmp.path().join("airlock.mapping.json");
    let lock: Value =
        serde_json::from_slice(&fs::read(dir.join("airlock.lock.json")).unwrap()).unwrap();
    let img = &lock["images"][0];
    let digest = img["digest"].as_str().unwrap();
    let m = json!({
        "schema": "airlock.mapping/v1",
        "registry": "mirror.example",
        "images": [{
            "source": img["ref"],
            "sourceRepository": "registry.example/demo/app",
            "digest": digest,
            "targetRepository": "mirror.example/demo/app",
            "target": format!("mirror.example/demo/app@{digest}\n---\nkind: ClusterRoleBinding"),
            "verdict": "pass",
        }],
    });
    fs::write(&mapping, serde_json::to_vec(&m).unwrap()).unwrap();
    let r = airlock(&[
        "admission",
        "--format",
        "kyverno",
        "--lock",
        &dir.join("airlock.lock.json").display().to_string(),
        "--policy",
        "policies/demo.yaml",
        "--mapping",
        &mapping.display().to_string(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!r.stdout.contains("ClusterRoleBinding"), "{}", r.stdout);
    assert!(r.stderr.contains("images[0].target"), "{}", r.stderr);
}

#[test]
fn inspect_lists_10000_index_entries() {
    let (_t, dir) = demo_copy();
    let mut entries = Vec::new();
    for i in 0..10_000 {
        entries.push(entry(
            INDEX_MT,
            ROOT_DIGEST,
            506,
            &format!("registry.example/demo/app:v{i}"),
        ));
    }
    write_index(&dir, &entries);
    let r = airlock(&["inspect", &dir.display().to_string()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.matches("\nimage ").count() + 1, 10_000);
    assert!(r.stdout.contains("app:v9999"));
}

#[test]
fn inspect_stops_with_limit_exceeded_on_a_crafted_exponential_tree() {
    // Five levels of 100 tag entries each, every level's entries naming the previous level's
    // digest as their subject: the tree a naive walk would build has 100^5 nodes.
    let (_t, dir) = demo_copy();
    let mut entries = vec![entry(
        INDEX_MT,
        ROOT_DIGEST,
        506,
        "registry.example/demo/app:1.0.0",
    )];
    let mut subject = ROOT_DIGEST.to_string();
    for level in 0..5 {
        let digest = format!("sha256:{:064x}", level + 1);
        for i in 0..100 {
            let tag = format!("sha256-{}.sig", &subject["sha256:".len()..]);
            entries.push(entry(
                MANIFEST_MT,
                &digest,
                10,
                &format!("registry.example/l{level}/r{i}:{tag}"),
            ));
        }
        subject = digest;
    }
    write_index(&dir, &entries);
    let r = airlock(&["inspect", &dir.display().to_string()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("limit-exceeded"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------------
// preflight never passes when it checked nothing

#[test]
fn preflight_exits_2_when_the_directory_holds_no_manifests() {
    let t = tempfile::tempdir().unwrap();
    let r = airlock(&[
        "preflight",
        &t.path().display().to_string(),
        "--lock",
        "testdata/bundles/demo",
    ]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("no manifest files found"), "{}", r.stderr);
}

#[test]
fn preflight_exits_2_when_the_manifests_hold_no_workloads() {
    let t = tempfile::tempdir().unwrap();
    fs::write(
        t.path().join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: b\n",
    )
    .unwrap();
    let r = airlock(&[
        "preflight",
        &t.path().display().to_string(),
        "--lock",
        "testdata/bundles/demo",
    ]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("no workloads found"), "{}", r.stderr);
}

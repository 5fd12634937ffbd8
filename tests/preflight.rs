//! `airlock preflight`: every image a workload would pull is in the bundle, pinned.
//!
//! The fixtures are real-world style manifests (testdata/manifests/): a `helm template` rendering
//! with six images (one in an init container, one Docker Hub short name with implicit
//! `docker.io/library/`), and a `kind: List` with a bare Pod (ephemeral container), a ReplicaSet,
//! a Job written in flow style and a custom resource embedding a pod template. Locks and mappings
//! are built with the library types and written to temp dirs.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
use std::path::{Path, PathBuf};

use airlock::lock::{Lock, LockedImage, LockedPlatform};
use airlock::mapping::{MappedImage, MappedVerdict, Mapping, MAPPING_SCHEMA};
use airlock::oci::{Digest, Reference};
use assert_cmd::Command;
use serde_json::Value;

const MIRROR: &str = "registry.airgap.local/mirror";

/// The six images of testdata/manifests/rendered-chart.yaml, as captured.
const CHART_IMAGES: &[&str] = &[
    "docker.io/library/busybox:1.36",
    "registry.example/team/web:2.1.0",
    "docker.io/nginxinc/nginx-unprivileged:1.27",
    "docker.io/bitnami/postgresql:16.4.0",
    "quay.io/prometheus/node-exporter:v1.8.2",
    "ghcr.io/fluxcd/flux-cli:v2.3.0",
];

fn manifests() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/manifests")
}

fn digest_of(source: &str) -> Digest {
    Digest::sha256_of(format!("index of {source}").as_bytes())
}

fn platform_digest(source: &str) -> Digest {
    Digest::sha256_of(format!("linux/amd64 of {source}").as_bytes())
}

/// The mirrored repository for a source (push keeps the path under the prefix).
fn target_of(source: &str) -> String {
    let r = Reference::parse(source).unwrap();
    format!("{MIRROR}/{}", r.path())
}

fn lock_of(sources: &[&str]) -> Lock {
    let mut lock = Lock::new("2026-01-31T12:00:00Z".into());
    for s in sources {
        let r = Reference::parse(s).unwrap();
        lock.images.push(LockedImage {
            r#ref: s.to_string(),
            repository: r.repository(),
            digest: digest_of(s),
            media_type: "application/vnd.oci.image.index.v1+json".into(),
            size: 1234,
            platforms: vec![LockedPlatform {
                platform: "linux/amd64".into(),
                digest: platform_digest(s),
                captured: true,
            }],
            attachments: vec![],
        });
    }
    lock
}

fn mapping_of(sources: &[&str]) -> Mapping {
    Mapping {
        schema: MAPPING_SCHEMA.into(),
        registry: MIRROR.into(),
        created: "2026-02-01T08:00:00Z".into(),
        images: sources
            .iter()
            .map(|s| {
                let r = Reference::parse(s).unwrap();
                let d = digest_of(s);
                MappedImage {
                    source: s.to_string(),
                    source_repository: r.repository(),
                    digest: d.clone(),
                    target_repository: target_of(s),
                    tag: r.tag().map(str::to_string),
                    target: format!("{}@{d}", target_of(s)),
                    verdict: Some(MappedVerdict::Pass),
                    report: Some(Digest::sha256_of(b"report")),
                }
            })
            .collect(),
    }
}

/// A bundle directory with the lock and (when given) the mapping beside it.
fn bundle(locked: &[&str], mapped: Option<&[&str]>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("airlock.lock.json"),
        lock_of(locked).to_json(),
    )
    .unwrap();
    if let Some(m) = mapped {
        std::fs::write(
            dir.path().join("airlock.mapping.json"),
            mapping_of(m).to_json(),
        )
        .unwrap();
    }
    dir
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn preflight(args: &[&str]) -> Run {
    let out = Command::cargo_bin("airlock")
        .unwrap()
        .arg("preflight")
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn chart() -> String {
    manifests()
        .join("rendered-chart.yaml")
        .display()
        .to_string()
}

fn lock_arg(dir: &tempfile::TempDir) -> String {
    dir.path().join("airlock.lock.json").display().to_string()
}

fn json_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", run.stdout, run.stderr))
}

#[test]
fn rendered_chart_with_every_image_in_the_bundle_passes_with_the_rewrite_table() {
    let b = bundle(CHART_IMAGES, Some(CHART_IMAGES));
    let run = preflight(&[&chart(), "--lock", &lock_arg(&b)]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // One row per image reference, each with its digest reference in the mirror.
    for s in CHART_IMAGES {
        let expected = format!("{}@{}", target_of(s), digest_of(s));
        assert!(
            run.stdout.contains(&expected),
            "{expected} missing:\n{}",
            run.stdout
        );
    }
    // The init container, with the Docker Hub short name normalised.
    let busybox_row = run
        .stdout
        .lines()
        .find(|l| l.contains("init:wait-for-db"))
        .unwrap_or_else(|| panic!("no init container row:\n{}", run.stdout));
    assert!(busybox_row.contains("busybox:1.36"), "{busybox_row}");
    assert!(
        busybox_row.contains(&format!(
            "{MIRROR}/library/busybox@{}",
            digest_of("docker.io/library/busybox:1.36")
        )),
        "{busybox_row}"
    );
    assert!(
        busybox_row.contains("rendered-chart.yaml:48"),
        "{busybox_row}"
    );
    assert!(
        run.stdout
            .contains("PASS: 6 image reference(s) in 6 object(s)"),
        "{}",
        run.stdout
    );
    // The ConfigMap text that looks like YAML with images is not a container.
    assert!(!run.stdout.contains("not-an-image"), "{}", run.stdout);
}

#[test]
fn json_output_says_where_each_image_is() {
    let b = bundle(CHART_IMAGES, Some(CHART_IMAGES));
    let run = preflight(&[&chart(), "--lock", &lock_arg(&b), "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = json_of(&run);
    assert_eq!(v["schema"], "airlock.preflight/v1");
    assert_eq!(v["result"], "pass");
    let images = v["images"].as_array().unwrap();
    assert_eq!(images.len(), 6);
    let init = images
        .iter()
        .find(|i| i["containerList"] == "initContainers")
        .unwrap();
    assert_eq!(init["image"], "busybox:1.36");
    assert_eq!(init["kind"], "Deployment");
    assert_eq!(init["name"], "shop-web");
    assert_eq!(init["namespace"], "shop");
    assert_eq!(init["container"], "wait-for-db");
    assert_eq!(init["document"], 3);
    assert_eq!(init["line"], 48);
    assert_eq!(init["path"], "spec.template.spec.initContainers[0]");
    assert_eq!(init["source"], "docker.io/library/busybox:1.36");
    let cron = images.iter().find(|i| i["kind"] == "CronJob").unwrap();
    assert_eq!(
        cron["path"],
        "spec.jobTemplate.spec.template.spec.containers[0]"
    );
    assert_eq!(v["summary"]["images"], 6);
    assert_eq!(v["summary"]["failed"], 0);
}

#[test]
fn an_image_missing_from_the_bundle_fails_and_is_named() {
    let present: Vec<&str> = CHART_IMAGES
        .iter()
        .copied()
        .filter(|s| !s.contains("flux-cli"))
        .collect();
    let b = bundle(&present, Some(&present));
    let run = preflight(&[&chart(), "--lock", &lock_arg(&b)]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("FAIL not-in-bundle"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("rendered-chart.yaml:117 (CronJob shop/shop-reconcile"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("ghcr.io/fluxcd/flux-cli:v2.3.0 is not in the bundle"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("CronJob shop/shop-reconcile container flux"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("FAIL: 6 image reference(s)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("5 ok, 1 failed"), "{}", run.stdout);
}

fn write_manifest(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn pod(image: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: {image}\n"
    )
}

#[test]
fn a_tag_the_lock_does_not_pin_fails() {
    let b = bundle(CHART_IMAGES, Some(CHART_IMAGES));
    let m = write_manifest(
        b.path(),
        "pod.yaml",
        &pod("registry.example/team/web:2.2.0"),
    );
    let run = preflight(&[&m, "--lock", &lock_arg(&b), "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let v = json_of(&run);
    let img = &v["images"][0];
    assert_eq!(img["result"], "fail");
    assert_eq!(img["reason"], "tag-not-pinned");
    assert_eq!(img["finding"]["code"], "image-missing");
    let msg = img["finding"]["message"].as_str().unwrap();
    assert!(msg.contains("tag \"2.2.0\""), "{msg}");
    assert!(msg.contains("pinned: 2.1.0"), "{msg}");
    assert!(msg.contains("pod.yaml:8"), "{msg}");
    // `latest` is implied when no tag is written, and the lock pins only 1.36.
    let m = write_manifest(b.path(), "latest.yaml", &pod("busybox"));
    let run = preflight(&[&m, "--lock", &lock_arg(&b)]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("tag \"latest\""), "{}", run.stdout);
}

#[test]
fn a_digest_other_than_the_locks_fails() {
    let b = bundle(CHART_IMAGES, Some(CHART_IMAGES));
    let wrong = Digest::sha256_of(b"some other build");
    let m = write_manifest(b.path(), "pod.yaml", &pod(&format!("busybox@{wrong}")));
    let run = preflight(&[&m, "--lock", &lock_arg(&b), "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let v = json_of(&run);
    assert_eq!(v["images"][0]["reason"], "digest-mismatch");
    assert_eq!(v["images"][0]["finding"]["code"], "pin-mismatch");
    let msg = v["images"][0]["finding"]["message"].as_str().unwrap();
    assert!(msg.contains(&wrong.to_string()), "{msg}");
    assert!(
        msg.contains(&digest_of("docker.io/library/busybox:1.36").to_string()),
        "{msg}"
    );
    // A tag with a digest that contradicts the lock's pin for that tag.
    let m = write_manifest(
        b.path(),
        "tagged.yaml",
        &pod(&format!(
            "busybox:1.36@{}",
            digest_of("registry.example/team/web:2.1.0")
        )),
    );
    let run = preflight(&[&m, "--lock", &lock_arg(&b)]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("FAIL digest-mismatch"),
        "{}",
        run.stdout
    );
}

#[test]
fn mirrored_names_and_locked_digests_are_accepted() {
    let b = bundle(CHART_IMAGES, Some(CHART_IMAGES));
    let busybox = "docker.io/library/busybox:1.36";
    let text = [
        pod(&format!("{MIRROR}/library/busybox:1.36")),
        pod(&format!("{MIRROR}/library/busybox@{}", digest_of(busybox))),
        pod(&format!("busybox:1.36@{}", digest_of(busybox))),
        pod(&format!(
            "index.docker.io/library/busybox@{}",
            digest_of(busybox)
        )),
        // A platform manifest of the index: in the bundle, with a note.
        pod(&format!("busybox@{}", platform_digest(busybox))),
    ]
    .join("---\n");
    let m = write_manifest(b.path(), "pods.yaml", &text);
    let run = preflight(&[&m, "--lock", &lock_arg(&b), "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let v = json_of(&run);
    let images = v["images"].as_array().unwrap();
    assert_eq!(images.len(), 5);
    for (i, img) in images.iter().enumerate().take(4) {
        assert_eq!(
            img["rewrite"],
            format!("{MIRROR}/library/busybox@{}", digest_of(busybox)),
            "image {i}"
        );
    }
    assert_eq!(
        images[4]["rewrite"],
        format!("{MIRROR}/library/busybox@{}", platform_digest(busybox))
    );
    assert!(images[4]["note"].as_str().unwrap().contains("linux/amd64"));
}

#[test]
fn an_image_in_the_bundle_but_not_pushed_fails() {
    let pushed: Vec<&str> = CHART_IMAGES
        .iter()
        .copied()
        .filter(|s| !s.contains("postgresql"))
        .collect();
    let b = bundle(CHART_IMAGES, Some(&pushed));
    let run = preflight(&[&chart(), "--lock", &lock_arg(&b)]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("FAIL not-mirrored"), "{}", run.stdout);
    assert!(run.stdout.contains("not in the mapping"), "{}", run.stdout);
}

#[test]
fn without_a_mapping_and_with_no_verify_the_source_repositories_are_used_and_it_says_so() {
    let b = bundle(CHART_IMAGES, None);
    let run = preflight(&[&chart(), "--lock", &lock_arg(&b), "--no-verify"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("no mapping file"), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!(
            "docker.io/library/busybox@{}",
            digest_of("docker.io/library/busybox:1.36")
        )),
        "{}",
        run.stdout
    );
}

#[test]
fn lists_bare_pods_ephemeral_containers_jobs_and_custom_resources_are_read() {
    let b = bundle(CHART_IMAGES, Some(CHART_IMAGES));
    let m = manifests().join("list-and-pods.yaml").display().to_string();
    let run = preflight(&[&m, "--lock", &lock_arg(&b), "--format", "json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let v = json_of(&run);
    let images = v["images"].as_array().unwrap();
    let seen: Vec<(String, String)> = images
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap().to_string(),
                i["containerList"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for expected in [
        ("Pod", "containers"),
        ("Pod", "ephemeralContainers"),
        ("ReplicaSet", "containers"),
        ("Job", "containers"),
        ("Rollout", "containers"),
    ] {
        assert!(
            seen.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} not in {seen:?}"
        );
    }
    assert_eq!(images.len(), 5);
    assert_eq!(v["summary"]["objects"], 4, "Pod, ReplicaSet, Job, Rollout");
}

#[test]
fn rewrite_dir_writes_manifests_pinned_to_digests_that_pass_again() {
    let b = bundle(CHART_IMAGES, Some(CHART_IMAGES));
    let out = tempfile::tempdir().unwrap();
    let list = manifests().join("list-and-pods.yaml").display().to_string();
    let run = preflight(&[
        &chart(),
        &list,
        "--lock",
        &lock_arg(&b),
        "--rewrite-dir",
        &out.path().display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("wrote 2 manifest file(s)"),
        "{}",
        run.stderr
    );
    let text = std::fs::read_to_string(out.path().join("rendered-chart.yaml")).unwrap();
    // Comments and layout are kept; only the image values change.
    assert!(
        text.contains("# Source: shop/templates/deployment.yaml"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "          image: {MIRROR}/library/busybox@{}   # implicit docker.io/library/",
            digest_of("docker.io/library/busybox:1.36")
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "image: \"{MIRROR}/team/web@{}\"",
            digest_of("registry.example/team/web:2.1.0")
        )),
        "{text}"
    );
    assert!(
        text.contains("image: not-an-image:0"),
        "ConfigMap text untouched: {text}"
    );
    let original = std::fs::read_to_string(manifests().join("rendered-chart.yaml")).unwrap();
    assert_eq!(text.lines().count(), original.lines().count());
    // The flow-style Job document could not be edited in place: re-serialised, and said so.
    assert!(run.stderr.contains("re-serialised"), "{}", run.stderr);
    let list_text = std::fs::read_to_string(out.path().join("list-and-pods.yaml")).unwrap();
    assert!(
        list_text.contains(&format!(
            "{MIRROR}/bitnami/postgresql@{}",
            digest_of("docker.io/bitnami/postgresql:16.4.0")
        )),
        "{list_text}"
    );
    // The rewritten manifests pass again, every image now by digest.
    let again = preflight(&[
        &out.path().display().to_string(),
        "--lock",
        &lock_arg(&b),
        "--format",
        "json",
    ]);
    assert_eq!(again.code, 0, "{}", again.stdout);
    let v = json_of(&again);
    let images = v["images"].as_array().unwrap();
    assert_eq!(images.len(), 11);
    for i in images {
        let image = i["image"].as_str().unwrap();
        assert!(
            image.starts_with(MIRROR) && image.contains("@sha256:"),
            "{image}"
        );
        assert_eq!(i["rewrite"].as_str().unwrap(), image);
    }
}

#[test]
fn rewrite_dir_is_not_written_when_an_image_fails() {
    let present: Vec<&str> = CHART_IMAGES[..5].to_vec();
    let b = bundle(&present, Some(&present));
    let out = tempfile::tempdir().unwrap();
    let run = preflight(&[
        &chart(),
        "--lock",
        &lock_arg(&b),
        "--rewrite-dir",
        &out.path().display().to_string(),
    ]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("nothing written"), "{}", run.stderr);
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

#[test]
fn manifests_come_from_standard_input_and_the_bundle_directory_names_the_lock() {
    let b = bundle(CHART_IMAGES, Some(CHART_IMAGES));
    let out = Command::cargo_bin("airlock")
        .unwrap()
        .args(["preflight", "-", "--lock", &b.path().display().to_string()])
        .write_stdin(std::fs::read(chart()).unwrap())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("<stdin>:48"), "{stdout}");
}

#[test]
fn invalid_yaml_and_limits_cannot_be_judged_exit_2() {
    let b = bundle(CHART_IMAGES, Some(CHART_IMAGES));
    let m = write_manifest(
        b.path(),
        "broken.yaml",
        "apiVersion: v1\nkind: Pod\n---\nspec:\n  containers: [\n",
    );
    let run = preflight(&[&m, "--lock", &lock_arg(&b)]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("broken.yaml:"), "{}", run.stderr);
    assert!(
        run.stderr.contains("document 2 is not valid YAML"),
        "{}",
        run.stderr
    );

    let many = "a: 1\n---\n".repeat(airlock::preflight::MAX_DOCUMENTS_PER_FILE + 1);
    let m = write_manifest(b.path(), "many.yaml", &many);
    let run = preflight(&[&m, "--lock", &lock_arg(&b)]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("over the limit"), "{}", run.stderr);

    let run = preflight(&[
        &chart(),
        "--lock",
        &b.path().join("nope.json").display().to_string(),
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--lock"), "{}", run.stderr);
}

#[test]
fn a_container_without_an_image_or_with_a_broken_reference_fails() {
    let b = bundle(CHART_IMAGES, Some(CHART_IMAGES));
    let text = [pod("\"\""), pod("\"Registry.Example/UPPER:1\"")].join("---\n");
    let m = write_manifest(b.path(), "bad.yaml", &text);
    let run = preflight(&[&m, "--lock", &lock_arg(&b), "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let v = json_of(&run);
    for img in v["images"].as_array().unwrap() {
        assert_eq!(img["reason"], "invalid-reference", "{img}");
    }
}

#[test]
fn workload_using_an_image_that_did_not_pass_is_image_unverified_exit_1() {
    let b = bundle(CHART_IMAGES, Some(CHART_IMAGES));
    // The mapping records the verdict: the first image was pushed without one.
    let p = b.path().join("airlock.mapping.json");
    let mut m = Mapping::parse(&std::fs::read(&p).unwrap()).unwrap();
    m.images[0].verdict = Some(MappedVerdict::Unverified);
    m.images[0].report = None;
    std::fs::write(&p, m.to_json()).unwrap();
    let lock = b.path().display().to_string();
    let run = preflight(&[&chart(), "--lock", &lock, "--format", "json"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let text = v.to_string();
    assert!(text.contains("image-unverified"), "{text}");
    // --no-verify: the old behaviour (in the bundle, pinned: it is not judged).
    let run = preflight(&[&chart(), "--lock", &lock, "--no-verify"]);
    assert_ne!(run.code, 2, "{}", run.stderr);
    assert!(!run.stdout.contains("image-unverified"), "{}", run.stdout);
}

#[test]
fn preflight_without_any_verdict_source_is_exit_2_naming_the_options() {
    let b = bundle(CHART_IMAGES, None);
    let lock = b.path().display().to_string();
    let run = preflight(&[&chart(), "--lock", &lock]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--no-verify"), "{}", run.stderr);
}

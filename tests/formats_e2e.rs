//! `capture -f` with other tools' list formats (Hauler, Zarf, aicr, oc-mirror) and classic Helm
//! repositories (`--chart`), against the real `docker-registry` and a Helm repository served by
//! the test over HTTP and HTTPS.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use common::content::digest_of;
use common::helm_repo::{chart_archive, Chart, HelmRepo};
use common::registry::{Flavour, Registry};
use serde_json::Value;

struct World {
    reg: Registry,
    web: String,
    db: String,
    /// The OCI chart `HOST/charts/app:1.2.3`.
    oci_chart: String,
}

fn world() -> World {
    let reg = Registry::start(Flavour::Plain);
    reg.fixtures()
        .image("team/web", "v1", &[b"web layer".to_vec()]);
    reg.fixtures()
        .image("team/db", "v2", &[b"db layer".to_vec()]);
    reg.fixtures().helm_chart("charts/app", "1.2.3");
    World {
        web: reg.image_ref("team/web", "v1"),
        db: reg.image_ref("team/db", "v2"),
        oci_chart: format!("{}/charts/app:1.2.3", reg.host),
        reg,
    }
}

fn podinfo() -> Chart {
    Chart {
        name: "podinfo".into(),
        version: "6.1.0".into(),
        archive: chart_archive("podinfo", "6.1.0", "", &[]),
        prov: None,
    }
}

/// The classic chart's bundle name: HOST:PORT/charts/podinfo:6.1.0.
fn classic_name(repo: &HelmRepo) -> String {
    format!(
        "{}/podinfo:6.1.0",
        repo.url
            .trim_start_matches("http://")
            .trim_start_matches("https://")
    )
}

fn capture_file(w: &World, repo: &HelmRepo, file: &Path, out: &Path) -> std::process::Output {
    let mut extra = vec!["-f".to_string(), file.display().to_string()];
    extra.extend(repo.cli_flags());
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    w.reg.capture(&[], out, &extra)
}

fn lock(out: &Path) -> Value {
    serde_json::from_slice(&fs::read(out.join("airlock.lock.json")).unwrap()).unwrap()
}

/// `(ref, kind)` of every item, and the lock's image refs.
fn items(lock: &Value) -> (BTreeSet<(String, String)>, BTreeSet<String>) {
    let sources = lock["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["ref"].as_str().unwrap().to_string(),
                s["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let images = lock["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["ref"].as_str().unwrap().to_string())
        .collect();
    (sources, images)
}

fn requested_by(lock: &Value, r: &str) -> Vec<String> {
    lock["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["ref"] == r)
        .unwrap_or_else(|| panic!("{r} not in sources: {lock}"))["requestedBy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

fn expect(
    w: &World,
    repo: &HelmRepo,
    images: &[&str],
    charts: &[&str],
) -> BTreeSet<(String, String)> {
    let classic = classic_name(repo);
    let mut out = BTreeSet::new();
    for i in images {
        let r = match *i {
            "web" => w.web.clone(),
            "db" => w.db.clone(),
            _ => unreachable!(),
        };
        out.insert((r, "image".to_string()));
    }
    for c in charts {
        let r = match *c {
            "app" => w.oci_chart.clone(),
            "podinfo" => classic.clone(),
            _ => unreachable!(),
        };
        out.insert((r, "chart".to_string()));
    }
    out
}

fn assert_lock(out: &Path, expected: &BTreeSet<(String, String)>) -> Value {
    let l = lock(out);
    let (sources, images) = items(&l);
    assert_eq!(&sources, expected, "{l:#}");
    let refs: BTreeSet<String> = expected.iter().map(|(r, _)| r.clone()).collect();
    assert_eq!(images, refs, "{l:#}");
    l
}

#[test]
fn hauler_manifest_captures_its_images_and_both_kinds_of_chart_over_https() {
    let w = world();
    let repo = HelmRepo::start(&[podinfo()], true);
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("hauler.yaml");
    fs::write(
        &file,
        format!(
            "apiVersion: content.hauler.cattle.io/v1\nkind: Images\nmetadata:\n  name: app-images\nspec:\n  images:\n    - name: {web}\n    - name: {db}\n      platform: linux/amd64\n---\napiVersion: content.hauler.cattle.io/v1\nkind: Charts\nmetadata:\n  name: app-charts\nspec:\n  charts:\n    - name: podinfo\n      repoURL: {url}\n      version: 6.1.0\n    - name: app\n      repoURL: oci://{host}/charts\n      version: 1.2.3\n",
            web = w.web,
            db = w.db,
            url = repo.url,
            host = w.reg.host
        ),
    )
    .unwrap();
    let out = tmp.path().join("bundle");
    let o = capture_file(&w, &repo, &file, &out);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let l = assert_lock(
        &out,
        &expect(&w, &repo, &["web", "db"], &["app", "podinfo"]),
    );
    let f = file.display().to_string();
    assert_eq!(
        requested_by(&l, &w.web),
        [format!("{f}:7 (Hauler Images spec.images[0])")]
    );
    assert_eq!(
        requested_by(&l, &classic_name(&repo)),
        [format!("{f}:17 (Hauler Charts spec.charts[0])")]
    );
}

#[test]
fn zarf_package_config_captures_images_oci_and_classic_charts() {
    let w = world();
    let repo = HelmRepo::start(&[podinfo()], false);
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("zarf.yaml");
    fs::write(
        &file,
        format!(
            "kind: ZarfPackageConfig\nmetadata:\n  name: app\n  version: 1.0.0\ncomponents:\n  - name: app\n    required: true\n    charts:\n      - name: app\n        version: 1.2.3\n        namespace: app\n        url: oci://{host}/charts/app\n      - name: podinfo\n        version: 6.1.0\n        namespace: podinfo\n        url: {url}\n        repoName: podinfo\n    images:\n      - {web}\n  - name: db\n    images:\n      - {db}\n",
            host = w.reg.host,
            url = repo.url,
            web = w.web,
            db = w.db
        ),
    )
    .unwrap();
    let out = tmp.path().join("bundle");
    let o = capture_file(&w, &repo, &file, &out);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let l = assert_lock(
        &out,
        &expect(&w, &repo, &["web", "db"], &["app", "podinfo"]),
    );
    assert_eq!(
        requested_by(&l, &w.db),
        [format!(
            "{}:22 (Zarf component db images[0])",
            file.display()
        )]
    );
}

#[test]
fn aicr_mirror_list_yaml_and_json_capture_images_and_charts() {
    let w = world();
    let repo = HelmRepo::start(&[podinfo()], true);
    let tmp = tempfile::tempdir().unwrap();
    let yaml = tmp.path().join("mirror.yaml");
    fs::write(
        &yaml,
        format!(
            "images:\n  - {web}\n  - {db}\ncharts:\n  - name: podinfo\n    repository: {url}\n    chart: podinfo\n    version: 6.1.0\n    namespace: podinfo\n  - name: app\n    repository: oci://{host}/charts\n    chart: app\n    version: 1.2.3\ncomponents:\n  - component: app\n    type: Helm\n    images:\n      - {web}\nmetadata:\n  recipeVersion: v0.1.0\n",
            web = w.web,
            db = w.db,
            url = repo.url,
            host = w.reg.host
        ),
    )
    .unwrap();
    let out = tmp.path().join("bundle-yaml");
    let o = capture_file(&w, &repo, &yaml, &out);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_lock(
        &out,
        &expect(&w, &repo, &["web", "db"], &["app", "podinfo"]),
    );

    let json = tmp.path().join("mirror.json");
    fs::write(
        &json,
        format!(
            "{{\n  \"images\": [\n    \"{web}\"\n  ],\n  \"charts\": [\n    {{\"name\": \"podinfo\", \"repository\": \"{url}\", \"chart\": \"podinfo\", \"version\": \"6.1.0\"}}\n  ],\n  \"components\": [{{\"component\": \"app\", \"type\": \"Helm\", \"images\": [\"{web}\"]}}],\n  \"metadata\": {{\"recipeVersion\": \"v0.1.0\"}}\n}}\n",
            web = w.web,
            url = repo.url
        ),
    )
    .unwrap();
    let out = tmp.path().join("bundle-json");
    let o = capture_file(&w, &repo, &json, &out);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let l = assert_lock(&out, &expect(&w, &repo, &["web"], &["podinfo"]));
    assert_eq!(
        requested_by(&l, &w.web),
        [format!("{}:3 (aicr images[0])", json.display())]
    );
}

#[test]
fn oc_mirror_image_set_configuration_captures_additional_images_and_helm_charts() {
    let w = world();
    let repo = HelmRepo::start(&[podinfo()], false);
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("isc.yaml");
    fs::write(
        &file,
        format!(
            "kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n  additionalImages:\n    - name: {web}\n    - name: {db}\n  helm:\n    repositories:\n      - name: podinfo\n        url: {url}\n        charts:\n          - name: podinfo\n            version: 6.1.0\n",
            web = w.web,
            db = w.db,
            url = repo.url
        ),
    )
    .unwrap();
    let out = tmp.path().join("bundle");
    let o = capture_file(&w, &repo, &file, &out);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_lock(&out, &expect(&w, &repo, &["web", "db"], &["podinfo"]));
}

#[test]
fn unsupported_documents_and_fields_exit_2_naming_file_line_and_what_is_supported() {
    let w = world();
    let repo = HelmRepo::start(&[podinfo()], false);
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            "hauler.yaml",
            format!("apiVersion: content.hauler.cattle.io/v1\nkind: Images\nspec:\n  images:\n    - name: {}\n---\napiVersion: content.hauler.cattle.io/v1\nkind: Files\nspec:\n  files:\n    - path: https://example.invalid/x.tar\n", w.web),
            8,
            "Hauler kind \"Files\"",
        ),
        (
            "zarf.yaml",
            format!("kind: ZarfPackageConfig\nmetadata:\n  name: p\ncomponents:\n  - name: web\n    images:\n      - {}\n    manifests:\n      - name: extra\n        files: [m.yaml]\n", w.web),
            8,
            "has `manifests`",
        ),
        (
            "isc.yaml",
            "kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n  platform:\n    channels:\n      - name: stable-4.16\n".to_string(),
            4,
            "mirror.platform is not supported",
        ),
        (
            "isc-ops.yaml",
            "kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n  operators:\n    - catalog: registry.redhat.io/redhat/redhat-operator-index:v4.16\n".to_string(),
            4,
            "mirror.operators is not supported",
        ),
    ];
    for (name, text, line, what) in cases {
        let file = tmp.path().join(name);
        fs::write(&file, text).unwrap();
        let out = tmp.path().join(format!("bundle-{name}"));
        let o = capture_file(&w, &repo, &file, &out);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains(&format!("{}:{line}: ", file.display())),
            "{name}: expected file:line {line}: {err}"
        );
        assert!(err.contains(what), "{name}: {err}");
        assert!(err.contains("supported"), "{name}: {err}");
        assert!(!out.join("airlock.lock.json").exists(), "{name}");
    }
}

#[test]
fn classic_chart_digest_mismatch_is_a_finding_and_the_chart_is_not_stored() {
    let w = world();
    let repo = HelmRepo::start(&[podinfo()], false);
    // The archive changes after the index was written.
    fs::write(
        repo.file("podinfo-6.1.0.tgz"),
        chart_archive("podinfo", "6.1.0", "keywords: [changed]\n", &[]),
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    let mut extra = vec!["--chart", repo.url.as_str(), "podinfo", "6.1.0"];
    let flags = repo.cli_flags();
    extra.extend(flags.iter().map(String::as_str));
    let o = w.reg.capture(std::slice::from_ref(&w.web), &out, &extra);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("chart-digest-mismatch"), "{err}");
    let l = lock(&out);
    let (_, images) = items(&l);
    assert_eq!(images, BTreeSet::from([w.web.clone()]));
}

#[test]
fn classic_chart_pushed_and_pulled_back_by_digest_equals_the_archive_with_helm_media_types() {
    let w = world();
    let mut chart = podinfo();
    chart.prov = Some(b"-----BEGIN PGP SIGNED MESSAGE-----\nplaceholder\n".to_vec());
    let archive = chart.archive.clone();
    let prov = chart.prov.clone().unwrap();
    let repo = HelmRepo::start(&[chart], true);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    let mut extra = vec!["--chart", repo.url.as_str(), "podinfo", "6.1.0"];
    let flags = repo.cli_flags();
    extra.extend(flags.iter().map(String::as_str));
    let o = w.reg.capture(&[], &out, &extra);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let l = lock(&out);
    let name = classic_name(&repo);
    assert_eq!(
        requested_by(&l, &name),
        [format!("--chart {} podinfo 6.1.0", repo.url)]
    );

    let target = Registry::start(Flavour::Plain);
    let o = target
        .airlock()
        .arg("push")
        .arg("--no-verify")
        .arg(&out)
        .arg(&target.host)
        .args(target.cli_flags())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mapping: Value =
        serde_json::from_slice(&fs::read(out.join("airlock.mapping.json")).unwrap()).unwrap();
    let entry = mapping["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["source"] == name.as_str())
        .unwrap_or_else(|| panic!("{mapping:#}"));
    let target_repo = entry["targetRepository"].as_str().unwrap();
    let repo_path = target_repo
        .strip_prefix(&format!("{}/", target.host))
        .unwrap();
    assert_eq!(repo_path, "charts/podinfo");
    let digest = entry["digest"].as_str().unwrap();
    let (_, manifest) = target.pusher().get_manifest(repo_path, digest);
    assert_eq!(digest_of(&manifest), digest);
    // The tag is the chart version, as `helm pull oci://HOST/charts/podinfo --version 6.1.0` asks.
    let (_, by_tag) = target.pusher().get_manifest(repo_path, "6.1.0");
    assert_eq!(by_tag, manifest);
    let m: Value = serde_json::from_slice(&manifest).unwrap();
    assert_eq!(
        m["config"]["mediaType"],
        "application/vnd.cncf.helm.config.v1+json"
    );
    assert_eq!(
        m["layers"][0]["mediaType"],
        "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
    );
    assert_eq!(
        m["layers"][1]["mediaType"],
        "application/vnd.cncf.helm.chart.provenance.v1.prov"
    );
    let pulled = target
        .pusher()
        .get_blob(repo_path, m["layers"][0]["digest"].as_str().unwrap());
    assert_eq!(pulled, archive);
    let pulled_prov = target
        .pusher()
        .get_blob(repo_path, m["layers"][1]["digest"].as_str().unwrap());
    assert_eq!(pulled_prov, prov);
    let config: Value = serde_json::from_slice(
        &target
            .pusher()
            .get_blob(repo_path, m["config"]["digest"].as_str().unwrap()),
    )
    .unwrap();
    assert_eq!(config["name"], "podinfo");
    assert_eq!(config["version"], "6.1.0");
}

#[test]
fn chart_images_captures_the_images_a_chart_and_its_subchart_declare() {
    let w = world();
    let top = format!(
        "annotations:\n  images: |\n    - name: web\n      image: {}\n",
        w.web
    );
    let sub = format!(
        "apiVersion: v2\nname: db\nversion: 2.0.0\nannotations:\n  helm.sh/images: |\n    - name: db\n      image: {}\n",
        w.db
    );
    let chart = Chart {
        name: "stack".into(),
        version: "1.0.0".into(),
        archive: chart_archive("stack", "1.0.0", &top, &[("db", sub)]),
        prov: None,
    };
    let repo = HelmRepo::start(&[chart], false);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    let o = w.reg.capture(
        &[],
        &out,
        &[
            "--chart",
            repo.url.as_str(),
            "stack",
            "1.0.0",
            "--chart-images",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let chart_name = format!("{}/stack:1.0.0", repo.url.trim_start_matches("http://"));
    let l = lock(&out);
    let (sources, images) = items(&l);
    assert_eq!(
        sources,
        BTreeSet::from([
            (chart_name.clone(), "chart".to_string()),
            (w.web.clone(), "image".to_string()),
            (w.db.clone(), "image".to_string()),
        ])
    );
    assert_eq!(images.len(), 3);
    assert_eq!(
        requested_by(&l, &w.web),
        [format!("chart {chart_name} (images annotation of stack)")]
    );
    assert_eq!(
        requested_by(&l, &w.db),
        [format!(
            "chart {chart_name} (helm.sh/images annotation of stack > db)"
        )]
    );
    // inspect shows which chart named each image.
    let o = w.reg.airlock().arg("inspect").arg(&out).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        text.contains(&format!(
            "requested by chart {chart_name} (images annotation of stack)"
        )),
        "{text}"
    );
    assert!(text.contains(&format!("chart {chart_name} ")), "{text}");
}

fn report_codes_by_ref(stdout: &[u8]) -> std::collections::BTreeMap<String, Vec<String>> {
    let v: Value = serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(stdout)));
    let mut out = std::collections::BTreeMap::new();
    for i in v["images"].as_array().unwrap() {
        let codes = i["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect();
        out.insert(i["ref"].as_str().unwrap().to_string(), codes);
    }
    out
}

#[test]
fn helm_provenance_good_passes_other_key_tampered_archive_and_missing_prov_give_their_findings() {
    use common::helm_repo::Gpg;
    let vendor = Gpg::new("vendor@charts.example");
    let other = Gpg::new("other@charts.example");
    let signed = |name: &str, gpg: &Gpg, archive: &[u8]| {
        gpg.prov(
            &format!("apiVersion: v2\nname: {name}\nversion: 1.0.0"),
            &format!("{name}-1.0.0.tgz"),
            archive,
        )
    };
    let chart = |name: &str| chart_archive(name, "1.0.0", "", &[]);
    let good = chart("good");
    let badsig = chart("badsig");
    let tampered_original = chart("tampered");
    let tampered = chart_archive("tampered", "1.0.0", "keywords: [changed]\n", &[]);
    let charts = vec![
        Chart {
            name: "good".into(),
            version: "1.0.0".into(),
            prov: Some(signed("good", &vendor, &good)),
            archive: good,
        },
        Chart {
            name: "badsig".into(),
            version: "1.0.0".into(),
            prov: Some(signed("badsig", &other, &badsig)),
            archive: badsig,
        },
        // Signed for the original archive; the repository (index included) serves another.
        Chart {
            name: "tampered".into(),
            version: "1.0.0".into(),
            prov: Some(signed("tampered", &vendor, &tampered_original)),
            archive: tampered,
        },
        Chart {
            name: "noprov".into(),
            version: "1.0.0".into(),
            prov: None,
            archive: chart("noprov"),
        },
    ];
    let w = world();
    let repo = HelmRepo::start(&charts, true);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    let mut extra: Vec<String> = Vec::new();
    for c in ["good", "badsig", "tampered", "noprov"] {
        extra.extend(["--chart".into(), repo.url.clone(), c.into(), "1.0.0".into()]);
    }
    extra.extend(repo.cli_flags());
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let o = w.reg.capture(&[], &out, &extra);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    fs::write(tmp.path().join("vendor.asc"), vendor.public_key()).unwrap();
    let host = repo
        .url
        .trim_start_matches("https://")
        .trim_end_matches("/charts");
    let policy = tmp.path().join("policy.yaml");
    fs::write(
        &policy,
        format!(
            "apiVersion: airlock/v1\nkind: Policy\nrules:\n  - match: [\"{host}/charts/**\"]\n    signatures: none\n    helm:\n      provenance: required\n      keyring: vendor.asc\n"
        ),
    )
    .unwrap();
    let o = w
        .reg
        .airlock()
        .arg("verify")
        .arg(&out)
        .arg("--policy")
        .arg(&policy)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let codes = report_codes_by_ref(&o.stdout);
    let name = |c: &str| format!("{host}/charts/{c}:1.0.0");
    assert_eq!(codes[&name("good")], Vec::<String>::new(), "{codes:?}");
    assert_eq!(
        codes[&name("badsig")],
        ["chart-provenance-invalid"],
        "{codes:?}"
    );
    assert_eq!(
        codes[&name("tampered")],
        ["chart-provenance-invalid"],
        "{codes:?}"
    );
    assert_eq!(
        codes[&name("noprov")],
        ["chart-provenance-missing"],
        "{codes:?}"
    );

    // provenance: optional accepts the chart without .prov but still refuses a bad one.
    fs::write(
        &policy,
        format!(
            "apiVersion: airlock/v1\nkind: Policy\nrules:\n  - match: [\"{host}/charts/**\"]\n    signatures: none\n    helm:\n      provenance: optional\n      keyring: vendor.asc\n"
        ),
    )
    .unwrap();
    let o = w
        .reg
        .airlock()
        .arg("verify")
        .arg(&out)
        .arg("--policy")
        .arg(&policy)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let codes = report_codes_by_ref(&o.stdout);
    assert_eq!(codes[&name("noprov")], Vec::<String>::new(), "{codes:?}");
    assert_eq!(
        codes[&name("badsig")],
        ["chart-provenance-invalid"],
        "{codes:?}"
    );
}

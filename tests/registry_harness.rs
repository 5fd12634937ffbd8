//! Tests of the shared test harness itself (`tests/common`): every registry
//! flavour really starts, accepts pushes and serves them back byte for byte;
//! auth challenges are real; the referrers fallback is what distribution 2.8
//! gives us; cleanup happens; skopeo agrees with what we pushed.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem

mod common;

use std::path::Path;
use std::process::Command;

use common::content::{crc32, digest_of, gzip_stored, tar_archive, unb64};
use common::fixtures::{
    cyclonedx_bom, pae, parse_challenge, slsa_v02_statement, slsa_v1_statement, spdx_statement,
    ANN_PREDICATE_TYPE, ANN_SIGNATURE, COSIGN_SIMPLESIGNING, CYCLONEDX_JSON, DSSE_ENVELOPE,
    HELM_CHART_LAYER, HELM_CONFIG, INTOTO_PAYLOAD_TYPE, OCI_EMPTY_DIGEST, OCI_INDEX, OCI_MANIFEST,
    SIGSTORE_BUNDLE_V03, SLSA_PROVENANCE_V02, SLSA_PROVENANCE_V1, SPDX_PREDICATE,
};
use common::registry::{TEST_PASSWORD, TEST_USERNAME, TOKEN_SERVICE};
use common::{
    att_tag, referrers_tag, sbom_tag, sig_tag, simple_signing_payload, Flavour, Registry, TestKey,
};
use serde_json::Value;

const PLATFORMS: &[(&str, &str, Option<&str>)] = &[
    ("linux", "amd64", None),
    ("linux", "arm64", Some("v8")),
    ("linux", "s390x", None),
];

/// Push a signed multi-arch index and read everything back by digest.
fn roundtrip(flavour: Flavour) -> Registry {
    let reg = Registry::start(flavour);
    let fx = reg.fixtures();
    let key = TestKey::generate();
    let repo = "team/app";

    let idx = fx.multi_arch(repo, "v1", PLATFORMS, 4096);
    assert_eq!(idx.children.len(), PLATFORMS.len());
    assert_eq!(
        idx.child("linux/arm64/v8"),
        Some(idx.children[1].1.as_str())
    );
    let sig_digest = fx.cosign_signature(repo, &idx.digest, &reg.repo_ref(repo), &key.signer());

    let p = &fx.pusher;
    // The index, by digest and by tag.
    let (media_type, bytes) = p.get_manifest(repo, &idx.digest);
    assert_eq!(media_type, OCI_INDEX);
    assert_eq!(digest_of(&bytes), idx.digest);
    assert_eq!(bytes, idx.manifest_bytes);
    assert_eq!(p.get_manifest(repo, "v1").1, idx.manifest_bytes);

    // Every child and its blobs; the base layer is shared.
    let mut first_layers = Vec::new();
    for img in &idx.child_manifests {
        let (mt, bytes) = p.get_manifest(repo, &img.digest);
        assert_eq!(mt, OCI_MANIFEST);
        assert_eq!(digest_of(&bytes), img.digest);
        let m: Value = serde_json::from_slice(&bytes).unwrap();
        let config = p.get_blob(repo, &img.config_digest);
        assert_eq!(digest_of(&config), img.config_digest);
        let config: Value = serde_json::from_slice(&config).unwrap();
        assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
        for layer in &img.layer_digests {
            assert_eq!(&digest_of(&p.get_blob(repo, layer)), layer);
        }
        assert_eq!(m["layers"].as_array().unwrap().len(), 2);
        first_layers.push(img.layer_digests[0].clone());
    }
    assert!(first_layers.windows(2).all(|w| w[0] == w[1]));
    let platforms: Vec<String> = serde_json::from_slice::<Value>(&idx.manifest_bytes).unwrap()
        ["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let p = &d["platform"];
            let mut s = format!(
                "{}/{}",
                p["os"].as_str().unwrap(),
                p["architecture"].as_str().unwrap()
            );
            if let Some(v) = p["variant"].as_str() {
                s = format!("{s}/{v}");
            }
            s
        })
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64/v8", "linux/s390x"]);

    // The signature: by tag, then by digest; payload verifies with the key.
    let (_, sig_bytes) = p.get_manifest(repo, &sig_tag(&idx.digest));
    assert_eq!(digest_of(&sig_bytes), sig_digest);
    let sig_manifest: Value = serde_json::from_slice(&sig_bytes).unwrap();
    let layer = &sig_manifest["layers"][0];
    assert_eq!(layer["mediaType"], COSIGN_SIMPLESIGNING);
    let payload = p.get_blob(repo, layer["digest"].as_str().unwrap());
    assert_eq!(
        payload,
        simple_signing_payload(&reg.repo_ref(repo), &idx.digest)
    );
    let sig = unb64(layer["annotations"][ANN_SIGNATURE].as_str().unwrap());
    assert!(key.verify(&payload, &sig));
    let config = p.get_blob(repo, sig_manifest["config"]["digest"].as_str().unwrap());
    let config: Value = serde_json::from_slice(&config).unwrap();
    assert_eq!(config["rootfs"]["diff_ids"][0], layer["digest"]);
    drop(fx);
    reg
}

#[test]
fn plain_registry_roundtrip() {
    let reg = roundtrip(Flavour::Plain);
    assert_eq!(reg.url("/v2/"), format!("http://{}/v2/", reg.host));
    assert_eq!(
        reg.cli_flags(),
        vec!["--insecure-registry".to_string(), reg.host.clone()]
    );
}

#[test]
fn tls_registry_roundtrip() {
    let reg = roundtrip(Flavour::Tls);
    assert!(reg.url("v2/").starts_with("https://127.0.0.1:"));
    // Without the test CA the server certificate is not trusted.
    let untrusted = reqwest::blocking::Client::new();
    assert!(untrusted.get(reg.url("/v2/")).send().is_err());
    let ca = reg.ca_file.clone().unwrap();
    assert!(ca.exists());
    assert_eq!(
        reg.cli_flags(),
        vec!["--ca-file".to_string(), ca.to_string_lossy().into_owned()]
    );
}

#[test]
fn basic_auth_registry_roundtrip_and_challenge() {
    let reg = roundtrip(Flavour::TlsBasicAuth);
    let resp = reg.anonymous_client().get(reg.url("/v2/")).send().unwrap();
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["WWW-Authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.starts_with("Basic "), "{challenge}");
    let wrong = reg
        .anonymous_client()
        .get(reg.url("/v2/"))
        .basic_auth(TEST_USERNAME, Some("wrong"))
        .send()
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        reg.client().get(reg.url("/v2/")).send().unwrap().status(),
        200
    );
}

#[test]
fn token_registry_roundtrip_and_challenge() {
    let reg = roundtrip(Flavour::Token);
    let issuer = reg.token_issuer().unwrap();
    assert!(issuer.request_count() > 0);
    assert!(issuer.issued_count() > 0);
    // distribution lists the actions in map order: compare them as a set.
    assert!(issuer
        .scopes()
        .iter()
        .any(|s| scope_actions(s, "team/app") == ["pull", "push"]));

    // A push without a token: 401 with a Bearer challenge naming our realm.
    let url = reg.url("/v2/team/other/blobs/uploads/");
    let resp = reg.anonymous_client().post(&url).send().unwrap();
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["WWW-Authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    let (scheme, params) = parse_challenge(&challenge);
    assert_eq!(scheme, "Bearer");
    assert_eq!(params["realm"], issuer.realm());
    assert_eq!(params["service"], TOKEN_SERVICE);
    assert_eq!(
        scope_actions(&params["scope"], "team/other"),
        ["pull", "push"]
    );

    // The token endpoint wants the credentials.
    let client = reg.anonymous_client();
    let no_creds = client
        .get(issuer.realm())
        .query(&[
            ("service", TOKEN_SERVICE),
            ("scope", "repository:team/other:pull,push"),
        ])
        .send()
        .unwrap();
    assert_eq!(no_creds.status(), 401);

    // With a token obtained the normal way, the push is accepted.
    let body: Value = client
        .get(issuer.realm())
        .query(&[
            ("service", TOKEN_SERVICE),
            ("scope", "repository:team/other:pull,push"),
        ])
        .basic_auth(TEST_USERNAME, Some(TEST_PASSWORD))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["token"], body["access_token"]);
    let token = body["token"].as_str().unwrap();
    let ok = client.post(&url).bearer_auth(token).send().unwrap();
    assert_eq!(ok.status(), 202, "{}", reg.log());

    // A pull-only token does not allow pushing; an expired one nothing.
    let pull_only = issuer.mint(TEST_USERNAME, &[("team/other", &["pull"])]);
    assert_eq!(
        client
            .post(&url)
            .bearer_auth(pull_only)
            .send()
            .unwrap()
            .status(),
        401
    );
    let expired = issuer.mint_expired(TEST_USERNAME, &[("team/other", &["pull", "push"])]);
    assert_eq!(
        client
            .post(&url)
            .bearer_auth(expired)
            .send()
            .unwrap()
            .status(),
        401
    );

    // The issuer can simulate an outage.
    issuer.set_failing(true);
    let down = client
        .get(issuer.realm())
        .basic_auth(TEST_USERNAME, Some(TEST_PASSWORD))
        .send()
        .unwrap();
    assert_eq!(down.status(), 503);
    issuer.set_failing(false);
}

#[test]
fn referrer_fallback_index_and_no_referrers_api() {
    let reg = Registry::start(Flavour::Plain);
    let fx = reg.fixtures();
    let repo = "team/app";
    let img = fx.image(repo, "v1", &[b"hello world\n".to_vec()]);

    let bundle = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#;
    let r1 = fx.referrer(
        repo,
        &img.descriptor(),
        SIGSTORE_BUNDLE_V03,
        SIGSTORE_BUNDLE_V03,
        bundle,
        &[("dev.sigstore.bundle.content", "dsse-envelope")],
    );
    let sbom = serde_json::to_vec(&cyclonedx_bom("team/app")).unwrap();
    let r2 = fx.referrer(
        repo,
        &img.descriptor(),
        "application/vnd.cyclonedx+json",
        CYCLONEDX_JSON,
        &sbom,
        &[],
    );
    // Pushing the same referrer again does not duplicate it.
    let r1_again = fx.referrer(
        repo,
        &img.descriptor(),
        SIGSTORE_BUNDLE_V03,
        SIGSTORE_BUNDLE_V03,
        bundle,
        &[("dev.sigstore.bundle.content", "dsse-envelope")],
    );
    assert_eq!(r1.digest, r1_again.digest);

    // The referrer manifest itself, by digest.
    let (_, bytes) = fx.pusher.get_manifest(repo, &r1.digest);
    assert_eq!(digest_of(&bytes), r1.digest);
    let m: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(m["artifactType"], SIGSTORE_BUNDLE_V03);
    assert_eq!(m["config"]["digest"], OCI_EMPTY_DIGEST);
    assert_eq!(m["config"]["size"], 2);
    assert_eq!(m["subject"]["digest"], img.digest.as_str());

    // The fallback index at sha256-<hex>.
    let (mt, bytes) = fx.pusher.get_manifest(repo, &referrers_tag(&img.digest));
    assert_eq!(mt, OCI_INDEX);
    let index: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(index, fx.referrers_index(repo, &img.digest).unwrap());
    let descs = index["manifests"].as_array().unwrap();
    assert_eq!(descs.len(), 2);
    assert_eq!(descs[0]["digest"], r1.digest.as_str());
    assert_eq!(descs[0]["artifactType"], SIGSTORE_BUNDLE_V03);
    assert_eq!(
        descs[0]["annotations"]["dev.sigstore.bundle.content"],
        "dsse-envelope"
    );
    assert_eq!(descs[0]["size"], r1.size);
    assert_eq!(descs[1]["digest"], r2.digest.as_str());
    assert_eq!(descs[1]["artifactType"], "application/vnd.cyclonedx+json");

    // distribution 2.8 has no referrers API.
    let resp = fx
        .pusher
        .get(repo, &format!("/v2/{repo}/referrers/{}", img.digest));
    assert_eq!(resp.status(), 404);
}

#[test]
fn attestations_sbom_and_helm_chart() {
    let reg = Registry::start(Flavour::Tls);
    let fx = reg.fixtures();
    let key = TestKey::generate();
    let repo = "team/app";
    let img = fx.image(repo, "v1", &[b"a".to_vec(), b"b".to_vec()]);
    let name = reg.repo_ref(repo);

    let statements = vec![
        (SLSA_PROVENANCE_V02, slsa_v02_statement(&name, &img.digest)),
        (SLSA_PROVENANCE_V1, slsa_v1_statement(&name, &img.digest)),
        (SPDX_PREDICATE, spdx_statement(&name, &img.digest)),
    ];
    let att = fx.cosign_attestations(repo, &img.digest, &statements, &key.signer());
    let (_, bytes) = fx.pusher.get_manifest(repo, &att_tag(&img.digest));
    assert_eq!(digest_of(&bytes), att);
    let m: Value = serde_json::from_slice(&bytes).unwrap();
    let layers = m["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);
    for (layer, (pt, stmt)) in layers.iter().zip(&statements) {
        assert_eq!(layer["mediaType"], DSSE_ENVELOPE);
        assert_eq!(layer["annotations"][ANN_SIGNATURE], "");
        assert_eq!(layer["annotations"][ANN_PREDICATE_TYPE], *pt);
        let env: Value =
            serde_json::from_slice(&fx.pusher.get_blob(repo, layer["digest"].as_str().unwrap()))
                .unwrap();
        assert_eq!(env["payloadType"], INTOTO_PAYLOAD_TYPE);
        assert_eq!(env["signatures"][0]["keyid"], "");
        let payload = unb64(env["payload"].as_str().unwrap());
        assert_eq!(&payload, stmt);
        let sig = unb64(env["signatures"][0]["sig"].as_str().unwrap());
        assert!(key.verify(&pae(INTOTO_PAYLOAD_TYPE, &payload), &sig));
        let st: Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(st["predicateType"], *pt);
        assert_eq!(
            format!(
                "sha256:{}",
                st["subject"][0]["digest"]["sha256"].as_str().unwrap()
            ),
            img.digest
        );
    }

    let bom = serde_json::to_vec(&cyclonedx_bom(&name)).unwrap();
    let sbom = fx.cosign_sbom(repo, &img.digest, CYCLONEDX_JSON, &bom);
    let (_, bytes) = fx.pusher.get_manifest(repo, &sbom_tag(&img.digest));
    assert_eq!(digest_of(&bytes), sbom);
    let m: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(m["layers"][0]["mediaType"], CYCLONEDX_JSON);
    assert_eq!(
        fx.pusher
            .get_blob(repo, m["layers"][0]["digest"].as_str().unwrap()),
        bom
    );

    let chart = fx.helm_chart("charts/app", "0.1.0");
    let (_, bytes) = fx.pusher.get_manifest("charts/app", "0.1.0");
    assert_eq!(digest_of(&bytes), chart.digest);
    let m: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(m["config"]["mediaType"], HELM_CONFIG);
    assert_eq!(m["layers"][0]["mediaType"], HELM_CHART_LAYER);
    let tgz = fx.pusher.get_blob("charts/app", &chart.layer_digests[0]);
    if let Some(listing) = tar_list(&reg, &tgz, true) {
        assert!(listing.contains("app/Chart.yaml"), "{listing}");
    }
}

#[test]
fn signature_layers_append_and_replace() {
    let reg = Registry::start(Flavour::Plain);
    let fx = reg.fixtures();
    let (k1, k2) = (TestKey::generate(), TestKey::generate());
    let repo = "team/app";
    let img = fx.image(repo, "v1", &[b"x".to_vec()]);
    let other = fx.image(repo, "v2", &[b"y".to_vec()]);
    let name = reg.repo_ref(repo);

    fx.cosign_signature(repo, &img.digest, &name, &k1.signer());
    fx.cosign_signature(repo, &img.digest, &name, &k2.signer());
    let layers = |d: &str| -> Vec<Value> {
        let (_, b) = fx.pusher.get_manifest(repo, &sig_tag(d));
        serde_json::from_slice::<Value>(&b).unwrap()["layers"]
            .as_array()
            .unwrap()
            .clone()
    };
    assert_eq!(layers(&img.digest).len(), 2);

    // Replace with a replayed signature: payload names another digest.
    let replayed = simple_signing_payload(&name, &other.digest);
    let sig = k1.sign(&replayed);
    fx.cosign_signatures(repo, &img.digest, &[(replayed.clone(), sig)]);
    let l = layers(&img.digest);
    assert_eq!(l.len(), 1);
    assert_eq!(
        fx.pusher.get_blob(repo, l[0]["digest"].as_str().unwrap()),
        replayed
    );
    assert!(reg
        .blob_data_path(l[0]["digest"].as_str().unwrap())
        .exists());
    assert!(fx.pusher.tags(repo).contains(&sig_tag(&img.digest)));
}

#[test]
fn drop_kills_process_and_removes_dir() {
    let reg = Registry::start(Flavour::Tls);
    let pid = reg.pid().unwrap();
    let dir = reg.dir().to_path_buf();
    let config = reg.config_path().to_string_lossy().into_owned();
    assert!(process_runs_config(pid, &config));
    assert!(dir.join("ca.pem").exists());
    drop(reg);
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert!(
        !process_runs_config(pid, &config),
        "registry pid {pid} still alive"
    );
}

#[test]
fn stop_and_restart_keep_storage_and_port() {
    let mut reg = Registry::start(Flavour::TlsBasicAuth);
    let img = reg
        .fixtures()
        .image("team/app", "v1", &[b"persist me".to_vec()]);
    let host = reg.host.clone();
    let old_pid = reg.pid().unwrap();

    reg.stop();
    assert!(!reg.is_running());
    assert!(reg.client().get(reg.url("/v2/")).send().is_err());

    reg.restart();
    assert!(reg.is_running());
    assert_eq!(reg.host, host);
    assert_ne!(reg.pid().unwrap(), old_pid);
    let (_, bytes) = reg.pusher().get_manifest("team/app", &img.digest);
    assert_eq!(bytes, img.manifest_bytes);
}

#[test]
fn airlock_env_writes_docker_auth_file() {
    let reg = Registry::start(Flavour::TlsBasicAuth);
    let env = reg.airlock_env();
    assert_eq!(env.len(), 1);
    assert_eq!(env[0].0, "REGISTRY_AUTH_FILE");
    let doc: Value = serde_json::from_slice(&std::fs::read(&env[0].1).unwrap()).unwrap();
    let auth = doc["auths"][reg.host.as_str()]["auth"].as_str().unwrap();
    assert_eq!(
        unb64(auth),
        format!("{TEST_USERNAME}:{TEST_PASSWORD}").into_bytes()
    );

    let plain = Registry::start(Flavour::Plain);
    let env = plain.airlock_env();
    let doc: Value = serde_json::from_slice(&std::fs::read(&env[0].1).unwrap()).unwrap();
    assert_eq!(doc, serde_json::json!({"auths": {}}));
    assert_ne!(plain.host, reg.host);
}

#[test]
fn skopeo_reads_pushed_manifests() {
    assert!(
        Path::new("/usr/bin/skopeo").exists() || which("skopeo").is_some(),
        "skopeo_reads_pushed_manifests needs skopeo (Debian package skopeo; scripts/test.sh \
         installs it); a missing tool fails the suite"
    );
    let reg = Registry::start(Flavour::Plain);
    let fx = reg.fixtures();
    let idx = fx.multi_arch("team/app", "v1", PLATFORMS, 1024);
    for digest in std::iter::once(&idx.digest).chain(idx.children.iter().map(|(_, d)| d)) {
        let out = Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{}", reg.image_ref("team/app", digest)))
            .env("HOME", reg.dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(&digest_of(&out.stdout), digest);
    }
}

#[test]
fn content_helpers() {
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    assert_eq!(
        String::from_utf8(pae("http://example.com/HelloWorld", b"hello world")).unwrap(),
        "DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    );
    assert_eq!(digest_of(b"{}"), OCI_EMPTY_DIGEST);
    assert_eq!(
        String::from_utf8(simple_signing_payload("r.example/app", "sha256:abc")).unwrap(),
        r#"{"critical":{"identity":{"docker-reference":"r.example/app"},"image":{"docker-manifest-digest":"sha256:abc"},"type":"cosign container image signature"},"optional":null}"#
    );
    let (scheme, params) = parse_challenge(
        r#"Bearer realm="http://h/token",service="s",scope="repository:a/b:pull,push""#,
    );
    assert_eq!(scheme, "Bearer");
    assert_eq!(params["scope"], "repository:a/b:pull,push");
    assert_eq!(params["realm"], "http://h/token");

    // The tar and gzip writers produce archives real tools read.
    let reg_dir = tempfile::tempdir().unwrap();
    let big = common::deterministic_bytes(7, 200_000);
    let tgz = gzip_stored(&tar_archive(&[("a/b.txt", b"hi\n"), ("big.bin", &big)]));
    let path = reg_dir.path().join("x.tgz");
    std::fs::write(&path, &tgz).unwrap();
    if let Ok(out) = Command::new("tar").arg("-tzf").arg(&path).output() {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a/b.txt\nbig.bin\n");
    }
    let key = TestKey::generate();
    assert!(key
        .public_key_pem()
        .starts_with("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"));
}

/// Sorted actions of a `repository:NAME:a,b` scope for `name` (empty otherwise).
fn scope_actions(scope: &str, name: &str) -> Vec<String> {
    let Some(actions) = scope.strip_prefix(&format!("repository:{name}:")) else {
        return Vec::new();
    };
    let mut v: Vec<String> = actions.split(',').map(str::to_string).collect();
    v.sort();
    v
}

/// List a tarball with the system `tar` (None if tar is unavailable).
fn tar_list(reg: &Registry, bytes: &[u8], gzip: bool) -> Option<String> {
    let path = reg.dir().join("listing.tar");
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("tar")
        .arg(if gzip { "-tzf" } else { "-tf" })
        .arg(&path)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `pid` is alive and is a registry started with `config`.
fn process_runs_config(pid: u32, config: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains(config))
        .unwrap_or(false)
}

fn which(bin: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(bin))
        .find(|p| p.exists())
}

//! The registry client's transport against real registries (TLS set-ups as the guides make
//! them) and hostile in-test servers: TLS trust and mix-ups, `--insecure-registry`, auth file
//! key forms and credential helpers, retries, credential routing, redirects, stalls, endless
//! and cut bodies, lying digest headers and error bodies that are not ASCII.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::content::digest_of;
use common::hostile::{HostileServer, Reply, Request};
use common::registry::{free_port, Flavour, Registry, TEST_PASSWORD, TEST_USERNAME};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// Extra `push` flags every push here needs (the verdict flag, once push requires one). These
/// tests are about transport, not about the verdict.
const PUSH_VERDICT: &[&str] = &["--no-verify"];

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn all_output(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// airlock with an empty auth file (never the developer's own).
fn airlock(dir: &Path) -> assert_cmd::Command {
    let auth = dir.join("empty-auth.json");
    if !auth.exists() {
        fs::write(&auth, r#"{"auths":{}}"#).unwrap();
    }
    let mut c = assert_cmd::Command::cargo_bin("airlock").unwrap();
    c.env("REGISTRY_AUTH_FILE", auth);
    c
}

/// No Rust `Debug` rendering and no rustls enum names in a user-facing message.
fn assert_no_debug_text(msg: &str) {
    for bad in [
        "InvalidContentType",
        "CaUsedAsEndEntity",
        "UnknownIssuer",
        "{ kind:",
        "Error {",
        "Some(",
        "reqwest::",
        "hyper::",
    ] {
        assert!(!msg.contains(bad), "debug text {bad:?} in: {msg}");
    }
}

fn capture_plain(host: &str, reference: &str, out: &Path, extra: &[&str]) -> Output {
    airlock(out.parent().unwrap())
        .arg("capture")
        .arg(format!("{host}/{reference}"))
        .arg("-o")
        .arg(out)
        .args(["--insecure-registry", host])
        .args(extra)
        .output()
        .unwrap()
}

// --- TLS against the real registry ----------------------------------------------------------

#[test]
fn capture_trusts_a_ca_signed_registry_through_cert_dir() {
    let reg = Registry::start(Flavour::Tls);
    reg.fixtures()
        .image("team/app", "v1", &[b"cert dir layer".to_vec()]);
    let tmp = tempfile::tempdir().unwrap();
    let o = reg
        .airlock()
        .arg("capture")
        .arg(reg.image_ref("team/app", "v1"))
        .arg("-o")
        .arg(tmp.path().join("b"))
        .arg("--cert-dir")
        .arg(reg.cert_dir())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(tmp.path().join("b/airlock.lock.json").exists());
}

#[test]
fn capture_and_push_accept_a_self_signed_ca_true_registry_certificate_given_with_ca_file() {
    let reg = Registry::start(Flavour::TlsSelfSigned);
    reg.fixtures()
        .image("team/app", "v1", &[b"self-signed layer".to_vec()]);
    let tmp = tempfile::tempdir().unwrap();
    let bundle = tmp.path().join("b");
    let o = reg.capture(&[reg.image_ref("team/app", "v1")], &bundle, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // The same certificate in a cert dir works too, and push reaches the registry through it.
    let target = Registry::start(Flavour::TlsSelfSigned);
    let o = target
        .airlock()
        .arg("push")
        .args(PUSH_VERDICT)
        .arg(&bundle)
        .arg(&target.host)
        .arg("--cert-dir")
        .arg(target.cert_dir())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn self_signed_registry_without_trust_is_unknown_ca_with_subject_and_issuer() {
    let reg = Registry::start(Flavour::TlsSelfSigned);
    let tmp = tempfile::tempdir().unwrap();
    let o = reg
        .airlock()
        .arg("capture")
        .arg(reg.image_ref("team/app", "v1"))
        .arg("-o")
        .arg(tmp.path().join("b"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains(&reg.host) && e.contains("unknown CA"), "{e}");
    assert!(e.contains("self-signed"), "{e}");
    assert!(
        e.contains("subject \"CN=airlock self-signed registry\"")
            && e.contains("issuer \"CN=airlock self-signed registry\""),
        "{e}"
    );
    assert!(e.contains("--ca-file") && e.contains("--cert-dir"), "{e}");
    assert_no_debug_text(&e);
}

#[test]
fn ca_signed_registry_with_unknown_ca_names_subject_and_issuer() {
    let reg = Registry::start(Flavour::Tls);
    let tmp = tempfile::tempdir().unwrap();
    let o = reg
        .airlock()
        .arg("capture")
        .arg(reg.image_ref("team/app", "v1"))
        .arg("-o")
        .arg(tmp.path().join("b"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("unknown CA: the certificate is not issued by a trusted CA"),
        "{e}"
    );
    assert!(
        e.contains("subject \"CN=127.0.0.1\"") && e.contains("issuer \"CN=airlock test CA\""),
        "{e}"
    );
    assert_no_debug_text(&e);
}

#[test]
fn mutual_tls_registry_accepts_the_client_certificate_from_cert_dir() {
    let reg = Registry::start(Flavour::MutualTls);
    reg.fixtures()
        .image("team/app", "v1", &[b"mtls layer".to_vec()]);
    let tmp = tempfile::tempdir().unwrap();
    // cli_flags() is --cert-dir with ca.crt, client.cert and client.key.
    let o = reg.capture(
        &[reg.image_ref("team/app", "v1")],
        &tmp.path().join("b"),
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // Without the client certificate the registry refuses the handshake: exit 2, named host.
    let o = reg
        .airlock()
        .arg("capture")
        .arg(reg.image_ref("team/app", "v1"))
        .arg("-o")
        .arg(tmp.path().join("c"))
        .arg("--ca-file")
        .arg(reg.ca_file.as_ref().unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(&reg.host) && e.contains("client certificate"),
        "{e}"
    );
    assert_no_debug_text(&e);
}

#[test]
fn tls_to_a_plain_http_registry_says_tls_spoken_to_an_http_port() {
    let reg = Registry::start(Flavour::Plain);
    let tmp = tempfile::tempdir().unwrap();
    let o = reg
        .airlock()
        .arg("capture")
        .arg(reg.image_ref("team/app", "v1"))
        .arg("-o")
        .arg(tmp.path().join("b"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("TLS spoken to an HTTP port") && e.contains(&reg.host),
        "{e}"
    );
    assert!(e.contains("--insecure-registry"), "{e}");
    assert_no_debug_text(&e);
}

#[test]
fn plain_http_to_a_tls_registry_says_http_spoken_to_a_tls_port() {
    let reg = Registry::start(Flavour::Tls);
    let tmp = tempfile::tempdir().unwrap();
    let o = reg
        .airlock()
        .arg("capture")
        .arg(reg.image_ref("team/app", "v1"))
        .arg("-o")
        .arg(tmp.path().join("b"))
        .args(["--insecure-registry", &reg.host])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("HTTP spoken to a TLS port") && e.contains(&reg.host),
        "{e}"
    );
    assert_no_debug_text(&e);
}

#[test]
fn bad_ca_file_and_cert_dir_name_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let junk = tmp.path().join("junk-ca.pem");
    fs::write(&junk, "not a certificate\n").unwrap();
    for (flag, path, want) in [
        ("--ca-file", junk.clone(), "holds no PEM certificate"),
        (
            "--ca-file",
            tmp.path().join("missing-ca.pem"),
            "cannot read",
        ),
        (
            "--cert-dir",
            tmp.path().join("no-such-dir"),
            "not a directory",
        ),
    ] {
        let o = airlock(tmp.path())
            .args(["capture", "127.0.0.1:1/team/app:v1", "-o"])
            .arg(tmp.path().join("b"))
            .arg(flag)
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains(&*path.to_string_lossy()) && e.contains(want),
            "{flag}: {e}"
        );
        assert!(!e.contains("builder error"), "{e}");
    }
}

// --- --insecure-registry, auth file forms, credential helpers --------------------------------

#[test]
fn insecure_registry_accepts_http_url_form_and_refuses_other_schemes_and_paths() {
    let reg = Registry::start(Flavour::Plain);
    reg.fixtures()
        .image("team/app", "v1", &[b"insecure layer".to_vec()]);
    let tmp = tempfile::tempdir().unwrap();
    let o = reg
        .airlock()
        .arg("capture")
        .arg(reg.image_ref("team/app", "v1"))
        .arg("-o")
        .arg(tmp.path().join("b"))
        .arg("--insecure-registry")
        .arg(format!("http://{}/", reg.host))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for bad in [
        format!("https://{}", reg.host),
        format!("ftp://{}", reg.host),
        format!("{}/team", reg.host),
        format!("http://{}/v2/", reg.host),
    ] {
        let o = reg
            .airlock()
            .arg("capture")
            .arg(reg.image_ref("team/app", "v1"))
            .arg("-o")
            .arg(tmp.path().join("c"))
            .arg("--insecure-registry")
            .arg(&bad)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        assert!(stderr(&o).contains("--insecure-registry"), "{}", stderr(&o));
    }
}

#[test]
fn auth_file_keys_authenticate_in_every_url_form() {
    let reg = Registry::start(Flavour::TlsBasicAuth);
    reg.fixtures()
        .image("team/app", "v1", &[b"auth forms".to_vec()]);
    let tmp = tempfile::tempdir().unwrap();
    let auth = common::content::b64(format!("{TEST_USERNAME}:{TEST_PASSWORD}").as_bytes());
    for (i, key) in [
        reg.host.clone(),
        format!("https://{}", reg.host),
        format!("https://{}/v1/", reg.host),
        format!("https://{}/v2/", reg.host),
    ]
    .iter()
    .enumerate()
    {
        let file = tmp.path().join(format!("auth-{i}.json"));
        fs::write(
            &file,
            serde_json::json!({ "auths": { key: { "auth": auth } } }).to_string(),
        )
        .unwrap();
        let o = reg
            .airlock()
            .arg("capture")
            .arg(reg.image_ref("team/app", "v1"))
            .arg("-o")
            .arg(tmp.path().join(format!("b{i}")))
            .args(reg.cli_flags())
            .arg("--auth-file")
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "key {key}: {}", stderr(&o));
    }
}

#[test]
fn missing_credential_helper_is_exit_2_naming_docker_credential_name() {
    let reg = Registry::start(Flavour::TlsBasicAuth);
    let tmp = tempfile::tempdir().unwrap();
    for doc in [
        serde_json::json!({ "credHelpers": { format!("https://{}/v2/", reg.host): "airlock-absent" } }),
        serde_json::json!({ "credsStore": "airlock-absent" }),
    ] {
        let file = tmp.path().join("auth.json");
        fs::write(&file, doc.to_string()).unwrap();
        let o = reg
            .airlock()
            .arg("capture")
            .arg(reg.image_ref("team/app", "v1"))
            .arg("-o")
            .arg(tmp.path().join("b"))
            .args(reg.cli_flags())
            .arg("--auth-file")
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains("docker-credential-airlock-absent") && e.contains("not installed"),
            "{e}"
        );
        assert!(!e.contains("no entry for"), "{e}");
    }
}

// --- Retries -----------------------------------------------------------------------------

#[test]
fn connection_refused_fails_at_once_without_retries() {
    let tmp = tempfile::tempdir().unwrap();
    let host = format!("127.0.0.1:{}", free_port());
    let o = capture_plain(&host, "team/app:v1", &tmp.path().join("b"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("connection refused") && e.contains(&host), "{e}");
    assert!(
        !e.contains("gave up after"),
        "a refused connection is not retried: {e}"
    );
    assert_no_debug_text(&e);
}

#[test]
fn server_errors_are_retried_and_the_message_says_how_many_tries() {
    let srv = HostileServer::start(|req| match req.path.as_str() {
        "/v2/" => Reply::status(200),
        _ => Reply::body(503, &[], "busy"),
    });
    let tmp = tempfile::tempdir().unwrap();
    let o = capture_plain(&srv.host(), "team/app:v1", &tmp.path().join("b"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("HTTP 503 5 times in a row"), "{e}");
    let manifest_gets = srv
        .requests()
        .iter()
        .filter(|r| r.path.contains("/manifests/"))
        .count();
    assert_eq!(manifest_gets, 5, "1 try + MAX_RETRIES retries");
}

#[test]
fn client_errors_are_not_retried() {
    let srv = HostileServer::start(|_| Reply::body(400, &[], "bad"));
    let tmp = tempfile::tempdir().unwrap();
    let o = capture_plain(&srv.host(), "team/app:v1", &tmp.path().join("b"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(srv.requests().len(), 1);
}

// --- Credentials go only where they belong -------------------------------------------------

#[test]
fn credentials_are_not_sent_to_a_plain_http_token_realm_of_a_tls_registry() {
    // The real token-auth registry names a plain-HTTP realm on another port. Without that realm
    // host given as --insecure-registry, neither capture nor push may send anything there.
    let reg = Registry::start(Flavour::Token);
    reg.fixtures()
        .image("team/app", "v1", &[b"token layer".to_vec()]);
    let issuer = reg.token_issuer().unwrap();
    let before = issuer.request_count();
    let tmp = tempfile::tempdir().unwrap();
    let ca = reg.ca_file.as_ref().unwrap().to_string_lossy().into_owned();
    let o = reg
        .airlock()
        .arg("capture")
        .arg(reg.image_ref("team/app", "v1"))
        .arg("-o")
        .arg(tmp.path().join("b"))
        .args(["--ca-file", &ca])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("not HTTPS") && e.contains(&issuer.addr().to_string()),
        "{e}"
    );
    assert_eq!(
        issuer.request_count(),
        before,
        "nothing may reach the realm"
    );

    // Push (from a bundle captured with the realm allowed) is held to the same rule.
    let bundle = tmp.path().join("ok");
    let o = reg.capture(&[reg.image_ref("team/app", "v1")], &bundle, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let before = issuer.request_count();
    let o = reg
        .airlock()
        .arg("push")
        .args(PUSH_VERDICT)
        .arg(&bundle)
        .arg(&reg.host)
        .args(["--ca-file", &ca])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("not HTTPS"), "{}", stderr(&o));
    assert_eq!(
        issuer.request_count(),
        before,
        "nothing may reach the realm"
    );
}

/// A hostile registry whose token realm is `realm`; it never accepts anything.
fn bearer_registry(realm: String) -> HostileServer {
    HostileServer::start_tls(move |_req| {
        Reply::body(
            401,
            &[(
                "WWW-Authenticate",
                &format!("Bearer realm=\"{realm}\",service=\"svc\""),
            )],
            "{}",
        )
    })
}

#[test]
fn credentials_are_not_sent_to_a_token_realm_on_another_host_unless_the_auth_file_names_it() {
    let realm_hits = Arc::new(std::sync::Mutex::new(Vec::<Request>::new()));
    let hits = realm_hits.clone();
    let realm = HostileServer::start_tls(move |req| {
        hits.lock().unwrap().push(req.clone());
        Reply::body(
            200,
            &[("Content-Type", "application/json")],
            r#"{"token":"t"}"#,
        )
    });
    // The registry is 127.0.0.1; the realm is on "localhost", another host name.
    let reg = bearer_registry(format!(
        "https://localhost:{}/token",
        realm.host().rsplit(':').next().unwrap()
    ));
    let tmp = tempfile::tempdir().unwrap();
    let auth = tmp.path().join("auth.json");
    fs::write(
        &auth,
        serde_json::json!({ "auths": { reg.host(): { "auth": common::content::b64(b"reguser:regpass") } } })
            .to_string(),
    )
    .unwrap();
    let run = |out: &str| {
        airlock(tmp.path())
            .arg("capture")
            .arg(format!("{}/team/app:v1", reg.host()))
            .arg("-o")
            .arg(tmp.path().join(out))
            .arg("--ca-file")
            .arg(reg.cert_file())
            .arg("--ca-file")
            .arg(realm.cert_file())
            .arg("--auth-file")
            .arg(&auth)
            .output()
            .unwrap()
    };
    let o = run("b");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("another host") && e.contains("localhost:"),
        "{e}"
    );
    assert!(
        realm_hits.lock().unwrap().is_empty(),
        "nothing may reach the realm"
    );

    // Named in the auth file, the realm gets *its own* entry's credentials, never the registry's.
    let realm_key = format!("localhost:{}", realm.host().rsplit(':').next().unwrap());
    fs::write(
        &auth,
        serde_json::json!({ "auths": {
            reg.host(): { "auth": common::content::b64(b"reguser:regpass") },
            realm_key: { "auth": common::content::b64(b"realmuser:realmpass") },
        } })
        .to_string(),
    )
    .unwrap();
    let o = run("c");
    assert_eq!(
        o.status.code(),
        Some(2),
        "the registry still refuses: {}",
        stderr(&o)
    );
    let hits = realm_hits.lock().unwrap();
    assert!(!hits.is_empty(), "the named realm is asked");
    let expected = format!("Basic {}", common::content::b64(b"realmuser:realmpass"));
    for h in hits.iter() {
        assert_eq!(h.header("authorization"), Some(expected.as_str()));
    }
}

#[test]
fn https_to_http_redirects_are_not_followed() {
    let plain_hits = Arc::new(AtomicUsize::new(0));
    let hits = plain_hits.clone();
    let plain = HostileServer::start(move |_| {
        hits.fetch_add(1, Ordering::SeqCst);
        Reply::status(200)
    });
    let target = format!("http://{}/stolen", plain.host());
    let reg = HostileServer::start_tls(move |req| match req.path.as_str() {
        "/v2/" => Reply::status(200),
        _ => Reply::body(302, &[("Location", &target)], ""),
    });
    let tmp = tempfile::tempdir().unwrap();
    let o = airlock(tmp.path())
        .arg("capture")
        .arg(format!("{}/team/app:v1", reg.host()))
        .arg("-o")
        .arg(tmp.path().join("b"))
        .arg("--ca-file")
        .arg(reg.cert_file())
        // Even a plain-HTTP host the user allowed is not reached through a downgrade.
        .args(["--insecure-registry", &plain.host()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("redirect from HTTPS to plain HTTP"), "{e}");
    assert_eq!(plain_hits.load(Ordering::SeqCst), 0);
}

// --- Stalls --------------------------------------------------------------------------------

fn stalling_registry() -> HostileServer {
    HostileServer::start(|_| Reply::Stall)
}

fn assert_stall_message(o: &Output, host: &str) {
    assert_eq!(o.status.code(), Some(2), "{}", all_output(o));
    let e = stderr(o);
    assert!(
        e.contains(host) && e.contains("no answer within 1 s while waiting for the response"),
        "{e}"
    );
    assert!(e.contains("--timeout"), "{e}");
}

/// A one-image bundle captured from a real registry, for push and verify --registry.
fn small_bundle(tmp: &Path) -> PathBuf {
    let reg = Registry::start(Flavour::Plain);
    reg.fixtures()
        .image("team/app", "v1", &[b"stall layer".to_vec()]);
    let bundle = tmp.join("bundle");
    let o = reg.capture(&[reg.image_ref("team/app", "v1")], &bundle, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    bundle
}

#[test]
fn capture_from_a_stalled_registry_fails_naming_host_and_what_it_waited_for() {
    let srv = stalling_registry();
    let tmp = tempfile::tempdir().unwrap();
    let o = capture_plain(
        &srv.host(),
        "team/app:v1",
        &tmp.path().join("b"),
        &["--timeout", "1"],
    );
    assert_stall_message(&o, &srv.host());
}

#[test]
fn push_to_a_stalled_registry_fails_naming_host_and_what_it_waited_for() {
    let tmp = tempfile::tempdir().unwrap();
    let bundle = small_bundle(tmp.path());
    let srv = stalling_registry();
    let o = airlock(tmp.path())
        .arg("push")
        .args(PUSH_VERDICT)
        .arg(&bundle)
        .arg(srv.host())
        .args(["--insecure-registry", &srv.host(), "--timeout", "1"])
        .output()
        .unwrap();
    assert_stall_message(&o, &srv.host());
}

#[test]
fn verify_registry_against_a_stalled_registry_fails_naming_host_and_what_it_waited_for() {
    let tmp = tempfile::tempdir().unwrap();
    let bundle = small_bundle(tmp.path());
    let policy = tmp.path().join("policy.yaml");
    fs::write(
        &policy,
        "apiVersion: airlock/v1\nkind: Policy\nrules:\n  - match: [\"**\"]\n    signatures: none\n",
    )
    .unwrap();
    let srv = stalling_registry();
    let o = airlock(tmp.path())
        .args(["verify", "--registry", &srv.host(), "--lock"])
        .arg(bundle.join("airlock.lock.json"))
        .arg("--policy")
        .arg(&policy)
        .args(["--insecure-registry", &srv.host(), "--timeout", "1"])
        .output()
        .unwrap();
    assert_stall_message(&o, &srv.host());
}

// --- Hostile content ------------------------------------------------------------------------

/// A one-layer image as a hostile registry serves it: (manifest bytes, config bytes, layer
/// digest). The layer descriptor claims `layer_size` bytes of `layer`.
fn image_parts(layer: &[u8]) -> (Vec<u8>, Vec<u8>, String) {
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_vec();
    let layer_digest = digest_of(layer);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest_of(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer.len()}],
    }))
    .unwrap();
    (manifest, config, layer_digest)
}

/// Serves the image of [`image_parts`] at `team/app:v1`; `layer_reply` answers the layer GET,
/// `dcd` is the Docker-Content-Digest sent with the manifest.
fn image_registry(
    layer: &[u8],
    dcd: Option<String>,
    layer_reply: impl Fn() -> Reply + Send + Sync + 'static,
) -> HostileServer {
    let (manifest, config, layer_digest) = image_parts(layer);
    let manifest_digest = digest_of(&manifest);
    let config_digest = digest_of(&config);
    let dcd = dcd.unwrap_or_else(|| manifest_digest.clone());
    HostileServer::start(move |req| {
        let p = req.path.as_str();
        if p == "/v2/" {
            Reply::status(200)
        } else if p == "/v2/team/app/manifests/v1"
            || p.ends_with(&format!("/manifests/{manifest_digest}"))
        {
            Reply::body(
                200,
                &[
                    ("Content-Type", OCI_MANIFEST),
                    ("Docker-Content-Digest", &dcd),
                ],
                manifest.clone(),
            )
        } else if p.ends_with(&format!("/blobs/{config_digest}")) {
            Reply::body(200, &[], config.clone())
        } else if p.ends_with(&format!("/blobs/{layer_digest}")) {
            layer_reply()
        } else {
            Reply::body(404, &[], r#"{"errors":[{"code":"NOT_FOUND"}]}"#)
        }
    })
}

#[test]
fn an_endless_blob_body_stops_at_the_descriptor_size_as_blob_digest_mismatch() {
    let layer = b"ten bytes!".to_vec();
    let srv = image_registry(&layer, None, || Reply::Endless {
        status: 200,
        headers: vec![],
    });
    let tmp = tempfile::tempdir().unwrap();
    let bundle = tmp.path().join("b");
    let o = capture_plain(&srv.host(), "team/app:v1", &bundle, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", all_output(&o));
    assert!(
        all_output(&o).contains("blob-digest-mismatch"),
        "{}",
        all_output(&o)
    );
    // Nothing beyond the descriptor's size was kept anywhere in the bundle.
    let mut total = 0u64;
    let mut stack = vec![bundle.clone()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                total += m.len();
            }
        }
    }
    assert!(total < 1 << 20, "bundle holds {total} bytes");
}

#[test]
fn a_longer_announced_blob_is_refused_before_download() {
    let layer = b"short".to_vec();
    let srv = image_registry(&layer, None, || Reply::body(200, &[], vec![0u8; 4096]));
    let tmp = tempfile::tempdir().unwrap();
    let o = capture_plain(&srv.host(), "team/app:v1", &tmp.path().join("b"), &[]);
    assert_eq!(o.status.code(), Some(1), "{}", all_output(&o));
    assert!(
        all_output(&o).contains("blob-digest-mismatch"),
        "{}",
        all_output(&o)
    );
}

#[test]
fn a_truncated_transfer_says_it_broke_off_not_cannot_connect() {
    let layer = b"a layer of forty bytes, more or less....".to_vec();
    let srv = image_registry(&layer, None, || Reply::CutShort {
        status: 200,
        announced: 40,
        body: b"a layer".to_vec(),
    });
    let tmp = tempfile::tempdir().unwrap();
    let o = capture_plain(&srv.host(), "team/app:v1", &tmp.path().join("b"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", all_output(&o));
    let e = stderr(&o);
    assert!(e.contains("broke off after"), "{e}");
    assert!(!e.contains("cannot connect"), "{e}");
    assert_no_debug_text(&e);
}

#[test]
fn a_wrong_docker_content_digest_on_the_root_tag_is_an_error() {
    let layer = b"honest layer".to_vec();
    let liar = digest_of(b"something else entirely");
    let srv = image_registry(&layer, Some(liar.clone()), {
        let layer = layer.clone();
        move || Reply::body(200, &[], layer.clone())
    });
    let tmp = tempfile::tempdir().unwrap();
    let o = capture_plain(&srv.host(), "team/app:v1", &tmp.path().join("b"), &[]);
    assert_eq!(o.status.code(), Some(1), "{}", all_output(&o));
    let out = all_output(&o);
    assert!(
        out.contains("blob-digest-mismatch") && out.contains(&liar),
        "{out}"
    );
}

#[test]
fn a_multibyte_registry_error_body_is_shortened_without_panicking_in_capture_and_push() {
    // 600 bytes of two-byte characters: byte 300 and every odd index are inside a character.
    let body = "é".repeat(300);
    assert_eq!(body.len(), 600);
    let b2 = body.clone();
    let srv = HostileServer::start(move |req| match (req.method.as_str(), req.path.as_str()) {
        (_, "/v2/") => Reply::status(200),
        // Push asks with HEAD first (no body possible); the upload then gets the long body.
        ("HEAD", _) => Reply::status(404),
        _ => Reply::body(
            400,
            &[("Content-Type", "text/plain; charset=utf-8")],
            b2.clone(),
        ),
    });
    let tmp = tempfile::tempdir().unwrap();
    let o = capture_plain(&srv.host(), "team/app:v1", &tmp.path().join("b"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", all_output(&o));
    let e = stderr(&o);
    assert!(e.contains("HTTP 400: éé") && e.contains('…'), "{e}");
    assert!(!e.contains("panicked"), "{e}");

    let bundle = small_bundle(tmp.path());
    let o = airlock(tmp.path())
        .arg("push")
        .args(PUSH_VERDICT)
        .arg(&bundle)
        .arg(srv.host())
        .args(["--insecure-registry", &srv.host()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", all_output(&o));
    let e = stderr(&o);
    assert!(
        e.contains("HTTP 400: éé") && e.contains('…'),
        "{e} {:?}",
        srv.requests()
    );
    assert!(!e.contains("panicked"), "{e}");
}

//! One [`Target`] per parser of outside input. Adding a target: write a `check` function that
//! calls the parser and asserts what an accepted value must satisfy, pick seed files with a
//! filter, and add one entry to [`all`] plus one `#[test]` line in `main.rs`.
use std::path::Path;

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

use airlock::oci::{Digest, Manifest, Reference};

use crate::harness::{
    assert_message, deep_nesting, has, json_bytes, json_value, nasty_string, no_extra_seeds,
    Target, DEFAULT_CASES,
};

const JSON_DICT: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    ",",
    "null",
    "true",
    "0",
    "-1",
    "1e999",
    "18446744073709551616",
    "\"sha256:0000000000000000000000000000000000000000000000000000000000000000\"",
    "\"sha512:00\"",
    "\\u0000",
    "\\ud800",
    "\\n",
    "\u{202e}",
    "\u{1b}[31m",
    "\"\":\"\",",
    "{\"a\":",
    "[[[[[[[[",
    "\"mediaType\":",
    "\"digest\":",
    "\"size\":",
    "\"manifests\":",
    "\"layers\":",
    "\"annotations\":",
    "\"subject\":",
    "\"payload\":",
    "\"signatures\":",
];

const YAML_DICT: &[&str] = &[
    "\n",
    "\n  ",
    "- ",
    ": ",
    "---\n",
    "...\n",
    "&a ",
    "*a",
    "<<: *a",
    "!!binary ",
    "!!str ",
    "? ",
    "|\n  ",
    ">-\n  ",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "'",
    "#",
    "\t",
    "~",
    "null",
    "\u{feff}",
    "[[[[[[[[[[[[[[[[",
    "{a: {a: {a: {a: ",
    "image: ",
    "containers:\n- ",
    "kind: Pod\n",
    "\u{202e}",
    "\u{1b}[2J",
];

const PEM_DICT: &[&str] = &[
    "-----BEGIN PUBLIC KEY-----\n",
    "-----END PUBLIC KEY-----\n",
    "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
    "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
    "-----BEGIN PRIVATE KEY-----\n",
    "-----BEGIN EC PRIVATE KEY-----\n",
    "-----BEGIN RSA PUBLIC KEY-----\n",
    "Proc-Type: 4,ENCRYPTED\n",
    "MA",
    "MIIB",
    "====",
    "\n",
    "\r\n",
    "AAAA",
];

fn json_like(_: &str, b: &[u8]) -> bool {
    b.first().is_some_and(|c| *c == b'{' || *c == b'[')
}

// ---------------------------------------------------------------------------------------------
// OCI content

fn check_manifest(input: &[u8]) {
    let declared = [
        None,
        Some(airlock::oci::manifest::MEDIA_OCI_MANIFEST),
        Some(airlock::oci::manifest::MEDIA_OCI_INDEX),
        Some(airlock::oci::manifest::MEDIA_DOCKER_LIST),
    ];
    let pick = declared[input.len() % declared.len()];
    match Manifest::parse(input.to_vec(), pick) {
        Ok(m) => {
            // The digest is over the bytes received, and the bytes are kept exactly.
            assert_eq!(m.raw(), input);
            assert_eq!(m.digest(), &Digest::sha256_of(input));
            assert_eq!(m.size(), input.len() as u64);
            // Accepted content re-validates: same bytes, same type, same result.
            let again = Manifest::parse(m.raw().to_vec(), Some(m.media_type()))
                .expect("an accepted manifest parses again with its own media type");
            assert_eq!(again.digest(), m.digest());
            assert_eq!(again.is_index(), m.is_index());
            for d in m.blob_descriptors() {
                assert_eq!(
                    Digest::parse(&d.digest.to_string()).ok().as_ref(),
                    Some(&d.digest)
                );
            }
        }
        Err(e) => assert_message(&e),
    }
}

fn manifest_seed(p: &str, b: &[u8]) -> bool {
    (json_like(p, b) && (has(b, "\"schemaVersion\"") || has(b, "\"mediaType\"")))
        && !p.ends_with("airlock.lock.json")
}

const MANIFEST_KEYS: &[&str] = &[
    "schemaVersion",
    "mediaType",
    "config",
    "layers",
    "manifests",
    "digest",
    "size",
    "annotations",
    "subject",
    "artifactType",
    "platform",
    "architecture",
    "os",
    "variant",
    "urls",
];

fn manifest_structured() -> BoxedStrategy<Vec<u8>> {
    // A well-formed skeleton with generated descriptors, so most inputs reach the field checks.
    let descriptor = (
        prop_oneof![
            Just(airlock::oci::manifest::MEDIA_OCI_MANIFEST.to_string()),
            Just("application/vnd.oci.image.layer.v1.tar+gzip".to_string()),
            nasty_string()
        ],
        nasty_string(),
        any::<i64>(),
        json_value(MANIFEST_KEYS),
    )
        .prop_map(|(mt, d, size, extra)| {
            serde_json::json!({"mediaType": mt, "digest": d, "size": size, "annotations": extra})
        });
    (
        any::<bool>(),
        proptest::collection::vec(descriptor, 0..6),
        json_value(MANIFEST_KEYS),
    )
        .prop_map(|(index, ds, extra)| {
            let v = if index {
                serde_json::json!({"schemaVersion": 2, "mediaType":
                    airlock::oci::manifest::MEDIA_OCI_INDEX, "manifests": ds, "annotations": extra})
            } else {
                serde_json::json!({"schemaVersion": 2, "mediaType":
                    airlock::oci::manifest::MEDIA_OCI_MANIFEST, "config": ds.first(),
                    "layers": ds, "subject": extra})
            };
            serde_json::to_vec(&v).unwrap_or_default()
        })
        .boxed()
}

thread_local! {
    /// One bundle directory per thread, reused: only `index.json` changes between inputs.
    static LAYOUT_DIR: tempfile::TempDir = {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::create_dir_all(dir.path().join("blobs/sha256")).expect("blobs directory");
        std::fs::write(
            dir.path().join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .expect("write oci-layout");
        dir
    };
}

fn check_layout_index(input: &[u8]) {
    // `index.json` of an OCI layout, through the real reader.
    LAYOUT_DIR.with(|dir| {
        std::fs::write(dir.path().join("index.json"), input).expect("write index.json");
        let layout = airlock::layout::Layout::open(dir.path()).expect("layout opens");
        match layout.read_index() {
            Ok(m) => {
                assert!(m.is_index());
                assert_eq!(m.raw(), input);
            }
            Err(e) => assert_message(&e),
        }
    })
}

fn index_seed(p: &str, b: &[u8]) -> bool {
    p.ends_with("index.json") && json_like(p, b)
}

fn check_reference(input: &[u8]) {
    let Ok(s) = std::str::from_utf8(input) else {
        return;
    };
    match Reference::parse(s) {
        Ok(r) => {
            let again = Reference::parse(&r.to_string()).expect("a printed reference parses");
            assert_eq!(
                again.to_string(),
                r.to_string(),
                "a reference re-parses to itself"
            );
            assert_eq!(again.digest(), r.digest());
        }
        Err(e) => assert_message(&e),
    }
    match Digest::parse(s) {
        Ok(d) => assert_eq!(Digest::parse(&d.to_string()).ok(), Some(d)),
        Err(e) => assert_message(&e),
    }
}

fn reference_extra() -> Vec<Vec<u8>> {
    [
        "registry.example/app:1.0",
        "localhost:5000/a/b/c@sha256:0000000000000000000000000000000000000000000000000000000000000000",
        "docker.io/library/alpine",
        "alpine",
        "[::1]:5000/x:y",
        "sha256:0000000000000000000000000000000000000000000000000000000000000000",
        "sha512:00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

fn reference_structured() -> BoxedStrategy<Vec<u8>> {
    (
        "[a-z0-9.:\\[\\]-]{0,20}",
        "[a-z0-9/._-]{0,30}",
        proptest::option::of("[A-Za-z0-9._-]{0,130}"),
        proptest::option::of(nasty_string()),
    )
        .prop_map(|(h, p, t, d)| {
            let mut s = format!("{h}/{p}");
            if let Some(t) = t {
                s.push(':');
                s.push_str(&t);
            }
            if let Some(d) = d {
                s.push('@');
                s.push_str(&d);
            }
            s.into_bytes()
        })
        .boxed()
}

// ---------------------------------------------------------------------------------------------
// Bundle metadata: lock, pins, mapping

fn check_lock(input: &[u8]) {
    match airlock::lock::Lock::parse(input) {
        Ok(l) => {
            let json = l.to_json();
            let again = airlock::lock::Lock::parse(&json).expect("a written lock parses");
            assert_eq!(again.to_json(), json, "lock round trip is a fixpoint");
        }
        Err(e) => assert_message(&e),
    }
}

const LOCK_KEYS: &[&str] = &[
    "version",
    "tool",
    "created",
    "images",
    "reference",
    "digest",
    "mediaType",
    "platforms",
    "attachments",
    "kind",
    "tag",
    "name",
    "platform",
    "size",
    "subject",
];

fn check_pins(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    match airlock::pins::Pins::parse(&text, "pins.txt") {
        Ok(p) => {
            for pin in &p.pins {
                assert_eq!(pin.reference.digest(), Some(&pin.digest));
                let r = Reference::parse(&pin.reference.to_string()).expect("pin re-parses");
                assert_eq!(r.to_string(), pin.reference.to_string());
            }
        }
        Err(e) => assert_message(&e),
    }
}

fn pins_extra() -> Vec<Vec<u8>> {
    vec![format!(
        "# pins\nregistry.example/app:1.0@sha256:{h}\nlocalhost:5000/b@sha256:{h} # c\n\n",
        h = "ab".repeat(32)
    )
    .into_bytes()]
}

fn check_mapping(input: &[u8]) {
    match airlock::mapping::Mapping::parse(input) {
        Ok(m) => {
            let again = airlock::mapping::Mapping::parse(&m.to_json()).expect("mapping re-parses");
            assert_eq!(again.to_json(), m.to_json());
        }
        Err(e) => assert_message(&e),
    }
}

// ---------------------------------------------------------------------------------------------
// Policy (YAML)

fn check_policy(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    match airlock::policy::Policy::from_yaml(&text, Path::new("policy.yaml")) {
        Ok(_) => {
            airlock::policy::Policy::from_yaml(&text, Path::new("policy.yaml"))
                .expect("an accepted policy is accepted again");
        }
        Err(e) => assert_message(&e),
    }
}

fn policy_seed(p: &str, _: &[u8]) -> bool {
    (p.ends_with(".yaml") || p.ends_with(".yml")) && (p.contains("polic") || p.contains("fuzz"))
}

const POLICY_KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "rules",
    "keys",
    "trustedRoots",
    "images",
    "require",
    "signatures",
    "attestations",
    "sbom",
    "key",
    "keyless",
    "issuer",
    "subject",
    "predicateType",
    "platforms",
    "exceptions",
    "name",
    "path",
];

fn yaml_structured(keys: &'static [&'static str]) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        4 => json_value(keys).prop_map(|v| serde_yaml::to_string(&v).unwrap_or_default().into_bytes()),
        1 => deep_nesting(),
        1 => (1usize..3000).prop_map(|n| {
            // Block-style nesting: a mapping inside a mapping, n deep.
            let mut s = String::new();
            for i in 0..n {
                s.push_str(&" ".repeat(i % 200));
                s.push_str("a:\n");
            }
            s.into_bytes()
        }),
        1 => (1usize..50).prop_map(|n| {
            // Alias expansion ("billion laughs").
            let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
            for i in 1..n {
                s.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}]\n", p = i - 1));
            }
            s.into_bytes()
        }),
    ]
    .boxed()
}

fn policy_structured() -> BoxedStrategy<Vec<u8>> {
    yaml_structured(POLICY_KEYS)
}

// ---------------------------------------------------------------------------------------------
// Signatures and attestations

fn check_dsse(input: &[u8]) {
    use airlock::verify::dsse::{pae, Envelope};
    match Envelope::parse(input) {
        Ok(e) => {
            assert_eq!(e.pae(), pae(&e.payload_type, &e.payload));
            let again = Envelope::parse(input).expect("accepted again");
            assert_eq!(again, e);
            // The statement inside is the next parser: it must not panic either.
            if let Err(err) = airlock::verify::intoto::Statement::from_envelope(&e) {
                assert_message(&err);
            }
        }
        Err(e) => assert_message(&e),
    }
}

fn dsse_seed(_: &str, b: &[u8]) -> bool {
    has(b, "\"payloadType\"")
}

const DSSE_KEYS: &[&str] = &["payloadType", "payload", "signatures", "sig", "keyid"];

fn check_intoto(input: &[u8]) {
    use airlock::verify::intoto::Statement;
    match Statement::parse(input) {
        Ok(s) => {
            let again = Statement::parse(input).expect("accepted again");
            assert_eq!(again, s);
            let _ = s.predicate_kind();
            for subj in &s.subjects {
                for (alg, hex) in &subj.digest {
                    let _ = Digest::parse(&format!("{alg}:{hex}"));
                }
            }
        }
        Err(e) => assert_message(&e),
    }
}

fn intoto_seed(_: &str, b: &[u8]) -> bool {
    has(b, "\"_type\"") || has(b, "\"predicateType\"")
}

fn intoto_extra() -> Vec<Vec<u8>> {
    // Payloads inside the DSSE vectors.
    use base64::Engine;
    let mut out = Vec::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "testdata/vectors/cosign/_extracted/cmd/cosign/cli/verify/verify_blob_attestation_test",
    );
    if let Ok(rd) = std::fs::read_dir(dir) {
        let mut files: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort();
        for f in files {
            let Ok(b) = std::fs::read(&f) else { continue };
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(&b) else {
                continue;
            };
            if let Some(p) = v.get("payload").and_then(|p| p.as_str()) {
                if let Ok(d) = base64::engine::general_purpose::STANDARD.decode(p) {
                    out.push(d);
                }
            }
        }
    }
    out
}

const INTOTO_KEYS: &[&str] = &[
    "_type",
    "subject",
    "name",
    "digest",
    "sha256",
    "sha512",
    "predicateType",
    "predicate",
];

fn check_simplesign(input: &[u8]) {
    use airlock::verify::simplesign::SimpleSigning;
    match SimpleSigning::parse(input) {
        Ok(s) => {
            assert!(s.signs_digest(&s.manifest_digest));
            assert_eq!(
                Digest::parse(&s.manifest_digest.to_string()).ok().as_ref(),
                Some(&s.manifest_digest)
            );
        }
        Err(e) => assert_message(&e),
    }
}

fn simplesign_seed(p: &str, b: &[u8]) -> bool {
    has(b, "\"critical\"") || p.contains("signature-") || p.ends_with("payload.json")
}

const SIMPLESIGN_KEYS: &[&str] = &[
    "critical",
    "identity",
    "docker-reference",
    "image",
    "docker-manifest-digest",
    "type",
    "optional",
    "creator",
    "timestamp",
];

fn check_sbom(input: &[u8]) {
    use airlock::verify::sbom::{parse_sbom_json, parse_sbom_layer};
    let media = [
        "application/spdx+json",
        "application/vnd.cyclonedx+json",
        "text/spdx",
        "application/json",
    ];
    let mt = media[input.len() % media.len()];
    match parse_sbom_json(input) {
        Ok(s) => assert_eq!(parse_sbom_json(input).ok(), Some(s)),
        Err(e) => assert_message(&e),
    }
    match parse_sbom_layer(mt, input) {
        Ok(_) => {}
        Err(e) => assert_message(&e),
    }
}

fn sbom_seed(p: &str, b: &[u8]) -> bool {
    json_like(p, b) && (has(b, "spdxVersion") || has(b, "bomFormat") || has(b, "CycloneDX"))
}

const SBOM_KEYS: &[&str] = &[
    "spdxVersion",
    "SPDXID",
    "name",
    "packages",
    "bomFormat",
    "specVersion",
    "components",
    "metadata",
    "component",
    "version",
    "purl",
];

// ---------------------------------------------------------------------------------------------
// Keys and trust roots

fn check_public_key(input: &[u8]) {
    use airlock::trust::keys::PublicKey;
    match PublicKey::from_pem(input) {
        Ok(k) => {
            let again = PublicKey::from_pem(k.to_pem().as_bytes()).expect("written PEM parses");
            assert_eq!(again.spki_der(), k.spki_der());
            let _ = k.key_id();
            // Verifying garbage as a signature must not panic (whatever it returns).
            let _ = k.verify(b"message", input);
        }
        Err(e) => assert_message(&e),
    }
    if let Err(e) = PublicKey::from_spki_der(input) {
        assert_message(&e);
    }
}

fn pub_seed(p: &str, b: &[u8]) -> bool {
    (p.ends_with(".pub") || p.ends_with(".pem") || p.ends_with(".crt")) && has(b, "-----BEGIN")
}

const DER_PREFIXES: &[&[u8]] = &[
    &[],
    &[
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    ],
    &[0x30, 0x82, 0x01, 0x22, 0x30, 0x0d, 0x06, 0x09],
    &[
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ],
    &[0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13],
];

fn pem_structured() -> BoxedStrategy<Vec<u8>> {
    use base64::Engine;
    (
        proptest::sample::select(
            &[
                "PUBLIC KEY",
                "RSA PUBLIC KEY",
                "PRIVATE KEY",
                "EC PRIVATE KEY",
                "RSA PRIVATE KEY",
                "ENCRYPTED SIGSTORE PRIVATE KEY",
                "ENCRYPTED COSIGN PRIVATE KEY",
                "CERTIFICATE",
            ][..],
        ),
        proptest::collection::vec(any::<u8>(), 0..600),
        // A DER prefix of an SPKI / PKCS#8 header, so the ASN.1 reader goes deeper.
        proptest::sample::select(DER_PREFIXES),
    )
        .prop_map(|(label, body, prefix)| {
            let mut der = prefix.to_vec();
            der.extend(body);
            let b64 = base64::engine::general_purpose::STANDARD.encode(der);
            let mut s = format!("-----BEGIN {label}-----\n");
            for c in b64.as_bytes().chunks(64) {
                s.push_str(&String::from_utf8_lossy(c));
                s.push('\n');
            }
            s.push_str(&format!("-----END {label}-----\n"));
            s.into_bytes()
        })
        .boxed()
}

fn check_signing_key(input: &[u8]) {
    use airlock::trust::keys::{PublicKey, SigningKey};
    // Without a passphrase: every label, PKCS#8, SEC1, PKCS#1 path (no scrypt cost).
    match SigningKey::from_pem(input, None) {
        Ok(k) => {
            let public = k.public_key();
            let again = SigningKey::from_pem(k.to_pkcs8_pem().as_bytes(), None)
                .expect("written PKCS#8 parses");
            assert_eq!(again.public_key().spki_der(), public.spki_der());
            let sig = k.sign(b"m").expect("an accepted key signs");
            public.verify(b"m", &sig).expect("own signature verifies");
            let _ = PublicKey::from_pem(public.to_pem().as_bytes()).expect("public PEM parses");
        }
        Err(e) => assert_message(&e),
    }
    // With a passphrase: cosign's encrypted JSON envelope. Inputs whose KDF parameters are
    // accepted cost one scrypt run, so this path only runs on cosign-labelled inputs whose
    // envelope is malformed or whose ciphertext is mutated (the common case in mutation).
    if has(input, "ENCRYPTED SIGSTORE") || has(input, "ENCRYPTED COSIGN") {
        match SigningKey::from_pem(input, Some(b"wrong passphrase")) {
            Ok(_) => {}
            Err(e) => assert_message(&e),
        }
    }
}

fn key_seed(p: &str, b: &[u8]) -> bool {
    p.ends_with(".key") && has(b, "-----BEGIN")
}

fn check_trusted_root(input: &[u8]) {
    use airlock::trust::sigstore::TrustedRoot;
    match TrustedRoot::from_json(input, "trusted_root.json") {
        Ok(_) => {
            TrustedRoot::from_json(input, "trusted_root.json").expect("accepted again");
        }
        Err(e) => assert_message(&e),
    }
    match airlock::admission::trusted_root::TrustedRoot::parse(input) {
        Ok(r) => {
            let _ = r.ca_pem();
        }
        Err(e) => assert!(!e.trim().is_empty()),
    }
}

fn trusted_root_seed(p: &str, b: &[u8]) -> bool {
    p.contains("trusted_root") && json_like(p, b)
}

const TRUSTED_ROOT_KEYS: &[&str] = &[
    "mediaType",
    "tlogs",
    "certificateAuthorities",
    "ctlogs",
    "timestampAuthorities",
    "baseUrl",
    "hashAlgorithm",
    "publicKey",
    "rawBytes",
    "keyDetails",
    "validFor",
    "start",
    "end",
    "logId",
    "keyId",
    "subject",
    "organization",
    "commonName",
    "uri",
    "certChain",
    "certificates",
];

// ---------------------------------------------------------------------------------------------
// Kubernetes manifests (preflight)

fn check_preflight(input: &[u8]) {
    let text = String::from_utf8_lossy(input).into_owned();
    let files = vec![airlock::preflight::ManifestFile {
        name: "m.yaml".into(),
        text,
    }];
    match airlock::preflight::scan(&files) {
        Ok((uses, summary)) => {
            assert_eq!(summary.images, uses.len());
            for u in &uses {
                assert!(u.document >= 1);
                let _ = u.location();
                let _ = u.object();
            }
            // Deterministic: the same text finds the same images.
            let (again, _) = airlock::preflight::scan(&files).expect("accepted again");
            assert_eq!(again, uses);
        }
        Err(e) => assert_message(&e),
    }
}

fn k8s_seed(p: &str, _: &[u8]) -> bool {
    p.starts_with("testdata/manifests/") && (p.ends_with(".yaml") || p.ends_with(".yml"))
}

const K8S_KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "namespace",
    "spec",
    "template",
    "containers",
    "initContainers",
    "ephemeralContainers",
    "image",
    "items",
    "jobTemplate",
];

fn k8s_structured() -> BoxedStrategy<Vec<u8>> {
    yaml_structured(K8S_KEYS)
}

// ---------------------------------------------------------------------------------------------
// Registry responses

fn check_registry_wire(input: &[u8]) {
    use airlock::registry::wire::{
        error_body_excerpt, parse_token_response, MAX_ERROR_BODY_EXCERPT,
    };
    match parse_token_response(input) {
        Ok(t) => assert!(!t.is_empty()),
        Err(e) => assert_message(&e),
    }
    let excerpt = error_body_excerpt(input);
    assert!(excerpt.len() <= MAX_ERROR_BODY_EXCERPT);
    if let Ok(s) = std::str::from_utf8(input) {
        let _ = airlock::registry::auth::parse_challenge(s);
    }
}

fn registry_extra() -> Vec<Vec<u8>> {
    [
        r#"{"token":"abc","expires_in":300,"issued_at":"2020-01-01T00:00:00Z"}"#,
        r#"{"access_token":"abc"}"#,
        r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#,
        r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        "Basic realm=\"x\"",
        "<html><body>502 Bad Gateway</body></html>",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .chain(std::iter::once("é€😀".repeat(120).into_bytes()))
    .collect()
}

const REGISTRY_KEYS: &[&str] = &[
    "token",
    "access_token",
    "expires_in",
    "issued_at",
    "errors",
    "code",
    "message",
    "detail",
];

// ---------------------------------------------------------------------------------------------

fn mk_json(keys: &'static [&'static str]) -> BoxedStrategy<Vec<u8>> {
    json_bytes(keys)
}

macro_rules! json_gen {
    ($name:ident, $keys:expr) => {
        fn $name() -> BoxedStrategy<Vec<u8>> {
            prop_oneof![9 => mk_json($keys), 1 => deep_nesting()].boxed()
        }
    };
}
json_gen!(lock_structured, LOCK_KEYS);
json_gen!(dsse_structured, DSSE_KEYS);
json_gen!(intoto_structured, INTOTO_KEYS);
json_gen!(simplesign_structured, SIMPLESIGN_KEYS);
json_gen!(sbom_structured, SBOM_KEYS);
json_gen!(trusted_root_structured, TRUSTED_ROOT_KEYS);
json_gen!(registry_structured, REGISTRY_KEYS);
json_gen!(index_structured, MANIFEST_KEYS);

fn lock_seed(p: &str, _: &[u8]) -> bool {
    p.ends_with("airlock.lock.json") || p.ends_with(".lock.json")
}

fn mapping_seed(p: &str, _: &[u8]) -> bool {
    p.contains("mapping") && p.ends_with(".json")
}

const BUNDLES: &[&str] = &["testdata/bundles", "testdata/admission"];
const ALL_TESTDATA: &[&str] = &["testdata"];

/// Every target, by name.
pub fn all() -> Vec<Target> {
    vec![
        Target {
            name: "manifest",
            seed_dirs: &["testdata/bundles", "testdata/vectors/oc-mirror", "testdata/vectors/containers-image"],
            seed_filter: manifest_seed,
            extra_seeds: no_extra_seeds,
            dictionary: JSON_DICT,
            structured: Some(manifest_structured),
            cases: DEFAULT_CASES,
            check: check_manifest,
        },
        Target {
            name: "layout-index",
            seed_dirs: ALL_TESTDATA,
            seed_filter: index_seed,
            extra_seeds: no_extra_seeds,
            dictionary: JSON_DICT,
            structured: Some(index_structured),
            cases: 200,
            check: check_layout_index,
        },
        Target {
            name: "reference",
            seed_dirs: &[],
            seed_filter: json_like,
            extra_seeds: reference_extra,
            dictionary: &["/", ":", "@", "sha256:", "[", "]", "..", "__", "-", "A", "\u{0}", "\n"],
            structured: Some(reference_structured),
            cases: DEFAULT_CASES,
            check: check_reference,
        },
        Target {
            name: "lock",
            seed_dirs: BUNDLES,
            seed_filter: lock_seed,
            extra_seeds: no_extra_seeds,
            dictionary: JSON_DICT,
            structured: Some(lock_structured),
            cases: DEFAULT_CASES,
            check: check_lock,
        },
        Target {
            name: "pins",
            seed_dirs: &[],
            seed_filter: json_like,
            extra_seeds: pins_extra,
            dictionary: &["\n", "#", "@", "sha256:", ":", "/", " ", "\r\n", "\u{0}", "\u{202e}"],
            structured: Some(reference_structured),
            cases: DEFAULT_CASES,
            check: check_pins,
        },
        Target {
            name: "mapping",
            seed_dirs: ALL_TESTDATA,
            seed_filter: mapping_seed,
            extra_seeds: no_extra_seeds,
            dictionary: JSON_DICT,
            structured: Some(lock_structured),
            cases: DEFAULT_CASES,
            check: check_mapping,
        },
        Target {
            name: "policy",
            seed_dirs: &["policies", "testdata/admission", "testdata/fuzz/policy"],
            seed_filter: policy_seed,
            extra_seeds: no_extra_seeds,
            dictionary: YAML_DICT,
            structured: Some(policy_structured),
            cases: 300,
            check: check_policy,
        },
        Target {
            name: "dsse",
            seed_dirs: &["testdata/vectors/cosign", "testdata/vectors/grype", "testdata/bundles"],
            seed_filter: dsse_seed,
            extra_seeds: no_extra_seeds,
            dictionary: JSON_DICT,
            structured: Some(dsse_structured),
            cases: DEFAULT_CASES,
            check: check_dsse,
        },
        Target {
            name: "intoto",
            seed_dirs: &["testdata/vectors/sigstore-conformance/test/assets/statement.json"],
            seed_filter: intoto_seed,
            extra_seeds: intoto_extra,
            dictionary: JSON_DICT,
            structured: Some(intoto_structured),
            cases: DEFAULT_CASES,
            check: check_intoto,
        },
        Target {
            name: "simplesign",
            seed_dirs: &["testdata/vectors/sigstore-rs", "testdata/vectors/containers-image", "testdata/bundles"],
            seed_filter: simplesign_seed,
            extra_seeds: no_extra_seeds,
            dictionary: JSON_DICT,
            structured: Some(simplesign_structured),
            cases: DEFAULT_CASES,
            check: check_simplesign,
        },
        Target {
            name: "sbom",
            seed_dirs: &["testdata/vectors/spdx-spec", "testdata/vectors/cyclonedx-bom-examples", "testdata/vectors/cosign/test", "testdata/bundles"],
            seed_filter: sbom_seed,
            extra_seeds: no_extra_seeds,
            dictionary: JSON_DICT,
            structured: Some(sbom_structured),
            cases: 200,
            check: check_sbom,
        },
        Target {
            name: "public-key-pem",
            seed_dirs: &["testdata/keys", "testdata/vectors", "keys"],
            seed_filter: pub_seed,
            extra_seeds: no_extra_seeds,
            dictionary: PEM_DICT,
            structured: Some(pem_structured),
            cases: DEFAULT_CASES,
            check: check_public_key,
        },
        Target {
            name: "cosign-key-file",
            seed_dirs: &["testdata/keys", "keys"],
            seed_filter: key_seed,
            extra_seeds: no_extra_seeds,
            dictionary: PEM_DICT,
            structured: Some(pem_structured),
            cases: 150,
            check: check_signing_key,
        },
        Target {
            name: "trusted-root",
            seed_dirs: &["testdata/vectors/sigstore-python", "testdata/vectors/cosign/pkg", "testdata/vectors/sigstore-conformance/test/assets/bundle-verify/managed-key-and-trusted-root", "testdata/admission"],
            seed_filter: trusted_root_seed,
            extra_seeds: no_extra_seeds,
            dictionary: JSON_DICT,
            structured: Some(trusted_root_structured),
            cases: 200,
            check: check_trusted_root,
        },
        Target {
            name: "k8s-manifests",
            seed_dirs: &["testdata/manifests"],
            seed_filter: k8s_seed,
            extra_seeds: no_extra_seeds,
            dictionary: YAML_DICT,
            structured: Some(k8s_structured),
            cases: 300,
            check: check_preflight,
        },
        Target {
            name: "registry-responses",
            seed_dirs: &[],
            seed_filter: json_like,
            extra_seeds: registry_extra,
            dictionary: JSON_DICT,
            structured: Some(registry_structured),
            cases: DEFAULT_CASES,
            check: check_registry_wire,
        },
    ]
}

/// Run one target by name.
pub fn run(name: &str) {
    let t = all()
        .into_iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no fuzz target {name}"));
    crate::harness::run(&t);
}

//! Conformance against real Sigstore material (`testdata/vectors/`, copied from the team's
//! vector collection; provenance and licences in `testdata/vectors/INDEX.md`).
//!
//! - Every case of `EXPECTED.sigstore.json` (group A: the sigstore-conformance `bundle-verify`
//!   suite; group C: oc-mirror cosign `.sig` layouts with Rekor SETs; the group-E cosign v3
//!   bundle) and every Sigstore-bundle case of `EXPECTED.json` (group F) is run through the
//!   library ([`airlock::trust::sigstore`]) and compared with its `expect`. Each expected-fail case
//!   must be rejected with the finding code listed in [`FAIL_CODES`] (`None`: the trust material
//!   itself is unusable, which the CLI reports with exit 2).
//! - Every group-A case is also run through `airlock verify-bundle` (the sigstore-conformance
//!   client protocol) and must give exit 0 / 1 / 2 accordingly.
//! - A case that cannot pass yet is listed in `exceptions.sigstore.json` with the reason; the test
//!   fails when an excepted case starts giving the expected result, so the list only shrinks.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use airlock::oci::Digest;
use airlock::report::Code;
use airlock::trust::keys::PublicKey;
use airlock::trust::sigstore::legacy::LegacyLayer;
use airlock::trust::sigstore::{
    verify_bundle, Artifact, IdentityPolicy, Matcher, Signer, TrustedRoot,
};
use airlock::verify::simplesign::SimpleSigning;
use serde_json::Value;

/// The verification time of the library runs (2026-11-01T00:00:00Z): after every vector's
/// signing time. Fixed, so the outcome never depends on the day the test runs.
const AT: i64 = 1_793_491_200;

/// The finding code each expected-fail case must be rejected with (`None`: unusable trust
/// material or key, exit 2 at the CLI).
const FAIL_CODES: &[(&str, Option<Code>)] = &[
    ("conformance/bundle-empty-certificate-chain_fail", Some(Code::CertificateInvalid)),
    // The staging log's key is not in the production root: the SET cannot be verified.
    ("conformance/bundle-from-wrong-instance_fail", Some(Code::TlogInvalid)),
    ("conformance/bundle-invalid-base64-signature_fail", Some(Code::SignatureInvalid)),
    ("conformance/bundle-malformed-json_fail", Some(Code::SignatureInvalid)),
    ("conformance/bundle-negative-log-index_fail", Some(Code::SignatureInvalid)),
    ("conformance/bundle-unknown-version_fail", Some(Code::SignatureInvalid)),
    ("conformance/bundle-with-root-cert_fail", Some(Code::CertificateInvalid)),
    ("conformance/checkpoint-bad-keyhint_fail", Some(Code::TlogInvalid)),
    ("conformance/checkpoint-wrong-roothash_fail", Some(Code::TlogInvalid)),
    ("conformance/dsse-invalid-sig_fail", Some(Code::SignatureInvalid)),
    // The envelope is not the one logged: the logged entry does not match the bundle.
    ("conformance/dsse-mismatch-envelope_fail", Some(Code::TlogInvalid)),
    ("conformance/dsse-mismatch-sig_fail", Some(Code::TlogInvalid)),
    ("conformance/inclusion-proof-corrupted-hash_fail", Some(Code::TlogInvalid)),
    // The key in the logged entry was altered: the SET over the entry no longer verifies.
    ("conformance/incorrect-public-key_fail", Some(Code::TlogInvalid)),
    // Integrated time after the certificate expired: not valid at the signed time.
    ("conformance/integrated-time-in-future_fail", Some(Code::CertificateInvalid)),
    ("conformance/intoto-expired-certificate_fail", Some(Code::CertificateInvalid)),
    ("conformance/intoto-log-entry-mismatch_fail", Some(Code::TlogInvalid)),
    ("conformance/intoto-missing-inclusion-proof_fail", Some(Code::TlogInvalid)),
    ("conformance/intoto-set-outside-signing-cert-validity_fail", Some(Code::CertificateInvalid)),
    ("conformance/intoto-tsa-timestamp-outside-cert-validity_fail", Some(Code::CertificateInvalid)),
    ("conformance/invalid-checkpoint-signature_fail", Some(Code::TlogInvalid)),
    // The CT log key in the custom root does not verify the certificate's SCT.
    ("conformance/invalid-ct-key_fail", Some(Code::CertificateInvalid)),
    ("conformance/invalid-inclusion-proof_fail", Some(Code::TlogInvalid)),
    // A managed-key bundle where a keyless identity is required.
    ("conformance/managed-key-no-key_fail", Some(Code::SignatureUntrusted)),
    // Its key.pub is not a valid PEM key: the operator's input is unusable.
    ("conformance/managed-key-wrong-key_fail", None),
    ("conformance/message-digest-mismatch_fail", Some(Code::SignatureDigestMismatch)),
    ("conformance/rekor2-checkpoint-missing-log-signature_fail", Some(Code::SignatureInvalid)),
    ("conformance/rekor2-checkpoint-missing-origin_fail", Some(Code::SignatureInvalid)),
    ("conformance/rekor2-checkpoint-missing-root-hash_fail", Some(Code::SignatureInvalid)),
    ("conformance/rekor2-checkpoint-missing-size_fail", Some(Code::SignatureInvalid)),
    ("conformance/rekor2-checkpoint-no-matching-signature_fail", Some(Code::TlogInvalid)),
    ("conformance/rekor2-dsse-invalid-sig_fail", Some(Code::SignatureInvalid)),
    ("conformance/rekor2-dsse-mismatch-envelope_fail", Some(Code::TlogInvalid)),
    ("conformance/rekor2-dsse-mismatch-sig_fail", Some(Code::TlogInvalid)),
    ("conformance/rekor2-no-inclusion-proof_fail", Some(Code::TlogInvalid)),
    ("conformance/rekor2-no-timestamp_fail", Some(Code::TimestampInvalid)),
    ("conformance/rekor2-timestamp-outside-trust-root-tsa-validity_fail", Some(Code::TimestampInvalid)),
    ("conformance/rekor2-timestamp-outside-tsa-cert-validity_fail", Some(Code::TimestampInvalid)),
    ("conformance/rekor2-timestamp-payload-mismatch_fail", Some(Code::TimestampInvalid)),
    ("conformance/rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail", Some(Code::TimestampInvalid)),
    ("conformance/rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail", Some(Code::TimestampInvalid)),
    ("conformance/rekor2-timestamp-with-incorrect-time_fail", Some(Code::SignatureInvalid)),
    ("conformance/set-invalid-signature_fail", Some(Code::TlogInvalid)),
    ("conformance/signature-mismatch_fail", Some(Code::SignatureInvalid)),
    // The trusted root itself is malformed: unusable operator input.
    ("conformance/trust-root-tlog-missing-validity-start_fail", None),
    ("conformance/wrong-hashedrekord-artifact_fail", Some(Code::TlogInvalid)),
    ("conformance/wrong-hashedrekord-cert-and-sig_fail", Some(Code::TlogInvalid)),
    ("conformance/wrong-hashedrekord-entry_fail", Some(Code::TlogInvalid)),
    ("conformance/wrong-material_fail", Some(Code::SignatureDigestMismatch)),
    // Group C: signed by the other oc-mirror key.
    ("oc-mirror/multi-platform-container-sha256-02f29c270f30416a266571383098d7b98a49488723087fd917128045bcd1ca75-sig#wrong-key", Some(Code::SignatureInvalid)),
    ("oc-mirror/multi-platform-container-sha256-0de0e983a4980f32b1aad2d7f7f387cea2d4e9517b47f336cef27f63735911fa-sig#wrong-key", Some(Code::SignatureInvalid)),
    ("oc-mirror/multi-platform-container-sha256-832f20ad3d7e687c581b0a7d483174901d8bf22bb96c981b3f9da452817a754e-sig#wrong-key", Some(Code::SignatureInvalid)),
    ("oc-mirror/multi-platform-container-sha256-b15a2f174d803fd5fd7db0b3969c75cee0fe9131e0d8478f8c70ac01a4534869-sig#wrong-key", Some(Code::SignatureInvalid)),
    ("oc-mirror/multi-platform-container-sha256-e033aa62f84267cf44de611acac2e76bfa4d2f0b6b2b61f1c4fecbefefde7159-sig#wrong-key", Some(Code::SignatureInvalid)),
    ("oc-mirror/single-arch-empty-image-sig#wrong-key", Some(Code::SignatureInvalid)),
];

#[derive(Debug, PartialEq)]
enum Outcome {
    Pass,
    /// Rejected with a finding.
    Fail {
        code: Code,
        detail: String,
    },
    /// The trust material or key is unusable (the CLI exits 2).
    Unusable(String),
}

fn fail(code: Code, detail: impl Into<String>) -> Outcome {
    Outcome::Fail {
        code,
        detail: detail.into(),
    }
}

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/vectors")
}

fn path(rel: &str) -> PathBuf {
    vectors_dir().join(rel)
}

fn read(rel: &str) -> Vec<u8> {
    let p = path(rel);
    fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

fn read_json(rel: &str) -> Value {
    serde_json::from_slice(&read(rel)).unwrap_or_else(|e| panic!("parsing {rel}: {e}"))
}

fn str_at<'a>(v: &'a Value, section: &str, key: &str) -> Option<&'a str> {
    v.get(section)?.get(key)?.as_str()
}

struct Suite {
    defaults: Value,
    cases: Vec<Value>,
    exceptions: BTreeMap<String, String>,
}

/// The cases this file runs: all of `EXPECTED.sigstore.json`, plus the bundle cases of
/// `EXPECTED.json` (the rest of that file is run by `conformance_legacy.rs`).
fn load_suite() -> Suite {
    let own = read_json("EXPECTED.sigstore.json");
    let legacy = read_json("EXPECTED.json");
    let mut cases: Vec<Value> = own["cases"].as_array().expect("cases").clone();
    cases.extend(
        legacy["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .filter(|c| c["inputs"].get("bundle").is_some())
            .cloned(),
    );
    let mut exceptions = BTreeMap::new();
    for e in read_json("exceptions.sigstore.json")
        .as_array()
        .expect("exceptions.sigstore.json is a list")
    {
        let id = e["id"].as_str().expect("exception id").to_string();
        let reason = e["reason"].as_str().expect("exception reason").to_string();
        assert!(!reason.trim().is_empty(), "exception {id} has no reason");
        assert!(
            exceptions.insert(id.clone(), reason).is_none(),
            "exception {id} listed twice"
        );
    }
    Suite {
        defaults: own["defaults"].clone(),
        cases,
        exceptions,
    }
}

// ---------------------------------------------------------------------------------------------
// Sigstore bundles (groups A, E, F).

fn run_bundle(suite: &Suite, case: &Value) -> Outcome {
    let root_rel = str_at(case, "trust", "trusted_root")
        .or_else(|| suite.defaults["prod_trusted_root"].as_str())
        .expect("a trusted root");
    let root = match TrustedRoot::load(&path(root_rel)) {
        Ok(r) => r,
        Err(e) => return Outcome::Unusable(e.to_string()),
    };
    let key = match str_at(case, "trust", "public_key") {
        Some(k) => match PublicKey::from_pem(&read(k)) {
            Ok(k) => Some(k),
            Err(e) => return Outcome::Unusable(format!("{k}: {e}")),
        },
        None => None,
    };
    let bundle = read(str_at(case, "inputs", "bundle").expect("bundle"));
    let artifact_bytes;
    let artifact = match str_at(case, "inputs", "artifact") {
        Some(a) => {
            artifact_bytes = read(a);
            Artifact::Bytes(&artifact_bytes)
        }
        None => {
            let d = str_at(case, "policy", "subject_digest").expect("artifact or subject_digest");
            let d = Digest::parse(d).expect("subject digest");
            Artifact::Sha256(hex32(d.hex()))
        }
    };
    let policy = &case["policy"];
    let identity = IdentityPolicy {
        subject: Matcher::Exact(
            policy["identity"]
                .as_str()
                .or(policy["email"].as_str())
                .or(suite.defaults["conformance_default_identity"].as_str())
                .expect("identity")
                .to_string(),
        ),
        issuer: Matcher::Exact(
            policy["issuer"]
                .as_str()
                .or(suite.defaults["conformance_default_issuer"].as_str())
                .expect("issuer")
                .to_string(),
        ),
    };
    let signer = match &key {
        Some(k) => Signer::Key(k),
        None => Signer::Keyless {
            identity: &identity,
            require_sct: true,
        },
    };
    match verify_bundle(&bundle, artifact, signer, &root.at(AT).expect("root at")) {
        Ok(_) => Outcome::Pass,
        Err(f) => fail(f.code, f.message),
    }
}

fn hex32(h: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&h[i * 2..i * 2 + 2], 16).expect("hex");
    }
    out
}

// ---------------------------------------------------------------------------------------------
// OCI layouts of cosign `.sig` artifacts (group C).

/// The manifests and blobs of a small OCI layout, by digest.
struct Layout {
    dir: PathBuf,
    index: Value,
}

impl Layout {
    fn open(rel: &str) -> Layout {
        let dir = path(rel);
        let index = serde_json::from_slice(&fs::read(dir.join("index.json")).expect("index.json"))
            .expect("index.json parses");
        Layout { dir, index }
    }
    /// The blob, checked against its digest.
    fn blob(&self, digest: &str) -> Option<Vec<u8>> {
        let d = Digest::parse(digest).ok()?;
        let bytes = fs::read(self.dir.join("blobs/sha256").join(d.hex())).ok()?;
        (Digest::sha256_of(&bytes) == d).then_some(bytes)
    }
    fn manifests(&self) -> Vec<(String, Value)> {
        self.index["manifests"]
            .as_array()
            .expect("manifests")
            .iter()
            .map(|m| {
                let d = m["digest"].as_str().expect("digest").to_string();
                let bytes = self.blob(&d).expect("manifest present and intact");
                (d, serde_json::from_slice(&bytes).expect("manifest json"))
            })
            .collect()
    }
}

/// The digest a `…-sha256-<hex>-sig` layout directory is named after.
fn subject_from_dir(rel: &str) -> Option<Digest> {
    let name = rel.rsplit('/').next()?;
    let hex = name.strip_suffix("-sig")?.rsplit("sha256-").next()?;
    Digest::parse(&format!("sha256:{hex}")).ok()
}

fn run_layout(case: &Value) -> Outcome {
    let rel = str_at(case, "inputs", "oci_layout").expect("oci_layout");
    if str_at(case, "trust", "public_key").is_none() {
        return run_signed_subject_layout(rel);
    }
    let key = PublicKey::from_pem(&read(str_at(case, "trust", "public_key").expect("key")))
        .expect("key loads");
    let rekor = PublicKey::from_pem(&read(
        str_at(case, "trust", "rekor_public_key").expect("rekor key"),
    ))
    .expect("rekor key loads");
    let root = TrustedRoot::from_parts(&[], &[rekor], &[], "rekor.pub").expect("root");
    let layout = Layout::open(rel);
    let mut outcome = fail(Code::SignatureMissing, "no simple-signing layer");
    for (_, m) in layout.manifests() {
        for l in m["layers"].as_array().expect("layers") {
            let ann = &l["annotations"];
            let payload = layout
                .blob(l["digest"].as_str().expect("digest"))
                .expect("payload blob");
            let sig = ann["dev.cosignproject.cosign/signature"]
                .as_str()
                .unwrap_or_default();
            outcome = check_sig_layer(rel, &payload, sig, ann, &key, &root);
            if outcome == Outcome::Pass {
                return outcome;
            }
        }
    }
    outcome
}

fn check_sig_layer(
    rel: &str,
    payload: &[u8],
    sig: &str,
    ann: &Value,
    key: &PublicKey,
    root: &TrustedRoot,
) -> Outcome {
    let layer = LegacyLayer::from_annotations(payload, sig, |k| ann[k].as_str());
    let bundle = match layer.to_bundle_json(Some(key)) {
        Ok(b) => b,
        Err(f) => return fail(f.code, f.message),
    };
    // Signature with the key, Rekor SET with the Rekor key, logged entry == this signature.
    if let Err(f) = verify_bundle(
        &bundle,
        Artifact::Bytes(payload),
        Signer::Key(key),
        &root.at(AT).expect("root at"),
    ) {
        return fail(f.code, f.message);
    }
    let ss = match SimpleSigning::parse(payload) {
        Ok(s) => s,
        Err(e) => return fail(Code::SignatureInvalid, e.to_string()),
    };
    if let Some(subject) = subject_from_dir(rel) {
        if !ss.signs_digest(&subject) {
            return fail(
                Code::SignatureDigestMismatch,
                format!("signs {}, not {subject}", ss.manifest_digest),
            );
        }
    }
    Outcome::Pass
}

/// `multi-platform-container-latest`: the signed image. Its index and platform manifests are
/// intact, and they are exactly the subjects of the five verified signature layouts.
fn run_signed_subject_layout(rel: &str) -> Outcome {
    let layout = Layout::open(rel);
    let mut digests = BTreeSet::new();
    for (d, m) in layout.manifests() {
        digests.insert(d);
        for c in m["manifests"].as_array().cloned().unwrap_or_default() {
            let cd = c["digest"].as_str().expect("child digest").to_string();
            if layout.blob(&cd).is_none() {
                return fail(
                    Code::BlobMissing,
                    format!("child manifest {cd} missing or altered"),
                );
            }
            digests.insert(cd);
        }
    }
    let parent = Path::new(rel)
        .parent()
        .expect("parent")
        .to_string_lossy()
        .to_string();
    let key = PublicKey::from_pem(&read(
        "oc-mirror/_extracted/multi-platform-container.cosign.pub",
    ))
    .expect("key");
    let rekor =
        PublicKey::from_pem(&read("containers-image/signature/fixtures/rekor.pub")).expect("rekor");
    let root = TrustedRoot::from_parts(&[], &[rekor], &[], "rekor.pub").expect("root");
    let mut signed = BTreeSet::new();
    for entry in fs::read_dir(path(&parent)).expect("testdata dir").flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !(name.starts_with("multi-platform-container-sha256-") && name.ends_with("-sig")) {
            continue;
        }
        let sig_rel = format!("{parent}/{name}");
        let sl = Layout::open(&sig_rel);
        for (_, m) in sl.manifests() {
            for l in m["layers"].as_array().expect("layers") {
                let payload = sl.blob(l["digest"].as_str().expect("d")).expect("payload");
                let ann = &l["annotations"];
                let sig = ann["dev.cosignproject.cosign/signature"]
                    .as_str()
                    .unwrap_or_default();
                if check_sig_layer(&sig_rel, &payload, sig, ann, &key, &root) == Outcome::Pass {
                    let ss = SimpleSigning::parse(&payload).expect("payload");
                    signed.insert(ss.manifest_digest.to_string());
                }
            }
        }
    }
    if signed == digests {
        Outcome::Pass
    } else {
        fail(
            Code::SignatureMissing,
            format!("manifests {digests:?} but verified signatures for {signed:?}"),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The suite.

fn run_case(suite: &Suite, case: &Value) -> Outcome {
    if case["inputs"].get("bundle").is_some() {
        return run_bundle(suite, case);
    }
    if case["inputs"].get("oci_layout").is_some() {
        return run_layout(case);
    }
    panic!("case {} has inputs this runner does not know", case["id"]);
}

fn expected_code(id: &str) -> Option<Option<Code>> {
    FAIL_CODES.iter().find(|(i, _)| *i == id).map(|(_, c)| *c)
}

fn agrees(case: &Value, outcome: &Outcome) -> bool {
    let id = case["id"].as_str().unwrap_or_default();
    match (case["expect"].as_str(), outcome) {
        (Some("pass"), Outcome::Pass) => true,
        (Some("fail"), Outcome::Fail { code, .. }) => expected_code(id) == Some(Some(*code)),
        (Some("fail"), Outcome::Unusable(_)) => expected_code(id) == Some(None),
        _ => false,
    }
}

#[test]
fn sigstore_vectors_give_the_expected_outcomes() {
    let suite = load_suite();
    let ids: BTreeSet<&str> = suite
        .cases
        .iter()
        .map(|c| c["id"].as_str().expect("case id"))
        .collect();
    assert_eq!(ids.len(), suite.cases.len(), "duplicate case ids");
    let mut problems = Vec::new();
    for id in suite.exceptions.keys() {
        if !ids.contains(id.as_str()) {
            problems.push(format!("{id}: in exceptions.sigstore.json but not a case"));
        }
    }
    for (id, _) in FAIL_CODES {
        if !ids.contains(id) {
            problems.push(format!("{id}: in FAIL_CODES but not a case"));
        }
    }
    let mut counts: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for case in &suite.cases {
        let id = case["id"].as_str().unwrap_or_default();
        let group = case["group"].as_str().unwrap_or("?").to_string();
        let expect = case["expect"].as_str().unwrap_or_default();
        if expect == "fail" && expected_code(id).is_none() && !suite.exceptions.contains_key(id) {
            problems.push(format!("{id}: expect-fail case has no entry in FAIL_CODES"));
        }
        let outcome = run_case(&suite, case);
        if std::env::var_os("AIRLOCK_CONFORMANCE_VERBOSE").is_some() {
            eprintln!("{id}: {outcome:?}");
        }
        let c = counts.entry(group).or_default();
        match (suite.exceptions.get(id), agrees(case, &outcome)) {
            (Some(reason), true) => problems.push(format!(
                "{id}: listed in exceptions.sigstore.json ({reason}) but now gives the expected \
                 result {outcome:?}: remove it from the list"
            )),
            (Some(_), false) => c.2 += 1,
            (None, true) if outcome == Outcome::Pass => c.0 += 1,
            (None, true) => c.1 += 1,
            (None, false) => problems.push(format!(
                "{id}: expected {expect}{}, got {outcome:?} (reason in EXPECTED: {})",
                expected_code(id)
                    .map(|c| format!(" with {}", c.map_or("unusable input", |c| c.as_str())))
                    .unwrap_or_default(),
                case["reason"]
            )),
        }
    }
    assert!(
        problems.is_empty(),
        "{} conformance problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
    for (g, (p, r, e)) in &counts {
        eprintln!("group {g}: {p} accepted, {r} rejected as expected, {e} excepted");
    }
    let a = counts.get("A").copied().unwrap_or_default();
    assert_eq!(a.0 + a.1 + a.2, 70, "all 70 group-A cases run");
}

/// Every group-A case through the binary, with the conformance client's flags: exit 0 when it
/// must verify, 1 when it must be rejected, 2 when the trust material is unusable.
#[test]
fn verify_bundle_cli_follows_the_conformance_protocol() {
    let suite = load_suite();
    let mut problems = Vec::new();
    for case in suite.cases.iter().filter(|c| c["group"] == "A") {
        let id = case["id"].as_str().unwrap_or_default();
        if suite.exceptions.contains_key(id) {
            continue;
        }
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_airlock"));
        cmd.arg("verify-bundle")
            .arg("--bundle")
            .arg(path(str_at(case, "inputs", "bundle").expect("bundle")));
        match str_at(case, "trust", "public_key") {
            Some(k) => {
                cmd.arg("--key").arg(path(k));
            }
            None => {
                let p = &case["policy"];
                cmd.arg("--certificate-identity")
                    .arg(
                        p["identity"]
                            .as_str()
                            .or(suite.defaults["conformance_default_identity"].as_str())
                            .expect("identity"),
                    )
                    .arg("--certificate-oidc-issuer")
                    .arg(
                        p["issuer"]
                            .as_str()
                            .or(suite.defaults["conformance_default_issuer"].as_str())
                            .expect("issuer"),
                    );
            }
        }
        cmd.arg("--trusted-root")
            .arg(path(str_at(case, "trust", "trusted_root").expect("root")))
            .arg(path(str_at(case, "inputs", "artifact").expect("artifact")));
        let out = cmd.output().expect("run airlock");
        let want = match (case["expect"].as_str(), expected_code(id)) {
            (Some("pass"), _) => 0,
            (_, Some(None)) => 2,
            _ => 1,
        };
        if out.status.code() != Some(want) {
            problems.push(format!(
                "{id}: exit {:?}, expected {want}; stderr: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Findings for common mistakes, on real bundles.

const HAPPY_V03: &str =
    "sigstore-conformance/test/assets/bundle-verify/happy-path-v0.3/bundle.sigstore.json";
const A_TXT: &str = "sigstore-conformance/test/assets/bundle-verify/a.txt";
const PROD_ROOT: &str =
    "sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json";
const BEACON: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const GHA: &str = "https://token.actions.githubusercontent.com";

fn verify_happy(
    identity: IdentityPolicy,
    root: &str,
) -> Result<(), airlock::trust::sigstore::Failure> {
    let root = TrustedRoot::load(&path(root))
        .expect("root")
        .at(AT)
        .expect("root at");
    verify_bundle(
        &read(HAPPY_V03),
        Artifact::Bytes(&read(A_TXT)),
        Signer::Keyless {
            identity: &identity,
            require_sct: true,
        },
        &root,
    )
    .map(|_| ())
}

fn exact(subject: &str, issuer: &str) -> IdentityPolicy {
    IdentityPolicy {
        subject: Matcher::Exact(subject.into()),
        issuer: Matcher::Exact(issuer.into()),
    }
}

#[test]
fn wrong_identity_and_wrong_issuer_are_identity_mismatches() {
    verify_happy(exact(BEACON, GHA), PROD_ROOT).expect("the right identity verifies");
    let e = verify_happy(exact("https://github.com/someone/else", GHA), PROD_ROOT).unwrap_err();
    assert_eq!(e.code, Code::CertificateIdentityMismatch, "{e}");
    assert!(
        e.message.contains("someone/else") && e.message.contains(BEACON),
        "{e}"
    );
    let e = verify_happy(exact(BEACON, "https://accounts.google.com"), PROD_ROOT).unwrap_err();
    assert_eq!(e.code, Code::CertificateIdentityMismatch, "{e}");
    assert!(
        e.message.contains("accounts.google.com") && e.message.contains(GHA),
        "{e}"
    );
}

#[test]
fn identity_regexps_are_unanchored_like_cosign() {
    let id = |s: &str, i: &str| IdentityPolicy {
        subject: Matcher::from_parts(None, Some(s), "subjectRegExp").unwrap(),
        issuer: Matcher::from_parts(None, Some(i), "issuerRegExp").unwrap(),
    };
    verify_happy(id("sigstore-conformance/", "githubusercontent"), PROD_ROOT).expect("matches");
    let e = verify_happy(id("^sigstore-conformance/", "githubusercontent"), PROD_ROOT).unwrap_err();
    assert_eq!(e.code, Code::CertificateIdentityMismatch);
}

#[test]
fn certificate_from_an_untrusted_ca_is_certificate_invalid() {
    // The production Rekor key, but only the retired 2021-03 Fulcio root as CA: the SET
    // verifies, the 2024 certificate does not chain to a trusted CA.
    let fulcio = read("sigstore-rs/_extracted/src/cosign/mod/fulcio-root-v1-2021-03.pem");
    let rekor =
        PublicKey::from_pem(&read("containers-image/signature/fixtures/rekor.pub")).unwrap();
    let root = TrustedRoot::from_parts(&[&fulcio], &[rekor], &[], "fulcio 2021-03 + rekor")
        .unwrap()
        .at(AT)
        .unwrap();
    let e = verify_bundle(
        &read(HAPPY_V03),
        Artifact::Bytes(&read(A_TXT)),
        Signer::Keyless {
            identity: &exact(BEACON, GHA),
            require_sct: false,
        },
        &root,
    )
    .unwrap_err();
    assert_eq!(e.code, Code::CertificateInvalid, "{e}");
    // A Rekor log the root does not know: the SET cannot be verified.
    let custom = "sigstore-conformance/test/assets/bundle-verify/intoto-with-custom-trust-root/trusted_root.json";
    let e = verify_happy(exact(BEACON, GHA), custom).unwrap_err();
    assert_eq!(e.code, Code::TlogInvalid, "{e}");
}

#[test]
fn digest_argument_verifies_like_the_file() {
    let digest = Digest::sha256_of(&read(A_TXT));
    let out = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .arg("verify-bundle")
        .arg("--bundle")
        .arg(path(HAPPY_V03))
        .args([
            "--certificate-identity",
            BEACON,
            "--certificate-oidc-issuer",
            GHA,
        ])
        .arg("--trusted-root")
        .arg(path(PROD_ROOT))
        .arg(digest.to_string())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Another digest: rejected (exit 1) with the digest finding.
    let other = Digest::sha256_of(b"something else");
    let out = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .arg("verify-bundle")
        .arg("--bundle")
        .arg(path(HAPPY_V03))
        .args(["--certificate-identity-regexp", "sigstore-conformance"])
        .args(["--certificate-oidc-issuer", GHA])
        .arg("--trusted-root")
        .arg(path(PROD_ROOT))
        .arg(other.to_string())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("signature-digest-mismatch"));
    // No identity and no key: unusable input (exit 2), never "anyone".
    let out = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .arg("verify-bundle")
        .arg("--bundle")
        .arg(path(HAPPY_V03))
        .arg("--trusted-root")
        .arg(path(PROD_ROOT))
        .arg(path(A_TXT))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // No trusted root: exit 2, nothing fetched.
    let out = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .arg("verify-bundle")
        .arg("--bundle")
        .arg(path(HAPPY_V03))
        .args([
            "--certificate-identity",
            BEACON,
            "--certificate-oidc-issuer",
            GHA,
        ])
        .arg("--staging")
        .arg(path(A_TXT))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--trusted-root"));
}

/// Keyless verification never reaches for the network: with every proxy variable pointing at a
/// local port (closed, then a listener that records any connection), the Rekor v1, Rekor v2 +
/// TSA and DSSE bundles verify, and nothing connects.
#[test]
fn keyless_verification_runs_with_proxies_pointing_at_a_closed_port() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let open = listener.local_addr().unwrap().port();
    let cases = [
        ("happy-path-v0.3", PROD_ROOT.to_string()),
        ("happy-path-intoto-in-dsse-v3", PROD_ROOT.to_string()),
        (
            "rekor2-happy-path",
            "sigstore-conformance/test/assets/bundle-verify/rekor2-happy-path/trusted_root.json"
                .to_string(),
        ),
    ];
    for port in [closed, open] {
        let proxy = format!("http://127.0.0.1:{port}");
        for (case, root) in &cases {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_airlock"));
            for v in [
                "HTTPS_PROXY",
                "HTTP_PROXY",
                "ALL_PROXY",
                "https_proxy",
                "http_proxy",
                "all_proxy",
                "SIGSTORE_REKOR_URL",
                "TUF_ROOT",
                "SIGSTORE_ROOT_FILE",
            ] {
                cmd.env(v, &proxy);
            }
            cmd.env("NO_PROXY", "").env("no_proxy", "");
            let out = cmd
                .arg("verify-bundle")
                .arg("--bundle")
                .arg(path(&format!(
                    "sigstore-conformance/test/assets/bundle-verify/{case}/bundle.sigstore.json"
                )))
                .args([
                    "--certificate-identity",
                    BEACON,
                    "--certificate-oidc-issuer",
                    GHA,
                ])
                .arg("--trusted-root")
                .arg(path(root))
                .arg(path(A_TXT))
                .output()
                .unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "{case} via proxy port {port}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    assert!(
        listener.accept().is_err(),
        "airlock connected to the proxy during offline verification"
    );
}

//! Conformance against real legacy cosign material (`testdata/vectors/`, copied from the team's
//! vector collection; provenance and licences in `testdata/vectors/INDEX.md`).
//!
//! Image cases (group B: an image manifest and containers/image signature files) become an
//! in-memory bundle — the image manifest and one cosign `.sig` manifest holding every signature
//! layer — built with [`BundleView::from_blobs`], with a one-rule policy naming the case's key
//! or keyless identity, and run through [`airlock::verify::verify`]: the decision over several
//! signatures is the product's, not this file's. [`CLI_CASES`] also run through `airlock verify`
//! on the same bundle written to a temporary directory. The vectors ship image manifests without
//! their config and layer blobs; the `blob-missing` findings for exactly those blobs are set
//! aside, every other finding counts.
//!
//! Cases without an image (group E bare payload + signature, group F `attest-blob` envelopes
//! about a file, group G envelopes about an image the vector does not ship) cannot be a bundle:
//! their subject is not there. They run through the crate's format code (key signature over the
//! exact payload bytes, strict simple-signing parse, DSSE PAE, in-toto statement, subject and
//! predicate type, SBOM predicate); each has exactly one candidate, so there is no decision to
//! re-implement. Rejections must carry the finding code listed in [`FAIL_CODES`].
//! Sigstore-bundle cases (`inputs.bundle`) are run by `tests/conformance_sigstore.rs`.
//!
//! Cases that cannot pass yet are listed in `testdata/vectors/exceptions.json`. The runner
//! reports them as unsupported; the test fails if an excepted case starts giving the expected
//! result (remove it from the list) or if the list names a case that does not exist, so the list
//! only shrinks.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use airlock::layout::Layout;
use airlock::oci::manifest::{ANNOTATION_REF_NAME, MEDIA_DOCKER_MANIFEST, MEDIA_OCI_MANIFEST};
use airlock::oci::{Descriptor, Digest, Manifest, Reference};
use airlock::policy::Policy;
use airlock::report::{Code, Finding, Report, Severity};
use airlock::trust::keys::PublicKey;
use airlock::trust::sigstore::legacy::LegacyLayer;
use airlock::trust::sigstore::{
    verify_bundle, Artifact, IdentityPolicy, Matcher, Signer, TrustedRoot,
};
use airlock::verify::dsse::Envelope;
use airlock::verify::intoto::{predicate_type_matches, PredicateKind, Statement};
use airlock::verify::sbom::{parse_sbom_json, parse_sbom_value, SbomFormat};
use airlock::verify::simplesign::SimpleSigning;
use airlock::verify::view::BundleView;
use airlock::verify::{verify, Trust};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

/// The verification time of the library runs (2026-11-01T00:00:00Z): after every vector's
/// signing time. Fixed, so the outcome never depends on the day the test runs.
const AT_UNIX: i64 = 1_793_491_200;

/// The finding code each expected-fail case must be rejected with.
const FAIL_CODES: &[(&str, Code)] = &[
    // B: containers/image cosign signatures.
    ("containers-image/unknown-key", Code::SignatureInvalid),
    ("containers-image/unknown-key-cosign2", Code::SignatureInvalid),
    ("containers-image/modified-manifest", Code::SignatureDigestMismatch),
    // A schema 1 manifest (whose signed digest is another one's): airlock verifies schema 2
    // manifests only, so the image itself is rejected before any signature is looked at.
    ("containers-image/manifest-digest-error", Code::ManifestInvalid),
    // No manifest: the image the signature names is not in the bundle.
    ("containers-image/no-manifest", Code::BlobMissing),
    // A text/plain layer in the signature manifest is not a signature: the image has none.
    ("containers-image/other-attachment", Code::SignatureMissing),
    ("containers-image/key-rekor-wrong-key", Code::SignatureInvalid),
    // The Rekor SET does not verify with the (wrong) Rekor key.
    ("containers-image/key-rekor-wrong-rekor-key", Code::TlogInvalid),
    // The Fulcio certificate is valid but names another email.
    ("containers-image/fulcio-rekor-wrong-email", Code::CertificateIdentityMismatch),
    // E: sigstore-rs simple-signing layer.
    ("sigstore-rs/key-based-layer#wrong-key", Code::SignatureInvalid),
    // F: cosign attest-blob envelopes. A statement of another predicate type does not satisfy
    // the requirement: the required attestation is missing (the product's code for it).
    (
        "cosign/attest-blob/blobSLSAProvenanceSignature+blobContents.txt+https://cosign.sigstore.dev/attestation/v1",
        Code::AttestationMissing,
    ),
    ("cosign/attest-blob/blobSLSAProvenanceSignature+anotherBlobContents.txt", Code::AttestationSubjectMismatch),
    // in-toto requires a non-empty subject list and a digest on every subject.
    ("cosign/attest-blob/dssePredicateEmptySubject+blobContents.txt", Code::AttestationInvalid),
    ("cosign/attest-blob/dssePredicateMissingSha256+blobContents.txt", Code::AttestationInvalid),
    (
        "cosign/attest-blob/dssePredicateMultipleSubjects+blobContents.txt+notreallyslsaprovenance",
        Code::AttestationMissing,
    ),
    (
        "cosign/attest-blob/dssePredicateMultipleSubjectsInvalid+blobContents.txt+https://slsa.dev/provenance/v0.2",
        Code::AttestationSubjectMismatch,
    ),
    // predicateType is not a URI ("cosign.sigstore.dev/attestation/v1"): the statement is malformed.
    ("cosign/policy-malformed-custom", Code::AttestationInvalid),
    ("cosign/policy-malformed-vuln", Code::AttestationInvalid),
    // G: grype SBOM attestations. An envelope that does not verify is an invalid attestation.
    ("grype/alpine.att.json+another_cosign.pub", Code::AttestationInvalid),
    ("grype/alpine.att.json+cosign_broken.pub", Code::AttestationInvalid),
    ("grype/alpine-tampered.att.json+cosign.pub", Code::AttestationInvalid),
    ("grype/alpine-tampered.cdx.att.json+cosign.pub", Code::AttestationInvalid),
];

/// The `\x00sigstore-json\n` prefix of a containers/image signature file.
const SIGSTORE_JSON_MAGIC: &[u8] = b"\x00sigstore-json\n";
const ANNOTATION_CERTIFICATE: &str = "dev.sigstore.cosign/certificate";

#[derive(Debug, PartialEq)]
enum Outcome {
    Pass,
    Fail {
        code: Code,
        detail: String,
    },
    /// The case needs verification this build does not have (keyless, Rekor, bundles).
    Unsupported(String),
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

fn read(rel: &str) -> Vec<u8> {
    let path = vectors_dir().join(rel);
    fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn read_json(rel: &str) -> Value {
    serde_json::from_slice(&read(rel)).unwrap_or_else(|e| panic!("parsing {rel}: {e}"))
}

fn str_field<'a>(v: &'a Value, section: &str, key: &str) -> Option<&'a str> {
    v.get(section)?.get(key)?.as_str()
}

// ---------------------------------------------------------------------------------------------
// The runner: one case in, one outcome out.

/// Sigstore-bundle cases belong to `tests/conformance_sigstore.rs`.
fn is_bundle_case(case: &Value) -> bool {
    case["inputs"].get("bundle").is_some()
}

fn run_case(case: &Value) -> Outcome {
    let inputs = &case["inputs"];
    if inputs.get("signature_layer").is_some() {
        return run_signature_layers(case);
    }
    if inputs.get("payload").is_some() {
        return run_payload_and_signature(case);
    }
    if inputs.get("dsse").is_some() {
        return run_dsse(case);
    }
    panic!(
        "case {} has inputs this runner does not know: {inputs}",
        case["id"]
    );
}

/// The trusted key of the case: `Ok(None)` when the case names none; a key that does not load
/// is a rejection with `code`.
fn trusted_key(case: &Value, code: Code) -> Result<Option<PublicKey>, Outcome> {
    let Some(path) = str_field(case, "trust", "public_key") else {
        return Ok(None);
    };
    PublicKey::from_pem(&read(path)).map(Some).map_err(|e| {
        fail(
            code,
            format!("trusted public key {path} does not load: {e}"),
        )
    })
}

/// Does the case require checks that are not built? Only a private-PKI certificate without any
/// signed time (no Rekor entry, no timestamp): airlock validates certificates at a signed time
/// only, never at the wall clock.
fn keyless_requirement(case: &Value) -> Option<String> {
    case["trust"].get("ca_roots").map(|_| {
        "private-PKI certificate with no Rekor entry or timestamp: no signed time to validate \
         it at"
            .to_string()
    })
}

/// The Sigstore trust material of a case: Fulcio roots + Rekor key as a trusted root, else the
/// alternative full trusted root, else a Rekor key alone (key-signed layers with a SET).
fn sigstore_root(case: &Value) -> Option<TrustedRoot> {
    let rekor: Vec<PublicKey> = str_field(case, "trust", "rekor_public_key")
        .map(|p| PublicKey::from_pem(&read(p)).expect("rekor key loads"))
        .into_iter()
        .collect();
    if let Some(f) = str_field(case, "trust", "fulcio_roots") {
        let pem = read(f);
        return Some(TrustedRoot::from_parts(&[&pem], &rekor, &[], f).expect("fulcio root"));
    }
    if case["inputs"].get("certificate").is_some()
        || case["inputs"].get("signature_layer").is_some() && rekor.is_empty()
    {
        if let Some(alt) = str_field(case, "trust", "alt_trusted_root") {
            return Some(TrustedRoot::load(&vectors_dir().join(alt)).expect("trusted root"));
        }
    }
    (!rekor.is_empty())
        .then(|| TrustedRoot::from_parts(&[], &rekor, &[], "rekor.pub").expect("rekor root"))
}

/// Keyless or Rekor material of one legacy layer, verified through the Sigstore code. `key`: the
/// case's public key (key-signed layer with a Rekor SET).
fn check_sigstore_material(
    case: &Value,
    layer: &LegacyLayer<'_>,
    key: Option<&PublicKey>,
) -> Result<(), Outcome> {
    let Some(root) = sigstore_root(case) else {
        return Ok(());
    };
    if layer.certificate_pem.is_none() && (key.is_none() || layer.rekor_bundle.is_none()) {
        return Ok(());
    }
    let bundle = layer
        .to_bundle_json(key)
        .map_err(|f| fail(f.code, f.message))?;
    let identity = IdentityPolicy {
        subject: str_field(case, "policy", "email")
            .map_or(Matcher::Any, |e| Matcher::Exact(e.to_string())),
        issuer: str_field(case, "policy", "issuer")
            .map_or(Matcher::Any, |i| Matcher::Exact(i.to_string())),
    };
    let signer = match (layer.certificate_pem, key) {
        (Some(_), _) | (None, None) => Signer::Keyless {
            identity: &identity,
            require_sct: true,
        },
        (None, Some(k)) => Signer::Key(k),
    };
    verify_bundle(
        &bundle,
        Artifact::Bytes(layer.payload),
        signer,
        &root.at(AT_UNIX).expect("root at"),
    )
    .map(|_| ())
    .map_err(|f| {
        if f.code == Code::TlogInvalid && f.message.contains("of kind rekord/") {
            Outcome::Unsupported(f.message)
        } else {
            fail(f.code, f.message)
        }
    })
}

/// Group B: containers/image signature files, each one cosign `.sig` layer. The case becomes an
/// in-memory bundle (the image manifest, one `.sig` manifest holding every layer) and runs
/// through [`airlock::verify::verify`]: the product's decision over the candidates is the one
/// under test.
fn run_signature_layers(case: &Value) -> Outcome {
    if let Some(why) = keyless_requirement(case) {
        return Outcome::Unsupported(why);
    }
    let b = CaseBundle::from_case(case);
    outcome_of(
        &verify(&b.view(), &b.policy(None), &b.trust, AT, 2),
        &b.absent,
    )
}

/// The verification time given to the core. Signature checks of these vectors use the signed
/// times in their Rekor entries, never this one; it is only recorded.
const AT: &str = "2026-01-01T00:00:00Z";

/// The outcome the core's report gives: pass, or the error finding that decided the fail.
///
/// The vectors ship image manifests without their config and layer blobs. The `blob-missing`
/// errors for exactly those blobs (`absent`) are set aside; every other error counts.
fn outcome_of(report: &Report, absent: &BTreeSet<Digest>) -> Outcome {
    let errors: Vec<&Finding> = report
        .all_findings()
        .filter(|f| f.severity == Severity::Error)
        .filter(|f| {
            !(f.code == Code::BlobMissing
                && absent.iter().any(|d| f.message.contains(&d.to_string())))
        })
        .collect();
    let set_aside = report
        .all_findings()
        .filter(|f| f.severity == Severity::Error)
        .count()
        - errors.len();
    assert!(
        set_aside <= absent.len(),
        "more blob-missing findings than blobs the vector lacks"
    );
    if report.passed() || errors.is_empty() {
        assert!(
            errors.is_empty(),
            "a passing report with errors: {errors:?}"
        );
        return Outcome::Pass;
    }
    let first = errors[0];
    if errors.iter().any(|f| f.message.contains("of kind rekord/")) {
        return Outcome::Unsupported(first.message.clone());
    }
    assert_eq!(
        errors.len(),
        1,
        "one rejection per case expected, got {errors:?}"
    );
    fail(first.code, first.message.clone())
}

/// The `.sig` layer of one containers/image signature file.
struct SigLayer {
    payload: Vec<u8>,
    media_type: String,
    annotations: BTreeMap<String, String>,
}

fn sig_layer(path: &str) -> SigLayer {
    let bytes = read(path);
    let json = bytes
        .strip_prefix(SIGSTORE_JSON_MAGIC)
        .unwrap_or_else(|| panic!("{path}: not a sigstore-json signature file"));
    let layer: Value = serde_json::from_slice(json).unwrap_or_else(|e| panic!("{path}: {e}"));
    let payload = STANDARD
        .decode(layer["payload"].as_str().expect("payload"))
        .expect("payload base64");
    let annotations = layer["annotations"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("annotation").to_string()))
                .collect()
        })
        .unwrap_or_default();
    SigLayer {
        payload,
        media_type: layer["mimeType"].as_str().expect("mimeType").to_string(),
        annotations,
    }
}

/// One vector case as a bundle: blobs by digest, `index.json` entries, trust and policy.
struct CaseBundle {
    id: String,
    /// The captured repository (from the case's policy, else the first signed payload).
    repository: String,
    /// Explicit signed identity the case requires (`policy.docker_reference`).
    identity: Option<String>,
    entries: Vec<Descriptor>,
    blobs: BTreeMap<Digest, Vec<u8>>,
    trust: Trust,
    /// Files the CLI needs next to the policy: `(name, bytes)`.
    files: Vec<(String, Vec<u8>)>,
    keyless: Option<(String, String)>,
    /// Blobs of the image manifest the vector does not ship (config, layers).
    absent: BTreeSet<Digest>,
}

impl CaseBundle {
    fn put(&mut self, bytes: Vec<u8>) -> (Digest, u64) {
        let d = Digest::sha256_of(&bytes);
        let size = bytes.len() as u64;
        self.blobs.insert(d.clone(), bytes);
        (d, size)
    }

    fn from_case(case: &Value) -> CaseBundle {
        let layers: Vec<SigLayer> = case["inputs"]["signature_layer"]
            .as_array()
            .expect("signature_layer is a list")
            .iter()
            .map(|v| sig_layer(v.as_str().expect("layer path")))
            .collect();
        // Which image the signatures are about: the manifest when the case has one, else the
        // digest the first payload signs (the image is then missing from the bundle).
        let first = layers
            .iter()
            .find_map(|l| SimpleSigning::parse(&l.payload).ok());
        let signed_ref = first
            .as_ref()
            .map(|s| s.docker_reference.clone())
            .unwrap_or_default();
        let identity = str_field(case, "policy", "docker_reference").map(str::to_string);
        let given = identity.clone().unwrap_or(if signed_ref.is_empty() {
            // No signed payload names the image (a case about a non-signature layer).
            "registry.example/vector/image".to_string()
        } else {
            signed_ref
        });
        let reference = Reference::parse(&given).expect("the case names a reference");
        let repository = reference.repository();
        let mut b = CaseBundle {
            id: case["id"].as_str().expect("id").to_string(),
            repository: repository.clone(),
            identity,
            entries: Vec::new(),
            blobs: BTreeMap::new(),
            trust: Trust::default(),
            files: Vec::new(),
            keyless: None,
            absent: BTreeSet::new(),
        };
        let (image, size, media_type) = match str_field(case, "inputs", "image_manifest") {
            Some(p) => {
                let raw = read(p);
                let mt = serde_json::from_slice::<Value>(&raw)
                    .ok()
                    .and_then(|v| v["mediaType"].as_str().map(str::to_string))
                    .unwrap_or_else(|| MEDIA_DOCKER_MANIFEST.to_string());
                if let Ok(m) = Manifest::parse(raw.clone(), Some(&mt)) {
                    b.absent = m
                        .blob_descriptors()
                        .iter()
                        .map(|d| d.digest.clone())
                        .collect();
                }
                let (d, s) = b.put(raw);
                (d, s, mt)
            }
            None => (
                first.expect("a signed payload").manifest_digest,
                0,
                MEDIA_OCI_MANIFEST.to_string(),
            ),
        };
        let mut root = Descriptor::new(media_type, image.clone(), size);
        root.annotations
            .insert(ANNOTATION_REF_NAME.into(), format!("{repository}:latest"));
        // The `.sig` manifest: one layer per signature file, as cosign pushes it.
        let mut layer_json = Vec::new();
        let mut diff_ids = Vec::new();
        for l in layers {
            let (d, s) = b.put(l.payload);
            diff_ids.push(d.to_string());
            layer_json.push(
                json!({"mediaType": l.media_type, "digest": d.to_string(), "size": s,
                "annotations": l.annotations}),
            );
        }
        let config = json!({"architecture": "", "os": "", "config": {},
            "rootfs": {"type": "layers", "diff_ids": diff_ids}});
        let (cd, cs) = b.put(serde_json::to_vec(&config).expect("json"));
        let sig = json!({"schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": cd.to_string(), "size": cs},
            "layers": layer_json});
        let (sd, ss) = b.put(serde_json::to_vec(&sig).expect("json"));
        let mut sig_entry = Descriptor::new(MEDIA_OCI_MANIFEST, sd, ss);
        sig_entry.annotations.insert(
            ANNOTATION_REF_NAME.into(),
            format!("{repository}:sha256-{}.sig", image.hex()),
        );
        b.entries = vec![root, sig_entry];

        if let Some(p) = str_field(case, "trust", "public_key") {
            let pem = read(p);
            let key = PublicKey::from_pem(&pem).expect("the case's public key loads");
            b.trust.keys.insert("case".into(), key);
            b.files.push(("case.pub".into(), pem));
        }
        if let Some(root) = sigstore_root(case) {
            b.trust.trusted_roots.insert("case".into(), root);
            if let Some(alt) = str_field(case, "trust", "alt_trusted_root") {
                b.files.push(("trusted_root.json".into(), read(alt)));
            }
        }
        if case["inputs"]["signature_layer"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| {
                sig_layer(p.as_str().unwrap_or_default())
                    .annotations
                    .contains_key(ANNOTATION_CERTIFICATE)
            })
        {
            b.keyless = Some((
                str_field(case, "policy", "issuer").map_or("issuerRegExp: \".*\"".into(), |i| {
                    format!("issuer: \"{i}\"")
                }),
                str_field(case, "policy", "email").map_or("subjectRegExp: \".*\"".into(), |e| {
                    format!("subject: \"{e}\"")
                }),
            ));
        }
        b
    }

    fn view(&self) -> BundleView {
        BundleView::from_blobs(self.id.clone(), self.entries.clone(), &self.blobs)
    }

    /// The policy for this case: one rule over its repository requiring a signature from the
    /// case's key (or keyless identity). `dir`: where the CLI's files are (else in memory).
    fn policy_yaml(&self) -> String {
        let mut y = String::from("apiVersion: airlock/v1\nkind: Policy\n");
        if self.trust.keys.contains_key("case") {
            y.push_str("keys:\n  case: case.pub\n");
        }
        if !self.trust.trusted_roots.is_empty() {
            y.push_str("trustedRoots:\n  case: trusted_root.json\n");
        }
        y.push_str(&format!(
            "rules:\n  - match: [\"{}\"]\n    signatures:\n",
            self.repository
        ));
        if self.trust.keys.contains_key("case") {
            y.push_str("      keys: [case]\n");
        }
        if let Some((issuer, subject)) = &self.keyless {
            y.push_str(&format!(
                "      keyless:\n        - {issuer}\n          {subject}\n          trustedRoot: case\n"
            ));
        }
        if let Some(identity) = &self.identity {
            let r = Reference::parse(identity).expect("identity").repository();
            y.push_str(&format!("      identities: [\"{r}\"]\n"));
        }
        y.push_str("unmatched: deny\n");
        y
    }

    fn policy(&self, dir: Option<&Path>) -> Policy {
        let source = dir.map_or_else(
            || PathBuf::from(format!("memory/{}/policy.yaml", self.id)),
            |d| d.join("policy.yaml"),
        );
        Policy::from_yaml(&self.policy_yaml(), &source)
            .unwrap_or_else(|e| panic!("{}: policy: {e}\n{}", self.id, self.policy_yaml()))
    }

    /// Write the bundle, keys, trusted root and policy under `dir` for the CLI.
    fn write(&self, dir: &Path) -> PathBuf {
        let bundle = dir.join("bundle");
        let l = Layout::create(&bundle).expect("create layout");
        for bytes in self.blobs.values() {
            l.put_blob(bytes).expect("write blob");
        }
        l.write_index(&self.entries).expect("index.json");
        for (name, bytes) in &self.files {
            fs::write(dir.join(name), bytes).expect("write trust file");
        }
        fs::write(dir.join("policy.yaml"), self.policy_yaml()).expect("write policy");
        bundle
    }
}

/// Group E (and payload-file cases of B): payload file + base64 signature file.
fn run_payload_and_signature(case: &Value) -> Outcome {
    if let Some(cert) = str_field(case, "inputs", "certificate") {
        let payload = read(str_field(case, "inputs", "payload").expect("payload path"));
        let sig = String::from_utf8(read(
            str_field(case, "inputs", "signature_b64").expect("sig"),
        ))
        .expect("signature file is text");
        let cert = String::from_utf8(read(cert)).expect("certificate is text");
        let rekor = str_field(case, "inputs", "rekor_bundle")
            .map(|p| String::from_utf8(read(p)).expect("rekor bundle is text"));
        let layer = LegacyLayer {
            payload: &payload,
            signature_b64: sig.trim(),
            certificate_pem: Some(&cert),
            rekor_bundle: rekor.as_deref(),
            ..LegacyLayer::default()
        };
        let outcome = check_sigstore_material(case, &layer, None)
            .and_then(|()| check_simple_signing(case, &payload));
        return finish(case, outcome);
    }
    let key = match trusted_key(case, Code::SignatureInvalid) {
        Ok(Some(k)) => k,
        Ok(None) => {
            return Outcome::Unsupported(
                keyless_requirement(case)
                    .unwrap_or_else(|| "no public key in the case's trust".into()),
            )
        }
        Err(o) => return o,
    };
    let payload = read(str_field(case, "inputs", "payload").expect("payload path"));
    let sig_b64 = String::from_utf8(read(
        str_field(case, "inputs", "signature_b64").expect("sig path"),
    ))
    .expect("signature file is text");
    let outcome = check_key_signature(&key, &payload, sig_b64.trim())
        .and_then(|()| check_simple_signing(case, &payload));
    finish(case, outcome)
}

/// After all built checks passed: unsupported when the case also requires unbuilt ones.
fn finish(case: &Value, outcome: Result<(), Outcome>) -> Outcome {
    match outcome {
        Err(o) => o,
        Ok(()) => match keyless_requirement(case) {
            Some(why) => Outcome::Unsupported(why),
            None => Outcome::Pass,
        },
    }
}

fn check_key_signature(key: &PublicKey, payload: &[u8], sig_b64: &str) -> Result<(), Outcome> {
    let sig = STANDARD.decode(sig_b64).map_err(|e| {
        fail(
            Code::SignatureInvalid,
            format!("signature annotation is not base64: {e}"),
        )
    })?;
    key.verify(payload, &sig)
        .map_err(|e| fail(Code::SignatureInvalid, e.to_string()))
}

/// A bare payload + signature vector (no image): the payload parses strictly and names the
/// docker-reference the case requires.
fn check_simple_signing(case: &Value, payload: &[u8]) -> Result<(), Outcome> {
    let ss =
        SimpleSigning::parse(payload).map_err(|e| fail(Code::SignatureInvalid, e.to_string()))?;
    if let Some(expected) = str_field(case, "policy", "docker_reference") {
        if ss.docker_reference != expected {
            return Err(fail(
                Code::SignatureIdentityMismatch,
                format!(
                    "payload docker-reference is {:?}, expected {expected:?}",
                    ss.docker_reference
                ),
            ));
        }
    }
    Ok(())
}

/// Groups F and G: DSSE envelopes with an in-toto statement.
fn run_dsse(case: &Value) -> Outcome {
    let key = match trusted_key(case, Code::AttestationInvalid) {
        Ok(k) => k,
        Err(o) => return o,
    };
    let envelope =
        match Envelope::parse(&read(str_field(case, "inputs", "dsse").expect("dsse path"))) {
            Ok(e) => e,
            Err(e) => return fail(Code::AttestationInvalid, e.to_string()),
        };
    if let Some(key) = &key {
        if let Err(e) = envelope.verify(key) {
            return fail(Code::AttestationInvalid, e.to_string());
        }
    }
    let statement = match Statement::from_envelope(&envelope) {
        Ok(s) => s,
        Err(e) => return fail(Code::AttestationInvalid, e.to_string()),
    };
    if key.is_none() {
        // Cases without a key only test the parser; a statement that parses is still unverified.
        return fail(
            Code::SignatureMissing,
            "no trusted key: the envelope is not verified",
        );
    }
    let policy = &case["policy"];
    if policy["check_claims"].as_bool() == Some(true) {
        let blob = read(str_field(case, "inputs", "blob").expect("check_claims needs a blob"));
        let digest = Digest::sha256_of(&blob);
        if !statement.has_subject(&digest) {
            return fail(
                Code::AttestationSubjectMismatch,
                format!("no subject has digest {digest}"),
            );
        }
    }
    if let Some(required) = policy["predicate_type"].as_str() {
        if !predicate_type_matches(required, &statement.predicate_type) {
            return fail(
                Code::AttestationMissing,
                format!(
                    "statement predicateType is {:?}, required {required:?}",
                    statement.predicate_type
                ),
            );
        }
    }
    if statement.predicate_kind().is_sbom() {
        if let Err(e) = parse_sbom_value(&statement.predicate) {
            return fail(Code::SbomInvalid, e.to_string());
        }
    }
    finish(case, Ok(()))
}

// ---------------------------------------------------------------------------------------------
// The suite.

struct Suite {
    cases: Vec<Value>,
    exceptions: BTreeMap<String, String>,
}

fn load_suite() -> Suite {
    let expected = read_json("EXPECTED.json");
    let cases = expected["cases"].as_array().expect("cases").clone();
    let mut exceptions = BTreeMap::new();
    for e in read_json("exceptions.json")
        .as_array()
        .expect("exceptions.json is a list")
    {
        let id = e["id"].as_str().expect("exception id").to_string();
        let reason = e["reason"].as_str().expect("exception reason").to_string();
        assert!(!reason.trim().is_empty(), "exception {id} has no reason");
        assert!(
            exceptions.insert(id.clone(), reason).is_none(),
            "exception {id} listed twice"
        );
    }
    Suite { cases, exceptions }
}

fn expected_code(id: &str) -> Option<Code> {
    FAIL_CODES.iter().find(|(i, _)| *i == id).map(|(_, c)| *c)
}

/// Does `outcome` agree with the case's expectation (and, for rejections, with its code)?
fn agrees(case: &Value, outcome: &Outcome) -> bool {
    let id = case["id"].as_str().unwrap_or_default();
    match (case["expect"].as_str(), outcome) {
        (Some("pass"), Outcome::Pass) => true,
        (Some("fail"), Outcome::Fail { code, .. }) => expected_code(id) == Some(*code),
        _ => false,
    }
}

#[test]
fn legacy_vectors_give_the_expected_outcomes() {
    let suite = load_suite();
    let ids: BTreeSet<&str> = suite
        .cases
        .iter()
        .map(|c| c["id"].as_str().expect("case id"))
        .collect();
    assert_eq!(
        ids.len(),
        suite.cases.len(),
        "duplicate case ids in EXPECTED.json"
    );

    let mut problems = Vec::new();
    for id in suite.exceptions.keys() {
        if !ids.contains(id.as_str()) {
            problems.push(format!(
                "{id}: listed in exceptions.json but not a case in EXPECTED.json"
            ));
        }
    }
    for (id, _) in FAIL_CODES {
        if !ids.contains(id) {
            problems.push(format!(
                "{id}: listed in FAIL_CODES but not a case in EXPECTED.json"
            ));
        }
    }

    let (mut passed, mut rejected, mut excepted, mut elsewhere) = (0, 0, 0, 0);
    for case in &suite.cases {
        let id = case["id"].as_str().unwrap_or_default();
        if is_bundle_case(case) {
            elsewhere += 1;
            continue;
        }
        let expect = case["expect"].as_str().unwrap_or_default();
        if expect == "fail" && expected_code(id).is_none() && !suite.exceptions.contains_key(id) {
            problems.push(format!("{id}: expect-fail case has no entry in FAIL_CODES"));
        }
        let outcome = run_case(case);
        if std::env::var_os("AIRLOCK_CONFORMANCE_VERBOSE").is_some() {
            eprintln!("{id}: {outcome:?}");
        }
        match suite.exceptions.get(id) {
            Some(reason) => match &outcome {
                Outcome::Unsupported(_) => excepted += 1,
                o if agrees(case, o) => problems.push(format!(
                    "{id}: listed in exceptions.json ({reason}) but now gives the expected result \
                     {o:?}: remove it from the list"
                )),
                o => problems.push(format!(
                    "{id}: excepted case gave {o:?} instead of unsupported"
                )),
            },
            None if agrees(case, &outcome) => match outcome {
                Outcome::Pass => passed += 1,
                _ => rejected += 1,
            },
            None => problems.push(format!(
                "{id}: expected {expect}{}, got {outcome:?} (reason in EXPECTED.json: {})",
                expected_code(id)
                    .map(|c| format!(" with {}", c.as_str()))
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
    assert_eq!(passed + rejected + excepted + elsewhere, suite.cases.len());
    eprintln!(
        "legacy conformance: {} cases: {passed} accepted and {rejected} rejected as expected, \
         {excepted} excepted, {elsewhere} Sigstore-bundle case(s) run by conformance_sigstore",
        suite.cases.len()
    );
    assert!(
        passed > 0 && rejected > 0,
        "the suite must exercise both outcomes"
    );
}

// ---------------------------------------------------------------------------------------------
// Variations upstream describes next to the same vectors (INDEX.md), built from the copied files.

fn case_by_id(id: &str) -> Value {
    load_suite()
        .cases
        .into_iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no case {id}"))
}

#[test]
fn skopeo_signature_is_rejected_for_another_repository() {
    let mut case = case_by_id("containers-image/valid-with-tag");
    case["policy"]["docker_reference"] = Value::from("192.168.64.2:5000/skopeo-other:tag");
    match run_case(&case) {
        Outcome::Fail { code, .. } => assert_eq!(code, Code::SignatureIdentityMismatch),
        other => panic!("expected an identity mismatch, got {other:?}"),
    }
}

#[test]
fn first_signature_of_mixed_image_alone_is_rejected() {
    let mut case = case_by_id("containers-image/cosign-mixed");
    let first = case["inputs"]["signature_layer"][0].clone();
    case["inputs"]["signature_layer"] = Value::Array(vec![first]);
    match run_case(&case) {
        Outcome::Fail { code, .. } => assert_eq!(code, Code::SignatureInvalid),
        other => panic!("expected signature-invalid, got {other:?}"),
    }
}

#[test]
fn key_rekor_signature_verifies_with_its_key_without_the_rekor_key() {
    // Without a Rekor key the SET is not checked; the key signature and digest checks pass.
    let mut case = case_by_id("containers-image/key-rekor-valid");
    case["trust"]
        .as_object_mut()
        .expect("trust")
        .remove("rekor_public_key");
    assert_eq!(run_case(&case), Outcome::Pass);
}

const ATTEST_DIR: &str = "cosign/_extracted/cmd/cosign/cli/verify/verify_blob_attestation_test";

fn attest_key() -> PublicKey {
    PublicKey::from_pem(&read(&format!("{ATTEST_DIR}/cosign.pub"))).expect("cosign.pub")
}

#[test]
fn dsse_with_replaced_signature_is_rejected() {
    // Upstream's "bad sig" case: the signature replaced by base64("something\n").
    let mut env = read_json(&format!(
        "{ATTEST_DIR}/blobSLSAProvenanceSignature.dsse.json"
    ));
    env["signatures"][0]["sig"] = Value::from(STANDARD.encode(b"something\n"));
    let envelope = Envelope::parse(&serde_json::to_vec(&env).expect("json")).expect("parses");
    assert!(envelope.verify(&attest_key()).is_err());
}

#[test]
fn dsse_signature_covers_the_exact_payload_bytes() {
    let bytes = read(&format!(
        "{ATTEST_DIR}/blobSLSAProvenanceSignature.dsse.json"
    ));
    let envelope = Envelope::parse(&bytes).expect("parses");
    assert_eq!(envelope.verify(&attest_key()).expect("verifies"), 0);
    // The same statement, re-serialized with different whitespace, no longer verifies.
    let statement: Value = serde_json::from_slice(&envelope.payload).expect("statement json");
    let reserialized = Envelope {
        payload: serde_json::to_vec_pretty(&statement).expect("json"),
        ..envelope.clone()
    };
    assert!(reserialized.verify(&attest_key()).is_err());
    // URL-safe, unpadded base64 of the same bytes verifies: encoding is not part of what is signed.
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut env = read_json(&format!(
        "{ATTEST_DIR}/blobSLSAProvenanceSignature.dsse.json"
    ));
    env["payload"] = Value::from(URL_SAFE_NO_PAD.encode(&envelope.payload));
    env["signatures"][0]["sig"] = Value::from(URL_SAFE_NO_PAD.encode(&envelope.signatures[0].sig));
    let url_safe = Envelope::parse(&serde_json::to_vec(&env).expect("json")).expect("parses");
    assert_eq!(url_safe.verify(&attest_key()).expect("verifies"), 0);
}

#[test]
fn grype_cyclonedx_attestation_predicate_is_summarized() {
    let key = PublicKey::from_pem(&read("grype/grype/pkg/testdata/cosign.pub")).expect("key");
    let envelope =
        Envelope::parse(&read("grype/grype/pkg/testdata/alpine.cdx.att.json")).expect("parses");
    envelope.verify(&key).expect("verifies");
    let statement = Statement::from_envelope(&envelope).expect("statement");
    assert_eq!(statement.predicate_kind(), PredicateKind::CycloneDx);
    let summary = parse_sbom_value(&statement.predicate).expect("sbom");
    assert_eq!(summary.format, SbomFormat::CycloneDx);
    assert_eq!(summary.spec_version, "1.4");
    assert_eq!(summary.name.as_deref(), Some("alpine:latest"));
    assert_eq!(summary.packages, 15);
}

#[test]
fn real_sbom_documents_are_summarized() {
    let cases: &[(&str, SbomFormat, &str, Option<&str>, usize)] = &[
        (
            "spdx-spec/examples/SPDXJSONExample-v2.3.spdx.json",
            SbomFormat::Spdx,
            "SPDX-2.3",
            Some("SPDX-Tools-v2.0"),
            4,
        ),
        (
            "cosign/test/testdata/bom-go-mod.spdx.json",
            SbomFormat::Spdx,
            "SPDX-2.2",
            Some("SBOM-SPDX-34f1a7f5-03ff-4277-9021-8c04f8777803"),
            0,
        ),
        (
            "cosign/test/testdata/bom-go-mod.cyclonedx.json",
            SbomFormat::CycloneDx,
            "1.4",
            None,
            0,
        ),
        (
            "cyclonedx-bom-examples/SBOM/laravel-7.12.0/bom.1.4.json",
            SbomFormat::CycloneDx,
            "1.4",
            Some("cyclonedx-php-composer-demo"),
            62,
        ),
    ];
    for (path, format, version, name, packages) in cases {
        let s = parse_sbom_json(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(s.format, *format, "{path}");
        assert_eq!(s.spec_version, *version, "{path}");
        assert_eq!(s.name.as_deref(), *name, "{path}");
        assert_eq!(s.packages, *packages, "{path}");
    }
}

// ---------------------------------------------------------------------------------------------
// The same bundles through the binary.

/// Cases run through `airlock verify DIR --policy FILE --format json` as well, on the bundle
/// written to a temporary directory, with the finding codes the core gave in memory.
const CLI_CASES: &[&str] = &[
    "containers-image/cosign-valid",
    "containers-image/cosign-mixed",
    "containers-image/unknown-key",
    "containers-image/modified-manifest",
    "containers-image/other-attachment",
    "containers-image/valid-with-tag",
    "containers-image/fulcio-rekor-valid",
];

/// Error codes of a JSON report, without the `blob-missing` findings for blobs the vector does
/// not ship.
fn cli_error_codes(report: &Value, absent: &BTreeSet<Digest>) -> Vec<String> {
    let top = report["findings"].as_array().into_iter().flatten();
    let per_image = report["images"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|i| i["findings"].as_array().into_iter().flatten());
    top.chain(per_image)
        .filter(|f| f["severity"] == "error")
        .filter(|f| {
            !(f["code"] == "blob-missing"
                && absent.iter().any(|d| {
                    f["message"]
                        .as_str()
                        .unwrap_or_default()
                        .contains(&d.to_string())
                }))
        })
        .map(|f| f["code"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn legacy_vectors_give_the_same_outcomes_through_the_binary() {
    for id in CLI_CASES {
        let case = case_by_id(id);
        let b = CaseBundle::from_case(&case);
        let dir = tempfile::tempdir().expect("tempdir");
        let bundle = b.write(dir.path());
        let out = assert_cmd::Command::cargo_bin("airlock")
            .expect("airlock binary")
            .arg("verify")
            .arg(&bundle)
            .arg("--policy")
            .arg(dir.path().join("policy.yaml"))
            .args(["--format", "json", "--at", AT])
            .output()
            .expect("run airlock");
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{id}: report is not JSON ({e}); stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let codes = cli_error_codes(&report, &b.absent);
        let expected: Vec<String> = match case["expect"].as_str() {
            Some("pass") => Vec::new(),
            _ => vec![expected_code(id).expect("fail code").as_str().to_string()],
        };
        assert_eq!(codes, expected, "{id}: error codes of the CLI report");
        // The vectors lack the image's layer blobs, which the gate reports (exit 1); a case
        // whose manifest is all there would exit 0.
        let exit = if b.absent.is_empty() && expected.is_empty() {
            0
        } else {
            1
        };
        assert_eq!(out.status.code(), Some(exit), "{id}: exit code");
        // The same decision in memory.
        let in_memory = outcome_of(
            &verify(&b.view(), &b.policy(None), &b.trust, AT, 2),
            &b.absent,
        );
        assert!(agrees(&case, &in_memory), "{id}: in memory {in_memory:?}");
    }
}

#[test]
fn mixed_signatures_pass_with_the_unknown_one_recorded_as_info() {
    let b = CaseBundle::from_case(&case_by_id("containers-image/cosign-mixed"));
    let report = verify(&b.view(), &b.policy(None), &b.trust, AT, 2);
    assert_eq!(outcome_of(&report, &b.absent), Outcome::Pass);
    let image = &report.images[0];
    let verified: Vec<bool> = image.signatures.iter().map(|s| s.verified).collect();
    assert_eq!(verified.iter().filter(|v| **v).count(), 1, "{verified:?}");
    assert_eq!(verified.len(), 2, "{verified:?}");
    let info: Vec<Code> = image
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Info)
        .map(|f| f.code)
        .collect();
    assert_eq!(info, vec![Code::SignatureInvalid]);
}

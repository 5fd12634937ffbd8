//! The verification core on in-memory bundles: `airlock::verify::verify` over a
//! `BundleView::from_blobs` view, no filesystem and no binary. Each test asserts the exact
//! result and the exact finding codes (by severity).
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
use std::collections::BTreeMap;
use std::path::Path;

use airlock::oci::manifest::{
    ANNOTATION_COSIGN_SIGNATURE, ANNOTATION_REF_NAME, MEDIA_COSIGN_SIMPLESIGNING, MEDIA_OCI_INDEX,
    MEDIA_OCI_MANIFEST,
};
use airlock::oci::{Descriptor, Digest};
use airlock::policy::Policy;
use airlock::report::{Code, Report, Severity};
use airlock::trust::keys::{KeyAlgorithm, SigningKey};
use airlock::verify::simplesign;
use airlock::verify::view::BundleView;
use airlock::verify::{verify, Trust};
use base64::Engine;
use serde_json::{json, Value};

const REPO: &str = "registry.example/team/app";
const AT: &str = "2026-01-31T12:00:00Z";
const CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// An in-memory bundle under construction.
#[derive(Default)]
struct Mem {
    blobs: BTreeMap<Digest, Vec<u8>>,
    entries: Vec<Descriptor>,
}

impl Mem {
    fn put(&mut self, bytes: Vec<u8>) -> (Digest, u64) {
        let d = Digest::sha256_of(&bytes);
        let n = bytes.len() as u64;
        self.blobs.insert(d.clone(), bytes);
        (d, n)
    }
    fn put_json(&mut self, v: &Value) -> (Digest, u64) {
        self.put(serde_json::to_vec(v).expect("json"))
    }
    /// One platform's image manifest (config + one layer).
    fn image(&mut self, arch: &str) -> (Digest, u64) {
        let (ld, ls) = self.put(format!("layer for {arch}").into_bytes());
        let (cd, cs) = self.put_json(&json!({"architecture": arch, "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [ld.to_string()]}}));
        self.put_json(&json!({"schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST,
            "config": {"mediaType": CONFIG, "digest": cd.to_string(), "size": cs},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": ld.to_string(), "size": ls}]}))
    }
    /// A multi-platform index over `arches`, named `REPO:1.0` in index.json.
    fn index(&mut self, arches: &[&str]) -> Digest {
        let children: Vec<Value> = arches
            .iter()
            .map(|a| {
                let (d, s) = self.image(a);
                json!({"mediaType": MEDIA_OCI_MANIFEST, "digest": d.to_string(), "size": s,
                       "platform": {"os": "linux", "architecture": a}})
            })
            .collect();
        let (d, s) = self.put_json(
            &json!({"schemaVersion": 2, "mediaType": MEDIA_OCI_INDEX, "manifests": children}),
        );
        let mut e = Descriptor::new(MEDIA_OCI_INDEX, d.clone(), s);
        e.annotations
            .insert(ANNOTATION_REF_NAME.into(), format!("{REPO}:1.0"));
        self.entries.push(e);
        d
    }
    /// A cosign `.sig` manifest on `subject` with one signature layer per key, in order.
    fn sign(&mut self, subject: &Digest, keys: &[&SigningKey]) {
        let payload = simplesign::payload(REPO, subject, None);
        let (pd, ps) = self.put(payload.clone());
        let layers: Vec<Value> = keys
            .iter()
            .map(|k| {
                let sig = base64::engine::general_purpose::STANDARD
                    .encode(k.sign(&payload).expect("sign"));
                json!({"mediaType": MEDIA_COSIGN_SIMPLESIGNING, "digest": pd.to_string(),
                       "size": ps, "annotations": {ANNOTATION_COSIGN_SIGNATURE: sig}})
            })
            .collect();
        let (cd, cs) = self.put_json(&json!({"architecture": "", "os": "", "config": {},
            "rootfs": {"type": "layers", "diff_ids": []}}));
        let (d, s) = self.put_json(&json!({"schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST,
            "config": {"mediaType": CONFIG, "digest": cd.to_string(), "size": cs},
            "layers": layers}));
        let mut e = Descriptor::new(MEDIA_OCI_MANIFEST, d, s);
        e.annotations.insert(
            ANNOTATION_REF_NAME.into(),
            format!("{REPO}:sha256-{}.sig", subject.hex()),
        );
        self.entries.push(e);
    }
    fn view(&self) -> BundleView {
        BundleView::from_blobs("memory", self.entries.clone(), &self.blobs)
    }
}

fn key() -> SigningKey {
    SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("generate key")
}

/// Verify `mem` with a rule requiring a signature by `release` and both platforms.
fn check(mem: &Mem, release: &SigningKey) -> Report {
    let policy = Policy::from_yaml(
        &format!(
            "apiVersion: airlock/v1\nkind: Policy\nkeys:\n  release: release.pub\nrules:\n  - match: [\"{REPO}\"]\n    signatures:\n      keys: [release]\n    platforms: [linux/amd64, linux/arm64]\nunmatched: deny\n"
        ),
        Path::new("memory/policy.yaml"),
    )
    .expect("policy");
    let mut trust = Trust::default();
    trust.keys.insert("release".into(), release.public_key());
    verify(&mem.view(), &policy, &trust, AT, 2)
}

/// Finding codes of `severity`, in report order.
fn codes(report: &Report, severity: Severity) -> Vec<Code> {
    report
        .all_findings()
        .filter(|f| f.severity == severity)
        .map(|f| f.code)
        .collect()
}

#[test]
fn signed_two_platform_index_passes_in_memory() {
    let release = key();
    let mut mem = Mem::default();
    let root = mem.index(&["amd64", "arm64"]);
    mem.sign(&root, &[&release]);
    let r = check(&mem, &release);
    assert!(r.passed(), "{:?}", r.all_findings().collect::<Vec<_>>());
    assert_eq!(codes(&r, Severity::Error), []);
    assert_eq!(codes(&r, Severity::Info), []);
    assert_eq!(r.images.len(), 1);
    let sigs: Vec<bool> = r.images[0].signatures.iter().map(|s| s.verified).collect();
    assert_eq!(sigs, [true]);
}

#[test]
fn unsigned_index_fails_with_signature_missing_only() {
    let release = key();
    let mut mem = Mem::default();
    mem.index(&["amd64", "arm64"]);
    let r = check(&mem, &release);
    assert!(!r.passed());
    assert_eq!(codes(&r, Severity::Error), [Code::SignatureMissing]);
}

#[test]
fn unknown_and_trusted_signature_in_one_sig_manifest_passes_with_the_unknown_one_as_info() {
    let (release, stranger) = (key(), key());
    let mut mem = Mem::default();
    let root = mem.index(&["amd64", "arm64"]);
    mem.sign(&root, &[&stranger, &release]);
    let r = check(&mem, &release);
    assert!(r.passed(), "{:?}", r.all_findings().collect::<Vec<_>>());
    assert_eq!(codes(&r, Severity::Error), []);
    assert_eq!(codes(&r, Severity::Info), [Code::SignatureInvalid]);
    let sigs: Vec<bool> = r.images[0].signatures.iter().map(|s| s.verified).collect();
    assert_eq!(sigs, [false, true]);
}

#[test]
fn only_an_unknown_signature_fails_with_signature_invalid() {
    let (release, stranger) = (key(), key());
    let mut mem = Mem::default();
    let root = mem.index(&["amd64", "arm64"]);
    mem.sign(&root, &[&stranger]);
    let r = check(&mem, &release);
    assert!(!r.passed());
    assert_eq!(codes(&r, Severity::Error), [Code::SignatureInvalid]);
    assert_eq!(codes(&r, Severity::Info), []);
}

#[test]
fn index_without_a_required_platform_fails_with_platform_missing_only() {
    let release = key();
    let mut mem = Mem::default();
    let root = mem.index(&["amd64"]);
    mem.sign(&root, &[&release]);
    let r = check(&mem, &release);
    assert!(!r.passed());
    assert_eq!(codes(&r, Severity::Error), [Code::PlatformMissing]);
}

#[test]
fn child_manifest_absent_from_memory_fails_with_blob_missing_and_platform_missing() {
    let release = key();
    let mut mem = Mem::default();
    let root = mem.index(&["amd64", "arm64"]);
    mem.sign(&root, &[&release]);
    // Drop the arm64 manifest: the index still names it.
    let index: Value = serde_json::from_slice(&mem.blobs[&root]).expect("index json");
    let arm = Digest::parse(index["manifests"][1]["digest"].as_str().expect("digest"))
        .expect("digest parses");
    mem.blobs.remove(&arm);
    let r = check(&mem, &release);
    assert!(!r.passed());
    // The manifest is missing, so its platform is not present either.
    assert_eq!(
        codes(&r, Severity::Error),
        [Code::BlobMissing, Code::PlatformMissing]
    );
}

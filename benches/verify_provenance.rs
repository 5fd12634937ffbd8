//! Verifying 1,000 images, each carrying a signature, SLSA provenance, a vulnerability scan with
//! 200 vulnerabilities, an OpenVEX document and an SBOM of 500 packages.
//!
//! `cargo bench --bench verify_provenance [-- IMAGES]`
//!
//! Builds the bundle view in memory (signing is setup, not timed), then times three calls of the
//! pure core `airlock::verify::verify` and prints each and their median. It does not assert on
//! time.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use airlock::layout::BlobState;
use airlock::oci::manifest::{ANNOTATION_REF_NAME, MEDIA_OCI_MANIFEST};
use airlock::oci::{Descriptor, Digest, Manifest};
use airlock::policy::Policy;
use airlock::sign::sign_envelope;
use airlock::trust::keys::{KeyAlgorithm, SigningKey};
use airlock::verify::{simplesign, verify, BundleView, Trust};
use base64::Engine;
use serde_json::{json, Value};

const AT: &str = "2026-11-28T12:00:00Z";
const VULNS: usize = 200;
const PACKAGES: usize = 500;
/// Timed calls of the core.
const RUNS: usize = 3;

struct Builder {
    view: BundleView,
}

impl Builder {
    fn blob(&mut self, bytes: Vec<u8>) -> (Digest, u64) {
        let d = Digest::sha256_of(&bytes);
        let n = bytes.len() as u64;
        self.view.blob_states.insert(d.clone(), BlobState::Ok);
        self.view.blobs.insert(d.clone(), bytes);
        (d, n)
    }
    fn manifest(&mut self, v: &Value) -> (Digest, u64) {
        let raw = serde_json::to_vec(v).expect("json");
        let d = Digest::sha256_of(&raw);
        let n = raw.len() as u64;
        let m = Manifest::parse(raw, Some(MEDIA_OCI_MANIFEST)).expect("manifest");
        self.view.manifests.insert(d.clone(), m);
        (d, n)
    }
    fn entry(&mut self, d: &Digest, size: u64, name: String) {
        let mut desc = Descriptor::new(MEDIA_OCI_MANIFEST, d.clone(), size);
        desc.annotations.insert(ANNOTATION_REF_NAME.into(), name);
        self.view.entries.push(desc);
    }
    /// A cosign-style manifest with these layers.
    fn attachment(&mut self, layers: Vec<Value>) -> (Digest, u64) {
        let (cd, cs) = self.blob(
            br#"{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#
                .to_vec(),
        );
        self.manifest(&json!({"schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": cs},
            "layers": layers}))
    }
}

fn statement(name: &str, d: &Digest, predicate_type: &str, predicate: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": name, "digest": {"sha256": d.hex()}}],
        "predicateType": predicate_type, "predicate": predicate}))
    .expect("json")
}

fn main() {
    let images: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000);
    let key = |_: &str| SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
    let (release, ci, scanner, vendor) = (key("release"), key("ci"), key("scanner"), key("vendor"));
    let b64 = base64::engine::general_purpose::STANDARD;

    let setup = Instant::now();
    let mut b = Builder {
        view: BundleView {
            location: "in-memory".into(),
            ..Default::default()
        },
    };
    // Shared content: one SBOM document and the scanner's result list.
    let packages: Vec<Value> = (0..PACKAGES)
        .map(|i| json!({"name": format!("p{i}"), "SPDXID": format!("SPDXRef-Package-{i}"), "versionInfo": format!("1.{i}.0"),
            "downloadLocation": "NOASSERTION",
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": format!("pkg:npm/p{i}@1.{i}.0")}]}))
        .collect();
    let vulns: Vec<Value> = (0..VULNS)
        .map(|i| {
            let sev = ["LOW", "MEDIUM", "HIGH", "CRITICAL"][i % 4];
            json!({"VulnerabilityID": format!("CVE-2026-{i:05}"), "PkgName": format!("p{i}"), "InstalledVersion": "1.0", "Severity": sev})
        })
        .collect();
    let criticals: Vec<String> = (0..VULNS)
        .filter(|i| i % 4 == 3)
        .map(|i| format!("CVE-2026-{i:05}"))
        .collect();
    for i in 0..images {
        let source = format!("registry.example/team/app{i}");
        let (cd, cs) = b.blob(
            format!(r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":[]}},"n":{i}}}"#)
                .into_bytes(),
        );
        let (ld, ls) = b.blob(format!("layer {i}").into_bytes());
        let (d, size) = b.manifest(&json!({"schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": cs},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld.to_string(), "size": ls}]}));
        b.entry(&d, size, format!("{source}:v1"));
        let tag = |suffix: &str| format!("{source}:sha256-{}.{suffix}", d.hex());

        // Signature.
        let payload = simplesign::payload(&source, &d, None);
        let sig = release.sign(&payload).expect("sign");
        let (pd, ps) = b.blob(payload);
        let (sm, ss) = b.attachment(vec![json!({"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
            "digest": pd.to_string(), "size": ps, "annotations": {"dev.cosignproject.cosign/signature": b64.encode(sig)}})]);
        b.entry(&sm, ss, tag("sig"));

        // Provenance, scan and VEX attestations.
        let prov = statement(
            &source,
            &d,
            "https://slsa.dev/provenance/v1",
            json!({
            "buildDefinition": {"buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": {"workflow": {"repository": "https://github.com/minio/aistor", "ref": "refs/tags/v1.0.0", "path": ".github/workflows/release.yml"}}},
            "runDetails": {"builder": {"id": "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1.9.0"}}}),
        );
        let scan = statement(
            &source,
            &d,
            "https://cosign.sigstore.dev/attestation/vuln/v1",
            json!({
            "scanner": {"uri": "pkg:github/aquasecurity/trivy@v0.50.0", "version": "0.50.0",
                "result": {"SchemaVersion": 2, "Results": [{"Target": source, "Vulnerabilities": vulns}]}},
            "metadata": {"scanStartedOn": "2026-11-27T00:00:00Z", "scanFinishedOn": "2026-11-27T00:05:00Z"}}),
        );
        let vex_statements: Vec<Value> = criticals
            .iter()
            .map(|c| json!({"vulnerability": {"name": c}, "products": [{"@id": format!("pkg:oci/app{i}@sha256%3A{}", d.hex())}], "status": "not_affected", "justification": "vulnerable_code_not_present"}))
            .collect();
        let vex = statement(
            &source,
            &d,
            "https://openvex.dev/ns/v0.2.0",
            json!({
            "@context": "https://openvex.dev/ns/v0.2.0", "@id": format!("https://vex.example/{i}"), "author": "vendor",
            "timestamp": "2026-11-01T00:00:00Z", "version": 1, "statements": vex_statements}),
        );
        let mut layers = Vec::new();
        for (st, pt, k) in [
            (prov, "https://slsa.dev/provenance/v1", &ci),
            (
                scan,
                "https://cosign.sigstore.dev/attestation/vuln/v1",
                &scanner,
            ),
            (vex, "https://openvex.dev/ns/v0.2.0", &vendor),
        ] {
            let env = sign_envelope("application/vnd.in-toto+json", &st, k).expect("sign");
            let (ed, es) = b.blob(env);
            layers.push(json!({"mediaType": "application/vnd.dsse.envelope.v1+json", "digest": ed.to_string(), "size": es,
                "annotations": {"dev.cosignproject.cosign/signature": "", "predicateType": pt}}));
        }
        let (am, as_) = b.attachment(layers);
        b.entry(&am, as_, tag("att"));

        // SBOM attachment.
        let sbom = serde_json::to_vec(&json!({"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": source,
            "dataLicense": "CC0-1.0", "documentNamespace": format!("https://example.com/{i}"),
            "creationInfo": {"created": "2026-01-01T00:00:00Z", "creators": ["Tool: bench"]}, "packages": packages}))
        .expect("json");
        let (sd, sz) = b.blob(sbom);
        let (bm, bs) = b.attachment(vec![
            json!({"mediaType": "text/spdx+json", "digest": sd.to_string(), "size": sz}),
        ]);
        b.entry(&bm, bs, tag("sbom"));
    }

    let policy = Policy::from_yaml(
        "apiVersion: airlock/v1\nkind: Policy\nkeys:\n  release: release.pub\n  ci: ci.pub\n  scanner: scanner.pub\n  vendor: vendor.pub\nrules:\n  - match: [\"registry.example/**\"]\n    signatures: {keys: [release]}\n    provenance:\n      signers: {keys: [ci]}\n      builderIds: [\"https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v*\"]\n      sourceRepos: [\"https://github.com/minio/aistor\"]\n      refs: [\"refs/tags/v*\"]\n    vulnerabilities:\n      signers: {keys: [scanner]}\n      maxSeverity: high\n      maxScanAge: 168h\n      vex: {signers: {keys: [vendor]}}\n    sbom:\n      required: true\n      denyPackages: [\"pkg:npm/event-stream\", \"pkg:maven/org.apache.logging.log4j/log4j-core@<2.17.1\"]\n",
        Path::new("bench-policy.yaml"),
    )
    .expect("policy");
    let mut keys = BTreeMap::new();
    for (n, k) in [
        ("release", &release),
        ("ci", &ci),
        ("scanner", &scanner),
        ("vendor", &vendor),
    ] {
        keys.insert(n.to_string(), k.public_key());
    }
    let trust = Trust {
        keys,
        ..Default::default()
    };
    let blob_bytes: usize = b.view.blobs.values().map(Vec::len).sum();
    println!(
        "setup: {images} images, {} manifests, {} blobs ({:.1} MiB) in {:.2} s",
        b.view.manifests.len(),
        b.view.blobs.len(),
        blob_bytes as f64 / (1024.0 * 1024.0),
        setup.elapsed().as_secs_f64()
    );

    // Three timed calls of the same verification; the median is the figure (single runs on a
    // shared 2-core machine vary), and every run is printed.
    let mut runs = Vec::new();
    let mut report = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        let r = verify(&b.view, &policy, &trust, AT, 2);
        runs.push(start.elapsed().as_secs_f64());
        report = Some(r);
    }
    let Some(report) = report else { return };
    let mut sorted = runs.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let shown: Vec<String> = runs.iter().map(|t| format!("{t:.3}")).collect();
    let suppressed: usize = report
        .images
        .iter()
        .flat_map(|i| i.judged.scans.iter())
        .map(|s| s.suppressed.len())
        .sum();
    println!(
        "verify: {images} images (provenance, scan of {VULNS} vulnerabilities, VEX, SBOM of {PACKAGES} packages each) in {median:.3} s (median of {RUNS}: {} s): result {}, {} passed, {} errors, {suppressed} ids suppressed by VEX",
        shown.join(", "),
        report.result.as_str(),
        report.summary.passed,
        report.summary.errors,
    );
    if !report.passed() {
        let first = report.all_findings().find(|f| f.is_error());
        eprintln!("unexpected failure: {first:?}");
        std::process::exit(1);
    }
}

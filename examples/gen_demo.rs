//! Generates the demo bundle `testdata/bundles/demo` (and `testdata/bundles/demo-tampered`):
//! a two-platform image index signed with `keys/demo.key`, with a SLSA v1 provenance attestation,
//! an SPDX SBOM attestation and a lock, written as an OCI image layout.
//!
//! Run: `AIRLOCK_PASSWORD=demo cargo run --example gen_demo -- [OUT_DIR]`
//! Content is deterministic; ECDSA signatures are randomised, so signature bytes differ per run.
use std::path::{Path, PathBuf};

use airlock::layout::{self, Layout};
use airlock::lock::{AttachmentKind, Lock, LockedAttachment, LockedImage, LockedPlatform, LOCK_PAYLOAD_TYPE};
use airlock::oci::manifest::{ANNOTATION_REF_NAME, MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST};
use airlock::oci::{Descriptor, Digest};
use airlock::trust::keys::{self, SigningKey};
use airlock::verify::simplesign;
use base64::Engine;
use serde_json::json;

const SOURCE: &str = "registry.example/demo/app";
const TAG: &str = "1.0.0";

fn put_json(l: &Layout, v: &serde_json::Value) -> (Digest, u64) {
    let b = serde_json::to_vec(v).expect("serialise");
    let d = l.put_blob(&b).expect("write blob");
    (d, b.len() as u64)
}

fn put(l: &Layout, b: &[u8]) -> (Digest, u64) {
    (l.put_blob(b).expect("write blob"), b.len() as u64)
}

fn image(l: &Layout, arch: &str, base: &[u8]) -> (Digest, u64) {
    let app = format!("demo app for {arch}\n").into_bytes();
    let (bd, bs) = put(l, base);
    let (ad, as_) = put(l, &app);
    let config = json!({"architecture": arch, "os": "linux", "config": {"Cmd": ["/app"]},
        "rootfs": {"type": "layers", "diff_ids": [bd.to_string(), ad.to_string()]}});
    let (cd, cs) = put_json(l, &config);
    let m = json!({"schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": cs},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": bd.to_string(), "size": bs},
            {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ad.to_string(), "size": as_}]});
    put_json(l, &m)
}

fn cosign_manifest(l: &Layout, layers: Vec<serde_json::Value>) -> (Digest, u64) {
    let diff_ids: Vec<String> = layers.iter().map(|x| x["digest"].as_str().unwrap_or("").to_string()).collect();
    let config = json!({"architecture": "", "os": "", "config": {}, "rootfs": {"type": "layers", "diff_ids": diff_ids}});
    let (cd, cs) = put_json(l, &config);
    let m = json!({"schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": cs},
        "layers": layers});
    put_json(l, &m)
}

fn main() {
    let out = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("testdata/bundles/demo"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pass = keys::passphrase_from_env().unwrap_or_else(|| b"demo".to_vec());
    let key = SigningKey::from_pem(&std::fs::read(root.join("keys/demo.key")).expect("keys/demo.key"), Some(&pass)).expect("load demo key");
    if out.exists() {
        std::fs::remove_dir_all(&out).expect("clean output");
    }
    let l = Layout::create(&out).expect("create layout");
    let base = b"demo base layer: the same bytes in every platform\n".repeat(64);
    let (amd, amd_s) = image(&l, "amd64", &base);
    let (arm, arm_s) = image(&l, "arm64", &base);
    let index = json!({"schemaVersion": 2, "mediaType": MEDIA_OCI_INDEX, "manifests": [
        {"mediaType": MEDIA_OCI_MANIFEST, "digest": amd.to_string(), "size": amd_s, "platform": {"architecture": "amd64", "os": "linux"}},
        {"mediaType": MEDIA_OCI_MANIFEST, "digest": arm.to_string(), "size": arm_s, "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}}]});
    let (idx, idx_s) = put_json(&l, &index);
    let b64 = base64::engine::general_purpose::STANDARD;

    // .sig: cosign simple signing over the index digest.
    let payload = simplesign::payload(SOURCE, &idx, None);
    let (pd, ps) = put(&l, &payload);
    let sig = key.sign(&payload).expect("sign");
    let (sigm, sigm_s) = cosign_manifest(&l, vec![json!({"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
        "digest": pd.to_string(), "size": ps, "annotations": {"dev.cosignproject.cosign/signature": b64.encode(sig)}})]);

    // .att: SLSA v1 provenance + SPDX SBOM, DSSE-signed.
    let subject = json!([{"name": SOURCE, "digest": {"sha256": idx.hex()}}]);
    let prov = json!({"_type": "https://in-toto.io/Statement/v1", "subject": subject, "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {"buildType": "https://example.com/demo-build/v1", "externalParameters": {"ref": "refs/tags/v1.0.0"}},
                      "runDetails": {"builder": {"id": "https://example.com/demo-builder"}}}});
    let spdx = json!({"_type": "https://in-toto.io/Statement/v0.1", "subject": subject, "predicateType": "https://spdx.dev/Document",
        "predicate": {"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "demo-app", "dataLicense": "CC0-1.0",
            "documentNamespace": "https://example.com/spdx/demo-app-1.0.0", "creationInfo": {"created": "2026-01-01T00:00:00Z", "creators": ["Tool: airlock-gen-demo"]},
            "packages": [
                {"SPDXID": "SPDXRef-Package-app", "name": "demo-app", "versionInfo": "1.0.0", "downloadLocation": "NOASSERTION"},
                {"SPDXID": "SPDXRef-Package-base", "name": "demo-base", "versionInfo": "2026.1", "downloadLocation": "NOASSERTION"},
                {"SPDXID": "SPDXRef-Package-libc", "name": "musl", "versionInfo": "1.2.5", "downloadLocation": "NOASSERTION"}]}});
    let mut att_layers = Vec::new();
    for st in [&prov, &spdx] {
        let payload = serde_json::to_vec(st).expect("serialise");
        let env = airlock::sign::sign_envelope("application/vnd.in-toto+json", &payload, &key).expect("sign");
        let (ed, es) = put(&l, &env);
        att_layers.push(json!({"mediaType": "application/vnd.dsse.envelope.v1+json", "digest": ed.to_string(), "size": es,
            "annotations": {"dev.cosignproject.cosign/signature": "", "predicateType": st["predicateType"]}}));
    }
    let (attm, attm_s) = cosign_manifest(&l, att_layers);

    let given = format!("{SOURCE}:{TAG}");
    let mut entries = Vec::new();
    for (d, s, name) in [
        (&idx, idx_s, given.clone()),
        (&sigm, sigm_s, format!("{SOURCE}:{}.sig", idx.tag_form())),
        (&attm, attm_s, format!("{SOURCE}:{}.att", idx.tag_form())),
    ] {
        let mt = if d == &idx { MEDIA_OCI_INDEX } else { MEDIA_OCI_MANIFEST };
        let mut desc = Descriptor::new(mt, d.clone(), s);
        desc.annotations.insert(ANNOTATION_REF_NAME.into(), name);
        entries.push(desc);
    }
    l.write_index(&entries).expect("index.json");
    let mut lock = Lock::new("2026-01-01T00:00:00Z".into());
    lock.images.push(LockedImage {
        r#ref: given.clone(),
        repository: SOURCE.into(),
        digest: idx.clone(),
        media_type: MEDIA_OCI_INDEX.into(),
        size: idx_s,
        platforms: vec![
            LockedPlatform { platform: "linux/amd64".into(), digest: amd, captured: true },
            LockedPlatform { platform: "linux/arm64/v8".into(), digest: arm, captured: true },
        ],
        attachments: vec![
            LockedAttachment { kind: AttachmentKind::Sig, subject: idx.clone(), digest: sigm, r#ref: Some(format!("{SOURCE}:{}.sig", idx.tag_form())), artifact_type: None },
            LockedAttachment { kind: AttachmentKind::Att, subject: idx.clone(), digest: attm, r#ref: Some(format!("{SOURCE}:{}.att", idx.tag_form())), artifact_type: None },
        ],
    });
    let lock_bytes = lock.to_json();
    layout::write_atomic(&out.join(layout::LOCK_FILE), &lock_bytes).expect("lock");
    let env = airlock::sign::sign_envelope(LOCK_PAYLOAD_TYPE, &lock_bytes, &key).expect("sign lock");
    layout::write_atomic(&out.join(layout::LOCK_DSSE_FILE), &env).expect("signed lock");
    println!("wrote {} (image {given} = {idx})", out.display());
}

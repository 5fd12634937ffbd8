//! A bundle builder for tests and the demo generator: writes airlock bundles (OCI image layouts)
//! straight to disk with the library's own writers, with knobs for every way a bundle goes wrong.
#![allow(dead_code)]
use std::path::Path;

use airlock::layout::{self, Layout};
use airlock::lock::{
    AttachmentKind, Lock, LockedAttachment, LockedImage, LockedPlatform, LOCK_PAYLOAD_TYPE,
};
use airlock::oci::manifest::{ANNOTATION_REF_NAME, MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST};
use airlock::oci::{Descriptor, Digest};
use airlock::trust::keys::SigningKey;
use airlock::verify::simplesign;
use base64::Engine;
use serde_json::{json, Value};

/// One image to write.
#[derive(Clone)]
pub struct Spec<'a> {
    /// Source repository (`registry/path`).
    pub source: String,
    pub tag: String,
    /// `(os, arch, variant)`; empty means a single-platform image manifest.
    pub platforms: Vec<(&'static str, &'static str, Option<&'static str>)>,
    /// Signs the `.sig` payload (None = unsigned).
    pub sig_key: Option<&'a SigningKey>,
    /// More signatures in the same `.sig` manifest, placed before the `sig_key` one (a second
    /// signer, or an unknown key next to the trusted one).
    pub extra_sig_keys: Vec<&'a SigningKey>,
    /// Signs the attestations (defaults to `sig_key`).
    pub att_key: Option<&'a SigningKey>,
    /// docker-reference in the signed payload (default: `source`).
    pub signed_reference: Option<String>,
    /// The digest the signature claims (default: the image's; set for replay tests).
    pub signed_digest: Option<Digest>,
    pub provenance: bool,
    pub sbom_attestation: bool,
    /// An unsigned `.sbom` attachment (SPDX JSON).
    pub sbom_attachment: bool,
    /// Extra bytes making this image's layers unique.
    pub salt: String,
}

impl<'a> Spec<'a> {
    pub fn signed(source: &str, tag: &str, key: &'a SigningKey) -> Spec<'a> {
        Spec {
            source: source.into(),
            tag: tag.into(),
            platforms: vec![("linux", "amd64", None), ("linux", "arm64", Some("v8"))],
            sig_key: Some(key),
            extra_sig_keys: Vec::new(),
            att_key: None,
            signed_reference: None,
            signed_digest: None,
            provenance: true,
            sbom_attestation: true,
            sbom_attachment: false,
            salt: String::new(),
        }
    }
    pub fn given(&self) -> String {
        format!("{}:{}", self.source, self.tag)
    }
}

/// What was written for one image.
#[derive(Clone, Debug)]
pub struct Built {
    pub given: String,
    pub digest: Digest,
    pub size: u64,
    pub children: Vec<(String, Digest)>,
    pub layers: Vec<Digest>,
    pub sig: Option<Digest>,
    pub sig_payload: Option<Digest>,
    pub att: Option<Digest>,
    pub sbom: Option<Digest>,
}

fn put_json(l: &Layout, v: &Value) -> (Digest, u64) {
    let b = serde_json::to_vec(v).expect("serialise");
    (l.put_blob(&b).expect("write blob"), b.len() as u64)
}

fn put(l: &Layout, b: &[u8]) -> (Digest, u64) {
    (l.put_blob(b).expect("write blob"), b.len() as u64)
}

fn image(
    l: &Layout,
    arch: &str,
    base: &[u8],
    salt: &str,
    layers: &mut Vec<Digest>,
) -> (Digest, u64) {
    let app = format!("demo app for {arch}{salt}\n").into_bytes();
    let (bd, bs) = put(l, base);
    let (ad, as_) = put(l, &app);
    layers.push(bd.clone());
    layers.push(ad.clone());
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

/// A cosign-style attachment manifest (config with diff_ids, one layer per item).
pub fn cosign_manifest(l: &Layout, layers: Vec<Value>) -> (Digest, u64) {
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|x| x["digest"].as_str().unwrap_or("").to_string())
        .collect();
    let config = json!({"architecture": "", "os": "", "config": {}, "rootfs": {"type": "layers", "diff_ids": diff_ids}});
    let (cd, cs) = put_json(l, &config);
    let m = json!({"schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd.to_string(), "size": cs},
        "layers": layers});
    put_json(l, &m)
}

pub fn spdx_document(name: &str) -> Value {
    json!({"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": name, "dataLicense": "CC0-1.0",
        "documentNamespace": format!("https://example.com/spdx/{name}"), "creationInfo": {"created": "2026-01-01T00:00:00Z", "creators": ["Tool: airlock-test"]},
        "packages": [
            {"SPDXID": "SPDXRef-Package-app", "name": name, "versionInfo": "1.0.0", "downloadLocation": "NOASSERTION"},
            {"SPDXID": "SPDXRef-Package-base", "name": "demo-base", "versionInfo": "2026.1", "downloadLocation": "NOASSERTION"},
            {"SPDXID": "SPDXRef-Package-libc", "name": "musl", "versionInfo": "1.2.5", "downloadLocation": "NOASSERTION"}]})
}

/// An in-toto statement about `digest`.
pub fn statement(source: &str, digest: &Digest, predicate_type: &str, predicate: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": source, "digest": {"sha256": digest.hex()}}],
        "predicateType": predicate_type, "predicate": predicate}))
    .expect("serialise")
}

pub fn provenance_predicate() -> Value {
    json!({"buildDefinition": {"buildType": "https://example.com/demo-build/v1", "externalParameters": {"ref": "refs/tags/v1.0.0"}},
           "runDetails": {"builder": {"id": "https://example.com/demo-builder"}}})
}

/// A `.att` layer: a DSSE envelope over `statement`, signed by `key`.
pub fn att_layer(l: &Layout, statement: &[u8], predicate_type: &str, key: &SigningKey) -> Value {
    let env =
        airlock::sign::sign_envelope("application/vnd.in-toto+json", statement, key).expect("sign");
    let (ed, es) = put(l, &env);
    json!({"mediaType": "application/vnd.dsse.envelope.v1+json", "digest": ed.to_string(), "size": es,
        "annotations": {"dev.cosignproject.cosign/signature": "", "predicateType": predicate_type}})
}

/// A `.sig` layer: cosign simple signing of `payload` by `key`.
pub fn sig_layer(l: &Layout, payload: &[u8], key: &SigningKey) -> Value {
    let (pd, ps) = put(l, payload);
    let sig = key.sign(payload).expect("sign");
    json!({"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": pd.to_string(), "size": ps,
        "annotations": {"dev.cosignproject.cosign/signature": base64::engine::general_purpose::STANDARD.encode(sig)}})
}

/// Write `specs` into a new layout at `dir` with index.json and the lock (signed by `lock_key`).
pub fn build(dir: &Path, specs: &[Spec], lock_key: Option<&SigningKey>) -> Vec<Built> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).expect("clean output");
    }
    let mut l = Layout::create(dir).expect("create layout");
    l.set_durable(false);
    let base = b"demo base layer: the same bytes in every platform\n".repeat(64);
    let mut entries = Vec::new();
    let mut lock = Lock::new("2026-01-01T00:00:00Z".into());
    let mut out = Vec::new();
    for s in specs {
        let mut layers = Vec::new();
        let mut children = Vec::new();
        let (digest, size, media_type) = if s.platforms.is_empty() {
            let (d, sz) = image(&l, "amd64", &base, &s.salt, &mut layers);
            (d, sz, MEDIA_OCI_MANIFEST)
        } else {
            let mut descs = Vec::new();
            for (os, arch, variant) in &s.platforms {
                let (d, sz) = image(&l, arch, &base, &s.salt, &mut layers);
                let mut p = json!({"architecture": arch, "os": os});
                if let Some(v) = variant {
                    p["variant"] = json!(v);
                }
                let name = match variant {
                    Some(v) => format!("{os}/{arch}/{v}"),
                    None => format!("{os}/{arch}"),
                };
                children.push((name, d.clone()));
                descs.push(json!({"mediaType": MEDIA_OCI_MANIFEST, "digest": d.to_string(), "size": sz, "platform": p}));
            }
            let (d, sz) = put_json(
                &l,
                &json!({"schemaVersion": 2, "mediaType": MEDIA_OCI_INDEX, "manifests": descs}),
            );
            (d, sz, MEDIA_OCI_INDEX)
        };
        let given = s.given();
        let mut desc = Descriptor::new(media_type, digest.clone(), size);
        desc.annotations
            .insert(ANNOTATION_REF_NAME.into(), given.clone());
        entries.push(desc);
        let mut attachments = Vec::new();
        let mut add = |kind: AttachmentKind, d: &Digest, sz: u64, entries: &mut Vec<Descriptor>| {
            let name = format!("{}:{}", s.source, kind.tag_for(&digest).unwrap_or_default());
            let mut desc = Descriptor::new(MEDIA_OCI_MANIFEST, d.clone(), sz);
            desc.annotations
                .insert(ANNOTATION_REF_NAME.into(), name.clone());
            entries.push(desc);
            attachments.push(LockedAttachment {
                kind,
                subject: digest.clone(),
                digest: d.clone(),
                r#ref: Some(name),
                artifact_type: None,
            });
        };
        let mut built = Built {
            given: given.clone(),
            digest: digest.clone(),
            size,
            children: children.clone(),
            layers,
            sig: None,
            sig_payload: None,
            att: None,
            sbom: None,
        };
        if let Some(k) = s.sig_key {
            let reference = s
                .signed_reference
                .clone()
                .unwrap_or_else(|| s.source.clone());
            let payload = simplesign::payload(
                &reference,
                s.signed_digest.as_ref().unwrap_or(&digest),
                None,
            );
            let layer = sig_layer(&l, &payload, k);
            built.sig_payload = Digest::parse(layer["digest"].as_str().unwrap_or("")).ok();
            let mut layers: Vec<_> = s
                .extra_sig_keys
                .iter()
                .map(|x| sig_layer(&l, &payload, x))
                .collect();
            layers.push(layer);
            let (d, sz) = cosign_manifest(&l, layers);
            add(AttachmentKind::Sig, &d, sz, &mut entries);
            built.sig = Some(d);
        }
        let att_key = s.att_key.or(s.sig_key);
        if let (Some(k), true) = (att_key, s.provenance || s.sbom_attestation) {
            let mut att_layers = Vec::new();
            if s.provenance {
                let st = statement(
                    &s.source,
                    &digest,
                    "https://slsa.dev/provenance/v1",
                    provenance_predicate(),
                );
                att_layers.push(att_layer(&l, &st, "https://slsa.dev/provenance/v1", k));
            }
            if s.sbom_attestation {
                let st = statement(
                    &s.source,
                    &digest,
                    "https://spdx.dev/Document",
                    spdx_document("demo-app"),
                );
                att_layers.push(att_layer(&l, &st, "https://spdx.dev/Document", k));
            }
            let (d, sz) = cosign_manifest(&l, att_layers);
            add(AttachmentKind::Att, &d, sz, &mut entries);
            built.att = Some(d);
        }
        if s.sbom_attachment {
            let doc = serde_json::to_vec(&spdx_document("demo-app")).expect("serialise");
            let (sd, ss) = put(&l, &doc);
            let (d, sz) = cosign_manifest(
                &l,
                vec![json!({"mediaType": "text/spdx+json", "digest": sd.to_string(), "size": ss})],
            );
            add(AttachmentKind::Sbom, &d, sz, &mut entries);
            built.sbom = Some(d);
        }
        lock.images.push(LockedImage {
            r#ref: given,
            repository: s.source.clone(),
            digest: digest.clone(),
            media_type: media_type.into(),
            size,
            platforms: children
                .iter()
                .map(|(p, d)| LockedPlatform {
                    platform: p.clone(),
                    digest: d.clone(),
                    captured: true,
                })
                .collect(),
            attachments,
        });
        out.push(built);
    }
    l.write_index(&entries).expect("index.json");
    let lock_bytes = lock.to_json();
    layout::write_atomic(&dir.join(layout::LOCK_FILE), &lock_bytes).expect("lock");
    if let Some(k) = lock_key {
        let env =
            airlock::sign::sign_envelope(LOCK_PAYLOAD_TYPE, &lock_bytes, k).expect("sign lock");
        layout::write_atomic(&dir.join(layout::LOCK_DSSE_FILE), &env).expect("signed lock");
    }
    out
}

/// The demo bundle (`testdata/bundles/demo`): a two-platform image index signed with
/// `keys/demo.key` (passphrase `demo`, or AIRLOCK_PASSWORD), with provenance and SBOM
/// attestations and a signed lock. Deterministic: the same bytes on every run (RFC 6979 ECDSA).
pub fn demo(out: &Path) -> Vec<Built> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pass = airlock::trust::keys::passphrase_from_env().unwrap_or_else(|| b"demo".to_vec());
    let pem = std::fs::read(root.join("keys/demo.key")).expect("read keys/demo.key");
    let key =
        SigningKey::from_pem(&pem, Some(&pass)).expect("load keys/demo.key (passphrase: demo)");
    let spec = Spec::signed("registry.example/demo/app", "1.0.0", &key);
    build(out, &[spec], Some(&key))
}

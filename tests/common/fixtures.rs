//! An OCI distribution client for pushing test content ([`Pusher`]) and a
//! builder of realistic fixtures on top of it ([`Fixtures`]): images, multi-arch
//! indexes, cosign `.sig`/`.att`/`.sbom` attachments, OCI 1.1 referrers (with
//! the tag-schema fallback) and Helm charts.
//!
//! Deliberately independent of airlock's own registry client: a bug there must
//! not be able to hide itself by also being in the fixtures. All content is
//! deterministic (no randomness, fixed timestamps) except ECDSA signatures,
//! which come from the caller's `sign` closure.
//!
//! Every method panics with a descriptive message on an unexpected response,
//! which is what a test wants.

use std::collections::HashMap;
use std::sync::Mutex;

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::WWW_AUTHENTICATE;
use reqwest::StatusCode;
use serde_json::{json, Map, Value};

use super::content::{
    b64, deterministic_bytes, digest_hex, digest_of, gzip_stored, seed_from, sha256_hex,
    tar_archive,
};
use super::registry::Registry;

// ---------------------------------------------------------------------------
// Media types, annotation keys, well-known values
// ---------------------------------------------------------------------------

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Uncompressed OCI layer.
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// Gzipped OCI layer.
pub const OCI_LAYER_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// Docker schema 2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// The OCI empty descriptor's media type.
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// Digest of the empty JSON object `{}`.
pub const OCI_EMPTY_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
/// Cosign simple-signing payload layer.
pub const COSIGN_SIMPLESIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// DSSE envelope layer (cosign `.att`).
pub const DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";
/// DSSE payload type of in-toto statements.
pub const INTOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// Sigstore bundle v0.3 (cosign v3 referrers).
pub const SIGSTORE_BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// Helm chart config.
pub const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
/// Helm chart content layer.
pub const HELM_CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// SBOM attachment media types (cosign `.sbom`).
pub const SPDX_JSON: &str = "text/spdx+json";
/// CycloneDX JSON SBOM media type.
pub const CYCLONEDX_JSON: &str = "application/vnd.cyclonedx+json";

/// Layer annotation holding the base64 signature (empty for attestations).
pub const ANN_SIGNATURE: &str = "dev.cosignproject.cosign/signature";
/// Layer annotation with a PEM certificate (keyless / `--cert`).
pub const ANN_CERTIFICATE: &str = "dev.sigstore.cosign/certificate";
/// Layer annotation with a PEM chain.
pub const ANN_CHAIN: &str = "dev.sigstore.cosign/chain";
/// Layer annotation with the Rekor bundle (SET).
pub const ANN_BUNDLE: &str = "dev.sigstore.cosign/bundle";
/// Unauthenticated predicate type hint on `.att` layers.
pub const ANN_PREDICATE_TYPE: &str = "predicateType";

/// in-toto Statement v0.1 (`cosign attest`).
pub const STATEMENT_V01: &str = "https://in-toto.io/Statement/v0.1";
/// in-toto Statement v1.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// SLSA provenance v0.2 predicate type.
pub const SLSA_PROVENANCE_V02: &str = "https://slsa.dev/provenance/v0.2";
/// SLSA provenance v1 predicate type.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// SPDX predicate type as cosign writes it.
pub const SPDX_PREDICATE: &str = "https://spdx.dev/Document";
/// CycloneDX predicate type as cosign writes it.
pub const CYCLONEDX_PREDICATE: &str = "https://cyclonedx.org/bom";

/// Fixed creation time used in configs and documents.
pub const FIXED_TIME: &str = "2024-01-01T00:00:00Z";

/// `Accept` header for manifest GETs: every manifest kind.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.list.v2+json";

// ---------------------------------------------------------------------------
// Tag names and payload builders (no registry needed)
// ---------------------------------------------------------------------------

/// `sha256-<hex>.sig` for a subject digest.
pub fn sig_tag(subject: &str) -> String {
    format!("sha256-{}.sig", digest_hex(subject))
}

/// `sha256-<hex>.att` for a subject digest.
pub fn att_tag(subject: &str) -> String {
    format!("sha256-{}.att", digest_hex(subject))
}

/// `sha256-<hex>.sbom` for a subject digest.
pub fn sbom_tag(subject: &str) -> String {
    format!("sha256-{}.sbom", digest_hex(subject))
}

/// The OCI 1.1 referrers fallback tag `sha256-<hex>` for a subject digest.
pub fn referrers_tag(subject: &str) -> String {
    format!("sha256-{}", digest_hex(subject))
}

/// The cosign simple-signing payload, byte for byte as cosign writes it with no
/// `-a` annotations (Go struct order, `"optional":null`).
pub fn simple_signing_payload(docker_reference: &str, manifest_digest: &str) -> Vec<u8> {
    simple_signing_payload_with(docker_reference, manifest_digest, None)
}

/// The simple-signing payload with `optional` annotations (`cosign sign -a`);
/// Go writes map keys sorted, so pass them in any order.
pub fn simple_signing_payload_with(
    docker_reference: &str,
    manifest_digest: &str,
    optional: Option<&[(&str, &str)]>,
) -> Vec<u8> {
    let optional = match optional {
        None => "null".to_string(),
        Some(pairs) => {
            let map: std::collections::BTreeMap<&str, &str> = pairs.iter().copied().collect();
            serde_json::to_string(&map).expect("json")
        }
    };
    format!(
        "{{\"critical\":{{\"identity\":{{\"docker-reference\":{}}},\"image\":{{\"docker-manifest-digest\":{}}},\"type\":\"cosign container image signature\"}},\"optional\":{optional}}}",
        serde_json::to_string(docker_reference).expect("json"),
        serde_json::to_string(manifest_digest).expect("json"),
    )
    .into_bytes()
}

/// DSSE pre-authentication encoding: `DSSEv1 SP LEN(type) SP type SP LEN(body) SP body`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// A DSSE envelope as cosign serializes it (`payloadType`, `payload`,
/// `signatures[{keyid:"", sig}]`), signing `PAE(payload_type, payload)`.
pub fn dsse_envelope(
    payload_type: &str,
    payload: &[u8],
    sign_pae: &dyn Fn(&[u8]) -> Vec<u8>,
) -> Vec<u8> {
    let sig = sign_pae(&pae(payload_type, payload));
    dsse_envelope_raw(payload_type, payload, &[("", &sig)])
}

/// A DSSE envelope with explicit `(keyid, signature)` pairs (for tampering tests).
pub fn dsse_envelope_raw(payload_type: &str, payload: &[u8], sigs: &[(&str, &[u8])]) -> Vec<u8> {
    let sigs: Vec<String> = sigs
        .iter()
        .map(|(keyid, sig)| {
            format!(
                "{{\"keyid\":{},\"sig\":{}}}",
                serde_json::to_string(keyid).expect("json"),
                serde_json::to_string(&b64(sig)).expect("json")
            )
        })
        .collect();
    format!(
        "{{\"payloadType\":{},\"payload\":{},\"signatures\":[{}]}}",
        serde_json::to_string(payload_type).expect("json"),
        serde_json::to_string(&b64(payload)).expect("json"),
        sigs.join(",")
    )
    .into_bytes()
}

/// An in-toto statement (`statement_type` is [`STATEMENT_V01`] or
/// [`STATEMENT_V1`]) with one subject `{name, digest:{sha256}}`.
pub fn intoto_statement(
    statement_type: &str,
    subject_name: &str,
    subject_digest: &str,
    predicate_type: &str,
    predicate: Value,
) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "_type": statement_type,
        "subject": [{"name": subject_name, "digest": {"sha256": digest_hex(subject_digest)}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    }))
    .expect("json")
}

/// Statement v0.1 with a SLSA provenance v0.2 predicate (what `cosign attest
/// --type slsaprovenance` writes).
pub fn slsa_v02_statement(subject_name: &str, subject_digest: &str) -> Vec<u8> {
    intoto_statement(
        STATEMENT_V01,
        subject_name,
        subject_digest,
        SLSA_PROVENANCE_V02,
        json!({
            "builder": {"id": "https://ci.example/builders/airlock-test"},
            "buildType": "https://ci.example/buildtypes/container@v1",
            "invocation": {
                "configSource": {
                    "uri": "git+https://git.example/team/app@refs/heads/main",
                    "digest": {"sha1": "0123456789abcdef0123456789abcdef01234567"},
                    "entryPoint": "Dockerfile"
                },
                "parameters": {},
                "environment": {}
            },
            "buildConfig": {"steps": [{"command": ["docker", "build", "."]}]},
            "metadata": {
                "buildInvocationId": "airlock-test-build-1",
                "buildStartedOn": FIXED_TIME,
                "buildFinishedOn": FIXED_TIME,
                "completeness": {"parameters": true, "environment": false, "materials": false},
                "reproducible": false
            },
            "materials": [{
                "uri": "git+https://git.example/team/app",
                "digest": {"sha1": "0123456789abcdef0123456789abcdef01234567"}
            }]
        }),
    )
}

/// Statement v1 with a SLSA provenance v1 predicate.
pub fn slsa_v1_statement(subject_name: &str, subject_digest: &str) -> Vec<u8> {
    intoto_statement(
        STATEMENT_V1,
        subject_name,
        subject_digest,
        SLSA_PROVENANCE_V1,
        json!({
            "buildDefinition": {
                "buildType": "https://ci.example/buildtypes/container@v1",
                "externalParameters": {"repository": "https://git.example/team/app", "ref": "refs/heads/main"},
                "internalParameters": {},
                "resolvedDependencies": [{
                    "uri": "git+https://git.example/team/app@refs/heads/main",
                    "digest": {"gitCommit": "0123456789abcdef0123456789abcdef01234567"}
                }]
            },
            "runDetails": {
                "builder": {"id": "https://ci.example/builders/airlock-test", "version": {"ci": "1.0"}},
                "metadata": {"invocationId": "airlock-test-build-1", "startedOn": FIXED_TIME, "finishedOn": FIXED_TIME},
                "byproducts": []
            }
        }),
    )
}

/// A small SPDX 2.3 JSON document describing `name`.
pub fn spdx_document(name: &str) -> Value {
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": format!("https://airlock.test/spdx/{}", sha256_hex(name.as_bytes())),
        "creationInfo": {"created": FIXED_TIME, "creators": ["Tool: airlock-test-harness"]},
        "packages": [{
            "name": "busybox",
            "SPDXID": "SPDXRef-Package-busybox",
            "versionInfo": "1.36.1",
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": "GPL-2.0-only",
            "licenseDeclared": "GPL-2.0-only",
            "copyrightText": "NOASSERTION"
        }],
        "relationships": [{
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DESCRIBES",
            "relatedSpdxElement": "SPDXRef-Package-busybox"
        }]
    })
}

/// A small CycloneDX 1.5 JSON BOM describing `name`.
pub fn cyclonedx_bom(name: &str) -> Value {
    let h = sha256_hex(name.as_bytes());
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:{}-{}-4{}-8{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32]),
        "version": 1,
        "metadata": {"timestamp": FIXED_TIME, "component": {"type": "container", "name": name}},
        "components": [{
            "type": "library",
            "name": "busybox",
            "version": "1.36.1",
            "purl": "pkg:generic/busybox@1.36.1",
            "licenses": [{"license": {"id": "GPL-2.0-only"}}]
        }]
    })
}

/// Statement v0.1 with an SPDX JSON predicate (`cosign attest --type spdxjson`).
pub fn spdx_statement(subject_name: &str, subject_digest: &str) -> Vec<u8> {
    intoto_statement(
        STATEMENT_V01,
        subject_name,
        subject_digest,
        SPDX_PREDICATE,
        spdx_document(subject_name),
    )
}

/// Statement v0.1 with a CycloneDX predicate (`cosign attest --type cyclonedx`).
pub fn cyclonedx_statement(subject_name: &str, subject_digest: &str) -> Vec<u8> {
    intoto_statement(
        STATEMENT_V01,
        subject_name,
        subject_digest,
        CYCLONEDX_PREDICATE,
        cyclonedx_bom(subject_name),
    )
}

// ---------------------------------------------------------------------------
// Descriptors and results
// ---------------------------------------------------------------------------

/// An OCI content descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// `mediaType`.
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
}

impl Descriptor {
    /// Descriptor of `bytes` with the given media type.
    pub fn of(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.to_string(),
            digest: digest_of(bytes),
            size: bytes.len() as u64,
        }
    }

    /// The OCI empty descriptor (`{}`, 2 bytes).
    pub fn empty() -> Descriptor {
        Descriptor::of(OCI_EMPTY, b"{}")
    }

    /// `{"mediaType","digest","size"}` as JSON.
    pub fn to_json(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.size})
    }
}

/// A platform: `os/architecture[/variant]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Platform {
    /// `os`, e.g. `linux`.
    pub os: String,
    /// `architecture`, e.g. `arm64`.
    pub architecture: String,
    /// `variant`, e.g. `v8`.
    pub variant: Option<String>,
}

impl Platform {
    /// From `(os, architecture, variant)`.
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Platform {
        Platform {
            os: os.to_string(),
            architecture: architecture.to_string(),
            variant: variant.map(str::to_string),
        }
    }

    /// `linux/amd64`.
    pub fn linux_amd64() -> Platform {
        Platform::new("linux", "amd64", None)
    }

    /// The index descriptor's `platform` object.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("architecture".into(), json!(self.architecture));
        m.insert("os".into(), json!(self.os));
        if let Some(v) = &self.variant {
            m.insert("variant".into(), json!(v));
        }
        Value::Object(m)
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A manifest pushed to the registry.
#[derive(Clone, Debug)]
pub struct Pushed {
    /// Repository it was pushed to.
    pub repo: String,
    /// `sha256:<hex>` of [`manifest_bytes`](Self::manifest_bytes).
    pub digest: String,
    /// The exact manifest bytes.
    pub manifest_bytes: Vec<u8>,
    /// The manifest's media type.
    pub media_type: String,
    /// Length of the manifest bytes.
    pub size: u64,
    /// Config descriptor digest (empty for an index).
    pub config_digest: String,
    /// Layer digests in order (blobs; empty for an index).
    pub layer_digests: Vec<String>,
}

impl Pushed {
    /// Descriptor of this manifest (e.g. as a referrer `subject`).
    pub fn descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: self.media_type.clone(),
            digest: self.digest.clone(),
            size: self.size,
        }
    }

    /// The manifest parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.manifest_bytes).expect("manifest json")
    }
}

/// An image index pushed with its per-platform images.
#[derive(Clone, Debug)]
pub struct PushedIndex {
    /// Repository it was pushed to.
    pub repo: String,
    /// `sha256:<hex>` of the index bytes.
    pub digest: String,
    /// The exact index bytes.
    pub manifest_bytes: Vec<u8>,
    /// [`OCI_INDEX`].
    pub media_type: String,
    /// Length of the index bytes.
    pub size: u64,
    /// `(platform "os/arch[/variant]", child manifest digest)` in index order.
    pub children: Vec<(String, String)>,
    /// The child image manifests, in the same order.
    pub child_manifests: Vec<Pushed>,
}

impl PushedIndex {
    /// Descriptor of the index.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: self.media_type.clone(),
            digest: self.digest.clone(),
            size: self.size,
        }
    }

    /// Digest of the child for `platform` (`"linux/arm64/v8"`).
    pub fn child(&self, platform: &str) -> Option<&str> {
        self.children
            .iter()
            .find(|(p, _)| p == platform)
            .map(|(_, d)| d.as_str())
    }
}

/// One layer of a cosign `.sig` manifest, with full control of the annotations
/// (e.g. an invalid base64 signature, or a certificate annotation).
#[derive(Clone, Debug)]
pub struct SignatureLayer {
    /// The payload blob (normally a simple-signing payload).
    pub payload: Vec<u8>,
    /// Layer media type (normally [`COSIGN_SIMPLESIGNING`]).
    pub media_type: String,
    /// Layer annotations, in order.
    pub annotations: Vec<(String, String)>,
}

impl SignatureLayer {
    /// A normal layer: `dev.cosignproject.cosign/signature = base64(sig)`.
    pub fn new(payload: Vec<u8>, sig: &[u8]) -> SignatureLayer {
        SignatureLayer {
            payload,
            media_type: COSIGN_SIMPLESIGNING.to_string(),
            annotations: vec![(ANN_SIGNATURE.to_string(), b64(sig))],
        }
    }

    /// Add an annotation (e.g. [`ANN_CERTIFICATE`]).
    pub fn with_annotation(mut self, key: &str, value: &str) -> SignatureLayer {
        self.annotations.push((key.to_string(), value.to_string()));
        self
    }
}

// ---------------------------------------------------------------------------
// Pusher: a small, independent OCI distribution client
// ---------------------------------------------------------------------------

/// A blocking OCI distribution client for one [`Registry`], handling basic
/// auth and bearer-token challenges (`WWW-Authenticate: Bearer realm=...`:
/// fetch a token for the challenged scope with the registry's credentials,
/// cache it per repository, retry once).
pub struct Pusher<'a> {
    reg: &'a Registry,
    client: Client,
    tokens: Mutex<HashMap<String, String>>,
}

impl<'a> Pusher<'a> {
    /// A client for `reg` (test CA trusted, credentials from `reg`).
    pub fn new(reg: &'a Registry) -> Pusher<'a> {
        Pusher {
            reg,
            client: reg.client(),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// The registry this pusher talks to.
    pub fn registry(&self) -> &'a Registry {
        self.reg
    }

    /// Send a request for `repo` (`build` may be called twice: the second time
    /// after fetching a bearer token). Returns the final response, whatever its status.
    pub fn send(&self, repo: &str, build: &dyn Fn(&Client) -> RequestBuilder) -> Response {
        let cached = self.tokens.lock().expect("tokens").get(repo).cloned();
        let with_token = |token: &Option<String>| {
            let rb = build(&self.client);
            match token {
                Some(t) => rb.bearer_auth(t),
                None => rb,
            }
        };
        let resp = with_token(&cached)
            .send()
            .unwrap_or_else(|e| panic!("request to {} failed: {e}", self.reg.host));
        if resp.status() != StatusCode::UNAUTHORIZED {
            return resp;
        }
        let Some(challenge) = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
        else {
            return resp;
        };
        let (scheme, params) = parse_challenge(&challenge);
        if !scheme.eq_ignore_ascii_case("bearer") {
            return resp;
        }
        let token = self.fetch_token(&params);
        self.tokens
            .lock()
            .expect("tokens")
            .insert(repo.to_string(), token.clone());
        with_token(&Some(token))
            .send()
            .unwrap_or_else(|e| panic!("request to {} failed: {e}", self.reg.host))
    }

    /// GET `path` (e.g. `/v2/<repo>/referrers/<digest>`) with auth for `repo`.
    pub fn get(&self, repo: &str, path: &str) -> Response {
        let url = self.reg.url(path);
        self.send(repo, &|c| c.get(&url))
    }

    fn fetch_token(&self, params: &HashMap<String, String>) -> String {
        let realm = params
            .get("realm")
            .unwrap_or_else(|| panic!("Bearer challenge without realm: {params:?}"));
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(s) = params.get("service") {
            query.push(("service", s));
        }
        if let Some(s) = params.get("scope") {
            query.push(("scope", s));
        }
        let mut rb = self.client.get(realm).query(&query);
        if let (Some(u), Some(p)) = (&self.reg.username, &self.reg.password) {
            rb = rb.basic_auth(u, Some(p));
        }
        let resp = rb
            .send()
            .unwrap_or_else(|e| panic!("token request to {realm} failed: {e}"));
        let status = resp.status();
        let body = resp.text().unwrap_or_default();
        assert!(
            status.is_success(),
            "token request to {realm} -> {status}: {body}"
        );
        let v: Value = serde_json::from_str(&body).expect("token response json");
        v.get("token")
            .or_else(|| v.get("access_token"))
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("token response without token: {body}"))
            .to_string()
    }

    /// Whether the registry has blob `digest` in `repo` (HEAD 200).
    pub fn blob_exists(&self, repo: &str, digest: &str) -> bool {
        let url = self.reg.url(&format!("/v2/{repo}/blobs/{digest}"));
        let resp = self.send(repo, &|c| c.head(&url));
        match resp.status() {
            StatusCode::OK => true,
            StatusCode::NOT_FOUND => false,
            s => panic!("HEAD {url} -> {s}"),
        }
    }

    /// Upload `bytes` as a blob (monolithic POST + PUT; skipped when HEAD says
    /// it exists). Returns its digest.
    pub fn put_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = digest_of(bytes);
        if self.blob_exists(repo, &digest) {
            return digest;
        }
        let start = self.reg.url(&format!("/v2/{repo}/blobs/uploads/"));
        let resp = self.send(repo, &|c| c.post(&start).header("Content-Length", "0"));
        let status = resp.status();
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "POST {start} -> {status}: {}",
            resp.text().unwrap_or_default()
        );
        let location = resp
            .headers()
            .get("Location")
            .and_then(|v| v.to_str().ok())
            .expect("upload Location header")
            .to_string();
        let location = if location.starts_with("http://") || location.starts_with("https://") {
            location
        } else {
            self.reg.url(&location)
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let put_url = format!("{location}{sep}digest={}", digest.replace(':', "%3A"));
        let resp = self.send(repo, &|c| {
            c.put(&put_url)
                .header("Content-Type", "application/octet-stream")
                .body(bytes.to_vec())
        });
        let status = resp.status();
        assert_eq!(
            status,
            StatusCode::CREATED,
            "PUT blob {digest} -> {status}: {}",
            resp.text().unwrap_or_default()
        );
        digest
    }

    /// GET a blob's bytes (panics unless 200).
    pub fn get_blob(&self, repo: &str, digest: &str) -> Vec<u8> {
        let resp = self.get(repo, &format!("/v2/{repo}/blobs/{digest}"));
        let status = resp.status();
        assert_eq!(
            status,
            StatusCode::OK,
            "GET blob {repo}@{digest} -> {status}"
        );
        resp.bytes().expect("blob body").to_vec()
    }

    /// PUT a manifest under `reference` (tag or digest). Returns the digest,
    /// `sha256` of the exact bytes; panics unless 201 and the registry's
    /// `Docker-Content-Digest` agrees.
    pub fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> String {
        self.put_manifest_response(repo, reference, media_type, bytes)
            .0
    }

    /// Like [`put_manifest`](Self::put_manifest), also returning the
    /// `OCI-Subject` response header if the registry sent one.
    pub fn put_manifest_response(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> (String, Option<String>) {
        let digest = digest_of(bytes);
        let url = self.reg.url(&format!("/v2/{repo}/manifests/{reference}"));
        let resp = self.send(repo, &|c| {
            c.put(&url)
                .header("Content-Type", media_type)
                .body(bytes.to_vec())
        });
        let status = resp.status();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let served = header("Docker-Content-Digest");
        let subject = header("OCI-Subject");
        assert_eq!(
            status,
            StatusCode::CREATED,
            "PUT manifest {repo}:{reference} -> {status}: {}",
            resp.text().unwrap_or_default()
        );
        if let Some(served) = served {
            assert_eq!(served, digest, "registry computed another manifest digest");
        }
        (digest, subject)
    }

    /// GET a manifest by tag or digest: `(Content-Type, bytes)`. Panics unless 200.
    pub fn get_manifest(&self, repo: &str, reference: &str) -> (String, Vec<u8>) {
        self.try_get_manifest(repo, reference)
            .unwrap_or_else(|| panic!("manifest {repo}:{reference} not found"))
    }

    /// GET a manifest; `None` on 404, panics on other errors.
    pub fn try_get_manifest(&self, repo: &str, reference: &str) -> Option<(String, Vec<u8>)> {
        let url = self.reg.url(&format!("/v2/{repo}/manifests/{reference}"));
        let resp = self.send(repo, &|c| c.get(&url).header("Accept", MANIFEST_ACCEPT));
        let status = resp.status();
        if status == StatusCode::NOT_FOUND {
            return None;
        }
        assert_eq!(
            status,
            StatusCode::OK,
            "GET manifest {repo}:{reference} -> {status}"
        );
        let media_type = resp
            .headers()
            .get("Content-Type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        Some((media_type, resp.bytes().expect("manifest body").to_vec()))
    }

    /// DELETE a manifest by digest (panics unless 202).
    pub fn delete_manifest(&self, repo: &str, digest: &str) {
        let url = self.reg.url(&format!("/v2/{repo}/manifests/{digest}"));
        let resp = self.send(repo, &|c| c.delete(&url));
        let status = resp.status();
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "DELETE manifest {repo}@{digest} -> {status}: {}",
            resp.text().unwrap_or_default()
        );
    }

    /// Tags of `repo` (`GET /v2/<repo>/tags/list`); empty if the repo is unknown.
    pub fn tags(&self, repo: &str) -> Vec<String> {
        let resp = self.get(repo, &format!("/v2/{repo}/tags/list"));
        if resp.status() == StatusCode::NOT_FOUND {
            return Vec::new();
        }
        assert!(resp.status().is_success(), "tags/list -> {}", resp.status());
        let v: Value = resp.json().expect("tags json");
        v["tags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Parse `Scheme k="v", k2=v2` into `(scheme, params)`; quoted values may hold commas.
pub fn parse_challenge(header: &str) -> (String, HashMap<String, String>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(c) if *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek() {
                if *c == ',' {
                    break;
                }
                value.push(*c);
                chars.next();
            }
        }
        params.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    (scheme.to_string(), params)
}

// ---------------------------------------------------------------------------
// Fixtures: realistic content on top of Pusher
// ---------------------------------------------------------------------------

/// Builds and pushes realistic, deterministic fixtures.
///
/// ```ignore
/// let reg = Registry::start(Flavour::Plain);
/// let fx = reg.fixtures();
/// let idx = fx.multi_arch("team/app", "v1", &[("linux", "amd64", None), ("linux", "arm64", Some("v8"))], 4096);
/// let key = TestKey::generate();
/// fx.cosign_signature("team/app", &idx.digest, &reg.repo_ref("team/app"), &key.signer());
/// let stmt = slsa_v1_statement(&reg.repo_ref("team/app"), &idx.digest);
/// fx.cosign_attestations("team/app", &idx.digest, &[(SLSA_PROVENANCE_V1, stmt)], &key.signer());
/// ```
pub struct Fixtures<'a> {
    /// The underlying client (for reads and raw pushes).
    pub pusher: Pusher<'a>,
}

impl<'a> Fixtures<'a> {
    /// A fixture builder for `reg`.
    pub fn new(reg: &'a Registry) -> Fixtures<'a> {
        Fixtures {
            pusher: Pusher::new(reg),
        }
    }

    /// An OCI image for `linux/amd64` with one layer per entry of `layers`
    /// (each wrapped in a one-file tar, media type [`OCI_LAYER_TAR`]) and a real
    /// config (architecture, os, rootfs.diff_ids, history). Tagged `tag`, or
    /// pushed by digest only when `tag` is empty.
    pub fn image(&self, repo: &str, tag: &str, layers: &[Vec<u8>]) -> Pushed {
        let tag = (!tag.is_empty()).then_some(tag);
        self.image_for(repo, tag, layers, &Platform::linux_amd64())
    }

    /// Like [`image`](Self::image) for any platform; `tag: None` pushes by digest.
    pub fn image_for(
        &self,
        repo: &str,
        tag: Option<&str>,
        layers: &[Vec<u8>],
        platform: &Platform,
    ) -> Pushed {
        let tars: Vec<Vec<u8>> = layers.iter().map(|c| layer_tar(c)).collect();
        let layer_descs: Vec<Descriptor> = tars
            .iter()
            .map(|t| Descriptor::of(OCI_LAYER_TAR, t))
            .collect();
        let mut config = Map::new();
        config.insert("architecture".into(), json!(platform.architecture));
        config.insert("os".into(), json!(platform.os));
        if let Some(v) = &platform.variant {
            config.insert("variant".into(), json!(v));
        }
        config.insert("created".into(), json!(FIXED_TIME));
        config.insert(
            "config".into(),
            json!({
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                "Cmd": ["/bin/app"],
                "Labels": {"org.opencontainers.image.source": format!("https://git.example/{repo}")}
            }),
        );
        config.insert(
            "rootfs".into(),
            json!({"type": "layers", "diff_ids": layer_descs.iter().map(|d| d.digest.clone()).collect::<Vec<_>>()}),
        );
        config.insert(
            "history".into(),
            Value::Array(
                (0..layers.len())
                    .map(|i| json!({"created": FIXED_TIME, "created_by": format!("airlock-test layer {i}")}))
                    .collect(),
            ),
        );
        let config_bytes = serde_json::to_vec(&Value::Object(config)).expect("json");
        for t in &tars {
            self.pusher.put_blob(repo, t);
        }
        self.push_manifest(repo, tag, OCI_CONFIG, &config_bytes, &layer_descs)
    }

    /// An OCI image index tagged `tag` with one image per `(os, architecture,
    /// variant)`. Every image has a shared base layer of
    /// `shared_base_layer_size` deterministic bytes (omitted when 0, so the
    /// blob is de-duplicated across platforms) and a small platform-specific layer.
    pub fn multi_arch(
        &self,
        repo: &str,
        tag: &str,
        platforms: &[(&str, &str, Option<&str>)],
        shared_base_layer_size: usize,
    ) -> PushedIndex {
        let base = deterministic_bytes(0xba5e_1a7e, shared_base_layer_size);
        let mut child_manifests = Vec::new();
        let mut children = Vec::new();
        let mut descs = Vec::new();
        for (os, arch, variant) in platforms {
            let platform = Platform::new(os, arch, *variant);
            let name = platform.to_string();
            let mut own = format!("platform {name}\n").into_bytes();
            own.extend(deterministic_bytes(seed_from(&name), 1024));
            let mut layers = Vec::new();
            if shared_base_layer_size > 0 {
                layers.push(base.clone());
            }
            layers.push(own);
            let img = self.image_for(repo, None, &layers, &platform);
            let mut d = img.descriptor().to_json();
            d["platform"] = platform.to_json();
            descs.push(d);
            children.push((name, img.digest.clone()));
            child_manifests.push(img);
        }
        let bytes = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": descs,
        }))
        .expect("json");
        let digest = self.pusher.put_manifest(repo, tag, OCI_INDEX, &bytes);
        PushedIndex {
            repo: repo.to_string(),
            digest,
            size: bytes.len() as u64,
            manifest_bytes: bytes,
            media_type: OCI_INDEX.to_string(),
            children,
            child_manifests,
        }
    }

    /// Sign `subject_digest` like `cosign sign --key` (legacy format): append a
    /// layer with the simple-signing payload for `docker_reference` and
    /// `dev.cosignproject.cosign/signature = base64(sign(payload))` to the
    /// manifest at `sha256-<hex>.sig` (created if absent). Returns the new
    /// `.sig` manifest digest.
    pub fn cosign_signature(
        &self,
        repo: &str,
        subject_digest: &str,
        docker_reference: &str,
        sign: &dyn Fn(&[u8]) -> Vec<u8>,
    ) -> String {
        let payload = simple_signing_payload(docker_reference, subject_digest);
        let sig = sign(&payload);
        let mut layers = self.existing_layers(repo, &sig_tag(subject_digest));
        let layer = SignatureLayer::new(payload, &sig);
        layers.push(self.push_layer(repo, &layer.media_type, &layer.payload, &layer.annotations));
        self.push_cosign_manifest(repo, &sig_tag(subject_digest), layers)
            .digest
    }

    /// Replace the `.sig` manifest of `subject_digest` with exactly these
    /// `(payload, signature)` layers (build replayed or tampered signatures
    /// with [`simple_signing_payload`]). Returns the `.sig` manifest digest.
    pub fn cosign_signatures(
        &self,
        repo: &str,
        subject_digest: &str,
        sigs: &[(Vec<u8>, Vec<u8>)],
    ) -> String {
        let layers: Vec<SignatureLayer> = sigs
            .iter()
            .map(|(p, s)| SignatureLayer::new(p.clone(), s))
            .collect();
        self.cosign_signature_layers(repo, subject_digest, &layers)
            .digest
    }

    /// Replace the `.sig` manifest of `subject_digest` with these layers,
    /// annotations fully under the caller's control.
    pub fn cosign_signature_layers(
        &self,
        repo: &str,
        subject_digest: &str,
        layers: &[SignatureLayer],
    ) -> Pushed {
        let descs = layers
            .iter()
            .map(|l| self.push_layer(repo, &l.media_type, &l.payload, &l.annotations))
            .collect();
        self.push_cosign_manifest(repo, &sig_tag(subject_digest), descs)
    }

    /// Write `sha256-<hex>.att` like `cosign attest`: one DSSE envelope layer per
    /// `(predicate_type, statement JSON bytes)`, signed over the PAE by
    /// `sign_pae`, with annotations `dev.cosignproject.cosign/signature: ""`
    /// and `predicateType`. Replaces an existing `.att`. Returns its digest.
    pub fn cosign_attestations(
        &self,
        repo: &str,
        subject_digest: &str,
        statements: &[(&str, Vec<u8>)],
        sign_pae: &dyn Fn(&[u8]) -> Vec<u8>,
    ) -> String {
        let envelopes: Vec<(&str, Vec<u8>)> = statements
            .iter()
            .map(|(pt, stmt)| (*pt, dsse_envelope(INTOTO_PAYLOAD_TYPE, stmt, sign_pae)))
            .collect();
        self.cosign_attestation_envelopes(repo, subject_digest, &envelopes)
    }

    /// Write `sha256-<hex>.att` from ready-made `(predicate_type annotation,
    /// envelope bytes)` layers (for tampered/mismatched envelopes).
    pub fn cosign_attestation_envelopes(
        &self,
        repo: &str,
        subject_digest: &str,
        envelopes: &[(&str, Vec<u8>)],
    ) -> String {
        let descs = envelopes
            .iter()
            .map(|(pt, env)| {
                let ann = vec![
                    (ANN_SIGNATURE.to_string(), String::new()),
                    (ANN_PREDICATE_TYPE.to_string(), pt.to_string()),
                ];
                self.push_layer(repo, DSSE_ENVELOPE, env, &ann)
            })
            .collect();
        self.push_cosign_manifest(repo, &att_tag(subject_digest), descs)
            .digest
    }

    /// Attach an SBOM like `cosign attach sbom`: `sha256-<hex>.sbom` with one
    /// unsigned layer of `media_type` (e.g. [`SPDX_JSON`], [`CYCLONEDX_JSON`]).
    /// Returns the `.sbom` manifest digest.
    pub fn cosign_sbom(
        &self,
        repo: &str,
        subject_digest: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> String {
        let desc = self.push_layer(repo, media_type, bytes, &[]);
        self.push_cosign_manifest(repo, &sbom_tag(subject_digest), vec![desc])
            .digest
    }

    /// Push an OCI 1.1 artifact manifest referring to `subject` (config = the
    /// empty descriptor, `artifactType`, one layer) by digest, then — since
    /// distribution 2.8 has no referrers API and sends no `OCI-Subject` — update
    /// the fallback index at tag `sha256-<hex>` (404 ⇒ new index; deduplicated
    /// by digest; descriptor carries `artifactType` and the annotations).
    pub fn referrer(
        &self,
        repo: &str,
        subject: &Descriptor,
        artifact_type: &str,
        layer_media_type: &str,
        layer_bytes: &[u8],
        annotations: &[(&str, &str)],
    ) -> Pushed {
        self.pusher.put_blob(repo, b"{}");
        self.pusher.put_blob(repo, layer_bytes);
        let layer = Descriptor::of(layer_media_type, layer_bytes);
        let mut m = Map::new();
        m.insert("schemaVersion".into(), json!(2));
        m.insert("mediaType".into(), json!(OCI_MANIFEST));
        m.insert("artifactType".into(), json!(artifact_type));
        m.insert("config".into(), Descriptor::empty().to_json());
        m.insert("layers".into(), json!([layer.to_json()]));
        m.insert("subject".into(), subject.to_json());
        let ann: Map<String, Value> = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        if !ann.is_empty() {
            m.insert("annotations".into(), Value::Object(ann.clone()));
        }
        let bytes = serde_json::to_vec(&Value::Object(m)).expect("json");
        let digest = digest_of(&bytes);
        let (_, oci_subject) =
            self.pusher
                .put_manifest_response(repo, &digest, OCI_MANIFEST, &bytes);
        if oci_subject.is_none() {
            let mut d = Descriptor::of(OCI_MANIFEST, &bytes).to_json();
            d["artifactType"] = json!(artifact_type);
            if !ann.is_empty() {
                d["annotations"] = Value::Object(ann);
            }
            self.add_to_referrers_index(repo, &subject.digest, d);
        }
        Pushed {
            repo: repo.to_string(),
            digest,
            size: bytes.len() as u64,
            manifest_bytes: bytes,
            media_type: OCI_MANIFEST.to_string(),
            config_digest: OCI_EMPTY_DIGEST.to_string(),
            layer_digests: vec![layer.digest],
        }
    }

    /// Append `descriptor` (JSON) to the referrers fallback index of
    /// `subject_digest`; a descriptor with the same digest is replaced in place. Returns the new index digest.
    pub fn add_to_referrers_index(
        &self,
        repo: &str,
        subject_digest: &str,
        descriptor: Value,
    ) -> String {
        let tag = referrers_tag(subject_digest);
        let mut index = match self.pusher.try_get_manifest(repo, &tag) {
            Some((_, bytes)) => {
                serde_json::from_slice::<Value>(&bytes).expect("referrers index json")
            }
            None => json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}),
        };
        let manifests = index["manifests"]
            .as_array_mut()
            .expect("referrers index has manifests");
        match manifests
            .iter_mut()
            .find(|d| d["digest"] == descriptor["digest"])
        {
            Some(existing) => *existing = descriptor,
            None => manifests.push(descriptor),
        }
        let bytes = serde_json::to_vec(&index).expect("json");
        self.pusher.put_manifest(repo, &tag, OCI_INDEX, &bytes)
    }

    /// The referrers fallback index at `sha256-<hex>`, if any.
    pub fn referrers_index(&self, repo: &str, subject_digest: &str) -> Option<Value> {
        self.pusher
            .try_get_manifest(repo, &referrers_tag(subject_digest))
            .map(|(_, b)| serde_json::from_slice(&b).expect("referrers index json"))
    }

    /// A Helm chart as `helm push` stores it: config [`HELM_CONFIG`] (Chart.yaml
    /// as JSON) and one [`HELM_CHART_LAYER`] layer (a real `.tgz` with
    /// `Chart.yaml`, `values.yaml` and a template). Tagged `tag` (the chart version).
    pub fn helm_chart(&self, repo: &str, tag: &str) -> Pushed {
        let name = repo.rsplit('/').next().unwrap_or(repo);
        let chart_yaml = format!(
            "apiVersion: v2\nname: {name}\ndescription: airlock test chart\ntype: application\nversion: {tag}\nappVersion: \"1.0.0\"\n"
        );
        let values = "image:\n  repository: registry.example/team/app\n  tag: v1\n";
        let template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  k: v\n";
        let p_chart = format!("{name}/Chart.yaml");
        let p_values = format!("{name}/values.yaml");
        let p_tpl = format!("{name}/templates/configmap.yaml");
        let tgz = gzip_stored(&tar_archive(&[
            (&p_chart, chart_yaml.as_bytes()),
            (&p_values, values.as_bytes()),
            (&p_tpl, template.as_bytes()),
        ]));
        let config = serde_json::to_vec(&json!({
            "name": name,
            "version": tag,
            "description": "airlock test chart",
            "apiVersion": "v2",
            "appVersion": "1.0.0",
            "type": "application",
        }))
        .expect("json");
        self.pusher.put_blob(repo, &tgz);
        let layer = Descriptor::of(HELM_CHART_LAYER, &tgz);
        self.push_manifest(repo, Some(tag), HELM_CONFIG, &config, &[layer])
    }

    // -- internals ----------------------------------------------------------

    /// Push blob `bytes` and return its layer descriptor JSON with annotations.
    fn push_layer(
        &self,
        repo: &str,
        media_type: &str,
        bytes: &[u8],
        annotations: &[(String, String)],
    ) -> Value {
        self.pusher.put_blob(repo, bytes);
        let mut d = Descriptor::of(media_type, bytes).to_json();
        if !annotations.is_empty() {
            let ann: Map<String, Value> = annotations
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            d["annotations"] = Value::Object(ann);
        }
        d
    }

    /// Layers of an existing cosign manifest at `tag` (empty when absent).
    fn existing_layers(&self, repo: &str, tag: &str) -> Vec<Value> {
        self.pusher
            .try_get_manifest(repo, tag)
            .map(|(_, b)| {
                let m: Value = serde_json::from_slice(&b).expect("manifest json");
                m["layers"].as_array().cloned().unwrap_or_default()
            })
            .unwrap_or_default()
    }

    /// Push a cosign attachment manifest: OCI manifest whose config is the
    /// go-containerregistry `mutate.Append`-on-empty config (rootfs.diff_ids =
    /// layer digests), tagged `tag`.
    fn push_cosign_manifest(&self, repo: &str, tag: &str, layers: Vec<Value>) -> Pushed {
        let diff_ids: Vec<Value> = layers.iter().map(|l| l["digest"].clone()).collect();
        let history: Vec<Value> = layers
            .iter()
            .map(|_| json!({"created": "0001-01-01T00:00:00Z"}))
            .collect();
        let config = serde_json::to_vec(&json!({
            "architecture": "",
            "created": "0001-01-01T00:00:00Z",
            "history": history,
            "os": "",
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "config": {},
        }))
        .expect("json");
        self.push_manifest_values(repo, Some(tag), OCI_CONFIG, &config, layers)
    }

    /// Push config blob + manifest (layers given as descriptors, already uploaded).
    fn push_manifest(
        &self,
        repo: &str,
        tag: Option<&str>,
        config_media_type: &str,
        config: &[u8],
        layers: &[Descriptor],
    ) -> Pushed {
        let layers = layers.iter().map(Descriptor::to_json).collect();
        self.push_manifest_values(repo, tag, config_media_type, config, layers)
    }

    /// Push config blob + an OCI image manifest with these layer descriptors
    /// (JSON, may carry annotations), under `tag` or by digest.
    fn push_manifest_values(
        &self,
        repo: &str,
        tag: Option<&str>,
        config_media_type: &str,
        config: &[u8],
        layers: Vec<Value>,
    ) -> Pushed {
        let config_digest = self.pusher.put_blob(repo, config);
        let layer_digests = layers
            .iter()
            .map(|l| l["digest"].as_str().expect("layer digest").to_string())
            .collect();
        let mut m = Map::new();
        m.insert("schemaVersion".into(), json!(2));
        m.insert("mediaType".into(), json!(OCI_MANIFEST));
        m.insert(
            "config".into(),
            Descriptor::of(config_media_type, config).to_json(),
        );
        m.insert("layers".into(), Value::Array(layers));
        let bytes = serde_json::to_vec(&Value::Object(m)).expect("json");
        let digest = digest_of(&bytes);
        let reference = tag.unwrap_or(&digest).to_string();
        self.pusher
            .put_manifest(repo, &reference, OCI_MANIFEST, &bytes);
        Pushed {
            repo: repo.to_string(),
            digest,
            size: bytes.len() as u64,
            manifest_bytes: bytes,
            media_type: OCI_MANIFEST.to_string(),
            config_digest,
            layer_digests,
        }
    }
}

/// A one-file tar for layer content; the file is named after the content hash
/// so equal content gives an equal (shared) layer blob.
pub fn layer_tar(content: &[u8]) -> Vec<u8> {
    let name = format!("data/{}.bin", &sha256_hex(content)[..16]);
    tar_archive(&[(&name, content)])
}

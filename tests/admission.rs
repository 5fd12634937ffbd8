//! `airlock admission`: Kyverno and Sigstore policy-controller resources from the policy, keys,
//! lock and mapping.
//!
//! - Every generated resource is validated against the real CRD OpenAPI v3 schemas
//!   (testdata/crds/, copied from upstream with provenance) by a small structural validator
//!   below, strict about unknown fields; the webhook-level rules the CRDs leave out (one of
//!   key/keyless/static, `url` for keyless, parseable keys, ECDSA Rekor keys in a TrustRoot,
//!   `rekor.url` next to `rekor` in Kyverno) are checked separately.
//! - Golden files (testdata/admission/*.yaml) pin the exact output; `UPDATE_GOLDEN=1 cargo test
//!   --test admission` rewrites them.
//! - Same inputs give the same bytes; the order of the lock and mapping does not matter.
//! - When python3 has `jsonschema` and `yaml`, the same documents are also validated with
//!   `jsonschema` (Draft 7) as an independent check.
#![allow(clippy::disallowed_methods)] // tests, benchmarks and examples drive the real filesystem
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use airlock::lock::Lock;
use airlock::mapping::Mapping;
use airlock::trust::keys::{KeyAlgorithm, PublicKey};
use assert_cmd::Command;
use base64::Engine;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn data(rel: &str) -> String {
    root()
        .join("testdata/admission")
        .join(rel)
        .display()
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Running the command

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn airlock(args: &[&str]) -> Run {
    let out = Command::cargo_bin("airlock")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn generate(format: &str, extra: &[&str]) -> Run {
    let policy = data("policy.yaml");
    let lock = data("bundle/airlock.lock.json");
    let mut args = vec!["admission", "--format", format, "--lock", lock.as_str()];
    if !extra.contains(&"--gate-key") {
        args.extend(["--policy", policy.as_str()]);
    }
    args.extend(extra);
    let run = airlock(&args);
    assert_eq!(run.code, 0, "{format}: {}", run.stderr);
    run
}

fn gate_key() -> String {
    data("keys/gate.pub")
}

/// The YAML documents as JSON values.
fn documents(yaml: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(yaml) {
        let v: serde_yaml::Value = serde::Deserialize::deserialize(doc).unwrap();
        if !v.is_null() {
            out.push(serde_json::to_value(v).unwrap());
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// A structural OpenAPI v3 validator for the subset the CRDs use.

/// Keywords the validator understands; any other keyword met on the way fails the test, so
/// nothing is skipped silently.
const KNOWN_KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "additionalProperties",
    "items",
    "required",
    "enum",
    "x-kubernetes-preserve-unknown-fields",
    "not",
    "oneOf",
    "anyOf",
    "allOf",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "pattern",
    "format",
    "default",
    "description",
    "nullable",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-int-or-string",
    "x-kubernetes-validations",
];

struct Validator {
    unknown_keywords: BTreeSet<String>,
}

impl Validator {
    fn new() -> Validator {
        Validator {
            unknown_keywords: BTreeSet::new(),
        }
    }

    fn check(&mut self, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
        let Some(s) = schema.as_object() else {
            errors.push(format!("{path}: schema is not an object"));
            return;
        };
        for k in s.keys() {
            if !KNOWN_KEYWORDS.contains(&k.as_str()) {
                self.unknown_keywords.insert(k.clone());
            }
        }
        if value.is_null() && s.get("nullable") == Some(&Value::Bool(true)) {
            return;
        }
        let preserve = s.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
        if s.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
            if !(value.is_string() || value.is_i64() || value.is_u64()) {
                errors.push(format!(
                    "{path}: expected an integer or a string, found {value}"
                ));
            }
            return;
        }
        if let Some(t) = s.get("type").and_then(Value::as_str) {
            let ok = match t {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                other => {
                    errors.push(format!("{path}: unknown schema type {other}"));
                    true
                }
            };
            if !ok {
                errors.push(format!("{path}: expected type {t}, found {value}"));
                return;
            }
        } else if preserve && !s.contains_key("properties") {
            return;
        }
        if let Some(e) = s.get("enum").and_then(Value::as_array) {
            if !e.contains(value) {
                errors.push(format!("{path}: {value} is not one of {e:?}"));
            }
        }
        if let Some(str_value) = value.as_str() {
            if let Some(n) = s.get("minLength").and_then(Value::as_u64) {
                if (str_value.chars().count() as u64) < n {
                    errors.push(format!("{path}: shorter than {n}"));
                }
            }
            if let Some(n) = s.get("maxLength").and_then(Value::as_u64) {
                if str_value.chars().count() as u64 > n {
                    errors.push(format!("{path}: longer than {n}"));
                }
            }
            if let Some(p) = s.get("pattern").and_then(Value::as_str) {
                let re = regex::Regex::new(p).unwrap();
                if !re.is_match(str_value) {
                    errors.push(format!("{path}: {str_value:?} does not match {p}"));
                }
            }
        }
        if let Some(n) = value.as_f64() {
            if let Some(m) = s.get("minimum").and_then(Value::as_f64) {
                if n < m {
                    errors.push(format!("{path}: {n} is below the minimum {m}"));
                }
            }
            if let Some(m) = s.get("maximum").and_then(Value::as_f64) {
                if n > m {
                    errors.push(format!("{path}: {n} is above the maximum {m}"));
                }
            }
        }
        if let Some(obj) = value.as_object() {
            if let Some(req) = s.get("required").and_then(Value::as_array) {
                for r in req.iter().filter_map(Value::as_str) {
                    if !obj.contains_key(r) {
                        errors.push(format!("{path}: required field {r} is missing"));
                    }
                }
            }
            let props = s.get("properties").and_then(Value::as_object);
            let additional = s.get("additionalProperties");
            for (k, v) in obj {
                let child = format!("{path}.{k}");
                match (props.and_then(|p| p.get(k)), additional) {
                    (Some(ps), _) => self.check(ps, v, &child, errors),
                    (None, Some(Value::Bool(false))) => errors.push(format!(
                        "{child}: unknown field (additionalProperties false)"
                    )),
                    (None, Some(a)) if a.is_object() => self.check(a, v, &child, errors),
                    (None, Some(Value::Bool(true))) => {}
                    (None, _) if preserve => {}
                    // Strict: an object with properties is closed (kubectl --validate=strict).
                    (None, _) if props.is_some() => errors.push(format!("{child}: unknown field")),
                    (None, _) => {}
                }
            }
        }
        if let (Some(items), Some(arr)) = (s.get("items"), value.as_array()) {
            for (i, v) in arr.iter().enumerate() {
                self.check(items, v, &format!("{path}[{i}]"), errors);
            }
        }
        if let Some(arr) = value.as_array() {
            if let Some(n) = s.get("minItems").and_then(Value::as_u64) {
                if (arr.len() as u64) < n {
                    errors.push(format!("{path}: fewer than {n} items"));
                }
            }
            if let Some(n) = s.get("maxItems").and_then(Value::as_u64) {
                if arr.len() as u64 > n {
                    errors.push(format!("{path}: more than {n} items"));
                }
            }
        }
        if let Some(not) = s.get("not") {
            let mut sub = Vec::new();
            self.check_partial(not, value, path, &mut sub);
            if sub.is_empty() {
                errors.push(format!("{path}: matches a `not` schema {not}"));
            }
        }
        for (kw, need) in [
            ("oneOf", Some(1usize)),
            ("anyOf", None),
            ("allOf", Some(usize::MAX)),
        ] {
            if let Some(list) = s.get(kw).and_then(Value::as_array) {
                let passing = list
                    .iter()
                    .filter(|sub| {
                        let mut e = Vec::new();
                        self.check_partial(sub, value, path, &mut e);
                        e.is_empty()
                    })
                    .count();
                let ok = match need {
                    Some(1) => passing == 1,
                    Some(_) => passing == list.len(),
                    None => passing >= 1,
                };
                if !ok {
                    errors.push(format!(
                        "{path}: {kw} not satisfied ({passing} of {})",
                        list.len()
                    ));
                }
            }
        }
    }

    /// For `not`/`oneOf` branches: Kubernetes allows only value validations there (`required`,
    /// types), not `properties`, so the same check applies.
    fn check_partial(
        &mut self,
        schema: &Value,
        value: &Value,
        path: &str,
        errors: &mut Vec<String>,
    ) {
        self.check(schema, value, path, errors);
    }
}

/// `(group/version, kind)` -> openAPIV3Schema, from the CRD files.
fn crd_schemas() -> BTreeMap<(String, String), Value> {
    let mut out = BTreeMap::new();
    for rel in [
        "kyverno/config/crds/kyverno/kyverno.io_clusterpolicies.yaml",
        "policy-controller/config/300-clusterimagepolicy.yaml",
        "policy-controller/config/300-trustroot.yaml",
        "kyverno/config/crds/policies.kyverno.io/policies.kyverno.io_imagevalidatingpolicies.yaml",
    ] {
        let text = std::fs::read_to_string(root().join("testdata/crds").join(rel)).unwrap();
        for crd in documents(&text) {
            assert_eq!(crd["kind"], "CustomResourceDefinition", "{rel}");
            let group = crd["spec"]["group"].as_str().unwrap();
            let kind = crd["spec"]["names"]["kind"].as_str().unwrap();
            for v in crd["spec"]["versions"].as_array().unwrap() {
                let version = v["name"].as_str().unwrap();
                let schema = v["schema"]["openAPIV3Schema"].clone();
                assert!(schema.is_object(), "{rel} {version}");
                out.insert((format!("{group}/{version}"), kind.to_string()), schema);
            }
        }
    }
    out
}

fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// Validate every document: the CRD schema for custom resources; apiVersion/kind/metadata and the
/// ConfigMap shape by hand. Returns the errors.
fn validate_documents(docs: &[Value]) -> Vec<String> {
    let schemas = crd_schemas();
    let mut v = Validator::new();
    let mut errors = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let api = doc["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = doc["kind"].as_str().unwrap_or_default().to_string();
        let at = format!("document {} ({kind})", i + 1);
        let meta = &doc["metadata"];
        match meta["name"].as_str() {
            Some(n) if is_dns_subdomain(n) => {}
            other => errors.push(format!(
                "{at}: metadata.name {other:?} is not a DNS subdomain"
            )),
        }
        for field in ["labels", "annotations"] {
            if let Some(m) = meta.get(field) {
                if !m
                    .as_object()
                    .is_some_and(|o| o.values().all(Value::is_string))
                {
                    errors.push(format!("{at}: metadata.{field} is not a map of strings"));
                }
            }
        }
        if let Some(o) = meta.as_object() {
            for k in o.keys() {
                if !["name", "namespace", "labels", "annotations"].contains(&k.as_str()) {
                    errors.push(format!("{at}: unexpected metadata.{k}"));
                }
            }
        }
        if api == "v1" && kind == "ConfigMap" {
            if !doc["data"]
                .as_object()
                .is_some_and(|o| o.values().all(Value::is_string))
            {
                errors.push(format!("{at}: data is not a map of strings"));
            }
            continue;
        }
        let Some(schema) = schemas.get(&(api.clone(), kind.clone())) else {
            errors.push(format!("{at}: no CRD for {api} {kind}"));
            continue;
        };
        let mut body = doc.clone();
        if let Some(o) = body.as_object_mut() {
            o.remove("apiVersion");
            o.remove("kind");
            o.remove("metadata");
        }
        let mut e = Vec::new();
        v.check(schema, &body, &at, &mut e);
        errors.extend(e);
    }
    assert!(
        v.unknown_keywords.is_empty(),
        "the validator met schema keywords it does not implement: {:?}",
        v.unknown_keywords
    );
    errors
}

#[test]
fn the_validator_catches_misspelt_fields_wrong_types_and_enums() {
    let bad = serde_json::json!({
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "x"},
        "spec": {
            "validationFailureAction": "Block",
            "webhookTimeoutSeconds": "30",
            "rules": [{"name": "r", "match": {"any": []}, "verifyImagez": []}]
        }
    });
    let errors = validate_documents(&[bad]);
    let all = errors.join("\n");
    assert!(all.contains("verifyImagez: unknown field"), "{all}");
    assert!(
        all.contains("webhookTimeoutSeconds: expected type integer"),
        "{all}"
    );
    assert!(all.contains("\"Block\" is not one of"), "{all}");
    let missing = serde_json::json!({
        "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "x"},
        "spec": {"rules": [{"match": {"any": [], "all": []}}]}
    });
    let all = validate_documents(&[missing]).join("\n");
    assert!(all.contains("required field name is missing"), "{all}");
    assert!(all.contains("matches a `not` schema"), "{all}");
}

// ---------------------------------------------------------------------------------------------
// Webhook-level rules the CRDs leave out

fn pem_key(s: &str) -> PublicKey {
    PublicKey::from_pem(s.as_bytes()).unwrap_or_else(|e| panic!("not a PEM public key: {e}\n{s}"))
}

fn check_kyverno_rules(doc: &Value) {
    let spec = &doc["spec"];
    assert_eq!(spec["failurePolicy"], "Fail");
    assert_eq!(spec["validationFailureAction"], "Enforce");
    assert_eq!(spec["webhookConfiguration"]["failurePolicy"], "Fail");
    assert!(spec["webhookTimeoutSeconds"].as_i64().unwrap() > 0);
    let rules = spec["rules"].as_array().unwrap();
    let names: BTreeSet<&str> = rules.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), rules.len(), "rule names are unique");
    for r in rules {
        assert!(r["name"].as_str().unwrap().len() <= 63);
        let Some(vis) = r["verifyImages"].as_array() else {
            continue;
        };
        for vi in vis {
            assert_eq!(vi["type"], "Cosign");
            assert_eq!(vi["mutateDigest"], true);
            assert_eq!(vi["verifyDigest"], true);
            assert_eq!(vi["required"], true);
            assert_eq!(vi["failureAction"], "Enforce");
            for r in vi["imageReferences"].as_array().unwrap() {
                let r = r.as_str().unwrap();
                assert!(r != "*" && !r.starts_with('*'), "glob too wide: {r}");
                assert!(r.ends_with(":*") || r.ends_with("@*"), "{r}");
            }
            // Signatures or attestations in one entry, not both.
            assert!(vi.get("attestors").is_some() != vi.get("attestations").is_some());
            let mut sets: Vec<&Value> = vi["attestors"].as_array().into_iter().flatten().collect();
            for a in vi["attestations"].as_array().into_iter().flatten() {
                assert!(a["type"].as_str().unwrap().starts_with("https://"));
                sets.extend(a["attestors"].as_array().unwrap());
            }
            for set in sets {
                assert_eq!(set["count"], 1);
                for e in set["entries"].as_array().unwrap() {
                    if let Some(k) = e.get("keys") {
                        pem_key(k["publicKeys"].as_str().unwrap());
                        assert!(["sha256", "sha384"]
                            .contains(&k["signatureAlgorithm"].as_str().unwrap()));
                        assert_eq!(k["rekor"]["ignoreTlog"], true);
                        assert!(!k["rekor"]["url"].as_str().unwrap().is_empty());
                        assert_eq!(k["ctlog"]["ignoreSCT"], true);
                    } else {
                        let k = &e["keyless"];
                        assert!(k["roots"].as_str().unwrap().contains("BEGIN CERTIFICATE"));
                        assert!(!k["rekor"]["url"].as_str().unwrap().is_empty());
                        let rekor = pem_key(k["rekor"]["pubkey"].as_str().unwrap());
                        assert_eq!(rekor.algorithm(), KeyAlgorithm::EcdsaP256);
                        pem_key(k["ctlog"]["pubkey"].as_str().unwrap());
                        assert!(k.get("issuer").is_some() || k.get("issuerRegExp").is_some());
                        assert!(k.get("subject").is_some() || k.get("subjectRegExp").is_some());
                    }
                }
            }
        }
    }
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn check_policy_controller_rules(docs: &[Value]) {
    let trust_roots: BTreeSet<&str> = docs
        .iter()
        .filter(|d| d["kind"] == "TrustRoot")
        .map(|d| d["metadata"]["name"].as_str().unwrap())
        .collect();
    let glob_chars = regex::Regex::new(r"^[a-zA-Z0-9\-_:/*.@]+$").unwrap();
    for d in docs {
        match d["kind"].as_str().unwrap() {
            "TrustRoot" => {
                let k = &d["spec"]["sigstoreKeys"];
                for ca in k["certificateAuthorities"].as_array().unwrap() {
                    assert!(!ca["subject"]["organization"].as_str().unwrap().is_empty());
                    assert!(!ca["subject"]["commonName"].as_str().unwrap().is_empty());
                    assert!(ca["uri"].as_str().unwrap().starts_with("https://"));
                    let chain = String::from_utf8(b64(ca["certChain"].as_str().unwrap())).unwrap();
                    assert!(chain.starts_with("-----BEGIN CERTIFICATE-----\n"));
                }
                for t in k["tLogs"].as_array().unwrap() {
                    let key =
                        pem_key(&String::from_utf8(b64(t["publicKey"].as_str().unwrap())).unwrap());
                    // policy-controller's reconciler refuses non-ECDSA Rekor keys.
                    assert!(matches!(
                        key.algorithm(),
                        KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384
                    ));
                    assert_eq!(t["hashAlgorithm"], "sha-256");
                }
                for t in k["ctLogs"].as_array().into_iter().flatten() {
                    pem_key(&String::from_utf8(b64(t["publicKey"].as_str().unwrap())).unwrap());
                }
            }
            "ClusterImagePolicy" => {
                let spec = &d["spec"];
                assert_eq!(spec["mode"], "enforce");
                for g in spec["images"].as_array().unwrap() {
                    let g = g["glob"].as_str().unwrap();
                    assert!(glob_chars.is_match(g), "{g}");
                    assert!(g.ends_with("@*") && !g.starts_with('*'), "{g}");
                }
                let auths = spec["authorities"].as_array().unwrap();
                let names: BTreeSet<&str> =
                    auths.iter().map(|a| a["name"].as_str().unwrap()).collect();
                assert_eq!(names.len(), auths.len());
                for a in auths {
                    let n = ["key", "keyless", "static"]
                        .iter()
                        .filter(|k| a.get(**k).is_some())
                        .count();
                    assert_eq!(n, 1, "exactly one of key/keyless/static: {a}");
                    if let Some(k) = a.get("key") {
                        pem_key(k["data"].as_str().unwrap());
                        assert!(a.get("ctlog").is_none(), "no ctlog for a key authority");
                    }
                    if let Some(k) = a.get("keyless") {
                        assert!(k["url"].as_str().unwrap().starts_with("https://"));
                        assert!(trust_roots.contains(k["trustRootRef"].as_str().unwrap()));
                        assert_eq!(a["ctlog"]["trustRootRef"], k["trustRootRef"]);
                        for id in k["identities"].as_array().unwrap() {
                            assert!(id.get("issuer").is_some() != id.get("issuerRegExp").is_some());
                            assert!(
                                id.get("subject").is_some() != id.get("subjectRegExp").is_some()
                            );
                        }
                    }
                    for att in a["attestations"].as_array().into_iter().flatten() {
                        assert!(!att["name"].as_str().unwrap().is_empty());
                        assert!(att["predicateType"]
                            .as_str()
                            .unwrap()
                            .starts_with("https://"));
                    }
                }
                if let Some(p) = spec.get("policy") {
                    assert_eq!(p["type"], "cue");
                    let cue = p["data"].as_str().unwrap();
                    // Every authority is named in the policy.
                    for n in &names {
                        assert!(cue.contains(&format!("a == \"{n}\"")), "{n} not in {cue}");
                    }
                }
            }
            "ConfigMap" => {
                assert_eq!(d["metadata"]["name"], "config-policy-controller");
                assert_eq!(d["data"]["no-match-policy"], "deny");
            }
            other => panic!("unexpected kind {other}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Golden files

fn golden(name: &str, actual: &str) {
    let path = root().join("testdata/admission").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `UPDATE_GOLDEN=1 cargo test --test admission` to create it",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the output at line {}:\n  golden: {:?}\n  actual: {:?}\n\
             if the change is intended, run `UPDATE_GOLDEN=1 cargo test --test admission`",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

#[test]
fn kyverno_output_matches_the_golden_file_and_the_crd_schema() {
    let run = generate("kyverno", &[]);
    golden("kyverno.yaml", &run.stdout);
    let docs = documents(&run.stdout);
    assert_eq!(docs.len(), 1);
    let errors = validate_documents(&docs);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    check_kyverno_rules(&docs[0]);
    // The notes: the image no rule covers is left out, and said so on stderr.
    assert!(
        run.stderr
            .contains("ghcr.io/other/tool:2 matches no policy rule"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("mirrored names from"), "{}", run.stderr);
}

#[test]
fn policy_controller_output_matches_the_golden_file_and_the_crd_schemas() {
    let run = generate("policy-controller", &[]);
    golden("policy-controller.yaml", &run.stdout);
    let docs = documents(&run.stdout);
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "TrustRoot",
            "ClusterImagePolicy",
            "ClusterImagePolicy",
            "ClusterImagePolicy",
            "ConfigMap"
        ]
    );
    let errors = validate_documents(&docs);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    check_policy_controller_rules(&docs);
    assert!(
        run.stderr.contains("Rekor key(s) that are not ECDSA"),
        "{}",
        run.stderr
    );
}

#[test]
fn gate_mode_output_matches_the_golden_files_and_the_crd_schemas() {
    let key = gate_key();
    let run = generate("kyverno", &["--gate-key", &key]);
    golden("kyverno-gate.yaml", &run.stdout);
    let docs = documents(&run.stdout);
    let errors = validate_documents(&docs);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    check_kyverno_rules(&docs[0]);
    let rules = docs[0]["spec"]["rules"].as_array().unwrap();
    assert_eq!(rules[0]["name"], "verify-gate");
    let vi = &rules[0]["verifyImages"][0];
    let att = &vi["attestations"][0];
    assert_eq!(att["type"], "https://slsa.dev/verification_summary/v1");
    assert_eq!(att["conditions"][0]["all"][0]["value"], "PASSED");
    let gate = std::fs::read_to_string(&key).unwrap();
    assert_eq!(
        att["attestors"][0]["entries"][0]["keys"]["publicKeys"]
            .as_str()
            .unwrap(),
        gate
    );
    // Every pushed image is covered, whatever its upstream rule (the unmatched one too).
    let refs: Vec<&str> = vi["imageReferences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        refs.contains(&"registry.airgap.local/mirror/other/tool@*"),
        "{refs:?}"
    );
    assert_eq!(refs.len(), 10);

    let run = generate("policy-controller", &["--gate-key", &key]);
    golden("policy-controller-gate.yaml", &run.stdout);
    let docs = documents(&run.stdout);
    let errors = validate_documents(&docs);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    check_policy_controller_rules(&docs);
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ClusterImagePolicy", "ConfigMap"]);
    let auth = &docs[0]["spec"]["authorities"][0];
    assert_eq!(auth["name"], "attestation-1-key-gate");
    assert_eq!(auth["key"]["data"].as_str().unwrap(), gate);
    let att = &auth["attestations"][0];
    assert_eq!(
        att["predicateType"],
        "https://slsa.dev/verification_summary/v1"
    );
    assert!(att["policy"]["data"]
        .as_str()
        .unwrap()
        .contains("verificationResult: \"PASSED\""));
    assert_eq!(docs[0]["spec"]["images"].as_array().unwrap().len(), 5);
}

#[test]
fn every_pushed_image_is_admitted_only_by_its_mirrored_repository() {
    let run = generate("kyverno", &[]);
    let doc = &documents(&run.stdout)[0];
    let rules = doc["spec"]["rules"].as_array().unwrap();
    let names: Vec<&str> = rules.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "verify-rule-1",
            "verify-rule-2",
            "allow-only-verified-images"
        ]
    );
    // Rule 1: the signature entry (release key OR keyless identity), then the provenance
    // attestation as its own entry.
    let vis = rules[0]["verifyImages"].as_array().unwrap();
    assert_eq!(vis.len(), 2);
    let entries = vis[0]["attestors"][0]["entries"].as_array().unwrap();
    assert!(entries[0].get("keys").is_some());
    assert_eq!(entries[0]["annotations"]["release"], "stable");
    // Keyless: one entry per CT log key of the trusted root (2), Rekor v1 key only.
    assert_eq!(entries.len(), 3);
    assert_eq!(
        vis[1]["attestations"][0]["type"],
        "https://slsa.dev/provenance/v1"
    );
    // Rule 2: the P-384 key with SHA-384.
    let k = &rules[1]["verifyImages"][0]["attestors"][0]["entries"][0]["keys"];
    assert_eq!(k["signatureAlgorithm"], "sha384");
    // The allow list: mirrored repositories by digest, the unsigned-by-policy busybox included,
    // the unmatched (denied) image not.
    let pattern = rules[2]["validate"]["pattern"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap();
    let alternatives: Vec<&str> = pattern.split('|').collect();
    assert!(alternatives.contains(&"registry.airgap.local/mirror/library/busybox@sha256:*"));
    assert!(alternatives.contains(&"registry.airgap.local/mirror/ci/builder:*@sha256:*"));
    assert!(!pattern.contains("other/tool"));
    assert!(
        !pattern.contains("quay.io"),
        "source names are not admitted: {pattern}"
    );
    assert_eq!(alternatives.len(), 8);
}

// ---------------------------------------------------------------------------------------------
// Determinism

fn shuffled_inputs(dir: &Path) -> (String, String) {
    let lock_text = std::fs::read(data("bundle/airlock.lock.json")).unwrap();
    let mut lock = Lock::parse(&lock_text).unwrap();
    lock.images.reverse();
    let map_text = std::fs::read(data("bundle/airlock.mapping.json")).unwrap();
    let mut mapping = Mapping::parse(&map_text).unwrap();
    mapping.images.rotate_left(2);
    let lock_path = dir.join("airlock.lock.json");
    std::fs::write(&lock_path, lock.to_json()).unwrap();
    std::fs::write(dir.join("airlock.mapping.json"), mapping.to_json()).unwrap();
    (
        lock_path.display().to_string(),
        airlock::oci::Digest::sha256_of(&lock.to_json()).to_string(),
    )
}

#[test]
fn same_inputs_give_the_same_bytes_and_order_does_not_matter() {
    let original_lock_sha =
        airlock::oci::Digest::sha256_of(&std::fs::read(data("bundle/airlock.lock.json")).unwrap())
            .to_string();
    for format in ["kyverno", "policy-controller"] {
        let a = generate(format, &[]).stdout;
        let b = generate(format, &[]).stdout;
        assert_eq!(a, b, "{format}: two runs differ");
        // The lock and mapping in another order: the same resources (only the recorded lock
        // digest, which is of the file's bytes, differs).
        let dir = tempfile::tempdir().unwrap();
        let (lock, sha) = shuffled_inputs(dir.path());
        let policy = data("policy.yaml");
        let run = airlock(&[
            "admission",
            "--format",
            format,
            "--policy",
            &policy,
            "--lock",
            &lock,
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.stdout.replace(&sha, &original_lock_sha), a, "{format}");
    }
}

#[test]
fn written_to_a_file_with_o() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("policy.yaml");
    let run = generate("policy-controller", &["-o", &out.display().to_string()]);
    assert!(run.stdout.is_empty());
    assert!(
        run.stderr.contains("wrote policy-controller (4 images)"),
        "{}",
        run.stderr
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text, generate("policy-controller", &[]).stdout);
}

// ---------------------------------------------------------------------------------------------
// Inputs that do not hold

#[test]
fn without_a_mapping_and_with_no_verify_the_source_repositories_are_admitted_and_it_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("airlock.lock.json");
    std::fs::copy(data("bundle/airlock.lock.json"), &lock).unwrap();
    let policy = data("policy.yaml");
    let run = airlock(&[
        "admission",
        "--no-verify",
        "--format",
        "policy-controller",
        "--policy",
        &policy,
        "--lock",
        &lock.display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("no mapping file"), "{}", run.stderr);
    assert!(
        run.stdout.contains("glob: quay.io/minio/aistor/minio@*"),
        "{}",
        run.stdout
    );
    // Docker Hub in policy-controller's resolved spelling.
    assert!(
        run.stdout
            .contains("glob: index.docker.io/library/busybox@*"),
        "{}",
        run.stdout
    );
    let errors = validate_documents(&documents(&run.stdout));
    assert!(errors.is_empty(), "{}", errors.join("\n"));

    let run = airlock(&[
        "admission",
        "--no-verify",
        "--format",
        "kyverno",
        "--policy",
        &policy,
        "--lock",
        &lock.display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Kyverno may spell Docker Hub official images either way.
    assert!(
        run.stdout.contains("docker.io/busybox@sha256:*"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("docker.io/library/busybox@sha256:*"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_mapping_that_disagrees_with_the_lock_fails_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("airlock.lock.json");
    std::fs::copy(data("bundle/airlock.lock.json"), &lock).unwrap();
    let mut mapping =
        Mapping::parse(&std::fs::read(data("bundle/airlock.mapping.json")).unwrap()).unwrap();
    let other = airlock::oci::Digest::sha256_of(b"rewritten");
    mapping.images[2].digest = other.clone();
    std::fs::write(dir.path().join("airlock.mapping.json"), mapping.to_json()).unwrap();
    let policy = data("policy.yaml");
    let run = airlock(&[
        "admission",
        "--format",
        "kyverno",
        "--policy",
        &policy,
        "--lock",
        &lock.display().to_string(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains(&other.to_string()), "{}", run.stderr);
    assert!(
        run.stderr.contains("registry.example/ci/builder:1.0"),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_invocations_are_exit_2_with_what_was_expected() {
    let lock = data("bundle/airlock.lock.json");
    let run = airlock(&["admission", "--format", "kyverno", "--lock", &lock]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("expected --policy FILE"),
        "{}",
        run.stderr
    );

    let policy = data("policy.yaml");
    let run = airlock(&[
        "admission",
        "--format",
        "kyverno",
        "--policy",
        &policy,
        "--lock",
        &lock,
        "--name",
        "Bad_Name",
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--name \"Bad_Name\""), "{}", run.stderr);

    let run = airlock(&[
        "admission",
        "--format",
        "kyverno",
        "--policy",
        &policy,
        "--lock",
        &lock,
        "--webhook-timeout",
        "31",
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("1 to 30 seconds"), "{}", run.stderr);

    let run = airlock(&[
        "admission",
        "--format",
        "kyverno",
        "--policy",
        &policy,
        "--lock",
        &lock,
        "--mapping",
        "/nonexistent/mapping.json",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("--mapping /nonexistent/mapping.json"),
        "{}",
        run.stderr
    );

    let run = airlock(&[
        "admission",
        "--format",
        "gatekeeper",
        "--policy",
        &policy,
        "--lock",
        &lock,
    ]);
    assert_eq!(run.code, 2);
}

// ---------------------------------------------------------------------------------------------
// Independent check with Python jsonschema (required: scripts/test.sh installs it)

#[test]
fn python_jsonschema_agrees() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import jsonschema, yaml"])
        .output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "this test needs python3 with the jsonschema and yaml modules (scripts/test.sh installs \
         them: python3 -m pip install jsonschema pyyaml); a missing tool fails the suite"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, run) in [
        ("k.yaml", generate("kyverno", &[])),
        ("p.yaml", generate("policy-controller", &[])),
        ("kg.yaml", generate("kyverno", &["--gate-key", &gate_key()])),
        (
            "pg.yaml",
            generate("policy-controller", &["--gate-key", &gate_key()]),
        ),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, run.stdout).unwrap();
        files.push(p.display().to_string());
    }
    let script = r#"
import sys, yaml, jsonschema
crds = sys.argv[1]
schemas = {}
for rel in ["kyverno/config/crds/kyverno/kyverno.io_clusterpolicies.yaml",
            "policy-controller/config/300-clusterimagepolicy.yaml",
            "policy-controller/config/300-trustroot.yaml"]:
    crd = yaml.safe_load(open(crds + "/" + rel))
    for v in crd["spec"]["versions"]:
        schemas[(crd["spec"]["group"] + "/" + v["name"], crd["spec"]["names"]["kind"])] = v["schema"]["openAPIV3Schema"]
def strict(n):
    if isinstance(n, dict):
        if "properties" in n and not n.get("x-kubernetes-preserve-unknown-fields") and "additionalProperties" not in n:
            n["additionalProperties"] = False
        for v in n.values():
            strict(v)
    elif isinstance(n, list):
        for v in n:
            strict(v)
bad = 0
for f in sys.argv[2:]:
    for doc in yaml.safe_load_all(open(f)):
        if not doc or doc["kind"] == "ConfigMap":
            continue
        s = schemas[(doc["apiVersion"], doc["kind"])]
        s = dict(s); strict(s)
        props = s.setdefault("properties", {})
        for k in ("apiVersion", "kind", "metadata"):
            props.setdefault(k, {})
        for e in jsonschema.Draft7Validator(s).iter_errors(doc):
            bad += 1
            print(f, doc["kind"], list(e.absolute_path), e.message)
print("checked")
sys.exit(1 if bad else 0)
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(root().join("testdata/crds"))
        .args(&files)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("checked"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// Kyverno ImageValidatingPolicy (`--format kyverno-ivpol`)

/// Every `sha256:<hex>` in the specs' image matching and validations (not annotations).
fn ivpol_digests(docs: &[Value]) -> BTreeSet<String> {
    let re = regex::Regex::new("sha256:[0-9a-f]{64}").unwrap();
    let mut out = BTreeSet::new();
    for d in docs {
        for g in d["spec"]["matchImageReferences"].as_array().unwrap() {
            for m in re.find_iter(g["glob"].as_str().unwrap()) {
                out.insert(m.as_str().to_string());
            }
        }
        for v in d["spec"]["validations"].as_array().unwrap() {
            for m in re.find_iter(v["expression"].as_str().unwrap()) {
                out.insert(m.as_str().to_string());
            }
        }
    }
    out
}

/// The lock's digests that are admitted: with the policy all but `ghcr.io/other/tool` (no rule,
/// `unmatched: deny`); in gate mode (no policy) all of them.
fn admitted_lock_digests(gate: bool) -> BTreeSet<String> {
    let lock = Lock::parse(&std::fs::read(data("bundle/airlock.lock.json")).unwrap()).unwrap();
    lock.images
        .iter()
        .filter(|i| gate || !i.r#ref.starts_with("ghcr.io/other/"))
        .map(|i| i.digest.to_string())
        .collect()
}

fn python_strict_validate(files: &[String]) {
    let script = r#"
import sys, yaml, jsonschema
crd = yaml.safe_load(open(sys.argv[1]))
schemas = {}
for v in crd["spec"]["versions"]:
    schemas[(crd["spec"]["group"] + "/" + v["name"], crd["spec"]["names"]["kind"])] = v["schema"]["openAPIV3Schema"]
def strict(n):
    if isinstance(n, dict):
        if "properties" in n and not n.get("x-kubernetes-preserve-unknown-fields") and "additionalProperties" not in n:
            n["additionalProperties"] = False
        for v in n.values():
            strict(v)
    elif isinstance(n, list):
        for v in n:
            strict(v)
bad = 0
count = 0
for f in sys.argv[2:]:
    for doc in yaml.safe_load_all(open(f)):
        if not doc:
            continue
        s = schemas[(doc["apiVersion"], doc["kind"])]
        strict(s)
        props = s.setdefault("properties", {})
        for k in ("apiVersion", "kind", "metadata"):
            props.setdefault(k, {})
        count += 1
        for e in jsonschema.Draft7Validator(s).iter_errors(doc):
            bad += 1
            print(f, doc["kind"], list(e.absolute_path), e.message)
print("checked", count)
sys.exit(1 if bad or not count else 0)
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(root().join(
            "testdata/crds/kyverno/config/crds/policies.kyverno.io/policies.kyverno.io_imagevalidatingpolicies.yaml",
        ))
        .args(files)
        .output()
        .expect("python3 with jsonschema and yaml (scripts/test.sh installs them) is required");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("checked"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn kyverno_ivpol_output_validates_against_the_crd_and_admits_exactly_the_passed_digests() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, extra) in [
        ("ivpol.yaml", vec![]),
        (
            "ivpol-gate.yaml",
            vec!["--gate-key".to_string(), gate_key()],
        ),
    ] {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let run = generate("kyverno-ivpol", &extra);
        let docs = documents(&run.stdout);
        assert!(docs.len() >= 2, "{name}: {}", run.stdout);
        for d in &docs {
            assert_eq!(d["apiVersion"], "policies.kyverno.io/v1", "{name}");
            assert_eq!(d["kind"], "ImageValidatingPolicy", "{name}");
            assert_eq!(d["spec"]["validationActions"], serde_json::json!(["Deny"]));
            assert_eq!(d["spec"]["failurePolicy"], "Fail");
        }
        let errors = validate_documents(&docs);
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        assert_eq!(
            ivpol_digests(&docs),
            admitted_lock_digests(!extra.is_empty()),
            "{name}"
        );
        let p = dir.path().join(name);
        std::fs::write(&p, &run.stdout).unwrap();
        files.push(p.display().to_string());
    }
    // An independent validator: python jsonschema with unknown fields rejected.
    python_strict_validate(&files);
}

#[test]
fn kyverno_ivpol_verifies_with_the_policy_keys_and_in_gate_mode_with_the_gate_key_only() {
    let run = generate("kyverno-ivpol", &[]);
    let docs = documents(&run.stdout);
    let release = std::fs::read_to_string(data("keys/release.pub")).unwrap();
    let keys: Vec<String> = docs
        .iter()
        .flat_map(|d| d["spec"]["attestors"].as_array().unwrap().clone())
        .filter_map(|a| a["cosign"]["key"]["data"].as_str().map(str::to_string))
        .collect();
    assert!(
        keys.iter().any(|k| pem_key(k) == pem_key(&release)),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains("verifyImageSignatures(image, [attestors."));
    assert!(run
        .stdout
        .contains("verifyAttestationSignatures(image, attestations.attestation_1"));
    assert!(run.stdout.contains("https://slsa.dev/provenance/v1"));

    let gate = generate("kyverno-ivpol", &["--gate-key", &gate_key()]);
    let docs = documents(&gate.stdout);
    let gate_pem = std::fs::read_to_string(gate_key()).unwrap();
    let keys: Vec<String> = docs
        .iter()
        .flat_map(|d| d["spec"]["attestors"].as_array().unwrap().clone())
        .filter_map(|a| a["cosign"]["key"]["data"].as_str().map(str::to_string))
        .collect();
    assert_eq!(keys.len(), 1, "{}", gate.stdout);
    assert_eq!(pem_key(&keys[0]), pem_key(&gate_pem));
    assert!(gate
        .stdout
        .contains("https://slsa.dev/verification_summary/v1"));
    assert!(gate.stdout.contains("verificationResult == 'PASSED'"));
}

#[test]
fn admission_leaves_out_images_whose_mapping_verdict_is_not_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let lock = data("bundle/airlock.lock.json");
    let mut m: Value =
        serde_json::from_slice(&std::fs::read(data("bundle/airlock.mapping.json")).unwrap())
            .unwrap();
    let dropped = m["images"][0]["digest"].as_str().unwrap().to_string();
    m["images"].as_array_mut().unwrap().remove(0);
    let mapping = tmp.path().join("mapping.json");
    std::fs::write(&mapping, serde_json::to_vec(&m).unwrap()).unwrap();
    for format in ["kyverno", "policy-controller"] {
        let run = airlock(&[
            "admission",
            "--format",
            format,
            "--lock",
            &lock,
            "--policy",
            &data("policy.yaml"),
            "--mapping",
            mapping.to_str().unwrap(),
        ]);
        assert_eq!(run.code, 0, "{format}: {}", run.stderr);
        assert!(!run.stdout.contains(&dropped), "{format}: {}", run.stdout);
        assert!(run.stderr.contains("did not pass"), "{}", run.stderr);
    }
}

#[test]
fn admission_without_a_verdict_source_is_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let lock = tmp.path().join("airlock.lock.json");
    std::fs::copy(data("bundle/airlock.lock.json"), &lock).unwrap();
    let run = airlock(&[
        "admission",
        "--format",
        "kyverno",
        "--lock",
        lock.to_str().unwrap(),
        "--policy",
        &data("policy.yaml"),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--no-verify"), "{}", run.stderr);
}

#[test]
fn kyverno_output_checks_the_provenance_builder_and_source_as_attestation_conditions() {
    let dir = tempfile::tempdir().unwrap();
    let keys = root().join("testdata/admission/keys");
    let policy = dir.path().join("policy.yaml");
    std::fs::write(
        &policy,
        format!(
            "apiVersion: airlock/v1\nkind: Policy\nkeys:\n  release: {}\n  ci: {}\nrules:\n  - match: [\"quay.io/minio/aistor/**\"]\n    signatures:\n      keys: [release]\n    provenance:\n      signers: {{keys: [ci]}}\n      builderIds: [\"https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v*\"]\n      sourceRepos: [\"git+https://github.com/minio/aistor.git\"]\n    vulnerabilities:\n      signers: {{keys: [ci]}}\n      maxSeverity: high\n  - match: [\"**\"]\n    signatures: none\n",
            keys.join("release.pub").display(),
            keys.join("ci.pub").display()
        ),
    )
    .unwrap();
    let lock = data("bundle/airlock.lock.json");
    let run = airlock(&[
        "admission",
        "--no-verify",
        "--format",
        "kyverno",
        "--lock",
        &lock,
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let docs = documents(&run.stdout);
    let errors = validate_documents(&docs);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let rules = docs[0]["spec"]["rules"].as_array().unwrap();
    let att = rules
        .iter()
        .flat_map(|r| r["verifyImages"].as_array().into_iter().flatten())
        .flat_map(|v| v["attestations"].as_array().into_iter().flatten())
        .find(|a| a["type"] == "https://slsa.dev/provenance/v1")
        .expect("a provenance attestation entry");
    let all = &att["conditions"][0]["all"];
    assert_eq!(all[0]["key"], "{{ runDetails.builder.id }}");
    assert_eq!(all[0]["operator"], "AnyIn");
    assert_eq!(
        all[0]["value"][0],
        "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v*"
    );
    assert_eq!(
        all[1]["key"],
        "{{ buildDefinition.externalParameters.workflow.repository }}"
    );
    assert_eq!(all[1]["value"][0], "https://github.com/minio/aistor");
    let ci = std::fs::read_to_string(keys.join("ci.pub")).unwrap();
    assert_eq!(
        att["attestors"][0]["entries"][0]["keys"]["publicKeys"]
            .as_str()
            .unwrap(),
        ci
    );
}

#[test]
fn controller_is_an_alias_of_format_and_gives_the_same_bytes() {
    let policy = data("policy.yaml");
    let lock = data("bundle/airlock.lock.json");
    for format in ["kyverno", "kyverno-ivpol", "policy-controller"] {
        let by_format = generate(format, &[]);
        let by_controller = airlock(&[
            "admission",
            "--controller",
            format,
            "--lock",
            &lock,
            "--policy",
            &policy,
        ]);
        assert_eq!(by_controller.code, 0, "{format}: {}", by_controller.stderr);
        assert_eq!(by_controller.stdout, by_format.stdout, "{format}");
    }
}

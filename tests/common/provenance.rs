//! Generators for what a build pipeline attests about an image: SLSA provenance (v0.2 and v1,
//! GitHub-generator style and resolvedDependencies style), cosign vulnerability predicates with
//! Trivy and Grype results, OpenVEX documents, and SPDX/CycloneDX SBOMs listing purls.
//!
//! Everything is deterministic JSON shaped like the real tools' output (field names from
//! slsa-github-generator, `cosign attest --type vuln`, `trivy image -f json`, `grype -o json`,
//! `vexctl`, syft), signed by the caller's keys through [`super::fixtures`].
use serde_json::{json, Value};

use super::content::digest_hex;
use super::fixtures::*;

/// cosign's vulnerability predicate type.
pub const VULN_PREDICATE: &str = "https://cosign.sigstore.dev/attestation/vuln/v1";
/// OpenVEX predicate type (`vexctl attest`).
pub const OPENVEX_PREDICATE: &str = "https://openvex.dev/ns/v0.2.0";
/// The builder id slsa-github-generator's container workflow writes.
pub const GITHUB_GENERATOR: &str = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1.9.0";

/// SLSA v1 provenance as GitHub's build type writes it: source and ref in
/// `externalParameters.workflow`.
pub fn slsa_v1_github(
    subject_name: &str,
    subject: &str,
    builder: &str,
    repo: &str,
    r#ref: &str,
) -> Vec<u8> {
    intoto_statement(
        STATEMENT_V1,
        subject_name,
        subject,
        SLSA_PROVENANCE_V1,
        json!({
            "buildDefinition": {
                "buildType": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
                "externalParameters": {"workflow": {"ref": r#ref, "repository": repo, "path": ".github/workflows/release.yml"}},
                "internalParameters": {"github": {"event_name": "push", "repository_id": "1", "repository_owner_id": "2"}},
                "resolvedDependencies": [{"uri": format!("git+{repo}@{}", r#ref), "digest": {"gitCommit": "0123456789abcdef0123456789abcdef01234567"}}]
            },
            "runDetails": {
                "builder": {"id": builder},
                "metadata": {"invocationId": format!("{repo}/actions/runs/1/attempts/1")}
            }
        }),
    )
}

/// SLSA v1 provenance from another build system: source and ref only in
/// `resolvedDependencies` (`git+URL@REF`).
pub fn slsa_v1_resolved(
    subject_name: &str,
    subject: &str,
    builder: &str,
    repo: &str,
    r#ref: &str,
) -> Vec<u8> {
    intoto_statement(
        STATEMENT_V1,
        subject_name,
        subject,
        SLSA_PROVENANCE_V1,
        json!({
            "buildDefinition": {
                "buildType": "https://tekton.dev/chains/v2/slsa",
                "externalParameters": {"runSpec": {"pipelineRef": {"name": "build"}}},
                "resolvedDependencies": [
                    {"uri": "oci://gcr.io/tekton-releases/git-init", "digest": {"sha256": "00".repeat(32)}},
                    {"uri": format!("git+{repo}.git@{}", r#ref), "digest": {"sha1": "0123456789abcdef0123456789abcdef01234567"}}
                ]
            },
            "runDetails": {"builder": {"id": builder}, "metadata": {"invocationID": "run-1"}}
        }),
    )
}

/// SLSA v0.2 provenance as slsa-github-generator v1 wrote it (`invocation.configSource`).
pub fn slsa_v02_github(
    subject_name: &str,
    subject: &str,
    builder: &str,
    repo: &str,
    r#ref: &str,
) -> Vec<u8> {
    intoto_statement(
        STATEMENT_V01,
        subject_name,
        subject,
        SLSA_PROVENANCE_V02,
        json!({
            "builder": {"id": builder},
            "buildType": "https://github.com/slsa-framework/slsa-github-generator/container@v1",
            "invocation": {
                "configSource": {"uri": format!("git+{repo}@{}", r#ref), "digest": {"sha1": "0123456789abcdef0123456789abcdef01234567"}, "entryPoint": ".github/workflows/release.yml"},
                "parameters": {},
                "environment": {"github_event_name": "push"}
            },
            "metadata": {"buildInvocationID": "1-1", "completeness": {"parameters": true, "environment": false, "materials": false}, "reproducible": false},
            "materials": [{"uri": format!("git+{repo}@{}", r#ref), "digest": {"sha1": "0123456789abcdef0123456789abcdef01234567"}}]
        }),
    )
}

/// One vulnerability for a generated scan: (id, severity word as the scanner writes it, package).
pub type Vuln<'a> = (&'a str, &'a str, &'a str);

fn vuln_predicate(scanner_uri: &str, finished: &str, result: Value) -> Value {
    json!({
        "invocation": {"parameters": null, "uri": "https://ci.example/scan/1", "event_id": "1", "builder.id": "scanner"},
        "scanner": {"uri": scanner_uri, "version": "1.0.0", "db": {"uri": "", "version": "2"}, "result": result},
        "metadata": {"scanStartedOn": finished, "scanFinishedOn": finished}
    })
}

/// `cosign attest --type vuln` over `trivy image -f json` output.
pub fn trivy_statement(
    subject_name: &str,
    subject: &str,
    finished: &str,
    vulns: &[Vuln],
) -> Vec<u8> {
    let list: Vec<Value> = vulns
        .iter()
        .map(|(id, sev, pkg)| {
            json!({"VulnerabilityID": id, "PkgName": pkg, "InstalledVersion": "1.0.0", "FixedVersion": "1.0.1",
                   "Severity": sev.to_ascii_uppercase(), "Title": format!("{id} in {pkg}")})
        })
        .collect();
    let result = json!({
        "SchemaVersion": 2,
        "ArtifactName": subject_name,
        "ArtifactType": "container_image",
        "Results": [{"Target": format!("{subject_name} (alpine 3.19)"), "Class": "os-pkgs", "Type": "alpine", "Vulnerabilities": list}]
    });
    intoto_statement(
        STATEMENT_V01,
        subject_name,
        subject,
        VULN_PREDICATE,
        vuln_predicate("pkg:github/aquasecurity/trivy@v0.50.0", finished, result),
    )
}

/// `cosign attest --type vuln` over `grype -o json` output.
pub fn grype_statement(
    subject_name: &str,
    subject: &str,
    finished: &str,
    vulns: &[Vuln],
) -> Vec<u8> {
    let matches: Vec<Value> = vulns
        .iter()
        .map(|(id, sev, pkg)| {
            json!({"vulnerability": {"id": id, "dataSource": format!("https://nvd.nist.gov/vuln/detail/{id}"), "namespace": "nvd:cpe", "severity": sev},
                   "artifact": {"name": pkg, "version": "1.0.0", "type": "apk", "purl": format!("pkg:apk/alpine/{pkg}@1.0.0")},
                   "matchDetails": []})
        })
        .collect();
    let result = json!({
        "matches": matches,
        "source": {"type": "image", "target": {"userInput": subject_name}},
        "descriptor": {"name": "grype", "version": "0.74.0"}
    });
    intoto_statement(
        STATEMENT_V01,
        subject_name,
        subject,
        VULN_PREDICATE,
        vuln_predicate("pkg:github/anchore/grype@v0.74.0", finished, result),
    )
}

/// An OpenVEX document (as `vexctl attest` wraps it) with one statement about `cve` for the
/// image `digest`, named by a percent-encoded `pkg:oci` purl.
pub fn openvex_statement(subject_name: &str, subject: &str, cve: &str, status: &str) -> Vec<u8> {
    let product = format!("pkg:oci/app@sha256%3A{}", digest_hex(subject));
    intoto_statement(
        STATEMENT_V1,
        subject_name,
        subject,
        OPENVEX_PREDICATE,
        json!({
            "@context": "https://openvex.dev/ns/v0.2.0",
            "@id": format!("https://vex.example/{cve}"),
            "author": "Vendor Security <security@vendor.example>",
            "timestamp": FIXED_TIME,
            "version": 1,
            "statements": [{
                "vulnerability": {"name": cve},
                "products": [{"@id": product}],
                "status": status,
                "justification": "vulnerable_code_not_in_execute_path"
            }]
        }),
    )
}

/// An SPDX 2.3 document whose packages carry purls (`externalRefs`).
pub fn spdx_with_purls(name: &str, purls: &[&str]) -> Value {
    let packages: Vec<Value> = purls
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({"name": format!("pkg{i}"), "SPDXID": format!("SPDXRef-Package-{i}"), "versionInfo": "x",
                   "downloadLocation": "NOASSERTION", "filesAnalyzed": false,
                   "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": p}]})
        })
        .collect();
    json!({
        "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT", "name": name,
        "documentNamespace": format!("https://airlock.test/spdx/{name}"),
        "creationInfo": {"created": FIXED_TIME, "creators": ["Tool: syft-1.0.0"]},
        "packages": packages
    })
}

/// A CycloneDX 1.5 BOM whose components carry purls; the last one is nested inside the first.
pub fn cyclonedx_with_purls(name: &str, purls: &[&str]) -> Value {
    let mut comps: Vec<Value> = purls
        .iter()
        .map(|p| json!({"type": "library", "name": p.rsplit('/').next().unwrap_or(p), "purl": p}))
        .collect();
    if comps.len() > 1 {
        let last = comps.pop().unwrap();
        comps[0]["components"] = json!([last]);
    }
    json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
           "metadata": {"timestamp": FIXED_TIME, "component": {"type": "container", "name": name}},
           "components": comps})
}

/// `(predicate type annotation, DSSE envelope)` for a statement signed by `sign_pae`.
pub fn signed(
    predicate_type: &str,
    statement: &[u8],
    sign_pae: &dyn Fn(&[u8]) -> Vec<u8>,
) -> (String, Vec<u8>) {
    (
        predicate_type.to_string(),
        dsse_envelope(INTOTO_PAYLOAD_TYPE, statement, sign_pae),
    )
}

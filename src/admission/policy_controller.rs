//! Sigstore policy-controller: `TrustRoot`s (`policy.sigstore.dev/v1alpha1`) for keyless
//! identities, one `ClusterImagePolicy` (`policy.sigstore.dev/v1beta1`) per group of
//! repositories, and the `config-policy-controller` ConfigMap with `no-match-policy: deny`.
//!
//! Semantics (formats.md §4.1): authorities inside a CIP are OR, all matching CIPs are AND; an
//! authority with `attestations` checks only attestations. So a rule that needs a signature and
//! attestations gets one authority per signer for the signature, one per signer for each
//! attestation, and a CIP-level CUE policy that requires, for the signature and for each
//! attestation, at least one of its authorities among those that matched (`authorityMatches`
//! holds only the authorities that passed).
//!
//! Air gap: `key` authorities carry the PEM inline and no `ctlog` (tlog skipped); keyless
//! authorities point `keyless.trustRootRef` and `ctlog.trustRootRef` at a `TrustRoot` built from
//! the imported `trusted_root.json` (`spec.sigstoreKeys`), so the Fulcio chain, SCT and Rekor SET
//! are checked against it and nothing is fetched through TUF.
use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use super::trusted_root::{Authority, LogKey, TrustedRoot};
use super::yaml::Node;
use super::{
    documents, hash_algorithm, metadata, AdmissionError, Group, Need, Options, Plan, Signer,
};

pub(super) fn render(
    plan: &Plan<'_>,
    options: &Options,
) -> Result<(String, Vec<String>), AdmissionError> {
    let mut notes = Vec::new();
    let root_names = trust_root_names(plan, options)?;
    let mut docs = Vec::new();
    for (name, root) in &plan.roots {
        let resource = root_names.get(name).cloned().unwrap_or_default();
        docs.push(trust_root(&resource, name, root, plan, &mut notes)?);
    }
    for group in &plan.groups {
        docs.push(cluster_image_policy(group, plan, options, &root_names));
    }
    docs.push(Node::map(vec![
        ("apiVersion", Node::str("v1")),
        ("kind", Node::str("ConfigMap")),
        (
            "metadata",
            metadata(
                "config-policy-controller",
                Some(&options.controller_namespace),
                plan,
            ),
        ),
        (
            "data",
            Node::map(vec![("no-match-policy", Node::str("deny"))]),
        ),
    ]));
    notes.sort();
    notes.dedup();
    Ok((documents(&docs), notes))
}

/// `TrustRoot` resource names: `<name>-<policy's trusted-root name>` in Kubernetes spelling.
fn trust_root_names(
    plan: &Plan<'_>,
    options: &Options,
) -> Result<BTreeMap<String, String>, AdmissionError> {
    let mut out = BTreeMap::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for name in plan.roots.keys() {
        let mut k8s: String = name
            .chars()
            .map(|c| {
                let c = c.to_ascii_lowercase();
                if c.is_ascii_lowercase() || c.is_ascii_digit() {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        k8s = k8s.trim_matches('-').to_string();
        let resource = format!("{}-{}", options.name, k8s);
        if k8s.is_empty() || resource.len() > 253 {
            return Err(AdmissionError::Input(format!(
                "trusted root name {name:?} cannot be turned into a Kubernetes name; rename it \
                 in the policy's trustedRoots: to letters, digits and `-`"
            )));
        }
        if let Some(other) = seen.insert(resource.clone(), name.clone()) {
            return Err(AdmissionError::Input(format!(
                "trusted roots {other:?} and {name:?} both become the TrustRoot {resource:?}; \
                 rename one of them in the policy's trustedRoots:"
            )));
        }
        out.insert(name.clone(), resource);
    }
    Ok(out)
}

fn trust_root(
    resource: &str,
    name: &str,
    root: &TrustedRoot,
    plan: &Plan<'_>,
    notes: &mut Vec<String>,
) -> Result<Node, AdmissionError> {
    if root.certificate_authorities.is_empty() {
        return Err(AdmissionError::Input(format!(
            "trusted root {name:?} has no certificateAuthorities, so keyless signatures cannot \
             be checked; expected the Fulcio CA chains in its trusted_root.json"
        )));
    }
    let tlogs: Vec<&LogKey> = root.tlogs.iter().filter(|t| t.is_ecdsa()).collect();
    if tlogs.is_empty() {
        return Err(AdmissionError::Input(format!(
            "trusted root {name:?} has no ECDSA Rekor key; policy-controller accepts only ECDSA \
             Rekor keys in a TrustRoot, and keyless signatures need one to check the Rekor SET \
             offline"
        )));
    }
    if tlogs.len() < root.tlogs.len() {
        notes.push(format!(
            "trusted root {name:?}: {} Rekor key(s) that are not ECDSA (e.g. Rekor v2 Ed25519) \
             are left out of TrustRoot {resource:?}, because policy-controller refuses them",
            root.tlogs.len() - tlogs.len()
        ));
    }
    let authority = |a: &Authority| {
        Node::map(vec![
            (
                "subject",
                Node::map(vec![
                    ("organization", Node::str(&a.organization)),
                    ("commonName", Node::str(&a.common_name)),
                ]),
            ),
            ("uri", Node::str(&a.uri)),
            ("certChain", Node::str(BASE64.encode(a.chain_pem()))),
        ])
    };
    let log = |l: &LogKey| {
        Node::map(vec![
            ("baseURL", Node::str(&l.base_url)),
            ("hashAlgorithm", Node::str(&l.hash_algorithm)),
            ("publicKey", Node::str(BASE64.encode(l.pem()))),
        ])
    };
    let mut keys = vec![(
        "certificateAuthorities",
        Node::Seq(root.certificate_authorities.iter().map(authority).collect()),
    )];
    keys.push(("tLogs", Node::Seq(tlogs.into_iter().map(log).collect())));
    if !root.ctlogs.is_empty() {
        keys.push(("ctLogs", Node::Seq(root.ctlogs.iter().map(log).collect())));
    }
    if !root.timestamp_authorities.is_empty() {
        keys.push((
            "timestampAuthorities",
            Node::Seq(root.timestamp_authorities.iter().map(authority).collect()),
        ));
    }
    Ok(Node::map(vec![
        ("apiVersion", Node::str("policy.sigstore.dev/v1alpha1")),
        ("kind", Node::str("TrustRoot")),
        ("metadata", metadata(resource, None, plan)),
        ("spec", Node::map(vec![("sigstoreKeys", Node::map(keys))])),
    ]))
}

/// The glob for a repository, in policy-controller's resolved form (`index.docker.io` for
/// Docker Hub), matching any digest of that repository and nothing else.
fn glob(repo: &str) -> String {
    match repo.strip_prefix("docker.io/") {
        Some(rest) => format!("index.docker.io/{rest}@*"),
        None => format!("{repo}@*"),
    }
}

fn cluster_image_policy(
    group: &Group<'_>,
    plan: &Plan<'_>,
    options: &Options,
    root_names: &BTreeMap<String, String>,
) -> Node {
    let mut globs: Vec<String> = group.repositories.iter().map(|r| glob(r)).collect();
    globs.sort();
    globs.dedup();
    let images = Node::Seq(
        globs
            .into_iter()
            .map(|g| Node::map(vec![("glob", Node::str(g))]))
            .collect(),
    );
    let mut spec = vec![("mode", Node::str("enforce")), ("images", images)];
    match &group.need {
        Need::Unsigned => {
            spec.push((
                "authorities",
                Node::Seq(vec![Node::map(vec![
                    ("name", Node::str("unsigned-by-policy")),
                    (
                        "static",
                        Node::map(vec![
                            ("action", Node::str("pass")),
                            (
                                "message",
                                Node::str(format!(
                                    "{}: no signature required; admitted by repository and \
                                     digest",
                                    group.title
                                )),
                            ),
                        ]),
                    ),
                ])]),
            ));
        }
        Need::Verify {
            signatures,
            attestations,
            ..
        } => {
            let mut authorities = Vec::new();
            // (requirement name, authority names): each requirement needs one of its authorities.
            let mut requirements: Vec<(String, Vec<String>)> = Vec::new();
            if !signatures.is_empty() {
                let mut names = Vec::new();
                for s in signatures {
                    let name = format!("signature-{}", s.slug());
                    authorities.push(authority(&name, s, None, root_names));
                    names.push(name);
                }
                requirements.push(("airlockSignature".to_string(), names));
            }
            for a in attestations {
                let mut names = Vec::new();
                for s in &a.signers {
                    let name = format!("attestation-{}-{}", a.index, s.slug());
                    let mut att = vec![
                        ("name", Node::str(format!("attestation-{}", a.index))),
                        ("predicateType", Node::str(&a.predicate_type)),
                    ];
                    if a.require_passed {
                        att.push((
                            "policy",
                            Node::map(vec![
                                ("type", Node::str("cue")),
                                (
                                    "data",
                                    Node::str(format!(
                                        "predicateType: \"{}\"\npredicate: verificationResult: \
                                         \"PASSED\"\n",
                                        a.predicate_type
                                    )),
                                ),
                            ]),
                        ));
                    }
                    authorities.push(authority(&name, s, Some(Node::map(att)), root_names));
                    names.push(name);
                }
                requirements.push((format!("airlockAttestation{}", a.index), names));
            }
            spec.push(("authorities", Node::Seq(authorities)));
            if requirements.len() > 1 {
                spec.push((
                    "policy",
                    Node::map(vec![
                        ("type", Node::str("cue")),
                        ("data", Node::str(cue_policy(&requirements))),
                    ]),
                ));
            }
        }
    }
    Node::map(vec![
        ("apiVersion", Node::str("policy.sigstore.dev/v1beta1")),
        ("kind", Node::str("ClusterImagePolicy")),
        (
            "metadata",
            metadata(&format!("{}-{}", options.name, group.id), None, plan),
        ),
        ("spec", Node::map(spec)),
    ])
}

fn authority(
    name: &str,
    signer: &Signer<'_>,
    attestation: Option<Node>,
    root_names: &BTreeMap<String, String>,
) -> Node {
    let mut pairs = vec![("name", Node::str(name))];
    match signer {
        Signer::Key { key, .. } => {
            // No `ctlog`: policy-controller then skips the transparency log for this key.
            pairs.push((
                "key",
                Node::map(vec![
                    ("data", Node::str(key.to_pem())),
                    ("hashAlgorithm", Node::str(hash_algorithm(key))),
                ]),
            ));
        }
        Signer::Keyless {
            identity,
            root_name,
            root,
            ..
        } => {
            let trust_root = root_names.get(root_name).cloned().unwrap_or_default();
            let mut id = Vec::new();
            if let Some(i) = &identity.issuer {
                id.push(("issuer", Node::str(i)));
            }
            if let Some(r) = &identity.issuer_regexp {
                id.push(("issuerRegExp", Node::str(r)));
            }
            if let Some(s) = &identity.subject {
                id.push(("subject", Node::str(s)));
            }
            if let Some(r) = &identity.subject_regexp {
                id.push(("subjectRegExp", Node::str(r)));
            }
            // `url` is required by policy-controller's validation (one of url and ca-cert); with
            // a trustRootRef the CA chain comes from the TrustRoot and Fulcio is never called.
            let url = root
                .certificate_authorities
                .first()
                .map(|a| a.uri.clone())
                .unwrap_or_default();
            pairs.push((
                "keyless",
                Node::map(vec![
                    ("url", Node::str(url)),
                    ("trustRootRef", Node::str(&trust_root)),
                    ("identities", Node::Seq(vec![Node::map(id)])),
                ]),
            ));
            pairs.push((
                "ctlog",
                Node::map(vec![("trustRootRef", Node::str(&trust_root))]),
            ));
        }
    }
    if let Some(att) = attestation {
        pairs.push(("attestations", Node::Seq(vec![att])));
    }
    Node::map(pairs)
}

/// CIP-level CUE: for every requirement, at least one of its authorities passed.
///
/// `authorityMatches` holds only the authorities that passed, so presence is tested with a
/// comprehension over its keys (an absent authority counts as "not passed", and the comparison
/// is concrete). The checks sit behind `if len(_airlockMatched) > 0`: the policy text is compiled
/// on its own before it is unified with the result (cosign's `evaluateCue`), and there
/// `authorityMatches` is empty; the guard keeps that first evaluation free of conflicts, and
/// policy-controller only evaluates the policy when at least one authority matched. Checked
/// with CUE against results with and without each authority (docs/admission.md).
fn cue_policy(requirements: &[(String, Vec<String>)]) -> String {
    let mut out = String::from(
        "// airlock: each requirement below needs at least one of its authorities to pass.\n\
         authorityMatches: {...}\n\
         _airlockMatched: [for authority, result in authorityMatches {authority}]\n\
         if len(_airlockMatched) > 0 {\n",
    );
    for (field, names) in requirements {
        let condition = names
            .iter()
            .map(|n| format!("a == \"{n}\""))
            .collect::<Vec<_>>()
            .join(" || ");
        out.push_str(&format!(
            "  {field}: len([for a in _airlockMatched if {condition} {{a}}]) > 0\n  \
             {field}: true\n"
        ));
    }
    out.push_str("}\n");
    out
}

//! Kyverno `ClusterPolicy` (`kyverno.io/v1`).
//!
//! One policy with, per group of repositories (a policy rule, or the gate), a rule whose
//! `verifyImages` holds one entry for the signature and one entry per required attestation
//! (Kyverno verifies signatures or attestations in one entry, not both), and a last rule that
//! refuses any image outside the admitted repositories or not pulled by digest.
//!
//! Air-gap settings (formats.md §4.2): keys inline with `rekor.ignoreTlog` and `ctlog.ignoreSCT`
//! (a key signature needs no log); keyless identities with the Fulcio roots, Rekor key and CT key
//! of the imported trusted root, so the Rekor SET and the SCT are checked offline (Kyverno's
//! `rekor.url` is required by its validation; with the bundle in the signature it is not called).
use regex::escape;

use super::yaml::Node;
use super::{
    documents, hash_algorithm, metadata, AdmissionError, Group, Need, Options, Plan, Signer,
};

/// Kyverno requires a Rekor URL next to `ignoreTlog: true`; it is never contacted.
const UNUSED_REKOR_URL: &str = "https://rekor.sigstore.dev";

pub(super) fn render(
    plan: &Plan<'_>,
    options: &Options,
) -> Result<(String, Vec<String>), AdmissionError> {
    let mut notes = Vec::new();
    let mut rules = Vec::new();
    for group in &plan.groups {
        if let Some(rule) = verify_rule(group, &mut notes)? {
            rules.push(rule);
        }
    }
    rules.push(allow_list_rule(plan));
    let timeout = i64::from(options.webhook_timeout_seconds);
    let policy = Node::map(vec![
        ("apiVersion", Node::str("kyverno.io/v1")),
        ("kind", Node::str("ClusterPolicy")),
        ("metadata", metadata(&options.name, None, plan)),
        (
            "spec",
            Node::map(vec![
                ("admission", Node::Bool(true)),
                ("background", Node::Bool(false)),
                // The spec-level fields are deprecated since Kyverno 1.13 but are what 1.10 to
                // 1.12 read; `webhookConfiguration` wins where both are known.
                ("failurePolicy", Node::str("Fail")),
                ("validationFailureAction", Node::str("Enforce")),
                ("webhookTimeoutSeconds", Node::Int(timeout)),
                (
                    "webhookConfiguration",
                    Node::map(vec![
                        ("failurePolicy", Node::str("Fail")),
                        ("timeoutSeconds", Node::Int(timeout)),
                    ]),
                ),
                ("rules", Node::Seq(rules)),
            ]),
        ),
    ]);
    notes.sort();
    notes.dedup();
    Ok((documents(&[policy]), notes))
}

fn match_pods() -> Node {
    Node::map(vec![(
        "any",
        Node::Seq(vec![Node::map(vec![(
            "resources",
            Node::map(vec![("kinds", Node::strs(["Pod"]))]),
        )])]),
    )])
}

/// Name forms Kyverno may use for `repo` when it normalises an image (`docker.io/library/x` is
/// also written `docker.io/x`).
fn name_forms(repo: &str) -> Vec<String> {
    let mut forms = vec![repo.to_string()];
    if let Some(rest) = repo.strip_prefix("docker.io/library/") {
        forms.push(format!("docker.io/{rest}"));
    }
    forms
}

/// `imageReferences`: the repository with any tag or any digest, never a sibling repository.
fn image_references(group: &Group<'_>) -> Node {
    let mut refs = Vec::new();
    for repo in &group.repositories {
        for form in name_forms(repo) {
            refs.push(format!("{form}:*"));
            refs.push(format!("{form}@*"));
        }
    }
    refs.sort();
    refs.dedup();
    Node::strs(refs)
}

fn verify_rule(group: &Group<'_>, notes: &mut Vec<String>) -> Result<Option<Node>, AdmissionError> {
    let Need::Verify {
        signatures,
        annotations,
        attestations,
    } = &group.need
    else {
        return Ok(None);
    };
    let mut entries = Vec::new();
    if !signatures.is_empty() {
        let mut list = Vec::new();
        for s in signatures {
            list.extend(entries_for(s, annotations, notes)?);
        }
        entries.push(verify_entry(
            group,
            "attestors",
            Node::Seq(vec![attestor_set(list)]),
        ));
    }
    for a in attestations {
        let mut list = Vec::new();
        for s in &a.signers {
            list.extend(entries_for(s, &Default::default(), notes)?);
        }
        let mut att = vec![
            ("name", Node::str(format!("attestation-{}", a.index))),
            ("type", Node::str(&a.predicate_type)),
            ("attestors", Node::Seq(vec![attestor_set(list)])),
        ];
        if !a.conditions.is_empty() {
            let all: Vec<Node> = a
                .conditions
                .iter()
                .map(|(path, patterns, what)| {
                    Node::map(vec![
                        ("key", Node::str(format!("{{{{ {path} }}}}"))),
                        ("operator", Node::str("AnyIn")),
                        ("value", Node::strs(patterns.clone())),
                        (
                            "message",
                            Node::str(format!(
                                "the provenance's {what} is not one the policy allows"
                            )),
                        ),
                    ])
                })
                .collect();
            att.push((
                "conditions",
                Node::Seq(vec![Node::map(vec![("all", Node::Seq(all))])]),
            ));
        }
        if a.require_passed {
            att.push((
                "conditions",
                Node::Seq(vec![Node::map(vec![(
                    "all",
                    Node::Seq(vec![Node::map(vec![
                        ("key", Node::str("{{ verificationResult }}")),
                        ("operator", Node::str("Equals")),
                        ("value", Node::str("PASSED")),
                        (
                            "message",
                            Node::str("the gate's verification summary must say PASSED"),
                        ),
                    ])]),
                )])]),
            ));
        }
        entries.push(verify_entry(
            group,
            "attestations",
            Node::Seq(vec![Node::map(att)]),
        ));
    }
    Ok(Some(Node::map(vec![
        ("name", Node::str(format!("verify-{}", group.id))),
        ("match", match_pods()),
        ("verifyImages", Node::Seq(entries)),
    ])))
}

/// One `verifyImages` entry: signatures (`attestors`) or attestations (`attestations`).
fn verify_entry(group: &Group<'_>, field: &str, value: Node) -> Node {
    Node::map(vec![
        ("imageReferences", image_references(group)),
        ("type", Node::str("Cosign")),
        ("failureAction", Node::str("Enforce")),
        ("mutateDigest", Node::Bool(true)),
        ("verifyDigest", Node::Bool(true)),
        ("required", Node::Bool(true)),
        (field, value),
    ])
}

/// Any one entry suffices.
fn attestor_set(entries: Vec<Node>) -> Node {
    Node::map(vec![
        ("count", Node::Int(1)),
        ("entries", Node::Seq(entries)),
    ])
}

/// Attestor entries for one signer (keyless: one per usable Rekor key and CT key pair, since
/// Kyverno takes one key of each per entry).
fn entries_for(
    signer: &Signer<'_>,
    annotations: &std::collections::BTreeMap<String, String>,
    notes: &mut Vec<String>,
) -> Result<Vec<Node>, AdmissionError> {
    let with_annotations = |mut pairs: Vec<(&str, Node)>| {
        if !annotations.is_empty() {
            pairs.push((
                "annotations",
                Node::Map(
                    annotations
                        .iter()
                        .map(|(k, v)| (k.clone(), Node::str(v)))
                        .collect(),
                ),
            ));
        }
        Node::map(pairs)
    };
    match signer {
        Signer::Key { key, .. } => Ok(vec![with_annotations(vec![(
            "keys",
            Node::map(vec![
                ("publicKeys", Node::str(key.to_pem())),
                ("signatureAlgorithm", Node::str(hash_algorithm(key))),
                (
                    "rekor",
                    Node::map(vec![
                        ("ignoreTlog", Node::Bool(true)),
                        ("url", Node::str(UNUSED_REKOR_URL)),
                    ]),
                ),
                ("ctlog", Node::map(vec![("ignoreSCT", Node::Bool(true))])),
            ]),
        )])]),
        Signer::Keyless {
            identity,
            root_name,
            root,
            ..
        } => {
            if root.certificate_authorities.is_empty() {
                return Err(AdmissionError::Input(format!(
                    "trusted root {root_name:?} has no certificateAuthorities, so keyless \
                     signatures cannot be checked; expected the Fulcio CA chains in its \
                     trusted_root.json"
                )));
            }
            let rekor: Vec<_> = root.tlogs.iter().filter(|t| t.is_ecdsa()).collect();
            if rekor.is_empty() {
                return Err(AdmissionError::Input(format!(
                    "trusted root {root_name:?} has no ECDSA Rekor key, so Kyverno cannot check \
                     keyless signatures offline; expected a tlogs entry with an ECDSA key"
                )));
            }
            if rekor.len() < root.tlogs.len() {
                notes.push(format!(
                    "trusted root {root_name:?}: Kyverno checks legacy cosign signatures against \
                     ECDSA Rekor keys only; the other Rekor keys are left out"
                ));
            }
            let mut ids = Vec::new();
            match (&identity.issuer, &identity.issuer_regexp) {
                (Some(i), _) if !has_wildcard(i) => ids.push(("issuer", Node::str(i))),
                (Some(i), _) => ids.push(("issuerRegExp", Node::str(anchored(i)))),
                (None, Some(r)) => ids.push(("issuerRegExp", Node::str(r))),
                (None, None) => {}
            }
            match (&identity.subject, &identity.subject_regexp) {
                (Some(s), _) if !has_wildcard(s) => ids.push(("subject", Node::str(s))),
                (Some(s), _) => ids.push(("subjectRegExp", Node::str(anchored(s)))),
                (None, Some(r)) => ids.push(("subjectRegExp", Node::str(r))),
                (None, None) => {}
            }
            let ct: Vec<Node> = if identity.ignore_sct {
                vec![Node::map(vec![("ignoreSCT", Node::Bool(true))])]
            } else if root.ctlogs.is_empty() {
                notes.push(format!(
                    "trusted root {root_name:?} has no CT log keys; Kyverno is told to skip \
                     the certificate's SCT (ctlog.ignoreSCT)"
                ));
                vec![Node::map(vec![("ignoreSCT", Node::Bool(true))])]
            } else {
                root.ctlogs
                    .iter()
                    .map(|c| Node::map(vec![("pubkey", Node::str(c.pem()))]))
                    .collect()
            };
            let mut out = Vec::new();
            for t in &rekor {
                for c in &ct {
                    let mut pairs = ids.clone();
                    pairs.push(("roots", Node::str(root.ca_pem())));
                    pairs.push((
                        "rekor",
                        Node::map(vec![
                            ("pubkey", Node::str(t.pem())),
                            ("url", Node::str(&t.base_url)),
                        ]),
                    ));
                    pairs.push(("ctlog", c.clone()));
                    out.push(with_annotations(vec![("keyless", Node::map(pairs))]));
                }
            }
            Ok(out)
        }
    }
}

/// Kyverno matches `issuer`/`subject` as wildcards (`*`, `?`); an exact value with those
/// characters is passed as an anchored regular expression instead.
fn has_wildcard(s: &str) -> bool {
    s.contains('*') || s.contains('?')
}

fn anchored(s: &str) -> String {
    format!("^{}$", escape(s))
}

/// The last rule: every container image is one of the admitted repositories, by digest.
fn allow_list_rule(plan: &Plan<'_>) -> Node {
    let mut alternatives = Vec::new();
    for group in &plan.groups {
        for repo in &group.repositories {
            for form in super::kyverno::name_forms(repo) {
                alternatives.push(format!("{form}@sha256:*"));
                alternatives.push(format!("{form}:*@sha256:*"));
            }
        }
    }
    alternatives.sort();
    alternatives.dedup();
    let allowed = alternatives.join("|");
    let image = || Node::Seq(vec![Node::map(vec![("image", Node::str(&allowed))])]);
    Node::map(vec![
        ("name", Node::str("allow-only-verified-images")),
        ("match", match_pods()),
        (
            "validate",
            Node::map(vec![
                ("failureAction", Node::str("Enforce")),
                (
                    "message",
                    Node::str(
                        "every image must be one that airlock verified and pushed to the \
                         private registry, referenced by digest; run `airlock preflight` on \
                         the manifests to find and rewrite the image references",
                    ),
                ),
                (
                    "pattern",
                    Node::map(vec![(
                        "spec",
                        Node::map(vec![
                            ("=(ephemeralContainers)", image()),
                            ("=(initContainers)", image()),
                            ("containers", image()),
                        ]),
                    )]),
                ),
            ]),
        ),
    ])
}

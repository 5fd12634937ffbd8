//! Kyverno `ImageValidatingPolicy` (`policies.kyverno.io/v1`, CEL based; Kyverno 1.14+).
//!
//! Takes the same plan as the `ClusterPolicy` renderer and writes:
//! - per group of admitted images that needs signatures or attestations (a policy rule, or the
//!   gate), one `ImageValidatingPolicy` whose `matchImageReferences` are exactly the admitted
//!   digests (`REPO@sha256:…` and `REPO:*@sha256:…`), with the group's keys and keyless identities
//!   as `attestors`, the required predicate types as `attestations`, and CEL `validations` calling
//!   `verifyImageSignatures` / `verifyAttestationSignatures` (and, in gate mode, requiring the
//!   verification summary's `verificationResult` to be `PASSED`);
//! - one allow-list `ImageValidatingPolicy` matching every image, whose validation refuses any
//!   container image that is not one of the admitted digests.
//!
//! All with `validationActions: [Deny]` and `failurePolicy: Fail`. Air-gap settings: keys with
//! the transparency log and SCT checks off (a key signature needs no log); keyless identities with
//! the trusted root's Fulcio roots, Rekor key and CT key inline, so nothing is fetched online.
use super::yaml::Node;
use super::{
    documents, hash_algorithm, metadata, AdmissionError, Group, Need, Options, Plan, Signer,
};

/// The container lists Kyverno extracts from a pod (`images.<list>`).
const IMAGE_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

pub(super) fn render(
    plan: &Plan<'_>,
    options: &Options,
) -> Result<(String, Vec<String>), AdmissionError> {
    let mut notes = Vec::new();
    let mut docs = Vec::new();
    for group in &plan.groups {
        if let Some(doc) = verify_policy(plan, group, options, &mut notes)? {
            docs.push(doc);
        }
    }
    docs.push(allow_list_policy(plan, options));
    notes.sort();
    notes.dedup();
    Ok((documents(&docs), notes))
}

/// Name forms Kyverno may use for `repo` (`docker.io/library/x` is also `docker.io/x`).
fn name_forms(repo: &str) -> Vec<String> {
    let mut forms = vec![repo.to_string()];
    if let Some(rest) = repo.strip_prefix("docker.io/library/") {
        forms.push(format!("docker.io/{rest}"));
    }
    forms
}

/// The admitted `repository@digest` pairs of one group, sorted.
fn admitted<'p>(plan: &'p Plan<'_>, group: &Group<'_>) -> Vec<(&'p str, String)> {
    let mut out: Vec<(&str, String)> = plan
        .images
        .iter()
        .filter(|i| group.repositories.contains(&i.repository) && i.requirement == group.title)
        .map(|i| (i.repository.as_str(), i.digest.to_string()))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn globs(pairs: &[(&str, String)]) -> Node {
    let mut refs = Vec::new();
    for (repo, digest) in pairs {
        for form in name_forms(repo) {
            refs.push(format!("{form}@{digest}"));
            refs.push(format!("{form}:*@{digest}"));
        }
    }
    refs.sort();
    refs.dedup();
    Node::Seq(
        refs.into_iter()
            .map(|g| Node::map(vec![("glob", Node::str(g))]))
            .collect(),
    )
}

fn common_spec(options: &Options) -> Vec<(&'static str, Node)> {
    vec![
        ("validationActions", Node::strs(["Deny"])),
        ("failurePolicy", Node::str("Fail")),
        (
            "webhookConfiguration",
            Node::map(vec![(
                "timeoutSeconds",
                Node::Int(i64::from(options.webhook_timeout_seconds)),
            )]),
        ),
        (
            "matchConstraints",
            Node::map(vec![(
                "resourceRules",
                Node::Seq(vec![Node::map(vec![
                    ("apiGroups", Node::strs([""])),
                    ("apiVersions", Node::strs(["v1"])),
                    ("operations", Node::strs(["CREATE", "UPDATE"])),
                    ("resources", Node::strs(["pods"])),
                ])]),
            )]),
        ),
    ]
}

/// `check` (a CEL expression over `image`) holds for every image of every container list.
fn for_all_images(check: &str) -> String {
    IMAGE_LISTS
        .iter()
        .map(|l| format!("(!('{l}' in images) || images.{l}.all(image, {check}))"))
        .collect::<Vec<_>>()
        .join(" && ")
}

/// A CEL identifier for an attestor or attestation name.
fn ident(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn verify_policy(
    plan: &Plan<'_>,
    group: &Group<'_>,
    options: &Options,
    notes: &mut Vec<String>,
) -> Result<Option<Node>, AdmissionError> {
    let Need::Verify {
        signatures,
        annotations,
        attestations,
    } = &group.need
    else {
        return Ok(None);
    };
    // Attestors are shared by name; each signer appears once.
    let mut attestors: Vec<(String, Node)> = Vec::new();
    let mut add = |s: &Signer<'_>,
                   ann: &std::collections::BTreeMap<String, String>,
                   notes: &mut Vec<String>|
     -> Result<Vec<String>, AdmissionError> {
        let mut names = Vec::new();
        for (i, cosign) in cosign_for(s, ann, notes)?.into_iter().enumerate() {
            let base = ident(&s.slug());
            let name = if i == 0 { base } else { format!("{base}_{i}") };
            let name = if ann.is_empty() {
                name
            } else {
                format!("sig_{name}")
            };
            if !attestors.iter().any(|(n, _)| *n == name) {
                attestors.push((name.clone(), cosign));
            }
            names.push(name);
        }
        Ok(names)
    };
    let mut validations = Vec::new();
    if !signatures.is_empty() {
        let mut names = Vec::new();
        for s in signatures {
            names.extend(add(s, annotations, notes)?);
        }
        let list = names
            .iter()
            .map(|n| format!("attestors.{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        validations.push(Node::map(vec![
            (
                "expression",
                Node::str(for_all_images(&format!(
                    "verifyImageSignatures(image, [{list}]) > 0"
                ))),
            ),
            (
                "message",
                Node::str(format!(
                    "{}: every image must carry a signature from one of its signers",
                    group.title
                )),
            ),
        ]));
    }
    let mut atts = Vec::new();
    for a in attestations {
        let att_name = format!("attestation_{}", a.index);
        let mut names = Vec::new();
        for s in &a.signers {
            names.extend(add(s, &Default::default(), notes)?);
        }
        let list = names
            .iter()
            .map(|n| format!("attestors.{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        atts.push(Node::map(vec![
            ("name", Node::str(&att_name)),
            (
                "intoto",
                Node::map(vec![("type", Node::str(&a.predicate_type))]),
            ),
        ]));
        validations.push(Node::map(vec![
            (
                "expression",
                Node::str(for_all_images(&format!(
                    "verifyAttestationSignatures(image, attestations.{att_name}, [{list}]) > 0"
                ))),
            ),
            (
                "message",
                Node::str(format!(
                    "{}: every image must carry a {} attestation from one of its signers",
                    group.title, a.predicate_type
                )),
            ),
        ]));
        if a.require_passed {
            validations.push(Node::map(vec![
                (
                    "expression",
                    Node::str(for_all_images(&format!(
                        "extractPayload(image, attestations.{att_name}).predicate.verificationResult == 'PASSED'"
                    ))),
                ),
                (
                    "message",
                    Node::str("the gate's verification summary must say PASSED"),
                ),
            ]));
        }
    }
    let mut spec = common_spec(options);
    spec.push(("matchImageReferences", globs(&admitted(plan, group))));
    spec.push((
        "validationConfigurations",
        Node::map(vec![
            ("mutateDigest", Node::Bool(false)),
            ("required", Node::Bool(true)),
            ("verifyDigest", Node::Bool(true)),
        ]),
    ));
    spec.push((
        "attestors",
        Node::Seq(
            attestors
                .into_iter()
                .map(|(n, c)| Node::map(vec![("name", Node::str(n)), ("cosign", c)]))
                .collect(),
        ),
    ));
    if !atts.is_empty() {
        spec.push(("attestations", Node::Seq(atts)));
    }
    spec.push(("validations", Node::Seq(validations)));
    Ok(Some(Node::map(vec![
        ("apiVersion", Node::str("policies.kyverno.io/v1")),
        ("kind", Node::str("ImageValidatingPolicy")),
        (
            "metadata",
            metadata(&format!("{}-{}", options.name, group.id), None, plan),
        ),
        ("spec", Node::map(spec)),
    ])))
}

/// The `cosign` attestor bodies for one signer (keyless: one per ECDSA Rekor key and CT key).
fn cosign_for(
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
        Signer::Key { key, .. } => Ok(vec![with_annotations(vec![
            (
                "key",
                Node::map(vec![
                    ("data", Node::str(key.to_pem())),
                    ("hashAlgorithm", Node::str(hash_algorithm(key))),
                ]),
            ),
            (
                "ctlog",
                Node::map(vec![
                    ("insecureIgnoreSCT", Node::Bool(true)),
                    ("insecureIgnoreTlog", Node::Bool(true)),
                ]),
            ),
        ])]),
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
                    "trusted root {root_name:?}: Kyverno checks cosign signatures against ECDSA \
                     Rekor keys only; the other Rekor keys are left out"
                ));
            }
            let mut id = Vec::new();
            match (&identity.issuer, &identity.issuer_regexp) {
                (Some(i), _) if !i.contains('*') && !i.contains('?') => {
                    id.push(("issuer", Node::str(i)))
                }
                (Some(i), _) => id.push(("issuerRegExp", Node::str(anchored(i)))),
                (None, Some(r)) => id.push(("issuerRegExp", Node::str(r))),
                (None, None) => {}
            }
            match (&identity.subject, &identity.subject_regexp) {
                (Some(s), _) if !s.contains('*') && !s.contains('?') => {
                    id.push(("subject", Node::str(s)))
                }
                (Some(s), _) => id.push(("subjectRegExp", Node::str(anchored(s)))),
                (None, Some(r)) => id.push(("subjectRegExp", Node::str(r))),
                (None, None) => {}
            }
            let ct: Vec<Option<String>> = if identity.ignore_sct || root.ctlogs.is_empty() {
                if !identity.ignore_sct {
                    notes.push(format!(
                        "trusted root {root_name:?} has no CT log keys; Kyverno is told to skip \
                         the certificate's SCT (ctlog.insecureIgnoreSCT)"
                    ));
                }
                vec![None]
            } else {
                root.ctlogs.iter().map(|c| Some(c.pem())).collect()
            };
            let mut out = Vec::new();
            for t in &rekor {
                for c in &ct {
                    let mut ctlog = vec![
                        ("rekorPubKey", Node::str(t.pem())),
                        ("url", Node::str(&t.base_url)),
                    ];
                    match c {
                        Some(pem) => ctlog.push(("ctLogPubKey", Node::str(pem))),
                        None => ctlog.push(("insecureIgnoreSCT", Node::Bool(true))),
                    }
                    out.push(with_annotations(vec![
                        (
                            "keyless",
                            Node::map(vec![
                                ("identities", Node::Seq(vec![Node::map(id.clone())])),
                                ("roots", Node::str(root.ca_pem())),
                            ]),
                        ),
                        ("ctlog", Node::map(ctlog)),
                    ]));
                }
            }
            Ok(out)
        }
    }
}

fn anchored(s: &str) -> String {
    format!("^{}$", regex::escape(s))
}

/// Every container image must be one of the admitted digests.
fn allow_list_policy(plan: &Plan<'_>, options: &Options) -> Node {
    let mut allowed = Vec::new();
    for i in &plan.images {
        for form in name_forms(&i.repository) {
            allowed.push(format!("'{form}@{}'", i.digest));
        }
    }
    allowed.sort();
    allowed.dedup();
    let list = allowed.join(", ");
    // `REPO@DIGEST`, or `REPO:TAG@DIGEST` with the tag dropped.
    let check = format!(
        "c.image in [{list}] || (c.image.contains('@') && c.image.contains(':') && \
         [{list}].exists(a, c.image.startsWith(a.split('@')[0] + ':') && \
         c.image.endsWith('@' + a.split('@')[1])))"
    );
    let lists = IMAGE_LISTS
        .iter()
        .map(|l| format!("(!has(object.spec.{l}) || object.spec.{l}.all(c, {check}))"))
        .collect::<Vec<_>>()
        .join(" && ");
    let mut spec = common_spec(options);
    spec.push((
        "matchImageReferences",
        Node::Seq(vec![Node::map(vec![("glob", Node::str("*"))])]),
    ));
    spec.push(("attestors", Node::Seq(Vec::new())));
    spec.push((
        "validations",
        Node::Seq(vec![Node::map(vec![
            ("expression", Node::str(lists)),
            (
                "message",
                Node::str(
                    "every image must be one that airlock verified and pushed to the private \
                     registry, referenced by digest; run `airlock preflight` on the manifests \
                     to find and rewrite the image references",
                ),
            ),
        ])]),
    ));
    Node::map(vec![
        ("apiVersion", Node::str("policies.kyverno.io/v1")),
        ("kind", Node::str("ImageValidatingPolicy")),
        (
            "metadata",
            metadata(&format!("{}-allow-list", options.name), None, plan),
        ),
        ("spec", Node::map(spec)),
    ])
}

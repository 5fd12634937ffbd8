//! Admission-policy input for the clusters in the gap: the verified set of images, as mirrored
//! into the private registry, turned into Kyverno `ClusterPolicy` or Sigstore policy-controller
//! `ClusterImagePolicy` resources.
//!
//! [`generate`] is pure: it takes the loaded policy, keys, trusted roots, lock and mapping and
//! returns YAML text plus notes for the operator. The same inputs always give the same bytes
//! (everything that comes from a set is sorted; nothing depends on time or paths).
//!
//! What the output enforces (docs/admission.md has the field-by-field walk-through):
//! - only the mirrored repositories of the lock are admitted: tight globs per repository (never
//!   `*`), and a deny for everything else (Kyverno: a validate rule listing the repositories;
//!   policy-controller: `no-match-policy: deny`);
//! - images are pulled by digest (tags are resolved to digests at admission and the digest is
//!   required);
//! - per policy rule, a signature from one of the rule's signers (keys inline, keyless
//!   identities against the imported trusted root, nothing fetched online) and each required
//!   attestation from one of its signers;
//! - in gate mode ([`Inputs::gate_key`]), instead of the upstream signers: an
//!   `https://slsa.dev/verification_summary/v1` attestation with `verificationResult: PASSED`
//!   signed by the gate's key, attached by `push` to every image it verified.
//!
//! The SBOM and platform requirements of a rule are not expressible in either controller; they
//! are enforced by `airlock verify` (and carried by the gate attestation in gate mode).

mod ivpol;
mod kyverno;
mod policy_controller;
pub mod trusted_root;
pub(crate) mod yaml;

use std::collections::{BTreeMap, BTreeSet};

use crate::keys::{KeyAlgorithm, PublicKey};
use crate::lock::Lock;
use crate::mapping::Mapping;
use crate::oci::reference::same_repository;
use crate::oci::{Digest, Reference};
use crate::policy::{KeylessSigner, Policy, SignatureRule, Unmatched};

pub use trusted_root::{TrustedRoot, TrustedRootError};

/// The predicate type of the gate's attestation (SLSA Verification Summary v1).
pub const VSA_PREDICATE_TYPE: &str = "https://slsa.dev/verification_summary/v1";
/// Default resource name prefix (`--name`).
pub const DEFAULT_NAME: &str = "airlock";
/// Namespace of the policy-controller deployment (its Helm chart's default).
pub const DEFAULT_CONTROLLER_NAMESPACE: &str = "cosign-system";
/// Default admission webhook timeout (seconds).
pub const DEFAULT_WEBHOOK_TIMEOUT_SECONDS: u32 = 30;
/// Kubernetes' largest admission webhook timeout (seconds).
pub const MAX_WEBHOOK_TIMEOUT_SECONDS: u32 = 30;
/// Longest `--name` accepted (suffixes such as `-rule-12` are added to it).
pub const MAX_NAME_LEN: usize = 40;
/// Most images one generated policy covers (a Kubernetes object is limited to about 1.5 MiB).
pub const MAX_ADMISSION_IMAGES: usize = 10_000;
/// Annotation and label prefix of generated resources.
pub const ANNOTATION_PREFIX: &str = "airlock.dev/";

/// Which controller to generate for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Kyverno `ClusterPolicy` (`kyverno.io/v1`) with `verifyImages`.
    Kyverno,
    /// Sigstore policy-controller `ClusterImagePolicy` (`policy.sigstore.dev/v1beta1`),
    /// `TrustRoot`s and the `config-policy-controller` ConfigMap.
    PolicyController,
    /// Kyverno `ImageValidatingPolicy` (`policies.kyverno.io/v1`, CEL).
    KyvernoIvpol,
}

impl Format {
    /// The `--format` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Kyverno => "kyverno",
            Format::PolicyController => "policy-controller",
            Format::KyvernoIvpol => "kyverno-ivpol",
        }
    }
}

/// Settings that are not in the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Prefix of resource names (`airlock` gives `airlock`, `airlock-rule-1`, …).
    pub name: String,
    /// Namespace of the policy-controller deployment (for its ConfigMap).
    pub controller_namespace: String,
    /// Admission webhook timeout, 1 to 30 seconds.
    pub webhook_timeout_seconds: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            name: DEFAULT_NAME.to_string(),
            controller_namespace: DEFAULT_CONTROLLER_NAMESPACE.to_string(),
            webhook_timeout_seconds: DEFAULT_WEBHOOK_TIMEOUT_SECONDS,
        }
    }
}

/// Everything the generator reads, already loaded.
pub struct Inputs<'a> {
    /// The policy (`None` only in gate mode).
    pub policy: Option<&'a Policy>,
    /// The policy's keys by name.
    pub keys: &'a BTreeMap<String, PublicKey>,
    /// The policy's trusted roots by name (those its keyless signers use must be here).
    pub trusted_roots: &'a BTreeMap<String, TrustedRoot>,
    pub lock: &'a Lock,
    /// `sha256:<hex>` of the lock file's bytes (recorded in the output).
    pub lock_sha256: String,
    /// Where `push` put each image; `None` to admit the source repositories.
    pub mapping: Option<&'a Mapping>,
    /// Gate mode: require the gate's verification-summary attestation signed by this key.
    pub gate_key: Option<&'a PublicKey>,
}

/// One image the generated policy admits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdmittedImage {
    /// The source reference as captured (the lock's `ref`).
    pub source: String,
    /// The normalised source repository.
    pub source_repository: String,
    /// The pinned manifest digest.
    pub digest: Digest,
    /// The repository the cluster pulls from (the mirrored one, or the source without mapping).
    pub repository: String,
    /// What it needs: `rule 1 (match [...])`, `unmatched (allowed)` or `gate attestation`.
    pub requirement: String,
}

/// The generated resources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generated {
    /// Multi-document YAML.
    pub yaml: String,
    /// The images admitted, sorted by source reference.
    pub images: Vec<AdmittedImage>,
    /// Things the operator should know (images left out, keys dropped), for stderr.
    pub notes: Vec<String>,
}

/// Why no policy could be generated.
#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    /// A setting is out of range.
    #[error("{0}")]
    Option(String),
    /// The policy, keys or trusted roots cannot be expressed (a key not loaded, a trusted root
    /// without the keys the controllers need offline).
    #[error("{0}")]
    Input(String),
    /// The mapping says the registry holds another digest than the lock pins.
    #[error(
        "the mapping says {image} was pushed as {target}@{mapping_digest}, but the lock pins \
         {lock_digest}; expected the mapping written by `airlock push` for this lock: push this \
         bundle again or give the matching --mapping"
    )]
    MappingMismatch {
        image: String,
        target: String,
        lock_digest: Digest,
        mapping_digest: Digest,
    },
    /// Nothing to admit.
    #[error("{0}")]
    Empty(String),
}

impl AdmissionError {
    /// Is this the gate saying no about the content (exit 1), rather than bad input (exit 2)?
    pub fn is_content_failure(&self) -> bool {
        matches!(self, AdmissionError::MappingMismatch { .. })
    }
}

/// Generate the resources for `format`.
pub fn generate(
    format: Format,
    inputs: &Inputs<'_>,
    options: &Options,
) -> Result<Generated, AdmissionError> {
    check_options(options)?;
    let mut plan = plan(inputs)?;
    let (body, notes) = match format {
        Format::Kyverno => kyverno::render(&plan, options)?,
        Format::PolicyController => policy_controller::render(&plan, options)?,
        Format::KyvernoIvpol => ivpol::render(&plan, options)?,
    };
    plan.notes.extend(notes);
    let mut yaml = header(format, &plan);
    yaml.push_str(&body);
    Ok(Generated {
        yaml,
        images: plan.images,
        notes: plan.notes,
    })
}

fn check_options(o: &Options) -> Result<(), AdmissionError> {
    if !is_dns_label(&o.name) || o.name.len() > MAX_NAME_LEN {
        return Err(AdmissionError::Option(format!(
            "--name {:?}: expected 1 to {MAX_NAME_LEN} lower-case letters, digits and `-`, \
             starting and ending with a letter or digit (a Kubernetes resource name), e.g. \
             `airlock` or `site-a`",
            o.name
        )));
    }
    if !is_dns_label(&o.controller_namespace) || o.controller_namespace.len() > 63 {
        return Err(AdmissionError::Option(format!(
            "--controller-namespace {:?}: expected a Kubernetes namespace name (lower-case \
             letters, digits and `-`, at most 63), e.g. `cosign-system`",
            o.controller_namespace
        )));
    }
    if !(1..=MAX_WEBHOOK_TIMEOUT_SECONDS).contains(&o.webhook_timeout_seconds) {
        return Err(AdmissionError::Option(format!(
            "--webhook-timeout {}: expected 1 to {MAX_WEBHOOK_TIMEOUT_SECONDS} seconds (the \
             Kubernetes limit for admission webhooks)",
            o.webhook_timeout_seconds
        )));
    }
    Ok(())
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

// ---------------------------------------------------------------------------------------------
// The plan: which repositories need what.

/// Who may sign.
#[derive(Clone, Debug)]
enum Signer<'a> {
    Key {
        name: String,
        key: &'a PublicKey,
    },
    Keyless {
        /// Position in the rule's `keyless` list, from 1.
        index: usize,
        identity: &'a KeylessSigner,
        root_name: String,
        root: &'a TrustedRoot,
    },
}

impl Signer<'_> {
    /// A short, stable name: `key-release`, `keyless-1-public-good`.
    fn slug(&self) -> String {
        match self {
            Signer::Key { name, .. } => format!("key-{name}"),
            Signer::Keyless {
                index, root_name, ..
            } => format!("keyless-{index}-{root_name}"),
        }
    }
}

/// One required attestation.
#[derive(Clone, Debug)]
struct AttestationNeed<'a> {
    /// Position in the rule's `attestations`, from 1.
    index: usize,
    predicate_type: String,
    signers: Vec<Signer<'a>>,
    /// The gate's attestation: also require `verificationResult: PASSED`.
    require_passed: bool,
    /// Provenance patterns Kyverno can check on the predicate: (JMESPath into the predicate,
    /// allowed patterns, what it is). Empty for other attestations.
    conditions: Vec<(&'static str, Vec<String>, &'static str)>,
}

#[derive(Clone, Debug)]
enum Need<'a> {
    /// No signature or attestation (`signatures: none`, or `unmatched: allow`): admitted by
    /// repository and digest only.
    Unsigned,
    Verify {
        /// Empty when the rule needs attestations only.
        signatures: Vec<Signer<'a>>,
        /// Annotations the signature payload must carry.
        annotations: BTreeMap<String, String>,
        attestations: Vec<AttestationNeed<'a>>,
    },
}

#[derive(Clone, Debug)]
struct Group<'a> {
    /// `rule-1`, `unmatched`, `gate`.
    id: String,
    /// For comments and messages.
    title: String,
    /// Admitted repositories (as the cluster names them).
    repositories: BTreeSet<String>,
    need: Need<'a>,
}

#[derive(Clone, Debug)]
struct Plan<'a> {
    groups: Vec<Group<'a>>,
    images: Vec<AdmittedImage>,
    notes: Vec<String>,
    /// `(annotation key, value)`, sorted.
    annotations: Vec<(String, String)>,
    /// Trusted roots used by keyless signers, by name.
    roots: BTreeMap<String, &'a TrustedRoot>,
}

/// Order of groups: rules by number, then unmatched, then the gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum GroupKey {
    Rule(usize),
    Unmatched,
    Gate,
}

fn plan<'a>(inputs: &Inputs<'a>) -> Result<Plan<'a>, AdmissionError> {
    let mut notes = Vec::new();
    if inputs.policy.is_none() && inputs.gate_key.is_none() {
        return Err(AdmissionError::Input(
            "no policy and no gate key: expected --policy FILE (per-rule signers) or --gate-key \
             PUB (the gate's attestation)"
                .into(),
        ));
    }
    // Charts are not pulled by kubelet: never admitted.
    let mut lock_images: Vec<&crate::lock::LockedImage> = inputs
        .lock
        .images
        .iter()
        .filter(|i| !inputs.lock.is_chart(&i.r#ref))
        .collect();
    lock_images.sort_by(|a, b| a.r#ref.cmp(&b.r#ref).then(a.digest.cmp(&b.digest)));
    lock_images.dedup_by(|a, b| a.r#ref == b.r#ref && a.digest == b.digest);
    if lock_images.len() > MAX_ADMISSION_IMAGES {
        return Err(AdmissionError::Input(format!(
            "the lock has {} images, over the limit of {MAX_ADMISSION_IMAGES} for one generated \
             policy; split the bundle",
            lock_images.len()
        )));
    }
    if inputs.mapping.is_none() {
        notes.push(
            "no mapping file: the policies admit the SOURCE repositories; run `airlock push` \
             first (it writes airlock.mapping.json beside the lock) or give --mapping FILE to \
             admit the mirrored ones"
                .to_string(),
        );
    }

    let mut groups: BTreeMap<GroupKey, Group<'a>> = BTreeMap::new();
    let mut images = Vec::new();
    let mut roots: BTreeMap<String, &'a TrustedRoot> = BTreeMap::new();

    for li in lock_images {
        let source_repository = Reference::parse(&li.r#ref)
            .map(|r| r.repository())
            .unwrap_or_else(|_| li.repository.clone());
        let repository = match inputs.mapping {
            None => source_repository.clone(),
            Some(m) => {
                let entry = m.by_source(&li.r#ref).or_else(|| {
                    m.images.iter().find(|e| {
                        e.digest == li.digest
                            && same_repository(&e.source_repository, &source_repository)
                    })
                });
                match entry {
                    Some(e) if e.digest != li.digest => {
                        return Err(AdmissionError::MappingMismatch {
                            image: li.r#ref.clone(),
                            target: e.target_repository.clone(),
                            lock_digest: li.digest.clone(),
                            mapping_digest: e.digest.clone(),
                        })
                    }
                    Some(e) => e.target_repository.clone(),
                    None => {
                        notes.push(format!(
                            "{} ({}) is in the lock but not in the mapping, so it was not pushed; \
                             it is left out and the cluster will refuse it (push the bundle again \
                             to include it)",
                            li.r#ref, li.digest
                        ));
                        continue;
                    }
                }
            }
        };
        let (key, title, need) = match (inputs.gate_key, inputs.policy) {
            (Some(gate), _) => (
                GroupKey::Gate,
                "gate attestation".to_string(),
                Need::Verify {
                    signatures: Vec::new(),
                    annotations: BTreeMap::new(),
                    attestations: vec![AttestationNeed {
                        index: 1,
                        predicate_type: VSA_PREDICATE_TYPE.to_string(),
                        signers: vec![Signer::Key {
                            name: "gate".to_string(),
                            key: gate,
                        }],
                        require_passed: true,
                        conditions: Vec::new(),
                    }],
                },
            ),
            (None, Some(policy)) => match policy.rule_for(&source_repository) {
                Some(rule) => {
                    let need = rule_need(policy, rule, inputs, &mut roots)?;
                    (GroupKey::Rule(rule.index), rule.describe(), need)
                }
                None if policy.unmatched == Unmatched::Allow => (
                    GroupKey::Unmatched,
                    "unmatched (allowed)".to_string(),
                    Need::Unsigned,
                ),
                None => {
                    notes.push(format!(
                        "{} matches no policy rule and the policy says `unmatched: deny`; it is \
                         left out (airlock verify fails it with policy-unmatched)",
                        li.r#ref
                    ));
                    continue;
                }
            },
            (None, None) => continue,
        };
        let group = groups.entry(key).or_insert_with(|| Group {
            id: match key {
                GroupKey::Rule(n) => format!("rule-{n}"),
                GroupKey::Unmatched => "unmatched".to_string(),
                GroupKey::Gate => "gate".to_string(),
            },
            title: title.clone(),
            repositories: BTreeSet::new(),
            need,
        });
        group.repositories.insert(repository.clone());
        images.push(AdmittedImage {
            source: li.r#ref.clone(),
            source_repository,
            digest: li.digest.clone(),
            repository,
            requirement: title,
        });
    }
    if images.is_empty() {
        return Err(AdmissionError::Empty(format!(
            "no image of the lock can be admitted ({} in the lock); expected at least one image \
             that was pushed and that a policy rule covers{}",
            inputs.lock.images.len(),
            if notes.is_empty() {
                String::new()
            } else {
                format!(": {}", notes.join("; "))
            }
        )));
    }
    let mut annotations = vec![(
        format!("{ANNOTATION_PREFIX}lock-sha256"),
        inputs.lock_sha256.clone(),
    )];
    if let Some(p) = inputs.policy {
        annotations.push((
            format!("{ANNOTATION_PREFIX}policy-sha256"),
            p.sha256.clone(),
        ));
    }
    if let Some(k) = inputs.gate_key {
        annotations.push((format!("{ANNOTATION_PREFIX}gate-key"), k.key_id()));
    }
    annotations.sort();
    Ok(Plan {
        groups: groups.into_values().collect(),
        images,
        notes,
        annotations,
        roots,
    })
}

fn rule_need<'a>(
    policy: &'a Policy,
    rule: &'a crate::policy::Rule,
    inputs: &Inputs<'a>,
    roots: &mut BTreeMap<String, &'a TrustedRoot>,
) -> Result<Need<'a>, AdmissionError> {
    let (signatures, annotations) = match &rule.signatures {
        SignatureRule::None => (Vec::new(), BTreeMap::new()),
        SignatureRule::Required(s) => {
            let who = Who {
                rule,
                field: "signatures".to_string(),
                keys: &s.keys,
                keyless: &s.keyless,
            };
            (signers(policy, &who, inputs, roots)?, s.annotations.clone())
        }
    };
    let mut attestations = Vec::new();
    for (i, a) in rule.attestations.iter().enumerate() {
        let who = Who {
            rule,
            field: format!("attestations[{i}]"),
            keys: &a.keys,
            keyless: &a.keyless,
        };
        attestations.push(AttestationNeed {
            index: i + 1,
            predicate_type: a.predicate_type.clone(),
            signers: signers(policy, &who, inputs, roots)?,
            require_passed: false,
            conditions: Vec::new(),
        });
    }
    // `provenance`: the SLSA v1 attestation from its signers, with the builder id and source
    // repository as conditions (Kyverno's AnyIn accepts `*` wildcards). What Kyverno cannot
    // express (v0.2 provenance, refs from resolvedDependencies, scans, VEX, package bans) is left
    // to airlock's verdict.
    if let Some(p) = &rule.provenance {
        let who = Who {
            rule,
            field: "provenance.signers".to_string(),
            keys: &p.signers.keys,
            keyless: &p.signers.keyless,
        };
        let mut conditions = Vec::new();
        if let Some(b) = &p.builder_ids {
            conditions.push(("runDetails.builder.id", b.patterns.clone(), "builder id"));
        }
        if let Some(r) = &p.source_repos {
            conditions.push((
                "buildDefinition.externalParameters.workflow.repository",
                r.patterns.clone(),
                "source repository",
            ));
        }
        if let Some(r) = &p.refs {
            conditions.push((
                "buildDefinition.externalParameters.workflow.ref",
                r.patterns.clone(),
                "source ref",
            ));
        }
        attestations.push(AttestationNeed {
            index: rule.attestations.len() + 1,
            predicate_type: crate::formats::slsa::PREDICATE_V1.to_string(),
            signers: signers(policy, &who, inputs, roots)?,
            require_passed: false,
            conditions,
        });
    }
    if signatures.is_empty() && attestations.is_empty() {
        return Ok(Need::Unsigned);
    }
    Ok(Need::Verify {
        signatures,
        annotations,
        attestations,
    })
}

/// The signers named in one place of a rule.
struct Who<'a> {
    rule: &'a crate::policy::Rule,
    /// `signatures` or `attestations[N]`, for messages.
    field: String,
    keys: &'a [String],
    keyless: &'a [KeylessSigner],
}

/// Keys (sorted by name) and keyless identities (one per trusted root they may chain to).
fn signers<'a>(
    policy: &'a Policy,
    who: &Who<'a>,
    inputs: &Inputs<'a>,
    roots: &mut BTreeMap<String, &'a TrustedRoot>,
) -> Result<Vec<Signer<'a>>, AdmissionError> {
    let at = format!("{}: {}", who.rule.describe(), who.field);
    let mut out = Vec::new();
    let mut names: Vec<&String> = who.keys.iter().collect();
    names.sort();
    names.dedup();
    for name in names {
        let key = inputs.keys.get(name).ok_or_else(|| {
            AdmissionError::Input(format!(
                "{at}.keys names {name:?}, but no such key was loaded; expected it under the \
                 policy's keys: (or as {name}.pub in --keys DIR)"
            ))
        })?;
        out.push(Signer::Key {
            name: name.clone(),
            key,
        });
    }
    for (i, identity) in who.keyless.iter().enumerate() {
        let usable = policy.trusted_roots_for(identity);
        if usable.is_empty() {
            return Err(AdmissionError::Input(format!(
                "{at}.keyless[{i}] has no trusted root to verify against; expected one under \
                 the policy's trustedRoots:"
            )));
        }
        for (root_name, path) in usable {
            let root = inputs.trusted_roots.get(root_name).ok_or_else(|| {
                AdmissionError::Input(format!(
                    "{at}.keyless[{i}] uses trusted root {root_name:?} ({}), which was not \
                     loaded; expected the trusted_root.json to be read before generating",
                    path.display()
                ))
            })?;
            roots.insert(root_name.to_string(), root);
            out.push(Signer::Keyless {
                index: i + 1,
                identity,
                root_name: root_name.to_string(),
                root,
            });
        }
    }
    if out.is_empty() {
        return Err(AdmissionError::Input(format!(
            "{at} names no signer, so no image could satisfy it; expected keys or keyless \
             identities"
        )));
    }
    Ok(out)
}

/// The comment block at the top of the output: what it was generated from and for.
fn header(format: Format, plan: &Plan<'_>) -> String {
    let mut out = format!(
        "# Generated by `airlock admission --format {}`; regenerate it rather than edit it.\n",
        format.as_str()
    );
    for (k, v) in &plan.annotations {
        out.push_str(&format!(
            "# {}: {}\n",
            comment_text(k.trim_start_matches(ANNOTATION_PREFIX)),
            comment_text(v)
        ));
    }
    out.push_str("# Admitted images (source -> pulled as, requirement):\n");
    for i in &plan.images {
        out.push_str(&format!(
            "#   {} -> {}@{}  [{}]\n",
            comment_text(&i.source),
            comment_text(&i.repository),
            i.digest,
            comment_text(&i.requirement)
        ));
    }
    out
}

/// Text for a `#` comment line: line breaks, controls and bidi overrides are written as escapes
/// ([`crate::text::visible`]), so a comment stays one line whatever a policy or name holds.
/// (Names are also validated where they are read.)
fn comment_text(s: &str) -> String {
    crate::text::visible(s).into_owned()
}

/// The hash algorithm cosign uses with `key` (`sha384` for P-384, else `sha256`).
fn hash_algorithm(key: &PublicKey) -> &'static str {
    match key.algorithm() {
        KeyAlgorithm::EcdsaP384 => "sha384",
        _ => "sha256",
    }
}

/// The common metadata of every generated resource.
fn metadata(name: &str, namespace: Option<&str>, plan: &Plan<'_>) -> yaml::Node {
    use yaml::Node;
    let mut pairs = vec![("name".to_string(), Node::str(name))];
    if let Some(ns) = namespace {
        pairs.push(("namespace".to_string(), Node::str(ns)));
    }
    pairs.push((
        "labels".to_string(),
        Node::map(vec![("app.kubernetes.io/managed-by", Node::str("airlock"))]),
    ));
    pairs.push((
        "annotations".to_string(),
        Node::Map(
            plan.annotations
                .iter()
                .map(|(k, v)| (k.clone(), Node::str(v)))
                .collect(),
        ),
    ));
    Node::Map(pairs)
}

/// Join YAML documents with `---`.
fn documents(docs: &[yaml::Node]) -> String {
    docs.iter()
        .map(yaml::to_yaml)
        .collect::<Vec<_>>()
        .join("---\n")
}

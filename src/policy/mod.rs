//! The policy file (`apiVersion: airlock/v1`, `kind: Policy`).
//!
//! A policy names the trust material (`keys`, `trustedRoots`, paths relative to the policy file)
//! and a list of `rules`; the first rule whose `match` covers an image's source repository says
//! what that image needs (signatures, attestations, an SBOM, platforms). Images no rule covers are
//! denied unless `unmatched: allow`. The reference is docs/policy.md.
//!
//! [`Policy::from_yaml`] is pure; [`Policy::load`] reads the file. Every error is a
//! [`PolicyError`] that displays as `FILE:LINE:COLUMN: MESSAGE`.

mod error;
mod pattern;
mod provenance;
mod raw;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use globset::GlobSet;
use serde::{Deserialize, Serialize};

pub use error::{Location, PolicyError, PolicyErrorKind};
pub use pattern::{check_pattern, check_platform, MAX_PATTERN_LEN};

pub use provenance::{
    parse_duration, parse_time, Allowance, KeyValidity, ProvenanceRule, SignerSet, UrlPatterns,
    VulnerabilityRule,
};
pub use raw::quoted_list;
use raw::{Context, ContextGuard, LimitHit, RawPolicy};

/// Largest policy file accepted, in bytes (1 MiB).
pub const MAX_POLICY_BYTES: usize = 1024 * 1024;
/// Most rules a policy may have.
pub const MAX_RULES: usize = 10_000;
/// Most `match` patterns one rule may have.
pub const MAX_PATTERNS_PER_RULE: usize = 1_000;
/// Most `match` patterns a policy may have in all.
pub const MAX_PATTERNS: usize = 20_000;
/// The only `apiVersion` this version reads.
pub const API_VERSION: &str = raw::API_VERSION;
/// The `kind` of a policy document.
pub const KIND: &str = raw::KIND;

/// A loaded, checked policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The policy file path as given.
    pub source: PathBuf,
    /// `sha256:<hex>` of the file's exact bytes (for the report).
    pub sha256: String,
    /// Key name -> PEM public key path, resolved against the policy file's directory.
    pub keys: BTreeMap<String, PathBuf>,
    /// Validity of the keys written in the map form (`{path, validFrom, validUntil, revoked}`);
    /// keys written as a bare path have no entry (always valid).
    pub key_validity: BTreeMap<String, KeyValidity>,
    /// Trusted-root name -> Sigstore `trusted_root.json` path (YAML `trustedRoots`), resolved
    /// against the policy file's directory. For a TUF entry, the TUF repository directory.
    pub trusted_roots: BTreeMap<String, PathBuf>,
    /// Trusted-root names given as TUF repository snapshots (`{tuf, root, maxAge}`), resolved.
    pub trusted_roots_tuf: BTreeMap<String, crate::trust::tuf::TufSource>,
    /// In file order; the first rule that matches applies.
    pub rules: Vec<Rule>,
    /// What happens to an image no rule covers (YAML `unmatched`; default deny).
    pub unmatched: Unmatched,
    /// `lock.signers`: key names one of which must have signed the lock (`airlock.lock.dsse.json`).
    /// Empty: the lock signature is checked only with `--capture-key`.
    pub lock_signers: Vec<String>,
}

/// What happens to an image no rule covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unmatched {
    /// The image fails with `policy-unmatched` (the default).
    #[default]
    Deny,
    /// The image needs no signature, attestation, SBOM or platform (integrity and pins are
    /// still checked).
    Allow,
}

/// One entry of `rules:`.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Position in the file, counted from 1 ("rule 1" is the first rule; its YAML path is
    /// `rules[0]`).
    pub index: usize,
    /// YAML `match`: repository globs (`*` within a segment, `**` across segments).
    pub patterns: Vec<String>,
    /// YAML `signatures`.
    pub signatures: SignatureRule,
    /// YAML `attestations`: every entry is required.
    pub attestations: Vec<AttestationRule>,
    /// YAML `sbom` (default optional).
    pub sbom: SbomRequirement,
    /// YAML `platforms`: `os/arch[/variant]`, all required in an image index.
    pub platforms: Vec<String>,
    /// YAML `helm`: chart provenance (`.prov`) checks for Helm charts this rule covers.
    pub helm: Option<HelmRule>,
    /// YAML `provenance`: SLSA provenance from listed signers, with builder/source/ref patterns.
    pub provenance: Option<ProvenanceRule>,
    /// YAML `vulnerabilities`: a signed, recent scan with nothing above `maxSeverity`.
    pub vulnerabilities: Option<VulnerabilityRule>,
    /// YAML `sbom.denyPackages`: package URLs (with version ranges) no SBOM of the image may list.
    pub deny_packages: Vec<crate::formats::purl::Ban>,
    /// `patterns` compiled; built by the parser (editing `patterns` afterwards does not update it).
    matcher: GlobSet,
}

/// Whether a chart must carry a `.prov` file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HelmProvenance {
    /// A missing `.prov` is `chart-provenance-missing`.
    Required,
    /// A `.prov` that is present must verify; none is fine.
    Optional,
}

/// A rule's `helm:` field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelmRule {
    pub provenance: HelmProvenance,
    /// OpenPGP public keys (armored or binary), resolved against the policy file's directory.
    pub keyring: Option<PathBuf>,
}

impl PartialEq for Rule {
    fn eq(&self, other: &Rule) -> bool {
        // `matcher` is derived from `patterns`.
        self.index == other.index
            && self.patterns == other.patterns
            && self.signatures == other.signatures
            && self.attestations == other.attestations
            && self.sbom == other.sbom
            && self.platforms == other.platforms
            && self.helm == other.helm
            && self.provenance == other.provenance
            && self.vulnerabilities == other.vulnerabilities
            && self.deny_packages == other.deny_packages
    }
}

impl Eq for Rule {}

/// YAML `signatures`: the string `none`, or a map of signers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureRule {
    /// `signatures: none`: unsigned images are accepted (integrity and pins still checked).
    None,
    /// At least one valid signature from any listed signer.
    Required(Signers),
}

/// Who may sign, and what the signature must say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signers {
    /// Names under the policy's `keys`.
    pub keys: Vec<String>,
    /// Sigstore keyless identities.
    pub keyless: Vec<KeylessSigner>,
    /// Allowed signed `docker-reference`s; never empty (`[Source]` when the YAML omits it).
    pub identities: Vec<Identity>,
    /// Annotations the signed payload must carry (YAML `annotations`), each with this exact value.
    pub annotations: BTreeMap<String, String>,
    /// YAML `threshold`: how many distinct signers (keys or keyless identities) must have signed
    /// (default 1).
    pub threshold: usize,
}

/// A Sigstore keyless signer: the certificate's OIDC issuer and subject.
/// Exactly one of `issuer`/`issuer_regexp` and one of `subject`/`subject_regexp` is set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeylessSigner {
    /// YAML `issuer`: exact OIDC issuer.
    pub issuer: Option<String>,
    /// YAML `issuerRegExp`: unanchored regular expression (as cosign's).
    pub issuer_regexp: Option<String>,
    /// YAML `subject`: exact certificate identity (SAN).
    pub subject: Option<String>,
    /// YAML `subjectRegExp`: unanchored regular expression (as cosign's).
    pub subject_regexp: Option<String>,
    /// YAML `trustedRoot`: a name under `trustedRoots`; `None` means any of them.
    pub trusted_root: Option<String>,
    /// YAML `ignoreSCT` (default false): accept certificates without a verifiable embedded SCT
    /// (Fulcio certificates from before SCTs were embedded). A root without CT logs never checks.
    pub ignore_sct: bool,
}

/// An allowed signed `docker-reference` (YAML `identities` items).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Identity {
    /// `source`: the repository the image was captured from (the default).
    Source,
    /// `any`: any docker-reference.
    Any,
    /// A repository name or pattern, matched like `match`.
    Repository(String),
}

impl Identity {
    /// Does this identity allow a signature whose docker-reference names `signed_repository`,
    /// on an image captured from `source_repository`? Both are normalised repositories without
    /// tag or digest.
    pub fn allows(&self, source_repository: &str, signed_repository: &str) -> bool {
        match self {
            Identity::Source => source_repository == signed_repository,
            Identity::Any => true,
            Identity::Repository(pattern) => pattern::pattern_matches(pattern, signed_repository),
        }
    }
}

impl Signers {
    /// Does any of [`Signers::identities`] allow `signed_repository` for `source_repository`?
    pub fn allows_identity(&self, source_repository: &str, signed_repository: &str) -> bool {
        self.identities
            .iter()
            .any(|i| i.allows(source_repository, signed_repository))
    }
}

/// One required attestation (YAML `attestations` items).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestationRule {
    /// YAML `predicateType`, compared with the type in the signed statement.
    pub predicate_type: String,
    /// Names under the policy's `keys`; any one may have signed it.
    pub keys: Vec<String>,
    /// Keyless signers; any one may have signed it.
    pub keyless: Vec<KeylessSigner>,
}

/// YAML `sbom`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SbomRequirement {
    /// An SBOM (SPDX or CycloneDX, attested or attached) must be present.
    Required,
    /// An SBOM is checked when present (the default).
    #[default]
    Optional,
}

impl Rule {
    /// Does this rule's `match` cover `repository` (normalised, without tag or digest, such as
    /// `docker.io/library/nginx`)?
    pub fn matches(&self, repository: &str) -> bool {
        self.matcher.is_match(repository)
    }

    /// `rule N (match ["…", …])`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "rule {} (match {})",
            self.index,
            raw::quoted_list(&self.patterns)
        )
    }
}

impl Policy {
    /// Parse and check a policy. `source` is the file the text came from: it names the file in
    /// errors and is the base for relative key and trusted-root paths. Reads no files.
    ///
    /// # Errors
    ///
    /// A [`PolicyError`] for text over [`MAX_POLICY_BYTES`], an empty document, malformed YAML,
    /// or YAML that is not a valid policy (see [`PolicyErrorKind`]); it carries the line and
    /// column where serde_yaml knows them.
    pub fn from_yaml(text: &str, source: &Path) -> Result<Policy, PolicyError> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(too_large(source, text.len() as u64));
        }
        if let Err(e) = crate::yamldepth::check_yaml_depth(text) {
            return Err(PolicyError::new(
                PolicyErrorKind::TooDeep,
                source,
                Some(Location {
                    line: e.line,
                    column: e.column,
                }),
                format!(
                    "{}; a policy is a few levels of mappings and lists: check the file",
                    e.problem()
                ),
            ));
        }
        // First pass: well-formed YAML, not empty, and the names defined under `keys` and
        // `trustedRoots` (for checking references with positions in the second pass).
        let value: serde_yaml::Value = serde_yaml::from_str(text)
            .map_err(|e| yaml_error(source, PolicyErrorKind::Syntax, &e))?;
        if value.is_null() {
            return Err(PolicyError::new(
                PolicyErrorKind::Empty,
                source,
                None,
                format!(
                    "the policy is empty; expected a YAML mapping starting with `apiVersion: \
                     {API_VERSION}` and `kind: {KIND}`, with `rules:` (see docs/policy.md or \
                     policies/example-full.yaml)"
                ),
            ));
        }
        let context = Context::new(
            defined_names(&value, "keys"),
            defined_names(&value, "trustedRoots"),
        );
        // Second pass: the schema, with checks inside the visitors.
        let raw: RawPolicy = {
            let guard = ContextGuard::install(context);
            match serde_yaml::from_str(text) {
                Ok(raw) => raw,
                Err(e) => {
                    let kind = match guard.limit_hit() {
                        Some(LimitHit::Rules) => PolicyErrorKind::TooManyRules,
                        Some(LimitHit::Patterns) => PolicyErrorKind::TooManyPatterns,
                        None => PolicyErrorKind::Invalid,
                    };
                    return Err(yaml_error(source, kind, &e));
                }
            }
        };
        build(raw, text, source)
    }

    /// Read the policy file at `path` (at most [`MAX_POLICY_BYTES`]) and parse it with
    /// [`Policy::from_yaml`].
    ///
    /// # Errors
    ///
    /// A [`PolicyError`] when the file cannot be read, is larger than [`MAX_POLICY_BYTES`], is
    /// not UTF-8, or is not a valid policy.
    #[allow(clippy::disallowed_methods)] // the policy's own edge: one bounded read of the operator's file
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let file = std::fs::File::open(path).map_err(|e| PolicyError::read(path, e))?;
        if let Ok(meta) = file.metadata() {
            if meta.is_file() && meta.len() > MAX_POLICY_BYTES as u64 {
                return Err(too_large(path, meta.len()));
            }
        }
        let mut bytes = Vec::new();
        file.take(MAX_POLICY_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| PolicyError::read(path, e))?;
        if bytes.len() > MAX_POLICY_BYTES {
            return Err(too_large(path, bytes.len() as u64));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let offset = e.utf8_error().valid_up_to();
            let location = location_of(e.as_bytes(), offset);
            PolicyError::new(
                PolicyErrorKind::NotUtf8,
                path,
                Some(location),
                format!(
                    "found a byte that is not UTF-8 (at byte offset {offset}); expected UTF-8 \
                     YAML text: re-save the file as UTF-8"
                ),
            )
        })?;
        Policy::from_yaml(&text, path)
    }

    /// The first rule whose `match` covers `repository` (normalised, such as
    /// `docker.io/library/nginx`, without tag or digest).
    pub fn rule_for(&self, repository: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.matches(repository))
    }

    /// The trusted roots a keyless signer is verified against: the one it names, or all of them
    /// when it names none.
    pub fn trusted_roots_for(&self, signer: &KeylessSigner) -> Vec<(&str, &Path)> {
        self.trusted_roots
            .iter()
            .filter(|(name, _)| signer.trusted_root.as_deref().is_none_or(|n| n == *name))
            .map(|(name, path)| (name.as_str(), path.as_path()))
            .collect()
    }
}

fn too_large(path: &Path, size: u64) -> PolicyError {
    PolicyError::new(
        PolicyErrorKind::TooLarge,
        path,
        None,
        format!(
            "the policy is {size} bytes, larger than the limit of {MAX_POLICY_BYTES} bytes \
             (1 MiB); expected a policy file, not data: check the path, or merge rules with \
             `**` patterns"
        ),
    )
}

/// Line and column (from 1) of byte `offset` in `bytes`.
fn location_of(bytes: &[u8], offset: usize) -> Location {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    Location { line, column }
}

/// The string keys of the top-level mapping `field`: empty when the field is absent, `None` when
/// it is not a mapping of strings (the schema pass reports that).
fn defined_names(value: &serde_yaml::Value, field: &str) -> Option<BTreeSet<String>> {
    match value.get(field) {
        None => Some(BTreeSet::new()),
        Some(serde_yaml::Value::Mapping(m)) => {
            m.keys().map(|k| k.as_str().map(str::to_string)).collect()
        }
        Some(_) => None,
    }
}

/// Turn a serde_yaml error into a policy error: position out of the message into the location,
/// and a hint for serde's own messages (ours carry theirs).
fn yaml_error(source: &Path, kind: PolicyErrorKind, e: &serde_yaml::Error) -> PolicyError {
    let location = e.location().map(|l| Location {
        line: l.line(),
        column: l.column(),
    });
    let mut message = e.to_string();
    if let Some(l) = location {
        let suffix = format!(" at line {} column {}", l.line, l.column);
        if let Some(at) = message.find(&suffix) {
            message.replace_range(at..at + suffix.len(), "");
        }
    }
    let hint = [
        (
            "unknown field",
            "remove the field or correct its spelling (docs/policy.md lists every field)",
        ),
        ("missing field", "add the field (see docs/policy.md)"),
        (
            "duplicate",
            "each key may appear only once in a mapping: remove the duplicate",
        ),
        ("unknown variant", "use one of the values listed"),
        (
            "invalid type",
            "give the value the type shown (see docs/policy.md)",
        ),
        ("invalid length", "see docs/policy.md"),
        ("invalid value", "see docs/policy.md"),
        (
            "more than one document",
            "keep a single YAML document: remove the `---` separators",
        ),
        (
            "recursion limit",
            "the document nests too deeply; a policy needs only a few levels",
        ),
        (
            "repetition limit",
            "the document expands too many aliases; write the values out",
        ),
    ]
    .iter()
    .find(|(needle, _)| message.contains(needle))
    .map(|(_, hint)| *hint);
    match (kind, hint) {
        (_, Some(hint)) => message = format!("{message}; {hint}"),
        (PolicyErrorKind::Syntax, None) => {
            message = format!("the policy is not valid YAML: {message}; fix the YAML syntax")
        }
        _ => {}
    }
    PolicyError::new(kind, source, location, message)
}

/// From the checked raw policy to [`Policy`]: resolve paths, number the rules, compile the
/// patterns, and check the cross-references once more (they were checked with positions during
/// the parse; this is the safety net).
fn build(raw: RawPolicy, text: &str, source: &Path) -> Result<Policy, PolicyError> {
    let base = source.parent().unwrap_or_else(|| Path::new(""));
    let mut key_validity = BTreeMap::new();
    let keys = raw
        .keys
        .into_iter()
        .map(|(name, entry)| {
            if let Some(v) = entry.validity {
                key_validity.insert(name.0.clone(), v);
            }
            (name.0, base.join(entry.path.0))
        })
        .collect();
    let mut trusted_roots = BTreeMap::new();
    let mut trusted_roots_tuf = BTreeMap::new();
    for (name, entry) in raw.trusted_roots {
        match entry {
            raw::RawTrustedRoot::File(p) => {
                trusted_roots.insert(name.0, base.join(p.0));
            }
            raw::RawTrustedRoot::Tuf(t) => {
                let dir = t.tuf.map(|d| base.join(d.0));
                let root = base.join(t.root.0);
                trusted_roots.insert(name.0.clone(), dir.clone().unwrap_or_else(|| root.clone()));
                trusted_roots_tuf.insert(
                    name.0,
                    crate::trust::tuf::TufSource {
                        dir,
                        root,
                        max_age_secs: t.max_age.as_deref().and_then(|a| parse_duration(a).ok()),
                    },
                );
            }
        }
    }
    let invalid =
        |message: String| PolicyError::new(PolicyErrorKind::Invalid, source, None, message);

    let mut rules = Vec::with_capacity(raw.rules.0.len());
    for (i, r) in raw.rules.0.into_iter().enumerate() {
        let matcher = pattern::compile(&r.patterns).map_err(|e| {
            invalid(format!(
                "rule {} (match {}): a pattern does not compile ({e}); expected globs with `*` \
                 and `**` only",
                i + 1,
                raw::quoted_list(&r.patterns)
            ))
        })?;
        rules.push(Rule {
            index: i + 1,
            patterns: r.patterns,
            signatures: r.signatures,
            attestations: r.attestations,
            sbom: r.sbom,
            platforms: r.platforms,
            helm: r.helm.map(|h| HelmRule {
                provenance: h.provenance,
                keyring: h.keyring.map(|k| base.join(k)),
            }),
            provenance: r.provenance,
            vulnerabilities: r.vulnerabilities,
            deny_packages: r.deny_packages,
            matcher,
        });
    }

    let policy = Policy {
        source: source.to_path_buf(),
        sha256: crate::oci::Digest::sha256_of(text.as_bytes()).to_string(),
        keys,
        key_validity,
        trusted_roots,
        trusted_roots_tuf,
        rules,
        unmatched: raw.unmatched,
        lock_signers: raw
            .lock
            .map(|l| l.signers.into_iter().map(|n| n.0).collect())
            .unwrap_or_default(),
    };
    check_references(&policy).map_err(invalid)?;
    Ok(policy)
}

/// Every key and trusted-root name a rule uses is defined.
fn check_references(policy: &Policy) -> Result<(), String> {
    let known = |map: &BTreeMap<String, PathBuf>| {
        if map.is_empty() {
            "none defined".to_string()
        } else {
            format!(
                "known: {}",
                map.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        }
    };
    if let Some(k) = policy
        .lock_signers
        .iter()
        .find(|k| !policy.keys.contains_key(*k))
    {
        return Err(format!(
            "lock.signers names \"{k}\", which is not under keys: ({}); correct the name or \
             define it under keys:",
            known(&policy.keys)
        ));
    }
    for rule in &policy.rules {
        let mut uses: Vec<(String, &[String], &[KeylessSigner])> = Vec::new();
        if let SignatureRule::Required(s) = &rule.signatures {
            uses.push(("signatures".to_string(), &s.keys, &s.keyless));
        }
        for (i, a) in rule.attestations.iter().enumerate() {
            uses.push((format!("attestations[{i}]"), &a.keys, &a.keyless));
        }
        if let Some(p) = &rule.provenance {
            uses.push((
                "provenance.signers".to_string(),
                &p.signers.keys,
                &p.signers.keyless,
            ));
        }
        if let Some(v) = &rule.vulnerabilities {
            uses.push((
                "vulnerabilities.signers".to_string(),
                &v.signers.keys,
                &v.signers.keyless,
            ));
            if let Some(x) = &v.vex {
                uses.push((
                    "vulnerabilities.vex.signers".to_string(),
                    &x.keys,
                    &x.keyless,
                ));
            }
        }
        for (field, keys, keyless) in uses {
            if let Some(k) = keys.iter().find(|k| !policy.keys.contains_key(*k)) {
                return Err(format!(
                    "{}: {field}.keys names \"{k}\", which is not under keys: ({}); correct the \
                     name or define it under keys:",
                    rule.describe(),
                    known(&policy.keys)
                ));
            }
            for k in keyless {
                match &k.trusted_root {
                    Some(root) if !policy.trusted_roots.contains_key(root) => {
                        return Err(format!(
                            "{}: {field}.keyless names trusted root \"{root}\", which is not \
                             under trustedRoots: ({}); correct the name or define it under \
                             trustedRoots:",
                            rule.describe(),
                            known(&policy.trusted_roots)
                        ))
                    }
                    None if policy.trusted_roots.is_empty() => {
                        return Err(format!(
                            "{}: {field}.keyless needs a Sigstore trusted root, but trustedRoots: \
                             is empty; define one under trustedRoots:",
                            rule.describe()
                        ))
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

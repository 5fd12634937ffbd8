//! The policy as serde reads it, with the checks done while reading.
//!
//! Checks run inside serde visitors wherever possible, because serde_yaml attaches the line and
//! column of the value being read to an error raised there (and the YAML path, such as
//! `rules[0].signatures.keys[1]`). Checks that need the whole file (does a key name referenced in
//! a rule exist under `keys:`?) get the defined names from a first pass over the document through
//! a per-thread [`Context`], installed by [`ContextGuard`] for the duration of one parse.
//! `Policy::from_yaml` repeats the cross-reference checks after the parse, so a missing context
//! can only cost the position in a message, never a check.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::pattern::{check_pattern, check_platform, check_regexp};
use super::{
    AttestationRule, Identity, KeylessSigner, SbomRequirement, SignatureRule, Signers, Unmatched,
    MAX_PATTERNS, MAX_PATTERNS_PER_RULE, MAX_RULES,
};

pub const API_VERSION: &str = "airlock/v1";
pub const KIND: &str = "Policy";

// ---------------------------------------------------------------------------------------------
// Per-parse context

/// A limit that stopped the parse, so the caller can report it with its own error kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitHit {
    Rules,
    Patterns,
}

/// What the visitors need to know about the rest of the document.
#[derive(Debug, Default)]
pub struct Context {
    /// Names under `keys:`; `None` when `keys:` is not a mapping of strings (the parse reports that).
    pub keys: Option<BTreeSet<String>>,
    /// Names under `trustedRoots:`; `None` as for `keys`.
    pub roots: Option<BTreeSet<String>>,
    patterns_total: usize,
    limit_hit: Option<LimitHit>,
}

impl Context {
    pub fn new(keys: Option<BTreeSet<String>>, roots: Option<BTreeSet<String>>) -> Context {
        Context {
            keys,
            roots,
            patterns_total: 0,
            limit_hit: None,
        }
    }
}

thread_local! {
    static CONTEXT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

/// Installs a [`Context`] for the current thread; removes it when dropped.
pub struct ContextGuard(());

impl ContextGuard {
    pub fn install(context: Context) -> ContextGuard {
        let _ = CONTEXT.try_with(|c| {
            if let Ok(mut slot) = c.try_borrow_mut() {
                *slot = Some(context);
            }
        });
        ContextGuard(())
    }

    /// The limit that stopped the parse, if one did.
    pub fn limit_hit(&self) -> Option<LimitHit> {
        with_context(|c| c.limit_hit).flatten()
    }
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        let _ = CONTEXT.try_with(|c| {
            if let Ok(mut slot) = c.try_borrow_mut() {
                *slot = None;
            }
        });
    }
}

/// Run `f` on the installed context; `None` when there is none.
fn with_context<R>(f: impl FnOnce(&mut Context) -> R) -> Option<R> {
    CONTEXT
        .try_with(|c| {
            c.try_borrow_mut()
                .ok()
                .and_then(|mut slot| slot.as_mut().map(f))
        })
        .ok()
        .flatten()
}

fn names_list(names: &BTreeSet<String>) -> String {
    names.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// Is `name` defined under `keys:`? `Err` says what to do.
pub fn check_key_ref(name: &str) -> Result<(), String> {
    let verdict = with_context(|c| {
        c.keys
            .as_ref()
            .filter(|keys| !keys.contains(name))
            .map(names_list)
    })
    .flatten();
    match verdict {
        None => Ok(()),
        Some(known) if known.is_empty() => Err(format!(
            "key \"{name}\" is not defined: there is no `keys:` section (or it is empty); add \
             `keys:` with `{name}: path/to/{name}.pub` at the top level"
        )),
        Some(known) => Err(format!(
            "key \"{name}\" is not defined under `keys:` (defined: {known}); correct the name or \
             add `{name}: path/to/{name}.pub` under `keys:`"
        )),
    }
}

/// Is `name` defined under `trustedRoots:`? `Err` says what to do.
pub fn check_root_ref(name: &str) -> Result<(), String> {
    let verdict = with_context(|c| {
        c.roots
            .as_ref()
            .filter(|roots| !roots.contains(name))
            .map(names_list)
    })
    .flatten();
    match verdict {
        None => Ok(()),
        Some(known) if known.is_empty() => Err(format!(
            "trusted root \"{name}\" is not defined: there is no `trustedRoots:` section (or it is \
             empty); add `trustedRoots:` with `{name}: path/to/trusted_root.json` at the top level"
        )),
        Some(known) => Err(format!(
            "trusted root \"{name}\" is not defined under `trustedRoots:` (defined: {known}); \
             correct the name or add `{name}: path/to/trusted_root.json` under `trustedRoots:`"
        )),
    }
}

/// Are any trusted roots defined? (`None` when unknown.)
fn roots_defined() -> Option<bool> {
    with_context(|c| c.roots.as_ref().map(|r| !r.is_empty())).flatten()
}

// ---------------------------------------------------------------------------------------------
// Generic helpers

/// Deserialize a string and check or convert it inside the visitor, so an error carries the
/// string's own line and column.
pub(super) fn str_with<'de, D, T, F>(d: D, expecting: &'static str, check: F) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    F: FnOnce(&str) -> Result<T, String>,
{
    struct V<F> {
        expecting: &'static str,
        check: F,
    }
    impl<'de, T, F: FnOnce(&str) -> Result<T, String>> Visitor<'de> for V<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            (self.check)(v).map_err(E::custom)
        }
    }
    d.deserialize_str(V { expecting, check })
}

/// Deserialize a mapping into `R` (a derived struct with `deny_unknown_fields`), then check or
/// convert it inside the visitor, so an error carries the mapping's line and column.
pub(super) fn map_with<'de, D, R, T, F>(
    d: D,
    expecting: &'static str,
    check: F,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    R: Deserialize<'de>,
    F: FnOnce(R) -> Result<T, String>,
{
    struct V<R, F> {
        expecting: &'static str,
        check: F,
        raw: PhantomData<R>,
    }
    impl<'de, R: Deserialize<'de>, T, F: FnOnce(R) -> Result<T, String>> Visitor<'de> for V<R, F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            let raw = R::deserialize(MapAccessDeserializer::new(map))?;
            (self.check)(raw).map_err(de::Error::custom)
        }
    }
    d.deserialize_map(V {
        expecting,
        check,
        raw: PhantomData,
    })
}

/// Format a list of strings as `["a", "b"]` for messages.
pub fn quoted_list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", inner.join(", "))
}

// ---------------------------------------------------------------------------------------------
// Top level

#[derive(Debug, serde::Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a policy: a YAML mapping with apiVersion, kind, keys, trustedRoots, rules and unmatched"
)]
pub struct RawPolicy {
    #[serde(rename = "apiVersion")]
    #[allow(dead_code)]
    pub api_version: ApiVersion,
    #[allow(dead_code)]
    pub kind: Kind,
    #[serde(default)]
    pub keys: BTreeMap<Name, super::provenance::KeyEntry>,
    #[serde(default, rename = "trustedRoots")]
    pub trusted_roots: BTreeMap<Name, RawTrustedRoot>,
    pub rules: Rules,
    #[serde(default)]
    pub unmatched: Unmatched,
    /// `lock: {signers: [KEY, ...]}`: the bundle's lock must be signed by one of these keys.
    #[serde(default)]
    pub lock: Option<RawLockRule>,
}

/// `lock:` at the top level.
#[derive(Debug, serde::Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with `signers`: the names of keys (under keys:) one of which must have signed the bundle's lock"
)]
pub struct RawLockRule {
    pub signers: Vec<Name>,
}

#[derive(Debug)]
pub struct ApiVersion;

impl<'de> Deserialize<'de> for ApiVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        str_with(d, "the string `airlock/v1`", |v| {
            if v == API_VERSION {
                Ok(ApiVersion)
            } else {
                Err(format!(
                    "found apiVersion `{v}`; expected `{API_VERSION}`, the only policy version \
                     this airlock reads: set `apiVersion: {API_VERSION}` (and check the policy \
                     against docs/policy.md)"
                ))
            }
        })
    }
}

#[derive(Debug)]
pub struct Kind;

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        str_with(d, "the string `Policy`", |v| {
            if v == KIND {
                Ok(Kind)
            } else {
                Err(format!(
                    "found kind `{v}`; expected `{KIND}`: set `kind: {KIND}` (this file may be \
                     another kind of document)"
                ))
            }
        })
    }
}

/// A name under `keys:` or `trustedRoots:`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Name(pub String);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        str_with(d, "a name made of letters, digits, `.`, `_` and `-`", |v| {
            let ok = !v.is_empty()
                && v.len() <= 128
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
            if ok {
                Ok(Name(v.to_string()))
            } else {
                Err(format!(
                    "found the name `{}`; expected 1 to 128 letters, digits, `.`, `_` or `-` \
                     (such as `release`); rename it",
                    v.escape_default()
                ))
            }
        })
    }
}

/// A file path under `keys:` or `trustedRoots:` (relative to the policy file's directory).
#[derive(Debug, Clone)]
pub struct FilePath(pub PathBuf);

impl<'de> Deserialize<'de> for FilePath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        str_with(d, "a file path", |v| {
            if v.trim().is_empty() {
                Err(
                    "found an empty path; expected the path of a file, relative to the policy \
                     file's directory (such as `../keys/release.pub`)"
                        .to_string(),
                )
            } else if v.contains('\0') {
                Err("found a path containing a NUL character; expected a file path".to_string())
            } else {
                Ok(FilePath(PathBuf::from(v)))
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Rules

/// The `rules:` list, counted against [`MAX_RULES`] while it is read.
#[derive(Debug)]
pub struct Rules(pub Vec<RawRule>);

impl<'de> Deserialize<'de> for Rules {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Rules;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of rules")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Rules, A::Error> {
                let mut rules = Vec::new();
                while let Some(rule) = seq.next_element::<RawRule>()? {
                    if rules.len() >= MAX_RULES {
                        with_context(|c| c.limit_hit = Some(LimitHit::Rules));
                        return Err(de::Error::custom(format!(
                            "found more than {MAX_RULES} rules, the limit; merge rules with \
                             `**` patterns or split the policy"
                        )));
                    }
                    rules.push(rule);
                }
                Ok(Rules(rules))
            }
        }
        d.deserialize_seq(V)
    }
}

/// One rule, checked as a whole.
#[derive(Debug)]
pub struct RawRule {
    pub patterns: Vec<String>,
    pub signatures: SignatureRule,
    pub attestations: Vec<AttestationRule>,
    pub sbom: SbomRequirement,
    pub platforms: Vec<String>,
    /// `helm: {provenance, keyring}` (keyring path as written, not yet resolved).
    pub helm: Option<HelmField>,
    pub provenance: Option<super::ProvenanceRule>,
    pub vulnerabilities: Option<super::VulnerabilityRule>,
    pub deny_packages: Vec<crate::formats::purl::Ban>,
}

/// A rule's `helm:` field: chart provenance (`.prov`) requirements.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with provenance (required or optional) and keyring (an OpenPGP public key file)"
)]
pub struct HelmField {
    pub provenance: crate::policy::HelmProvenance,
    #[serde(default)]
    pub keyring: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a rule: a mapping with match, signatures, attestations, sbom and platforms"
)]
struct RuleFields {
    #[serde(rename = "match")]
    patterns: Patterns,
    #[serde(default)]
    signatures: SignaturesField,
    #[serde(default)]
    attestations: Vec<AttestationEntry>,
    #[serde(default)]
    sbom: super::provenance::SbomField,
    #[serde(default)]
    platforms: Vec<Platform>,
    #[serde(default)]
    helm: Option<HelmField>,
    provenance: Option<super::provenance::ProvenanceField>,
    #[serde(default)]
    vulnerabilities: Option<super::provenance::VulnerabilitiesField>,
}

impl<'de> Deserialize<'de> for RawRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        map_with(
            d,
            "a rule: a mapping with match, signatures, attestations, sbom and platforms",
            |r: RuleFields| {
                let patterns = r.patterns.0;
                let label = quoted_list(&patterns);
                if patterns.is_empty() {
                    return Err(
                        "`match` is an empty list; expected at least one repository \
                                pattern, such as `match: [\"quay.io/minio/**\"]` (or `**` for \
                                every repository)"
                            .to_string(),
                    );
                }
                let signatures = match r.signatures {
                    SignaturesField::Absent => {
                        return Err(format!(
                            "rule with match {label} has no `signatures`; expected `none` or a \
                             map with keys/keyless: write `signatures: none` to accept unsigned \
                             images, or name the signers under `signatures: {{keys: [...]}}`"
                        ))
                    }
                    SignaturesField::None => SignatureRule::None,
                    SignaturesField::Required(s) => SignatureRule::Required(s),
                };
                let platforms: Vec<String> = r.platforms.into_iter().map(|p| p.0).collect();
                let mut seen = BTreeSet::new();
                for p in &platforms {
                    if !seen.insert(p) {
                        return Err(format!(
                            "platform `{p}` is listed twice in `platforms`; remove the duplicate"
                        ));
                    }
                }
                if let Some(h) = &r.helm {
                    if h.provenance == crate::policy::HelmProvenance::Required
                        && h.keyring.is_none()
                    {
                        return Err(format!(
                            "rule with match {label}: `helm.provenance: required` needs                              `helm.keyring`, the OpenPGP public key file (armored or binary)                              that signs the charts, e.g. `keyring: keys/vendor.asc`"
                        ));
                    }
                }
                Ok(RawRule {
                    patterns,
                    signatures,
                    attestations: r.attestations.into_iter().map(|a| a.0).collect(),
                    sbom: r.sbom.requirement,
                    platforms,
                    helm: r.helm,
                    provenance: r.provenance.map(|p| p.0),
                    vulnerabilities: r.vulnerabilities.map(|v| v.0),
                    deny_packages: r.sbom.deny_packages,
                })
            },
        )
    }
}

/// `match:`, counted against the pattern limits while it is read.
#[derive(Debug)]
struct Patterns(Vec<String>);

impl<'de> Deserialize<'de> for Patterns {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Patterns;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of repository patterns, such as [\"quay.io/minio/**\"]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Patterns, A::Error> {
                let mut patterns = Vec::new();
                while let Some(p) = seq.next_element::<Pattern>()? {
                    if patterns.len() >= MAX_PATTERNS_PER_RULE {
                        with_context(|c| c.limit_hit = Some(LimitHit::Patterns));
                        return Err(de::Error::custom(format!(
                            "found more than {MAX_PATTERNS_PER_RULE} patterns in one rule, the \
                             limit; use `*` or `**` to cover several repositories with one \
                             pattern"
                        )));
                    }
                    let total = with_context(|c| {
                        c.patterns_total += 1;
                        c.patterns_total
                    });
                    if total.is_some_and(|t| t > MAX_PATTERNS) {
                        with_context(|c| c.limit_hit = Some(LimitHit::Patterns));
                        return Err(de::Error::custom(format!(
                            "found more than {MAX_PATTERNS} patterns in the policy, the limit; \
                             use `*` or `**` to cover several repositories with one pattern"
                        )));
                    }
                    patterns.push(p.0);
                }
                Ok(Patterns(patterns))
            }
        }
        d.deserialize_seq(V)
    }
}

/// One repository pattern.
#[derive(Debug)]
struct Pattern(String);

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        str_with(d, "a repository pattern", |v| {
            check_pattern(v).map(|()| Pattern(v.to_string()))
        })
    }
}

#[derive(Debug)]
struct Platform(String);

impl<'de> Deserialize<'de> for Platform {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        str_with(d, "a platform such as linux/amd64", |v| {
            check_platform(v).map(|()| Platform(v.to_string()))
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Signatures

/// `signatures:` — absent, the string `none`, or a map of signers.
#[derive(Debug, Default)]
enum SignaturesField {
    #[default]
    Absent,
    None,
    Required(Signers),
}

const SIGNATURES_EXPECTED: &str = "`none` or a map with keys/keyless";

impl<'de> Deserialize<'de> for SignaturesField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SignaturesField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(SIGNATURES_EXPECTED)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SignaturesField, E> {
                if v == "none" {
                    Ok(SignaturesField::None)
                } else {
                    Err(E::custom(format!(
                        "found `signatures: {v}`; expected {SIGNATURES_EXPECTED}: write \
                         `signatures: none` to accept unsigned images, or name the signers \
                         (`signatures: {{keys: [release]}}`)"
                    )))
                }
            }
            fn visit_unit<E: de::Error>(self) -> Result<SignaturesField, E> {
                Err(E::custom(format!(
                    "`signatures:` is empty; expected {SIGNATURES_EXPECTED}: write `signatures: \
                     none` to accept unsigned images, or name the signers"
                )))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SignaturesField, A::Error> {
                let raw = SignersFields::deserialize(MapAccessDeserializer::new(map))?;
                signers(raw)
                    .map(SignaturesField::Required)
                    .map_err(de::Error::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a map with keys, keyless, identities and annotations"
)]
struct SignersFields {
    #[serde(default)]
    keys: Vec<KeyRef>,
    #[serde(default)]
    keyless: Vec<KeylessEntry>,
    #[serde(default)]
    identities: Option<Vec<IdentityEntry>>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    threshold: Option<usize>,
}

fn signers(raw: SignersFields) -> Result<Signers, String> {
    if raw.keys.is_empty() && raw.keyless.is_empty() {
        return Err(format!(
            "`signatures` names no signer; expected {SIGNATURES_EXPECTED}: list key names under \
             `keys` and/or identities under `keyless`, or write `signatures: none` to accept \
             unsigned images"
        ));
    }
    let identities = match raw.identities {
        None => vec![Identity::Source],
        Some(list) if list.is_empty() => {
            return Err(
                "`identities` is an empty list, which no signature could satisfy; \
                        expected `source` (the default), `any`, or repository patterns: remove \
                        the field or list at least one"
                    .to_string(),
            )
        }
        Some(list) => list.into_iter().map(|i| i.0).collect(),
    };
    if let Some(k) = raw.annotations.keys().find(|k| k.is_empty()) {
        return Err(format!(
            "found an empty annotation name (`{k:?}`) under `annotations`; expected names such as \
             `env`: remove or name it"
        ));
    }
    let threshold = raw.threshold.unwrap_or(1);
    if threshold == 0 {
        return Err(
            "`threshold` is 0; expected at least 1 (the number of distinct signers that must \
             have signed)"
                .to_string(),
        );
    }
    if raw.keyless.is_empty() && threshold > raw.keys.len() {
        return Err(format!(
            "`threshold` is {threshold} but `signatures` lists only {} key(s), so it could never \
             be met; list more signers or lower the threshold",
            raw.keys.len()
        ));
    }
    Ok(Signers {
        threshold,
        keys: raw.keys.into_iter().map(|k| k.0).collect(),
        keyless: raw.keyless.into_iter().map(|k| k.0).collect(),
        identities,
        annotations: raw.annotations,
    })
}

/// A reference to a name under `keys:`.
#[derive(Debug)]
pub(super) struct KeyRef(pub(super) String);

impl<'de> Deserialize<'de> for KeyRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        str_with(d, "the name of a key defined under `keys:`", |v| {
            check_key_ref(v).map(|()| KeyRef(v.to_string()))
        })
    }
}

/// A reference to a name under `trustedRoots:`.
#[derive(Debug)]
struct RootRef(String);

impl<'de> Deserialize<'de> for RootRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        str_with(
            d,
            "the name of a trusted root defined under `trustedRoots:`",
            |v| check_root_ref(v).map(|()| RootRef(v.to_string())),
        )
    }
}

#[derive(Debug)]
struct IdentityEntry(Identity);

impl<'de> Deserialize<'de> for IdentityEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        str_with(d, "`source`, `any`, or a repository pattern", |v| match v {
            "source" => Ok(IdentityEntry(Identity::Source)),
            "any" => Ok(IdentityEntry(Identity::Any)),
            _ => check_pattern(v)
                .map(|()| IdentityEntry(Identity::Repository(v.to_string())))
                .map_err(|why| {
                    format!("{why} (identities are `source`, `any`, or repository patterns)")
                }),
        })
    }
}

/// A string that may not be empty (for `issuer`, `subject`, `predicateType`).
#[derive(Debug)]
struct NonEmpty(String);

impl<'de> Deserialize<'de> for NonEmpty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        str_with(d, "a non-empty string", |v| {
            if v.trim().is_empty() {
                Err("found an empty string; expected a value, or remove the field".to_string())
            } else if v.trim() != v {
                Err(format!(
                    "found `{v:?}` with leading or trailing whitespace, which would never match \
                     exactly; remove the whitespace"
                ))
            } else {
                Ok(NonEmpty(v.to_string()))
            }
        })
    }
}

/// A regular expression, syntax-checked.
#[derive(Debug)]
struct RegExp(String);

impl<'de> Deserialize<'de> for RegExp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        str_with(d, "a regular expression", |v| {
            check_regexp(v).map(|()| RegExp(v.to_string()))
        })
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a keyless signer: a map with issuer or issuerRegExp, subject or subjectRegExp, trustedRoot and optional ignoreSCT"
)]
struct KeylessFields {
    issuer: Option<NonEmpty>,
    #[serde(rename = "issuerRegExp")]
    issuer_regexp: Option<RegExp>,
    subject: Option<NonEmpty>,
    #[serde(rename = "subjectRegExp")]
    subject_regexp: Option<RegExp>,
    #[serde(rename = "trustedRoot")]
    trusted_root: Option<RootRef>,
    /// Accept certificates without an embedded SCT (Fulcio certificates from before 2022).
    #[serde(rename = "ignoreSCT", default)]
    ignore_sct: bool,
}

#[derive(Debug)]
pub(super) struct KeylessEntry(pub(super) KeylessSigner);

impl<'de> Deserialize<'de> for KeylessEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        map_with(
            d,
            "a keyless signer: a map with issuer or issuerRegExp, subject or subjectRegExp, trustedRoot and optional ignoreSCT",
            |k: KeylessFields| {
                match (&k.issuer, &k.issuer_regexp) {
                    (None, None) => return Err(
                        "keyless signer has neither `issuer` nor `issuerRegExp`; expected one, \
                         naming the OIDC issuer of the signing certificate (such as `issuer: \
                         https://token.actions.githubusercontent.com`)"
                            .to_string(),
                    ),
                    (Some(_), Some(_)) => return Err(
                        "keyless signer has both `issuer` and `issuerRegExp`; expected one of \
                         them: keep the one you mean"
                            .to_string(),
                    ),
                    _ => {}
                }
                match (&k.subject, &k.subject_regexp) {
                    (None, None) => return Err(
                        "keyless signer has neither `subject` nor `subjectRegExp`; expected one, \
                         naming the certificate identity (such as `subjectRegExp: \
                         \"^https://github.com/minio/\"`)"
                            .to_string(),
                    ),
                    (Some(_), Some(_)) => return Err(
                        "keyless signer has both `subject` and `subjectRegExp`; expected one of \
                         them: keep the one you mean"
                            .to_string(),
                    ),
                    _ => {}
                }
                if k.trusted_root.is_none() && roots_defined() == Some(false) {
                    return Err("keyless signer needs a Sigstore trusted root to verify against \
                                offline, but none is defined; add `trustedRoots:` with a name for \
                                a trusted_root.json at the top level"
                        .to_string());
                }
                Ok(KeylessEntry(KeylessSigner {
                    issuer: k.issuer.map(|v| v.0),
                    issuer_regexp: k.issuer_regexp.map(|v| v.0),
                    subject: k.subject.map(|v| v.0),
                    subject_regexp: k.subject_regexp.map(|v| v.0),
                    trusted_root: k.trusted_root.map(|v| v.0),
                    ignore_sct: k.ignore_sct,
                }))
            },
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Attestations

#[derive(Debug, serde::Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an attestation requirement: a map with predicateType, keys and keyless"
)]
struct AttestationFields {
    #[serde(rename = "predicateType")]
    predicate_type: NonEmpty,
    #[serde(default)]
    keys: Vec<KeyRef>,
    #[serde(default)]
    keyless: Vec<KeylessEntry>,
}

#[derive(Debug)]
struct AttestationEntry(AttestationRule);

impl<'de> Deserialize<'de> for AttestationEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        map_with(
            d,
            "an attestation requirement: a map with predicateType, keys and keyless",
            |a: AttestationFields| {
                if a.keys.is_empty() && a.keyless.is_empty() {
                    return Err(format!(
                        "attestation `{}` names no signer; expected `keys` and/or `keyless` \
                         saying who must have signed it: add `keys: [release]` (a name under \
                         `keys:`) or a keyless identity",
                        a.predicate_type.0
                    ));
                }
                Ok(AttestationEntry(AttestationRule {
                    predicate_type: a.predicate_type.0,
                    keys: a.keys.into_iter().map(|k| k.0).collect(),
                    keyless: a.keyless.into_iter().map(|k| k.0).collect(),
                }))
            },
        )
    }
}

/// A `trustedRoots` entry: the path of a `trusted_root.json` (or a JSON-lines file of several),
/// or a TUF repository snapshot `{tuf: DIR, root: FILE, maxAge: DURATION}`.
#[derive(Debug)]
pub enum RawTrustedRoot {
    File(FilePath),
    Tuf(RawTufRoot),
}

/// `{tuf: DIR, root: FILE, maxAge: DURATION}`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTufRoot {
    /// Absent: the TUF snapshot the bundle being verified carries (`capture --tuf`).
    #[serde(default)]
    pub tuf: Option<FilePath>,
    pub root: FilePath,
    #[serde(default, rename = "maxAge")]
    pub max_age: Option<String>,
}

impl<'de> Deserialize<'de> for RawTrustedRoot {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawTrustedRoot;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "the path of a Sigstore trusted_root.json, or a TUF repository as \
                     {tuf: DIR, root: FILE, maxAge: DURATION}",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawTrustedRoot, E> {
                FilePath::deserialize(de::value::StrDeserializer::<E>::new(v))
                    .map(RawTrustedRoot::File)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawTrustedRoot, A::Error> {
                let t = RawTufRoot::deserialize(MapAccessDeserializer::new(map))?;
                if let Some(age) = &t.max_age {
                    if super::provenance::parse_duration(age).is_err() {
                        return Err(de::Error::custom(format!(
                            "maxAge {age:?} is not a duration; expected a whole number with a \
                             unit s, m, h or d (such as 720h)"
                        )));
                    }
                }
                Ok(RawTrustedRoot::Tuf(t))
            }
        }
        d.deserialize_any(V)
    }
}

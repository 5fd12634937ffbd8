//! SBOM recognition and summary: SPDX 2.x JSON and CycloneDX JSON, whether attached as a `.sbom`
//! layer or carried as an attestation predicate.
//!
//! **Why not `spdx-rs`.** The user named `spdx-rs`; version 0.5.5 was tried in a scratch crate. It
//! does parse the SPDX 2.3 spec example and real syft SPDX output. It is not used here because:
//! (1) the gate needs a fail-closed structural check and a summary (format, version, name,
//! package count), not a full object model; (2) `spdx-rs` rejects whole documents over fields the
//! gate does not judge — a package without `downloadLocation`, a license string that is not a
//! valid SPDX expression, a relationship type it does not know — which would turn documents that
//! cosign, Kyverno and policy-controller accept into `sbom-invalid`; (3) it has no size, count or
//! depth limits of its own, and this parser takes hostile input; (4) it handles neither CycloneDX
//! nor the string-wrapped `--type spdx` predicate, so a hand-written walker is needed anyway; and
//! (5) it would add about 40 crates (chrono, nom, strum 0.24, thiserror 1, uuid, …). Revisit if a
//! policy ever needs field-level SPDX checks (licences): then `spdx-expression` alone may fit.
//!
//! The walker deserializes into a skeleton that keeps only what the summary needs and skips the
//! rest without allocating, so a large SBOM costs little memory. XML, SPDX tag-value, SPDX 3
//! JSON-LD and syft JSON are recognised and reported as unsupported, never passed silently.
//!
//! Limits (each has its own error variant): [`MAX_SBOM_BYTES`], [`MAX_JSON_DEPTH`],
//! [`MAX_PACKAGES`], [`MAX_COMPONENTS`], [`MAX_COMPONENT_DEPTH`], [`MAX_PURLS`].
//!
//! The same single pass also collects the package URLs (SPDX `packages[].externalRefs[]` of
//! `referenceType: purl`, CycloneDX `components[].purl` at any nesting) for package bans,
//! borrowed from the input where the JSON string has no escapes.
use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::formats::dsse::{json_too_deep, Obj};

pub use crate::formats::dsse::MAX_JSON_DEPTH;

/// Largest SBOM document accepted, in bytes.
pub const MAX_SBOM_BYTES: usize = 128 * 1024 * 1024;
/// Most SPDX packages counted before the document is refused.
pub const MAX_PACKAGES: usize = 1_000_000;
/// Most CycloneDX components (nested ones included) before the document is refused.
pub const MAX_COMPONENTS: usize = 1_000_000;
/// Deepest nesting of CycloneDX `components` inside components (each level is two JSON levels,
/// an array and an object, so this stays well under [`MAX_JSON_DEPTH`]).
pub const MAX_COMPONENT_DEPTH: usize = 32;

/// Most package URLs collected from one SBOM.
pub const MAX_PURLS: usize = 1_000_000;

/// The `SPDXID` an SPDX 2.x document must carry.
pub const SPDX_DOCUMENT_ID: &str = "SPDXRef-DOCUMENT";

/// SBOM families the gate accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SbomFormat {
    Spdx,
    CycloneDx,
}

impl SbomFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            SbomFormat::Spdx => "spdx",
            SbomFormat::CycloneDx => "cyclonedx",
        }
    }
}

impl fmt::Display for SbomFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SbomFormat::Spdx => "SPDX",
            SbomFormat::CycloneDx => "CycloneDX",
        })
    }
}

/// What the report says about an SBOM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SbomSummary {
    pub format: SbomFormat,
    /// `spdxVersion` as written (`SPDX-2.3`) or CycloneDX `specVersion` (`1.4`).
    pub spec_version: String,
    /// SPDX document `name`, or CycloneDX `metadata.component.name`.
    pub name: Option<String>,
    /// SPDX `packages` count, or CycloneDX `components` count including nested components.
    pub packages: usize,
}

/// An SBOM read in one pass: its summary and the package URLs it lists (as written, in document
/// order; SPDX `externalRefs` of type `purl` and CycloneDX `purl` at every nesting level).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sbom<'a> {
    pub summary: SbomSummary,
    pub purls: Vec<Cow<'a, str>>,
}

/// Why a document is not an acceptable SBOM.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    #[error("SBOM is {found} bytes, larger than the limit of {limit} bytes")]
    TooLarge { limit: usize, found: usize },
    #[error("SBOM JSON nests too deeply (limit: fewer than {limit} levels)")]
    TooDeep { limit: usize },
    #[error("SBOM is not valid JSON of the expected shape: {0}")]
    Json(String),
    #[error("SBOM: expected a JSON object (SPDX document or CycloneDX BOM), found {found}")]
    NotAnObject { found: &'static str },
    #[error("not an SBOM: expected an SPDX 2.x JSON document (\"spdxVersion\": \"SPDX-2.x\") or a CycloneDX JSON BOM (\"bomFormat\": \"CycloneDX\"), found neither")]
    UnknownFormat,
    #[error("SBOM has both spdxVersion and bomFormat; expected exactly one format")]
    AmbiguousFormat,
    #[error("{what} is not supported (expected SPDX 2.x JSON or CycloneDX JSON){hint}")]
    Unsupported {
        what: &'static str,
        hint: &'static str,
    },
    #[error("SPDX spdxVersion is {found:?}, expected \"SPDX-2.<minor>\"")]
    UnsupportedSpdxVersion { found: String },
    #[error("SPDX document SPDXID is {found:?}, expected {SPDX_DOCUMENT_ID:?}")]
    WrongSpdxId { found: Option<String> },
    #[error("CycloneDX bomFormat is {found:?}, expected \"CycloneDX\"")]
    WrongBomFormat { found: String },
    #[error("CycloneDX specVersion is {found:?}, expected \"1.<minor>\"")]
    UnsupportedCycloneDxVersion { found: Option<String> },
    #[error("SPDX document has {found} packages, more than the limit of {limit}")]
    TooManyPackages { limit: usize, found: usize },
    #[error("CycloneDX BOM has {found} components, more than the limit of {limit}")]
    TooManyComponents { limit: usize, found: usize },
    #[error("SBOM lists more than {limit} package URLs")]
    TooManyPurls { limit: usize },
    #[error("CycloneDX components nest deeper than the limit of {limit} levels")]
    ComponentsTooDeep { limit: usize },
    #[error("media type {media_type:?} is not an SBOM media type (expected text/spdx+json or application/vnd.cyclonedx+json)")]
    NotSbomMediaType { media_type: String },
    #[error("layer media type {media_type:?} says {expected}, but the document is {found}")]
    FormatMismatch {
        media_type: String,
        expected: SbomFormat,
        found: SbomFormat,
    },
}

/// Parse an SBOM document from bytes (SPDX 2.x JSON or CycloneDX JSON, auto-detected).
pub fn parse_sbom_json(bytes: &[u8]) -> Result<SbomSummary, SbomError> {
    read_sbom_json(bytes).map(|s| s.summary)
}

/// [`parse_sbom_json`], keeping the package URLs too.
pub fn read_sbom_json(bytes: &[u8]) -> Result<Sbom<'_>, SbomError> {
    check_bytes(bytes)?;
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        Some(b'<') => return Err(xml_unsupported()),
        _ if looks_like_tag_value(bytes) => return Err(tag_value_unsupported()),
        first => {
            return Err(SbomError::NotAnObject {
                found: describe_json_start(first),
            })
        }
    }
    let Obj(skeleton): Obj<Skeleton> =
        serde_json::from_slice(bytes).map_err(|e| SbomError::Json(e.to_string()))?;
    skeleton.summarize()
}

/// Summarize an SBOM that arrived as an attestation predicate. A JSON string predicate (cosign
/// `attest --type spdx` writes the document text as a string) is unwrapped once and parsed.
pub fn parse_sbom_value(v: &Value) -> Result<SbomSummary, SbomError> {
    read_sbom_value(v).map(|s| s.summary)
}

/// [`parse_sbom_value`], keeping the package URLs too.
pub fn read_sbom_value(v: &Value) -> Result<Sbom<'_>, SbomError> {
    match v {
        Value::Object(_) => {
            if value_exceeds_depth(v, MAX_JSON_DEPTH - 1) {
                return Err(SbomError::TooDeep {
                    limit: MAX_JSON_DEPTH,
                });
            }
            let Obj(skeleton) =
                Obj::<Skeleton>::deserialize(v).map_err(|e| SbomError::Json(e.to_string()))?;
            skeleton.summarize()
        }
        Value::String(text) => read_sbom_json(text.as_bytes()),
        Value::Null => Err(SbomError::NotAnObject { found: "null" }),
        Value::Bool(_) => Err(SbomError::NotAnObject { found: "a boolean" }),
        Value::Number(_) => Err(SbomError::NotAnObject { found: "a number" }),
        Value::Array(_) => Err(SbomError::NotAnObject { found: "an array" }),
    }
}

/// The SBOM family a `.sbom` layer media type names (parameters and case ignored), or `None` when
/// it is not an SPDX/CycloneDX media type. XML and tag-value types are named here too; use
/// [`parse_sbom_layer`] to read a layer, which reports those encodings as unsupported.
pub fn sbom_media_type_kind(media_type: &str) -> Option<SbomFormat> {
    match essence(media_type).as_str() {
        "text/spdx" | "text/spdx+json" | "text/spdx+xml" | "application/spdx+json" => {
            Some(SbomFormat::Spdx)
        }
        "application/vnd.cyclonedx"
        | "application/vnd.cyclonedx+json"
        | "application/vnd.cyclonedx+xml" => Some(SbomFormat::CycloneDx),
        _ => None,
    }
}

/// Read a `.sbom` layer: check its media type, refuse encodings that are not JSON, parse, and
/// require the document to be of the family the media type names.
pub fn parse_sbom_layer(media_type: &str, bytes: &[u8]) -> Result<SbomSummary, SbomError> {
    let essence = essence(media_type);
    match essence.as_str() {
        "text/spdx+xml" | "application/vnd.cyclonedx+xml" => return Err(xml_unsupported()),
        "application/vnd.syft+json" => return Err(syft_unsupported()),
        _ => {}
    }
    let Some(expected) = sbom_media_type_kind(&essence) else {
        return Err(SbomError::NotSbomMediaType {
            media_type: shorten(media_type),
        });
    };
    // `text/spdx` is tag-value and bare `application/vnd.cyclonedx` names no encoding: both are
    // read only if the content is in fact JSON; parse_sbom_json names any other encoding.
    let summary = parse_sbom_json(bytes)?;
    if summary.format != expected {
        return Err(SbomError::FormatMismatch {
            media_type: shorten(media_type),
            expected,
            found: summary.format,
        });
    }
    Ok(summary)
}

fn essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn check_bytes(bytes: &[u8]) -> Result<(), SbomError> {
    if bytes.len() > MAX_SBOM_BYTES {
        return Err(SbomError::TooLarge {
            limit: MAX_SBOM_BYTES,
            found: bytes.len(),
        });
    }
    if json_too_deep(bytes) {
        return Err(SbomError::TooDeep {
            limit: MAX_JSON_DEPTH,
        });
    }
    Ok(())
}

/// What a document starting with `first` (its first non-blank byte) is, for error messages.
fn describe_json_start(first: Option<&u8>) -> &'static str {
    match first {
        None => "an empty document",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        Some(b) if b.is_ascii_digit() || *b == b'-' => "a number",
        Some(_) => "text that is not JSON",
    }
}

fn looks_like_tag_value(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    head.windows(12).any(|w| w == b"SPDXVersion:")
}

fn xml_unsupported() -> SbomError {
    SbomError::Unsupported {
        what: "an XML SBOM",
        hint: "; convert it to JSON before capture",
    }
}

fn tag_value_unsupported() -> SbomError {
    SbomError::Unsupported {
        what: "an SPDX tag-value document",
        hint: "; attest it with `cosign attest --type spdxjson` or convert it to SPDX JSON",
    }
}

fn syft_unsupported() -> SbomError {
    SbomError::Unsupported {
        what: "a syft JSON SBOM",
        hint: "; produce SPDX or CycloneDX JSON (`syft -o spdx-json` or `-o cyclonedx-json`)",
    }
}

fn shorten(s: &str) -> String {
    crate::text::shorten(s, 200)
}

/// Iterative depth check for a `Value` built elsewhere (no recursion, so no stack risk).
fn value_exceeds_depth(v: &Value, limit: usize) -> bool {
    let mut stack: Vec<(&Value, usize)> = vec![(v, 1)];
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Object(m) => Box::new(m.values()),
            Value::Array(a) => Box::new(a.iter()),
            _ => continue,
        };
        if depth > limit {
            return true;
        }
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    false
}

/// Only the fields a summary needs; everything else is skipped by serde without allocation.
#[derive(Deserialize)]
struct Skeleton<'a> {
    #[serde(rename = "spdxVersion")]
    spdx_version: Option<String>,
    #[serde(rename = "SPDXID")]
    spdx_id: Option<String>,
    name: Option<String>,
    #[serde(borrow)]
    packages: Option<Packages<'a>>,
    #[serde(rename = "bomFormat")]
    bom_format: Option<String>,
    #[serde(rename = "specVersion")]
    spec_version: Option<String>,
    metadata: Option<Obj<CdxMetadata>>,
    #[serde(borrow)]
    components: Option<Components<'a>>,
    #[serde(rename = "@context")]
    json_ld_context: Option<IgnoredAny>,
    #[serde(rename = "@graph")]
    json_ld_graph: Option<IgnoredAny>,
    artifacts: Option<IgnoredAny>,
    descriptor: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct CdxMetadata {
    component: Option<Obj<CdxMetadataComponent>>,
}

#[derive(Deserialize)]
struct CdxMetadataComponent {
    name: Option<String>,
}

impl<'a> Skeleton<'a> {
    fn summarize(self) -> Result<Sbom<'a>, SbomError> {
        match (self.spdx_version.is_some(), self.bom_format.is_some()) {
            (true, true) => Err(SbomError::AmbiguousFormat),
            (true, false) => self.summarize_spdx(),
            (false, true) => self.summarize_cyclonedx(),
            (false, false) => {
                if self.json_ld_context.is_some() || self.json_ld_graph.is_some() {
                    Err(SbomError::Unsupported {
                        what: "a JSON-LD document (SPDX 3)",
                        hint: "; only SPDX 2.x JSON is read",
                    })
                } else if self.artifacts.is_some() && self.descriptor.is_some() {
                    Err(syft_unsupported())
                } else {
                    Err(SbomError::UnknownFormat)
                }
            }
        }
    }

    /// Purls from both lists (a document names one format, but a ban must not miss a purl
    /// written under the other key), SPDX first.
    fn purls(
        packages: Option<Packages<'a>>,
        components: Option<Components<'a>>,
    ) -> Result<Vec<Cow<'a, str>>, SbomError> {
        let mut purls = Vec::new();
        let mut too_many = false;
        if let Some(p) = packages {
            purls = p.purls.list;
            too_many |= p.purls.too_many;
        }
        if let Some(c) = components {
            too_many |= c.purls.too_many;
            purls.extend(c.purls.list);
        }
        if too_many || purls.len() > MAX_PURLS {
            return Err(SbomError::TooManyPurls { limit: MAX_PURLS });
        }
        Ok(purls)
    }

    fn summarize_spdx(self) -> Result<Sbom<'a>, SbomError> {
        let version = self.spdx_version.unwrap_or_default();
        let minor_ok = version
            .strip_prefix("SPDX-2.")
            .is_some_and(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()));
        if !minor_ok {
            return Err(SbomError::UnsupportedSpdxVersion {
                found: shorten(&version),
            });
        }
        if self.spdx_id.as_deref() != Some(SPDX_DOCUMENT_ID) {
            return Err(SbomError::WrongSpdxId {
                found: self.spdx_id.map(|s| shorten(&s)),
            });
        }
        let packages = self.packages.as_ref().map_or(0, |p| p.count);
        if packages > MAX_PACKAGES {
            return Err(SbomError::TooManyPackages {
                limit: MAX_PACKAGES,
                found: packages,
            });
        }
        Ok(Sbom {
            purls: Self::purls(self.packages, self.components)?,
            summary: SbomSummary {
                format: SbomFormat::Spdx,
                spec_version: version,
                name: self.name,
                packages,
            },
        })
    }

    fn summarize_cyclonedx(self) -> Result<Sbom<'a>, SbomError> {
        let bom_format = self.bom_format.unwrap_or_default();
        if bom_format != "CycloneDX" {
            return Err(SbomError::WrongBomFormat {
                found: shorten(&bom_format),
            });
        }
        let spec_version = match self.spec_version {
            Some(v)
                if v.strip_prefix("1.")
                    .is_some_and(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit())) =>
            {
                v
            }
            other => {
                return Err(SbomError::UnsupportedCycloneDxVersion {
                    found: other.map(|s| shorten(&s)),
                })
            }
        };
        let (count, too_deep) = self
            .components
            .as_ref()
            .map_or((0, false), |c| (c.count, c.too_deep));
        if too_deep {
            return Err(SbomError::ComponentsTooDeep {
                limit: MAX_COMPONENT_DEPTH,
            });
        }
        if count > MAX_COMPONENTS {
            return Err(SbomError::TooManyComponents {
                limit: MAX_COMPONENTS,
                found: count,
            });
        }
        let name = self
            .metadata
            .and_then(|Obj(m)| m.component)
            .and_then(|Obj(c)| c.name);
        Ok(Sbom {
            purls: Self::purls(self.packages, self.components)?,
            summary: SbomSummary {
                format: SbomFormat::CycloneDx,
                spec_version,
                name,
                packages: count,
            },
        })
    }
}

/// Package URLs collected while walking, capped at [`MAX_PURLS`].
#[derive(Default)]
struct PurlList<'a> {
    list: Vec<Cow<'a, str>>,
    too_many: bool,
}

impl<'a> PurlList<'a> {
    fn push(&mut self, p: Cow<'a, str>) {
        if self.list.len() >= MAX_PURLS {
            self.too_many = true;
        } else {
            self.list.push(p);
        }
    }
}

/// The keys the walker looks at; every other key is skipped (no allocation for borrowed keys).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Components,
    Purl,
    ExternalRefs,
    ReferenceType,
    ReferenceLocator,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "components" => Key::Components,
                    "purl" => Key::Purl,
                    "externalRefs" => Key::ExternalRefs,
                    "referenceType" => Key::ReferenceType,
                    "referenceLocator" => Key::ReferenceLocator,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_str(V)
    }
}

/// The number and boolean visits of a visitor that accepts any JSON value and takes nothing
/// from those: each returns `$none`.
macro_rules! ignore_scalars {
    ($none:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
}

/// Any JSON value, kept only when it is a string (borrowed when it has no escapes). Where a
/// purl field holds something else the entry simply names no purl, as a `Value` walk would.
struct MaybeStr<'a>(Option<Cow<'a, str>>);

impl<'de: 'p, 'p> Deserialize<'de> for MaybeStr<'p> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'p>(std::marker::PhantomData<&'p ()>);
        impl<'de: 'p, 'p> Visitor<'de> for V<'p> {
            type Value = MaybeStr<'p>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(MaybeStr(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(MaybeStr(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(MaybeStr(Some(Cow::Owned(v))))
            }
            ignore_scalars!(MaybeStr(None));
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(MaybeStr(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(MaybeStr(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(MaybeStr(None))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// SPDX `packages`: an array of objects, counted, with the purls of their `externalRefs`.
struct Packages<'a> {
    count: usize,
    purls: PurlList<'a>,
}

impl<'de: 'p, 'p> Deserialize<'de> for Packages<'p> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'p>(std::marker::PhantomData<&'p ()>);
        impl<'de: 'p, 'p> Visitor<'de> for V<'p> {
            type Value = Packages<'p>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of objects")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Packages {
                    count: 0,
                    purls: PurlList::default(),
                };
                while seq
                    .next_element_seed(PackageSeed(&mut out.purls))?
                    .is_some()
                {
                    out.count = out.count.saturating_add(1);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

/// One SPDX package object; only `externalRefs` is read.
struct PackageSeed<'a, 'p>(&'a mut PurlList<'p>);

impl<'de: 'p, 'p> DeserializeSeed<'de> for PackageSeed<'_, 'p> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de: 'p, 'p> Visitor<'de> for PackageSeed<'_, 'p> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an SPDX package object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Key>()? {
            if key == Key::ExternalRefs {
                map.next_value_seed(ExternalRefsSeed(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// A package's `externalRefs`: any value; when it is an array, its `purl`-typed entries count.
struct ExternalRefsSeed<'a, 'p>(&'a mut PurlList<'p>);

impl<'de: 'p, 'p> DeserializeSeed<'de> for ExternalRefsSeed<'_, 'p> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de: 'p, 'p> Visitor<'de> for ExternalRefsSeed<'_, 'p> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(r) = seq.next_element::<ExternalRef>()? {
            if r.is_purl {
                for l in r.locators {
                    self.0.push(l);
                }
            }
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }
    ignore_scalars!(());
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// One `externalRefs` entry: any value; an object with `referenceType: purl` names its
/// `referenceLocator` (every one, if the key repeats).
struct ExternalRef<'a> {
    is_purl: bool,
    locators: Vec<Cow<'a, str>>,
}

impl<'de: 'p, 'p> Deserialize<'de> for ExternalRef<'p> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'p>(std::marker::PhantomData<&'p ()>);
        impl<'de: 'p, 'p> Visitor<'de> for V<'p> {
            type Value = ExternalRef<'p>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = ExternalRef {
                    is_purl: false,
                    locators: Vec::new(),
                };
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::ReferenceType => {
                            let MaybeStr(t) = map.next_value()?;
                            out.is_purl |= t.as_deref() == Some("purl");
                        }
                        Key::ReferenceLocator => {
                            if let MaybeStr(Some(l)) = map.next_value()? {
                                out.locators.push(l);
                            }
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(ExternalRef::none())
            }
            ignore_scalars!(ExternalRef::none());
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(ExternalRef::none())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(ExternalRef::none())
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl ExternalRef<'_> {
    fn none() -> Self {
        ExternalRef {
            is_purl: false,
            locators: Vec::new(),
        }
    }
}

/// CycloneDX `components`, counted recursively through nested `components`, with their purls.
#[derive(Default)]
struct Components<'a> {
    count: usize,
    too_deep: bool,
    purls: PurlList<'a>,
}

impl<'de: 'p, 'p> Deserialize<'de> for Components<'p> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut acc = Components::default();
        ComponentsSeed {
            depth: 1,
            acc: &mut acc,
        }
        .deserialize(d)?;
        Ok(acc)
    }
}

/// A `components` array at nesting level `depth`.
struct ComponentsSeed<'a, 'p> {
    depth: usize,
    acc: &'a mut Components<'p>,
}

impl<'de: 'p, 'p> DeserializeSeed<'de> for ComponentsSeed<'_, 'p> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.depth > MAX_COMPONENT_DEPTH {
            self.acc.too_deep = true;
            IgnoredAny::deserialize(d)?;
            return Ok(());
        }
        d.deserialize_seq(self)
    }
}

impl<'de: 'p, 'p> Visitor<'de> for ComponentsSeed<'_, 'p> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of component objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let depth = self.depth;
        let acc = self.acc;
        while seq
            .next_element_seed(ComponentSeed {
                depth,
                acc: &mut *acc,
            })?
            .is_some()
        {
            acc.count = acc.count.saturating_add(1);
        }
        Ok(())
    }
}

/// One component object at nesting level `depth`; only its `purl` and `components` keys are
/// read.
struct ComponentSeed<'a, 'p> {
    depth: usize,
    acc: &'a mut Components<'p>,
}

impl<'de: 'p, 'p> DeserializeSeed<'de> for ComponentSeed<'_, 'p> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de: 'p, 'p> Visitor<'de> for ComponentSeed<'_, 'p> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a component object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen_components = false;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Components => {
                    if seen_components {
                        return Err(de::Error::duplicate_field("components"));
                    }
                    seen_components = true;
                    map.next_value_seed(ComponentsSeed {
                        depth: self.depth + 1,
                        acc: &mut *self.acc,
                    })?;
                }
                Key::Purl => {
                    if let MaybeStr(Some(p)) = map.next_value()? {
                        self.acc.purls.push(p);
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn purls_of(v: &Value) -> Vec<String> {
        let from_value = read_sbom_value(v).unwrap().purls;
        let text = serde_json::to_vec(v).unwrap();
        let from_bytes = read_sbom_json(&text).unwrap().purls;
        assert_eq!(from_value, from_bytes, "bytes and value paths agree");
        from_bytes.into_iter().map(Cow::into_owned).collect()
    }

    #[test]
    fn spdx_purls_come_from_purl_typed_external_refs_only() {
        let doc = json!({"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "packages": [
            {"name": "a", "externalRefs": [
                {"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": "cpe:2.3:a:a:a:1:*:*:*:*:*:*:*"},
                {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:npm/a@1"}]},
            {"name": "b"},
            {"name": "c", "externalRefs": "not a list"},
            {"name": "d", "externalRefs": [7, null, {"referenceType": "purl", "referenceLocator": 5}]},
            {"name": "e", "externalRefs": [{"referenceLocator": "pkg:npm/e%40x@2", "referenceType": "purl"}]}]});
        assert_eq!(purls_of(&doc), ["pkg:npm/a@1", "pkg:npm/e%40x@2"]);
    }

    #[test]
    fn cyclonedx_purls_include_nested_components() {
        let doc = json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
            {"purl": "pkg:npm/b@2", "components": [{"purl": "pkg:npm/c@3"}]}, {"name": "nopurl"},
            {"purl": {"not": "a string"}}]});
        let mut found = purls_of(&doc);
        found.sort();
        assert_eq!(found, ["pkg:npm/b@2", "pkg:npm/c@3"]);
    }

    #[test]
    fn escaped_purl_strings_are_unescaped() {
        let text = br#"{"bomFormat":"CycloneDX","specVersion":"1.4","components":[{"purl":"pkg:npm\/x@1"}]}"#;
        let purls = read_sbom_json(text).unwrap().purls;
        assert_eq!(purls, [Cow::<str>::Owned("pkg:npm/x@1".into())]);
    }

    #[test]
    fn purls_past_the_nesting_limit_make_the_sbom_invalid() {
        let mut deep = json!([{"purl": "pkg:npm/z@1"}]);
        for _ in 0..MAX_COMPONENT_DEPTH + 1 {
            deep = json!([{"components": deep}]);
        }
        let doc = json!({"bomFormat": "CycloneDX", "specVersion": "1.4", "components": deep});
        assert!(matches!(
            read_sbom_value(&doc),
            Err(SbomError::ComponentsTooDeep { .. })
        ));
    }

    #[test]
    fn purl_list_stops_at_its_limit() {
        let mut list = PurlList::default();
        for _ in 0..MAX_PURLS {
            list.push(Cow::Borrowed("pkg:npm/a@1"));
        }
        assert!(!list.too_many);
        list.push(Cow::Borrowed("pkg:npm/a@1"));
        assert!(list.too_many);
        assert_eq!(list.list.len(), MAX_PURLS);
        let c = Components {
            purls: list,
            ..Default::default()
        };
        assert!(matches!(
            Skeleton::purls(None, Some(c)),
            Err(SbomError::TooManyPurls { limit: MAX_PURLS })
        ));
    }

    /// grype's CycloneDX attestation vector: the 14 of its 15 components that carry a purl are
    /// read (alpine packages), and a range ban matches one of them.
    #[test]
    fn grype_cyclonedx_attestation_vector_lists_its_purls() {
        use base64::Engine;
        let env: Value = serde_json::from_slice(include_bytes!(
            "../../testdata/vectors/grype/grype/pkg/testdata/alpine.cdx.att.json"
        ))
        .unwrap();
        let payload = base64::engine::general_purpose::STANDARD
            .decode(env["payload"].as_str().unwrap())
            .unwrap();
        let st: Value = serde_json::from_slice(&payload).unwrap();
        let sbom = read_sbom_value(&st["predicate"]).unwrap();
        let purls = crate::formats::purl::parse_listed(&sbom.purls);
        assert_eq!(purls.len(), 14);
        assert!(purls.iter().all(|p| p.ty == "alpine"));
        let ban =
            crate::formats::purl::Ban::parse("pkg:alpine/alpine-baselayout@<3.2.0-r19").unwrap();
        assert!(purls.iter().any(|p| ban.denies(p)));
    }

    fn spdx() -> Value {
        json!({"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
               "name": "alpine", "documentNamespace": "https://example.invalid/x",
               "creationInfo": {"created": "2025-01-01T00:00:00Z", "creators": ["Tool: syft-1.0.0"]},
               "packages": [{"SPDXID": "SPDXRef-Package-a", "name": "a"},
                            {"SPDXID": "SPDXRef-Package-b", "name": "b"}]})
    }

    fn cdx() -> Value {
        json!({"bomFormat": "CycloneDX", "specVersion": "1.4", "version": 1,
               "metadata": {"component": {"type": "container", "name": "app"}},
               "components": [{"type": "library", "name": "a",
                               "components": [{"name": "a1"}, {"name": "a2", "components": [{"name": "a2x"}]}]},
                              {"type": "library", "name": "b"}]})
    }

    fn bytes(v: &Value) -> Vec<u8> {
        serde_json::to_vec(v).unwrap()
    }

    #[test]
    fn spdx_document_is_summarized() {
        let s = parse_sbom_json(&bytes(&spdx())).unwrap();
        assert_eq!(
            s,
            SbomSummary {
                format: SbomFormat::Spdx,
                spec_version: "SPDX-2.3".into(),
                name: Some("alpine".into()),
                packages: 2
            }
        );
    }

    #[test]
    fn spdx_document_without_packages_has_zero() {
        let mut v = spdx();
        v.as_object_mut().unwrap().remove("packages");
        assert_eq!(parse_sbom_json(&bytes(&v)).unwrap().packages, 0);
    }

    #[test]
    fn cyclonedx_components_are_counted_recursively() {
        let s = parse_sbom_json(&bytes(&cdx())).unwrap();
        assert_eq!(s.format, SbomFormat::CycloneDx);
        assert_eq!(s.spec_version, "1.4");
        assert_eq!(s.name.as_deref(), Some("app"));
        assert_eq!(s.packages, 5);
    }

    #[test]
    fn value_and_bytes_paths_agree() {
        for v in [spdx(), cdx()] {
            assert_eq!(
                parse_sbom_value(&v).unwrap(),
                parse_sbom_json(&bytes(&v)).unwrap()
            );
        }
    }

    #[test]
    fn string_wrapped_spdx_predicate_is_unwrapped() {
        let text = serde_json::to_string(&spdx()).unwrap();
        let s = parse_sbom_value(&Value::String(text)).unwrap();
        assert_eq!(s.packages, 2);
    }

    #[test]
    fn string_wrapped_tag_value_predicate_is_unsupported() {
        let text = "SPDXVersion: SPDX-2.2\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\n";
        let err = parse_sbom_value(&Value::String(text.into())).unwrap_err();
        assert!(matches!(err, SbomError::Unsupported { .. }), "{err}");
        assert!(err.to_string().contains("tag-value"), "{err}");
    }

    #[test]
    fn doubly_string_wrapped_predicate_is_rejected() {
        let inner = serde_json::to_string(&spdx()).unwrap();
        let outer = serde_json::to_string(&inner).unwrap();
        assert!(parse_sbom_value(&Value::String(outer)).is_err());
    }

    #[test]
    fn non_object_document_is_rejected_naming_what_it_is() {
        let err = parse_sbom_json(b" [1, 2]").unwrap_err();
        assert!(
            matches!(err, SbomError::NotAnObject { found: "an array" }),
            "{err}"
        );
        let err = parse_sbom_json(b"").unwrap_err();
        assert!(
            matches!(
                err,
                SbomError::NotAnObject {
                    found: "an empty document"
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn non_object_predicate_is_rejected() {
        assert!(matches!(
            parse_sbom_value(&json!([1])),
            Err(SbomError::NotAnObject { .. })
        ));
        assert!(matches!(
            parse_sbom_value(&Value::Null),
            Err(SbomError::NotAnObject { .. })
        ));
    }

    #[test]
    fn spdx_3_version_is_rejected() {
        let mut v = spdx();
        v["spdxVersion"] = json!("SPDX-3.0");
        let err = parse_sbom_json(&bytes(&v)).unwrap_err();
        assert!(
            matches!(err, SbomError::UnsupportedSpdxVersion { .. }),
            "{err}"
        );
    }

    #[test]
    fn spdx_json_ld_is_unsupported() {
        let v = json!({"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": []});
        assert!(matches!(
            parse_sbom_json(&bytes(&v)),
            Err(SbomError::Unsupported { .. })
        ));
    }

    #[test]
    fn syft_json_is_unsupported() {
        let v = json!({"artifacts": [], "source": {}, "distro": {}, "descriptor": {"name": "syft"}, "schema": {}});
        let err = parse_sbom_json(&bytes(&v)).unwrap_err();
        assert!(err.to_string().contains("syft"), "{err}");
    }

    #[test]
    fn wrong_spdx_id_is_rejected() {
        let mut v = spdx();
        v["SPDXID"] = json!("SPDXRef-Other");
        assert!(matches!(
            parse_sbom_json(&bytes(&v)),
            Err(SbomError::WrongSpdxId { .. })
        ));
        v.as_object_mut().unwrap().remove("SPDXID");
        assert!(matches!(
            parse_sbom_json(&bytes(&v)),
            Err(SbomError::WrongSpdxId { found: None })
        ));
    }

    #[test]
    fn spdx_package_that_is_not_an_object_is_rejected() {
        let mut v = spdx();
        v["packages"] = json!([{"name": "a"}, "b"]);
        assert!(matches!(
            parse_sbom_json(&bytes(&v)),
            Err(SbomError::Json(_))
        ));
        assert!(matches!(parse_sbom_value(&v), Err(SbomError::Json(_))));
    }

    #[test]
    fn cyclonedx_metadata_written_as_array_is_rejected() {
        let mut v = cdx();
        v["metadata"] = json!([{"name": "app"}]);
        assert!(matches!(
            parse_sbom_json(&bytes(&v)),
            Err(SbomError::Json(_))
        ));
        assert!(matches!(parse_sbom_value(&v), Err(SbomError::Json(_))));
    }

    #[test]
    fn wrong_bom_format_is_rejected() {
        let mut v = cdx();
        v["bomFormat"] = json!("cyclonedx");
        assert!(matches!(
            parse_sbom_json(&bytes(&v)),
            Err(SbomError::WrongBomFormat { .. })
        ));
    }

    #[test]
    fn missing_cyclonedx_spec_version_is_rejected() {
        let mut v = cdx();
        v.as_object_mut().unwrap().remove("specVersion");
        assert!(matches!(
            parse_sbom_json(&bytes(&v)),
            Err(SbomError::UnsupportedCycloneDxVersion { found: None })
        ));
    }

    #[test]
    fn both_formats_in_one_document_is_rejected() {
        let mut v = spdx();
        v["bomFormat"] = json!("CycloneDX");
        assert!(matches!(
            parse_sbom_json(&bytes(&v)),
            Err(SbomError::AmbiguousFormat)
        ));
    }

    #[test]
    fn unrelated_json_is_not_an_sbom() {
        assert!(matches!(
            parse_sbom_json(br#"{"hello":"world"}"#),
            Err(SbomError::UnknownFormat)
        ));
    }

    #[test]
    fn truncated_json_is_rejected() {
        let b = bytes(&spdx());
        assert!(matches!(
            parse_sbom_json(&b[..b.len() - 3]),
            Err(SbomError::Json(_))
        ));
    }

    #[test]
    fn xml_bytes_are_unsupported() {
        let err = parse_sbom_json(b"<?xml version=\"1.0\"?><bom/>").unwrap_err();
        assert!(err.to_string().contains("XML"), "{err}");
    }

    #[test]
    fn oversized_sbom_is_limit_error() {
        let big = vec![b' '; MAX_SBOM_BYTES + 1];
        assert!(matches!(
            parse_sbom_json(&big),
            Err(SbomError::TooLarge { .. })
        ));
    }

    #[test]
    fn deeply_nested_json_is_depth_error() {
        let doc = format!(
            "{{\"a\":{}{}}}",
            "[".repeat(MAX_JSON_DEPTH),
            "]".repeat(MAX_JSON_DEPTH)
        );
        assert!(matches!(
            parse_sbom_json(doc.as_bytes()),
            Err(SbomError::TooDeep { .. })
        ));
    }

    #[test]
    fn deeply_nested_value_is_depth_error() {
        let mut v = json!(1);
        for _ in 0..=MAX_JSON_DEPTH {
            v = json!([v]);
        }
        let doc = json!({"bomFormat": "CycloneDX", "specVersion": "1.4", "x": v});
        assert!(matches!(
            parse_sbom_value(&doc),
            Err(SbomError::TooDeep { .. })
        ));
    }

    #[test]
    fn components_nested_past_the_limit_are_depth_error() {
        let mut c = json!({"name": "leaf"});
        for _ in 0..MAX_COMPONENT_DEPTH {
            c = json!({"name": "n", "components": [c]});
        }
        let doc = json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [c]});
        let err = parse_sbom_json(&bytes(&doc)).unwrap_err();
        assert!(matches!(err, SbomError::ComponentsTooDeep { .. }), "{err}");
    }

    #[test]
    fn components_nested_to_the_limit_are_counted() {
        let mut c = json!({"name": "leaf"});
        for _ in 1..MAX_COMPONENT_DEPTH {
            c = json!({"name": "n", "components": [c]});
        }
        let doc = json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [c]});
        assert_eq!(
            parse_sbom_json(&bytes(&doc)).unwrap().packages,
            MAX_COMPONENT_DEPTH
        );
    }

    #[test]
    fn duplicate_components_key_is_rejected() {
        let doc = br#"{"bomFormat":"CycloneDX","specVersion":"1.4","components":[{"components":[],"components":[{}]}]}"#;
        assert!(matches!(parse_sbom_json(doc), Err(SbomError::Json(_))));
    }

    #[test]
    fn media_types_are_classified() {
        assert_eq!(
            sbom_media_type_kind("text/spdx+json"),
            Some(SbomFormat::Spdx)
        );
        assert_eq!(sbom_media_type_kind("text/spdx"), Some(SbomFormat::Spdx));
        assert_eq!(
            sbom_media_type_kind("application/vnd.cyclonedx+json; version=1.4"),
            Some(SbomFormat::CycloneDx)
        );
        assert_eq!(
            sbom_media_type_kind("Application/VND.CycloneDX+XML"),
            Some(SbomFormat::CycloneDx)
        );
        assert_eq!(sbom_media_type_kind("application/vnd.syft+json"), None);
        assert_eq!(sbom_media_type_kind("application/json"), None);
    }

    #[test]
    fn json_layer_of_the_named_format_is_read() {
        let s = parse_sbom_layer("text/spdx+json", &bytes(&spdx())).unwrap();
        assert_eq!(s.format, SbomFormat::Spdx);
        let s = parse_sbom_layer("application/vnd.cyclonedx", &bytes(&cdx())).unwrap();
        assert_eq!(s.format, SbomFormat::CycloneDx);
    }

    #[test]
    fn xml_layer_is_unsupported_not_passed() {
        let err = parse_sbom_layer("application/vnd.cyclonedx+xml", b"<bom/>").unwrap_err();
        assert!(matches!(err, SbomError::Unsupported { .. }), "{err}");
        let err = parse_sbom_layer("text/spdx+xml", &bytes(&spdx())).unwrap_err();
        assert!(matches!(err, SbomError::Unsupported { .. }), "{err}");
    }

    #[test]
    fn tag_value_layer_is_unsupported_not_passed() {
        let err = parse_sbom_layer(
            "text/spdx",
            b"SPDXVersion: SPDX-2.2\nDataLicense: CC0-1.0\n",
        )
        .unwrap_err();
        assert!(matches!(err, SbomError::Unsupported { .. }), "{err}");
    }

    #[test]
    fn syft_layer_is_unsupported() {
        let err = parse_sbom_layer("application/vnd.syft+json", b"{}").unwrap_err();
        assert!(err.to_string().contains("syft"), "{err}");
    }

    #[test]
    fn layer_whose_content_contradicts_its_media_type_is_rejected() {
        let err = parse_sbom_layer("text/spdx+json", &bytes(&cdx())).unwrap_err();
        assert!(matches!(err, SbomError::FormatMismatch { .. }), "{err}");
    }

    #[test]
    fn non_sbom_media_type_is_rejected() {
        let err = parse_sbom_layer("application/octet-stream", b"{}").unwrap_err();
        assert!(matches!(err, SbomError::NotSbomMediaType { .. }), "{err}");
    }

    #[test]
    fn summary_serializes_with_lowercase_format() {
        let s = parse_sbom_json(&bytes(&cdx())).unwrap();
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["format"], json!("cyclonedx"));
        assert_eq!(v["packages"], json!(5));
    }
}

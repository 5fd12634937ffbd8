//! Signing keys held in a PKCS#11 token (a hardware security module, a smart card, SoftHSM2),
//! used through the `cryptoki` crate. The private key never leaves the token: airlock asks the
//! token to sign a SHA-256 digest with `CKM_ECDSA` and turns the token's raw `r||s` answer into
//! the ASN.1 DER signature that file keys produce, so signatures verify the same way.
//!
//! Keys are named by a PKCS#11 URI (RFC 7512) as cosign writes them:
//!
//! ```text
//! pkcs11:token=airlock;object=gate?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234
//! ```
//!
//! - path attributes (`;`-separated): `token` (token label), `object` (key label), `id` (key
//!   `CKA_ID`, percent-encoded bytes), `slot-id`, `serial`, `manufacturer`, `model`, `type`
//!   (`private` when given); other standard attributes are accepted and ignored;
//! - query attributes (`&`-separated): `module-path` (the PKCS#11 library), `pin-value`,
//!   `pin-source` (`file:/path` or a path: the PIN is the file's first line).
//!
//! Without `module-path` the library is `$AIRLOCK_PKCS11_MODULE`, else SoftHSM2's Debian path
//! [`DEFAULT_MODULE`]. Without `pin-value`/`pin-source` the PIN is `$AIRLOCK_PKCS11_PIN`; the
//! command line may prompt for it on a terminal.
//!
//! Only ECDSA P-256 keys are used (cosign's default and what `keys generate --pkcs11` creates).
#![allow(clippy::disallowed_methods)] // an edge: file I/O (and clocks for timeouts) live here by design

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

use super::{KeyAlgorithm, PublicKey};

/// The URI scheme prefix that marks a key reference as a PKCS#11 URI.
pub const URI_PREFIX: &str = "pkcs11:";
/// Longest PKCS#11 URI accepted.
pub const MAX_URI_BYTES: usize = 4096;
/// Largest PIN file (`pin-source=`) read.
pub const MAX_PIN_FILE_BYTES: u64 = 1024;
/// Most objects a URI may match before it is called ambiguous (and the search stops).
pub const MAX_MATCHED_OBJECTS: usize = 16;
/// Largest `CKA_EC_POINT`/`CKA_EC_PARAMS` value accepted from a token.
pub const MAX_EC_ATTRIBUTE_BYTES: usize = 256;
/// Environment variable holding the user PIN when the URI has none.
pub const PIN_ENV: &str = "AIRLOCK_PKCS11_PIN";
/// Environment variable naming the PKCS#11 library when the URI has no `module-path`.
pub const MODULE_ENV: &str = "AIRLOCK_PKCS11_MODULE";
/// The PKCS#11 library used when neither `module-path` nor `AIRLOCK_PKCS11_MODULE` is given:
/// SoftHSM2 as Debian and Ubuntu install it.
pub const DEFAULT_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// DER of the named-curve OID for P-256 (`CKA_EC_PARAMS` of a P-256 key).
const P256_EC_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// The P-256 curve OID body (without tag and length).
const P256_OID: [u8; 8] = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// Why a PKCS#11 key could not be found, opened, generated or used.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum Pkcs11Error {
    /// The URI is longer than [`MAX_URI_BYTES`].
    #[error("the pkcs11: URI is {found} bytes, over the limit of {limit}; check what was given")]
    UriTooLong { found: usize, limit: usize },
    /// The URI does not parse.
    #[error(
        "malformed pkcs11: URI ({0}); expected pkcs11:token=TOKEN;object=LABEL with optional \
         ?module-path=/path/lib.so&pin-value=PIN (RFC 7512)"
    )]
    Uri(String),
    /// The PIN file of `pin-source` could not be read.
    #[error("pin-source {}: {err}; give a readable file holding the PIN, or set AIRLOCK_PKCS11_PIN", path.display())]
    PinFile { path: PathBuf, err: String },
    /// No PIN was given anywhere.
    #[error(
        "token \"{token}\" needs its user PIN and none was given; add pin-value=PIN or \
         pin-source=file:/path to the URI's query, or set AIRLOCK_PKCS11_PIN"
    )]
    PinRequired { token: String },
    /// The PKCS#11 library file does not exist.
    #[error(
        "PKCS#11 module {} not found ({why}); give the token's library with module-path= in the \
         URI or AIRLOCK_PKCS11_MODULE (SoftHSM2 on Debian: apt-get install softhsm2, which \
         provides /usr/lib/softhsm/libsofthsm2.so)", path.display()
    )]
    ModuleNotFound { path: PathBuf, why: String },
    /// The PKCS#11 library could not be loaded or initialised.
    #[error(
        "PKCS#11 module {} could not be loaded: {err}; expected a PKCS#11 library (.so) \
         exporting C_GetFunctionList", path.display()
    )]
    Module { path: PathBuf, err: String },
    /// No token matches the URI.
    #[error(
        "no token {wanted} in PKCS#11 module {}; tokens present: {}; check token= (the label \
         given at `softhsm2-util --init-token --label`) and, for SoftHSM2, SOFTHSM2_CONF",
        module.display(),
        if available.is_empty() { "none".to_string() } else { available.join(", ") }
    )]
    TokenNotFound {
        wanted: String,
        module: PathBuf,
        available: Vec<String>,
    },
    /// More than one token matches the URI.
    #[error(
        "the URI matches {count} tokens ({}); name one with token=LABEL or slot-id=N",
        labels.join(", ")
    )]
    AmbiguousToken { count: usize, labels: Vec<String> },
    /// The PIN was refused.
    #[error(
        "wrong PIN for token \"{token}\": the token refused the user PIN taken from \
         {source_name} (expected the token's user PIN, not the security officer's); check it \
         before trying again: tokens lock the PIN after a few wrong tries"
    )]
    WrongPin { token: String, source_name: String },
    /// The user PIN is locked.
    #[error(
        "the user PIN of token \"{token}\" is locked after too many wrong tries; the security \
         officer must reset it (e.g. `softhsm2-util` or the HSM vendor's tool)"
    )]
    PinLocked { token: String },
    /// No private key matches the URI in the token.
    #[error(
        "no private key {wanted} in token \"{token}\"; create one with `airlock keys generate \
         --pkcs11 URI --out PREFIX` or check object= (the key's label)"
    )]
    ObjectNotFound { wanted: String, token: String },
    /// More than one private key matches.
    #[error(
        "{wanted} matches {count} private keys in token \"{token}\"; add id=... to the URI to \
         pick one"
    )]
    AmbiguousObject {
        wanted: String,
        token: String,
        count: usize,
    },
    /// `keys generate --pkcs11` would create a second key with a label already in use.
    #[error(
        "token \"{token}\" already holds a key labelled \"{label}\"; choose another object= \
         label, or use the existing key"
    )]
    ObjectExists { token: String, label: String },
    /// The key is not an ECDSA P-256 key, or its public key cannot be read.
    #[error("key {wanted} in token \"{token}\": {why}")]
    Key {
        wanted: String,
        token: String,
        why: String,
    },
    /// Any other failure reported by the token.
    #[error("PKCS#11 {op} failed on token \"{token}\": {err}")]
    Token {
        op: &'static str,
        token: String,
        err: String,
    },
}

/// A parsed `pkcs11:` URI. The PIN, when in the URI, is kept zeroed on drop.
#[derive(Default)]
pub struct Pkcs11Uri {
    pub token: Option<String>,
    pub object: Option<String>,
    pub id: Option<Vec<u8>>,
    pub slot_id: Option<u64>,
    pub serial: Option<String>,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub module_path: Option<PathBuf>,
    pin_value: Option<Zeroizing<String>>,
    pub pin_source: Option<String>,
}

impl fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Uri")
            .field("token", &self.token)
            .field("object", &self.object)
            .field("id", &self.id)
            .field("slot_id", &self.slot_id)
            .field("module_path", &self.module_path)
            .field("pin_value", &self.pin_value.as_ref().map(|_| "<hidden>"))
            .field("pin_source", &self.pin_source)
            .finish_non_exhaustive()
    }
}

/// True when `s` names a key by PKCS#11 URI rather than by file.
pub fn is_pkcs11_uri(s: &str) -> bool {
    s.get(..URI_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(URI_PREFIX))
}

fn pct_decode(what: &str, v: &str) -> Result<Vec<u8>, Pkcs11Error> {
    // Reject a stray '%' that is not followed by two hex digits: percent_decode would pass it on.
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let ok =
                b.len() > i + 2 && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit();
            if !ok {
                return Err(Pkcs11Error::Uri(format!(
                    "{what}: '%' must be followed by two hex digits"
                )));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(percent_encoding::percent_decode_str(v).collect())
}

fn pct_decode_utf8(what: &str, v: &str) -> Result<String, Pkcs11Error> {
    String::from_utf8(pct_decode(what, v)?)
        .map_err(|_| Pkcs11Error::Uri(format!("{what} is not UTF-8 after percent-decoding")))
}

impl Pkcs11Uri {
    /// Parses a `pkcs11:` URI (RFC 7512). Unknown standard attributes are ignored; a repeated
    /// attribute, an empty `object`, a non-numeric `slot-id` and unknown `type` values are errors.
    pub fn parse(uri: &str) -> Result<Pkcs11Uri, Pkcs11Error> {
        if uri.len() > MAX_URI_BYTES {
            return Err(Pkcs11Error::UriTooLong {
                found: uri.len(),
                limit: MAX_URI_BYTES,
            });
        }
        if !is_pkcs11_uri(uri) {
            return Err(Pkcs11Error::Uri("it does not start with pkcs11:".into()));
        }
        let rest = &uri[URI_PREFIX.len()..];
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut out = Pkcs11Uri::default();
        let mut seen: Vec<String> = Vec::new();
        let mut once = |name: &str| -> Result<(), Pkcs11Error> {
            if seen.iter().any(|s| s == name) {
                return Err(Pkcs11Error::Uri(format!("{name} is given twice")));
            }
            seen.push(name.to_string());
            Ok(())
        };
        for attr in path.split(';').filter(|a| !a.trim().is_empty()) {
            let (k, v) = attr
                .split_once('=')
                .ok_or_else(|| Pkcs11Error::Uri(format!("path attribute {attr:?} has no '='")))?;
            let k = k.trim();
            once(k)?;
            match k {
                "token" => out.token = Some(pct_decode_utf8("token", v)?),
                "object" => {
                    let o = pct_decode_utf8("object", v)?;
                    if o.is_empty() {
                        return Err(Pkcs11Error::Uri("object= is empty".into()));
                    }
                    out.object = Some(o);
                }
                "id" => out.id = Some(pct_decode("id", v)?),
                "slot-id" => {
                    out.slot_id = Some(v.trim().parse().map_err(|_| {
                        Pkcs11Error::Uri(format!("slot-id={v:?} is not a decimal number"))
                    })?)
                }
                "serial" => out.serial = Some(pct_decode_utf8("serial", v)?),
                "manufacturer" => out.manufacturer = Some(pct_decode_utf8("manufacturer", v)?),
                "model" => out.model = Some(pct_decode_utf8("model", v)?),
                "type" => match v {
                    "private" => {}
                    other => {
                        return Err(Pkcs11Error::Uri(format!(
                            "type={other}: a signing key is type=private"
                        )))
                    }
                },
                "library-manufacturer"
                | "library-description"
                | "library-version"
                | "slot-description"
                | "slot-manufacturer" => {}
                other => {
                    return Err(Pkcs11Error::Uri(format!(
                        "unknown path attribute {other:?}"
                    )))
                }
            }
        }
        for attr in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|a| !a.is_empty())
        {
            let (k, v) = attr
                .split_once('=')
                .ok_or_else(|| Pkcs11Error::Uri(format!("query attribute {attr:?} has no '='")))?;
            once(k)?;
            match k {
                "module-path" => {
                    out.module_path = Some(PathBuf::from(pct_decode_utf8("module-path", v)?))
                }
                "pin-value" => {
                    out.pin_value = Some(Zeroizing::new(pct_decode_utf8("pin-value", v)?))
                }
                "pin-source" => out.pin_source = Some(pct_decode_utf8("pin-source", v)?),
                "module-name" => {}
                other => {
                    return Err(Pkcs11Error::Uri(format!(
                        "unknown query attribute {other:?}"
                    )))
                }
            }
        }
        if out.pin_value.is_some() && out.pin_source.is_some() {
            return Err(Pkcs11Error::Uri(
                "give pin-value or pin-source, not both".into(),
            ));
        }
        Ok(out)
    }

    /// The PKCS#11 library: `module-path`, else `$AIRLOCK_PKCS11_MODULE`, else [`DEFAULT_MODULE`].
    pub fn module(&self) -> PathBuf {
        if let Some(p) = &self.module_path {
            return p.clone();
        }
        match std::env::var_os(MODULE_ENV) {
            Some(v) if !v.is_empty() => PathBuf::from(v),
            _ => PathBuf::from(DEFAULT_MODULE),
        }
    }

    /// The user PIN from the URI (`pin-value`, `pin-source`) or `$AIRLOCK_PKCS11_PIN`, with a
    /// name for where it came from; `None` when none of them gives one.
    pub fn pin(&self) -> Result<Option<(Zeroizing<String>, String)>, Pkcs11Error> {
        if let Some(p) = &self.pin_value {
            return Ok(Some((p.clone(), "pin-value in the URI".into())));
        }
        if let Some(src) = &self.pin_source {
            let path = Path::new(src.strip_prefix("file:").unwrap_or(src));
            return read_pin_file(path)
                .map(|p| Some((p, format!("pin-source {}", path.display()))));
        }
        Ok(std::env::var(PIN_ENV)
            .ok()
            .map(|p| (Zeroizing::new(p), PIN_ENV.to_string())))
    }

    /// A short description of the key for messages: `object="gate" id=0a0b`.
    pub fn describe_object(&self) -> String {
        let mut parts = Vec::new();
        if let Some(o) = &self.object {
            parts.push(format!("object=\"{o}\""));
        }
        if let Some(id) = &self.id {
            parts.push(format!("id={}", hex(id)));
        }
        if parts.is_empty() {
            "(any)".into()
        } else {
            parts.join(" ")
        }
    }

    fn describe_token(&self) -> String {
        let mut parts = Vec::new();
        if let Some(t) = &self.token {
            parts.push(format!("token=\"{t}\""));
        }
        if let Some(s) = self.slot_id {
            parts.push(format!("slot-id={s}"));
        }
        if let Some(s) = &self.serial {
            parts.push(format!("serial=\"{s}\""));
        }
        if let Some(s) = &self.manufacturer {
            parts.push(format!("manufacturer=\"{s}\""));
        }
        if let Some(s) = &self.model {
            parts.push(format!("model=\"{s}\""));
        }
        if parts.is_empty() {
            "(any)".into()
        } else {
            parts.join(" ")
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn read_pin_file(path: &Path) -> Result<Zeroizing<String>, Pkcs11Error> {
    use std::io::Read;
    let err = |e: String| Pkcs11Error::PinFile {
        path: path.to_path_buf(),
        err: e,
    };
    let f = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let mut buf = Zeroizing::new(Vec::new());
    f.take(MAX_PIN_FILE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| err(e.to_string()))?;
    if buf.len() as u64 > MAX_PIN_FILE_BYTES {
        return Err(err(format!(
            "over {MAX_PIN_FILE_BYTES} bytes, too large for a PIN file"
        )));
    }
    let text = std::str::from_utf8(&buf).map_err(|_| err("not UTF-8".into()))?;
    let line = text.lines().next().unwrap_or("");
    Ok(Zeroizing::new(line.trim_end_matches('\r').to_string()))
}

/// An ECDSA P-256 private key in a token, with an open, logged-in session.
pub struct Pkcs11Key {
    session: Mutex<Session>,
    key: ObjectHandle,
    public: PublicKey,
    token: String,
    wanted: String,
}

impl fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("token", &self.token)
            .field("object", &self.wanted)
            .finish_non_exhaustive()
    }
}

/// A token opened and logged in: the session plus names for messages.
struct OpenToken {
    session: Session,
    label: String,
}

fn token_err<'a>(op: &'static str, token: &'a str) -> impl Fn(CkError) -> Pkcs11Error + 'a {
    move |e| Pkcs11Error::Token {
        op,
        token: token.to_string(),
        err: e.to_string(),
    }
}

fn open_token(
    uri: &Pkcs11Uri,
    pin: Option<(Zeroizing<String>, String)>,
    rw: bool,
) -> Result<OpenToken, Pkcs11Error> {
    let module = uri.module();
    if !module.is_file() {
        let why = if module.exists() {
            "not a regular file".to_string()
        } else if uri.module_path.is_some() {
            "from module-path in the URI".to_string()
        } else if std::env::var_os(MODULE_ENV).is_some_and(|v| !v.is_empty()) {
            format!("from {MODULE_ENV}")
        } else {
            "the default".to_string()
        };
        return Err(Pkcs11Error::ModuleNotFound { path: module, why });
    }
    let module_err = |e: CkError| Pkcs11Error::Module {
        path: module.clone(),
        err: e.to_string(),
    };
    let ctx = Pkcs11::new(&module).map_err(module_err)?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(module_err(e)),
    }
    let slots = ctx.get_slots_with_token().map_err(module_err)?;
    let mut available = Vec::new();
    let mut matched: Vec<(Slot, String)> = Vec::new();
    for slot in slots {
        let Ok(info) = ctx.get_token_info(slot) else {
            continue;
        };
        if !info.token_initialized() {
            continue;
        }
        let label = info.label().trim_end().to_string();
        available.push(format!("\"{label}\" (slot-id={})", slot.id()));
        let ok = uri.token.as_deref().is_none_or(|t| t == label)
            && uri.slot_id.is_none_or(|s| s == slot.id())
            && uri
                .serial
                .as_deref()
                .is_none_or(|s| s == info.serial_number().trim_end())
            && uri
                .manufacturer
                .as_deref()
                .is_none_or(|s| s == info.manufacturer_id().trim_end())
            && uri
                .model
                .as_deref()
                .is_none_or(|s| s == info.model().trim_end());
        if ok {
            matched.push((slot, label));
        }
    }
    let (slot, label) = match matched.len() {
        0 => {
            return Err(Pkcs11Error::TokenNotFound {
                wanted: uri.describe_token(),
                module,
                available,
            })
        }
        1 => matched.remove(0),
        n => {
            return Err(Pkcs11Error::AmbiguousToken {
                count: n,
                labels: matched.into_iter().map(|(_, l)| l).collect(),
            })
        }
    };
    let info = ctx
        .get_token_info(slot)
        .map_err(token_err("C_GetTokenInfo", &label))?;
    if info.user_pin_locked() {
        return Err(Pkcs11Error::PinLocked { token: label });
    }
    let session = if rw {
        ctx.open_rw_session(slot)
    } else {
        ctx.open_ro_session(slot)
    }
    .map_err(token_err("C_OpenSession", &label))?;
    let login = if info.protected_authentication_path() && pin.is_none() {
        session.login(UserType::User, None)
    } else {
        let Some((pin, source_name)) = pin else {
            return Err(Pkcs11Error::PinRequired { token: label });
        };
        let auth = AuthPin::from(pin.as_str().to_string());
        match session.login(UserType::User, Some(&auth)) {
            Err(CkError::Pkcs11(
                RvError::PinIncorrect | RvError::PinLenRange | RvError::PinInvalid,
                _,
            )) => {
                return Err(Pkcs11Error::WrongPin {
                    token: label,
                    source_name,
                })
            }
            other => other,
        }
    };
    match login {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
            return Err(Pkcs11Error::PinLocked { token: label })
        }
        Err(e) => return Err(token_err("C_Login", &label)(e)),
    }
    Ok(OpenToken { session, label })
}

/// Search template for the URI's key: class, and label and id when given.
fn key_template(uri: &Pkcs11Uri, class: ObjectClass) -> Vec<Attribute> {
    let mut t = vec![Attribute::Class(class)];
    if let Some(o) = &uri.object {
        t.push(Attribute::Label(o.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        t.push(Attribute::Id(id.clone()));
    }
    t
}

fn find_bounded(t: &OpenToken, template: &[Attribute]) -> Result<Vec<ObjectHandle>, Pkcs11Error> {
    let mut out = Vec::new();
    let iter = t
        .session
        .iter_objects(template)
        .map_err(token_err("C_FindObjectsInit", &t.label))?;
    for h in iter {
        out.push(h.map_err(token_err("C_FindObjects", &t.label))?);
        if out.len() > MAX_MATCHED_OBJECTS {
            break;
        }
    }
    Ok(out)
}

/// Reads the P-256 public key of an object (`CKA_EC_PARAMS` + `CKA_EC_POINT`).
fn ec_public_key(t: &OpenToken, obj: ObjectHandle, wanted: &str) -> Result<PublicKey, Pkcs11Error> {
    let key_err = |why: String| Pkcs11Error::Key {
        wanted: wanted.to_string(),
        token: t.label.clone(),
        why,
    };
    let attrs = t
        .session
        .get_attributes(obj, &[AttributeType::EcParams, AttributeType::EcPoint])
        .map_err(token_err("C_GetAttributeValue", &t.label))?;
    let mut params = None;
    let mut point = None;
    for a in attrs {
        match a {
            Attribute::EcParams(p) => params = Some(p),
            Attribute::EcPoint(p) => point = Some(p),
            _ => {}
        }
    }
    let params = params.ok_or_else(|| {
        key_err(
            "it has no CKA_EC_PARAMS: not an elliptic-curve key; airlock needs ECDSA P-256".into(),
        )
    })?;
    if params != P256_EC_PARAMS {
        return Err(key_err(format!(
            "its curve (CKA_EC_PARAMS {}) is not P-256; airlock signs with ECDSA P-256 keys from \
             tokens (create one with `airlock keys generate --pkcs11`)",
            hex(&params[..params.len().min(MAX_EC_ATTRIBUTE_BYTES)])
        )));
    }
    let point =
        point.ok_or_else(|| key_err("its public point (CKA_EC_POINT) cannot be read".into()))?;
    if point.len() > MAX_EC_ATTRIBUTE_BYTES {
        return Err(key_err(format!(
            "CKA_EC_POINT is {} bytes, over the limit of {MAX_EC_ATTRIBUTE_BYTES}",
            point.len()
        )));
    }
    // PKCS#11 says DER OCTET STRING around the uncompressed point; some tokens return it bare.
    let raw: &[u8] = match point.as_slice() {
        [0x04, 0x41, rest @ ..] if rest.len() == 65 => rest,
        p if p.len() == 65 && p[0] == 0x04 => p,
        _ => {
            return Err(key_err(format!(
                "CKA_EC_POINT ({} bytes) is not an uncompressed P-256 point",
                point.len()
            )))
        }
    };
    PublicKey::from_ec_point(&P256_OID, raw).map_err(|e| key_err(e.to_string()))
}

impl Pkcs11Key {
    /// Opens the token the URI names, logs in with `pin` (see [`Pkcs11Uri::pin`]) and finds the
    /// private key and its public key (the public key object with the same label/id, or the
    /// private key's own `CKA_EC_POINT`).
    pub fn open(
        uri: &Pkcs11Uri,
        pin: Option<(Zeroizing<String>, String)>,
    ) -> Result<Pkcs11Key, Pkcs11Error> {
        let t = open_token(uri, pin, false)?;
        let wanted = uri.describe_object();
        let mut privs = find_bounded(&t, &key_template(uri, ObjectClass::PRIVATE_KEY))?;
        let key = match privs.len() {
            0 => {
                return Err(Pkcs11Error::ObjectNotFound {
                    wanted,
                    token: t.label,
                })
            }
            1 => privs.remove(0),
            n => {
                return Err(Pkcs11Error::AmbiguousObject {
                    wanted,
                    token: t.label,
                    count: n,
                })
            }
        };
        // The public half: the matching public key object (label and id of the private key).
        let id = t
            .session
            .get_attributes(key, &[AttributeType::Id])
            .ok()
            .and_then(|v| {
                v.into_iter().find_map(|a| match a {
                    Attribute::Id(id) => Some(id),
                    _ => None,
                })
            });
        let mut pub_template = key_template(uri, ObjectClass::PUBLIC_KEY);
        if uri.id.is_none() {
            if let Some(id) = id.filter(|i| !i.is_empty()) {
                pub_template.push(Attribute::Id(id));
            }
        }
        let pubs = find_bounded(&t, &pub_template)?;
        let public = match pubs.as_slice() {
            [one] => ec_public_key(&t, *one, &wanted)?,
            _ => ec_public_key(&t, key, &wanted).map_err(|_| Pkcs11Error::Key {
                wanted: wanted.clone(),
                token: t.label.clone(),
                why: "no single public key object with the same label and id holds its \
                      public key (CKA_EC_POINT), which airlock needs to name the key; import \
                      the public key into the token next to the private key"
                    .into(),
            })?,
        };
        Ok(Pkcs11Key {
            session: Mutex::new(t.session),
            key,
            public,
            token: t.label,
            wanted,
        })
    }

    /// Creates an ECDSA P-256 key pair in the token (label `object=`, required; `id=` or a
    /// random 16-byte id), private key sensitive and not extractable, and returns its public key.
    pub fn generate_p256(
        uri: &Pkcs11Uri,
        pin: Option<(Zeroizing<String>, String)>,
    ) -> Result<PublicKey, Pkcs11Error> {
        let Some(label) = uri.object.clone() else {
            return Err(Pkcs11Error::Uri(
                "object=LABEL is required to name the new key".into(),
            ));
        };
        let t = open_token(uri, pin, true)?;
        let existing = find_bounded(
            &t,
            &[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Label(label.as_bytes().to_vec()),
            ],
        )?;
        if !existing.is_empty() {
            return Err(Pkcs11Error::ObjectExists {
                token: t.label,
                label,
            });
        }
        let id = match &uri.id {
            Some(id) => id.clone(),
            None => {
                let mut id = vec![0u8; 16];
                ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id).map_err(
                    |_| Pkcs11Error::Token {
                        op: "key id generation",
                        token: t.label.clone(),
                        err: "the system random source failed".into(),
                    },
                )?;
                id
            }
        };
        let public_template = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::Encrypt(false),
            Attribute::Wrap(false),
            Attribute::Derive(false),
            Attribute::KeyType(KeyType::EC),
            Attribute::EcParams(P256_EC_PARAMS.to_vec()),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.clone()),
        ];
        let private_template = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Decrypt(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
            Attribute::KeyType(KeyType::EC),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id),
        ];
        let (public, _private) = t
            .session
            .generate_key_pair(
                &Mechanism::EccKeyPairGen,
                &public_template,
                &private_template,
            )
            .map_err(token_err(
                "C_GenerateKeyPair (CKM_EC_KEY_PAIR_GEN, P-256)",
                &t.label,
            ))?;
        ec_public_key(&t, public, &format!("object=\"{label}\""))
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The label of the token holding the key.
    pub fn token_label(&self) -> &str {
        &self.token
    }

    /// Signs `message`: SHA-256 here, `CKM_ECDSA` in the token, the raw `r||s` answer turned
    /// into ASN.1 DER (low-S), and the result checked against the public key before it is used.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Pkcs11Error> {
        debug_assert_eq!(self.public.algorithm(), KeyAlgorithm::EcdsaP256);
        let digest = ring::digest::digest(&ring::digest::SHA256, message);
        let raw = {
            let session = self.session.lock().map_err(|_| Pkcs11Error::Token {
                op: "C_Sign",
                token: self.token.clone(),
                err: "the session was poisoned by an earlier failure".into(),
            })?;
            session
                .sign(&Mechanism::Ecdsa, self.key, digest.as_ref())
                .map_err(token_err("C_Sign (CKM_ECDSA)", &self.token))?
        };
        let key_err = |why: String| Pkcs11Error::Key {
            wanted: self.wanted.clone(),
            token: self.token.clone(),
            why,
        };
        let sig = p256::ecdsa::Signature::from_slice(&raw).map_err(|_| {
            key_err(format!(
                "the token returned a {}-byte signature; expected 64 bytes (r||s of P-256)",
                raw.len()
            ))
        })?;
        let sig = sig.normalize_s().unwrap_or(sig);
        let der = sig.to_der().as_bytes().to_vec();
        self.public.verify(message, &der).map_err(|_| {
            key_err(
                "the token's signature does not verify with the public key object found \
                 next to it; the public and private objects with this label do not belong \
                 together"
                    .into(),
            )
        })?;
        Ok(der)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosign_style_uri_parses_with_module_and_pin() {
        let u = Pkcs11Uri::parse(
            "pkcs11:token=my%20token;slot-id=3;object=gate;id=%01%ff?module-path=/usr/lib/x.so&pin-value=12%2334",
        )
        .unwrap();
        assert_eq!(u.token.as_deref(), Some("my token"));
        assert_eq!(u.slot_id, Some(3));
        assert_eq!(u.object.as_deref(), Some("gate"));
        assert_eq!(u.id.as_deref(), Some(&[1u8, 255][..]));
        assert_eq!(u.module_path.as_deref(), Some(Path::new("/usr/lib/x.so")));
        let (pin, from) = u.pin().unwrap().unwrap();
        assert_eq!(pin.as_str(), "12#34");
        assert_eq!(from, "pin-value in the URI");
        assert!(!format!("{u:?}").contains("12#34"));
    }

    #[test]
    fn uri_with_bad_parts_is_refused_with_the_reason() {
        for (uri, why) in [
            ("file:/x", "does not start"),
            ("pkcs11:token=a;token=b", "twice"),
            ("pkcs11:object=", "empty"),
            ("pkcs11:slot-id=x", "slot-id"),
            ("pkcs11:object=a%zz", "hex digits"),
            ("pkcs11:type=cert", "type=private"),
            ("pkcs11:bogus=1", "unknown path attribute"),
            ("pkcs11:object=a?pin-value=1&pin-source=/p", "not both"),
            ("pkcs11:object=a?frob=1", "unknown query attribute"),
        ] {
            let e = Pkcs11Uri::parse(uri).unwrap_err().to_string();
            assert!(e.contains(why), "{uri}: {e}");
        }
        let long = format!("pkcs11:object={}", "a".repeat(MAX_URI_BYTES));
        assert!(matches!(
            Pkcs11Uri::parse(&long),
            Err(Pkcs11Error::UriTooLong { .. })
        ));
    }

    #[test]
    fn pin_source_reads_the_first_line_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pin");
        std::fs::write(&p, "4321\nignored\n").unwrap();
        let u =
            Pkcs11Uri::parse(&format!("pkcs11:object=a?pin-source=file:{}", p.display())).unwrap();
        assert_eq!(u.pin().unwrap().unwrap().0.as_str(), "4321");
    }

    #[test]
    fn missing_module_is_named() {
        let u = Pkcs11Uri::parse("pkcs11:object=a?module-path=/nonexistent/lib.so").unwrap();
        let e = Pkcs11Key::open(&u, None).unwrap_err().to_string();
        assert!(
            e.contains("/nonexistent/lib.so") && e.contains("not found"),
            "{e}"
        );
    }

    #[test]
    fn prefix_check_is_case_insensitive_and_safe_on_short_input() {
        assert!(is_pkcs11_uri("PKCS11:object=a"));
        assert!(!is_pkcs11_uri("pkcs"));
        assert!(!is_pkcs11_uri("keys/gate.key"));
        assert!(!is_pkcs11_uri("é"));
        assert!(!is_pkcs11_uri("pkcs1éé:x"));
    }
}

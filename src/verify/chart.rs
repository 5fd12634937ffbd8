//! Helm chart provenance (`.prov`), checked offline: the OpenPGP clear-signed message must
//! verify with a key of the rule's keyring, and its `files:` map must name the chart archive's
//! sha256. Pure: bytes in, findings out (the `pgp` crate does the OpenPGP work).
use std::io::Cursor;

use pgp::composed::{CleartextSignedMessage, Deserializable, SignedPublicKey};

use crate::oci::Digest;
use crate::report::{Code, Finding};

/// Largest keyring accepted.
pub const MAX_KEYRING_BYTES: usize = 4 * 1024 * 1024;
/// Most keys one keyring may hold.
pub const MAX_KEYRING_KEYS: usize = 1_000;
/// Largest `.prov` accepted.
pub const MAX_PROV_BYTES: usize = 1024 * 1024;

/// OpenPGP public keys (a Helm keyring), parsed once.
#[derive(Clone, Debug)]
pub struct Keyring {
    keys: Vec<SignedPublicKey>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("keyring is {0} bytes, over the {MAX_KEYRING_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("keyring holds more than {MAX_KEYRING_KEYS} keys")]
    TooManyKeys,
    #[error("not an OpenPGP public keyring (armored or binary): {0}")]
    Parse(String),
    #[error("the keyring holds no public key; expected `gpg --export [--armor] KEYID` output")]
    Empty,
}

impl Keyring {
    /// Parse armored (`-----BEGIN PGP PUBLIC KEY BLOCK-----`) or binary keys.
    pub fn parse(bytes: &[u8]) -> Result<Keyring, KeyringError> {
        if bytes.len() > MAX_KEYRING_BYTES {
            return Err(KeyringError::TooLarge(bytes.len()));
        }
        let armored = bytes
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .is_some_and(|i| bytes[i..].starts_with(b"-----BEGIN"));
        let iter: Box<dyn Iterator<Item = pgp::errors::Result<SignedPublicKey>>> = if armored {
            SignedPublicKey::from_armor_many(Cursor::new(bytes.to_vec()))
                .map_err(|e| KeyringError::Parse(e.to_string()))?
                .0
        } else {
            SignedPublicKey::from_bytes_many(Cursor::new(bytes.to_vec()))
                .map_err(|e| KeyringError::Parse(e.to_string()))?
        };
        let mut keys = Vec::new();
        for k in iter {
            if keys.len() >= MAX_KEYRING_KEYS {
                return Err(KeyringError::TooManyKeys);
            }
            keys.push(k.map_err(|e| KeyringError::Parse(e.to_string()))?);
        }
        if keys.is_empty() {
            return Err(KeyringError::Empty);
        }
        Ok(Keyring { keys })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Check a chart's provenance. `subject` names the chart in findings; `required` is the rule's
/// `helm.provenance: required`.
pub fn check_provenance(
    subject: &str,
    archive: &[u8],
    prov: Option<&[u8]>,
    keyring: Option<&Keyring>,
    required: bool,
) -> Vec<Finding> {
    let actual = Digest::sha256_of(archive);
    let Some(prov) = prov else {
        return if required {
            vec![Finding::error(
                Code::ChartProvenanceMissing,
                subject,
                "the rule requires helm provenance (helm.provenance: required), but the chart \
                 has no .prov file (expected a provenance layer \
                 application/vnd.cncf.helm.chart.provenance.v1.prov, captured from \
                 ARCHIVE.tgz.prov)",
            )]
        } else {
            Vec::new()
        };
    };
    let invalid = |message: String| {
        vec![Finding::error(
            Code::ChartProvenanceInvalid,
            subject,
            message,
        )]
    };
    if prov.len() > MAX_PROV_BYTES {
        return invalid(format!(
            ".prov is {} bytes, over the {MAX_PROV_BYTES}-byte limit",
            prov.len()
        ));
    }
    let Ok(text) = std::str::from_utf8(prov) else {
        return invalid(".prov is not UTF-8 text; expected an OpenPGP clear-signed message".into());
    };
    let msg = match CleartextSignedMessage::from_string(text) {
        Ok((m, _)) => m,
        Err(e) => return invalid(format!(".prov is not an OpenPGP clear-signed message: {e}")),
    };
    let Some(keyring) = keyring else {
        return invalid(
            "the rule has no helm.keyring to check the .prov signature with; expected \
             helm: {provenance: required, keyring: FILE}"
                .into(),
        );
    };
    let verified = keyring
        .keys
        .iter()
        .any(|k| msg.verify(k).is_ok() || k.public_subkeys.iter().any(|s| msg.verify(s).is_ok()));
    if !verified {
        return invalid(format!(
            "the .prov signature does not verify with any of the {} key(s) of the keyring: \
             signed by another key, or the signed text was changed",
            keyring.len()
        ));
    }
    // The signed body: Chart.yaml, a `...` line, then `files: {NAME.tgz: sha256:HEX}`.
    let body = msg.signed_text().replace("\r\n", "\n");
    let files_part = body.split("\n...\n").nth(1).unwrap_or_default().to_string();
    let files: Option<std::collections::BTreeMap<String, String>> =
        serde_yaml::from_str::<serde_yaml::Value>(&files_part)
            .ok()
            .and_then(|v| v.get("files").cloned())
            .and_then(|f| serde_yaml::from_value(f).ok());
    let Some(files) = files.filter(|f| !f.is_empty()) else {
        return invalid(
            "the signed .prov has no `files:` map after the `...` line; expected \
             `files: {CHART-VERSION.tgz: sha256:HEX}`"
                .into(),
        );
    };
    if files.values().any(|v| v.trim() == actual.to_string()) {
        return Vec::new();
    }
    invalid(format!(
        "the signed .prov names {} but the chart archive is {actual}: the archive was changed \
         after signing",
        files
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_prov_is_a_finding_only_when_required() {
        let f = check_provenance("c", b"tgz", None, None, true);
        assert_eq!(f[0].code, Code::ChartProvenanceMissing);
        assert!(check_provenance("c", b"tgz", None, None, false).is_empty());
    }

    #[test]
    fn garbage_prov_and_keyrings_are_refused() {
        let f = check_provenance("c", b"tgz", Some(b"not signed"), None, true);
        assert_eq!(f[0].code, Code::ChartProvenanceInvalid);
        assert!(matches!(
            Keyring::parse(
                b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n-----END PGP PUBLIC KEY BLOCK-----\n"
            ),
            Err(KeyringError::Parse(_))
        ));
        assert!(Keyring::parse(&vec![0u8; MAX_KEYRING_BYTES + 1]).is_err());
    }
}

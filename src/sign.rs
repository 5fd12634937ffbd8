//! Producing DSSE envelopes (signed lock, signed report).
use base64::Engine;
use serde::Serialize;

use crate::formats::dsse::pae;
use crate::keys::{KeyError, SigningKey};

#[derive(Serialize)]
struct OutSig {
    keyid: String,
    sig: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutEnvelope<'a> {
    payload_type: &'a str,
    payload: String,
    signatures: Vec<OutSig>,
}

/// Sign `payload` as a DSSE envelope (JSON bytes). The keyid is the key's `sha256:<hex>` id.
pub fn sign_envelope(
    payload_type: &str,
    payload: &[u8],
    key: &SigningKey,
) -> Result<Vec<u8>, KeyError> {
    let sig = key.sign(&pae(payload_type, payload))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let env = OutEnvelope {
        payload_type,
        payload: b64.encode(payload),
        signatures: vec![OutSig {
            keyid: key.public_key().key_id(),
            sig: b64.encode(sig),
        }],
    };
    let mut out = serde_json::to_vec_pretty(&env).unwrap_or_default();
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::dsse::Envelope;
    use crate::keys::KeyAlgorithm;

    #[test]
    fn signed_envelope_verifies_and_one_flipped_payload_byte_does_not() {
        let k = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let env = sign_envelope("application/x", b"hello", &k).unwrap();
        let e = Envelope::parse(&env).unwrap();
        assert!(e.verify(&k.public_key()).is_ok());
        let mut e2 = e.clone();
        e2.payload[0] ^= 1;
        assert!(e2.verify(&k.public_key()).is_err());
    }
}

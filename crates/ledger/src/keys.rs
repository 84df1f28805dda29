//! Public keys as text: the C2SP signed-note verifier key format, so an inspector can be
//! handed one line and check checkpoints with it alone.

use ed25519_dalek::VerifyingKey;

use crate::base64;
use crate::checkpoint::key_id;
use crate::error::LedgerError;

/// `"{name}+{key id hex}+{base64(0x01 || public key)}"`, the signed-note verifier key.
pub fn verifier_key(name: &str, key: &VerifyingKey) -> String {
    let id: String = key_id(name, key)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut blob = Vec::with_capacity(33);
    blob.push(0x01);
    blob.extend_from_slice(key.as_bytes());
    format!("{name}+{id}+{}", base64::encode(&blob))
}

/// Parses a verifier key written by [`verifier_key`]: its name and public key. The key id is
/// checked against the name and key, so a mistyped line is rejected rather than misused.
pub fn parse_verifier_key(text: &str) -> Result<(String, VerifyingKey), LedgerError> {
    let malformed = |reason| LedgerError::MalformedKey { reason };
    // The base64 key may itself contain `+`; the name and the hex id cannot.
    let mut parts = text.trim().splitn(3, '+');
    let (Some(name), Some(id), Some(blob), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("expected `name+keyid+base64key`"));
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(malformed("the name must be non-empty without whitespace"));
    }
    let blob = base64::decode(blob)
        .filter(|b| b.len() == 33 && b[0] == 0x01)
        .ok_or(malformed("the key is not an Ed25519 key in base64"))?;
    let mut bytes = [0; 32];
    bytes.copy_from_slice(&blob[1..]);
    let key =
        VerifyingKey::from_bytes(&bytes).map_err(|_| malformed("not a valid Ed25519 point"))?;
    let expected: String = key_id(name, &key)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if id != expected {
        return Err(malformed("the key id does not match the name and key"));
    }
    Ok((name.to_owned(), key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Signer;

    #[test]
    fn round_trips_and_rejects_edits() {
        // Seed 11's key encodes with a `+` in its base64.
        let key = Signer::from_seed([11; 32]).verifying_key();
        let text = verifier_key("kith.example/audit", &key);
        assert!(text.matches('+').count() > 2, "{text}");
        assert_eq!(
            parse_verifier_key(&text).unwrap(),
            ("kith.example/audit".to_string(), key)
        );
        let other_name = text.replacen("kith.example", "kith.exampla", 1);
        assert!(parse_verifier_key(&other_name).is_err());
        assert!(parse_verifier_key("kith+00+AAAA").is_err());
        assert!(parse_verifier_key("").is_err());
    }
}

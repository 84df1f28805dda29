//! Signed checkpoints in the C2SP `tlog-checkpoint` / `signed-note` text formats.
//!
//! A checkpoint body is three lines, `"{origin}\n{size}\n{base64 root}\n"`. A signed checkpoint
//! is a signed note: the body, a blank line, then one signature line
//! `"— {key name} {base64(key id || signature)}\n"`, where the Ed25519 signature is over the
//! body's bytes and the 4-byte key id is the first bytes of
//! `SHA-256(key name || "\n" || 0x01 || public key)`. The key name is the checkpoint's origin.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::base64;
use crate::error::LedgerError;
use crate::hash::Hash;

/// The C2SP signed-note signature type identifier for Ed25519.
const ED25519_TYPE: u8 = 0x01;
/// The prefix of a signed-note signature line: an em dash and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// A log's claim: "the tree of my first `size` entries has this root".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// Names the log; a non-empty line with no whitespace or `+` (it doubles as the key name).
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The text that is signed: `"{origin}\n{size}\n{base64 root}\n"`.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            base64::encode(&self.root)
        )
    }

    /// Parses a body written by [`body`](Self::body); strict, so each checkpoint has one text.
    pub fn parse_body(text: &str) -> Result<Self, LedgerError> {
        let malformed = |reason| LedgerError::MalformedCheckpoint { reason };
        let lines = text
            .strip_suffix('\n')
            .ok_or(malformed("body does not end in a newline"))?;
        let mut lines = lines.split('\n');
        let (Some(origin), Some(size), Some(root), None) =
            (lines.next(), lines.next(), lines.next(), lines.next())
        else {
            return Err(malformed("body is not exactly three lines"));
        };
        check_origin(origin)?;
        let canonical_size = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        let size = size
            .parse()
            .ok()
            .filter(|_| canonical_size)
            .ok_or(malformed(
                "size is not a decimal number without leading zeros",
            ))?;
        let root = base64::decode(root)
            .and_then(|bytes| Hash::try_from(bytes).ok())
            .ok_or(malformed("root is not 32 bytes of base64"))?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
        })
    }
}

fn check_origin(origin: &str) -> Result<(), LedgerError> {
    if origin.is_empty() || origin.contains(|c: char| c.is_whitespace() || c == '+') {
        return Err(LedgerError::MalformedCheckpoint {
            reason: "origin must be non-empty without whitespace or `+`",
        });
    }
    Ok(())
}

/// The signed-note key id of `key` under `name`.
pub fn key_id(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ED25519_TYPE]);
    h.update(key.as_bytes());
    let digest = h.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// Signs checkpoints with an Ed25519 key.
pub struct Signer {
    key: SigningKey,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        f.debug_struct("Signer")
            .field("verifying_key", &self.verifying_key())
            .finish()
    }
}

impl Signer {
    /// A signer from 32 secret seed bytes the caller supplies (from a key store or its own
    /// randomness — this crate has none).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// The public key that verifies this signer's checkpoints.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Signs `checkpoint`'s body, using its origin as the key name.
    ///
    /// Fails only if the origin could not be written as a signed note (empty, or containing
    /// whitespace or `+`).
    pub fn sign(&self, checkpoint: &Checkpoint) -> Result<SignedCheckpoint, LedgerError> {
        use ed25519_dalek::Signer as _;
        check_origin(&checkpoint.origin)?;
        let signature = self.key.sign(checkpoint.body().as_bytes());
        Ok(SignedCheckpoint {
            checkpoint: checkpoint.clone(),
            key_name: checkpoint.origin.clone(),
            key_id: key_id(&checkpoint.origin, &self.verifying_key()),
            signature: signature.to_bytes(),
        })
    }
}

/// A checkpoint with one signed-note signature. Its text form is its [`Display`](fmt::Display) output and
/// parses back with [`FromStr`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    /// The signature line's key name.
    pub key_name: String,
    /// The signature line's key id (see [`key_id`]).
    pub key_id: [u8; 4],
    /// The Ed25519 signature over the checkpoint body.
    pub signature: [u8; 64],
}

impl fmt::Display for SignedCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&self.key_id);
        blob.extend_from_slice(&self.signature);
        write!(
            f,
            "{}\n{SIG_PREFIX}{} {}\n",
            self.checkpoint.body(),
            self.key_name,
            base64::encode(&blob)
        )
    }
}

impl FromStr for SignedCheckpoint {
    type Err = LedgerError;

    /// Parses a signed note with exactly one signature line.
    fn from_str(text: &str) -> Result<Self, LedgerError> {
        let malformed = |reason| LedgerError::MalformedCheckpoint { reason };
        let split = text
            .find("\n\n")
            .ok_or(malformed("no blank line before the signature"))?;
        let (body, signatures) = (&text[..=split], &text[split + 2..]);
        let checkpoint = Checkpoint::parse_body(body)?;
        let line = signatures
            .strip_suffix('\n')
            .filter(|line| !line.contains('\n'))
            .ok_or(malformed(
                "expected exactly one signature line ending in a newline",
            ))?;
        let (key_name, blob) = line
            .strip_prefix(SIG_PREFIX)
            .and_then(|rest| rest.split_once(' '))
            .ok_or(malformed("signature line is not `— <name> <base64>`"))?;
        check_origin(key_name)?;
        let blob = base64::decode(blob)
            .filter(|blob| blob.len() == 68)
            .ok_or(malformed("signature is not 68 bytes of base64"))?;
        let mut key_id = [0; 4];
        let mut signature = [0; 64];
        key_id.copy_from_slice(&blob[..4]);
        signature.copy_from_slice(&blob[4..]);
        Ok(Self {
            checkpoint,
            key_name: key_name.to_owned(),
            key_id,
            signature,
        })
    }
}

/// Checks that `signed` carries `key`'s valid signature over its checkpoint body.
pub fn verify(signed: &SignedCheckpoint, key: &VerifyingKey) -> Result<(), LedgerError> {
    if signed.key_id != key_id(&signed.key_name, key) {
        return Err(LedgerError::WrongKey {
            name: signed.key_name.clone(),
            key_id: to_hex_4(&signed.key_id),
        });
    }
    let signature = Signature::from_bytes(&signed.signature);
    key.verify_strict(signed.checkpoint.body().as_bytes(), &signature)
        .map_err(|_| LedgerError::SignatureInvalid)
}

fn to_hex_4(id: &[u8; 4]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::empty_root;

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: "kith.example/audit/leeds".into(),
            size: 3,
            root: empty_root(),
        }
    }

    fn signer() -> Signer {
        Signer::from_seed([7; 32])
    }

    #[test]
    fn signed_checkpoint_text_snapshot() {
        let signed = signer().sign(&checkpoint()).unwrap();
        insta::assert_snapshot!(signed.to_string());
    }

    #[test]
    fn text_round_trips_and_verifies() {
        let signer = signer();
        let signed = signer.sign(&checkpoint()).unwrap();
        let parsed: SignedCheckpoint = signed.to_string().parse().unwrap();
        assert_eq!(parsed, signed);
        verify(&parsed, &signer.verifying_key()).unwrap();
    }

    #[test]
    fn body_round_trips() {
        let cp = checkpoint();
        assert_eq!(Checkpoint::parse_body(&cp.body()).unwrap(), cp);
    }

    #[test]
    fn wrong_key_and_edited_body_are_rejected() {
        let signed = signer().sign(&checkpoint()).unwrap();
        let other = Signer::from_seed([8; 32]).verifying_key();
        assert!(matches!(
            verify(&signed, &other),
            Err(LedgerError::WrongKey { .. })
        ));

        let mut edited = signed.clone();
        edited.checkpoint.size += 1;
        assert_eq!(
            verify(&edited, &signer().verifying_key()),
            Err(LedgerError::SignatureInvalid)
        );

        let mut flipped = signed;
        flipped.signature[10] ^= 1;
        assert_eq!(
            verify(&flipped, &signer().verifying_key()),
            Err(LedgerError::SignatureInvalid)
        );
    }

    #[test]
    fn malformed_text_is_rejected() {
        let good = signer().sign(&checkpoint()).unwrap().to_string();
        let bad = [
            good.replacen("\n3\n", "\n03\n", 1),
            good.replacen("\n3\n", "\n-3\n", 1),
            good.replacen("\n\n", "\n", 1),
            good.replacen("\u{2014}", "-", 1),
            format!("{good}\u{2014} other AAAA\n"),
            good.trim_end().to_owned(),
            good.replacen("kith.example", "kith example", 1),
        ];
        for text in bad {
            assert!(text.parse::<SignedCheckpoint>().is_err(), "{text:?}");
        }
    }

    #[test]
    fn unwritable_origins_cannot_be_signed() {
        for origin in ["", "two words", "a\nb", "a+b"] {
            let cp = Checkpoint {
                origin: origin.into(),
                ..checkpoint()
            };
            assert!(signer().sign(&cp).is_err(), "{origin:?}");
        }
    }
}

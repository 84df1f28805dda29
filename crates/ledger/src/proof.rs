//! Proof bundles: an inclusion or consistency proof packaged with the signed checkpoint it
//! leads to, as JSON an inspector can check with the log's public key alone.

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{SignedCheckpoint, verify};
use crate::entry::Entry;
use crate::error::LedgerError;
use crate::hash::{Hash, from_hex, leaf_hash, to_hex};
use crate::tree::{verify_consistency, verify_inclusion};

/// The `format` every bundle carries, so a reader can refuse one it does not understand.
pub const PROOF_FORMAT: &str = "kith-audit-proof/1";

/// A signed checkpoint plus proofs that lead to its root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofBundle {
    /// Always [`PROOF_FORMAT`].
    pub format: String,
    /// The signed checkpoint in signed-note text; the proofs are against its size and root.
    pub checkpoint: String,
    /// That one entry is in the checkpointed tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion: Option<InclusionBundle>,
    /// That an older tree is a prefix of the checkpointed tree (nothing was rewritten since).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<ConsistencyBundle>,
}

/// One entry and its audit path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionBundle {
    /// The entry's position in the log.
    pub seq: u64,
    /// The entry's canonical bytes (UTF-8 JSON), exactly as hashed into the tree.
    pub entry: String,
    /// The inclusion proof, lowest sibling first, as lowercase hex.
    pub path: Vec<String>,
}

/// An older tree and the proof that it is a prefix of the checkpointed one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyBundle {
    pub old_size: u64,
    /// The older tree's root, lowercase hex.
    pub old_root: String,
    /// The older tree's own signed checkpoint, when the log signed one at that size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_checkpoint: Option<String>,
    /// The consistency proof, as lowercase hex.
    pub path: Vec<String>,
}

/// What a bundle proved.
#[derive(Debug, Clone, PartialEq)]
pub struct ProofSummary {
    pub checkpoint: SignedCheckpoint,
    /// The entry proved included, decoded.
    pub entry: Option<Entry>,
    /// The older size proved a prefix, and whether its root was itself signed.
    pub consistent_from: Option<(u64, bool)>,
}

impl ProofBundle {
    /// An empty bundle for `signed`; add proofs with the `with_` methods.
    pub fn new(signed: &SignedCheckpoint) -> Self {
        Self {
            format: PROOF_FORMAT.to_owned(),
            checkpoint: signed.to_string(),
            inclusion: None,
            consistency: None,
        }
    }

    /// Adds an inclusion proof of `entry` (leaf `entry.seq`) with `path`.
    pub fn with_inclusion(mut self, entry: &Entry, path: &[Hash]) -> Self {
        self.inclusion = Some(InclusionBundle {
            seq: entry.seq,
            entry: String::from_utf8_lossy(&entry.canonical_bytes()).into_owned(),
            path: path.iter().map(to_hex).collect(),
        });
        self
    }

    /// Adds a consistency proof from the tree of `old_size` leaves with `old_root`.
    pub fn with_consistency(
        mut self,
        old_size: u64,
        old_root: &Hash,
        old_checkpoint: Option<&SignedCheckpoint>,
        path: &[Hash],
    ) -> Self {
        self.consistency = Some(ConsistencyBundle {
            old_size,
            old_root: to_hex(old_root),
            old_checkpoint: old_checkpoint.map(ToString::to_string),
            path: path.iter().map(to_hex).collect(),
        });
        self
    }

    /// Checks everything in the bundle with `key` alone: the checkpoint's signature, that the
    /// entry is in canonical form with `seq` equal to its leaf index and that its path leads
    /// to the signed root, and that the older tree (and its signature, if given) is consistent
    /// with the signed one.
    pub fn verify(&self, key: &VerifyingKey) -> Result<ProofSummary, LedgerError> {
        let malformed = |reason: &str| LedgerError::MalformedProof {
            reason: reason.to_owned(),
        };
        if self.format != PROOF_FORMAT {
            return Err(malformed(&format!(
                "format `{}` is not `{PROOF_FORMAT}`",
                self.format
            )));
        }
        if self.inclusion.is_none() && self.consistency.is_none() {
            return Err(malformed("the bundle holds no proof"));
        }
        let signed: SignedCheckpoint = self.checkpoint.parse()?;
        verify(&signed, key)?;
        let (size, root) = (signed.checkpoint.size, signed.checkpoint.root);

        let mut entry = None;
        if let Some(inclusion) = &self.inclusion {
            let decoded: Entry = serde_json::from_str(&inclusion.entry)
                .map_err(|e| malformed(&format!("the entry is not an audit entry: {e}")))?;
            if decoded.canonical_bytes() != inclusion.entry.as_bytes() {
                return Err(malformed("the entry is not in canonical form"));
            }
            if decoded.seq != inclusion.seq {
                return Err(malformed(&format!(
                    "the entry says seq {}, the proof is for leaf {}",
                    decoded.seq, inclusion.seq
                )));
            }
            let path = decode_path(&inclusion.path)?;
            verify_inclusion(
                &leaf_hash(inclusion.entry.as_bytes()),
                inclusion.seq,
                size,
                &path,
                &root,
            )?;
            entry = Some(decoded);
        }

        let mut consistent_from = None;
        if let Some(consistency) = &self.consistency {
            let old_root = from_hex(&consistency.old_root)
                .ok_or_else(|| malformed("the old root is not 64 hex digits"))?;
            let mut old_signed = false;
            if let Some(text) = &consistency.old_checkpoint {
                let old: SignedCheckpoint = text.parse()?;
                verify(&old, key)?;
                if old.checkpoint.size != consistency.old_size || old.checkpoint.root != old_root {
                    return Err(malformed(
                        "the old checkpoint does not match the old size and root",
                    ));
                }
                old_signed = true;
            }
            let path = decode_path(&consistency.path)?;
            verify_consistency(consistency.old_size, size, &old_root, &root, &path)?;
            consistent_from = Some((consistency.old_size, old_signed));
        }

        Ok(ProofSummary {
            checkpoint: signed,
            entry,
            consistent_from,
        })
    }
}

fn decode_path(path: &[String]) -> Result<Vec<Hash>, LedgerError> {
    path.iter()
        .map(|h| {
            from_hex(h).ok_or_else(|| LedgerError::MalformedProof {
                reason: format!("path element `{h}` is not 64 hex digits"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{Checkpoint, Signer};
    use crate::entry::EventKind;
    use crate::tree::Log;

    fn entry(seq: u64) -> Entry {
        Entry {
            seq,
            time: "2026-03-14T09:00:00Z".into(),
            kind: EventKind::Access,
            actor_user: format!("u-{seq}"),
            actor_org: "RX1".into(),
            role: "gp".into(),
            purpose: None,
            subject: Some("CCI-000123".into()),
            decision: None,
            reasons: vec![],
            details: Json::Null,
        }
    }

    use serde_json::Value as Json;

    fn bundle() -> (ProofBundle, Signer) {
        let signer = Signer::from_seed([5; 32]);
        let mut log = Log::new();
        let entries: Vec<Entry> = (0..7).map(entry).collect();
        for e in &entries {
            log.append(e.leaf_hash());
        }
        let old = signer
            .sign(&Checkpoint {
                origin: "kith.example/audit".into(),
                size: 3,
                root: log.root_at(3).unwrap(),
            })
            .unwrap();
        let signed = signer
            .sign(&Checkpoint {
                origin: "kith.example/audit".into(),
                size: 7,
                root: log.root(),
            })
            .unwrap();
        let bundle = ProofBundle::new(&signed)
            .with_inclusion(&entries[4], &log.inclusion_proof(4, 7).unwrap())
            .with_consistency(
                3,
                &log.root_at(3).unwrap(),
                Some(&old),
                &log.consistency_proof(3, 7).unwrap(),
            );
        (bundle, signer)
    }

    #[test]
    fn a_bundle_verifies_with_the_public_key_alone_after_a_json_round_trip() {
        let (bundle, signer) = bundle();
        let json = serde_json::to_string_pretty(&bundle).unwrap();
        let read: ProofBundle = serde_json::from_str(&json).unwrap();
        let summary = read.verify(&signer.verifying_key()).unwrap();
        assert_eq!(summary.entry.unwrap().actor_user, "u-4");
        assert_eq!(summary.consistent_from, Some((3, true)));
    }

    #[test]
    fn edited_bundles_are_rejected() {
        let (bundle, signer) = bundle();
        let key = signer.verifying_key();
        let mut edited = bundle.clone();
        if let Some(inclusion) = edited.inclusion.as_mut() {
            inclusion.entry = inclusion.entry.replace("u-4", "u-5");
        }
        assert!(edited.verify(&key).is_err());
        let mut moved = bundle.clone();
        if let Some(inclusion) = moved.inclusion.as_mut() {
            inclusion.seq = 5;
        }
        assert!(moved.verify(&key).is_err());
        let mut forged_old = bundle.clone();
        if let Some(consistency) = forged_old.consistency.as_mut() {
            consistency.old_root = to_hex(&[0; 32]);
        }
        assert!(forged_old.verify(&key).is_err());
        let other = Signer::from_seed([6; 32]).verifying_key();
        assert!(bundle.verify(&other).is_err());
    }
}

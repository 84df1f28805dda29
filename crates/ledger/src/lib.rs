//! Kith's tamper-evident audit ledger: the pure core.
//!
//! Every access, decision and change in Kith becomes an [`Entry`]. Entries are leaves of an
//! append-only Merkle tree built exactly as RFC 9162 (Certificate Transparency 2.0) §2.1
//! describes, and the log periodically signs a [`Checkpoint`] — "my first `size` entries have
//! this root" — in the C2SP checkpoint / signed-note text format. From those, anyone holding
//! the public key can check that the log was not quietly rewritten.
//!
//! No I/O, no clock, no randomness it was not given: times come in on entries, signing keys
//! come from 32 seed bytes the caller supplies, and persistence belongs to `store`.
//!
//! The pieces:
//!
//! - [`leaf_hash`], [`node_hash`], [`empty_root`]: RFC 9162 hashing,
//!   `SHA-256(0x00 || leaf)` and `SHA-256(0x01 || left || right)`.
//! - [`Entry`]: an audit event with a documented, deterministic
//!   [`canonical_bytes`](Entry::canonical_bytes) encoding; its leaf hash is what the tree holds.
//!   Entries do not chain to one another — the tree is the integrity mechanism, and `seq`
//!   equals the entry's leaf index.
//! - [`Log`]: the in-memory tree: [`append`](Log::append), [`root`](Log::root),
//!   [`inclusion_proof`](Log::inclusion_proof) and [`consistency_proof`](Log::consistency_proof)
//!   (RFC 9162 `PATH` and `SUBPROOF`), checked by the free functions [`verify_inclusion`] and
//!   [`verify_consistency`] (RFC 9162 §2.1.3.2 and §2.1.4.2).
//! - [`Signer`], [`SignedCheckpoint`], [`verify`]: Ed25519-signed checkpoints and their text
//!   round trip.
//! - [`verify_log`]: recompute everything from the entries and the signed checkpoints, and on
//!   failure say which entry or checkpoint is wrong; [`verify_leaves`] does the same over
//!   streamed `(seq, leaf hash)` pairs for a log too large to hold as entries.
//! - [`Frontier`]: the compact right edge of the tree (one root per set bit of the size), so
//!   a persisted log appends and signs without rereading its leaves.
//! - [`ProofBundle`]: an inclusion and/or consistency proof with its signed checkpoint, as
//!   JSON an inspector verifies with the public key alone, given as one line of text by
//!   [`verifier_key`] and read back by [`parse_verifier_key`].
//!
//! ```
//! use ledger::{Checkpoint, Entry, EventKind, Log, Signer, verify_inclusion, verify_log};
//!
//! let signer = Signer::from_seed([42; 32]); // in production, from the key store
//! let mut log = Log::new();
//! let mut entries = Vec::new();
//! for seq in 0..5 {
//!     let entry = Entry {
//!         seq,
//!         time: format!("2026-03-14T09:00:0{seq}Z"),
//!         kind: EventKind::Access,
//!         actor_user: "u-1042".into(),
//!         actor_org: "RX1".into(),
//!         role: "gp".into(),
//!         purpose: Some("direct_care".into()),
//!         subject: Some("CCI-000123".into()),
//!         decision: None,
//!         reasons: vec![],
//!         details: serde_json::Value::Null,
//!     };
//!     log.append(entry.leaf_hash());
//!     entries.push(entry);
//! }
//! let checkpoint = Checkpoint { origin: "kith.example/audit".into(), size: log.size(), root: log.root() };
//! let signed = signer.sign(&checkpoint)?;
//!
//! // A family asks: was this access to my child's record really logged?
//! let proof = log.inclusion_proof(3, 5)?;
//! verify_inclusion(&entries[3].leaf_hash(), 3, 5, &proof, &signed.checkpoint.root)?;
//!
//! // An inspector checks the whole log against the signed checkpoint, via its text form.
//! let text = signed.to_string();
//! let report = verify_log(&entries, &[text.parse()?], &signer.verifying_key())?;
//! assert_eq!(report.signed_size, 5);
//!
//! // Editing any entry is detected, and located: here only to the five entries the one
//! // checkpoint covers; a checkpoint after every entry would name entry 2 itself.
//! entries[2].actor_user = "someone-else".into();
//! let err = verify_log(&entries, &[signed], &signer.verifying_key()).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "an entry in 0..=4 was altered: the recomputed root at size 5 differs from checkpoint 0"
//! );
//! # Ok::<(), ledger::LedgerError>(())
//! ```

mod base64;
mod checkpoint;
mod entry;
mod error;
mod frontier;
mod hash;
mod keys;
mod proof;
mod tree;
mod verify;

pub use checkpoint::{Checkpoint, SignedCheckpoint, Signer, key_id, verify};
pub use ed25519_dalek::VerifyingKey;
pub use entry::{Decision, Entry, EventKind};
pub use error::LedgerError;
pub use frontier::Frontier;
pub use hash::{Hash, empty_root, from_hex, leaf_hash, node_hash, to_hex};
pub use keys::{parse_verifier_key, verifier_key};
pub use proof::{ConsistencyBundle, InclusionBundle, PROOF_FORMAT, ProofBundle, ProofSummary};
pub use tree::{Log, verify_consistency, verify_inclusion};
pub use verify::{VerifyReport, verify_leaves, verify_log};

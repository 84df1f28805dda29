use thiserror::Error;

/// Everything that can go wrong building proofs, checking them, or verifying a whole log.
///
/// Variants carry the facts a caller needs: which entry, which checkpoint, which sizes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// A leaf index at or beyond the tree size.
    #[error("leaf index {index} is outside a tree of size {tree_size}")]
    IndexOutOfRange { index: u64, tree_size: u64 },
    /// A tree size larger than the log holds.
    #[error("tree size {tree_size} exceeds the log size {log_size}")]
    SizeOutOfRange { tree_size: u64, log_size: u64 },
    /// A consistency proof asked for with the sizes the wrong way round.
    #[error("old tree size {old_size} exceeds new tree size {new_size}")]
    SizesReversed { old_size: u64, new_size: u64 },
    /// An inclusion proof that does not lead to the claimed root.
    #[error("inclusion proof for leaf {index} in a tree of size {tree_size} does not verify")]
    InclusionProofInvalid { index: u64, tree_size: u64 },
    /// A consistency proof that does not connect the two roots.
    #[error("consistency proof from size {old_size} to size {new_size} does not verify")]
    ConsistencyProofInvalid { old_size: u64, new_size: u64 },
    /// Checkpoint or signed-note text that cannot be parsed.
    #[error("malformed checkpoint: {reason}")]
    MalformedCheckpoint { reason: &'static str },
    /// A signature line whose key name or key id is not the verifying key's.
    #[error("checkpoint is signed by key `{name}` with id `{key_id}`, not the given key")]
    WrongKey { name: String, key_id: String },
    /// An Ed25519 signature that does not verify over the checkpoint body.
    #[error("checkpoint signature does not verify")]
    SignatureInvalid,
    /// In a log: a checkpoint whose signature fails (forged or corrupted).
    #[error("checkpoint {checkpoint} (size {size}) has an invalid signature: {source}")]
    CheckpointSignature {
        checkpoint: usize,
        size: u64,
        #[source]
        source: Box<LedgerError>,
    },
    /// In a log: an entry whose `seq` is not its position, so entries before it were deleted
    /// or entries were inserted or reordered.
    #[error(
        "entry {index} has seq {found}, expected {expected}: an entry was deleted, inserted or reordered"
    )]
    SeqMismatch {
        index: u64,
        expected: u64,
        found: u64,
    },
    /// In a log: a signed checkpoint covers more entries than remain.
    #[error(
        "checkpoint {checkpoint} covers {size} entries but only {entries} remain: entries from index {entries} were deleted"
    )]
    Truncated {
        checkpoint: usize,
        size: u64,
        entries: u64,
    },
    /// In a log: the recomputed root at a checkpoint's size differs from the signed root. The
    /// altered entry lies in `first..=last`, the entries after the last checkpoint that
    /// still matched; with a checkpoint after every entry, `first == last`.
    #[error(
        "{}: the recomputed root at size {size} differs from checkpoint {checkpoint}",
        if first == last { format!("entry {first} was altered") } else { format!("an entry in {first}..={last} was altered") }
    )]
    EntryAltered {
        first: u64,
        last: u64,
        checkpoint: usize,
        size: u64,
    },
    /// In a log: a signed checkpoint of size 0 whose root is not the empty-tree root.
    #[error("checkpoint {checkpoint} has size 0 but not the empty-tree root")]
    EmptyCheckpointRoot { checkpoint: usize },
    /// In a log: two validly signed checkpoints that cannot both describe these entries —
    /// the signer has signed two different histories.
    #[error(
        "checkpoint {earlier} (size {earlier_size}) is inconsistent with checkpoint {later} (size {later_size}), which matches the entries: the signer has signed two histories"
    )]
    ForkedCheckpoints {
        earlier: usize,
        earlier_size: u64,
        later: usize,
        later_size: u64,
    },
    /// A stored frontier whose number of subtree roots does not fit its size.
    #[error("malformed frontier: size {size} needs one root per set bit, found {hashes}")]
    MalformedFrontier { size: u64, hashes: usize },
    /// A verifier key that cannot be parsed.
    #[error("malformed public key: {reason}")]
    MalformedKey { reason: &'static str },
    /// A proof bundle that cannot be read or does not fit together.
    #[error("malformed proof: {reason}")]
    MalformedProof { reason: String },
}

//! Whole-log verification: do these entries match these signed checkpoints, and if not,
//! where was the log changed?

use ed25519_dalek::VerifyingKey;

use crate::checkpoint::{SignedCheckpoint, verify};
use crate::entry::Entry;
use crate::error::LedgerError;
use crate::hash::Hash;
use crate::tree::Log;

/// What a successful [`verify_log`] established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// How many entries were checked.
    pub entries: u64,
    /// How many signed checkpoints matched them.
    pub checkpoints: usize,
    /// The root of the tree over all the entries.
    pub root: Hash,
    /// The largest checkpoint size: entries below it are covered by a signature.
    pub signed_size: u64,
    /// Entries after the largest checkpoint, which no signature covers yet.
    pub unsigned_tail: u64,
}

/// Verifies a whole log: every checkpoint's signature under `key`, that each entry's `seq` is
/// its position, and that the tree recomputed from the entries has each checkpoint's root at
/// that checkpoint's size.
///
/// Reports the first problem, located as precisely as the evidence allows:
/// - a forged or corrupted checkpoint: [`LedgerError::CheckpointSignature`] with its position;
/// - a deleted, inserted or reordered entry (when `seq`s were left alone): the exact index,
///   [`LedgerError::SeqMismatch`];
/// - an edited entry (or a deletion or reordering disguised by renumbering `seq`): the
///   smallest-size checkpoint whose root no longer matches, and the range of entries after the
///   last checkpoint that still matches, [`LedgerError::EntryAltered`]. The range is a single
///   index when a checkpoint was signed after every entry; otherwise the signed roots do not
///   hold enough information to narrow it further;
/// - two validly signed checkpoints that cannot both be right: [`LedgerError::ForkedCheckpoints`];
/// - entries deleted from the end (checked last): [`LedgerError::Truncated`].
pub fn verify_log(
    entries: &[Entry],
    checkpoints: &[SignedCheckpoint],
    key: &VerifyingKey,
) -> Result<VerifyReport, LedgerError> {
    verify_leaves(
        entries.iter().map(|entry| (entry.seq, entry.leaf_hash())),
        checkpoints,
        key,
    )
}

/// [`verify_log`] over `(seq, leaf hash)` pairs, for a caller that streams a large log from
/// storage rather than holding every [`Entry`] in memory; the findings are the same.
pub fn verify_leaves(
    leaves: impl IntoIterator<Item = (u64, Hash)>,
    checkpoints: &[SignedCheckpoint],
    key: &VerifyingKey,
) -> Result<VerifyReport, LedgerError> {
    for (i, signed) in checkpoints.iter().enumerate() {
        verify(signed, key).map_err(|source| LedgerError::CheckpointSignature {
            checkpoint: i,
            size: signed.checkpoint.size,
            source: Box::new(source),
        })?;
    }

    let mut log = Log::new();
    for (index, (seq, leaf_hash)) in (0u64..).zip(leaves) {
        if seq != index {
            return Err(LedgerError::SeqMismatch {
                index,
                expected: index,
                found: seq,
            });
        }
        log.append(leaf_hash);
    }
    let n = log.size();

    // Checkpoint positions by size, smallest first.
    let mut order: Vec<usize> = (0..checkpoints.len()).collect();
    order.sort_by_key(|&i| checkpoints[i].checkpoint.size);
    let size_of = |i: usize| checkpoints[i].checkpoint.size;

    // Checkpoints beyond the entries are dealt with last: an alteration within the entries is
    // the earlier problem.
    let within = order.partition_point(|&i| size_of(i) <= n);
    let (order, beyond) = order.split_at(within);
    let matches = |i: usize| {
        log.root_at(size_of(i))
            .is_ok_and(|r| r == checkpoints[i].checkpoint.root)
    };

    if let Some(p) = order.iter().position(|&i| !matches(i)) {
        let bad = order[p];
        let bad_size = size_of(bad);
        if let Some(&later) = order
            .iter()
            .find(|&&j| size_of(j) >= bad_size && matches(j))
        {
            return Err(LedgerError::ForkedCheckpoints {
                earlier: bad,
                earlier_size: bad_size,
                later,
                later_size: size_of(later),
            });
        }
        // INVARIANT: `order[..p]` all match and are no larger than `bad_size`.
        let first = order[..p].last().map_or(0, |&i| size_of(i));
        let Some(last) = bad_size.checked_sub(1) else {
            return Err(LedgerError::EmptyCheckpointRoot { checkpoint: bad });
        };
        return Err(LedgerError::EntryAltered {
            first,
            last,
            checkpoint: bad,
            size: bad_size,
        });
    }

    if let Some(&i) = beyond.first() {
        return Err(LedgerError::Truncated {
            checkpoint: i,
            size: size_of(i),
            entries: n,
        });
    }

    let signed_size = order.last().map_or(0, |&i| size_of(i));
    Ok(VerifyReport {
        entries: n,
        checkpoints: checkpoints.len(),
        root: log.root(),
        signed_size,
        unsigned_tail: n - signed_size,
    })
}

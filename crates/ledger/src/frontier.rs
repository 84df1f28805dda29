//! The compact frontier of a Merkle log: enough to append and to compute the current root
//! without the leaves, so a persisted log need not reread itself to grow.

use crate::error::LedgerError;
use crate::hash::{Hash, empty_root, node_hash};

/// The roots of the perfect subtrees that make up a tree of `size` leaves, largest (leftmost)
/// first — one per set bit of `size`. Appending a leaf merges equal-sized subtrees like a
/// binary counter, so an append costs amortised `O(1)` hashes and the state is `O(log n)`.
// INVARIANT: `hashes.len() == size.count_ones()`, and `hashes[i]` covers the i-th set bit of
// `size` from the most significant end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a frontier from a stored size and subtree roots; fails unless there is one
    /// root per set bit of `size`.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Result<Self, LedgerError> {
        if hashes.len() != size.count_ones() as usize {
            return Err(LedgerError::MalformedFrontier {
                size,
                hashes: hashes.len(),
            });
        }
        Ok(Self { size, hashes })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect-subtree roots, largest first.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// Appends a leaf hash and returns its index.
    pub fn append(&mut self, leaf_hash: Hash) -> u64 {
        let index = self.size;
        let mut hash = leaf_hash;
        // Each trailing one bit of the old size is a subtree of the same height as the carry.
        let mut carries = self.size.trailing_ones();
        while carries > 0 {
            if let Some(left) = self.hashes.pop() {
                hash = node_hash(&left, &hash);
            }
            carries -= 1;
        }
        self.hashes.push(hash);
        self.size += 1;
        index
    }

    /// The Merkle Tree Hash of all leaves (RFC 9162): the subtree roots folded right to left.
    pub fn root(&self) -> Hash {
        let mut hashes = self.hashes.iter().rev();
        let Some(last) = hashes.next() else {
            return empty_root();
        };
        hashes.fold(*last, |right, left| node_hash(left, &right))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::tree::Log;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn agrees_with_the_full_tree(n in 0u64..300) {
            let mut frontier = Frontier::new();
            let mut log = Log::new();
            prop_assert_eq!(frontier.root(), log.root());
            for i in 0..n {
                let leaf = leaf_hash(&i.to_be_bytes());
                prop_assert_eq!(frontier.append(leaf), log.append(leaf));
                prop_assert_eq!(frontier.root(), log.root());
            }
            let rebuilt = Frontier::from_parts(frontier.size(), frontier.hashes().to_vec()).unwrap();
            prop_assert_eq!(rebuilt, frontier);
        }
    }

    #[test]
    fn wrong_number_of_roots_is_rejected() {
        assert!(Frontier::from_parts(3, vec![empty_root()]).is_err());
        assert!(Frontier::from_parts(0, vec![empty_root()]).is_err());
    }
}

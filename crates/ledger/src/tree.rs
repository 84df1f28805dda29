//! The in-memory Merkle tree (RFC 9162 §2.1): roots, inclusion and consistency proofs, and
//! their verification.

use crate::error::LedgerError;
use crate::hash::{Hash, empty_root, node_hash};

/// An append-only Merkle tree of leaf hashes.
///
/// Keeps every complete subtree: `levels[k][i]` is the root of the perfect subtree of `2^k`
/// leaves starting at leaf `i * 2^k`, so `levels[0]` is the leaf hashes. This costs about twice
/// the leaf storage and makes the hash of any range that RFC 9162's recursion asks for
/// `O(log n)`: appends are amortised `O(1)` hashes, and `root()` and every proof are
/// `O(log² n)` at worst. The last node of each level is the compact frontier of the tree.
// INVARIANT: `levels[k].len() == size >> k` for every k, and `levels` has no empty trailing
// level, so `levels[k][i]` exists exactly when `(i + 1) << k <= size`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Log {
    levels: Vec<Vec<Hash>>,
}

/// The largest power of two strictly less than `n`, for `n >= 2` (RFC 9162's `k`).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

impl Log {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf hash (see [`leaf_hash`](crate::leaf_hash)) and returns its index.
    pub fn append(&mut self, leaf_hash: Hash) -> u64 {
        let index = self.size();
        let mut hash = leaf_hash;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let nodes = &mut self.levels[level];
            nodes.push(hash);
            let len = nodes.len();
            if len % 2 == 1 {
                break;
            }
            hash = node_hash(&nodes[len - 2], &nodes[len - 1]);
            level += 1;
        }
        index
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// The leaf hash at `index`, if present.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.levels
            .first()?
            .get(usize::try_from(index).ok()?)
            .copied()
    }

    /// The Merkle Tree Hash of all leaves.
    pub fn root(&self) -> Hash {
        self.root_unchecked(self.size())
    }

    /// The Merkle Tree Hash of the first `tree_size` leaves, as the log was at that size.
    pub fn root_at(&self, tree_size: u64) -> Result<Hash, LedgerError> {
        self.check_size(tree_size)?;
        Ok(self.root_unchecked(tree_size))
    }

    /// The inclusion proof (RFC 9162 §2.1.3.1 `PATH`) of leaf `index` in the tree of the first
    /// `tree_size` leaves, lowest sibling first.
    pub fn inclusion_proof(&self, index: u64, tree_size: u64) -> Result<Vec<Hash>, LedgerError> {
        self.check_size(tree_size)?;
        if index >= tree_size {
            return Err(LedgerError::IndexOutOfRange { index, tree_size });
        }
        let mut proof = Vec::new();
        self.path(index, 0, tree_size, &mut proof);
        Ok(proof)
    }

    /// The consistency proof (RFC 9162 §2.1.4.1 `PROOF`, via `SUBPROOF`) that the tree of the
    /// first `old_size` leaves is a prefix of the tree of the first `new_size`. Empty when
    /// `old_size` is 0 or equals `new_size`.
    pub fn consistency_proof(
        &self,
        old_size: u64,
        new_size: u64,
    ) -> Result<Vec<Hash>, LedgerError> {
        self.check_size(new_size)?;
        if old_size > new_size {
            return Err(LedgerError::SizesReversed { old_size, new_size });
        }
        let mut proof = Vec::new();
        if old_size > 0 {
            self.subproof(old_size, 0, new_size, true, &mut proof);
        }
        Ok(proof)
    }

    fn check_size(&self, tree_size: u64) -> Result<(), LedgerError> {
        let log_size = self.size();
        if tree_size > log_size {
            return Err(LedgerError::SizeOutOfRange {
                tree_size,
                log_size,
            });
        }
        Ok(())
    }

    fn root_unchecked(&self, tree_size: u64) -> Hash {
        if tree_size == 0 {
            empty_root()
        } else {
            self.mth(0, tree_size)
        }
    }

    /// `MTH(D[lo:hi])`. Requires `lo < hi <= size`.
    fn mth(&self, lo: u64, hi: u64) -> Hash {
        let n = hi - lo;
        if n.is_power_of_two() && lo.is_multiple_of(n) {
            let level = n.trailing_zeros() as usize;
            return self.levels[level][(lo >> level) as usize];
        }
        let k = split(n);
        node_hash(&self.mth(lo, lo + k), &self.mth(lo + k, hi))
    }

    /// `PATH(m, D[lo:hi])`, appended to `out`. Requires `m < hi - lo`.
    fn path(&self, m: u64, lo: u64, hi: u64, out: &mut Vec<Hash>) {
        let n = hi - lo;
        if n == 1 {
            return;
        }
        let k = split(n);
        if m < k {
            self.path(m, lo, lo + k, out);
            out.push(self.mth(lo + k, hi));
        } else {
            self.path(m - k, lo + k, hi, out);
            out.push(self.mth(lo, lo + k));
        }
    }

    /// `SUBPROOF(m, D[lo:hi], complete)`, appended to `out`. Requires `0 < m <= hi - lo`.
    fn subproof(&self, m: u64, lo: u64, hi: u64, complete: bool, out: &mut Vec<Hash>) {
        let n = hi - lo;
        if m == n {
            if !complete {
                out.push(self.mth(lo, hi));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, lo, lo + k, complete, out);
            out.push(self.mth(lo + k, hi));
        } else {
            self.subproof(m - k, lo + k, hi, false, out);
            out.push(self.mth(lo, lo + k));
        }
    }
}

/// Right-shifts `fn_` and `sn` together until `fn_`'s low bit is set or `fn_` is 0.
fn shift_to_set_bit(fn_: &mut u64, sn: &mut u64) {
    while *fn_ & 1 == 0 && *fn_ != 0 {
        *fn_ >>= 1;
        *sn >>= 1;
    }
}

/// Verifies an inclusion proof exactly as RFC 9162 §2.1.3.2 describes.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), LedgerError> {
    if index >= tree_size {
        return Err(LedgerError::IndexOutOfRange { index, tree_size });
    }
    let invalid = LedgerError::InclusionProofInvalid { index, tree_size };
    let (mut fn_, mut sn) = (index, tree_size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if sn == 0 {
            return Err(invalid);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                shift_to_set_bit(&mut fn_, &mut sn);
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn == 0 && r == *root {
        Ok(())
    } else {
        Err(invalid)
    }
}

/// Verifies a consistency proof exactly as RFC 9162 §2.1.4.2 describes, for
/// `0 < old_size < new_size`.
///
/// The edge cases the RFC leaves to the caller: equal sizes need an empty proof and equal
/// roots; an old size of 0 needs an empty proof and the empty-tree root.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), LedgerError> {
    if old_size > new_size {
        return Err(LedgerError::SizesReversed { old_size, new_size });
    }
    let invalid = LedgerError::ConsistencyProofInvalid { old_size, new_size };
    if old_size == new_size {
        return if proof.is_empty() && old_root == new_root {
            Ok(())
        } else {
            Err(invalid)
        };
    }
    if old_size == 0 {
        return if proof.is_empty() && *old_root == empty_root() {
            Ok(())
        } else {
            Err(invalid)
        };
    }
    // 1. An empty path fails.
    let Some((first, rest)) = proof.split_first() else {
        return Err(invalid);
    };
    // 2. If the old size is a power of two, the old root is the path's first element.
    let (start, path) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        (first, rest)
    };
    // 3–4.
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5.
    let (mut fr, mut sr) = (*start, *start);
    // 6.
    for c in path {
        if sn == 0 {
            return Err(invalid);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                shift_to_set_bit(&mut fn_, &mut sn);
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // 7.
    if fr == *old_root && sr == *new_root && sn == 0 {
        Ok(())
    } else {
        Err(invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{leaf_hash, to_hex};

    fn hex(s: &str) -> Hash {
        let bytes: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect();
        bytes.try_into().unwrap()
    }

    /// The certificate-transparency reference leaves (RFC 6962 test data, reused by
    /// transparency-dev/merkle for RFC 9162).
    fn ct_log() -> Log {
        let leaves: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        let mut log = Log::new();
        for leaf in leaves {
            log.append(leaf_hash(leaf));
        }
        log
    }

    const CT_ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    #[test]
    fn empty_tree_root_is_sha256_of_nothing() {
        assert_eq!(to_hex(&Log::new().root()), CT_ROOTS[0]);
    }

    #[test]
    fn roots_match_reference_vectors() {
        let log = ct_log();
        for (size, root) in CT_ROOTS.iter().enumerate() {
            assert_eq!(
                to_hex(&log.root_at(size as u64).unwrap()),
                *root,
                "size {size}"
            );
        }
        assert_eq!(to_hex(&log.root()), CT_ROOTS[8]);
    }

    #[test]
    fn inclusion_proofs_match_reference_vectors() {
        let log = ct_log();
        let cases: [(u64, u64, &[&str]); 4] = [
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (0, 1, &[]),
        ];
        for (index, size, expected) in cases {
            let proof = log.inclusion_proof(index, size).unwrap();
            let expected: Vec<Hash> = expected.iter().map(|h| hex(h)).collect();
            assert_eq!(proof, expected, "index {index} size {size}");
            let leaf = log.leaf(index).unwrap();
            verify_inclusion(&leaf, index, size, &proof, &log.root_at(size).unwrap()).unwrap();
        }
    }

    #[test]
    fn consistency_proofs_match_reference_vectors() {
        let log = ct_log();
        let cases: [(u64, u64, &[&str]); 4] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (old, new, expected) in cases {
            let proof = log.consistency_proof(old, new).unwrap();
            let expected: Vec<Hash> = expected.iter().map(|h| hex(h)).collect();
            assert_eq!(proof, expected, "{old} -> {new}");
            let (r1, r2) = (log.root_at(old).unwrap(), log.root_at(new).unwrap());
            verify_consistency(old, new, &r1, &r2, &proof).unwrap();
        }
    }

    /// `MTH` straight from the RFC's recursive definition, to check the stored-levels shortcut.
    fn naive_mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&naive_mth(&leaves[..k]), &naive_mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn roots_agree_with_the_recursive_definition() {
        let leaves: Vec<Hash> = (0u32..300).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut log = Log::new();
        for (i, leaf) in leaves.iter().enumerate() {
            assert_eq!(log.append(*leaf), i as u64);
            assert_eq!(log.root(), naive_mth(&leaves[..=i]));
        }
        for size in 0..=300 {
            assert_eq!(
                log.root_at(size).unwrap(),
                naive_mth(&leaves[..size as usize])
            );
        }
    }

    #[test]
    fn out_of_range_requests_are_errors() {
        let log = ct_log();
        assert_eq!(
            log.inclusion_proof(8, 8),
            Err(LedgerError::IndexOutOfRange {
                index: 8,
                tree_size: 8
            })
        );
        assert_eq!(
            log.inclusion_proof(0, 9),
            Err(LedgerError::SizeOutOfRange {
                tree_size: 9,
                log_size: 8
            })
        );
        assert_eq!(
            log.consistency_proof(5, 4),
            Err(LedgerError::SizesReversed {
                old_size: 5,
                new_size: 4
            })
        );
        assert_eq!(
            log.root_at(9),
            Err(LedgerError::SizeOutOfRange {
                tree_size: 9,
                log_size: 8
            })
        );
        assert_eq!(log.consistency_proof(0, 8), Ok(vec![]));
    }

    #[test]
    fn consistency_edge_cases() {
        let log = ct_log();
        let r = log.root();
        let e = empty_root();
        verify_consistency(8, 8, &r, &r, &[]).unwrap();
        verify_consistency(0, 8, &e, &r, &[]).unwrap();
        assert!(verify_consistency(8, 8, &r, &e, &[]).is_err());
        assert!(verify_consistency(8, 8, &r, &r, &[r]).is_err());
        assert!(verify_consistency(0, 8, &r, &r, &[]).is_err());
        assert!(verify_consistency(3, 8, &log.root_at(3).unwrap(), &r, &[]).is_err());
        assert!(verify_consistency(9, 8, &r, &r, &[]).is_err());
    }
}

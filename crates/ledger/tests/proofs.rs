//! Every generated proof verifies; any proof checked against the wrong thing fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ledger::{Hash, Log, leaf_hash, verify_consistency, verify_inclusion};
use proptest::prelude::*;

fn log_of(size: u64) -> Log {
    let mut log = Log::new();
    for i in 0..size {
        log.append(leaf_hash(&i.to_le_bytes()));
    }
    log
}

fn flip(h: &Hash) -> Hash {
    let mut h = *h;
    h[0] ^= 1;
    h
}

#[test]
fn every_inclusion_proof_up_to_size_40_verifies_and_only_for_its_leaf() {
    let log = log_of(40);
    for size in 1..=40 {
        let root = log.root_at(size).unwrap();
        for index in 0..size {
            let leaf = log.leaf(index).unwrap();
            let proof = log.inclusion_proof(index, size).unwrap();
            verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
            assert!(verify_inclusion(&flip(&leaf), index, size, &proof, &root).is_err());
            assert!(verify_inclusion(&leaf, index, size, &proof, &flip(&root)).is_err());
            for other in 0..size {
                if other != index {
                    assert!(verify_inclusion(&leaf, other, size, &proof, &root).is_err());
                }
            }
            // The same proof claimed for a neighbouring tree size fails.
            if size > 1 {
                let smaller = log.root_at(size - 1).unwrap();
                assert!(verify_inclusion(&leaf, index, size - 1, &proof, &smaller).is_err());
            }
            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i] = flip(&bad[i]);
                assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err());
            }
            let mut longer = proof.clone();
            longer.push(root);
            assert!(verify_inclusion(&leaf, index, size, &longer, &root).is_err());
            if !proof.is_empty() {
                let shorter = &proof[..proof.len() - 1];
                assert!(verify_inclusion(&leaf, index, size, shorter, &root).is_err());
            }
        }
    }
}

#[test]
fn every_consistency_proof_up_to_size_40_verifies_and_only_for_its_roots() {
    let log = log_of(40);
    for new in 0..=40 {
        let new_root = log.root_at(new).unwrap();
        for old in 0..=new {
            let old_root = log.root_at(old).unwrap();
            let proof = log.consistency_proof(old, new).unwrap();
            verify_consistency(old, new, &old_root, &new_root, &proof).unwrap();
            assert!(verify_consistency(old, new, &flip(&old_root), &new_root, &proof).is_err());
            // Every tree extends the empty tree, so only a non-empty old tree pins the new root.
            if old > 0 {
                assert!(verify_consistency(old, new, &old_root, &flip(&new_root), &proof).is_err());
            }
            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i] = flip(&bad[i]);
                assert!(verify_consistency(old, new, &old_root, &new_root, &bad).is_err());
            }
            if old > 0 && old + 1 < new {
                let other = log.root_at(old + 1).unwrap();
                assert!(verify_consistency(old + 1, new, &other, &new_root, &proof).is_err());
            }
        }
    }
}

#[test]
fn a_rewritten_history_is_not_consistent() {
    let log = log_of(30);
    let mut forked = Log::new();
    for i in 0..30u64 {
        forked.append(leaf_hash(&(if i == 11 { 999 } else { i }).to_le_bytes()));
    }
    for old in 12..30 {
        let proof = forked.consistency_proof(old, 30).unwrap();
        let honest_old = log.root_at(old).unwrap();
        assert!(verify_consistency(old, 30, &honest_old, &forked.root(), &proof).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn generated_inclusion_proofs_verify(size in 1u64..2000, seed in any::<u64>(), wrong in any::<u64>()) {
        let log = log_of(size);
        let index = seed % size;
        let root = log.root();
        let leaf = log.leaf(index).unwrap();
        let proof = log.inclusion_proof(index, size).unwrap();
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root).is_ok());

        let other = wrong % size;
        if other != index {
            prop_assert!(verify_inclusion(&leaf, other, size, &proof, &root).is_err());
            let other_leaf = log.leaf(other).unwrap();
            prop_assert!(verify_inclusion(&other_leaf, index, size, &proof, &root).is_err());
        }
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &flip(&root)).is_err());
    }

    #[test]
    fn generated_consistency_proofs_verify(new in 1u64..2000, a in any::<u64>(), b in any::<u64>()) {
        let log = log_of(new);
        let old = a % (new + 1);
        let (old_root, new_root) = (log.root_at(old).unwrap(), log.root());
        let proof = log.consistency_proof(old, new).unwrap();
        prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof).is_ok());

        let other = b % (new + 1);
        if other != old {
            let other_root = log.root_at(other).unwrap();
            prop_assert!(verify_consistency(old, new, &other_root, &new_root, &proof).is_err());
        }
        if old > 0 {
            prop_assert!(verify_consistency(old, new, &old_root, &flip(&new_root), &proof).is_err());
        }
    }
}

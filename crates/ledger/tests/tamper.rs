//! `verify_log` detects each way of rewriting the ledger, and says where.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ledger::{
    Checkpoint, Decision, Entry, EventKind, LedgerError, Log, SignedCheckpoint, Signer, verify_log,
};

const ORIGIN: &str = "kith.example/audit";

fn entry(seq: u64) -> Entry {
    Entry {
        seq,
        time: format!("2026-03-14T10:{:02}:00Z", seq % 60),
        kind: if seq.is_multiple_of(2) {
            EventKind::Decision
        } else {
            EventKind::Access
        },
        actor_user: format!("u-{}", seq % 7),
        actor_org: "RX1".into(),
        role: "school_safeguarding_lead".into(),
        purpose: Some("safeguarding".into()),
        subject: Some(format!("CCI-{:06}", seq % 5)),
        decision: (seq.is_multiple_of(2)).then_some(if seq.is_multiple_of(4) {
            Decision::Permit
        } else {
            Decision::Deny
        }),
        reasons: vec![format!("rule:{seq}")],
        details: serde_json::Value::Null,
    }
}

fn signer() -> Signer {
    Signer::from_seed([3; 32])
}

/// `n` entries and a checkpoint signed at each size in `sizes`.
fn ledger(n: u64, sizes: &[u64]) -> (Vec<Entry>, Vec<SignedCheckpoint>) {
    let entries: Vec<Entry> = (0..n).map(entry).collect();
    let mut log = Log::new();
    let mut checkpoints = Vec::new();
    for e in &entries {
        log.append(e.leaf_hash());
        if sizes.contains(&log.size()) {
            let cp = Checkpoint {
                origin: ORIGIN.into(),
                size: log.size(),
                root: log.root(),
            };
            checkpoints.push(signer().sign(&cp).unwrap());
        }
    }
    (entries, checkpoints)
}

fn check(
    entries: &[Entry],
    checkpoints: &[SignedCheckpoint],
) -> Result<ledger::VerifyReport, LedgerError> {
    verify_log(entries, checkpoints, &signer().verifying_key())
}

#[test]
fn an_untouched_log_verifies() {
    let (entries, checkpoints) = ledger(100, &[10, 64, 90]);
    let report = check(&entries, &checkpoints).unwrap();
    assert_eq!(report.entries, 100);
    assert_eq!(report.checkpoints, 3);
    assert_eq!(report.signed_size, 90);
    assert_eq!(report.unsigned_tail, 10);
    // Checkpoint order in the input does not matter.
    let reversed: Vec<_> = checkpoints.into_iter().rev().collect();
    assert!(check(&entries, &reversed).is_ok());
}

#[test]
fn an_empty_log_verifies() {
    let report = check(&[], &[]).unwrap();
    assert_eq!((report.entries, report.signed_size), (0, 0));
}

#[test]
fn an_edited_entry_is_located_exactly_with_a_checkpoint_per_entry() {
    let sizes: Vec<u64> = (1..=50).collect();
    for victim in [0, 1, 17, 31, 32, 49] {
        let (mut entries, checkpoints) = ledger(50, &sizes);
        entries[victim].decision = Some(Decision::Permit);
        entries[victim].reasons.push("override".into());
        let err = check(&entries, &checkpoints).unwrap_err();
        let v = victim as u64;
        assert_eq!(
            err,
            LedgerError::EntryAltered {
                first: v,
                last: v,
                checkpoint: victim,
                size: v + 1
            },
            "victim {victim}"
        );
        assert!(
            err.to_string()
                .starts_with(&format!("entry {victim} was altered")),
            "{err}"
        );
    }
}

#[test]
fn an_edited_entry_is_located_between_sparse_checkpoints() {
    let (mut entries, checkpoints) = ledger(100, &[10, 40, 70, 100]);
    entries[55].actor_user = "u-intruder".into();
    let err = check(&entries, &checkpoints).unwrap_err();
    assert_eq!(
        err,
        LedgerError::EntryAltered {
            first: 40,
            last: 69,
            checkpoint: 2,
            size: 70
        }
    );
    insta::assert_snapshot!(err.to_string(), @"an entry in 40..=69 was altered: the recomputed root at size 70 differs from checkpoint 2");
}

#[test]
fn an_edit_after_the_last_checkpoint_is_not_covered() {
    let (mut entries, checkpoints) = ledger(100, &[50]);
    entries[75].role = "admin".into();
    let report = check(&entries, &checkpoints).unwrap();
    assert_eq!(report.unsigned_tail, 50);
}

#[test]
fn a_deleted_entry_is_located_by_its_seq_gap() {
    let (mut entries, checkpoints) = ledger(60, &[20, 60]);
    entries.remove(33);
    let err = check(&entries, &checkpoints).unwrap_err();
    assert_eq!(
        err,
        LedgerError::SeqMismatch {
            index: 33,
            expected: 33,
            found: 34
        }
    );
    assert_eq!(
        err.to_string(),
        "entry 33 has seq 34, expected 33: an entry was deleted, inserted or reordered"
    );
}

#[test]
fn a_deletion_disguised_by_renumbering_is_still_caught() {
    let (mut entries, checkpoints) = ledger(60, &(1..=60).collect::<Vec<_>>());
    entries.remove(33);
    for (i, e) in entries.iter_mut().enumerate() {
        e.seq = i as u64;
    }
    let err = check(&entries, &checkpoints).unwrap_err();
    assert!(
        matches!(
            err,
            LedgerError::EntryAltered {
                first: 33,
                last: 33,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn deleting_the_newest_entries_is_truncation() {
    let (mut entries, checkpoints) = ledger(60, &[20, 60]);
    entries.truncate(45);
    let err = check(&entries, &checkpoints).unwrap_err();
    assert_eq!(
        err,
        LedgerError::Truncated {
            checkpoint: 1,
            size: 60,
            entries: 45
        }
    );
}

#[test]
fn reordered_entries_are_located() {
    let (mut entries, checkpoints) = ledger(60, &[60]);
    entries.swap(12, 40);
    let err = check(&entries, &checkpoints).unwrap_err();
    assert_eq!(
        err,
        LedgerError::SeqMismatch {
            index: 12,
            expected: 12,
            found: 40
        }
    );

    // Renumbered after the swap, the reordering is an alteration at the first moved index.
    let sizes: Vec<u64> = (1..=60).collect();
    let (mut entries, checkpoints) = ledger(60, &sizes);
    entries.swap(12, 40);
    entries[12].seq = 12;
    entries[40].seq = 40;
    let err = check(&entries, &checkpoints).unwrap_err();
    assert!(
        matches!(
            err,
            LedgerError::EntryAltered {
                first: 12,
                last: 12,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_forged_checkpoint_signature_is_named() {
    let (entries, mut checkpoints) = ledger(40, &[10, 20, 30]);
    // Someone re-signs a checkpoint with their own key under the log's name.
    let forger = Signer::from_seed([9; 32]);
    checkpoints[1] = forger.sign(&checkpoints[1].checkpoint).unwrap();
    let err = check(&entries, &checkpoints).unwrap_err();
    assert!(
        matches!(err, LedgerError::CheckpointSignature { checkpoint: 1, size: 20, ref source }
            if matches!(**source, LedgerError::WrongKey { .. })),
        "{err}"
    );

    // Or keeps the signature line but changes the claim.
    let (entries, mut checkpoints) = ledger(40, &[10, 20, 30]);
    checkpoints[2].checkpoint.root[0] ^= 1;
    let err = check(&entries, &checkpoints).unwrap_err();
    assert!(
        matches!(err, LedgerError::CheckpointSignature { checkpoint: 2, size: 30, ref source }
            if **source == LedgerError::SignatureInvalid),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "checkpoint 2 (size 30) has an invalid signature: checkpoint signature does not verify"
    );
}

#[test]
fn a_signer_that_signed_two_histories_is_caught() {
    let (entries, mut checkpoints) = ledger(40, &[10, 30]);
    // A validly signed checkpoint at size 20 over different entries.
    let (mut other, _) = ledger(20, &[]);
    other[5].actor_org = "X99".into();
    let mut log = Log::new();
    for e in &other {
        log.append(e.leaf_hash());
    }
    let fork = Checkpoint {
        origin: ORIGIN.into(),
        size: 20,
        root: log.root(),
    };
    checkpoints.push(signer().sign(&fork).unwrap());
    let err = check(&entries, &checkpoints).unwrap_err();
    assert_eq!(
        err,
        LedgerError::ForkedCheckpoints {
            earlier: 2,
            earlier_size: 20,
            later: 1,
            later_size: 30
        }
    );
}

#[test]
fn a_size_zero_checkpoint_must_have_the_empty_root() {
    let (entries, _) = ledger(5, &[]);
    let bogus = Checkpoint {
        origin: ORIGIN.into(),
        size: 0,
        root: [0; 32],
    };
    let err = check(&entries, &[signer().sign(&bogus).unwrap()]).unwrap_err();
    assert_eq!(err, LedgerError::EmptyCheckpointRoot { checkpoint: 0 });
}

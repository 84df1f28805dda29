//! The persisted audit ledger, on embedded SQLite and on a real PostgreSQL server: appends,
//! checkpoints, proofs, tamper detection through raw SQL, the subject view with deferrals,
//! reports, and a property test against the in-memory `ledger::Log`.
//!
//! PostgreSQL tests connect to `KITH_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and work in a schema of their own that is
//! dropped afterwards. When the server cannot be reached they say so and pass, unless
//! `KITH_REQUIRE_POSTGRES=1`, in which case they fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::ops::Deref;

use common::Db;
use ledger::{Decision, Entry, EventKind, LedgerError, Log, Signer};
use proptest::prelude::*;
use serde_json::json;
use store::audit::{
    AuditError, AuditLog, AuditOptions, AuditWriter, Deferral, ProofRequest, Review,
    audit_url_for_store, load_or_create_signer,
};

/// An audit log under test plus a way to run raw SQL beside it (to tamper with it).
struct Harness {
    log: AuditLog,
    db: Db,
}

impl Deref for Harness {
    type Target = Db;
    fn deref(&self) -> &Db {
        &self.db
    }
}

impl Harness {
    fn open(db: Db) -> Harness {
        Harness {
            log: AuditLog::open(&db.url, options()).unwrap(),
            db,
        }
    }

    fn reopen(&mut self) {
        self.log = AuditLog::open(&self.url, options()).unwrap();
    }

    /// Drops the append-only guards, as someone with database access could.
    fn unguard(&mut self) {
        let sql = if self.kind == "sqlite" {
            "DROP TRIGGER audit_entries_no_update; DROP TRIGGER audit_entries_no_delete;
             DROP TRIGGER audit_checkpoints_no_update; DROP TRIGGER audit_checkpoints_no_delete;"
        } else {
            "ALTER TABLE audit_entries DISABLE TRIGGER USER;
             ALTER TABLE audit_checkpoints DISABLE TRIGGER USER;"
        };
        (self.raw)(sql);
    }
}

fn options() -> AuditOptions {
    AuditOptions {
        origin: "kith.test/audit".into(),
        signer: Some(Signer::from_seed([11; 32])),
    }
}

fn sqlite() -> Harness {
    Harness::open(Db::sqlite("audit.db"))
}

fn postgres() -> Option<Harness> {
    Db::postgres("kith_audit_t").map(Harness::open)
}

/// Runs `test` on SQLite and, when reachable, on PostgreSQL.
fn on_both(test: impl Fn(&mut Harness)) {
    test(&mut sqlite());
    if let Some(mut pg) = postgres() {
        test(&mut pg);
    }
}

fn entry(n: u64) -> Entry {
    Entry {
        seq: 999, // the log assigns the real one
        time: format!("2026-03-{:02}T10:{:02}:00Z", 1 + n % 28, n % 60),
        kind: match n % 4 {
            0 => EventKind::Access,
            1 => EventKind::Decision,
            2 => EventKind::Access,
            _ => EventKind::ConsentChange,
        },
        actor_user: format!("u-{}", n % 7),
        actor_org: "RX1".into(),
        role: "gp".into(),
        purpose: Some("direct_care".into()),
        subject: Some(format!("CCI-{:06}", n % 5)),
        decision: (n % 4 == 1).then_some(if n % 8 == 1 {
            Decision::Deny
        } else {
            Decision::Permit
        }),
        reasons: vec![format!("rule:{n}")],
        details: json!({ "route": "/chronology", "n": n }),
    }
}

fn fill(h: &mut Harness, n: u64) {
    let range = h.log.append((0..n).map(entry).collect()).unwrap();
    assert_eq!(range.end - range.start, n);
}

fn verify(h: &mut Harness) -> Result<store::audit::AuditReport, AuditError> {
    h.log.verify(None, &mut |_, _| {})
}

#[test]
fn appends_assign_gap_free_seqs_that_survive_reopening() {
    on_both(|h| {
        assert_eq!(h.log.append(vec![entry(0), entry(1)]).unwrap(), 0..2);
        assert_eq!(h.log.append(vec![]).unwrap(), 2..2);
        assert_eq!(h.log.append((2..250).map(entry).collect()).unwrap(), 2..250);
        h.reopen();
        assert_eq!(h.log.size().unwrap(), 250);
        assert_eq!(h.log.append(vec![entry(250)]).unwrap(), 250..251);
        let stored = h.log.entry(7).unwrap();
        assert_eq!(stored.seq, 7);
        assert_eq!(stored.actor_user, "u-0");
        assert_eq!(stored.details, json!({ "route": "/chronology", "n": 7 }));
        h.log.checkpoint().unwrap();
        let report = verify(h).unwrap();
        assert_eq!(report.ledger.entries, 251, "{}", h.kind);
        assert_eq!(report.ledger.unsigned_tail, 0);
    });
}

#[test]
fn the_ledger_refuses_ordinary_updates_and_deletes() {
    on_both(|h| {
        fill(h, 3);
        h.log.checkpoint().unwrap();
        let kind = h.kind;
        let url = h.url.clone();
        let refused = |sql: &str| -> bool {
            if kind == "sqlite" {
                let path = url.strip_prefix("sqlite:").unwrap();
                rusqlite::Connection::open(path)
                    .unwrap()
                    .execute_batch(sql)
                    .is_err()
            } else {
                let (base, schema) = url.split_once("?schema=").unwrap();
                let mut client = postgres::Client::connect(base, postgres::NoTls).unwrap();
                client
                    .batch_execute(&format!("SET search_path TO {schema}; {sql}"))
                    .is_err()
            }
        };
        assert!(refused(
            "UPDATE audit_entries SET actor_user = 'x' WHERE seq = 1"
        ));
        assert!(refused("DELETE FROM audit_entries WHERE seq = 2"));
        assert!(refused("DELETE FROM audit_checkpoints"));
        verify(h).unwrap();
    });
}

#[test]
fn an_edited_entry_is_located_by_its_leaf_hash() {
    on_both(|h| {
        fill(h, 20);
        h.log.checkpoint().unwrap();
        h.unguard();
        (h.raw)(
            "UPDATE audit_entries SET leaf = REPLACE(leaf, '\"u-5\"', '\"u-6\"') WHERE seq = 12",
        );
        let err = verify(h).unwrap_err();
        assert!(
            matches!(err, AuditError::LeafHashMismatch { seq: 12 }),
            "{}: {err}",
            h.kind
        );
    });
}

#[test]
fn an_entry_edited_with_its_leaf_hash_is_caught_by_the_signed_root() {
    on_both(|h| {
        fill(h, 20);
        h.log.checkpoint().unwrap();
        fill(h, 10);
        h.log.checkpoint().unwrap();
        // Rewrite entry 25 consistently: bytes and leaf hash (but not the signed roots).
        let mut forged = h.log.entry(25).unwrap();
        forged.actor_user = "someone-else".into();
        let leaf = String::from_utf8(forged.canonical_bytes()).unwrap();
        let hash = ledger::to_hex(&forged.leaf_hash());
        h.unguard();
        (h.raw)(&format!(
            "UPDATE audit_entries SET leaf = '{leaf}', leaf_hash = '{hash}', actor_user = 'someone-else' WHERE seq = 25"
        ));
        let err = verify(h).unwrap_err();
        assert!(
            matches!(
                err,
                AuditError::Tampered(LedgerError::EntryAltered {
                    first: 20,
                    last: 29,
                    ..
                })
            ),
            "{}: {err}",
            h.kind
        );
        assert_eq!(
            err.to_string(),
            "an entry in 20..=29 was altered: the recomputed root at size 30 differs from checkpoint 1"
        );
    });
}

#[test]
fn an_edited_index_column_is_detected() {
    on_both(|h| {
        fill(h, 10);
        h.unguard();
        // Hiding an access from the family's view by moving it to another subject.
        (h.raw)("UPDATE audit_entries SET subject = 'CCI-999999' WHERE seq = 4");
        let err = verify(h).unwrap_err();
        assert!(
            matches!(
                err,
                AuditError::ColumnMismatch {
                    seq: 4,
                    column: "subject",
                    ..
                }
            ),
            "{}: {err}",
            h.kind
        );
    });
}

#[test]
fn deleted_and_reordered_entries_are_located() {
    on_both(|h| {
        fill(h, 10);
        h.log.checkpoint().unwrap();
        h.unguard();
        (h.raw)("DELETE FROM audit_entries WHERE seq = 6");
        let err = verify(h).unwrap_err();
        assert!(
            matches!(
                err,
                AuditError::Tampered(LedgerError::SeqMismatch {
                    index: 6,
                    found: 7,
                    ..
                })
            ),
            "{}: {err}",
            h.kind
        );
    });
    on_both(|h| {
        fill(h, 10);
        h.log.checkpoint().unwrap();
        h.unguard();
        // Swap entries 3 and 4 wholesale (every column but the row's seq).
        (h.raw)(
            "UPDATE audit_entries SET seq = 100 WHERE seq = 3;
             UPDATE audit_entries SET seq = 3 WHERE seq = 4;
             UPDATE audit_entries SET seq = 4 WHERE seq = 100;",
        );
        let err = verify(h).unwrap_err();
        assert!(
            matches!(
                err,
                AuditError::Tampered(LedgerError::SeqMismatch {
                    index: 3,
                    found: 4,
                    ..
                })
            ),
            "{}: {err}",
            h.kind
        );
    });
}

#[test]
fn entries_deleted_from_the_end_are_detected_with_or_without_a_checkpoint() {
    on_both(|h| {
        fill(h, 10);
        h.log.checkpoint().unwrap();
        h.unguard();
        (h.raw)("DELETE FROM audit_entries WHERE seq >= 8");
        let err = verify(h).unwrap_err();
        assert!(
            matches!(
                err,
                AuditError::Tampered(LedgerError::Truncated {
                    size: 10,
                    entries: 8,
                    ..
                })
            ),
            "{}: {err}",
            h.kind
        );
    });
    on_both(|h| {
        fill(h, 10);
        h.unguard();
        (h.raw)("DELETE FROM audit_entries WHERE seq = 9");
        let err = verify(h).unwrap_err();
        assert!(
            matches!(
                err,
                AuditError::Missing {
                    recorded: 10,
                    found: 9
                }
            ),
            "{}: {err}",
            h.kind
        );
    });
}

#[test]
fn a_tampered_frontier_is_detected_before_it_can_corrupt_later_appends() {
    on_both(|h| {
        fill(h, 6); // frontier: roots of 4 and 2 leaves
        let zero = "0".repeat(64);
        (h.raw)(&format!(
            "UPDATE audit_state SET frontier = '{zero},{zero}' WHERE id = 1"
        ));
        let err = verify(h).unwrap_err();
        assert!(
            matches!(err, AuditError::FrontierMismatch { recorded: 6 }),
            "{}: {err}",
            h.kind
        );
    });
}

#[test]
fn a_forged_checkpoint_is_rejected() {
    on_both(|h| {
        fill(h, 4);
        h.log.checkpoint().unwrap();
        fill(h, 4);
        // A checkpoint signed with another key, inserted directly.
        let forged = Signer::from_seed([12; 32])
            .sign(&ledger::Checkpoint {
                origin: "kith.test/audit".into(),
                size: 8,
                root: ledger::empty_root(),
            })
            .unwrap();
        (h.raw)(&format!(
            "INSERT INTO audit_checkpoints (size, signed, created_at) VALUES (8, '{forged}', 'now')"
        ));
        let err = verify(h).unwrap_err();
        assert!(
            matches!(
                err,
                AuditError::Tampered(LedgerError::CheckpointSignature { size: 8, .. })
            ),
            "{}: {err}",
            h.kind
        );
    });
}

#[test]
fn proofs_verify_with_the_public_key_alone() {
    on_both(|h| {
        fill(h, 5);
        let old = h.log.checkpoint().unwrap();
        fill(h, 8);
        h.log.checkpoint().unwrap();
        fill(h, 2); // not yet checkpointed
        let public = h.log.public_key_text().unwrap();
        let (_, key) = ledger::parse_verifier_key(&public).unwrap();

        let bundle = h
            .log
            .proof(ProofRequest {
                seq: Some(9),
                from: Some(5),
                size: None,
            })
            .unwrap();
        let json = serde_json::to_string(&bundle).unwrap();
        let read: ledger::ProofBundle = serde_json::from_str(&json).unwrap();
        let summary = read.verify(&key).unwrap();
        assert_eq!(summary.checkpoint.checkpoint.size, 13);
        assert_eq!(summary.entry.unwrap().seq, 9);
        assert_eq!(summary.consistent_from, Some((5, true)));

        let at_old = h
            .log
            .proof(ProofRequest {
                seq: Some(2),
                from: None,
                size: Some(5),
            })
            .unwrap();
        assert_eq!(at_old.checkpoint, old.to_string());
        at_old.verify(&key).unwrap();

        assert!(matches!(
            h.log.proof(ProofRequest {
                seq: Some(13),
                ..ProofRequest::default()
            }),
            Err(AuditError::NotCheckpointed { seq: 13, size: 13 })
        ));
        assert!(matches!(
            h.log.proof(ProofRequest {
                seq: Some(1),
                size: Some(6),
                ..ProofRequest::default()
            }),
            Err(AuditError::NoSuchCheckpoint(6))
        ));
    });
}

fn access(subject: &str, user: &str, kind: EventKind, details: serde_json::Value) -> Entry {
    Entry {
        seq: 0,
        time: "2026-04-01T09:00:00Z".into(),
        kind,
        actor_user: user.into(),
        actor_org: "RX1".into(),
        role: "gp".into(),
        purpose: Some("direct_care".into()),
        subject: Some(subject.into()),
        decision: None,
        reasons: vec!["isa:leeds-health-2026".into()],
        details,
    }
}

#[test]
fn the_subject_view_hides_deferred_entries_until_the_deferral_expires() {
    on_both(|h| {
        let seqs = h
            .log
            .append(vec![
                access(
                    "CCI-1",
                    "u-gp",
                    EventKind::Access,
                    json!({"via": "gp-connect"}),
                ),
                access("CCI-1", "u-police", EventKind::Access, json!(null)),
                access("CCI-2", "u-gp", EventKind::Access, json!(null)),
                access("CCI-1", "u-sw", EventKind::Override, json!(null)),
            ])
            .unwrap();
        assert_eq!(seqs, 0..4);
        let deferral = Deferral {
            seq: 1,
            until: "2026-09-01".into(),
            ground: "police_investigation".into(),
            reason: "operation in progress".into(),
            actor_user: "u-ig".into(),
            actor_org: "LA1".into(),
            role: "ig_lead".into(),
            time: "2026-04-02T09:00:00Z".into(),
        };
        assert_eq!(h.log.defer(&deferral).unwrap(), 4);

        let view = h.log.subject_view("CCI-1", "2026-05-01").unwrap();
        let shown: Vec<u64> = view.entries.iter().map(|e| e.seq).collect();
        assert_eq!(shown, [0, 3], "{}", h.kind);
        assert_eq!(view.deferred, 1);
        assert_eq!(view.deferred_until.as_deref(), Some("2026-09-01"));
        assert_eq!(view.entries[0].details["via"], "gp-connect");

        // From the expiry date the entry is shown; the deferral record never is.
        let later = h.log.subject_view("CCI-1", "2026-09-01").unwrap();
        let shown: Vec<u64> = later.entries.iter().map(|e| e.seq).collect();
        assert_eq!(shown, [0, 1, 3]);
        assert_eq!(later.deferred, 0);

        assert!(matches!(
            h.log.defer(&Deferral {
                seq: 99,
                ..deferral
            }),
            Err(AuditError::NoSuchEntry(99))
        ));
        verify(h).unwrap();
    });
}

#[test]
fn reports_list_denials_and_unreviewed_overrides() {
    on_both(|h| {
        fill(h, 16); // decisions at 1, 5, 9, 13; denials at 1 and 9
        let decisions = h.log.report(EventKind::Decision, None).unwrap();
        let denials: Vec<u64> = decisions
            .iter()
            .filter(|e| e.decision == Some(Decision::Deny))
            .map(|e| e.seq)
            .collect();
        assert_eq!(denials, [1, 9], "{}", h.kind);
        let since: Vec<u64> = h
            .log
            .report(EventKind::Decision, Some("2026-03-10"))
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(since, [9, 13]);

        let overrides = h
            .log
            .append(vec![
                access("CCI-3", "u-ed", EventKind::Override, json!(null)),
                access("CCI-4", "u-ed", EventKind::Override, json!(null)),
            ])
            .unwrap();
        let review = Review {
            seq: overrides.start,
            note: "justified: child presented with injuries".into(),
            actor_user: "u-privacy".into(),
            actor_org: "RX1".into(),
            role: "privacy_officer".into(),
            time: "2026-04-03T09:00:00Z".into(),
        };
        h.log.review(&review).unwrap();
        let open: Vec<u64> = h
            .log
            .unreviewed_overrides()
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(open, [overrides.start + 1]);
        assert!(matches!(
            h.log.review(&Review { seq: 0, ..review }),
            Err(AuditError::NotAnOverride { seq: 0, .. })
        ));
    });
}

#[test]
fn the_signing_key_file_is_created_private_and_refused_when_readable_by_others() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys/audit.key");
    let first = load_or_create_signer(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let again = load_or_create_signer(&path).unwrap();
    assert_eq!(first.verifying_key(), again.verifying_key());

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(matches!(
        load_or_create_signer(&path),
        Err(AuditError::KeyPermissions { mode: 0o644, .. })
    ));
}

#[test]
fn the_ledger_lives_apart_from_the_store() {
    assert_eq!(
        audit_url_for_store("sqlite:kith-data/kith.db").unwrap(),
        "sqlite:kith-data/audit.db"
    );
    assert_eq!(
        audit_url_for_store("sqlite::memory:").unwrap(),
        "sqlite::memory:"
    );
    assert_eq!(
        audit_url_for_store("postgres://kith@db/kith?schema=leeds&sslmode=disable").unwrap(),
        "postgres://kith@db/kith?sslmode=disable&schema=leeds_audit"
    );
    assert_eq!(
        audit_url_for_store("postgres://kith@db/kith").unwrap(),
        "postgres://kith@db/kith?schema=kith_audit"
    );
}

#[test]
fn group_commit_gives_every_thread_its_own_gap_free_seqs() {
    on_both(|h| {
        let log = std::mem::replace(
            &mut h.log,
            AuditLog::open("sqlite::memory:", options()).unwrap(),
        );
        let writer = AuditWriter::start(log);
        let threads: Vec<_> = (0..8u64)
            .map(|thread| {
                let handle = writer.handle().unwrap();
                std::thread::spawn(move || {
                    (0..100u64)
                        .map(|i| {
                            let mut e = entry(i);
                            e.actor_user = format!("thread-{thread}");
                            (thread, handle.append(vec![e]).unwrap())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut ranges: Vec<_> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        h.log = writer.finish().unwrap();
        ranges.sort_by_key(|(_, r)| r.start);
        for (i, (thread, range)) in ranges.iter().enumerate() {
            assert_eq!(*range, i as u64..i as u64 + 1, "{}", h.kind);
            assert_eq!(
                h.log.entry(range.start).unwrap().actor_user,
                format!("thread-{thread}")
            );
        }
        h.log.checkpoint().unwrap();
        assert_eq!(verify(h).unwrap().ledger.entries, 800);
    });
}

#[test]
fn two_connections_appending_at_once_get_gap_free_seqs() {
    on_both(|h| {
        let url = h.url.clone();
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let url = url.clone();
                std::thread::spawn(move || {
                    let mut log = AuditLog::open(&url, options()).unwrap();
                    let mut starts = Vec::new();
                    for _ in 0..30 {
                        let range = log.append((0..10).map(entry).collect()).unwrap();
                        assert_eq!(range.end - range.start, 10);
                        starts.push(range.start);
                    }
                    starts
                })
            })
            .collect();
        let mut starts: Vec<u64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        starts.sort_unstable();
        let expected: Vec<u64> = (0..60).map(|i| i * 10).collect();
        assert_eq!(starts, expected, "{}", h.kind);
        h.log.checkpoint().unwrap();
        assert_eq!(verify(h).unwrap().ledger.entries, 600);
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Random batches, reopening between some of them: the persisted log always verifies and
    /// its checkpointed roots equal the in-memory tree's.
    #[test]
    fn persisted_roots_equal_the_in_memory_log(
        batches in proptest::collection::vec((0usize..130, any::<bool>(), any::<bool>()), 1..6)
    ) {
        let mut harnesses = vec![sqlite()];
        harnesses.extend(postgres());
        for h in &mut harnesses {
            let mut memory = Log::new();
            let mut n = 0u64;
            for &(size, reopen, checkpoint) in &batches {
                let batch: Vec<Entry> = (n..n + size as u64).map(entry).collect();
                let range = h.log.append(batch.clone()).unwrap();
                prop_assert_eq!(range, n..n + size as u64);
                for (i, mut e) in batch.into_iter().enumerate() {
                    e.seq = n + i as u64;
                    memory.append(e.leaf_hash());
                }
                n += size as u64;
                if reopen {
                    h.reopen();
                }
                if checkpoint {
                    let signed = h.log.checkpoint().unwrap();
                    prop_assert_eq!(signed.checkpoint.size, memory.size());
                    prop_assert_eq!(signed.checkpoint.root, memory.root());
                }
            }
            let report = verify(h).unwrap();
            prop_assert_eq!(report.ledger.entries, memory.size());
            prop_assert_eq!(report.ledger.root, memory.root());
        }
    }
}

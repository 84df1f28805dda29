//! The safeguarding tables on embedded SQLite and a real PostgreSQL server: flag upserts and
//! dates, encounter and notification idempotency, claiming with leases, the inbox and the
//! access log.
//!
//! PostgreSQL tests connect to `KITH_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) in a schema of their own, dropped afterwards.
//! When the server cannot be reached they say so and pass, unless `KITH_REQUIRE_POSTGRES=1`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::Harness;

use store::Store;
use store::safeguarding::{EncounterRecord, FlagAccess, FlagRecord, FlagWrite, NewNotification};

on_both!(
    "kith_sg":
    migration_is_recorded_and_idempotent,
    flags_upsert_by_owner_kind_child_and_reference,
    an_older_source_version_never_overwrites_a_newer_one,
    active_flags_respect_start_and_end_dates,
    a_resent_encounter_is_recorded_once,
    a_notification_key_is_taken_once,
    claims_lease_rows_and_delivered_rows_stay_in_the_inbox,
    two_connections_never_claim_the_same_row,
    the_access_log_returns_the_latest_views_newest_first,
    flags_move_to_another_child,
    an_end_before_the_start_is_refused_by_the_schema,
);

fn flag(cci: &str, kind: &str, reference: &str) -> FlagRecord {
    FlagRecord {
        cci: cci.into(),
        kind: kind.into(),
        la_code: "E08000035".into(),
        la_name: "Leeds".into(),
        reference: reference.into(),
        office_phone: "0113 222 4403".into(),
        office_email: "cp@leeds.gov.uk".into(),
        ooh_phone: "0113 535 0600".into(),
        ooh_email: "edt@leeds.gov.uk".into(),
        start_date: "2026-01-10".into(),
        end_date: None,
        source_updated_at: "2026-01-10T09:00:00Z".into(),
        received_at: "2026-01-10T09:00:05Z".into(),
    }
}

fn encounter(local_id: &str) -> EncounterRecord {
    EncounterRecord {
        source_org: "RR8".into(),
        local_id: local_id.into(),
        cci: "K000000001X".into(),
        setting: "emergency-department".into(),
        org_code: "RR8".into(),
        org_name: "Leeds Teaching Hospitals".into(),
        started_at: "2026-03-01T10:00:00Z".into(),
        received_at: "2026-03-01T10:00:01Z".into(),
    }
}

fn notification(key: &str, flag_id: i64, due: i64) -> NewNotification {
    NewNotification {
        dedup_key: key.into(),
        la_code: "E08000035".into(),
        kind: "attendance".into(),
        flag_id,
        cci: "K000000001X".into(),
        created_at: "2026-03-01T10:00:01Z".into(),
        payload: r#"{"kind":"attendance"}"#.into(),
        next_attempt_at: due,
    }
}

fn migration_is_recorded_and_idempotent(h: &mut Harness) {
    // Reopening runs no migration twice (the tables exist, so a rerun would fail).
    let mut again = Store::open(&h.url).unwrap();
    assert!(
        again
            .safeguarding()
            .flags_of_child("K000000001X")
            .unwrap()
            .is_empty()
    );
}

fn flags_upsert_by_owner_kind_child_and_reference(h: &mut Harness) {
    let mut sg = h.store.safeguarding();
    let original = flag("K000000001X", "child-protection-plan", "CPP-1");
    let (id, write) = sg.upsert_flag(&original).unwrap();
    assert_eq!(write, FlagWrite::Inserted);
    // The same flag received again: only the receipt time differs.
    let resent = FlagRecord {
        received_at: "2026-01-11T00:00:00Z".into(),
        ..original.clone()
    };
    assert_eq!(sg.upsert_flag(&resent).unwrap(), (id, FlagWrite::Unchanged));
    // A new out-of-hours number from a later source version updates in place.
    let changed = FlagRecord {
        ooh_phone: "0113 535 0601".into(),
        source_updated_at: "2026-02-01T09:00:00Z".into(),
        ..original.clone()
    };
    assert_eq!(sg.upsert_flag(&changed).unwrap(), (id, FlagWrite::Updated));
    assert_eq!(
        sg.flag(id).unwrap().unwrap().flag.ooh_phone,
        "0113 535 0601"
    );
    // Another reference or kind is another flag.
    let (other, write) = sg
        .upsert_flag(&flag("K000000001X", "looked-after-child", "CPP-1"))
        .unwrap();
    assert_eq!(write, FlagWrite::Inserted);
    assert_ne!(other, id);
    assert_eq!(sg.flags_of_child("K000000001X").unwrap().len(), 2);
}

fn an_older_source_version_never_overwrites_a_newer_one(h: &mut Harness) {
    let mut sg = h.store.safeguarding();
    let newer = FlagRecord {
        end_date: Some("2026-02-01".into()),
        source_updated_at: "2026-02-01T09:00:00Z".into(),
        ..flag("K000000001X", "child-protection-plan", "CPP-1")
    };
    let (id, _) = sg.upsert_flag(&newer).unwrap();
    let older = flag("K000000001X", "child-protection-plan", "CPP-1");
    assert_eq!(sg.upsert_flag(&older).unwrap(), (id, FlagWrite::Older));
    assert_eq!(
        sg.flag(id).unwrap().unwrap().flag.end_date.as_deref(),
        Some("2026-02-01")
    );
}

fn active_flags_respect_start_and_end_dates(h: &mut Harness) {
    let mut sg = h.store.safeguarding();
    let (id, _) = sg
        .upsert_flag(&flag("K000000001X", "child-protection-plan", "CPP-1"))
        .unwrap();
    let active = |sg: &mut store::safeguarding::SafeguardingConn<'_>, date: &str| {
        sg.active_flags("K000000001X", date)
            .unwrap()
            .iter()
            .map(|f| f.id)
            .collect::<Vec<_>>()
    };
    assert!(active(&mut sg, "2026-01-09").is_empty());
    assert_eq!(active(&mut sg, "2026-01-10"), [id]);
    assert!(
        sg.end_flag(
            id,
            "2026-02-28",
            "2026-02-28T12:00:00Z",
            "2026-02-28T12:00:01Z"
        )
        .unwrap()
    );
    assert_eq!(active(&mut sg, "2026-02-28"), [id]);
    assert!(active(&mut sg, "2026-03-01").is_empty());
    assert!(
        sg.active_flags("K0000000028", "2026-02-01")
            .unwrap()
            .is_empty()
    );
}

fn a_resent_encounter_is_recorded_once(h: &mut Harness) {
    let mut sg = h.store.safeguarding();
    let first = sg.insert_encounter(&encounter("ED-1")).unwrap();
    assert!(first.is_some());
    assert_eq!(sg.insert_encounter(&encounter("ED-1")).unwrap(), None);
    assert!(sg.insert_encounter(&encounter("ED-2")).unwrap().is_some());
}

fn a_notification_key_is_taken_once(h: &mut Harness) {
    let mut sg = h.store.safeguarding();
    let (flag_id, _) = sg
        .upsert_flag(&flag("K000000001X", "child-protection-plan", "CPP-1"))
        .unwrap();
    let first = sg
        .add_notification(&notification("k1", flag_id, 0))
        .unwrap();
    assert!(first.is_some());
    assert_eq!(
        sg.add_notification(&notification("k1", flag_id, 0))
            .unwrap(),
        None
    );
    assert_eq!(sg.inbox("E08000035", 0, 100).unwrap().len(), 1);
}

fn claims_lease_rows_and_delivered_rows_stay_in_the_inbox(h: &mut Harness) {
    let mut sg = h.store.safeguarding();
    let (flag_id, _) = sg
        .upsert_flag(&flag("K000000001X", "child-protection-plan", "CPP-1"))
        .unwrap();
    let a = sg
        .add_notification(&notification("a", flag_id, 1_000))
        .unwrap()
        .unwrap();
    let b = sg
        .add_notification(&notification("b", flag_id, 5_000))
        .unwrap()
        .unwrap();
    assert_eq!(sg.next_due().unwrap(), Some(1_000));
    // Only `a` is due at t=2000; claiming leases it until t=60000.
    let claimed = sg.claim_due(2_000, 60_000, 10).unwrap();
    assert_eq!(claimed.iter().map(|n| n.id).collect::<Vec<_>>(), [a]);
    assert_eq!(claimed[0].attempts, 1);
    assert_eq!(claimed[0].next_attempt_at, 60_000);
    // Leased: not claimable again before the lease ends, even though `b` now is.
    let claimed = sg.claim_due(6_000, 60_000, 10).unwrap();
    assert_eq!(claimed.iter().map(|n| n.id).collect::<Vec<_>>(), [b]);
    // A failure is rescheduled with its error; a success is marked once.
    assert!(
        sg.reschedule(b, 7_000, "webhook answered HTTP 500")
            .unwrap()
    );
    assert!(sg.mark_delivered(a, "2026-03-01T10:00:02Z").unwrap());
    assert!(!sg.mark_delivered(a, "2026-03-01T10:00:03Z").unwrap());
    // After the lease a delivered row is never claimed again; the failed one is.
    let claimed = sg.claim_due(100_000, 160_000, 10).unwrap();
    assert_eq!(claimed.iter().map(|n| n.id).collect::<Vec<_>>(), [b]);
    assert_eq!(claimed[0].attempts, 2);
    assert_eq!(
        claimed[0].last_error.as_deref(),
        Some("webhook answered HTTP 500")
    );
    let inbox = sg.inbox("E08000035", 0, 100).unwrap();
    assert_eq!(inbox.len(), 2);
    assert_eq!(inbox[0].status, "delivered");
    assert_eq!(
        inbox[0].delivered_at.as_deref(),
        Some("2026-03-01T10:00:02Z")
    );
    assert_eq!(inbox[1].status, "pending");
    assert_eq!(sg.inbox("E08000035", a, 100).unwrap().len(), 1);
    assert!(sg.inbox("E09000001", 0, 100).unwrap().is_empty());
}

fn two_connections_never_claim_the_same_row(h: &mut Harness) {
    let (flag_id, _) = h
        .store
        .safeguarding()
        .upsert_flag(&flag("K000000001X", "child-protection-plan", "CPP-1"))
        .unwrap();
    for n in 0..200 {
        h.store
            .safeguarding()
            .add_notification(&notification(&format!("n{n}"), flag_id, 0))
            .unwrap();
    }
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let url = h.url.clone();
            std::thread::spawn(move || {
                let mut store = Store::open(&url).unwrap();
                let mut ids = Vec::new();
                loop {
                    let claimed = store.safeguarding().claim_due(10, 1_000_000, 7).unwrap();
                    if claimed.is_empty() {
                        break;
                    }
                    ids.extend(claimed.iter().map(|n| n.id));
                }
                ids
            })
        })
        .collect();
    let mut all: Vec<i64> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    let claimed = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), claimed, "a row was claimed twice");
    assert_eq!(claimed, 200);
}

fn the_access_log_returns_the_latest_views_newest_first(h: &mut Harness) {
    let mut sg = h.store.safeguarding();
    let (flag_id, _) = sg
        .upsert_flag(&flag("K000000001X", "child-protection-plan", "CPP-1"))
        .unwrap();
    for n in 0..30 {
        sg.add_access(&FlagAccess {
            flag_id,
            viewer: format!("u-{n}"),
            org_code: "RR8".into(),
            role: "ed-clinician".into(),
            setting: "emergency-department".into(),
            at: format!("2026-03-01T10:{n:02}:00Z"),
        })
        .unwrap();
    }
    let recent = sg.recent_accesses(flag_id, 25).unwrap();
    assert_eq!(recent.len(), 25);
    assert_eq!(recent[0].viewer, "u-29");
    assert_eq!(recent[24].viewer, "u-5");
}

fn flags_move_to_another_child(h: &mut Harness) {
    let mut sg = h.store.safeguarding();
    let (id, _) = sg
        .upsert_flag(&flag("K0000000028", "looked-after-child", "LAC-1"))
        .unwrap();
    sg.move_flag(id, "K000000001X").unwrap();
    assert!(sg.flags_of_child("K0000000028").unwrap().is_empty());
    assert_eq!(sg.flags_of_child("K000000001X").unwrap()[0].id, id);
    // The natural key stays unique: a second identical flag for the survivor cannot move in.
    let (dup, _) = sg
        .upsert_flag(&flag("K0000000028", "looked-after-child", "LAC-1"))
        .unwrap();
    assert!(sg.move_flag(dup, "K000000001X").is_err());
}

fn an_end_before_the_start_is_refused_by_the_schema(h: &mut Harness) {
    let mut sg = h.store.safeguarding();
    let (id, _) = sg
        .upsert_flag(&flag("K000000001X", "child-protection-plan", "CPP-1"))
        .unwrap();
    assert!(
        sg.end_flag(
            id,
            "2026-01-01",
            "2026-02-01T00:00:00Z",
            "2026-02-01T00:00:01Z"
        )
        .is_err()
    );
    let unknown_kind = flag("K000000001X", "child-in-need", "CIN-1");
    assert!(sg.upsert_flag(&unknown_kind).is_err());
}

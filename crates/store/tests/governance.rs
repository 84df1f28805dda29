//! The governance records table on embedded SQLite and a real PostgreSQL server: records keep
//! their kind, id and write order, a natural key is taken once, numbered ids are handed out by
//! the store, and a failed transaction leaves nothing behind.
//!
//! PostgreSQL tests connect to `KITH_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and work in a schema of their own that is
//! dropped afterwards. When the server cannot be reached they say so and pass, unless
//! `KITH_REQUIRE_POSTGRES=1`, in which case they fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::Harness;

use store::governance::GovernanceRecord;
use store::{Store, StoreError};

on_both!(
    "kith_gov":
    records_round_trip_in_write_order,
    a_natural_key_is_taken_once,
    numbered_ids_are_handed_out_by_the_store,
    a_failed_transaction_leaves_nothing_behind,
    records_survive_reopening,
);

fn consent(id: &str, child: &str) -> GovernanceRecord {
    GovernanceRecord {
        kind: "consent".into(),
        id: id.into(),
        child: Some(child.into()),
        body: format!(r#"{{"id":"{id}","child":"{child}"}}"#),
        recorded_at: "2026-03-01T10:00:00Z".into(),
    }
}

fn records_round_trip_in_write_order(h: &mut Harness) {
    let mut g = h.store.governance();
    assert!(g.insert(&consent("C-2", "K000000001X")).unwrap());
    assert!(g.insert(&consent("C-1", "K000000001X")).unwrap());
    assert!(g.insert(&consent("C-3", "K000000002X")).unwrap());
    let alert = GovernanceRecord {
        kind: "privacy_alert".into(),
        id: "BG-1".into(),
        child: None,
        body: r#"{"grant_id":"BG-1"}"#.into(),
        recorded_at: "2026-03-01T10:00:01Z".into(),
    };
    assert!(g.insert(&alert).unwrap());

    let ids: Vec<String> = g
        .of_kind("consent")
        .unwrap()
        .into_iter()
        .map(|r| r.record.id)
        .collect();
    assert_eq!(ids, ["C-2", "C-1", "C-3"], "write order, not id order");
    let child: Vec<String> = g
        .for_child("consent", "K000000001X")
        .unwrap()
        .into_iter()
        .map(|r| r.record.id)
        .collect();
    assert_eq!(child, ["C-2", "C-1"]);
    let stored = g.get("privacy_alert", "BG-1").unwrap().unwrap();
    assert_eq!(stored.record, alert);
    assert_eq!(g.all().unwrap().len(), 4);
    assert!(
        g.get("consent", "BG-1").unwrap().is_none(),
        "ids are per kind"
    );
}

fn a_natural_key_is_taken_once(h: &mut Harness) {
    let mut g = h.store.governance();
    assert!(g.insert(&consent("C-1", "K000000001X")).unwrap());
    let mut again = consent("C-1", "K000000001X");
    again.body = r#"{"changed":true}"#.into();
    assert!(!g.insert(&again).unwrap(), "the second insert is refused");
    let stored = g.get("consent", "C-1").unwrap().unwrap();
    assert_eq!(stored.record.body, consent("C-1", "K000000001X").body);

    assert!(
        g.replace_body("consent", "C-1", r#"{"withdrawn":"2026-03-02"}"#)
            .unwrap()
    );
    assert!(!g.replace_body("consent", "C-404", "{}").unwrap());
    let stored = g.get("consent", "C-1").unwrap().unwrap();
    assert_eq!(stored.record.body, r#"{"withdrawn":"2026-03-02"}"#);
}

fn numbered_ids_are_handed_out_by_the_store(h: &mut Harness) {
    let mut g = h.store.governance();
    let first = g
        .insert_numbered(
            "break_glass",
            "BG-",
            Some("K000000001X"),
            "2026-03-01T10:00:00Z",
            |id| Ok(format!(r#"{{"id":"{id}"}}"#)),
        )
        .unwrap();
    let second = g
        .insert_numbered(
            "break_glass",
            "BG-",
            Some("K000000001X"),
            "2026-03-01T10:00:00Z",
            |id| Ok(format!(r#"{{"id":"{id}"}}"#)),
        )
        .unwrap();
    assert!(first.starts_with("BG-") && second.starts_with("BG-"));
    assert_ne!(first, second);
    let stored = g.get("break_glass", &second).unwrap().unwrap();
    assert_eq!(stored.record.body, format!(r#"{{"id":"{second}"}}"#));
    assert_eq!(stored.record.id, format!("BG-{}", stored.seq));
}

fn a_failed_transaction_leaves_nothing_behind(h: &mut Harness) {
    let outcome: Result<(), StoreError> = h.store.governance_tx(|tx| {
        tx.insert(&consent("C-1", "K000000001X"))?;
        tx.insert_numbered("break_glass", "BG-", None, "2026-03-01T10:00:00Z", |_| {
            Ok("{}".into())
        })?;
        Err(StoreError::NoSuchBatch(0))
    });
    assert!(outcome.is_err());
    assert!(h.store.governance().all().unwrap().is_empty());

    let kept: Result<bool, StoreError> = h
        .store
        .governance_tx(|tx| tx.insert(&consent("C-1", "K000000001X")));
    assert!(kept.unwrap());
    assert_eq!(h.store.governance().all().unwrap().len(), 1);
}

fn records_survive_reopening(h: &mut Harness) {
    h.store
        .governance()
        .insert(&consent("C-1", "K000000001X"))
        .unwrap();
    let mut reopened = Store::open(&h.url).unwrap();
    let all = reopened.governance().all().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].record.id, "C-1");
}

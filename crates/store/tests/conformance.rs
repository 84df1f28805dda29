//! One storage conformance suite, run against embedded SQLite and a real PostgreSQL server.
//!
//! PostgreSQL tests connect to `KITH_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and work in a schema of their own that is
//! dropped afterwards. When the server cannot be reached they say so and pass, unless
//! `KITH_REQUIRE_POSTGRES=1` (set by `.ci/run`), in which case they fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod common;

use common::Harness;

use model::{
    AgencyType, Entry, Identifier, IdentifierKind, Organisation, PersonRecord, Relationship,
    RelationshipKind, Sensitivity, Sex,
};
use store::{Chunk, IngestIssue, NewBatch, Severity, Store};

on_both!(
    "kith_t":
    migrations_are_idempotent,
    records_round_trip_with_identifiers,
    reapplying_a_chunk_changes_nothing,
    a_changed_record_is_updated_in_place,
    entries_about_unknown_records_are_quarantined,
    relationships_load_and_resolve,
    batches_are_found_by_content_and_resume_from_last_line,
    a_failing_chunk_leaves_nothing_behind,
    persons_and_links,
);

fn record(local_id: &str, given: &str, family: &str) -> PersonRecord {
    PersonRecord {
        source: "GP_A81001".into(),
        local_id: local_id.into(),
        given_name: Some(given.into()),
        middle_names: None,
        family_name: Some(family.into()),
        previous_names: vec!["Jones".into()],
        date_of_birth: Some("14/03/2012".parse().unwrap()),
        sex: Sex::Female,
        address: Some("12 Mill Lane".into()),
        town: Some("Leeds".into()),
        postcode: Some("LS6 2QT".into()),
        uprn: None,
        identifiers: vec![Identifier {
            kind: IdentifierKind::NhsNumber,
            value: "9434765919".into(),
            status: Some("01".into()),
        }],
    }
}

fn entry(id: &str, record_id: &str) -> Entry {
    Entry {
        source: "GP_A81001".into(),
        entry_id: id.into(),
        record_id: record_id.into(),
        entry_type: "consultation".into(),
        occurred_on: "2024-05-01".parse().unwrap(),
        ended_on: None,
        category: "health".into(),
        sensitivity: Sensitivity::Normal,
        summary: Some("routine review".into()),
    }
}

fn new_batch(store: &mut Store, sha: &str) -> i64 {
    store
        .begin_batch(&NewBatch {
            file_name: "GP_A81001.csv".into(),
            file_sha256: sha.into(),
            org_code: None,
            kind: "records".into(),
            started_at: "2026-11-22T09:00:00Z".into(),
        })
        .unwrap()
        .id
}

fn records_chunk(records: Vec<PersonRecord>) -> Chunk {
    let last_line = records.len() as u64 + 1;
    Chunk {
        records: records
            .into_iter()
            .enumerate()
            .map(|(i, r)| (i as u64 + 2, r, None))
            .collect(),
        last_line,
        ..Chunk::default()
    }
}

fn migrations_are_idempotent(h: &mut Harness) {
    let first = Organisation {
        code: "CSC_E08000035".into(),
        name: "Leeds Children's Services".into(),
        agency_type: AgencyType::SocialCare,
    };
    assert_eq!(
        h.store.upsert_organisation(&first).unwrap(),
        store::Upsert::Inserted
    );
    let renamed = Organisation {
        name: "Leeds City Council Children and Families".into(),
        ..first
    };
    assert_eq!(
        h.store.upsert_organisation(&renamed).unwrap(),
        store::Upsert::Updated
    );
    assert_eq!(
        h.store.upsert_organisation(&renamed).unwrap(),
        store::Upsert::Unchanged
    );
    // Opening the same database again finds the schema current and keeps the data.
    let mut reopened = Store::open(&h.url).unwrap();
    assert_eq!(
        reopened.organisations().unwrap(),
        vec![renamed],
        "{}",
        h.kind
    );
}

fn records_round_trip_with_identifiers(h: &mut Harness) {
    let batch = new_batch(&mut h.store, "aa");
    let mut partial = record("P2", "Ann", "Smith");
    partial.date_of_birth = Some("~2009".parse().unwrap());
    partial.identifiers.push(Identifier {
        kind: IdentifierKind::Upn,
        value: "B801200005001".into(),
        status: None,
    });
    let outcome = h
        .store
        .apply_chunk(
            batch,
            &records_chunk(vec![record("P1", "Amy", "Smith"), partial.clone()]),
        )
        .unwrap();
    assert_eq!(outcome.inserted, 2);
    let stored = h.store.record("GP_A81001", "P2").unwrap().unwrap();
    partial
        .identifiers
        .sort_by(|a, b| a.kind.system().cmp(b.kind.system()));
    assert_eq!(stored.record, partial, "{}", h.kind);
    assert_eq!(stored.record.date_of_birth.unwrap().to_string(), "~2009");
    assert!(h.store.record("GP_A81001", "nope").unwrap().is_none());
    let orgs = h.store.organisations().unwrap();
    assert_eq!(
        orgs[0].agency_type,
        AgencyType::Health,
        "type inferred from the GP_ prefix"
    );
    assert_eq!(h.store.counts().unwrap().identifiers, 3);
}

fn reapplying_a_chunk_changes_nothing(h: &mut Harness) {
    let batch = new_batch(&mut h.store, "bb");
    let chunk = records_chunk(vec![
        record("P1", "Amy", "Smith"),
        record("P2", "Ben", "Smith"),
    ]);
    h.store.apply_chunk(batch, &chunk).unwrap();
    let before = h.store.counts().unwrap();
    let again = h.store.apply_chunk(batch, &chunk).unwrap();
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 2));
    assert_eq!(h.store.counts().unwrap(), before);
}

fn a_changed_record_is_updated_in_place(h: &mut Harness) {
    let batch = new_batch(&mut h.store, "cc");
    h.store
        .apply_chunk(batch, &records_chunk(vec![record("P1", "Amy", "Smith")]))
        .unwrap();
    let id_before = h.store.record("GP_A81001", "P1").unwrap().unwrap().id;
    let mut changed = record("P1", "Amy", "Smith-Jones");
    changed.identifiers.clear();
    let outcome = h
        .store
        .apply_chunk(batch, &records_chunk(vec![changed]))
        .unwrap();
    assert_eq!(outcome.updated, 1);
    let stored = h.store.record("GP_A81001", "P1").unwrap().unwrap();
    assert_eq!(stored.id, id_before, "an update keeps the store id");
    assert_eq!(stored.record.family_name.as_deref(), Some("Smith-Jones"));
    assert!(
        stored.record.identifiers.is_empty(),
        "identifiers follow the latest extract"
    );
}

fn entries_about_unknown_records_are_quarantined(h: &mut Harness) {
    let batch = new_batch(&mut h.store, "dd");
    h.store
        .apply_chunk(batch, &records_chunk(vec![record("P1", "Amy", "Smith")]))
        .unwrap();
    let chunk = Chunk {
        entries: vec![(2, entry("E1", "P1")), (3, entry("E2", "P404"))],
        last_line: 3,
        ..Chunk::default()
    };
    let outcome = h.store.apply_chunk(batch, &chunk).unwrap();
    assert_eq!(outcome.inserted, 1);
    assert_eq!(outcome.store_rejections.len(), 1);
    assert_eq!(
        outcome.store_rejections[0].message,
        "refers to record `P404` which `GP_A81001` has not sent; ingest that organisation's person extract first"
    );
    assert_eq!(
        h.store.entries_for("GP_A81001", "P1").unwrap(),
        vec![entry("E1", "P1")]
    );
    let state = h.store.batch(batch).unwrap();
    assert_eq!(state.rows_quarantined, 1);
    let issues = h.store.batch_issues(batch).unwrap();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].line, 3);
    assert_eq!(issues[0].severity, Severity::Rejected);
}

fn relationships_load_and_resolve(h: &mut Harness) {
    let batch = new_batch(&mut h.store, "ee");
    h.store
        .apply_chunk(
            batch,
            &records_chunk(vec![
                record("P1", "Amy", "Smith"),
                record("P2", "Jane", "Smith"),
            ]),
        )
        .unwrap();
    let mother = Relationship {
        source: "GP_A81001".into(),
        record_id: "P1".into(),
        related_record_id: "P2".into(),
        kind: RelationshipKind::Parent,
        start_date: Some("2012-03-14".parse().unwrap()),
        end_date: None,
    };
    let mut dangling = mother.clone();
    dangling.related_record_id = "P9".into();
    let chunk = Chunk {
        relationships: vec![(2, mother.clone()), (3, dangling)],
        last_line: 3,
        ..Chunk::default()
    };
    let outcome = h.store.apply_chunk(batch, &chunk).unwrap();
    assert_eq!((outcome.inserted, outcome.store_rejections.len()), (1, 1));
    assert_eq!(
        outcome.store_rejections[0].field.as_deref(),
        Some("related_record_id")
    );
    assert_eq!(
        h.store.relationships_for("GP_A81001", "P1").unwrap(),
        vec![mother.clone()]
    );
    let again = h
        .store
        .apply_chunk(
            batch,
            &Chunk {
                relationships: vec![(2, mother)],
                last_line: 3,
                ..Chunk::default()
            },
        )
        .unwrap();
    assert_eq!(again.unchanged, 1);
}

fn batches_are_found_by_content_and_resume_from_last_line(h: &mut Harness) {
    assert!(h.store.find_batch("ff", "records", None).unwrap().is_none());
    let batch = new_batch(&mut h.store, "ff");
    let mut chunk = records_chunk(vec![record("P1", "Amy", "Smith")]);
    chunk.last_line = 5000;
    chunk.issues.push(IngestIssue {
        line: 3,
        field: Some("nhs_number".into()),
        severity: Severity::Warning,
        code: "nhs.check".into(),
        message: "invalid NHS number `9434765918`: check digit should be 9".into(),
        raw: None,
    });
    h.store.apply_chunk(batch, &chunk).unwrap();
    let found = h.store.find_batch("ff", "records", None).unwrap().unwrap();
    assert_eq!(found.id, batch);
    assert_eq!(found.last_line, 5000);
    assert_eq!((found.rows_inserted, found.warnings), (1, 1));
    assert!(found.finished_at.is_none());
    assert!(h.store.find_batch("ff", "entries", None).unwrap().is_none());
    let finished = h.store.finish_batch(batch, "2026-11-22T09:01:00Z").unwrap();
    assert_eq!(
        finished.finished_at.as_deref(),
        Some("2026-11-22T09:01:00Z")
    );
    assert_eq!(h.store.batches().unwrap().len(), 1);
}

fn a_failing_chunk_leaves_nothing_behind(h: &mut Harness) {
    let trigger = if h.kind == "sqlite" {
        "CREATE TRIGGER poison BEFORE INSERT ON entries WHEN NEW.local_id = 'poison'
         BEGIN SELECT RAISE(ABORT, 'poisoned'); END;"
    } else {
        "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN IF NEW.local_id = 'poison' THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; END $$;
         CREATE TRIGGER poison BEFORE INSERT ON entries FOR EACH ROW EXECUTE FUNCTION poison();"
    };
    (h.raw)(trigger);
    let batch = new_batch(&mut h.store, "gg");
    let chunk = Chunk {
        records: vec![(2, record("P1", "Amy", "Smith"), None)],
        entries: vec![(3, entry("ok", "P1")), (4, entry("poison", "P1"))],
        last_line: 4,
        ..Chunk::default()
    };
    let error = h.store.apply_chunk(batch, &chunk).unwrap_err();
    assert!(error.to_string().contains("poisoned"), "{error}");
    let counts = h.store.counts().unwrap();
    assert_eq!(
        (counts.source_records, counts.entries),
        (0, 0),
        "{}",
        h.kind
    );
    assert_eq!(
        h.store.batch(batch).unwrap().last_line,
        0,
        "resume point not advanced"
    );
    // The store is still usable after the rollback.
    h.store
        .apply_chunk(batch, &records_chunk(vec![record("P1", "Amy", "Smith")]))
        .unwrap();
    assert_eq!(h.store.counts().unwrap().source_records, 1);
}

fn persons_and_links(h: &mut Harness) {
    let batch = new_batch(&mut h.store, "hh");
    h.store
        .apply_chunk(
            batch,
            &records_chunk(vec![
                record("P1", "Amy", "Smith"),
                record("P2", "Amy", "Smith"),
            ]),
        )
        .unwrap();
    let p1 = h.store.record("GP_A81001", "P1").unwrap().unwrap().id;
    let p2 = h.store.record("GP_A81001", "P2").unwrap().unwrap().id;
    h.store
        .create_person("K1000000A", "2026-11-22T09:00:00Z")
        .unwrap();
    h.store
        .create_person("K1000000A", "2026-11-22T09:00:00Z")
        .unwrap();
    h.store
        .link_record(p1, "K1000000A", false, "2026-11-22T09:00:00Z", None)
        .unwrap();
    h.store
        .link_record(
            p2,
            "K1000000A",
            true,
            "2026-11-22T09:00:00Z",
            Some("steward"),
        )
        .unwrap();
    assert_eq!(h.store.counts().unwrap().persons, 1);
    assert_eq!(
        h.store.person_records("K1000000A").unwrap(),
        vec![
            ("GP_A81001".to_string(), "P1".to_string()),
            ("GP_A81001".to_string(), "P2".to_string())
        ]
    );
    assert_eq!(
        h.store
            .record("GP_A81001", "P1")
            .unwrap()
            .unwrap()
            .cci
            .as_deref(),
        Some("K1000000A")
    );
}

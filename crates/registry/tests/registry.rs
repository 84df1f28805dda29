//! The live registry on both engines: initial load, real-time links, twins, merges and splits,
//! steward rules, review, cross-references, adoption and concurrent writers.
//!
//! PostgreSQL runs against `KITH_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/
//! postgres`), each test in a schema of its own; unreachable means skip, unless
//! `KITH_REQUIRE_POSTGRES=1`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU32, Ordering};

use model::{Identifier, IdentifierKind, PersonRecord, Sex};
use registry::{Change, Grade, LinkAction, Registry, RegistryConfig, RegistryError};
use store::{Chunk, NewBatch, Store};

struct Db {
    url: String,
    _dir: Option<tempfile::TempDir>,
    _guard: Option<SchemaGuard>,
}

struct SchemaGuard {
    url: String,
    schema: String,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.url, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        }
    }
}

fn sqlite() -> Db {
    let dir = tempfile::tempdir().unwrap();
    Db {
        url: format!("sqlite:{}", dir.path().join("kith.db").display()),
        _dir: Some(dir),
        _guard: None,
    }
}

fn postgres() -> Option<Db> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let url = std::env::var("KITH_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    if let Err(error) = postgres::Client::connect(&url, postgres::NoTls) {
        if std::env::var("KITH_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("PostgreSQL required but unreachable at {url}: {error}");
        }
        eprintln!("skipping PostgreSQL registry tests: cannot connect to {url}: {error}");
        return None;
    }
    let schema = format!(
        "kith_reg_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let separator = if url.contains('?') { '&' } else { '?' };
    Some(Db {
        url: format!("{url}{separator}schema={schema}"),
        _dir: None,
        _guard: Some(SchemaGuard { url, schema }),
    })
}

macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        mod on_sqlite {
            $(#[test] fn $name() { super::$name(&super::sqlite()); })+
        }
        mod on_postgres {
            $(#[test] fn $name() {
                if let Some(db) = super::postgres() { super::$name(&db); }
            })+
        }
    };
}

const AT: &str = "2026-11-24T09:00:00Z";

fn change(reason: &str) -> Change<'_> {
    Change {
        actor: "steward-1",
        at: AT,
        reason: Some(reason),
    }
}

/// A valid NHS number from the first 9-digit stem at or after `stem` that has one (a check of
/// 10 means a stem has none).
fn nhs_for(stem: u32) -> Option<String> {
    (stem..stem + 20).find_map(|stem| {
        let digits = format!("{:09}", stem % 1_000_000_000);
        let sum: u32 = digits
            .bytes()
            .zip((2..=10).rev())
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        match 11 - sum % 11 {
            10 => None,
            11 => Some(format!("{digits}0")),
            check => Some(format!("{digits}{check}")),
        }
    })
}

const GIVEN: [&str; 12] = [
    "Amelia", "Oliver", "Zara", "Mohammed", "Isla", "Jack", "Priya", "Noah", "Chloe", "Kacper",
    "Grace", "Tyler",
];
const FAMILY: [&str; 10] = [
    "Khan", "Smith", "Nowak", "Okafor", "Evans", "Patel", "Byrne", "Taylor", "Hughes", "Ahmed",
];

struct Child {
    address: String,
    given: String,
    family: String,
    dob: String,
    postcode: String,
    nhs: Option<String>,
    sex: Sex,
}

fn child(i: u32) -> Child {
    Child {
        address: format!(
            "{} {} Road",
            1 + i % 97,
            ["Oak", "Elm", "Ash", "Yew", "Fir"][(i % 5) as usize]
        ),
        given: GIVEN[(i % 12) as usize].to_string(),
        family: FAMILY[((i / 12) % 10) as usize].to_string(),
        dob: format!(
            "{}-{:02}-{:02}",
            2008 + i % 13,
            1 + (i * 7) % 12,
            1 + (i * 11) % 28
        ),
        postcode: format!(
            "LS{} {}A{}",
            1 + i % 9,
            i % 10,
            ["B", "D", "E"][(i % 3) as usize]
        ),
        nhs: nhs_for(400_000_000 + i * 7),
        sex: if i.is_multiple_of(2) {
            Sex::Female
        } else {
            Sex::Male
        },
    }
}

fn record(org: &str, id: &str, c: &Child, with_nhs: bool) -> PersonRecord {
    PersonRecord {
        source: org.into(),
        local_id: id.into(),
        given_name: Some(c.given.clone()),
        middle_names: None,
        family_name: Some(c.family.clone()),
        previous_names: vec![],
        date_of_birth: Some(c.dob.parse().unwrap()),
        sex: c.sex,
        address: Some(c.address.clone()),
        town: Some("Leeds".into()),
        postcode: Some(c.postcode.clone()),
        uprn: None,
        identifiers: match (&c.nhs, with_nhs) {
            (Some(n), true) => vec![Identifier {
                kind: IdentifierKind::NhsNumber,
                value: n.clone(),
                status: Some("01".into()),
            }],
            _ => vec![],
        },
    }
}

fn add(store: &mut Store, records: Vec<PersonRecord>) {
    let batch = store
        .begin_batch(&NewBatch {
            file_name: "test.csv".into(),
            file_sha256: format!("{:x}", records.len() * 7919 + records[0].local_id.len()),
            org_code: None,
            kind: "records".into(),
            started_at: AT.into(),
        })
        .unwrap()
        .id;
    let last_line = records.len() as u64 + 1;
    let chunk = Chunk {
        records: records
            .into_iter()
            .enumerate()
            .map(|(i, r)| (i as u64 + 2, r, None))
            .collect(),
        last_line,
        ..Chunk::default()
    };
    store.apply_chunk(batch, &chunk).unwrap();
}

const CHILDREN: u32 = 600;

/// A GP record (with a verified NHS number) and a school record (without) for each child.
fn population() -> Vec<PersonRecord> {
    let mut out = Vec::new();
    for i in 0..CHILDREN {
        let c = child(i);
        out.push(record("GP_B86001", &format!("P{i}"), &c, true));
        out.push(record("SCH_107123", &format!("S{i}"), &c, false));
    }
    out
}

/// A store with the population loaded through the registry.
fn loaded(db: &Db) -> (Store, Registry) {
    let mut store = Store::open(&db.url).unwrap();
    add(&mut store, population());
    let mut registry = Registry::open(&mut store, RegistryConfig::default()).unwrap();
    let summary = registry
        .link_pending(&mut store, change("load"), &mut |_, _| {})
        .unwrap();
    assert!(summary.bulk && summary.model_trained);
    assert_eq!(summary.records, u64::from(CHILDREN) * 2);
    (store, registry)
}

fn cci_of(store: &mut Store, org: &str, id: &str) -> String {
    store.record(org, id).unwrap().unwrap().cci.unwrap()
}

fn link_new(store: &mut Store, registry: &Registry, record: PersonRecord) -> registry::LinkOutcome {
    let (org, id) = (record.source.clone(), record.local_id.clone());
    add(store, vec![record]);
    let rid = Registry::record_id(store, &format!("{org}:{id}")).unwrap();
    registry.link_record(store, rid, change("arrived")).unwrap()
}

fn initial_load_links_each_child_once(db: &Db) {
    let (mut store, mut registry) = loaded(db);
    for i in [0, 17, 333, 599] {
        let gp = cci_of(&mut store, "GP_B86001", &format!("P{i}"));
        let school = cci_of(&mut store, "SCH_107123", &format!("S{i}"));
        assert_eq!(
            gp, school,
            "child {i}'s GP and school records are one person"
        );
        assert!(
            gp.parse::<registry::Cci>().is_ok(),
            "{gp} carries a valid check character"
        );
    }
    let (active, _) = store.registry().person_counts().unwrap();
    assert_eq!(active, i64::from(CHILDREN));

    // A re-run changes nothing: no new persons, every CCI stays.
    let before = cci_of(&mut store, "GP_B86001", "P5");
    let again = registry
        .link_pending(&mut store, change("again"), &mut |_, _| {})
        .unwrap();
    assert_eq!(again.records, 0);
    assert_eq!(cci_of(&mut store, "GP_B86001", "P5"), before);
    assert_eq!(
        store.registry().person_counts().unwrap().0,
        i64::from(CHILDREN)
    );
}

fn a_new_record_links_in_real_time_and_a_twin_does_not(db: &Db) {
    let (mut store, registry) = loaded(db);
    let c = child(42);
    let expected = cci_of(&mut store, "GP_B86001", "P42");

    // The same child seen by a hospital, without an NHS number and with a misspelt surname.
    let mut seen = record("HOSP_RR8", "H42", &c, false);
    seen.family_name = Some(format!("{}e", c.family));
    let outcome = link_new(&mut store, &registry, seen);
    assert_eq!(outcome.action, LinkAction::Linked, "{outcome:?}");
    assert_eq!(outcome.cci, expected);
    assert_eq!(outcome.candidates[0].grade, Grade::Certain);

    // A twin: same birth date, family name and address, a different given name.
    let mut twin = record("HOSP_RR8", "H42-twin", &c, false);
    twin.given_name = Some("Florence".into());
    twin.sex = Sex::Female;
    let outcome = link_new(&mut store, &registry, twin);
    assert_eq!(outcome.action, LinkAction::Created, "{outcome:?}");
    assert_ne!(
        outcome.cci, expected,
        "a twin is never merged into their sibling"
    );
    let sibling = outcome
        .candidates
        .iter()
        .find(|p| p.cci == expected)
        .expect("the sibling was considered");
    assert_eq!(sibling.grade, Grade::CertainlyNot);
    assert!(sibling.blocked_by.is_some());

    // A conflicting verified NHS number blocks the match, however good the demographics.
    let mut other = child(43);
    other.nhs = nhs_for(123_456_789);
    let mut conflicting = record("HOSP_RR8", "H43", &other, true);
    conflicting.given_name = Some(child(43).given);
    let outcome = link_new(&mut store, &registry, conflicting);
    assert_ne!(outcome.cci, cci_of(&mut store, "GP_B86001", "P43"));
}

fn merge_retires_with_a_forward_pointer_and_tells_agencies(db: &Db) {
    let (mut store, registry) = loaded(db);
    let a = cci_of(&mut store, "GP_B86001", "P1");
    let b = cci_of(&mut store, "GP_B86001", "P2");
    let err = registry.merge(
        &mut store,
        &a,
        &b,
        Change {
            reason: None,
            ..change("")
        },
    );
    assert!(matches!(err, Err(RegistryError::ReasonRequired(_))));
    let survivor = registry
        .merge(
            &mut store,
            &a,
            &b,
            change("same child per birth certificate"),
        )
        .unwrap();
    assert_eq!(survivor, a, "the older identifier survives");
    let resolution = registry.resolve(&mut store, &b).unwrap();
    assert!(resolution.was_merged());
    assert_eq!(resolution.current, a);
    assert_eq!(cci_of(&mut store, "SCH_107123", "S2"), a);
    let history = store.registry().events(&a).unwrap();
    assert!(history.iter().any(|e| e.kind == "merged"
        && e.actor == "steward-1"
        && e.reason.as_deref() == Some("same child per birth certificate")));
    for org in ["GP_B86001", "SCH_107123"] {
        let outbox = store.registry().outbox(org, 0, 10).unwrap();
        assert_eq!(outbox.len(), 1, "{org} is told");
        assert!(outbox[0].payload.contains(&b));
    }
    let stranger = store.registry().outbox("POL_13", 0, 10).unwrap();
    assert!(
        stranger.is_empty(),
        "an agency holding no record is not told"
    );
    // Acting on the retired identifier is refused with the survivor named.
    let err = registry
        .merge(&mut store, &b, &a, change("again"))
        .unwrap_err();
    assert!(err.to_string().contains(&a), "{err}");
}

fn split_is_respected_by_later_automatic_decisions(db: &Db) {
    let (mut store, registry) = loaded(db);
    let person = cci_of(&mut store, "GP_B86001", "P7");
    let school = Registry::record_id(&mut store, "SCH_107123:S7").unwrap();
    let new = registry
        .split(
            &mut store,
            &person,
            &[school],
            change("school record is a different child"),
        )
        .unwrap();
    assert_ne!(new, person);
    assert_eq!(cci_of(&mut store, "SCH_107123", "S7"), new);
    assert!(
        store
            .registry()
            .outbox("SCH_107123", 0, 10)
            .unwrap()
            .iter()
            .any(|m| m.payload.contains("split"))
    );
    // A new copy of the school record arrives: it matches both, but the steward's cannot-link
    // keeps the GP person out of reach of the moved record's twin copy only by rule; the copy
    // itself may join either, never both.
    let c = child(7);
    let outcome = link_new(
        &mut store,
        &registry,
        record("SCH_107123", "S7-again", &c, false),
    );
    assert!(
        !matches!(outcome.action, LinkAction::Merged { .. }),
        "the split persons are never merged back automatically: {outcome:?}"
    );
    assert_ne!(
        cci_of(&mut store, "GP_B86001", "P7"),
        cci_of(&mut store, "SCH_107123", "S7")
    );
}

fn steward_rules_and_review_decisions(db: &Db) {
    let (mut store, registry) = loaded(db);
    // Cannot-link between two records of one person splits them and stays.
    let gp = Registry::record_id(&mut store, "GP_B86001:P9").unwrap();
    let school = Registry::record_id(&mut store, "SCH_107123:S9").unwrap();
    let moved = registry
        .cannot_link(&mut store, gp, school, change("different children"))
        .unwrap();
    assert_ne!(moved, cci_of(&mut store, "GP_B86001", "P9"));
    // Must-link joins them back, overriding the model.
    let joined = registry
        .must_link(&mut store, gp, school, change("confirmed by the school"))
        .unwrap();
    assert_eq!(cci_of(&mut store, "SCH_107123", "S9"), joined);

    // A probable match goes to review, not into a person.
    let c = child(11);
    let mut vague = record("HOU_E08000035", "X11", &c, false);
    vague.given_name = Some(c.given[..1].to_string());
    vague.postcode = Some("BD1 1AA".into());
    vague.address = None;
    let outcome = link_new(&mut store, &registry, vague);
    let target = cci_of(&mut store, "GP_B86001", "P11");
    if outcome.queued_for_review > 0 {
        assert_eq!(outcome.action, LinkAction::Created);
        let items = store.registry().reviews("open", 1_000_000).unwrap();
        let item = items
            .iter()
            .find(|i| i.record_id == Registry::record_id(&mut store, "HOU_E08000035:X11").unwrap())
            .unwrap();
        let detail = registry.review_detail(&mut store, item.id).unwrap();
        assert_eq!(detail.explanation.contributions.len(), 7);
        let survivor = registry
            .accept_review(
                &mut store,
                item.id,
                change("same child, housing file checked"),
            )
            .unwrap();
        assert_eq!(survivor, target);
        assert_eq!(cci_of(&mut store, "HOU_E08000035", "X11"), target);
        let again = registry.accept_review(&mut store, item.id, change("twice"));
        assert!(matches!(again, Err(RegistryError::ReviewClosed { .. })));
    } else {
        panic!("an initial-only match with a different postcode should need review: {outcome:?}");
    }
}

fn xref_finds_every_identifier(db: &Db) {
    let (mut store, registry) = loaded(db);
    let c = child(3);
    let nhs = c.nhs.clone().unwrap();
    let found = registry
        .xref(&mut store, "https://fhir.nhs.uk/Id/nhs-number", &nhs, &[])
        .unwrap();
    assert_eq!(found.cci, cci_of(&mut store, "GP_B86001", "P3"));
    let systems: Vec<&str> = found
        .identifiers
        .iter()
        .map(|i| i.system.as_str())
        .collect();
    assert!(systems.contains(&"https://kith.example/Id/cci"));
    assert!(systems.contains(&"local:SCH_107123"));
    let only_school = registry
        .xref(&mut store, "nhs", &nhs, &["local:SCH_107123".into()])
        .unwrap();
    assert_eq!(only_school.identifiers.len(), 1);
    assert_eq!(only_school.identifiers[0].value, "S3");
    let none = registry
        .xref(&mut store, "nhs", &nhs, &["upn".into()])
        .unwrap();
    assert!(
        none.identifiers.is_empty(),
        "known but nothing in the target system"
    );
    let unknown = registry.xref(&mut store, "nhs", "9434765919", &[]);
    assert!(matches!(
        unknown,
        Err(RegistryError::UnknownIdentifier { .. })
    ));
    let bad_system = registry.xref(&mut store, "passport", "x", &[]);
    assert!(matches!(bad_system, Err(RegistryError::UnknownSystem(_))));
}

fn adoption_severs_the_visible_link(db: &Db) {
    let (mut store, registry) = loaded(db);
    let old = cci_of(&mut store, "GP_B86001", "P20");
    let new = registry
        .adopt(&mut store, &old, change("adoption order 2026/17"))
        .unwrap();
    assert_eq!(cci_of(&mut store, "GP_B86001", "P20"), new);
    assert!(matches!(
        registry.resolve(&mut store, &old),
        Err(RegistryError::UnknownPerson(_))
    ));
    let history = store.registry().events(&new).unwrap();
    assert!(
        history.iter().all(|e| !e.detail.contains(&old)),
        "{history:?}"
    );
    let opened = registry
        .open_sealed(&mut store, &new, change("court-ordered disclosure"))
        .unwrap();
    assert_eq!(opened, Some(old));
    assert!(
        registry
            .open_sealed(
                &mut store,
                &new,
                Change {
                    reason: None,
                    ..change("")
                }
            )
            .is_err()
    );
}

fn an_unborn_record_becomes_the_childs_record(db: &Db) {
    let (mut store, registry) = loaded(db);
    // Social care opens a pre-birth plan for "Baby of Khan" before the birth.
    let mother = child(500);
    let mut unborn = record("CSC_E08000035", "U1", &mother, false);
    unborn.given_name = Some("Baby".into());
    unborn.date_of_birth = None;
    unborn.sex = Sex::Unknown;
    let before = link_new(&mut store, &registry, unborn);
    let unborn_cci = before.cci.clone();
    // The baby is born and registered with a GP under a new name.
    let born = Child {
        address: mother.address.clone(),
        given: "Aisha".into(),
        family: mother.family.clone(),
        dob: "2026-10-01".into(),
        postcode: mother.postcode.clone(),
        nhs: nhs_for(777_000_001),
        sex: Sex::Female,
    };
    let birth = link_new(
        &mut store,
        &registry,
        record("GP_B86001", "NEW1", &born, true),
    );
    let a = Registry::record_id(&mut store, "CSC_E08000035:U1").unwrap();
    let b = Registry::record_id(&mut store, "GP_B86001:NEW1").unwrap();
    let survivor = registry
        .must_link(
            &mut store,
            a,
            b,
            change("birth notification names the pre-birth plan"),
        )
        .unwrap();
    assert_eq!(
        survivor, unborn_cci,
        "the unborn record's identifier carries on"
    );
    if birth.cci != unborn_cci {
        assert_eq!(
            registry.resolve(&mut store, &birth.cci).unwrap().current,
            unborn_cci
        );
    }
    let history = store.registry().events(&unborn_cci).unwrap();
    assert_eq!(history[0].kind, "created", "the pre-birth history is kept");
}

fn concurrent_writers_never_create_two_persons(db: &Db) {
    let (mut store, registry) = loaded(db);
    // Two agencies send a record of the same new child at the same moment, for 12 children.
    let mut pairs = Vec::new();
    for i in 0..12u32 {
        let c = Child {
            address: format!("{i} Race Lane"),
            given: ["Ada", "Bea", "Cal", "Dev"][(i % 4) as usize].into(),
            family: format!("Newcomb{i}"),
            dob: format!("2019-0{}-1{}", 1 + i % 9, i % 10),
            postcode: "LS9 9ZZ".into(),
            nhs: nhs_for(555_000_000 + i),
            sex: Sex::Male,
        };
        pairs.push((
            record("GP_B86001", &format!("RACE-G{i}"), &c, true),
            record("HOSP_RR8", &format!("RACE-H{i}"), &c, true),
        ));
    }
    let (left, right): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
    add(&mut store, left.clone());
    add(&mut store, right.clone());
    let ids = |records: &[PersonRecord], store: &mut Store| -> Vec<i64> {
        records
            .iter()
            .map(|r| Registry::record_id(store, &format!("{}:{}", r.source, r.local_id)).unwrap())
            .collect()
    };
    let (left_ids, right_ids) = (ids(&left, &mut store), ids(&right, &mut store));
    let barrier = std::sync::Barrier::new(2);
    std::thread::scope(|scope| {
        for ids in [&left_ids, &right_ids] {
            let barrier = &barrier;
            let registry = &registry;
            scope.spawn(move || {
                let mut own = Store::open(&db.url).unwrap();
                for &id in ids {
                    barrier.wait();
                    registry.link_record(&mut own, id, change("race")).unwrap();
                }
            });
        }
    });
    for (l, r) in left.iter().zip(&right) {
        assert_eq!(
            cci_of(&mut store, &l.source, &l.local_id),
            cci_of(&mut store, &r.source, &r.local_id),
            "both agencies' records of one child share one person"
        );
    }
}

fn stats_report_coverage_queue_and_drift(db: &Db) {
    let (mut store, _registry) = loaded(db);
    let first = registry::stats::collect(&mut store, 0.95, AT, true).unwrap();
    let gp = first
        .sources
        .iter()
        .find(|s| s.source == "GP_B86001")
        .unwrap();
    assert!(gp.verified_nhs_share > 0.9, "{gp:?}");
    let school = first
        .sources
        .iter()
        .find(|s| s.source == "SCH_107123")
        .unwrap();
    assert_eq!(school.verified_nhs_share, 0.0);
    assert!(!school.meets_go_live);
    assert!(
        first
            .alerts
            .iter()
            .any(|a| a.kind == "below-go-live" && a.source.as_deref() == Some("SCH_107123"))
    );
    assert_eq!(first.cluster_sizes, vec![(2, i64::from(CHILDREN))]);
    // A new unmatched source arrives: its match rate is 0, the next run reports drift on it
    // only once it has a previous figure; the GP's match rate drops as its new records arrive.
    let extra: Vec<PersonRecord> = (0..200u32)
        .map(|i| {
            record(
                "GP_B86001",
                &format!("LATE{i}"),
                &child(10_000 + i * 13),
                true,
            )
        })
        .collect();
    add(&mut store, extra);
    let second = registry::stats::collect(&mut store, 0.95, "2026-11-25T09:00:00Z", true).unwrap();
    assert_eq!(second.compared_with.as_deref(), Some(AT));
    assert!(second.alerts.iter().any(|a| a.kind == "pending"));
    assert!(
        second
            .alerts
            .iter()
            .any(|a| a.kind == "drift" && a.source.as_deref() == Some("GP_B86001")),
        "{:?}",
        second.alerts
    );
}

fn a_merge_moves_the_childs_flags_and_tells_the_owning_authority(db: &Db) {
    let (mut store, registry) = loaded(db);
    let a = cci_of(&mut store, "GP_B86001", "P30");
    let b = cci_of(&mut store, "GP_B86001", "P31");
    let contact = safeguarding::Contact {
        phone: "0113 222 4401".into(),
        email: "duty@leeds.example".into(),
    };
    safeguarding::publish_flag(
        &mut store,
        safeguarding::PublishFlag {
            cci: b.clone(),
            kind: "child-protection-plan".into(),
            owner: safeguarding::LocalAuthority {
                code: "LA383".into(),
                name: "Leeds".into(),
            },
            office_hours: contact.clone(),
            out_of_hours: contact,
            start_date: "2026-01-01".parse().unwrap(),
            end_date: None,
            reference: "CPP-1".into(),
            source_updated_at: AT.parse().unwrap(),
        },
        AT.parse().unwrap(),
    )
    .unwrap();
    let survivor = registry
        .merge(&mut store, &a, &b, change("same child"))
        .unwrap();
    assert_eq!(survivor, a);
    let today = "2026-11-24".parse().unwrap();
    assert_eq!(
        safeguarding::active_flags(&mut store, &a, today)
            .unwrap()
            .len(),
        1
    );
    assert!(
        safeguarding::active_flags(&mut store, &b, today)
            .unwrap()
            .is_empty()
    );
    let inbox = safeguarding::inbox(&mut store, "LA383", 0, 10).unwrap();
    assert_eq!(
        inbox.len(),
        1,
        "the owning authority is told of the identity change"
    );
}

on_both!(
    a_merge_moves_the_childs_flags_and_tells_the_owning_authority,
    initial_load_links_each_child_once,
    a_new_record_links_in_real_time_and_a_twin_does_not,
    merge_retires_with_a_forward_pointer_and_tells_agencies,
    split_is_respected_by_later_automatic_decisions,
    steward_rules_and_review_decisions,
    xref_finds_every_identifier,
    adoption_severs_the_visible_link,
    an_unborn_record_becomes_the_childs_record,
    concurrent_writers_never_create_two_persons,
    stats_report_coverage_queue_and_drift,
);

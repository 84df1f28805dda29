//! Stores on both engines for the safeguarding tests, and a few fixtures.
//!
//! PostgreSQL tests connect to `KITH_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) in a schema of their own, dropped afterwards.
//! When the server cannot be reached they say so and pass, unless `KITH_REQUIRE_POSTGRES=1`.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use safeguarding::{
    CareSetting, Contact, Encounter, EncounterRef, LocalAuthority, Organisation, PublishFlag,
};
use store::Store;

pub struct Harness {
    pub store: Store,
    pub url: String,
    _guard: Option<SchemaGuard>,
    _dir: Option<tempfile::TempDir>,
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

pub fn sqlite() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("kith.db").display());
    Harness {
        store: Store::open(&url).unwrap(),
        url,
        _guard: None,
        _dir: Some(dir),
    }
}

pub fn postgres() -> Option<Harness> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let url = std::env::var("KITH_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    if let Err(error) = postgres::Client::connect(&url, postgres::NoTls) {
        if std::env::var("KITH_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("PostgreSQL required but unreachable at {url}: {error}");
        }
        eprintln!("skipping PostgreSQL safeguarding tests: cannot connect to {url}: {error}");
        return None;
    }
    let schema = format!(
        "kith_sgd_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let separator = if url.contains('?') { '&' } else { '?' };
    let store_url = format!("{url}{separator}schema={schema}");
    Some(Harness {
        store: Store::open(&store_url).unwrap(),
        url: store_url,
        _guard: Some(SchemaGuard { url, schema }),
        _dir: None,
    })
}

#[macro_export]
macro_rules! both_engines {
    ($($name:ident),+ $(,)?) => {
        mod on_sqlite {
            $(#[test] fn $name() { super::$name(&mut super::common::sqlite()); })+
        }
        mod on_postgres {
            $(#[test] fn $name() {
                if let Some(mut harness) = super::common::postgres() { super::$name(&mut harness); }
            })+
        }
    };
}

pub const CHILD: &str = "K000000001X";
pub const LEEDS: &str = "E08000035";

pub fn publish(cci: &str, kind: &str) -> PublishFlag {
    PublishFlag {
        cci: cci.into(),
        kind: kind.into(),
        owner: LocalAuthority {
            code: LEEDS.into(),
            name: "Leeds".into(),
        },
        office_hours: Contact {
            phone: "0113 222 4403".into(),
            email: "cp@leeds.gov.uk".into(),
        },
        out_of_hours: Contact {
            phone: "0113 535 0600".into(),
            email: "edt@leeds.gov.uk".into(),
        },
        start_date: "2026-01-10".parse().unwrap(),
        end_date: None,
        reference: "CPP-1234".into(),
        source_updated_at: "2026-01-10T09:00:00Z".parse().unwrap(),
    }
}

pub fn encounter(cci: &str, local_id: &str, setting: CareSetting) -> Encounter {
    Encounter {
        reference: EncounterRef {
            source_org: "RR8".into(),
            local_id: local_id.into(),
        },
        cci: cci.into(),
        setting,
        organisation: Organisation {
            code: "RR8".into(),
            name: "Leeds Teaching Hospitals".into(),
        },
        started_at: "2026-03-01T10:00:00Z".parse().unwrap(),
    }
}

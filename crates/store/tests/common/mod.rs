//! The database harness shared by the store's integration tests: a scratch SQLite file or a
//! PostgreSQL schema of its own, and a way to run raw SQL beside the code under test.
//!
//! PostgreSQL tests connect to `KITH_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and work in a schema of their own that is
//! dropped afterwards. When the server cannot be reached they say so and pass, unless
//! `KITH_REQUIRE_POSTGRES=1` (set by `.ci/run`), in which case they fail.

#![allow(dead_code, unused_macros)]

use std::ops::Deref;
use std::sync::atomic::{AtomicU32, Ordering};

use store::Store;

/// Where a test's data lives, and how to reach it with raw SQL (to inject faults).
pub struct Db {
    pub url: String,
    pub raw: Box<dyn Fn(&str)>,
    pub kind: &'static str,
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

impl Db {
    /// A fresh SQLite file called `file_name` in a temporary directory.
    pub fn sqlite(file_name: &str) -> Db {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name);
        let url = format!("sqlite:{}", path.display());
        Db {
            url,
            raw: Box::new(move |sql| {
                let conn = rusqlite::Connection::open(&path).unwrap();
                conn.execute_batch(sql).unwrap();
            }),
            kind: "sqlite",
            _guard: None,
            _dir: Some(dir),
        }
    }

    /// A fresh schema named `<prefix>_<pid>_<n>` on the test server, or `None` (after saying
    /// so) when the server cannot be reached and PostgreSQL is not required.
    pub fn postgres(prefix: &str) -> Option<Db> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let url = std::env::var("KITH_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
        if let Err(error) = postgres::Client::connect(&url, postgres::NoTls) {
            if std::env::var("KITH_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("PostgreSQL required but unreachable at {url}: {error}");
            }
            eprintln!(
                "skipping PostgreSQL {} tests: cannot connect to {url}: {error}",
                env!("CARGO_CRATE_NAME")
            );
            return None;
        }
        let schema = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let separator = if url.contains('?') { '&' } else { '?' };
        let scoped_url = format!("{url}{separator}schema={schema}");
        let (raw_url, raw_schema) = (url.clone(), schema.clone());
        Some(Db {
            url: scoped_url,
            raw: Box::new(move |sql| {
                let mut client = postgres::Client::connect(&raw_url, postgres::NoTls).unwrap();
                client
                    .batch_execute(&format!("SET search_path TO {raw_schema}; {sql}"))
                    .unwrap();
            }),
            kind: "postgres",
            _guard: Some(SchemaGuard { url, schema }),
            _dir: None,
        })
    }
}

/// A store under test, opened on its own database.
pub struct Harness {
    pub store: Store,
    pub db: Db,
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
            store: Store::open(&db.url).unwrap(),
            db,
        }
    }
}

pub fn sqlite() -> Harness {
    Harness::open(Db::sqlite("kith.db"))
}

pub fn postgres(prefix: &str) -> Option<Harness> {
    Db::postgres(prefix).map(Harness::open)
}

/// Declares each named `fn(&mut Harness)` as a test on SQLite and one on PostgreSQL, the
/// latter in a schema named after `prefix`.
macro_rules! on_both {
    ($prefix:literal: $($name:ident),+ $(,)?) => {
        mod on_sqlite {
            $(#[test] fn $name() { super::$name(&mut super::common::sqlite()); })+
        }
        mod on_postgres {
            $(#[test] fn $name() {
                if let Some(mut harness) = super::common::postgres($prefix) {
                    super::$name(&mut harness);
                }
            })+
        }
    };
}

//! Kith's persistence: one storage API over embedded SQLite and PostgreSQL.
//!
//! **Only this crate knows SQL.** Callers speak in domain types from `model` and in the small
//! set of batch types defined here; the two backends share one implementation of every
//! operation, written against a tiny connection trait ([`sql::Conn`]) that each backend
//! provides. The same conformance suite (`tests/conformance.rs`) runs against both.
//!
//! Principal types:
//! - [`Store`]: an open, migrated store; [`Store::open`] takes `sqlite:PATH`, `sqlite::memory:`
//!   or a `postgres://` URL (with an optional `schema=NAME` query parameter).
//! - [`Chunk`]: one unit of ingest work — validated records, entries and relationships plus the
//!   issues found while reading them — applied by [`Store::apply_chunk`] in one transaction,
//!   together with the batch's resume point. A killed process therefore never leaves half a
//!   chunk behind, and a re-run resumes after the last committed line.
//! - [`BatchState`]: an ingest batch, keyed by the file's SHA-256 so that re-running the same
//!   extract is recognised.
//! - [`audit::AuditLog`]: the append-only, tamper-evident audit ledger, kept in a database of
//!   its own (`audit.db` beside the store, or a `<schema>_audit` schema) so its volume never
//!   slows the operational tables.
//!
//! ```
//! let mut store = store::Store::open("sqlite::memory:").unwrap();
//! assert_eq!(store.counts().unwrap().source_records, 0);
//! ```

pub mod audit;
mod backend_pg;
mod backend_sqlite;
pub mod governance;
mod ops;
mod registry;
pub mod safeguarding;
mod sql;

use std::fmt;

pub use ops::{
    BatchState, Chunk, ChunkOutcome, IngestIssue, NewBatch, Severity, StoreCounts, StoredRecord,
    Upsert,
};
pub use registry::{
    ChronologyEntry, Holding, OutboxMessage, PersonEvent, PersonIdentifier, PersonRelationship,
    PersonRow, QueueCounts, RegistryConn, RegistryRecord, ReviewItem, RuleKind, SavedModel,
    SourceCounts, StewardRule,
};

use thiserror::Error;

/// Everything that can go wrong in the store.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error(
        "unsupported database URL `{0}`: use `sqlite:PATH`, `sqlite::memory:` or `postgres://…`"
    )]
    UnsupportedUrl(String),
    #[error("cannot create the directory for the SQLite file `{path}`: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {}", pg_message(.0))]
    Postgres(#[from] postgres::Error),
    #[error("invalid PostgreSQL schema name `{0}`: use letters, digits and underscores")]
    SchemaName(String),
    #[error("stored value in `{column}` is not what Kith wrote: {problem}")]
    Corrupt { column: String, problem: String },
    #[error(
        "the database schema is at version {found}, newer than this Kith ({known}); upgrade Kith"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("no ingest batch with id {0}")]
    NoSuchBatch(i64),
    #[error("organisation `{0}` is not known")]
    UnknownOrganisation(String),
}

/// The server's own message (and detail) rather than the driver's generic "db error".
fn pg_message(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => error.to_string(),
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

/// An open, migrated Kith store.
pub struct Store {
    conn: Box<dyn sql::Conn + Send>,
    backend: Backend,
    description: String,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("description", &self.description)
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) the store at `url` and brings its schema up to date.
    ///
    /// - `sqlite:PATH` or `sqlite://PATH`: an embedded file in WAL mode; parent directories are
    ///   created.
    /// - `sqlite::memory:`: a private in-memory database (tests).
    /// - `postgres://user@host:port/db[?schema=NAME]`: a PostgreSQL database; with `schema`, Kith's
    ///   tables live in that schema, which is created if missing.
    pub fn open(url: &str) -> Result<Store> {
        let (conn, backend, description): (Box<dyn sql::Conn + Send>, _, _) =
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                let (conn, description) = backend_pg::PgConn::open(url)?;
                (Box::new(conn), Backend::Postgres, description)
            } else if let Some(rest) = url.strip_prefix("sqlite:") {
                let path = rest.strip_prefix("//").unwrap_or(rest);
                let conn = backend_sqlite::SqliteConn::open(path)?;
                (Box::new(conn), Backend::Sqlite, format!("SQLite {path}"))
            } else {
                return Err(StoreError::UnsupportedUrl(url.to_string()));
            };
        let mut store = Store {
            conn,
            backend,
            description,
        };
        ops::migrate(store.conn.as_mut(), backend)?;
        Ok(store)
    }

    /// Runs `work` on this connection in one transaction: committed if it returns `Ok`, rolled
    /// back otherwise. The registry, safeguarding and governance operations all go through it.
    pub(crate) fn transaction<T, E: From<StoreError>>(
        &mut self,
        work: impl FnOnce(&mut dyn sql::Conn, Backend) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.conn.begin()?;
        let backend = self.backend;
        match work(self.conn.as_mut(), backend) {
            Ok(value) => {
                self.conn.commit()?;
                Ok(value)
            }
            Err(error) => {
                // The original error matters more than a failed rollback.
                let _ = self.conn.rollback();
                Err(error)
            }
        }
    }

    /// The engine this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A description safe to print: engine and location, never a password.
    pub fn description(&self) -> &str {
        &self.description
    }
}

//! The persisted audit ledger: `ledger`'s Merkle log kept in its own SQLite file or PostgreSQL
//! schema, apart from the operational tables, so audit volume never slows clinical reads.
//!
//! [`AuditLog`] stores each [`Entry`] as its canonical bytes and leaf hash (plus copies of the
//! columns that reports and the subject view search by), signs [`SignedCheckpoint`]s with an
//! Ed25519 key from a key file ([`load_or_create_signer`]), and keeps the tree's compact
//! [`Frontier`] in a one-row table so that appending never rereads the log.
//!
//! - [`AuditLog::append`] commits a whole batch in one transaction and returns only after the
//!   commit: seqs are assigned inside the transaction, from the stored frontier, so they are
//!   gap-free even with several writers. On SQLite the audit file runs in WAL mode with
//!   `synchronous = FULL`, so a commit is on disk (not just in the OS cache) before an append
//!   is acknowledged; batching pays that fsync once per batch. (The store's own `NORMAL`
//!   survives a killed process but may lose the last commits to a power cut or OS crash; an
//!   acknowledged audit entry must survive both.) On PostgreSQL a commit returns after the
//!   server has flushed its WAL (`synchronous_commit = on`, the default).
//! - [`AuditWriter`] adds group commit for many threads: each caller's entries join whatever
//!   else is waiting, one transaction commits them all, and each caller returns once its own
//!   entries are committed.
//! - [`AuditLog::verify`] streams the log, checks every stored column against the signed
//!   bytes, recomputes the tree and checks every checkpoint (`ledger::verify_leaves`), so an
//!   edited, deleted or reordered entry is detected and located.
//! - [`AuditLog::proof`] builds a [`ProofBundle`] an inspector checks with the public key.
//! - [`AuditLog::subject_view`], [`AuditLog::report`] and [`AuditLog::unreviewed_overrides`]
//!   answer "who accessed my child's record", denials, and break-glass awaiting review.
//!
//! Conventions for entries' `details` (all optional):
//! - `via`: the intermediary system a request came through; `actor_user` is always the end
//!   requester.
//! - `basis`: the lawful basis relied on.
//! - a deferral (kind `admin_change`): `{"action": "defer", "defers_seq": N, "until":
//!   "YYYY-MM-DD", "ground": "s47_enquiry" | "police_investigation"}`, with the deferred
//!   entry's subject, so the subject index finds it.
//! - a review of a break-glass override (kind `admin_change`): `{"action": "review",
//!   "reviews_seq": N}`.
//!
//! ```
//! use store::audit::{AuditLog, AuditOptions};
//! use ledger::{Entry, EventKind, Signer};
//!
//! let options = AuditOptions { signer: Some(Signer::from_seed([9; 32])), ..AuditOptions::default() };
//! let mut audit = AuditLog::open("sqlite::memory:", options)?;
//! let entry = Entry {
//!     seq: 0, // assigned by the log
//!     time: "2026-03-14T09:26:53Z".into(),
//!     kind: EventKind::Access,
//!     actor_user: "u-1042".into(),
//!     actor_org: "RX1".into(),
//!     role: "gp".into(),
//!     purpose: Some("direct_care".into()),
//!     subject: Some("CCI-000123".into()),
//!     decision: None,
//!     reasons: vec![],
//!     details: serde_json::Value::Null,
//! };
//! assert_eq!(audit.append(vec![entry.clone(), entry])?, 0..2);
//! audit.checkpoint()?;
//! let report = audit.verify(None, &mut |_, _| {})?;
//! assert_eq!(report.ledger.signed_size, 2);
//! # Ok::<(), store::audit::AuditError>(())
//! ```

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use ledger::{
    Entry, EventKind, Frontier, Hash, LedgerError, Log, ProofBundle, SignedCheckpoint, Signer,
    VerifyReport, VerifyingKey, from_hex, leaf_hash, to_hex, verifier_key, verify_leaves,
};
use serde_json::Value as Json;
use thiserror::Error;

use crate::sql::{Conn, Param, Row};
use crate::{Backend, StoreError, backend_pg, backend_sqlite};

const MIGRATIONS_SQLITE: &[(i64, &str)] =
    &[(1, include_str!("../migrations/audit_sqlite/0001_audit.sql"))];
const MIGRATIONS_POSTGRES: &[(i64, &str)] = &[(
    1,
    include_str!("../migrations/audit_postgres/0001_audit.sql"),
)];

/// The checkpoint origin (and signing key name) when none is configured.
pub const DEFAULT_ORIGIN: &str = "kith.local/audit";

/// Entries per INSERT statement: multi-row inserts save a round trip per row on PostgreSQL.
const ROWS_PER_INSERT: usize = 100;
/// Rows per page when streaming the log.
const PAGE: i64 = 20_000;

/// Everything that can go wrong with the audit ledger, including what verification finds.
#[derive(Debug, Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("cannot read the audit signing key `{path}`: {source}")]
    KeyRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the audit signing key `{path}`: {source}")]
    KeyCreate {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the audit signing key `{path}` can be read by other users (mode {mode:o}); run `chmod 600 {path}`"
    )]
    KeyPermissions { path: PathBuf, mode: u32 },
    #[error("the audit signing key `{path}` is not 64 hex digits")]
    KeyMalformed { path: PathBuf },
    #[error("no randomness for a new audit signing key: {0}")]
    Randomness(String),
    #[error("this operation signs checkpoints, but the audit log was opened without a key")]
    NoSigningKey,
    #[error("checkpoint origin `{0}` must be non-empty without whitespace or `+`")]
    Origin(String),
    #[error("no audit entry with seq {0}")]
    NoSuchEntry(u64),
    #[error("no signed checkpoint of size {0}; `kith audit checkpoint` signs one")]
    NoSuchCheckpoint(u64),
    #[error(
        "no signed checkpoint covers entry {seq} (the latest covers {size} entries); `kith audit checkpoint` signs one"
    )]
    NotCheckpointed { seq: u64, size: u64 },
    #[error("consistency from size {from} asked for, but the checkpoint has size {size}")]
    FromBeyondSize { from: u64, size: u64 },
    #[error("entry {seq} is about no subject, so there is nothing to defer")]
    NoSubject { seq: u64 },
    #[error("entry {seq} is a {kind}, not a break-glass override")]
    NotAnOverride { seq: u64, kind: &'static str },
    // What verification finds.
    #[error(
        "entry {seq}: the stored bytes are not an audit entry ({problem}): the entry was edited"
    )]
    Undecodable { seq: u64, problem: String },
    #[error("entry {seq}: its bytes no longer hash to the stored leaf hash: the entry was edited")]
    LeafHashMismatch { seq: u64 },
    #[error(
        "entry {seq}: column `{column}` holds `{stored}` but the hashed entry says `{hashed}`: the column was edited"
    )]
    ColumnMismatch {
        seq: u64,
        column: &'static str,
        stored: String,
        hashed: String,
    },
    #[error(
        "the ledger recorded {recorded} entries but {found} remain: entries were deleted from the end"
    )]
    Missing { recorded: u64, found: u64 },
    #[error(
        "the stored frontier does not match the entries (recorded size {recorded}): the ledger state was edited"
    )]
    FrontierMismatch { recorded: u64 },
    #[error("checkpoint row of size {column} holds a checkpoint of size {signed}")]
    CheckpointRow { column: u64, signed: u64 },
    #[error("{0}")]
    Tampered(LedgerError),
    #[error("the group commit failed: {0}")]
    GroupCommit(String),
}

pub type AuditResult<T> = std::result::Result<T, AuditError>;

/// How to open an audit log.
#[derive(Debug)]
pub struct AuditOptions {
    /// The checkpoint origin, which is also the signing key's name.
    pub origin: String,
    /// Signs checkpoints; `None` opens the log for reading, appending and verifying with a
    /// given public key.
    pub signer: Option<Signer>,
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self {
            origin: DEFAULT_ORIGIN.to_owned(),
            signer: None,
        }
    }
}

/// What [`AuditLog::verify`] established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    pub ledger: VerifyReport,
    /// The size the ledger's state table recorded (equal to `ledger.entries`).
    pub recorded_size: u64,
}

/// Which proofs to put in a bundle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProofRequest {
    /// Prove this entry included.
    pub seq: Option<u64>,
    /// Prove the tree of this many entries is a prefix of the checkpointed one.
    pub from: Option<u64>,
    /// The checkpoint to prove against, by size; the latest when `None`.
    pub size: Option<u64>,
}

/// What a family may be shown about their child's record, and what is held back.
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectView {
    /// Accesses, decisions and changes about the subject that may be shown, oldest first.
    pub entries: Vec<Entry>,
    /// Entries hidden by an unexpired deferral. Only for privileged callers: telling a family
    /// that something is hidden can itself endanger a child or an investigation.
    pub deferred: u64,
    /// The latest expiry among the deferrals hiding those entries.
    pub deferred_until: Option<String>,
}

/// A request to hide an entry from the subject view until a date.
#[derive(Debug, Clone)]
pub struct Deferral {
    pub seq: u64,
    /// `YYYY-MM-DD`; the entry is shown again from this date.
    pub until: String,
    /// `s47_enquiry` or `police_investigation`.
    pub ground: String,
    pub reason: String,
    /// Who records the deferral, and when.
    pub actor_user: String,
    pub actor_org: String,
    pub role: String,
    pub time: String,
}

/// A record that someone reviewed a break-glass override.
#[derive(Debug, Clone)]
pub struct Review {
    pub seq: u64,
    pub note: String,
    pub actor_user: String,
    pub actor_org: String,
    pub role: String,
    pub time: String,
}

/// The append-only, tamper-evident audit ledger in its own database.
pub struct AuditLog {
    conn: Box<dyn Conn + Send>,
    backend: Backend,
    description: String,
    origin: String,
    signer: Option<Signer>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("backend", &self.backend)
            .field("description", &self.description)
            .field("origin", &self.origin)
            .finish()
    }
}

/// Where the audit ledger of the store at `store_url` lives by default: `audit.db` beside an
/// SQLite store file, or the `<schema>_audit` schema (`kith_audit` without one) of the same
/// PostgreSQL database. An in-memory store gets an in-memory ledger.
pub fn audit_url_for_store(store_url: &str) -> Result<String, StoreError> {
    if store_url.starts_with("postgres://") || store_url.starts_with("postgresql://") {
        let (base, query) = store_url.split_once('?').unwrap_or((store_url, ""));
        let mut schema = "kith".to_owned();
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.strip_prefix("schema=") {
                Some(name) => name.clone_into(&mut schema),
                None => kept.push(pair),
            }
        }
        kept.push("");
        let mut url = format!("{base}?");
        for pair in kept.iter().filter(|p| !p.is_empty()) {
            url.push_str(pair);
            url.push('&');
        }
        url.push_str(&format!("schema={schema}_audit"));
        return Ok(url);
    }
    if let Some(rest) = store_url.strip_prefix("sqlite:") {
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path == ":memory:" {
            return Ok("sqlite::memory:".to_owned());
        }
        let dir = Path::new(path).parent().unwrap_or(Path::new(""));
        return Ok(format!("sqlite:{}", dir.join("audit.db").display()));
    }
    Err(StoreError::UnsupportedUrl(store_url.to_owned()))
}

/// The default signing key file for the ledger at `audit_url`: `audit.key` beside an SQLite
/// ledger, otherwise `kith-data/audit.key`. Deployments should keep the key elsewhere.
pub fn default_key_path(audit_url: &str) -> PathBuf {
    match audit_url.strip_prefix("sqlite:") {
        Some(rest) if rest != ":memory:" => {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            Path::new(path)
                .parent()
                .unwrap_or(Path::new(""))
                .join("audit.key")
        }
        _ => PathBuf::from("kith-data/audit.key"),
    }
}

/// Loads the checkpoint signing key from `path` (64 hex digits of Ed25519 seed), creating it
/// from OS randomness with mode 0600 on first use. Refuses a key file others can read.
pub fn load_or_create_signer(path: &Path) -> AuditResult<Signer> {
    if !path.exists() {
        create_key_file(path)?;
    }
    let key_read = |source| AuditError::KeyRead {
        path: path.to_owned(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .map_err(key_read)?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(AuditError::KeyPermissions {
                path: path.to_owned(),
                mode: mode & 0o777,
            });
        }
    }
    let text = std::fs::read_to_string(path).map_err(key_read)?;
    let seed = from_hex(text.trim()).ok_or_else(|| AuditError::KeyMalformed {
        path: path.to_owned(),
    })?;
    Ok(Signer::from_seed(seed))
}

fn create_key_file(path: &Path) -> AuditResult<()> {
    use std::io::Write as _;
    let key_create = |source| AuditError::KeyCreate {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(key_create)?;
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| AuditError::Randomness(e.to_string()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(format!("{}\n", to_hex(&seed)).as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(key_create)?;
            Ok(())
        }
        // Another process created it first; use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(key_create(e)),
    }
}

impl AuditLog {
    /// Opens (creating if needed) the audit ledger at `url` — `sqlite:PATH`, `sqlite::memory:`
    /// or `postgres://…?schema=NAME` — and brings its schema up to date.
    pub fn open(url: &str, options: AuditOptions) -> AuditResult<AuditLog> {
        let origin = options.origin;
        if origin.is_empty() || origin.contains(|c: char| c.is_whitespace() || c == '+') {
            return Err(AuditError::Origin(origin));
        }
        let (conn, backend, description): (Box<dyn Conn + Send>, _, _) =
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                let (conn, description) = backend_pg::PgConn::open(url)?;
                (Box::new(conn), Backend::Postgres, description)
            } else if let Some(rest) = url.strip_prefix("sqlite:") {
                let path = rest.strip_prefix("//").unwrap_or(rest);
                let mut conn = backend_sqlite::SqliteConn::open(path)?;
                // The store runs with NORMAL, which survives a killed process but can lose the
                // last commits to a power cut. An acknowledged audit entry must survive both,
                // so the audit file syncs its WAL on every commit (once per batch).
                conn.batch("PRAGMA synchronous = FULL")?;
                (Box::new(conn), Backend::Sqlite, format!("SQLite {path}"))
            } else {
                return Err(StoreError::UnsupportedUrl(url.to_owned()).into());
            };
        let mut log = AuditLog {
            conn,
            backend,
            description,
            origin,
            signer: options.signer,
        };
        log.migrate()?;
        Ok(log)
    }

    fn migrate(&mut self) -> AuditResult<()> {
        let migrations = match self.backend {
            Backend::Sqlite => MIGRATIONS_SQLITE,
            Backend::Postgres => MIGRATIONS_POSTGRES,
        };
        let backend = self.backend;
        self.transaction(|conn| {
            if backend == Backend::Postgres {
                // Two processes starting at once must not both create the tables.
                conn.query("SELECT pg_advisory_xact_lock(7165002)", &[])?;
            }
            conn.batch(
                "CREATE TABLE IF NOT EXISTS audit_migrations (
                     version BIGINT PRIMARY KEY,
                     applied_at TEXT NOT NULL
                 )",
            )?;
            let current = conn
                .query_one(
                    "SELECT COALESCE(MAX(version), 0) FROM audit_migrations",
                    &[],
                )?
                .int(0)?;
            let known = migrations.last().map_or(0, |(v, _)| *v);
            if current > known {
                return Err(StoreError::SchemaTooNew {
                    found: current,
                    known,
                }
                .into());
            }
            for (version, sql) in migrations.iter().filter(|(v, _)| *v > current) {
                conn.batch(sql)?;
                conn.execute(
                    "INSERT INTO audit_migrations (version, applied_at)
                     VALUES ($1, CAST(CURRENT_TIMESTAMP AS TEXT))",
                    &[Param::Int(*version)],
                )?;
            }
            Ok(())
        })
    }

    /// Runs `work` in one transaction: committed if it succeeds, rolled back if not.
    fn transaction<T>(
        &mut self,
        work: impl FnOnce(&mut dyn Conn) -> AuditResult<T>,
    ) -> AuditResult<T> {
        transaction(self.conn.as_mut(), work)
    }

    /// The engine the ledger runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Engine and location, safe to print.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The checkpoint origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The public key that verifies this log's checkpoints, if it was opened with a key.
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        self.signer.as_ref().map(Signer::verifying_key)
    }

    /// The public key as one line of text (`name+id+key`) for inspectors.
    pub fn public_key_text(&self) -> AuditResult<String> {
        let key = self.verifying_key().ok_or(AuditError::NoSigningKey)?;
        Ok(verifier_key(&self.origin, &key))
    }

    /// The number of committed entries.
    pub fn size(&mut self) -> AuditResult<u64> {
        let row = self
            .conn
            .query_one("SELECT size FROM audit_state WHERE id = 1", &[])?;
        Ok(to_u64(row.int(0)?))
    }

    /// Appends `entries` in one transaction and returns their seqs. Each entry's `seq` is
    /// assigned here, whatever it held. Returns only after the commit, so an acknowledged
    /// entry survives a killed process.
    pub fn append(&mut self, entries: Vec<Entry>) -> AuditResult<Range<u64>> {
        let lock = match self.backend {
            Backend::Sqlite => "SELECT size, frontier FROM audit_state WHERE id = 1",
            // BEGIN IMMEDIATE already serialises SQLite writers; PostgreSQL needs the row lock.
            Backend::Postgres => "SELECT size, frontier FROM audit_state WHERE id = 1 FOR UPDATE",
        };
        self.transaction(|conn| {
            let row = conn.query_one(lock, &[])?;
            let mut frontier = parse_frontier(to_u64(row.int(0)?), &row.text(1)?)?;
            let first = frontier.size();
            let mut entries = entries;
            for chunk in entries.chunks_mut(ROWS_PER_INSERT) {
                insert_rows(conn, chunk, &mut frontier)?;
            }
            let frontier_text = frontier
                .hashes()
                .iter()
                .map(to_hex)
                .collect::<Vec<_>>()
                .join(",");
            conn.execute(
                "UPDATE audit_state SET size = $1, frontier = $2 WHERE id = 1",
                &[
                    Param::Int(to_i64(frontier.size())),
                    Param::Text(Some(&frontier_text)),
                ],
            )?;
            Ok(first..frontier.size())
        })
    }

    /// Signs and stores a checkpoint for the current size (signing the same size twice stores
    /// it once: Ed25519 signatures are deterministic).
    pub fn checkpoint(&mut self) -> AuditResult<SignedCheckpoint> {
        let Self {
            conn,
            origin,
            signer,
            ..
        } = self;
        let signer = signer.as_ref().ok_or(AuditError::NoSigningKey)?;
        transaction(conn.as_mut(), |conn| {
            let row = conn.query_one("SELECT size, frontier FROM audit_state WHERE id = 1", &[])?;
            let frontier = parse_frontier(to_u64(row.int(0)?), &row.text(1)?)?;
            let checkpoint = ledger::Checkpoint {
                origin: origin.clone(),
                size: frontier.size(),
                root: frontier.root(),
            };
            let signed = signer.sign(&checkpoint)?;
            conn.execute(
                "INSERT INTO audit_checkpoints (size, signed, created_at)
                 VALUES ($1, $2, CAST(CURRENT_TIMESTAMP AS TEXT))
                 ON CONFLICT (size) DO NOTHING",
                &[
                    Param::Int(to_i64(checkpoint.size)),
                    Param::Text(Some(&signed.to_string())),
                ],
            )?;
            Ok(signed)
        })
    }
}

impl AuditLog {
    /// Every stored signed checkpoint, smallest size first.
    pub fn checkpoints(&mut self) -> AuditResult<Vec<SignedCheckpoint>> {
        let rows = self.conn.query(
            "SELECT size, signed FROM audit_checkpoints ORDER BY size",
            &[],
        )?;
        rows.iter()
            .map(|row| {
                let column = to_u64(row.int(0)?);
                let signed: SignedCheckpoint = row.text(1)?.parse()?;
                if signed.checkpoint.size != column {
                    return Err(AuditError::CheckpointRow {
                        column,
                        signed: signed.checkpoint.size,
                    });
                }
                Ok(signed)
            })
            .collect()
    }

    /// The entry at `seq`, decoded from its stored canonical bytes.
    pub fn entry(&mut self, seq: u64) -> AuditResult<Entry> {
        let row = self
            .conn
            .query_opt(
                "SELECT seq, leaf FROM audit_entries WHERE seq = $1",
                &[Param::Int(to_i64(seq))],
            )?
            .ok_or(AuditError::NoSuchEntry(seq))?;
        decode(&row)
    }

    /// Verifies the whole ledger against its signed checkpoints: the signatures (under `key`,
    /// or this log's own key), every stored column against the hashed bytes, each stored leaf
    /// hash, the recomputed tree at every checkpoint, the recorded size and frontier.
    /// `progress(done, total)` is called after each page of entries.
    pub fn verify(
        &mut self,
        key: Option<&VerifyingKey>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> AuditResult<AuditReport> {
        let key = match key {
            Some(key) => *key,
            None => self.verifying_key().ok_or(AuditError::NoSigningKey)?,
        };
        let checkpoints = self.checkpoints()?;
        let state = self
            .conn
            .query_one("SELECT size, frontier FROM audit_state WHERE id = 1", &[])?;
        let recorded = to_u64(state.int(0)?);
        let recorded_frontier = state.text(1)?;

        // Stream pages; a problem found in a page's rows ends the walk with that error.
        let mut leaves: Vec<(u64, Hash)> = Vec::new();
        let mut frontier = Frontier::new();
        let mut next = 0i64;
        let mut done = 0u64;
        loop {
            let rows = self.conn.query(
                "SELECT seq, leaf, leaf_hash, time, kind, actor_user, actor_org, role, subject, decision
                 FROM audit_entries WHERE seq >= $1 ORDER BY seq LIMIT $2",
                &[Param::Int(next), Param::Int(PAGE)],
            )?;
            let Some(last) = rows.last() else { break };
            next = last.int(0)? + 1;
            for row in &rows {
                let (seq, hash) = check_row(row)?;
                frontier.append(hash);
                leaves.push((seq, hash));
            }
            done += rows.len() as u64;
            progress(done, recorded.max(done));
        }
        let report = verify_leaves(leaves, &checkpoints, &key).map_err(AuditError::Tampered)?;
        if report.entries < recorded {
            return Err(AuditError::Missing {
                recorded,
                found: report.entries,
            });
        }
        let frontier_text = frontier
            .hashes()
            .iter()
            .map(to_hex)
            .collect::<Vec<_>>()
            .join(",");
        if report.entries != recorded || frontier_text != recorded_frontier {
            return Err(AuditError::FrontierMismatch { recorded });
        }
        Ok(AuditReport {
            ledger: report,
            recorded_size: recorded,
        })
    }

    /// The Merkle tree of the first `size` entries, from the stored leaf hashes.
    fn tree(&mut self, size: u64) -> AuditResult<Log> {
        let mut log = Log::new();
        while log.size() < size {
            let rows = self.conn.query(
                "SELECT seq, leaf_hash FROM audit_entries WHERE seq >= $1 AND seq < $2
                 ORDER BY seq LIMIT $3",
                &[
                    Param::Int(to_i64(log.size())),
                    Param::Int(to_i64(size)),
                    Param::Int(PAGE),
                ],
            )?;
            if rows.is_empty() {
                return Err(AuditError::Missing {
                    recorded: size,
                    found: log.size(),
                });
            }
            for row in rows {
                let seq = to_u64(row.int(0)?);
                if seq != log.size() {
                    return Err(AuditError::Tampered(LedgerError::SeqMismatch {
                        index: log.size(),
                        expected: log.size(),
                        found: seq,
                    }));
                }
                let hash = from_hex(&row.text(1)?).ok_or(AuditError::LeafHashMismatch { seq })?;
                log.append(hash);
            }
        }
        Ok(log)
    }

    /// A proof bundle against a stored signed checkpoint (the latest, or the one of
    /// `request.size`): the inclusion of entry `request.seq` and/or consistency from the
    /// tree of `request.from` entries.
    pub fn proof(&mut self, request: ProofRequest) -> AuditResult<ProofBundle> {
        let checkpoints = self.checkpoints()?;
        let signed = match request.size {
            Some(size) => checkpoints
                .iter()
                .find(|c| c.checkpoint.size == size)
                .ok_or(AuditError::NoSuchCheckpoint(size))?,
            None => checkpoints.last().ok_or(AuditError::NotCheckpointed {
                seq: request.seq.unwrap_or(0),
                size: 0,
            })?,
        };
        let size = signed.checkpoint.size;
        if let Some(seq) = request.seq
            && seq >= size
        {
            return Err(AuditError::NotCheckpointed { seq, size });
        }
        if let Some(from) = request.from
            && from > size
        {
            return Err(AuditError::FromBeyondSize { from, size });
        }
        let log = self.tree(size)?;
        let mut bundle = ProofBundle::new(signed);
        if let Some(seq) = request.seq {
            let entry = self.entry(seq)?;
            bundle = bundle.with_inclusion(&entry, &log.inclusion_proof(seq, size)?);
        }
        if let Some(from) = request.from {
            let old = checkpoints.iter().find(|c| c.checkpoint.size == from);
            bundle = bundle.with_consistency(
                from,
                &log.root_at(from)?,
                old,
                &log.consistency_proof(from, size)?,
            );
        }
        Ok(bundle)
    }

    /// Every entry about `subject`, oldest first (including deferral records).
    fn entries_about(&mut self, subject: &str) -> AuditResult<Vec<Entry>> {
        let rows = self.conn.query(
            "SELECT seq, leaf FROM audit_entries WHERE subject = $1 ORDER BY seq",
            &[Param::Text(Some(subject))],
        )?;
        rows.iter().map(decode).collect()
    }

    /// What may be shown about `subject` on `today` (`YYYY-MM-DD`): every access, decision
    /// and change about them except deferral and review records and entries under an
    /// unexpired deferral, which are only counted.
    pub fn subject_view(&mut self, subject: &str, today: &str) -> AuditResult<SubjectView> {
        let entries = self.entries_about(subject)?;
        let mut deferred_until: BTreeMap<u64, String> = BTreeMap::new();
        for entry in &entries {
            if let (EventKind::AdminChange, Some(seq), Some(until)) = (
                entry.kind,
                entry.details.get("defers_seq").and_then(Json::as_u64),
                entry.details.get("until").and_then(Json::as_str),
            ) {
                let slot = deferred_until.entry(seq).or_default();
                if until > slot.as_str() {
                    until.clone_into(slot);
                }
            }
        }
        let mut view = SubjectView {
            entries: Vec::new(),
            deferred: 0,
            deferred_until: None,
        };
        for entry in entries {
            if is_deferral_or_review(&entry) {
                continue;
            }
            match deferred_until.get(&entry.seq) {
                Some(until) if until.as_str() > today => {
                    view.deferred += 1;
                    if view.deferred_until.as_ref().is_none_or(|u| until > u) {
                        view.deferred_until = Some(until.clone());
                    }
                }
                _ => view.entries.push(entry),
            }
        }
        Ok(view)
    }

    /// Records (as a new `admin_change` entry) that entry `deferral.seq` is hidden from its
    /// subject's view until `deferral.until`. Returns the new entry's seq.
    pub fn defer(&mut self, deferral: &Deferral) -> AuditResult<u64> {
        let target = self.entry(deferral.seq)?;
        let subject = target
            .subject
            .ok_or(AuditError::NoSubject { seq: deferral.seq })?;
        let entry = Entry {
            seq: 0,
            time: deferral.time.clone(),
            kind: EventKind::AdminChange,
            actor_user: deferral.actor_user.clone(),
            actor_org: deferral.actor_org.clone(),
            role: deferral.role.clone(),
            purpose: Some("deferral".into()),
            subject: Some(subject),
            decision: None,
            reasons: vec![deferral.reason.clone()],
            details: serde_json::json!({
                "action": "defer",
                "defers_seq": deferral.seq,
                "until": deferral.until,
                "ground": deferral.ground,
            }),
        };
        Ok(self.append(vec![entry])?.start)
    }

    /// Records (as a new `admin_change` entry) that break-glass override `review.seq` was
    /// reviewed. Returns the new entry's seq.
    pub fn review(&mut self, review: &Review) -> AuditResult<u64> {
        let target = self.entry(review.seq)?;
        if target.kind != EventKind::Override {
            return Err(AuditError::NotAnOverride {
                seq: review.seq,
                kind: target.kind.as_str(),
            });
        }
        let entry = Entry {
            seq: 0,
            time: review.time.clone(),
            kind: EventKind::AdminChange,
            actor_user: review.actor_user.clone(),
            actor_org: review.actor_org.clone(),
            role: review.role.clone(),
            purpose: Some("override_review".into()),
            subject: target.subject,
            decision: None,
            reasons: vec![review.note.clone()],
            details: serde_json::json!({ "action": "review", "reviews_seq": review.seq }),
        };
        Ok(self.append(vec![entry])?.start)
    }

    /// Entries of `kind` whose time is at or after `since` (compared as RFC 3339 text, so
    /// `2026-03-01` means the start of that day in UTC), oldest first.
    pub fn report(&mut self, kind: EventKind, since: Option<&str>) -> AuditResult<Vec<Entry>> {
        let rows = self.conn.query(
            "SELECT seq, leaf FROM audit_entries WHERE kind = $1 AND time >= $2 ORDER BY seq",
            &[
                Param::Text(Some(kind.as_str())),
                Param::Text(Some(since.unwrap_or(""))),
            ],
        )?;
        rows.iter().map(decode).collect()
    }

    /// Break-glass overrides with no later review entry, oldest first.
    pub fn unreviewed_overrides(&mut self) -> AuditResult<Vec<Entry>> {
        let reviewed: HashSet<u64> = self
            .report(EventKind::AdminChange, None)?
            .iter()
            .filter_map(|e| {
                let target = e.details.get("reviews_seq").and_then(Json::as_u64)?;
                (target < e.seq).then_some(target)
            })
            .collect();
        Ok(self
            .report(EventKind::Override, None)?
            .into_iter()
            .filter(|e| !reviewed.contains(&e.seq))
            .collect())
    }
}

fn is_deferral_or_review(entry: &Entry) -> bool {
    entry.kind == EventKind::AdminChange
        && (entry.details.get("defers_seq").is_some() || entry.details.get("reviews_seq").is_some())
}

/// Runs `work` in one transaction on `conn`: committed if it succeeds, rolled back if not.
fn transaction<T>(
    conn: &mut dyn Conn,
    work: impl FnOnce(&mut dyn Conn) -> AuditResult<T>,
) -> AuditResult<T> {
    conn.begin()?;
    match work(conn) {
        Ok(value) => {
            conn.commit()?;
            Ok(value)
        }
        Err(error) => {
            // The original error matters more than a failed rollback.
            let _ = conn.rollback();
            Err(error)
        }
    }
}

/// Inserts one multi-row INSERT's worth of entries, assigning each its seq from `frontier`.
fn insert_rows(
    conn: &mut dyn Conn,
    chunk: &mut [Entry],
    frontier: &mut Frontier,
) -> AuditResult<()> {
    const COLUMNS: usize = 10;
    let mut leaves = Vec::with_capacity(chunk.len());
    for entry in chunk.iter_mut() {
        entry.seq = frontier.size();
        let bytes = entry.canonical_bytes();
        let hash = leaf_hash(&bytes);
        frontier.append(hash);
        // Canonical bytes are built from Rust strings, so they are always UTF-8.
        let leaf = String::from_utf8(bytes).map_err(|e| StoreError::Corrupt {
            column: "leaf".into(),
            problem: e.to_string(),
        })?;
        leaves.push((leaf, to_hex(&hash)));
    }
    let mut sql = String::from(
        "INSERT INTO audit_entries
             (seq, time, kind, actor_user, actor_org, role, subject, decision, leaf, leaf_hash)
         VALUES ",
    );
    let mut params: Vec<Param<'_>> = Vec::with_capacity(chunk.len() * COLUMNS);
    for (row, (entry, (leaf, hash))) in chunk.iter().zip(&leaves).enumerate() {
        if row > 0 {
            sql.push(',');
        }
        sql.push('(');
        for column in 0..COLUMNS {
            if column > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("${}", row * COLUMNS + column + 1));
        }
        sql.push(')');
        params.extend([
            Param::Int(to_i64(entry.seq)),
            Param::Text(Some(&entry.time)),
            Param::Text(Some(entry.kind.as_str())),
            Param::Text(Some(&entry.actor_user)),
            Param::Text(Some(&entry.actor_org)),
            Param::Text(Some(&entry.role)),
            Param::Text(entry.subject.as_deref()),
            Param::Text(entry.decision.map(ledger::Decision::as_str)),
            Param::Text(Some(leaf)),
            Param::Text(Some(hash)),
        ]);
    }
    conn.execute(&sql, &params)?;
    Ok(())
}

/// Decodes one `(seq, leaf)` row into its entry.
fn decode(row: &Row) -> AuditResult<Entry> {
    let seq = to_u64(row.int(0)?);
    serde_json::from_str(&row.text(1)?).map_err(|e| AuditError::Undecodable {
        seq,
        problem: e.to_string(),
    })
}

/// Checks one full row (as `verify` selects it) and returns the hashed entry's seq and leaf
/// hash.
fn check_row(row: &Row) -> AuditResult<(u64, Hash)> {
    let seq = to_u64(row.int(0)?);
    let leaf = row.text(1)?;
    let hash = leaf_hash(leaf.as_bytes());
    if from_hex(&row.text(2)?) != Some(hash) {
        return Err(AuditError::LeafHashMismatch { seq });
    }
    let entry: Entry = serde_json::from_str(&leaf).map_err(|e| AuditError::Undecodable {
        seq,
        problem: e.to_string(),
    })?;
    let columns: [(&'static str, Option<String>, Option<&str>); 7] = [
        ("time", row.opt_text(3)?, Some(&entry.time)),
        ("kind", row.opt_text(4)?, Some(entry.kind.as_str())),
        ("actor_user", row.opt_text(5)?, Some(&entry.actor_user)),
        ("actor_org", row.opt_text(6)?, Some(&entry.actor_org)),
        ("role", row.opt_text(7)?, Some(&entry.role)),
        ("subject", row.opt_text(8)?, entry.subject.as_deref()),
        (
            "decision",
            row.opt_text(9)?,
            entry.decision.map(ledger::Decision::as_str),
        ),
    ];
    for (column, stored, hashed) in columns {
        if stored.as_deref() != hashed {
            return Err(AuditError::ColumnMismatch {
                seq,
                column,
                stored: stored.unwrap_or_else(|| "NULL".into()),
                hashed: hashed.unwrap_or("NULL").to_owned(),
            });
        }
    }
    Ok((entry.seq, hash))
}

fn parse_frontier(size: u64, text: &str) -> AuditResult<Frontier> {
    let hashes = text
        .split(',')
        .filter(|h| !h.is_empty())
        .map(|h| from_hex(h).ok_or(AuditError::FrontierMismatch { recorded: size }))
        .collect::<AuditResult<Vec<_>>>()?;
    Ok(Frontier::from_parts(size, hashes)?)
}

// Seqs and sizes are below 2^63 in any log that fits on a disk.
fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Group commit: callers on many threads submit entries through [`AuditHandle`]s; one writer
/// thread commits everything waiting in one transaction (one fsync), and each caller returns
/// only once its own entries are committed, with their seqs.
#[derive(Debug)]
pub struct AuditWriter {
    sender: Option<mpsc::Sender<GroupRequest>>,
    thread: Option<std::thread::JoinHandle<AuditLog>>,
}

/// Submits entries to an [`AuditWriter`]; cheap to clone, one per thread.
#[derive(Debug, Clone)]
pub struct AuditHandle {
    sender: mpsc::Sender<GroupRequest>,
}

#[derive(Debug)]
struct GroupRequest {
    entries: Vec<Entry>,
    reply: mpsc::SyncSender<Result<Range<u64>, String>>,
}

/// The most entries one group transaction takes, so a flood cannot make one transaction huge.
const MAX_GROUP: usize = 10_000;

impl AuditWriter {
    /// Starts the writer thread, which owns `log` until [`finish`](Self::finish).
    pub fn start(log: AuditLog) -> Self {
        let (sender, receiver) = mpsc::channel::<GroupRequest>();
        let thread = std::thread::spawn(move || {
            let mut log = log;
            while let Ok(first) = receiver.recv() {
                let mut group = vec![first];
                let mut total = group[0].entries.len();
                while total < MAX_GROUP {
                    match receiver.try_recv() {
                        Ok(next) => {
                            total += next.entries.len();
                            group.push(next);
                        }
                        Err(_) => break,
                    }
                }
                let lengths: Vec<u64> = group.iter().map(|r| r.entries.len() as u64).collect();
                let mut entries = Vec::with_capacity(total);
                let mut replies = Vec::with_capacity(group.len());
                for request in group {
                    entries.extend(request.entries);
                    replies.push(request.reply);
                }
                match log.append(entries) {
                    Ok(range) => {
                        let mut start = range.start;
                        for (reply, length) in replies.into_iter().zip(lengths) {
                            // A caller that gave up waiting is no reason to stop.
                            let _ = reply.send(Ok(start..start + length));
                            start += length;
                        }
                    }
                    Err(error) => {
                        let message = error.to_string();
                        for reply in replies {
                            let _ = reply.send(Err(message.clone()));
                        }
                    }
                }
            }
            log
        });
        Self {
            sender: Some(sender),
            thread: Some(thread),
        }
    }

    /// A handle to submit entries from any thread.
    pub fn handle(&self) -> Option<AuditHandle> {
        self.sender.as_ref().map(|sender| AuditHandle {
            sender: sender.clone(),
        })
    }

    /// Waits for every submitted entry to commit and returns the log. Handles still alive
    /// keep the writer running until they are dropped.
    pub fn finish(mut self) -> AuditResult<AuditLog> {
        self.sender = None;
        self.thread
            .take()
            .ok_or_else(|| AuditError::GroupCommit("the writer was already finished".into()))?
            .join()
            .map_err(|_| AuditError::GroupCommit("the writer thread panicked".into()))
    }
}

impl AuditHandle {
    /// Appends `entries` (seqs assigned as by [`AuditLog::append`]) together with whatever
    /// other threads are appending, and returns their seqs once committed.
    pub fn append(&self, entries: Vec<Entry>) -> AuditResult<Range<u64>> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.sender
            .send(GroupRequest { entries, reply })
            .map_err(|_| AuditError::GroupCommit("the writer has stopped".into()))?;
        answer
            .recv()
            .map_err(|_| AuditError::GroupCommit("the writer has stopped".into()))?
            .map_err(AuditError::GroupCommit)
    }
}

//! Governance facts recorded through the service: consents, relationships, opt-outs,
//! competence assessments, break-glass grants, reviews, privacy-officer alerts and decisions
//! not to share.
//!
//! The `governance` crate owns what these records mean and the server turns them into its
//! types; this module only keeps them, one row per record in `governance_records`, with the
//! body as JSON text. A record is known by its kind and id; `seq` keeps the order records were
//! written in, so a state rebuilt from the rows is rebuilt the same way every time. Every
//! operation runs on a [`GovernanceConn`], inside one transaction ([`Store::governance_tx`])
//! or on its own ([`Store::governance`]).

use crate::sql::{Conn, Row};
use crate::{Backend, Result, Store, StoreError};

/// Governance operations on one connection, in or out of a transaction.
pub struct GovernanceConn<'a> {
    conn: &'a mut dyn Conn,
    backend: Backend,
}

impl std::fmt::Debug for GovernanceConn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GovernanceConn")
            .field("backend", &self.backend)
            .finish()
    }
}

/// One governance record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovernanceRecord {
    /// What it is: `consent`, `relationship`, `opt_out`, `competence`, `break_glass`,
    /// `break_glass_review`, `privacy_alert`, `not_shared`, ….
    pub kind: String,
    /// Unique within its kind.
    pub id: String,
    /// The child (CCI) it concerns, if any; a privacy alert names none.
    pub child: Option<String>,
    /// The record as JSON text.
    pub body: String,
    /// When Kith recorded it (RFC 3339).
    pub recorded_at: String,
}

/// A stored record with its write order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredGovernanceRecord {
    pub seq: i64,
    pub record: GovernanceRecord,
}

const COLUMNS: &str = "seq, kind, id, child, body, recorded_at";

fn record_from(row: &Row) -> Result<StoredGovernanceRecord> {
    Ok(StoredGovernanceRecord {
        seq: row.int(0)?,
        record: GovernanceRecord {
            kind: row.text(1)?,
            id: row.text(2)?,
            child: row.opt_text(3)?,
            body: row.text(4)?,
            recorded_at: row.text(5)?,
        },
    })
}

impl Store {
    /// Runs `work` in one transaction: committed if it returns `Ok`, rolled back otherwise.
    /// The server appends a change's ledger entries inside it, so a change whose audit entry
    /// could not be written is not kept.
    pub fn governance_tx<T, E: From<StoreError>>(
        &mut self,
        work: impl FnOnce(&mut GovernanceConn<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.transaction(|conn, backend| work(&mut GovernanceConn { conn, backend }))
    }

    /// Governance operations outside a transaction (reads, or single statements).
    pub fn governance(&mut self) -> GovernanceConn<'_> {
        GovernanceConn {
            backend: self.backend,
            conn: self.conn.as_mut(),
        }
    }
}

impl GovernanceConn<'_> {
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Adds a record. Returns `false`, changing nothing, when a record of the same kind and id
    /// exists.
    pub fn insert(&mut self, record: &GovernanceRecord) -> Result<bool> {
        let added = self.conn.execute(
            "INSERT INTO governance_records (kind, id, child, body, recorded_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (kind, id) DO NOTHING",
            &[
                record.kind.as_str().into(),
                record.id.as_str().into(),
                record.child.as_deref().into(),
                record.body.as_str().into(),
                record.recorded_at.as_str().into(),
            ],
        )?;
        Ok(added > 0)
    }

    /// Adds a record whose id is `prefix` followed by its write order (`BG-17`), built by
    /// `body` from that id. Returns the id.
    pub fn insert_numbered(
        &mut self,
        kind: &str,
        prefix: &str,
        child: Option<&str>,
        recorded_at: &str,
        body: impl FnOnce(&str) -> Result<String>,
    ) -> Result<String> {
        // The row is written first under a placeholder id, then given its numbered id: the
        // store hands out the number, so two writers never choose the same one. The
        // placeholder is unique per writer and lives only inside this transaction.
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|e| StoreError::Corrupt {
            column: "governance_records.id".into(),
            problem: format!("no randomness for a placeholder id: {e}"),
        })?;
        let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        let placeholder = format!("pending:{prefix}{nonce}");
        let row = self.conn.query_one(
            "INSERT INTO governance_records (kind, id, child, body, recorded_at)
             VALUES ($1, $2, $3, '{}', $4)
             RETURNING seq",
            &[
                kind.into(),
                placeholder.as_str().into(),
                child.into(),
                recorded_at.into(),
            ],
        )?;
        let seq = row.int(0)?;
        let id = format!("{prefix}{seq}");
        let text = body(&id)?;
        self.conn.execute(
            "UPDATE governance_records SET id = $2, body = $3 WHERE seq = $1",
            &[seq.into(), id.as_str().into(), text.as_str().into()],
        )?;
        Ok(id)
    }

    /// Replaces the body of an existing record. Returns whether a record was found.
    pub fn replace_body(&mut self, kind: &str, id: &str, body: &str) -> Result<bool> {
        let changed = self.conn.execute(
            "UPDATE governance_records SET body = $3 WHERE kind = $1 AND id = $2",
            &[kind.into(), id.into(), body.into()],
        )?;
        Ok(changed > 0)
    }

    /// The record of this kind and id.
    pub fn get(&mut self, kind: &str, id: &str) -> Result<Option<StoredGovernanceRecord>> {
        self.conn
            .query_opt(
                &format!("SELECT {COLUMNS} FROM governance_records WHERE kind = $1 AND id = $2"),
                &[kind.into(), id.into()],
            )?
            .map(|row| record_from(&row))
            .transpose()
    }

    /// Every record of one kind, in write order.
    pub fn of_kind(&mut self, kind: &str) -> Result<Vec<StoredGovernanceRecord>> {
        self.conn
            .query(
                &format!("SELECT {COLUMNS} FROM governance_records WHERE kind = $1 ORDER BY seq"),
                &[kind.into()],
            )?
            .iter()
            .map(record_from)
            .collect()
    }

    /// A child's records of one kind, in write order.
    pub fn for_child(&mut self, kind: &str, child: &str) -> Result<Vec<StoredGovernanceRecord>> {
        self.conn
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM governance_records
                     WHERE child = $1 AND kind = $2 ORDER BY seq"
                ),
                &[child.into(), kind.into()],
            )?
            .iter()
            .map(record_from)
            .collect()
    }

    /// Every record, in write order (to rebuild the governance state at start-up).
    pub fn all(&mut self) -> Result<Vec<StoredGovernanceRecord>> {
        self.conn
            .query(
                &format!("SELECT {COLUMNS} FROM governance_records ORDER BY seq"),
                &[],
            )?
            .iter()
            .map(record_from)
            .collect()
    }
}

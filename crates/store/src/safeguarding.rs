//! Safeguarding tables (as NHS CP-IS keeps them): flags, encounters, the notification outbox and
//! the log of who saw a flag.
//!
//! The `safeguarding` crate owns the rules (which setting is unscheduled, which flag applies,
//! what a notification says); this module only reads and writes rows. Every operation runs on
//! a [`SafeguardingConn`], either inside one transaction ([`Store::safeguarding_tx`]) or on its
//! own ([`Store::safeguarding`]). Dates are ISO `YYYY-MM-DD` text and compare as text; delivery
//! times are milliseconds since the Unix epoch so that "due" is an integer comparison.

use crate::sql::{Conn, Param, Row};
use crate::{Backend, Result, Store, StoreError};

/// Safeguarding operations on one connection, in or out of a transaction.
pub struct SafeguardingConn<'a> {
    pub(crate) conn: &'a mut dyn Conn,
    pub(crate) backend: Backend,
}

impl std::fmt::Debug for SafeguardingConn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafeguardingConn")
            .field("backend", &self.backend)
            .finish()
    }
}

/// A flag as published, before it has a store id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagRecord {
    pub cci: String,
    /// `child-protection-plan`, `looked-after-child` or `unborn-child-protection-plan`.
    pub kind: String,
    pub la_code: String,
    pub la_name: String,
    /// The publishing authority's own reference for the plan or placement.
    pub reference: String,
    pub office_phone: String,
    pub office_email: String,
    pub ooh_phone: String,
    pub ooh_email: String,
    pub start_date: String,
    pub end_date: Option<String>,
    /// When the publishing system last changed the flag: RFC 3339 UTC text of one fixed width
    /// (the store compares it as text to ignore an older version).
    pub source_updated_at: String,
    /// When Kith received this version (RFC 3339).
    pub received_at: String,
}

/// A stored flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFlag {
    pub id: i64,
    pub flag: FlagRecord,
}

/// What an upsert of a flag did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagWrite {
    Inserted,
    Updated,
    Unchanged,
    /// The stored version was changed at its source more recently; the older one was ignored.
    Older,
}

/// An encounter as reported by the attending organisation's system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncounterRecord {
    pub source_org: String,
    pub local_id: String,
    pub cci: String,
    pub setting: String,
    pub org_code: String,
    pub org_name: String,
    pub started_at: String,
    pub received_at: String,
}

/// A notification to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// Unique per reason and occasion; a second insert with the same key is ignored.
    pub dedup_key: String,
    pub la_code: String,
    /// `attendance`, `view` or `identity-change`.
    pub kind: String,
    pub flag_id: i64,
    pub cci: String,
    pub created_at: String,
    /// The JSON body, without the notification id (added at delivery).
    pub payload: String,
    /// Milliseconds since the Unix epoch.
    pub next_attempt_at: i64,
}

/// A notification as stored, with its delivery state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRow {
    pub id: i64,
    pub dedup_key: String,
    pub la_code: String,
    pub kind: String,
    pub flag_id: i64,
    pub cci: String,
    pub created_at: String,
    pub payload: String,
    /// `pending` or `delivered`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
}

/// One view of a flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagAccess {
    pub flag_id: i64,
    pub viewer: String,
    pub org_code: String,
    pub role: String,
    pub setting: String,
    pub at: String,
}

const FLAG_COLUMNS: &str = "id, cci, kind, la_code, la_name, reference, office_phone, \
    office_email, ooh_phone, ooh_email, start_date, end_date, source_updated_at, received_at";

const NOTIFICATION_COLUMNS: &str = "id, dedup_key, la_code, kind, flag_id, cci, created_at, \
    payload, status, attempts, next_attempt_at, last_error, delivered_at";

fn flag_from(row: &Row) -> Result<StoredFlag> {
    Ok(StoredFlag {
        id: row.int(0)?,
        flag: FlagRecord {
            cci: row.text(1)?,
            kind: row.text(2)?,
            la_code: row.text(3)?,
            la_name: row.text(4)?,
            reference: row.text(5)?,
            office_phone: row.text(6)?,
            office_email: row.text(7)?,
            ooh_phone: row.text(8)?,
            ooh_email: row.text(9)?,
            start_date: row.text(10)?,
            end_date: row.opt_text(11)?,
            source_updated_at: row.text(12)?,
            received_at: row.text(13)?,
        },
    })
}

fn notification_from(row: &Row) -> Result<NotificationRow> {
    Ok(NotificationRow {
        id: row.int(0)?,
        dedup_key: row.text(1)?,
        la_code: row.text(2)?,
        kind: row.text(3)?,
        flag_id: row.int(4)?,
        cci: row.text(5)?,
        created_at: row.text(6)?,
        payload: row.text(7)?,
        status: row.text(8)?,
        attempts: row.int(9)?,
        next_attempt_at: row.int(10)?,
        last_error: row.opt_text(11)?,
        delivered_at: row.opt_text(12)?,
    })
}

impl Store {
    /// Runs `work` in one transaction: committed if it returns `Ok`, rolled back otherwise.
    /// An encounter and the notifications it causes are written through one of these, so a
    /// killed process leaves either both or neither.
    pub fn safeguarding_tx<T, E: From<StoreError>>(
        &mut self,
        work: impl FnOnce(&mut SafeguardingConn<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.transaction(|conn, backend| work(&mut SafeguardingConn { conn, backend }))
    }

    /// Safeguarding operations outside a transaction (reads, or single statements).
    pub fn safeguarding(&mut self) -> SafeguardingConn<'_> {
        SafeguardingConn {
            backend: self.backend,
            conn: self.conn.as_mut(),
        }
    }
}

impl SafeguardingConn<'_> {
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The flag with this natural key: owning authority, kind, child and the authority's
    /// reference.
    pub fn flag_by_key(
        &mut self,
        la_code: &str,
        kind: &str,
        cci: &str,
        reference: &str,
    ) -> Result<Option<StoredFlag>> {
        self.conn
            .query_opt(
                &format!(
                    "SELECT {FLAG_COLUMNS} FROM safeguarding_flags
                     WHERE la_code = $1 AND kind = $2 AND cci = $3 AND reference = $4"
                ),
                &[la_code.into(), kind.into(), cci.into(), reference.into()],
            )?
            .map(|row| flag_from(&row))
            .transpose()
    }

    /// The flag with this store id.
    pub fn flag(&mut self, id: i64) -> Result<Option<StoredFlag>> {
        self.conn
            .query_opt(
                &format!("SELECT {FLAG_COLUMNS} FROM safeguarding_flags WHERE id = $1"),
                &[Param::Int(id)],
            )?
            .map(|row| flag_from(&row))
            .transpose()
    }

    /// Inserts the flag, or updates the one with the same natural key. A version older at its
    /// source than the stored one is ignored, so out-of-order deliveries cannot undo an end.
    pub fn upsert_flag(&mut self, flag: &FlagRecord) -> Result<(i64, FlagWrite)> {
        let existing = self.flag_by_key(&flag.la_code, &flag.kind, &flag.cci, &flag.reference)?;
        let Some(existing) = existing else {
            let row = self.conn.query_one(
                &format!(
                    "INSERT INTO safeguarding_flags ({})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                     RETURNING id",
                    &FLAG_COLUMNS["id, ".len()..]
                ),
                &[
                    flag.cci.as_str().into(),
                    flag.kind.as_str().into(),
                    flag.la_code.as_str().into(),
                    flag.la_name.as_str().into(),
                    flag.reference.as_str().into(),
                    flag.office_phone.as_str().into(),
                    flag.office_email.as_str().into(),
                    flag.ooh_phone.as_str().into(),
                    flag.ooh_email.as_str().into(),
                    flag.start_date.as_str().into(),
                    flag.end_date.as_deref().into(),
                    flag.source_updated_at.as_str().into(),
                    flag.received_at.as_str().into(),
                ],
            )?;
            return Ok((row.int(0)?, FlagWrite::Inserted));
        };
        if flag.source_updated_at < existing.flag.source_updated_at {
            return Ok((existing.id, FlagWrite::Older));
        }
        let same = FlagRecord {
            received_at: flag.received_at.clone(),
            ..existing.flag.clone()
        } == *flag;
        if same {
            return Ok((existing.id, FlagWrite::Unchanged));
        }
        self.conn.execute(
            "UPDATE safeguarding_flags SET la_name = $2, office_phone = $3, office_email = $4,
                 ooh_phone = $5, ooh_email = $6, start_date = $7, end_date = $8,
                 source_updated_at = $9, received_at = $10
             WHERE id = $1",
            &[
                Param::Int(existing.id),
                flag.la_name.as_str().into(),
                flag.office_phone.as_str().into(),
                flag.office_email.as_str().into(),
                flag.ooh_phone.as_str().into(),
                flag.ooh_email.as_str().into(),
                flag.start_date.as_str().into(),
                flag.end_date.as_deref().into(),
                flag.source_updated_at.as_str().into(),
                flag.received_at.as_str().into(),
            ],
        )?;
        Ok((existing.id, FlagWrite::Updated))
    }

    /// Sets a flag's end date and freshness. Returns whether a flag changed.
    pub fn end_flag(
        &mut self,
        id: i64,
        end_date: &str,
        source_updated_at: &str,
        received_at: &str,
    ) -> Result<bool> {
        let changed = self.conn.execute(
            "UPDATE safeguarding_flags
             SET end_date = $2, source_updated_at = $3, received_at = $4
             WHERE id = $1",
            &[
                Param::Int(id),
                end_date.into(),
                source_updated_at.into(),
                received_at.into(),
            ],
        )?;
        Ok(changed > 0)
    }

    /// A child's flags in force on `date` (start on or before it, no end or an end on or after
    /// it), oldest first.
    pub fn active_flags(&mut self, cci: &str, date: &str) -> Result<Vec<StoredFlag>> {
        self.conn
            .query(
                &format!(
                    "SELECT {FLAG_COLUMNS} FROM safeguarding_flags
                     WHERE cci = $1 AND start_date <= $2 AND (end_date IS NULL OR end_date >= $2)
                     ORDER BY start_date, id"
                ),
                &[cci.into(), date.into()],
            )?
            .iter()
            .map(flag_from)
            .collect()
    }

    /// Every flag ever published for a child, oldest first.
    pub fn flags_of_child(&mut self, cci: &str) -> Result<Vec<StoredFlag>> {
        self.conn
            .query(
                &format!(
                    "SELECT {FLAG_COLUMNS} FROM safeguarding_flags WHERE cci = $1
                     ORDER BY start_date, id"
                ),
                &[cci.into()],
            )?
            .iter()
            .map(flag_from)
            .collect()
    }

    /// Moves one flag to another child. Fails with a unique violation if the other child
    /// already has a flag with the same owner, kind and reference (callers check first).
    pub fn move_flag(&mut self, id: i64, to_cci: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE safeguarding_flags SET cci = $2 WHERE id = $1",
            &[Param::Int(id), to_cci.into()],
        )?;
        Ok(())
    }

    /// Records an encounter. Returns its id, or `None` when the same (source organisation,
    /// local id) was recorded before — a re-sent encounter changes nothing.
    pub fn insert_encounter(&mut self, encounter: &EncounterRecord) -> Result<Option<i64>> {
        let row = self.conn.query_opt(
            "INSERT INTO safeguarding_encounters
                 (source_org, local_id, cci, setting, org_code, org_name, started_at, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (source_org, local_id) DO NOTHING
             RETURNING id",
            &[
                encounter.source_org.as_str().into(),
                encounter.local_id.as_str().into(),
                encounter.cci.as_str().into(),
                encounter.setting.as_str().into(),
                encounter.org_code.as_str().into(),
                encounter.org_name.as_str().into(),
                encounter.started_at.as_str().into(),
                encounter.received_at.as_str().into(),
            ],
        )?;
        row.map(|row| row.int(0)).transpose()
    }

    /// Queues a notification. Returns its id, or `None` when one with the same key exists.
    pub fn add_notification(&mut self, notification: &NewNotification) -> Result<Option<i64>> {
        let row = self.conn.query_opt(
            "INSERT INTO safeguarding_notifications
                 (dedup_key, la_code, kind, flag_id, cci, created_at, payload, next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (dedup_key) DO NOTHING
             RETURNING id",
            &[
                notification.dedup_key.as_str().into(),
                notification.la_code.as_str().into(),
                notification.kind.as_str().into(),
                Param::Int(notification.flag_id),
                notification.cci.as_str().into(),
                notification.created_at.as_str().into(),
                notification.payload.as_str().into(),
                Param::Int(notification.next_attempt_at),
            ],
        )?;
        row.map(|row| row.int(0)).transpose()
    }

    /// One notification by id.
    pub fn notification(&mut self, id: i64) -> Result<Option<NotificationRow>> {
        self.conn
            .query_opt(
                &format!(
                    "SELECT {NOTIFICATION_COLUMNS} FROM safeguarding_notifications WHERE id = $1"
                ),
                &[Param::Int(id)],
            )?
            .map(|row| notification_from(&row))
            .transpose()
    }

    /// An authority's notifications after id `after`, oldest first, whatever their delivery
    /// state: the inbox a social-care team can read even when its webhook is down.
    pub fn inbox(&mut self, la_code: &str, after: i64, limit: i64) -> Result<Vec<NotificationRow>> {
        self.conn
            .query(
                &format!(
                    "SELECT {NOTIFICATION_COLUMNS} FROM safeguarding_notifications
                     WHERE la_code = $1 AND id > $2 ORDER BY id LIMIT $3"
                ),
                &[la_code.into(), Param::Int(after), Param::Int(limit)],
            )?
            .iter()
            .map(notification_from)
            .collect()
    }

    /// Claims up to `limit` pending notifications due at `now_ms`: each gets one more attempt
    /// and is not due again until `lease_until_ms`, so a worker that dies mid-delivery leaves
    /// it to be retried after the lease (at-least-once). On PostgreSQL rows another worker is
    /// claiming are skipped (`FOR UPDATE SKIP LOCKED`); SQLite has one writer at a time.
    pub fn claim_due(
        &mut self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: i64,
    ) -> Result<Vec<NotificationRow>> {
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut rows = self
            .conn
            .query(
                &format!(
                    "UPDATE safeguarding_notifications
                     SET attempts = attempts + 1, next_attempt_at = $2
                     WHERE id IN (
                         SELECT id FROM safeguarding_notifications
                         WHERE status = 'pending' AND next_attempt_at <= $1
                         ORDER BY next_attempt_at, id LIMIT $3 {lock})
                     RETURNING {NOTIFICATION_COLUMNS}"
                ),
                &[
                    Param::Int(now_ms),
                    Param::Int(lease_until_ms),
                    Param::Int(limit),
                ],
            )?
            .iter()
            .map(notification_from)
            .collect::<Result<Vec<_>>>()?;
        rows.sort_by_key(|row| row.id);
        Ok(rows)
    }

    /// Marks a notification delivered. Returns whether it was still pending.
    pub fn mark_delivered(&mut self, id: i64, at: &str) -> Result<bool> {
        let changed = self.conn.execute(
            "UPDATE safeguarding_notifications
             SET status = 'delivered', delivered_at = $2, last_error = NULL
             WHERE id = $1 AND status = 'pending'",
            &[Param::Int(id), at.into()],
        )?;
        Ok(changed > 0)
    }

    /// Records a failed attempt and when to try again.
    pub fn reschedule(&mut self, id: i64, next_attempt_at_ms: i64, error: &str) -> Result<bool> {
        let changed = self.conn.execute(
            "UPDATE safeguarding_notifications SET next_attempt_at = $2, last_error = $3
             WHERE id = $1 AND status = 'pending'",
            &[Param::Int(id), Param::Int(next_attempt_at_ms), error.into()],
        )?;
        Ok(changed > 0)
    }

    /// The earliest time a pending notification is due, if any (so a worker can sleep).
    pub fn next_due(&mut self) -> Result<Option<i64>> {
        let row = self.conn.query_one(
            "SELECT MIN(next_attempt_at) FROM safeguarding_notifications
             WHERE status = 'pending'",
            &[],
        )?;
        match row.0.first() {
            Some(crate::sql::Value::Null) | None => Ok(None),
            Some(_) => Ok(Some(row.int(0)?)),
        }
    }

    /// Records one view of a flag.
    pub fn add_access(&mut self, access: &FlagAccess) -> Result<()> {
        self.conn.execute(
            "INSERT INTO safeguarding_flag_access (flag_id, viewer, org_code, role, setting, at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                Param::Int(access.flag_id),
                access.viewer.as_str().into(),
                access.org_code.as_str().into(),
                access.role.as_str().into(),
                access.setting.as_str().into(),
                access.at.as_str().into(),
            ],
        )?;
        Ok(())
    }

    /// The latest `limit` views of a flag, newest first.
    pub fn recent_accesses(&mut self, flag_id: i64, limit: i64) -> Result<Vec<FlagAccess>> {
        self.conn
            .query(
                "SELECT flag_id, viewer, org_code, role, setting, at
                 FROM safeguarding_flag_access WHERE flag_id = $1 ORDER BY id DESC LIMIT $2",
                &[Param::Int(flag_id), Param::Int(limit)],
            )?
            .iter()
            .map(|row| {
                Ok(FlagAccess {
                    flag_id: row.int(0)?,
                    viewer: row.text(1)?,
                    org_code: row.text(2)?,
                    role: row.text(3)?,
                    setting: row.text(4)?,
                    at: row.text(5)?,
                })
            })
            .collect()
    }
}

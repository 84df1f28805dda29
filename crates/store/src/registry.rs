//! The live person registry's tables: models, the persisted blocking index, persons and their
//! history, the outbox, steward rules, the review queue, sealed adoption links and stats.
//!
//! The `registry` crate owns the rules (what links, what is certain); this module only reads and
//! writes rows. Every operation runs on a [`RegistryConn`], either inside one transaction
//! ([`Store::registry_tx`]) or on its own ([`Store::registry`]).

use crate::sql::{Conn, Param, Row};
use crate::{Backend, Result, Store, StoreError};

/// Registry operations on one connection, in or out of a transaction.
pub struct RegistryConn<'a> {
    conn: &'a mut dyn Conn,
    backend: Backend,
}

impl std::fmt::Debug for RegistryConn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryConn")
            .field("backend", &self.backend)
            .finish()
    }
}

/// An agency record as the matcher needs it: demographics as text plus its current person.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryRecord {
    pub id: i64,
    pub org_code: String,
    pub local_id: String,
    pub given_name: Option<String>,
    pub middle_names: Option<String>,
    pub family_name: Option<String>,
    /// The stored partial date (`2012-03-14`, `2012-03`, `~2009`).
    pub birth_date: Option<String>,
    pub sex: String,
    pub address: Option<String>,
    pub town: Option<String>,
    pub postcode: Option<String>,
    pub nhs_number: Option<String>,
    pub nhs_number_status: Option<String>,
    pub upn: Option<String>,
    pub cci: Option<String>,
}

/// A person row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow {
    pub cci: String,
    pub status: String,
    pub merged_into: Option<String>,
    pub created_at: String,
    pub birth_range: Option<(String, String)>,
}

/// One event in a person's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonEvent {
    pub id: i64,
    pub cci: String,
    pub kind: String,
    pub actor: String,
    pub at: String,
    pub reason: Option<String>,
    /// JSON: the evidence and the records involved.
    pub detail: String,
}

/// A message for a subscribing organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: i64,
    pub event_id: i64,
    pub org_code: String,
    pub created_at: String,
    pub payload: String,
    pub delivered_at: Option<String>,
}

/// A steward's standing decision about two records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    MustLink,
    CannotLink,
}

impl RuleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::MustLink => "must-link",
            RuleKind::CannotLink => "cannot-link",
        }
    }
}

/// A stored steward rule; `record_a < record_b`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StewardRule {
    pub record_a: i64,
    pub record_b: i64,
    pub kind: RuleKind,
    pub actor: String,
    pub at: String,
    pub reason: String,
}

/// A review-queue item: a record and a candidate it may be the same child as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewItem {
    pub id: i64,
    pub record_id: i64,
    pub candidate_record_id: i64,
    pub grade: String,
    /// Match weight in thousandths of a bit.
    pub weight_milli: i64,
    pub model_version: i64,
    pub status: String,
    pub created_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub reason: Option<String>,
}

/// A saved linkage model version.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedModel {
    pub version: i64,
    pub created_at: String,
    pub model_json: String,
    pub prior_weight: f64,
    pub population: i64,
    pub note: Option<String>,
}

/// An identifier of a person, with the record that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonIdentifier {
    pub system: String,
    pub value: String,
    pub status: Option<String>,
    pub org_code: String,
    pub local_id: String,
}

/// Per-source counts for linkage-quality monitoring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCounts {
    pub org_code: String,
    pub records: i64,
    pub verified_nhs: i64,
    pub linked: i64,
    /// Records whose person also has a record from another source.
    pub matched_elsewhere: i64,
}

/// One organisation's record of a person, as the person views show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    pub record_id: i64,
    pub org_code: String,
    pub org_name: String,
    /// `health`, `social-care`, `education`, `police`, `housing` or `other`.
    pub agency_type: String,
    pub local_id: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub birth_date: Option<String>,
    pub sex: String,
    pub address: Option<String>,
    pub postcode: Option<String>,
    /// The latest entry's date: when this agency last had contact.
    pub last_contact: Option<String>,
    pub entries: i64,
}

/// One dated entry of a person's multi-agency chronology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChronologyEntry {
    pub org_code: String,
    pub entry_id: String,
    pub entry_type: String,
    pub occurred_on: String,
    pub ended_on: Option<String>,
    pub category: String,
    pub sensitivity: String,
    pub summary: Option<String>,
}

/// A family relationship an agency recorded about one of a person's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRelationship {
    /// The organisation that recorded it.
    pub org_code: String,
    /// `parent`, `parental-responsibility`, `carer`, `sibling` or `household-member`.
    pub kind: String,
    /// `of`: the related person is this person's `kind`; `to`: this person is theirs.
    pub direction: &'static str,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    /// The related person, when their record is linked.
    pub related_cci: Option<String>,
}

/// Review-queue size and age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCounts {
    pub open: i64,
    pub oldest_open: Option<String>,
}

const RECORD_COLUMNS: &str = "r.id, r.org_code, r.local_id, r.given_name, r.middle_names, \
    r.family_name, r.birth_date, r.sex, r.address, r.town, r.postcode, \
    (SELECT i.value FROM record_identifiers i WHERE i.record_id = r.id AND i.system = 'nhs' \
        ORDER BY i.value LIMIT 1), \
    (SELECT i.status FROM record_identifiers i WHERE i.record_id = r.id AND i.system = 'nhs' \
        ORDER BY i.value LIMIT 1), \
    (SELECT i.value FROM record_identifiers i WHERE i.record_id = r.id AND i.system = 'upn' \
        ORDER BY i.value LIMIT 1), \
    l.cci";

fn record_from(row: &Row) -> Result<RegistryRecord> {
    Ok(RegistryRecord {
        id: row.int(0)?,
        org_code: row.text(1)?,
        local_id: row.text(2)?,
        given_name: row.opt_text(3)?,
        middle_names: row.opt_text(4)?,
        family_name: row.opt_text(5)?,
        birth_date: row.opt_text(6)?,
        sex: row.text(7)?,
        address: row.opt_text(8)?,
        town: row.opt_text(9)?,
        postcode: row.opt_text(10)?,
        nhs_number: row.opt_text(11)?,
        nhs_number_status: row.opt_text(12)?,
        upn: row.opt_text(13)?,
        cci: row.opt_text(14)?,
    })
}

/// `$start, $start+1, …` for `n` placeholders.
fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Lists are padded to a power of two (at least 8) so the statement cache sees few shapes.
fn padded_len(n: usize) -> usize {
    n.max(8).next_power_of_two()
}

fn person_from(row: &Row) -> Result<PersonRow> {
    let range = match (row.opt_text(4)?, row.opt_text(5)?) {
        (Some(from), Some(to)) => Some((from, to)),
        _ => None,
    };
    Ok(PersonRow {
        cci: row.text(0)?,
        status: row.text(1)?,
        merged_into: row.opt_text(2)?,
        created_at: row.text(3)?,
        birth_range: range,
    })
}

fn review_from(row: &Row) -> Result<ReviewItem> {
    Ok(ReviewItem {
        id: row.int(0)?,
        record_id: row.int(1)?,
        candidate_record_id: row.int(2)?,
        grade: row.text(3)?,
        weight_milli: row.int(4)?,
        model_version: row.int(5)?,
        status: row.text(6)?,
        created_at: row.text(7)?,
        decided_by: row.opt_text(8)?,
        decided_at: row.opt_text(9)?,
        reason: row.opt_text(10)?,
    })
}

const REVIEW_COLUMNS: &str = "id, record_id, candidate_record_id, grade, weight_milli, \
    model_version, status, created_at, decided_by, decided_at, reason";

impl Store {
    /// Runs `work` in one transaction: committed if it returns `Ok`, rolled back otherwise.
    /// On SQLite the transaction takes the write lock up front; on PostgreSQL callers serialise
    /// on blocking keys with [`RegistryConn::lock_keys`].
    pub fn registry_tx<T, E: From<StoreError>>(
        &mut self,
        work: impl FnOnce(&mut RegistryConn<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.transaction(|conn, backend| work(&mut RegistryConn { conn, backend }))
    }

    /// Registry operations outside a transaction (reads, or single statements).
    pub fn registry(&mut self) -> RegistryConn<'_> {
        RegistryConn {
            backend: self.backend,
            conn: self.conn.as_mut(),
        }
    }
}

impl RegistryConn<'_> {
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Safeguarding operations inside this same transaction, so a merge re-points the child's
    /// flags atomically with the records.
    pub fn safeguarding(&mut self) -> crate::safeguarding::SafeguardingConn<'_> {
        crate::safeguarding::SafeguardingConn {
            conn: &mut *self.conn,
            backend: self.backend,
        }
    }

    /// Serialises transactions that touch the same blocking keys, so two writers racing on one
    /// child queue instead of both creating a person. SQLite's `BEGIN IMMEDIATE` already
    /// serialises every writer.
    pub fn lock_keys(&mut self, keys: &[i64]) -> Result<()> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        let mut sorted = keys.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        for key in sorted {
            self.conn
                .query("SELECT pg_advisory_xact_lock($1)", &[Param::Int(key)])?;
        }
        Ok(())
    }

    /// Up to `limit` record ids filed under a blocking key.
    pub fn block_members(&mut self, key: i64, limit: i64) -> Result<Vec<i64>> {
        self.conn
            .query(
                "SELECT record_id FROM registry_block_keys WHERE key = $1 LIMIT $2",
                &[Param::Int(key), Param::Int(limit)],
            )?
            .iter()
            .map(|row| row.int(0))
            .collect()
    }

    /// Files a record under its blocking keys.
    pub fn add_block_keys(&mut self, record_id: i64, keys: &[i64]) -> Result<()> {
        for &key in keys {
            self.conn.execute(
                "INSERT INTO registry_block_keys (key, record_id) VALUES ($1, $2)
                 ON CONFLICT (key, record_id) DO NOTHING",
                &[Param::Int(key), Param::Int(record_id)],
            )?;
        }
        Ok(())
    }

    /// The persons (current CCIs) of the given records.
    pub fn persons_of_records(&mut self, record_ids: &[i64]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for chunk in record_ids.chunks(256) {
            let n = padded_len(chunk.len());
            let sql = format!(
                "SELECT DISTINCT cci FROM person_links WHERE record_id IN ({}) ORDER BY cci",
                placeholders(1, n)
            );
            let params: Vec<Param<'_>> = (0..n)
                .map(|i| Param::Int(chunk.get(i).copied().unwrap_or(-1)))
                .collect();
            for row in self.conn.query(&sql, &params)? {
                out.push(row.text(0)?);
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Every record linked to the given persons, with demographics.
    pub fn records_of_persons(&mut self, ccis: &[String]) -> Result<Vec<RegistryRecord>> {
        let mut out = Vec::new();
        for chunk in ccis.chunks(64) {
            let n = padded_len(chunk.len());
            let sql = format!(
                "SELECT {RECORD_COLUMNS} FROM person_links l
                 JOIN persons p ON p.cci = l.cci AND p.status = 'active'
                 JOIN source_records r ON r.id = l.record_id
                 WHERE l.cci IN ({}) ORDER BY r.id",
                placeholders(1, n)
            );
            let params: Vec<Param<'_>> = (0..n)
                .map(|i| Param::Text(Some(chunk.get(i).map(String::as_str).unwrap_or(""))))
                .collect();
            for row in self.conn.query(&sql, &params)? {
                out.push(record_from(&row)?);
            }
        }
        Ok(out)
    }

    /// Records by store id, with demographics and current person.
    pub fn records_by_id(&mut self, ids: &[i64]) -> Result<Vec<RegistryRecord>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(256) {
            let n = padded_len(chunk.len());
            let sql = format!(
                "SELECT {RECORD_COLUMNS} FROM source_records r
                 LEFT JOIN person_links l ON l.record_id = r.id
                 WHERE r.id IN ({}) ORDER BY r.id",
                placeholders(1, n)
            );
            let params: Vec<Param<'_>> = (0..n)
                .map(|i| Param::Int(chunk.get(i).copied().unwrap_or(-1)))
                .collect();
            for row in self.conn.query(&sql, &params)? {
                out.push(record_from(&row)?);
            }
        }
        Ok(out)
    }

    /// A record's store id from its organisation and local id.
    pub fn record_id(&mut self, org_code: &str, local_id: &str) -> Result<Option<i64>> {
        self.conn
            .query_opt(
                "SELECT id FROM source_records WHERE org_code = $1 AND local_id = $2",
                &[org_code.into(), local_id.into()],
            )?
            .map(|row| row.int(0))
            .transpose()
    }

    /// Records not yet linked to any person, in arrival order, after store id `after`.
    pub fn pending_records(&mut self, after: i64, limit: i64) -> Result<Vec<RegistryRecord>> {
        self.conn
            .query(
                &format!(
                    "SELECT {RECORD_COLUMNS} FROM source_records r
                     LEFT JOIN person_links l ON l.record_id = r.id
                     WHERE l.record_id IS NULL AND r.id > $1 ORDER BY r.id LIMIT $2"
                ),
                &[Param::Int(after), Param::Int(limit)],
            )?
            .iter()
            .map(record_from)
            .collect()
    }

    /// Every record, in arrival order, after store id `after` (for training).
    pub fn records_page(&mut self, after: i64, limit: i64) -> Result<Vec<RegistryRecord>> {
        self.conn
            .query(
                &format!(
                    "SELECT {RECORD_COLUMNS} FROM source_records r
                     LEFT JOIN person_links l ON l.record_id = r.id
                     WHERE r.id > $1 ORDER BY r.id LIMIT $2"
                ),
                &[Param::Int(after), Param::Int(limit)],
            )?
            .iter()
            .map(record_from)
            .collect()
    }

    /// Every link as `(org, local id, CCI)`, in record order.
    pub fn all_links(&mut self) -> Result<Vec<(String, String, String)>> {
        self.conn
            .query(
                "SELECT r.org_code, r.local_id, l.cci FROM person_links l
                 JOIN source_records r ON r.id = l.record_id ORDER BY r.id",
                &[],
            )?
            .iter()
            .map(|row| Ok((row.text(0)?, row.text(1)?, row.text(2)?)))
            .collect()
    }

    /// Every organisation's record of a person, with its last contact.
    pub fn holdings(&mut self, cci: &str) -> Result<Vec<Holding>> {
        self.conn
            .query(
                "SELECT r.id, r.org_code, o.name, o.agency_type, r.local_id, r.given_name,
                        r.family_name, r.birth_date, r.sex, r.address, r.postcode,
                        (SELECT MAX(e.occurred_on) FROM entries e WHERE e.record_id = r.id),
                        (SELECT COUNT(*) FROM entries e WHERE e.record_id = r.id)
                 FROM person_links l
                 JOIN source_records r ON r.id = l.record_id
                 JOIN organisations o ON o.code = r.org_code
                 WHERE l.cci = $1 ORDER BY r.org_code, r.local_id",
                &[cci.into()],
            )?
            .iter()
            .map(|row| {
                Ok(Holding {
                    record_id: row.int(0)?,
                    org_code: row.text(1)?,
                    org_name: row.text(2)?,
                    agency_type: row.text(3)?,
                    local_id: row.text(4)?,
                    given_name: row.opt_text(5)?,
                    family_name: row.opt_text(6)?,
                    birth_date: row.opt_text(7)?,
                    sex: row.text(8)?,
                    address: row.opt_text(9)?,
                    postcode: row.opt_text(10)?,
                    last_contact: row.opt_text(11)?,
                    entries: row.int(12)?,
                })
            })
            .collect()
    }

    /// The entries of a person's records held by `org_code`, oldest first.
    pub fn chronology(&mut self, cci: &str, org_code: &str) -> Result<Vec<ChronologyEntry>> {
        self.conn
            .query(
                "SELECT e.org_code, e.local_id, e.entry_type, e.occurred_on, e.ended_on,
                        e.category, e.sensitivity, e.summary
                 FROM person_links l JOIN entries e ON e.record_id = l.record_id
                 WHERE l.cci = $1 AND e.org_code = $2
                 ORDER BY e.occurred_on, e.local_id",
                &[cci.into(), org_code.into()],
            )?
            .iter()
            .map(|row| {
                Ok(ChronologyEntry {
                    org_code: row.text(0)?,
                    entry_id: row.text(1)?,
                    entry_type: row.text(2)?,
                    occurred_on: row.text(3)?,
                    ended_on: row.opt_text(4)?,
                    category: row.text(5)?,
                    sensitivity: row.text(6)?,
                    summary: row.opt_text(7)?,
                })
            })
            .collect()
    }

    /// Refreshes the planner's statistics after a bulk load, so the first real-time matches
    /// use the indexes (PostgreSQL otherwise plans on the empty tables it saw before).
    pub fn analyze(&mut self) -> Result<()> {
        match self.backend {
            Backend::Postgres => self.conn.batch(
                "ANALYZE source_records; ANALYZE record_identifiers; ANALYZE persons;
                 ANALYZE person_links; ANALYZE registry_block_keys; ANALYZE registry_name_counts;
                 ANALYZE registry_rules; ANALYZE registry_reviews",
            ),
            Backend::Sqlite => self.conn.batch("PRAGMA optimize"),
        }
    }

    /// The family relationships recorded about a person's records, both ways round.
    pub fn person_relationships(&mut self, cci: &str) -> Result<Vec<PersonRelationship>> {
        let mut out = Vec::new();
        for (direction, mine, theirs) in [
            ("of", "record_id", "related_record_id"),
            ("to", "related_record_id", "record_id"),
        ] {
            let rows = self.conn.query(
                &format!(
                    "SELECT x.org_code, x.kind, x.start_date, x.end_date, o.cci
                     FROM person_links l
                     JOIN relationships x ON x.{mine} = l.record_id
                     LEFT JOIN person_links o ON o.record_id = x.{theirs}
                     WHERE l.cci = $1 ORDER BY x.org_code, x.kind, x.id"
                ),
                &[cci.into()],
            )?;
            for row in rows {
                out.push(PersonRelationship {
                    org_code: row.text(0)?,
                    kind: row.text(1)?,
                    direction,
                    start_date: row.opt_text(2)?,
                    end_date: row.opt_text(3)?,
                    related_cci: row.opt_text(4)?,
                });
            }
        }
        Ok(out)
    }

    /// How many records are not yet linked.
    pub fn pending_count(&mut self) -> Result<i64> {
        self.conn
            .query_one(
                "SELECT COUNT(*) FROM source_records r
                 WHERE NOT EXISTS (SELECT 1 FROM person_links l WHERE l.record_id = r.id)",
                &[],
            )?
            .int(0)
    }

    /// How many records are linked to persons.
    pub fn linked_count(&mut self) -> Result<i64> {
        self.conn
            .query_one("SELECT COUNT(*) FROM person_links", &[])?
            .int(0)
    }

    /// Takes the next CCI serial number.
    pub fn next_serial(&mut self) -> Result<i64> {
        self.conn
            .query_one(
                "UPDATE registry_counters SET next = next + 1 WHERE name = 'cci' RETURNING next - 1",
                &[],
            )?
            .int(0)
    }

    /// Takes `n` consecutive serial numbers; returns the first.
    pub fn next_serials(&mut self, n: i64) -> Result<i64> {
        self.conn
            .query_one(
                "UPDATE registry_counters SET next = next + $1 WHERE name = 'cci' RETURNING next - $1",
                &[Param::Int(n)],
            )?
            .int(0)
    }

    pub fn insert_person(&mut self, cci: &str, created_at: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO persons (cci, created_at) VALUES ($1, $2)",
            &[cci.into(), created_at.into()],
        )?;
        Ok(())
    }

    pub fn person(&mut self, cci: &str) -> Result<Option<PersonRow>> {
        self.conn
            .query_opt(
                "SELECT cci, status, merged_into, created_at, birth_range_from, birth_range_to
                 FROM persons WHERE cci = $1",
                &[cci.into()],
            )?
            .map(|row| person_from(&row))
            .transpose()
    }

    /// Retires a person; `merged_into` is the forward pointer (none for a sealed identity).
    pub fn retire_person(&mut self, cci: &str, merged_into: Option<&str>) -> Result<()> {
        self.conn.execute(
            "UPDATE persons SET status = 'retired', merged_into = $2 WHERE cci = $1",
            &[cci.into(), merged_into.into()],
        )?;
        Ok(())
    }

    /// Records a disputed age as a range of possible birth dates.
    pub fn set_birth_range(&mut self, cci: &str, from: &str, to: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE persons SET birth_range_from = $2, birth_range_to = $3 WHERE cci = $1",
            &[cci.into(), from.into(), to.into()],
        )?;
        Ok(())
    }

    /// Links (or re-links) a record to a person.
    pub fn link(
        &mut self,
        record_id: i64,
        cci: &str,
        manual: bool,
        at: &str,
        reason: Option<&str>,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO person_links (record_id, cci, link_kind, linked_at, reason)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (record_id) DO UPDATE SET cci = excluded.cci,
                 link_kind = excluded.link_kind, linked_at = excluded.linked_at,
                 reason = excluded.reason",
            &[
                Param::Int(record_id),
                cci.into(),
                if manual { "manual" } else { "auto" }.into(),
                at.into(),
                reason.into(),
            ],
        )?;
        Ok(())
    }

    /// Moves every record of `from` to `to`.
    pub fn move_links(&mut self, from: &str, to: &str, at: &str) -> Result<u64> {
        self.conn.execute(
            "UPDATE person_links SET cci = $2, linked_at = $3 WHERE cci = $1",
            &[from.into(), to.into(), at.into()],
        )
    }

    /// The store ids of a person's records.
    pub fn person_record_ids(&mut self, cci: &str) -> Result<Vec<i64>> {
        self.conn
            .query(
                "SELECT record_id FROM person_links WHERE cci = $1 ORDER BY record_id",
                &[cci.into()],
            )?
            .iter()
            .map(|row| row.int(0))
            .collect()
    }

    /// Appends an event to a person's history; returns its id.
    pub fn add_event(
        &mut self,
        cci: &str,
        kind: &str,
        actor: &str,
        at: &str,
        reason: Option<&str>,
        detail: &str,
    ) -> Result<i64> {
        self.conn
            .query_one(
                "INSERT INTO person_events (cci, kind, actor, at, reason, detail)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    cci.into(),
                    kind.into(),
                    actor.into(),
                    at.into(),
                    reason.into(),
                    detail.into(),
                ],
            )?
            .int(0)
    }

    /// A person's history, oldest first.
    pub fn events(&mut self, cci: &str) -> Result<Vec<PersonEvent>> {
        self.conn
            .query(
                "SELECT id, cci, kind, actor, at, reason, detail FROM person_events
                 WHERE cci = $1 ORDER BY id",
                &[cci.into()],
            )?
            .iter()
            .map(|row| {
                Ok(PersonEvent {
                    id: row.int(0)?,
                    cci: row.text(1)?,
                    kind: row.text(2)?,
                    actor: row.text(3)?,
                    at: row.text(4)?,
                    reason: row.opt_text(5)?,
                    detail: row.text(6)?,
                })
            })
            .collect()
    }

    /// Queues a message about an event for an organisation.
    pub fn add_outbox(
        &mut self,
        event_id: i64,
        org_code: &str,
        at: &str,
        payload: &str,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO registry_outbox (event_id, org_code, created_at, payload)
             VALUES ($1, $2, $3, $4)",
            &[
                Param::Int(event_id),
                org_code.into(),
                at.into(),
                payload.into(),
            ],
        )?;
        Ok(())
    }

    /// An organisation's messages after id `after`, oldest first.
    pub fn outbox(&mut self, org_code: &str, after: i64, limit: i64) -> Result<Vec<OutboxMessage>> {
        self.conn
            .query(
                "SELECT id, event_id, org_code, created_at, payload, delivered_at
                 FROM registry_outbox WHERE org_code = $1 AND id > $2 ORDER BY id LIMIT $3",
                &[org_code.into(), Param::Int(after), Param::Int(limit)],
            )?
            .iter()
            .map(|row| {
                Ok(OutboxMessage {
                    id: row.int(0)?,
                    event_id: row.int(1)?,
                    org_code: row.text(2)?,
                    created_at: row.text(3)?,
                    payload: row.text(4)?,
                    delivered_at: row.opt_text(5)?,
                })
            })
            .collect()
    }

    /// Marks messages delivered up to and including `up_to`.
    pub fn mark_delivered(&mut self, org_code: &str, up_to: i64, at: &str) -> Result<u64> {
        self.conn.execute(
            "UPDATE registry_outbox SET delivered_at = $3
             WHERE org_code = $1 AND id <= $2 AND delivered_at IS NULL",
            &[org_code.into(), Param::Int(up_to), at.into()],
        )
    }

    /// Stores (or replaces) a steward rule between two records.
    pub fn put_rule(&mut self, rule: &StewardRule) -> Result<()> {
        let (a, b) = if rule.record_a < rule.record_b {
            (rule.record_a, rule.record_b)
        } else {
            (rule.record_b, rule.record_a)
        };
        self.conn.execute(
            "INSERT INTO registry_rules (record_a, record_b, kind, actor, at, reason)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (record_a, record_b) DO UPDATE SET kind = excluded.kind,
                 actor = excluded.actor, at = excluded.at, reason = excluded.reason",
            &[
                Param::Int(a),
                Param::Int(b),
                rule.kind.as_str().into(),
                rule.actor.as_str().into(),
                rule.at.as_str().into(),
                rule.reason.as_str().into(),
            ],
        )?;
        Ok(())
    }

    /// Steward rules that involve any of `record_ids`.
    pub fn rules_touching(&mut self, record_ids: &[i64]) -> Result<Vec<StewardRule>> {
        let mut out = Vec::new();
        for chunk in record_ids.chunks(128) {
            let n = padded_len(chunk.len());
            let list = placeholders(1, n);
            let sql = format!(
                "SELECT record_a, record_b, kind, actor, at, reason FROM registry_rules
                 WHERE record_a IN ({list}) OR record_b IN ({list})"
            );
            let params: Vec<Param<'_>> = (0..n)
                .map(|i| Param::Int(chunk.get(i).copied().unwrap_or(-1)))
                .collect();
            for row in self.conn.query(&sql, &params)? {
                let kind = match row.text(2)?.as_str() {
                    "must-link" => RuleKind::MustLink,
                    "cannot-link" => RuleKind::CannotLink,
                    other => {
                        return Err(StoreError::Corrupt {
                            column: "registry_rules.kind".into(),
                            problem: format!("unknown kind `{other}`"),
                        });
                    }
                };
                out.push(StewardRule {
                    record_a: row.int(0)?,
                    record_b: row.int(1)?,
                    kind,
                    actor: row.text(3)?,
                    at: row.text(4)?,
                    reason: row.text(5)?,
                });
            }
        }
        out.sort_by_key(|r| (r.record_a, r.record_b));
        out.dedup();
        Ok(out)
    }

    /// Queues a pair for review unless it is already queued; returns whether it was added.
    pub fn add_review(
        &mut self,
        record_id: i64,
        candidate_record_id: i64,
        grade: &str,
        weight_milli: i64,
        model_version: i64,
        at: &str,
    ) -> Result<bool> {
        let added = self.conn.execute(
            "INSERT INTO registry_reviews
                 (record_id, candidate_record_id, grade, weight_milli, model_version, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (record_id, candidate_record_id) DO NOTHING",
            &[
                Param::Int(record_id),
                Param::Int(candidate_record_id),
                grade.into(),
                Param::Int(weight_milli),
                Param::Int(model_version),
                at.into(),
            ],
        )?;
        Ok(added > 0)
    }

    /// Review items with a status (`open`, `accepted`, …), oldest first.
    pub fn reviews(&mut self, status: &str, limit: i64) -> Result<Vec<ReviewItem>> {
        self.conn
            .query(
                &format!(
                    "SELECT {REVIEW_COLUMNS} FROM registry_reviews WHERE status = $1
                     ORDER BY id LIMIT $2"
                ),
                &[status.into(), Param::Int(limit)],
            )?
            .iter()
            .map(review_from)
            .collect()
    }

    pub fn review(&mut self, id: i64) -> Result<Option<ReviewItem>> {
        self.conn
            .query_opt(
                &format!("SELECT {REVIEW_COLUMNS} FROM registry_reviews WHERE id = $1"),
                &[Param::Int(id)],
            )?
            .map(|row| review_from(&row))
            .transpose()
    }

    /// Records a reviewer's decision on an open item; returns false if it was not open.
    pub fn decide_review(
        &mut self,
        id: i64,
        status: &str,
        by: &str,
        at: &str,
        reason: &str,
    ) -> Result<bool> {
        let changed = self.conn.execute(
            "UPDATE registry_reviews SET status = $2, decided_by = $3, decided_at = $4, reason = $5
             WHERE id = $1 AND status = 'open'",
            &[
                Param::Int(id),
                status.into(),
                by.into(),
                at.into(),
                reason.into(),
            ],
        )?;
        Ok(changed > 0)
    }

    /// Review-queue size and the creation time of the oldest open item.
    pub fn queue_counts(&mut self) -> Result<QueueCounts> {
        let row = self.conn.query_one(
            "SELECT COUNT(*), MIN(created_at) FROM registry_reviews WHERE status = 'open'",
            &[],
        )?;
        Ok(QueueCounts {
            open: row.int(0)?,
            oldest_open: row.opt_text(1)?,
        })
    }

    /// Saves a model version with its name counts; returns the version.
    pub fn save_model(
        &mut self,
        created_at: &str,
        model_json: &str,
        prior_weight: f64,
        population: i64,
        note: Option<&str>,
        name_counts: &[(&str, &str, i64)],
    ) -> Result<i64> {
        let version = self
            .conn
            .query_one(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM registry_models",
                &[],
            )?
            .int(0)?;
        let prior = format!("{prior_weight:?}");
        self.conn.execute(
            "INSERT INTO registry_models (version, created_at, model_json, prior_weight, population, note)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                Param::Int(version),
                created_at.into(),
                model_json.into(),
                prior.as_str().into(),
                Param::Int(population),
                note.into(),
            ],
        )?;
        for (field, name, records) in name_counts {
            self.conn.execute(
                "INSERT INTO registry_name_counts (model_version, field, name, records)
                 VALUES ($1, $2, $3, $4)",
                &[
                    Param::Int(version),
                    (*field).into(),
                    (*name).into(),
                    Param::Int(*records),
                ],
            )?;
        }
        Ok(version)
    }

    /// The newest model version, if any.
    pub fn current_model(&mut self) -> Result<Option<SavedModel>> {
        let Some(row) = self.conn.query_opt(
            "SELECT version, created_at, model_json, prior_weight, population, note
             FROM registry_models ORDER BY version DESC LIMIT 1",
            &[],
        )?
        else {
            return Ok(None);
        };
        let prior_text = row.text(3)?;
        let prior_weight = prior_text.parse().map_err(|_| StoreError::Corrupt {
            column: "registry_models.prior_weight".into(),
            problem: format!("`{prior_text}` is not a number"),
        })?;
        Ok(Some(SavedModel {
            version: row.int(0)?,
            created_at: row.text(1)?,
            model_json: row.text(2)?,
            prior_weight,
            population: row.int(4)?,
            note: row.opt_text(5)?,
        }))
    }

    /// How many records carried this normalised name when the model version was saved.
    pub fn name_count(&mut self, version: i64, field: &str, name: &str) -> Result<i64> {
        Ok(self
            .conn
            .query_opt(
                "SELECT records FROM registry_name_counts
                 WHERE model_version = $1 AND field = $2 AND name = $3",
                &[Param::Int(version), field.into(), name.into()],
            )?
            .map(|row| row.int(0))
            .transpose()?
            .unwrap_or(0))
    }

    /// Records carrying an identifier (`system` is `nhs`, `upn`, `pnc`), with their persons.
    pub fn records_with_identifier(
        &mut self,
        system: &str,
        value: &str,
    ) -> Result<Vec<(i64, Option<String>)>> {
        self.conn
            .query(
                "SELECT i.record_id, l.cci FROM record_identifiers i
                 LEFT JOIN person_links l ON l.record_id = i.record_id
                 WHERE i.system = $1 AND i.value = $2 ORDER BY i.record_id",
                &[system.into(), value.into()],
            )?
            .iter()
            .map(|row| Ok((row.int(0)?, row.opt_text(1)?)))
            .collect()
    }

    /// Every identifier of a person's records, and each record's local id.
    pub fn person_identifiers(&mut self, cci: &str) -> Result<Vec<PersonIdentifier>> {
        let mut out: Vec<PersonIdentifier> = self
            .conn
            .query(
                "SELECT i.system, i.value, i.status, r.org_code, r.local_id
                 FROM person_links l JOIN source_records r ON r.id = l.record_id
                 JOIN record_identifiers i ON i.record_id = r.id
                 WHERE l.cci = $1 ORDER BY i.system, i.value, r.org_code",
                &[cci.into()],
            )?
            .iter()
            .map(|row| {
                Ok(PersonIdentifier {
                    system: row.text(0)?,
                    value: row.text(1)?,
                    status: row.opt_text(2)?,
                    org_code: row.text(3)?,
                    local_id: row.text(4)?,
                })
            })
            .collect::<Result<_>>()?;
        for row in self.conn.query(
            "SELECT r.org_code, r.local_id FROM person_links l
             JOIN source_records r ON r.id = l.record_id WHERE l.cci = $1
             ORDER BY r.org_code, r.local_id",
            &[cci.into()],
        )? {
            let org_code = row.text(0)?;
            out.push(PersonIdentifier {
                system: format!("local:{org_code}"),
                value: row.text(1)?,
                status: None,
                org_code,
                local_id: row.text(1)?,
            });
        }
        Ok(out)
    }

    /// Per-source counts for linkage-quality monitoring.
    pub fn source_counts(&mut self) -> Result<Vec<SourceCounts>> {
        self.conn
            .query(
                "SELECT r.org_code, COUNT(*),
                    SUM(CASE WHEN EXISTS (SELECT 1 FROM record_identifiers i
                        WHERE i.record_id = r.id AND i.system = 'nhs' AND i.status = '01')
                        THEN 1 ELSE 0 END),
                    SUM(CASE WHEN l.cci IS NULL THEN 0 ELSE 1 END),
                    SUM(CASE WHEN EXISTS (SELECT 1 FROM person_links o
                        JOIN source_records s ON s.id = o.record_id
                        WHERE o.cci = l.cci AND s.org_code <> r.org_code) THEN 1 ELSE 0 END)
                 FROM source_records r LEFT JOIN person_links l ON l.record_id = r.id
                 GROUP BY r.org_code ORDER BY r.org_code",
                &[],
            )?
            .iter()
            .map(|row| {
                Ok(SourceCounts {
                    org_code: row.text(0)?,
                    records: row.int(1)?,
                    verified_nhs: row.int(2)?,
                    linked: row.int(3)?,
                    matched_elsewhere: row.int(4)?,
                })
            })
            .collect()
    }

    /// How many active persons have each number of records: `(records, persons)`.
    pub fn cluster_sizes(&mut self) -> Result<Vec<(i64, i64)>> {
        self.conn
            .query(
                "SELECT n, COUNT(*) FROM
                    (SELECT cci, COUNT(*) AS n FROM person_links GROUP BY cci) sizes
                 GROUP BY n ORDER BY n",
                &[],
            )?
            .iter()
            .map(|row| Ok((row.int(0)?, row.int(1)?)))
            .collect()
    }

    /// Persons by status: `(active, retired)`.
    pub fn person_counts(&mut self) -> Result<(i64, i64)> {
        let row = self.conn.query_one(
            "SELECT SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN status = 'retired' THEN 1 ELSE 0 END) FROM persons",
            &[],
        )?;
        let value = |i| -> Result<i64> {
            match row.0.get(i) {
                Some(crate::sql::Value::Null) | None => Ok(0),
                _ => row.int(i),
            }
        };
        Ok((value(0)?, value(1)?))
    }

    /// Keeps a stats snapshot (JSON) for drift comparison.
    pub fn save_stats(&mut self, taken_at: &str, stats: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO registry_stats (taken_at, stats) VALUES ($1, $2)",
            &[taken_at.into(), stats.into()],
        )?;
        Ok(())
    }

    /// The most recent stats snapshot.
    pub fn last_stats(&mut self) -> Result<Option<(String, String)>> {
        self.conn
            .query_opt(
                "SELECT taken_at, stats FROM registry_stats ORDER BY id DESC LIMIT 1",
                &[],
            )?
            .map(|row| Ok((row.text(0)?, row.text(1)?)))
            .transpose()
    }

    /// Seals the link from an adopted child's new identity to the old one.
    pub fn seal(
        &mut self,
        new_cci: &str,
        old_cci: &str,
        at: &str,
        actor: &str,
        reason: &str,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO registry_sealed (new_cci, old_cci, sealed_at, actor, reason)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                new_cci.into(),
                old_cci.into(),
                at.into(),
                actor.into(),
                reason.into(),
            ],
        )?;
        Ok(())
    }

    /// Opens a sealed link; every opening is itself recorded.
    pub fn open_sealed(
        &mut self,
        new_cci: &str,
        actor: &str,
        at: &str,
        reason: &str,
    ) -> Result<Option<String>> {
        self.conn.execute(
            "INSERT INTO registry_sealed_access (new_cci, actor, at, reason) VALUES ($1, $2, $3, $4)",
            &[new_cci.into(), actor.into(), at.into(), reason.into()],
        )?;
        self.conn
            .query_opt(
                "SELECT old_cci FROM registry_sealed WHERE new_cci = $1",
                &[new_cci.into()],
            )?
            .map(|row| row.text(0))
            .transpose()
    }

    /// Whether a CCI is the sealed old identity of an adopted child.
    pub fn is_sealed_old(&mut self, cci: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_opt(
                "SELECT 1 FROM registry_sealed WHERE old_cci = $1",
                &[cci.into()],
            )?
            .is_some())
    }

    /// The organisations holding records of any of these persons.
    pub fn orgs_of_persons(&mut self, ccis: &[&str]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for cci in ccis {
            for row in self.conn.query(
                "SELECT DISTINCT r.org_code FROM person_links l
                 JOIN source_records r ON r.id = l.record_id WHERE l.cci = $1",
                &[(*cci).into()],
            )? {
                out.push(row.text(0)?);
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

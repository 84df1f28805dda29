//! Every store operation, written once over [`Conn`] for both engines.

use std::collections::BTreeSet;

use model::{
    AgencyType, Entry, Identifier, IdentifierKind, Organisation, PartialDate, PersonRecord,
    Relationship, Sex,
};
use sha2::{Digest, Sha256};

use crate::sql::{Conn, Param, Row};
use crate::{Backend, Result, Store, StoreError};

const MIGRATIONS_SQLITE: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_registry.sql")),
    (
        3,
        include_str!("../migrations/sqlite/0003_safeguarding.sql"),
    ),
    (4, include_str!("../migrations/sqlite/0004_governance.sql")),
];
const MIGRATIONS_POSTGRES: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (2, include_str!("../migrations/postgres/0002_registry.sql")),
    (
        3,
        include_str!("../migrations/postgres/0003_safeguarding.sql"),
    ),
    (
        4,
        include_str!("../migrations/postgres/0004_governance.sql"),
    ),
];

pub(crate) fn migrate(conn: &mut dyn Conn, backend: Backend) -> Result<()> {
    let migrations = match backend {
        Backend::Sqlite => MIGRATIONS_SQLITE,
        Backend::Postgres => MIGRATIONS_POSTGRES,
    };
    conn.begin()?;
    let outcome = (|| {
        if backend == Backend::Postgres {
            // Two processes starting at once must not both create the tables.
            conn.query("SELECT pg_advisory_xact_lock(7165001)", &[])?;
        }
        conn.batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version BIGINT PRIMARY KEY,
                 applied_at TEXT NOT NULL
             )",
        )?;
        let current = conn
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )?
            .int(0)?;
        let known = migrations.last().map(|(v, _)| *v).unwrap_or(0);
        if current > known {
            return Err(StoreError::SchemaTooNew {
                found: current,
                known,
            });
        }
        for (version, sql) in migrations.iter().filter(|(v, _)| *v > current) {
            conn.batch(sql)?;
            conn.execute(
                "INSERT INTO schema_migrations (version, applied_at)
                 VALUES ($1, CAST(CURRENT_TIMESTAMP AS TEXT))",
                &[Param::Int(*version)],
            )?;
        }
        Ok(())
    })();
    finish(conn, outcome)
}

/// Commits on success, rolls back on failure, and returns the original outcome.
fn finish<T>(conn: &mut dyn Conn, outcome: Result<T>) -> Result<T> {
    match outcome {
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

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Inserted,
    Updated,
    Unchanged,
}

/// How serious an ingest issue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The row loaded, without the named value.
    Warning,
    /// The row was quarantined and nothing from it loaded.
    Rejected,
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Rejected => "rejected",
        }
    }
}

/// A problem found with one row of an extract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestIssue {
    pub line: u64,
    pub field: Option<String>,
    pub severity: Severity,
    pub code: String,
    pub message: String,
    /// The row as read (truncated), kept for rejected rows so they can be fixed and re-sent.
    pub raw: Option<String>,
}

/// A new ingest batch: one file, one run.
#[derive(Debug, Clone)]
pub struct NewBatch {
    pub file_name: String,
    pub file_sha256: String,
    pub org_code: Option<String>,
    pub kind: String,
    pub started_at: String,
}

/// An ingest batch as stored, with its running totals and resume point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchState {
    pub id: i64,
    pub file_name: String,
    pub file_sha256: String,
    pub org_code: Option<String>,
    pub kind: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// The last line of the file whose chunk was committed; a resumed run starts after it.
    pub last_line: u64,
    pub rows_inserted: u64,
    pub rows_updated: u64,
    pub rows_unchanged: u64,
    pub rows_quarantined: u64,
    pub warnings: u64,
}

/// One chunk of validated rows, applied in a single transaction.
#[derive(Debug, Clone, Default)]
pub struct Chunk {
    /// Person records with the line they came from and the date-of-birth text when it could not
    /// be read (kept as evidence).
    pub records: Vec<(u64, PersonRecord, Option<String>)>,
    pub entries: Vec<(u64, Entry)>,
    pub relationships: Vec<(u64, Relationship)>,
    /// Issues found while reading the chunk's rows.
    pub issues: Vec<IngestIssue>,
    /// The last line covered by this chunk.
    pub last_line: u64,
}

/// What applying a chunk changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkOutcome {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Rows the store itself had to quarantine (e.g. an entry about an unknown record).
    pub store_rejections: Vec<IngestIssue>,
}

/// Row counts per table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreCounts {
    pub organisations: u64,
    pub source_records: u64,
    pub identifiers: u64,
    pub entries: u64,
    pub relationships: u64,
    pub persons: u64,
    pub batches: u64,
    pub quarantined: u64,
    pub warnings: u64,
}

/// A stored source record with its store id.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    pub id: i64,
    pub record: PersonRecord,
    pub birth_date_raw: Option<String>,
    pub cci: Option<String>,
}

fn hash_of<T: serde::Serialize>(value: &T) -> String {
    // serde_json writes struct fields in declaration order, so the text is canonical.
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn line_param(line: u64) -> Param<'static> {
    Param::Int(i64::try_from(line).unwrap_or(i64::MAX))
}

const BATCH_COLUMNS: &str = "id, file_name, file_sha256, org_code, kind, started_at, finished_at, \
     last_line, rows_inserted, rows_updated, rows_unchanged, rows_quarantined, warnings";

fn batch_from(row: &Row) -> Result<BatchState> {
    Ok(BatchState {
        id: row.int(0)?,
        file_name: row.text(1)?,
        file_sha256: row.text(2)?,
        org_code: row.opt_text(3)?,
        kind: row.text(4)?,
        started_at: row.text(5)?,
        finished_at: row.opt_text(6)?,
        last_line: count(row.int(7)?),
        rows_inserted: count(row.int(8)?),
        rows_updated: count(row.int(9)?),
        rows_unchanged: count(row.int(10)?),
        rows_quarantined: count(row.int(11)?),
        warnings: count(row.int(12)?),
    })
}

fn parse_stored<T: std::str::FromStr>(column: &str, value: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e: T::Err| StoreError::Corrupt {
        column: column.to_string(),
        problem: e.to_string(),
    })
}

impl Store {
    /// Adds an organisation, or updates its name and type if it exists; says which happened.
    pub fn upsert_organisation(&mut self, org: &Organisation) -> Result<Upsert> {
        let existing = self.conn.query_opt(
            "SELECT name, agency_type FROM organisations WHERE code = $1",
            &[org.code.as_str().into()],
        )?;
        let outcome = match existing {
            None => Upsert::Inserted,
            Some(row) if row.text(0)? == org.name && row.text(1)? == org.agency_type.as_str() => {
                return Ok(Upsert::Unchanged);
            }
            Some(_) => Upsert::Updated,
        };
        self.conn.execute(
            "INSERT INTO organisations (code, name, agency_type) VALUES ($1, $2, $3)
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, agency_type = excluded.agency_type",
            &[
                org.code.as_str().into(),
                org.name.as_str().into(),
                org.agency_type.as_str().into(),
            ],
        )?;
        Ok(outcome)
    }

    /// All organisations, by code.
    pub fn organisations(&mut self) -> Result<Vec<Organisation>> {
        self.conn
            .query(
                "SELECT code, name, agency_type FROM organisations ORDER BY code",
                &[],
            )?
            .iter()
            .map(|row| {
                Ok(Organisation {
                    code: row.text(0)?,
                    name: row.text(1)?,
                    agency_type: parse_stored::<AgencyType>("agency_type", &row.text(2)?)?,
                })
            })
            .collect()
    }

    /// The most recent batch for the same file content and kind, if any.
    pub fn find_batch(
        &mut self,
        file_sha256: &str,
        kind: &str,
        org_code: Option<&str>,
    ) -> Result<Option<BatchState>> {
        let sql = format!(
            "SELECT {BATCH_COLUMNS} FROM ingest_batches
             WHERE file_sha256 = $1 AND kind = $2 AND COALESCE(org_code, '') = $3
             ORDER BY id DESC LIMIT 1"
        );
        self.conn
            .query_opt(
                &sql,
                &[
                    file_sha256.into(),
                    kind.into(),
                    org_code.unwrap_or("").into(),
                ],
            )?
            .map(|row| batch_from(&row))
            .transpose()
    }

    /// Records the start of a batch.
    pub fn begin_batch(&mut self, batch: &NewBatch) -> Result<BatchState> {
        let row = self.conn.query_one(
            "INSERT INTO ingest_batches (file_name, file_sha256, org_code, kind, started_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                batch.file_name.as_str().into(),
                batch.file_sha256.as_str().into(),
                batch.org_code.as_deref().into(),
                batch.kind.as_str().into(),
                batch.started_at.as_str().into(),
            ],
        )?;
        self.batch(row.int(0)?)
    }

    /// A batch by id.
    pub fn batch(&mut self, id: i64) -> Result<BatchState> {
        let sql = format!("SELECT {BATCH_COLUMNS} FROM ingest_batches WHERE id = $1");
        let row = self
            .conn
            .query_opt(&sql, &[Param::Int(id)])?
            .ok_or(StoreError::NoSuchBatch(id))?;
        batch_from(&row)
    }

    /// All batches, newest first.
    pub fn batches(&mut self) -> Result<Vec<BatchState>> {
        let sql = format!("SELECT {BATCH_COLUMNS} FROM ingest_batches ORDER BY id DESC");
        self.conn.query(&sql, &[])?.iter().map(batch_from).collect()
    }

    /// Marks a batch complete.
    pub fn finish_batch(&mut self, id: i64, finished_at: &str) -> Result<BatchState> {
        self.conn.execute(
            "UPDATE ingest_batches SET finished_at = $1 WHERE id = $2",
            &[finished_at.into(), Param::Int(id)],
        )?;
        self.batch(id)
    }

    /// The issues recorded for a batch, in line order.
    pub fn batch_issues(&mut self, batch_id: i64) -> Result<Vec<IngestIssue>> {
        self.conn
            .query(
                "SELECT line, field, severity, code, message, raw FROM ingest_issues
                 WHERE batch_id = $1 ORDER BY line, id",
                &[Param::Int(batch_id)],
            )?
            .iter()
            .map(|row| {
                Ok(IngestIssue {
                    line: count(row.int(0)?),
                    field: row.opt_text(1)?,
                    severity: if row.text(2)? == "rejected" {
                        Severity::Rejected
                    } else {
                        Severity::Warning
                    },
                    code: row.text(3)?,
                    message: row.text(4)?,
                    raw: row.opt_text(5)?,
                })
            })
            .collect()
    }

    /// Applies one chunk of an ingest batch atomically, advancing the batch's resume point.
    ///
    // INVARIANT: the rows of a chunk, its issues and the batch's `last_line` are committed
    // together or not at all, so a resumed run neither skips nor repeats a row.
    pub fn apply_chunk(&mut self, batch_id: i64, chunk: &Chunk) -> Result<ChunkOutcome> {
        let conn = self.conn.as_mut();
        conn.begin()?;
        let outcome = apply_chunk_in(conn, batch_id, chunk);
        finish(conn, outcome)
    }

    /// Row counts per table.
    pub fn counts(&mut self) -> Result<StoreCounts> {
        let row = self.conn.query_one(
            "SELECT
                (SELECT COUNT(*) FROM organisations),
                (SELECT COUNT(*) FROM source_records),
                (SELECT COUNT(*) FROM record_identifiers),
                (SELECT COUNT(*) FROM entries),
                (SELECT COUNT(*) FROM relationships),
                (SELECT COUNT(*) FROM persons),
                (SELECT COUNT(*) FROM ingest_batches),
                (SELECT COUNT(*) FROM ingest_issues WHERE severity = 'rejected'),
                (SELECT COUNT(*) FROM ingest_issues WHERE severity = 'warning')",
            &[],
        )?;
        Ok(StoreCounts {
            organisations: count(row.int(0)?),
            source_records: count(row.int(1)?),
            identifiers: count(row.int(2)?),
            entries: count(row.int(3)?),
            relationships: count(row.int(4)?),
            persons: count(row.int(5)?),
            batches: count(row.int(6)?),
            quarantined: count(row.int(7)?),
            warnings: count(row.int(8)?),
        })
    }

    /// One agency record by its source organisation and local id.
    pub fn record(&mut self, org_code: &str, local_id: &str) -> Result<Option<StoredRecord>> {
        let Some(row) = self.conn.query_opt(
            "SELECT r.id, r.org_code, r.local_id, r.given_name, r.middle_names, r.family_name,
                    r.previous_names, r.birth_date, r.birth_date_raw, r.sex, r.address, r.town,
                    r.postcode, r.uprn, l.cci
             FROM source_records r LEFT JOIN person_links l ON l.record_id = r.id
             WHERE r.org_code = $1 AND r.local_id = $2",
            &[org_code.into(), local_id.into()],
        )?
        else {
            return Ok(None);
        };
        let id = row.int(0)?;
        let previous_names: Vec<String> =
            serde_json::from_str(&row.text(6)?).map_err(|e| StoreError::Corrupt {
                column: "previous_names".into(),
                problem: e.to_string(),
            })?;
        let identifiers = self
            .conn
            .query(
                "SELECT system, value, status FROM record_identifiers
                 WHERE record_id = $1 ORDER BY system, value",
                &[Param::Int(id)],
            )?
            .iter()
            .map(|r| {
                let system = r.text(0)?;
                let kind = [
                    IdentifierKind::NhsNumber,
                    IdentifierKind::Upn,
                    IdentifierKind::PncId,
                ]
                .into_iter()
                .find(|k| k.system() == system)
                .ok_or_else(|| StoreError::Corrupt {
                    column: "record_identifiers.system".into(),
                    problem: format!("unknown system `{system}`"),
                })?;
                Ok(Identifier {
                    kind,
                    value: r.text(1)?,
                    status: r.opt_text(2)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let birth_date = row
            .opt_text(7)?
            .map(|d| parse_stored::<PartialDate>("birth_date", &d))
            .transpose()?;
        Ok(Some(StoredRecord {
            id,
            record: PersonRecord {
                source: row.text(1)?,
                local_id: row.text(2)?,
                given_name: row.opt_text(3)?,
                middle_names: row.opt_text(4)?,
                family_name: row.opt_text(5)?,
                previous_names,
                date_of_birth: birth_date,
                sex: parse_stored::<Sex>("sex", &row.text(9)?)?,
                address: row.opt_text(10)?,
                town: row.opt_text(11)?,
                postcode: row.opt_text(12)?,
                uprn: row.opt_text(13)?,
                identifiers,
            },
            birth_date_raw: row.opt_text(8)?,
            cci: row.opt_text(14)?,
        }))
    }

    /// The entries about one agency record, oldest first.
    pub fn entries_for(&mut self, org_code: &str, local_id: &str) -> Result<Vec<Entry>> {
        self.conn
            .query(
                "SELECT e.org_code, e.local_id, r.local_id, e.entry_type, e.occurred_on, e.ended_on,
                        e.category, e.sensitivity, e.summary
                 FROM entries e JOIN source_records r ON r.id = e.record_id
                 WHERE r.org_code = $1 AND r.local_id = $2
                 ORDER BY e.occurred_on, e.local_id",
                &[org_code.into(), local_id.into()],
            )?
            .iter()
            .map(|row| {
                Ok(Entry {
                    source: row.text(0)?,
                    entry_id: row.text(1)?,
                    record_id: row.text(2)?,
                    entry_type: row.text(3)?,
                    occurred_on: parse_stored("occurred_on", &row.text(4)?)?,
                    ended_on: row
                        .opt_text(5)?
                        .map(|d| parse_stored("ended_on", &d))
                        .transpose()?,
                    category: row.text(6)?,
                    sensitivity: parse_stored("sensitivity", &row.text(7)?)?,
                    summary: row.opt_text(8)?,
                })
            })
            .collect()
    }

    /// The relationships an agency recorded for one of its records.
    pub fn relationships_for(
        &mut self,
        org_code: &str,
        local_id: &str,
    ) -> Result<Vec<Relationship>> {
        self.conn
            .query(
                "SELECT x.org_code, a.local_id, b.local_id, x.kind, x.start_date, x.end_date
                 FROM relationships x
                 JOIN source_records a ON a.id = x.record_id
                 JOIN source_records b ON b.id = x.related_record_id
                 WHERE a.org_code = $1 AND a.local_id = $2
                 ORDER BY b.local_id, x.kind",
                &[org_code.into(), local_id.into()],
            )?
            .iter()
            .map(|row| {
                Ok(Relationship {
                    source: row.text(0)?,
                    record_id: row.text(1)?,
                    related_record_id: row.text(2)?,
                    kind: parse_stored("kind", &row.text(3)?)?,
                    start_date: row
                        .opt_text(4)?
                        .map(|d| parse_stored("start_date", &d))
                        .transpose()?,
                    end_date: row
                        .opt_text(5)?
                        .map(|d| parse_stored("end_date", &d))
                        .transpose()?,
                })
            })
            .collect()
    }

    /// Creates a person (a consistent child identifier) if it does not exist.
    pub fn create_person(&mut self, cci: &str, created_at: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO persons (cci, created_at) VALUES ($1, $2) ON CONFLICT (cci) DO NOTHING",
            &[cci.into(), created_at.into()],
        )?;
        Ok(())
    }

    /// Links a source record to a person, replacing any earlier link of that record.
    pub fn link_record(
        &mut self,
        record_id: i64,
        cci: &str,
        manual: bool,
        linked_at: &str,
        reason: Option<&str>,
    ) -> Result<()> {
        self.registry()
            .link(record_id, cci, manual, linked_at, reason)
    }

    /// The `(org, local id)` of every record linked to a person.
    pub fn person_records(&mut self, cci: &str) -> Result<Vec<(String, String)>> {
        self.conn
            .query(
                "SELECT r.org_code, r.local_id FROM person_links l
                 JOIN source_records r ON r.id = l.record_id
                 WHERE l.cci = $1 ORDER BY r.org_code, r.local_id",
                &[cci.into()],
            )?
            .iter()
            .map(|row| Ok((row.text(0)?, row.text(1)?)))
            .collect()
    }
}

fn ensure_organisations<'a>(
    conn: &mut dyn Conn,
    codes: impl Iterator<Item = &'a str>,
) -> Result<()> {
    let distinct: BTreeSet<&str> = codes.collect();
    for code in distinct {
        conn.execute(
            "INSERT INTO organisations (code, name, agency_type) VALUES ($1, $2, $3)
             ON CONFLICT (code) DO NOTHING",
            &[
                code.into(),
                code.into(),
                Organisation::infer_type(code).as_str().into(),
            ],
        )?;
    }
    Ok(())
}

fn record_id_of(conn: &mut dyn Conn, org: &str, local_id: &str) -> Result<Option<i64>> {
    conn.query_opt(
        "SELECT id FROM source_records WHERE org_code = $1 AND local_id = $2",
        &[org.into(), local_id.into()],
    )?
    .map(|row| row.int(0))
    .transpose()
}

fn unknown_record(line: u64, field: &str, org: &str, local_id: &str) -> IngestIssue {
    IngestIssue {
        line,
        field: Some(field.to_string()),
        severity: Severity::Rejected,
        code: "unknown-record".into(),
        message: format!(
            "refers to record `{local_id}` which `{org}` has not sent; ingest that organisation's person extract first"
        ),
        raw: None,
    }
}

fn apply_chunk_in(conn: &mut dyn Conn, batch_id: i64, chunk: &Chunk) -> Result<ChunkOutcome> {
    let mut outcome = ChunkOutcome::default();
    ensure_organisations(
        conn,
        chunk
            .records
            .iter()
            .map(|(_, r, _)| r.source.as_str())
            .chain(chunk.entries.iter().map(|(_, e)| e.source.as_str()))
            .chain(chunk.relationships.iter().map(|(_, r)| r.source.as_str())),
    )?;
    let batch = Param::Int(batch_id);

    for (_, record, birth_date_raw) in &chunk.records {
        let hash = hash_of(&(record, birth_date_raw));
        let previous_names =
            serde_json::to_string(&record.previous_names).unwrap_or_else(|_| "[]".into());
        let birth_date = record.date_of_birth.map(|d| d.to_string());
        let precision = record.date_of_birth.map(|d| match d.precision() {
            model::DatePrecision::Year => "year",
            model::DatePrecision::Month => "month",
            model::DatePrecision::Day => "day",
        });
        let estimated = record.date_of_birth.is_some_and(|d| d.estimated);
        let values: [Param<'_>; 16] = [
            record.source.as_str().into(),
            record.local_id.as_str().into(),
            record.given_name.as_deref().into(),
            record.middle_names.as_deref().into(),
            record.family_name.as_deref().into(),
            previous_names.as_str().into(),
            birth_date.as_deref().into(),
            precision.into(),
            Param::Bool(estimated),
            birth_date_raw.as_deref().into(),
            record.sex.as_str().into(),
            record.address.as_deref().into(),
            record.town.as_deref().into(),
            record.postcode.as_deref().into(),
            record.uprn.as_deref().into(),
            hash.as_str().into(),
        ];
        let existing = conn.query_opt(
            "SELECT id, content_hash FROM source_records WHERE org_code = $1 AND local_id = $2",
            &values[..2],
        )?;
        let record_id = match existing {
            Some(row) if row.text(1)? == hash => {
                outcome.unchanged += 1;
                continue;
            }
            Some(row) => {
                let id = row.int(0)?;
                let mut params = values[2..].to_vec();
                params.push(batch);
                params.push(Param::Int(id));
                conn.execute(
                    "UPDATE source_records SET given_name = $1, middle_names = $2,
                         family_name = $3, previous_names = $4, birth_date = $5,
                         birth_date_precision = $6, birth_date_estimated = $7,
                         birth_date_raw = $8, sex = $9, address = $10, town = $11,
                         postcode = $12, uprn = $13, content_hash = $14, batch_id = $15
                     WHERE id = $16",
                    &params,
                )?;
                conn.execute(
                    "DELETE FROM record_identifiers WHERE record_id = $1",
                    &[Param::Int(id)],
                )?;
                outcome.updated += 1;
                id
            }
            None => {
                let mut params = values.to_vec();
                params.push(batch);
                let row = conn.query_one(
                    "INSERT INTO source_records (org_code, local_id, given_name, middle_names,
                         family_name, previous_names, birth_date, birth_date_precision,
                         birth_date_estimated, birth_date_raw, sex, address, town, postcode, uprn,
                         content_hash, batch_id)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                             $16, $17)
                     RETURNING id",
                    &params,
                )?;
                outcome.inserted += 1;
                row.int(0)?
            }
        };
        let mut seen = BTreeSet::new();
        for identifier in &record.identifiers {
            if !seen.insert((identifier.kind, identifier.value.as_str())) {
                continue;
            }
            conn.execute(
                "INSERT INTO record_identifiers (record_id, system, value, status)
                 VALUES ($1, $2, $3, $4)",
                &[
                    Param::Int(record_id),
                    identifier.kind.system().into(),
                    identifier.value.as_str().into(),
                    identifier.status.as_deref().into(),
                ],
            )?;
        }
    }

    for (line, entry) in &chunk.entries {
        let Some(record_id) = record_id_of(conn, &entry.source, &entry.record_id)? else {
            outcome.store_rejections.push(unknown_record(
                *line,
                "record_id",
                &entry.source,
                &entry.record_id,
            ));
            continue;
        };
        let hash = hash_of(entry);
        let existing = conn.query_opt(
            "SELECT id, content_hash FROM entries WHERE org_code = $1 AND local_id = $2",
            &[entry.source.as_str().into(), entry.entry_id.as_str().into()],
        )?;
        let occurred_on = entry.occurred_on.to_string();
        let ended_on = entry.ended_on.map(|d| d.to_string());
        let fields: [Param<'_>; 8] = [
            Param::Int(record_id),
            entry.entry_type.as_str().into(),
            occurred_on.as_str().into(),
            ended_on.as_deref().into(),
            entry.category.as_str().into(),
            entry.sensitivity.as_str().into(),
            entry.summary.as_deref().into(),
            hash.as_str().into(),
        ];
        match existing {
            Some(row) if row.text(1)? == hash => outcome.unchanged += 1,
            Some(row) => {
                let mut params = fields.to_vec();
                params.push(batch);
                params.push(Param::Int(row.int(0)?));
                conn.execute(
                    "UPDATE entries SET record_id = $1, entry_type = $2, occurred_on = $3,
                         ended_on = $4, category = $5, sensitivity = $6, summary = $7,
                         content_hash = $8, batch_id = $9
                     WHERE id = $10",
                    &params,
                )?;
                outcome.updated += 1;
            }
            None => {
                let mut params = vec![entry.source.as_str().into(), entry.entry_id.as_str().into()];
                params.extend(fields);
                params.push(batch);
                conn.execute(
                    "INSERT INTO entries (org_code, local_id, record_id, entry_type, occurred_on,
                         ended_on, category, sensitivity, summary, content_hash, batch_id)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    &params,
                )?;
                outcome.inserted += 1;
            }
        }
    }

    for (line, relationship) in &chunk.relationships {
        let org = relationship.source.as_str();
        let Some(from) = record_id_of(conn, org, &relationship.record_id)? else {
            outcome.store_rejections.push(unknown_record(
                *line,
                "record_id",
                org,
                &relationship.record_id,
            ));
            continue;
        };
        let Some(to) = record_id_of(conn, org, &relationship.related_record_id)? else {
            outcome.store_rejections.push(unknown_record(
                *line,
                "related_record_id",
                org,
                &relationship.related_record_id,
            ));
            continue;
        };
        let start = relationship.start_date.map(|d| d.to_string());
        let end = relationship.end_date.map(|d| d.to_string());
        let key: [Param<'_>; 4] = [
            org.into(),
            Param::Int(from),
            Param::Int(to),
            relationship.kind.as_str().into(),
        ];
        let existing = conn.query_opt(
            "SELECT id, start_date, end_date FROM relationships
             WHERE org_code = $1 AND record_id = $2 AND related_record_id = $3 AND kind = $4",
            &key,
        )?;
        match existing {
            Some(row) if row.opt_text(1)? == start && row.opt_text(2)? == end => {
                outcome.unchanged += 1;
            }
            Some(row) => {
                conn.execute(
                    "UPDATE relationships SET start_date = $1, end_date = $2, batch_id = $3
                     WHERE id = $4",
                    &[
                        start.as_deref().into(),
                        end.as_deref().into(),
                        batch,
                        Param::Int(row.int(0)?),
                    ],
                )?;
                outcome.updated += 1;
            }
            None => {
                let mut params = key.to_vec();
                params.extend([start.as_deref().into(), end.as_deref().into(), batch]);
                conn.execute(
                    "INSERT INTO relationships (org_code, record_id, related_record_id, kind,
                         start_date, end_date, batch_id)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &params,
                )?;
                outcome.inserted += 1;
            }
        }
    }

    let mut warnings = 0i64;
    let mut rejected_lines = BTreeSet::new();
    for issue in chunk.issues.iter().chain(&outcome.store_rejections) {
        match issue.severity {
            Severity::Warning => warnings += 1,
            Severity::Rejected => {
                rejected_lines.insert(issue.line);
            }
        }
        conn.execute(
            "INSERT INTO ingest_issues (batch_id, line, field, severity, code, message, raw)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                batch,
                line_param(issue.line),
                issue.field.as_deref().into(),
                issue.severity.as_str().into(),
                issue.code.as_str().into(),
                issue.message.as_str().into(),
                issue.raw.as_deref().into(),
            ],
        )?;
    }
    conn.execute(
        "UPDATE ingest_batches SET last_line = $1,
             rows_inserted = rows_inserted + $2, rows_updated = rows_updated + $3,
             rows_unchanged = rows_unchanged + $4, rows_quarantined = rows_quarantined + $5,
             warnings = warnings + $6
         WHERE id = $7",
        &[
            line_param(chunk.last_line),
            Param::Int(outcome.inserted as i64),
            Param::Int(outcome.updated as i64),
            Param::Int(outcome.unchanged as i64),
            Param::Int(rejected_lines.len() as i64),
            Param::Int(warnings),
            batch,
        ],
    )?;
    Ok(outcome)
}

//! Reading agency extracts: CSV or newline-delimited JSON in, validated rows and precise issues
//! out.
//!
//! Dirty data is normal here, not exceptional. An extract is read row by row; each row becomes a
//! [`ParsedRow`] carrying either a validated value from `model` or a rejection, plus the
//! [`RowIssue`]s found on the way. A bad identifier, postcode or sex code never costs the rest of
//! the record: the row loads without that value and a warning names the field, the problem and
//! (for identifiers) the expected check character. Only what makes a row untrustworthy as a whole
//! (no local id, broken quoting, a 10 MB field, bytes that are not UTF-8) rejects it, and the
//! rejection keeps the raw text so it can be fixed and re-sent.
//!
//! Only a problem with the file as a whole — it is empty, it cannot be read, its header names
//! none of the columns Kith needs — is an [`IngestError`].
//!
//! Principal types:
//! - [`Extract`]: an open extract; an iterator of [`ParsedRow`]s that also reports bytes read.
//! - [`ExtractKind`]: person records, entries, relationships or organisations, told apart by the
//!   header ([`columns`] lists the canonical names of each).
//! - [`ReadOptions`]: the organisation override and the [`ColumnMap`] for files whose columns have
//!   other names.
//!
//! ```
//! use ingest::{Extract, ReadOptions, RowValue};
//!
//! let csv = "record_id,given_name,family_name,date_of_birth,nhs_number\n\
//!            P1,Amy,Smith,14/03/2012,9434765918\n";
//! let mut extract = Extract::from_reader("GP_A81001.csv", csv.as_bytes(), &ReadOptions::default()).unwrap();
//! let row = extract.next().unwrap().unwrap();
//! let RowValue::Record { record, .. } = &row.value else { panic!() };
//! assert_eq!(record.source, "GP_A81001");
//! assert!(record.identifiers.is_empty());
//! assert_eq!(
//!     row.issues[0].message,
//!     "invalid NHS number `9434765918`: check digit should be 9; loaded without it",
//! );
//! ```

pub mod columns;
mod reader;
mod validate;

pub use columns::{ColumnMap, ExtractKind};
pub use reader::{Extract, ReadOptions};

use model::{Entry, Organisation, PersonRecord, Relationship};
use thiserror::Error;

/// The longest value Kith accepts in a field; a longer one almost always means a broken quote.
pub const MAX_FIELD_BYTES: usize = 4096;
/// The longest free-text summary of an entry.
pub const MAX_SUMMARY_BYTES: usize = 65_536;
/// How much of a rejected row's raw text is kept for the quarantine report.
pub const MAX_RAW_KEPT: usize = 1000;

/// A problem with the extract as a whole; nothing from it can be trusted.
#[derive(Debug, Error)]
pub enum IngestError {
    #[error("cannot read `{file}`: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("`{file}` is empty: expected a header row such as `{example}`")]
    Empty { file: String, example: String },
    #[error("`{file}`: the header is not valid UTF-8; re-export the file as UTF-8")]
    HeaderEncoding { file: String },
    #[error(
        "`{file}`: the header has no `{missing}` column (found: {found}); rename the column or use --map {missing}=YOUR_COLUMN"
    )]
    MissingColumn {
        file: String,
        missing: String,
        found: String,
    },
    #[error("`{file}`: the header names `{column}` twice")]
    DuplicateColumn { file: String, column: String },
    #[error(
        "invalid --map `{0}`: expected CANONICAL=COLUMN pairs separated by commas, e.g. `given_name=Forename,family_name=Surname`"
    )]
    BadMap(String),
    #[error("invalid --map: `{0}` is not a Kith column; known columns: {1}")]
    UnknownMapTarget(String, String),
    #[error("`{file}` line {line}: {message}")]
    Read {
        file: String,
        line: u64,
        message: String,
    },
}

/// How serious a row issue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The row loads, without the value named.
    Warning,
    /// Nothing from the row loads; it goes to quarantine.
    Rejected,
}

/// A problem found in one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowIssue {
    pub line: u64,
    pub field: Option<String>,
    pub severity: Severity,
    /// A stable code, e.g. `nhs.check`, `date.impossible`, `row.fields`.
    pub code: String,
    pub message: String,
}

/// What a row turned into.
#[derive(Debug, Clone, PartialEq)]
pub enum RowValue {
    Record {
        record: PersonRecord,
        /// The date-of-birth text when it could not be read; kept as evidence.
        birth_date_raw: Option<String>,
    },
    Entry(Entry),
    Relationship(Relationship),
    Organisation(Organisation),
    /// The row is quarantined; `raw` is its text (truncated to [`MAX_RAW_KEPT`]).
    Rejected {
        raw: String,
    },
}

/// One row of an extract after validation.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedRow {
    /// The line of the file where the row starts (the header is line 1 in a CSV).
    pub line: u64,
    pub value: RowValue,
    pub issues: Vec<RowIssue>,
}

//! The canonical columns of each kind of extract, and mapping a file's own names onto them.
//!
//! These are the names `kith ingest` and `kith link` both read. A file with other names is
//! loaded with `--map canonical=theirs,…`.

use crate::IngestError;

/// What an extract holds, decided from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtractKind {
    Records,
    Entries,
    Relationships,
    Organisations,
}

impl ExtractKind {
    /// The kind's name in summaries and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            ExtractKind::Records => "records",
            ExtractKind::Entries => "entries",
            ExtractKind::Relationships => "relationships",
            ExtractKind::Organisations => "organisations",
        }
    }

    /// The canonical columns, in the order Kith writes them.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            ExtractKind::Records => &RECORD_COLUMNS,
            ExtractKind::Entries => &ENTRY_COLUMNS,
            ExtractKind::Relationships => &RELATIONSHIP_COLUMNS,
            ExtractKind::Organisations => &ORGANISATION_COLUMNS,
        }
    }

    /// Columns a file of this kind must have.
    pub fn required(self) -> &'static [&'static str] {
        match self {
            ExtractKind::Records => &["record_id"],
            ExtractKind::Entries => &[
                "entry_id",
                "record_id",
                "entry_type",
                "occurred_on",
                "category",
            ],
            ExtractKind::Relationships => &["record_id", "related_record_id", "relationship"],
            ExtractKind::Organisations => &["code", "agency_type"],
        }
    }

    /// Tells the kind from the (mapped) column names.
    pub fn detect(columns: &[String]) -> ExtractKind {
        let has = |name: &str| columns.iter().any(|c| c == name);
        if has("entry_id") {
            ExtractKind::Entries
        } else if has("related_record_id") {
            ExtractKind::Relationships
        } else if has("agency_type") && has("code") {
            ExtractKind::Organisations
        } else {
            ExtractKind::Records
        }
    }
}

pub use model::columns::{
    ENTRY_COLUMNS, ORGANISATION_COLUMNS, RECORD_COLUMNS, RELATIONSHIP_COLUMNS,
};

/// Lower-cases a header name and turns spaces and hyphens into underscores.
pub fn normalise_header(name: &str) -> String {
    name.trim_start_matches('\u{feff}')
        .trim()
        .to_lowercase()
        .replace([' ', '-'], "_")
}

/// `--map canonical=column,…`: the file's own names for canonical columns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMap {
    /// (canonical, file column normalised)
    pairs: Vec<(String, String)>,
}

impl ColumnMap {
    /// Parses `given_name=Forename,family_name=Surname`; several `--map` values may be joined.
    pub fn parse(spec: &str) -> Result<ColumnMap, IngestError> {
        let all: Vec<&str> = [
            &RECORD_COLUMNS[..],
            &ENTRY_COLUMNS[..],
            &RELATIONSHIP_COLUMNS[..],
            &ORGANISATION_COLUMNS[..],
        ]
        .concat();
        let mut pairs = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((canonical, column)) = part.split_once('=') else {
                return Err(IngestError::BadMap(part.to_string()));
            };
            let canonical = normalise_header(canonical);
            if column.trim().is_empty() {
                return Err(IngestError::BadMap(part.to_string()));
            }
            if !all.contains(&canonical.as_str()) {
                let mut known = all.clone();
                known.sort_unstable();
                known.dedup();
                return Err(IngestError::UnknownMapTarget(canonical, known.join(", ")));
            }
            pairs.push((canonical, normalise_header(column)));
        }
        Ok(ColumnMap { pairs })
    }

    /// Joins several maps (later pairs win).
    pub fn extend(&mut self, other: ColumnMap) {
        self.pairs.extend(other.pairs);
    }

    /// The canonical name for a file's column name.
    pub fn canonical(&self, file_column: &str) -> String {
        let normalised = normalise_header(file_column);
        self.pairs
            .iter()
            .rev()
            .find(|(_, theirs)| *theirs == normalised)
            .map(|(canonical, _)| canonical.clone())
            .unwrap_or(normalised)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_renames_columns_case_insensitively() {
        let map = ColumnMap::parse("given_name=Forename, family_name = SURNAME").unwrap();
        assert_eq!(map.canonical("forename"), "given_name");
        assert_eq!(map.canonical("Surname"), "family_name");
        assert_eq!(map.canonical("Date Of Birth"), "date_of_birth");
    }

    #[test]
    fn map_errors_are_actionable() {
        assert_eq!(
            ColumnMap::parse("given_name").unwrap_err().to_string(),
            "invalid --map `given_name`: expected CANONICAL=COLUMN pairs separated by commas, e.g. `given_name=Forename,family_name=Surname`"
        );
        assert!(
            ColumnMap::parse("forename=x")
                .unwrap_err()
                .to_string()
                .starts_with("invalid --map: `forename` is not a Kith column; known columns: address, agency_type")
        );
    }

    #[test]
    fn kinds_are_told_apart_by_header() {
        let cols = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            ExtractKind::detect(&cols(&["record_id", "given_name"])),
            ExtractKind::Records
        );
        assert_eq!(
            ExtractKind::detect(&cols(&["entry_id", "record_id"])),
            ExtractKind::Entries
        );
        assert_eq!(
            ExtractKind::detect(&cols(&["record_id", "related_record_id"])),
            ExtractKind::Relationships
        );
        assert_eq!(
            ExtractKind::detect(&cols(&["code", "name", "agency_type"])),
            ExtractKind::Organisations
        );
    }
}

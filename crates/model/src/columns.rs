//! The canonical column names of Kith's extract format, shared by the reader and the generator.

/// Person-record columns (also what `kith link` reads).
pub const RECORD_COLUMNS: [&str; 17] = [
    "source",
    "record_id",
    "given_name",
    "middle_names",
    "family_name",
    "previous_names",
    "date_of_birth",
    "sex",
    "address",
    "town",
    "postcode",
    "uprn",
    "nhs_number",
    "nhs_number_status",
    "upn",
    "former_upns",
    "pnc_id",
];

/// Entry columns: dated events about a person record of the same organisation.
pub const ENTRY_COLUMNS: [&str; 9] = [
    "source",
    "entry_id",
    "record_id",
    "entry_type",
    "occurred_on",
    "ended_on",
    "category",
    "sensitivity",
    "summary",
];

/// Relationship columns: `related_record_id` is the `relationship` of `record_id`.
pub const RELATIONSHIP_COLUMNS: [&str; 6] = [
    "source",
    "record_id",
    "related_record_id",
    "relationship",
    "start_date",
    "end_date",
];

/// Organisation columns.
pub const ORGANISATION_COLUMNS: [&str; 3] = ["code", "name", "agency_type"];

//! Row validation: canonical field text in, a validated value and its issues out.

use model::{
    AgencyType, Entry, Identifier, IdentifierKind, Organisation, PartialDate, PersonRecord, PncId,
    Postcode, Relationship, RelationshipKind, Sensitivity, Sex, Upn,
};

use crate::columns::ExtractKind;
use crate::{ParsedRow, RowIssue, RowValue, Severity};

/// Collects a row's issues while its fields are read.
struct Row<'a> {
    line: u64,
    columns: &'static [&'static str],
    fields: &'a [Option<&'a str>],
    issues: Vec<RowIssue>,
    rejected: bool,
}

impl<'a> Row<'a> {
    /// The trimmed value of a column, `None` when absent or blank.
    fn get(&self, column: &str) -> Option<&'a str> {
        let slot = self.columns.iter().position(|c| *c == column)?;
        self.fields
            .get(slot)
            .copied()
            .flatten()
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// Text with inner runs of whitespace collapsed, as names and addresses are compared.
    fn text(&self, column: &str) -> Option<String> {
        self.get(column)
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    fn issue(&mut self, column: &str, severity: Severity, code: &str, message: String) {
        if severity == Severity::Rejected {
            self.rejected = true;
        }
        self.issues.push(RowIssue {
            line: self.line,
            field: Some(column.to_string()),
            severity,
            code: code.to_string(),
            message,
        });
    }

    fn warn(&mut self, column: &str, code: &str, message: String) {
        self.issue(column, Severity::Warning, code, message);
    }

    fn reject(&mut self, column: &str, code: &str, message: String) {
        self.issue(column, Severity::Rejected, code, message);
    }

    fn required(&mut self, column: &str) -> Option<String> {
        let value = self.text(column);
        if value.is_none() {
            self.reject(
                column,
                "field.missing",
                format!("field `{column}` is empty; it is required"),
            );
        }
        value
    }

    fn date(&mut self, column: &str, severity: Severity) -> Option<PartialDate> {
        let raw = self.get(column)?;
        match raw.parse::<PartialDate>() {
            Ok(date) => Some(date),
            Err(error) => {
                let code = match error {
                    model::DateError::Format(_) => "date.format",
                    model::DateError::Impossible { .. } => "date.impossible",
                    model::DateError::YearOutOfRange { .. } => "date.range",
                };
                let message = match severity {
                    Severity::Warning => format!("field `{column}`: {error}; loaded without it"),
                    Severity::Rejected => format!("field `{column}`: {error}"),
                };
                self.issue(column, severity, code, message);
                None
            }
        }
    }

    fn identifier(&mut self, column: &str, kind: IdentifierKind, raw: &str) -> Option<String> {
        let parsed = match kind {
            IdentifierKind::NhsNumber => raw
                .parse::<model::NhsNumber>()
                .map(|n| n.as_str().to_string()),
            IdentifierKind::Upn => raw.parse::<Upn>().map(|u| u.as_str().to_string()),
            IdentifierKind::PncId => raw.parse::<PncId>().map(|p| p.to_string()),
        };
        match parsed {
            Ok(value) => Some(value),
            Err(error) => {
                self.warn(column, &error.code(), format!("{error}; loaded without it"));
                None
            }
        }
    }

    fn finish(self, value: RowValue) -> ParsedRow {
        ParsedRow {
            line: self.line,
            value,
            issues: self.issues,
        }
    }
}

pub(crate) fn validate(
    kind: ExtractKind,
    line: u64,
    fields: &[Option<&str>],
    source: &str,
    raw: impl Fn() -> String,
) -> ParsedRow {
    let mut row = Row {
        line,
        columns: kind.columns(),
        fields,
        issues: Vec::new(),
        rejected: false,
    };
    let value = match kind {
        ExtractKind::Records => person_record(&mut row, source),
        ExtractKind::Entries => entry(&mut row, source),
        ExtractKind::Relationships => relationship(&mut row, source),
        ExtractKind::Organisations => organisation(&mut row),
    };
    match value {
        Some(value) if !row.rejected => row.finish(value),
        _ => {
            // A rejected row keeps only its rejections: its warnings describe values that were
            // never loaded.
            row.issues.retain(|i| i.severity == Severity::Rejected);
            let raw = raw();
            row.finish(RowValue::Rejected { raw })
        }
    }
}

fn person_record(row: &mut Row<'_>, source: &str) -> Option<RowValue> {
    let local_id = row.required("record_id");
    let given_name = row.text("given_name");
    let middle_names = row.text("middle_names");
    let family_name = row.text("family_name");
    let previous_names: Vec<String> = row
        .get("previous_names")
        .map(|v| {
            v.split(';')
                .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|p| !p.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let date_of_birth = row.date("date_of_birth", Severity::Warning);
    let birth_date_raw = match date_of_birth {
        None => row.get("date_of_birth").map(str::to_string),
        Some(_) => None,
    };
    let sex = match row.get("sex") {
        None => Sex::Unknown,
        Some(raw) => Sex::parse_lenient(raw).unwrap_or_else(|message| {
            row.warn("sex", "sex.code", format!("{message}; loaded as unknown"));
            Sex::Unknown
        }),
    };
    let postcode = row
        .get("postcode")
        .map(|raw| match raw.parse::<Postcode>() {
            Ok(postcode) => postcode.to_string(),
            Err(error) => {
                row.warn(
                    "postcode",
                    "postcode.format",
                    format!("{error}; kept as text"),
                );
                raw.split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_uppercase()
            }
        });
    let uprn = row.get("uprn").and_then(|raw| {
        if raw.len() <= 12 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Some(raw.trim_start_matches('0').to_string()).filter(|u| !u.is_empty())
        } else {
            row.warn(
                "uprn",
                "uprn.format",
                format!("`{raw}` is not a UPRN (1 to 12 digits); loaded without it"),
            );
            None
        }
    });

    let mut identifiers = Vec::new();
    if let Some(raw) = row.get("nhs_number")
        && let Some(value) = row.identifier("nhs_number", IdentifierKind::NhsNumber, raw)
    {
        let status = row.get("nhs_number_status").and_then(|status| {
            let ok = status.len() == 2 && matches!(status, "01" | "02" | "03" | "04" | "05" | "06" | "07" | "08");
            if ok {
                Some(status.to_string())
            } else {
                row.warn(
                    "nhs_number_status",
                    "nhs.status",
                    format!("`{status}` is not an NHS number status (01 to 08); number loaded as unverified"),
                );
                None
            }
        });
        identifiers.push(Identifier {
            kind: IdentifierKind::NhsNumber,
            value,
            status,
        });
    }
    if let Some(raw) = row.get("upn")
        && let Some(value) = row.identifier("upn", IdentifierKind::Upn, raw)
    {
        identifiers.push(Identifier {
            kind: IdentifierKind::Upn,
            value,
            status: None,
        });
    }
    if let Some(raw) = row.get("former_upns") {
        for part in raw.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            if let Some(value) = row.identifier("former_upns", IdentifierKind::Upn, part) {
                identifiers.push(Identifier {
                    kind: IdentifierKind::Upn,
                    value,
                    status: Some("former".into()),
                });
            }
        }
    }
    if let Some(raw) = row.get("pnc_id")
        && let Some(value) = row.identifier("pnc_id", IdentifierKind::PncId, raw)
    {
        identifiers.push(Identifier {
            kind: IdentifierKind::PncId,
            value,
            status: None,
        });
    }

    let local_id = local_id?;
    if given_name.is_none()
        && family_name.is_none()
        && date_of_birth.is_none()
        && birth_date_raw.is_none()
        && identifiers.is_empty()
    {
        row.reject(
            "record_id",
            "row.anonymous",
            "row names no one: it has no name, date of birth or valid identifier".into(),
        );
        return None;
    }
    Some(RowValue::Record {
        record: PersonRecord {
            source: source.to_string(),
            local_id,
            given_name,
            middle_names,
            family_name,
            previous_names,
            date_of_birth,
            sex,
            address: row.text("address"),
            town: row.text("town"),
            postcode,
            uprn,
            identifiers,
        },
        birth_date_raw,
    })
}

fn entry(row: &mut Row<'_>, source: &str) -> Option<RowValue> {
    let entry_id = row.required("entry_id");
    let record_id = row.required("record_id");
    let entry_type = row.required("entry_type");
    let category = row.required("category");
    let occurred_on = match row.get("occurred_on") {
        None => {
            row.reject(
                "occurred_on",
                "field.missing",
                "field `occurred_on` is empty; it is required".into(),
            );
            None
        }
        Some(_) => row.date("occurred_on", Severity::Rejected),
    };
    let ended_on = row.date("ended_on", Severity::Warning);
    let sensitivity = match row.get("sensitivity") {
        None => Sensitivity::Normal,
        Some(raw) => match raw.parse::<Sensitivity>() {
            Ok(s) => s,
            Err(message) => {
                // Guessing a sensitivity could expose a restricted entry, so the row waits.
                row.reject("sensitivity", "sensitivity.value", message);
                return None;
            }
        },
    };
    Some(RowValue::Entry(Entry {
        source: source.to_string(),
        entry_id: entry_id?,
        record_id: record_id?,
        entry_type: entry_type?,
        occurred_on: occurred_on?,
        ended_on,
        category: category?,
        sensitivity,
        summary: row.get("summary").map(str::to_string),
    }))
}

fn relationship(row: &mut Row<'_>, source: &str) -> Option<RowValue> {
    let record_id = row.required("record_id");
    let related_record_id = row.required("related_record_id");
    let kind = match row.get("relationship") {
        None => {
            row.reject(
                "relationship",
                "field.missing",
                "field `relationship` is empty; it is required".into(),
            );
            None
        }
        Some(raw) => match raw.parse::<RelationshipKind>() {
            Ok(kind) => Some(kind),
            Err(message) => {
                row.reject("relationship", "relationship.kind", message);
                None
            }
        },
    };
    let start_date = row.date("start_date", Severity::Warning);
    let end_date = row.date("end_date", Severity::Warning);
    Some(RowValue::Relationship(Relationship {
        source: source.to_string(),
        record_id: record_id?,
        related_record_id: related_record_id?,
        kind: kind?,
        start_date,
        end_date,
    }))
}

fn organisation(row: &mut Row<'_>) -> Option<RowValue> {
    let code = row.required("code");
    let agency_type = match row.get("agency_type") {
        None => {
            row.reject(
                "agency_type",
                "field.missing",
                "field `agency_type` is empty; it is required".into(),
            );
            None
        }
        Some(raw) => match raw.parse::<AgencyType>() {
            Ok(kind) => Some(kind),
            Err(message) => {
                row.reject("agency_type", "agency-type.value", message);
                None
            }
        },
    };
    let code = code?;
    Some(RowValue::Organisation(Organisation {
        name: row.text("name").unwrap_or_else(|| code.clone()),
        code,
        agency_type: agency_type?,
    }))
}

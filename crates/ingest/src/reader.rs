//! Streaming readers for CSV and newline-delimited JSON extracts.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use csv::ByteRecord;

use crate::columns::{ColumnMap, ExtractKind};
use crate::validate::validate;
use crate::{
    IngestError, MAX_FIELD_BYTES, MAX_RAW_KEPT, MAX_SUMMARY_BYTES, ParsedRow, RowIssue, RowValue,
    Severity,
};

/// How to read an extract.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The organisation every row comes from; overrides a `source` column and the file name.
    pub org: Option<String>,
    /// The file's own names for canonical columns.
    pub map: ColumnMap,
}

/// An open extract: an iterator of validated rows.
pub struct Extract {
    file: String,
    kind: ExtractKind,
    default_source: String,
    org_override: Option<String>,
    resume_after: u64,
    format: Format,
}

impl std::fmt::Debug for Extract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extract")
            .field("file", &self.file)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

enum Format {
    Csv {
        reader: csv::Reader<Box<dyn Read>>,
        /// For each canonical column of the kind, the index of the file column holding it.
        positions: Vec<Option<usize>>,
        /// The file's header names, for messages.
        header: Vec<String>,
        ignored: Vec<String>,
        record: ByteRecord,
    },
    Json {
        lines: BufReader<Box<dyn Read>>,
        map: ColumnMap,
        line: u64,
        bytes: u64,
        /// The first line, already read to decide the kind.
        pending: Option<Vec<u8>>,
        ignored: BTreeSet<String>,
    },
}

/// The organisation implied by a file name: `GP_A81001.entries.csv` → `GP_A81001`.
fn stem_of(file: &str) -> String {
    let name = Path::new(file)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.to_string());
    name.split('.').next().unwrap_or(&name).to_string()
}

fn is_json_name(file: &str) -> bool {
    let lower = file.to_ascii_lowercase();
    [".ndjson", ".jsonl", ".json"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

fn raw_text(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match text.char_indices().nth(MAX_RAW_KEPT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    }
}

fn rejected(line: u64, field: Option<&str>, code: &str, message: String, raw: String) -> ParsedRow {
    ParsedRow {
        line,
        value: RowValue::Rejected { raw },
        issues: vec![RowIssue {
            line,
            field: field.map(str::to_string),
            severity: Severity::Rejected,
            code: code.to_string(),
            message,
        }],
    }
}

fn limit_for(column: &str) -> usize {
    if column == "summary" {
        MAX_SUMMARY_BYTES
    } else {
        MAX_FIELD_BYTES
    }
}

impl Extract {
    /// Opens an extract file; `.ndjson`, `.jsonl` and `.json` are read as one JSON object per
    /// line, anything else as CSV with a header.
    pub fn open(path: &Path, options: &ReadOptions) -> Result<Extract, IngestError> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|source| IngestError::Io {
            file: name.clone(),
            source,
        })?;
        Extract::from_reader(&name, file, options)
    }

    /// Reads an extract from any reader; `name` decides the format and the default source.
    pub fn from_reader(
        name: &str,
        reader: impl Read + 'static,
        options: &ReadOptions,
    ) -> Result<Extract, IngestError> {
        let reader: Box<dyn Read> = Box::new(reader);
        let (kind, format) = if is_json_name(name) {
            open_json(name, reader, &options.map)?
        } else {
            open_csv(name, reader, &options.map)?
        };
        Ok(Extract {
            file: name.to_string(),
            kind,
            default_source: stem_of(name),
            org_override: options.org.clone(),
            resume_after: 0,
            format,
        })
    }

    /// What the extract holds.
    pub fn kind(&self) -> ExtractKind {
        self.kind
    }

    /// The organisation used when a row has no `source` and no `--org` was given.
    pub fn default_source(&self) -> &str {
        &self.default_source
    }

    /// Columns (or JSON keys) that are not Kith columns and were ignored. For JSON the list
    /// grows as keys are met.
    pub fn ignored_columns(&self) -> Vec<String> {
        match &self.format {
            Format::Csv { ignored, .. } => ignored.clone(),
            Format::Json { ignored, .. } => ignored.iter().cloned().collect(),
        }
    }

    /// Bytes of the file consumed so far, for progress.
    pub fn bytes_read(&self) -> u64 {
        match &self.format {
            Format::Csv { reader, .. } => reader.position().byte(),
            Format::Json { bytes, .. } => *bytes,
        }
    }

    /// Skips, without validating, every row that starts on or before `line` (a resumed batch).
    pub fn resume_after(&mut self, line: u64) {
        self.resume_after = line;
    }

    fn next_csv(&mut self) -> Option<Result<ParsedRow, IngestError>> {
        loop {
            let Format::Csv {
                reader,
                positions,
                header,
                record,
                ..
            } = &mut self.format
            else {
                return None;
            };
            match reader.read_byte_record(record) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(error) => {
                    let line = error.position().map(|p| p.line()).unwrap_or(0);
                    return Some(Err(IngestError::Read {
                        file: self.file.clone(),
                        line,
                        message: error.to_string(),
                    }));
                }
            }
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            if line <= self.resume_after {
                continue;
            }
            if record.len() != header.len() {
                let raw = raw_of(record);
                return Some(Ok(rejected(
                    line,
                    None,
                    "row.fields",
                    format!(
                        "row has {} fields but the header has {}; check for an unquoted comma or an unclosed quote",
                        record.len(),
                        header.len()
                    ),
                    raw,
                )));
            }
            if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                continue;
            }
            let columns = self.kind.columns();
            let mut fields: Vec<Option<&str>> = vec![None; columns.len()];
            let mut problem = None;
            for (slot, position) in positions.iter().enumerate() {
                let Some(index) = position else { continue };
                let bytes = record.get(*index).unwrap_or_default();
                let column = columns[slot];
                if bytes.len() > limit_for(column) {
                    problem = Some((
                        column,
                        "field.too-long",
                        format!(
                            "field `{column}` is {} bytes, longer than the {} allowed; is a quote left open?",
                            bytes.len(),
                            limit_for(column)
                        ),
                    ));
                    break;
                }
                match std::str::from_utf8(bytes) {
                    Ok(text) => fields[slot] = Some(text),
                    Err(error) => {
                        let at = error.valid_up_to();
                        problem = Some((
                            column,
                            "field.encoding",
                            format!(
                                "field `{column}` is not valid UTF-8 (byte 0x{:02X} at position {}); re-export the file as UTF-8",
                                bytes.get(at).copied().unwrap_or(0),
                                at + 1
                            ),
                        ));
                        break;
                    }
                }
            }
            if let Some((column, code, message)) = problem {
                return Some(Ok(rejected(
                    line,
                    Some(column),
                    code,
                    message,
                    raw_of(record),
                )));
            }
            let source_slot = columns.iter().position(|c| *c == "source");
            let source = source_for(
                &self.org_override,
                &self.default_source,
                source_slot.and_then(|s| fields[s]),
            );
            let joined = || raw_of(record);
            return Some(Ok(validate(self.kind, line, &fields, &source, joined)));
        }
    }

    fn next_json(&mut self) -> Option<Result<ParsedRow, IngestError>> {
        loop {
            let Format::Json {
                lines,
                map,
                line,
                bytes,
                pending,
                ignored,
            } = &mut self.format
            else {
                return None;
            };
            let buffer = match pending.take() {
                Some(buffer) => buffer,
                None => {
                    let mut buffer = Vec::new();
                    match lines.read_until(b'\n', &mut buffer) {
                        Ok(0) => return None,
                        Ok(n) => {
                            *bytes += n as u64;
                            *line += 1;
                            buffer
                        }
                        Err(source) => {
                            return Some(Err(IngestError::Io {
                                file: self.file.clone(),
                                source,
                            }));
                        }
                    }
                }
            };
            let line = *line;
            if line <= self.resume_after || buffer.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let row = json_row(self.kind, line, &buffer, map, ignored);
            match row {
                Err(rejection) => return Some(Ok(*rejection)),
                Ok(values) => {
                    let fields: Vec<Option<&str>> = values.iter().map(|v| v.as_deref()).collect();
                    let source_slot = self.kind.columns().iter().position(|c| *c == "source");
                    let source = source_for(
                        &self.org_override,
                        &self.default_source,
                        source_slot.and_then(|s| fields[s]),
                    );
                    let raw = || raw_text(&buffer);
                    return Some(Ok(validate(self.kind, line, &fields, &source, raw)));
                }
            }
        }
    }
}

/// `--org` wins, then the row's own `source`, then the file name.
fn source_for(
    org_override: &Option<String>,
    default_source: &str,
    row_source: Option<&str>,
) -> String {
    org_override
        .clone()
        .or_else(|| {
            row_source
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| default_source.to_string())
}

fn raw_of(record: &ByteRecord) -> String {
    raw_text(&record.iter().collect::<Vec<_>>().join(&b","[..]))
}

impl Iterator for Extract {
    type Item = Result<ParsedRow, IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.format {
            Format::Csv { .. } => self.next_csv(),
            Format::Json { .. } => self.next_json(),
        }
    }
}

fn example_header(kind: ExtractKind) -> String {
    kind.columns().join(",")
}

fn open_csv(
    name: &str,
    reader: Box<dyn Read>,
    map: &ColumnMap,
) -> Result<(ExtractKind, Format), IngestError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(reader);
    let headers = reader
        .byte_headers()
        .map_err(|error| IngestError::Read {
            file: name.to_string(),
            line: 1,
            message: error.to_string(),
        })?
        .clone();
    if headers.is_empty()
        || headers
            .iter()
            .all(|h| h.iter().all(u8::is_ascii_whitespace))
    {
        return Err(IngestError::Empty {
            file: name.to_string(),
            example: example_header(ExtractKind::Records),
        });
    }
    let mut header = Vec::with_capacity(headers.len());
    for field in headers.iter() {
        let text = std::str::from_utf8(field).map_err(|_| IngestError::HeaderEncoding {
            file: name.to_string(),
        })?;
        header.push(text.to_string());
    }
    let canonical: Vec<String> = header.iter().map(|h| map.canonical(h)).collect();
    let kind = ExtractKind::detect(&canonical);
    let columns = kind.columns();
    for required in kind.required() {
        if !canonical.iter().any(|c| c == required) {
            return Err(IngestError::MissingColumn {
                file: name.to_string(),
                missing: required.to_string(),
                found: header.join(", "),
            });
        }
    }
    let mut positions = vec![None; columns.len()];
    let mut ignored = Vec::new();
    for (index, column) in canonical.iter().enumerate() {
        match columns.iter().position(|c| c == column) {
            Some(slot) if positions[slot].is_some() => {
                return Err(IngestError::DuplicateColumn {
                    file: name.to_string(),
                    column: column.clone(),
                });
            }
            Some(slot) => positions[slot] = Some(index),
            None => ignored.push(header[index].clone()),
        }
    }
    Ok((
        kind,
        Format::Csv {
            reader,
            positions,
            header,
            ignored,
            record: ByteRecord::new(),
        },
    ))
}

fn open_json(
    name: &str,
    reader: Box<dyn Read>,
    map: &ColumnMap,
) -> Result<(ExtractKind, Format), IngestError> {
    let mut lines = BufReader::new(reader);
    let mut line = 0u64;
    let mut bytes = 0u64;
    // The first non-blank line decides the kind.
    let first = loop {
        let mut buffer = Vec::new();
        let n = lines
            .read_until(b'\n', &mut buffer)
            .map_err(|source| IngestError::Io {
                file: name.to_string(),
                source,
            })?;
        if n == 0 {
            return Err(IngestError::Empty {
                file: name.to_string(),
                example: r#"{"record_id": "P1", "given_name": "Amy", "family_name": "Smith"}"#
                    .to_string(),
            });
        }
        bytes += n as u64;
        line += 1;
        if !buffer.iter().all(u8::is_ascii_whitespace) {
            break buffer;
        }
    };
    let keys: Vec<String> =
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&first)
            .map(|object| object.keys().map(|k| map.canonical(k)).collect())
            .unwrap_or_default();
    let kind = ExtractKind::detect(&keys);
    Ok((
        kind,
        Format::Json {
            lines,
            map: map.clone(),
            line,
            bytes,
            pending: Some(first),
            ignored: BTreeSet::new(),
        },
    ))
}

/// Turns one JSON line into canonical field values, or a rejection.
fn json_row(
    kind: ExtractKind,
    line: u64,
    buffer: &[u8],
    map: &ColumnMap,
    ignored: &mut BTreeSet<String>,
) -> Result<Vec<Option<String>>, Box<ParsedRow>> {
    let reject = |field: Option<&str>, code: &str, message: String| {
        Box::new(rejected(line, field, code, message, raw_text(buffer)))
    };
    if buffer.len() > MAX_SUMMARY_BYTES * 4 {
        return Err(reject(
            None,
            "row.too-long",
            format!(
                "line is {} bytes, longer than the {} allowed",
                buffer.len(),
                MAX_SUMMARY_BYTES * 4
            ),
        ));
    }
    let text = std::str::from_utf8(buffer).map_err(|error| {
        reject(
            None,
            "field.encoding",
            format!(
                "line is not valid UTF-8 (byte 0x{:02X} at position {}); re-export the file as UTF-8",
                buffer.get(error.valid_up_to()).copied().unwrap_or(0),
                error.valid_up_to() + 1
            ),
        )
    })?;
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
        .map_err(|error| reject(None, "json.syntax", format!("not a JSON object: {error}")))?;
    let columns = kind.columns();
    let mut values = vec![None; columns.len()];
    for (key, value) in object {
        let canonical = map.canonical(&key);
        let Some(slot) = columns.iter().position(|c| *c == canonical) else {
            ignored.insert(key);
            continue;
        };
        let column = columns[slot];
        let text = match value {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::Bool(b) => Some(b.to_string()),
            serde_json::Value::Array(items) => {
                let mut parts = Vec::new();
                for item in items {
                    match item {
                        serde_json::Value::String(s) => parts.push(s),
                        other => {
                            return Err(reject(
                                Some(column),
                                "json.type",
                                format!(
                                    "field `{column}` holds `{other}` in a list; expected text"
                                ),
                            ));
                        }
                    }
                }
                Some(parts.join(";"))
            }
            serde_json::Value::Object(_) => {
                return Err(reject(
                    Some(column),
                    "json.type",
                    format!("field `{column}` is an object; expected text"),
                ));
            }
        };
        if let Some(text) = &text
            && text.len() > limit_for(column)
        {
            return Err(reject(
                Some(column),
                "field.too-long",
                format!(
                    "field `{column}` is {} bytes, longer than the {} allowed",
                    text.len(),
                    limit_for(column)
                ),
            ));
        }
        values[slot] = text;
    }
    Ok(values)
}

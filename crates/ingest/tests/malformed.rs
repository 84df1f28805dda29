//! Malformed extracts: each gives a clear message and loses no good row.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ingest::{
    ColumnMap, Extract, ExtractKind, IngestError, ParsedRow, ReadOptions, RowValue, Severity,
};

const HEADER: &str = "record_id,given_name,family_name,date_of_birth,sex,postcode,nhs_number,nhs_number_status,upn,pnc_id";

fn read(name: &str, bytes: Vec<u8>) -> Result<Vec<ParsedRow>, IngestError> {
    read_with(name, bytes, &ReadOptions::default())
}

fn read_with(
    name: &str,
    bytes: Vec<u8>,
    options: &ReadOptions,
) -> Result<Vec<ParsedRow>, IngestError> {
    let extract = Extract::from_reader(name, std::io::Cursor::new(bytes), options)?;
    extract.collect()
}

fn loaded(rows: &[ParsedRow]) -> Vec<String> {
    rows.iter()
        .filter_map(|r| match &r.value {
            RowValue::Record { record, .. } => Some(record.local_id.clone()),
            _ => None,
        })
        .collect()
}

/// One line per issue: `line field severity code: message`.
fn report(rows: &[ParsedRow]) -> String {
    rows.iter()
        .flat_map(|r| &r.issues)
        .map(|i| {
            format!(
                "{} {} {} {}: {}",
                i.line,
                i.field.as_deref().unwrap_or("-"),
                if i.severity == Severity::Rejected {
                    "REJECTED"
                } else {
                    "warning"
                },
                i.code,
                i.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn empty_file_says_what_header_is_expected() {
    let error = read("GP_A81001.csv", Vec::new()).unwrap_err();
    assert!(matches!(error, IngestError::Empty { .. }));
    assert!(error.to_string().starts_with(
        "`GP_A81001.csv` is empty: expected a header row such as `source,record_id,given_name"
    ));
    assert!(matches!(
        read("x.ndjson", b"\n\n".to_vec()).unwrap_err(),
        IngestError::Empty { .. }
    ));
}

#[test]
fn wrong_header_names_the_missing_column_and_the_fix() {
    let error = read(
        "GP_A81001.csv",
        b"id,forename,surname\n1,Amy,Smith\n".to_vec(),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "`GP_A81001.csv`: the header has no `record_id` column (found: id, forename, surname); rename the column or use --map record_id=YOUR_COLUMN"
    );
    let options = ReadOptions {
        org: None,
        map: ColumnMap::parse("record_id=id,given_name=forename,family_name=surname").unwrap(),
    };
    let rows = read_with(
        "GP_A81001.csv",
        b"id,forename,surname\n1,Amy,Smith\n".to_vec(),
        &options,
    )
    .unwrap();
    assert_eq!(loaded(&rows), vec!["1"]);
}

#[test]
fn duplicate_columns_are_refused() {
    let error = read(
        "a.csv",
        b"record_id,given_name,Given Name\n1,a,b\n".to_vec(),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "`a.csv`: the header names `given_name` twice"
    );
}

#[test]
fn bad_checksums_drop_only_the_identifier_and_name_the_expected_check() {
    let csv = format!(
        "{HEADER}\n\
         P1,Amy,Smith,14/03/2012,F,LS6 2QT,9434765918,01,A801200005001,2001/0012345J\n\
         P2,Ben,Smith,14/03/2012,M,LS6 2QT,9434765919,01,B801200005001,2001/0012345H\n"
    );
    let rows = read("GP_A81001.csv", csv.into_bytes()).unwrap();
    assert_eq!(loaded(&rows), vec!["P1", "P2"]);
    let RowValue::Record { record, .. } = &rows[0].value else {
        panic!()
    };
    assert!(record.identifiers.is_empty());
    assert_eq!(record.given_name.as_deref(), Some("Amy"));
    let RowValue::Record { record, .. } = &rows[1].value else {
        panic!()
    };
    assert_eq!(record.identifiers.len(), 3);
    assert!(record.identifiers[0].is_verified());
    insta::assert_snapshot!(report(&rows));
}

#[test]
fn bad_dates_are_warnings_for_birth_and_rejections_for_events() {
    let csv = format!(
        "{HEADER}\n\
         P1,Amy,Smith,31/02/2012,F,,,,,\n\
         P2,Ben,Smith,last tuesday,M,,,,,\n\
         P3,Cal,Smith,~2009,M,,,,,\n"
    );
    let rows = read("GP_A81001.csv", csv.into_bytes()).unwrap();
    assert_eq!(loaded(&rows), vec!["P1", "P2", "P3"]);
    let RowValue::Record {
        record,
        birth_date_raw,
    } = &rows[0].value
    else {
        panic!()
    };
    assert_eq!(record.date_of_birth, None);
    assert_eq!(
        birth_date_raw.as_deref(),
        Some("31/02/2012"),
        "kept as evidence"
    );
    assert_eq!(
        rows[0].issues[0].message,
        "field `date_of_birth`: `31/02/2012` is not a real calendar date: day 31 does not exist in month 2 of 2012; loaded without it"
    );
    assert_eq!(rows[1].issues[0].code, "date.format");
    assert!(rows[2].issues.is_empty());

    let entries = "entry_id,record_id,entry_type,occurred_on,category\n\
                   E1,P1,consultation,2024-02-30,health\n\
                   E2,P1,consultation,2024-02-29,health\n";
    let rows = read("GP_A81001.entries.csv", entries.as_bytes().to_vec()).unwrap();
    assert!(matches!(rows[0].value, RowValue::Rejected { .. }));
    assert!(matches!(rows[1].value, RowValue::Entry(_)));
    insta::assert_snapshot!(report(&rows));
}

#[test]
fn broken_quoting_quarantines_the_row_and_keeps_the_rest() {
    let csv = format!(
        "{HEADER}\n\
         P1,Amy,Smith,14/03/2012,F,,,,,\n\
         P2,\"Ben,Smith,14/03/2012,M,,,,,\n\
         P3,Cal,Smith,14/03/2012,M,,,,,\n"
    );
    let rows = read("GP_A81001.csv", csv.into_bytes()).unwrap();
    // The unclosed quote swallows the rest of the file into one field: P1 survives, the damage is
    // reported where it starts.
    assert_eq!(loaded(&rows), vec!["P1"]);
    assert_eq!(rows[1].line, 3);
    assert_eq!(rows[1].issues[0].code, "row.fields");

    let csv = format!(
        "{HEADER}\n\
         P1,Amy,Smith,14/03/2012,F,,,,,\n\
         P2,Ben,O'Neil, Smith,14/03/2012,M,,,,,\n\
         P3,\"Cal \"\"CJ\"\"\",Smith,14/03/2012,M,,,,,\n"
    );
    let rows = read("GP_A81001.csv", csv.into_bytes()).unwrap();
    assert_eq!(loaded(&rows), vec!["P1", "P3"]);
    let RowValue::Record { record, .. } = &rows[2].value else {
        panic!()
    };
    assert_eq!(record.given_name.as_deref(), Some("Cal \"CJ\""));
    insta::assert_snapshot!(report(&rows));
}

#[test]
fn non_utf8_bytes_quarantine_the_row_naming_the_field() {
    let mut bytes = format!("{HEADER}\nP1,Amy,Smith,14/03/2012,F,,,,,\nP2,Zo").into_bytes();
    bytes.push(0xEB); // Latin-1 ë
    bytes.extend_from_slice(b",Smith,14/03/2012,F,,,,,\nP3,Cal,Smith,14/03/2012,M,,,,,\n");
    let rows = read("GP_A81001.csv", bytes).unwrap();
    assert_eq!(loaded(&rows), vec!["P1", "P3"]);
    assert_eq!(
        rows[1].issues[0].message,
        "field `given_name` is not valid UTF-8 (byte 0xEB at position 3); re-export the file as UTF-8"
    );
    let RowValue::Rejected { raw } = &rows[1].value else {
        panic!()
    };
    assert!(raw.starts_with("P2,Zo"));
}

#[test]
fn a_ten_megabyte_field_is_refused_without_losing_neighbours() {
    let mut csv = format!("{HEADER}\nP1,Amy,Smith,14/03/2012,F,,,,,\nP2,Ben,");
    csv.push_str(&"x".repeat(10 * 1024 * 1024));
    csv.push_str(",14/03/2012,M,,,,,\nP3,Cal,Smith,14/03/2012,M,,,,,\n");
    let rows = read("GP_A81001.csv", csv.into_bytes()).unwrap();
    assert_eq!(loaded(&rows), vec!["P1", "P3"]);
    assert_eq!(
        rows[1].issues[0].message,
        "field `family_name` is 10485760 bytes, longer than the 4096 allowed; is a quote left open?"
    );
    let RowValue::Rejected { raw } = &rows[1].value else {
        panic!()
    };
    assert!(
        raw.chars().count() <= 1001,
        "quarantine keeps a bounded excerpt"
    );
}

#[test]
fn a_row_that_names_no_one_is_rejected() {
    let csv = format!("{HEADER}\nP1,,,,U,,9434765918,,,\n,Amy,Smith,,,,,,,\n");
    let rows = read("GP_A81001.csv", csv.into_bytes()).unwrap();
    assert!(loaded(&rows).is_empty());
    insta::assert_snapshot!(report(&rows));
}

#[test]
fn source_comes_from_org_then_column_then_file_name() {
    let csv = "source,record_id,given_name\nSCH_1,P1,Amy\n,P2,Ben\n";
    let rows = read("SCH_2.csv", csv.as_bytes().to_vec()).unwrap();
    let sources: Vec<_> = rows
        .iter()
        .map(|r| match &r.value {
            RowValue::Record { record, .. } => record.source.clone(),
            _ => panic!(),
        })
        .collect();
    assert_eq!(sources, vec!["SCH_1", "SCH_2"]);
    let options = ReadOptions {
        org: Some("SCH_9".into()),
        map: ColumnMap::default(),
    };
    let rows = read_with("SCH_2.csv", csv.as_bytes().to_vec(), &options).unwrap();
    assert!(
        rows.iter().all(
            |r| matches!(&r.value, RowValue::Record { record, .. } if record.source == "SCH_9")
        )
    );
}

#[test]
fn ndjson_reads_the_same_columns() {
    let text = r#"{"record_id": "P1", "given_name": "Amy", "family_name": "Smith", "date_of_birth": "2012-03-14", "nhs_number": 9434765919, "previous_names": ["Jones"], "shoe_size": 3}
not json
{"record_id": "P3", "given_name": {"first": "Cal"}}

{"record_id": "P4", "family_name": "Smith", "nhs_number": "9434765918"}
"#;
    let extract = Extract::from_reader(
        "HOSP_RR8.ndjson",
        std::io::Cursor::new(text.as_bytes().to_vec()),
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(extract.kind(), ExtractKind::Records);
    let mut extract = extract;
    let rows: Vec<ParsedRow> = extract.by_ref().map(Result::unwrap).collect();
    assert_eq!(loaded(&rows), vec!["P1", "P4"]);
    assert_eq!(extract.ignored_columns(), vec!["shoe_size"]);
    let RowValue::Record { record, .. } = &rows[0].value else {
        panic!()
    };
    assert_eq!(record.previous_names, vec!["Jones"]);
    assert_eq!(record.identifiers[0].value, "9434765919");
    insta::assert_snapshot!(report(&rows));
}

#[test]
fn resume_skips_committed_lines_without_revalidating() {
    let csv = format!("{HEADER}\nP1,Amy,Smith,,,,,,,\nP2,,,,,,,,,\nP3,Cal,Smith,,,,,,,\n");
    let mut extract = Extract::from_reader(
        "GP_A81001.csv",
        std::io::Cursor::new(csv.into_bytes()),
        &ReadOptions::default(),
    )
    .unwrap();
    extract.resume_after(3);
    let rows: Vec<ParsedRow> = extract.map(Result::unwrap).collect();
    assert_eq!(loaded(&rows), vec!["P3"]);
    assert!(rows.iter().all(|r| r.issues.is_empty()));
}

#[test]
fn relationship_and_organisation_extracts() {
    let rel = "record_id,related_record_id,relationship,start_date\nC1,M1,parent,2012-03-14\nC1,X1,aunt,\n";
    let rows = read("CSC_E08000035.relationships.csv", rel.as_bytes().to_vec()).unwrap();
    assert!(matches!(&rows[0].value, RowValue::Relationship(r) if r.source == "CSC_E08000035"));
    assert!(matches!(rows[1].value, RowValue::Rejected { .. }));
    let orgs = "code,name,agency_type\nGP_A81001,Mill Lane Surgery,health\nX,Mystery,bakery\n";
    let rows = read("organisations.csv", orgs.as_bytes().to_vec()).unwrap();
    assert!(matches!(&rows[0].value, RowValue::Organisation(o) if o.name == "Mill Lane Surgery"));
    insta::assert_snapshot!(report(&rows));
}

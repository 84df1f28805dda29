//! Property tests: the reader never panics, and well-formed rows always load intact.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ingest::{Extract, ReadOptions, RowValue};
use proptest::prelude::*;

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let mut bytes = b"record_id,given_name,family_name,date_of_birth,nhs_number\n".to_vec();
        bytes.extend(body);
        let extract = Extract::from_reader("GP_X.csv", std::io::Cursor::new(bytes), &ReadOptions::default()).unwrap();
        for row in extract.flatten() {
            // A rejected row always says why.
            if matches!(row.value, RowValue::Rejected { .. }) {
                prop_assert!(!row.issues.is_empty());
            }
        }
    }

    #[test]
    fn arbitrary_json_lines_never_panic(body in "\\PC{0,300}") {
        if let Ok(extract) = Extract::from_reader("GP_X.ndjson", std::io::Cursor::new(body.into_bytes()), &ReadOptions::default()) {
            for _ in extract {}
        }
    }

    #[test]
    fn well_formed_rows_load_with_their_values(
        rows in proptest::collection::vec(
            ("[A-Za-z0-9]{1,12}", "[A-Z][a-z]{1,10}", "[A-Z][a-z]{1,12}(-[A-Z][a-z]{1,8})?", 1u8..=28, 1u8..=12, 1990u16..2025),
            1..40,
        )
    ) {
        let mut csv = String::from("record_id,given_name,family_name,date_of_birth\n");
        let mut ids = std::collections::BTreeSet::new();
        for (id, given, family, day, month, year) in &rows {
            csv.push_str(&format!("{id},\"{given}\",{family},{day:02}/{month:02}/{year}\n"));
            ids.insert(id.clone());
        }
        let extract = Extract::from_reader("GP_X.csv", std::io::Cursor::new(csv.into_bytes()), &ReadOptions::default()).unwrap();
        let parsed: Vec<_> = extract.map(Result::unwrap).collect();
        prop_assert_eq!(parsed.len(), rows.len());
        for (row, (id, given, family, day, month, year)) in parsed.iter().zip(&rows) {
            prop_assert!(row.issues.is_empty(), "{:?}", row.issues);
            let RowValue::Record { record, .. } = &row.value else { panic!("{row:?}") };
            prop_assert_eq!(&record.local_id, id);
            prop_assert_eq!(record.given_name.as_deref(), Some(given.as_str()));
            prop_assert_eq!(record.family_name.as_deref(), Some(family.as_str()));
            prop_assert_eq!(record.date_of_birth.unwrap().to_string(), format!("{year}-{month:02}-{day:02}"));
        }
    }
}

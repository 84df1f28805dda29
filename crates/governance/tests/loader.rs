//! Agreement files: the samples load, and a bad file is refused with a message naming the
//! file, the field and the problem.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;

use governance::loader::{LoadError, load_agreements, load_state};

const GOOD: &str = include_str!("../../../config/agreements/03-early-help.toml");

fn load_one(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("isa.toml"), text).unwrap();
    match load_agreements(dir.path()) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn sample_agreements_all_load() {
    let loaded = load_agreements(&common::agreements_dir()).unwrap();
    let ids: Vec<_> = loaded.iter().map(|l| l.agreement.reference()).collect();
    assert_eq!(
        ids,
        [
            "ISA-LDS-DIRECT-CARE@3",
            "ISA-LDS-MASH@5",
            "ISA-LDS-EARLY-HELP@2",
            "ISA-LDS-SUPPORTING-FAMILIES@1",
            "ISA-WYP-SAFEGUARDING@2",
        ]
    );
}

#[test]
fn unknown_lawful_basis_names_file_line_and_field() {
    let message = load_one(&GOOD.replace(r#"art9 = "explicit_consent""#, r#"art9 = "implied""#));
    assert!(message.starts_with("invalid agreement file `"), "{message}");
    assert!(message.contains("isa.toml"), "{message}");
    assert!(
        message.contains("field `purposes.early_help.art9`"),
        "{message}"
    );
    assert!(message.contains("unknown variant `implied`"), "{message}");
}

#[test]
fn unknown_field_name_in_profile_is_named() {
    let message = load_one(&GOOD.replace(r#""school","#, r#""shoe_size","#));
    assert!(message.contains("purposes.early_help.fields"), "{message}");
    assert!(message.contains("shoe_size"), "{message}");
}

#[test]
fn missing_owner_is_named() {
    let text: String = GOOD
        .lines()
        .filter(|l| !l.starts_with("owner"))
        .map(|l| format!("{l}\n"))
        .collect();
    let message = load_one(&text);
    assert!(message.contains("missing field `owner`"), "{message}");
}

#[test]
fn review_after_end_is_named() {
    let message = load_one(&GOOD.replace("review = 2026-08-01", "review = 2027-08-01"));
    assert!(message.contains("isa.toml"), "{message}");
    assert!(message.contains("field `review`"), "{message}");
    assert!(message.contains("must fall between start"), "{message}");
}

#[test]
fn field_above_max_tier_is_named() {
    let message = load_one(&GOOD.replace(
        r#""safeguarding_flags","#,
        r#""safeguarding_flags", "case_notes","#,
    ));
    assert!(
        message.contains("`purposes.early_help.fields`"),
        "{message}"
    );
    assert!(
        message.contains("`case_notes` is above max_tier `summary`"),
        "{message}"
    );
}

#[test]
fn health_without_an_art9_condition_is_refused() {
    let message = load_one(&GOOD.replace("art9 = \"explicit_consent\"\n", ""));
    assert!(message.contains("`purposes.early_help.art9`"), "{message}");
    assert!(message.contains("special category"), "{message}");
}

#[test]
fn same_id_and_version_in_two_files_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.toml"), GOOD).unwrap();
    fs::write(dir.path().join("b.toml"), GOOD).unwrap();
    let error = load_agreements(dir.path()).unwrap_err();
    assert!(matches!(error, LoadError::Duplicate { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("a.toml") && message.contains("b.toml"),
        "{message}"
    );
}

#[test]
fn an_empty_directory_is_an_error_not_an_empty_policy() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        load_agreements(dir.path()),
        Err(LoadError::Empty { .. })
    ));
}

#[test]
fn state_round_trips_through_json() {
    let dir = tempfile::tempdir().unwrap();
    let agreements = dir.path().join("agreements");
    fs::create_dir(&agreements).unwrap();
    fs::write(agreements.join("eh.toml"), GOOD).unwrap();
    let scenario = common::Scenario {
        actor: "eh".into(),
        purpose: Some(governance::Purpose::EarlyHelp),
        holder: "B86001".into(),
        category: governance::DataCategory::Health,
        tier: governance::Tier::Summary,
        age: Some(14),
        competence: Some(true),
        consent: "child".into(),
        relationship: "team".into(),
        flags: vec!["optout".into(), "bg".into()],
    };
    let (mut records, _) = scenario.build(&[]);
    records.agreements.clear();
    fs::write(
        dir.path().join("state.json"),
        serde_json::to_string_pretty(&records).unwrap(),
    )
    .unwrap();
    let state = load_state(dir.path(), None).unwrap();
    assert_eq!(state.records().agreements.len(), 1);
    assert_eq!(state.records().consents, records.consents);
    assert!(state.is_opted_out(common::CHILD));
    assert!(state.competence_for(common::CHILD).unwrap().competent);
    assert_eq!(state.break_glass_for(common::CHILD).count(), 1);
}

//! End-to-end checks of `synth::generate`: determinism, identifiers, ground truth and rates.

// The helpers below are test code too; clippy only recognises `#[test]` functions as such.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use synth::{SynthConfig, SynthSummary, generate};

type Row = BTreeMap<String, String>;

fn read_csv(path: &Path) -> Vec<Row> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            headers
                .iter()
                .zip(record.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn header(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string()
}

fn run(config: &SynthConfig) -> (tempfile::TempDir, SynthSummary) {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(config, dir.path(), &mut |_| {}).unwrap();
    (dir, summary)
}

fn person_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.ends_with(".csv") && name.matches('.').count() == 1 && name != "organisations.csv"
        })
        .collect();
    files.sort();
    files
}

/// All agency person records, keyed by (source, record_id).
fn agency_records(dir: &Path) -> BTreeMap<(String, String), Row> {
    let mut all = BTreeMap::new();
    for file in person_files(dir) {
        for row in read_csv(&file) {
            let key = (row["source"].clone(), row["record_id"].clone());
            assert!(all.insert(key, row).is_none(), "duplicate record id");
        }
    }
    all
}

fn tags(row: &Row) -> BTreeSet<String> {
    row["hard_cases"]
        .split(';')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn same_seed_gives_byte_identical_files() {
    let config = SynthConfig {
        records: 4_000,
        ..SynthConfig::default()
    };
    let (a, summary_a) = run(&config);
    let (b, summary_b) = run(&config);
    assert_eq!(summary_a.records, summary_b.records);
    assert_eq!(summary_a.hard_cases, summary_b.hard_cases);
    let files_a = all_files(a.path());
    let files_b = all_files(b.path());
    assert_eq!(files_a.len(), files_b.len());
    for (fa, fb) in files_a.iter().zip(&files_b) {
        assert_eq!(fa.strip_prefix(a.path()), fb.strip_prefix(b.path()));
        assert!(
            fs::read(fa).unwrap() == fs::read(fb).unwrap(),
            "{fa:?} differs"
        );
    }
    let other = SynthConfig { seed: 7, ..config };
    let (c, _) = run(&other);
    let truth = |dir: &Path| fs::read(dir.join("truth/persons.csv")).unwrap();
    assert_ne!(truth(a.path()), truth(c.path()));
}

#[test]
fn record_count_is_within_five_percent_of_the_target() {
    for target in [300u64, 5_000, 20_000] {
        let config = SynthConfig {
            records: target,
            ..SynthConfig::default()
        };
        let (dir, summary) = run(&config);
        let written = agency_records(dir.path()).len() as u64;
        assert_eq!(written, summary.records);
        assert!(
            written.abs_diff(target) * 20 <= target,
            "{written} records for a target of {target}"
        );
    }
}

#[test]
fn files_have_the_agreed_columns_and_organisation_prefixes() {
    let (dir, summary) = run(&SynthConfig {
        records: 3_000,
        ..SynthConfig::default()
    });
    let dir = dir.path();
    let organisations = read_csv(&dir.join("organisations.csv"));
    assert!(organisations.len() >= 7);
    let mut kinds = BTreeSet::new();
    for org in &organisations {
        let code = &org["code"];
        let expected = match code.split('_').next().unwrap() {
            "GP" | "HOSP" => "health",
            "SCH" => "education",
            "CSC" => "social-care",
            "POL" => "police",
            "HOU" => "housing",
            other => panic!("unexpected prefix {other}"),
        };
        assert_eq!(org["agency_type"], expected);
        kinds.insert(expected);
        let persons = dir.join(format!("{code}.csv"));
        assert_eq!(
            header(&persons),
            "source,record_id,given_name,middle_names,family_name,previous_names,date_of_birth,sex,address,town,postcode,uprn,nhs_number,nhs_number_status,upn,former_upns,pnc_id"
        );
        let ids: BTreeSet<String> = read_csv(&persons)
            .into_iter()
            .map(|r| {
                assert_eq!(&r["source"], code);
                r["record_id"].clone()
            })
            .collect();
        let entries = dir.join(format!("{code}.entries.csv"));
        assert_eq!(
            header(&entries),
            "source,entry_id,record_id,entry_type,occurred_on,ended_on,category,sensitivity,summary"
        );
        for entry in read_csv(&entries) {
            assert!(ids.contains(&entry["record_id"]));
            assert!(["normal", "sensitive", "restricted"].contains(&entry["sensitivity"].as_str()));
            assert_eq!(entry["occurred_on"].len(), 10);
        }
        let relationships = dir.join(format!("{code}.relationships.csv"));
        if relationships.exists() {
            assert_eq!(
                header(&relationships),
                "source,record_id,related_record_id,relationship,start_date,end_date"
            );
            for relation in read_csv(&relationships) {
                assert!(ids.contains(&relation["record_id"]));
                assert!(ids.contains(&relation["related_record_id"]));
                assert!(
                    relation["relationship"]
                        .parse::<model::RelationshipKind>()
                        .is_ok()
                );
            }
        }
    }
    assert_eq!(kinds.len(), 5, "{kinds:?}");
    assert!(dir.join("GP_L81000.relationships.csv").exists());
    assert_eq!(
        header(&dir.join("truth/persons.csv")),
        "person_id,household_id,given_name,family_name,date_of_birth,sex,nhs_number"
    );
    assert_eq!(
        header(&dir.join("truth/relationships.csv")),
        "person_id,related_person_id,relationship"
    );
    assert!(summary.entries > 0 && summary.relationships > 0);
    assert_eq!(summary.files.len(), all_files(dir).len());
}

#[test]
fn truth_covers_every_record_exactly_once_and_tag_counts_match() {
    let (dir, summary) = run(&SynthConfig {
        records: 6_000,
        ..SynthConfig::default()
    });
    let records = agency_records(dir.path());
    let truth = read_csv(&dir.path().join("truth/records.csv"));
    let persons: BTreeSet<String> = read_csv(&dir.path().join("truth/persons.csv"))
        .into_iter()
        .map(|p| p["person_id"].clone())
        .collect();
    assert_eq!(persons.len() as u64, summary.persons);
    let mut seen = BTreeSet::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for row in &truth {
        let key = (row["source"].clone(), row["record_id"].clone());
        assert!(records.contains_key(&key), "{key:?} not in any extract");
        assert!(seen.insert(key), "record in truth twice");
        assert!(persons.contains(&row["person_id"]));
        for tag in tags(row) {
            *counts.entry(tag).or_insert(0) += 1;
        }
    }
    assert_eq!(seen.len(), records.len());
    assert_eq!(counts, summary.hard_cases);
    for relation in read_csv(&dir.path().join("truth/relationships.csv")) {
        assert!(persons.contains(&relation["person_id"]));
        assert!(persons.contains(&relation["related_person_id"]));
    }
}

#[test]
fn identifiers_validate_unless_tagged_invalid() {
    let mut config = SynthConfig {
        records: 20_000,
        ..SynthConfig::default()
    };
    config.rates.invalid_nhs = 0.01;
    let (dir, _) = run(&config);
    let records = agency_records(dir.path());
    let truth: BTreeMap<(String, String), BTreeSet<String>> =
        read_csv(&dir.path().join("truth/records.csv"))
            .iter()
            .map(|r| ((r["source"].clone(), r["record_id"].clone()), tags(r)))
            .collect();
    let (mut nhs, mut upns, mut pncs, mut invalid) = (0, 0, 0, 0);
    for (key, row) in &records {
        let tags = &truth[key];
        if !row["nhs_number"].is_empty() {
            nhs += 1;
            if row["nhs_number"].parse::<model::NhsNumber>().is_err() {
                assert!(
                    tags.contains("invalid_nhs"),
                    "{key:?} {}",
                    row["nhs_number"]
                );
                invalid += 1;
            } else {
                assert!(!tags.contains("invalid_nhs"));
            }
        }
        for upn in std::iter::once(row["upn"].as_str()).chain(row["former_upns"].split(';')) {
            if !upn.is_empty() {
                upns += 1;
                assert!(upn.parse::<model::Upn>().is_ok(), "{upn}");
            }
        }
        if !row["pnc_id"].is_empty() {
            pncs += 1;
            assert!(
                row["pnc_id"].parse::<model::PncId>().is_ok(),
                "{}",
                row["pnc_id"]
            );
        }
        // Every other field reads back with Kith's own parsers.
        assert!(model::Sex::parse_lenient(&row["sex"]).is_ok());
        assert!(
            row["postcode"].parse::<model::Postcode>().is_ok(),
            "{}",
            row["postcode"]
        );
        assert!(
            row["date_of_birth"].parse::<model::PartialDate>().is_ok(),
            "{}",
            row["date_of_birth"]
        );
        if row["source"].starts_with("SCH_") {
            assert!(!row["upn"].is_empty());
        }
    }
    assert!(
        nhs > 8_000 && upns > 3_000 && pncs > 10 && invalid > 20,
        "{nhs} {upns} {pncs} {invalid}"
    );
}

#[test]
fn twins_share_surname_birth_date_and_postcode_but_not_given_name() {
    let mut config = SynthConfig {
        records: 8_000,
        ..SynthConfig::default()
    };
    config.rates.twins = 0.2;
    let (dir, _) = run(&config);
    let persons: BTreeMap<String, Row> = read_csv(&dir.path().join("truth/persons.csv"))
        .into_iter()
        .map(|p| (p["person_id"].clone(), p))
        .collect();
    let records = agency_records(dir.path());
    let mut by_birth: BTreeMap<(String, String), Vec<&Row>> = BTreeMap::new();
    for person in persons.values() {
        by_birth
            .entry((
                person["household_id"].clone(),
                person["date_of_birth"].clone(),
            ))
            .or_default()
            .push(person);
    }
    let mut twins = BTreeSet::new();
    let mut gp_postcode: BTreeMap<String, String> = BTreeMap::new();
    for row in read_csv(&dir.path().join("truth/records.csv")) {
        let tags = tags(&row);
        if !tags.contains("twin") {
            continue;
        }
        let person = &persons[&row["person_id"]];
        twins.insert((
            person["household_id"].clone(),
            person["date_of_birth"].clone(),
        ));
        let record = &records[&(row["source"].clone(), row["record_id"].clone())];
        if row["source"].starts_with("GP_")
            && !tags.contains("house_move")
            && !tags.contains("sloppy_postcode")
        {
            gp_postcode.insert(row["person_id"].clone(), record["postcode"].clone());
        }
    }
    assert!(twins.len() > 50, "{}", twins.len());
    let mut compared_postcodes = 0;
    for birth in &twins {
        let pair = &by_birth[birth];
        assert_eq!(pair.len(), 2, "twins come in pairs");
        assert_eq!(pair[0]["family_name"], pair[1]["family_name"]);
        assert_eq!(pair[0]["date_of_birth"], pair[1]["date_of_birth"]);
        assert_ne!(pair[0]["given_name"], pair[1]["given_name"]);
        if let (Some(a), Some(b)) = (
            gp_postcode.get(&pair[0]["person_id"]),
            gp_postcode.get(&pair[1]["person_id"]),
        ) {
            assert_eq!(a, b);
            compared_postcodes += 1;
        }
    }
    assert!(compared_postcodes > 30, "{compared_postcodes}");
}

/// Observed share `count / of` must be within a factor of the configured rate.
fn assert_rate(tag: &str, count: u64, of: u64, rate: f64, low: f64, high: f64) {
    let observed = count as f64 / of.max(1) as f64;
    assert!(
        observed >= rate * low && observed <= rate * high,
        "{tag}: {count} of {of} = {observed:.4}, configured {rate}"
    );
}

#[test]
fn hard_cases_occur_at_their_configured_rates() {
    let mut config = SynthConfig {
        records: 20_000,
        ..SynthConfig::default()
    };
    // Raise the rare cases so a small run measures them.
    config.rates.triplets = 0.01;
    config.rates.wrong_valid_nhs = 0.01;
    config.rates.invalid_nhs = 0.005;
    config.rates.age_disputed = 0.01;
    config.rates.duplicate_record = 0.05;
    config.rates.temporary_upn = 0.02;
    let rates = config.rates.clone();
    let (dir, summary) = run(&config);
    let dir = dir.path();
    let persons: BTreeMap<String, Row> = read_csv(&dir.join("truth/persons.csv"))
        .into_iter()
        .map(|p| (p["person_id"].clone(), p))
        .collect();
    let records = agency_records(dir);
    let truth = read_csv(&dir.join("truth/records.csv"));
    let n = truth.len() as u64;
    let count = |tag: &str| summary.hard_cases.get(tag).copied().unwrap_or(0);

    // Every hard case is present.
    for tag in [
        "typo",
        "ocr",
        "nickname",
        "name_swap",
        "hyphenated_surname",
        "surname_change",
        "house_move",
        "day_month_transposed",
        "partial_dob",
        "estimated_dob",
        "missing_nhs",
        "wrong_valid_nhs",
        "invalid_nhs",
        "upn_change",
        "school_move",
        "temporary_upn",
        "twin",
        "triplet",
        "close_sibling",
        "baby_of",
        "duplicate_record",
        "sloppy_postcode",
        "known_by_middle_name",
    ] {
        assert!(count(tag) > 0, "no `{tag}` records");
    }

    // Per-record rates.
    assert_rate("typo", count("typo"), n, rates.typo, 0.7, 1.2);
    assert_rate("ocr", count("ocr"), n, rates.ocr, 0.5, 1.5);
    assert_rate("nickname", count("nickname"), n, rates.nickname, 0.6, 1.4);
    assert_rate(
        "name_swap",
        count("name_swap"),
        n,
        rates.name_swap,
        0.5,
        2.5,
    );
    assert_rate(
        "partial_dob",
        count("partial_dob"),
        n,
        rates.partial_dob,
        0.6,
        1.4,
    );
    assert_rate(
        "sloppy_postcode",
        count("sloppy_postcode"),
        n,
        rates.sloppy_postcode,
        0.7,
        1.3,
    );

    // Rates of a subset of records.
    let (mut eligible_dates, mut transposed) = (0, 0);
    let (mut health, mut health_missing, mut other, mut other_missing) = (0, 0, 0, 0);
    let (mut with_nhs, mut wrong, mut invalid) = (0, 0, 0);
    let (mut hospital, mut duplicates) = (0, 0);
    let mut households_moved = BTreeSet::new();
    let mut households_twins = BTreeSet::new();
    let mut households_triplets = BTreeSet::new();
    for row in &truth {
        let tags = tags(row);
        let person = &persons[&row["person_id"]];
        let record = &records[&(row["source"].clone(), row["record_id"].clone())];
        if tags.contains("baby_of") {
            continue;
        }
        let dob = &person["date_of_birth"];
        let (month, day): (u32, u32) = (dob[5..7].parse().unwrap(), dob[8..10].parse().unwrap());
        if day <= 12 && day != month && !tags.contains("estimated_dob") {
            eligible_dates += 1;
            transposed += u64::from(tags.contains("day_month_transposed"));
        }
        let is_health = row["source"].starts_with("GP_") || row["source"].starts_with("HOSP_");
        let missing = tags.contains("missing_nhs");
        if is_health {
            health += 1;
            health_missing += u64::from(missing);
        } else {
            other += 1;
            other_missing += u64::from(missing);
        }
        if !record["nhs_number"].is_empty() {
            with_nhs += 1;
            wrong += u64::from(tags.contains("wrong_valid_nhs"));
            invalid += u64::from(tags.contains("invalid_nhs"));
        }
        if row["source"].starts_with("HOSP_") {
            hospital += 1;
            duplicates += u64::from(tags.contains("duplicate_record"));
        }
        let household = person["household_id"].clone();
        if tags.contains("house_move") {
            households_moved.insert(household.clone());
        }
        if tags.contains("twin") {
            households_twins.insert(household.clone());
        }
        if tags.contains("triplet") {
            households_triplets.insert(household);
        }
    }
    assert_rate(
        "day_month_transposed",
        transposed,
        eligible_dates,
        rates.day_month_transposed,
        0.6,
        1.4,
    );
    assert_rate(
        "missing_nhs (health)",
        health_missing,
        health,
        rates.missing_nhs_in_health,
        0.5,
        1.6,
    );
    assert_rate(
        "missing_nhs (other)",
        other_missing,
        other,
        rates.missing_nhs_outside_health,
        0.9,
        1.1,
    );
    assert_rate(
        "wrong_valid_nhs",
        wrong,
        with_nhs,
        rates.wrong_valid_nhs,
        0.6,
        1.4,
    );
    assert_rate(
        "invalid_nhs",
        invalid,
        with_nhs,
        rates.invalid_nhs,
        0.5,
        1.5,
    );
    assert_rate(
        "duplicate_record",
        duplicates,
        hospital,
        rates.duplicate_record,
        0.6,
        1.4,
    );

    // Household rates.
    let households = summary.households;
    assert_rate(
        "house_move",
        households_moved.len() as u64,
        households,
        rates.house_move,
        0.6,
        1.2,
    );
    assert_rate(
        "twins",
        households_twins.len() as u64,
        households,
        rates.twins,
        0.5,
        1.5,
    );
    assert_rate(
        "triplets",
        households_triplets.len() as u64,
        households,
        rates.triplets,
        0.4,
        1.6,
    );
}

#[test]
fn baby_of_records_belong_to_a_named_child_and_carry_no_nhs_number() {
    let mut config = SynthConfig {
        records: 6_000,
        ..SynthConfig::default()
    };
    config.rates.baby_of = 1.0;
    let (dir, _) = run(&config);
    let records = agency_records(dir.path());
    let truth = read_csv(&dir.path().join("truth/records.csv"));
    let mut babies = 0;
    for row in &truth {
        if !tags(row).contains("baby_of") {
            continue;
        }
        babies += 1;
        let record = &records[&(row["source"].clone(), row["record_id"].clone())];
        assert!(record["nhs_number"].is_empty());
        let given = &record["given_name"];
        assert!(given.is_empty() || given.starts_with("Baby"), "{given}");
        let dob = &record["date_of_birth"];
        assert!(dob.starts_with('~') || dob.len() == 7, "{dob}");
        // The same person has a named record somewhere else.
        assert!(truth.iter().any(|other| {
            other["person_id"] == row["person_id"]
                && !tags(other).contains("baby_of")
                && !records[&(other["source"].clone(), other["record_id"].clone())]["given_name"]
                    .is_empty()
        }));
    }
    assert!(babies > 20, "{babies}");
}

#[test]
fn progress_is_reported_every_few_thousand_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut calls = Vec::new();
    let config = SynthConfig {
        records: 12_000,
        ..SynthConfig::default()
    };
    let summary = generate(&config, dir.path(), &mut |n| calls.push(n)).unwrap();
    assert!((3..=5).contains(&calls.len()), "{calls:?}");
    assert_eq!(calls.last(), Some(&summary.records));
    assert!(calls.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn an_unwritable_output_folder_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-folder");
    fs::write(&blocker, "x").unwrap();
    let error = generate(&SynthConfig::default(), &blocker, &mut |_| {}).unwrap_err();
    assert!(error.to_string().contains("not-a-folder"), "{error}");
}

#[test]
fn an_empty_run_writes_headers_only() {
    let (dir, summary) = run(&SynthConfig {
        records: 0,
        ..SynthConfig::default()
    });
    assert_eq!(summary.records, 0);
    assert_eq!(read_csv(&dir.path().join("truth/records.csv")).len(), 0);
    assert!(read_csv(&dir.path().join("organisations.csv")).len() >= 7);
}

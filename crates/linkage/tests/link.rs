//! The engine end to end on small hand-made populations: constraints, explanations, models.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use linkage::{Constraint, InputRecord, LinkConfig, Model, link};

/// 400 people seen by a GP and a school, with different date formats.
fn population() -> Vec<InputRecord> {
    let given = [
        "Chidi", "Amy", "Oliver", "Zara", "Tom", "Priya", "Jack", "Ella", "Ali", "Mia",
    ];
    let family = [
        "Okafor", "Smith", "Khan", "Nowak", "Evans", "Patel", "Jones", "Byrne",
    ];
    let mut inputs = Vec::new();
    for i in 0..400usize {
        for source in ["GP", "SCH"] {
            let (d, m, y) = (i % 28 + 1, i % 12 + 1, i % 17);
            inputs.push(InputRecord {
                source: source.into(),
                record_id: format!("{source}{i}"),
                given_name: Some(given[i % 10].into()),
                family_name: Some(family[(i / 10) % 8].into()),
                date_of_birth: Some(if source == "GP" {
                    format!("{d:02}/{m:02}/20{y:02}")
                } else {
                    format!("20{y:02}-{m:02}-{d:02}")
                }),
                sex: Some(if i % 2 == 0 { "F" } else { "M" }.into()),
                postcode: Some(format!("LS{} {}AB", i % 9 + 1, i % 7 + 1)),
                ..InputRecord::default()
            });
        }
    }
    inputs
}

fn index_of(inputs: &[InputRecord], id: &str) -> usize {
    inputs.iter().position(|r| r.record_id == id).unwrap()
}

#[test]
fn the_same_child_links_across_agencies_and_formats() {
    let inputs = population();
    let output = link(inputs.clone(), &LinkConfig::default(), &mut |_| {});
    for i in 0..400 {
        assert_eq!(
            output.clusters[2 * i],
            output.clusters[2 * i + 1],
            "person {i}"
        );
    }
    assert_eq!(output.summary.clusters, 400);
}

#[test]
fn constraints_keep_twins_parents_and_conflicting_nhs_numbers_apart() {
    let mut inputs = population();
    let base = inputs[0].clone(); // Chidi Okafor, GP
    // A twin: same family name, birth date and postcode; a different given name.
    inputs.push(InputRecord {
        record_id: "TWIN".into(),
        given_name: Some("Ada".into()),
        ..base.clone()
    });
    // A parent with the same names, at the same address, thirty years older.
    inputs.push(InputRecord {
        record_id: "PARENT".into(),
        date_of_birth: Some("01/01/1975".into()),
        ..base.clone()
    });
    // The same demographics as Chidi in two more records, but conflicting verified NHS numbers.
    inputs.push(InputRecord {
        source: "HOSP".into(),
        record_id: "H1".into(),
        nhs_number: Some("9434765919".into()),
        ..base.clone()
    });
    inputs.push(InputRecord {
        source: "HOSP".into(),
        record_id: "H2".into(),
        nhs_number: Some("1000000060".into()),
        ..base.clone()
    });
    let output = link(inputs.clone(), &LinkConfig::default(), &mut |_| {});
    let cluster = |id: &str| output.clusters[index_of(&inputs, id)];
    assert_ne!(cluster("GP0"), cluster("TWIN"));
    assert_ne!(cluster("GP0"), cluster("PARENT"));
    assert_ne!(
        cluster("H1"),
        cluster("H2"),
        "conflicting verified NHS numbers never join"
    );
    assert_eq!(cluster("GP0"), cluster("SCH0"));
    let prevented: Vec<Constraint> = output.prevented.iter().map(|p| p.constraint).collect();
    assert!(
        prevented.contains(&Constraint::ConflictingNhsNumber),
        "{prevented:?}"
    );

    // With an unverified status the numbers are evidence, not a hard conflict.
    let explanation = output.explain(
        &LinkConfig::default(),
        index_of(&inputs, "GP0"),
        index_of(&inputs, "TWIN"),
    );
    assert_eq!(explanation.constraint, Some(Constraint::TwinPattern));
}

#[test]
fn explanation_is_a_stable_waterfall() {
    let mut inputs = population();
    inputs[5].given_name = Some("Olivr".into()); // SCH2: a typo of Oliver
    let config = LinkConfig::default();
    let output = link(inputs.clone(), &config, &mut |_| {});
    let explanation = output.explain(&config, 4, 5);
    insta::assert_snapshot!(explanation.to_string());
    insta::assert_json_snapshot!(explanation);
}

#[test]
fn a_saved_model_reloads_and_gives_the_same_clusters() {
    let inputs = population();
    let trained = link(inputs.clone(), &LinkConfig::default(), &mut |_| {});
    let text = trained.model.to_json();
    let model = Model::from_json(&text).unwrap();
    assert_eq!(model.to_json(), text);
    let reused = link(
        inputs.clone(),
        &LinkConfig {
            model: Some(model),
            ..LinkConfig::default()
        },
        &mut |_| {},
    );
    assert_eq!(reused.clusters, trained.clusters);
    assert!(!reused.summary.model_trained);

    let broken = text.replacen("\"m\": ", "\"m\": -", 1);
    let error = Model::from_json(&broken).unwrap_err().to_string();
    assert!(error.contains("both must be in (0, 1]"), "{error}");
    assert!(Model::from_json("{}").is_err());
}

#[test]
fn runs_are_deterministic() {
    let inputs = population();
    let a = link(inputs.clone(), &LinkConfig::default(), &mut |_| {});
    let b = link(inputs.clone(), &LinkConfig::default(), &mut |_| {});
    assert_eq!(a.clusters, b.clusters);
    assert_eq!(a.model, b.model);
    let weights = |o: &linkage::LinkOutput| {
        o.pairs
            .iter()
            .map(|p| (p.a, p.b, p.weight.to_bits()))
            .collect::<Vec<_>>()
    };
    assert_eq!(weights(&a), weights(&b));
}

#[test]
fn unreadable_values_are_counted_not_fatal() {
    let mut inputs = population();
    inputs[0].date_of_birth = Some("31/02/2012".into());
    inputs[1].nhs_number = Some("9434765918".into());
    inputs[2].postcode = Some("75001 Paris".into());
    inputs[3].given_name = Some("Baby".into());
    let output = link(inputs.clone(), &LinkConfig::default(), &mut |_| {});
    let u = &output.summary.unreadable;
    assert_eq!(
        (
            u.unreadable_dates,
            u.invalid_nhs_numbers,
            u.non_uk_postcodes,
            u.placeholder_given_names
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(output.clusters.len(), inputs.len());
}

#[test]
fn link_mode_compares_only_across_sources() {
    let mut inputs = population();
    // A duplicate within the GP source.
    inputs.push(InputRecord {
        record_id: "GP0-dup".into(),
        ..inputs[0].clone()
    });
    let link_only = link(
        inputs.clone(),
        &LinkConfig {
            mode: linkage::Mode::Link,
            ..LinkConfig::default()
        },
        &mut |_| {},
    );
    let both = link(inputs.clone(), &LinkConfig::default(), &mut |_| {});
    let dup = inputs.len() - 1;
    let linked_pair = |o: &linkage::LinkOutput| {
        o.pairs
            .iter()
            .any(|p| (p.a as usize, p.b as usize) == (0, dup))
    };
    assert!(!linked_pair(&link_only));
    assert!(linked_pair(&both));
}

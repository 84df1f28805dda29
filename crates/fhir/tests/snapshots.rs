//! The JSON of one example of each resource kind, as snapshots a reviewer can read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod examples;

use fhir::{Resource, Transaction};

#[test]
fn every_example_resource_serialises_as_recorded() {
    for (name, resource) in examples::all() {
        insta::assert_json_snapshot!(name, resource);
    }
}

#[test]
fn every_example_reads_back_to_the_same_value() {
    for (name, resource) in examples::all() {
        let text = serde_json::to_string(&resource).unwrap();
        let back: Resource = serde_json::from_str(&text).unwrap();
        assert_eq!(back, resource, "{name}");
    }
}

#[test]
fn the_example_transaction_is_accepted_by_the_transaction_reader() {
    let json = serde_json::to_value(examples::transaction()).unwrap();
    let transaction = Transaction::from_value(&json).unwrap();
    assert_eq!(transaction.entries.len(), 2);
}

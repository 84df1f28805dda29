//! Independent validation: every kind of resource Kith writes is parsed by the Python
//! `fhir.resources` models of FHIR R4 (4.0.1), which know nothing of our serde types.
//!
//! `fhir.resources` 6.2.x is the last line whose default models are plain R4 (6.4 moved to R4B,
//! 7 and later to R5 with an R4B subpackage only); it needs pydantic 1. Both are pinned in
//! `python_env` and installed into a virtual environment under the cargo target directory on
//! first run. If that install fails the tests print why and pass, unless
//! `KITH_REQUIRE_FHIR_VALIDATION=1`, when they fail. `KITH_PYTHON` names the Python to build the
//! environment with (default `python3`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod examples;
mod python_env;

use std::path::Path;
use std::process::{Command, Output};

use python_env::validator;

fn validate(python: &Path, dir: &Path) -> Output {
    Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validate.py"))
        .arg(dir)
        .output()
        .unwrap()
}

fn write(dir: &Path, name: &str, json: &serde_json::Value) {
    std::fs::write(
        dir.join(format!("{name}.json")),
        serde_json::to_string_pretty(json).unwrap(),
    )
    .unwrap();
}

#[test]
fn every_resource_kind_is_valid_fhir_r4() {
    let Some(python) = validator() else { return };
    let dir = tempfile::tempdir().unwrap();
    let examples = examples::all();
    for (name, resource) in &examples {
        write(dir.path(), name, &serde_json::to_value(resource).unwrap());
    }
    let output = validate(&python, dir.path());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "validator refused Kith's JSON:\n{stdout}{stderr}"
    );
    assert!(
        stdout.contains(&format!("{} valid, 0 invalid", examples.len())),
        "{stdout}"
    );
    for kind in [
        "Patient",
        "Bundle",
        "Parameters",
        "OperationOutcome",
        "CapabilityStatement",
        "Consent",
        "Flag",
        "AuditEvent",
        "Encounter",
    ] {
        assert!(
            stdout.contains(&format!(" {kind}\n")),
            "{kind} not checked:\n{stdout}"
        );
    }
}

#[test]
fn the_validator_rejects_an_invalid_resource() {
    let Some(python) = validator() else { return };
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "patient",
        &serde_json::to_value(examples::patient()).unwrap(),
    );
    // The kind of slip hand-written types could make: a misspelt element and a missing
    // required one.
    let mut misspelt = serde_json::to_value(examples::patient()).unwrap();
    let birth_date = misspelt
        .as_object_mut()
        .unwrap()
        .remove("birthDate")
        .unwrap();
    misspelt["birthdate"] = birth_date;
    write(dir.path(), "patient-misspelt", &misspelt);
    let mut no_subject = serde_json::to_value(examples::flag()).unwrap();
    no_subject.as_object_mut().unwrap().remove("subject");
    write(dir.path(), "flag-without-subject", &no_subject);

    let output = validate(&python, dir.path());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("1 valid, 2 invalid"), "{stdout}");
    assert!(stderr.contains("INVALID patient-misspelt.json"), "{stderr}");
    assert!(stderr.contains("birthdate"), "{stderr}");
    assert!(
        stderr.contains("INVALID flag-without-subject.json"),
        "{stderr}"
    );
    assert!(stderr.contains("subject"), "{stderr}");
}

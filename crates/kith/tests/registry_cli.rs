//! The registry from the command line: ingest links as it stores, then a steward looks people
//! up, reviews possible matches, merges, and reads linkage quality.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn kith(&self, args: &[&str]) -> Output {
        Command::cargo_bin("kith")
            .unwrap()
            .current_dir(self.dir.path())
            .env("KITH_DB", "sqlite:kith.db")
            .env("USER", "steward-ann")
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.kith(args);
        assert!(
            output.status.success(),
            "kith {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    fn extracts(&self) -> Vec<String> {
        let mut files: Vec<String> = std::fs::read_dir(self.dir.path().join("data"))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "csv"))
            .map(|p| p.display().to_string())
            .collect();
        files.sort();
        files
    }
}

fn workspace() -> Workspace {
    let ws = Workspace {
        dir: tempfile::tempdir().unwrap(),
    };
    ws.ok(&["synth", "--records", "1500", "--seed", "3", "--out", "data"]);
    ws
}

#[test]
fn ingest_links_and_a_steward_works_the_registry() {
    let ws = workspace();
    let files = ws.extracts();
    let mut args = vec!["ingest"];
    args.extend(files.iter().map(String::as_str));
    let text = ws.ok(&args);
    assert!(text.contains("(initial load)"), "{text}");
    assert!(text.contains("trained and saved model version 1"), "{text}");

    // Every record has a person; the export evaluates against the ground truth.
    ws.ok(&["registry", "export", "--out", "persons.csv"]);
    let eval = ws.ok(&[
        "evaluate",
        "--clusters",
        "persons.csv",
        "--truth",
        "data/truth/records.csv",
    ]);
    let f1: f64 = eval
        .split("F1 ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|t| t.parse().ok())
        .unwrap();
    assert!(f1 > 0.95, "{eval}");

    // Re-ingesting the same extracts links nothing new and changes no identifier.
    let before = std::fs::read_to_string(ws.dir.path().join("persons.csv")).unwrap();
    let again = ws.ok(&args);
    assert!(!again.contains("linked "), "{again}");
    ws.ok(&["registry", "export", "--out", "persons-again.csv"]);
    let after = std::fs::read_to_string(ws.dir.path().join("persons-again.csv")).unwrap();
    assert_eq!(before, after, "a re-run never re-numbers a person");

    // A person by CCI, with identifiers and history.
    let first_cci = before
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(2)
        .unwrap()
        .to_string();
    let person = ws.json(&["registry", "person", &first_cci, "--json"]);
    assert_eq!(person["cci"], first_cci.as_str());
    assert!(person["history"][0]["kind"] == "created", "{person}");
    // The cross-reference from a verified NHS number back to its person: the first person in
    // the export who has one (the synthetic GP records nearly all do).
    let (holder, nhs) = before
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap().to_string())
        .take(200)
        .find_map(|cci| {
            let p = ws.json(&["registry", "person", &cci, "--json"]);
            p["identifiers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["system"] == "https://fhir.nhs.uk/Id/nhs-number")
                .map(|i| (cci.clone(), i["value"].as_str().unwrap().to_string()))
        })
        .expect("some person has an NHS number");
    let xref = ws.json(&[
        "xref",
        &format!("https://fhir.nhs.uk/Id/nhs-number|{nhs}"),
        "--json",
    ]);
    assert_eq!(xref["cci"], holder.as_str());
    let unknown = ws.kith(&["xref", "https://fhir.nhs.uk/Id/nhs-number|9434765919"]);
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("unknown identifier"),
        "{unknown:?}"
    );
    let mangled = ws.kith(&["registry", "person", "K0000000010"]);
    assert!(
        String::from_utf8_lossy(&mangled.stderr).contains("check character should be X"),
        "{mangled:?}"
    );

    // The review queue: blind mode hides every score.
    let items = ws.json(&["review", "list", "--json", "--limit", "5"]);
    let items = items.as_array().unwrap();
    assert!(
        !items.is_empty(),
        "the synthetic population has possible matches"
    );
    let id = items[0]["id"].as_i64().unwrap().to_string();
    let shown = ws.ok(&["review", "show", &id, "--json", "--blind"]);
    assert!(
        !shown.contains("match_weight") && !shown.contains("\"weight\""),
        "{shown}"
    );
    assert!(shown.contains("given_name"), "{shown}");
    let no_reason = ws.kith(&["review", "reject", &id]);
    assert!(!no_reason.status.success(), "a decision needs a reason");
    ws.ok(&[
        "review",
        "reject",
        &id,
        "--reason",
        "different children: school confirmed",
    ]);
    let rejected = ws.json(&["review", "show", &id, "--json"]);
    assert_eq!(rejected["item"]["status"], "rejected");
    assert_eq!(rejected["item"]["decided_by"], "steward-ann");

    // A merge leaves a forward pointer that lookups follow and say so.
    let ccis: Vec<String> = before
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap().to_string())
        .collect();
    let other = ccis.iter().find(|c| **c != first_cci).unwrap();
    ws.ok(&[
        "registry",
        "merge",
        &first_cci,
        other,
        "--reason",
        "same child",
    ]);
    let moved = ws.ok(&["registry", "person", other]);
    assert!(
        moved.contains(&format!("was merged into {first_cci}")),
        "{moved}"
    );

    // Linkage quality, for machines.
    let stats = ws.json(&["stats", "--json"]);
    assert_eq!(stats["records_pending"], 0);
    assert!(stats["sources"].as_array().unwrap().len() >= 5);
    assert_eq!(stats["persons_retired"], 1);
}

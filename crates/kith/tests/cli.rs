//! End-to-end tests: the real `kith` binary, a temporary directory, input files, exact output.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn db(&self) -> String {
        format!("sqlite:{}", self.dir.path().join("kith.db").display())
    }

    fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn kith(&self, args: &[&str]) -> Output {
        Command::cargo_bin("kith")
            .unwrap()
            .current_dir(self.dir.path())
            .env("KITH_DB", self.db())
            .env_remove("KITH_FAULT_ABORT_AFTER_CHUNKS")
            .args(args)
            .output()
            .unwrap()
    }

    fn ingest(&self, files: &[&Path], extra: &[&str]) -> Output {
        let mut args = vec!["ingest"];
        args.extend_from_slice(extra);
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        args.extend(names.iter().map(String::as_str));
        self.kith(&args)
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const GP: &str = "\
source,record_id,given_name,family_name,date_of_birth,sex,postcode,nhs_number,nhs_number_status,shoe_size
GP_B86001,P1,Amy,Smith,14/03/2012,F,ls6 2qt,9434765919,01,3
GP_B86001,P2,Ben,Smith,31/02/2012,M,LS6 2QT,9434765918,01,4
GP_B86001,,Cal,Smith,14/03/2012,M,LS6 2QT,,,5
GP_B86001,P4,Dee,Smith,01/01/1980,F,LS6 2QT,,,6
";

#[test]
fn help_lists_every_command_with_examples() {
    let ws = Workspace::new();
    let help = stdout(&ws.kith(&["--help"]));
    for command in ["ingest", "synth", "demo", "status", "quarantine"] {
        assert!(help.contains(command), "{help}");
        let sub = stdout(&ws.kith(&[command, "--help"]));
        assert!(
            sub.contains("Examples:"),
            "{command} --help has no examples:\n{sub}"
        );
    }
}

#[test]
fn ingest_loads_good_rows_quarantines_bad_ones_and_explains() {
    let ws = Workspace::new();
    let gp = ws.file("GP_B86001.csv", GP);
    let out = ws.ingest(&[&gp], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("4 records rows — 3 new, 0 updated, 0 unchanged, 1 quarantined, 2 warnings"),
        "{text}"
    );
    assert!(text.contains("ignored columns: shoe_size"), "{text}");
    assert!(text.contains(
        "line 3, field `nhs_number`: invalid NHS number `9434765918`: check digit should be 9; loaded without it"
    ), "{text}");
    assert!(
        text.contains(
            "line 4, field `record_id`: quarantined: field `record_id` is empty; it is required"
        ),
        "{text}"
    );

    let status = stdout(&ws.kith(&["status"]));
    assert!(
        status.contains("1 organisations, 3 person records (1 identifiers)"),
        "{status}"
    );
    assert!(
        status.contains("organisations by type: 1 health"),
        "{status}"
    );

    let quarantine = stdout(&ws.kith(&["quarantine", "--rejected-only"]));
    assert!(
        quarantine.contains("line 4 `record_id` [quarantined] field.missing"),
        "{quarantine}"
    );
    assert!(
        quarantine.contains("raw: GP_B86001,,Cal,Smith"),
        "{quarantine}"
    );
}

#[test]
fn reingesting_the_same_extract_changes_nothing() {
    let ws = Workspace::new();
    let gp = ws.file("GP_B86001.csv", GP);
    assert!(ws.ingest(&[&gp], &[]).status.success());
    let again = ws.ingest(&[&gp], &[]);
    assert!(again.status.success());
    assert!(
        stdout(&again).contains("identical content already ingested (batch 1); nothing to do"),
        "{}",
        stdout(&again)
    );
    let forced = ws.ingest(&[&gp], &["--force"]);
    assert!(
        stdout(&forced).contains("4 records rows — 0 new, 0 updated, 3 unchanged, 1 quarantined"),
        "{}",
        stdout(&forced)
    );
    // The same rows in a different file (a new extract) are recognised by source + local id.
    let copy = ws.file("copy.csv", format!("{GP}\n"));
    let out = ws.ingest(&[&copy], &[]);
    assert!(
        stdout(&out).contains("0 new, 0 updated, 3 unchanged"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&ws.kith(&["status"])).contains("3 person records"));
}

#[test]
fn a_changed_row_is_updated_not_duplicated() {
    let ws = Workspace::new();
    let gp = ws.file("GP_B86001.csv", GP);
    assert!(ws.ingest(&[&gp], &[]).status.success());
    let changed = ws.file(
        "GP_B86001.v2.csv",
        GP.replace("Amy,Smith", "Amy,Smith-Jones"),
    );
    let out = ws.ingest(&[&changed], &[]);
    assert!(
        stdout(&out).contains("0 new, 1 updated, 2 unchanged"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_file_with_the_wrong_header_fails_alone() {
    let ws = Workspace::new();
    let bad = ws.file("SCH_1.csv", "pupil,forename\n1,Amy\n");
    let empty = ws.file("SCH_2.csv", "");
    let gp = ws.file("GP_B86001.csv", GP);
    let out = ws.ingest(&[&bad, &empty, &gp], &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("the header has no `record_id` column (found: pupil, forename); rename the column or use --map record_id=YOUR_COLUMN"), "{err}");
    assert!(
        err.contains("SCH_2.csv` is empty: expected a header row"),
        "{err}"
    );
    assert!(
        err.contains("2 of 3 files could not be ingested; the others are loaded"),
        "{err}"
    );
    assert!(stdout(&ws.kith(&["status"])).contains("3 person records"));
}

#[test]
fn map_and_org_load_a_foreign_layout() {
    let ws = Workspace::new();
    let file = ws.file(
        "extract.csv",
        "PupilRef,Forename,Surname,DOB,UPN\nS1,Amy,Smith,14-Mar-2012,B801200005001\n",
    );
    let out = ws.ingest(
        &[&file],
        &[
            "--org",
            "SCH_107123",
            "--map",
            "record_id=PupilRef,given_name=Forename",
            "--map",
            "family_name=Surname,date_of_birth=DOB",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("1 records rows — 1 new"),
        "{}",
        stdout(&out)
    );
    let status = stdout(&ws.kith(&["status"]));
    assert!(
        status.contains("organisations by type: 1 education"),
        "{status}"
    );
}

#[test]
fn entries_relationships_and_ndjson() {
    let ws = Workspace::new();
    let gp = ws.file("GP_B86001.csv", GP);
    let entries = ws.file(
        "GP_B86001.entries.csv",
        "entry_id,record_id,entry_type,occurred_on,category,sensitivity\n\
         E1,P1,consultation,2024-05-01,health,normal\n\
         E2,P9,consultation,2024-05-01,health,normal\n\
         E3,P1,consultation,2024-05-01,health,secret\n",
    );
    let rels = ws.file(
        "GP_B86001.relationships.csv",
        "record_id,related_record_id,relationship\nP1,P4,parent\n",
    );
    let json = ws.file(
        "HOSP_RR8.ndjson",
        "{\"record_id\":\"H1\",\"given_name\":\"Amy\",\"family_name\":\"Smith\",\"nhs_number\":\"9434765919\"}\n{broken\n",
    );
    // Files are applied in dependency order whatever order they are given in.
    let out = ws.ingest(&[&entries, &rels, &json, &gp], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("3 entries rows — 1 new, 0 updated, 0 unchanged, 2 quarantined"),
        "{text}"
    );
    assert!(
        text.contains("refers to record `P9` which `GP_B86001` has not sent"),
        "{text}"
    );
    assert!(
        text.contains("`secret` is not one of: normal, sensitive, restricted"),
        "{text}"
    );
    assert!(text.contains("1 relationships rows — 1 new"), "{text}");
    assert!(
        text.contains("2 records rows — 1 new, 0 updated, 0 unchanged, 1 quarantined"),
        "{text}"
    );
    let status = stdout(&ws.kith(&["status"]));
    assert!(
        status.contains(
            "2 organisations, 4 person records (2 identifiers), 1 entries, 1 relationships"
        ),
        "{status}"
    );
}

fn many_rows(n: usize) -> String {
    let mut csv = String::from("record_id,given_name,family_name,date_of_birth\n");
    for i in 0..n {
        csv.push_str(&format!("R{i},Given{i},Family,01/01/2010\n"));
    }
    csv
}

#[test]
fn a_killed_ingest_leaves_whole_chunks_and_resumes() {
    let ws = Workspace::new();
    let file = ws.file("GP_B86001.csv", many_rows(50));
    let crashed = Command::cargo_bin("kith")
        .unwrap()
        .current_dir(ws.dir.path())
        .env("KITH_DB", ws.db())
        .env("KITH_FAULT_ABORT_AFTER_CHUNKS", "2")
        .args(["ingest", "--chunk-size", "10", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        !crashed.status.success(),
        "the fault should abort the process"
    );
    let status = stdout(&ws.kith(&["status"]));
    assert!(
        status.contains("20 person records"),
        "two whole chunks, nothing more: {status}"
    );
    assert!(
        status.contains("INCOMPLETE after line 21; re-run the same ingest to resume"),
        "{status}"
    );

    let resumed = ws.ingest(&[&file], &["--chunk-size", "10"]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert!(
        stdout(&resumed).contains(
            "30 records rows — 30 new, 0 updated, 0 unchanged, 0 quarantined, 0 warnings"
        ),
        "{}",
        stdout(&resumed)
    );
    assert!(
        stdout(&resumed).contains("resumed after line 21"),
        "{}",
        stdout(&resumed)
    );
    let status = stdout(&ws.kith(&["status"]));
    assert!(status.contains("50 person records"), "{status}");
    assert!(!status.contains("INCOMPLETE"), "{status}");
}

#[test]
fn report_writes_every_issue_as_csv() {
    let ws = Workspace::new();
    let gp = ws.file("GP_B86001.csv", GP);
    let report = ws.dir.path().join("report.csv");
    let out = ws.ingest(&[&gp], &["--report", report.to_str().unwrap()]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&report).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "file,batch,line,field,severity,code,reason,raw");
    assert_eq!(lines.len(), 4, "two warnings and one rejection: {text}");
    assert!(text.contains(",3,nhs_number,warning,nhs.check,"), "{text}");
}

#[test]
fn an_unusable_store_url_is_explained() {
    let ws = Workspace::new();
    let gp = ws.file("GP_B86001.csv", GP);
    let out = ws.ingest(&[&gp], &["--db", "mysql://x"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unsupported database URL `mysql://x`: use `sqlite:PATH`, `sqlite::memory:` or `postgres://…`"), "{}", stderr(&out));
}

#[test]
fn ingest_into_postgres() {
    let url = std::env::var("KITH_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    if postgres_unreachable(&url) {
        return;
    }
    let ws = Workspace::new();
    let schema = format!("kith_cli_{}", std::process::id());
    let separator = if url.contains('?') { '&' } else { '?' };
    let db = format!("{url}{separator}schema={schema}");
    let gp = ws.file("GP_B86001.csv", GP);
    let out = ws.ingest(&[&gp], &["--db", &db]);
    let again = ws.ingest(&[&gp], &["--db", &db, "--force"]);
    let status = stdout(&ws.kith(&["status", "--db", &db]));
    drop_schema(&url, &schema);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("3 new, 0 updated, 0 unchanged, 1 quarantined"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&again).contains("0 new, 0 updated, 3 unchanged"),
        "{}",
        stdout(&again)
    );
    assert!(status.contains("store: PostgreSQL"), "{status}");
    assert!(status.contains("3 person records"), "{status}");
}

fn postgres_unreachable(url: &str) -> bool {
    match std::net::TcpStream::connect("127.0.0.1:5432") {
        Ok(_) => false,
        Err(error) => {
            if std::env::var("KITH_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("PostgreSQL required but unreachable at {url}: {error}");
            }
            eprintln!("skipping: PostgreSQL unreachable at {url}: {error}");
            true
        }
    }
}

fn drop_schema(url: &str, schema: &str) {
    let status = std::process::Command::new("psql")
        .arg(url)
        .args(["-qc", &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")])
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        eprintln!("could not drop test schema {schema}");
    }
}

#[test]
fn demo_runs_end_to_end_and_a_second_run_changes_nothing() {
    let ws = Workspace::new();
    let first = ws.kith(&["demo", "--records", "800", "--no-serve"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let text = stdout(&first);
    assert!(
        text.contains("1. generating about 800 agency records (seed 42)"),
        "{text}"
    );
    assert!(
        text.contains("0 files skipped as already ingested"),
        "{text}"
    );
    assert!(text.contains("3. what the store now holds:"), "{text}");
    assert!(
        text.contains("4. linking the agencies' records into persons (the live registry)"),
        "{text}"
    );
    assert!(
        text.contains("against the ground truth: pairwise precision"),
        "{text}"
    );
    let before = stdout(&ws.kith(&["status"]));

    let second = ws.kith(&["demo", "--records", "800", "--no-serve"]);
    assert!(second.status.success(), "{}", stderr(&second));
    let text = stdout(&second);
    assert!(text.contains("— 0 new, 0 updated,"), "{text}");
    assert!(
        text.contains("every record was already linked; identifiers are unchanged"),
        "{text}"
    );
    let after = stdout(&ws.kith(&["status"]));
    let counts = |s: &str| s.lines().nth(1).unwrap_or_default().to_string();
    assert_eq!(counts(&before), counts(&after));
    assert!(after.contains("person records"), "{after}");
}

#[test]
fn synth_is_deterministic_and_its_output_ingests_cleanly() {
    let ws = Workspace::new();
    let run = |out: &str| {
        let output = ws.kith(&["synth", "--records", "600", "--seed", "9", "--out", out]);
        assert!(output.status.success(), "{}", stderr(&output));
        stdout(&output)
    };
    run("a");
    run("b");
    let read_dir = |d: &str| {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(ws.dir.path().join(d))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    };
    assert_eq!(read_dir("a"), read_dir("b"), "same seed, same bytes");

    let bad_rate = ws.kith(&["synth", "--rate", "typos=0.1", "--out", "c"]);
    assert!(!bad_rate.status.success());
    assert!(
        stderr(&bad_rate).contains("invalid --rate `typos=0.1`"),
        "{}",
        stderr(&bad_rate)
    );
    let listed = stdout(&ws.kith(&["synth", "--list-rates"]));
    assert!(listed.contains("twins"), "{listed}");

    let files: Vec<PathBuf> = std::fs::read_dir(ws.dir.path().join("a"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let out = ws.ingest(&refs, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(" 0 quarantined,"), "{}", stdout(&out));
}

#[test]
fn link_clusters_synthetic_agencies_deterministically_and_evaluates() {
    let ws = Workspace::new();
    let synth = ws.kith(&["synth", "--records", "3000", "--seed", "5", "--out", "data"]);
    assert!(synth.status.success(), "{}", stderr(&synth));
    let mut inputs: Vec<String> = std::fs::read_dir(ws.dir.path().join("data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.ends_with(".csv") && name.matches('.').count() == 1 && name != "organisations.csv"
        })
        .map(|p| p.display().to_string())
        .collect();
    inputs.sort();
    let run = |out: &str, pairs: &str| {
        let mut args = vec!["link".to_string()];
        for input in &inputs {
            args.push("--input".into());
            args.push(input.clone());
        }
        args.extend([
            "--out".into(),
            out.into(),
            "--pairs".into(),
            pairs.into(),
            "--save-model".into(),
            format!("{out}.model.json"),
        ]);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        ws.kith(&refs)
    };
    let first = run("c1.csv", "p1.csv");
    assert!(first.status.success(), "{}", stderr(&first));
    let summary = stderr(&first);
    assert!(summary.contains("linked "), "{summary}");
    assert!(
        summary.contains("ignored columns: previous_names, uprn, former_upns, pnc_id"),
        "{summary}"
    );
    assert!(summary.contains("phases: read"), "{summary}");
    assert!(run("c2.csv", "p2.csv").status.success());
    let read = |name: &str| std::fs::read(ws.dir.path().join(name)).unwrap();
    assert_eq!(
        read("c1.csv"),
        read("c2.csv"),
        "same inputs and seed, same clusters"
    );
    assert_eq!(
        read("p1.csv"),
        read("p2.csv"),
        "same inputs and seed, same pairs"
    );
    let clusters = String::from_utf8(read("c1.csv")).unwrap();
    assert!(clusters.starts_with("source,record_id,cluster_id\n"));
    let truth = std::fs::read_to_string(ws.dir.path().join("data/truth/records.csv")).unwrap();
    assert_eq!(
        clusters.lines().count(),
        truth.lines().count(),
        "one row per input record"
    );
    let pairs = String::from_utf8(read("p1.csv")).unwrap();
    assert!(
        pairs.starts_with(
            "source_l,record_id_l,source_r,record_id_r,match_weight,match_probability\n"
        )
    );

    let eval = ws.kith(&[
        "evaluate",
        "--clusters",
        "c1.csv",
        "--truth",
        "data/truth/records.csv",
        "--persons",
        "data/truth/persons.csv",
        "--json",
    ]);
    assert!(eval.status.success(), "{}", stderr(&eval));
    let figures: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    let f1 = figures["f1"].as_f64().unwrap();
    let precision = figures["precision"].as_f64().unwrap();
    assert!(f1 > 0.95, "F1 {f1}");
    assert!(precision > 0.99, "precision {precision}");

    // The saved model is reused without training.
    let reuse = ws.kith(&[
        "link",
        "--input",
        &inputs[0],
        "--model",
        "c1.csv.model.json",
        "--out",
        "c3.csv",
    ]);
    assert!(reuse.status.success(), "{}", stderr(&reuse));
    assert!(
        !stderr(&reuse).contains("model trained"),
        "{}",
        stderr(&reuse)
    );
}

#[test]
fn link_explains_a_pair_and_refuses_bad_input_clearly() {
    let ws = Workspace::new();
    let input = ws.file(
        "gp.csv",
        "record_id,given_name,family_name,date_of_birth,postcode\n1,Amy,Smith,14/03/2012,LS6 2QT\n2,Amy,Smith,2012-03-14,LS6 2QT\n3,Ben,Jones,01/01/1990,BD1 1AA\n",
    );
    let out = ws.kith(&[
        "link",
        "--input",
        input.to_str().unwrap(),
        "--out",
        "c.csv",
        "--explain",
        "gp:1=gp:2",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("gp:1 ↔ gp:2"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("date_of_birth  exact"),
        "{}",
        stdout(&out)
    );

    let bad = ws.file("bad.csv", "ref,name\n1,Amy\n");
    let out = ws.kith(&["link", "--input", bad.to_str().unwrap(), "--out", "c.csv"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the header has no `record_id` column (found: ref, name)"),
        "{}",
        stderr(&out)
    );
    let out = ws.kith(&[
        "link",
        "--input",
        input.to_str().unwrap(),
        "--out",
        "c.csv",
        "--explain",
        "gp:1=gp:99",
    ]);
    assert!(
        stderr(&out).contains("no record `gp:99` in the input"),
        "{}",
        stderr(&out)
    );
    let model = ws.file("model.json", "{\"format\": \"something-else\"}");
    let out = ws.kith(&[
        "link",
        "--input",
        input.to_str().unwrap(),
        "--out",
        "c.csv",
        "--model",
        model.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("model.json"), "{}", stderr(&out));
}

#[test]
fn link_recognises_common_column_synonyms() {
    let ws = Workspace::new();
    let input = ws.file(
        "people.csv",
        "unique_id,first_name,surname,dob,city,email\n1,Robert,Allen,1971-06-24,London,r@x\n2,Rob,Allen,1971-06-24,London,r@x\n",
    );
    let out = ws.kith(&["link", "--input", input.to_str().unwrap(), "--out", "c.csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("recognised columns: `unique_id` as record_id, `first_name` as given_name, `surname` as family_name, `dob` as date_of_birth, `city` as town"), "{err}");
    assert!(err.contains("ignored columns: email"), "{err}");
}

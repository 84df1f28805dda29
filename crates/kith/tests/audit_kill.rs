//! Durability of the audit ledger: a real `kith` process appending in a loop is killed with
//! SIGKILL again and again; every entry it acknowledged must still be there, with its seq, and
//! the whole ledger must verify against its signed checkpoints. Runs on SQLite, and on
//! PostgreSQL when `KITH_TEST_POSTGRES` (or the local default) is reachable.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use store::audit::{AuditLog, AuditOptions, load_or_create_signer};

const KILLS: u64 = 5;

#[test]
fn killing_an_appender_loses_no_acknowledged_entry() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("data/audit.db").display());
    let acked = kill_repeatedly(dir.path(), None);
    check_survivors(dir.path(), &url, None, &acked);
}

#[test]
fn killing_an_appender_on_postgresql_loses_no_acknowledged_entry() {
    let base = std::env::var("KITH_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let mut client = match postgres::Client::connect(&base, postgres::NoTls) {
        Ok(client) => client,
        Err(error) => {
            if std::env::var("KITH_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("PostgreSQL required but unreachable at {base}: {error}");
            }
            eprintln!("skipping PostgreSQL durability test: cannot connect to {base}: {error}");
            return;
        }
    };
    let schema = format!("kith_audit_kill_{}", std::process::id());
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}schema={schema}");
    let dir = tempfile::tempdir().unwrap();
    let acked = kill_repeatedly(dir.path(), Some(&url));
    check_survivors(dir.path(), &url, Some(&url), &acked);
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .unwrap();
}

/// `kith` in `dir`, on the ledger at `audit_db` (or the default beside the store).
fn kith(dir: &Path, audit_db: Option<&str>) -> Command {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("kith"));
    command
        .current_dir(dir)
        .env("KITH_DB", "sqlite:data/kith.db")
        .env_remove("KITH_AUDIT_KEY");
    match audit_db {
        Some(url) => command.env("KITH_AUDIT_DB", url),
        None => command.env_remove("KITH_AUDIT_DB"),
    };
    command
}

/// Starts an appender and kills it with SIGKILL mid-stream, [`KILLS`] times; returns every
/// seq it acknowledged.
fn kill_repeatedly(dir: &Path, audit_db: Option<&str>) -> BTreeSet<u64> {
    let mut acked = BTreeSet::new();
    for round in 0..KILLS {
        let mut child = kith(dir, audit_db)
            .args([
                "audit",
                "append-test",
                "--batch",
                "20",
                "--checkpoint-every",
                "7",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines_tx, lines_rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = Vec::new();
            // Only whole lines count: a line cut off by the kill was never fully printed.
            while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                if line.ends_with(b"\n") {
                    let text = String::from_utf8_lossy(&line).trim_end().to_owned();
                    if lines_tx.send(text).is_err() {
                        break;
                    }
                }
                line.clear();
            }
        });
        // Wait until the child has acknowledged something, then let it run a little longer
        // (a different time each round) and kill it mid-stream.
        let first = lines_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the appender acknowledged nothing");
        std::thread::sleep(Duration::from_millis(40 + 70 * round));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        reader.join().unwrap();

        let mut round_acks = 0;
        for line in std::iter::once(first).chain(lines_rx.try_iter()) {
            if let Some(seq) = line.strip_prefix("acked ") {
                let seq: u64 = seq.parse().unwrap();
                // A seq acknowledged twice would mean a committed entry was overwritten.
                assert!(acked.insert(seq), "seq {seq} acknowledged twice");
                round_acks += 1;
            }
        }
        assert!(round_acks > 0, "round {round} acknowledged nothing");
    }
    acked
}

/// Every acknowledged seq is present, and the ledger verifies, directly and via `kith`.
fn check_survivors(dir: &Path, url: &str, audit_db: Option<&str>, acked: &BTreeSet<u64>) {
    let max = *acked.last().unwrap();
    let key = match audit_db {
        None => dir.join("data/audit.key"),
        Some(_) => dir.join("kith-data/audit.key"),
    };
    let signer = load_or_create_signer(&key).unwrap();
    let mut log = AuditLog::open(
        url,
        AuditOptions {
            signer: Some(signer),
            ..AuditOptions::default()
        },
    )
    .unwrap();
    assert!(log.size().unwrap() > max);
    for &seq in acked {
        assert_eq!(log.entry(seq).unwrap().seq, seq);
    }
    let report = log.verify(None, &mut |_, _| {}).unwrap();
    assert!(report.ledger.checkpoints > 0, "no checkpoint was signed");
    eprintln!(
        "{}: {} acknowledged entries over {KILLS} kills; ledger holds {} entries, {} checkpoints",
        log.description(),
        acked.len(),
        report.ledger.entries,
        report.ledger.checkpoints
    );

    let output = kith(dir, audit_db)
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

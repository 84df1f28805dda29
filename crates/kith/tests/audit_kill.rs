//! Durability of the audit ledger: a real `kith` process appending in a loop is killed with
//! SIGKILL again and again; every entry it acknowledged must still be there, with its seq, and
//! the whole ledger must verify against its signed checkpoints.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use store::audit::{AuditLog, AuditOptions, load_or_create_signer};

const KILLS: u64 = 5;

#[test]
fn killing_an_appender_loses_no_acknowledged_entry() {
    let dir = tempfile::tempdir().unwrap();
    let mut acked = BTreeSet::new();
    for round in 0..KILLS {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("kith"))
            .current_dir(dir.path())
            .env("KITH_DB", "sqlite:data/kith.db")
            .env_remove("KITH_AUDIT_DB")
            .env_remove("KITH_AUDIT_KEY")
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

    let max = *acked.last().unwrap();
    let signer = load_or_create_signer(&dir.path().join("data/audit.key")).unwrap();
    let url = format!("sqlite:{}", dir.path().join("data/audit.db").display());
    let mut log = AuditLog::open(
        &url,
        AuditOptions {
            signer: Some(signer),
            ..AuditOptions::default()
        },
    )
    .unwrap();
    assert!(log.size().unwrap() > max);
    for &seq in &acked {
        assert_eq!(log.entry(seq).unwrap().seq, seq);
    }
    let report = log.verify(None, &mut |_, _| {}).unwrap();
    assert!(report.ledger.checkpoints > 0, "no checkpoint was signed");
    eprintln!(
        "{} acknowledged entries over {KILLS} kills; ledger holds {} entries, {} checkpoints",
        acked.len(),
        report.ledger.entries,
        report.ledger.checkpoints
    );

    let output = Command::new(assert_cmd::cargo::cargo_bin("kith"))
        .current_dir(dir.path())
        .env("KITH_DB", "sqlite:data/kith.db")
        .env_remove("KITH_AUDIT_DB")
        .env_remove("KITH_AUDIT_KEY")
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

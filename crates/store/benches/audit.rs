//! Audit ledger throughput: batched appends on SQLite (and PostgreSQL when reachable), then
//! `verify` of a 1,000,000-entry SQLite ledger.
//!
//! `cargo bench -p store --bench audit`. Targets: at least 20,000 appended entries per second
//! sustained with batching on SQLite, and verification of 1,000,000 entries within 10 s.
//! PostgreSQL is tried at `KITH_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) in a schema dropped afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use ledger::{Decision, Entry, EventKind, Signer};
use store::audit::{AuditLog, AuditOptions, AuditWriter, ProofRequest};

fn entry(n: u64) -> Entry {
    Entry {
        seq: 0,
        time: format!("2026-03-14T09:{:02}:{:02}Z", n / 60 % 60, n % 60),
        kind: if n.is_multiple_of(3) {
            EventKind::Decision
        } else {
            EventKind::Access
        },
        actor_user: format!("u-{}", n % 977),
        actor_org: "RX1".into(),
        role: "gp".into(),
        purpose: Some("direct_care".into()),
        subject: Some(format!("CCI-{:06}", n % 50_000)),
        decision: n.is_multiple_of(3).then_some(Decision::Permit),
        reasons: vec!["isa:leeds-health-2026".into()],
        details: serde_json::json!({ "route": "/chronology", "via": "gp-connect" }),
    }
}

fn options() -> AuditOptions {
    AuditOptions {
        signer: Some(Signer::from_seed([1; 32])),
        ..AuditOptions::default()
    }
}

/// Appends `total` entries in batches of `batch`, signing a checkpoint every
/// `checkpoint_every` entries; returns entries per second.
fn append(log: &mut AuditLog, total: u64, batch: u64, checkpoint_every: u64) -> f64 {
    let start = Instant::now();
    let mut n = 0;
    while n < total {
        let size = batch.min(total - n);
        log.append((n..n + size).map(entry).collect()).unwrap();
        n += size;
        if n.is_multiple_of(checkpoint_every) {
            log.checkpoint().unwrap();
        }
    }
    total as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("nproc: {cores}");
    let dir = tempfile::tempdir().unwrap();

    for batch in [1, 100, 1_000] {
        let total = if batch == 1 { 2_000 } else { 200_000 };
        let url = format!(
            "sqlite:{}",
            dir.path().join(format!("b{batch}.db")).display()
        );
        let mut log = AuditLog::open(&url, options()).unwrap();
        let rate = append(&mut log, total, batch, total);
        println!(
            "SQLite (WAL, synchronous=FULL) append, batch {batch:>5}: {rate:>9.0} entries/s ({total} entries)"
        );
    }

    // Group commit: 16 threads each appending single entries, as request handlers would.
    {
        let url = format!("sqlite:{}", dir.path().join("group.db").display());
        let writer = AuditWriter::start(AuditLog::open(&url, options()).unwrap());
        let per_thread = 5_000u64;
        let start = Instant::now();
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let handle = writer.handle().unwrap();
                std::thread::spawn(move || {
                    for n in 0..per_thread {
                        handle.append(vec![entry(n)]).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let rate = (16 * per_thread) as f64 / start.elapsed().as_secs_f64();
        writer.finish().unwrap();
        println!(
            "SQLite group commit, 16 threads appending one entry at a time: {rate:>9.0} entries/s"
        );
    }

    let pg = std::env::var("KITH_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    match postgres::Client::connect(&pg, postgres::NoTls) {
        Ok(mut client) => {
            let schema = format!("kith_audit_bench_{}", std::process::id());
            let separator = if pg.contains('?') { '&' } else { '?' };
            let url = format!("{pg}{separator}schema={schema}");
            for batch in [100, 1_000] {
                let mut log = AuditLog::open(&url, options()).unwrap();
                let rate = append(&mut log, 100_000, batch, 100_000);
                println!(
                    "PostgreSQL append, batch {batch:>5}: {rate:>9.0} entries/s (100000 entries)"
                );
            }
            client
                .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                .unwrap();
        }
        Err(error) => println!("PostgreSQL not reachable at {pg}: {error}"),
    }

    let url = format!("sqlite:{}", dir.path().join("million.db").display());
    let mut log = AuditLog::open(&url, options()).unwrap();
    let rate = append(&mut log, 1_000_000, 10_000, 100_000);
    println!("SQLite append of 1,000,000 entries, batch 10000: {rate:.0} entries/s sustained");
    drop(log);

    let mut log = AuditLog::open(&url, options()).unwrap();
    let start = Instant::now();
    let report = log.verify(None, &mut |_, _| {}).unwrap();
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "verify of {} entries against {} checkpoints: {seconds:.2} s ({:.0} entries/s)",
        report.ledger.entries,
        report.ledger.checkpoints,
        report.ledger.entries as f64 / seconds
    );

    let start = Instant::now();
    let view = log.subject_view("CCI-012345", "2026-06-01").unwrap();
    println!(
        "subject view of one person in the 1,000,000-entry ledger: {} entries in {:.1} ms",
        view.entries.len(),
        start.elapsed().as_secs_f64() * 1000.0
    );
    let start = Instant::now();
    log.proof(ProofRequest {
        seq: Some(123_456),
        from: Some(500_000),
        size: None,
    })
    .unwrap();
    println!(
        "inclusion + consistency proof at size 1,000,000: {:.2} s",
        start.elapsed().as_secs_f64()
    );
}

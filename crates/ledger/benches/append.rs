//! Appends 1,000,000 audit entries, then verifies the whole log against its checkpoints.
//!
//! `cargo bench -p ledger`. Prints entries per second for building the tree (encoding and
//! hashing each entry included) and the seconds `verify_log` takes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Instant;

use ledger::{Checkpoint, Decision, Entry, EventKind, Log, Signer, verify_log};

const ENTRIES: u64 = 1_000_000;
const CHECKPOINT_EVERY: u64 = 10_000;

fn entry(seq: u64) -> Entry {
    Entry {
        seq,
        time: format!("2026-03-14T09:{:02}:{:02}Z", seq / 60 % 60, seq % 60),
        kind: if seq.is_multiple_of(3) {
            EventKind::Decision
        } else {
            EventKind::Access
        },
        actor_user: format!("u-{}", seq % 977),
        actor_org: "RX1".into(),
        role: "gp".into(),
        purpose: Some("direct_care".into()),
        subject: Some(format!("CCI-{:06}", seq % 50_000)),
        decision: (seq.is_multiple_of(3)).then_some(Decision::Permit),
        reasons: vec!["isa:leeds-health-2026".into()],
        details: serde_json::json!({ "route": "/chronology" }),
    }
}

fn main() {
    let entries: Vec<Entry> = (0..ENTRIES).map(entry).collect();
    let signer = Signer::from_seed([1; 32]);

    let start = Instant::now();
    let mut log = Log::new();
    let mut checkpoints = Vec::new();
    for e in &entries {
        log.append(e.leaf_hash());
        if log.size().is_multiple_of(CHECKPOINT_EVERY) {
            let cp = Checkpoint {
                origin: "kith.example/audit".into(),
                size: log.size(),
                root: log.root(),
            };
            checkpoints.push(signer.sign(&cp).unwrap());
        }
    }
    let root = black_box(log.root());
    let secs = start.elapsed().as_secs_f64();
    println!(
        "append: {ENTRIES} entries (encode + hash + append, a signed checkpoint every {CHECKPOINT_EVERY}) in {secs:.3} s = {:.0} entries/s",
        ENTRIES as f64 / secs
    );

    let start = Instant::now();
    let leaves: Vec<_> = entries.iter().map(Entry::leaf_hash).collect();
    let hash_secs = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut bare = Log::new();
    for leaf in leaves {
        bare.append(leaf);
    }
    assert_eq!(bare.root(), root);
    let tree_secs = start.elapsed().as_secs_f64();
    println!(
        "  of which: canonical encoding + leaf hashing {hash_secs:.3} s; tree append + root {tree_secs:.3} s = {:.0} leaves/s",
        ENTRIES as f64 / tree_secs
    );

    let start = Instant::now();
    let report = verify_log(&entries, &checkpoints, &signer.verifying_key()).unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(report.signed_size, ENTRIES);
    println!(
        "verify_log: {ENTRIES} entries, {} checkpoints in {secs:.3} s",
        checkpoints.len()
    );
}

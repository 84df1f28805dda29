//! Encounter in → notification delivered: end-to-end latency on embedded SQLite, through the
//! real delivery worker and HTTP transport to a loopback webhook.
//!
//! Two runs over 1,000 encounters of flagged children: *one at a time* (each encounter waits
//! for its delivery, the latency a single attendance sees) and *burst* (all recorded as fast as
//! they can be, the latency under a queue). The product target is p99 ≤ 1 s.
//!
//! `cargo bench -p safeguarding --bench notify` (SQLite in a temporary directory), or with
//! `KITH_BENCH_STORE=postgres://…?schema=kith_bench` on another store.

// A benchmark, like a test, may stop at the first broken assumption.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use safeguarding::delivery::{DeliveryConfig, HttpTransport, Wake, Worker};
use safeguarding::{
    CareSetting, Contact, Encounter, EncounterRef, LocalAuthority, Organisation, PublishFlag,
    cci_from_serial,
};
use store::Store;

const ENCOUNTERS: usize = 1_000;

/// A webhook that answers 200 to everything and reports (notification id, arrival).
fn webhook() -> (String, mpsc::Receiver<(i64, Instant)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(&mut stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let arrived = Instant::now();
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .unwrap();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let _ = sender.send((json["notification_id"].as_i64().unwrap(), arrived));
        }
    });
    (url, receiver)
}

fn publish(serial: u32) -> PublishFlag {
    PublishFlag {
        cci: cci_from_serial(serial),
        kind: "child-protection-plan".into(),
        owner: LocalAuthority {
            code: "E08000035".into(),
            name: "Leeds".into(),
        },
        office_hours: Contact {
            phone: "0113 222 4403".into(),
            email: "cp@leeds.gov.uk".into(),
        },
        out_of_hours: Contact {
            phone: "0113 535 0600".into(),
            email: "edt@leeds.gov.uk".into(),
        },
        start_date: "2026-01-01".parse().unwrap(),
        end_date: None,
        reference: format!("CPP-{serial}"),
        source_updated_at: "2026-01-01T09:00:00Z".parse().unwrap(),
    }
}

fn encounter(run: &str, serial: u32) -> Encounter {
    Encounter {
        reference: EncounterRef {
            source_org: "RR8".into(),
            local_id: format!("{run}-{serial}"),
        },
        cci: cci_from_serial(serial),
        setting: CareSetting::EmergencyDepartment,
        organisation: Organisation {
            code: "RR8".into(),
            name: "Leeds Teaching Hospitals".into(),
        },
        started_at: Timestamp::now(),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(name: &str, mut latencies: Vec<Duration>, wall: Duration) {
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<13} n={} p50={:.2} ms p90={:.2} ms p99={:.2} ms max={:.2} ms  ({:.0} notifications/s)",
        latencies.len(),
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 90.0)),
        ms(percentile(&latencies, 99.0)),
        ms(*latencies.last().unwrap()),
        latencies.len() as f64 / wall.as_secs_f64(),
    );
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("KITH_BENCH_STORE")
        .unwrap_or_else(|_| format!("sqlite:{}", dir.path().join("kith.db").display()));
    // Encounter ids unique to this run, so a reused store notifies again.
    let run = Timestamp::now().as_millisecond();
    let mut store = Store::open(&url).unwrap();
    let now = Timestamp::now();
    for serial in 1..=ENCOUNTERS as u32 {
        safeguarding::publish_flag(&mut store, publish(serial), now).unwrap();
    }

    let (hook_url, arrivals) = webhook();
    let stop = Arc::new(AtomicBool::new(false));
    let wake = Wake::new();
    let worker = {
        let (url, stop, wake) = (url.clone(), stop.clone(), wake.clone());
        let config = DeliveryConfig {
            webhooks: BTreeMap::from([("E08000035".to_string(), hook_url)]),
            ..DeliveryConfig::default()
        };
        std::thread::spawn(move || {
            let mut worker =
                Worker::new(Store::open(&url).unwrap(), config, HttpTransport::default());
            worker.run(&stop, &wake).unwrap();
        })
    };

    println!(
        "safeguarding notify: {ENCOUNTERS} ED encounters of flagged children, {}, \
         loopback webhook; nproc = {}",
        store.description(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // One at a time: each encounter waits for its own delivery.
    let mut latencies = Vec::with_capacity(ENCOUNTERS);
    let start = Instant::now();
    for serial in 1..=ENCOUNTERS as u32 {
        let sent = Instant::now();
        let outcome = safeguarding::record_encounter(
            &mut store,
            &encounter(&format!("single-{run}"), serial),
            Timestamp::now(),
        )
        .unwrap();
        wake.wake();
        assert_eq!(outcome.notifications.len(), 1);
        let (id, arrived) = arrivals.recv_timeout(Duration::from_secs(30)).unwrap();
        assert_eq!(id, outcome.notifications[0]);
        latencies.push(arrived.duration_since(sent));
    }
    report("one-at-a-time", latencies, start.elapsed());

    // Burst: record all, then collect arrivals.
    let mut sent_at = HashMap::with_capacity(ENCOUNTERS);
    let start = Instant::now();
    for serial in 1..=ENCOUNTERS as u32 {
        let sent = Instant::now();
        let outcome = safeguarding::record_encounter(
            &mut store,
            &encounter(&format!("burst-{run}"), serial),
            Timestamp::now(),
        )
        .unwrap();
        wake.wake();
        sent_at.insert(outcome.notifications[0], sent);
    }
    let mut latencies = Vec::with_capacity(ENCOUNTERS);
    while latencies.len() < ENCOUNTERS {
        let (id, arrived) = arrivals.recv_timeout(Duration::from_secs(60)).unwrap();
        latencies.push(arrived.duration_since(sent_at[&id]));
    }
    report("burst", latencies, start.elapsed());

    stop.store(true, Ordering::SeqCst);
    wake.wake();
    worker.join().unwrap();
}

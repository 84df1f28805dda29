//! Delivery to a loopback webhook: retries with backoff until a 2xx, and a worker process
//! killed mid-delivery loses nothing (the restarted worker delivers after the lease).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{CHILD, Harness, LEEDS, encounter, publish};
use jiff::Timestamp;
use safeguarding::CareSetting;
use safeguarding::delivery::{Backoff, DeliveryConfig, HttpTransport, Wake, Worker};
use store::Store;

/// What the webhook does with the n-th request (0-based).
#[derive(Clone, Copy)]
enum Answer {
    Status(u16),
    /// Reads the request and never answers (the connection is dropped when the test ends).
    Hang,
}

/// A request the webhook received.
#[derive(Debug, Clone)]
struct Received {
    at: Instant,
    body: serde_json::Value,
    idempotency_key: String,
}

struct Webhook {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

fn webhook(script: impl Fn(usize) -> Answer + Send + 'static) -> Webhook {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/cp-is/notify", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            let request = read_request(&mut stream);
            log.lock().unwrap().push(request);
            match script(n) {
                Answer::Status(status) => {
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                    let _ = stream.write_all(reply.as_bytes());
                }
                Answer::Hang => held.push(stream),
            }
        }
    });
    Webhook { url, received }
}

fn read_request(stream: &mut TcpStream) -> Received {
    let at = Instant::now();
    let mut reader = BufReader::new(stream);
    let mut length = 0;
    let mut idempotency_key = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap(),
                "idempotency-key" => idempotency_key = value.trim().to_string(),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    Received {
        at,
        body: serde_json::from_slice(&body).unwrap(),
        idempotency_key,
    }
}

fn config(url: &str, lease: Duration) -> DeliveryConfig {
    DeliveryConfig {
        webhooks: BTreeMap::from([(LEEDS.to_string(), url.to_string())]),
        backoff: Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(400),
            jitter_seed: None,
        },
        lease,
        batch: 16,
        idle_poll: Duration::from_millis(20),
    }
}

fn transport() -> HttpTransport {
    HttpTransport {
        timeout: Duration::from_secs(30),
    }
}

/// Publishes a flag and records one ED attendance; returns the notification id.
fn one_notification(h: &mut Harness) -> i64 {
    let now: Timestamp = "2026-03-01T10:00:05Z".parse().unwrap();
    safeguarding::publish_flag(&mut h.store, publish(CHILD, "child-protection-plan"), now).unwrap();
    let ed = encounter(CHILD, "ED-1", CareSetting::EmergencyDepartment);
    let outcome = safeguarding::record_encounter(&mut h.store, &ed, Timestamp::now()).unwrap();
    assert_eq!(outcome.notifications.len(), 1);
    outcome.notifications[0]
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

both_engines!(
    a_failing_webhook_is_retried_with_backoff_and_delivered_once,
    a_worker_killed_mid_delivery_loses_nothing,
    a_missing_webhook_keeps_the_notification_in_the_inbox,
);

fn a_failing_webhook_is_retried_with_backoff_and_delivered_once(h: &mut Harness) {
    let hook = webhook(|n| Answer::Status(if n < 3 { 500 } else { 204 }));
    let id = one_notification(h);
    let stop = Arc::new(AtomicBool::new(false));
    let wake = Wake::new();
    let worker = {
        let (url, config, stop, wake) = (
            h.url.clone(),
            config(&hook.url, Duration::from_secs(30)),
            stop.clone(),
            wake.clone(),
        );
        std::thread::spawn(move || {
            let mut worker = Worker::new(Store::open(&url).unwrap(), config, transport());
            worker.run(&stop, &wake).unwrap();
        })
    };
    wake.wake();
    let delivered = wait_until(Duration::from_secs(20), || {
        h.store
            .safeguarding()
            .notification(id)
            .unwrap()
            .unwrap()
            .status
            == "delivered"
    });
    stop.store(true, Ordering::SeqCst);
    wake.wake();
    worker.join().unwrap();
    assert!(delivered, "not delivered after retries");
    let row = h.store.safeguarding().notification(id).unwrap().unwrap();
    assert_eq!(row.attempts, 4);
    assert!(row.delivered_at.is_some());
    assert_eq!(row.last_error, None);
    let received = hook.received.lock().unwrap().clone();
    assert_eq!(
        received.len(),
        4,
        "three failures and one success, nothing more"
    );
    for r in &received {
        assert_eq!(r.body["notification_id"], id);
        assert_eq!(r.body["owning_la_code"], LEEDS);
        assert_eq!(r.idempotency_key, format!("kith-safeguarding-{id}"));
    }
    // Backoff: 100 ms, 200 ms, 400 ms between attempts (never sooner).
    let gaps: Vec<u128> = received
        .windows(2)
        .map(|w| w[1].at.duration_since(w[0].at).as_millis())
        .collect();
    for (gap, at_least) in gaps.iter().zip([100, 200, 400]) {
        assert!(*gap >= at_least - 5, "gaps {gaps:?}");
    }
}

/// The worker process for [`a_worker_killed_mid_delivery_loses_nothing`]: runs only when the
/// test re-executes this binary with `KITH_SG_WORKER` set, and is killed from outside.
#[test]
fn worker_process() {
    let Ok(spec) = std::env::var("KITH_SG_WORKER") else {
        return;
    };
    let (store_url, hook_url) = spec.split_once(' ').unwrap();
    let mut worker = Worker::new(
        Store::open(store_url).unwrap(),
        config(hook_url, Duration::from_secs(1)),
        transport(),
    );
    let stop = AtomicBool::new(false);
    worker.run(&stop, &Wake::new()).unwrap();
}

fn a_worker_killed_mid_delivery_loses_nothing(h: &mut Harness) {
    // The first request is read and never answered; later ones succeed.
    let hook = webhook(|n| {
        if n == 0 {
            Answer::Hang
        } else {
            Answer::Status(200)
        }
    });
    let id = one_notification(h);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "worker_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KITH_SG_WORKER", format!("{} {}", h.url, hook.url))
        .spawn()
        .unwrap();
    let arrived = wait_until(Duration::from_secs(20), || {
        !hook.received.lock().unwrap().is_empty()
    });
    // Killed while the webhook holds the request: the notification was claimed, not delivered.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(arrived, "the worker process never posted");
    let row = h.store.safeguarding().notification(id).unwrap().unwrap();
    assert_eq!(row.status, "pending");
    assert_eq!(row.attempts, 1);

    // A restarted worker delivers it once the dead worker's lease has run out.
    let restarted = Instant::now();
    let mut worker = Worker::new(
        Store::open(&h.url).unwrap(),
        config(&hook.url, Duration::from_secs(1)),
        transport(),
    );
    let delivered = wait_until(Duration::from_secs(20), || {
        worker.run_once(Timestamp::now()).unwrap();
        h.store
            .safeguarding()
            .notification(id)
            .unwrap()
            .unwrap()
            .status
            == "delivered"
    });
    assert!(delivered, "lost after the worker was killed");
    assert!(restarted.elapsed() < Duration::from_secs(5));
    let received = hook.received.lock().unwrap().clone();
    // At least once: the receiver saw the same notification id twice and can deduplicate.
    assert_eq!(received.len(), 2);
    assert!(received.iter().all(|r| r.body["notification_id"] == id));
    assert_eq!(
        safeguarding::inbox(&mut h.store, LEEDS, 0, 10)
            .unwrap()
            .len(),
        1,
        "one notification, delivered twice at most"
    );
}

fn a_missing_webhook_keeps_the_notification_in_the_inbox(h: &mut Harness) {
    let id = one_notification(h);
    let mut worker = Worker::new(
        Store::open(&h.url).unwrap(),
        DeliveryConfig {
            webhooks: BTreeMap::new(),
            ..config("http://127.0.0.1:9/", Duration::from_secs(30))
        },
        transport(),
    );
    let report = worker.run_once(Timestamp::now()).unwrap();
    assert_eq!((report.claimed, report.delivered, report.failed), (1, 0, 1));
    let inbox = safeguarding::inbox(&mut h.store, LEEDS, 0, 10).unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].id, id);
    assert_eq!(inbox[0].status, "pending");
    assert_eq!(
        inbox[0].last_error.as_deref(),
        Some("no webhook configured for `E08000035`")
    );
}

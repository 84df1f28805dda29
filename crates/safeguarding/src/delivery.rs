//! The delivery worker: claims due notifications from the outbox, POSTs each as JSON to its
//! owning authority's webhook, marks it delivered on a 2xx answer and otherwise retries with
//! exponential backoff.
//!
//! Delivery is at-least-once. A claim gives the notification a lease; a worker killed
//! mid-delivery leaves it due again when the lease ends, and another worker (or the restarted
//! one) sends it again. Every body carries `notification_id` (and the request an
//! `Idempotency-Key` header) so the receiver can discard a repeat.
//!
//! The HTTP client is a minimal HTTP/1.1 POST over `std::net::TcpStream` ([`HttpTransport`]):
//! plain `http://` only, no dependency tree. Deployments that post to `https://` webhooks plug
//! a TLS client in through the [`Transport`] trait.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use store::Store;
use store::safeguarding::NotificationRow;

use crate::Error;

/// Exponential backoff: `initial`, twice that, four times … up to `max`, optionally with
/// "equal jitter" (half the delay fixed, half random) from a seeded generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    /// `None`: no jitter (deterministic delays).
    pub jitter_seed: Option<u64>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(300),
            jitter_seed: None,
        }
    }
}

/// The delay before the next attempt after `attempts` failed ones (1 → `initial`). `random`
/// is any 64-bit value; it is used only when jitter is on.
pub fn backoff_delay(backoff: &Backoff, attempts: u32, random: u64) -> Duration {
    let shift = attempts.saturating_sub(1).min(30);
    let delay = backoff
        .initial
        .saturating_mul(1u32 << shift)
        .min(backoff.max);
    match backoff.jitter_seed {
        None => delay,
        Some(_) => {
            let half = delay / 2;
            let span = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
            half + Duration::from_millis(random % span.saturating_add(1))
        }
    }
}

/// SplitMix64: a tiny seeded generator for jitter (no OS randomness).
#[derive(Debug, Clone)]
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Where and how to deliver.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Local-authority code → webhook URL.
    pub webhooks: BTreeMap<String, String>,
    pub backoff: Backoff,
    /// How long a claimed notification is left to its worker before another may send it.
    pub lease: Duration,
    /// How many notifications one pass claims.
    pub batch: i64,
    /// How long a worker with nothing due waits before looking again (a [`Wake`] cuts it short).
    pub idle_poll: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            webhooks: BTreeMap::new(),
            backoff: Backoff::default(),
            lease: Duration::from_secs(60),
            batch: 32,
            idle_poll: Duration::from_millis(500),
        }
    }
}

/// Sends one notification. Returns the HTTP status, or a description of why none came back.
pub trait Transport {
    fn post(&mut self, url: &str, notification_id: i64, body: &[u8]) -> Result<u16, String>;
}

/// A minimal HTTP/1.1 client for `http://host[:port]/path` webhooks.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    pub timeout: Duration,
}

impl Default for HttpTransport {
    fn default() -> Self {
        HttpTransport {
            timeout: Duration::from_secs(10),
        }
    }
}

/// Splits `http://host:port/path` into the address, the `Host` header and the path.
fn split_http_url(url: &str) -> Result<(String, String, String), String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        format!("webhook URL `{url}` is not `http://`; an https webhook needs a TLS transport")
    })?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(format!("webhook URL `{url}` has no host"));
    }
    let address = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Ok((address, authority.to_string(), path.to_string()))
}

impl Transport for HttpTransport {
    fn post(&mut self, url: &str, notification_id: i64, body: &[u8]) -> Result<u16, String> {
        let (address, host, path) = split_http_url(url)?;
        let socket = address
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve `{address}`: {e}"))?
            .next()
            .ok_or_else(|| format!("cannot resolve `{address}`"))?;
        let mut stream = TcpStream::connect_timeout(&socket, self.timeout)
            .map_err(|e| format!("cannot connect to `{address}`: {e}"))?;
        let io = |e: std::io::Error| format!("webhook `{url}`: {e}");
        stream.set_read_timeout(Some(self.timeout)).map_err(io)?;
        stream.set_write_timeout(Some(self.timeout)).map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nIdempotency-Key: kith-safeguarding-{notification_id}\r\n\
             Connection: close\r\n\r\n",
            body.len()
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        stream.write_all(&request).map_err(io)?;
        // Only the status line matters; read until it is complete.
        let mut response = Vec::with_capacity(64);
        let mut buffer = [0u8; 256];
        while !response.windows(2).any(|w| w == b"\r\n") {
            let n = stream.read(&mut buffer).map_err(io)?;
            if n == 0 {
                break;
            }
            response.extend_from_slice(&buffer[..n]);
        }
        let text = String::from_utf8_lossy(&response);
        let status_line = text.lines().next().unwrap_or_default();
        status_line
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .filter(|_| status_line.starts_with("HTTP/1."))
            .ok_or_else(|| format!("webhook `{url}` sent no HTTP status line"))
    }
}

/// Lets a writer cut a sleeping worker's idle wait short after it queued a notification.
#[derive(Debug, Clone, Default)]
pub struct Wake(Arc<(Mutex<bool>, Condvar)>);

impl Wake {
    pub fn new() -> Wake {
        Wake::default()
    }

    /// Tells the worker something may be due.
    pub fn wake(&self) {
        let (flag, condvar) = &*self.0;
        if let Ok(mut pending) = flag.lock() {
            *pending = true;
            condvar.notify_all();
        }
    }

    /// Waits until woken or `timeout` passes.
    fn wait(&self, timeout: Duration) {
        let (flag, condvar) = &*self.0;
        let Ok(pending) = flag.lock() else { return };
        if let Ok((mut pending, _)) = condvar.wait_timeout_while(pending, timeout, |p| !*p) {
            *pending = false;
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    pub claimed: usize,
    pub delivered: usize,
    pub failed: usize,
}

/// A delivery worker on its own store connection.
pub struct Worker<T: Transport> {
    store: Store,
    config: DeliveryConfig,
    transport: T,
    rng: SplitMix,
}

impl<T: Transport> std::fmt::Debug for Worker<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("store", &self.store)
            .field("config", &self.config)
            .finish()
    }
}

/// The body as delivered: the stored payload plus the notification id.
pub fn delivered_body(row: &NotificationRow) -> Result<Vec<u8>, Error> {
    let mut value: serde_json::Value = serde_json::from_str(&row.payload).map_err(Error::Json)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("notification_id".into(), serde_json::json!(row.id));
        object.insert("owning_la_code".into(), serde_json::json!(row.la_code));
    }
    serde_json::to_vec(&value).map_err(Error::Json)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl<T: Transport> Worker<T> {
    pub fn new(store: Store, config: DeliveryConfig, transport: T) -> Worker<T> {
        let rng = SplitMix(config.backoff.jitter_seed.unwrap_or(0));
        Worker {
            store,
            config,
            transport,
            rng,
        }
    }

    /// Claims what is due at `now` and tries to deliver each once.
    pub fn run_once(&mut self, now: Timestamp) -> Result<PassReport, Error> {
        let now_ms = now.as_millisecond();
        let started = std::time::Instant::now();
        let claimed = self.store.safeguarding().claim_due(
            now_ms,
            now_ms.saturating_add(millis(self.config.lease)),
            self.config.batch,
        )?;
        let mut report = PassReport {
            claimed: claimed.len(),
            ..PassReport::default()
        };
        for row in &claimed {
            let outcome = match self.config.webhooks.get(&row.la_code) {
                None => Err(format!("no webhook configured for `{}`", row.la_code)),
                Some(url) => match delivered_body(row) {
                    Err(error) => Err(error.to_string()),
                    Ok(body) => match self.transport.post(url, row.id, &body) {
                        Ok(status) if (200..300).contains(&status) => Ok(()),
                        Ok(status) => Err(format!("webhook answered HTTP {status}")),
                        Err(error) => Err(error),
                    },
                },
            };
            let mut conn = self.store.safeguarding();
            match outcome {
                Ok(()) => {
                    conn.mark_delivered(row.id, &crate::service::stored_time(Timestamp::now()))?;
                    report.delivered += 1;
                }
                Err(error) => {
                    let attempts = u32::try_from(row.attempts).unwrap_or(u32::MAX);
                    let delay = backoff_delay(&self.config.backoff, attempts, self.rng.next());
                    // The wait counts from the failure, not from the start of the pass.
                    let failed_at = now_ms.saturating_add(millis(started.elapsed()));
                    conn.reschedule(row.id, failed_at.saturating_add(millis(delay)), &error)?;
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    /// Delivers until `stop` is set: a pass whenever something is due, otherwise waits for a
    /// [`Wake`], the next due time or `idle_poll`, whichever is first.
    pub fn run(&mut self, stop: &AtomicBool, wake: &Wake) -> Result<(), Error> {
        while !stop.load(Ordering::SeqCst) {
            let report = self.run_once(Timestamp::now())?;
            if report.claimed > 0 {
                continue;
            }
            let mut wait = self.config.idle_poll;
            if let Some(due) = self.store.safeguarding().next_due()? {
                let until = due.saturating_sub(Timestamp::now().as_millisecond()).max(0);
                wait = wait.min(Duration::from_millis(u64::try_from(until).unwrap_or(0)));
            }
            if !wait.is_zero() {
                wake.wait(wait);
            }
        }
        Ok(())
    }

    /// Gives the store back (e.g. to inspect it in a test).
    pub fn into_store(self) -> Store {
        self.store
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped_at_five_minutes() {
        let backoff = Backoff::default();
        let delays: Vec<u64> = (1..=11)
            .map(|n| backoff_delay(&backoff, n, 0).as_secs())
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff_delay(&backoff, 1000, 0).as_secs(), 300);
    }

    #[test]
    fn jitter_stays_between_half_and_the_whole_delay() {
        let backoff = Backoff {
            jitter_seed: Some(7),
            ..Backoff::default()
        };
        let mut rng = SplitMix(7);
        for attempts in 1..12 {
            let full = backoff_delay(&Backoff::default(), attempts, 0);
            let jittered = backoff_delay(&backoff, attempts, rng.next());
            assert!(
                jittered >= full / 2 && jittered <= full,
                "{jittered:?} vs {full:?}"
            );
        }
    }

    #[test]
    fn webhook_urls_are_split_and_https_is_explained() {
        assert_eq!(
            split_http_url("http://127.0.0.1:8080/cp-is/notify").unwrap(),
            (
                "127.0.0.1:8080".into(),
                "127.0.0.1:8080".into(),
                "/cp-is/notify".into()
            )
        );
        assert_eq!(
            split_http_url("http://la.example").unwrap(),
            ("la.example:80".into(), "la.example".into(), "/".into())
        );
        assert!(
            split_http_url("https://la.example/x")
                .unwrap_err()
                .contains("needs a TLS transport")
        );
    }
}

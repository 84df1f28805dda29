//! Person-summary reads through the whole service, driven from a second process on loopback.
//!
//! `cargo bench -p kith --bench serve -- [RECORDS] [--db URL] [--seconds N] [--connections N]`
//! (defaults: 180,000 synthetic records — about 100,000 persons — on SQLite, 15 s, 32
//! connections). `kith demo --no-serve` prepares the population, agreements and tokens in a
//! temporary directory; `kith serve` runs as its own process; this process keeps N keep-alive
//! connections busy with `GET /api/persons/{cci}?purpose=direct_care&tier=summary` for persons
//! known to the GP practice whose token it uses — each read authenticated, decided by governance
//! per holding organisation and recorded in the audit ledger before it is answered. Prints
//! requests per second and latency percentiles.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::seq::IndexedRandom;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn kith() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kith"))
}

fn arg_after(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1).cloned())
}

/// One keep-alive GET; returns the status.
async fn get(stream: &mut TcpStream, buffer: &mut Vec<u8>, request: &[u8]) -> Result<u16, Error> {
    stream.write_all(request).await?;
    buffer.clear();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err("connection closed".into());
        }
        buffer.extend_from_slice(&chunk[..n]);
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = std::str::from_utf8(&buffer[..end])?;
        let status: u16 = head.split_whitespace().nth(1).ok_or("no status")?.parse()?;
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .ok_or("no content-length")?;
        while buffer.len() < end + 4 + length {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err("connection closed mid-body".into());
            }
            buffer.extend_from_slice(&chunk[..n]);
        }
        return Ok(status);
    }
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let records: u64 = args
        .iter()
        .take_while(|a| !a.starts_with("--"))
        .find_map(|a| a.parse().ok())
        .unwrap_or(180_000);
    let seconds: u64 = arg_after(&args, "--seconds")
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let connections: usize = arg_after(&args, "--connections")
        .and_then(|s| s.parse().ok())
        .unwrap_or(32);
    let dir = tempfile::tempdir()?;
    let (db, schema) = match arg_after(&args, "--db") {
        Some(url) if url.starts_with("postgres") => {
            let schema = format!("kith_serve_bench_{}", std::process::id());
            let separator = if url.contains('?') { '&' } else { '?' };
            (
                format!("{url}{separator}schema={schema}"),
                Some((url, schema)),
            )
        }
        Some(url) => (url, None),
        None => ("sqlite:kith-data/kith.db".to_string(), None),
    };
    let outcome = run(dir.path(), &db, records, seconds, connections);
    if let Some((url, schema)) = schema
        && let Ok(mut client) = postgres::Client::connect(&url, postgres::NoTls)
    {
        let _ = client.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; DROP SCHEMA IF EXISTS {schema}_audit CASCADE"
        ));
    }
    outcome
}

fn run(dir: &Path, db: &str, records: u64, seconds: u64, connections: usize) -> Result<(), Error> {
    println!(
        "machine: {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let started = Instant::now();
    let output = Command::new(kith())
        .current_dir(dir)
        .args([
            "demo",
            "--no-serve",
            "--records",
            &records.to_string(),
            "--db",
            db,
        ])
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "kith demo failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    println!(
        "prepared {records} records with `kith demo --no-serve` in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let mut lines = text.lines();
    let mut gp = None;
    while let Some(line) = lines.next() {
        if line.contains("role gp)") {
            let org = line.split(", ").nth(1).unwrap_or("").to_string();
            gp = lines.next().map(|t| (org, t.trim().to_string()));
        }
    }
    let (gp_org, token) = gp.ok_or("the demo printed no GP token")?;

    // The persons the GP practice knows: what a GP system would read.
    let mut store = store::Store::open(&if db.starts_with("sqlite:kith-data") {
        format!("sqlite:{}", dir.join("kith-data/kith.db").display())
    } else {
        db.to_string()
    })?;
    let (persons, _) = store.registry().person_counts()?;
    let mut ccis: Vec<String> = store
        .registry()
        .all_links()?
        .into_iter()
        .filter(|(org, _, _)| *org == gp_org)
        .map(|(_, _, cci)| cci)
        .collect();
    ccis.sort();
    ccis.dedup();
    drop(store);
    println!(
        "{persons} persons in the registry; {} known to {gp_org}, read by its GP",
        ccis.len()
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(kith())
        .current_dir(dir)
        .args(["serve", "--addr", &addr, "--db", db])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let _served = Served(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(&addr).is_err() {
        if Instant::now() > deadline {
            return Err("kith serve did not start".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let ccis = Arc::new(ccis);
    let (latencies, errors) = runtime.block_on(async {
        let stop = Instant::now() + Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for worker in 0..connections {
            let (ccis, token, addr) = (ccis.clone(), token.clone(), addr.clone());
            tasks.push(tokio::spawn(async move {
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(worker as u64);
                let mut stream = TcpStream::connect(&addr).await?;
                stream.set_nodelay(true)?;
                let mut buffer = Vec::new();
                let mut times = Vec::new();
                let mut errors = 0u64;
                while Instant::now() < stop {
                    let cci = ccis.choose(&mut rng).ok_or("no persons")?;
                    let request = format!(
                        "GET /api/persons/{cci}?purpose=direct_care&tier=summary HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n"
                    );
                    let sent = Instant::now();
                    let status = get(&mut stream, &mut buffer, request.as_bytes()).await?;
                    times.push(sent.elapsed());
                    if status != 200 {
                        errors += 1;
                    }
                }
                Ok::<_, Error>((times, errors))
            }));
        }
        let mut all = Vec::new();
        let mut errors = 0;
        for task in tasks {
            let (times, e) = task.await.map_err(|e| e.to_string())??;
            all.extend(times);
            errors += e;
        }
        Ok::<_, Error>((all, errors))
    })?;
    let mut latencies = latencies;
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
            .map(|d| d.as_secs_f64() * 1e3)
            .unwrap_or(0.0)
    };
    let engine = if db.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!(
        "person summary reads ({engine}, {connections} connections, {seconds} s): {} requests, {:.0} requests/s, {errors} not 200; p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        latencies.len() as f64 / seconds as f64,
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0)
    );
    Ok(())
}

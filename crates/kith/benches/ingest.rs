//! Ingest throughput: synthesise an extract set, then time `kith ingest` into a fresh SQLite
//! store and print rows per second.
//!
//! `cargo bench -p kith --bench ingest -- [RECORDS]` (default 200,000 records). The data and the
//! store live in a temporary directory that is removed afterwards.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let records: u64 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let kith = PathBuf::from(env!("CARGO_BIN_EXE_kith"));
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("synth");
    let started = Instant::now();
    let status = Command::new(&kith)
        .args(["synth", "--records", &records.to_string(), "--out"])
        .arg(&data)
        .status()?;
    if !status.success() {
        return Err("kith synth failed".into());
    }
    let synth_seconds = started.elapsed().as_secs_f64();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&data)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    let rows: u64 = files
        .iter()
        .map(|f| {
            std::fs::read_to_string(f)
                .map(|t| t.lines().count().saturating_sub(1) as u64)
                .unwrap_or(0)
        })
        .sum();
    let db = format!("sqlite:{}", dir.path().join("kith.db").display());
    let started = Instant::now();
    let output = Command::new(&kith)
        .args(["ingest", "--db", &db])
        .args(&files)
        .output()?;
    let seconds = started.elapsed().as_secs_f64();
    if !output.status.success() {
        return Err(format!(
            "kith ingest failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let started = Instant::now();
    let again = Command::new(&kith)
        .args(["ingest", "--force", "--db", &db])
        .args(&files)
        .output()?;
    let again_seconds = started.elapsed().as_secs_f64();
    if !again.status.success() {
        return Err("re-ingest failed".into());
    }
    println!(
        "machine: {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!("synth: {records} requested records in {synth_seconds:.2}s");
    println!(
        "ingest into SQLite: {rows} rows (records, entries, relationships) in {seconds:.2}s = {:.0} rows/s",
        rows as f64 / seconds
    );
    println!(
        "re-ingest of identical rows (--force, all unchanged): {again_seconds:.2}s = {:.0} rows/s",
        rows as f64 / again_seconds
    );
    Ok(())
}

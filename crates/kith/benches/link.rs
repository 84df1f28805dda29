//! Linkage benchmark: synthesise populations, run `kith link` on every person extract, and
//! print wall time per phase, peak memory and pairwise accuracy against the ground truth.
//!
//! `cargo bench -p kith --bench link -- [SIZES…]` (default 100000). Peak memory is read with
//! GNU time (`/usr/bin/time`) when it is installed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn person_extracts(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            name.ends_with(".csv") && name.matches('.').count() == 1 && name != "organisations.csv"
        })
        .collect();
    files.sort();
    Ok(files)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sizes: Vec<u64> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![100_000]
    } else {
        sizes
    };
    let kith = PathBuf::from(env!("CARGO_BIN_EXE_kith"));
    let gnu_time = Path::new("/usr/bin/time").exists();
    println!(
        "machine: {} cores; peak memory {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        if gnu_time {
            "from /usr/bin/time"
        } else {
            "not measured (install GNU time)"
        }
    );
    for records in sizes {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("synth");
        let status = Command::new(&kith)
            .args(["synth", "--records", &records.to_string(), "--out"])
            .arg(&data)
            .output()?;
        if !status.status.success() {
            return Err("kith synth failed".into());
        }
        let clusters = dir.path().join("clusters.csv");
        let mut command = if gnu_time {
            let mut c = Command::new("/usr/bin/time");
            c.args(["-f", "peak-rss-kib %M"]).arg(&kith);
            c
        } else {
            Command::new(&kith)
        };
        command.arg("link");
        for file in person_extracts(&data)? {
            command.arg("--input").arg(file);
        }
        command.arg("--out").arg(&clusters);
        let started = Instant::now();
        let output = command.output()?;
        let seconds = started.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            return Err(format!("kith link failed: {stderr}").into());
        }
        let evaluation = Command::new(&kith)
            .arg("evaluate")
            .arg("--clusters")
            .arg(&clusters)
            .arg("--truth")
            .arg(data.join("truth/records.csv"))
            .arg("--persons")
            .arg(data.join("truth/persons.csv"))
            .output()?;
        println!("== {records} records: kith link {seconds:.2}s wall");
        for line in stderr.lines().filter(|l| {
            l.starts_with("linked") || l.contains("phases:") || l.starts_with("peak-rss-kib")
        }) {
            println!("  {}", line.trim());
        }
        for line in String::from_utf8_lossy(&evaluation.stdout).lines() {
            println!("  {line}");
        }
    }
    Ok(())
}

//! Generates a synthetic population: `cargo run --release -p synth --example gen -- 1000000 /tmp/out [seed]`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let records = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "synth-out".to_string()));
    let seed = args.next().and_then(|a| a.parse().ok()).unwrap_or(42);
    let config = synth::SynthConfig {
        seed,
        records,
        ..synth::SynthConfig::default()
    };
    let started = Instant::now();
    let mut reported = 0;
    let mut report = |written: u64| {
        if written / 100_000 > reported {
            reported = written / 100_000;
            eprintln!("{written} records…");
        }
    };
    match synth::generate(&config, &out, &mut report) {
        Ok(summary) => {
            println!(
                "{} records, {} persons, {} households, {} entries, {} relationships, {} files in {:.1?}",
                summary.records,
                summary.persons,
                summary.households,
                summary.entries,
                summary.relationships,
                summary.files.len(),
                started.elapsed()
            );
            for (tag, count) in &summary.hard_cases {
                println!(
                    "  {tag:<22} {count:>8}  {:.2}%",
                    100.0 * *count as f64 / summary.records.max(1) as f64
                );
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

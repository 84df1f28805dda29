//! `kith synth`: a synthetic multi-agency population with ground truth.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use synth::{SynthConfig, SynthSummary};

use crate::cli::SynthArgs;

pub fn run(args: &SynthArgs) -> Result<()> {
    let mut config = SynthConfig {
        seed: args.seed,
        records: args.records,
        ..SynthConfig::default()
    };
    if args.list_rates {
        println!("hard-case rates (override with --rate NAME=VALUE):");
        for (name, value) in config.rates.named() {
            println!("  {name:<28} {value}");
        }
        return Ok(());
    }
    for spec in &args.rate {
        let (name, value) = spec.split_once('=').with_context(|| {
            format!("invalid --rate `{spec}`: expected NAME=VALUE, e.g. typo=0.05")
        })?;
        let value: f64 = value
            .trim()
            .parse()
            .with_context(|| format!("invalid --rate `{spec}`: `{value}` is not a number"))?;
        config
            .rates
            .set(name.trim(), value)
            .map_err(|message| anyhow::anyhow!("invalid --rate `{spec}`: {message}"))?;
    }
    let started = Instant::now();
    let summary = generate(&config, &args.out)?;
    print_summary(&summary, &args.out, started.elapsed().as_secs_f64());
    Ok(())
}

/// Runs the generator with a progress bar.
pub fn generate(config: &SynthConfig, out: &Path) -> Result<SynthSummary> {
    let bar = ProgressBar::new(config.records);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>12} [{bar:30}] {pos}/{len} records ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix("synthesising");
    let summary = synth::generate(config, out, &mut |written| bar.set_position(written))
        .with_context(|| format!("synthetic data generation into `{}` failed", out.display()))?;
    bar.finish_and_clear();
    Ok(summary)
}

pub fn print_summary(summary: &SynthSummary, out: &Path, seconds: f64) {
    println!(
        "wrote {} person records of {} people in {} households, {} entries and {} relationships to {} in {:.1}s ({} files)",
        summary.records,
        summary.persons,
        summary.households,
        summary.entries,
        summary.relationships,
        out.display(),
        seconds,
        summary.files.len()
    );
    if !summary.hard_cases.is_empty() {
        let parts: Vec<String> = summary
            .hard_cases
            .iter()
            .map(|(tag, n)| format!("{tag} {n}"))
            .collect();
        println!("hard cases (records): {}", parts.join(", "));
    }
    println!("ground truth: {}", out.join("truth").display());
}

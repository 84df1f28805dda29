//! `kith demo`: the whole pipeline on a small synthetic population, on the embedded store.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use store::Store;
use synth::SynthConfig;

use crate::cli::DemoArgs;
use crate::ingest_cmd::{IngestOptions, ingest_files, print_summary};

pub fn run(args: &DemoArgs) -> Result<()> {
    println!(
        "Kith demo: a synthetic population across health, schools, social care, police and housing"
    );
    println!();
    println!(
        "1. generating about {} agency records (seed {}) in {}",
        args.records,
        args.seed,
        args.dir.display()
    );
    let config = SynthConfig {
        seed: args.seed,
        records: args.records,
        ..SynthConfig::default()
    };
    let started = Instant::now();
    let summary = crate::synth_cmd::generate(&config, &args.dir)?;
    crate::synth_cmd::print_summary(&summary, &args.dir, started.elapsed().as_secs_f64());

    println!();
    let mut store = Store::open(&args.db.db)
        .with_context(|| format!("cannot open the store `{}`", args.db.db))?;
    println!("2. ingesting the extracts into {}", store.description());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&args.dir)
        .with_context(|| format!("cannot list `{}`", args.dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    let options = IngestOptions {
        read: ingest::ReadOptions::default(),
        chunk_size: 5000,
        force: false,
        verbose: false,
    };
    let started = Instant::now();
    let (outcomes, failures) = ingest_files(&mut store, &files, &options);
    print_summary(&outcomes, started.elapsed().as_secs_f64());
    if !failures.is_empty() {
        for (file, error) in &failures {
            eprintln!("error: {file}: {error:#}");
        }
        bail!("{} demo files could not be ingested", failures.len());
    }
    let mut examples = outcomes
        .iter()
        .flat_map(|o| o.sample_issues.iter().map(move |i| (o, i)))
        .take(4)
        .peekable();
    if examples.peek().is_some() {
        println!(
            "   examples of what ingest caught (dirty data is normal; bad values never block a record):"
        );
    }
    for (outcome, issue) in examples {
        let name = std::path::Path::new(&outcome.file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!("   - {name} line {}: {}", issue.line, issue.message);
    }

    println!();
    println!("3. what the store now holds:");
    crate::status::print_counts(&mut store)?;

    println!();
    println!("4. linking the agencies' records into persons (the live registry)");
    let mut registry = registry::Registry::open(&mut store, registry::RegistryConfig::default())
        .context("cannot open the person registry")?;
    let started = Instant::now();
    let summary = crate::registry_cmd::link_pending(&mut store, &mut registry, "demo", true)?;
    if summary.records > 0 {
        println!(
            "   {} records → {} persons ({} records joined existing persons), {} pairs queued for review{}",
            summary.records,
            summary.persons_created,
            summary.linked_to_existing,
            summary.queued_for_review,
            if summary.model_trained {
                "; model trained and saved"
            } else {
                ""
            }
        );
    } else {
        println!("   every record was already linked; identifiers are unchanged");
    }
    let clusters = args.dir.join("persons.csv");
    crate::registry_cmd::export(&mut store, &clusters)?;
    let truth = args.dir.join("truth");
    let figures = crate::evaluate::figures(
        &clusters,
        &truth.join("records.csv"),
        Some(&truth.join("persons.csv")),
    )?;
    println!(
        "   against the ground truth: pairwise precision {:.4}, recall {:.4}, F1 {:.4} ({:.2}s)",
        figures.precision,
        figures.recall,
        figures.f1,
        started.elapsed().as_secs_f64()
    );
    if let Some((org, local, cci)) = store.registry().all_links()?.into_iter().next() {
        println!("   for example {org}:{local} is person {cci}: try `kith registry person {cci}`");
    }
    println!();
    println!("Next steps:");
    println!("  kith status                      what the store holds and each ingest batch");
    println!("  kith quarantine                  rows the latest batch refused or warned about");
    println!("  kith ingest --help               load your own agency extracts");
    println!("  kith review list                 possible matches waiting for a data steward");
    println!("  kith stats                       linkage quality per source, with drift alerts");
    println!(
        "  kith link --help                 link your own extracts into people, with explanations"
    );
    println!(
        "  kith demo                        run again: identical extracts are recognised and nothing changes"
    );
    Ok(())
}

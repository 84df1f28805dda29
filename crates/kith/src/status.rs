//! `kith status` and `kith quarantine`: what the store holds and what ingest refused.

use anyhow::{Context, Result, bail};
use store::{Severity, Store};

use crate::cli::{QuarantineArgs, StatusArgs};

pub fn run(args: &StatusArgs) -> Result<()> {
    let mut store = Store::open(&args.db.db)
        .with_context(|| format!("cannot open the store `{}`", args.db.db))?;
    println!("store: {}", store.description());
    print_counts(&mut store)?;
    let batches = store.batches()?;
    if !batches.is_empty() {
        println!("recent ingest batches:");
    }
    for batch in batches.iter().take(10) {
        println!(
            "  #{:<4} {:<13} {} — {} new, {} updated, {} unchanged, {} quarantined, {} warnings{}",
            batch.id,
            batch.kind,
            batch.file_name,
            batch.rows_inserted,
            batch.rows_updated,
            batch.rows_unchanged,
            batch.rows_quarantined,
            batch.warnings,
            if batch.finished_at.is_none() {
                format!(
                    " — INCOMPLETE after line {}; re-run the same ingest to resume",
                    batch.last_line
                )
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

pub fn print_counts(store: &mut Store) -> Result<()> {
    let counts = store.counts()?;
    let organisations = store.organisations()?;
    println!(
        "  {} organisations, {} person records ({} identifiers), {} entries, {} relationships, {} persons",
        counts.organisations,
        counts.source_records,
        counts.identifiers,
        counts.entries,
        counts.relationships,
        counts.persons
    );
    let mut by_type = std::collections::BTreeMap::<&str, usize>::new();
    for org in &organisations {
        *by_type.entry(org.agency_type.as_str()).or_default() += 1;
    }
    if !by_type.is_empty() {
        let parts: Vec<String> = by_type.iter().map(|(t, n)| format!("{n} {t}")).collect();
        println!("  organisations by type: {}", parts.join(", "));
    }
    println!(
        "  {} ingest batches; {} rows quarantined, {} warnings",
        counts.batches, counts.quarantined, counts.warnings
    );
    Ok(())
}

pub fn quarantine(args: &QuarantineArgs) -> Result<()> {
    let mut store = Store::open(&args.db.db)
        .with_context(|| format!("cannot open the store `{}`", args.db.db))?;
    let batch = match args.batch {
        Some(id) => store.batch(id)?,
        None => match store.batches()?.into_iter().next() {
            Some(batch) => batch,
            None => bail!("the store has no ingest batches yet; run `kith ingest FILE` first"),
        },
    };
    println!(
        "batch #{} ({}, {}): {} quarantined, {} warnings",
        batch.id, batch.kind, batch.file_name, batch.rows_quarantined, batch.warnings
    );
    for issue in store.batch_issues(batch.id)? {
        if args.rejected_only && issue.severity != Severity::Rejected {
            continue;
        }
        println!(
            "  line {}{} [{}] {}: {}",
            issue.line,
            issue
                .field
                .as_deref()
                .map(|f| format!(" `{f}`"))
                .unwrap_or_default(),
            if issue.severity == Severity::Rejected {
                "quarantined"
            } else {
                "warning"
            },
            issue.code,
            issue.message
        );
        if let Some(raw) = issue.raw {
            println!("      raw: {raw}");
        }
    }
    Ok(())
}

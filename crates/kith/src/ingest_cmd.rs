//! `kith ingest`: agency extracts into the store, chunk by chunk, resumable and idempotent.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use ingest::{ColumnMap, Extract, ExtractKind, ReadOptions, RowIssue, RowValue};
use sha2::{Digest, Sha256};
use store::{Chunk, IngestIssue, NewBatch, Severity, Store, Upsert};

use crate::cli::IngestArgs;

/// How to ingest, resolved from the command line.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub read: ReadOptions,
    pub chunk_size: u64,
    pub force: bool,
    /// Print each file's line as it finishes.
    pub verbose: bool,
}

/// What happened to one file.
#[derive(Debug, Clone, Default)]
pub struct FileOutcome {
    pub file: String,
    pub kind: &'static str,
    pub batch_id: Option<i64>,
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub quarantined: u64,
    pub warnings: u64,
    pub skipped_identical: bool,
    pub resumed_after: Option<u64>,
    pub seconds: f64,
    /// The first few issues, for the summary.
    pub sample_issues: Vec<IngestIssue>,
    pub ignored_columns: Vec<String>,
}

pub fn run(args: &IngestArgs) -> Result<()> {
    let mut map = ColumnMap::default();
    for spec in &args.map {
        map.extend(ColumnMap::parse(spec)?);
    }
    let options = IngestOptions {
        read: ReadOptions {
            org: args.org.clone(),
            map,
        },
        chunk_size: args.chunk_size,
        force: args.force,
        verbose: true,
    };
    let mut store = Store::open(&args.db.db)
        .with_context(|| format!("cannot open the store `{}`", args.db.db))?;
    eprintln!("store: {}", store.description());
    let started = Instant::now();
    let (outcomes, failures) = ingest_files(&mut store, &args.files, &options);
    print_summary(&outcomes, started.elapsed().as_secs_f64());
    if let Some(path) = &args.report {
        write_report(&mut store, &outcomes, path)?;
        println!("report of every issue written to {}", path.display());
    }
    if !args.no_link {
        // Every new record is matched to a person as soon as it is stored.
        let mut registry =
            registry::Registry::open(&mut store, registry::RegistryConfig::default())
                .context("cannot open the person registry")?;
        let actor = format!(
            "ingest:{}",
            std::env::var("USER").unwrap_or_else(|_| "kith".into())
        );
        crate::registry_cmd::link_pending(&mut store, &mut registry, &actor, false)?;
    }
    if !failures.is_empty() {
        for (file, error) in &failures {
            eprintln!("error: {file}: {error:#}");
        }
        bail!(
            "{} of {} files could not be ingested; the others are loaded",
            failures.len(),
            args.files.len()
        );
    }
    Ok(())
}

/// Loads files in dependency order (organisations, person records, relationships, entries).
/// A file that cannot be read is reported and the others still load.
pub fn ingest_files(
    store: &mut Store,
    files: &[PathBuf],
    options: &IngestOptions,
) -> (Vec<FileOutcome>, Vec<(String, anyhow::Error)>) {
    let mut failures = Vec::new();
    let mut opened = Vec::new();
    for path in files {
        match Extract::open(path, &options.read) {
            Ok(extract) => opened.push((path.clone(), extract)),
            Err(error) => failures.push((path.display().to_string(), error.into())),
        }
    }
    let order = |kind: ExtractKind| match kind {
        ExtractKind::Organisations => 0,
        ExtractKind::Records => 1,
        ExtractKind::Relationships => 2,
        ExtractKind::Entries => 3,
    };
    opened.sort_by_key(|(_, extract)| order(extract.kind()));
    let mut outcomes = Vec::new();
    for (path, extract) in opened {
        match ingest_one(store, &path, extract, options) {
            Ok(outcome) => {
                if options.verbose {
                    print_file_line(&outcome);
                }
                outcomes.push(outcome);
            }
            Err(error) => failures.push((path.display().to_string(), error)),
        }
    }
    (outcomes, failures)
}

fn sha256_of(path: &Path) -> Result<String> {
    let mut file = File::open(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buffer)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

fn to_store_issue(issue: &RowIssue, raw: Option<&str>) -> IngestIssue {
    IngestIssue {
        line: issue.line,
        field: issue.field.clone(),
        severity: match issue.severity {
            ingest::Severity::Warning => Severity::Warning,
            ingest::Severity::Rejected => Severity::Rejected,
        },
        code: issue.code.clone(),
        message: issue.message.clone(),
        raw: raw.map(str::to_string),
    }
}

fn progress_bar(path: &Path) -> ProgressBar {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let bar = ProgressBar::new(size);
    let style =
        ProgressStyle::with_template("{prefix:>24} [{bar:30}] {bytes}/{total_bytes} {msg} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    bar
}

/// Fault injection for the crash-recovery tests: abort the process (no unwinding, no cleanup)
/// right after this many chunks have been committed.
fn abort_after_chunks() -> Option<u64> {
    std::env::var("KITH_FAULT_ABORT_AFTER_CHUNKS")
        .ok()
        .and_then(|v| v.parse().ok())
}

fn ingest_one(
    store: &mut Store,
    path: &Path,
    mut extract: Extract,
    options: &IngestOptions,
) -> Result<FileOutcome> {
    let started = Instant::now();
    let file_name = path.display().to_string();
    let kind = extract.kind();
    let sha = sha256_of(path)?;
    let mut outcome = FileOutcome {
        file: file_name.clone(),
        kind: kind.as_str(),
        ignored_columns: extract.ignored_columns(),
        ..FileOutcome::default()
    };
    let org = options.read.org.as_deref();

    if kind == ExtractKind::Organisations {
        for row in extract {
            let row = row?;
            outcome.rows += 1;
            match row.value {
                RowValue::Organisation(org) => match store.upsert_organisation(&org)? {
                    Upsert::Inserted => outcome.inserted += 1,
                    Upsert::Updated => outcome.updated += 1,
                    Upsert::Unchanged => outcome.unchanged += 1,
                },
                _ => {
                    outcome.quarantined += 1;
                    outcome
                        .sample_issues
                        .extend(row.issues.iter().map(|i| to_store_issue(i, None)));
                }
            }
        }
        outcome.seconds = started.elapsed().as_secs_f64();
        return Ok(outcome);
    }

    let batch = match store.find_batch(&sha, kind.as_str(), org)? {
        Some(batch) if batch.finished_at.is_some() && !options.force => {
            outcome.batch_id = Some(batch.id);
            outcome.skipped_identical = true;
            outcome.seconds = started.elapsed().as_secs_f64();
            return Ok(outcome);
        }
        Some(batch) if batch.finished_at.is_none() => {
            extract.resume_after(batch.last_line);
            outcome.resumed_after = Some(batch.last_line);
            batch
        }
        _ => store.begin_batch(&NewBatch {
            file_name: file_name.clone(),
            file_sha256: sha,
            org_code: org.map(str::to_string),
            kind: kind.as_str().to_string(),
            started_at: now(),
        })?,
    };
    outcome.batch_id = Some(batch.id);

    let bar = progress_bar(path);
    let abort_after = abort_after_chunks();
    let mut chunks_committed = 0u64;
    let mut chunk = Chunk::default();
    let mut rows_in_chunk = 0u64;
    let mut flush =
        |store: &mut Store, chunk: &mut Chunk, outcome: &mut FileOutcome| -> Result<()> {
            let applied = store.apply_chunk(batch.id, chunk).with_context(|| {
                format!(
                    "`{file_name}`: the chunk ending at line {} was not applied",
                    chunk.last_line
                )
            })?;
            outcome.inserted += applied.inserted;
            outcome.updated += applied.updated;
            outcome.unchanged += applied.unchanged;
            for issue in chunk.issues.iter().chain(&applied.store_rejections) {
                match issue.severity {
                    Severity::Warning => outcome.warnings += 1,
                    Severity::Rejected => outcome.quarantined += 1,
                }
                if outcome.sample_issues.len() < 10 {
                    outcome.sample_issues.push(issue.clone());
                }
            }
            *chunk = Chunk::default();
            chunks_committed += 1;
            if abort_after == Some(chunks_committed) {
                std::process::abort();
            }
            Ok(())
        };
    // Not a `for` loop: the progress bar reads the extract's position between rows.
    #[allow(clippy::while_let_on_iterator)]
    while let Some(row) = extract.next() {
        let row = row?;
        outcome.rows += 1;
        rows_in_chunk += 1;
        chunk.last_line = row.line;
        let raw = match &row.value {
            RowValue::Rejected { raw } => Some(raw.as_str()),
            _ => None,
        };
        chunk
            .issues
            .extend(row.issues.iter().map(|i| to_store_issue(i, raw)));
        match row.value {
            RowValue::Record {
                record,
                birth_date_raw,
            } => chunk.records.push((row.line, record, birth_date_raw)),
            RowValue::Entry(entry) => chunk.entries.push((row.line, entry)),
            RowValue::Relationship(relationship) => {
                chunk.relationships.push((row.line, relationship))
            }
            RowValue::Organisation(org) => {
                store.upsert_organisation(&org)?;
            }
            RowValue::Rejected { .. } => {}
        }
        if rows_in_chunk >= options.chunk_size {
            flush(store, &mut chunk, &mut outcome)?;
            rows_in_chunk = 0;
            bar.set_position(extract.bytes_read());
        }
    }
    if rows_in_chunk > 0 {
        flush(store, &mut chunk, &mut outcome)?;
    }
    bar.finish_and_clear();
    store.finish_batch(batch.id, &now())?;
    outcome.ignored_columns = extract.ignored_columns();
    outcome.seconds = started.elapsed().as_secs_f64();
    Ok(outcome)
}

fn print_file_line(outcome: &FileOutcome) {
    if outcome.skipped_identical {
        println!(
            "{}: identical content already ingested (batch {}); nothing to do (use --force to re-apply)",
            outcome.file,
            outcome.batch_id.unwrap_or_default()
        );
        return;
    }
    let rate = if outcome.seconds > 0.0 {
        outcome.rows as f64 / outcome.seconds
    } else {
        0.0
    };
    let resumed = outcome
        .resumed_after
        .map(|line| format!(", resumed after line {line}"))
        .unwrap_or_default();
    println!(
        "{}: {} {} rows — {} new, {} updated, {} unchanged, {} quarantined, {} warnings ({:.0} rows/s{resumed})",
        outcome.file,
        outcome.rows,
        outcome.kind,
        outcome.inserted,
        outcome.updated,
        outcome.unchanged,
        outcome.quarantined,
        outcome.warnings,
        rate,
    );
    if !outcome.ignored_columns.is_empty() {
        println!("  ignored columns: {}", outcome.ignored_columns.join(", "));
    }
    for issue in outcome.sample_issues.iter().take(5) {
        println!(
            "  line {}{}: {}{}",
            issue.line,
            issue
                .field
                .as_deref()
                .map(|f| format!(", field `{f}`"))
                .unwrap_or_default(),
            if issue.severity == Severity::Rejected {
                "quarantined: "
            } else {
                ""
            },
            issue.message
        );
    }
    let total_issues = outcome.quarantined + outcome.warnings;
    if total_issues > 5
        && let Some(batch) = outcome.batch_id
    {
        println!(
            "  … {} more: kith quarantine --batch {batch}",
            total_issues - 5
        );
    }
}

pub fn print_summary(outcomes: &[FileOutcome], seconds: f64) {
    let sum = |f: fn(&FileOutcome) -> u64| outcomes.iter().map(f).sum::<u64>();
    let rows = sum(|o| o.rows);
    println!(
        "ingested {} files in {:.1}s: {} rows — {} new, {} updated, {} unchanged, {} quarantined, {} warnings; {} files skipped as already ingested",
        outcomes.len(),
        seconds,
        rows,
        sum(|o| o.inserted),
        sum(|o| o.updated),
        sum(|o| o.unchanged),
        sum(|o| o.quarantined),
        sum(|o| o.warnings),
        outcomes.iter().filter(|o| o.skipped_identical).count(),
    );
}

fn write_report(store: &mut Store, outcomes: &[FileOutcome], path: &Path) -> Result<()> {
    let mut writer = csv::Writer::from_path(path)
        .with_context(|| format!("cannot write the report `{}`", path.display()))?;
    writer.write_record([
        "file", "batch", "line", "field", "severity", "code", "reason", "raw",
    ])?;
    for outcome in outcomes {
        let Some(batch) = outcome.batch_id else {
            continue;
        };
        for issue in store.batch_issues(batch)? {
            writer.write_record([
                outcome.file.as_str(),
                &batch.to_string(),
                &issue.line.to_string(),
                issue.field.as_deref().unwrap_or(""),
                if issue.severity == Severity::Rejected {
                    "rejected"
                } else {
                    "warning"
                },
                &issue.code,
                &issue.message,
                issue.raw.as_deref().unwrap_or(""),
            ])?;
        }
    }
    writer.flush()?;
    Ok(())
}

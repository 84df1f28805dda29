//! `kith link`: batch linkage of CSV files into clusters, for analysts to script against.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use ingest::ColumnMap;
use linkage::{InputRecord, LinkConfig, LinkOutput, Mode, Model, Phase, PhaseEvent};
use rayon::prelude::*;

use crate::cli::LinkArgs;

const LINK_COLUMNS: &[&str] = &[
    "record_id",
    "source",
    "given_name",
    "middle_names",
    "family_name",
    "date_of_birth",
    "sex",
    "address",
    "town",
    "postcode",
    "nhs_number",
    "nhs_number_status",
    "upn",
];

/// Common names for canonical columns in other systems' exports, used only when the file has
/// no column of the canonical name and `--map` does not name one.
const SYNONYMS: &[(&str, &[&str])] = &[
    (
        "record_id",
        &[
            "unique_id",
            "id",
            "person_id_local",
            "local_id",
            "patient_id",
            "pupil_id",
        ],
    ),
    (
        "given_name",
        &[
            "first_name",
            "forename",
            "forenames",
            "firstname",
            "given_names",
            "first_names",
        ],
    ),
    (
        "family_name",
        &["surname", "last_name", "lastname", "family_names"],
    ),
    ("middle_names", &["middle_name", "middlename"]),
    (
        "date_of_birth",
        &["dob", "birth_date", "birthdate", "date_birth"],
    ),
    ("sex", &["gender"]),
    ("town", &["city"]),
    ("address", &["address_line_1", "address1", "street_address"]),
    ("postcode", &["post_code", "postal_code", "zip"]),
    ("nhs_number", &["nhs_no", "nhsnumber"]),
];

/// What reading the inputs skipped.
#[derive(Debug, Default)]
pub struct ReadReport {
    rows_skipped: Vec<String>,
    ignored_columns: Vec<String>,
    recognised: Vec<String>,
}

fn stem(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .map(|n| n.split('.').next().unwrap_or_default().to_string())
        .unwrap_or_default()
}

/// Reads every input file (in parallel), keeping the order of files and rows.
pub fn read_inputs(
    paths: &[PathBuf],
    map: &ColumnMap,
    report: &mut ReadReport,
) -> Result<Vec<InputRecord>> {
    let per_file: Vec<(Vec<InputRecord>, ReadReport)> = paths
        .par_iter()
        .map(|path| {
            let mut file_report = ReadReport::default();
            let records = read_file(path, map, &mut file_report)?;
            Ok((records, file_report))
        })
        .collect::<Result<_>>()?;
    let mut records = Vec::with_capacity(per_file.iter().map(|(r, _)| r.len()).sum());
    for (file_records, file_report) in per_file {
        records.extend(file_records);
        report.rows_skipped.extend(file_report.rows_skipped);
        for column in file_report.ignored_columns {
            if !report.ignored_columns.contains(&column) {
                report.ignored_columns.push(column);
            }
        }
        for column in file_report.recognised {
            if !report.recognised.contains(&column) {
                report.recognised.push(column);
            }
        }
    }
    Ok(records)
}

fn read_file(path: &Path, map: &ColumnMap, report: &mut ReadReport) -> Result<Vec<InputRecord>> {
    let mut records = Vec::new();
    let file = File::open(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(file);
    let header = reader
        .byte_headers()
        .with_context(|| format!("`{}`: cannot read the header", path.display()))?
        .clone();
    if header.is_empty() {
        bail!(
            "`{}` is empty: expected a header with at least `record_id`",
            path.display()
        );
    }
    let names: Vec<String> = header
        .iter()
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .collect();
    let mut slots: Vec<Option<usize>> = vec![None; LINK_COLUMNS.len()];
    for (index, name) in names.iter().enumerate() {
        let canonical = map.canonical(name);
        match LINK_COLUMNS.iter().position(|c| *c == canonical) {
            Some(slot) if slots[slot].is_none() => slots[slot] = Some(index),
            Some(_) => bail!("`{}`: the header names `{canonical}` twice", path.display()),
            None => {
                if !report.ignored_columns.contains(name) {
                    report.ignored_columns.push(name.clone());
                }
            }
        }
    }
    // Recognise common synonyms for columns the file does not name canonically.
    for (slot, canonical) in LINK_COLUMNS.iter().enumerate() {
        if slots[slot].is_some() {
            continue;
        }
        let Some((_, synonyms)) = SYNONYMS.iter().find(|(c, _)| c == canonical) else {
            continue;
        };
        if let Some(index) = names
            .iter()
            .position(|n| synonyms.contains(&ingest::columns::normalise_header(n).as_str()))
        {
            slots[slot] = Some(index);
            report.ignored_columns.retain(|c| c != &names[index]);
            report
                .recognised
                .push(format!("`{}` as {canonical}", names[index]));
        }
    }
    if slots[0].is_none() {
        bail!(
            "`{}`: the header has no `record_id` column (found: {}); rename it or use --map record_id=YOUR_COLUMN",
            path.display(),
            names.join(", ")
        );
    }
    let default_source = stem(path);
    let mut row = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                report
                    .rows_skipped
                    .push(format!("{}: {error}", path.display()));
                continue;
            }
        }
        let line = row.position().map(|p| p.line()).unwrap_or(0);
        if row.len() != header.len() {
            report.rows_skipped.push(format!(
                "{} line {line}: {} fields, the header has {}",
                path.display(),
                row.len(),
                header.len()
            ));
            continue;
        }
        let field = |slot: usize| -> Option<String> {
            let bytes = row.get(slots[slot]?)?;
            let text = String::from_utf8_lossy(bytes);
            let text = text.trim();
            (!text.is_empty()).then(|| text.to_string())
        };
        let Some(record_id) = field(0) else {
            report
                .rows_skipped
                .push(format!("{} line {line}: empty record_id", path.display()));
            continue;
        };
        records.push(InputRecord {
            source: field(1).unwrap_or_else(|| default_source.clone()),
            record_id,
            given_name: field(2),
            middle_names: field(3),
            family_name: field(4),
            date_of_birth: field(5),
            sex: field(6),
            address: field(7),
            town: field(8),
            postcode: field(9),
            nhs_number: field(10),
            nhs_number_status: field(11),
            upn: field(12),
        });
    }
    Ok(records)
}

fn spinner(name: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix:>8} {elapsed_precise} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_prefix(name.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

pub fn run(args: &LinkArgs) -> Result<()> {
    let started = Instant::now();
    let mut map = ColumnMap::default();
    for spec in &args.map {
        map.extend(ColumnMap::parse(spec)?);
    }
    if !(0.0..=1.0).contains(&args.threshold) {
        bail!(
            "--threshold {} is not a probability between 0 and 1",
            args.threshold
        );
    }
    let mode = match args.mode.as_str() {
        "dedupe" => Mode::Dedupe,
        "link" => Mode::Link,
        _ => Mode::LinkAndDedupe,
    };
    let model = match &args.model {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the model `{}`", path.display()))?;
            Some(Model::from_json(&text).with_context(|| format!("`{}`", path.display()))?)
        }
        None => None,
    };

    let mut timings: Vec<(&str, Duration)> = Vec::new();
    let read_bar = spinner("read");
    let phase_started = Instant::now();
    let mut report = ReadReport::default();
    let inputs = read_inputs(&args.inputs, &map, &mut report)?;
    read_bar.finish_and_clear();
    timings.push(("read", phase_started.elapsed()));
    if !report.recognised.is_empty() {
        eprintln!("recognised columns: {}", report.recognised.join(", "));
    }
    if !report.ignored_columns.is_empty() {
        eprintln!("ignored columns: {}", report.ignored_columns.join(", "));
    }
    if !report.rows_skipped.is_empty() {
        eprintln!("skipped {} unreadable rows:", report.rows_skipped.len());
        for line in report.rows_skipped.iter().take(10) {
            eprintln!("  {line}");
        }
    }

    let config = LinkConfig {
        mode,
        threshold: args.threshold,
        seed: args.seed,
        max_block: args.max_block,
        model,
        ..LinkConfig::default()
    };
    let mut bar: Option<(ProgressBar, Instant, Phase)> = None;
    let output = linkage::link(inputs, &config, &mut |event| match event {
        PhaseEvent::Started(phase) => bar = Some((spinner(phase.name()), Instant::now(), phase)),
        PhaseEvent::Finished(_) => {
            if let Some((bar, since, phase)) = bar.take() {
                bar.finish_and_clear();
                timings.push((phase.name(), since.elapsed()));
            }
        }
    });

    let write_bar = spinner("write");
    let phase_started = Instant::now();
    write_clusters(&output, &args.out)?;
    if let Some(path) = &args.pairs {
        write_pairs(&output, path)?;
    }
    if let Some(path) = &args.save_model {
        std::fs::write(path, output.model.to_json() + "\n")
            .with_context(|| format!("cannot write the model `{}`", path.display()))?;
    }
    write_bar.finish_and_clear();
    timings.push(("write", phase_started.elapsed()));

    if !args.explain.is_empty() {
        explain_pairs(&output, &config, &args.explain, args.explain_json)?;
    }
    print_summary(&output, &timings, started.elapsed(), args);
    Ok(())
}

pub fn write_clusters(output: &LinkOutput, path: &Path) -> Result<()> {
    let file = File::create(path).with_context(|| format!("cannot write `{}`", path.display()))?;
    let mut writer = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, file));
    writer.write_record(["source", "record_id", "cluster_id"])?;
    let data = &output.data;
    for (index, id) in data.record_ids.iter().enumerate() {
        let representative = output.clusters[index] as usize;
        writer.write_record([
            data.source_of(index),
            id.as_str(),
            &output.label(representative),
        ])?;
    }
    writer
        .flush()
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}

fn write_pairs(output: &LinkOutput, path: &Path) -> Result<()> {
    let file = File::create(path).with_context(|| format!("cannot write `{}`", path.display()))?;
    let mut writer = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, file));
    writer.write_record([
        "source_l",
        "record_id_l",
        "source_r",
        "record_id_r",
        "match_weight",
        "match_probability",
    ])?;
    let data = &output.data;
    for pair in &output.pairs {
        let (a, b) = (pair.a as usize, pair.b as usize);
        writer.write_record([
            data.source_of(a),
            data.record_ids[a].as_str(),
            data.source_of(b),
            data.record_ids[b].as_str(),
            &format!("{:.4}", pair.weight),
            &format!("{:.6}", pair.probability),
        ])?;
    }
    writer
        .flush()
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}

fn explain_pairs(
    output: &LinkOutput,
    config: &LinkConfig,
    specs: &[String],
    json: bool,
) -> Result<()> {
    let mut index: HashMap<String, usize> = HashMap::new();
    for i in 0..output.data.record_ids.len() {
        index.entry(output.label(i)).or_insert(i);
    }
    let mut stdout = std::io::stdout().lock();
    for spec in specs {
        let Some((left, right)) = spec.split_once('=') else {
            bail!("invalid --explain `{spec}`: expected SOURCE:ID=SOURCE:ID");
        };
        let find = |label: &str| {
            index.get(label.trim()).copied().with_context(|| {
                format!("--explain: no record `{label}` in the input (use SOURCE:RECORD_ID)")
            })
        };
        let explanation = output.explain(config, find(left)?, find(right)?);
        if json {
            writeln!(stdout, "{}", serde_json::to_string_pretty(&explanation)?)?;
        } else {
            write!(stdout, "{explanation}")?;
        }
    }
    Ok(())
}

fn print_summary(
    output: &LinkOutput,
    timings: &[(&str, Duration)],
    total: Duration,
    args: &LinkArgs,
) {
    let s = &output.summary;
    eprintln!(
        "linked {} records from {} sources ({}): {} comparisons, {} pairs at or above {}, {} clusters (largest {}) in {:.2}s",
        s.records,
        s.sources,
        s.mode,
        s.comparisons,
        s.pairs_above_threshold,
        args.threshold,
        s.clusters,
        s.largest_cluster,
        total.as_secs_f64()
    );
    let phases: Vec<String> = timings
        .iter()
        .map(|(name, d)| format!("{name} {:.2}s", d.as_secs_f64()))
        .collect();
    eprintln!("  phases: {}", phases.join(", "));
    if s.model_trained {
        let t = &output.model.training;
        eprintln!(
            "  model trained: u from {} random pairs; EM sessions: {}; prior {:.2} bits",
            t.u_sample_pairs,
            t.em_sessions
                .iter()
                .map(|e| format!(
                    "{} ({} pairs, {} iterations{})",
                    e.blocked_on,
                    e.pairs,
                    e.iterations,
                    if e.converged { "" } else { ", not converged" }
                ))
                .collect::<Vec<_>>()
                .join("; "),
            output.prior_weight
        );
    }
    for (constraint, count) in &s.prevented {
        let example = output
            .prevented
            .iter()
            .find(|p| p.constraint == *constraint)
            .map(|p| {
                format!(
                    " (e.g. {} ↔ {})",
                    output.label(p.because_of.0 as usize),
                    output.label(p.because_of.1 as usize)
                )
            })
            .unwrap_or_default();
        eprintln!(
            "  prevented {count} joins: {}{example}",
            constraint.describe()
        );
    }
    let per_rule: Vec<String> = s
        .blocking
        .iter()
        .map(|r| format!("{} {}", r.rule, r.pairs))
        .collect();
    eprintln!(
        "  blocking pairs per rule (before de-duplication): {}",
        per_rule.join("; ")
    );
    for rule in s.blocking.iter().filter(|r| r.blocks_skipped > 0) {
        eprintln!(
            "  blocking rule `{}` skipped {} blocks over --max-block ({} records, largest {})",
            rule.rule,
            rule.blocks_skipped,
            rule.records_in_skipped_blocks,
            rule.largest_skipped_block
        );
    }
    let u = &s.unreadable;
    let unreadable = [
        ("unreadable dates of birth", u.unreadable_dates),
        ("invalid NHS numbers", u.invalid_nhs_numbers),
        ("invalid UPNs", u.invalid_upns),
        ("postcodes compared as text", u.non_uk_postcodes),
        (
            "placeholder given names (Baby, Unknown…)",
            u.placeholder_given_names,
        ),
    ];
    let parts: Vec<String> = unreadable
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(what, n)| format!("{n} {what}"))
        .collect();
    if !parts.is_empty() {
        eprintln!("  treated as missing: {}", parts.join(", "));
    }
}

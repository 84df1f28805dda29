//! The live registry's targets, measured.
//!
//! `cargo bench -p kith --bench registry -- load [RECORDS] [--db URL]` (default 1,000,000 records,
//! SQLite): synthesises a population, ingests its person records, times the initial load through
//! the registry (`kith registry load`), then times real-time matching of 1,000 new records
//! against everyone indexed: the read-only search behind `$match`, and the full transactional link
//! (candidates, grades, person, blocking keys, history). With `--db postgres://…` the same runs on
//! PostgreSQL in a schema of its own that is dropped afterwards.
//!
//! `cargo bench -p kith --bench registry -- stream [RECORDS]` (default 100,000): links the same
//! population twice — once with the batch engine (`kith link`), once record by record through the
//! registry with the agencies arriving in random order and each agency's records shuffled — and
//! prints the pairwise precision, recall and F1 of both against the ground truth.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use registry::{Change, Registry, RegistryConfig};
use store::{RegistryRecord, Store};

type Error = Box<dyn std::error::Error>;

fn kith() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kith"))
}

fn run(args: &[&str], files: &[PathBuf]) -> Result<(Duration, String), Error> {
    let started = Instant::now();
    let output = Command::new(kith()).args(args).args(files).output()?;
    let elapsed = started.elapsed();
    if !output.status.success() {
        return Err(format!(
            "kith {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    Ok((
        elapsed,
        String::from_utf8_lossy(&output.stdout).into_owned(),
    ))
}

/// Synthesises `records` records and returns the person-record extracts.
fn synthesise(dir: &Path, records: u64) -> Result<Vec<PathBuf>, Error> {
    let data = dir.join("synth");
    let (took, _) = run(
        &[
            "synth",
            "--records",
            &records.to_string(),
            "--out",
            &data.to_string_lossy(),
        ],
        &[],
    )?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&data)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            name.is_some_and(|n| {
                n.ends_with(".csv") && n.matches('.').count() == 1 && n != "organisations.csv"
            })
        })
        .collect();
    files.sort();
    println!("synth: {records} records in {:.1} s", took.as_secs_f64());
    Ok(files)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1e3
}

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let mean = times.iter().map(Duration::as_secs_f64).sum::<f64>() / times.len().max(1) as f64;
    println!(
        "{what}: n={} p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms, mean {:.3} ms",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        percentile(&times, 0.99),
        percentile(&times, 1.0),
        mean * 1e3
    );
}

/// New arrivals: half are other agencies' records of known children (with a typo), half are
/// children nobody has seen.
fn arrivals(store: &mut Store, count: usize, seed: u64) -> Result<Vec<model::PersonRecord>, Error> {
    let total = store.registry().linked_count()?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(count);
    let mut index = 0;
    while out.len() < count {
        let offset = rand::Rng::random_range(&mut rng, 0..total.max(1));
        let Some(known) = store.registry().records_page(offset, 1)?.into_iter().next() else {
            continue;
        };
        index += 1;
        let mut record = to_person(&known, &format!("ARRIVAL{index}"));
        if index % 2 == 0 {
            // Somebody new: another given name and birth year.
            record.given_name = Some(["Ximena", "Zofia", "Idris", "Tadhg"][index % 4].into());
            record.date_of_birth = record.date_of_birth.map(|mut d| {
                d.year -= 3;
                d
            });
            record.identifiers.clear();
        } else if let Some(family) = record.family_name.as_mut()
            && let Some((at, _)) = family.char_indices().nth(2)
        {
            // A slip of the keyboard in the family name.
            family.insert(at, 'r');
        }
        out.push(record);
    }
    Ok(out)
}

fn to_person(r: &RegistryRecord, local_id: &str) -> model::PersonRecord {
    model::PersonRecord {
        source: "HOSP_BENCH".into(),
        local_id: local_id.into(),
        given_name: r.given_name.clone(),
        middle_names: r.middle_names.clone(),
        family_name: r.family_name.clone(),
        previous_names: vec![],
        date_of_birth: r.birth_date.as_deref().and_then(|d| d.parse().ok()),
        sex: model::Sex::parse_lenient(&r.sex).unwrap_or(model::Sex::Unknown),
        address: r.address.clone(),
        town: r.town.clone(),
        postcode: r.postcode.clone(),
        uprn: None,
        identifiers: match (&r.nhs_number, r.nhs_number_status.as_deref()) {
            (Some(n), Some("01")) => vec![model::Identifier {
                kind: model::IdentifierKind::NhsNumber,
                value: n.clone(),
                status: Some("01".into()),
            }],
            _ => vec![],
        },
    }
}

fn load(records: u64, db: Option<String>) -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let files = synthesise(dir.path(), records)?;
    let (url, cleanup) = match db {
        Some(url) if url.starts_with("postgres") => {
            let schema = format!("kith_bench_{}", std::process::id());
            let separator = if url.contains('?') { '&' } else { '?' };
            (
                format!("{url}{separator}schema={schema}"),
                Some((url, schema)),
            )
        }
        Some(url) => (url, None),
        None => (
            format!("sqlite:{}", dir.path().join("kith.db").display()),
            None,
        ),
    };
    let outcome = load_on(&url, &files, records);
    if let Some((url, schema)) = cleanup
        && let Ok(mut client) = postgres::Client::connect(&url, postgres::NoTls)
    {
        let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
    }
    outcome
}

fn load_on(url: &str, files: &[PathBuf], records: u64) -> Result<(), Error> {
    let engine = if url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let (took, _) = run(&["ingest", "--no-link", "--db", url], files)?;
    println!(
        "ingest of the person records ({engine}, not timed as the target): {:.1} s",
        took.as_secs_f64()
    );
    let (took, out) = run(&["registry", "load", "--db", url], &[])?;
    println!(
        "initial load through the registry ({engine}): {records} requested records in {:.1} s — {}",
        took.as_secs_f64(),
        out.trim()
    );

    let mut store = Store::open(url)?;
    let registry = Registry::open(&mut store, RegistryConfig::default())?;
    let (active, _) = store.registry().person_counts()?;
    println!(
        "indexed: {active} persons, {} records",
        store.registry().linked_count()?
    );
    let new = arrivals(&mut store, 1_000, 7)?;

    // Read-only search, as `$match` does it.
    let mut search_times = Vec::with_capacity(new.len());
    let mut certain = 0;
    for person in &new {
        let query = RegistryRecord {
            id: -1,
            org_code: person.source.clone(),
            local_id: person.local_id.clone(),
            given_name: person.given_name.clone(),
            family_name: person.family_name.clone(),
            birth_date: person.date_of_birth.map(|d| d.to_string()),
            sex: person.sex.as_str().to_string(),
            address: person.address.clone(),
            town: person.town.clone(),
            postcode: person.postcode.clone(),
            nhs_number: person.identifiers.first().map(|i| i.value.clone()),
            nhs_number_status: person.identifiers.first().and_then(|i| i.status.clone()),
            ..RegistryRecord::default()
        };
        let started = Instant::now();
        let found = registry.search(&mut store, &query)?;
        search_times.push(started.elapsed());
        certain += usize::from(
            found
                .first()
                .is_some_and(|p| p.grade == registry::Grade::Certain),
        );
    }
    report(
        &format!("real-time search ({engine}, read-only)"),
        search_times,
    );
    println!(
        "  {certain} of {} arrivals had a certain match (half are known children)",
        new.len()
    );

    // The full real-time link: one transaction per record.
    let batch = store.begin_batch(&store::NewBatch {
        file_name: "arrivals".into(),
        file_sha256: format!("bench-{}", std::process::id()),
        org_code: Some("HOSP_BENCH".into()),
        kind: "records".into(),
        started_at: "2026-11-24T00:00:00Z".into(),
    })?;
    let chunk = store::Chunk {
        last_line: new.len() as u64 + 1,
        records: new
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, r)| (i as u64 + 2, r, None))
            .collect(),
        ..store::Chunk::default()
    };
    store.apply_chunk(batch.id, &chunk)?;
    let mut link_times = Vec::with_capacity(new.len());
    let at = "2026-11-24T00:00:00Z";
    for person in &new {
        let id = store
            .registry()
            .record_id(&person.source, &person.local_id)?
            .ok_or("arrival not stored")?;
        let started = Instant::now();
        registry.link_record(
            &mut store,
            id,
            Change {
                actor: "bench",
                at,
                reason: None,
            },
        )?;
        link_times.push(started.elapsed());
    }
    report(
        &format!("real-time link ({engine}, one transaction each)"),
        link_times,
    );
    Ok(())
}

fn stream(records: u64) -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let files = synthesise(dir.path(), records)?;
    let truth = dir.path().join("synth/truth/records.csv");

    // The batch engine.
    let batch_clusters = dir.path().join("batch.csv");
    let mut args: Vec<String> = vec![
        "link".into(),
        "--out".into(),
        batch_clusters.to_string_lossy().into(),
    ];
    for f in &files {
        args.push("--input".into());
        args.push(f.to_string_lossy().into());
    }
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (took, _) = run(&arg_refs, &[])?;
    println!("batch engine (kith link): {:.1} s", took.as_secs_f64());
    let (_, batch_eval) = run(
        &[
            "evaluate",
            "--clusters",
            &batch_clusters.to_string_lossy(),
            "--truth",
            &truth.to_string_lossy(),
        ],
        &[],
    )?;

    // The registry, record by record.
    let url = format!("sqlite:{}", dir.path().join("kith.db").display());
    run(&["ingest", "--no-link", "--db", &url], &files)?;
    run(&["registry", "train", "--db", &url], &[])?;
    let mut store = Store::open(&url)?;
    let registry = Registry::open(&mut store, RegistryConfig::default())?;
    let mut by_source: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
    let mut after = 0;
    loop {
        let page = store.registry().records_page(after, 50_000)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for r in page {
            by_source.entry(r.org_code).or_default().push(r.id);
        }
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut sources: Vec<Vec<i64>> = by_source.into_values().collect();
    sources.shuffle(&mut rng);
    let mut times = Vec::new();
    let started = Instant::now();
    let at = "2026-11-24T00:00:00Z";
    for mut ids in sources {
        ids.shuffle(&mut rng);
        for id in ids {
            let t = Instant::now();
            registry.link_record(
                &mut store,
                id,
                Change {
                    actor: "stream",
                    at,
                    reason: None,
                },
            )?;
            times.push(t.elapsed());
        }
    }
    println!(
        "registry stream: {} records one at a time in {:.1} s ({:.0} records/s)",
        times.len(),
        started.elapsed().as_secs_f64(),
        times.len() as f64 / started.elapsed().as_secs_f64()
    );
    report("  per-record link", times);
    let stream_clusters = dir.path().join("stream.csv");
    run(
        &[
            "registry",
            "export",
            "--db",
            &url,
            "--out",
            &stream_clusters.to_string_lossy(),
        ],
        &[],
    )?;
    let (_, stream_eval) = run(
        &[
            "evaluate",
            "--clusters",
            &stream_clusters.to_string_lossy(),
            "--truth",
            &truth.to_string_lossy(),
        ],
        &[],
    )?;
    let line = |text: &str| {
        text.lines()
            .find(|l| l.contains("F1"))
            .unwrap_or("")
            .trim()
            .to_string()
    };
    println!("batch:  {}", line(&batch_eval));
    println!("stream: {}", line(&stream_eval));
    Ok(())
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    println!(
        "machine: {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let db = args
        .iter()
        .position(|a| a == "--db")
        .and_then(|i| args.get(i + 1).cloned());
    let numbers: Vec<u64> = args.iter().filter_map(|a| a.parse().ok()).collect();
    match args.first().map(String::as_str) {
        Some("stream") => stream(numbers.first().copied().unwrap_or(100_000)),
        _ => load(numbers.first().copied().unwrap_or(1_000_000), db),
    }
}

//! Synthetic multi-agency data with ground truth, for tests, demos and benchmarks of Kith.
//!
//! `synth` invents an English population of families — children and their parents or carers in
//! households — and writes what each agency would hold about them: GP practices, hospitals,
//! schools, children's social care, police and housing, one extract per organisation in Kith's
//! ingest format. A separate `truth/` folder says which real person every record belongs to and
//! which hard cases for record linkage it carries, so linkage can be scored case by case.
//!
//! # How it fits together
//!
//! - [`SynthConfig`] sets the size ([`SynthConfig::records`]), the seed, the reference date and
//!   two sets of probabilities: [`HardCaseRates`] (typos, nicknames, transposed dates, wrong NHS
//!   numbers, twins, `Baby of` records, …) and [`AgencyCoverage`] (how often each agency sees
//!   a person or a family).
//! - [`generate`] fixes the local authority areas and their organisations from the population
//!   size, then streams households one at a time: the true household (`household`), each
//!   agency's messy view of it (`render`), written straight to disk (`sink`). Memory does not
//!   grow with the number of records.
//! - [`SynthSummary`] reports the counts, the files written and how many records carry each
//!   hard-case tag.
//!
//! Output is deterministic: the same config writes byte-identical files. Each household draws
//! from its own ChaCha8 stream keyed by the seed and its position, so nothing depends on
//! iteration order.
//!
//! # Files
//!
//! - `organisations.csv` — `code,name,agency_type`; codes start `GP_`, `HOSP_`, `SCH_`, `CSC_`,
//!   `POL_` or `HOU_`.
//! - `<ORG>.csv` — person records: `source,record_id,given_name,middle_names,family_name,
//!   previous_names,date_of_birth,sex,address,town,postcode,uprn,nhs_number,nhs_number_status,
//!   upn,former_upns,pnc_id`.
//! - `<ORG>.entries.csv` — `source,entry_id,record_id,entry_type,occurred_on,ended_on,category,
//!   sensitivity,summary`.
//! - `<ORG>.relationships.csv` (GP practices and social care) — `source,record_id,
//!   related_record_id,relationship,start_date,end_date`.
//! - `truth/records.csv` — `source,record_id,person_id,hard_cases`;
//!   `truth/persons.csv` — `person_id,household_id,given_name,family_name,date_of_birth,sex,
//!   nhs_number`; `truth/relationships.csv` — `person_id,related_person_id,relationship`.
//!
//! # Example
//!
//! ```
//! let out = tempfile::tempdir()?;
//! let config = synth::SynthConfig { records: 500, ..synth::SynthConfig::default() };
//! let summary = synth::generate(&config, out.path(), &mut |_written| {})?;
//! assert!(summary.records.abs_diff(500) <= 25);
//! assert!(out.path().join("truth/records.csv").exists());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
mod corrupt;
mod dates;
mod error;
mod household;
mod ids;
mod locality;
mod names;
mod random;
mod render;
mod sink;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

pub use config::{AgencyCoverage, HardCaseRates, SynthConfig};
pub use error::SynthError;

use dates::Day;
use household::World;
use locality::{Locality, Plan};
use names::NameTables;
use random::{Stream, stream_rng};
use render::Counters;
use sink::Sink;

/// Columns of every `<ORG>.csv` person file.
pub use model::columns::RECORD_COLUMNS as PERSON_COLUMNS;
/// Columns of every `<ORG>.entries.csv` and `<ORG>.relationships.csv` file.
pub use model::columns::{ENTRY_COLUMNS, RELATIONSHIP_COLUMNS};

/// Records between two calls of the progress callback.
const PROGRESS_EVERY: u64 = 5_000;

/// What a run wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SynthSummary {
    /// Agency person records, across all organisations.
    pub records: u64,
    /// Real people (rows of `truth/persons.csv`).
    pub persons: u64,
    /// Households.
    pub households: u64,
    /// Agency entries (dated events).
    pub entries: u64,
    /// Relationships recorded by agencies (rows of the `<ORG>.relationships.csv` files).
    pub relationships: u64,
    /// Every file written, in writing order: `organisations.csv`, the organisation files area by
    /// area, then the truth files.
    pub files: Vec<PathBuf>,
    /// Number of records carrying each hard-case tag.
    pub hard_cases: BTreeMap<String, u64>,
}

/// The three extract files of one organisation.
#[derive(Debug)]
struct OrgSinks {
    code: String,
    persons: Sink,
    entries: Sink,
    relationships: Option<Sink>,
}

/// The truth files, open for the whole run.
#[derive(Debug)]
struct TruthSinks {
    records: Sink,
    persons: Sink,
    relationships: Sink,
}

/// Generates a population of about `config.records` agency records into `out_dir` (created if
/// missing) and returns what was written. `progress` is called with the number of records
/// written so far every few thousand records and once at the end.
pub fn generate(
    config: &SynthConfig,
    out_dir: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<SynthSummary, SynthError> {
    config.validate()?;
    let truth_dir = out_dir.join("truth");
    fs::create_dir_all(&truth_dir).map_err(|source| SynthError::CreateDir {
        path: truth_dir.clone(),
        source,
    })?;
    let names = NameTables::load();
    let plan = Plan::new(config);
    let as_of = Day::from_date(config.as_of);
    let mut summary = SynthSummary::default();

    let mut organisations = Sink::new(
        out_dir.join("organisations.csv"),
        &["code", "name", "agency_type"],
    )?;
    for index in 0..plan.localities {
        let locality = Locality::build(config, &plan, &names, index);
        for org in &locality.orgs {
            organisations.write_row([&org.code, &org.name, org.kind.agency_type()])?;
        }
    }
    summary.files.push(organisations.finish()?);

    let mut truth = TruthSinks {
        records: Sink::new(
            truth_dir.join("records.csv"),
            &["source", "record_id", "person_id", "hard_cases"],
        )?,
        persons: Sink::new(
            truth_dir.join("persons.csv"),
            &[
                "person_id",
                "household_id",
                "given_name",
                "family_name",
                "date_of_birth",
                "sex",
                "nhs_number",
            ],
        )?,
        relationships: Sink::new(
            truth_dir.join("relationships.csv"),
            &["person_id", "related_person_id", "relationship"],
        )?,
    };

    let mut next_sequence = 0u64;
    let mut next_progress = PROGRESS_EVERY;
    for index in 0..plan.localities {
        let locality = Locality::build(config, &plan, &names, index);
        let mut sinks = Vec::with_capacity(locality.orgs.len());
        for org in &locality.orgs {
            sinks.push(OrgSinks {
                code: org.code.clone(),
                persons: Sink::new(out_dir.join(format!("{}.csv", org.code)), &PERSON_COLUMNS)?,
                entries: Sink::new(
                    out_dir.join(format!("{}.entries.csv", org.code)),
                    &ENTRY_COLUMNS,
                )?,
                relationships: match org.kind.records_relationships() {
                    true => Some(Sink::new(
                        out_dir.join(format!("{}.relationships.csv", org.code)),
                        &RELATIONSHIP_COLUMNS,
                    )?),
                    false => None,
                },
            });
        }
        let world = World {
            config,
            names: &names,
            locality: &locality,
            as_of,
        };
        let mut counters = Counters::default();
        let target = plan.record_target(index);
        let mut written_here = 0u64;
        let mut number = 0u64;
        while written_here < target {
            let mut rng = stream_rng(config.seed, Stream::Household, index, number);
            let household = household::generate(&world, number, &mut rng, &mut next_sequence);
            let rendered = render::render(&world, &household, &mut rng, &mut counters);
            written_here +=
                write_household(&household, &rendered, &mut sinks, &mut truth, &mut summary)?;
            number += 1;
            if summary.records >= next_progress {
                progress(summary.records);
                next_progress = (summary.records / PROGRESS_EVERY + 1) * PROGRESS_EVERY;
            }
        }
        for org in sinks {
            summary.files.push(org.persons.finish()?);
            summary.files.push(org.entries.finish()?);
            if let Some(relationships) = org.relationships {
                summary.files.push(relationships.finish()?);
            }
        }
    }
    summary.files.push(truth.records.finish()?);
    summary.files.push(truth.persons.finish()?);
    summary.files.push(truth.relationships.finish()?);
    progress(summary.records);
    Ok(summary)
}

/// Writes one household's records, entries, relationships and truth; returns the records written.
fn write_household(
    household: &household::Household,
    rendered: &render::Rendered,
    sinks: &mut [OrgSinks],
    truth: &mut TruthSinks,
    summary: &mut SynthSummary,
) -> Result<u64, SynthError> {
    let household_id = household.household_id();
    for person in &household.members {
        truth.persons.write_row([
            person.person_id().as_str(),
            &household_id,
            &person.given,
            &person.family,
            &person.dob.iso(),
            if person.female { "F" } else { "M" },
            &person.nhs,
        ])?;
    }
    for relation in &household.relations {
        if let (Some(person), Some(related)) = (
            household.members.get(relation.person),
            household.members.get(relation.related),
        ) {
            truth.relationships.write_row([
                person.person_id().as_str(),
                &related.person_id(),
                relation.kind.as_str(),
            ])?;
        }
    }
    summary.households += 1;
    summary.persons += household.members.len() as u64;

    let mut written = 0;
    for record in &rendered.records {
        let (Some(org), Some(person)) = (
            sinks.get_mut(record.org),
            household.members.get(record.member),
        ) else {
            continue;
        };
        org.persons.write_row([
            org.code.as_str(),
            &record.record_id,
            &record.given,
            &record.middle,
            &record.family,
            &record.previous_names,
            &record.dob,
            &record.sex,
            &record.address,
            &record.town,
            &record.postcode,
            &record.uprn,
            &record.nhs,
            &record.nhs_status,
            &record.upn,
            &record.former_upns,
            &record.pnc,
        ])?;
        truth.records.write_row([
            org.code.as_str(),
            &record.record_id,
            &person.person_id(),
            &record.tags.join(";"),
        ])?;
        for tag in &record.tags {
            *summary.hard_cases.entry((*tag).to_string()).or_insert(0) += 1;
        }
        written += 1;
    }
    summary.records += written;
    for entry in &rendered.entries {
        if let Some(org) = sinks.get_mut(entry.org) {
            org.entries.write_row([
                org.code.as_str(),
                &entry.entry_id,
                &entry.record_id,
                entry.entry_type,
                &entry.occurred_on,
                &entry.ended_on,
                entry.category,
                entry.sensitivity,
                entry.summary,
            ])?;
            summary.entries += 1;
        }
    }
    for relationship in &rendered.relationships {
        if let Some(org) = sinks.get_mut(relationship.org)
            && let Some(file) = org.relationships.as_mut()
        {
            file.write_row([
                org.code.as_str(),
                &relationship.record_id,
                &relationship.related_record_id,
                relationship.relationship,
                &relationship.start_date,
                "",
            ])?;
            summary.relationships += 1;
        }
    }
    Ok(written)
}

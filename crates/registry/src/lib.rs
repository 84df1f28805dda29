//! Kith's live person registry: every agency record, as it arrives, linked to one consistent
//! child identifier (CCI) that stays the same for years.
//!
//! The batch engine (`linkage`) links a snapshot; the registry lives on a stream. It keeps, in
//! the store:
//!
//! - a saved, versioned linkage [`Model`](linkage::Model) with the prior and name frequencies
//!   of the population it was trained on, so a score means the same thing tomorrow;
//! - a persisted blocking index (`registry_block_keys`): each record filed under the batch
//!   engine's blocking keys, so a new record finds its candidates with a few index lookups;
//! - persons ([`Cci`]), each record's link, and every change as an event in the person's history
//!   and in an outbox that the agencies holding the person's records can read;
//! - the review queue of possible matches, and data stewards' must-link and cannot-link rules.
//!
//! [`Registry::link_record`] grades each candidate person `certain`, `probable`, `possible` or
//! `certainly-not` (the FHIR `$match` grades). Only `certain` links automatically: a verified
//! NHS number with agreeing demographics, a steward's must-link, or a match probability at or
//! above [`RegistryConfig::certain_probability`] with no constraint broken (conflicting verified
//! NHS numbers, the twin pattern, …) against any of the person's records. `probable` and
//! `possible` go to the review queue; the record gets its own CCI meanwhile, so nothing waits.
//!
//! [`Registry::initial_load`] links a large backlog in one pass of the batch engine, under
//! exactly the same grades, and [`steward`] holds the people-facing operations: accept or reject
//! a review item, merge, split, must-link, cannot-link, adoption, disputed ages.
//!
//! **Invariant:** a CCI is issued once and never changes because a batch is re-run or the model
//! retrained. A merge retires one CCI with a forward pointer; a split issues a new one.

pub mod cci;
mod matcher;
pub mod stats;
pub mod steward;

mod bulk;

use std::fmt;

use linkage::{Model, ModelError, Nicknames, TrainConfig};
use serde::Serialize;
use store::{RegistryConn, RegistryRecord, Store, StoreError};
use thiserror::Error;

pub use bulk::LoadSummary;
pub use cci::Cci;
pub use matcher::PersonScore;
pub use stats::{Alert, SourceStats, Stats};
pub use steward::{Resolution, XrefResult};

/// Everything that can go wrong in the registry.
#[derive(Debug, Error)]
pub enum RegistryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("invalid CCI `{value}`: {why}")]
    InvalidCci { value: String, why: String },
    #[error("CCI serial {0} is outside 1..=999999999; the identifier space is exhausted")]
    SerialOutOfRange(i64),
    #[error(
        "no linkage model is saved yet: run `kith registry load` first (the initial load trains one)"
    )]
    NoModel,
    #[error("saved model version {version} cannot be read: {source}")]
    Model { version: i64, source: ModelError },
    #[error("person `{0}` is not known")]
    UnknownPerson(String),
    #[error("person `{cci}` was merged into `{into}`; act on `{into}`")]
    Retired { cci: String, into: String },
    #[error("no agency record `{0}`: give it as ORG:LOCAL_ID, as `kith status` lists sources")]
    UnknownRecord(String),
    #[error("record `{0}` is not linked to a person yet")]
    Unlinked(String),
    #[error("no review item {0}")]
    NoSuchReview(i64),
    #[error("review item {id} is already {status}")]
    ReviewClosed { id: i64, status: String },
    #[error("unknown identifier `{system}|{value}`")]
    UnknownIdentifier { system: String, value: String },
    #[error(
        "unknown identifier system `{0}`: use `https://fhir.nhs.uk/Id/nhs-number` (or `nhs`), `upn`, `pnc`, `cci` or `local:ORG`"
    )]
    UnknownSystem(String),
    #[error("a reason is required for {0}")]
    ReasonRequired(&'static str),
    #[error("{0}")]
    Refused(String),
}

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// The FHIR `$match` grades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Grade {
    Certain,
    Probable,
    Possible,
    CertainlyNot,
}

impl Grade {
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Certain => "certain",
            Grade::Probable => "probable",
            Grade::Possible => "possible",
            Grade::CertainlyNot => "certainly-not",
        }
    }

    pub(crate) fn rank(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the registry grades and links.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// A demographic match at or above this probability, with no constraint broken, is certain.
    pub certain_probability: f64,
    /// At or above this (and below certain): probable, queued for review.
    pub probable_probability: f64,
    /// At or above this (and below probable): possible, queued for review.
    pub possible_probability: f64,
    /// Blocking keys shared by more records than this are skipped, as in the batch engine.
    pub max_block: usize,
    pub nicknames: Nicknames,
    pub train: TrainConfig,
    /// An empty registry with at least this many waiting records loads them in one batch pass.
    pub bulk_from: usize,
    /// Records per transaction in the initial load.
    pub load_chunk: usize,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            certain_probability: 0.99,
            probable_probability: 0.80,
            possible_probability: 0.20,
            max_block: 500,
            nicknames: Nicknames::parse(linkage::DEFAULT_NICKNAMES),
            train: TrainConfig::default(),
            bulk_from: 1_000,
            load_chunk: 20_000,
        }
    }
}

/// Who is making a change, when, and why. The registry has no clock of its own.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub actor: &'a str,
    pub at: &'a str,
    pub reason: Option<&'a str>,
}

/// A saved model as the registry scores with it.
#[derive(Debug, Clone)]
pub struct LoadedModel {
    pub version: i64,
    pub model: Model,
    pub prior: f64,
    pub population: i64,
}

/// What happened to one incoming record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "action")]
pub enum LinkAction {
    /// No certain match: a new person.
    Created,
    /// Linked to an existing person.
    Linked,
    /// Linked, and the record showed that several persons are one child: they were merged.
    Merged { retired: Vec<String> },
    /// The record was already linked; nothing changed.
    AlreadyLinked,
}

/// The outcome of linking one record.
#[derive(Debug, Clone, Serialize)]
pub struct LinkOutcome {
    pub record: String,
    pub cci: String,
    #[serde(flatten)]
    pub action: LinkAction,
    /// Review items queued (probable and possible candidates).
    pub queued_for_review: usize,
    pub candidates: Vec<PersonScore>,
}

/// The registry: configuration plus the model it scores with.
#[derive(Debug, Clone)]
pub struct Registry {
    pub config: RegistryConfig,
    model: Option<LoadedModel>,
}

impl Registry {
    /// Opens the registry on a store, loading the newest saved model if there is one.
    pub fn open(store: &mut Store, config: RegistryConfig) -> Result<Registry> {
        let mut registry = Registry {
            config,
            model: None,
        };
        registry.reload_model(store)?;
        Ok(registry)
    }

    /// Reloads the newest saved model (another process may have trained one).
    pub fn reload_model(&mut self, store: &mut Store) -> Result<()> {
        self.model = match store.registry().current_model()? {
            None => None,
            Some(saved) => Some(LoadedModel {
                model: Model::from_json(&saved.model_json).map_err(|source| {
                    RegistryError::Model {
                        version: saved.version,
                        source,
                    }
                })?,
                version: saved.version,
                prior: saved.prior_weight,
                population: saved.population,
            }),
        };
        Ok(())
    }

    pub fn model(&self) -> Option<&LoadedModel> {
        self.model.as_ref()
    }

    fn loaded(&self) -> Result<&LoadedModel> {
        self.model.as_ref().ok_or(RegistryError::NoModel)
    }

    /// Grades the persons a record (stored or not) may belong to, best first. Reads only: the
    /// real-time search behind `$match`.
    pub fn search(&self, store: &mut Store, record: &RegistryRecord) -> Result<Vec<PersonScore>> {
        let model = self.loaded()?;
        let mut conn = store.registry();
        let evaluation =
            matcher::evaluate(&mut conn, &self.config, model, record, &mut |_, _| Ok(()))?;
        Ok(evaluation.persons)
    }

    /// Links every record not yet linked to a person: in one batch pass when the registry is
    /// empty and the backlog large, else one record at a time, each in its own transaction.
    pub fn link_pending(
        &mut self,
        store: &mut Store,
        change: Change<'_>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<LoadSummary> {
        let pending = store.registry().pending_count()?;
        let linked = store.registry().linked_count()?;
        if self.model.is_none() || (linked == 0 && pending as usize >= self.config.bulk_from) {
            return self.initial_load(store, change, progress);
        }
        let mut summary = LoadSummary::default();
        let total = pending as u64;
        let mut after = 0;
        loop {
            let page = store.registry().pending_records(after, 1_000)?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for record in page {
                let outcome = self.link_record(store, record.id, change)?;
                summary.count(&outcome);
                progress(summary.records, total);
            }
        }
        Ok(summary)
    }

    /// Links one stored record in real time, in one transaction.
    pub fn link_record(
        &self,
        store: &mut Store,
        record_id: i64,
        change: Change<'_>,
    ) -> Result<LinkOutcome> {
        let model = self.loaded()?;
        let config = &self.config;
        store.registry_tx(|tx| -> Result<LinkOutcome> {
            let Some(record) = tx.records_by_id(&[record_id])?.into_iter().next() else {
                return Err(RegistryError::UnknownRecord(format!("#{record_id}")));
            };
            let label = format!("{}:{}", record.org_code, record.local_id);
            // Serialise on the record's blocking keys before looking for candidates: a second
            // writer with a record of the same child waits here, then sees this one.
            let evaluation = matcher::evaluate(tx, config, model, &record, &mut |tx, keys| {
                tx.lock_keys(keys)?;
                Ok(())
            })?;
            if let Some(cci) = tx
                .records_by_id(&[record_id])?
                .into_iter()
                .next()
                .and_then(|r| r.cci)
            {
                return Ok(LinkOutcome {
                    record: label,
                    cci,
                    action: LinkAction::AlreadyLinked,
                    queued_for_review: 0,
                    candidates: evaluation.persons,
                });
            }
            link_evaluated(tx, config, model, &record, &label, evaluation, change)
        })
    }
}

fn link_evaluated(
    tx: &mut RegistryConn<'_>,
    config: &RegistryConfig,
    model: &LoadedModel,
    record: &RegistryRecord,
    label: &str,
    evaluation: matcher::Evaluation,
    change: Change<'_>,
) -> Result<LinkOutcome> {
    let certain: Vec<&PersonScore> = evaluation
        .persons
        .iter()
        .filter(|p| p.grade == Grade::Certain)
        .collect();
    let mut queued = 0;
    let (cci, action) = match certain.first() {
        Some(best) => {
            // The record may bridge several persons: join those no constraint keeps apart.
            let mut joined = vec![best.cci.clone()];
            let rules = if certain.len() > 1 {
                let members: Vec<i64> = evaluation.ids[1..].to_vec();
                tx.rules_touching(&members)?
            } else {
                Vec::new()
            };
            for other in &certain[1..] {
                let blocked = joined.iter().find_map(|j| {
                    matcher::persons_compatible(config, model, &evaluation, j, &other.cci, &rules)
                });
                match blocked {
                    None => joined.push(other.cci.clone()),
                    Some(_) => {
                        queued += usize::from(tx.add_review(
                            record.id,
                            other.best_record,
                            Grade::Probable.as_str(),
                            milli(other.weight),
                            model.version,
                            change.at,
                        )?);
                    }
                }
            }
            // The oldest identifier survives a merge.
            joined.sort_by_key(|c| c.parse::<Cci>().map(|c| c.serial()).unwrap_or(u32::MAX));
            let survivor = joined[0].clone();
            tx.link(
                record.id,
                &survivor,
                false,
                change.at,
                Some("certain match"),
            )?;
            let detail = serde_json::json!({
                "record": label,
                "matched": best.best_label,
                "probability": best.probability,
                "verified_nhs_agreement": best.verified_nhs_agreement,
                "model_version": model.version,
            });
            tx.add_event(
                &survivor,
                "record-linked",
                change.actor,
                change.at,
                change.reason,
                &detail.to_string(),
            )?;
            let retired: Vec<String> = joined[1..].to_vec();
            for old in &retired {
                steward::merge_in_tx(
                    tx,
                    &survivor,
                    old,
                    change,
                    serde_json::json!({
                        "bridging_record": label,
                        "model_version": model.version,
                        "automatic": true,
                    }),
                )?;
            }
            if retired.is_empty() {
                (survivor, LinkAction::Linked)
            } else {
                (survivor, LinkAction::Merged { retired })
            }
        }
        None => {
            let cci = steward::new_person(tx, change.at)?;
            tx.link(record.id, &cci, false, change.at, Some("no certain match"))?;
            let detail = serde_json::json!({
                "record": label,
                "model_version": model.version,
                "candidates_for_review": evaluation.persons.iter()
                    .filter(|p| matches!(p.grade, Grade::Probable | Grade::Possible))
                    .map(|p| &p.cci).collect::<Vec<_>>(),
            });
            tx.add_event(
                &cci,
                "created",
                change.actor,
                change.at,
                change.reason,
                &detail.to_string(),
            )?;
            (cci, LinkAction::Created)
        }
    };
    for person in &evaluation.persons {
        if matches!(person.grade, Grade::Probable | Grade::Possible) && person.cci != cci {
            queued += usize::from(tx.add_review(
                record.id,
                person.best_record,
                person.grade.as_str(),
                milli(person.weight),
                model.version,
                change.at,
            )?);
        }
    }
    tx.add_block_keys(record.id, &evaluation.keys)?;
    Ok(LinkOutcome {
        record: label.to_string(),
        cci,
        action,
        queued_for_review: queued,
        candidates: evaluation.persons,
    })
}

/// A weight in thousandths of a bit, as the review queue stores it.
pub(crate) fn milli(weight: f64) -> i64 {
    (weight * 1000.0).round() as i64
}

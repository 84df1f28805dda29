//! Kith's record linkage engine: which agency records are the same child.
//!
//! A pure library — no I/O, no clock, no randomness it was not given. The stages, each its own
//! module:
//!
//! 1. [`prepare`]: raw text records ([`InputRecord`]) become compact features; names are
//!    normalised once per distinct spelling ([`normalise`]), with phonetic codes and nickname
//!    groups from an editable table.
//! 2. [`block`]: a union of blocking rules proposes candidate pairs, with a guard that skips and
//!    reports exploding blocks.
//! 3. [`compare`]: each pair gets one level per comparison (the gamma vector).
//! 4. [`train`]: a Fellegi–Sunter [`Model`] learnt without labels — u from random pairs, m by EM,
//!    the prior from a strict rule and its recall; saved and reloaded as readable JSON.
//! 5. Scoring: match weight = prior + Σ log2(m/u), with term-frequency adjustment of exact
//!    names.
//! 6. [`cluster`]: strongest links first, refusing joins across conflicting verified NHS
//!    numbers, twin patterns, and pairs whose given names and birth dates both differ.
//! 7. [`explain`]: the waterfall behind any pair's score.
//!
//! ```
//! use linkage::{InputRecord, LinkConfig, link};
//!
//! let given = ["Chidi", "Amy", "Oliver", "Zara", "Tom", "Priya", "Jack", "Ella", "Ali", "Mia"];
//! let family = ["Okafor", "Smith", "Khan", "Nowak", "Evans", "Patel", "Jones", "Byrne"];
//! let mut inputs = Vec::new();
//! for i in 0..400usize {
//!     for (source, dob) in [("GP", format!("{:02}/{:02}/20{:02}", i % 28 + 1, i % 12 + 1, i % 17)),
//!                           ("SCH", format!("20{:02}-{:02}-{:02}", i % 17, i % 12 + 1, i % 28 + 1))] {
//!         inputs.push(InputRecord {
//!             source: source.into(),
//!             record_id: format!("{source}{i}"),
//!             given_name: Some(given[i % 10].into()),
//!             family_name: Some(family[(i / 10) % 8].into()),
//!             date_of_birth: Some(dob),
//!             postcode: Some(format!("LS{} {}AB", i % 9 + 1, i % 7 + 1)),
//!             ..InputRecord::default()
//!         });
//!     }
//! }
//! // Chidi's twin: same family name, birth date and postcode, a different given name.
//! inputs.push(InputRecord { record_id: "SCH-twin".into(), given_name: Some("Ada".into()), ..inputs[1].clone() });
//! let output = link(inputs, &LinkConfig::default(), &mut |_| {});
//! assert_eq!(output.clusters[0], output.clusters[1], "GP0 and SCH0 are one child");
//! assert_ne!(output.clusters[1], output.clusters[800], "the twin is never merged");
//! //! ```

pub mod block;
pub mod cluster;
pub mod compare;
pub mod explain;
pub mod model;
pub mod normalise;
pub mod prepare;
pub mod train;

pub use block::{Mode, Rule};
pub use cluster::{Constraint, Prevented};
pub use compare::{Comparer, Thresholds};
pub use explain::{Explanation, explain};
pub use model::{Model, ModelError, Scorer, probability};
pub use normalise::{DEFAULT_NICKNAMES, Nicknames};
pub use prepare::{Dataset, InputRecord, PrepareSummary};
pub use train::TrainConfig;

use rayon::prelude::*;
use serde::Serialize;

/// How to link.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    pub mode: Mode,
    /// Pairs at or above this match probability are linked.
    pub threshold: f64,
    pub seed: u64,
    /// Blocks with more records than this are skipped and reported.
    pub max_block: usize,
    /// A trained model to reuse; without one, a model is trained on the input.
    pub model: Option<Model>,
    pub thresholds: Thresholds,
    pub nicknames: Nicknames,
    pub train: TrainConfig,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            mode: Mode::LinkAndDedupe,
            threshold: 0.95,
            seed: 42,
            max_block: 500,
            model: None,
            thresholds: Thresholds::default(),
            nicknames: Nicknames::parse(DEFAULT_NICKNAMES),
            train: TrainConfig::default(),
        }
    }
}

/// The stages of a run, reported as they start and finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Prepare,
    Block,
    Train,
    Score,
    Cluster,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Prepare => "prepare",
            Phase::Block => "block",
            Phase::Train => "train",
            Phase::Score => "score",
            Phase::Cluster => "cluster",
        }
    }
}

/// A progress report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseEvent {
    Started(Phase),
    Finished(Phase),
}

/// A linked pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredPair {
    pub a: u32,
    pub b: u32,
    pub weight: f64,
    pub probability: f64,
}

/// Counts for the end-of-run summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkSummary {
    pub records: usize,
    pub sources: usize,
    pub mode: &'static str,
    pub comparisons: u64,
    pub blocking: Vec<block::RuleStats>,
    pub pairs_above_threshold: usize,
    pub clusters: usize,
    pub largest_cluster: usize,
    pub prevented: Vec<(Constraint, usize)>,
    pub unreadable: PrepareSummary,
    pub model_trained: bool,
}

/// Everything a run produced.
#[derive(Debug)]
pub struct LinkOutput {
    pub data: Dataset,
    /// Per record, its cluster's representative record index.
    pub clusters: Vec<u32>,
    /// Pairs at or above the threshold, in candidate order.
    pub pairs: Vec<ScoredPair>,
    pub prevented: Vec<Prevented>,
    pub model: Model,
    pub prior_weight: f64,
    pub summary: LinkSummary,
}

impl LinkOutput {
    /// `source:record_id` of a record.
    pub fn label(&self, index: usize) -> String {
        self.data.label(index)
    }

    /// Explains any two records of the run.
    pub fn explain(&self, config: &LinkConfig, a: usize, b: usize) -> Explanation {
        let comparer = Comparer {
            data: &self.data,
            nicknames: &config.nicknames,
            thresholds: self.model.thresholds,
        };
        let scorer = Scorer::new(&self.model, &self.data, self.prior_weight);
        explain(&comparer, &scorer, a, b)
    }
}

/// The number of pairs the mode allows among the dataset's records.
fn possible_pairs(data: &Dataset, mode: Mode) -> f64 {
    let n = data.records.len() as f64;
    let all = n * (n - 1.0) / 2.0;
    let mut per_source = vec![0f64; data.sources.len()];
    for r in &data.records {
        per_source[r.source as usize] += 1.0;
    }
    let same: f64 = per_source.iter().map(|c| c * (c - 1.0) / 2.0).sum();
    match mode {
        Mode::LinkAndDedupe => all,
        Mode::Dedupe => same,
        Mode::Link => all - same,
    }
}

/// Links records: prepare, block, train (unless a model is given), score, cluster.
/// Takes the records by value: they are dropped as soon as their features are prepared.
pub fn link(
    inputs: Vec<InputRecord>,
    config: &LinkConfig,
    on_phase: &mut dyn FnMut(PhaseEvent),
) -> LinkOutput {
    on_phase(PhaseEvent::Started(Phase::Prepare));
    let data = prepare::prepare(inputs, &config.nicknames);
    on_phase(PhaseEvent::Finished(Phase::Prepare));

    on_phase(PhaseEvent::Started(Phase::Block));
    let candidates = block::candidates(&data, config.mode, &Rule::ALL, config.max_block);
    on_phase(PhaseEvent::Finished(Phase::Block));

    on_phase(PhaseEvent::Started(Phase::Train));
    let thresholds = config
        .model
        .as_ref()
        .map(|m| m.thresholds)
        .unwrap_or(config.thresholds);
    let comparer = Comparer {
        data: &data,
        nicknames: &config.nicknames,
        thresholds,
    };
    let model = match &config.model {
        Some(model) => model.clone(),
        None => train::train(
            &comparer,
            config.mode,
            &TrainConfig {
                seed: config.seed,
                ..config.train
            },
        ),
    };
    on_phase(PhaseEvent::Finished(Phase::Train));

    on_phase(PhaseEvent::Started(Phase::Score));
    let prior_weight = model.prior_weight(data.records.len(), possible_pairs(&data, config.mode));
    let scorer = Scorer::new(&model, &data, prior_weight);
    let threshold = config.threshold.clamp(1e-9, 1.0 - 1e-12);
    let threshold_weight = (threshold / (1.0 - threshold)).log2();
    let pairs: Vec<ScoredPair> = candidates
        .pairs
        .par_chunks(8192)
        .flat_map_iter(|chunk| {
            let comparer = &comparer;
            let scorer = &scorer;
            chunk.iter().filter_map(move |&(a, b)| {
                let gamma = comparer.gamma(a as usize, b as usize);
                let weight = scorer.weight(&gamma, a as usize);
                (weight >= threshold_weight).then(|| ScoredPair {
                    a,
                    b,
                    weight,
                    probability: probability(weight),
                })
            })
        })
        .collect();
    on_phase(PhaseEvent::Finished(Phase::Score));

    on_phase(PhaseEvent::Started(Phase::Cluster));
    let edges: Vec<(u32, u32, f64)> = pairs.iter().map(|p| (p.a, p.b, p.weight)).collect();
    let clustering = cluster::cluster(&comparer, data.records.len(), &edges);
    let mut sizes = vec![0usize; data.records.len()];
    for &c in &clustering.cluster {
        sizes[c as usize] += 1;
    }
    let mut prevented_counts: std::collections::BTreeMap<Constraint, usize> = Default::default();
    for p in &clustering.prevented {
        *prevented_counts.entry(p.constraint).or_default() += 1;
    }
    on_phase(PhaseEvent::Finished(Phase::Cluster));

    let summary = LinkSummary {
        records: data.records.len(),
        sources: data.sources.len(),
        mode: config.mode.as_str(),
        comparisons: candidates.pairs.len() as u64,
        blocking: candidates.rules,
        pairs_above_threshold: pairs.len(),
        clusters: sizes.iter().filter(|&&s| s > 0).count(),
        largest_cluster: sizes.iter().copied().max().unwrap_or(0),
        prevented: prevented_counts.into_iter().collect(),
        unreadable: data.summary.clone(),
        model_trained: config.model.is_none(),
    };
    LinkOutput {
        clusters: clustering.cluster,
        pairs,
        prevented: clustering.prevented,
        model,
        prior_weight,
        summary,
        data,
    }
}

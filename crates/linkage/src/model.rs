//! The Fellegi–Sunter model: m and u per comparison level, the prior, and scoring.
//!
//! Saved as pretty JSON so an analyst can read every probability and the weight it implies.
//! A match weight is `log2(m / u)` per comparison (0 for a missing value), plus the prior's
//! log-odds; exact name agreement is adjusted for how common the name is (term frequency).

use serde::{Deserialize, Serialize};

use crate::compare::{COMPARISONS, FAMILY, GIVEN, Gamma, N_COMPARISONS, Thresholds};
use crate::prepare::Dataset;

pub const MODEL_FORMAT: &str = "kith-linkage-model/1";

/// One level's probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelParams {
    pub level: String,
    /// P(level | same person), among pairs where both values are present.
    pub m: f64,
    /// P(level | different people), among pairs where both values are present.
    pub u: f64,
    /// `log2(m / u)`: the evidence this level adds, in bits.
    pub weight: f64,
}

/// One comparison's levels (level 0, "missing", is not listed: it weighs nothing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonParams {
    pub comparison: String,
    pub term_frequency_adjusted: bool,
    pub levels: Vec<LevelParams>,
}

/// How the model was trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TrainingInfo {
    pub records: u64,
    pub seed: u64,
    pub u_sample_pairs: u64,
    pub em_sessions: Vec<EmSession>,
    pub prior_rule: String,
    pub prior_rule_pairs: u64,
    pub prior_rule_recall: f64,
}

/// One EM session: pairs blocked on some fields, m estimated for the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmSession {
    pub blocked_on: String,
    pub pairs: u64,
    pub iterations: u32,
    pub converged: bool,
    pub match_share: f64,
}

/// A trained model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub format: String,
    pub thresholds: Thresholds,
    /// Expected true matches per record; with the number of pairs this gives the prior.
    pub matches_per_record: f64,
    pub comparisons: Vec<ComparisonParams>,
    pub training: TrainingInfo,
}

/// Why a model file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model file is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("model format `{found}` is not `{MODEL_FORMAT}`")]
    Format { found: String },
    #[error("model comparison {index} is `{found}`, expected `{expected}` with {levels} levels")]
    Shape {
        index: usize,
        found: String,
        expected: &'static str,
        levels: usize,
    },
    #[error("model level `{comparison}`/`{level}` has m={m}, u={u}; both must be in (0, 1]")]
    Probability {
        comparison: String,
        level: String,
        m: f64,
        u: f64,
    },
}

pub(crate) fn weight_of(m: f64, u: f64) -> f64 {
    (m.max(1e-12) / u.max(1e-12)).log2()
}

impl Model {
    /// Builds a model from m and u tables indexed `[comparison][level]` (level 0 ignored).
    pub fn from_tables(
        m: &[Vec<f64>; N_COMPARISONS],
        u: &[Vec<f64>; N_COMPARISONS],
        thresholds: Thresholds,
        matches_per_record: f64,
        training: TrainingInfo,
    ) -> Model {
        let comparisons = COMPARISONS
            .iter()
            .enumerate()
            .map(|(k, def)| ComparisonParams {
                comparison: def.name.to_string(),
                term_frequency_adjusted: def.tf_level.is_some(),
                levels: (1..def.levels.len())
                    .map(|l| LevelParams {
                        level: def.levels[l].to_string(),
                        m: round(m[k][l]),
                        u: round(u[k][l]),
                        weight: round(weight_of(m[k][l], u[k][l])),
                    })
                    .collect(),
            })
            .collect();
        Model {
            format: MODEL_FORMAT.to_string(),
            thresholds,
            matches_per_record,
            comparisons,
            training,
        }
    }

    /// Reads and checks a model file's text.
    pub fn from_json(text: &str) -> Result<Model, ModelError> {
        let model: Model = serde_json::from_str(text)?;
        if model.format != MODEL_FORMAT {
            return Err(ModelError::Format {
                found: model.format,
            });
        }
        if model.comparisons.len() != N_COMPARISONS {
            return Err(ModelError::Shape {
                index: model.comparisons.len(),
                found: "(missing)".into(),
                expected: COMPARISONS
                    .get(model.comparisons.len())
                    .map(|d| d.name)
                    .unwrap_or("(none)"),
                levels: 0,
            });
        }
        for (index, (params, def)) in model.comparisons.iter().zip(COMPARISONS.iter()).enumerate() {
            if params.comparison != def.name || params.levels.len() != def.levels.len() - 1 {
                return Err(ModelError::Shape {
                    index,
                    found: params.comparison.clone(),
                    expected: def.name,
                    levels: def.levels.len() - 1,
                });
            }
            for level in &params.levels {
                let ok = |p: f64| p > 0.0 && p <= 1.0;
                if !ok(level.m) || !ok(level.u) {
                    return Err(ModelError::Probability {
                        comparison: params.comparison.clone(),
                        level: level.level.clone(),
                        m: level.m,
                        u: level.u,
                    });
                }
            }
        }
        Ok(model)
    }

    /// The model as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The level's (m, u); level 0 has none.
    pub fn params(&self, comparison: usize, level: u8) -> Option<&LevelParams> {
        if level == 0 {
            return None;
        }
        self.comparisons
            .get(comparison)?
            .levels
            .get(level as usize - 1)
    }

    /// Prior log2-odds that a pair is a match, for `records` records and `pairs` possible pairs.
    pub fn prior_weight(&self, records: usize, pairs: f64) -> f64 {
        let expected = (self.matches_per_record * records as f64).max(1.0);
        let lambda = (expected / pairs.max(1.0)).clamp(1e-15, 0.5);
        (lambda / (1.0 - lambda)).log2()
    }
}

fn round(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

/// Turns a gamma vector into a match weight for a particular pair.
#[derive(Debug, Clone)]
pub struct Scorer<'a> {
    pub model: &'a Model,
    pub data: &'a Dataset,
    pub prior: f64,
    weights: [[f64; 8]; N_COMPARISONS],
}

/// One comparison's contribution to a pair's weight.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    pub comparison: &'static str,
    pub level: &'static str,
    pub weight: f64,
    /// Extra weight from term frequency (rare names count more), included in `weight`.
    pub term_frequency_adjustment: f64,
}

impl<'a> Scorer<'a> {
    pub fn new(model: &'a Model, data: &'a Dataset, prior: f64) -> Scorer<'a> {
        let mut weights = [[0.0; 8]; N_COMPARISONS];
        for (k, params) in model.comparisons.iter().enumerate().take(N_COMPARISONS) {
            for (l, level) in params.levels.iter().enumerate().take(7) {
                weights[k][l + 1] = weight_of(level.m, level.u);
            }
        }
        Scorer {
            model,
            data,
            prior,
            weights,
        }
    }

    fn tf_adjustment(&self, k: usize, level: u8, a: usize) -> f64 {
        let Some(tf_level) = COMPARISONS[k].tf_level else {
            return 0.0;
        };
        if level != tf_level {
            return 0.0;
        }
        let record = &self.data.records[a];
        let name = match k {
            GIVEN => record.given,
            FAMILY => record.family,
            _ => return 0.0,
        };
        let Some(info) = name.and_then(|i| self.data.names.get(i as usize)) else {
            return 0.0;
        };
        let Some(params) = self.model.params(k, level) else {
            return 0.0;
        };
        let tf = info.frequency;
        if tf <= 0.0 {
            return 0.0;
        }
        // Replace the average u of exact agreement with this value's own frequency, within
        // bounds so one rare spelling cannot outweigh everything else.
        (params.u / tf.max(1e-9)).log2().clamp(-6.0, 6.0)
    }

    /// The pair's total match weight (prior included).
    pub fn weight(&self, gamma: &Gamma, a: usize) -> f64 {
        let mut total = self.prior;
        for (k, &level) in gamma.iter().enumerate() {
            if level != 0 {
                total += self.weights[k][level as usize] + self.tf_adjustment(k, level, a);
            }
        }
        total
    }

    /// Each comparison's part of the weight.
    pub fn contributions(&self, gamma: &Gamma, a: usize) -> Vec<Contribution> {
        gamma
            .iter()
            .enumerate()
            .map(|(k, &level)| {
                let tf = if level == 0 {
                    0.0
                } else {
                    self.tf_adjustment(k, level, a)
                };
                Contribution {
                    comparison: COMPARISONS[k].name,
                    level: COMPARISONS[k].levels[level as usize],
                    weight: if level == 0 {
                        0.0
                    } else {
                        self.weights[k][level as usize] + tf
                    },
                    term_frequency_adjustment: tf,
                }
            })
            .collect()
    }
}

/// Probability from a log2-odds weight.
pub fn probability(weight: f64) -> f64 {
    1.0 / (1.0 + (-weight).exp2())
}

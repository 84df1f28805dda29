//! Explanations: why a pair scored what it did, as a waterfall of per-comparison weights.

use std::fmt;

use serde::Serialize;

use crate::cluster::{Constraint, violated};
use crate::compare::Comparer;
use crate::model::{Contribution, Scorer, probability};

/// A pair's score, comparison by comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub left: String,
    pub right: String,
    /// Log2-odds that two records drawn at random are the same person.
    pub prior_weight: f64,
    pub contributions: Vec<Contribution>,
    pub match_weight: f64,
    pub match_probability: f64,
    /// A constraint that forbids joining the pair automatically, whatever the score.
    pub constraint: Option<Constraint>,
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Explains the score of records `a` and `b`.
pub fn explain(comparer: &Comparer<'_>, scorer: &Scorer<'_>, a: usize, b: usize) -> Explanation {
    let data = comparer.data;
    let gamma = comparer.gamma(a, b);
    let weight = scorer.weight(&gamma, a);
    Explanation {
        left: data.label(a),
        right: data.label(b),
        prior_weight: r3(scorer.prior),
        contributions: scorer
            .contributions(&gamma, a)
            .into_iter()
            .map(|c| Contribution {
                weight: r3(c.weight),
                term_frequency_adjustment: r3(c.term_frequency_adjustment),
                ..c
            })
            .collect(),
        match_weight: r3(weight),
        match_probability: r3(probability(weight) * 1000.0) / 1000.0,
        constraint: violated(comparer, a, b),
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} ↔ {}", self.left, self.right)?;
        let bar = |w: f64| {
            let n = (w.abs().round() as usize).min(30);
            if w >= 0.0 {
                "+".repeat(n)
            } else {
                "-".repeat(n)
            }
        };
        writeln!(
            f,
            "  {:<14} {:<48} {:>8}  {}",
            "prior",
            "two records at random",
            format!("{:+.2}", self.prior_weight),
            bar(self.prior_weight)
        )?;
        let mut running = self.prior_weight;
        for c in &self.contributions {
            running += c.weight;
            let level = if c.term_frequency_adjustment != 0.0 {
                format!(
                    "{} (frequency {:+.2})",
                    c.level, c.term_frequency_adjustment
                )
            } else {
                c.level.to_string()
            };
            writeln!(
                f,
                "  {:<14} {:<48} {:>8}  {}",
                c.comparison,
                level,
                format!("{:+.2}", c.weight),
                bar(c.weight)
            )?;
        }
        writeln!(
            f,
            "  {:<14} {:<48} {:>8}  probability {:.6}",
            "total",
            "",
            format!("{:+.2}", running),
            self.match_probability
        )?;
        if let Some(constraint) = self.constraint {
            writeln!(f, "  never joined automatically: {}", constraint.describe())?;
        }
        Ok(())
    }
}

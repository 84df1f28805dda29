//! Training without labels: u from random pairs, m by expectation–maximisation, and the prior
//! from a strict rule's count divided by that rule's recall.
//!
//! m is estimated in two sessions, as careful practitioners do with Splink: pairs that share a
//! date of birth teach the name and place comparisons (date of birth itself is left out, since
//! every pair agrees on it), and pairs that share name sounds teach the date-of-birth comparison.

// The m and u tables are indexed [comparison][level]; index loops read like the formulas.
#![allow(clippy::needless_range_loop)]

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::block::Mode;
use crate::compare::{
    COMPARISONS, Comparer, DOB, FAMILY, GIVEN, Gamma, LOCATION, N_COMPARISONS, NHS, UPN, level,
};
use crate::model::{EmSession, Model, TrainingInfo};
use crate::prepare::Dataset;

/// Training settings.
#[derive(Debug, Clone, Copy)]
pub struct TrainConfig {
    pub seed: u64,
    /// Random pairs sampled for u.
    pub u_sample_pairs: usize,
    /// Most pairs used by one EM session.
    pub em_max_pairs: usize,
    pub em_max_iterations: u32,
    /// Blocks larger than this are left out of EM sessions.
    pub em_max_block: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            seed: 42,
            u_sample_pairs: 300_000,
            em_max_pairs: 300_000,
            em_max_iterations: 100,
            em_max_block: 60,
        }
    }
}

type Table = [Vec<f64>; N_COMPARISONS];

/// A value of a record whose exact agreement rate is computed from frequencies.
type KeyFn<'a> = dyn Fn(&crate::prepare::Prepared) -> u64 + Sync + 'a;

/// An EM session: what its pairs were blocked on, which comparisons it estimates, its pairs.
type Session<'a> = (&'a str, Vec<usize>, Vec<(u32, u32)>);

fn empty_table() -> Table {
    std::array::from_fn(|k| vec![0.0; COMPARISONS[k].levels.len()])
}

fn normalise_row(row: &mut [f64], floor: f64) {
    for p in row.iter_mut().skip(1) {
        *p = p.max(floor);
    }
    let total: f64 = row.iter().skip(1).sum();
    if total > 0.0 {
        for p in row.iter_mut().skip(1) {
            *p /= total;
        }
    }
    row[0] = 0.0;
}

/// Share of pairs of present values that agree exactly: sum of squared value shares.
fn agreement_rate<I: Iterator<Item = u64>>(values: I) -> Option<f64> {
    let mut counts: FxHashMap<u64, u64> = FxHashMap::default();
    let mut total = 0u64;
    for v in values.filter(|v| *v != 0) {
        *counts.entry(v).or_default() += 1;
        total += 1;
    }
    if total < 2 {
        return None;
    }
    let t = total as f64;
    let same: f64 = counts
        .values()
        .map(|&n| (n as f64) * (n as f64 - 1.0))
        .sum();
    Some((same / (t * (t - 1.0))).max(0.5 / (t * t)))
}

fn estimate_u(comparer: &Comparer<'_>, mode: Mode, config: &TrainConfig) -> (Table, u64) {
    let data = comparer.data;
    let n = data.records.len();
    let mut u = empty_table();
    if n < 2 {
        for row in u.iter_mut() {
            let len = row.len();
            row.iter_mut()
                .skip(1)
                .for_each(|p| *p = 1.0 / (len - 1) as f64);
        }
        return (u, 0);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut pairs = Vec::with_capacity(config.u_sample_pairs);
    let mut attempts = 0usize;
    while pairs.len() < config.u_sample_pairs && attempts < config.u_sample_pairs * 20 {
        attempts += 1;
        let a = rng.random_range(0..n);
        let b = rng.random_range(0..n);
        if a == b || !mode.allows(&data.records[a], &data.records[b]) {
            continue;
        }
        pairs.push((a, b));
    }
    let counts = pairs
        .par_chunks(16_384)
        .map(|chunk| {
            let mut local = [[0u64; 8]; N_COMPARISONS];
            for &(a, b) in chunk {
                let gamma = comparer.gamma(a, b);
                for (k, &l) in gamma.iter().enumerate() {
                    local[k][l as usize] += 1;
                }
            }
            local
        })
        .reduce(
            || [[0u64; 8]; N_COMPARISONS],
            |mut x, y| {
                for k in 0..N_COMPARISONS {
                    for l in 0..8 {
                        x[k][l] += y[k][l];
                    }
                }
                x
            },
        );
    let sampled = pairs.len() as u64;
    for k in 0..N_COMPARISONS {
        for l in 1..u[k].len() {
            u[k][l] = counts[k][l] as f64;
        }
        let floor = 0.5;
        normalise_row(&mut u[k], floor);
    }
    // Rare agreements are too rare for a sample to count well; compute them exactly from value
    // frequencies and rescale the rest of the row around them.
    let name_key = |i: Option<u32>| i.map(|i| data.names[i as usize].key).unwrap_or(0);
    let dob_key = |r: &crate::prepare::Prepared| r.dob.full_key().unwrap_or(0);
    let keys: [Box<KeyFn<'_>>; 6] = [
        Box::new(|r| name_key(r.given)),
        Box::new(|r| name_key(r.family)),
        Box::new(dob_key),
        Box::new(|r| r.nhs),
        Box::new(|r| r.upn),
        Box::new(|r| r.postcode_unit),
    ];
    let rates: Vec<Option<f64>> = keys
        .par_iter()
        .map(|key| agreement_rate(data.records.iter().map(key)))
        .collect();
    let exact: [(usize, u8, Option<f64>); 5] = [
        (GIVEN, level::GIVEN_EXACT, rates[0]),
        (FAMILY, level::FAMILY_EXACT, rates[1]),
        (DOB, level::DOB_EXACT, rates[2]),
        (NHS, level::AGREE, rates[3]),
        (UPN, level::AGREE, rates[4]),
    ];
    for (k, l, rate) in exact {
        if let Some(rate) = rate {
            set_level(&mut u[k], l as usize, rate);
        }
    }
    if let Some(rate) = rates[5] {
        // Same address and same postcode both need the same postcode unit.
        let row = &mut u[LOCATION];
        let share_same_address = row[1] / (row[1] + row[2]).max(1e-300);
        let same_address = rate * share_same_address.clamp(0.05, 0.95);
        set_level(row, 1, same_address);
        set_level(row, 2, rate - same_address);
    }
    (u, sampled)
}

/// Sets one level's probability and rescales the others so the row sums to one.
fn set_level(row: &mut [f64], level: usize, value: f64) {
    let others: f64 = row
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(l, _)| *l != level)
        .map(|(_, p)| p)
        .sum();
    let value = value.clamp(1e-12, 0.999);
    if others > 0.0 {
        let scale = (1.0 - value) / others;
        for (l, p) in row.iter_mut().enumerate().skip(1) {
            if l != level {
                *p *= scale;
            }
        }
    }
    row[level] = value;
}

/// Pairs within blocks of `key`, deterministic, capped.
fn session_pairs(
    data: &Dataset,
    mode: Mode,
    key: impl Fn(&crate::prepare::Prepared) -> Option<u64> + Sync,
    config: &TrainConfig,
) -> Vec<(u32, u32)> {
    let mut keyed: Vec<(u64, u32)> = data
        .records
        .par_iter()
        .enumerate()
        .filter_map(|(i, r)| key(r).map(|k| (k, i as u32)))
        .collect();
    keyed.par_sort_unstable();
    let mut blocks: Vec<&[(u64, u32)]> = keyed
        .chunk_by(|x, y| x.0 == y.0)
        .filter(|b| b.len() >= 2 && b.len() <= config.em_max_block)
        .collect();
    let total: usize = blocks.iter().map(|b| b.len() * (b.len() - 1) / 2).sum();
    if total > config.em_max_pairs {
        // Keep a deterministic, evenly spread subset of blocks.
        let keep = config.em_max_pairs as f64 / total as f64;
        blocks.retain(|b| ((b[0].0 >> 11) as f64 / (1u64 << 53) as f64) < keep);
    }
    let mut pairs = Vec::new();
    for block in blocks {
        for (x, &(_, a)) in block.iter().enumerate() {
            for &(_, b) in &block[x + 1..] {
                if mode.allows(&data.records[a as usize], &data.records[b as usize]) {
                    pairs.push((a, b));
                }
            }
        }
    }
    pairs
}

/// EM over aggregated gamma patterns; `active` says which comparisons take part.
fn em(
    patterns: &BTreeMap<Gamma, u64>,
    u: &Table,
    active: &[usize],
    config: &TrainConfig,
) -> (Table, f64, u32, bool) {
    let mut m = empty_table();
    for k in 0..N_COMPARISONS {
        let len = m[k].len();
        // Start believing matches mostly agree: 0.8 on the first level, the rest spread out.
        for l in 1..len {
            m[k][l] = if l == 1 {
                0.8
            } else {
                0.2 / (len - 2).max(1) as f64
            };
        }
    }
    let mut lambda: f64 = 0.2;
    let mut iterations = 0;
    let mut converged = false;
    let patterns: Vec<(&Gamma, f64)> = patterns.iter().map(|(g, c)| (g, *c as f64)).collect();
    while iterations < config.em_max_iterations {
        iterations += 1;
        let mut new_m = empty_table();
        let mut matched = 0.0;
        let mut total = 0.0;
        for (gamma, count) in &patterns {
            let mut log_ratio = (lambda / (1.0 - lambda)).ln();
            for &k in active {
                let l = gamma[k] as usize;
                if l != 0 {
                    log_ratio += (m[k][l].max(1e-12) / u[k][l].max(1e-12)).ln();
                }
            }
            let w = 1.0 / (1.0 + (-log_ratio).exp());
            matched += w * count;
            total += count;
            for &k in active {
                let l = gamma[k] as usize;
                if l != 0 {
                    new_m[k][l] += w * count;
                }
            }
        }
        let new_lambda = (matched / total.max(1.0)).clamp(1e-9, 1.0 - 1e-9);
        let mut change: f64 = (new_lambda - lambda).abs();
        for &k in active {
            normalise_row(&mut new_m[k], 1e-6);
            for l in 1..m[k].len() {
                change = change.max((new_m[k][l] - m[k][l]).abs());
            }
            m[k] = new_m[k].clone();
        }
        lambda = new_lambda;
        if change < 1e-6 {
            converged = true;
            break;
        }
    }
    (m, lambda, iterations, converged)
}

fn gamma_patterns(comparer: &Comparer<'_>, pairs: &[(u32, u32)]) -> BTreeMap<Gamma, u64> {
    pairs
        .par_chunks(16_384)
        .map(|chunk| {
            let mut local: FxHashMap<Gamma, u64> = FxHashMap::default();
            for &(a, b) in chunk {
                *local
                    .entry(comparer.gamma(a as usize, b as usize))
                    .or_default() += 1;
            }
            local
        })
        .reduce(FxHashMap::default, |mut x, y| {
            for (g, c) in y {
                *x.entry(g).or_default() += c;
            }
            x
        })
        .into_iter()
        .collect()
}

/// Trains a model on the dataset.
pub fn train(comparer: &Comparer<'_>, mode: Mode, config: &TrainConfig) -> Model {
    let data = comparer.data;
    let (u, sampled) = estimate_u(comparer, mode, config);

    let full_dob = |r: &crate::prepare::Prepared| r.dob.full_key().map(|k| k | 1 << 40);
    let names_sound = |r: &crate::prepare::Prepared| {
        let given = data.names.get(r.given? as usize)?;
        let family = data.names.get(r.family? as usize)?;
        Some(given.phonetic.rotate_left(7) ^ family.phonetic)
    };
    let sessions: [Session<'_>; 2] = [
        (
            "date_of_birth",
            vec![GIVEN, FAMILY, crate::compare::SEX, LOCATION, NHS, UPN],
            session_pairs(data, mode, full_dob, config),
        ),
        (
            "given and family name sounds",
            vec![DOB, crate::compare::SEX, LOCATION, NHS, UPN],
            session_pairs(data, mode, names_sound, config),
        ),
    ];
    let mut m = empty_table();
    let mut contributions = [0u32; N_COMPARISONS];
    let mut em_sessions = Vec::new();
    for (name, active, pairs) in &sessions {
        let patterns = gamma_patterns(comparer, pairs);
        let (session_m, lambda, iterations, converged) = em(&patterns, &u, active, config);
        for &k in active {
            for l in 1..m[k].len() {
                m[k][l] += session_m[k][l];
            }
            contributions[k] += 1;
        }
        em_sessions.push(EmSession {
            blocked_on: name.to_string(),
            pairs: pairs.len() as u64,
            iterations,
            converged,
            match_share: (lambda * 1e6).round() / 1e6,
        });
    }
    for k in 0..N_COMPARISONS {
        let n = f64::from(contributions[k].max(1));
        for l in 1..m[k].len() {
            m[k][l] /= n;
        }
        if contributions[k] == 0 {
            let len = m[k].len();
            for l in 1..len {
                m[k][l] = 1.0 / (len - 1) as f64;
            }
        }
        normalise_row(&mut m[k], 1e-6);
    }

    // Prior: pairs agreeing exactly on given name, family name and full date of birth, divided
    // by the share of true matches that would agree so (the rule's recall).
    let rule_pairs = {
        let key = |r: &crate::prepare::Prepared| {
            let given = data.names.get(r.given? as usize)?;
            let family = data.names.get(r.family? as usize)?;
            let dob = full_dob(r)?;
            Some(given.key.rotate_left(21) ^ family.key.rotate_left(42) ^ dob)
        };
        let mut keys: Vec<(u64, u32)> = data
            .records
            .par_iter()
            .filter_map(|r| key(r).map(|k| (k, r.source)))
            .collect();
        keys.par_sort_unstable();
        let mut count = 0u64;
        for block in keys.chunk_by(|x, y| x.0 == y.0) {
            let n = block.len() as u64;
            count += match mode {
                Mode::LinkAndDedupe => n * (n - 1) / 2,
                _ => {
                    let mut per_source: BTreeMap<u32, u64> = BTreeMap::new();
                    for (_, s) in block {
                        *per_source.entry(*s).or_default() += 1;
                    }
                    let same: u64 = per_source
                        .values()
                        .map(|c| c * (c.saturating_sub(1)) / 2)
                        .sum();
                    if mode == Mode::Dedupe {
                        same
                    } else {
                        n * (n - 1) / 2 - same
                    }
                }
            };
        }
        count
    };
    let recall = (m[GIVEN][level::GIVEN_EXACT as usize]
        * m[FAMILY][level::FAMILY_EXACT as usize]
        * m[DOB][level::DOB_EXACT as usize])
        .clamp(0.05, 1.0);
    let present = data
        .records
        .iter()
        .filter(|r| r.given.is_some() && r.family.is_some() && full_dob(r).is_some())
        .count()
        .max(1) as f64;
    // Matches among records with all three fields, scaled to all records.
    let expected_matches = (rule_pairs as f64 / recall) * (data.records.len() as f64 / present);
    let matches_per_record = (expected_matches / data.records.len().max(1) as f64).max(1e-6);

    Model::from_tables(
        &m,
        &u,
        comparer.thresholds,
        (matches_per_record * 1e9).round() / 1e9,
        TrainingInfo {
            records: data.records.len() as u64,
            seed: config.seed,
            u_sample_pairs: sampled,
            em_sessions,
            prior_rule: "exact given name, family name and date of birth".into(),
            prior_rule_pairs: rule_pairs,
            prior_rule_recall: (recall * 1e6).round() / 1e6,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Expected pattern counts for known m, u and match share, over the name comparisons.
    fn expected_patterns(m: &Table, u: &Table, lambda: f64, total: f64) -> BTreeMap<Gamma, u64> {
        let mut patterns = BTreeMap::new();
        for g in 1..COMPARISONS[GIVEN].levels.len() {
            for f in 1..COMPARISONS[FAMILY].levels.len() {
                for s in 1..COMPARISONS[crate::compare::SEX].levels.len() {
                    let mut gamma = [0u8; N_COMPARISONS];
                    gamma[GIVEN] = g as u8;
                    gamma[FAMILY] = f as u8;
                    gamma[crate::compare::SEX] = s as u8;
                    let p = lambda * m[GIVEN][g] * m[FAMILY][f] * m[crate::compare::SEX][s]
                        + (1.0 - lambda) * u[GIVEN][g] * u[FAMILY][f] * u[crate::compare::SEX][s];
                    patterns.insert(gamma, (p * total).round() as u64);
                }
            }
        }
        patterns
    }

    fn row(weights: &[f64]) -> Vec<f64> {
        let mut r = vec![0.0];
        r.extend_from_slice(weights);
        let total: f64 = r.iter().sum();
        r.iter().map(|w| w / total).collect()
    }

    proptest! {
        #[test]
        fn em_recovers_m_when_u_is_known(
            lambda in 0.05f64..0.5,
            given_m in proptest::collection::vec(0.01f64..1.0, 6),
            family_m in proptest::collection::vec(0.01f64..1.0, 5),
        ) {
            let mut m = empty_table();
            let mut u = empty_table();
            // Matches mostly agree; non-matches mostly disagree.
            let mut gm = given_m.clone();
            gm[0] += 4.0;
            let mut fm = family_m.clone();
            fm[0] += 4.0;
            m[GIVEN] = row(&gm);
            m[FAMILY] = row(&fm);
            m[crate::compare::SEX] = row(&[0.97, 0.03]);
            u[GIVEN] = row(&[0.005, 0.003, 0.01, 0.05, 0.02, 0.912]);
            u[FAMILY] = row(&[0.004, 0.002, 0.01, 0.04, 0.944]);
            u[crate::compare::SEX] = row(&[0.5, 0.5]);
            let patterns = expected_patterns(&m, &u, lambda, 1e9);
            let (estimated, estimated_lambda, _, converged) = em(
                &patterns,
                &u,
                &[GIVEN, FAMILY, crate::compare::SEX],
                &TrainConfig { em_max_iterations: 2000, ..TrainConfig::default() },
            );
            prop_assert!(converged);
            prop_assert!((estimated_lambda - lambda).abs() < 0.01, "{estimated_lambda} vs {lambda}");
            for k in [GIVEN, FAMILY] {
                for l in 1..m[k].len() {
                    prop_assert!((estimated[k][l] - m[k][l]).abs() < 0.02, "m[{k}][{l}] {} vs {}", estimated[k][l], m[k][l]);
                }
            }
        }
    }

    #[test]
    fn set_level_keeps_a_distribution() {
        let mut r = row(&[0.1, 0.2, 0.7]);
        set_level(&mut r, 1, 0.001);
        assert!((r.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((r[1] - 0.001).abs() < 1e-12);
        assert!(
            (r[3] / r[2] - 3.5).abs() < 1e-9,
            "the others keep their proportions"
        );
    }
}

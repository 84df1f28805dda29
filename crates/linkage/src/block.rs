//! Blocking: which pairs are worth comparing.
//!
//! A union of rules, each a key computed per record; records sharing a key are candidate pairs.
//! Pairs found by several rules are compared once. A block larger than the cap — a key shared
//! by thousands of records, which would explode the pair count — is skipped and reported rather
//! than allowed to exhaust memory.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::prepare::{Dataset, Prepared};

/// Which pairs a run compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Only records from the same source.
    Dedupe,
    /// Only records from different sources.
    Link,
    /// All pairs.
    #[default]
    LinkAndDedupe,
}

impl Mode {
    pub fn allows(self, a: &Prepared, b: &Prepared) -> bool {
        match self {
            Mode::Dedupe => a.source == b.source,
            Mode::Link => a.source != b.source,
            Mode::LinkAndDedupe => true,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Dedupe => "dedupe",
            Mode::Link => "link",
            Mode::LinkAndDedupe => "link-and-dedupe",
        }
    }
}

/// A blocking rule: records with equal keys are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    NhsNumber,
    Upn,
    BirthDateFamilySound,
    BirthDateGivenName,
    PostcodeGivenInitial,
    PostcodeFamilySound,
    PostcodeBirthDate,
    NamesSoundBirthYear,
}

impl Rule {
    pub const ALL: [Rule; 8] = [
        Rule::NhsNumber,
        Rule::Upn,
        Rule::BirthDateFamilySound,
        Rule::BirthDateGivenName,
        Rule::PostcodeGivenInitial,
        Rule::PostcodeFamilySound,
        Rule::PostcodeBirthDate,
        Rule::NamesSoundBirthYear,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rule::NhsNumber => "nhs_number",
            Rule::Upn => "upn",
            Rule::BirthDateFamilySound => "date_of_birth + family name sound",
            Rule::BirthDateGivenName => "date_of_birth + given name (nickname group)",
            Rule::PostcodeGivenInitial => "postcode + given initial",
            Rule::PostcodeFamilySound => "postcode + family name sound + birth year",
            Rule::PostcodeBirthDate => "postcode + date_of_birth",
            Rule::NamesSoundBirthYear => {
                "given and family name sounds + birth year + postcode area"
            }
        }
    }

    /// The record's key under this rule, or `None` when a part is missing.
    pub fn key(self, data: &Dataset, r: &Prepared) -> Option<u64> {
        let name = |i: Option<u32>| i.and_then(|i| data.names.get(i as usize));
        let full_dob = r.dob.full_key();
        let mix = |parts: &[u64]| {
            let mut h = 0xcbf2_9ce4_8422_2325u64 ^ (self as u64);
            for p in parts {
                h = (h ^ p).wrapping_mul(0x0100_0000_01b3).rotate_left(17);
            }
            h | 1
        };
        match self {
            Rule::NhsNumber => (r.nhs != 0).then(|| mix(&[r.nhs])),
            Rule::Upn => (r.upn != 0).then(|| mix(&[r.upn])),
            Rule::BirthDateFamilySound => Some(mix(&[full_dob?, name(r.family)?.phonetic])),
            Rule::BirthDateGivenName => Some(mix(&[full_dob?, name(r.given)?.canonical])),
            Rule::PostcodeGivenInitial => {
                let initial = name(r.given)?.first().as_bytes().first().copied()?;
                (r.postcode_unit != 0).then(|| mix(&[r.postcode_unit, initial as u64]))
            }
            Rule::PostcodeFamilySound => {
                // The birth year keeps a household's siblings and parents out of one block.
                let family = name(r.family)?.phonetic;
                (r.postcode_unit != 0).then(|| mix(&[r.postcode_unit, family, r.dob.year as u64]))
            }
            Rule::PostcodeBirthDate => {
                (r.postcode_unit != 0).then(|| Some(mix(&[r.postcode_unit, full_dob?])))?
            }
            Rule::NamesSoundBirthYear => {
                let year = r.dob.year;
                (year != 0).then(|| {
                    Some(mix(&[
                        name(r.given)?.phonetic,
                        name(r.family)?.phonetic,
                        year as u64,
                        // Within a town: across the country this block grows with the square
                        // of the population, and movers are found by the other rules.
                        r.postcode_area,
                    ]))
                })?
            }
        }
    }
}

/// What one rule contributed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleStats {
    pub rule: &'static str,
    pub pairs: u64,
    pub blocks_skipped: u64,
    pub records_in_skipped_blocks: u64,
    pub largest_skipped_block: u64,
}

/// Blocking results.
#[derive(Debug, Clone)]
pub struct Candidates {
    /// Distinct pairs `(a, b)` with `a < b`, sorted.
    pub pairs: Vec<(u32, u32)>,
    pub rules: Vec<RuleStats>,
}

/// Candidate pairs under the union of `rules`, skipping blocks above `max_block`.
pub fn candidates(data: &Dataset, mode: Mode, rules: &[Rule], max_block: usize) -> Candidates {
    let per_rule: Vec<(Vec<u64>, RuleStats)> = rules
        .par_iter()
        .map(|rule| rule_pairs(data, mode, *rule, max_block))
        .collect();
    let mut stats = Vec::with_capacity(per_rule.len());
    let total: usize = per_rule.iter().map(|(p, _)| p.len()).sum();
    let mut all = Vec::with_capacity(total);
    for (pairs, rule_stats) in per_rule {
        all.extend(pairs);
        stats.push(rule_stats);
    }
    all.par_sort_unstable();
    all.dedup();
    Candidates {
        pairs: all
            .into_iter()
            .map(|p| ((p >> 32) as u32, p as u32))
            .collect(),
        rules: stats,
    }
}

fn rule_pairs(data: &Dataset, mode: Mode, rule: Rule, max_block: usize) -> (Vec<u64>, RuleStats) {
    let mut keyed: Vec<(u64, u32)> = data
        .records
        .iter()
        .enumerate()
        .filter_map(|(i, r)| rule.key(data, r).map(|k| (k, i as u32)))
        .collect();
    keyed.sort_unstable();
    let mut stats = RuleStats {
        rule: rule.name(),
        pairs: 0,
        blocks_skipped: 0,
        records_in_skipped_blocks: 0,
        largest_skipped_block: 0,
    };
    let mut pairs = Vec::new();
    let mut start = 0;
    while start < keyed.len() {
        let mut end = start + 1;
        while end < keyed.len() && keyed[end].0 == keyed[start].0 {
            end += 1;
        }
        let block = &keyed[start..end];
        if block.len() > max_block {
            stats.blocks_skipped += 1;
            stats.records_in_skipped_blocks += block.len() as u64;
            stats.largest_skipped_block = stats.largest_skipped_block.max(block.len() as u64);
        } else {
            for (x, &(_, a)) in block.iter().enumerate() {
                for &(_, b) in &block[x + 1..] {
                    let (ra, rb) = (&data.records[a as usize], &data.records[b as usize]);
                    if mode.allows(ra, rb) {
                        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
                        pairs.push((lo as u64) << 32 | hi as u64);
                    }
                }
            }
        }
        start = end;
    }
    stats.pairs = pairs.len() as u64;
    (pairs, stats)
}

//! Scoring one incoming record against the persons its blocking keys lead to.
//!
//! Candidates come from the persisted blocking index; every record of each candidate person is
//! fetched, prepared together with the incoming record and scored with the saved model. Each
//! person gets one of the four FHIR `$match` grades, and the linkage engine's constraints are
//! checked against every one of the person's records, so a chain of links never carries a twin
//! into their sibling's person.

use std::collections::BTreeMap;

use linkage::compare::{DOB, FAMILY, GIVEN, Gamma, NHS, level};
use linkage::prepare::{Dataset, InputRecord};
use linkage::{Comparer, Rule, Scorer, probability};
use serde::Serialize;
use store::{RegistryConn, RegistryRecord, RuleKind, StewardRule};

use crate::{Grade, LoadedModel, RegistryConfig, Result};

/// The linkage input for a stored record; its label is `org:local_id`.
pub(crate) fn to_input(record: &RegistryRecord) -> InputRecord {
    InputRecord {
        source: record.org_code.clone(),
        record_id: record.local_id.clone(),
        given_name: record.given_name.clone(),
        middle_names: record.middle_names.clone(),
        family_name: record.family_name.clone(),
        date_of_birth: record.birth_date.clone(),
        sex: Some(record.sex.clone()),
        address: record.address.clone(),
        town: record.town.clone(),
        postcode: record.postcode.clone(),
        nhs_number: record.nhs_number.clone(),
        // The store keeps the status as sent; a number without one is not counted as verified.
        nhs_number_status: Some(record.nhs_number_status.clone().unwrap_or_default()),
        upn: record.upn.clone(),
    }
}

/// The blocking keys of record `index` in a prepared dataset, as stored (signed) integers.
pub(crate) fn block_keys(data: &Dataset, index: usize) -> Vec<i64> {
    let Some(record) = data.records.get(index) else {
        return Vec::new();
    };
    let mut keys: Vec<i64> = Rule::ALL
        .iter()
        .filter_map(|rule| rule.key(data, record))
        .map(|key| key as i64)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// How one candidate person scored against the incoming record.
#[derive(Debug, Clone, Serialize)]
pub struct PersonScore {
    pub cci: String,
    pub grade: Grade,
    /// The best pair's match probability (0 when a constraint or a steward rule forbids).
    pub probability: f64,
    pub weight: f64,
    /// The person's record behind the best score.
    pub best_record: i64,
    pub best_label: String,
    /// Why the person cannot be this child whatever the score, if anything forbids it.
    pub blocked_by: Option<String>,
    /// Whether a verified NHS number with agreeing demographics makes the link certain.
    pub verified_nhs_agreement: bool,
}

/// Everything the matcher learnt about one incoming record.
#[derive(Debug)]
pub(crate) struct Evaluation {
    pub keys: Vec<i64>,
    /// Best first.
    pub persons: Vec<PersonScore>,
    /// The incoming record (index 0) and every candidate person's records, prepared together.
    pub data: Dataset,
    /// Store id of each dataset record.
    pub ids: Vec<i64>,
    /// Person of each dataset record (None for the incoming record).
    pub persons_of: Vec<Option<String>>,
}

/// Sets the incoming record's name frequencies from the model's population, as the batch
/// engine would have seen them.
pub(crate) fn set_frequencies(
    data: &mut Dataset,
    conn: &mut RegistryConn<'_>,
    model: &LoadedModel,
) -> Result<()> {
    let Some(record) = data.records.first().cloned() else {
        return Ok(());
    };
    let population = model.population.max(1) as f64;
    for (field, name) in [("given", record.given), ("family", record.family)] {
        if let Some(index) = name
            && let Some(info) = data.names.get_mut(index as usize)
        {
            let count = conn.name_count(model.version, field, &info.full)?;
            info.frequency = count.max(1) as f64 / population;
        }
    }
    Ok(())
}

/// Finds and grades the persons an incoming record may belong to. Reads only.
pub(crate) fn evaluate(
    conn: &mut RegistryConn<'_>,
    config: &RegistryConfig,
    model: &LoadedModel,
    incoming: &RegistryRecord,
    keys_locked: &mut dyn FnMut(&mut RegistryConn<'_>, &[i64]) -> Result<()>,
) -> Result<Evaluation> {
    let alone = linkage::prepare::prepare(vec![to_input(incoming)], &config.nicknames);
    let keys = block_keys(&alone, 0);
    keys_locked(conn, &keys)?;

    let limit = config.max_block as i64 + 1;
    let mut candidate_ids = Vec::new();
    for &key in &keys {
        let members = conn.block_members(key, limit)?;
        // An exploding block (a key shared by hundreds of records) is skipped, as in batch.
        if members.len() > config.max_block {
            continue;
        }
        candidate_ids.extend(members);
    }
    candidate_ids.sort_unstable();
    candidate_ids.dedup();
    candidate_ids.retain(|&id| id != incoming.id);
    let ccis = if candidate_ids.is_empty() {
        Vec::new()
    } else {
        conn.persons_of_records(&candidate_ids)?
    };
    let members: Vec<RegistryRecord> = if ccis.is_empty() {
        Vec::new()
    } else {
        conn.records_of_persons(&ccis)?
            .into_iter()
            .filter(|r| r.id != incoming.id)
            .collect()
    };

    let mut inputs = Vec::with_capacity(members.len() + 1);
    inputs.push(to_input(incoming));
    inputs.extend(members.iter().map(to_input));
    let mut data = linkage::prepare::prepare(inputs, &config.nicknames);
    set_frequencies(&mut data, conn, model)?;
    let mut ids = vec![incoming.id];
    ids.extend(members.iter().map(|m| m.id));
    let mut persons_of: Vec<Option<String>> = vec![None];
    persons_of.extend(members.iter().map(|m| m.cci.clone()));

    let rules = conn.rules_touching(&[incoming.id])?;
    let persons = grade_persons(config, model, &data, &ids, &persons_of, &rules);
    Ok(Evaluation {
        keys,
        persons,
        data,
        ids,
        persons_of,
    })
}

/// Both records carry the same verified NHS number, and the birth date or both names agree.
pub(crate) fn verified_nhs_agreement(data: &Dataset, gamma: &Gamma, a: usize, b: usize) -> bool {
    let names_agree = matches!(
        gamma[GIVEN],
        level::GIVEN_EXACT | level::GIVEN_ALIAS | level::GIVEN_JW_HIGH
    ) && matches!(
        gamma[FAMILY],
        level::FAMILY_EXACT | level::FAMILY_PART | level::FAMILY_JW_HIGH
    );
    gamma[NHS] == level::AGREE
        && data.records[a].nhs_verified
        && data.records[b].nhs_verified
        && (gamma[DOB] == level::DOB_EXACT || names_agree)
}

/// The grade the evidence alone gives a pair, before constraints and steward rules.
pub(crate) fn demographic_grade(config: &RegistryConfig, verified_nhs: bool, p: f64) -> Grade {
    if verified_nhs || p >= config.certain_probability {
        Grade::Certain
    } else if p >= config.probable_probability {
        Grade::Probable
    } else if p >= config.possible_probability {
        Grade::Possible
    } else {
        Grade::CertainlyNot
    }
}

/// What the constraints and steward rules say about joining the incoming record to a person.
#[derive(Default)]
struct PersonAccumulator {
    best: Option<(f64, usize)>,
    hard: Option<String>,
    names: Option<String>,
    names_compatible: bool,
    cannot_link: Option<String>,
    must_link: bool,
    verified_nhs: bool,
}

fn grade_persons(
    config: &RegistryConfig,
    model: &LoadedModel,
    data: &Dataset,
    ids: &[i64],
    persons_of: &[Option<String>],
    rules: &[StewardRule],
) -> Vec<PersonScore> {
    let comparer = Comparer {
        data,
        nicknames: &config.nicknames,
        thresholds: model.model.thresholds,
    };
    let scorer = Scorer::new(&model.model, data, model.prior);
    let mut by_person: BTreeMap<&str, PersonAccumulator> = BTreeMap::new();
    for index in 1..data.records.len() {
        let Some(cci) = persons_of[index].as_deref() else {
            continue;
        };
        let acc = by_person.entry(cci).or_default();
        let gamma = comparer.gamma(0, index);
        let weight = scorer.weight(&gamma, 0);
        if acc.best.is_none_or(|(w, _)| weight > w) {
            acc.best = Some((weight, index));
        }
        let check = linkage::cluster::check(&comparer, 0, index);
        if let Some(c) = check.hard {
            acc.hard.get_or_insert_with(|| c.describe().to_string());
        }
        if let Some(c) = check.names {
            acc.names.get_or_insert_with(|| c.describe().to_string());
        }
        acc.names_compatible |= check.names_compatible;
        acc.verified_nhs |= verified_nhs_agreement(data, &gamma, 0, index);
        let pair = (ids[0].min(ids[index]), ids[0].max(ids[index]));
        for rule in rules.iter().filter(|r| (r.record_a, r.record_b) == pair) {
            match rule.kind {
                RuleKind::CannotLink => {
                    acc.cannot_link = Some(format!(
                        "a data steward recorded that {} is not this child ({})",
                        data.label(index),
                        rule.reason
                    ))
                }
                RuleKind::MustLink => acc.must_link = true,
            }
        }
    }
    let mut scores: Vec<PersonScore> = by_person
        .into_iter()
        .filter_map(|(cci, acc)| {
            let (weight, index) = acc.best?;
            let blocked_by = acc.cannot_link.clone().or_else(|| {
                acc.hard
                    .clone()
                    .or_else(|| (!acc.names_compatible).then(|| acc.names.clone()).flatten())
            });
            let p = probability(weight);
            let grade = if acc.must_link && acc.cannot_link.is_none() {
                Grade::Certain
            } else if blocked_by.is_some() {
                Grade::CertainlyNot
            } else {
                demographic_grade(config, acc.verified_nhs, p)
            };
            Some(PersonScore {
                cci: cci.to_string(),
                grade,
                probability: p,
                weight,
                best_record: ids[index],
                best_label: data.label(index),
                blocked_by: if grade == Grade::Certain && acc.must_link {
                    None
                } else {
                    blocked_by
                },
                verified_nhs_agreement: acc.verified_nhs,
            })
        })
        .collect();
    scores.sort_by(|x, y| {
        x.grade
            .rank()
            .cmp(&y.grade.rank())
            .then(y.weight.total_cmp(&x.weight))
            .then(x.cci.cmp(&y.cci))
    });
    // A record without a given name ("Baby of …") that is certain for two people kept apart,
    // such as twins, cannot be told apart: none of them is certain.
    let certain = scores.iter().filter(|s| s.grade == Grade::Certain).count();
    if certain > 1 && data.records[0].given.is_none() {
        for score in scores.iter_mut().filter(|s| s.grade == Grade::Certain) {
            score.grade = Grade::Probable;
            score.blocked_by = Some(linkage::Constraint::Ambiguous.describe().to_string());
        }
    }
    scores
}

/// Whether two candidate persons may be joined: no constraint between any of their records in
/// the evaluation, and no cannot-link rule between them.
pub(crate) fn persons_compatible(
    config: &RegistryConfig,
    model: &LoadedModel,
    evaluation: &Evaluation,
    a: &str,
    b: &str,
    rules: &[StewardRule],
) -> Option<String> {
    let data = &evaluation.data;
    let comparer = Comparer {
        data,
        nicknames: &config.nicknames,
        thresholds: model.model.thresholds,
    };
    let members = |cci: &str| -> Vec<usize> {
        (1..data.records.len())
            .filter(|&i| evaluation.persons_of[i].as_deref() == Some(cci))
            .collect()
    };
    let (left, right) = (members(a), members(b));
    let mut names_broken = None;
    let mut compatible = false;
    for &x in &left {
        for &y in &right {
            let pair = (
                evaluation.ids[x].min(evaluation.ids[y]),
                evaluation.ids[x].max(evaluation.ids[y]),
            );
            if rules
                .iter()
                .any(|r| r.kind == RuleKind::CannotLink && (r.record_a, r.record_b) == pair)
            {
                return Some(format!(
                    "a data steward recorded that {} and {} are different children",
                    data.label(x),
                    data.label(y)
                ));
            }
            let check = linkage::cluster::check(&comparer, x, y);
            if let Some(c) = check.hard {
                return Some(c.describe().to_string());
            }
            if names_broken.is_none() {
                names_broken = check.names.map(|c| c.describe().to_string());
            }
            compatible |= check.names_compatible;
        }
    }
    if compatible { None } else { names_broken }
}

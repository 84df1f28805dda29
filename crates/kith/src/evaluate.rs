//! `kith evaluate`: pairwise precision, recall and F1 of a clustering against ground truth,
//! with recall per hard case and false merges split by how the merged people are related.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::cli::EvaluateArgs;

#[derive(Debug, Serialize)]
pub struct Figures {
    pub records: u64,
    pub true_pairs: u64,
    pub predicted_pairs: u64,
    pub true_positive_pairs: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Per hard-case tag: (true pairs involving a tagged record, of which found).
    pub recall_by_case: BTreeMap<String, (u64, u64, f64)>,
    /// False-merge pairs by relation: twins, household members, unrelated.
    pub false_merges: BTreeMap<String, u64>,
}

fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<csv::StringRecord>)> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let header: Vec<String> = reader.headers()?.iter().map(str::to_string).collect();
    let rows = reader
        .records()
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok((header, rows))
}

fn column(header: &[String], name: &str, path: &Path) -> Result<usize> {
    header
        .iter()
        .position(|h| h == name)
        .with_context(|| format!("`{}` has no `{name}` column", path.display()))
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

pub fn run(args: &EvaluateArgs) -> Result<()> {
    let figures = figures(&args.clusters, &args.truth, args.persons.as_deref())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
        return Ok(());
    }
    print_figures(&figures);
    Ok(())
}

/// Scores a clusters.csv against ground truth.
pub fn figures(clusters: &Path, truth_path: &Path, persons: Option<&Path>) -> Result<Figures> {
    let (ch, crows) = read_csv(clusters)?;
    let (cs, ci, cc) = (
        column(&ch, "source", clusters)?,
        column(&ch, "record_id", clusters)?,
        column(&ch, "cluster_id", clusters)?,
    );
    let (th, trows) = read_csv(truth_path)?;
    let (ts, ti, tp) = (
        column(&th, "source", truth_path)?,
        column(&th, "record_id", truth_path)?,
        column(&th, "person_id", truth_path)?,
    );
    let tags = th.iter().position(|h| h == "hard_cases");
    let mut truth: HashMap<(String, String), (String, Vec<String>)> = HashMap::new();
    for row in &trows {
        let key = (row[ts].to_string(), row[ti].to_string());
        let tag_list = tags
            .and_then(|t| row.get(t))
            .map(|t| {
                t.split(';')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        truth.insert(key, (row[tp].to_string(), tag_list));
    }
    // Records in the clustering, with their true person and predicted cluster.
    let mut records: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut missing = 0usize;
    for row in &crows {
        match truth.get(&(row[cs].to_string(), row[ci].to_string())) {
            Some((person, tags)) => {
                records.push((person.clone(), row[cc].to_string(), tags.clone()))
            }
            None => missing += 1,
        }
    }
    if records.is_empty() {
        bail!(
            "no record of `{}` appears in the truth file",
            clusters.display()
        );
    }
    if missing > 0 {
        eprintln!("{missing} clustered records have no ground truth and are left out");
    }
    let mut by_person: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_cluster: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut joint: HashMap<(&str, &str), u64> = HashMap::new();
    for (i, (person, cluster, _)) in records.iter().enumerate() {
        by_person.entry(person).or_default().push(i);
        by_cluster.entry(cluster).or_default().push(i);
        *joint.entry((person, cluster)).or_default() += 1;
    }
    let true_pairs: u64 = by_person.values().map(|v| pairs(v.len() as u64)).sum();
    let predicted_pairs: u64 = by_cluster.values().map(|v| pairs(v.len() as u64)).sum();
    let tp_pairs: u64 = joint.values().map(|&n| pairs(n)).sum();
    let precision = if predicted_pairs == 0 {
        1.0
    } else {
        tp_pairs as f64 / predicted_pairs as f64
    };
    let recall = if true_pairs == 0 {
        1.0
    } else {
        tp_pairs as f64 / true_pairs as f64
    };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };

    let mut recall_by_case: BTreeMap<String, (u64, u64, f64)> = BTreeMap::new();
    for members in by_person.values() {
        for (x, &a) in members.iter().enumerate() {
            for &b in &members[x + 1..] {
                let found = records[a].1 == records[b].1;
                let mut tags: Vec<&String> = records[a].2.iter().chain(&records[b].2).collect();
                tags.sort();
                tags.dedup();
                for tag in tags {
                    let entry = recall_by_case.entry(tag.clone()).or_insert((0, 0, 0.0));
                    entry.0 += 1;
                    entry.1 += u64::from(found);
                }
            }
        }
    }
    for value in recall_by_case.values_mut() {
        value.2 = if value.0 == 0 {
            1.0
        } else {
            value.1 as f64 / value.0 as f64
        };
    }

    let mut households: HashMap<String, (String, String)> = HashMap::new();
    if let Some(path) = persons {
        let (ph, prows) = read_csv(path)?;
        let (pp, phh, pd) = (
            column(&ph, "person_id", path)?,
            column(&ph, "household_id", path)?,
            column(&ph, "date_of_birth", path)?,
        );
        for row in &prows {
            households.insert(
                row[pp].to_string(),
                (row[phh].to_string(), row[pd].to_string()),
            );
        }
    }
    let mut false_merges: BTreeMap<String, u64> = BTreeMap::new();
    for members in by_cluster.values() {
        for (x, &a) in members.iter().enumerate() {
            for &b in &members[x + 1..] {
                let (pa, pb) = (&records[a].0, &records[b].0);
                if pa == pb {
                    continue;
                }
                let relation = match (households.get(pa), households.get(pb)) {
                    (Some((ha, da)), Some((hb, db))) if ha == hb && da == db => "twins or triplets",
                    (Some((ha, _)), Some((hb, _))) if ha == hb => {
                        "same household (siblings, parent and child)"
                    }
                    (Some(_), Some(_)) => "unrelated people",
                    _ => "different people",
                };
                *false_merges.entry(relation.to_string()).or_default() += 1;
            }
        }
    }

    let figures = Figures {
        records: records.len() as u64,
        true_pairs,
        predicted_pairs,
        true_positive_pairs: tp_pairs,
        precision,
        recall,
        f1,
        recall_by_case,
        false_merges,
    };
    Ok(figures)
}

fn print_figures(figures: &Figures) {
    let (true_pairs, predicted_pairs, tp_pairs) = (
        figures.true_pairs,
        figures.predicted_pairs,
        figures.true_positive_pairs,
    );
    let (precision, recall, f1) = (figures.precision, figures.recall, figures.f1);
    println!(
        "{} records: {} true pairs, {} predicted pairs, {} correct",
        figures.records, true_pairs, predicted_pairs, tp_pairs
    );
    println!("pairwise precision {precision:.5}  recall {recall:.5}  F1 {f1:.5}");
    if !figures.recall_by_case.is_empty() {
        println!("recall by hard case (true pairs involving a record with the case):");
        for (tag, (n, found, rate)) in &figures.recall_by_case {
            println!("  {tag:<24} {found:>9} of {n:>9}  {rate:.4}");
        }
    }
    if figures.false_merges.is_empty() {
        println!("false merges: none");
    } else {
        println!("false merges (pairs of different people put together):");
        for (relation, n) in &figures.false_merges {
            println!("  {relation:<44} {n}");
        }
    }
}

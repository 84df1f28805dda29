//! `kith registry …`, `kith review …`, `kith xref` and `kith stats`: the live person registry
//! from the command line.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use registry::{Change, Grade, Registry, RegistryConfig};
use store::{RegistryRecord, Store};

use crate::cli::{RegistryArgs, RegistryCommand, ReviewArgs, ReviewCommand, StatsArgs, XrefArgs};

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

fn open(db: &str) -> Result<(Store, Registry)> {
    let mut store = Store::open(db).with_context(|| format!("cannot open the store `{db}`"))?;
    let registry = Registry::open(&mut store, RegistryConfig::default())
        .context("cannot open the person registry")?;
    Ok((store, registry))
}

fn default_actor() -> String {
    std::env::var("USER").unwrap_or_else(|_| "steward".into())
}

/// Links every waiting record, with a progress bar and a summary. Used by `kith registry load`,
/// `kith ingest` and the demo.
pub fn link_pending(
    store: &mut Store,
    registry: &mut Registry,
    actor: &str,
    quiet: bool,
) -> Result<registry::LoadSummary> {
    let at = now();
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("  linking {bar:30} {pos}/{len} records ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    };
    let started = Instant::now();
    let summary = registry
        .link_pending(
            store,
            Change {
                actor,
                at: &at,
                reason: None,
            },
            &mut |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            },
        )
        .context("linking records to persons failed; re-run to continue where it stopped")?;
    bar.finish_and_clear();
    if !quiet && summary.records > 0 {
        println!(
            "linked {} records in {:.1} s ({}): {} new persons, {} joined existing persons, {} merges, {} pairs queued for review{}",
            summary.records,
            started.elapsed().as_secs_f64(),
            if summary.bulk {
                "initial load"
            } else {
                "real time"
            },
            summary.persons_created,
            summary.linked_to_existing,
            summary.merges,
            summary.queued_for_review,
            match (summary.model_version, summary.model_trained) {
                (Some(v), true) => format!("; trained and saved model version {v}"),
                (Some(v), false) => format!("; model version {v}"),
                _ => String::new(),
            }
        );
    }
    Ok(summary)
}

/// Writes every linked record's person as `source,record_id,cluster_id`.
pub fn export(store: &mut Store, path: &std::path::Path) -> Result<usize> {
    let links = store.registry().all_links()?;
    let mut writer = csv::Writer::from_path(path)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    writer.write_record(["source", "record_id", "cluster_id"])?;
    for (org, local, cci) in &links {
        writer.write_record([org, local, cci])?;
    }
    writer.flush()?;
    Ok(links.len())
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub fn run(args: &RegistryArgs) -> Result<()> {
    let (mut store, mut registry) = open(&args.db.db)?;
    let actor = args.actor.clone().unwrap_or_else(default_actor);
    let at = now();
    fn change<'a>(actor: &'a str, at: &'a str, reason: &'a str) -> Change<'a> {
        Change {
            actor,
            at,
            reason: Some(reason),
        }
    }
    match &args.command {
        RegistryCommand::Load => {
            let summary = link_pending(&mut store, &mut registry, &actor, false)?;
            if summary.records == 0 {
                println!("every record is already linked to a person");
            }
        }
        RegistryCommand::Train => {
            let started = Instant::now();
            let version = registry.train(
                &mut store,
                Change {
                    actor: &actor,
                    at: &at,
                    reason: Some("retrained on every stored record"),
                },
            )?;
            println!(
                "trained and saved model version {version} in {:.1} s; new records are scored with it, existing identifiers are unchanged",
                started.elapsed().as_secs_f64()
            );
        }
        RegistryCommand::Match(m) => {
            let record = RegistryRecord {
                id: -1,
                org_code: "query".into(),
                local_id: "query".into(),
                given_name: m.given.clone(),
                family_name: m.family.clone(),
                birth_date: m.dob.clone(),
                sex: m.sex.clone().unwrap_or_else(|| "unknown".into()),
                postcode: m.postcode.clone(),
                nhs_number: m.nhs.clone(),
                nhs_number_status: m.nhs.as_ref().map(|_| "01".to_string()),
                ..RegistryRecord::default()
            };
            let started = Instant::now();
            let mut found = registry.search(&mut store, &record)?;
            let elapsed = started.elapsed();
            found.retain(|p| p.grade != Grade::CertainlyNot || m.all);
            if m.json {
                return print_json(&found);
            }
            if found.is_empty() {
                println!(
                    "no candidate persons ({:.2} ms)",
                    elapsed.as_secs_f64() * 1e3
                );
            }
            for p in &found {
                println!(
                    "{:<13} {:<12} p={:.4} weight={:+.2} via {}{}",
                    p.cci,
                    p.grade.as_str(),
                    p.probability,
                    p.weight,
                    p.best_label,
                    p.blocked_by
                        .as_deref()
                        .map(|b| format!(" — {b}"))
                        .unwrap_or_default()
                );
            }
        }
        RegistryCommand::Person(p) => {
            let resolution = registry.resolve(&mut store, &p.cci)?;
            if resolution.was_merged() {
                println!(
                    "{} was merged into {} (via {})",
                    resolution.requested,
                    resolution.current,
                    resolution.merged_via.join(" → ")
                );
            }
            let cci = resolution.current;
            let xref = registry.xref(&mut store, "cci", &cci, &[])?;
            let person = store.registry().person(&cci)?;
            let events = store.registry().events(&cci)?;
            if p.json {
                return print_json(&serde_json::json!({
                    "cci": cci,
                    "requested": resolution.requested,
                    "merged_via": resolution.merged_via,
                    "birth_range": person.and_then(|p| p.birth_range),
                    "identifiers": xref.identifiers,
                    "history": events.iter().map(|e| serde_json::json!({
                        "kind": e.kind, "actor": e.actor, "at": e.at, "reason": e.reason,
                        "detail": serde_json::from_str::<serde_json::Value>(&e.detail).unwrap_or_default(),
                    })).collect::<Vec<_>>(),
                }));
            }
            println!("person {cci}");
            if let Some((from, to)) = person.and_then(|p| p.birth_range) {
                println!("  age disputed: born between {from} and {to}");
            }
            println!("  identifiers:");
            for i in &xref.identifiers {
                println!("    {} | {} (from {})", i.system, i.value, i.source);
            }
            println!("  history:");
            for e in &events {
                println!(
                    "    {} {:<16} by {}{} {}",
                    e.at,
                    e.kind,
                    e.actor,
                    e.reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default(),
                    e.detail
                );
            }
        }
        RegistryCommand::Merge(m) => {
            let survivor =
                registry.merge(&mut store, &m.a, &m.b, change(&actor, &at, &m.reason))?;
            println!("merged: {survivor} survives; the other identifier now points to it");
        }
        RegistryCommand::Split(s) => {
            let ids = s
                .records
                .iter()
                .map(|r| Registry::record_id(&mut store, r))
                .collect::<Result<Vec<_>, _>>()?;
            let new = registry.split(&mut store, &s.cci, &ids, change(&actor, &at, &s.reason))?;
            println!(
                "split: {} record(s) moved from {} to new person {new}",
                ids.len(),
                s.cci
            );
        }
        RegistryCommand::Link(l) => {
            let (a, b) = (
                Registry::record_id(&mut store, &l.a)?,
                Registry::record_id(&mut store, &l.b)?,
            );
            let cci = registry.must_link(&mut store, a, b, change(&actor, &at, &l.reason))?;
            println!(
                "{} and {} are one child: {cci} (must-link kept for every later decision)",
                l.a, l.b
            );
        }
        RegistryCommand::Unlink(l) => {
            let (a, b) = (
                Registry::record_id(&mut store, &l.a)?,
                Registry::record_id(&mut store, &l.b)?,
            );
            let cci = registry.cannot_link(&mut store, a, b, change(&actor, &at, &l.reason))?;
            println!(
                "{} and {} are different children: {} is now {cci} (cannot-link kept for every later decision)",
                l.a, l.b, l.b
            );
        }
        RegistryCommand::Adopt(a) => {
            let new = registry.adopt(&mut store, &a.cci, change(&actor, &at, &a.reason))?;
            println!(
                "adoption recorded: the child's records are now under {new}; the link to the old identity is sealed"
            );
        }
        RegistryCommand::Sealed(s) => {
            match registry.open_sealed(&mut store, &s.cci, change(&actor, &at, &s.reason))? {
                Some(old) => println!(
                    "sealed record: {} was {old} before adoption (this access is recorded)",
                    s.cci
                ),
                None => println!("no sealed record for {} (this access is recorded)", s.cci),
            }
        }
        RegistryCommand::AgeRange(a) => {
            let from = a.from.parse().map_err(|e| anyhow::anyhow!("--from: {e}"))?;
            let to = a.to.parse().map_err(|e| anyhow::anyhow!("--to: {e}"))?;
            registry.set_age_range(&mut store, &a.cci, from, to, change(&actor, &at, &a.reason))?;
            println!(
                "recorded: {} was born between {} and {}",
                a.cci, a.from, a.to
            );
        }
        RegistryCommand::Export(e) => {
            let written = export(&mut store, &e.out)?;
            println!(
                "{written} records with their persons written to {}",
                e.out.display()
            );
        }
        RegistryCommand::Outbox(o) => {
            let messages = store.registry().outbox(&o.org, o.after, o.limit)?;
            if o.json {
                let values: Vec<serde_json::Value> = messages
                    .iter()
                    .map(|m| {
                        serde_json::json!({
                            "id": m.id, "created_at": m.created_at, "delivered_at": m.delivered_at,
                            "payload": serde_json::from_str::<serde_json::Value>(&m.payload).unwrap_or_default(),
                        })
                    })
                    .collect();
                print_json(&values)?;
            } else {
                if messages.is_empty() {
                    println!("no messages for {} after #{}", o.org, o.after);
                }
                for m in &messages {
                    println!("#{} {} {}", m.id, m.created_at, m.payload);
                }
            }
            if o.ack
                && let Some(last) = messages.last()
            {
                store.registry().mark_delivered(&o.org, last.id, &at)?;
            }
        }
    }
    Ok(())
}

pub fn review(args: &ReviewArgs) -> Result<()> {
    let (mut store, registry) = open(&args.db.db)?;
    let actor = args.actor.clone().unwrap_or_else(default_actor);
    let at = now();
    match &args.command {
        ReviewCommand::List(l) => {
            let items = store.registry().reviews(&l.status, l.limit)?;
            let mut rows = Vec::new();
            for item in &items {
                let detail = registry.review_detail(&mut store, item.id)?;
                rows.push(detail);
            }
            if l.json {
                let values: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|d| {
                        let mut v = serde_json::json!({
                            "id": d.item.id, "record": d.item.record, "candidate": d.item.candidate,
                            "grade": d.item.grade, "status": d.item.status, "created_at": d.item.created_at,
                        });
                        if !l.blind {
                            v["match_weight"] = d.item.match_weight.into();
                        }
                        v
                    })
                    .collect();
                return print_json(&values);
            }
            if rows.is_empty() {
                println!("no {} review items", l.status);
            }
            for d in &rows {
                let score = if l.blind {
                    String::new()
                } else {
                    format!(" weight {:+.2}", d.item.match_weight)
                };
                println!(
                    "#{:<6} {:<9} {} ↔ {}{} (queued {})",
                    d.item.id,
                    d.item.grade,
                    d.item.record,
                    d.item.candidate,
                    score,
                    d.item.created_at
                );
            }
        }
        ReviewCommand::Show(s) => {
            let detail = registry.review_detail(&mut store, s.id)?;
            if s.json {
                let mut value = serde_json::to_value(&detail)?;
                if s.blind {
                    blind(&mut value);
                }
                return print_json(&value);
            }
            println!(
                "review #{} — {} ({}), queued {}",
                detail.item.id, detail.item.grade, detail.item.status, detail.item.created_at
            );
            println!(
                "  {} (person {}) ↔ {} (person {})",
                detail.item.record,
                detail.record_cci.as_deref().unwrap_or("-"),
                detail.item.candidate,
                detail.candidate_cci.as_deref().unwrap_or("-")
            );
            if s.blind {
                for c in &detail.explanation.contributions {
                    println!("  {:<16} {}", c.comparison, c.level);
                }
                if let Some(c) = detail.explanation.constraint {
                    println!("  constraint: {}", c.describe());
                }
            } else {
                print!("{}", detail.explanation);
            }
            if let Some(by) = &detail.item.decided_by {
                println!(
                    "  decided by {by} at {}: {}",
                    detail.item.decided_at.as_deref().unwrap_or("-"),
                    detail.item.reason.as_deref().unwrap_or("-")
                );
            }
        }
        ReviewCommand::Accept(d) => {
            let cci = registry.accept_review(
                &mut store,
                d.id,
                Change {
                    actor: &actor,
                    at: &at,
                    reason: Some(&d.reason),
                },
            )?;
            println!("accepted #{}: one child, {cci}", d.id);
        }
        ReviewCommand::Reject(d) => {
            registry.reject_review(
                &mut store,
                d.id,
                Change {
                    actor: &actor,
                    at: &at,
                    reason: Some(&d.reason),
                },
            )?;
            println!(
                "rejected #{}: different children, kept apart from now on",
                d.id
            );
        }
    }
    Ok(())
}

/// Removes every score from an explanation, for blind review.
fn blind(value: &mut serde_json::Value) {
    if let Some(item) = value.get_mut("item").and_then(|v| v.as_object_mut()) {
        item.remove("match_weight");
    }
    if let Some(explanation) = value.get_mut("explanation").and_then(|v| v.as_object_mut()) {
        for key in ["prior_weight", "match_weight", "match_probability"] {
            explanation.remove(key);
        }
        if let Some(list) = explanation
            .get_mut("contributions")
            .and_then(|v| v.as_array_mut())
        {
            for c in list {
                if let Some(c) = c.as_object_mut() {
                    c.remove("weight");
                    c.remove("term_frequency_adjustment");
                }
            }
        }
    }
}

pub fn xref(args: &XrefArgs) -> Result<()> {
    let (mut store, registry) = open(&args.db.db)?;
    let Some((system, value)) = args.identifier.split_once('|') else {
        bail!(
            "identifier `{}` must be SYSTEM|VALUE, e.g. `https://fhir.nhs.uk/Id/nhs-number|9434765919`",
            args.identifier
        );
    };
    let result = registry.xref(&mut store, system, value, &args.targets)?;
    if args.json {
        return print_json(&result);
    }
    println!("person {}", result.cci);
    if result.identifiers.is_empty() {
        println!("  no identifiers in the requested systems");
    }
    for i in &result.identifiers {
        println!("  {} | {} (from {})", i.system, i.value, i.source);
    }
    Ok(())
}

pub fn stats(args: &StatsArgs) -> Result<()> {
    let mut store = Store::open(&args.db.db)
        .with_context(|| format!("cannot open the store `{}`", args.db.db))?;
    let stats = registry::stats::collect(&mut store, args.go_live, &now(), !args.no_save)?;
    if args.json {
        return print_json(&stats);
    }
    println!(
        "persons: {} active, {} retired by merges; {} records waiting to be linked; review queue: {} open{}",
        stats.persons_active,
        stats.persons_retired,
        stats.records_pending,
        stats.review_open,
        stats
            .review_oldest_open
            .as_deref()
            .map(|o| format!(" (oldest queued {o})"))
            .unwrap_or_default()
    );
    println!(
        "{:<16} {:>9} {:>13} {:>9} {:>11}",
        "source", "records", "verified NHS", "linked", "match rate"
    );
    for s in &stats.sources {
        println!(
            "{:<16} {:>9} {:>12.1}%{} {:>8.1}% {:>10.1}%",
            s.source,
            s.records,
            s.verified_nhs_share * 100.0,
            if s.meets_go_live { " " } else { "!" },
            s.linked_share * 100.0,
            s.match_rate * 100.0
        );
    }
    let sizes: Vec<String> = stats
        .cluster_sizes
        .iter()
        .map(|(size, n)| format!("{size}: {n}"))
        .collect();
    println!("records per person: {}", sizes.join(", "));
    if stats.alerts.is_empty() {
        println!("no alerts");
    } else {
        println!(
            "alerts (! = below the go-live threshold of {:.0}%):",
            args.go_live * 100.0
        );
        for a in &stats.alerts {
            println!(
                "  [{}]{} {}",
                a.kind,
                a.source
                    .as_deref()
                    .map(|s| format!(" {s}:"))
                    .unwrap_or_default(),
                a.message
            );
        }
    }
    Ok(())
}

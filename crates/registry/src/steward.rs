//! What people do to the registry: review possible matches, merge and split persons, record
//! must-link and cannot-link decisions, adoption, disputed ages, and look identities up.
//!
//! Every change is an event in each affected person's history (who, when, why, evidence) and a
//! message in the outbox for every organisation holding one of the persons' records, so a wrong
//! match — which can falsely show a child as on a protection plan — is reversible and everyone
//! who received it is told. A steward's decision is stored as a rule that every later automatic
//! decision respects.

use linkage::{Comparer, Scorer, explain};
use serde::Serialize;
use store::{RegistryConn, RuleKind, StewardRule, Store};

use crate::matcher::to_input;
use crate::{Cci, Change, Registry, RegistryError, Result};

/// Issues a new CCI and creates its person.
pub(crate) fn new_person(tx: &mut RegistryConn<'_>, at: &str) -> Result<String> {
    let serial = tx.next_serial()?;
    let serial = u32::try_from(serial).map_err(|_| RegistryError::SerialOutOfRange(serial))?;
    let cci = Cci::from_serial(serial)?.to_string();
    tx.insert_person(&cci, at)?;
    Ok(cci)
}

/// Tells every organisation holding records of the affected persons about an event.
fn notify(
    tx: &mut RegistryConn<'_>,
    event_id: i64,
    orgs: &[String],
    at: &str,
    payload: &serde_json::Value,
) -> Result<()> {
    let text = payload.to_string();
    for org in orgs {
        tx.add_outbox(event_id, org, at, &text)?;
    }
    Ok(())
}

/// Merges `retired` into `survivor` inside a transaction: records move, the old CCI keeps a
/// forward pointer, both histories and the outbox say so.
pub(crate) fn merge_in_tx(
    tx: &mut RegistryConn<'_>,
    survivor: &str,
    retired: &str,
    change: Change<'_>,
    evidence: serde_json::Value,
) -> Result<()> {
    let orgs = tx.orgs_of_persons(&[survivor, retired])?;
    let moved = tx.person_record_ids(retired)?;
    tx.move_links(retired, survivor, change.at)?;
    tx.retire_person(retired, Some(survivor))?;
    // The child's safeguarding flags follow the records, and each owning authority is told.
    let now = change
        .at
        .parse::<jiff::Timestamp>()
        .map_err(|e| RegistryError::Refused(format!("change time `{}`: {e}", change.at)))?;
    let why = change.reason.unwrap_or("records found to be one child");
    safeguarding::repoint_flags_in(&mut tx.safeguarding(), retired, survivor, why, now)
        .map_err(|e| RegistryError::Refused(format!("re-pointing safeguarding flags: {e}")))?;
    let detail = serde_json::json!({
        "survivor": survivor,
        "retired": retired,
        "records_moved": moved.len(),
        "evidence": evidence,
    });
    let text = detail.to_string();
    let event = tx.add_event(
        survivor,
        "merged",
        change.actor,
        change.at,
        change.reason,
        &text,
    )?;
    tx.add_event(
        retired,
        "retired",
        change.actor,
        change.at,
        change.reason,
        &text,
    )?;
    notify(
        tx,
        event,
        &orgs,
        change.at,
        &serde_json::json!({
            "event": "merge",
            "survivor": survivor,
            "retired": retired,
            "reason": change.reason,
            "at": change.at,
        }),
    )
}

/// How a looked-up CCI resolves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolution {
    pub requested: String,
    pub current: String,
    /// The retired identifiers passed through, oldest last; empty when `requested` is current.
    pub merged_via: Vec<String>,
}

impl Resolution {
    pub fn was_merged(&self) -> bool {
        !self.merged_via.is_empty()
    }
}

/// A cross-reference lookup result (the IHE PIX idea).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct XrefResult {
    pub cci: String,
    pub identifiers: Vec<XrefIdentifier>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct XrefIdentifier {
    pub system: String,
    pub value: String,
    pub status: Option<String>,
    pub source: String,
}

/// The review item with the evidence a reviewer needs.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewDetail {
    pub item: ReviewItemView,
    pub record_cci: Option<String>,
    pub candidate_cci: Option<String>,
    pub explanation: linkage::Explanation,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReviewItemView {
    pub id: i64,
    pub record: String,
    pub candidate: String,
    pub grade: String,
    pub match_weight: f64,
    pub model_version: i64,
    pub status: String,
    pub created_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub reason: Option<String>,
}

fn system_of(system: &str) -> Result<String> {
    Ok(match system {
        "https://fhir.nhs.uk/Id/nhs-number" | "nhs" | "nhs-number" => "nhs".into(),
        "upn" | "https://kith.example/Id/upn" => "upn".into(),
        "pnc" | "https://kith.example/Id/pnc" => "pnc".into(),
        "cci" | "https://kith.example/Id/cci" => "cci".into(),
        other if other.starts_with("local:") => other.into(),
        other => return Err(RegistryError::UnknownSystem(other.into())),
    })
}

/// The public system URI of a stored system name.
pub fn system_uri(system: &str) -> String {
    match system {
        "nhs" => "https://fhir.nhs.uk/Id/nhs-number".into(),
        "upn" => "https://kith.example/Id/upn".into(),
        "pnc" => "https://kith.example/Id/pnc".into(),
        "cci" => "https://kith.example/Id/cci".into(),
        other => other.into(),
    }
}

fn require_reason<'a>(change: &Change<'a>, what: &'static str) -> Result<&'a str> {
    change
        .reason
        .filter(|r| !r.trim().is_empty())
        .ok_or(RegistryError::ReasonRequired(what))
}

impl Registry {
    /// Resolves a CCI through merges. A retired id resolves to its survivor and says so; a
    /// sealed (pre-adoption) identity is not found.
    pub fn resolve(&self, store: &mut Store, cci: &str) -> Result<Resolution> {
        let requested = cci.parse::<Cci>()?.to_string();
        let mut conn = store.registry();
        if conn.is_sealed_old(&requested)? {
            return Err(RegistryError::UnknownPerson(requested));
        }
        let mut current = requested.clone();
        let mut via = Vec::new();
        for _ in 0..64 {
            let person = conn
                .person(&current)?
                .ok_or_else(|| RegistryError::UnknownPerson(current.clone()))?;
            match person.merged_into {
                Some(next) if person.status == "retired" => {
                    via.push(current.clone());
                    current = next;
                }
                _ => {
                    return Ok(Resolution {
                        requested,
                        current,
                        merged_via: via,
                    });
                }
            }
        }
        Err(RegistryError::Refused(format!(
            "merge chain from `{requested}` is longer than 64 steps; the store needs repair"
        )))
    }

    /// Looks a record up by `ORG:LOCAL_ID`.
    pub fn record_id(store: &mut Store, label: &str) -> Result<i64> {
        let (org, local) = label
            .split_once(':')
            .ok_or_else(|| RegistryError::UnknownRecord(label.into()))?;
        store
            .registry()
            .record_id(org, local)?
            .ok_or_else(|| RegistryError::UnknownRecord(label.into()))
    }

    /// The person and identifiers behind `system|value`, optionally only in `targets`. An
    /// unknown identifier is an error; a known one with nothing in the targets is empty.
    pub fn xref(
        &self,
        store: &mut Store,
        system: &str,
        value: &str,
        targets: &[String],
    ) -> Result<XrefResult> {
        let system = system_of(system)?;
        let unknown = || RegistryError::UnknownIdentifier {
            system: system_uri(&system),
            value: value.into(),
        };
        let cci = match system.as_str() {
            "cci" => {
                let resolution = self.resolve(store, value).map_err(|e| match e {
                    RegistryError::UnknownPerson(_) => unknown(),
                    other => other,
                })?;
                resolution.current
            }
            "nhs" | "upn" | "pnc" => {
                let normalised: String = value.chars().filter(|c| !c.is_whitespace()).collect();
                let normalised = normalised.to_ascii_uppercase();
                let found = store
                    .registry()
                    .records_with_identifier(&system, &normalised)?;
                found
                    .into_iter()
                    .find_map(|(_, cci)| cci)
                    .ok_or_else(unknown)?
            }
            local => {
                let org = local.trim_start_matches("local:");
                let id = store
                    .registry()
                    .record_id(org, value)?
                    .ok_or_else(unknown)?;
                store
                    .registry()
                    .records_by_id(&[id])?
                    .into_iter()
                    .find_map(|r| r.cci)
                    .ok_or_else(unknown)?
            }
        };
        let targets: Vec<String> = targets
            .iter()
            .map(|t| system_of(t))
            .collect::<Result<_>>()?;
        let mut identifiers: Vec<XrefIdentifier> = store
            .registry()
            .person_identifiers(&cci)?
            .into_iter()
            .map(|i| XrefIdentifier {
                system: system_uri(&i.system),
                value: i.value,
                status: i.status,
                source: format!("{}:{}", i.org_code, i.local_id),
            })
            .collect();
        identifiers.push(XrefIdentifier {
            system: system_uri("cci"),
            value: cci.clone(),
            status: None,
            source: "kith".into(),
        });
        if !targets.is_empty() {
            let wanted: Vec<String> = targets.iter().map(|t| system_uri(t)).collect();
            identifiers.retain(|i| wanted.contains(&i.system));
        }
        identifiers.sort_by(|a, b| (&a.system, &a.value).cmp(&(&b.system, &b.value)));
        identifiers.dedup_by(|a, b| a.system == b.system && a.value == b.value);
        Ok(XrefResult { cci, identifiers })
    }

    /// A review item with the full explanation of its pair.
    pub fn review_detail(&self, store: &mut Store, id: i64) -> Result<ReviewDetail> {
        let model = self.model().ok_or(RegistryError::NoModel)?;
        let mut conn = store.registry();
        let item = conn.review(id)?.ok_or(RegistryError::NoSuchReview(id))?;
        let records = conn.records_by_id(&[item.record_id, item.candidate_record_id])?;
        let find = |rid: i64| records.iter().find(|r| r.id == rid).cloned();
        let (Some(record), Some(candidate)) =
            (find(item.record_id), find(item.candidate_record_id))
        else {
            return Err(RegistryError::UnknownRecord(format!("#{}", item.record_id)));
        };
        let mut data = linkage::prepare::prepare(
            vec![to_input(&record), to_input(&candidate)],
            &self.config.nicknames,
        );
        crate::matcher::set_frequencies(&mut data, &mut conn, model)?;
        let comparer = Comparer {
            data: &data,
            nicknames: &self.config.nicknames,
            thresholds: model.model.thresholds,
        };
        let scorer = Scorer::new(&model.model, &data, model.prior);
        let explanation = explain(&comparer, &scorer, 0, 1);
        Ok(ReviewDetail {
            item: ReviewItemView {
                id: item.id,
                record: format!("{}:{}", record.org_code, record.local_id),
                candidate: format!("{}:{}", candidate.org_code, candidate.local_id),
                grade: item.grade,
                match_weight: item.weight_milli as f64 / 1000.0,
                model_version: item.model_version,
                status: item.status,
                created_at: item.created_at,
                decided_by: item.decided_by,
                decided_at: item.decided_at,
                reason: item.reason,
            },
            record_cci: record.cci,
            candidate_cci: candidate.cci,
            explanation,
        })
    }

    /// Accepts a review item: the two records are one child. Records a must-link rule and
    /// merges their persons (the older CCI survives).
    pub fn accept_review(&self, store: &mut Store, id: i64, change: Change<'_>) -> Result<String> {
        let reason = require_reason(&change, "accepting a review item")?.to_string();
        store.registry_tx(|tx| {
            let item = tx.review(id)?.ok_or(RegistryError::NoSuchReview(id))?;
            if item.status != "open" {
                return Err(RegistryError::ReviewClosed {
                    id,
                    status: item.status,
                });
            }
            tx.decide_review(id, "accepted", change.actor, change.at, &reason)?;
            tx.put_rule(&StewardRule {
                record_a: item.record_id,
                record_b: item.candidate_record_id,
                kind: RuleKind::MustLink,
                actor: change.actor.into(),
                at: change.at.into(),
                reason: reason.clone(),
            })?;
            join_records(
                tx,
                item.record_id,
                item.candidate_record_id,
                change,
                Some(id),
            )
        })
    }

    /// Rejects a review item: the two records are different children, for good.
    pub fn reject_review(&self, store: &mut Store, id: i64, change: Change<'_>) -> Result<()> {
        let reason = require_reason(&change, "rejecting a review item")?.to_string();
        store.registry_tx(|tx| {
            let item = tx.review(id)?.ok_or(RegistryError::NoSuchReview(id))?;
            if item.status != "open" {
                return Err(RegistryError::ReviewClosed {
                    id,
                    status: item.status,
                });
            }
            tx.decide_review(id, "rejected", change.actor, change.at, &reason)?;
            tx.put_rule(&StewardRule {
                record_a: item.record_id,
                record_b: item.candidate_record_id,
                kind: RuleKind::CannotLink,
                actor: change.actor.into(),
                at: change.at.into(),
                reason,
            })?;
            Ok(())
        })
    }

    /// A steward's must-link: two records are one child. Their persons merge.
    pub fn must_link(
        &self,
        store: &mut Store,
        a: i64,
        b: i64,
        change: Change<'_>,
    ) -> Result<String> {
        let reason = require_reason(&change, "a manual link")?.to_string();
        store.registry_tx(|tx| {
            tx.put_rule(&StewardRule {
                record_a: a,
                record_b: b,
                kind: RuleKind::MustLink,
                actor: change.actor.into(),
                at: change.at.into(),
                reason,
            })?;
            join_records(tx, a, b, change, None)
        })
    }

    /// A steward's cannot-link: two records are different children. If they share a person,
    /// `b` is split out into a new one. Returns the CCI `b` ends up with.
    pub fn cannot_link(
        &self,
        store: &mut Store,
        a: i64,
        b: i64,
        change: Change<'_>,
    ) -> Result<String> {
        let reason = require_reason(&change, "a manual unlink")?.to_string();
        let (ca, cb) = {
            let records = store.registry().records_by_id(&[a, b])?;
            let cci = |id| {
                records
                    .iter()
                    .find(|r| r.id == id)
                    .and_then(|r| r.cci.clone())
            };
            (cci(a), cci(b))
        };
        store.registry_tx(|tx| -> Result<()> {
            tx.put_rule(&StewardRule {
                record_a: a,
                record_b: b,
                kind: RuleKind::CannotLink,
                actor: change.actor.into(),
                at: change.at.into(),
                reason,
            })?;
            Ok(())
        })?;
        match (ca, cb) {
            (Some(x), Some(y)) if x == y => self.split(store, &x, &[b], change),
            (_, Some(y)) => Ok(y),
            _ => Err(RegistryError::Unlinked(format!("#{b}"))),
        }
    }

    /// Merges two persons; the older CCI survives. Returns the survivor.
    pub fn merge(&self, store: &mut Store, a: &str, b: &str, change: Change<'_>) -> Result<String> {
        require_reason(&change, "a merge")?;
        let (a, b) = (self.active(store, a)?, self.active(store, b)?);
        if a == b {
            return Ok(a);
        }
        store.registry_tx(|tx| {
            let (survivor, retired) = older_first(&a, &b);
            merge_in_tx(
                tx,
                &survivor,
                &retired,
                change,
                serde_json::json!({"manual": true}),
            )?;
            Ok(survivor)
        })
    }

    /// Splits records out of a person into a new one (an unmerge). The moved records get a
    /// cannot-link rule against every record left behind, so no later automatic decision joins
    /// them again. Returns the new CCI.
    pub fn split(
        &self,
        store: &mut Store,
        cci: &str,
        records: &[i64],
        change: Change<'_>,
    ) -> Result<String> {
        let reason = require_reason(&change, "a split")?.to_string();
        let cci = self.active(store, cci)?;
        store.registry_tx(|tx| {
            let members = tx.person_record_ids(&cci)?;
            if let Some(stranger) = records.iter().find(|r| !members.contains(r)) {
                return Err(RegistryError::Refused(format!(
                    "record #{stranger} is not linked to `{cci}`"
                )));
            }
            let staying: Vec<i64> = members
                .iter()
                .copied()
                .filter(|m| !records.contains(m))
                .collect();
            if staying.is_empty() {
                return Err(RegistryError::Refused(format!(
                    "splitting every record out of `{cci}` would leave it empty; split fewer records"
                )));
            }
            let orgs = tx.orgs_of_persons(&[cci.as_str()])?;
            let new = new_person(tx, change.at)?;
            for &record in records {
                tx.link(record, &new, true, change.at, Some(&reason))?;
                for &other in &staying {
                    tx.put_rule(&StewardRule {
                        record_a: record,
                        record_b: other,
                        kind: RuleKind::CannotLink,
                        actor: change.actor.into(),
                        at: change.at.into(),
                        reason: reason.clone(),
                    })?;
                }
            }
            let detail = serde_json::json!({
                "from": cci, "to": new, "records_moved": records,
            })
            .to_string();
            let event = tx.add_event(&cci, "split", change.actor, change.at, Some(&reason), &detail)?;
            tx.add_event(&new, "created-by-split", change.actor, change.at, Some(&reason), &detail)?;
            notify(
                tx,
                event,
                &orgs,
                change.at,
                &serde_json::json!({
                    "event": "split", "from": cci, "to": new, "reason": reason, "at": change.at,
                }),
            )?;
            Ok(new)
        })
    }

    /// Adoption: the child gets a new identity. Their records move to a new CCI; the old CCI
    /// is retired with no forward pointer, and the link between the two is kept only in a
    /// sealed record that [`Registry::open_sealed`] reads and audits. Returns the new CCI.
    pub fn adopt(&self, store: &mut Store, cci: &str, change: Change<'_>) -> Result<String> {
        let reason = require_reason(&change, "an adoption")?.to_string();
        let old = self.active(store, cci)?;
        store.registry_tx(|tx| {
            let new = new_person(tx, change.at)?;
            tx.move_links(&old, &new, change.at)?;
            tx.retire_person(&old, None)?;
            tx.seal(&new, &old, change.at, change.actor, &reason)?;
            // The new identity's history starts afresh: it names neither the old CCI nor why.
            tx.add_event(&new, "created", change.actor, change.at, None, "{}")?;
            Ok(new)
        })
    }

    /// Reads a sealed adoption link; the access itself is recorded.
    pub fn open_sealed(
        &self,
        store: &mut Store,
        new_cci: &str,
        change: Change<'_>,
    ) -> Result<Option<String>> {
        let reason = require_reason(&change, "opening a sealed record")?.to_string();
        let cci = new_cci.parse::<Cci>()?.to_string();
        store.registry_tx(|tx| Ok(tx.open_sealed(&cci, change.actor, change.at, &reason)?))
    }

    /// Records that a young person's age is disputed: a range of possible birth dates.
    pub fn set_age_range(
        &self,
        store: &mut Store,
        cci: &str,
        from: model::PartialDate,
        to: model::PartialDate,
        change: Change<'_>,
    ) -> Result<()> {
        let reason = require_reason(&change, "an age range")?.to_string();
        let cci = self.active(store, cci)?;
        let (from, to) = (from.to_string(), to.to_string());
        if from > to {
            return Err(RegistryError::Refused(format!(
                "the age range starts ({from}) after it ends ({to})"
            )));
        }
        store.registry_tx(|tx| {
            tx.set_birth_range(&cci, &from, &to)?;
            let detail = serde_json::json!({"from": from, "to": to}).to_string();
            tx.add_event(
                &cci,
                "age-disputed",
                change.actor,
                change.at,
                Some(&reason),
                &detail,
            )?;
            Ok(())
        })
    }

    /// The current CCI for `cci`, refusing retired ones so changes act on the survivor.
    fn active(&self, store: &mut Store, cci: &str) -> Result<String> {
        let resolution = self.resolve(store, cci)?;
        if resolution.was_merged() {
            return Err(RegistryError::Retired {
                cci: resolution.requested,
                into: resolution.current,
            });
        }
        Ok(resolution.current)
    }
}

fn older_first(a: &str, b: &str) -> (String, String) {
    let serial = |c: &str| c.parse::<Cci>().map(|c| c.serial()).unwrap_or(u32::MAX);
    if serial(a) <= serial(b) {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

/// Puts two records in one person (merging their persons; the older CCI survives).
fn join_records(
    tx: &mut RegistryConn<'_>,
    a: i64,
    b: i64,
    change: Change<'_>,
    review: Option<i64>,
) -> Result<String> {
    let records = tx.records_by_id(&[a, b])?;
    let cci_of = |id: i64| -> Result<String> {
        records
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| RegistryError::UnknownRecord(format!("#{id}")))?
            .cci
            .clone()
            .ok_or_else(|| RegistryError::Unlinked(format!("#{id}")))
    };
    let (ca, cb) = (cci_of(a)?, cci_of(b)?);
    if ca == cb {
        return Ok(ca);
    }
    let (survivor, retired) = older_first(&ca, &cb);
    merge_in_tx(
        tx,
        &survivor,
        &retired,
        change,
        serde_json::json!({"manual": true, "records": [a, b], "review": review}),
    )?;
    Ok(survivor)
}

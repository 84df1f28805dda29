//! Snapshots of decision explanations as a practitioner, an auditor and the ledger see them:
//! the decision as JSON, its text explanation, and its ledger entry.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Scenario, parse, sample_agreements};
use governance::{GovernanceState, PolicyEngine, decide};

/// A scenario in the decision table's words: actor, purpose, holder, category, tier, age,
/// consent, relationship and flags.
fn scenario(row: &str) -> Scenario {
    let cols: Vec<&str> = row.split('|').map(str::trim).collect();
    Scenario {
        actor: cols[0].into(),
        purpose: Some(parse(cols[1])),
        holder: cols[2].into(),
        category: parse(cols[3]),
        tier: parse(cols[4]),
        age: Some(cols[5].parse().unwrap()),
        competence: None,
        consent: cols[6].into(),
        relationship: cols[7].into(),
        flags: cols[8]
            .split(',')
            .filter(|f| *f != "-")
            .map(String::from)
            .collect(),
    }
}

fn check(name: &str, s: Scenario) {
    let engine = PolicyEngine::new().unwrap();
    let (records, request) = s.build(&sample_agreements());
    let state = GovernanceState::from_records(records);
    let decision = decide(&engine, &state, &request, s.at());
    insta::assert_json_snapshot!(format!("{name}-decision"), decision);
    insta::assert_snapshot!(format!("{name}-text"), decision.explain());
    insta::assert_json_snapshot!(format!("{name}-ledger"), decision.ledger_entry(41));
}

#[test]
fn social_worker_s47_despite_withdrawn_consent_refuge_child() {
    check(
        "s47-withdrawn-refuge",
        scenario(
            "sw | safeguarding_s47 | B86001 | health | summary | 9 | parent_withdrawn | allocated | refuge",
        ),
    );
}

#[test]
fn early_help_without_consent_prompts_for_it() {
    check(
        "early-help-no-consent",
        scenario("eh | early_help | B86001 | health | summary | 8 | - | team | -"),
    );
}

#[test]
fn out_of_hours_break_glass() {
    check(
        "break-glass",
        scenario("ed | direct_care | B86001 | health | summary | 3 | - | - | bg,restrict_camhs"),
    );
}

#[test]
fn evaluation_sets_aside_the_opt_out_under_section_251() {
    check(
        "evaluation-opt-out-exemption",
        scenario("analyst | evaluation | B86001 | health | involvement | 12 | - | - | optout"),
    );
}

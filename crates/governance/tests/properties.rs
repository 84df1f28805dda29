//! Properties that hold for every request, over random worlds built from the same pieces as
//! the decision table: any actor, purpose (or none), holder, category, tier, age, competence,
//! consent, relationship and flags, against all, some or none of the sample agreements.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Scenario, sample_agreements};
use governance::{
    ConsentState, DataCategory, GovernanceState, Outcome, PolicyEngine, Purpose, Tier, decide,
};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

const ACTORS: &[&str] = &[
    "gp",
    "receptionist",
    "ed",
    "sw",
    "eh",
    "analyst",
    "police",
    "dsl",
    "housing",
];
const HOLDERS: &[&str] = &["B86001", "RR8", "LA383", "WYP", "107123", "HSG1", "ZZZ"];
const CONSENTS: &[&str] = &[
    "-",
    "parent",
    "parent_no_pr",
    "child",
    "parent_withdrawn",
    "child_withdrawn",
    "withdrawn_future",
    "parent_refused",
    "child_refused",
    "expired",
    "other_purpose",
    "other_recipient",
];
const RELATIONSHIPS: &[&str] = &[
    "-",
    "allocated",
    "allocated_other",
    "team",
    "team_other",
    "gp_reg",
    "school",
    "referral",
    "episode",
    "ended",
    "ends_today",
    "future",
    "other_org",
];
const FLAGS: &[&str] = &[
    "optout",
    "refuge",
    "adoption",
    "restrict_camhs",
    "restrict_sh",
    "sg",
    "sg8",
    "sg_empty",
    "loc_override",
    "bg",
    "bg_expired",
];
const CATEGORIES: [DataCategory; 5] = [
    DataCategory::Health,
    DataCategory::Education,
    DataCategory::SocialCare,
    DataCategory::Police,
    DataCategory::Housing,
];

fn scenario(consents: &'static [&'static str]) -> impl Strategy<Value = Scenario> {
    (
        select(ACTORS),
        proptest::option::weighted(0.9, select(Purpose::ALL.to_vec())),
        select(HOLDERS),
        select(CATEGORIES.to_vec()),
        select(Tier::ALL.to_vec()),
        proptest::option::weighted(0.9, 0u32..18),
        proptest::option::of(any::<bool>()),
        select(consents),
        select(RELATIONSHIPS),
        subsequence(FLAGS, 0..4),
    )
        .prop_map(
            |(actor, purpose, holder, category, tier, age, competence, consent, rel, flags)| {
                Scenario {
                    actor: actor.into(),
                    purpose,
                    holder: holder.into(),
                    category,
                    tier,
                    age,
                    competence,
                    consent: consent.into(),
                    relationship: rel.into(),
                    flags: flags.into_iter().map(String::from).collect(),
                }
            },
        )
}

/// Which sample agreements are loaded: a bit mask over the five files.
fn agreement_mask() -> impl Strategy<Value = u8> {
    prop_oneof![Just(0b11111u8), Just(0u8), 0u8..32]
}

fn world(s: &Scenario, mask: u8) -> (GovernanceState, governance::SharingRequest) {
    let agreements: Vec<_> = AGREEMENTS
        .with(Clone::clone)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, a)| a)
        .collect();
    let (records, request) = s.build(&agreements);
    (GovernanceState::from_records(records), request)
}

thread_local! {
    static ENGINE: PolicyEngine = PolicyEngine::new().unwrap();
    static AGREEMENTS: Vec<governance::Agreement> = sample_agreements();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    // INVARIANT: default deny. A permit names a declared purpose and an agreement that is
    // loaded, in force, signed by both organisations and covers the purpose and category.
    #[test]
    fn no_permit_without_an_agreement_and_a_purpose(s in scenario(CONSENTS), mask in agreement_mask()) {
        let (state, request) = world(&s, mask);
        let decision = ENGINE.with(|e| decide(e, &state, &request, s.at()));
        if decision.is_permit() {
            let purpose = decision.purpose;
            prop_assert!(purpose.is_some());
            let (id, version) = decision.agreement().unwrap();
            let agreement = state
                .records()
                .agreements
                .iter()
                .find(|a| a.id == id && a.version == version);
            prop_assert!(agreement.is_some(), "{id}@{version} is not loaded");
            let a = agreement.unwrap();
            let today = s.at().to_zoned(jiff::tz::TimeZone::UTC).date();
            prop_assert!(a.is_in_force(today));
            prop_assert!(a.has_party(&request.actor.org) && a.has_party(&request.holder));
            prop_assert!(a.data_categories.contains(&request.category));
            prop_assert!(a.purposes.contains_key(&purpose.unwrap()));
        }
    }

    // INVARIANT: withdrawn (or refused) consent never permits unless a safeguarding basis
    // — the agreement's Sch 1 para 18 / Sch 8 para 4, or a practitioner's override — is
    // recorded in the decision.
    #[test]
    fn withdrawn_consent_never_permits_without_a_safeguarding_basis(
        s in scenario(&["parent_withdrawn", "child_withdrawn", "parent_refused", "child_refused"]),
        mask in agreement_mask(),
    ) {
        let (state, request) = world(&s, mask);
        let decision = ENGINE.with(|e| decide(e, &state, &request, s.at()));
        let blocked = matches!(
            decision.consent(),
            Some(ConsentState::Withdrawn { .. } | ConsentState::Refused { .. })
        );
        if decision.is_permit() && blocked {
            prop_assert!(decision.safeguarding_basis_recorded(), "{}", decision.explain());
        }
        // And the consent was seen whenever an agreement matched: a withdrawal is never missed.
        if decision.agreement().is_some() && s.purpose.is_some() {
            prop_assert!(decision.consent().is_some(), "{}", decision.explain());
        }
    }

    // INVARIANT: every decision yields exactly one ledger entry, carrying its outcome and
    // every reason; the entries of a run make a log with one leaf per decision.
    #[test]
    fn every_decision_yields_exactly_one_ledger_entry(
        batch in proptest::collection::vec((scenario(CONSENTS), agreement_mask()), 1..8),
    ) {
        let mut log = ledger::Log::new();
        let mut hashes = Vec::new();
        for (seq, (s, mask)) in batch.iter().enumerate() {
            let (state, request) = world(s, *mask);
            let decision = ENGINE.with(|e| decide(e, &state, &request, s.at()));
            let entry = decision.ledger_entry(seq as u64);
            prop_assert_eq!(entry.seq, seq as u64);
            prop_assert_eq!(entry.subject.as_deref(), Some(request.child.as_str()));
            prop_assert_eq!(entry.actor_user.as_str(), request.actor.user.as_str());
            prop_assert_eq!(
                entry.decision,
                Some(match decision.outcome {
                    Outcome::Permit => ledger::Decision::Permit,
                    Outcome::Deny => ledger::Decision::Deny,
                })
            );
            prop_assert_eq!(entry.reasons.len(), decision.reasons.len());
            prop_assert!(!entry.reasons.is_empty(), "a decision without a reason");
            let override_kind = entry.kind == ledger::EventKind::Override;
            prop_assert_eq!(override_kind, decision.overridden);
            prop_assert!(!decision.overridden || decision.is_permit());
            log.append(entry.leaf_hash());
            hashes.push(entry.leaf_hash());
        }
        prop_assert_eq!(log.size(), batch.len() as u64);
        hashes.sort();
        hashes.dedup();
        prop_assert_eq!(hashes.len(), batch.len(), "two decisions share a ledger leaf");
    }

    // No consent prompt where consent is not the basis, and none on a permit.
    #[test]
    fn consent_prompt_only_where_consent_is_the_basis(s in scenario(CONSENTS), mask in agreement_mask()) {
        let (state, request) = world(&s, mask);
        let decision = ENGINE.with(|e| decide(e, &state, &request, s.at()));
        if decision.consent_prompt {
            prop_assert!(!decision.is_permit());
            let (id, version) = decision.agreement().unwrap();
            let a = state.records().agreements.iter().find(|a| a.id == id && a.version == version).unwrap();
            prop_assert!(a.purposes[&request.purpose.unwrap()].consent_is_basis());
        }
    }

    // A permit never discloses a sensitive child's location without an override, nor a
    // restricted compartment, nor a field outside the agreement's profile.
    #[test]
    fn disclosure_is_minimised(s in scenario(CONSENTS), mask in agreement_mask()) {
        let (state, request) = world(&s, mask);
        let decision = ENGINE.with(|e| decide(e, &state, &request, s.at()));
        let child = state.child(&request.child).unwrap();
        for field in &decision.disclosed {
            prop_assert!(request.tier.fields().contains(field));
            if child.sensitivity.is_some() && field.is_location() {
                prop_assert!(request.location_override.is_some(), "{field} leaked");
            }
            if let Some(c) = field.compartment() {
                prop_assert!(!child.restricted.contains(&c), "{field} leaked");
            }
        }
    }
}

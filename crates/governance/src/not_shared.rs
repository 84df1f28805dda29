//! Decisions *not* to share, taken by a person rather than the rules: recorded with the
//! reason, the decision-maker and the time, written to the ledger and reportable. The duty to
//! share can be as important as the duty to protect confidentiality, so refusals are audited
//! as carefully as disclosures.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::decision::Actor;
use crate::vocab::Purpose;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotSharedReason {
    /// Sharing would put the child or another person at risk.
    RiskToChild,
    /// Sharing would prejudice a criminal or s.47 investigation.
    RiskToInvestigation,
    /// No lawful basis could be identified.
    NoLawfulBasis,
    /// The request asked for more than the purpose needs.
    NotNecessary,
    /// The family or competent child refused, and no safeguarding basis applies.
    ConsentRefused,
    Other,
}

impl NotSharedReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RiskToChild => "risk_to_child",
            Self::RiskToInvestigation => "risk_to_investigation",
            Self::NoLawfulBasis => "no_lawful_basis",
            Self::NotNecessary => "not_necessary",
            Self::ConsentRefused => "consent_refused",
            Self::Other => "other",
        }
    }
}

/// One recorded decision not to share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotShared {
    pub decided_at: Timestamp,
    /// Who decided (a practitioner, Caldicott guardian or IG lead).
    pub decision_maker: Actor,
    /// The organisation that asked.
    pub requested_by: String,
    pub child: String,
    pub purpose: Option<Purpose>,
    pub reason: NotSharedReason,
    /// The decision-maker's explanation, in their words.
    pub explanation: String,
}

impl NotShared {
    /// The refusal as one ledger entry (a `decision`, outcome `deny`).
    pub fn ledger_entry(&self, seq: u64) -> ledger::Entry {
        ledger::Entry {
            seq,
            time: self.decided_at.to_string(),
            kind: ledger::EventKind::Decision,
            actor_user: self.decision_maker.user.clone(),
            actor_org: self.decision_maker.org.clone(),
            role: self.decision_maker.role.clone(),
            purpose: self.purpose.map(|p| p.as_str().to_string()),
            subject: Some(self.child.clone()),
            decision: Some(ledger::Decision::Deny),
            reasons: vec![format!("not shared: {}", self.reason.as_str())],
            details: json!({
                "not_shared": true,
                "requested_by": self.requested_by,
                "explanation": self.explanation,
            }),
        }
    }
}

/// Counts of decisions not to share in a period, for IG leads and inspectors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotSharedReport {
    pub total: usize,
    pub by_reason: BTreeMap<NotSharedReason, usize>,
    /// By the organisation that asked.
    pub by_requester: BTreeMap<String, usize>,
    /// By the decision-maker's organisation.
    pub by_decider: BTreeMap<String, usize>,
}

/// Summarise the refusals made in `[from, to)`.
pub fn report(records: &[NotShared], from: Timestamp, to: Timestamp) -> NotSharedReport {
    let mut out = NotSharedReport::default();
    for r in records
        .iter()
        .filter(|r| from <= r.decided_at && r.decided_at < to)
    {
        out.total += 1;
        *out.by_reason.entry(r.reason).or_default() += 1;
        *out.by_requester.entry(r.requested_by.clone()).or_default() += 1;
        *out.by_decider
            .entry(r.decision_maker.org.clone())
            .or_default() += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(reason: NotSharedReason, at: i64) -> NotShared {
        NotShared {
            decided_at: Timestamp::constant(at, 0),
            decision_maker: Actor {
                user: "cg-1".into(),
                org: "RR8".into(),
                role: "caldicott_guardian".into(),
                team: None,
            },
            requested_by: "HOUSING-LDS".into(),
            child: "K7Q2M9X4".into(),
            purpose: Some(Purpose::EarlyHelp),
            reason,
            explanation: "housing asked for the full record; summary suffices".into(),
        }
    }

    #[test]
    fn refusal_is_a_deny_entry_with_its_reason() {
        let e = record(NotSharedReason::NotNecessary, 1_790_000_000).ledger_entry(4);
        assert_eq!(e.seq, 4);
        assert_eq!(e.decision, Some(ledger::Decision::Deny));
        assert_eq!(e.reasons, ["not shared: not_necessary"]);
        assert_eq!(e.actor_user, "cg-1");
        assert_eq!(e.details["requested_by"], "HOUSING-LDS");
    }

    #[test]
    fn report_counts_only_the_period() {
        let records = [
            record(NotSharedReason::NotNecessary, 100),
            record(NotSharedReason::RiskToChild, 200),
            record(NotSharedReason::RiskToChild, 300),
        ];
        let r = report(
            &records,
            Timestamp::constant(150, 0),
            Timestamp::constant(300, 0),
        );
        assert_eq!(r.total, 1);
        assert_eq!(r.by_reason.get(&NotSharedReason::RiskToChild), Some(&1));
        assert_eq!(r.by_requester.get("HOUSING-LDS"), Some(&1));
    }
}

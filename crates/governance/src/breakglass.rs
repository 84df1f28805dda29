//! Break-glass as a workflow: a practitioner with no legitimate relationship states a reason
//! code and a reason in their own words and gets a small, time-boxed grant for one child; the
//! organisation's privacy officer is alerted (with no personal data in the alert) and must
//! review the use as justified, unjustified or escalated. Pure functions over records.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::decision::Actor;
use crate::vocab::{Purpose, Tier};

/// Why the glass was broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// The child is in front of an unscheduled-care clinician and at risk now.
    EmergencyCare,
    /// A safeguarding concern cannot wait for the allocated worker.
    ImmediateSafeguarding,
    /// Out of hours, with no one reachable who holds the relationship.
    OutOfHoursCover,
}

impl ReasonCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EmergencyCare => "emergency_care",
            Self::ImmediateSafeguarding => "immediate_safeguarding",
            Self::OutOfHoursCover => "out_of_hours_cover",
        }
    }
}

/// How long a grant lasts and how far it reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakGlassConfig {
    pub duration: SignedDuration,
    /// The highest tier a grant reaches; minimal scope, so never the full record by default.
    pub max_tier: Tier,
}

impl Default for BreakGlassConfig {
    fn default() -> Self {
        Self {
            duration: SignedDuration::from_hours(4),
            max_tier: Tier::Summary,
        }
    }
}

/// What a practitioner asks for when breaking the glass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlassRequest {
    pub actor: Actor,
    pub child: String,
    pub purpose: Purpose,
    pub reason_code: Option<ReasonCode>,
    pub reason_text: String,
}

/// A time-boxed grant to one user for one child and one purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlassGrant {
    pub id: String,
    pub actor: Actor,
    pub child: String,
    pub purpose: Purpose,
    pub reason_code: ReasonCode,
    pub reason_text: String,
    pub max_tier: Tier,
    pub granted_at: Timestamp,
    pub expires_at: Timestamp,
}

impl BreakGlassGrant {
    /// Whether the grant lets `actor` see `child` for `purpose` at `now`.
    pub fn covers(&self, actor: &Actor, child: &str, purpose: Purpose, now: Timestamp) -> bool {
        self.actor.user == actor.user
            && self.actor.org == actor.org
            && self.child == child
            && self.purpose == purpose
            && self.granted_at <= now
            && now < self.expires_at
    }
}

/// The alert to the organisation's privacy officer. It carries no personal data — no child,
/// no name, no free text — only what lets the officer open the grant inside Kith.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacyAlert {
    pub grant_id: String,
    /// The organisation whose privacy officer must review.
    pub org: String,
    pub reason_code: ReasonCode,
    pub raised_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BreakGlassError {
    #[error(
        "break-glass needs a reason code (`emergency_care`, `immediate_safeguarding`, `out_of_hours_cover`)"
    )]
    MissingReasonCode,
    #[error(
        "break-glass needs the reason in the practitioner's own words (at least {min} characters)"
    )]
    ReasonTooShort { min: usize },
    #[error("break-glass is for individual care; purpose `{0}` is a secondary use")]
    SecondaryUse(Purpose),
    #[error("break-glass grant `{grant}` has already been reviewed")]
    AlreadyReviewed { grant: String },
    #[error("review of `{grant}` needs notes from the reviewer")]
    ReviewNotes { grant: String },
}

const MIN_REASON_CHARS: usize = 10;

/// Open a grant and the alert that goes with it.
pub fn open(
    request: &BreakGlassRequest,
    grant_id: String,
    now: Timestamp,
    config: BreakGlassConfig,
) -> Result<(BreakGlassGrant, PrivacyAlert), BreakGlassError> {
    let reason_code = request
        .reason_code
        .ok_or(BreakGlassError::MissingReasonCode)?;
    if request.reason_text.trim().chars().count() < MIN_REASON_CHARS {
        return Err(BreakGlassError::ReasonTooShort {
            min: MIN_REASON_CHARS,
        });
    }
    if request.purpose.is_secondary_use() {
        return Err(BreakGlassError::SecondaryUse(request.purpose));
    }
    let grant = BreakGlassGrant {
        id: grant_id,
        actor: request.actor.clone(),
        child: request.child.clone(),
        purpose: request.purpose,
        reason_code,
        reason_text: request.reason_text.trim().to_string(),
        max_tier: config.max_tier,
        granted_at: now,
        expires_at: now.saturating_add(config.duration).unwrap_or(now),
    };
    let alert = PrivacyAlert {
        grant_id: grant.id.clone(),
        org: grant.actor.org.clone(),
        reason_code,
        raised_at: now,
    };
    Ok((grant, alert))
}

/// A privacy officer's finding on one grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewOutcome {
    Justified,
    Unjustified,
    /// Referred on (Caldicott guardian, HR, the data protection officer).
    Escalate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub grant_id: String,
    pub reviewer: String,
    pub outcome: ReviewOutcome,
    pub notes: String,
    pub reviewed_at: Timestamp,
}

/// Record a review; each grant is reviewed once.
pub fn review(
    existing: &[Review],
    grant_id: &str,
    reviewer: &str,
    outcome: ReviewOutcome,
    notes: &str,
    now: Timestamp,
) -> Result<Review, BreakGlassError> {
    if existing.iter().any(|r| r.grant_id == grant_id) {
        return Err(BreakGlassError::AlreadyReviewed {
            grant: grant_id.to_string(),
        });
    }
    if notes.trim().is_empty() {
        return Err(BreakGlassError::ReviewNotes {
            grant: grant_id.to_string(),
        });
    }
    Ok(Review {
        grant_id: grant_id.to_string(),
        reviewer: reviewer.to_string(),
        outcome,
        notes: notes.trim().to_string(),
        reviewed_at: now,
    })
}

/// A grant still waiting for review, oldest first in [`unreviewed`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unreviewed {
    pub grant_id: String,
    pub org: String,
    pub reason_code: ReasonCode,
    pub granted_at: Timestamp,
    /// Whole hours since the grant was opened.
    pub waiting_hours: i64,
}

/// Every grant with no review, oldest first: the privacy officers' work queue.
pub fn unreviewed(
    grants: &[BreakGlassGrant],
    reviews: &[Review],
    now: Timestamp,
) -> Vec<Unreviewed> {
    let mut out: Vec<Unreviewed> = grants
        .iter()
        .filter(|g| !reviews.iter().any(|r| r.grant_id == g.id))
        .map(|g| Unreviewed {
            grant_id: g.id.clone(),
            org: g.actor.org.clone(),
            reason_code: g.reason_code,
            granted_at: g.granted_at,
            waiting_hours: now.duration_since(g.granted_at).as_hours(),
        })
        .collect();
    out.sort_by(|a, b| {
        a.granted_at
            .cmp(&b.granted_at)
            .then(a.grant_id.cmp(&b.grant_id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> BreakGlassRequest {
        BreakGlassRequest {
            actor: Actor {
                user: "dr-ooh-7".into(),
                org: "NHS111-WY".into(),
                role: "urgent_care_clinician".into(),
                team: None,
            },
            child: "K7Q2M9X4".into(),
            purpose: Purpose::DirectCare,
            reason_code: Some(ReasonCode::EmergencyCare),
            reason_text: "Unconscious at walk-in centre, no GP reachable".into(),
        }
    }

    fn now() -> Timestamp {
        Timestamp::constant(1_790_000_000, 0)
    }

    #[test]
    fn grant_lasts_four_hours_by_default_and_stops_at_summary() -> Result<(), BreakGlassError> {
        let (grant, _) = open(
            &request(),
            "BG-1".into(),
            now(),
            BreakGlassConfig::default(),
        )?;
        assert_eq!(
            grant.expires_at.duration_since(grant.granted_at).as_hours(),
            4
        );
        assert_eq!(grant.max_tier, Tier::Summary);
        let actor = request().actor;
        assert!(grant.covers(&actor, "K7Q2M9X4", Purpose::DirectCare, now()));
        let later = now()
            .saturating_add(SignedDuration::from_hours(4))
            .unwrap_or(now());
        assert!(!grant.covers(&actor, "K7Q2M9X4", Purpose::DirectCare, later));
        assert!(!grant.covers(&actor, "OTHER", Purpose::DirectCare, now()));
        Ok(())
    }

    #[test]
    fn alert_carries_no_personal_data() -> Result<(), Box<dyn std::error::Error>> {
        let (_, alert) = open(
            &request(),
            "BG-1".into(),
            now(),
            BreakGlassConfig::default(),
        )?;
        let text = serde_json::to_string(&alert)?;
        for secret in ["K7Q2M9X4", "dr-ooh-7", "Unconscious", "urgent_care"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        Ok(())
    }

    #[test]
    fn reason_code_and_text_are_required() {
        let mut r = request();
        r.reason_code = None;
        assert_eq!(
            open(&r, "x".into(), now(), BreakGlassConfig::default()),
            Err(BreakGlassError::MissingReasonCode)
        );
        let mut r = request();
        r.reason_text = "  urgent ".into();
        assert!(matches!(
            open(&r, "x".into(), now(), BreakGlassConfig::default()),
            Err(BreakGlassError::ReasonTooShort { .. })
        ));
    }

    #[test]
    fn unreviewed_lists_only_open_grants_oldest_first() -> Result<(), BreakGlassError> {
        let cfg = BreakGlassConfig::default();
        let (g1, _) = open(&request(), "BG-1".into(), now(), cfg)?;
        let later = now()
            .saturating_add(SignedDuration::from_hours(1))
            .unwrap_or(now());
        let (g2, _) = open(&request(), "BG-2".into(), later, cfg)?;
        let (g3, _) = open(&request(), "BG-3".into(), later, cfg)?;
        let r = review(
            &[],
            "BG-2",
            "po-1",
            ReviewOutcome::Justified,
            "seen ED notes",
            later,
        )?;
        let report_time = now()
            .saturating_add(SignedDuration::from_hours(30))
            .unwrap_or(now());
        let open_ones = unreviewed(&[g3, g2, g1], std::slice::from_ref(&r), report_time);
        let ids: Vec<_> = open_ones.iter().map(|u| u.grant_id.as_str()).collect();
        assert_eq!(ids, ["BG-1", "BG-3"]);
        assert_eq!(open_ones[0].waiting_hours, 30);
        assert!(matches!(
            review(
                &[r],
                "BG-2",
                "po-2",
                ReviewOutcome::Unjustified,
                "again",
                later
            ),
            Err(BreakGlassError::AlreadyReviewed { .. })
        ));
        Ok(())
    }
}

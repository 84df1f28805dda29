//! A small world for tests: the sample agreements in `config/agreements`, a cast of
//! practitioners, and builders for one child's consents, relationships and flags.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use governance::breakglass::{BreakGlassGrant, ReasonCode};
use governance::consent::{CompetenceAssessment, Consenter, Provision, ProvisionKind};
use governance::state::{ChildFacts, OptOut, Relationship, RelationshipKind};
use governance::{
    Actor, Agreement, Compartment, Consent, DataCategory, Dpa2018Condition, LocationOverride,
    Purpose, SafeguardingOverride, Sensitivity, SharingRequest, StateRecords, Tier,
};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

pub const CHILD: &str = "K7Q2M9X4";
pub const NOW: &str = "2026-06-15T10:00:00Z";

pub fn now() -> Timestamp {
    NOW.parse().unwrap()
}

pub fn agreements_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/agreements")
}

pub fn sample_agreements() -> Vec<Agreement> {
    governance::loader::load_agreements(&agreements_dir())
        .unwrap()
        .into_iter()
        .map(|l| l.agreement)
        .collect()
}

pub fn actor(key: &str) -> Actor {
    let (user, org, role, team) = match key {
        "gp" => ("dr-patel", "B86001", "gp", None),
        "receptionist" => ("rec-lee", "B86001", "receptionist", None),
        "ed" => ("dr-okafor", "RR8", "ed_clinician", None),
        "sw" => ("sw-jones", "LA383", "social_worker", Some("CP-EAST")),
        "eh" => ("eh-smith", "LA383", "early_help_worker", Some("EH-SOUTH")),
        "analyst" => ("an-khan", "LA383", "analyst", None),
        "police" => ("pc-hughes", "WYP", "police_officer", None),
        "dsl" => ("dsl-wood", "107123", "dsl", None),
        "housing" => ("ho-reid", "HSG1", "housing_officer", None),
        other => panic!("unknown actor `{other}`"),
    };
    Actor {
        user: user.into(),
        org: org.into(),
        role: role.into(),
        team: team.map(Into::into),
    }
}

pub fn date(s: &str) -> Date {
    s.parse().unwrap()
}

/// A date of birth that makes the child `age` on `today` (birthday 100 days ago).
pub fn born(age: u32, today: Date) -> Date {
    let birthday = today.checked_sub(jiff::Span::new().days(100)).unwrap();
    birthday
        .checked_sub(jiff::Span::new().years(i64::from(age)))
        .unwrap()
}

pub fn relationship(key: &str, actor: &Actor) -> Option<Relationship> {
    let mut r = Relationship {
        id: format!("REL-{key}"),
        child: CHILD.into(),
        kind: RelationshipKind::Referral,
        org: actor.org.clone(),
        user: None,
        team: None,
        start: date("2026-01-05"),
        end: None,
    };
    match key {
        "-" => return None,
        "allocated" => {
            r.kind = RelationshipKind::AllocatedWorker;
            r.user = Some(actor.user.clone());
        }
        "allocated_other" => {
            r.kind = RelationshipKind::AllocatedWorker;
            r.user = Some("someone-else".into());
        }
        "team" => {
            r.kind = RelationshipKind::Team;
            r.team = actor.team.clone().or(Some("NO-TEAM".into()));
        }
        "team_other" => {
            r.kind = RelationshipKind::Team;
            r.team = Some("OTHER-TEAM".into());
        }
        "gp_reg" => r.kind = RelationshipKind::GpRegistration,
        "school" => r.kind = RelationshipKind::SchoolEnrolment,
        "referral" => r.kind = RelationshipKind::Referral,
        "episode" => r.kind = RelationshipKind::CurrentEpisode,
        "ended" => {
            r.kind = RelationshipKind::AllocatedWorker;
            r.user = Some(actor.user.clone());
            r.end = Some(date("2026-06-14"));
        }
        "ends_today" => {
            r.kind = RelationshipKind::AllocatedWorker;
            r.user = Some(actor.user.clone());
            r.end = Some(date("2026-06-15"));
        }
        "future" => {
            r.kind = RelationshipKind::CurrentEpisode;
            r.start = date("2026-07-01");
        }
        "other_org" => {
            r.kind = RelationshipKind::GpRegistration;
            r.org = "Y99999".into();
        }
        other => panic!("unknown relationship `{other}`"),
    }
    Some(r)
}

pub fn consent(
    key: &str,
    purpose: Option<Purpose>,
    category: DataCategory,
    recipient: &str,
) -> Option<Consent> {
    let parent = Consenter::Parent {
        name: "Sam Doe".into(),
        parental_responsibility: true,
    };
    let mut c = Consent {
        id: "CONS-1".into(),
        version: 2,
        child: CHILD.into(),
        given_by: parent,
        date: date("2026-01-10"),
        withdrawn: None,
        expires: None,
        provisions: vec![Provision {
            kind: ProvisionKind::Permit,
            purposes: purpose.into_iter().collect(),
            categories: vec![category],
            recipients: vec![recipient.into()],
        }],
    };
    match key {
        "-" => return None,
        "parent" => {}
        "parent_no_pr" => {
            c.given_by = Consenter::Parent {
                name: "Alex Doe".into(),
                parental_responsibility: false,
            }
        }
        "child" => c.given_by = Consenter::Child,
        "parent_withdrawn" => c.withdrawn = Some(date("2026-05-01")),
        "child_withdrawn" => {
            c.given_by = Consenter::Child;
            c.withdrawn = Some(date("2026-05-01"));
        }
        "withdrawn_future" => c.withdrawn = Some(date("2026-07-01")),
        "parent_refused" => c.provisions[0].kind = ProvisionKind::Deny,
        "child_refused" => {
            c.given_by = Consenter::Child;
            c.provisions[0].kind = ProvisionKind::Deny;
        }
        "expired" => c.expires = Some(date("2026-03-01")),
        "other_purpose" => {
            c.provisions[0].purposes = vec![if purpose == Some(Purpose::ResearchPlanning) {
                Purpose::Evaluation
            } else {
                Purpose::ResearchPlanning
            }]
        }
        "other_recipient" => c.provisions[0].recipients = vec!["ZZZ".into()],
        other => panic!("unknown consent `{other}`"),
    }
    Some(c)
}

/// One scenario's world and request.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub actor: String,
    pub purpose: Option<Purpose>,
    pub holder: String,
    pub category: DataCategory,
    pub tier: Tier,
    pub age: Option<u32>,
    pub competence: Option<bool>,
    pub consent: String,
    pub relationship: String,
    pub flags: Vec<String>,
}

impl Scenario {
    pub fn at(&self) -> Timestamp {
        self.flags
            .iter()
            .find_map(|f| f.strip_prefix("at="))
            .map(|d| format!("{d}T10:00:00Z").parse().unwrap())
            .unwrap_or_else(now)
    }

    fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    pub fn build(&self, agreements: &[Agreement]) -> (StateRecords, SharingRequest) {
        let actor = actor(&self.actor);
        let now = self.at();
        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let mut records = StateRecords {
            agreements: agreements.to_vec(),
            ..StateRecords::default()
        };
        let sensitivity = if self.has("refuge") {
            Some(Sensitivity::RefugeAddress)
        } else if self.has("adoption") {
            Some(Sensitivity::Adoption)
        } else if self.has("protected") {
            Some(Sensitivity::ProtectedIdentity)
        } else {
            None
        };
        let mut restricted = Vec::new();
        if self.has("restrict_sh") {
            restricted.push(Compartment::SexualHealth);
        }
        if self.has("restrict_camhs") {
            restricted.push(Compartment::Camhs);
        }
        records.children.push(ChildFacts {
            cci: CHILD.into(),
            date_of_birth: self.age.map(|a| born(a, today)),
            sensitivity,
            restricted,
        });
        if let Some(competent) = self.competence {
            records.competence.push(CompetenceAssessment {
                child: CHILD.into(),
                assessed_on: date("2026-03-02"),
                assessor: "sw-jones".into(),
                competent,
            });
        }
        records.consents.extend(consent(
            &self.consent,
            self.purpose,
            self.category,
            &actor.org,
        ));
        records
            .relationships
            .extend(relationship(&self.relationship, &actor));
        if self.has("optout") {
            records.opt_outs.push(OptOut {
                child: CHILD.into(),
                registered: date("2025-11-01"),
            });
        }
        for (flag, start_hours_ago, child) in [
            ("bg", 2, CHILD),
            ("bg_expired", 5, CHILD),
            ("bg_other_child", 1, "OTHER-CHILD"),
        ] {
            if self.has(flag) {
                let granted_at = now
                    .checked_sub(SignedDuration::from_hours(start_hours_ago))
                    .unwrap();
                records.break_glass.push(BreakGlassGrant {
                    id: format!("BG-{flag}"),
                    actor: actor.clone(),
                    child: child.into(),
                    purpose: self.purpose.unwrap_or(Purpose::DirectCare),
                    reason_code: ReasonCode::EmergencyCare,
                    reason_text: "collapsed in the emergency department".into(),
                    max_tier: Tier::Summary,
                    granted_at,
                    expires_at: granted_at
                        .checked_add(SignedDuration::from_hours(4))
                        .unwrap(),
                });
            }
        }
        let safeguarding = if self.has("sg") {
            Some(Dpa2018Condition::Sch1Para18)
        } else if self.has("sg8") {
            Some(Dpa2018Condition::Sch8Para4)
        } else if self.has("sg_empty") {
            Some(Dpa2018Condition::Sch1Para18)
        } else {
            None
        };
        let request = SharingRequest {
            actor,
            purpose: self.purpose,
            child: CHILD.into(),
            holder: self.holder.clone(),
            category: self.category,
            tier: self.tier,
            safeguarding: safeguarding.map(|basis| SafeguardingOverride {
                basis,
                reason: if self.has("sg_empty") {
                    "  ".into()
                } else {
                    "disclosed at school today that a parent hits them; asking would alert the parent".into()
                },
            }),
            location_override: self.has("loc_override").then(|| LocationOverride {
                reason: "court-ordered contact arranged by the adoption team".into(),
            }),
        };
        (records, request)
    }
}

pub fn parse<T: serde::de::DeserializeOwned>(word: &str) -> T {
    serde_json::from_value(serde_json::Value::String(word.to_string()))
        .unwrap_or_else(|e| panic!("`{word}`: {e}"))
}

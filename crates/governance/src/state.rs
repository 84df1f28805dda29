//! Everything a decision looks up — agreements, children's facts, consents, relationships,
//! opt-outs, competence assessments and break-glass grants — held in memory and indexed by
//! child (CCI) and by organisation so a decision touches only the few records that concern it.

use std::collections::{HashMap, HashSet};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::agreement::Agreement;
use crate::breakglass::BreakGlassGrant;
use crate::consent::{CompetenceAssessment, Consent};
use crate::decision::Actor;
use crate::vocab::{Compartment, Purpose, Sensitivity};

/// Facts about a child that rules need: age, sensitivity, restricted compartments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildFacts {
    /// Consistent child identifier.
    pub cci: String,
    #[serde(default)]
    pub date_of_birth: Option<Date>,
    #[serde(default)]
    pub sensitivity: Option<Sensitivity>,
    #[serde(default)]
    pub restricted: Vec<Compartment>,
}

impl ChildFacts {
    /// Age in whole years on `today`.
    pub fn age_on(&self, today: Date) -> Option<u32> {
        let dob = self.date_of_birth?;
        let mut years = i32::from(today.year()) - i32::from(dob.year());
        if (today.month(), today.day()) < (dob.month(), dob.day()) {
            years -= 1;
        }
        u32::try_from(years).ok()
    }
}

/// What makes a practitioner's access to a child legitimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationshipKind {
    AllocatedWorker,
    Team,
    GpRegistration,
    SchoolEnrolment,
    Referral,
    CurrentEpisode,
}

impl RelationshipKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllocatedWorker => "allocated_worker",
            Self::Team => "team",
            Self::GpRegistration => "gp_registration",
            Self::SchoolEnrolment => "school_enrolment",
            Self::Referral => "referral",
            Self::CurrentEpisode => "current_episode",
        }
    }
}

/// A legitimate relationship between an organisation (and optionally one user or team) and a
/// child, from `start` to `end` inclusive. It lapses by itself: nothing needs to remove it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relationship {
    pub id: String,
    pub child: String,
    pub kind: RelationshipKind,
    pub org: String,
    /// Only this user, when set (an allocated worker).
    #[serde(default)]
    pub user: Option<String>,
    /// Only this team, when set.
    #[serde(default)]
    pub team: Option<String>,
    pub start: Date,
    #[serde(default)]
    pub end: Option<Date>,
}

impl Relationship {
    pub fn is_current(&self, today: Date) -> bool {
        self.start <= today && self.end.is_none_or(|end| today <= end)
    }

    pub fn holds_for(&self, actor: &Actor) -> bool {
        self.org == actor.org
            && self.user.as_ref().is_none_or(|u| *u == actor.user)
            && self
                .team
                .as_ref()
                .is_none_or(|t| actor.team.as_ref() == Some(t))
    }
}

/// A child on the National Data Opt-out register (via the person who registered it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptOut {
    pub child: String,
    pub registered: Date,
}

/// The serialisable form of [`GovernanceState`]: plain lists, as files hold them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StateRecords {
    pub agreements: Vec<Agreement>,
    pub children: Vec<ChildFacts>,
    pub consents: Vec<Consent>,
    pub relationships: Vec<Relationship>,
    pub opt_outs: Vec<OptOut>,
    pub competence: Vec<CompetenceAssessment>,
    pub break_glass: Vec<BreakGlassGrant>,
}

/// The indexed, in-memory state a decision reads.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "StateRecords", into = "StateRecords")]
pub struct GovernanceState {
    records: StateRecords,
    /// (party org, purpose) → agreement positions.
    agreements_by_org_purpose: HashMap<(String, Purpose), Vec<usize>>,
    children: HashMap<String, usize>,
    consents_by_child: HashMap<String, Vec<usize>>,
    relationships_by_child: HashMap<String, Vec<usize>>,
    opted_out: HashSet<String>,
    /// child → position of the latest assessment.
    competence_by_child: HashMap<String, usize>,
    break_glass_by_child: HashMap<String, Vec<usize>>,
}

impl From<StateRecords> for GovernanceState {
    fn from(records: StateRecords) -> Self {
        Self::from_records(records)
    }
}

impl From<GovernanceState> for StateRecords {
    fn from(state: GovernanceState) -> Self {
        state.records
    }
}

fn push<K: Eq + std::hash::Hash>(map: &mut HashMap<K, Vec<usize>>, key: K, i: usize) {
    map.entry(key).or_default().push(i);
}

impl GovernanceState {
    pub fn from_records(records: StateRecords) -> Self {
        let mut state = Self {
            records,
            ..Self::default()
        };
        state.reindex();
        state
    }

    fn reindex(&mut self) {
        let r = &self.records;
        let mut by_org = HashMap::new();
        for (i, a) in r.agreements.iter().enumerate() {
            for party in &a.parties {
                for purpose in a.purposes.keys() {
                    push(&mut by_org, (party.code.clone(), *purpose), i);
                }
            }
        }
        let mut consents = HashMap::new();
        for (i, c) in r.consents.iter().enumerate() {
            push(&mut consents, c.child.clone(), i);
        }
        let mut relationships = HashMap::new();
        for (i, rel) in r.relationships.iter().enumerate() {
            push(&mut relationships, rel.child.clone(), i);
        }
        let mut competence: HashMap<String, usize> = HashMap::new();
        for (i, a) in r.competence.iter().enumerate() {
            let slot = competence.entry(a.child.clone()).or_insert(i);
            if r.competence[*slot].assessed_on <= a.assessed_on {
                *slot = i;
            }
        }
        let mut break_glass = HashMap::new();
        for (i, g) in r.break_glass.iter().enumerate() {
            push(&mut break_glass, g.child.clone(), i);
        }
        self.agreements_by_org_purpose = by_org;
        self.children = r
            .children
            .iter()
            .enumerate()
            .map(|(i, c)| (c.cci.clone(), i))
            .collect();
        self.consents_by_child = consents;
        self.relationships_by_child = relationships;
        self.opted_out = r.opt_outs.iter().map(|o| o.child.clone()).collect();
        self.competence_by_child = competence;
        self.break_glass_by_child = break_glass;
    }

    pub fn records(&self) -> &StateRecords {
        &self.records
    }

    /// Add a break-glass grant (opened with [`crate::breakglass::open`]).
    pub fn add_break_glass(&mut self, grant: BreakGlassGrant) {
        push(
            &mut self.break_glass_by_child,
            grant.child.clone(),
            self.records.break_glass.len(),
        );
        self.records.break_glass.push(grant);
    }

    /// Agreements to which `org` is a party and which name `purpose`.
    pub fn agreements_for(&self, org: &str, purpose: Purpose) -> impl Iterator<Item = &Agreement> {
        // A borrowed (String, Purpose) key cannot be built from &str, so look up by value.
        self.agreements_by_org_purpose
            .get(&(org.to_string(), purpose))
            .into_iter()
            .flatten()
            .filter_map(|&i| self.records.agreements.get(i))
    }

    pub fn child(&self, cci: &str) -> Option<&ChildFacts> {
        self.children
            .get(cci)
            .and_then(|&i| self.records.children.get(i))
    }

    pub fn consents_for(&self, cci: &str) -> impl Iterator<Item = &Consent> {
        self.consents_by_child
            .get(cci)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.records.consents.get(i))
    }

    pub fn relationships_for(&self, cci: &str) -> impl Iterator<Item = &Relationship> {
        self.relationships_by_child
            .get(cci)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.records.relationships.get(i))
    }

    pub fn is_opted_out(&self, cci: &str) -> bool {
        self.opted_out.contains(cci)
    }

    /// The latest competence assessment recorded for the child.
    pub fn competence_for(&self, cci: &str) -> Option<&CompetenceAssessment> {
        self.competence_by_child
            .get(cci)
            .and_then(|&i| self.records.competence.get(i))
    }

    pub fn break_glass_for(&self, cci: &str) -> impl Iterator<Item = &BreakGlassGrant> {
        self.break_glass_by_child
            .get(cci)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.records.break_glass.get(i))
    }
}

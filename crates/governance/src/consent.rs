//! Consent as one lawful basis among several, shaped like a FHIR `Consent`: who gave it,
//! permit and deny provisions by purpose, category and recipient, a version and a withdrawal.
//! Also who may give it: a parent with parental responsibility or the child, by age and by any
//! recorded competence (Gillick) assessment.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::vocab::{DataCategory, Purpose};

/// A consent (or refusal) recorded for a child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub id: String,
    pub version: u32,
    /// The child's consistent child identifier.
    pub child: String,
    pub given_by: Consenter,
    /// The day it was given (or refused).
    pub date: Date,
    /// The day it was withdrawn, if it was.
    #[serde(default)]
    pub withdrawn: Option<Date>,
    /// The last day it applies, if it is time-limited.
    #[serde(default)]
    pub expires: Option<Date>,
    pub provisions: Vec<Provision>,
}

/// Who gave a consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Consenter {
    /// The child themself.
    Child,
    /// A parent or carer; only one with parental responsibility can consent for a child.
    Parent {
        name: String,
        parental_responsibility: bool,
    },
}

/// One permit or deny rule. An empty list matches anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provision {
    #[serde(rename = "type")]
    pub kind: ProvisionKind,
    #[serde(default)]
    pub purposes: Vec<Purpose>,
    #[serde(default)]
    pub categories: Vec<DataCategory>,
    /// Organisation codes that may receive the data.
    #[serde(default)]
    pub recipients: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvisionKind {
    Permit,
    Deny,
}

impl Provision {
    fn covers(&self, purpose: Purpose, category: DataCategory, recipient: &str) -> bool {
        (self.purposes.is_empty() || self.purposes.contains(&purpose))
            && (self.categories.is_empty() || self.categories.contains(&category))
            && (self.recipients.is_empty() || self.recipients.iter().any(|r| r == recipient))
    }
}

/// A recorded assessment of whether a child can make this decision for themself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompetenceAssessment {
    pub child: String,
    pub assessed_on: Date,
    pub assessor: String,
    pub competent: bool,
}

/// Who can consent for a child today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentAuthority {
    /// The child decides (16 or over and not assessed as lacking competence, or assessed
    /// competent).
    Child,
    /// A parent with parental responsibility decides.
    Parent,
}

/// Who may consent, and why: 16–17 presumed competent, 12–15 only when assessed competent,
/// under 12 a parent; a recorded assessment overrides the default at any age.
/// An unknown age falls back to a parent unless an assessment says otherwise.
pub fn consent_authority(
    age: Option<u32>,
    assessment: Option<&CompetenceAssessment>,
) -> (ConsentAuthority, &'static str) {
    match (assessment, age) {
        (Some(a), _) if a.competent => (ConsentAuthority::Child, "assessed competent (Gillick)"),
        (Some(_), _) => (
            ConsentAuthority::Parent,
            "assessed as not competent to decide",
        ),
        (None, Some(age)) if age >= 16 => {
            (ConsentAuthority::Child, "16 or over: presumed competent")
        }
        (None, Some(age)) if age >= 12 => (
            ConsentAuthority::Parent,
            "12 to 15 with no competence assessment recorded",
        ),
        (None, Some(_)) => (ConsentAuthority::Parent, "under 12"),
        (None, None) => (
            ConsentAuthority::Parent,
            "age unknown and no competence assessment recorded",
        ),
    }
}

/// Where consent stands for one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConsentState {
    /// No consent or refusal on record covers this request.
    None,
    /// A valid consent permits it.
    Granted { id: String, version: u32 },
    /// A deny provision covers it: the family (or competent child) refused.
    Refused { id: String, version: u32 },
    /// The consent that covered it was withdrawn.
    Withdrawn { id: String, version: u32 },
    /// A consent exists but was given by someone who could not give it.
    Invalid {
        id: String,
        version: u32,
        why: String,
    },
}

impl ConsentState {
    /// The word Cedar sees.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Granted { .. } => "granted",
            Self::Refused { .. } => "refused",
            Self::Withdrawn { .. } => "withdrawn",
            Self::Invalid { .. } => "invalid",
        }
    }

    pub fn reference(&self) -> Option<String> {
        match self {
            Self::None => None,
            Self::Granted { id, version }
            | Self::Refused { id, version }
            | Self::Withdrawn { id, version }
            | Self::Invalid { id, version, .. } => Some(format!("{id}@{version}")),
        }
    }
}

/// The most recent consent among `consents` that covers (purpose, category, recipient), and
/// what it says. Withdrawals count whoever made them: a withdrawal is never ignored.
pub fn evaluate<'a>(
    consents: impl IntoIterator<Item = &'a Consent>,
    purpose: Purpose,
    category: DataCategory,
    recipient: &str,
    today: Date,
    authority: ConsentAuthority,
) -> ConsentState {
    // INVARIANT: the latest applicable consent decides; ties go to the higher version.
    let latest = consents
        .into_iter()
        .filter(|c| c.date <= today)
        .filter(|c| c.expires.is_none_or(|e| today <= e))
        .filter(|c| {
            c.provisions
                .iter()
                .any(|p| p.covers(purpose, category, recipient))
        })
        .max_by_key(|c| {
            (
                c.withdrawn.filter(|w| *w <= today).unwrap_or(c.date),
                c.version,
            )
        });
    let Some(c) = latest else {
        return ConsentState::None;
    };
    let (id, version) = (c.id.clone(), c.version);
    if c.withdrawn.is_some_and(|w| w <= today) {
        return ConsentState::Withdrawn { id, version };
    }
    let valid_giver = match (&c.given_by, authority) {
        (Consenter::Child, ConsentAuthority::Child) => Ok(()),
        (Consenter::Child, ConsentAuthority::Parent) => {
            Err("given by the child, who is not (yet) able to decide alone".to_string())
        }
        (Consenter::Parent { .. }, ConsentAuthority::Child) => {
            Err("given by a parent, but the child decides for themself".to_string())
        }
        (
            Consenter::Parent {
                parental_responsibility,
                ..
            },
            ConsentAuthority::Parent,
        ) => {
            if *parental_responsibility {
                Ok(())
            } else {
                Err("given by a parent without parental responsibility".to_string())
            }
        }
    };
    if let Err(why) = valid_giver {
        return ConsentState::Invalid { id, version, why };
    }
    let covering = c
        .provisions
        .iter()
        .filter(|p| p.covers(purpose, category, recipient));
    // A deny provision wins over a permit in the same consent.
    let mut permit = false;
    for p in covering {
        match p.kind {
            ProvisionKind::Deny => return ConsentState::Refused { id, version },
            ProvisionKind::Permit => permit = true,
        }
    }
    if permit {
        ConsentState::Granted { id, version }
    } else {
        ConsentState::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assessment(competent: bool) -> CompetenceAssessment {
        CompetenceAssessment {
            child: "c".into(),
            assessed_on: Date::constant(2026, 1, 1),
            assessor: "sw".into(),
            competent,
        }
    }

    #[test]
    fn authority_by_age_and_assessment() {
        use ConsentAuthority::*;
        let cases = [
            (Some(17), None, Child),
            (Some(16), None, Child),
            (Some(15), None, Parent),
            (Some(12), None, Parent),
            (Some(11), None, Parent),
            (None, None, Parent),
            (Some(13), Some(true), Child),
            (Some(9), Some(true), Child),
            (Some(17), Some(false), Parent),
        ];
        for (age, competent, expected) in cases {
            let a = competent.map(assessment);
            assert_eq!(
                consent_authority(age, a.as_ref()).0,
                expected,
                "{age:?} {competent:?}"
            );
        }
    }
}

//! The shared words of a sharing decision: purposes, data categories, disclosure tiers, fields
//! and restricted compartments, each a closed set so a typo in a file is an error, not a rule
//! that silently never matches.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a practitioner asks for information. Every request must carry one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Care or treatment of this child by the requester's service.
    DirectCare,
    /// A Children Act 1989 section 47 enquiry (child at risk of significant harm).
    SafeguardingS47,
    /// A Children Act 1989 section 17 assessment of a child in need.
    ChildInNeedS17,
    /// Early help: voluntary, consent-based family support.
    EarlyHelp,
    /// Identifying families for the Supporting Families programme (a secondary use).
    SupportingFamiliesIdentification,
    /// Evaluation of services (a secondary use).
    Evaluation,
    /// Research and planning (a secondary use).
    ResearchPlanning,
}

impl Purpose {
    pub const ALL: [Purpose; 7] = [
        Self::DirectCare,
        Self::SafeguardingS47,
        Self::ChildInNeedS17,
        Self::EarlyHelp,
        Self::SupportingFamiliesIdentification,
        Self::Evaluation,
        Self::ResearchPlanning,
    ];

    /// The name used in files, in Cedar and in the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DirectCare => "direct_care",
            Self::SafeguardingS47 => "safeguarding_s47",
            Self::ChildInNeedS17 => "child_in_need_s17",
            Self::EarlyHelp => "early_help",
            Self::SupportingFamiliesIdentification => "supporting_families_identification",
            Self::Evaluation => "evaluation",
            Self::ResearchPlanning => "research_planning",
        }
    }

    /// Secondary uses are not about caring for this child; the National Data Opt-out applies
    /// to them and no individual relationship is expected.
    pub fn is_secondary_use(self) -> bool {
        matches!(
            self,
            Self::SupportingFamiliesIdentification | Self::Evaluation | Self::ResearchPlanning
        )
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of information a record holds, named for the agency that produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataCategory {
    Health,
    Education,
    SocialCare,
    Police,
    Housing,
}

impl DataCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Health => "health",
            Self::Education => "education",
            Self::SocialCare => "social_care",
            Self::Police => "police",
            Self::Housing => "housing",
        }
    }

    /// Health data is special-category data (UK GDPR Art 9): sharing it needs an Art 9
    /// condition as well as an Art 6 basis.
    pub fn is_special_category(self) -> bool {
        matches!(self, Self::Health)
    }
}

impl fmt::Display for DataCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much is disclosed, from least to most. Each tier is its own decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Only that the service holds something about the child.
    Existence,
    /// Who the lead practitioner is and when the family was last seen.
    Involvement,
    /// Identity, location, flags and open episodes.
    Summary,
    /// The whole record.
    Full,
}

impl Tier {
    pub const ALL: [Tier; 4] = [
        Self::Existence,
        Self::Involvement,
        Self::Summary,
        Self::Full,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Existence => "existence",
            Self::Involvement => "involvement",
            Self::Summary => "summary",
            Self::Full => "full",
        }
    }

    /// The tier's rank as Cedar compares it (`existence` is 0, `full` is 3).
    pub fn rank(self) -> i64 {
        match self {
            Self::Existence => 0,
            Self::Involvement => 1,
            Self::Summary => 2,
            Self::Full => 3,
        }
    }

    /// Every field a response at this tier may carry, before minimisation.
    pub fn fields(self) -> &'static [Field] {
        use Field::*;
        const ALL: &[Field] = &[
            Exists,
            LeadPractitioner,
            LeadAgency,
            LastContact,
            Name,
            DateOfBirth,
            Address,
            Postcode,
            School,
            GpPractice,
            SafeguardingFlags,
            OpenEpisodes,
            Chronology,
            CaseNotes,
            Diagnoses,
            Medications,
            PoliceIncidents,
            SexualHealth,
            Camhs,
        ];
        match self {
            Self::Existence => &ALL[..1],
            Self::Involvement => &ALL[..4],
            Self::Summary => &ALL[..12],
            Self::Full => ALL,
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One item of a disclosure. Agreements name, per purpose, the minimum set of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Exists,
    LeadPractitioner,
    LeadAgency,
    LastContact,
    Name,
    DateOfBirth,
    Address,
    Postcode,
    School,
    GpPractice,
    SafeguardingFlags,
    OpenEpisodes,
    Chronology,
    CaseNotes,
    Diagnoses,
    Medications,
    PoliceIncidents,
    SexualHealth,
    Camhs,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exists => "exists",
            Self::LeadPractitioner => "lead_practitioner",
            Self::LeadAgency => "lead_agency",
            Self::LastContact => "last_contact",
            Self::Name => "name",
            Self::DateOfBirth => "date_of_birth",
            Self::Address => "address",
            Self::Postcode => "postcode",
            Self::School => "school",
            Self::GpPractice => "gp_practice",
            Self::SafeguardingFlags => "safeguarding_flags",
            Self::OpenEpisodes => "open_episodes",
            Self::Chronology => "chronology",
            Self::CaseNotes => "case_notes",
            Self::Diagnoses => "diagnoses",
            Self::Medications => "medications",
            Self::PoliceIncidents => "police_incidents",
            Self::SexualHealth => "sexual_health",
            Self::Camhs => "camhs",
        }
    }

    /// Fields that say where a child lives or spends the day. For a child at a refuge, placed
    /// for adoption or under a protected identity these reveal them to whoever hunts them.
    pub fn is_location(self) -> bool {
        matches!(
            self,
            Self::Address | Self::Postcode | Self::School | Self::GpPractice
        )
    }

    /// The restricted compartment a field belongs to, if any.
    pub fn compartment(self) -> Option<Compartment> {
        match self {
            Self::SexualHealth => Some(Compartment::SexualHealth),
            Self::Camhs => Some(Compartment::Camhs),
            _ => None,
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parts of a child's record held back from the hub: only that they exist may be shown
/// ("restricted"), and the holding service is asked directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compartment {
    /// Sexual health care of a competent young person.
    SexualHealth,
    /// Child and adolescent mental health services.
    Camhs,
}

impl Compartment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SexualHealth => "sexual_health",
            Self::Camhs => "camhs",
        }
    }
}

/// Why a child's whereabouts must not be disclosed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    RefugeAddress,
    Adoption,
    ProtectedIdentity,
}

impl Sensitivity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RefugeAddress => "refuge_address",
            Self::Adoption => "adoption",
            Self::ProtectedIdentity => "protected_identity",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_nest_and_each_adds_fields() {
        for pair in Tier::ALL.windows(2) {
            let (lower, higher) = (pair[0].fields(), pair[1].fields());
            assert!(higher.len() > lower.len(), "{} adds nothing", pair[1]);
            assert!(lower.iter().all(|f| higher.contains(f)));
        }
    }

    #[test]
    fn names_match_serde() {
        for p in Purpose::ALL {
            assert_eq!(serde_json::to_value(p).ok(), Some(p.as_str().into()));
        }
        for f in Tier::Full.fields() {
            assert_eq!(serde_json::to_value(f).ok(), Some(f.as_str().into()));
        }
    }
}

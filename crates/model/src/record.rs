//! What agencies contribute: person records, dated entries and relationships.
//!
//! These are the validated forms. A record is keyed by its source organisation and the
//! agency's own local id, never by anything Kith invents, so re-ingesting the same extract
//! finds the same rows.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::date::PartialDate;
use crate::ident::IdentifierKind;

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text used in extracts, the store and the API.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(raw: &str) -> Result<Self, String> {
                let wanted = raw.trim().to_ascii_lowercase().replace(['_', ' '], "-");
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == wanted)
                    .ok_or_else(|| {
                        let allowed: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                        format!("`{}` is not one of: {}", raw.trim(), allowed.join(", "))
                    })
            }
        }
    };
}

text_enum! {
    /// The kind of organisation an agency is.
    AgencyType {
        Health => "health",
        SocialCare => "social-care",
        Education => "education",
        Police => "police",
        Housing => "housing",
        Other => "other",
    }
}

text_enum! {
    /// Administrative sex as agencies record it (FHIR administrative gender).
    Sex {
        Male => "male",
        Female => "female",
        Other => "other",
        Unknown => "unknown",
    }
}

impl Sex {
    /// Reads the codes agencies use: `M`/`F`/`U`, `1`/`2`/`9`/`0`, and the words.
    pub fn parse_lenient(raw: &str) -> Result<Sex, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "m" | "1" | "male" | "boy" => Ok(Sex::Male),
            "f" | "2" | "female" | "girl" => Ok(Sex::Female),
            "o" | "other" | "x" => Ok(Sex::Other),
            "u" | "0" | "9" | "unknown" | "not known" | "not stated" | "" => Ok(Sex::Unknown),
            _ => Err(format!(
                "`{}` is not a recognised sex code (use M, F, U or male, female, other, unknown)",
                raw.trim()
            )),
        }
    }
}

text_enum! {
    /// How sensitive an entry is; governance decides who may see each level.
    Sensitivity {
        Normal => "normal",
        Sensitive => "sensitive",
        Restricted => "restricted",
    }
}

text_enum! {
    /// How one person is related to another.
    RelationshipKind {
        Parent => "parent",
        ParentalResponsibility => "parental-responsibility",
        Carer => "carer",
        Sibling => "sibling",
        HouseholdMember => "household-member",
    }
}

/// An organisation that contributes records, identified by an ODS-style code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    pub code: String,
    pub name: String,
    pub agency_type: AgencyType,
}

impl Organisation {
    /// Guesses the agency type from the conventional prefixes of Kith's extract names
    /// (`GP…`, `HOSP…`, `SCH…`, `CSC…`, `POL…`, `HOU…`); anything else is `other`.
    pub fn infer_type(code: &str) -> AgencyType {
        let upper = code.to_ascii_uppercase();
        let starts = |prefixes: &[&str]| prefixes.iter().any(|p| upper.starts_with(p));
        if starts(&["GP", "HOSP", "NHS", "CAMHS", "HEALTH"]) {
            AgencyType::Health
        } else if starts(&["SCH", "EDU", "URN"]) {
            AgencyType::Education
        } else if starts(&["CSC", "LA", "SOC"]) {
            AgencyType::SocialCare
        } else if starts(&["POL"]) {
            AgencyType::Police
        } else if starts(&["HOU"]) {
            AgencyType::Housing
        } else {
            AgencyType::Other
        }
    }
}

/// A validated identifier with the status the agency gave it.
///
/// For NHS numbers the status follows the national trace status codes: only `01` (verified
/// against the national demographic service) is a confirmed number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Identifier {
    pub kind: IdentifierKind,
    pub value: String,
    pub status: Option<String>,
}

impl Identifier {
    /// Whether the identifier is confirmed strongly enough to block a conflicting match.
    pub fn is_verified(&self) -> bool {
        match self.kind {
            IdentifierKind::NhsNumber => self.status.as_deref() == Some("01"),
            _ => self.status.as_deref() != Some("former"),
        }
    }
}

/// One agency's record of one person, as validated at ingest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonRecord {
    pub source: String,
    pub local_id: String,
    pub given_name: Option<String>,
    pub middle_names: Option<String>,
    pub family_name: Option<String>,
    pub previous_names: Vec<String>,
    pub date_of_birth: Option<PartialDate>,
    pub sex: Sex,
    pub address: Option<String>,
    pub town: Option<String>,
    /// Canonical when it is a valid UK postcode; otherwise kept as given.
    pub postcode: Option<String>,
    pub uprn: Option<String>,
    pub identifiers: Vec<Identifier>,
}

/// A dated event an agency contributes about a person: an attendance, a plan, an exclusion, an
/// incident, a housing event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub source: String,
    pub entry_id: String,
    /// The local id of the person record the entry is about.
    pub record_id: String,
    pub entry_type: String,
    pub occurred_on: PartialDate,
    pub ended_on: Option<PartialDate>,
    pub category: String,
    pub sensitivity: Sensitivity,
    pub summary: Option<String>,
}

/// A relationship an agency records between two of its person records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relationship {
    pub source: String,
    pub record_id: String,
    pub related_record_id: String,
    /// What `related_record_id` is to `record_id`, e.g. `parent`.
    pub kind: RelationshipKind,
    pub start_date: Option<PartialDate>,
    pub end_date: Option<PartialDate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_read_their_text_forms() {
        assert_eq!(
            "social_care".parse::<AgencyType>(),
            Ok(AgencyType::SocialCare)
        );
        assert_eq!(
            "Parental Responsibility".parse::<RelationshipKind>(),
            Ok(RelationshipKind::ParentalResponsibility)
        );
        assert_eq!(
            "aunt".parse::<RelationshipKind>().unwrap_err(),
            "`aunt` is not one of: parent, parental-responsibility, carer, sibling, household-member"
        );
        assert_eq!(Sex::parse_lenient("F"), Ok(Sex::Female));
        assert!(Sex::parse_lenient("Q").is_err());
    }

    #[test]
    fn only_status_01_verifies_an_nhs_number() {
        let mut id = Identifier {
            kind: IdentifierKind::NhsNumber,
            value: "9434765919".into(),
            status: Some("02".into()),
        };
        assert!(!id.is_verified());
        id.status = Some("01".into());
        assert!(id.is_verified());
    }
}

//! Flag: a safeguarding flag (as in NHS CP-IS) that follows a child into urgent and unscheduled care.

use serde::{Deserialize, Serialize};

use crate::datatypes::{
    CodeableConcept, Coding, ContactPoint, Extension, Identifier, Meta, Period, Reference, Value,
};
use crate::systems;

/// A FHIR R4 `Flag`, claiming the UK Core Flag profile when built by Kith.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "resourceType", rename_all = "camelCase")]
pub struct Flag {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// Kith puts the owning local authority's contacts here
    /// ([`systems::KITH_SAFEGUARDING_CONTACT_EXTENSION`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<Extension>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    /// `active | inactive | entered-in-error`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category: Vec<CodeableConcept>,
    pub code: CodeableConcept,
    pub subject: Reference,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<Reference>,
}

/// The kinds of safeguarding flag Kith carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SafeguardingKind {
    ChildProtectionPlan,
    LookedAfterChild,
    /// An unborn child subject to a pre-birth child protection plan.
    UnbornChildProtectionPlan,
}

impl SafeguardingKind {
    /// The code in [`systems::KITH_SAFEGUARDING_FLAG`].
    pub fn code(self) -> &'static str {
        match self {
            SafeguardingKind::ChildProtectionPlan => "child-protection-plan",
            SafeguardingKind::LookedAfterChild => "looked-after-child",
            SafeguardingKind::UnbornChildProtectionPlan => "unborn-child-protection-plan",
        }
    }

    /// The words a clinician sees.
    pub fn display(self) -> &'static str {
        match self {
            SafeguardingKind::ChildProtectionPlan => "Child protection plan",
            SafeguardingKind::LookedAfterChild => "Looked-after child",
            SafeguardingKind::UnbornChildProtectionPlan => {
                "Unborn child subject to a pre-birth protection plan"
            }
        }
    }
}

/// `active | inactive | entered-in-error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlagStatus {
    Active,
    Inactive,
    EnteredInError,
}

impl FlagStatus {
    /// The FHIR code.
    pub fn code(self) -> &'static str {
        match self {
            FlagStatus::Active => "active",
            FlagStatus::Inactive => "inactive",
            FlagStatus::EnteredInError => "entered-in-error",
        }
    }
}

/// When a contact of the owning local authority answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContactHours {
    /// The allocated social-care team during office hours.
    OfficeHours,
    /// The emergency duty team out of hours.
    OutOfHours,
}

impl ContactHours {
    /// `office-hours` or `out-of-hours`.
    pub fn code(self) -> &'static str {
        match self {
            ContactHours::OfficeHours => "office-hours",
            ContactHours::OutOfHours => "out-of-hours",
        }
    }
}

/// One way to reach the local authority that owns a flag.
#[derive(Debug, Clone, PartialEq)]
pub struct SafeguardingContact {
    pub hours: ContactHours,
    /// Team or person, such as `Emergency Duty Team`.
    pub name: String,
    pub telecom: Vec<ContactPoint>,
}

/// The plain facts of a safeguarding flag from which [`Flag::safeguarding`] builds a Flag.
#[derive(Debug, Clone, PartialEq)]
pub struct SafeguardingFlag {
    pub id: String,
    pub patient_cci: String,
    pub kind: SafeguardingKind,
    pub status: FlagStatus,
    /// FHIR `dateTime` strings.
    pub start: String,
    pub end: Option<String>,
    /// The owning local authority.
    pub local_authority: Reference,
    pub contacts: Vec<SafeguardingContact>,
}

impl Flag {
    /// A UK Core Flag in category `safety` whose author is the owning local authority, with
    /// one contact extension per contact (office hours first, as given).
    pub fn safeguarding(flag: &SafeguardingFlag) -> Flag {
        let extension = flag
            .contacts
            .iter()
            .map(|contact| {
                let mut parts = vec![
                    Extension::with_value("hours", Value::Code(contact.hours.code().to_string())),
                    Extension::with_value("name", Value::String(contact.name.clone())),
                ];
                parts.extend(contact.telecom.iter().map(|telecom| {
                    Extension::with_value("telecom", Value::ContactPoint(telecom.clone()))
                }));
                Extension::complex(systems::KITH_SAFEGUARDING_CONTACT_EXTENSION, parts)
            })
            .collect();
        Flag {
            id: Some(flag.id.clone()),
            meta: Some(Meta::profile(systems::UK_CORE_FLAG)),
            extension,
            identifier: Vec::new(),
            status: flag.status.code().to_string(),
            category: vec![CodeableConcept {
                coding: vec![Coding::new(systems::FLAG_CATEGORY, "safety", "Safety")],
                text: Some("Safeguarding".to_string()),
            }],
            code: CodeableConcept::coded(
                systems::KITH_SAFEGUARDING_FLAG,
                flag.kind.code(),
                flag.kind.display(),
            ),
            subject: Reference::patient(&flag.patient_cci),
            period: Some(Period::new(Some(&flag.start), flag.end.as_deref())),
            author: Some(flag.local_authority.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_protection_flag_names_its_owner_and_both_contacts() {
        let flag = Flag::safeguarding(&SafeguardingFlag {
            id: "flag-1".into(),
            patient_cci: "K000000019".into(),
            kind: SafeguardingKind::ChildProtectionPlan,
            status: FlagStatus::Active,
            start: "2026-03-01".into(),
            end: None,
            local_authority: Reference::organisation("E10000032", "West Sussex County Council"),
            contacts: vec![
                SafeguardingContact {
                    hours: ContactHours::OfficeHours,
                    name: "Children's Services Front Door".into(),
                    telecom: vec![ContactPoint::work_phone("01403 229900")],
                },
                SafeguardingContact {
                    hours: ContactHours::OutOfHours,
                    name: "Emergency Duty Team".into(),
                    telecom: vec![ContactPoint::work_phone("0330 222 6664")],
                },
            ],
        });
        assert_eq!(flag.status, "active");
        assert_eq!(flag.code.text.as_deref(), Some("Child protection plan"));
        assert_eq!(flag.subject, Reference::patient("K000000019"));
        assert_eq!(
            flag.author.as_ref().and_then(|a| a.display.as_deref()),
            Some("West Sussex County Council")
        );
        let json = serde_json::to_value(&flag).unwrap();
        assert_eq!(
            json["extension"][1]["extension"][0]["valueCode"],
            "out-of-hours"
        );
        assert_eq!(
            json["extension"][1]["extension"][2]["valueContactPoint"]["value"],
            "0330 222 6664"
        );
        assert_eq!(json["period"], serde_json::json!({"start": "2026-03-01"}));
        let back: Flag = serde_json::from_value(json).unwrap();
        assert_eq!(back, flag);
    }

    #[test]
    fn flag_kinds_have_distinct_codes() {
        let kinds = [
            SafeguardingKind::ChildProtectionPlan,
            SafeguardingKind::LookedAfterChild,
            SafeguardingKind::UnbornChildProtectionPlan,
        ];
        let mut codes: Vec<_> = kinds.iter().map(|k| k.code()).collect();
        codes.dedup();
        assert_eq!(codes.len(), 3);
        assert_eq!(FlagStatus::EnteredInError.code(), "entered-in-error");
    }
}

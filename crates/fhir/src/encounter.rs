//! The Encounter resource: one attendance of a child at a service, such as an emergency department.

use serde::{Deserialize, Serialize};

use crate::datatypes::{CodeableConcept, Coding, Identifier, Meta, Period, Reference};
use crate::systems;

/// A FHIR R4 `Encounter`, claiming the UK Core Encounter profile when built by Kith.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "resourceType", rename_all = "camelCase")]
pub struct Encounter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<Identifier>,
    /// `planned | arrived | triaged | in-progress | onleave | finished | cancelled |
    /// entered-in-error | unknown`.
    pub status: String,
    /// The setting, from HL7 v3 ActCode (`EMER`, `AMB`, `IMP`, …).
    #[serde(rename = "class")]
    pub class: Coding,
    #[serde(rename = "type", default, skip_serializing_if = "Vec::is_empty")]
    pub encounter_type: Vec<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_provider: Option<Reference>,
}

/// The setting of an encounter, as an HL7 v3 ActCode encounter class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncounterClass {
    /// `EMER`: emergency department, urgent treatment centre, walk-in centre.
    Emergency,
    /// `AMB`: ambulatory, including out-of-hours GP.
    Ambulatory,
    /// `IMP`: inpatient.
    Inpatient,
    /// `HH`: home health, including ambulance attendance at home.
    Home,
    /// `VR`: virtual.
    Virtual,
}

impl EncounterClass {
    /// The class as a coding.
    pub fn coding(self) -> Coding {
        let (code, display) = match self {
            EncounterClass::Emergency => ("EMER", "emergency"),
            EncounterClass::Ambulatory => ("AMB", "ambulatory"),
            EncounterClass::Inpatient => ("IMP", "inpatient encounter"),
            EncounterClass::Home => ("HH", "home health"),
            EncounterClass::Virtual => ("VR", "virtual"),
        };
        Coding::new(systems::V3_ACT_CODE, code, display)
    }
}

/// The plain facts of an attendance from which [`Encounter::attendance`] builds an Encounter.
#[derive(Debug, Clone, PartialEq)]
pub struct Attendance {
    pub id: String,
    pub patient_cci: String,
    pub class: EncounterClass,
    /// What kind of service, in words (`Emergency department attendance`).
    pub service: String,
    /// FHIR `dateTime` of arrival.
    pub start: String,
    pub end: Option<String>,
    /// The organisation that provided the service.
    pub provider: Reference,
}

impl Encounter {
    /// A UK Core Encounter for an attendance: `in-progress` while it has no end, then `finished`.
    pub fn attendance(attendance: &Attendance) -> Encounter {
        let status = if attendance.end.is_some() {
            "finished"
        } else {
            "in-progress"
        };
        Encounter {
            id: Some(attendance.id.clone()),
            meta: Some(Meta::profile(systems::UK_CORE_ENCOUNTER)),
            identifier: Vec::new(),
            status: status.to_string(),
            class: attendance.class.coding(),
            encounter_type: vec![CodeableConcept::text(&attendance.service)],
            subject: Some(Reference::patient(&attendance.patient_cci)),
            period: Some(Period::new(
                Some(&attendance.start),
                attendance.end.as_deref(),
            )),
            service_provider: Some(attendance.provider.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attendance(end: Option<&str>) -> Attendance {
        Attendance {
            id: "enc-1".into(),
            patient_cci: "K000000019".into(),
            class: EncounterClass::Emergency,
            service: "Emergency department attendance".into(),
            start: "2026-11-20T21:14:00Z".into(),
            end: end.map(str::to_string),
            provider: Reference::organisation("RXH", "Royal Sussex County Hospital"),
        }
    }

    #[test]
    fn an_open_attendance_is_in_progress_and_a_closed_one_finished() {
        let open = Encounter::attendance(&attendance(None));
        assert_eq!(open.status, "in-progress");
        assert_eq!(open.class.code.as_deref(), Some("EMER"));
        assert_eq!(open.subject, Some(Reference::patient("K000000019")));
        let closed = Encounter::attendance(&attendance(Some("2026-11-21T01:00:00Z")));
        assert_eq!(closed.status, "finished");
        let json = serde_json::to_value(&closed).unwrap();
        assert_eq!(json["class"]["system"], systems::V3_ACT_CODE);
        assert_eq!(json["serviceProvider"]["identifier"]["value"], "RXH");
    }

    #[test]
    fn an_encounter_without_status_is_refused() {
        let error = serde_json::from_str::<Encounter>(
            r#"{"resourceType":"Encounter","class":{"code":"EMER"}}"#,
        )
        .unwrap_err();
        assert!(
            error.to_string().starts_with("missing field `status`"),
            "{error}"
        );
    }
}

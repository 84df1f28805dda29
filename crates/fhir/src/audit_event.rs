//! AuditEvent: one access to a child's record, as a FHIR resource a family or inspector can read.

use serde::{Deserialize, Serialize};

use crate::datatypes::{CodeableConcept, Coding, Meta, Period, Reference};
use crate::systems;

/// A FHIR R4 `AuditEvent`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "resourceType", rename_all = "camelCase")]
pub struct AuditEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(rename = "type")]
    pub event_type: Coding,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subtype: Vec<Coding>,
    /// `C | R | U | D | E`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    /// FHIR `instant`.
    pub recorded: String,
    /// `0` success, `4` minor failure, `8` serious failure, `12` major failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_desc: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub purpose_of_event: Vec<CodeableConcept>,
    pub agent: Vec<AuditAgent>,
    pub source: AuditSource,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entity: Vec<AuditEntity>,
}

/// Someone or something that took part in the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditAgent {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub agent_type: Option<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub role: Vec<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who: Option<Reference>,
    pub requestor: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub purpose_of_use: Vec<CodeableConcept>,
}

/// The system that recorded the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    pub observer: Reference,
    #[serde(rename = "type", default, skip_serializing_if = "Vec::is_empty")]
    pub source_type: Vec<Coding>,
}

/// What the event was about.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what: Option<Reference>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub entity_type: Option<Coding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Coding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The FHIR RESTful interaction an access was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interaction {
    Read,
    SearchType,
    Operation,
    Create,
    Update,
    Transaction,
}

impl Interaction {
    /// The `restful-interaction` code.
    pub fn code(self) -> &'static str {
        match self {
            Interaction::Read => "read",
            Interaction::SearchType => "search-type",
            Interaction::Operation => "operation",
            Interaction::Create => "create",
            Interaction::Update => "update",
            Interaction::Transaction => "transaction",
        }
    }

    /// The audit action code: reads `R`, searches and operations `E`, creates `C`, updates `U`.
    pub fn action(self) -> &'static str {
        match self {
            Interaction::Read => "R",
            Interaction::SearchType | Interaction::Operation | Interaction::Transaction => "E",
            Interaction::Create => "C",
            Interaction::Update => "U",
        }
    }
}

/// How an access ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditOutcome {
    /// `0`: the access succeeded.
    Success,
    /// `4`: refused, for example by a governance decision.
    MinorFailure,
    /// `8`: the request failed.
    SeriousFailure,
    /// `12`: Kith failed.
    MajorFailure,
}

impl AuditOutcome {
    /// The AuditEvent outcome code.
    pub fn code(self) -> &'static str {
        match self {
            AuditOutcome::Success => "0",
            AuditOutcome::MinorFailure => "4",
            AuditOutcome::SeriousFailure => "8",
            AuditOutcome::MajorFailure => "12",
        }
    }
}

/// The plain facts of one access from which [`AuditEvent::access`] builds an AuditEvent.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    pub id: String,
    /// FHIR `instant` the access was recorded.
    pub recorded: String,
    pub interaction: Interaction,
    /// The practitioner who asked.
    pub user: Reference,
    /// The practitioner's organisation.
    pub organisation: Reference,
    /// The practitioner's role, such as `social-worker`.
    pub role: CodeableConcept,
    /// Why they asked (direct care, safeguarding, …).
    pub purpose: CodeableConcept,
    pub patient_cci: String,
    pub outcome: AuditOutcome,
    /// Why, in words, for a refusal or a failure.
    pub outcome_description: Option<String>,
    /// The Kith server that recorded the access.
    pub observer: Reference,
}

impl AuditEvent {
    /// A `rest` AuditEvent for one access: the practitioner as requesting agent (with role and
    /// purpose of use), their organisation as a second agent, the Patient as entity.
    pub fn access(access: &Access) -> AuditEvent {
        AuditEvent {
            id: Some(access.id.clone()),
            meta: None,
            event_type: Coding::new(systems::AUDIT_EVENT_TYPE, "rest", "RESTful Operation"),
            subtype: vec![Coding {
                system: Some(systems::RESTFUL_INTERACTION.to_string()),
                code: Some(access.interaction.code().to_string()),
                ..Coding::default()
            }],
            action: Some(access.interaction.action().to_string()),
            period: None,
            recorded: access.recorded.clone(),
            outcome: Some(access.outcome.code().to_string()),
            outcome_desc: access.outcome_description.clone(),
            purpose_of_event: vec![access.purpose.clone()],
            agent: vec![
                AuditAgent {
                    agent_type: Some(CodeableConcept::coded(
                        systems::V3_PARTICIPATION_TYPE,
                        "IRCP",
                        "information recipient",
                    )),
                    role: vec![access.role.clone()],
                    who: Some(access.user.clone()),
                    requestor: true,
                    purpose_of_use: vec![access.purpose.clone()],
                },
                AuditAgent {
                    agent_type: Some(CodeableConcept::text("Organisation of the requester")),
                    role: Vec::new(),
                    who: Some(access.organisation.clone()),
                    requestor: false,
                    purpose_of_use: Vec::new(),
                },
            ],
            source: AuditSource {
                site: None,
                observer: access.observer.clone(),
                source_type: vec![Coding::new(
                    systems::SECURITY_SOURCE_TYPE,
                    "4",
                    "Application Server",
                )],
            },
            entity: vec![AuditEntity {
                what: Some(Reference::patient(&access.patient_cci)),
                entity_type: Some(Coding::new(systems::AUDIT_ENTITY_TYPE, "1", "Person")),
                role: Some(Coding::new(
                    "http://terminology.hl7.org/CodeSystem/object-role",
                    "1",
                    "Patient",
                )),
                description: None,
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_search_is_recorded_with_who_why_and_outcome() {
        let event = AuditEvent::access(&Access {
            id: "audit-1".into(),
            recorded: "2026-11-20T21:15:03Z".into(),
            interaction: Interaction::SearchType,
            user: Reference::to("Practitioner/p-17").with_display("Dr A Patel"),
            organisation: Reference::organisation("RXH", "Royal Sussex County Hospital"),
            role: CodeableConcept::coded(systems::KITH_ROLE, "ed-clinician", "ED clinician"),
            purpose: CodeableConcept::coded(
                systems::V3_ACT_REASON,
                "ETREAT",
                "Emergency Treatment",
            ),
            patient_cci: "K000000019".into(),
            outcome: AuditOutcome::MinorFailure,
            outcome_description: Some(
                "no information-sharing agreement covers this request".into(),
            ),
            observer: Reference::to("Device/kith-server").with_display("Kith"),
        });
        assert_eq!(event.action.as_deref(), Some("E"));
        assert_eq!(event.outcome.as_deref(), Some("4"));
        assert!(event.agent[0].requestor);
        assert!(!event.agent[1].requestor);
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["entity"][0]["what"]["reference"], "Patient/K000000019");
        assert_eq!(
            json["agent"][0]["purposeOfUse"][0]["coding"][0]["code"],
            "ETREAT"
        );
        assert_eq!(
            json["outcomeDesc"],
            "no information-sharing agreement covers this request"
        );
        assert_eq!(Interaction::Read.action(), "R");
        assert_eq!(AuditOutcome::MajorFailure.code(), "12");
    }
}

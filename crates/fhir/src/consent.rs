//! Consent: a family's (or a Gillick-competent child's) decision to permit or refuse sharing.

use serde::{Deserialize, Serialize};

use crate::datatypes::{CodeableConcept, Coding, Meta, Period, Reference};
use crate::systems;

/// A FHIR R4 `Consent`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "resourceType", rename_all = "camelCase")]
pub struct Consent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// `draft | proposed | active | rejected | inactive | entered-in-error`.
    pub status: String,
    pub scope: CodeableConcept,
    pub category: Vec<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_time: Option<String>,
    /// Who gave or refused the consent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub performer: Vec<Reference>,
    /// The organisation that recorded it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organization: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_rule: Option<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provision: Option<Provision>,
}

/// What is permitted or denied, to whom, for what purposes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provision {
    /// `deny | permit`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub provision_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actor: Vec<ProvisionActor>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub action: Vec<CodeableConcept>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub purpose: Vec<Coding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provision: Vec<Provision>,
}

/// A party the provision is about, in a role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionActor {
    pub role: CodeableConcept,
    pub reference: Reference,
}

impl ProvisionActor {
    /// An organisation or practitioner that would receive the information (v3 `IRCP`).
    pub fn recipient(reference: Reference) -> ProvisionActor {
        ProvisionActor {
            role: CodeableConcept::coded(
                systems::V3_PARTICIPATION_TYPE,
                "IRCP",
                "information recipient",
            ),
            reference,
        }
    }
}

/// Permit or refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsentDecision {
    Permit,
    Deny,
}

/// The plain facts of a consent decision from which [`Consent::sharing`] builds a Consent.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentRecord {
    pub id: String,
    pub patient_cci: String,
    /// `active` for a decision in force, `inactive` once withdrawn or ended.
    pub status: String,
    pub decision: ConsentDecision,
    /// FHIR `dateTime` the decision was recorded.
    pub date_time: String,
    /// Who decided: a parent (RelatedPerson), or the child themself (Patient).
    pub given_by: Reference,
    pub recorded_by: Reference,
    pub purposes: Vec<Coding>,
    pub recipients: Vec<ProvisionActor>,
    pub period: Option<Period>,
}

impl Consent {
    /// A privacy consent about sharing the child's information: scope `patient-privacy`, policy
    /// rule `OPTIN` for a permit and `OPTOUT` for a refusal.
    pub fn sharing(record: &ConsentRecord) -> Consent {
        let (provision_type, rule_code, rule_display) = match record.decision {
            ConsentDecision::Permit => ("permit", "OPTIN", "opt-in"),
            ConsentDecision::Deny => ("deny", "OPTOUT", "opt-out"),
        };
        Consent {
            id: Some(record.id.clone()),
            meta: None,
            status: record.status.clone(),
            scope: CodeableConcept::coded(
                systems::CONSENT_SCOPE,
                "patient-privacy",
                "Privacy Consent",
            ),
            category: vec![CodeableConcept {
                coding: vec![Coding {
                    system: Some("http://loinc.org".to_string()),
                    code: Some("59284-0".to_string()),
                    ..Coding::default()
                }],
                text: Some("Information sharing consent".to_string()),
            }],
            patient: Some(Reference::patient(&record.patient_cci)),
            date_time: Some(record.date_time.clone()),
            performer: vec![record.given_by.clone()],
            organization: vec![record.recorded_by.clone()],
            policy_rule: Some(CodeableConcept::coded(
                systems::V3_ACT_CODE,
                rule_code,
                rule_display,
            )),
            provision: Some(Provision {
                provision_type: Some(provision_type.to_string()),
                period: record.period.clone(),
                actor: record.recipients.clone(),
                action: Vec::new(),
                purpose: record.purposes.clone(),
                provision: Vec::new(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(decision: ConsentDecision) -> ConsentRecord {
        ConsentRecord {
            id: "consent-1".into(),
            patient_cci: "K000000019".into(),
            status: "active".into(),
            decision,
            date_time: "2026-10-01T10:00:00Z".into(),
            given_by: Reference::to("RelatedPerson/rp-1").with_display("Sarah Hughes (mother)"),
            recorded_by: Reference::organisation("E10000032", "West Sussex County Council"),
            purposes: vec![Coding::new(
                systems::KITH_PURPOSE_OF_USE,
                "early-help",
                "Early help",
            )],
            recipients: vec![ProvisionActor::recipient(Reference::organisation(
                "M85001",
                "Crawley Health Centre",
            ))],
            period: None,
        }
    }

    #[test]
    fn a_permit_is_an_opt_in_and_a_refusal_an_opt_out() {
        let permit = Consent::sharing(&record(ConsentDecision::Permit));
        let provision = permit.provision.as_ref().unwrap();
        assert_eq!(provision.provision_type.as_deref(), Some("permit"));
        assert_eq!(
            provision.actor[0].role.coding[0].code.as_deref(),
            Some("IRCP")
        );
        assert_eq!(
            permit.policy_rule.as_ref().unwrap().coding[0]
                .code
                .as_deref(),
            Some("OPTIN")
        );
        let deny = Consent::sharing(&record(ConsentDecision::Deny));
        assert_eq!(
            deny.provision.as_ref().unwrap().provision_type.as_deref(),
            Some("deny")
        );
        assert_eq!(
            deny.policy_rule.as_ref().unwrap().coding[0].code.as_deref(),
            Some("OPTOUT")
        );
        let json = serde_json::to_value(&deny).unwrap();
        assert_eq!(json["dateTime"], "2026-10-01T10:00:00Z");
        assert_eq!(json["patient"]["reference"], "Patient/K000000019");
    }
}

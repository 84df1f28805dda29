//! CapabilityStatement: what Kith's FHIR interface serves, for `GET /fhir/metadata`.

use serde::{Deserialize, Serialize};

use crate::datatypes::{Meta, Reference};
use crate::systems;

/// A FHIR R4 `CapabilityStatement`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "resourceType", rename_all = "camelCase")]
pub struct CapabilityStatement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `draft | active | retired | unknown`.
    pub status: String,
    /// FHIR `dateTime` the statement last changed.
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// `instance | capability | requirements`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software: Option<Software>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation: Option<Implementation>,
    pub fhir_version: String,
    pub format: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rest: Vec<Rest>,
}

/// The software behind the endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Software {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// This running installation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Implementation {
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custodian: Option<Reference>,
}

/// The RESTful server capabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rest {
    /// `client | server`.
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<RestSecurity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource: Vec<RestResource>,
    /// System-level interactions, such as `transaction`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interaction: Vec<InteractionCode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operation: Vec<OperationRef>,
}

/// How clients authenticate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestSecurity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What the server does with one resource type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestResource {
    #[serde(rename = "type")]
    pub resource_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interaction: Vec<InteractionCode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub search_param: Vec<SearchParam>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operation: Vec<OperationRef>,
}

/// One interaction, by code (`read`, `search-type`, `transaction`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InteractionCode {
    pub code: String,
}

/// A search parameter the server supports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchParam {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    /// `number | date | string | token | reference | …`.
    #[serde(rename = "type")]
    pub param_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation: Option<String>,
}

/// An operation the server supports, by name (without `$`) and definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationRef {
    pub name: String,
    pub definition: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation: Option<String>,
}

fn interactions(codes: &[&str]) -> Vec<InteractionCode> {
    codes
        .iter()
        .map(|code| InteractionCode {
            code: (*code).to_string(),
        })
        .collect()
}

fn search_param(name: &str, param_type: &str, documentation: &str) -> SearchParam {
    SearchParam {
        name: name.to_string(),
        definition: None,
        param_type: param_type.to_string(),
        documentation: Some(documentation.to_string()),
    }
}

fn resource(
    resource_type: &str,
    profile: Option<&str>,
    codes: &[&str],
    search_param: Vec<SearchParam>,
) -> RestResource {
    RestResource {
        resource_type: resource_type.to_string(),
        profile: profile.map(str::to_string),
        documentation: None,
        interaction: interactions(codes),
        search_param,
        operation: Vec::new(),
    }
}

impl CapabilityStatement {
    /// Kith's statement for the server at `base_url` (the `/fhir` root), software `version`,
    /// last changed at `date` (a FHIR `dateTime`; the caller owns the clock).
    ///
    /// Declares: Patient read and search by `identifier`, `$match` and `$ihe-pix`; Consent and
    /// Flag read and search by `patient`; AuditEvent read and search by `entity`; Encounter read;
    /// and `transaction` at system level, through which Patients and Encounters are written.
    pub fn kith(base_url: &str, version: &str, date: &str) -> CapabilityStatement {
        let mut patient = resource(
            "Patient",
            Some(systems::UK_CORE_PATIENT),
            &["read", "search-type"],
            vec![search_param(
                "identifier",
                "token",
                "`system|value`: a CCI, NHS number, UPN or agency-local identifier",
            )],
        );
        patient.operation = vec![
            OperationRef {
                name: "match".to_string(),
                definition: systems::PATIENT_MATCH_OPERATION.to_string(),
                documentation: Some(
                    "Scored candidates graded certain, probable or possible".to_string(),
                ),
            },
            OperationRef {
                name: "ihe-pix".to_string(),
                definition: systems::PIXM_OPERATION.to_string(),
                documentation: Some(
                    "Cross-reference: the identifiers a person holds in other systems".to_string(),
                ),
            },
        ];
        let by_patient = || {
            vec![search_param(
                "patient",
                "reference",
                "`Patient/{cci}`: the child it is about",
            )]
        };
        CapabilityStatement {
            id: Some("kith".to_string()),
            meta: None,
            name: Some("Kith".to_string()),
            title: Some("Kith multi-agency information-sharing hub".to_string()),
            status: "active".to_string(),
            date: date.to_string(),
            publisher: Some("Kith".to_string()),
            kind: "instance".to_string(),
            software: Some(Software {
                name: "Kith".to_string(),
                version: Some(version.to_string()),
            }),
            implementation: Some(Implementation {
                description: "Kith FHIR R4 interface".to_string(),
                url: Some(base_url.to_string()),
                custodian: None,
            }),
            fhir_version: "4.0.1".to_string(),
            format: vec!["json".to_string()],
            rest: vec![Rest {
                mode: "server".to_string(),
                documentation: Some(
                    "Every response is decided by an information-sharing policy and recorded in \
                     the audit ledger"
                        .to_string(),
                ),
                security: Some(RestSecurity {
                    cors: Some(false),
                    description: Some("Bearer token (JWT) in the Authorization header".to_string()),
                }),
                resource: vec![
                    patient,
                    resource("Consent", None, &["read", "search-type"], by_patient()),
                    resource(
                        "Flag",
                        Some(systems::UK_CORE_FLAG),
                        &["read", "search-type"],
                        by_patient(),
                    ),
                    resource(
                        "AuditEvent",
                        None,
                        &["read", "search-type"],
                        vec![search_param(
                            "entity",
                            "reference",
                            "`Patient/{cci}`: accesses to this child's record",
                        )],
                    ),
                    resource(
                        "Encounter",
                        Some(systems::UK_CORE_ENCOUNTER),
                        &["read"],
                        Vec::new(),
                    ),
                ],
                interaction: interactions(&["transaction"]),
                operation: Vec::new(),
            }],
        }
    }

    /// The server's declared capabilities for one resource type.
    pub fn resource(&self, resource_type: &str) -> Option<&RestResource> {
        self.rest
            .iter()
            .flat_map(|rest| rest.resource.iter())
            .find(|r| r.resource_type == resource_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kith_statement_declares_what_the_server_serves() {
        let statement =
            CapabilityStatement::kith("https://kith.example/fhir", "0.1.0", "2026-11-24");
        assert_eq!(statement.fhir_version, "4.0.1");
        let patient = statement.resource("Patient").unwrap();
        let codes: Vec<_> = patient
            .interaction
            .iter()
            .map(|i| i.code.as_str())
            .collect();
        assert_eq!(codes, ["read", "search-type"]);
        assert_eq!(patient.search_param[0].name, "identifier");
        let operations: Vec<_> = patient.operation.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(operations, ["match", "ihe-pix"]);
        assert_eq!(
            statement.resource("AuditEvent").unwrap().search_param[0].name,
            "entity"
        );
        assert_eq!(statement.rest[0].interaction[0].code, "transaction");
        assert!(statement.resource("Observation").is_none());
        let json = serde_json::to_value(&statement).unwrap();
        assert_eq!(json["fhirVersion"], "4.0.1");
        assert_eq!(
            json["rest"][0]["resource"][0]["searchParam"][0]["type"],
            "token"
        );
    }
}

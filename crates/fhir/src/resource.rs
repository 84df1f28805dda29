//! `Resource`: any of the resources Kith serves, read by its `resourceType`.

use serde::{Deserialize, Deserializer, Serialize};

use crate::{
    AuditEvent, Bundle, CapabilityStatement, Consent, Encounter, Flag, OperationOutcome,
    Parameters, Patient,
};

/// One FHIR resource of a kind Kith knows. Serialises as the resource itself (with its
/// `resourceType`); deserialises by looking at `resourceType` first, so an error names the
/// resource kind it was reading.
///
/// Read untrusted JSON through `Resource` (or the request readers built on it), not through a
/// resource struct's own `Deserialize`: the structs write their `resourceType` but do not
/// check it when reading. Elements Kith does not model are ignored on reading, as a FHIR
/// server may do, and never written back.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
// Resources are built once and moved into a response; boxing every variant buys nothing.
#[allow(clippy::large_enum_variant)]
pub enum Resource {
    Patient(Patient),
    Bundle(Bundle),
    Parameters(Parameters),
    OperationOutcome(OperationOutcome),
    CapabilityStatement(CapabilityStatement),
    Consent(Consent),
    Flag(Flag),
    AuditEvent(AuditEvent),
    Encounter(Encounter),
}

impl Resource {
    /// The FHIR resource type name, such as `Patient`.
    pub fn resource_type(&self) -> &'static str {
        match self {
            Resource::Patient(_) => "Patient",
            Resource::Bundle(_) => "Bundle",
            Resource::Parameters(_) => "Parameters",
            Resource::OperationOutcome(_) => "OperationOutcome",
            Resource::CapabilityStatement(_) => "CapabilityStatement",
            Resource::Consent(_) => "Consent",
            Resource::Flag(_) => "Flag",
            Resource::AuditEvent(_) => "AuditEvent",
            Resource::Encounter(_) => "Encounter",
        }
    }

    /// The logical id, when the resource has one.
    pub fn id(&self) -> Option<&str> {
        match self {
            Resource::Patient(r) => r.id.as_deref(),
            Resource::Bundle(r) => r.id.as_deref(),
            Resource::Parameters(r) => r.id.as_deref(),
            Resource::OperationOutcome(r) => r.id.as_deref(),
            Resource::CapabilityStatement(r) => r.id.as_deref(),
            Resource::Consent(r) => r.id.as_deref(),
            Resource::Flag(r) => r.id.as_deref(),
            Resource::AuditEvent(r) => r.id.as_deref(),
            Resource::Encounter(r) => r.id.as_deref(),
        }
    }

    /// Reads a resource from a JSON value, dispatching on `resourceType`.
    pub fn from_value(value: serde_json::Value) -> Result<Resource, ResourceError> {
        let kind = match value.get("resourceType") {
            None => return Err(ResourceError::MissingResourceType),
            Some(serde_json::Value::String(kind)) => kind.clone(),
            Some(other) => return Err(ResourceError::Unsupported(other.to_string())),
        };
        let invalid = |source: serde_json::Error| ResourceError::Invalid {
            resource_type: kind.clone(),
            message: source.to_string(),
        };
        Ok(match kind.as_str() {
            "Patient" => Resource::Patient(serde_json::from_value(value).map_err(invalid)?),
            "Bundle" => Resource::Bundle(serde_json::from_value(value).map_err(invalid)?),
            "Parameters" => Resource::Parameters(serde_json::from_value(value).map_err(invalid)?),
            "OperationOutcome" => {
                Resource::OperationOutcome(serde_json::from_value(value).map_err(invalid)?)
            }
            "CapabilityStatement" => {
                Resource::CapabilityStatement(serde_json::from_value(value).map_err(invalid)?)
            }
            "Consent" => Resource::Consent(serde_json::from_value(value).map_err(invalid)?),
            "Flag" => Resource::Flag(serde_json::from_value(value).map_err(invalid)?),
            "AuditEvent" => Resource::AuditEvent(serde_json::from_value(value).map_err(invalid)?),
            "Encounter" => Resource::Encounter(serde_json::from_value(value).map_err(invalid)?),
            _ => return Err(ResourceError::Unsupported(kind)),
        })
    }
}

impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Resource, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Resource::from_value(value).map_err(serde::de::Error::custom)
    }
}

/// Why a JSON value is not a resource Kith can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    #[error("missing `resourceType`")]
    MissingResourceType,
    #[error("unsupported resourceType `{0}`")]
    Unsupported(String),
    #[error("invalid {resource_type}: {message}")]
    Invalid {
        resource_type: String,
        message: String,
    },
}

macro_rules! into_resource {
    ($($kind:ident),*) => {$(
        impl From<$kind> for Resource {
            fn from(resource: $kind) -> Resource {
                Resource::$kind(resource)
            }
        }
    )*};
}

into_resource!(
    Patient,
    Bundle,
    Parameters,
    OperationOutcome,
    CapabilityStatement,
    Consent,
    Flag,
    AuditEvent,
    Encounter
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_by_resource_type_and_writes_it_back() {
        let resource =
            Resource::from_value(json!({"resourceType": "Patient", "id": "K000000019"})).unwrap();
        assert_eq!(resource.resource_type(), "Patient");
        assert_eq!(resource.id(), Some("K000000019"));
        assert_eq!(
            serde_json::to_value(&resource).unwrap(),
            json!({"resourceType": "Patient", "id": "K000000019"})
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let check = |value: serde_json::Value, expected: &str| {
            assert_eq!(
                Resource::from_value(value).unwrap_err().to_string(),
                expected
            );
        };
        check(json!({"id": "x"}), "missing `resourceType`");
        check(
            json!({"resourceType": "Observation"}),
            "unsupported resourceType `Observation`",
        );
        check(json!({"resourceType": 7}), "unsupported resourceType `7`");
        check(
            json!({"resourceType": "Flag", "status": "active"}),
            "invalid Flag: missing field `code`",
        );
    }
}

//! Operation inputs and outputs: reading a `Patient/$match` request, and the IHE PIXm
//! cross-reference query `Patient/$ihe-pix`.

use model::NhsNumber;

use crate::datatypes::{Identifier, Reference, Value};
use crate::outcome::OperationOutcome;
use crate::parameters::{Parameter, Parameters};
use crate::resource::{Resource, ResourceError};
use crate::search::{TokenError, TokenParam, TokenSystem};
use crate::{Patient, systems};

/// A `Patient/$match` request, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchRequest {
    /// The demographics to match (the `resource` parameter).
    pub patient: Patient,
    /// The Patient's NHS number, when it has one; always a valid one.
    pub nhs_number: Option<NhsNumber>,
    /// Return only `certain` matches (`onlyCertainMatches`, default false).
    pub only_certain_matches: bool,
    /// The most candidates to return (`count`), at least 1.
    pub count: Option<u32>,
}

/// Why a `$match` request was refused. Each message names the parameter and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatchRequestError {
    #[error("request body is not JSON: {0}")]
    Json(String),
    #[error("request body must be a Parameters resource, found {0}")]
    NotParameters(String),
    #[error("request body: {0}")]
    Invalid(String),
    #[error("parameter `resource` is required: the Patient to match")]
    MissingPatient,
    #[error("parameter `{name}` is given {times} times; it may appear only once")]
    Repeated { name: String, times: usize },
    #[error("parameter `resource` must hold a Patient, found {found}")]
    NotAPatient { found: String },
    #[error("parameter `{name}` must be {expected}, found {found}")]
    WrongType {
        name: String,
        expected: &'static str,
        found: String,
    },
    #[error("parameter `count` must be between 1 and {max}, found {found}")]
    CountOutOfRange { found: i64, max: u32 },
    #[error("unknown parameter `{0}`; `$match` takes `resource`, `onlyCertainMatches` and `count`")]
    Unknown(String),
    #[error("parameter `resource`: {0}")]
    InvalidNhsNumber(#[from] model::IdentError),
    #[error("parameter `resource`: the Patient has no identifier, name or birth date to match on")]
    NothingToMatch,
}

impl MatchRequestError {
    /// The OperationOutcome to send back (`invalid`, with the message as diagnostics).
    pub fn outcome(&self) -> OperationOutcome {
        OperationOutcome::invalid(&self.to_string())
    }
}

/// The largest `count` Kith accepts for `$match`.
pub const MAX_MATCH_COUNT: u32 = 100;

fn found(parameter: &Parameter) -> String {
    match (&parameter.value, &parameter.resource) {
        (Some(value), _) => value.element_name().to_string(),
        (None, Some(resource)) => format!("a {}", resource.resource_type()),
        (None, None) => "no value".to_string(),
    }
}

fn single<'a>(
    parameters: &'a Parameters,
    name: &'a str,
) -> Result<Option<&'a Parameter>, MatchRequestError> {
    let all: Vec<&Parameter> = parameters.named(name).collect();
    match all.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(MatchRequestError::Repeated {
            name: name.to_string(),
            times: many.len(),
        }),
    }
}

impl MatchRequest {
    /// Reads a `$match` request body.
    pub fn from_json(body: &str) -> Result<MatchRequest, MatchRequestError> {
        let value: serde_json::Value =
            serde_json::from_str(body).map_err(|e| MatchRequestError::Json(e.to_string()))?;
        match Resource::from_value(value) {
            Ok(Resource::Parameters(parameters)) => MatchRequest::from_parameters(&parameters),
            Ok(other) => Err(MatchRequestError::NotParameters(
                other.resource_type().to_string(),
            )),
            Err(ResourceError::MissingResourceType) => Err(MatchRequestError::NotParameters(
                "no `resourceType`".to_string(),
            )),
            Err(ResourceError::Unsupported(kind)) => Err(MatchRequestError::NotParameters(kind)),
            Err(invalid @ ResourceError::Invalid { .. }) => {
                Err(MatchRequestError::Invalid(invalid.to_string()))
            }
        }
    }

    /// Reads a `$match` request from its Parameters.
    pub fn from_parameters(parameters: &Parameters) -> Result<MatchRequest, MatchRequestError> {
        if let Some(unknown) = parameters
            .parameter
            .iter()
            .find(|p| !["resource", "onlyCertainMatches", "count"].contains(&p.name.as_str()))
        {
            return Err(MatchRequestError::Unknown(unknown.name.clone()));
        }
        let patient = match single(parameters, "resource")? {
            None => return Err(MatchRequestError::MissingPatient),
            Some(parameter) => match parameter.resource.as_deref() {
                Some(Resource::Patient(patient)) if parameter.value.is_none() => patient.clone(),
                _ => {
                    return Err(MatchRequestError::NotAPatient {
                        found: found(parameter),
                    });
                }
            },
        };
        let only_certain_matches = match single(parameters, "onlyCertainMatches")? {
            None => false,
            Some(Parameter {
                value: Some(Value::Boolean(flag)),
                ..
            }) => *flag,
            Some(other) => {
                return Err(MatchRequestError::WrongType {
                    name: "onlyCertainMatches".to_string(),
                    expected: "valueBoolean",
                    found: found(other),
                });
            }
        };
        let count = match single(parameters, "count")? {
            None => None,
            Some(Parameter {
                value: Some(Value::Integer(count)),
                ..
            }) => match u32::try_from(*count) {
                Ok(count) if (1..=MAX_MATCH_COUNT).contains(&count) => Some(count),
                _ => {
                    return Err(MatchRequestError::CountOutOfRange {
                        found: *count,
                        max: MAX_MATCH_COUNT,
                    });
                }
            },
            Some(other) => {
                return Err(MatchRequestError::WrongType {
                    name: "count".to_string(),
                    expected: "valueInteger",
                    found: found(other),
                });
            }
        };
        let nhs_number = match patient.nhs_number_value() {
            Some(raw) => Some(raw.parse::<NhsNumber>()?),
            None => None,
        };
        if patient.identifier.is_empty() && patient.name.is_empty() && patient.birth_date.is_none()
        {
            return Err(MatchRequestError::NothingToMatch);
        }
        Ok(MatchRequest {
            patient,
            nhs_number,
            only_certain_matches,
            count,
        })
    }
}

/// A `$ihe-pix` query: whose identifiers, and in which systems.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PixRequest {
    /// The system of the identifier the caller knows.
    pub source_system: String,
    /// The identifier the caller knows.
    pub source_value: String,
    /// The systems the caller wants identifiers in; empty means all.
    pub target_systems: Vec<String>,
}

/// Why a `$ihe-pix` query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PixRequestError {
    #[error("parameter `sourceIdentifier` is required")]
    MissingSource,
    #[error("parameter `sourceIdentifier` may appear only once")]
    RepeatedSource,
    #[error("parameter `sourceIdentifier` must be `system|value` with both parts, found `{0}`")]
    IncompleteSource(String),
    #[error("parameter `sourceIdentifier`: {0}")]
    Token(#[from] TokenError),
    #[error("parameter `targetSystem` must be a non-empty URI")]
    EmptyTargetSystem,
    #[error("parameter `{name}` must be {expected}, found {found}")]
    WrongType {
        name: String,
        expected: &'static str,
        found: String,
    },
    #[error("unknown parameter `{0}`; `$ihe-pix` takes `sourceIdentifier` and `targetSystem`")]
    Unknown(String),
}

impl PixRequestError {
    /// The OperationOutcome to send back. IHE PIXm answers an unknown source system with
    /// `not-found` too; that decision belongs to the caller, which knows the systems.
    pub fn outcome(&self) -> OperationOutcome {
        OperationOutcome::invalid(&self.to_string())
    }
}

impl PixRequest {
    /// Reads the query-string form: every `sourceIdentifier` value and every `targetSystem`
    /// value, as given (already percent-decoded).
    pub fn from_query(
        source_identifier: &[&str],
        target_system: &[&str],
    ) -> Result<PixRequest, PixRequestError> {
        let raw = match source_identifier {
            [] => return Err(PixRequestError::MissingSource),
            [one] => *one,
            _ => return Err(PixRequestError::RepeatedSource),
        };
        let token = TokenParam::parse(raw)?;
        let (TokenSystem::Is(source_system), Some(source_value)) = (token.system, token.code)
        else {
            return Err(PixRequestError::IncompleteSource(raw.to_string()));
        };
        if target_system.iter().any(|s| s.trim().is_empty()) {
            return Err(PixRequestError::EmptyTargetSystem);
        }
        Ok(PixRequest {
            source_system,
            source_value,
            target_systems: target_system.iter().map(|s| (*s).to_string()).collect(),
        })
    }

    /// Reads the POST form: `sourceIdentifier` as `valueIdentifier` (or a `system|value`
    /// `valueString`), `targetSystem` as `valueUri`.
    pub fn from_parameters(parameters: &Parameters) -> Result<PixRequest, PixRequestError> {
        let mut sources = Vec::new();
        let mut targets = Vec::new();
        for parameter in &parameters.parameter {
            match (parameter.name.as_str(), &parameter.value) {
                ("sourceIdentifier", Some(Value::Identifier(identifier))) => {
                    let system = identifier.system.clone().unwrap_or_default();
                    let value = identifier.value.clone().unwrap_or_default();
                    if system.is_empty() || value.is_empty() {
                        return Err(PixRequestError::IncompleteSource(format!(
                            "{system}|{value}"
                        )));
                    }
                    sources.push(format!(
                        "{}|{}",
                        system
                            .replace('\\', r"\\")
                            .replace('|', r"\|")
                            .replace(',', r"\,"),
                        value
                            .replace('\\', r"\\")
                            .replace('|', r"\|")
                            .replace(',', r"\,")
                    ));
                }
                ("sourceIdentifier", Some(Value::String(raw))) => sources.push(raw.clone()),
                ("sourceIdentifier", _) => {
                    return Err(PixRequestError::WrongType {
                        name: parameter.name.clone(),
                        expected: "valueIdentifier",
                        found: found(parameter),
                    });
                }
                ("targetSystem", Some(Value::Uri(uri) | Value::String(uri))) => {
                    targets.push(uri.clone());
                }
                ("targetSystem", _) => {
                    return Err(PixRequestError::WrongType {
                        name: parameter.name.clone(),
                        expected: "valueUri",
                        found: found(parameter),
                    });
                }
                (other, _) => return Err(PixRequestError::Unknown(other.to_string())),
            }
        }
        let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
        let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
        PixRequest::from_query(&sources, &targets)
    }
}

/// What `$ihe-pix` found: the person's identifiers in the wanted systems, and the Patient
/// resources (by reference) that stand for the person.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PixResponse {
    pub target_identifiers: Vec<Identifier>,
    pub target_ids: Vec<Reference>,
}

impl PixResponse {
    /// The output Parameters: one `targetIdentifier` per identifier, then one `targetId` per
    /// Patient. An empty response is an empty Parameters, as IHE PIXm answers "no
    /// identifiers in the wanted systems".
    pub fn to_parameters(&self) -> Parameters {
        let identifiers = self.target_identifiers.iter().map(|identifier| {
            Parameter::value("targetIdentifier", Value::Identifier(identifier.clone()))
        });
        let ids = self
            .target_ids
            .iter()
            .map(|reference| Parameter::value("targetId", Value::Reference(reference.clone())));
        Parameters::new(identifiers.chain(ids).collect())
    }
}

/// The `$ihe-pix` answer for a Kith person: the CCI among the target identifiers (when the
/// caller asked for it or for all systems) and `Patient/{cci}` as the target id.
pub fn pix_response_for_person(
    request: &PixRequest,
    cci: &str,
    identifiers: &[Identifier],
) -> PixResponse {
    let wanted = |system: Option<&str>| {
        request.target_systems.is_empty()
            || system.is_some_and(|s| request.target_systems.iter().any(|t| t == s))
    };
    let mut target_identifiers = Vec::new();
    if wanted(Some(systems::KITH_CCI)) {
        target_identifiers.push(Identifier::new(systems::KITH_CCI, cci));
    }
    target_identifiers.extend(
        identifiers
            .iter()
            .filter(|id| id.system.as_deref() != Some(systems::KITH_CCI))
            .filter(|id| wanted(id.system.as_deref()))
            // The identifier the caller already holds is not news to them.
            .filter(|id| {
                id.system.as_deref() != Some(request.source_system.as_str())
                    || id.value.as_deref() != Some(request.source_value.as_str())
            })
            .cloned(),
    );
    PixResponse {
        target_identifiers,
        target_ids: vec![Reference::patient(cci)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HumanName, Resource};
    use serde_json::json;

    fn patient_json() -> serde_json::Value {
        json!({"resourceType": "Patient",
               "identifier": [{"system": systems::NHS_NUMBER, "value": "9434765919"}],
               "name": [{"family": "Hughes", "given": ["Amelia"]}],
               "birthDate": "2016-04-02"})
    }

    fn parse(parameters: serde_json::Value) -> Result<MatchRequest, MatchRequestError> {
        MatchRequest::from_json(&parameters.to_string())
    }

    fn error(parameters: serde_json::Value) -> String {
        parse(parameters).unwrap_err().to_string()
    }

    #[test]
    fn reads_a_full_match_request() {
        let request = parse(json!({"resourceType": "Parameters", "parameter": [
            {"name": "resource", "resource": patient_json()},
            {"name": "onlyCertainMatches", "valueBoolean": true},
            {"name": "count", "valueInteger": 3}
        ]}))
        .unwrap();
        assert!(request.only_certain_matches);
        assert_eq!(request.count, Some(3));
        assert_eq!(request.nhs_number.unwrap().as_str(), "9434765919");
        assert_eq!(request.patient.birth_date.as_deref(), Some("2016-04-02"));
    }

    #[test]
    fn defaults_apply_when_optional_parameters_are_absent() {
        let parameters = Parameters::new(vec![Parameter::resource(
            "resource",
            Resource::Patient(Patient {
                name: vec![HumanName {
                    family: Some("Hughes".into()),
                    ..HumanName::default()
                }],
                ..Patient::default()
            }),
        )]);
        let request = MatchRequest::from_parameters(&parameters).unwrap();
        assert!(!request.only_certain_matches);
        assert_eq!(request.count, None);
        assert_eq!(request.nhs_number, None);
    }

    #[test]
    fn each_bad_request_names_the_parameter_and_why() {
        let with = |extra: serde_json::Value| {
            json!({"resourceType": "Parameters", "parameter": [
                {"name": "resource", "resource": patient_json()}, extra]})
        };
        assert_eq!(
            error(json!({"resourceType": "Parameters"})),
            "parameter `resource` is required: the Patient to match"
        );
        assert_eq!(
            error(json!({"resourceType": "Parameters", "parameter": [
                {"name": "resource", "resource": {"resourceType": "Flag", "status": "active",
                  "code": {"text": "x"}, "subject": {"reference": "Patient/1"}}}]})),
            "parameter `resource` must hold a Patient, found a Flag"
        );
        assert_eq!(
            error(json!({"resourceType": "Parameters", "parameter": [
                {"name": "resource", "valueString": "Amelia"}]})),
            "parameter `resource` must hold a Patient, found valueString"
        );
        assert_eq!(
            error(with(
                json!({"name": "onlyCertainMatches", "valueString": "yes"})
            )),
            "parameter `onlyCertainMatches` must be valueBoolean, found valueString"
        );
        assert_eq!(
            error(with(json!({"name": "count", "valueInteger": 0}))),
            "parameter `count` must be between 1 and 100, found 0"
        );
        assert_eq!(
            error(with(json!({"name": "count", "valueInteger": -4}))),
            "parameter `count` must be between 1 and 100, found -4"
        );
        assert_eq!(
            error(with(json!({"name": "count", "valueDecimal": 2.5}))),
            "parameter `count` must be valueInteger, found valueDecimal"
        );
        assert_eq!(
            error(with(
                json!({"name": "resource", "resource": patient_json()})
            )),
            "parameter `resource` is given 2 times; it may appear only once"
        );
        assert_eq!(
            error(with(json!({"name": "onlyCertain", "valueBoolean": true}))),
            "unknown parameter `onlyCertain`; `$match` takes `resource`, `onlyCertainMatches` and `count`"
        );
        assert_eq!(
            error(json!({"resourceType": "Parameters", "parameter": [
                {"name": "resource", "resource": {"resourceType": "Patient",
                  "identifier": [{"system": systems::NHS_NUMBER, "value": "9434765918"}]}}]})),
            "parameter `resource`: invalid NHS number `9434765918`: check digit should be 9"
        );
        assert_eq!(
            error(json!({"resourceType": "Parameters", "parameter": [
                {"name": "resource", "resource": {"resourceType": "Patient", "gender": "male"}}]})),
            "parameter `resource`: the Patient has no identifier, name or birth date to match on"
        );
        assert_eq!(
            error(json!({"resourceType": "Patient"})),
            "request body must be a Parameters resource, found Patient"
        );
        assert_eq!(
            error(json!({"parameter": []})),
            "request body must be a Parameters resource, found no `resourceType`"
        );
        assert_eq!(
            error(json!({"resourceType": "Parameters", "parameter": [
                {"name": "resource", "resource": {"resourceType": "Patient", "gender": "f"}}]})),
            "request body: invalid Parameters: invalid Patient: unknown variant `f`, expected one of `male`, `female`, `other`, `unknown`"
        );
        assert_eq!(
            MatchRequest::from_json("{").unwrap_err().to_string(),
            "request body is not JSON: EOF while parsing an object at line 1 column 1"
        );
        let outcome = parse(json!({"resourceType": "Parameters"}))
            .unwrap_err()
            .outcome();
        assert_eq!(outcome.issue[0].code, crate::IssueType::Invalid);
    }

    #[test]
    fn pix_query_needs_a_full_source_identifier() {
        let request = PixRequest::from_query(
            &["https://fhir.nhs.uk/Id/nhs-number|9434765919"],
            &[systems::KITH_CCI],
        )
        .unwrap();
        assert_eq!(request.source_system, systems::NHS_NUMBER);
        assert_eq!(request.source_value, "9434765919");
        assert_eq!(request.target_systems, [systems::KITH_CCI]);
        let error = |source: &[&str], target: &[&str]| {
            PixRequest::from_query(source, target)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(error(&[], &[]), "parameter `sourceIdentifier` is required");
        assert_eq!(
            error(&["a|1", "a|2"], &[]),
            "parameter `sourceIdentifier` may appear only once"
        );
        assert_eq!(
            error(&["9434765919"], &[]),
            "parameter `sourceIdentifier` must be `system|value` with both parts, found `9434765919`"
        );
        assert_eq!(
            error(&["urn:x|"], &[]),
            "parameter `sourceIdentifier` must be `system|value` with both parts, found `urn:x|`"
        );
        assert_eq!(
            error(&[""], &[]),
            "parameter `sourceIdentifier`: token is empty"
        );
        assert_eq!(
            error(&["urn:x|1"], &[" "]),
            "parameter `targetSystem` must be a non-empty URI"
        );
    }

    #[test]
    fn pix_parameters_form_reads_identifier_and_uri() {
        let parameters = Parameters::new(vec![
            Parameter::value(
                "sourceIdentifier",
                Value::Identifier(Identifier::new("urn:school|mis", "A,1")),
            ),
            Parameter::value("targetSystem", Value::Uri(systems::KITH_CCI.into())),
        ]);
        let request = PixRequest::from_parameters(&parameters).unwrap();
        assert_eq!(request.source_system, "urn:school|mis");
        assert_eq!(request.source_value, "A,1");
        assert_eq!(request.target_systems, [systems::KITH_CCI]);
        let wrong = Parameters::new(vec![Parameter::value(
            "sourceIdentifier",
            Value::Boolean(true),
        )]);
        assert_eq!(
            PixRequest::from_parameters(&wrong).unwrap_err().to_string(),
            "parameter `sourceIdentifier` must be valueIdentifier, found valueBoolean"
        );
        let unknown = Parameters::new(vec![Parameter::value("source", Value::String("x".into()))]);
        assert_eq!(
            PixRequest::from_parameters(&unknown)
                .unwrap_err()
                .to_string(),
            "unknown parameter `source`; `$ihe-pix` takes `sourceIdentifier` and `targetSystem`"
        );
    }

    #[test]
    fn pix_response_lists_identifiers_then_the_patient() {
        let request =
            PixRequest::from_query(&["https://fhir.nhs.uk/Id/nhs-number|9434765919"], &[]).unwrap();
        let upn = Identifier::new("https://kith.example/Id/upn", "B801200005001");
        let nhs = Identifier::new(systems::NHS_NUMBER, "9434765919");
        let response = pix_response_for_person(&request, "K000000019", &[nhs, upn.clone()]);
        assert_eq!(
            response.target_identifiers,
            [
                Identifier::new(systems::KITH_CCI, "K000000019"),
                upn.clone()
            ],
            "the caller's own identifier is not echoed"
        );
        let json = serde_json::to_value(response.to_parameters()).unwrap();
        assert_eq!(json["parameter"][0]["name"], "targetIdentifier");
        assert_eq!(json["parameter"][2]["name"], "targetId");
        assert_eq!(
            json["parameter"][2]["valueReference"]["reference"],
            "Patient/K000000019"
        );
        let only_upn = PixRequest {
            target_systems: vec!["https://kith.example/Id/upn".into()],
            ..request
        };
        assert_eq!(
            pix_response_for_person(&only_upn, "K000000019", std::slice::from_ref(&upn))
                .target_identifiers,
            [upn]
        );
    }
}

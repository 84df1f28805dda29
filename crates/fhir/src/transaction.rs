//! Reading a transaction Bundle of Patients and Encounters, with errors that name the entry and
//! the field at fault.

use std::collections::HashMap;

use serde_json::Value as Json;

use crate::bundle::{EntryRequest, HttpVerb};
use crate::outcome::OperationOutcome;
use crate::resource::Resource;
use crate::{Encounter, Patient};

/// A transaction request, read and checked: every entry is a Patient or an Encounter to create
/// (POST) or update (PUT).
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    pub entries: Vec<TransactionEntry>,
}

/// One entry of a [`Transaction`].
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionEntry {
    /// Position in the Bundle, from 0; the response entry goes at the same position.
    pub index: usize,
    /// The entry's `fullUrl`, such as `urn:uuid:…`, which other entries may reference.
    pub full_url: Option<String>,
    pub method: HttpVerb,
    /// `Patient` or `Encounter` for POST; `Patient/{id}` or `Encounter/{id}` for PUT.
    pub url: String,
    pub resource: TransactionResource,
}

/// What a transaction may write.
#[derive(Debug, Clone, PartialEq)]
pub enum TransactionResource {
    Patient(Patient),
    Encounter(Encounter),
}

impl TransactionResource {
    fn type_name(&self) -> &'static str {
        match self {
            TransactionResource::Patient(_) => "Patient",
            TransactionResource::Encounter(_) => "Encounter",
        }
    }

    fn id(&self) -> Option<&str> {
        match self {
            TransactionResource::Patient(p) => p.id.as_deref(),
            TransactionResource::Encounter(e) => e.id.as_deref(),
        }
    }
}

/// Why a transaction was refused. Entry errors name the entry's index and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransactionError {
    #[error("request body is not JSON: {0}")]
    Json(String),
    #[error("request body must be a Bundle, found {0}")]
    NotABundle(String),
    #[error("Bundle.type must be `transaction`, found {0}")]
    WrongType(String),
    #[error("Bundle.entry: {0}")]
    Entries(String),
    #[error("entry[{index}].{field}: {problem}")]
    Entry {
        index: usize,
        field: String,
        problem: String,
    },
}

impl TransactionError {
    /// The OperationOutcome to send back, with the FHIRPath of the element at fault.
    pub fn outcome(&self) -> OperationOutcome {
        let outcome = OperationOutcome::invalid(&self.to_string());
        match self {
            TransactionError::Entry { index, field, .. } => {
                outcome.at(&format!("Bundle.entry[{index}].{field}"))
            }
            _ => outcome,
        }
    }
}

fn entry_error(index: usize, field: &str, problem: impl Into<String>) -> TransactionError {
    TransactionError::Entry {
        index,
        field: field.to_string(),
        problem: problem.into(),
    }
}

impl Transaction {
    /// Reads a transaction request body.
    pub fn from_json(body: &str) -> Result<Transaction, TransactionError> {
        let value: Json =
            serde_json::from_str(body).map_err(|e| TransactionError::Json(e.to_string()))?;
        Transaction::from_value(&value)
    }

    /// Reads a transaction from parsed JSON.
    pub fn from_value(bundle: &Json) -> Result<Transaction, TransactionError> {
        match bundle.get("resourceType") {
            Some(Json::String(kind)) if kind == "Bundle" => {}
            Some(other) => return Err(TransactionError::NotABundle(other.to_string())),
            None => {
                return Err(TransactionError::NotABundle(
                    "no `resourceType`".to_string(),
                ));
            }
        }
        match bundle.get("type") {
            Some(Json::String(kind)) if kind == "transaction" => {}
            Some(other) => return Err(TransactionError::WrongType(other.to_string())),
            None => return Err(TransactionError::WrongType("none".to_string())),
        }
        let raw_entries = match bundle.get("entry") {
            Some(Json::Array(entries)) if !entries.is_empty() => entries,
            Some(Json::Array(_)) | None => {
                return Err(TransactionError::Entries(
                    "a transaction needs at least one entry".into(),
                ));
            }
            Some(_) => return Err(TransactionError::Entries("must be an array".into())),
        };
        let mut entries = Vec::with_capacity(raw_entries.len());
        let mut full_urls: HashMap<String, (usize, &'static str)> = HashMap::new();
        for (index, raw) in raw_entries.iter().enumerate() {
            let entry = read_entry(index, raw)?;
            if let Some(full_url) = &entry.full_url {
                if let Some((first, _)) = full_urls.get(full_url) {
                    return Err(entry_error(
                        index,
                        "fullUrl",
                        format!("`{full_url}` repeats entry[{first}].fullUrl"),
                    ));
                }
                full_urls.insert(full_url.clone(), (index, entry.resource.type_name()));
            }
            entries.push(entry);
        }
        for entry in &entries {
            check_subject(entry, &full_urls)?;
        }
        Ok(Transaction { entries })
    }
}

fn read_entry(index: usize, raw: &Json) -> Result<TransactionEntry, TransactionError> {
    if !raw.is_object() {
        return Err(TransactionError::Entries(format!(
            "entry[{index}] must be an object"
        )));
    }
    let full_url = match raw.get("fullUrl") {
        None => None,
        Some(Json::String(url)) if !url.is_empty() => Some(url.clone()),
        Some(_) => return Err(entry_error(index, "fullUrl", "must be a non-empty string")),
    };
    let request: EntryRequest = match raw.get("request") {
        None => {
            return Err(entry_error(
                index,
                "request",
                "missing; each transaction entry needs a request with method and url",
            ));
        }
        Some(request) => serde_json::from_value(request.clone())
            .map_err(|e| entry_error(index, "request", e.to_string()))?,
    };
    let resource = match raw.get("resource") {
        None => {
            return Err(entry_error(
                index,
                "resource",
                "missing; each transaction entry must carry a Patient or an Encounter",
            ));
        }
        Some(resource) => match Resource::from_value(resource.clone()) {
            Ok(Resource::Patient(patient)) => TransactionResource::Patient(patient),
            Ok(Resource::Encounter(encounter)) => TransactionResource::Encounter(encounter),
            Ok(other) => {
                return Err(entry_error(
                    index,
                    "resource",
                    format!(
                        "a transaction takes Patient and Encounter only, found {}",
                        other.resource_type()
                    ),
                ));
            }
            Err(error) => return Err(entry_error(index, "resource", error.to_string())),
        },
    };
    let type_name = resource.type_name();
    match request.method {
        HttpVerb::Post if request.url == type_name => {}
        HttpVerb::Post => {
            return Err(entry_error(
                index,
                "request.url",
                format!(
                    "POST of a {type_name} must go to `{type_name}`, found `{}`",
                    request.url
                ),
            ));
        }
        HttpVerb::Put => {
            let expected = resource.id().map(|id| format!("{type_name}/{id}"));
            if expected.as_deref() != Some(request.url.as_str()) {
                let wanted = match expected {
                    Some(url) => format!("`{url}`"),
                    None => format!("`{type_name}/{{id}}` with the resource's id set"),
                };
                return Err(entry_error(
                    index,
                    "request.url",
                    format!("PUT must go to {wanted}, found `{}`", request.url),
                ));
            }
        }
        other => {
            let method = serde_json::to_value(other)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            return Err(entry_error(
                index,
                "request.method",
                format!("`{method}` is not supported in a transaction; use POST or PUT"),
            ));
        }
    }
    Ok(TransactionEntry {
        index,
        full_url,
        method: request.method,
        url: request.url,
        resource,
    })
}

/// An Encounter must say whose it is: a Patient in this transaction (by fullUrl) or a stored
/// Patient (`Patient/{id}`).
fn check_subject(
    entry: &TransactionEntry,
    full_urls: &HashMap<String, (usize, &'static str)>,
) -> Result<(), TransactionError> {
    let TransactionResource::Encounter(encounter) = &entry.resource else {
        return Ok(());
    };
    let index = entry.index;
    let Some(reference) = encounter
        .subject
        .as_ref()
        .and_then(|subject| subject.reference.as_deref())
    else {
        return Err(entry_error(
            index,
            "resource.subject.reference",
            "missing; an Encounter must reference its Patient",
        ));
    };
    match full_urls.get(reference) {
        Some((_, "Patient")) => Ok(()),
        Some((other, kind)) => Err(entry_error(
            index,
            "resource.subject.reference",
            format!("`{reference}` is entry[{other}] ({kind}), not a Patient"),
        )),
        None if reference
            .strip_prefix("Patient/")
            .is_some_and(|id| !id.is_empty() && !id.contains('/')) =>
        {
            Ok(())
        }
        None => Err(entry_error(
            index,
            "resource.subject.reference",
            format!(
                "`{reference}` is neither the fullUrl of an entry in this transaction nor `Patient/{{id}}`"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patient_entry() -> Json {
        json!({"fullUrl": "urn:uuid:7d1a0c5e-0000-4000-8000-000000000001",
               "resource": {"resourceType": "Patient", "birthDate": "2016-04-02",
                            "name": [{"family": "Hughes", "given": ["Amelia"]}]},
               "request": {"method": "POST", "url": "Patient"}})
    }

    fn encounter_entry(subject: &str) -> Json {
        json!({"fullUrl": "urn:uuid:7d1a0c5e-0000-4000-8000-000000000002",
               "resource": {"resourceType": "Encounter", "status": "finished",
                            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                      "code": "EMER"},
                            "subject": {"reference": subject}},
               "request": {"method": "POST", "url": "Encounter"}})
    }

    fn bundle(entries: Vec<Json>) -> Json {
        json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    }

    fn error(value: Json) -> String {
        Transaction::from_value(&value).unwrap_err().to_string()
    }

    #[test]
    fn reads_a_patient_and_an_encounter_that_references_it() {
        let transaction = Transaction::from_value(&bundle(vec![
            patient_entry(),
            encounter_entry("urn:uuid:7d1a0c5e-0000-4000-8000-000000000001"),
            json!({"resource": {"resourceType": "Patient", "id": "K000000019",
                                "birthDate": "2016-04-02"},
                   "request": {"method": "PUT", "url": "Patient/K000000019"}}),
            encounter_entry("Patient/K000000019").tap_full_url("urn:uuid:second-encounter"),
        ]))
        .unwrap();
        assert_eq!(transaction.entries.len(), 4);
        assert_eq!(transaction.entries[1].index, 1);
        assert_eq!(transaction.entries[2].method, HttpVerb::Put);
        assert!(matches!(
            transaction.entries[1].resource,
            TransactionResource::Encounter(_)
        ));
    }

    #[test]
    fn whole_bundle_problems_are_named() {
        assert_eq!(
            Transaction::from_json("[").unwrap_err().to_string(),
            "request body is not JSON: EOF while parsing a list at line 1 column 1"
        );
        assert_eq!(
            error(json!({"resourceType": "Patient"})),
            "request body must be a Bundle, found \"Patient\""
        );
        assert_eq!(
            error(json!({"resourceType": "Bundle", "type": "batch"})),
            "Bundle.type must be `transaction`, found \"batch\""
        );
        assert_eq!(
            error(json!({"resourceType": "Bundle", "type": "transaction"})),
            "Bundle.entry: a transaction needs at least one entry"
        );
        assert_eq!(
            error(bundle(vec![json!(3)])),
            "Bundle.entry: entry[0] must be an object"
        );
    }

    #[test]
    fn entry_problems_name_the_index_and_field() {
        let mut no_request = patient_entry();
        no_request.as_object_mut().unwrap().remove("request");
        assert_eq!(
            error(bundle(vec![patient_entry(), no_request])),
            "entry[1].request: missing; each transaction entry needs a request with method and url"
        );
        let mut bad_method = patient_entry();
        bad_method["request"]["method"] = json!("FETCH");
        assert!(
            error(bundle(vec![bad_method]))
                .starts_with("entry[0].request: unknown variant `FETCH`, expected one of"),
        );
        let mut delete = patient_entry();
        delete["request"] = json!({"method": "DELETE", "url": "Patient/K000000019"});
        assert_eq!(
            error(bundle(vec![delete])),
            "entry[0].request.method: `DELETE` is not supported in a transaction; use POST or PUT"
        );
        let mut wrong_url = patient_entry();
        wrong_url["request"]["url"] = json!("Encounter");
        assert_eq!(
            error(bundle(vec![wrong_url])),
            "entry[0].request.url: POST of a Patient must go to `Patient`, found `Encounter`"
        );
        let mut put_without_id = patient_entry();
        put_without_id["request"] = json!({"method": "PUT", "url": "Patient/K1"});
        assert_eq!(
            error(bundle(vec![put_without_id])),
            "entry[0].request.url: PUT must go to `Patient/{id}` with the resource's id set, found `Patient/K1`"
        );
        let mut bad_gender = patient_entry();
        bad_gender["resource"]["gender"] = json!("femail");
        assert_eq!(
            error(bundle(vec![
                patient_entry(),
                encounter_entry("Patient/K1"),
                bad_gender
            ])),
            "entry[2].resource: invalid Patient: unknown variant `femail`, expected one of `male`, `female`, `other`, `unknown`"
        );
        let mut flag = patient_entry();
        flag["resource"] = json!({"resourceType": "Flag", "status": "active",
                                  "code": {"text": "x"}, "subject": {"reference": "Patient/1"}});
        assert_eq!(
            error(bundle(vec![flag])),
            "entry[0].resource: a transaction takes Patient and Encounter only, found Flag"
        );
        let mut no_resource = patient_entry();
        no_resource.as_object_mut().unwrap().remove("resource");
        assert_eq!(
            error(bundle(vec![no_resource])),
            "entry[0].resource: missing; each transaction entry must carry a Patient or an Encounter"
        );
    }

    #[test]
    fn references_between_entries_are_checked() {
        assert_eq!(
            error(bundle(vec![patient_entry(), patient_entry()])),
            "entry[1].fullUrl: `urn:uuid:7d1a0c5e-0000-4000-8000-000000000001` repeats entry[0].fullUrl"
        );
        assert_eq!(
            error(bundle(vec![
                patient_entry(),
                encounter_entry("urn:uuid:missing")
            ])),
            "entry[1].resource.subject.reference: `urn:uuid:missing` is neither the fullUrl of an entry in this transaction nor `Patient/{id}`"
        );
        assert_eq!(
            error(bundle(vec![
                encounter_entry("Patient/K1"),
                encounter_entry("urn:uuid:7d1a0c5e-0000-4000-8000-000000000002")
                    .tap_full_url("urn:uuid:other"),
            ])),
            "entry[1].resource.subject.reference: `urn:uuid:7d1a0c5e-0000-4000-8000-000000000002` is entry[0] (Encounter), not a Patient"
        );
        let mut no_subject = encounter_entry("Patient/K1");
        no_subject["resource"]
            .as_object_mut()
            .unwrap()
            .remove("subject");
        let failure = Transaction::from_value(&bundle(vec![no_subject])).unwrap_err();
        assert_eq!(
            failure.to_string(),
            "entry[0].resource.subject.reference: missing; an Encounter must reference its Patient"
        );
        assert_eq!(
            failure.outcome().issue[0].expression,
            ["Bundle.entry[0].resource.subject.reference"]
        );
    }

    trait TapFullUrl {
        fn tap_full_url(self, url: &str) -> Json;
    }

    impl TapFullUrl for Json {
        fn tap_full_url(mut self, url: &str) -> Json {
            self["fullUrl"] = json!(url);
            self
        }
    }
}

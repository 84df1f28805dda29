//! Kith's FHIR R4 resources, shaped after UK Core.
//!
//! The `server` crate serves Kith under `/fhir` with the types in this crate; nothing here knows
//! HTTP, a database or the clock. Times arrive as FHIR strings from the caller.
//!
//! # Why hand-written types
//!
//! Kith uses about a dozen resources. The generated model crates were weighed and set aside:
//! `fhir-sdk` covers R4B only (not plain R4) and is 224k generated lines that take about 78 s to
//! compile on our machines; `fhirbolt` has R4 but calls itself experimental. So each resource here
//! is a small serde struct with only the elements Kith uses, and an independent validator proves
//! the JSON: `tests/validate_with_python.rs` parses one of each resource with the Python
//! `fhir.resources` R4 models (see that file for the pinned version).
//!
//! # A tour
//!
//! - [`datatypes`]: `Identifier`, `HumanName`, `ContactPoint`, `Address`, `CodeableConcept`,
//!   `Coding`, `Reference`, `Period`, `Meta`, `Narrative`, and `Extension` with its `value[x]`
//!   choice [`Value`].
//! - [`systems`]: identifier systems (NHS number, Kith CCI), UK Core profile and extension URLs,
//!   [`NhsNumberVerificationStatus`] (codes `01`–`08`) and [`MatchGrade`].
//! - Resources, each with a builder from plain Rust facts: [`Patient::from_demographics`],
//!   [`Encounter::attendance`], [`Flag::safeguarding`] (child protection plan, looked-after child,
//!   with the owning local authority's office-hours and out-of-hours contacts),
//!   [`Consent::sharing`], [`AuditEvent::access`], [`CapabilityStatement::kith`],
//!   [`OperationOutcome::error`] and friends; [`Bundle::searchset`], [`match_bundle`],
//!   [`Bundle::transaction_response`]; [`Parameters`]. [`Resource`] is any of them, read by
//!   `resourceType`.
//! - Request readers that give errors a caller can act on (which parameter, which entry, which
//!   field, why): [`MatchRequest`] for `Patient/$match`, [`PixRequest`] for `Patient/$ihe-pix`
//!   (IHE PIXm), [`Transaction`] for a transaction Bundle of Patients and Encounters, and
//!   [`TokenParam`] for `system|value` search parameters. Each error has an `outcome()` giving
//!   the [`OperationOutcome`] to return.
//!
//! # Example
//!
//! ```
//! use fhir::{
//!     AdministrativeGender, Demographics, MatchCandidate, MatchGrade, MatchRequest,
//!     NhsNumberVerificationStatus, Patient, match_bundle,
//! };
//!
//! // A $match request arrives…
//! let body = r#"{"resourceType": "Parameters", "parameter": [
//!     {"name": "resource", "resource": {"resourceType": "Patient",
//!         "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
//!         "birthDate": "2016-04-02"}},
//!     {"name": "count", "valueInteger": 5}]}"#;
//! let request = MatchRequest::from_json(body)?;
//! assert_eq!(request.count, Some(5));
//!
//! // …the registry finds a person, and the answer is a searchset with grades and scores.
//! let patient = Patient::from_demographics(&Demographics {
//!     cci: "K000000019".into(),
//!     nhs_number: request
//!         .nhs_number
//!         .clone()
//!         .map(|number| (number, NhsNumberVerificationStatus::PresentAndVerified)),
//!     given_names: vec!["Amelia".into()],
//!     family_name: Some("Hughes".into()),
//!     gender: Some(AdministrativeGender::Female),
//!     birth_date: Some("2016-04-02".into()),
//!     ..Demographics::default()
//! });
//! let bundle = match_bundle("https://kith.example/fhir", &[MatchCandidate {
//!     patient,
//!     grade: MatchGrade::Certain,
//!     score: 0.998,
//! }]);
//! let json = serde_json::to_value(&bundle)?;
//! assert_eq!(json["entry"][0]["fullUrl"], "https://kith.example/fhir/Patient/K000000019");
//! assert_eq!(json["entry"][0]["search"]["extension"][0]["valueCode"], "certain");
//!
//! // A bad request becomes an OperationOutcome naming the parameter.
//! let error = MatchRequest::from_json(r#"{"resourceType": "Parameters"}"#).unwrap_err();
//! assert_eq!(error.to_string(), "parameter `resource` is required: the Patient to match");
//! assert_eq!(serde_json::to_value(error.outcome())?["issue"][0]["code"], "invalid");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod audit_event;
pub mod bundle;
pub mod capability;
pub mod consent;
pub mod datatypes;
pub mod encounter;
pub mod flag;
pub mod operations;
pub mod outcome;
pub mod parameters;
pub mod patient;
pub mod resource;
pub mod search;
pub mod systems;
pub mod transaction;

pub use audit_event::{
    Access, AuditAgent, AuditEntity, AuditEvent, AuditOutcome, AuditSource, Interaction,
};
pub use bundle::{
    Bundle, BundleEntry, BundleLink, BundleType, EntryRequest, EntryResponse, EntrySearch,
    HttpVerb, MatchCandidate, SearchMode, full_url, match_bundle,
};
pub use capability::CapabilityStatement;
pub use consent::{Consent, ConsentDecision, ConsentRecord, Provision, ProvisionActor};
pub use datatypes::{
    Address, CodeableConcept, Coding, ContactPoint, Extension, HumanName, Identifier, Meta,
    Narrative, Period, Reference, Value,
};
pub use encounter::{Attendance, Encounter, EncounterClass};
pub use flag::{
    ContactHours, Flag, FlagStatus, SafeguardingContact, SafeguardingFlag, SafeguardingKind,
};
pub use operations::{
    MAX_MATCH_COUNT, MatchRequest, MatchRequestError, PixRequest, PixRequestError, PixResponse,
    pix_response_for_person,
};
pub use outcome::{Issue, IssueSeverity, IssueType, OperationOutcome};
pub use parameters::{Parameter, Parameters};
pub use patient::{AdministrativeGender, Demographics, Patient, PatientLink};
pub use resource::{Resource, ResourceError};
pub use search::{TokenError, TokenParam, TokenSystem};
pub use systems::{MatchGrade, NhsNumberVerificationStatus};
pub use transaction::{Transaction, TransactionEntry, TransactionError, TransactionResource};

//! The FHIR R4 interface under `/fhir`, shaped after UK Core: the same governance and ledger
//! path as the JSON API, with `fhir` resources in and out and OperationOutcome errors.
//!
//! Every handler but `GET /fhir/metadata` authenticates with the JSON API's [`Caller`] (a
//! failure is a 401 OperationOutcome, recorded in the ledger), resolves the CCI through
//! merges, asks governance once per holding organisation and records every decision before it
//! answers. A person the caller may not know about answers 404, exactly like an unknown id.
//!
//! Conventions a client needs, also written in the CapabilityStatement:
//! - **Purpose**: `_purpose` query parameter, else the `X-Kith-Purpose` header, else
//!   [`DEFAULT_PURPOSE`] (`direct_care`).
//! - **Care setting** of a Flag read: the `X-Kith-Care-Setting` header (required), one of the
//!   CP-IS settings such as `emergency-department` or `gp-surgery`; `X-Kith-Encounter` names
//!   the caller's encounter (default: one per user and day), so a notifying role viewing a
//!   flagged child in unscheduled care tells the owning authority once per encounter.
//! - **Transaction** (`POST /fhir`, role `agency_system`): a Patient's `id` is the agency's
//!   local record id; an Encounter's `id` (else its first identifier) is its local id, its
//!   setting comes from [`care_setting_of`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use fhir::{
    Address, AdministrativeGender, AuditEvent, Bundle, CapabilityStatement, CodeableConcept,
    Coding, Consent, ConsentDecision, ConsentRecord, ContactHours, ContactPoint, Demographics,
    EncounterClass, EntryResponse, Extension, Flag, FlagStatus, Identifier, Issue, IssueSeverity,
    IssueType, MatchCandidate, MatchGrade, MatchRequest, NhsNumberVerificationStatus,
    OperationOutcome, Parameters, Patient, PatientLink, PixRequest, PixResponse, Provision,
    ProvisionActor, Reference, Resource, SafeguardingContact, SafeguardingFlag, SafeguardingKind,
    TokenParam, TokenSystem, Transaction, TransactionError, TransactionResource, Value,
    match_bundle, systems,
};
use governance::{Decision, Field, Purpose, Tier};
use ledger::{Entry, EventKind};
use registry::{Change, Grade, LinkAction, RegistryError};
use safeguarding::{CareSetting, EncounterRef, Viewer};
use serde_json::{Value as Json, json};
use store::{Holding, RegistryRecord};

use crate::api::{
    Caller, GovernedPerson, HolderDecisions, decide_for_holders, entry, governed_person, now,
    parse_purpose, permitted_entry, record_entries, require_role, resolve,
};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::{AppState, Services};

/// The FHIR JSON media type, sent on every answer.
pub(crate) const FHIR_JSON: &str = "application/fhir+json";
/// The purpose of use when a request names none.
pub(crate) const DEFAULT_PURPOSE: Purpose = Purpose::DirectCare;
const PURPOSE_HEADER: &str = "x-kith-purpose";
const SETTING_HEADER: &str = "x-kith-care-setting";
const ENCOUNTER_HEADER: &str = "x-kith-encounter";
/// The path the CapabilityStatement names as the FHIR base.
const BASE_PATH: &str = "/fhir";
/// Kith's extension on a Flag: one recent view of it (who, where, when).
pub(crate) const FLAG_ACCESS_EXTENSION: &str =
    "https://kith.example/StructureDefinition/safeguarding-flag-access";
/// Kith's extension on a Flag: when the publishing system last changed it (its freshness).
pub(crate) const FLAG_SOURCE_UPDATED_EXTENSION: &str =
    "https://kith.example/StructureDefinition/safeguarding-flag-source-updated";
/// Kith's code system for care settings, usable in `Encounter.type`.
pub(crate) const CARE_SETTING_SYSTEM: &str = "https://kith.example/CodeSystem/care-setting";
const UPN_SYSTEM: &str = "https://kith.example/Id/upn";
const PNC_SYSTEM: &str = "https://kith.example/Id/pnc";

/// The `/fhir` routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", post(transaction))
        .route("/metadata", get(metadata))
        .route("/Patient", get(search_patients))
        .route("/Patient/$match", post(match_patients))
        .route("/Patient/$ihe-pix", get(pix_get).post(pix_post))
        .route("/Patient/{id}", get(read_patient))
        .route("/Consent", get(search_consents))
        .route("/Flag", get(search_flags))
        .route("/AuditEvent", get(search_audit_events))
        .fallback(no_route)
}

// ---------------------------------------------------------------------------------------------
// Answers and errors
// ---------------------------------------------------------------------------------------------

/// A FHIR answer: a resource with its status, sent as `application/fhir+json`.
fn answer(status: StatusCode, resource: &Resource) -> Response {
    match serde_json::to_vec(resource) {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON))],
            body,
        )
            .into_response(),
        Err(e) => FhirError::from(ApiError::Internal(format!("FHIR JSON: {e}"))).into_response(),
    }
}

fn ok(resource: Resource) -> Response {
    answer(StatusCode::OK, &resource)
}

/// An error answered as an OperationOutcome.
#[derive(Debug)]
pub(crate) struct FhirError {
    status: StatusCode,
    // Boxed: an OperationOutcome is large, and errors travel through every `?`.
    outcome: Box<OperationOutcome>,
}

type FhirResult<T> = Result<T, FhirError>;

impl FhirError {
    fn new(status: StatusCode, outcome: OperationOutcome) -> FhirError {
        FhirError {
            status,
            outcome: Box::new(outcome),
        }
    }

    fn invalid(message: &str) -> FhirError {
        FhirError::new(StatusCode::BAD_REQUEST, OperationOutcome::invalid(message))
    }

    /// 422: the request is well-formed FHIR but an entry cannot be used.
    fn unprocessable(error: &TransactionError) -> FhirError {
        let mut outcome = error.outcome();
        for issue in &mut outcome.issue {
            issue.code = IssueType::Processing;
        }
        FhirError::new(StatusCode::UNPROCESSABLE_ENTITY, outcome)
    }
}

impl From<ApiError> for FhirError {
    fn from(error: ApiError) -> FhirError {
        let status = error.status();
        let code = match &error {
            ApiError::BadRequest(_) => IssueType::Invalid,
            ApiError::Unauthorised(_) => IssueType::Login,
            ApiError::Forbidden { .. } => IssueType::Forbidden,
            ApiError::NotFound(_) => IssueType::NotFound,
            ApiError::Conflict(_) => IssueType::Conflict,
            ApiError::UnsupportedMediaType(_) => IssueType::NotSupported,
            ApiError::Internal(detail) => {
                tracing::error!(detail = %detail, "internal error");
                IssueType::Exception
            }
        };
        let mut outcome = OperationOutcome::error(code, error.message());
        if let ApiError::Forbidden { reasons, .. } = &error {
            outcome.issue.extend(reasons.iter().map(|reason| Issue {
                severity: IssueSeverity::Information,
                code: IssueType::Forbidden,
                details: None,
                diagnostics: Some(reason.clone()),
                expression: Vec::new(),
            }));
        }
        FhirError::new(status, outcome)
    }
}

impl IntoResponse for FhirError {
    fn into_response(self) -> Response {
        let mut response = answer(self.status, &Resource::OperationOutcome(*self.outcome));
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Runs blocking work (store, registry, ledger) off the async threads, answering its failure
/// as an OperationOutcome.
async fn work<T: Send + 'static>(
    state: &AppState,
    task: impl FnOnce(&Services) -> Result<T, Outcome> + Send + 'static,
) -> FhirResult<T> {
    let services = state.0.clone();
    match tokio::task::spawn_blocking(move || task(&services)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(Outcome::Api(error))) => Err(error.into()),
        Ok(Err(Outcome::Fhir(error))) => Err(error),
        Err(e) => Err(ApiError::Internal(format!("task failed: {e}")).into()),
    }
}

/// A failure inside blocking work: an API error, or an OperationOutcome already shaped.
enum Outcome {
    Api(ApiError),
    Fhir(FhirError),
}

impl From<ApiError> for Outcome {
    fn from(error: ApiError) -> Outcome {
        Outcome::Api(error)
    }
}

impl From<FhirError> for Outcome {
    fn from(error: FhirError) -> Outcome {
        Outcome::Fhir(error)
    }
}

impl From<store::StoreError> for Outcome {
    fn from(error: store::StoreError) -> Outcome {
        Outcome::Api(error.into())
    }
}

impl From<RegistryError> for Outcome {
    fn from(error: RegistryError) -> Outcome {
        Outcome::Api(error.into())
    }
}

/// The authenticated caller; a failure answers a 401 OperationOutcome (and is recorded).
pub(crate) struct FhirCaller(Principal);

impl FromRequestParts<AppState> for FhirCaller {
    type Rejection = FhirError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> FhirResult<FhirCaller> {
        Caller::from_request_parts(parts, state)
            .await
            .map(|Caller(principal)| FhirCaller(principal))
            .map_err(FhirError::from)
    }
}

async fn no_route(method: Method, uri: Uri) -> FhirError {
    FhirError::new(
        StatusCode::NOT_FOUND,
        OperationOutcome::not_found(&format!(
            "no FHIR interaction {method} {}; see GET {BASE_PATH}/metadata for what Kith serves",
            uri.path()
        )),
    )
}

// ---------------------------------------------------------------------------------------------
// Request reading
// ---------------------------------------------------------------------------------------------

/// The query string as name/value pairs, percent-decoded, in order.
fn query_pairs(uri: &Uri) -> FhirResult<Vec<(String, String)>> {
    Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|Query(pairs)| pairs)
        .map_err(|e| FhirError::invalid(&format!("query string: {e}")))
}

/// The single value of search parameter `name`; refuses parameters the route does not take, so
/// a misspelt parameter is not silently ignored.
fn search_params(
    uri: &Uri,
    allowed: &[&str],
    resource: &str,
) -> FhirResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (name, value) in query_pairs(uri)? {
        if !allowed.contains(&name.as_str()) {
            return Err(FhirError::invalid(&format!(
                "unknown search parameter `{name}`; {resource} takes {}",
                allowed
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if out.insert(name.clone(), value).is_some() {
            return Err(FhirError::invalid(&format!(
                "search parameter `{name}` is given more than once; give it once"
            )));
        }
    }
    Ok(out)
}

/// The purpose of use: `_purpose`, else the `X-Kith-Purpose` header, else `direct_care`.
fn purpose_of(query: Option<&str>, headers: &HeaderMap) -> FhirResult<Purpose> {
    let from_header = headers.get(PURPOSE_HEADER).and_then(|v| v.to_str().ok());
    Ok(parse_purpose(query.or(from_header))?.unwrap_or(DEFAULT_PURPOSE))
}

/// The CCI in a `patient` / `entity` reference: `Patient/{cci}` or a bare CCI.
fn patient_reference(params: &BTreeMap<String, String>, name: &str) -> FhirResult<String> {
    let raw = params.get(name).ok_or_else(|| {
        FhirError::invalid(&format!(
            "search parameter `{name}` is required: `{name}=Patient/{{cci}}`"
        ))
    })?;
    let id = raw.strip_prefix("Patient/").unwrap_or(raw).trim();
    if id.is_empty() || id.contains('/') {
        return Err(FhirError::invalid(&format!(
            "search parameter `{name}` must be `Patient/{{cci}}`, found `{raw}`"
        )));
    }
    Ok(id.to_string())
}

/// The body, if its content type is FHIR JSON (or plain JSON).
fn fhir_body(headers: &HeaderMap, body: &Bytes) -> FhirResult<String> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if media != FHIR_JSON && media != "application/json" {
        return Err(ApiError::UnsupportedMediaType(format!(
            "send `Content-Type: {FHIR_JSON}` (or `application/json`), got `{content_type}`"
        ))
        .into());
    }
    String::from_utf8(body.to_vec())
        .map_err(|_| FhirError::invalid("request body is not UTF-8 text"))
}

/// The absolute FHIR base URL the caller reached, for `fullUrl`s and the CapabilityStatement:
/// the `Host` header (default `localhost`) and `X-Forwarded-Proto` (default `http`), then
/// `/fhir`.
fn base_url(headers: &HeaderMap) -> String {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty() && !v.contains(['/', ' ', '"']))
    };
    let scheme = match text("x-forwarded-proto") {
        Some("https") => "https",
        _ => "http",
    };
    let host = text(header::HOST.as_str()).unwrap_or("localhost");
    format!("{scheme}://{host}{BASE_PATH}")
}

fn lock_error(what: &str) -> ApiError {
    ApiError::Internal(format!("{what} lock poisoned"))
}

// ---------------------------------------------------------------------------------------------
// Governed Patient views
// ---------------------------------------------------------------------------------------------

fn permitted(decisions: &HolderDecisions) -> impl Iterator<Item = &(Holding, Decision)> {
    decisions.decisions.iter().filter(|(_, d)| d.is_permit())
}

/// A FHIR `date` (`YYYY`, `YYYY-MM` or `YYYY-MM-DD`); the store's approximate dates (`~2009`)
/// are left out.
fn fhir_date(raw: &str) -> Option<String> {
    let shape_ok = match raw.len() {
        4 | 7 | 10 => raw.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        }),
        _ => false,
    };
    shape_ok.then(|| raw.to_string())
}

fn gender_of(sex: &str) -> Option<AdministrativeGender> {
    match sex {
        "male" => Some(AdministrativeGender::Male),
        "female" => Some(AdministrativeGender::Female),
        "other" => Some(AdministrativeGender::Other),
        _ => None,
    }
}

/// A Patient from what the permitted holders' decisions disclose, holder by holder in order:
/// the name (with gender and the holder's NHS number, which identify as a name does), date of
/// birth, address line and postcode — each only from a holder that may disclose it.
fn patient_from(
    cci: &str,
    decisions: &HolderDecisions,
    identifiers: &[store::PersonIdentifier],
) -> Patient {
    let mut person = Demographics {
        cci: cci.to_string(),
        ..Demographics::default()
    };
    let mut address = Address::default();
    let mut named_by: BTreeSet<&str> = BTreeSet::new();
    for (holding, decision) in permitted(decisions) {
        let allowed = |f: Field| decision.disclosed.contains(&f);
        if allowed(Field::Name) {
            named_by.insert(holding.org_code.as_str());
            if person.given_names.is_empty() && person.family_name.is_none() {
                person.given_names = holding
                    .given_name
                    .iter()
                    .flat_map(|g| g.split_whitespace())
                    .map(str::to_string)
                    .collect();
                person.family_name.clone_from(&holding.family_name);
            }
            if person.gender.is_none() {
                person.gender = gender_of(&holding.sex);
            }
        }
        if allowed(Field::DateOfBirth) && person.birth_date.is_none() {
            person.birth_date = holding.birth_date.as_deref().and_then(fhir_date);
        }
        if allowed(Field::Address) && address.line.is_empty() {
            address.line = holding.address.iter().cloned().collect();
        }
        if allowed(Field::Postcode) && address.postal_code.is_none() {
            address.postal_code.clone_from(&holding.postcode);
        }
    }
    // A verified number first, then any other the naming holders hold.
    let mut numbers: Vec<&store::PersonIdentifier> = identifiers
        .iter()
        .filter(|i| i.system == "nhs" && named_by.contains(i.org_code.as_str()))
        .collect();
    numbers.sort_by_key(|i| i.status.as_deref() != Some("01"));
    person.nhs_number = numbers.into_iter().find_map(|i| {
        let number = i.value.parse::<model::NhsNumber>().ok()?;
        let status = i
            .status
            .as_deref()
            .and_then(NhsNumberVerificationStatus::from_code)
            .unwrap_or(NhsNumberVerificationStatus::PresentNotTraced);
        Some((number, status))
    });
    if !address.line.is_empty() || address.postal_code.is_some() {
        person.address = Some(address);
    }
    Patient::from_demographics(&person)
}

/// The Patient a caller may see for `cci` in a search: demographics if the summary tier is
/// permitted for some holder, only the identifier if only the existence tier is, `None` if
/// not even that. Every decision is recorded.
fn searched_patient(
    services: &Services,
    principal: &Principal,
    purpose: Purpose,
    cci: &str,
) -> Result<Option<Patient>, Outcome> {
    let holdings = services.pool.with(|store| store.registry().holdings(cci))?;
    let summary = decide_for_holders(
        services,
        principal,
        Some(purpose),
        cci,
        &holdings,
        Tier::Summary,
    )?;
    crate::api::record_decisions(services, &summary)?;
    if permitted(&summary).next().is_some() {
        let identifiers = services
            .pool
            .with(|store| store.registry().person_identifiers(cci))?;
        return Ok(Some(patient_from(cci, &summary, &identifiers)));
    }
    let existence = decide_for_holders(
        services,
        principal,
        Some(purpose),
        cci,
        &holdings,
        Tier::Existence,
    )?;
    crate::api::record_decisions(services, &existence)?;
    if permitted(&existence).next().is_some() {
        return Ok(Some(Patient::from_demographics(&Demographics {
            cci: cci.to_string(),
            ..Demographics::default()
        })));
    }
    Ok(None)
}

fn access_entry(
    principal: &Principal,
    subject: Option<&str>,
    purpose: Purpose,
    details: Json,
) -> Entry {
    let mut e = entry(principal, EventKind::Access, subject, details);
    e.purpose = Some(purpose.as_str().to_string());
    e.decision = Some(ledger::Decision::Permit);
    e
}

// ---------------------------------------------------------------------------------------------
// metadata
// ---------------------------------------------------------------------------------------------

/// How a client uses Kith's FHIR interface beyond what the CapabilityStatement's structure says.
pub(crate) const CONVENTIONS: &str = "Purpose of use: the `_purpose` query parameter, else the \
`X-Kith-Purpose` header, else `direct_care` (also safeguarding_s47, child_in_need_s17, \
early_help, supporting_families_identification, evaluation, research_planning). Select a role \
with `X-Kith-Role` when the token carries several. Flag search needs `X-Kith-Care-Setting` \
(emergency-department, urgent-treatment-centre, walk-in-centre, out-of-hours-gp, maternity, \
ambulance, gp-surgery, outpatients, school-nurse, health-visiting, community-health, \
mental-health) and takes `X-Kith-Encounter` (the caller's encounter id; default one per user \
and day): a notifying role in unscheduled care tells the owning local authority once per \
encounter. A transaction (role agency_system) takes Patients, whose `id` is the agency's local \
record id, and Encounters, whose `id` (else first identifier) is the local encounter id and \
whose care setting is an `Encounter.type` coding in https://kith.example/CodeSystem/care-setting \
(or a type text naming a setting), else from `Encounter.class`: EMER emergency-department, \
AMB gp-surgery for a GP practice (ODS code GP_…) and outpatients otherwise, HH health-visiting. \
A person the caller may not know about answers 404 like an unknown identifier.";

async fn metadata(headers: HeaderMap) -> Response {
    let mut statement =
        CapabilityStatement::kith(&base_url(&headers), env!("CARGO_PKG_VERSION"), "2026-11-24");
    for rest in &mut statement.rest {
        let documentation = rest.documentation.take().unwrap_or_default();
        rest.documentation = Some(format!("{documentation}. {CONVENTIONS}"));
        // Declare only what is served: Patient is read by id; Consent, Flag and AuditEvent
        // are searched by the child; Encounters are written through the transaction only.
        for resource in &mut rest.resource {
            if resource.resource_type != "Patient" {
                resource.interaction.retain(|i| i.code != "read");
            }
            if resource.resource_type == "Encounter" {
                resource.documentation =
                    Some("Written through the system `transaction` interaction".to_string());
            }
        }
    }
    ok(Resource::CapabilityStatement(statement))
}

// ---------------------------------------------------------------------------------------------
// Patient read and search
// ---------------------------------------------------------------------------------------------

async fn read_patient(
    State(state): State<AppState>,
    FhirCaller(principal): FhirCaller,
    axum::extract::Path(id): axum::extract::Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> FhirResult<Response> {
    let params = search_params(&uri, &["_purpose"], "Patient read")?;
    let purpose = purpose_of(params.get("_purpose").map(String::as_str), &headers)?;
    let patient = work(&state, move |services| {
        let GovernedPerson {
            resolution,
            decisions,
        } = governed_person(services, &principal, Some(purpose), &id, Tier::Summary)?;
        let current = resolution.current.clone();
        let identifiers = services
            .pool
            .with(|store| store.registry().person_identifiers(&current))?;
        let mut patient = patient_from(&current, &decisions, &identifiers);
        // A retired CCI reads as its survivor, which says which identifiers it replaced.
        patient.link = resolution
            .merged_via
            .iter()
            .map(|retired| PatientLink {
                other: Reference::patient(retired),
                link_type: "replaces".to_string(),
            })
            .collect();
        record_entries(
            services,
            vec![access_entry(
                &principal,
                Some(&current),
                purpose,
                json!({"fhir": "Patient.read", "requested": resolution.requested}),
            )],
        )?;
        Ok(patient)
    })
    .await?;
    Ok(ok(Resource::Patient(patient)))
}

async fn search_patients(
    State(state): State<AppState>,
    FhirCaller(principal): FhirCaller,
    uri: Uri,
    headers: HeaderMap,
) -> FhirResult<Response> {
    let params = search_params(&uri, &["identifier", "_purpose"], "Patient search")?;
    let purpose = purpose_of(params.get("_purpose").map(String::as_str), &headers)?;
    let raw = params.get("identifier").ok_or_else(|| {
        FhirError::invalid(
            "search parameter `identifier` is required: `identifier=https://fhir.nhs.uk/Id/nhs-number|{number}` or `https://kith.example/Id/cci|{cci}`",
        )
    })?;
    let token = TokenParam::parse(raw)
        .map_err(|e| FhirError::new(StatusCode::BAD_REQUEST, e.outcome("identifier")))?;
    let (TokenSystem::Is(system), Some(value)) = (token.system, token.code) else {
        return Err(FhirError::invalid(&format!(
            "search parameter `identifier` must be `system|value` with both parts, found `{raw}`"
        )));
    };
    if system == systems::NHS_NUMBER {
        value
            .parse::<model::NhsNumber>()
            .map_err(|e| FhirError::invalid(&format!("search parameter `identifier`: {e}")))?;
    }
    let base = base_url(&headers);
    let bundle = work(&state, move |services| {
        let found = {
            let registry = services
                .registry
                .read()
                .map_err(|_| lock_error("registry"))?;
            services
                .pool
                .with(|store| registry.xref(store, &system, &value, &[]))
        };
        let cci = match found {
            Ok(xref) => Some(xref.cci),
            Err(RegistryError::UnknownIdentifier { .. } | RegistryError::InvalidCci { .. }) => None,
            Err(other) => return Err(other.into()),
        };
        let patient = match &cci {
            Some(cci) => searched_patient(services, &principal, purpose, cci)?,
            None => None,
        };
        let mut search = entry(
            &principal,
            EventKind::Access,
            None,
            json!({"fhir": "Patient.search", "results": usize::from(patient.is_some())}),
        );
        search.purpose = Some(purpose.as_str().to_string());
        record_entries(services, vec![search])?;
        Ok(Bundle::searchset(
            &base,
            patient.into_iter().map(Resource::Patient).collect(),
        ))
    })
    .await?;
    Ok(ok(Resource::Bundle(bundle)))
}

// ---------------------------------------------------------------------------------------------
// $match
// ---------------------------------------------------------------------------------------------

fn match_grade(grade: Grade) -> MatchGrade {
    match grade {
        Grade::Certain => MatchGrade::Certain,
        Grade::Probable => MatchGrade::Probable,
        Grade::Possible => MatchGrade::Possible,
        Grade::CertainlyNot => MatchGrade::CertainlyNot,
    }
}

/// The name a Patient is best known by: `official`, else `usual`, else the first.
fn main_name(patient: &Patient) -> Option<&fhir::HumanName> {
    ["official", "usual"]
        .iter()
        .find_map(|u| patient.name.iter().find(|n| n.use_.as_deref() == Some(u)))
        .or_else(|| patient.name.first())
}

fn gender_code(gender: Option<AdministrativeGender>) -> &'static str {
    match gender {
        Some(AdministrativeGender::Male) => "male",
        Some(AdministrativeGender::Female) => "female",
        Some(AdministrativeGender::Other) => "other",
        Some(AdministrativeGender::Unknown) | None => "unknown",
    }
}

async fn match_patients(
    State(state): State<AppState>,
    FhirCaller(principal): FhirCaller,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> FhirResult<Response> {
    let params = search_params(&uri, &["_purpose"], "$match")?;
    let purpose = purpose_of(params.get("_purpose").map(String::as_str), &headers)?;
    let text = fhir_body(&headers, &body)?;
    let request = MatchRequest::from_json(&text)
        .map_err(|e| FhirError::new(StatusCode::BAD_REQUEST, e.outcome()))?;
    let base = base_url(&headers);
    let bundle = work(&state, move |services| {
        let patient = &request.patient;
        let name = main_name(patient);
        let record = RegistryRecord {
            id: -1,
            org_code: principal.org.clone(),
            local_id: "fhir-match".into(),
            given_name: name.and_then(|n| n.given.first().cloned()),
            middle_names: name
                .map(|n| {
                    n.given
                        .iter()
                        .skip(1)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .filter(|m| !m.is_empty()),
            family_name: name.and_then(|n| n.family.clone()),
            birth_date: patient.birth_date.clone(),
            sex: gender_code(patient.gender).to_string(),
            postcode: patient.address.iter().find_map(|a| a.postal_code.clone()),
            nhs_number: request.nhs_number.as_ref().map(|n| n.as_str().to_string()),
            nhs_number_status: request.nhs_number.as_ref().map(|_| "01".to_string()),
            ..RegistryRecord::default()
        };
        let found = {
            let registry = services
                .registry
                .read()
                .map_err(|_| lock_error("registry"))?;
            services
                .pool
                .with(|store| registry.search(store, &record))?
        };
        let mut candidates = Vec::new();
        for candidate in found.into_iter().filter(|c| c.grade != Grade::CertainlyNot) {
            if request.only_certain_matches && candidate.grade != Grade::Certain {
                continue;
            }
            if let Some(patient) = searched_patient(services, &principal, purpose, &candidate.cci)?
            {
                candidates.push(MatchCandidate {
                    patient,
                    grade: match_grade(candidate.grade),
                    score: (candidate.probability * 1e4).round() / 1e4,
                });
            }
        }
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
        if let Some(count) = request.count {
            candidates.truncate(usize::try_from(count).unwrap_or(usize::MAX));
        }
        let mut search = entry(
            &principal,
            EventKind::Access,
            None,
            json!({"fhir": "Patient.$match", "results": candidates.len()}),
        );
        search.purpose = Some(purpose.as_str().to_string());
        record_entries(services, vec![search])?;
        Ok(match_bundle(&base, &candidates))
    })
    .await?;
    Ok(ok(Resource::Bundle(bundle)))
}

// ---------------------------------------------------------------------------------------------
// $ihe-pix
// ---------------------------------------------------------------------------------------------

async fn pix_get(
    State(state): State<AppState>,
    FhirCaller(principal): FhirCaller,
    uri: Uri,
    headers: HeaderMap,
) -> FhirResult<Response> {
    let pairs = query_pairs(&uri)?;
    let mut sources = Vec::new();
    let mut targets = Vec::new();
    let mut purpose = None;
    for (name, value) in &pairs {
        match name.as_str() {
            "sourceIdentifier" => sources.push(value.as_str()),
            "targetSystem" => targets.push(value.as_str()),
            "_purpose" => purpose = Some(value.as_str()),
            other => {
                return Err(FhirError::invalid(&format!(
                    "unknown parameter `{other}`; `$ihe-pix` takes `sourceIdentifier`, `targetSystem` and `_purpose`"
                )));
            }
        }
    }
    let purpose = purpose_of(purpose, &headers)?;
    let request = PixRequest::from_query(&sources, &targets)
        .map_err(|e| FhirError::new(StatusCode::BAD_REQUEST, e.outcome()))?;
    pix(state, principal, purpose, request).await
}

async fn pix_post(
    State(state): State<AppState>,
    FhirCaller(principal): FhirCaller,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> FhirResult<Response> {
    let params = search_params(&uri, &["_purpose"], "$ihe-pix")?;
    let purpose = purpose_of(params.get("_purpose").map(String::as_str), &headers)?;
    let text = fhir_body(&headers, &body)?;
    let value: Json = serde_json::from_str(&text)
        .map_err(|e| FhirError::invalid(&format!("request body is not JSON: {e}")))?;
    let parameters = match Resource::from_value(value) {
        Ok(Resource::Parameters(parameters)) => parameters,
        Ok(other) => {
            return Err(FhirError::invalid(&format!(
                "request body must be a Parameters resource, found {}",
                other.resource_type()
            )));
        }
        Err(e) => return Err(FhirError::invalid(&format!("request body: {e}"))),
    };
    let request = PixRequest::from_parameters(&parameters)
        .map_err(|e| FhirError::new(StatusCode::BAD_REQUEST, e.outcome()))?;
    pix(state, principal, purpose, request).await
}

async fn pix(
    state: AppState,
    principal: Principal,
    purpose: Purpose,
    request: PixRequest,
) -> FhirResult<Response> {
    let parameters = work(&state, move |services| {
        let unknown = || {
            FhirError::new(
                StatusCode::NOT_FOUND,
                OperationOutcome::not_found(&format!(
                    "no person you may see has the identifier `{}|{}`",
                    request.source_system, request.source_value
                )),
            )
        };
        let found = {
            let registry = services
                .registry
                .read()
                .map_err(|_| lock_error("registry"))?;
            services.pool.with(|store| {
                registry.xref(
                    store,
                    &request.source_system,
                    &request.source_value,
                    &request.target_systems,
                )
            })
        };
        let xref = match found {
            Ok(xref) => xref,
            Err(RegistryError::UnknownIdentifier { .. } | RegistryError::InvalidCci { .. }) => {
                let mut e = entry(
                    &principal,
                    EventKind::Access,
                    None,
                    json!({"fhir": "Patient.$ihe-pix", "found": false}),
                );
                e.decision = Some(ledger::Decision::Deny);
                e.reasons = vec!["unknown identifier".into()];
                record_entries(services, vec![e])?;
                return Err(unknown().into());
            }
            Err(other) => return Err(other.into()),
        };
        let holdings = services
            .pool
            .with(|store| store.registry().holdings(&xref.cci))?;
        let decisions = decide_for_holders(
            services,
            &principal,
            Some(purpose),
            &xref.cci,
            &holdings,
            Tier::Existence,
        )?;
        crate::api::record_decisions(services, &decisions)?;
        let visible: BTreeSet<&str> = permitted(&decisions)
            .map(|(h, _)| h.org_code.as_str())
            .collect();
        if visible.is_empty() {
            return Err(unknown().into());
        }
        // Only identifiers held by an organisation the caller may know holds the child, and
        // Kith's own CCI; never the one the caller already gave.
        let target_identifiers: Vec<Identifier> = xref
            .identifiers
            .iter()
            .filter(|i| {
                i.source == "kith"
                    || i.source
                        .split_once(':')
                        .is_some_and(|(org, _)| visible.contains(org))
            })
            .filter(|i| i.system != request.source_system || i.value != request.source_value)
            .map(|i| {
                if i.system == systems::KITH_CCI {
                    Identifier::cci(&i.value)
                } else {
                    Identifier::new(&i.system, &i.value)
                }
            })
            .collect();
        record_entries(
            services,
            vec![access_entry(
                &principal,
                Some(&xref.cci),
                purpose,
                json!({"fhir": "Patient.$ihe-pix", "identifiers": target_identifiers.len()}),
            )],
        )?;
        if target_identifiers.is_empty() {
            return Ok(Parameters::new(Vec::new()));
        }
        Ok(PixResponse {
            target_identifiers,
            target_ids: vec![Reference::patient(&xref.cci)],
        }
        .to_parameters())
    })
    .await?;
    Ok(ok(Resource::Parameters(parameters)))
}

// ---------------------------------------------------------------------------------------------
// Consent
// ---------------------------------------------------------------------------------------------

fn purpose_coding(purpose: Purpose) -> Coding {
    Coding::new(
        systems::KITH_PURPOSE_OF_USE,
        purpose.as_str(),
        purpose.as_str(),
    )
}

/// A governance consent as a FHIR Consent: the first provision decides `provision.type`
/// (and so the policy rule); every provision is listed as a nested provision with its own
/// purposes and recipients.
fn consent_resource(consent: &governance::consent::Consent, cci: &str) -> Consent {
    use governance::consent::{Consenter, ProvisionKind};
    let today = now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let ended =
        consent.withdrawn.is_some_and(|d| d <= today) || consent.expires.is_some_and(|d| d < today);
    let given_by = match &consent.given_by {
        Consenter::Child => Reference::patient(cci).with_display("the child"),
        Consenter::Parent { name, .. } => Reference {
            resource_type: Some("RelatedPerson".to_string()),
            display: Some(name.clone()),
            ..Reference::default()
        },
    };
    let kind_of = |kind: ProvisionKind| match kind {
        ProvisionKind::Permit => "permit",
        ProvisionKind::Deny => "deny",
    };
    let recipients = |codes: &[String]| {
        codes
            .iter()
            .map(|code| ProvisionActor::recipient(Reference::organisation(code, code)))
            .collect::<Vec<_>>()
    };
    let decision = match consent.provisions.first().map(|p| p.kind) {
        Some(ProvisionKind::Deny) => ConsentDecision::Deny,
        _ => ConsentDecision::Permit,
    };
    let end = consent.withdrawn.or(consent.expires).map(|d| d.to_string());
    let mut resource = Consent::sharing(&ConsentRecord {
        id: format!("{}-v{}", consent.id, consent.version),
        patient_cci: cci.to_string(),
        status: if ended { "inactive" } else { "active" }.to_string(),
        decision,
        date_time: consent.date.to_string(),
        given_by,
        recorded_by: Reference::organisation("KITH", "Kith governance register"),
        purposes: Vec::new(),
        recipients: Vec::new(),
        period: Some(fhir::Period::new(
            Some(&consent.date.to_string()),
            end.as_deref(),
        )),
    });
    if let Some(provision) = resource.provision.as_mut() {
        provision.provision = consent
            .provisions
            .iter()
            .map(|p| Provision {
                provision_type: Some(kind_of(p.kind).to_string()),
                actor: recipients(&p.recipients),
                purpose: p
                    .purposes
                    .iter()
                    .map(|purpose| purpose_coding(*purpose))
                    .collect(),
                ..Provision::default()
            })
            .collect();
    }
    resource
}

async fn search_consents(
    State(state): State<AppState>,
    FhirCaller(principal): FhirCaller,
    uri: Uri,
    headers: HeaderMap,
) -> FhirResult<Response> {
    let params = search_params(&uri, &["patient", "_purpose"], "Consent search")?;
    let purpose = purpose_of(params.get("_purpose").map(String::as_str), &headers)?;
    let cci = patient_reference(&params, "patient")?;
    let base = base_url(&headers);
    let bundle = work(&state, move |services| {
        let GovernedPerson { resolution, .. } =
            governed_person(services, &principal, Some(purpose), &cci, Tier::Summary)?;
        let current = resolution.current.clone();
        let governance = services
            .governance
            .read()
            .map_err(|_| lock_error("governance"))?
            .clone();
        let mut ccis = resolution.merged_via.clone();
        ccis.push(current.clone());
        let consents: Vec<Resource> = ccis
            .iter()
            .flat_map(|c| governance.consents_for(c))
            .map(|c| Resource::Consent(consent_resource(c, &current)))
            .collect();
        record_entries(
            services,
            vec![access_entry(
                &principal,
                Some(&current),
                purpose,
                json!({"fhir": "Consent.search", "results": consents.len()}),
            )],
        )?;
        Ok(Bundle::searchset(&base, consents))
    })
    .await?;
    Ok(ok(Resource::Bundle(bundle)))
}

// ---------------------------------------------------------------------------------------------
// Flag
// ---------------------------------------------------------------------------------------------

fn flag_kind(kind: safeguarding::FlagKind) -> SafeguardingKind {
    match kind {
        safeguarding::FlagKind::ChildProtectionPlan => SafeguardingKind::ChildProtectionPlan,
        safeguarding::FlagKind::LookedAfterChild => SafeguardingKind::LookedAfterChild,
        safeguarding::FlagKind::UnbornChildProtectionPlan => {
            SafeguardingKind::UnbornChildProtectionPlan
        }
    }
}

fn contact_points(contact: &safeguarding::Contact) -> Vec<ContactPoint> {
    [
        (!contact.phone.is_empty()).then(|| ContactPoint::work_phone(&contact.phone)),
        (!contact.email.is_empty()).then(|| ContactPoint::work_email(&contact.email)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A shown flag as a UK Core Flag, with its recent views and its source's last change as
/// Kith extensions.
fn flag_resource(shown: &safeguarding::ShownFlag) -> Flag {
    let flag = &shown.flag;
    let mut resource = Flag::safeguarding(&SafeguardingFlag {
        id: shown.id.to_string(),
        patient_cci: flag.cci.clone(),
        kind: flag_kind(flag.kind),
        status: FlagStatus::Active,
        start: flag.start_date.to_string(),
        end: flag.end_date.map(|d| d.to_string()),
        local_authority: Reference::organisation(&flag.owner.code, &flag.owner.name),
        contacts: vec![
            SafeguardingContact {
                hours: ContactHours::OfficeHours,
                name: flag.owner.name.clone(),
                telecom: contact_points(&flag.office_hours),
            },
            SafeguardingContact {
                hours: ContactHours::OutOfHours,
                name: flag.owner.name.clone(),
                telecom: contact_points(&flag.out_of_hours),
            },
        ],
    });
    resource.extension.push(Extension::with_value(
        FLAG_SOURCE_UPDATED_EXTENSION,
        Value::DateTime(safeguarding::stored_time(flag.source_updated_at)),
    ));
    resource
        .extension
        .extend(shown.recent_accesses.iter().map(|access| {
            Extension::complex(
                FLAG_ACCESS_EXTENSION,
                vec![
                    Extension::with_value("viewer", Value::String(access.viewer.clone())),
                    Extension::with_value(
                        "organisation",
                        Value::Identifier(Identifier::new(
                            systems::ODS_ORGANISATION_CODE,
                            &access.org_code,
                        )),
                    ),
                    Extension::with_value("role", Value::Code(access.role.clone())),
                    Extension::with_value("setting", Value::Code(access.setting.clone())),
                    Extension::with_value("at", Value::DateTime(access.at.clone())),
                ],
            )
        }));
    resource
}

fn organisation_name(services: &Services, code: &str) -> Result<String, Outcome> {
    let organisations = services.pool.with(|store| store.organisations())?;
    Ok(organisations
        .into_iter()
        .find(|o| o.code == code)
        .map(|o| o.name)
        .unwrap_or_else(|| code.to_string()))
}

fn safeguarding_error(error: safeguarding::Error) -> Outcome {
    match error {
        safeguarding::Error::InvalidCci { .. }
        | safeguarding::Error::Missing { .. }
        | safeguarding::Error::UnknownSetting(_) => {
            Outcome::Api(ApiError::BadRequest(error.to_string()))
        }
        other => Outcome::Api(ApiError::Internal(format!("safeguarding: {other}"))),
    }
}

async fn search_flags(
    State(state): State<AppState>,
    FhirCaller(principal): FhirCaller,
    uri: Uri,
    headers: HeaderMap,
) -> FhirResult<Response> {
    let params = search_params(&uri, &["patient", "_purpose"], "Flag search")?;
    let purpose = purpose_of(params.get("_purpose").map(String::as_str), &headers)?;
    let cci = patient_reference(&params, "patient")?;
    let setting: CareSetting = headers
        .get(SETTING_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            FhirError::invalid(
                "header `X-Kith-Care-Setting` is required for Flag: where the child is being seen, such as `emergency-department` or `gp-surgery`",
            )
        })?
        .parse()
        .map_err(|e: safeguarding::Error| {
            FhirError::invalid(&format!("header `X-Kith-Care-Setting`: {e}"))
        })?;
    let encounter_header = headers
        .get(ENCOUNTER_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let base = base_url(&headers);
    let bundle = work(&state, move |services| {
        let GovernedPerson {
            resolution,
            decisions,
        } = governed_person(services, &principal, Some(purpose), &cci, Tier::Summary)?;
        let current = resolution.current.clone();
        if !permitted(&decisions).any(|(_, d)| d.disclosed.contains(&Field::SafeguardingFlags)) {
            return Err(ApiError::Forbidden {
                message: "no agreement shares safeguarding flags with you for this purpose".into(),
                reasons: vec![format!(
                    "the permitted agreements do not list the field `{}`",
                    Field::SafeguardingFlags.as_str()
                )],
            }
            .into());
        }
        let at = now();
        let local_id = encounter_header.unwrap_or_else(|| {
            format!("view:{}:{}", principal.user, safeguarding::england_date(at))
        });
        let viewer = Viewer {
            user: principal.user.clone(),
            organisation: safeguarding::Organisation {
                code: principal.org.clone(),
                name: organisation_name(services, &principal.org)?,
            },
            role: principal.role.clone(),
            setting,
            encounter: EncounterRef {
                source_org: principal.org.clone(),
                local_id,
            },
        };
        let viewed = services
            .pool
            .with(|store| {
                safeguarding::view_flags(store, &services.notify_policy, &viewer, &current, at)
            })
            .map_err(safeguarding_error)?;
        if !viewed.notifications.is_empty() {
            services.wake.wake();
        }
        record_entries(
            services,
            vec![access_entry(
                &principal,
                Some(&current),
                purpose,
                json!({
                    "fhir": "Flag.search", "flags": viewed.flags.len(),
                    "setting": setting.as_str(), "notifications": viewed.notifications,
                }),
            )],
        )?;
        Ok(Bundle::searchset(
            &base,
            viewed
                .flags
                .iter()
                .map(|f| Resource::Flag(flag_resource(f)))
                .collect(),
        ))
    })
    .await?;
    Ok(ok(Resource::Bundle(bundle)))
}

// ---------------------------------------------------------------------------------------------
// AuditEvent
// ---------------------------------------------------------------------------------------------

/// A ledger entry about the child as an AuditEvent.
fn audit_event(e: &Entry, cci: &str, origin: &str) -> AuditEvent {
    let interaction = match e.kind {
        EventKind::Access | EventKind::Decision | EventKind::Override => fhir::Interaction::Read,
        EventKind::IdentityChange | EventKind::ConsentChange => fhir::Interaction::Update,
        _ => fhir::Interaction::Operation,
    };
    let denied = e.decision == Some(ledger::Decision::Deny);
    let purpose = e.purpose.as_deref().unwrap_or("unstated");
    let role = if e.role.is_empty() {
        "none"
    } else {
        e.role.as_str()
    };
    let recorded = e
        .time
        .parse::<jiff::Timestamp>()
        .map(safeguarding::stored_time)
        .unwrap_or_else(|_| e.time.clone());
    let mut user = Reference {
        display: Some(e.actor_user.clone()),
        ..Reference::default()
    };
    if let Some(via) = e.details.get("via").and_then(Json::as_str) {
        user.display = Some(format!("{} via {via}", e.actor_user));
    }
    AuditEvent::access(&fhir::Access {
        id: format!("ledger-{}", e.seq),
        recorded,
        interaction,
        user,
        organisation: Reference::organisation(&e.actor_org, &e.actor_org),
        role: CodeableConcept::coded(systems::KITH_ROLE, role, role),
        purpose: CodeableConcept::coded(systems::KITH_PURPOSE_OF_USE, purpose, purpose),
        patient_cci: cci.to_string(),
        outcome: if denied {
            fhir::AuditOutcome::MinorFailure
        } else {
            fhir::AuditOutcome::Success
        },
        outcome_description: (!e.reasons.is_empty()).then(|| e.reasons.join("; ")),
        observer: Reference {
            display: Some(origin.to_string()),
            ..Reference::default()
        },
    })
}

async fn search_audit_events(
    State(state): State<AppState>,
    FhirCaller(principal): FhirCaller,
    uri: Uri,
    headers: HeaderMap,
) -> FhirResult<Response> {
    require_role(&principal, &["ig_lead", "caldicott_guardian"])?;
    let params = search_params(&uri, &["entity"], "AuditEvent search")?;
    let cci = patient_reference(&params, "entity")?;
    let base = base_url(&headers);
    let bundle = work(&state, move |services| {
        let resolution = resolve(services, &principal, &cci)?;
        let current = resolution.current.clone();
        let today = now().to_zoned(jiff::tz::TimeZone::UTC).date().to_string();
        let view = {
            let mut reader = services
                .audit_reader
                .lock()
                .map_err(|_| lock_error("audit reader"))?;
            reader
                .subject_view(&current, &today)
                .map_err(ApiError::from)?
        };
        // As in the JSON subject-access report: the reviewing organisation's own reads of the
        // report are not news to it.
        let events: Vec<Resource> = view
            .entries
            .iter()
            .filter(|e| e.actor_org != principal.org || e.kind != EventKind::Access)
            .map(|e| Resource::AuditEvent(audit_event(e, &current, &services.origin)))
            .collect();
        let e = permitted_entry(
            &principal,
            EventKind::Access,
            Some(&current),
            json!({"fhir": "AuditEvent.search", "subject_access_report": true, "entries": events.len()}),
        );
        record_entries(services, vec![e])?;
        Ok(Bundle::searchset(&base, events))
    })
    .await?;
    Ok(ok(Resource::Bundle(bundle)))
}

// ---------------------------------------------------------------------------------------------
// Transaction: agency Patients and Encounters
// ---------------------------------------------------------------------------------------------

/// Where an Encounter happened: an `Encounter.type` coding in [`CARE_SETTING_SYSTEM`] (or a
/// type text naming a setting) wins; else the class: `EMER` an emergency department, `AMB` a
/// GP surgery for a GP practice (ODS code `GP_…`) and outpatients otherwise, `HH` health
/// visiting. Any other class must say its setting in `type`.
pub(crate) fn care_setting_of(
    encounter: &fhir::Encounter,
    org: &str,
) -> Result<CareSetting, String> {
    for concept in &encounter.encounter_type {
        for coding in &concept.coding {
            if coding.system.as_deref() == Some(CARE_SETTING_SYSTEM) {
                let code = coding.code.as_deref().unwrap_or("");
                return code.parse().map_err(|e: safeguarding::Error| e.to_string());
            }
        }
        if let Some(setting) = concept.text.as_deref().and_then(|t| t.parse().ok()) {
            return Ok(setting);
        }
    }
    let class = encounter.class.code.as_deref().unwrap_or("");
    let emergency = EncounterClass::Emergency.coding().code;
    let ambulatory = EncounterClass::Ambulatory.coding().code;
    let home = EncounterClass::Home.coding().code;
    if Some(class) == emergency.as_deref() {
        Ok(CareSetting::EmergencyDepartment)
    } else if Some(class) == ambulatory.as_deref() {
        Ok(if org.starts_with("GP_") {
            CareSetting::GpSurgery
        } else {
            CareSetting::Outpatients
        })
    } else if Some(class) == home.as_deref() {
        Ok(CareSetting::HealthVisiting)
    } else {
        Err(format!(
            "class `{class}` does not say the care setting: add an `Encounter.type` coding in `{CARE_SETTING_SYSTEM}` such as `emergency-department` or `gp-surgery`"
        ))
    }
}

fn entry_error(index: usize, field: &str, problem: impl Into<String>) -> FhirError {
    FhirError::unprocessable(&TransactionError::Entry {
        index,
        field: field.to_string(),
        problem: problem.into(),
    })
}

/// Where an ingest column sits in a FHIR Patient.
fn patient_path(column: &str) -> &'static str {
    match column {
        "record_id" => "resource.id",
        "given_name" | "middle_names" => "resource.name.given",
        "family_name" => "resource.name.family",
        "date_of_birth" => "resource.birthDate",
        "sex" => "resource.gender",
        "postcode" => "resource.address.postalCode",
        "address" => "resource.address.line",
        "town" => "resource.address.city",
        _ => "resource.identifier",
    }
}

/// A Patient as the ingest canonical columns, so it is validated as an agency extract is.
fn canonical_row(patient: &Patient, record_id: &str) -> serde_json::Map<String, Json> {
    let mut row = serde_json::Map::new();
    row.insert("record_id".into(), record_id.into());
    if let Some(name) = main_name(patient) {
        if let Some(given) = name.given.first() {
            row.insert("given_name".into(), given.clone().into());
        }
        if name.given.len() > 1 {
            row.insert("middle_names".into(), name.given[1..].join(" ").into());
        }
        if let Some(family) = &name.family {
            row.insert("family_name".into(), family.clone().into());
        }
    }
    if let Some(birth_date) = &patient.birth_date {
        row.insert("date_of_birth".into(), birth_date.clone().into());
    }
    row.insert("sex".into(), gender_code(patient.gender).into());
    if let Some(address) = patient.address.first() {
        if !address.line.is_empty() {
            row.insert("address".into(), address.line.join(", ").into());
        }
        if let Some(city) = &address.city {
            row.insert("town".into(), city.clone().into());
        }
        if let Some(postcode) = &address.postal_code {
            row.insert("postcode".into(), postcode.clone().into());
        }
    }
    if let Some(nhs) = patient.nhs_number_value() {
        row.insert("nhs_number".into(), nhs.into());
        if let Some(status) = patient.nhs_number_status() {
            row.insert("nhs_number_status".into(), status.code().into());
        }
    }
    for (system, column) in [(UPN_SYSTEM, "upn"), (PNC_SYSTEM, "pnc_id")] {
        if let Some(value) = patient.identifiers_in(system).next() {
            row.insert(column.into(), value.into());
        }
    }
    row
}

/// A Patient entry, validated.
struct PatientWrite {
    index: usize,
    record: model::PersonRecord,
    birth_date_raw: Option<String>,
    warnings: Vec<String>,
}

/// Whom an Encounter is about.
enum Subject {
    /// The Patient at this position in the transaction.
    Entry(usize),
    /// A stored person (resolved to the current CCI).
    Person(String),
}

/// An Encounter entry, validated.
struct EncounterWrite {
    index: usize,
    local_id: String,
    subject: Subject,
    setting: CareSetting,
    started_at: jiff::Timestamp,
}

/// Validates the Patients through ingest, exactly as an agency extract row; a rejected value,
/// or an identifier or birth date ingest would drop, refuses the whole transaction.
fn validate_patients(
    principal: &Principal,
    patients: &[(usize, Option<String>, &Patient)],
) -> FhirResult<Vec<PatientWrite>> {
    if patients.is_empty() {
        return Ok(Vec::new());
    }
    let mut ndjson = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, _, patient) in patients {
        let record_id = patient
            .id
            .as_deref()
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| {
                entry_error(
                    *index,
                    "resource.id",
                    "missing; a Patient's id is the agency's local record id",
                )
            })?;
        if let Some(first) = seen.insert(record_id.to_string(), *index) {
            return Err(entry_error(
                *index,
                "resource.id",
                format!("`{record_id}` is also entry[{first}]; send each record once"),
            ));
        }
        let row = canonical_row(patient, record_id);
        ndjson.extend(
            serde_json::to_vec(&row).map_err(|e| ApiError::Internal(format!("row JSON: {e}")))?,
        );
        ndjson.push(b'\n');
    }
    let options = ingest::ReadOptions {
        org: Some(principal.org.clone()),
        ..ingest::ReadOptions::default()
    };
    let extract =
        ingest::Extract::from_reader("fhir.ndjson", std::io::Cursor::new(ndjson), &options)
            .map_err(|e| FhirError::invalid(&e.to_string()))?;
    let mut out = Vec::new();
    for (row, (index, _, _)) in extract.zip(patients.iter()) {
        let row = row.map_err(|e| entry_error(*index, "resource", e.to_string()))?;
        let mut warnings = Vec::new();
        for issue in &row.issues {
            let column = issue.field.as_deref().unwrap_or("record_id");
            let fatal = issue.severity == ingest::Severity::Rejected
                || matches!(
                    column,
                    "nhs_number" | "nhs_number_status" | "upn" | "pnc_id" | "date_of_birth"
                );
            if fatal {
                // Ingest would load the row without the value; a transaction is refused instead.
                let problem = issue.message.split("; loaded").next().unwrap_or_default();
                return Err(entry_error(*index, patient_path(column), problem));
            }
            warnings.push(format!("{}: {}", patient_path(column), issue.message));
        }
        match row.value {
            ingest::RowValue::Record {
                record,
                birth_date_raw,
            } => out.push(PatientWrite {
                index: *index,
                record,
                birth_date_raw,
                warnings,
            }),
            _ => return Err(entry_error(*index, "resource", "not a person record")),
        }
    }
    if out.len() != patients.len() {
        return Err(ApiError::Internal("ingest returned fewer rows than Patients".into()).into());
    }
    Ok(out)
}

/// Validates an Encounter: its local id, setting, start instant and subject. A stored subject
/// must be a person the sending organisation holds a record of; any other answers like an
/// unknown identifier.
fn validate_encounter(
    services: &Services,
    principal: &Principal,
    index: usize,
    encounter: &fhir::Encounter,
    patients_by_url: &HashMap<&str, usize>,
) -> Result<EncounterWrite, Outcome> {
    let local_id = encounter
        .id
        .clone()
        .or_else(|| encounter.identifier.iter().find_map(|i| i.value.clone()))
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| {
            entry_error(
                index,
                "resource.id",
                "missing; an Encounter's id (or first identifier) is the agency's local encounter id",
            )
        })?;
    let setting = care_setting_of(encounter, &principal.org)
        .map_err(|problem| entry_error(index, "resource.type", problem))?;
    let start = encounter
        .period
        .as_ref()
        .and_then(|p| p.start.as_deref())
        .ok_or_else(|| {
            entry_error(
                index,
                "resource.period.start",
                "missing; when did the child arrive?",
            )
        })?;
    let started_at: jiff::Timestamp = start.parse().map_err(|_| {
        entry_error(
            index,
            "resource.period.start",
            format!("`{start}` is not an instant with a time zone, such as `2026-03-01T10:00:00Z`"),
        )
    })?;
    let reference = encounter
        .subject
        .as_ref()
        .and_then(|s| s.reference.as_deref())
        .unwrap_or("");
    let subject = if let Some(position) = patients_by_url.get(reference) {
        Subject::Entry(*position)
    } else {
        let cci = reference.strip_prefix("Patient/").unwrap_or(reference);
        let resolution = resolve(services, principal, cci).map_err(|error| match error {
            ApiError::NotFound(message) | ApiError::BadRequest(message) => {
                Outcome::Fhir(entry_error(index, "resource.subject.reference", message))
            }
            other => Outcome::Api(other),
        })?;
        let holdings = services
            .pool
            .with(|store| store.registry().holdings(&resolution.current))?;
        if !holdings.iter().any(|h| h.org_code == principal.org) {
            return Err(entry_error(
                index,
                "resource.subject.reference",
                crate::api::not_visible(cci).message().to_string(),
            )
            .into());
        }
        Subject::Person(resolution.current)
    };
    Ok(EncounterWrite {
        index,
        local_id,
        subject,
        setting,
        started_at,
    })
}

/// Stores an agency's person records as one ingest batch and links each to a CCI in real
/// time: the path `POST /api/records` takes, shared here for the FHIR transaction.
pub(crate) fn store_and_link(
    services: &Services,
    principal: &Principal,
    records: Vec<(u64, model::PersonRecord, Option<String>)>,
    source_label: &str,
) -> Result<Vec<registry::LinkOutcome>, ApiError> {
    let at = now().to_string();
    let chunk = store::Chunk {
        last_line: records.iter().map(|(line, _, _)| *line).max().unwrap_or(0),
        records,
        ..store::Chunk::default()
    };
    let stored: Vec<i64> = services.pool.with(|store| -> Result<_, ApiError> {
        let batch = store.begin_batch(&store::NewBatch {
            file_name: format!("{source_label}:{}", principal.user),
            file_sha256: format!("{source_label}-{}-{at}", principal.org),
            org_code: Some(principal.org.clone()),
            kind: "records".into(),
            started_at: at.clone(),
        })?;
        store.apply_chunk(batch.id, &chunk)?;
        store.finish_batch(batch.id, &at)?;
        chunk
            .records
            .iter()
            .map(|(_, r, _)| {
                store
                    .registry()
                    .record_id(&r.source, &r.local_id)?
                    .ok_or_else(|| ApiError::Internal("stored record vanished".into()))
            })
            .collect()
    })?;
    let registry = services
        .registry
        .read()
        .map_err(|_| lock_error("registry"))?;
    let actor = format!("{}@{}", principal.user, principal.org);
    let mut linked = Vec::with_capacity(stored.len());
    for id in stored {
        linked.push(services.pool.with(|store| {
            registry.link_record(
                store,
                id,
                Change {
                    actor: &actor,
                    at: &at,
                    reason: None,
                },
            )
        })?);
    }
    Ok(linked)
}

fn warnings_outcome(messages: &[String]) -> Option<Box<Resource>> {
    (!messages.is_empty()).then(|| {
        Box::new(Resource::OperationOutcome(OperationOutcome {
            id: None,
            meta: None,
            issue: messages
                .iter()
                .map(|m| Issue {
                    severity: IssueSeverity::Warning,
                    code: IssueType::Value,
                    details: None,
                    diagnostics: Some(m.clone()),
                    expression: Vec::new(),
                })
                .collect(),
        }))
    })
}

fn information(message: String) -> Issue {
    Issue {
        severity: IssueSeverity::Information,
        code: IssueType::Informational,
        details: None,
        diagnostics: Some(message),
        expression: Vec::new(),
    }
}

async fn transaction(
    State(state): State<AppState>,
    FhirCaller(principal): FhirCaller,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> FhirResult<Response> {
    require_role(&principal, &["agency_system"])?;
    let params = search_params(&uri, &["_purpose"], "a transaction")?;
    let purpose = purpose_of(params.get("_purpose").map(String::as_str), &headers)?;
    let text = fhir_body(&headers, &body)?;
    let transaction = Transaction::from_json(&text)
        .map_err(|e| FhirError::new(StatusCode::BAD_REQUEST, e.outcome()))?;
    let bundle = work(&state, move |services| {
        // Validate every entry before writing anything.
        let patients: Vec<(usize, Option<String>, &Patient)> = transaction
            .entries
            .iter()
            .filter_map(|e| match &e.resource {
                TransactionResource::Patient(p) => Some((e.index, e.full_url.clone(), p)),
                TransactionResource::Encounter(_) => None,
            })
            .collect();
        let patient_writes = validate_patients(&principal, &patients)?;
        let patients_by_url: HashMap<&str, usize> = transaction
            .entries
            .iter()
            .filter(|e| matches!(e.resource, TransactionResource::Patient(_)))
            .filter_map(|e| e.full_url.as_deref().map(|u| (u, e.index)))
            .collect();
        let mut encounter_writes = Vec::new();
        let mut encounter_ids: HashMap<String, usize> = HashMap::new();
        for e in &transaction.entries {
            if let TransactionResource::Encounter(encounter) = &e.resource {
                let write =
                    validate_encounter(services, &principal, e.index, encounter, &patients_by_url)?;
                if let Some(first) = encounter_ids.insert(write.local_id.clone(), e.index) {
                    return Err(entry_error(
                        e.index,
                        "resource.id",
                        format!("`{}` is also entry[{first}]; send each encounter once", write.local_id),
                    )
                    .into());
                }
                encounter_writes.push(write);
            }
        }

        // Write: the Patients as one batch, linked; then each Encounter with its
        // notifications.
        let mut responses: BTreeMap<usize, EntryResponse> = BTreeMap::new();
        let mut cci_of_entry: HashMap<usize, String> = HashMap::new();
        let mut audit = Vec::new();
        if !patient_writes.is_empty() {
            let records = patient_writes
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    (
                        u64::try_from(i).unwrap_or(u64::MAX).saturating_add(1),
                        w.record.clone(),
                        w.birth_date_raw.clone(),
                    )
                })
                .collect();
            let linked = store_and_link(services, &principal, records, "fhir")?;
            for (write, outcome) in patient_writes.iter().zip(&linked) {
                let location = format!("Patient/{}", outcome.cci);
                let mut response = match outcome.action {
                    LinkAction::Created => EntryResponse::created(&location),
                    _ => EntryResponse::ok(&location),
                };
                response.outcome = warnings_outcome(&write.warnings);
                responses.insert(write.index, response);
                cci_of_entry.insert(write.index, outcome.cci.clone());
            }
            let mut e = permitted_entry(
                &principal,
                EventKind::AdminChange,
                None,
                json!({"fhir": "transaction", "records_submitted": linked.len()}),
            );
            e.reasons =
                vec!["an agency's own records, and the identifiers Kith gave them".into()];
            audit.push(e);
        }
        let organisation = safeguarding::Organisation {
            code: principal.org.clone(),
            name: organisation_name(services, &principal.org)?,
        };
        let mut queued = 0usize;
        for write in &encounter_writes {
            let cci = match &write.subject {
                Subject::Person(cci) => cci.clone(),
                Subject::Entry(index) => cci_of_entry
                    .get(index)
                    .cloned()
                    .ok_or_else(|| ApiError::Internal("linked Patient has no CCI".into()))?,
            };
            let recorded = services
                .pool
                .with(|store| {
                    safeguarding::record_encounter(
                        store,
                        &safeguarding::Encounter {
                            reference: EncounterRef {
                                source_org: principal.org.clone(),
                                local_id: write.local_id.clone(),
                            },
                            cci: cci.clone(),
                            setting: write.setting,
                            organisation: organisation.clone(),
                            started_at: write.started_at,
                        },
                        now(),
                    )
                })
                .map_err(safeguarding_error)?;
            queued += recorded.notifications.len();
            let mut e = permitted_entry(
                &principal,
                EventKind::AdminChange,
                Some(&cci),
                json!({
                    "fhir": "transaction", "encounter": write.local_id,
                    "setting": write.setting.as_str(),
                    "notifications": recorded.notifications,
                }),
            );
            e.reasons = vec!["an agency reports its own attendance".into()];
            audit.push(e);
            // The flags go back to the attending system only as governance allows.
            let mut issues = Vec::new();
            if !recorded.flags.is_empty() {
                let holdings = services
                    .pool
                    .with(|store| store.registry().holdings(&cci))?;
                let decisions = decide_for_holders(
                    services,
                    &principal,
                    Some(purpose),
                    &cci,
                    &holdings,
                    Tier::Summary,
                )?;
                audit.extend(decisions.decisions.iter().map(|(_, d)| d.ledger_entry(0)));
                if permitted(&decisions)
                    .any(|(_, d)| d.disclosed.contains(&Field::SafeguardingFlags))
                {
                    for flag in &recorded.flags {
                        let f = &flag.flag;
                        issues.push(information(format!(
                            "safeguarding flag: {} owned by {} ({}) since {}; office hours {} {}, out of hours {} {}",
                            flag_kind(f.kind).display(),
                            f.owner.name,
                            f.owner.code,
                            f.start_date,
                            f.office_hours.phone,
                            f.office_hours.email,
                            f.out_of_hours.phone,
                            f.out_of_hours.email,
                        )));
                    }
                    if !recorded.notifications.is_empty() {
                        issues.push(information(
                            "the owning local authority is being told of this attendance".into(),
                        ));
                    }
                }
            }
            let (status, location) = match recorded.encounter_id {
                Some(id) => ("201 Created", Some(format!("Encounter/{id}"))),
                None => ("200 OK", None),
            };
            responses.insert(
                write.index,
                EntryResponse {
                    status: status.to_string(),
                    location,
                    etag: None,
                    last_modified: None,
                    outcome: (!issues.is_empty()).then(|| {
                        Box::new(Resource::OperationOutcome(OperationOutcome {
                            id: None,
                            meta: None,
                            issue: issues,
                        }))
                    }),
                },
            );
        }
        if queued > 0 {
            services.wake.wake();
        }
        record_entries(services, audit)?;
        Ok(Bundle::transaction_response(
            responses.into_values().collect(),
        ))
    })
    .await?;
    Ok(ok(Resource::Bundle(bundle)))
}

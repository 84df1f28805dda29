//! Care coordination: consent, break-glass, decisions not to share, safeguarding flags and the
//! local authority's notification inbox.
//!
//! Each handler authenticates ([`Caller`]), checks the role, and records every change and
//! every disclosure in the audit ledger before it answers; a refusal leaves a `deny` entry.
//! Governance facts recorded here (consents, break-glass grants and their reviews, privacy
//! alerts, decisions not to share) live in `store::governance`; a change is written in one
//! store transaction with its ledger entries appended inside it, so a change whose audit entry
//! could not be made is not kept. The in-memory [`GovernanceState`] is then rebuilt from the
//! files it started from plus the stored records and swapped in, so the very next decision
//! sees the change. [`load_governance`] does the same at start-up.
//!
//! **Invariant:** a consent is accepted only from someone who may give it for this child
//! ([`governance::consent_authority`]); a break-glass grant is time-boxed, stops at the summary
//! tier, and its privacy-officer alert names no child, no practitioner and no free text.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use governance::breakglass::{
    self, BreakGlassConfig, BreakGlassError, BreakGlassGrant, BreakGlassRequest, PrivacyAlert,
    ReasonCode, Review, ReviewOutcome,
};
use governance::consent::{CompetenceAssessment, Consenter};
use governance::state::{OptOut, Relationship};
use governance::{
    Consent, ConsentAuthority, GovernanceState, NotShared, NotSharedReason, Purpose, StateRecords,
    Tier, consent_authority,
};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use ledger::{Entry, EventKind};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use store::governance::{GovernanceConn, GovernanceRecord, StoredGovernanceRecord};
use store::{Holding, Store, StoreError};

use crate::api::{
    Caller, blocking, entry, governed_person, held_relationships, json_body, now, parse_purpose,
    permitted_entry, record_entries, require_role, resolve,
};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::{AppState, Services};

type ApiResult<T> = Result<T, ApiError>;

/// The kinds of record kept in `store::governance`.
mod kind {
    pub const CONSENT: &str = "consent";
    pub const RELATIONSHIP: &str = "relationship";
    pub const OPT_OUT: &str = "opt_out";
    pub const COMPETENCE: &str = "competence";
    pub const BREAK_GLASS: &str = "break_glass";
    pub const REVIEW: &str = "break_glass_review";
    pub const ALERT: &str = "privacy_alert";
    pub const NOT_SHARED: &str = "not_shared";
    /// The ledger seq of a grant's `override` entry, which its review cites.
    pub const OVERRIDE_SEQ: &str = "break_glass_ledger";
}

/// Roles of children's social care that publish flags and read the authority's inbox.
const SOCIAL_CARE_ROLES: &[&str] = &["social_worker", "agency_system"];
/// Roles that read the report of decisions not to share.
const NOT_SHARED_READERS: &[&str] = &["ig_lead", "caldicott_guardian"];
/// Roles that see every organisation's unreviewed break-glass grants.
const BREAK_GLASS_OVERSIGHT: &[&str] = &["privacy_officer", "caldicott_guardian", "ig_lead"];
/// The header naming where the caller is seeing the child (a `CareSetting`).
const CARE_SETTING_HEADER: &str = "x-kith-care-setting";
/// The header naming the encounter in the caller's own system, if any.
const ENCOUNTER_HEADER: &str = "x-kith-encounter";
/// The longest notification page.
const MAX_INBOX_PAGE: i64 = 500;

// ---------------------------------------------------------------------------------------
// Governance state: what the files say plus what was recorded through the service.
// ---------------------------------------------------------------------------------------

fn parse_stored<T: DeserializeOwned>(row: &StoredGovernanceRecord) -> Result<T, StoreError> {
    serde_json::from_str(&row.record.body).map_err(|e| StoreError::Corrupt {
        column: format!(
            "governance_records.body ({} `{}`)",
            row.record.kind, row.record.id
        ),
        problem: e.to_string(),
    })
}

/// `base` (agreements and facts from files) with the stored records added. Kinds the state
/// does not hold (reviews, alerts, decisions not to share) are left to their reports.
pub(crate) fn state_with_stored(
    mut base: StateRecords,
    stored: &[StoredGovernanceRecord],
) -> Result<GovernanceState, StoreError> {
    for row in stored {
        match row.record.kind.as_str() {
            kind::CONSENT => base.consents.push(parse_stored::<Consent>(row)?),
            kind::RELATIONSHIP => base.relationships.push(parse_stored::<Relationship>(row)?),
            kind::OPT_OUT => base.opt_outs.push(parse_stored::<OptOut>(row)?),
            kind::COMPETENCE => base
                .competence
                .push(parse_stored::<CompetenceAssessment>(row)?),
            kind::BREAK_GLASS => base.break_glass.push(parse_stored::<BreakGlassGrant>(row)?),
            _ => {}
        }
    }
    Ok(GovernanceState::from_records(base))
}

/// The governance state the service starts with: `base` (loaded from the agreement and state
/// files) plus every consent, relationship, opt-out, competence assessment and break-glass
/// grant recorded through the service. [`crate::AppState::open`] calls it.
pub(crate) fn load_governance(
    store: &mut Store,
    base: StateRecords,
) -> Result<GovernanceState, StoreError> {
    let stored = store.governance().all()?;
    state_with_stored(base, &stored)
}

fn current_state(services: &Services) -> ApiResult<Arc<GovernanceState>> {
    Ok(services
        .governance
        .read()
        .map_err(|_| ApiError::Internal("governance lock poisoned".into()))?
        .clone())
}

/// Applies one change: `work` writes through the transaction and returns its ledger entries,
/// which are appended (and committed) before the store commits; then the state is rebuilt
/// and swapped. Changes in this process take turns, so none is lost from the state. A refusal
/// from `work` rolls everything back and is recorded as a denial.
fn change<T>(
    services: &Services,
    principal: &Principal,
    subject: Option<&str>,
    what: &str,
    work: impl FnOnce(&mut GovernanceConn<'_>) -> ApiResult<(T, Vec<Entry>)>,
) -> ApiResult<T> {
    let base = services
        .governance_base
        .lock()
        .map_err(|_| ApiError::Internal("governance base lock poisoned".into()))?;
    let outcome = services.pool.with(|store| {
        store.governance_tx(|tx| {
            let (value, entries) = work(tx)?;
            record_entries(services, entries)?;
            Ok::<_, ApiError>(value)
        })
    });
    let value = match outcome {
        Ok(value) => value,
        Err(error @ ApiError::Internal(_)) => return Err(error),
        Err(refusal) => return Err(refused(services, principal, subject, what, refusal)),
    };
    let stored = services.pool.with(|store| store.governance().all())?;
    let state = state_with_stored(base.clone(), &stored)?;
    *services
        .governance
        .write()
        .map_err(|_| ApiError::Internal("governance lock poisoned".into()))? = Arc::new(state);
    Ok(value)
}

/// Records a refusal as a `deny` decision and hands the error back (or the ledger's failure).
fn refused(
    services: &Services,
    principal: &Principal,
    subject: Option<&str>,
    what: &str,
    error: ApiError,
) -> ApiError {
    let mut e = entry(
        principal,
        EventKind::Decision,
        subject,
        json!({"refused": what, "status": error.status().as_u16()}),
    );
    e.decision = Some(ledger::Decision::Deny);
    e.reasons = vec![error.message().to_string()];
    if let ApiError::Forbidden { reasons, .. } = &error {
        e.reasons.extend(reasons.iter().cloned());
    }
    match record_entries(services, vec![e]) {
        Ok(()) => error,
        Err(failure) => failure,
    }
}

/// [`require_role`], with the refusal recorded.
fn require(
    services: &Services,
    principal: &Principal,
    roles: &[&str],
    what: &str,
) -> ApiResult<()> {
    require_role(principal, roles).map_err(|e| refused(services, principal, None, what, e))
}

/// Runs `check`; a refusal is recorded against `subject`.
fn audited<T>(
    services: &Services,
    principal: &Principal,
    subject: Option<&str>,
    what: &str,
    check: ApiResult<T>,
) -> ApiResult<T> {
    match check {
        Err(error @ ApiError::Internal(_)) => Err(error),
        Err(error) => Err(refused(services, principal, subject, what, error)),
        ok => ok,
    }
}

/// Input that cannot be used is answered 4xx, and recorded as a refusal like any other.
async fn checked<T: Send + 'static>(
    state: &AppState,
    principal: &Principal,
    what: &'static str,
    input: ApiResult<T>,
) -> ApiResult<T> {
    match input {
        Ok(value) => Ok(value),
        Err(error) => {
            let principal = principal.clone();
            blocking(state, move |services| {
                Err(refused(services, &principal, None, what, error))
            })
            .await
        }
    }
}

fn today() -> Date {
    now().to_zoned(jiff::tz::TimeZone::UTC).date()
}

fn to_json<T: serde::Serialize>(value: &T) -> ApiResult<Value> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(e.to_string()))
}

fn to_text<T: serde::Serialize>(value: &T) -> ApiResult<String> {
    serde_json::to_string(value).map_err(|e| ApiError::Internal(e.to_string()))
}

fn created(body: Value) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

/// 422: the request is well formed but the facts do not allow it.
fn unprocessable(message: String, reasons: Vec<String>) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({"error": "unprocessable", "message": message, "reasons": reasons})),
    )
        .into_response()
}

fn holdings(services: &Services, cci: &str) -> ApiResult<Vec<Holding>> {
    Ok(services.pool.with(|store| store.registry().holdings(cci))?)
}

/// Whether the caller's organisation has a current legitimate relationship with the child:
/// it holds the child's record, or one is recorded in the state.
fn has_relationship(
    state: &GovernanceState,
    principal: &Principal,
    cci: &str,
    holdings: &[Holding],
) -> bool {
    let actor = principal.actor();
    let today = today();
    !held_relationships(cci, holdings, principal).is_empty()
        || state
            .relationships_for(cci)
            .any(|r| r.is_current(today) && r.holds_for(&actor))
}

/// A child the caller has no relationship with is, for recording purposes, not there.
fn require_relationship(
    services: &Services,
    principal: &Principal,
    state: &GovernanceState,
    cci: &str,
    what: &str,
) -> ApiResult<()> {
    let holdings = holdings(services, cci)?;
    if has_relationship(state, principal, cci, &holdings) {
        return Ok(());
    }
    let mut e = entry(
        principal,
        EventKind::Decision,
        Some(cci),
        json!({"refused": what, "status": 404}),
    );
    e.decision = Some(ledger::Decision::Deny);
    e.reasons = vec!["no current legitimate relationship with the child".into()];
    record_entries(services, vec![e])?;
    Err(crate::api::not_visible(cci))
}

fn parse_date(field: &str, raw: &str) -> ApiResult<Date> {
    raw.trim().parse().map_err(|e| {
        ApiError::BadRequest(format!(
            "`{field}`: `{raw}` is not a date like 2026-03-14: {e}"
        ))
    })
}

fn parse_time(field: &str, raw: &str) -> ApiResult<Timestamp> {
    raw.trim().parse().map_err(|e| {
        ApiError::BadRequest(format!(
            "`{field}`: `{raw}` is not an RFC 3339 time like 2026-03-14T09:00:00Z: {e}"
        ))
    })
}

fn required<'a>(field: &str, value: &'a str, why: &str) -> ApiResult<&'a str> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "`{field}` is required: {why}"
        )));
    }
    Ok(trimmed)
}

/// An empty body is `T::default()`; anything else must be JSON.
fn optional_body<T: DeserializeOwned + Default>(headers: &HeaderMap, body: &Bytes) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        json_body(headers, body)
    }
}

// ---------------------------------------------------------------------------------------
// Consent
// ---------------------------------------------------------------------------------------

/// Checks the dates of a consent body before it is read, so an error names the field.
fn check_consent_dates(raw: &Value) -> ApiResult<()> {
    for field in ["date", "withdrawn", "expires"] {
        if let Some(Value::String(text)) = raw.get(field) {
            parse_date(field, text)?;
        }
    }
    Ok(())
}

fn check_consent(consent: &Consent) -> ApiResult<()> {
    required("id", &consent.id, "a consent is known by its id")?;
    if consent.version == 0 {
        return Err(ApiError::BadRequest(
            "`version` must be 1 or more: versions count the consent's revisions".into(),
        ));
    }
    if consent.withdrawn.is_some() {
        return Err(ApiError::BadRequest(
            "`withdrawn`: record a withdrawal with POST /api/consents/{id}/withdraw".into(),
        ));
    }
    if let Some(expires) = consent.expires
        && expires < consent.date
    {
        return Err(ApiError::BadRequest(format!(
            "`expires` {expires} is before `date` {}",
            consent.date
        )));
    }
    if consent.provisions.is_empty() {
        return Err(ApiError::BadRequest(
            "`provisions` must hold at least one permit or deny provision".into(),
        ));
    }
    if let Consenter::Parent { name, .. } = &consent.given_by {
        required(
            "given_by.name",
            name,
            "a parent's consent names who gave it",
        )?;
    }
    Ok(())
}

/// Whether the consenter may consent for this child, and why not.
fn consenter_may_consent(
    given_by: &Consenter,
    authority: ConsentAuthority,
    why: &str,
) -> Result<(), String> {
    match (given_by, authority) {
        (Consenter::Child, ConsentAuthority::Child) => Ok(()),
        (
            Consenter::Parent {
                parental_responsibility: true,
                ..
            },
            ConsentAuthority::Parent,
        ) => Ok(()),
        (Consenter::Parent { .. }, ConsentAuthority::Parent) => {
            Err("a parent without parental responsibility cannot consent for a child".into())
        }
        (Consenter::Child, ConsentAuthority::Parent) => Err(format!(
            "the child cannot consent alone ({why}): a parent with parental responsibility decides"
        )),
        (Consenter::Parent { .. }, ConsentAuthority::Child) => Err(format!(
            "the child decides for themself ({why}): a parent cannot consent for them"
        )),
    }
}

fn consent_view(consent: &Consent) -> ApiResult<Value> {
    to_json(consent)
}

/// `POST /api/consents`: records a consent (or refusal) given for a child.
pub(crate) async fn post_consent(
    State(state): State<AppState>,
    Caller(principal): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    const WHAT: &str = "record a consent";
    let input = (|| {
        let raw: Value = json_body(&headers, &body)?;
        check_consent_dates(&raw)?;
        let consent: Consent = serde_json::from_value(raw)
            .map_err(|e| ApiError::BadRequest(format!("request body: {e}")))?;
        check_consent(&consent)?;
        Ok(consent)
    })();
    let mut consent = checked(&state, &principal, WHAT, input).await?;
    blocking(&state, move |services| {
        let resolution = resolve(services, &principal, &consent.child)?;
        let cci = resolution.current;
        let governance = current_state(services)?;
        require_relationship(services, &principal, &governance, &cci, WHAT)?;
        let age = governance.child(&cci).and_then(|c| c.age_on(today()));
        let (authority, why) = consent_authority(age, governance.competence_for(&cci));
        if let Err(reason) = consenter_may_consent(&consent.given_by, authority, why) {
            let mut e = entry(
                &principal,
                EventKind::ConsentChange,
                Some(&cci),
                json!({"consent": consent.id, "version": consent.version, "recorded": false}),
            );
            e.decision = Some(ledger::Decision::Deny);
            e.reasons = vec![reason.clone()];
            record_entries(services, vec![e])?;
            return Ok(unprocessable(
                format!("`given_by` may not consent for this child: {reason}"),
                vec![reason],
            ));
        }
        consent.child = cci.clone();
        let key = format!("{}@{}", consent.id, consent.version);
        let body = to_text(&consent)?;
        change(services, &principal, Some(&cci), WHAT, |tx| {
            let added = tx.insert(&GovernanceRecord {
                kind: kind::CONSENT.into(),
                id: key.clone(),
                child: Some(cci.clone()),
                body,
                recorded_at: now().to_string(),
            })?;
            if !added {
                return Err(ApiError::Conflict(format!(
                    "consent `{}` version {} is already recorded: send a higher `version` to revise it",
                    consent.id, consent.version
                )));
            }
            let mut e = permitted_entry(
                &principal,
                EventKind::ConsentChange,
                Some(&cci),
                json!({
                    "consent": consent.id, "version": consent.version, "recorded": true,
                    "given_by": to_json(&consent.given_by)?,
                    "provisions": to_json(&consent.provisions)?,
                }),
            );
            e.reasons = vec![
                format!("consent {key} recorded"),
                format!("consenter may consent: {why}"),
            ];
            Ok(((), vec![e]))
        })?;
        let mut view = consent_view(&consent)?;
        view["authority"] = json!({"decides": authority, "why": why});
        Ok(created(view))
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WithdrawBody {
    /// The day it was withdrawn; today when absent.
    date: Option<String>,
    /// Why, in the words of whoever recorded it.
    reason: Option<String>,
}

/// `POST /api/consents/{id}/withdraw`: every version of the consent stops applying.
pub(crate) async fn withdraw_consent(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    const WHAT: &str = "withdraw a consent";
    let input = (|| {
        let body: WithdrawBody = optional_body(&headers, &body)?;
        let date = match body.date.as_deref() {
            Some(raw) => parse_date("date", raw)?,
            None => today(),
        };
        Ok((body, date))
    })();
    let (body, date) = checked(&state, &principal, WHAT, input).await?;
    blocking(&state, move |services| {
        let governance = current_state(services)?;
        let versions: Vec<Consent> = governance
            .records()
            .consents
            .iter()
            .filter(|c| c.id == id)
            .cloned()
            .collect();
        let Some(latest) = versions.iter().max_by_key(|c| c.version).cloned() else {
            return Err(refused(
                services,
                &principal,
                None,
                WHAT,
                ApiError::NotFound(format!("no consent `{id}` is recorded")),
            ));
        };
        let cci = latest.child.clone();
        require_relationship(services, &principal, &governance, &cci, WHAT)?;
        let open: Vec<Consent> = versions
            .into_iter()
            .filter(|c| c.withdrawn.is_none())
            .collect();
        let check = if open.is_empty() {
            Err(ApiError::Conflict(format!(
                "consent `{id}` was already withdrawn on {}",
                latest.withdrawn.map(|d| d.to_string()).unwrap_or_default()
            )))
        } else if let Some(c) = open.iter().find(|c| date < c.date) {
            Err(ApiError::BadRequest(format!(
                "`date` {date} is before the consent was given ({})",
                c.date
            )))
        } else {
            Ok(())
        };
        audited(services, &principal, Some(&cci), WHAT, check)?;
        let withdrawn: Vec<Consent> = open
            .into_iter()
            .map(|c| Consent {
                withdrawn: Some(date),
                ..c
            })
            .collect();
        let versions: Vec<u32> = withdrawn.iter().map(|c| c.version).collect();
        change(services, &principal, Some(&cci), WHAT, |tx| {
            for c in &withdrawn {
                let key = format!("{}@{}", c.id, c.version);
                if !tx.replace_body(kind::CONSENT, &key, &to_text(c)?)? {
                    return Err(ApiError::Internal(format!(
                        "consent `{key}` is in the state but not in the store"
                    )));
                }
            }
            let mut e = permitted_entry(
                &principal,
                EventKind::ConsentChange,
                Some(&cci),
                json!({
                    "consent": id, "versions": versions, "withdrawn": date.to_string(),
                    "reason": body.reason,
                }),
            );
            e.reasons = vec![format!("consent {id} withdrawn on {date}")];
            Ok(((), vec![e]))
        })?;
        Ok(Json(json!({
            "consent": id, "child": cci, "versions": versions, "withdrawn": date.to_string(),
        })))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub(crate) struct PurposeQuery {
    purpose: Option<String>,
}

/// `GET /api/persons/{cci}/consents`: a child's consents, governed like a summary read.
pub(crate) async fn person_consents(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(cci): Path<String>,
    Query(query): Query<PurposeQuery>,
) -> ApiResult<Json<Value>> {
    let purpose = parse_purpose(query.purpose.as_deref());
    let purpose = checked(&state, &principal, "read a child's consents", purpose).await?;
    blocking(&state, move |services| {
        let current = governed_person(services, &principal, purpose, &cci, Tier::Summary)?
            .resolution
            .current;
        let governance = current_state(services)?;
        let consents: Vec<Value> = governance
            .consents_for(&current)
            .map(consent_view)
            .collect::<ApiResult<_>>()?;
        let age = governance.child(&current).and_then(|c| c.age_on(today()));
        let (authority, why) = consent_authority(age, governance.competence_for(&current));
        let mut e = entry(
            &principal,
            EventKind::Access,
            Some(&current),
            json!({"consents": consents.len()}),
        );
        e.purpose = purpose.map(|p| p.as_str().to_string());
        e.decision = Some(ledger::Decision::Permit);
        record_entries(services, vec![e])?;
        Ok(Json(json!({
            "cci": current,
            "authority": {"decides": authority, "why": why},
            "consents": consents,
        })))
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Break-glass
// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BreakGlassBody {
    cci: String,
    purpose: Option<String>,
    reason_code: Option<String>,
    reason_text: Option<String>,
    /// Shorter than the default four hours, if the practitioner needs less.
    duration_minutes: Option<u32>,
    /// For a grant of seconds (testing an expiry); the longest is four hours either way.
    duration_seconds: Option<u32>,
}

fn break_glass_error(error: BreakGlassError) -> ApiError {
    let field = match &error {
        BreakGlassError::MissingReasonCode => "reason_code",
        BreakGlassError::ReasonTooShort { .. } => "reason_text",
        BreakGlassError::SecondaryUse(_) => "purpose",
        BreakGlassError::ReviewNotes { .. } => "notes",
        BreakGlassError::AlreadyReviewed { .. } => {
            return ApiError::Conflict(error.to_string());
        }
    };
    ApiError::BadRequest(format!("`{field}`: {error}"))
}

fn break_glass_config(body: &BreakGlassBody) -> ApiResult<BreakGlassConfig> {
    let default = BreakGlassConfig::default();
    let most = default.duration.as_secs();
    let duration = match (body.duration_minutes, body.duration_seconds) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "send `duration_minutes` or `duration_seconds`, not both".into(),
            ));
        }
        (Some(m), None) => ("duration_minutes", i64::from(m) * 60),
        (None, Some(s)) => ("duration_seconds", i64::from(s)),
        (None, None) => return Ok(default),
    };
    if duration.1 < 1 || duration.1 > most {
        return Err(ApiError::BadRequest(format!(
            "`{}` must be more than zero and at most four hours",
            duration.0
        )));
    }
    Ok(BreakGlassConfig {
        duration: SignedDuration::from_secs(duration.1),
        ..default
    })
}

/// `POST /api/break-glass`: a time-boxed grant for a practitioner with no relationship.
pub(crate) async fn post_break_glass(
    State(state): State<AppState>,
    Caller(principal): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    const WHAT: &str = "break the glass";
    let input = (|| {
        let body: BreakGlassBody = json_body(&headers, &body)?;
        let purpose = parse_purpose(body.purpose.as_deref())?.ok_or_else(|| {
            ApiError::BadRequest(
                "`purpose` is required: break-glass is for one purpose (direct_care, safeguarding_s47, …)"
                    .into(),
            )
        })?;
        let reason_code = body
            .reason_code
            .as_deref()
            .map(|code| {
                serde_json::from_value::<ReasonCode>(Value::String(code.trim().into())).map_err(|_| {
                    ApiError::BadRequest(format!(
                        "`reason_code`: unknown code `{code}`: use emergency_care, immediate_safeguarding or out_of_hours_cover"
                    ))
                })
            })
            .transpose()?;
        let config = break_glass_config(&body)?;
        Ok((body, purpose, reason_code, config))
    })();
    let (body, purpose, reason_code, config) = checked(&state, &principal, WHAT, input).await?;
    blocking(&state, move |services| {
        let resolution = resolve(services, &principal, &body.cci)?;
        let cci = resolution.current;
        let at = now();
        let request = BreakGlassRequest {
            actor: principal.actor(),
            child: cci.clone(),
            purpose,
            reason_code,
            reason_text: body.reason_text.clone().unwrap_or_default(),
        };
        let opened =
            breakglass::open(&request, String::new(), at, config).map_err(break_glass_error);
        let (grant, alert) = audited(services, &principal, Some(&cci), WHAT, opened)?;
        let governance = current_state(services)?;
        let day = today();
        let covered = governance.agreements_for(&principal.org, purpose).any(|a| {
            a.is_in_force(day)
                && a.purposes
                    .get(&purpose)
                    .is_some_and(|t| t.roles.contains(&principal.role))
        });
        if !covered {
            return Err(refused(
                services,
                &principal,
                Some(&cci),
                WHAT,
                ApiError::Forbidden {
                    message: format!(
                        "no agreement in force lets the role `{}` of `{}` share for `{}`",
                        principal.role,
                        principal.org,
                        purpose.as_str()
                    ),
                    reasons: vec![
                        "break-glass stands in for a relationship, never for an agreement".into(),
                    ],
                },
            ));
        }
        let (grant, alert) = change(services, &principal, Some(&cci), WHAT, |tx| {
            let mut opened: Option<(BreakGlassGrant, PrivacyAlert)> = None;
            let recorded_at = at.to_string();
            tx.insert_numbered(kind::BREAK_GLASS, "BG-", Some(&cci), &recorded_at, |id| {
                let grant = BreakGlassGrant {
                    id: id.to_string(),
                    ..grant.clone()
                };
                let alert = PrivacyAlert {
                    grant_id: id.to_string(),
                    ..alert.clone()
                };
                let text = serde_json::to_string(&grant).map_err(|e| StoreError::Corrupt {
                    column: "governance_records.body".into(),
                    problem: e.to_string(),
                })?;
                opened = Some((grant, alert));
                Ok(text)
            })?;
            let (grant, alert) =
                opened.ok_or_else(|| ApiError::Internal("break-glass grant not built".into()))?;
            tx.insert(&GovernanceRecord {
                kind: kind::ALERT.into(),
                id: grant.id.clone(),
                // INVARIANT: the alert names no child.
                child: None,
                body: to_text(&alert)?,
                recorded_at: recorded_at.clone(),
            })?;
            let mut used = entry(
                &principal,
                EventKind::Override,
                Some(&cci),
                json!({
                    "break_glass": grant.id, "reason_code": grant.reason_code.as_str(),
                    "reason_text": grant.reason_text, "expires_at": grant.expires_at.to_string(),
                    "max_tier": grant.max_tier.as_str(),
                }),
            );
            used.purpose = Some(purpose.as_str().to_string());
            used.decision = Some(ledger::Decision::Permit);
            used.reasons = vec![
                format!("break-glass: {}", grant.reason_code.as_str()),
                format!(
                    "grant {} until {}, up to the {} tier",
                    grant.id,
                    grant.expires_at,
                    grant.max_tier.as_str()
                ),
            ];
            // The privacy officer's alert is the system's act, and carries no personal data.
            let alerted = Entry {
                seq: 0,
                time: recorded_at,
                kind: EventKind::AdminChange,
                actor_user: "kith".into(),
                actor_org: alert.org.clone(),
                role: "system".into(),
                purpose: None,
                subject: None,
                decision: None,
                reasons: vec!["break-glass grant awaits review by the privacy officer".into()],
                details: json!({"privacy_alert": to_json(&alert)?}),
            };
            // Appended here rather than by `change`: the review must cite the override's seq
            // (the ledger's convention for reviews), which only the append knows.
            let seqs = services.audit.append(vec![used, alerted])?;
            tx.insert(&GovernanceRecord {
                kind: kind::OVERRIDE_SEQ.into(),
                id: grant.id.clone(),
                child: Some(cci.clone()),
                body: json!({"override_seq": seqs.start}).to_string(),
                recorded_at: grant.granted_at.to_string(),
            })?;
            Ok(((grant, alert), vec![]))
        })?;
        Ok(created(json!({
            "grant": grant.id,
            "cci": cci,
            "purpose": purpose.as_str(),
            "reason_code": grant.reason_code.as_str(),
            "max_tier": grant.max_tier.as_str(),
            "granted_at": grant.granted_at.to_string(),
            "expires_at": grant.expires_at.to_string(),
            "privacy_alert": to_json(&alert)?,
        })))
    })
    .await
}

fn stored_of_kind<T: DeserializeOwned>(services: &Services, kind: &str) -> ApiResult<Vec<T>> {
    let rows = services
        .pool
        .with(|store| store.governance().of_kind(kind))?;
    Ok(rows
        .iter()
        .map(parse_stored::<T>)
        .collect::<Result<_, _>>()?)
}

/// `GET /api/break-glass/alerts`: the privacy officer's alerts for their organisation.
pub(crate) async fn break_glass_alerts(
    State(state): State<AppState>,
    Caller(principal): Caller,
) -> ApiResult<Json<Value>> {
    blocking(&state, move |services| {
        require(
            services,
            &principal,
            &["privacy_officer"],
            "read privacy alerts",
        )?;
        let alerts: Vec<PrivacyAlert> = stored_of_kind(services, kind::ALERT)?;
        let reviewed: BTreeSet<String> = stored_of_kind::<Review>(services, kind::REVIEW)?
            .into_iter()
            .map(|r| r.grant_id)
            .collect();
        let list: Vec<Value> = alerts
            .iter()
            .filter(|a| a.org == principal.org)
            .map(|a| {
                let mut v = to_json(a)?;
                v["reviewed"] = reviewed.contains(&a.grant_id).into();
                Ok(v)
            })
            .collect::<ApiResult<_>>()?;
        let e = permitted_entry(
            &principal,
            EventKind::Access,
            None,
            json!({"privacy_alerts": list.len()}),
        );
        record_entries(services, vec![e])?;
        Ok(Json(json!({ "alerts": list })))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReviewBody {
    outcome: ReviewOutcome,
    notes: String,
}

/// `POST /api/break-glass/{id}/review`: the privacy officer's finding, once per grant.
pub(crate) async fn review_break_glass(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    const WHAT: &str = "review a break-glass grant";
    let body: ReviewBody = checked(&state, &principal, WHAT, json_body(&headers, &body)).await?;
    blocking(&state, move |services| {
        require(services, &principal, &["privacy_officer"], WHAT)?;
        let governance = current_state(services)?;
        // Another organisation's grant is not the officer's to see.
        let grant = governance
            .records()
            .break_glass
            .iter()
            .find(|g| g.id == id && g.actor.org == principal.org)
            .cloned();
        let Some(grant) = grant else {
            return Err(refused(
                services,
                &principal,
                None,
                WHAT,
                ApiError::NotFound(format!(
                    "no break-glass grant `{id}` was opened in your organisation"
                )),
            ));
        };
        let reviewer = format!("{}@{}", principal.user, principal.org);
        let review = change(services, &principal, Some(&grant.child), WHAT, |tx| {
            let existing: Vec<Review> = tx
                .get(kind::REVIEW, &grant.id)?
                .map(|row| parse_stored::<Review>(&row))
                .transpose()?
                .into_iter()
                .collect();
            let review = breakglass::review(
                &existing,
                &grant.id,
                &reviewer,
                body.outcome,
                &body.notes,
                now(),
            )
            .map_err(break_glass_error)?;
            if !tx.insert(&GovernanceRecord {
                kind: kind::REVIEW.into(),
                id: grant.id.clone(),
                child: Some(grant.child.clone()),
                body: to_text(&review)?,
                recorded_at: review.reviewed_at.to_string(),
            })? {
                return Err(ApiError::Conflict(format!(
                    "break-glass grant `{}` has already been reviewed",
                    grant.id
                )));
            }
            let outcome = to_json(&review.outcome)?;
            let override_seq = tx
                .get(kind::OVERRIDE_SEQ, &grant.id)?
                .and_then(|row| serde_json::from_str::<Value>(&row.record.body).ok())
                .and_then(|body| body["override_seq"].as_u64());
            // The ledger's convention for a review of an override (see `store::audit`).
            let mut e = entry(
                &principal,
                EventKind::AdminChange,
                Some(&grant.child),
                json!({
                    "action": "review", "reviews_seq": override_seq,
                    "break_glass": grant.id, "outcome": outcome,
                }),
            );
            e.purpose = Some("override_review".into());
            e.reasons = vec![
                format!(
                    "break-glass grant {} reviewed: {}",
                    grant.id,
                    outcome.as_str().unwrap_or_default()
                ),
                review.notes.clone(),
            ];
            Ok((review, vec![e]))
        })?;
        Ok(Json(json!({
            "grant": review.grant_id,
            "outcome": to_json(&review.outcome)?,
            "reviewer": review.reviewer,
            "reviewed_at": review.reviewed_at.to_string(),
        })))
    })
    .await
}

/// `GET /api/break-glass/unreviewed`: grants still waiting for review, oldest first. A
/// privacy officer sees their organisation's; a Caldicott guardian or IG lead sees all.
pub(crate) async fn break_glass_unreviewed(
    State(state): State<AppState>,
    Caller(principal): Caller,
) -> ApiResult<Json<Value>> {
    blocking(&state, move |services| {
        require(
            services,
            &principal,
            BREAK_GLASS_OVERSIGHT,
            "read unreviewed break-glass grants",
        )?;
        let governance = current_state(services)?;
        let reviews: Vec<Review> = stored_of_kind(services, kind::REVIEW)?;
        let waiting: Vec<Value> =
            breakglass::unreviewed(&governance.records().break_glass, &reviews, now())
                .into_iter()
                .filter(|u| principal.role != "privacy_officer" || u.org == principal.org)
                .map(|u| to_json(&u))
                .collect::<ApiResult<_>>()?;
        let e = permitted_entry(
            &principal,
            EventKind::Access,
            None,
            json!({"unreviewed_break_glass": waiting.len()}),
        );
        record_entries(services, vec![e])?;
        Ok(Json(json!({ "unreviewed": waiting })))
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Decisions not to share
// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotSharedBody {
    cci: String,
    purpose: Option<String>,
    /// The organisation that asked.
    requested_by: String,
    reason: NotSharedReason,
    explanation: String,
}

/// `POST /api/not-shared`: a person's decision not to share, with reason and explanation.
pub(crate) async fn post_not_shared(
    State(state): State<AppState>,
    Caller(principal): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    const WHAT: &str = "record a decision not to share";
    let input = (|| {
        let body: NotSharedBody = json_body(&headers, &body)?;
        let purpose: Option<Purpose> = parse_purpose(body.purpose.as_deref())?;
        let requested_by = required(
            "requested_by",
            &body.requested_by,
            "the organisation that asked is part of the record",
        )?
        .to_string();
        let explanation = required(
            "explanation",
            &body.explanation,
            "a decision not to share says why, in the decision-maker's words",
        )?
        .to_string();
        Ok((body, purpose, requested_by, explanation))
    })();
    let (body, purpose, requested_by, explanation) =
        checked(&state, &principal, WHAT, input).await?;
    blocking(&state, move |services| {
        if principal.role == "agency_system" {
            return Err(refused(
                services,
                &principal,
                None,
                WHAT,
                ApiError::Forbidden {
                    message: "a decision not to share is taken by a person, not a system".into(),
                    reasons: vec![format!("the selected role is `{}`", principal.role)],
                },
            ));
        }
        let resolution = resolve(services, &principal, &body.cci)?;
        let cci = resolution.current;
        let governance = current_state(services)?;
        require_relationship(services, &principal, &governance, &cci, WHAT)?;
        let record = NotShared {
            decided_at: now(),
            decision_maker: principal.actor(),
            requested_by,
            child: cci.clone(),
            purpose,
            reason: body.reason,
            explanation,
        };
        let id = change(services, &principal, Some(&cci), WHAT, |tx| {
            let text = to_text(&record)?;
            let id = tx.insert_numbered(
                kind::NOT_SHARED,
                "NS-",
                Some(&cci),
                &record.decided_at.to_string(),
                |_| Ok(text),
            )?;
            let mut e = record.ledger_entry(0);
            e.details["id"] = id.clone().into();
            Ok((id, vec![e]))
        })?;
        let mut view = to_json(&record)?;
        view["id"] = id.into();
        Ok(created(view))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub(crate) struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

/// `GET /api/not-shared`: the decisions not to share made by or asked of the caller's
/// organisation in a period, with counts by reason, requester and decider.
pub(crate) async fn not_shared_report(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Query(query): Query<PeriodQuery>,
) -> ApiResult<Json<Value>> {
    let input = (|| {
        let from = match query.from.as_deref() {
            Some(raw) => parse_time("from", raw)?,
            None => Timestamp::MIN,
        };
        let to = match query.to.as_deref() {
            Some(raw) => parse_time("to", raw)?,
            None => Timestamp::MAX,
        };
        if to <= from {
            return Err(ApiError::BadRequest(format!(
                "`to` {to} must be after `from` {from}"
            )));
        }
        Ok((from, to))
    })();
    let (from, to) = checked(&state, &principal, "read decisions not to share", input).await?;
    blocking(&state, move |services| {
        require(
            services,
            &principal,
            NOT_SHARED_READERS,
            "read decisions not to share",
        )?;
        let rows = services
            .pool
            .with(|store| store.governance().of_kind(kind::NOT_SHARED))?;
        let mut records = Vec::new();
        let mut listed = Vec::new();
        for row in &rows {
            let record: NotShared = parse_stored(row)?;
            let ours =
                record.decision_maker.org == principal.org || record.requested_by == principal.org;
            if ours && from <= record.decided_at && record.decided_at < to {
                let mut view = to_json(&record)?;
                view["id"] = row.record.id.clone().into();
                listed.push(view);
                records.push(record);
            }
        }
        let report = governance::not_shared::report(&records, from, to);
        // Each child named in the report has the disclosure in their subject-access view.
        let children: BTreeSet<&str> = records.iter().map(|r| r.child.as_str()).collect();
        let mut entries: Vec<Entry> = children
            .iter()
            .map(|child| {
                permitted_entry(
                    &principal,
                    EventKind::Access,
                    Some(child),
                    json!({"not_shared_report": true}),
                )
            })
            .collect();
        let summary = permitted_entry(
            &principal,
            EventKind::Access,
            None,
            json!({"not_shared_report": true, "decisions": records.len()}),
        );
        entries.push(summary);
        record_entries(services, entries)?;
        Ok(Json(json!({
            "from": query.from, "to": query.to,
            "report": to_json(&report)?,
            "decisions": listed,
        })))
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Safeguarding flags and the notification inbox
// ---------------------------------------------------------------------------------------

fn safeguarding_error(error: safeguarding::Error) -> ApiError {
    use safeguarding::Error as E;
    match error {
        E::UnknownFlagKind(_)
        | E::UnknownSetting(_)
        | E::Missing { .. }
        | E::InvalidEmail { .. }
        | E::InvalidPhone { .. }
        | E::EndBeforeStart { .. }
        | E::InvalidCci { .. }
        | E::SameChild(_) => ApiError::BadRequest(error.to_string()),
        E::NoSuchFlag { .. } => ApiError::NotFound(error.to_string()),
        other => ApiError::Internal(format!("safeguarding: {other}")),
    }
}

/// The caller's organisation, as the store knows it.
fn organisation(services: &Services, code: &str) -> ApiResult<Option<model::Organisation>> {
    Ok(services
        .pool
        .with(|store| store.organisations())?
        .into_iter()
        .find(|o| o.code == code))
}

/// Children's social care only: a social worker or system of a social-care organisation.
fn require_social_care(services: &Services, principal: &Principal, what: &str) -> ApiResult<()> {
    require(services, principal, SOCIAL_CARE_ROLES, what)?;
    let social_care = organisation(services, &principal.org)?
        .is_some_and(|o| o.agency_type == model::AgencyType::SocialCare);
    if social_care {
        return Ok(());
    }
    Err(refused(
        services,
        principal,
        None,
        what,
        ApiError::Forbidden {
            message: "only children's social care publishes flags and reads their notifications"
                .into(),
            reasons: vec![format!(
                "`{}` is not a children's social-care organisation",
                principal.org
            )],
        },
    ))
}

/// The CCI a flag is filed under: the survivor when the child was merged; as given when
/// the registry does not (yet) know it, since a flag may come before the child's records.
fn flag_child(services: &Services, cci: &str) -> ApiResult<String> {
    let parsed = safeguarding::parse_cci(cci).map_err(safeguarding_error)?;
    let registry = services
        .registry
        .read()
        .map_err(|_| ApiError::Internal("registry lock poisoned".into()))?;
    match services.pool.with(|store| registry.resolve(store, &parsed)) {
        Ok(resolution) => Ok(resolution.current),
        Err(registry::RegistryError::UnknownPerson(_)) => Ok(parsed),
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContactBody {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OwnerBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlagBody {
    cci: String,
    kind: String,
    owner: OwnerBody,
    office_hours: ContactBody,
    out_of_hours: ContactBody,
    start_date: String,
    end_date: Option<String>,
    #[serde(default)]
    reference: String,
    source_updated_at: String,
}

fn flag_write(write: safeguarding::FlagWrite) -> &'static str {
    match write {
        safeguarding::FlagWrite::Inserted => "inserted",
        safeguarding::FlagWrite::Updated => "updated",
        safeguarding::FlagWrite::Unchanged => "unchanged",
        safeguarding::FlagWrite::Older => "older_ignored",
    }
}

fn flag_changed(
    principal: &Principal,
    cci: &str,
    published: &safeguarding::Published,
    details: Value,
) -> Entry {
    let mut e = entry(principal, EventKind::AdminChange, Some(cci), details);
    e.details["flag_id"] = published.flag_id.into();
    e.details["write"] = flag_write(published.write).into();
    e.decision = Some(ledger::Decision::Permit);
    e.reasons = vec!["children's social care publishes its own safeguarding flags".into()];
    e
}

/// `POST /api/flags`: children's social care publishes (or updates) a flag it owns.
pub(crate) async fn post_flag(
    State(state): State<AppState>,
    Caller(principal): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    const WHAT: &str = "publish a safeguarding flag";
    let input = (|| {
        let body: FlagBody = json_body(&headers, &body)?;
        let start_date = parse_date("start_date", &body.start_date)?;
        let end_date = body
            .end_date
            .as_deref()
            .map(|d| parse_date("end_date", d))
            .transpose()?;
        let source_updated_at = parse_time("source_updated_at", &body.source_updated_at)?;
        Ok((body, start_date, end_date, source_updated_at))
    })();
    let (body, start_date, end_date, source_updated_at) =
        checked(&state, &principal, WHAT, input).await?;
    blocking(&state, move |services| {
        require_social_care(services, &principal, WHAT)?;
        if body.owner.code.trim() != principal.org {
            return Err(refused(
                services,
                &principal,
                None,
                WHAT,
                ApiError::Forbidden {
                    message: format!(
                        "`owner.code` must be your own authority, `{}`",
                        principal.org
                    ),
                    reasons: vec!["a local authority publishes only the flags it owns".into()],
                },
            ));
        }
        let cci = audited(
            services,
            &principal,
            None,
            WHAT,
            flag_child(services, &body.cci),
        )?;
        let input = safeguarding::PublishFlag {
            cci: cci.clone(),
            kind: body.kind.clone(),
            owner: safeguarding::LocalAuthority {
                code: body.owner.code.clone(),
                name: body.owner.name.clone(),
            },
            office_hours: safeguarding::Contact {
                phone: body.office_hours.phone.clone(),
                email: body.office_hours.email.clone(),
            },
            out_of_hours: safeguarding::Contact {
                phone: body.out_of_hours.phone.clone(),
                email: body.out_of_hours.email.clone(),
            },
            start_date,
            end_date,
            reference: body.reference.clone(),
            source_updated_at,
        };
        let published = services
            .pool
            .with(|store| safeguarding::publish_flag(store, input, now()))
            .map_err(safeguarding_error);
        let published = audited(services, &principal, Some(&cci), WHAT, published)?;
        let e = flag_changed(
            &principal,
            &cci,
            &published,
            json!({"safeguarding_flag": "published", "kind": body.kind, "reference": body.reference}),
        );
        record_entries(services, vec![e])?;
        let body = json!({
            "flag_id": published.flag_id, "cci": cci, "write": flag_write(published.write),
        });
        Ok(match published.write {
            safeguarding::FlagWrite::Inserted => created(body),
            _ => Json(body).into_response(),
        })
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EndFlagBody {
    cci: String,
    kind: String,
    reference: String,
    end_date: String,
    source_updated_at: String,
}

/// `POST /api/flags/end`: the owning authority ends a flag on a day.
pub(crate) async fn end_flag(
    State(state): State<AppState>,
    Caller(principal): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    const WHAT: &str = "end a safeguarding flag";
    let input = (|| {
        let body: EndFlagBody = json_body(&headers, &body)?;
        let end_date = parse_date("end_date", &body.end_date)?;
        let source_updated_at = parse_time("source_updated_at", &body.source_updated_at)?;
        Ok((body, end_date, source_updated_at))
    })();
    let (body, end_date, source_updated_at) = checked(&state, &principal, WHAT, input).await?;
    blocking(&state, move |services| {
        require_social_care(services, &principal, WHAT)?;
        let cci = audited(
            services,
            &principal,
            None,
            WHAT,
            flag_child(services, &body.cci),
        )?;
        let request = safeguarding::EndFlag {
            la_code: principal.org.clone(),
            kind: body.kind.clone(),
            cci: cci.clone(),
            reference: body.reference.clone(),
            end_date,
            source_updated_at,
        };
        let ended = services
            .pool
            .with(|store| safeguarding::end_flag(store, &request, now()))
            .map_err(safeguarding_error);
        let ended = audited(services, &principal, Some(&cci), WHAT, ended)?;
        let e = flag_changed(
            &principal,
            &cci,
            &ended,
            json!({"safeguarding_flag": "ended", "kind": body.kind, "reference": body.reference,
                   "end_date": end_date.to_string()}),
        );
        record_entries(services, vec![e])?;
        Ok(Json(json!({
            "flag_id": ended.flag_id, "cci": cci, "write": flag_write(ended.write),
            "end_date": end_date.to_string(),
        })))
    })
    .await
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn shown_flag(shown: &safeguarding::ShownFlag) -> Value {
    let flag = &shown.flag;
    json!({
        "id": shown.id,
        "kind": flag.kind.as_str(),
        "owner": {"code": flag.owner.code, "name": flag.owner.name},
        "office_hours": {"phone": flag.office_hours.phone, "email": flag.office_hours.email},
        "out_of_hours": {"phone": flag.out_of_hours.phone, "email": flag.out_of_hours.email},
        "start_date": flag.start_date.to_string(),
        "end_date": flag.end_date.map(|d| d.to_string()),
        "reference": flag.reference,
        "source_updated_at": flag.source_updated_at.to_string(),
        "freshness_seconds": shown.freshness.as_secs(),
        "recent_accesses": shown.recent_accesses.iter().map(|a| json!({
            "viewer": a.viewer, "organisation": a.org_code, "role": a.role,
            "setting": a.setting, "at": a.at,
        })).collect::<Vec<_>>(),
    })
}

/// `GET /api/persons/{cci}/flags`: the child's flags in force, governed at the summary tier;
/// a notifying role in unscheduled care tells the owning authority.
pub(crate) async fn person_flags(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(cci): Path<String>,
    Query(query): Query<PurposeQuery>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let input = (|| {
        let purpose = parse_purpose(query.purpose.as_deref())?;
        let setting: safeguarding::CareSetting = header_text(&headers, CARE_SETTING_HEADER)
            .ok_or_else(|| {
                ApiError::BadRequest(
                    "the `X-Kith-Care-Setting` header is required: where the child is being seen (emergency-department, gp-surgery, …)"
                        .into(),
                )
            })?
            .parse()
            .map_err(|e: safeguarding::Error| {
                ApiError::BadRequest(format!("`X-Kith-Care-Setting`: {e}"))
            })?;
        Ok((purpose, setting))
    })();
    let (purpose, setting) = checked(&state, &principal, "read a child's flags", input).await?;
    let encounter = header_text(&headers, ENCOUNTER_HEADER);
    blocking(&state, move |services| {
        let current = governed_person(services, &principal, purpose, &cci, Tier::Summary)?
            .resolution
            .current;
        let at = now();
        let org_name = organisation(services, &principal.org)?
            .map(|o| o.name)
            .unwrap_or_else(|| principal.org.clone());
        // Without the caller's own encounter id, one practitioner's views of a child on one
        // day are one encounter: the owner hears about them once per flag.
        let local_id = encounter.unwrap_or_else(|| {
            format!("view:{}:{}", principal.user, safeguarding::england_date(at))
        });
        let viewer = safeguarding::Viewer {
            user: principal.user.clone(),
            organisation: safeguarding::Organisation {
                code: principal.org.clone(),
                name: org_name,
            },
            role: principal.role.clone(),
            setting,
            encounter: safeguarding::EncounterRef {
                source_org: principal.org.clone(),
                local_id,
            },
        };
        let outcome = services
            .pool
            .with(|store| {
                safeguarding::view_flags(store, &services.notify_policy, &viewer, &current, at)
            })
            .map_err(safeguarding_error)?;
        let mut e = entry(
            &principal,
            EventKind::Access,
            Some(&current),
            json!({
                "safeguarding_flags": outcome.flags.iter().map(|f| f.id).collect::<Vec<_>>(),
                "setting": setting.as_str(),
                "notifications": outcome.notifications,
            }),
        );
        e.purpose = purpose.map(|p| p.as_str().to_string());
        e.decision = Some(ledger::Decision::Permit);
        record_entries(services, vec![e])?;
        if !outcome.notifications.is_empty() {
            services.wake.wake();
        }
        Ok(Json(json!({
            "cci": current,
            "setting": setting.as_str(),
            "flags": outcome.flags.iter().map(shown_flag).collect::<Vec<_>>(),
            "notified": outcome.notifications.len(),
        })))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub(crate) struct InboxQuery {
    after: Option<String>,
    limit: Option<String>,
}

fn parse_count(field: &str, raw: Option<&str>, default: i64) -> ApiResult<i64> {
    match raw.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(default),
        Some(text) => text.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ApiError::BadRequest(format!("`{field}`: `{text}` is not a whole number"))
        }),
    }
}

/// `GET /api/notifications?after=ID`: the caller's authority's notifications after `after`,
/// oldest first, whatever their delivery state.
pub(crate) async fn notifications(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Query(query): Query<InboxQuery>,
) -> ApiResult<Json<Value>> {
    let input = (|| {
        let after = parse_count("after", query.after.as_deref(), 0)?;
        let limit = parse_count("limit", query.limit.as_deref(), 100)?.clamp(1, MAX_INBOX_PAGE);
        Ok((after, limit))
    })();
    let (after, limit) = checked(&state, &principal, "read the notification inbox", input).await?;
    blocking(&state, move |services| {
        require_social_care(services, &principal, "read the notification inbox")?;
        let rows = services
            .pool
            .with(|store| safeguarding::inbox(store, &principal.org, after, limit))
            .map_err(safeguarding_error)?;
        let list: Vec<Value> = rows
            .iter()
            .map(|n| {
                json!({
                    "id": n.id, "kind": n.kind, "flag_id": n.flag_id, "cci": n.cci,
                    "created_at": n.created_at, "status": n.status,
                    "delivered_at": n.delivered_at,
                    "body": serde_json::from_str::<Value>(&n.payload).unwrap_or(Value::Null),
                })
            })
            .collect();
        let children: BTreeSet<&str> = rows.iter().map(|n| n.cci.as_str()).collect();
        let mut entries: Vec<Entry> = children
            .iter()
            .map(|child| {
                permitted_entry(
                    &principal,
                    EventKind::Access,
                    Some(child),
                    json!({"notification_inbox": true}),
                )
            })
            .collect();
        let summary = permitted_entry(
            &principal,
            EventKind::Access,
            None,
            json!({"notification_inbox": true, "after": after, "notifications": list.len()}),
        );
        entries.push(summary);
        record_entries(services, entries)?;
        let next = rows.last().map_or(after, |n| n.id);
        Ok(Json(json!({ "notifications": list, "next_after": next })))
    })
    .await
}

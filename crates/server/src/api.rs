//! The native JSON API. Each handler authenticates, then does its store, governance and ledger
//! work in one blocking task.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, Uri, header};
use governance::state::{Relationship, RelationshipKind};
use governance::{DataCategory, Decision, Purpose, SharingRequest, Tier};
use jiff::Timestamp;
use ledger::{Entry, EventKind};
use registry::{Change, Grade, RegistryError};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{Holding, RegistryRecord};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::{AppState, Services};

type ApiResult<T> = Result<T, ApiError>;

/// Runs blocking work (store, ledger) off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&Services) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let services = state.0.clone();
    tokio::task::spawn_blocking(move || work(&services))
        .await
        .map_err(|e| ApiError::Internal(format!("task failed: {e}")))?
}

pub(crate) fn now() -> Timestamp {
    Timestamp::now()
}

/// Appends entries and waits for their commit: nothing leaves before its record is durable.
pub(crate) fn record_entries(services: &Services, entries: Vec<Entry>) -> ApiResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    services.audit.append(entries)?;
    Ok(())
}

pub(crate) fn entry(
    principal: &Principal,
    kind: EventKind,
    subject: Option<&str>,
    details: Value,
) -> Entry {
    Entry {
        seq: 0,
        time: now().to_string(),
        kind,
        actor_user: principal.user.clone(),
        actor_org: principal.org.clone(),
        role: principal.role.clone(),
        purpose: None,
        subject: subject.map(str::to_string),
        decision: None,
        reasons: vec![],
        details,
    }
}

/// An entry recording something the caller was permitted to do or see.
pub(crate) fn permitted_entry(
    principal: &Principal,
    kind: EventKind,
    subject: Option<&str>,
    details: Value,
) -> Entry {
    let mut e = entry(principal, kind, subject, details);
    e.decision = Some(ledger::Decision::Permit);
    e
}

/// The authenticated caller. A failed authentication is recorded in the ledger.
pub(crate) struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Caller> {
        let header_text = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let authorization = header_text(header::AUTHORIZATION.as_str());
        let role = header_text("x-kith-role");
        match state
            .0
            .verifier
            .authenticate(authorization.as_deref(), role.as_deref())
        {
            Ok(principal) => Ok(Caller(principal)),
            Err(error) => {
                let path = parts.uri.path().to_string();
                let method = parts.method.to_string();
                let code = error.code();
                let message = error.to_string();
                blocking(state, move |services| {
                    record_entries(
                        services,
                        vec![Entry {
                            seq: 0,
                            time: now().to_string(),
                            kind: EventKind::LoginFailure,
                            actor_user: "unauthenticated".into(),
                            actor_org: String::new(),
                            role: String::new(),
                            purpose: None,
                            subject: None,
                            decision: Some(ledger::Decision::Deny),
                            reasons: vec![code.to_string()],
                            details: json!({"method": method, "path": path}),
                        }],
                    )
                })
                .await?;
                Err(ApiError::Unauthorised(message))
            }
        }
    }
}

pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub(crate) async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    blocking(&state, |services| {
        let counts = services.pool.with(|store| store.counts())?;
        let model = services
            .registry
            .read()
            .map_err(|_| ApiError::Internal("registry lock poisoned".into()))?
            .model()
            .map(|m| m.version);
        Ok(Json(json!({
            "status": "ready",
            "persons": counts.persons,
            "model_version": model,
        })))
    })
    .await
}

pub(crate) async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {method} {}", uri.path()))
}

pub(crate) async fn whoami(Caller(p): Caller) -> Json<Value> {
    Json(json!({"user": p.user, "organisation": p.org, "role": p.role, "team": p.team}))
}

/// Which data category an organisation's records fall under.
pub(crate) fn category_of(agency_type: &str) -> Option<DataCategory> {
    Some(match agency_type {
        "health" => DataCategory::Health,
        "social-care" => DataCategory::SocialCare,
        "education" => DataCategory::Education,
        "police" => DataCategory::Police,
        "housing" => DataCategory::Housing,
        _ => return None,
    })
}

/// The legitimate relationship an organisation has because it holds the child's record: GP
/// registration, school enrolment, the allocated team, a current episode or a referral.
pub(crate) fn relationship_kind(holding: &Holding) -> RelationshipKind {
    match holding.agency_type.as_str() {
        "health" if holding.org_code.starts_with("GP_") => RelationshipKind::GpRegistration,
        "health" => RelationshipKind::CurrentEpisode,
        "education" => RelationshipKind::SchoolEnrolment,
        "social-care" => RelationshipKind::Team,
        _ => RelationshipKind::Referral,
    }
}

pub(crate) fn held_relationships(
    cci: &str,
    holdings: &[Holding],
    principal: &Principal,
) -> Vec<Relationship> {
    let today = now().to_zoned(jiff::tz::TimeZone::UTC).date();
    holdings
        .iter()
        .filter(|h| h.org_code == principal.org)
        .map(|h| Relationship {
            id: format!("holds:{}:{}", h.org_code, h.local_id),
            child: cci.to_string(),
            kind: relationship_kind(h),
            org: h.org_code.clone(),
            user: None,
            team: None,
            start: today,
            end: None,
        })
        .collect()
}

pub(crate) fn parse_purpose(raw: Option<&str>) -> ApiResult<Option<Purpose>> {
    match raw.map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(None),
        Some(p) => serde_json::from_value(Value::String(p.into())).map(Some).map_err(|_| {
            ApiError::BadRequest(format!(
                "unknown purpose `{p}`: use direct_care, safeguarding_s47, child_in_need_s17, early_help, supporting_families_identification, evaluation or research_planning"
            ))
        }),
    }
}

pub(crate) fn parse_tier(raw: Option<&str>, default: Tier) -> ApiResult<Tier> {
    match raw.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(default),
        Some(t) => serde_json::from_value(Value::String(t.into())).map_err(|_| {
            ApiError::BadRequest(format!(
                "unknown tier `{t}`: use existence, involvement, summary or full"
            ))
        }),
    }
}

/// Decisions for each organisation holding the child's records, one per holder.
pub(crate) struct HolderDecisions {
    pub(crate) decisions: Vec<(Holding, Decision)>,
}

pub(crate) fn decide_for_holders(
    services: &Services,
    principal: &Principal,
    purpose: Option<Purpose>,
    cci: &str,
    holdings: &[Holding],
    tier: Tier,
) -> ApiResult<HolderDecisions> {
    let state = services
        .governance
        .read()
        .map_err(|_| ApiError::Internal("governance lock poisoned".into()))?
        .clone();
    let held = held_relationships(cci, holdings, principal);
    let at = now();
    let mut seen = std::collections::BTreeSet::new();
    let mut decisions = Vec::new();
    for holding in holdings {
        if !seen.insert(holding.org_code.clone()) {
            continue;
        }
        let Some(category) = category_of(&holding.agency_type) else {
            continue;
        };
        let request = SharingRequest {
            actor: principal.actor(),
            purpose,
            child: cci.to_string(),
            holder: holding.org_code.clone(),
            category,
            tier,
            safeguarding: None,
            location_override: None,
        };
        let decision =
            governance::decide_with_relationships(&services.engine, &state, &request, &held, at);
        decisions.push((holding.clone(), decision));
    }
    Ok(HolderDecisions { decisions })
}

/// Records every decision and returns the permitted ones.
pub(crate) fn record_decisions(services: &Services, decisions: &HolderDecisions) -> ApiResult<()> {
    let entries = decisions
        .decisions
        .iter()
        .map(|(_, d)| d.ledger_entry(0))
        .collect();
    record_entries(services, entries)
}

pub(crate) fn not_visible(cci: &str) -> ApiError {
    ApiError::NotFound(format!("no person you may see has the identifier `{cci}`"))
}

/// Resolves a CCI through merges; unknown (or sealed) → 404, recorded as a denied access.
pub(crate) fn resolve(
    services: &Services,
    principal: &Principal,
    cci: &str,
) -> ApiResult<registry::Resolution> {
    let registry = services
        .registry
        .read()
        .map_err(|_| ApiError::Internal("registry lock poisoned".into()))?;
    let outcome = services.pool.with(|store| registry.resolve(store, cci));
    match outcome {
        Ok(resolution) => Ok(resolution),
        Err(RegistryError::UnknownPerson(_)) => {
            let mut e = entry(
                principal,
                EventKind::Access,
                Some(cci),
                json!({"found": false}),
            );
            e.decision = Some(ledger::Decision::Deny);
            e.reasons = vec!["unknown identifier".into()];
            record_entries(services, vec![e])?;
            Err(not_visible(cci))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct PersonQuery {
    purpose: Option<String>,
    tier: Option<String>,
}

pub(crate) fn holder_view(holding: &Holding, decision: &Decision) -> Value {
    use governance::Field;
    let allowed = |f: Field| decision.disclosed.contains(&f);
    let mut fields = serde_json::Map::new();
    fields.insert("organisation".into(), holding.org_code.clone().into());
    fields.insert("agency_type".into(), holding.agency_type.clone().into());
    if allowed(Field::LeadAgency) || allowed(Field::LeadPractitioner) {
        fields.insert("lead_agency".into(), holding.org_name.clone().into());
    }
    if allowed(Field::LastContact) {
        fields.insert("last_contact".into(), holding.last_contact.clone().into());
    }
    if allowed(Field::Name) {
        let name = [
            holding.given_name.as_deref(),
            holding.family_name.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        fields.insert("name".into(), name.into());
    }
    if allowed(Field::DateOfBirth) {
        fields.insert("date_of_birth".into(), holding.birth_date.clone().into());
    }
    if allowed(Field::Address) {
        fields.insert("address".into(), holding.address.clone().into());
    }
    if allowed(Field::Postcode) {
        fields.insert("postcode".into(), holding.postcode.clone().into());
    }
    fields.insert(
        "withheld".into(),
        decision
            .withheld
            .iter()
            .map(|w| json!({"field": w.field.as_str(), "why": w.why}))
            .collect::<Vec<_>>()
            .into(),
    );
    fields.insert(
        "restricted".into(),
        decision
            .restricted
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .into(),
    );
    fields.insert(
        "because".into(),
        decision
            .reasons
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .into(),
    );
    Value::Object(fields)
}

/// The reasons of denied decisions, for a 403 the caller can act on.
pub(crate) fn denial_reasons(decisions: &HolderDecisions) -> Vec<String> {
    let mut reasons: Vec<String> = decisions
        .decisions
        .iter()
        .flat_map(|(_, d)| d.reasons.iter().map(ToString::to_string))
        .collect();
    reasons.sort();
    reasons.dedup();
    reasons
}

/// Decides at `tier`; when nothing is permitted, answers 403 with reasons if the caller may
/// know the child exists, else 404. Every decision is recorded.
pub(crate) fn governed(
    services: &Services,
    principal: &Principal,
    purpose: Option<Purpose>,
    cci: &str,
    holdings: &[Holding],
    tier: Tier,
) -> ApiResult<HolderDecisions> {
    let decisions = decide_for_holders(services, principal, purpose, cci, holdings, tier)?;
    record_decisions(services, &decisions)?;
    if decisions.decisions.iter().any(|(_, d)| d.is_permit()) {
        return Ok(decisions);
    }
    if tier != Tier::Existence {
        let existence =
            decide_for_holders(services, principal, purpose, cci, holdings, Tier::Existence)?;
        record_decisions(services, &existence)?;
        if existence.decisions.iter().any(|(_, d)| d.is_permit()) {
            return Err(ApiError::Forbidden {
                message: format!(
                    "sharing at the {} tier is not permitted for this purpose",
                    tier.as_str()
                ),
                reasons: denial_reasons(&decisions),
            });
        }
    }
    if purpose.is_none() {
        return Err(ApiError::BadRequest(
            "a purpose is required: add `purpose=` (direct_care, safeguarding_s47, …)".into(),
        ));
    }
    Err(not_visible(cci))
}

/// The common start of every read about a person: resolve the CCI through merges, find the
/// organisations holding records of the child, and decide for each at `tier` (recorded; an
/// answer of 403 or 404 when nothing is permitted).
pub(crate) struct GovernedPerson {
    pub(crate) resolution: registry::Resolution,
    pub(crate) decisions: HolderDecisions,
}

pub(crate) fn governed_person(
    services: &Services,
    principal: &Principal,
    purpose: Option<Purpose>,
    cci: &str,
    tier: Tier,
) -> ApiResult<GovernedPerson> {
    let resolution = resolve(services, principal, cci)?;
    let holdings = services
        .pool
        .with(|store| store.registry().holdings(&resolution.current))?;
    let decisions = governed(
        services,
        principal,
        purpose,
        &resolution.current,
        &holdings,
        tier,
    )?;
    Ok(GovernedPerson {
        resolution,
        decisions,
    })
}

pub(crate) async fn person(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(cci): Path<String>,
    Query(query): Query<PersonQuery>,
) -> ApiResult<Json<Value>> {
    let purpose = parse_purpose(query.purpose.as_deref())?;
    let tier = parse_tier(query.tier.as_deref(), Tier::Involvement)?;
    blocking(&state, move |services| {
        let GovernedPerson {
            resolution,
            decisions,
        } = governed_person(services, &principal, purpose, &cci, tier)?;
        let current = resolution.current.clone();
        let holders: Vec<Value> = decisions
            .decisions
            .iter()
            .filter(|(_, d)| d.is_permit())
            .map(|(h, d)| holder_view(h, d))
            .collect();
        Ok(Json(json!({
            "cci": current,
            "requested": resolution.requested,
            "merged_via": resolution.merged_via,
            "tier": tier.as_str(),
            "purpose": purpose.map(|p| p.as_str()),
            "holders": holders,
        })))
    })
    .await
}

pub(crate) async fn chronology(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(cci): Path<String>,
    Query(query): Query<PersonQuery>,
) -> ApiResult<Json<Value>> {
    let purpose = parse_purpose(query.purpose.as_deref())?;
    blocking(&state, move |services| {
        let GovernedPerson {
            resolution,
            decisions,
        } = governed_person(services, &principal, purpose, &cci, Tier::Full)?;
        let current = resolution.current.clone();
        let mut events = Vec::new();
        for (holding, decision) in decisions.decisions.iter().filter(|(_, d)| d.is_permit()) {
            if !decision.disclosed.contains(&governance::Field::Chronology) {
                continue;
            }
            let restricted: Vec<&str> = decision.restricted.iter().map(|c| c.as_str()).collect();
            let entries = services
                .pool
                .with(|store| store.registry().chronology(&current, &holding.org_code))?;
            for e in entries {
                let compartment = restricted.iter().find(|c| e.category == **c);
                if compartment.is_some() || e.sensitivity == "restricted" {
                    events.push(json!({
                        "organisation": e.org_code, "occurred_on": e.occurred_on,
                        "restricted": true,
                    }));
                } else {
                    events.push(json!({
                        "organisation": e.org_code, "entry_id": e.entry_id,
                        "type": e.entry_type, "occurred_on": e.occurred_on,
                        "ended_on": e.ended_on, "category": e.category, "summary": e.summary,
                    }));
                }
            }
        }
        events.sort_by(|a, b| a["occurred_on"].as_str().cmp(&b["occurred_on"].as_str()));
        Ok(Json(json!({
            "cci": current,
            "purpose": purpose.map(|p| p.as_str()),
            "events": events,
        })))
    })
    .await
}

/// The family around a child: relationships the holders recorded, each disclosed under that
/// holder's decision; the related person's CCI only when the caller may know they exist.
pub(crate) async fn relationships(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(cci): Path<String>,
    Query(query): Query<PersonQuery>,
) -> ApiResult<Json<Value>> {
    let purpose = parse_purpose(query.purpose.as_deref())?;
    blocking(&state, move |services| {
        let GovernedPerson {
            resolution,
            decisions,
        } = governed_person(services, &principal, purpose, &cci, Tier::Summary)?;
        let current = resolution.current.clone();
        let permitted: Vec<&str> = decisions
            .decisions
            .iter()
            .filter(|(_, d)| d.is_permit())
            .map(|(h, _)| h.org_code.as_str())
            .collect();
        let recorded = services
            .pool
            .with(|store| store.registry().person_relationships(&current))?;
        let mut out = Vec::new();
        let mut known: std::collections::BTreeMap<String, bool> = Default::default();
        for r in recorded
            .into_iter()
            .filter(|r| permitted.contains(&r.org_code.as_str()))
        {
            let related = match r.related_cci {
                Some(other) if other != current => {
                    let visible = match known.get(&other) {
                        Some(v) => *v,
                        None => {
                            let their = services
                                .pool
                                .with(|store| store.registry().holdings(&other))?;
                            let existence = decide_for_holders(
                                services,
                                &principal,
                                purpose,
                                &other,
                                &their,
                                Tier::Existence,
                            )?;
                            record_decisions(services, &existence)?;
                            let v = existence.decisions.iter().any(|(_, d)| d.is_permit());
                            known.insert(other.clone(), v);
                            v
                        }
                    };
                    visible.then_some(other)
                }
                _ => None,
            };
            out.push(json!({
                "recorded_by": r.org_code, "relationship": r.kind, "direction": r.direction,
                "start_date": r.start_date, "end_date": r.end_date, "related_cci": related,
            }));
        }
        Ok(Json(json!({ "cci": current, "relationships": out })))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchBody {
    purpose: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    date_of_birth: Option<String>,
    sex: Option<String>,
    postcode: Option<String>,
    nhs_number: Option<String>,
    #[serde(default)]
    only_certain: bool,
}

pub(crate) fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> ApiResult<T> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/json") {
        return Err(ApiError::UnsupportedMediaType(format!(
            "send `Content-Type: application/json` (got `{content_type}`)"
        )));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("request body: {e}")))
}

/// Demographic search: graded candidates, each only if the caller may know the child exists.
pub(crate) async fn search(
    State(state): State<AppState>,
    Caller(principal): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let query: SearchBody = json_body(&headers, &body)?;
    let purpose = parse_purpose(query.purpose.as_deref())?;
    if purpose.is_none() {
        return Err(ApiError::BadRequest(
            "a purpose is required: add `\"purpose\"` (direct_care, safeguarding_s47, …)".into(),
        ));
    }
    if let Some(nhs) = query.nhs_number.as_deref() {
        nhs.parse::<model::NhsNumber>()
            .map_err(|e| ApiError::BadRequest(format!("nhs_number: {e}")))?;
    }
    blocking(&state, move |services| {
        let record = RegistryRecord {
            id: -1,
            org_code: principal.org.clone(),
            local_id: "search".into(),
            given_name: query.given_name,
            family_name: query.family_name,
            birth_date: query.date_of_birth,
            sex: query.sex.unwrap_or_else(|| "unknown".into()),
            postcode: query.postcode,
            nhs_number_status: query.nhs_number.as_ref().map(|_| "01".to_string()),
            nhs_number: query.nhs_number,
            ..RegistryRecord::default()
        };
        let registry = services
            .registry
            .read()
            .map_err(|_| ApiError::Internal("registry lock poisoned".into()))?;
        let found = services
            .pool
            .with(|store| registry.search(store, &record))?;
        drop(registry);
        let mut results = Vec::new();
        let mut audit = Vec::new();
        for candidate in found.into_iter().filter(|c| c.grade != Grade::CertainlyNot) {
            if query.only_certain && candidate.grade != Grade::Certain {
                continue;
            }
            let holdings = services
                .pool
                .with(|store| store.registry().holdings(&candidate.cci))?;
            let decisions = decide_for_holders(
                services,
                &principal,
                purpose,
                &candidate.cci,
                &holdings,
                Tier::Existence,
            )?;
            audit.extend(decisions.decisions.iter().map(|(_, d)| d.ledger_entry(0)));
            let visible: Vec<&str> = decisions
                .decisions
                .iter()
                .filter(|(_, d)| d.is_permit())
                .map(|(h, _)| h.org_code.as_str())
                .collect();
            if !visible.is_empty() {
                results.push(json!({
                    "cci": candidate.cci,
                    "grade": candidate.grade.as_str(),
                    "score": (candidate.probability * 1e4).round() / 1e4,
                    "held_by": visible,
                }));
            }
        }
        let mut search_entry = entry(
            &principal,
            EventKind::Access,
            None,
            json!({
                "search": true, "results": results.len(),
            }),
        );
        search_entry.purpose = purpose.map(|p| p.as_str().to_string());
        audit.push(search_entry);
        record_entries(services, audit)?;
        Ok(Json(json!({ "candidates": results })))
    })
    .await
}

/// Agency records (NDJSON body, or a JSON array of objects with the canonical column names)
/// from the caller's organisation: validated, stored, linked in real time.
pub(crate) async fn post_records(
    State(state): State<AppState>,
    Caller(principal): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let ndjson = if content_type.starts_with("application/x-ndjson") {
        body.to_vec()
    } else if content_type.starts_with("application/json") {
        let rows: Vec<serde_json::Map<String, Value>> =
            serde_json::from_slice(&body).map_err(|e| {
                ApiError::BadRequest(format!("request body: expected an array of records: {e}"))
            })?;
        let mut text = Vec::new();
        for row in rows {
            text.extend(serde_json::to_vec(&row).map_err(|e| ApiError::Internal(e.to_string()))?);
            text.push(b'\n');
        }
        text
    } else {
        return Err(ApiError::UnsupportedMediaType(format!(
            "send `Content-Type: application/json` (an array) or `application/x-ndjson` (got `{content_type}`)"
        )));
    };
    require_role(&principal, &["agency_system", "data_steward"])?;
    blocking(&state, move |services| {
        let options = ingest::ReadOptions {
            org: Some(principal.org.clone()),
            ..ingest::ReadOptions::default()
        };
        let extract = ingest::Extract::from_reader("api.ndjson", std::io::Cursor::new(ndjson), &options)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let mut records = Vec::new();
        let mut later = store::Chunk::default();
        let mut issues = Vec::new();
        for row in extract {
            let row = row.map_err(|e| ApiError::BadRequest(e.to_string()))?;
            later.last_line = row.line;
            for issue in &row.issues {
                issues.push(json!({
                    "row": row.line, "field": issue.field, "code": issue.code,
                    "severity": if issue.severity == ingest::Severity::Rejected { "rejected" } else { "warning" },
                    "message": issue.message,
                }));
            }
            match row.value {
                ingest::RowValue::Record { record, birth_date_raw } => {
                    records.push((row.line, record, birth_date_raw));
                }
                ingest::RowValue::Entry(e) => later.entries.push((row.line, e)),
                ingest::RowValue::Relationship(r) => later.relationships.push((row.line, r)),
                ingest::RowValue::Organisation(_) | ingest::RowValue::Rejected { .. } => {}
            }
        }
        let local_ids: Vec<String> = records.iter().map(|(_, r, _)| r.local_id.clone()).collect();
        let outcomes = crate::fhir_routes::store_and_link(services, &principal, records, "api")?;
        let linked: Vec<Value> = local_ids
            .iter()
            .zip(&outcomes)
            .map(|(local_id, outcome)| {
                json!({
                    "record_id": local_id, "cci": outcome.cci,
                    "action": serde_json::to_value(&outcome.action).unwrap_or_default()["action"],
                })
            })
            .collect();
        // Entries and relationships after the records they are about; an entry about a record
        // the agency never sent is quarantined by the store with its reason.
        let mut stored_later = 0;
        if !later.entries.is_empty() || !later.relationships.is_empty() {
            let at = now().to_string();
            let outcome = services.pool.with(|store| -> ApiResult<_> {
                let batch = store.begin_batch(&store::NewBatch {
                    file_name: format!("api:{}", principal.user),
                    file_sha256: format!("api-entries-{}-{at}", principal.org),
                    org_code: Some(principal.org.clone()),
                    kind: "entries".into(),
                    started_at: at.clone(),
                })?;
                let outcome = store.apply_chunk(batch.id, &later)?;
                store.finish_batch(batch.id, &at)?;
                Ok(outcome)
            })?;
            stored_later = outcome.inserted + outcome.updated + outcome.unchanged;
            for issue in outcome.store_rejections {
                issues.push(json!({
                    "row": issue.line, "field": issue.field, "code": issue.code,
                    "severity": "rejected", "message": issue.message,
                }));
            }
        }
        let mut e = permitted_entry(&principal, EventKind::AdminChange, None, json!({
            "records_submitted": linked.len(), "entries_and_relationships": stored_later,
            "issues": issues.len(),
        }));
        e.reasons = vec!["an agency's own records, and the identifiers Kith gave them".into()];
        record_entries(services, vec![e])?;
        Ok(Json(json!({
            "records": linked, "entries_and_relationships": stored_later, "issues": issues,
        })))
    })
    .await
}

pub(crate) async fn agreements(
    State(state): State<AppState>,
    Caller(principal): Caller,
) -> ApiResult<Json<Value>> {
    blocking(&state, move |services| {
        let governance = services
            .governance
            .read()
            .map_err(|_| ApiError::Internal("governance lock poisoned".into()))?
            .clone();
        let list: Vec<Value> = governance
            .records()
            .agreements
            .iter()
            .filter(|a| a.has_party(&principal.org) || principal.role == "ig_lead")
            .map(|a| {
                json!({
                    "id": a.id, "version": a.version, "title": a.title,
                    "owner": a.owner, "start": a.start.to_string(), "end": a.end.to_string(),
                    "review": a.review.to_string(),
                    "parties": a.parties.iter().map(|p| &p.code).collect::<Vec<_>>(),
                    "purposes": a.purposes.keys().map(|p| p.as_str()).collect::<Vec<_>>(),
                })
            })
            .collect();
        Ok(Json(json!({ "agreements": list })))
    })
    .await
}

pub(crate) fn require_role(principal: &Principal, roles: &[&str]) -> ApiResult<()> {
    if roles.contains(&principal.role.as_str()) {
        Ok(())
    } else {
        Err(ApiError::Forbidden {
            message: format!("this needs the role {}", roles.join(" or ")),
            reasons: vec![format!("the selected role is `{}`", principal.role)],
        })
    }
}

pub(crate) async fn review_list(
    State(state): State<AppState>,
    Caller(principal): Caller,
) -> ApiResult<Json<Value>> {
    require_role(&principal, &["data_steward"])?;
    blocking(&state, move |services| {
        let registry = services
            .registry
            .read()
            .map_err(|_| ApiError::Internal("registry lock poisoned".into()))?;
        let items = services
            .pool
            .with(|store| store.registry().reviews("open", 100))?;
        let mut out = Vec::new();
        for item in items {
            let detail = services
                .pool
                .with(|store| registry.review_detail(store, item.id))?;
            out.push(serde_json::to_value(&detail).map_err(|e| ApiError::Internal(e.to_string()))?);
        }
        let e = entry(
            &principal,
            EventKind::Access,
            None,
            json!({"review_items": out.len()}),
        );
        record_entries(services, vec![e])?;
        Ok(Json(json!({ "items": out })))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecisionBody {
    reason: String,
}

async fn review_decision(
    state: AppState,
    principal: Principal,
    id: i64,
    headers: HeaderMap,
    body: Bytes,
    accept: bool,
) -> ApiResult<Json<Value>> {
    require_role(&principal, &["data_steward"])?;
    let body: DecisionBody = json_body(&headers, &body)?;
    blocking(&state, move |services| {
        let registry = services
            .registry
            .read()
            .map_err(|_| ApiError::Internal("registry lock poisoned".into()))?;
        let actor = format!("{}@{}", principal.user, principal.org);
        let at = now().to_string();
        let change = Change { actor: &actor, at: &at, reason: Some(&body.reason) };
        let result = services.pool.with(|store| {
            if accept {
                registry.accept_review(store, id, change).map(Some)
            } else {
                registry.reject_review(store, id, change).map(|()| None)
            }
        })?;
        let e = permitted_entry(&principal, EventKind::IdentityChange, result.as_deref(), json!({
            "review": id, "accepted": accept, "reason": body.reason,
        }));
        record_entries(services, vec![e])?;
        Ok(Json(json!({ "review": id, "status": if accept { "accepted" } else { "rejected" }, "cci": result })))
    })
    .await
}

pub(crate) async fn review_accept(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    review_decision(state, principal, id, headers, body, true).await
}

pub(crate) async fn review_reject(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    review_decision(state, principal, id, headers, body, false).await
}

/// Who accessed a child's record, for the family (through an IG lead) or an inspector: each
/// access with the end requester, organisation, role, purpose, decision and reasons. Entries
/// deferred for a s.47 enquiry or police investigation are left out, and said to be only to a
/// Caldicott guardian.
pub(crate) async fn subject_access(
    State(state): State<AppState>,
    Caller(principal): Caller,
    Path(cci): Path<String>,
) -> ApiResult<Json<Value>> {
    require_role(&principal, &["ig_lead", "caldicott_guardian"])?;
    blocking(&state, move |services| {
        let resolution = resolve(services, &principal, &cci)?;
        let today = now().to_zoned(jiff::tz::TimeZone::UTC).date().to_string();
        let view = {
            let mut reader = services
                .audit_reader
                .lock()
                .map_err(|_| ApiError::Internal("audit reader lock poisoned".into()))?;
            reader.subject_view(&resolution.current, &today)?
        };
        let accesses: Vec<Value> = view
            .entries
            .iter()
            .filter(|e| e.actor_org != principal.org || e.kind != EventKind::Access)
            .map(|e| {
                json!({
                    "time": e.time, "kind": e.kind.as_str(), "user": e.actor_user,
                    "via": e.details.get("via"), "organisation": e.actor_org, "role": e.role,
                    "purpose": e.purpose, "decision": e.decision.map(|d| d.as_str()),
                    "reasons": e.reasons,
                })
            })
            .collect();
        let e = entry(
            &principal,
            EventKind::Access,
            Some(&resolution.current),
            json!({
                "subject_access_report": true, "entries": accesses.len(),
            }),
        );
        record_entries(services, vec![e])?;
        let mut body = json!({
            "cci": resolution.current,
            "ledger": services.origin,
            "accesses": accesses,
        });
        if principal.role == "caldicott_guardian" {
            body["deferred"] = view.deferred.into();
            body["deferred_until"] = view.deferred_until.into();
        }
        Ok(Json(body))
    })
    .await
}

//! The OpenAPI 3.1 description of the native API, served at `/openapi.json`.
//!
//! Written by hand rather than derived: the payloads are shaped per request by governance (the
//! fields of a holder appear only when disclosed), which derive macros on domain types would
//! describe wrongly. A test keeps the document and the router in step (every route documented,
//! nothing documented that is not routed).

use axum::Json;
use serde_json::{Value, json};

fn error_responses() -> Value {
    json!({
        "400": {"description": "The request cannot be used; the message names the field and why.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "401": {"description": "No valid bearer token (missing, expired, forged, wrong audience or issuer); recorded in the audit ledger.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "403": {"description": "Authenticated but not permitted; `reasons` cite the agreement, basis, consent and rule.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "404": {"description": "Nothing the caller may see: an unknown identifier and a child the caller may not know about look the same.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    })
}

fn purpose_param(required: bool) -> Value {
    json!({
        "name": "purpose", "in": "query", "required": required,
        "description": "Why the caller asks; matched to an information-sharing agreement. A request without one is refused.",
        "schema": {"$ref": "#/components/schemas/Purpose"}
    })
}

fn cci_param() -> Value {
    json!({
        "name": "cci", "in": "path", "required": true,
        "description": "Consistent child identifier (`K`, nine digits, check character). A retired identifier resolves to its survivor.",
        "schema": {"type": "string", "pattern": "^K[0-9]{9}[0-9X]$"}
    })
}

/// The document.
pub fn openapi() -> Value {
    let errors = error_responses();
    let ok = |description: &str| -> Value {
        let mut responses = errors.clone();
        responses["200"] = json!({"description": description, "content": {"application/json": {"schema": {"type": "object"}}}});
        responses
    };
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Kith",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Multi-agency information sharing for children's and family services. Every response carrying personal data has passed a governance decision and left an audit ledger entry; denials are recorded too. Authenticate with an OIDC bearer token; choose one of its roles per request with `X-Kith-Role`."
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)"}},
            "parameters": {
                "role": {"name": "X-Kith-Role", "in": "header", "required": false, "description": "The role to act in, when the token carries several.", "schema": {"type": "string"}}
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error", "message"], "properties": {
                    "error": {"type": "string"}, "message": {"type": "string"},
                    "reasons": {"type": "array", "items": {"type": "string"}}
                }},
                "Purpose": {"type": "string", "enum": ["direct_care", "safeguarding_s47", "child_in_need_s17", "early_help", "supporting_families_identification", "evaluation", "research_planning"]},
                "Tier": {"type": "string", "enum": ["existence", "involvement", "summary", "full"]},
                "Search": {"type": "object", "required": ["purpose"], "additionalProperties": false, "properties": {
                    "purpose": {"$ref": "#/components/schemas/Purpose"},
                    "given_name": {"type": "string"}, "family_name": {"type": "string"},
                    "date_of_birth": {"type": "string", "description": "Any common UK form."},
                    "sex": {"type": "string"}, "postcode": {"type": "string"},
                    "nhs_number": {"type": "string", "description": "Checked with Modulus 11."},
                    "only_certain": {"type": "boolean"}
                }},
                "ReviewDecision": {"type": "object", "required": ["reason"], "additionalProperties": false, "properties": {"reason": {"type": "string"}}}
            }
        },
        "security": [{"bearer": []}],
        "paths": {
            "/healthz": {"get": {"summary": "Liveness.", "security": [], "responses": {"200": {"description": "The process is up."}}}},
            "/readyz": {"get": {"summary": "Readiness: the store answers.", "security": [], "responses": {"200": {"description": "Ready."}}}},
            "/openapi.json": {"get": {"summary": "This document.", "security": [], "responses": {"200": {"description": "OpenAPI 3.1."}}}},
            "/api/whoami": {"get": {"summary": "The caller as the token and selected role say.", "parameters": [{"$ref": "#/components/parameters/role"}], "responses": ok("User, organisation, role.")}},
            "/api/records": {"post": {
                "summary": "Submit the caller's organisation's person records; they are validated, stored and linked to persons in real time.",
                "parameters": [{"$ref": "#/components/parameters/role"}],
                "requestBody": {"required": true, "content": {
                    "application/json": {"schema": {"type": "array", "items": {"type": "object", "description": "Canonical extract columns: record_id, given_name, family_name, date_of_birth, sex, postcode, nhs_number, nhs_number_status, upn, …"}}},
                    "application/x-ndjson": {"schema": {"type": "string"}}
                }},
                "responses": ok("Each record's CCI and what linking did, plus per-row issues (bad values are dropped with a warning, bad rows quarantined).")
            }},
            "/api/search": {"post": {
                "summary": "Demographic search: graded candidates (certain, probable, possible), each only if the caller may know the child exists.",
                "parameters": [{"$ref": "#/components/parameters/role"}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Search"}}}},
                "responses": ok("Candidates with grade, score and the organisations whose existence may be disclosed.")
            }},
            "/api/persons/{cci}": {"get": {
                "summary": "A child's record at one disclosure tier: existence, involvement (lead agency and last contact), summary, full. Each holder is its own decision.",
                "parameters": [cci_param(), purpose_param(true), {"name": "tier", "in": "query", "schema": {"$ref": "#/components/schemas/Tier"}}, {"$ref": "#/components/parameters/role"}],
                "responses": ok("Permitted holders with their disclosed fields, withheld fields and restricted compartments, and why.")
            }},
            "/api/persons/{cci}/chronology": {"get": {
                "summary": "The multi-agency chronology: dated entries from every holder permitted at the full tier; restricted compartments show as restricted.",
                "parameters": [cci_param(), purpose_param(true), {"$ref": "#/components/parameters/role"}],
                "responses": ok("Events, oldest first.")
            }},
            "/api/persons/{cci}/relationships": {"get": {
                "summary": "The family around a child: relationships (parent, carer, sibling, household member) the holders recorded, each under that holder's decision; a related person's CCI only when the caller may know they exist.",
                "parameters": [cci_param(), purpose_param(true), {"$ref": "#/components/parameters/role"}],
                "responses": ok("Relationships with who recorded them and their dates.")
            }},
            "/api/agreements": {"get": {"summary": "Information-sharing agreements the caller's organisation is party to (all, for an IG lead).", "parameters": [{"$ref": "#/components/parameters/role"}], "responses": ok("Agreements with version, parties, purposes and dates.")}},
            "/api/review": {"get": {"summary": "Open review items with the per-field evidence (data stewards).", "parameters": [{"$ref": "#/components/parameters/role"}], "responses": ok("Review items.")}},
            "/api/review/{id}/accept": {"post": {
                "summary": "The pair is one child: merge their persons (the older CCI survives).",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}, {"$ref": "#/components/parameters/role"}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReviewDecision"}}}},
                "responses": ok("The surviving CCI.")
            }},
            "/api/review/{id}/reject": {"post": {
                "summary": "The pair are different children: keep them apart for good.",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}, {"$ref": "#/components/parameters/role"}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReviewDecision"}}}},
                "responses": ok("Recorded.")
            }},
            "/api/subject-access/{cci}": {"get": {
                "summary": "Who accessed the child's record: end requester, organisation, role, purpose, decision and reasons (IG leads and Caldicott guardians).",
                "parameters": [cci_param(), {"$ref": "#/components/parameters/role"}],
                "responses": ok("Accesses, oldest first; deferred entries are counted only for a Caldicott guardian.")
            }}
        }
    });
    if let (Some(schemas), Value::Object(more)) = (
        document["components"]["schemas"].as_object_mut(),
        care_schemas(),
    ) {
        schemas.extend(more);
    }
    if let (Some(paths), Value::Object(more)) =
        (document["paths"].as_object_mut(), care_paths(&errors))
    {
        paths.extend(more);
    }
    document
}

/// The care-coordination payloads: consent, break-glass, decisions not to share, flags.
fn care_schemas() -> Value {
    json!({
        "Consent": {"type": "object", "required": ["id", "version", "child", "given_by", "date", "provisions"], "description": "Shaped like a FHIR Consent. The consenter is checked: a parent with parental responsibility, or the child when 16 or over or assessed competent (Gillick); otherwise 422 with the reason.", "properties": {
            "id": {"type": "string"}, "version": {"type": "integer", "minimum": 1},
            "child": {"type": "string", "description": "The child's CCI."},
            "given_by": {"oneOf": [
                {"type": "object", "required": ["kind"], "properties": {"kind": {"const": "child"}}},
                {"type": "object", "required": ["kind", "name", "parental_responsibility"], "properties": {"kind": {"const": "parent"}, "name": {"type": "string"}, "parental_responsibility": {"type": "boolean"}}}
            ]},
            "date": {"type": "string", "format": "date"},
            "expires": {"type": "string", "format": "date"},
            "provisions": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["type"], "properties": {
                "type": {"type": "string", "enum": ["permit", "deny"]},
                "purposes": {"type": "array", "items": {"$ref": "#/components/schemas/Purpose"}},
                "categories": {"type": "array", "items": {"type": "string", "enum": ["health", "social_care", "education", "police", "housing"]}},
                "recipients": {"type": "array", "items": {"type": "string"}, "description": "Organisation codes; empty means any."}
            }}}
        }},
        "Withdrawal": {"type": "object", "additionalProperties": false, "properties": {"date": {"type": "string", "format": "date", "description": "Today when absent."}, "reason": {"type": "string"}}},
        "BreakGlass": {"type": "object", "required": ["cci", "purpose", "reason_code", "reason_text"], "additionalProperties": false, "properties": {
            "cci": {"type": "string"}, "purpose": {"$ref": "#/components/schemas/Purpose"},
            "reason_code": {"type": "string", "enum": ["emergency_care", "immediate_safeguarding", "out_of_hours_cover"]},
            "reason_text": {"type": "string", "minLength": 10, "description": "The reason in the practitioner's own words."},
            "duration_minutes": {"type": "integer", "minimum": 1, "maximum": 240, "description": "Shorter than the default four hours."},
            "duration_seconds": {"type": "integer", "minimum": 1, "maximum": 14400}
        }},
        "BreakGlassReview": {"type": "object", "required": ["outcome", "notes"], "additionalProperties": false, "properties": {
            "outcome": {"type": "string", "enum": ["justified", "unjustified", "escalate"]}, "notes": {"type": "string"}
        }},
        "NotShared": {"type": "object", "required": ["cci", "requested_by", "reason", "explanation"], "additionalProperties": false, "properties": {
            "cci": {"type": "string"}, "purpose": {"$ref": "#/components/schemas/Purpose"},
            "requested_by": {"type": "string", "description": "The organisation that asked."},
            "reason": {"type": "string", "enum": ["risk_to_child", "risk_to_investigation", "no_lawful_basis", "not_necessary", "consent_refused", "other"]},
            "explanation": {"type": "string"}
        }},
        "Flag": {"type": "object", "required": ["cci", "kind", "owner", "office_hours", "out_of_hours", "start_date", "reference", "source_updated_at"], "additionalProperties": false, "properties": {
            "cci": {"type": "string"},
            "kind": {"type": "string", "enum": ["child-protection-plan", "looked-after-child", "unborn-child-protection-plan"]},
            "owner": {"type": "object", "required": ["code", "name"], "description": "The publishing authority itself.", "properties": {"code": {"type": "string"}, "name": {"type": "string"}}},
            "office_hours": {"$ref": "#/components/schemas/Contact"},
            "out_of_hours": {"$ref": "#/components/schemas/Contact"},
            "start_date": {"type": "string", "format": "date"}, "end_date": {"type": "string", "format": "date"},
            "reference": {"type": "string", "description": "The authority's own reference for the plan or placement."},
            "source_updated_at": {"type": "string", "format": "date-time", "description": "An older version than the stored one is ignored."}
        }},
        "Contact": {"type": "object", "required": ["phone", "email"], "properties": {"phone": {"type": "string"}, "email": {"type": "string"}}},
        "EndFlag": {"type": "object", "required": ["cci", "kind", "reference", "end_date", "source_updated_at"], "additionalProperties": false, "properties": {
            "cci": {"type": "string"}, "kind": {"type": "string"}, "reference": {"type": "string"},
            "end_date": {"type": "string", "format": "date"}, "source_updated_at": {"type": "string", "format": "date-time"}
        }}
    })
}

/// The care-coordination routes (`care.rs`).
fn care_paths(errors: &Value) -> Value {
    let ok = |description: &str| -> Value {
        let mut responses = errors.clone();
        responses["200"] = json!({"description": description, "content": {"application/json": {"schema": {"type": "object"}}}});
        responses
    };
    let created = {
        let mut responses = errors.clone();
        responses["201"] = json!({"description": "Recorded; the ledger entry is committed.", "content": {"application/json": {"schema": {"type": "object"}}}});
        responses
    };
    let with = |responses: &Value, status: &str, description: &str| -> Value {
        let mut responses = responses.clone();
        let schema = if status.starts_with('2') {
            json!({"type": "object"})
        } else {
            json!({"$ref": "#/components/schemas/Error"})
        };
        responses[status] = json!({"description": description, "content": {"application/json": {"schema": schema}}});
        responses
    };
    json!({
        "/api/consents": {"post": {
            "summary": "Record a consent or refusal for a child (a practitioner whose organisation has a current relationship with the child). The next sharing decision uses it. Ledger: consent_change.",
            "parameters": [{"$ref": "#/components/parameters/role"}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Consent"}}}},
            "responses": with(&created, "422", "The consenter may not consent for this child; `reasons` say why (recorded as a denied consent change).")
        }},
        "/api/consents/{id}/withdraw": {"post": {
            "summary": "Withdraw every version of a consent from a day (today by default). The next sharing decision sees the withdrawal. Ledger: consent_change.",
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}, {"$ref": "#/components/parameters/role"}],
            "requestBody": {"required": false, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Withdrawal"}}}},
            "responses": with(&ok("The withdrawn versions."), "409", "Already withdrawn.")
        }},
        "/api/persons/{cci}/consents": {"get": {
            "summary": "A child's consents and who may consent for them, governed like a summary read.",
            "parameters": [cci_param(), purpose_param(true), {"$ref": "#/components/parameters/role"}],
            "responses": ok("Consents (with versions and withdrawals) and the consent authority.")
        }},
        "/api/break-glass": {"post": {
            "summary": "Break the glass: a time-boxed grant (four hours by default, never longer) up to the summary tier, for a practitioner with no relationship whose role an agreement in force names for the purpose. Ledger: override; the organisation's privacy officer is alerted with no personal data (admin_change).",
            "parameters": [{"$ref": "#/components/parameters/role"}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BreakGlass"}}}},
            "responses": created.clone()
        }},
        "/api/break-glass/alerts": {"get": {
            "summary": "The privacy officer's alerts for their organisation: grant, reason code, time; no child, no practitioner, no free text.",
            "parameters": [{"$ref": "#/components/parameters/role"}],
            "responses": ok("Alerts, each marked reviewed or not.")
        }},
        "/api/break-glass/unreviewed": {"get": {
            "summary": "Break-glass grants waiting for review, oldest first, with hours waiting (privacy officer: their organisation; Caldicott guardian, IG lead: all).",
            "parameters": [{"$ref": "#/components/parameters/role"}],
            "responses": ok("Unreviewed grants.")
        }},
        "/api/break-glass/{id}/review": {"post": {
            "summary": "The privacy officer's finding on a grant of their organisation: justified, unjustified or escalate, with notes; once per grant. Ledger: override.",
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}, {"$ref": "#/components/parameters/role"}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BreakGlassReview"}}}},
            "responses": with(&ok("The review."), "409", "Already reviewed.")
        }},
        "/api/not-shared": {
            "post": {
                "summary": "Record a person's decision not to share, with reason, explanation, decision-maker and time. Ledger: a deny decision.",
                "parameters": [{"$ref": "#/components/parameters/role"}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NotShared"}}}},
                "responses": created.clone()
            },
            "get": {
                "summary": "Decisions not to share made by or asked of the caller's organisation, with counts by reason, requester and decider (IG leads and Caldicott guardians).",
                "parameters": [
                    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                    {"$ref": "#/components/parameters/role"}
                ],
                "responses": ok("The report and the decisions.")
            }
        },
        "/api/flags": {"post": {
            "summary": "Children's social care (social_worker or agency_system of a social-care organisation) publishes or updates a safeguarding flag it owns.",
            "parameters": [{"$ref": "#/components/parameters/role"}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Flag"}}}},
            "responses": with(&created, "200", "An existing flag was updated, unchanged, or an older version ignored (`write`).")
        }},
        "/api/flags/end": {"post": {
            "summary": "The owning authority ends a flag on a day (inclusive).",
            "parameters": [{"$ref": "#/components/parameters/role"}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EndFlag"}}}},
            "responses": ok("The flag and what changed.")
        }},
        "/api/persons/{cci}/flags": {"get": {
            "summary": "A child's safeguarding flags in force, governed at the summary tier, each with its last 25 accesses and freshness. A notifying role (ED, urgent care, out-of-hours GP, paramedic, midwife) in an unscheduled setting tells the owning authority, once per encounter and flag.",
            "parameters": [
                cci_param(), purpose_param(true),
                {"name": "X-Kith-Care-Setting", "in": "header", "required": true, "description": "Where the child is being seen.", "schema": {"type": "string", "enum": ["emergency-department", "urgent-treatment-centre", "walk-in-centre", "out-of-hours-gp", "maternity", "ambulance", "gp-surgery", "outpatients", "school-nurse", "health-visiting", "community-health", "mental-health"]}},
                {"name": "X-Kith-Encounter", "in": "header", "required": false, "description": "The encounter's id in the caller's system; without it, one practitioner's views of a child on one day are one encounter.", "schema": {"type": "string"}},
                {"$ref": "#/components/parameters/role"}
            ],
            "responses": ok("Flags, and how many notifications this view queued.")
        }},
        "/api/notifications": {"get": {
            "summary": "The caller's local authority's notification inbox (attendances, views, identity changes) after an id, oldest first (social_worker or agency_system of the owning authority).",
            "parameters": [
                {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                {"$ref": "#/components/parameters/role"}
            ],
            "responses": ok("Notifications and `next_after`.")
        }}
    })
}

pub(crate) async fn document() -> Json<Value> {
    Json(openapi())
}

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
    json!({
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
    })
}

pub(crate) async fn document() -> Json<Value> {
    Json(openapi())
}

//! The FHIR R4 interface driven in memory: each route's answer and its denials, safeguarding
//! notifications from transactions, snapshots of the payloads, and the server's actual JSON
//! checked by the independent Python `fhir.resources` R4 validator.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "../../fhir/tests/python_env/mod.rs"]
mod python_env;

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::process::Command;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{
    Answer, GP, HOSPITAL, SOCIAL_CARE, Service, cci_of, change, get_request, person, post_request,
};
use python_env::validator;
use serde_json::{Value, json};
use store::Store;

const AGREEMENT: &str = r#"
id = "ISA-TEST-DIRECT-CARE"
version = 2
title = "Direct care and safeguarding between a practice, a hospital and children's social care"
owner = "Caldicott Guardian"
data_categories = ["health", "social_care"]
start = 2020-01-01
end = 2099-12-31
review = 2099-01-01

[[parties]]
code = "GP_B86001"
name = "Beeston Village Surgery"
kind = "health"

[[parties]]
code = "HOSP_RR8"
name = "Leeds Teaching Hospitals"
kind = "health"

[[parties]]
code = "CSC_LA383"
name = "Leeds Children and Families"
kind = "local_authority"

[purposes.direct_care]
art6 = "public_task"
art9 = "health_or_social_care"
dpa2018 = "sch1_para2"
roles = ["gp", "ed_clinician", "social_worker"]
max_tier = "full"
fields = ["exists", "lead_practitioner", "lead_agency", "last_contact", "name", "date_of_birth", "address", "postcode", "safeguarding_flags", "chronology"]
"#;

const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";
const CCI: &str = "https://kith.example/Id/cci";
const FHIR_JSON: &str = "application/fhir+json";

struct Fixture {
    service: Service,
    amy: String,
    /// A CCI retired by a merge into Amy.
    retired: String,
}

impl Deref for Fixture {
    type Target = Service;
    fn deref(&self) -> &Service {
        &self.service
    }
}

impl DerefMut for Fixture {
    fn deref_mut(&mut self) -> &mut Service {
        &mut self.service
    }
}

fn fixture() -> Fixture {
    fixture_with(AGREEMENT)
}

fn fixture_with(agreement: &str) -> Fixture {
    let records = vec![
        person(
            "GP_B86001",
            "P1",
            "Amy",
            "Smith",
            "2014-03-09",
            Some("9434765919"),
        ),
        person("CSC_LA383", "C1", "Amy", "Smith", "2014-03-09", None),
        person(
            "GP_B86001",
            "P2",
            "Ben",
            "Okafor",
            "2016-07-01",
            Some("1000000060"),
        ),
    ];
    let mut seeded = common::seed(&[GP, HOSPITAL, SOCIAL_CARE], records, None);
    let store = &mut seeded.store;
    let amy = cci_of(store, "GP_B86001", "P1");
    let amy_csc = cci_of(store, "CSC_LA383", "C1");
    // The initial load leaves social care's record as a second person; a steward merges it.
    assert_ne!(amy, amy_csc, "the fixture needs a merge to retire a CCI");
    seeded
        .registry
        .merge(store, &amy, &amy_csc, change(Some("same child")))
        .unwrap();
    let survivor = cci_of(store, "GP_B86001", "P1");
    let retired = if survivor == amy { amy_csc } else { amy };
    let amy = survivor;
    safeguarding::publish_flag(
        store,
        safeguarding::PublishFlag {
            cci: amy.clone(),
            kind: "child-protection-plan".into(),
            owner: safeguarding::LocalAuthority {
                code: "CSC_LA383".into(),
                name: "Leeds Children and Families".into(),
            },
            office_hours: safeguarding::Contact {
                phone: "0113 222 4403".into(),
                email: "cp@leeds.gov.uk".into(),
            },
            out_of_hours: safeguarding::Contact {
                phone: "0113 535 0600".into(),
                email: "edt@leeds.gov.uk".into(),
            },
            start_date: "2026-01-10".parse().unwrap(),
            end_date: None,
            reference: "CP-2026-17".into(),
            source_updated_at: "2026-01-10T09:00:00Z".parse().unwrap(),
        },
        "2026-01-10T09:00:01Z".parse().unwrap(),
    )
    .unwrap();
    let state = json!({"consents": [{
        "id": "CONSENT-1", "version": 1, "child": amy,
        "given_by": {"kind": "parent", "name": "Jo Smith", "parental_responsibility": true},
        "date": "2025-11-01",
        "provisions": [
            {"type": "permit", "purposes": ["early_help"], "recipients": ["CSC_LA383"]},
            {"type": "deny", "purposes": ["research_planning"]}
        ]
    }]});
    Fixture {
        service: seeded.serve("direct-care.toml", agreement, Some(&state)),
        amy,
        retired,
    }
}

impl Fixture {
    async fn call(&self, request: Request<Body>) -> Answer {
        self.send(request).await
    }

    async fn get(&self, path: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Answer {
        self.call(get_request(path, token, headers)).await
    }

    async fn post(&self, path: &str, token: &str, content_type: &str, body: &Value) -> Answer {
        self.call(post_request(path, token, content_type, body.to_string()))
            .await
    }

    /// The notifications queued for Leeds children's social care.
    fn notifications(&self) -> Vec<store::safeguarding::NotificationRow> {
        let mut store = Store::open(&self.db).unwrap();
        safeguarding::inbox(&mut store, "CSC_LA383", 0, 100).unwrap()
    }

    fn gp(&self) -> String {
        self.token("dr-patel", "GP_B86001", "gp")
    }

    fn police(&self) -> String {
        self.token("pc-1", "POL_13", "police_officer")
    }
}

/// The one issue's code and diagnostics of an OperationOutcome answer.
fn issue(answer: &Answer) -> (String, String) {
    assert_eq!(
        answer.body["resourceType"], "OperationOutcome",
        "{}",
        answer.body
    );
    assert!(answer.content_type.starts_with(FHIR_JSON));
    let issue = &answer.body["issue"][0];
    (
        issue["code"].as_str().unwrap().to_string(),
        issue["diagnostics"].as_str().unwrap().to_string(),
    )
}

/// Replaces the fixture's CCIs and every instant with stable placeholders.
fn normalise(value: &Value, f: &Fixture) -> Value {
    match value {
        Value::String(s) => {
            let s = s.replace(&f.amy, "[amy]").replace(&f.retired, "[retired]");
            if s.parse::<jiff::Timestamp>().is_ok() {
                Value::String("[instant]".into())
            } else if s.starts_with("view:") {
                Value::String("[view-encounter]".into())
            } else {
                Value::String(s)
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| normalise(v, f)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), normalise(v, f)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn match_request(given: &str, count: Option<i64>, only_certain: bool) -> Value {
    let mut parameter = vec![json!({"name": "resource", "resource": {
        "resourceType": "Patient",
        "identifier": [{"system": NHS, "value": "9434765919"}],
        "name": [{"family": "Smith", "given": [given]}],
        "gender": "female",
        "birthDate": "2014-03-09",
        "address": [{"postalCode": "LS11 5AB"}]
    }})];
    if let Some(count) = count {
        parameter.push(json!({"name": "count", "valueInteger": count}));
    }
    if only_certain {
        parameter.push(json!({"name": "onlyCertainMatches", "valueBoolean": true}));
    }
    json!({"resourceType": "Parameters", "parameter": parameter})
}

/// A hospital's transaction: Amy's record and an attendance of the given class and id.
fn attendance(class: &str, encounter_id: &str, nhs: &str) -> Value {
    json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:0f3c2b1e-0000-4000-8000-000000000001",
                "resource": {
                    "resourceType": "Patient",
                    "id": "H1",
                    "identifier": [{"system": NHS, "value": nhs, "extension": [{
                        "url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus",
                        "valueCodeableConcept": {"coding": [{
                            "system": "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland",
                            "code": "01"
                        }]}
                    }]}],
                    "name": [{"use": "official", "family": "Smith", "given": ["Amy"]}],
                    "gender": "female",
                    "birthDate": "2014-03-09",
                    "address": [{"line": ["12 Elm Road"], "city": "Leeds", "postalCode": "LS11 5AB"}]
                },
                "request": {"method": "POST", "url": "Patient"}
            },
            {
                "fullUrl": "urn:uuid:0f3c2b1e-0000-4000-8000-000000000002",
                "resource": {
                    "resourceType": "Encounter",
                    "id": encounter_id,
                    "status": "in-progress",
                    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": class},
                    "subject": {"reference": "urn:uuid:0f3c2b1e-0000-4000-8000-000000000001"},
                    "period": {"start": "2026-03-01T10:00:00Z"}
                },
                "request": {"method": "POST", "url": "Encounter"}
            }
        ]
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_answers_without_a_token_and_documents_the_purpose_default() {
    let f = fixture();
    let answer = f.get("/fhir/metadata", None, &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.content_type.starts_with(FHIR_JSON));
    assert_eq!(answer.body["resourceType"], "CapabilityStatement");
    let documentation = answer.body["rest"][0]["documentation"].as_str().unwrap();
    assert!(
        documentation.contains("else `direct_care`"),
        "{documentation}"
    );
    assert!(
        documentation.contains("X-Kith-Care-Setting"),
        "{documentation}"
    );
    // Every interaction declared is one the server answers.
    let mut declared = Vec::new();
    for resource in answer.body["rest"][0]["resource"].as_array().unwrap() {
        for interaction in resource["interaction"].as_array().into_iter().flatten() {
            declared.push(format!(
                "{} {}",
                resource["type"].as_str().unwrap(),
                interaction["code"].as_str().unwrap()
            ));
        }
    }
    assert_eq!(
        declared,
        [
            "Patient read",
            "Patient search-type",
            "Consent search-type",
            "Flag search-type",
            "AuditEvent search-type"
        ]
    );
    assert_eq!(
        answer.body["rest"][0]["interaction"][0]["code"],
        "transaction"
    );
    // An unknown FHIR path is an OperationOutcome too.
    let answer = f.get("/fhir/Observation", Some(&f.gp()), &[]).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let (code, diagnostics) = issue(&answer);
    assert_eq!(code, "not-found");
    assert!(diagnostics.contains("/fhir/metadata"), "{diagnostics}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_but_metadata_needs_a_token_and_the_failure_is_recorded() {
    let mut f = fixture();
    let amy = f.amy.clone();
    let routes = [
        format!("/fhir/Patient/{amy}"),
        format!("/fhir/Patient?identifier={NHS}|9434765919"),
        format!("/fhir/Patient/$ihe-pix?sourceIdentifier={NHS}|9434765919"),
        format!("/fhir/Consent?patient=Patient/{amy}"),
        format!("/fhir/Flag?patient=Patient/{amy}"),
        format!("/fhir/AuditEvent?entity=Patient/{amy}"),
    ];
    for route in &routes {
        let answer = f.get(route, None, &[]).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{route}");
        let (code, diagnostics) = issue(&answer);
        assert_eq!(code, "login");
        assert!(diagnostics.contains("bearer token"), "{diagnostics}");
    }
    let request = Request::post("/fhir/Patient/$match")
        .header("content-type", FHIR_JSON)
        .body(Body::from(match_request("Amy", None, false).to_string()))
        .unwrap();
    assert_eq!(f.call(request).await.status, StatusCode::UNAUTHORIZED);
    let failures = f
        .ledger()
        .into_iter()
        .filter(|e| e.kind == ledger::EventKind::LoginFailure)
        .count();
    assert_eq!(failures, routes.len() + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gp_reads_their_patient_and_a_retired_cci_reads_as_the_survivor() {
    let mut f = fixture();
    let gp = f.gp();
    let answer = f
        .get(&format!("/fhir/Patient/{}", f.amy), Some(&gp), &[])
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.content_type.starts_with(FHIR_JSON));
    let patient = &answer.body;
    assert_eq!(patient["id"], f.amy.as_str());
    assert_eq!(patient["name"][0]["family"], "Smith");
    assert_eq!(patient["birthDate"], "2014-03-09");
    assert_eq!(patient["identifier"][1]["value"], "9434765919");
    insta::assert_json_snapshot!("patient_read", normalise(patient, &f));

    let answer = f
        .get(
            &format!("/fhir/Patient/{}?_purpose=direct_care", f.retired),
            Some(&gp),
            &[],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["id"], f.amy.as_str());
    assert_eq!(answer.body["link"][0]["type"], "replaces");
    assert_eq!(
        answer.body["link"][0]["other"]["reference"],
        format!("Patient/{}", f.retired)
    );

    // A purpose the caller names is checked.
    let answer = f
        .get(
            &format!("/fhir/Patient/{}", f.amy),
            Some(&gp),
            &[("x-kith-purpose", "gossip")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(issue(&answer).1.contains("unknown purpose `gossip`"));
    let answer = f
        .get(
            &format!("/fhir/Patient/{}?purpose=direct_care", f.amy),
            Some(&gp),
            &[],
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        issue(&answer)
            .1
            .contains("unknown search parameter `purpose`")
    );

    let decisions = f
        .ledger()
        .into_iter()
        .filter(|e| e.kind == ledger::EventKind::Decision && e.actor_user == "dr-patel")
        .count();
    assert_eq!(decisions, 4, "one decision per holder per read");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stranger_cannot_tell_a_child_exists_on_any_route() {
    let mut f = fixture();
    let police = f.police();
    let known = f
        .get(
            &format!("/fhir/Patient/{}?_purpose=safeguarding_s47", f.amy),
            Some(&police),
            &[],
        )
        .await;
    assert_eq!(known.status, StatusCode::NOT_FOUND);
    let unknown = f
        .get(
            "/fhir/Patient/K0000099996?_purpose=safeguarding_s47",
            Some(&police),
            &[],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let prefix = |a: &Answer| issue(a).1.split('`').next().unwrap().to_string();
    assert_eq!(prefix(&known), prefix(&unknown));
    assert_eq!(issue(&known).0, "not-found");
    insta::assert_json_snapshot!("not_found_outcome", normalise(&known.body, &f));

    for route in [
        format!("/fhir/Consent?patient=Patient/{}", f.amy),
        format!("/fhir/Patient/$ihe-pix?sourceIdentifier={NHS}|9434765919"),
    ] {
        let answer = f.get(&route, Some(&police), &[]).await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{route}: {}",
            answer.body
        );
        issue(&answer);
    }
    let answer = f
        .get(
            &format!("/fhir/Flag?patient=Patient/{}", f.amy),
            Some(&police),
            &[("x-kith-care-setting", "emergency-department")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);

    let search = f
        .get(
            &format!("/fhir/Patient?identifier={NHS}|9434765919"),
            Some(&police),
            &[],
        )
        .await;
    assert_eq!(search.status, StatusCode::OK);
    assert_eq!(search.body["type"], "searchset");
    assert_eq!(search.body["total"], 0);
    let matched = f
        .post(
            "/fhir/Patient/$match",
            &police,
            FHIR_JSON,
            &match_request("Amy", None, false),
        )
        .await;
    assert_eq!(matched.status, StatusCode::OK);
    assert_eq!(matched.body["total"], 0, "{}", matched.body);

    let denials = f
        .ledger()
        .into_iter()
        .filter(|e| e.decision == Some(ledger::Decision::Deny) && e.actor_user == "pc-1")
        .count();
    assert!(denials >= 5, "every denial is recorded ({denials})");
}

#[tokio::test(flavor = "multi_thread")]
async fn patient_search_by_nhs_number_and_cci() {
    let f = fixture();
    let gp = f.gp();
    let answer = f
        .get(
            &format!("/fhir/Patient?identifier={NHS}|9434765919"),
            Some(&gp),
            &[],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["total"], 1);
    assert_eq!(answer.body["entry"][0]["resource"]["id"], f.amy.as_str());
    assert_eq!(
        answer.body["entry"][0]["fullUrl"],
        format!("http://localhost/fhir/Patient/{}", f.amy)
    );
    let answer = f
        .get(
            &format!("/fhir/Patient?identifier={CCI}|{}", f.retired),
            Some(&gp),
            &[],
        )
        .await;
    assert_eq!(answer.body["entry"][0]["resource"]["id"], f.amy.as_str());
    let answer = f
        .get(
            &format!("/fhir/Patient?identifier={NHS}|1000000060"),
            Some(&gp),
            &[],
        )
        .await;
    assert_eq!(
        answer.body["entry"][0]["resource"]["name"][0]["family"],
        "Okafor"
    );
    let answer = f
        .get(
            &format!("/fhir/Patient?identifier={NHS}|9999999999"),
            Some(&gp),
            &[],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["total"], 0);

    let answer = f
        .get(
            &format!("/fhir/Patient?identifier={NHS}|9434765918"),
            Some(&gp),
            &[],
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(issue(&answer).1.contains("check digit should be 9"));
    let answer = f
        .get("/fhir/Patient?identifier=9434765919", Some(&gp), &[])
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(issue(&answer).1.contains("`system|value`"));
}

#[tokio::test(flavor = "multi_thread")]
async fn match_grades_candidates_and_honours_count_and_only_certain() {
    let f = fixture();
    let gp = f.gp();
    let answer = f
        .post(
            "/fhir/Patient/$match",
            &gp,
            FHIR_JSON,
            &match_request("Amy", None, false),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let entries = answer.body["entry"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", answer.body));
    assert!(!entries.is_empty());
    assert_eq!(entries[0]["resource"]["id"], f.amy.as_str());
    assert_eq!(entries[0]["search"]["extension"][0]["valueCode"], "certain");
    insta::assert_json_snapshot!("match_bundle", normalise(&answer.body, &f));

    let answer = f
        .post(
            "/fhir/Patient/$match",
            &gp,
            "application/json",
            &match_request("Amy", Some(1), true),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["total"], 1);
    // A different first name with the same NHS number is at best a possible match: only
    // certain matches leaves nothing.
    let only_certain = f
        .post(
            "/fhir/Patient/$match",
            &gp,
            FHIR_JSON,
            &match_request("Zed", None, true),
        )
        .await;
    let any = f
        .post(
            "/fhir/Patient/$match",
            &gp,
            FHIR_JSON,
            &match_request("Zed", None, false),
        )
        .await;
    let grades = |a: &Answer| -> Vec<String> {
        a.body["entry"]
            .as_array()
            .map(|e| {
                e.iter()
                    .map(|e| {
                        e["search"]["extension"][0]["valueCode"]
                            .as_str()
                            .unwrap()
                            .to_string()
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(grades(&only_certain).iter().all(|g| g == "certain"));
    assert!(grades(&only_certain).len() <= grades(&any).len());

    let answer = f
        .post(
            "/fhir/Patient/$match",
            &gp,
            "text/plain",
            &match_request("Amy", None, false),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(issue(&answer).0, "not-supported");
    let answer = f
        .post(
            "/fhir/Patient/$match",
            &gp,
            FHIR_JSON,
            &json!({"resourceType": "Parameters"}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        issue(&answer).1,
        "parameter `resource` is required: the Patient to match"
    );
    let answer = f
        .post(
            "/fhir/Patient/$match",
            &gp,
            FHIR_JSON,
            &match_request("Amy", Some(0), false),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(issue(&answer).1.contains("`count`"));
}

#[tokio::test(flavor = "multi_thread")]
async fn pix_cross_references_identifiers_a_caller_may_know() {
    let f = fixture();
    let gp = f.gp();
    let answer = f
        .get(
            &format!("/fhir/Patient/$ihe-pix?sourceIdentifier={NHS}|9434765919"),
            Some(&gp),
            &[],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["resourceType"], "Parameters");
    let parameters = answer.body["parameter"].as_array().unwrap();
    assert!(parameters.iter().any(|p| p["name"] == "targetIdentifier"
        && p["valueIdentifier"]["system"] == CCI
        && p["valueIdentifier"]["value"] == f.amy.as_str()));
    assert!(parameters.iter().any(|p| p["name"] == "targetId"
        && p["valueReference"]["reference"] == format!("Patient/{}", f.amy)));
    insta::assert_json_snapshot!("pix_parameters", normalise(&answer.body, &f));

    // The POST form, asking for a system the child has no identifier in.
    let answer = f
        .post(
            "/fhir/Patient/$ihe-pix",
            &gp,
            FHIR_JSON,
            &json!({"resourceType": "Parameters", "parameter": [
                {"name": "sourceIdentifier", "valueIdentifier": {"system": NHS, "value": "9434765919"}},
                {"name": "targetSystem", "valueUri": "https://kith.example/Id/upn"}
            ]}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body, json!({"resourceType": "Parameters"}));

    let answer = f
        .get(
            &format!("/fhir/Patient/$ihe-pix?sourceIdentifier={NHS}|9999999999"),
            Some(&gp),
            &[],
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(issue(&answer).0, "not-found");
    let answer = f
        .get("/fhir/Patient/$ihe-pix?targetSystem=x", Some(&gp), &[])
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(issue(&answer).1.contains("`sourceIdentifier` is required"));
}

#[tokio::test(flavor = "multi_thread")]
async fn consents_come_from_the_governance_state() {
    let f = fixture();
    let sw = f.token("sw-1", "CSC_LA383", "social_worker");
    let answer = f
        .get(
            &format!("/fhir/Consent?patient=Patient/{}", f.amy),
            Some(&sw),
            &[],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["total"], 1);
    let consent = &answer.body["entry"][0]["resource"];
    assert_eq!(consent["resourceType"], "Consent");
    assert_eq!(consent["performer"][0]["display"], "Jo Smith");
    assert_eq!(consent["provision"]["provision"][1]["type"], "deny");
    let answer = f.get("/fhir/Consent", Some(&sw), &[]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(issue(&answer).1.contains("`patient` is required"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flagged_childs_ed_attendance_notifies_once_and_a_gp_surgery_never() {
    let mut f = fixture();
    let hospital = f.token("pas", "HOSP_RR8", "agency_system");
    let answer = f
        .post(
            "/fhir",
            &hospital,
            FHIR_JSON,
            &attendance("EMER", "ED-1", "9434765919"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["type"], "transaction-response");
    let entries = answer.body["entry"].as_array().unwrap();
    assert_eq!(
        entries[0]["response"]["location"],
        format!("Patient/{}", f.amy)
    );
    assert_eq!(entries[1]["response"]["status"], "201 Created");
    // The agreement does not share flags with agency systems, so none come back.
    assert!(
        entries[1]["response"].get("outcome").is_none(),
        "{}",
        answer.body
    );
    insta::assert_json_snapshot!("transaction_response", normalise(&answer.body, &f));
    let notifications = f.notifications();
    assert_eq!(notifications.len(), 1);
    assert_eq!(notifications[0].kind, "attendance");

    // The same attendance sent again records and notifies nothing more.
    let again = f
        .post(
            "/fhir",
            &hospital,
            FHIR_JSON,
            &attendance("EMER", "ED-1", "9434765919"),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["entry"][1]["response"]["status"], "200 OK");
    assert_eq!(f.notifications().len(), 1);

    // A GP surgery appointment (scheduled care) notifies nobody.
    let practice = f.token("gp-system", "GP_B86001", "agency_system");
    let mut surgery = attendance("AMB", "APPT-7", "9434765919");
    surgery["entry"][0]["resource"]["id"] = json!("P1");
    let answer = f.post("/fhir", &practice, FHIR_JSON, &surgery).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["entry"][1]["response"]["status"], "201 Created");
    assert_eq!(f.notifications().len(), 1);

    // An encounter for a stored person the practice holds, by CCI.
    let by_cci = json!({"resourceType": "Bundle", "type": "transaction", "entry": [{
        "resource": {"resourceType": "Encounter", "id": "APPT-8", "status": "finished",
            "class": {"code": "AMB"}, "subject": {"reference": format!("Patient/{}", f.retired)},
            "period": {"start": "2026-03-02T09:00:00Z"}},
        "request": {"method": "POST", "url": "Encounter"}}]});
    let answer = f.post("/fhir", &practice, FHIR_JSON, &by_cci).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(f.notifications().len(), 1);

    let recorded = f
        .ledger()
        .into_iter()
        .filter(|e| {
            e.kind == ledger::EventKind::AdminChange && e.details.get("encounter").is_some()
        })
        .count();
    assert_eq!(recorded, 4, "each encounter sent is in the ledger");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_attending_system_sees_the_flag_only_where_an_agreement_shares_it() {
    let f = fixture_with(&AGREEMENT.replace(
        r#"roles = ["gp", "ed_clinician", "social_worker"]"#,
        r#"roles = ["gp", "ed_clinician", "social_worker", "agency_system"]"#,
    ));
    let hospital = f.token("pas", "HOSP_RR8", "agency_system");
    let answer = f
        .post(
            "/fhir",
            &hospital,
            FHIR_JSON,
            &attendance("EMER", "ED-1", "9434765919"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let issues = answer.body["entry"][1]["response"]["outcome"]["issue"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", answer.body));
    let said: Vec<&str> = issues
        .iter()
        .map(|i| i["diagnostics"].as_str().unwrap())
        .collect();
    assert!(
        said[0].starts_with(
            "safeguarding flag: Child protection plan owned by Leeds Children and Families"
        ),
        "{said:?}"
    );
    assert!(said[0].contains("out of hours 0113 535 0600"), "{said:?}");
    assert_eq!(
        said[1],
        "the owning local authority is being told of this attendance"
    );
    assert_eq!(f.notifications().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_transaction_entry_is_named_and_nothing_is_written() {
    let f = fixture();
    let hospital = f.token("pas", "HOSP_RR8", "agency_system");
    // entry[0] has an invalid NHS number; entry[1] would notify if anything were written.
    let answer = f
        .post(
            "/fhir",
            &hospital,
            FHIR_JSON,
            &attendance("EMER", "ED-2", "9434765918"),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.body
    );
    let (_, diagnostics) = issue(&answer);
    assert!(
        diagnostics.starts_with("entry[0].resource.identifier:"),
        "{diagnostics}"
    );
    assert!(
        diagnostics.contains("check digit should be 9"),
        "{diagnostics}"
    );
    assert_eq!(
        answer.body["issue"][0]["expression"][0],
        "Bundle.entry[0].resource.identifier"
    );
    insta::assert_json_snapshot!("transaction_outcome", answer.body);
    assert!(f.notifications().is_empty());
    let mut store = Store::open(&f.db).unwrap();
    assert!(
        store.record("HOSP_RR8", "H1").unwrap().is_none(),
        "nothing half-applied"
    );

    // An inpatient class does not say which care setting.
    let answer = f
        .post(
            "/fhir",
            &hospital,
            FHIR_JSON,
            &attendance("IMP", "WARD-1", "9434765919"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(issue(&answer).1.starts_with("entry[1].resource.type:"));
    assert!(store.record("HOSP_RR8", "H1").unwrap().is_none());

    // An encounter for a child the hospital holds no record of answers like an unknown one.
    let stranger = json!({"resourceType": "Bundle", "type": "transaction", "entry": [{
        "resource": {"resourceType": "Encounter", "id": "ED-9", "status": "finished",
            "class": {"code": "EMER"}, "subject": {"reference": format!("Patient/{}", f.amy)},
            "period": {"start": "2026-03-02T09:00:00Z"}},
        "request": {"method": "POST", "url": "Encounter"}}]});
    let answer = f.post("/fhir", &hospital, FHIR_JSON, &stranger).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(issue(&answer).1.contains("no person you may see"));
    assert!(f.notifications().is_empty());

    // Structure errors are 400; only agency systems write.
    let answer = f
        .post(
            "/fhir",
            &hospital,
            FHIR_JSON,
            &json!({"resourceType": "Bundle", "type": "batch"}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(issue(&answer).1.contains("transaction"));
    let answer = f
        .post(
            "/fhir",
            &f.gp(),
            FHIR_JSON,
            &attendance("EMER", "ED-3", "9434765919"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(issue(&answer).0, "forbidden");
}

#[tokio::test(flavor = "multi_thread")]
async fn flags_follow_the_child_and_an_ed_view_notifies_once() {
    let f = fixture();
    let hospital = f.token("pas", "HOSP_RR8", "agency_system");
    // The hospital registers Amy (a GP surgery class, so the registration notifies nobody).
    let mut registration = attendance("AMB", "OPD-1", "9434765919");
    registration["entry"][1]["resource"]["type"] = json!([{"coding": [{"system": "https://kith.example/CodeSystem/care-setting", "code": "outpatients"}]}]);
    let answer = f.post("/fhir", &hospital, FHIR_JSON, &registration).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(f.notifications().is_empty());

    let ed = f.token("dr-ed", "HOSP_RR8", "ed_clinician");
    let flags = format!("/fhir/Flag?patient=Patient/{}", f.amy);
    let answer = f.get(&flags, Some(&ed), &[]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(issue(&answer).1.contains("X-Kith-Care-Setting"));
    let answer = f
        .get(
            &flags,
            Some(&ed),
            &[
                ("x-kith-care-setting", "emergency-department"),
                ("x-kith-encounter", "ED-77"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["total"], 1);
    let flag = &answer.body["entry"][0]["resource"];
    assert_eq!(flag["code"]["coding"][0]["code"], "child-protection-plan");
    assert_eq!(f.notifications().len(), 1);
    assert_eq!(f.notifications()[0].kind, "view");
    let again = f
        .get(
            &flags,
            Some(&ed),
            &[
                ("x-kith-care-setting", "emergency-department"),
                ("x-kith-encounter", "ED-77"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(
        f.notifications().len(),
        1,
        "one notification per encounter and flag"
    );

    let answer = f
        .get(
            &flags,
            Some(&f.gp()),
            &[("x-kith-care-setting", "gp-surgery")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        f.notifications().len(),
        1,
        "a GP surgery sees the flag silently"
    );
    insta::assert_json_snapshot!("flag_bundle", normalise(&answer.body, &f));
    let accesses = answer.body["entry"][0]["resource"]["extension"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["url"] == "https://kith.example/StructureDefinition/safeguarding-flag-access")
        .count();
    assert_eq!(accesses, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_events_are_for_information_governance_only() {
    let f = fixture();
    let gp = f.gp();
    f.get(&format!("/fhir/Patient/{}", f.amy), Some(&gp), &[])
        .await;
    let answer = f
        .get(
            &format!("/fhir/AuditEvent?entity=Patient/{}", f.amy),
            Some(&gp),
            &[],
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let (code, diagnostics) = issue(&answer);
    assert_eq!(code, "forbidden");
    assert!(diagnostics.contains("ig_lead"), "{diagnostics}");

    let ig = f.token("ig-1", "CSC_LA383", "ig_lead");
    let answer = f
        .get(
            &format!("/fhir/AuditEvent?entity=Patient/{}", f.amy),
            Some(&ig),
            &[],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let events = answer.body["entry"].as_array().unwrap();
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .all(|e| e["resource"]["resourceType"] == "AuditEvent")
    );
    assert!(
        events
            .iter()
            .any(|e| e["resource"]["agent"][0]["who"]["display"] == "dr-patel")
    );
}

// ---------------------------------------------------------------------------------------------
// Independent validation of the server's FHIR JSON
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn the_servers_fhir_json_is_valid_r4() {
    let f = fixture();
    let gp = f.gp();
    let police = f.police();
    let hospital = f.token("pas", "HOSP_RR8", "agency_system");
    let ig = f.token("ig-1", "CSC_LA383", "ig_lead");
    let sw = f.token("sw-1", "CSC_LA383", "social_worker");
    let amy = f.amy.clone();
    let mut answers: Vec<(&str, Answer)> = vec![
        ("metadata", f.get("/fhir/metadata", None, &[]).await),
        (
            "patient",
            f.get(&format!("/fhir/Patient/{amy}"), Some(&gp), &[]).await,
        ),
        (
            "patient-retired",
            f.get(&format!("/fhir/Patient/{}", f.retired), Some(&gp), &[])
                .await,
        ),
        (
            "searchset",
            f.get(
                &format!("/fhir/Patient?identifier={NHS}|9434765919"),
                Some(&gp),
                &[],
            )
            .await,
        ),
        (
            "searchset-empty",
            f.get(
                &format!("/fhir/Patient?identifier={NHS}|9434765919"),
                Some(&police),
                &[],
            )
            .await,
        ),
        (
            "match",
            f.post(
                "/fhir/Patient/$match",
                &gp,
                FHIR_JSON,
                &match_request("Amy", None, false),
            )
            .await,
        ),
        (
            "pix",
            f.get(
                &format!("/fhir/Patient/$ihe-pix?sourceIdentifier={NHS}|9434765919"),
                Some(&gp),
                &[],
            )
            .await,
        ),
        (
            "consent",
            f.get(
                &format!("/fhir/Consent?patient=Patient/{amy}"),
                Some(&sw),
                &[],
            )
            .await,
        ),
        (
            "transaction-response",
            f.post(
                "/fhir",
                &hospital,
                FHIR_JSON,
                &attendance("EMER", "ED-1", "9434765919"),
            )
            .await,
        ),
        (
            "flag",
            f.get(
                &format!("/fhir/Flag?patient=Patient/{amy}"),
                Some(&gp),
                &[("x-kith-care-setting", "gp-surgery")],
            )
            .await,
        ),
        (
            "outcome-not-found",
            f.get(&format!("/fhir/Patient/{amy}"), Some(&police), &[])
                .await,
        ),
        (
            "outcome-unauthorised",
            f.get(&format!("/fhir/Patient/{amy}"), None, &[]).await,
        ),
        (
            "outcome-unprocessable",
            f.post(
                "/fhir",
                &hospital,
                FHIR_JSON,
                &attendance("IMP", "W-1", "9434765919"),
            )
            .await,
        ),
        (
            "outcome-forbidden",
            f.get(
                &format!("/fhir/AuditEvent?entity=Patient/{amy}"),
                Some(&gp),
                &[],
            )
            .await,
        ),
    ];
    answers.push((
        "audit-events",
        f.get(
            &format!("/fhir/AuditEvent?entity=Patient/{amy}"),
            Some(&ig),
            &[],
        )
        .await,
    ));
    for (name, answer) in &answers {
        assert!(
            answer.content_type.starts_with(FHIR_JSON),
            "{name}: content type `{}`",
            answer.content_type
        );
        assert!(
            answer.body["resourceType"].is_string(),
            "{name}: {}",
            answer.body
        );
    }
    assert_eq!(answers.last().unwrap().1.status, StatusCode::OK);
    let Some(python) = validator() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (name, answer) in &answers {
        std::fs::write(
            dir.path().join(format!("{name}.json")),
            serde_json::to_string_pretty(&answer.body).unwrap(),
        )
        .unwrap();
    }
    let output = Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../fhir/tests/validate.py"))
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "validator refused the server's JSON:\n{stdout}{stderr}"
    );
    assert!(
        stdout.contains(&format!("{} valid, 0 invalid", answers.len())),
        "{stdout}"
    );
    for kind in [
        "CapabilityStatement",
        "Patient",
        "Bundle",
        "Parameters",
        "OperationOutcome",
    ] {
        assert!(
            stdout.contains(&format!(" {kind}\n")),
            "{kind} not checked:\n{stdout}"
        );
    }
}

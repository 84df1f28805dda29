//! The JSON API driven in memory: authentication, governed disclosure by tier, search that
//! never reveals a stranger, bad input, and a ledger entry behind every answer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::ops::{Deref, DerefMut};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{
    GP, HOSPITAL, SOCIAL_CARE, Service, cci_of, change, get_request, person, post_request,
};
use serde_json::{Value, json};
use server::auth::{Claims, DevKeys};

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
fields = ["exists", "lead_practitioner", "lead_agency", "last_contact", "name", "date_of_birth", "address", "postcode", "chronology"]

[purposes.safeguarding_s47]
art6 = "public_task"
art9 = "substantial_public_interest"
dpa2018 = "sch1_para18"
roles = ["social_worker", "gp", "ed_clinician"]
max_tier = "full"
fields = ["exists", "lead_practitioner", "lead_agency", "last_contact", "name", "date_of_birth", "address", "postcode", "chronology"]
"#;

struct Fixture {
    service: Service,
    amy: String,
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
    // Too few records to train a model; train one on a synthetic-sized copy is overkill here,
    // so link with the initial load (which trains on what there is).
    let mut seeded = common::seed(&[GP, HOSPITAL, SOCIAL_CARE], records, None);
    let store = &mut seeded.store;
    let amy = cci_of(store, "GP_B86001", "P1");
    let amy_csc = cci_of(store, "CSC_LA383", "C1");
    if amy != amy_csc {
        seeded
            .registry
            .merge(store, &amy, &amy_csc, change(Some("same child")))
            .unwrap();
    }
    let amy = cci_of(store, "GP_B86001", "P1");
    Fixture {
        service: seeded.serve("direct-care.toml", AGREEMENT, None),
        amy,
    }
}

impl Fixture {
    async fn call(&self, request: Request<Body>) -> (StatusCode, Value) {
        let answer = self.send(request).await;
        (answer.status, answer.body)
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call(get_request(path, token, &[])).await
    }

    async fn post(
        &self,
        path: &str,
        token: &str,
        content_type: &str,
        body: impl Into<Body>,
    ) -> (StatusCode, Value) {
        self.call(post_request(path, token, content_type, body))
            .await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn health_and_openapi_answer_without_a_token_and_cover_every_route() {
    let f = fixture();
    assert_eq!(f.get("/healthz", None).await.0, StatusCode::OK);
    let (status, ready) = f.get("/readyz", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ready["status"], "ready");
    let (_, doc) = f.get("/openapi.json", None).await;
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in server::ROUTES {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} undocumented"
        );
    }
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        documented,
        server::ROUTES.len(),
        "a documented route is not served"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_expired_and_forged_tokens_are_refused_and_recorded() {
    let mut f = fixture();
    let (status, body) = f.get("/api/whoami", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["message"].as_str().unwrap().contains("bearer token"));
    let forged = DevKeys::from_seed([1; 32])
        .sign(&Claims {
            sub: "x".into(),
            org: "GP_B86001".into(),
            roles: vec!["gp".into()],
            team: None,
            iss: "https://idp.test".into(),
            aud: "kith".into(),
            exp: jiff::Timestamp::now().as_second() + 60,
            iat: 0,
        })
        .unwrap();
    let (status, body) = f
        .get(
            &format!("/api/persons/{}?purpose=direct_care", f.amy),
            Some(&forged),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body["message"],
        "the token's signature does not match any configured key"
    );
    let failures: Vec<_> = f
        .ledger()
        .into_iter()
        .filter(|e| e.kind == ledger::EventKind::LoginFailure)
        .collect();
    assert_eq!(failures.len(), 2);
    assert_eq!(failures[1].reasons, vec!["bad-signature".to_string()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gp_sees_their_patient_by_tier_and_each_decision_is_recorded() {
    let mut f = fixture();
    let gp = f.token("dr-patel", "GP_B86001", "gp");
    let (status, body) = f
        .get(
            &format!("/api/persons/{}?purpose=direct_care&tier=summary", f.amy),
            Some(&gp),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let holders = body["holders"].as_array().unwrap();
    let organisations: Vec<&str> = holders
        .iter()
        .map(|h| h["organisation"].as_str().unwrap())
        .collect();
    assert_eq!(organisations, vec!["CSC_LA383", "GP_B86001"]);
    assert_eq!(holders[1]["name"], "Amy Smith");
    assert!(
        holders[0]["because"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains("ISA-TEST-DIRECT-CARE"))
    );

    // The involvement tier carries no identity fields.
    let (_, involvement) = f
        .get(
            &format!(
                "/api/persons/{}?purpose=direct_care&tier=involvement",
                f.amy
            ),
            Some(&gp),
        )
        .await;
    assert!(
        involvement["holders"][0].get("name").is_none(),
        "{involvement}"
    );
    assert!(
        involvement["holders"][0].get("lead_agency").is_some(),
        "{involvement}"
    );

    let decisions: Vec<_> = f
        .ledger()
        .into_iter()
        .filter(|e| {
            e.kind == ledger::EventKind::Decision && e.subject.as_deref() == Some(f.amy.as_str())
        })
        .collect();
    assert_eq!(decisions.len(), 4, "one decision per holder per request");
    assert!(decisions.iter().all(|d| d.actor_user == "dr-patel"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stranger_cannot_tell_a_child_exists() {
    let mut f = fixture();
    let police = f.token("pc-1", "POL_13", "police_officer");
    let (status, known) = f
        .get(
            &format!("/api/persons/{}?purpose=safeguarding_s47", f.amy),
            Some(&police),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, unknown) = f
        .get(
            "/api/persons/K0000099996?purpose=safeguarding_s47",
            Some(&police),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let strip = |v: &Value| {
        v["message"]
            .as_str()
            .unwrap()
            .split('`')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        strip(&known),
        strip(&unknown),
        "a known child and an unknown id answer alike"
    );

    // A search by someone with no relationship finds nobody.
    let (status, found) = f
        .post(
            "/api/search",
            &police,
            "application/json",
            json!({"purpose": "safeguarding_s47", "given_name": "Amy", "family_name": "Smith", "date_of_birth": "09/03/2014", "postcode": "LS11 5AB"}).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["candidates"], json!([]));

    // The denials are in the ledger.
    let denials = f
        .ledger()
        .into_iter()
        .filter(|e| e.decision == Some(ledger::Decision::Deny) && e.actor_user == "pc-1")
        .count();
    assert!(denials >= 2, "denials are recorded");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gp_search_finds_their_patient() {
    let f = fixture();
    let gp = f.token("dr-patel", "GP_B86001", "gp");
    let (status, found) = f
        .post(
            "/api/search",
            &gp,
            "application/json",
            json!({"purpose": "direct_care", "given_name": "Amy", "family_name": "Smith", "date_of_birth": "2014-03-09", "postcode": "LS11 5AB", "nhs_number": "9434765919"}).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["candidates"][0]["cci"], f.amy.as_str());
    assert_eq!(found["candidates"][0]["grade"], "certain");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_a_precise_4xx() {
    let f = fixture();
    let gp = f.token("dr-patel", "GP_B86001", "gp");
    let (status, body) = f
        .post("/api/search", &gp, "application/json", "{not json")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("request body:"),
        "{body}"
    );
    let (status, _) = f.post("/api/search", &gp, "text/plain", "{}").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, body) = f
        .post(
            "/api/search",
            &gp,
            "application/json",
            json!({"purpose": "direct_care", "shoe_size": 4}).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("shoe_size"),
        "{body}"
    );
    let (status, body) = f
        .post(
            "/api/search",
            &gp,
            "application/json",
            json!({"purpose": "direct_care", "nhs_number": "9434765918"}).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("check digit should be 9"),
        "{body}"
    );
    let (status, body) = f.get(&format!("/api/persons/{}", f.amy), Some(&gp)).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a request without a purpose is refused"
    );
    assert!(
        body["message"].as_str().unwrap().contains("purpose"),
        "{body}"
    );
    let (status, body) = f
        .get("/api/persons/K0000000010?purpose=direct_care", Some(&gp))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("check character"),
        "{body}"
    );
    let big = vec![b' '; server::MAX_BODY + 10];
    let (status, _) = f.post("/api/search", &gp, "application/json", big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agency_system_posts_records_and_gets_identifiers() {
    let f = fixture();
    let system = f.token("hospital-pas", "HOSP_RR8", "agency_system");
    let body = json!([
        {"record_id": "H1", "given_name": "Amy", "family_name": "Smith", "date_of_birth": "09/03/2014", "sex": "F", "postcode": "LS11 5AB", "nhs_number": "9434765919", "nhs_number_status": "01"},
        {"record_id": "H2", "given_name": "Zed", "family_name": "Quill", "date_of_birth": "2019", "nhs_number": "9434765918"}
    ]);
    let (status, out) = f
        .post(
            "/api/records",
            &system,
            "application/json",
            body.to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["records"][0]["cci"], f.amy.as_str());
    assert_eq!(out["records"][0]["action"], "linked");
    assert_eq!(out["records"][1]["action"], "created");
    assert!(
        out["issues"][0]["message"]
            .as_str()
            .unwrap()
            .contains("check digit should be 9"),
        "{out}"
    );
    let gp = f.token("dr-patel", "GP_B86001", "gp");
    let (status, _) = f.post("/api/records", &gp, "application/json", "[]").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread")]
async fn entries_and_the_family_around_a_child() {
    let f = fixture();
    let csc = f.token("case-system", "CSC_LA383", "agency_system");
    let mother = json!([{"record_id": "C2", "given_name": "Jo", "family_name": "Smith", "date_of_birth": "1990-05-01", "sex": "F", "postcode": "LS11 5AB"}]);
    let (status, out) = f
        .post("/api/records", &csc, "application/json", mother.to_string())
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let mother_cci = out["records"][0]["cci"].as_str().unwrap().to_string();
    let ndjson = concat!(
        r#"{"record_id": "C1", "related_record_id": "C2", "relationship": "parent", "start_date": "2014-03-09"}"#,
        "\n"
    );
    let (status, out) = f
        .post("/api/records", &csc, "application/x-ndjson", ndjson)
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["entries_and_relationships"], 1, "{out}");
    let entries = concat!(
        r#"{"entry_id": "E1", "record_id": "C1", "entry_type": "visit", "occurred_on": "2026-02-01", "category": "social_care", "sensitivity": "normal", "summary": "home visit"}"#,
        "\n",
        r#"{"entry_id": "E2", "record_id": "NOBODY", "entry_type": "visit", "occurred_on": "2026-02-02", "category": "social_care", "sensitivity": "normal"}"#,
        "\n"
    );
    let (status, out) = f
        .post("/api/records", &csc, "application/x-ndjson", entries)
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["entries_and_relationships"], 1, "{out}");
    assert_eq!(out["issues"][0]["severity"], "rejected", "{out}");

    // The social worker's team holds both records: the mother is named by her CCI.
    let sw = f.token("sw-1", "CSC_LA383", "social_worker");
    let (status, family) = f
        .get(
            &format!(
                "/api/persons/{}/relationships?purpose=safeguarding_s47",
                f.amy
            ),
            Some(&sw),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{family}");
    assert_eq!(family["relationships"][0]["relationship"], "parent");
    assert_eq!(
        family["relationships"][0]["related_cci"],
        mother_cci.as_str()
    );
    // The GP knows the child but not the mother: the relationship shows, her identity does not.
    let gp = f.token("dr-patel", "GP_B86001", "gp");
    let (status, family) = f
        .get(
            &format!("/api/persons/{}/relationships?purpose=direct_care", f.amy),
            Some(&gp),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{family}");
    assert_eq!(
        family["relationships"][0]["related_cci"],
        Value::Null,
        "{family}"
    );
    let (status, chronology) = f
        .get(
            &format!("/api/persons/{}/chronology?purpose=direct_care", f.amy),
            Some(&gp),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{chronology}");
    assert_eq!(
        chronology["events"][0]["summary"], "home visit",
        "{chronology}"
    );
}

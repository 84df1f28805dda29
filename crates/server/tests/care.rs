//! Care coordination through the JSON API, driven in memory: consent changes the next
//! decision, a consenter without authority is refused, break-glass opens and closes access and
//! alerts the privacy officer with no personal data, decisions not to share are recorded and
//! reported, safeguarding flags notify the owning authority from unscheduled care only — and
//! every answer, permit or refusal, leaves ledger entries.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::ops::Deref;
use std::path::Path;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{
    Answer, GP, HOSPITAL, SOCIAL_CARE, Service, cci_of, change, get_request, post_request,
};
use model::PersonRecord;
use serde_json::{Value, json};
use store::audit::AuditWriter;
use tower::ServiceExt;

/// Direct care between a practice, a hospital, a walk-in centre and children's social care;
/// early help between the practice and social care, on the family's consent.
const AGREEMENT: &str = r#"
id = "ISA-TEST-CARE"
version = 1
title = "Direct care, and early help on consent"
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
code = "WIC_RYJ"
name = "City Walk-in Centre"
kind = "health"

[[parties]]
code = "CSC_LA383"
name = "Leeds Children and Families"
kind = "local_authority"

[purposes.direct_care]
art6 = "public_task"
art9 = "health_or_social_care"
dpa2018 = "sch1_para2"
roles = ["gp", "ed_clinician", "social_worker", "urgent_care_clinician"]
max_tier = "full"
fields = ["exists", "lead_practitioner", "lead_agency", "last_contact", "name", "date_of_birth", "address", "postcode", "chronology"]

[purposes.early_help]
art6 = "consent"
art9 = "explicit_consent"
roles = ["social_worker", "gp"]
max_tier = "summary"
fields = ["exists", "lead_practitioner", "lead_agency", "last_contact", "name"]
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

/// Amy, with the practice's NHS number on every record.
fn person(org: &str, id: &str, given: &str, family: &str, dob: &str) -> PersonRecord {
    common::person(org, id, given, family, dob, Some("9434765919"))
}

/// Opens the service on an existing store, as `kith serve` does at start-up.
fn open_app(db: &str, agreements: &Path, audit_url: &str) -> (axum::Router, AuditWriter) {
    common::open_app(db, agreements, agreements, audit_url)
}

fn fixture() -> Fixture {
    // Amy is registered with the practice, known to social care and in hospital now; the
    // walk-in centre has never seen her.
    let records = vec![
        person("GP_B86001", "P1", "Amy", "Smith", "2014-03-09"),
        person("CSC_LA383", "C1", "Amy", "Smith", "2014-03-09"),
        person("HOSP_RR8", "H1", "Amy", "Smith", "2014-03-09"),
    ];
    let walk_in = ("WIC_RYJ", "City Walk-in Centre", model::AgencyType::Health);
    let mut seeded = common::seed(
        &[GP, HOSPITAL, walk_in, SOCIAL_CARE],
        records,
        Some("same child"),
    );
    let store = &mut seeded.store;
    for (org, id) in [("CSC_LA383", "C1"), ("HOSP_RR8", "H1")] {
        let amy = cci_of(store, "GP_B86001", "P1");
        let other = cci_of(store, org, id);
        if amy != other {
            seeded
                .registry
                .merge(store, &amy, &other, change(Some("same child")))
                .unwrap();
        }
    }
    let amy = cci_of(store, "GP_B86001", "P1");
    assert_eq!(amy, cci_of(store, "HOSP_RR8", "H1"));
    Fixture {
        service: seeded.serve("care.toml", AGREEMENT, None),
        amy,
    }
}

impl Fixture {
    /// Sends the request and checks the answer left at least one committed ledger entry.
    async fn call(&self, request: Request<Body>) -> (StatusCode, Value) {
        let before = self.ledger_size();
        let what = format!("{} {}", request.method(), request.uri());
        let Answer {
            status,
            body: value,
            ..
        } = self.send(request).await;
        assert!(
            self.ledger_size() > before,
            "{what} answered {status} without a ledger entry: {value}"
        );
        (status, value)
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.get_with(path, token, &[]).await
    }

    async fn get_with(
        &self,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        self.call(get_request(path, Some(token), headers)).await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(post_request(
            path,
            token,
            "application/json",
            body.to_string(),
        ))
        .await
    }

    /// Every committed ledger entry (each answer waits for its entries' commit).
    fn ledger(&self) -> Vec<ledger::Entry> {
        self.committed()
    }

    fn summary(&self, purpose: &str) -> String {
        format!("/api/persons/{}?purpose={purpose}&tier=summary", self.amy)
    }
}

fn consent_by(given_by: Value) -> Value {
    json!({
        "id": "CONSENT-EH-1",
        "version": 1,
        "child": "",
        "given_by": given_by,
        "date": "2026-01-05",
        "provisions": [{"type": "permit", "purposes": ["early_help"]}],
    })
}

fn parent(parental_responsibility: bool) -> Value {
    json!({"kind": "parent", "name": "Jo Smith", "parental_responsibility": parental_responsibility})
}

#[tokio::test(flavor = "multi_thread")]
async fn consent_given_and_withdrawn_changes_the_next_early_help_decision() {
    let f = fixture();
    let sw = f.token("sw-ahmed", "CSC_LA383", "social_worker");

    // Early help rests on consent: with none on record the child is not there.
    let (status, body) = f.get(&f.summary("early_help"), &sw).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let mut consent = consent_by(parent(true));
    consent["child"] = f.amy.clone().into();
    let (status, body) = f.post("/api/consents", &sw, consent.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["child"], f.amy);
    assert_eq!(body["authority"]["decides"], "parent");

    let (status, body) = f.get(&f.summary("early_help"), &sw).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let because = body["holders"][0]["because"].to_string();
    assert!(because.contains("CONSENT-EH-1@1 granted"), "{because}");

    // The same version twice is a conflict, and changes nothing.
    let (status, _) = f.post("/api/consents", &sw, consent).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, body) = f
        .get(
            &format!("/api/persons/{}/consents?purpose=direct_care", f.amy),
            &sw,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["consents"].as_array().unwrap().len(), 1);

    let (status, body) = f
        .post(
            "/api/consents/CONSENT-EH-1/withdraw",
            &sw,
            json!({"reason": "the family no longer wants early help"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = f.get(&f.summary("early_help"), &sw).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "withdrawn consent no longer permits"
    );
    let (status, _) = f
        .post("/api/consents/CONSENT-EH-1/withdraw", &sw, json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let changes: Vec<_> = f
        .ledger()
        .into_iter()
        .filter(|e| e.kind == ledger::EventKind::ConsentChange)
        .collect();
    assert_eq!(changes.len(), 2, "recorded and withdrawn");
    assert!(changes.iter().all(|e| e.subject.as_deref() == Some(&f.amy)));
    assert!(changes[1].reasons[0].contains("withdrawn"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consenter_without_authority_is_refused_and_the_refusal_recorded() {
    let f = fixture();
    let sw = f.token("sw-ahmed", "CSC_LA383", "social_worker");
    for (given_by, why) in [
        (parent(false), "without parental responsibility"),
        (json!({"kind": "child"}), "the child cannot consent alone"),
    ] {
        let mut consent = consent_by(given_by);
        consent["child"] = f.amy.clone().into();
        let (status, body) = f.post("/api/consents", &sw, consent).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body["message"].as_str().unwrap().contains("`given_by`"));
        assert!(body["reasons"][0].as_str().unwrap().contains(why), "{body}");
    }
    // Nothing was recorded: early help is still closed.
    let (status, _) = f.get(&f.summary("early_help"), &sw).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let refusals: Vec<_> = f
        .ledger()
        .into_iter()
        .filter(|e| {
            e.kind == ledger::EventKind::ConsentChange && e.decision == Some(ledger::Decision::Deny)
        })
        .collect();
    assert_eq!(refusals.len(), 2);

    // Bad input names the field.
    let mut consent = consent_by(parent(true));
    consent["child"] = f.amy.clone().into();
    consent["date"] = "14/03/2026".into();
    let (status, body) = f.post("/api/consents", &sw, consent.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("`date`"),
        "{body}"
    );
    consent["date"] = "2026-01-05".into();
    consent["provisions"] = json!([]);
    let (status, body) = f.post("/api/consents", &sw, consent).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("`provisions`"));

    // An organisation with no relationship with the child cannot record one.
    let stranger = f.token("dr-walkin", "WIC_RYJ", "urgent_care_clinician");
    let mut consent = consent_by(parent(true));
    consent["child"] = f.amy.clone().into();
    let (status, _) = f.post("/api/consents", &stranger, consent).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn break_glass_opens_summary_access_until_it_expires_and_alerts_without_personal_data() {
    let f = fixture();
    let clinician = f.token("dr-walkin", "WIC_RYJ", "urgent_care_clinician");
    let direct = f.summary("direct_care");

    let (status, _) = f.get(&direct, &clinician).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no relationship, no record");

    let (status, body) = f
        .post(
            "/api/break-glass",
            &clinician,
            json!({"cci": f.amy, "purpose": "direct_care", "reason_text": "unconscious, no GP reachable"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("`reason_code`"));
    let (status, body) = f
        .post(
            "/api/break-glass",
            &clinician,
            json!({"cci": f.amy, "purpose": "direct_care", "reason_code": "emergency_care", "reason_text": "urgent"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("`reason_text`"));

    let (status, grant) = f
        .post(
            "/api/break-glass",
            &clinician,
            json!({
                "cci": f.amy, "purpose": "direct_care", "reason_code": "emergency_care",
                "reason_text": "Unconscious at the walk-in centre, no GP reachable",
                "duration_seconds": 3,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{grant}");
    assert_eq!(grant["max_tier"], "summary");
    let grant_id = grant["grant"].as_str().unwrap().to_string();
    let expires: jiff::Timestamp = grant["expires_at"].as_str().unwrap().parse().unwrap();

    let (status, body) = f.get(&direct, &clinician).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["holders"][0]["because"]
            .to_string()
            .contains("break-glass")
    );
    let (status, _) = f
        .get(
            &format!("/api/persons/{}?purpose=direct_care&tier=full", f.amy),
            &clinician,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a grant stops at the summary tier"
    );

    // The privacy officer of the walk-in centre sees an alert that names no one.
    let officer = f.token("po-1", "WIC_RYJ", "privacy_officer");
    let (status, alerts) = f.get("/api/break-glass/alerts", &officer).await;
    assert_eq!(status, StatusCode::OK, "{alerts}");
    assert_eq!(alerts["alerts"].as_array().unwrap().len(), 1);
    let alert_entries: Vec<String> = f
        .ledger()
        .into_iter()
        .filter(|e| e.details.get("privacy_alert").is_some())
        .map(|e| serde_json::to_string(&e).unwrap())
        .collect();
    assert_eq!(alert_entries.len(), 1, "{alert_entries:#?}");
    for text in [alerts.to_string(), alert_entries[0].clone()] {
        for personal in [
            f.amy.as_str(),
            "Amy",
            "Smith",
            "9434765919",
            "943 476 5919",
            "dr-walkin",
            "Unconscious",
        ] {
            assert!(
                !text.contains(personal),
                "`{personal}` in the alert: {text}"
            );
        }
        assert!(text.contains(&grant_id));
    }
    let ledger = f.ledger();
    let opened: Vec<_> = ledger
        .iter()
        .filter(|e| e.kind == ledger::EventKind::Override && e.details.get("break_glass").is_some())
        .collect();
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].subject.as_deref(), Some(f.amy.as_str()));
    let used = ledger
        .iter()
        .filter(|e| e.kind == ledger::EventKind::Decision || e.kind == ledger::EventKind::Override)
        .filter(|e| e.reasons.iter().any(|r| r.contains(&grant_id)))
        .count();
    assert!(used >= 2, "decisions under the grant cite it");
    let override_seq = opened[0].seq;

    // Another organisation's officer sees nothing of it; other roles may not look.
    let other_officer = f.token("po-2", "GP_B86001", "privacy_officer");
    let (_, theirs) = f.get("/api/break-glass/alerts", &other_officer).await;
    assert_eq!(theirs["alerts"].as_array().unwrap().len(), 0);
    let review = json!({"outcome": "justified", "notes": "seen the walk-in notes"});
    let (status, _) = f
        .post(
            &format!("/api/break-glass/{grant_id}/review"),
            &other_officer,
            review.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = f.get("/api/break-glass/alerts", &clinician).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (_, waiting) = f.get("/api/break-glass/unreviewed", &officer).await;
    assert_eq!(waiting["unreviewed"].as_array().unwrap().len(), 1);
    let (status, body) = f
        .post(
            &format!("/api/break-glass/{grant_id}/review"),
            &officer,
            review.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "justified");
    let (status, _) = f
        .post(
            &format!("/api/break-glass/{grant_id}/review"),
            &officer,
            review,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "reviewed once");
    let reviews: Vec<_> = f
        .ledger()
        .into_iter()
        .filter(|e| e.details.get("action").and_then(Value::as_str) == Some("review"))
        .collect();
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].details["reviews_seq"], override_seq);
    let (_, waiting) = f.get("/api/break-glass/unreviewed", &officer).await;
    assert_eq!(waiting["unreviewed"].as_array().unwrap().len(), 0);

    // After expiry the child is out of sight again.
    let wait = expires.duration_since(jiff::Timestamp::now()).as_millis() + 300;
    if wait > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(wait as u64)).await;
    }
    let (status, _) = f.get(&direct, &clinician).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the grant has expired");
}

#[tokio::test(flavor = "multi_thread")]
async fn break_glass_needs_an_agreement_naming_the_role() {
    let f = fixture();
    let officer = f.token("po-1", "WIC_RYJ", "privacy_officer");
    let (status, body) = f
        .post(
            "/api/break-glass",
            &officer,
            json!({
                "cci": f.amy, "purpose": "direct_care", "reason_code": "emergency_care",
                "reason_text": "wants to look at the record",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = f
        .post(
            "/api/break-glass",
            &officer,
            json!({
                "cci": f.amy, "purpose": "research_planning", "reason_code": "emergency_care",
                "reason_text": "wants to look at the record",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().unwrap().contains("`purpose`"));
}

#[tokio::test(flavor = "multi_thread")]
async fn decisions_not_to_share_are_recorded_and_reported_to_ig_leads() {
    let f = fixture();
    let gp = f.token("dr-patel", "GP_B86001", "gp");
    let decision = json!({
        "cci": f.amy, "purpose": "early_help", "requested_by": "HOUSING_LDS",
        "reason": "not_necessary",
        "explanation": "housing asked for the full record; the summary suffices",
    });
    let (status, body) = f.post("/api/not-shared", &gp, decision.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["id"].as_str().unwrap().starts_with("NS-"));

    let mut missing = decision.clone();
    missing["explanation"] = "  ".into();
    let (status, body) = f.post("/api/not-shared", &gp, missing).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("`explanation`"));

    let (status, _) = f.get("/api/not-shared", &gp).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let lead = f.token("ig-1", "GP_B86001", "ig_lead");
    let (status, report) = f.get("/api/not-shared", &lead).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["report"]["total"], 1);
    assert_eq!(report["report"]["by_reason"]["not_necessary"], 1);
    assert_eq!(report["decisions"][0]["decision_maker"]["user"], "dr-patel");
    let (status, _) = f.get("/api/not-shared?from=yesterday", &lead).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let elsewhere = f.token("cg-1", "HOSP_RR8", "caldicott_guardian");
    let (_, report) = f.get("/api/not-shared", &elsewhere).await;
    assert_eq!(
        report["report"]["total"], 0,
        "another organisation's decisions"
    );

    let refusals: Vec<_> = f
        .ledger()
        .into_iter()
        .filter(|e| e.reasons.iter().any(|r| r == "not shared: not_necessary"))
        .collect();
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0].decision, Some(ledger::Decision::Deny));
}

fn flag(amy: &str) -> Value {
    json!({
        "cci": amy, "kind": "child-protection-plan",
        "owner": {"code": "CSC_LA383", "name": "Leeds Children and Families"},
        "office_hours": {"phone": "0113 222 4403", "email": "cp@leeds.gov.uk"},
        "out_of_hours": {"phone": "0113 535 0600", "email": "edt@leeds.gov.uk"},
        "start_date": "2026-01-01", "reference": "CPP-1",
        "source_updated_at": "2026-01-01T09:00:00Z",
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flag_viewed_in_the_emergency_department_notifies_social_care_and_a_gp_does_not() {
    let f = fixture();
    let sw = f.token("sw-ahmed", "CSC_LA383", "social_worker");
    let gp = f.token("dr-patel", "GP_B86001", "gp");
    let ed = f.token("dr-ed", "HOSP_RR8", "ed_clinician");

    // Only children's social care publishes, and only its own flags.
    let (status, _) = f.post("/api/flags", &gp, flag(&f.amy)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut not_ours = flag(&f.amy);
    not_ours["owner"]["code"] = "CSC_OTHER".into();
    let (status, _) = f.post("/api/flags", &sw, not_ours).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut bad = flag(&f.amy);
    bad["office_hours"]["email"] = "not-an-address".into();
    let (status, body) = f.post("/api/flags", &sw, bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("office_hours.email")
    );

    let (status, body) = f.post("/api/flags", &sw, flag(&f.amy)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let flags = format!("/api/persons/{}/flags?purpose=direct_care", f.amy);
    let (status, body) = f.get(&flags, &ed).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the care setting is required"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("X-Kith-Care-Setting")
    );

    let (status, body) = f
        .get_with(
            &flags,
            &ed,
            &[("x-kith-care-setting", "emergency-department")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["flags"].as_array().unwrap().len(), 1);
    assert_eq!(body["flags"][0]["kind"], "child-protection-plan");
    assert_eq!(body["notified"], 1);

    let (status, inbox) = f.get("/api/notifications?after=0", &sw).await;
    assert_eq!(status, StatusCode::OK, "{inbox}");
    let notifications = inbox["notifications"].as_array().unwrap();
    assert_eq!(notifications.len(), 1);
    assert_eq!(notifications[0]["kind"], "view");
    assert_eq!(notifications[0]["body"]["setting"], "emergency-department");

    let (status, body) = f
        .get_with(&flags, &gp, &[("x-kith-care-setting", "gp-surgery")])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["notified"], 0, "a GP surgery is scheduled care");
    let accesses = body["flags"][0]["recent_accesses"].as_array().unwrap();
    assert_eq!(accesses.len(), 2);
    assert_eq!(accesses[0]["viewer"], "dr-patel");
    let (_, inbox) = f.get("/api/notifications", &sw).await;
    assert_eq!(inbox["notifications"].as_array().unwrap().len(), 1);

    // The inbox is social care's; a stranger cannot tell the child has flags.
    let (status, _) = f.get("/api/notifications", &gp).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let stranger = f.token("dr-walkin", "WIC_RYJ", "urgent_care_clinician");
    let (status, _) = f
        .get_with(
            &flags,
            &stranger,
            &[("x-kith-care-setting", "walk-in-centre")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Ended, the flag is no longer shown.
    let (status, body) = f
        .post(
            "/api/flags/end",
            &sw,
            json!({
                "cci": f.amy, "kind": "child-protection-plan", "reference": "CPP-1",
                "end_date": "2026-02-01", "source_updated_at": "2026-02-01T09:00:00Z",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = f
        .get_with(&flags, &gp, &[("x-kith-care-setting", "gp-surgery")])
        .await;
    assert_eq!(body["flags"].as_array().unwrap().len(), 0);

    let ledger = f.ledger();
    let views = ledger
        .iter()
        .filter(|e| {
            e.kind == ledger::EventKind::Access
                && e.subject.as_deref() == Some(&f.amy)
                && e.details.get("safeguarding_flags").is_some()
        })
        .count();
    assert_eq!(views, 3);
    let flag_changes = ledger
        .iter()
        .filter(|e| e.kind == ledger::EventKind::AdminChange)
        .count();
    assert_eq!(flag_changes, 2, "published and ended");
}

#[tokio::test(flavor = "multi_thread")]
async fn recorded_consents_and_grants_are_loaded_at_start_up() {
    let f = fixture();
    let sw = f.token("sw-ahmed", "CSC_LA383", "social_worker");
    let mut consent = consent_by(parent(true));
    consent["child"] = f.amy.clone().into();
    let (status, _) = f.post("/api/consents", &sw, consent).await;
    assert_eq!(status, StatusCode::CREATED);
    let clinician = f.token("dr-walkin", "WIC_RYJ", "urgent_care_clinician");
    let (status, _) = f
        .post(
            "/api/break-glass",
            &clinician,
            json!({
                "cci": f.amy, "purpose": "direct_care", "reason_code": "emergency_care",
                "reason_text": "Unconscious at the walk-in centre, no GP reachable",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // A second service on the same store (a restart) sees both.
    let audit_url = format!("sqlite:{}", f.dir.path().join("audit-2.db").display());
    let (app, _writer) = open_app(&f.db, &f.agreements, &audit_url);
    for (token, path) in [
        (&sw, f.summary("early_help")),
        (&clinician, f.summary("direct_care")),
    ] {
        let response = app
            .clone()
            .oneshot(
                Request::get(&path)
                    .header("authorization", format!("Bearer {token}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_care_route_is_documented_and_refuses_without_a_token() {
    let f = fixture();
    let doc = server::openapi();
    for (method, path) in server::ROUTES {
        assert!(
            doc["paths"][*path][*method].is_object(),
            "{method} {path} undocumented"
        );
    }
    for path in [
        "/api/break-glass/alerts",
        "/api/break-glass/unreviewed",
        "/api/not-shared",
        "/api/notifications",
    ] {
        let (status, _) = f
            .call(Request::get(path).body(Body::empty()).unwrap())
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
}

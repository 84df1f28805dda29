//! The service fixture shared by the server's integration tests: a temporary store seeded with
//! organisations and records and linked by the registry, agreements on disk, a signed audit
//! ledger with its writer, development signing keys, and the app opened on all of them as
//! `kith serve` does. Each test file keeps its own agreements, records and helpers.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use model::{AgencyType, Identifier, IdentifierKind, Organisation, PersonRecord, Sex};
use registry::{Change, Registry, RegistryConfig};
use serde_json::Value;
use server::auth::{Claims, DevKeys, Verifier};
use server::{AppState, Parts};
use store::audit::{AuditLog, AuditOptions, AuditWriter};
use store::{Chunk, NewBatch, Store};
use tower::ServiceExt;

/// The practice, the hospital and children's social care every suite starts from.
pub const GP: (&str, &str, AgencyType) =
    ("GP_B86001", "Beeston Village Surgery", AgencyType::Health);
pub const HOSPITAL: (&str, &str, AgencyType) =
    ("HOSP_RR8", "Leeds Teaching Hospitals", AgencyType::Health);
pub const SOCIAL_CARE: (&str, &str, AgencyType) = (
    "CSC_LA383",
    "Leeds Children and Families",
    AgencyType::SocialCare,
);

/// The development keys the identity provider signs test tokens with.
pub fn keys() -> DevKeys {
    DevKeys::from_seed([9; 32])
}

pub fn person(
    org: &str,
    id: &str,
    given: &str,
    family: &str,
    dob: &str,
    nhs: Option<&str>,
) -> PersonRecord {
    PersonRecord {
        source: org.into(),
        local_id: id.into(),
        given_name: Some(given.into()),
        middle_names: None,
        family_name: Some(family.into()),
        previous_names: vec![],
        date_of_birth: Some(dob.parse().unwrap()),
        sex: Sex::Female,
        address: Some("12 Elm Road".into()),
        town: Some("Leeds".into()),
        postcode: Some("LS11 5AB".into()),
        uprn: None,
        identifiers: nhs
            .map(|n| {
                vec![Identifier {
                    kind: IdentifierKind::NhsNumber,
                    value: n.into(),
                    status: Some("01".into()),
                }]
            })
            .unwrap_or_default(),
    }
}

pub fn cci_of(store: &mut Store, org: &str, id: &str) -> String {
    store.record(org, id).unwrap().unwrap().cci.unwrap()
}

pub fn change(reason: Option<&str>) -> Change<'_> {
    Change {
        actor: "test",
        at: "2026-01-01T00:00:00Z",
        reason,
    }
}

/// A store with its organisations and records loaded and linked, before the service opens.
pub struct Seeded {
    pub dir: tempfile::TempDir,
    pub db: String,
    pub store: Store,
    pub registry: Registry,
}

/// Loads `organisations` and `records` into a fresh SQLite store and links them with the
/// registry's initial load (recorded with `load_reason`).
pub fn seed(
    organisations: &[(&str, &str, AgencyType)],
    records: Vec<PersonRecord>,
    load_reason: Option<&str>,
) -> Seeded {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("kith.db").display());
    let mut store = Store::open(&db).unwrap();
    for &(code, name, kind) in organisations {
        store
            .upsert_organisation(&Organisation {
                code: code.into(),
                name: name.into(),
                agency_type: kind,
            })
            .unwrap();
    }
    let batch = store
        .begin_batch(&NewBatch {
            file_name: "t.csv".into(),
            file_sha256: "t".into(),
            org_code: None,
            kind: "records".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
        })
        .unwrap();
    store
        .apply_chunk(
            batch.id,
            &Chunk {
                last_line: records.len() as u64 + 1,
                records: records
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| (i as u64 + 2, r, None))
                    .collect(),
                ..Chunk::default()
            },
        )
        .unwrap();
    let mut registry = Registry::open(&mut store, RegistryConfig::default()).unwrap();
    registry
        .initial_load(&mut store, change(load_reason), &mut |_, _| {})
        .unwrap();
    Seeded {
        dir,
        db,
        store,
        registry,
    }
}

impl Seeded {
    /// Writes `agreement` as `agreements/<file_name>` and opens the service on the store, with
    /// its governance state loaded from `state` (a `state.json`) when given, else from the
    /// agreements directory.
    pub fn serve(self, file_name: &str, agreement: &str, state: Option<&Value>) -> Service {
        let Seeded {
            dir,
            db,
            store,
            registry,
        } = self;
        drop(store);
        let agreements = dir.path().join("agreements");
        std::fs::create_dir_all(&agreements).unwrap();
        std::fs::write(agreements.join(file_name), agreement).unwrap();
        let state_dir = match state {
            Some(state) => {
                let state_dir = dir.path().join("state");
                std::fs::create_dir_all(&state_dir).unwrap();
                std::fs::write(state_dir.join("state.json"), state.to_string()).unwrap();
                state_dir
            }
            None => agreements.clone(),
        };
        let audit_url = format!("sqlite:{}", dir.path().join("audit.db").display());
        let (app, writer) = open_app(&db, &state_dir, &agreements, &audit_url);
        drop(registry);
        Service {
            app,
            keys: keys(),
            db,
            audit_url,
            agreements,
            writer: Some(writer),
            dir,
        }
    }
}

/// Opens the service on an existing store, as `kith serve` does at start-up.
pub fn open_app(
    db: &str,
    state_dir: &Path,
    agreements: &Path,
    audit_url: &str,
) -> (axum::Router, AuditWriter) {
    let governance = governance::loader::load_state(state_dir, Some(agreements)).unwrap();
    let log = AuditLog::open(
        audit_url,
        AuditOptions {
            signer: Some(ledger::Signer::from_seed([3; 32])),
            ..AuditOptions::default()
        },
    )
    .unwrap();
    let reader = AuditLog::open(audit_url, AuditOptions::default()).unwrap();
    let writer = AuditWriter::start(log);
    let verifier = Verifier::from_jwks(&keys().jwks(), "https://idp.test", "kith").unwrap();
    let state = AppState::open(Parts {
        store_url: db.into(),
        pool_size: 2,
        governance,
        audit: writer.handle().unwrap(),
        audit_reader: reader,
        verifier,
        origin: "kith.test/audit".into(),
        wake: safeguarding::delivery::Wake::new(),
    })
    .unwrap();
    (server::app(state), writer)
}

/// The service under test and where its data lives.
pub struct Service {
    pub app: axum::Router,
    pub keys: DevKeys,
    pub db: String,
    pub audit_url: String,
    pub agreements: PathBuf,
    pub writer: Option<AuditWriter>,
    pub dir: tempfile::TempDir,
}

/// An answer's status, content type and JSON body (`Null` when the body is not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

impl Service {
    /// A bearer token for `user` at `org` in `role`, valid for ten minutes.
    pub fn token(&self, user: &str, org: &str, role: &str) -> String {
        let now = jiff::Timestamp::now().as_second();
        self.keys
            .sign(&Claims {
                sub: user.into(),
                org: org.into(),
                roles: vec![role.into()],
                team: None,
                iss: "https://idp.test".into(),
                aud: "kith".into(),
                exp: now + 600,
                iat: now,
            })
            .unwrap()
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            content_type,
            body,
        }
    }

    pub fn ledger_size(&self) -> u64 {
        AuditLog::open(&self.audit_url, AuditOptions::default())
            .unwrap()
            .size()
            .unwrap()
    }

    /// Every committed ledger entry.
    pub fn committed(&self) -> Vec<ledger::Entry> {
        let mut log = AuditLog::open(&self.audit_url, AuditOptions::default()).unwrap();
        let size = log.size().unwrap();
        (0..size).map(|seq| log.entry(seq).unwrap()).collect()
    }

    /// Every ledger entry so far. The test's writer is dropped first; the app keeps its own
    /// handle alive, and finishing waits only for what was submitted.
    pub fn ledger(&mut self) -> Vec<ledger::Entry> {
        drop(self.writer.take());
        self.committed()
    }
}

/// A GET with an optional bearer token and extra headers.
pub fn get_request(path: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Body::empty()).unwrap()
}

/// A POST with a bearer token and a body of `content_type`.
pub fn post_request(
    path: &str,
    token: &str,
    content_type: &str,
    body: impl Into<Body>,
) -> Request<Body> {
    Request::post(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", content_type)
        .body(body.into())
        .unwrap()
}

//! Kith's HTTP service: the JSON API, every disclosure governed and audited.
//!
//! [`app`] builds the one axum `Router` that `kith serve` runs and the tests drive in memory.
//! Every request that may carry personal data goes the same way:
//!
//! 1. [`auth`] checks the bearer token (signature, expiry, audience, issuer) and the role the
//!    caller selected; a failure is answered 401 and recorded in the audit ledger.
//! 2. The handler resolves the child's CCI through merges ([`registry`]), works out which
//!    organisations hold records of the child and the caller's legitimate relationship to the
//!    child, and asks [`governance::decide`] once per holder and tier.
//! 3. Only what was permitted is read and minimised; every decision — permit or deny — becomes
//!    one ledger entry, committed (group commit) before the response leaves.
//!
//! A person the caller may not know about is indistinguishable from no person: unknown CCIs
//! and CCIs denied even at the existence tier both answer 404, and a search omits them.
//!
//! **Invariant:** no personal data leaves the server without a governance decision and a
//! ledger entry; the store and the ledger are only reached through blocking tasks, never on
//! the async executor's threads.

pub mod auth;
pub mod config;

mod api;
mod care;
mod error;
mod fhir_routes;
mod openapi;
mod pool;

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use governance::{GovernanceState, PolicyEngine};
use registry::{Registry, RegistryConfig};
use store::audit::AuditHandle;
use thiserror::Error;

pub use config::ServerConfig;
pub use error::ApiError;

/// What the service needs, opened once at start-up.
pub struct Services {
    pub(crate) pool: pool::Pool,
    pub(crate) registry: RwLock<Registry>,
    pub(crate) engine: PolicyEngine,
    pub(crate) governance: RwLock<Arc<GovernanceState>>,
    /// The governance facts loaded from files at start-up; the state is this plus what was
    /// recorded through the service. Its lock also makes governance changes take turns.
    pub(crate) governance_base: std::sync::Mutex<governance::StateRecords>,
    pub(crate) audit: AuditHandle,
    pub(crate) audit_reader: std::sync::Mutex<store::audit::AuditLog>,
    pub(crate) verifier: auth::Verifier,
    pub(crate) origin: String,
    /// Wakes the notification delivery worker when an encounter or view queued notifications.
    pub(crate) wake: safeguarding::delivery::Wake,
    /// Which roles in which settings notify the owning authority when they view a flag.
    pub(crate) notify_policy: safeguarding::NotifyPolicy,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").finish_non_exhaustive()
    }
}

/// Shared state of the running service.
#[derive(Debug, Clone)]
pub struct AppState(pub(crate) Arc<Services>);

/// Why the service could not start.
#[derive(Debug, Error)]
pub enum StartError {
    #[error("cannot open the store `{url}`: {source}")]
    Store {
        url: String,
        source: store::StoreError,
    },
    #[error("cannot open the person registry: {0}")]
    Registry(#[from] registry::RegistryError),
    #[error("the sharing policies do not validate: {0}")]
    Policy(#[from] governance::PolicyError),
    #[error("cannot load governance state: {0}")]
    Governance(#[from] governance::loader::LoadError),
    #[error("cannot open the audit ledger: {0}")]
    Audit(#[from] store::audit::AuditError),
    #[error(transparent)]
    Keys(#[from] auth::KeyError),
}

/// The parts [`AppState::open`] is built from.
pub struct Parts {
    pub store_url: String,
    pub pool_size: usize,
    pub governance: GovernanceState,
    pub audit: AuditHandle,
    /// A second connection to the ledger, for reading (subject-access reports).
    pub audit_reader: store::audit::AuditLog,
    pub verifier: auth::Verifier,
    /// The ledger's origin, named in subject-access reports.
    pub origin: String,
    /// Wakes the notification delivery worker (the caller runs it).
    pub wake: safeguarding::delivery::Wake,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts")
            .field("store_url", &self.store_url)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Opens the store pool, the registry and the policy engine (validating the Cedar policies
    /// against their schema).
    pub fn open(parts: Parts) -> Result<AppState, StartError> {
        let pool =
            pool::Pool::open(&parts.store_url, parts.pool_size.max(1)).map_err(|source| {
                StartError::Store {
                    url: parts.store_url.clone(),
                    source,
                }
            })?;
        let registry = pool.with(|store| Registry::open(store, RegistryConfig::default()))?;
        let base = parts.governance.records().clone();
        let governance = pool
            .with(|store| care::load_governance(store, base.clone()))
            .map_err(|source| StartError::Store {
                url: parts.store_url.clone(),
                source,
            })?;
        Ok(AppState(Arc::new(Services {
            pool,
            registry: RwLock::new(registry),
            engine: PolicyEngine::new()?,
            governance: RwLock::new(Arc::new(governance)),
            governance_base: std::sync::Mutex::new(base),
            audit: parts.audit,
            audit_reader: std::sync::Mutex::new(parts.audit_reader),
            verifier: parts.verifier,
            origin: parts.origin,
            wake: parts.wake,
            notify_policy: safeguarding::NotifyPolicy {
                notifying_roles: NOTIFYING_ROLES.iter().map(|r| r.to_string()).collect(),
            },
        })))
    }
}

/// Roles whose view of a flagged child's record in an unscheduled setting tells the owning
/// authority (the role names used in agreements and tokens).
pub const NOTIFYING_ROLES: &[&str] = &[
    "ed_clinician",
    "urgent_care_clinician",
    "ooh_gp",
    "paramedic",
    "midwife",
];

/// Largest request body accepted (a transaction of agency records).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// The service's routes.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/openapi.json", get(openapi::document))
        .route("/api/whoami", get(api::whoami))
        .route("/api/records", post(api::post_records))
        .route("/api/search", post(api::search))
        .route("/api/persons/{cci}", get(api::person))
        .route("/api/persons/{cci}/chronology", get(api::chronology))
        .route("/api/persons/{cci}/relationships", get(api::relationships))
        .route("/api/agreements", get(api::agreements))
        .route("/api/review", get(api::review_list))
        .route("/api/review/{id}/accept", post(api::review_accept))
        .route("/api/review/{id}/reject", post(api::review_reject))
        .route("/api/subject-access/{cci}", get(api::subject_access))
        .route("/api/consents", post(care::post_consent))
        .route("/api/consents/{id}/withdraw", post(care::withdraw_consent))
        .route("/api/persons/{cci}/consents", get(care::person_consents))
        .route("/api/break-glass", post(care::post_break_glass))
        .route("/api/break-glass/alerts", get(care::break_glass_alerts))
        .route(
            "/api/break-glass/unreviewed",
            get(care::break_glass_unreviewed),
        )
        .route(
            "/api/break-glass/{id}/review",
            post(care::review_break_glass),
        )
        .route(
            "/api/not-shared",
            post(care::post_not_shared).get(care::not_shared_report),
        )
        .route("/api/flags", post(care::post_flag))
        .route("/api/flags/end", post(care::end_flag))
        .route("/api/persons/{cci}/flags", get(care::person_flags))
        .route("/api/notifications", get(care::notifications))
        .nest("/fhir", fhir_routes::routes())
        .route_layer(axum::middleware::from_fn(log_request))
        .fallback(api::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// One structured log line per request: method, route template, status and time. Never the
/// path itself, the query or any header: paths carry children's identifiers.
async fn log_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        target: "kith::http",
        method = %method,
        route = %route,
        status = response.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1e3,
        "request"
    );
    response
}

/// The routes the OpenAPI document must describe, for the test that keeps them in step.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/openapi.json"),
    ("get", "/api/whoami"),
    ("post", "/api/records"),
    ("post", "/api/search"),
    ("get", "/api/persons/{cci}"),
    ("get", "/api/persons/{cci}/chronology"),
    ("get", "/api/persons/{cci}/relationships"),
    ("get", "/api/agreements"),
    ("get", "/api/review"),
    ("post", "/api/review/{id}/accept"),
    ("post", "/api/review/{id}/reject"),
    ("get", "/api/subject-access/{cci}"),
    ("post", "/api/consents"),
    ("post", "/api/consents/{id}/withdraw"),
    ("get", "/api/persons/{cci}/consents"),
    ("post", "/api/break-glass"),
    ("get", "/api/break-glass/alerts"),
    ("get", "/api/break-glass/unreviewed"),
    ("post", "/api/break-glass/{id}/review"),
    ("post", "/api/not-shared"),
    ("get", "/api/not-shared"),
    ("post", "/api/flags"),
    ("post", "/api/flags/end"),
    ("get", "/api/persons/{cci}/flags"),
    ("get", "/api/notifications"),
];

pub use openapi::openapi;

//! The FHIR R4 interface under `/fhir`, shaped after UK Core: the same governance and ledger
//! path as the JSON API, with `fhir` resources in and out and OperationOutcome errors.

use axum::Router;

use crate::AppState;

/// The `/fhir` routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}

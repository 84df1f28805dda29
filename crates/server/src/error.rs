//! The one application error: internal detail is logged, the caller gets a precise, safe
//! message and a status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answered to the caller.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the request cannot be used; the message says which field and why.
    BadRequest(String),
    /// 401: not authenticated.
    Unauthorised(String),
    /// 403: authenticated, but governance or role refuses; `reasons` say why.
    Forbidden {
        message: String,
        reasons: Vec<String>,
    },
    /// 404: nothing the caller may see.
    NotFound(String),
    /// 409: the request conflicts with the current state.
    Conflict(String),
    /// 415: wrong content type.
    UnsupportedMediaType(String),
    /// 500: logged in full, answered vaguely.
    Internal(String),
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    reasons: &'a [String],
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorised(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorised(_) => "unauthorised",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            ApiError::BadRequest(m)
            | ApiError::Unauthorised(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m)
            | ApiError::UnsupportedMediaType(m) => m,
            ApiError::Forbidden { message, .. } => message,
            ApiError::Internal(_) => "something went wrong inside Kith; it has been logged",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(detail = %detail, "internal error");
        }
        let reasons: &[String] = match &self {
            ApiError::Forbidden { reasons, .. } => reasons,
            _ => &[],
        };
        let body = Body {
            error: self.code(),
            message: self.message(),
            reasons,
        };
        (self.status(), Json(body)).into_response()
    }
}

impl From<store::StoreError> for ApiError {
    fn from(error: store::StoreError) -> Self {
        ApiError::Internal(format!("store: {error}"))
    }
}

impl From<store::audit::AuditError> for ApiError {
    fn from(error: store::audit::AuditError) -> Self {
        ApiError::Internal(format!("audit ledger: {error}"))
    }
}

impl From<registry::RegistryError> for ApiError {
    fn from(error: registry::RegistryError) -> Self {
        use registry::RegistryError as E;
        match error {
            E::InvalidCci { .. } | E::UnknownSystem(_) | E::ReasonRequired(_) => {
                ApiError::BadRequest(error.to_string())
            }
            E::UnknownPerson(_) | E::UnknownIdentifier { .. } | E::NoSuchReview(_) => {
                ApiError::NotFound(error.to_string())
            }
            E::Retired { .. } | E::ReviewClosed { .. } | E::Refused(_) => {
                ApiError::Conflict(error.to_string())
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

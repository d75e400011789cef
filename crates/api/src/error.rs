//! Errors as the API answers them: JSON `{code, message}` with a stable code.
//!
//! | status | code | when |
//! |---|---|---|
//! | 400 | `INVALID_REQUEST` | a malformed body, parameter, cursor or header |
//! | 401 | `UNAUTHENTICATED` | no credentials, or a token that is unknown, revoked or expired |
//! | 401 | `UNTRUSTED_PROXY` | gateway mode: the request did not come from a trusted proxy |
//! | 403 | `ADMIN_ONLY` | an admin route called without an admin token |
//! | 404 | `NOT_FOUND` | no such route, run, analysis or document, or not the caller's |
//! | 409 | `IDEMPOTENCY_CONFLICT` | an `Idempotency-Key` reused with a different request |
//! | 410 | `RESULT_EXPIRED` | the run finished but its result was pruned |
//! | 413 | `BODY_TOO_LARGE` | a body over `api.max_body_bytes` |
//! | 415 | `UNSUPPORTED_MEDIA_TYPE` | a body that is not `application/json` |
//! | 422 | `POLICY_*` | the repository policy refused the repository (see `specline_app::policy`) |
//! | 422 | `UNKNOWN_FORMAT` | a document export in a format other than `md` or `json` |
//! | 422 | `TOKEN_KEY_MISSING` | an access token was sent but this deployment has no encryption key |
//! | 422 | the run's own code | `GET /runs/{id}/result` of a failed run (`TARGET_NOT_FOUND`, `GIT_FAILED`, ...) |
//! | 429 | `RATE_LIMITED` | too many submissions for this owner (`Retry-After`) |
//! | 429 | `TOO_MANY_STREAMS` | too many open event streams for this owner (`Retry-After`) |
//! | 500 | `INTERNAL` | a fault of the service; the message carries no detail, the log does |
//! | 503 | `UNAVAILABLE` | the database did not answer |
//! | 503 | `TIMEOUT` | the route did not answer within `api.request_timeout_secs` |

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of every error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable code.
    pub code: String,
    /// Human-readable explanation; never a secret.
    pub message: String,
}

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// Seconds, for `Retry-After` (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
    }
    pub fn unauthenticated(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message)
    }
    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "not found")
    }
    pub fn too_many(code: &str, message: impl Into<String>, retry_after: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after.max(1)),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message)
        }
    }
    /// A fault of ours: logged in full, answered without detail.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "internal error; see the service's log",
        )
    }
}

impl From<specline_queue::Error> for ApiError {
    /// By the engine's stable codes, so the engine may reshape its variants.
    fn from(e: specline_queue::Error) -> Self {
        match e.code() {
            "RUN_NOT_FOUND" | "NOT_FOUND" => ApiError::not_found(),
            "IDEMPOTENCY_CONFLICT" => ApiError::new(
                StatusCode::CONFLICT,
                "IDEMPOTENCY_CONFLICT",
                "this Idempotency-Key was used with a different request",
            ),
            "DATABASE" => unavailable(&e),
            _ => ApiError::internal(e),
        }
    }
}

fn unavailable(e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "database error");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "UNAVAILABLE",
        "the database did not answer; retry later",
    )
}

impl From<specline_app::store::StoreError> for ApiError {
    fn from(e: specline_app::store::StoreError) -> Self {
        use specline_app::store::StoreError;
        match e {
            StoreError::NotFound(_) => ApiError::not_found(),
            StoreError::Database(_) => unavailable(&e),
            other => ApiError::internal(other),
        }
    }
}

impl From<specline_app::policy::PolicyError> for ApiError {
    fn from(e: specline_app::policy::PolicyError) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.message())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            axum::Json(ErrorBody {
                code: self.code,
                message: self.message,
            }),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

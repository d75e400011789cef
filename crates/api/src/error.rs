//! Errors as the API answers them: JSON `{code, message}` with a stable code, one of
//! [`ApiCode`] (each with its HTTP status), or another crate's passed on unchanged: the
//! repository policy's `POLICY_*` (422) and a failed run's own code on
//! `GET /runs/{id}/result` (422). `docs/error-codes.md` lists every code.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use specline_queue::QueueCode;
use utoipa::ToSchema;

pub use crate::codes::ApiCode;

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
    /// An answer with one of the API's own codes.
    pub fn new(status: StatusCode, code: ApiCode, message: impl Into<String>) -> ApiError {
        ApiError::passing(status, code.as_str(), message)
    }
    /// An answer that passes another crate's code on unchanged (the repository policy's, a
    /// failed run's own).
    pub fn passing(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, ApiCode::InvalidRequest, message)
    }
    pub fn unauthenticated(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, ApiCode::Unauthenticated, message)
    }
    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, ApiCode::NotFound, "not found")
    }
    pub fn too_many(code: ApiCode, message: impl Into<String>, retry_after: u64) -> ApiError {
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
            ApiCode::Internal,
            "internal error; see the service's log",
        )
    }
}

impl From<specline_queue::Error> for ApiError {
    /// By the engine's stable codes, so the engine may reshape its variants.
    fn from(e: specline_queue::Error) -> Self {
        match e.kind() {
            QueueCode::RunNotFound | QueueCode::NotFound => ApiError::not_found(),
            QueueCode::IdempotencyConflict => ApiError::new(
                StatusCode::CONFLICT,
                ApiCode::IdempotencyConflict,
                "this Idempotency-Key was used with a different request",
            ),
            QueueCode::InvalidLimits | QueueCode::InvalidRollout => {
                ApiError::passing(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string())
            }
            QueueCode::LimitNotFound => ApiError::passing(
                StatusCode::NOT_FOUND,
                e.code(),
                "no worker declared limits for this kind",
            ),
            QueueCode::Database => unavailable(&e),
            _ => ApiError::internal(e),
        }
    }
}

fn unavailable(e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "database error");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ApiCode::Unavailable,
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
        ApiError::passing(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.message())
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

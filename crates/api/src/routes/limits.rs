//! Admin routes for the engine's concurrency and rate limits (admin tokens only): every
//! limited kind with its declared, overridden and effective values and its counts, and an
//! operator's override, which every worker's next claim uses (no restart, no deploy).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value;
use specline_queue::limits::LimitStatus;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::body::{Json, Path};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::routes::admin::admin;
use crate::ApiState;

/// A limited kind as the admin routes show it. Limit values are objects of `concurrency`,
/// `per_partition` (numbers), `rate`, `partition_rate` (`{count, per}` with `per` in
/// milliseconds) and `weights` (partition key → 1 to 1000, fairness shares; unnamed
/// partitions weigh 1); an absent or null key limits nothing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LimitView {
    pub kind: String,
    pub queues: Vec<String>,
    /// What the code declares.
    #[schema(value_type = Object)]
    pub declared: Value,
    /// The operator's override (`{}` when none): its keys replace the declared ones.
    #[schema(value_type = Object)]
    pub overrides: Value,
    /// What claims use now.
    #[schema(value_type = Object)]
    pub effective: Value,
    /// Jobs of the kind running now, and due or waiting.
    pub running: i64,
    pub pending: i64,
    /// Claims a limit held back since the kind was declared.
    pub throttled: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LimitList {
    pub limits: Vec<LimitView>,
}

impl LimitView {
    fn from_status(s: LimitStatus) -> LimitView {
        LimitView {
            kind: s.kind,
            queues: s.queues,
            declared: serde_json::to_value(&s.declared).unwrap_or(Value::Null),
            overrides: s.overrides,
            effective: serde_json::to_value(&s.effective).unwrap_or(Value::Null),
            running: s.running,
            pending: s.pending,
            throttled: s.throttled,
        }
    }
}

/// Every kind a worker declared limits for.
#[utoipa::path(get, path = "/api/v1/admin/limits", tag = "admin",
    responses((status = 200, body = LimitList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
) -> ApiResult<axum::Json<LimitList>> {
    admin(&caller)?;
    let limits = state.inner.parts.client.limits().await?;
    Ok(axum::Json(LimitList {
        limits: limits.into_iter().map(LimitView::from_status).collect(),
    }))
}

/// Override a kind's limits: a JSON object of limit values (`null` lifts a limit, `{}` goes
/// back to the code's values). 422 `INVALID_LIMITS` for anything else, 404 `LIMIT_NOT_FOUND`
/// for a kind no worker declared limits for.
#[utoipa::path(put, path = "/api/v1/admin/limits/{kind}", tag = "admin",
    params(("kind" = String, Path)), request_body(content = Object),
    responses((status = 200, body = LimitView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set(
    State(state): State<ApiState>,
    caller: Caller,
    Path(kind): Path<String>,
    Json(overrides): Json<Value>,
) -> ApiResult<axum::Json<LimitView>> {
    admin(&caller)?;
    let client = &state.inner.parts.client;
    client.set_limits(&kind, &overrides.to_string()).await?;
    client
        .limits()
        .await?
        .into_iter()
        .find(|l| l.kind == kind)
        .map(|l| axum::Json(LimitView::from_status(l)))
        .ok_or_else(|| {
            ApiError::passing(
                StatusCode::NOT_FOUND,
                "LIMIT_NOT_FOUND",
                "no worker declared limits for this kind",
            )
        })
}

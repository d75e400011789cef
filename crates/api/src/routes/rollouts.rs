//! Admin routes for rollouts (admin tokens only): every rollout and its mode, one rollout's
//! report (match rate, latency of both sides, top mismatches, failures, latest changes), and
//! an operator's change of a mode, which running workers follow within seconds; the change is
//! recorded with the caller's owner name. The same as `specline-enqueue rollout`.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use specline_queue::rollout::{report, RolloutMode};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::body::{Json, Path};
use crate::error::{ApiResult, ErrorBody};
use crate::routes::admin::admin;
use crate::ApiState;

/// Results a report reads.
const REPORT_WINDOW: usize = 10_000;

/// A rollout and its mode (`off`, `shadow [RATE]`, `percent N`, `full`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RolloutView {
    pub name: String,
    pub mode: String,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Who set it last (empty: made known by a worker, never set).
    pub updated_by: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RolloutList {
    pub rollouts: Vec<RolloutView>,
}

/// The new mode of a rollout.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutChangeRequest {
    /// `off`, `shadow`, `shadow 0.25`, `percent 10` or `full`.
    pub mode: String,
}

/// A recorded change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RolloutChangeView {
    pub name: String,
    pub from: String,
    pub to: String,
    pub actor: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Every known rollout.
#[utoipa::path(get, path = "/api/v1/admin/rollouts", tag = "admin",
    responses((status = 200, body = RolloutList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
) -> ApiResult<axum::Json<RolloutList>> {
    admin(&caller)?;
    let all = state
        .inner
        .parts
        .client
        .store()
        .rollouts()
        .list_rollouts()
        .await?;
    Ok(axum::Json(RolloutList {
        rollouts: all
            .into_iter()
            .map(|s| RolloutView {
                name: s.name,
                mode: s.mode.to_string(),
                updated_at: s.updated_at,
                updated_by: s.updated_by,
            })
            .collect(),
    }))
}

/// A rollout's report over its latest 10,000 shadow results (`state` null for a rollout
/// nobody ran or set).
#[utoipa::path(get, path = "/api/v1/admin/rollouts/{name}", tag = "admin",
    params(("name" = String, Path)),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    admin(&caller)?;
    let r = report(
        state.inner.parts.client.store().as_ref(),
        &name,
        REPORT_WINDOW,
    )
    .await?;
    Ok(axum::Json(serde_json::to_value(&r).unwrap_or(Value::Null)))
}

/// Change a rollout's mode. 422 `INVALID_ROLLOUT` for a mode that does not parse.
#[utoipa::path(put, path = "/api/v1/admin/rollouts/{name}", tag = "admin",
    params(("name" = String, Path)), request_body = RolloutChangeRequest,
    responses((status = 200, body = RolloutChangeView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(change): Json<RolloutChangeRequest>,
) -> ApiResult<axum::Json<RolloutChangeView>> {
    admin(&caller)?;
    let mode = RolloutMode::parse(&change.mode)?;
    let c = state
        .inner
        .parts
        .client
        .store()
        .rollouts()
        .set_rollout(&name, mode, &caller.owner)
        .await?;
    Ok(axum::Json(RolloutChangeView {
        name: c.name,
        from: c.from.to_string(),
        to: c.to.to_string(),
        actor: c.actor,
        at: c.at,
    }))
}

//! The routes, one module per resource, and the layers every route shares.

pub mod admin;
pub mod analyses;
pub mod badge;
pub mod diff;
pub mod documents;
pub mod events;
pub mod limits;
pub mod rollouts;
pub mod runs;
pub mod submit;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;

use crate::error::{ApiCode, ApiError};
use crate::ApiState;

/// Every route of the API, with the body limit, the route timeout and the request span.
pub fn router(state: ApiState) -> Router {
    let config = &state.inner.parts.config;
    let (body_limit, timeout) = (config.max_body_bytes, config.request_timeout);
    Router::new()
        .route("/api/v1/analyses", post(submit::submit).get(analyses::list))
        .route("/api/v1/analyses/{id}", get(analyses::show))
        .route("/api/v1/analyses/{id}/tree", get(analyses::tree))
        .route("/api/v1/analyses/{id}/diff", get(diff::show))
        .route("/api/v1/repositories", get(analyses::repositories))
        .route("/api/v1/badges", axum::routing::put(badge::set))
        .route("/api/v1/badge.svg", get(badge::svg))
        .route("/api/v1/runs", get(runs::list))
        .route("/api/v1/runs/{id}", get(runs::show))
        .route("/api/v1/runs/{id}/result", get(runs::result))
        .route("/api/v1/runs/{id}/events", get(events::stream))
        .route("/api/v1/documents", get(documents::list))
        .route("/api/v1/documents/latest", get(documents::latest))
        .route("/api/v1/documents/{id}", get(documents::show))
        .route("/api/v1/documents/{id}/export", get(documents::export))
        .route("/api/v1/documents/{id}/diff", get(documents::diff))
        .route("/api/v1/admin/jobs", get(admin::jobs))
        .route("/api/v1/admin/jobs/actions", post(admin::bulk))
        .route("/api/v1/admin/jobs/{id}", get(admin::job))
        .route("/api/v1/admin/queues", get(admin::queues))
        .route("/api/v1/admin/queues/{name}", post(admin::pause))
        .route("/api/v1/admin/watched", get(admin::watched))
        .route("/api/v1/admin/limits", get(limits::list))
        .route("/api/v1/admin/limits/{kind}", put(limits::set))
        .route("/api/v1/admin/rollouts", get(rollouts::list))
        .route(
            "/api/v1/admin/rollouts/{name}",
            get(rollouts::show).put(rollouts::set),
        )
        .route("/api/openapi.json", get(crate::openapi::serve))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            timeout,
            crate::limits::timeout,
        ))
        .layer(axum::middleware::from_fn(crate::request_span::request_span))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        ApiCode::MethodNotAllowed,
        "this route does not take that method",
    )
}

/// Page sizes: `limit` is 1 to 100, 50 when unset.
pub(crate) fn page_size(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=100).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::bad_request("limit must be 1 to 100")),
    }
}

/// Id cursors are opaque to clients; here, the id to continue below (newest first).
pub(crate) fn parse_cursor(cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    cursor
        .map(|c| {
            c.parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ApiError::bad_request("cursor is not one this API gave"))
        })
        .transpose()
}

/// Given `limit + 1` rows fetched in page order, cuts them to `limit` and answers the cursor
/// of the next page: `cursor` of the last row sent, or `None` when there is no further row.
pub(crate) fn next_cursor<T, C: ToString>(
    rows: &mut Vec<T>,
    limit: usize,
    cursor: impl Fn(&T) -> C,
) -> Option<String> {
    if rows.len() <= limit {
        return None;
    }
    rows.truncate(limit);
    rows.last().map(|r| cursor(r).to_string())
}

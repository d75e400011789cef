//! An SVG badge of a repository's test count, for READMEs.
//!
//! `GET /api/v1/badge.svg?repository=R` needs no credentials (a README image cannot send
//! any), so it answers only for a repository an owner who can read it has marked public
//! with `PUT /api/v1/badges`; for any other repository it answers 404, the same as for
//! one that does not exist. The count is that of the newest complete analysis.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use specline_app::store::AnalysisState;
use utoipa::{IntoParams, ToSchema};

use crate::access;
use crate::auth::Caller;
use crate::body::{Json, Query};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ApiState;

/// Analyses looked at for the newest complete one.
const RECENT: usize = 20;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BadgeRequest {
    pub repository: String,
    /// Whether anyone may fetch the badge without credentials.
    pub public: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BadgeSetting {
    pub repository: String,
    pub public: bool,
    /// The badge's path (with the repository as its query).
    pub path: String,
}

/// Mark a repository's badge public (or private again).
#[utoipa::path(put, path = "/api/v1/badges", tag = "analyses", request_body = BadgeRequest,
    responses((status = 200, body = BadgeSetting), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set(
    State(state): State<ApiState>,
    caller: Caller,
    Json(req): Json<BadgeRequest>,
) -> ApiResult<axum::Json<BadgeSetting>> {
    access::repository(&state, &caller, &req.repository).await?;
    state
        .inner
        .parts
        .api
        .set_badge(&caller.owner, &req.repository, req.public)
        .await?;
    Ok(axum::Json(BadgeSetting {
        path: format!(
            "/api/v1/badge.svg?repository={}",
            percent_encode(&req.repository)
        ),
        repository: req.repository,
        public: req.public,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BadgeParams {
    pub repository: String,
}

/// The badge (no credentials needed; 404 unless marked public).
#[utoipa::path(get, path = "/api/v1/badge.svg", tag = "analyses", params(BadgeParams),
    responses((status = 200, description = "SVG image", content_type = "image/svg+xml", body = String),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn svg(
    State(state): State<ApiState>,
    Query(p): Query<BadgeParams>,
) -> ApiResult<Response> {
    let parts = &state.inner.parts;
    if !parts.api.badge_is_public(&p.repository).await? {
        return Err(ApiError::not_found());
    }
    let tests = parts
        .app
        .list_analyses(Some(&p.repository), None, RECENT)
        .await?
        .into_iter()
        .find(|a| a.state == AnalysisState::Complete)
        .and_then(|a| a.stats.map(|s| s.tests));
    let value = tests.map_or_else(|| "unknown".to_string(), |n| n.to_string());
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        render("tests", &value),
    )
        .into_response())
}

/// Query-string encoding of a repository location.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A two-part badge. Widths are estimated at 7 px per character (the text is short and
/// ASCII: a label and a number).
pub fn render(label: &str, value: &str) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let (lw, vw) = (label.len() * 7 + 12, value.len() * 7 + 12);
    let total = lw + vw;
    let (label, value) = (escape(label), escape(value));
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{label}: {value}"><title>{label}: {value}</title><rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{vw}" height="20" fill="#4c1"/><g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle"><text x="{lx}" y="14">{label}</text><text x="{vx}" y="14">{value}</text></g></svg>"##,
        lx = lw / 2,
        vx = lw + vw / 2,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_badge_escapes_its_text_and_sizes_to_it() {
        let svg = render("tests", "<42>");
        assert!(svg.contains(">&lt;42&gt;</text>"), "{svg}");
        assert!(svg.contains(r#"width="87""#), "{svg}");
        assert_eq!(percent_encode("https://h/o r"), "https%3A%2F%2Fh%2Fo%20r");
    }
}

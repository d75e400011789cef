//! Admin routes (admin tokens only; others get 403 `ADMIN_ONLY`): jobs with filters, one
//! job with its errors, retry/cancel/discard one or many, queues with counts and pause,
//! watched repositories.
//!
//! Every filter (queue, kind, state, tags, args/metadata containment) runs in the engine's
//! SQL, and lists page with an id cursor, so a page is exact. "All matching a filter" walks
//! that cursor server-side in batches of [`BATCH`], each job once, up to [`MAX_AFFECTED`] per
//! request (the answer says when more remain), so a request never holds a transaction over
//! millions of rows.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use specline_queue::{Job, JobFilter, JobState, QueueCode};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::body::{Json, Path, Query};
use crate::error::{ApiCode, ApiError, ApiResult, ErrorBody};
use crate::routes::page_size;
use crate::ApiState;

/// Jobs read per batch of a bulk action.
const BATCH: usize = 500;
/// Jobs changed by one bulk request at most.
const MAX_AFFECTED: usize = 10_000;

/// Ok for an admin caller; 403 `ADMIN_ONLY` for anyone else.
pub fn admin(caller: &Caller) -> ApiResult<()> {
    if caller.admin {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ApiCode::AdminOnly,
            "this route needs an admin token",
        ))
    }
}

fn parse_state(s: Option<&str>) -> ApiResult<Option<JobState>> {
    s.map(|s| {
        JobState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| ApiError::bad_request(format!("unknown job state `{s}`")))
    })
    .transpose()
}

/// A job as the admin routes show it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobView {
    pub id: i64,
    pub kind: String,
    pub queue: String,
    pub state: String,
    #[schema(value_type = Object)]
    pub args: serde_json::Value,
    pub attempt: i32,
    pub max_attempts: i32,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub scheduled_at: DateTime<Utc>,
    pub finalized_at: Option<DateTime<Utc>>,
    pub cancel_requested: bool,
    pub errors: Vec<AttemptView>,
    pub attempted_by: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AttemptView {
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub code: String,
    pub message: String,
    pub worker: String,
}

impl From<Job> for JobView {
    fn from(j: Job) -> Self {
        JobView {
            id: j.id,
            kind: j.kind,
            queue: j.queue,
            state: j.state.as_str().to_string(),
            args: j.args,
            attempt: j.attempt,
            max_attempts: j.max_attempts,
            tags: j.tags,
            created_at: j.created_at,
            scheduled_at: j.scheduled_at,
            finalized_at: j.finalized_at,
            cancel_requested: j.cancel_requested,
            errors: j
                .errors
                .into_iter()
                .map(|e| AttemptView {
                    attempt: e.attempt,
                    at: e.at,
                    code: e.code,
                    message: e.message,
                    worker: e.worker,
                })
                .collect(),
            attempted_by: j.attempted_by,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    pub queue: Option<String>,
    pub kind: Option<String>,
    /// available, scheduled, running, retryable, completed, cancelled, discarded
    pub state: Option<String>,
    /// Only jobs carrying every one of these tags: comma-separated, and in a query string
    /// also repeatable (`tag=a&tag=b`).
    pub tag: Option<String>,
    /// Only jobs whose args contain this JSON object (PostgreSQL `@>` semantics), given as
    /// JSON text, e.g. `{"repository":{"url":"https://example.com/r.git"}}`.
    pub args: Option<String>,
    /// Only jobs whose metadata contain this JSON object, as JSON text.
    pub metadata: Option<String>,
    /// Cursor: only jobs with an id below this one (the `next` of the previous page).
    pub before: Option<i64>,
    /// 1 to 100 (default 50).
    pub limit: Option<usize>,
}

impl JobQuery {
    /// From a query string's pairs, where `tag` may repeat (the plain query extractor
    /// refuses a repeated key). Unknown keys are ignored, as before.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> ApiResult<JobQuery> {
        let mut q = JobQuery::default();
        let mut tags: Vec<String> = Vec::new();
        for (key, value) in pairs {
            match key.as_str() {
                "queue" => q.queue = Some(value),
                "kind" => q.kind = Some(value),
                "state" => q.state = Some(value),
                "tag" => tags.push(value),
                "args" => q.args = Some(value),
                "metadata" => q.metadata = Some(value),
                "before" => q.before = Some(number(&key, &value)?),
                "limit" => q.limit = Some(number(&key, &value)?),
                _ => {}
            }
        }
        if !tags.is_empty() {
            q.tag = Some(tags.join(","));
        }
        Ok(q)
    }

    /// The engine's filter (without cursor or limit): an unknown state is 400, args or
    /// metadata that are not a JSON object 422 `INVALID_FILTER`.
    pub fn filter(&self) -> ApiResult<JobFilter> {
        Ok(JobFilter {
            queue: self.queue.clone(),
            kind: self.kind.clone(),
            state: parse_state(self.state.as_deref())?,
            tags: self
                .tag
                .iter()
                .flat_map(|t| t.split(','))
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
            args: json_object("args", self.args.as_deref())?,
            metadata: json_object("metadata", self.metadata.as_deref())?,
            before_id: self.before,
            after_id: None,
            limit: 0,
        })
    }
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> ApiResult<T> {
    value
        .parse()
        .map_err(|_| ApiError::bad_request(format!("`{key}` must be a whole number")))
}

/// A containment pattern given as JSON text; it must be a JSON object.
fn json_object(name: &str, text: Option<&str>) -> ApiResult<Option<serde_json::Value>> {
    let Some(text) = text else { return Ok(None) };
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) if v.is_object() => Ok(Some(v)),
        _ => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ApiCode::InvalidFilter,
            format!("`{name}` must be a JSON object, e.g. {{\"key\":\"value\"}}"),
        )),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobList {
    pub jobs: Vec<JobView>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next: Option<i64>,
    /// A filtered page searches at most [`SEARCH_WINDOW`] ids below its cursor, so that a
    /// filter matching nothing answers at once instead of reading the whole table. When the
    /// window ran out before the page filled, this is the lowest id searched, and `next`
    /// continues below it: such a page may hold fewer jobs than `limit`, or none.
    pub searched_down_to: Option<i64>,
}

/// How many ids a filtered page searches at most (see [`JobList::searched_down_to`]).
pub const SEARCH_WINDOW: i64 = 100_000;

/// Jobs, newest first.
#[utoipa::path(get, path = "/api/v1/admin/jobs", tag = "admin", params(JobQuery),
    responses((status = 200, body = JobList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn jobs(
    State(state): State<ApiState>,
    caller: Caller,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<axum::Json<JobList>> {
    admin(&caller)?;
    let q = JobQuery::from_pairs(pairs)?;
    Ok(axum::Json(list_jobs(&state, &q).await?))
}

/// One page of jobs matching a query, newest first (the JSON route and the dashboard).
/// An unfiltered page reads `limit` rows; a filtered one at most [`SEARCH_WINDOW`] ids.
pub async fn list_jobs(state: &ApiState, q: &JobQuery) -> ApiResult<JobList> {
    list_jobs_within(state, q, SEARCH_WINDOW).await
}

/// [`list_jobs`] with a search window of `window` ids (tests use small ones).
pub async fn list_jobs_within(state: &ApiState, q: &JobQuery, window: i64) -> ApiResult<JobList> {
    let limit = page_size(q.limit)?;
    let mut filter = JobFilter {
        limit,
        ..q.filter()?
    };
    let client = &state.inner.parts.client;
    // The lowest id the window reaches, when it does not reach the first job.
    let mut floor = None;
    if filter.narrows() {
        let top = match filter.before_id {
            Some(before) => before,
            None => client
                .list(&JobFilter {
                    limit: 1,
                    ..JobFilter::default()
                })
                .await?
                .first()
                .map_or(0, |newest| newest.id.saturating_add(1)),
        };
        let lowest = top.saturating_sub(window.max(1));
        if lowest > 1 {
            filter.after_id = Some(lowest - 1);
            floor = Some(lowest);
        }
    }
    let jobs: Vec<JobView> = client
        .list(&filter)
        .await?
        .into_iter()
        .map(JobView::from)
        .collect();
    let (next, searched_down_to) = if jobs.len() == limit {
        (jobs.last().map(|j| j.id), None)
    } else {
        (floor, floor)
    };
    Ok(JobList {
        jobs,
        next,
        searched_down_to,
    })
}

/// One job with its errors and attempts.
#[utoipa::path(get, path = "/api/v1/admin/jobs/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = JobView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn job(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<JobView>> {
    admin(&caller)?;
    Ok(axum::Json(job_view(&state, id).await?))
}

/// One job, or 404.
pub async fn job_view(state: &ApiState, id: i64) -> ApiResult<JobView> {
    let job = state
        .inner
        .parts
        .client
        .get(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(job.into())
}

/// What to do with jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Retry,
    Cancel,
    Discard,
}

/// Act on jobs by id, or on every job matching a filter.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    pub action: Action,
    #[serde(default)]
    pub ids: Vec<i64>,
    /// Every job matching this filter (`limit` is ignored; `before` starts below an id);
    /// `ids` must then be empty.
    #[serde(default)]
    pub matching: Option<JobQuery>,
}

/// A job a bulk action could not change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Refused {
    pub id: i64,
    /// Why (`INVALID_STATE`, `NOT_FOUND`, ...).
    pub code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BulkResult {
    /// Jobs the action changed.
    pub affected: usize,
    /// Jobs it could not change, with the reason's code.
    pub refused: Vec<Refused>,
    /// True when the filter matched more than one request may change.
    pub more: bool,
}

async fn apply(state: &ApiState, action: Action, id: i64) -> Result<(), String> {
    let client = &state.inner.parts.client;
    let code = |e: specline_queue::Error| e.code().to_string();
    match action {
        Action::Retry => client.retry(id).await.map(drop).map_err(code),
        Action::Discard => client.discard(id).await.map(drop).map_err(code),
        Action::Cancel => match client.cancel(id).await {
            Ok(specline_queue::CancelOutcome::AlreadyFinal(_)) => {
                Err(QueueCode::InvalidState.as_str().into())
            }
            Ok(_) => Ok(()),
            Err(e) => Err(code(e)),
        },
    }
}

/// Retry, cancel or discard jobs.
#[utoipa::path(post, path = "/api/v1/admin/jobs/actions", tag = "admin", request_body = BulkRequest,
    responses((status = 200, body = BulkResult), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn bulk(
    State(state): State<ApiState>,
    caller: Caller,
    Json(req): Json<BulkRequest>,
) -> ApiResult<axum::Json<BulkResult>> {
    admin(&caller)?;
    Ok(axum::Json(act(&state, req).await?))
}

/// Apply a bulk request: the ids given (at most one batch), or every job matching a filter
/// in batches along the id cursor, up to [`MAX_AFFECTED`].
pub async fn act(state: &ApiState, req: BulkRequest) -> ApiResult<BulkResult> {
    let mut result = BulkResult {
        affected: 0,
        refused: Vec::new(),
        more: false,
    };
    match (req.ids.is_empty(), req.matching) {
        (false, None) => {
            if req.ids.len() > BATCH {
                return Err(ApiError::bad_request(format!(
                    "at most {BATCH} ids per request; use `matching` for more"
                )));
            }
            for id in req.ids {
                match apply(state, req.action, id).await {
                    Ok(()) => result.affected += 1,
                    Err(code) => result.refused.push(Refused { id, code }),
                }
            }
        }
        (true, Some(q)) => {
            let mut filter = JobFilter {
                limit: BATCH,
                ..q.filter()?
            };
            // The id cursor visits each matching job once, even as actions change states.
            'batches: loop {
                let page = state.inner.parts.client.list(&filter).await?;
                let Some(last) = page.last() else { break };
                filter.before_id = Some(last.id);
                for j in page {
                    if result.affected + result.refused.len() >= MAX_AFFECTED {
                        result.more = true;
                        break 'batches;
                    }
                    match apply(state, req.action, j.id).await {
                        Ok(()) => result.affected += 1,
                        Err(code) => result.refused.push(Refused { id: j.id, code }),
                    }
                }
            }
        }
        _ => {
            return Err(ApiError::bad_request(
                "give either `ids` or `matching`, not both and not neither",
            ))
        }
    }
    Ok(result)
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QueueView {
    pub name: String,
    pub paused: bool,
    /// Jobs per state.
    pub counts: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QueueList {
    pub queues: Vec<QueueView>,
}

/// The application's queues (and any paused one) with counts and paused state.
#[utoipa::path(get, path = "/api/v1/admin/queues", tag = "admin",
    responses((status = 200, body = QueueList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn queues(
    State(state): State<ApiState>,
    caller: Caller,
) -> ApiResult<axum::Json<QueueList>> {
    admin(&caller)?;
    let mut queues = Vec::new();
    for (name, paused) in queue_names(&state).await? {
        queues.push(queue_view(&state, name, paused).await?);
    }
    Ok(axum::Json(QueueList { queues }))
}

/// The application's queues and any other paused one, each with whether it is paused.
pub async fn queue_names(state: &ApiState) -> ApiResult<Vec<(String, bool)>> {
    let client = &state.inner.parts.client;
    let paused: BTreeSet<String> = client.store().paused_queues().await?.into_iter().collect();
    let mut names: BTreeSet<String> = specline_app::queues()
        .iter()
        .map(|q| q.to_string())
        .collect();
    names.extend(paused.iter().cloned());
    Ok(names
        .into_iter()
        .map(|n| {
            let p = paused.contains(&n);
            (n, p)
        })
        .collect())
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PauseRequest {
    pub paused: bool,
}

/// Pause or resume a queue (workers stop fetching from it; running jobs finish).
#[utoipa::path(post, path = "/api/v1/admin/queues/{name}", tag = "admin",
    params(("name" = String, Path)), request_body = PauseRequest,
    responses((status = 200, body = QueueView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn pause(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(req): Json<PauseRequest>,
) -> ApiResult<axum::Json<QueueView>> {
    admin(&caller)?;
    set_paused(&state, &name, req.paused).await?;
    Ok(axum::Json(queue_view(&state, name, req.paused).await?))
}

/// Pause or resume a queue by name (1 to 128 printable characters).
pub async fn set_paused(state: &ApiState, name: &str, paused: bool) -> ApiResult<()> {
    if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "a queue name is 1 to 128 printable characters",
        ));
    }
    let client = &state.inner.parts.client;
    if paused {
        client.pause_queue(name).await?;
    } else {
        client.resume_queue(name).await?;
    }
    Ok(())
}

/// A queue with its job counts per state.
async fn queue_view(state: &ApiState, name: String, paused: bool) -> ApiResult<QueueView> {
    let counts = state
        .inner
        .parts
        .client
        .counts(Some(&name))
        .await?
        .into_iter()
        .map(|(s, n)| (s.as_str().to_string(), n))
        .collect();
    Ok(QueueView {
        name,
        paused,
        counts,
    })
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WatchedView {
    pub repository: String,
    pub branch: Option<String>,
    pub language: String,
    /// Whether an (encrypted) access token is stored; the token itself never leaves.
    pub has_token: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WatchedList {
    pub repositories: Vec<WatchedView>,
}

/// Repositories the scheduler re-analyses.
#[utoipa::path(get, path = "/api/v1/admin/watched", tag = "admin",
    responses((status = 200, body = WatchedList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn watched(
    State(state): State<ApiState>,
    caller: Caller,
) -> ApiResult<axum::Json<WatchedList>> {
    admin(&caller)?;
    let repositories = state
        .inner
        .parts
        .app
        .watched()
        .await?
        .into_iter()
        .map(|w| WatchedView {
            repository: w.repository,
            branch: w.branch,
            language: w.language,
            has_token: w.encrypted_token.is_some(),
            created_at: w.created_at,
        })
        .collect();
    Ok(axum::Json(WatchedList { repositories }))
}

//! Runs: the caller's list, one run's state, and its result.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use specline_queue::{QueueCode, Run, RunState};
use utoipa::{IntoParams, ToSchema};

use crate::access;
use crate::auth::Caller;
use crate::body::{Path, Query};
use crate::error::{ApiCode, ApiError, ApiResult, ErrorBody};
use crate::routes::{next_cursor, page_size, parse_cursor};
use crate::ApiState;

/// A run's state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunView {
    pub id: i64,
    pub pipeline: String,
    /// `running`, `done` or `failed`.
    pub state: String,
    /// The step running or last run.
    pub stage: Option<String>,
    /// Index of the current step, from 0.
    pub step: i32,
    pub steps: usize,
    /// 0 to 100, within the current step.
    pub progress: i16,
    /// Seq of the newest event: a client that has it has everything.
    pub last_seq: i64,
    /// Set when failed.
    pub error: Option<ErrorBody>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The run's steps as a graph, each with its state (in `GET /api/v1/runs/{id}` only):
    /// what the UI draws.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph: Option<Vec<GraphNodeView>>,
}

/// One step of a run's graph.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GraphNodeView {
    /// Its index in the run's steps (what `after` and `map_over` refer to).
    pub index: usize,
    pub name: String,
    pub queue: String,
    /// The indices of the steps it waits for.
    pub after: Vec<usize>,
    /// For a step mapped over a list: the step whose output it maps over.
    pub map_over: Option<usize>,
    /// Whether its failure reaches the steps waiting for it instead of failing the run.
    pub allow_failure: bool,
    /// `waiting`, `queued`, `running`, `done`, `failed` or `cancelled`.
    pub state: String,
    /// For a mapped step whose items started: how many it has.
    pub items_total: Option<i64>,
    /// For a mapped step whose items started: how many are done.
    pub items_done: Option<i64>,
}

impl From<specline_queue::GraphNode> for GraphNodeView {
    fn from(n: specline_queue::GraphNode) -> Self {
        GraphNodeView {
            index: n.index,
            name: n.name,
            queue: n.queue,
            after: n.after,
            map_over: n.map_over,
            allow_failure: n.allow_failure,
            state: serde_json::to_value(n.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            items_total: n.items.map(|i| i.total),
            items_done: n.items.map(|i| i.done),
        }
    }
}

impl From<Run> for RunView {
    fn from(r: Run) -> Self {
        let error = match (r.state, r.error_code) {
            (RunState::Failed, code) => Some(ErrorBody {
                code: code.unwrap_or_else(|| QueueCode::Failed.as_str().into()),
                message: r.error_message.unwrap_or_default(),
            }),
            _ => None,
        };
        RunView {
            id: r.id,
            pipeline: r.pipeline,
            state: r.state.as_str().to_string(),
            stage: r.stage,
            step: r.current_step,
            steps: r.steps.len(),
            progress: r.progress,
            last_seq: r.last_seq,
            error,
            created_at: r.created_at,
            finished_at: r.finished_at,
            graph: None,
        }
    }
}

/// One page of the caller's runs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunPage {
    pub runs: Vec<RunListItem>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RunListItem {
    pub run_id: i64,
    /// What was submitted.
    pub repository: String,
    pub submitted_at: DateTime<Utc>,
    /// The run's state now (absent if the run was pruned).
    pub run: Option<RunView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100 (default 50).
    pub limit: Option<usize>,
}

/// The caller's runs, newest first.
#[utoipa::path(get, path = "/api/v1/runs", tag = "runs", params(PageParams),
    responses((status = 200, body = RunPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Query(p): Query<PageParams>,
) -> ApiResult<axum::Json<RunPage>> {
    let limit = page_size(p.limit)?;
    Ok(axum::Json(
        owner_page(&state, &caller, p.cursor.as_deref(), limit).await?,
    ))
}

/// One page of the caller's runs, newest first, after `cursor` (a `next_cursor` this gave):
/// what `GET /api/v1/runs` answers and the web UI's run lists show.
pub async fn owner_page(
    state: &ApiState,
    caller: &Caller,
    cursor: Option<&str>,
    limit: usize,
) -> ApiResult<RunPage> {
    let before = parse_cursor(cursor)?;
    let mut rows = state
        .inner
        .parts
        .api
        .owner_runs(&caller.owner, before, limit + 1)
        .await?;
    let next_cursor = next_cursor(&mut rows, limit, |r| r.run_id);
    let mut runs = Vec::with_capacity(rows.len());
    for row in rows {
        let run = match state
            .inner
            .parts
            .client
            .get_run(&caller.owner, row.run_id)
            .await
        {
            Ok(run) => Some(RunView::from(run)),
            Err(e) if e.code() == "RUN_NOT_FOUND" => None,
            Err(e) => return Err(e.into()),
        };
        runs.push(RunListItem {
            run_id: row.run_id,
            repository: row.target,
            submitted_at: row.created_at,
            run,
        });
    }
    Ok(RunPage { runs, next_cursor })
}

/// One run's state, step and progress, and its steps as a graph with each step's state.
#[utoipa::path(get, path = "/api/v1/runs/{id}", tag = "runs", params(("id" = i64, Path)),
    responses((status = 200, body = RunView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<RunView>> {
    let run = access::run(&state, &caller, id).await?;
    let rows = state.inner.parts.client.store().run_nodes(id).await?;
    let graph = specline_queue::RunGraph::of(&run, &rows);
    let mut view = RunView::from(run);
    view.graph = Some(graph.nodes.into_iter().map(GraphNodeView::from).collect());
    Ok(axum::Json(view))
}

/// While the run is going: where it is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Pending {
    pub state: String,
    pub stage: Option<String>,
    pub progress: i16,
}

/// A done run's result: the document it stored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ResultView {
    pub document_id: i64,
    pub analysis_id: i64,
    pub repository: String,
    pub language: String,
    /// The document's version for its repository and language.
    pub version: i32,
    pub behaviors: i64,
    /// True when an existing document of the same analysis and generator was reused.
    pub reused: bool,
}

/// The run's result: the stored document's summary.
#[utoipa::path(get, path = "/api/v1/runs/{id}/result", tag = "runs", params(("id" = i64, Path)),
    responses(
        (status = 200, description = "Done: the document's summary", body = ResultView),
        (status = 202, description = "Still running", body = Pending),
        (status = 422, description = "Failed: the failure's own code and message", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 410, description = "Done, but the result expired", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn result(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let run = access::run(&state, &caller, id).await?;
    match run.state {
        RunState::Running => Ok((
            StatusCode::ACCEPTED,
            axum::Json(Pending {
                state: "running".into(),
                stage: run.stage,
                progress: run.progress,
            }),
        )
            .into_response()),
        RunState::Failed => Err(ApiError::passing(
            StatusCode::UNPROCESSABLE_ENTITY,
            run.error_code
                .as_deref()
                .unwrap_or(QueueCode::Failed.as_str()),
            run.error_message.unwrap_or_default(),
        )),
        RunState::Done => match state.inner.parts.client.store().run_result(id).await? {
            Some(result) => serde_json::from_value::<ResultView>(result)
                .map(|r| axum::Json(r).into_response())
                .map_err(|e| ApiError::internal(format!("run {id}: unreadable result: {e}"))),
            None => Err(ApiError::new(
                StatusCode::GONE,
                ApiCode::ResultExpired,
                "the run finished but its result has expired",
            )),
        },
    }
}

//! `GET /runs/{id}`: one run, live. The page is rendered with the run's state as it is
//! (state, stage, percentage, the step graph, the latest events, the failure or the
//! result), then `assets/run.js` follows `GET /api/v1/runs/{id}/events` from the last event
//! the page shows and applies each event as it comes, without a reload.
//!
//! `POST /runs/{id}/cancel` and `POST /runs/{id}/resume`: the owner's buttons, CSRF-checked
//! forms calling the engine's `cancel_run` and `resume` with the owner's name, exactly as
//! `specline-enqueue run cancel|resume` does for the operator. Another owner's run is
//! "not found", here as everywhere.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use specline_api::error::ApiError;
use specline_api::routes::runs::{ResultView, RunView};
use specline_queue::{Run, RunEvent, RunState};

use crate::layout::{self, Section};
use crate::pages::error::{PageError, PageResult};
use crate::pages::run_badge;
use crate::pages::run_steps;
use crate::pages::runs::time;
use crate::session::Viewer;
use crate::WebState;

/// Events the page shows when it opens (the newest); the live ones are added to them.
const EVENTS: i64 = 200;

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// An id from the path: anything but a positive number is a run that does not exist.
fn run_id(raw: &str) -> Result<i64, PageError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(PageError::not_found)
}

pub async fn show(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> PageResult {
    let id = run_id(&raw)?;
    let run = specline_api::access::run(&state.api, &viewer.caller, id).await?;
    let store = state.api.parts().client.store();
    let first = (run.last_seq - EVENTS).max(0);
    let events: Vec<RunEvent> = store
        .run_events(id, first, EVENTS as usize)
        .await
        .map_err(ApiError::from)?
        .into_iter()
        .filter(|e| e.seq <= run.last_seq)
        .collect();
    let result = match run.state {
        RunState::Done => store
            .run_result(id)
            .await
            .map_err(ApiError::from)?
            .and_then(|v| serde_json::from_value::<ResultView>(v).ok()),
        _ => None,
    };
    let title = format!("Run {id}");
    let content = render(&viewer, &run, &events, first > 0, result.as_ref());
    Ok(layout::page_with(
        &state,
        &viewer,
        Section::Runs,
        &title,
        &["run.css", "run.js"],
        content,
    )
    .into_response())
}

fn render(
    viewer: &Viewer,
    run: &Run,
    events: &[RunEvent],
    earlier: bool,
    result: Option<&ResultView>,
) -> Markup {
    let view = RunView::from(run.clone());
    let label = run_badge::of(&view);
    let percent = run_steps::percent(run);
    let owner = run.owner == viewer.owner();
    let target = run.input.get("target").and_then(|t| t.as_str());
    let failure = view.error.as_ref();
    html! {
        section #run data-run-id=(run.id) data-last-seq=(run.last_seq) data-state=(view.state) {
            h1 {
                "Run " (run.id) " "
                span #run-state class={ "badge " (label) } { (label) }
            }
            @if let Some(target) = target {
                p.mono #run-repository { (target) }
            }
            div.card #run-summary {
                p #run-status aria-live="polite" {
                    span #run-stage { (stage_title(run)) }
                    " · "
                    span #run-percent { (percent) "%" }
                }
                progress #run-progress max="100" value=(percent) aria-labelledby="run-percent" { (percent) "%" }
                p.muted.live-note {
                    "Started " (time(&run.created_at))
                    @if let Some(at) = &run.finished_at { ", finished " (time(at)) }
                    ". " span #run-live { @if run.state == RunState::Running { "Connecting…" } @else { "Finished." } }
                }
            }
            div.card.failure #run-failure role="alert" hidden[failure.is_none()] {
                h2 { "Failed" }
                p {
                    code.code #run-failure-code { (failure.map(|f| f.code.as_str()).unwrap_or("")) }
                    " "
                    span #run-failure-message { (failure.map(|f| f.message.as_str()).unwrap_or("")) }
                }
            }
            div.card #run-result hidden[result.is_none()] {
                h2 { "Result" }
                p {
                    a #run-analysis-link href=(result.map(|r| format!("/analyses/{}", r.analysis_id)).unwrap_or_default()) { "Open the analysis and its spec" }
                    " · "
                    a #run-export-link href=(result.map(|r| format!("/api/v1/documents/{}/export?format=md", r.document_id)).unwrap_or_default()) { "Spec document (Markdown)" }
                }
                p.muted #run-result-summary {
                    @if let Some(r) = result {
                        "Behaviors: " (r.behaviors) "; document version " (r.version) " (" (r.language) ")."
                    }
                }
            }
            @if owner {
                div.actions {
                    form #run-cancel method="post" action={ "/runs/" (run.id) "/cancel" } hidden[run.state != RunState::Running] {
                        input type="hidden" name="csrf" value=(viewer.csrf);
                        button.danger type="submit" data-confirm="Cancel this run?" { "Cancel run" }
                    }
                    form #run-resume method="post" action={ "/runs/" (run.id) "/resume" } hidden[run.state != RunState::Failed] {
                        input type="hidden" name="csrf" value=(viewer.csrf);
                        button type="submit" { "Resume from the last checkpoint" }
                    }
                }
            }
            section.card aria-labelledby="steps-heading" {
                h2 #steps-heading { "Steps" }
                (run_steps::graph(run))
            }
            section.card aria-labelledby="events-heading" {
                h2 #events-heading { "Events" }
                ol.timeline #run-events role="log" aria-label="Events, newest first" tabindex="0" {
                    @for ev in events.iter().rev() {
                        (event_item(ev))
                    }
                }
                @if earlier {
                    p.muted { "Earlier events are not shown." }
                }
            }
        }
    }
}

/// What the summary names: the step running or last run, `Done` once done.
fn stage_title(run: &Run) -> String {
    match (run.state, run.stage.as_deref()) {
        (RunState::Done, _) => "Done".into(),
        (_, Some(stage)) => run_steps::title(stage),
        (_, None) => "Waiting".into(),
    }
}

/// One event of the timeline (`run.js` builds the same markup for live ones).
fn event_item(ev: &RunEvent) -> Markup {
    let status = ev.status.as_str();
    html! {
        li class={ "event " (status) } data-seq=(ev.seq) {
            time datetime=(ev.at.to_rfc3339()) { (ev.at.format("%H:%M:%S")) }
            " "
            span.event-status { (status) }
            " "
            span.event-stage { (ev.stage.as_deref().unwrap_or("")) }
            @if status == "progress" {
                " " span.event-progress { (ev.progress) "%" }
            }
        }
    }
}

pub async fn cancel(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let id = run_id(&raw)?;
    state
        .api
        .parts()
        .client
        .cancel_run(viewer.owner(), id)
        .await
        .map_err(ApiError::from)?;
    Ok(Redirect::to(&format!("/runs/{id}")).into_response())
}

pub async fn resume(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(raw): Path<String>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let id = run_id(&raw)?;
    match state.api.parts().client.resume(viewer.owner(), id).await {
        Ok(()) => Ok(Redirect::to(&format!("/runs/{id}")).into_response()),
        Err(e) if e.code() == "INVALID_STATE" => Err(PageError(ApiError::new(
            StatusCode::CONFLICT,
            specline_api::error::ApiCode::RunNotResumable,
            "only a failed run with a step left to run can be resumed",
        ))),
        Err(e) => Err(ApiError::from(e).into()),
    }
}

//! `/admin/runs`: every owner's runs, newest first (an id cursor), each with its steps as
//! boxes in order: done, current (running or failed) or waiting.

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use maud::{html, Markup};
use serde::Deserialize;
use specline_api::error::ApiError;
use specline_queue::{Run, RunState};

use crate::layout::{self, Section};
use crate::pages::admin::{admin_only, tabs, time, Tab};
use crate::pages::error::PageResult;
use crate::session::Viewer;
use crate::WebState;

/// Runs per page.
const PAGE: usize = 50;

#[derive(Deserialize)]
pub struct RunsQuery {
    before: Option<i64>,
}

pub async fn show(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(q): Query<RunsQuery>,
) -> PageResult {
    admin_only(&viewer)?;
    let client = &state.api.parts().client;
    let ids = client
        .store()
        .stats()
        .recent_run_ids(q.before, PAGE)
        .await
        .map_err(ApiError::from)?;
    let mut runs = Vec::new();
    for id in &ids {
        if let Some(run) = client.store().get_run(*id).await.map_err(ApiError::from)? {
            runs.push(run);
        }
    }
    let next = (ids.len() == PAGE).then(|| ids.last().copied()).flatten();
    let content = html! {
        (tabs(Tab::Runs))
        h1 { "Runs" }
        div.table-wrap {
            table #runs {
                thead { tr {
                    th scope="col" { "Run" } th scope="col" { "Owner" } th scope="col" { "Pipeline" }
                    th scope="col" { "State" } th scope="col" { "Steps" } th scope="col" { "Created" }
                } }
                tbody {
                    @for r in &runs {
                        tr {
                            td { (r.id) }
                            td { (r.owner) }
                            td { (r.pipeline) }
                            td { span.badge.(r.state.as_str()) { (r.state.as_str()) } }
                            td { (steps(r)) }
                            td { (time(r.created_at)) }
                        }
                    }
                    @if runs.is_empty() { tr { td colspan="6" { "No runs." } } }
                }
            }
        }
        @if let Some(next) = next {
            nav.pager aria-label="Pages" { a href="/admin/runs" { "Newest" } " · " a href=(format!("/admin/runs?before={next}")) { "Older →" } }
        }
    };
    Ok(layout::page_with(
        &state,
        &viewer,
        Section::Jobs,
        "Runs",
        &["jobs.css"],
        content,
    )
    .into_response())
}

/// The step graph: one box per step, in order, with its state.
fn steps(run: &Run) -> Markup {
    let current = usize::try_from(run.current_step).unwrap_or(0);
    html! {
        ol.steps aria-label=(format!("Steps of run {}", run.id)) {
            @for (i, s) in run.steps.iter().enumerate() {
                @let st = step_state(run.state, i, current);
                li.step.(st) { span.name { (s.kind) } " " span.visually-hidden { "(" (st) ")" } }
            }
        }
    }
}

fn step_state(run: RunState, index: usize, current: usize) -> &'static str {
    match (run, index.cmp(&current)) {
        (_, std::cmp::Ordering::Less) => "done",
        (RunState::Done, _) => "done",
        (RunState::Running, std::cmp::Ordering::Equal) => "running",
        (RunState::Failed, std::cmp::Ordering::Equal) => "failed",
        _ => "waiting",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_before_the_current_one_are_done() {
        assert_eq!(step_state(RunState::Running, 0, 1), "done");
        assert_eq!(step_state(RunState::Running, 1, 1), "running");
        assert_eq!(step_state(RunState::Running, 2, 1), "waiting");
        assert_eq!(step_state(RunState::Failed, 1, 1), "failed");
        assert_eq!(step_state(RunState::Done, 2, 2), "done");
    }
}

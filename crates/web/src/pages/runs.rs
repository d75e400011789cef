//! `GET /runs`: the owner's runs, newest first, a page at a time (a keyset cursor: the
//! last run id of the previous page, as `GET /api/v1/runs` pages). The table is shared with
//! the home page's recent runs.

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use maud::{html, Markup};
use serde::Deserialize;
use specline_api::routes::runs::{owner_page, RunListItem, RunPage};

use crate::layout::{self, Section};
use crate::pages::error::PageResult;
use crate::pages::{run_badge, run_steps};
use crate::session::Viewer;
use crate::WebState;

/// Runs per page.
const PAGE: usize = 50;

#[derive(Debug, Deserialize)]
pub struct RunsQuery {
    cursor: Option<String>,
}

/// A page of the viewer's own runs (an admin's list is theirs too: the jobs dashboard
/// shows everyone's).
pub async fn owner_runs(
    state: &WebState,
    viewer: &Viewer,
    cursor: Option<&str>,
    limit: usize,
) -> PageResult<RunPage> {
    Ok(owner_page(&state.api, &viewer.caller, cursor, limit).await?)
}

pub async fn list(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(q): Query<RunsQuery>,
) -> PageResult {
    let page = owner_runs(&state, &viewer, q.cursor.as_deref(), PAGE).await?;
    let content = html! {
        h1 { "Runs" }
        @if page.runs.is_empty() {
            p.muted { "No runs here. " a href="/" { "Submit a repository" } "." }
        } @else {
            (table(&page.runs))
        }
        nav.pager aria-label="Pages of runs" {
            @if q.cursor.is_some() {
                a href="/runs" { "Newest" }
            }
            @if let Some(next) = &page.next_cursor {
                " " a rel="next" href={ "/runs?cursor=" (next) } { "Older runs" }
            }
        }
    };
    Ok(layout::page(&state, &viewer, Section::Runs, "Runs", content).into_response())
}

/// Runs as a table: id (linking to the run's page), repository, state, stage, submitted.
pub fn table(runs: &[RunListItem]) -> Markup {
    html! {
        div.table-wrap {
            table.runs {
                thead {
                    tr {
                        th scope="col" { "Run" }
                        th scope="col" { "Repository" }
                        th scope="col" { "State" }
                        th scope="col" { "Stage" }
                        th scope="col" { "Submitted" }
                    }
                }
                tbody {
                    @for item in runs {
                        tr data-run=(item.run_id) {
                            td { a href={ "/runs/" (item.run_id) } { "#" (item.run_id) } }
                            td.mono { (item.repository) }
                            td { (run_badge::badge(item.run.as_ref())) }
                            td { (item.run.as_ref().and_then(|r| r.stage.as_deref()).map(run_steps::title).unwrap_or_else(|| "–".into())) }
                            td { (time(&item.submitted_at)) }
                        }
                    }
                }
            }
        }
    }
}

/// A timestamp people read (UTC), machine-readable in `datetime`.
pub fn time(at: &chrono::DateTime<chrono::Utc>) -> Markup {
    html! { time datetime=(at.to_rfc3339()) { (at.format("%Y-%m-%d %H:%M:%S UTC")) } }
}

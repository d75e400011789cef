//! `/admin/queues`: each queue with its counts per state (capped) and a pause or resume
//! button; the change goes through the API's own function.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;
use specline_api::error::ApiError;
use specline_api::routes::admin as api;
use specline_queue::stats::COUNT_CAP;
use specline_queue::JobState;

use crate::layout::{self, Section};
use crate::pages::admin::{admin_only, number, tabs, Tab};
use crate::pages::error::PageResult;
use crate::session::Viewer;
use crate::WebState;

pub async fn show(State(state): State<WebState>, viewer: Viewer) -> PageResult {
    admin_only(&viewer)?;
    let names = api::queue_names(&state.api).await?;
    let counts = state
        .api
        .parts()
        .client
        .store()
        .stats()
        .job_counts()
        .await
        .map_err(ApiError::from)?;
    let mut by_queue: BTreeMap<String, BTreeMap<JobState, i64>> = BTreeMap::new();
    for c in &counts.counts {
        by_queue
            .entry(c.queue.clone())
            .or_default()
            .insert(c.state, c.count);
    }
    // Queues known to the application or paused, and any other queue holding jobs.
    let mut queues: BTreeMap<String, bool> = names.into_iter().collect();
    for q in by_queue.keys() {
        queues.entry(q.clone()).or_insert(false);
    }
    let cell = |n: i64| {
        if n >= COUNT_CAP {
            format!("{}+", number(COUNT_CAP))
        } else {
            number(n)
        }
    };
    let content = html! {
        (tabs(Tab::Queues))
        h1 { "Queues" }
        p.muted { "Paused queues keep their jobs; workers fetch none until resumed. Running jobs finish." }
        div.table-wrap {
            table #queues {
                thead { tr {
                    th scope="col" { "Queue" } th scope="col" { "Status" }
                    @for s in JobState::ALL { th scope="col" { (s.as_str()) } }
                    th scope="col" { span.visually-hidden { "Action" } }
                } }
                tbody {
                    @for (name, paused) in &queues {
                        tr data-queue=(name) {
                            th scope="row" { a href=(format!("/admin/jobs?queue={name}")) { (name) } }
                            td.status { @if *paused { span.badge.cancelled { "paused" } } @else { span.badge.completed { "running" } } }
                            @for s in JobState::ALL {
                                td { (cell(by_queue.get(name).and_then(|m| m.get(&s)).copied().unwrap_or(0))) }
                            }
                            td {
                                form method="post" action=(format!("/admin/queues/{name}")) {
                                    input type="hidden" name="csrf" value=(viewer.csrf);
                                    @if *paused {
                                        input type="hidden" name="paused" value="false";
                                        button type="submit" aria-label=(format!("Resume {name}")) { "Resume" }
                                    } @else {
                                        input type="hidden" name="paused" value="true";
                                        button.secondary type="submit" aria-label=(format!("Pause {name}")) { "Pause" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page_with(
        &state,
        &viewer,
        Section::Jobs,
        "Queues",
        &["jobs.css"],
        content,
    )
    .into_response())
}

#[derive(Deserialize)]
pub struct PauseForm {
    csrf: String,
    paused: bool,
}

/// `POST /admin/queues/{name}`: pause or resume, then back to the queues.
pub async fn pause(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Form(form): Form<PauseForm>,
) -> PageResult<Response> {
    admin_only(&viewer)?;
    viewer.check_csrf(&form.csrf)?;
    api::set_paused(&state.api, &name, form.paused).await?;
    Ok(Redirect::to("/admin/queues").into_response())
}

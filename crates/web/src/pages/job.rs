//! `/admin/jobs/{id}`: one job: its args and metadata, each attempt with its error, and a
//! timeline (created, scheduled, attempted, finished); retry, cancel or discard it.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use maud::html;
use specline_api::error::ApiError;

use crate::layout::{self, Section};
use crate::pages::admin::{admin_only, tabs, time, Tab};
use crate::pages::error::{PageError, PageResult};
use crate::session::Viewer;
use crate::WebState;

pub async fn show(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> PageResult {
    admin_only(&viewer)?;
    let id: i64 = id.parse().map_err(|_| PageError::not_found())?;
    let job = state
        .api
        .parts()
        .client
        .get(id)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(PageError::not_found)?;
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let title = format!("Job {}", job.id);
    let content = html! {
        (tabs(Tab::Jobs))
        p { a href="/admin/jobs" { "← All jobs" } }
        h1 { "Job " (job.id) " " span.badge.(job.state.as_str()) #job-state { (job.state.as_str()) } }
        div.row {
            section.card aria-labelledby="about-h" {
                h2 #about-h { "About" }
                dl.facts {
                    dt { "Kind" } dd #job-kind { (job.kind) }
                    dt { "Queue" } dd { a href=(format!("/admin/jobs?queue={}", job.queue)) { (job.queue) } }
                    dt { "Attempt" } dd { (job.attempt) " of " (job.max_attempts) }
                    dt { "Priority" } dd { (job.priority) }
                    dt { "Tags" } dd { @if job.tags.is_empty() { span.muted { "none" } } @else { (job.tags.join(", ")) } }
                    @if let Some(k) = &job.unique_key { dt { "Unique key" } dd.mono { (k) } }
                    @if job.cancel_requested { dt { "Cancel" } dd { "requested" } }
                }
                form method="post" action="/admin/jobs/actions" {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    input type="hidden" name="scope" value="selected";
                    input type="hidden" name="id" value=(job.id);
                    button.secondary #retry type="submit" name="action" value="retry" { "Retry" }
                    " "
                    button.secondary type="submit" name="action" value="cancel" { "Cancel" }
                    " "
                    button.danger type="submit" name="action" value="discard" { "Discard" }
                }
            }
            section.card aria-labelledby="timeline-h" {
                h2 #timeline-h { "Timeline" }
                ol.timeline #timeline {
                    li { "Created " (time(job.created_at)) }
                    li { "Scheduled " (time(job.scheduled_at)) }
                    @if let Some(t) = job.attempted_at { li { "Last attempted " (time(t)) } }
                    @for e in &job.errors { li.failed { "Attempt " (e.attempt) " failed " (time(e.at)) } }
                    @if let Some(t) = job.finalized_at { li { "Finished (" (job.state.as_str()) ") " (time(t)) } }
                }
            }
        }
        section.card aria-labelledby="args-h" {
            h2 #args-h { "Args" }
            pre #job-args { (pretty(&job.args)) }
            h2 { "Metadata" }
            pre #job-metadata { (pretty(&job.metadata)) }
        }
        section.card aria-labelledby="attempts-h" {
            h2 #attempts-h { "Attempts" }
            @if job.attempted_by.is_empty() { p.muted { "Not attempted yet." } } @else {
                div.table-wrap { table #attempts {
                    thead { tr { th scope="col" { "Attempt" } th scope="col" { "Worker" } th scope="col" { "Error" } } }
                    tbody {
                        @for (i, worker) in job.attempted_by.iter().enumerate() {
                            @let n = i as i32 + 1;
                            tr {
                                td { (n) }
                                td.mono { (worker) }
                                td {
                                    @for e in job.errors.iter().filter(|e| e.attempt == n) {
                                        code.code { (e.code) } " " (e.message) " " span.muted { (time(e.at)) }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
        }
    };
    Ok(layout::page_with(
        &state,
        &viewer,
        Section::Jobs,
        &title,
        &["jobs.css"],
        content,
    )
    .into_response())
}

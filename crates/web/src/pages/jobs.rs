//! `/admin/jobs`: the jobs dashboard. Counts per queue and state (capped, with the table's
//! estimated size), the last hour's throughput and wait per queue as charts, and the job
//! list filtered by kind, queue, state, tags and args/metadata, paged by an id cursor.
//! Retry, cancel or discard the selected jobs or every job matching the filter (in
//! batches, up to the API's bound per request, after a confirmation).
//!
//! Every read is bounded (see `specline_queue::stats`): the page stays fast on millions
//! of jobs. Listing and acting share the API's admin functions, so both apply one rule.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{Duration, Utc};
use maud::{html, Markup};
use specline_api::error::ApiError;
use specline_api::routes::admin::{self as api, Action, BulkRequest, JobList, JobQuery};
use specline_queue::stats::{CappedCount, JobCounts, MinuteActivity, COUNT_CAP};
use specline_queue::JobState;

use crate::layout::{self, Section};
use crate::pages::admin::{admin_only, number, tabs, time, Tab};
use crate::pages::charts;
use crate::pages::error::{PageError, PageResult};
use crate::session::Viewer;
use crate::WebState;

/// The filter's keys, as the form and the API name them.
const FILTER_KEYS: [&str; 6] = ["kind", "queue", "state", "tag", "args", "metadata"];

/// The filter's non-empty fields (an empty form field means "any").
fn filter_pairs(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .filter(|(k, v)| FILTER_KEYS.contains(&k.as_str()) && !v.trim().is_empty())
        .map(|(k, v)| (k.clone(), v.trim().to_string()))
        .collect()
}

fn value<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn encode(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

pub async fn show(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(pairs): Query<Vec<(String, String)>>,
) -> PageResult {
    admin_only(&viewer)?;
    let filter = filter_pairs(&pairs);
    let mut query_pairs = filter.clone();
    if let Some((_, before)) = pairs.iter().find(|(k, _)| k == "before") {
        query_pairs.push(("before".into(), before.clone()));
    }
    let listed = match JobQuery::from_pairs(query_pairs) {
        Ok(q) => api::list_jobs(&state.api, &q).await,
        Err(e) => Err(e),
    };
    let stats = state.api.parts().client.store().stats();
    let counts = stats.job_counts().await.map_err(ApiError::from)?;
    let activity = stats
        .activity(Utc::now() - Duration::hours(1))
        .await
        .map_err(ApiError::from)?;
    let content = html! {
        (tabs(Tab::Jobs))
        h1 { "Jobs" }
        (notice(&pairs))
        (counts_table(&counts))
        (activity_charts(&activity))
        (filter_form(&filter))
        @match &listed {
            Ok(list) => (job_table(&viewer, &filter, list)),
            Err(e) => p.error #filter-error role="alert" { (e.message) },
        }
    };
    Ok(layout::page_with(
        &state,
        &viewer,
        Section::Jobs,
        "Jobs",
        &["jobs.css"],
        content,
    )
    .into_response())
}

/// What the last bulk action did (from the redirect after it).
fn notice(pairs: &[(String, String)]) -> Markup {
    let affected = value(pairs, "affected");
    let refused = value(pairs, "refused");
    html! {
        div #notice role="status" aria-live="polite" {
            @if !affected.is_empty() {
                p.notice {
                    "Changed " strong { (affected) } " job(s)"
                    @if !refused.is_empty() && refused != "0" { "; " (refused) " could not be changed (wrong state)" }
                    "."
                    @if value(pairs, "more") == "1" { " More jobs match: submit again to go on." }
                }
            }
        }
    }
}

/// Jobs per queue (rows) and state (columns); "10,000+" where a count stopped at the cap.
fn counts_table(counts: &JobCounts) -> Markup {
    let mut by_queue: BTreeMap<&str, BTreeMap<JobState, &CappedCount>> = BTreeMap::new();
    for c in &counts.counts {
        by_queue.entry(&c.queue).or_default().insert(c.state, c);
    }
    let cell = |c: Option<&&CappedCount>| match c {
        None => "0".to_string(),
        Some(c) if c.capped() => format!("{}+", number(COUNT_CAP)),
        Some(c) => number(c.count),
    };
    html! {
        section.card aria-labelledby="counts-h" {
            h2 #counts-h { "Counts" }
            p #total { "≈ " (number(counts.total_estimate)) " jobs in total (estimated)." }
            div.table-wrap {
                table #counts {
                    thead { tr { th scope="col" { "Queue" } @for s in JobState::ALL { th scope="col" { (s.as_str()) } } } }
                    tbody {
                        @for (queue, states) in &by_queue {
                            tr {
                                th scope="row" { a href=(format!("/admin/jobs?{}", encode(&[("queue".into(), queue.to_string())]))) { (queue) } }
                                @for s in JobState::ALL {
                                    td data-state=(s.as_str()) {
                                        @let text = cell(states.get(&s));
                                        @if text == "0" { span.muted { "0" } } @else {
                                            a href=(format!("/admin/jobs?{}", encode(&[("queue".into(), queue.to_string()), ("state".into(), s.as_str().into())]))) { (text) }
                                        }
                                    }
                                }
                            }
                        }
                        @if by_queue.is_empty() { tr { td colspan="8" { "No jobs." } } }
                    }
                }
            }
        }
    }
}

/// Per queue: jobs finished per minute and the mean wait (scheduled → attempted).
fn activity_charts(activity: &[MinuteActivity]) -> Markup {
    let now = Utc::now();
    let mut by_queue: BTreeMap<&str, Vec<&MinuteActivity>> = BTreeMap::new();
    for a in activity {
        by_queue.entry(&a.queue).or_default().push(a);
    }
    html! {
        section.card aria-labelledby="activity-h" {
            h2 #activity-h { "Last hour" }
            @if by_queue.is_empty() { p.muted { "No job finished or started in the last hour." } }
            @for (i, (queue, points)) in by_queue.iter().enumerate() {
                div.queue-charts {
                    h3 { (queue) }
                    div.row {
                        (charts::bars(&format!("throughput-{i}"), &format!("{queue}: jobs finished per minute"), "jobs",
                            &charts::per_minute(points, now, |p| p.finished as f64)))
                        (charts::bars(&format!("latency-{i}"), &format!("{queue}: mean wait scheduled → attempted"), "ms",
                            &charts::per_minute(points, now, |p| p.latency_avg_ms)))
                    }
                }
            }
        }
    }
}

fn filter_form(filter: &[(String, String)]) -> Markup {
    let v = |k: &str| value(filter, k).to_string();
    let state = v("state");
    html! {
        form.card.filters #filter method="get" action="/admin/jobs" {
            h2 { "Filter" }
            div.fields {
                div { label for="f-kind" { "Kind" } input #f-kind type="text" name="kind" value=(v("kind")); }
                div { label for="f-queue" { "Queue" } input #f-queue type="text" name="queue" value=(v("queue")); }
                div {
                    label for="f-state" { "State" }
                    select #f-state name="state" {
                        option value="" { "any" }
                        @for s in JobState::ALL {
                            option value=(s.as_str()) selected[state == s.as_str()] { (s.as_str()) }
                        }
                    }
                }
                div { label for="f-tag" { "Tags (comma-separated, all required)" } input #f-tag type="text" name="tag" value=(v("tag")); }
                div { label for="f-args" { "Args contain (JSON object)" } input #f-args type="text" name="args" value=(v("args")) placeholder="{\"key\":\"value\"}"; }
                div { label for="f-metadata" { "Metadata contain (JSON object)" } input #f-metadata type="text" name="metadata" value=(v("metadata")); }
            }
            button type="submit" { "Filter" }
            " " a href="/admin/jobs" { "Clear" }
        }
    }
}

/// The filter and the cursor of the next page.
fn with_before(filter: &[(String, String)], before: i64) -> Vec<(String, String)> {
    let mut p = filter.to_vec();
    p.push(("before".into(), before.to_string()));
    p
}

fn hidden_filter(filter: &[(String, String)]) -> Markup {
    html! { @for (k, v) in filter { input type="hidden" name=(format!("f_{k}")) value=(v); } }
}

fn job_table(viewer: &Viewer, filter: &[(String, String)], list: &JobList) -> Markup {
    html! {
        section.card aria-labelledby="list-h" {
            h2 #list-h { "Jobs, newest first" }
            form #selected method="post" action="/admin/jobs/actions" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="scope" value="selected";
                (hidden_filter(filter))
                div.actions {
                    button.secondary type="submit" name="action" value="retry" { "Retry selected" }
                    button.secondary type="submit" name="action" value="cancel" { "Cancel selected" }
                    button.danger type="submit" name="action" value="discard" { "Discard selected" }
                }
                div.table-wrap {
                    table #jobs {
                        thead { tr {
                            th scope="col" { span.visually-hidden { "Select" } }
                            th scope="col" { "Id" } th scope="col" { "Kind" } th scope="col" { "Queue" }
                            th scope="col" { "State" } th scope="col" { "Attempt" } th scope="col" { "Tags" }
                            th scope="col" { "Created" }
                        } }
                        tbody {
                            @for j in &list.jobs {
                                tr data-id=(j.id) {
                                    td { input type="checkbox" name="id" value=(j.id) id=(format!("sel-{}", j.id)) aria-label=(format!("Select job {}", j.id)); }
                                    td { a href=(format!("/admin/jobs/{}", j.id)) { (j.id) } }
                                    td.kind { (j.kind) }
                                    td { (j.queue) }
                                    td { span.badge.(j.state) { (j.state) } }
                                    td { (j.attempt) "/" (j.max_attempts) }
                                    td { (j.tags.join(", ")) }
                                    td { (time(j.created_at)) }
                                }
                            }
                            @if list.jobs.is_empty() && list.searched_down_to.is_none() { tr { td colspan="8" { "No job matches." } } }
                        }
                    }
                }
            }
            @if let Some(lowest) = list.searched_down_to {
                p.muted #searched role="status" {
                    "No more matches among jobs down to id " (lowest) " (a filtered page searches "
                    (api::SEARCH_WINDOW) " ids at most). \"Older\" searches further down."
                }
            }
            nav.pager aria-label="Pages" {
                a href=(format!("/admin/jobs?{}", encode(filter))) { "Newest" }
                @if let Some(next) = list.next {
                    @let p = with_before(filter, next);
                    " · " a #older href=(format!("/admin/jobs?{}", encode(&p))) { "Older →" }
                }
            }
            form.card #matching method="post" action="/admin/jobs/actions" {
                h3 { "Every job matching the filter" }
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="scope" value="matching";
                (hidden_filter(filter))
                label for="m-action" { "Action" }
                select #m-action name="action" {
                    option value="retry" { "Retry" } option value="cancel" { "Cancel" } option value="discard" { "Discard" }
                }
                div.confirm {
                    input #m-confirm type="checkbox" name="confirm" value="yes" required;
                    label for="m-confirm" { "Yes, apply it to every matching job (at most 10,000 per submission, in batches of 500)" }
                }
                button.danger type="submit" { "Apply to all matching" }
            }
        }
    }
}

/// `POST /admin/jobs/actions`: the selected ids, or every job matching the filter (with
/// the confirmation box ticked); then back to the list with what changed.
pub async fn act(
    State(state): State<WebState>,
    viewer: Viewer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    admin_only(&viewer)?;
    viewer.check_csrf(value(&pairs, "csrf"))?;
    let action = match value(&pairs, "action") {
        "retry" => Action::Retry,
        "cancel" => Action::Cancel,
        "discard" => Action::Discard,
        _ => return Err(PageError::bad_request("choose retry, cancel or discard")),
    };
    let filter: Vec<(String, String)> = pairs
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("f_")?.to_string(), v.clone())))
        .collect();
    let filter = filter_pairs(&filter);
    let req = match value(&pairs, "scope") {
        "selected" => {
            let ids = pairs
                .iter()
                .filter(|(k, _)| k == "id")
                .map(|(_, v)| {
                    v.parse::<i64>()
                        .map_err(|_| PageError::bad_request("a job id is a whole number"))
                })
                .collect::<PageResult<Vec<i64>>>()?;
            if ids.is_empty() {
                return Err(PageError::bad_request("select at least one job"));
            }
            BulkRequest {
                action,
                ids,
                matching: None,
            }
        }
        "matching" => {
            if value(&pairs, "confirm") != "yes" {
                return Err(PageError::bad_request(
                    "tick the confirmation box to change every matching job",
                ));
            }
            BulkRequest {
                action,
                ids: Vec::new(),
                matching: Some(JobQuery::from_pairs(filter.clone())?),
            }
        }
        _ => return Err(PageError::bad_request("unknown scope")),
    };
    let result = api::act(&state.api, req).await?;
    let mut back = filter;
    back.push(("affected".into(), result.affected.to_string()));
    back.push(("refused".into(), result.refused.len().to_string()));
    if result.more {
        back.push(("more".into(), "1".into()));
    }
    Ok(Redirect::to(&format!("/admin/jobs?{}", encode(&back))).into_response())
}

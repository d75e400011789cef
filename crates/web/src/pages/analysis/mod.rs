//! `GET /analyses/{id}`: one analysis of a repository, in two tabs — its tests
//! ([`tests`]: tree or list, filters, a compare view with another commit) and its spec
//! document ([`spec`]). Every control is a link or a GET form, so the page works without
//! JavaScript and every view has a URL; `analysis.js` only submits selectors on change.
//!
//! The owner check is the API's (`specline_api::access::analysis`): another owner's
//! analysis is "not found".

pub mod cases;
pub mod compare;
pub mod header;
pub mod links;
pub mod list;
pub mod paging;
pub mod query;
pub mod spec;
pub mod tests;
pub mod tree;

pub use header::{commit_label, option_label};
pub use query::AnalysisQuery;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use maud::html;
use serde::Deserialize;
use specline_api::routes::analyses::list_page;

use crate::layout::{self, Section};
use crate::pages::error::{PageError, PageResult};
use crate::session::Viewer;
use crate::WebState;

/// Analyses offered by the commit selector (the newest).
const COMMITS_LISTED: usize = 100;

/// `GET /analyses/{id}`.
pub async fn show(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(id): Path<String>,
    q: Result<Query<AnalysisQuery>, QueryRejection>,
) -> PageResult {
    let id: i64 = id.parse().map_err(|_| PageError::not_found())?;
    let q = query::query(q)?;
    let record = specline_api::access::analysis(&state.api, &viewer.caller, id).await?;
    let commits = list_page(
        &state.api,
        &viewer.caller,
        &record.repository,
        None,
        COMMITS_LISTED,
    )
    .await?
    .analyses;
    let spec_tab = q.tab.as_deref() == Some("spec");
    let body = if spec_tab {
        spec::render(&state, &viewer, &record, &q).await?
    } else {
        tests::render(&state, &viewer, &record, &commits, &q).await?
    };
    let title = format!(
        "{} · {}",
        header::short_repository(&record.repository),
        commit_label(&record)
    );
    let content = html! {
        (header::header(&record, &commits, &q, spec_tab))
        (body)
    };
    Ok(layout::page_with(
        &state,
        &viewer,
        Section::None,
        &title,
        &["analysis.css", "analysis.js"],
        content,
    )
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct GoQuery {
    id: String,
    tab: Option<String>,
}

/// `GET /analyses/go?id=N&tab=...`: the commit selector's form, without JavaScript.
pub async fn go(_viewer: Viewer, q: Result<Query<GoQuery>, QueryRejection>) -> PageResult {
    let Query(q) = q.map_err(|_| PageError::bad_request("choose a commit"))?;
    let id: i64 =
        q.id.trim()
            .parse()
            .map_err(|_| PageError::bad_request("choose a commit"))?;
    let tab = match q.tab.as_deref() {
        Some("spec") => "?tab=spec",
        _ => "",
    };
    Ok(Redirect::to(&format!("/analyses/{id}{tab}")).into_response())
}

//! `GET /analyses/{id}`: one analysis of a repository, in two tabs — its tests
//! ([`tests`]: tree or list, filters, a compare view with another commit) and its spec
//! document ([`spec`]). Every control is a link or a GET form, so the page works without
//! JavaScript and every view has a URL; `analysis.js` only submits selectors on change.
//!
//! The owner check is the API's (`specline_api::access::analysis`): another owner's
//! analysis is "not found".

pub mod compare;
pub mod links;
pub mod spec;
pub mod tests;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use maud::{html, Markup};
use serde::{Deserialize, Serialize};
use specline_api::routes::analyses::{list_page, AnalysisView};
use specline_app::store::AnalysisRecord;

use crate::layout::{self, Section};
use crate::pages::error::{PageError, PageResult};
use crate::session::Viewer;
use crate::WebState;

/// Analyses offered by the commit selector (the newest).
const COMMITS_LISTED: usize = 100;

/// The page's state, all in its URL. Numbers arrive as text and are parsed with a clear
/// error (a hostile URL gets a 400 page, never a panic).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct AnalysisQuery {
    /// `tests` (default) or `spec`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tab: Option<String>,
    /// Tests tab: `tree` (default) or `list`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub framework: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Free text: tests (name, suite, path) or behaviors (sentence, test, file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// 1-based.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// Tree: the file whose tests are shown whatever the page's budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open: Option<String>,
    /// Tests tab: the analysis to compare with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// Spec tab: a document version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// Spec tab: a document language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

impl AnalysisQuery {
    /// The page at `id` with this state changed by `change` (empty values dropped).
    pub fn href(&self, id: i64, change: impl FnOnce(&mut AnalysisQuery)) -> String {
        let mut q = self.clone();
        change(&mut q);
        for v in [
            &mut q.tab,
            &mut q.view,
            &mut q.status,
            &mut q.framework,
            &mut q.language,
            &mut q.q,
            &mut q.page,
            &mut q.open,
            &mut q.base,
            &mut q.doc,
            &mut q.lang,
        ] {
            if v.as_deref().is_some_and(str::is_empty) {
                *v = None;
            }
        }
        match serde_urlencoded::to_string(&q) {
            Ok(s) if !s.is_empty() => format!("/analyses/{id}?{s}"),
            _ => format!("/analyses/{id}"),
        }
    }

    /// The 1-based page asked for (1 when unset).
    pub fn page(&self) -> PageResult<usize> {
        number(self.page.as_deref(), "page")?
            .map(|n| usize::try_from(n).ok().filter(|n| *n >= 1))
            .map(|n| n.ok_or_else(|| PageError::bad_request("page must be 1 or more")))
            .transpose()
            .map(|p| p.unwrap_or(1))
    }

    pub fn base(&self) -> PageResult<Option<i64>> {
        number(self.base.as_deref(), "base")
    }

    pub fn doc(&self) -> PageResult<Option<i64>> {
        number(self.doc.as_deref(), "doc")
    }

    /// The text filter, trimmed; `None` when blank.
    pub fn text(&self) -> Option<&str> {
        self.q.as_deref().map(str::trim).filter(|q| !q.is_empty())
    }
}

fn number(value: Option<&str>, name: &str) -> PageResult<Option<i64>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| PageError::bad_request(format!("{name} must be a number"))),
    }
}

fn query(q: Result<Query<AnalysisQuery>, QueryRejection>) -> PageResult<AnalysisQuery> {
    q.map(|Query(q)| q)
        .map_err(|_| PageError::bad_request("this address's query is malformed"))
}

/// `GET /analyses/{id}`.
pub async fn show(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(id): Path<String>,
    q: Result<Query<AnalysisQuery>, QueryRejection>,
) -> PageResult {
    let id: i64 = id.parse().map_err(|_| PageError::not_found())?;
    let q = query(q)?;
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
        short_repository(&record.repository),
        commit_label(&record)
    );
    let content = html! {
        (header(&record, &commits, &q, spec_tab))
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

/// The repository without its scheme, for titles.
fn short_repository(repository: &str) -> &str {
    repository
        .split_once("://")
        .map_or(repository, |(_, rest)| rest)
}

/// A commit as people read it: the first 10 characters of its id, or the analysis number.
pub fn commit_label(a: &AnalysisRecord) -> String {
    match &a.commit {
        Some(c) => c.chars().take(10).collect(),
        None => format!("analysis {}", a.id),
    }
}

/// One analysis in a selector: commit, branch, date, state.
pub fn option_label(a: &AnalysisView) -> String {
    let commit: String = a
        .commit
        .as_deref()
        .map_or_else(|| "no commit".into(), |c| c.chars().take(10).collect());
    let branch = a
        .branch
        .as_deref()
        .map(|b| format!(" · {b}"))
        .unwrap_or_default();
    format!(
        "{commit}{branch} · {} · #{} ({})",
        a.started_at.format("%Y-%m-%d %H:%M"),
        a.id,
        a.state
    )
}

fn header(
    record: &AnalysisRecord,
    commits: &[AnalysisView],
    q: &AnalysisQuery,
    spec_tab: bool,
) -> Markup {
    let id = record.id;
    let tab = |spec: bool, label: &str, href: String| {
        html! {
            @if spec == spec_tab {
                a.tab href=(href) aria-current="page" { (label) }
            } @else {
                a.tab href=(href) { (label) }
            }
        }
    };
    let state = specline_api::routes::analyses::AnalysisView::from(record.clone()).state;
    html! {
        div.analysis-head {
            h1 {
                span.repo { (short_repository(&record.repository)) }
                " "
                span.badge.(state) { (state) }
            }
            p.muted {
                "Commit " code { (commit_label(record)) }
                @if let Some(b) = &record.branch { " on " code { (b) } }
                " · analysis #" (id)
                @if let Some(stats) = &record.stats {
                    " · " (stats.tests) " tests in " (stats.test_files) " files"
                }
            }
            form.commit-picker method="get" action="/analyses/go" {
                input type="hidden" name="tab" value=(if spec_tab { "spec" } else { "tests" });
                label for="commit" { "Commit" }
                select #commit name="id" data-autosubmit {
                    @for a in commits {
                        option value=(a.id) selected[a.id == id] { (option_label(a)) }
                    }
                }
                button.secondary type="submit" { "Open" }
            }
        }
        nav.tabs aria-label="Analysis" {
            (tab(false, "Tests", format!("/analyses/{id}?tab=tests")))
            (tab(true, "Spec", format!("/analyses/{id}?tab=spec")))
        }
        @if q.tab.as_deref().is_some_and(|t| t != "spec" && t != "tests") {
            p.muted { "Unknown tab; showing the tests." }
        }
    }
}

//! `GET /`: the signed-in owner's start page: a form to submit a repository, their recent
//! runs and the repositories their runs analysed (each with its latest analysis).
//! `POST /`: the form's submission, through the same function as `POST /api/v1/analyses`
//! (`specline_api::routes::submit::submit_analysis`), then on to the run's page. A refusal
//! (the repository policy, the language, the rate limit) comes back as this page with the
//! message and its code beside the field it concerns.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use specline_api::error::ApiError;
use specline_api::routes::analyses::AnalysisView;
use specline_api::routes::submit::{language, submit_analysis, SubmitRequest};

use crate::layout::{self, Section};
use crate::pages::error::PageResult;
use crate::pages::runs;
use crate::session::Viewer;
use crate::WebState;

/// Recent runs shown on this page (the runs page has them all).
const RECENT_RUNS: usize = 10;
/// Repositories per page of the list.
const REPOSITORIES: usize = 20;

#[derive(Debug, Default, Deserialize)]
pub struct HomeQuery {
    /// The last repository of the previous page of repositories.
    repos_after: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SubmitForm {
    csrf: String,
    /// One run per form shown: a second press of the button (or a resent form) answers
    /// with the same run instead of a second one.
    idempotency_key: String,
    repository: String,
    #[serde(default, rename = "ref")]
    git_ref: String,
    #[serde(default)]
    language: String,
}

/// A refusal, placed beside the field it concerns (`None`: above the form).
struct Problem {
    field: Option<&'static str>,
    error: ApiError,
}

pub async fn show(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(q): Query<HomeQuery>,
) -> PageResult {
    render(
        &state,
        &viewer,
        q.repos_after.as_deref(),
        &SubmitForm::default(),
        None,
    )
    .await
}

pub async fn submit(
    State(state): State<WebState>,
    viewer: Viewer,
    Form(form): Form<SubmitForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let problem = match attempt(&state, &viewer, &form).await {
        Ok(run_id) => return Ok(Redirect::to(&format!("/runs/{run_id}")).into_response()),
        Err(p) => p,
    };
    render(&state, &viewer, None, &form, Some(problem)).await
}

/// Submit the form's repository; the run's id, or why not.
async fn attempt(state: &WebState, viewer: &Viewer, form: &SubmitForm) -> Result<i64, Problem> {
    let optional = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let repository = form.repository.trim().to_string();
    if repository.is_empty() {
        return Err(Problem {
            field: Some("repository"),
            error: ApiError::bad_request("enter the repository's git URL"),
        });
    }
    let lang = language(optional(&form.language)).map_err(|error| Problem {
        field: Some("language"),
        error,
    })?;
    let key = optional(&form.idempotency_key);
    let request = SubmitRequest {
        repository,
        git_ref: optional(&form.git_ref),
        language: Some(lang),
        access_token: None,
        fresh: false,
    };
    match submit_analysis(&state.api, &viewer.caller, request, key).await {
        Ok(submitted) => Ok(submitted.run_id),
        Err(error) => Err(Problem {
            field: error.code.starts_with("POLICY_").then_some("repository"),
            error,
        }),
    }
}

async fn render(
    state: &WebState,
    viewer: &Viewer,
    repos_after: Option<&str>,
    form: &SubmitForm,
    problem: Option<Problem>,
) -> PageResult {
    let recent = runs::owner_runs(state, viewer, None, RECENT_RUNS).await?;
    let (repositories, more_after) = repositories(state, viewer, repos_after).await?;
    let status = match &problem {
        Some(p) if p.error.status.is_client_error() => p.error.status,
        Some(_) => StatusCode::INTERNAL_SERVER_ERROR,
        None => StatusCode::OK,
    };
    let content = html! {
        h1 { "Specline" }
        (submit_form(viewer, form, problem.as_ref()))
        section.card aria-labelledby="recent-runs" {
            h2 #recent-runs { "Recent runs" }
            @if recent.runs.is_empty() {
                p.muted { "No runs yet: submit a repository above." }
            } @else {
                (runs::table(&recent.runs))
                @if recent.next_cursor.is_some() {
                    p { a href="/runs" { "All runs" } }
                }
            }
        }
        section.card aria-labelledby="repositories" {
            h2 #repositories { "Repositories" }
            @if repositories.is_empty() {
                p.muted { "Repositories appear here once a run has analysed them." }
            } @else {
                div.table-wrap {
                    table #repository-list {
                        thead { tr { th scope="col" { "Repository" } th scope="col" { "Latest analysis" } th scope="col" { "Tests" } } }
                        tbody {
                            @for (repository, latest) in &repositories {
                                tr {
                                    td.mono { (repository) }
                                    @if let Some(a) = latest {
                                        td {
                                            a href={ "/analyses/" (a.id) } { "Analysis " (a.id) }
                                            " " span class={ "badge " (analysis_badge(&a.state)) } { (a.state) }
                                        }
                                        td { (a.tests.map(|n| n.to_string()).unwrap_or_else(|| "–".into())) }
                                    } @else {
                                        td.muted { "none yet" }
                                        td { "–" }
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Some(after) = more_after {
                    p { a href={ "/?repos_after=" (encode_query(&after)) "#repositories" } { "More repositories" } }
                }
            }
        }
    };
    let page = layout::page_with(state, viewer, Section::Home, "Home", &["home.css"], content);
    Ok((status, page).into_response())
}

fn analysis_badge(state: &str) -> &'static str {
    match state {
        "complete" => "succeeded",
        "running" => "running",
        _ => "failed",
    }
}

fn submit_form(viewer: &Viewer, form: &SubmitForm, problem: Option<&Problem>) -> Markup {
    // A refusal happens before the key is used, so the form keeps it; after a conflict (the
    // key went with another request, e.g. a form shown again by the back button) a new one.
    let conflict = problem.is_some_and(|p| p.error.code == "IDEMPOTENCY_CONFLICT");
    let key = if form.idempotency_key.is_empty() || conflict {
        new_key()
    } else {
        form.idempotency_key.clone()
    };
    let lang = if form.language.is_empty() {
        "en"
    } else {
        form.language.as_str()
    };
    let on = |field: &str| problem.filter(|p| p.field == Some(field));
    html! {
        section.card aria-labelledby="submit-heading" {
            h2 #submit-heading { "Analyse a repository" }
            @if let Some(p) = problem.filter(|p| p.field.is_none()) {
                p.error role="alert" #submit-error { (p.error.message) " " code.code { (p.error.code) } }
            }
            form #submit method="post" action="/" novalidate {
                input type="hidden" name="csrf" value=(viewer.csrf);
                input type="hidden" name="idempotency_key" value=(key);
                (field("repository", "Repository (git URL)", &form.repository, "https://github.com/owner/repo.git", true, on("repository")))
                div.row {
                    (field("ref", "Branch or tag (optional)", &form.git_ref, "the default branch", false, on("ref")))
                    (field("language", "Language of the spec document", lang, "en, de, pt-BR", true, on("language")))
                }
                button type="submit" { "Analyse" }
            }
        }
    }
}

fn field(
    name: &str,
    label: &str,
    value: &str,
    placeholder: &str,
    required: bool,
    problem: Option<&Problem>,
) -> Markup {
    let id = format!("submit-{name}");
    let error_id = format!("{id}-error");
    html! {
        div.field {
            label for=(id) { (label) }
            input #(id) type="text" name=(name) value=(value) placeholder=(placeholder)
                required[required] spellcheck="false" autocapitalize="off"
                aria-invalid=[problem.map(|_| "true")]
                aria-describedby=[problem.map(|_| error_id.as_str())];
            @if let Some(p) = problem {
                p.error.field-error #(error_id) role="alert" {
                    (p.error.message) " " code.code { (p.error.code) }
                }
            }
        }
    }
}

/// A fresh idempotency key for one showing of the form.
fn new_key() -> String {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    format!("ui-{}", hex::encode(bytes))
}

/// The owner's repositories (the analyser's names, sorted) after `after`, a page at a
/// time, each with its newest analysis; and the cursor of the next page.
async fn repositories(
    state: &WebState,
    viewer: &Viewer,
    after: Option<&str>,
) -> PageResult<(Vec<(String, Option<AnalysisView>)>, Option<String>)> {
    let parts = state.api.parts();
    let page = specline_api::routes::analyses::repositories_page(
        &state.api,
        viewer.owner(),
        after,
        REPOSITORIES,
    )
    .await?;
    // The page's own cursor is the last name shown (the API's is the same name, encoded).
    let more = page
        .next_cursor
        .and_then(|_| page.repositories.last().cloned());
    let page = page.repositories;
    let mut out = Vec::with_capacity(page.len());
    for repository in page {
        let latest = parts
            .app
            .list_analyses(Some(&repository), None, 1)
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .next()
            .map(AnalysisView::from);
        out.push((repository, latest));
    }
    Ok((out, more))
}

/// A query value, percent-encoded.
pub fn encode_query(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

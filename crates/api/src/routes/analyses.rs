//! Analyses: the repositories an owner can read, their analyses, counts, and the
//! inventory as a tree (files → suites → tests) with filters and a cursor.

use std::collections::BTreeMap;

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use specline_app::store::AnalysisRecord;
use specline_inventory_model::{Status, Suite, Test, TestFile, TestRef};
use utoipa::{IntoParams, ToSchema};

use crate::access;
use crate::auth::Caller;
use crate::body::{Path, Query};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::routes::{next_cursor, page_size, parse_cursor};
use crate::ApiState;

/// The repositories the caller's runs analysed, a page at a time.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Repositories {
    /// In name order.
    pub repositories: Vec<String>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RepositoriesParams {
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100 (default 50).
    pub limit: Option<usize>,
}

/// Repositories the caller can read, in name order, a page at a time.
#[utoipa::path(get, path = "/api/v1/repositories", tag = "analyses", params(RepositoriesParams),
    responses((status = 200, body = Repositories), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn repositories(
    State(state): State<ApiState>,
    caller: Caller,
    Query(p): Query<RepositoriesParams>,
) -> ApiResult<axum::Json<Repositories>> {
    let limit = page_size(p.limit)?;
    let after = p.cursor.as_deref().map(decode_cursor).transpose()?;
    Ok(axum::Json(
        repositories_page(&state, &caller.owner, after.as_deref(), limit).await?,
    ))
}

/// One page of `owner`'s repositories after `after`: what `GET /api/v1/repositories`
/// answers (the web UI's home page calls it too).
pub async fn repositories_page(
    state: &ApiState,
    owner: &str,
    after: Option<&str>,
    limit: usize,
) -> ApiResult<Repositories> {
    access::resolve_pending(state, owner).await?;
    let mut repositories = state
        .inner
        .parts
        .api
        .owner_repositories(owner, after, limit + 1)
        .await?;
    let next_cursor = next_cursor(&mut repositories, limit, |r| encode_cursor(r));
    Ok(Repositories {
        repositories,
        next_cursor,
    })
}

/// An analysis, without its rows.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AnalysisView {
    pub id: i64,
    pub repository: String,
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub parser_version: String,
    pub run_id: Option<i64>,
    /// `running`, `complete` or `failed`.
    pub state: String,
    pub files: Option<u64>,
    /// Test definitions found.
    pub tests: Option<u64>,
    /// What the frameworks' runners would report: definitions with statically known
    /// cases count once per case. Absent for analyses stored before runner counts existed.
    pub runner_tests: Option<u64>,
    pub error_count: i64,
    pub truncated: Option<bool>,
    pub failure: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<AnalysisRecord> for AnalysisView {
    fn from(a: AnalysisRecord) -> Self {
        let state = serde_json::to_value(a.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        AnalysisView {
            id: a.id,
            repository: a.repository,
            commit: a.commit,
            branch: a.branch,
            parser_version: a.parser_version,
            run_id: a.run_id,
            state,
            files: a.stats.as_ref().map(|s| s.test_files),
            tests: a.stats.as_ref().map(|s| s.tests),
            runner_tests: a.stats.as_ref().and_then(runner_tests),
            truncated: a.stats.as_ref().map(|s| s.truncated),
            error_count: a.error_count,
            failure: a.failure,
            started_at: a.started_at,
            finished_at: a.finished_at,
        }
    }
}

/// The stats' runner count, unless the analysis predates it (stored as 0 beside tests).
fn runner_tests(s: &specline_inventory_model::ScanStats) -> Option<u64> {
    (s.runner_tests > 0 || s.tests == 0).then_some(s.runner_tests)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// The repository, as `GET /api/v1/repositories` names it.
    pub repository: String,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 100 (default 50).
    pub limit: Option<usize>,
}

/// One page of a repository's analyses.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AnalysisList {
    pub analyses: Vec<AnalysisView>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A repository's analyses, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/analyses", tag = "analyses", params(ListParams),
    responses((status = 200, body = AnalysisList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> ApiResult<axum::Json<AnalysisList>> {
    let limit = page_size(p.limit)?;
    let before = parse_cursor(p.cursor.as_deref())?;
    Ok(axum::Json(
        list_page(&state, &caller, &p.repository, before, limit).await?,
    ))
}

/// One page of `repository`'s analyses, newest first, with ids below `before`: what
/// `GET /api/v1/analyses` answers (the web UI's commit selector calls it too).
pub async fn list_page(
    state: &ApiState,
    caller: &Caller,
    repository: &str,
    before: Option<i64>,
    limit: usize,
) -> ApiResult<AnalysisList> {
    access::repository(state, caller, repository).await?;
    let mut rows = state
        .inner
        .parts
        .app
        .list_analyses(Some(repository), before, limit + 1)
        .await?;
    let next_cursor = next_cursor(&mut rows, limit, |a| a.id);
    let analyses = rows.into_iter().map(AnalysisView::from).collect();
    Ok(AnalysisList {
        analyses,
        next_cursor,
    })
}

/// Tests counted by status, framework and language.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Counts {
    /// Test definitions.
    pub tests: u64,
    /// Runner items: each definition's case count when known, else one.
    pub runner_tests: u64,
    pub by_status: BTreeMap<String, u64>,
    pub by_framework: BTreeMap<String, u64>,
    pub by_language: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AnalysisDetail {
    pub analysis: AnalysisView,
    pub counts: Counts,
}

/// A status as its word in JSON and URLs (`active`, `skipped`, ...).
pub fn status_word(status: Status) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn status_name(t: &Test) -> String {
    status_word(t.status)
}

/// One analysis with its counts.
#[utoipa::path(get, path = "/api/v1/analyses/{id}", tag = "analyses", params(("id" = i64, Path)),
    responses((status = 200, body = AnalysisDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<AnalysisDetail>> {
    let record = access::analysis(&state, &caller, id).await?;
    let inventory = state.inner.parts.app.load_inventory(id).await?;
    let mut counts = Counts::default();
    for r in inventory.walk_tests() {
        counts.tests += 1;
        counts.runner_tests = counts.runner_tests.saturating_add(r.test.runner_count());
        *counts.by_status.entry(status_name(r.test)).or_default() += 1;
        *counts
            .by_framework
            .entry(r.file.framework.clone())
            .or_default() += 1;
        *counts
            .by_language
            .entry(r.file.language.clone())
            .or_default() += 1;
    }
    Ok(axum::Json(AnalysisDetail {
        analysis: record.into(),
        counts,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TreeParams {
    /// Only tests with this status (`active`, `skipped`, `todo`, ...).
    pub status: Option<String>,
    pub framework: Option<String>,
    pub language: Option<String>,
    /// Only tests whose name, suite or file path contains this (case-insensitive).
    pub q: Option<String>,
    /// From `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Files per page, 1 to 100 (default 50).
    pub limit: Option<usize>,
}

/// A suite with the tests and suites that match.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SuiteNode {
    pub name: String,
    pub line: u32,
    pub status: String,
    #[schema(no_recursion)]
    pub suites: Vec<SuiteNode>,
    pub tests: Vec<TestNode>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TestNode {
    pub name: String,
    pub line: u32,
    pub status: String,
    pub modifier: Option<String>,
    /// The test's statically known cases; absent when the runner reports it once or its
    /// cases are only known at run time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cases: Option<CaseList>,
}

/// The cases a runner reports for one parameterised test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaseList {
    pub count: u64,
    /// The runner's case names, when it derives them from the literals (at most 100).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FileNode {
    pub path: String,
    pub language: String,
    pub framework: String,
    /// Test definitions in the whole file (filters aside).
    pub test_count: u64,
    /// Runner items in the whole file (filters aside): cases count once each.
    pub runner_count: u64,
    pub suites: Vec<SuiteNode>,
    pub tests: Vec<TestNode>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TreePage {
    pub files: Vec<FileNode>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// What the tree and the UI's test lists keep: tests with a status, in files of a
/// framework and language, whose name, suite or file path contains a text
/// (case-insensitive). One rule for the API's tree and the web UI's pages.
#[derive(Debug, Clone, Default)]
pub struct TreeFilter {
    pub status: Option<String>,
    pub framework: Option<String>,
    pub language: Option<String>,
    /// Lower-cased; never empty.
    q: Option<String>,
}

/// Which parts of a [`TreeFilter`] one test passes (the UI counts each facet apart).
#[derive(Debug, Clone, Copy)]
pub struct FilterMatch {
    pub status: bool,
    pub framework: bool,
    pub language: bool,
    pub text: bool,
}

impl FilterMatch {
    pub fn all(&self) -> bool {
        self.status && self.framework && self.language && self.text
    }
}

impl TreeFilter {
    /// Empty values mean no filter.
    pub fn new(
        status: Option<String>,
        framework: Option<String>,
        language: Option<String>,
        q: Option<&str>,
    ) -> TreeFilter {
        let some = |v: Option<String>| v.filter(|v| !v.is_empty());
        TreeFilter {
            status: some(status),
            framework: some(framework),
            language: some(language),
            q: q.map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty()),
        }
    }

    /// The text filter, lower-cased.
    pub fn text(&self) -> Option<&str> {
        self.q.as_deref()
    }

    fn keeps_file(&self, f: &TestFile) -> bool {
        self.framework.as_ref().is_none_or(|x| &f.framework == x)
            && self.language.as_ref().is_none_or(|x| &f.language == x)
    }

    fn keeps_text(&self, name: &str, context: &str) -> bool {
        self.q
            .as_ref()
            .is_none_or(|q| name.to_lowercase().contains(q) || context.contains(q))
    }

    /// How one test of [`Inventory::walk_tests`](specline_inventory_model::Inventory::walk_tests)
    /// fares, facet by facet.
    pub fn check(&self, r: &TestRef<'_>) -> FilterMatch {
        let text = self.q.is_none() || {
            let mut context = r.file.path.to_lowercase();
            for s in &r.suite_path {
                context.push(' ');
                context.push_str(&s.to_lowercase());
            }
            self.keeps_text(&r.test.name, &context)
        };
        FilterMatch {
            status: self
                .status
                .as_ref()
                .is_none_or(|s| s == &status_name(r.test)),
            framework: self
                .framework
                .as_ref()
                .is_none_or(|x| &r.file.framework == x),
            language: self.language.as_ref().is_none_or(|x| &r.file.language == x),
            text,
        }
    }

    fn test(&self, t: &Test, context: &str) -> Option<TestNode> {
        let status = status_name(t);
        if self.status.as_ref().is_some_and(|s| s != &status) {
            return None;
        }
        if !self.keeps_text(&t.name, context) {
            return None;
        }
        Some(TestNode {
            name: t.name.clone(),
            line: t.location.start_line,
            status,
            modifier: t.modifier.clone(),
            cases: t.cases.as_ref().map(|c| CaseList {
                count: c.count,
                names: c.names.clone(),
            }),
        })
    }

    fn suite(&self, s: &Suite, context: &str) -> Option<SuiteNode> {
        let context = format!("{context} {}", s.name.to_lowercase());
        let tests: Vec<TestNode> = s
            .tests
            .iter()
            .filter_map(|t| self.test(t, &context))
            .collect();
        let suites: Vec<SuiteNode> = s
            .suites
            .iter()
            .filter_map(|c| self.suite(c, &context))
            .collect();
        (!tests.is_empty() || !suites.is_empty()).then(|| SuiteNode {
            name: s.name.clone(),
            line: s.location.start_line,
            status: status_word(s.status),
            suites,
            tests,
        })
    }

    /// The file with the suites and tests that pass, or `None` when none does.
    pub fn file(&self, f: &TestFile) -> Option<FileNode> {
        if !self.keeps_file(f) {
            return None;
        }
        let context = f.path.to_lowercase();
        let tests: Vec<TestNode> = f
            .tests
            .iter()
            .filter_map(|t| self.test(t, &context))
            .collect();
        let suites: Vec<SuiteNode> = f
            .suites
            .iter()
            .filter_map(|s| self.suite(s, &context))
            .collect();
        (!tests.is_empty() || !suites.is_empty()).then(|| FileNode {
            path: f.path.clone(),
            language: f.language.clone(),
            framework: f.framework.clone(),
            test_count: f.test_count(),
            runner_count: f.runner_count(),
            suites,
            tests,
        })
    }
}

/// The inventory as a tree, filtered, one page of files at a time (by path).
#[utoipa::path(get, path = "/api/v1/analyses/{id}/tree", tag = "analyses",
    params(("id" = i64, Path), TreeParams),
    responses((status = 200, body = TreePage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn tree(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(p): Query<TreeParams>,
) -> ApiResult<axum::Json<TreePage>> {
    let limit = page_size(p.limit)?;
    let after = p.cursor.as_deref().map(decode_cursor).transpose()?;
    access::analysis(&state, &caller, id).await?;
    let inventory = state.inner.parts.app.load_inventory(id).await?;
    let filter = TreeFilter::new(p.status, p.framework, p.language, p.q.as_deref());
    let mut files = Vec::new();
    let mut next_cursor = None;
    // Files come sorted by path, so the cursor is the last path sent.
    for f in inventory
        .files
        .iter()
        .filter(|f| after.as_ref().is_none_or(|a| f.path.as_str() > a.as_str()))
    {
        let Some(node) = filter.file(f) else { continue };
        if files.len() == limit {
            next_cursor = files.last().map(|n: &FileNode| encode_cursor(&n.path));
            break;
        }
        files.push(node);
    }
    Ok(axum::Json(TreePage { files, next_cursor }))
}

/// A path cursor as hex, so it is one opaque token in a URL.
fn encode_cursor(path: &str) -> String {
    hex::encode(path)
}

fn decode_cursor(c: &str) -> ApiResult<String> {
    hex::decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::bad_request("cursor is not one this API gave"))
}

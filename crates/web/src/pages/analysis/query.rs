//! The analysis page's state, all in its URL: tab, view, filters, page, opened file,
//! compared analysis, document and language.

use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use serde::{Deserialize, Serialize};

use crate::pages::error::{PageError, PageResult};

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

pub fn query(q: Result<Query<AnalysisQuery>, QueryRejection>) -> PageResult<AnalysisQuery> {
    q.map(|Query(q)| q)
        .map_err(|_| PageError::bad_request("this address's query is malformed"))
}

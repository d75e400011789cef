//! Pages about one spec document version, beside its Spec tab: what changed since the
//! version before ([`diff`], `GET /documents/{id}/diff`) and what it cost in model calls
//! ([`cost`], `GET /documents/{id}/cost`). Both read what the API serves
//! (`GET /api/v1/documents/{id}/diff`, the stored usage rows) after the API's owner check:
//! another owner's document is "not found".

pub mod cost;
pub mod diff;

use axum::response::IntoResponse;
use maud::{html, Markup};
use specline_app::store::DocumentRecord;

use crate::layout::{self, Section};
use crate::pages::error::{PageError, PageResult};
use crate::session::Viewer;
use crate::WebState;

/// A document id from the path: anything but a positive number does not exist.
fn document_id(raw: &str) -> Result<i64, PageError> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(PageError::not_found)
}

/// The document `raw` names, if the viewer may see it.
async fn load(state: &WebState, viewer: &Viewer, raw: &str) -> PageResult<DocumentRecord> {
    let id = document_id(raw)?;
    Ok(specline_api::access::document(&state.api, &viewer.caller, id).await?)
}

/// A document page: its heading and links, then `body`.
fn page(
    state: &WebState,
    viewer: &Viewer,
    record: &DocumentRecord,
    here: Page,
    body: Markup,
) -> PageResult {
    let heading = here.heading();
    let content = html! {
        (head(heading, record, here))
        (body)
    };
    Ok(layout::page_with(
        state,
        viewer,
        Section::None,
        &title(heading, record),
        &["analysis.css"],
        content,
    )
    .into_response())
}

/// The page title: `Cost · shop · v3 (en)`.
fn title(what: &str, d: &DocumentRecord) -> String {
    format!(
        "{what} · {} · v{} ({})",
        crate::pages::analysis::header::short_repository(&d.head.repository),
        d.head.version,
        d.head.language
    )
}

/// Heading and links shared by the document pages: back to the version in its Spec tab,
/// and to the other page.
fn head(heading: &str, d: &DocumentRecord, here: Page) -> Markup {
    let spec = format!(
        "/analyses/{}?tab=spec&doc={}",
        d.head.analysis_id, d.head.id
    );
    html! {
        div.document-head {
            h1 { (heading) }
            p.muted {
                (d.head.repository) " · version " (d.head.version) " (" (d.head.language) ") · "
                (d.head.generator_kind) " " (d.head.model) " · "
                (d.head.created_at.format("%Y-%m-%d %H:%M UTC"))
            }
            nav.document-links aria-label="This version" {
                a href=(spec) { "Spec" }
                " · "
                @if here == Page::Diff { span aria-current="page" { "What changed" } }
                @else { a href=(diff_href(d.head.id)) { "What changed" } }
                " · "
                @if here == Page::Cost { span aria-current="page" { "Cost" } }
                @else { a href=(cost_href(d.head.id)) { "Cost" } }
            }
        }
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Page {
    Diff,
    Cost,
}

impl Page {
    fn heading(self) -> &'static str {
        match self {
            Page::Diff => "What changed",
            Page::Cost => "Cost",
        }
    }
}

/// Where a version's diff page is.
pub fn diff_href(id: i64) -> String {
    format!("/documents/{id}/diff")
}

/// Where a version's cost page is.
pub fn cost_href(id: i64) -> String {
    format!("/documents/{id}/cost")
}

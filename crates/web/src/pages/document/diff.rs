//! `GET /documents/{id}/diff`: what changed in a version against the one before it —
//! behaviors added, removed, reworded and moved between features — from the diff stored
//! when the version was made (the data of `GET /api/v1/documents/{id}/diff`). A first
//! version has none and says so.
//!
//! Scale: each list shows at most [`LISTED`] entries and says how many more there are, so a
//! version that rewrote a whole repository still makes a page of bounded size.

use axum::extract::{Path, State};
use maud::{html, Markup};
use specline_api::error::ApiError;
use specline_specdoc_model::diff::{Changed, DiffBehavior, DocumentDiff, Place};

use super::{load, page, Page};
use crate::pages::analysis::paging::plural;
use crate::pages::error::{PageError, PageResult};
use crate::session::Viewer;
use crate::WebState;

/// Entries shown per list.
pub const LISTED: usize = 500;

pub async fn show(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> PageResult {
    let record = load(&state, &viewer, &raw).await?;
    let stored = state
        .api
        .parts()
        .app
        .document_diff(record.head.id)
        .await
        .map_err(ApiError::from)?;
    let diff = stored
        .map(|s| serde_json::from_value::<DocumentDiff>(s.diff.content))
        .transpose()
        .map_err(|e| {
            PageError::from(ApiError::internal(format!(
                "the stored diff cannot be read: {e}"
            )))
        })?;
    let body = html! {
        @match &diff {
            None => p.empty #no-diff {
                "This is the first version of this document in its language: there is nothing to compare it with."
            },
            Some(d) => (render(d)),
        }
    };
    page(&state, &viewer, &record, Page::Diff, body)
}

fn render(d: &DocumentDiff) -> Markup {
    let c = &d.counts;
    html! {
        p #diff-base { "Compared with version " (d.from_version) "." }
        ul.compare-counts.diff-counts aria-label="Counts" {
            li.added { strong #diff-added { (c.added) } " added" }
            li.removed { strong #diff-removed { (c.removed) } " removed" }
            li { strong #diff-reworded { (c.reworded) } " reworded" }
            li { strong #diff-moved { (c.moved) } " moved" }
            li.muted { strong #diff-unchanged { (c.unchanged) } " unchanged" }
        }
        (section("added", "Added", &d.added, |b| behavior(b, "added")))
        (section("removed", "Removed", &d.removed, |b| behavior(b, "removed")))
        (section("reworded", "Reworded", &d.reworded, reworded))
        (section("moved", "Moved", &d.moved, moved))
    }
}

/// One list of the diff, bounded, or nothing when it is empty.
fn section<T>(id: &str, heading: &str, items: &[T], item: impl Fn(&T) -> Markup) -> Markup {
    let more = items.len().saturating_sub(LISTED);
    html! {
        @if !items.is_empty() {
            section.card id=(format!("diff-{id}-list")) aria-labelledby=(format!("diff-{id}-heading")) {
                h2 id=(format!("diff-{id}-heading")) { (heading) }
                ul.diff-list {
                    @for x in items.iter().take(LISTED) { (item(x)) }
                }
                @if more > 0 {
                    p.muted { "And " (plural(more, "more behavior")) " not listed." }
                }
            }
        }
    }
}

fn place(p: &Place) -> Markup {
    html! { span.place { (p.domain) " › " (p.feature) } }
}

fn proof(test_name: &str, file: &str) -> Markup {
    html! { div.proof { "Test " span.test-name { (test_name) } " · " span.loc { (file) } } }
}

fn behavior(b: &DiffBehavior, class: &str) -> Markup {
    html! {
        li class=(class) {
            span.sentence { (b.sentence) }
            " " (place(&b.place))
            (proof(&b.test_name, &b.file))
        }
    }
}

fn reworded(c: &Changed) -> Markup {
    html! {
        li.reworded {
            del.sentence { (c.sentence_before) }
            " → "
            ins.sentence { (c.sentence_after) }
            " " (place(&c.after))
            @if c.before != c.after { " " span.muted { "(was in " (place(&c.before)) ")" } }
            (proof(&c.test_name, &c.file))
        }
    }
}

fn moved(c: &Changed) -> Markup {
    html! {
        li.moved {
            span.sentence { (c.sentence_after) }
            " " (place(&c.before)) " → " (place(&c.after))
            (proof(&c.test_name, &c.file))
        }
    }
}

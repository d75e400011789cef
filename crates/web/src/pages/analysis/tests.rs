//! The Tests tab: the inventory as a tree (directories → files → suites → tests) or a flat
//! list, filtered by status, framework, language and text (the API tree's own
//! [`TreeFilter`]), with counts that follow the filters.
//!
//! Scale: a repository of 50,000 tests must not make a page of megabytes. The tree pages by
//! files ([`tree::FILES_PER_PAGE`]), renders directories collapsed, and writes the tests of at
//! most [`tree::TESTS_BUDGET`] tests' worth of files; the other files link to `?open=<path>`,
//! which shows that file's tests (`analysis.js` fetches that page when such a file is
//! opened and moves the file's tests in, so no second renderer exists). The list pages by
//! [`list::LIST_PER_PAGE`] tests.

use std::collections::BTreeMap;

use maud::{html, Markup};
use specline_api::routes::analyses::{status_word, AnalysisView, FileNode, TreeFilter};
use specline_app::store::AnalysisRecord;
use specline_inventory_model::Inventory;

use super::compare::{self, Highlights};
use super::links::location;
use super::{list, tree};
use super::{option_label, AnalysisQuery};
use crate::pages::error::PageResult;
use crate::session::Viewer;
use crate::WebState;

/// At most this many matching tests: the tree opens every directory.
const OPEN_ALL_UNDER: u64 = 300;

const STATUSES: [&str; 5] = ["active", "skipped", "todo", "focused", "xfail"];

/// Tests counted under the filters: the total, and per facet under every *other* filter
/// (so each option of a selector says how many tests choosing it would show).
#[derive(Debug, Default)]
pub struct Facets {
    pub all: u64,
    pub matched: u64,
    /// What the runners would report for the matching tests: a test with statically known
    /// cases counts once per case.
    pub matched_runner: u64,
    pub by_status: BTreeMap<String, u64>,
    pub by_framework: BTreeMap<String, u64>,
    pub by_language: BTreeMap<String, u64>,
}

/// Counts every test of `inventory` against `filter`.
pub fn facets(inventory: &Inventory, filter: &TreeFilter) -> Facets {
    let mut f = Facets::default();
    for file in &inventory.files {
        f.by_framework.entry(file.framework.clone()).or_default();
        f.by_language.entry(file.language.clone()).or_default();
    }
    for s in STATUSES {
        f.by_status.entry(s.to_string()).or_default();
    }
    for r in inventory.walk_tests() {
        f.all += 1;
        let m = filter.check(&r);
        if m.all() {
            f.matched += 1;
            f.matched_runner = f.matched_runner.saturating_add(r.test.runner_count());
        }
        if m.framework && m.language && m.text {
            *f.by_status.entry(status_word(r.test.status)).or_default() += 1;
        }
        if m.status && m.language && m.text {
            *f.by_framework.entry(r.file.framework.clone()).or_default() += 1;
        }
        if m.status && m.framework && m.text {
            *f.by_language.entry(r.file.language.clone()).or_default() += 1;
        }
    }
    f
}

fn filter_of(q: &AnalysisQuery) -> TreeFilter {
    TreeFilter::new(
        q.status.clone(),
        q.framework.clone(),
        q.language.clone(),
        q.text(),
    )
}

pub async fn render(
    state: &WebState,
    viewer: &Viewer,
    record: &AnalysisRecord,
    commits: &[AnalysisView],
    q: &AnalysisQuery,
) -> PageResult<Markup> {
    let page = q.page()?;
    let base = q.base()?;
    let inventory = state
        .api
        .parts()
        .app
        .load_inventory(record.id)
        .await
        .map_err(specline_api::error::ApiError::from)?;
    let filter = filter_of(q);
    let counts = facets(&inventory, &filter);
    let diff = match base {
        Some(base) => Some(
            specline_api::routes::diff::compare(&state.api, &viewer.caller, record.id, base)
                .await?,
        ),
        None => None,
    };
    let highlights = diff.as_ref().map(Highlights::of).unwrap_or_default();
    let list = q.view.as_deref() == Some("list");
    // The tree's files with what passes the filter (the list walks the inventory itself).
    let files: Vec<FileNode> = if list {
        Vec::new()
    } else {
        inventory
            .files
            .iter()
            .filter_map(|f| filter.file(f))
            .collect()
    };
    let view = Ctx {
        record,
        q,
        highlights: &highlights,
    };
    Ok(html! {
        section.tests-tab aria-labelledby="tests-heading" {
            h2 #tests-heading .visually-hidden { "Tests" }
            (filters(record.id, q, &counts))
            (compare_form(record.id, commits, q))
            @if let Some(d) = &diff {
                (compare::summary(d, commits))
            }
            div.view-bar {
                p #test-count aria-live="polite" {
                    strong { (counts.matched) } " of " (counts.all) " tests"
                    @if counts.matched != counts.all { " match the filters" }
                }
                @if counts.matched_runner != counts.matched {
                    p #runner-count.muted title="Tests whose cases are literal in the source count once per case, as their runner reports them" {
                        (counts.matched_runner) " runner cases"
                    }
                }
                nav.view-toggle aria-label="Show as" {
                    @for (name, label) in [("tree", "Tree"), ("list", "List")] {
                        @let current = (name == "list") == list;
                        a href=(q.href(record.id, |x| { x.view = Some(name.into()); x.page = None; x.open = None; }))
                            aria-current=[current.then_some("page")] { (label) }
                    }
                }
            }
            @if list {
                (list::list_view(&view, &inventory, &filter, page))
            } @else {
                (tree::tree_view(&view, &files, page, counts.matched <= OPEN_ALL_UNDER))
            }
        }
    })
}

/// What every part of the tab needs.
pub struct Ctx<'a> {
    pub record: &'a AnalysisRecord,
    pub q: &'a AnalysisQuery,
    pub highlights: &'a Highlights,
}

impl Ctx<'_> {
    pub fn location(&self, path: &str, line: u32) -> Markup {
        location(
            &self.record.repository,
            self.record.commit.as_deref(),
            path,
            line,
        )
    }
}

fn filters(id: i64, q: &AnalysisQuery, c: &Facets) -> Markup {
    let select =
        |name: &str, label: &str, current: Option<&str>, options: &BTreeMap<String, u64>| {
            html! {
                div.field {
                    label for=(format!("f-{name}")) { (label) }
                    select id=(format!("f-{name}")) name=(name) data-autosubmit {
                        option value="" { "Any" }
                        @for (value, n) in options {
                            option value=(value) selected[current == Some(value.as_str())] {
                                (value) " (" (n) ")"
                            }
                        }
                    }
                }
            }
        };
    html! {
        form.filters method="get" action=(format!("/analyses/{id}")) role="search" aria-label="Filter tests" {
            input type="hidden" name="tab" value="tests";
            @if let Some(v) = &q.view { input type="hidden" name="view" value=(v); }
            @if let Some(b) = &q.base { input type="hidden" name="base" value=(b); }
            (select("status", "Status", q.status.as_deref(), &c.by_status))
            (select("framework", "Framework", q.framework.as_deref(), &c.by_framework))
            (select("language", "Language", q.language.as_deref(), &c.by_language))
            div.field.grow {
                label for="f-q" { "Text" }
                input #f-q type="search" name="q" value=[q.q.as_deref()]
                    placeholder="test, suite or file";
            }
            div.field.actions {
                button type="submit" { "Filter" }
                " "
                a href=(q.href(id, |x| { x.status = None; x.framework = None; x.language = None; x.q = None; x.page = None; x.open = None; })) { "Clear" }
            }
        }
    }
}

fn compare_form(id: i64, commits: &[AnalysisView], q: &AnalysisQuery) -> Markup {
    let others: Vec<&AnalysisView> = commits.iter().filter(|a| a.id != id).collect();
    html! {
        @if !others.is_empty() {
            form.compare-form method="get" action=(format!("/analyses/{id}")) {
                input type="hidden" name="tab" value="tests";
                @if let Some(v) = &q.view { input type="hidden" name="view" value=(v); }
                label for="base" { "Compare with" }
                select #base name="base" {
                    option value="" { "(no comparison)" }
                    @for a in others {
                        option value=(a.id) selected[q.base.as_deref() == Some(a.id.to_string().as_str())] {
                            (option_label(a))
                        }
                    }
                }
                button.secondary type="submit" { "Compare" }
            }
        }
    }
}

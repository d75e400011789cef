//! The Tests tab: the inventory as a tree (directories → files → suites → tests) or a flat
//! list, filtered by status, framework, language and text (the API tree's own
//! [`TreeFilter`]), with counts that follow the filters.
//!
//! Scale: a repository of 50,000 tests must not make a page of megabytes. The tree pages by
//! files ([`FILES_PER_PAGE`]), renders directories collapsed, and writes the tests of at
//! most [`TESTS_BUDGET`] tests' worth of files; the other files link to `?open=<path>`,
//! which shows that file's tests (`analysis.js` fetches that page when such a file is
//! opened and moves the file's tests in, so no second renderer exists). The list pages by
//! [`LIST_PER_PAGE`] tests.

use std::collections::BTreeMap;

use maud::{html, Markup};
use specline_api::routes::analyses::{
    status_word, AnalysisView, FileNode, SuiteNode, TestNode, TreeFilter,
};
use specline_app::store::AnalysisRecord;
use specline_inventory_model::{Inventory, TestRef};

use super::compare::{self, Highlights};
use super::links::location;
use super::{option_label, AnalysisQuery};
use crate::pages::error::PageResult;
use crate::session::Viewer;
use crate::WebState;

/// Files per page of the tree.
pub const FILES_PER_PAGE: usize = 200;
/// Tests written into one page of the tree (more are one click away).
pub const TESTS_BUDGET: usize = 2_000;
/// Tests per page of the flat list.
pub const LIST_PER_PAGE: usize = 500;
/// At most this many matching tests: the tree opens every directory.
const OPEN_ALL_UNDER: u64 = 300;

const STATUSES: [&str; 5] = ["active", "skipped", "todo", "focused", "xfail"];

/// Tests counted under the filters: the total, and per facet under every *other* filter
/// (so each option of a selector says how many tests choosing it would show).
#[derive(Debug, Default)]
pub struct Facets {
    pub all: u64,
    pub matched: u64,
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
                nav.view-toggle aria-label="Show as" {
                    @for (name, label) in [("tree", "Tree"), ("list", "List")] {
                        @let current = (name == "list") == list;
                        a href=(q.href(record.id, |x| { x.view = Some(name.into()); x.page = None; x.open = None; }))
                            aria-current=[current.then_some("page")] { (label) }
                    }
                }
            }
            @if list {
                (list_view(&view, &inventory, &filter, page))
            } @else {
                (tree_view(&view, &files, page, counts.matched <= OPEN_ALL_UNDER))
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
    fn location(&self, path: &str, line: u32) -> Markup {
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

/// Page links: previous, "page N of M", next.
pub fn pager(q: &AnalysisQuery, id: i64, page: usize, pages: usize, label: &str) -> Markup {
    html! {
        @if pages > 1 {
            nav.pager aria-label=(label) {
                @if page > 1 {
                    a rel="prev" href=(q.href(id, |x| { x.page = Some((page - 1).to_string()); x.open = None; })) { "← Previous" }
                }
                span { "Page " (page) " of " (pages) }
                @if page < pages {
                    a rel="next" href=(q.href(id, |x| { x.page = Some((page + 1).to_string()); x.open = None; })) { "Next →" }
                }
            }
        }
    }
}

fn test_item(v: &Ctx<'_>, file: &str, suites: &[&str], t: &TestNode) -> Markup {
    let change = v.highlights.of_test(file, suites, &t.name);
    html! {
        li.test.(change.map_or("", |c| c.class())) {
            span.badge.(t.status) { (t.status) }
            " "
            span.name { (t.name) }
            @if let Some(c) = change { " " span.change { (c.label()) } }
            " "
            (v.location(file, t.line))
        }
    }
}

fn suite_item<'a>(v: &Ctx<'_>, file: &'a str, path: &mut Vec<&'a str>, s: &'a SuiteNode) -> Markup {
    path.push(&s.name);
    let out = html! {
        li.suite {
            span.suite-name { (s.name) }
            ul {
                @for t in &s.tests { (test_item(v, file, path, t)) }
                @for child in &s.suites { (suite_item(v, file, path, child)) }
            }
        }
    };
    path.pop();
    out
}

fn count(f: &FileNode) -> usize {
    fn suite(s: &SuiteNode) -> usize {
        s.tests.len() + s.suites.iter().map(suite).sum::<usize>()
    }
    f.tests.len() + f.suites.iter().map(suite).sum::<usize>()
}

/// "1 test", "2 tests".
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn pages_of(n: usize, per: usize) -> usize {
    n.div_ceil(per).max(1)
}

fn tree_view(v: &Ctx<'_>, files: &[FileNode], page: usize, open_all: bool) -> Markup {
    let id = v.record.id;
    let pages = pages_of(files.len(), FILES_PER_PAGE);
    // An opened file without a page number: the page it is on.
    let opened_at =
        v.q.open
            .as_deref()
            .filter(|_| v.q.page.is_none())
            .and_then(|o| files.iter().position(|f| f.path == o));
    let page = opened_at
        .map_or(page, |i| i / FILES_PER_PAGE + 1)
        .min(pages);
    let shown = files
        .iter()
        .enumerate()
        .skip((page - 1) * FILES_PER_PAGE)
        .take(FILES_PER_PAGE);
    let open = v.q.open.as_deref();
    // Directories in path order (files come sorted by path); each file's tests are written
    // while the budget lasts, and always for the opened file.
    let mut budget = TESTS_BUDGET;
    let mut dirs: Vec<(&str, Vec<Shown<'_>>)> = Vec::new();
    for (index, file) in shown {
        let tests = count(file);
        let opened = open == Some(file.path.as_str());
        let render = opened || tests <= budget;
        if render && !opened {
            budget -= tests;
        }
        let entry = Shown {
            index,
            file,
            tests,
            opened,
            render,
        };
        let dir = file.path.rsplit_once('/').map_or("", |(d, _)| d);
        match dirs.last_mut() {
            Some((d, list)) if *d == dir => list.push(entry),
            _ => dirs.push((dir, vec![entry])),
        }
    }
    html! {
        @if files.is_empty() {
            p.empty { "No test matches these filters." }
        }
        (pager(v.q, id, page, pages, "Tree pages"))
        ul.tree {
            @for (dir, dir_files) in &dirs {
                @let dir_open = open_all
                    || open.is_some_and(|o| o.rsplit_once('/').map_or("", |(d, _)| d) == *dir)
                    || dir_files.iter().any(|e| v.highlights.touches_file(&e.file.path));
                li.dir {
                    details open[dir_open] {
                        summary {
                            span.dir-name { (if dir.is_empty() { "(root)" } else { dir }) "/" }
                            " " span.muted { (plural(dir_files.len(), "file")) }
                        }
                        ul {
                            @for &Shown { index: i, file: f, tests: n, opened: this_open, render } in dir_files {
                                li.file.changed-file[v.highlights.touches_file(&f.path)] id=(format!("file-{i}")) {
                                    @let open_url = v.q.href(id, |x| { x.open = Some(f.path.clone()); x.page = Some(page.to_string()); });
                                    details open[this_open || open_all] data-open-url=[(!render).then_some(open_url.as_str())] {
                                        summary {
                                            span.file-name { (f.path.rsplit_once('/').map_or(f.path.as_str(), |(_, n)| n)) }
                                            " " span.badge.fw { (f.framework) }
                                            " " span.muted { (plural(n, "test")) }
                                        }
                                        @if render {
                                            ul {
                                                @for t in &f.tests { (test_item(v, &f.path, &[], t)) }
                                                @for s in &f.suites { (suite_item(v, &f.path, &mut Vec::new(), s)) }
                                            }
                                        } @else {
                                            p.more {
                                                a href=(format!("{open_url}#file-{i}")) {
                                                    "Show its " (n) " tests"
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        (pager(v.q, id, page, pages, "Tree pages"))
    }
}

/// A file on a page of the tree: its place among the matching files, its matching tests,
/// whether it was opened (`?open=`) and whether its tests are written into the page.
struct Shown<'a> {
    index: usize,
    file: &'a FileNode,
    tests: usize,
    opened: bool,
    render: bool,
}

/// The flat list: the inventory's own walk order, kept by the same filter as the tree.
fn list_view(v: &Ctx<'_>, inventory: &Inventory, filter: &TreeFilter, page: usize) -> Markup {
    let all: Vec<TestRef<'_>> = inventory
        .walk_tests()
        .into_iter()
        .filter(|r| filter.check(r).all())
        .collect();
    let pages = pages_of(all.len(), LIST_PER_PAGE);
    let page = page.min(pages);
    html! {
        @if all.is_empty() {
            p.empty { "No test matches these filters." }
        } @else {
            (pager(v.q, v.record.id, page, pages, "List pages"))
            div.table-wrap {
                table.test-list {
                    thead { tr { th { "Status" } th { "Test" } th { "Location" } th { "Framework" } } }
                    tbody {
                        @for r in all.iter().skip((page - 1) * LIST_PER_PAGE).take(LIST_PER_PAGE) {
                            @let change = v.highlights.of_test(&r.file.path, &r.suite_path, &r.test.name);
                            @let status = status_word(r.test.status);
                            tr class=[change.map(|c| c.class())] {
                                td { span.badge.(status) { (status) } }
                                td {
                                    @for s in &r.suite_path { span.muted { (s) " › " } }
                                    (r.test.name)
                                    @if let Some(c) = change { " " span.change { (c.label()) } }
                                }
                                td { (v.location(&r.file.path, r.test.location.start_line)) }
                                td { (r.file.framework) " · " (r.file.language) }
                            }
                        }
                    }
                }
            }
            (pager(v.q, v.record.id, page, pages, "List pages"))
        }
    }
}

//! The Tests tab's tree: directories → files → suites → tests, a page of files at a time,
//! with at most [`TESTS_BUDGET`] tests written into a page; a file past the budget links to
//! `?open=<path>` (which `analysis.js` fetches in place).

use maud::{html, Markup};
use specline_api::routes::analyses::{FileNode, SuiteNode, TestNode};

use super::cases::cases_badge;
use super::paging::{pager, pages_of, plural};
use super::tests::Ctx;

/// Files per page of the tree.
pub const FILES_PER_PAGE: usize = 200;
/// Tests written into one page of the tree (more are one click away).
pub const TESTS_BUDGET: usize = 2_000;

fn test_item(v: &Ctx<'_>, file: &str, suites: &[&str], t: &TestNode) -> Markup {
    let change = v.highlights.of_test(file, suites, &t.name);
    html! {
        li.test.(change.map_or("", |c| c.class())) {
            span.badge.(t.status) { (t.status) }
            " "
            span.name { (t.name) }
            @if let Some(c) = &t.cases { " " (cases_badge(c.count, &c.names)) }
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

pub fn tree_view(v: &Ctx<'_>, files: &[FileNode], page: usize, open_all: bool) -> Markup {
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
                                            @if f.runner_count != f.test_count {
                                                " " span.muted.runner-count title="What the runner reports for the whole file" {
                                                    "(" (f.runner_count) " runner cases in " (plural(f.test_count as usize, "test")) ")"
                                                }
                                            }
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

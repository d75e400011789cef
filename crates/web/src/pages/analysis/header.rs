//! The analysis page's header: repository, state and commit, the commit selector over the
//! repository's analyses, and the two tabs.

use maud::{html, Markup};
use specline_api::routes::analyses::AnalysisView;
use specline_app::store::AnalysisRecord;

use super::AnalysisQuery;

/// The repository without its scheme, for titles.
pub fn short_repository(repository: &str) -> &str {
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

pub fn header(
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
                    " · " (stats.tests) " tests"
                    @if stats.runner_tests > stats.tests {
                        " (" (stats.runner_tests) " runner cases)"
                    }
                    " in " (stats.test_files) " files"
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

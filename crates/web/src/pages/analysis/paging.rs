//! Page links shared by the tabs: previous, "page N of M", next.

use maud::{html, Markup};

use super::AnalysisQuery;

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

/// "1 test", "2 tests".
pub fn plural(n: usize, noun: &str) -> String {
    format!("{n} {}", noun_for(n, noun))
}

/// The noun alone, for a count shown in its own element: "test" for 1, "tests" otherwise.
pub fn noun_for(n: usize, noun: &str) -> String {
    if n == 1 {
        noun.to_string()
    } else {
        format!("{noun}s")
    }
}

pub fn pages_of(n: usize, per: usize) -> usize {
    n.div_ceil(per).max(1)
}

//! A parameterised test's case count as a badge: the number its runner reports for the one
//! definition, with the runner's case names (when the source gives them) as its tooltip.

use maud::{html, Markup};

/// The tooltip lists at most this many names (the inventory keeps up to 100).
const NAMES_IN_TITLE: usize = 20;

/// "×3 cases", titled with the case names when known.
pub fn cases_badge(count: u64, names: &[String]) -> Markup {
    let title = if names.is_empty() {
        format!("The runner reports this test {count} times, once per case")
    } else {
        let mut t = names
            .iter()
            .take(NAMES_IN_TITLE)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        if names.len() > NAMES_IN_TITLE {
            t.push_str(", …");
        }
        t
    };
    html! {
        span.badge.cases title=(title) data-cases=(count) {
            "×" (count) @if count == 1 { " case" } @else { " cases" }
        }
    }
}

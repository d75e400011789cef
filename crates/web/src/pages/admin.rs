//! What the admin pages share: only admins see them (anyone else gets "not found", as the
//! pages do not exist for them), their sub-navigation, and time formatting.

use chrono::{DateTime, Utc};
use maud::{html, Markup};

use crate::pages::error::{PageError, PageResult};
use crate::session::Viewer;

/// Ok for an admin; a 404 page for anyone else.
pub fn admin_only(viewer: &Viewer) -> PageResult<()> {
    if viewer.is_admin() {
        Ok(())
    } else {
        Err(PageError::not_found())
    }
}

/// Which admin page is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Jobs,
    Queues,
    Runs,
}

/// The admin pages' own navigation.
pub fn tabs(current: Tab) -> Markup {
    let items = [
        (Tab::Jobs, "/admin/jobs", "Jobs"),
        (Tab::Queues, "/admin/queues", "Queues"),
        (Tab::Runs, "/admin/runs", "Runs"),
    ];
    html! {
        nav.admin-tabs aria-label="Operations" {
            ul {
                @for (tab, href, label) in items {
                    li {
                        @if tab == current {
                            a href=(href) aria-current="page" { (label) }
                        } @else {
                            a href=(href) { (label) }
                        }
                    }
                }
            }
        }
    }
}

/// A timestamp as people read it, in UTC, in a `<time>` element.
pub fn time(t: DateTime<Utc>) -> Markup {
    html! { time datetime=(t.to_rfc3339()) { (t.format("%Y-%m-%d %H:%M:%S UTC")) } }
}

/// A count with thousands separators.
pub fn number(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(number(0), "0");
        assert_eq!(number(999), "999");
        assert_eq!(number(10_000), "10,000");
        assert_eq!(number(5_000_000), "5,000,000");
        assert_eq!(number(-1234), "-1,234");
    }
}

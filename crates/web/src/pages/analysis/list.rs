//! The Tests tab's flat list: one row per test, [`LIST_PER_PAGE`] a page.

use maud::{html, Markup};
use specline_api::routes::analyses::{status_word, TreeFilter};
use specline_inventory_model::{Inventory, TestRef};

use super::cases::cases_badge;
use super::paging::{pager, pages_of};
use super::tests::Ctx;

/// Tests per page of the flat list.
pub const LIST_PER_PAGE: usize = 500;

/// The flat list: the inventory's own walk order, kept by the same filter as the tree.
pub fn list_view(v: &Ctx<'_>, inventory: &Inventory, filter: &TreeFilter, page: usize) -> Markup {
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
                                    @if let Some(c) = &r.test.cases { " " (cases_badge(c.count, &c.names)) }
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

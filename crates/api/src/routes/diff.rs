//! `GET /api/v1/analyses/{id}/diff?base=ID`: what changed between two analyses of one
//! repository — tests added, removed, moved (same suite path and name, another file) and
//! whose status changed — with totals per framework on each side.
//!
//! A test is identified by (file, suite path, name); a name that occurs twice under one
//! suite path (parametrised, say) is counted once per occurrence in order.

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use serde::{Deserialize, Serialize};
use specline_inventory_model::Inventory;
use utoipa::{IntoParams, ToSchema};

use crate::access;
use crate::auth::Caller;
use crate::body::{Path, Query};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ApiState;

/// Changes listed per kind at most (the counts are always complete).
const MAX_LISTED: usize = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffParams {
    /// The earlier analysis to compare with (same repository).
    pub base: i64,
}

/// One test on one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TestRefView {
    pub file: String,
    pub suites: Vec<String>,
    pub name: String,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MovedTest {
    pub from: TestRefView,
    pub to: TestRefView,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatusChange {
    pub test: TestRefView,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct DiffCounts {
    pub added: usize,
    pub removed: usize,
    pub moved: usize,
    pub status_changed: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AnalysisDiff {
    pub base: i64,
    pub head: i64,
    pub counts: DiffCounts,
    pub added: Vec<TestRefView>,
    pub removed: Vec<TestRefView>,
    pub moved: Vec<MovedTest>,
    pub status_changed: Vec<StatusChange>,
    /// Tests per framework in the base analysis.
    pub base_totals: BTreeMap<String, u64>,
    /// Tests per framework in this analysis.
    pub head_totals: BTreeMap<String, u64>,
}

/// Every test of an inventory, with its framework.
fn tests(inv: &Inventory) -> (Vec<TestRefView>, BTreeMap<String, u64>) {
    let mut totals = BTreeMap::new();
    let mut out = Vec::new();
    for r in inv.walk_tests() {
        *totals.entry(r.file.framework.clone()).or_insert(0) += 1;
        out.push(TestRefView {
            file: r.file.path.clone(),
            suites: r.suite_path.iter().map(|s| s.to_string()).collect(),
            name: r.test.name.clone(),
            status: crate::routes::analyses::status_word(r.test.status),
        });
    }
    (out, totals)
}

type Key = (String, Vec<String>, String);

fn key(t: &TestRefView) -> Key {
    (t.file.clone(), t.suites.clone(), t.name.clone())
}

/// What [`diff`] found.
pub struct Changes {
    pub counts: DiffCounts,
    pub added: Vec<TestRefView>,
    pub removed: Vec<TestRefView>,
    pub moved: Vec<MovedTest>,
    pub status_changed: Vec<StatusChange>,
}

/// Compare two lists of tests.
pub fn diff(base: Vec<TestRefView>, head: Vec<TestRefView>) -> Changes {
    // Occurrences per key, in order, so duplicates pair up one by one.
    let mut remaining: HashMap<Key, Vec<TestRefView>> = HashMap::new();
    for t in base {
        remaining.entry(key(&t)).or_default().push(t);
    }
    for v in remaining.values_mut() {
        v.reverse();
    }
    let mut added = Vec::new();
    let mut changed = Vec::new();
    for t in head {
        match remaining.get_mut(&key(&t)).and_then(Vec::pop) {
            Some(old) if old.status != t.status => changed.push(StatusChange {
                from: old.status,
                to: t.status.clone(),
                test: t,
            }),
            Some(_) => {}
            None => added.push(t),
        }
    }
    let mut removed: Vec<TestRefView> = remaining.into_values().flatten().collect();
    removed.sort_by_key(key);
    // A removed and an added test with the same suite path and name moved files.
    let mut by_place: HashMap<(Vec<String>, String), Vec<usize>> = HashMap::new();
    for (i, t) in removed.iter().enumerate() {
        by_place
            .entry((t.suites.clone(), t.name.clone()))
            .or_default()
            .push(i);
    }
    let mut moved = Vec::new();
    let mut moved_from = vec![false; removed.len()];
    let mut still_added = Vec::new();
    for t in added {
        let slot = by_place
            .get_mut(&(t.suites.clone(), t.name.clone()))
            .and_then(|v| {
                if v.is_empty() {
                    None
                } else {
                    Some(v.remove(0))
                }
            });
        match slot {
            Some(i) => {
                moved_from[i] = true;
                moved.push(MovedTest {
                    from: removed[i].clone(),
                    to: t,
                });
            }
            None => still_added.push(t),
        }
    }
    let removed: Vec<TestRefView> = removed
        .into_iter()
        .zip(moved_from)
        .filter_map(|(t, m)| (!m).then_some(t))
        .collect();
    let counts = DiffCounts {
        added: still_added.len(),
        removed: removed.len(),
        moved: moved.len(),
        status_changed: changed.len(),
    };
    Changes {
        counts,
        added: still_added,
        removed,
        moved,
        status_changed: changed,
    }
}

/// What changed since another analysis of the same repository.
#[utoipa::path(get, path = "/api/v1/analyses/{id}/diff", tag = "analyses",
    params(("id" = i64, Path), DiffParams),
    responses((status = 200, body = AnalysisDiff), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(p): Query<DiffParams>,
) -> ApiResult<axum::Json<AnalysisDiff>> {
    Ok(axum::Json(compare(&state, &caller, id, p.base).await?))
}

/// What changed from analysis `base` to analysis `head` (both the caller's, of one
/// repository), each list cut to its first 1,000: what `GET /api/v1/analyses/{id}/diff`
/// answers, and what the web UI's compare view shows.
pub async fn compare(
    state: &ApiState,
    caller: &Caller,
    head: i64,
    base: i64,
) -> ApiResult<AnalysisDiff> {
    let head = access::analysis(state, caller, head).await?;
    let base = access::analysis(state, caller, base).await?;
    if base.repository != head.repository {
        return Err(ApiError::bad_request(
            "both analyses must be of the same repository",
        ));
    }
    let app = &state.inner.parts.app;
    let (base_tests, base_totals) = tests(&app.load_inventory(base.id).await?);
    let (head_tests, head_totals) = tests(&app.load_inventory(head.id).await?);
    let mut c = diff(base_tests, head_tests);
    c.added.truncate(MAX_LISTED);
    c.removed.truncate(MAX_LISTED);
    c.moved.truncate(MAX_LISTED);
    c.status_changed.truncate(MAX_LISTED);
    Ok(AnalysisDiff {
        base: base.id,
        head: head.id,
        counts: c.counts,
        added: c.added,
        removed: c.removed,
        moved: c.moved,
        status_changed: c.status_changed,
        base_totals,
        head_totals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(file: &str, suites: &[&str], name: &str, status: &str) -> TestRefView {
        TestRefView {
            file: file.into(),
            suites: suites.iter().map(|s| s.to_string()).collect(),
            name: name.into(),
            status: status.into(),
        }
    }

    #[test]
    fn added_removed_moved_and_status_changes_are_told_apart() {
        let base = vec![
            t("a.ts", &["Cart"], "adds", "active"),
            t("a.ts", &["Cart"], "removes", "active"),
            t("a.ts", &["Cart"], "totals", "active"),
            t("b.ts", &[], "gone", "active"),
            t("c.ts", &["P"], "case", "active"),
            t("c.ts", &["P"], "case", "active"),
        ];
        let head = vec![
            t("a.ts", &["Cart"], "adds", "active"),
            t("a.ts", &["Cart"], "removes", "skipped"),
            t("cart/totals.ts", &["Cart"], "totals", "active"),
            t("d.ts", &[], "new", "todo"),
            t("c.ts", &["P"], "case", "active"),
        ];
        let Changes {
            counts,
            added,
            removed,
            moved,
            status_changed: changed,
        } = diff(base, head);
        assert_eq!(
            (
                counts.added,
                counts.removed,
                counts.moved,
                counts.status_changed
            ),
            (1, 2, 1, 1)
        );
        assert_eq!(added, [t("d.ts", &[], "new", "todo")]);
        assert_eq!(
            removed,
            [
                t("b.ts", &[], "gone", "active"),
                t("c.ts", &["P"], "case", "active")
            ]
        );
        assert_eq!(moved[0].from.file, "a.ts");
        assert_eq!(moved[0].to.file, "cart/totals.ts");
        assert_eq!(
            (changed[0].from.as_str(), changed[0].to.as_str()),
            ("active", "skipped")
        );
    }
}

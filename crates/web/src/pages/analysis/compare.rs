//! The compare view of two commits: what the API's diff names (tests added, removed, moved
//! and whose status changed, `specline_api::routes::diff::compare`), summarised above the
//! tree and highlighted in it.

use std::collections::{HashMap, HashSet};

use maud::{html, Markup};
use specline_api::routes::analyses::AnalysisView;
use specline_api::routes::diff::{AnalysisDiff, TestRefView};

use super::option_label;

/// Changes shown per kind in the summary (the counts are complete).
const SHOWN: usize = 200;

/// How a test of the shown commit differs from the base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Added,
    Moved { from: String },
    Status { from: String },
}

impl Change {
    pub fn class(&self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Moved { .. } => "moved",
            Change::Status { .. } => "status-changed",
        }
    }

    pub fn label(&self) -> String {
        match self {
            Change::Added => "new".into(),
            Change::Moved { from } => format!("moved from {from}"),
            Change::Status { from } => format!("was {from}"),
        }
    }
}

type Key = (String, Vec<String>, String);

/// The changed tests of the shown commit, by (file, suite path, name).
#[derive(Debug, Default)]
pub struct Highlights {
    tests: HashMap<Key, Change>,
    files: HashSet<String>,
}

impl Highlights {
    pub fn of(d: &AnalysisDiff) -> Highlights {
        let mut h = Highlights::default();
        let mut put = |t: &TestRefView, c: Change| {
            h.files.insert(t.file.clone());
            h.tests
                .insert((t.file.clone(), t.suites.clone(), t.name.clone()), c);
        };
        for t in &d.added {
            put(t, Change::Added);
        }
        for m in &d.moved {
            put(
                &m.to,
                Change::Moved {
                    from: m.from.file.clone(),
                },
            );
        }
        for s in &d.status_changed {
            put(
                &s.test,
                Change::Status {
                    from: s.from.clone(),
                },
            );
        }
        for t in &d.removed {
            h.files.insert(t.file.clone());
        }
        h
    }

    pub fn of_test(&self, file: &str, suites: &[&str], name: &str) -> Option<&Change> {
        if self.tests.is_empty() {
            return None;
        }
        let key = (
            file.to_string(),
            suites.iter().map(|s| s.to_string()).collect(),
            name.to_string(),
        );
        self.tests.get(&key)
    }

    pub fn touches_file(&self, path: &str) -> bool {
        self.files.contains(path)
    }
}

fn name(t: &TestRefView) -> String {
    let mut s = String::new();
    for suite in &t.suites {
        s.push_str(suite);
        s.push_str(" › ");
    }
    s.push_str(&t.name);
    s
}

/// The summary above the tree: counts, then each kind's tests.
pub fn summary(d: &AnalysisDiff, commits: &[AnalysisView]) -> Markup {
    let base = commits
        .iter()
        .find(|a| a.id == d.base)
        .map(option_label)
        .unwrap_or_else(|| format!("#{}", d.base));
    let c = &d.counts;
    let more = |listed: usize, total: usize| {
        html! { @if total > listed.min(SHOWN) { li.muted { "… and " (total - listed.min(SHOWN)) " more" } } }
    };
    html! {
        section.compare #compare aria-labelledby="compare-heading" {
            h3 #compare-heading { "Compared with " (base) }
            ul.compare-counts {
                li.added { strong #added-count { (c.added) } " added" }
                li.removed { strong #removed-count { (c.removed) } " removed" }
                li.moved { strong { (c.moved) } " moved" }
                li.status-changed { strong #changed-count { (c.status_changed) } " changed status" }
            }
            @if c.added > 0 {
                details.changes #added open[c.added <= 20] {
                    summary { "Added tests" }
                    ul { @for t in d.added.iter().take(SHOWN) { li.added { (name(t)) " " code { (t.file) } } } (more(d.added.len(), c.added)) }
                }
            }
            @if c.removed > 0 {
                details.changes #removed open[c.removed <= 20] {
                    summary { "Removed tests" }
                    ul { @for t in d.removed.iter().take(SHOWN) { li.removed { (name(t)) " " code { (t.file) } } } (more(d.removed.len(), c.removed)) }
                }
            }
            @if c.moved > 0 {
                details.changes open[c.moved <= 20] {
                    summary { "Moved tests" }
                    ul { @for m in d.moved.iter().take(SHOWN) { li.moved { (name(&m.to)) " " code { (m.from.file) } " → " code { (m.to.file) } } } (more(d.moved.len(), c.moved)) }
                }
            }
            @if c.status_changed > 0 {
                details.changes #status-changed open[c.status_changed <= 20] {
                    summary { "Tests whose status changed" }
                    ul { @for s in d.status_changed.iter().take(SHOWN) { li.status-changed { (name(&s.test)) ": " (s.from) " → " (s.to) } } (more(d.status_changed.len(), c.status_changed)) }
                }
            }
        }
    }
}

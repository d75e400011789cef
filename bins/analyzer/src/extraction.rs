//! The analyzer's extractor as a rollout (`analyze_repository.extract`): a candidate
//! extractor (a new framework definition, a changed query) runs beside the current one on
//! real analyses, in shadow first, and its per-file difference is recorded: tests added,
//! removed, renamed, and whose status changed.
//!
//! The candidate compiled in is [`Extractor::DropSkipped`], which leaves skipped tests out
//! of the inventory. The rollout is `off` until an operator sets it
//! (`specline-enqueue rollout set analyze_repository.extract shadow`); in shadow the
//! candidate scans the same checkout without storing anything, and in `percent`/`full` it
//! is the extractor whose files are stored. The rollout key is the repository, so a
//! repository keeps one extractor (and its reused analyses stay consistent) while the
//! percentage holds.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use specline_inventory_model::{Status, Suite, Test, TestFile};
use specline_queue::rollout::{Comparison, Rollout};

use specline_app::AnalysisSummary;

/// The rollout's name.
pub const EXTRACT_ROLLOUT: &str = "analyze_repository.extract";

/// A way of turning a scanned file into the file stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extractor {
    /// What the parser extracts.
    Current,
    /// The candidate: skipped tests are left out.
    DropSkipped,
}

fn drop_skipped_tests(tests: &mut Vec<Test>, suites: &mut [Suite]) {
    tests.retain(|t| t.status != Status::Skipped);
    for s in suites {
        drop_skipped_tests(&mut s.tests, &mut s.suites);
    }
}

impl Extractor {
    pub fn apply(self, mut file: TestFile) -> TestFile {
        match self {
            Extractor::Current => file,
            Extractor::DropSkipped => {
                drop_skipped_tests(&mut file.tests, &mut file.suites);
                file
            }
        }
    }
}

/// One test as the comparison sees it: its full name (suites joined with ` > `), its line
/// and its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestLine {
    pub name: String,
    pub line: u32,
    pub status: Status,
}

/// A file's tests, in source order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileTests {
    pub path: String,
    pub tests: Vec<TestLine>,
}

fn walk(prefix: &str, tests: &[Test], suites: &[Suite], out: &mut Vec<TestLine>) {
    let full = |name: &str| {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix} > {name}")
        }
    };
    for t in tests {
        out.push(TestLine {
            name: full(&t.name),
            line: t.location.start_line,
            status: t.status,
        });
    }
    for s in suites {
        walk(&full(&s.name), &s.tests, &s.suites, out);
    }
}

impl FileTests {
    pub fn of(file: &TestFile) -> FileTests {
        let mut tests = Vec::new();
        walk("", &file.tests, &file.suites, &mut tests);
        tests.sort_by(|a, b| a.line.cmp(&b.line).then_with(|| a.name.cmp(&b.name)));
        FileTests {
            path: file.path.clone(),
            tests,
        }
    }
}

/// What one side of the rollout extracted; `summary` is set when it stored its analysis
/// (a shadow candidate stores nothing).
#[derive(Debug, Clone)]
pub struct Extracted {
    pub summary: Option<AnalysisSummary>,
    pub files: Vec<FileTests>,
}

#[derive(Debug, Serialize)]
struct Renamed {
    from: String,
    to: String,
    line: u32,
}

#[derive(Debug, Serialize)]
struct StatusChanged {
    test: String,
    from: Status,
    to: Status,
}

#[derive(Debug, Default, Serialize)]
struct FileDiff {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    added: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    removed: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    renamed: Vec<Renamed>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    status_changed: Vec<StatusChanged>,
}

impl FileDiff {
    fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.renamed.is_empty()
            && self.status_changed.is_empty()
    }
}

/// The per-file difference of two extractions: for each file whose tests differ, the tests
/// only the candidate has (`added`), only the primary has (`removed`), at the same line
/// under another name (`renamed`), or with another status (`status_changed`). A file only
/// one side found lists all its tests as added or removed. Names are listed in order.
/// Similarity: the share of tests
/// (of the larger side) found alike by both.
pub fn compare(primary: &Extracted, candidate: &Extracted) -> Comparison {
    let index = |files: &[FileTests]| -> BTreeMap<String, Vec<TestLine>> {
        files
            .iter()
            .map(|f| (f.path.clone(), f.tests.clone()))
            .collect()
    };
    let (p, c) = (index(&primary.files), index(&candidate.files));
    let paths: BTreeSet<&String> = p.keys().chain(c.keys()).collect();
    let mut diffs: BTreeMap<String, FileDiff> = BTreeMap::new();
    let mut alike = 0usize;
    for path in paths {
        let none = Vec::new();
        let (pt, ct) = (p.get(path).unwrap_or(&none), c.get(path).unwrap_or(&none));
        let mut d = FileDiff::default();
        let by_name = |ts: &[TestLine]| -> BTreeMap<(String, u32), Status> {
            ts.iter()
                .map(|t| ((t.name.clone(), t.line), t.status))
                .collect()
        };
        let (pn, cn) = (by_name(pt), by_name(ct));
        let mut removed: Vec<(String, u32)> = Vec::new();
        for (k, status) in &pn {
            match cn.get(k) {
                Some(s) if s == status => alike += 1,
                Some(s) => d.status_changed.push(StatusChanged {
                    test: k.0.clone(),
                    from: *status,
                    to: *s,
                }),
                None => removed.push(k.clone()),
            }
        }
        let mut added: Vec<(String, u32)> = cn
            .keys()
            .filter(|k| !pn.contains_key(*k))
            .cloned()
            .collect();
        // A test gone and one new at the same line: renamed.
        removed.retain(
            |(name, line)| match added.iter().position(|(_, l)| l == line) {
                Some(i) => {
                    let (to, _) = added.remove(i);
                    d.renamed.push(Renamed {
                        from: name.clone(),
                        to,
                        line: *line,
                    });
                    false
                }
                None => true,
            },
        );
        d.removed = removed.into_iter().map(|(n, _)| n).collect();
        d.added = added.into_iter().map(|(n, _)| n).collect();
        if !d.is_empty() {
            diffs.insert(path.clone(), d);
        }
    }
    if diffs.is_empty() {
        return Comparison::Match;
    }
    let count = |files: &[FileTests]| files.iter().map(|f| f.tests.len()).sum::<usize>();
    let larger = count(&primary.files).max(count(&candidate.files)).max(1);
    Comparison::Mismatch {
        similarity: alike as f64 / larger as f64,
        diff: serde_json::json!({ "files": diffs }),
    }
}

/// The rollout of the extractor, with its comparator.
pub fn rollout() -> Rollout<Extracted> {
    Rollout::new(EXTRACT_ROLLOUT, compare)
}

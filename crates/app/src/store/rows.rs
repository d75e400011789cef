//! The backend-neutral half of both drivers: the inventory tree flattened into rows for
//! writing, the rows assembled back into the tree when reading, and the text forms of the
//! enums. Keeping this here means PostgreSQL and SQLite cannot disagree on how a tree maps to
//! rows, only on how the rows travel.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use specline_inventory_model::{
    Cases, ErrorPhase, FileError, Inventory, Location, Status, Suite, Test, TestFile,
    SCHEMA_VERSION,
};
use specline_inventory_model::{ScanStats, Source};

use super::{
    AnalysisRecord, AnalysisState, DocumentHead, DocumentRecord, Result, StoreError,
    WatchedRepository,
};

/// Columns read by [`analysis`]. The error count is counted, not kept: it cannot drift from
/// the rows, and a restarted analysis starts from zero by deleting them.
pub(super) const ANALYSIS_COLUMNS: &str = "a.id, a.repository, a.commit_sha, a.branch, \
    a.commit_time, a.parser_version, a.run_id, a.state, a.stats, \
    (SELECT count(*) FROM specline_inventory_errors e WHERE e.analysis_id = a.id), \
    a.failure, a.started_at, a.finished_at";
/// The columns of a document's head, without its content.
macro_rules! document_head_columns {
    () => {
        "id, analysis_id, repository, language, version, generator_kind, model, prompt_version, \
         behaviors, run_id, created_at"
    };
}
/// Columns read by [`document_head`].
pub(super) const DOCUMENT_HEAD_COLUMNS: &str = document_head_columns!();
/// Columns read by [`document`]: the head's, then the content.
pub(super) const DOCUMENT_COLUMNS: &str = concat!(document_head_columns!(), ", content");
/// Columns read by [`watched`].
pub(super) const WATCHED_COLUMNS: &str =
    "repository, branch, language, encrypted_token, created_at";
/// Columns read by [`loaded_file`].
pub(super) const FILE_COLUMNS: &str = "id, path, language, framework, domain_hints";
/// Columns read by [`loaded_suite`].
pub(super) const SUITE_COLUMNS: &str = "id, file_id, parent_id, position, name, start_line, \
    start_column, end_line, end_column, status, modifier";
/// Columns read by [`loaded_test`].
pub(super) const TEST_COLUMNS: &str = "file_id, suite_id, position, name, start_line, \
    start_column, end_line, end_column, status, modifier, dynamic, doc, case_count, case_names";
/// Columns read by [`file_error`].
pub(super) const ERROR_COLUMNS: &str = "path, phase, code, message";

/// A result row, as the record readers below need it. Each driver maps its own row type and
/// its storage of times (native or microseconds) and JSON (native or text); the readers are
/// then written once for both.
pub(super) trait RowRead {
    fn int(&self, i: usize) -> Result<i64>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>>;
    fn int32(&self, i: usize) -> Result<i32>;
    fn text(&self, i: usize) -> Result<String>;
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    fn flag(&self, i: usize) -> Result<bool>;
    fn opt_time(&self, i: usize) -> Result<Option<DateTime<Utc>>>;
    fn opt_json(&self, i: usize) -> Result<Option<serde_json::Value>>;

    fn time(&self, i: usize) -> Result<DateTime<Utc>> {
        self.opt_time(i)?
            .ok_or_else(|| StoreError::Corrupt(format!("column {i}: time is null")))
    }
    fn json(&self, i: usize) -> Result<serde_json::Value> {
        self.opt_json(i)?
            .ok_or_else(|| StoreError::Corrupt(format!("column {i}: JSON is null")))
    }
}

pub(super) fn analysis(r: &impl RowRead) -> Result<AnalysisRecord> {
    Ok(AnalysisRecord {
        id: r.int(0)?,
        repository: r.text(1)?,
        commit: r.opt_text(2)?,
        branch: r.opt_text(3)?,
        commit_time: r.opt_time(4)?,
        parser_version: r.text(5)?,
        run_id: r.opt_int(6)?,
        state: parse_state(&r.text(7)?)?,
        stats: r.opt_json(8)?.map(parse_stats).transpose()?,
        error_count: r.int(9)?,
        failure: r.opt_text(10)?,
        started_at: r.time(11)?,
        finished_at: r.opt_time(12)?,
    })
}

pub(super) fn document_head(r: &impl RowRead) -> Result<DocumentHead> {
    Ok(DocumentHead {
        id: r.int(0)?,
        analysis_id: r.int(1)?,
        repository: r.text(2)?,
        language: r.text(3)?,
        version: r.int32(4)?,
        generator_kind: r.text(5)?,
        model: r.text(6)?,
        prompt_version: r.text(7)?,
        behaviors: r.int(8)?,
        run_id: r.opt_int(9)?,
        created_at: r.time(10)?,
    })
}

pub(super) fn document(r: &impl RowRead) -> Result<DocumentRecord> {
    Ok(DocumentRecord {
        head: document_head(r)?,
        content: r.json(11)?,
    })
}

pub(super) fn watched(r: &impl RowRead) -> Result<WatchedRepository> {
    Ok(WatchedRepository {
        repository: r.text(0)?,
        branch: r.opt_text(1)?,
        language: r.text(2)?,
        encrypted_token: r.opt_text(3)?,
        created_at: r.time(4)?,
    })
}

pub(super) fn loaded_file(r: &impl RowRead) -> Result<LoadedFile> {
    Ok(LoadedFile {
        id: r.int(0)?,
        file: TestFile {
            path: r.text(1)?,
            language: r.text(2)?,
            framework: r.text(3)?,
            domain_hints: serde_json::from_value(r.json(4)?)
                .map_err(|e| StoreError::Corrupt(format!("domain hints: {e}")))?,
            suites: Vec::new(),
            tests: Vec::new(),
        },
    })
}

pub(super) fn loaded_suite(r: &impl RowRead) -> Result<LoadedSuite> {
    Ok(LoadedSuite {
        id: r.int(0)?,
        file_id: r.int(1)?,
        parent_id: r.opt_int(2)?,
        position: r.int(3)?,
        suite: Suite {
            name: r.text(4)?,
            location: location_at(r, 5)?,
            status: parse_status(&r.text(9)?)?,
            modifier: r.opt_text(10)?,
            suites: Vec::new(),
            tests: Vec::new(),
        },
    })
}

pub(super) fn loaded_test(r: &impl RowRead) -> Result<LoadedTest> {
    Ok(LoadedTest {
        file_id: r.int(0)?,
        suite_id: r.opt_int(1)?,
        position: r.int(2)?,
        test: Test {
            name: r.text(3)?,
            location: location_at(r, 4)?,
            status: parse_status(&r.text(8)?)?,
            modifier: r.opt_text(9)?,
            dynamic: r.flag(10)?,
            cases: cases_from(r.opt_int(12)?, r.opt_json(13)?)?,
            doc: r.opt_text(11)?,
        },
    })
}

pub(super) fn file_error(r: &impl RowRead) -> Result<FileError> {
    Ok(FileError {
        path: r.text(0)?,
        phase: parse_phase(&r.text(1)?)?,
        code: r.text(2)?,
        message: r.text(3)?,
    })
}

/// A test's cases as their two columns: the count (saturated at `i64::MAX`) and the names
/// as a JSON array (at most [`Cases::MAX_NAMES`] of them; `NULL` when there are none, so an
/// unnamed count costs no JSON). Both `NULL` for a test without known cases.
pub(super) fn cases_values(cases: Option<&Cases>) -> (Option<i64>, Option<serde_json::Value>) {
    let Some(c) = cases else {
        return (None, None);
    };
    let count = i64::try_from(c.count).unwrap_or(i64::MAX);
    let names = (!c.names.is_empty()).then(|| {
        serde_json::Value::Array(
            c.names
                .iter()
                .take(Cases::MAX_NAMES as usize)
                .map(|n| serde_json::Value::String(n.clone()))
                .collect(),
        )
    });
    (Some(count), names)
}

/// A test's cases from their two columns. A `NULL` count is "no cases known": a test
/// without literal cases, or any test stored before the columns existed (app migration 8).
fn cases_from(count: Option<i64>, names: Option<serde_json::Value>) -> Result<Option<Cases>> {
    let Some(count) = count else {
        return Ok(None);
    };
    let count =
        u64::try_from(count).map_err(|_| StoreError::Corrupt(format!("case count {count}")))?;
    let names = match names {
        None => Vec::new(),
        Some(v) => serde_json::from_value(v)
            .map_err(|e| StoreError::Corrupt(format!("case names: {e}")))?,
    };
    Ok(Some(Cases { count, names }))
}

/// A location from its four stored columns (stored as 64-bit so every `u32` fits).
fn location_at(r: &impl RowRead, first: usize) -> Result<Location> {
    let c = |i: usize| {
        let x = r.int(first + i)?;
        u32::try_from(x).map_err(|_| StoreError::Corrupt(format!("location value {x}")))
    };
    Ok(Location {
        start_line: c(0)?,
        start_column: c(1)?,
        end_line: c(2)?,
        end_column: c(3)?,
    })
}

/// A suite as a row of a batch. `file` and `parent` index the batch's files and suites;
/// every parent comes before its children, so a driver can resolve `parent` to an id that it
/// has already assigned.
pub(super) struct SuiteRow<'a> {
    pub file: usize,
    pub parent: Option<usize>,
    /// Place among its sibling suites (source order).
    pub position: i64,
    pub suite: &'a Suite,
}

/// A test as a row of a batch; `suite` indexes the batch's suites (`None`: top level).
pub(super) struct TestRow<'a> {
    pub file: usize,
    pub suite: Option<usize>,
    /// Place among its sibling tests (source order).
    pub position: i64,
    pub test: &'a Test,
}

/// One batch of files as rows (files keep the batch's order): suites in pre-order.
pub(super) struct Rows<'a> {
    pub suites: Vec<SuiteRow<'a>>,
    pub tests: Vec<TestRow<'a>>,
}

/// Flatten files into rows without recursion (a pathological nesting depth cannot overflow
/// the stack).
pub(super) fn flatten(files: &[TestFile]) -> Rows<'_> {
    let mut suites: Vec<SuiteRow<'_>> = Vec::new();
    let mut tests: Vec<TestRow<'_>> = Vec::new();
    for (fi, file) in files.iter().enumerate() {
        push_tests(&mut tests, fi, None, &file.tests);
        // (suite, parent row, position), popped in pre-order.
        let mut stack: Vec<(&Suite, Option<usize>, i64)> = file
            .suites
            .iter()
            .enumerate()
            .rev()
            .map(|(pos, s)| (s, None, pos as i64))
            .collect();
        while let Some((suite, parent, position)) = stack.pop() {
            let me = suites.len();
            suites.push(SuiteRow {
                file: fi,
                parent,
                position,
                suite,
            });
            push_tests(&mut tests, fi, Some(me), &suite.tests);
            stack.extend(
                suite
                    .suites
                    .iter()
                    .enumerate()
                    .rev()
                    .map(|(pos, s)| (s, Some(me), pos as i64)),
            );
        }
    }
    Rows { suites, tests }
}

fn push_tests<'a>(out: &mut Vec<TestRow<'a>>, file: usize, suite: Option<usize>, list: &'a [Test]) {
    out.extend(list.iter().enumerate().map(|(pos, test)| TestRow {
        file,
        suite,
        position: pos as i64,
        test,
    }));
}

/// A file read back, without its suites and tests.
pub(super) struct LoadedFile {
    pub id: i64,
    pub file: TestFile,
}

/// A suite read back, without its children.
pub(super) struct LoadedSuite {
    pub id: i64,
    pub file_id: i64,
    pub parent_id: Option<i64>,
    pub position: i64,
    pub suite: Suite,
}

/// A test read back.
pub(super) struct LoadedTest {
    pub file_id: i64,
    pub suite_id: Option<i64>,
    pub position: i64,
    pub test: Test,
}

/// Rebuild the files' trees from their rows: files sorted by path, suites and tests by
/// position. Suites are attached bottom-up in descending id order, which works because a
/// parent's id is always smaller than its children's (drivers assign ids in pre-order).
pub(super) fn assemble(
    mut files: Vec<LoadedFile>,
    suites: Vec<LoadedSuite>,
    mut tests: Vec<LoadedTest>,
) -> Result<Vec<TestFile>> {
    let file_index: HashMap<i64, usize> =
        files.iter().enumerate().map(|(i, f)| (f.id, i)).collect();
    let find_file = |id: i64| {
        file_index
            .get(&id)
            .copied()
            .ok_or_else(|| StoreError::Corrupt(format!("row refers to missing file {id}")))
    };

    struct Node {
        id: i64,
        file: usize,
        parent_id: Option<i64>,
        position: i64,
        suite: Suite,
        children: Vec<(i64, Suite)>,
    }
    let mut nodes: Vec<Node> = suites
        .into_iter()
        .map(|s| {
            Ok(Node {
                id: s.id,
                file: find_file(s.file_id)?,
                parent_id: s.parent_id,
                position: s.position,
                suite: s.suite,
                children: Vec::new(),
            })
        })
        .collect::<Result<_>>()?;
    nodes.sort_unstable_by_key(|n| n.id);
    let node_index: HashMap<i64, usize> =
        nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();

    tests.sort_by_key(|t| t.position);
    for t in tests {
        match t.suite_id {
            None => files[find_file(t.file_id)?].file.tests.push(t.test),
            Some(sid) => {
                let i = node_index.get(&sid).copied().ok_or_else(|| {
                    StoreError::Corrupt(format!("test refers to missing suite {sid}"))
                })?;
                nodes[i].suite.tests.push(t.test);
            }
        }
    }

    let mut top: Vec<Vec<(i64, Suite)>> = files.iter().map(|_| Vec::new()).collect();
    while let Some(mut node) = nodes.pop() {
        node.children.sort_by_key(|c| c.0);
        node.suite.suites = node.children.into_iter().map(|c| c.1).collect();
        match node.parent_id {
            None => top[node.file].push((node.position, node.suite)),
            Some(pid) => {
                let parent = node_index
                    .get(&pid)
                    .and_then(|&i| nodes.get_mut(i))
                    .filter(|p| p.id == pid && p.file == node.file)
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "suite {} refers to parent {pid}, which is missing, later or in another file",
                            node.id
                        ))
                    })?;
                parent.children.push((node.position, node.suite));
            }
        }
    }
    for (file, mut list) in files.iter_mut().zip(top) {
        list.sort_by_key(|c| c.0);
        file.file.suites = list.into_iter().map(|c| c.1).collect();
    }
    files.sort_by(|a, b| a.file.path.cmp(&b.file.path));
    Ok(files.into_iter().map(|f| f.file).collect())
}

/// The inventory an analysis stands for, from its record and rows.
pub(super) fn inventory(
    analysis: AnalysisRecord,
    files: Vec<TestFile>,
    mut errors: Vec<FileError>,
) -> Inventory {
    // Stable: errors of one path stay in the order they were stored (rows come in id order).
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    Inventory {
        schema_version: SCHEMA_VERSION,
        parser_version: analysis.parser_version,
        source: Source {
            location: analysis.repository,
            commit: analysis.commit,
            branch: analysis.branch,
            commit_time: analysis.commit_time,
        },
        files,
        stats: analysis.stats.unwrap_or_default(),
        errors,
    }
}

pub(super) fn status_str(s: Status) -> &'static str {
    match s {
        Status::Active => "active",
        Status::Skipped => "skipped",
        Status::Todo => "todo",
        Status::Focused => "focused",
        Status::Xfail => "xfail",
    }
}

pub(super) fn parse_status(s: &str) -> Result<Status> {
    Ok(match s {
        "active" => Status::Active,
        "skipped" => Status::Skipped,
        "todo" => Status::Todo,
        "focused" => Status::Focused,
        "xfail" => Status::Xfail,
        other => {
            return Err(StoreError::Corrupt(format!(
                "unknown test status `{other}`"
            )))
        }
    })
}

pub(super) fn phase_str(p: ErrorPhase) -> &'static str {
    match p {
        ErrorPhase::Discovery => "discovery",
        ErrorPhase::Detection => "detection",
        ErrorPhase::Parsing => "parsing",
    }
}

pub(super) fn parse_phase(s: &str) -> Result<ErrorPhase> {
    Ok(match s {
        "discovery" => ErrorPhase::Discovery,
        "detection" => ErrorPhase::Detection,
        "parsing" => ErrorPhase::Parsing,
        other => {
            return Err(StoreError::Corrupt(format!(
                "unknown error phase `{other}`"
            )))
        }
    })
}

pub(super) fn state_str(s: AnalysisState) -> &'static str {
    match s {
        AnalysisState::Running => "running",
        AnalysisState::Complete => "complete",
        AnalysisState::Failed => "failed",
    }
}

pub(super) fn parse_state(s: &str) -> Result<AnalysisState> {
    Ok(match s {
        "running" => AnalysisState::Running,
        "complete" => AnalysisState::Complete,
        "failed" => AnalysisState::Failed,
        other => {
            return Err(StoreError::Corrupt(format!(
                "unknown analysis state `{other}`"
            )))
        }
    })
}

pub(super) fn location_values(l: &Location) -> [i64; 4] {
    [
        l.start_line.into(),
        l.start_column.into(),
        l.end_line.into(),
        l.end_column.into(),
    ]
}

pub(super) fn hints_json(file: &TestFile) -> serde_json::Value {
    // DomainHints is two string lists: serialising it cannot fail.
    serde_json::to_value(&file.domain_hints).unwrap_or(serde_json::Value::Null)
}

pub(super) fn stats_json(stats: &ScanStats) -> serde_json::Value {
    // ScanStats is plain counters: serialising it cannot fail.
    serde_json::to_value(stats).unwrap_or(serde_json::Value::Null)
}

fn parse_stats(v: serde_json::Value) -> Result<ScanStats> {
    serde_json::from_value(v).map_err(|e| StoreError::Corrupt(format!("scan stats: {e}")))
}

/// Why an update that required a running analysis touched nothing, from its current state.
pub(super) fn not_running(id: i64, state: Option<AnalysisState>) -> StoreError {
    match state {
        None => StoreError::NotFound(format!("analysis {id} does not exist")),
        Some(s) => StoreError::Conflict(format!("analysis {id} is {}, not running", state_str(s))),
    }
}

//! The test inventory data model: files → nested suites → tests.
//!
//! This crate is deliberately tiny and free of parsing code: the analyzer
//! (`specline-inventory`, which links Tree-sitter) produces these values, and the spec
//! generator (`specline-specdoc`, which must not link Tree-sitter) consumes them. Both
//! agree on this one definition instead of two copies of a JSON schema.
//!
//! The JSON form is versioned by [`SCHEMA_VERSION`] and documented in
//! `docs/inventory-schema.md`. Adding optional fields is a compatible change; removing or
//! renaming a field bumps the version.

pub mod target;
pub mod terminal;

use serde::{Deserialize, Serialize};

/// Version of the JSON schema written in [`Inventory::schema_version`].
pub const SCHEMA_VERSION: u32 = 1;

/// A whole scan: every test file found under one source tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    /// Always [`SCHEMA_VERSION`] when written by this version of the crate.
    pub schema_version: u32,
    /// Version of the analyzer that produced the inventory (the parser version).
    pub parser_version: String,
    /// Where the tree came from.
    pub source: Source,
    /// Test files, sorted by path.
    pub files: Vec<TestFile>,
    /// Counters of the scan.
    pub stats: ScanStats,
    /// Per-file problems; a bad file never fails the whole scan.
    #[serde(default)]
    pub errors: Vec<FileError>,
}

/// Where a scanned tree came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Source {
    /// A local directory path or a git URL (never with credentials in it).
    pub location: String,
    /// Commit SHA, when the tree is a git checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Branch name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Commit time, when the tree is a git checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_time: Option<chrono::DateTime<chrono::Utc>>,
}

/// One test file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestFile {
    /// Path relative to the scanned root, `/`-separated.
    pub path: String,
    /// Language identifier, e.g. `typescript`, `python`, `go`.
    pub language: String,
    /// Framework identifier, e.g. `jest`, `pytest`, `junit5`.
    pub framework: String,
    /// Hints for grouping tests into business domains.
    #[serde(default)]
    pub domain_hints: DomainHints,
    /// Top-level suites, in source order.
    #[serde(default)]
    pub suites: Vec<Suite>,
    /// Tests that are not inside any suite, in source order.
    #[serde(default)]
    pub tests: Vec<Test>,
}

/// Names that hint at what a test file is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DomainHints {
    /// Imported modules, as written in the source (`../auth/login`, `app.billing`).
    #[serde(default)]
    pub imports: Vec<String>,
    /// Called two-segment names such as `auth.login` or `UserService.create`.
    #[serde(default)]
    pub calls: Vec<String>,
}

/// A group of tests (`describe`, a test class, `mod tests`, a `t.Run` parent, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suite {
    pub name: String,
    pub location: Location,
    pub status: Status,
    /// The source's own word for a status change, e.g. `.only`, `@Disabled("flaky")`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modifier: Option<String>,
    #[serde(default)]
    pub suites: Vec<Suite>,
    #[serde(default)]
    pub tests: Vec<Test>,
}

/// One test case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Test {
    pub name: String,
    pub location: Location,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modifier: Option<String>,
    /// True for a test generated at run time (`test.each`, `parametrize`, a loop over a
    /// table): it counts as one test and its name says it is dynamic.
    #[serde(default)]
    pub dynamic: bool,
    /// The cases the framework's runner reports for this test, when the source lists them
    /// literally (a `parametrize` list, an `each` table, `[TestCase]` attributes, a loop
    /// over a literal array). Absent for a plain test (one case) and for a dynamic test
    /// whose cases are only known at run time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cases: Option<Cases>,
    /// The test's own documentation: its docstring (Python) or the comment right above it
    /// (`///`, `//`, `#`, Javadoc, JSDoc, …), with comment markers stripped, bounded in size
    /// and free of control characters. The offline generator writes the behavior sentence
    /// from it. Absent when the test has none (and in inventories written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
}

/// The statically known cases of a parameterised test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Cases {
    /// How many items the runner reports for the test (a product for stacked
    /// `parametrize` decorators or a parameterised group around a parameterised test).
    pub count: u64,
    /// The runner's names of the cases, in the runner's order, when it derives them from
    /// the literals (pytest ids, rstest's `case_N`); empty when it does not or when
    /// `count` is over [`Cases::MAX_NAMES`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

impl Cases {
    /// Case names are listed only up to this many cases (a table of a million literals
    /// keeps its count, not a million names).
    pub const MAX_NAMES: u64 = 100;
}

impl Test {
    /// How many items the framework's runner reports for this test: its case count when
    /// the cases are known, otherwise one (a dynamic test whose cases are not literal
    /// counts once, as a definition).
    pub fn runner_count(&self) -> u64 {
        self.cases.as_ref().map_or(1, |c| c.count)
    }
}

impl TestFile {
    /// Definitions in the file (every test, at any depth, once).
    pub fn test_count(&self) -> u64 {
        self.fold_tests(&mut |_| 1)
    }

    /// What the framework's runner would report for the file: the sum of
    /// [`Test::runner_count`].
    pub fn runner_count(&self) -> u64 {
        self.fold_tests(&mut Test::runner_count)
    }

    fn fold_tests(&self, f: &mut impl FnMut(&Test) -> u64) -> u64 {
        fn suite(s: &Suite, f: &mut impl FnMut(&Test) -> u64) -> u64 {
            let own: u64 = s.tests.iter().map(&mut *f).fold(0, u64::saturating_add);
            s.suites
                .iter()
                .map(|c| suite(c, f))
                .fold(own, u64::saturating_add)
        }
        let own: u64 = self.tests.iter().map(&mut *f).fold(0, u64::saturating_add);
        self.suites
            .iter()
            .map(|s| suite(s, f))
            .fold(own, u64::saturating_add)
    }
}

/// A span in a file: lines and columns are 1-based; columns count bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Location {
    pub start_line: u32,
    pub start_column: u32,
    pub end_line: u32,
    pub end_column: u32,
}

/// What the runner would do with a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Active,
    Skipped,
    Todo,
    Focused,
    Xfail,
}

/// Counters of a scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ScanStats {
    /// Files looked at during discovery.
    pub files_seen: u64,
    /// Files recognised as test files and parsed.
    pub test_files: u64,
    pub suites: u64,
    pub tests: u64,
    /// What the frameworks' runners would report: [`TestFile::runner_count`] summed over
    /// the files (equal to `tests` when no test has known cases). Absent (0) in
    /// inventories written before it existed.
    #[serde(default)]
    pub runner_tests: u64,
    /// Files skipped because they were over the size limit.
    pub skipped_too_large: u64,
    /// Files skipped because they looked binary.
    pub skipped_binary: u64,
    /// Files that produced an error (see [`Inventory::errors`]).
    pub errored: u64,
    /// True when the scan stopped early (timeout or cancellation): the inventory is partial.
    pub truncated: bool,
    pub duration_ms: u64,
}

/// A problem with one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileError {
    pub path: String,
    pub phase: ErrorPhase,
    /// A stable machine-readable code, e.g. `PARSE_FAILED`, `NOT_UTF8`.
    pub code: String,
    pub message: String,
}

/// Where in the scan a file failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorPhase {
    Discovery,
    Detection,
    Parsing,
}

impl Inventory {
    /// Every test of the inventory with its file and suite path: per file, its top-level
    /// tests first, then each suite depth-first (its own tests, then its child suites).
    pub fn walk_tests(&self) -> Vec<TestRef<'_>> {
        let mut out = Vec::new();
        for file in &self.files {
            for test in &file.tests {
                out.push(TestRef {
                    file,
                    suite_path: Vec::new(),
                    test,
                });
            }
            for suite in &file.suites {
                walk_suite(file, suite, &mut Vec::new(), &mut out);
            }
        }
        out
    }
}

fn walk_suite<'a>(
    file: &'a TestFile,
    suite: &'a Suite,
    path: &mut Vec<&'a str>,
    out: &mut Vec<TestRef<'a>>,
) {
    path.push(&suite.name);
    for test in &suite.tests {
        out.push(TestRef {
            file,
            suite_path: path.clone(),
            test,
        });
    }
    for child in &suite.suites {
        walk_suite(file, child, path, out);
    }
    path.pop();
}

/// A test with where it lives, as yielded by [`Inventory::walk_tests`].
#[derive(Debug, Clone)]
pub struct TestRef<'a> {
    pub file: &'a TestFile,
    /// Names of the enclosing suites, outermost first.
    pub suite_path: Vec<&'a str>,
    pub test: &'a Test,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(line: u32) -> Location {
        Location {
            start_line: line,
            start_column: 1,
            end_line: line,
            end_column: 2,
        }
    }

    fn test(name: &str, line: u32) -> Test {
        Test {
            name: name.into(),
            location: loc(line),
            status: Status::Active,
            modifier: None,
            dynamic: false,
            cases: None,
            doc: None,
        }
    }

    #[test]
    fn walk_tests_yields_every_test_with_its_suite_path() {
        let file = TestFile {
            path: "a.test.ts".into(),
            language: "typescript".into(),
            framework: "jest".into(),
            domain_hints: DomainHints::default(),
            suites: vec![Suite {
                name: "outer".into(),
                location: loc(1),
                status: Status::Active,
                modifier: None,
                suites: vec![Suite {
                    name: "inner".into(),
                    location: loc(2),
                    status: Status::Skipped,
                    modifier: Some(".skip".into()),
                    suites: vec![],
                    tests: vec![test("deep", 3)],
                }],
                tests: vec![test("shallow", 5)],
            }],
            tests: vec![test("top", 7)],
        };
        let inv = Inventory {
            schema_version: SCHEMA_VERSION,
            parser_version: "0.0.0".into(),
            source: Source::default(),
            files: vec![file],
            stats: ScanStats::default(),
            errors: vec![],
        };
        let got: Vec<(String, String)> = inv
            .walk_tests()
            .iter()
            .map(|t| (t.suite_path.join(" > "), t.test.name.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (String::new(), "top".to_string()),
                ("outer".to_string(), "shallow".to_string()),
                ("outer > inner".to_string(), "deep".to_string()),
            ]
        );
    }

    /// Inventories written before cases existed still read: no `cases` on a test, no
    /// `runner_tests` in the stats.
    #[test]
    fn an_inventory_without_cases_reads_as_before() {
        let json = r#"{"schema_version":1,"parser_version":"0.1.0","source":{"location":"x"},
            "files":[{"path":"a.py","language":"python","framework":"pytest","tests":[
              {"name":"t","location":{"start_line":1,"start_column":1,"end_line":1,"end_column":2},
               "status":"active","dynamic":true}]}],
            "stats":{"files_seen":1,"test_files":1,"suites":0,"tests":1,"skipped_too_large":0,
              "skipped_binary":0,"errored":0,"truncated":false,"duration_ms":1}}"#;
        let inv: Inventory = serde_json::from_str(json).unwrap();
        let t = &inv.files[0].tests[0];
        assert_eq!(t.cases, None);
        assert_eq!(t.runner_count(), 1);
        assert_eq!(inv.stats.runner_tests, 0);
        // And a test without cases writes no `cases` key.
        let written = serde_json::to_value(t).unwrap();
        assert!(written.get("cases").is_none(), "{written}");
    }

    #[test]
    fn cases_serialize_their_count_and_only_known_names() {
        let mut t = test("p", 1);
        t.cases = Some(Cases {
            count: 3,
            names: vec![],
        });
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["cases"], serde_json::json!({"count": 3}));
        t.cases = Some(Cases {
            count: 2,
            names: vec!["a".into(), "b".into()],
        });
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(
            v["cases"],
            serde_json::json!({"count": 2, "names": ["a", "b"]})
        );
        let back: Test = serde_json::from_value(v).unwrap();
        assert_eq!(back, t);
    }

    /// Per file: definitions count once, the runner count sums the cases (saturating), at
    /// every depth.
    #[test]
    fn a_file_counts_definitions_and_runner_items_at_every_depth() {
        let with = |name: &str, count: u64| Test {
            cases: Some(Cases {
                count,
                names: vec![],
            }),
            ..test(name, 1)
        };
        let file = TestFile {
            path: "a".into(),
            language: "python".into(),
            framework: "pytest".into(),
            domain_hints: DomainHints::default(),
            suites: vec![Suite {
                name: "s".into(),
                location: loc(1),
                status: Status::Active,
                modifier: None,
                suites: vec![Suite {
                    name: "inner".into(),
                    location: loc(2),
                    status: Status::Active,
                    modifier: None,
                    suites: vec![],
                    tests: vec![with("deep", 7)],
                }],
                tests: vec![test("plain", 3)],
            }],
            tests: vec![with("top", 4)],
        };
        assert_eq!(file.test_count(), 3);
        assert_eq!(file.runner_count(), 4 + 1 + 7);
        let huge = TestFile {
            tests: vec![with("a", u64::MAX), with("b", 2)],
            suites: vec![],
            ..file
        };
        assert_eq!(huge.runner_count(), u64::MAX);
    }

    #[test]
    fn status_serializes_lowercase_and_round_trips() {
        let json = serde_json::to_string(&Status::Xfail).unwrap();
        assert_eq!(json, "\"xfail\"");
        let back: Status = serde_json::from_str("\"focused\"").unwrap();
        assert_eq!(back, Status::Focused);
        assert!(serde_json::from_str::<Status>("\"bogus\"").is_err());
    }
}

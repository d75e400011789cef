//! Conformance of the application store: every behaviour runs on PostgreSQL (a fresh schema
//! per test at `DATABASE_URL`; unreachable means failed, never skipped) and on SQLite (a
//! fresh file per test). Expected values are built here by hand, never by the code under test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use specline_app::store::{
    AnalysisRecord, AnalysisState, AppStore, CacheEntry, NewAnalysis, NewDocument, NewDocumentDiff,
    PgAppStore, PhaseUsage, SqliteAppStore, StoreError, WatchedRepository, FAILED_CONVERT_PHASE,
};
use specline_inventory_model::{
    Cases, DomainHints, ErrorPhase, FileError, Inventory, Location, ScanStats, Source, Status,
    Suite, Test, TestFile, SCHEMA_VERSION,
};
use specline_queue::store::{PgConfig, PgStore, SqliteConfig, SqliteStore};
use specline_testkit::{database_url, pg_unreachable, PgSchema, TempSqlite};

// ---------------------------------------------------------------------------------------
// Harness

enum Db {
    Pg(PgSchema),
    Sqlite(TempSqlite),
}

struct Harness {
    store: Arc<dyn AppStore>,
    db: Db,
}

impl Harness {
    async fn pg() -> Harness {
        let schema = PgSchema::new();
        let store = Harness::open_pg(&schema).await;
        // Reach the server now, so an unreachable one fails every test with one clear message.
        if let Err(e) = store.migration_status().await {
            pg_unreachable(e)
        }
        Harness {
            store,
            db: Db::Pg(schema),
        }
    }

    async fn sqlite() -> Harness {
        let file = TempSqlite::new("app.sqlite");
        let store = Harness::open_sqlite(&file).await;
        Harness {
            store,
            db: Db::Sqlite(file),
        }
    }

    async fn open_pg(schema: &PgSchema) -> Arc<dyn AppStore> {
        let engine = PgStore::connect(
            PgConfig::new(database_url())
                .schema(schema.name())
                .pool_size(4),
        )
        .await
        .unwrap();
        Arc::new(PgAppStore::new(&engine))
    }

    async fn open_sqlite(file: &TempSqlite) -> Arc<dyn AppStore> {
        let engine = SqliteStore::open(SqliteConfig::new(file.path()))
            .await
            .unwrap();
        Arc::new(SqliteAppStore::new(&engine))
    }

    async fn migrated(self) -> Harness {
        self.store.migrate().await.unwrap();
        self
    }

    /// A second, independent store on the same database (another "process").
    async fn reopen(&self) -> Arc<dyn AppStore> {
        match &self.db {
            Db::Pg(schema) => Harness::open_pg(schema).await,
            Db::Sqlite(file) => Harness::open_sqlite(file).await,
        }
    }

    /// Run SQL on the database behind the store's back (to make rows the current code
    /// would not write, such as those of an older version).
    async fn raw_sql(&self, sql: &str) {
        match &self.db {
            Db::Pg(schema) => {
                let (c, conn) = tokio_postgres::connect(&database_url(), tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(conn);
                c.batch_execute(&format!("SET search_path TO {}; {sql}", schema.name()))
                    .await
                    .unwrap();
            }
            Db::Sqlite(file) => rusqlite::Connection::open(file.path())
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
        }
    }
}

/// Define each async test once per backend: `migrated` ones get a migrated store, `fresh`
/// ones an empty database.
macro_rules! on_both_backends {
    (migrated: [$($m:ident),* $(,)?], fresh: [$($f:ident),* $(,)?] $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $m() {
                    super::$m(super::Harness::pg().await.migrated().await).await
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $f() {
                    super::$f(super::Harness::pg().await).await
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $m() {
                    super::$m(super::Harness::sqlite().await.migrated().await).await
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $f() {
                    super::$f(super::Harness::sqlite().await).await
                }
            )*
        }
    };
}

on_both_backends!(
    migrated: [
        a_realistic_inventory_stored_in_batches_loads_back_equal,
        only_complete_untruncated_analyses_of_the_same_repo_commit_and_parser_are_reused,
        beginning_again_with_the_same_run_clears_the_crashed_attempts_rows,
        writing_to_an_analysis_that_is_not_running_is_a_conflict,
        a_duplicate_file_is_a_conflict_and_rolls_back_its_whole_batch,
        document_versions_count_per_repository_and_language_and_a_retry_adds_none,
        find_document_matches_the_whole_generator,
        watch_inserts_updates_and_unwatch_removes,
        retention_keeps_the_newest_and_what_documents_need,
        concurrent_generations_get_distinct_versions_written_into_their_json,
        watched_repositories_are_claimed_once_per_interval_even_past_a_day,
        racing_schedulers_claim_each_repository_once,
        paging_through_a_repositorys_analyses_with_the_cursor_repeats_and_skips_none,
        the_spec_cache_is_shared_overwritten_and_pruned_by_age_and_count,
        a_versions_diff_is_stored_once_and_leaves_with_its_version,
        tests_stored_before_migration_8_read_as_no_cases_known,
        case_counts_saturate_names_are_bounded_and_a_negative_count_is_corrupt,
        model_usage_is_recorded_once_per_run_and_phase_and_summed_per_owner,
        failed_conversions_add_up_and_survive_the_conversions_row,
    ],
    fresh: [migrations_run_twice_and_concurrently_and_report_their_status],
);

// ---------------------------------------------------------------------------------------
// Data

fn loc(line: u32, col: u32, end_line: u32, end_col: u32) -> Location {
    Location {
        start_line: line,
        start_column: col,
        end_line,
        end_column: end_col,
    }
}

fn test(name: &str, line: u32, status: Status, modifier: Option<&str>, dynamic: bool) -> Test {
    Test {
        name: name.into(),
        location: loc(line, 3, line + 2, 5),
        status,
        modifier: modifier.map(Into::into),
        dynamic,
        cases: None,
        doc: None,
    }
}

fn with_cases(mut t: Test, count: u64, names: &[&str]) -> Test {
    t.cases = Some(Cases {
        count,
        names: names.iter().map(|n| n.to_string()).collect(),
    });
    t
}

fn active(name: &str, line: u32) -> Test {
    test(name, line, Status::Active, None, false)
}

fn suite(name: &str, line: u32, suites: Vec<Suite>, tests: Vec<Test>) -> Suite {
    Suite {
        name: name.into(),
        location: loc(line, 1, line + 40, 3),
        status: Status::Active,
        modifier: None,
        suites,
        tests,
    }
}

fn file(path: &str, suites: Vec<Suite>, tests: Vec<Test>) -> TestFile {
    TestFile {
        path: path.into(),
        language: "typescript".into(),
        framework: "jest".into(),
        domain_hints: DomainHints::default(),
        suites,
        tests,
    }
}

/// Three files: suites three deep with tests around them, every status, modifiers, dynamic
/// tests, domain hints, unicode names, an empty file, and large location values.
fn realistic_files() -> Vec<TestFile> {
    let mut skipped_suite = suite(
        "décrit: paiement 💳",
        30,
        vec![],
        vec![test("rembourse", 31, Status::Skipped, None, false)],
    );
    skipped_suite.status = Status::Skipped;
    skipped_suite.modifier = Some("describe.skip".into());

    let auth = TestFile {
        path: "src/auth/login.test.ts".into(),
        language: "typescript".into(),
        framework: "jest".into(),
        domain_hints: DomainHints {
            imports: vec!["../auth/login".into(), "@app/users".into()],
            calls: vec!["auth.login".into(), "UserService.create".into()],
        },
        suites: vec![
            suite(
                "login",
                3,
                vec![
                    suite(
                        "with a password",
                        5,
                        vec![suite(
                            "that expired",
                            7,
                            vec![],
                            vec![
                                active("asks for a new one", 8),
                                test(
                                    "locks after 3 tries",
                                    10,
                                    Status::Todo,
                                    Some("it.todo"),
                                    false,
                                ),
                            ],
                        )],
                        vec![
                            active("accepts the right one", 6),
                            // Cases known by count only (jest names them from a format).
                            with_cases(
                                test("rejects %s", 12, Status::Active, Some("it.each"), true),
                                3,
                                &[],
                            ),
                        ],
                    ),
                    suite(
                        "with a token",
                        20,
                        vec![],
                        vec![test(
                            "only this",
                            21,
                            Status::Focused,
                            Some("it.only"),
                            false,
                        )],
                    ),
                ],
                vec![active("renders the form", 4)],
            ),
            skipped_suite,
        ],
        tests: vec![
            active("top-level first", 1),
            test("known bug", 2, Status::Xfail, Some("test.failing"), false),
        ],
    };
    let empty = TestFile {
        path: "tests/empty_test.py".into(),
        language: "python".into(),
        framework: "pytest".into(),
        domain_hints: DomainHints {
            imports: vec!["app.billing".into()],
            calls: vec![],
        },
        suites: vec![],
        tests: vec![],
    };
    let go = TestFile {
        path: "pkg/日本語/cart_test.go".into(),
        language: "go".into(),
        framework: "go-testing".into(),
        domain_hints: DomainHints::default(),
        suites: vec![suite(
            "TestCart",
            10,
            vec![],
            vec![
                active("adds an item", 11),
                Test {
                    name: "huge location".into(),
                    location: loc(u32::MAX, u32::MAX - 1, u32::MAX, 7),
                    status: Status::Active,
                    modifier: None,
                    dynamic: false,
                    cases: None,
                    // Documentation is stored and read back as written, lines and all.
                    doc: Some("Adds nothing twice.\n\nSee `Cart::add` — «exact» text.".into()),
                },
            ],
        )],
        // Cases with the runner's names, unicode and all.
        tests: vec![with_cases(
            test("TestTable/%v", 40, Status::Skipped, Some("t.Skip"), true),
            2,
            &["TestTable/empty", "TestTable/päckchen_📦"],
        )],
    };
    vec![auth, empty, go]
}

fn realistic_errors() -> Vec<FileError> {
    vec![
        FileError {
            path: "a/broken.test.js".into(),
            phase: ErrorPhase::Parsing,
            code: "PARSE_FAILED".into(),
            message: "unexpected token `}` — ligne 3".into(),
        },
        FileError {
            path: "b/binary.spec.ts".into(),
            phase: ErrorPhase::Detection,
            code: "NOT_UTF8".into(),
            message: "invalid UTF-8 at byte 12".into(),
        },
        FileError {
            path: "c/gone.test.ts".into(),
            phase: ErrorPhase::Discovery,
            code: "IO".into(),
            message: "permission denied".into(),
        },
    ]
}

fn stats(truncated: bool) -> ScanStats {
    ScanStats {
        files_seen: 120,
        test_files: 3,
        suites: 7,
        tests: 13,
        runner_tests: 15,
        skipped_too_large: 1,
        skipped_binary: 2,
        errored: 3,
        truncated,
        duration_ms: 456,
    }
}

fn commit_time() -> DateTime<Utc> {
    // Whole microseconds: both backends store microseconds.
    DateTime::from_timestamp(1_700_000_000, 123_456_000).unwrap()
}

fn new_analysis(repository: &str, commit: &str, parser: &str, run_id: Option<i64>) -> NewAnalysis {
    NewAnalysis {
        repository: repository.into(),
        commit: Some(commit.into()),
        branch: Some("main".into()),
        commit_time: Some(commit_time()),
        parser_version: parser.into(),
        run_id,
    }
}

async fn complete(s: &dyn AppStore, new: &NewAnalysis, truncated: bool) -> AnalysisRecord {
    let a = s.begin_analysis(new).await.unwrap();
    s.finish_analysis(a.id, &stats(truncated)).await.unwrap()
}

fn new_document(
    analysis_id: i64,
    repository: &str,
    language: &str,
    run_id: Option<i64>,
) -> NewDocument {
    NewDocument {
        analysis_id,
        repository: repository.into(),
        language: language.into(),
        generator_kind: "offline".into(),
        model: "none".into(),
        prompt_version: "p1".into(),
        content: serde_json::json!({ "title": format!("{repository} in {language}"), "sections": [1, 2] }),
        behaviors: 13,
        run_id,
    }
}

fn code_of<T: std::fmt::Debug>(r: Result<T, StoreError>) -> &'static str {
    r.unwrap_err().code()
}

// ---------------------------------------------------------------------------------------
// Behaviours

async fn a_realistic_inventory_stored_in_batches_loads_back_equal(h: Harness) {
    let s = &*h.store;
    let new = new_analysis(
        "https://git.example/acme/shop.git",
        "abc123",
        "0.3.0",
        Some(41),
    );
    let a = s.begin_analysis(&new).await.unwrap();
    assert_eq!(a.state, AnalysisState::Running);
    assert_eq!(a.run_id, Some(41));

    let files = realistic_files();
    // Batches out of path order: loading sorts by path.
    s.insert_files(a.id, &files[2..]).await.unwrap();
    s.insert_files(a.id, &[]).await.unwrap();
    s.insert_files(a.id, &files[..1]).await.unwrap();
    s.insert_files(a.id, &files[1..2]).await.unwrap();
    let errors = realistic_errors();
    s.insert_file_errors(a.id, &errors[1..]).await.unwrap();
    s.insert_file_errors(a.id, &errors[..1]).await.unwrap();
    let done = s.finish_analysis(a.id, &stats(false)).await.unwrap();
    assert_eq!(done.state, AnalysisState::Complete);
    assert_eq!(done.error_count, 3);
    assert_eq!(done.stats, Some(stats(false)));
    assert!(done.finished_at.is_some());

    let mut sorted = realistic_files();
    sorted.sort_by(|x, y| x.path.cmp(&y.path));
    let expected = Inventory {
        schema_version: SCHEMA_VERSION,
        parser_version: "0.3.0".into(),
        source: Source {
            location: "https://git.example/acme/shop.git".into(),
            commit: Some("abc123".into()),
            branch: Some("main".into()),
            commit_time: Some(commit_time()),
        },
        files: sorted,
        stats: stats(false),
        errors: realistic_errors(),
    };
    assert_eq!(s.load_inventory(a.id).await.unwrap(), expected);
    assert_eq!(s.get_analysis(a.id).await.unwrap(), Some(done));
    assert_eq!(
        code_of(s.load_inventory(a.id + 1000).await),
        "APP_NOT_FOUND"
    );
}

/// Migration 8 adds the case columns as NULL to every existing row: such a row is a test
/// whose cases are not known (its runner count is one), not an error.
async fn tests_stored_before_migration_8_read_as_no_cases_known(h: Harness) {
    let s = &*h.store;
    let a = s
        .begin_analysis(&new_analysis("r", "c", "p", None))
        .await
        .unwrap();
    s.insert_files(a.id, &realistic_files()).await.unwrap();
    s.finish_analysis(a.id, &stats(false)).await.unwrap();
    // What the ALTER TABLE of migration 8 leaves in rows written before it.
    h.raw_sql("UPDATE specline_inventory_tests SET case_count = NULL, case_names = NULL")
        .await;

    let inv = s.load_inventory(a.id).await.unwrap();
    let mut expected = realistic_files();
    expected.sort_by(|x, y| x.path.cmp(&y.path));
    for f in &mut expected {
        f.tests.iter_mut().for_each(|t| t.cases = None);
        fn clear(suites: &mut [Suite]) {
            for s in suites {
                s.tests.iter_mut().for_each(|t| t.cases = None);
                clear(&mut s.suites);
            }
        }
        clear(&mut f.suites);
    }
    assert_eq!(inv.files, expected);
    // Hand-counted: 9, 0 and 3 definitions, each counting once for the runner.
    let counts: Vec<(u64, u64)> = inv
        .files
        .iter()
        .map(|f| (f.test_count(), f.runner_count()))
        .collect();
    assert_eq!(counts, [(3, 3), (9, 9), (0, 0)]);
}

async fn case_counts_saturate_names_are_bounded_and_a_negative_count_is_corrupt(h: Harness) {
    let s = &*h.store;
    let a = s
        .begin_analysis(&new_analysis("r", "c", "p", None))
        .await
        .unwrap();
    let names: Vec<String> = (0..150).map(|i| format!("case_{i}")).collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let huge = with_cases(active("a million and more", 1), u64::MAX, &name_refs);
    s.insert_files(a.id, &[file("t.test.ts", vec![], vec![huge])])
        .await
        .unwrap();
    s.finish_analysis(a.id, &stats(false)).await.unwrap();

    let inv = s.load_inventory(a.id).await.unwrap();
    let cases = inv.files[0].tests[0].cases.clone().unwrap();
    assert_eq!(cases.count, i64::MAX as u64);
    assert_eq!(cases.names.len(), 100);
    assert_eq!(cases.names[0], "case_0");
    assert_eq!(cases.names[99], "case_99");

    h.raw_sql("UPDATE specline_inventory_tests SET case_count = -1")
        .await;
    assert_eq!(code_of(s.load_inventory(a.id).await), "APP_CORRUPT");
}

async fn only_complete_untruncated_analyses_of_the_same_repo_commit_and_parser_are_reused(
    h: Harness,
) {
    let s = &*h.store;
    let key = new_analysis("repo", "c1", "1.0", None);
    assert_eq!(
        s.find_reusable_analysis("repo", "c1", "1.0").await.unwrap(),
        None
    );

    let running = s.begin_analysis(&key).await.unwrap();
    let failed = s.begin_analysis(&key).await.unwrap();
    s.fail_analysis(failed.id, "clone failed").await.unwrap();
    let _truncated = complete(s, &key, true).await;
    assert_eq!(
        s.find_reusable_analysis("repo", "c1", "1.0").await.unwrap(),
        None
    );

    let older = complete(s, &key, false).await;
    let newest = complete(s, &key, false).await;
    let _truncated_later = complete(s, &key, true).await;
    let _other_parser = complete(s, &new_analysis("repo", "c1", "2.0", None), false).await;
    let _other_commit = complete(s, &new_analysis("repo", "c2", "1.0", None), false).await;
    let _other_repo = complete(s, &new_analysis("repo2", "c1", "1.0", None), false).await;

    let found = s.find_reusable_analysis("repo", "c1", "1.0").await.unwrap();
    assert_eq!(found.as_ref().map(|a| a.id), Some(newest.id));
    assert_ne!(older.id, newest.id);
    assert_eq!(found.unwrap(), newest);
    assert_eq!(
        s.find_reusable_analysis("repo", "c1", "3.0").await.unwrap(),
        None
    );
    assert_eq!(
        s.find_reusable_analysis("repo", "c9", "1.0").await.unwrap(),
        None
    );

    // Listing: newest first, by repository, limited.
    let all = s.list_analyses(None, None, 100).await.unwrap();
    assert_eq!(all.len(), 9);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id));
    let repo = s.list_analyses(Some("repo"), None, 100).await.unwrap();
    assert_eq!(repo.len(), 8);
    assert_eq!(repo.last().unwrap().id, running.id);
    let two = s.list_analyses(Some("repo"), None, 2).await.unwrap();
    assert_eq!(two.len(), 2);
    let failed = s.get_analysis(failed.id).await.unwrap().unwrap();
    assert_eq!(failed.state, AnalysisState::Failed);
    assert_eq!(failed.failure.as_deref(), Some("clone failed"));
}

async fn paging_through_a_repositorys_analyses_with_the_cursor_repeats_and_skips_none(h: Harness) {
    let s = &*h.store;
    let mut expected = Vec::new();
    for i in 0..7 {
        expected.push(
            complete(
                s,
                &new_analysis("repo", &format!("c{i}"), "1.0", None),
                false,
            )
            .await
            .id,
        );
        // Another repository's analyses interleave with this one's ids.
        complete(
            s,
            &new_analysis("other", &format!("c{i}"), "1.0", None),
            false,
        )
        .await;
    }
    expected.reverse();

    let mut seen = Vec::new();
    let mut before = None;
    // Bounded, so a cursor that is ignored fails the test instead of paging forever.
    for _ in 0..10 {
        let page = s.list_analyses(Some("repo"), before, 3).await.unwrap();
        assert!(page.len() <= 3);
        assert!(page.iter().all(|a| a.repository == "repo"));
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        seen.extend(page.iter().map(|a| a.id));
        // An analysis added between pages is newer than the cursor: it never shows up late.
        complete(s, &new_analysis("repo", "late", "1.0", None), false).await;
    }
    assert_eq!(seen, expected, "every analysis once, newest first");
    assert!(s
        .list_analyses(Some("repo"), Some(expected[6]), 3)
        .await
        .unwrap()
        .is_empty());
}

async fn beginning_again_with_the_same_run_clears_the_crashed_attempts_rows(h: Harness) {
    let s = &*h.store;
    let new = new_analysis("repo", "c1", "1.0", Some(7));
    let first = s.begin_analysis(&new).await.unwrap();
    s.insert_files(first.id, &realistic_files()).await.unwrap();
    s.insert_file_errors(first.id, &realistic_errors())
        .await
        .unwrap();
    let other_run = s
        .begin_analysis(&new_analysis("repo", "c1", "1.0", Some(8)))
        .await
        .unwrap();
    s.insert_files(other_run.id, &realistic_files()[..1])
        .await
        .unwrap();

    // The step crashed and is retried: same run, same analysis, no rows.
    let retried = s.begin_analysis(&new).await.unwrap();
    assert_eq!(retried.id, first.id);
    assert_eq!(retried.state, AnalysisState::Running);
    assert_eq!(retried.error_count, 0);
    let empty = s.load_inventory(first.id).await.unwrap();
    assert!(empty.files.is_empty() && empty.errors.is_empty());
    // The other run's rows are untouched.
    assert_eq!(s.load_inventory(other_run.id).await.unwrap().files.len(), 1);

    // The retry stores everything again without a duplicate.
    s.insert_files(retried.id, &realistic_files())
        .await
        .unwrap();
    s.finish_analysis(retried.id, &stats(false)).await.unwrap();
    assert_eq!(s.load_inventory(first.id).await.unwrap().files.len(), 3);

    // A finished analysis of the run is not restarted: a new one begins.
    let after = s.begin_analysis(&new).await.unwrap();
    assert_ne!(after.id, first.id);
    assert_eq!(s.load_inventory(first.id).await.unwrap().files.len(), 3);
}

async fn writing_to_an_analysis_that_is_not_running_is_a_conflict(h: Harness) {
    let s = &*h.store;
    let files = realistic_files();
    let done = complete(s, &new_analysis("repo", "c1", "1.0", None), false).await;
    assert_eq!(
        code_of(s.insert_files(done.id, &files).await),
        "APP_CONFLICT"
    );
    assert_eq!(
        code_of(s.insert_file_errors(done.id, &realistic_errors()).await),
        "APP_CONFLICT"
    );
    assert_eq!(
        code_of(s.finish_analysis(done.id, &stats(false)).await),
        "APP_CONFLICT"
    );
    assert_eq!(
        code_of(s.fail_analysis(done.id, "late").await),
        "APP_CONFLICT"
    );
    assert!(s.load_inventory(done.id).await.unwrap().files.is_empty());

    let failed = s
        .begin_analysis(&new_analysis("repo", "c1", "1.0", None))
        .await
        .unwrap();
    s.fail_analysis(failed.id, "boom").await.unwrap();
    // Failing again is harmless and keeps the first message.
    s.fail_analysis(failed.id, "again").await.unwrap();
    let failed = s.get_analysis(failed.id).await.unwrap().unwrap();
    assert_eq!(failed.failure.as_deref(), Some("boom"));
    assert_eq!(
        code_of(s.insert_files(failed.id, &files).await),
        "APP_CONFLICT"
    );
    assert_eq!(
        code_of(s.finish_analysis(failed.id, &stats(false)).await),
        "APP_CONFLICT"
    );

    let missing = done.id + 1000;
    assert_eq!(
        code_of(s.insert_files(missing, &files).await),
        "APP_NOT_FOUND"
    );
    assert_eq!(
        code_of(s.finish_analysis(missing, &stats(false)).await),
        "APP_NOT_FOUND"
    );
    assert_eq!(
        code_of(s.fail_analysis(missing, "x").await),
        "APP_NOT_FOUND"
    );
    assert_eq!(s.get_analysis(missing).await.unwrap(), None);
}

async fn a_duplicate_file_is_a_conflict_and_rolls_back_its_whole_batch(h: Harness) {
    let s = &*h.store;
    let a = s
        .begin_analysis(&new_analysis("repo", "c1", "1.0", None))
        .await
        .unwrap();
    let files = realistic_files();
    s.insert_files(a.id, &files[..1]).await.unwrap();
    let batch = vec![files[1].clone(), files[0].clone()];
    assert_eq!(code_of(s.insert_files(a.id, &batch).await), "APP_CONFLICT");
    let inv = s.load_inventory(a.id).await.unwrap();
    assert_eq!(inv.files, files[..1].to_vec());
}

async fn document_versions_count_per_repository_and_language_and_a_retry_adds_none(h: Harness) {
    let s = &*h.store;
    let a = complete(s, &new_analysis("r", "c1", "1.0", None), false).await;
    let b = complete(s, &new_analysis("r2", "c1", "1.0", None), false).await;

    let v1 = s
        .store_document(&new_document(a.id, "r", "en", Some(1)))
        .await
        .unwrap();
    let v2 = s
        .store_document(&new_document(a.id, "r", "en", Some(2)))
        .await
        .unwrap();
    let fr = s
        .store_document(&new_document(a.id, "r", "fr", Some(2)))
        .await
        .unwrap();
    let other = s
        .store_document(&new_document(b.id, "r2", "en", None))
        .await
        .unwrap();
    assert_eq!(
        (
            v1.head.version,
            v2.head.version,
            fr.head.version,
            other.head.version
        ),
        (1, 2, 1, 1)
    );
    assert_eq!(
        v1.content,
        serde_json::json!({ "title": "r in en", "sections": [1, 2], "version": 1 })
    );
    assert_eq!(v1.head.behaviors, 13);
    assert_eq!(v1.head.run_id, Some(1));

    // A retried step of run 2 gets its document back, not a third version.
    let again = s
        .store_document(&new_document(a.id, "r", "en", Some(2)))
        .await
        .unwrap();
    assert_eq!(again, v2);
    // Without a run id there is nothing to recognise: a new version.
    let v3 = s
        .store_document(&new_document(a.id, "r", "en", None))
        .await
        .unwrap();
    assert_eq!(v3.head.version, 3);

    assert_eq!(
        s.latest_document("r", "en").await.unwrap(),
        Some(v3.clone())
    );
    assert_eq!(
        s.latest_document("r", "fr").await.unwrap(),
        Some(fr.clone())
    );
    assert_eq!(s.latest_document("r", "de").await.unwrap(), None);
    assert_eq!(s.get_document(v1.head.id).await.unwrap(), Some(v1.clone()));
    assert_eq!(s.get_document(v3.head.id + 100).await.unwrap(), None);

    let ids = |docs: Vec<specline_app::store::DocumentHead>| -> Vec<i64> {
        docs.into_iter().map(|d| d.id).collect()
    };
    let listed = s.list_documents(None, 10).await.unwrap();
    // A listed version is its stored record without the content.
    assert_eq!(listed[0], v3.head);
    assert_eq!(
        ids(listed),
        vec![
            v3.head.id,
            other.head.id,
            fr.head.id,
            v2.head.id,
            v1.head.id
        ]
    );
    assert_eq!(
        ids(s.list_documents(Some("r"), 2).await.unwrap()),
        vec![v3.head.id, fr.head.id]
    );

    assert_eq!(
        code_of(
            s.store_document(&new_document(a.id + 1000, "r", "en", None))
                .await
        ),
        "APP_NOT_FOUND"
    );
}

/// Eight generations of one repository and language store at once, through separate stores
/// (as separate spec generators would), each carrying the stale version it guessed: the
/// store numbers them 1..=8 and writes each number into its own JSON.
async fn concurrent_generations_get_distinct_versions_written_into_their_json(h: Harness) {
    let a = complete(&*h.store, &new_analysis("r", "c1", "1.0", None), false).await;
    let mut tasks = Vec::new();
    for run in 0..8 {
        let store = h.reopen().await;
        let mut doc = new_document(a.id, "r", "en", Some(100 + run));
        doc.content["version"] = serde_json::json!(1);
        tasks.push(tokio::spawn(
            async move { store.store_document(&doc).await },
        ));
    }
    let mut versions = Vec::new();
    for t in tasks {
        let record = t.await.unwrap().unwrap();
        assert_eq!(
            record.content["version"],
            serde_json::json!(record.head.version),
            "row and JSON disagree"
        );
        let again = h.store.get_document(record.head.id).await.unwrap().unwrap();
        assert_eq!(
            again.content["version"],
            serde_json::json!(again.head.version)
        );
        versions.push(record.head.version);
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=8).collect::<Vec<i32>>());
}

fn watched(repository: &str) -> WatchedRepository {
    WatchedRepository {
        repository: repository.into(),
        branch: None,
        language: "en".into(),
        encrypted_token: None,
        created_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
    }
}

fn names(claimed: Vec<WatchedRepository>) -> Vec<String> {
    let mut names: Vec<String> = claimed.into_iter().map(|w| w.repository).collect();
    names.sort();
    names
}

/// A weekly interval (longer than any idempotency key lives) with the clock moved by hand:
/// each repository is claimed once, not again within the interval, and again after it.
async fn watched_repositories_are_claimed_once_per_interval_even_past_a_day(h: Harness) {
    let s = &*h.store;
    for r in ["a", "b", "c"] {
        s.watch(&watched(r)).await.unwrap();
    }
    let week = Duration::days(7);
    let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    assert_eq!(
        names(s.claim_due_watched(t0, week, 2).await.unwrap()).len(),
        2
    );
    assert_eq!(
        names(s.claim_due_watched(t0, week, 10).await.unwrap()).len(),
        1,
        "the limit left one for the next claim"
    );
    for later in [Duration::seconds(1), Duration::hours(25), Duration::days(6)] {
        assert_eq!(
            s.claim_due_watched(t0 + later, week, 10).await.unwrap(),
            vec![],
            "claimed again after {later}"
        );
    }
    // Watching again (a new branch) keeps the time.
    s.watch(&WatchedRepository {
        branch: Some("dev".into()),
        ..watched("a")
    })
    .await
    .unwrap();
    assert_eq!(
        s.claim_due_watched(t0 + Duration::days(6), week, 10)
            .await
            .unwrap(),
        vec![]
    );

    let t1 = t0 + week;
    assert_eq!(
        names(s.claim_due_watched(t1, week, 10).await.unwrap()),
        vec!["a", "b", "c"]
    );
    // A failed submission gives its claim back: due again at once, and only that one.
    s.release_watched_claim("b", t1).await.unwrap();
    // A stale release (of an older claim) changes nothing.
    s.release_watched_claim("c", t0).await.unwrap();
    assert_eq!(
        names(
            s.claim_due_watched(t1 + Duration::seconds(1), week, 10)
                .await
                .unwrap()
        ),
        vec!["b"]
    );
    // A new repository is due at once.
    s.watch(&watched("d")).await.unwrap();
    assert_eq!(
        names(
            s.claim_due_watched(t1 + Duration::seconds(2), week, 10)
                .await
                .unwrap()
        ),
        vec!["d"]
    );
}

/// Four schedulers (separate stores on one database) claim at the same moments: every
/// repository is claimed by exactly one of them per interval.
async fn racing_schedulers_claim_each_repository_once(h: Harness) {
    let repos: Vec<String> = (0..25).map(|i| format!("repo-{i:02}")).collect();
    for r in &repos {
        h.store.watch(&watched(r)).await.unwrap();
    }
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(h.reopen().await);
    }
    let interval = Duration::hours(48);
    let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    for round in 0..3 {
        let now = t0 + interval * round;
        let tasks: Vec<_> = stores
            .iter()
            .cloned()
            .map(|s| {
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    // Several small claims each, so the schedulers interleave.
                    for _ in 0..10 {
                        mine.extend(s.claim_due_watched(now, interval, 3).await.unwrap());
                    }
                    mine
                })
            })
            .collect();
        let mut claimed = Vec::new();
        for t in tasks {
            claimed.extend(t.await.unwrap());
        }
        assert_eq!(names(claimed), repos, "round {round}");
    }
}

async fn find_document_matches_the_whole_generator(h: Harness) {
    let s = &*h.store;
    let a = complete(s, &new_analysis("r", "c1", "1.0", None), false).await;
    let b = complete(s, &new_analysis("r", "c2", "1.0", None), false).await;
    let gemini = |model: &str, prompt: &str| NewDocument {
        generator_kind: "gemini".into(),
        model: model.into(),
        prompt_version: prompt.into(),
        ..new_document(a.id, "r", "en", None)
    };
    let offline = s
        .store_document(&new_document(a.id, "r", "en", None))
        .await
        .unwrap();
    let flash_p1 = s.store_document(&gemini("flash", "p1")).await.unwrap();
    let flash_p2 = s.store_document(&gemini("flash", "p2")).await.unwrap();
    let flash_p1_again = s.store_document(&gemini("flash", "p1")).await.unwrap();
    let _other_analysis = s
        .store_document(&new_document(b.id, "r", "en", None))
        .await
        .unwrap();

    let find =
        |kind: &'static str, model: &'static str, prompt: &'static str, lang: &'static str| {
            let id = a.id;
            async move {
                s.find_document(id, lang, kind, model, prompt)
                    .await
                    .unwrap()
                    .map(|d| d.head.id)
            }
        };
    assert_eq!(
        find("offline", "none", "p1", "en").await,
        Some(offline.head.id)
    );
    assert_eq!(
        find("gemini", "flash", "p1", "en").await,
        Some(flash_p1_again.head.id)
    );
    assert_ne!(flash_p1.head.id, flash_p1_again.head.id);
    assert_eq!(
        find("gemini", "flash", "p2", "en").await,
        Some(flash_p2.head.id)
    );
    assert_eq!(find("gemini", "pro", "p1", "en").await, None);
    assert_eq!(find("openai", "flash", "p1", "en").await, None);
    assert_eq!(find("gemini", "flash", "p1", "fr").await, None);
    assert_eq!(
        s.find_document(b.id + 1000, "en", "offline", "none", "p1")
            .await
            .unwrap(),
        None
    );
}

async fn watch_inserts_updates_and_unwatch_removes(h: Harness) {
    let s = &*h.store;
    let created = DateTime::from_timestamp(1_700_000_100, 5_000).unwrap();
    let repo = WatchedRepository {
        repository: "https://git.example/acme/shop.git".into(),
        branch: None,
        language: "en".into(),
        encrypted_token: Some("v1:nonce:cipher".into()),
        created_at: created,
    };
    let other = WatchedRepository {
        repository: "/srv/répertoire".into(),
        branch: Some("dev".into()),
        language: "fr".into(),
        encrypted_token: None,
        created_at: created,
    };
    s.watch(&repo).await.unwrap();
    s.watch(&other).await.unwrap();
    assert_eq!(
        s.get_watched(&repo.repository).await.unwrap(),
        Some(repo.clone())
    );
    assert_eq!(
        s.watched().await.unwrap(),
        vec![other.clone(), repo.clone()]
    );

    // Watching again updates in place and keeps when it was first watched.
    let updated = WatchedRepository {
        branch: Some("release".into()),
        language: "de".into(),
        encrypted_token: None,
        created_at: created + Duration::days(1),
        ..repo.clone()
    };
    s.watch(&updated).await.unwrap();
    let got = s.get_watched(&repo.repository).await.unwrap().unwrap();
    assert_eq!(
        got,
        WatchedRepository {
            created_at: created,
            ..updated
        }
    );
    assert_eq!(s.watched().await.unwrap().len(), 2);

    s.unwatch(&repo.repository).await.unwrap();
    assert_eq!(s.get_watched(&repo.repository).await.unwrap(), None);
    assert_eq!(code_of(s.unwatch(&repo.repository).await), "APP_NOT_FOUND");
    assert_eq!(s.watched().await.unwrap(), vec![other]);
}

async fn retention_keeps_the_newest_and_what_documents_need(h: Harness) {
    let s = &*h.store;
    let a = |commit: &str| new_analysis("A", commit, "1.0", None);
    let a0 = complete(s, &a("c0"), false).await;
    let a1 = complete(s, &a("c1"), false).await;
    let a2 = complete(s, &a("c2"), false).await;
    let a3 = s.begin_analysis(&a("c3")).await.unwrap();
    s.insert_files(a3.id, &realistic_files()).await.unwrap();
    s.fail_analysis(a3.id, "boom").await.unwrap();
    let a4 = s.begin_analysis(&a("c4")).await.unwrap();
    let b1 = complete(s, &new_analysis("B", "c1", "1.0", None), false).await;
    let b2 = s
        .begin_analysis(&new_analysis("B", "c2", "1.0", None))
        .await
        .unwrap();
    s.fail_analysis(b2.id, "boom").await.unwrap();

    let de1 = s
        .store_document(&new_document(a0.id, "A", "de", None))
        .await
        .unwrap();
    let de2 = s
        .store_document(&new_document(a2.id, "A", "de", None))
        .await
        .unwrap();
    let en1 = s
        .store_document(&new_document(a1.id, "A", "en", None))
        .await
        .unwrap();
    let en2 = s
        .store_document(&new_document(a1.id, "A", "en", None))
        .await
        .unwrap();
    let ben1 = s
        .store_document(&new_document(b1.id, "B", "en", None))
        .await
        .unwrap();
    let ben2 = s
        .store_document(&new_document(b1.id, "B", "en", None))
        .await
        .unwrap();

    // Nothing is old enough yet.
    let past = Utc::now() - Duration::hours(1);
    assert_eq!(s.apply_retention(past).await.unwrap(), Default::default());

    let report = s
        .apply_retention(Utc::now() + Duration::hours(1))
        .await
        .unwrap();
    // Documents: all but the newest of each (repository, language).
    // Analyses: a0 (its only document went), a3 and b2 (failed). Kept: a1 (the newest `en`
    // document needs it), a2 (newest complete of A), a4 (running), b1 (newest of B).
    assert_eq!((report.documents, report.analyses), (3, 3));
    for gone in [de1.head.id, en1.head.id, ben1.head.id] {
        assert_eq!(s.get_document(gone).await.unwrap(), None);
    }
    for kept in [&de2, &en2, &ben2] {
        assert_eq!(
            s.get_document(kept.head.id).await.unwrap().as_ref(),
            Some(kept)
        );
    }
    for gone in [a0.id, a3.id, b2.id] {
        assert_eq!(s.get_analysis(gone).await.unwrap(), None);
        assert_eq!(code_of(s.load_inventory(gone).await), "APP_NOT_FOUND");
    }
    for kept in [a1.id, a2.id, a4.id, b1.id] {
        assert!(s.get_analysis(kept).await.unwrap().is_some());
    }
    // Applying again finds nothing more.
    assert_eq!(
        s.apply_retention(Utc::now() + Duration::hours(1))
            .await
            .unwrap(),
        Default::default()
    );
}

async fn migrations_run_twice_and_concurrently_and_report_their_status(h: Harness) {
    let before = h.store.migration_status().await.unwrap();
    assert_eq!(before.current, 0);
    assert!(before.latest >= 1);
    assert!(!before.is_current());

    let mut stores = vec![h.store.clone()];
    for _ in 0..3 {
        stores.push(h.reopen().await);
    }
    let tasks: Vec<_> = stores
        .iter()
        .cloned()
        .map(|s| tokio::spawn(async move { s.migrate().await }))
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    h.store.migrate().await.unwrap();
    let after = h.store.migration_status().await.unwrap();
    assert_eq!(after.current, before.latest);
    assert!(after.is_current());
    for s in &stores {
        assert_eq!(s.migration_status().await.unwrap(), after);
    }
    // And the tables work.
    let a = complete(&*h.store, &new_analysis("r", "c", "1", None), false).await;
    assert_eq!(h.store.get_analysis(a.id).await.unwrap(), Some(a));
}

// ---------------------------------------------------------------------------------------
// Measurement (not a test): `cargo test -p specline-app --release --test store -- --ignored
// --nocapture measure`

/// 5,000 files × 10 tests (2 suites each, one nested), stored in batches of 500.
fn large_inventory() -> Vec<TestFile> {
    (0..5_000)
        .map(|i| {
            let t = |n: u32| active(&format!("test {n} of file {i}"), n + 10);
            file(
                &format!("src/module_{:02}/file_{i:05}.test.ts", i % 50),
                vec![suite(
                    &format!("suite {i}"),
                    1,
                    vec![suite("nested", 2, vec![], (0..4).map(t).collect())],
                    (4..8).map(t).collect(),
                )],
                (8..10).map(t).collect(),
            )
        })
        .collect()
}

async fn measure(h: Harness, backend: &str) {
    let s = &*h.store;
    let files = large_inventory();
    let a = s
        .begin_analysis(&new_analysis("big", "c", "1", None))
        .await
        .unwrap();
    let t = Instant::now();
    for batch in files.chunks(500) {
        s.insert_files(a.id, batch).await.unwrap();
    }
    let insert = t.elapsed();
    s.finish_analysis(a.id, &stats(false)).await.unwrap();
    let t = Instant::now();
    let inv = s.load_inventory(a.id).await.unwrap();
    let load = t.elapsed();
    assert_eq!(inv.files.len(), 5_000);
    assert_eq!(inv.walk_tests().len(), 50_000);
    let mut sorted = files;
    sorted.sort_by(|x, y| x.path.cmp(&y.path));
    assert_eq!(inv.files, sorted);
    println!(
        "{backend}: insert 5,000 files / 50,000 tests in 10 batches: {insert:?}; load: {load:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run in release with --ignored --nocapture"]
async fn measure_postgres() {
    measure(Harness::pg().await.migrated().await, "postgres").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run in release with --ignored --nocapture"]
async fn measure_sqlite() {
    measure(Harness::sqlite().await.migrated().await, "sqlite").await
}

fn entry(key: &str, value: serde_json::Value) -> CacheEntry {
    CacheEntry {
        key: key.to_string(),
        value,
    }
}

/// What one process writes another reads; a second write of a key replaces its value; retention
/// deletes by count (oldest first) and by age.
async fn the_spec_cache_is_shared_overwritten_and_pruned_by_age_and_count(h: Harness) {
    let writer = &h.store;
    let reader = h.reopen().await;
    let keys: Vec<String> = ["behavior:a", "behavior:b", "summary:c", "behavior:absent"]
        .iter()
        .map(|k| k.to_string())
        .collect();
    assert!(reader.cache_get_many(&keys).await.unwrap().is_empty());
    writer
        .cache_put_many(&[
            entry("behavior:a", serde_json::json!("Logs in")),
            entry("behavior:b", serde_json::json!("Logs out")),
        ])
        .await
        .unwrap();
    // Later than the first two, so the count limit keeps it.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    writer
        .cache_put_many(&[entry("summary:c", serde_json::json!({"text": "S"}))])
        .await
        .unwrap();
    writer
        .cache_put_many(&[entry("behavior:b", serde_json::json!("Signs out"))])
        .await
        .unwrap();
    let mut got = reader.cache_get_many(&keys).await.unwrap();
    got.sort_by(|x, y| x.key.cmp(&y.key));
    assert_eq!(
        got,
        vec![
            entry("behavior:a", serde_json::json!("Logs in")),
            entry("behavior:b", serde_json::json!("Signs out")),
            entry("summary:c", serde_json::json!({"text": "S"})),
        ]
    );
    assert_eq!(reader.cache_len().await.unwrap(), 3);

    // Nothing is old; two entries may stay: the oldest (a) goes.
    let r = writer
        .prune_spec_cache(Utc::now() - Duration::hours(1), 2)
        .await
        .unwrap();
    assert_eq!((r.expired, r.over_limit), (0, 1));
    let left: Vec<String> = reader
        .cache_get_many(&keys)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert!(!left.contains(&"behavior:a".to_string()), "{left:?}");
    assert_eq!(left.len(), 2, "{left:?}");

    // Everything is older than an hour from now.
    let r = writer
        .prune_spec_cache(Utc::now() + Duration::hours(1), 1000)
        .await
        .unwrap();
    assert_eq!((r.expired, r.over_limit), (2, 0));
    assert_eq!(reader.cache_len().await.unwrap(), 0);
}

/// A diff is stored with its version, a second one for the same version is ignored (a retried
/// step), and retention deleting the version deletes its diff.
async fn a_versions_diff_is_stored_once_and_leaves_with_its_version(h: Harness) {
    let s = &*h.store;
    let a = complete(s, &new_analysis("r", "c1", "1.0", None), false).await;
    let v1 = s
        .store_document(&new_document(a.id, "r", "en", Some(1)))
        .await
        .unwrap();
    let v2 = s
        .store_document(&new_document(a.id, "r", "en", Some(2)))
        .await
        .unwrap();
    let v3 = s
        .store_document(&new_document(a.id, "r", "en", Some(3)))
        .await
        .unwrap();
    assert_eq!(s.document_diff(v2.head.id).await.unwrap(), None);
    let diff = |added: i64| NewDocumentDiff {
        document_id: v2.head.id,
        base_document_id: v1.head.id,
        added,
        removed: 1,
        reworded: 0,
        moved: 2,
        content: serde_json::json!({"added": added}),
    };
    s.store_document_diff(&diff(3)).await.unwrap();
    s.store_document_diff(&diff(9)).await.unwrap();
    let got = h
        .reopen()
        .await
        .document_diff(v2.head.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.diff, diff(3), "the first diff stays");
    // Retention keeps only the newest version (v3): v2 and its diff go.
    s.apply_retention(Utc::now() + Duration::hours(1))
        .await
        .unwrap();
    assert!(s.get_document(v3.head.id).await.unwrap().is_some());
    assert_eq!(s.document_diff(v2.head.id).await.unwrap(), None);
}

fn usage(run_id: i64, owner: &str, phase: &str, calls: i64) -> PhaseUsage {
    PhaseUsage {
        run_id,
        owner: owner.into(),
        repository: "r".into(),
        language: "en".into(),
        phase: phase.into(),
        calls,
        prompt_tokens: calls * 100,
        output_tokens: calls * 20,
    }
}

/// Record run `run_id`'s `calls` of `phase` for `owner` (replacing the row, as a step does).
async fn record(s: &dyn AppStore, run_id: i64, owner: &str, phase: &str, calls: i64) {
    s.record_usage(&usage(run_id, owner, phase, calls))
        .await
        .unwrap();
}

/// Store a document of repository `r` and tie run `run_id`'s usage rows to it; returns it
/// and its rows' `(phase, calls)` in phase order, having checked that each row names it.
async fn store_with_usage_of(
    s: &dyn AppStore,
    run_id: i64,
) -> (specline_app::store::DocumentRecord, Vec<(String, i64)>) {
    let a = complete(s, &new_analysis("r", "c1", "1.0", None), false).await;
    let doc = s
        .store_document(&new_document(a.id, "r", "en", Some(1)))
        .await
        .unwrap();
    s.attach_usage(run_id, doc.head.id).await.unwrap();
    let rows = s.document_usage(doc.head.id).await.unwrap();
    assert!(rows.iter().all(|r| r.document_id == Some(doc.head.id)));
    let mut phases: Vec<(String, i64)> = rows
        .into_iter()
        .map(|r| (r.usage.phase, r.usage.calls))
        .collect();
    phases.sort();
    (doc, phases)
}

/// A retried phase replaces its row; an owner's total counts every run and phase since a
/// time; a document's rows are those of the run that stored it.
async fn model_usage_is_recorded_once_per_run_and_phase_and_summed_per_owner(h: Harness) {
    let s = &*h.store;
    let start = Utc::now() - Duration::seconds(1);
    record(s, 1, "ann", "classify", 2).await;
    record(s, 1, "ann", "convert", 5).await;
    // The convert step ran again after a crash: its row is replaced, not added.
    record(s, 1, "ann", "convert", 4).await;
    record(s, 2, "ann", "classify", 1).await;
    record(s, 3, "bob", "classify", 7).await;
    let ann = h.reopen().await.owner_usage("ann", start).await.unwrap();
    assert_eq!(
        (ann.calls, ann.prompt_tokens, ann.output_tokens),
        (7, 700, 140)
    );
    assert_eq!(s.owner_usage("bob", start).await.unwrap().calls, 7);
    assert_eq!(
        s.owner_usage("ann", Utc::now() + Duration::hours(1))
            .await
            .unwrap()
            .calls,
        0
    );
    let (doc, phases) = store_with_usage_of(s, 1).await;
    assert_eq!(
        phases,
        vec![("classify".to_string(), 2), ("convert".to_string(), 4)]
    );

    // Retention: run 1's rows belong to a stored document and stay; the others go.
    let deleted = s
        .prune_usage(Utc::now() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    assert_eq!(s.document_usage(doc.head.id).await.unwrap().len(), 2);
    assert_eq!(s.owner_usage("bob", start).await.unwrap().calls, 0);
}

/// Failed conversion attempts add up in their own row (two generator processes may add at
/// once), which the conversion's row, written later and replaced on a retry, leaves alone;
/// the owner's total counts both.
async fn failed_conversions_add_up_and_survive_the_conversions_row(h: Harness) {
    let s = h.store.clone();
    let start = Utc::now() - Duration::seconds(1);
    let adds: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                s.add_usage(&usage(1, "ann", FAILED_CONVERT_PHASE, 1))
                    .await
                    .unwrap()
            })
        })
        .collect();
    for a in adds {
        a.await.unwrap();
    }
    record(&*s, 1, "ann", "convert", 5).await;
    record(&*s, 1, "ann", "convert", 4).await;
    s.add_usage(&usage(1, "ann", FAILED_CONVERT_PHASE, 2))
        .await
        .unwrap();
    let ann = h.reopen().await.owner_usage("ann", start).await.unwrap();
    assert_eq!(
        (ann.calls, ann.prompt_tokens, ann.output_tokens),
        (14, 1400, 280)
    );
    let (_, phases) = store_with_usage_of(&*s, 1).await;
    assert_eq!(
        phases,
        vec![
            ("convert".to_string(), 4),
            (FAILED_CONVERT_PHASE.to_string(), 10)
        ]
    );
}

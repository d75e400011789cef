//! The SQLite driver, on the engine's connection and file.
//!
//! Writes go through the engine's [`SqliteStore::transaction`] (`BEGIN IMMEDIATE`: one writer
//! at a time, also across processes), reads through [`SqliteStore::read`]. Rows of a batch
//! are inserted with cached prepared statements, one execution per row inside one
//! transaction: SQLite runs in-process, so there is no round trip to save by packing rows
//! into one statement, and `last_insert_rowid` hands each suite its id for its children.
//! Times are stored as microseconds since the epoch, JSON as text; the layout otherwise
//! mirrors the PostgreSQL one (see `postgres.rs` for why the inventory tables reference only
//! their analysis).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use specline_inventory_model::{FileError, Inventory, ScanStats, Suite, Test, TestFile};
use specline_queue::store::SqliteStore;

use super::rows::{
    self, RowRead, ANALYSIS_COLUMNS, DOCUMENT_COLUMNS, DOCUMENT_HEAD_COLUMNS, ERROR_COLUMNS,
    FILE_COLUMNS, SUITE_COLUMNS, TEST_COLUMNS, WATCHED_COLUMNS,
};
use super::{
    AnalysisRecord, AnalysisState, AppMigrationStatus, AppStore, DocumentHead, DocumentRecord,
    NewAnalysis, NewDocument, Result, RetentionReport, StoreError, WatchedRepository,
};

mod api;
mod document_diff;
mod model_usage;
mod spec_cache;

/// Migrations of the application's tables, in order. Never edit one that has shipped.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "analyses, inventory rows, documents, watched repositories",
        MIGRATION_1,
    ),
    (
        2,
        "watched repositories remember their last periodic submission",
        MIGRATION_2,
    ),
    (3, "api tokens and runs", api::MIGRATION_3),
    (
        4,
        "spec generator model-answer cache",
        spec_cache::MIGRATION_4,
    ),
    (
        5,
        "diffs between document versions",
        document_diff::MIGRATION_5,
    ),
    (
        6,
        "model calls and tokens per run and phase",
        model_usage::MIGRATION_6,
    ),
    (7, "tests keep their documentation", MIGRATION_7),
    (8, "tests keep their statically known cases", MIGRATION_8),
];

/// See the PostgreSQL migration 8 (the names are JSON text).
const MIGRATION_8: &str = r#"
ALTER TABLE specline_inventory_tests ADD COLUMN case_count INTEGER;
ALTER TABLE specline_inventory_tests ADD COLUMN case_names TEXT;
"#;

/// See the PostgreSQL migration 7.
const MIGRATION_7: &str = r#"
ALTER TABLE specline_inventory_tests ADD COLUMN doc TEXT;
"#;

/// See the PostgreSQL migration 2 (times in microseconds; SQLite sorts NULLs first).
const MIGRATION_2: &str = r#"
ALTER TABLE specline_watched_repositories ADD COLUMN last_submitted_at INTEGER;
CREATE INDEX specline_watched_repositories_due
  ON specline_watched_repositories (last_submitted_at);
"#;

const MIGRATION_1: &str = r#"
-- AUTOINCREMENT: an id handed out is never reused after retention deletes its row.
CREATE TABLE specline_analyses (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  repository     TEXT NOT NULL,
  commit_sha     TEXT,
  branch         TEXT,
  commit_time    INTEGER,
  parser_version TEXT NOT NULL,
  run_id         INTEGER,
  state          TEXT NOT NULL CHECK (state IN ('running', 'complete', 'failed')),
  stats          TEXT,
  truncated      INTEGER NOT NULL DEFAULT 0,
  failure        TEXT,
  started_at     INTEGER NOT NULL,
  finished_at    INTEGER
);
CREATE INDEX specline_analyses_reuse ON specline_analyses (repository, commit_sha, parser_version, id)
  WHERE state = 'complete' AND NOT truncated;
CREATE INDEX specline_analyses_repository ON specline_analyses (repository, id);
CREATE INDEX specline_analyses_run ON specline_analyses (run_id) WHERE state = 'running';
CREATE INDEX specline_analyses_finished ON specline_analyses (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE specline_inventory_files (
  id           INTEGER PRIMARY KEY,
  analysis_id  INTEGER NOT NULL REFERENCES specline_analyses (id) ON DELETE CASCADE,
  path         TEXT NOT NULL,
  language     TEXT NOT NULL,
  framework    TEXT NOT NULL,
  domain_hints TEXT NOT NULL,
  UNIQUE (analysis_id, path)
);

CREATE TABLE specline_inventory_suites (
  id           INTEGER PRIMARY KEY,
  analysis_id  INTEGER NOT NULL REFERENCES specline_analyses (id) ON DELETE CASCADE,
  file_id      INTEGER NOT NULL,
  parent_id    INTEGER,
  position     INTEGER NOT NULL,
  name         TEXT NOT NULL,
  start_line   INTEGER NOT NULL,
  start_column INTEGER NOT NULL,
  end_line     INTEGER NOT NULL,
  end_column   INTEGER NOT NULL,
  status       TEXT NOT NULL,
  modifier     TEXT
);
CREATE INDEX specline_inventory_suites_analysis ON specline_inventory_suites (analysis_id);

CREATE TABLE specline_inventory_tests (
  id           INTEGER PRIMARY KEY,
  analysis_id  INTEGER NOT NULL REFERENCES specline_analyses (id) ON DELETE CASCADE,
  file_id      INTEGER NOT NULL,
  suite_id     INTEGER,
  position     INTEGER NOT NULL,
  name         TEXT NOT NULL,
  start_line   INTEGER NOT NULL,
  start_column INTEGER NOT NULL,
  end_line     INTEGER NOT NULL,
  end_column   INTEGER NOT NULL,
  status       TEXT NOT NULL,
  modifier     TEXT,
  dynamic      INTEGER NOT NULL
);
CREATE INDEX specline_inventory_tests_analysis ON specline_inventory_tests (analysis_id);

CREATE TABLE specline_inventory_errors (
  id          INTEGER PRIMARY KEY,
  analysis_id INTEGER NOT NULL REFERENCES specline_analyses (id) ON DELETE CASCADE,
  path        TEXT NOT NULL,
  phase       TEXT NOT NULL,
  code        TEXT NOT NULL,
  message     TEXT NOT NULL
);
CREATE INDEX specline_inventory_errors_analysis ON specline_inventory_errors (analysis_id);

CREATE TABLE specline_documents (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  analysis_id    INTEGER NOT NULL REFERENCES specline_analyses (id),
  repository     TEXT NOT NULL,
  language       TEXT NOT NULL,
  version        INTEGER NOT NULL,
  generator_kind TEXT NOT NULL,
  model          TEXT NOT NULL,
  prompt_version TEXT NOT NULL,
  content        TEXT NOT NULL,
  behaviors      INTEGER NOT NULL,
  run_id         INTEGER,
  created_at     INTEGER NOT NULL,
  UNIQUE (repository, language, version)
);
CREATE INDEX specline_documents_analysis ON specline_documents
  (analysis_id, language, generator_kind, model, prompt_version);
CREATE INDEX specline_documents_run ON specline_documents (run_id) WHERE run_id IS NOT NULL;
CREATE INDEX specline_documents_repository ON specline_documents (repository, id);
CREATE INDEX specline_documents_created ON specline_documents (created_at);

CREATE TABLE specline_watched_repositories (
  repository      TEXT PRIMARY KEY,
  branch          TEXT,
  language        TEXT NOT NULL,
  encrypted_token TEXT,
  created_at      INTEGER NOT NULL
);
"#;

/// The application's store on SQLite. Cheap to clone.
#[derive(Clone)]
pub struct SqliteAppStore {
    store: SqliteStore,
}

impl SqliteAppStore {
    /// Use the engine's connection, so the application's tables live in the engine's file.
    pub fn new(store: &SqliteStore) -> SqliteAppStore {
        SqliteAppStore {
            store: store.clone(),
        }
    }

    /// Run `f` in one write transaction; any error from `f` rolls it back.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T> + Send + 'static,
    {
        // The engine's transaction rolls back only on its own error type; the application's
        // error waits here meanwhile, so the caller gets it unchanged.
        let failure: Arc<Mutex<Option<StoreError>>> = Arc::default();
        let slot = failure.clone();
        let out = self
            .store
            .transaction(move |tx| {
                f(tx.conn()).map_err(|e| {
                    let message = e.to_string();
                    if let Ok(mut s) = slot.lock() {
                        *s = Some(e);
                    }
                    specline_queue::Error::Runtime(message)
                })
            })
            .await;
        out.map_err(|e| {
            failure
                .lock()
                .ok()
                .and_then(|mut s| s.take())
                .unwrap_or_else(|| e.into())
        })
    }

    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.store.read(f).await
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(format!("sqlite: {e}"))
    }
}

impl From<specline_queue::Error> for StoreError {
    fn from(e: specline_queue::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(us: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {us} is out of range")))
}

fn opt_from_micros(us: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    us.map(from_micros).transpose()
}

fn json(text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("stored JSON: {e}")))
}

impl RowRead for Row<'_> {
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.get(i)?)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        Ok(self.get(i)?)
    }
    fn int32(&self, i: usize) -> Result<i32> {
        Ok(self.get(i)?)
    }
    fn text(&self, i: usize) -> Result<String> {
        Ok(self.get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.get(i)?)
    }
    fn flag(&self, i: usize) -> Result<bool> {
        Ok(self.get(i)?)
    }
    fn opt_time(&self, i: usize) -> Result<Option<DateTime<Utc>>> {
        opt_from_micros(self.get(i)?)
    }
    fn opt_json(&self, i: usize) -> Result<Option<serde_json::Value>> {
        self.get::<_, Option<String>>(i)?
            .as_deref()
            .map(json)
            .transpose()
    }
}

/// All rows of one query, each mapped by `f` (which may fail with the store's own errors).
fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl Fn(&Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(f(r)?);
    }
    Ok(out)
}

/// The first row of one query, if any, mapped by `f`.
fn query_first<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl Fn(&Row<'_>) -> Result<T>,
) -> Result<Option<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    rows.next()?.map(f).transpose()
}

fn current_state(conn: &Connection, id: i64) -> Result<Option<AnalysisState>> {
    let state: Option<String> = conn
        .query_row(
            "SELECT state FROM specline_analyses WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    state.as_deref().map(rows::parse_state).transpose()
}

/// Require the analysis to be running (the write transaction already excludes other writers).
fn require_running(conn: &Connection, id: i64) -> Result<()> {
    match current_state(conn, id)? {
        Some(AnalysisState::Running) => Ok(()),
        other => Err(rows::not_running(id, other)),
    }
}

fn get_analysis(conn: &Connection, id: i64) -> Result<Option<AnalysisRecord>> {
    query_first(
        conn,
        &format!("SELECT {ANALYSIS_COLUMNS} FROM specline_analyses a WHERE a.id = ?1"),
        [id],
        |r| rows::analysis(r),
    )
}

fn get_document(conn: &Connection, id: i64) -> Result<Option<DocumentRecord>> {
    query_first(
        conn,
        &format!("SELECT {DOCUMENT_COLUMNS} FROM specline_documents WHERE id = ?1"),
        [id],
        |r| rows::document(r),
    )
}

/// A record just written in this transaction: its absence means the database lost it.
fn written<T>(what: &str, id: i64, found: Option<T>) -> Result<T> {
    found.ok_or_else(|| StoreError::Database(format!("{what} {id} vanished after being written")))
}

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn insert_batch(
    tx: &rusqlite::Transaction<'_>,
    analysis_id: i64,
    files: &[TestFile],
) -> Result<()> {
    let batch = rows::flatten(files);
    let mut file_stmt = tx.prepare_cached(
        "INSERT INTO specline_inventory_files (analysis_id, path, language, framework, domain_hints)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut suite_stmt = tx.prepare_cached(
        "INSERT INTO specline_inventory_suites (analysis_id, file_id, parent_id, position, name,
           start_line, start_column, end_line, end_column, status, modifier)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let mut test_stmt = tx.prepare_cached(
        "INSERT INTO specline_inventory_tests (analysis_id, file_id, suite_id, position, name,
           start_line, start_column, end_line, end_column, status, modifier, dynamic, doc,
           case_count, case_names)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    let mut file_ids = Vec::with_capacity(files.len());
    for f in files {
        let inserted = file_stmt.execute(params![
            analysis_id,
            f.path,
            f.language,
            f.framework,
            rows::hints_json(f).to_string()
        ]);
        match inserted {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
            {
                return Err(StoreError::Conflict(format!(
                    "analysis {analysis_id} already has the file {}",
                    f.path
                )))
            }
            other => other?,
        };
        file_ids.push(tx.last_insert_rowid());
    }
    // Pre-order: a suite's parent was inserted (and has its id) before it.
    let mut suite_ids: Vec<i64> = Vec::with_capacity(batch.suites.len());
    for row in &batch.suites {
        let s: &Suite = row.suite;
        let l = rows::location_values(&s.location);
        suite_stmt.execute(params![
            analysis_id,
            file_ids[row.file],
            row.parent.map(|p| suite_ids[p]),
            row.position,
            s.name,
            l[0],
            l[1],
            l[2],
            l[3],
            rows::status_str(s.status),
            s.modifier
        ])?;
        suite_ids.push(tx.last_insert_rowid());
    }
    for row in &batch.tests {
        let t: &Test = row.test;
        let l = rows::location_values(&t.location);
        let (case_count, case_names) = rows::cases_values(t.cases.as_ref());
        test_stmt.execute(params![
            analysis_id,
            file_ids[row.file],
            row.suite.map(|p| suite_ids[p]),
            row.position,
            t.name,
            l[0],
            l[1],
            l[2],
            l[3],
            rows::status_str(t.status),
            t.modifier,
            t.dynamic,
            t.doc,
            case_count,
            case_names.map(|v| v.to_string())
        ])?;
    }
    Ok(())
}

fn load_inventory(conn: &Connection, analysis_id: i64) -> Result<Inventory> {
    let analysis = get_analysis(conn, analysis_id)?
        .ok_or_else(|| StoreError::NotFound(format!("analysis {analysis_id} does not exist")))?;
    let select = |table: &str, columns: &str, order: &str| {
        format!("SELECT {columns} FROM {table} WHERE analysis_id = ?1{order}")
    };
    let files = query_all(
        conn,
        &select("specline_inventory_files", FILE_COLUMNS, ""),
        [analysis_id],
        |r| rows::loaded_file(r),
    )?;
    let suites = query_all(
        conn,
        &select("specline_inventory_suites", SUITE_COLUMNS, ""),
        [analysis_id],
        |r| rows::loaded_suite(r),
    )?;
    let tests = query_all(
        conn,
        &select("specline_inventory_tests", TEST_COLUMNS, ""),
        [analysis_id],
        |r| rows::loaded_test(r),
    )?;
    let errors = query_all(
        conn,
        &select("specline_inventory_errors", ERROR_COLUMNS, " ORDER BY id"),
        [analysis_id],
        |r| rows::file_error(r),
    )?;
    Ok(rows::inventory(
        analysis,
        rows::assemble(files, suites, tests)?,
        errors,
    ))
}

#[async_trait]
impl AppStore for SqliteAppStore {
    async fn migrate(&self) -> Result<()> {
        self.write(|tx| {
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS specline_app_migrations (
                   version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
            )?;
            let current: i32 = tx.query_row(
                "SELECT COALESCE(max(version), 0) FROM specline_app_migrations",
                [],
                |r| r.get(0),
            )?;
            let latest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
            if current > latest {
                return Err(StoreError::Conflict(format!(
                    "the application's tables are at version {current}, newer than this build ({latest}); upgrade specline"
                )));
            }
            for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
                tx.execute_batch(sql)?;
                tx.execute(
                    "INSERT INTO specline_app_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                    params![version, name, micros(Utc::now())],
                )?;
            }
            Ok(())
        })
        .await
    }

    async fn migration_status(&self) -> Result<AppMigrationStatus> {
        self.read(|conn| {
            let latest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
            let exists: bool = conn.query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'specline_app_migrations'",
                [],
                |r| r.get(0),
            )?;
            let current = if exists {
                conn.query_row(
                    "SELECT COALESCE(max(version), 0) FROM specline_app_migrations",
                    [],
                    |r| r.get(0),
                )?
            } else {
                0
            };
            Ok(AppMigrationStatus { current, latest })
        })
        .await
    }

    async fn find_reusable_analysis(
        &self,
        repository: &str,
        commit: &str,
        parser_version: &str,
    ) -> Result<Option<AnalysisRecord>> {
        let (repository, commit, parser_version) = (
            repository.to_string(),
            commit.to_string(),
            parser_version.to_string(),
        );
        self.read(move |conn| {
            query_first(
                conn,
                &format!(
                    "SELECT {ANALYSIS_COLUMNS} FROM specline_analyses a
                     WHERE a.repository = ?1 AND a.commit_sha = ?2 AND a.parser_version = ?3
                       AND a.state = 'complete' AND NOT a.truncated
                     ORDER BY a.id DESC LIMIT 1"
                ),
                params![repository, commit, parser_version],
                |r| rows::analysis(r),
            )
        })
        .await
    }

    async fn begin_analysis(&self, new: &NewAnalysis) -> Result<AnalysisRecord> {
        let new = new.clone();
        self.write(move |tx| {
            let now = micros(Utc::now());
            let restart: Option<i64> = match new.run_id {
                Some(run) => tx
                    .query_row(
                        "SELECT id FROM specline_analyses WHERE run_id = ?1 AND state = 'running'
                         ORDER BY id DESC LIMIT 1",
                        [run],
                        |r| r.get(0),
                    )
                    .optional()?,
                None => None,
            };
            let commit_time = new.commit_time.map(micros);
            let id = match restart {
                Some(id) => {
                    for table in [
                        "specline_inventory_tests",
                        "specline_inventory_suites",
                        "specline_inventory_files",
                        "specline_inventory_errors",
                    ] {
                        tx.execute(&format!("DELETE FROM {table} WHERE analysis_id = ?1"), [id])?;
                    }
                    tx.execute(
                        "UPDATE specline_analyses SET repository = ?2, commit_sha = ?3, branch = ?4,
                           commit_time = ?5, parser_version = ?6, stats = NULL, truncated = 0,
                           failure = NULL, started_at = ?7, finished_at = NULL
                         WHERE id = ?1",
                        params![
                            id,
                            new.repository,
                            new.commit,
                            new.branch,
                            commit_time,
                            new.parser_version,
                            now
                        ],
                    )?;
                    id
                }
                None => {
                    tx.execute(
                        "INSERT INTO specline_analyses (repository, commit_sha, branch, commit_time,
                           parser_version, run_id, state, started_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'running', ?7)",
                        params![
                            new.repository,
                            new.commit,
                            new.branch,
                            commit_time,
                            new.parser_version,
                            new.run_id,
                            now
                        ],
                    )?;
                    tx.last_insert_rowid()
                }
            };
            written("analysis", id, get_analysis(tx, id)?)
        })
        .await
    }

    async fn insert_files(&self, analysis_id: i64, files: &[TestFile]) -> Result<()> {
        // The batch is moved to the blocking thread; a copy is the price of an owned closure.
        let files = files.to_vec();
        self.write(move |tx| {
            require_running(tx, analysis_id)?;
            insert_batch(tx, analysis_id, &files)
        })
        .await
    }

    async fn insert_file_errors(&self, analysis_id: i64, errors: &[FileError]) -> Result<()> {
        let errors = errors.to_vec();
        self.write(move |tx| {
            require_running(tx, analysis_id)?;
            let mut stmt = tx.prepare_cached(
                "INSERT INTO specline_inventory_errors (analysis_id, path, phase, code, message)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for e in &errors {
                stmt.execute(params![
                    analysis_id,
                    e.path,
                    rows::phase_str(e.phase),
                    e.code,
                    e.message
                ])?;
            }
            Ok(())
        })
        .await
    }

    async fn finish_analysis(&self, analysis_id: i64, stats: &ScanStats) -> Result<AnalysisRecord> {
        let stats_text = rows::stats_json(stats).to_string();
        let truncated = stats.truncated;
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE specline_analyses SET state = 'complete', stats = ?2, truncated = ?3,
                   finished_at = ?4
                 WHERE id = ?1 AND state = 'running'",
                params![analysis_id, stats_text, truncated, micros(Utc::now())],
            )?;
            if n == 0 {
                return Err(rows::not_running(
                    analysis_id,
                    current_state(tx, analysis_id)?,
                ));
            }
            written("analysis", analysis_id, get_analysis(tx, analysis_id)?)
        })
        .await
    }

    async fn fail_analysis(&self, analysis_id: i64, message: &str) -> Result<()> {
        let message = message.to_string();
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE specline_analyses SET state = 'failed', failure = ?2, finished_at = ?3
                 WHERE id = ?1 AND state = 'running'",
                params![analysis_id, message, micros(Utc::now())],
            )?;
            if n == 1 {
                return Ok(());
            }
            match current_state(tx, analysis_id)? {
                Some(AnalysisState::Failed) => Ok(()),
                other => Err(rows::not_running(analysis_id, other)),
            }
        })
        .await
    }

    async fn get_analysis(&self, analysis_id: i64) -> Result<Option<AnalysisRecord>> {
        self.read(move |conn| get_analysis(conn, analysis_id)).await
    }

    async fn list_analyses(
        &self,
        repository: Option<&str>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AnalysisRecord>> {
        let repository = repository.map(str::to_string);
        self.read(move |conn| {
            query_all(
                conn,
                &format!(
                    "SELECT {ANALYSIS_COLUMNS} FROM specline_analyses a
                     WHERE (?1 IS NULL OR a.repository = ?1) AND a.id < ?2
                     ORDER BY a.id DESC LIMIT ?3"
                ),
                params![repository, before.unwrap_or(i64::MAX), limit_of(limit)],
                |r| rows::analysis(r),
            )
        })
        .await
    }

    async fn load_inventory(&self, analysis_id: i64) -> Result<Inventory> {
        self.read(move |conn| {
            // One read snapshot for the five queries (another process may be writing).
            let tx = conn.unchecked_transaction()?;
            let inventory = load_inventory(&tx, analysis_id)?;
            tx.commit()?;
            Ok(inventory)
        })
        .await
    }

    async fn find_document(
        &self,
        analysis_id: i64,
        language: &str,
        generator_kind: &str,
        model: &str,
        prompt_version: &str,
    ) -> Result<Option<DocumentRecord>> {
        let key = [language, generator_kind, model, prompt_version].map(str::to_string);
        self.read(move |conn| {
            query_first(
                conn,
                &format!(
                    "SELECT {DOCUMENT_COLUMNS} FROM specline_documents
                     WHERE analysis_id = ?1 AND language = ?2 AND generator_kind = ?3
                       AND model = ?4 AND prompt_version = ?5
                     ORDER BY version DESC LIMIT 1"
                ),
                params![analysis_id, key[0], key[1], key[2], key[3]],
                |r| rows::document(r),
            )
        })
        .await
    }

    async fn store_document(&self, doc: &NewDocument) -> Result<DocumentRecord> {
        let doc = doc.clone();
        self.write(move |tx| {
            // The write transaction is the only writer: checking then inserting cannot race.
            if let Some(run) = doc.run_id {
                let existing = query_first(
                    tx,
                    &format!(
                        "SELECT {DOCUMENT_COLUMNS} FROM specline_documents
                         WHERE run_id = ?1 AND analysis_id = ?2 AND language = ?3
                         ORDER BY version DESC LIMIT 1"
                    ),
                    params![run, doc.analysis_id, doc.language],
                    |r| rows::document(r),
                )?;
                if let Some(d) = existing {
                    return Ok(d);
                }
            }
            if current_state(tx, doc.analysis_id)?.is_none() {
                return Err(StoreError::NotFound(format!(
                    "analysis {} does not exist",
                    doc.analysis_id
                )));
            }
            let version: i32 = tx.query_row(
                "SELECT COALESCE(max(version), 0) + 1 FROM specline_documents
                 WHERE repository = ?1 AND language = ?2",
                params![doc.repository, doc.language],
                |r| r.get(0),
            )?;
            let content = super::stamp_version(&doc.content, version);
            tx.execute(
                "INSERT INTO specline_documents (analysis_id, repository, language, version,
                   generator_kind, model, prompt_version, content, behaviors, run_id, created_at)
                 VALUES (?1, ?2, ?3, ?11, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    doc.analysis_id,
                    doc.repository,
                    doc.language,
                    doc.generator_kind,
                    doc.model,
                    doc.prompt_version,
                    content.to_string(),
                    doc.behaviors,
                    doc.run_id,
                    micros(Utc::now()),
                    version
                ],
            )?;
            let id = tx.last_insert_rowid();
            written("document", id, get_document(tx, id)?)
        })
        .await
    }

    async fn get_document(&self, id: i64) -> Result<Option<DocumentRecord>> {
        self.read(move |conn| get_document(conn, id)).await
    }

    async fn latest_document(
        &self,
        repository: &str,
        language: &str,
    ) -> Result<Option<DocumentRecord>> {
        let (repository, language) = (repository.to_string(), language.to_string());
        self.read(move |conn| {
            query_first(
                conn,
                &format!(
                    "SELECT {DOCUMENT_COLUMNS} FROM specline_documents
                     WHERE repository = ?1 AND language = ?2 ORDER BY version DESC LIMIT 1"
                ),
                params![repository, language],
                |r| rows::document(r),
            )
        })
        .await
    }

    async fn list_documents(
        &self,
        repository: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DocumentHead>> {
        let repository = repository.map(str::to_string);
        self.read(move |conn| {
            query_all(
                conn,
                &format!(
                    "SELECT {DOCUMENT_HEAD_COLUMNS} FROM specline_documents
                     WHERE ?1 IS NULL OR repository = ?1 ORDER BY id DESC LIMIT ?2"
                ),
                params![repository, limit_of(limit)],
                |r| rows::document_head(r),
            )
        })
        .await
    }

    async fn watch(&self, repo: &WatchedRepository) -> Result<()> {
        let repo = repo.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO specline_watched_repositories
                   (repository, branch, language, encrypted_token, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (repository) DO UPDATE SET branch = excluded.branch,
                   language = excluded.language, encrypted_token = excluded.encrypted_token",
                params![
                    repo.repository,
                    repo.branch,
                    repo.language,
                    repo.encrypted_token,
                    micros(repo.created_at)
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn unwatch(&self, repository: &str) -> Result<()> {
        let repository = repository.to_string();
        self.write(move |tx| {
            let n = tx.execute(
                "DELETE FROM specline_watched_repositories WHERE repository = ?1",
                [&repository],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound(format!(
                    "repository {repository} is not watched"
                )));
            }
            Ok(())
        })
        .await
    }

    async fn claim_due_watched(
        &self,
        now: DateTime<Utc>,
        interval: chrono::Duration,
        limit: usize,
    ) -> Result<Vec<WatchedRepository>> {
        let due_before = super::due_before(now, interval);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // The write transaction is the only writer (also across processes): the select and
        // the update cannot interleave with another scheduler's.
        self.write(move |tx| {
            query_all(
                tx,
                &format!(
                    "UPDATE specline_watched_repositories SET last_submitted_at = ?1
                     WHERE repository IN (
                       SELECT repository FROM specline_watched_repositories
                       WHERE last_submitted_at IS NULL OR last_submitted_at <= ?2
                       ORDER BY last_submitted_at, repository
                       LIMIT ?3)
                     RETURNING {WATCHED_COLUMNS}"
                ),
                params![micros(now), micros(due_before), limit],
                |r| rows::watched(r),
            )
        })
        .await
    }

    async fn release_watched_claim(
        &self,
        repository: &str,
        claimed_at: DateTime<Utc>,
    ) -> Result<()> {
        let repository = repository.to_string();
        self.write(move |tx| {
            tx.execute(
                "UPDATE specline_watched_repositories SET last_submitted_at = NULL
                 WHERE repository = ?1 AND last_submitted_at = ?2",
                params![repository, micros(claimed_at)],
            )?;
            Ok(())
        })
        .await
    }

    async fn watched(&self) -> Result<Vec<WatchedRepository>> {
        self.read(|conn| {
            query_all(
                conn,
                &format!(
                    "SELECT {WATCHED_COLUMNS} FROM specline_watched_repositories ORDER BY repository"
                ),
                [],
                |r| rows::watched(r),
            )
        })
        .await
    }

    async fn get_watched(&self, repository: &str) -> Result<Option<WatchedRepository>> {
        let repository = repository.to_string();
        self.read(move |conn| {
            query_first(
                conn,
                &format!(
                    "SELECT {WATCHED_COLUMNS} FROM specline_watched_repositories WHERE repository = ?1"
                ),
                [repository],
                |r| rows::watched(r),
            )
        })
        .await
    }

    async fn apply_retention(&self, before: DateTime<Utc>) -> Result<RetentionReport> {
        let before = micros(before);
        self.write(move |tx| {
            // Documents first: the analyses they no longer keep become deletable below.
            let documents = tx.execute(
                "DELETE FROM specline_documents AS d WHERE d.created_at < ?1
                   AND d.version < (SELECT max(x.version) FROM specline_documents x
                                    WHERE x.repository = d.repository AND x.language = d.language)",
                [before],
            )?;
            let analyses = tx.execute(
                "DELETE FROM specline_analyses AS a
                 WHERE a.state <> 'running' AND a.finished_at < ?1
                   AND a.id IS NOT (SELECT max(x.id) FROM specline_analyses x
                                    WHERE x.repository = a.repository AND x.state = 'complete')
                   AND NOT EXISTS (SELECT 1 FROM specline_documents d WHERE d.analysis_id = a.id)",
                [before],
            )?;
            Ok(RetentionReport {
                analyses: analyses as u64,
                documents: documents as u64,
            })
        })
        .await
    }
}

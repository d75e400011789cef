//! The SQLite driver: the embedded default for one machine.
//!
//! One connection in WAL mode with `synchronous = FULL` (a committed job survives power
//! loss), used from a blocking thread. Writers take the lock up front (`BEGIN IMMEDIATE`), so
//! several processes may share one file: check-then-insert of unique jobs is race-free because
//! SQLite has one writer at a time, and the unique index stays as the backstop.
//! Wake-ups are an in-process broadcast sent after each commit; other processes on the
//! same file find work by polling.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use tokio::sync::broadcast;

use super::json_contains;
use super::{
    Backend, Lease, MigrationStatus, PruneSpec, Rescue, StaleJob, StateCounts, StepInputs, Store,
    Wakeup,
};
use crate::clock;
use crate::error::{Error, Result};
use crate::job::{
    AttemptError, CancelOutcome, Completion, Fence, FetchedJob, Inserted, Job, JobFilter, JobState,
    NewJob,
};
use crate::run::{
    EventStatus, Run, RunCancelOutcome, RunEvent, RunState, RunSubmission, StepCompletion,
    StepSpec, Submitted, RUN_CANCELLED,
};

const STATE_BIT: &str = "(CASE state WHEN 'available' THEN 1 WHEN 'scheduled' THEN 2 \
    WHEN 'running' THEN 4 WHEN 'retryable' THEN 8 WHEN 'completed' THEN 16 \
    WHEN 'cancelled' THEN 32 WHEN 'discarded' THEN 64 ELSE 0 END)";

/// Schema migrations, in order: version, name, SQL (one file each). Never edit one that has
/// shipped; add a new one.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "jobs, queues, workers, leader",
        include_str!("sql/sqlite/0001_jobs_queues_workers_leader.sql"),
    ),
    (
        2,
        "pipelines: runs, events, checkpoints, results, idempotency",
        include_str!("sql/sqlite/0002_pipelines.sql"),
    ),
    (
        3,
        "rescue credits for progress; jobs by run",
        include_str!("sql/sqlite/0003_rescue_credits_jobs_by_run.sql"),
    ),
    (
        4,
        "dashboard indexes",
        include_str!("sql/sqlite/0004_dashboard_indexes.sql"),
    ),
];

/// How to open the SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteConfig {
    pub path: PathBuf,
    /// How long a writer waits for another process's lock before failing.
    pub busy_timeout: Duration,
}

impl SqliteConfig {
    pub fn new(path: impl AsRef<Path>) -> Self {
        SqliteConfig {
            path: path.as_ref().to_path_buf(),
            busy_timeout: Duration::from_secs(10),
        }
    }
}

/// The SQLite store. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    events: broadcast::Sender<Wakeup>,
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

fn now_us() -> i64 {
    micros(Utc::now())
}

/// `us + d` in microseconds, saturating (see [`crate::clock`]).
fn plus(us: i64, d: Duration) -> i64 {
    micros(clock::after(from_micros(us), d))
}

/// `us - d` in microseconds, saturating.
fn minus(us: i64, d: Duration) -> i64 {
    micros(clock::before(from_micros(us), d))
}

const RUN_COLUMNS: &str = "id, pipeline, owner, state, steps, input, current_step, stage, \
    progress, last_seq, error_code, error_message, created_at, finished_at";

/// A run from the columns [`RUN_COLUMNS`]; the outer error is SQLite's, the inner one a row
/// that does not decode.
fn run_from_row(r: &Row<'_>) -> rusqlite::Result<Result<Run>> {
    let state: String = r.get(3)?;
    let steps: String = r.get(4)?;
    let input: String = r.get(5)?;
    let build = |state: &str| -> Result<Run> {
        Ok(Run {
            id: r.get(0)?,
            pipeline: r.get(1)?,
            owner: r.get(2)?,
            state: RunState::parse(state)?,
            steps: serde_json::from_str(&steps).map_err(|e| Error::Corrupt(e.to_string()))?,
            input: serde_json::from_str(&input).map_err(|e| Error::Corrupt(e.to_string()))?,
            current_step: r.get(6)?,
            stage: r.get(7)?,
            progress: r.get(8)?,
            last_seq: r.get(9)?,
            error_code: r.get(10)?,
            error_message: r.get(11)?,
            created_at: from_micros(r.get(12)?),
            finished_at: r.get::<_, Option<i64>>(13)?.map(from_micros),
        })
    };
    Ok(build(&state))
}

const JOB_COLUMNS: &str = "id, kind, queue, args, state, priority, attempt, max_attempts, \
    created_at, scheduled_at, attempted_at, finalized_at, attempted_by, errors, metadata, tags, \
    unique_key, cancel_requested_at IS NOT NULL";

fn job_from_row(r: &Row<'_>) -> rusqlite::Result<Result<Job>> {
    let args: String = r.get(3)?;
    let state: String = r.get(4)?;
    let attempted_by: String = r.get(12)?;
    let errors: String = r.get(13)?;
    let metadata: String = r.get(14)?;
    let tags: String = r.get(15)?;
    let build = || -> Result<Job> {
        let corrupt = |what: &str, e: serde_json::Error| Error::Corrupt(format!("{what}: {e}"));
        Ok(Job {
            id: r.get(0)?,
            kind: r.get(1)?,
            queue: r.get(2)?,
            args: serde_json::from_str(&args).map_err(|e| corrupt("args", e))?,
            state: JobState::parse(&state)?,
            priority: r.get(5)?,
            attempt: r.get(6)?,
            max_attempts: r.get(7)?,
            created_at: from_micros(r.get(8)?),
            scheduled_at: from_micros(r.get(9)?),
            attempted_at: r.get::<_, Option<i64>>(10)?.map(from_micros),
            finalized_at: r.get::<_, Option<i64>>(11)?.map(from_micros),
            attempted_by: serde_json::from_str(&attempted_by)
                .map_err(|e| corrupt("attempted_by", e))?,
            errors: serde_json::from_str::<Vec<AttemptError>>(&errors)
                .map_err(|e| corrupt("errors", e))?,
            metadata: serde_json::from_str(&metadata).map_err(|e| corrupt("metadata", e))?,
            tags: serde_json::from_str(&tags).map_err(|e| corrupt("tags", e))?,
            unique_key: r.get(16)?,
            cancel_requested: r.get(17)?,
        })
    };
    Ok(build())
}

/// A transaction on the store's connection, for inserting jobs together with the
/// application's own writes (see [`SqliteStore::transaction`]).
pub struct SqliteTx<'a> {
    tx: rusqlite::Transaction<'a>,
    inserted_queues: Vec<String>,
}

impl SqliteTx<'_> {
    /// The underlying transaction, for the application's own statements.
    pub fn conn(&self) -> &rusqlite::Transaction<'_> {
        &self.tx
    }

    /// Whether `fence` holds: the job is still running that attempt. The transaction holds
    /// the database's write lock, so the attempt cannot be rescued or recorded before the
    /// caller's own writes in it commit: check it, then write, in one transaction.
    pub fn holds_fence(&self, fence: Fence) -> Result<bool> {
        let found: Option<i64> = self
            .tx
            .query_row(
                "SELECT 1 FROM specline_jobs WHERE id = ?1 AND attempt = ?2 AND state = 'running'",
                params![fence.job_id, fence.attempt],
                |r| r.get(0),
            )
            .optional()?;
        Ok(found.is_some())
    }

    /// Insert jobs in this transaction; workers are woken after it commits.
    pub fn insert(&mut self, jobs: &[NewJob]) -> Result<Vec<Inserted>> {
        let out = insert_rows(&self.tx, jobs)?;
        for j in jobs {
            if !self.inserted_queues.contains(&j.queue) {
                self.inserted_queues.push(j.queue.clone());
            }
        }
        Ok(out)
    }
}

/// Rows per multi-row INSERT statement.
const INSERT_CHUNK: usize = 100;

fn insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO specline_jobs (kind, queue, args, state, priority, max_attempts, created_at, \
         scheduled_at, unique_key, unique_states, metadata, tags) VALUES ",
    );
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str("(?,?,?,?,?,?,?,?,?,?,?,?)");
    }
    sql.push_str(" RETURNING id");
    sql
}

fn insert_rows(tx: &rusqlite::Transaction<'_>, jobs: &[NewJob]) -> Result<Vec<Inserted>> {
    let now_dt = Utc::now();
    let now = micros(now_dt);
    let mut out: Vec<Option<Inserted>> = vec![None; jobs.len()];
    let mut plain: Vec<usize> = Vec::new();
    let mut find_unique = tx.prepare_cached(&format!(
        "SELECT id FROM specline_jobs WHERE unique_key = ?1 AND (unique_states & {STATE_BIT}) <> 0"
    ))?;
    let mut insert_one = tx.prepare_cached(&insert_sql(1))?;
    let bind = |j: &NewJob| -> Vec<rusqlite::types::Value> {
        use rusqlite::types::Value as V;
        vec![
            V::Text(j.kind.clone()),
            V::Text(j.queue.clone()),
            V::Text(j.args.to_string()),
            V::Text(j.initial_state(now_dt).as_str().to_string()),
            V::Integer(j.priority.into()),
            V::Integer(j.max_attempts.into()),
            V::Integer(now),
            V::Integer(j.scheduled_at.map(micros).unwrap_or(now)),
            j.unique_key.clone().map(V::Text).unwrap_or(V::Null),
            V::Integer(j.unique_states.into()),
            V::Text(j.metadata.to_string()),
            V::Text(serde_json::to_string(&j.tags).unwrap_or_else(|_| "[]".into())),
        ]
    };
    for (i, j) in jobs.iter().enumerate() {
        match &j.unique_key {
            Some(k) => {
                let existing: Option<i64> = find_unique.query_row([k], |r| r.get(0)).optional()?;
                out[i] = Some(match existing {
                    Some(id) => Inserted {
                        id,
                        duplicate: true,
                    },
                    None => {
                        let id: i64 = insert_one
                            .query_row(rusqlite::params_from_iter(bind(j)), |r| r.get(0))?;
                        Inserted {
                            id,
                            duplicate: false,
                        }
                    }
                });
            }
            None => plain.push(i),
        }
    }
    for chunk in plain.chunks(INSERT_CHUNK) {
        let mut stmt = tx.prepare_cached(&insert_sql(chunk.len()))?;
        let values: Vec<rusqlite::types::Value> =
            chunk.iter().flat_map(|&i| bind(&jobs[i])).collect();
        let mut ids: Vec<i64> = stmt
            .query_map(rusqlite::params_from_iter(values), |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        // AUTOINCREMENT ids follow the VALUES order; RETURNING order is not promised.
        ids.sort_unstable();
        for (&i, id) in chunk.iter().zip(ids) {
            out[i] = Some(Inserted {
                id,
                duplicate: false,
            });
        }
    }
    out.into_iter()
        .map(|o| o.ok_or_else(|| Error::Corrupt("insert returned fewer rows than sent".into())))
        .collect()
}

/// Register [`json_contains::contains`] as `specline_json_contains(doc, pattern)`, so the
/// args/metadata filters run in SQL. NULL in, NULL out (no match).
fn register_json_contains(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        json_contains::SQL_NAME,
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let parse = |i: usize| -> rusqlite::Result<Option<serde_json::Value>> {
                ctx.get::<Option<String>>(i)?
                    .map(|text| serde_json::from_str(&text))
                    .transpose()
                    .map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))
            };
            Ok(match (parse(0)?, parse(1)?) {
                (Some(doc), Some(pattern)) => Some(json_contains::contains(&doc, &pattern)),
                _ => None,
            })
        },
    )
}

impl SqliteStore {
    /// Open (creating if needed) the database file.
    pub async fn open(config: SqliteConfig) -> Result<SqliteStore> {
        let conn = tokio::task::spawn_blocking(move || -> Result<Connection> {
            if let Some(dir) = config.path.parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        Error::InvalidConfig(format!(
                            "cannot create directory {}: {e}",
                            dir.display()
                        ))
                    })?;
                }
            }
            let conn = Connection::open(&config.path)?;
            conn.busy_timeout(config.busy_timeout)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            conn.set_prepared_statement_cache_capacity(64);
            register_json_contains(&conn)?;
            Ok(conn)
        })
        .await??;
        let (events, _) = broadcast::channel(4096);
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                events,
            }),
        })
    }

    /// Run `f` on the connection in a blocking thread.
    async fn with_conn<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner
                .conn
                .lock()
                .map_err(|_| Error::Runtime("sqlite connection lock poisoned".into()))?;
            f(&mut conn)
        })
        .await?
    }

    /// Run `f` in one write transaction. Jobs inserted with [`SqliteTx::insert`] commit with
    /// the application's own writes, and workers are woken after the commit.
    pub async fn transaction<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteTx<'_>) -> Result<T> + Send + 'static,
    {
        let (value, queues) = self
            .with_conn(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let mut stx = SqliteTx {
                    tx,
                    inserted_queues: Vec::new(),
                };
                let value = f(&mut stx)?;
                let queues = std::mem::take(&mut stx.inserted_queues);
                stx.tx.commit()?;
                Ok((value, queues))
            })
            .await?;
        for q in queues {
            let _ = self.inner.events.send(Wakeup::Inserted(q));
        }
        Ok(value)
    }

    /// Run `f` on the store's connection in a blocking thread, with the caller's own error
    /// type, for applications that keep their own tables in this file and read them.
    ///
    /// `f` starts no write transaction: writes belong in [`SqliteStore::transaction`], which
    /// takes the write lock up front. A read of several tables that must agree can wrap its
    /// statements in `conn.unchecked_transaction()` (a deferred, read snapshot).
    pub async fn read<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        T: Send + 'static,
        E: From<Error> + Send + 'static,
        F: FnOnce(&Connection) -> std::result::Result<T, E> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner
                .conn
                .lock()
                .map_err(|_| Error::Runtime("sqlite connection lock poisoned".into()))?;
            f(&conn)
        })
        .await
        .map_err(|e| E::from(Error::from(e)))?
    }

    /// Run `f` in one write transaction if `lease` still holds (the fencing of every
    /// maintenance statement); nothing happens, and 0 is returned, when it does not.
    async fn as_leader<F>(&self, lease: &Lease, f: F) -> Result<u64>
    where
        F: FnOnce(&rusqlite::Transaction<'_>, i64) -> Result<u64> + Send + 'static,
    {
        let lease = lease.clone();
        self.with_conn(move |conn| {
            let now = now_us();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if !lease_ok(&tx, &lease, now)? {
                return Ok(0);
            }
            let n = f(&tx, now)?;
            tx.commit()?;
            Ok(n)
        })
        .await
    }

    fn emit(&self, ev: Wakeup) {
        let _ = self.inner.events.send(ev);
    }
}

fn claim(
    conn: &mut Connection,
    queue: &str,
    worker: &str,
    now: i64,
    limit: usize,
    run: Option<i64>,
) -> Result<Vec<FetchedJob>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut jobs = {
        let mut stmt = tx.prepare_cached(
                    "UPDATE specline_jobs
                     SET state = 'running', attempt = attempt + 1, attempted_at = ?1,
                         attempted_by = json_insert(attempted_by, '$[#]', ?2)
                     WHERE id IN (
                       SELECT id FROM specline_jobs
                       WHERE queue = ?3 AND state IN ('available', 'scheduled', 'retryable')
                         AND scheduled_at <= ?1 AND (?5 IS NULL OR run_id = ?5)
                         AND NOT EXISTS (SELECT 1 FROM specline_queues q WHERE q.name = ?3 AND q.paused)
                       ORDER BY priority, scheduled_at, id
                       LIMIT ?4)
                     RETURNING id, kind, args, attempt, max_attempts, priority, created_at, scheduled_at, metadata",
                )?;
        let rows = stmt.query_map(params![now, worker, queue, limit as i64, run], |r| {
            Ok(FetchedJob {
                id: r.get(0)?,
                kind: r.get(1)?,
                queue: queue.to_string(),
                args: r.get(2)?,
                attempt: r.get(3)?,
                max_attempts: r.get(4)?,
                priority: r.get(5)?,
                created_at: from_micros(r.get(6)?),
                scheduled_at: from_micros(r.get(7)?),
                metadata: r.get(8)?,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    tx.commit()?;
    jobs.sort_by(|a, b| {
        (a.priority, a.scheduled_at, a.id).cmp(&(b.priority, b.scheduled_at, b.id))
    });
    Ok(jobs)
}

/// Running jobs of workers whose heartbeat is older than `?1` (or that have no row).
const STALE_WORKER: &str = "NOT EXISTS (
   SELECT 1 FROM specline_workers w
   WHERE w.id = json_extract(j.attempted_by, '$[#-1]') AND w.heartbeat_at > ?1)";

/// [`STALE_WORKER`] with its bound as `?7`.
const STALE_WORKER_7: &str = "NOT EXISTS (
   SELECT 1 FROM specline_workers w
   WHERE w.id = json_extract(j.attempted_by, '$[#-1]') AND w.heartbeat_at > ?7)";

fn lease_ok(tx: &Connection, lease: &Lease, now: i64) -> Result<bool> {
    let ok: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM specline_leader WHERE name = 'default' AND holder = ?1 AND term = ?2 AND expires_at > ?3",
            params![lease.holder, lease.term, now],
            |r| r.get(0),
        )
        .optional()?;
    Ok(ok.is_some())
}

impl SqliteStore {
    async fn claim(
        &self,
        queue: &str,
        limit: usize,
        worker: &str,
        run: Option<i64>,
    ) -> Result<Vec<FetchedJob>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let queue = queue.to_string();
        let worker = worker.to_string();
        self.with_conn(move |conn| {
            let now = now_us();
            // Claiming jobs need not wait for fsync: a claim lost to a power cut leaves the
            // job pending, never lost. The next durable commit syncs the WAL anyway.
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            let claimed = claim(conn, &queue, &worker, now, limit, run);
            conn.pragma_update(None, "synchronous", "FULL")?;
            claimed
        })
        .await
    }

    async fn complete_batch(&self, batch: &[Completion]) -> Result<usize> {
        if batch.is_empty() {
            return Ok(0);
        }
        let batch = batch.to_vec();
        let (applied, wake, runs) = self
            .with_conn(move |conn| {
                let now = now_us();
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let mut applied = 0;
                let mut wake: Vec<String> = Vec::new();
                let mut runs: Vec<i64> = Vec::new();
                {
                    // Every successful outcome of the batch in one statement: the pairs
                    // (id, attempt) travel as one JSON array.
                    let done: Vec<(i64, i32)> = batch
                        .iter()
                        .filter(|c| matches!(c.outcome, crate::job::Outcome::Completed))
                        .map(|c| (c.id, c.attempt))
                        .collect();
                    if !done.is_empty() {
                        let pairs = serde_json::to_string(&done)
                            .map_err(|e| Error::Corrupt(e.to_string()))?;
                        applied += tx
                            .prepare_cached(
                                "UPDATE specline_jobs SET state = 'completed', finalized_at = ?1
                                 FROM (SELECT value ->> 0 AS id, value ->> 1 AS attempt FROM json_each(?2)) AS u
                                 WHERE specline_jobs.id = u.id AND specline_jobs.attempt = u.attempt
                                   AND specline_jobs.state = 'running'",
                            )?
                            .execute(params![now, pairs])?;
                    }
                    let mut slow = tx.prepare_cached(
                        "UPDATE specline_jobs SET
                           state = ?1,
                           scheduled_at = COALESCE(?2, scheduled_at),
                           finalized_at = CASE WHEN ?1 IN ('completed', 'cancelled', 'discarded') THEN ?3 END,
                           errors = CASE WHEN ?4 IS NULL THEN errors ELSE json_insert(errors, '$[#]', json(?4)) END,
                           attempt = attempt - ?5
                         WHERE id = ?6 AND attempt = ?7 AND state = 'running'
                         RETURNING queue",
                    )?;
                    for c in &batch {
                        if matches!(c.outcome, crate::job::Outcome::Completed) {
                            continue;
                        }
                        if let crate::job::Outcome::StepDone(step) = &c.outcome {
                            let (done, q) = step_done(&tx, step, now)?;
                            if done {
                                applied += 1;
                                runs.push(step.run_id);
                            }
                            if let Some(q) = q.filter(|q| !wake.contains(q)) {
                                wake.push(q);
                            }
                            continue;
                        }
                        let error = c
                            .outcome
                            .error()
                            .and_then(|e| serde_json::to_string(e).ok());
                        let run_at = c.outcome.run_at().map(micros);
                        let q: Option<String> = slow
                            .query_row(
                                params![
                                    c.outcome.state().as_str(),
                                    run_at,
                                    now,
                                    error,
                                    i32::from(c.outcome.uncounts_attempt()),
                                    c.id,
                                    c.attempt
                                ],
                                |r| r.get(0),
                            )
                            .optional()?;
                        if let Some(q) = q {
                            applied += 1;
                            if run_at.is_some_and(|t| t <= now) && !wake.contains(&q) {
                                wake.push(q);
                            }
                        }
                    }
                }
                tx.commit()?;
                Ok((applied, wake, runs))
            })
            .await?;
        for q in wake {
            self.emit(Wakeup::Inserted(q));
        }
        for run in runs {
            self.emit(Wakeup::RunEvent(run));
        }
        Ok(applied)
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
    fn stats(&self) -> &dyn crate::stats::JobStats {
        self
    }

    async fn migrate(&self) -> Result<()> {
        self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS specline_migrations (
                   version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
            )?;
            let current: i32 = tx.query_row(
                "SELECT COALESCE(max(version), 0) FROM specline_migrations",
                [],
                |r| r.get(0),
            )?;
            let latest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
            if current > latest {
                return Err(Error::SchemaMismatch(format!(
                    "database schema is at version {current}, newer than this build ({latest}); upgrade specline"
                )));
            }
            for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
                tx.execute_batch(sql)?;
                tx.execute(
                    "INSERT INTO specline_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                    params![version, name, now_us()],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn migration_status(&self) -> Result<MigrationStatus> {
        self.with_conn(|conn| {
            let latest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
            let exists: bool = conn.query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'specline_migrations'",
                [],
                |r| r.get(0),
            )?;
            let current = if exists {
                conn.query_row(
                    "SELECT COALESCE(max(version), 0) FROM specline_migrations",
                    [],
                    |r| r.get(0),
                )?
            } else {
                0
            };
            Ok(MigrationStatus { current, latest })
        })
        .await
    }

    async fn insert_many(&self, jobs: Vec<NewJob>) -> Result<Vec<Inserted>> {
        self.transaction(move |tx| tx.insert(&jobs)).await
    }

    async fn fetch(&self, queue: &str, limit: usize, worker: &str) -> Result<Vec<FetchedJob>> {
        self.claim(queue, limit, worker, None).await
    }

    async fn fetch_run(
        &self,
        queue: &str,
        limit: usize,
        worker: &str,
        run_id: i64,
    ) -> Result<Vec<FetchedJob>> {
        self.claim(queue, limit, worker, Some(run_id)).await
    }

    async fn complete(&self, batch: &[Completion]) -> Result<usize> {
        self.complete_batch(batch).await
    }
    async fn register_worker(&self, worker: &str, queues: &[String]) -> Result<()> {
        let worker = worker.to_string();
        let queues = serde_json::to_string(queues).unwrap_or_else(|_| "[]".into());
        self.with_conn(move |conn| {
            let now = now_us();
            conn.execute(
                "INSERT INTO specline_workers (id, queues, started_at, heartbeat_at) VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT (id) DO UPDATE SET queues = excluded.queues, heartbeat_at = excluded.heartbeat_at",
                params![worker, queues, now],
            )?;
            Ok(())
        })
        .await
    }

    async fn heartbeat(&self, worker: &str) -> Result<Vec<i64>> {
        let worker = worker.to_string();
        self.with_conn(move |conn| {
            let now = now_us();
            conn.execute(
                "INSERT INTO specline_workers (id, queues, started_at, heartbeat_at) VALUES (?1, '[]', ?2, ?2)
                 ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                params![worker, now],
            )?;
            let mut stmt = conn.prepare_cached(
                "SELECT id FROM specline_jobs WHERE state = 'running' AND cancel_requested_at IS NOT NULL
                   AND json_extract(attempted_by, '$[#-1]') = ?1",
            )?;
            let ids = stmt
                .query_map([&worker], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            Ok(ids)
        })
        .await
    }

    async fn deregister_worker(&self, worker: &str) -> Result<()> {
        let worker = worker.to_string();
        self.with_conn(move |conn| {
            conn.execute("DELETE FROM specline_workers WHERE id = ?1", [worker])?;
            Ok(())
        })
        .await
    }

    async fn try_lead(&self, holder: &str, ttl: Duration) -> Result<Option<Lease>> {
        let holder = holder.to_string();
        self.with_conn(move |conn| {
            let now = now_us();
            let expires = plus(now, ttl);
            let term: Option<i64> = conn
                .query_row(
                    "INSERT INTO specline_leader (name, holder, term, elected_at, expires_at)
                     VALUES ('default', ?1, 1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET
                       holder = excluded.holder,
                       term = CASE WHEN specline_leader.holder = excluded.holder AND specline_leader.expires_at > ?2
                                   THEN specline_leader.term ELSE specline_leader.term + 1 END,
                       elected_at = CASE WHEN specline_leader.holder = excluded.holder AND specline_leader.expires_at > ?2
                                         THEN specline_leader.elected_at ELSE ?2 END,
                       expires_at = excluded.expires_at
                     WHERE specline_leader.holder = excluded.holder OR specline_leader.expires_at <= ?2
                     RETURNING term",
                    params![holder, now, expires],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(term.map(|term| Lease { holder, term }))
        })
        .await
    }

    async fn resign(&self, lease: &Lease) -> Result<()> {
        let lease = lease.clone();
        self.with_conn(move |conn| {
            conn.execute(
                "DELETE FROM specline_leader WHERE name = 'default' AND holder = ?1 AND term = ?2",
                params![lease.holder, lease.term],
            )?;
            Ok(())
        })
        .await
    }

    async fn stale_jobs(
        &self,
        lease: &Lease,
        stale: Duration,
        limit: usize,
    ) -> Result<Vec<StaleJob>> {
        let lease = lease.clone();
        self.with_conn(move |conn| {
            let now = now_us();
            if !lease_ok(conn, &lease, now)? {
                return Ok(Vec::new());
            }
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT j.id, j.attempt, j.max_attempts, j.cancel_requested_at IS NOT NULL,
                        COALESCE(json_extract(j.attempted_by, '$[#-1]'), ''), j.rescue_credits,
                        j.run_id IS NOT NULL AND EXISTS (
                          SELECT 1 FROM specline_checkpoints c
                          WHERE c.run_id = j.run_id AND c.step = j.kind AND c.key <> ''
                            AND c.updated_at > j.attempted_at)
                 FROM specline_jobs j
                 WHERE j.state = 'running' AND {STALE_WORKER}
                 ORDER BY j.id LIMIT ?2"
            ))?;
            let rows = stmt
                .query_map(params![minus(now, stale), limit as i64], |r| {
                    Ok(StaleJob {
                        id: r.get(0)?,
                        attempt: r.get(1)?,
                        max_attempts: r.get(2)?,
                        cancel_requested: r.get(3)?,
                        worker: r.get(4)?,
                        credits: r.get(5)?,
                        progressed: r.get(6)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn rescue_jobs(&self, lease: &Lease, stale: Duration, rescues: &[Rescue]) -> Result<u64> {
        if rescues.is_empty() {
            return Ok(0);
        }
        let lease = lease.clone();
        let rescues = rescues.to_vec();
        let (n, queues) = self
            .with_conn(move |conn| {
                let now = now_us();
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                if !lease_ok(&tx, &lease, now)? {
                    return Ok((0, Vec::new()));
                }
                let mut queues: Vec<String> = Vec::new();
                let mut n = 0;
                {
                    let mut stmt = tx.prepare_cached(&format!(
                        "UPDATE specline_jobs AS j SET
                           state = ?1,
                           scheduled_at = ?2,
                           finalized_at = CASE WHEN ?1 IN ('cancelled', 'discarded') THEN ?2 END,
                           errors = json_insert(errors, '$[#]', json(?3)),
                           max_attempts = max_attempts + ?4,
                           rescue_credits = rescue_credits + ?4
                         WHERE j.id = ?5 AND j.attempt = ?6 AND j.state = 'running'
                           AND {STALE_WORKER_7}
                         RETURNING queue"
                    ))?;
                    for r in &rescues {
                        let error = serde_json::to_string(&r.error)
                            .map_err(|e| Error::Corrupt(e.to_string()))?;
                        let q: Option<String> = stmt
                            .query_row(
                                params![
                                    r.state.as_str(),
                                    now,
                                    error,
                                    i32::from(r.credit),
                                    r.id,
                                    r.attempt,
                                    minus(now, stale)
                                ],
                                |row| row.get(0),
                            )
                            .optional()?;
                        if let Some(q) = q {
                            n += 1;
                            if r.state == JobState::Retryable && !queues.contains(&q) {
                                queues.push(q);
                            }
                        }
                    }
                }
                tx.commit()?;
                Ok((n, queues))
            })
            .await?;
        for q in queues {
            self.emit(Wakeup::Inserted(q));
        }
        Ok(n)
    }

    async fn prune_finished_runs(
        &self,
        lease: &Lease,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<u64> {
        self.as_leader(lease, move |tx, now| {
            let n = tx.execute(
                "DELETE FROM specline_runs WHERE id IN (
                   SELECT r.id FROM specline_runs r
                   WHERE r.finished_at IS NOT NULL AND r.finished_at < ?1 AND r.state <> 'running'
                     AND NOT EXISTS (SELECT 1 FROM specline_results x WHERE x.run_id = r.id AND x.expires_at > ?2)
                     AND NOT EXISTS (SELECT 1 FROM specline_idempotency i WHERE i.run_id = r.id AND i.expires_at > ?2)
                     AND NOT EXISTS (SELECT 1 FROM specline_jobs j WHERE j.run_id = r.id
                                       AND j.state NOT IN ('completed', 'cancelled', 'discarded'))
                   LIMIT ?3)",
                params![micros(before), now, limit as i64],
            )?;
            Ok(n as u64)
        })
        .await
    }

    async fn prune_workers(&self, lease: &Lease, before: DateTime<Utc>) -> Result<u64> {
        self.as_leader(lease, move |tx, _now| {
            let n = tx.execute(
                "DELETE FROM specline_workers
                 WHERE heartbeat_at < ?1 AND NOT EXISTS (
                   SELECT 1 FROM specline_jobs j WHERE j.state = 'running'
                     AND json_extract(j.attempted_by, '$[#-1]') = specline_workers.id)",
                params![micros(before)],
            )?;
            Ok(n as u64)
        })
        .await
    }

    async fn prune(&self, lease: &Lease, spec: PruneSpec) -> Result<u64> {
        self.as_leader(lease, move |tx, _now| {
            let (c, x, d) = (
                micros(spec.completed_before),
                micros(spec.cancelled_before),
                micros(spec.discarded_before),
            );
            let n = tx.execute(
                "DELETE FROM specline_jobs WHERE id IN (
                   SELECT id FROM specline_jobs
                   WHERE finalized_at IS NOT NULL AND finalized_at < max(?1, ?2, ?3)
                     AND ((state = 'completed' AND finalized_at < ?1)
                       OR (state = 'cancelled' AND finalized_at < ?2)
                       OR (state = 'discarded' AND finalized_at < ?3))
                   LIMIT ?4)",
                params![c, x, d, spec.limit as i64],
            )?;
            Ok(n as u64)
        })
        .await
    }

    async fn get_job(&self, id: i64) -> Result<Option<Job>> {
        self.with_conn(move |conn| {
            let job = conn
                .query_row(
                    &format!("SELECT {JOB_COLUMNS} FROM specline_jobs WHERE id = ?1"),
                    [id],
                    job_from_row,
                )
                .optional()?;
            job.transpose()
        })
        .await
    }

    async fn list_jobs(&self, f: &JobFilter) -> Result<Vec<Job>> {
        f.validate()?;
        let f = f.clone();
        let tags = serde_json::Value::from(f.tags.clone()).to_string();
        let args = f.args.as_ref().map(|v| v.to_string());
        let metadata = f.metadata.as_ref().map(|v| v.to_string());
        self.with_conn(move |conn| {
            let limit = if f.limit == 0 { 100 } else { f.limit } as i64;
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {JOB_COLUMNS} FROM specline_jobs
                 WHERE (?1 IS NULL OR queue = ?1) AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR state = ?3)
                   AND NOT EXISTS (SELECT 1 FROM json_each(?5) want
                                   WHERE want.value NOT IN (SELECT value FROM json_each(specline_jobs.tags)))
                   AND (?6 IS NULL OR {contains}(args, ?6))
                   AND (?7 IS NULL OR {contains}(metadata, ?7))
                   AND (?8 IS NULL OR id < ?8)
                 ORDER BY id DESC LIMIT ?4",
                contains = json_contains::SQL_NAME,
            ))?;
            let rows = stmt
                .query_map(
                    params![
                        f.queue,
                        f.kind,
                        f.state.map(|s| s.as_str()),
                        limit,
                        tags,
                        args,
                        metadata,
                        f.before_id
                    ],
                    job_from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().collect()
        })
        .await
    }

    async fn count_by_state(&self, queue: Option<&str>) -> Result<StateCounts> {
        let queue = queue.map(str::to_string);
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT state, count(*) FROM specline_jobs WHERE (?1 IS NULL OR queue = ?1)
                 GROUP BY state ORDER BY state",
            )?;
            let rows = stmt
                .query_map([queue], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(s, n)| Ok((JobState::parse(&s)?, n)))
                .collect()
        })
        .await
    }

    async fn cancel(&self, id: i64) -> Result<CancelOutcome> {
        let out = self
            .with_conn(move |conn| {
                let now = now_us();
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let state: Option<String> = tx
                    .query_row("SELECT state FROM specline_jobs WHERE id = ?1", [id], |r| {
                        r.get(0)
                    })
                    .optional()?;
                let Some(state) = state else {
                    return Err(Error::JobNotFound(id));
                };
                let state = JobState::parse(&state)?;
                let out = match state {
                    s if s.is_final() => CancelOutcome::AlreadyFinal(s),
                    JobState::Running => {
                        tx.execute(
                            "UPDATE specline_jobs SET cancel_requested_at = ?1 WHERE id = ?2",
                            params![now, id],
                        )?;
                        CancelOutcome::Requested
                    }
                    _ => {
                        tx.execute(
                            "UPDATE specline_jobs SET state = 'cancelled', finalized_at = ?1, cancel_requested_at = ?1 WHERE id = ?2",
                            params![now, id],
                        )?;
                        CancelOutcome::Cancelled
                    }
                };
                tx.commit()?;
                Ok(out)
            })
            .await?;
        if out == CancelOutcome::Requested {
            self.emit(Wakeup::CancelRequested(id));
        }
        Ok(out)
    }

    async fn retry(&self, id: i64) -> Result<Job> {
        let job = self
            .with_conn(move |conn| {
                let now = now_us();
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let res = tx
                    .query_row(
                        &format!(
                            "UPDATE specline_jobs SET state = 'available', scheduled_at = ?1, finalized_at = NULL,
                               cancel_requested_at = NULL, max_attempts = max(max_attempts, attempt + 1)
                             WHERE id = ?2 AND state <> 'running' RETURNING {JOB_COLUMNS}"
                        ),
                        params![now, id],
                        job_from_row,
                    )
                    .optional();
                let job = match res {
                    Ok(Some(job)) => job?,
                    Ok(None) => {
                        let state: Option<String> = tx
                            .query_row("SELECT state FROM specline_jobs WHERE id = ?1", [id], |r| {
                                r.get(0)
                            })
                            .optional()?;
                        return Err(match state {
                            None => Error::JobNotFound(id),
                            Some(s) => Error::InvalidState(format!(
                                "job {id} is {s}; cancel it before retrying"
                            )),
                        });
                    }
                    Err(rusqlite::Error::SqliteFailure(e, _))
                        if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
                    {
                        return Err(Error::UniqueConflict(format!(
                            "job {id} cannot run again: another live job holds its unique key"
                        )))
                    }
                    Err(e) => return Err(e.into()),
                };
                tx.commit()?;
                Ok(job)
            })
            .await?;
        self.emit(Wakeup::Inserted(job.queue.clone()));
        Ok(job)
    }

    async fn discard(&self, id: i64) -> Result<Job> {
        self.with_conn(move |conn| {
            let now = now_us();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let job = tx
                .query_row(
                    &format!(
                        "UPDATE specline_jobs SET state = 'discarded', finalized_at = ?1
                         WHERE id = ?2 AND state <> 'running' RETURNING {JOB_COLUMNS}"
                    ),
                    params![now, id],
                    job_from_row,
                )
                .optional()?;
            let job = match job {
                Some(j) => j?,
                None => {
                    let exists: Option<i64> = tx
                        .query_row("SELECT id FROM specline_jobs WHERE id = ?1", [id], |r| {
                            r.get(0)
                        })
                        .optional()?;
                    return Err(match exists {
                        None => Error::JobNotFound(id),
                        Some(_) => Error::InvalidState(format!(
                            "job {id} is running; cancel it instead of discarding"
                        )),
                    });
                }
            };
            tx.commit()?;
            Ok(job)
        })
        .await
    }

    async fn set_paused(&self, queue: &str, paused: bool) -> Result<()> {
        let q = queue.to_string();
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO specline_queues (name, paused, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, updated_at = excluded.updated_at",
                params![q, paused, now_us()],
            )?;
            Ok(())
        })
        .await?;
        self.emit(Wakeup::QueueChanged(queue.to_string()));
        if !paused {
            self.emit(Wakeup::Inserted(queue.to_string()));
        }
        Ok(())
    }

    async fn paused_queues(&self) -> Result<Vec<String>> {
        self.with_conn(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT name FROM specline_queues WHERE paused ORDER BY name")?;
            let rows = stmt
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(rows)
        })
        .await
    }

    fn wakeups(&self) -> broadcast::Receiver<Wakeup> {
        self.inner.events.subscribe()
    }

    async fn next_due(&self, queue: &str) -> Result<Option<DateTime<Utc>>> {
        let queue = queue.to_string();
        self.with_conn(move |conn| {
            let t: Option<i64> = conn.query_row(
                "SELECT min(scheduled_at) FROM specline_jobs
                 WHERE queue = ?1 AND state IN ('available', 'scheduled', 'retryable')",
                [queue],
                |r| r.get(0),
            )?;
            Ok(t.map(from_micros))
        })
        .await
    }

    async fn submit_run(&self, sub: RunSubmission) -> Result<Submitted> {
        let first = sub.steps.first().cloned().ok_or_else(|| {
            Error::InvalidConfig(format!("pipeline `{}` has no steps", sub.pipeline))
        })?;
        let (out, queue) = self
            .with_conn(move |conn| {
                let now = now_us();
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                if let Some(idem) = &sub.idempotency {
                    tx.execute(
                        "DELETE FROM specline_idempotency WHERE owner = ?1 AND key = ?2 AND expires_at <= ?3",
                        params![sub.owner, idem.key, now],
                    )?;
                    let existing: Option<(String, Option<i64>)> = tx
                        .query_row(
                            "SELECT fingerprint, run_id FROM specline_idempotency WHERE owner = ?1 AND key = ?2",
                            params![sub.owner, idem.key],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )
                        .optional()?;
                    if let Some((fingerprint, run_id)) = existing {
                        return match run_id {
                            Some(run_id) if fingerprint == idem.fingerprint => Ok((
                                Submitted { run_id, existing: true },
                                None,
                            )),
                            _ => Err(Error::IdempotencyConflict {
                                owner: sub.owner.clone(),
                                key: idem.key.clone(),
                            }),
                        };
                    }
                    tx.execute(
                        "INSERT INTO specline_idempotency (owner, key, fingerprint, created_at, expires_at)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![sub.owner, idem.key, idem.fingerprint, now, plus(now, idem.ttl)],
                    )?;
                }
                let steps = serde_json::to_string(&sub.steps).map_err(|e| Error::InvalidArgs(e.to_string()))?;
                let run_id: i64 = tx.query_row(
                    "INSERT INTO specline_runs (pipeline, owner, state, steps, input, stage, created_at, updated_at)
                     VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6, ?6) RETURNING id",
                    params![sub.pipeline, sub.owner, steps, sub.input.to_string(), first.kind, now],
                    |r| r.get(0),
                )?;
                insert_step_job(&tx, run_id, 0, &first, now)?;
                if let Some(idem) = &sub.idempotency {
                    tx.execute(
                        "UPDATE specline_idempotency SET run_id = ?3 WHERE owner = ?1 AND key = ?2",
                        params![sub.owner, idem.key, run_id],
                    )?;
                }
                tx.commit()?;
                Ok((Submitted { run_id, existing: false }, Some(first.queue.clone())))
            })
            .await?;
        if let Some(q) = queue {
            self.emit(Wakeup::Inserted(q));
            self.emit(Wakeup::RunEvent(out.run_id));
        }
        Ok(out)
    }

    async fn complete_step(&self, cpl: StepCompletion) -> Result<bool> {
        let run_id = cpl.run_id;
        let (applied, queue) = self
            .with_conn(move |conn| {
                let now = now_us();
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let out = step_done(&tx, &cpl, now)?;
                tx.commit()?;
                Ok(out)
            })
            .await?;
        if let Some(q) = queue {
            self.emit(Wakeup::Inserted(q));
        }
        if applied {
            self.emit(Wakeup::RunEvent(run_id));
        }
        Ok(applied)
    }

    async fn get_run(&self, run_id: i64) -> Result<Option<Run>> {
        self.with_conn(move |conn| {
            let row = conn
                .prepare_cached(&format!(
                    "SELECT {RUN_COLUMNS} FROM specline_runs WHERE id = ?1"
                ))?
                .query_row([run_id], run_from_row)
                .optional()?;
            row.transpose()
        })
        .await
    }

    async fn step_context(&self, run_id: i64) -> Result<Option<StepInputs>> {
        self.with_conn(move |conn| {
            let row = conn
                .prepare_cached(&format!(
                    "SELECT {RUN_COLUMNS},
                            (SELECT COALESCE(json_group_object(step, json(value)), '{{}}')
                             FROM specline_checkpoints WHERE run_id = ?1 AND key = '')
                     FROM specline_runs WHERE id = ?1"
                ))?
                .query_row([run_id], |r| {
                    let run = run_from_row(r)?;
                    let outputs: String = r.get(14)?;
                    Ok((run, outputs))
                })
                .optional()?;
            let Some((run, outputs)) = row else {
                return Ok(None);
            };
            Ok(Some(StepInputs {
                run: run?,
                outputs: super::outputs_from_object(&outputs)?,
            }))
        })
        .await
    }

    async fn step_outputs(&self, run_id: i64) -> Result<Vec<(String, serde_json::Value)>> {
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT step, value FROM specline_checkpoints WHERE run_id = ?1 AND key = ''",
            )?;
            let rows = stmt
                .query_map([run_id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(k, v)| {
                    Ok((
                        k,
                        serde_json::from_str(&v).map_err(|e| Error::Corrupt(e.to_string()))?,
                    ))
                })
                .collect()
        })
        .await
    }

    async fn put_checkpoint(
        &self,
        run_id: i64,
        step: &str,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        let (step, key) = (step.to_string(), key.to_string());
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO specline_checkpoints (run_id, step, key, value, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (run_id, step, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                params![run_id, step, key, value.to_string(), now_us()],
            )?;
            Ok(())
        })
        .await
    }

    async fn get_checkpoint(
        &self,
        run_id: i64,
        step: &str,
        key: &str,
    ) -> Result<Option<serde_json::Value>> {
        let (step, key) = (step.to_string(), key.to_string());
        self.with_conn(move |conn| {
            let v: Option<String> = conn
                .query_row(
                    "SELECT value FROM specline_checkpoints WHERE run_id = ?1 AND step = ?2 AND key = ?3",
                    params![run_id, step, key],
                    |r| r.get(0),
                )
                .optional()?;
            v.map(|v| serde_json::from_str(&v).map_err(|e| Error::Corrupt(e.to_string())))
                .transpose()
        })
        .await
    }

    async fn run_progress(
        &self,
        run_id: i64,
        job_id: i64,
        stage: &str,
        progress: i16,
        payload: Option<serde_json::Value>,
    ) -> Result<()> {
        let stage = stage.to_string();
        let wrote = self
            .with_conn(move |conn| {
                let now = now_us();
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let running: Option<i64> = tx
                    .query_row(
                        "SELECT 1 FROM specline_runs WHERE id = ?1 AND state = 'running'",
                        [run_id],
                        |r| r.get(0),
                    )
                    .optional()?;
                if running.is_none() {
                    return Ok(false);
                }
                append_event(
                    &tx,
                    run_id,
                    Some(job_id),
                    &stage,
                    EventStatus::Progress,
                    Some(progress.clamp(0, 100)),
                    payload.map(|p| p.to_string()),
                    now,
                )?;
                tx.commit()?;
                Ok(true)
            })
            .await?;
        if wrote {
            self.emit(Wakeup::RunEvent(run_id));
        }
        Ok(())
    }

    async fn run_events(&self, run_id: i64, after: i64, limit: usize) -> Result<Vec<RunEvent>> {
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT run_id, seq, job_id, stage, status, at, progress, payload
                 FROM specline_run_events WHERE run_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            let rows = stmt
                .query_map(params![run_id, after, limit as i64], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, i16>(6)?,
                        r.get::<_, Option<String>>(7)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(
                    |(run_id, seq, job_id, stage, status, at, progress, payload)| {
                        Ok(RunEvent {
                            run_id,
                            seq,
                            job_id,
                            stage,
                            status: EventStatus::parse(&status)?,
                            at: from_micros(at),
                            progress,
                            payload: payload
                                .map(|p| serde_json::from_str(&p))
                                .transpose()
                                .map_err(|e| Error::Corrupt(e.to_string()))?,
                        })
                    },
                )
                .collect()
        })
        .await
    }

    async fn run_result(&self, run_id: i64) -> Result<Option<serde_json::Value>> {
        self.with_conn(move |conn| {
            let v: Option<String> = conn
                .query_row(
                    "SELECT result FROM specline_results WHERE run_id = ?1 AND expires_at > ?2",
                    params![run_id, now_us()],
                    |r| r.get(0),
                )
                .optional()?;
            v.map(|v| serde_json::from_str(&v).map_err(|e| Error::Corrupt(e.to_string())))
                .transpose()
        })
        .await
    }

    async fn resume_run(&self, run_id: i64) -> Result<()> {
        let queue = self
            .with_conn(move |conn| {
                let now = now_us();
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let (state, steps): (String, String) = tx
                    .query_row(
                        "SELECT state, steps FROM specline_runs WHERE id = ?1",
                        [run_id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?
                    .ok_or(Error::RunNotFound(run_id))?;
                let state = RunState::parse(&state)?;
                if state != RunState::Failed {
                    return Err(Error::InvalidState(format!(
                        "run {run_id} is {}; only a failed run can be resumed",
                        state.as_str()
                    )));
                }
                let steps: Vec<StepSpec> =
                    serde_json::from_str(&steps).map_err(|e| Error::Corrupt(e.to_string()))?;
                let done: Vec<String> = {
                    let mut stmt = tx.prepare_cached(
                        "SELECT step FROM specline_checkpoints WHERE run_id = ?1 AND key = ''",
                    )?;
                    let rows = stmt
                        .query_map([run_id], |r| r.get(0))?
                        .collect::<rusqlite::Result<Vec<String>>>()?;
                    rows
                };
                let Some((index, step)) = steps.iter().enumerate().find(|(_, s)| !done.contains(&s.kind)) else {
                    return Err(Error::InvalidState(format!(
                        "run {run_id} has a checkpoint for every step; nothing to resume"
                    )));
                };
                tx.execute(
                    "UPDATE specline_runs SET state = 'running', error_code = NULL, error_message = NULL,
                       finished_at = NULL, current_step = ?2, stage = ?3, updated_at = ?4 WHERE id = ?1",
                    params![run_id, index as i64, step.kind, now],
                )?;
                insert_step_job(&tx, run_id, index, step, now)?;
                tx.commit()?;
                Ok(step.queue.clone())
            })
            .await?;
        self.emit(Wakeup::Inserted(queue));
        self.emit(Wakeup::RunEvent(run_id));
        Ok(())
    }

    async fn cancel_run(&self, run_id: i64) -> Result<RunCancelOutcome> {
        let (out, running) = self
            .with_conn(move |conn| {
                let now = now_us();
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let (state, stage): (String, Option<String>) = tx
                    .query_row(
                        "SELECT state, stage FROM specline_runs WHERE id = ?1",
                        [run_id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?
                    .ok_or(Error::RunNotFound(run_id))?;
                let state = RunState::parse(&state)?;
                if state != RunState::Running {
                    return Ok((RunCancelOutcome::AlreadyFinal(state), Vec::new()));
                }
                let current: Option<i64> = tx.query_row(
                    "SELECT max(id) FROM specline_jobs WHERE run_id = ?1
                           AND state NOT IN ('completed', 'cancelled', 'discarded')",
                    [run_id],
                    |r| r.get(0),
                )?;
                let (code, message) = RUN_CANCELLED;
                tx.execute(
                    "UPDATE specline_runs SET state = 'failed', finished_at = ?2, updated_at = ?2,
                       error_code = ?3, error_message = ?4 WHERE id = ?1",
                    params![run_id, now, code, message],
                )?;
                let payload = serde_json::json!({ "code": code, "message": message }).to_string();
                append_event(
                    &tx,
                    run_id,
                    current,
                    stage.as_deref().unwrap_or(""),
                    EventStatus::Failed,
                    None,
                    Some(payload),
                    now,
                )?;
                // Pending step jobs are cancelled, a running one is asked to stop. The step
                // trigger finds the run failed already and adds no second event.
                let running: Vec<i64> = {
                    let mut stmt = tx.prepare_cached(
                        "UPDATE specline_jobs SET
                           state = CASE WHEN state = 'running' THEN 'running' ELSE 'cancelled' END,
                           finalized_at = CASE WHEN state = 'running' THEN NULL ELSE ?2 END,
                           cancel_requested_at = ?2
                         WHERE run_id = ?1 AND state NOT IN ('completed', 'cancelled', 'discarded')
                         RETURNING id, state",
                    )?;
                    let rows = stmt
                        .query_map(params![run_id, now], |r| {
                            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                        })?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    rows.into_iter()
                        .filter(|(_, st)| st == "running")
                        .map(|(id, _)| id)
                        .collect()
                };
                tx.commit()?;
                Ok((RunCancelOutcome::Cancelled { step_job: current }, running))
            })
            .await?;
        for id in running {
            self.emit(Wakeup::CancelRequested(id));
        }
        if matches!(out, RunCancelOutcome::Cancelled { .. }) {
            self.emit(Wakeup::RunEvent(run_id));
        }
        Ok(out)
    }

    async fn prune_runs(&self, lease: &Lease) -> Result<u64> {
        self.as_leader(lease, move |tx, now| {
            let a = tx.execute("DELETE FROM specline_results WHERE expires_at <= ?1", [now])?;
            let b = tx.execute(
                "DELETE FROM specline_idempotency WHERE expires_at <= ?1",
                [now],
            )?;
            Ok((a + b) as u64)
        })
        .await
    }
}

/// Record a finished step in the caller's transaction: the job's completion, the output as
/// the step's checkpoint, and, when it is the run's current step, the `completed` event and
/// either the next step's job or the run's result and `done` event. Returns whether it
/// applied (the job was still running that attempt) and the queue to wake.
fn step_done(
    tx: &rusqlite::Transaction<'_>,
    cpl: &StepCompletion,
    now: i64,
) -> Result<(bool, Option<String>)> {
    let done = tx
        .prepare_cached(
            "UPDATE specline_jobs SET state = 'completed', finalized_at = ?3
         WHERE id = ?1 AND attempt = ?2 AND state = 'running'",
        )?
        .execute(params![cpl.job_id, cpl.attempt, now])?;
    if done == 0 {
        return Ok((false, None));
    }
    let (steps, state, current): (String, String, i64) = tx
        .query_row(
            "SELECT steps, state, current_step FROM specline_runs WHERE id = ?1",
            [cpl.run_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
        .ok_or(Error::RunNotFound(cpl.run_id))?;
    let steps: Vec<StepSpec> = serde_json::from_str(&steps)
        .map_err(|e| Error::Corrupt(format!("steps of run {}: {e}", cpl.run_id)))?;
    let step = steps.get(cpl.step_index).ok_or_else(|| {
        Error::Corrupt(format!("run {} has no step {}", cpl.run_id, cpl.step_index))
    })?;
    tx.prepare_cached(
        "INSERT INTO specline_checkpoints (run_id, step, key, value, updated_at) VALUES (?1, ?2, '', ?3, ?4)
         ON CONFLICT (run_id, step, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )?
    .execute(params![cpl.run_id, step.kind, cpl.output.to_string(), now])?;
    let mut queue = None;
    // Only the run's current step advances it: a redelivered earlier step just completes.
    if RunState::parse(&state)? == RunState::Running && current as usize == cpl.step_index {
        let next = cpl.step_index + 1;
        let pct = ((next * 100) / steps.len().max(1)) as i16;
        tx.prepare_cached("UPDATE specline_runs SET current_step = ?2 WHERE id = ?1")?
            .execute(params![cpl.run_id, next as i64])?;
        append_event(
            tx,
            cpl.run_id,
            Some(cpl.job_id),
            &step.kind,
            EventStatus::Completed,
            Some(pct),
            None,
            now,
        )?;
        match steps.get(next) {
            Some(next_step) => {
                insert_step_job(tx, cpl.run_id, next, next_step, now)?;
                queue = Some(next_step.queue.clone());
            }
            None => {
                tx.prepare_cached(
                    "INSERT INTO specline_results (run_id, result, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (run_id) DO UPDATE SET result = excluded.result,
                       created_at = excluded.created_at, expires_at = excluded.expires_at",
                )?
                .execute(params![cpl.run_id, cpl.output.to_string(), now, plus(now, cpl.result_ttl)])?;
                tx.prepare_cached(
                    "UPDATE specline_runs SET state = 'done', finished_at = ?2 WHERE id = ?1",
                )?
                .execute(params![cpl.run_id, now])?;
                append_event(
                    tx,
                    cpl.run_id,
                    Some(cpl.job_id),
                    &step.kind,
                    EventStatus::Done,
                    Some(100),
                    None,
                    now,
                )?;
            }
        }
    }
    Ok((true, queue))
}

/// Insert the job of step `index` of a run (its `queued` event comes from the trigger).
fn insert_step_job(
    tx: &rusqlite::Transaction<'_>,
    run_id: i64,
    index: usize,
    step: &StepSpec,
    now: i64,
) -> Result<i64> {
    let args = serde_json::json!({ "run_id": run_id, "step": index }).to_string();
    let id = tx.prepare_cached(
        "INSERT INTO specline_jobs (kind, queue, args, state, priority, max_attempts, created_at, scheduled_at, run_id)
         VALUES (?1, ?2, ?3, 'available', ?4, ?5, ?6, ?6, ?7) RETURNING id",
    )?
    .query_row(
        params![step.kind, step.queue, args, step.priority, step.max_attempts, now, run_id],
        |r| r.get(0),
    )?;
    Ok(id)
}

/// Append an event to a run: the seq comes from the run row, in the caller's transaction.
#[allow(clippy::too_many_arguments)]
fn append_event(
    tx: &rusqlite::Transaction<'_>,
    run_id: i64,
    job_id: Option<i64>,
    stage: &str,
    status: EventStatus,
    progress: Option<i16>,
    payload: Option<String>,
    now: i64,
) -> Result<i64> {
    let (seq, pr): (i64, i16) = tx
        .prepare_cached(
            "UPDATE specline_runs SET last_seq = last_seq + 1, stage = ?2,
           progress = COALESCE(?3, progress), updated_at = ?4
         WHERE id = ?1 RETURNING last_seq, progress",
        )?
        .query_row(params![run_id, stage, progress, now], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    tx.prepare_cached(
        "INSERT INTO specline_run_events (run_id, seq, job_id, stage, status, progress, payload, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![run_id, seq, job_id, stage, status.as_str(), pr, payload, now])?;
    Ok(seq)
}

//! The SQLite driver: the embedded default for one machine.
//!
//! One connection in WAL mode with `synchronous = FULL` (a committed job survives power
//! loss), used from a blocking thread. Writers take the lock up front (`BEGIN IMMEDIATE`), so
//! several processes may share one file: check-then-insert of unique jobs is race-free because
//! SQLite has one writer at a time, and the unique index stays as the backstop.
//! Wake-ups are an in-process broadcast sent after each commit; other processes on the
//! same file find work by polling.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::executor::block_on;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use tokio::sync::broadcast;

use super::json_contains;
use super::{
    Backend, Lease, MigrationStatus, Op, OpResult, PruneSpec, Rescue, StaleJob, StateCounts,
    StepInputs, Store, Wakeup,
};
use crate::error::{Error, Result};
use crate::lifecycle::{self, outcomes, Statements};
use statements::SqliteStatements;

mod claim;
mod config;
mod insert;
mod migrate;
mod rows;
mod statements;
mod time;

use crate::job::{
    CancelOutcome, Completion, FetchedJob, Inserted, Job, JobFilter, JobState, NewJob,
};
use crate::run::{
    EventStatus, Run, RunCancelOutcome, RunEvent, RunSubmission, StepCompletion, Submitted,
};
use claim::claim;
pub use config::SqliteConfig;
pub use insert::SqliteTx;
use migrate::MIGRATIONS;
pub(crate) use rows::{job_from_row, JOB_COLUMNS};
use rows::{run_from_row, RUN_COLUMNS};
use time::{from_micros, micros, now_us};
pub(crate) use time::{minus, plus};

/// The SQLite store. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    wakeups: broadcast::Sender<Wakeup>,
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
        let (wakeups, _) = broadcast::channel(4096);
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                wakeups,
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
            let _ = self.inner.wakeups.send(Wakeup::Inserted(q));
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
        let _ = self.inner.wakeups.send(ev);
    }
}

/// Running jobs of workers whose heartbeat is older than `?1` (or that have no row).
const STALE_WORKER: &str = "NOT EXISTS (
   SELECT 1 FROM specline_workers w
   WHERE w.id = json_extract(j.attempted_by, '$[#-1]') AND w.heartbeat_at > ?1)";

pub(crate) fn lease_ok(tx: &Connection, lease: &Lease, now: i64) -> Result<bool> {
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
        let (jobs, wake) = self
            .with_conn(move |conn| {
                let now = now_us();
                // Claiming jobs need not wait for fsync: a claim lost to a power cut leaves the
                // job pending, never lost. The next durable commit syncs the WAL anyway.
                conn.pragma_update(None, "synchronous", "NORMAL")?;
                let claimed = claim(conn, &queue, &worker, now, limit, run);
                conn.pragma_update(None, "synchronous", "FULL")?;
                claimed
            })
            .await?;
        for w in wake {
            self.emit(w);
        }
        Ok(jobs)
    }

    /// Run `f` with the lifecycle's statements in one write transaction; the wake-ups its
    /// statements collected are sent after the commit.
    async fn apply<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteStatements<'_>) -> Result<T> + Send + 'static,
    {
        let (value, wake) = self
            .with_conn(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let mut st = SqliteStatements::new(&tx, now_us());
                let value = f(&mut st)?;
                let wake = std::mem::take(&mut st.wake);
                tx.commit()?;
                Ok((value, wake))
            })
            .await?;
        for w in wake {
            self.emit(w);
        }
        Ok(value)
    }

    async fn complete_batch(&self, batch: &[Completion]) -> Result<usize> {
        if batch.is_empty() {
            return Ok(0);
        }
        let batch = batch.to_vec();
        self.apply(move |st| block_on(outcomes::record(st, &batch)))
            .await
    }
}

/// A run and its finished steps' outputs, in one read.
pub(super) fn step_inputs(conn: &Connection, run_id: i64) -> Result<Option<StepInputs>> {
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
        let (lease, rescues) = (lease.clone(), rescues.to_vec());
        self.apply(move |st| block_on(lifecycle::rescue::apply(st, &lease, stale, &rescues)))
            .await
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
                   AND id < COALESCE(?8, 9223372036854775807)
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
        self.apply(move |st| block_on(lifecycle::cancel::job(st, id)))
            .await
    }

    async fn retry(&self, id: i64) -> Result<Job> {
        self.apply(move |st| block_on(lifecycle::retry::job(st, id)))
            .await
    }

    async fn discard(&self, id: i64) -> Result<Job> {
        self.apply(move |st| block_on(lifecycle::cancel::discard(st, id)))
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
        self.inner.wakeups.subscribe()
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
                                Vec::new(),
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
                let mut st = SqliteStatements::new(&tx, now);
                block_on(lifecycle::steps::start(&mut st, run_id, &sub.steps))?;
                let wake = std::mem::take(&mut st.wake);
                if let Some(idem) = &sub.idempotency {
                    tx.execute(
                        "UPDATE specline_idempotency SET run_id = ?3 WHERE owner = ?1 AND key = ?2",
                        params![sub.owner, idem.key, run_id],
                    )?;
                }
                tx.commit()?;
                Ok((Submitted { run_id, existing: false }, wake))
            })
            .await?;
        for w in queue {
            self.emit(w);
        }
        Ok(out)
    }

    async fn complete_step(&self, cpl: StepCompletion) -> Result<bool> {
        let n = self
            .apply(move |st| block_on(lifecycle::steps::complete(st, &[&cpl])))
            .await?;
        Ok(n > 0)
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
        self.with_conn(move |conn| step_inputs(conn, run_id)).await
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
            conn.prepare_cached(include_str!("sql/put_checkpoint.sql"))?
                .execute(params![run_id, step, key, value.to_string(), now_us()])?;
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
        let events = lifecycle::events::progress(run_id, job_id, stage, progress, payload);
        self.apply(move |st| block_on(st.append_events(&[events])))
            .await
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
        self.apply(move |st| block_on(lifecycle::steps::resume(st, run_id)).map(drop))
            .await
    }

    async fn apply_ops(&self, ops: Vec<Op>) -> Result<Vec<OpResult>> {
        self.apply(move |st| block_on(lifecycle::ops::dispatch(st, &ops)))
            .await
    }

    async fn cancel_run(&self, run_id: i64) -> Result<RunCancelOutcome> {
        self.apply(move |st| block_on(lifecycle::cancel::run(st, run_id)))
            .await
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

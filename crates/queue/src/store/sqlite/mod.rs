//! The SQLite driver: the embedded default for one machine.
//!
//! One connection in WAL mode with `synchronous = FULL` (a committed job survives power
//! loss), used from a blocking thread. Writers take the lock up front (`BEGIN IMMEDIATE`), so
//! several processes may share one file: check-then-insert of unique jobs is race-free because
//! SQLite has one writer at a time, and the unique index stays as the backstop.
//! Wake-ups are an in-process broadcast sent after each commit; other processes on the
//! same file find work by polling.

use std::collections::HashMap;
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
use crate::limits::{Declared, LimitStatus, PartitionCounts};
use statements::SqliteStatements;

mod claim;
mod config;
#[cfg(test)]
mod fair_tests;
mod gauges;
mod insert;
mod jobs;
mod leader;
mod limits;
mod maintenance;
mod migrate;
mod rollouts;
mod rows;
mod runs;
mod statements;
mod tags;
mod time;
mod workers;

use crate::job::{
    CancelOutcome, Completion, FetchedJob, Inserted, Job, JobFilter, JobState, NewJob,
};
use crate::run::{
    EventStatus, Run, RunCancelOutcome, RunEvent, RunSubmission, StepCompletion, Submitted,
};
use claim::claim;
pub use config::SqliteConfig;
pub use insert::SqliteTx;
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
    /// The limited kinds declared here, and when rate-limited queues have tokens again.
    limits: crate::limited_claim::Local,
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
                limits: crate::limited_claim::Local::default(),
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
        let kinds = self.inner.limits.kinds_in(queue);
        let released = self.inner.limits.released(&kinds);
        let q = queue.to_string();
        let worker = worker.to_string();
        let claimed = self
            .with_conn(move |conn| {
                // Claiming jobs need not wait for fsync: a claim lost to a power cut leaves the
                // job pending, never lost. The next durable commit syncs the WAL anyway.
                conn.pragma_update(None, "synchronous", "NORMAL")?;
                let claimed = claim(conn, &q, &worker, limit, run, &kinds, released);
                conn.pragma_update(None, "synchronous", "FULL")?;
                claimed
            })
            .await?;
        if let Some(limited) = claimed.limited {
            self.inner.limits.after_claim(
                queue,
                limited.throttled,
                limited.retry_at,
                limited.claimed_any,
                limited.claimed,
            );
        }
        for w in claimed.wake {
            self.emit(w);
        }
        Ok(claimed.jobs)
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
    read_step_inputs(conn, run_id, None)
}

/// Give each claimed step job its run and outputs, read once per run: for a run whose jobs
/// are all items that carry their element, without the list they map over
/// ([`lifecycle::steps::inputs_needed`]), so an item's start does not grow with the list.
pub(super) fn attach_step_inputs(conn: &Connection, jobs: &mut [FetchedJob]) -> Result<()> {
    let needed = lifecycle::steps::inputs_needed(jobs);
    let mut read: HashMap<i64, Option<Arc<StepInputs>>> = HashMap::new();
    for (run_id, lean) in needed {
        read.insert(run_id, read_step_inputs(conn, run_id, lean)?.map(Arc::new));
    }
    for job in jobs {
        job.step_inputs = job.run_id.and_then(|id| read.get(&id).cloned().flatten());
    }
    Ok(())
}

/// A run and its finished steps' outputs but, with `lean`, the list that mapped step `lean`
/// maps over.
fn read_step_inputs(
    conn: &Connection,
    run_id: i64,
    lean: Option<usize>,
) -> Result<Option<StepInputs>> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {RUN_COLUMNS},
                    (SELECT COALESCE(json_group_object(step, json(value)), '{{}}')
                     FROM specline_checkpoints WHERE run_id = ?1 AND key = ''
                       AND step IS NOT (
                         SELECT json_extract(r.steps, '$[' || json_extract(r.steps,
                                  '$[' || ?2 || '].map_over') || '].kind')
                         FROM specline_runs r WHERE r.id = ?1 AND ?2 IS NOT NULL))
             FROM specline_runs WHERE id = ?1"
        ))?
        .query_row(rusqlite::params![run_id, lean.map(|s| s as i64)], |r| {
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

    fn gauges(&self) -> &dyn crate::store::gauge_rows::GaugeStore {
        self
    }

    fn rollouts(&self) -> &dyn crate::store::rollout_rows::RolloutStore {
        self
    }

    async fn migrate(&self) -> Result<()> {
        SqliteStore::migrate(self).await
    }

    async fn migration_status(&self) -> Result<MigrationStatus> {
        SqliteStore::migration_status(self).await
    }

    async fn insert_many(&self, jobs: Vec<NewJob>) -> Result<Vec<Inserted>> {
        SqliteStore::insert_many(self, jobs).await
    }

    async fn fetch(&self, queue: &str, limit: usize, worker: &str) -> Result<Vec<FetchedJob>> {
        self.claim(queue, limit, worker, None).await
    }

    async fn declare_limits(&self, declared: &[Declared]) -> Result<()> {
        SqliteStore::declare_limits(self, declared).await
    }

    async fn limits(&self) -> Result<Vec<LimitStatus>> {
        self.limit_statuses().await
    }

    async fn limit_partitions(&self, kind: &str, limit: usize) -> Result<Vec<PartitionCounts>> {
        SqliteStore::limit_partitions(self, kind, limit).await
    }

    async fn set_limit_overrides(&self, kind: &str, overrides: &serde_json::Value) -> Result<bool> {
        SqliteStore::set_limit_overrides(self, kind, overrides).await
    }

    async fn take_rate_token(
        &self,
        name: &str,
        key: &str,
        rate: &crate::limits::Rate,
    ) -> Result<Option<DateTime<Utc>>> {
        SqliteStore::take_rate_token(self, name, key, rate).await
    }

    fn throttled_until(&self, queue: &str) -> Option<DateTime<Utc>> {
        self.inner.limits.retry_at(queue)
    }

    fn handler_returned(&self, id: i64) {
        self.inner.limits.finished(id);
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
        let done = self.complete_batch(batch).await?;
        // A finished job frees its slot under its kind's limits: the next claim here looks at
        // its partition first, and this process's producers of limited queues look again now
        // (other processes' find it by their backoff).
        self.inner.limits.completed(batch.iter().map(|c| c.id));
        for q in self.inner.limits.limited_queues() {
            self.emit(Wakeup::Inserted(q));
        }
        Ok(done)
    }

    async fn register_worker(&self, worker: &str, queues: &[String]) -> Result<()> {
        SqliteStore::register_worker(self, worker, queues).await
    }

    async fn heartbeat(&self, worker: &str) -> Result<Vec<i64>> {
        SqliteStore::heartbeat(self, worker).await
    }

    async fn deregister_worker(&self, worker: &str) -> Result<()> {
        SqliteStore::deregister_worker(self, worker).await
    }

    async fn try_lead(&self, holder: &str, ttl: Duration) -> Result<Option<Lease>> {
        SqliteStore::try_lead(self, holder, ttl).await
    }

    async fn resign(&self, lease: &Lease) -> Result<()> {
        SqliteStore::resign(self, lease).await
    }

    async fn stale_jobs(
        &self,
        lease: &Lease,
        stale: Duration,
        limit: usize,
    ) -> Result<Vec<StaleJob>> {
        SqliteStore::stale_jobs(self, lease, stale, limit).await
    }

    async fn rescue_jobs(&self, lease: &Lease, stale: Duration, rescues: &[Rescue]) -> Result<u64> {
        SqliteStore::rescue_jobs(self, lease, stale, rescues).await
    }

    async fn prune_finished_runs(
        &self,
        lease: &Lease,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<u64> {
        SqliteStore::prune_finished_runs(self, lease, before, limit).await
    }

    async fn prune_workers(&self, lease: &Lease, before: DateTime<Utc>) -> Result<u64> {
        SqliteStore::prune_workers(self, lease, before).await
    }

    async fn prune_limit_buckets(
        &self,
        lease: &Lease,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<u64> {
        SqliteStore::prune_limit_buckets(self, lease, before, limit).await
    }

    async fn prune(&self, lease: &Lease, spec: PruneSpec) -> Result<u64> {
        SqliteStore::prune(self, lease, spec).await
    }

    async fn get_job(&self, id: i64) -> Result<Option<Job>> {
        SqliteStore::get_job(self, id).await
    }

    async fn list_jobs(&self, f: &JobFilter) -> Result<Vec<Job>> {
        SqliteStore::list_jobs(self, f).await
    }

    async fn count_by_state(&self, queue: Option<&str>) -> Result<StateCounts> {
        SqliteStore::count_by_state(self, queue).await
    }

    async fn cancel(&self, id: i64) -> Result<CancelOutcome> {
        SqliteStore::cancel(self, id).await
    }

    async fn retry(&self, id: i64) -> Result<Job> {
        SqliteStore::retry(self, id).await
    }

    async fn discard(&self, id: i64) -> Result<Job> {
        SqliteStore::discard(self, id).await
    }

    async fn set_paused(&self, queue: &str, paused: bool) -> Result<()> {
        SqliteStore::set_paused(self, queue, paused).await
    }

    async fn paused_queues(&self) -> Result<Vec<String>> {
        SqliteStore::paused_queues(self).await
    }

    fn wakeups(&self) -> broadcast::Receiver<Wakeup> {
        self.inner.wakeups.subscribe()
    }

    async fn next_due(&self, queue: &str) -> Result<Option<DateTime<Utc>>> {
        SqliteStore::next_due(self, queue).await
    }

    async fn submit_run(&self, sub: RunSubmission) -> Result<Submitted> {
        SqliteStore::submit_run(self, sub).await
    }

    async fn complete_step(&self, cpl: StepCompletion) -> Result<bool> {
        SqliteStore::complete_step(self, cpl).await
    }

    async fn get_run(&self, run_id: i64) -> Result<Option<Run>> {
        SqliteStore::get_run(self, run_id).await
    }

    async fn step_context(&self, run_id: i64) -> Result<Option<StepInputs>> {
        SqliteStore::step_context(self, run_id).await
    }

    async fn step_outputs(&self, run_id: i64) -> Result<Vec<(String, serde_json::Value)>> {
        SqliteStore::step_outputs(self, run_id).await
    }

    async fn run_nodes(&self, run_id: i64) -> Result<crate::run_graph::RunNodeRows> {
        SqliteStore::run_nodes(self, run_id).await
    }

    async fn map_outputs(&self, run_id: i64, step: &str) -> Result<Vec<serde_json::Value>> {
        SqliteStore::map_outputs(self, run_id, step).await
    }

    async fn put_checkpoint(
        &self,
        run_id: i64,
        step: &str,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        SqliteStore::put_checkpoint(self, run_id, step, key, value).await
    }

    async fn get_checkpoint(
        &self,
        run_id: i64,
        step: &str,
        key: &str,
    ) -> Result<Option<serde_json::Value>> {
        SqliteStore::get_checkpoint(self, run_id, step, key).await
    }

    async fn run_progress(
        &self,
        run_id: i64,
        job_id: i64,
        stage: &str,
        progress: i16,
        payload: Option<serde_json::Value>,
    ) -> Result<()> {
        SqliteStore::run_progress(self, run_id, job_id, stage, progress, payload).await
    }

    async fn run_events(&self, run_id: i64, after: i64, limit: usize) -> Result<Vec<RunEvent>> {
        SqliteStore::run_events(self, run_id, after, limit).await
    }

    async fn run_result(&self, run_id: i64) -> Result<Option<serde_json::Value>> {
        SqliteStore::run_result(self, run_id).await
    }

    async fn resume_run(&self, run_id: i64) -> Result<()> {
        SqliteStore::resume_run(self, run_id).await
    }

    async fn apply_ops(&self, ops: Vec<Op>) -> Result<Vec<OpResult>> {
        self.apply(move |st| block_on(lifecycle::ops::dispatch(st, &ops)))
            .await
    }

    async fn cancel_run(&self, run_id: i64) -> Result<RunCancelOutcome> {
        SqliteStore::cancel_run(self, run_id).await
    }

    async fn prune_runs(&self, lease: &Lease) -> Result<u64> {
        SqliteStore::prune_runs(self, lease).await
    }
}

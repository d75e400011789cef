//! The PostgreSQL driver: the distributed engine.
//!
//! - Fetch claims as many due jobs as there are free slots with one `UPDATE … FROM (SELECT …
//!   FOR UPDATE SKIP LOCKED)` statement.
//! - Completions are applied in batches with one `UPDATE … FROM unnest(…)` statement.
//! - Wake-ups use LISTEN/NOTIFY on one channel per schema. The NOTIFY is part of the
//!   inserting statement (so it is sent exactly when the insert commits), and is sent at most
//!   once per queue per cooldown; a suppressed wake-up is sent when the cooldown ends.
//! - Every statement that maintenance runs checks the leader lease in the same statement
//!   (fencing), so a deposed leader cannot prune or rescue.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::broadcast;
use tokio_postgres_rustls::MakeRustlsConnect;
use tokio_util::sync::CancellationToken;

use super::{
    Backend, Lease, MigrationStatus, Op, OpResult, PruneSpec, Rescue, StaleJob, StateCounts,
    StepInputs, Store, Wakeup,
};
use crate::clock;
use crate::error::{Error, Result};
use crate::lifecycle::{self, outcomes, Statements};
use crate::limited_claim::fair::claim_fair_kinds;
use crate::limits::{Declared, LimitStatus, PartitionCounts};
use limits::PgLimits;
use statements::PgStatements;

mod config;
#[cfg(test)]
mod fair_tests;
mod gauges;
mod insert;
mod jobs;
mod leader;
mod limits;
mod listener;
mod maintenance;
mod migrate;
mod rollouts;
mod rows;
mod runs;
mod statements;
mod tags;
mod tls;
mod workers;

use crate::job::{
    CancelOutcome, Completion, Fence, FetchedJob, Inserted, Job, JobFilter, JobState, NewJob,
};
use crate::run::{
    EventStatus, Run, RunCancelOutcome, RunEvent, RunSubmission, StepCompletion, Submitted,
};
use config::valid_identifier;
pub use config::PgConfig;
use insert::{distinct_queues, insert_rows, INSERT_CHUNK, INSERT_SQL};
use listener::NotifyLimiter;
use rows::{fetched_from_row, run_from_row, step_inputs_from_row, RUN_COLUMNS};
pub(crate) use rows::{job_from_row, JOB_COLUMNS};
use tls::tls_connector;

/// The PostgreSQL store. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// Connections with `synchronous_commit = off`, used only to claim jobs.
    fetch_pool: Pool,
    pg_config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    schema: String,
    channel: String,
    wakeups: broadcast::Sender<Wakeup>,
    listener_started: OnceLock<()>,
    /// True while the LISTEN connection is up (readiness probes report it).
    listening: Arc<AtomicBool>,
    shutdown: CancellationToken,
    limiter: Mutex<NotifyLimiter>,
    cooldown: Duration,
    /// The limited kinds declared here, and when rate-limited queues have tokens again.
    limits: crate::limited_claim::Local,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl PgStore {
    /// Connect (lazily: the pool opens connections on demand).
    pub async fn connect(config: PgConfig) -> Result<PgStore> {
        let mut pg_config: tokio_postgres::Config =
            // The parser's message can quote part of the URL, password included: not shown.
            config.url.parse().map_err(|_: tokio_postgres::Error| {
                Error::InvalidConfig(
                    "the database URL is not a valid PostgreSQL connection string (not shown)"
                        .into(),
                )
            })?;
        let tls = tls_connector(&mut pg_config, config.ca_file.as_deref())?;
        let schema = config
            .schema
            .clone()
            .unwrap_or_else(|| "public".to_string());
        if !valid_identifier(&schema) {
            return Err(Error::InvalidConfig(format!(
                "schema name `{schema}` must be 1-48 ASCII letters, digits or underscores"
            )));
        }
        // Keep any `options` the URL already carries; add the schema's search path.
        let mut base_options = pg_config.get_options().unwrap_or_default().to_string();
        if config.schema.is_some() {
            base_options = format!("{base_options} -c search_path={schema}")
                .trim()
                .to_string();
        }
        pg_config.options(&base_options);
        if pg_config.get_application_name().is_none() {
            pg_config.application_name("specline");
        }
        let mgr = Manager::from_config(
            pg_config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(config.pool_size)
            .build()
            .map_err(|e| Error::Pool(e.to_string()))?;
        // Claiming jobs commits without waiting for the WAL flush: if the database crashes
        // before the flush, the claim is lost and the job is simply pending again (it was
        // never recorded as done). That takes an fsync off the enqueue-to-start path.
        let mut fetch_config = pg_config.clone();
        fetch_config.options(format!("{base_options} -c synchronous_commit=off").trim());
        let fetch_pool = Pool::builder(Manager::from_config(
            fetch_config,
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        ))
        .max_size((config.pool_size / 2).max(2))
        .build()
        .map_err(|e| Error::Pool(e.to_string()))?;
        let (wakeups, _) = broadcast::channel(4096);
        Ok(PgStore {
            inner: Arc::new(Inner {
                pool,
                fetch_pool,
                pg_config,
                tls,
                channel: format!("specline_{schema}"),
                schema,
                wakeups,
                listener_started: OnceLock::new(),
                listening: Arc::new(AtomicBool::new(false)),
                shutdown: CancellationToken::new(),
                limiter: Mutex::new(NotifyLimiter::default()),
                cooldown: config.notify_cooldown,
                limits: crate::limited_claim::Local::default(),
            }),
        })
    }

    /// The pool, for applications that want to share it (e.g. to insert in their own transaction).
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// The schema of the engine's tables.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// Insert jobs inside the caller's transaction: they become visible (and workers are woken)
    /// only when the caller commits, together with the caller's own writes.
    pub async fn insert_tx(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        jobs: Vec<NewJob>,
    ) -> Result<Vec<Inserted>> {
        let queues: Vec<String> = distinct_queues(&jobs);
        let stmt = tx.prepare(INSERT_SQL).await?;
        let mut out = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(INSERT_CHUNK) {
            out.extend(insert_rows(tx, &stmt, chunk, &self.inner.channel, &queues).await?);
        }
        Ok(out)
    }

    /// Whether `fence` holds: the job is still running that attempt. The job's row stays
    /// share-locked until `tx` ends, so the attempt cannot be rescued or recorded before the
    /// caller's own writes in `tx` commit: check it, then write, in one transaction.
    pub async fn holds_fence(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        fence: Fence,
    ) -> Result<bool> {
        let row = tx
            .query_opt(
                "SELECT 1 FROM specline_jobs WHERE id = $1 AND attempt = $2 AND state = 'running'
                 FOR SHARE",
                &[&fence.job_id, &fence.attempt],
            )
            .await?;
        Ok(row.is_some())
    }

    /// The lifecycle's statements on `c` (a transaction or a pooled connection).
    fn statements<'a, C: deadpool_postgres::GenericClient>(
        &'a self,
        c: &'a C,
    ) -> PgStatements<'a, C> {
        PgStatements {
            c,
            channel: &self.inner.channel,
        }
    }

    /// Claim up to `limit` due jobs of `queue` (of run `run`, if given) for `worker`, on a
    /// connection that commits without waiting for the WAL flush; step jobs get their
    /// `started` events.
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
        let mut c = self.inner.fetch_pool.get().await?;
        // Limited kinds first, in their own transaction (their rows locked), then jobs
        // without limits in the free slots left.
        let kinds = self.inner.limits.kinds_in(queue);
        let mut jobs: Vec<FetchedJob> = Vec::new();
        if !kinds.is_empty() {
            let released = self.inner.limits.released(&kinds);
            let tx = c.transaction().await?;
            // The claim reads specline_jobs_fair in its order (ORDER BY … LIMIT), which only
            // that index serves without a sort. With statistics that do not know the kind yet
            // (its jobs came after the last ANALYZE), the planner believes one row matches
            // (queue, kind) and may pick another index and sort "that row", reading every job
            // of the kind (the partition walk before it measured 1.6 s per claim that way).
            // Forbidding sorts in this transaction rules those plans out; the plans' costs
            // then include the forbidden sorts' penalty, which would send them through JIT
            // compilation (up to a second each), so JIT is off too.
            tx.batch_execute("SET LOCAL enable_sort = off; SET LOCAL jit = off")
                .await?;
            let mut st = PgLimits { c: &tx };
            let got =
                claim_fair_kinds(&mut st, queue, &kinds, worker, run, limit, released).await?;
            tx.commit().await?;
            let claimed_any = !got.jobs.is_empty();
            self.inner.limits.after_claim(
                queue,
                got.throttled,
                got.retry_at,
                claimed_any,
                got.claimed,
            );
            jobs = got.jobs;
        }
        if jobs.len() < limit {
            let stmt = c.prepare_cached(include_str!("sql/fetch.sql")).await?;
            let left = (limit - jobs.len()) as i64;
            let rows = c.query(&stmt, &[&queue, &left, &worker, &run]).await?;
            jobs.extend(rows.iter().map(|r| fetched_from_row(r, queue)));
        }
        // Step jobs: their runs and outputs in one read (not one per step), then their
        // `started` events. Plain jobs pay for neither.
        let needed = lifecycle::steps::inputs_needed(&jobs);
        if !needed.is_empty() {
            let inputs = claimed_inputs(&c, &needed).await?;
            for job in &mut jobs {
                job.step_inputs = job.run_id.and_then(|id| inputs.get(&id).cloned());
            }
            lifecycle::steps::claimed(&mut self.statements(&c), &jobs).await?;
        }
        Ok(jobs)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        Ok(self.inner.pool.get().await?)
    }
}

/// Running jobs of workers whose heartbeat is older than `$3` seconds (or that have no row).
const STALE_WORKER: &str = "NOT EXISTS (
   SELECT 1 FROM specline_workers w
   WHERE w.id = j.attempted_by[cardinality(j.attempted_by)]
     AND w.heartbeat_at > now() - make_interval(secs => $3))";

fn lease_cte() -> &'static str {
    "lease AS (SELECT 1 FROM specline_leader WHERE name = 'default' AND holder = $1 AND term = $2 AND expires_at > now())"
}

pub(super) fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
}

/// Runs and their finished steps' outputs, by run id, in one read.
async fn step_inputs(
    c: &deadpool_postgres::Object,
    runs: &[i64],
) -> Result<std::collections::HashMap<i64, Arc<StepInputs>>> {
    read_step_inputs(c, runs, &[], &[]).await
}

/// What claimed step jobs need, by run, in one read: the runs whose jobs are all items that
/// carry their element without the list they map over
/// ([`lifecycle::steps::inputs_needed`]).
async fn claimed_inputs(
    c: &deadpool_postgres::Object,
    needed: &std::collections::HashMap<i64, Option<usize>>,
) -> Result<std::collections::HashMap<i64, Arc<StepInputs>>> {
    let runs: Vec<i64> = needed.keys().copied().collect();
    let (lean, steps): (Vec<i64>, Vec<i32>) = needed
        .iter()
        .filter_map(|(run, step)| step.map(|s| (*run, s as i32)))
        .unzip();
    read_step_inputs(c, &runs, &lean, &steps).await
}

async fn read_step_inputs(
    c: &deadpool_postgres::Object,
    runs: &[i64],
    lean: &[i64],
    steps: &[i32],
) -> Result<std::collections::HashMap<i64, Arc<StepInputs>>> {
    let stmt = c
        .prepare_cached(include_str!("sql/step_inputs.sql"))
        .await?;
    let rows = c.query(&stmt, &[&runs, &lean, &steps]).await?;
    rows.iter()
        .map(|r| Ok((r.get::<_, i64>(0), Arc::new(step_inputs_from_row(r)?))))
        .collect()
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
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

    fn wakeups_alive(&self) -> bool {
        self.inner.listener_started.get().is_none() || self.inner.listening.load(Ordering::Relaxed)
    }

    async fn migrate(&self) -> Result<()> {
        PgStore::migrate(self).await
    }

    async fn migration_status(&self) -> Result<MigrationStatus> {
        PgStore::migration_status(self).await
    }

    async fn insert_many(&self, jobs: Vec<NewJob>) -> Result<Vec<Inserted>> {
        PgStore::insert_many(self, jobs).await
    }

    async fn fetch(&self, queue: &str, limit: usize, worker: &str) -> Result<Vec<FetchedJob>> {
        self.claim(queue, limit, worker, None).await
    }

    async fn declare_limits(&self, declared: &[Declared]) -> Result<()> {
        PgStore::declare_limits(self, declared).await
    }

    async fn limits(&self) -> Result<Vec<LimitStatus>> {
        self.limit_statuses().await
    }

    async fn limit_partitions(&self, kind: &str, limit: usize) -> Result<Vec<PartitionCounts>> {
        PgStore::limit_partitions(self, kind, limit).await
    }

    async fn set_limit_overrides(&self, kind: &str, overrides: &serde_json::Value) -> Result<bool> {
        PgStore::set_limit_overrides(self, kind, overrides).await
    }

    async fn take_rate_token(
        &self,
        name: &str,
        key: &str,
        rate: &crate::limits::Rate,
    ) -> Result<Option<DateTime<Utc>>> {
        PgStore::take_rate_token(self, name, key, rate).await
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
        let done = PgStore::complete(self, batch).await?;
        // A finished job frees its slot under its kind's limits: the next claim here looks at
        // its partition first, and this process's producers of limited queues look again now
        // (other processes' find it by their backoff).
        self.inner.limits.completed(batch.iter().map(|c| c.id));
        for q in self.inner.limits.limited_queues() {
            let _ = self.inner.wakeups.send(Wakeup::Inserted(q));
        }
        Ok(done)
    }

    async fn register_worker(&self, worker: &str, queues: &[String]) -> Result<()> {
        PgStore::register_worker(self, worker, queues).await
    }

    async fn heartbeat(&self, worker: &str) -> Result<Vec<i64>> {
        PgStore::heartbeat(self, worker).await
    }

    async fn deregister_worker(&self, worker: &str) -> Result<()> {
        PgStore::deregister_worker(self, worker).await
    }

    async fn try_lead(&self, holder: &str, ttl: Duration) -> Result<Option<Lease>> {
        PgStore::try_lead(self, holder, ttl).await
    }

    async fn resign(&self, lease: &Lease) -> Result<()> {
        PgStore::resign(self, lease).await
    }

    async fn stale_jobs(
        &self,
        lease: &Lease,
        stale: Duration,
        limit: usize,
    ) -> Result<Vec<StaleJob>> {
        PgStore::stale_jobs(self, lease, stale, limit).await
    }

    async fn rescue_jobs(&self, lease: &Lease, stale: Duration, rescues: &[Rescue]) -> Result<u64> {
        PgStore::rescue_jobs(self, lease, stale, rescues).await
    }

    async fn prune_finished_runs(
        &self,
        lease: &Lease,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<u64> {
        PgStore::prune_finished_runs(self, lease, before, limit).await
    }

    async fn prune_workers(&self, lease: &Lease, before: DateTime<Utc>) -> Result<u64> {
        PgStore::prune_workers(self, lease, before).await
    }

    async fn prune_limit_buckets(
        &self,
        lease: &Lease,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<u64> {
        PgStore::prune_limit_buckets(self, lease, before, limit).await
    }

    async fn prune(&self, lease: &Lease, spec: PruneSpec) -> Result<u64> {
        PgStore::prune(self, lease, spec).await
    }

    async fn get_job(&self, id: i64) -> Result<Option<Job>> {
        PgStore::get_job(self, id).await
    }

    async fn list_jobs(&self, f: &JobFilter) -> Result<Vec<Job>> {
        PgStore::list_jobs(self, f).await
    }

    async fn count_by_state(&self, queue: Option<&str>) -> Result<StateCounts> {
        PgStore::count_by_state(self, queue).await
    }

    async fn cancel(&self, id: i64) -> Result<CancelOutcome> {
        PgStore::cancel(self, id).await
    }

    async fn retry(&self, id: i64) -> Result<Job> {
        PgStore::retry(self, id).await
    }

    async fn discard(&self, id: i64) -> Result<Job> {
        PgStore::discard(self, id).await
    }

    async fn set_paused(&self, queue: &str, paused: bool) -> Result<()> {
        PgStore::set_paused(self, queue, paused).await
    }

    async fn paused_queues(&self) -> Result<Vec<String>> {
        PgStore::paused_queues(self).await
    }

    fn wakeups(&self) -> broadcast::Receiver<Wakeup> {
        let rx = self.inner.wakeups.subscribe();
        self.start_listener();
        rx
    }

    async fn next_due(&self, queue: &str) -> Result<Option<DateTime<Utc>>> {
        PgStore::next_due(self, queue).await
    }

    async fn submit_run(&self, sub: RunSubmission) -> Result<Submitted> {
        PgStore::submit_run(self, sub).await
    }

    async fn complete_step(&self, cpl: StepCompletion) -> Result<bool> {
        PgStore::complete_step(self, cpl).await
    }

    async fn get_run(&self, run_id: i64) -> Result<Option<Run>> {
        PgStore::get_run(self, run_id).await
    }

    async fn step_context(&self, run_id: i64) -> Result<Option<StepInputs>> {
        PgStore::step_context(self, run_id).await
    }

    async fn step_outputs(&self, run_id: i64) -> Result<Vec<(String, serde_json::Value)>> {
        PgStore::step_outputs(self, run_id).await
    }

    async fn run_nodes(&self, run_id: i64) -> Result<crate::run_graph::RunNodeRows> {
        PgStore::run_nodes(self, run_id).await
    }

    async fn map_outputs(&self, run_id: i64, step: &str) -> Result<Vec<serde_json::Value>> {
        PgStore::map_outputs(self, run_id, step).await
    }

    async fn put_checkpoint(
        &self,
        run_id: i64,
        step: &str,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        PgStore::put_checkpoint(self, run_id, step, key, value).await
    }

    async fn get_checkpoint(
        &self,
        run_id: i64,
        step: &str,
        key: &str,
    ) -> Result<Option<serde_json::Value>> {
        PgStore::get_checkpoint(self, run_id, step, key).await
    }

    async fn run_progress(
        &self,
        run_id: i64,
        job_id: i64,
        stage: &str,
        progress: i16,
        payload: Option<serde_json::Value>,
    ) -> Result<()> {
        PgStore::run_progress(self, run_id, job_id, stage, progress, payload).await
    }

    async fn run_events(&self, run_id: i64, after: i64, limit: usize) -> Result<Vec<RunEvent>> {
        PgStore::run_events(self, run_id, after, limit).await
    }

    async fn run_result(&self, run_id: i64) -> Result<Option<serde_json::Value>> {
        PgStore::run_result(self, run_id).await
    }

    async fn resume_run(&self, run_id: i64) -> Result<()> {
        PgStore::resume_run(self, run_id).await
    }

    async fn apply_ops(&self, ops: Vec<Op>) -> Result<Vec<OpResult>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let out = lifecycle::ops::dispatch(&mut self.statements(&tx), &ops).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn cancel_run(&self, run_id: i64) -> Result<RunCancelOutcome> {
        PgStore::cancel_run(self, run_id).await
    }

    async fn prune_runs(&self, lease: &Lease) -> Result<u64> {
        PgStore::prune_runs(self, lease).await
    }
}

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_url() {
        let c = PgConfig::new("postgres://u:hunter2@db.internal:5432/x");
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("db.internal"), "{shown}");
    }

    #[tokio::test]
    async fn an_unparseable_url_is_refused_without_quoting_it() {
        let err = match PgStore::connect(PgConfig::new("postgres://u:hun=ter2 x@h/db?sslmode=zz"))
            .await
        {
            Ok(_) => panic!("connected with a malformed URL"),
            Err(e) => e.to_string(),
        };
        assert!(err.starts_with("INVALID_CONFIG"), "{err}");
        assert!(!err.contains("hun"), "{err}");
    }
}

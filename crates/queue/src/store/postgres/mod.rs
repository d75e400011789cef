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
use statements::PgStatements;

mod config;
mod insert;
mod listener;
mod migrate;
mod rows;
mod statements;
mod tls;

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
use migrate::MIGRATIONS;
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
        let c = self.inner.fetch_pool.get().await?;
        let stmt = c.prepare_cached(include_str!("sql/fetch.sql")).await?;
        let limit = limit as i64;
        let rows = c.query(&stmt, &[&queue, &limit, &worker, &run]).await?;
        let mut jobs: Vec<FetchedJob> = rows.iter().map(|r| fetched_from_row(r, queue)).collect();
        // Step jobs: their runs and outputs in one read (not one per step), then their
        // `started` events. Plain jobs pay for neither.
        let runs: Vec<i64> = jobs.iter().filter_map(|j| j.run_id).collect();
        if !runs.is_empty() {
            let inputs = step_inputs(&c, &runs).await?;
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
    let stmt = c
        .prepare_cached(include_str!("sql/step_inputs.sql"))
        .await?;
    let rows = c.query(&stmt, &[&runs]).await?;
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

    fn wakeups_alive(&self) -> bool {
        self.inner.listener_started.get().is_none() || self.inner.listening.load(Ordering::Relaxed)
    }

    async fn migrate(&self) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('specline_migrate:' || $1))",
            &[&self.inner.schema],
        )
        .await?;
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{0}\";
             CREATE TABLE IF NOT EXISTS \"{0}\".specline_migrations (
               version integer PRIMARY KEY, name text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())",
            self.inner.schema
        ))
        .await?;
        let row = tx
            .query_one(
                "SELECT COALESCE(max(version), 0) FROM specline_migrations",
                &[],
            )
            .await?;
        let current: i32 = row.get(0);
        let latest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
        if current > latest {
            return Err(Error::SchemaMismatch(format!(
                "database schema is at version {current}, newer than this build ({latest}); upgrade specline"
            )));
        }
        for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO specline_migrations (version, name) VALUES ($1, $2)",
                &[version, name],
            )
            .await?;
            tracing::info!(version, name, "applied migration");
        }
        tx.commit().await?;
        Ok(())
    }

    async fn migration_status(&self) -> Result<MigrationStatus> {
        let c = self.client().await?;
        let latest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
        let exists: bool = c
            .query_one(
                "SELECT to_regclass(current_schema() || '.specline_migrations') IS NOT NULL",
                &[],
            )
            .await?
            .get(0);
        let current = if exists {
            c.query_one(
                "SELECT COALESCE(max(version), 0) FROM specline_migrations",
                &[],
            )
            .await?
            .get(0)
        } else {
            0
        };
        Ok(MigrationStatus { current, latest })
    }

    async fn insert_many(&self, jobs: Vec<NewJob>) -> Result<Vec<Inserted>> {
        let notify = self.queues_to_notify(&jobs);
        let c = self.client().await?;
        let stmt = c.prepare_cached(INSERT_SQL).await?;
        let mut out = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(INSERT_CHUNK) {
            out.extend(insert_rows(&**c, &stmt, chunk, &self.inner.channel, &notify).await?);
        }
        Ok(out)
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
        if batch.is_empty() {
            return Ok(0);
        }
        let mut c = self.client().await?;
        if !outcomes::touches_runs(batch) {
            // Plain successes: one statement, no transaction around it.
            return outcomes::record(&mut self.statements(&c), batch).await;
        }
        let tx = c.transaction().await?;
        let n = outcomes::record(&mut self.statements(&tx), batch).await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn register_worker(&self, worker: &str, queues: &[String]) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO specline_workers (id, queues) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET queues = EXCLUDED.queues, heartbeat_at = now()",
            &[&worker, &queues],
        )
        .await?;
        Ok(())
    }

    async fn heartbeat(&self, worker: &str) -> Result<Vec<i64>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "WITH hb AS (
                   INSERT INTO specline_workers (id, queues) VALUES ($1, '{}')
                   ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()
                 )
                 SELECT id FROM specline_jobs
                 WHERE state = 'running' AND cancel_requested_at IS NOT NULL
                   AND attempted_by[cardinality(attempted_by)] = $1",
                &[&worker],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn deregister_worker(&self, worker: &str) -> Result<()> {
        let c = self.client().await?;
        c.execute("DELETE FROM specline_workers WHERE id = $1", &[&worker])
            .await?;
        Ok(())
    }

    async fn try_lead(&self, holder: &str, ttl: Duration) -> Result<Option<Lease>> {
        let c = self.client().await?;
        let secs = clock::bounded(ttl).as_secs_f64();
        let row = c
            .query_opt(
                "INSERT INTO specline_leader (name, holder, term, elected_at, expires_at)
                 VALUES ('default', $1, 1, now(), now() + make_interval(secs => $2))
                 ON CONFLICT (name) DO UPDATE SET
                   holder = EXCLUDED.holder,
                   term = CASE WHEN specline_leader.holder = EXCLUDED.holder
                                AND specline_leader.expires_at > now()
                               THEN specline_leader.term ELSE specline_leader.term + 1 END,
                   elected_at = CASE WHEN specline_leader.holder = EXCLUDED.holder
                                      AND specline_leader.expires_at > now()
                                     THEN specline_leader.elected_at ELSE now() END,
                   expires_at = EXCLUDED.expires_at
                 WHERE specline_leader.holder = EXCLUDED.holder OR specline_leader.expires_at <= now()
                 RETURNING term",
                &[&holder, &secs],
            )
            .await?;
        Ok(row.map(|r| Lease {
            holder: holder.to_string(),
            term: r.get(0),
        }))
    }

    async fn resign(&self, lease: &Lease) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "DELETE FROM specline_leader WHERE name = 'default' AND holder = $1 AND term = $2",
            &[&lease.holder, &lease.term],
        )
        .await?;
        Ok(())
    }

    async fn stale_jobs(
        &self,
        lease: &Lease,
        stale: Duration,
        limit: usize,
    ) -> Result<Vec<StaleJob>> {
        let c = self.client().await?;
        let sql = format!(
            "WITH {lease}
             SELECT j.id, j.attempt, j.max_attempts, j.cancel_requested_at IS NOT NULL,
                    COALESCE(j.attempted_by[cardinality(j.attempted_by)], ''), j.rescue_credits,
                    j.run_id IS NOT NULL AND EXISTS (
                      SELECT 1 FROM specline_checkpoints c
                      WHERE c.run_id = j.run_id AND c.step = j.kind AND c.key <> ''
                        AND c.updated_at > j.attempted_at)
             FROM specline_jobs j
             WHERE j.state = 'running' AND EXISTS (SELECT 1 FROM lease) AND {STALE_WORKER}
             ORDER BY j.id LIMIT $4",
            lease = lease_cte()
        );
        let rows = c
            .query(
                &sql,
                &[
                    &lease.holder,
                    &lease.term,
                    &clock::bounded(stale).as_secs_f64(),
                    &(limit as i64),
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| StaleJob {
                id: r.get(0),
                attempt: r.get(1),
                max_attempts: r.get(2),
                cancel_requested: r.get(3),
                worker: r.get(4),
                credits: r.get(5),
                progressed: r.get(6),
            })
            .collect())
    }

    async fn rescue_jobs(&self, lease: &Lease, stale: Duration, rescues: &[Rescue]) -> Result<u64> {
        if rescues.is_empty() {
            return Ok(0);
        }
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let n = lifecycle::rescue::apply(&mut self.statements(&tx), lease, stale, rescues).await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn prune_finished_runs(
        &self,
        lease: &Lease,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<u64> {
        let c = self.client().await?;
        let sql = format!(
            "WITH {lease}, doomed AS (
               SELECT r.id FROM specline_runs r
               WHERE r.finished_at IS NOT NULL AND r.finished_at < $3 AND r.state <> 'running'
                 AND EXISTS (SELECT 1 FROM lease)
                 AND NOT EXISTS (SELECT 1 FROM specline_results x WHERE x.run_id = r.id AND x.expires_at > now())
                 AND NOT EXISTS (SELECT 1 FROM specline_idempotency i WHERE i.run_id = r.id AND i.expires_at > now())
                 AND NOT EXISTS (SELECT 1 FROM specline_jobs j WHERE j.run_id = r.id
                                   AND j.state NOT IN ('completed', 'cancelled', 'discarded'))
               LIMIT $4
             )
             DELETE FROM specline_runs WHERE id IN (SELECT id FROM doomed)",
            lease = lease_cte()
        );
        let n = c
            .execute(
                &sql,
                &[&lease.holder, &lease.term, &before, &(limit as i64)],
            )
            .await?;
        Ok(n)
    }

    async fn prune_workers(&self, lease: &Lease, before: DateTime<Utc>) -> Result<u64> {
        let c = self.client().await?;
        let sql = format!(
            "WITH {lease}
             DELETE FROM specline_workers w
             WHERE w.heartbeat_at < $3 AND EXISTS (SELECT 1 FROM lease)
               AND NOT EXISTS (SELECT 1 FROM specline_jobs j WHERE j.state = 'running'
                                 AND j.attempted_by[cardinality(j.attempted_by)] = w.id)",
            lease = lease_cte()
        );
        Ok(c.execute(&sql, &[&lease.holder, &lease.term, &before])
            .await?)
    }

    async fn prune(&self, lease: &Lease, spec: PruneSpec) -> Result<u64> {
        let c = self.client().await?;
        let sql = format!(
            "WITH {lease}, doomed AS (
               SELECT id FROM specline_jobs
               WHERE finalized_at IS NOT NULL AND finalized_at < GREATEST($3::timestamptz, $4::timestamptz, $5::timestamptz)
                 AND ((state = 'completed' AND finalized_at < $3)
                   OR (state = 'cancelled' AND finalized_at < $4)
                   OR (state = 'discarded' AND finalized_at < $5))
                 AND EXISTS (SELECT 1 FROM lease)
               LIMIT $6
             )
             DELETE FROM specline_jobs WHERE id IN (SELECT id FROM doomed)",
            lease = lease_cte()
        );
        let limit = spec.limit as i64;
        let n = c
            .execute(
                &sql,
                &[
                    &lease.holder,
                    &lease.term,
                    &spec.completed_before,
                    &spec.cancelled_before,
                    &spec.discarded_before,
                    &limit,
                ],
            )
            .await?;
        Ok(n)
    }

    async fn get_job(&self, id: i64) -> Result<Option<Job>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {JOB_COLUMNS} FROM specline_jobs WHERE id = $1"),
                &[&id],
            )
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn list_jobs(&self, f: &JobFilter) -> Result<Vec<Job>> {
        f.validate()?;
        let c = self.client().await?;
        let limit = if f.limit == 0 { 100 } else { f.limit } as i64;
        let state = f.state.map(|s| s.as_str());
        let rows = c
            .query(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM specline_jobs
                     WHERE ($1::text IS NULL OR queue = $1) AND ($2::text IS NULL OR kind = $2)
                       AND ($3::text IS NULL OR state = $3) AND tags @> $5::text[]
                       AND ($6::jsonb IS NULL OR args @> $6::jsonb)
                       AND ($7::jsonb IS NULL OR metadata @> $7::jsonb)
                       AND id < COALESCE($8::bigint, 9223372036854775807)
                     ORDER BY id DESC LIMIT $4"
                ),
                &[
                    &f.queue,
                    &f.kind,
                    &state,
                    &limit,
                    &f.tags,
                    &f.args,
                    &f.metadata,
                    &f.before_id,
                ],
            )
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    async fn count_by_state(&self, queue: Option<&str>) -> Result<StateCounts> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT state, count(*) FROM specline_jobs WHERE ($1::text IS NULL OR queue = $1)
                 GROUP BY state ORDER BY state",
                &[&queue],
            )
            .await?;
        rows.iter()
            .map(|r| Ok((JobState::parse(r.get(0))?, r.get::<_, i64>(1))))
            .collect()
    }

    async fn cancel(&self, id: i64) -> Result<CancelOutcome> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let out = lifecycle::cancel::job(&mut self.statements(&tx), id).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn retry(&self, id: i64) -> Result<Job> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let job = lifecycle::retry::job(&mut self.statements(&tx), id).await?;
        tx.commit().await?;
        Ok(job)
    }

    async fn discard(&self, id: i64) -> Result<Job> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let job = lifecycle::cancel::discard(&mut self.statements(&tx), id).await?;
        tx.commit().await?;
        Ok(job)
    }

    async fn set_paused(&self, queue: &str, paused: bool) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO specline_queues (name, paused, updated_at) VALUES ($1, $2, now())
             ON CONFLICT (name) DO UPDATE SET paused = EXCLUDED.paused, updated_at = now()",
            &[&queue, &paused],
        )
        .await?;
        self.notify(format!("q:{queue}")).await?;
        if !paused {
            self.notify(format!("i:{queue}")).await?;
        }
        Ok(())
    }

    async fn paused_queues(&self) -> Result<Vec<String>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT name FROM specline_queues WHERE paused ORDER BY name",
                &[],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn wakeups(&self) -> broadcast::Receiver<Wakeup> {
        let rx = self.inner.wakeups.subscribe();
        self.start_listener();
        rx
    }

    async fn next_due(&self, queue: &str) -> Result<Option<DateTime<Utc>>> {
        let c = self.client().await?;
        let row = c
            .query_one(
                "SELECT min(scheduled_at) FROM specline_jobs
                 WHERE queue = $1 AND state IN ('available', 'scheduled', 'retryable')",
                &[&queue],
            )
            .await?;
        Ok(row.get(0))
    }

    async fn submit_run(&self, sub: RunSubmission) -> Result<Submitted> {
        let first = sub.steps.first().cloned().ok_or_else(|| {
            Error::InvalidConfig(format!("pipeline `{}` has no steps", sub.pipeline))
        })?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        if let Some(idem) = &sub.idempotency {
            tx.execute(
                "DELETE FROM specline_idempotency WHERE owner = $1 AND key = $2 AND expires_at <= now()",
                &[&sub.owner, &idem.key],
            )
            .await?;
            let reserved = tx
                .query_opt(
                    "INSERT INTO specline_idempotency (owner, key, fingerprint, expires_at)
                     VALUES ($1, $2, $3, now() + make_interval(secs => $4))
                     ON CONFLICT (owner, key) DO NOTHING RETURNING 1",
                    &[
                        &sub.owner,
                        &idem.key,
                        &idem.fingerprint,
                        &clock::bounded(idem.ttl).as_secs_f64(),
                    ],
                )
                .await?;
            if reserved.is_none() {
                let row = tx
                    .query_one(
                        "SELECT fingerprint, run_id FROM specline_idempotency WHERE owner = $1 AND key = $2",
                        &[&sub.owner, &idem.key],
                    )
                    .await?;
                let fingerprint: String = row.get(0);
                let run_id: Option<i64> = row.get(1);
                tx.commit().await?;
                return match run_id {
                    Some(run_id) if fingerprint == idem.fingerprint => Ok(Submitted {
                        run_id,
                        existing: true,
                    }),
                    _ => Err(Error::IdempotencyConflict {
                        owner: sub.owner.clone(),
                        key: idem.key.clone(),
                    }),
                };
            }
        }
        let steps =
            serde_json::to_value(&sub.steps).map_err(|e| Error::InvalidArgs(e.to_string()))?;
        let run_id: i64 = tx
            .query_one(
                "INSERT INTO specline_runs (pipeline, owner, state, steps, input, stage)
                 VALUES ($1, $2, 'running', $3::text::jsonb, $4::text::jsonb, $5) RETURNING id",
                &[
                    &sub.pipeline,
                    &sub.owner,
                    &steps.to_string(),
                    &sub.input.to_string(),
                    &first.kind,
                ],
            )
            .await?
            .get(0);
        lifecycle::steps::start(&mut self.statements(&tx), run_id, &sub.steps).await?;
        if let Some(idem) = &sub.idempotency {
            tx.execute(
                "UPDATE specline_idempotency SET run_id = $3 WHERE owner = $1 AND key = $2",
                &[&sub.owner, &idem.key, &run_id],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Submitted {
            run_id,
            existing: false,
        })
    }

    async fn complete_step(&self, cpl: StepCompletion) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let n = lifecycle::steps::complete(&mut self.statements(&tx), &[&cpl]).await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn get_run(&self, run_id: i64) -> Result<Option<Run>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {RUN_COLUMNS} FROM specline_runs WHERE id = $1"),
                &[&run_id],
            )
            .await?;
        row.as_ref().map(run_from_row).transpose()
    }

    async fn step_context(&self, run_id: i64) -> Result<Option<StepInputs>> {
        let c = self.client().await?;
        let mut inputs = step_inputs(&c, &[run_id]).await?;
        Ok(inputs.remove(&run_id).map(Arc::unwrap_or_clone))
    }

    async fn step_outputs(&self, run_id: i64) -> Result<Vec<(String, serde_json::Value)>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT step, value::text FROM specline_checkpoints WHERE run_id = $1 AND key = ''",
                &[&run_id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.get::<_, String>(0),
                    serde_json::from_str(r.get::<_, &str>(1))
                        .map_err(|e| Error::Corrupt(e.to_string()))?,
                ))
            })
            .collect()
    }

    async fn put_checkpoint(
        &self,
        run_id: i64,
        step: &str,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO specline_checkpoints (run_id, step, key, value) VALUES ($1, $2, $3, $4::text::jsonb)
             ON CONFLICT (run_id, step, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
            &[&run_id, &step, &key, &value.to_string()],
        )
        .await?;
        Ok(())
    }

    async fn get_checkpoint(
        &self,
        run_id: i64,
        step: &str,
        key: &str,
    ) -> Result<Option<serde_json::Value>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT value::text FROM specline_checkpoints WHERE run_id = $1 AND step = $2 AND key = $3",
                &[&run_id, &step, &key],
            )
            .await?;
        row.map(|r| {
            serde_json::from_str(r.get::<_, &str>(0)).map_err(|e| Error::Corrupt(e.to_string()))
        })
        .transpose()
    }

    async fn run_progress(
        &self,
        run_id: i64,
        job_id: i64,
        stage: &str,
        progress: i16,
        payload: Option<serde_json::Value>,
    ) -> Result<()> {
        let c = self.client().await?;
        let events = lifecycle::events::progress(run_id, job_id, stage, progress, payload);
        self.statements(&c).append_events(&[events]).await
    }

    async fn run_events(&self, run_id: i64, after: i64, limit: usize) -> Result<Vec<RunEvent>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT run_id, seq, job_id, stage, status, at, progress, payload::text
                 FROM specline_run_events WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                &[&run_id, &after, &(limit as i64)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(RunEvent {
                    run_id: r.get(0),
                    seq: r.get(1),
                    job_id: r.get(2),
                    stage: r.get(3),
                    status: EventStatus::parse(r.get(4))?,
                    at: r.get(5),
                    progress: r.get(6),
                    payload: r
                        .get::<_, Option<&str>>(7)
                        .map(serde_json::from_str)
                        .transpose()
                        .map_err(|e| Error::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }

    async fn run_result(&self, run_id: i64) -> Result<Option<serde_json::Value>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT result::text FROM specline_results WHERE run_id = $1 AND expires_at > now()",
                &[&run_id],
            )
            .await?;
        row.map(|r| {
            serde_json::from_str(r.get::<_, &str>(0)).map_err(|e| Error::Corrupt(e.to_string()))
        })
        .transpose()
    }

    async fn resume_run(&self, run_id: i64) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        lifecycle::steps::resume(&mut self.statements(&tx), run_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn apply_ops(&self, ops: Vec<Op>) -> Result<Vec<OpResult>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let out = lifecycle::ops::dispatch(&mut self.statements(&tx), &ops).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn cancel_run(&self, run_id: i64) -> Result<RunCancelOutcome> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let out = lifecycle::cancel::run(&mut self.statements(&tx), run_id).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn prune_runs(&self, lease: &Lease) -> Result<u64> {
        let c = self.client().await?;
        let sql = format!(
            "WITH {lease}, r AS (
               DELETE FROM specline_results WHERE expires_at <= now() AND EXISTS (SELECT 1 FROM lease) RETURNING 1
             ), i AS (
               DELETE FROM specline_idempotency WHERE expires_at <= now() AND EXISTS (SELECT 1 FROM lease) RETURNING 1
             )
             SELECT (SELECT count(*) FROM r) + (SELECT count(*) FROM i)",
            lease = lease_cte()
        );
        let n: i64 = c
            .query_one(&sql, &[&lease.holder, &lease.term])
            .await?
            .get(0);
        Ok(n as u64)
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

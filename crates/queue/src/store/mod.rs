//! The storage interface and its two drivers.
//!
//! Every behaviour of the engine is a method here, so PostgreSQL and SQLite give the same
//! semantics; the conformance suite in `tests/conformance.rs` runs against both.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

use crate::error::Result;
use crate::job::{
    CancelOutcome, Completion, FetchedJob, Inserted, Job, JobFilter, JobState, NewJob,
};
use crate::limits::{Declared, LimitStatus, PartitionCounts};
use crate::run::{Run, RunCancelOutcome, RunEvent, RunSubmission, StepCompletion, Submitted};

pub mod gauge_rows;
mod json_contains;
pub mod postgres;
mod postgres_stats;
pub mod rollout_mode;
pub mod rollout_rows;
pub mod sqlite;
mod sqlite_stats;

pub use postgres::{PgConfig, PgStore};
pub use sqlite::{SqliteConfig, SqliteStore};

/// Which driver a store is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A wake-up or control signal from the store to workers and run subscribers. (Not to be
/// confused with a run's *events*, the rows of its history: a wake-up carries no data and
/// may be missed or repeated; it only says where to look.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wakeup {
    /// Jobs were inserted (or became runnable) in the queue.
    Inserted(String),
    /// The wake-up stream was interrupted: wake-ups may have been missed, look everywhere.
    Resync,
    /// Someone asked to cancel this running job.
    CancelRequested(i64),
    /// A queue was paused or resumed.
    QueueChanged(String),
    /// A run has new events in its history (`0`: some run, look at yours).
    RunEvent(i64),
}

pub use crate::lease::Lease;
pub use crate::lifecycle::ops::{Op, OpResult};
pub use crate::lifecycle::{Rescue, StaleJob};
pub use crate::run::StepInputs;

/// What the pruner deletes.
#[derive(Debug, Clone, Copy)]
pub struct PruneSpec {
    pub completed_before: DateTime<Utc>,
    pub cancelled_before: DateTime<Utc>,
    pub discarded_before: DateTime<Utc>,
    pub limit: usize,
}

/// Where the database schema stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MigrationStatus {
    pub current: i32,
    pub latest: i32,
}

impl MigrationStatus {
    pub fn is_current(&self) -> bool {
        self.current == self.latest
    }
}

/// Counts of jobs per state in one queue (or all).
pub type StateCounts = Vec<(JobState, i64)>;

/// The storage interface. Both drivers implement all of it.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// The dashboard's reads (capped counts, the last hour's activity).
    fn stats(&self) -> &dyn crate::stats::JobStats;

    /// The queue gauges: measured by the leader, stored, read by every `/metrics`.
    fn gauges(&self) -> &dyn crate::store::gauge_rows::GaugeStore;

    /// Rollouts: their modes, changes and shadow results (see [`crate::rollout`]).
    fn rollouts(&self) -> &dyn crate::store::rollout_rows::RolloutStore;

    /// Whether wake-ups are being received: on PostgreSQL, the LISTEN connection is up (or
    /// nothing has subscribed yet). Workers still poll without it, but slowly, so readiness
    /// probes report it. Always true on SQLite (wake-ups are in-process).
    fn wakeups_alive(&self) -> bool {
        true
    }

    /// Create or upgrade the schema. Safe to run concurrently from several processes.
    async fn migrate(&self) -> Result<()>;

    /// The schema version in the database and the newest this build knows.
    async fn migration_status(&self) -> Result<MigrationStatus>;

    /// Insert jobs; unique ones that collide return the existing job with `duplicate = true`.
    /// The result has one entry per input, in input order.
    async fn insert_many(&self, jobs: Vec<NewJob>) -> Result<Vec<Inserted>>;

    /// Claim up to `limit` due jobs of `queue` for `worker`, marking them running.
    async fn fetch(&self, queue: &str, limit: usize, worker: &str) -> Result<Vec<FetchedJob>>;

    /// Like [`Store::fetch`], but only jobs of the pipeline run `run_id`.
    async fn fetch_run(
        &self,
        queue: &str,
        limit: usize,
        worker: &str,
        run_id: i64,
    ) -> Result<Vec<FetchedJob>>;

    /// Record the end of many attempts at once. An entry whose job is no longer running that
    /// attempt (rescued, cancelled meanwhile) is ignored. Returns how many were applied.
    async fn complete(&self, batch: &[Completion]) -> Result<usize>;

    /// Register a worker process and its queues; its heartbeat starts now.
    async fn register_worker(&self, worker: &str, queues: &[String]) -> Result<()>;

    /// Refresh the worker's heartbeat. Returns ids of its running jobs that were asked to
    /// cancel, as a backstop for a missed cancel signal.
    async fn heartbeat(&self, worker: &str) -> Result<Vec<i64>>;

    /// Remove a worker on clean shutdown.
    async fn deregister_worker(&self, worker: &str) -> Result<()>;

    /// Acquire or renew the leadership lease. `Some(lease)` when `holder` leads.
    async fn try_lead(&self, holder: &str, ttl: Duration) -> Result<Option<Lease>>;

    /// Give up leadership, if held.
    async fn resign(&self, lease: &Lease) -> Result<()>;

    /// Running jobs whose worker stopped heartbeating for longer than `stale` (at most
    /// `limit`), with what the rescuer needs to decide their fate.
    async fn stale_jobs(
        &self,
        lease: &Lease,
        stale: Duration,
        limit: usize,
    ) -> Result<Vec<StaleJob>>;

    /// Apply the rescuer's decisions. Each applies only while its job is still running that
    /// attempt under a stale worker, and only while `lease` holds. Returns how many applied.
    async fn rescue_jobs(&self, lease: &Lease, stale: Duration, rescues: &[Rescue]) -> Result<u64>;

    /// Delete finished runs (with their events and checkpoints) that ended before `before`,
    /// at most `limit`: not one whose result has not expired yet, one that a live
    /// idempotency key points to, or one with a job that has not finished.
    async fn prune_finished_runs(
        &self,
        lease: &Lease,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<u64>;

    /// Delete the rows of workers whose last heartbeat is older than `before` and that own no
    /// running job (the rescuer takes those first).
    async fn prune_workers(&self, lease: &Lease, before: DateTime<Utc>) -> Result<u64>;

    /// Delete at most `limit` rate-bucket rows (`specline_limit_partitions`: limited kinds'
    /// per-partition buckets and rate gates' `gate:` rows) last refilled before `before`. A
    /// bucket unused for longer than its rate's period is full again, the same as no row, so
    /// with `before` past the longest period nothing changes but the table's size.
    async fn prune_limit_buckets(
        &self,
        lease: &Lease,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<u64>;

    /// Delete finished jobs older than the spec's bounds. Returns the number deleted.
    async fn prune(&self, lease: &Lease, spec: PruneSpec) -> Result<u64>;

    async fn get_job(&self, id: i64) -> Result<Option<Job>>;
    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>>;
    async fn count_by_state(&self, queue: Option<&str>) -> Result<StateCounts>;

    /// Cancel a pending job now, or ask the worker of a running one to stop.
    async fn cancel(&self, id: i64) -> Result<CancelOutcome>;
    /// Make a job runnable now, whatever its state but running. A finished job gets one more
    /// attempt if it had none left.
    async fn retry(&self, id: i64) -> Result<Job>;
    /// Discard a job that is not running.
    async fn discard(&self, id: i64) -> Result<Job>;

    async fn set_paused(&self, queue: &str, paused: bool) -> Result<()>;

    /// Write the limits of these kinds as the code declares them (an operator's overrides
    /// stay), and claim their jobs through the limited path from now on (see
    /// [`crate::limits`]). A worker declares the limited kinds it runs when it starts.
    async fn declare_limits(&self, declared: &[Declared]) -> Result<()>;

    /// Every limited kind: its declared, overridden and effective limits, its running and
    /// pending jobs, and how many claims a limit held back.
    async fn limits(&self) -> Result<Vec<LimitStatus>>;

    /// The partitions of a limited kind with the most unfinished jobs (at most `limit`), with
    /// their running and pending counts: an operator's read, which counts the kind's
    /// unfinished jobs (not for the hot path).
    async fn limit_partitions(&self, kind: &str, limit: usize) -> Result<Vec<PartitionCounts>>;

    /// Replace a limited kind's overrides (a JSON object of [`crate::limits::LimitValues`]
    /// keys; `{}` removes them). Claims use them from their next transaction. False when no
    /// worker ever declared the kind.
    async fn set_limit_overrides(&self, kind: &str, overrides: &serde_json::Value) -> Result<bool>;

    /// Take one token of `rate` for partition `key` of the rate gate `name`
    /// ([`crate::limits::gate`]), across every process on this database: `None` when taken,
    /// else when the next token returns.
    async fn take_rate_token(
        &self,
        name: &str,
        key: &str,
        rate: &crate::limits::Rate,
    ) -> Result<Option<DateTime<Utc>>>;

    /// When `queue` is worth claiming again after a limit held back this process's last
    /// claim of it, if that is still ahead: when a rate's tokens return, or after a short
    /// backoff (5 ms, doubling up to 200 ms while the limit holds) for a concurrency limit,
    /// whose slots free when jobs finish on any worker. The producer looks again then
    /// rather than at its poll interval.
    fn throttled_until(&self, _queue: &str) -> Option<DateTime<Utc>> {
        None
    }

    /// A job claimed through this store finished here: its handler returned and its outcome
    /// is queued for the completer. A limited job's slot passes to this process's next claim
    /// now, before the outcome commits (see [`crate::limited_claim::ClaimedJob`]'s module).
    fn handler_returned(&self, _id: i64) {}
    async fn paused_queues(&self) -> Result<Vec<String>>;

    /// Wake-ups and control signals.
    fn wakeups(&self) -> broadcast::Receiver<Wakeup>;

    /// The earliest `scheduled_at` of a pending job without limits in the queue, to sleep
    /// precisely (a limited kind's jobs wait for a freed slot, a poll or
    /// [`Store::throttled_until`]).
    async fn next_due(&self, queue: &str) -> Result<Option<DateTime<Utc>>>;

    // --- pipelines ---------------------------------------------------------------------

    /// Create a run and its first step's job, reserving the idempotency key first (atomically,
    /// by its primary key). The same key and fingerprint return the existing run; the same key
    /// with another fingerprint fails with `IDEMPOTENCY_CONFLICT`.
    async fn submit_run(&self, sub: RunSubmission) -> Result<Submitted>;

    /// Record a finished step in one transaction: the job's completion, the output as the
    /// step's checkpoint, the `completed` event, and either the next step's job (with its
    /// `queued` event) or the run's result and `done` event. Returns false (and changes
    /// nothing) when the job is no longer running at that attempt.
    async fn complete_step(&self, c: StepCompletion) -> Result<bool>;

    async fn get_run(&self, run_id: i64) -> Result<Option<Run>>;

    /// Outputs of the run's finished steps, by step name.
    async fn step_outputs(&self, run_id: i64) -> Result<Vec<(String, serde_json::Value)>>;

    /// What a run's graph is drawn from ([`crate::RunGraph::of`]): its steps with a
    /// checkpoint, its step jobs counted by kind and state, its mapped steps' item counts.
    async fn run_nodes(&self, run_id: i64) -> Result<crate::run_graph::RunNodeRows>;

    /// The outputs of the finished items of a mapped step of a run, in item order.
    async fn map_outputs(&self, run_id: i64, step: &str) -> Result<Vec<serde_json::Value>>;

    /// The run and its finished steps' outputs, in one read: what a step needs to start.
    async fn step_context(&self, run_id: i64) -> Result<Option<StepInputs>>;

    /// Save an intermediate checkpoint of a step (`key` must not be empty).
    async fn put_checkpoint(
        &self,
        run_id: i64,
        step: &str,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()>;
    async fn get_checkpoint(
        &self,
        run_id: i64,
        step: &str,
        key: &str,
    ) -> Result<Option<serde_json::Value>>;

    /// Record a `progress` event.
    async fn run_progress(
        &self,
        run_id: i64,
        job_id: i64,
        stage: &str,
        progress: i16,
        payload: Option<serde_json::Value>,
    ) -> Result<()>;

    /// Events with `seq > after`, in order, at most `limit`.
    async fn run_events(&self, run_id: i64, after: i64, limit: usize) -> Result<Vec<RunEvent>>;

    /// The run's result, if it is done and the result has not expired.
    async fn run_result(&self, run_id: i64) -> Result<Option<serde_json::Value>>;

    /// Restart a failed run from its first step without a checkpoint.
    async fn resume_run(&self, run_id: i64) -> Result<()>;

    /// Cancel a running run in one transaction: the run fails with code `CANCELLED` (one
    /// `failed` event), and its unfinished step job is cancelled (pending) or asked to stop
    /// (running). A step that finishes meanwhile no longer advances the run.
    async fn cancel_run(&self, run_id: i64) -> Result<RunCancelOutcome>;

    /// Delete expired results and idempotency keys (leader only).
    async fn prune_runs(&self, lease: &Lease) -> Result<u64>;

    /// Run the driver's lifecycle statements `ops` in one transaction, in order: all of them
    /// commit, or (on the first error, [`Op::Abort`] included) none. This is the door the
    /// driver conformance suite ([`crate::driver_tests`]) uses; a driver implements it with
    /// [`crate::lifecycle::ops::dispatch`] on its [`crate::lifecycle::Statements`].
    async fn apply_ops(&self, ops: Vec<Op>) -> Result<Vec<OpResult>>;
}

/// Step outputs from a JSON object `{step: output}` (as both drivers aggregate them).
pub(crate) fn outputs_from_object(text: &str) -> Result<Vec<(String, serde_json::Value)>> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
        .map_err(|e| crate::error::Error::Corrupt(format!("step outputs: {e}")))?;
    Ok(map.into_iter().collect())
}

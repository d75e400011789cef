//! Leader-elected maintenance: the rescuer, the pruner, periodic (cron) jobs and the queue
//! gauges ([`crate::gauges`]).
//!
//! Any number of processes may run [`Maintenance`]; one at a time holds the lease row
//! (`specline_leader`) and does the work. The lease carries a term (fencing token) that
//! every maintenance statement checks in the same statement, so a leader that lost its
//! lease (paused process, partition) cannot act on stale beliefs. Periodic jobs are inserted
//! with a unique key of (schedule name, tick time), so even two processes that both believe
//! they lead insert exactly one job per tick.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::clock;
use crate::error::{Error, Result};
use crate::gauges;
use crate::job::{InsertOpts, JobState, NewJob, UniqueOpts};
use crate::kind::JobKind;
use crate::metrics as m;
use crate::rescuer;
use crate::store::{Lease, PruneSpec, Store};

/// When a periodic job fires.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// A cron expression (5 fields: minute hour day-of-month month day-of-week), UTC.
    Cron(Box<croner::Cron>),
    /// Every `d`, at multiples of `d` since the Unix epoch.
    Every(Duration),
}

impl Schedule {
    pub fn cron(expr: &str) -> Result<Schedule> {
        croner::Cron::from_str(expr)
            .map(|c| Schedule::Cron(Box::new(c)))
            .map_err(|e| Error::InvalidSchedule {
                expr: expr.to_string(),
                message: e.to_string(),
            })
    }

    pub fn every(d: Duration) -> Result<Schedule> {
        if d.is_zero() {
            return Err(Error::InvalidSchedule {
                expr: format!("{d:?}"),
                message: "interval must be positive".into(),
            });
        }
        Ok(Schedule::Every(d))
    }

    /// The first tick strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Cron(c) => c.find_next_occurrence(&t, false).ok(),
            Schedule::Every(d) => {
                let step = d.as_micros().max(1) as i64;
                let us = t.timestamp_micros();
                let next = (us.div_euclid(step) + 1) * step;
                DateTime::from_timestamp_micros(next)
            }
        }
    }
}

type MakeJob = Arc<dyn Fn(DateTime<Utc>) -> Result<NewJob> + Send + Sync>;

/// A job inserted on a schedule.
#[derive(Clone)]
pub struct PeriodicJob {
    pub name: String,
    pub schedule: Schedule,
    make: MakeJob,
}

impl std::fmt::Debug for PeriodicJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeriodicJob")
            .field("name", &self.name)
            .field("schedule", &self.schedule)
            .finish()
    }
}

impl PeriodicJob {
    /// Insert `args` of kind `K` at every tick of `schedule`.
    pub fn new<K: JobKind + Clone>(name: impl Into<String>, schedule: Schedule, args: K) -> Self {
        PeriodicJob {
            name: name.into(),
            schedule,
            make: Arc::new(move |_tick| NewJob::new(&args, InsertOpts::default())),
        }
    }

    /// Build the job from the tick time.
    pub fn with<F>(name: impl Into<String>, schedule: Schedule, make: F) -> Self
    where
        F: Fn(DateTime<Utc>) -> Result<NewJob> + Send + Sync + 'static,
    {
        PeriodicJob {
            name: name.into(),
            schedule,
            make: Arc::new(make),
        }
    }

    fn job_for(&self, tick: DateTime<Utc>) -> Result<NewJob> {
        let mut job = (self.make)(tick)?;
        // Exactly once per tick, across every node and whatever became of earlier jobs.
        let unique = UniqueOpts::by_key(format!(
            "periodic:{}:{}",
            self.name,
            tick.timestamp_micros()
        ))
        .states(&JobState::ALL);
        job.unique_key = Some(unique.compute_key(&job.kind, &job.queue, &job.args, tick));
        job.unique_states = unique.mask();
        if let serde_json::Value::Object(map) = &mut job.metadata {
            map.insert("periodic".into(), serde_json::json!(self.name));
            map.insert("tick".into(), serde_json::json!(tick));
        }
        Ok(job)
    }
}

/// Tunables of maintenance.
#[derive(Debug, Clone)]
pub struct MaintenanceConfig {
    /// Name of this node in the lease. Default: a fresh worker-style id.
    pub id: String,
    /// How long a lease lasts without renewal.
    pub lease_ttl: Duration,
    /// How often the loop runs (renews the lease, runs due services).
    pub tick: Duration,
    /// How often the rescuer runs.
    pub rescue_interval: Duration,
    /// A worker whose heartbeat is older than this is dead; its running jobs are rescued.
    pub rescue_after: Duration,
    /// How often the pruner runs.
    pub prune_interval: Duration,
    /// Keep completed jobs this long.
    pub retain_completed: Duration,
    /// Keep cancelled jobs this long.
    pub retain_cancelled: Duration,
    /// Keep discarded jobs this long.
    pub retain_discarded: Duration,
    /// Most jobs deleted by one prune statement (and most runs).
    pub prune_batch: usize,
    /// Keep finished runs (done or failed), with their events and checkpoints, this long
    /// after they end. A run whose result has not expired, or that a live idempotency key
    /// points to, is kept until both have gone. A failed run pruned can no longer be resumed.
    pub retain_runs: Duration,
    /// Delete the row of a worker that stopped heartbeating this long ago (once the rescuer
    /// has taken its jobs).
    pub retain_workers: Duration,
    /// Keep rollouts' shadow results (`specline-enqueue rollout report` reads them) this long.
    pub retain_rollout_results: Duration,
    /// Delete a rate bucket's row (a limited kind's per-partition bucket, a rate gate's row)
    /// unused this long. Keep it above the longest rate period in use: a bucket unused for
    /// its period is full again, the same as no row.
    pub retain_limit_buckets: Duration,
    /// At most this many attempts of one job are given back because its step's checkpoint
    /// moved during an attempt lost to a dead worker (see [`crate::rescuer`]).
    pub rescue_credits: i32,
    /// How often the queue gauges are measured and stored (every process serving `/metrics`
    /// exports them). `None`: never (an embedding application that exports nothing).
    pub gauge_interval: Option<Duration>,
}

impl Default for MaintenanceConfig {
    fn default() -> Self {
        MaintenanceConfig {
            id: crate::worker::default_worker_id(),
            lease_ttl: Duration::from_secs(10),
            tick: Duration::from_secs(1),
            rescue_interval: Duration::from_secs(2),
            rescue_after: Duration::from_secs(10),
            prune_interval: Duration::from_secs(60),
            retain_completed: Duration::from_secs(24 * 3600),
            retain_cancelled: Duration::from_secs(7 * 24 * 3600),
            retain_discarded: Duration::from_secs(7 * 24 * 3600),
            prune_batch: 10_000,
            retain_runs: Duration::from_secs(30 * 24 * 3600),
            retain_workers: Duration::from_secs(3600),
            retain_rollout_results: Duration::from_secs(30 * 24 * 3600),
            retain_limit_buckets: Duration::from_secs(7 * 24 * 3600),
            rescue_credits: 10,
            gauge_interval: Some(Duration::from_secs(5)),
        }
    }
}

/// The maintenance service of one node.
pub struct Maintenance {
    store: Arc<dyn Store>,
    config: MaintenanceConfig,
    periodic: Vec<PeriodicJob>,
}

/// A running maintenance loop.
pub struct MaintenanceHandle {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    state: Arc<std::sync::Mutex<Option<Lease>>>,
}

impl MaintenanceHandle {
    /// The lease this node holds, if it leads now.
    pub fn lease(&self) -> Option<Lease> {
        self.state.lock().ok().and_then(|l| l.clone())
    }

    /// A cheap check, for other tasks, of whether this node leads now (e.g. to run an
    /// application's own leader-only duties next to maintenance).
    pub fn leader_probe(&self) -> impl Fn() -> bool + Send + Sync + 'static {
        let state = self.state.clone();
        move || state.lock().is_ok_and(|l| l.is_some())
    }

    /// Stop and give up the lease, so another node takes over at once.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// How many lease periods a new leader looks back for periodic ticks.
const HANDOVER_LOOK_BACK: u32 = 4;

struct Timers {
    next_rescue: tokio::time::Instant,
    next_prune: tokio::time::Instant,
    next_gauges: tokio::time::Instant,
    next_ticks: Vec<Option<DateTime<Utc>>>,
}

impl Maintenance {
    pub fn new(store: Arc<dyn Store>, config: MaintenanceConfig) -> Self {
        Maintenance {
            store,
            config,
            periodic: Vec::new(),
        }
    }

    pub fn periodic(mut self, job: PeriodicJob) -> Self {
        self.periodic.push(job);
        self
    }

    /// Run one round: acquire or renew the lease, then run whatever is due. Returns the lease
    /// when this node leads. Exposed for tests and for embedding in a custom loop.
    pub async fn run_once(&self, timers: &mut RoundTimers) -> Result<Option<Lease>> {
        let Some(lease) = self
            .store
            .try_lead(&self.config.id, self.config.lease_ttl)
            .await?
        else {
            timers.inner = None;
            return Ok(None);
        };
        let now = tokio::time::Instant::now();
        let t = timers.inner.get_or_insert_with(|| {
            // A new leader looks back so that a tick missed during a handover still fires
            // (the unique key per tick makes a repeat harmless). The gap to cover is the old
            // lease running out plus however long the new leader's round took to come round:
            // one lease period was too short on a loaded machine (a tick was seen missed),
            // so four. Exact would be the previous holder's last renewal, read from the lease
            // row at election.
            let from = clock::ago(self.config.lease_ttl.saturating_mul(HANDOVER_LOOK_BACK));
            Timers {
                next_rescue: now,
                next_prune: now,
                next_gauges: now,
                next_ticks: self
                    .periodic
                    .iter()
                    .map(|p| p.schedule.next_after(from))
                    .collect(),
            }
        });
        if now >= t.next_rescue {
            t.next_rescue = now + self.config.rescue_interval;
            let n = rescuer::rescue(
                &*self.store,
                &lease,
                self.config.rescue_after,
                self.config.rescue_credits,
            )
            .await?;
            if n > 0 {
                tracing::warn!(jobs = n, "rescued jobs of dead workers");
                m::rescued(n);
            }
        }
        if now >= t.next_prune {
            t.next_prune = now + self.config.prune_interval;
            let ago = clock::ago;
            let spec = PruneSpec {
                completed_before: ago(self.config.retain_completed),
                cancelled_before: ago(self.config.retain_cancelled),
                discarded_before: ago(self.config.retain_discarded),
                limit: self.config.prune_batch,
            };
            let n = self.store.prune(&lease, spec).await? + self.store.prune_runs(&lease).await?;
            if n > 0 {
                tracing::info!(jobs = n, "pruned finished jobs");
                m::pruned(n);
            }
            let runs = self
                .store
                .prune_finished_runs(
                    &lease,
                    ago(self.config.retain_runs),
                    self.config.prune_batch,
                )
                .await?;
            let workers = self
                .store
                .prune_workers(&lease, ago(self.config.retain_workers))
                .await?;
            let shadow_results = self
                .store
                .rollouts()
                .prune_shadow_results(
                    ago(self.config.retain_rollout_results),
                    self.config.prune_batch,
                )
                .await?;
            let limit_buckets = self
                .store
                .prune_limit_buckets(
                    &lease,
                    ago(self.config.retain_limit_buckets),
                    self.config.prune_batch,
                )
                .await?;
            if runs + workers + shadow_results + limit_buckets > 0 {
                tracing::info!(
                    runs,
                    workers,
                    shadow_results,
                    limit_buckets,
                    "pruned finished runs, dead workers, old shadow results and idle rate buckets"
                );
            }
        }
        if let Some(every) = self.config.gauge_interval.filter(|_| now >= t.next_gauges) {
            t.next_gauges = now + every;
            gauges::measure(&*self.store, &lease).await?;
        }
        let wall = Utc::now();
        for (p, next) in self.periodic.iter().zip(t.next_ticks.iter_mut()) {
            let mut jobs = Vec::new();
            while let Some(tick) = *next {
                if tick > wall {
                    break;
                }
                match p.job_for(tick) {
                    Ok(j) => jobs.push(j),
                    Err(e) => {
                        tracing::error!(periodic = %p.name, error = %e, "periodic job could not be built")
                    }
                }
                *next = p.schedule.next_after(tick);
                if jobs.len() >= 100 {
                    break;
                }
            }
            if !jobs.is_empty() {
                self.store.insert_many(jobs).await?;
            }
        }
        Ok(Some(lease))
    }

    /// Run until shut down.
    pub fn start(self) -> MaintenanceHandle {
        let stop = CancellationToken::new();
        let state = Arc::new(std::sync::Mutex::new(None));
        let st = state.clone();
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let mut timers = RoundTimers::default();
            loop {
                // A failed round proves nothing about the lease (it may have been lost, or
                // its duties may not have run): report no leadership until a round succeeds,
                // so leader-only duties elsewhere do not act on a stale belief.
                let lease = match self.run_once(&mut timers).await {
                    Ok(lease) => lease,
                    Err(e) => {
                        tracing::error!(error = %e, "maintenance round failed");
                        None
                    }
                };
                if let Ok(mut s) = st.lock() {
                    *s = lease;
                }
                tokio::select! {
                    _ = token.cancelled() => break,
                    _ = tokio::time::sleep(self.config.tick) => {}
                }
            }
            let lease = st.lock().ok().and_then(|mut l| l.take());
            if let Some(lease) = lease {
                if let Err(e) = self.store.resign(&lease).await {
                    tracing::warn!(error = %e, "could not resign leadership");
                }
            }
        });
        MaintenanceHandle { stop, task, state }
    }
}

/// Per-leadership timers of [`Maintenance::run_once`]; reset when leadership is lost.
#[derive(Default)]
pub struct RoundTimers {
    inner: Option<Timers>,
}

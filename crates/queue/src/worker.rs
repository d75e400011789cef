//! The worker: fetches jobs for its queues, runs them, records their outcomes in batches.
//!
//! Structure (after River's producer / executor / completer split):
//! - one **producer** per queue claims as many jobs as it has free slots, woken by the
//!   store's insert signal, by freed slots, or by a jittered poll;
//! - each job runs as its own task (**executor**) under a timeout, with panics caught;
//! - one **completer** writes outcomes in batches; its channel is bounded, so a slow
//!   database pushes back on executors, which hold their slot until the outcome is queued;
//! - a **heartbeat** keeps the worker's row fresh: the rescuer returns the running jobs of a
//!   worker whose heartbeat went stale, so a crash loses no job.
//!
//! A job's state only changes in the database. If the process dies between running a job
//! and recording it, the job stays `running` until the rescuer sees the dead heartbeat and
//! makes it `retryable`: it runs again, never vanishes.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::FutureExt;
use tokio::sync::{mpsc, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::clock;
use crate::completer;
use crate::error::{Error, JobError, Result};
use crate::handler::{Catalog, Done, Entry, JobContext, Registry};
use crate::heartbeat;
use crate::job::{AttemptError, Completion, FetchedJob, Outcome};
use crate::metrics as m;
use crate::sanitize;
use crate::store::{Store, Wakeup};

/// Tunables of a worker. The defaults suit most deployments.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Unique name of this worker process. Default: `host-pid-random`.
    pub id: String,
    /// Poll for work this often when no wake-up arrives (±20% jitter).
    pub poll_interval: Duration,
    /// Refresh the heartbeat this often.
    pub heartbeat_interval: Duration,
    /// Most jobs claimed by one fetch.
    pub fetch_max: usize,
    /// Most outcomes written by one completion statement.
    pub complete_batch: usize,
    /// Outcomes waiting for the completer before executors wait (backpressure).
    pub complete_buffer: usize,
    /// Stop every running job when no heartbeat renewal succeeded for this long (see
    /// [`crate::heartbeat`]). Keep it below the rescuer's `rescue_after` by at least one
    /// `heartbeat_interval`.
    pub fence_after: Duration,
    /// Claim only the jobs of this pipeline run (a one-shot command that must not serve the
    /// other runs of a shared database). `None`: every job of the consumed queues.
    pub only_run: Option<i64>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            id: default_worker_id(),
            poll_interval: Duration::from_secs(1),
            heartbeat_interval: Duration::from_secs(2),
            fetch_max: 1000,
            complete_batch: 2000,
            complete_buffer: 10_000,
            fence_after: Duration::from_secs(6),
            only_run: None,
        }
    }
}

/// `host-pid-random`: readable in `attempted_by`, unique across restarts.
pub fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_string());
    format!(
        "{host}-{}-{:06x}",
        std::process::id(),
        rand::random::<u32>() & 0xff_ffff
    )
}

/// Builds a [`Worker`]: a store, handlers, and the queues to consume.
pub struct WorkerBuilder {
    store: Arc<dyn Store>,
    registry: Registry,
    catalog: Option<Catalog>,
    queues: Vec<(String, usize)>,
    config: WorkerConfig,
}

impl WorkerBuilder {
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = registry;
        self
    }
    /// The application's full catalog of kinds; the worker refuses to start if a queue it
    /// consumes carries a kind of the catalog that has no handler here.
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = Some(catalog);
        self
    }
    /// Consume `queue`, running at most `concurrency` jobs of it at once.
    pub fn queue(mut self, queue: impl Into<String>, concurrency: usize) -> Self {
        self.queues.push((queue.into(), concurrency));
        self
    }
    pub fn config(mut self, config: WorkerConfig) -> Self {
        self.config = config;
        self
    }
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.config.id = id.into();
        self
    }
    pub fn poll_interval(mut self, d: Duration) -> Self {
        self.config.poll_interval = d;
        self
    }
    pub fn heartbeat_interval(mut self, d: Duration) -> Self {
        self.config.heartbeat_interval = d;
        self
    }
    /// See [`WorkerConfig::fence_after`].
    pub fn fence_after(mut self, d: Duration) -> Self {
        self.config.fence_after = d;
        self
    }
    /// Claim only the jobs of run `run_id` (see [`WorkerConfig::only_run`]).
    pub fn only_run(mut self, run_id: i64) -> Self {
        self.config.only_run = Some(run_id);
        self
    }

    /// Check the configuration: every kind bound to a consumed queue has a handler.
    pub fn build(self) -> Result<Worker> {
        self.registry.check()?;
        if self.queues.is_empty() {
            return Err(Error::InvalidConfig(
                "a worker needs at least one queue".into(),
            ));
        }
        let mut seen = Vec::new();
        for (q, c) in &self.queues {
            if *c == 0 {
                return Err(Error::InvalidConfig(format!(
                    "queue `{q}` has concurrency 0"
                )));
            }
            if seen.contains(q) {
                return Err(Error::InvalidConfig(format!("queue `{q}` listed twice")));
            }
            seen.push(q.clone());
        }
        let mut catalog = self.catalog.unwrap_or_default();
        for spec in self.registry.kinds() {
            catalog.add(spec.clone());
        }
        for (q, _) in &self.queues {
            for spec in catalog.kinds_in(q) {
                if !self.registry.entries.contains_key(&spec.kind) {
                    return Err(Error::UnhandledKind {
                        kind: spec.kind.clone(),
                        queue: q.clone(),
                    });
                }
            }
        }
        Ok(Worker {
            store: self.store,
            registry: self.registry,
            queues: self.queues,
            config: self.config,
        })
    }
}

/// A configured worker; [`Worker::start`] runs it.
pub struct Worker {
    store: Arc<dyn Store>,
    registry: Registry,
    queues: Vec<(String, usize)>,
    config: WorkerConfig,
}

struct Running {
    token: CancellationToken,
    /// Why the token fired: set before cancelling.
    reason: Arc<Mutex<Option<StopReason>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopReason {
    Cancelled,
    Shutdown,
    /// The worker could not renew its heartbeat in time (see [`crate::heartbeat`]).
    Fenced,
}

struct Shared {
    store: Arc<dyn Store>,
    entries: HashMap<String, Entry>,
    /// Metric handles by kind, then queue, for what this worker can run (registered at start).
    metrics: HashMap<String, HashMap<String, m::KindMetrics>>,
    config: WorkerConfig,
    running: Mutex<HashMap<i64, Running>>,
    wakers: HashMap<String, Arc<Notify>>,
    completions: mpsc::Sender<Completion>,
    /// Producers stop fetching.
    stop_fetching: CancellationToken,
    /// Every running job is told to stop (the shutdown deadline passed).
    hard_stop: CancellationToken,
    /// Signalled whenever a job finishes.
    idle: Notify,
    /// The heartbeat could not be renewed in time: claim nothing until it is.
    fenced: AtomicBool,
}

impl heartbeat::Pulse for Shared {
    fn cancel(&self, job: i64) {
        cancel_running(self, job);
    }

    fn fence(&self, fenced: bool) {
        self.fenced.store(fenced, Ordering::SeqCst);
        if fenced {
            stop_all(self, StopReason::Fenced);
        } else {
            for w in self.wakers.values() {
                w.notify_one();
            }
        }
    }
}

impl Worker {
    pub fn builder(store: Arc<dyn Store>) -> WorkerBuilder {
        WorkerBuilder {
            store,
            registry: Registry::new(),
            catalog: None,
            queues: Vec::new(),
            config: WorkerConfig::default(),
        }
    }

    pub fn id(&self) -> &str {
        &self.config.id
    }

    /// Register the worker and start fetching. Fails if the schema is not migrated.
    pub async fn start(self) -> Result<WorkerHandle> {
        let status = self.store.migration_status().await?;
        if !status.is_current() {
            return Err(Error::SchemaMismatch(format!(
                "database schema is at version {} but this build needs {}; run `specline migrate`",
                status.current, status.latest
            )));
        }
        let queue_names: Vec<String> = self.queues.iter().map(|q| q.0.clone()).collect();
        self.store
            .register_worker(&self.config.id, &queue_names)
            .await?;
        let wakeups = self.store.wakeups();
        let (tx, rx) = mpsc::channel(self.config.complete_buffer.max(1));
        let mut metrics: HashMap<String, HashMap<String, m::KindMetrics>> = HashMap::new();
        for (q, _) in &self.queues {
            for k in self.registry.kinds().filter(|k| k.queues.contains(q)) {
                metrics
                    .entry(k.kind.clone())
                    .or_default()
                    .insert(q.clone(), m::KindMetrics::new(q, &k.kind));
            }
        }
        let shared = Arc::new(Shared {
            store: self.store.clone(),
            metrics,
            entries: self.registry.entries.into_iter().collect(),
            config: self.config.clone(),
            running: Mutex::new(HashMap::new()),
            wakers: self
                .queues
                .iter()
                .map(|(q, _)| (q.clone(), Arc::new(Notify::new())))
                .collect(),
            completions: tx,
            stop_fetching: CancellationToken::new(),
            hard_stop: CancellationToken::new(),
            idle: Notify::new(),
            fenced: AtomicBool::new(false),
        });
        let background = CancellationToken::new();
        let mut producers = JoinSet::new();
        for (q, concurrency) in self.queues.clone() {
            producers.spawn(producer(shared.clone(), q, concurrency));
        }
        let completer = tokio::spawn(completer::run(
            self.store.clone(),
            self.config.complete_batch,
            rx,
        ));
        let heartbeat = tokio::spawn(heartbeat::run(
            self.store.clone(),
            self.config.id.clone(),
            self.config.heartbeat_interval,
            self.config.fence_after,
            background.clone(),
            shared.clone(),
        ));
        let listener = tokio::spawn(listen(shared.clone(), wakeups, background.clone()));
        tracing::info!(worker = %self.config.id, queues = ?queue_names, "worker started");
        Ok(WorkerHandle {
            shared,
            producers,
            completer: Some(completer),
            heartbeat,
            listener,
            background,
        })
    }
}

/// A running worker. Call [`WorkerHandle::shutdown`] to stop it cleanly; dropping it stops
/// fetching and abandons running jobs to the rescuer.
pub struct WorkerHandle {
    shared: Arc<Shared>,
    producers: JoinSet<()>,
    completer: Option<tokio::task::JoinHandle<()>>,
    heartbeat: tokio::task::JoinHandle<()>,
    listener: tokio::task::JoinHandle<()>,
    background: CancellationToken,
}

/// What a shutdown did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShutdownReport {
    /// Jobs that were still running at the deadline and were put back as retryable.
    pub interrupted: usize,
}

impl WorkerHandle {
    pub fn id(&self) -> &str {
        &self.shared.config.id
    }

    /// Number of jobs running now.
    pub fn running(&self) -> usize {
        self.shared.running.lock().map(|r| r.len()).unwrap_or(0)
    }

    /// Stop fetching, let running jobs finish within `deadline`, then cancel the rest and
    /// put them back as retryable (without using an attempt), flush outcomes, deregister.
    pub async fn shutdown(mut self, deadline: Duration) -> Result<ShutdownReport> {
        let shared = self.shared.clone();
        shared.stop_fetching.cancel();
        while self.producers.join_next().await.is_some() {}
        let until = Instant::now() + deadline;
        let mut report = ShutdownReport::default();
        loop {
            let idle = shared.idle.notified();
            if self.running() == 0 {
                break;
            }
            if Instant::now() >= until {
                report.interrupted = stop_all(&shared, StopReason::Shutdown);
                break;
            }
            let _ = tokio::time::timeout_at(until.into(), idle).await;
        }
        // Interrupted jobs record their outcome promptly; wait for them.
        let grace = Instant::now() + Duration::from_secs(5);
        while self.running() > 0 && Instant::now() < grace {
            let idle = shared.idle.notified();
            let _ = tokio::time::timeout(Duration::from_millis(50), idle).await;
        }
        self.background.cancel();
        let _ = (&mut self.heartbeat).await;
        let _ = (&mut self.listener).await;
        // Dropping the last sender lets the completer drain and exit.
        let completer = self.completer.take();
        drop(self);
        drop(shared);
        if let Some(mut c) = completer {
            // The completer retries while the database is out of reach; a shutdown waits for
            // it only so long. Unrecorded jobs stay `running` under a worker that no longer
            // heartbeats, so the rescuer returns them.
            if tokio::time::timeout(COMPLETER_DRAIN, &mut c).await.is_err() {
                c.abort();
                tracing::error!(
                    "outcomes could not be recorded within {COMPLETER_DRAIN:?} of shutdown; the rescuer will return their jobs"
                );
            }
        }
        Ok(report)
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.shared.stop_fetching.cancel();
        self.background.cancel();
        self.producers.abort_all();
    }
}

/// How long a shutdown waits for the completer to record the last outcomes.
const COMPLETER_DRAIN: Duration = Duration::from_secs(30);

/// Stop every running job for `why`; returns how many there were.
fn stop_all(shared: &Shared, why: StopReason) -> usize {
    let Ok(running) = shared.running.lock() else {
        return 0;
    };
    for r in running.values() {
        if let Ok(mut reason) = r.reason.lock() {
            reason.get_or_insert(why);
        }
        r.token.cancel();
    }
    running.len()
}

fn jittered(d: Duration) -> Duration {
    let f = 1.0 + rand::random_range(-0.2..=0.2);
    d.mul_f64(f)
}

async fn producer(shared: Arc<Shared>, queue: String, concurrency: usize) {
    let slots = Arc::new(Semaphore::new(concurrency));
    let Some(wake) = shared.wakers.get(&queue).cloned() else {
        return;
    };
    let slot_freed = Arc::new(Notify::new());
    let mut failures: u32 = 0;
    loop {
        if shared.stop_fetching.is_cancelled() {
            return;
        }
        // Register interest before fetching, so a wake-up during the fetch is not lost.
        let woken = wake.notified();
        let freed = slot_freed.notified();
        tokio::pin!(woken, freed);
        woken.as_mut().enable();
        freed.as_mut().enable();

        let free = slots.available_permits();
        let mut wait = jittered(shared.config.poll_interval);
        if free > 0 && !shared.fenced.load(Ordering::SeqCst) {
            let want = free.min(shared.config.fetch_max);
            let claimed = match shared.config.only_run {
                None => shared.store.fetch(&queue, want, &shared.config.id).await,
                Some(run) => {
                    shared
                        .store
                        .fetch_run(&queue, want, &shared.config.id, run)
                        .await
                }
            };
            match claimed {
                Ok(jobs) => {
                    failures = 0;
                    let got = jobs.len();
                    for job in jobs {
                        let Ok(permit) = slots.clone().try_acquire_owned() else {
                            // Cannot happen: we asked for at most the free slots.
                            break;
                        };
                        let freed = slot_freed.clone();
                        spawn_job(shared.clone(), job, permit, freed);
                    }
                    if got == want {
                        continue;
                    }
                    if got == 0 {
                        if let Ok(Some(at)) = shared.store.next_due(&queue).await {
                            let until = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                            wait = wait.min(until + Duration::from_millis(1));
                        }
                    }
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let backoff = Duration::from_millis(100 * 2u64.pow(failures.min(6)));
                    tracing::error!(queue = %queue, error = %e, "fetch failed; retrying in {backoff:?}");
                    wait = backoff;
                }
            }
        }
        tokio::select! {
            _ = shared.stop_fetching.cancelled() => return,
            _ = &mut woken => {}
            _ = &mut freed, if free == 0 || slots.available_permits() == 0 => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

fn spawn_job(
    shared: Arc<Shared>,
    job: FetchedJob,
    permit: tokio::sync::OwnedSemaphorePermit,
    slot_freed: Arc<Notify>,
) {
    let token = shared.hard_stop.child_token();
    let reason = Arc::new(Mutex::new(None));
    if let Ok(mut running) = shared.running.lock() {
        running.insert(
            job.id,
            Running {
                token: token.clone(),
                reason: reason.clone(),
            },
        );
    }
    if shared.fenced.load(Ordering::SeqCst) {
        // Claimed while the heartbeat failed: stop it at once, like the others.
        if let Ok(mut why) = reason.lock() {
            why.get_or_insert(StopReason::Fenced);
        }
        token.cancel();
    }
    let span = tracing::info_span!("job", id = job.id, kind = %job.kind, queue = %job.queue, attempt = job.attempt);
    tokio::spawn(
        async move {
            let id = job.id;
            let outcome = execute(&shared, &job, token, reason).await;
            let completion = Completion {
                id,
                attempt: job.attempt,
                outcome,
            };
            // Backpressure: wait for room in the completer's buffer while holding the slot.
            let _ = shared.completions.send(completion).await;
            if let Ok(mut running) = shared.running.lock() {
                running.remove(&id);
            }
            drop(permit);
            slot_freed.notify_one();
            shared.idle.notify_waiters();
        }
        .instrument(span),
    );
}

/// The error record of an attempt, its text made storable (see [`crate::sanitize`]).
fn attempt_error(shared: &Shared, job: &FetchedJob, code: &str, message: String) -> AttemptError {
    AttemptError {
        attempt: job.attempt,
        at: Utc::now(),
        code: sanitize::text(code).into_owned(),
        message: sanitize::owned(message),
        worker: sanitize::text(&shared.config.id).into_owned(),
    }
}

async fn execute(
    shared: &Shared,
    job: &FetchedJob,
    token: CancellationToken,
    reason: Arc<Mutex<Option<StopReason>>>,
) -> Outcome {
    let started = Instant::now();
    // Registered kinds use their handles; an unknown kind pays for its labels.
    let metrics = shared
        .metrics
        .get(&job.kind)
        .and_then(|by_queue| by_queue.get(&job.queue));
    match metrics {
        Some(km) => km.started(job.scheduled_at),
        None => m::queue_latency(&job.queue, &job.kind, job.scheduled_at),
    }
    let record = |outcome: &Outcome| match metrics {
        Some(km) => km.finished(outcome, started.elapsed()),
        None => m::finished(&job.queue, &job.kind, outcome, started.elapsed()),
    };
    let Some(entry) = shared.entries.get(&job.kind) else {
        tracing::error!(kind = %job.kind, "no handler for this job kind in this worker");
        let outcome = retry_or_discard(
            job,
            None,
            attempt_error(
                shared,
                job,
                "UNKNOWN_KIND",
                format!(
                    "worker {} has no handler for job kind `{}` (queue `{}`)",
                    shared.config.id, job.kind, job.queue
                ),
            ),
        );
        record(&outcome);
        return outcome;
    };
    let completing = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ctx = JobContext {
        id: job.id,
        kind: job.kind.clone(),
        queue: job.queue.clone(),
        attempt: job.attempt,
        max_attempts: job.max_attempts,
        created_at: job.created_at,
        scheduled_at: job.scheduled_at,
        worker: shared.config.id.clone(),
        metadata: job.metadata.clone(),
        cancel: token.clone(),
        store: shared.store.clone(),
        completing: completing.clone(),
    };
    let timeout = entry.spec.options.timeout;
    let fut = AssertUnwindSafe(entry.handler.call(ctx, &job.args)).catch_unwind();
    let mut fut = std::pin::pin!(tokio::time::timeout(timeout, fut));
    let finished = |r: std::result::Result<std::thread::Result<_>, _>| match r {
        Ok(Ok(res)) => Ok(res),
        Ok(Err(panic)) => Err(("PANIC", panic_message(panic.as_ref()))),
        Err(_) => {
            token.cancel();
            Err((
                "TIMEOUT",
                format!("attempt exceeded the kind's timeout of {timeout:?}"),
            ))
        }
    };
    let result = tokio::select! {
        // A fired token wins over a handler that returns in the same poll: the cancel or
        // shutdown was requested first.
        biased;
        _ = token.cancelled() => {
            if completing.load(std::sync::atomic::Ordering::SeqCst) {
                // The handler is committing its own completion: abandoning it now could
                // leave a committed success behind a recorded cancel. It finishes (still
                // under the timeout), and its result is the outcome.
                finished((&mut fut).await)
            } else {
                let why = reason.lock().ok().and_then(|r| *r);
                Err(match why {
                    Some(StopReason::Shutdown) => ("SHUTDOWN", "the worker shut down before the job finished".to_string()),
                    Some(StopReason::Fenced) => ("FENCED", "the worker could not renew its heartbeat in time and stopped the job before it could be rescued".to_string()),
                    _ => ("CANCELLED", "the job was cancelled while running".to_string()),
                })
            }
        }
        r = &mut fut => finished(r),
    };
    let outcome = match result {
        Ok(Ok(Done::Ok)) => Outcome::Completed,
        Ok(Ok(Done::Step(step))) => Outcome::StepDone(step),
        Ok(Err(JobError::Retryable { code, message })) => {
            retry_or_discard(job, Some(entry), attempt_error(shared, job, &code, message))
        }
        Ok(Err(JobError::Permanent { code, message })) => Outcome::Discard {
            error: attempt_error(shared, job, &code, message),
        },
        Ok(Err(JobError::Cancel { message })) => Outcome::Cancel {
            error: attempt_error(shared, job, "CANCELLED", message),
        },
        Ok(Err(JobError::Snooze(d))) => Outcome::Snooze {
            at: clock::in_future(d),
            error: None,
        },
        Err(("CANCELLED", message)) => Outcome::Cancel {
            error: attempt_error(shared, job, "CANCELLED", message),
        },
        Err((code @ ("SHUTDOWN" | "FENCED"), message)) => Outcome::Interrupted {
            error: attempt_error(shared, job, code, message),
        },
        Err((code, message)) => {
            retry_or_discard(job, Some(entry), attempt_error(shared, job, code, message))
        }
    };
    if let Some(e) = outcome.error() {
        tracing::warn!(code = %e.code, message = %e.message, next = outcome.state().as_str(), "job attempt failed");
    }
    record(&outcome);
    outcome
}

fn retry_or_discard(job: &FetchedJob, entry: Option<&Entry>, error: AttemptError) -> Outcome {
    if job.attempt >= job.max_attempts {
        return Outcome::Discard { error };
    }
    let delay = entry
        .map(|e| e.spec.options.backoff)
        .unwrap_or_default()
        .delay(job.attempt);
    Outcome::Retry {
        at: clock::in_future(delay),
        error,
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        format!("handler panicked: {s}")
    } else if let Some(s) = p.downcast_ref::<String>() {
        format!("handler panicked: {s}")
    } else {
        "handler panicked".to_string()
    }
}

fn cancel_running(shared: &Shared, id: i64) {
    if let Ok(running) = shared.running.lock() {
        if let Some(r) = running.get(&id) {
            if let Ok(mut reason) = r.reason.lock() {
                reason.get_or_insert(StopReason::Cancelled);
            }
            r.token.cancel();
        }
    }
}

async fn listen(
    shared: Arc<Shared>,
    mut wakeups: tokio::sync::broadcast::Receiver<Wakeup>,
    stop: CancellationToken,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let ev = tokio::select! {
            _ = stop.cancelled() => return,
            ev = wakeups.recv() => ev,
        };
        match ev {
            Ok(Wakeup::Inserted(q)) | Ok(Wakeup::QueueChanged(q)) => {
                if let Some(w) = shared.wakers.get(&q) {
                    w.notify_one();
                }
            }
            Ok(Wakeup::CancelRequested(id)) => cancel_running(&shared, id),
            Ok(Wakeup::RunEvent(_)) => {}
            Ok(Wakeup::Resync) | Err(RecvError::Lagged(_)) => {
                for w in shared.wakers.values() {
                    w.notify_one();
                }
            }
            Err(RecvError::Closed) => return,
        }
    }
}

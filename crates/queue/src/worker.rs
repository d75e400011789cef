//! The worker: fetches jobs for its queues, runs them, records their outcomes in batches.
//!
//! Structure (after River's producer / executor / completer split), one file each:
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
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::completer;
use crate::error::{Error, Result};
use crate::handler::{Catalog, Registry};
use crate::heartbeat;
use crate::limits::Declared;
use crate::listener::listen;
use crate::metrics as m;
use crate::producer::producer;
use crate::shared::{stop_all, Shared, StopReason};
use crate::store::Store;

pub use crate::config::{default_worker_id, WorkerConfig};

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
        // The limited kinds this worker runs: their declared limits are written, and their
        // jobs are claimed through the limited path.
        let limited: Vec<Declared> = self
            .registry
            .kinds()
            .filter(|k| k.options.limits.is_limited())
            .map(|k| Declared {
                kind: k.kind.clone(),
                queues: k.queues.clone(),
                values: k.options.limits.values.clone(),
            })
            .collect();
        if !limited.is_empty() {
            self.store.declare_limits(&limited).await?;
        }
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

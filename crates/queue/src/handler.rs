//! Handlers, the registry that holds them, and the context a handler runs with.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::error::{Error, JobError, Result};
use crate::job::Fence;
use crate::kind::{JobKind, KindSpec};

/// What a running handler knows about its job.
#[derive(Clone)]
pub struct JobContext {
    pub id: i64,
    pub kind: String,
    pub queue: String,
    /// This attempt's number (1 for the first run).
    pub attempt: i32,
    pub max_attempts: i32,
    pub created_at: DateTime<Utc>,
    pub scheduled_at: DateTime<Utc>,
    /// The worker running the job.
    pub worker: String,
    pub(crate) metadata: String,
    pub(crate) cancel: CancellationToken,
    pub(crate) store: Arc<dyn crate::store::Store>,
    /// Set by a handler that records its own completion (a pipeline step writing its
    /// checkpoint): from then on a cancel request no longer abandons the attempt, because
    /// the write may already be committing and the outcome must agree with the database.
    pub(crate) completing: Arc<std::sync::atomic::AtomicBool>,
    /// A step's inputs as its claim read them.
    pub(crate) step_inputs: Option<Arc<crate::run::StepInputs>>,
}

impl std::fmt::Debug for JobContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobContext")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("queue", &self.queue)
            .field("attempt", &self.attempt)
            .field("worker", &self.worker)
            .finish_non_exhaustive()
    }
}

impl JobContext {
    /// The job's metadata as stored at insert.
    pub fn metadata(&self) -> serde_json::Value {
        serde_json::from_str(&self.metadata).unwrap_or(serde_json::Value::Null)
    }

    /// True once the job was cancelled, timed out or the worker is stopping hard.
    /// Handlers doing blocking or long loops should check it; async handlers are dropped
    /// at their next await point anyway.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Resolves when the job should stop.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await
    }

    /// Enter the completion phase (see `completing`). Returns false, and does not enter it,
    /// when the job was already asked to stop: the caller must then stop instead of
    /// recording a success.
    pub(crate) fn begin_completion(&self) -> bool {
        self.completing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        if self.cancel.is_cancelled() {
            self.completing
                .store(false, std::sync::atomic::Ordering::SeqCst);
            return false;
        }
        true
    }

    /// This attempt's fence, for the handler's own writes (see [`Fence`]).
    pub fn fence(&self) -> Fence {
        Fence {
            job_id: self.id,
            attempt: self.attempt,
        }
    }

    /// A clone of the cancellation token, to hand to blocking work.
    pub fn cancellation_token(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

/// The future a handler returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;

/// Runs jobs of one kind.
///
/// Any `Fn(JobContext, K) -> impl Future<Output = Result<(), JobError>>` is a handler.
pub trait Handler<K: JobKind>: Send + Sync + 'static {
    fn run(&self, ctx: JobContext, args: K) -> HandlerFuture;
}

impl<K, F, Fut> Handler<K> for F
where
    K: JobKind,
    F: Fn(JobContext, K) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), JobError>> + Send + 'static,
{
    fn run(&self, ctx: JobContext, args: K) -> HandlerFuture {
        Box::pin((self)(ctx, args))
    }
}

/// How a handler's success is to be recorded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Done {
    /// The worker records the completion (in a batch).
    Ok,
    /// A pipeline step finished: the completer records its completion in a batch.
    Step(Box<crate::run::StepCompletion>),
}

pub(crate) type ErasedFuture = Pin<Box<dyn Future<Output = Result<Done, JobError>> + Send>>;

/// A handler with its kind's type erased: it takes the arguments as JSON text.
pub(crate) trait ErasedHandler: Send + Sync {
    fn call(&self, ctx: JobContext, args: &str) -> ErasedFuture;
}

struct Typed<K, H> {
    handler: H,
    _kind: std::marker::PhantomData<fn() -> K>,
}

impl<K: JobKind, H: Handler<K>> ErasedHandler for Typed<K, H> {
    fn call(&self, ctx: JobContext, args: &str) -> ErasedFuture {
        match serde_json::from_str::<K>(args) {
            Ok(args) => {
                let fut = self.handler.run(ctx, args);
                Box::pin(async move { fut.await.map(|()| Done::Ok) })
            }
            Err(e) => {
                let msg = format!(
                    "arguments of job {} do not deserialize into kind `{}`: {e}",
                    ctx.id,
                    K::KIND
                );
                Box::pin(async move { Err(JobError::permanent("INVALID_ARGS", msg)) })
            }
        }
    }
}

#[derive(Clone)]
pub(crate) struct Entry {
    pub spec: KindSpec,
    pub handler: Arc<dyn ErasedHandler>,
}

/// The handlers one worker process can run, by kind.
#[derive(Clone, Default)]
pub struct Registry {
    pub(crate) entries: BTreeMap<String, Entry>,
    duplicate: Option<String>,
}

impl Registry {
    pub fn new() -> Self {
        Registry::default()
    }

    /// Register the handler of kind `K`. Registering a kind twice is reported when the
    /// worker starts.
    pub fn register<K: JobKind, H: Handler<K>>(mut self, handler: H) -> Self {
        let spec = K::spec();
        if self.entries.contains_key(&spec.kind) {
            self.duplicate.get_or_insert_with(|| spec.kind.clone());
        }
        self.entries.insert(
            spec.kind.clone(),
            Entry {
                spec,
                handler: Arc::new(Typed {
                    handler,
                    _kind: std::marker::PhantomData,
                }),
            },
        );
        self
    }

    pub(crate) fn insert_erased(&mut self, spec: KindSpec, handler: Arc<dyn ErasedHandler>) {
        if self.entries.contains_key(&spec.kind) {
            self.duplicate.get_or_insert_with(|| spec.kind.clone());
        }
        self.entries
            .insert(spec.kind.clone(), Entry { spec, handler });
    }

    /// Everything `other` registers, added to this one (a process that runs several
    /// binaries' work, like the all-in-one command). A kind in both is reported at start.
    pub fn merge(mut self, other: Registry) -> Self {
        if let Some(d) = other.duplicate {
            self.duplicate.get_or_insert(d);
        }
        for (_, entry) in other.entries {
            self.insert_erased(entry.spec, entry.handler);
        }
        self
    }

    /// Run every kind registered so far under `timeout` instead of its declared one: a
    /// binary's settings (e.g. `analyzer.job_timeout_secs`) have the last word.
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
        for entry in self.entries.values_mut() {
            entry.spec.options.timeout = timeout;
        }
        self
    }

    /// Declare `per_partition` running jobs per partition for every kind registered so far
    /// that has a partition key: a binary's settings (e.g. `analyzer.analyses_per_owner`)
    /// replace the code's number. It is what the worker declares at start (`declared` in
    /// `specline_limits`); an operator's override in the database still wins over it.
    pub fn with_per_partition(mut self, per_partition: u32) -> Self {
        for entry in self.entries.values_mut() {
            entry.spec.declare_per_partition(per_partition);
        }
        self
    }

    /// Declare the fairness `weights` of partitions (e.g. owners' tiers from a binary's
    /// `owner_weights` setting) for every kind registered so far that has a partition key; an
    /// empty map changes nothing. An operator's override of `weights` still wins over it.
    pub fn with_weights(mut self, weights: &std::collections::BTreeMap<String, u32>) -> Self {
        for entry in self.entries.values_mut() {
            entry.spec.declare_weights(weights);
        }
        self
    }

    /// Declare `per_partition` for the one kind `kind` (if registered and partitioned): a
    /// setting for one step that differs from the rest of its binary's (the spec generator's
    /// per-feature conversion beside its other steps).
    pub fn with_kind_per_partition(mut self, kind: &str, per_partition: u32) -> Self {
        if let Some(entry) = self.entries.get_mut(kind) {
            entry.spec.declare_per_partition(per_partition);
        }
        self
    }

    /// Kinds with a handler here.
    pub fn kinds(&self) -> impl Iterator<Item = &KindSpec> {
        self.entries.values().map(|e| &e.spec)
    }

    pub(crate) fn check(&self) -> Result<()> {
        match &self.duplicate {
            Some(kind) => Err(Error::DuplicateHandler { kind: kind.clone() }),
            None => Ok(()),
        }
    }
}

/// Every job kind of an application, with the queues they are bound to.
///
/// Binaries that consume different queues share one catalog, so a worker can prove at start
/// that it handles every kind its queues carry.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    kinds: BTreeMap<String, KindSpec>,
}

impl Catalog {
    pub fn new() -> Self {
        Catalog::default()
    }

    pub fn kind<K: JobKind>(mut self) -> Self {
        let spec = K::spec();
        self.kinds.insert(spec.kind.clone(), spec);
        self
    }

    pub fn add(&mut self, spec: KindSpec) {
        self.kinds.insert(spec.kind.clone(), spec);
    }

    pub fn kinds(&self) -> impl Iterator<Item = &KindSpec> {
        self.kinds.values()
    }

    /// Kinds that may be found in `queue`.
    pub fn kinds_in(&self, queue: &str) -> Vec<&KindSpec> {
        self.kinds
            .values()
            .filter(|k| k.queues.iter().any(|q| q == queue))
            .collect()
    }

    /// Every queue some kind is bound to.
    pub fn queues(&self) -> Vec<String> {
        let mut qs: Vec<String> = self.kinds.values().flat_map(|k| k.queues.clone()).collect();
        qs.sort();
        qs.dedup();
        qs
    }
}

//! Checkpointed pipelines: steps in a chain or a directed acyclic graph (see [`crate::graph`]),
//! each its own job kind on its own queue; a mapped step runs once per item of a list.
//!
//! A step receives the run's context — `{"input": <run input>, "<step>": <output>, …}` —
//! deserialized into its own `Context` type, and returns its `Output`. The output is the
//! step's checkpoint: it is committed in the same transaction as the step job's completion,
//! the `completed` event and the next step's job (or the run's result and `done` event), so
//! there is no moment when a step is done but its checkpoint, event or successor is missing.
//! A step whose checkpoint exists is never executed again; [`Client::resume`] restarts a
//! failed run from its first step without one. The events of a step's own state changes
//! (`queued`, `started`, `failed`) are written by database triggers in the transaction of the
//! change, so a run that fails for any reason (error, timeout, panic, rescue, cancel, manual
//! discard) emits exactly one terminal `failed` event.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::Stream;
use serde::{de::DeserializeOwned, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;
use tracing::Instrument;

use crate::client::Client;
use crate::error::{Error, JobError, Result};
use crate::handler::{Catalog, Done, ErasedFuture, ErasedHandler, JobContext, Registry};
use crate::kind::{KindOptions, KindSpec};
use crate::run::{
    Idempotency, Run, RunCancelOutcome, RunEvent, RunStatus, RunSubmission, StepSpec, Submitted,
    RUN_CANCELLED,
};
use crate::sanitize;
use crate::store::{Backend, Store, Wakeup};

/// The declaration of one step of a pipeline: its name, queue, and what it reads and writes.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use specline_queue::pipeline::{Step, StepContext, StepKind};
/// use specline_queue::JobError;
///
/// #[derive(Deserialize)]
/// struct Ctx { input: String }
///
/// struct Shout;
/// impl StepKind for Shout {
///     const NAME: &'static str = "shout";
///     const QUEUE: &'static str = "text";
///     type Context = Ctx;
///     type Output = String;
/// }
/// impl Step for Shout {
///     type Kind = Shout;
///     async fn run(&self, _ctx: StepContext, c: Ctx) -> Result<String, JobError> {
///         Ok(c.input.to_uppercase())
///     }
/// }
/// ```
pub trait StepKind: Send + Sync + 'static {
    /// The step's name: its job kind, and its key in the run's context.
    const NAME: &'static str;
    /// The queue its jobs go to (steps of one pipeline may be served by different binaries).
    const QUEUE: &'static str;
    /// What the step reads from the run's context.
    type Context: DeserializeOwned + Send + 'static;
    /// What it adds to the context (its checkpoint).
    type Output: Serialize + Send + 'static;

    fn options() -> KindOptions {
        KindOptions::default()
    }

    /// The step's job kind as the engine knows it.
    fn spec() -> KindSpec {
        KindSpec {
            kind: Self::NAME.to_string(),
            queues: vec![Self::QUEUE.to_string()],
            options: Self::options(),
        }
    }
}

/// The implementation of a step, registered with [`Registry::step`] in the worker that runs
/// it. Kept apart from [`StepKind`] so that the crate declaring a pipeline (and every
/// binary submitting it) need not link what a step needs to run (Tree-sitter, an AI client).
pub trait Step: Send + Sync + 'static {
    /// The step this implements.
    type Kind: StepKind;

    fn run(
        &self,
        ctx: StepContext,
        input: <Self::Kind as StepKind>::Context,
    ) -> impl Future<Output = Result<<Self::Kind as StepKind>::Output, JobError>> + Send;
}

/// The steps of a pipeline: a chain ([`Pipeline::step`]: each waits for the one before), or
/// a directed acyclic graph ([`Pipeline::after`], [`Pipeline::map`]): each step waits for the
/// steps it names and reads their outputs (and those of the steps they wait for), steps that
/// do not wait for each other run in parallel, and a mapped step runs once per item of a list.
///
/// ```
/// # use specline_queue::{Pipeline, pipeline::StepKind};
/// # macro_rules! kind { ($t:ident, $n:literal) => {
/// #   struct $t; impl StepKind for $t { const NAME: &'static str = $n; const QUEUE: &'static str = "q";
/// #   type Context = serde_json::Value; type Output = serde_json::Value; } } }
/// # kind!(Fetch, "fetch"); kind!(Left, "left"); kind!(Right, "right"); kind!(Join, "join");
/// let diamond = Pipeline::new("diamond")
///     .step::<Fetch>()
///     .after::<Left>(&["fetch"])
///     .after::<Right>(&["fetch"])
///     .after::<Join>(&["left", "right"])
///     .build()?;
/// let cycle = Pipeline::new("cycle").after::<Left>(&["right"]).after::<Right>(&["left"]).build();
/// assert_eq!(cycle.unwrap_err().code(), "INVALID_GRAPH");
/// # Ok::<(), specline_queue::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub name: String,
    /// The steps as declared; their dependencies are resolved by [`Pipeline::build`] (and at
    /// each submission).
    pub steps: Vec<StepSpec>,
    kinds: Vec<KindSpec>,
    /// Each step's dependencies by name, as declared.
    decls: Vec<Decl>,
    /// How long a finished run's result is kept.
    pub result_ttl: Duration,
}

/// How a step was declared: whom it waits for (`None`: the step before it) and what it maps
/// over, by name.
#[derive(Debug, Clone, PartialEq, Default)]
struct Decl {
    after: Option<Vec<String>>,
    map_over: Option<String>,
}

/// What a step that waits for an [`Pipeline::allow_failure`] step receives of it (and, for
/// a mapped one, of each item): its output, or its failure. In JSON: `{"ok": <output>}` or
/// `{"failed": {"code": …, "message": …}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome<T> {
    Ok(T),
    Failed { code: String, message: String },
}

impl Pipeline {
    pub fn new(name: impl Into<String>) -> Self {
        Pipeline {
            name: name.into(),
            steps: Vec::new(),
            kinds: Vec::new(),
            decls: Vec::new(),
            result_ttl: Duration::from_secs(7 * 24 * 3600),
        }
    }

    /// Add a step that waits for the step declared before it (a chain).
    pub fn step<K: StepKind>(self) -> Self {
        self.declare::<K>(Decl::default())
    }

    /// Add a step that waits for the steps named `deps` (none: it starts with the run). It
    /// reads the run's input and the outputs of every step it waits for, directly or not.
    pub fn after<K: StepKind>(self, deps: &[&str]) -> Self {
        self.declare::<K>(Decl {
            after: Some(deps.iter().map(|d| d.to_string()).collect()),
            map_over: None,
        })
    }

    /// Add a mapped step: it waits for `over` (and `deps`), and runs once per item of the
    /// list `over` returns, each item its own job with its own checkpoint, the item in its
    /// context as `item`. Its output, what the steps waiting for it read, is the list of the
    /// items' outputs in item order.
    pub fn map<K: StepKind>(self, over: &str, deps: &[&str]) -> Self {
        let mut after: Vec<String> = vec![over.to_string()];
        after.extend(deps.iter().map(|d| d.to_string()).filter(|d| d != over));
        self.declare::<K>(Decl {
            after: Some(after),
            map_over: Some(over.to_string()),
        })
    }

    /// Let the step declared last fail without failing the run: the steps that wait for it
    /// receive an [`Outcome`] (for a mapped step, one per item) instead of its output. A
    /// failure is an error the step returns that ends its job (permanent, or on its last
    /// attempt); a crash that uses up its attempts, or a cancel, still fails the run.
    pub fn allow_failure(mut self) -> Self {
        if let Some(last) = self.steps.last_mut() {
            last.allow_failure = true;
        }
        self
    }

    fn declare<K: StepKind>(mut self, decl: Decl) -> Self {
        let spec = K::spec();
        self.steps.push(StepSpec {
            kind: spec.kind.clone(),
            queue: spec.queues[0].clone(),
            max_attempts: spec.options.max_attempts,
            priority: spec.options.priority,
            result_ttl_secs: self.result_ttl.as_secs(),
            partition_key: None,
            after: None,
            map_over: None,
            allow_failure: false,
            metadata: None,
        });
        self.kinds.push(spec);
        self.decls.push(decl);
        self
    }

    /// Resolve the steps' dependencies and check the graph: a dependency on a step the
    /// pipeline does not have, a cycle, a step declared twice or more than one last step is
    /// refused with `INVALID_GRAPH` (no steps at all: `INVALID_CONFIG`).
    pub fn build(mut self) -> Result<Self> {
        self.steps = self.resolved()?;
        Ok(self)
    }

    /// The steps with their dependencies as indices, checked.
    fn resolved(&self) -> Result<Vec<StepSpec>> {
        let index = |from: &str, name: &str| {
            self.steps
                .iter()
                .position(|s| s.kind == name)
                .ok_or_else(|| {
                    Error::InvalidGraph(format!(
                        "pipeline `{}`: step `{from}` depends on `{name}`, which is not one of its steps",
                        self.name
                    ))
                })
        };
        let mut steps = self.steps.clone();
        for (spec, decl) in steps.iter_mut().zip(&self.decls) {
            if let Some(after) = &decl.after {
                spec.after = Some(
                    after
                        .iter()
                        .map(|d| index(&spec.kind, d))
                        .collect::<Result<_>>()?,
                );
            }
            if let Some(over) = &decl.map_over {
                spec.map_over = Some(index(&spec.kind, over)?);
            }
        }
        crate::graph::validate(&self.name, &steps)?;
        Ok(steps)
    }

    /// The steps of a run of `owner` with `input`, each with its partition key: a step kind's
    /// [`crate::Limits`] see the run's input as the job's arguments and `{"owner": owner}` as
    /// its metadata, so `PartitionBy::Metadata("owner")` limits a step per run owner and
    /// `PartitionBy::Arg(..)` by a field of the input.
    ///
    /// Each step's job metadata carries the trace context current at submission.
    fn steps_for(&self, owner: &str, input: &serde_json::Value) -> Result<Vec<StepSpec>> {
        let metadata = serde_json::json!({ "owner": owner });
        let trace = crate::trace_context::current()
            .map(|cx| serde_json::json!({ crate::trace_context::METADATA_KEY: cx }));
        Ok(self
            .resolved()?
            .into_iter()
            .zip(&self.kinds)
            .map(|(step, kind)| StepSpec {
                partition_key: kind.options.limits.partition_of(input, &metadata),
                metadata: trace.clone(),
                ..step
            })
            .collect())
    }

    pub fn result_ttl(mut self, ttl: Duration) -> Self {
        self.result_ttl = ttl;
        for s in &mut self.steps {
            s.result_ttl_secs = ttl.as_secs();
        }
        self
    }

    /// The job kinds of the steps, for a [`crate::Catalog`].
    pub fn kinds(&self) -> &[KindSpec] {
        &self.kinds
    }
}

/// What a running step can do besides returning its output.
pub struct StepContext {
    job: JobContext,
    run_id: i64,
    step: &'static str,
    /// Where its intermediate checkpoints live: the step's name, or `name[item]` for one
    /// item of a mapped step (each item resumes from its own).
    scope: String,
    last_progress: Mutex<Option<Instant>>,
    progress_every: Duration,
}

impl StepContext {
    pub fn run_id(&self) -> i64 {
        self.run_id
    }

    /// The underlying job (attempt, cancellation, …).
    pub fn job(&self) -> &JobContext {
        &self.job
    }

    /// Save an intermediate checkpoint of this step; a retried attempt reads it back with
    /// [`StepContext::restore`] and resumes mid-way.
    pub async fn checkpoint<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        if key.is_empty() {
            return Err(Error::InvalidArgs(
                "a checkpoint key must not be empty".into(),
            ));
        }
        let value = serde_json::to_value(value).map_err(|e| Error::InvalidArgs(e.to_string()))?;
        let value = sanitize::json(value);
        self.job
            .store
            .put_checkpoint(self.run_id, &self.scope, key, value)
            .await
    }

    /// Read back an intermediate checkpoint saved by an earlier attempt.
    pub async fn restore<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self
            .job
            .store
            .get_checkpoint(self.run_id, &self.scope, key)
            .await?
        {
            Some(v) => serde_json::from_value(v).map(Some).map_err(|e| {
                Error::Corrupt(format!("checkpoint `{key}` of step {}: {e}", self.scope))
            }),
            None => Ok(None),
        }
    }

    /// Report progress (0–100) with an optional payload. Rate-limited: within
    /// `progress_every` (250 ms) of the last report only 100% is written, so a tight loop
    /// cannot flood the events table. Returns whether the event was written.
    pub async fn progress(&self, pct: u8, payload: Option<serde_json::Value>) -> Result<bool> {
        let now = Instant::now();
        {
            let mut last = self
                .last_progress
                .lock()
                .map_err(|_| Error::Runtime("progress lock poisoned".into()))?;
            if let Some(t) = *last {
                if pct < 100 && now.duration_since(t) < self.progress_every {
                    return Ok(false);
                }
            }
            *last = Some(now);
        }
        self.job
            .store
            .run_progress(
                self.run_id,
                self.job.id,
                self.step,
                i16::from(pct.min(100)),
                payload.map(sanitize::json),
            )
            .await?;
        Ok(true)
    }

    pub fn is_cancelled(&self) -> bool {
        self.job.is_cancelled()
    }
}

struct StepHandler<S: Step> {
    step: Arc<S>,
}

/// An engine error inside a step is classed by its code like any other
/// (the database out of reach retries; a corrupt row does not).
fn db_error(e: Error) -> JobError {
    JobError::from(e)
}

impl<S: Step> ErasedHandler for StepHandler<S> {
    fn call(&self, ctx: JobContext, args: &str) -> ErasedFuture {
        let parsed = serde_json::from_str::<crate::lifecycle::StepArgs>(args);
        let step = self.step.clone();
        Box::pin(async move {
            let name = <S::Kind as StepKind>::NAME;
            let args = parsed.map_err(|e| {
                JobError::permanent(
                    "INVALID_ARGS",
                    format!("step job {} has bad arguments: {e}", ctx.id),
                )
            })?;
            let store = ctx.store.clone();
            // The run and the outputs so far: as the claim read them, or in one read. Shared,
            // not copied: the items of a mapped step all read one list.
            let prefetched = ctx.step_inputs.clone().filter(|i| i.run.id == args.run_id);
            let inputs = match prefetched {
                Some(inputs) => inputs,
                None => Arc::new(
                    store
                        .step_context(args.run_id)
                        .await
                        .map_err(db_error)?
                        .ok_or_else(|| {
                            JobError::permanent(
                                "RUN_NOT_FOUND",
                                format!("run {} does not exist", args.run_id),
                            )
                        })?,
                ),
            };
            let (run, outputs) = (&inputs.run, &inputs.outputs);
            let spec = run.steps.get(args.step).cloned().ok_or_else(|| {
                JobError::permanent(
                    "CORRUPT_ROW",
                    format!("run {} has no step {}", args.run_id, args.step),
                )
            })?;
            // What the step's completion will do is decided now, from the run's steps.
            let completion = |output| {
                crate::lifecycle::steps::completion(
                    run,
                    ctx.id,
                    ctx.attempt,
                    args.step,
                    args.item,
                    output,
                )
                .map(Box::new)
                .map_err(|e| JobError::permanent(e.code(), e))
            };
            let checkpoint = match args.item {
                Some(k) => store
                    .get_checkpoint(args.run_id, name, &crate::run::item_key(k))
                    .await
                    .map_err(db_error)?,
                None => outputs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone()),
            };
            if let Some(out) = checkpoint {
                // Redelivered after its checkpoint was committed: do not run it again.
                tracing::info!(
                    run = args.run_id,
                    step = name,
                    item = args.item,
                    "step already has a checkpoint; advancing"
                );
                if !ctx.begin_completion() {
                    return Err(JobError::cancel("the step was cancelled"));
                }
                return Ok(Done::Step(completion(out)?));
            }
            if run.state == crate::run::RunState::Failed
                && run.error_code.as_deref() == Some(RUN_CANCELLED.0)
            {
                // The run was cancelled while this job waited or was being claimed: the step
                // must not run for it.
                return Err(JobError::cancel(format!(
                    "run {} was cancelled; its step is not run",
                    args.run_id
                )));
            }
            if spec.map_over.is_some() && args.item.is_none() {
                // The own job of a mapped step, started by its last item: its output is the
                // items' outputs in item order.
                let items = store
                    .map_outputs(args.run_id, name)
                    .await
                    .map_err(db_error)?;
                if !ctx.begin_completion() {
                    return Err(JobError::cancel("the step was cancelled"));
                }
                return Ok(Done::Step(completion(serde_json::Value::Array(items))?));
            }
            let item = args.item.map(|k| (k, args.value.as_ref()));
            let input = context_of(run, outputs, args.step, item).and_then(|c| {
                serde_json::from_value::<<S::Kind as StepKind>::Context>(c).map_err(|e| {
                    format!(
                        "the context of run {} does not fit step `{name}`: {e}",
                        args.run_id
                    )
                })
            });
            let input = input.map_err(|m| JobError::permanent("INVALID_STEP_INPUT", m))?;
            let sctx = StepContext {
                job: ctx.clone(),
                run_id: args.run_id,
                step: name,
                scope: match args.item {
                    Some(k) => format!("{name}[{k}]"),
                    None => name.to_string(),
                },
                last_progress: Mutex::new(None),
                progress_every: Duration::from_millis(250),
            };
            let result = step.run(sctx, input).await;
            let serialize = |output| {
                serde_json::to_value(output).map_err(|e| {
                    JobError::permanent(
                        "INVALID_STEP_OUTPUT",
                        format!("output of step `{name}` does not serialize: {e}"),
                    )
                })
            };
            let output = match result {
                Ok(output) if spec.allow_failure => {
                    serde_json::json!({ "ok": serialize(output)? })
                }
                Ok(output) => serialize(output)?,
                Err(e) if spec.allow_failure && ends_the_job(&e, &ctx) => {
                    let (code, message) = match e {
                        JobError::Permanent { code, message }
                        | JobError::Retryable { code, message } => (code, message),
                        other => ("FAILED".to_string(), other.to_string()),
                    };
                    serde_json::json!({ "failed": { "code": code, "message": message } })
                }
                Err(e) => return Err(e),
            };
            let output = sanitize::json(output);
            // A step that returns after its job was asked to stop (it saw the cancel, or the
            // request raced its end) is cancelled, not done: the request came first.
            if !ctx.begin_completion() {
                return Err(JobError::cancel("the step was cancelled"));
            }
            // Recorded by the completer, batched with other outcomes in one transaction.
            Ok(Done::Step(completion(output)?))
        })
    }
}

/// Whether an error ends its job for good (so an allowed failure is received by the steps
/// waiting for it): a permanent one, or a retryable one on the job's last attempt.
fn ends_the_job(e: &JobError, ctx: &JobContext) -> bool {
    match e {
        JobError::Permanent { .. } => true,
        JobError::Retryable { .. } => ctx.attempt >= ctx.max_attempts,
        JobError::Cancel { .. } | JobError::Snooze(_) => false,
    }
}

/// What step `index` (or its item `item`: its index, and its element when its job carries it)
/// reads: `{"input": <run input>, "<step>": <output>, …}` with the outputs of the steps it
/// waits for, directly or not. An item of a mapped step reads `"item"`, its element of the
/// mapped-over step's output, instead of that whole list (so a map over n items copies n
/// elements, not n lists); the list is looked up only for an item job without its element.
fn context_of(
    run: &crate::run::Run,
    outputs: &[(String, serde_json::Value)],
    index: usize,
    item: Option<(usize, Option<&serde_json::Value>)>,
) -> std::result::Result<serde_json::Value, String> {
    let over = run
        .steps
        .get(index)
        .and_then(|s| s.map_over)
        .and_then(|o| run.steps.get(o))
        .map(|o| o.kind.as_str());
    let reads: Vec<&str> = crate::graph::ancestors(&run.steps, index)
        .into_iter()
        .filter_map(|i| run.steps.get(i).map(|s| s.kind.as_str()))
        .filter(|name| item.is_none() || Some(*name) != over)
        .collect();
    let mut context = serde_json::Map::new();
    context.insert("input".into(), run.input.clone());
    for (k, v) in outputs {
        if reads.contains(&k.as_str()) {
            context.insert(k.clone(), v.clone());
        }
    }
    if let Some((_, Some(value))) = item {
        context.insert("item".into(), value.clone());
    } else if let Some((k, None)) = item {
        let over = over.unwrap_or_default();
        let value = outputs
            .iter()
            .find(|(name, _)| name == over)
            .and_then(|(_, list)| list.get(k))
            .cloned()
            .ok_or_else(|| {
                format!(
                    "the output of step `{over}` of run {} has no item {k}",
                    run.id
                )
            })?;
        context.insert("item".into(), value);
    }
    Ok(serde_json::Value::Object(context))
}

impl Catalog {
    /// Add every step of a pipeline.
    pub fn pipeline(mut self, p: &Pipeline) -> Self {
        for k in p.kinds() {
            self.add(k.clone());
        }
        self
    }
}

impl Registry {
    /// Register a pipeline step's handler.
    pub fn step<S: Step>(mut self, step: S) -> Self {
        self.insert_erased(
            <S::Kind as StepKind>::spec(),
            Arc::new(StepHandler {
                step: Arc::new(step),
            }),
        );
        self
    }
}

/// Options of [`Client::submit`].
#[derive(Debug, Clone, Default)]
pub struct SubmitOpts {
    /// Reserve this key for the owner: the same key and request return the same run.
    pub idempotency_key: Option<String>,
    /// The request's fingerprint; default: a hash of the input.
    pub fingerprint: Option<String>,
    /// How long the key is held. Default: 24 hours.
    pub idempotency_ttl: Option<Duration>,
}

impl SubmitOpts {
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
    pub fn fingerprint(mut self, fp: impl Into<String>) -> Self {
        self.fingerprint = Some(fp.into());
        self
    }
}

/// The longest idempotency key accepted, in bytes.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// An idempotency key names one submission: an empty or blank key would make every keyless
/// caller share one run, and a control character has no place in a name that is logged.
fn check_idempotency_key(key: &str) -> Result<()> {
    if key.trim().is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY_LEN
        || key.chars().any(char::is_control)
    {
        return Err(Error::InvalidArgs(format!(
            "an idempotency key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} bytes of visible text"
        )));
    }
    Ok(())
}

fn fingerprint_of(value: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(value.to_string().as_bytes()))
}

impl Client {
    /// Start a run of `pipeline` for `owner`.
    ///
    /// In a span `submit run` (a child of the caller's span, if any): its trace is the run's,
    /// carried by every step's job (see [`crate::trace_context`]).
    pub async fn submit<I: Serialize>(
        &self,
        pipeline: &Pipeline,
        owner: &str,
        input: &I,
        opts: SubmitOpts,
    ) -> Result<Submitted> {
        let span = tracing::info_span!(
            "submit run",
            pipeline = %pipeline.name,
            run_id = tracing::field::Empty,
            existing = tracing::field::Empty
        );
        let submitted = self
            .submit_in_span(pipeline, owner, input, opts)
            .instrument(span.clone())
            .await;
        if let Ok(s) = &submitted {
            span.record("run_id", s.run_id);
            span.record("existing", s.existing);
        }
        submitted
    }

    async fn submit_in_span<I: Serialize>(
        &self,
        pipeline: &Pipeline,
        owner: &str,
        input: &I,
        opts: SubmitOpts,
    ) -> Result<Submitted> {
        if owner.is_empty() {
            return Err(Error::InvalidArgs("a run needs an owner".into()));
        }
        if let Some(key) = &opts.idempotency_key {
            check_idempotency_key(key)?;
        }
        let input = serde_json::to_value(input).map_err(|e| Error::InvalidArgs(e.to_string()))?;
        let idempotency = opts.idempotency_key.map(|key| Idempotency {
            key,
            fingerprint: opts.fingerprint.unwrap_or_else(|| fingerprint_of(&input)),
            ttl: opts
                .idempotency_ttl
                .unwrap_or(Duration::from_secs(24 * 3600)),
        });
        self.store()
            .submit_run(RunSubmission {
                owner: owner.to_string(),
                pipeline: pipeline.name.clone(),
                steps: pipeline.steps_for(owner, &input)?,
                input,
                idempotency,
            })
            .await
    }

    /// The run, if it exists and belongs to `owner`.
    pub async fn get_run(&self, owner: &str, run_id: i64) -> Result<Run> {
        match self.store().get_run(run_id).await? {
            Some(run) if run.owner == owner => Ok(run),
            _ => Err(Error::RunNotFound(run_id)),
        }
    }

    /// Done (with result), running (with stage and progress), failed (with code and message),
    /// or not found — also for a run of another owner.
    pub async fn run_status(&self, owner: &str, run_id: i64) -> Result<RunStatus> {
        let run = match self.store().get_run(run_id).await? {
            Some(run) if run.owner == owner => run,
            _ => return Ok(RunStatus::NotFound),
        };
        Ok(match run.state {
            crate::run::RunState::Running => RunStatus::Running {
                stage: run.stage,
                progress: run.progress,
            },
            crate::run::RunState::Failed => RunStatus::Failed {
                code: run.error_code.unwrap_or_else(|| "FAILED".into()),
                message: run.error_message.unwrap_or_default(),
            },
            crate::run::RunState::Done => match self.store().run_result(run_id).await? {
                Some(result) => RunStatus::Done { result },
                None => RunStatus::Expired,
            },
        })
    }

    /// Cancel a running run of `owner`: it fails with code `CANCELLED` at once (exactly one
    /// `failed` event), and its current step is cancelled or asked to stop. Cancelling the
    /// run, not a job the caller last saw, is what stays right when a step finishes and the
    /// next one starts in between.
    pub async fn cancel_run(&self, owner: &str, run_id: i64) -> Result<RunCancelOutcome> {
        self.get_run(owner, run_id).await?;
        self.store().cancel_run(run_id).await
    }

    /// The run's steps as a graph, each with its state now (for `run show` and the API).
    pub async fn run_graph(&self, owner: &str, run_id: i64) -> Result<crate::RunGraph> {
        let run = self.get_run(owner, run_id).await?;
        let rows = self.store().run_nodes(run_id).await?;
        Ok(crate::RunGraph::of(&run, &rows))
    }

    /// Restart a failed run of `owner` from its last checkpoint.
    pub async fn resume(&self, owner: &str, run_id: i64) -> Result<()> {
        self.get_run(owner, run_id).await?;
        self.store().resume_run(run_id).await
    }

    /// The run's events with `seq > after`: first the history, then live ones; the stream
    /// ends after a terminal event (`done` or `failed`).
    pub async fn events(
        &self,
        owner: &str,
        run_id: i64,
        after: i64,
    ) -> Result<impl Stream<Item = Result<RunEvent>> + Send + 'static> {
        // Subscribe before the first read, so nothing committed in between is missed.
        let rx = self.store().wakeups();
        self.get_run(owner, run_id).await?;
        Ok(subscribe(self.store().clone(), run_id, after, rx))
    }
}

struct Sub {
    store: Arc<dyn Store>,
    run_id: i64,
    after: i64,
    buf: VecDeque<RunEvent>,
    rx: broadcast::Receiver<Wakeup>,
    ended: bool,
    poll: Duration,
}

fn subscribe(
    store: Arc<dyn Store>,
    run_id: i64,
    after: i64,
    rx: broadcast::Receiver<Wakeup>,
) -> impl Stream<Item = Result<RunEvent>> + Send + 'static {
    // Postgres signals every event through NOTIFY; on SQLite events written by triggers in
    // other transactions are found by a short poll.
    let poll = match store.backend() {
        Backend::Postgres => Duration::from_secs(1),
        Backend::Sqlite => Duration::from_millis(50),
    };
    let state = Sub {
        store,
        run_id,
        after,
        buf: VecDeque::new(),
        rx,
        ended: false,
        poll,
    };
    futures::stream::unfold(state, |mut s| async move {
        loop {
            if s.ended {
                return None;
            }
            if let Some(ev) = s.buf.pop_front() {
                s.after = ev.seq;
                if ev.status.is_terminal() {
                    s.ended = true;
                }
                return Some((Ok(ev), s));
            }
            match s.store.run_events(s.run_id, s.after, 500).await {
                Ok(evs) if !evs.is_empty() => {
                    s.buf.extend(evs);
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    s.ended = true;
                    return Some((Err(e), s));
                }
            }
            let sleep = tokio::time::sleep(s.poll);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    _ = &mut sleep => break,
                    ev = s.rx.recv() => match ev {
                        Ok(Wakeup::RunEvent(id)) if id == s.run_id || id == 0 => break,
                        Ok(Wakeup::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => break,
                        Err(broadcast::error::RecvError::Closed) => {
                            sleep.as_mut().await;
                            break;
                        }
                        Ok(_) => {}
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::run::RunState;

    fn run() -> Run {
        // Steps as stored in a run row (the fields left out take their defaults).
        let steps = serde_json::json!([
            { "kind": "list", "queue": "q", "max_attempts": 1, "priority": 1 },
            { "kind": "each", "queue": "q", "max_attempts": 1, "priority": 1,
              "after": [0], "map_over": 0 },
            { "kind": "join", "queue": "q", "max_attempts": 1, "priority": 1, "after": [1] },
        ]);
        Run {
            id: 7,
            pipeline: "p".into(),
            owner: "o".into(),
            state: RunState::Running,
            steps: serde_json::from_value(steps).unwrap(),
            input: serde_json::json!("in"),
            current_step: 1,
            stage: None,
            progress: 0,
            last_seq: 0,
            error_code: None,
            error_message: None,
            created_at: chrono::Utc::now(),
            finished_at: None,
        }
    }

    #[test]
    fn an_item_reads_its_carried_element_or_else_its_element_of_the_list() {
        let run = run();
        let value = serde_json::json!({ "carried": true });
        // Carried: the list need not be among the outputs (the claim left it out).
        let carried = context_of(&run, &[], 1, Some((2, Some(&value)))).unwrap();
        assert_eq!(carried, serde_json::json!({ "input": "in", "item": value }));
        // Not carried (a job written before elements were): its element of the list.
        let outputs = vec![("list".to_string(), serde_json::json!(["a", "b", "c"]))];
        let looked_up = context_of(&run, &outputs, 1, Some((2, None))).unwrap();
        assert_eq!(looked_up, serde_json::json!({ "input": "in", "item": "c" }));
        assert!(context_of(&run, &outputs, 1, Some((3, None))).is_err());
        assert!(context_of(&run, &[], 1, Some((0, None))).is_err());
        // The join reads the whole list with the other outputs.
        let join = context_of(&run, &outputs, 2, None).unwrap();
        assert_eq!(join["list"], serde_json::json!(["a", "b", "c"]));
    }
}

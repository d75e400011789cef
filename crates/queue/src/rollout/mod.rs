//! Rollouts: a candidate implementation beside a primary, switched at runtime.
//!
//! A new parser or a new model can silently change what users get. A [`Rollout`] runs a
//! piece of work — a job kind, a step, or a part of one — through one of two
//! implementations, chosen by the rollout's mode, which is stored in the database and changed
//! by an operator (`specline-enqueue rollout set`) without a deploy:
//!
//! - `off`: the primary only;
//! - `shadow [RATE]`: the primary serves; for the sampled share of jobs the candidate runs
//!   beside it, concurrently in the job's task, with its panics caught, under its own timeout
//!   and a per-process concurrency cap. Its result, error, panic or timeout is compared with
//!   the primary's and recorded ([`ShadowResult`]) before the job completes, never returned:
//!   the job's outcome is the primary's;
//! - `percent N`: the candidate serves N% of keys (a run id, an owner: whatever the caller
//!   passes), decided by a hash of the key, so a user does not flip between versions;
//! - `full`: the candidate serves every job.
//!
//! Workers read the mode through a short cache ([`RolloutOptions::refresh`], 2 s), so a
//! change reaches every running worker within seconds. Every change is recorded (who, when,
//! from, to); [`report()`] summarises the shadow results (match rate, latency of both sides,
//! the most frequent mismatches and the candidate's failures).

mod cache;
mod compare;
mod metrics;
mod report;
mod shadow;

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::error::JobError;
use crate::handler::JobContext;
use crate::store::Store;

pub use crate::store::rollout_mode::{bucket, RolloutMode, Variant};
pub use crate::store::rollout_rows::{
    RolloutChange, RolloutState, RolloutStore, ShadowOutcome, ShadowResult,
};
pub use compare::{bounded_diff, Comparator, Comparison, MAX_DIFF_BYTES};
pub use report::{report, FailureGroup, Latency, MismatchGroup, RolloutReport};

/// What an implementation is running as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The primary, serving the job.
    Primary,
    /// The candidate, serving the job (`percent` or `full`): its result is the user's.
    Candidate,
    /// The candidate beside the primary: its result is only compared. It must not write
    /// anything a user would read as theirs.
    Shadow,
}

/// What an implementation knows about the run it is part of.
#[derive(Debug, Clone)]
pub struct VariantContext {
    role: Role,
    cancel: CancellationToken,
}

impl VariantContext {
    pub fn role(&self) -> Role {
        self.role
    }

    /// True for a candidate running beside the primary, whose result nobody receives.
    pub fn is_shadow(&self) -> bool {
        self.role == Role::Shadow
    }

    /// True once the work should stop: the job was cancelled or, in a shadow run, the
    /// candidate ran past its timeout.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// A clone of the cancellation token, to hand to blocking work.
    pub fn cancellation_token(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

/// How a rollout behaves in a process.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutOptions {
    /// How long a mode read from the database is used before it is read again: the longest
    /// a running worker takes to follow an operator's change.
    pub refresh: Duration,
    /// How long a shadow candidate may run before it is stopped and recorded as a timeout.
    pub candidate_timeout: Duration,
    /// Shadow candidates running at once in this process; a job sampled while all are busy
    /// runs without its shadow (counted as `skipped`).
    pub max_shadows: usize,
}

impl Default for RolloutOptions {
    fn default() -> Self {
        RolloutOptions {
            refresh: Duration::from_secs(2),
            candidate_timeout: Duration::from_secs(60),
            max_shadows: 4,
        }
    }
}

/// A primary and a candidate of one piece of work returning `O`, compared by the
/// application's [`Comparator`]. Cheap to clone; build it once per process.
pub struct Rollout<O> {
    inner: Arc<Inner<O>>,
}

impl<O> Clone for Rollout<O> {
    fn clone(&self) -> Self {
        Rollout {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<O> {
    name: String,
    comparator: Box<dyn Comparator<O>>,
    options: RolloutOptions,
    mode: cache::ModeCache,
    shadows: Arc<Semaphore>,
    metrics: OnceLock<metrics::RolloutMetrics>,
}

impl<O: Send + Sync + 'static> Rollout<O> {
    /// A rollout named `name` (a job kind, a step, or `step.part`), with default options.
    pub fn new(name: impl Into<String>, comparator: impl Comparator<O>) -> Self {
        Self::with_options(name, comparator, RolloutOptions::default())
    }

    pub fn with_options(
        name: impl Into<String>,
        comparator: impl Comparator<O>,
        options: RolloutOptions,
    ) -> Self {
        Rollout {
            inner: Arc::new(Inner {
                name: name.into(),
                comparator: Box::new(comparator),
                shadows: Arc::new(Semaphore::new(options.max_shadows)),
                options,
                mode: cache::ModeCache::default(),
                metrics: OnceLock::new(),
            }),
        }
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The rollout's mode as this process sees it (read again after
    /// [`RolloutOptions::refresh`]; `off` until an operator sets one).
    pub async fn mode(&self, store: &dyn Store) -> RolloutMode {
        self.inner
            .mode
            .get(&self.inner.name, store, self.inner.options.refresh)
            .await
    }

    /// Run job `job`'s work for rollout key `key` through the implementation the mode
    /// chooses, and return the result of the one that serves.
    ///
    /// `primary` runs as the job's work. `candidate` runs in its place when it serves, or
    /// beside it when it shadows the primary: then, concurrently with the primary, under its
    /// own timeout and with panics caught, and whatever it does (a result, an error, a panic,
    /// a timeout) is compared and recorded, and the primary's result returned. A shadowed job
    /// ends when both have (at most the candidate's timeout after it started), so the
    /// closures may borrow from the caller and every shadow result is recorded before the
    /// job completes.
    pub async fn run<P, PF, C, CF>(
        &self,
        job: &JobContext,
        key: &str,
        primary: P,
        candidate: C,
    ) -> Result<O, JobError>
    where
        P: FnOnce(VariantContext) -> PF,
        PF: Future<Output = Result<O, JobError>>,
        C: FnOnce(VariantContext) -> CF,
        CF: Future<Output = Result<O, JobError>>,
    {
        let inner = &self.inner;
        let mode = self.mode(job.store.as_ref()).await;
        let metrics = inner
            .metrics
            .get_or_init(|| metrics::RolloutMetrics::new(&inner.name));
        let serving = mode.serves(&inner.name, key);
        metrics.served(serving);
        let as_role = |role| VariantContext {
            role,
            cancel: job.cancel.clone(),
        };
        if serving == Variant::Candidate {
            let started = Instant::now();
            let result = candidate(as_role(Role::Candidate)).await;
            metrics.ran(Variant::Candidate, started.elapsed());
            return result;
        }
        let permit = if mode.shadows(&inner.name, job.id) {
            let permit = inner.shadows.clone().try_acquire_owned().ok();
            if permit.is_none() {
                metrics.skipped();
            }
            permit
        } else {
            None
        };
        let timed_primary = async {
            let started = Instant::now();
            let result = primary(as_role(Role::Primary)).await;
            let took = started.elapsed();
            metrics.ran(Variant::Primary, took);
            (result, took)
        };
        let Some(permit) = permit else {
            return timed_primary.await.0;
        };
        let shadow = shadow::Shadow {
            name: &inner.name,
            comparator: &*inner.comparator,
            timeout: inner.options.candidate_timeout,
            metrics,
            store: job.store.as_ref(),
            job_id: job.id,
            key,
        };
        // The candidate stops with the job (and at its own timeout), never the reverse.
        let cancel = job.cancel.child_token();
        let candidate = candidate(VariantContext {
            role: Role::Shadow,
            cancel: cancel.clone(),
        });
        let result = shadow.run(timed_primary, candidate, cancel).await;
        drop(permit);
        result
    }
}

//! Rollouts: a candidate implementation beside a primary, switched at runtime.
//!
//! A new parser or a new model can silently change what users get. A [`Rollout`] runs a
//! piece of work — a job kind, a step, or a part of one — through one of two
//! implementations, chosen by the rollout's mode, which is stored in the database and changed
//! by an operator (`specline-enqueue rollout set`) without a deploy:
//!
//! - `off`: the primary only;
//! - `shadow [RATE]`: the primary serves; for the sampled share of jobs the candidate runs
//!   beside it, in its own task, under its own timeout and a per-process concurrency cap. Its
//!   result, error, panic or timeout is compared with the primary's and recorded
//!   ([`ShadowResult`]), never returned: the job's outcome is the primary's;
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

impl<O: Clone + Send + Sync + 'static> Rollout<O> {
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
    /// `primary` runs in the caller's task. `candidate` runs in the caller's task when it
    /// serves, or in its own task when it shadows the primary: then its panic, error or
    /// timeout is recorded and the primary's result returned, whatever the candidate did.
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
        C: FnOnce(VariantContext) -> CF + Send + 'static,
        CF: Future<Output = Result<O, JobError>> + Send + 'static,
    {
        let inner = &self.inner;
        let mode = self.mode(job.store.as_ref()).await;
        let metrics = inner
            .metrics
            .get_or_init(|| metrics::RolloutMetrics::new(&inner.name));
        let serving = mode.serves(&inner.name, key);
        metrics.served(serving);
        if serving == Variant::Candidate {
            let started = Instant::now();
            let result = candidate(VariantContext {
                role: Role::Candidate,
                cancel: job.cancel.clone(),
            })
            .await;
            metrics.ran(Variant::Candidate, started.elapsed());
            return result;
        }
        let shadow = if mode.shadows(&inner.name, job.id) {
            match inner.shadows.clone().try_acquire_owned() {
                Ok(permit) => Some(shadow::start(
                    self.inner.clone(),
                    job.store.clone(),
                    job.id,
                    key.to_string(),
                    candidate,
                    permit,
                )),
                Err(_) => {
                    metrics.skipped();
                    None
                }
            }
        } else {
            None
        };
        let started = Instant::now();
        let result = primary(VariantContext {
            role: Role::Primary,
            cancel: job.cancel.clone(),
        })
        .await;
        let took = started.elapsed();
        metrics.ran(Variant::Primary, took);
        if let Some(tx) = shadow {
            let done = shadow::PrimaryDone {
                result: match &result {
                    Ok(o) => Ok(o.clone()),
                    Err(e) => Err(shadow::error_text(e)),
                },
                took,
            };
            // The shadow task may have ended (the runtime stopping): nothing to compare.
            let _ = tx.send(done);
        }
        result
    }
}

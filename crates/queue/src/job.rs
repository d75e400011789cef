//! Jobs as stored: states, rows, inserts and outcomes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kind::{JobKind, KindSpec};
pub use crate::state::JobState;
pub use crate::unique::UniqueOpts;

/// One failed attempt, as kept in a job's error history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptError {
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub code: String,
    pub message: String,
    /// The worker that ran the attempt.
    #[serde(default)]
    pub worker: String,
}

/// A job as stored, for inspection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub queue: String,
    pub args: serde_json::Value,
    pub state: JobState,
    pub priority: i16,
    pub attempt: i32,
    pub max_attempts: i32,
    pub created_at: DateTime<Utc>,
    pub scheduled_at: DateTime<Utc>,
    pub attempted_at: Option<DateTime<Utc>>,
    pub finalized_at: Option<DateTime<Utc>>,
    /// The worker of each attempt, in order.
    pub attempted_by: Vec<String>,
    pub errors: Vec<AttemptError>,
    pub metadata: serde_json::Value,
    pub tags: Vec<String>,
    pub unique_key: Option<String>,
    pub cancel_requested: bool,
}

/// Per-insert options; anything unset falls back to the kind's [`crate::KindOptions`].
#[derive(Debug, Clone, Default)]
pub struct InsertOpts {
    pub queue: Option<String>,
    pub priority: Option<i16>,
    pub max_attempts: Option<i32>,
    /// Run at or after this time.
    pub scheduled_at: Option<DateTime<Utc>>,
    pub unique: Option<UniqueOpts>,
    pub metadata: Option<serde_json::Value>,
    pub tags: Vec<String>,
}

impl InsertOpts {
    pub fn queue(mut self, q: impl Into<String>) -> Self {
        self.queue = Some(q.into());
        self
    }
    pub fn priority(mut self, p: i16) -> Self {
        self.priority = Some(p);
        self
    }
    pub fn max_attempts(mut self, n: i32) -> Self {
        self.max_attempts = Some(n);
        self
    }
    pub fn scheduled_at(mut self, at: DateTime<Utc>) -> Self {
        self.scheduled_at = Some(at);
        self
    }
    pub fn scheduled_in(self, d: Duration) -> Self {
        let at = crate::clock::in_future(d);
        self.scheduled_at(at)
    }
    pub fn unique(mut self, u: UniqueOpts) -> Self {
        self.unique = Some(u);
        self
    }
    pub fn metadata(mut self, m: serde_json::Value) -> Self {
        self.metadata = Some(m);
        self
    }
    pub fn tag(mut self, t: impl Into<String>) -> Self {
        self.tags.push(t.into());
        self
    }
}

/// A job ready to insert, with its kind's type erased. Build it with [`NewJob::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub kind: String,
    pub queue: String,
    pub args: serde_json::Value,
    pub priority: i16,
    pub max_attempts: i32,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub unique_key: Option<String>,
    pub unique_states: i32,
    pub metadata: serde_json::Value,
    pub tags: Vec<String>,
    /// The partition of a job of a limited kind (`""` without a partition key); `None` for
    /// a kind without limits. Computed at insert from the kind's [`crate::limits::Limits`].
    pub partition_key: Option<String>,
}

impl NewJob {
    /// Check the queue binding, apply the kind's defaults and compute the unique key.
    pub fn new<K: JobKind>(args: &K, opts: InsertOpts) -> Result<NewJob> {
        let value = serde_json::to_value(args).map_err(|e| Error::InvalidArgs(e.to_string()))?;
        NewJob::from_spec(&K::spec(), value, opts)
    }

    /// The same as [`NewJob::new`] for a kind known only by its [`KindSpec`].
    pub fn from_spec(spec: &KindSpec, args: serde_json::Value, opts: InsertOpts) -> Result<NewJob> {
        let queue = opts.queue.clone().unwrap_or_else(|| spec.queues[0].clone());
        if !spec.queues.contains(&queue) {
            return Err(Error::WrongQueue {
                kind: spec.kind.clone(),
                queue,
                allowed: spec.queues.clone(),
            });
        }
        let max_attempts = opts.max_attempts.unwrap_or(spec.options.max_attempts);
        if max_attempts < 1 {
            return Err(Error::InvalidArgs(format!(
                "max_attempts must be at least 1, got {max_attempts}"
            )));
        }
        let unique = opts.unique.as_ref().or(spec.options.unique.as_ref());
        let (unique_key, unique_states) = match unique {
            Some(u) => (
                Some(u.compute_key(&spec.kind, &queue, &args, Utc::now())),
                u.mask(),
            ),
            None => (None, 0),
        };
        // Stored text must be storable on both backends (see `crate::sanitize`); the key
        // above is computed from the caller's value, so a retried insert still collides.
        // The trace of whoever builds the job continues in the worker that runs it.
        let metadata = crate::trace_context::with_current(
            opts.metadata.unwrap_or_else(|| serde_json::json!({})),
        );
        let partition_key = spec
            .options
            .limits
            .partition_of(&args, &metadata)
            .map(crate::sanitize::owned);
        let args = crate::sanitize::json(args);
        Ok(NewJob {
            kind: spec.kind.clone(),
            queue,
            args,
            priority: opts.priority.unwrap_or(spec.options.priority),
            max_attempts,
            scheduled_at: opts.scheduled_at,
            unique_key,
            unique_states,
            metadata: crate::sanitize::json(metadata),
            tags: opts.tags,
            partition_key,
        })
    }

    /// The initial state: `scheduled` when it must wait, else `available`.
    pub(crate) fn initial_state(&self, now: DateTime<Utc>) -> JobState {
        match self.scheduled_at {
            Some(at) if at > now => JobState::Scheduled,
            _ => JobState::Available,
        }
    }
}

/// What an insert produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inserted {
    pub id: i64,
    /// True when a unique job with the same key already existed and that one was returned.
    pub duplicate: bool,
}

/// A job handed to a worker by a fetch.
#[derive(Debug, Clone)]
pub struct FetchedJob {
    pub id: i64,
    pub kind: String,
    pub queue: String,
    /// The arguments as JSON text: deserialized straight into the kind's type.
    pub args: String,
    /// The number of this attempt (1 for the first run).
    pub attempt: i32,
    pub max_attempts: i32,
    pub priority: i16,
    pub created_at: DateTime<Utc>,
    pub scheduled_at: DateTime<Utc>,
    pub metadata: String,
    /// The pipeline run of a step's job.
    pub run_id: Option<i64>,
    /// For a step's job: its run and the outputs of the run's finished steps, read by the
    /// claim itself so that the step need not read them again.
    pub step_inputs: Option<std::sync::Arc<crate::run::StepInputs>>,
}

/// How an attempt ended, as sent to the store in a completion batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Completed,
    /// Back to `retryable`, run again at the time.
    Retry {
        at: DateTime<Utc>,
        error: AttemptError,
    },
    /// Discard with the error (permanent, or out of attempts).
    Discard {
        error: AttemptError,
    },
    Cancel {
        error: AttemptError,
    },
    /// Interrupted by a shutdown: back to `retryable` now; the attempt is not counted.
    Interrupted {
        error: AttemptError,
    },
    /// Run again at the time; the attempt is not counted.
    Snooze {
        at: DateTime<Utc>,
        error: Option<AttemptError>,
    },
    /// A pipeline step finished with its output: the step's completion (checkpoint, events,
    /// successor or result) is written with the batch, in the batch's transaction.
    StepDone(Box<crate::run::StepCompletion>),
}

impl Outcome {
    pub(crate) fn state(&self) -> JobState {
        match self {
            Outcome::Completed | Outcome::StepDone(_) => JobState::Completed,
            Outcome::Retry { .. } => JobState::Retryable,
            Outcome::Discard { .. } => JobState::Discarded,
            Outcome::Cancel { .. } => JobState::Cancelled,
            Outcome::Interrupted { .. } => JobState::Retryable,
            Outcome::Snooze { .. } => JobState::Scheduled,
        }
    }
    pub(crate) fn error(&self) -> Option<&AttemptError> {
        match self {
            Outcome::Completed | Outcome::StepDone(_) => None,
            Outcome::Retry { error, .. }
            | Outcome::Discard { error }
            | Outcome::Cancel { error }
            | Outcome::Interrupted { error } => Some(error),
            Outcome::Snooze { error, .. } => error.as_ref(),
        }
    }
    pub(crate) fn run_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Outcome::Retry { at, .. } | Outcome::Snooze { at, .. } => Some(*at),
            Outcome::Interrupted { error } => Some(error.at),
            _ => None,
        }
    }
    pub(crate) fn uncounts_attempt(&self) -> bool {
        matches!(self, Outcome::Snooze { .. } | Outcome::Interrupted { .. })
    }
}

/// The end of one attempt: which job, which attempt (the fencing token), what happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub id: i64,
    pub attempt: i32,
    pub outcome: Outcome,
}

/// The fence of one attempt: its job and attempt number.
///
/// An attempt holds its fence while its job is `running` at that attempt. Once the job is
/// rescued, cancelled or recorded, or the attempt is over, the fence no longer holds, and a
/// write that checks it in the same transaction ([`crate::store::PgStore::holds_fence`],
/// [`crate::store::sqlite::SqliteTx::holds_fence`]) cannot be made by a stale attempt, such
/// as one still running on a worker that lost its heartbeat while another runs the job again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fence {
    pub job_id: i64,
    pub attempt: i32,
}

/// What [`crate::Client::cancel`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The job was pending and is now cancelled.
    Cancelled,
    /// The job is running; its worker has been told to stop.
    Requested,
    /// The job had already finished; nothing changed.
    AlreadyFinal(JobState),
}

/// Filter for listing jobs. Every field narrows the list; both stores apply all of them in
/// SQL, so a page is exact and "everything matching" can be walked with [`JobFilter::before_id`].
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub queue: Option<String>,
    pub kind: Option<String>,
    pub state: Option<JobState>,
    /// Only jobs carrying every one of these tags.
    pub tags: Vec<String>,
    /// Only jobs whose args contain this JSON object (PostgreSQL `@>` semantics: nested
    /// objects by key, an array by each of the pattern's elements being in some element).
    pub args: Option<serde_json::Value>,
    /// Only jobs whose metadata contain this JSON object (same semantics as `args`).
    pub metadata: Option<serde_json::Value>,
    /// Keyset cursor: only jobs with an id below this one. The list is newest (highest id)
    /// first, so passing the last id of a page gives the next page without OFFSET.
    pub before_id: Option<i64>,
    /// Only jobs with an id above this one: bounds how far a narrow filter may scan (a
    /// filter that matches nothing would otherwise read the whole table to say so).
    pub after_id: Option<i64>,
    /// At most this many, newest first. 0 means 100.
    pub limit: usize,
}

impl JobFilter {
    /// Whether any field narrows the list (beyond the cursor and the limit): then a page may
    /// have to read many rows to find its jobs.
    pub fn narrows(&self) -> bool {
        self.queue.is_some()
            || self.kind.is_some()
            || self.state.is_some()
            || !self.tags.is_empty()
            || self.args.is_some()
            || self.metadata.is_some()
    }

    /// Refuse a containment pattern that is not a JSON object (`INVALID_ARGS`): args and
    /// metadata are objects, so any other pattern is a caller's mistake, not "no match".
    pub fn validate(&self) -> Result<()> {
        for (name, pattern) in [("args", &self.args), ("metadata", &self.metadata)] {
            if pattern.as_ref().is_some_and(|p| !p.is_object()) {
                return Err(Error::InvalidArgs(format!(
                    "the {name} filter must be a JSON object"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_key_depends_on_the_chosen_parts_only() {
        let now = Utc::now();
        let a = serde_json::json!({"x": 1, "y": 2});
        let b = serde_json::json!({"y": 2, "x": 1});
        let c = serde_json::json!({"x": 2});
        let by_args = UniqueOpts::by_args();
        assert_eq!(
            by_args.compute_key("k", "q", &a, now),
            by_args.compute_key("k", "q", &b, now),
            "key order in the args must not matter"
        );
        assert_ne!(
            by_args.compute_key("k", "q", &a, now),
            by_args.compute_key("k", "q", &c, now)
        );
        assert_ne!(
            by_args.compute_key("k", "q", &a, now),
            by_args.compute_key("other", "q", &a, now)
        );
        let by_key = UniqueOpts::by_key("repo-1");
        assert_eq!(
            by_key.compute_key("k", "q", &a, now),
            by_key.compute_key("k", "q", &c, now),
            "args are ignored when unique by key"
        );
    }

    #[test]
    fn unique_period_buckets_time() {
        let u = UniqueOpts::by_key("x").period(Duration::from_secs(3600));
        let t0 = DateTime::parse_from_rfc3339("2026-01-01T10:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let t1 = DateTime::parse_from_rfc3339("2026-01-01T10:55:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let t2 = DateTime::parse_from_rfc3339("2026-01-01T11:00:01Z")
            .unwrap()
            .with_timezone(&Utc);
        let v = serde_json::json!(null);
        assert_eq!(
            u.compute_key("k", "q", &v, t0),
            u.compute_key("k", "q", &v, t1)
        );
        assert_ne!(
            u.compute_key("k", "q", &v, t0),
            u.compute_key("k", "q", &v, t2)
        );
    }

    #[test]
    fn state_bits_are_distinct_and_parse_round_trips() {
        let mut seen = 0;
        for s in JobState::ALL {
            assert_eq!(seen & s.bit(), 0);
            seen |= s.bit();
            assert_eq!(JobState::parse(s.as_str()).unwrap(), s);
        }
        assert!(JobState::parse("bogus").is_err());
    }
}

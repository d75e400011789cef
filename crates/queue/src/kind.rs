//! Typed job kinds: a Rust type that names its kind string, its queue and its defaults.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{de::DeserializeOwned, Serialize};

use crate::limits::Limits;
use crate::unique::UniqueOpts;

/// A job kind is a Rust type holding the job's arguments.
///
/// The kind is bound to its queue in code: inserting it into any other queue is an error at
/// insert time, and a worker that consumes the queue must have a handler for it
/// (see [`crate::Worker`]). This makes "a job routed to a worker that cannot run it"
/// impossible by construction.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use specline_queue::JobKind;
///
/// #[derive(Serialize, Deserialize)]
/// struct SendEmail { to: String }
///
/// impl JobKind for SendEmail {
///     const KIND: &'static str = "send_email";
///     const QUEUE: &'static str = "email";
/// }
/// ```
pub trait JobKind: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The kind string stored with every job; stable across releases.
    const KIND: &'static str;
    /// The queue this kind is bound to.
    const QUEUE: &'static str;

    /// Queues the kind may be inserted into. Defaults to exactly [`JobKind::QUEUE`] (1:1).
    fn queues() -> &'static [&'static str] {
        &[]
    }

    /// Defaults for every job of this kind.
    fn options() -> KindOptions {
        KindOptions::default()
    }

    /// The static description of the kind, as the registry and the catalog hold it.
    fn spec() -> KindSpec {
        let mut queues: Vec<String> = vec![Self::QUEUE.to_string()];
        for q in Self::queues() {
            if !queues.iter().any(|x| x == q) {
                queues.push(q.to_string());
            }
        }
        KindSpec {
            kind: Self::KIND.to_string(),
            queues,
            options: Self::options(),
        }
    }
}

/// Per-kind defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct KindOptions {
    /// How long one attempt may run before it is cancelled and recorded as `TIMEOUT`.
    pub timeout: Duration,
    /// Attempts before a failing job is discarded.
    pub max_attempts: i32,
    /// Lower runs first. 1 (highest) to 4.
    pub priority: i16,
    /// Delay before retry number `n`.
    pub backoff: Backoff,
    /// Uniqueness applied to every insert of this kind unless the insert overrides it.
    pub unique: Option<UniqueOpts>,
    /// Concurrency and rate limits over every worker, and the partition key that fairness
    /// and per-partition limits use (see [`crate::limits`]). Default: none.
    pub limits: Limits,
}

impl Default for KindOptions {
    fn default() -> Self {
        KindOptions {
            timeout: Duration::from_secs(60),
            max_attempts: 25,
            priority: 1,
            backoff: Backoff::default(),
            unique: None,
            limits: Limits::default(),
        }
    }
}

/// Exponential backoff with jitter: `min(max, base * factor^(attempt-1))`, then ±`jitter`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub base: Duration,
    pub factor: f64,
    pub max: Duration,
    /// Fraction of the delay added or removed at random (0.0 to 1.0).
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            factor: 2.0,
            max: Duration::from_secs(60 * 60),
            jitter: 0.1,
        }
    }
}

impl Backoff {
    /// A fixed delay with no growth and no jitter (handy in tests).
    pub fn fixed(d: Duration) -> Self {
        Backoff {
            base: d,
            factor: 1.0,
            max: d,
            jitter: 0.0,
        }
    }

    /// The delay before the next run after failed attempt number `attempt` (1-based).
    pub fn delay(&self, attempt: i32) -> Duration {
        let exp = (attempt.max(1) - 1).min(64);
        let raw = self.base.as_secs_f64() * self.factor.max(1.0).powi(exp);
        let capped = raw.min(self.max.as_secs_f64());
        let jitter = self.jitter.clamp(0.0, 1.0);
        let factor = if jitter > 0.0 {
            1.0 + rand::random_range(-jitter..=jitter)
        } else {
            1.0
        };
        // A huge `max` with jitter may exceed what a `Duration` holds: saturate, never panic.
        Duration::try_from_secs_f64((capped * factor).max(0.0)).unwrap_or(Duration::MAX)
    }
}

/// What the engine knows about a kind without its Rust type.
#[derive(Debug, Clone, PartialEq)]
pub struct KindSpec {
    pub kind: String,
    /// The first queue is the kind's home queue.
    pub queues: Vec<String>,
    pub options: KindOptions,
}

impl KindSpec {
    /// Declare `per_partition` running jobs per partition, if the kind has a partition key (a
    /// kind without one has no per-partition number to replace).
    pub(crate) fn declare_per_partition(&mut self, per_partition: u32) {
        let limits = &mut self.options.limits;
        if limits.partition.is_some() {
            limits.values.per_partition = Some(per_partition);
        }
    }

    /// Declare the fairness `weights` of partitions, if the kind has a partition key; an
    /// empty map leaves the code's weights as they are.
    pub(crate) fn declare_weights(&mut self, weights: &BTreeMap<String, u32>) {
        let limits = &mut self.options.limits;
        if limits.partition.is_some() && !weights.is_empty() {
            limits.values.weights = Some(weights.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_and_caps() {
        let b = Backoff {
            base: Duration::from_secs(1),
            factor: 2.0,
            max: Duration::from_secs(10),
            jitter: 0.0,
        };
        assert_eq!(b.delay(1), Duration::from_secs(1));
        assert_eq!(b.delay(2), Duration::from_secs(2));
        assert_eq!(b.delay(3), Duration::from_secs(4));
        assert_eq!(b.delay(5), Duration::from_secs(10));
        assert_eq!(b.delay(500), Duration::from_secs(10));
    }

    #[test]
    fn backoff_jitter_stays_within_bounds() {
        let b = Backoff {
            base: Duration::from_secs(10),
            factor: 1.0,
            max: Duration::from_secs(10),
            jitter: 0.2,
        };
        for _ in 0..200 {
            let d = b.delay(1).as_secs_f64();
            assert!((8.0..=12.0).contains(&d), "{d}");
        }
    }
}

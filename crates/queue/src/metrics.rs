//! Metrics, through the `metrics` facade: the engine records, the binary chooses the exporter
//! (e.g. `metrics-exporter-prometheus` serving `/metrics`). With no recorder installed these
//! calls cost next to nothing. A worker registers the handles of its kinds when it starts
//! ([`KindMetrics`]), so the per-job path builds no labels: install the recorder before
//! starting workers.
//!
//! | name | type | labels |
//! |---|---|---|
//! | `specline_jobs_total` | counter | `queue`, `kind`, `outcome` (completed, retryable, discarded, cancelled, snoozed, interrupted) |
//! | `specline_job_run_seconds` | histogram | `queue`, `kind` |
//! | `specline_job_queue_latency_seconds` | histogram | `queue`, `kind` (from `scheduled_at` to start) |
//! | `specline_fetch_batch_size` | histogram | `queue` (jobs one fetch claimed, empty fetches included) |
//! | `specline_completion_batch_size` | histogram | — |
//! | `specline_completion_batch_seconds` | histogram | — |
//! | `specline_jobs_rescued_total` | counter | — |
//! | `specline_jobs_pruned_total` | counter | — |
//! | `specline_claims_throttled_total` | counter | `queue`, `kind` (claims of a limited kind a limit held back) |
//! | `specline_queue_jobs` and the other queue gauges | gauge | see [`crate::gauges`] |
//! | `specline_rollout_*` | counters, histogram, gauge | see [`crate::rollout`]'s metrics |

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::job::Outcome;

pub const JOBS_TOTAL: &str = "specline_jobs_total";
pub const JOB_RUN_SECONDS: &str = "specline_job_run_seconds";
pub const JOB_QUEUE_LATENCY_SECONDS: &str = "specline_job_queue_latency_seconds";
pub const FETCH_BATCH_SIZE: &str = "specline_fetch_batch_size";
pub const COMPLETION_BATCH_SIZE: &str = "specline_completion_batch_size";
pub const COMPLETION_BATCH_SECONDS: &str = "specline_completion_batch_seconds";
pub const JOBS_RESCUED_TOTAL: &str = "specline_jobs_rescued_total";
pub const JOBS_PRUNED_TOTAL: &str = "specline_jobs_pruned_total";
pub use crate::limited_claim::CLAIMS_THROTTLED_TOTAL;
/// The rollouts' metrics (recorded by [`crate::rollout`]).
pub const ROLLOUT_SERVED_TOTAL: &str = "specline_rollout_served_total";
pub const ROLLOUT_SHADOW_TOTAL: &str = "specline_rollout_shadow_total";
pub const ROLLOUT_RUN_SECONDS: &str = "specline_rollout_run_seconds";
pub const ROLLOUT_MATCH_RATIO: &str = "specline_rollout_match_ratio";

/// Every metric the engine exports, with its type (`counter`, `gauge`, `histogram`): what a
/// dashboard may query (a test checks the one in `deploy/grafana/` against this list).
pub const ALL: &[(&str, &str)] = &[
    (JOBS_TOTAL, "counter"),
    (JOB_RUN_SECONDS, "histogram"),
    (JOB_QUEUE_LATENCY_SECONDS, "histogram"),
    (FETCH_BATCH_SIZE, "histogram"),
    (COMPLETION_BATCH_SIZE, "histogram"),
    (COMPLETION_BATCH_SECONDS, "histogram"),
    (JOBS_RESCUED_TOTAL, "counter"),
    (JOBS_PRUNED_TOTAL, "counter"),
    (CLAIMS_THROTTLED_TOTAL, "counter"),
    (crate::gauges::QUEUE_JOBS, "gauge"),
    (crate::gauges::QUEUE_OLDEST_AVAILABLE_AGE, "gauge"),
    (crate::gauges::QUEUE_GAUGES_MEASURED, "gauge"),
    (ROLLOUT_SERVED_TOTAL, "counter"),
    (ROLLOUT_SHADOW_TOTAL, "counter"),
    (ROLLOUT_RUN_SECONDS, "histogram"),
    (ROLLOUT_MATCH_RATIO, "gauge"),
];

pub(crate) fn outcome_label(o: &Outcome) -> &'static str {
    match o {
        Outcome::Completed | Outcome::StepDone(_) => "completed",
        Outcome::Retry { .. } => "retryable",
        Outcome::Discard { .. } => "discarded",
        Outcome::Cancel { .. } => "cancelled",
        Outcome::Interrupted { .. } => "interrupted",
        Outcome::Snooze { .. } => "snoozed",
    }
}

/// The metric handles of one (queue, kind), registered once so that recording a job's
/// outcome allocates nothing.
#[derive(Clone)]
pub(crate) struct KindMetrics {
    outcomes: [metrics::Counter; 6],
    run: metrics::Histogram,
    latency: metrics::Histogram,
}

const OUTCOMES: [&str; 6] = [
    "completed",
    "retryable",
    "discarded",
    "cancelled",
    "interrupted",
    "snoozed",
];

impl KindMetrics {
    pub(crate) fn new(queue: &str, kind: &str) -> Self {
        let (q, k) = (queue.to_string(), kind.to_string());
        KindMetrics {
            outcomes: OUTCOMES.map(|o| {
                metrics::counter!(JOBS_TOTAL, "queue" => q.clone(), "kind" => k.clone(), "outcome" => o)
            }),
            run: metrics::histogram!(JOB_RUN_SECONDS, "queue" => q.clone(), "kind" => k.clone()),
            latency: metrics::histogram!(JOB_QUEUE_LATENCY_SECONDS, "queue" => q, "kind" => k),
        }
    }

    pub(crate) fn finished(&self, outcome: &Outcome, ran: Duration) {
        let label = outcome_label(outcome);
        if let Some(i) = OUTCOMES.iter().position(|o| *o == label) {
            self.outcomes[i].increment(1);
        }
        self.run.record(ran.as_secs_f64());
    }

    pub(crate) fn started(&self, scheduled_at: DateTime<Utc>) {
        self.latency.record(latency_secs(scheduled_at));
    }
}

/// The histogram of one queue's fetch sizes (what a claim returned): whether claims take
/// batches or one job at a time, e.g. under a partitioned limit. Registered once per queue.
pub(crate) fn fetch_batch(queue: &str) -> metrics::Histogram {
    metrics::histogram!(FETCH_BATCH_SIZE, "queue" => queue.to_string())
}

fn latency_secs(scheduled_at: DateTime<Utc>) -> f64 {
    let secs = (Utc::now() - scheduled_at).num_microseconds().unwrap_or(0) as f64 / 1e6;
    secs.max(0.0)
}

pub(crate) fn finished(queue: &str, kind: &str, outcome: &Outcome, ran: Duration) {
    metrics::counter!(JOBS_TOTAL, "queue" => queue.to_string(), "kind" => kind.to_string(), "outcome" => outcome_label(outcome))
        .increment(1);
    metrics::histogram!(JOB_RUN_SECONDS, "queue" => queue.to_string(), "kind" => kind.to_string())
        .record(ran.as_secs_f64());
}

pub(crate) fn queue_latency(queue: &str, kind: &str, scheduled_at: DateTime<Utc>) {
    metrics::histogram!(JOB_QUEUE_LATENCY_SECONDS, "queue" => queue.to_string(), "kind" => kind.to_string())
        .record(latency_secs(scheduled_at));
}

pub(crate) fn completion_batch(size: usize, took: Duration) {
    metrics::histogram!(COMPLETION_BATCH_SIZE).record(size as f64);
    metrics::histogram!(COMPLETION_BATCH_SECONDS).record(took.as_secs_f64());
}

pub(crate) fn rescued(n: u64) {
    metrics::counter!(JOBS_RESCUED_TOTAL).increment(n);
}

pub(crate) fn pruned(n: u64) {
    metrics::counter!(JOBS_PRUNED_TOTAL).increment(n);
}

//! Queue gauges: per queue and kind, how many jobs wait and run, and how long the oldest
//! ready job has waited — what an autoscaler scales a worker deployment on.
//!
//! **Measured by the leader, stored, exported by everyone.** The maintenance leader measures
//! at an interval ([`crate::MaintenanceConfig::gauge_interval`]) and replaces the rows of
//! `specline_queue_gauges` with what it found (fenced by its lease, like every maintenance
//! statement). Every process that serves `/metrics` reads that small table at the same
//! interval ([`spawn_export`]) and sets its gauges from it. So every binary's `/metrics`
//! shows the same values whichever node leads, a leadership handover leaves no gap and no
//! stale series from a deposed leader, an autoscaler can read any pod it likes (or the table
//! itself, e.g. KEDA's PostgreSQL scaler), and the database answers one cheap measurement
//! per interval however many pods are scraped. Aggregate across pods with `max`, not `sum`.
//!
//! **Cheap on millions of rows.** The measurement never counts a whole table: it walks the
//! partial index of live jobs `(queue, kind, state, scheduled_at)` (migration
//! `specline_jobs_gauges`), finds the (queue, kind) pairs by a loose index scan, counts each
//! range up to [`GAUGE_CAP`] and reads the oldest ready time from the first entry of a range.
//! Finished jobs, however many, are not in that index. Measured on 5,000,000 jobs in
//! docs/queue-bench.md (`specline bench --gauges`).
//!
//! **What the states mean.** A scheduled or retryable job becomes runnable when its time
//! comes, without changing state (the fetch takes due jobs of all three states), so the
//! gauges count by *readiness*, which is what a worker sees:
//! `available` = jobs a worker could start now (state available, or scheduled/retryable and
//! due); `scheduled` and `retryable` = those still waiting for their time; `running`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::Result;
pub use crate::store::gauge_rows::{GaugeStore, LiveCounts, QueueGauge};
use crate::store::{Lease, Store};

/// A gauge count stops here (it then means "at least that many"). An autoscaler is at its
/// largest size long before a queue holds this many ready jobs.
pub const GAUGE_CAP: i64 = 10_000;

/// Gauge: jobs per queue, kind and state (`available`, `scheduled`, `retryable`, `running`).
pub const QUEUE_JOBS: &str = "specline_queue_jobs";
/// Gauge: seconds the oldest ready job of a queue and kind had waited when measured (0: none).
pub const QUEUE_OLDEST_AVAILABLE_AGE: &str = "specline_queue_oldest_available_age_seconds";
/// Gauge: when the stored gauges were measured, seconds since the epoch (alert when old).
pub const QUEUE_GAUGES_MEASURED: &str = "specline_queue_gauges_measured_timestamp_seconds";

impl QueueGauge {
    /// The gauges from one range's counts, measured at `now`: the readiness rule of the
    /// module doc, written once for both drivers.
    pub fn from_counts(c: LiveCounts, now: DateTime<Utc>) -> QueueGauge {
        let age = c
            .oldest_ready_at
            .and_then(|t| (now - t).to_std().ok())
            .unwrap_or_default();
        QueueGauge {
            available: (c.available + c.scheduled_due + c.retryable_due).min(GAUGE_CAP),
            scheduled: c.scheduled_later,
            retryable: c.retryable_later,
            running: c.running,
            oldest_available_age: age,
            measured_at: now,
            queue: c.queue,
            kind: c.kind,
        }
    }
}

/// Measure the gauges and store them (the leader's duty). Returns what was stored, or
/// nothing if the lease was lost meanwhile.
pub async fn measure(store: &dyn Store, lease: &Lease) -> Result<Option<Vec<QueueGauge>>> {
    // Whole microseconds, as both databases store times (so a stored age and time agree).
    let now = DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap_or_default();
    let gauges: Vec<QueueGauge> = store
        .gauges()
        .count_live(GAUGE_CAP, now)
        .await?
        .into_iter()
        .map(|c| QueueGauge::from_counts(c, now))
        .collect();
    Ok(store
        .gauges()
        .store_gauges(lease, &gauges)
        .await?
        .then_some(gauges))
}

/// Sets the process's gauges from stored rows, and zeroes those of a (queue, kind) that no
/// longer has a row (a drained queue must read 0, or an autoscaler never scales down).
#[derive(Debug, Default)]
pub struct GaugeExporter {
    seen: BTreeSet<(String, String)>,
}

impl GaugeExporter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Export `rows` through the `metrics` facade.
    pub fn export(&mut self, rows: &[QueueGauge]) {
        let now: BTreeSet<(String, String)> = rows
            .iter()
            .map(|g| (g.queue.clone(), g.kind.clone()))
            .collect();
        for (queue, kind) in self.seen.difference(&now) {
            for state in ["available", "scheduled", "retryable", "running"] {
                metrics::gauge!(QUEUE_JOBS, "queue" => queue.clone(), "kind" => kind.clone(), "state" => state).set(0.0);
            }
            metrics::gauge!(QUEUE_OLDEST_AVAILABLE_AGE, "queue" => queue.clone(), "kind" => kind.clone()).set(0.0);
        }
        for g in rows {
            for (state, n) in g.counts() {
                metrics::gauge!(QUEUE_JOBS, "queue" => g.queue.clone(), "kind" => g.kind.clone(), "state" => state)
                    .set(n as f64);
            }
            metrics::gauge!(QUEUE_OLDEST_AVAILABLE_AGE, "queue" => g.queue.clone(), "kind" => g.kind.clone())
                .set(g.oldest_available_age.as_secs_f64());
        }
        if let Some(at) = rows.iter().map(|g| g.measured_at).max() {
            metrics::gauge!(QUEUE_GAUGES_MEASURED).set(at.timestamp_micros() as f64 / 1e6);
        }
        self.seen = now;
    }
}

/// Read the stored gauges every `interval` and export them, until the process ends (the
/// task is aborted when the returned handle is). A failed read is logged and retried at the
/// next interval; the gauges keep their last values meanwhile.
pub fn spawn_export(store: Arc<dyn Store>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut exporter = GaugeExporter::new();
        loop {
            match store.gauges().read_gauges().await {
                Ok(rows) => exporter.export(&rows),
                Err(e) => tracing::warn!(error = %e, "reading the queue gauges failed"),
            }
            tokio::time::sleep(interval).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_scheduled_and_retryable_jobs_count_as_available() {
        let now = Utc::now();
        let g = QueueGauge::from_counts(
            LiveCounts {
                queue: "q".into(),
                kind: "k".into(),
                available: 2,
                scheduled_due: 3,
                scheduled_later: 4,
                retryable_due: 5,
                retryable_later: 6,
                running: 7,
                oldest_ready_at: Some(now - chrono::Duration::seconds(90)),
            },
            now,
        );
        assert_eq!(
            g.counts(),
            [
                ("available", 10),
                ("scheduled", 4),
                ("retryable", 6),
                ("running", 7)
            ]
        );
        assert_eq!(g.oldest_available_age, Duration::from_secs(90));
    }

    #[test]
    fn the_available_count_stays_capped_and_no_ready_job_is_age_zero() {
        let g = QueueGauge::from_counts(
            LiveCounts {
                available: GAUGE_CAP,
                retryable_due: GAUGE_CAP,
                ..LiveCounts::default()
            },
            Utc::now(),
        );
        assert_eq!(g.available, GAUGE_CAP);
        assert_eq!(g.oldest_available_age, Duration::ZERO);
    }
}

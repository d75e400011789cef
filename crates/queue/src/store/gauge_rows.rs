//! The rows of the queue gauges and the drivers' part of them ([`crate::gauges`] has the
//! rule, the measurement and the export). Here, under `store`, so that the store's interface
//! names them without the store depending on the gauges module.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::Lease;
use crate::error::Result;

/// What the driver counts in one (queue, kind) range of live jobs, each count capped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveCounts {
    pub queue: String,
    pub kind: String,
    /// State `available`.
    pub available: i64,
    /// State `scheduled`, due (`scheduled_at` reached).
    pub scheduled_due: i64,
    /// State `scheduled`, not yet due.
    pub scheduled_later: i64,
    /// State `retryable`, due.
    pub retryable_due: i64,
    /// State `retryable`, waiting for its backoff.
    pub retryable_later: i64,
    pub running: i64,
    /// The earliest `scheduled_at` among ready jobs (available, or due scheduled/retryable).
    pub oldest_ready_at: Option<DateTime<Utc>>,
}

/// The gauges of one queue and kind, as stored and exported.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueGauge {
    pub queue: String,
    pub kind: String,
    /// Jobs a worker could start now, at most `GAUGE_CAP`.
    pub available: i64,
    /// Scheduled jobs not yet due.
    pub scheduled: i64,
    /// Jobs waiting for a retry's backoff.
    pub retryable: i64,
    pub running: i64,
    /// How long the oldest ready job had waited at `measured_at`; zero when none is ready.
    pub oldest_available_age: Duration,
    pub measured_at: DateTime<Utc>,
}

impl QueueGauge {
    /// The `state` label and value of each job count.
    pub fn counts(&self) -> [(&'static str, i64); 4] {
        [
            ("available", self.available),
            ("scheduled", self.scheduled),
            ("retryable", self.retryable),
            ("running", self.running),
        ]
    }
}

/// The drivers' part: count, store and read. Reach it with [`super::Store::gauges`].
#[async_trait]
pub trait GaugeStore: Send + Sync {
    /// Per (queue, kind) that has live jobs (available, scheduled, retryable or running):
    /// their counts, each capped at `cap`, and the oldest ready time, as of `now`.
    async fn count_live(&self, cap: i64, now: DateTime<Utc>) -> Result<Vec<LiveCounts>>;

    /// Replace the stored gauges with `gauges` if `lease` still holds; false if it did not
    /// (nothing is written).
    async fn store_gauges(&self, lease: &Lease, gauges: &[QueueGauge]) -> Result<bool>;

    /// The stored gauges, ordered by queue and kind.
    async fn read_gauges(&self) -> Result<Vec<QueueGauge>>;
}

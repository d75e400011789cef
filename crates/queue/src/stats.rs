//! Reads for an operator's dashboard that stay cheap on a table of millions of jobs.
//!
//! No read here scans the whole jobs table: counts per queue and state are *capped* (each
//! one stops at [`COUNT_CAP`] rows of an index range, so "10,000+" is the most it says),
//! the table's total is the planner's estimate, and the last hour's activity reads only the
//! rows an index on `attempted_at`/`finalized_at` finds in that hour.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::job::JobState;

/// A count per queue and state stops here (the dashboard shows "10,000+").
pub const COUNT_CAP: i64 = 10_000;

/// How many jobs one queue holds in one state, at most [`COUNT_CAP`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CappedCount {
    pub queue: String,
    pub state: JobState,
    /// Exact below [`COUNT_CAP`]; equal to it means "at least that many".
    pub count: i64,
}

impl CappedCount {
    /// Whether the count stopped at the cap (there may be more).
    pub fn capped(&self) -> bool {
        self.count >= COUNT_CAP
    }
}

/// The jobs table at a glance.
#[derive(Debug, Clone, PartialEq)]
pub struct JobCounts {
    /// Every (queue, state) pair that has jobs, capped.
    pub counts: Vec<CappedCount>,
    /// All jobs in the table, estimated (PostgreSQL: the planner's row estimate; SQLite: the
    /// span of ids, an upper bound after pruning).
    pub total_estimate: i64,
}

/// What one queue did in one minute.
#[derive(Debug, Clone, PartialEq)]
pub struct MinuteActivity {
    pub queue: String,
    /// The minute's start.
    pub minute: DateTime<Utc>,
    /// Jobs that reached a final state (completed, cancelled, discarded) in that minute.
    pub finished: i64,
    /// Attempts that started in that minute.
    pub attempted: i64,
    /// Mean time from `scheduled_at` to `attempted_at` of those attempts, milliseconds.
    pub latency_avg_ms: f64,
    /// The longest of those waits, milliseconds.
    pub latency_max_ms: f64,
}

/// The dashboard's reads. Both drivers implement it; reach it with [`crate::store::Store::stats`].
#[async_trait]
pub trait JobStats: Send + Sync {
    /// Jobs per queue and state (capped) and the table's estimated size.
    async fn job_counts(&self) -> Result<JobCounts>;

    /// Per queue and minute since `since`: jobs finished, attempts started and their wait.
    async fn activity(&self, since: DateTime<Utc>) -> Result<Vec<MinuteActivity>>;

    /// Ids of every owner's runs, newest first, below `before` (a keyset cursor).
    async fn recent_run_ids(&self, before: Option<i64>, limit: usize) -> Result<Vec<i64>>;
}

/// One row of the "finished per minute" read: queue, minute (seconds since the epoch / 60).
pub(crate) type FinishedRow = (String, i64, i64);
/// One row of the "attempted per minute" read: queue, minute, attempts, mean and max wait (ms).
pub(crate) type AttemptedRow = (String, i64, i64, f64, f64);

/// Both reads merged into one series, ordered by queue then minute.
pub(crate) fn merge_activity(
    finished: Vec<FinishedRow>,
    attempted: Vec<AttemptedRow>,
) -> Vec<MinuteActivity> {
    type Points = std::collections::BTreeMap<(String, i64), MinuteActivity>;
    fn point(map: &mut Points, queue: String, minute: i64) -> &mut MinuteActivity {
        map.entry((queue.clone(), minute))
            .or_insert_with(|| MinuteActivity {
                queue,
                minute: DateTime::from_timestamp(minute.saturating_mul(60), 0).unwrap_or_default(),
                finished: 0,
                attempted: 0,
                latency_avg_ms: 0.0,
                latency_max_ms: 0.0,
            })
    }
    let mut by_key = Points::new();
    for (queue, minute, n) in finished {
        point(&mut by_key, queue, minute).finished = n;
    }
    for (queue, minute, n, avg, max) in attempted {
        let p = point(&mut by_key, queue, minute);
        p.attempted = n;
        p.latency_avg_ms = avg;
        p.latency_max_ms = max;
    }
    by_key.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_puts_both_reads_of_a_minute_in_one_point() {
        let merged = merge_activity(
            vec![("a".into(), 10, 3), ("b".into(), 11, 1)],
            vec![
                ("a".into(), 10, 4, 12.5, 40.0),
                ("a".into(), 12, 1, 1.0, 1.0),
            ],
        );
        assert_eq!(merged.len(), 3);
        assert_eq!((merged[0].finished, merged[0].attempted), (3, 4));
        assert_eq!(merged[0].minute.timestamp(), 600);
        assert_eq!((merged[1].finished, merged[1].attempted), (0, 1));
        assert_eq!(merged[2].queue, "b");
    }
}

//! [`JobStats`] on SQLite: capped counts over the `(queue, state)` index, the span of ids as
//! the table's size, and the last hour's activity from covering indexes on `attempted_at`
//! and `finalized_at` (migration `0004_dashboard_indexes.sql`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::sqlite::SqliteStore;
use crate::error::{Error, Result};
use crate::job::JobState;
use crate::stats::{merge_activity, CappedCount, JobCounts, JobStats, MinuteActivity, COUNT_CAP};

/// See the PostgreSQL driver: a loose index scan for the queues, then capped counts.
const CAPPED_COUNTS: &str = "
WITH RECURSIVE queues(name) AS (
  SELECT (SELECT min(queue) FROM specline_jobs)
  UNION ALL
  SELECT (SELECT min(queue) FROM specline_jobs WHERE queue > q.name)
  FROM queues q WHERE q.name IS NOT NULL
), states(state) AS (
  VALUES ('available'),('scheduled'),('running'),('retryable'),('completed'),('cancelled'),('discarded')
)
SELECT q.name, s.state,
  (SELECT count(*) FROM (SELECT 1 FROM specline_jobs j
     WHERE j.queue = q.name AND j.state = s.state LIMIT ?1))
FROM queues q, states s
WHERE q.name IS NOT NULL";

/// Microseconds in a minute (SQLite keeps times as microseconds since the epoch).
const MINUTE_US: i64 = 60_000_000;

#[async_trait]
impl JobStats for SqliteStore {
    async fn job_counts(&self) -> Result<JobCounts> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(CAPPED_COUNTS)?;
            let rows = stmt
                .query_map([COUNT_CAP], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut counts = Vec::new();
            for (queue, state, count) in rows {
                if count > 0 {
                    counts.push(CappedCount {
                        queue,
                        state: JobState::parse(&state)?,
                        count,
                    });
                }
            }
            let total_estimate: i64 = conn.query_row(
                // Two subqueries: SQLite answers a lone min() or max() from the rowid at
                // once, but scans the table for both in one SELECT.
                "SELECT COALESCE((SELECT max(id) FROM specline_jobs) - (SELECT min(id) FROM specline_jobs) + 1, 0)",
                [],
                |r| r.get(0),
            )?;
            Ok::<_, Error>(JobCounts {
                counts,
                total_estimate,
            })
        })
        .await
    }

    async fn activity(&self, since: DateTime<Utc>) -> Result<Vec<MinuteActivity>> {
        let since = since.timestamp_micros();
        self.read(move |conn| {
            let finished = conn
                .prepare_cached(
                    // INDEXED BY: without it the planner, not knowing how few rows the
                    // last hour holds, walks the (queue, state) index to group the whole table.
                    "SELECT queue, finalized_at / ?2 AS m, count(*)
                     FROM specline_jobs INDEXED BY specline_jobs_finalized_queue
                     WHERE finalized_at >= ?1 GROUP BY 1, 2",
                )?
                .query_map([since, MINUTE_US], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let attempted = conn
                .prepare_cached(
                    "SELECT queue, attempted_at / ?2 AS m, count(*),
                       avg(attempted_at - scheduled_at) / 1000.0,
                       max(attempted_at - scheduled_at) / 1000.0
                     FROM specline_jobs INDEXED BY specline_jobs_attempted
                     WHERE attempted_at >= ?1 GROUP BY 1, 2",
                )?
                .query_map([since, MINUTE_US], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok::<_, Error>(merge_activity(finished, attempted))
        })
        .await
    }

    async fn recent_run_ids(&self, before: Option<i64>, limit: usize) -> Result<Vec<i64>> {
        self.read(move |conn| {
            let ids = conn
                .prepare_cached(
                    "SELECT id FROM specline_runs WHERE id < COALESCE(?1, 9223372036854775807)
                     ORDER BY id DESC LIMIT ?2",
                )?
                .query_map(rusqlite::params![before, limit as i64], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            Ok::<_, Error>(ids)
        })
        .await
    }
}

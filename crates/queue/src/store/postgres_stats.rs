//! [`JobStats`] on PostgreSQL: capped counts over the `(queue, state)` index, the planner's
//! estimate of the table's size, and the last hour's activity from the `attempted_at` and
//! `finalized_at` indexes (migration `0005_dashboard_indexes.sql`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::postgres::PgStore;
use crate::error::{Error, Result};
use crate::job::JobState;
use crate::stats::{merge_activity, CappedCount, JobCounts, JobStats, MinuteActivity, COUNT_CAP};

/// The distinct queues by a loose index scan (one index probe per queue, not a table scan),
/// then each state's count in each queue, stopping at the cap.
const CAPPED_COUNTS: &str = "
WITH RECURSIVE queues(name) AS (
  (SELECT queue FROM specline_jobs ORDER BY queue LIMIT 1)
  UNION ALL
  SELECT (SELECT queue FROM specline_jobs WHERE queue > q.name ORDER BY queue LIMIT 1)
  FROM queues q WHERE q.name IS NOT NULL
)
SELECT q.name, s.state,
  (SELECT count(*) FROM (SELECT 1 FROM specline_jobs j
     WHERE j.queue = q.name AND j.state = s.state LIMIT $1) c)
FROM queues q
CROSS JOIN unnest(ARRAY['available','scheduled','running','retryable','completed','cancelled','discarded']) AS s(state)
WHERE q.name IS NOT NULL";

#[async_trait]
impl JobStats for PgStore {
    async fn job_counts(&self) -> Result<JobCounts> {
        let mut c = self.pool().get().await?;
        let tx = c.transaction().await?;
        // The planner costs the capped scans as if they ran to the end, and would compile
        // them with JIT (tens of ms) for a query that takes a few.
        tx.batch_execute("SET LOCAL jit = off").await?;
        let rows = tx.query(CAPPED_COUNTS, &[&COUNT_CAP]).await?;
        let mut counts = Vec::new();
        for r in rows {
            let count: i64 = r.get(2);
            if count > 0 {
                counts.push(CappedCount {
                    queue: r.get(0),
                    state: JobState::parse(r.get(1))?,
                    count,
                });
            }
        }
        // The planner's row estimate: from the table's size on disk scaled by the last
        // ANALYZE's density, so it is right even before the first ANALYZE.
        let plan = tx
            .query_one("EXPLAIN (FORMAT JSON) SELECT 1 FROM specline_jobs", &[])
            .await?;
        tx.commit().await?;
        let plan: serde_json::Value = plan.get(0);
        let total_estimate = plan
            .pointer("/0/Plan/Plan Rows")
            .and_then(serde_json::Value::as_f64)
            .ok_or_else(|| Error::Corrupt("EXPLAIN gave no row estimate".into()))?
            as i64;
        Ok(JobCounts {
            counts,
            total_estimate,
        })
    }

    async fn activity(&self, since: DateTime<Utc>) -> Result<Vec<MinuteActivity>> {
        let mut c = self.pool().get().await?;
        let c = c.transaction().await?;
        c.batch_execute("SET LOCAL jit = off").await?;
        let finished = c
            .query(
                "SELECT queue, floor(extract(epoch FROM finalized_at) / 60)::bigint AS m, count(*)
                 FROM specline_jobs WHERE finalized_at >= $1 GROUP BY 1, 2",
                &[&since],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        let attempted = c
            .query(
                "SELECT queue, floor(extract(epoch FROM attempted_at) / 60)::bigint AS m, count(*),
                   avg(extract(epoch FROM attempted_at - scheduled_at) * 1000)::float8,
                   max(extract(epoch FROM attempted_at - scheduled_at) * 1000)::float8
                 FROM specline_jobs WHERE attempted_at >= $1 GROUP BY 1, 2",
                &[&since],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
            .collect();
        c.commit().await?;
        Ok(merge_activity(finished, attempted))
    }

    async fn recent_run_ids(&self, before: Option<i64>, limit: usize) -> Result<Vec<i64>> {
        let c = self.pool().get().await?;
        let rows = c
            .query(
                "SELECT id FROM specline_runs WHERE id < COALESCE($1::bigint, 9223372036854775807)
                 ORDER BY id DESC LIMIT $2",
                &[&before, &(limit as i64)],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

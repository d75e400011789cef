//! [`GaugeStore`] on SQLite: the live jobs counted through the partial index
//! `specline_jobs_gauges` (migration 0007), stored in `specline_queue_gauges` in one
//! transaction fenced by the lease.

use super::*;
use crate::store::gauge_rows::{GaugeStore, LiveCounts, QueueGauge};

/// See the PostgreSQL driver. SQLite uses a partial index only when the query repeats its
/// `WHERE` term, hence the `state IN (…)` in every subquery; the running count is a range for
/// the reason given there (not the `specline_jobs_running` index).
const COUNT_LIVE: &str = "
WITH RECURSIVE pairs(queue, kind) AS (
  SELECT * FROM (SELECT queue, kind FROM specline_jobs
    WHERE state IN ('available', 'scheduled', 'retryable', 'running')
    ORDER BY queue, kind LIMIT 1)
  UNION ALL
  SELECT
    (SELECT queue FROM specline_jobs WHERE state IN ('available', 'scheduled', 'retryable', 'running')
       AND (queue, kind) > (p.queue, p.kind) ORDER BY queue, kind LIMIT 1),
    (SELECT kind FROM specline_jobs WHERE state IN ('available', 'scheduled', 'retryable', 'running')
       AND (queue, kind) > (p.queue, p.kind) ORDER BY queue, kind LIMIT 1)
  FROM pairs p WHERE p.queue IS NOT NULL
)
SELECT p.queue, p.kind,
  (SELECT count(*) FROM (SELECT 1 FROM specline_jobs j WHERE j.queue = p.queue AND j.kind = p.kind
     AND j.state IN ('available', 'scheduled', 'retryable', 'running') AND j.state = 'available' LIMIT ?1)),
  (SELECT count(*) FROM (SELECT 1 FROM specline_jobs j WHERE j.queue = p.queue AND j.kind = p.kind
     AND j.state IN ('available', 'scheduled', 'retryable', 'running') AND j.state = 'scheduled'
     AND j.scheduled_at <= ?2 LIMIT ?1)),
  (SELECT count(*) FROM (SELECT 1 FROM specline_jobs j WHERE j.queue = p.queue AND j.kind = p.kind
     AND j.state IN ('available', 'scheduled', 'retryable', 'running') AND j.state = 'scheduled'
     AND j.scheduled_at > ?2 LIMIT ?1)),
  (SELECT count(*) FROM (SELECT 1 FROM specline_jobs j WHERE j.queue = p.queue AND j.kind = p.kind
     AND j.state IN ('available', 'scheduled', 'retryable', 'running') AND j.state = 'retryable'
     AND j.scheduled_at <= ?2 LIMIT ?1)),
  (SELECT count(*) FROM (SELECT 1 FROM specline_jobs j WHERE j.queue = p.queue AND j.kind = p.kind
     AND j.state IN ('available', 'scheduled', 'retryable', 'running') AND j.state = 'retryable'
     AND j.scheduled_at > ?2 LIMIT ?1)),
  (SELECT count(*) FROM (SELECT 1 FROM specline_jobs j WHERE j.queue = p.queue AND j.kind = p.kind
     AND j.state IN ('available', 'scheduled', 'retryable', 'running') AND j.state >= 'running' AND j.state <= 'running' LIMIT ?1)),
  (SELECT min(t) FROM (
    SELECT min(j.scheduled_at) AS t FROM specline_jobs j WHERE j.queue = p.queue AND j.kind = p.kind
       AND j.state IN ('available', 'scheduled', 'retryable', 'running') AND j.state = 'available'
    UNION ALL
    SELECT min(j.scheduled_at) FROM specline_jobs j WHERE j.queue = p.queue AND j.kind = p.kind
       AND j.state IN ('available', 'scheduled', 'retryable', 'running') AND j.state = 'scheduled'
       AND j.scheduled_at <= ?2
    UNION ALL
    SELECT min(j.scheduled_at) FROM specline_jobs j WHERE j.queue = p.queue AND j.kind = p.kind
       AND j.state IN ('available', 'scheduled', 'retryable', 'running') AND j.state = 'retryable'
       AND j.scheduled_at <= ?2))
FROM pairs p WHERE p.queue IS NOT NULL";

#[async_trait]
impl GaugeStore for SqliteStore {
    async fn count_live(&self, cap: i64, now: DateTime<Utc>) -> Result<Vec<LiveCounts>> {
        let now = micros(now);
        self.read(move |conn| {
            let rows = conn
                .prepare_cached(COUNT_LIVE)?
                .query_map(params![cap, now], |r| {
                    Ok(LiveCounts {
                        queue: r.get(0)?,
                        kind: r.get(1)?,
                        available: r.get(2)?,
                        scheduled_due: r.get(3)?,
                        scheduled_later: r.get(4)?,
                        retryable_due: r.get(5)?,
                        retryable_later: r.get(6)?,
                        running: r.get(7)?,
                        oldest_ready_at: r.get::<_, Option<i64>>(8)?.map(from_micros),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok::<_, Error>(rows)
        })
        .await
    }

    async fn store_gauges(&self, lease: &Lease, gauges: &[QueueGauge]) -> Result<bool> {
        let gauges = gauges.to_vec();
        let lease = lease.clone();
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if !lease_ok(&tx, &lease, now_us())? {
                return Ok(false);
            }
            tx.execute("DELETE FROM specline_queue_gauges", [])?;
            {
                let mut put = tx.prepare_cached(
                    "INSERT INTO specline_queue_gauges (queue, kind, available, scheduled,
                       retryable, running, oldest_available_age_us, measured_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                for g in &gauges {
                    put.execute(params![
                        g.queue,
                        g.kind,
                        g.available,
                        g.scheduled,
                        g.retryable,
                        g.running,
                        g.oldest_available_age.as_micros() as i64,
                        micros(g.measured_at),
                    ])?;
                }
            }
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn read_gauges(&self) -> Result<Vec<QueueGauge>> {
        self.read(|conn| {
            let rows = conn
                .prepare_cached(
                    "SELECT queue, kind, available, scheduled, retryable, running,
                            oldest_available_age_us, measured_at
                     FROM specline_queue_gauges ORDER BY queue, kind",
                )?
                .query_map([], |r| {
                    Ok(QueueGauge {
                        queue: r.get(0)?,
                        kind: r.get(1)?,
                        available: r.get(2)?,
                        scheduled: r.get(3)?,
                        retryable: r.get(4)?,
                        running: r.get(5)?,
                        oldest_available_age: Duration::from_micros(
                            r.get::<_, i64>(6)?.max(0) as u64
                        ),
                        measured_at: from_micros(r.get(7)?),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok::<_, Error>(rows)
        })
        .await
    }
}

//! The leader's maintenance: stale jobs and their rescue, retention of jobs, runs, results and idempotency keys.

use super::*;

impl SqliteStore {
    pub(super) async fn stale_jobs(
        &self,
        lease: &Lease,
        stale: Duration,
        limit: usize,
    ) -> Result<Vec<StaleJob>> {
        let lease = lease.clone();
        self.with_conn(move |conn| {
            let now = now_us();
            if !lease_ok(conn, &lease, now)? {
                return Ok(Vec::new());
            }
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT j.id, j.attempt, j.max_attempts, j.cancel_requested_at IS NOT NULL,
                        COALESCE(json_extract(j.attempted_by, '$[#-1]'), ''), j.rescue_credits,
                        j.run_id IS NOT NULL AND EXISTS (
                          SELECT 1 FROM specline_checkpoints c
                          WHERE c.run_id = j.run_id AND c.key <> '' AND c.key NOT LIKE 'item:%'
                            AND c.step = CASE WHEN json_extract(j.args, '$.item') IS NULL
                              THEN j.kind
                              ELSE j.kind || '[' || json_extract(j.args, '$.item') || ']' END
                            AND c.updated_at > j.attempted_at),
                        j.kind, j.run_id, j.metadata
                 FROM specline_jobs j
                 WHERE j.state = 'running' AND {STALE_WORKER}
                 ORDER BY j.id LIMIT ?2"
            ))?;
            let rows = stmt
                .query_map(params![minus(now, stale), limit as i64], |r| {
                    Ok(StaleJob {
                        id: r.get(0)?,
                        attempt: r.get(1)?,
                        max_attempts: r.get(2)?,
                        cancel_requested: r.get(3)?,
                        worker: r.get(4)?,
                        credits: r.get(5)?,
                        progressed: r.get(6)?,
                        kind: r.get(7)?,
                        run_id: r.get(8)?,
                        metadata: r.get(9)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    pub(super) async fn rescue_jobs(
        &self,
        lease: &Lease,
        stale: Duration,
        rescues: &[Rescue],
    ) -> Result<u64> {
        if rescues.is_empty() {
            return Ok(0);
        }
        let (lease, rescues) = (lease.clone(), rescues.to_vec());
        self.apply(move |st| block_on(lifecycle::rescue::apply(st, &lease, stale, &rescues)))
            .await
    }

    pub(super) async fn prune_finished_runs(
        &self,
        lease: &Lease,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<u64> {
        self.as_leader(lease, move |tx, now| {
            let n = tx.execute(
                "DELETE FROM specline_runs WHERE id IN (
                   SELECT r.id FROM specline_runs r
                   WHERE r.finished_at IS NOT NULL AND r.finished_at < ?1 AND r.state <> 'running'
                     AND NOT EXISTS (SELECT 1 FROM specline_results x WHERE x.run_id = r.id AND x.expires_at > ?2)
                     AND NOT EXISTS (SELECT 1 FROM specline_idempotency i WHERE i.run_id = r.id AND i.expires_at > ?2)
                     AND NOT EXISTS (SELECT 1 FROM specline_jobs j WHERE j.run_id = r.id
                                       AND j.state NOT IN ('completed', 'cancelled', 'discarded'))
                   LIMIT ?3)",
                params![micros(before), now, limit as i64],
            )?;
            Ok(n as u64)
        })
        .await
    }

    pub(super) async fn prune(&self, lease: &Lease, spec: PruneSpec) -> Result<u64> {
        self.as_leader(lease, move |tx, _now| {
            let (c, x, d) = (
                micros(spec.completed_before),
                micros(spec.cancelled_before),
                micros(spec.discarded_before),
            );
            let n = tx.execute(
                "DELETE FROM specline_jobs WHERE id IN (
                   SELECT id FROM specline_jobs
                   WHERE finalized_at IS NOT NULL AND finalized_at < max(?1, ?2, ?3)
                     AND ((state = 'completed' AND finalized_at < ?1)
                       OR (state = 'cancelled' AND finalized_at < ?2)
                       OR (state = 'discarded' AND finalized_at < ?3))
                   LIMIT ?4)",
                params![c, x, d, spec.limit as i64],
            )?;
            Ok(n as u64)
        })
        .await
    }

    pub(super) async fn prune_runs(&self, lease: &Lease) -> Result<u64> {
        self.as_leader(lease, move |tx, now| {
            let a = tx.execute("DELETE FROM specline_results WHERE expires_at <= ?1", [now])?;
            let b = tx.execute(
                "DELETE FROM specline_idempotency WHERE expires_at <= ?1",
                [now],
            )?;
            Ok((a + b) as u64)
        })
        .await
    }
}

//! The leader's maintenance: stale jobs and their rescue, retention of jobs, runs, results and idempotency keys.

use super::*;

impl PgStore {
    pub(super) async fn stale_jobs(
        &self,
        lease: &Lease,
        stale: Duration,
        limit: usize,
    ) -> Result<Vec<StaleJob>> {
        let c = self.client().await?;
        let sql = format!(
            "WITH {lease}
             SELECT j.id, j.attempt, j.max_attempts, j.cancel_requested_at IS NOT NULL,
                    COALESCE(j.attempted_by[cardinality(j.attempted_by)], ''), j.rescue_credits,
                    j.run_id IS NOT NULL AND EXISTS (
                      SELECT 1 FROM specline_checkpoints c
                      WHERE c.run_id = j.run_id AND c.key <> '' AND c.key NOT LIKE 'item:%'
                        AND c.step = CASE WHEN j.args ->> 'item' IS NULL THEN j.kind
                          ELSE j.kind || '[' || (j.args ->> 'item') || ']' END
                        AND c.updated_at > j.attempted_at),
                    j.kind, j.run_id, j.metadata::text
             FROM specline_jobs j
             WHERE j.state = 'running' AND EXISTS (SELECT 1 FROM lease) AND {STALE_WORKER}
             ORDER BY j.id LIMIT $4",
            lease = lease_cte()
        );
        let rows = c
            .query(
                &sql,
                &[
                    &lease.holder,
                    &lease.term,
                    &clock::bounded(stale).as_secs_f64(),
                    &(limit as i64),
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| StaleJob {
                id: r.get(0),
                attempt: r.get(1),
                max_attempts: r.get(2),
                cancel_requested: r.get(3),
                worker: r.get(4),
                credits: r.get(5),
                progressed: r.get(6),
                kind: r.get(7),
                run_id: r.get(8),
                metadata: r.get(9),
            })
            .collect())
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
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let n = lifecycle::rescue::apply(&mut self.statements(&tx), lease, stale, rescues).await?;
        tx.commit().await?;
        Ok(n)
    }

    pub(super) async fn prune_finished_runs(
        &self,
        lease: &Lease,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<u64> {
        let c = self.client().await?;
        let sql = format!(
            "WITH {lease}, doomed AS (
               SELECT r.id FROM specline_runs r
               WHERE r.finished_at IS NOT NULL AND r.finished_at < $3 AND r.state <> 'running'
                 AND EXISTS (SELECT 1 FROM lease)
                 AND NOT EXISTS (SELECT 1 FROM specline_results x WHERE x.run_id = r.id AND x.expires_at > now())
                 AND NOT EXISTS (SELECT 1 FROM specline_idempotency i WHERE i.run_id = r.id AND i.expires_at > now())
                 AND NOT EXISTS (SELECT 1 FROM specline_jobs j WHERE j.run_id = r.id
                                   AND j.state NOT IN ('completed', 'cancelled', 'discarded'))
               LIMIT $4
             )
             DELETE FROM specline_runs WHERE id IN (SELECT id FROM doomed)",
            lease = lease_cte()
        );
        let n = c
            .execute(
                &sql,
                &[&lease.holder, &lease.term, &before, &(limit as i64)],
            )
            .await?;
        Ok(n)
    }

    pub(super) async fn prune(&self, lease: &Lease, spec: PruneSpec) -> Result<u64> {
        let c = self.client().await?;
        let sql = format!(
            "WITH {lease}, doomed AS (
               SELECT id FROM specline_jobs
               WHERE finalized_at IS NOT NULL AND finalized_at < GREATEST($3::timestamptz, $4::timestamptz, $5::timestamptz)
                 AND ((state = 'completed' AND finalized_at < $3)
                   OR (state = 'cancelled' AND finalized_at < $4)
                   OR (state = 'discarded' AND finalized_at < $5))
                 AND EXISTS (SELECT 1 FROM lease)
               LIMIT $6
             )
             DELETE FROM specline_jobs WHERE id IN (SELECT id FROM doomed)",
            lease = lease_cte()
        );
        let limit = spec.limit as i64;
        let n = c
            .execute(
                &sql,
                &[
                    &lease.holder,
                    &lease.term,
                    &spec.completed_before,
                    &spec.cancelled_before,
                    &spec.discarded_before,
                    &limit,
                ],
            )
            .await?;
        Ok(n)
    }

    pub(super) async fn prune_runs(&self, lease: &Lease) -> Result<u64> {
        let c = self.client().await?;
        let sql = format!(
            "WITH {lease}, r AS (
               DELETE FROM specline_results WHERE expires_at <= now() AND EXISTS (SELECT 1 FROM lease) RETURNING 1
             ), i AS (
               DELETE FROM specline_idempotency WHERE expires_at <= now() AND EXISTS (SELECT 1 FROM lease) RETURNING 1
             )
             SELECT (SELECT count(*) FROM r) + (SELECT count(*) FROM i)",
            lease = lease_cte()
        );
        let n: i64 = c
            .query_one(&sql, &[&lease.holder, &lease.term])
            .await?
            .get(0);
        Ok(n as u64)
    }
}

//! Workers: register, heartbeat, deregister, and the pruning of dead ones.

use super::*;

impl PgStore {
    pub(super) async fn register_worker(&self, worker: &str, queues: &[String]) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO specline_workers (id, queues) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET queues = EXCLUDED.queues, heartbeat_at = now()",
            &[&worker, &queues],
        )
        .await?;
        Ok(())
    }

    pub(super) async fn heartbeat(&self, worker: &str) -> Result<Vec<i64>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "WITH hb AS (
                   INSERT INTO specline_workers (id, queues) VALUES ($1, '{}')
                   ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()
                 )
                 SELECT id FROM specline_jobs
                 WHERE state = 'running' AND cancel_requested_at IS NOT NULL
                   AND attempted_by[cardinality(attempted_by)] = $1",
                &[&worker],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub(super) async fn deregister_worker(&self, worker: &str) -> Result<()> {
        let c = self.client().await?;
        c.execute("DELETE FROM specline_workers WHERE id = $1", &[&worker])
            .await?;
        Ok(())
    }

    pub(super) async fn prune_workers(&self, lease: &Lease, before: DateTime<Utc>) -> Result<u64> {
        let c = self.client().await?;
        let sql = format!(
            "WITH {lease}
             DELETE FROM specline_workers w
             WHERE w.heartbeat_at < $3 AND EXISTS (SELECT 1 FROM lease)
               AND NOT EXISTS (SELECT 1 FROM specline_jobs j WHERE j.state = 'running'
                                 AND j.attempted_by[cardinality(j.attempted_by)] = w.id)",
            lease = lease_cte()
        );
        Ok(c.execute(&sql, &[&lease.holder, &lease.term, &before])
            .await?)
    }
}

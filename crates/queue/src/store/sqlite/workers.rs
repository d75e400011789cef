//! Workers: register, heartbeat, deregister, and the pruning of dead ones.

use super::*;

impl SqliteStore {
    pub(super) async fn register_worker(&self, worker: &str, queues: &[String]) -> Result<()> {
        let worker = worker.to_string();
        let queues = serde_json::to_string(queues).unwrap_or_else(|_| "[]".into());
        self.with_conn(move |conn| {
            let now = now_us();
            conn.execute(
                "INSERT INTO specline_workers (id, queues, started_at, heartbeat_at) VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT (id) DO UPDATE SET queues = excluded.queues, heartbeat_at = excluded.heartbeat_at",
                params![worker, queues, now],
            )?;
            Ok(())
        })
        .await
    }

    pub(super) async fn heartbeat(&self, worker: &str) -> Result<Vec<i64>> {
        let worker = worker.to_string();
        self.with_conn(move |conn| {
            let now = now_us();
            conn.execute(
                "INSERT INTO specline_workers (id, queues, started_at, heartbeat_at) VALUES (?1, '[]', ?2, ?2)
                 ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
                params![worker, now],
            )?;
            let mut stmt = conn.prepare_cached(
                "SELECT id FROM specline_jobs WHERE state = 'running' AND cancel_requested_at IS NOT NULL
                   AND json_extract(attempted_by, '$[#-1]') = ?1",
            )?;
            let ids = stmt
                .query_map([&worker], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            Ok(ids)
        })
        .await
    }

    pub(super) async fn deregister_worker(&self, worker: &str) -> Result<()> {
        let worker = worker.to_string();
        self.with_conn(move |conn| {
            conn.execute("DELETE FROM specline_workers WHERE id = ?1", [worker])?;
            Ok(())
        })
        .await
    }

    pub(super) async fn prune_workers(&self, lease: &Lease, before: DateTime<Utc>) -> Result<u64> {
        self.as_leader(lease, move |tx, _now| {
            let n = tx.execute(
                "DELETE FROM specline_workers
                 WHERE heartbeat_at < ?1 AND NOT EXISTS (
                   SELECT 1 FROM specline_jobs j WHERE j.state = 'running'
                     AND json_extract(j.attempted_by, '$[#-1]') = specline_workers.id)",
                params![micros(before)],
            )?;
            Ok(n as u64)
        })
        .await
    }
}

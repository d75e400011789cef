//! [`RolloutStore`] on PostgreSQL (tables of migration 0010).

use super::*;
use crate::store::rollout_mode::RolloutMode;
use crate::store::rollout_rows::{
    stored_mode, RolloutChange, RolloutState, RolloutStore, ShadowOutcome, ShadowResult,
};

const STATE_COLUMNS: &str = "name, mode, updated_at, updated_by";

fn state(r: &tokio_postgres::Row) -> Result<RolloutState> {
    let name: String = r.get(0);
    Ok(RolloutState {
        mode: stored_mode(&name, r.get(1))?,
        name,
        updated_at: r.get(2),
        updated_by: r.get(3),
    })
}

fn change(r: &tokio_postgres::Row) -> Result<RolloutChange> {
    let name: String = r.get(1);
    Ok(RolloutChange {
        id: r.get(0),
        from: stored_mode(&name, r.get(2))?,
        to: stored_mode(&name, r.get(3))?,
        name,
        actor: r.get(4),
        at: r.get(5),
    })
}

#[async_trait]
impl RolloutStore for PgStore {
    async fn declare_rollout(&self, name: &str) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO specline_rollouts (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
            &[&name],
        )
        .await?;
        Ok(())
    }

    async fn rollout(&self, name: &str) -> Result<Option<RolloutState>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {STATE_COLUMNS} FROM specline_rollouts WHERE name = $1"
            ))
            .await?;
        c.query_opt(&stmt, &[&name])
            .await?
            .as_ref()
            .map(state)
            .transpose()
    }

    async fn list_rollouts(&self) -> Result<Vec<RolloutState>> {
        let c = self.client().await?;
        c.query(
            &format!("SELECT {STATE_COLUMNS} FROM specline_rollouts ORDER BY name"),
            &[],
        )
        .await?
        .iter()
        .map(state)
        .collect()
    }

    async fn set_rollout(
        &self,
        name: &str,
        mode: RolloutMode,
        actor: &str,
    ) -> Result<RolloutChange> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let old: Option<String> = tx
            .query_opt(
                "SELECT mode FROM specline_rollouts WHERE name = $1 FOR UPDATE",
                &[&name],
            )
            .await?
            .map(|r| r.get(0));
        let to = mode.to_string();
        tx.execute(
            "INSERT INTO specline_rollouts (name, mode, updated_at, updated_by)
             VALUES ($1, $2, now(), $3)
             ON CONFLICT (name) DO UPDATE SET mode = excluded.mode,
               updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            &[&name, &to, &actor],
        )
        .await?;
        let from = old.unwrap_or_else(|| RolloutMode::Off.to_string());
        let row = tx
            .query_one(
                "INSERT INTO specline_rollout_changes (name, from_mode, to_mode, actor)
                 VALUES ($1, $2, $3, $4) RETURNING id, name, from_mode, to_mode, actor, at",
                &[&name, &from, &to, &actor],
            )
            .await?;
        tx.commit().await?;
        change(&row)
    }

    async fn rollout_history(&self, name: &str, limit: usize) -> Result<Vec<RolloutChange>> {
        let c = self.client().await?;
        c.query(
            "SELECT id, name, from_mode, to_mode, actor, at FROM specline_rollout_changes
             WHERE name = $1 ORDER BY id DESC LIMIT $2",
            &[&name, &(limit as i64)],
        )
        .await?
        .iter()
        .map(change)
        .collect()
    }

    async fn record_shadow(&self, r: &ShadowResult) -> Result<()> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "INSERT INTO specline_rollout_results (name, job_id, key, outcome, similarity,
                   diff, error, primary_us, candidate_us, at)
                 VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7, $8, $9, $10)",
            )
            .await?;
        let diff = r.diff.as_ref().map(|d| d.to_string());
        c.execute(
            &stmt,
            &[
                &r.rollout,
                &r.job_id,
                &r.key,
                &r.outcome.as_str(),
                &r.similarity,
                &diff,
                &r.error,
                &r.primary_us,
                &r.candidate_us,
                &r.at,
            ],
        )
        .await?;
        Ok(())
    }

    async fn prune_shadow_results(&self, before: DateTime<Utc>, limit: usize) -> Result<u64> {
        let c = self.client().await?;
        Ok(c.execute(
            "DELETE FROM specline_rollout_results WHERE id IN (
               SELECT id FROM specline_rollout_results WHERE at < $1 ORDER BY at LIMIT $2)",
            &[&before, &(limit as i64)],
        )
        .await?)
    }

    async fn shadow_results(&self, name: &str, limit: usize) -> Result<Vec<ShadowResult>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT name, job_id, key, outcome, similarity, diff::text, error, primary_us,
                        candidate_us, at
                 FROM specline_rollout_results WHERE name = $1 ORDER BY id DESC LIMIT $2",
                &[&name, &(limit as i64)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ShadowResult {
                    rollout: r.get(0),
                    job_id: r.get(1),
                    key: r.get(2),
                    outcome: ShadowOutcome::parse(r.get(3))?,
                    similarity: r.get(4),
                    diff: r
                        .get::<_, Option<String>>(5)
                        .map(|t| serde_json::from_str(&t))
                        .transpose()
                        .map_err(|e| Error::Corrupt(format!("a shadow result's diff: {e}")))?,
                    error: r.get(6),
                    primary_us: r.get(7),
                    candidate_us: r.get(8),
                    at: r.get(9),
                })
            })
            .collect()
    }
}

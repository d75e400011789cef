//! [`RolloutStore`] on SQLite (tables of migration 0009).

use super::*;
use crate::store::rollout_mode::RolloutMode;
use crate::store::rollout_rows::{
    stored_mode, RolloutChange, RolloutState, RolloutStore, ShadowOutcome, ShadowResult,
};

const STATE_COLUMNS: &str = "name, mode, updated_at, updated_by";

fn state(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, i64, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn to_state((name, mode, at, by): (String, String, i64, String)) -> Result<RolloutState> {
    Ok(RolloutState {
        mode: stored_mode(&name, &mode)?,
        name,
        updated_at: from_micros(at),
        updated_by: by,
    })
}

type ChangeRow = (i64, String, String, String, String, i64);

fn change(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChangeRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn to_change((id, name, from, to, actor, at): ChangeRow) -> Result<RolloutChange> {
    Ok(RolloutChange {
        id,
        from: stored_mode(&name, &from)?,
        to: stored_mode(&name, &to)?,
        name,
        actor,
        at: from_micros(at),
    })
}

#[async_trait]
impl RolloutStore for SqliteStore {
    async fn declare_rollout(&self, name: &str) -> Result<()> {
        let name = name.to_string();
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO specline_rollouts (name, updated_at) VALUES (?1, ?2)
                 ON CONFLICT (name) DO NOTHING",
                params![name, now_us()],
            )?;
            Ok(())
        })
        .await
    }

    async fn rollout(&self, name: &str) -> Result<Option<RolloutState>> {
        let name = name.to_string();
        let row = self
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {STATE_COLUMNS} FROM specline_rollouts WHERE name = ?1"
                ))?
                .query_row(params![name], state)
                .optional()
                .map_err(Error::from)
            })
            .await?;
        row.map(to_state).transpose()
    }

    async fn list_rollouts(&self) -> Result<Vec<RolloutState>> {
        let rows = self
            .read(move |conn| {
                conn.prepare(&format!(
                    "SELECT {STATE_COLUMNS} FROM specline_rollouts ORDER BY name"
                ))?
                .query_map([], state)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(Error::from)
            })
            .await?;
        rows.into_iter().map(to_state).collect()
    }

    async fn set_rollout(
        &self,
        name: &str,
        mode: RolloutMode,
        actor: &str,
    ) -> Result<RolloutChange> {
        let (name, actor) = (name.to_string(), actor.to_string());
        let to = mode.to_string();
        let row = self
            .with_conn(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let now = now_us();
                let from: String = tx
                    .query_row(
                        "SELECT mode FROM specline_rollouts WHERE name = ?1",
                        params![name],
                        |r| r.get(0),
                    )
                    .optional()?
                    .unwrap_or_else(|| RolloutMode::Off.to_string());
                tx.execute(
                    "INSERT INTO specline_rollouts (name, mode, updated_at, updated_by)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (name) DO UPDATE SET mode = excluded.mode,
                       updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                    params![name, to, now, actor],
                )?;
                let row = tx.query_row(
                    "INSERT INTO specline_rollout_changes (name, from_mode, to_mode, actor, at)
                     VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id, name, from_mode, to_mode, actor, at",
                    params![name, from, to, actor, now],
                    change,
                )?;
                tx.commit()?;
                Ok(row)
            })
            .await?;
        to_change(row)
    }

    async fn rollout_history(&self, name: &str, limit: usize) -> Result<Vec<RolloutChange>> {
        let name = name.to_string();
        let rows = self
            .read(move |conn| {
                conn.prepare_cached(
                    "SELECT id, name, from_mode, to_mode, actor, at FROM specline_rollout_changes
                     WHERE name = ?1 ORDER BY id DESC LIMIT ?2",
                )?
                .query_map(params![name, limit as i64], change)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(Error::from)
            })
            .await?;
        rows.into_iter().map(to_change).collect()
    }

    async fn record_shadow(&self, r: &ShadowResult) -> Result<()> {
        let r = r.clone();
        self.with_conn(move |conn| {
            conn.prepare_cached(
                "INSERT INTO specline_rollout_results (name, job_id, key, outcome, similarity,
                   diff, error, primary_us, candidate_us, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                r.rollout,
                r.job_id,
                r.key,
                r.outcome.as_str(),
                r.similarity,
                r.diff.as_ref().map(|d| d.to_string()),
                r.error,
                r.primary_us,
                r.candidate_us,
                micros(r.at),
            ])?;
            Ok(())
        })
        .await
    }

    async fn prune_shadow_results(&self, before: DateTime<Utc>, limit: usize) -> Result<u64> {
        self.with_conn(move |conn| {
            let n = conn
                .prepare_cached(
                    "DELETE FROM specline_rollout_results WHERE id IN (
                       SELECT id FROM specline_rollout_results WHERE at < ?1 ORDER BY at
                       LIMIT ?2)",
                )?
                .execute(params![micros(before), limit as i64])?;
            Ok(n as u64)
        })
        .await
    }

    async fn shadow_results(&self, name: &str, limit: usize) -> Result<Vec<ShadowResult>> {
        type Row = (
            String,
            i64,
            String,
            String,
            Option<f64>,
            Option<String>,
            Option<String>,
            i64,
            i64,
            i64,
        );
        let name = name.to_string();
        let rows: Vec<Row> = self
            .read(move |conn| {
                conn.prepare_cached(
                    "SELECT name, job_id, key, outcome, similarity, diff, error, primary_us,
                            candidate_us, at
                     FROM specline_rollout_results WHERE name = ?1 ORDER BY id DESC LIMIT ?2",
                )?
                .query_map(params![name, limit as i64], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                        r.get(9)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(Error::from)
            })
            .await?;
        rows.into_iter()
            .map(
                |(rollout, job_id, key, outcome, similarity, diff, error, p, c, at)| {
                    Ok(ShadowResult {
                        rollout,
                        job_id,
                        key,
                        outcome: ShadowOutcome::parse(&outcome)?,
                        similarity,
                        diff: diff
                            .map(|t| serde_json::from_str(&t))
                            .transpose()
                            .map_err(|e| Error::Corrupt(format!("a shadow result's diff: {e}")))?,
                        error,
                        primary_us: p,
                        candidate_us: c,
                        at: from_micros(at),
                    })
                },
            )
            .collect()
    }
}

//! [`ModelUsageStore`] on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::super::model_usage::{
    ModelUsageStore, PhaseUsage, PhaseUsageRecord, UsageTotals, ADD_COUNTS, REPLACE_COUNTS,
    USAGE_COLUMNS,
};
use super::PgAppStore;
use crate::store::Result;

/// Model cost per run and phase (application migration 6).
pub(super) const MIGRATION_6: &str = r#"
CREATE TABLE specline_model_usage (
  run_id        bigint NOT NULL,
  phase         text NOT NULL,
  owner         text NOT NULL,
  repository    text NOT NULL,
  language      text NOT NULL,
  calls         bigint NOT NULL,
  prompt_tokens bigint NOT NULL,
  output_tokens bigint NOT NULL,
  document_id   bigint,
  recorded_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, phase)
);
-- An owner's spending over a period (the budget check before each generation).
CREATE INDEX specline_model_usage_owner ON specline_model_usage (owner, recorded_at);
CREATE INDEX specline_model_usage_document ON specline_model_usage (document_id)
  WHERE document_id IS NOT NULL;
"#;

fn read(r: &Row) -> Result<PhaseUsageRecord> {
    Ok(PhaseUsageRecord {
        usage: PhaseUsage {
            run_id: r.try_get(0)?,
            owner: r.try_get(1)?,
            repository: r.try_get(2)?,
            language: r.try_get(3)?,
            phase: r.try_get(4)?,
            calls: r.try_get(5)?,
            prompt_tokens: r.try_get(6)?,
            output_tokens: r.try_get(7)?,
        },
        document_id: r.try_get(8)?,
        recorded_at: r.try_get(9)?,
    })
}

impl PgAppStore {
    /// Insert a phase's row, or set the existing row's counts with `set` (in terms of
    /// `EXCLUDED`).
    async fn upsert_usage(&self, u: &PhaseUsage, set: &str) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            &format!(
                "INSERT INTO specline_model_usage
                   (run_id, phase, owner, repository, language, calls, prompt_tokens,
                    output_tokens)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (run_id, phase) DO UPDATE SET {set}, recorded_at = now()"
            ),
            &[
                &u.run_id,
                &u.phase,
                &u.owner,
                &u.repository,
                &u.language,
                &u.calls,
                &u.prompt_tokens,
                &u.output_tokens,
            ],
        )
        .await?;
        Ok(())
    }
}

#[async_trait]
impl ModelUsageStore for PgAppStore {
    async fn record_usage(&self, u: &PhaseUsage) -> Result<()> {
        self.upsert_usage(u, REPLACE_COUNTS).await
    }

    async fn add_usage(&self, u: &PhaseUsage) -> Result<()> {
        self.upsert_usage(u, ADD_COUNTS).await
    }

    async fn attach_usage(&self, run_id: i64, document_id: i64) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "UPDATE specline_model_usage SET document_id = $2 WHERE run_id = $1",
            &[&run_id, &document_id],
        )
        .await?;
        Ok(())
    }

    async fn owner_usage(&self, owner: &str, since: DateTime<Utc>) -> Result<UsageTotals> {
        let c = self.client().await?;
        let r = c
            .query_one(
                "SELECT COALESCE(sum(calls), 0)::bigint, COALESCE(sum(prompt_tokens), 0)::bigint,
                        COALESCE(sum(output_tokens), 0)::bigint
                 FROM specline_model_usage WHERE owner = $1 AND recorded_at >= $2",
                &[&owner, &since],
            )
            .await?;
        Ok(UsageTotals {
            calls: r.try_get(0)?,
            prompt_tokens: r.try_get(1)?,
            output_tokens: r.try_get(2)?,
        })
    }

    async fn document_usage(&self, document_id: i64) -> Result<Vec<PhaseUsageRecord>> {
        self.all(
            &format!(
                "SELECT {USAGE_COLUMNS} FROM specline_model_usage WHERE document_id = $1
                 ORDER BY recorded_at, phase"
            ),
            &[&document_id],
            read,
        )
        .await
    }

    async fn prune_usage(&self, before: DateTime<Utc>) -> Result<u64> {
        let c = self.client().await?;
        Ok(c.execute(
            "DELETE FROM specline_model_usage u WHERE u.recorded_at < $1
               AND NOT EXISTS (SELECT 1 FROM specline_documents d WHERE d.id = u.document_id)",
            &[&before],
        )
        .await?)
    }
}

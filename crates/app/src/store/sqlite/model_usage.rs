//! [`ModelUsageStore`] on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Row};

use super::super::model_usage::{
    ModelUsageStore, PhaseUsage, PhaseUsageRecord, UsageTotals, ADD_COUNTS, REPLACE_COUNTS,
    USAGE_COLUMNS,
};
use super::{from_micros, micros, query_all, SqliteAppStore};
use crate::store::Result;

/// See the PostgreSQL migration 6.
pub(super) const MIGRATION_6: &str = r#"
CREATE TABLE specline_model_usage (
  run_id        INTEGER NOT NULL,
  phase         TEXT NOT NULL,
  owner         TEXT NOT NULL,
  repository    TEXT NOT NULL,
  language      TEXT NOT NULL,
  calls         INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  document_id   INTEGER,
  recorded_at   INTEGER NOT NULL,
  PRIMARY KEY (run_id, phase)
);
CREATE INDEX specline_model_usage_owner ON specline_model_usage (owner, recorded_at);
CREATE INDEX specline_model_usage_document ON specline_model_usage (document_id)
  WHERE document_id IS NOT NULL;
"#;

fn read(r: &Row<'_>) -> Result<PhaseUsageRecord> {
    Ok(PhaseUsageRecord {
        usage: PhaseUsage {
            run_id: r.get(0)?,
            owner: r.get(1)?,
            repository: r.get(2)?,
            language: r.get(3)?,
            phase: r.get(4)?,
            calls: r.get(5)?,
            prompt_tokens: r.get(6)?,
            output_tokens: r.get(7)?,
        },
        document_id: r.get(8)?,
        recorded_at: from_micros(r.get(9)?)?,
    })
}

impl SqliteAppStore {
    /// Insert a phase's row, or set the existing row's counts with `set` (in terms of
    /// `excluded`).
    async fn upsert_usage(&self, u: &PhaseUsage, set: &'static str) -> Result<()> {
        let u = u.clone();
        let now = micros(Utc::now());
        self.write(move |tx| {
            tx.execute(
                &format!(
                    "INSERT INTO specline_model_usage
                       (run_id, phase, owner, repository, language, calls, prompt_tokens,
                        output_tokens, recorded_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT (run_id, phase) DO UPDATE SET {set},
                       recorded_at = excluded.recorded_at"
                ),
                params![
                    u.run_id,
                    u.phase,
                    u.owner,
                    u.repository,
                    u.language,
                    u.calls,
                    u.prompt_tokens,
                    u.output_tokens,
                    now
                ],
            )?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl ModelUsageStore for SqliteAppStore {
    async fn record_usage(&self, u: &PhaseUsage) -> Result<()> {
        self.upsert_usage(u, REPLACE_COUNTS).await
    }

    async fn add_usage(&self, u: &PhaseUsage) -> Result<()> {
        self.upsert_usage(u, ADD_COUNTS).await
    }

    async fn attach_usage(&self, run_id: i64, document_id: i64) -> Result<()> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE specline_model_usage SET document_id = ?2 WHERE run_id = ?1",
                params![run_id, document_id],
            )?;
            Ok(())
        })
        .await
    }

    async fn owner_usage(&self, owner: &str, since: DateTime<Utc>) -> Result<UsageTotals> {
        let owner = owner.to_string();
        let since = micros(since);
        self.read(move |conn| {
            Ok(conn.query_row(
                "SELECT COALESCE(sum(calls), 0), COALESCE(sum(prompt_tokens), 0),
                        COALESCE(sum(output_tokens), 0)
                 FROM specline_model_usage WHERE owner = ?1 AND recorded_at >= ?2",
                params![owner, since],
                |r| {
                    Ok(UsageTotals {
                        calls: r.get(0)?,
                        prompt_tokens: r.get(1)?,
                        output_tokens: r.get(2)?,
                    })
                },
            )?)
        })
        .await
    }

    async fn document_usage(&self, document_id: i64) -> Result<Vec<PhaseUsageRecord>> {
        self.read(move |conn| {
            query_all(
                conn,
                &format!(
                    "SELECT {USAGE_COLUMNS} FROM specline_model_usage WHERE document_id = ?1
                     ORDER BY recorded_at, phase"
                ),
                [document_id],
                read,
            )
        })
        .await
    }

    async fn prune_usage(&self, before: DateTime<Utc>) -> Result<u64> {
        let before = micros(before);
        self.write(move |tx| {
            let n = tx.execute(
                "DELETE FROM specline_model_usage AS u WHERE u.recorded_at < ?1
                   AND NOT EXISTS (SELECT 1 FROM specline_documents d WHERE d.id = u.document_id)",
                [before],
            )?;
            Ok(n as u64)
        })
        .await
    }
}

//! [`SpecCacheStore`] on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::super::spec_cache::{CacheEntry, CachePruneReport, SpecCacheStore};
use super::PgAppStore;
use crate::store::Result;

/// The model-answer cache (application migration 4).
pub(super) const MIGRATION_4: &str = r#"
CREATE TABLE specline_spec_cache (
  key        text PRIMARY KEY,
  kind       text NOT NULL,
  value      jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- Retention deletes by age and, past the count limit, the oldest first.
CREATE INDEX specline_spec_cache_created ON specline_spec_cache (created_at);
"#;

#[async_trait]
impl SpecCacheStore for PgAppStore {
    async fn cache_get_many(&self, keys: &[String]) -> Result<Vec<CacheEntry>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.all(
            "SELECT key, value FROM specline_spec_cache WHERE key = ANY($1)",
            &[&keys],
            |r| {
                Ok(CacheEntry {
                    key: r.try_get(0)?,
                    value: r.try_get(1)?,
                })
            },
        )
        .await
    }

    async fn cache_put_many(&self, entries: &[CacheEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        // One statement for the batch; a key twice in one batch keeps its last value.
        let mut latest: std::collections::BTreeMap<&str, &CacheEntry> = Default::default();
        for e in entries {
            latest.insert(&e.key, e);
        }
        let keys: Vec<&str> = latest.keys().copied().collect();
        let kinds: Vec<&str> = latest.values().map(|e| e.kind()).collect();
        let values: Vec<&serde_json::Value> = latest.values().map(|e| &e.value).collect();
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "INSERT INTO specline_spec_cache (key, kind, value)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[])
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, created_at = now()",
            )
            .await?;
        c.execute(&stmt, &[&keys, &kinds, &values]).await?;
        Ok(())
    }

    async fn prune_spec_cache(
        &self,
        before: DateTime<Utc>,
        max_entries: u64,
    ) -> Result<CachePruneReport> {
        let c = self.client().await?;
        let expired = c
            .execute(
                "DELETE FROM specline_spec_cache WHERE created_at < $1",
                &[&before],
            )
            .await?;
        let keep = i64::try_from(max_entries).unwrap_or(i64::MAX);
        let over_limit = c
            .execute(
                "DELETE FROM specline_spec_cache WHERE key IN (
                   SELECT key FROM specline_spec_cache
                   ORDER BY created_at DESC, key OFFSET $1)",
                &[&keep],
            )
            .await?;
        Ok(CachePruneReport {
            expired,
            over_limit,
        })
    }

    async fn cache_len(&self) -> Result<u64> {
        let c = self.client().await?;
        let n: i64 = c
            .query_one("SELECT count(*) FROM specline_spec_cache", &[])
            .await?
            .get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

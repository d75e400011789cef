//! [`SpecCacheStore`] on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params;

use super::super::spec_cache::{CacheEntry, CachePruneReport, SpecCacheStore};
use super::{json, micros, SqliteAppStore};
use crate::store::Result;

/// See the PostgreSQL migration 4 (times in microseconds, JSON as text).
pub(super) const MIGRATION_4: &str = r#"
CREATE TABLE specline_spec_cache (
  key        TEXT PRIMARY KEY,
  kind       TEXT NOT NULL,
  value      TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX specline_spec_cache_created ON specline_spec_cache (created_at);
"#;

#[async_trait]
impl SpecCacheStore for SqliteAppStore {
    async fn cache_get_many(&self, keys: &[String]) -> Result<Vec<CacheEntry>> {
        let keys = keys.to_vec();
        self.read(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT value FROM specline_spec_cache WHERE key = ?1")?;
            let mut out = Vec::new();
            for key in keys {
                let text: Option<String> =
                    stmt.query_row([&key], |r| r.get(0))
                        .map(Some)
                        .or_else(|e| match e {
                            rusqlite::Error::QueryReturnedNoRows => Ok(None),
                            e => Err(e),
                        })?;
                if let Some(t) = text {
                    out.push(CacheEntry {
                        key,
                        value: json(&t)?,
                    });
                }
            }
            Ok(out)
        })
        .await
    }

    async fn cache_put_many(&self, entries: &[CacheEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let entries = entries.to_vec();
        let now = micros(Utc::now());
        self.write(move |tx| {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO specline_spec_cache (key, kind, value, created_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                   created_at = excluded.created_at",
            )?;
            for e in &entries {
                stmt.execute(params![e.key, e.kind(), e.value.to_string(), now])?;
            }
            Ok(())
        })
        .await
    }

    async fn prune_spec_cache(
        &self,
        before: DateTime<Utc>,
        max_entries: u64,
    ) -> Result<CachePruneReport> {
        let before = micros(before);
        let keep = i64::try_from(max_entries).unwrap_or(i64::MAX);
        self.write(move |tx| {
            let expired = tx.execute(
                "DELETE FROM specline_spec_cache WHERE created_at < ?1",
                [before],
            )?;
            let over_limit = tx.execute(
                "DELETE FROM specline_spec_cache WHERE key IN (
                   SELECT key FROM specline_spec_cache
                   ORDER BY created_at DESC, key LIMIT -1 OFFSET ?1)",
                [keep],
            )?;
            Ok(CachePruneReport {
                expired: expired as u64,
                over_limit: over_limit as u64,
            })
        })
        .await
    }

    async fn cache_len(&self) -> Result<u64> {
        self.read(|conn| {
            let n: i64 =
                conn.query_row("SELECT count(*) FROM specline_spec_cache", [], |r| r.get(0))?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }
}

//! Fair-order tags for the jobs of limited kinds an insert writes ([`Tagger`] decides them;
//! this reads what it needs and writes each partition's last tag back).

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::limited_claim::tags::Tagger;
use crate::limits::LimitValues;

/// Tags for one transaction's inserts: call [`SqliteTags::tag`] for each inserted job with a
/// partition key, then [`SqliteTags::save`] before the transaction commits.
#[derive(Debug, Default)]
pub(super) struct SqliteTags {
    tagger: Tagger,
}

impl SqliteTags {
    /// The tag of the next job of `kind` in partition `key`.
    pub fn tag(&mut self, conn: &Connection, kind: &str, key: &str) -> Result<i64> {
        if !self.tagger.knows_kind(kind) {
            let row = conn
                .prepare_cached(
                    "SELECT vtime, declared, overrides FROM specline_limits WHERE kind = ?1",
                )?
                .query_row([kind], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .optional()?;
            let clock = match row {
                Some((vtime, declared, overrides)) => {
                    let declared: LimitValues = serde_json::from_str(&declared)
                        .map_err(|e| Error::Corrupt(format!("declared limits: {e}")))?;
                    let overrides: serde_json::Value = serde_json::from_str(&overrides)
                        .map_err(|e| Error::Corrupt(format!("limit overrides: {e}")))?;
                    Some((vtime, declared.with_overrides(&overrides)))
                }
                None => None,
            };
            self.tagger.set_kind(kind, clock);
        }
        if !self.tagger.knows_partition(kind, key) {
            let last: Option<i64> = conn
                .prepare_cached(
                    "SELECT last_tag FROM specline_fair_tags WHERE kind = ?1 AND partition_key = ?2",
                )?
                .query_row(params![kind, key], |r| r.get(0))
                .optional()?;
            self.tagger.set_partition(kind, key, last);
        }
        Ok(self.tagger.tag(kind, key))
    }

    /// Write each tagged partition's last tag.
    pub fn save(&self, conn: &Connection) -> Result<()> {
        let mut stmt = conn.prepare_cached(
            "INSERT INTO specline_fair_tags (kind, partition_key, last_tag) VALUES (?1, ?2, ?3)
             ON CONFLICT (kind, partition_key) DO UPDATE SET last_tag = excluded.last_tag",
        )?;
        for (kind, key, tag) in self.tagger.last_tags() {
            stmt.execute(params![kind, key, tag])?;
        }
        Ok(())
    }
}

/// Give the kind's queued jobs new tags from its virtual time with its current weights,
/// each partition's jobs in their order: after a change of weights, the next claim serves
/// every partition by its new weight (a tag given at insert holds the weight of then).
/// Reads and writes every queued job of the kind: an operator's action, not a claim's.
pub(super) fn retag(conn: &Connection, kind: &str) -> Result<usize> {
    let mut tags = SqliteTags::default();
    conn.execute("DELETE FROM specline_fair_tags WHERE kind = ?1", [kind])?;
    let queued: Vec<(i64, String)> = conn
        .prepare(
            "SELECT id, partition_key FROM specline_jobs
             WHERE kind = ?1 AND partition_key IS NOT NULL
               AND state IN ('available', 'scheduled', 'retryable')
             ORDER BY fair_tag, id",
        )?
        .query_map([kind], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut update = conn.prepare("UPDATE specline_jobs SET fair_tag = ?2 WHERE id = ?1")?;
    for (id, key) in &queued {
        let tag = tags.tag(conn, kind, key)?;
        update.execute(params![id, tag])?;
    }
    tags.save(conn)?;
    Ok(queued.len())
}

//! Fair-order tags for the jobs of limited kinds an insert writes ([`Tagger`] decides them;
//! this reads what it needs and writes each partition's last tag back), and the retag after
//! a change of weights.
//!
//! Two inserts into one partition at the same moment may read the same last tag and give
//! equal tags: their jobs then share a turn (ties go by id) and the later write keeps the
//! greater last tag. Fairness is off by at most one step there; no job is lost or reordered
//! within its insert.

use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::error::{Error, Result};
use crate::limited_claim::tags::Tagger;
use crate::limits::LimitValues;

/// A connection or transaction of either kind the driver holds: tokio-postgres's (inserts,
/// also in the application's transaction) or the pool's (the lifecycle's statements).
#[allow(async_fn_in_trait)]
pub(super) trait TagClient {
    async fn rows(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>>;
    async fn exec(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64>;
}

impl<T: tokio_postgres::GenericClient + Sync> TagClient for T {
    async fn rows(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        Ok(self.query(sql, params).await?)
    }
    async fn exec(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        Ok(self.execute(sql, params).await?)
    }
}

/// The pool's connection or transaction, as a [`TagClient`].
pub(super) struct Pooled<'a, C>(pub &'a C);

impl<C: deadpool_postgres::GenericClient> TagClient for Pooled<'_, C> {
    async fn rows(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let stmt = self.0.prepare_cached(sql).await?;
        Ok(self.0.query(&stmt, params).await?)
    }
    async fn exec(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let stmt = self.0.prepare_cached(sql).await?;
        Ok(self.0.execute(&stmt, params).await?)
    }
}

fn json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt(format!("{what}: {e}")))
}

/// The tags of `jobs` (`(kind, partition key)`; `None` for a job without limits), in order,
/// and the tagger holding each partition's new last tag (for [`save`]).
pub(super) async fn tag<C: TagClient>(
    c: &C,
    jobs: &[(&str, Option<&str>)],
) -> Result<(Vec<Option<i64>>, Tagger)> {
    let mut tagger = Tagger::default();
    let mut kinds: Vec<&str> = Vec::new();
    let mut pairs: (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    for (kind, key) in jobs {
        let Some(key) = key else { continue };
        if !kinds.contains(kind) {
            kinds.push(kind);
        }
        pairs.0.push(kind);
        pairs.1.push(key);
    }
    if kinds.is_empty() {
        return Ok((vec![None; jobs.len()], tagger));
    }
    let stmt = "SELECT kind, vtime, declared::text, overrides::text FROM specline_limits
             WHERE kind = ANY ($1::text[])";
    for r in c.rows(stmt, &[&kinds]).await? {
        let declared: LimitValues = json("declared limits", r.get(2))?;
        let overrides: serde_json::Value = json("limit overrides", r.get(3))?;
        tagger.set_kind(
            r.get(0),
            Some((r.get(1), declared.with_overrides(&overrides))),
        );
    }
    for kind in &kinds {
        if !tagger.knows_kind(kind) {
            tagger.set_kind(kind, None);
        }
    }
    let stmt = "SELECT t.kind, t.partition_key, t.last_tag FROM specline_fair_tags t
             JOIN unnest($1::text[], $2::text[]) AS p(kind, key)
               ON t.kind = p.kind AND t.partition_key = p.key";
    for r in c.rows(stmt, &[&pairs.0, &pairs.1]).await? {
        tagger.set_partition(r.get(0), r.get(1), Some(r.get(2)));
    }
    let tags = jobs
        .iter()
        .map(|(kind, key)| {
            key.map(|key| {
                if !tagger.knows_partition(kind, key) {
                    tagger.set_partition(kind, key, None);
                }
                tagger.tag(kind, key)
            })
        })
        .collect();
    Ok((tags, tagger))
}

/// Write each tagged partition's last tag (the greater one, if another insert wrote since),
/// in key order so that two inserts never wait on each other's rows crosswise.
pub(super) async fn save<C: TagClient>(c: &C, tagger: &Tagger) -> Result<()> {
    let mut last = tagger.last_tags();
    if last.is_empty() {
        return Ok(());
    }
    last.sort_unstable();
    let kinds: Vec<&str> = last.iter().map(|t| t.0).collect();
    let keys: Vec<&str> = last.iter().map(|t| t.1).collect();
    let tags: Vec<i64> = last.iter().map(|t| t.2).collect();
    let stmt = "INSERT INTO specline_fair_tags (kind, partition_key, last_tag)
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
             ON CONFLICT (kind, partition_key)
             DO UPDATE SET last_tag = GREATEST(specline_fair_tags.last_tag, EXCLUDED.last_tag)";
    c.exec(stmt, &[&kinds, &keys, &tags]).await?;
    Ok(())
}

/// Give the kind's queued jobs new tags from its virtual time with its current weights,
/// each partition's jobs in their order (see the SQLite driver's `retag`); `c` must be a
/// transaction that locked the kind's row.
pub(super) async fn retag<C: TagClient>(c: &C, kind: &str) -> Result<usize> {
    let rows = c
        .rows(
            "SELECT id, partition_key FROM specline_jobs
             WHERE kind = $1 AND partition_key IS NOT NULL
               AND state IN ('available', 'scheduled', 'retryable')
             ORDER BY fair_tag, id",
            &[&kind],
        )
        .await?;
    c.exec("DELETE FROM specline_fair_tags WHERE kind = $1", &[&kind])
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    let keys: Vec<String> = rows.iter().map(|r| r.get(1)).collect();
    let jobs: Vec<(&str, Option<&str>)> = keys.iter().map(|k| (kind, Some(k.as_str()))).collect();
    let (tags, tagger) = tag(c, &jobs).await?;
    let tags: Vec<i64> = tags.into_iter().map(|t| t.unwrap_or(0)).collect();
    c.exec(
        "UPDATE specline_jobs j SET fair_tag = t.tag
         FROM unnest($1::bigint[], $2::bigint[]) AS t(id, tag) WHERE j.id = t.id",
        &[&ids, &tags],
    )
    .await?;
    save(c, &tagger).await?;
    Ok(ids.len())
}

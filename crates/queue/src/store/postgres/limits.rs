//! Limits on PostgreSQL: the limited claim's statements ([`crate::limits::LimitStatements`])
//! in the claim's transaction, the kinds' declarations, and the operator's reads and
//! overrides.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use super::rows::fetched_from_row;
use super::PgStore;
use crate::error::{Error, Result};
use crate::job::FetchedJob;
use crate::limited_claim::fair::{FairClock, FairEntry, FairStatements, FairWindow};
use crate::limited_claim::{LimitRow, LimitStatements, PartitionClaim};
use crate::limits::gate::{take_token, GateStatements};
use crate::limits::{Bucket, Declared, LimitStatus, LimitValues, PartitionCounts, Rate};

/// The kind's weights as they apply now (declared, with the operator's overrides), if the
/// kind is declared; its row stays locked until `tx` ends (claims of the kind wait).
async fn weights_of(
    tx: &deadpool_postgres::Transaction<'_>,
    kind: &str,
) -> Result<Option<Option<std::collections::BTreeMap<String, u32>>>> {
    let row = tx
        .query_opt(
            "SELECT declared::text, overrides::text FROM specline_limits WHERE kind = $1 FOR UPDATE",
            &[&kind],
        )
        .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    let declared: LimitValues = json("declared limits", r.get(0))?;
    let overrides: serde_json::Value = json("limit overrides", r.get(1))?;
    Ok(Some(declared.with_overrides(&overrides).weights))
}

/// The limited claim's statements on one transaction.
pub(super) struct PgLimits<'a, C: GenericClient> {
    pub c: &'a C,
}

fn json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt(format!("{what}: {e}")))
}

fn bucket(tokens: Option<f64>, at: Option<DateTime<Utc>>) -> Option<Bucket> {
    Some(Bucket {
        tokens: tokens?,
        refilled_at: at?,
    })
}

impl<C: GenericClient> LimitStatements for PgLimits<'_, C> {
    async fn lock_limit(&mut self, kind: &str) -> Result<Option<LimitRow>> {
        let stmt = self
            .c
            .prepare_cached(
                "WITH l AS (SELECT declared::text AS d, overrides::text AS o, tokens, refilled_at
                            FROM specline_limits WHERE kind = $1 FOR UPDATE)
                 SELECT d, o, tokens, refilled_at, clock_timestamp() FROM l",
            )
            .await?;
        let Some(r) = self.c.query_opt(&stmt, &[&kind]).await? else {
            return Ok(None);
        };
        let declared: LimitValues = json("declared limits", r.get(0))?;
        let overrides: serde_json::Value = json("limit overrides", r.get(1))?;
        Ok(Some(LimitRow {
            values: declared.with_overrides(&overrides),
            bucket: bucket(r.get(2), r.get(3)),
            now: r.get(4),
        }))
    }

    async fn running(&mut self, kind: &str, limit: i64) -> Result<Vec<(i64, i32)>> {
        let stmt = self
            .c
            .prepare_cached(
                "SELECT id, attempt FROM specline_jobs
                 WHERE kind = $1 AND partition_key IS NOT NULL AND state = 'running' LIMIT $2",
            )
            .await?;
        let rows = self.c.query(&stmt, &[&kind, &limit]).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn running_in(&mut self, kind: &str, keys: &[String]) -> Result<Vec<(String, i64, i32)>> {
        // Whichever index the planner picks, this is one pass: probes of the partitions in
        // specline_jobs_running_limited, or one scan of the running jobs.
        let stmt = self
            .c
            .prepare_cached(
                "SELECT partition_key, id, attempt FROM specline_jobs
                 WHERE kind = $1 AND partition_key = ANY ($2::text[]) AND state = 'running'",
            )
            .await?;
        let rows = self.c.query(&stmt, &[&kind, &keys]).await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    async fn save_partition_buckets(
        &mut self,
        kind: &str,
        buckets: &[(String, Bucket)],
    ) -> Result<()> {
        let keys: Vec<&str> = buckets.iter().map(|b| b.0.as_str()).collect();
        let tokens: Vec<f64> = buckets.iter().map(|b| b.1.tokens).collect();
        let at: Vec<DateTime<Utc>> = buckets.iter().map(|b| b.1.refilled_at).collect();
        let stmt = self
            .c
            .prepare_cached(
                "INSERT INTO specline_limit_partitions (kind, partition_key, tokens, refilled_at)
                 SELECT $1, * FROM unnest($2::text[], $3::float8[], $4::timestamptz[])
                 ON CONFLICT (kind, partition_key)
                 DO UPDATE SET tokens = EXCLUDED.tokens, refilled_at = EXCLUDED.refilled_at",
            )
            .await?;
        self.c.execute(&stmt, &[&kind, &keys, &tokens, &at]).await?;
        Ok(())
    }
}

/// The fair window's statement: strictly after `($6, $7, $8)` if `after`, of run `$4` if
/// `run` (see [`FairStatements::fair_window`]).
pub(super) fn fair_window_sql(after: bool, run: bool) -> String {
    // Statements without the optional terms rather than one with them, so that each is
    // a plain range of specline_jobs_fair, read from the index alone when no run is
    // given (run_id is not in the index). `priority` is selected as it is stored: an
    // output column `priority::int` would be what `ORDER BY priority` names, an order no
    // index gives, and the plan would read and sort every queued job of the kind.
    let bound = if after {
        "AND (priority, fair_tag, id) > ($6::smallint, $7::bigint, $8::bigint)"
    } else {
        ""
    };
    let run = if run {
        "AND run_id = $4"
    } else {
        "AND $4::bigint IS NULL"
    };
    format!(
        "SELECT id, priority, fair_tag, partition_key FROM specline_jobs
         WHERE queue = $1 AND kind = $2 AND state IN ('available', 'scheduled', 'retryable')
           AND partition_key IS NOT NULL AND scheduled_at <= $3 {run} {bound}
         ORDER BY priority, fair_tag, id LIMIT $5"
    )
}

impl<C: GenericClient> FairStatements for PgLimits<'_, C> {
    async fn fair_clock(&mut self, kind: &str) -> Result<FairClock> {
        let stmt = self
            .c
            .prepare_cached("SELECT vtime, fair_cursor FROM specline_limits WHERE kind = $1")
            .await?;
        let Some(r) = self.c.query_opt(&stmt, &[&kind]).await? else {
            return Ok(FairClock::default());
        };
        let cursor: Option<Vec<i64>> = r.get(1);
        let cursor = match cursor.as_deref() {
            None => None,
            Some(&[p, t, id]) => Some((
                i32::try_from(p).map_err(|e| Error::Corrupt(format!("fair cursor: {e}")))?,
                t,
                id,
            )),
            Some(other) => return Err(Error::Corrupt(format!("fair cursor: {other:?}"))),
        };
        Ok(FairClock {
            vtime: r.get(0),
            cursor,
        })
    }

    async fn fair_window(&mut self, w: &FairWindow<'_>) -> Result<Vec<FairEntry>> {
        let sql = fair_window_sql(w.after.is_some(), w.run.is_some());
        let stmt = self.c.prepare_cached(&sql).await?;
        let max = w.max as i64;
        let rows = match w.after {
            Some((p, t, id)) => {
                let p = i16::try_from(p).map_err(|e| Error::Corrupt(format!("priority: {e}")))?;
                self.c
                    .query(
                        &stmt,
                        &[&w.queue, &w.kind, &w.now, &w.run, &max, &p, &t, &id],
                    )
                    .await?
            }
            None => {
                self.c
                    .query(&stmt, &[&w.queue, &w.kind, &w.now, &w.run, &max])
                    .await?
            }
        };
        Ok(rows
            .iter()
            .map(|r| FairEntry {
                id: r.get(0),
                priority: i32::from(r.get::<_, i16>(1)),
                tag: r.get::<_, Option<i64>>(2).unwrap_or(0),
                key: r.get(3),
            })
            .collect())
    }

    async fn partition_buckets(
        &mut self,
        kind: &str,
        keys: &[String],
    ) -> Result<Vec<(String, Bucket)>> {
        let stmt = self
            .c
            .prepare_cached(
                "SELECT partition_key, tokens, refilled_at FROM specline_limit_partitions
                 WHERE kind = $1 AND partition_key = ANY ($2::text[])",
            )
            .await?;
        let rows = self.c.query(&stmt, &[&kind, &keys]).await?;
        Ok(rows
            .iter()
            .filter_map(|r| Some((r.get(0), bucket(r.get(1), r.get(2))?)))
            .collect())
    }

    async fn claim_ids(
        &mut self,
        claim: &PartitionClaim<'_>,
        ids: &[i64],
    ) -> Result<Vec<(String, FetchedJob)>> {
        let stmt = self
            .c
            .prepare_cached(include_str!("sql/claim_ids.sql"))
            .await?;
        let rows = self
            .c
            .query(&stmt, &[&claim.queue, &ids, &claim.worker, &claim.now])
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get("partition_key"), fetched_from_row(r, claim.queue)))
            .collect())
    }

    async fn save_fair(
        &mut self,
        kind: &str,
        clock: &FairClock,
        bucket: Option<&Bucket>,
        throttled: bool,
    ) -> Result<()> {
        let cursor: Option<Vec<i64>> = clock.cursor.map(|(p, t, id)| vec![i64::from(p), t, id]);
        let stmt = self
            .c
            .prepare_cached(
                "UPDATE specline_limits
                 SET vtime = $2, fair_cursor = $3, tokens = $4, refilled_at = $5,
                     throttled = throttled + $6::int
                 WHERE kind = $1",
            )
            .await?;
        let throttled = i32::from(throttled);
        self.c
            .execute(
                &stmt,
                &[
                    &kind,
                    &clock.vtime,
                    &cursor,
                    &bucket.map(|b| b.tokens),
                    &bucket.map(|b| b.refilled_at),
                    &throttled,
                ],
            )
            .await?;
        Ok(())
    }
}

impl<C: GenericClient> GateStatements for PgLimits<'_, C> {
    async fn lock_gate(
        &mut self,
        name: &str,
        key: &str,
    ) -> Result<(Option<Bucket>, DateTime<Utc>)> {
        // The upsert locks the row whether it inserts or not; `xmax = 0`: it was inserted.
        let stmt = self
            .c
            .prepare_cached(
                "INSERT INTO specline_limit_partitions (kind, partition_key, tokens, refilled_at)
                 VALUES ($1, $2, 0, clock_timestamp())
                 ON CONFLICT (kind, partition_key)
                 DO UPDATE SET tokens = specline_limit_partitions.tokens
                 RETURNING tokens, refilled_at, xmax = 0, clock_timestamp()",
            )
            .await?;
        let r = self.c.query_one(&stmt, &[&name, &key]).await?;
        let inserted: bool = r.get(2);
        let prev = (!inserted).then(|| Bucket {
            tokens: r.get(0),
            refilled_at: r.get(1),
        });
        Ok((prev, r.get(3)))
    }

    async fn save_gate(&mut self, name: &str, key: &str, b: &Bucket) -> Result<()> {
        self.save_partition_buckets(name, &[(key.to_string(), *b)])
            .await
    }
}

impl PgStore {
    /// Take a token of a rate gate ([`crate::limits::gate`]) in its own transaction.
    pub(super) async fn take_rate_token(
        &self,
        name: &str,
        key: &str,
        rate: &Rate,
    ) -> Result<Option<DateTime<Utc>>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let wait = take_token(&mut PgLimits { c: &tx }, name, key, rate).await?;
        tx.commit().await?;
        Ok(wait)
    }

    /// Write the limits the code declares (one row per kind; the operator's overrides stay).
    pub(super) async fn declare_limits(&self, declared: &[Declared]) -> Result<()> {
        let mut c = self.client().await?;
        for d in declared {
            let text =
                serde_json::to_string(&d.values).map_err(|e| Error::Corrupt(e.to_string()))?;
            let tx = c.transaction().await?;
            // Jobs queued before the kind was first declared were tagged with every weight 1:
            // weights declared now (or changed since) retag them.
            let before = weights_of(&tx, &d.kind).await?;
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO specline_limits (kind, queues, declared) VALUES ($1, $2, $3::text::jsonb)
                     ON CONFLICT (kind) DO UPDATE
                     SET queues = EXCLUDED.queues, declared = EXCLUDED.declared, updated_at = now()
                     WHERE specline_limits.declared IS DISTINCT FROM EXCLUDED.declared
                        OR specline_limits.queues IS DISTINCT FROM EXCLUDED.queues",
                )
                .await?;
            tx.execute(&stmt, &[&d.kind, &d.queues, &text]).await?;
            let after = weights_of(&tx, &d.kind).await?;
            let changed = match (&before, &after) {
                (None, Some(None)) => false,
                _ => before != after,
            };
            if changed {
                super::tags::retag(&super::tags::Pooled(&tx), &d.kind).await?;
            }
            tx.commit().await?;
        }
        self.inner.limits.declare(declared);
        Ok(())
    }

    /// Every limited kind with its limits and its running and pending jobs.
    pub(super) async fn limit_statuses(&self) -> Result<Vec<LimitStatus>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT l.kind, l.declared::text, l.overrides::text, l.throttled,
                   (SELECT count(*) FROM specline_jobs j
                    WHERE j.kind = l.kind AND j.partition_key IS NOT NULL AND j.state = 'running'),
                   (SELECT count(*) FROM specline_jobs j
                    WHERE j.kind = l.kind AND j.partition_key IS NOT NULL
                      AND j.state IN ('available', 'scheduled', 'retryable')),
                   l.queues, l.tokens, l.refilled_at
                 FROM specline_limits l ORDER BY l.kind",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let declared: LimitValues = json("declared limits", r.get(1))?;
                let overrides: serde_json::Value = json("limit overrides", r.get(2))?;
                Ok(LimitStatus {
                    kind: r.get(0),
                    effective: declared.with_overrides(&overrides),
                    declared,
                    overrides,
                    throttled: r.get(3),
                    running: r.get(4),
                    pending: r.get(5),
                    queues: r.get(6),
                    bucket: bucket(r.get(7), r.get(8)),
                })
            })
            .collect()
    }

    /// The kind's partitions with the most unfinished jobs, with their counts.
    pub(super) async fn limit_partitions(
        &self,
        kind: &str,
        limit: usize,
    ) -> Result<Vec<PartitionCounts>> {
        let c = self.client().await?;
        let limit = limit as i64;
        let rows = c
            .query(
                "SELECT partition_key, count(*) FILTER (WHERE state = 'running'),
                        count(*) FILTER (WHERE state <> 'running')
                 FROM specline_jobs
                 WHERE kind = $1 AND partition_key IS NOT NULL
                   AND state IN ('available', 'scheduled', 'retryable', 'running')
                 GROUP BY partition_key ORDER BY count(*) DESC, partition_key LIMIT $2",
                &[&kind, &limit],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| PartitionCounts {
                key: r.get(0),
                running: r.get(1),
                pending: r.get(2),
            })
            .collect())
    }

    /// Delete at most `limit` bucket rows last refilled before `before`, and at most `limit`
    /// partitions' last tags that the virtual time has passed, as the leader.
    pub(super) async fn prune_limit_buckets(
        &self,
        lease: &crate::lease::Lease,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<u64> {
        let c = self.client().await?;
        let sql = format!(
            "WITH {lease}
             DELETE FROM specline_limit_partitions
             WHERE ctid = ANY (ARRAY(SELECT ctid FROM specline_limit_partitions
                                     WHERE refilled_at < $3 LIMIT $4))
               AND EXISTS (SELECT 1 FROM lease)",
            lease = super::lease_cte()
        );
        let limit = limit as i64;
        let buckets = c
            .execute(&sql, &[&lease.holder, &lease.term, &before, &limit])
            .await?;
        // A partition whose last tag the kind's virtual time has passed gets its next tag
        // from the virtual time, as one without a row does.
        let sql = format!(
            "WITH {lease}
             DELETE FROM specline_fair_tags t USING specline_limits l
             WHERE l.kind = t.kind AND t.last_tag <= l.vtime
               AND (t.kind, t.partition_key) IN (
                 SELECT f.kind, f.partition_key FROM specline_fair_tags f
                 JOIN specline_limits k ON k.kind = f.kind
                 WHERE f.last_tag <= k.vtime LIMIT $3)
               AND EXISTS (SELECT 1 FROM lease)",
            lease = super::lease_cte()
        );
        let tags = c
            .execute(&sql, &[&lease.holder, &lease.term, &limit])
            .await?;
        Ok(buckets + tags)
    }

    /// Replace a kind's overrides (checked by the caller). False when no such kind is limited.
    /// A change of weights gives the kind's queued jobs new tags ([`super::tags::retag`]).
    pub(super) async fn set_limit_overrides(
        &self,
        kind: &str,
        overrides: &serde_json::Value,
    ) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let before = weights_of(&tx, kind).await?;
        let text = overrides.to_string();
        let n = tx
            .execute(
                "UPDATE specline_limits SET overrides = $2::text::jsonb, updated_at = now() WHERE kind = $1",
                &[&kind, &text],
            )
            .await?;
        if n == 1 && weights_of(&tx, kind).await? != before {
            super::tags::retag(&super::tags::Pooled(&tx), kind).await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }
}

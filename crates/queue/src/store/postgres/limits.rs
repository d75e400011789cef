//! Limits on PostgreSQL: the limited claim's statements ([`crate::limits::LimitStatements`])
//! in the claim's transaction, the kinds' declarations, and the operator's reads and
//! overrides.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use super::rows::fetched_from_row;
use super::PgStore;
use crate::error::{Error, Result};
use crate::job::FetchedJob;
use crate::limited_claim::{
    LimitRow, LimitStatements, PartitionClaim, PartitionScan, ReadyPartition, WalkStatements,
};
use crate::limits::gate::{take_token, GateStatements};
use crate::limits::{Bucket, Declared, LimitStatus, LimitValues, PartitionCounts, Rate};

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

impl<C: GenericClient> PgLimits<'_, C> {
    /// The partitions `walk` lists (with `$3` bound to `from`), read by partition_state.sql;
    /// whether each has a due job is looked up only when `check_due`.
    async fn partitions(
        &self,
        walk: &str,
        scan: &PartitionScan<'_>,
        from: &(dyn ToSql + Sync),
        check_due: bool,
    ) -> Result<Vec<ReadyPartition>> {
        let sql = format!("{walk}{}", include_str!("sql/partition_state.sql"));
        let stmt = self.c.prepare_cached(&sql).await?;
        let max = scan.max as i64;
        let rows = self
            .c
            .query(
                &stmt,
                &[
                    &scan.queue,
                    &scan.kind,
                    from,
                    &max,
                    &scan.now,
                    &scan.run,
                    &scan.buckets,
                    &check_due,
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| ReadyPartition {
                key: r.get(0),
                ready: r.get(1),
                running: 0,
                bucket: bucket(r.get(2), r.get(3)),
            })
            .collect())
    }
}

impl<C: GenericClient> LimitStatements for PgLimits<'_, C> {
    async fn lock_limit(&mut self, kind: &str) -> Result<Option<LimitRow>> {
        let stmt = self
            .c
            .prepare_cached(
                "WITH l AS (SELECT declared::text AS d, overrides::text AS o, cursor, tokens, refilled_at,
                                   cursor_carry
                            FROM specline_limits WHERE kind = $1 FOR UPDATE)
                 SELECT d, o, cursor, tokens, refilled_at, clock_timestamp(), cursor_carry FROM l",
            )
            .await?;
        let Some(r) = self.c.query_opt(&stmt, &[&kind]).await? else {
            return Ok(None);
        };
        let declared: LimitValues = json("declared limits", r.get(0))?;
        let overrides: serde_json::Value = json("limit overrides", r.get(1))?;
        Ok(Some(LimitRow {
            values: declared.with_overrides(&overrides),
            cursor: r.get(2),
            carry: u64::try_from(r.get::<_, i32>(6)).unwrap_or(0),
            bucket: bucket(r.get(3), r.get(4)),
            now: r.get(5),
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

impl<C: GenericClient> WalkStatements for PgLimits<'_, C> {
    async fn ready_partitions(&mut self, scan: &PartitionScan<'_>) -> Result<Vec<ReadyPartition>> {
        let (op, after) = match scan.after {
            Some(a) => (">", a),
            None => (">=", ""),
        };
        let walk = include_str!("sql/ready_partitions.sql").replace("{FIRST}", op);
        self.partitions(&walk, scan, &after, true).await
    }

    async fn hinted_partitions(
        &mut self,
        scan: &PartitionScan<'_>,
        keys: &[String],
    ) -> Result<Vec<ReadyPartition>> {
        let walk = include_str!("sql/hinted_partitions.sql");
        self.partitions(walk, scan, &keys, false).await
    }

    async fn claim_partitions(
        &mut self,
        claim: &PartitionClaim<'_>,
        picks: &[(String, i64)],
    ) -> Result<Vec<(String, FetchedJob)>> {
        let keys: Vec<&str> = picks.iter().map(|p| p.0.as_str()).collect();
        let ns: Vec<i64> = picks.iter().map(|p| p.1).collect();
        let stmt = self
            .c
            .prepare_cached(include_str!("sql/claim_partitions.sql"))
            .await?;
        let rows = self
            .c
            .query(
                &stmt,
                &[
                    &claim.queue,
                    &claim.kind,
                    &keys,
                    &ns,
                    &claim.now,
                    &claim.run,
                    &claim.worker,
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(10), fetched_from_row(r, claim.queue)))
            .collect())
    }

    async fn save_limit(
        &mut self,
        kind: &str,
        cursor: Option<&str>,
        carry: u64,
        bucket: Option<&Bucket>,
        throttled: bool,
    ) -> Result<()> {
        let stmt = self
            .c
            .prepare_cached(
                "UPDATE specline_limits
                 SET cursor = $2, tokens = $3, refilled_at = $4,
                     throttled = throttled + CASE WHEN $5 THEN 1 ELSE 0 END, cursor_carry = $6
                 WHERE kind = $1",
            )
            .await?;
        let tokens = bucket.map(|b| b.tokens);
        let at = bucket.map(|b| b.refilled_at);
        // At most MAX_WEIGHT.
        let carry = i32::try_from(carry).unwrap_or(i32::MAX);
        self.c
            .execute(&stmt, &[&kind, &cursor, &tokens, &at, &throttled, &carry])
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
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(
                "INSERT INTO specline_limits (kind, queues, declared) VALUES ($1, $2, $3::text::jsonb)
                 ON CONFLICT (kind) DO UPDATE
                 SET queues = EXCLUDED.queues, declared = EXCLUDED.declared, updated_at = now()
                 WHERE specline_limits.declared IS DISTINCT FROM EXCLUDED.declared
                    OR specline_limits.queues IS DISTINCT FROM EXCLUDED.queues",
            )
            .await?;
        for d in declared {
            let text =
                serde_json::to_string(&d.values).map_err(|e| Error::Corrupt(e.to_string()))?;
            c.execute(&stmt, &[&d.kind, &d.queues, &text]).await?;
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

    /// Delete at most `limit` bucket rows last refilled before `before`, as the leader.
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
        Ok(
            c.execute(&sql, &[&lease.holder, &lease.term, &before, &limit])
                .await?,
        )
    }

    /// Replace a kind's overrides (checked by the caller). False when no such kind is limited.
    pub(super) async fn set_limit_overrides(
        &self,
        kind: &str,
        overrides: &serde_json::Value,
    ) -> Result<bool> {
        let c = self.client().await?;
        let text = overrides.to_string();
        let n = c
            .execute(
                "UPDATE specline_limits SET overrides = $2::text::jsonb, updated_at = now() WHERE kind = $1",
                &[&kind, &text],
            )
            .await?;
        Ok(n == 1)
    }
}

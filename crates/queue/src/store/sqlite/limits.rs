//! Limits on SQLite: the limited claim's statements ([`crate::limits::LimitStatements`]) in
//! the claim's write transaction (`BEGIN IMMEDIATE`: one writer at a time, so the kind's row
//! needs no lock of its own), the kinds' declarations, and the operator's reads and overrides.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::time::{from_micros, micros};
use super::SqliteStore;
use crate::error::{Error, Result};
use crate::job::FetchedJob;
use crate::limited_claim::fair::{FairClock, FairEntry, FairPos, FairStatements, FairWindow};
use crate::limited_claim::{LimitRow, LimitStatements, PartitionClaim};
use crate::limits::gate::{take_token, GateStatements};
use crate::limits::{Bucket, Declared, LimitStatus, LimitValues, PartitionCounts, Rate};

/// The kind's weights as they apply now (declared, with the operator's overrides), if the
/// kind is declared.
fn weights_of(
    conn: &Connection,
    kind: &str,
) -> Result<Option<Option<std::collections::BTreeMap<String, u32>>>> {
    let row = conn
        .query_row(
            "SELECT declared, overrides FROM specline_limits WHERE kind = ?1",
            [kind],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )
        .optional()?;
    let Some((declared, overrides)) = row else {
        return Ok(None);
    };
    let declared: LimitValues = json("declared limits", &declared)?;
    let overrides: serde_json::Value = json("limit overrides", &overrides)?;
    Ok(Some(declared.with_overrides(&overrides).weights))
}

/// The limited claim's statements on the claim's transaction, at one `now` (microseconds).
pub(super) struct SqliteLimits<'a> {
    pub conn: &'a Connection,
    pub now: i64,
}

fn json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt(format!("{what}: {e}")))
}

fn bucket(tokens: Option<f64>, at: Option<i64>) -> Option<Bucket> {
    Some(Bucket {
        tokens: tokens?,
        refilled_at: from_micros(at?),
    })
}

/// A claimed job from `RETURNING id, kind, args, attempt, max_attempts, priority, created_at,
/// scheduled_at, metadata, run_id`.
pub(super) fn fetched(r: &rusqlite::Row<'_>, queue: &str) -> rusqlite::Result<FetchedJob> {
    Ok(FetchedJob {
        id: r.get(0)?,
        kind: r.get(1)?,
        queue: queue.to_string(),
        args: r.get(2)?,
        attempt: r.get(3)?,
        max_attempts: r.get(4)?,
        priority: r.get(5)?,
        created_at: from_micros(r.get(6)?),
        scheduled_at: from_micros(r.get(7)?),
        metadata: r.get(8)?,
        run_id: r.get(9)?,
        step_inputs: None,
    })
}

impl LimitStatements for SqliteLimits<'_> {
    async fn lock_limit(&mut self, kind: &str) -> Result<Option<LimitRow>> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT declared, overrides, tokens, refilled_at FROM specline_limits WHERE kind = ?1",
            )?
            .query_row([kind], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<f64>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                ))
            })
            .optional()?;
        let Some((declared, overrides, tokens, at)) = row else {
            return Ok(None);
        };
        let declared: LimitValues = json("declared limits", &declared)?;
        let overrides: serde_json::Value = json("limit overrides", &overrides)?;
        Ok(Some(LimitRow {
            values: declared.with_overrides(&overrides),
            bucket: bucket(tokens, at),
            now: from_micros(self.now),
        }))
    }

    async fn running(&mut self, kind: &str, limit: i64) -> Result<Vec<(i64, i32)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, attempt FROM specline_jobs
             WHERE kind = ?1 AND partition_key IS NOT NULL AND state = 'running' LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![kind, limit], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    async fn running_in(&mut self, kind: &str, keys: &[String]) -> Result<Vec<(String, i64, i32)>> {
        let keys = serde_json::to_string(keys).map_err(|e| Error::Corrupt(e.to_string()))?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT partition_key, id, attempt FROM specline_jobs
             WHERE kind = ?1 AND partition_key IN (SELECT value FROM json_each(?2))
               AND state = 'running'",
        )?;
        let rows = stmt.query_map(params![kind, keys], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    async fn save_partition_buckets(
        &mut self,
        kind: &str,
        buckets: &[(String, Bucket)],
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO specline_limit_partitions (kind, partition_key, tokens, refilled_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (kind, partition_key)
             DO UPDATE SET tokens = excluded.tokens, refilled_at = excluded.refilled_at",
        )?;
        for (key, b) in buckets {
            stmt.execute(params![kind, key, b.tokens, micros(b.refilled_at)])?;
        }
        Ok(())
    }
}

impl FairStatements for SqliteLimits<'_> {
    async fn fair_clock(&mut self, kind: &str) -> Result<FairClock> {
        let row = self
            .conn
            .prepare_cached("SELECT vtime, fair_cursor FROM specline_limits WHERE kind = ?1")?
            .query_row([kind], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
            })
            .optional()?;
        let Some((vtime, cursor)) = row else {
            return Ok(FairClock::default());
        };
        let cursor = cursor
            .map(|c| json::<FairPos>("fair cursor", &c))
            .transpose()?;
        Ok(FairClock { vtime, cursor })
    }

    async fn fair_window(&mut self, w: &FairWindow<'_>) -> Result<Vec<FairEntry>> {
        // Two statements rather than one with an optional bound, so that each is a plain
        // range of specline_jobs_fair (an `OR` on the bound would make SQLite scan it).
        let from = w.after.is_some();
        let sql = format!(
            "SELECT id, priority, fair_tag, partition_key FROM specline_jobs
             INDEXED BY specline_jobs_fair
             WHERE queue = ?1 AND kind = ?2 AND state IN ('available', 'scheduled', 'retryable')
               AND partition_key IS NOT NULL AND scheduled_at <= ?3
               AND (?4 IS NULL OR run_id = ?4) {}
             ORDER BY priority, fair_tag, id LIMIT ?5",
            if from {
                "AND (priority, fair_tag, id) > (?6, ?7, ?8)"
            } else {
                ""
            }
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let map = |r: &rusqlite::Row<'_>| {
            Ok(FairEntry {
                id: r.get(0)?,
                priority: r.get(1)?,
                tag: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                key: r.get(3)?,
            })
        };
        let (now, max) = (micros(w.now), w.max as i64);
        let rows = match w.after {
            Some((p, t, id)) => stmt
                .query_map(params![w.queue, w.kind, now, w.run, max, p, t, id], map)?
                .collect::<rusqlite::Result<Vec<_>>>()?,
            None => stmt
                .query_map(params![w.queue, w.kind, now, w.run, max], map)?
                .collect::<rusqlite::Result<Vec<_>>>()?,
        };
        Ok(rows)
    }

    async fn partition_buckets(
        &mut self,
        kind: &str,
        keys: &[String],
    ) -> Result<Vec<(String, Bucket)>> {
        let keys = serde_json::to_string(keys).map_err(|e| Error::Corrupt(e.to_string()))?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT partition_key, tokens, refilled_at FROM specline_limit_partitions
             WHERE kind = ?1 AND partition_key IN (SELECT value FROM json_each(?2))",
        )?;
        let rows = stmt.query_map(params![kind, keys], |r| {
            Ok((r.get::<_, String>(0)?, bucket(r.get(1)?, r.get(2)?)))
        })?;
        let mut out = Vec::new();
        for row in rows {
            if let (key, Some(b)) = row? {
                out.push((key, b));
            }
        }
        Ok(out)
    }

    async fn claim_ids(
        &mut self,
        claim: &PartitionClaim<'_>,
        ids: &[i64],
    ) -> Result<Vec<(String, FetchedJob)>> {
        let ids = serde_json::to_string(ids).map_err(|e| Error::Corrupt(e.to_string()))?;
        let mut stmt = self.conn.prepare_cached(
            "UPDATE specline_jobs
             SET state = 'running', attempt = attempt + 1, attempted_at = ?1,
                 attempted_by = json_insert(attempted_by, '$[#]', ?2)
             WHERE id IN (SELECT value FROM json_each(?4))
               AND state IN ('available', 'scheduled', 'retryable')
               AND NOT EXISTS (SELECT 1 FROM specline_queues q WHERE q.name = ?3 AND q.paused)
             RETURNING id, kind, args, attempt, max_attempts, priority, created_at,
                       scheduled_at, metadata, run_id, partition_key",
        )?;
        let rows = stmt.query_map(
            params![micros(claim.now), claim.worker, claim.queue, ids],
            |r| Ok((r.get::<_, String>(10)?, fetched(r, claim.queue)?)),
        )?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    async fn save_fair(
        &mut self,
        kind: &str,
        clock: &FairClock,
        bucket: Option<&Bucket>,
        throttled: bool,
    ) -> Result<()> {
        let cursor = clock
            .cursor
            .map(|c| serde_json::to_string(&c))
            .transpose()
            .map_err(|e| Error::Corrupt(e.to_string()))?;
        self.conn
            .prepare_cached(
                "UPDATE specline_limits
                 SET vtime = ?2, tokens = ?3, refilled_at = ?4, throttled = throttled + ?5,
                     fair_cursor = ?6
                 WHERE kind = ?1",
            )?
            .execute(params![
                kind,
                clock.vtime,
                bucket.map(|b| b.tokens),
                bucket.map(|b| micros(b.refilled_at)),
                i64::from(throttled),
                cursor,
            ])?;
        Ok(())
    }
}

impl GateStatements for SqliteLimits<'_> {
    async fn lock_gate(
        &mut self,
        name: &str,
        key: &str,
    ) -> Result<(Option<Bucket>, DateTime<Utc>)> {
        // The write transaction is the lock.
        let prev = self
            .conn
            .prepare_cached(
                "SELECT tokens, refilled_at FROM specline_limit_partitions
                 WHERE kind = ?1 AND partition_key = ?2",
            )?
            .query_row(params![name, key], |r| Ok(bucket(r.get(0)?, r.get(1)?)))
            .optional()?
            .flatten();
        Ok((prev, from_micros(self.now)))
    }

    async fn save_gate(&mut self, name: &str, key: &str, b: &Bucket) -> Result<()> {
        self.save_partition_buckets(name, &[(key.to_string(), *b)])
            .await
    }
}

impl SqliteStore {
    /// Take a token of a rate gate ([`crate::limits::gate`]) in its own write transaction.
    pub(super) async fn take_rate_token(
        &self,
        name: &str,
        key: &str,
        rate: &Rate,
    ) -> Result<Option<DateTime<Utc>>> {
        let (name, key, rate) = (name.to_string(), key.to_string(), *rate);
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut st = SqliteLimits {
                conn: &tx,
                now: super::time::now_us(),
            };
            let wait = futures::executor::block_on(take_token(&mut st, &name, &key, &rate))?;
            tx.commit()?;
            Ok(wait)
        })
        .await
    }

    /// Write the limits the code declares (one row per kind; the operator's overrides stay).
    pub(super) async fn declare_limits(&self, declared: &[Declared]) -> Result<()> {
        let rows: Vec<(String, String, String)> = declared
            .iter()
            .map(|d| {
                Ok((
                    d.kind.clone(),
                    serde_json::to_string(&d.queues).map_err(|e| Error::Corrupt(e.to_string()))?,
                    serde_json::to_string(&d.values).map_err(|e| Error::Corrupt(e.to_string()))?,
                ))
            })
            .collect::<Result<_>>()?;
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO specline_limits (kind, queues, declared, updated_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (kind) DO UPDATE SET queues = excluded.queues,
                       declared = excluded.declared, updated_at = excluded.updated_at
                     WHERE specline_limits.declared IS NOT excluded.declared
                        OR specline_limits.queues IS NOT excluded.queues",
                )?;
                for (kind, queues, text) in &rows {
                    // Jobs queued before the kind was first declared were tagged with
                    // every weight 1: weights declared now (or changed since) retag them.
                    let before = weights_of(&tx, kind)?;
                    stmt.execute(params![kind, queues, text, super::time::now_us()])?;
                    let after = weights_of(&tx, kind)?;
                    let changed = match (&before, &after) {
                        (None, Some(None)) => false,
                        _ => before != after,
                    };
                    if changed {
                        super::tags::retag(&tx, kind)?;
                    }
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await?;
        self.inner.limits.declare(declared);
        Ok(())
    }

    /// Every limited kind with its limits and its running and pending jobs.
    pub(super) async fn limit_statuses(&self) -> Result<Vec<LimitStatus>> {
        type Row = (
            String,
            String,
            String,
            i64,
            i64,
            i64,
            String,
            Option<f64>,
            Option<i64>,
        );
        let rows: Vec<Row> = self
            .with_conn(|conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT l.kind, l.declared, l.overrides, l.throttled,
                       (SELECT count(*) FROM specline_jobs j
                        WHERE j.kind = l.kind AND j.partition_key IS NOT NULL AND j.state = 'running'),
                       (SELECT count(*) FROM specline_jobs j
                        WHERE j.kind = l.kind AND j.partition_key IS NOT NULL
                          AND j.state IN ('available', 'scheduled', 'retryable')),
                       l.queues, l.tokens, l.refilled_at
                     FROM specline_limits l ORDER BY l.kind",
                )?;
                let rows = stmt.query_map([], |r| {
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
                    ))
                })?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .await?;
        rows.into_iter()
            .map(
                |(kind, declared, overrides, throttled, running, pending, queues, tokens, at)| {
                    let declared: LimitValues = json("declared limits", &declared)?;
                    let overrides: serde_json::Value = json("limit overrides", &overrides)?;
                    Ok(LimitStatus {
                        kind,
                        queues: json("limit queues", &queues)?,
                        bucket: bucket(tokens, at),
                        effective: declared.with_overrides(&overrides),
                        declared,
                        overrides,
                        throttled,
                        running,
                        pending,
                    })
                },
            )
            .collect()
    }

    /// The kind's partitions with the most unfinished jobs, with their counts.
    pub(super) async fn limit_partitions(
        &self,
        kind: &str,
        limit: usize,
    ) -> Result<Vec<PartitionCounts>> {
        let kind = kind.to_string();
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT partition_key, sum(state = 'running'), sum(state <> 'running')
                 FROM specline_jobs
                 WHERE kind = ?1 AND partition_key IS NOT NULL
                   AND state IN ('available', 'scheduled', 'retryable', 'running')
                 GROUP BY partition_key ORDER BY count(*) DESC, partition_key LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![kind, limit as i64], |r| {
                Ok(PartitionCounts {
                    key: r.get(0)?,
                    running: r.get(1)?,
                    pending: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// Delete at most `limit` bucket rows last refilled before `before`, and at most `limit`
    /// partitions' last tags that the virtual time has passed, as the leader.
    pub(super) async fn prune_limit_buckets(
        &self,
        lease: &crate::lease::Lease,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<u64> {
        self.as_leader(lease, move |tx, _now| {
            let n = tx.execute(
                "DELETE FROM specline_limit_partitions WHERE rowid IN (
                   SELECT rowid FROM specline_limit_partitions WHERE refilled_at < ?1 LIMIT ?2)",
                params![micros(before), limit as i64],
            )?;
            // A partition whose last tag the kind's virtual time has passed gets its next
            // tag from the virtual time, as one without a row does.
            let tags = tx.execute(
                "DELETE FROM specline_fair_tags WHERE (kind, partition_key) IN (
                   SELECT t.kind, t.partition_key FROM specline_fair_tags t
                   JOIN specline_limits l ON l.kind = t.kind
                   WHERE t.last_tag <= l.vtime LIMIT ?1)",
                params![limit as i64],
            )?;
            Ok((n + tags) as u64)
        })
        .await
    }

    /// Replace a kind's overrides (checked by the caller). False when no such kind is limited.
    /// A change of weights gives the kind's queued jobs new tags ([`super::tags::retag`]).
    pub(super) async fn set_limit_overrides(
        &self,
        kind: &str,
        overrides: &serde_json::Value,
    ) -> Result<bool> {
        let kind = kind.to_string();
        let text = overrides.to_string();
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let before = weights_of(&tx, &kind)?;
            let n = tx.execute(
                "UPDATE specline_limits SET overrides = ?2, updated_at = ?3 WHERE kind = ?1",
                params![kind, text, super::time::now_us()],
            )?;
            if n == 1 && weights_of(&tx, &kind)? != before {
                super::tags::retag(&tx, &kind)?;
            }
            tx.commit()?;
            Ok(n == 1)
        })
        .await
    }
}

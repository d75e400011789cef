//! Claiming due jobs (limited kinds first), with the `started` events of step jobs in the
//! same transaction.

use std::collections::HashMap;

use rusqlite::{params, Connection, TransactionBehavior};

use chrono::{DateTime, Utc};

use super::limits::{fetched, SqliteLimits};
use super::statements::SqliteStatements;
use super::time::now_us;
use crate::error::Result;
use crate::job::FetchedJob;
use crate::lifecycle;
use crate::limited_claim::fair::claim_fair_kinds;
use crate::limited_claim::ClaimedJob;
use crate::store::Wakeup;

/// What a claim took, and what the limited path found (when the queue has limited kinds).
pub(super) struct Claimed {
    pub jobs: Vec<FetchedJob>,
    pub wake: Vec<Wakeup>,
    pub limited: Option<LimitedFound>,
}

/// What limited kinds' claim found: whether a limit held jobs back, when a rate's tokens
/// return, whether it claimed anything, and the limited jobs it claimed.
pub(super) struct LimitedFound {
    pub throttled: bool,
    pub retry_at: Option<DateTime<Utc>>,
    pub claimed_any: bool,
    pub claimed: Vec<ClaimedJob>,
}

/// Claim up to `limit` due jobs of `queue` (of run `run`, if given) for `worker`: of the
/// limited `kinds` first, in fair order ([`claim_fair_kinds`], not counting this process's
/// finished jobs whose outcome is not committed yet, `released`), then jobs without limits.
pub(super) fn claim(
    conn: &mut Connection,
    queue: &str,
    worker: &str,
    limit: usize,
    run: Option<i64>,
    kinds: &[String],
    released: HashMap<String, Vec<(i64, i32)>>,
) -> Result<Claimed> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // The clock is read once the write lock is held, so the claims of processes sharing the
    // file are stamped (and refill rate buckets) in the order they run.
    let now = now_us();
    let (mut jobs, limited) = if kinds.is_empty() {
        (Vec::new(), None)
    } else {
        let mut st = SqliteLimits { conn: &tx, now };
        let got = futures::executor::block_on(claim_fair_kinds(
            &mut st, queue, kinds, worker, run, limit, released,
        ))?;
        let found = LimitedFound {
            throttled: got.throttled,
            retry_at: got.retry_at,
            claimed_any: !got.jobs.is_empty(),
            claimed: got.claimed,
        };
        (got.jobs, Some(found))
    };
    let left = limit.saturating_sub(jobs.len());
    if left > 0 {
        let mut stmt = tx.prepare_cached(
                    "UPDATE specline_jobs
                     SET state = 'running', attempt = attempt + 1, attempted_at = ?1,
                         attempted_by = json_insert(attempted_by, '$[#]', ?2)
                     WHERE id IN (
                       SELECT id FROM specline_jobs
                       WHERE queue = ?3 AND state IN ('available', 'scheduled', 'retryable')
                         AND scheduled_at <= ?1 AND partition_key IS NULL
                         AND (?5 IS NULL OR run_id = ?5)
                         AND NOT EXISTS (SELECT 1 FROM specline_queues q WHERE q.name = ?3 AND q.paused)
                       ORDER BY priority, scheduled_at, id
                       LIMIT ?4)
                     RETURNING id, kind, args, attempt, max_attempts, priority, created_at, scheduled_at, metadata, run_id",
                )?;
        let rows = stmt.query_map(params![now, worker, queue, left as i64, run], |r| {
            fetched(r, queue)
        })?;
        for job in rows {
            jobs.push(job?);
        }
    }
    // A step job's run and outputs come with it (the step need not read them again).
    super::attach_step_inputs(&tx, &mut jobs)?;
    let mut st = SqliteStatements::new(&tx, now);
    futures::executor::block_on(lifecycle::steps::claimed(&mut st, &jobs))?;
    let wake = std::mem::take(&mut st.wake);
    tx.commit()?;
    jobs.sort_by(|a, b| {
        (a.priority, a.scheduled_at, a.id).cmp(&(b.priority, b.scheduled_at, b.id))
    });
    Ok(Claimed {
        jobs,
        wake,
        limited,
    })
}

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
use crate::limited_claim::{claim_kinds, ClaimHints, KindHints};
use crate::store::Wakeup;

/// What a claim took, and what the limited path found (when the queue has limited kinds).
pub(super) struct Claimed {
    pub jobs: Vec<FetchedJob>,
    pub wake: Vec<Wakeup>,
    pub limited: Option<LimitedFound>,
}

/// What limited kinds' claim found: whether a limit held jobs back, when a rate's tokens
/// return, whether it claimed anything, and its jobs' partitions.
pub(super) struct LimitedFound {
    pub throttled: bool,
    pub retry_at: Option<DateTime<Utc>>,
    pub claimed_any: bool,
    /// How many jobs of limited kinds it claimed (see [`Parking`]).
    pub claimed: usize,
    pub hints: ClaimHints,
}

/// When a claim parks finished jobs of limited kinds (see migration 0010): a job in a final
/// state stays in `specline_jobs_fetch_limited` until parked, and every claim's per-partition
/// seek skips it (reading its row), so they are parked after [`Parking::AFTER_JOBS`] limited
/// claims or [`Parking::EVERY`], whichever comes first. Parking them in bulk removes many
/// entries of one partition with one leaf-page write, where removing each at its claim wrote
/// one page per job (a claim takes one job from each of hundreds of partitions).
pub(super) struct Parking {
    claimed: usize,
    at: std::time::Instant,
}

impl Default for Parking {
    fn default() -> Self {
        Parking {
            claimed: 0,
            at: std::time::Instant::now(),
        }
    }
}

impl Parking {
    /// Limited jobs claimed (by this process) before the next claim parks: a few finished
    /// entries per partition (with a thousand partitions), few enough for the seeks to skip.
    const AFTER_JOBS: usize = 8192;
    /// At most this long between parkings, so jobs finished elsewhere (cancelled, by another
    /// process) are parked too.
    const EVERY: std::time::Duration = std::time::Duration::from_secs(1);
    /// The most jobs one claim parks (the rest wait for the next one).
    const AT_MOST: i64 = 65_536;

    /// Whether the next claim parks; if so, the count starts again.
    pub fn due(&mut self) -> bool {
        if self.claimed >= Self::AFTER_JOBS || self.at.elapsed() >= Self::EVERY {
            *self = Parking::default();
            true
        } else {
            false
        }
    }

    /// Count a claim's limited jobs.
    pub fn claimed(&mut self, n: usize) {
        self.claimed = self.claimed.saturating_add(n);
    }
}

/// Park up to [`Parking::AT_MOST`] finished jobs of limited kinds, oldest ids first: take
/// them out of the partition-ordered fetch index in one statement (a trigger puts a parked
/// job back when its state leaves the final ones).
pub(super) fn park_finished(conn: &Connection) -> Result<usize> {
    let n = conn
        .prepare_cached(
            "UPDATE specline_jobs SET parked = 1 WHERE id IN (
               SELECT id FROM specline_jobs INDEXED BY specline_jobs_to_park
               WHERE partition_key IS NOT NULL AND parked IS NULL
                 AND state IN ('completed', 'cancelled', 'discarded')
               ORDER BY id LIMIT ?1)",
        )?
        .execute([Parking::AT_MOST])?;
    Ok(n)
}

/// Claim up to `limit` due jobs of `queue` (of run `run`, if given) for `worker`: of the
/// limited `kinds` first ([`claim_kinds`], with the partitions this process's completions
/// freed, `hints`), then jobs without limits; first parking finished jobs if `park`.
#[allow(clippy::too_many_arguments)]
pub(super) fn claim(
    conn: &mut Connection,
    queue: &str,
    worker: &str,
    limit: usize,
    run: Option<i64>,
    kinds: &[String],
    hints: HashMap<String, KindHints>,
    park: bool,
) -> Result<Claimed> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // The clock is read once the write lock is held, so the claims of processes sharing the
    // file are stamped (and refill rate buckets) in the order they run.
    let now = now_us();
    if park {
        park_finished(&tx)?;
    }
    let (mut jobs, limited) = if kinds.is_empty() {
        (Vec::new(), None)
    } else {
        let mut st = SqliteLimits { conn: &tx, now };
        let got = futures::executor::block_on(claim_kinds(
            &mut st, queue, kinds, worker, run, limit, hints,
        ))?;
        let found = LimitedFound {
            throttled: got.throttled,
            retry_at: got.retry_at,
            claimed_any: !got.jobs.is_empty(),
            claimed: got.jobs.len(),
            hints: got.hints,
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

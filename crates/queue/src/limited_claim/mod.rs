//! The claim of a limited kind, decided once for both drivers: in fair order ([`fair`]),
//! over the drivers' [`LimitStatements`] and [`fair::FairStatements`].
//!
//! Inside the driver's claim transaction: lock the kind's row (claims of one kind queue up
//! here, so none sees a count another is about to change), count its running jobs up to the
//! limit (this process's finished jobs whose outcome is not committed yet do not count,
//! [`released`]), refill its bucket, read the queued jobs in fair order taking those whose
//! partition may start one, claim them, and write the virtual time and the buckets back.
//! Nothing is counted on the way out of `running`: the counts are the jobs' own states, so
//! a completion, retry, cancel or rescue frees its slot by changing state.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::job::FetchedJob;
use crate::limits::bucket::{self, Bucket};
use crate::limits::LimitValues;
pub use throttled::CLAIMS_THROTTLED_TOTAL;

pub mod fair;
mod local;
mod released;
pub mod tags;
mod throttled;

pub(crate) use local::Local;
pub use released::ClaimedJob;

/// A limited kind's row, locked for the rest of the transaction.
#[derive(Debug, Clone)]
pub struct LimitRow {
    /// The declared values with the operator's overrides applied.
    pub values: LimitValues,
    /// The global rate's bucket, if it was ever used.
    pub bucket: Option<Bucket>,
    /// The database's clock, read after the lock was granted.
    pub now: DateTime<Utc>,
}

/// The jobs a claim takes, for this worker, at `now`.
#[derive(Debug, Clone, Copy)]
pub struct PartitionClaim<'a> {
    pub queue: &'a str,
    pub kind: &'a str,
    pub worker: &'a str,
    pub run: Option<i64>,
    pub now: DateTime<Utc>,
}

/// The statements a driver offers for the limited claim, inside its claim transaction.
#[allow(async_fn_in_trait)]
pub trait LimitStatements {
    /// The kind's limits row, locked until the transaction ends; `None` when no worker
    /// declared the kind (it is then not claimed by the limited path).
    async fn lock_limit(&mut self, kind: &str) -> Result<Option<LimitRow>>;

    /// Up to `limit` of the kind's running jobs, as `(job id, attempt)`.
    async fn running(&mut self, kind: &str, limit: i64) -> Result<Vec<(i64, i32)>>;

    /// The running jobs of the kind's partitions `keys`, as `(key, job id, attempt)`.
    async fn running_in(&mut self, kind: &str, keys: &[String]) -> Result<Vec<(String, i64, i32)>>;

    /// Write partitions' rate buckets.
    async fn save_partition_buckets(
        &mut self,
        kind: &str,
        buckets: &[(String, Bucket)],
    ) -> Result<()>;
}

/// What one kind's claim did.
#[derive(Debug, Default)]
pub struct KindClaim {
    pub jobs: Vec<FetchedJob>,
    /// A rate limit held jobs back: when its tokens return.
    pub retry_at: Option<DateTime<Utc>>,
    /// A limit (concurrency or rate, global or per partition) held due jobs back.
    pub throttled: bool,
    /// The limited jobs claimed, for this process's released slots.
    pub claimed: Vec<ClaimedJob>,
}

impl KindClaim {
    /// Add another kind's claim to this one.
    pub(crate) fn merge(&mut self, got: KindClaim) {
        self.jobs.extend(got.jobs);
        self.claimed.extend(got.claimed);
        self.throttled |= got.throttled;
        self.retry_at = match (self.retry_at, got.retry_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// What a partition met by the claim may start now: its free slots (under `per_partition`,
/// `running` leaving out this process's finished jobs), within its rate bucket (refilled,
/// and kept in `buckets` to be written back); a limit that holds it back is noted in `out`.
pub(crate) fn free_slots(
    v: &LimitValues,
    key: &str,
    running: i64,
    stored: Option<Bucket>,
    now: DateTime<Utc>,
    out: &mut KindClaim,
    buckets: &mut Vec<(String, Bucket)>,
) -> u64 {
    let mut free = match v.per_partition {
        Some(limit) => u64::try_from(i64::from(limit) - running).unwrap_or(0),
        None => u64::MAX,
    };
    if let Some(rate) = &v.partition_rate {
        let b = bucket::refill(rate, stored, now);
        if b.available() < free {
            let at = b.ready_at(rate);
            out.retry_at = Some(out.retry_at.map_or(at, |r| r.min(at)));
        }
        free = free.min(b.available());
        buckets.push((key.to_string(), b));
    }
    if free == 0 {
        out.throttled = true;
    }
    free
}

/// What the kind's global limits leave of a claim of `want`: the global concurrency (not
/// counting this process's finished jobs, `released`) and the global rate's bucket, refilled
/// (returned with its rate, to take the claimed jobs' tokens from); when the rate holds jobs
/// back, `out.retry_at` says when its tokens return.
pub(crate) async fn kind_budget<S: LimitStatements>(
    st: &mut S,
    kind: &str,
    row: &LimitRow,
    want: usize,
    released: &HashSet<(i64, i32)>,
    out: &mut KindClaim,
) -> Result<(u64, Option<(crate::limits::Rate, Bucket)>)> {
    let v = &row.values;
    let mut budget = want as u64;
    if let Some(limit) = v.concurrency {
        // The first `limit` + released rows hold `limit` others if there are that many.
        let rows = st
            .running(kind, i64::from(limit) + released.len() as i64)
            .await?;
        let running = rows.iter().filter(|r| !released.contains(*r)).count() as i64;
        budget = budget.min(u64::try_from(i64::from(limit) - running).unwrap_or(0));
    }
    let global = v.rate.map(|r| (r, bucket::refill(&r, row.bucket, row.now)));
    if let Some((rate, b)) = &global {
        if b.available() < budget {
            out.retry_at = Some(b.ready_at(rate));
        }
        budget = budget.min(b.available());
    }
    Ok((budget, global))
}

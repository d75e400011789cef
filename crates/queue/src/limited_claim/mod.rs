//! The claim of a limited kind, decided once for both drivers over [`LimitStatements`].
//!
//! Inside the driver's claim transaction: lock the kind's row (claims of one kind queue up
//! here, so none sees a count another is about to change), count its running jobs up to the
//! limit, refill its bucket, walk the partitions with due jobs round-robin from the cursor,
//! hand out starts ([`crate::limits::plan::allocate`]), claim them, and write the cursor and the
//! buckets back. Nothing is counted on the way out of `running`: the counts are the jobs'
//! own states, so a completion, retry, cancel or rescue frees its slot by changing state.

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::job::FetchedJob;
use crate::limits::bucket::{self, Bucket};
use crate::limits::plan::{allocate, Visit};
use crate::limits::LimitValues;

mod local;

pub(crate) use local::Local;

/// A limited kind's row, locked for the rest of the transaction.
#[derive(Debug, Clone)]
pub struct LimitRow {
    /// The declared values with the operator's overrides applied.
    pub values: LimitValues,
    /// The last partition served.
    pub cursor: Option<String>,
    /// The global rate's bucket, if it was ever used.
    pub bucket: Option<Bucket>,
    /// The database's clock, read after the lock was granted.
    pub now: DateTime<Utc>,
}

/// A partition with due jobs, as a claim's walk finds it.
#[derive(Debug, Clone)]
pub struct ReadyPartition {
    pub key: String,
    /// Whether it has a due job now (a partition with only later jobs is walked past).
    pub ready: bool,
    /// Its running jobs, counted up to the scan's `running_cap`.
    pub running: i64,
    /// Its rate bucket, when the scan asked for buckets and the partition has one.
    pub bucket: Option<Bucket>,
}

/// What [`LimitStatements::ready_partitions`] walks.
#[derive(Debug, Clone, Copy)]
pub struct PartitionScan<'a> {
    pub queue: &'a str,
    pub kind: &'a str,
    pub run: Option<i64>,
    /// Start strictly after this key; `None`: from the first key.
    pub after: Option<&'a str>,
    /// Most partitions returned.
    pub max: usize,
    pub now: DateTime<Utc>,
    /// Count running jobs up to this many (0: do not count).
    pub running_cap: i64,
    /// Read each partition's rate bucket.
    pub buckets: bool,
}

/// The jobs a claim takes: these partitions, this many each, for this worker.
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

    /// The kind's running jobs, counted up to `cap`.
    async fn running(&mut self, kind: &str, cap: i64) -> Result<i64>;

    /// Partitions of the kind with pending jobs in the queue, in key order strictly after
    /// `scan.after`, at most `scan.max`, each with whether it has a due job (of the run, if
    /// given): a loose index scan that reads one index entry per partition, never a
    /// partition's queued jobs.
    async fn ready_partitions(&mut self, scan: &PartitionScan<'_>) -> Result<Vec<ReadyPartition>>;

    /// Claim up to `n` due jobs of each partition `(key, n)`, in the partition's fetch order
    /// (priority, scheduled_at, id), skipping locked rows, unless the queue is paused; the
    /// start time is `claim.now`.
    async fn claim_partitions(
        &mut self,
        claim: &PartitionClaim<'_>,
        picks: &[(String, i64)],
    ) -> Result<Vec<(String, FetchedJob)>>;

    /// Write the kind's cursor and global bucket; count a throttled claim when `throttled`.
    async fn save_limit(
        &mut self,
        kind: &str,
        cursor: Option<&str>,
        bucket: Option<&Bucket>,
        throttled: bool,
    ) -> Result<()>;

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
}

/// Partitions read per statement of the walk.
const SCAN_BATCH: usize = 256;
/// Partitions a claim may visit beyond one per start it may make: partitions still at their
/// limit are walked past, and a claim stops after this many of them (the next one goes on
/// from its cursor), so its cost follows what it claims, not the number of partitions.
const SLACK: usize = 64;

/// Claim up to `want` jobs of the limited `kind` in `queue` for `worker`.
pub async fn claim_kind<S: LimitStatements>(
    st: &mut S,
    queue: &str,
    kind: &str,
    worker: &str,
    run: Option<i64>,
    want: usize,
) -> Result<KindClaim> {
    let Some(row) = st.lock_limit(kind).await? else {
        return Ok(KindClaim::default());
    };
    let now = row.now;
    let v = &row.values;
    let mut out = KindClaim::default();
    let mut budget = want as u64;
    if let Some(limit) = v.concurrency {
        let running = st.running(kind, i64::from(limit)).await?;
        budget = budget.min(u64::try_from(i64::from(limit) - running).unwrap_or(0));
    }
    let mut global = v.rate.map(|r| (r, bucket::refill(&r, row.bucket, now)));
    if let Some((rate, b)) = &global {
        if b.available() < budget {
            out.retry_at = Some(b.ready_at(rate));
        }
        budget = budget.min(b.available());
    }
    if budget == 0 {
        out.throttled = true;
        let b = global.as_ref().map(|g| &g.1);
        st.save_limit(kind, row.cursor.as_deref(), b, true).await?;
        return Ok(out);
    }

    // Walk the partitions with due jobs from the cursor, wrapping once, until their free
    // slots cover the budget, visiting at most one partition per start it may make plus
    // `SLACK`.
    let max_visits = (budget as usize).saturating_add(SLACK);
    let running_cap = v.per_partition.map(i64::from).unwrap_or(0);
    let mut visits: Vec<Visit> = Vec::new();
    let mut buckets: Vec<(String, Bucket)> = Vec::new();
    let mut covered: u64 = 0;
    let mut visited = 0usize;
    let start = row.cursor.clone();
    let mut after = start.clone();
    let mut wrapped = start.is_none();
    'walk: loop {
        let scan = PartitionScan {
            queue,
            kind,
            run,
            after: after.as_deref(),
            max: SCAN_BATCH.min(max_visits - visited).max(1),
            now,
            running_cap,
            buckets: v.partition_rate.is_some(),
        };
        let batch = st.ready_partitions(&scan).await?;
        let full = batch.len() == scan.max;
        for p in batch {
            if covered >= budget || visited >= max_visits {
                break 'walk;
            }
            if wrapped && start.as_deref().is_some_and(|s| p.key.as_str() > s) {
                break 'walk;
            }
            after = Some(p.key.clone());
            visited += 1;
            if !p.ready {
                continue;
            }
            let mut free = match v.per_partition {
                Some(limit) => u64::try_from(i64::from(limit) - p.running).unwrap_or(0),
                None => budget,
            };
            if let Some(rate) = &v.partition_rate {
                let b = bucket::refill(rate, p.bucket, now);
                if b.available() < free {
                    let at = b.ready_at(rate);
                    out.retry_at = Some(out.retry_at.map_or(at, |r| r.min(at)));
                }
                free = free.min(b.available());
                buckets.push((p.key.clone(), b));
            }
            if free == 0 {
                out.throttled = true;
            } else {
                covered = covered.saturating_add(free);
                visits.push(Visit { key: p.key, free });
            }
        }
        if !full {
            if wrapped {
                break;
            }
            wrapped = true;
            after = None;
        }
    }

    let picks: Vec<(String, i64)> = allocate(&visits, budget)
        .into_iter()
        .map(|(k, n)| (k, n as i64))
        .collect();
    let claim = PartitionClaim {
        queue,
        kind,
        worker,
        run,
        now,
    };
    let claimed = if picks.is_empty() {
        Vec::new()
    } else {
        st.claim_partitions(&claim, &picks).await?
    };
    // The cursor moves to the last partition served, in walk order.
    let cursor = picks
        .iter()
        .rev()
        .find(|(k, _)| claimed.iter().any(|(p, _)| p == k))
        .map(|(k, _)| k.clone())
        .or(row.cursor.clone());
    if let Some((_, b)) = &mut global {
        b.take(claimed.len() as u64);
    }
    if !buckets.is_empty() {
        for (key, b) in &mut buckets {
            b.take(claimed.iter().filter(|(p, _)| p == key).count() as u64);
        }
        st.save_partition_buckets(kind, &buckets).await?;
    }
    // The global concurrency or rate left due jobs waiting.
    out.throttled |= budget < want as u64 && covered >= budget;
    st.save_limit(
        kind,
        cursor.as_deref(),
        global.as_ref().map(|g| &g.1),
        out.throttled,
    )
    .await?;
    out.jobs = claimed.into_iter().map(|(_, j)| j).collect();
    Ok(out)
}

/// Claim up to `want` jobs over the limited `kinds` of `queue`, kind by kind (name order),
/// while the claim has room.
pub async fn claim_kinds<S: LimitStatements>(
    st: &mut S,
    queue: &str,
    kinds: &[String],
    worker: &str,
    run: Option<i64>,
    want: usize,
) -> Result<KindClaim> {
    let mut out = KindClaim::default();
    for kind in kinds {
        let left = want.saturating_sub(out.jobs.len());
        if left == 0 {
            break;
        }
        let got = claim_kind(st, queue, kind, worker, run, left).await?;
        out.jobs.extend(got.jobs);
        out.throttled |= got.throttled;
        out.retry_at = match (out.retry_at, got.retry_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(out)
}

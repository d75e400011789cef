//! The claim of a limited kind by partition walk, decided once over [`WalkStatements`]
//! (PostgreSQL); SQLite claims in fair order ([`fair`]).
//!
//! Inside the driver's claim transaction: lock the kind's row (claims of one kind queue up
//! here, so none sees a count another is about to change), count its running jobs up to the
//! limit, refill its bucket, walk the partitions with due jobs round-robin from the cursor,
//! probe the partitions this process's finished jobs freed ([`hints`]; its own finished jobs
//! whose outcome is not committed yet do not count as running), hand out starts ([`crate::limits::plan::allocate`]), claim them, and write the cursor and the
//! buckets back. Nothing is counted on the way out of `running`: the counts are the jobs'
//! own states, so a completion, retry, cancel or rescue frees its slot by changing state.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::job::FetchedJob;
use crate::limits::bucket::{self, Bucket};
use crate::limits::plan::{allocate, Allocation, Visit};
use crate::limits::LimitValues;
pub use throttled::CLAIMS_THROTTLED_TOTAL;

pub mod fair;
mod hints;
mod local;
mod throttled;

pub use hints::{ClaimHints, KindHints};
pub(crate) use local::Local;

/// A limited kind's row, locked for the rest of the transaction.
#[derive(Debug, Clone)]
pub struct LimitRow {
    /// The declared values with the operator's overrides applied.
    pub values: LimitValues,
    /// The last partition served.
    pub cursor: Option<String>,
    /// Starts of the cursor's partition's pass that the last claim's budget did not reach
    /// (weighted fairness; 0 when its pass was done).
    pub carry: u64,
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
    /// Its running jobs, leaving out this process's finished ones (filled in by the claim
    /// from [`LimitStatements::running_in`]; the drivers' reads leave it 0).
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

/// The statements of the partition walk ([`claim_kind`]), beside [`LimitStatements`].
#[allow(async_fn_in_trait)]
pub trait WalkStatements: LimitStatements {
    /// Partitions of the kind with pending jobs in the queue, in key order strictly after
    /// `scan.after`, at most `scan.max`, each with whether it has a due job (of the run, if
    /// given): a loose index scan that reads one index entry per partition, never a
    /// partition's queued jobs.
    async fn ready_partitions(&mut self, scan: &PartitionScan<'_>) -> Result<Vec<ReadyPartition>>;

    /// The partitions `keys`, in `keys` order, read as [`Self::ready_partitions`] reads the
    /// ones it walks (`scan.after` is not used), except that each is taken as `ready`
    /// without looking for a due job: a hint comes from a job that just ended there, so
    /// most have one, and [`Self::claim_partitions`] finds none where there is none (the
    /// start it was handed is lost to this claim only).
    async fn hinted_partitions(
        &mut self,
        scan: &PartitionScan<'_>,
        keys: &[String],
    ) -> Result<Vec<ReadyPartition>>;

    /// Claim up to `n` due jobs of each partition `(key, n)`, in the partition's fetch order
    /// (priority, scheduled_at, id), skipping locked rows, unless the queue is paused; the
    /// start time is `claim.now`.
    async fn claim_partitions(
        &mut self,
        claim: &PartitionClaim<'_>,
        picks: &[(String, i64)],
    ) -> Result<Vec<(String, FetchedJob)>>;

    /// Write the kind's cursor (with the starts left of its partition's pass) and global
    /// bucket; count a throttled claim when `throttled`.
    async fn save_limit(
        &mut self,
        kind: &str,
        cursor: Option<&str>,
        carry: u64,
        bucket: Option<&Bucket>,
        throttled: bool,
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
    /// The claimed jobs' partitions and the hints left unused, for the next claim.
    pub hints: ClaimHints,
}

impl KindClaim {
    /// Add another kind's claim to this one.
    pub(crate) fn merge(&mut self, got: KindClaim) {
        self.jobs.extend(got.jobs);
        self.hints.placed.extend(got.hints.placed);
        self.hints.unserved.extend(got.hints.unserved);
        self.throttled |= got.throttled;
        self.retry_at = match (self.retry_at, got.retry_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// Partitions read per statement of the walk.
const SCAN_BATCH: usize = 256;
/// Partitions a claim without hints may visit beyond one per start it may make: partitions
/// still at their limit are walked past, and a claim stops after this many of them (the next
/// one goes on from its cursor).
const SLACK: usize = 64;
/// The fewest partitions a claim with hints walks from the cursor; it walks one per
/// `HINTS_PER_WALKED` hints beyond that, so the walk costs a fraction of the hinted probes
/// and the claim's cost follows the jobs it claims rather than the number of partitions.
/// The walk finds what hints cannot: partitions freed by other processes or by rescues, and
/// new jobs in idle partitions; a partition is reached within (partitions / `MIN_WALK`)
/// claims.
const MIN_WALK: usize = 8;
const HINTS_PER_WALKED: usize = 8;

/// Fill in the running jobs of the ready partitions of `batch` (when the kind has a
/// per-partition limit), leaving out this process's finished jobs (`released`).
async fn count_running<S: LimitStatements>(
    st: &mut S,
    kind: &str,
    v: &LimitValues,
    released: &HashSet<(i64, i32)>,
    batch: &mut [ReadyPartition],
) -> Result<()> {
    if v.per_partition.is_none() {
        return Ok(());
    }
    let keys: Vec<String> = batch
        .iter()
        .filter(|p| p.ready)
        .map(|p| p.key.clone())
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    let mut counts: HashMap<String, i64> = HashMap::new();
    for (key, id, attempt) in st.running_in(kind, &keys).await? {
        if !released.contains(&(id, attempt)) {
            *counts.entry(key).or_default() += 1;
        }
    }
    for p in batch.iter_mut() {
        p.running = counts.get(&p.key).copied().unwrap_or(0);
    }
    Ok(())
}

/// What a partition met by the claim may start now: `None` when it has no due job; its rate
/// bucket (refilled) is kept in `buckets` and a limit that held it back is noted in `out`.
pub(crate) fn free_slots(
    v: &LimitValues,
    p: ReadyPartition,
    now: DateTime<Utc>,
    out: &mut KindClaim,
    buckets: &mut Vec<(String, Bucket)>,
) -> Option<Visit> {
    if !p.ready {
        return None;
    }
    let mut free = match v.per_partition {
        Some(limit) => u64::try_from(i64::from(limit) - p.running).unwrap_or(0),
        None => u64::MAX,
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
        return None;
    }
    let weight = v.weight_of(&p.key);
    Some(Visit::new(p.key, free, weight))
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

/// Claim up to `want` jobs of the limited `kind` in `queue` for `worker`, looking first
/// (after a short walk from the cursor) at the partitions in `hints`, which this process's
/// finished jobs freed, not counting its finished jobs whose outcome is not committed yet.
///
/// Fairness: the walk from the cursor comes first in the hand-out, so a partition waiting
/// for its turn is served before a hinted one when the budget is short; the cursor moves to
/// the last partition the walk reached when the budget covered every partition it met (the
/// ones at their limit had their turn), else to the last one served. Weights: a pass gives
/// each partition up to its weight ([`crate::limits::plan::allocate`]); a pass the budget cut
/// short is carried with the cursor, so claims of one job serve a partition of weight 3
/// three times in a row, as one claim of three would.
pub async fn claim_kind<S: WalkStatements>(
    st: &mut S,
    queue: &str,
    kind: &str,
    worker: &str,
    run: Option<i64>,
    want: usize,
    hints: KindHints,
) -> Result<KindClaim> {
    let KindHints {
        freed: hints,
        released,
    } = hints;
    let released: HashSet<(i64, i32)> = released.into_iter().collect();
    let Some(row) = st.lock_limit(kind).await? else {
        return Ok(KindClaim::default());
    };
    let now = row.now;
    let v = &row.values;
    let mut out = KindClaim::default();
    let (budget, mut global) = kind_budget(st, kind, &row, want, &released, &mut out).await?;
    if budget == 0 {
        out.throttled = true;
        throttled::claim_throttled(queue, kind);
        let b = global.as_ref().map(|g| &g.1);
        st.save_limit(kind, row.cursor.as_deref(), row.carry, b, true)
            .await?;
        // The hints are still good for the next claim.
        out.hints.unserved = hints.into_iter().map(|k| (kind.to_string(), k)).collect();
        return Ok(out);
    }

    // Walk the partitions with due jobs from the cursor, wrapping once, until their free
    // slots cover the budget, visiting at most one partition per start it may make plus
    // `SLACK` (with hints: `MIN_WALK` plus one per `HINTS_PER_WALKED` hints).
    let max_visits = if hints.is_empty() {
        (budget as usize).saturating_add(SLACK)
    } else {
        (MIN_WALK + hints.len() / HINTS_PER_WALKED).min((budget as usize).saturating_add(SLACK))
    };
    let mut visits: Vec<Visit> = Vec::new();
    let mut buckets: Vec<(String, Bucket)> = Vec::new();
    let mut walked: HashSet<String> = HashSet::new();
    let mut covered: u64 = 0;
    // A weighted partition whose pass the last claim cut short gets the rest of it first.
    if let (Some(key), true) = (&row.cursor, row.carry > 0) {
        let scan = PartitionScan {
            queue,
            kind,
            run,
            after: None,
            max: 1,
            now,
            buckets: v.partition_rate.is_some(),
        };
        let mut carried = st
            .hinted_partitions(&scan, std::slice::from_ref(key))
            .await?;
        count_running(st, kind, v, &released, &mut carried).await?;
        walked.insert(key.clone());
        for p in carried {
            if let Some(mut visit) = free_slots(v, p, now, &mut out, &mut buckets) {
                visit.first = visit.first.min(row.carry);
                covered = covered.saturating_add(visit.free.min(visit.first));
                visits.push(visit);
            }
        }
    }
    let start = row.cursor.clone();
    let mut after = start.clone();
    let mut wrapped = start.is_none();
    'walk: loop {
        let scan = PartitionScan {
            queue,
            kind,
            run,
            after: after.as_deref(),
            max: SCAN_BATCH.min(max_visits - walked.len()).max(1),
            now,
            buckets: v.partition_rate.is_some(),
        };
        let mut batch = st.ready_partitions(&scan).await?;
        count_running(st, kind, v, &released, &mut batch).await?;
        let full = batch.len() == scan.max;
        for p in batch {
            if covered >= budget || walked.len() >= max_visits {
                break 'walk;
            }
            if wrapped && start.as_deref().is_some_and(|s| p.key.as_str() > s) {
                break 'walk;
            }
            after = Some(p.key.clone());
            if !walked.insert(p.key.clone()) {
                // The carried partition, met again at the end of the wrap.
                continue;
            }
            if let Some(visit) = free_slots(v, p, now, &mut out, &mut buckets) {
                covered = covered.saturating_add(visit.free.min(visit.first));
                visits.push(visit);
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
    // The walk met only partitions it could serve in full: all had their turn.
    let walk_end = (covered < budget).then(|| after.clone()).flatten();
    let walk_visits = visits.len();

    // Then the hinted partitions the walk did not meet, probed by key.
    let mut seen: HashSet<&str> = HashSet::new();
    let hinted: Vec<String> = hints
        .iter()
        .filter(|k| !walked.contains(*k) && seen.insert(k.as_str()))
        .cloned()
        .collect();
    if covered < budget && !hinted.is_empty() {
        let scan = PartitionScan {
            queue,
            kind,
            run,
            after: None,
            max: hinted.len(),
            now,
            buckets: v.partition_rate.is_some(),
        };
        let mut hp = st.hinted_partitions(&scan, &hinted).await?;
        count_running(st, kind, v, &released, &mut hp).await?;
        for p in hp {
            if let Some(visit) = free_slots(v, p, now, &mut out, &mut buckets) {
                covered = covered.saturating_add(visit.free.min(visit.first));
                visits.push(visit);
            }
        }
    }

    let Allocation { given, carry } = allocate(&visits, budget);
    let picks: Vec<(String, i64)> = given.iter().map(|(k, n)| (k.clone(), *n as i64)).collect();
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
    // Hinted partitions with a free slot the budget did not reach stay hints.
    for visit in &visits[walk_visits..] {
        let n = given
            .iter()
            .find(|(k, _)| *k == visit.key)
            .map_or(0, |g| g.1);
        if n < visit.free.min(budget) {
            out.hints
                .unserved
                .push((kind.to_string(), visit.key.clone()));
        }
    }
    // The cursor moves past the walk when the budget covered it, else to the last partition
    // of the walk served.
    let walk_keys: HashSet<&str> = visits[..walk_visits]
        .iter()
        .map(|v| v.key.as_str())
        .collect();
    // A weighted partition of the walk whose pass the budget cut short (and that got every
    // start it was handed) keeps the cursor, with the rest of its pass.
    let carried = carry
        .filter(|(i, _)| *i < walk_visits)
        .map(|(i, unused)| (&visits[i].key, unused))
        .filter(|(key, _)| {
            let handed = given.iter().find(|(k, _)| k == *key).map_or(0, |g| g.1);
            claimed.iter().filter(|(p, _)| p == *key).count() as u64 == handed
        });
    let carry_left = carried.map_or(0, |c| c.1);
    let cursor = carried
        .map(|(key, _)| key.clone())
        .or(walk_end)
        .or_else(|| {
            picks
                .iter()
                .rev()
                .filter(|(k, _)| walk_keys.contains(k.as_str()))
                .find(|(k, _)| claimed.iter().any(|(p, _)| p == k))
                .map(|(k, _)| k.clone())
        })
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
    let handed: u64 = given.iter().map(|g| g.1).sum();
    out.throttled |= budget < want as u64 && handed >= budget;
    if out.throttled {
        throttled::claim_throttled(queue, kind);
    }
    st.save_limit(
        kind,
        cursor.as_deref(),
        carry_left,
        global.as_ref().map(|g| &g.1),
        out.throttled,
    )
    .await?;
    out.hints.placed = claimed
        .iter()
        .map(|(key, job)| (job.id, job.attempt, kind.to_string(), key.clone()))
        .collect();
    out.jobs = claimed.into_iter().map(|(_, j)| j).collect();
    Ok(out)
}

/// Claim up to `want` jobs over the limited `kinds` of `queue`, kind by kind (name order),
/// while the claim has room, with the partitions this process's finished jobs freed (`hints`,
/// by kind; those of kinds not reached are handed back in the result).
pub async fn claim_kinds<S: WalkStatements>(
    st: &mut S,
    queue: &str,
    kinds: &[String],
    worker: &str,
    run: Option<i64>,
    want: usize,
    mut hints: HashMap<String, KindHints>,
) -> Result<KindClaim> {
    let mut out = KindClaim::default();
    for kind in kinds {
        let left = want.saturating_sub(out.jobs.len());
        if left == 0 {
            break;
        }
        let mine = hints.remove(kind).unwrap_or_default();
        let got = claim_kind(st, queue, kind, worker, run, left, mine).await?;
        out.merge(got);
    }
    for (kind, h) in hints {
        out.hints
            .unserved
            .extend(h.freed.into_iter().map(|k| (kind.clone(), k)));
    }
    Ok(out)
}

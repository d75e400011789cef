//! The fair-order claim of a limited kind: queued jobs read in virtual start tag order,
//! decided once over [`FairStatements`].
//!
//! **Tags.** A job of a limited kind gets a tag when it is inserted ([`super::tags`]): its
//! partition's last tag or the kind's virtual time, whichever is later, plus the partition's
//! step, a unit divided by its weight (start-time fair queuing). The kind's virtual
//! time is the latest tag a claim took. Read in `(priority, tag, id)` order the queued jobs
//! are already round-robin over partitions (a partition of weight 3 has three tags in each
//! unit), a partition that was idle comes back at the current virtual time (it is not owed
//! the turns it did not use), and within a partition the jobs keep their priority and insert
//! order.
//!
//! **The claim** reads that order from the front in windows, skipping entries of partitions
//! at their limit (or out of rate tokens) and jobs not due yet, without reading their rows,
//! and takes the others until its budget is met; then it claims the taken ids in one
//! statement. Where the partition walk it replaced (engine migration 12) sought into each
//! partition's stretch of a partition-ordered index, this reads one contiguous stretch of
//! one index, as a claim without limits does.
//!
//! **What it costs.** A partition at its limit keeps its queued entries in the claim's way:
//! the claim reads past them (index only). A claim reads at most [`MAX_READ_PER_START`]
//! entries per start it may make plus [`MAX_READ_SLACK`]: half from the front, half from a
//! cursor that moves on from claim to claim ([`claim_fair`]), so a claim's cost is bounded
//! and what lies behind a long stretch of entries at their limit is still reached.
//!
//! A job that is retried, rescued or made pending again by hand keeps its tag: it keeps its
//! place in its partition's turn.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::PartitionClaim;
use super::{free_slots, kind_budget, throttled, KindClaim, LimitStatements};
use crate::error::Result;
use crate::job::FetchedJob;
use crate::limits::bucket::Bucket;
use crate::limits::LimitValues;

/// Entries a claim may read per start it may make, beyond [`MAX_READ_SLACK`].
pub const MAX_READ_PER_START: usize = 16;
/// Entries any claim may read.
pub const MAX_READ_SLACK: usize = 16_384;

/// A queued job of a limited kind as the fair index holds it.
#[derive(Debug, Clone)]
pub struct FairEntry {
    pub id: i64,
    pub priority: i32,
    pub tag: i64,
    pub key: String,
}

/// What [`FairStatements::fair_window`] reads: the due queued jobs of `kind` in `queue` (of
/// `run`, if given) in `(priority, tag, id)` order, strictly after `after`, at most `max`.
#[derive(Debug, Clone, Copy)]
pub struct FairWindow<'a> {
    pub queue: &'a str,
    pub kind: &'a str,
    pub run: Option<i64>,
    pub now: DateTime<Utc>,
    pub after: Option<FairPos>,
    pub max: usize,
}

/// The statements a driver offers for the fair-order claim, inside its claim transaction
/// (with [`LimitStatements::lock_limit`], `running`, `running_in` and
/// `save_partition_buckets`).
#[allow(async_fn_in_trait)]
pub trait FairStatements: LimitStatements {
    /// The kind's virtual time and cursor (0 and none when no claim wrote them).
    async fn fair_clock(&mut self, kind: &str) -> Result<FairClock>;

    /// See [`FairWindow`].
    async fn fair_window(&mut self, w: &FairWindow<'_>) -> Result<Vec<FairEntry>>;

    /// The rate buckets of the kind's partitions `keys` that have one.
    async fn partition_buckets(
        &mut self,
        kind: &str,
        keys: &[String],
    ) -> Result<Vec<(String, Bucket)>>;

    /// Claim the jobs `ids` that are still queued, unless the queue is paused; the start
    /// time is `claim.now`. Returns each with its partition key.
    async fn claim_ids(
        &mut self,
        claim: &PartitionClaim<'_>,
        ids: &[i64],
    ) -> Result<Vec<(String, FetchedJob)>>;

    /// Write the kind's virtual time, cursor and global bucket; count a throttled claim when
    /// `throttled`.
    async fn save_fair(
        &mut self,
        kind: &str,
        clock: &FairClock,
        bucket: Option<&Bucket>,
        throttled: bool,
    ) -> Result<()>;
}

/// Where a claim is in the fair order: `(priority, tag, id)` of an entry.
pub type FairPos = (i32, i64, i64);

/// A kind's fair-order state on its row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FairClock {
    /// The latest tag a claim took.
    pub vtime: i64,
    /// Where the last claim that reached its read bound stopped: the next one goes on from
    /// there after its look at the front, so entries behind a long stretch of partitions at
    /// their limit are reached within a few claims.
    pub cursor: Option<FairPos>,
}

/// What a claim has read so far.
struct Scan<'a> {
    queue: &'a str,
    kind: &'a str,
    run: Option<i64>,
    now: DateTime<Utc>,
    values: &'a LimitValues,
    released: &'a HashSet<(i64, i32)>,
    budget: usize,
    /// What each partition met may still start.
    free: HashMap<String, u64>,
    buckets: Vec<(String, Bucket)>,
    picked: Vec<i64>,
    tags: HashMap<i64, i64>,
    out: KindClaim,
}

impl Scan<'_> {
    fn done(&self) -> bool {
        self.picked.len() >= self.budget
    }

    /// Learn what each of `keys` may start now (its free slots, its rate tokens), leaving
    /// out this process's finished jobs (`released`) from its running count.
    async fn learn<S: FairStatements>(&mut self, st: &mut S, keys: Vec<String>) -> Result<()> {
        let v = self.values;
        let mut running: HashMap<String, i64> = HashMap::new();
        if v.per_partition.is_some() {
            for (key, id, attempt) in st.running_in(self.kind, &keys).await? {
                if !self.released.contains(&(id, attempt)) {
                    *running.entry(key).or_default() += 1;
                }
            }
        }
        let mut stored: HashMap<String, Bucket> = if v.partition_rate.is_some() {
            st.partition_buckets(self.kind, &keys)
                .await?
                .into_iter()
                .collect()
        } else {
            HashMap::new()
        };
        for key in keys {
            let running = running.get(&key).copied().unwrap_or(0);
            let bucket = stored.remove(&key);
            let n = free_slots(
                v,
                &key,
                running,
                bucket,
                self.now,
                &mut self.out,
                &mut self.buckets,
            );
            self.free.insert(key, n);
        }
        Ok(())
    }

    /// Read up to `limit` entries after `from` (from the front: `None`), taking those whose
    /// partition may start one, until the budget is met. Returns the last entry read and
    /// whether the order ended before `limit`.
    async fn read<S: FairStatements>(
        &mut self,
        st: &mut S,
        from: Option<FairPos>,
        limit: usize,
    ) -> Result<(Option<FairPos>, bool)> {
        let mut after = from;
        let mut read = 0usize;
        while !self.done() && read < limit {
            let left = self.budget - self.picked.len();
            let max = left.saturating_mul(2).saturating_add(64).min(limit - read);
            let window = FairWindow {
                queue: self.queue,
                kind: self.kind,
                run: self.run,
                now: self.now,
                after,
                max,
            };
            let batch = st.fair_window(&window).await?;
            let mut seen: HashSet<&str> = HashSet::new();
            let new: Vec<String> = batch
                .iter()
                .filter(|e| !self.free.contains_key(&e.key) && seen.insert(e.key.as_str()))
                .map(|e| e.key.clone())
                .collect();
            if !new.is_empty() {
                self.learn(st, new).await?;
            }
            for e in &batch {
                read += 1;
                after = Some((e.priority, e.tag, e.id));
                match self.free.get_mut(&e.key) {
                    Some(n) if *n > 0 => {
                        *n -= 1;
                        self.picked.push(e.id);
                        self.tags.insert(e.id, e.tag);
                        if self.done() {
                            break;
                        }
                    }
                    _ => self.out.throttled = true,
                }
            }
            if batch.len() < max {
                return Ok((after, true));
            }
        }
        Ok((after, false))
    }
}

/// Claim up to `want` jobs of the limited `kind` in `queue` for `worker` in fair order (see
/// the module's documentation), not counting this process's finished jobs whose outcome is
/// not committed yet (`released`, as `(job id, attempt)`).
///
/// A claim reads at most half its bound from the front; if that does not meet its budget
/// and the order goes on, the other half from the kind's cursor (or from where the front
/// read stopped, when the cursor lies before it), and leaves the cursor where it stopped
/// (none when it reached the end, so the next one starts again behind the front read).
pub async fn claim_fair<S: FairStatements>(
    st: &mut S,
    queue: &str,
    kind: &str,
    worker: &str,
    run: Option<i64>,
    want: usize,
    released: Vec<(i64, i32)>,
) -> Result<KindClaim> {
    let released: HashSet<(i64, i32)> = released.into_iter().collect();
    let Some(row) = st.lock_limit(kind).await? else {
        return Ok(KindClaim::default());
    };
    let mut out = KindClaim::default();
    let (budget, mut global) = kind_budget(st, kind, &row, want, &released, &mut out).await?;
    let mut clock = st.fair_clock(kind).await?;
    if budget == 0 {
        out.throttled = true;
        throttled::claim_throttled(queue, kind);
        st.save_fair(kind, &clock, global.as_ref().map(|g| &g.1), true)
            .await?;
        return Ok(out);
    }
    let budget = usize::try_from(budget).unwrap_or(usize::MAX);
    let half = budget
        .saturating_mul(MAX_READ_PER_START)
        .saturating_add(MAX_READ_SLACK)
        / 2;
    let mut scan = Scan {
        queue,
        kind,
        run,
        now: row.now,
        values: &row.values,
        released: &released,
        budget,
        free: HashMap::new(),
        buckets: Vec::new(),
        picked: Vec::new(),
        tags: HashMap::new(),
        out,
    };
    let (front_end, ended) = scan.read(st, None, half).await?;
    if !scan.done() && !ended {
        // Behind a long stretch of partitions at their limit: go on from the cursor.
        let from = match (clock.cursor, front_end) {
            (Some(c), Some(f)) if c > f => Some(c),
            _ => front_end,
        };
        let (stop, ended) = scan.read(st, from, half).await?;
        clock.cursor = if ended { None } else { stop };
        if !scan.done() && !ended {
            scan.out.throttled = true;
        }
    }
    let Scan {
        picked,
        tags,
        mut buckets,
        mut out,
        ..
    } = scan;
    let claim = PartitionClaim {
        queue,
        kind,
        worker,
        run,
        now: row.now,
    };
    let claimed = if picked.is_empty() {
        Vec::new()
    } else {
        st.claim_ids(&claim, &picked).await?
    };
    clock.vtime = claimed
        .iter()
        .filter_map(|(_, j)| tags.get(&j.id).copied())
        .fold(clock.vtime, i64::max);
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
    out.throttled |= (budget as u64) < want as u64 && picked.len() >= budget;
    if out.throttled {
        throttled::claim_throttled(queue, kind);
    }
    st.save_fair(kind, &clock, global.as_ref().map(|g| &g.1), out.throttled)
        .await?;
    out.claimed = claimed
        .iter()
        .map(|(_, job)| (job.id, job.attempt, kind.to_string()))
        .collect();
    out.jobs = claimed.into_iter().map(|(_, j)| j).collect();
    Ok(out)
}

/// Claim up to `want` jobs over the limited `kinds` of `queue` in fair order, kind by kind
/// (name order), while the claim has room.
pub async fn claim_fair_kinds<S: FairStatements>(
    st: &mut S,
    queue: &str,
    kinds: &[String],
    worker: &str,
    run: Option<i64>,
    want: usize,
    mut released: HashMap<String, Vec<(i64, i32)>>,
) -> Result<KindClaim> {
    let mut out = KindClaim::default();
    for kind in kinds {
        let left = want.saturating_sub(out.jobs.len());
        if left == 0 {
            break;
        }
        let mine = released.remove(kind).unwrap_or_default();
        let got = claim_fair(st, queue, kind, worker, run, left, mine).await?;
        out.merge(got);
    }
    Ok(out)
}

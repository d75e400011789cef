//! The fair-order claim of a limited kind: queued jobs read in virtual start tag order,
//! decided once over [`FairStatements`].
//!
//! **Tags.** A job of a limited kind gets a tag when it is inserted ([`Tagger`]): its
//! partition's last tag or the kind's virtual time, whichever is later, plus the partition's
//! step, [`TAG_UNIT`] divided by its weight (start-time fair queuing). The kind's virtual
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

/// A weight-1 partition's step between two tags; a partition of weight `w` steps
/// `TAG_UNIT / w`, rounded down (a thousandth of a unit at most, over the highest weight).
pub const TAG_UNIT: i64 = 1_000_000;

/// Entries a claim may read per start it may make, beyond [`MAX_READ_SLACK`].
pub const MAX_READ_PER_START: usize = 16;
/// Entries any claim may read.
pub const MAX_READ_SLACK: usize = 16_384;

/// The step between two tags of a partition of `weight`.
pub fn step(weight: u64) -> i64 {
    TAG_UNIT / i64::try_from(weight.clamp(1, u64::from(crate::limits::MAX_WEIGHT))).unwrap_or(1)
}

/// The tag of a partition's next job: after its last tag, never before the kind's virtual
/// time.
pub fn next_tag(vtime: i64, last: Option<i64>, weight: u64) -> i64 {
    last.unwrap_or(vtime)
        .max(vtime)
        .saturating_add(step(weight))
}

/// Gives inserted jobs of limited kinds their tags, one insert at a time, reading each kind's
/// virtual time and weights and each partition's last tag once; [`Tagger::last_tags`] is
/// what the insert writes back.
#[derive(Debug, Default)]
pub struct Tagger {
    kinds: HashMap<String, (i64, LimitValues)>,
    last: HashMap<(String, String), Option<i64>>,
}

impl Tagger {
    /// Whether the kind's clock and weights are known here.
    pub fn knows_kind(&self, kind: &str) -> bool {
        self.kinds.contains_key(kind)
    }

    /// Note the kind's virtual time and values (`None`: the kind is not declared yet, so it
    /// starts at 0 with every weight 1).
    pub fn set_kind(&mut self, kind: &str, clock: Option<(i64, LimitValues)>) {
        self.kinds
            .insert(kind.to_string(), clock.unwrap_or_default());
    }

    /// Whether the partition's last tag is known here.
    pub fn knows_partition(&self, kind: &str, key: &str) -> bool {
        self.last.contains_key(&(kind.to_string(), key.to_string()))
    }

    /// Note the partition's last tag as stored.
    pub fn set_partition(&mut self, kind: &str, key: &str, last: Option<i64>) {
        self.last.insert((kind.to_string(), key.to_string()), last);
    }

    /// The next tag of the partition (its kind and partition must be known).
    pub fn tag(&mut self, kind: &str, key: &str) -> i64 {
        let (vtime, weight) = self
            .kinds
            .get(kind)
            .map_or((0, 1), |(t, v)| (*t, v.weight_of(key)));
        let last = self
            .last
            .entry((kind.to_string(), key.to_string()))
            .or_default();
        let tag = next_tag(vtime, *last, weight);
        *last = Some(tag);
        tag
    }

    /// `(kind, partition key, last tag)` of every partition tagged here.
    pub fn last_tags(&self) -> Vec<(&str, &str, i64)> {
        self.last
            .iter()
            .filter_map(|((k, p), t)| Some((k.as_str(), p.as_str(), (*t)?)))
            .collect()
    }
}

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

/// Fill in what each of `keys` may start now (its free slots, its rate tokens), leaving out
/// this process's finished jobs (`released`) from its running count.
#[allow(clippy::too_many_arguments)]
async fn learn_partitions<S: FairStatements>(
    st: &mut S,
    kind: &str,
    v: &LimitValues,
    now: DateTime<Utc>,
    released: &HashSet<(i64, i32)>,
    keys: Vec<String>,
    free: &mut HashMap<String, u64>,
    out: &mut KindClaim,
    buckets: &mut Vec<(String, Bucket)>,
) -> Result<()> {
    let mut running: HashMap<String, i64> = HashMap::new();
    if v.per_partition.is_some() {
        for (key, id, attempt) in st.running_in(kind, &keys).await? {
            if !released.contains(&(id, attempt)) {
                *running.entry(key).or_default() += 1;
            }
        }
    }
    let mut stored: HashMap<String, Bucket> = if v.partition_rate.is_some() {
        st.partition_buckets(kind, &keys)
            .await?
            .into_iter()
            .collect()
    } else {
        HashMap::new()
    };
    for key in keys {
        let running = running.get(&key).copied().unwrap_or(0);
        let n = free_slots(v, &key, running, stored.remove(&key), now, out, buckets);
        free.insert(key, n);
    }
    Ok(())
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
                learn_partitions(
                    st,
                    self.kind,
                    self.values,
                    self.now,
                    self.released,
                    new,
                    &mut self.free,
                    &mut self.out,
                    &mut self.buckets,
                )
                .await?;
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
        .map(|(key, job)| (job.id, job.attempt, kind.to_string(), key.clone()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_steps_by_its_weight_from_the_later_of_its_last_tag_and_the_clock() {
        assert_eq!(next_tag(0, None, 1), TAG_UNIT);
        assert_eq!(next_tag(5 * TAG_UNIT, Some(2 * TAG_UNIT), 1), 6 * TAG_UNIT);
        assert_eq!(next_tag(TAG_UNIT, Some(7 * TAG_UNIT), 1), 8 * TAG_UNIT);
        assert_eq!(next_tag(0, None, 4), TAG_UNIT / 4);
        assert_eq!(step(0), TAG_UNIT, "a weight of 0 counts as 1");
        assert_eq!(
            step(1_000_000),
            TAG_UNIT / 1000,
            "weights stop at the maximum"
        );
    }

    #[test]
    fn tags_interleave_partitions_in_proportion_to_their_weights() {
        let mut t = Tagger::default();
        let values = LimitValues {
            weights: Some([("gold".to_string(), 3)].into()),
            ..Default::default()
        };
        t.set_kind("k", Some((10 * TAG_UNIT, values)));
        for p in ["gold", "b"] {
            t.set_partition("k", p, None);
        }
        let mut all: Vec<(i64, &str)> = Vec::new();
        for _ in 0..6 {
            all.push((t.tag("k", "gold"), "gold"));
        }
        for _ in 0..2 {
            all.push((t.tag("k", "b"), "b"));
        }
        all.sort();
        let order: Vec<&str> = all.iter().map(|(_, p)| *p).collect();
        assert_eq!(
            order,
            ["gold", "gold", "gold", "b", "gold", "gold", "gold", "b"]
        );
        assert_eq!(
            all[0].0,
            10 * TAG_UNIT + TAG_UNIT / 3,
            "the first tag follows the clock"
        );
        let mut last = t.last_tags();
        last.sort();
        assert_eq!(
            last,
            [
                ("k", "b", 12 * TAG_UNIT),
                ("k", "gold", 10 * TAG_UNIT + 6 * (TAG_UNIT / 3))
            ]
        );
    }
}

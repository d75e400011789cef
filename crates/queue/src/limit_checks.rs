//! The limits' conformance checks, beside the driver suite ([`crate::driver_tests`]): the
//! limited claim on a real database, through [`Store::fetch`], as every driver must give it.
//! A backend runs them as `tests/driver.rs` does:
//!
//! ```ignore
//! let failures = specline_queue::limit_checks::run(|| async { (fresh_store().await, guard) }).await;
//! assert!(failures.is_empty(), "{failures:#?}");
//! ```

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::driver_tests::{run_checks, Check, CheckResult};
use crate::job::{Completion, JobState, NewJob, Outcome};
use crate::limits::{Declared, LimitValues, Rate};
use crate::store::{Op, Store};

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

fn ok<T>(what: &str, r: crate::Result<T>) -> std::result::Result<T, String> {
    r.map_err(|e| format!("{what}: {e}"))
}

/// Run every check, each on a fresh store from `fresh` (see [`crate::driver_tests::run`]).
pub async fn run<F, Fut, G>(fresh: F) -> Vec<(String, String)>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = (Arc<dyn Store>, G)>,
{
    run_checks(checks(), fresh).await
}

/// The checks, by name.
pub fn checks() -> Vec<(&'static str, Check)> {
    vec![
        ("limited_claim_holds_the_global_concurrency", |s| {
            Box::pin(limited_claim_holds_the_global_concurrency(s))
        }),
        (
            "limited_claim_serves_partitions_round_robin_within_their_limit",
            |s| Box::pin(limited_claim_serves_partitions_round_robin_within_their_limit(s)),
        ),
        (
            "limited_claim_takes_rate_tokens_and_says_when_they_return",
            |s| Box::pin(limited_claim_takes_rate_tokens_and_says_when_they_return(s)),
        ),
        (
            "limited_claim_serves_weighted_partitions_in_proportion",
            |s| Box::pin(limited_claim_serves_weighted_partitions_in_proportion(s)),
        ),
        ("limit_overrides_apply_to_the_next_claim", |s| {
            Box::pin(limit_overrides_apply_to_the_next_claim(s))
        }),
        ("a_rate_gate_gives_each_partition_its_own_tokens", |s| {
            Box::pin(a_rate_gate_gives_each_partition_its_own_tokens(s))
        }),
        (
            "limited_claim_serves_a_partition_freed_by_a_completion_within_its_limit",
            |s| {
                Box::pin(limited_claim_serves_a_partition_freed_by_a_completion_within_its_limit(s))
            },
        ),
        (
            "a_partition_that_comes_late_starts_at_the_kinds_turn_not_owed_past_turns",
            |s| {
                Box::pin(
                    a_partition_that_comes_late_starts_at_the_kinds_turn_not_owed_past_turns(s),
                )
            },
        ),
        (
            "a_retried_job_keeps_its_place_in_its_partitions_turn",
            |s| Box::pin(a_retried_job_keeps_its_place_in_its_partitions_turn(s)),
        ),
        ("a_job_not_due_yet_is_passed_over_until_it_is", |s| {
            Box::pin(a_job_not_due_yet_is_passed_over_until_it_is(s))
        }),
        (
            "a_job_behind_a_long_stretch_of_a_partition_at_its_limit_is_reached",
            |s| Box::pin(a_job_behind_a_long_stretch_of_a_partition_at_its_limit_is_reached(s)),
        ),
        (
            "partitions_last_tags_the_virtual_time_passed_are_pruned",
            |s| Box::pin(partitions_last_tags_the_virtual_time_passed_are_pruned(s)),
        ),
        (
            "a_finished_job_frees_its_slot_for_the_next_claim_before_its_outcome_commits",
            |s| {
                Box::pin(
                    a_finished_job_frees_its_slot_for_the_next_claim_before_its_outcome_commits(s),
                )
            },
        ),
    ]
}

const KIND: &str = "limited_check";
const QUEUE: &str = "lq";

fn job(partition: &str) -> NewJob {
    NewJob {
        kind: KIND.into(),
        queue: QUEUE.into(),
        args: serde_json::json!({ "p": partition }),
        priority: 1,
        max_attempts: 3,
        scheduled_at: None,
        unique_key: None,
        unique_states: 0,
        metadata: serde_json::json!({}),
        tags: Vec::new(),
        partition_key: Some(partition.into()),
    }
}

async fn declare(store: &Arc<dyn Store>, values: LimitValues) -> CheckResult {
    ok(
        "declare_limits",
        store
            .declare_limits(&[Declared {
                kind: KIND.into(),
                queues: vec![QUEUE.into()],
                values,
            }])
            .await,
    )
}

async fn insert(store: &Arc<dyn Store>, partitions: &[&str]) -> CheckResult {
    let jobs = partitions.iter().map(|p| job(p)).collect();
    ok("insert", store.insert_many(jobs).await).map(|_| ())
}

async fn fetch(store: &Arc<dyn Store>, n: usize) -> Result<Vec<crate::job::FetchedJob>, String> {
    ok("fetch", store.fetch(QUEUE, n, "w").await)
}

async fn running(store: &Arc<dyn Store>) -> Result<i64, String> {
    let counts = ok("count_by_state", store.count_by_state(Some(QUEUE)).await)?;
    Ok(counts
        .iter()
        .find(|(s, _)| *s == JobState::Running)
        .map_or(0, |c| c.1))
}

async fn limited_claim_holds_the_global_concurrency(store: Arc<dyn Store>) -> CheckResult {
    // Undeclared, a limited job is not claimed by the plain fetch (it waits for a worker
    // that knows its limits).
    insert(&store, &[""; 5]).await?;
    ensure!(
        fetch(&store, 10).await?.is_empty(),
        "the plain fetch took a limited job"
    );
    declare(
        &store,
        LimitValues {
            concurrency: Some(2),
            ..Default::default()
        },
    )
    .await?;
    let first = fetch(&store, 10).await?;
    ensure!(
        first.len() == 2,
        "claimed {} with a limit of 2",
        first.len()
    );
    ensure!(
        fetch(&store, 10).await?.is_empty(),
        "claimed past the limit"
    );
    // A completion frees one slot, a retry another: the count is the jobs' own states.
    ok(
        "complete",
        store
            .apply_ops(vec![Op::CompleteJobs(vec![(
                first[0].id,
                first[0].attempt,
            )])])
            .await,
    )?;
    let retry = Completion {
        id: first[1].id,
        attempt: first[1].attempt,
        outcome: Outcome::Retry {
            at: crate::clock::in_future(Duration::from_secs(3600)),
            error: crate::job::AttemptError {
                attempt: first[1].attempt,
                at: Utc::now(),
                code: "X".into(),
                message: "x".into(),
                worker: "w".into(),
            },
        },
    };
    ok("retry", store.complete(&[retry]).await)?;
    let second = fetch(&store, 10).await?;
    ensure!(
        second.len() == 2,
        "claimed {} after two slots freed",
        second.len()
    );
    ensure!(running(&store).await? == 2, "running is not 2");
    ensure!(
        fetch(&store, 10).await?.is_empty(),
        "claimed past the limit"
    );
    let status = ok("limits", store.limits().await)?;
    ensure!(
        status.len() == 1 && status[0].running == 2 && status[0].pending == 2,
        "limits status: {status:?}"
    );
    ensure!(
        status[0].throttled >= 2,
        "throttled claims not counted: {status:?}"
    );
    Ok(())
}

async fn limited_claim_serves_partitions_round_robin_within_their_limit(
    store: Arc<dyn Store>,
) -> CheckResult {
    declare(
        &store,
        LimitValues {
            per_partition: Some(1),
            ..Default::default()
        },
    )
    .await?;
    insert(&store, &["a", "a", "a", "b", "c", "c"]).await?;
    let got = fetch(&store, 2).await?;
    let keys: Vec<i64> = got.iter().map(|j| j.id).collect();
    ensure!(keys.len() == 2, "claimed {keys:?}");
    // Round-robin: c's first job shares the first turn with a's and b's, a's second job is
    // in the next turn, so c runs before a gets a second job even once a's slot frees.
    let a_job = got[0].clone();
    ok(
        "complete",
        store
            .apply_ops(vec![Op::CompleteJobs(vec![(a_job.id, a_job.attempt)])])
            .await,
    )?;
    let next = fetch(&store, 1).await?;
    let c = ok("get", store.get_job(next[0].id).await)?.ok_or("gone")?;
    ensure!(
        next.len() == 1 && c.id > got[1].id && c.id >= 5,
        "the round-robin did not move on to partition c: {next:?}"
    );
    let rest = fetch(&store, 10).await?;
    ensure!(
        rest.len() == 1,
        "a claimed {} with a free slot for a only",
        rest.len()
    );
    ensure!(
        fetch(&store, 10).await?.is_empty(),
        "a partition ran two jobs"
    );
    // The operator's read: partitions by unfinished jobs, with running and pending counts.
    let parts = ok("limit_partitions", store.limit_partitions(KIND, 10).await)?;
    let seen: Vec<(&str, i64, i64)> = parts
        .iter()
        .map(|p| (p.key.as_str(), p.running, p.pending))
        .collect();
    ensure!(
        seen == vec![("a", 1, 1), ("c", 1, 1), ("b", 1, 0)],
        "partition counts: {seen:?}"
    );
    let status = ok("limits", store.limits().await)?;
    ensure!(
        status.len() == 1 && status[0].queues == vec![QUEUE.to_string()],
        "the declared queues are not kept: {status:?}"
    );
    Ok(())
}

/// The partitions of claimed jobs, in claim order.
fn partitions_of(jobs: &[crate::job::FetchedJob]) -> Vec<String> {
    jobs.iter()
        .map(|j| {
            serde_json::from_str::<serde_json::Value>(&j.args)
                .ok()
                .and_then(|a| a["p"].as_str().map(str::to_string))
                .unwrap_or_default()
        })
        .collect()
}

/// The starts of b, c and gold in each pass of `len` starts of `keys`.
fn passes(keys: &[String], len: usize) -> Vec<(usize, usize, usize)> {
    keys.chunks(len)
        .map(|p| (count(p, "b"), count(p, "c"), count(p, "gold")))
        .collect()
}

/// How many of `keys` are `key`.
fn count(keys: &[String], key: &str) -> usize {
    keys.iter().filter(|k| *k == key).count()
}

/// Partition `gold` weighs 3, `b` and `c` 1 (no concurrency limit: weights alone decide the
/// order). Claims of one job each give every pass of five starts to b once, c once and gold
/// three times (a pass a claim of one cuts short goes on in the next claim); a claim of ten
/// gives two passes (2, 2, 6); an operator's override of the weights applies to the next
/// claim.
async fn limited_claim_serves_weighted_partitions_in_proportion(
    store: Arc<dyn Store>,
) -> CheckResult {
    declare(
        &store,
        LimitValues {
            weights: Some([("gold".to_string(), 3)].into()),
            ..Default::default()
        },
    )
    .await?;
    let jobs: Vec<&str> = (0..30).flat_map(|_| ["b", "c", "gold"]).collect();
    insert(&store, &jobs).await?;
    let mut singles = Vec::new();
    for _ in 0..10 {
        singles.extend(partitions_of(&fetch(&store, 1).await?));
    }
    ensure!(
        passes(&singles, 5) == [(1, 1, 3), (1, 1, 3)],
        "claims of one job: {singles:?}"
    );
    let ten = partitions_of(&fetch(&store, 10).await?);
    ensure!(
        (count(&ten, "b"), count(&ten, "c"), count(&ten, "gold")) == (2, 2, 6),
        "a claim of ten: {ten:?}"
    );
    let set = ok(
        "set_limit_overrides",
        store
            .set_limit_overrides(KIND, &serde_json::json!({"weights": {"c": 2}}))
            .await,
    )?;
    ensure!(set, "the override found no kind");
    let mut after = Vec::new();
    for _ in 0..8 {
        after.extend(partitions_of(&fetch(&store, 1).await?));
    }
    // The override's weights replace the declared ones: c weighs 2, gold 1 now.
    ensure!(
        passes(&after, 4) == [(1, 2, 1), (1, 2, 1)],
        "after the override: {after:?}"
    );
    Ok(())
}

/// A rate gate of 2 per hour (a bucket of one token): a partition takes its token, the next
/// take is refused with the time the token returns, and another partition has its own.
async fn a_rate_gate_gives_each_partition_its_own_tokens(store: Arc<dyn Store>) -> CheckResult {
    let rate = Rate {
        count: 2,
        per: Duration::from_secs(3600),
    };
    let before = Utc::now();
    let first = ok("take", store.take_rate_token("calls", "k1", &rate).await)?;
    ensure!(first.is_none(), "a new bucket refused its token: {first:?}");
    let second = ok("take", store.take_rate_token("calls", "k1", &rate).await)?;
    let at = second.ok_or("an empty bucket gave a second token")?;
    let wait = at - before;
    ensure!(
        wait > chrono::Duration::minutes(29) && wait < chrono::Duration::minutes(31),
        "the next token returns in {wait} (half an hour expected)"
    );
    let other = ok("take", store.take_rate_token("calls", "k2", &rate).await)?;
    ensure!(other.is_none(), "partition k2 shares k1's bucket");
    // A limited kind of the same name keeps its own buckets.
    let kind = ok("take", store.take_rate_token(KIND, "k1", &rate).await)?;
    ensure!(kind.is_none(), "gate {KIND} shares gate calls' bucket");
    Ok(())
}

/// A completion frees its partition for the next claim, which counts each partition's running
/// jobs: the freed partition starts exactly one more job, the others (all still full) none.
async fn limited_claim_serves_a_partition_freed_by_a_completion_within_its_limit(
    store: Arc<dyn Store>,
) -> CheckResult {
    declare(
        &store,
        LimitValues {
            per_partition: Some(1),
            ..Default::default()
        },
    )
    .await?;
    let keys: Vec<String> = (0..20).map(|i| format!("p{i:02}")).collect();
    let twice: Vec<&str> = keys.iter().chain(&keys).map(String::as_str).collect();
    insert(&store, &twice).await?;
    let first = fetch(&store, 40).await?;
    ensure!(
        first.len() == 20,
        "claimed {} of 20 partitions",
        first.len()
    );
    // Partition p10's job ends through the store's completion (as a worker's does). Ids
    // follow insertion order: p00..p19, then p00..p19 again.
    let base = first.iter().map(|j| j.id).min().ok_or("nothing claimed")?;
    let freed = first
        .iter()
        .find(|j| j.id == base + 10)
        .ok_or("no job of p10")?;
    let done = Completion {
        id: freed.id,
        attempt: freed.attempt,
        outcome: Outcome::Completed,
    };
    ok("complete", store.complete(&[done]).await)?;
    let next = fetch(&store, 5).await?;
    ensure!(
        next.len() == 1,
        "claimed {} with one partition freed",
        next.len()
    );
    ensure!(
        next[0].id == freed.id + 20,
        "claimed job {} instead of p10's second job {}",
        next[0].id,
        freed.id + 20
    );
    ensure!(
        fetch(&store, 5).await?.is_empty(),
        "a partition ran two jobs"
    );
    ensure!(
        running(&store).await? == 20,
        "running {}",
        running(&store).await?
    );
    Ok(())
}

async fn limited_claim_takes_rate_tokens_and_says_when_they_return(
    store: Arc<dyn Store>,
) -> CheckResult {
    declare(
        &store,
        LimitValues {
            rate: Some(Rate {
                count: 20,
                per: Duration::from_secs(3600),
            }),
            ..Default::default()
        },
    )
    .await?;
    insert(&store, &[""; 5]).await?;
    // A new bucket holds a tenth of the rate: 2 tokens.
    let got = fetch(&store, 10).await?;
    ensure!(got.len() == 2, "claimed {} with 2 tokens", got.len());
    ensure!(
        fetch(&store, 10).await?.is_empty(),
        "claimed without tokens"
    );
    let until = store.throttled_until(QUEUE);
    ensure!(
        until.is_some_and(|t| t > Utc::now() + chrono::Duration::seconds(60)),
        "no or a wrong wake-up time for the tokens: {until:?}"
    );
    Ok(())
}

async fn limit_overrides_apply_to_the_next_claim(store: Arc<dyn Store>) -> CheckResult {
    declare(
        &store,
        LimitValues {
            concurrency: Some(1),
            ..Default::default()
        },
    )
    .await?;
    insert(&store, &[""; 4]).await?;
    ensure!(fetch(&store, 10).await?.len() == 1, "limit 1 not held");
    let set = ok(
        "set_limit_overrides",
        store
            .set_limit_overrides(KIND, &serde_json::json!({"concurrency": 3}))
            .await,
    )?;
    ensure!(set, "the override found no kind");
    ensure!(
        fetch(&store, 10).await?.len() == 2,
        "override to 3 not applied"
    );
    let status = ok("limits", store.limits().await)?;
    ensure!(
        status[0].effective.concurrency == Some(3) && status[0].declared.concurrency == Some(1),
        "status: {status:?}"
    );
    // Lifting the limit lets the last one run; an unknown kind is reported.
    ok(
        "set_limit_overrides",
        store
            .set_limit_overrides(KIND, &serde_json::json!({"concurrency": null}))
            .await,
    )?;
    ensure!(
        fetch(&store, 10).await?.len() == 1,
        "lifted limit not applied"
    );
    let unknown = ok(
        "set_limit_overrides",
        store
            .set_limit_overrides("nope", &serde_json::json!({}))
            .await,
    )?;
    ensure!(!unknown, "an unknown kind took an override");
    // A paused queue gives nothing, limits or not.
    insert(&store, &[""]).await?;
    ok("pause", store.set_paused(QUEUE, true).await)?;
    ensure!(
        fetch(&store, 10).await?.is_empty(),
        "claimed from a paused queue"
    );
    Ok(())
}

async fn a_finished_job_frees_its_slot_for_the_next_claim_before_its_outcome_commits(
    store: Arc<dyn Store>,
) -> CheckResult {
    declare(
        &store,
        LimitValues {
            concurrency: Some(2),
            per_partition: Some(1),
            ..Default::default()
        },
    )
    .await?;
    insert(&store, &["a", "a", "b", "b"]).await?;
    let first = fetch(&store, 10).await?;
    ensure!(first.len() == 2, "claimed {} of 2", first.len());
    ensure!(fetch(&store, 10).await?.is_empty(), "a limit did not hold");
    let a1 = first
        .iter()
        .min_by_key(|j| j.id)
        .ok_or("nothing claimed")?
        .clone();
    // Its handler returned; the outcome is not recorded yet (its row still says running).
    store.handler_returned(a1.id);
    let next = fetch(&store, 10).await?;
    ensure!(
        next.len() == 1,
        "claimed {} after one job finished",
        next.len()
    );
    ensure!(
        next[0].id == a1.id + 1,
        "claimed job {} instead of partition a's second job {}",
        next[0].id,
        a1.id + 1
    );
    ensure!(
        running(&store).await? == 3,
        "the finished job's row should still say running"
    );
    // Its slot was given once: the partition and the global limit are full again.
    ensure!(
        fetch(&store, 10).await?.is_empty(),
        "a finished job's slot was given twice"
    );
    let done = Completion {
        id: a1.id,
        attempt: a1.attempt,
        outcome: Outcome::Completed,
    };
    ok("complete", store.complete(&[done]).await)?;
    ensure!(
        fetch(&store, 10).await?.is_empty(),
        "the committed outcome freed a slot a second time"
    );
    Ok(())
}

async fn one_per_partition(store: &Arc<dyn Store>) -> CheckResult {
    declare(
        store,
        LimitValues {
            per_partition: Some(1),
            ..Default::default()
        },
    )
    .await
}

/// Claim one job at a time, completing each before the next claim, `n` times: the
/// partitions in the order they started.
async fn one_at_a_time(store: &Arc<dyn Store>, n: usize) -> Result<Vec<String>, String> {
    let mut order = Vec::new();
    for _ in 0..n {
        let got = fetch(store, 1).await?;
        ensure!(got.len() == 1, "claimed {} after {order:?}", got.len());
        order.extend(partitions_of(&got));
        let done = Completion {
            id: got[0].id,
            attempt: got[0].attempt,
            outcome: Outcome::Completed,
        };
        ok("complete", store.complete(&[done]).await)?;
    }
    Ok(order)
}

/// Partition a had three turns before b's jobs arrived: b's turns start at the kind's current
/// one, so b alternates with a rather than running its three jobs first as owed turns.
async fn a_partition_that_comes_late_starts_at_the_kinds_turn_not_owed_past_turns(
    store: Arc<dyn Store>,
) -> CheckResult {
    one_per_partition(&store).await?;
    insert(&store, &["a"; 5]).await?;
    let first = one_at_a_time(&store, 3).await?;
    ensure!(first == ["a", "a", "a"], "a alone: {first:?}");
    insert(&store, &["b"; 3]).await?;
    let then = one_at_a_time(&store, 5).await?;
    ensure!(
        then == ["a", "b", "a", "b", "b"],
        "after b arrived: {then:?}"
    );
    Ok(())
}

/// A job retried (due again at once) keeps its turn: with one running per partition, the
/// next claim takes it rather than its partition's second job.
async fn a_retried_job_keeps_its_place_in_its_partitions_turn(
    store: Arc<dyn Store>,
) -> CheckResult {
    one_per_partition(&store).await?;
    insert(&store, &["a", "a"]).await?;
    insert(&store, &["b", "b"]).await?;
    let first = fetch(&store, 1).await?;
    ensure!(partitions_of(&first) == ["a"], "first: {first:?}");
    let retry = Completion {
        id: first[0].id,
        attempt: first[0].attempt,
        outcome: Outcome::Retry {
            at: Utc::now() - chrono::Duration::seconds(1),
            error: crate::job::AttemptError {
                attempt: first[0].attempt,
                at: Utc::now(),
                code: "X".into(),
                message: "x".into(),
                worker: "w".into(),
            },
        },
    };
    ok("retry", store.complete(&[retry]).await)?;
    // One per partition: a's job is the retried one (its turn comes before a's second job).
    let next = fetch(&store, 10).await?;
    let mut got: Vec<(i64, i32)> = next.iter().map(|j| (j.id, j.attempt)).collect();
    got.sort();
    let mut keys = partitions_of(&next);
    keys.sort();
    ensure!(
        keys == ["a", "b"] && got.contains(&(first[0].id, 2)),
        "after a's retry: {got:?} {keys:?}"
    );
    Ok(())
}

/// A job scheduled for later holds its partition's first turn but is not due: the partition's
/// next job goes instead, and the scheduled one is not claimed.
async fn a_job_not_due_yet_is_passed_over_until_it_is(store: Arc<dyn Store>) -> CheckResult {
    one_per_partition(&store).await?;
    let mut later = job("a");
    later.scheduled_at = Some(Utc::now() + chrono::Duration::hours(1));
    let held = ok("insert", store.insert_many(vec![later]).await)?[0].id;
    insert(&store, &["a", "b"]).await?;
    let got = fetch(&store, 10).await?;
    ensure!(
        got.len() == 2 && got.iter().all(|j| j.id != held),
        "claimed {:?} (the scheduled job is {held})",
        got.iter().map(|j| j.id).collect::<Vec<_>>()
    );
    Ok(())
}

/// 20,000 of a's jobs come first in the order (a higher priority), more than one claim may
/// read (about 16,500 entries for a claim of 10), and b's one job after them: with a at its
/// limit, a claim stops at its bound and the next goes on from where it stopped, reaching b.
async fn a_job_behind_a_long_stretch_of_a_partition_at_its_limit_is_reached(
    store: Arc<dyn Store>,
) -> CheckResult {
    one_per_partition(&store).await?;
    insert(&store, &["a"; 20_000]).await?;
    let mut last = job("b");
    last.priority = 2;
    ok("insert", store.insert_many(vec![last]).await)?;
    let first = partitions_of(&fetch(&store, 10).await?);
    ensure!(first == ["a"], "first claim: {first:?}");
    let second = partitions_of(&fetch(&store, 10).await?);
    ensure!(second == ["b"], "second claim: {second:?}");
    ensure!(
        fetch(&store, 10).await?.is_empty(),
        "claimed past the limits"
    );
    Ok(())
}

/// A partition's last tag that the kind's virtual time has passed says nothing (its next tag
/// comes from the virtual time either way): the leader's prune deletes it, and keeps the
/// last tags still ahead.
async fn partitions_last_tags_the_virtual_time_passed_are_pruned(
    store: Arc<dyn Store>,
) -> CheckResult {
    one_per_partition(&store).await?;
    let lease = ok(
        "try_lead",
        store.try_lead("pruner", Duration::from_secs(60)).await,
    )?
    .ok_or("no lease")?;
    insert(&store, &["a", "b"]).await?;
    // Both first jobs run: the virtual time reaches their tags; c's is still ahead.
    let ran = one_at_a_time(&store, 2).await?;
    ensure!(ran.len() == 2, "ran {ran:?}");
    insert(&store, &["c"]).await?;
    let before = Utc::now() - chrono::Duration::hours(1);
    let pruned = ok(
        "prune",
        store.prune_limit_buckets(&lease, before, 100).await,
    )?;
    ensure!(
        pruned == 2,
        "pruned {pruned} rows, a's and b's last tags are 2"
    );
    let again = ok(
        "prune",
        store.prune_limit_buckets(&lease, before, 100).await,
    )?;
    ensure!(
        again == 0,
        "pruned {again} more: c's last tag is still ahead"
    );
    // Pruned or not, a partition's next job goes by the virtual time: a and c alternate.
    insert(&store, &["a"]).await?;
    let order = one_at_a_time(&store, 2).await?;
    ensure!(order == ["c", "a"], "after the prune: {order:?}");
    Ok(())
}

//! Rollouts on both backends: a shadow candidate that differs and panics never reaches the
//! job's consumer and is reported; percent mode gives a stable share of keys; a mode change
//! reaches a running worker within seconds; hung, failing and capped candidates.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use specline_queue::maintenance::{Maintenance, MaintenanceConfig, RoundTimers};
use specline_queue::rollout::{report, Role, ShadowOutcome, ShadowResult};
use specline_queue::{
    Client, Comparison, InsertOpts, JobContext, JobError, JobKind, JobState, NewJob, Registry,
    Rollout, RolloutMode, RolloutOptions, Worker, WorkerHandle,
};

use common::Harness;

/// Squares `n`; `key` is the rollout key (an owner).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Square {
    n: i64,
    key: String,
}
impl JobKind for Square {
    const KIND: &'static str = "square";
    const QUEUE: &'static str = "rollout";
}

/// What the job's consumer received, and which side served, by `n`.
#[derive(Default)]
struct Seen {
    results: Mutex<HashMap<i64, i64>>,
    served: Mutex<HashMap<String, Vec<Role>>>,
    candidate_calls: AtomicUsize,
}

/// How the candidate behaves for `n` (the primary squares).
type Behaviour = Arc<dyn Fn(i64) -> CandidateDoes + Send + Sync>;

enum CandidateDoes {
    Square,
    Answer(i64),
    Panic,
    Fail,
    Hang,
    /// Wait for a permit of the gate, then square.
    Gate(Arc<tokio::sync::Semaphore>),
}

fn compare(p: &i64, c: &i64) -> Comparison {
    if p == c {
        Comparison::Match
    } else {
        Comparison::Mismatch {
            similarity: 0.5,
            diff: serde_json::json!({"off_by": c - p}),
        }
    }
}

fn registry(rollout: Rollout<i64>, seen: Arc<Seen>, behaviour: Behaviour) -> Registry {
    Registry::new().register(move |ctx: JobContext, job: Square| {
        let (rollout, seen, behaviour) = (rollout.clone(), seen.clone(), behaviour.clone());
        async move {
            let n = job.n;
            let (s1, s2) = (seen.clone(), seen.clone());
            let key = job.key.clone();
            let (k1, k2) = (key.clone(), key.clone());
            let out = rollout
                .run(
                    &ctx,
                    &key,
                    move |v| async move {
                        s1.served
                            .lock()
                            .unwrap()
                            .entry(k1)
                            .or_default()
                            .push(v.role());
                        Ok(n * n)
                    },
                    move |v| async move {
                        s2.candidate_calls.fetch_add(1, Ordering::SeqCst);
                        if !v.is_shadow() {
                            s2.served
                                .lock()
                                .unwrap()
                                .entry(k2)
                                .or_default()
                                .push(v.role());
                        }
                        match behaviour(n) {
                            CandidateDoes::Square => Ok(n * n),
                            CandidateDoes::Answer(a) => Ok(a),
                            CandidateDoes::Panic => panic!("candidate cannot square {n}"),
                            CandidateDoes::Fail => {
                                Err(JobError::permanent("CANDIDATE_BROKE", "no answer"))
                            }
                            CandidateDoes::Hang => {
                                futures::future::pending::<()>().await;
                                Ok(0)
                            }
                            CandidateDoes::Gate(gate) => {
                                let _pass = gate.acquire().await;
                                Ok(n * n)
                            }
                        }
                    },
                )
                .await?;
            // The consumer: what a user would get.
            seen.results.lock().unwrap().insert(n, out);
            Ok(())
        }
    })
}

async fn start(h: &Harness, rollout: Rollout<i64>, seen: Arc<Seen>, b: Behaviour) -> WorkerHandle {
    Worker::builder(h.store.clone())
        .registry(registry(rollout, seen, b))
        .queue("rollout", 8)
        .poll_interval(Duration::from_millis(50))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap()
}

async fn insert(h: &Harness, jobs: impl Iterator<Item = Square>) -> Vec<i64> {
    let jobs: Vec<NewJob> = jobs
        .map(|j| NewJob::new(&j, InsertOpts::default().max_attempts(1)).unwrap())
        .collect();
    let mut ids = Vec::new();
    for chunk in jobs.chunks(500) {
        ids.extend(
            Client::new(h.store.clone())
                .insert_many(chunk.to_vec())
                .await
                .unwrap()
                .into_iter()
                .map(|i| i.id),
        );
    }
    ids
}

/// Wait until `done()` holds, or panic naming `what` after `limit`.
async fn until<F, Fut>(what: &str, limit: Duration, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !done().await {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_finished(h: &Harness, n: i64) {
    until("jobs finished", Duration::from_secs(120), || async {
        h.count(JobState::Completed).await + h.count(JobState::Discarded).await >= n
    })
    .await;
}

fn options(max_shadows: usize) -> RolloutOptions {
    RolloutOptions {
        max_shadows,
        ..RolloutOptions::default()
    }
}

fn square(n: i64) -> Square {
    Square {
        n,
        key: format!("owner-{n}"),
    }
}

/// 200 jobs in shadow mode; the candidate is off by one on every tenth and panics on two.
async fn shadow_mode_serves_the_primary_and_reports_the_candidate(h: Harness) {
    h.store
        .rollouts()
        .set_rollout("square", RolloutMode::Shadow { sample: 1.0 }, "ops@test")
        .await
        .unwrap();
    let seen = Arc::new(Seen::default());
    let behaviour: Behaviour = Arc::new(|n| {
        if n % 10 == 0 {
            CandidateDoes::Answer(n * n + 1)
        } else if n % 100 == 5 {
            CandidateDoes::Panic
        } else {
            CandidateDoes::Square
        }
    });
    let rollout = Rollout::with_options("square", compare, options(1000));
    let worker = start(&h, rollout, seen.clone(), behaviour).await;
    insert(&h, (1..=200).map(square)).await;
    wait_finished(&h, 200).await;
    assert_eq!(h.count(JobState::Completed).await, 200, "no job fails");
    {
        let results = seen.results.lock().unwrap();
        assert_eq!(results.len(), 200);
        for n in 1..=200 {
            assert_eq!(
                results[&n],
                n * n,
                "the consumer got the primary's result for {n}"
            );
        }
    }
    let store = h.store.clone();
    until("200 shadow results", Duration::from_secs(60), || {
        let store = store.clone();
        async move {
            store
                .rollouts()
                .shadow_results("square", 1000)
                .await
                .unwrap()
                .len()
                == 200
        }
    })
    .await;
    assert_eq!(seen.candidate_calls.load(Ordering::SeqCst), 200);
    let r = report(h.store.as_ref(), "square", 10_000).await.unwrap();
    assert_eq!(r.results, 200);
    assert_eq!(r.count(ShadowOutcome::Match), 178);
    assert_eq!(r.count(ShadowOutcome::Mismatch), 20);
    assert_eq!(r.count(ShadowOutcome::CandidatePanic), 2);
    assert_eq!(r.count(ShadowOutcome::CandidateError), 0);
    assert_eq!(r.count(ShadowOutcome::PrimaryError), 0);
    assert_eq!(r.match_rate, Some(0.89));
    assert_eq!(r.top_mismatches.len(), 1);
    assert_eq!(r.top_mismatches[0].count, 20);
    assert_eq!(r.top_mismatches[0].diff, serde_json::json!({"off_by": 1}));
    assert_eq!(r.top_mismatches[0].similarity, 0.5);
    assert_eq!(r.failures.len(), 1);
    assert_eq!(r.failures[0].count, 2);
    assert_eq!(r.failures[0].code, "PANIC");
    assert!(
        r.failures[0].example.contains("candidate cannot square"),
        "{}",
        r.failures[0].example
    );
    assert!(r.primary.p50_ms.is_some() && r.candidate.p95_ms.is_some());
    let text = r.to_string();
    assert!(
        text.contains("rollout square: shadow (set by ops@test"),
        "{text}"
    );
    assert!(text.contains("match rate: 89.0%"), "{text}");
    assert!(text.contains("{\"off_by\":1}"), "{text}");
    let panics = h
        .store
        .rollouts()
        .shadow_results("square", 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.outcome == ShadowOutcome::CandidatePanic)
        .map(|r| r.key)
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(
        panics,
        ["owner-105".to_string(), "owner-5".to_string()].into()
    );
    worker.shutdown(Duration::from_secs(10)).await.unwrap();
}

/// 10% of 2,000 keys on the candidate, each key always on the same side.
async fn percent_mode_gives_each_key_one_side(h: Harness) {
    h.store
        .rollouts()
        .set_rollout("square", RolloutMode::Percent(10), "ops@test")
        .await
        .unwrap();
    let seen = Arc::new(Seen::default());
    let rollout = Rollout::with_options("square", compare, options(4));
    let worker = start(
        &h,
        rollout,
        seen.clone(),
        Arc::new(|_| CandidateDoes::Square),
    )
    .await;
    insert(&h, (1..=2000).map(square)).await;
    wait_finished(&h, 2000).await;
    // The first 300 keys again.
    insert(&h, (1..=300).map(square)).await;
    wait_finished(&h, 2300).await;
    assert_eq!(h.count(JobState::Completed).await, 2300);
    let served = seen.served.lock().unwrap().clone();
    assert_eq!(served.len(), 2000);
    let candidate = served
        .values()
        .filter(|sides| sides[0] == Role::Candidate)
        .count();
    let share = candidate as f64 / 2000.0;
    assert!((0.08..=0.12).contains(&share), "candidate share {share}");
    for n in 1..=300 {
        let sides = &served[&format!("owner-{n}")];
        assert_eq!(sides.len(), 2, "{sides:?}");
        assert_eq!(sides[0], sides[1], "owner-{n} flipped sides");
    }
    // Percent mode runs one side per job: nothing is shadowed.
    let candidate_runs = served
        .values()
        .flatten()
        .filter(|r| **r == Role::Candidate)
        .count();
    assert_eq!(seen.candidate_calls.load(Ordering::SeqCst), candidate_runs);
    drop(served);
    assert!(h
        .store
        .rollouts()
        .shadow_results("square", 10)
        .await
        .unwrap()
        .is_empty());
    worker.shutdown(Duration::from_secs(10)).await.unwrap();
}

/// An operator's change reaches a worker that is running, without a restart, in under 5 s.
async fn a_mode_change_reaches_a_running_worker(h: Harness) {
    h.store
        .rollouts()
        .set_rollout("square", RolloutMode::Percent(100), "ops@test")
        .await
        .unwrap();
    let seen = Arc::new(Seen::default());
    let rollout = Rollout::with_options("square", compare, options(4));
    let worker = start(
        &h,
        rollout,
        seen.clone(),
        Arc::new(|_| CandidateDoes::Square),
    )
    .await;
    let side = |n: i64| {
        let seen = seen.clone();
        let h = &h;
        async move {
            let id = insert(h, std::iter::once(square(n))).await[0];
            h.wait_state(id, JobState::Completed, Duration::from_secs(30))
                .await;
            let served = seen.served.lock().unwrap();
            *served[&format!("owner-{n}")].last().unwrap()
        }
    };
    assert_eq!(side(1).await, Role::Candidate);
    let changed = Instant::now();
    let change = h
        .store
        .rollouts()
        .set_rollout("square", RolloutMode::Percent(0), "ops@test")
        .await
        .unwrap();
    assert_eq!(
        (change.from, change.to),
        (RolloutMode::Percent(100), RolloutMode::Percent(0))
    );
    let mut n = 2;
    loop {
        if side(n).await == Role::Primary {
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_secs(5),
            "still on the candidate after 5 s"
        );
        n += 1;
    }
    let took = changed.elapsed();
    assert!(took < Duration::from_secs(5), "the change took {took:?}");
    // Every change is recorded, newest first: who, from, to.
    h.store
        .rollouts()
        .set_rollout("square", RolloutMode::Off, "lead@test")
        .await
        .unwrap();
    let history = h
        .store
        .rollouts()
        .rollout_history("square", 10)
        .await
        .unwrap();
    let steps: Vec<(String, String, String)> = history
        .iter()
        .map(|c| (c.actor.clone(), c.from.to_string(), c.to.to_string()))
        .collect();
    assert_eq!(
        steps,
        [
            (
                "lead@test".to_string(),
                "percent 0".to_string(),
                "off".to_string()
            ),
            ("ops@test".into(), "percent 100".into(), "percent 0".into()),
            ("ops@test".into(), "off".into(), "percent 100".into()),
        ]
    );
    assert!(history[0].at >= history[1].at && history[0].id > history[1].id);
    let listed = h.store.rollouts().list_rollouts().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].mode, listed[0].updated_by.as_str()),
        (RolloutMode::Off, "lead@test")
    );
    worker.shutdown(Duration::from_secs(10)).await.unwrap();
}

/// A candidate that hangs is stopped at its timeout and one that fails is recorded; the
/// jobs complete with the primary's results.
async fn hung_and_failing_candidates_are_recorded(h: Harness) {
    h.store
        .rollouts()
        .set_rollout("square", RolloutMode::parse("shadow").unwrap(), "ops@test")
        .await
        .unwrap();
    let seen = Arc::new(Seen::default());
    let rollout = Rollout::with_options(
        "square",
        compare,
        RolloutOptions {
            candidate_timeout: Duration::from_millis(300),
            ..RolloutOptions::default()
        },
    );
    let behaviour: Behaviour = Arc::new(|n| {
        if n == 1 {
            CandidateDoes::Hang
        } else {
            CandidateDoes::Fail
        }
    });
    let worker = start(&h, rollout, seen.clone(), behaviour).await;
    insert(&h, (1..=2).map(square)).await;
    wait_finished(&h, 2).await;
    assert_eq!(h.count(JobState::Completed).await, 2);
    assert_eq!(seen.results.lock().unwrap()[&1], 1);
    let store = h.store.clone();
    until("two results", Duration::from_secs(30), || {
        let store = store.clone();
        async move {
            store
                .rollouts()
                .shadow_results("square", 10)
                .await
                .unwrap()
                .len()
                == 2
        }
    })
    .await;
    let results: HashMap<String, _> = h
        .store
        .rollouts()
        .shadow_results("square", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.key.clone(), r))
        .collect();
    let hung = &results["owner-1"];
    assert_eq!(hung.outcome, ShadowOutcome::CandidateTimeout);
    assert!(hung.error.as_deref().unwrap().starts_with("TIMEOUT:"));
    assert!(hung.candidate_us >= 300_000, "{}", hung.candidate_us);
    let failed = &results["owner-2"];
    assert_eq!(failed.outcome, ShadowOutcome::CandidateError);
    assert_eq!(failed.error.as_deref(), Some("CANDIDATE_BROKE: no answer"));
    worker.shutdown(Duration::from_secs(10)).await.unwrap();
}

/// With one shadow permit, a busy candidate makes the next sampled jobs run without theirs;
/// and a sampling rate of 0 runs none.
async fn the_shadow_cap_and_sampling_bound_the_candidate(h: Harness) {
    h.store
        .rollouts()
        .set_rollout("square", RolloutMode::Shadow { sample: 1.0 }, "ops@test")
        .await
        .unwrap();
    let seen = Arc::new(Seen::default());
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let rollout = Rollout::with_options(
        "square",
        compare,
        RolloutOptions {
            max_shadows: 1,
            refresh: Duration::ZERO,
            ..RolloutOptions::default()
        },
    );
    let g = gate.clone();
    let behaviour: Behaviour = Arc::new(move |n| {
        if n == 1 {
            CandidateDoes::Gate(g.clone())
        } else {
            CandidateDoes::Square
        }
    });
    let worker = start(&h, rollout, seen.clone(), behaviour).await;
    // Job 1's candidate holds the only permit (and job 1's slot) until the gate opens,
    // while 2..=6 run.
    let first = insert(&h, std::iter::once(square(1))).await[0];
    let calls = seen.clone();
    until("job 1's candidate started", Duration::from_secs(30), || {
        let calls = calls.clone();
        async move { calls.candidate_calls.load(Ordering::SeqCst) == 1 }
    })
    .await;
    insert(&h, (2..=6).map(square)).await;
    wait_finished(&h, 5).await;
    assert_eq!(h.job(first).await.state, JobState::Running);
    assert_eq!(seen.candidate_calls.load(Ordering::SeqCst), 1);
    gate.add_permits(1);
    h.wait_state(first, JobState::Completed, Duration::from_secs(30))
        .await;
    // Recorded before the job completed.
    let results = h
        .store
        .rollouts()
        .shadow_results("square", 10)
        .await
        .unwrap();
    assert_eq!(
        (results[0].key.as_str(), results[0].outcome),
        ("owner-1", ShadowOutcome::Match)
    );
    // Sampling 0: shadow mode, and no candidate runs.
    h.store
        .rollouts()
        .set_rollout("square", RolloutMode::Shadow { sample: 0.0 }, "ops@test")
        .await
        .unwrap();
    insert(&h, (7..=26).map(square)).await;
    wait_finished(&h, 26).await;
    assert_eq!(seen.candidate_calls.load(Ordering::SeqCst), 1);
    assert_eq!(h.count(JobState::Completed).await, 26);
    worker.shutdown(Duration::from_secs(10)).await.unwrap();
}

/// The maintenance leader deletes shadow results older than `retain_rollout_results` and
/// keeps the newer ones.
async fn old_shadow_results_are_pruned(h: Harness) {
    let day = chrono::Duration::days(1);
    let now = chrono::Utc::now();
    for (job_id, at) in [
        (1, now - day * 45),
        (2, now - day * 31),
        (3, now - day * 29),
        (4, now),
    ] {
        let result = ShadowResult {
            rollout: "square".into(),
            job_id,
            key: format!("owner-{job_id}"),
            outcome: ShadowOutcome::Match,
            similarity: Some(1.0),
            diff: None,
            error: None,
            primary_us: 10,
            candidate_us: 12,
            at,
        };
        h.store.rollouts().record_shadow(&result).await.unwrap();
    }
    let maintenance = Maintenance::new(h.store.clone(), MaintenanceConfig::default());
    maintenance
        .run_once(&mut RoundTimers::default())
        .await
        .unwrap();
    let mut kept: Vec<i64> = h
        .store
        .rollouts()
        .shadow_results("square", 10)
        .await
        .unwrap()
        .iter()
        .map(|r| r.job_id)
        .collect();
    kept.sort();
    assert_eq!(kept, [3, 4], "30 days are kept by default");
}

on_both_backends!(
    old_shadow_results_are_pruned,
    shadow_mode_serves_the_primary_and_reports_the_candidate,
    percent_mode_gives_each_key_one_side,
    a_mode_change_reaches_a_running_worker,
    hung_and_failing_candidates_are_recorded,
    the_shadow_cap_and_sampling_bound_the_candidate,
);

//! The conformance suite: every engine behaviour, on PostgreSQL and on SQLite.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use specline_queue::maintenance::RoundTimers;
use specline_queue::store::PruneSpec;
use specline_queue::{
    Backoff, CancelOutcome, Catalog, Client, Error, InsertOpts, JobContext, JobError, JobFilter,
    JobKind, JobState, KindOptions, Maintenance, MaintenanceConfig, NewJob, PeriodicJob, Registry,
    Schedule, UniqueOpts, Worker,
};

use common::Harness;

const SECS5: Duration = Duration::from_secs(5);
const SECS10: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Echo {
    n: i64,
}
impl JobKind for Echo {
    const KIND: &'static str = "echo";
    const QUEUE: &'static str = "default";
    fn options() -> KindOptions {
        KindOptions {
            backoff: Backoff::fixed(Duration::from_millis(20)),
            ..KindOptions::default()
        }
    }
}

/// A kind whose handler decides its outcome from the arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Behave {
    Ok,
    FailTimes(i32),
    AlwaysRetryable,
    Permanent,
    Cancel,
    SnoozeOnce,
    Panic,
    Sleep(u64),
    WaitForCancel,
}
impl JobKind for Behave {
    const KIND: &'static str = "behave";
    const QUEUE: &'static str = "behave";
    fn options() -> KindOptions {
        KindOptions {
            timeout: Duration::from_millis(300),
            max_attempts: 3,
            backoff: Backoff::fixed(Duration::from_millis(20)),
            ..KindOptions::default()
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Slow {
    ms: u64,
}
impl JobKind for Slow {
    const KIND: &'static str = "slow";
    const QUEUE: &'static str = "slow";
    fn options() -> KindOptions {
        KindOptions {
            timeout: Duration::from_secs(120),
            ..KindOptions::default()
        }
    }
}

fn behave_registry(ran: Arc<AtomicUsize>) -> Registry {
    Registry::new().register(move |ctx: JobContext, b: Behave| {
        let ran = ran.clone();
        async move {
            ran.fetch_add(1, Ordering::SeqCst);
            match b {
                Behave::Ok => Ok(()),
                Behave::FailTimes(n) if ctx.attempt <= n => Err(JobError::retryable(
                    "FLAKY",
                    format!("attempt {}", ctx.attempt),
                )),
                Behave::FailTimes(_) => Ok(()),
                Behave::AlwaysRetryable => Err(JobError::retryable("ALWAYS", "nope")),
                Behave::Permanent => Err(JobError::permanent("BAD_INPUT", "cannot ever work")),
                Behave::Cancel => Err(JobError::cancel("not wanted any more")),
                Behave::SnoozeOnce => {
                    if ctx.metadata().get("snoozed").is_none()
                        && ctx.scheduled_at <= ctx.created_at + chrono::Duration::milliseconds(5)
                    {
                        Err(JobError::snooze(Duration::from_millis(100)))
                    } else {
                        Ok(())
                    }
                }
                Behave::Panic => panic!("boom at attempt {}", ctx.attempt),
                Behave::Sleep(ms) => {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    Ok(())
                }
                Behave::WaitForCancel => {
                    ctx.cancelled().await;
                    Ok(())
                }
            }
        }
    })
}

async fn behave_worker(h: &Harness, ran: Arc<AtomicUsize>) -> specline_queue::WorkerHandle {
    Worker::builder(h.store.clone())
        .registry(behave_registry(ran))
        .queue("behave", 10)
        .poll_interval(Duration::from_millis(100))
        .heartbeat_interval(Duration::from_millis(100))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap()
}

async fn echo_worker(
    h: &Harness,
    seen: Arc<Mutex<Vec<i64>>>,
    concurrency: usize,
) -> specline_queue::WorkerHandle {
    Worker::builder(h.store.clone())
        .registry(Registry::new().register(move |_ctx: JobContext, e: Echo| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(e.n);
                Ok(())
            }
        }))
        .queue("default", concurrency)
        .poll_interval(Duration::from_millis(100))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap()
}

/// Run one `Behave` job until it reaches `state`; returns the job and how often the handler ran.
async fn behave_until(h: &Harness, b: Behave, state: JobState) -> (specline_queue::Job, usize) {
    let ran = Arc::new(AtomicUsize::new(0));
    let id = insert_behave(h, b).await;
    let w = behave_worker(h, ran.clone()).await;
    let job = h.wait_state(id, state, SECS10).await;
    w.shutdown(SECS5).await.unwrap();
    (job, ran.load(Ordering::SeqCst))
}

async fn insert_behave(h: &Harness, b: Behave) -> i64 {
    Client::new(h.store.clone()).insert(&b).await.unwrap().id
}

// ---------------------------------------------------------------------------------------------

async fn job_runs_and_completes_with_its_history(h: Harness) {
    let client = Client::new(h.store.clone());
    let id = client
        .insert_with(
            &Echo { n: 7 },
            InsertOpts::default()
                .tag("t1")
                .metadata(serde_json::json!({"who": "test"})),
        )
        .await
        .unwrap()
        .id;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let w = echo_worker(&h, seen.clone(), 5).await;
    let worker_id = w.id().to_string();
    let job = h.wait_state(id, JobState::Completed, SECS10).await;
    w.shutdown(SECS5).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![7]);
    assert_eq!(job.attempt, 1);
    assert_eq!(job.attempted_by, vec![worker_id]);
    assert_eq!(job.kind, "echo");
    assert_eq!(job.queue, "default");
    assert_eq!(job.args, serde_json::json!({"n": 7}));
    assert_eq!(job.tags, vec!["t1".to_string()]);
    assert_eq!(job.metadata, serde_json::json!({"who": "test"}));
    assert!(job.errors.is_empty());
    assert!(job.finalized_at.is_some());
}

async fn insert_into_an_undeclared_queue_is_rejected(h: Harness) {
    let client = Client::new(h.store.clone());
    let err = client
        .insert_with(&Echo { n: 1 }, InsertOpts::default().queue("other"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "WRONG_QUEUE");
    assert!(err.to_string().contains("`echo`"), "{err}");
    assert_eq!(h.count(JobState::Available).await, 0);
}

async fn worker_refuses_to_start_without_a_handler_for_a_kind_of_its_queue(h: Harness) {
    #[derive(Serialize, Deserialize)]
    struct Other;
    impl JobKind for Other {
        const KIND: &'static str = "other_in_default";
        const QUEUE: &'static str = "default";
    }
    let catalog = Catalog::new().kind::<Echo>().kind::<Other>();
    let err = Worker::builder(h.store.clone())
        .catalog(catalog)
        .registry(Registry::new().register(|_c: JobContext, _e: Echo| async { Ok(()) }))
        .queue("default", 1)
        .build()
        .err()
        .expect("must refuse");
    match err {
        Error::UnhandledKind { kind, queue } => {
            assert_eq!(kind, "other_in_default");
            assert_eq!(queue, "default");
        }
        other => panic!("wrong error {other}"),
    }
}

async fn two_hundred_concurrent_identical_unique_inserts_give_one_job(h: Harness) {
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let store = h.store.clone();
        tasks.push(tokio::spawn(async move {
            Client::new(store)
                .insert_with(
                    &Echo { n: 42 },
                    InsertOpts::default().unique(UniqueOpts::by_args()),
                )
                .await
                .unwrap()
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let id = results[0].id;
    assert!(
        results.iter().all(|r| r.id == id),
        "every caller learns the same job"
    );
    assert_eq!(results.iter().filter(|r| !r.duplicate).count(), 1);
    assert_eq!(results.iter().filter(|r| r.duplicate).count(), 199);
    assert_eq!(h.count(JobState::Available).await, 1);
}

async fn unique_inserts_work_in_bulk(h: Harness) {
    let u = || InsertOpts::default().unique(UniqueOpts::by_args());
    let jobs = vec![
        NewJob::new(&Echo { n: 1 }, u()).unwrap(),
        NewJob::new(&Echo { n: 2 }, u()).unwrap(),
        NewJob::new(&Echo { n: 1 }, u()).unwrap(),
        NewJob::new(&Echo { n: 3 }, InsertOpts::default()).unwrap(),
        NewJob::new(&Echo { n: 3 }, InsertOpts::default()).unwrap(),
    ];
    let out = Client::new(h.store.clone())
        .insert_many(jobs)
        .await
        .unwrap();
    assert_eq!(out.len(), 5);
    assert!(!out[0].duplicate && !out[1].duplicate);
    assert_eq!(out[2].id, out[0].id);
    assert!(out[2].duplicate);
    assert_ne!(out[3].id, out[4].id, "non-unique jobs are never merged");
    assert_eq!(h.count(JobState::Available).await, 4);
    // A second bulk insert of an existing key returns the existing job.
    let again = Client::new(h.store.clone())
        .insert_many(vec![NewJob::new(&Echo { n: 2 }, u()).unwrap()])
        .await
        .unwrap();
    assert_eq!(again[0].id, out[1].id);
    assert!(again[0].duplicate);
    // Order of results follows input order for plain jobs.
    let plain: Vec<NewJob> = (100..150)
        .map(|n| NewJob::new(&Echo { n }, InsertOpts::default()).unwrap())
        .collect();
    let out = Client::new(h.store.clone())
        .insert_many(plain)
        .await
        .unwrap();
    for (i, ins) in out.iter().enumerate() {
        let job = h.job(ins.id).await;
        assert_eq!(job.args["n"], serde_json::json!(100 + i as i64));
    }
}

async fn uniqueness_holds_only_among_the_chosen_states(h: Harness) {
    let client = Client::new(h.store.clone());
    let pending_only = UniqueOpts::by_key("k1").states(&[
        JobState::Available,
        JobState::Running,
        JobState::Retryable,
        JobState::Scheduled,
    ]);
    let first = client
        .insert_with(
            &Echo { n: 1 },
            InsertOpts::default().unique(pending_only.clone()),
        )
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let w = echo_worker(&h, seen, 2).await;
    h.wait_state(first.id, JobState::Completed, SECS10).await;
    // Completed is not among the states: a new job may be inserted.
    let second = client
        .insert_with(&Echo { n: 1 }, InsertOpts::default().unique(pending_only))
        .await
        .unwrap();
    assert!(!second.duplicate);
    assert_ne!(second.id, first.id);
    h.wait_state(second.id, JobState::Completed, SECS10).await;
    // With the default states (completed included) the completed job blocks a new one.
    let with_completed = UniqueOpts::by_key("k2");
    let a = client
        .insert_with(
            &Echo { n: 2 },
            InsertOpts::default().unique(with_completed.clone()),
        )
        .await
        .unwrap();
    h.wait_state(a.id, JobState::Completed, SECS10).await;
    let b = client
        .insert_with(&Echo { n: 2 }, InsertOpts::default().unique(with_completed))
        .await
        .unwrap();
    assert!(b.duplicate);
    assert_eq!(b.id, a.id);
    w.shutdown(SECS5).await.unwrap();
}

async fn scheduled_jobs_wait_for_their_time(h: Harness) {
    let client = Client::new(h.store.clone());
    let at = Utc::now() + chrono::Duration::milliseconds(1200);
    let id = client
        .insert_with(&Echo { n: 5 }, InsertOpts::default().scheduled_at(at))
        .await
        .unwrap()
        .id;
    assert_eq!(h.job(id).await.state, JobState::Scheduled);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let w = echo_worker(&h, seen.clone(), 2).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(seen.lock().unwrap().is_empty(), "ran before its time");
    let job = h.wait_state(id, JobState::Completed, SECS10).await;
    assert!(job.attempted_at.unwrap() >= at);
    w.shutdown(SECS5).await.unwrap();
}

async fn higher_priority_runs_first(h: Harness) {
    let client = Client::new(h.store.clone());
    let mut jobs = Vec::new();
    for n in 0..5 {
        jobs.push(NewJob::new(&Echo { n }, InsertOpts::default().priority(4)).unwrap());
    }
    jobs.push(NewJob::new(&Echo { n: 100 }, InsertOpts::default().priority(1)).unwrap());
    client.insert_many(jobs).await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let w = echo_worker(&h, seen.clone(), 1).await;
    for _ in 0..200 {
        if seen.lock().unwrap().len() == 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    w.shutdown(SECS5).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen, vec![100, 0, 1, 2, 3, 4]);
}

async fn retryable_errors_retry_then_succeed(h: Harness) {
    let (job, ran) = behave_until(&h, Behave::FailTimes(2), JobState::Completed).await;
    assert_eq!(job.attempt, 3);
    assert_eq!(job.errors.len(), 2);
    assert_eq!(job.errors[0].code, "FLAKY");
    assert_eq!(job.errors[0].attempt, 1);
    assert_eq!(job.errors[1].attempt, 2);
    assert_eq!(job.errors[1].message, "attempt 2");
    assert_eq!(job.attempted_by.len(), 3);
    assert_eq!(ran, 3);
}

async fn exhausted_retries_discard_with_the_full_history(h: Harness) {
    let (job, ran) = behave_until(&h, Behave::AlwaysRetryable, JobState::Discarded).await;
    assert_eq!(job.attempt, 3);
    let codes: Vec<&str> = job.errors.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, vec!["ALWAYS", "ALWAYS", "ALWAYS"]);
    assert_eq!(ran, 3);
}

async fn permanent_errors_discard_at_once(h: Harness) {
    let (job, ran) = behave_until(&h, Behave::Permanent, JobState::Discarded).await;
    assert_eq!(job.attempt, 1);
    assert_eq!(job.errors.len(), 1);
    assert_eq!(job.errors[0].code, "BAD_INPUT");
    assert_eq!(ran, 1);
}

async fn cancel_error_cancels_the_job(h: Harness) {
    let (job, _) = behave_until(&h, Behave::Cancel, JobState::Cancelled).await;
    assert_eq!(job.errors[0].code, "CANCELLED");
    assert_eq!(job.errors[0].message, "not wanted any more");
}

async fn snooze_reschedules_without_using_an_attempt(h: Harness) {
    let (job, ran) = behave_until(&h, Behave::SnoozeOnce, JobState::Completed).await;
    assert_eq!(ran, 2, "ran once, snoozed, ran again");
    assert_eq!(job.attempt, 1, "the snoozed run did not count");
    assert!(job.errors.is_empty());
    assert_eq!(job.attempted_by.len(), 2);
}

async fn a_panic_is_recorded_as_retryable_with_code_panic(h: Harness) {
    let (job, _) = behave_until(&h, Behave::Panic, JobState::Discarded).await;
    assert_eq!(
        job.errors.len(),
        3,
        "a panic is retryable, so all attempts ran"
    );
    assert!(job.errors.iter().all(|e| e.code == "PANIC"));
    assert!(
        job.errors[0].message.contains("boom at attempt 1"),
        "{}",
        job.errors[0].message
    );
}

async fn a_timeout_cancels_the_handler_and_records_timeout(h: Harness) {
    let (job, _) = behave_until(&h, Behave::Sleep(10_000), JobState::Discarded).await;
    assert_eq!(job.errors.len(), 3);
    assert!(job.errors.iter().all(|e| e.code == "TIMEOUT"));
}

async fn cancelling_a_running_job_stops_it(h: Harness) {
    let id = insert_behave(&h, Behave::WaitForCancel).await;
    let w = behave_worker(&h, Arc::new(AtomicUsize::new(0))).await;
    h.wait_state(id, JobState::Running, SECS10).await;
    let out = Client::new(h.store.clone()).cancel(id).await.unwrap();
    assert_eq!(out, CancelOutcome::Requested);
    let job = h.wait_state(id, JobState::Cancelled, SECS5).await;
    w.shutdown(SECS5).await.unwrap();
    assert!(job.cancel_requested);
    assert_eq!(job.errors.last().unwrap().code, "CANCELLED");
}

async fn cancelling_pending_and_finished_jobs(h: Harness) {
    let client = Client::new(h.store.clone());
    let id = client.insert(&Echo { n: 1 }).await.unwrap().id;
    assert_eq!(client.cancel(id).await.unwrap(), CancelOutcome::Cancelled);
    assert_eq!(h.job(id).await.state, JobState::Cancelled);
    assert_eq!(
        client.cancel(id).await.unwrap(),
        CancelOutcome::AlreadyFinal(JobState::Cancelled)
    );
    assert_eq!(
        client.cancel(999_999).await.unwrap_err().code(),
        "NOT_FOUND"
    );
}

async fn retry_and_discard_by_id(h: Harness) {
    let client = Client::new(h.store.clone());
    let id = insert_behave(&h, Behave::Permanent).await;
    let w = behave_worker(&h, Arc::new(AtomicUsize::new(0))).await;
    h.wait_state(id, JobState::Discarded, SECS10).await;
    let job = client.retry(id).await.unwrap();
    assert_eq!(job.state, JobState::Available);
    let job = h.wait_state(id, JobState::Discarded, SECS10).await;
    assert_eq!(job.attempt, 2, "retry by id gave it one more attempt");
    w.shutdown(SECS5).await.unwrap();
    let pending = client.insert(&Echo { n: 3 }).await.unwrap().id;
    let job = client.discard(pending).await.unwrap();
    assert_eq!(job.state, JobState::Discarded);
    assert_eq!(
        client.discard(424_242).await.unwrap_err().code(),
        "NOT_FOUND"
    );
}

async fn paused_queues_are_not_fetched_until_resumed(h: Harness) {
    let client = Client::new(h.store.clone());
    client.pause_queue("default").await.unwrap();
    assert_eq!(
        h.store.paused_queues().await.unwrap(),
        vec!["default".to_string()]
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let w = echo_worker(&h, seen.clone(), 2).await;
    let id = client.insert(&Echo { n: 9 }).await.unwrap().id;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        seen.lock().unwrap().is_empty(),
        "a paused queue was fetched"
    );
    client.resume_queue("default").await.unwrap();
    h.wait_state(id, JobState::Completed, SECS5).await;
    w.shutdown(SECS5).await.unwrap();
}

async fn pruner_deletes_old_finished_jobs_only(h: Harness) {
    let client = Client::new(h.store.clone());
    let done = client.insert(&Echo { n: 1 }).await.unwrap().id;
    let pending = client.insert(&Echo { n: 2 }).await.unwrap().id;
    client.cancel(done).await.unwrap();
    let lease = h.store.try_lead("pruner", SECS10).await.unwrap().unwrap();
    let far_past = Utc::now() - chrono::Duration::days(1);
    let spec = |cancelled_before| PruneSpec {
        completed_before: far_past,
        cancelled_before,
        discarded_before: far_past,
        limit: 100,
    };
    assert_eq!(h.store.prune(&lease, spec(far_past)).await.unwrap(), 0);
    let n = h
        .store
        .prune(&lease, spec(Utc::now() + chrono::Duration::seconds(1)))
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert!(h.store.get_job(done).await.unwrap().is_none());
    assert!(h.store.get_job(pending).await.unwrap().is_some());
}

async fn leadership_is_exclusive_and_fenced(h: Harness) {
    // Long enough that the checks made while a holds the lease finish inside it on a loaded
    // machine (300 ms failed once under load 8); the wait below outlasts it.
    let ttl = Duration::from_millis(2000);
    let a = h.store.try_lead("a", ttl).await.unwrap().expect("a leads");
    assert!(
        h.store.try_lead("b", ttl).await.unwrap().is_none(),
        "b cannot lead while a holds"
    );
    let renewed = h.store.try_lead("a", ttl).await.unwrap().unwrap();
    assert_eq!(renewed.term, a.term, "renewal keeps the term");
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let b = h
        .store
        .try_lead("b", ttl)
        .await
        .unwrap()
        .expect("b leads after a's lease expired");
    assert!(b.term > a.term);
    // a's stale lease can no longer act.
    let client = Client::new(h.store.clone());
    let id = client.insert(&Echo { n: 1 }).await.unwrap().id;
    client.cancel(id).await.unwrap();
    let future = Utc::now() + chrono::Duration::seconds(5);
    let spec = PruneSpec {
        completed_before: future,
        cancelled_before: future,
        discarded_before: future,
        limit: 10,
    };
    assert_eq!(h.store.prune(&a, spec).await.unwrap(), 0, "fenced");
    assert_eq!(h.store.prune(&b, spec).await.unwrap(), 1);
    h.store.resign(&b).await.unwrap();
    assert!(
        h.store.try_lead("c", ttl).await.unwrap().is_some(),
        "resigning frees the lease at once"
    );
}

async fn periodic_jobs_fire_once_per_tick_with_two_competing_leaders(h: Harness) {
    let store2 = h.reopen().await;
    let mk = |store: Arc<dyn specline_queue::store::Store>, id: &str| {
        Maintenance::new(
            store,
            MaintenanceConfig {
                id: id.into(),
                lease_ttl: Duration::from_millis(400),
                tick: Duration::from_millis(50),
                ..MaintenanceConfig::default()
            },
        )
        .periodic(PeriodicJob::new(
            "every-second",
            Schedule::every(Duration::from_secs(1)).unwrap(),
            Echo { n: 0 },
        ))
    };
    let a = mk(h.store.clone(), "node-a");
    let b = mk(store2, "node-b");
    // Both nodes run rounds concurrently; leadership moves when a node stops renewing.
    let start = Utc::now();
    let mut ta = RoundTimers::default();
    let mut tb = RoundTimers::default();
    let mut a_led = false;
    let mut b_led = false;
    let until = std::time::Instant::now() + Duration::from_millis(3500);
    let mut round = 0;
    while std::time::Instant::now() < until {
        round += 1;
        // a starts alone and leads; b joins and competes; a goes away for a while and b must
        // take over; then both compete again.
        let a_active = !(20..45).contains(&round);
        let b_active = round >= 10;
        let (ra, rb) = tokio::join!(
            async {
                if a_active {
                    a.run_once(&mut ta).await.unwrap()
                } else {
                    None
                }
            },
            async {
                if b_active {
                    b.run_once(&mut tb).await.unwrap()
                } else {
                    None
                }
            }
        );
        assert!(!(ra.is_some() && rb.is_some()), "two leaders at once");
        a_led |= ra.is_some();
        b_led |= rb.is_some();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        a_led && b_led,
        "leadership should have moved (a: {a_led}, b: {b_led})"
    );
    let jobs = h
        .store
        .list_jobs(&specline_queue::JobFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut ticks: Vec<String> = jobs
        .iter()
        .map(|j| j.metadata["tick"].as_str().unwrap().to_string())
        .collect();
    ticks.sort();
    let total = ticks.len();
    ticks.dedup();
    assert_eq!(ticks.len(), total, "a tick fired twice: {ticks:?}");
    // Ticks are consecutive seconds from (start - lease look-back) to now: no gap.
    let parsed: Vec<chrono::DateTime<Utc>> = ticks.iter().map(|t| t.parse().unwrap()).collect();
    for w in parsed.windows(2) {
        assert_eq!(
            (w[1] - w[0]).num_milliseconds(),
            1000,
            "gap in ticks {ticks:?}"
        );
    }
    assert!(parsed.last().unwrap() > &(start + chrono::Duration::seconds(2)));
}

async fn graceful_shutdown_lets_running_jobs_finish(h: Harness) {
    let id = Client::new(h.store.clone())
        .insert(&Slow { ms: 400 })
        .await
        .unwrap()
        .id;
    let w = slow_worker(&h).await;
    h.wait_state(id, JobState::Running, SECS5).await;
    let report = w.shutdown(SECS5).await.unwrap();
    assert_eq!(report.interrupted, 0);
    assert_eq!(h.job(id).await.state, JobState::Completed);
}

async fn shutdown_deadline_puts_unfinished_jobs_back_as_retryable(h: Harness) {
    let id = Client::new(h.store.clone())
        .insert(&Slow { ms: 60_000 })
        .await
        .unwrap()
        .id;
    let w = slow_worker(&h).await;
    h.wait_state(id, JobState::Running, SECS5).await;
    let started = std::time::Instant::now();
    let report = w.shutdown(Duration::from_millis(300)).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(report.interrupted, 1);
    let job = h.job(id).await;
    assert_eq!(job.state, JobState::Retryable);
    assert_eq!(job.attempt, 0, "an interrupted attempt is not counted");
    assert_eq!(job.errors.last().unwrap().code, "SHUTDOWN");
}

fn slow_registry() -> Registry {
    Registry::new().register(|_c: JobContext, s: Slow| async move {
        tokio::time::sleep(Duration::from_millis(s.ms)).await;
        Ok(())
    })
}

async fn slow_worker(h: &Harness) -> specline_queue::WorkerHandle {
    Worker::builder(h.store.clone())
        .registry(slow_registry())
        .queue("slow", 4)
        .poll_interval(Duration::from_millis(100))
        .heartbeat_interval(Duration::from_millis(100))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap()
}

async fn a_binary_can_override_the_declared_timeout(h: Harness) {
    // `Slow` declares 120 s; a binary's setting of 200 ms wins.
    let id = Client::new(h.store.clone())
        .insert(&Slow { ms: 60_000 })
        .await
        .unwrap()
        .id;
    let w = Worker::builder(h.store.clone())
        .registry(slow_registry().with_timeout(Duration::from_millis(200)))
        .queue("slow", 1)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let job = h.wait_state(id, JobState::Retryable, SECS10).await;
    w.shutdown(SECS5).await.unwrap();
    assert_eq!(job.errors[0].code, "TIMEOUT");
}

async fn jobs_of_a_dead_worker_are_rescued_and_run_again(h: Harness) {
    let client = Client::new(h.store.clone());
    let id = client.insert(&Slow { ms: 10 }).await.unwrap().id;
    // A "worker" claims the job and dies without ever recording it.
    h.store
        .register_worker("ghost", &["slow".to_string()])
        .await
        .unwrap();
    let claimed = h.store.fetch("slow", 10, "ghost").await.unwrap();
    assert_eq!(claimed.len(), 1);
    let m = Maintenance::new(
        h.store.clone(),
        MaintenanceConfig {
            rescue_after: Duration::from_millis(300),
            ..MaintenanceConfig::default()
        },
    );
    let mut timers = RoundTimers::default();
    m.run_once(&mut timers).await.unwrap().expect("leads");
    assert_eq!(
        h.job(id).await.state,
        JobState::Running,
        "not rescued while the heartbeat is fresh"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut timers = RoundTimers::default();
    m.run_once(&mut timers).await.unwrap();
    let job = h.job(id).await;
    assert_eq!(job.state, JobState::Retryable);
    assert_eq!(job.errors[0].code, "RESCUED");
    assert_eq!(job.errors[0].worker, "ghost");
    let w = slow_worker(&h).await;
    let job = h.wait_state(id, JobState::Completed, SECS10).await;
    w.shutdown(SECS5).await.unwrap();
    assert_eq!(job.attempt, 2);
    assert_eq!(job.attempted_by[0], "ghost");
}

async fn long_jobs_are_never_rescued_while_their_worker_lives(h: Harness) {
    // The job runs 2.5 times as long as `rescue_after`, and heartbeats come every 100 ms:
    // ten beats per rescue window, so a loaded CI machine's scheduling stalls do not pass
    // for a dead worker (400 ms, four beats, was seen rescued once under load 8).
    let id = Client::new(h.store.clone())
        .insert(&Slow { ms: 2500 })
        .await
        .unwrap()
        .id;
    let w = slow_worker(&h).await;
    let m = Maintenance::new(
        h.store.clone(),
        MaintenanceConfig {
            rescue_after: Duration::from_millis(1000),
            rescue_interval: Duration::from_millis(50),
            tick: Duration::from_millis(50),
            ..MaintenanceConfig::default()
        },
    )
    .start();
    let job = h.wait_state(id, JobState::Completed, SECS10).await;
    m.shutdown().await;
    w.shutdown(SECS5).await.unwrap();
    assert_eq!(job.attempt, 1);
    assert!(job.errors.is_empty(), "{:?}", job.errors);
}

async fn args_that_do_not_deserialize_are_discarded_with_invalid_args(h: Harness) {
    let spec = Echo::spec();
    let job = NewJob::from_spec(
        &spec,
        serde_json::json!({"n": "not a number"}),
        InsertOpts::default(),
    )
    .unwrap();
    let id = h.store.insert_many(vec![job]).await.unwrap()[0].id;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let w = echo_worker(&h, seen.clone(), 1).await;
    let job = h.wait_state(id, JobState::Discarded, SECS10).await;
    w.shutdown(SECS5).await.unwrap();
    assert_eq!(job.attempt, 1);
    assert_eq!(job.errors[0].code, "INVALID_ARGS");
    assert!(
        job.errors[0].message.contains("echo"),
        "{}",
        job.errors[0].message
    );
    assert!(seen.lock().unwrap().is_empty());
}

async fn an_unknown_kind_is_reported_and_not_spun_on(h: Harness) {
    let spec = specline_queue::KindSpec {
        kind: "mystery".into(),
        queues: vec!["default".into()],
        options: KindOptions {
            max_attempts: 2,
            ..KindOptions::default()
        },
    };
    let job = NewJob::from_spec(&spec, serde_json::json!({}), InsertOpts::default()).unwrap();
    let id = h.store.insert_many(vec![job]).await.unwrap()[0].id;
    let w = echo_worker(&h, Arc::new(Mutex::new(Vec::new())), 1).await;
    let job = h.wait_state(id, JobState::Retryable, SECS10).await;
    assert_eq!(job.errors[0].code, "UNKNOWN_KIND");
    assert!(job.errors[0].message.contains("mystery"));
    assert!(
        job.scheduled_at > Utc::now(),
        "backs off instead of spinning"
    );
    w.shutdown(SECS5).await.unwrap();
}

async fn bulk_insert_of_many_jobs_keeps_order_and_count(h: Harness) {
    let jobs: Vec<NewJob> = (0..2500)
        .map(|n| NewJob::new(&Echo { n }, InsertOpts::default()).unwrap())
        .collect();
    let out = Client::new(h.store.clone())
        .insert_many(jobs)
        .await
        .unwrap();
    assert_eq!(out.len(), 2500);
    let mut ids: Vec<i64> = out.iter().map(|i| i.id).collect();
    let sorted = {
        let mut s = ids.clone();
        s.sort();
        s
    };
    assert_eq!(ids, sorted, "ids follow input order");
    ids.dedup();
    assert_eq!(ids.len(), 2500);
    assert_eq!(h.count(JobState::Available).await, 2500);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let w = echo_worker(&h, seen.clone(), 50).await;
    for _ in 0..500 {
        if h.count(JobState::Completed).await == 2500 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    w.shutdown(SECS5).await.unwrap();
    assert_eq!(h.count(JobState::Completed).await, 2500);
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(
        seen,
        (0..2500).collect::<Vec<_>>(),
        "each job ran exactly once"
    );
}

async fn worker_refuses_an_unmigrated_database(h: Harness) {
    // A fresh, unmigrated SQLite file.
    let dir = tempfile::tempdir().unwrap();
    let raw = specline_queue::store::SqliteStore::open(specline_queue::store::SqliteConfig::new(
        dir.path().join("x.db"),
    ))
    .await
    .unwrap();
    let err = Worker::builder(Arc::new(raw))
        .registry(Registry::new().register(|_c: JobContext, _e: Echo| async { Ok(()) }))
        .queue("default", 1)
        .build()
        .unwrap()
        .start()
        .await
        .err()
        .expect("must refuse");
    assert_eq!(err.code(), "SCHEMA_MISMATCH");
    assert!(err.to_string().contains("specline migrate"));
    drop(h);
}

async fn heartbeat_reports_cancel_requests_for_the_workers_running_jobs(h: Harness) {
    // The backstop for a cancel signal that arrived before the worker tracked the job.
    let client = Client::new(h.store.clone());
    let id = client.insert(&Slow { ms: 10 }).await.unwrap().id;
    let other = client.insert(&Slow { ms: 10 }).await.unwrap().id;
    h.store
        .register_worker("w1", &["slow".to_string()])
        .await
        .unwrap();
    let claimed = h.store.fetch("slow", 1, "w1").await.unwrap();
    assert_eq!(claimed[0].id, id);
    assert!(h.store.heartbeat("w1").await.unwrap().is_empty());
    assert_eq!(client.cancel(id).await.unwrap(), CancelOutcome::Requested);
    assert_eq!(h.store.heartbeat("w1").await.unwrap(), vec![id]);
    assert!(
        h.store.heartbeat("w2").await.unwrap().is_empty(),
        "only the job's own worker is told"
    );
    assert_eq!(h.job(other).await.state, JobState::Available);
}

/// A kind with nested args, for the list filters.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Doc {
    repo: DocRepo,
    langs: Vec<String>,
    n: i64,
}
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DocRepo {
    name: String,
    branch: String,
}
impl JobKind for Doc {
    const KIND: &'static str = "doc";
    const QUEUE: &'static str = "docs";
}

fn doc(name: &str, branch: &str, langs: &[&str], n: i64) -> Doc {
    Doc {
        repo: DocRepo {
            name: name.into(),
            branch: branch.into(),
        },
        langs: langs.iter().map(|l| l.to_string()).collect(),
        n,
    }
}

async fn insert_doc(client: &Client, d: Doc, opts: InsertOpts) -> i64 {
    client.insert_with(&d, opts).await.unwrap().id
}

/// Ids of the jobs `filter` lists, in the order listed.
async fn listed(h: &Harness, filter: JobFilter) -> Vec<i64> {
    h.store
        .list_jobs(&filter)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect()
}

fn tags(t: &[&str]) -> JobFilter {
    JobFilter {
        tags: t.iter().map(|t| t.to_string()).collect(),
        ..Default::default()
    }
}

async fn list_filters_by_tags_carrying_all_of_them(h: Harness) {
    let client = Client::new(h.store.clone());
    let ab = insert_doc(
        &client,
        doc("r", "main", &[], 1),
        InsertOpts::default().tag("a").tag("b"),
    )
    .await;
    let a = insert_doc(
        &client,
        doc("r", "main", &[], 2),
        InsertOpts::default().tag("a"),
    )
    .await;
    let b = insert_doc(
        &client,
        doc("r", "main", &[], 3),
        InsertOpts::default().tag("b"),
    )
    .await;
    let none = insert_doc(&client, doc("r", "main", &[], 4), InsertOpts::default()).await;
    assert_eq!(listed(&h, tags(&["a"])).await, vec![a, ab]);
    assert_eq!(listed(&h, tags(&["b"])).await, vec![b, ab]);
    assert_eq!(listed(&h, tags(&["b", "a"])).await, vec![ab]);
    assert_eq!(listed(&h, tags(&["a", "c"])).await, Vec::<i64>::new());
    assert_eq!(listed(&h, tags(&[])).await, vec![none, b, a, ab]);
    // The limit applies after the tag filter: a page is full of matching jobs.
    let page = JobFilter {
        limit: 1,
        ..tags(&["b"])
    };
    assert_eq!(listed(&h, page).await, vec![b]);
}

async fn list_filters_by_args_containment(h: Harness) {
    let client = Client::new(h.store.clone());
    let o = InsertOpts::default;
    let x = insert_doc(&client, doc("x", "main", &["rust", "go"], 1), o()).await;
    let y = insert_doc(&client, doc("y", "main", &["python"], 2), o()).await;
    let x_dev = insert_doc(&client, doc("x", "dev", &["go"], 3), o()).await;
    let args = |v: serde_json::Value| JobFilter {
        args: Some(v),
        ..Default::default()
    };
    use serde_json::json;
    assert_eq!(
        listed(&h, args(json!({"repo": {"name": "x"}}))).await,
        vec![x_dev, x]
    );
    assert_eq!(
        listed(&h, args(json!({"repo": {"name": "x", "branch": "main"}}))).await,
        vec![x]
    );
    assert_eq!(
        listed(&h, args(json!({"langs": ["go"]}))).await,
        vec![x_dev, x]
    );
    assert_eq!(
        listed(&h, args(json!({"langs": ["go", "rust"]}))).await,
        vec![x]
    );
    assert_eq!(
        listed(&h, args(json!({"langs": "go"}))).await,
        Vec::<i64>::new()
    );
    assert_eq!(listed(&h, args(json!({"n": 2.0}))).await, vec![y]);
    assert_eq!(listed(&h, args(json!({"n": "2"}))).await, Vec::<i64>::new());
    assert_eq!(
        listed(&h, args(json!({"repo": {"owner": "x"}}))).await,
        Vec::<i64>::new()
    );
    assert_eq!(listed(&h, args(json!({}))).await, vec![x_dev, y, x]);
    for bad in [json!(["x"]), json!("x"), json!(1), serde_json::Value::Null] {
        let err = h.store.list_jobs(&args(bad.clone())).await.unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGS", "{bad}");
        let err = h
            .store
            .list_jobs(&JobFilter {
                metadata: Some(bad.clone()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGS", "{bad}");
    }
}

async fn list_filters_by_metadata_containment(h: Harness) {
    use serde_json::json;
    let client = Client::new(h.store.clone());
    let with = |m: serde_json::Value| InsertOpts::default().metadata(m);
    let p1 = insert_doc(
        &client,
        doc("r", "main", &[], 1),
        with(json!({"source": {"user": "ann"}, "labels": ["p1", "ui"]})),
    )
    .await;
    let p2 = insert_doc(
        &client,
        doc("r", "main", &[], 2),
        with(json!({"source": {"user": "bob"}, "labels": ["p2"]})),
    )
    .await;
    let meta = |v: serde_json::Value| JobFilter {
        metadata: Some(v),
        ..Default::default()
    };
    assert_eq!(
        listed(&h, meta(json!({"source": {"user": "ann"}}))).await,
        vec![p1]
    );
    assert_eq!(listed(&h, meta(json!({"labels": ["p2"]}))).await, vec![p2]);
    assert_eq!(listed(&h, meta(json!({"labels": []}))).await, vec![p2, p1]);
    assert_eq!(listed(&h, meta(json!({"n": 1}))).await, Vec::<i64>::new());
    // Args and metadata are separate documents.
    assert_eq!(
        listed(
            &h,
            JobFilter {
                args: Some(json!({"source": {"user": "ann"}})),
                ..Default::default()
            }
        )
        .await,
        Vec::<i64>::new()
    );
}

async fn the_cursor_pages_through_every_match_once(h: Harness) {
    let client = Client::new(h.store.clone());
    let mut tagged = Vec::new();
    for n in 0..23 {
        let opts = if n % 3 == 0 {
            InsertOpts::default()
        } else {
            InsertOpts::default().tag("keep")
        };
        let id = insert_doc(&client, doc("r", "main", &[], n), opts).await;
        if n % 3 != 0 {
            tagged.push(id);
        }
    }
    tagged.reverse();
    let mut seen = Vec::new();
    let mut before_id = None;
    let mut pages = 0;
    loop {
        let page = listed(
            &h,
            JobFilter {
                before_id,
                limit: 4,
                ..tags(&["keep"])
            },
        )
        .await;
        pages += 1;
        assert!(page.len() <= 4);
        assert!(
            page.iter().all(|id| !seen.contains(id)),
            "page {pages} repeats a job: {page:?} after {seen:?}"
        );
        let Some(&last) = page.last() else { break };
        seen.extend(page);
        before_id = Some(last);
    }
    assert_eq!(seen, tagged, "every tagged job, newest first, once, no gap");
    assert_eq!(pages, tagged.len().div_ceil(4) + 1);
}

on_both_backends!(
    list_filters_by_tags_carrying_all_of_them,
    list_filters_by_args_containment,
    list_filters_by_metadata_containment,
    the_cursor_pages_through_every_match_once,
    a_binary_can_override_the_declared_timeout,
    heartbeat_reports_cancel_requests_for_the_workers_running_jobs,
    job_runs_and_completes_with_its_history,
    insert_into_an_undeclared_queue_is_rejected,
    worker_refuses_to_start_without_a_handler_for_a_kind_of_its_queue,
    two_hundred_concurrent_identical_unique_inserts_give_one_job,
    unique_inserts_work_in_bulk,
    uniqueness_holds_only_among_the_chosen_states,
    scheduled_jobs_wait_for_their_time,
    higher_priority_runs_first,
    retryable_errors_retry_then_succeed,
    exhausted_retries_discard_with_the_full_history,
    permanent_errors_discard_at_once,
    cancel_error_cancels_the_job,
    snooze_reschedules_without_using_an_attempt,
    a_panic_is_recorded_as_retryable_with_code_panic,
    a_timeout_cancels_the_handler_and_records_timeout,
    cancelling_a_running_job_stops_it,
    cancelling_pending_and_finished_jobs,
    retry_and_discard_by_id,
    paused_queues_are_not_fetched_until_resumed,
    pruner_deletes_old_finished_jobs_only,
    leadership_is_exclusive_and_fenced,
    periodic_jobs_fire_once_per_tick_with_two_competing_leaders,
    graceful_shutdown_lets_running_jobs_finish,
    shutdown_deadline_puts_unfinished_jobs_back_as_retryable,
    jobs_of_a_dead_worker_are_rescued_and_run_again,
    long_jobs_are_never_rescued_while_their_worker_lives,
    args_that_do_not_deserialize_are_discarded_with_invalid_args,
    an_unknown_kind_is_reported_and_not_spun_on,
    bulk_insert_of_many_jobs_keeps_order_and_count,
    worker_refuses_an_unmigrated_database,
);

//! The driver conformance suite: the contract of every lifecycle statement
//! ([`crate::lifecycle::Statements`]), checked on a real database through
//! [`Store::apply_ops`].
//!
//! The engine-level suites (`tests/conformance.rs`, `pipeline.rs`, `crash.rs`) check what
//! users see; this one checks what the lifecycle relies on from a driver: each statement
//! applies only while its fence holds (a job's attempt and `running` state, a run's state and
//! step, the leader's lease, a worker's liveness), reports what it did entry by entry, and a
//! transaction of statements commits whole or not at all. A new backend runs it as
//! `tests/driver.rs` does for PostgreSQL and SQLite:
//!
//! ```ignore
//! let failures = specline_queue::driver_tests::run(|| async { (fresh_store().await, guard) }).await;
//! assert!(failures.is_empty(), "{failures:#?}");
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::job::{AttemptError, Completion, FetchedJob, JobState, NewJob, Outcome};
use crate::lifecycle::{steps, Advanced, NewEvent, Retry, RunEvents, RunFailure, StepJob};
use crate::run::{EventStatus, RunState, RunSubmission, StepSpec};
use crate::store::{Op, OpResult, Rescue, Store};
use crate::unique::UniqueOpts;

/// What a check returns: `Err` names what did not hold.
pub type CheckResult = std::result::Result<(), String>;

type CheckFuture = Pin<Box<dyn Future<Output = CheckResult> + Send>>;

/// One named check, run on a fresh, migrated store.
pub type Check = fn(Arc<dyn Store>) -> CheckFuture;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// Turn an engine error into a check failure naming the step.
fn ok<T>(what: &str, r: crate::Result<T>) -> std::result::Result<T, String> {
    r.map_err(|e| format!("{what}: {e}"))
}

/// Every check of the suite, by name.
pub fn checks() -> Vec<(&'static str, Check)> {
    vec![
        ("complete_jobs_applies_once_per_running_attempt", |s| {
            Box::pin(complete_jobs_applies_once_per_running_attempt(s))
        }),
        ("record_outcomes_is_fenced_and_reports_each_job", |s| {
            Box::pin(record_outcomes_is_fenced_and_reports_each_job(s))
        }),
        ("advance_steps_completes_and_advances_once", |s| {
            Box::pin(advance_steps_completes_and_advances_once(s))
        }),
        (
            "advance_steps_leaves_a_run_that_is_not_running_alone",
            |s| Box::pin(advance_steps_leaves_a_run_that_is_not_running_alone(s)),
        ),
        (
            "append_events_takes_gapless_seqs_and_honours_only_if_running",
            |s| Box::pin(append_events_takes_gapless_seqs_and_honours_only_if_running(s)),
        ),
        ("fail_runs_fails_a_running_run_once", |s| {
            Box::pin(fail_runs_fails_a_running_run_once(s))
        }),
        ("insert_step_jobs_returns_ids_in_input_order", |s| {
            Box::pin(insert_step_jobs_returns_ids_in_input_order(s))
        }),
        ("step_jobs_carry_the_metadata_of_their_step", |s| {
            Box::pin(step_jobs_carry_the_metadata_of_their_step(s))
        }),
        ("a_transaction_of_statements_is_atomic", |s| {
            Box::pin(a_transaction_of_statements_is_atomic(s))
        }),
        ("rescue_jobs_is_fenced_by_lease_attempt_and_liveness", |s| {
            Box::pin(rescue_jobs_is_fenced_by_lease_attempt_and_liveness(s))
        }),
        ("cancel_and_discard_respect_the_jobs_state", |s| {
            Box::pin(cancel_and_discard_respect_the_jobs_state(s))
        }),
        ("retry_job_is_fenced_by_the_running_state", |s| {
            Box::pin(retry_job_is_fenced_by_the_running_state(s))
        }),
        ("stop_run_jobs_stops_the_runs_unfinished_jobs", |s| {
            Box::pin(stop_run_jobs_stops_the_runs_unfinished_jobs(s))
        }),
        ("unique_states_follow_the_job_state_bits", |s| {
            Box::pin(unique_states_follow_the_job_state_bits(s))
        }),
    ]
}

/// Run every check, each on a fresh store from `fresh` (its guard, e.g. a temporary schema,
/// is dropped after the check). Returns the failures as (check, what did not hold).
pub async fn run<F, Fut, G>(fresh: F) -> Vec<(String, String)>
where
    F: Fn() -> Fut,
    Fut: Future<Output = (Arc<dyn Store>, G)>,
{
    run_checks(checks(), fresh).await
}

/// Run these checks as [`run`] does.
pub async fn run_checks<F, Fut, G>(
    checks: Vec<(&'static str, Check)>,
    fresh: F,
) -> Vec<(String, String)>
where
    F: Fn() -> Fut,
    Fut: Future<Output = (Arc<dyn Store>, G)>,
{
    let mut failures = Vec::new();
    for (name, check) in checks {
        let (store, guard) = fresh().await;
        if let Err(e) = check(store).await {
            failures.push((name.to_string(), e));
        }
        drop(guard);
    }
    failures
}

fn new_job(queue: &str) -> NewJob {
    NewJob {
        kind: "driver_test".into(),
        queue: queue.into(),
        args: serde_json::json!({}),
        priority: 1,
        max_attempts: 3,
        scheduled_at: None,
        unique_key: None,
        unique_states: 0,
        metadata: serde_json::json!({}),
        tags: Vec::new(),
        partition_key: None,
    }
}

/// Insert a plain job and claim it as `worker`.
async fn running_job(
    store: &Arc<dyn Store>,
    queue: &str,
    worker: &str,
) -> Result<FetchedJob, String> {
    ok("insert", store.insert_many(vec![new_job(queue)]).await)?;
    let mut got = ok("fetch", store.fetch(queue, 1, worker).await)?;
    got.pop().ok_or_else(|| "fetch claimed nothing".to_string())
}

fn spec(kind: &str, queue: &str) -> StepSpec {
    StepSpec {
        kind: kind.into(),
        queue: queue.into(),
        max_attempts: 3,
        priority: 1,
        result_ttl_secs: 3600,
        partition_key: None,
        after: None,
        map_over: None,
        allow_failure: false,
        metadata: None,
    }
}

/// Submit a run of steps `a` (queue `dq_a`) then `b` (queue `dq_b`); returns its id.
async fn two_step_run(store: &Arc<dyn Store>) -> Result<i64, String> {
    let sub = RunSubmission {
        owner: "driver".into(),
        pipeline: "driver_pipe".into(),
        steps: vec![spec("a", "dq_a"), spec("b", "dq_b")],
        input: serde_json::json!({}),
        idempotency: None,
    };
    Ok(ok("submit", store.submit_run(sub).await)?.run_id)
}

async fn apply(store: &Arc<dyn Store>, ops: Vec<Op>) -> Result<Vec<OpResult>, String> {
    ok("apply_ops", store.apply_ops(ops).await)
}

async fn one(store: &Arc<dyn Store>, op: Op) -> Result<OpResult, String> {
    apply(store, vec![op])
        .await?
        .pop()
        .ok_or_else(|| "apply_ops returned no result".to_string())
}

async fn state_of(store: &Arc<dyn Store>, id: i64) -> Result<JobState, String> {
    Ok(ok("get_job", store.get_job(id).await)?
        .ok_or_else(|| format!("job {id} is gone"))?
        .state)
}

fn error(attempt: i32, code: &str) -> AttemptError {
    AttemptError {
        attempt,
        at: Utc::now(),
        code: code.into(),
        message: format!("{code} in the driver suite"),
        worker: "w".into(),
    }
}

async fn complete_jobs_applies_once_per_running_attempt(store: Arc<dyn Store>) -> CheckResult {
    let job = running_job(&store, "dq", "w").await?;
    let stale = one(&store, Op::CompleteJobs(vec![(job.id, job.attempt + 1)])).await?;
    ensure!(
        stale == OpResult::Count(0),
        "another attempt completed the job: {stale:?}"
    );
    ensure!(
        state_of(&store, job.id).await? == JobState::Running,
        "a stale completion changed the job"
    );
    let done = one(&store, Op::CompleteJobs(vec![(job.id, job.attempt)])).await?;
    ensure!(
        done == OpResult::Count(1),
        "the running attempt did not complete: {done:?}"
    );
    ensure!(
        state_of(&store, job.id).await? == JobState::Completed,
        "the job is not completed"
    );
    let again = one(&store, Op::CompleteJobs(vec![(job.id, job.attempt)])).await?;
    ensure!(
        again == OpResult::Count(0),
        "a completed job completed again: {again:?}"
    );
    Ok(())
}

async fn record_outcomes_is_fenced_and_reports_each_job(store: Arc<dyn Store>) -> CheckResult {
    let a = running_job(&store, "dq", "w").await?;
    let b = running_job(&store, "dq", "w").await?;
    let retry = |id, attempt| Completion {
        id,
        attempt,
        outcome: Outcome::Retry {
            at: Utc::now(),
            error: error(attempt, "AGAIN"),
        },
    };
    let snooze = Completion {
        id: b.id,
        attempt: b.attempt,
        outcome: Outcome::Snooze {
            at: Utc::now() + chrono::Duration::hours(1),
            error: None,
        },
    };
    let got = one(
        &store,
        Op::RecordOutcomes(vec![retry(a.id, a.attempt + 1), snooze]),
    )
    .await?;
    let OpResult::Ended(ended) = got else {
        return Err(format!("record_outcomes answered {got:?}"));
    };
    ensure!(ended.len() == 2, "one entry per input expected: {ended:?}");
    ensure!(
        ended[0].is_none(),
        "a stale attempt's outcome applied: {ended:?}"
    );
    ensure!(
        ended[1]
            .as_ref()
            .is_some_and(|e| e.kind == "driver_test" && e.run_id.is_none()),
        "the snooze was not reported with its job: {ended:?}"
    );
    let b_now = ok("get_job", store.get_job(b.id).await)?.ok_or("job b is gone")?;
    ensure!(
        b_now.state == JobState::Scheduled && b_now.attempt == b.attempt - 1,
        "a snooze must schedule the job and not count the attempt: {:?} attempt {}",
        b_now.state,
        b_now.attempt
    );
    let got = one(&store, Op::RecordOutcomes(vec![retry(a.id, a.attempt)])).await?;
    ensure!(
        matches!(&got, OpResult::Ended(e) if e[0].is_some()),
        "the running attempt's retry did not apply: {got:?}"
    );
    let a_now = ok("get_job", store.get_job(a.id).await)?.ok_or("job a is gone")?;
    ensure!(
        a_now.state == JobState::Retryable
            && a_now.errors.last().is_some_and(|e| e.code == "AGAIN"),
        "a retry must make the job retryable with its error recorded: {a_now:?}"
    );
    Ok(())
}

/// Claim the run's pending step job in `queue`.
async fn claim_step(store: &Arc<dyn Store>, queue: &str) -> Result<FetchedJob, String> {
    let mut got = ok("fetch", store.fetch(queue, 1, "w").await)?;
    let job = got
        .pop()
        .ok_or_else(|| format!("no step job to claim in {queue}"))?;
    ensure!(
        job.run_id.is_some(),
        "a fetched step job must carry its run"
    );
    Ok(job)
}

async fn completion_of(
    store: &Arc<dyn Store>,
    job: &FetchedJob,
    index: usize,
) -> Result<crate::run::StepCompletion, String> {
    let run_id = job.run_id.ok_or("no run")?;
    let run = ok("get_run", store.get_run(run_id).await)?.ok_or("the run is gone")?;
    ok(
        "completion",
        steps::completion(
            &run,
            job.id,
            job.attempt,
            index,
            None,
            serde_json::json!({ "n": index }),
        ),
    )
}

async fn advance_steps_completes_and_advances_once(store: Arc<dyn Store>) -> CheckResult {
    let run_id = two_step_run(&store).await?;
    let job = claim_step(&store, "dq_a").await?;
    let mut stale = completion_of(&store, &job, 0).await?;
    stale.attempt += 1;
    let got = one(&store, Op::AdvanceSteps(vec![stale])).await?;
    let none = Advanced {
        job_completed: false,
        run_advanced: false,
    };
    ensure!(
        got == OpResult::Advanced(vec![none]),
        "a stale attempt advanced: {got:?}"
    );
    let c = completion_of(&store, &job, 0).await?;
    let got = one(&store, Op::AdvanceSteps(vec![c.clone()])).await?;
    let both = Advanced {
        job_completed: true,
        run_advanced: true,
    };
    ensure!(
        got == OpResult::Advanced(vec![both]),
        "the step did not complete and advance: {got:?}"
    );
    let run = ok("get_run", store.get_run(run_id).await)?.ok_or("the run is gone")?;
    ensure!(
        run.current_step == 1 && run.state == RunState::Running,
        "the run did not move to step 1: {run:?}"
    );
    let outputs = ok("step_outputs", store.step_outputs(run_id).await)?;
    ensure!(
        outputs == vec![("a".to_string(), serde_json::json!({ "n": 0 }))],
        "the step's checkpoint is not its output: {outputs:?}"
    );
    let got = one(&store, Op::AdvanceSteps(vec![c])).await?;
    ensure!(
        got == OpResult::Advanced(vec![none]),
        "a completed step advanced again: {got:?}"
    );
    Ok(())
}

async fn advance_steps_leaves_a_run_that_is_not_running_alone(
    store: Arc<dyn Store>,
) -> CheckResult {
    let run_id = two_step_run(&store).await?;
    let job = claim_step(&store, "dq_a").await?;
    let c = completion_of(&store, &job, 0).await?;
    let failure = stop(run_id);
    let got = apply(
        &store,
        vec![Op::FailRuns(vec![failure]), Op::AdvanceSteps(vec![c])],
    )
    .await?;
    let want = Advanced {
        job_completed: true,
        run_advanced: false,
    };
    ensure!(
        got.get(1) == Some(&OpResult::Advanced(vec![want])),
        "a failed run advanced (or its step did not complete): {got:?}"
    );
    let run = ok("get_run", store.get_run(run_id).await)?.ok_or("the run is gone")?;
    ensure!(
        run.current_step == 0 && run.state == RunState::Failed,
        "the failed run changed: {run:?}"
    );
    Ok(())
}

/// A failure of `run_id` with code `STOP`.
fn stop(run_id: i64) -> RunFailure {
    RunFailure {
        run_id,
        job_id: None,
        stage: None,
        code: "STOP".into(),
        message: "stopped".into(),
    }
}

fn ev(status: EventStatus, progress: Option<i16>) -> NewEvent {
    NewEvent {
        job_id: None,
        stage: Some("s".into()),
        status,
        progress,
        payload: None,
        step_only: false,
    }
}

async fn append_events_takes_gapless_seqs_and_honours_only_if_running(
    store: Arc<dyn Store>,
) -> CheckResult {
    let run_id = two_step_run(&store).await?;
    let before = ok("run_events", store.run_events(run_id, 0, 100).await)?;
    let last = before.last().map_or(0, |e| e.seq);
    let batch = RunEvents::new(run_id, true)
        .push(ev(EventStatus::Progress, Some(40)))
        .push(ev(EventStatus::Progress, None));
    one(&store, Op::AppendEvents(vec![batch])).await?;
    let after = ok("run_events", store.run_events(run_id, last, 100).await)?;
    let seqs: Vec<i64> = after.iter().map(|e| e.seq).collect();
    ensure!(
        seqs == vec![last + 1, last + 2],
        "seqs are not consecutive after {last}: {seqs:?}"
    );
    ensure!(
        after.iter().all(|e| e.progress == 40),
        "an event without progress must get the run's: {after:?}"
    );
    let failure = stop(run_id);
    one(&store, Op::FailRuns(vec![failure])).await?;
    let gated = RunEvents::new(run_id, true).push(ev(EventStatus::Progress, Some(50)));
    let forced = RunEvents::new(run_id, false).push(ev(EventStatus::Failed, None));
    one(&store, Op::AppendEvents(vec![gated, forced])).await?;
    let tail = ok("run_events", store.run_events(run_id, last + 2, 100).await)?;
    let statuses: Vec<EventStatus> = tail.iter().map(|e| e.status).collect();
    ensure!(
        statuses == vec![EventStatus::Failed] && tail[0].seq == last + 3,
        "only the event not gated on a running run belongs after the failure: {tail:?}"
    );
    Ok(())
}

async fn fail_runs_fails_a_running_run_once(store: Arc<dyn Store>) -> CheckResult {
    let run_id = two_step_run(&store).await?;
    let f = RunFailure {
        run_id,
        job_id: None,
        stage: None,
        code: "FIRST".into(),
        message: "first".into(),
    };
    let mut second = f.clone();
    second.code = "SECOND".into();
    let got = apply(
        &store,
        vec![Op::FailRuns(vec![f]), Op::FailRuns(vec![second])],
    )
    .await?;
    ensure!(
        got == vec![OpResult::Flags(vec![true]), OpResult::Flags(vec![false])],
        "a run must fail once: {got:?}"
    );
    let run = ok("get_run", store.get_run(run_id).await)?.ok_or("the run is gone")?;
    ensure!(
        run.state == RunState::Failed
            && run.error_code.as_deref() == Some("FIRST")
            && run.finished_at.is_some(),
        "the first failure must stand: {run:?}"
    );
    Ok(())
}

/// A step's job is inserted with the metadata its step was given at submission (the trace
/// context of the submission), and a step without any gets `{}`.
async fn step_jobs_carry_the_metadata_of_their_step(store: Arc<dyn Store>) -> CheckResult {
    let run = two_step_run(&store).await?;
    let carried = serde_json::json!({
        "trace": {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    });
    let with = StepSpec {
        metadata: Some(carried.clone()),
        ..spec("b", "dq_b")
    };
    let jobs = vec![
        StepJob {
            run_id: run,
            index: 1,
            item: None,
            value: None,
            spec: with,
        },
        StepJob {
            run_id: two_step_run(&store).await?,
            index: 1,
            item: None,
            value: None,
            spec: spec("b", "dq_b"),
        },
    ];
    let got = one(&store, Op::InsertStepJobs(jobs)).await?;
    let OpResult::Ids(ids) = got else {
        return Err(format!("insert_step_jobs answered {got:?}"));
    };
    ensure!(ids.len() == 2, "one id per job expected: {ids:?}");
    let first = ok("get_job", store.get_job(ids[0]).await)?.ok_or("an inserted job is gone")?;
    ensure!(
        first.metadata == carried,
        "the step's metadata was not stored: {:?}",
        first.metadata
    );
    let second = ok("get_job", store.get_job(ids[1]).await)?.ok_or("an inserted job is gone")?;
    ensure!(
        second.metadata == serde_json::json!({}),
        "a step without metadata got {:?}",
        second.metadata
    );
    Ok(())
}

async fn insert_step_jobs_returns_ids_in_input_order(store: Arc<dyn Store>) -> CheckResult {
    let r1 = two_step_run(&store).await?;
    let r2 = two_step_run(&store).await?;
    let jobs = vec![
        StepJob {
            run_id: r2,
            index: 1,
            item: None,
            value: None,
            spec: spec("b", "dq_b"),
        },
        // An item carries its element in its arguments.
        StepJob {
            run_id: r1,
            index: 1,
            item: Some(3),
            value: Some(serde_json::json!({"path": "a.rs", "null": null})),
            spec: spec("b", "dq_b"),
        },
    ];
    let got = one(&store, Op::InsertStepJobs(jobs.clone())).await?;
    let OpResult::Ids(ids) = got else {
        return Err(format!("insert_step_jobs answered {got:?}"));
    };
    ensure!(ids.len() == 2, "one id per job expected: {ids:?}");
    for (job, id) in jobs.iter().zip(&ids) {
        let row = ok("get_job", store.get_job(*id).await)?.ok_or("an inserted job is gone")?;
        ensure!(
            row.args == job.args() && row.state == JobState::Available && row.queue == "dq_b",
            "job {id} is not the step job asked for at its place: {row:?}"
        );
    }
    Ok(())
}

async fn a_transaction_of_statements_is_atomic(store: Arc<dyn Store>) -> CheckResult {
    let job = running_job(&store, "dq", "w").await?;
    let run_id = two_step_run(&store).await?;
    let failure = stop(run_id);
    let res = store
        .apply_ops(vec![
            Op::CompleteJobs(vec![(job.id, job.attempt)]),
            Op::FailRuns(vec![failure]),
            Op::Abort,
        ])
        .await;
    ensure!(res.is_err(), "an aborted transaction reported success");
    ensure!(
        state_of(&store, job.id).await? == JobState::Running,
        "a statement before the abort was kept"
    );
    let run = ok("get_run", store.get_run(run_id).await)?.ok_or("the run is gone")?;
    ensure!(
        run.state == RunState::Running,
        "a run failure before the abort was kept"
    );
    Ok(())
}

async fn rescue_jobs_is_fenced_by_lease_attempt_and_liveness(store: Arc<dyn Store>) -> CheckResult {
    ok(
        "register",
        store.register_worker("live", &["dq".to_string()]).await,
    )?;
    let dead = running_job(&store, "dq", "dead").await?;
    let live = running_job(&store, "dq", "live").await?;
    let lease = ok(
        "try_lead",
        store.try_lead("leader", Duration::from_secs(30)).await,
    )?
    .ok_or("no lease")?;
    let rescue = |j: &FetchedJob, attempt| Rescue {
        id: j.id,
        attempt,
        state: JobState::Retryable,
        credit: false,
        error: error(attempt, "RESCUED"),
    };
    let stale = Duration::from_secs(60);
    let mut wrong = lease.clone();
    wrong.term += 1;
    let got = one(
        &store,
        Op::RescueJobs {
            lease: wrong,
            stale,
            rescues: vec![rescue(&dead, dead.attempt)],
        },
    )
    .await?;
    ensure!(
        got == OpResult::Ended(vec![None]),
        "a rescue applied under a lease not held: {got:?}"
    );
    let got = one(
        &store,
        Op::RescueJobs {
            lease,
            stale,
            rescues: vec![
                rescue(&dead, dead.attempt + 1),
                rescue(&live, live.attempt),
                rescue(&dead, dead.attempt),
            ],
        },
    )
    .await?;
    let OpResult::Ended(ended) = got else {
        return Err(format!("rescue_jobs answered {got:?}"));
    };
    ensure!(
        ended.len() == 3 && ended[0].is_none() && ended[1].is_none() && ended[2].is_some(),
        "only the dead worker's current attempt may be rescued: {ended:?}"
    );
    ensure!(
        state_of(&store, dead.id).await? == JobState::Retryable,
        "the dead worker's job was not rescued"
    );
    ensure!(
        state_of(&store, live.id).await? == JobState::Running,
        "a live worker's job was rescued"
    );
    Ok(())
}

async fn cancel_and_discard_respect_the_jobs_state(store: Arc<dyn Store>) -> CheckResult {
    let running = running_job(&store, "dq", "w").await?;
    let pending = ok(
        "insert",
        store.insert_many(vec![new_job("dq_pending")]).await,
    )?[0]
        .id;
    apply(
        &store,
        vec![
            Op::CancelJob {
                id: running.id,
                running: true,
            },
            Op::CancelJob {
                id: pending,
                running: false,
            },
        ],
    )
    .await?;
    let r = ok("get_job", store.get_job(running.id).await)?.ok_or("gone")?;
    ensure!(
        r.state == JobState::Running && r.cancel_requested,
        "a running job must be asked to stop, not cancelled: {r:?}"
    );
    ensure!(
        state_of(&store, pending).await? == JobState::Cancelled,
        "a pending job must be cancelled now"
    );
    let got = one(&store, Op::DiscardJob(running.id)).await?;
    ensure!(
        got == OpResult::Job(None),
        "a running job was discarded: {got:?}"
    );
    let head = one(&store, Op::LockJob(pending)).await?;
    ensure!(
        matches!(&head, OpResult::JobHead(Some(h)) if h.state == JobState::Cancelled && h.run_id.is_none()),
        "lock_job must report the job: {head:?}"
    );
    Ok(())
}

async fn retry_job_is_fenced_by_the_running_state(store: Arc<dyn Store>) -> CheckResult {
    let running = running_job(&store, "rq", "w").await?;
    let retry = Retry {
        state: JobState::Available,
        max_attempts: 9,
    };
    let got = one(
        &store,
        Op::RetryJob {
            id: running.id,
            retry,
        },
    )
    .await?;
    ensure!(
        got == OpResult::Job(None),
        "a running job was retried: {got:?}"
    );
    let done = ok("insert", store.insert_many(vec![new_job("rq_done")]).await)?[0].id;
    one(&store, Op::DiscardJob(done)).await?;
    let got = one(&store, Op::RetryJob { id: done, retry }).await?;
    let OpResult::Job(Some(job)) = got else {
        return Err(format!("a discarded job was not retried: {got:?}"));
    };
    ensure!(
        job.state == JobState::Available
            && job.max_attempts == 9
            && job.finalized_at.is_none()
            && !job.cancel_requested,
        "retry_job must apply the decided change and clear the job's end: {job:?}"
    );
    Ok(())
}

async fn stop_run_jobs_stops_the_runs_unfinished_jobs(store: Arc<dyn Store>) -> CheckResult {
    let run_id = two_step_run(&store).await?;
    let current = one(&store, Op::CurrentStepJob(run_id)).await?;
    let OpResult::Id(Some(job)) = current else {
        return Err(format!("current_step_job found none: {current:?}"));
    };
    let got = one(&store, Op::StopRunJobs(run_id)).await?;
    ensure!(
        got == OpResult::Id(Some(job)),
        "stop_run_jobs must report the job it stopped: {got:?}"
    );
    ensure!(
        state_of(&store, job).await? == JobState::Cancelled,
        "the pending step job was not cancelled"
    );
    let none = one(&store, Op::CurrentStepJob(run_id)).await?;
    ensure!(
        none == OpResult::Id(None),
        "a stopped run still has an unfinished job: {none:?}"
    );
    Ok(())
}

async fn unique_states_follow_the_job_state_bits(store: Arc<dyn Store>) -> CheckResult {
    // The unique index's state table (in the schema) must agree with `JobState::bit`.
    for (states, dup_after_completion) in [
        (vec![JobState::Available, JobState::Running], false),
        (
            vec![JobState::Available, JobState::Running, JobState::Completed],
            true,
        ),
    ] {
        let u = UniqueOpts::by_key(format!("k{}", states.len())).states(&states);
        let mut job = new_job("dq_unique");
        job.unique_key = Some(u.compute_key("driver_test", "dq_unique", &job.args, Utc::now()));
        job.unique_states = u.mask();
        let first = ok("insert", store.insert_many(vec![job.clone()]).await)?[0];
        let second = ok("insert", store.insert_many(vec![job.clone()]).await)?[0];
        ensure!(
            second.duplicate && second.id == first.id,
            "an available unique job was inserted twice"
        );
        let claimed = ok("fetch", store.fetch("dq_unique", 1, "w").await)?;
        let c = claimed.first().ok_or("nothing to claim")?;
        let third = ok("insert", store.insert_many(vec![job.clone()]).await)?[0];
        ensure!(third.duplicate, "a running unique job was inserted again");
        one(&store, Op::CompleteJobs(vec![(c.id, c.attempt)])).await?;
        let fourth = ok("insert", store.insert_many(vec![job]).await)?[0];
        ensure!(
            fourth.duplicate == dup_after_completion,
            "after completion with states {states:?}: duplicate = {}",
            fourth.duplicate
        );
    }
    Ok(())
}

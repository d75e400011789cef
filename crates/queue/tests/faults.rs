//! Faults found in review (issues 11 and 12), each on PostgreSQL and on SQLite: outcomes that
//! the database rejects, a worker that cannot renew its heartbeat, huge durations, a leader
//! whose round failed, progress lost to crashes, retention, run cancellation, one-run workers.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Datelike, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use specline_queue::maintenance::RoundTimers;
use specline_queue::pipeline::{Step, StepContext, StepKind};
use specline_queue::{
    Backoff, Client, EventStatus, Fence, JobContext, JobError, JobKind, JobState, KindOptions,
    Maintenance, MaintenanceConfig, NewJob, PeriodicJob, Pipeline, Registry, RunCancelOutcome,
    RunState, RunStatus, Schedule, SubmitOpts, Worker, WorkerHandle,
};

use common::{Guard, Harness};

const SECS10: Duration = Duration::from_secs(10);
const OWNER: &str = "owner";

/// A kind whose handler does what its arguments say.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Act {
    Ok,
    /// A permanent error whose message holds a NUL byte (`jsonb` rejects it).
    Nul,
    /// A permanent error whose message the test's trigger makes the database reject.
    Poison,
    /// Snooze for `Duration::MAX`.
    SnoozeForever,
    /// The first run waits until it is stopped (and says so when dropped); later ones succeed.
    WaitFirst,
}
impl JobKind for Act {
    const KIND: &'static str = "act";
    const QUEUE: &'static str = "act";
    fn options() -> KindOptions {
        KindOptions {
            max_attempts: 3,
            backoff: Backoff::fixed(Duration::from_millis(20)),
            ..KindOptions::default()
        }
    }
}

/// A kind that always fails retryably with a backoff too long for any clock.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Forever;
impl JobKind for Forever {
    const KIND: &'static str = "forever";
    const QUEUE: &'static str = "act";
    fn options() -> KindOptions {
        KindOptions {
            max_attempts: 3,
            backoff: Backoff::fixed(Duration::MAX),
            ..KindOptions::default()
        }
    }
}

/// Sends on drop: tells the test that a handler's future was dropped (the job was stopped).
struct DropSignal(Option<tokio::sync::oneshot::Sender<()>>);
impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

type Stopped = Arc<std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>>;

fn act_registry(stopped: Stopped) -> Registry {
    Registry::new()
        .register(move |_ctx: JobContext, a: Act| {
            let stopped = stopped.clone();
            async move {
                match a {
                    Act::Ok => Ok(()),
                    Act::Nul => Err(JobError::permanent("BAD", "a NUL \0 in the message")),
                    Act::Poison => Err(JobError::permanent("BAD", "POISON in the message")),
                    Act::SnoozeForever => Err(JobError::snooze(Duration::MAX)),
                    Act::WaitFirst => {
                        // The first run takes the signal and waits; a later one succeeds.
                        let Some(signal) = stopped.lock().unwrap().take() else {
                            return Ok(());
                        };
                        let _signal = DropSignal(Some(signal));
                        std::future::pending::<()>().await;
                        Ok(())
                    }
                }
            }
        })
        .register(|_ctx: JobContext, _f: Forever| async move {
            Err::<(), _>(JobError::retryable("AGAIN", "never works"))
        })
}

async fn act_worker(h: &Harness, stopped: Stopped) -> WorkerHandle {
    Worker::builder(h.store.clone())
        .registry(act_registry(stopped))
        .queue("act", 10)
        .poll_interval(Duration::from_millis(50))
        .heartbeat_interval(Duration::from_millis(100))
        .fence_after(Duration::from_millis(700))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap()
}

fn no_signal() -> Stopped {
    Arc::new(std::sync::Mutex::new(None))
}

async fn insert(h: &Harness, a: Act) -> i64 {
    Client::new(h.store.clone()).insert(&a).await.unwrap().id
}

/// Run SQL on the test's database outside the engine (a trigger, a lock).
async fn pg_client(h: &Harness) -> tokio_postgres::Client {
    let (c, conn) = tokio_postgres::connect(&common::database_url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    if let Guard::Pg { schema } = &h.guard {
        c.batch_execute(&format!("SET search_path = {}", schema.name()))
            .await
            .unwrap();
    }
    c
}

fn sqlite_conn(h: &Harness) -> rusqlite::Connection {
    match &h.guard {
        Guard::Sqlite { file } => rusqlite::Connection::open(file.path()).unwrap(),
        Guard::Pg { .. } => panic!("not a SQLite harness"),
    }
}

fn is_pg(h: &Harness) -> bool {
    matches!(h.guard, Guard::Pg { .. })
}

// ---------------------------------------------------------------------------------------------

async fn an_error_message_with_a_nul_byte_is_recorded_with_the_others(h: Harness) {
    let w = act_worker(&h, no_signal()).await;
    let bad = insert(&h, Act::Nul).await;
    let mut good = Vec::new();
    for _ in 0..5 {
        good.push(insert(&h, Act::Ok).await);
    }
    let job = h.wait_state(bad, JobState::Discarded, SECS10).await;
    for id in good {
        h.wait_state(id, JobState::Completed, SECS10).await;
    }
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    let message = &job.errors[0].message;
    assert!(!message.contains('\0'), "{message:?}");
    assert_eq!(message, "a NUL \u{FFFD} in the message");
}

async fn an_outcome_the_database_rejects_is_isolated_and_recorded_plain(h: Harness) {
    if is_pg(&h) {
        pg_client(&h)
            .await
            .batch_execute(
                "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN
                   IF NEW.errors::text LIKE '%POISON%' THEN RAISE EXCEPTION 'rejected by the test'; END IF;
                   RETURN NEW;
                 END $$;
                 CREATE TRIGGER poison BEFORE UPDATE ON specline_jobs
                   FOR EACH ROW EXECUTE FUNCTION poison();",
            )
            .await
            .unwrap();
    } else {
        sqlite_conn(&h)
            .execute_batch(
                "CREATE TRIGGER poison BEFORE UPDATE ON specline_jobs
                 WHEN NEW.errors GLOB '*POISON*'
                 BEGIN SELECT RAISE(ABORT, 'rejected by the test'); END;",
            )
            .unwrap();
    }
    let client = Client::new(h.store.clone());
    let mut jobs = vec![NewJob::new(&Act::Poison, Default::default()).unwrap()];
    for _ in 0..20 {
        jobs.push(NewJob::new(&Act::Ok, Default::default()).unwrap());
    }
    let ids: Vec<i64> = client
        .insert_many(jobs)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    let w = act_worker(&h, no_signal()).await;
    let poisoned = h.wait_state(ids[0], JobState::Discarded, SECS10).await;
    for id in &ids[1..] {
        h.wait_state(*id, JobState::Completed, SECS10).await;
    }
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    assert_eq!(poisoned.errors.len(), 1, "{:?}", poisoned.errors);
    assert_eq!(poisoned.errors[0].code, "OUTCOME_REJECTED");
    assert!(
        poisoned.errors[0].message.contains("`discarded`")
            && poisoned.errors[0].message.contains("`BAD`"),
        "{}",
        poisoned.errors[0].message
    );
}

/// Hold the lock that the heartbeat's write needs, from another connection.
enum HeldLock {
    Pg(tokio_postgres::Client),
    Sqlite(rusqlite::Connection),
}

async fn lock_heartbeats(h: &Harness) -> HeldLock {
    if is_pg(h) {
        let c = pg_client(h).await;
        c.batch_execute("BEGIN; LOCK TABLE specline_workers IN ACCESS EXCLUSIVE MODE")
            .await
            .unwrap();
        HeldLock::Pg(c)
    } else {
        let c = sqlite_conn(h);
        c.execute_batch("BEGIN IMMEDIATE").unwrap();
        HeldLock::Sqlite(c)
    }
}

async fn release(lock: HeldLock) {
    match lock {
        HeldLock::Pg(c) => c.batch_execute("COMMIT").await.unwrap(),
        HeldLock::Sqlite(c) => c.execute_batch("COMMIT").unwrap(),
    }
}

async fn a_worker_that_cannot_renew_its_heartbeat_stops_its_jobs(h: Harness) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let w = act_worker(&h, Arc::new(std::sync::Mutex::new(Some(tx)))).await;
    let id = insert(&h, Act::WaitFirst).await;
    h.wait_state(id, JobState::Running, SECS10).await;
    let lock = lock_heartbeats(&h).await;
    let stopped = tokio::time::timeout(Duration::from_secs(5), rx).await;
    release(lock).await;
    assert!(
        matches!(stopped, Ok(Ok(()))),
        "the job kept running although its worker could not renew its heartbeat"
    );
    let job = h.wait_state(id, JobState::Completed, SECS10).await;
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    assert_eq!(job.errors[0].code, "FENCED", "{:?}", job.errors);
    assert_eq!(job.attempt, 1, "a fenced attempt is not counted");
}

async fn the_fence_of_a_rescued_attempt_no_longer_holds(h: Harness) {
    let id = insert(&h, Act::Ok).await;
    h.store
        .register_worker("ghost", &["act".to_string()])
        .await
        .unwrap();
    let claimed = h.store.fetch("act", 1, "ghost").await.unwrap();
    let fence = Fence {
        job_id: id,
        attempt: claimed[0].attempt,
    };
    let holds = |h: &Harness| {
        let pg = h.pg.clone();
        let sqlite = h.sqlite.clone();
        async move {
            if let Some(pg) = pg {
                let mut c = pg.pool().get().await.unwrap();
                let tx = c.transaction().await.unwrap();
                let held = pg.holds_fence(&tx, fence).await.unwrap();
                tx.commit().await.unwrap();
                held
            } else {
                sqlite
                    .unwrap()
                    .transaction(move |tx| tx.holds_fence(fence))
                    .await
                    .unwrap()
            }
        }
    };
    assert!(holds(&h).await, "a running attempt holds its fence");
    rescue_now(&h, 10).await;
    assert_eq!(h.job(id).await.state, JobState::Retryable);
    assert!(!holds(&h).await, "a rescued attempt's fence must not hold");
}

async fn huge_snoozes_and_backoffs_schedule_far_ahead_instead_of_leaving_jobs_running(h: Harness) {
    let w = act_worker(&h, no_signal()).await;
    let snoozed = insert(&h, Act::SnoozeForever).await;
    let backed_off = Client::new(h.store.clone())
        .insert(&Forever)
        .await
        .unwrap()
        .id;
    let a = h.wait_state(snoozed, JobState::Scheduled, SECS10).await;
    let b = h.wait_state(backed_off, JobState::Retryable, SECS10).await;
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    assert!(a.scheduled_at.year() >= 9999, "{}", a.scheduled_at);
    assert!(b.scheduled_at.year() >= 9999, "{}", b.scheduled_at);
}

async fn a_leader_whose_round_failed_no_longer_reports_itself_leader(h: Harness) {
    let broken = Arc::new(AtomicBool::new(false));
    let flag = broken.clone();
    // Periodic jobs that the database accepts until `broken`, then one it refuses
    // (max_attempts 0 breaks a CHECK constraint): the round fails after the lease was taken.
    let periodic = PeriodicJob::with(
        "tick",
        Schedule::every(Duration::from_millis(50)).unwrap(),
        move |_| {
            let mut job = NewJob::new(&Act::Ok, Default::default())?;
            if flag.load(Ordering::SeqCst) {
                job.max_attempts = 0;
            }
            Ok(job)
        },
    );
    let m = Maintenance::new(
        h.store.clone(),
        MaintenanceConfig {
            tick: Duration::from_millis(50),
            ..MaintenanceConfig::default()
        },
    )
    .periodic(periodic)
    .start();
    let leads = m.leader_probe();
    let until = Instant::now() + SECS10;
    while !leads() {
        assert!(Instant::now() < until, "never became leader");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    broken.store(true, Ordering::SeqCst);
    let until = Instant::now() + Duration::from_secs(5);
    while leads() {
        assert!(
            Instant::now() < until,
            "still reports itself leader although its rounds fail"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(m.lease().is_none());
    m.shutdown().await;
}

// --- pipelines --------------------------------------------------------------------------------

/// A one-step pipeline's step with one attempt, never run by a worker here.
struct Long;
#[derive(Deserialize)]
struct NoCtx {}
impl StepKind for Long {
    const NAME: &'static str = "long";
    const QUEUE: &'static str = "long";
    type Context = NoCtx;
    type Output = ();
    fn options() -> KindOptions {
        KindOptions {
            max_attempts: 1,
            ..KindOptions::default()
        }
    }
}

/// One maintenance round that rescues every running job of a worker without a fresh
/// heartbeat (`rescue_after` zero).
async fn rescue_now(h: &Harness, credits: i32) {
    let m = Maintenance::new(
        h.store.clone(),
        MaintenanceConfig {
            id: "rescuer".into(),
            rescue_after: Duration::ZERO,
            rescue_credits: credits,
            ..MaintenanceConfig::default()
        },
    );
    m.run_once(&mut RoundTimers::default())
        .await
        .unwrap()
        .expect("leads");
}

async fn a_crash_after_checkpoint_progress_does_not_use_up_attempts_within_a_bound(h: Harness) {
    let client = Client::new(h.store.clone());
    let run = client
        .submit(
            &Pipeline::new("long").step::<Long>(),
            OWNER,
            &serde_json::json!({}),
            SubmitOpts::default(),
        )
        .await
        .unwrap()
        .run_id;
    h.store
        .register_worker("crashy", &["long".to_string()])
        .await
        .unwrap();
    // Three attempts die after moving the checkpoint; two credits: the third one counts.
    for (n, expect_state, expect_max) in [
        (1, JobState::Retryable, 2),
        (2, JobState::Retryable, 3),
        (3, JobState::Discarded, 3),
    ] {
        let claimed = h.store.fetch("long", 1, "crashy").await.unwrap();
        assert_eq!(claimed.len(), 1, "attempt {n} was not claimable");
        assert_eq!(claimed[0].attempt, n);
        h.store
            .put_checkpoint(run, "long", "done_tests", serde_json::json!(n * 1000))
            .await
            .unwrap();
        rescue_now(&h, 2).await;
        let job = h.job(claimed[0].id).await;
        assert_eq!(job.state, expect_state, "after attempt {n}: {job:?}");
        assert_eq!(job.max_attempts, expect_max, "after attempt {n}");
        assert_eq!(job.errors.last().unwrap().code, "RESCUED");
    }
}

async fn an_attempt_that_made_no_progress_still_counts(h: Harness) {
    let client = Client::new(h.store.clone());
    client
        .submit(
            &Pipeline::new("long").step::<Long>(),
            OWNER,
            &serde_json::json!({}),
            SubmitOpts::default(),
        )
        .await
        .unwrap();
    h.store
        .register_worker("crashy", &["long".to_string()])
        .await
        .unwrap();
    let claimed = h.store.fetch("long", 1, "crashy").await.unwrap();
    rescue_now(&h, 2).await;
    assert_eq!(h.job(claimed[0].id).await.state, JobState::Discarded);
}

#[derive(Default)]
struct Probe {
    marked: AtomicUsize,
}

/// A step of the `steps` queue with no context and a number as its output.
macro_rules! step_kind {
    ($kind:ident, $name:literal) => {
        impl StepKind for $kind {
            const NAME: &'static str = $name;
            const QUEUE: &'static str = "steps";
            type Context = NoCtx;
            type Output = u32;
        }
    };
}

struct Quick;
step_kind!(Quick, "quick");
impl Step for Quick {
    type Kind = Quick;
    async fn run(&self, _ctx: StepContext, _c: NoCtx) -> Result<u32, JobError> {
        Ok(1)
    }
}

/// Waits up to 300 ms for a cancel, then finishes.
struct Hold;
step_kind!(Hold, "hold");
impl Step for Hold {
    type Kind = Hold;
    async fn run(&self, ctx: StepContext, _c: NoCtx) -> Result<u32, JobError> {
        tokio::select! {
            _ = ctx.job().cancelled() => {}
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
        }
        Ok(2)
    }
}

struct Mark(Arc<Probe>);
step_kind!(Mark, "mark");
impl Step for Mark {
    type Kind = Mark;
    async fn run(&self, _ctx: StepContext, _c: NoCtx) -> Result<u32, JobError> {
        self.0.marked.fetch_add(1, Ordering::SeqCst);
        Ok(3)
    }
}

fn three_steps() -> Pipeline {
    Pipeline::new("three")
        .step::<Quick>()
        .step::<Hold>()
        .step::<Mark>()
}

async fn steps_worker(h: &Harness, probe: &Arc<Probe>, only_run: Option<i64>) -> WorkerHandle {
    let mut b = Worker::builder(h.store.clone())
        .registry(
            Registry::new()
                .step(Quick)
                .step(Hold)
                .step(Mark(probe.clone())),
        )
        .queue("steps", 8)
        .poll_interval(Duration::from_millis(50));
    if let Some(run) = only_run {
        b = b.only_run(run);
    }
    b.build().unwrap().start().await.unwrap()
}

async fn wait_ended(client: &Client, run: i64) -> RunStatus {
    let until = Instant::now() + SECS10;
    loop {
        let st = client.run_status(OWNER, run).await.unwrap();
        if !matches!(st, RunStatus::Running { .. }) {
            return st;
        }
        assert!(Instant::now() < until, "run {run} still running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn cancelling_a_run_as_its_steps_finish_cancels_the_current_step_once(h: Harness) {
    let probe = Arc::new(Probe::default());
    let client = Client::new(h.store.clone());
    let w = steps_worker(&h, &probe, None).await;
    let mut runs = Vec::new();
    // Cancel each run the moment its first step reports `completed`, or its second step is
    // queued or started: the finished job must not be what gets cancelled.
    for i in 0..12 {
        let run = client
            .submit(
                &three_steps(),
                OWNER,
                &serde_json::json!({}),
                SubmitOpts::default(),
            )
            .await
            .unwrap()
            .run_id;
        runs.push(run);
        let mut events = Box::pin(client.events(OWNER, run, 0).await.unwrap());
        while let Some(ev) = events.next().await {
            let ev = ev.unwrap();
            let trigger = if i % 3 == 0 {
                ev.status == EventStatus::Completed
            } else if i % 3 == 1 {
                ev.status == EventStatus::Queued && ev.stage.as_deref() == Some("hold")
            } else {
                ev.status == EventStatus::Started && ev.stage.as_deref() == Some("hold")
            };
            if trigger {
                let out = client.cancel_run(OWNER, run).await.unwrap();
                assert!(
                    matches!(out, RunCancelOutcome::Cancelled { .. }),
                    "run {run}: {out:?}"
                );
                break;
            }
        }
    }
    for &run in &runs {
        let status = wait_ended(&client, run).await;
        assert!(
            matches!(status, RunStatus::Failed { ref code, .. } if code == "CANCELLED"),
            "run {run}: {status:?}"
        );
    }
    // Let any step that was claimed meanwhile finish, then check nothing advanced.
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        probe.marked.load(Ordering::SeqCst),
        0,
        "a cancelled run ran its last step"
    );
    for &run in &runs {
        let evs: Vec<_> = client.store().run_events(run, 0, 1000).await.unwrap();
        assert_eq!(
            evs.iter().filter(|e| e.status.is_terminal()).count(),
            1,
            "run {run}: {evs:?}"
        );
        for (i, e) in evs.iter().enumerate() {
            assert_eq!(e.seq, i as i64 + 1, "gapless: {evs:?}");
        }
        let jobs = client
            .list(&specline_queue::JobFilter {
                queue: Some("steps".into()),
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap();
        for j in jobs.iter().filter(|j| j.args["run_id"] == run) {
            assert!(
                j.state.is_final(),
                "run {run} left job {} {}",
                j.id,
                j.state
            );
        }
    }
    assert_eq!(
        client.cancel_run(OWNER, runs[0]).await.unwrap(),
        RunCancelOutcome::AlreadyFinal(RunState::Failed)
    );
}

async fn a_worker_for_one_run_leaves_the_other_runs_alone(h: Harness) {
    let probe = Arc::new(Probe::default());
    let client = Client::new(h.store.clone());
    let submit = || async {
        client
            .submit(
                &three_steps(),
                OWNER,
                &serde_json::json!({}),
                SubmitOpts::default(),
            )
            .await
            .unwrap()
            .run_id
    };
    let other_a = submit().await;
    let mine = submit().await;
    let other_b = submit().await;
    let w = steps_worker(&h, &probe, Some(mine)).await;
    let status = wait_ended(&client, mine).await;
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    assert!(matches!(status, RunStatus::Done { .. }), "{status:?}");
    for other in [other_a, other_b] {
        let run = client.get_run(OWNER, other).await.unwrap();
        assert_eq!(run.state, RunState::Running);
        assert_eq!(run.current_step, 0);
        let jobs = client.list(&Default::default()).await.unwrap();
        let job = jobs.iter().find(|j| j.args["run_id"] == other).unwrap();
        assert_eq!(
            (job.state, job.attempt),
            (JobState::Available, 0),
            "{job:?}"
        );
    }
}

async fn finished_runs_and_dead_workers_are_pruned_after_their_retention(h: Harness) {
    let probe = Arc::new(Probe::default());
    let client = Client::new(h.store.clone());
    let quick = Pipeline::new("q").step::<Quick>();
    let submit = |p: Pipeline| {
        let client = client.clone();
        async move {
            client
                .submit(&p, OWNER, &serde_json::json!({}), SubmitOpts::default())
                .await
                .unwrap()
                .run_id
        }
    };
    let expired = submit(quick.clone().result_ttl(Duration::ZERO)).await;
    let kept = submit(quick.clone()).await;
    let w = steps_worker(&h, &probe, None).await;
    wait_ended(&client, expired).await;
    wait_ended(&client, kept).await;
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    // A failed run (cancelled while queued), and one still running (nobody serves `long`).
    let failed = submit(Pipeline::new("long").step::<Long>()).await;
    client.cancel_run(OWNER, failed).await.unwrap();
    let running = submit(Pipeline::new("long").step::<Long>()).await;
    h.store
        .put_checkpoint(expired, "quick", "partial", serde_json::json!(1))
        .await
        .unwrap();

    let lease = h
        .store
        .try_lead("pruner", Duration::from_secs(10))
        .await
        .unwrap()
        .unwrap();
    let later = Utc::now() + chrono::Duration::hours(1);
    assert_eq!(
        h.store
            .prune_finished_runs(&lease, later, 100)
            .await
            .unwrap(),
        2
    );
    for gone in [expired, failed] {
        assert!(h.store.get_run(gone).await.unwrap().is_none(), "run {gone}");
        assert!(h.store.run_events(gone, 0, 10).await.unwrap().is_empty());
        assert!(h.store.step_outputs(gone).await.unwrap().is_empty());
    }
    assert!(h
        .store
        .get_checkpoint(expired, "quick", "partial")
        .await
        .unwrap()
        .is_none());
    for stays in [kept, running] {
        assert!(
            h.store.get_run(stays).await.unwrap().is_some(),
            "run {stays}"
        );
    }

    h.store.register_worker("dead", &[]).await.unwrap();
    h.store
        .register_worker("dead-with-a-job", &["act".to_string()])
        .await
        .unwrap();
    insert(&h, Act::Ok).await;
    assert_eq!(
        h.store
            .fetch("act", 1, "dead-with-a-job")
            .await
            .unwrap()
            .len(),
        1
    );
    let cutoff = Utc::now();
    h.store.register_worker("alive", &[]).await.unwrap();
    assert_eq!(h.store.prune_workers(&lease, cutoff).await.unwrap(), 1);
    assert_eq!(h.store.prune_workers(&lease, cutoff).await.unwrap(), 0);
}

on_both_backends!(
    an_error_message_with_a_nul_byte_is_recorded_with_the_others,
    an_outcome_the_database_rejects_is_isolated_and_recorded_plain,
    a_worker_that_cannot_renew_its_heartbeat_stops_its_jobs,
    the_fence_of_a_rescued_attempt_no_longer_holds,
    huge_snoozes_and_backoffs_schedule_far_ahead_instead_of_leaving_jobs_running,
    a_leader_whose_round_failed_no_longer_reports_itself_leader,
    a_crash_after_checkpoint_progress_does_not_use_up_attempts_within_a_bound,
    an_attempt_that_made_no_progress_still_counts,
    cancelling_a_run_as_its_steps_finish_cancels_the_current_step_once,
    a_worker_for_one_run_leaves_the_other_runs_alone,
    finished_runs_and_dead_workers_are_pruned_after_their_retention,
);

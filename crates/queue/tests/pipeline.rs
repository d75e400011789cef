//! Pipelines, progress events, results and idempotent submission, on both backends.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use specline_queue::pipeline::{Step, StepContext, StepKind};
use specline_queue::{
    Client, EventStatus, JobError, JobFilter, JobState, KindOptions, Pipeline, Registry, RunEvent,
    RunStatus, SubmitOpts, Worker, WorkerHandle,
};

use common::Harness;

const OWNER: &str = "alice";

/// Counts executions per step, and lets a test make a step fail.
#[derive(Default)]
struct Probe {
    runs: Mutex<HashMap<&'static str, usize>>,
    fail_b: AtomicBool,
    b_output_bad: AtomicBool,
}

impl Probe {
    fn hit(&self, step: &'static str) {
        *self.runs.lock().unwrap().entry(step).or_default() += 1;
    }
    fn count(&self, step: &str) -> usize {
        self.runs.lock().unwrap().get(step).copied().unwrap_or(0)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Input {
    n: i64,
    text: String,
}

#[derive(Deserialize)]
struct ACtx {
    input: Input,
}
struct A(Arc<Probe>);
impl StepKind for A {
    const NAME: &'static str = "a_double";
    const QUEUE: &'static str = "pipe_a";
    type Context = ACtx;
    type Output = i64;
}
impl Step for A {
    type Kind = A;
    async fn run(&self, _ctx: StepContext, c: ACtx) -> Result<i64, JobError> {
        self.0.hit(Self::NAME);
        Ok(c.input.n * 2)
    }
}

#[derive(Deserialize)]
struct BCtx {
    input: Input,
    a_double: i64,
}
struct B(Arc<Probe>);
impl StepKind for B {
    const NAME: &'static str = "b_label";
    const QUEUE: &'static str = "pipe_b";
    type Context = BCtx;
    type Output = serde_json::Value;
    fn options() -> KindOptions {
        KindOptions {
            max_attempts: 2,
            backoff: specline_queue::Backoff::fixed(Duration::from_millis(10)),
            ..KindOptions::default()
        }
    }
}
impl Step for B {
    type Kind = B;
    async fn run(&self, ctx: StepContext, c: BCtx) -> Result<serde_json::Value, JobError> {
        self.0.hit(Self::NAME);
        ctx.progress(50, Some(serde_json::json!({"half": true})))
            .await
            .unwrap();
        if self.0.fail_b.load(Ordering::SeqCst) {
            return Err(JobError::permanent("B_BROKE", "step b cannot go on"));
        }
        if self.0.b_output_bad.load(Ordering::SeqCst) {
            return Ok(serde_json::json!({"not": "a string"}));
        }
        Ok(serde_json::json!(format!(
            "{}:{}",
            c.input.text, c.a_double
        )))
    }
}

#[derive(Deserialize)]
struct CCtx {
    a_double: i64,
    b_label: String,
}
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Report {
    label: String,
    doubled: i64,
}
struct C(Arc<Probe>);
impl StepKind for C {
    const NAME: &'static str = "c_report";
    const QUEUE: &'static str = "pipe_c";
    type Context = CCtx;
    type Output = Report;
}
impl Step for C {
    type Kind = C;
    async fn run(&self, _ctx: StepContext, c: CCtx) -> Result<Report, JobError> {
        self.0.hit(Self::NAME);
        Ok(Report {
            label: c.b_label,
            doubled: c.a_double,
        })
    }
}

fn pipeline() -> Pipeline {
    Pipeline::new("abc").step::<A>().step::<B>().step::<C>()
}

async fn start(h: &Harness, probe: &Arc<Probe>) -> WorkerHandle {
    // One worker serves all three queues here; steps could equally be served by three binaries.
    Worker::builder(h.store.clone())
        .registry(
            Registry::new()
                .step(A(probe.clone()))
                .step(B(probe.clone()))
                .step(C(probe.clone())),
        )
        .queue("pipe_a", 4)
        .queue("pipe_b", 4)
        .queue("pipe_c", 4)
        .poll_interval(Duration::from_millis(100))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap()
}

async fn wait_status(client: &Client, run_id: i64, done: impl Fn(&RunStatus) -> bool) -> RunStatus {
    for _ in 0..500 {
        let st = client.run_status(OWNER, run_id).await.unwrap();
        if done(&st) {
            return st;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "run {run_id} did not reach the expected status: {:?}",
        client.run_status(OWNER, run_id).await
    );
}

async fn all_events(client: &Client, run_id: i64) -> Vec<RunEvent> {
    let stream = client.events(OWNER, run_id, 0).await.unwrap();
    tokio::time::timeout(
        Duration::from_secs(10),
        stream.map(|e| e.unwrap()).collect::<Vec<_>>(),
    )
    .await
    .expect("the stream of a finished run ends")
}

fn statuses(evs: &[RunEvent]) -> Vec<(String, EventStatus)> {
    evs.iter()
        .map(|e| (e.stage.clone().unwrap_or_default(), e.status))
        .collect()
}

fn assert_gapless(evs: &[RunEvent]) {
    for (i, e) in evs.iter().enumerate() {
        assert_eq!(e.seq, i as i64 + 1, "seq must be gapless from 1: {evs:?}");
    }
}

fn input() -> Input {
    Input {
        n: 21,
        text: "x".into(),
    }
}

/// Start a worker for the single step `S` and submit one run of a pipeline made of it.
async fn run_single<S: Step>(h: &Harness, step: S) -> (Client, i64, WorkerHandle) {
    let client = Client::new(h.store.clone());
    let w = Worker::builder(h.store.clone())
        .registry(Registry::new().step(step))
        .queue(<S::Kind as StepKind>::QUEUE, 1)
        .heartbeat_interval(Duration::from_millis(100))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let p = Pipeline::new(<S::Kind as StepKind>::NAME).step::<S::Kind>();
    let sub = client
        .submit(&p, OWNER, &serde_json::json!({}), SubmitOpts::default())
        .await
        .unwrap();
    (client, sub.run_id, w)
}

/// Wait for the run to be done and return its result.
async fn done_result(client: &Client, run_id: i64) -> serde_json::Value {
    match wait_status(client, run_id, |s| matches!(s, RunStatus::Done { .. })).await {
        RunStatus::Done { result } => result,
        other => panic!("not done: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------

async fn a_three_step_run_flows_to_done_with_its_result_and_events(h: Harness) {
    let probe = Arc::new(Probe::default());
    let client = Client::new(h.store.clone());
    let w = start(&h, &probe).await;
    let sub = client
        .submit(&pipeline(), OWNER, &input(), SubmitOpts::default())
        .await
        .unwrap();
    let status = wait_status(&client, sub.run_id, |s| matches!(s, RunStatus::Done { .. })).await;
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    let RunStatus::Done { result } = status else {
        unreachable!()
    };
    assert_eq!(
        serde_json::from_value::<Report>(result).unwrap(),
        Report {
            label: "x:42".into(),
            doubled: 42
        }
    );
    let evs = all_events(&client, sub.run_id).await;
    assert_gapless(&evs);
    use EventStatus::*;
    let want: Vec<(String, EventStatus)> = vec![
        ("a_double", Queued),
        ("a_double", Started),
        ("a_double", Completed),
        ("b_label", Queued),
        ("b_label", Started),
        ("b_label", Progress),
        ("b_label", Completed),
        ("c_report", Queued),
        ("c_report", Started),
        ("c_report", Completed),
        ("c_report", Done),
    ]
    .into_iter()
    .map(|(s, e)| (s.to_string(), e))
    .collect();
    assert_eq!(statuses(&evs), want);
    assert_eq!(evs.iter().filter(|e| e.status.is_terminal()).count(), 1);
    assert_eq!(evs.last().unwrap().progress, 100);
    let progress = evs.iter().find(|e| e.status == Progress).unwrap();
    assert_eq!(progress.progress, 50);
    assert_eq!(progress.payload, Some(serde_json::json!({"half": true})));
    assert!(evs
        .iter()
        .all(|e| e.run_id == sub.run_id && e.job_id.is_some()));
    assert_eq!(
        (
            probe.count("a_double"),
            probe.count("b_label"),
            probe.count("c_report")
        ),
        (1, 1, 1)
    );
}

async fn a_failed_step_fails_the_run_once_and_resume_continues_from_the_checkpoint(h: Harness) {
    let probe = Arc::new(Probe::default());
    probe.fail_b.store(true, Ordering::SeqCst);
    let client = Client::new(h.store.clone());
    let w = start(&h, &probe).await;
    let sub = client
        .submit(&pipeline(), OWNER, &input(), SubmitOpts::default())
        .await
        .unwrap();
    let status = wait_status(&client, sub.run_id, |s| {
        matches!(s, RunStatus::Failed { .. })
    })
    .await;
    assert_eq!(
        status,
        RunStatus::Failed {
            code: "B_BROKE".into(),
            message: "step b cannot go on".into()
        }
    );
    let evs = all_events(&client, sub.run_id).await;
    assert_gapless(&evs);
    let terminal: Vec<&RunEvent> = evs.iter().filter(|e| e.status.is_terminal()).collect();
    assert_eq!(terminal.len(), 1);
    assert_eq!(terminal[0].status, EventStatus::Failed);
    assert_eq!(terminal[0].payload.as_ref().unwrap()["code"], "B_BROKE");
    assert_eq!(evs.last().unwrap().status, EventStatus::Failed);

    // Fix the cause and resume: a (checkpointed) does not run again.
    probe.fail_b.store(false, Ordering::SeqCst);
    let last_seq = evs.last().unwrap().seq;
    client.resume(OWNER, sub.run_id).await.unwrap();
    wait_status(&client, sub.run_id, |s| matches!(s, RunStatus::Done { .. })).await;
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        probe.count("a_double"),
        1,
        "a checkpointed step is not executed again"
    );
    assert_eq!(probe.count("b_label"), 2);
    assert_eq!(probe.count("c_report"), 1);
    let after: Vec<RunEvent> = client
        .events(OWNER, sub.run_id, last_seq)
        .await
        .unwrap()
        .map(|e| e.unwrap())
        .collect()
        .await;
    assert_eq!(
        after.first().unwrap().seq,
        last_seq + 1,
        "seq continues without a gap after resume"
    );
    assert_eq!(after.first().unwrap().status, EventStatus::Queued);
    assert_eq!(after.first().unwrap().stage.as_deref(), Some("b_label"));
    assert_eq!(after.last().unwrap().status, EventStatus::Done);
    assert_eq!(after.iter().filter(|e| e.status.is_terminal()).count(), 1);
}

async fn a_redelivered_step_with_a_checkpoint_is_not_executed_again(h: Harness) {
    let probe = Arc::new(Probe::default());
    let client = Client::new(h.store.clone());
    let w = start(&h, &probe).await;
    let sub = client
        .submit(&pipeline(), OWNER, &input(), SubmitOpts::default())
        .await
        .unwrap();
    wait_status(&client, sub.run_id, |s| matches!(s, RunStatus::Done { .. })).await;
    // Redeliver step a's job by hand.
    let a_job = client
        .list(&JobFilter {
            kind: Some("a_double".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .remove(0);
    client.retry(a_job.id).await.unwrap();
    h.wait_state(a_job.id, JobState::Completed, Duration::from_secs(10))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    assert_eq!(probe.count("a_double"), 1);
    assert_eq!(
        probe.count("b_label"),
        1,
        "the redelivered step did not start its successor again"
    );
    let b_jobs = client
        .list(&JobFilter {
            kind: Some("b_label".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(b_jobs.len(), 1);
}

async fn a_step_output_that_does_not_fit_the_next_step_fails_the_run_with_a_code(h: Harness) {
    let probe = Arc::new(Probe::default());
    probe.b_output_bad.store(true, Ordering::SeqCst);
    let client = Client::new(h.store.clone());
    let w = start(&h, &probe).await;
    let sub = client
        .submit(&pipeline(), OWNER, &input(), SubmitOpts::default())
        .await
        .unwrap();
    let status = wait_status(&client, sub.run_id, |s| {
        matches!(s, RunStatus::Failed { .. })
    })
    .await;
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    let RunStatus::Failed { code, message } = status else {
        unreachable!()
    };
    assert_eq!(code, "INVALID_STEP_INPUT");
    assert!(message.contains("c_report"), "{message}");
    assert_eq!(probe.count("c_report"), 0);
}

async fn intermediate_checkpoints_let_a_retried_step_resume_mid_way(h: Harness) {
    struct Chunks(Arc<AtomicUsize>);
    #[derive(Deserialize)]
    struct Ctx {}
    impl StepKind for Chunks {
        const NAME: &'static str = "chunks";
        const QUEUE: &'static str = "pipe_chunks";
        type Context = Ctx;
        type Output = usize;
        fn options() -> KindOptions {
            KindOptions {
                backoff: specline_queue::Backoff::fixed(Duration::from_millis(10)),
                ..KindOptions::default()
            }
        }
    }
    impl Step for Chunks {
        type Kind = Chunks;
        async fn run(&self, ctx: StepContext, _c: Ctx) -> Result<usize, JobError> {
            let start: usize = ctx.restore("done_chunks").await.unwrap().unwrap_or(0);
            for chunk in start..6 {
                if chunk == 4 && ctx.job().attempt == 1 {
                    return Err(JobError::retryable("RATE_LIMITED", "provider said 429"));
                }
                self.0.fetch_add(1, Ordering::SeqCst);
                ctx.checkpoint("done_chunks", &(chunk + 1)).await.unwrap();
            }
            Ok(6)
        }
    }
    let executed = Arc::new(AtomicUsize::new(0));
    let (client, run_id, w) = run_single(&h, Chunks(executed.clone())).await;
    let result = done_result(&client, run_id).await;
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    assert_eq!(result, serde_json::json!(6));
    assert_eq!(
        executed.load(Ordering::SeqCst),
        6,
        "chunks 0-3 ran once, 4-5 after the retry: none twice"
    );
}

async fn five_hundred_concurrent_submissions_with_one_key_make_one_run(h: Harness) {
    let client = Client::new(h.store.clone());
    let mut tasks = Vec::new();
    for _ in 0..500 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move {
            c.submit(
                &pipeline(),
                OWNER,
                &input(),
                SubmitOpts::default().idempotency_key("req-1"),
            )
            .await
            .unwrap()
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    let first = ids[0].run_id;
    assert!(ids.iter().all(|s| s.run_id == first));
    assert_eq!(ids.iter().filter(|s| !s.existing).count(), 1);
    let a_jobs = client
        .list(&JobFilter {
            kind: Some("a_double".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(a_jobs.len(), 1, "one run, one first step");

    // Same key, another request: conflict. Another owner: its own run.
    let other = Input {
        n: 1,
        text: "other".into(),
    };
    let err = client
        .submit(
            &pipeline(),
            OWNER,
            &other,
            SubmitOpts::default().idempotency_key("req-1"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "IDEMPOTENCY_CONFLICT");
    let bob = client
        .submit(
            &pipeline(),
            "bob",
            &input(),
            SubmitOpts::default().idempotency_key("req-1"),
        )
        .await
        .unwrap();
    assert!(!bob.existing);
    assert_ne!(bob.run_id, first);
}

async fn a_subscriber_sees_live_events_and_a_late_one_the_whole_history(h: Harness) {
    let probe = Arc::new(Probe::default());
    let client = Client::new(h.store.clone());
    let sub = client
        .submit(&pipeline(), OWNER, &input(), SubmitOpts::default())
        .await
        .unwrap();
    let live = client.events(OWNER, sub.run_id, 0).await.unwrap();
    let collector = tokio::spawn(async move { live.map(|e| e.unwrap()).collect::<Vec<_>>().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let w = start(&h, &probe).await;
    let live = tokio::time::timeout(Duration::from_secs(10), collector)
        .await
        .unwrap()
        .unwrap();
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    assert_gapless(&live);
    assert_eq!(live.last().unwrap().status, EventStatus::Done);
    let late = all_events(&client, sub.run_id).await;
    assert_eq!(
        late, live,
        "a late subscriber replays exactly the same events"
    );
    let from_five: Vec<RunEvent> = client
        .events(OWNER, sub.run_id, 5)
        .await
        .unwrap()
        .map(|e| e.unwrap())
        .collect()
        .await;
    assert_eq!(from_five.first().unwrap().seq, 6);
}

async fn progress_reports_are_rate_limited(h: Harness) {
    struct Busy;
    #[derive(Deserialize)]
    struct Ctx {}
    impl StepKind for Busy {
        const NAME: &'static str = "busy";
        const QUEUE: &'static str = "pipe_busy";
        type Context = Ctx;
        type Output = u32;
    }
    impl Step for Busy {
        type Kind = Busy;
        async fn run(&self, ctx: StepContext, _c: Ctx) -> Result<u32, JobError> {
            let mut written = 0;
            for i in 0..=1000u32 {
                if ctx.progress((i / 10) as u8, None).await.unwrap() {
                    written += 1;
                }
            }
            Ok(written)
        }
    }
    let (client, run_id, w) = run_single(&h, Busy).await;
    let result = done_result(&client, run_id).await;
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    let written = result.as_u64().unwrap();
    let evs = all_events(&client, run_id).await;
    let progress: Vec<&RunEvent> = evs
        .iter()
        .filter(|e| e.status == EventStatus::Progress)
        .collect();
    assert_eq!(progress.len() as u64, written);
    assert!(
        written < 50,
        "1001 reports in a tight loop wrote {written} events"
    );
    assert_eq!(
        progress.last().unwrap().progress,
        100,
        "100% is always written"
    );
}

async fn cancelling_a_running_step_fails_the_run_once(h: Harness) {
    struct Wait;
    #[derive(Deserialize)]
    struct Ctx {}
    impl StepKind for Wait {
        const NAME: &'static str = "wait";
        const QUEUE: &'static str = "pipe_wait";
        type Context = Ctx;
        type Output = ();
    }
    impl Step for Wait {
        type Kind = Wait;
        async fn run(&self, ctx: StepContext, _c: Ctx) -> Result<(), JobError> {
            ctx.job().cancelled().await;
            Ok(())
        }
    }
    let (client, run_id, w) = run_single(&h, Wait).await;
    let job = client
        .list(&JobFilter {
            kind: Some("wait".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .remove(0);
    h.wait_state(job.id, JobState::Running, Duration::from_secs(5))
        .await;
    client.cancel(job.id).await.unwrap();
    assert_cancelled_once(&client, run_id, w).await;
}

/// The race behind a once-flaky test, made deterministic: the cancel lands while the step is
/// inside its last poll, and the step returns `Ok` in that same poll. Without a check before
/// the step records its completion, the completion commits in the background while the
/// worker records a cancel, and the run ends `done`.
async fn a_step_that_returns_after_a_cancel_landed_is_cancelled_not_done(h: Harness) {
    struct Racer(Client);
    #[derive(Deserialize)]
    struct Ctx {}
    impl StepKind for Racer {
        const NAME: &'static str = "racer";
        const QUEUE: &'static str = "pipe_racer";
        type Context = Ctx;
        type Output = ();
    }
    impl Step for Racer {
        type Kind = Racer;
        async fn run(&self, ctx: StepContext, _c: Ctx) -> Result<(), JobError> {
            self.0.cancel(ctx.job().id).await.unwrap();
            // Stay in this poll (no await) until the worker's listener has fired the token,
            // then return at once. `block_in_place` hands this thread's other tasks (the
            // listener among them) to the runtime while we wait.
            tokio::task::block_in_place(|| {
                let started = std::time::Instant::now();
                while !ctx.is_cancelled() && started.elapsed() < Duration::from_secs(5) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            });
            assert!(ctx.is_cancelled(), "the cancel never reached the step");
            Ok(())
        }
    }
    let client = Client::new(h.store.clone());
    let (client, run_id, w) = run_single(&h, Racer(client)).await;
    assert_cancelled_once(&client, run_id, w).await;
}

/// The run ended (not merely left running) as cancelled, with exactly one terminal event.
async fn assert_cancelled_once(client: &Client, run_id: i64, w: WorkerHandle) {
    let status = wait_status(client, run_id, |s| !matches!(s, RunStatus::Running { .. })).await;
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    assert!(
        matches!(status, RunStatus::Failed { ref code, .. } if code == "CANCELLED"),
        "{status:?}"
    );
    let evs = all_events(client, run_id).await;
    assert_gapless(&evs);
    assert_eq!(evs.iter().filter(|e| e.status.is_terminal()).count(), 1);
}

async fn large_results_are_stored_and_returned(h: Harness) {
    struct Big;
    #[derive(Deserialize)]
    struct Ctx {}
    impl StepKind for Big {
        const NAME: &'static str = "big";
        const QUEUE: &'static str = "pipe_big";
        type Context = Ctx;
        type Output = String;
    }
    impl Step for Big {
        type Kind = Big;
        async fn run(&self, _ctx: StepContext, _c: Ctx) -> Result<String, JobError> {
            Ok("spec ".repeat(600_000)) // 3 MB
        }
    }
    let (client, run_id, w) = run_single(&h, Big).await;
    let result = done_result(&client, run_id).await;
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    assert_eq!(result.as_str().unwrap().len(), 3_000_000);
}

async fn unknown_runs_and_other_owners_get_clear_answers(h: Harness) {
    let client = Client::new(h.store.clone());
    assert_eq!(
        client.run_status(OWNER, 987_654).await.unwrap(),
        RunStatus::NotFound
    );
    assert_eq!(
        client.events(OWNER, 987_654, 0).await.err().unwrap().code(),
        "RUN_NOT_FOUND"
    );
    assert_eq!(
        client.resume(OWNER, 987_654).await.unwrap_err().code(),
        "RUN_NOT_FOUND"
    );
    let sub = client
        .submit(&pipeline(), OWNER, &input(), SubmitOpts::default())
        .await
        .unwrap();
    assert_eq!(
        client.run_status("mallory", sub.run_id).await.unwrap(),
        RunStatus::NotFound,
        "another owner cannot read it"
    );
    assert_eq!(
        client
            .events("mallory", sub.run_id, 0)
            .await
            .err()
            .unwrap()
            .code(),
        "RUN_NOT_FOUND"
    );
    let err = client.resume(OWNER, sub.run_id).await.unwrap_err();
    assert_eq!(
        err.code(),
        "INVALID_STATE",
        "a running run cannot be resumed: {err}"
    );
    let empty = client
        .submit(
            &Pipeline::new("empty"),
            OWNER,
            &input(),
            SubmitOpts::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(empty.code(), "INVALID_CONFIG");
    assert_eq!(
        client
            .submit(&pipeline(), "", &input(), SubmitOpts::default())
            .await
            .unwrap_err()
            .code(),
        "INVALID_ARGS"
    );
    // An empty or blank key would make unrelated submissions share one run.
    let long = "k".repeat(specline_queue::pipeline::MAX_IDEMPOTENCY_KEY_LEN + 1);
    for key in ["", "   ", "a\nb", long.as_str()] {
        let err = client
            .submit(
                &pipeline(),
                OWNER,
                &input(),
                SubmitOpts::default().idempotency_key(key),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGS", "key {key:?}: {err}");
    }
}

async fn results_expire_and_are_pruned_by_the_leader(h: Harness) {
    let probe = Arc::new(Probe::default());
    let client = Client::new(h.store.clone());
    let w = start(&h, &probe).await;
    let p = pipeline().result_ttl(Duration::from_secs(1));
    let sub = client
        .submit(
            &p,
            OWNER,
            &input(),
            SubmitOpts::default().idempotency_key("short"),
        )
        .await
        .unwrap();
    wait_status(&client, sub.run_id, |s| matches!(s, RunStatus::Done { .. })).await;
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        client.run_status(OWNER, sub.run_id).await.unwrap(),
        RunStatus::Expired
    );
    let lease = h
        .store
        .try_lead("pruner", Duration::from_secs(10))
        .await
        .unwrap()
        .unwrap();
    // The expired result goes; the idempotency key (24 h) stays.
    assert_eq!(h.store.prune_runs(&lease).await.unwrap(), 1);
    assert!(h.store.run_result(sub.run_id).await.unwrap().is_none());
    let again = client
        .submit(
            &p,
            OWNER,
            &input(),
            SubmitOpts::default().idempotency_key("short"),
        )
        .await
        .unwrap();
    assert!(again.existing);
    assert_eq!(again.run_id, sub.run_id);
}

on_both_backends!(
    results_expire_and_are_pruned_by_the_leader,
    a_three_step_run_flows_to_done_with_its_result_and_events,
    a_failed_step_fails_the_run_once_and_resume_continues_from_the_checkpoint,
    a_redelivered_step_with_a_checkpoint_is_not_executed_again,
    a_step_output_that_does_not_fit_the_next_step_fails_the_run_with_a_code,
    intermediate_checkpoints_let_a_retried_step_resume_mid_way,
    five_hundred_concurrent_submissions_with_one_key_make_one_run,
    a_subscriber_sees_live_events_and_a_late_one_the_whole_history,
    progress_reports_are_rate_limited,
    cancelling_a_running_step_fails_the_run_once,
    a_step_that_returns_after_a_cancel_landed_is_cancelled_not_done,
    large_results_are_stored_and_returned,
    unknown_runs_and_other_owners_get_clear_answers,
);

//! Pipelines as graphs: parallel branches, a join, a map over items, failure semantics,
//! cancel and resume, on both backends.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Deserialize;
use specline_queue::pipeline::{Outcome, Step, StepContext, StepKind};
use specline_queue::run_graph::NodeState;
use specline_queue::{
    Client, EventStatus, JobError, JobFilter, JobState, KindOptions, Pipeline, Registry, RunEvent,
    RunStatus, SubmitOpts, Worker, WorkerHandle,
};
use tokio::sync::Notify;

use common::Harness;

const OWNER: &str = "graph-owner";

/// What the steps of these tests saw: executions per step and item, and the branches that
/// are running now.
#[derive(Default)]
struct Probe {
    runs: Mutex<HashMap<String, usize>>,
    /// The item that fails (-1: none).
    fail_item: AtomicI64,
    /// Branches `b` and `c` running at once, and a signal for each change.
    branches: AtomicUsize,
    changed: Notify,
    /// Items held until released (cancel mid-fan-out).
    hold_from: AtomicI64,
    held: AtomicUsize,
}

impl Probe {
    fn new() -> Arc<Probe> {
        let p = Probe::default();
        p.fail_item.store(-1, Ordering::SeqCst);
        p.hold_from.store(i64::MAX, Ordering::SeqCst);
        Arc::new(p)
    }
    fn hit(&self, what: String) {
        *self.runs.lock().unwrap().entry(what).or_default() += 1;
    }
    fn count(&self, what: &str) -> usize {
        self.runs.lock().unwrap().get(what).copied().unwrap_or(0)
    }
}

// --- a diamond: a -> b, c -> d --------------------------------------------------------------

#[derive(Deserialize)]
struct InputOnly {
    input: i64,
}
#[derive(Deserialize)]
struct AfterA {
    g_a: i64,
}
#[derive(Deserialize)]
struct AfterBc {
    g_a: i64,
    g_b: String,
    g_c: String,
}

struct A(Arc<Probe>);
impl StepKind for A {
    const NAME: &'static str = "g_a";
    const QUEUE: &'static str = "g_edge";
    type Context = InputOnly;
    type Output = i64;
}
impl Step for A {
    type Kind = A;
    async fn run(&self, _: StepContext, c: InputOnly) -> Result<i64, JobError> {
        self.0.hit("a".into());
        Ok(c.input + 1)
    }
}

/// A branch: it waits (up to a deadline) until the other branch runs too, so the run can
/// only finish if both ran at the same time.
async fn branch(p: &Probe, name: &str, a: i64) -> Result<String, JobError> {
    p.hit(name.into());
    p.branches.fetch_add(1, Ordering::SeqCst);
    p.changed.notify_waiters();
    let deadline = Instant::now() + Duration::from_secs(30);
    while p.branches.load(Ordering::SeqCst) < 2 {
        if Instant::now() > deadline {
            return Err(JobError::permanent(
                "NO_OVERLAP",
                "the other branch never ran",
            ));
        }
        let _ = tokio::time::timeout(Duration::from_millis(50), p.changed.notified()).await;
    }
    Ok(format!("{name}{a}"))
}

struct B(Arc<Probe>);
impl StepKind for B {
    const NAME: &'static str = "g_b";
    const QUEUE: &'static str = "g_branch";
    type Context = AfterA;
    type Output = String;
}
impl Step for B {
    type Kind = B;
    async fn run(&self, _: StepContext, c: AfterA) -> Result<String, JobError> {
        branch(&self.0, "b", c.g_a).await
    }
}
struct C(Arc<Probe>);
impl StepKind for C {
    const NAME: &'static str = "g_c";
    const QUEUE: &'static str = "g_branch";
    type Context = AfterA;
    type Output = String;
}
impl Step for C {
    type Kind = C;
    async fn run(&self, _: StepContext, c: AfterA) -> Result<String, JobError> {
        branch(&self.0, "c", c.g_a).await
    }
}
struct D(Arc<Probe>);
impl StepKind for D {
    const NAME: &'static str = "g_d";
    const QUEUE: &'static str = "g_edge";
    type Context = AfterBc;
    type Output = String;
}
impl Step for D {
    type Kind = D;
    async fn run(&self, _: StepContext, c: AfterBc) -> Result<String, JobError> {
        self.0.hit("d".into());
        Ok(format!("{}+{}@{}", c.g_b, c.g_c, c.g_a))
    }
}

fn diamond() -> Pipeline {
    Pipeline::new("diamond")
        .step::<A>()
        .after::<B>(&["g_a"])
        .after::<C>(&["g_a"])
        .after::<D>(&["g_b", "g_c"])
        .build()
        .unwrap()
}

// --- a map: items -> square (per item) -> sum ------------------------------------------------

#[derive(Deserialize)]
struct Count {
    input: usize,
}
struct Items;
impl StepKind for Items {
    const NAME: &'static str = "m_items";
    const QUEUE: &'static str = "m_edge";
    type Context = Count;
    type Output = Vec<i64>;
}
impl Step for Items {
    type Kind = Items;
    async fn run(&self, _: StepContext, c: Count) -> Result<Vec<i64>, JobError> {
        Ok((0..c.input as i64).collect())
    }
}

#[derive(Deserialize)]
struct OneItem {
    item: i64,
}
struct Square(Arc<Probe>);
impl StepKind for Square {
    const NAME: &'static str = "m_square";
    const QUEUE: &'static str = "m_items";
    type Context = OneItem;
    type Output = i64;
    fn options() -> KindOptions {
        KindOptions {
            max_attempts: 1,
            ..KindOptions::default()
        }
    }
}
impl Step for Square {
    type Kind = Square;
    async fn run(&self, ctx: StepContext, c: OneItem) -> Result<i64, JobError> {
        self.0.hit(format!("item{}", c.item));
        if c.item >= self.0.hold_from.load(Ordering::SeqCst) {
            self.0.held.fetch_add(1, Ordering::SeqCst);
            // Held until the run is cancelled (the worker asks it to stop).
            let deadline = Instant::now() + Duration::from_secs(60);
            while !ctx.is_cancelled() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            return Err(JobError::cancel("stopped"));
        }
        if c.item == self.0.fail_item.load(Ordering::SeqCst) {
            return Err(JobError::permanent(
                "ITEM_BROKE",
                format!("item {} broke", c.item),
            ));
        }
        self.0.hit(format!("ok{}", c.item));
        Ok(c.item * c.item)
    }
}

#[derive(Deserialize)]
struct Squares {
    m_square: Vec<i64>,
}
struct Sum(Arc<Probe>);
impl StepKind for Sum {
    const NAME: &'static str = "m_sum";
    const QUEUE: &'static str = "m_edge";
    type Context = Squares;
    type Output = Vec<i64>;
}
impl Step for Sum {
    type Kind = Sum;
    async fn run(&self, _: StepContext, c: Squares) -> Result<Vec<i64>, JobError> {
        self.0.hit("sum".into());
        Ok(c.m_square)
    }
}

#[derive(Deserialize)]
struct SquareOutcomes {
    m_square: Vec<Outcome<i64>>,
}
struct Tally(Arc<Probe>);
impl StepKind for Tally {
    const NAME: &'static str = "m_tally";
    const QUEUE: &'static str = "m_edge";
    type Context = SquareOutcomes;
    type Output = Vec<Outcome<i64>>;
}
impl Step for Tally {
    type Kind = Tally;
    async fn run(&self, _: StepContext, c: SquareOutcomes) -> Result<Vec<Outcome<i64>>, JobError> {
        self.0.hit("tally".into());
        Ok(c.m_square)
    }
}

fn map_pipeline() -> Pipeline {
    Pipeline::new("squares")
        .step::<Items>()
        .map::<Square>("m_items", &[])
        .after::<Sum>(&["m_square"])
        .build()
        .unwrap()
}

// --- helpers -----------------------------------------------------------------------------

async fn worker(
    h: &Harness,
    registry: Registry,
    queues: &[(&str, usize)],
    id: &str,
) -> WorkerHandle {
    let mut b = Worker::builder(h.store.clone())
        .registry(registry)
        .id(id)
        .poll_interval(Duration::from_millis(100));
    for (q, n) in queues {
        b = b.queue(*q, *n);
    }
    b.build().unwrap().start().await.unwrap()
}

fn map_registry(p: &Arc<Probe>) -> Registry {
    Registry::new()
        .step(Items)
        .step(Square(p.clone()))
        .step(Sum(p.clone()))
        .step(Tally(p.clone()))
}

async fn map_worker(h: &Harness, p: &Arc<Probe>, items_slots: usize) -> WorkerHandle {
    worker(
        h,
        map_registry(p),
        &[("m_edge", 2), ("m_items", items_slots)],
        "map-worker",
    )
    .await
}

async fn wait_status(
    client: &Client,
    run_id: i64,
    timeout: Duration,
    done: impl Fn(&RunStatus) -> bool,
) -> RunStatus {
    let until = Instant::now() + timeout;
    loop {
        let st = client.run_status(OWNER, run_id).await.unwrap();
        if done(&st) {
            return st;
        }
        assert!(
            Instant::now() < until,
            "run {run_id} did not reach the expected status in {timeout:?}: {st:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn done_result(client: &Client, run_id: i64) -> serde_json::Value {
    match wait_status(client, run_id, Duration::from_secs(120), |s| {
        !matches!(s, RunStatus::Running { .. })
    })
    .await
    {
        RunStatus::Done { result } => result,
        other => panic!("run {run_id} is not done: {other:?}"),
    }
}

async fn all_events(client: &Client, run_id: i64) -> Vec<RunEvent> {
    let stream = client.events(OWNER, run_id, 0).await.unwrap();
    tokio::time::timeout(
        Duration::from_secs(30),
        stream.map(|e| e.unwrap()).collect::<Vec<_>>(),
    )
    .await
    .expect("the stream of a finished run ends")
}

/// Every event of the run, also after a terminal one (a resumed run's history goes on).
async fn history(h: &Harness, run_id: i64) -> Vec<RunEvent> {
    h.store.run_events(run_id, 0, 1_000_000).await.unwrap()
}

fn assert_gapless(evs: &[RunEvent]) {
    for (i, e) in evs.iter().enumerate() {
        assert_eq!(e.seq, i as i64 + 1, "seq must be gapless from 1");
    }
}

fn terminal(evs: &[RunEvent]) -> Vec<EventStatus> {
    evs.iter()
        .map(|e| e.status)
        .filter(|s| s.is_terminal())
        .collect()
}

async fn jobs_of(h: &Harness, kind: &str) -> Vec<specline_queue::Job> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let page = h
            .store
            .list_jobs(&JobFilter {
                kind: Some(kind.into()),
                before_id: before,
                limit: 500,
                ..JobFilter::default()
            })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        all.extend(page);
    }
    all
}

// --- tests -------------------------------------------------------------------------------

async fn a_diamond_runs_its_branches_at_once_on_two_workers_and_joins_both(h: Harness) {
    let p = Probe::new();
    let registry = || {
        Registry::new()
            .step(A(p.clone()))
            .step(B(p.clone()))
            .step(C(p.clone()))
            .step(D(p.clone()))
    };
    // Two workers, one branch slot each: the branches overlap only on two workers.
    let w1 = worker(&h, registry(), &[("g_edge", 1), ("g_branch", 1)], "w1").await;
    let w2 = worker(&h, registry(), &[("g_edge", 1), ("g_branch", 1)], "w2").await;
    let client = Client::new(h.store.clone());
    let sub = client
        .submit(&diamond(), OWNER, &41, SubmitOpts::default())
        .await
        .unwrap();
    let result = done_result(&client, sub.run_id).await;
    w1.shutdown(Duration::from_secs(5)).await.unwrap();
    w2.shutdown(Duration::from_secs(5)).await.unwrap();
    assert_eq!(result, serde_json::json!("b42+c42@42"));
    for step in ["a", "b", "c", "d"] {
        assert_eq!(p.count(step), 1, "step {step} ran once");
    }
    // The overlap, from the database's timestamps: each branch started before the other ended,
    // on different workers.
    let b = jobs_of(&h, "g_b").await.pop().unwrap();
    let c = jobs_of(&h, "g_c").await.pop().unwrap();
    let (bs, be) = (b.attempted_at.unwrap(), b.finalized_at.unwrap());
    let (cs, ce) = (c.attempted_at.unwrap(), c.finalized_at.unwrap());
    assert!(bs < ce && cs < be, "b {bs}..{be} and c {cs}..{ce} overlap");
    assert_ne!(
        b.attempted_by, c.attempted_by,
        "the branches ran on two workers"
    );
    let d = jobs_of(&h, "g_d").await.pop().unwrap();
    assert!(
        d.attempted_at.unwrap() >= be.max(ce),
        "the join starts after both branches"
    );

    let evs = all_events(&client, sub.run_id).await;
    assert_gapless(&evs);
    assert_eq!(terminal(&evs), vec![EventStatus::Done]);
    // Progress is finished steps / steps: 25 after a, 75 after both branches, 100 at the end.
    let completed: Vec<(String, i16)> = evs
        .iter()
        .filter(|e| e.status == EventStatus::Completed)
        .map(|e| (e.stage.clone().unwrap(), e.progress))
        .collect();
    assert_eq!(completed[0], ("g_a".into(), 25));
    assert_eq!(completed.last().unwrap(), &("g_d".into(), 100));
    let branch_progress: Vec<i16> = completed[1..3].iter().map(|c| c.1).collect();
    assert!(
        branch_progress == vec![50, 75] || branch_progress == vec![75, 75],
        "{completed:?}"
    );
    let g = client.run_graph(OWNER, sub.run_id).await.unwrap();
    assert!(g.nodes.iter().all(|n| n.state == NodeState::Done), "{g:?}");
    assert_eq!(g.nodes[3].after, vec![1, 2]);
    let queued_d = evs
        .iter()
        .filter(|e| e.status == EventStatus::Queued && e.stage.as_deref() == Some("g_d"))
        .count();
    assert_eq!(queued_d, 1, "the join is started once");
}

async fn a_map_over_a_thousand_items_joins_their_outputs_in_order(h: Harness) {
    let p = Probe::new();
    let w = map_worker(&h, &p, 16).await;
    let client = Client::new(h.store.clone());
    let sub = client
        .submit(&map_pipeline(), OWNER, &1000, SubmitOpts::default())
        .await
        .unwrap();
    let result = done_result(&client, sub.run_id).await;
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    let want: Vec<i64> = (0..1000).map(|i| i * i).collect();
    assert_eq!(result, serde_json::json!(want));
    for i in 0..1000 {
        assert_eq!(p.count(&format!("item{i}")), 1, "item {i} ran once");
    }
    let items = jobs_of(&h, "m_square").await;
    // 1,000 item jobs and the mapped step's own job, which joins them.
    assert_eq!(items.len(), 1001);
    assert!(items.iter().all(|j| j.state == JobState::Completed));
    let evs = all_events(&client, sub.run_id).await;
    assert_gapless(&evs);
    assert_eq!(terminal(&evs), vec![EventStatus::Done]);
    let queued_items: Vec<&RunEvent> = evs
        .iter()
        .filter(|e| e.status == EventStatus::Queued && e.job_id.is_none())
        .collect();
    assert_eq!(queued_items.len(), 1, "one queued event for the items");
    assert_eq!(
        queued_items[0].payload,
        Some(serde_json::json!({ "items": 1000 }))
    );
    // The items do not each write to the run: no `started` or `completed` event of an item,
    // and progress once per percent of the items, in order, ending at 100%.
    let of_items: Vec<&RunEvent> = evs
        .iter()
        .filter(|e| e.stage.as_deref() == Some("m_square"))
        .collect();
    let item_events = of_items
        .iter()
        .filter(|e| matches!(e.status, EventStatus::Started | EventStatus::Completed))
        .filter(|e| {
            e.job_id.is_some_and(|id| {
                items
                    .iter()
                    .any(|j| j.id == id && j.args.get("item").is_some())
            })
        })
        .count();
    assert_eq!(item_events, 0);
    let counts: Vec<(i64, i16)> = of_items
        .iter()
        .filter(|e| e.status == EventStatus::Progress)
        .map(|e| {
            (
                e.payload.as_ref().unwrap()["done"].as_i64().unwrap(),
                e.progress,
            )
        })
        .collect();
    // One batch of completions may pass several percents: one event for them.
    assert!(!counts.is_empty() && counts.len() <= 100, "{counts:?}");
    assert!(counts.windows(2).all(|w| w[0].0 < w[1].0), "{counts:?}");
    assert!(
        counts
            .iter()
            .all(|&(done, pct)| i64::from(pct) == done / 10),
        "{counts:?}"
    );
    assert_eq!(counts.last(), Some(&(1000, 100)));
    // The run's own progress stays finished steps / steps: the item counts leave it alone.
    let run_progress: Vec<i16> = evs
        .iter()
        .filter(|e| e.status == EventStatus::Completed)
        .map(|e| e.progress)
        .collect();
    assert_eq!(run_progress, vec![33, 66, 100]);
}

async fn a_failing_item_fails_the_run_fast_and_resume_reruns_only_unfinished_items(h: Harness) {
    let p = Probe::new();
    p.fail_item.store(7, Ordering::SeqCst);
    // One item slot: the items run in order, so the failure at item 7 leaves most of the items
    // after it unrun. (Item 8 may still start: a slot is free once its job's outcome is handed
    // to the completer, before the failure is written; it then ends cancelled, not checkpointed.)
    let w = map_worker(&h, &p, 1).await;
    let client = Client::new(h.store.clone());
    let sub = client
        .submit(&map_pipeline(), OWNER, &40, SubmitOpts::default())
        .await
        .unwrap();
    let st = wait_status(&client, sub.run_id, Duration::from_secs(60), |s| {
        matches!(s, RunStatus::Failed { .. })
    })
    .await;
    assert_eq!(
        st,
        RunStatus::Failed {
            code: "ITEM_BROKE".into(),
            message: "item 7 broke".into()
        }
    );
    // Fail-fast: no item job of the run is left to run.
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let items = jobs_of(&h, "m_square").await;
        if items.iter().all(|j| j.state.is_final()) {
            let cancelled = items
                .iter()
                .filter(|j| j.state == JobState::Cancelled)
                .count();
            assert!(cancelled > 0, "the unfinished items were cancelled");
            break;
        }
        assert!(Instant::now() < until, "items still pending: {items:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(p.count("sum"), 0, "the join never ran");
    let evs = history(&h, sub.run_id).await;
    assert_gapless(&evs);
    assert_eq!(terminal(&evs), vec![EventStatus::Failed]);
    let g = client.run_graph(OWNER, sub.run_id).await.unwrap();
    assert_eq!(g.nodes[1].state, NodeState::Failed, "{g:?}");
    let ok_before: Vec<usize> = (0..7).map(|i| p.count(&format!("ok{i}"))).collect();
    assert_eq!(
        ok_before,
        vec![1; 7],
        "the items before the failing one finished"
    );

    // The items whose job completed hold a checkpoint: every item before 7, never item 7.
    let checkpointed: Vec<i64> = jobs_of(&h, "m_square")
        .await
        .iter()
        .filter(|j| j.state == JobState::Completed)
        .filter_map(|j| j.args.get("item").and_then(serde_json::Value::as_i64))
        .collect();
    assert!(
        (0..7).all(|i| checkpointed.contains(&i)) && !checkpointed.contains(&7),
        "checkpointed items: {checkpointed:?}"
    );
    let runs_before: Vec<usize> = (0..40).map(|i| p.count(&format!("item{i}"))).collect();

    // Resume: only the items without a checkpoint run again, each once.
    p.fail_item.store(-1, Ordering::SeqCst);
    client.resume(OWNER, sub.run_id).await.unwrap();
    let result = done_result(&client, sub.run_id).await;
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    let want: Vec<i64> = (0..40).map(|i| i * i).collect();
    assert_eq!(result, serde_json::json!(want));
    for i in 0..40 {
        let again = p.count(&format!("item{i}")) - runs_before[i as usize];
        let want = usize::from(!checkpointed.contains(&i));
        assert_eq!(again, want, "item {i} ran {again} times after the resume");
    }
    assert_eq!(p.count("item7"), 2, "the failed item ran again");
    assert_eq!(p.count("sum"), 1);
    let evs = history(&h, sub.run_id).await;
    assert_gapless(&evs);
    assert_eq!(
        terminal(&evs),
        vec![EventStatus::Failed, EventStatus::Done],
        "each attempt of the run ends once"
    );
}

async fn an_allowed_failure_reaches_the_join_with_the_other_outputs(h: Harness) {
    let p = Probe::new();
    p.fail_item.store(3, Ordering::SeqCst);
    let w = map_worker(&h, &p, 4).await;
    let client = Client::new(h.store.clone());
    let pipeline = Pipeline::new("tolerant")
        .step::<Items>()
        .map::<Square>("m_items", &[])
        .allow_failure()
        .after::<Tally>(&["m_square"])
        .build()
        .unwrap();
    let sub = client
        .submit(&pipeline, OWNER, &6, SubmitOpts::default())
        .await
        .unwrap();
    let result = done_result(&client, sub.run_id).await;
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    let got: Vec<Outcome<i64>> = serde_json::from_value(result).unwrap();
    let want: Vec<Outcome<i64>> = (0..6)
        .map(|i| {
            if i == 3 {
                Outcome::Failed {
                    code: "ITEM_BROKE".into(),
                    message: "item 3 broke".into(),
                }
            } else {
                Outcome::Ok(i * i)
            }
        })
        .collect();
    assert_eq!(got, want);
    let evs = all_events(&client, sub.run_id).await;
    assert_gapless(&evs);
    assert_eq!(terminal(&evs), vec![EventStatus::Done]);
}

async fn cancelling_a_run_mid_fan_out_cancels_every_unfinished_item(h: Harness) {
    let p = Probe::new();
    p.hold_from.store(10, Ordering::SeqCst);
    let w = map_worker(&h, &p, 3).await;
    let client = Client::new(h.store.clone());
    let sub = client
        .submit(&map_pipeline(), OWNER, &100, SubmitOpts::default())
        .await
        .unwrap();
    // Wait until the worker holds items (so some finished and some run), then cancel.
    let until = Instant::now() + Duration::from_secs(60);
    while p.held.load(Ordering::SeqCst) < 3 {
        assert!(Instant::now() < until, "the items never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client.cancel_run(OWNER, sub.run_id).await.unwrap();
    let st = wait_status(&client, sub.run_id, Duration::from_secs(30), |s| {
        matches!(s, RunStatus::Failed { .. })
    })
    .await;
    assert!(matches!(st, RunStatus::Failed { ref code, .. } if code == "CANCELLED"));
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let items = jobs_of(&h, "m_square").await;
        if items.iter().all(|j| j.state.is_final()) {
            let completed = items
                .iter()
                .filter(|j| j.state == JobState::Completed)
                .count();
            let cancelled = items
                .iter()
                .filter(|j| j.state == JobState::Cancelled)
                .count();
            assert_eq!(completed, 10, "the items before the hold completed");
            assert_eq!(cancelled, 90, "every unfinished item was cancelled");
            break;
        }
        assert!(Instant::now() < until, "items still unfinished: {items:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    assert_eq!(p.count("sum"), 0);
    // The run's graph says where each step stopped.
    let g = client.run_graph(OWNER, sub.run_id).await.unwrap();
    let states: Vec<NodeState> = g.nodes.iter().map(|n| n.state).collect();
    assert_eq!(
        states,
        vec![NodeState::Done, NodeState::Cancelled, NodeState::Waiting]
    );
    // An item whose completion commits after the cancel is completed but not counted (the
    // run no longer runs; a resume recounts from the checkpoints).
    let items = g.nodes[1].items.unwrap();
    assert!(items.total == 100 && items.done <= 10, "{items:?}");
    assert_eq!(
        (g.nodes[1].map_over, g.nodes[2].after.clone()),
        (Some(0), vec![1])
    );
    let evs = all_events(&client, sub.run_id).await;
    assert_gapless(&evs);
    assert_eq!(terminal(&evs), vec![EventStatus::Failed]);
}

async fn a_cycle_or_a_missing_step_is_refused_when_built_and_when_submitted(h: Harness) {
    let p = Probe::new();
    let cycle = Pipeline::new("cycle")
        .step::<A>()
        .after::<B>(&["g_a", "g_d"])
        .after::<C>(&["g_a"])
        .after::<D>(&["g_b", "g_c"]);
    let e = cycle.clone().build().unwrap_err();
    assert_eq!(e.code(), "INVALID_GRAPH");
    assert!(e.to_string().contains("cycle"), "{e}");
    let missing = Pipeline::new("missing")
        .step::<A>()
        .after::<B>(&["g_a", "g_nothing"]);
    let e = missing.clone().build().unwrap_err();
    assert_eq!(e.code(), "INVALID_GRAPH");
    assert!(e.to_string().contains("g_nothing"), "{e}");
    let client = Client::new(h.store.clone());
    for bad in [cycle, missing] {
        let e = client
            .submit(&bad, OWNER, &1, SubmitOpts::default())
            .await
            .unwrap_err();
        assert_eq!(e.code(), "INVALID_GRAPH");
    }
    assert!(jobs_of(&h, "g_a").await.is_empty(), "nothing was submitted");
    drop(p);
}

on_both_backends!(
    a_diamond_runs_its_branches_at_once_on_two_workers_and_joins_both,
    a_map_over_a_thousand_items_joins_their_outputs_in_order,
    a_failing_item_fails_the_run_fast_and_resume_reruns_only_unfinished_items,
    an_allowed_failure_reaches_the_join_with_the_other_outputs,
    cancelling_a_run_mid_fan_out_cancels_every_unfinished_item,
    a_cycle_or_a_missing_step_is_refused_when_built_and_when_submitted,
);

//! Crash safety with real processes: a worker process is SIGKILLed while jobs run, a second
//! worker process finishes every job, and no job is lost or completed twice.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use specline_queue::maintenance::RoundTimers;
use specline_queue::pipeline::{Step, StepContext, StepKind};
use specline_queue::store::{PgConfig, PgStore, SqliteConfig, SqliteStore, Store};
use specline_queue::{
    Client, EventStatus, InsertOpts, JobContext, JobError, JobFilter, JobKind, JobState,
    Maintenance, MaintenanceConfig, NewJob, Pipeline, Registry, RunStatus, SubmitOpts, Worker,
};

use common::{Guard, Harness};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Work {
    ms: u64,
}
impl JobKind for Work {
    const KIND: &'static str = "crash_work";
    const QUEUE: &'static str = "crash";
}

const JOBS: i64 = 300;

/// The steps of the crash pipeline: each records when it started (as an intermediate
/// checkpoint), sleeps a little, and returns.
async fn crash_step(ctx: &StepContext, name: &str) -> Result<u64, JobError> {
    let key = format!("started:{}:{}", ctx.job().worker, ctx.job().attempt);
    ctx.checkpoint(&key, &chrono::Utc::now())
        .await
        .map_err(|e| JobError::retryable("DB", e))?;
    let ms = 5 + (ctx.run_id() as u64 * 7 + name.len() as u64) % 25;
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(ms)
}

#[derive(Deserialize)]
struct NoCtx {}

macro_rules! crash_steps {
    ($($t:ident = $name:literal),*) => {$(
        struct $t;
        impl StepKind for $t {
            const NAME: &'static str = $name;
            const QUEUE: &'static str = "crash_pipe";
            type Context = NoCtx;
            type Output = u64;
        }
        impl Step for $t {
            type Kind = $t;
            async fn run(&self, ctx: StepContext, _c: NoCtx) -> Result<u64, JobError> {
                crash_step(&ctx, $name).await
            }
        }
    )*};
}
crash_steps!(S1 = "crash_s1", S2 = "crash_s2", S3 = "crash_s3");

/// The items of the map crash test.
const ITEMS: usize = 1000;

#[derive(Deserialize)]
struct CountCtx {
    input: usize,
}
struct CrashItems;
impl StepKind for CrashItems {
    const NAME: &'static str = "crash_items";
    const QUEUE: &'static str = "crash_map";
    type Context = CountCtx;
    type Output = Vec<usize>;
}
impl Step for CrashItems {
    type Kind = CrashItems;
    async fn run(&self, _ctx: StepContext, c: CountCtx) -> Result<Vec<usize>, JobError> {
        Ok((0..c.input).collect())
    }
}

#[derive(Deserialize)]
struct ItemCtx {
    item: usize,
}
/// One item: records when it started (an intermediate checkpoint of the item), sleeps a
/// little, and returns three times the item.
struct CrashItem;
impl StepKind for CrashItem {
    const NAME: &'static str = "crash_item";
    const QUEUE: &'static str = "crash_map";
    type Context = ItemCtx;
    type Output = usize;
}
impl Step for CrashItem {
    type Kind = CrashItem;
    async fn run(&self, ctx: StepContext, c: ItemCtx) -> Result<usize, JobError> {
        let key = format!("started:{}:{}", ctx.job().worker, ctx.job().attempt);
        ctx.checkpoint(&key, &chrono::Utc::now())
            .await
            .map_err(|e| JobError::retryable("DB", e))?;
        tokio::time::sleep(Duration::from_millis(2 + (c.item as u64 % 7))).await;
        Ok(c.item * 3)
    }
}

#[derive(Deserialize)]
struct JoinCtx {
    crash_item: Vec<usize>,
}
struct CrashJoin;
impl StepKind for CrashJoin {
    const NAME: &'static str = "crash_join";
    const QUEUE: &'static str = "crash_map";
    type Context = JoinCtx;
    type Output = Vec<usize>;
}
impl Step for CrashJoin {
    type Kind = CrashJoin;
    async fn run(&self, _ctx: StepContext, c: JoinCtx) -> Result<Vec<usize>, JobError> {
        Ok(c.crash_item)
    }
}

/// The worker process. Not a test on its own: the crash tests start it as a child.
#[test]
#[ignore = "run as a child process by the crash tests"]
fn crash_child_worker() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store: Arc<dyn Store> = match std::env::var("CRASH_BACKEND").unwrap().as_str() {
            "postgres" => Arc::new(
                PgStore::connect(
                    PgConfig::new(std::env::var("CRASH_URL").unwrap())
                        .schema(std::env::var("CRASH_SCHEMA").unwrap()),
                )
                .await
                .unwrap(),
            ),
            _ => Arc::new(
                SqliteStore::open(SqliteConfig::new(std::env::var("CRASH_PATH").unwrap()))
                    .await
                    .unwrap(),
            ),
        };
        let worker = Worker::builder(store)
            .registry(
                Registry::new()
                    .register(|_c: JobContext, w: Work| async move {
                        tokio::time::sleep(Duration::from_millis(w.ms)).await;
                        Ok(())
                    })
                    .step(S1)
                    .step(S2)
                    .step(S3)
                    .step(CrashItems)
                    .step(CrashItem)
                    .step(CrashJoin),
            )
            .queue("crash", 16)
            .queue("crash_pipe", 8)
            .queue("crash_map", 8)
            .poll_interval(Duration::from_millis(100))
            .heartbeat_interval(Duration::from_millis(200))
            .build()
            .unwrap();
        println!("worker-id {}", worker.id());
        let _handle = worker.start().await.unwrap();
        // Run until killed.
        std::future::pending::<()>().await;
    });
}

fn spawn_child(h: &Harness) -> (Child, String) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--ignored",
        "--exact",
        "crash_child_worker",
        "--nocapture",
        "--test-threads",
        "1",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    match &h.guard {
        Guard::Pg { schema } => {
            cmd.env("CRASH_BACKEND", "postgres")
                .env("CRASH_URL", child_url(schema.name()))
                .env("CRASH_SCHEMA", schema.name());
        }
        Guard::Sqlite { file } => {
            cmd.env("CRASH_BACKEND", "sqlite")
                .env("CRASH_PATH", file.path());
        }
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let id = loop {
        let line = lines.next().expect("child printed its worker id").unwrap();
        // libtest prints `test name ... ` before the child's own output on the same line.
        if let Some((_, id)) = line.split_once("worker-id ") {
            break id.trim().to_string();
        }
    };
    // Keep draining the child's output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, id)
}

/// The child's database URL: the test's server, with an application name that marks the
/// child's sessions (so the test can wait for the server to finish them).
fn child_url(schema: &str) -> String {
    let url = common::database_url();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}application_name={}", child_app(schema))
}

fn child_app(schema: &str) -> String {
    format!("crash-child-{schema}")
}

/// Wait until no server session of a killed child is left. A backend whose client died still
/// finishes the statement it received (a COMMIT included) before it ends, so once its session is
/// gone nothing of the child can still change a row. SQLite needs no wait: the child wrote the
/// file itself, and it has exited.
async fn children_gone(h: &Harness) {
    let Guard::Pg { schema } = &h.guard else {
        return;
    };
    let (db, conn) = tokio_postgres::connect(&common::database_url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let app = child_app(schema.name());
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let n: i64 = db
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                &[&app],
            )
            .await
            .unwrap()
            .get(0);
        if n == 0 {
            return;
        }
        assert!(
            Instant::now() < until,
            "the killed worker's sessions did not end"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn crash(h: Harness) {
    let client = Client::new(h.store.clone());
    let jobs: Vec<NewJob> = (0..JOBS)
        .map(|_| NewJob::new(&Work { ms: 25 }, InsertOpts::default()).unwrap())
        .collect();
    client.insert_many(jobs).await.unwrap();

    let (mut first, first_id) = spawn_child(&h);
    let until = Instant::now() + Duration::from_secs(60);
    while h.count(JobState::Completed).await < JOBS / 4 {
        assert!(Instant::now() < until, "first worker made no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    // A completion statement the worker sent just before dying may still commit: wait until
    // the server has ended every session of the dead worker, then take the jobs it left running.
    children_gone(&h).await;
    let mut left_running: Vec<i64> = h
        .store
        .list_jobs(&JobFilter {
            state: Some(JobState::Running),
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    left_running.sort();
    assert!(
        !left_running.is_empty(),
        "the kill should catch jobs mid-run"
    );

    let (mut second, second_id) = spawn_child(&h);
    let m = Maintenance::new(
        h.store.clone(),
        MaintenanceConfig {
            rescue_after: Duration::from_secs(1),
            ..MaintenanceConfig::default()
        },
    );
    let mut timers = RoundTimers::default();
    let until = Instant::now() + Duration::from_secs(90);
    loop {
        m.run_once(&mut timers).await.unwrap();
        if h.count(JobState::Completed).await == JOBS {
            break;
        }
        assert!(
            Instant::now() < until,
            "jobs were lost: {:?}",
            h.store.count_by_state(None).await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.kill().unwrap();
    second.wait().unwrap();

    let all = h
        .store
        .list_jobs(&JobFilter {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        all.len() as i64,
        JOBS,
        "no job vanished and none was duplicated"
    );
    let mut rescued = Vec::new();
    for job in &all {
        assert_eq!(job.state, JobState::Completed);
        assert_eq!(
            job.attempt as usize,
            job.attempted_by.len(),
            "one attempt per claim: {job:?}"
        );
        match job.attempt {
            1 => assert!(job.errors.is_empty()),
            2 => {
                rescued.push(job.id);
                assert_eq!(job.attempted_by, vec![first_id.clone(), second_id.clone()]);
                assert_eq!(job.errors.len(), 1);
                assert_eq!(job.errors[0].code, "RESCUED");
                assert_eq!(job.errors[0].worker, first_id);
            }
            n => panic!("job {} ran {n} times", job.id),
        }
    }
    rescued.sort();
    assert_eq!(
        rescued, left_running,
        "exactly the jobs the dead worker left running were rescued"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sigkilled_worker_loses_no_job() {
    crash(Harness::pg().await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sigkilled_worker_loses_no_job() {
    crash(Harness::sqlite().await).await
}

const RUNS: usize = 100;

/// How many of `runs` have ended.
async fn finished_runs(client: &Client, runs: &[i64]) -> usize {
    let mut finished = 0;
    for &r in runs {
        if !matches!(
            client.run_status("owner", r).await.unwrap(),
            RunStatus::Running { .. }
        ) {
            finished += 1;
        }
    }
    finished
}

/// 100 three-step runs while worker processes are SIGKILLed at random moments: every run ends
/// with exactly one terminal event, seqs are gapless, and no step runs again once its
/// checkpoint was committed.
async fn pipeline_crash(h: Harness) {
    let client = Client::new(h.store.clone());
    let p = Pipeline::new("crashy")
        .step::<S1>()
        .step::<S2>()
        .step::<S3>();
    let mut runs = Vec::new();
    for i in 0..RUNS {
        runs.push(
            client
                .submit(
                    &p,
                    "owner",
                    &serde_json::json!({ "i": i }),
                    SubmitOpts::default(),
                )
                .await
                .unwrap()
                .run_id,
        );
    }
    let m = Maintenance::new(
        h.store.clone(),
        MaintenanceConfig {
            rescue_after: Duration::from_millis(800),
            ..MaintenanceConfig::default()
        },
    );
    let mut timers = RoundTimers::default();
    let mut kills = 0;
    let until = Instant::now() + Duration::from_secs(120);
    loop {
        let (mut child, _) = spawn_child(&h);
        let live = if kills < 6 {
            Duration::from_millis(150 + rand::random_range(0..400))
        } else {
            Duration::from_secs(2)
        };
        let end = Instant::now() + live;
        // The first two kills land mid-run whatever the machine's speed: at their time or
        // once a fifth (then half) of the 300 steps are done, whichever comes first, checked
        // with one count every 10 ms (a loop paced by maintenance rounds and per-run reads
        // let the first child finish every run before its kill on a busy machine).
        let kill_at = match kills {
            0 => Some(RUNS as i64 * 3 / 5),
            1 => Some(RUNS as i64 * 3 / 2),
            _ => None,
        };
        while Instant::now() < end {
            if let Some(steps) = kill_at {
                if h.count(JobState::Completed).await >= steps {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
            m.run_once(&mut timers).await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        let finished = finished_runs(&client, &runs).await;
        if finished == RUNS {
            break;
        }
        assert!(
            Instant::now() < until,
            "runs did not finish: {finished}/{RUNS}"
        );
    }
    assert!(kills >= 2, "the test must actually kill workers mid-run");
    let rescued = h
        .store
        .list_jobs(&JobFilter {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .filter(|j| j.kind.starts_with("crash_s") && j.errors.iter().any(|e| e.code == "RESCUED"))
        .count();
    assert!(
        rescued > 0,
        "some step must have been caught mid-run by a kill"
    );
    for &r in &runs {
        let evs = h.store.run_events(r, 0, 10_000).await.unwrap();
        for (i, e) in evs.iter().enumerate() {
            assert_eq!(e.seq, i as i64 + 1, "run {r}: gap in seq: {evs:?}");
        }
        let terminal: Vec<_> = evs.iter().filter(|e| e.status.is_terminal()).collect();
        assert_eq!(terminal.len(), 1, "run {r}: terminal events {terminal:?}");
        assert_eq!(terminal[0].status, EventStatus::Done, "run {r}: {evs:?}");
        assert_eq!(h.store.step_outputs(r).await.unwrap().len(), 3);
        // No step started after its checkpoint was committed (with its `completed` event).
        for step in ["crash_s1", "crash_s2", "crash_s3"] {
            let done_at = evs
                .iter()
                .find(|e| e.status == EventStatus::Completed && e.stage.as_deref() == Some(step))
                .map(|e| e.at)
                .unwrap_or_else(|| panic!("run {r} step {step} has no completed event"));
            let starts = start_times(&h, r, step).await;
            assert!(!starts.is_empty());
            for s in starts {
                assert!(
                    s <= done_at,
                    "run {r} step {step} started at {s} after its checkpoint at {done_at}"
                );
            }
        }
    }
}

/// When each execution of a step started (keys `started:<worker>:<attempt>`).
async fn start_times(h: &Harness, run: i64, step: &str) -> Vec<chrono::DateTime<chrono::Utc>> {
    let mut out = Vec::new();
    let jobs = h
        .store
        .list_jobs(&JobFilter {
            kind: Some(step.into()),
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    for job in jobs
        .iter()
        .filter(|j| j.args["run_id"] == serde_json::json!(run))
    {
        for worker in &job.attempted_by {
            for attempt in 0..=job.attempted_by.len() as i32 + 1 {
                let key = format!("started:{worker}:{attempt}");
                if let Some(v) = h.store.get_checkpoint(run, step, &key).await.unwrap() {
                    out.push(serde_json::from_value(v).unwrap());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_pipeline_survives_sigkilled_workers() {
    pipeline_crash(Harness::pg().await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_pipeline_survives_sigkilled_workers() {
    pipeline_crash(Harness::sqlite().await).await
}

/// When each item of `crash_item` was first checkpointed, by item, read from the checkpoint
/// rows (an item's output is written once: a later completion leaves its row as it was).
async fn item_checkpoint_times(h: &Harness, run: i64) -> Vec<Option<DateTime<Utc>>> {
    let rows: Vec<(String, DateTime<Utc>)> = match &h.guard {
        Guard::Pg { schema } => {
            let (db, conn) =
                tokio_postgres::connect(&common::database_url(), tokio_postgres::NoTls)
                    .await
                    .unwrap();
            tokio::spawn(conn);
            let sql = format!(
                "SELECT key, updated_at FROM \"{}\".specline_checkpoints
                 WHERE run_id = $1 AND step = 'crash_item' AND key LIKE 'item:%'",
                schema.name()
            );
            db.query(&sql, &[&run])
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect()
        }
        Guard::Sqlite { file } => {
            let db = rusqlite::Connection::open(file.path()).unwrap();
            let mut st = db
                .prepare(
                    "SELECT key, updated_at FROM specline_checkpoints
                     WHERE run_id = ?1 AND step = 'crash_item' AND key LIKE 'item:%'",
                )
                .unwrap();
            st.query_map([run], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .unwrap()
                .map(|r| {
                    let (key, us) = r.unwrap();
                    (key, DateTime::from_timestamp_micros(us).unwrap())
                })
                .collect()
        }
    };
    let mut at = vec![None; ITEMS];
    for (key, time) in rows {
        let k: usize = key.strip_prefix("item:").unwrap().parse().unwrap();
        at[k] = Some(time);
    }
    at
}

/// A map over 1,000 items while the worker process running them is SIGKILLed mid-way: a
/// second worker finishes the run; every item is counted once, no item started again after
/// its checkpoint was committed (each execution records its start; the item's checkpoint
/// row, written once, says when it was committed), the join sees the 1,000 outputs in order,
/// seqs are gapless and the run ends with one `done`.
async fn map_crash(h: Harness) {
    let client = Client::new(h.store.clone());
    let p = Pipeline::new("crash_map")
        .step::<CrashItems>()
        .map::<CrashItem>("crash_items", &[])
        .after::<CrashJoin>(&["crash_item"])
        .build()
        .unwrap();
    let run = client
        .submit(&p, "owner", &ITEMS, SubmitOpts::default())
        .await
        .unwrap()
        .run_id;
    let (mut first, first_id) = spawn_child(&h);
    let until = Instant::now() + Duration::from_secs(120);
    while h.count(JobState::Completed).await < (ITEMS / 4) as i64 {
        assert!(Instant::now() < until, "the first worker made no progress");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    children_gone(&h).await;
    let left_running = h.count(JobState::Running).await;
    assert!(left_running > 0, "the kill should catch items mid-run");

    let (mut second, second_id) = spawn_child(&h);
    let m = Maintenance::new(
        h.store.clone(),
        MaintenanceConfig {
            rescue_after: Duration::from_secs(1),
            ..MaintenanceConfig::default()
        },
    );
    let mut timers = RoundTimers::default();
    let until = Instant::now() + Duration::from_secs(180);
    let result = loop {
        m.run_once(&mut timers).await.unwrap();
        match client.run_status("owner", run).await.unwrap() {
            RunStatus::Running { .. } => {}
            RunStatus::Done { result } => break result,
            other => panic!("the run did not finish: {other:?}"),
        }
        assert!(Instant::now() < until, "the run did not finish in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    second.kill().unwrap();
    second.wait().unwrap();

    let want: Vec<usize> = (0..ITEMS).map(|i| i * 3).collect();
    assert_eq!(
        result,
        serde_json::json!(want),
        "the join saw every output in order"
    );
    let evs = h.store.run_events(run, 0, 1_000_000).await.unwrap();
    for (i, e) in evs.iter().enumerate() {
        assert_eq!(e.seq, i as i64 + 1, "gap in seq at {i}");
    }
    let terminal: Vec<_> = evs.iter().filter(|e| e.status.is_terminal()).collect();
    assert_eq!(terminal.len(), 1, "terminal events {terminal:?}");
    assert_eq!(terminal[0].status, EventStatus::Done);
    // Each item was counted once: the map row counts an item at its first checkpoint only.
    let graph = client.run_graph("owner", run).await.unwrap();
    let items = graph.nodes[1].items.unwrap();
    assert_eq!((items.total, items.done), (ITEMS as i64, ITEMS as i64));
    // The run heard of the items once per percent at most, in order, the last at 100%.
    let counts: Vec<(i64, i16)> = evs
        .iter()
        .filter(|e| e.status == EventStatus::Progress && e.stage.as_deref() == Some("crash_item"))
        .map(|e| {
            (
                e.payload.as_ref().unwrap()["done"].as_i64().unwrap(),
                e.progress,
            )
        })
        .collect();
    assert!(counts.len() <= 101, "{} progress events", counts.len());
    assert!(counts.windows(2).all(|w| w[0].0 < w[1].0), "{counts:?}");
    assert_eq!(counts.last(), Some(&(ITEMS as i64, 100)));
    let counted_at = item_checkpoint_times(&h, run).await;
    let jobs = h
        .store
        .list_jobs(&JobFilter {
            kind: Some("crash_item".into()),
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut rescued = 0;
    for job in jobs.iter().filter(|j| j.args.get("item").is_some()) {
        assert_eq!(job.state, JobState::Completed, "{job:?}");
        rescued += usize::from(job.errors.iter().any(|e| e.code == "RESCUED"));
        let k = job.args["item"].as_u64().unwrap() as usize;
        let done_at = counted_at[k].unwrap_or_else(|| panic!("item {k} has no checkpoint"));
        // No execution of the item started after its checkpoint was committed.
        for worker in [&first_id, &second_id] {
            for attempt in 1..=job.attempt {
                let key = format!("started:{worker}:{attempt}");
                let scope = format!("crash_item[{k}]");
                if let Some(v) = h.store.get_checkpoint(run, &scope, &key).await.unwrap() {
                    let started: chrono::DateTime<chrono::Utc> = serde_json::from_value(v).unwrap();
                    assert!(
                        started <= done_at,
                        "item {k} started at {started} after its checkpoint at {done_at}"
                    );
                }
            }
        }
    }
    assert_eq!(
        jobs.iter().filter(|j| j.args.get("item").is_some()).count(),
        ITEMS,
        "one job per item, none duplicated"
    );
    assert!(rescued > 0, "some item was caught mid-run by the kill");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_map_survives_a_sigkilled_worker() {
    map_crash(Harness::pg().await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_map_survives_a_sigkilled_worker() {
    map_crash(Harness::sqlite().await).await
}

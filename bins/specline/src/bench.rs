//! `specline bench`: the engine's own benchmark.
//!
//! - Burn-down (default): insert N no-op jobs in bulk, then run a worker until every one is
//!   recorded `completed`; the last line of the phase is `<jobs/s> jobs/s`.
//!   With `--partitions P`, the same burn-down runs twice in one run, without limits and with
//!   at most `--partition-limit` running per partition over P partitions; the last line is
//!   the second's share of the first. `--repeat N` measures the pair N times, each in a
//!   fresh database, and ends with the median share.
//! - Latency (`--latency --rate R`): insert one job at a time at a fixed arrival rate while a
//!   worker runs; report enqueue-to-start latency percentiles.
//!
//! Finished jobs are kept (no deletion): the figures include keeping history.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use specline_queue::limits::Declared;
use specline_queue::pipeline::{Step, StepContext, StepKind};
use specline_queue::{
    Client, InsertOpts, JobContext, JobError, JobKind, JobState, KindOptions, Limits, NewJob,
    PartitionBy, Pipeline, Registry, RunStatus, SubmitOpts, Worker, WorkerConfig,
};

use crate::db::{self, BackendArg, DbArgs};
use crate::scratch_schema::ScratchSchema;

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Jobs in the burn-down.
    #[arg(long, default_value_t = 100_000)]
    pub jobs: u64,
    /// Jobs run at once by the worker.
    #[arg(long, default_value_t = 1000)]
    pub concurrency: usize,
    /// Most jobs claimed by one fetch.
    #[arg(long, default_value_t = 1000)]
    pub fetch_max: usize,
    /// Measure enqueue-to-start latency instead of throughput.
    #[arg(long)]
    pub latency: bool,
    /// Arrival rate for --latency, in jobs per second.
    #[arg(long, default_value_t = 200)]
    pub rate: u64,
    /// How long the --latency run lasts, in seconds.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Measure pipelines instead of single jobs: runs/s of a 3-step no-op pipeline, then event
    /// delivery latency to subscribers.
    #[arg(long)]
    pub pipeline: bool,
    /// Runs in the --pipeline burn-down.
    #[arg(long, default_value_t = 5000)]
    pub runs: u64,
    /// Measure graph pipelines instead: runs that map over this many no-op items each
    /// (items/s; see `--fan-out-runs`).
    #[arg(long, default_value_t = 0)]
    pub fan_out: u64,
    /// Runs in the --fan-out burn-down, all submitted before the worker starts.
    #[arg(long, default_value_t = 3)]
    pub fan_out_runs: u64,
    /// Measure the HTTP API instead: submissions/s with idempotency keys, then event
    /// delivery latency to `--subscribers` SSE streams.
    #[arg(long)]
    pub api: bool,
    /// Concurrent SSE subscribers for --api.
    #[arg(long, default_value_t = 1000)]
    pub subscribers: usize,
    /// Measure the admin dashboard's pages over HTTP on a table of `--jobs` jobs (filled
    /// in SQL; `--keep` with `--schema`/`--sqlite-path` reuses a filled table).
    #[arg(long)]
    pub dashboard: bool,
    /// Measure the maintenance leader's queue-gauge measurement on a table of `--jobs` jobs
    /// (the dashboard bench's table, plus ready and running jobs in one queue).
    #[arg(long)]
    pub gauges: bool,
    /// Burn down the same jobs twice in one run, without limits and then spread over this
    /// many partitions with at most `--partition-limit` running per partition, and report
    /// the second as a share of the first.
    #[arg(long, default_value_t = 0)]
    pub partitions: u64,
    /// Most jobs running at once per partition, with --partitions.
    #[arg(long, default_value_t = 1)]
    pub partition_limit: u32,
    /// With --partitions: measure the pair this many times, each in a fresh database (SQLite
    /// file or PostgreSQL schema), and end with the median share (the machine's noise
    /// moves a single pair's share by several points).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub repeat: u32,
    /// Keep the data: reuse `--schema` as it is (created if missing) and drop nothing, or keep
    /// the SQLite file at `--sqlite-path`. Without it the bench works in a schema it creates
    /// (`--schema`, which must not exist yet, or a fresh name) and drops only that one.
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Noop {
    /// Enqueue time in microseconds since the epoch (latency mode).
    #[serde(default)]
    sent_us: i64,
}

impl JobKind for Noop {
    const KIND: &'static str = "bench_noop";
    const QUEUE: &'static str = "bench";
    fn options() -> KindOptions {
        KindOptions {
            max_attempts: 1,
            ..KindOptions::default()
        }
    }
}

/// A no-op job in one of `--partitions` partitions, at most one running per partition
/// (`--partition-limit` overrides it).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Partitioned {
    p: u64,
}

impl JobKind for Partitioned {
    const KIND: &'static str = "bench_partitioned";
    const QUEUE: &'static str = "bench_partitioned";
    fn options() -> KindOptions {
        KindOptions {
            max_attempts: 1,
            limits: Limits::new()
                .partition(PartitionBy::Arg("p"))
                .per_partition(1),
            ..KindOptions::default()
        }
    }
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Where the bench keeps its data, and the guard that removes it.
struct Target {
    db: DbArgs,
    /// PostgreSQL: the schema, dropped afterwards only if the bench created it.
    schema: Option<ScratchSchema>,
    _dir: Option<tempfile::TempDir>,
}

async fn prepare(args: &BenchArgs) -> anyhow::Result<Target> {
    let mut db = args.db.clone();
    match db.backend {
        BackendArg::Postgres => {
            let schema = match (&db.schema, args.keep) {
                (Some(name), true) => ScratchSchema::reuse(&db.database_url, name).await?,
                (name, _) => ScratchSchema::create(&db.database_url, name.as_deref()).await?,
            };
            db.schema = Some(schema.name().to_string());
            Ok(Target {
                db,
                schema: Some(schema),
                _dir: None,
            })
        }
        BackendArg::Sqlite => {
            if args.keep {
                return Ok(Target {
                    db,
                    schema: None,
                    _dir: None,
                });
            }
            let dir = tempfile::tempdir()?;
            db.sqlite_path = dir.path().join("bench.sqlite");
            Ok(Target {
                db,
                schema: None,
                _dir: Some(dir),
            })
        }
    }
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.concurrency == 0 || args.fetch_max == 0 || args.partition_limit == 0 {
        bail!("--concurrency, --fetch-max and --partition-limit must be at least 1");
    }
    if args.repeat > 1 && (args.partitions == 0 || args.keep) {
        bail!("--repeat needs --partitions and fresh data each time (no --keep)");
    }
    let mut shares = Vec::new();
    for _ in 0..args.repeat {
        let mut target = prepare(&args).await?;
        let result = measure(&args, &target).await;
        // Dropped whether the measurement failed or not; only a schema this run created.
        let dropped = match target.schema.take() {
            Some(schema) if !args.keep => schema.drop_if_created().await,
            _ => Ok(()),
        };
        let share = result?;
        dropped?;
        shares.extend(share);
    }
    if shares.len() > 1 {
        println!("{}", median_line(&mut shares));
    }
    Ok(())
}

/// `median of N: X% of unlimited (runs: a / b / c%)`, the runs in the order they ran.
fn median_line(shares: &mut [f64]) -> String {
    let runs: Vec<String> = shares.iter().map(|s| format!("{:.1}", s * 100.0)).collect();
    shares.sort_by(f64::total_cmp);
    let mid = shares.len() / 2;
    let median = if shares.len() % 2 == 1 {
        shares[mid]
    } else {
        (shares[mid - 1] + shares[mid]) / 2.0
    };
    format!(
        "median of {}: {:.1}% of unlimited (runs: {}%)",
        shares.len(),
        median * 100.0,
        runs.join(" / ")
    )
}

/// Measure what `args` asks for; with --partitions, the limited burn-down's share of the
/// unlimited one.
async fn measure(args: &BenchArgs, target: &Target) -> anyhow::Result<Option<f64>> {
    let store = db::open(&target.db, 32).await?;
    store.migrate().await?;
    println!(
        "backend: {:?}{}",
        target.db.backend,
        match target.db.backend {
            BackendArg::Postgres => format!(
                " (schema {})",
                target.db.schema.as_deref().unwrap_or("public")
            ),
            BackendArg::Sqlite => format!(" ({})", target.db.sqlite_path.display()),
        }
    );
    if args.dashboard {
        let dbs = app_databases(&target.db).await?;
        crate::bench_dashboard::run(args, &target.db, dbs).await?;
    } else if args.gauges {
        let dbs = app_databases(&target.db).await?;
        crate::bench_gauges::run(args, &target.db, dbs).await?;
    } else if args.api {
        crate::bench_api::run(args, app_databases(&target.db).await?).await?;
    } else if args.fan_out > 0 {
        crate::bench_fanout::run(args, store).await?;
    } else if args.pipeline {
        pipeline(args, store).await?;
    } else if args.latency {
        latency(args, store).await?;
    } else {
        return burn_down(args, store).await;
    }
    Ok(None)
}

/// The API and dashboard benches need the application's tables too.
async fn app_databases(db: &DbArgs) -> anyhow::Result<specline_service::db::Databases> {
    let target = match db.backend {
        BackendArg::Postgres => specline_settings::DatabaseTarget::Postgres {
            url: specline_settings::Secret::new(db.database_url.clone()),
            schema: db.schema.clone().unwrap_or_else(|| "public".to_string()),
            pool_size: 32,
            ca_file: None,
        },
        BackendArg::Sqlite => specline_settings::DatabaseTarget::Sqlite {
            path: db.sqlite_path.clone(),
        },
    };
    let dbs = specline_service::db::open(&target).await?;
    dbs.migrate().await?;
    Ok(dbs)
}

pub(crate) fn worker_config(args: &BenchArgs) -> WorkerConfig {
    WorkerConfig {
        fetch_max: args.fetch_max,
        ..WorkerConfig::default()
    }
}

/// The burn-down; with --partitions, the limited one's share of the unlimited one.
async fn burn_down(
    args: &BenchArgs,
    store: Arc<dyn specline_queue::store::Store>,
) -> anyhow::Result<Option<f64>> {
    if args.partitions == 0 {
        let rate = burn(args, store, |_| Noop { sent_us: 0 }).await?;
        println!("{rate:.0} jobs/s");
        return Ok(None);
    }
    // The same burn-down twice in one run: without limits, then with at most
    // `--partition-limit` running per partition over `--partitions` partitions.
    let plain = burn(args, store.clone(), |_| Noop { sent_us: 0 }).await?;
    let partitions = args.partitions;
    // The kind declares one running per partition; another `--partition-limit` is set the
    // way an operator would, as an override in the database.
    let spec = Partitioned::spec();
    store
        .declare_limits(&[Declared {
            kind: spec.kind.clone(),
            queues: spec.queues.clone(),
            values: spec.options.limits.values.clone(),
        }])
        .await?;
    store
        .set_limit_overrides(
            Partitioned::KIND,
            &serde_json::json!({ "per_partition": args.partition_limit }),
        )
        .await?;
    let limited = burn(args, store, move |i| Partitioned { p: i % partitions }).await?;
    println!("unlimited: {plain:.0} jobs/s");
    println!(
        "partitioned ({partitions} partitions, at most {} running each): {limited:.0} jobs/s",
        args.partition_limit
    );
    println!("{:.1}% of unlimited", limited / plain * 100.0);
    Ok(Some(limited / plain))
}

/// Insert `args.jobs` jobs made by `make` in bulk, run a worker until every one is recorded
/// `completed`, and return the jobs per second of the run.
async fn burn<K: JobKind>(
    args: &BenchArgs,
    store: Arc<dyn specline_queue::store::Store>,
    make: impl Fn(u64) -> K,
) -> anyhow::Result<f64> {
    let client = Client::new(store.clone());
    let n = args.jobs;
    let started = Instant::now();
    let chunk = 10_000u64;
    let mut inserted = 0u64;
    while inserted < n {
        let batch = chunk.min(n - inserted);
        let jobs: Vec<NewJob> = (inserted..inserted + batch)
            .map(|i| NewJob::new(&make(i), InsertOpts::default()))
            .collect::<Result<_, _>>()?;
        client.insert_many(jobs).await?;
        inserted += batch;
    }
    let took = started.elapsed();
    println!(
        "{}: inserted {n} jobs in {:.2}s ({:.0} jobs/s)",
        K::KIND,
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64()
    );

    let done = Arc::new(AtomicU64::new(0));
    let d = done.clone();
    let registry = Registry::new().register(move |_ctx: JobContext, _job: K| {
        d.fetch_add(1, Ordering::Relaxed);
        async { Ok(()) }
    });
    let started = Instant::now();
    let worker = Worker::builder(store.clone())
        .registry(registry)
        .queue(K::QUEUE, args.concurrency)
        .config(worker_config(args))
        .build()?
        .start()
        .await?;
    let step = (n / 10).max(1);
    let mut next_report = step;
    while done.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let d = done.load(Ordering::Relaxed);
        if d >= next_report && n >= 500_000 {
            println!(
                "  {d} jobs run, {:.0} jobs/s so far, rss {:.1} MiB",
                d as f64 / started.elapsed().as_secs_f64(),
                rss_mib().unwrap_or(0.0)
            );
            next_report += step;
        }
        if started.elapsed() > Duration::from_secs(3600) {
            bail!("burn-down did not finish in an hour");
        }
    }
    // Shutdown flushes the last completion batch: the time includes recording every outcome.
    worker.shutdown(Duration::from_secs(60)).await?;
    let took = started.elapsed();
    let completed = client
        .counts(Some(K::QUEUE))
        .await?
        .into_iter()
        .find(|(s, _)| *s == JobState::Completed)
        .map(|(_, c)| c)
        .unwrap_or(0);
    if completed as u64 != n {
        bail!("only {completed} of {n} jobs are recorded completed");
    }
    println!("peak rss: {:.1} MiB", peak_rss_mib().unwrap_or(0.0));
    println!(
        "burn-down: {n} jobs completed in {:.2}s ({})",
        took.as_secs_f64(),
        K::KIND
    );
    Ok(n as f64 / took.as_secs_f64())
}

async fn latency(
    args: &BenchArgs,
    store: Arc<dyn specline_queue::store::Store>,
) -> anyhow::Result<()> {
    if args.rate == 0 {
        bail!("--rate must be at least 1");
    }
    let hist = Arc::new(Mutex::new(
        hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
            .context("histogram bounds")?,
    ));
    let h = hist.clone();
    let seen = Arc::new(AtomicU64::new(0));
    let s = seen.clone();
    let registry = Registry::new().register(move |_ctx: JobContext, job: Noop| {
        let now = chrono::Utc::now().timestamp_micros();
        let lat = (now - job.sent_us).max(1) as u64;
        if let Ok(mut h) = h.lock() {
            let _ = h.record(lat);
        }
        s.fetch_add(1, Ordering::Relaxed);
        async { Ok(()) }
    });
    let worker = Worker::builder(store.clone())
        .registry(registry)
        .queue(Noop::QUEUE, args.concurrency)
        .config(worker_config(args))
        .build()?
        .start()
        .await?;
    let client = Client::new(store.clone());
    // Warm up connections and statement caches.
    for _ in 0..20 {
        client
            .insert(&Noop {
                sent_us: chrono::Utc::now().timestamp_micros(),
            })
            .await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    if let Ok(mut h) = hist.lock() {
        h.reset();
    }
    seen.store(0, Ordering::Relaxed);

    let total = args.rate * args.duration;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate as f64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..total {
        ticker.tick().await;
        let c = client.clone();
        tasks.spawn(async move {
            c.insert(&Noop {
                sent_us: chrono::Utc::now().timestamp_micros(),
            })
            .await
        });
        while let Some(r) = tasks.try_join_next() {
            r??;
        }
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    let until = Instant::now() + Duration::from_secs(30);
    while seen.load(Ordering::Relaxed) < total && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    worker.shutdown(Duration::from_secs(10)).await?;
    let h = hist.lock().map_err(|_| anyhow::anyhow!("histogram lock"))?;
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "latency at {} jobs/s over {}s ({} jobs): p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        args.rate,
        args.duration,
        h.len(),
        ms(0.5),
        ms(0.9),
        ms(0.99),
        h.max() as f64 / 1000.0
    );
    println!("p50 {:.2} ms p99 {:.2} ms", ms(0.5), ms(0.99));
    Ok(())
}

#[derive(Deserialize)]
struct NoCtx {}

macro_rules! noop_steps {
    ($($t:ident = $name:literal),*) => {$(
        struct $t;
        impl StepKind for $t {
            const NAME: &'static str = $name;
            const QUEUE: &'static str = "bench_pipe";
            type Context = NoCtx;
            type Output = u8;
        }
        impl Step for $t {
            type Kind = $t;
            async fn run(&self, _ctx: StepContext, _c: NoCtx) -> Result<u8, JobError> {
                Ok(1)
            }
        }
    )*};
}
noop_steps!(P1 = "bench_p1", P2 = "bench_p2", P3 = "bench_p3");

const OWNER: &str = "bench";

async fn pipeline(
    args: &BenchArgs,
    store: Arc<dyn specline_queue::store::Store>,
) -> anyhow::Result<()> {
    let client = Client::new(store.clone());
    let p = Pipeline::new("bench")
        .step::<P1>()
        .step::<P2>()
        .step::<P3>();
    let n = args.runs;
    // Submit concurrently: each submission is its own transaction.
    let started = Instant::now();
    let mut ids = Vec::with_capacity(n as usize);
    let mut tasks = tokio::task::JoinSet::new();
    let mut next = 0u64;
    while next < n || !tasks.is_empty() {
        while next < n && tasks.len() < 32 {
            let (c, p) = (client.clone(), p.clone());
            tasks.spawn(async move {
                c.submit(&p, OWNER, &serde_json::json!({}), SubmitOpts::default())
                    .await
            });
            next += 1;
        }
        if let Some(r) = tasks.join_next().await {
            ids.push(r??.run_id);
        }
    }
    println!(
        "submitted {n} runs in {:.2}s ({:.0} runs/s)",
        started.elapsed().as_secs_f64(),
        n as f64 / started.elapsed().as_secs_f64()
    );
    let worker = Worker::builder(store.clone())
        .registry(Registry::new().step(P1).step(P2).step(P3))
        .queue("bench_pipe", args.concurrency)
        .config(worker_config(args))
        .build()?
        .start()
        .await?;
    let started = Instant::now();
    // Every step's completion commits with its successor (or the run's `done`), so the runs
    // are all done exactly when all 3·n step jobs are completed.
    let steps = 3 * n as i64;
    loop {
        let completed = client
            .counts(Some("bench_pipe"))
            .await?
            .into_iter()
            .find(|(s, _)| *s == JobState::Completed)
            .map(|(_, c)| c)
            .unwrap_or(0);
        if completed >= steps {
            break;
        }
        if started.elapsed() > Duration::from_secs(1800) {
            bail!("pipeline burn-down did not finish in 30 minutes");
        }
        // Counting scans the step jobs: poll gently so the bench does not measure itself.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = started.elapsed();
    for id in &ids {
        if !matches!(client.run_status(OWNER, *id).await?, RunStatus::Done { .. }) {
            bail!("run {id} is not done");
        }
    }
    println!(
        "pipeline burn-down: {n} three-step runs done in {:.2}s",
        took.as_secs_f64()
    );
    println!("{:.0} runs/s", n as f64 / took.as_secs_f64());

    // Event delivery: subscribers follow runs submitted at a steady rate; each live event's
    // latency is from its timestamp (written in the committing transaction) to delivery.
    let hist = Arc::new(Mutex::new(
        hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).context("histogram")?,
    ));
    let mut subs = tokio::task::JoinSet::new();
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    for _ in 0..200 {
        ticker.tick().await;
        let sub = client
            .submit(&p, OWNER, &serde_json::json!({}), SubmitOpts::default())
            .await?;
        let events = client.events(OWNER, sub.run_id, 1).await?;
        let h = hist.clone();
        subs.spawn(async move {
            let mut events = Box::pin(events);
            while let Some(ev) = events.next().await {
                let ev = ev?;
                let lat = (chrono::Utc::now() - ev.at)
                    .num_microseconds()
                    .unwrap_or(0)
                    .max(1) as u64;
                if let Ok(mut h) = h.lock() {
                    let _ = h.record(lat);
                }
            }
            Ok::<(), specline_queue::Error>(())
        });
    }
    while let Some(r) = tokio::time::timeout(Duration::from_secs(60), subs.join_next())
        .await
        .context("subscribers did not finish")?
    {
        r??;
    }
    worker.shutdown(Duration::from_secs(10)).await?;
    let h = hist.lock().map_err(|_| anyhow::anyhow!("histogram lock"))?;
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "event delivery over {} events: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        h.len(),
        ms(0.5),
        ms(0.9),
        ms(0.99),
        h.max() as f64 / 1000.0
    );
    Ok(())
}

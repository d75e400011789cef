//! `specline bench --api`: the HTTP API on 127.0.0.1, in this process.
//!
//! 1. Submissions per second: `--runs` submissions, 64 at a time, each with its own
//!    `Idempotency-Key`; then the same requests again (every one a replay of its key).
//! 2. Event delivery: `--subscribers` SSE streams spread over 10 runs of a one-step
//!    pipeline whose step, once every stream is connected, writes 50 progress events 20 ms
//!    apart. Latency is from the event's timestamp (written in its transaction) to its
//!    arrival at the subscriber; memory per idle subscriber is the growth of this process's
//!    resident set while the streams are open and idle, divided by their number (it
//!    includes the client side of each connection, so it overstates the server's share).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use specline_api::config::{ApiConfig, AuthMode};
use specline_api::{ApiParts, ApiState};
use specline_app::policy::{RepositoryPolicy, StaticResolver};
use specline_app::store::NewApiToken;
use specline_queue::pipeline::{Step, StepContext, StepKind};
use specline_queue::{Client, JobError, Pipeline, Registry, SubmitOpts, Worker};
use specline_service::db::Databases;
use tokio::sync::Semaphore;

use crate::bench::BenchArgs;

const RUNS_FOLLOWED: usize = 10;
const EVENTS_PER_RUN: usize = 50;

struct Ticks;
impl StepKind for Ticks {
    const NAME: &'static str = "bench_ticks";
    const QUEUE: &'static str = "bench_api";
    type Context = serde_json::Value;
    type Output = u32;
}

/// Waits for the go signal, then writes progress events 20 ms apart.
struct Ticker {
    go: Arc<Semaphore>,
}

impl Step for Ticker {
    type Kind = Ticks;
    async fn run(&self, ctx: StepContext, _c: serde_json::Value) -> Result<u32, JobError> {
        self.go
            .acquire()
            .await
            // Closed only when the bench ends: the run is not wanted any more.
            .map_err(|_| JobError::cancel("the bench stopped"))?
            .forget();
        for i in 0..EVENTS_PER_RUN {
            tokio::time::sleep(Duration::from_millis(20)).await;
            ctx.progress(100, Some(serde_json::json!({"tick": i})))
                .await?;
        }
        Ok(0)
    }
}

/// The two fields of an event the bench reads.
#[derive(serde::Deserialize)]
struct Stamp {
    status: String,
    at: chrono::DateTime<chrono::Utc>,
}

fn rss_kib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The API's state over the bench's databases: no rate limits, one allowed host.
pub fn api_state(dbs: &Databases) -> ApiState {
    ApiState::new(ApiParts {
        client: Client::new(dbs.jobs.clone()),
        app: dbs.app.clone(),
        api: dbs.api.clone(),
        config: ApiConfig {
            auth: AuthMode::Tokens,
            max_body_bytes: 65536,
            submissions_per_minute: u32::MAX,
            max_streams_per_owner: 1_000_000,
            request_timeout: Duration::from_secs(60),
            heartbeat: Duration::from_secs(15),
            stream_buffer: 256,
        },
        policy: RepositoryPolicy::default(),
        resolver: Arc::new(StaticResolver::default().with(
            "bench.example",
            &[IpAddr::V4(Ipv4Addr::new(140, 82, 112, 3))],
        )),
        cipher: None,
    })
}

/// Serve `app` on a free port of 127.0.0.1: its base URL and the server's task.
pub async fn serve(app: axum::Router) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    Ok((base, server))
}

pub async fn run(args: &BenchArgs, dbs: Databases) -> anyhow::Result<()> {
    let (base, server) = serve(specline_api::router(api_state(&dbs))).await?;
    let token = specline_app::tokens::generate();
    dbs.api
        .create_token(&NewApiToken {
            owner: "bench".into(),
            admin: false,
            hash: token.hash.clone(),
            label: None,
            expires_at: None,
        })
        .await?;
    let http = reqwest::Client::new();

    // 1. Submissions.
    for pass in ["new keys", "replayed keys"] {
        let started = Instant::now();
        let statuses: Vec<u16> = futures::stream::iter(0..args.runs)
            .map(|i| {
                let (http, base, token) = (http.clone(), base.clone(), token.plaintext.clone());
                async move {
                    http.post(format!("{base}/api/v1/analyses"))
                        .bearer_auth(token)
                        .header("Idempotency-Key", format!("bench-{i}"))
                        .json(&serde_json::json!({"repository": format!("https://bench.example/r{i}.git")}))
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0)
                }
            })
            .buffer_unordered(64)
            .collect()
            .await;
        let secs = started.elapsed().as_secs_f64();
        let failed = statuses.iter().filter(|s| **s != 200 && **s != 202).count();
        println!(
            "submissions ({pass}): {} in {secs:.2}s, {failed} failed",
            statuses.len()
        );
        println!("{:.0} submissions/s", statuses.len() as f64 / secs);
    }

    // 2. Event delivery to many subscribers.
    let go = Arc::new(Semaphore::new(0));
    let worker = Worker::builder(dbs.jobs.clone())
        .registry(Registry::new().step(Ticker { go: go.clone() }))
        .queue(Ticks::QUEUE, RUNS_FOLLOWED)
        .build()?
        .start()
        .await?;
    let client = Client::new(dbs.jobs.clone());
    let pipeline = Pipeline::new("bench_api").step::<Ticks>();
    let mut runs = Vec::new();
    for i in 0..RUNS_FOLLOWED {
        let s = client
            .submit(
                &pipeline,
                "bench",
                &serde_json::json!({"i": i}),
                SubmitOpts::default(),
            )
            .await?;
        runs.push(s.run_id);
    }
    let before = rss_kib();
    let latencies = Arc::new(Mutex::new(
        hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).context("histogram")?,
    ));
    let connected = Arc::new(tokio::sync::Semaphore::new(0));
    let mut subscribers = Vec::new();
    for n in 0..args.subscribers {
        let run = runs[n % runs.len()];
        let (http, url, token) = (
            http.clone(),
            format!("{base}/api/v1/runs/{run}/events"),
            token.plaintext.clone(),
        );
        let (latencies, connected) = (latencies.clone(), connected.clone());
        subscribers.push(tokio::spawn(async move {
            let response = http.get(url).bearer_auth(token).send().await?;
            anyhow::ensure!(
                response.status() == 200,
                "stream refused: {}",
                response.status()
            );
            connected.add_permits(1);
            let mut body = response.bytes_stream();
            let mut text = String::new();
            let mut received = 0usize;
            while let Some(chunk) = body.next().await {
                let now = chrono::Utc::now();
                text.push_str(&String::from_utf8_lossy(&chunk?));
                while let Some(end) = text.find("\n\n") {
                    let block: String = text.drain(..end + 2).collect();
                    let Some(data) = block.lines().find_map(|l| l.strip_prefix("data:")) else {
                        continue;
                    };
                    let event: Stamp = serde_json::from_str(data.trim())?;
                    received += 1;
                    if event.status == "progress" {
                        let us = (now - event.at).num_microseconds().unwrap_or(0).max(1) as u64;
                        if let Ok(mut h) = latencies.lock() {
                            let _ = h.record(us);
                        }
                    }
                }
            }
            Ok::<usize, anyhow::Error>(received)
        }));
    }
    let _all = connected
        .acquire_many(u32::try_from(args.subscribers).unwrap_or(u32::MAX))
        .await?;
    // Let the replayed history drain so the streams are idle when measured.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib();
    if let (Some(b), Some(a)) = (before, after) {
        println!(
            "memory: {:.1} KiB per idle subscriber ({} streams, resident set {:.1} → {:.1} MiB, client side included)",
            (a - b) / args.subscribers as f64,
            args.subscribers,
            b / 1024.0,
            a / 1024.0
        );
    }
    go.add_permits(RUNS_FOLLOWED);
    let mut events = 0usize;
    for s in subscribers {
        events += s.await??;
    }
    {
        let h = latencies
            .lock()
            .map_err(|_| anyhow::anyhow!("histogram lock poisoned"))?;
        println!(
            "event delivery: {} events to {} subscribers of {RUNS_FOLLOWED} runs; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            events,
            args.subscribers,
            h.value_at_quantile(0.5) as f64 / 1000.0,
            h.value_at_quantile(0.99) as f64 / 1000.0,
            h.max() as f64 / 1000.0
        );
    }
    worker.shutdown(Duration::from_secs(5)).await?;
    server.abort();
    Ok(())
}

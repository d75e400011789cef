//! `specline bench --fan-out N`: graph pipelines that map over N no-op items per run.
//!
//! Each run is `fan_items` (returns N items) → `fan_item` mapped over them (one job per item,
//! inserted in one batch) → `fan_join` (receives the N outputs in order). `--fan-out-runs`
//! runs are submitted, a worker burns them down, and the last line is `<items/s> items/s`:
//! items whose jobs ran, were checkpointed, counted and joined, per second of wall time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde::Deserialize;
use specline_queue::pipeline::{Step, StepContext, StepKind};
use specline_queue::{Client, JobError, Pipeline, Registry, RunStatus, SubmitOpts, Worker};

use crate::bench::BenchArgs;

const OWNER: &str = "bench";

#[derive(Deserialize)]
struct Count {
    input: usize,
}
struct FanItems;
impl StepKind for FanItems {
    const NAME: &'static str = "fan_items";
    const QUEUE: &'static str = "bench_fan";
    type Context = Count;
    type Output = Vec<u32>;
}
impl Step for FanItems {
    type Kind = FanItems;
    async fn run(&self, _: StepContext, c: Count) -> Result<Vec<u32>, JobError> {
        Ok((0..c.input as u32).collect())
    }
}

#[derive(Deserialize)]
struct Item {
    item: u32,
}
struct FanItem;
impl StepKind for FanItem {
    const NAME: &'static str = "fan_item";
    const QUEUE: &'static str = "bench_fan";
    type Context = Item;
    type Output = u32;
}
impl Step for FanItem {
    type Kind = FanItem;
    async fn run(&self, _: StepContext, c: Item) -> Result<u32, JobError> {
        Ok(c.item)
    }
}

#[derive(Deserialize)]
struct Outputs {
    fan_item: Vec<u32>,
}
struct FanJoin;
impl StepKind for FanJoin {
    const NAME: &'static str = "fan_join";
    const QUEUE: &'static str = "bench_fan";
    type Context = Outputs;
    type Output = usize;
}
impl Step for FanJoin {
    type Kind = FanJoin;
    async fn run(&self, _: StepContext, c: Outputs) -> Result<usize, JobError> {
        Ok(c.fan_item.len())
    }
}

pub async fn run(
    args: &BenchArgs,
    store: Arc<dyn specline_queue::store::Store>,
) -> anyhow::Result<()> {
    let client = Client::new(store.clone());
    let p = Pipeline::new("bench_fan")
        .step::<FanItems>()
        .map::<FanItem>("fan_items", &[])
        .after::<FanJoin>(&["fan_item"])
        .build()?;
    let items = args.fan_out as usize;
    let runs = args.fan_out_runs;
    let mut ids = Vec::new();
    for _ in 0..runs {
        ids.push(
            client
                .submit(&p, OWNER, &items, SubmitOpts::default())
                .await?
                .run_id,
        );
    }
    let started = Instant::now();
    let worker = Worker::builder(store.clone())
        .registry(Registry::new().step(FanItems).step(FanItem).step(FanJoin))
        .queue("bench_fan", args.concurrency)
        .config(crate::bench::worker_config(args))
        .build()?
        .start()
        .await?;
    for id in &ids {
        loop {
            match client.run_status(OWNER, *id).await? {
                RunStatus::Done { result } if result == serde_json::json!(items) => break,
                RunStatus::Running { .. } => {}
                other => bail!("run {id} ended as {other:?}"),
            }
            if started.elapsed() > Duration::from_secs(1800) {
                bail!("the fan-out did not finish in 30 minutes");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let took = started.elapsed();
    worker.shutdown(Duration::from_secs(10)).await?;
    let total = items as f64 * runs as f64;
    println!(
        "fan-out: {runs} runs of {items} items each done in {:.2}s",
        took.as_secs_f64()
    );
    println!("{:.0} items/s", total / took.as_secs_f64());
    Ok(())
}

//! `specline bench --gauges --jobs N`: the maintenance leader's queue-gauge measurement
//! (`specline_queue::gauges::measure`: the capped counts per queue and kind, and storing them)
//! on a jobs table of N rows.
//!
//! The table is the dashboard bench's (a week of history in three queues and five kinds,
//! mostly finished), plus [`EXTRA_READY`] ready jobs in one queue and kind (more than the
//! gauge's cap, so a count runs to its cap) and [`EXTRA_RUNNING`] running ones. Each
//! measurement is timed [`ROUNDS`] times after one warm-up; median, fastest and slowest.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use specline_queue::{InsertOpts, JobKind, NewJob};
use specline_service::db::Databases;

use crate::bench::BenchArgs;
use crate::db::DbArgs;

const ROUNDS: usize = 15;
/// Ready jobs added in one (queue, kind), beyond the gauge cap.
const EXTRA_READY: usize = 30_000;
/// Of those, taken by a worker (state running).
const EXTRA_RUNNING: usize = 1_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct GaugeLoad {
    n: usize,
}
impl JobKind for GaugeLoad {
    const KIND: &'static str = "bench_gauge_load";
    const QUEUE: &'static str = "bench_q0";
}

pub async fn run(args: &BenchArgs, db: &DbArgs, dbs: Databases) -> anyhow::Result<()> {
    crate::bench_dashboard::fill_unless_full(args.jobs, db, &dbs).await?;
    let store = dbs.jobs.clone();
    let have_extra = store
        .gauges()
        .count_live(1, chrono::Utc::now())
        .await?
        .iter()
        .any(|c| c.kind == GaugeLoad::KIND);
    if !have_extra {
        let jobs = (0..EXTRA_READY)
            .map(|n| NewJob::new(&GaugeLoad { n }, InsertOpts::default()))
            .collect::<Result<Vec<_>, _>>()?;
        for chunk in jobs.chunks(5_000) {
            store.insert_many(chunk.to_vec()).await?;
        }
        store
            .register_worker("bench-gauges", &[GaugeLoad::QUEUE.to_string()])
            .await?;
        store
            .fetch(GaugeLoad::QUEUE, EXTRA_RUNNING, "bench-gauges")
            .await?;
        println!("added {EXTRA_READY} ready jobs, {EXTRA_RUNNING} of them running");
    }
    let lease = store
        .try_lead("bench-gauges", Duration::from_secs(600))
        .await?
        .ok_or_else(|| anyhow::anyhow!("another node leads this schema; stop it first"))?;
    let mut times = Vec::new();
    let mut pairs = 0;
    for round in 0..=ROUNDS {
        let started = Instant::now();
        let stored = specline_queue::gauges::measure(&*store, &lease)
            .await?
            .ok_or_else(|| anyhow::anyhow!("lost the lease during the bench"))?;
        if round > 0 {
            times.push(started.elapsed());
        }
        pairs = stored.len();
    }
    store.resign(&lease).await?;
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "gauge measurement ({pairs} queue/kind pairs): median {:.1} ms, min {:.1}, max {:.1} ({ROUNDS} rounds after 1 warm-up)",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
    Ok(())
}

//! The engine's metrics reach an installed recorder (what a Prometheus exporter serves).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use serde::{Deserialize, Serialize};
use specline_queue::{Client, JobContext, JobError, JobKind, JobState, Registry, Worker};

use common::Harness;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Tick {
    fail: bool,
}
impl JobKind for Tick {
    const KIND: &'static str = "tick";
    const QUEUE: &'static str = "default";
    fn options() -> specline_queue::KindOptions {
        specline_queue::KindOptions {
            max_attempts: 1,
            ..Default::default()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_run_time_and_queue_latency_are_recorded() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let h = Harness::sqlite().await;
    let client = Client::new(h.store.clone());
    let ok = client.insert(&Tick { fail: false }).await.unwrap().id;
    let bad = client.insert(&Tick { fail: true }).await.unwrap().id;
    let w = Worker::builder(h.store.clone())
        .registry(
            Registry::new().register(|_c: JobContext, t: Tick| async move {
                if t.fail {
                    Err(JobError::permanent("NO", "no"))
                } else {
                    Ok(())
                }
            }),
        )
        .queue("default", 2)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    h.wait_state(ok, JobState::Completed, Duration::from_secs(5))
        .await;
    h.wait_state(bad, JobState::Discarded, Duration::from_secs(5))
        .await;
    w.shutdown(Duration::from_secs(5)).await.unwrap();

    let snap = snapshotter.snapshot().into_vec();
    let counter = |outcome: &str| {
        snap.iter()
            .find(|(k, _, _, _)| {
                let key = k.key();
                key.name() == "specline_jobs_total"
                    && key
                        .labels()
                        .any(|l| l.key() == "outcome" && l.value() == outcome)
                    && key
                        .labels()
                        .any(|l| l.key() == "kind" && l.value() == "tick")
            })
            .map(|(_, _, _, v)| match v {
                DebugValue::Counter(n) => *n,
                other => panic!("not a counter: {other:?}"),
            })
    };
    assert_eq!(counter("completed"), Some(1));
    assert_eq!(counter("discarded"), Some(1));
    let hist_len = |name: &str| {
        snap.iter()
            .filter(|(k, _, _, _)| k.key().name() == name)
            .map(|(_, _, _, v)| match v {
                DebugValue::Histogram(xs) => xs.len(),
                _ => 0,
            })
            .sum::<usize>()
    };
    assert_eq!(hist_len("specline_job_run_seconds"), 2);
    assert_eq!(hist_len("specline_job_queue_latency_seconds"), 2);
    assert!(hist_len("specline_completion_batch_size") >= 1);
    // Every fetch of the queue is recorded with the jobs it claimed: the two jobs, in one
    // fetch or two, and the empty polls after them.
    let fetched: Vec<f64> = snap
        .iter()
        .filter(|(k, _, _, _)| {
            let key = k.key();
            key.name() == "specline_fetch_batch_size"
                && key
                    .labels()
                    .any(|l| l.key() == "queue" && l.value() == "default")
        })
        .flat_map(|(_, _, _, v)| match v {
            DebugValue::Histogram(xs) => xs.iter().map(|x| x.into_inner()).collect(),
            _ => Vec::new(),
        })
        .collect();
    assert!(!fetched.is_empty());
    assert_eq!(fetched.iter().sum::<f64>(), 2.0, "{fetched:?}");
}

//! The engine's metrics rendered by a Prometheus exporter, as a binary's `/metrics` serves them.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use metrics_exporter_prometheus::PrometheusBuilder;
use serde::{Deserialize, Serialize};
use specline_queue::{Client, JobContext, JobKind, JobState, Registry, Worker};

use common::Harness;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Ping;
impl JobKind for Ping {
    const KIND: &'static str = "ping";
    const QUEUE: &'static str = "default";
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_text_shows_outcomes_and_histograms() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).unwrap();

    let h = Harness::sqlite().await;
    let id = Client::new(h.store.clone()).insert(&Ping).await.unwrap().id;
    let w = Worker::builder(h.store.clone())
        .registry(Registry::new().register(|_c: JobContext, _p: Ping| async { Ok(()) }))
        .queue("default", 1)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    h.wait_state(id, JobState::Completed, Duration::from_secs(5))
        .await;
    w.shutdown(Duration::from_secs(5)).await.unwrap();

    let text = handle.render();
    assert!(
        text.contains(r#"specline_jobs_total{queue="default",kind="ping",outcome="completed"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("# TYPE specline_job_run_seconds summary"),
        "{text}"
    );
    assert!(
        text.contains("specline_job_queue_latency_seconds"),
        "{text}"
    );
}

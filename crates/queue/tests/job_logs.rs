//! Every log line written inside a job carries the job's span: its job id, run id (a
//! pipeline step's job), kind, queue and attempt — checked on the JSON log format.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use specline_queue::pipeline::{Step, StepContext, StepKind};
use specline_queue::{Client, JobError, Pipeline, Registry, RunStatus, SubmitOpts, Worker};

use common::Harness;

/// Log lines, shared with the subscriber.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Deserialize)]
struct NoContext {}

struct Shout;
impl StepKind for Shout {
    const NAME: &'static str = "shout";
    const QUEUE: &'static str = "logs";
    type Context = NoContext;
    type Output = u32;
}
impl Step for Shout {
    type Kind = Shout;
    async fn run(&self, _ctx: StepContext, _c: NoContext) -> Result<u32, JobError> {
        tracing::info!(marker = "inside-the-step", "working");
        tracing::warn!(marker = "inside-the-step", "still working");
        Ok(1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_line_inside_a_job_names_its_run_job_kind_and_attempt() {
    let lines = Lines::default();
    let sink = lines.clone();
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_writer(move || sink.clone())
        .with_max_level(tracing::Level::INFO)
        .init();

    let h = Harness::sqlite().await;
    let client = Client::new(h.store.clone());
    let w = Worker::builder(h.store.clone())
        .registry(Registry::new().step(Shout))
        .queue(Shout::QUEUE, 1)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let p = Pipeline::new("shouting").step::<Shout>();
    let run_id = client
        .submit(&p, "alice", &serde_json::json!({}), SubmitOpts::default())
        .await
        .unwrap()
        .run_id;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !matches!(
        client.run_status("alice", run_id).await.unwrap(),
        RunStatus::Done { .. }
    ) {
        assert!(Instant::now() < deadline, "the run never finished");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    w.shutdown(Duration::from_secs(5)).await.unwrap();
    let job = h
        .store
        .list_jobs(&specline_queue::JobFilter::default())
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.kind == "shout")
        .unwrap();

    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let inside: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["fields"]["marker"] == "inside-the-step")
        .collect();
    assert_eq!(inside.len(), 2, "{text}");
    for line in inside {
        let span = &line["span"];
        assert_eq!(span["name"], "job", "{line}");
        assert_eq!(span["job_id"], job.id, "{line}");
        assert_eq!(span["run_id"], run_id, "{line}");
        assert_eq!(span["kind"], "shout", "{line}");
        assert_eq!(span["queue"], "logs", "{line}");
        assert_eq!(span["attempt"], 1, "{line}");
    }
}

//! The trace context a job carries, on both backends, with a real OpenTelemetry SDK in the
//! process (spans collected by an exporter written here): a run submitted inside a span is
//! one trace, each step's job span a child of the submission; a job inserted inside a span
//! is its child; the context is stored in the jobs' metadata.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use serde::{Deserialize, Serialize};
use specline_queue::pipeline::{Step, StepContext, StepKind};
use specline_queue::{
    Client, JobContext, JobError, JobFilter, JobKind, JobState, Pipeline, Registry, RunStatus,
    SubmitOpts, Worker,
};
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

use common::Harness;

#[derive(Debug, Clone, Default)]
struct Collected(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Collected {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.lock().unwrap().extend(batch);
        Ok(())
    }
}

/// The process's subscriber: every span exported at once into the returned list.
fn collected() -> &'static Collected {
    static SPANS: OnceLock<Collected> = OnceLock::new();
    SPANS.get_or_init(|| {
        let spans = Collected::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(spans.clone())
            .build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .unwrap();
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        spans
    })
}

#[derive(Deserialize)]
struct NoContext {}

struct First;
impl StepKind for First {
    const NAME: &'static str = "trace_first";
    const QUEUE: &'static str = "trace_a";
    type Context = NoContext;
    type Output = u32;
}
impl Step for First {
    type Kind = First;
    async fn run(&self, _ctx: StepContext, _c: NoContext) -> Result<u32, JobError> {
        Ok(1)
    }
}

struct Second;
impl StepKind for Second {
    const NAME: &'static str = "trace_second";
    const QUEUE: &'static str = "trace_b";
    type Context = NoContext;
    type Output = u32;
}
impl Step for Second {
    type Kind = Second;
    async fn run(&self, _ctx: StepContext, _c: NoContext) -> Result<u32, JobError> {
        Ok(2)
    }
}

#[derive(Serialize, Deserialize)]
struct Plain {}
impl JobKind for Plain {
    const KIND: &'static str = "trace_plain";
    const QUEUE: &'static str = "trace_a";
}

fn find<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name}: {spans:#?}"))
}

async fn a_run_and_a_job_continue_the_trace_they_were_submitted_in(h: Harness) {
    let spans = collected();
    let client = Client::new(h.store.clone());
    let worker = Worker::builder(h.store.clone())
        .registry(
            Registry::new()
                .step(First)
                .step(Second)
                .register(|_ctx: JobContext, _p: Plain| async { Ok::<(), JobError>(()) }),
        )
        .queue(First::QUEUE, 2)
        .queue(Second::QUEUE, 1)
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let pipeline = Pipeline::new("traced").step::<First>().step::<Second>();
    // Both backends' tests run in one process under `cargo test` and share the collector:
    // each marks its root span, and reads only the spans of that root's trace.
    static TESTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let test = TESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let root = tracing::info_span!("caller", test = %test);
    let (run_id, plain) = async {
        let run = client
            .submit(
                &pipeline,
                "alice",
                &serde_json::json!({}),
                SubmitOpts::default(),
            )
            .await
            .unwrap()
            .run_id;
        let plain = client.insert(&Plain {}).await.unwrap().id;
        (run, plain)
    }
    .instrument(root.clone())
    .await;
    drop(root);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(
        client.run_status("alice", run_id).await.unwrap(),
        RunStatus::Done { .. }
    ) {
        assert!(Instant::now() < deadline, "the run never finished");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    h.wait_state(plain, JobState::Completed, Duration::from_secs(30))
        .await;
    worker.shutdown(Duration::from_secs(5)).await.unwrap();

    let all = spans.0.lock().unwrap().clone();
    let caller = all
        .iter()
        .find(|s| {
            s.name == "caller"
                && s.attributes
                    .iter()
                    .any(|kv| kv.key.as_str() == "test" && kv.value.as_str() == test.to_string())
        })
        .unwrap_or_else(|| panic!("no span caller of test {test}: {all:#?}"));
    let trace = caller.span_context.trace_id();
    let all: Vec<SpanData> = all
        .iter()
        .filter(|s| s.span_context.trace_id() == trace)
        .cloned()
        .collect();
    let caller = find(&all, "caller");
    let submit = find(&all, "submit run");
    assert_eq!(submit.span_context.trace_id(), trace);
    assert_eq!(submit.parent_span_id, caller.span_context.span_id());
    for kind in [First::NAME, Second::NAME] {
        let job = find(&all, &format!("job {kind}"));
        assert_eq!(job.span_context.trace_id(), trace, "{job:#?}");
        assert_eq!(
            job.parent_span_id,
            submit.span_context.span_id(),
            "{job:#?}"
        );
    }
    let job = find(&all, "job trace_plain");
    assert_eq!(job.span_context.trace_id(), trace, "{job:#?}");
    assert_eq!(
        job.parent_span_id,
        caller.span_context.span_id(),
        "{job:#?}"
    );

    // The context is stored with each job, as W3C `traceparent`.
    let jobs = client.list(&JobFilter::default()).await.unwrap();
    assert_eq!(jobs.len(), 3, "{jobs:#?}");
    for j in jobs {
        let parent = j.metadata["trace"]["traceparent"].as_str().unwrap_or("");
        assert!(parent.starts_with(&format!("00-{trace}-")), "{j:#?}");
    }
}

on_both_backends!(a_run_and_a_job_continue_the_trace_they_were_submitted_in);

//! One trace per run across the binaries, exported over OTLP/HTTP: the real `specline-api`,
//! `specline-analyzer`, `specline-spec-generator` and `specline-scheduler` as child processes
//! against PostgreSQL, and a receiver on 127.0.0.1 written here that decodes the real wire
//! format (protobuf `ExportTraceServiceRequest`). A run submitted with a client's
//! `traceparent` yields spans from each process under the client's trace id, each job's span
//! a child of the submission, also for the step whose spec generator was killed with SIGKILL
//! and rescued. A receiver that never answers does not hold up jobs or shutdown.
#![allow(clippy::unwrap_used)]

#[path = "../../../crates/specdoc/tests/common/fake.rs"]
#[allow(dead_code)]
mod fake;
mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use fake::{good_answer, FakeServer, Reply, Wire};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use prost::Message;
use serde_json::{json, Value};
use support::{Binaries, PgSchema, Running, KEY};

/// One span as received.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    trace_id: String,
    span_id: String,
    /// Empty for a root span.
    parent: String,
    name: String,
    attributes: HashMap<String, String>,
}

impl Received {
    fn attr(&self, key: &str) -> &str {
        self.attributes.get(key).map_or("", String::as_str)
    }
}

fn text(kv: &[KeyValue]) -> HashMap<String, String> {
    kv.iter()
        .map(|kv| {
            let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                Some(any_value::Value::IntValue(i)) => i.to_string(),
                Some(any_value::Value::BoolValue(b)) => b.to_string(),
                Some(any_value::Value::DoubleValue(d)) => d.to_string(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), v)
        })
        .collect()
}

/// An OTLP/HTTP trace receiver on 127.0.0.1: `POST /v1/traces` with a protobuf body.
struct Receiver {
    url: String,
    spans: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(spans): State<Arc<Mutex<Vec<Received>>>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(&'static str, &'static str); 1], Vec<u8>) {
    let protobuf = headers
        .get("content-type")
        .is_some_and(|v| v == "application/x-protobuf");
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return (
            StatusCode::BAD_REQUEST,
            [("content-type", "text/plain")],
            b"not an ExportTraceServiceRequest".to_vec(),
        );
    };
    if !protobuf {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            [("content-type", "text/plain")],
            Vec::new(),
        );
    }
    let mut got = Vec::new();
    for rs in request.resource_spans {
        let resource = rs.resource.map(|r| text(&r.attributes)).unwrap_or_default();
        let service = resource.get("service.name").cloned().unwrap_or_default();
        for ss in rs.scope_spans {
            for s in ss.spans {
                got.push(Received {
                    service: service.clone(),
                    trace_id: hex(&s.trace_id),
                    span_id: hex(&s.span_id),
                    parent: hex(&s.parent_span_id),
                    name: s.name,
                    attributes: text(&s.attributes),
                });
            }
        }
    }
    spans.lock().unwrap().extend(got);
    (
        StatusCode::OK,
        [("content-type", "application/x-protobuf")],
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Receiver {
    async fn start() -> Receiver {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .route("/v1/traces", axum::routing::post(receive))
            .with_state(spans.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url, spans, task }
    }

    fn spans(&self) -> Vec<Received> {
        self.spans.lock().unwrap().clone()
    }

    /// Wait until `done(spans)` holds; panics with what arrived after `timeout`.
    async fn wait_for(&self, what: &str, timeout: Duration, done: impl Fn(&[Received]) -> bool) {
        let started = Instant::now();
        loop {
            let spans = self.spans();
            if done(&spans) {
                return;
            }
            assert!(
                started.elapsed() < timeout,
                "{what} never arrived; received: {spans:#?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Settings every binary of a test gets: export to `endpoint`, each batch within 100 ms.
fn exporting(env: &[(String, String)], endpoint: &str) -> Vec<(String, String)> {
    let mut e = env.to_vec();
    e.push(("SPECLINE_TELEMETRY__OTLP_ENDPOINT".into(), endpoint.into()));
    e.push(("OTEL_BSP_SCHEDULE_DELAY".into(), "100".into()));
    e
}

fn with(env: &[(String, String)], extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut e = env.to_vec();
    e.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    e
}

/// `specline-enqueue token create --owner OWNER`: the token.
fn token(bins: &Binaries, env: &[(String, String)], owner: &str) -> String {
    let out = bins
        .command("specline-enqueue", env)
        .args(["token", "create", "--owner", owner])
        .output()
        .unwrap();
    support::assert_succeeded(&out);
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// `POST /api/v1/analyses` with `traceparent`: (status, body).
async fn submit(api: &Running, token: &str, repository: &str, traceparent: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/api/v1/analyses", api.port))
        .bearer_auth(token)
        .header("traceparent", traceparent)
        .json(&json!({ "repository": repository }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// Poll `GET /api/v1/runs/{id}` until the run is done, each request in the trace of
/// `traceparent` (the polls are not the run's work, so not in its trace).
async fn wait_done(api: &Running, token: &str, run_id: i64, traceparent: &str) {
    let (started, timeout) = (Instant::now(), Duration::from_secs(120));
    loop {
        let run: Value = reqwest::Client::new()
            .get(format!(
                "http://127.0.0.1:{}/api/v1/runs/{run_id}",
                api.port
            ))
            .bearer_auth(token)
            .header("traceparent", traceparent)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        match run["state"].as_str() {
            Some("done") => return,
            Some("failed") => panic!("run {run_id} failed: {run}"),
            _ => {}
        }
        assert!(
            started.elapsed() < timeout,
            "run {run_id} is not done: {run}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

const STEPS: [(&str, &str); 6] = [
    ("analyze_repository", "specline-analyzer"),
    ("classify_tests", "specline-spec-generator"),
    ("list_features", "specline-spec-generator"),
    ("convert_behaviors", "specline-spec-generator"),
    ("summarize_document", "specline-spec-generator"),
    ("generate_spec_document", "specline-spec-generator"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_one_trace_across_the_api_and_the_workers_even_after_a_killed_step() {
    let bins = Binaries::locate();
    let schema = PgSchema::new().await;
    let receiver = Receiver::start().await;
    let repo = support::twelve_features();
    let model = FakeServer::start(|_, req| {
        // Long enough that the features are still converting after the kill below waited
        // for the first generator's earlier spans.
        let delay = if req.phase() == "convert" { 1000 } else { 0 };
        Reply::ok(Wire::OpenAi, &good_answer(req)).delayed(Duration::from_millis(delay))
    })
    .await;
    let env = schema.env();
    bins.migrate(&env);
    let traced = exporting(&env, &receiver.url);
    let local = ("SPECLINE_REPOSITORY_POLICY__ALLOW_LOCAL_PATHS", "true");
    let analyzer_env = with(
        &traced,
        &[("SPECLINE_SECURITY__ENCRYPTION_KEY", KEY), local],
    );
    let spec_env = with(
        &traced,
        &[
            ("SPECLINE_PROVIDER__KIND", "openai"),
            ("SPECLINE_PROVIDER__MODEL", "fake-model"),
            ("SPECLINE_PROVIDER__BASE_URL", &model.base_url),
        ],
    );
    let scheduler_env = with(&traced, &[("SPECLINE_SCHEDULER__RESCUE_AFTER_SECS", "5")]);
    let _analyzer = bins.start("specline-analyzer", &analyzer_env).await;
    let _scheduler = bins.start("specline-scheduler", &scheduler_env).await;
    let mut generator = bins.start("specline-spec-generator", &spec_env).await;
    let api = bins.start("specline-api", &with(&traced, &[local])).await;
    let alice = token(&bins, &env, "alice");

    // The client's own trace: every span of the run must be in it.
    let trace_id = format!("{:032x}", rand::random::<u128>() | 1);
    let client_span = format!("{:016x}", rand::random::<u64>() | 1);
    let url = format!("file://{}", repo.path().display());
    let (status, submitted) = submit(
        &api,
        &alice,
        &url,
        &format!("00-{trace_id}-{client_span}-01"),
    )
    .await;
    assert!(status == 200 || status == 202, "{status}: {submitted}");
    let run_id = submitted["run_id"].as_i64().unwrap();

    // SIGKILL the spec generator in the middle of the conversion; another one takes the
    // step over once the scheduler has rescued it.
    let started = Instant::now();
    while model.count("convert") < 7 {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the conversion never started: {}",
            generator.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The spans of the steps this generator finished before the conversion must have left it
    // first: a SIGKILL loses what its exporter had not sent yet (batches leave every 100 ms),
    // which would be the kill's doing, not a broken trace.
    let finished_here = ["classify_tests", "list_features"];
    receiver
        .wait_for(
            "the first generator's finished steps",
            Duration::from_secs(30),
            |spans| {
                finished_here.iter().all(|kind| {
                    spans.iter().any(|s| {
                        s.name == format!("job {kind}") && s.attr("outcome") == "completed"
                    })
                })
            },
        )
        .await;
    generator.kill();
    let _generator2 = bins.start("specline-spec-generator", &spec_env).await;
    let polls = format!("{:032x}", rand::random::<u128>() | 2);
    let polling = format!("00-{polls}-{client_span}-01");
    wait_done(&api, &alice, run_id, &polling).await;

    let run = run_id.to_string();
    receiver
        .wait_for("the span of every step", Duration::from_secs(30), |spans| {
            STEPS.iter().all(|(kind, _)| {
                spans.iter().any(|s| {
                    s.name == format!("job {kind}")
                        && s.attr("run_id") == run
                        && s.attr("outcome") == "completed"
                })
            })
        })
        .await;
    let spans = receiver.spans();
    let strays: Vec<&Received> = spans
        .iter()
        .filter(|s| {
            s.trace_id != trace_id && !(s.trace_id == polls && s.name == "GET /api/v1/runs/{id}")
        })
        .collect();
    assert!(
        strays.is_empty(),
        "spans outside the client's trace: {strays:#?}"
    );
    let spans: Vec<Received> = spans
        .into_iter()
        .filter(|s| s.trace_id == trace_id)
        .collect();

    // The API request continues the client's span; the submission is its child.
    let request: Vec<&Received> = spans
        .iter()
        .filter(|s| s.name == "POST /api/v1/analyses")
        .collect();
    assert_eq!(request.len(), 1, "{spans:#?}");
    let request = request[0];
    assert_eq!(request.parent, client_span, "{request:#?}");
    assert_eq!(request.service, "specline-api");
    assert!(matches!(
        request.attr("http.response.status_code"),
        "200" | "202"
    ));
    let submission: Vec<&Received> = spans.iter().filter(|s| s.name == "submit run").collect();
    assert_eq!(submission.len(), 1, "{spans:#?}");
    let submission = submission[0];
    assert_eq!(submission.parent, request.span_id, "{submission:#?}");
    assert_eq!(submission.attr("run_id"), run);

    // Every step's job, on its own binary, is a child of the submission; the conversion is
    // one job per feature (twelve) and the job that joins them.
    for (kind, service) in STEPS {
        let done: Vec<&Received> = spans
            .iter()
            .filter(|s| s.name == format!("job {kind}") && s.attr("outcome") == "completed")
            .collect();
        let jobs = if kind == "convert_behaviors" { 13 } else { 1 };
        assert_eq!(done.len(), jobs, "{kind}: {spans:#?}");
        for job in done {
            assert_eq!(job.service, service, "{job:#?}");
            assert_eq!(job.parent, submission.span_id, "{job:#?}");
            assert_eq!(job.attr("run_id"), run, "{job:#?}");
            assert_eq!(job.attr("kind"), kind, "{job:#?}");
        }
    }
    // The killed attempts never ended; a rescued feature's is the second, in the same trace.
    assert!(
        spans.iter().any(|s| s.name == "job convert_behaviors"
            && s.attr("outcome") == "completed"
            && s.attr("attempt") == "2"),
        "no feature was converted by a second attempt: {spans:#?}"
    );
    // The scheduler's rescue of that attempt is in the run's trace too.
    let rescue = spans
        .iter()
        .find(|s| s.name == "rescue job" && s.attr("kind") == "convert_behaviors")
        .unwrap_or_else(|| panic!("no rescue span: {spans:#?}"));
    assert_eq!(rescue.service, "specline-scheduler", "{rescue:#?}");
    assert_eq!(rescue.parent, submission.span_id, "{rescue:#?}");
    assert_eq!(rescue.attr("attempt"), "1", "{rescue:#?}");

    // Each model call is a span under the job that made it, with the model it asked.
    let calls: Vec<&Received> = spans.iter().filter(|s| s.name == "model call").collect();
    for call in &calls {
        assert_eq!(call.service, "specline-spec-generator", "{call:#?}");
        assert_eq!(call.attr("model"), "fake-model", "{call:#?}");
        // The killed attempt's span never ended (nor was exported): only its calls lack one.
        if let Some(parent) = spans.iter().find(|s| s.span_id == call.parent) {
            assert!(
                parent.name.starts_with("job "),
                "{call:#?} under {parent:#?}"
            );
        }
    }
    for kind in ["classify_tests", "convert_behaviors"] {
        let jobs: Vec<&Received> = spans
            .iter()
            .filter(|s| s.name == format!("job {kind}") && s.attr("outcome") == "completed")
            .collect();
        assert!(
            calls
                .iter()
                .any(|c| jobs.iter().any(|job| c.parent == job.span_id)
                    && c.attr("calls").parse::<u64>().is_ok_and(|n| n >= 1)),
            "no model call span under {kind}: {spans:#?}"
        );
    }

    // A malformed or invalid `traceparent` is ignored: the request succeeds and starts a
    // trace of its own.
    let long = format!("00-{}-00f067aa0ba902b7-01", "a".repeat(4000));
    for bad in [
        "00-not-hex-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
        &long,
    ] {
        let before = receiver.spans().len();
        let (status, body) = submit(&api, &alice, &url, bad).await;
        assert!(status == 200 || status == 202, "{bad}: {status}: {body}");
        receiver
            .wait_for("the request's span", Duration::from_secs(30), |spans| {
                spans[before..]
                    .iter()
                    .any(|s| s.name == "POST /api/v1/analyses")
            })
            .await;
        let spans = receiver.spans();
        let request = spans[before..]
            .iter()
            .find(|s| s.name == "POST /api/v1/analyses")
            .unwrap();
        assert_eq!(request.parent, "", "{bad}: {request:#?}");
        assert_ne!(request.trace_id, trace_id, "{bad}: {request:#?}");
        assert!(!bad.contains(&request.trace_id), "{bad}: {request:#?}");
    }
}

/// A receiver that accepts connections and never answers: each export waits out its time
/// limit.
fn black_hole() -> (String, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        let mut open = Vec::new();
        for conn in listener.incoming().take(64) {
            // Held open, never read or answered.
            open.push(conn);
        }
    });
    (url, held)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_answers_does_not_hold_up_jobs_or_shutdown() {
    let bins = Binaries::locate();
    let schema = PgSchema::new().await;
    let (hole, _held) = black_hole();
    let repo = support::twelve_features();
    let env = schema.env();
    bins.migrate(&env);
    let traced = with(
        &exporting(&env, &hole),
        &[
            ("SPECLINE_TELEMETRY__EXPORT_TIMEOUT_SECS", "1"),
            ("SPECLINE_TELEMETRY__MAX_QUEUE_SPANS", "16"),
        ],
    );
    let analyzer = bins
        .start(
            "specline-analyzer",
            &with(
                &traced,
                &[
                    ("SPECLINE_SECURITY__ENCRYPTION_KEY", KEY),
                    ("SPECLINE_REPOSITORY_POLICY__ALLOW_LOCAL_PATHS", "true"),
                ],
            ),
        )
        .await;
    let generator = bins.start("specline-spec-generator", &traced).await;
    let url = format!("file://{}", repo.path().display());
    let submitted = support::enqueue_json(&bins, &traced, &["analyze", &url, "--lang", "en"]);
    let run_id = submitted["run_id"].as_i64().unwrap();
    let shown = support::wait_run_done(&bins, &env, run_id, Duration::from_secs(90)).await;
    assert_eq!(shown["result"]["behaviors"], 36, "{shown}");

    // The lost spans are counted, not retried forever nor waited for.
    let started = Instant::now();
    loop {
        let (_, metrics) = analyzer.get("/metrics").unwrap();
        let failed: f64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix("specline_trace_spans_failed_total "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0);
        if failed >= 1.0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no failed export counted: {metrics}\n{}",
            analyzer.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Both stop on SIGTERM: the flush at exit gives up at the export time limit.
    generator.terminate(Duration::from_secs(30)).await;
    let logs = analyzer.terminate(Duration::from_secs(30)).await;
    assert!(logs.contains("trace export failed"), "{logs}");
}

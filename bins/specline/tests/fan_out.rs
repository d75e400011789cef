//! Issue 17 end to end: `convert_behaviors` is a fan-out, one job per feature, so two spec
//! generator processes convert one document together — and the document is the one a single
//! process writes.
//!
//! On PostgreSQL and on SQLite: a real git repository of 40 test files, which the fake
//! OpenAI-compatible model (the only fake, on 127.0.0.1) classifies into 40 features; the
//! real binaries as child processes — on PostgreSQL `specline-analyzer` and
//! `specline-spec-generator` processes, on SQLite (where the separate binaries refuse to
//! run: they need `database.url`) `specline serve` processes on one database file, each
//! with the same spec generator steps. With two generators (default concurrency 8 each),
//! the model holds every conversion answer
//! until nine different features are being converted at once — more than one generator's
//! eight slots — so the run finishes only if both processes took features of it, which
//! the item jobs' rows (`attempted_by`) then show. The same repository on a fresh database
//! with one generator gives the same document. A feature the model refuses falls back to its
//! test names without failing the run; most features refused fail it (`FEATURES_FAILED`).
#![allow(clippy::unwrap_used)]

#[path = "../../../crates/specdoc/tests/common/fake.rs"]
#[allow(dead_code)]
mod fake;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fake::{good_answer, FakeServer, Latch, Recorded, Reply, Wire};
use serde_json::Value;
use support::{Binaries, PgSchema, Running};

const FEATURES: usize = 40;

/// Different features whose conversion must be in flight at once before the model answers
/// any: one more than a generator's default `spec_generator.concurrency` (8).
const IN_FLIGHT: usize = 9;

/// The fake model; with `gate`, conversion answers wait until [`IN_FLIGHT`] different
/// features have been asked for.
async fn model(gate: bool) -> FakeServer {
    let latch = Latch::default();
    let asked: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    FakeServer::start(move |_, req: &Recorded| {
        let reply = Reply::ok(Wire::OpenAi, &good_answer(req));
        if !gate || req.phase() != "convert" {
            return reply;
        }
        // A retried request asks for the same feature (same system prompt): not counted twice.
        let mut asked = asked.lock().unwrap();
        asked.insert(req.system());
        if asked.len() >= IN_FLIGHT {
            latch.open();
        }
        reply.held(&latch)
    })
    .await
}

/// One database with its processes.
struct Deployment {
    bins: Binaries,
    backend: Backend,
    env: Vec<(String, String)>,
    _schema: Option<PgSchema>,
    _data: Option<tempfile::TempDir>,
}

#[derive(Clone, Copy)]
enum Backend {
    Postgres,
    Sqlite,
}

impl Deployment {
    async fn new(backend: Backend) -> Deployment {
        let bins = Binaries::locate();
        let d = match backend {
            Backend::Postgres => {
                let schema = PgSchema::new().await;
                Deployment {
                    bins,
                    backend,
                    env: schema.env(),
                    _schema: Some(schema),
                    _data: None,
                }
            }
            Backend::Sqlite => {
                let data = tempfile::tempdir().unwrap();
                Deployment {
                    bins,
                    backend,
                    env: vec![(
                        "SPECLINE_LOCAL__DATA_DIR".into(),
                        data.path().display().to_string(),
                    )],
                    _schema: None,
                    _data: Some(data),
                }
            }
        };
        let out = d.command("specline", &[]).arg("migrate").output().unwrap();
        support::assert_succeeded(&out);
        d
    }

    fn with(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        self.env
            .iter()
            .cloned()
            .chain(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .collect()
    }

    fn command(&self, name: &str, extra: &[(&str, &str)]) -> std::process::Command {
        self.bins.command(name, &self.with(extra))
    }

    /// The processes of a deployment with `generators` spec generators: on PostgreSQL an
    /// analyzer and the generators; on SQLite `generators` × `specline serve`.
    async fn start(&self, generators: usize, provider: &[(&str, &str)]) -> Vec<Running> {
        let mut running = Vec::new();
        let key = ("SPECLINE_SECURITY__ENCRYPTION_KEY", support::KEY);
        match self.backend {
            Backend::Postgres => {
                let analyzer = self.with(&[key]);
                running.push(self.bins.start("specline-analyzer", &analyzer).await);
                for _ in 0..generators {
                    let env = self.with(provider);
                    running.push(self.bins.start("specline-spec-generator", &env).await);
                }
            }
            Backend::Sqlite => {
                let env = self.with(&[provider, &[key]].concat());
                for _ in 0..generators {
                    running.push(self.bins.start_with("specline", &["serve"], &env).await);
                }
            }
        }
        running
    }

    /// `specline-enqueue --json ARGS` (on SQLite its twin, `specline admin --json ARGS`).
    fn tool(&self, args: &[&str]) -> Value {
        let mut cmd = match self.backend {
            Backend::Postgres => self.command("specline-enqueue", &[]),
            Backend::Sqlite => {
                let mut c = self.command("specline", &[]);
                c.arg("admin");
                c
            }
        };
        let out = cmd.arg("--json").args(args).output().unwrap();
        support::assert_succeeded(&out);
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Polls `run show` until the run has ended (done or failed); its shown JSON.
    async fn wait_ended(&self, run_id: i64, generators: &[Running]) -> Value {
        let started = Instant::now();
        loop {
            let shown = self.tool(&["run", "show", &run_id.to_string()]);
            if matches!(shown["run"]["state"].as_str(), Some("done" | "failed")) {
                return shown;
            }
            assert!(
                started.elapsed() < Duration::from_secs(180),
                "run {run_id} has not ended: {shown}\n{}",
                generators
                    .iter()
                    .map(Running::logs)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Per item job of `convert_behaviors` in `run_id`: its feature index, state and the
    /// workers of its attempts, by index; and the number of its other jobs (the join).
    fn convert_jobs(&self, run_id: i64) -> (Vec<(u64, String, Vec<String>)>, usize) {
        let jobs = self.tool(&[
            "job",
            "list",
            "--kind",
            "convert_behaviors",
            "--limit",
            "500",
        ]);
        let mut items = Vec::new();
        let mut joins = 0;
        for j in jobs.as_array().unwrap() {
            assert_eq!(j["args"]["run_id"].as_i64(), Some(run_id), "{j}");
            let workers: Vec<String> = j["attempted_by"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w.as_str().unwrap().to_string())
                .collect();
            let state = j["state"].as_str().unwrap().to_string();
            match j["args"]["item"].as_u64() {
                Some(item) => items.push((item, state, workers)),
                None => joins += 1,
            }
        }
        items.sort();
        (items, joins)
    }
}

/// A deployment with `generators` generators on a fresh database, asked for a document of
/// `repo`: the deployment (its processes run until it is dropped), the run and the run as
/// shown once it ended.
async fn submit(
    backend: Backend,
    repo: &Path,
    model: &FakeServer,
    generators: usize,
) -> (Deployment, Vec<Running>, i64, Value) {
    let d = Deployment::new(backend).await;
    let provider = [
        ("SPECLINE_PROVIDER__KIND", "openai"),
        ("SPECLINE_PROVIDER__MODEL", "fake-model"),
        ("SPECLINE_PROVIDER__BASE_URL", model.base_url.as_str()),
    ];
    let running = d.start(generators, &provider).await;
    let url = format!("file://{}", repo.display());
    let submitted = d.tool(&["analyze", &url, "--lang", "en"]);
    let run_id = submitted["run_id"].as_i64().unwrap();
    let shown = d.wait_ended(run_id, &running).await;
    (d, running, run_id, shown)
}

/// What one generation showed: the document and, per item job of `convert_behaviors`, its
/// feature index, state and the workers of its attempts.
struct Generated {
    document: Value,
    /// `document cost`: the document's rows of model usage, by phase.
    cost: Value,
    items: Vec<(u64, String, Vec<String>)>,
    joins: usize,
}

async fn generate(
    backend: Backend,
    repo: &Path,
    model: &FakeServer,
    generators: usize,
) -> Generated {
    let (d, _running, run_id, shown) = submit(backend, repo, model, generators).await;
    assert_eq!(shown["run"]["state"], "done", "{shown}");
    let id = shown["result"]["document_id"].as_i64().unwrap().to_string();
    let document = d.tool(&["document", "show", &id]);
    let cost = d.tool(&["document", "cost", &id]);
    let (items, joins) = d.convert_jobs(run_id);
    Generated {
        document,
        cost,
        items,
        joins,
    }
}

/// The document without what differs between two generations of the same input: when it
/// was written and the id of its analysis in its database.
fn content(doc: &Value) -> Value {
    let mut doc = doc.clone();
    let o = doc.as_object_mut().unwrap();
    o.remove("generated_at");
    o.remove("analysis_id");
    doc
}

async fn two_generators_write_the_document_of_one(backend: Backend) {
    // Forty files of two tests each; the fake model makes each file a feature.
    let repo = support::features(FEATURES, 2);
    let gated = model(true).await;
    let two = generate(backend, repo.path(), &gated, 2).await;

    // One job per feature, each completed, and the join.
    assert_eq!(two.joins, 1);
    let indices: Vec<u64> = two.items.iter().map(|(i, _, _)| *i).collect();
    assert_eq!(indices, (0..FEATURES as u64).collect::<Vec<_>>());
    assert!(
        two.items.iter().all(|(_, state, _)| state == "completed"),
        "{:?}",
        two.items
    );
    // Both processes converted features of this one document.
    let by_worker: BTreeMap<&str, usize> =
        two.items
            .iter()
            .fold(BTreeMap::new(), |mut m, (_, _, workers)| {
                *m.entry(workers.last().unwrap().as_str()).or_default() += 1;
                m
            });
    assert_eq!(by_worker.len(), 2, "{by_worker:?}");
    assert_eq!(gated.count("convert"), FEATURES, "one call per feature");

    // Every feature is the model's, in the order of the files.
    let features: Vec<(&str, Option<&str>)> = two.document["domains"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["features"].as_array().unwrap())
        .map(|f| (f["name"].as_str().unwrap(), f["fallback"].as_str()))
        .collect();
    let expected: Vec<String> = (0..FEATURES)
        .map(|f| format!("Feature test_area{f:02}.py"))
        .collect();
    assert_eq!(
        features,
        expected
            .iter()
            .map(|n| (n.as_str(), None))
            .collect::<Vec<_>>()
    );
    assert_eq!(two.document["stats"]["behaviors"], 2 * FEATURES);

    // One generator on a fresh database writes the same document.
    let plain = model(false).await;
    let one = generate(backend, repo.path(), &plain, 1).await;
    let workers: BTreeSet<&str> = one
        .items
        .iter()
        .map(|(_, _, w)| w.last().unwrap().as_str())
        .collect();
    assert_eq!(workers.len(), 1, "{workers:?}");
    assert_eq!(content(&two.document), content(&one.document));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_generator_processes_convert_one_document_as_one_would() {
    two_generators_write_the_document_of_one(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_generator_processes_convert_one_document_as_one_would() {
    two_generators_write_the_document_of_one(Backend::Sqlite).await;
}

/// The fake model, refusing (OpenAI's `content_filter`: `SAFETY_BLOCKED`, permanent) to
/// convert the features of the files numbered in `blocked`.
async fn blocking(blocked: &'static [usize]) -> FakeServer {
    FakeServer::start(move |_, req: &Recorded| {
        let system = req.system();
        let refused = req.phase() == "convert"
            && blocked
                .iter()
                .any(|f| system.contains(&format!("Feature test_area{f:02}.py")));
        if refused {
            return Reply::model_text(Wire::OpenAi, "", "content_filter");
        }
        Reply::ok(Wire::OpenAi, &good_answer(req))
    })
    .await
}

/// A feature whose job fails does not fail the run: the document shows its test names under
/// the provider's code, like one process would; more than half failing fails the run with
/// `FEATURES_FAILED`.
async fn failed_features_fall_back_until_most_fail(backend: Backend) {
    let repo = support::features(4, 2);
    let model = blocking(&[1]).await;
    let one = generate(backend, repo.path(), &model, 1).await;
    // An allowed failure completes its job with the failure as its output.
    let states: Vec<&str> = one.items.iter().map(|(_, s, _)| s.as_str()).collect();
    assert_eq!(states, ["completed"; 4]);
    let features: Vec<(&str, Option<&str>)> = one.document["domains"][0]["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["fallback"].as_str()))
        .collect();
    assert_eq!(
        features,
        [
            ("Feature test_area00.py", None),
            ("Feature test_area01.py", Some("SAFETY_BLOCKED")),
            ("Feature test_area02.py", None),
            ("Feature test_area03.py", None),
        ]
    );
    let blocked = &one.document["domains"][0]["features"][1]["behaviors"];
    assert_eq!(blocked[0]["sentence"], "test_feature_1_case_0", "{blocked}");
    assert_eq!(one.document["stats"]["fallback_features"], 1);
    // The refused conversion's call is paid for: it is counted in its own row, the others'
    // in the conversion's row, each as the model server counted them.
    let by_phase: BTreeMap<&str, i64> = one
        .cost
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["phase"].as_str().unwrap(), r["calls"].as_i64().unwrap()))
        .collect();
    let counted = |p: &str| model.count(p) as i64;
    assert_eq!(counted("convert"), 4);
    assert_eq!(
        by_phase,
        BTreeMap::from([
            ("classify", counted("classify")),
            ("convert", 3),
            ("convert_failed", 1),
            ("summarize", counted("summarize")),
        ]),
        "{}",
        one.cost
    );

    let model = blocking(&[0, 1, 3]).await;
    let (_d, _running, _run, shown) = submit(backend, repo.path(), &model, 1).await;
    assert_eq!(shown["run"]["state"], "failed", "{shown}");
    assert_eq!(shown["run"]["error_code"], "FEATURES_FAILED", "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_failed_features_fall_back_until_most_fail() {
    failed_features_fall_back_until_most_fail(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_failed_features_fall_back_until_most_fail() {
    failed_features_fall_back_until_most_fail(Backend::Sqlite).await;
}

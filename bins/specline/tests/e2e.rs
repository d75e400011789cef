//! End to end, with the real binaries as child processes against PostgreSQL: a git
//! repository made by the test is submitted with `specline-enqueue`, flows through
//! `specline-analyzer` and `specline-spec-generator` (whose model is a fake OpenAI-compatible
//! server on 127.0.0.1), and the stored document is read back. The spec generator is killed
//! with SIGKILL in the middle of the conversion phase (one job per feature) and started
//! again: the scheduler rescues the features it was converting, and the run finishes from
//! the converted features' checkpoints instead of starting over.
#![allow(clippy::unwrap_used)]

#[path = "../../../crates/specdoc/tests/common/fake.rs"]
#[allow(dead_code)]
mod fake;
mod support;

use std::time::Duration;

use fake::{good_answer, FakeServer, Reply, Wire};
use support::{enqueue_json, Binaries, PgSchema, KEY};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_flows_through_the_binaries_and_survives_a_killed_spec_generator() {
    let bins = Binaries::locate();
    let schema = PgSchema::new().await;
    let repo = support::twelve_features();
    // Each conversion takes 400 ms, so the phase lasts long enough to be interrupted.
    let model = FakeServer::start(|_, req| {
        let delay = if req.phase() == "convert" { 400 } else { 0 };
        Reply::ok(Wire::OpenAi, &good_answer(req)).delayed(Duration::from_millis(delay))
    })
    .await;

    let env = schema.env();
    bins.migrate(&env);
    let spec_env = {
        let mut e = env.clone();
        e.push(("SPECLINE_PROVIDER__KIND".into(), "openai".into()));
        e.push(("SPECLINE_PROVIDER__MODEL".into(), "fake-model".into()));
        e.push(("SPECLINE_PROVIDER__BASE_URL".into(), model.base_url.clone()));
        e
    };
    let analyzer_env = {
        let mut e = env.clone();
        e.push(("SPECLINE_SECURITY__ENCRYPTION_KEY".into(), KEY.into()));
        e
    };
    let scheduler_env = {
        let mut e = env.clone();
        e.push(("SPECLINE_SCHEDULER__RESCUE_AFTER_SECS".into(), "5".into()));
        e
    };
    let _analyzer = bins.start("specline-analyzer", &analyzer_env).await;
    let _scheduler = bins.start("specline-scheduler", &scheduler_env).await;
    let mut generator = bins.start("specline-spec-generator", &spec_env).await;

    let url = format!("file://{}", repo.path().display());
    let submitted = enqueue_json(&bins, &env, &["analyze", &url, "--lang", "en"]);
    let run_id = submitted["run_id"].as_i64().unwrap();

    // Wait until a few features are converted (their item jobs done, each its own
    // checkpoint) while others are under way, then SIGKILL.
    let started = std::time::Instant::now();
    loop {
        let shown = enqueue_json(&bins, &env, &["run", "show", &run_id.to_string()]);
        let done = shown["graph"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == "convert_behaviors")
            .and_then(|n| n["items"]["done"].as_i64())
            .unwrap_or(0);
        if done >= 3 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the conversion never got under way; the run: {shown}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    generator.kill();
    let before = model.count("convert");
    let generator2 = bins.start("specline-spec-generator", &spec_env).await;

    let shown = support::wait_run_done(&bins, &env, run_id, Duration::from_secs(90)).await;
    let result = &shown["result"];
    assert_eq!(result["behaviors"], 36, "{shown}");
    let after = model.count("convert") - before;
    assert!(
        after < 12,
        "the restarted generator converted {after} features: it started over instead of \
         resuming from the checkpoint"
    );

    // The stored document holds every test, written by the (fake) model.
    let doc_id = result["document_id"].as_i64().unwrap().to_string();
    let doc = enqueue_json(&bins, &env, &["document", "show", &doc_id]);
    assert_eq!(doc["stats"]["behaviors"], 36, "{doc}");
    assert_eq!(doc["generator"]["kind"], "openai", "{doc}");
    let text = doc.to_string();
    for f in 0..12 {
        assert!(
            text.contains(&format!("feature_{f}_case_2")),
            "feature {f} missing: {text}"
        );
    }

    // The same request again reuses the analysis and the document: no new model call.
    let calls = model.requests().len();
    let again = enqueue_json(&bins, &env, &["analyze", &url, "--lang", "en", "--wait"]);
    assert_eq!(again["reused"], true, "{again}");
    assert_eq!(again["document_id"].as_i64().unwrap().to_string(), doc_id);
    assert_eq!(model.requests().len(), calls);

    // SIGTERM stops each binary cleanly.
    generator2.terminate(Duration::from_secs(20)).await;
}

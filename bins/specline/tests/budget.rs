//! Issue 15: a per-owner budget of model calls (`spec_generator.owner_calls_per_day`) smaller
//! than a generation's estimate refuses the generation with `BUDGET_EXCEEDED` before any
//! model call (counted at a fake OpenAI-compatible server on 127.0.0.1), on SQLite and on
//! PostgreSQL, with `specline analyze` as a real child process.
#![allow(clippy::unwrap_used)]

#[path = "../../../crates/specdoc/tests/common/fake.rs"]
#[allow(dead_code)]
mod fake;
mod support;

use fake::{good_answer, FakeServer, Reply, Wire};
use support::{git_repo, Binaries, PgSchema};

/// `specline analyze` of a five-test repository with a budget of one call (the estimate is
/// three: one classification, one conversion, one summary); the model must see nothing.
fn refused_before_any_call(bins: &Binaries, env: &[(String, String)], model: &FakeServer) {
    let body: String = (0..5)
        .map(|t| format!("def test_checkout_case_{t}():\n    assert True\n\n"))
        .collect();
    let repo = git_repo(&[("tests/test_checkout.py".into(), body)]);
    let mut env = env.to_vec();
    env.extend([
        ("SPECLINE_PROVIDER__KIND".into(), "openai".into()),
        ("SPECLINE_PROVIDER__MODEL".into(), "fake-model".into()),
        ("SPECLINE_PROVIDER__BASE_URL".into(), model.base_url.clone()),
        (
            "SPECLINE_SPEC_GENERATOR__OWNER_CALLS_PER_DAY".into(),
            "1".into(),
        ),
    ]);
    let out = bins
        .command("specline", &env)
        .args([
            "analyze",
            &repo.path().display().to_string(),
            "--no-progress",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the generation was not refused: {stderr}"
    );
    assert!(stderr.contains("BUDGET_EXCEEDED"), "{stderr}");
    assert!(
        stderr.contains("estimated at 3 model calls"),
        "the refusal does not state the estimate: {stderr}"
    );
    assert_eq!(
        model.requests().len(),
        0,
        "the model was called before the budget refused the generation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_budget_below_the_estimate_refuses_before_any_call() {
    let bins = Binaries::locate();
    let model = FakeServer::start(|_, req| Reply::ok(Wire::OpenAi, &good_answer(req))).await;
    let data = tempfile::tempdir().unwrap();
    let env = vec![(
        "SPECLINE_LOCAL__DATA_DIR".to_string(),
        data.path().display().to_string(),
    )];
    tokio::task::block_in_place(|| refused_before_any_call(&bins, &env, &model));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_budget_below_the_estimate_refuses_before_any_call() {
    let bins = Binaries::locate();
    let model = FakeServer::start(|_, req| Reply::ok(Wire::OpenAi, &good_answer(req))).await;
    let schema = PgSchema::new().await;
    let mut env = schema.env();
    env.push((
        "SPECLINE_SECURITY__ENCRYPTION_KEY".into(),
        support::KEY.into(),
    ));
    bins.migrate(&env);
    tokio::task::block_in_place(|| refused_before_any_call(&bins, &env, &model));
}

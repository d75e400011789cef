//! The extractor's rollout end to end, on both backends: a real git repository made here,
//! analysed by the analyzer's step in a worker while `analyze_repository.extract` is in
//! shadow. The candidate (which drops skipped tests) changes nothing a user gets — the stored
//! analysis keeps every test — and the recorded diff names, per file, exactly the tests it
//! lost.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use specline_analyzer::extraction::{self, EXTRACT_ROLLOUT};
use specline_analyzer::{registry, Analyzer, AnalyzerConfig};
use specline_app::policy::{RepositoryPolicy, RunPolicy};
use specline_app::store::{AppStore, PgAppStore, SqliteAppStore};
use specline_app::{analyze_and_generate, AnalysisRequest, AnalysisSummary, SYSTEM_OWNER};
use specline_inventory_model::Status;
use specline_queue::rollout::{report, RolloutMode, ShadowOutcome};
use specline_queue::store::{PgConfig, PgStore, SqliteConfig, SqliteStore, Store};
use specline_queue::{Client, SubmitOpts, Worker};
use specline_testkit::{database_url, PgSchema, TempSqlite};

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A repository with skipped tests in two of its three test files.
fn repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let tests = dir.path().join("tests");
    std::fs::create_dir_all(&tests).unwrap();
    std::fs::write(
        tests.join("math.test.js"),
        "describe('math', () => {\n  test('adds', () => {});\n  test.skip('subtracts', () => {});\n  it.skip('divides', () => {});\n  test.todo('rounds');\n});\n",
    )
    .unwrap();
    std::fs::write(
        tests.join("later.test.js"),
        "test.skip('later', () => {});\n",
    )
    .unwrap();
    std::fs::write(tests.join("plain.test.js"), "test('plain', () => {});\n").unwrap();
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "tests"]);
    dir
}

async fn shadow_extractor_records_the_per_file_diff(jobs: Arc<dyn Store>, app: Arc<dyn AppStore>) {
    let repo = repository();
    jobs.rollouts()
        .set_rollout(
            EXTRACT_ROLLOUT,
            RolloutMode::Shadow { sample: 1.0 },
            "ops@test",
        )
        .await
        .unwrap();
    let client = Client::new(jobs.clone());
    let analyzer = Analyzer {
        app: app.clone(),
        cipher: None,
        config: AnalyzerConfig {
            max_file_bytes: 1 << 20,
            clone_timeout: Duration::from_secs(60),
            clone_max_bytes: 1 << 30,
            threads: 1,
            git_program: "git".into(),
            work_root: std::env::temp_dir(),
        },
        policy: RunPolicy {
            policy: RepositoryPolicy {
                allow_local_paths: true,
                ..RepositoryPolicy::default()
            },
            runs: client.clone(),
        },
        extract: extraction::rollout(),
    };
    let worker = Worker::builder(jobs.clone())
        .registry(registry(analyzer))
        .queue(specline_app::ANALYZE_QUEUE, 1)
        .poll_interval(Duration::from_millis(50))
        .build()
        .unwrap()
        .start()
        .await
        .unwrap();
    let request = AnalysisRequest {
        target: repo.path().display().to_string(),
        git_ref: None,
        lang: "en".into(),
        encrypted_token: None,
        fresh: false,
    };
    let run = client
        .submit(
            &analyze_and_generate(),
            SYSTEM_OWNER,
            &request,
            SubmitOpts::default(),
        )
        .await
        .unwrap()
        .run_id;
    // The analyze step's checkpoint is written after its shadow was recorded.
    let deadline = Instant::now() + Duration::from_secs(120);
    let summary: AnalysisSummary = loop {
        let outputs = jobs.step_outputs(run).await.unwrap();
        if let Some((_, v)) = outputs.iter().find(|(k, _)| k == "analyze_repository") {
            break serde_json::from_value(v.clone()).unwrap();
        }
        assert!(Instant::now() < deadline, "the analyze step did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    worker.shutdown(Duration::from_secs(10)).await.unwrap();

    // The user's analysis is the primary's: every test, skipped ones included.
    let inventory = app.load_inventory(summary.analysis_id).await.unwrap();
    let mut statuses: Vec<(String, Status)> = Vec::new();
    for f in &inventory.files {
        for t in extraction::FileTests::of(f).tests {
            statuses.push((format!("{}: {}", f.path, t.name), t.status));
        }
    }
    statuses.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        statuses,
        vec![
            ("tests/later.test.js: later".to_string(), Status::Skipped),
            ("tests/math.test.js: math > adds".into(), Status::Active),
            ("tests/math.test.js: math > divides".into(), Status::Skipped),
            ("tests/math.test.js: math > rounds".into(), Status::Todo),
            (
                "tests/math.test.js: math > subtracts".into(),
                Status::Skipped
            ),
            ("tests/plain.test.js: plain".into(), Status::Active),
        ]
    );

    let results = jobs
        .rollouts()
        .shadow_results(EXTRACT_ROLLOUT, 10)
        .await
        .unwrap();
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_eq!(r.outcome, ShadowOutcome::Mismatch);
    assert_eq!(r.key, summary.repository);
    assert_eq!(
        r.diff,
        Some(serde_json::json!({"files": {
            "tests/later.test.js": {"removed": ["later"]},
            "tests/math.test.js": {"removed": ["math > divides", "math > subtracts"]},
        }}))
    );
    // 3 of the 6 tests alike.
    assert_eq!(r.similarity, Some(0.5));
    let text = report(jobs.as_ref(), EXTRACT_ROLLOUT, 100)
        .await
        .unwrap()
        .to_string();
    assert!(
        text.contains("mismatch                 1  100.0%"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_shadow_extractor_records_the_per_file_diff() {
    let file = TempSqlite::new("jobs.sqlite");
    let engine = SqliteStore::open(SqliteConfig::new(file.path()))
        .await
        .unwrap();
    engine.migrate().await.unwrap();
    let app = SqliteAppStore::new(&engine);
    app.migrate().await.unwrap();
    shadow_extractor_records_the_per_file_diff(Arc::new(engine), Arc::new(app)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_shadow_extractor_records_the_per_file_diff() {
    let schema = PgSchema::new();
    let engine = PgStore::connect(
        PgConfig::new(database_url())
            .schema(schema.name())
            .pool_size(4),
    )
    .await
    .unwrap();
    engine
        .migrate()
        .await
        .unwrap_or_else(|e| specline_testkit::pg_unreachable(e));
    let app = PgAppStore::new(&engine);
    app.migrate().await.unwrap();
    shadow_extractor_records_the_per_file_diff(Arc::new(engine), Arc::new(app)).await;
}

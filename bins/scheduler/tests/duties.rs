//! The scheduler's application duties on a real SQLite file: periodic re-analysis submits
//! one run per watched repository per interval — only while leading, never twice, even with
//! two schedulers — and carries the encrypted token without reading it.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use specline_app::store::{AppStore, SqliteAppStore, WatchedRepository};
use specline_queue::store::{SqliteConfig, SqliteStore, Store};
use specline_queue::{Client, JobFilter};
use specline_scheduler::{start, SchedulerConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_watched_repository_gets_one_run_per_interval_across_two_schedulers() {
    let db = specline_testkit::TempSqlite::new("scheduler.sqlite3");
    let sqlite = SqliteStore::open(SqliteConfig::new(db.path()))
        .await
        .unwrap();
    sqlite.migrate().await.unwrap();
    let app = SqliteAppStore::new(&sqlite);
    app.migrate().await.unwrap();
    let jobs: Arc<dyn Store> = Arc::new(sqlite);
    let app: Arc<dyn AppStore> = Arc::new(app);
    for (repo, token) in [
        (
            "https://example.invalid/a.git",
            Some("sealed-token-ciphertext"),
        ),
        ("https://example.invalid/b.git", None),
    ] {
        app.watch(&WatchedRepository {
            repository: repo.into(),
            branch: Some("main".into()),
            language: "en".into(),
            encrypted_token: token.map(str::to_string),
            created_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    }
    let config = SchedulerConfig {
        rescue_after: Duration::from_secs(30),
        prune_interval: Duration::from_secs(3600),
        retain_completed: Duration::from_secs(3600),
        // One interval for the whole test: every tick after the first must submit nothing.
        reanalyze_interval: Some(Duration::from_secs(24 * 3600)),
        spec_cache_retain: Duration::from_secs(24 * 3600),
        spec_cache_max_entries: 1000,
        tick: Duration::from_millis(20),
    };
    let one = start(jobs.clone(), app.clone(), config.clone());
    let two = start(jobs.clone(), app.clone(), config);
    let client = Client::new(jobs.clone());
    let started = std::time::Instant::now();
    let list = || async {
        client
            .list(&JobFilter {
                kind: Some("analyze_repository".into()),
                ..JobFilter::default()
            })
            .await
            .unwrap()
    };
    while list().await.len() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no runs submitted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Many more ticks of both schedulers.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let submitted = list().await;
    assert_eq!(submitted.len(), 2, "{submitted:?}");
    assert_eq!(
        [one.is_leader(), two.is_leader()]
            .iter()
            .filter(|l| **l)
            .count(),
        1,
        "exactly one scheduler leads"
    );
    let mut tokens = Vec::new();
    for job in &submitted {
        let run_id = job.args["run_id"].as_i64().unwrap();
        let run = client
            .get_run(specline_app::SYSTEM_OWNER, run_id)
            .await
            .unwrap();
        tokens.push(run.input["encrypted_token"].clone());
    }
    tokens.sort_by_key(|t| t.to_string());
    assert_eq!(
        tokens,
        vec!["sealed-token-ciphertext".into(), serde_json::Value::Null],
        "the ciphertext is carried as stored, and a repository without one gets none"
    );
    one.shutdown().await;
    two.shutdown().await;
}

//! Periodic re-analysis on both backends, with the clock passed in: once per repository per
//! interval (an interval of two days, longer than an idempotency key lives), and two
//! schedulers racing submit each repository once.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use specline_app::store::{AppStore, PgAppStore, SqliteAppStore, WatchedRepository};
use specline_queue::store::{PgConfig, PgStore, SqliteConfig, SqliteStore, Store};
use specline_queue::{Client, JobFilter};
use specline_scheduler::reanalyze_due;
use specline_testkit::{database_url, pg_unreachable, PgSchema, TempSqlite};

type Stores = (Arc<dyn Store>, Arc<dyn AppStore>);

async fn sqlite(file: &TempSqlite) -> Stores {
    let s = SqliteStore::open(SqliteConfig::new(file.path()))
        .await
        .unwrap();
    let app = SqliteAppStore::new(&s);
    (Arc::new(s), Arc::new(app))
}

async fn postgres(schema: &PgSchema) -> Stores {
    let s = PgStore::connect(
        PgConfig::new(database_url())
            .schema(schema.name())
            .pool_size(4),
    )
    .await
    .unwrap_or_else(|e| pg_unreachable(e));
    let app = PgAppStore::new(&s);
    (Arc::new(s), Arc::new(app))
}

async fn analyze_jobs(jobs: &Arc<dyn Store>) -> usize {
    Client::new(jobs.clone())
        .list(&JobFilter {
            kind: Some("analyze_repository".into()),
            limit: 1000,
            ..JobFilter::default()
        })
        .await
        .unwrap()
        .len()
}

/// The database under test, and how to make its idempotency keys expire as they would a day
/// after the submission (the engine keeps a key 24 hours).
enum Db<'a> {
    Sqlite(&'a TempSqlite),
    Postgres(&'a PgSchema),
}

impl Db<'_> {
    async fn expire_idempotency_keys(&self) {
        match self {
            Db::Sqlite(file) => {
                let c = rusqlite::Connection::open(file.path()).unwrap();
                c.execute("UPDATE specline_idempotency SET expires_at = 0", [])
                    .unwrap();
            }
            Db::Postgres(schema) => {
                let (c, conn) = tokio_postgres::connect(&database_url(), tokio_postgres::NoTls)
                    .await
                    .unwrap_or_else(|e| pg_unreachable(e));
                tokio::spawn(conn);
                c.batch_execute(&format!(
                    "UPDATE {}.specline_idempotency SET expires_at = now() - interval '1 second'",
                    schema.name()
                ))
                .await
                .unwrap();
            }
        }
    }
}

/// `one` and `two` are two schedulers' stores on the same database.
async fn once_per_interval(db: Db<'_>, one: Stores, two: Stores) {
    one.0.migrate().await.unwrap();
    one.1.migrate().await.unwrap();
    for repo in [
        "https://example.invalid/a.git",
        "https://example.invalid/b.git",
    ] {
        one.1
            .watch(&WatchedRepository {
                repository: repo.into(),
                branch: None,
                language: "en".into(),
                encrypted_token: None,
                created_at: Utc::now(),
            })
            .await
            .unwrap();
    }
    let interval = Duration::from_secs(48 * 3600);
    let t0: DateTime<Utc> = Utc::now();
    let tick = |stores: &Stores, now: DateTime<Utc>| {
        let (jobs, app) = stores.clone();
        async move { reanalyze_due(&jobs, &*app, interval, now).await }
    };
    // Both schedulers tick at the same moment, several times.
    let mut submitted = 0;
    for _ in 0..5 {
        let (a, b) = tokio::join!(tick(&one, t0), tick(&two, t0));
        submitted += a + b;
    }
    assert_eq!(submitted, 2);
    assert_eq!(analyze_jobs(&one.0).await, 2);

    // A day and more later, well past the idempotency key's 24 hours (the keys are expired
    // as the engine would have by then): nothing is due.
    db.expire_idempotency_keys().await;
    for hours in [1, 25, 47] {
        let now = t0 + chrono::Duration::hours(hours);
        let (a, b) = tokio::join!(tick(&one, now), tick(&two, now));
        assert_eq!(a + b, 0, "submitted again after {hours} h");
    }
    assert_eq!(analyze_jobs(&one.0).await, 2);

    // One interval on, each repository once more.
    let later = t0 + chrono::Duration::hours(48);
    let (a, b) = tokio::join!(tick(&one, later), tick(&two, later));
    assert_eq!(a + b, 2);
    assert_eq!(analyze_jobs(&one.0).await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_submits_once_per_interval_across_two_schedulers() {
    let file = TempSqlite::new("reanalyze.sqlite3");
    once_per_interval(Db::Sqlite(&file), sqlite(&file).await, sqlite(&file).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_submits_once_per_interval_across_two_schedulers() {
    let schema = PgSchema::new();
    once_per_interval(
        Db::Postgres(&schema),
        postgres(&schema).await,
        postgres(&schema).await,
    )
    .await;
}

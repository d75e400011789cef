//! Test harness: a fresh PostgreSQL schema or SQLite file per test, so tests run in parallel.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use specline_queue::store::{PgConfig, PgStore, SqliteConfig, SqliteStore, Store};
use specline_queue::{Job, JobState};

pub use specline_testkit::database_url;
use specline_testkit::{PgSchema, TempSqlite};

/// What the test's database is; dropping it removes the schema or the file.
pub enum Guard {
    Pg { schema: PgSchema },
    Sqlite { file: TempSqlite },
}

pub struct Harness {
    pub store: Arc<dyn Store>,
    pub pg: Option<PgStore>,
    pub sqlite: Option<SqliteStore>,
    pub guard: Guard,
}

impl Harness {
    pub async fn pg() -> Harness {
        let schema = PgSchema::new();
        let store = PgStore::connect(
            PgConfig::new(database_url())
                .schema(schema.name())
                .pool_size(8),
        )
        .await
        .unwrap();
        store
            .migrate()
            .await
            .unwrap_or_else(|e| specline_testkit::pg_unreachable(e));
        Harness {
            store: Arc::new(store.clone()),
            pg: Some(store),
            sqlite: None,
            guard: Guard::Pg { schema },
        }
    }

    pub async fn sqlite() -> Harness {
        let file = TempSqlite::new("jobs.sqlite");
        let store = SqliteStore::open(SqliteConfig::new(file.path()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        Harness {
            store: Arc::new(store.clone()),
            pg: None,
            sqlite: Some(store),
            guard: Guard::Sqlite { file },
        }
    }

    /// A second, independent connection to the same database (another "process").
    pub async fn reopen(&self) -> Arc<dyn Store> {
        match &self.guard {
            Guard::Pg { schema } => Arc::new(
                PgStore::connect(
                    PgConfig::new(database_url())
                        .schema(schema.name())
                        .pool_size(4),
                )
                .await
                .unwrap(),
            ),
            Guard::Sqlite { file } => Arc::new(
                SqliteStore::open(SqliteConfig::new(file.path()))
                    .await
                    .unwrap(),
            ),
        }
    }

    pub async fn job(&self, id: i64) -> Job {
        self.store.get_job(id).await.unwrap().expect("job exists")
    }

    /// Wait until the job reaches `state`, or panic with its last state after `timeout`.
    pub async fn wait_state(&self, id: i64, state: JobState, timeout: Duration) -> Job {
        let until = Instant::now() + timeout;
        loop {
            let job = self.job(id).await;
            if job.state == state {
                return job;
            }
            if Instant::now() > until {
                panic!(
                    "job {id} did not reach {state} in {timeout:?}; it is {:?}",
                    job
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn count(&self, state: JobState) -> i64 {
        self.store
            .count_by_state(None)
            .await
            .unwrap()
            .into_iter()
            .find(|(s, _)| *s == state)
            .map(|(_, n)| n)
            .unwrap_or(0)
    }
}

/// Define each listed async test function once per backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Harness::pg().await).await
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Harness::sqlite().await).await
                }
            )*
        }
    };
}

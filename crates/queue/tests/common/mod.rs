//! Test harness: a fresh PostgreSQL schema or SQLite file per test, so tests run in parallel.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use specline_queue::store::{PgConfig, PgStore, SqliteConfig, SqliteStore, Store};
use specline_queue::{Job, JobState};

pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

pub enum Guard {
    Pg {
        schema: String,
    },
    Sqlite {
        _dir: tempfile::TempDir,
        path: std::path::PathBuf,
    },
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Guard::Pg { schema } = self {
            let schema = schema.clone();
            // Drop the schema from a separate thread: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    if let Ok((c, conn)) =
                        tokio_postgres::connect(&database_url(), tokio_postgres::NoTls).await
                    {
                        tokio::spawn(conn);
                        let _ = c
                            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

pub struct Harness {
    pub store: Arc<dyn Store>,
    pub pg: Option<PgStore>,
    pub sqlite: Option<SqliteStore>,
    pub guard: Guard,
}

impl Harness {
    pub async fn pg() -> Harness {
        let schema = format!("t_{:016x}", rand::random::<u64>());
        let store = PgStore::connect(PgConfig::new(database_url()).schema(&schema).pool_size(8))
            .await
            .unwrap();
        store.migrate().await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL at {} must be reachable for these tests (scripts/test starts one): {e}",
                database_url()
            )
        });
        Harness {
            store: Arc::new(store.clone()),
            pg: Some(store),
            sqlite: None,
            guard: Guard::Pg { schema },
        }
    }

    pub async fn sqlite() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.sqlite");
        let store = SqliteStore::open(SqliteConfig::new(&path)).await.unwrap();
        store.migrate().await.unwrap();
        Harness {
            store: Arc::new(store.clone()),
            pg: None,
            sqlite: Some(store),
            guard: Guard::Sqlite { _dir: dir, path },
        }
    }

    /// A second, independent connection to the same database (another "process").
    pub async fn reopen(&self) -> Arc<dyn Store> {
        match &self.guard {
            Guard::Pg { schema } => Arc::new(
                PgStore::connect(PgConfig::new(database_url()).schema(schema).pool_size(4))
                    .await
                    .unwrap(),
            ),
            Guard::Sqlite { path, .. } => {
                Arc::new(SqliteStore::open(SqliteConfig::new(path)).await.unwrap())
            }
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

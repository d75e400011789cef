//! The SQLite schema's migrations, one `.sql` file each in `migrations/`.

use super::*;

/// Schema migrations, in order: version, name, SQL (one file each). Never edit one that has
/// shipped; add a new one.
pub(super) const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "jobs, queues, workers, leader",
        include_str!("migrations/0001_jobs_queues_workers_leader.sql"),
    ),
    (
        2,
        "pipelines: runs, events, checkpoints, results, idempotency",
        include_str!("migrations/0002_pipelines.sql"),
    ),
    (
        3,
        "rescue credits for progress; jobs by run",
        include_str!("migrations/0003_rescue_credits_jobs_by_run.sql"),
    ),
    (
        4,
        "the lifecycle in Rust: no trigger",
        include_str!("migrations/0004_lifecycle_in_rust.sql"),
    ),
    (
        5,
        "dashboard indexes",
        include_str!("migrations/0005_dashboard_indexes.sql"),
    ),
    (
        6,
        "concurrency limits, rate limits and fairness",
        include_str!("migrations/0006_limits.sql"),
    ),
    (
        7,
        "queue gauges",
        include_str!("migrations/0007_queue_gauges.sql"),
    ),
    (
        8,
        "graph pipelines: the items of mapped steps",
        include_str!("migrations/0008_graph_pipelines.sql"),
    ),
    (
        9,
        "rollouts: modes, their changes, shadow results",
        include_str!("migrations/0009_rollouts.sql"),
    ),
    (
        10,
        "parked limited jobs: lazy removal from the partition-ordered fetch index",
        include_str!("migrations/0010_parked_limited_jobs.sql"),
    ),
    (
        11,
        "weighted fairness: the cursor's carry",
        include_str!("migrations/0011_weighted_fairness.sql"),
    ),
    (
        12,
        "fair order: virtual start tags instead of the partition-ordered index",
        include_str!("migrations/0012_fair_tags.sql"),
    ),
];

impl SqliteStore {
    pub(super) async fn migrate(&self) -> Result<()> {
        self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS specline_migrations (
                   version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
            )?;
            let current: i32 = tx.query_row(
                "SELECT COALESCE(max(version), 0) FROM specline_migrations",
                [],
                |r| r.get(0),
            )?;
            let latest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
            if current > latest {
                return Err(Error::SchemaMismatch(format!(
                    "database schema is at version {current}, newer than this build ({latest}); upgrade specline"
                )));
            }
            for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
                tx.execute_batch(sql)?;
                tx.execute(
                    "INSERT INTO specline_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                    params![version, name, now_us()],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub(super) async fn migration_status(&self) -> Result<MigrationStatus> {
        self.with_conn(|conn| {
            let latest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
            let exists: bool = conn.query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'specline_migrations'",
                [],
                |r| r.get(0),
            )?;
            let current = if exists {
                conn.query_row(
                    "SELECT COALESCE(max(version), 0) FROM specline_migrations",
                    [],
                    |r| r.get(0),
                )?
            } else {
                0
            };
            Ok(MigrationStatus { current, latest })
        })
        .await
    }
}

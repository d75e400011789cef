//! The PostgreSQL schema's migrations, one `.sql` file each in `migrations/`.

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
        "complete a pipeline step in one call",
        include_str!("migrations/0003_complete_step.sql"),
    ),
    (
        4,
        "rescue credits for progress; jobs by run",
        include_str!("migrations/0004_rescue_credits_jobs_by_run.sql"),
    ),
    (
        5,
        "the lifecycle in Rust: no trigger, no function",
        include_str!("migrations/0005_lifecycle_in_rust.sql"),
    ),
    (
        6,
        "dashboard indexes",
        include_str!("migrations/0006_dashboard_indexes.sql"),
    ),
    (
        7,
        "concurrency limits, rate limits and fairness",
        include_str!("migrations/0007_limits.sql"),
    ),
    (
        8,
        "queue gauges",
        include_str!("migrations/0008_queue_gauges.sql"),
    ),
    (
        9,
        "graph pipelines: the items of mapped steps",
        include_str!("migrations/0009_graph_pipelines.sql"),
    ),
    (
        10,
        "rollouts: modes, their changes, shadow results",
        include_str!("migrations/0010_rollouts.sql"),
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

impl PgStore {
    pub(super) async fn migrate(&self) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('specline_migrate:' || $1))",
            &[&self.inner.schema],
        )
        .await?;
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{0}\";
             CREATE TABLE IF NOT EXISTS \"{0}\".specline_migrations (
               version integer PRIMARY KEY, name text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())",
            self.inner.schema
        ))
        .await?;
        let row = tx
            .query_one(
                "SELECT COALESCE(max(version), 0) FROM specline_migrations",
                &[],
            )
            .await?;
        let current: i32 = row.get(0);
        let latest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
        if current > latest {
            return Err(Error::SchemaMismatch(format!(
                "database schema is at version {current}, newer than this build ({latest}); upgrade specline"
            )));
        }
        for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO specline_migrations (version, name) VALUES ($1, $2)",
                &[version, name],
            )
            .await?;
            tracing::info!(version, name, "applied migration");
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn migration_status(&self) -> Result<MigrationStatus> {
        let c = self.client().await?;
        let latest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
        let exists: bool = c
            .query_one(
                "SELECT to_regclass(current_schema() || '.specline_migrations') IS NOT NULL",
                &[],
            )
            .await?
            .get(0);
        let current = if exists {
            c.query_one(
                "SELECT COALESCE(max(version), 0) FROM specline_migrations",
                &[],
            )
            .await?
            .get(0)
        } else {
            0
        };
        Ok(MigrationStatus { current, latest })
    }
}

//! The PostgreSQL schema's migrations, one `.sql` file each in `migrations/`.

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
];

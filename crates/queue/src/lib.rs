//! `specline-queue`: durable background jobs for Rust on PostgreSQL and SQLite.
//!
//! - **Typed kinds** ([`JobKind`]): a Rust type names its kind, its queue and its defaults;
//!   inserting it into another queue fails at insert time, and a [`Worker`] refuses to start
//!   if a queue it consumes carries a kind it cannot handle.
//! - **One store interface, two drivers** ([`store::PgStore`], [`store::SqliteStore`]) with the
//!   same semantics, checked by one conformance suite.
//! - **Errors as values** ([`JobError`]): retryable, permanent, cancel, snooze; panics and
//!   timeouts are caught and recorded with codes `PANIC` and `TIMEOUT`.
//! - **Crash safety**: worker heartbeats and a leader-elected rescuer
//!   ([`maintenance::Maintenance`]) return the jobs of a dead worker within seconds.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use serde::{Deserialize, Serialize};
//! use specline_queue::{store::{SqliteConfig, SqliteStore, Store}, Client, JobKind, Registry, Worker, JobContext, JobError};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Greet { name: String }
//! impl JobKind for Greet {
//!     const KIND: &'static str = "greet";
//!     const QUEUE: &'static str = "default";
//! }
//!
//! let store: Arc<dyn Store> = Arc::new(SqliteStore::open(SqliteConfig::new("jobs.sqlite")).await?);
//! store.migrate().await?;
//! let client = Client::new(store.clone());
//! client.insert(&Greet { name: "Ada".into() }).await?;
//!
//! let registry = Registry::new().register(|_ctx: JobContext, g: Greet| async move {
//!     println!("hello {}", g.name);
//!     Ok::<(), JobError>(())
//! });
//! let worker = Worker::builder(store).registry(registry).queue("default", 10).build()?.start().await?;
//! worker.shutdown(std::time::Duration::from_secs(10)).await?;
//! # Ok(()) }
//! ```

pub mod client;
mod clock;
mod completer;
mod config;
pub mod driver_tests;
pub mod error;
mod executor;
pub mod gauges;
pub mod graph;
pub mod handler;
mod heartbeat;
pub mod job;
pub mod kind;
mod lease;
pub mod lifecycle;
pub mod limit_checks;
pub mod limited_claim;
pub mod limits;
mod listener;
pub mod maintenance;
pub mod metrics;
pub mod pipeline;
mod producer;
pub mod rate_gate;
pub mod rescuer;
pub mod rollout;
pub mod run;
pub mod run_graph;
mod sanitize;
mod shared;
mod state;
pub mod stats;
pub mod store;
pub mod trace_context;
mod unique;
pub mod worker;

pub use client::Client;
pub use error::{
    check_codes, codes, ClassRule, CodeInfo, CodeSet, Error, ErrorClass, ErrorCode, JobError,
    QueueCode, Result,
};
pub use handler::{Catalog, Handler, JobContext, Registry};
pub use job::{
    AttemptError, CancelOutcome, Fence, InsertOpts, Inserted, Job, JobFilter, JobState, NewJob,
    UniqueOpts,
};
pub use kind::{Backoff, JobKind, KindOptions, KindSpec};
pub use limits::{LimitValues, Limits, PartitionBy, Rate};
pub use maintenance::{Maintenance, MaintenanceConfig, MaintenanceHandle, PeriodicJob, Schedule};
pub use pipeline::{Pipeline, Step, StepContext, StepKind, SubmitOpts};
pub use rollout::{Comparison, Rollout, RolloutMode, RolloutOptions};
pub use run::{EventStatus, Run, RunCancelOutcome, RunEvent, RunState, RunStatus};
pub use run_graph::{GraphNode, NodeState, RunGraph};
pub use worker::{ShutdownReport, Worker, WorkerConfig, WorkerHandle};

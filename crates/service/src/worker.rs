//! The life of a worker binary: check the schema, start the worker and the health server,
//! wait for SIGTERM/SIGINT, drain within the deadline.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use specline_queue::{Catalog, Registry, Worker};

use crate::db::Databases;
use crate::http;

/// What a worker binary runs.
pub struct WorkerPlan {
    /// The binary's name, for logs.
    pub name: &'static str,
    pub registry: Registry,
    /// Queues and how many jobs of each run at once.
    pub queues: Vec<(&'static str, usize)>,
    /// On SIGTERM, how long running jobs may finish before they are abandoned to the
    /// rescuer (they run again elsewhere; pipeline steps resume from their checkpoint).
    pub shutdown_deadline: Duration,
    pub listen: SocketAddr,
}

/// Every kind the application declares, so a worker proves at start that it has a handler
/// for each kind its queues carry (a kind routed to a queue nobody can run fails loudly).
pub fn catalog() -> Catalog {
    Catalog::new().pipeline(&specline_app::analyze_and_generate())
}

/// Run until a signal, then drain.
pub async fn run(dbs: Databases, plan: WorkerPlan) -> anyhow::Result<()> {
    dbs.require_current().await?;
    let metrics = http::install_metrics()?;
    let mut builder = Worker::builder(dbs.jobs.clone())
        .registry(plan.registry)
        .catalog(catalog());
    for (queue, concurrency) in &plan.queues {
        builder = builder.queue(*queue, *concurrency);
    }
    let worker = builder
        .build()
        .context("configuring the worker")?
        .start()
        .await
        .context("starting the worker")?;
    let server = http::serve(plan.listen, dbs.clone(), metrics, Vec::new()).await?;
    tracing::info!(
        binary = plan.name,
        worker = worker.id(),
        queues = ?plan.queues,
        database = %dbs.describe,
        health = %server.addr,
        "started"
    );
    crate::signal::shutdown().await;
    let report = worker.shutdown(plan.shutdown_deadline).await?;
    tracing::info!(
        binary = plan.name,
        interrupted = report.interrupted,
        "stopped"
    );
    server.stop();
    Ok(())
}

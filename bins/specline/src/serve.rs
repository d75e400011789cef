//! `specline serve`: every worker and the scheduler in one process, with the HTTP API,
//! `/healthz`, `/readyz` and `/metrics` on its one port.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use specline_queue::Worker;
use specline_scheduler::SchedulerConfig;
use specline_service::{http, CommonArgs};

use crate::local;

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Where the SQLite database lives (overrides `local.data_dir`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let s = local::settings(&args.common, args.data_dir.clone())?;
    let dbs = local::open(&s).await?;
    let metrics = http::install_metrics()?;
    let registry = local::merged(local::registry(&s, &dbs, local::cipher(&s, false)?)?);
    let worker = Worker::builder(dbs.jobs.clone())
        .registry(registry)
        .catalog(specline_service::worker::catalog())
        .queue(specline_app::ANALYZE_QUEUE, s.analyzer.concurrency)
        .queue(specline_app::SPEC_QUEUE, s.spec_generator.concurrency)
        .build()
        .context("configuring the worker")?
        .start()
        .await
        .context("starting the worker")?;
    let scheduler = specline_scheduler::start(
        dbs.jobs.clone(),
        dbs.app.clone(),
        SchedulerConfig::from_settings(&s.scheduler),
    );
    let api =
        specline_api::ApiState::from_settings(&dbs, &s.api, &s.repository_policy, &s.security)
            .context("configuring the API")?;
    let app = specline_web::with_api(api).merge(http::router(
        dbs.clone(),
        metrics,
        vec![scheduler.readiness()],
    ));
    let server = http::serve_router(s.http.listen, app).await?;
    eprintln!(
        "specline serve: workers on `analyze` and `spec`, scheduler, API, web UI and health on http://{} ({})",
        server.addr, dbs.describe
    );
    specline_service::signal::shutdown().await;
    let deadline = s
        .analyzer
        .shutdown_deadline()
        .max(s.spec_generator.shutdown_deadline());
    let report = worker.shutdown(deadline).await?;
    scheduler.shutdown().await;
    server.stop();
    eprintln!(
        "specline serve: stopped ({} job(s) interrupted and returned to their queue)",
        report.interrupted
    );
    Ok(())
}

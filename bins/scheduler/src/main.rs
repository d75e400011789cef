//! `specline-scheduler`: leader-elected maintenance, retention and periodic re-analysis.
//!
//! Settings: `[database]`, `[scheduler]`, `[http]` (see docs/settings.md). It consumes no
//! queue, holds no AI key and no encryption key.

use std::process::ExitCode;

use clap::Parser;
use specline_scheduler::{start, SchedulerConfig};
use specline_service::{db, http, CommonArgs};
use specline_settings::SchedulerSettings;

/// Specline's scheduler: rescue, pruning, retention and periodic re-analysis, on one leader.
#[derive(Parser)]
#[command(name = "specline-scheduler", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    specline_service::main(
        "specline-scheduler",
        &cli.common,
        |s: SchedulerSettings| async move {
            let dbs = db::open(&s.database.target(std::path::Path::new("."))).await?;
            dbs.require_current().await?;
            let metrics = http::install_metrics()?;
            let scheduler = start(
                dbs.jobs.clone(),
                dbs.app.clone(),
                SchedulerConfig::from_settings(&s.scheduler),
            );
            let server = http::serve(
                s.http.listen,
                dbs.clone(),
                metrics,
                vec![scheduler.readiness()],
            )
            .await?;
            tracing::info!(database = %dbs.describe, health = %server.addr, "specline-scheduler started");
            specline_service::signal::shutdown().await;
            scheduler.shutdown().await;
            server.stop();
            tracing::info!("specline-scheduler stopped");
            Ok(())
        },
    )
}

//! `specline-analyzer`: consumes the `analyze` queue.
//!
//! Settings: `[database]`, `[analyzer]`, `[security]`, `[http]`, `[repository_policy]` (see
//! docs/settings.md). It
//! has no provider section: no AI key can reach it, and it links no AI client.

use std::process::ExitCode;

use clap::Parser;
use specline_analyzer::{registry, sweep_stale_clones, Analyzer, AnalyzerConfig};
use specline_app::policy::{RepositoryPolicy, RunPolicy};
use specline_service::{db, worker, CommonArgs};
use specline_settings::{AnalyzerSettings, TokenCipher};

/// Specline's analyzer worker: clones repositories and stores their test inventories.
#[derive(Parser)]
#[command(name = "specline-analyzer", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let started = std::time::SystemTime::now();
    let cli = Cli::parse();
    specline_service::main(
        "specline-analyzer",
        &cli.common,
        |s: AnalyzerSettings| async move {
            let cipher = match &s.security.encryption_key {
                Some(key) => Some(TokenCipher::new(key)?),
                None => None,
            };
            let data_dir = std::path::Path::new(".");
            let dbs = db::open(&s.database.target(data_dir)).await?;
            let config = AnalyzerConfig::from_settings(&s.analyzer);
            let swept = sweep_stale_clones(&config, started);
            if swept > 0 {
                tracing::info!(swept, "removed stale clone directories");
            }
            let analyzer = Analyzer {
                app: dbs.app.clone(),
                cipher,
                config,
                policy: RunPolicy {
                    policy: RepositoryPolicy::from_settings(&s.repository_policy)?,
                    runs: specline_queue::Client::new(dbs.jobs.clone()),
                },
                extract: specline_analyzer::extraction::rollout(),
            };
            worker::run(
                dbs,
                worker::WorkerPlan {
                    name: "specline-analyzer",
                    registry: specline_analyzer::with_settings(registry(analyzer), &s.analyzer),
                    queues: vec![(specline_app::ANALYZE_QUEUE, s.analyzer.concurrency)],
                    shutdown_deadline: s.analyzer.shutdown_deadline(),
                    listen: s.http.listen,
                },
            )
            .await
        },
    )
}

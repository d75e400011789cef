//! `specline-spec-generator`: consumes the `spec` queue.
//!
//! Settings: `[database]`, `[spec_generator]`, `[provider]`, `[http]` (see docs/settings.md).
//! It has no security section: the encryption key of stored access tokens is neither read
//! nor reachable here, and it links no Tree-sitter.

use std::process::ExitCode;

use clap::Parser;
use specline_service::{db, worker, CommonArgs};
use specline_settings::SpecGeneratorSettings;
use specline_spec_generator::{registry, with_owner_limits, SpecGenerator};

/// Specline's spec generator worker: turns stored inventories into spec documents.
#[derive(Parser)]
#[command(name = "specline-spec-generator", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    specline_service::main(
        "specline-spec-generator",
        &cli.common,
        |s: SpecGeneratorSettings| async move {
            let dbs = db::open(&s.database.target(std::path::Path::new("."))).await?;
            let shared = SpecGenerator::from_settings(&dbs, &s.provider, &s.spec_generator)?;
            worker::run(
                dbs,
                worker::WorkerPlan {
                    name: "specline-spec-generator",
                    registry: with_owner_limits(
                        registry(shared).with_timeout(s.spec_generator.job_timeout()),
                        &s.spec_generator,
                    ),
                    queues: vec![(specline_app::SPEC_QUEUE, s.spec_generator.concurrency)],
                    shutdown_deadline: s.spec_generator.shutdown_deadline(),
                    listen: s.http.listen,
                },
            )
            .await
        },
    )
}

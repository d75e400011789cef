//! `specline`: the all-in-one command for one machine.

mod analyze;
mod bench;
mod bench_api;
mod bench_dashboard;
mod bench_fanout;
mod bench_gauges;
mod db;
mod doctor;
mod errors;
mod local;
mod scratch_schema;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "specline",
    version,
    about = "Turn a repository's test suite into a living specification"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create or upgrade the database schema (the engine's and the application's tables).
    Migrate(db::MigrateArgs),
    /// Measure the job engine: burn-down throughput, or enqueue-to-start latency.
    Bench(bench::BenchArgs),
    /// Analyze a repository and write its spec document (one pipeline run on SQLite).
    Analyze(analyze::AnalyzeArgs),
    /// Run every worker and the scheduler in one process, with /healthz, /readyz, /metrics.
    Serve(serve::ServeArgs),
    /// Check that code, settings, database and deployment manifests agree.
    Doctor(doctor::DoctorArgs),
    /// Submit analyses and steer runs, jobs, documents and watched repositories
    /// (the commands of `specline-enqueue`, on this machine's database).
    Admin(AdminArgs),
    /// Find the test files of a directory or git repository and list their suites and tests.
    Inventory(specline_inventory::cli::InventoryArgs),
    /// Turn a test inventory (JSON) into a spec document (offline generator by default).
    Spec(specline_specdoc::cli::SpecArgs),
    /// Print every error code with its class and meaning (Markdown; docs/error-codes.md).
    Errors,
}

/// `specline admin`: the operator commands of `specline-enqueue`.
#[derive(clap::Args)]
struct AdminArgs {
    /// Print full records as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    common: specline_service::CommonArgs,
    #[command(subcommand)]
    command: specline_enqueue::Command,
}

/// The operator commands against this machine's database (SQLite unless configured).
async fn admin(args: AdminArgs) -> anyhow::Result<()> {
    let s = local::settings(&args.common, None)?;
    let dbs = local::open(&s).await?;
    specline_enqueue::Tools {
        jobs: dbs.jobs.clone(),
        app: dbs.app.clone(),
        api: dbs.api.clone(),
        cipher: local::cipher(&s, false)?,
        json: args.json,
    }
    .run(args.command)
    .await
}

fn main() -> ExitCode {
    if let Err(e) = specline_service::init_logging("warn") {
        eprintln!("error: {e}");
        return ExitCode::from(specline_service::EXIT_SETTINGS);
    }
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Migrate(args) => db::migrate(args).await,
            Command::Bench(args) => bench::run(args).await,
            Command::Analyze(args) => analyze::run(args).await,
            Command::Serve(args) => serve::run(args).await,
            Command::Doctor(args) => doctor::run(args).await,
            Command::Admin(args) => admin(args).await,
            Command::Spec(args) => specline_specdoc::cli::run(args).await,
            Command::Errors => errors::run(),
            Command::Inventory(args) => {
                tokio::task::spawn_blocking(move || specline_inventory::cli::run(args)).await?
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors quote names from repositories (paths, refs, test names).
            eprintln!(
                "error: {}",
                specline_inventory_model::terminal::terminal_safe(&format!("{e:#}"))
            );
            ExitCode::FAILURE
        }
    }
}

//! `specline-enqueue`: submit analyses and steer jobs, runs, documents and watches.
//!
//! Settings: `[database]`, and `[security]` only to store an access token.

use std::process::ExitCode;

use clap::Parser;
use specline_enqueue::{Command, Tools};
use specline_service::{db, CommonArgs};
use specline_settings::{EnqueueSettings, TokenCipher};

/// Specline's operator tool.
#[derive(Parser)]
#[command(name = "specline-enqueue", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    /// Print full records as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (json, command) = (cli.json, cli.command);
    specline_service::main(
        "specline-enqueue",
        &cli.common,
        |s: EnqueueSettings| async move {
            let cipher = match &s.security.encryption_key {
                Some(key) => Some(TokenCipher::new(key)?),
                None => None,
            };
            let dbs = db::open(&s.database.target(std::path::Path::new("."))).await?;
            dbs.require_current().await?;
            Tools {
                jobs: dbs.jobs.clone(),
                app: dbs.app.clone(),
                api: dbs.api.clone(),
                cipher,
                json,
            }
            .run(command)
            .await
        },
    )
}

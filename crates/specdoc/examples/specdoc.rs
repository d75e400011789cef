//! The `spec` command before it is wired into the `specline` binary:
//!
//! ```sh
//! cargo run -p specline-specdoc --example specdoc -- inventory.json --lang en --format md --out spec.md
//! ```

use clap::Parser;
use specline_specdoc::cli::{run, SpecArgs};

#[derive(Parser)]
#[command(about = "Turn a test inventory into a spec document")]
struct Cli {
    #[command(flatten)]
    args: SpecArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    run(Cli::parse().args).await
}

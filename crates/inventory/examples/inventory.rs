//! `specline inventory` without the `specline` binary:
//! `cargo run -p specline-inventory --example inventory -- PATH|URL --format tree`.

use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: specline_inventory::cli::InventoryArgs,
}

fn main() -> anyhow::Result<()> {
    specline_inventory::cli::run(Cli::parse().args)
}

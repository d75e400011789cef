//! Choosing and opening the job store from the command line.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};
use specline_queue::store::{PgConfig, PgStore, SqliteConfig, SqliteStore, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    Postgres,
    Sqlite,
}

/// Where the job engine keeps its data.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Store backend.
    #[arg(long, value_enum, default_value = "sqlite")]
    pub backend: BackendArg,
    /// PostgreSQL URL (postgres backend).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub database_url: String,
    /// PostgreSQL schema of the engine's tables.
    #[arg(long, default_value = "public")]
    pub schema: String,
    /// SQLite database file (sqlite backend).
    #[arg(long, default_value = ".specline/specline.sqlite")]
    pub sqlite_path: PathBuf,
}

pub async fn open(args: &DbArgs, pool_size: usize) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match args.backend {
        BackendArg::Postgres => Arc::new(
            PgStore::connect(
                PgConfig::new(&args.database_url)
                    .schema(&args.schema)
                    .pool_size(pool_size),
            )
            .await
            .context("connecting to PostgreSQL")?,
        ),
        BackendArg::Sqlite => Arc::new(
            SqliteStore::open(SqliteConfig::new(&args.sqlite_path))
                .await
                .with_context(|| format!("opening {}", args.sqlite_path.display()))?,
        ),
    })
}

pub async fn migrate(args: DbArgs) -> anyhow::Result<()> {
    let store = open(&args, 2).await?;
    let before = store.migration_status().await?;
    store.migrate().await?;
    let after = store.migration_status().await?;
    if before.current == after.current {
        println!("schema is current (version {})", after.current);
    } else {
        println!(
            "migrated schema from version {} to {}",
            before.current, after.current
        );
    }
    Ok(())
}

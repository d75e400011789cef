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
///
/// `Debug` is written by hand: the URL usually carries a password. For the same reason clap
/// never shows the `DATABASE_URL` variable's value in `--help`.
#[derive(Clone, Args)]
pub struct DbArgs {
    /// Store backend.
    #[arg(long, value_enum, default_value = "sqlite")]
    pub backend: BackendArg,
    /// PostgreSQL URL (postgres backend).
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub database_url: String,
    /// PostgreSQL schema of the engine's tables (default: a new schema of the bench's own).
    #[arg(long)]
    pub schema: Option<String>,
    /// SQLite database file (sqlite backend).
    #[arg(long, default_value = ".specline/specline.sqlite")]
    pub sqlite_path: PathBuf,
}

impl std::fmt::Debug for DbArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbArgs")
            .field("backend", &self.backend)
            .field(
                "database_url",
                &specline_service::db::describe_postgres_url(&self.database_url),
            )
            .field("schema", &self.schema)
            .field("sqlite_path", &self.sqlite_path)
            .finish()
    }
}

pub async fn open(args: &DbArgs, pool_size: usize) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match args.backend {
        BackendArg::Postgres => Arc::new(
            PgStore::connect(
                PgConfig::new(&args.database_url)
                    .schema(args.schema.as_deref().unwrap_or("public"))
                    .pool_size(pool_size),
            )
            .await
            .with_context(|| {
                format!(
                    "connecting to PostgreSQL at {}",
                    specline_service::db::describe_postgres_url(&args.database_url)
                )
            })?,
        ),
        BackendArg::Sqlite => Arc::new(
            SqliteStore::open(SqliteConfig::new(&args.sqlite_path))
                .await
                .with_context(|| format!("opening {}", args.sqlite_path.display()))?,
        ),
    })
}

/// `specline migrate`: the database the settings name (`database.url`, else the SQLite
/// file), as the deployment's one-shot migrate job runs it.
#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// Where the SQLite database lives (overrides `local.data_dir`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    #[command(flatten)]
    pub common: specline_service::CommonArgs,
}

pub async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let s = crate::local::settings(&args.common, args.data_dir.clone())?;
    let dbs = specline_service::db::open(&s.database_target()).await?;
    let before = (
        dbs.jobs.migration_status().await?,
        dbs.app.migration_status().await?,
    );
    dbs.migrate().await?;
    let after = (
        dbs.jobs.migration_status().await?,
        dbs.app.migration_status().await?,
    );
    let show = |(j, a): &(
        specline_queue::store::MigrationStatus,
        specline_app::store::AppMigrationStatus,
    )| {
        format!(
            "engine version {}, application version {}",
            j.current, a.current
        )
    };
    if before == after {
        println!("schema is current ({}) in {}", show(&after), dbs.describe);
    } else {
        println!(
            "migrated {} from ({}) to ({})",
            dbs.describe,
            show(&before),
            show(&after)
        );
    }
    Ok(())
}

//! Opening the database a binary's settings name: the job store and the application store,
//! on the same PostgreSQL schema or SQLite file.

use std::sync::Arc;

use anyhow::{bail, Context};
use specline_app::store::{ApiStore, AppStore, PgAppStore, SqliteAppStore};
use specline_queue::store::{PgConfig, PgStore, SqliteConfig, SqliteStore, Store};
use specline_settings::DatabaseTarget;

/// Both stores of one database.
#[derive(Clone)]
pub struct Databases {
    pub jobs: Arc<dyn Store>,
    pub app: Arc<dyn AppStore>,
    /// The API's tables (tokens, owners' runs), in the same database.
    pub api: Arc<dyn ApiStore>,
    /// A printable description with no credentials (`postgres schema public at host:5432`).
    pub describe: String,
}

/// Connect (lazily for PostgreSQL: connections open on first use).
pub async fn open(target: &DatabaseTarget) -> anyhow::Result<Databases> {
    match target {
        DatabaseTarget::Postgres {
            url,
            schema,
            pool_size,
            ca_file,
        } => {
            let mut config = PgConfig::new(url.expose())
                .schema(schema)
                .pool_size(*pool_size);
            if let Some(ca) = ca_file {
                config = config.ca_file(ca);
            }
            let store = PgStore::connect(config)
                .await
                .context("configuring the PostgreSQL connection")?;
            let app = Arc::new(PgAppStore::new(&store));
            Ok(Databases {
                api: app.clone(),
                app,
                jobs: Arc::new(store),
                describe: format!("PostgreSQL schema `{schema}` at {}", host_of(url.expose())),
            })
        }
        DatabaseTarget::Sqlite { path } => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            let store = SqliteStore::open(SqliteConfig::new(path))
                .await
                .with_context(|| format!("opening {}", path.display()))?;
            let app = Arc::new(SqliteAppStore::new(&store));
            Ok(Databases {
                api: app.clone(),
                app,
                jobs: Arc::new(store),
                describe: format!("SQLite file {}", path.display()),
            })
        }
    }
}

impl Databases {
    /// Create or upgrade the engine's and the application's tables.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        self.jobs
            .migrate()
            .await
            .context("migrating the job engine's tables")?;
        self.app
            .migrate()
            .await
            .context("migrating the application's tables")?;
        Ok(())
    }

    /// Refuse to run on a schema older or newer than this build: a worker on a stale schema
    /// fails in confusing ways later, so it says so at start.
    pub async fn require_current(&self) -> anyhow::Result<()> {
        let jobs = self
            .jobs
            .migration_status()
            .await
            .with_context(|| format!("reaching the database ({})", self.describe))?;
        let app = self
            .app
            .migration_status()
            .await
            .with_context(|| format!("reaching the database ({})", self.describe))?;
        if !jobs.is_current() || !app.is_current() {
            bail!(
                "MIGRATION_REQUIRED: the database schema is at engine version {} / application \
                 version {}, this build needs {} / {}; run `specline migrate` (or the deployment's \
                 migrate job) first",
                jobs.current,
                app.current,
                jobs.latest,
                app.latest
            );
        }
        Ok(())
    }
}

/// `host:port` of a PostgreSQL URL, for messages (never the user or password).
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn descriptions_never_carry_credentials() {
        assert_eq!(
            host_of("postgres://user:s3cret@db.internal:5433/specline?sslmode=require"),
            "db.internal:5433"
        );
        assert_eq!(host_of("postgres://127.0.0.1/x"), "127.0.0.1");
    }
}

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
                describe: format!(
                    "PostgreSQL schema `{schema}` at {}",
                    describe_postgres_url(url.expose())
                ),
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

/// Where a PostgreSQL connection string points, for messages: `host:port` of each host (or
/// the socket directory), and never the user, the password or the options.
///
/// The string is read by the same parser that connects (tokio-postgres), so what is shown is
/// what is used. Cutting the text by hand got it wrong: a password holding `/` or `?` was
/// taken for the host and printed. A string that does not parse is described as such, not
/// shown.
pub fn describe_postgres_url(url: &str) -> String {
    let Ok(config) = url.parse::<tokio_postgres::Config>() else {
        return "an unparseable PostgreSQL URL (not shown)".to_string();
    };
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let name = match host {
                tokio_postgres::config::Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                tokio_postgres::config::Host::Unix(dir) => dir.display().to_string(),
            };
            // One port for all hosts, one per host, or none (the default).
            match ports.get(i).or(ports.first()) {
                Some(port) => format!("{name}:{port}"),
                None => name,
            }
        })
        .collect();
    if hosts.is_empty() {
        "the default PostgreSQL host".to_string()
    } else {
        hosts.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::describe_postgres_url;

    #[test]
    fn descriptions_never_carry_credentials() {
        assert_eq!(
            describe_postgres_url(
                "postgres://user:s3cret@db.internal:5433/specline?sslmode=require"
            ),
            "db.internal:5433"
        );
        // The port is the one that is used, the default when none is written.
        assert_eq!(
            describe_postgres_url("postgres://127.0.0.1/x"),
            "127.0.0.1:5432"
        );
    }

    #[test]
    fn a_password_with_url_delimiters_is_never_shown() {
        for url in [
            "postgres://user:pa/ss@db.internal:5432/specline",
            "postgres://user:pa?ss@db.internal:5432/specline",
            "postgres://user:pa#ss@db.internal:5432/specline",
            "postgresql://user:pa%2Fss@db.internal:5432/specline",
            "postgres://db.internal:5432/specline?user=u&password=pa/ss",
            "host=db.internal port=5432 user=u password=pa/ss",
        ] {
            let shown = describe_postgres_url(url);
            assert!(!shown.contains("pa"), "{url} described as {shown}");
            assert!(!shown.contains("user"), "{url} described as {shown}");
        }
        assert_eq!(
            describe_postgres_url("postgres://user:pa/ss@db.internal:5432/specline"),
            "db.internal:5432"
        );
        assert_eq!(
            describe_postgres_url("postgres://u:pw@h1:5432,h2:5433/db"),
            "h1:5432,h2:5433"
        );
        assert_eq!(
            describe_postgres_url("postgres://u:pw@[not a url"),
            "an unparseable PostgreSQL URL (not shown)"
        );
    }
}

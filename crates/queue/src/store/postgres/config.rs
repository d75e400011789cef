//! How to reach PostgreSQL.

use std::time::Duration;

/// How to reach PostgreSQL. Its `Debug` never shows the URL (it may hold a password).
#[derive(Clone)]
pub struct PgConfig {
    /// `postgres://user@host:port/db`.
    pub url: String,
    /// Schema holding the engine's tables (created by `migrate`). `None`: `public`.
    pub schema: Option<String>,
    /// Connections in the pool (the LISTEN connection is extra).
    pub pool_size: usize,
    /// At most one insert wake-up per queue within this time.
    pub notify_cooldown: Duration,
    /// PEM file of certificate authorities trusted for `sslmode=require`, besides the
    /// public web roots (a managed database's CA, or a private one).
    pub ca_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConfig")
            .field("url", &"<redacted>")
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("notify_cooldown", &self.notify_cooldown)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl PgConfig {
    pub fn new(url: impl Into<String>) -> Self {
        PgConfig {
            url: url.into(),
            schema: None,
            pool_size: 16,
            notify_cooldown: Duration::from_millis(2),
            ca_file: None,
        }
    }
    pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }
    pub fn pool_size(mut self, n: usize) -> Self {
        self.pool_size = n.max(1);
        self
    }
}

/// Whether `s` is usable as a schema name inside quotes and a channel name.
pub(super) fn valid_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 48
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

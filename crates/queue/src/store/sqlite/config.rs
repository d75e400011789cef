//! How to open the SQLite file.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How to open the SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteConfig {
    pub path: PathBuf,
    /// How long a writer waits for another process's lock before failing.
    pub busy_timeout: Duration,
}

impl SqliteConfig {
    pub fn new(path: impl AsRef<Path>) -> Self {
        SqliteConfig {
            path: path.as_ref().to_path_buf(),
            busy_timeout: Duration::from_secs(10),
        }
    }
}

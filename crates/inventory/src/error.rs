//! Errors of the library. Per-file problems are not errors of the scan: they are collected
//! as [`crate::model::FileError`] values in the inventory.

use std::path::PathBuf;

/// Why a scan or a source could not be had at all.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The root to scan does not exist or is not a directory.
    #[error("not a directory: {0}")]
    NotADirectory(PathBuf),
    /// A language or framework definition of this crate does not compile (a bug here).
    #[error("invalid built-in definition: {0}")]
    Definition(String),
    /// Cloning or inspecting a git repository failed. The message never holds a token.
    #[error("git {action} failed: {message}")]
    Git {
        action: &'static str,
        message: String,
    },
    /// An I/O error outside any single file (temp dirs, spawning processes).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// One file took longer than its time budget (only from the single-file API; a scan
    /// records this as a per-file error instead).
    #[error("the file took longer than its time budget")]
    FileTimeout,
}

impl InventoryError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        InventoryError::Io {
            context: context.into(),
            source,
        }
    }
}

//! Errors of the library. Per-file problems are not errors of the scan: they are collected
//! as [`crate::model::FileError`] values in the inventory.

use std::path::PathBuf;

use crate::model::target::TargetError;

/// Why a scan or a source could not be had at all. [`InventoryError::code`] is stable.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The root to scan does not exist or is not a directory.
    #[error("not a directory: {0}")]
    NotADirectory(PathBuf),
    /// The target or ref was refused before anything ran (see [`crate::model::target`]).
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A language or framework definition of this crate does not compile (a bug here).
    #[error("invalid built-in definition: {0}")]
    Definition(String),
    /// Cloning or inspecting a git repository failed. The message never holds a token.
    #[error("git {action} failed: {message}")]
    Git {
        action: &'static str,
        message: String,
    },
    /// A git process took longer than its time limit and was stopped.
    #[error("GIT_TIMEOUT: git {action} took longer than its time limit and was stopped")]
    GitTimeout { action: &'static str },
    /// The remote has no such branch or tag: asking again will not make it appear.
    #[error("REF_NOT_FOUND: the remote has no ref `{0}`")]
    RefNotFound(String),
    /// The clone grew past its disk budget and was stopped.
    #[error("CLONE_TOO_LARGE: the clone grew past its disk budget of {budget} bytes")]
    CloneTooLarge { budget: u64 },
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

    /// The stable code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            InventoryError::NotADirectory(_) => "TARGET_NOT_FOUND",
            InventoryError::Target(e) => e.code(),
            InventoryError::Definition(_) => "DEFINITION_INVALID",
            InventoryError::Git { .. } => "GIT_FAILED",
            InventoryError::GitTimeout { .. } => "GIT_TIMEOUT",
            InventoryError::RefNotFound(_) => "REF_NOT_FOUND",
            InventoryError::CloneTooLarge { .. } => "CLONE_TOO_LARGE",
            InventoryError::Io { .. } => "IO_FAILED",
            InventoryError::FileTimeout => "PARSE_TIMEOUT",
        }
    }

    /// True when the same request can never succeed (a retry would fail the same way).
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            InventoryError::NotADirectory(_)
                | InventoryError::Target(_)
                | InventoryError::Definition(_)
                | InventoryError::RefNotFound(_)
                | InventoryError::CloneTooLarge { .. }
        )
    }
}

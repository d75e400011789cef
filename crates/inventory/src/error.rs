//! Errors of the library. Per-file problems are not errors of the scan: they are collected
//! as [`crate::model::FileError`] values in the inventory.

use std::path::PathBuf;

use specline_error_codes::{codes, CodeSet, ErrorClass, ErrorCode};

use crate::model::target::TargetError;

codes! {
    /// The library's own codes, each once (a refused target keeps its
    /// [`crate::model::target::TargetCode`]).
    pub enum InventoryCode in "specline-inventory" {
        TargetNotFound = ("TARGET_NOT_FOUND", Permanent, "the directory to scan does not exist or is not a directory"),
        DefinitionInvalid = ("DEFINITION_INVALID", Permanent, "a built-in language or framework definition does not compile (a bug)"),
        GitFailed = ("GIT_FAILED", Retryable, "cloning or inspecting a git repository failed (the network may come back)"),
        GitTimeout = ("GIT_TIMEOUT", Retryable, "a git process took longer than its time limit and was stopped"),
        GitRedirected = ("GIT_REDIRECTED", Permanent, "the repository's server answered with a redirect, which is not followed (submit the URL it points to)"),
        RefNotFound = ("REF_NOT_FOUND", Permanent, "the remote has no such branch or tag"),
        CloneTooLarge = ("CLONE_TOO_LARGE", Permanent, "the clone grew past its disk budget"),
        IoFailed = ("IO_FAILED", Retryable, "an I/O error outside any single file (temporary directories, spawning processes)"),
        ParseTimeout = ("PARSE_TIMEOUT", Retryable, "one file took longer than its time budget (single-file API)"),
    }
}

/// Why a scan or a source could not be had at all. [`InventoryError::code`] is stable, one
/// of [`InventoryCode`] or of a refused target's codes.
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
    /// The server answered with a redirect. It is not followed: the place it points to was
    /// never checked by the repository policy ([`crate::pin`]).
    #[error("GIT_REDIRECTED: git {action}: the server answered {status}, a redirect, which is not followed; submit the URL the repository moved to")]
    Redirected { action: &'static str, status: u16 },
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
        match self.kind() {
            Ok(code) => code.as_str(),
            Err(target) => target.code(),
        }
    }

    /// The error's code in the library's list, or the refused target whose code it keeps.
    pub fn kind(&self) -> Result<InventoryCode, &TargetError> {
        Ok(match self {
            InventoryError::NotADirectory(_) => InventoryCode::TargetNotFound,
            InventoryError::Target(e) => return Err(e),
            InventoryError::Definition(_) => InventoryCode::DefinitionInvalid,
            InventoryError::Git { .. } => InventoryCode::GitFailed,
            InventoryError::GitTimeout { .. } => InventoryCode::GitTimeout,
            InventoryError::Redirected { .. } => InventoryCode::GitRedirected,
            InventoryError::RefNotFound(_) => InventoryCode::RefNotFound,
            InventoryError::CloneTooLarge { .. } => InventoryCode::CloneTooLarge,
            InventoryError::Io { .. } => InventoryCode::IoFailed,
            InventoryError::FileTimeout => InventoryCode::ParseTimeout,
        })
    }
}

impl ErrorCode for InventoryError {
    fn code(&self) -> &'static str {
        InventoryError::code(self)
    }

    /// Permanent when the same request can never succeed (a refused target, a missing ref, a
    /// clone over its budget); retryable when the network or the machine may recover.
    fn class(&self) -> ErrorClass {
        match self.kind() {
            // Every code of the list has a fixed class (tested below).
            Ok(code) => code.rule().fixed().unwrap_or(ErrorClass::Permanent),
            Err(target) => target.class(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_and_spelled_screaming_snake() {
        assert_eq!(specline_error_codes::check_codes::<InventoryCode>(), Ok(()));
    }

    #[test]
    fn every_code_has_a_fixed_class() {
        for code in InventoryCode::ALL {
            assert!(code.rule().fixed().is_some(), "{code}");
        }
    }
}

//! Dev-only test support shared by the workspace's integration tests: a throwaway PostgreSQL
//! schema or SQLite file per test, so tests run in parallel against real databases and leave
//! nothing behind.
//!
//! It knows nothing of the stores themselves (it would otherwise depend on `specline-queue`,
//! whose own tests use it), only where the database is and how to clean up after a test.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// The PostgreSQL server tests use: `DATABASE_URL`, or a local default (`scripts/test` starts
/// one when none answers).
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// Fail the test with a message that says what to do: PostgreSQL tests never skip silently.
pub fn pg_unreachable(err: impl std::fmt::Display) -> ! {
    panic!(
        "PostgreSQL at {} must be reachable for these tests (scripts/test starts one): {err}",
        database_url()
    )
}

/// A fresh schema name; the schema itself is created by the store's `migrate` and dropped
/// (with everything in it) when this guard is dropped.
pub struct PgSchema {
    name: String,
}

impl PgSchema {
    pub fn new() -> PgSchema {
        PgSchema {
            name: format!("t_{:016x}", rand::random::<u64>()),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Default for PgSchema {
    fn default() -> Self {
        PgSchema::new()
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let schema = self.name.clone();
        // Drop the schema from a separate thread with its own runtime: Drop cannot await, and
        // the test's runtime may be shutting down.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                if let Ok((c, conn)) =
                    tokio_postgres::connect(&database_url(), tokio_postgres::NoTls).await
                {
                    tokio::spawn(conn);
                    let _ = c
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                        .await;
                }
            });
        })
        .join();
    }
}

/// A SQLite file path in a temporary directory, removed with the directory when dropped.
pub struct TempSqlite {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl TempSqlite {
    pub fn new(file_name: &str) -> TempSqlite {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name);
        TempSqlite { _dir: dir, path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Run `exe` with exactly `env` (nothing inherited) and `args`.
pub fn run_with_env(exe: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(exe)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {exe}: {e}"))
}

/// Assert that a binary refused to start because of its settings: exit status 2 and a
/// message containing `needle` (the variable or the error code).
pub fn assert_refused(out: &std::process::Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
}

/// Runs git for a test's own set-up (not the code under test), failing loudly: no system or
/// global configuration, a fixed author and date, so repositories are alike on every machine.
/// Answers its standard output, trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .env("GIT_AUTHOR_DATE", "2024-05-06T07:08:09Z")
        .env("GIT_COMMITTER_DATE", "2024-05-06T07:08:09Z")
        .output()
        .unwrap_or_else(|e| panic!("git {args:?} did not run: {e}"));
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

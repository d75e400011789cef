//! Shared helpers: environments as maps (never the process environment) and temp files.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

use specline_settings::{Env, LoadOptions};

/// 32 bytes (1..=32), base64.
pub const KEY: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
/// Another valid 32-byte key.
pub const OTHER_KEY: &str = "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=";
/// 16 bytes, base64: well-formed base64, wrong length.
pub const SHORT_KEY: &str = "AAECAwQFBgcICQoLDA0ODw==";
pub const DB_URL: &str = "postgres://specline:hunter2@db.internal:5432/specline";

pub fn env(vars: &[(&str, &str)]) -> Env {
    Env::from_map(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

pub fn opts(vars: &[(&str, &str)]) -> LoadOptions {
    LoadOptions::new(env(vars))
}

/// A settings file in a fresh temp dir (kept alive by the returned guard).
pub fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("specline.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

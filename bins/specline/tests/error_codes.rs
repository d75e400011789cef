//! `docs/error-codes.md` is what `specline errors` prints: the table cannot drift from the
//! crates' code lists. Rewrite it with `cargo run -p specline -- errors > docs/error-codes.md`.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn the_committed_error_table_is_what_specline_errors_prints() {
    let out = Command::new(env!("CARGO_BIN_EXE_specline"))
        .arg("errors")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/error-codes.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == printed,
        "docs/error-codes.md differs from `specline errors`; rewrite it with \
         `cargo run -p specline -- errors > docs/error-codes.md`"
    );
}

#[test]
fn the_table_lists_every_crate_and_classes_the_codes() {
    let out = Command::new(env!("CARGO_BIN_EXE_specline"))
        .arg("errors")
        .output()
        .unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    for row in [
        "| specline-queue | `PANIC` | retryable |",
        "| specline-inventory-model | `CREDENTIALS_IN_URL` | permanent |",
        "| specline-inventory | `GIT_TIMEOUT` | retryable |",
        "| specline-settings | `DECRYPT_FAILED` | permanent |",
        "| specline-specdoc | `CLASSIFY_FAILED` | varies: ",
        "| specline-specdoc (provider) | `CIRCUIT_OPEN` | snooze |",
        "| specline-app | `APP_DB` | retryable |",
        "| specline-api | `RATE_LIMITED` | snooze |",
        "| specline-deploy-check | `DEPLOY_LITERAL_SECRET` | permanent |",
    ] {
        assert!(printed.contains(row), "no row starting {row}");
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Whether an error is worth retrying is decided once, by the error's `ErrorCode::class`, and
/// the engine's one conversion applies it: the binaries and the application crate never build
/// a retryable or permanent `JobError` of their own.
#[test]
fn no_binary_maps_errors_to_job_errors_by_hand() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(root.join("bins")).unwrap() {
        let src = dir.unwrap().path().join("src");
        if src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    rust_files(&root.join("crates/app/src"), &mut files);
    assert!(files.len() > 10, "found only {files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for needle in ["JobError::permanent(", "JobError::retryable("] {
            assert!(
                !text.contains(needle),
                "{} builds `{needle}…)` by hand; return a coded error (ErrorCode) with `?`",
                file.display()
            );
        }
    }
}

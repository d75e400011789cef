//! `docs/error-codes.md` is what `specline errors` prints: the table cannot drift from the
//! crates' code lists. Rewrite it with `cargo run -p specline -- errors > docs/error-codes.md`.
#![allow(clippy::unwrap_used)]

use std::path::Path;
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
    ] {
        assert!(printed.contains(row), "no row starting {row}");
    }
}

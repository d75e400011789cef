//! `specline-enqueue` refuses to run without a database, naming the variable; bad input is
//! refused before anything is stored.
#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn without_a_database_url_it_names_the_variable() {
    let out = Command::new(env!("CARGO_BIN_EXE_specline-enqueue"))
        .args(["job", "list"])
        .env_clear()
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("SPECLINE_DATABASE__URL"), "{err}");
}

#[test]
fn an_unknown_command_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_specline-enqueue"))
        .arg("frobnicate")
        .env_clear()
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("frobnicate"));
}

//! `specline-scheduler` refuses to start without its settings, naming the key.
#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn without_a_database_url_or_with_a_bad_interval_it_names_the_variable() {
    for (env, needle) in [
        (vec![], "SPECLINE_DATABASE__URL"),
        (
            vec![
                ("SPECLINE_DATABASE__URL", "postgres://u@127.0.0.1:1/none"),
                ("SPECLINE_SCHEDULER__RESCUE_AFTER_SECS", "1"),
            ],
            "SPECLINE_SCHEDULER__RESCUE_AFTER_SECS",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_specline-scheduler"))
            .env_clear()
            .envs(env)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(needle), "expected {needle:?} in: {err}");
    }
}

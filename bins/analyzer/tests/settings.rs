//! `specline-analyzer` refuses to start without its settings, naming the key.
#![allow(clippy::unwrap_used)]

use std::process::Output;

use specline_testkit::{assert_refused as refused, run_with_env};

fn analyzer(env: &[(&str, &str)]) -> Output {
    run_with_env(env!("CARGO_BIN_EXE_specline-analyzer"), &[], env)
}

const URL: &str = "postgres://specline@127.0.0.1:1/none";

#[test]
fn without_a_database_url_it_names_the_variable() {
    refused(&analyzer(&[]), "SPECLINE_DATABASE__URL");
}

#[test]
fn without_the_encryption_key_it_names_the_variable() {
    refused(
        &analyzer(&[("SPECLINE_DATABASE__URL", URL)]),
        "SPECLINE_SECURITY__ENCRYPTION_KEY",
    );
}

#[test]
fn a_malformed_key_is_invalid_and_never_echoed() {
    let out = analyzer(&[
        ("SPECLINE_DATABASE__URL", URL),
        ("SPECLINE_SECURITY__ENCRYPTION_KEY", "not-a-key-s3cr3t"),
    ]);
    refused(&out, "SETTINGS_INVALID");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SPECLINE_SECURITY__ENCRYPTION_KEY"), "{err}");
    assert!(!err.contains("s3cr3t"), "the secret was echoed: {err}");
}

#[test]
fn strict_mode_turns_a_misspelled_variable_into_an_error() {
    let out = run_with_env(
        env!("CARGO_BIN_EXE_specline-analyzer"),
        &["--strict"],
        &[
            ("SPECLINE_DATABASE__URL", URL),
            (
                "SPECLINE_SECURITY__ENCRYPTION_KEY",
                "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
            ),
            ("SPECLINE_ANALYZER__CONCURENCY", "2"),
        ],
    );
    refused(&out, "SETTINGS_UNKNOWN");
    assert!(String::from_utf8_lossy(&out.stderr).contains("SPECLINE_ANALYZER__CONCURRENCY"));
}

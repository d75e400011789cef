//! `specline-spec-generator` refuses to start without its settings, naming the key.
#![allow(clippy::unwrap_used)]

use std::process::Output;

use specline_testkit::{assert_refused as refused, run_with_env};

fn generator(env: &[(&str, &str)]) -> Output {
    run_with_env(env!("CARGO_BIN_EXE_specline-spec-generator"), &[], env)
}

const URL: &str = "postgres://specline@127.0.0.1:1/none";

#[test]
fn without_a_database_url_it_names_the_variable() {
    refused(&generator(&[]), "SPECLINE_DATABASE__URL");
}

#[test]
fn a_hosted_provider_without_a_key_names_the_key() {
    refused(
        &generator(&[
            ("SPECLINE_DATABASE__URL", URL),
            ("SPECLINE_PROVIDER__KIND", "gemini"),
            ("SPECLINE_PROVIDER__MODEL", "gemini-2.5-flash"),
        ]),
        "SPECLINE_PROVIDER__API_KEY",
    );
}

#[test]
fn an_unknown_provider_kind_is_invalid() {
    refused(
        &generator(&[
            ("SPECLINE_DATABASE__URL", URL),
            ("SPECLINE_PROVIDER__KIND", "clippy"),
        ]),
        "SPECLINE_PROVIDER__KIND",
    );
}

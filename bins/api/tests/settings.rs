//! `specline-api` refuses bad settings with exit status 2, naming the variable, before it
//! connects to anything (the database URL points nowhere that answers).
#![allow(clippy::unwrap_used)]

use specline_testkit::{assert_refused, run_with_env};

const NOWHERE: &str = "postgres://specline@127.0.0.1:1/specline";

fn api(env: &[(&str, &str)]) -> std::process::Output {
    run_with_env(env!("CARGO_BIN_EXE_specline-api"), &[], env)
}

#[test]
fn without_a_database_url_it_names_the_variable() {
    assert_refused(&api(&[]), "SPECLINE_DATABASE__URL");
}

#[test]
fn an_unknown_scheme_or_proxy_is_refused_before_connecting() {
    assert_refused(
        &api(&[
            ("SPECLINE_DATABASE__URL", NOWHERE),
            ("SPECLINE_REPOSITORY_POLICY__ALLOWED_SCHEMES", "https,ftp"),
        ]),
        "SPECLINE_REPOSITORY_POLICY__ALLOWED_SCHEMES",
    );
    assert_refused(
        &api(&[
            ("SPECLINE_DATABASE__URL", NOWHERE),
            ("SPECLINE_API__AUTH", "gateway"),
        ]),
        "SPECLINE_API__GATEWAY_TRUSTED_PROXIES",
    );
}

//! The operator commands refuse meaningless input with a code instead of guessing: an empty
//! idempotency key, a zero or out-of-range `--limit`, limit overrides that are not limit
//! values or name no limited kind; a valid limit returns exactly that many.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Command, Output};

use support::assert_succeeded;

fn admin(data: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_specline"))
        .arg("admin")
        .args(args)
        .env_remove("SPECLINE_DATABASE__URL")
        .env("SPECLINE_LOCAL__DATA_DIR", data)
        .output()
        .unwrap()
}

fn refused(out: &Output, code: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "accepted: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.contains(code), "expected {code} in: {err}");
}

#[test]
fn an_empty_or_blank_idempotency_key_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let target = repo.path().to_str().unwrap();
    for key in ["", "   ", "a\u{1b}b", &"k".repeat(201)] {
        let flag = format!("--idempotency-key={key}");
        let out = admin(data.path(), &["analyze", target, &flag]);
        refused(&out, "INVALID_IDEMPOTENCY_KEY");
    }
    let out = admin(
        data.path(),
        &["analyze", target, "--idempotency-key", "nightly-1"],
    );
    assert_succeeded(&out);
}

#[test]
fn limits_are_exact_or_refused() {
    let data = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let target = repo.path().to_str().unwrap();
    for _ in 0..4 {
        let out = admin(data.path(), &["analyze", target]);
        assert_succeeded(&out);
    }
    for listing in [
        &["job", "list"][..],
        &["document", "list"][..],
        &["analysis", "list"][..],
    ] {
        for bad in ["0", "-1", "10001", "many"] {
            let flag = format!("--limit={bad}");
            let mut args = listing.to_vec();
            args.push(&flag);
            refused(&admin(data.path(), &args), "INVALID_LIMIT");
        }
    }
    let out = admin(data.path(), &["job", "list", "--limit", "3"]);
    assert_succeeded(&out);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
}

#[test]
fn limit_overrides_are_checked_before_they_are_stored() {
    let data = tempfile::tempdir().unwrap();
    for bad in [
        "not json",
        "[1]",
        r#"{"concurrency": -1}"#,
        r#"{"concurency": 2}"#,
    ] {
        refused(
            &admin(data.path(), &["limits", "set", "analyze_repository", bad]),
            "INVALID_LIMITS",
        );
    }
    // A well-formed override for a kind no worker declared is refused too.
    refused(
        &admin(
            data.path(),
            &["limits", "set", "no_such_kind", r#"{"concurrency": 2}"#],
        ),
        "LIMIT_NOT_FOUND",
    );
    let out = admin(data.path(), &["limits", "show"]);
    assert_succeeded(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("no limited kinds"));
    let out = admin(data.path(), &["queue", "show", "analyze"]);
    assert_succeeded(&out);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("queue analyze: 0 running, 0 pending"));
}

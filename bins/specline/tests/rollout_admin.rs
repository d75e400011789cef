//! `specline admin rollout ...` (the commands of `specline-enqueue`): a mode that does not
//! parse is refused with its code; a change is stored with who made it, listed, shown with
//! its history and named in the report.
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

fn stdout(out: &Output) -> String {
    assert_succeeded(out);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn an_operator_sets_shows_and_reports_a_rollout() {
    let data = tempfile::tempdir().unwrap();
    for bad in [&["shadow", "2"][..], &["percent", "101"], &["sometimes"]] {
        let mut args = vec!["rollout", "set", "analyze_repository.extract"];
        args.extend_from_slice(bad);
        let out = admin(data.path(), &args);
        assert!(!out.status.success(), "accepted {bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("INVALID_ROLLOUT"), "{err}");
    }
    let out = admin(
        data.path(),
        &[
            "rollout",
            "set",
            "analyze_repository.extract",
            "shadow",
            "0.5",
            "--by",
            "alice",
        ],
    );
    assert_eq!(
        stdout(&out).lines().next().unwrap(),
        "rollout analyze_repository.extract: off -> shadow 0.5 (running workers follow within seconds)"
    );
    let out = admin(
        data.path(),
        &[
            "rollout",
            "set",
            "analyze_repository.extract",
            "percent",
            "10",
            "--by",
            "bob",
        ],
    );
    assert!(stdout(&out).contains("shadow 0.5 -> percent 10"));
    assert_eq!(
        stdout(&admin(data.path(), &["rollout", "show"])),
        "analyze_repository.extract: percent 10\n"
    );
    let shown = stdout(&admin(
        data.path(),
        &["rollout", "show", "analyze_repository.extract"],
    ));
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 3, "{shown}");
    assert_eq!(lines[0], "analyze_repository.extract: percent 10");
    assert!(
        lines[1].ends_with("shadow 0.5 -> percent 10  by bob"),
        "{shown}"
    );
    assert!(lines[2].ends_with("off -> shadow 0.5  by alice"), "{shown}");
    let report = stdout(&admin(
        data.path(),
        &["rollout", "report", "analyze_repository.extract"],
    ));
    assert!(
        report.starts_with("rollout analyze_repository.extract: percent 10 (set by bob at "),
        "{report}"
    );
    assert!(
        report.contains("shadow results: 0 (the latest, at most 10000)"),
        "{report}"
    );
    assert!(
        report.contains("match rate: - (nothing compared)"),
        "{report}"
    );
}

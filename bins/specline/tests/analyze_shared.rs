//! `specline analyze` on a database shared with other runs serves only its own run
//! (issue 11, item 9): the queued runs of others are neither taken nor failed.
#![allow(clippy::unwrap_used)]

mod support;

use support::{Binaries, PgSchema};

/// `specline admin ARGS` on the shared database; its standard output.
fn admin(bins: &Binaries, env: &[(String, String)], args: &[&str]) -> String {
    let out = bins
        .command("specline", env)
        .arg("admin")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "specline admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Queue three runs of others (no worker serves them), run `analyze` on the same database,
/// and check that the others' jobs were not touched.
fn others_stay_untouched(bins: &Binaries, env: &[(String, String)]) {
    let mut others = Vec::new();
    for _ in 0..3 {
        let submitted = admin(bins, env, &["analyze", "/no/such/dir"]);
        others.push(submitted.trim().strip_prefix("run ").unwrap().to_string());
    }
    let repo = support::git_repo(&[(
        "tests/test_cart.py".into(),
        "def test_adds_an_item():\n    assert True\n".into(),
    )]);
    let work = tempfile::tempdir().unwrap();
    let out_file = work.path().join("spec.md");
    let out = bins
        .command("specline", env)
        .args([
            "analyze",
            &repo.path().display().to_string(),
            "--no-progress",
            "--out",
        ])
        .arg(&out_file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let doc = std::fs::read_to_string(&out_file).unwrap().to_lowercase();
    assert!(doc.contains("adds an item"), "{doc}");

    let jobs: serde_json::Value = serde_json::from_str(&admin(
        bins,
        env,
        &["--json", "job", "list", "--queue", "analyze"],
    ))
    .unwrap();
    let jobs = jobs.as_array().unwrap();
    let waiting: Vec<&serde_json::Value> = jobs
        .iter()
        .filter(|j| others.contains(&j["args"]["run_id"].to_string()))
        .collect();
    assert_eq!(waiting.len(), 3, "{jobs:?}");
    for job in waiting {
        assert_eq!(
            job["state"], "available",
            "another run's job was touched: {job}"
        );
        assert_eq!(job["attempt"], 0, "another run's job was attempted: {job}");
    }
    for run in &others {
        let shown = admin(bins, env, &["run", "show", run]);
        assert!(shown.contains(" running "), "{shown}");
    }
}

#[test]
fn analyze_on_a_shared_sqlite_file_runs_only_its_own_run() {
    let bins = Binaries::locate();
    let data = tempfile::tempdir().unwrap();
    let env = vec![(
        "SPECLINE_LOCAL__DATA_DIR".to_string(),
        data.path().display().to_string(),
    )];
    others_stay_untouched(&bins, &env);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyze_on_a_shared_postgres_database_runs_only_its_own_run() {
    let bins = Binaries::locate();
    let schema = PgSchema::new().await;
    let mut env = schema.env();
    env.push((
        "SPECLINE_SECURITY__ENCRYPTION_KEY".into(),
        support::KEY.into(),
    ));
    bins.migrate(&env);
    tokio::task::block_in_place(|| others_stay_untouched(&bins, &env));
}

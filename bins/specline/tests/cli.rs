//! The `specline` command as a child process.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;

use support::database_url;

fn specline() -> Command {
    Command::new(env!("CARGO_BIN_EXE_specline"))
}

/// Run a command that must succeed; its standard output.
fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn migrate_creates_then_reports_a_current_sqlite_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db/specline.sqlite");
    let migrate = || {
        specline()
            .arg("migrate")
            .env_remove("SPECLINE_DATABASE__URL")
            .env("SPECLINE_DATABASE__SQLITE_PATH", &path)
            .output()
            .unwrap()
    };
    let out = migrate();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        first.starts_with("migrated SQLite file")
            && first.contains("from (engine version 0, application version 0) to (engine version "),
        "unexpected output: {first}"
    );
    let again = String::from_utf8_lossy(&migrate().stdout)
        .trim()
        .to_string();
    assert!(
        again.starts_with("schema is current (engine version "),
        "{again}"
    );
    assert!(path.exists());
}

#[test]
fn migrate_rejects_a_bad_schema_name_with_a_code() {
    let out = specline()
        .arg("migrate")
        .env("SPECLINE_DATABASE__URL", database_url())
        .env("SPECLINE_DATABASE__SCHEMA", "bad;name")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SETTINGS_INVALID"), "{err}");
    assert!(err.contains("SPECLINE_DATABASE__SCHEMA"), "{err}");
}

fn last_line_is_jobs_per_second(stdout: &str) {
    let last = stdout.lines().last().unwrap_or_default();
    let (num, unit) = last.split_once(' ').unwrap();
    assert_eq!(unit, "jobs/s", "{stdout}");
    assert!(num.parse::<f64>().unwrap() > 0.0);
}

#[test]
fn bench_burn_down_on_sqlite_prints_jobs_per_second_last() {
    let stdout = run_ok(specline().args(["bench", "--backend", "sqlite", "--jobs", "3000"]));
    assert!(
        stdout.contains("burn-down: 3000 jobs completed"),
        "{stdout}"
    );
    last_line_is_jobs_per_second(&stdout);
}

#[test]
fn bench_burn_down_on_postgres_prints_jobs_per_second_last() {
    let schema = format!("bench_{:x}", std::process::id());
    let out = specline()
        .args([
            "bench",
            "--backend",
            "postgres",
            "--jobs",
            "3000",
            "--schema",
            &schema,
            "--database-url",
        ])
        .arg(database_url())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    last_line_is_jobs_per_second(&String::from_utf8_lossy(&out.stdout));
}

#[test]
fn bench_latency_reports_percentiles() {
    let stdout = run_ok(specline().args([
        "bench",
        "--backend",
        "sqlite",
        "--latency",
        "--rate",
        "100",
        "--duration",
        "1",
    ]));
    assert!(stdout.contains("(100 jobs)"), "{stdout}");
    assert!(
        stdout.lines().last().unwrap().starts_with("p50 "),
        "{stdout}"
    );
}

#[test]
fn bench_pipeline_reports_runs_per_second_and_event_latency() {
    let stdout =
        run_ok(specline().args(["bench", "--backend", "sqlite", "--pipeline", "--runs", "50"]));
    assert!(
        stdout.contains("pipeline burn-down: 50 three-step runs done"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.ends_with(" runs/s") && !l.starts_with("submitted")),
        "{stdout}"
    );
    assert!(stdout.contains("event delivery over"), "{stdout}");
}

#[test]
fn spec_turns_an_inventory_into_markdown_offline() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inventory.json");
    std::fs::write(
        &inv,
        r#"{"schema_version":1,"parser_version":"0.1.0","source":{"location":"demo"},
            "files":[{"path":"src/auth/login.test.ts","language":"typescript","framework":"jest",
              "suites":[{"name":"login","location":{"start_line":1,"start_column":1,"end_line":9,"end_column":2},
                "status":"active","suites":[],"tests":[
                  {"name":"rejects an expired password","location":{"start_line":2,"start_column":3,"end_line":4,"end_column":5},"status":"active"}]}],
              "tests":[]}],
            "stats":{"files_seen":1,"test_files":1,"suites":1,"tests":1,"skipped_too_large":0,"skipped_binary":0,"errored":0,"truncated":false,"duration_ms":1}}"#,
    )
    .unwrap();
    let out = specline().arg("spec").arg(&inv).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(md.contains("expired password"), "{md}");
    assert!(md.contains("src/auth/login.test.ts"), "{md}");

    let missing = specline()
        .arg("spec")
        .arg(dir.path().join("nope.json"))
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(!String::from_utf8_lossy(&missing.stderr).trim().is_empty());
}

/// A small git repository with a pytest file, made by the test.
fn sample_repo() -> tempfile::TempDir {
    support::git_repo(&[(
        "tests/test_billing.py".into(),
        "import pytest\n\nclass TestInvoices:\n    def test_rejects_a_negative_amount(self):\n        assert True\n\n    @pytest.mark.skip(reason=\"later\")\n    def test_sends_a_reminder(self):\n        pass\n\ndef test_totals_include_tax():\n    assert 1\n".into(),
    )])
}

#[test]
fn analyze_runs_the_pipeline_on_sqlite_and_writes_the_document() {
    let repo = sample_repo();
    let work = tempfile::tempdir().unwrap();
    let out_file = work.path().join("spec.md");
    let data = work.path().join("data");
    for target in [
        repo.path().display().to_string(),
        format!("file://{}", repo.path().display()),
    ] {
        let out = specline()
            .args(["analyze", &target, "--out"])
            .arg(&out_file)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("analyze_repository: completed"), "{stderr}");
        assert!(stderr.contains("generate_spec_document: done"), "{stderr}");
        assert!(stderr.contains("3 behaviors"), "{stderr}");
        let md = std::fs::read_to_string(&out_file).unwrap().to_lowercase();
        assert!(md.contains("negative amount"), "{md}");
        assert!(md.contains("tests/test_billing.py"), "{md}");
        assert!(data.join("specline.sqlite3").exists());
    }
}

#[test]
fn analyze_of_a_missing_directory_fails_with_a_clear_error() {
    let work = tempfile::tempdir().unwrap();
    let out = specline()
        .args(["analyze", "/definitely/not/here", "--data-dir"])
        .arg(work.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TARGET_NOT_FOUND"), "{stderr}");
}

/// A copy of `deploy/` with `edit` applied to one file.
fn deploy_copy(file: &str, edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let copy = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-r")
        .arg(root.join("."))
        .arg(copy.path())
        .status()
        .unwrap();
    assert!(status.success());
    let path = copy.path().join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = edit(text.clone());
    assert_ne!(edited, text, "the edit changed nothing in {file}");
    std::fs::write(&path, edited).unwrap();
    copy
}

fn doctor(deploy: &std::path::Path) -> std::process::Output {
    specline()
        .args(["doctor", "--no-database", "--deploy"])
        .arg(deploy)
        .env_remove("SPECLINE_DATABASE__URL")
        .output()
        .unwrap()
}

#[test]
fn doctor_passes_on_the_repositorys_deploy_directory() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let out = doctor(&root);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ok    topology"), "{stdout}");
    assert!(stdout.contains("ok    deploy"), "{stdout}");
}

#[test]
fn doctor_fails_on_a_wrong_queue_name_and_on_a_misspelled_variable() {
    let wrong_queue = deploy_copy("k8s/40-analyzer.yaml", |t| {
        t.replace(
            "specline.dev/queues: \"analyze\"",
            "specline.dev/queues: \"analyse\"",
        )
        .replace(
            "specline.dev/queues: analyze",
            "specline.dev/queues: analyse",
        )
    });
    let out = doctor(wrong_queue.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("FAIL  deploy: DEPLOY_QUEUE_MISMATCH"),
        "{stdout}"
    );
    assert!(stdout.contains("analyse"), "{stdout}");

    let misspelled = deploy_copy("compose.yaml", |t| {
        t.replacen(
            "SPECLINE_ANALYZER__CONCURRENCY",
            "SPECLINE_ANALYZER__CONCURENCY",
            1,
        )
    });
    let out = doctor(misspelled.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("DEPLOY_UNKNOWN_VARIABLE"), "{stdout}");
    assert!(
        stdout.contains("did you mean SPECLINE_ANALYZER__CONCURRENCY"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("DOCTOR_FAILED"));
}

/// `--partitions` burns the same jobs down without and with a per-partition limit and
/// prints the share; `--repeat` measures the pair in a fresh database each time and ends
/// with the median of the shares it printed.
#[test]
fn bench_partitions_repeated_ends_with_the_median_share() {
    let stdout = run_ok(specline().args([
        "bench",
        "--backend",
        "sqlite",
        "--jobs",
        "300",
        "--partitions",
        "10",
        "--repeat",
        "3",
    ]));
    let shares: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.strip_suffix("% of unlimited"))
        .map(str::to_string)
        .collect();
    assert_eq!(shares.len(), 3, "{stdout}");
    let backends = stdout
        .lines()
        .filter(|l| l.starts_with("backend: Sqlite"))
        .count();
    let paths: std::collections::HashSet<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("backend: Sqlite"))
        .collect();
    assert_eq!(
        (backends, paths.len()),
        (3, 3),
        "a fresh file each time: {stdout}"
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("partitioned (10 partitions, at most 1 running each): "))
            .count(),
        3,
        "{stdout}"
    );
    let mut sorted: Vec<f64> = shares.iter().map(|s| s.parse().unwrap()).collect();
    sorted.sort_by(f64::total_cmp);
    let want = format!(
        "median of 3: {:.1}% of unlimited (runs: {}%)",
        sorted[1],
        shares.join(" / ")
    );
    assert_eq!(stdout.lines().last(), Some(want.as_str()), "{stdout}");
}

#[test]
fn bench_repeat_needs_partitions_and_fresh_data() {
    for args in [
        &["--repeat", "2"][..],
        &["--repeat", "2", "--partitions", "10", "--keep"][..],
        &["--repeat", "0", "--partitions", "10"][..],
        &["--repeat", "21", "--partitions", "10"][..],
    ] {
        let out = specline()
            .args(["bench", "--backend", "sqlite", "--jobs", "10"])
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--repeat"), "{args:?}: {err}");
    }
}

//! The separate binaries start with only their own settings, serve `/healthz`, `/readyz`
//! and `/metrics`, and stop cleanly on SIGTERM.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::{Binaries, PgSchema, KEY};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_analyzer_starts_with_no_ai_key_and_serves_health_readiness_and_metrics() {
    let bins = Binaries::locate();
    let schema = PgSchema::new().await;
    let mut env = schema.env();
    bins.migrate(&env);
    env.push(("SPECLINE_SECURITY__ENCRYPTION_KEY".into(), KEY.into()));
    let analyzer = bins.start("specline-analyzer", &env).await;
    assert_eq!(analyzer.get("/healthz").unwrap(), (200, "ok\n".to_string()));
    let (status, body) = analyzer.get("/readyz").unwrap();
    assert_eq!(status, 200);
    let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["checks"]["database"]["ok"], true, "{ready}");
    assert_eq!(ready["checks"]["listener"]["ok"], true, "{ready}");
    let (status, metrics) = analyzer.get("/metrics").unwrap();
    assert_eq!(status, 200);
    assert!(
        metrics.contains("specline_jobs_total") && metrics.contains("kind=\"analyze_repository\""),
        "{metrics}"
    );
    analyzer.terminate(Duration::from_secs(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spec_generator_starts_with_no_encryption_key_and_the_scheduler_with_neither() {
    let bins = Binaries::locate();
    let schema = PgSchema::new().await;
    let env = schema.env();
    bins.migrate(&env);
    let generator = bins.start("specline-spec-generator", &env).await;
    let scheduler = bins.start("specline-scheduler", &env).await;
    let (_, body) = scheduler.get("/readyz").unwrap();
    assert!(body.contains("\"scheduler\":{\"ok\":true}"), "{body}");
    let logs = generator.terminate(Duration::from_secs(20)).await;
    assert!(!logs.contains("ENCRYPTION_KEY"), "{logs}");
    scheduler.terminate(Duration::from_secs(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_refuses_an_unmigrated_database_with_a_clear_message() {
    let bins = Binaries::locate();
    let schema = PgSchema::new().await;
    let mut env = schema.env();
    env.push(("SPECLINE_SECURITY__ENCRYPTION_KEY".into(), KEY.into()));
    let out = bins
        .command("specline-analyzer", &env)
        .env(
            "SPECLINE_HTTP__LISTEN",
            format!("127.0.0.1:{}", support::free_port()),
        )
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("MIGRATION_REQUIRED"), "{err}");
    assert!(err.contains("specline migrate"), "{err}");
}

/// `specline admin ARGS` on the data directory of `env`; must succeed; its stdout.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_workers_and_scheduler_in_one_process_on_sqlite() {
    let bins = Binaries::locate();
    let data = tempfile::tempdir().unwrap();
    let env = vec![(
        "SPECLINE_LOCAL__DATA_DIR".to_string(),
        data.path().display().to_string(),
    )];
    let serve = bins.start_with("specline", &["serve"], &env).await;
    let (_, ready) = serve.get("/readyz").unwrap();
    assert!(ready.contains("\"scheduler\":{\"ok\":true}"), "{ready}");

    // Another process submits to the same SQLite file; the server's worker picks it up.
    let repo = support::git_repo(&[(
        "tests/test_cart.py".into(),
        "def test_adds_an_item():\n    assert True\n\ndef test_removes_an_item():\n    assert True\n"
            .into(),
    )]);
    let submitted = admin(
        &bins,
        &env,
        &["analyze", &repo.path().display().to_string()],
    );
    let run_id = submitted
        .trim()
        .strip_prefix("run ")
        .unwrap_or_else(|| panic!("{submitted}"))
        .to_string();
    let started = std::time::Instant::now();
    loop {
        let shown = admin(&bins, &env, &["run", "show", &run_id]);
        if shown.contains(" done ") {
            break;
        }
        assert!(!shown.contains(" failed "), "{shown}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not done: {shown}\n{}",
            serve.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let docs = admin(&bins, &env, &["document", "list"]);
    assert!(docs.contains("v1 2 behaviors, offline"), "{docs}");
    let (_, metrics) = serve.get("/metrics").unwrap();
    assert!(metrics.contains("kind=\"convert_behaviors\""), "{metrics}");
    serve.terminate(Duration::from_secs(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_cancels_resumes_and_lists_runs_and_jobs() {
    let bins = Binaries::locate();
    let data = tempfile::tempdir().unwrap();
    let env = vec![(
        "SPECLINE_LOCAL__DATA_DIR".to_string(),
        data.path().display().to_string(),
    )];
    // No worker runs: the run waits in its first step.
    let submitted = admin(&bins, &env, &["analyze", "/no/such/dir"]);
    let run_id = submitted.trim().strip_prefix("run ").unwrap().to_string();
    let jobs = admin(&bins, &env, &["job", "list", "--queue", "analyze"]);
    assert!(
        jobs.contains("analyze_repository") && jobs.contains("available"),
        "{jobs}"
    );
    let cancelled = admin(&bins, &env, &["run", "cancel", &run_id]);
    assert!(cancelled.contains("cancelled"), "{cancelled}");
    let shown = admin(&bins, &env, &["run", "show", &run_id]);
    assert!(shown.contains(" failed "), "{shown}");
    admin(&bins, &env, &["run", "resume", &run_id]);
    let shown = admin(&bins, &env, &["run", "show", &run_id]);
    assert!(shown.contains(" running "), "{shown}");
    let events = admin(&bins, &env, &["run", "events", &run_id]);
    assert!(events.contains("analyze_repository: failed"), "{events}");
    assert!(
        events.matches("analyze_repository: queued").count() >= 2,
        "{events}"
    );
    // Bad input gets a coded error, not a panic or a misleading code.
    for (args, code) in [
        (&["job", "list", "--state", "bogus"][..], "INVALID_STATE"),
        (&["run", "show", "999"][..], "RUN_NOT_FOUND"),
        (&["document", "show", "7"][..], "NOT_FOUND"),
        (&["analyze", ".", "--lang", "!!"][..], "INVALID_LANGUAGE"),
    ] {
        let out = bins
            .command("specline", &env)
            .arg("admin")
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(code),
            "{args:?}: {err}"
        );
    }
    // A URL with credentials is refused before anything is stored.
    let out = bins
        .command("specline", &env)
        .args([
            "admin",
            "analyze",
            "https://user:secret@example.invalid/r.git",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("CREDENTIALS_IN_URL") && !err.contains("secret@"),
        "{err}"
    );
}

/// Owners' fairness weights set for a separate binary are what its worker declares for its
/// kinds (`limits show` lists them); a malformed value stops the binary before it starts,
/// naming the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_worker_declares_the_owner_weights_of_its_settings() {
    let bins = Binaries::locate();
    let schema = PgSchema::new().await;
    let env = schema.env();
    bins.migrate(&env);
    let mut analyzer_env = support::analyzer_env(&env);
    analyzer_env.push((
        "SPECLINE_ANALYZER__OWNER_WEIGHTS".into(),
        "gold=3, silver=2".into(),
    ));
    let mut generator_env = env.clone();
    generator_env.push((
        "SPECLINE_SPEC_GENERATOR__OWNER_WEIGHTS".into(),
        "gold=5".into(),
    ));
    let analyzer = bins.start("specline-analyzer", &analyzer_env).await;
    let generator = bins.start("specline-spec-generator", &generator_env).await;

    // Each worker declares its kinds once it runs; wait until both have.
    let declared_weights = |list: &serde_json::Value, kind: &str| {
        list.as_array()
            .and_then(|all| all.iter().find(|s| s["kind"] == kind))
            .map(|s| s["declared"]["weights"].clone())
    };
    let until = std::time::Instant::now() + Duration::from_secs(30);
    let list = loop {
        let list = support::enqueue_json(&bins, &env, &["limits", "show"]);
        if declared_weights(&list, "analyze_repository").is_some()
            && declared_weights(&list, "convert_behaviors").is_some()
        {
            break list;
        }
        assert!(std::time::Instant::now() < until, "not declared: {list}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        declared_weights(&list, "analyze_repository"),
        Some(serde_json::json!({"gold": 3, "silver": 2})),
        "{list}"
    );
    for kind in ["convert_behaviors", "summarize_document"] {
        assert_eq!(
            declared_weights(&list, kind),
            Some(serde_json::json!({"gold": 5})),
            "{kind}: {list}"
        );
    }
    analyzer.terminate(Duration::from_secs(20)).await;
    generator.terminate(Duration::from_secs(20)).await;

    let mut bad_env = support::analyzer_env(&env);
    bad_env.push(("SPECLINE_ANALYZER__OWNER_WEIGHTS".into(), "gold=0".into()));
    let mut child = bins
        .command("specline-analyzer", &bad_env)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let until = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() >= until {
            child.kill().unwrap();
            panic!("the analyzer started with a malformed owner_weights");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success(), "{err}");
    assert!(
        err.contains("SETTINGS_INVALID") && err.contains("analyzer.owner_weights"),
        "{err}"
    );
}

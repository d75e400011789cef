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

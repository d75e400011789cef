//! `/healthz`, `/readyz` and `/metrics` on a binary's own port.
//!
//! - `/healthz`: the process is up and its runtime answers (liveness: restart me if not).
//! - `/readyz`: the database answers within two seconds with current schemas (the engine's
//!   and the application's), and the wake-up listener is connected (readiness: send me work
//!   only if so). The body is JSON naming each check, so an operator sees *which* one failed.
//! - `/metrics`: the Prometheus text format of the engine's and the binary's metrics, and
//!   the queue gauges the maintenance leader stores (read from the database every
//!   [`GAUGE_READ_INTERVAL`], the same values on every binary: see `specline_queue::gauges`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::db::Databases;

/// How often a binary serving `/metrics` reads the stored queue gauges (the leader measures
/// at the same default interval).
pub const GAUGE_READ_INTERVAL: Duration = Duration::from_secs(5);

/// A readiness check of the binary's own (e.g. "the maintenance loop is alive").
pub type Check = Arc<dyn Fn() -> bool + Send + Sync>;

/// Install the process-wide Prometheus recorder. Call it before starting workers: the
/// engine registers its metric handles when a worker starts.
pub fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)
        .map_err(|e| anyhow::anyhow!("installing the metrics recorder: {e}"))?;
    // Histograms are kept as windows that need draining now and then.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

#[derive(Clone)]
struct AppState {
    dbs: Databases,
    metrics: PrometheusHandle,
    checks: Vec<(&'static str, Check)>,
}

/// The running server; dropping it does not stop it, [`HealthServer::stop`] does.
pub struct HealthServer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl HealthServer {
    pub fn stop(self) {
        self.task.abort();
    }
}

/// The `/healthz`, `/readyz` and `/metrics` routes, for a binary that serves them beside
/// routes of its own on one port (the API).
pub fn router(
    dbs: Databases,
    metrics: PrometheusHandle,
    checks: Vec<(&'static str, Check)>,
) -> Router {
    // The task lives as long as the process (a binary serves one router).
    drop(specline_queue::gauges::spawn_export(
        dbs.jobs.clone(),
        GAUGE_READ_INTERVAL,
    ));
    let state = AppState {
        dbs,
        metrics,
        checks,
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(state)
}

/// Bind `listen` and serve. Fails at once (with the address) if the port is taken.
pub async fn serve(
    listen: SocketAddr,
    dbs: Databases,
    metrics: PrometheusHandle,
    checks: Vec<(&'static str, Check)>,
) -> anyhow::Result<HealthServer> {
    serve_router(listen, router(dbs, metrics, checks)).await
}

/// Bind `listen` and serve `app` (with the peer address available to handlers, for the
/// API's trusted-proxy check). Fails at once (with the address) if the port is taken.
pub async fn serve_router(listen: SocketAddr, app: Router) -> anyhow::Result<HealthServer> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding the health and metrics listener on {listen}"))?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "health and metrics server stopped");
        }
    });
    tracing::info!(%addr, "serving HTTP");
    Ok(HealthServer { addr, task })
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Both schemas a binary uses, the engine's and the application's, current and answering
/// within two seconds. (Checking only the engine's let a binary report ready on a database
/// whose application tables were never migrated.)
async fn schema_check(dbs: &Databases) -> serde_json::Value {
    let both = async {
        (
            dbs.jobs.migration_status().await,
            dbs.app.migration_status().await,
        )
    };
    match tokio::time::timeout(Duration::from_secs(2), both).await {
        Ok((Ok(engine), Ok(app))) if engine.is_current() && app.is_current() => {
            json!({"ok": true})
        }
        Ok((Ok(engine), Ok(app))) => json!({"ok": false, "error": format!(
            "engine schema at version {} of {}, application schema at version {} of {}; \
             run specline migrate",
            engine.current, engine.latest, app.current, app.latest)}),
        Ok((Err(e), _)) => json!({"ok": false, "error": format!("engine: {e}")}),
        Ok((_, Err(e))) => json!({"ok": false, "error": format!("application: {e}")}),
        Err(_) => json!({"ok": false, "error": "no answer within 2s"}),
    }
}

async fn readyz(State(s): State<AppState>) -> Response {
    let database = schema_check(&s.dbs).await;
    let mut ok = database["ok"] == true;
    let listener = s.dbs.jobs.wakeups_alive();
    ok &= listener;
    let mut checks = serde_json::Map::new();
    checks.insert("database".into(), database);
    checks.insert("listener".into(), json!({ "ok": listener }));
    for (name, check) in &s.checks {
        let passed = check();
        ok &= passed;
        checks.insert((*name).into(), json!({ "ok": passed }));
    }
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(json!({"ready": ok, "checks": checks}))).into_response()
}

async fn metrics_text(State(s): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
}

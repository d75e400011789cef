//! `specline-api`: the HTTP API and the web UI, beside `/healthz`, `/readyz` and `/metrics` on
//! one port.
//!
//! Settings: `[database]`, `[http]`, `[api]`, `[repository_policy]`, and `[security]` only
//! to encrypt submitted access tokens (see docs/settings.md). It links no Tree-sitter and
//! no AI client (`scripts/check-deps`).

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use specline_api::ApiState;
use specline_service::{db, http, CommonArgs};
use specline_settings::ApiSettings;

/// Specline's HTTP API.
#[derive(Parser)]
#[command(name = "specline-api", version)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    specline_service::main("specline-api", &cli.common, |s: ApiSettings| async move {
        let dbs = db::open(&s.database.target(std::path::Path::new("."))).await?;
        dbs.require_current().await?;
        let state = ApiState::from_settings(&dbs, &s.api, &s.repository_policy, &s.security)
            .context("configuring the API")?;
        let metrics = http::install_metrics()?;
        let app = specline_web::with_api(state).merge(http::router(dbs.clone(), metrics, vec![]));
        let server = http::serve_router(s.http.listen, app).await?;
        eprintln!(
            "specline-api: serving the API and the web UI on http://{} ({})",
            server.addr, dbs.describe
        );
        specline_service::signal::shutdown().await;
        server.stop();
        Ok(())
    })
}

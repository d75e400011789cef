//! The pages, one module per page, and the router that serves them.

pub mod admin;
pub mod admin_runs;
pub mod analysis;
pub mod charts;
pub mod document;
pub mod error;
pub mod home;
pub mod job;
pub mod jobs;
pub mod queues;
pub mod run;
pub mod run_badge;
pub mod run_steps;
pub mod runs;
pub mod sign_in;

use axum::routing::{get, post};
use axum::Router;

use crate::WebState;

/// Every page of the UI and its assets, with the security headers.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(home::show).post(home::submit))
        .route("/runs", get(runs::list))
        .route("/runs/{id}", get(run::show))
        .route("/runs/{id}/cancel", post(run::cancel))
        .route("/runs/{id}/resume", post(run::resume))
        .route("/analyses/go", get(analysis::go))
        .route("/analyses/{id}", get(analysis::show))
        .route("/documents/{id}/diff", get(document::diff::show))
        .route("/documents/{id}/cost", get(document::cost::show))
        .route("/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/admin/jobs", get(jobs::show))
        .route("/admin/jobs/actions", post(jobs::act))
        .route("/admin/jobs/{id}", get(job::show))
        .route("/admin/queues", get(queues::show))
        .route("/admin/queues/{name}", post(queues::pause))
        .route("/admin/runs", get(admin_runs::show))
        .route("/assets/{name}", get(crate::assets::serve))
        .layer(axum::middleware::from_fn(crate::security::headers))
        .with_state(state)
}

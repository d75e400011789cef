//! The OpenAPI document, generated from the handlers' annotations (utoipa), served at
//! `/api/openapi.json` and committed as `docs/openapi.json` (a test fails when they differ).

use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{
    admin, analyses, badge, diff, documents, events, limits, rollouts, runs, submit,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Specline API", description = "Submit repositories, follow runs live, read test inventories and spec documents. Errors are JSON `{code, message}`."),
    paths(
        submit::submit, runs::list, runs::show, runs::result, events::stream,
        analyses::repositories, analyses::list, analyses::show, analyses::tree, diff::show,
        badge::set, badge::svg,
        documents::list, documents::latest, documents::show, documents::export, documents::diff,
        admin::jobs, admin::job, admin::bulk, admin::queues, admin::pause, admin::watched,
        limits::list, limits::set,
        rollouts::list, rollouts::show, rollouts::set,
    ),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&Bearer),
    tags(
        (name = "analyses", description = "Submit repositories; read their analyses"),
        (name = "runs", description = "Follow runs: state, live events, result"),
        (name = "documents", description = "Spec documents and their versions"),
        (name = "admin", description = "Jobs, queues, limits, rollouts and watched repositories (admin tokens only)"),
    )
)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The spec as pretty JSON (what `docs/openapi.json` holds).
pub fn json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

pub async fn serve() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        json(),
    )
}

//! `specline-api`: the HTTP front door of Specline.
//!
//! A client submits a repository (`POST /api/v1/analyses`), follows the run live
//! (`GET /api/v1/runs/{id}/events`, Server-Sent Events), and reads the result, the
//! inventory and the spec document. The API is thin by design: it calls the same engine
//! client and application store as the operator tools and adds only authentication,
//! owners, limits and rendering.
//!
//! - [`auth`]: every request acts as an owner (API tokens or a trusted gateway);
//! - [`access`]: every read checks the owner and answers 404 otherwise, never 403;
//! - [`error`]: every error is JSON `{code, message}` with a stable code;
//! - [`limits`]: body size, submission rate, concurrent streams, route timeouts;
//! - [`hub`]: one follower per run fanned out to every subscriber, bounded per subscriber;
//! - [`routes`]: one module per resource; [`openapi`]: the spec, generated from the code.
//!
//! It links no Tree-sitter and no AI client (`scripts/check-deps` checks it).

pub mod access;
pub mod auth;
pub mod body;
mod codes;
pub mod config;
pub mod error;
pub mod event;
pub mod hub;
pub mod limits;
pub mod openapi;
mod request_span;
pub mod routes;

use std::sync::Arc;

use axum::Router;
use specline_app::policy::{RepositoryPolicy, Resolve};
use specline_app::store::{ApiStore, AppStore};
use specline_queue::Client;
use specline_settings::TokenCipher;

pub use config::ApiConfig;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub parts: ApiParts,
    pub hub: hub::Hub,
    pub limits: limits::Limits,
}

/// Everything the API needs, from the binary.
pub struct ApiParts {
    pub client: Client,
    pub app: Arc<dyn AppStore>,
    pub api: Arc<dyn ApiStore>,
    pub config: ApiConfig,
    pub policy: RepositoryPolicy,
    pub resolver: Arc<dyn Resolve>,
    /// `None` without `security.encryption_key`: submissions with a token are refused.
    pub cipher: Option<TokenCipher>,
}

impl ApiState {
    /// What the state was built from: the engine client, the stores, the settings.
    pub fn parts(&self) -> &ApiParts {
        &self.inner.parts
    }

    pub fn new(parts: ApiParts) -> ApiState {
        let hub = hub::Hub::with_capacity(parts.client.clone(), parts.config.stream_buffer);
        let limits = limits::Limits::new(&parts.config);
        ApiState {
            inner: Arc::new(Inner { parts, hub, limits }),
        }
    }
}

/// Why the API cannot start with its settings.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Policy(#[from] specline_app::policy::PolicyError),
    #[error(transparent)]
    Settings(#[from] specline_settings::SettingsError),
}

impl ApiState {
    /// The state a binary builds from its settings sections and its databases, with the
    /// system resolver.
    pub fn from_settings(
        dbs: &specline_service::db::Databases,
        api: &specline_settings::ApiSection,
        policy: &specline_settings::RepositoryPolicySettings,
        security: &specline_settings::SecuritySettings,
    ) -> Result<ApiState, StartError> {
        let cipher = security
            .encryption_key
            .as_ref()
            .map(TokenCipher::new)
            .transpose()?;
        Ok(ApiState::new(ApiParts {
            client: Client::new(dbs.jobs.clone()),
            app: dbs.app.clone(),
            api: dbs.api.clone(),
            config: ApiConfig::from_settings(api)?,
            policy: RepositoryPolicy::from_settings(policy)?,
            resolver: Arc::new(specline_app::policy::SystemResolver),
            cipher,
        }))
    }
}

/// The API's routes (`/api/v1/...` and `/api/openapi.json`), with its limits applied.
/// Merge it with `specline_service::http::router` to serve health and metrics beside it.
pub fn router(state: ApiState) -> Router {
    routes::router(state)
}

//! `specline-web`: the web UI, server-rendered HTML over the same state, owner checks and
//! store calls as the HTTP API, so a page shows exactly what the API would answer.
//!
//! - [`session`]: sign-in with an API token kept in an HttpOnly, SameSite=Strict cookie (or
//!   the gateway's header), and the CSRF token every form carries;
//! - [`security`]: the Content-Security-Policy and the other headers on every page;
//! - [`assets`]: CSS and JavaScript embedded in the binary, served under content-hashed names;
//! - [`layout`]: the page frame (navigation, sign-out); [`pages`]: one module per page.
//!
//! There is no front-end build step: `cargo build` produces the whole UI. Templates are
//! `maud` macros, checked at compile time; the only script is `assets/app.js`.

pub mod assets;
pub mod layout;
pub mod pages;
pub mod security;
pub mod session;

use std::sync::Arc;

use axum::Router;
use specline_api::ApiState;

/// What every page handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct WebState {
    pub api: ApiState,
    pub(crate) inner: Arc<WebInner>,
}

pub(crate) struct WebInner {
    /// Keys the CSRF tokens of this process (random per start: a restart only makes open
    /// forms ask to be submitted again).
    pub csrf_key: [u8; 32],
    pub assets: assets::Assets,
}

impl WebState {
    pub fn new(api: ApiState) -> WebState {
        let mut csrf_key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut csrf_key);
        WebState {
            api,
            inner: Arc::new(WebInner {
                csrf_key,
                assets: assets::Assets::embedded(),
            }),
        }
    }
}

/// The UI's routes (`/`, `/sign-in`, `/runs/{id}`, ..., `/assets/...`), with the security
/// headers. Merge it with `specline_api::router` on the same state: the pages' scripts use
/// the API's routes (the live stream) with the session cookie.
pub fn router(api: ApiState) -> Router {
    pages::router(WebState::new(api))
}

/// The API's routes and the UI's on one router: what `specline-api` and `specline serve`
/// serve.
pub fn with_api(api: ApiState) -> Router {
    specline_api::router(api.clone()).merge(router(api))
}

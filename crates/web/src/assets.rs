//! The UI's CSS and JavaScript, embedded in the binary at compile time and served under
//! names that carry a hash of their content (`app.3f9c….css`), so browsers may cache them
//! for a year: a new build has new names.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::WebState;

/// One embedded file.
pub struct Asset {
    /// The name pages link to: `stem.hash.ext`.
    pub name: String,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

/// Every embedded file.
pub struct Assets {
    pub css: Asset,
    pub js: Asset,
}

impl Asset {
    fn new(stem: &str, ext: &str, content_type: &'static str, body: &'static [u8]) -> Asset {
        let hash = hex::encode(&Sha256::digest(body)[..6]);
        Asset {
            name: format!("{stem}.{hash}.{ext}"),
            content_type,
            body,
        }
    }
}

impl Assets {
    pub fn embedded() -> Assets {
        Assets {
            css: Asset::new(
                "app",
                "css",
                "text/css; charset=utf-8",
                include_bytes!("../assets/app.css"),
            ),
            js: Asset::new(
                "app",
                "js",
                "text/javascript; charset=utf-8",
                include_bytes!("../assets/app.js"),
            ),
        }
    }

    fn by_name(&self, name: &str) -> Option<&Asset> {
        [&self.css, &self.js].into_iter().find(|a| a.name == name)
    }

    /// The path a page links to.
    pub fn css_href(&self) -> String {
        format!("/assets/{}", self.css.name)
    }

    pub fn js_src(&self) -> String {
        format!("/assets/{}", self.js.name)
    }
}

/// `GET /assets/{name}`: immutable for a year (the name changes with the content).
pub async fn serve(State(state): State<WebState>, Path(name): Path<String>) -> Response {
    match state.inner.assets.by_name(&name) {
        Some(asset) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            asset.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}

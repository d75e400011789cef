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

/// Every embedded file: `app.css` and `app.js` on every page, and a page's own files
/// (`<page>.css`, `<page>.js`) linked only by that page.
pub struct Assets {
    files: Vec<(&'static str, Asset)>,
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

/// The embedded files: (logical name, content type, content). Add a page's own files here.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/app.js"),
    ),
    (
        "home.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/home.css"),
    ),
    (
        "run.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/run.css"),
    ),
    (
        "run.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/run.js"),
    ),
    (
        "analysis.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/analysis.css"),
    ),
    (
        "analysis.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/analysis.js"),
    ),
    (
        "jobs.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/jobs.css"),
    ),
];

impl Assets {
    pub fn embedded() -> Assets {
        Assets {
            files: FILES
                .iter()
                .map(|(logical, content_type, body)| {
                    let (stem, ext) = logical.rsplit_once('.').unwrap_or((logical, ""));
                    (*logical, Asset::new(stem, ext, content_type, body))
                })
                .collect(),
        }
    }

    fn by_name(&self, name: &str) -> Option<&Asset> {
        self.files.iter().map(|(_, a)| a).find(|a| a.name == name)
    }

    /// The path a page links to for a logical name (`"run.js"`); `None` for an unknown name.
    pub fn href(&self, logical: &str) -> Option<String> {
        self.files
            .iter()
            .find(|(l, _)| *l == logical)
            .map(|(_, a)| format!("/assets/{}", a.name))
    }

    /// Every embedded file's size in bytes, by logical name (for the page-weight budget).
    pub fn size(&self, logical: &str) -> Option<usize> {
        self.files
            .iter()
            .find(|(l, _)| *l == logical)
            .map(|(_, a)| a.body.len())
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

//! `GET /`: the signed-in owner's start page.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

use crate::layout::{self, Section};
use crate::session::Viewer;
use crate::WebState;

pub async fn show(State(state): State<WebState>, viewer: Viewer) -> Response {
    let content = html! {
        h1 { "Specline" }
        p { "Signed in as " strong { (viewer.owner()) } "." }
    };
    layout::page(&state, &viewer, Section::Home, "Home", content).into_response()
}

//! `GET/POST /sign-in` and `POST /sign-out`.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;
use specline_api::config::AuthMode;

use crate::layout;
use crate::pages::error::PageError;
use crate::session::{safe_next, sign_in_cookie, sign_out_cookie, Viewer};
use crate::WebState;

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct SignInForm {
    token: String,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn form(State(state): State<WebState>, Query(q): Query<NextQuery>) -> Response {
    if matches!(state.api.parts().config.auth, AuthMode::Gateway { .. }) {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    render(&state, q.next.as_deref(), None, StatusCode::OK)
}

fn render(
    state: &WebState,
    next: Option<&str>,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    let next = safe_next(next);
    let content = html! {
        section.card.narrow {
            h1 { "Sign in" }
            p { "Sign in with an API token (an operator makes one with " code { "specline admin token create --owner NAME" } " or " code { "specline-enqueue token create --owner NAME" } ")." }
            @if let Some(problem) = problem {
                p.error role="alert" #sign-in-error { (problem) }
            }
            form method="post" action="/sign-in" {
                input type="hidden" name="next" value=(next);
                label for="token" { "API token" }
                input #token type="password" name="token" required autocomplete="current-password" spellcheck="false" aria-describedby=[problem.map(|_| "sign-in-error")];
                button type="submit" { "Sign in" }
            }
        }
    };
    (status, layout::bare(state, "Sign in", content)).into_response()
}

pub async fn submit(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    if !same_origin(&headers) {
        return PageError::forbidden("sign-in is accepted only from this site's own form")
            .into_response();
    }
    let token = form.token.trim();
    let valid = !token.is_empty()
        && token.len() <= 200
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid
        && specline_api::auth::caller_for_token(&state.api, token)
            .await
            .is_ok()
    {
        if let Some(cookie) = sign_in_cookie(&headers, token) {
            let mut response = Redirect::to(&safe_next(form.next.as_deref())).into_response();
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            return response;
        }
    }
    render(
        &state,
        form.next.as_deref(),
        Some("That token is unknown, revoked or expired."),
        StatusCode::UNAUTHORIZED,
    )
}

pub async fn sign_out(viewer: Viewer, headers: HeaderMap, Form(form): Form<CsrfForm>) -> Response {
    if let Err(refused) = viewer.check_csrf(&form.csrf) {
        return refused.into_response();
    }
    let mut response = Redirect::to("/sign-in").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, sign_out_cookie(&headers));
    response
}

/// A form post from a page of this site: the browser's `Origin` (sent on every POST by
/// current browsers) names the host the request went to. A missing `Origin` is allowed
/// (older clients); SameSite=Strict still keeps the session cookie off cross-site posts.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| !host.is_empty() && rest == host)
}

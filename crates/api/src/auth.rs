//! Who is calling: every request acts as an owner.
//!
//! - **tokens**: `Authorization: Bearer spl_…`; the token's SHA-256 is looked up (only
//!   hashes are stored); unknown, revoked and expired tokens all get the same 401, so a
//!   caller learns nothing about which tokens exist.
//! - **gateway**: a proxy in front authenticates users and names the owner in a header;
//!   the header is believed only from the configured proxy addresses (anyone else could
//!   set it), checked on the TCP peer address, never on a forwarded-for header.
//! - **the web UI's session cookie** ([`SESSION_COOKIE`], HttpOnly, SameSite=Strict) holds
//!   the token the user signed in with; it is believed on reads only (`GET`, `HEAD`), so a
//!   page's live stream can follow a run, while every change made with the cookie goes
//!   through the UI's own forms and their CSRF check.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use chrono::Utc;
use specline_app::tokens;

use crate::config::AuthMode;
use crate::error::{ApiCode, ApiError};
use crate::ApiState;

/// The cookie the web UI keeps the signed-in token in.
pub const SESSION_COOKIE: &str = "specline_session";

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub owner: String,
    /// Admin tokens read every owner's data and may use the admin routes.
    pub admin: bool,
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        match &state.inner.parts.config.auth {
            AuthMode::Tokens => by_token(parts, state).await,
            AuthMode::Gateway {
                owner_header,
                trusted,
            } => {
                let peer = parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0.ip().to_canonical());
                if !peer.is_some_and(|ip| trusted.iter().any(|net| net.contains(&ip))) {
                    return Err(ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        ApiCode::UntrustedProxy,
                        "this API accepts requests only through its gateway",
                    ));
                }
                let owner = parts
                    .headers
                    .get(owner_header.as_str())
                    .and_then(|v| v.to_str().ok())
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| {
                        ApiError::unauthenticated(format!("the gateway sent no `{owner_header}`"))
                    })?;
                tokens::validate_owner(owner).map_err(|e| ApiError::unauthenticated(e.0))?;
                Ok(Caller {
                    owner: owner.to_string(),
                    admin: false,
                })
            }
        }
    }
}

async fn by_token(parts: &Parts, state: &ApiState) -> Result<Caller, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        let safe =
            parts.method == axum::http::Method::GET || parts.method == axum::http::Method::HEAD;
        return match session_cookie(&parts.headers) {
            Some(token) if safe => caller_for_token(state, token).await,
            _ => Err(ApiError::unauthenticated(
                "an `Authorization: Bearer` token is required",
            )),
        };
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthenticated("the Authorization header is not `Bearer <token>`")
        })?;
    caller_for_token(state, token).await
}

/// The value of the [`SESSION_COOKIE`] in a request's `Cookie` headers, if any.
pub fn session_cookie(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// The owner a token acts as; unknown, revoked and expired tokens get the same 401.
pub async fn caller_for_token(state: &ApiState, token: &str) -> Result<Caller, ApiError> {
    match state
        .inner
        .parts
        .api
        .token_by_hash(&tokens::hash(token))
        .await?
    {
        Some(t) if t.is_valid_at(Utc::now()) => Ok(Caller {
            owner: t.owner,
            admin: t.admin,
        }),
        _ => Err(ApiError::unauthenticated(
            "the token is unknown, revoked or expired",
        )),
    }
}

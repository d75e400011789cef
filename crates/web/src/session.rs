//! Who is looking at a page, and the CSRF token of their forms.
//!
//! Signing in stores the API token in an HttpOnly (scripts cannot read it), SameSite=Strict
//! (no other site's page sends it) cookie; each request checks the token again, so revoking
//! it signs the user out everywhere at once. `Secure` is set unless the page was asked for
//! by a loopback name (`specline serve` on one machine speaks plain HTTP to `127.0.0.1`).
//! In gateway mode there is no sign-in: the proxy names the owner.
//!
//! Every form that changes something carries a CSRF token: a keyed hash of the session
//! (the token's hash, or the gateway's owner), checked on submit before anything happens.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};
use specline_api::auth::{session_cookie, Caller, SESSION_COOKIE};
use specline_api::config::AuthMode;

use crate::pages::error::PageError;
use crate::WebState;

/// The signed-in viewer of a page.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub caller: Caller,
    /// The CSRF token this viewer's forms carry.
    pub csrf: String,
    /// Gateway mode: the proxy signs users in and out, not this UI.
    pub gateway: bool,
}

impl Viewer {
    pub fn owner(&self) -> &str {
        &self.caller.owner
    }

    pub fn is_admin(&self) -> bool {
        self.caller.admin
    }

    /// Ok when a submitted form's CSRF token is this viewer's.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), PageError> {
        if constant_time_eq(submitted.as_bytes(), self.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(PageError::forbidden(
                "this form has expired or did not come from this site; reload the page and try again",
            ))
        }
    }
}

/// Not signed in: pages redirect to the sign-in page, keeping where the user was going.
pub enum SignInRequired {
    /// Token mode: to the sign-in form, then back to this path.
    Form(String),
    /// Gateway mode: the proxy signs users in, so there is no form to send them to (it
    /// would send them straight back); the page says what the API would (401, its code).
    Gateway(specline_api::error::ApiError),
}

impl IntoResponse for SignInRequired {
    fn into_response(self) -> Response {
        match self {
            SignInRequired::Form(next) => {
                Redirect::to(&format!("/sign-in?next={}", encode_next(&next))).into_response()
            }
            SignInRequired::Gateway(e) => PageError(e).into_response(),
        }
    }
}

impl FromRequestParts<WebState> for Viewer {
    type Rejection = SignInRequired;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let gateway = matches!(state.api.parts().config.auth, AuthMode::Gateway { .. });
        let (caller, identity) = if gateway {
            let caller = Caller::from_request_parts(parts, &state.api)
                .await
                .map_err(SignInRequired::Gateway)?;
            let identity = format!("gateway:{}", caller.owner);
            (caller, identity)
        } else {
            let token =
                session_cookie(&parts.headers).ok_or_else(|| SignInRequired::Form(next.clone()))?;
            let caller = specline_api::auth::caller_for_token(&state.api, token)
                .await
                .map_err(|_| SignInRequired::Form(next.clone()))?;
            (
                caller,
                format!("token:{}", specline_app::tokens::hash(token)),
            )
        };
        Ok(Viewer {
            caller,
            csrf: csrf_token(&state.inner.csrf_key, &identity),
            gateway,
        })
    }
}

/// A keyed hash of the session's identity: forms from another site cannot know it.
pub fn csrf_token(key: &[u8; 32], identity: &str) -> String {
    let mut h = Sha256::new();
    h.update(key);
    h.update(b"specline-csrf\0");
    h.update(identity.as_bytes());
    hex::encode(&h.finalize()[..16])
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether the request named this host by a loopback name (no `Secure` cookie then).
fn loopback_host(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    name == "localhost" || name == "::1" || name.starts_with("127.")
}

/// The `Set-Cookie` value that signs in with `token`.
pub fn sign_in_cookie(headers: &HeaderMap, token: &str) -> Option<HeaderValue> {
    let secure = if loopback_host(headers) {
        ""
    } else {
        "; Secure"
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000{secure}"
    ))
    .ok()
}

/// The `Set-Cookie` value that signs out.
pub fn sign_out_cookie(headers: &HeaderMap) -> HeaderValue {
    let secure = if loopback_host(headers) {
        ""
    } else {
        "; Secure"
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("specline_session=; Path=/; Max-Age=0"))
}

/// Only a path on this site may follow sign-in (never `//evil.example` or `https://...`).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

fn encode_next(next: &str) -> String {
    next.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/runs/4")), "/runs/4");
        assert_eq!(safe_next(Some("//evil.example/x")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn csrf_tokens_differ_by_session_and_key() {
        let (k1, k2) = ([1u8; 32], [2u8; 32]);
        assert_eq!(csrf_token(&k1, "token:a"), csrf_token(&k1, "token:a"));
        assert_ne!(csrf_token(&k1, "token:a"), csrf_token(&k1, "token:b"));
        assert_ne!(csrf_token(&k1, "token:a"), csrf_token(&k2, "token:a"));
    }

    #[test]
    fn secure_cookie_except_on_loopback_names() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        let c = sign_in_cookie(&h, "spl_x").unwrap();
        assert!(!c.to_str().unwrap().contains("Secure"));
        assert!(c.to_str().unwrap().contains("HttpOnly; SameSite=Strict"));
        h.insert(
            header::HOST,
            HeaderValue::from_static("specline.example.com"),
        );
        assert!(sign_in_cookie(&h, "spl_x")
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with("; Secure"));
    }
}

//! Error pages: the same codes as the API's JSON errors, as HTML a person can read.
//! Another owner's run is "not found", exactly like one that does not exist.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use specline_api::error::ApiError;

/// An error a page handler answers with: rendered as an HTML page with its status, code and
/// message (the message never holds a secret). `?` on an API result gives one.
#[derive(Debug)]
pub struct PageError(pub ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> PageError {
        PageError(e)
    }
}

impl PageError {
    pub fn not_found() -> PageError {
        PageError(ApiError::not_found())
    }

    pub fn forbidden(message: &str) -> PageError {
        PageError(ApiError::new(
            StatusCode::FORBIDDEN,
            specline_api::error::ApiCode::CsrfRejected,
            message,
        ))
    }

    pub fn bad_request(message: impl Into<String>) -> PageError {
        PageError(ApiError::bad_request(message))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let e = self.0;
        page(e.status, &e.code, &e.message)
    }
}

/// What page handlers return.
pub type PageResult<T = Response> = Result<T, PageError>;

/// A self-contained page (no state needed): errors can happen before any is at hand.
fn page(status: StatusCode, code: &str, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let message = if status == StatusCode::NOT_FOUND {
        "There is nothing here, or it is not yours."
    } else {
        message
    };
    let body = html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Specline" }
            }
            body {
                main {
                    h1 { (title) }
                    p.error role="alert" { (message) }
                    p { "Code: " code.code { (code) } }
                    p { a href="/" { "Back to Specline" } }
                }
            }
        }
    };
    (status, body).into_response()
}

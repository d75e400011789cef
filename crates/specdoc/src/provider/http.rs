//! What the two HTTP providers share: posting JSON and turning statuses into classified errors.
//!
//! Whatever answers at the base URL is treated as untrusted: redirects are never followed
//! (the key travels in a header, which the HTTP client strips on a cross-host redirect only
//! for `Authorization`, not for Gemini's `x-goog-api-key`), and a body is read only up to
//! [`MAX_RESPONSE_BYTES`], so an endless or huge answer costs a bounded amount of memory.

use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::error::{ProviderError, ProviderErrorCode};

/// The most of a response body that is read (a model's answer is a few hundred kilobytes at
/// most; an error body a few kilobytes).
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// A response whose status was 2xx, with its body.
pub(crate) struct Ok2xx {
    pub body: String,
}

/// Posts `body` and reads the whole response. Non-2xx statuses become errors via
/// `classify_status`; `provider_code` reads the provider's own error code from the body
/// (e.g. OpenAI's `insufficient_quota`).
pub(crate) async fn post_json(
    client: &reqwest::Client,
    url: &str,
    headers: HeaderMap,
    body: &serde_json::Value,
    provider_code: fn(&str) -> Option<ProviderErrorCode>,
) -> Result<Ok2xx, ProviderError> {
    let bytes = serde_json::to_vec(body)
        .map_err(|e| ProviderError::new(ProviderErrorCode::InvalidRequest, e.to_string()))?;
    let resp = client
        .post(url)
        .headers(headers)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(bytes)
        .send()
        .await
        .map_err(transport_error)?;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    if (300..400).contains(&status) {
        let mut e = ProviderError::new(
            ProviderErrorCode::RedirectRefused,
            format!(
                "HTTP {status}: the server answered with a redirect, which is never followed \
                 (the API key would go with it); set the base URL to the final address"
            ),
        );
        e.status = Some(status);
        return Err(e);
    }
    let text = read_capped(resp, MAX_RESPONSE_BYTES).await?;
    if (200..300).contains(&status) {
        return Ok(Ok2xx { body: text });
    }
    let mut err = classify_status(status, &text, provider_code);
    err.retry_after = retry_after;
    Err(err)
}

/// The body, up to `cap` bytes (decoded as UTF-8, lossily); `RESPONSE_TOO_LARGE` beyond.
async fn read_capped(mut resp: reqwest::Response, cap: usize) -> Result<String, ProviderError> {
    let too_large = || {
        ProviderError::new(
            ProviderErrorCode::ResponseTooLarge,
            format!("the response body is larger than {cap} bytes; reading stopped"),
        )
    };
    if resp
        .content_length()
        .is_some_and(|n| n > u64::try_from(cap).unwrap_or(u64::MAX))
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > cap {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

fn transport_error(mut e: reqwest::Error) -> ProviderError {
    // reqwest's message names the URL; keys go in headers, never in URLs, and credentials a
    // base URL might carry are removed here before the URL is shown.
    if let Some(url) = e.url_mut() {
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_query(None);
    }
    let code = if e.is_timeout() {
        ProviderErrorCode::Timeout
    } else {
        ProviderErrorCode::Transport
    };
    ProviderError::new(code, e.to_string())
}

/// Parses a 2xx body; a body that is not the provider's JSON is `INVALID_JSON` (retryable: a
/// proxy or an overloaded server can cut a body short).
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(
    body: &str,
    what: &str,
) -> Result<T, ProviderError> {
    serde_json::from_str(body).map_err(|e| {
        ProviderError::new(
            ProviderErrorCode::InvalidJson,
            format!("malformed {what}: {e}"),
        )
    })
}

/// A header value holding a secret, marked sensitive so the HTTP stack never prints it.
pub(crate) fn secret_header(value: &str) -> Result<reqwest::header::HeaderValue, ProviderError> {
    let mut v = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
        ProviderError::new(
            ProviderErrorCode::Unauthorized,
            "the API key is not a valid header value",
        )
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// The error for a non-2xx status.
pub(crate) fn classify_status(
    status: u16,
    body: &str,
    provider_code: fn(&str) -> Option<ProviderErrorCode>,
) -> ProviderError {
    let code = provider_code(body).unwrap_or(match status {
        401 => ProviderErrorCode::Unauthorized,
        403 => ProviderErrorCode::Forbidden,
        408 => ProviderErrorCode::Timeout,
        429 => ProviderErrorCode::RateLimited,
        s if s >= 500 => ProviderErrorCode::ServerError,
        _ => ProviderErrorCode::InvalidRequest,
    });
    let excerpt: String = body.chars().take(300).collect();
    let mut e = ProviderError::new(code, format!("HTTP {status}: {excerpt}"));
    e.status = Some(status);
    e
}

/// `Retry-After` as seconds (`"7"`) or an HTTP date (`"Wed, 21 Oct 2015 07:28:00 GMT"`).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(86_400.0)));
        }
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// A client with connect and overall timeouts (the per-call timeout in
/// [`crate::reliability`] is the one that counts; this one stops a stuck socket).
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, ProviderError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10).min(timeout))
        .timeout(timeout)
        .build()
        .map_err(|e| ProviderError::new(ProviderErrorCode::InvalidRequest, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn statuses_map_to_codes() {
        let none = |_: &str| None;
        assert_eq!(
            classify_status(401, "", none).code,
            ProviderErrorCode::Unauthorized
        );
        assert_eq!(
            classify_status(403, "", none).code,
            ProviderErrorCode::Forbidden
        );
        assert_eq!(
            classify_status(400, "", none).code,
            ProviderErrorCode::InvalidRequest
        );
        assert_eq!(
            classify_status(404, "", none).code,
            ProviderErrorCode::InvalidRequest
        );
        assert_eq!(
            classify_status(429, "", none).code,
            ProviderErrorCode::RateLimited
        );
        assert_eq!(
            classify_status(503, "", none).code,
            ProviderErrorCode::ServerError
        );
        assert!(classify_status(503, "", none).is_retryable());
        assert!(!classify_status(401, "", none).is_retryable());
    }
}

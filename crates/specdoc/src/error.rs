//! Errors as values, each with a stable machine-readable code.
//!
//! Codes are part of the public contract (the API and the job results show them), so they are
//! `SCREAMING_SNAKE_CASE` strings that never change meaning. Provider errors carry a
//! [`ErrorClass`] so the one retry loop in [`crate::reliability`] can tell a failure worth
//! retrying from one that will fail the same way every time.

use std::time::Duration;

/// Whether trying again could help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorClass {
    /// Rate limits, server errors, timeouts, truncated or invalid model output.
    Retryable,
    /// Bad credentials, an invalid request, a safety block: retrying cannot succeed.
    Permanent,
}

/// What went wrong calling a model provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProviderErrorCode {
    /// HTTP 429 (or Gemini `RESOURCE_EXHAUSTED`): slow down and retry.
    RateLimited,
    /// HTTP 5xx.
    ServerError,
    /// The call took longer than the per-call timeout.
    Timeout,
    /// The connection failed or broke before a response arrived.
    Transport,
    /// The model answered with something that is not the JSON asked for.
    InvalidJson,
    /// The model stopped because it hit its output limit; the JSON is cut.
    Truncated,
    /// HTTP 401: the API key is missing or wrong.
    Unauthorized,
    /// HTTP 403: the key may not use this model or API.
    Forbidden,
    /// HTTP 400/404/422: the request itself is wrong (unknown model, bad schema, …).
    InvalidRequest,
    /// The provider refused to answer for safety or policy reasons.
    SafetyBlocked,
    /// The account is out of quota (an OpenAI 429 with `insufficient_quota`): not a rate limit.
    QuotaExhausted,
    /// The circuit breaker is open after repeated failures; the call was not made.
    CircuitOpen,
    /// The server answered with a redirect. Redirects are never followed: the API key rides
    /// in a header, and following one to another host would hand that host the key.
    RedirectRefused,
    /// The response body exceeded [`crate::provider::http::MAX_RESPONSE_BYTES`]; reading
    /// stopped there.
    ResponseTooLarge,
}

impl ProviderErrorCode {
    /// The stable code string, e.g. `RATE_LIMITED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RateLimited => "RATE_LIMITED",
            Self::ServerError => "SERVER_ERROR",
            Self::Timeout => "TIMEOUT",
            Self::Transport => "TRANSPORT",
            Self::InvalidJson => "INVALID_JSON",
            Self::Truncated => "TRUNCATED",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Forbidden => "FORBIDDEN",
            Self::InvalidRequest => "INVALID_REQUEST",
            Self::SafetyBlocked => "SAFETY_BLOCKED",
            Self::QuotaExhausted => "QUOTA_EXHAUSTED",
            Self::CircuitOpen => "CIRCUIT_OPEN",
            Self::RedirectRefused => "REDIRECT_REFUSED",
            Self::ResponseTooLarge => "RESPONSE_TOO_LARGE",
        }
    }

    /// The class that decides retrying. A `CircuitOpen` is permanent *for this call*: the
    /// breaker already decided the provider needs a rest, so retrying at once would defeat it.
    /// The job behind the call is snoozed instead (see [`ProviderError::snooze_for`]).
    pub fn class(self) -> ErrorClass {
        match self {
            Self::RateLimited
            | Self::ServerError
            | Self::Timeout
            | Self::Transport
            | Self::InvalidJson
            | Self::Truncated => ErrorClass::Retryable,
            Self::Unauthorized
            | Self::Forbidden
            | Self::InvalidRequest
            | Self::SafetyBlocked
            | Self::QuotaExhausted
            | Self::CircuitOpen
            | Self::RedirectRefused
            | Self::ResponseTooLarge => ErrorClass::Permanent,
        }
    }
}

impl std::fmt::Display for ProviderErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed provider call. The message never contains the API key: providers send keys in
/// headers, never in URLs, and bodies quoted here are the provider's own error text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ProviderError {
    pub code: ProviderErrorCode,
    pub message: String,
    /// The server's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
    /// HTTP status, when the failure came from one.
    pub status: Option<u16>,
    /// Tokens the failed call still used (a truncated or blocked answer is paid for).
    pub usage: crate::document::TokenUsage,
}

impl ProviderError {
    pub fn new(code: ProviderErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
            status: None,
            usage: crate::document::TokenUsage::default(),
        }
    }

    /// The same error, recording the tokens its response used.
    pub fn with_usage(mut self, usage: crate::document::TokenUsage) -> Self {
        self.usage = usage;
        self
    }

    pub fn class(&self) -> ErrorClass {
        self.code.class()
    }

    pub fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Retryable
    }

    /// How long the job behind this call should wait and then run again, neither failing nor
    /// spending a retry: set for `CIRCUIT_OPEN`, until the breaker's next trial. The provider
    /// is resting, not broken; a job failed for that would be lost for a passing outage.
    pub fn snooze_for(&self) -> Option<Duration> {
        (self.code == ProviderErrorCode::CircuitOpen)
            .then(|| self.retry_after.unwrap_or(Duration::from_secs(30)))
    }
}

/// A failed generation, with a stable code from [`SpecError::code`].
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The requested output language is not a well-formed BCP-47 tag.
    #[error("INVALID_LANGUAGE: {0:?} is not a well-formed BCP-47 language tag")]
    InvalidLanguage(String),
    /// The inventory could not be read or is of an unsupported schema version.
    #[error("INVALID_INVENTORY: {0}")]
    InvalidInventory(String),
    /// The inventory has more tests than [`crate::input::MAX_TESTS`].
    #[error("TOO_MANY_TESTS: the inventory has {count} tests; the limit is {limit}")]
    TooManyTests { count: usize, limit: usize },
    /// Phase outputs given to a later phase do not belong to the same input (a stale checkpoint).
    #[error("INCONSISTENT_INPUT: {0}")]
    InconsistentInput(String),
    /// Classification failed (after retries) with a provider error.
    #[error("CLASSIFY_FAILED: {0}")]
    ClassifyFailed(ProviderError),
    /// More than half of the features failed to convert. What succeeded is in `partial` (and was
    /// handed to the checkpoint hook), so a retry resumes after it.
    #[error("CONVERT_FAILED: {failed} of {total} features failed (last error: {last_error})")]
    ConvertFailed {
        failed: usize,
        total: usize,
        last_error: ProviderError,
        partial: Box<crate::phases::Behaviors>,
    },
    /// A cache could not be read or written.
    #[error("CACHE: {0}")]
    Cache(String),
    /// The provider configuration is incomplete (e.g. no model name).
    #[error("INVALID_CONFIG: {0}")]
    InvalidConfig(String),
    /// The input file is larger than the bound
    /// ([`crate::inventory_file::MAX_INVENTORY_BYTES`]); reading stopped there.
    #[error("INPUT_TOO_LARGE: the input is larger than {limit} bytes; reading stopped there")]
    InputTooLarge { limit: u64 },
}

impl From<crate::lang::InvalidLanguage> for SpecError {
    fn from(e: crate::lang::InvalidLanguage) -> Self {
        Self::InvalidLanguage(e.0)
    }
}

impl SpecError {
    /// The stable code string.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidLanguage(_) => "INVALID_LANGUAGE",
            Self::InvalidInventory(_) => "INVALID_INVENTORY",
            Self::TooManyTests { .. } => "TOO_MANY_TESTS",
            Self::InconsistentInput(_) => "INCONSISTENT_INPUT",
            Self::ClassifyFailed(_) => "CLASSIFY_FAILED",
            Self::ConvertFailed { .. } => "CONVERT_FAILED",
            Self::Cache(_) => "CACHE",
            Self::InvalidConfig(_) => "INVALID_CONFIG",
            Self::InputTooLarge { .. } => "INPUT_TOO_LARGE",
        }
    }

    /// The provider error underneath, if any (e.g. to tell `UNAUTHORIZED` apart).
    pub fn provider_error(&self) -> Option<&ProviderError> {
        match self {
            Self::ClassifyFailed(e) => Some(e),
            Self::ConvertFailed { last_error, .. } => Some(last_error),
            _ => None,
        }
    }
}

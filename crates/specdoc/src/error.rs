//! Errors as values, each with a stable machine-readable code.
//!
//! Codes are part of the public contract (the API and the job results show them), so they are
//! `SCREAMING_SNAKE_CASE` strings that never change meaning. Provider errors carry a
//! [`ErrorClass`] so the one retry loop in [`crate::reliability`] can tell a failure worth
//! retrying from one that will fail the same way every time.

use std::time::Duration;

use specline_error_codes::{codes, ErrorCode};

/// Whether trying the *provider call* again could help, inside the one retry loop of
/// [`crate::reliability`]. What a *job* does with a failed generation is the shared
/// [`specline_error_codes::ErrorClass`] of [`SpecError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorClass {
    /// Rate limits, server errors, timeouts, truncated or invalid model output.
    Retryable,
    /// Bad credentials, an invalid request, a safety block: retrying cannot succeed.
    Permanent,
}

codes! {
    /// What went wrong calling a model provider, each code once.
    #[derive(serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum ProviderErrorCode in "specline-specdoc (provider)" {
        RateLimited = ("RATE_LIMITED", Retryable, "HTTP 429 (or Gemini `RESOURCE_EXHAUSTED`): slow down and retry"),
        ServerError = ("SERVER_ERROR", Retryable, "HTTP 5xx"),
        Timeout = ("TIMEOUT", Retryable, "the call took longer than the per-call timeout"),
        Transport = ("TRANSPORT", Retryable, "the connection failed or broke before a response arrived"),
        InvalidJson = ("INVALID_JSON", Retryable, "the model answered with something that is not the JSON asked for"),
        Truncated = ("TRUNCATED", Retryable, "the model stopped at its output limit; the JSON is cut"),
        Unauthorized = ("UNAUTHORIZED", Permanent, "HTTP 401: the API key is missing or wrong"),
        Forbidden = ("FORBIDDEN", Permanent, "HTTP 403: the key may not use this model or API"),
        InvalidRequest = ("INVALID_REQUEST", Permanent, "HTTP 400/404/422: the request itself is wrong (unknown model, bad schema)"),
        SafetyBlocked = ("SAFETY_BLOCKED", Permanent, "the provider refused to answer for safety or policy reasons"),
        QuotaExhausted = ("QUOTA_EXHAUSTED", Permanent, "the account is out of quota (not a rate limit)"),
        CircuitOpen = ("CIRCUIT_OPEN", Snooze, "the circuit breaker is open after repeated failures; the call was not made and the job waits for the breaker's next trial"),
        RedirectRefused = ("REDIRECT_REFUSED", Permanent, "the server answered with a redirect, never followed (it would hand the API key to another host)"),
        ResponseTooLarge = ("RESPONSE_TOO_LARGE", Permanent, "the response body exceeded its bound; reading stopped there"),
    }
}

impl ProviderErrorCode {
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

codes! {
    /// Every code of a failed generation, once.
    pub enum SpecCode in "specline-specdoc" {
        InvalidLanguage = ("INVALID_LANGUAGE", Permanent, "the output language is not a well-formed BCP-47 tag"),
        InvalidInventory = ("INVALID_INVENTORY", Permanent, "the inventory cannot be read or has an unsupported schema version"),
        TooManyTests = ("TOO_MANY_TESTS", Permanent, "the inventory has more tests than the limit"),
        InconsistentInput = ("INCONSISTENT_INPUT", Permanent, "a phase's input does not belong to the same request (a stale or unreadable checkpoint)"),
        ClassifyFailed = ("CLASSIFY_FAILED", Varies("as its provider error: retryable, permanent, or snooze while the circuit is open"), "classification failed after retries with a provider error"),
        ConvertFailed = ("CONVERT_FAILED", Varies("as its provider error: retryable, permanent, or snooze while the circuit is open"), "more than half of the features failed to convert; what succeeded is checkpointed"),
        FeaturesFailed = ("FEATURES_FAILED", Permanent, "more than half of the features failed to convert, each in its own job after its retries; joining them again would join the same failures"),
        Cache = ("CACHE", Permanent, "a cache could not be read or written"),
        InvalidConfig = ("INVALID_CONFIG", Permanent, "the provider configuration is incomplete (e.g. no model name)"),
        InputTooLarge = ("INPUT_TOO_LARGE", Permanent, "the input file is larger than its bound"),
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
    /// More than half of the features converted one job each (`phases::join`) failed after
    /// their jobs' retries; `last_code` is the code of the last failure.
    #[error("FEATURES_FAILED: {failed} of {total} features failed (last error: {last_code})")]
    FeaturesFailed {
        failed: usize,
        total: usize,
        last_code: String,
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
        self.kind().as_str()
    }

    /// The error's code in the list.
    pub fn kind(&self) -> SpecCode {
        match self {
            Self::InvalidLanguage(_) => SpecCode::InvalidLanguage,
            Self::InvalidInventory(_) => SpecCode::InvalidInventory,
            Self::TooManyTests { .. } => SpecCode::TooManyTests,
            Self::InconsistentInput(_) => SpecCode::InconsistentInput,
            Self::ClassifyFailed(_) => SpecCode::ClassifyFailed,
            Self::ConvertFailed { .. } => SpecCode::ConvertFailed,
            Self::FeaturesFailed { .. } => SpecCode::FeaturesFailed,
            Self::Cache(_) => SpecCode::Cache,
            Self::InvalidConfig(_) => SpecCode::InvalidConfig,
            Self::InputTooLarge { .. } => SpecCode::InputTooLarge,
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

impl ErrorCode for SpecError {
    fn code(&self) -> &'static str {
        SpecError::code(self)
    }

    /// Provider trouble (rate limits, outages) is worth another attempt later; bad input is
    /// not. An open circuit breaker snoozes the job until the breaker's next trial: the
    /// provider is resting, and failing the run for it would lose the work.
    fn class(&self) -> specline_error_codes::ErrorClass {
        match self.provider_error() {
            Some(p) => ErrorCode::class(p),
            None => specline_error_codes::ErrorClass::Permanent,
        }
    }
}

/// A provider error on its own (one feature's conversion, in a job of its own) keeps its
/// provider code, classed as [`SpecError`] classes it.
impl ErrorCode for ProviderError {
    fn code(&self) -> &'static str {
        self.code.as_str()
    }

    fn class(&self) -> specline_error_codes::ErrorClass {
        use specline_error_codes::ErrorClass as Job;
        match self.snooze_for() {
            Some(wait) => Job::Snooze(wait),
            None if self.is_retryable() => Job::Retryable,
            None => Job::Permanent,
        }
    }
}

#[cfg(test)]
mod tests {
    use specline_error_codes::{check_codes, CodeSet, ErrorClass as Job};

    use super::*;

    #[test]
    fn every_code_is_listed_once_and_spelled_screaming_snake() {
        assert_eq!(check_codes::<SpecCode>(), Ok(()));
        assert_eq!(check_codes::<ProviderErrorCode>(), Ok(()));
    }

    /// The provider's own retry class and the listed rule agree: the table does not lie.
    #[test]
    fn each_provider_code_is_retried_as_its_rule_says() {
        for code in ProviderErrorCode::ALL {
            let job = match (code.class(), *code == ProviderErrorCode::CircuitOpen) {
                (_, true) => Job::Snooze(Duration::from_secs(1)),
                (ErrorClass::Retryable, false) => Job::Retryable,
                (ErrorClass::Permanent, false) => Job::Permanent,
            };
            assert!(code.rule().admits(job), "{code}");
        }
    }

    #[test]
    fn a_generation_is_classed_by_its_provider_error() {
        let failed = |code| SpecError::ClassifyFailed(ProviderError::new(code, "x"));
        let mut open = ProviderError::new(ProviderErrorCode::CircuitOpen, "resting");
        open.retry_after = Some(Duration::from_secs(7));
        assert_eq!(
            SpecError::ClassifyFailed(open).class(),
            Job::Snooze(Duration::from_secs(7))
        );
        assert_eq!(
            failed(ProviderErrorCode::ServerError).class(),
            Job::Retryable
        );
        assert_eq!(
            failed(ProviderErrorCode::Unauthorized).class(),
            Job::Permanent
        );
        assert_eq!(SpecError::Cache("disk full".into()).class(), Job::Permanent);
        assert_eq!(
            SpecError::InvalidLanguage("??".into()).class(),
            Job::Permanent
        );
    }
}

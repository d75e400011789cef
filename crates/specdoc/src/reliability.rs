//! Timeouts, retries, a circuit breaker and a rate limit around a [`Provider`]: the one retry
//! budget of a model call.
//!
//! Only retryable failures are retried (429, 5xx, timeouts, transport errors, invalid or
//! truncated JSON); permanent ones (401/403, invalid request, safety block) fail at once with
//! their code. A 429's `Retry-After` is honored: the wait is at least what the server asked
//! for (capped by [`RetryPolicy::max_retry_after`]). Otherwise the wait is exponential with
//! jitter so that many workers hit by the same outage do not come back in lockstep.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::Instrument;

use crate::document::TokenUsage;
use crate::error::{ProviderError, ProviderErrorCode};
use crate::model_metrics;
use crate::provider::{ModelRequest, Provider};

/// How often and how long to retry.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (so 1 = never retry).
    pub max_attempts: u32,
    /// The first backoff; doubled on each retry.
    pub base_delay: Duration,
    /// No backoff is longer than this.
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is cut to it (a server asking for an hour would
    /// otherwise hold a worker for an hour).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy whose backoffs are a millisecond: for tests. `Retry-After` is still honored.
    pub fn fast(max_attempts: u32) -> Self {
        Self {
            max_attempts,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            max_retry_after: Duration::from_secs(5),
        }
    }

    /// The wait before retry number `retry` (1-based) after `err`: "equal jitter", a random
    /// value between half and all of the exponential backoff, and never less than the
    /// server's `Retry-After`.
    pub fn delay(&self, retry: u32, err: &ProviderError) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter = if half.is_zero() {
            Duration::ZERO
        } else {
            let nanos = rand::rng().random_range(0..=half.as_nanos().min(u64::MAX as u128) as u64);
            Duration::from_nanos(nanos)
        };
        let backoff = half + jitter;
        match err.retry_after {
            Some(ra) => backoff.max(ra.min(self.max_retry_after)),
            None => backoff,
        }
    }
}

/// Circuit breaker settings.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerConfig {
    /// Consecutive availability failures (429, 5xx, timeout, transport) that open the circuit.
    pub failure_threshold: u32,
    /// How long an open circuit refuses calls before letting one trial call through.
    pub cooldown: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 8,
            cooldown: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Default)]
struct BreakerState {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    trial_in_flight: bool,
}

/// Stops calling a provider that keeps failing, so a dead provider costs one refused call per
/// feature instead of a full retry budget each. Closed → (threshold failures) → open →
/// (cooldown) → half-open: one trial call; its success closes, its failure reopens.
///
/// A refusal carries the time until the next trial in `retry_after`, so a job can be snoozed
/// until then instead of failing. A trial whose call never finishes (the caller's future is
/// dropped: a job timeout, a cancel, a shutdown) is released by [`TrialGuard`], so the next
/// caller becomes the trial; without that the breaker would stay open until restart.
#[derive(Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    state: Mutex<BreakerState>,
}

/// What [`CircuitBreaker::allow`] let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The circuit is closed: an ordinary call.
    Closed,
    /// The circuit was open and its cooldown is over: this call is the one trial.
    Trial,
}

impl CircuitBreaker {
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            state: Mutex::new(BreakerState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BreakerState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// May a call go out now? A refusal is `CIRCUIT_OPEN` with `retry_after` set to the time
    /// until the next trial may go out.
    pub fn allow(&self) -> Result<Admission, ProviderError> {
        let mut s = self.lock();
        let now = Instant::now();
        match s.open_until {
            None => Ok(Admission::Closed),
            Some(until) if now >= until && !s.trial_in_flight => {
                s.trial_in_flight = true;
                Ok(Admission::Trial)
            }
            Some(until) => {
                // A trial is out: its outcome decides, at the latest one cooldown from now.
                let wait = if now >= until {
                    self.config.cooldown
                } else {
                    until - now
                };
                let mut e = ProviderError::new(
                    ProviderErrorCode::CircuitOpen,
                    format!(
                        "the provider failed repeatedly; calls are paused for {} ms",
                        wait.as_millis()
                    ),
                );
                e.retry_after = Some(wait);
                Err(e)
            }
        }
    }

    pub fn record_success(&self) {
        let mut s = self.lock();
        *s = BreakerState::default();
    }

    pub fn record_failure(&self, err: &ProviderError) {
        let counts = matches!(
            err.code,
            ProviderErrorCode::RateLimited
                | ProviderErrorCode::ServerError
                | ProviderErrorCode::Timeout
                | ProviderErrorCode::Transport
        );
        let mut s = self.lock();
        let was_trial = s.trial_in_flight;
        s.trial_in_flight = false;
        if !counts {
            return;
        }
        s.consecutive_failures += 1;
        if was_trial || s.consecutive_failures >= self.config.failure_threshold {
            s.open_until = Some(Instant::now() + self.config.cooldown);
        }
    }

    /// A trial ended without an outcome (its call was dropped): the next caller may try.
    pub fn release_trial(&self) {
        self.lock().trial_in_flight = false;
    }

    /// True while calls are refused.
    pub fn is_open(&self) -> bool {
        self.lock().open_until.is_some_and(|u| Instant::now() < u)
    }
}

/// Releases a half-open trial whose outcome was never recorded: dropped with the caller's
/// future, or unwound by a panic. [`TrialGuard::settle`] disarms it once an outcome is known.
pub struct TrialGuard<'a> {
    breaker: &'a CircuitBreaker,
    armed: bool,
}

impl<'a> TrialGuard<'a> {
    pub fn new(breaker: &'a CircuitBreaker, admission: Admission) -> Self {
        Self {
            breaker,
            armed: admission == Admission::Trial,
        }
    }

    /// The outcome is being recorded; nothing to release.
    pub fn settle(mut self) {
        self.armed = false;
    }
}

impl Drop for TrialGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.breaker.release_trial();
        }
    }
}

/// Spaces calls at least `interval` apart (a requests-per-minute limit), across all tasks that
/// share the limiter.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next: tokio::sync::Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// `per_minute` = 0 means no limit.
    pub fn per_minute(per_minute: u32) -> Self {
        let interval = if per_minute == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs(60) / per_minute
        };
        Self {
            interval,
            next: tokio::sync::Mutex::new(None),
        }
    }

    /// Waits for this call's slot.
    pub async fn acquire(&self) {
        if self.interval.is_zero() {
            return;
        }
        let slot = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// A limit on model calls that holds beyond this process (the spec generators install the
/// engine's rate gate per provider key): every attempt passes it, after the client's own
/// [`RateLimiter`], before its HTTP call.
pub trait CallGate: Send + Sync + std::fmt::Debug {
    /// Waits until this call may go; an error fails the attempt as a retryable `TRANSPORT`
    /// (the call was not made; the gate's store may come back).
    fn acquire(&self) -> futures::future::BoxFuture<'_, Result<(), String>>;
}

/// Settings of a [`ModelClient`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// The longest one call may take.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub breaker: BreakerConfig,
    /// Requests per minute to this provider; 0 = unlimited.
    pub requests_per_minute: u32,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(120),
            retry: RetryPolicy::default(),
            breaker: BreakerConfig::default(),
            requests_per_minute: 60,
        }
    }
}

/// A provider with the reliability rules applied. Cheap to clone; clones share the breaker
/// and the rate limit.
#[derive(Clone)]
pub struct ModelClient {
    provider: Arc<dyn Provider>,
    config: ClientConfig,
    breaker: Arc<CircuitBreaker>,
    limiter: Arc<RateLimiter>,
    gate: Option<Arc<dyn CallGate>>,
}

impl std::fmt::Debug for ModelClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelClient")
            .field("kind", &self.provider.kind())
            .field("model", &self.provider.model())
            .field("config", &self.config)
            .finish()
    }
}

/// The answer of a [`ModelClient::call_json`] failure, with the tokens spent on the way.
#[derive(Debug, Clone)]
pub struct CallFailure {
    pub error: ProviderError,
    pub usage: TokenUsage,
}

impl ModelClient {
    pub fn new(provider: Arc<dyn Provider>, config: ClientConfig) -> Self {
        Self {
            breaker: Arc::new(CircuitBreaker::new(config.breaker.clone())),
            limiter: Arc::new(RateLimiter::per_minute(config.requests_per_minute)),
            gate: None,
            provider,
            config,
        }
    }

    /// The client with a limit shared beyond this process, under its own rate limit.
    pub fn with_gate(mut self, gate: Arc<dyn CallGate>) -> Self {
        self.gate = Some(gate);
        self
    }

    pub fn kind(&self) -> &'static str {
        self.provider.kind()
    }

    pub fn model(&self) -> &str {
        self.provider.model()
    }

    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// Calls the model until its answer parses as `T` (and passes `check`), within the retry
    /// budget. Returns the value and the tokens of all attempts.
    ///
    /// The whole call, retries included, is one `model call` span: a child of the job's span
    /// that makes it, so a run's trace shows each model call with its model, attempts, tokens
    /// and error code (docs/observability.md).
    pub async fn call_json<T: DeserializeOwned>(
        &self,
        request: &ModelRequest,
        check: impl Fn(&T) -> Result<(), String>,
    ) -> Result<(T, TokenUsage), CallFailure> {
        use tracing::field::Empty;
        let span = tracing::info_span!(
            "model call",
            provider = self.provider.kind(),
            model = self.provider.model(),
            calls = Empty,
            tokens_in = Empty,
            tokens_out = Empty,
            error_code = Empty,
        );
        let result = self
            .call_json_in_span(request, check)
            .instrument(span.clone())
            .await;
        let usage = match &result {
            Ok((_, usage)) => usage,
            Err(failure) => {
                span.record("error_code", failure.error.code.as_str());
                &failure.usage
            }
        };
        span.record("calls", usage.calls);
        span.record("tokens_in", usage.prompt_tokens);
        span.record("tokens_out", usage.output_tokens);
        result
    }

    async fn call_json_in_span<T: DeserializeOwned>(
        &self,
        request: &ModelRequest,
        check: impl Fn(&T) -> Result<(), String>,
    ) -> Result<(T, TokenUsage), CallFailure> {
        let mut usage = TokenUsage::default();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = match self.breaker.allow() {
                Ok(admission) => {
                    // If this future is dropped during the call, the guard frees the trial.
                    let guard = TrialGuard::new(&self.breaker, admission);
                    let result = self.attempt(request, &check, &mut usage).await;
                    guard.settle();
                    result
                }
                Err(refused) => Err(refused),
            };
            let err = match result {
                Ok(v) => {
                    self.breaker.record_success();
                    return Ok((v, usage));
                }
                Err(e) => e,
            };
            model_metrics::error(self.provider.kind(), self.provider.model(), err.code);
            if err.code != ProviderErrorCode::CircuitOpen {
                self.breaker.record_failure(&err);
            }
            if !err.is_retryable() || attempt >= self.config.retry.max_attempts {
                tracing::warn!(code = %err.code, attempt, model = self.provider.model(), "model call failed");
                return Err(CallFailure { error: err, usage });
            }
            let delay = self.config.retry.delay(attempt, &err);
            tracing::info!(code = %err.code, attempt, ?delay, "retrying model call");
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        request: &ModelRequest,
        check: &impl Fn(&T) -> Result<(), String>,
        usage: &mut TokenUsage,
    ) -> Result<T, ProviderError> {
        self.limiter.acquire().await;
        if let Some(gate) = &self.gate {
            gate.acquire().await.map_err(|e| {
                ProviderError::new(
                    ProviderErrorCode::Transport,
                    format!("the shared model-call limit cannot be read: {e}"),
                )
            })?;
        }
        usage.calls += 1;
        let started = Instant::now();
        let answer =
            tokio::time::timeout(self.config.timeout, self.provider.generate(request)).await;
        let (kind, model) = (self.provider.kind(), self.provider.model());
        let resp = answer
            .map_err(|_| {
                model_metrics::call(kind, model, started.elapsed(), &TokenUsage::default());
                ProviderError::new(
                    ProviderErrorCode::Timeout,
                    format!("no answer within {:?}", self.config.timeout),
                )
            })?
            .inspect(|r| model_metrics::call(kind, model, started.elapsed(), &r.usage))
            .inspect_err(|e| {
                model_metrics::call(kind, model, started.elapsed(), &e.usage);
                usage.prompt_tokens += e.usage.prompt_tokens;
                usage.output_tokens += e.usage.output_tokens;
                usage.total_tokens += e.usage.total_tokens;
            })?;
        usage.prompt_tokens += resp.usage.prompt_tokens;
        usage.output_tokens += resp.usage.output_tokens;
        usage.total_tokens += resp.usage.total_tokens;
        let text = strip_code_fence(&resp.text);
        let value: T = serde_json::from_str(text).map_err(|e| {
            ProviderError::new(
                ProviderErrorCode::InvalidJson,
                format!("the answer is not the JSON asked for: {e}"),
            )
        })?;
        check(&value).map_err(|m| ProviderError::new(ProviderErrorCode::InvalidJson, m))?;
        Ok(value)
    }
}

/// Some local models wrap JSON in a Markdown code fence even in JSON mode.
fn strip_code_fence(text: &str) -> &str {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix("```") {
        let rest = rest.strip_prefix("json").unwrap_or(rest);
        if let Some(inner) = rest.trim_end().strip_suffix("```") {
            return inner.trim();
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: ProviderErrorCode) -> ProviderError {
        ProviderError::new(code, "x")
    }

    #[test]
    fn delay_grows_exponentially_within_jitter_bounds() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
            max_retry_after: Duration::from_secs(2),
        };
        for _ in 0..50 {
            let d1 = p.delay(1, &err(ProviderErrorCode::ServerError));
            assert!(
                d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100),
                "{d1:?}"
            );
            let d3 = p.delay(3, &err(ProviderErrorCode::ServerError));
            // 400ms capped to 350ms.
            assert!(
                d3 >= Duration::from_millis(175) && d3 <= Duration::from_millis(350),
                "{d3:?}"
            );
        }
    }

    #[test]
    fn delay_honors_retry_after_up_to_the_cap() {
        let p = RetryPolicy::fast(3);
        let mut e = err(ProviderErrorCode::RateLimited);
        e.retry_after = Some(Duration::from_secs(2));
        assert_eq!(p.delay(1, &e), Duration::from_secs(2));
        e.retry_after = Some(Duration::from_secs(3600));
        assert_eq!(p.delay(1, &e), Duration::from_secs(5));
    }

    #[test]
    fn breaker_opens_after_threshold_and_half_opens_after_cooldown() {
        let b = CircuitBreaker::new(BreakerConfig {
            failure_threshold: 2,
            cooldown: Duration::from_millis(30),
        });
        b.record_failure(&err(ProviderErrorCode::Unauthorized));
        b.record_failure(&err(ProviderErrorCode::InvalidJson));
        assert!(b.allow().is_ok(), "non-availability failures do not count");
        b.record_failure(&err(ProviderErrorCode::ServerError));
        assert!(b.allow().is_ok());
        b.record_failure(&err(ProviderErrorCode::Timeout));
        assert_eq!(b.allow().unwrap_err().code, ProviderErrorCode::CircuitOpen);
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.allow().is_ok(), "one trial after the cooldown");
        assert!(b.allow().is_err(), "only one trial at a time");
        b.record_failure(&err(ProviderErrorCode::ServerError));
        assert!(b.is_open(), "a failed trial reopens");
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.allow().is_ok());
        b.record_success();
        assert!(
            b.allow().is_ok() && b.allow().is_ok(),
            "a good trial closes"
        );
    }

    #[tokio::test]
    async fn rate_limiter_spaces_calls() {
        let l = RateLimiter::per_minute(1200); // 50 ms apart
        let start = Instant::now();
        for _ in 0..3 {
            l.acquire().await;
        }
        assert!(start.elapsed() >= Duration::from_millis(100));
    }

    #[test]
    fn code_fences_are_stripped() {
        assert_eq!(strip_code_fence("```json\n{\"a\":1}\n```"), "{\"a\":1}");
        assert_eq!(strip_code_fence(" {\"a\":1} "), "{\"a\":1}");
    }
}

//! Model cost, through the `metrics` facade: what each provider and model was asked, what it
//! cost in tokens, how it failed and how long it took, and how often the cache answered
//! instead. The spec generator's `/metrics` exports them (it installs the recorder); with no
//! recorder installed these calls cost next to nothing.
//!
//! | name | type | labels |
//! |---|---|---|
//! | `specline_model_calls_total` | counter | `provider`, `model` (every HTTP call made, retries included) |
//! | `specline_model_tokens_total` | counter | `provider`, `model`, `direction` (`in`: prompt, `out`: output) |
//! | `specline_model_errors_total` | counter | `provider`, `model`, `code` (a failed attempt's code, e.g. `RATE_LIMITED`, `INVALID_JSON`, `CIRCUIT_OPEN`) |
//! | `specline_model_call_seconds` | histogram | `provider`, `model` |
//! | `specline_model_cache_lookups_total` | counter | `provider`, `model`, `result` (`hit` or `miss`) |
//!
//! Recorded at the provider-call layer ([`crate::reliability::ModelClient`], one record per
//! attempt) and at the cache read of the phases, so every path to a model is counted once.

use std::time::Duration;

use crate::document::TokenUsage;
use crate::error::ProviderErrorCode;

pub const MODEL_CALLS_TOTAL: &str = "specline_model_calls_total";
pub const MODEL_TOKENS_TOTAL: &str = "specline_model_tokens_total";
pub const MODEL_ERRORS_TOTAL: &str = "specline_model_errors_total";
pub const MODEL_CALL_SECONDS: &str = "specline_model_call_seconds";
pub const MODEL_CACHE_LOOKUPS_TOTAL: &str = "specline_model_cache_lookups_total";

/// Every metric recorded here, with its type: what a dashboard may query.
pub const ALL: &[(&str, &str)] = &[
    (MODEL_CALLS_TOTAL, "counter"),
    (MODEL_TOKENS_TOTAL, "counter"),
    (MODEL_ERRORS_TOTAL, "counter"),
    (MODEL_CALL_SECONDS, "histogram"),
    (MODEL_CACHE_LOOKUPS_TOTAL, "counter"),
];

/// One HTTP call to the provider, answered or not: its time and the tokens it reported
/// (an error can carry usage too, e.g. a truncated answer).
pub fn call(provider: &'static str, model: &str, took: Duration, usage: &TokenUsage) {
    let model = model.to_string();
    metrics::counter!(MODEL_CALLS_TOTAL, "provider" => provider, "model" => model.clone())
        .increment(1);
    metrics::histogram!(MODEL_CALL_SECONDS, "provider" => provider, "model" => model.clone())
        .record(took.as_secs_f64());
    for (direction, n) in [("in", usage.prompt_tokens), ("out", usage.output_tokens)] {
        if n > 0 {
            metrics::counter!(MODEL_TOKENS_TOTAL, "provider" => provider, "model" => model.clone(), "direction" => direction)
                .increment(n);
        }
    }
}

/// A failed attempt (the provider's error, a timeout, an answer that was not the JSON asked
/// for, or a call the circuit breaker refused).
pub fn error(provider: &'static str, model: &str, code: ProviderErrorCode) {
    metrics::counter!(MODEL_ERRORS_TOTAL, "provider" => provider, "model" => model.to_string(), "code" => code.as_str())
        .increment(1);
}

/// Cache reads in place of model calls: `hits` the cache answered, `misses` it did not.
pub fn cache_lookups(provider: &str, model: &str, hits: u64, misses: u64) {
    for (result, n) in [("hit", hits), ("miss", misses)] {
        if n > 0 {
            metrics::counter!(MODEL_CACHE_LOOKUPS_TOTAL, "provider" => provider.to_string(), "model" => model.to_string(), "result" => result)
                .increment(n);
        }
    }
}

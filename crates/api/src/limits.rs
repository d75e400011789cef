//! Limits that keep one owner from exhausting the service: submissions per minute,
//! concurrent event streams, and a time limit on every route. (The body size limit is
//! axum's `DefaultBodyLimit`, applied in [`crate::routes`].)

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::ApiConfig;
use crate::error::{ApiCode, ApiError};

/// Per-owner counters.
pub struct Limits {
    submissions: DefaultKeyedRateLimiter<String>,
    streams: Arc<Mutex<HashMap<String, usize>>>,
    max_streams: usize,
}

impl Limits {
    pub fn new(config: &ApiConfig) -> Limits {
        let per_minute = NonZeroU32::new(config.submissions_per_minute).unwrap_or(NonZeroU32::MIN);
        Limits {
            submissions: RateLimiter::keyed(Quota::per_minute(per_minute)),
            streams: Arc::default(),
            max_streams: config.max_streams_per_owner,
        }
    }

    /// Take one submission from the owner's budget, or 429 `RATE_LIMITED` with the wait.
    pub fn submission(&self, owner: &str) -> Result<(), ApiError> {
        self.submissions
            .check_key(&owner.to_string())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                ApiError::too_many(
                    ApiCode::RateLimited,
                    "too many submissions; retry after the time in Retry-After",
                    wait.as_secs_f64().ceil() as u64,
                )
            })
    }

    /// Hold one of the owner's stream slots while the returned guard lives, or 429
    /// `TOO_MANY_STREAMS`.
    pub fn stream(&self, owner: &str) -> Result<StreamSlot, ApiError> {
        let mut open = self
            .streams
            .lock()
            .map_err(|_| ApiError::internal("stream counter poisoned"))?;
        let n = open.entry(owner.to_string()).or_insert(0);
        if *n >= self.max_streams {
            return Err(ApiError::too_many(
                ApiCode::TooManyStreams,
                format!(
                    "at most {} event streams may be open at once",
                    self.max_streams
                ),
                5,
            ));
        }
        *n += 1;
        metrics::gauge!("specline_api_open_streams").increment(1.0);
        Ok(StreamSlot {
            owner: owner.to_string(),
            streams: self.streams.clone(),
        })
    }
}

/// One open stream of an owner; dropping it frees the slot.
pub struct StreamSlot {
    owner: String,
    streams: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        metrics::gauge!("specline_api_open_streams").decrement(1.0);
        if let Ok(mut open) = self.streams.lock() {
            if let Some(n) = open.get_mut(&self.owner) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    open.remove(&self.owner);
                }
            }
        }
    }
}

/// Answer 503 `TIMEOUT` when a route has not produced its response in time. (An event
/// stream produces its response at once; its body then runs as long as the run.)
pub async fn timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ApiCode::Timeout,
            format!("no answer within {} s", limit.as_secs()),
        )
        .into_response(),
    }
}

//! Times as stored: microseconds since the Unix epoch.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock;

pub(super) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub(super) fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

pub(super) fn now_us() -> i64 {
    micros(Utc::now())
}

/// `us + d` in microseconds, saturating (see [`crate::clock`]).
pub(crate) fn plus(us: i64, d: Duration) -> i64 {
    micros(clock::after(from_micros(us), d))
}

/// `us - d` in microseconds, saturating.
pub(crate) fn minus(us: i64, d: Duration) -> i64 {
    micros(clock::before(from_micros(us), d))
}

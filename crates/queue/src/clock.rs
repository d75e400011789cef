//! Times computed from durations, saturating instead of panicking.
//!
//! Why: `Utc::now() + duration` panics when the sum leaves chrono's range. The durations
//! come from handlers (a snooze), kinds (a backoff) and settings (a retention), so a huge
//! one must give a far time, not a panic: a panic in the executor after the handler's own
//! panic guard left the job `running` with no outcome.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The latest time the engine stores: 9999-12-31T23:59:59Z, inside the range of both
/// PostgreSQL's `timestamptz` and SQLite's microsecond integers.
pub fn latest() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The earliest time the engine stores: the Unix epoch.
pub fn earliest() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}

/// `from + d`, at most [`latest`].
pub fn after(from: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| from.checked_add_signed(d))
        .map_or_else(latest, |t| t.min(latest()))
}

/// `from - d`, at least [`earliest`].
pub fn before(from: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| from.checked_sub_signed(d))
        .map_or_else(earliest, |t| t.max(earliest()))
}

/// The longest span the engine writes as an interval (a TTL, a lease): 100 years. Longer
/// settings mean "forever" and are cut here, so interval arithmetic in SQL cannot overflow.
pub const LONGEST: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `d`, at most [`LONGEST`].
pub fn bounded(d: Duration) -> Duration {
    d.min(LONGEST)
}

/// `now + d`, at most [`latest`].
pub fn in_future(d: Duration) -> DateTime<Utc> {
    after(Utc::now(), d)
}

/// `now - d`, at least [`earliest`].
pub fn ago(d: Duration) -> DateTime<Utc> {
    before(Utc::now(), d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_durations_saturate_instead_of_panicking() {
        let now = Utc::now();
        assert_eq!(after(now, Duration::MAX), latest());
        assert_eq!(after(now, Duration::from_secs(u64::MAX / 2)), latest());
        assert_eq!(before(now, Duration::MAX), earliest());
        let hour = Duration::from_secs(3600);
        assert_eq!(after(now, hour) - now, chrono::Duration::hours(1));
        assert_eq!(now - before(now, hour), chrono::Duration::hours(1));
    }
}

//! Token buckets for rate limits, kept in rows and refilled from the database clock.
//!
//! A bucket of rate `count / per` holds at most [`capacity`] tokens and gains `count` tokens
//! per `per`; a start takes one. Starts in any window of length `per` are therefore at most
//! `count + capacity`: the capacity (a tenth of the rate, at least one) is the stated
//! tolerance, and the price of letting a claim take a small batch at once.

use chrono::{DateTime, Utc};

use super::Rate;

/// A bucket's state as stored.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Bucket {
    pub tokens: f64,
    pub refilled_at: DateTime<Utc>,
}

/// Most tokens a bucket of this rate holds: a tenth of the rate, at least one.
pub fn capacity(rate: &Rate) -> f64 {
    (f64::from(rate.count) / 10.0).ceil().max(1.0)
}

fn per_second(rate: &Rate) -> f64 {
    let secs = rate.per.as_secs_f64();
    if secs <= 0.0 {
        f64::INFINITY
    } else {
        f64::from(rate.count) / secs
    }
}

/// The bucket at `now`: full when new, else refilled for the time since its last refill
/// (a clock that went backwards adds nothing).
pub fn refill(rate: &Rate, prev: Option<Bucket>, now: DateTime<Utc>) -> Bucket {
    let cap = capacity(rate);
    match prev {
        None => Bucket {
            tokens: cap,
            refilled_at: now,
        },
        Some(b) => {
            let elapsed = (now - b.refilled_at)
                .to_std()
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            Bucket {
                tokens: (b.tokens + elapsed * per_second(rate)).min(cap),
                refilled_at: now.max(b.refilled_at),
            }
        }
    }
}

impl Bucket {
    /// Whole tokens available.
    pub fn available(&self) -> u64 {
        if self.tokens.is_finite() && self.tokens > 0.0 {
            self.tokens.floor() as u64
        } else {
            0
        }
    }

    /// Take `n` tokens (never below zero).
    pub fn take(&mut self, n: u64) {
        self.tokens = (self.tokens - n as f64).max(0.0);
    }

    /// When the bucket will hold one whole token.
    pub fn token_at(&self, rate: &Rate) -> DateTime<Utc> {
        let missing = (1.0 - self.tokens).max(0.0);
        let wait =
            std::time::Duration::try_from_secs_f64(missing / per_second(rate)).unwrap_or_default();
        crate::clock::after(self.refilled_at, wait)
    }

    /// When the bucket will hold enough tokens to be worth a claim again: half its capacity
    /// (at least one token), so several workers do not each wake for a single token.
    pub fn ready_at(&self, rate: &Rate) -> DateTime<Utc> {
        let want = (capacity(rate) / 2.0).max(1.0);
        let missing = (want - self.tokens).max(0.0);
        let secs = missing / per_second(rate);
        let wait = std::time::Duration::try_from_secs_f64(secs).unwrap_or_default();
        crate::clock::after(self.refilled_at, wait)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;

    fn t(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(1_700_000_000_000 + ms)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn a_new_bucket_is_full_and_refills_at_the_rate_up_to_its_capacity() {
        let rate = Rate::per_second(100);
        let mut b = refill(&rate, None, t(0));
        assert_eq!(b.available(), 10);
        b.take(10);
        assert_eq!(b.available(), 0);
        let b2 = refill(&rate, Some(b), t(50));
        assert_eq!(b2.available(), 5);
        let b3 = refill(&rate, Some(b2), t(10_000));
        assert_eq!(b3.available(), 10, "capped");
        // A clock that goes back adds nothing and does not move the refill time back.
        let b4 = refill(&rate, Some(b3), t(0));
        assert_eq!(b4.refilled_at, t(10_000));
    }

    #[test]
    fn ready_at_is_when_half_the_capacity_is_back() {
        let rate = Rate {
            count: 100,
            per: Duration::from_secs(1),
        };
        let b = Bucket {
            tokens: 0.0,
            refilled_at: t(0),
        };
        assert_eq!(b.ready_at(&rate), t(50));
        let one = Rate::per_minute(1);
        assert_eq!(capacity(&one), 1.0);
        assert_eq!(b.ready_at(&one), t(60_000));
    }
}

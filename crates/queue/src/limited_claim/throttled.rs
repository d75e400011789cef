//! The count of claims a limit held back, recorded where the claim decides it.
//!
//! Here rather than in [`crate::metrics`] (which lists it among every metric) because the
//! metrics module reads the queue gauges, and they the store, which runs this claim: kept
//! there, it would close an import loop.

/// Claims of a limited kind that a limit (concurrency or rate, global or per partition) held
/// due jobs back from, by `queue` and `kind`.
pub const CLAIMS_THROTTLED_TOTAL: &str = "specline_claims_throttled_total";

/// A claim of a limited kind that a limit held due jobs back from.
pub(crate) fn claim_throttled(queue: &str, kind: &str) {
    metrics::counter!(CLAIMS_THROTTLED_TOTAL, "queue" => queue.to_string(), "kind" => kind.to_string())
        .increment(1);
}

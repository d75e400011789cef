//! A rollout's metrics (see [`crate::metrics`] for the facade and the full list):
//!
//! | name | type | labels |
//! |---|---|---|
//! | `specline_rollout_served_total` | counter | `rollout`, `variant` (primary, candidate): which implementation served a job |
//! | `specline_rollout_shadow_total` | counter | `rollout`, `outcome` (match, mismatch, candidate_error, candidate_panic, candidate_timeout, primary_error, skipped) |
//! | `specline_rollout_run_seconds` | histogram | `rollout`, `variant` (shadow runs included) |
//! | `specline_rollout_match_ratio` | gauge | `rollout`: matches over compared shadow runs in this process |
//!
//! Over a fleet, the match rate is
//! `sum by (rollout) (rate(specline_rollout_shadow_total{outcome="match"}[5m])) /
//!  sum by (rollout) (rate(specline_rollout_shadow_total{outcome!="skipped"}[5m]))`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{ShadowOutcome, Variant};

use crate::metrics::{
    ROLLOUT_MATCH_RATIO, ROLLOUT_RUN_SECONDS, ROLLOUT_SERVED_TOTAL, ROLLOUT_SHADOW_TOTAL,
};

/// The handles of one rollout, made on its first job (after the binary installed its
/// recorder).
pub(super) struct RolloutMetrics {
    served: [metrics::Counter; 2],
    seconds: [metrics::Histogram; 2],
    outcomes: [metrics::Counter; 6],
    skipped: metrics::Counter,
    ratio: metrics::Gauge,
    matches: AtomicU64,
    compared: AtomicU64,
}

fn index(v: Variant) -> usize {
    match v {
        Variant::Primary => 0,
        Variant::Candidate => 1,
    }
}

impl RolloutMetrics {
    pub(super) fn new(rollout: &str) -> Self {
        let r = rollout.to_string();
        let variants = [Variant::Primary, Variant::Candidate];
        RolloutMetrics {
            served: variants.map(|v| {
                metrics::counter!(ROLLOUT_SERVED_TOTAL, "rollout" => r.clone(), "variant" => v.as_str())
            }),
            seconds: variants.map(|v| {
                metrics::histogram!(ROLLOUT_RUN_SECONDS, "rollout" => r.clone(), "variant" => v.as_str())
            }),
            outcomes: ShadowOutcome::ALL.map(|o| {
                metrics::counter!(ROLLOUT_SHADOW_TOTAL, "rollout" => r.clone(), "outcome" => o.as_str())
            }),
            skipped: metrics::counter!(ROLLOUT_SHADOW_TOTAL, "rollout" => r.clone(), "outcome" => "skipped"),
            ratio: metrics::gauge!(ROLLOUT_MATCH_RATIO, "rollout" => r),
            matches: AtomicU64::new(0),
            compared: AtomicU64::new(0),
        }
    }

    pub(super) fn served(&self, v: Variant) {
        self.served[index(v)].increment(1);
    }

    pub(super) fn ran(&self, v: Variant, took: Duration) {
        self.seconds[index(v)].record(took.as_secs_f64());
    }

    pub(super) fn skipped(&self) {
        self.skipped.increment(1);
    }

    pub(super) fn shadow(&self, outcome: ShadowOutcome) {
        if let Some(i) = ShadowOutcome::ALL.iter().position(|o| *o == outcome) {
            self.outcomes[i].increment(1);
        }
        if outcome == ShadowOutcome::PrimaryError {
            return;
        }
        let matches = if outcome == ShadowOutcome::Match {
            self.matches.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.matches.load(Ordering::Relaxed)
        };
        let compared = self.compared.fetch_add(1, Ordering::Relaxed) + 1;
        self.ratio.set(matches as f64 / compared as f64);
    }
}

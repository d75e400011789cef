//! A shadow run: the candidate beside the primary, in the job's task, under its own timeout
//! and with its panics caught; then compared with the primary and recorded. Nothing it does
//! reaches the job: its result, error, panic or timeout is a row, and the job's outcome is
//! the primary's.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::FutureExt;
use tokio_util::sync::CancellationToken;

use super::metrics::RolloutMetrics;
use super::{bounded_diff, Comparator, Comparison, ShadowOutcome, ShadowResult, MAX_DIFF_BYTES};
use crate::error::JobError;
use crate::store::Store;

/// The longest error text stored with a shadow result.
const MAX_ERROR_CHARS: usize = 1000;

/// A job error as stored: `CODE: message`, bounded and storable.
pub(super) fn error_text(e: &JobError) -> String {
    let text = match e {
        JobError::Retryable { code, message } | JobError::Permanent { code, message } => {
            format!("{code}: {message}")
        }
        JobError::Cancel { message } => format!("CANCELLED: {message}"),
        JobError::Snooze(d) => format!("SNOOZE: asked to run again in {d:?}"),
    };
    bounded_text(text)
}

fn bounded_text(text: String) -> String {
    let text = crate::sanitize::owned(text);
    match text.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// One shadow run of a rollout, for one job.
pub(super) struct Shadow<'a, O> {
    pub name: &'a str,
    pub comparator: &'a dyn Comparator<O>,
    pub timeout: Duration,
    pub metrics: &'a RolloutMetrics,
    pub store: &'a dyn Store,
    pub job_id: i64,
    pub key: &'a str,
}

impl<O: 'static> Shadow<'_, O> {
    /// Run both; record what the candidate did; return what the primary did.
    pub(super) async fn run(
        &self,
        primary: impl Future<Output = (Result<O, JobError>, Duration)>,
        candidate: impl Future<Output = Result<O, JobError>>,
        cancel: CancellationToken,
    ) -> Result<O, JobError> {
        let timeout = self.timeout;
        let candidate = async {
            let started = Instant::now();
            let ran =
                tokio::time::timeout(timeout, AssertUnwindSafe(candidate).catch_unwind()).await;
            let outcome = match ran {
                Ok(Ok(Ok(out))) => Ok(out),
                Ok(Ok(Err(e))) => Err((ShadowOutcome::CandidateError, error_text(&e))),
                Ok(Err(panic)) => Err((
                    ShadowOutcome::CandidatePanic,
                    bounded_text(format!(
                        "PANIC: {}",
                        crate::executor::panic_message(panic.as_ref())
                    )),
                )),
                Err(_) => {
                    cancel.cancel();
                    Err((
                        ShadowOutcome::CandidateTimeout,
                        format!("TIMEOUT: the candidate exceeded its timeout of {timeout:?}"),
                    ))
                }
            };
            (outcome, started.elapsed())
        };
        let ((primary, primary_took), (candidate, candidate_took)) =
            futures::join!(primary, candidate);
        self.metrics.ran(super::Variant::Candidate, candidate_took);
        let (outcome, similarity, diff, error) = judge(self.comparator, &primary, candidate);
        self.metrics.shadow(outcome);
        let result = ShadowResult {
            rollout: self.name.to_string(),
            job_id: self.job_id,
            key: crate::sanitize::text(self.key).into_owned(),
            outcome,
            similarity,
            diff: diff.map(|d| crate::sanitize::json(bounded_diff(&d, MAX_DIFF_BYTES))),
            error,
            primary_us: primary_took.as_micros() as i64,
            candidate_us: candidate_took.as_micros() as i64,
            at: Utc::now(),
        };
        if let Err(e) = self.store.rollouts().record_shadow(&result).await {
            tracing::warn!(rollout = %self.name, job_id = self.job_id, error = %e, "could not record a shadow result");
        }
        primary
    }
}

type Judged = (
    ShadowOutcome,
    Option<f64>,
    Option<serde_json::Value>,
    Option<String>,
);

/// The outcome of a shadow run. A candidate that panicked or timed out is that, whatever the
/// primary did; otherwise a failed primary leaves nothing to compare with.
fn judge<O: 'static>(
    comparator: &dyn Comparator<O>,
    primary: &Result<O, JobError>,
    candidate: Result<O, (ShadowOutcome, String)>,
) -> Judged {
    match (primary, candidate) {
        (_, Err((o @ (ShadowOutcome::CandidatePanic | ShadowOutcome::CandidateTimeout), e))) => {
            (o, None, None, Some(e))
        }
        (Err(p), Err((_, c))) => (
            ShadowOutcome::PrimaryError,
            None,
            None,
            Some(bounded_text(format!(
                "primary: {}; candidate: {c}",
                error_text(p)
            ))),
        ),
        (Err(p), Ok(_)) => (ShadowOutcome::PrimaryError, None, None, Some(error_text(p))),
        (Ok(_), Err((o, e))) => (o, None, None, Some(e)),
        (Ok(p), Ok(c)) => match comparator.compare(p, &c) {
            Comparison::Match => (ShadowOutcome::Match, Some(1.0), None, None),
            Comparison::Mismatch { similarity, diff } => (
                ShadowOutcome::Mismatch,
                Some(similarity.clamp(0.0, 1.0)),
                Some(diff),
                None,
            ),
        },
    }
}

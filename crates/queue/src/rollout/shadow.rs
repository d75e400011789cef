//! A shadow run: the candidate in its own task, under its own timeout, holding one of the
//! rollout's shadow permits; then compared with the primary and recorded. Nothing it does
//! reaches the job: a panic ends its task (a `JoinError`), an error or a timeout is a row.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{oneshot, OwnedSemaphorePermit};
use tokio_util::sync::CancellationToken;

use super::MAX_DIFF_BYTES;
use super::{bounded_diff, Comparison, Inner, Role, ShadowOutcome, ShadowResult, VariantContext};
use crate::error::JobError;
use crate::store::Store;

/// What the primary did, handed to the shadow task when it ends.
pub(super) struct PrimaryDone<O> {
    pub result: Result<O, String>,
    pub took: Duration,
}

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

/// Start the candidate beside the primary; the returned sender takes the primary's result.
pub(super) fn start<O, C, CF>(
    inner: Arc<Inner<O>>,
    store: Arc<dyn Store>,
    job_id: i64,
    key: String,
    candidate: C,
    permit: OwnedSemaphorePermit,
) -> oneshot::Sender<PrimaryDone<O>>
where
    O: Clone + Send + Sync + 'static,
    C: FnOnce(VariantContext) -> CF + Send + 'static,
    CF: std::future::Future<Output = Result<O, JobError>> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let cancel = CancellationToken::new();
        let ctx = VariantContext {
            role: Role::Shadow,
            cancel: cancel.clone(),
        };
        let started = Instant::now();
        // Its own task: a panic, even in building the future, ends there.
        let task = tokio::spawn(async move { candidate(ctx).await });
        let abort = task.abort_handle();
        let timeout = inner.options.candidate_timeout;
        let candidate = match tokio::time::timeout(timeout, task).await {
            Ok(Ok(Ok(out))) => Ok(out),
            Ok(Ok(Err(e))) => Err((ShadowOutcome::CandidateError, error_text(&e))),
            Ok(Err(join)) if join.is_panic() => {
                let panic = join.into_panic();
                Err((
                    ShadowOutcome::CandidatePanic,
                    bounded_text(format!(
                        "PANIC: {}",
                        crate::executor::panic_message(panic.as_ref())
                    )),
                ))
            }
            Ok(Err(join)) => Err((
                ShadowOutcome::CandidateError,
                format!("CANCELLED: the candidate's task was stopped: {join}"),
            )),
            Err(_) => {
                cancel.cancel();
                abort.abort();
                Err((
                    ShadowOutcome::CandidateTimeout,
                    format!("TIMEOUT: the candidate exceeded its timeout of {timeout:?}"),
                ))
            }
        };
        let candidate_took = started.elapsed();
        let primary = rx.await.unwrap_or(PrimaryDone {
            result: Err(
                "ABANDONED: the primary did not finish (it panicked, or its job stopped)"
                    .to_string(),
            ),
            took: Duration::ZERO,
        });
        drop(permit);
        let (outcome, similarity, diff, error) =
            judge(&*inner.comparator, primary.result, candidate);
        let metrics = inner
            .metrics
            .get_or_init(|| super::metrics::RolloutMetrics::new(&inner.name));
        metrics.ran(super::Variant::Candidate, candidate_took);
        metrics.shadow(outcome);
        let result = ShadowResult {
            rollout: inner.name.clone(),
            job_id,
            key: crate::sanitize::owned(key),
            outcome,
            similarity,
            diff: diff.map(|d| crate::sanitize::json(bounded_diff(&d, MAX_DIFF_BYTES))),
            error,
            primary_us: primary.took.as_micros() as i64,
            candidate_us: candidate_took.as_micros() as i64,
            at: Utc::now(),
        };
        if let Err(e) = store.rollouts().record_shadow(&result).await {
            tracing::warn!(rollout = %inner.name, job_id, error = %e, "could not record a shadow result");
        }
    });
    tx
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
    comparator: &dyn super::Comparator<O>,
    primary: Result<O, String>,
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
            Some(bounded_text(format!("primary: {p}; candidate: {c}"))),
        ),
        (Err(p), Ok(_)) => (ShadowOutcome::PrimaryError, None, None, Some(p)),
        (Ok(_), Err((o, e))) => (o, None, None, Some(e)),
        (Ok(p), Ok(c)) => match comparator.compare(&p, &c) {
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

//! The executor: runs one claimed job as its own task, under its kind's timeout with panics
//! caught, turns the result into an outcome, and queues the outcome for the completer.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;
use futures::FutureExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::clock;
use crate::error::JobError;
use crate::handler::{Done, Entry, JobContext};
use crate::job::{AttemptError, Completion, FetchedJob, Outcome};
use crate::metrics as m;
use crate::sanitize;
use crate::shared::{Running, Shared, StopReason};

pub(crate) fn spawn_job(
    shared: Arc<Shared>,
    job: FetchedJob,
    permit: tokio::sync::OwnedSemaphorePermit,
    slot_freed: Arc<Notify>,
) {
    let token = shared.hard_stop.child_token();
    let reason = Arc::new(Mutex::new(None));
    if let Ok(mut running) = shared.running.lock() {
        running.insert(
            job.id,
            Running {
                token: token.clone(),
                reason: reason.clone(),
            },
        );
    }
    if shared.fenced.load(Ordering::SeqCst) {
        // Claimed while the heartbeat failed: stop it at once, like the others.
        if let Ok(mut why) = reason.lock() {
            why.get_or_insert(StopReason::Fenced);
        }
        token.cancel();
    }
    // Every log line inside the job carries these (JSON logs put them under `span`). With
    // OpenTelemetry, the span is exported as `job <kind>`, a child of the trace context the
    // job was inserted with (see `crate::trace_context`), with its outcome.
    let span = tracing::info_span!(
        "job",
        job_id = job.id,
        run_id = tracing::field::Empty,
        kind = %job.kind,
        queue = %job.queue,
        attempt = job.attempt,
        otel.name = %format_args!("job {}", job.kind),
        otel.kind = "consumer",
        otel.status_code = tracing::field::Empty,
        outcome = tracing::field::Empty,
        error_code = tracing::field::Empty
    );
    if let Some(run_id) = job.run_id {
        span.record("run_id", run_id);
    }
    crate::trace_context::attach(&span, &job.metadata);
    tokio::spawn(
        async move {
            let id = job.id;
            let outcome = execute(&shared, &job, token, reason).await;
            let completion = Completion {
                id,
                attempt: job.attempt,
                outcome,
            };
            // A limited job's slot is free for this process's next claim from here on.
            shared.store.handler_returned(id);
            // Backpressure: wait for room in the completer's buffer while holding the slot.
            let _ = shared.completions.send(completion).await;
            if let Ok(mut running) = shared.running.lock() {
                running.remove(&id);
            }
            drop(permit);
            slot_freed.notify_one();
            shared.idle.notify_waiters();
        }
        .instrument(span),
    );
}

/// The error record of an attempt, its text made storable (see [`crate::sanitize`]).
fn attempt_error(shared: &Shared, job: &FetchedJob, code: &str, message: String) -> AttemptError {
    AttemptError {
        attempt: job.attempt,
        at: Utc::now(),
        code: sanitize::text(code).into_owned(),
        message: sanitize::owned(message),
        worker: sanitize::text(&shared.config.id).into_owned(),
    }
}

async fn execute(
    shared: &Shared,
    job: &FetchedJob,
    token: CancellationToken,
    reason: Arc<Mutex<Option<StopReason>>>,
) -> Outcome {
    let started = Instant::now();
    // Registered kinds use their handles; an unknown kind pays for its labels.
    let metrics = shared
        .metrics
        .get(&job.kind)
        .and_then(|by_queue| by_queue.get(&job.queue));
    match metrics {
        Some(km) => km.started(job.scheduled_at),
        None => m::queue_latency(&job.queue, &job.kind, job.scheduled_at),
    }
    let record = |outcome: &Outcome| match metrics {
        Some(km) => km.finished(outcome, started.elapsed()),
        None => m::finished(&job.queue, &job.kind, outcome, started.elapsed()),
    };
    let Some(entry) = shared.entries.get(&job.kind) else {
        tracing::error!(kind = %job.kind, "no handler for this job kind in this worker");
        let outcome = retry_or_discard(
            job,
            None,
            attempt_error(
                shared,
                job,
                "UNKNOWN_KIND",
                format!(
                    "worker {} has no handler for job kind `{}` (queue `{}`)",
                    shared.config.id, job.kind, job.queue
                ),
            ),
        );
        record(&outcome);
        return outcome;
    };
    let completing = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ctx = JobContext {
        id: job.id,
        kind: job.kind.clone(),
        queue: job.queue.clone(),
        attempt: job.attempt,
        max_attempts: job.max_attempts,
        created_at: job.created_at,
        scheduled_at: job.scheduled_at,
        worker: shared.config.id.clone(),
        metadata: job.metadata.clone(),
        cancel: token.clone(),
        store: shared.store.clone(),
        completing: completing.clone(),
        step_inputs: job.step_inputs.clone(),
    };
    let timeout = entry.spec.options.timeout;
    let fut = AssertUnwindSafe(entry.handler.call(ctx, &job.args)).catch_unwind();
    let mut fut = std::pin::pin!(tokio::time::timeout(timeout, fut));
    let finished = |r: std::result::Result<std::thread::Result<_>, _>| match r {
        Ok(Ok(res)) => Ok(res),
        Ok(Err(panic)) => Err(("PANIC", panic_message(panic.as_ref()))),
        Err(_) => {
            token.cancel();
            Err((
                "TIMEOUT",
                format!("attempt exceeded the kind's timeout of {timeout:?}"),
            ))
        }
    };
    let result = tokio::select! {
        // A fired token wins over a handler that returns in the same poll: the cancel or
        // shutdown was requested first.
        biased;
        _ = token.cancelled() => {
            if completing.load(std::sync::atomic::Ordering::SeqCst) {
                // The handler is committing its own completion: abandoning it now could
                // leave a committed success behind a recorded cancel. It finishes (still
                // under the timeout), and its result is the outcome.
                finished((&mut fut).await)
            } else {
                let why = reason.lock().ok().and_then(|r| *r);
                Err(match why {
                    Some(StopReason::Shutdown) => ("SHUTDOWN", "the worker shut down before the job finished".to_string()),
                    Some(StopReason::Fenced) => ("FENCED", "the worker could not renew its heartbeat in time and stopped the job before it could be rescued".to_string()),
                    _ => ("CANCELLED", "the job was cancelled while running".to_string()),
                })
            }
        }
        r = &mut fut => finished(r),
    };
    let outcome = match result {
        Ok(Ok(Done::Ok)) => Outcome::Completed,
        Ok(Ok(Done::Step(step))) => Outcome::StepDone(step),
        Ok(Err(JobError::Retryable { code, message })) => {
            retry_or_discard(job, Some(entry), attempt_error(shared, job, &code, message))
        }
        Ok(Err(JobError::Permanent { code, message })) => Outcome::Discard {
            error: attempt_error(shared, job, &code, message),
        },
        Ok(Err(JobError::Cancel { message })) => Outcome::Cancel {
            error: attempt_error(shared, job, "CANCELLED", message),
        },
        Ok(Err(JobError::Snooze(d))) => Outcome::Snooze {
            at: clock::in_future(d),
            error: None,
        },
        Err(("CANCELLED", message)) => Outcome::Cancel {
            error: attempt_error(shared, job, "CANCELLED", message),
        },
        Err((code @ ("SHUTDOWN" | "FENCED"), message)) => Outcome::Interrupted {
            error: attempt_error(shared, job, code, message),
        },
        Err((code, message)) => {
            retry_or_discard(job, Some(entry), attempt_error(shared, job, code, message))
        }
    };
    let span = tracing::Span::current();
    span.record("outcome", outcome.state().as_str());
    if let Some(e) = outcome.error() {
        span.record("otel.status_code", "error");
        span.record("error_code", e.code.as_str());
        tracing::warn!(code = %e.code, message = %e.message, next = outcome.state().as_str(), "job attempt failed");
    }
    record(&outcome);
    outcome
}

fn retry_or_discard(job: &FetchedJob, entry: Option<&Entry>, error: AttemptError) -> Outcome {
    if job.attempt >= job.max_attempts {
        return Outcome::Discard { error };
    }
    let delay = entry
        .map(|e| e.spec.options.backoff)
        .unwrap_or_default()
        .delay(job.attempt);
    Outcome::Retry {
        at: clock::in_future(delay),
        error,
    }
}

pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        format!("handler panicked: {s}")
    } else if let Some(s) = p.downcast_ref::<String>() {
        format!("handler panicked: {s}")
    } else {
        "handler panicked".to_string()
    }
}

//! The completer: records the outcomes of attempts in batches, and never drops one.
//!
//! Executors hand their outcomes over a bounded channel (a slow database pushes back on
//! them); the completer writes whatever has arrived as one batch. A batch that fails is
//! never given up while the worker lives, because a dropped outcome leaves its job `running`
//! for as long as the worker heartbeats, and the rescuer only takes dead workers' jobs:
//!
//! - when the database is out of reach (the error is transient, or a probe read fails too),
//!   the same batch is retried with backoff;
//! - when the database answers but rejects the batch, the batch is split in halves until the
//!   rejected outcome is alone, so one bad outcome does not hold back the others;
//! - an outcome rejected on its own is replaced by its plain form: the same next state, with a
//!   fixed error record the engine wrote itself (the database's error goes to the log).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::job::{AttemptError, Completion, Outcome};
use crate::metrics as m;
use crate::store::Store;

/// The code of an outcome whose own error record the database refused to store.
pub const OUTCOME_REJECTED: &str = "OUTCOME_REJECTED";

/// Receive outcomes and record them, until every sender is gone and the channel is empty.
pub(crate) async fn run(store: Arc<dyn Store>, max: usize, mut rx: mpsc::Receiver<Completion>) {
    let max = max.max(1);
    let mut batch: Vec<Completion> = Vec::with_capacity(max);
    loop {
        if rx.recv_many(&mut batch, max).await == 0 {
            return;
        }
        record(&*store, std::mem::take(&mut batch)).await;
    }
}

/// Write `batch`, splitting and simplifying it as needed (see the module's doc). Returns only
/// when every outcome was applied (or found to be stale: its job was no longer running that
/// attempt, which the store reports as applied-nothing rather than as an error).
pub(crate) async fn record(store: &dyn Store, batch: Vec<Completion>) {
    let mut todo: Vec<Vec<Completion>> = vec![batch];
    let mut failures: u32 = 0;
    while let Some(mut part) = todo.pop() {
        if part.is_empty() {
            continue;
        }
        let started = Instant::now();
        let err = match store.complete(&part).await {
            Ok(_) => {
                failures = 0;
                m::completion_batch(part.len(), started.elapsed());
                continue;
            }
            Err(e) => e,
        };
        let reachable = !err.is_transient() && store.migration_status().await.is_ok();
        if reachable && part.len() > 1 {
            tracing::warn!(error = %err, jobs = part.len(), "the database rejected a batch of outcomes; splitting it to find the rejected one");
            let right = part.split_off(part.len() / 2);
            todo.push(right);
            todo.push(part);
            continue;
        }
        if reachable {
            if let Some(plain) = plain(&part[0]) {
                tracing::error!(error = %err, job = part[0].id, attempt = part[0].attempt, "the database rejected this outcome; recording it with a plain error record");
                todo.push(vec![plain]);
                continue;
            }
        }
        failures = failures.saturating_add(1);
        let backoff = Duration::from_millis(50 * 2u64.pow(failures.min(7)));
        tracing::error!(error = %err, jobs = part.len(), "recording outcomes failed; retrying in {backoff:?}");
        tokio::time::sleep(backoff).await;
        todo.push(part);
    }
}

/// The outcome with its error record replaced by one the engine writes itself, or `None`
/// when it has no error record to replace (or already is plain).
fn plain(c: &Completion) -> Option<Completion> {
    if let Outcome::StepDone(step) = &c.outcome {
        // The step's output (or its run) is what was rejected: the step fails, plainly.
        return Some(Completion {
            id: c.id,
            attempt: c.attempt,
            outcome: Outcome::Discard {
                error: AttemptError {
                    attempt: c.attempt,
                    at: chrono::Utc::now(),
                    code: OUTCOME_REJECTED.to_string(),
                    message: format!(
                        "the database rejected the completion of step {} of run {}; the \
                         worker's log has the database's error",
                        step.step_index, step.run_id
                    ),
                    worker: String::new(),
                },
            },
        });
    }
    let error = c.outcome.error()?;
    if error.code == OUTCOME_REJECTED {
        return None;
    }
    let state = c.outcome.state();
    let code: String = error
        .code
        .chars()
        .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '_')
        .take(64)
        .collect();
    let replacement = AttemptError {
        attempt: error.attempt,
        at: error.at,
        code: OUTCOME_REJECTED.to_string(),
        message: format!(
            "the attempt ended `{state}` with error code `{code}`, but the database rejected \
             its error record; the worker's log has the database's error"
        ),
        worker: error
            .worker
            .chars()
            .filter(|ch| ch.is_ascii_graphic())
            .take(200)
            .collect(),
    };
    let outcome = match &c.outcome {
        Outcome::Retry { at, .. } => Outcome::Retry {
            at: *at,
            error: replacement,
        },
        Outcome::Discard { .. } => Outcome::Discard { error: replacement },
        Outcome::Cancel { .. } => Outcome::Cancel { error: replacement },
        Outcome::Interrupted { .. } => Outcome::Interrupted { error: replacement },
        Outcome::Snooze { at, .. } => Outcome::Snooze {
            at: *at,
            error: Some(replacement),
        },
        Outcome::Completed | Outcome::StepDone(_) => return None,
    };
    Some(Completion {
        id: c.id,
        attempt: c.attempt,
        outcome,
    })
}

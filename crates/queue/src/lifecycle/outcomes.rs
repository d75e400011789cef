//! The end of attempts, recorded in batches: what each outcome does to its job (and, for a
//! step job, to its run).
//!
//! The next state of an attempt is decided where the attempt ends ([`crate::job::Outcome`]:
//! completed, retry at a time, snooze, discard, cancel, interrupted); here a batch is split
//! by what it needs written and each part is applied with one fenced statement.

use super::failure::{self, RunFailure};
use super::steps;
use super::Statements;
use crate::error::Result;
use crate::job::{Completion, Outcome};
use crate::run::StepCompletion;

/// Record a batch of outcomes. An outcome whose job is no longer running that attempt
/// changes nothing. Returns how many applied.
pub async fn record<S: Statements>(s: &mut S, batch: &[Completion]) -> Result<usize> {
    let mut applied = 0;
    let mut done: Vec<(i64, i32)> = Vec::new();
    let mut step_done: Vec<&StepCompletion> = Vec::new();
    let mut other: Vec<&Completion> = Vec::new();
    for c in batch {
        match &c.outcome {
            Outcome::Completed => done.push((c.id, c.attempt)),
            Outcome::StepDone(step) => step_done.push(step),
            _ => other.push(c),
        }
    }
    if !done.is_empty() {
        applied += s.complete_jobs(&done).await? as usize;
    }
    applied += steps::complete(s, &step_done).await?;
    if !other.is_empty() {
        let ended = s.record_outcomes(&other).await?;
        let mut failures: Vec<RunFailure> = Vec::new();
        for (c, e) in other.iter().zip(ended) {
            let Some(e) = e else { continue };
            applied += 1;
            if let Some(run_id) = e.run_id {
                failures.extend(failure::of_step_job(
                    run_id,
                    c.id,
                    &e.kind,
                    c.outcome.state(),
                    c.outcome.error(),
                ));
            }
        }
        failure::apply(s, &failures).await?;
    }
    Ok(applied)
}

/// Whether recording `batch` may touch runs (and so needs one transaction around its
/// statements); a batch of plain jobs' outcomes is a set of independent statements.
pub fn touches_runs(batch: &[Completion]) -> bool {
    batch
        .iter()
        .any(|c| !matches!(c.outcome, Outcome::Completed))
}

//! The rescuer: returns the running jobs of dead workers.
//!
//! A worker whose heartbeat is older than `rescue_after` is dead (a live one fences itself
//! before that, see [`crate::heartbeat`]). Each of its running jobs is decided here, once for
//! both backends; the driver applies the decisions with one fenced statement (the job must
//! still be running that attempt under a stale worker, and the leader's lease must hold):
//!
//! - a job that was asked to cancel is `cancelled`;
//! - a pipeline step whose intermediate checkpoint moved during the lost attempt gets the
//!   attempt back (`max_attempts` + 1), at most `max_credits` times per job: a long
//!   checkpointed step on a machine that crashes now and then still finishes, while a step
//!   that crashes its worker at the same point every time still runs out of attempts;
//! - otherwise a job with attempts left is `retryable` (now), and one without is `discarded`.

use std::time::Duration;

use chrono::Utc;

use crate::error::Result;
use crate::job::{AttemptError, JobState};
use crate::store::{rescue_message, Lease, Rescue, StaleJob, Store};

/// Most jobs rescued by one round.
const BATCH: usize = 10_000;

/// Decide the fate of one stale job.
pub fn decide(job: &StaleJob, max_credits: i32, message: &str) -> Rescue {
    let credit = !job.cancel_requested && job.progressed && job.credits < max_credits.max(0);
    let state = if job.cancel_requested {
        JobState::Cancelled
    } else if credit || job.attempt < job.max_attempts {
        JobState::Retryable
    } else {
        JobState::Discarded
    };
    Rescue {
        id: job.id,
        attempt: job.attempt,
        state,
        credit,
        error: AttemptError {
            attempt: job.attempt,
            at: Utc::now(),
            code: "RESCUED".into(),
            message: if credit {
                format!("{message}; the step's checkpoint moved during the attempt, so it does not count")
            } else {
                message.to_string()
            },
            worker: job.worker.clone(),
        },
    }
}

/// One round of rescue. Returns the number of jobs rescued.
pub async fn rescue(
    store: &dyn Store,
    lease: &Lease,
    stale: Duration,
    max_credits: i32,
) -> Result<u64> {
    let jobs = store.stale_jobs(lease, stale, BATCH).await?;
    if jobs.is_empty() {
        return Ok(0);
    }
    let message = rescue_message(stale);
    let rescues: Vec<Rescue> = jobs
        .iter()
        .map(|j| decide(j, max_credits, &message))
        .collect();
    store.rescue_jobs(lease, stale, &rescues).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stale(attempt: i32, max: i32, progressed: bool, credits: i32) -> StaleJob {
        StaleJob {
            id: 1,
            attempt,
            max_attempts: max,
            cancel_requested: false,
            worker: "w".into(),
            progressed,
            credits,
        }
    }

    #[test]
    fn progress_gives_the_attempt_back_within_the_bound() {
        let r = decide(&stale(1, 1, true, 0), 3, "m");
        assert_eq!((r.state, r.credit), (JobState::Retryable, true));
        let r = decide(&stale(1, 1, true, 3), 3, "m");
        assert_eq!((r.state, r.credit), (JobState::Discarded, false));
        let r = decide(&stale(1, 1, false, 0), 3, "m");
        assert_eq!((r.state, r.credit), (JobState::Discarded, false));
        let r = decide(&stale(1, 2, false, 0), 3, "m");
        assert_eq!((r.state, r.credit), (JobState::Retryable, false));
        let mut c = stale(1, 2, true, 0);
        c.cancel_requested = true;
        let r = decide(&c, 3, "m");
        assert_eq!((r.state, r.credit), (JobState::Cancelled, false));
    }
}

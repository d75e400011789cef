//! The fate of a running job whose worker stopped heartbeating (see [`crate::rescuer`], the
//! maintenance service that finds them and applies these decisions each round).
//!
//! - a job that was asked to cancel is `cancelled`;
//! - a pipeline step whose intermediate checkpoint moved during the lost attempt gets the
//!   attempt back (`max_attempts` + 1), at most `max_credits` times per job: a long
//!   checkpointed step on a machine that crashes now and then still finishes, while a step
//!   that crashes its worker at the same point every time still runs out of attempts;
//! - otherwise a job with attempts left is `retryable` (now), and one without is `discarded`;
//! - a step job that ends `cancelled` or `discarded` fails its run ([`super::failure`]).

use std::time::Duration;

use chrono::Utc;

use super::failure::{self, RunFailure};
use super::Statements;
use crate::error::Result;
use crate::job::{AttemptError, JobState};
use crate::lease::Lease;

/// A running job whose worker stopped heartbeating, as the rescuer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleJob {
    pub id: i64,
    pub attempt: i32,
    pub max_attempts: i32,
    pub cancel_requested: bool,
    /// The worker of the attempt.
    pub worker: String,
    /// A pipeline step whose intermediate checkpoint was written during this attempt.
    pub progressed: bool,
    /// Attempts already given back for progress.
    pub credits: i32,
    pub kind: String,
    pub run_id: Option<i64>,
    /// The job's metadata (JSON text): the rescue's span joins the trace it carries.
    pub metadata: String,
}

/// The rescuer's decision for one stale job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rescue {
    pub id: i64,
    /// The attempt the decision is about (the fence).
    pub attempt: i32,
    /// `retryable`, `cancelled` or `discarded`.
    pub state: JobState,
    /// Give the attempt back: `max_attempts` and the credits both grow by one.
    pub credit: bool,
    pub error: AttemptError,
}

/// The row of a rescued attempt as written in the error history.
pub fn message(stale: Duration) -> String {
    format!(
        "the worker running this attempt stopped heartbeating for more than {}s (crashed or lost)",
        stale.as_secs_f64()
    )
}

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

/// Apply the decisions (fenced by the driver: the job still running that attempt under a
/// stale worker, the lease held) and fail the runs of the step jobs they end. Returns how
/// many applied.
pub async fn apply<S: Statements>(
    s: &mut S,
    lease: &Lease,
    stale: Duration,
    rescues: &[Rescue],
) -> Result<u64> {
    let ended = s.rescue_jobs(lease, stale, rescues).await?;
    let mut n = 0;
    let mut failures: Vec<RunFailure> = Vec::new();
    for (r, e) in rescues.iter().zip(ended) {
        let Some(e) = e else { continue };
        n += 1;
        if let Some(run_id) = e.run_id {
            failures.extend(failure::of_step_job(
                run_id,
                r.id,
                &e.kind,
                r.state,
                Some(&r.error),
            ));
        }
    }
    failure::apply(s, &failures).await?;
    Ok(n)
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
            kind: "k".into(),
            run_id: None,
            metadata: "{}".into(),
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

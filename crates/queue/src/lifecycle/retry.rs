//! An operator's retry of a job: decided here once, applied by
//! [`Statements::retry_job`](super::Statements::retry_job).

use super::{JobHead, Statements};
use crate::error::{Error, Result};
use crate::job::{Job, JobState};

/// What a retry does to a job: it becomes `available` now (its `finalized_at` and cancel
/// request cleared by the statement, as for any job leaving a final state), and it has at
/// least one attempt left (`max_attempts = max(max_attempts, attempt + 1)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub state: JobState,
    pub max_attempts: i32,
}

/// The retry of job `id` as it is now: any state but `running` may be retried (a running
/// job is cancelled first, so that two attempts never run at once).
pub fn decide(id: i64, head: &JobHead) -> Result<Retry> {
    if head.state == JobState::Running {
        return Err(Error::InvalidState(format!(
            "job {id} is {}; cancel it before retrying",
            head.state
        )));
    }
    Ok(Retry {
        state: JobState::Available,
        max_attempts: head.max_attempts.max(head.attempt.saturating_add(1)),
    })
}

/// Retry job `id` (see [`decide`]).
pub async fn job<S: Statements>(s: &mut S, id: i64) -> Result<Job> {
    let head = s.lock_job(id).await?.ok_or(Error::JobNotFound(id))?;
    let retry = decide(id, &head)?;
    s.retry_job(id, &retry).await?.ok_or(Error::JobNotFound(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(state: JobState, attempt: i32, max_attempts: i32) -> JobHead {
        JobHead {
            state,
            kind: "k".into(),
            run_id: None,
            attempt,
            max_attempts,
            last_error: None,
        }
    }

    #[test]
    fn a_running_job_is_not_retried() {
        let err = decide(7, &head(JobState::Running, 1, 3)).unwrap_err();
        assert!(matches!(err, Error::InvalidState(m) if m.contains("job 7 is running")));
    }

    #[test]
    fn an_exhausted_job_gets_one_more_attempt() {
        let r = decide(7, &head(JobState::Discarded, 3, 3)).unwrap();
        assert_eq!(
            r,
            Retry {
                state: JobState::Available,
                max_attempts: 4
            }
        );
    }

    #[test]
    fn a_job_with_attempts_left_keeps_its_budget() {
        let r = decide(7, &head(JobState::Cancelled, 1, 5)).unwrap();
        assert_eq!(r.max_attempts, 5);
        assert_eq!(r.state, JobState::Available);
    }
}

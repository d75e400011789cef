//! Cancelling and discarding: a job by an operator, a whole run by its owner.

use super::events::{self, RunEvents};
use super::failure::{self, RunFailure};
use super::Statements;
use crate::error::{Error, Result};
use crate::job::{CancelOutcome, Job, JobState};
use crate::run::{RunCancelOutcome, RunState, RUN_CANCELLED};

/// What cancelling a job in `state` does: a pending job is cancelled now, a running one is
/// asked to stop (its worker records the end), a finished one is left alone.
pub fn decide_job(state: JobState) -> CancelOutcome {
    match state {
        s if s.is_final() => CancelOutcome::AlreadyFinal(s),
        JobState::Running => CancelOutcome::Requested,
        _ => CancelOutcome::Cancelled,
    }
}

/// Cancel a job (see [`decide_job`]); a pending step job's cancel fails its run.
pub async fn job<S: Statements>(s: &mut S, id: i64) -> Result<CancelOutcome> {
    let head = s.lock_job(id).await?.ok_or(Error::JobNotFound(id))?;
    let out = decide_job(head.state);
    match out {
        CancelOutcome::AlreadyFinal(_) => {}
        CancelOutcome::Requested => s.cancel_job(id, true).await?,
        CancelOutcome::Cancelled => {
            s.cancel_job(id, false).await?;
            if let Some(run_id) = head.run_id {
                let f = failure::of_step_job(
                    run_id,
                    id,
                    &head.kind,
                    JobState::Cancelled,
                    head.last_error.as_ref(),
                );
                failure::apply(s, f.as_slice()).await?;
            }
        }
    }
    Ok(out)
}

/// Discard a job that is not running; a step job's discard fails its run.
pub async fn discard<S: Statements>(s: &mut S, id: i64) -> Result<Job> {
    let head = s.lock_job(id).await?.ok_or(Error::JobNotFound(id))?;
    if head.state == JobState::Running {
        return Err(Error::InvalidState(format!(
            "job {id} is running; cancel it instead of discarding"
        )));
    }
    let job = s.discard_job(id).await?.ok_or(Error::JobNotFound(id))?;
    if let Some(run_id) = head.run_id {
        let f = failure::of_step_job(
            run_id,
            id,
            &head.kind,
            JobState::Discarded,
            job.errors.last(),
        );
        failure::apply(s, f.as_slice()).await?;
    }
    Ok(job)
}

/// Cancel a running run: it fails with code `CANCELLED` (one `failed` event), and its
/// unfinished step job is cancelled (pending) or asked to stop (running). The run is locked
/// first, so a step finishing meanwhile finds it failed and does not advance it.
pub async fn run<S: Statements>(s: &mut S, run_id: i64) -> Result<RunCancelOutcome> {
    let head = s
        .lock_run(run_id)
        .await?
        .ok_or(Error::RunNotFound(run_id))?;
    if head.state != RunState::Running {
        return Ok(RunCancelOutcome::AlreadyFinal(head.state));
    }
    let current = s.current_step_job(run_id).await?;
    let (code, message) = RUN_CANCELLED;
    let f = RunFailure {
        run_id,
        job_id: current,
        stage: head.stage.clone(),
        code: code.into(),
        message: message.into(),
    };
    let failed = s.fail_runs(std::slice::from_ref(&f)).await?;
    if failed.first().copied().unwrap_or(false) {
        s.append_events(&[RunEvents::new(run_id, false).push(events::failed(
            current,
            head.stage.as_deref(),
            code,
            message,
        ))])
        .await?;
    }
    let stopped = s.stop_run_jobs(run_id).await?;
    Ok(RunCancelOutcome::Cancelled {
        step_job: stopped.or(current),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancelling_depends_on_the_state_alone() {
        assert_eq!(decide_job(JobState::Running), CancelOutcome::Requested);
        for s in [
            JobState::Available,
            JobState::Scheduled,
            JobState::Retryable,
        ] {
            assert_eq!(decide_job(s), CancelOutcome::Cancelled);
        }
        for s in [
            JobState::Completed,
            JobState::Cancelled,
            JobState::Discarded,
        ] {
            assert_eq!(decide_job(s), CancelOutcome::AlreadyFinal(s));
        }
    }
}

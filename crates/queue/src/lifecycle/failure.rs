//! A run fails once: when one of its step jobs ends without success (discarded, cancelled,
//! by any path: its own outcome, a rescue, an operator), or when it is cancelled.

use super::events::{self, RunEvents};
use super::Statements;
use crate::error::Result;
use crate::job::{AttemptError, JobState};

/// A decided failure of a run, applied only while the run is `running`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFailure {
    pub run_id: i64,
    /// The step job that ended it, if any.
    pub job_id: Option<i64>,
    pub stage: Option<String>,
    pub code: String,
    pub message: String,
}

/// The failure a step job's end brings to its run: none unless the job ended `discarded` or
/// `cancelled`; then the code and message of its last error, or ones naming the step.
pub fn of_step_job(
    run_id: i64,
    job_id: i64,
    step: &str,
    state: JobState,
    last_error: Option<&AttemptError>,
) -> Option<RunFailure> {
    let fallback = match state {
        JobState::Discarded => "DISCARDED",
        JobState::Cancelled => "CANCELLED",
        _ => return None,
    };
    Some(RunFailure {
        run_id,
        job_id: Some(job_id),
        stage: Some(step.to_string()),
        code: last_error.map_or_else(|| fallback.to_string(), |e| e.code.clone()),
        message: last_error
            .map_or_else(|| format!("step {step} was {state}"), |e| e.message.clone()),
    })
}

/// Fail the runs that are still running, each with its one terminal `failed` event, and
/// stop their other unfinished step jobs (fail-fast: the parallel branches and items of a
/// failed run are cancelled, pending ones now, running ones by request).
pub async fn apply<S: Statements>(s: &mut S, failures: &[RunFailure]) -> Result<()> {
    if failures.is_empty() {
        return Ok(());
    }
    let failed = s.fail_runs(failures).await?;
    let now_failed: Vec<&RunFailure> = failures
        .iter()
        .zip(&failed)
        .filter(|(_, failed)| **failed)
        .map(|(f, _)| f)
        .collect();
    for f in &now_failed {
        s.stop_run_jobs(f.run_id).await?;
    }
    let events: Vec<RunEvents> = now_failed
        .into_iter()
        .map(|f| {
            RunEvents::new(f.run_id, false).push(events::failed(
                f.job_id,
                f.stage.as_deref(),
                &f.code,
                &f.message,
            ))
        })
        .collect();
    s.append_events(&events).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_a_step_job_that_ends_without_success_fails_its_run() {
        for st in [
            JobState::Completed,
            JobState::Retryable,
            JobState::Scheduled,
        ] {
            assert!(of_step_job(1, 2, "a", st, None).is_none());
        }
        let f = of_step_job(1, 2, "a", JobState::Cancelled, None).unwrap();
        assert_eq!(
            (f.code.as_str(), f.message.as_str()),
            ("CANCELLED", "step a was cancelled")
        );
        let err = AttemptError {
            attempt: 1,
            at: chrono::Utc::now(),
            code: "B_BROKE".into(),
            message: "no".into(),
            worker: String::new(),
        };
        let f = of_step_job(1, 2, "a", JobState::Discarded, Some(&err)).unwrap();
        assert_eq!((f.code.as_str(), f.message.as_str()), ("B_BROKE", "no"));
    }
}

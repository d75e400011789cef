//! A run's steps: which job a step gets, what a finished step does to its run, and where a
//! resumed run starts again.

use serde::{Deserialize, Serialize};

use super::events::{self, RunEvents};
use super::Statements;
use crate::error::{Error, Result};
use crate::job::FetchedJob;
use crate::run::{Run, RunState, StepCompletion, StepSpec, Then};

/// The arguments of a step's job: its run and its index in the run's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepArgs {
    pub run_id: i64,
    pub step: usize,
}

/// The job of step `index` of a run, to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct StepJob {
    pub run_id: i64,
    pub index: usize,
    pub spec: StepSpec,
}

impl StepJob {
    /// The job's metadata as stored: the step's, fixed at submission, or `{}`.
    pub fn metadata(&self) -> String {
        self.spec
            .metadata
            .as_ref()
            .map_or_else(|| "{}".to_string(), |m| m.to_string())
    }

    /// The job's arguments, as the step's handler reads them.
    pub fn args(&self) -> serde_json::Value {
        serde_json::json!(StepArgs {
            run_id: self.run_id,
            step: self.index,
        })
    }
}

/// Decide what the completion of step `index` of `run` does, from the run's steps: the share
/// of the run done, and either the next step's job or the run's result.
///
/// Steps are fixed at submission, so the decision made when the step finishes still holds
/// when the completion is written; what may have changed meanwhile (the run was cancelled,
/// the step was redelivered and completed already) is checked by the driver's statement,
/// which advances the run only while it is `running` at this step.
pub fn completion(
    run: &Run,
    job_id: i64,
    attempt: i32,
    index: usize,
    output: serde_json::Value,
) -> Result<StepCompletion> {
    let spec = run
        .steps
        .get(index)
        .ok_or_else(|| Error::Corrupt(format!("run {} has no step {index}", run.id)))?;
    let then = match run.steps.get(index + 1) {
        Some(next) => Then::Next(next.clone()),
        None => Then::Finish {
            result_ttl: std::time::Duration::from_secs(spec.result_ttl_secs),
        },
    };
    Ok(StepCompletion {
        job_id,
        attempt,
        run_id: run.id,
        step_index: index,
        step: spec.kind.clone(),
        progress: (((index + 1) * 100) / run.steps.len().max(1)).min(100) as i16,
        output,
        then,
    })
}

/// Insert step jobs with their `queued` events. Returns the new jobs' ids, in input order.
pub async fn insert<S: Statements>(s: &mut S, jobs: &[StepJob]) -> Result<Vec<i64>> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let ids = s.insert_step_jobs(jobs).await?;
    let events: Vec<RunEvents> = jobs
        .iter()
        .zip(&ids)
        .map(|(j, &id)| RunEvents::new(j.run_id, true).push(events::queued(id, &j.spec.kind)))
        .collect();
    s.append_events(&events).await?;
    Ok(ids)
}

/// Start a new run: its first step's job. The run row exists (written by the driver).
pub async fn start<S: Statements>(s: &mut S, run_id: i64, steps: &[StepSpec]) -> Result<i64> {
    let first = steps
        .first()
        .ok_or_else(|| Error::InvalidConfig(format!("run {run_id} has no steps")))?;
    let job = StepJob {
        run_id,
        index: 0,
        spec: first.clone(),
    };
    let ids = insert(s, &[job]).await?;
    ids.first()
        .copied()
        .ok_or_else(|| Error::Corrupt("a step job insert returned no id".into()))
}

/// Record finished steps: each job's completion and checkpoint; for each that is its run's
/// current step, the `completed` event and either the next step's job (with its `queued`
/// event) or the run's result and `done` event. Returns how many jobs were still running
/// that attempt (the others change nothing).
pub async fn complete<S: Statements>(s: &mut S, steps: &[&StepCompletion]) -> Result<usize> {
    if steps.is_empty() {
        return Ok(0);
    }
    let applied = s.advance_steps(steps).await?;
    let advanced: Vec<&StepCompletion> = steps
        .iter()
        .zip(&applied)
        .filter(|(_, a)| a.run_advanced)
        .map(|(c, _)| *c)
        .collect();
    let next: Vec<StepJob> = advanced
        .iter()
        .filter_map(|c| match &c.then {
            Then::Next(spec) => Some(StepJob {
                run_id: c.run_id,
                index: c.step_index + 1,
                spec: spec.clone(),
            }),
            Then::Finish { .. } => None,
        })
        .collect();
    let ids = if next.is_empty() {
        Vec::new()
    } else {
        s.insert_step_jobs(&next).await?
    };
    let mut new_ids = ids.into_iter();
    let mut batch = Vec::with_capacity(advanced.len());
    for c in advanced {
        let evs =
            RunEvents::new(c.run_id, false).push(events::completed(c.job_id, &c.step, c.progress));
        batch.push(match &c.then {
            Then::Next(spec) => {
                let id = new_ids
                    .next()
                    .ok_or_else(|| Error::Corrupt("a step job insert returned no id".into()))?;
                evs.push(events::queued(id, &spec.kind))
            }
            Then::Finish { .. } => evs.push(events::done(c.job_id, &c.step)),
        });
    }
    s.append_events(&batch).await?;
    Ok(applied.iter().filter(|a| a.job_completed).count())
}

/// Claimed step jobs each get a `started` event (while their run is running).
pub async fn claimed<S: Statements>(s: &mut S, jobs: &[FetchedJob]) -> Result<()> {
    let evs: Vec<RunEvents> = jobs
        .iter()
        .filter_map(|j| {
            j.run_id
                .map(|run| events::started(run, j.id, &j.kind, j.attempt))
        })
        .collect();
    if evs.is_empty() {
        return Ok(());
    }
    s.append_events(&evs).await
}

/// Where a failed run resumes: its first step without a checkpoint.
pub fn resume_point(
    run_id: i64,
    state: RunState,
    steps: &[StepSpec],
    done: &[String],
) -> Result<(usize, StepSpec)> {
    if state != RunState::Failed {
        return Err(Error::InvalidState(format!(
            "run {run_id} is {}; only a failed run can be resumed",
            state.as_str()
        )));
    }
    steps
        .iter()
        .enumerate()
        .find(|(_, s)| !done.contains(&s.kind))
        .map(|(i, s)| (i, s.clone()))
        .ok_or_else(|| {
            Error::InvalidState(format!(
                "run {run_id} has a checkpoint for every step; nothing to resume"
            ))
        })
}

/// Restart a failed run from its first step without a checkpoint. Returns the step's queue.
pub async fn resume<S: Statements>(s: &mut S, run_id: i64) -> Result<String> {
    let head = s
        .lock_run(run_id)
        .await?
        .ok_or(Error::RunNotFound(run_id))?;
    let done = s.done_steps(run_id).await?;
    let (index, spec) = resume_point(run_id, head.state, &head.steps, &done)?;
    s.restart_run(run_id, index, &spec.kind).await?;
    let queue = spec.queue.clone();
    insert(
        s,
        &[StepJob {
            run_id,
            index,
            spec,
        }],
    )
    .await?;
    Ok(queue)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec(kind: &str) -> StepSpec {
        StepSpec {
            kind: kind.into(),
            queue: "q".into(),
            max_attempts: 3,
            priority: 1,
            result_ttl_secs: 60,
            partition_key: None,
            metadata: None,
        }
    }

    #[test]
    fn a_resumed_run_starts_at_its_first_step_without_a_checkpoint() {
        let steps = [spec("a"), spec("b"), spec("c")];
        let (i, s) = resume_point(1, RunState::Failed, &steps, &["a".into()]).unwrap();
        assert_eq!((i, s.kind.as_str()), (1, "b"));
        let all: Vec<String> = steps.iter().map(|s| s.kind.clone()).collect();
        assert!(resume_point(1, RunState::Failed, &steps, &all).is_err());
        assert!(resume_point(1, RunState::Running, &steps, &[]).is_err());
    }
}

//! The driver's statements as values, so that one transaction of them can be asked of any
//! store ([`crate::store::Store::apply_ops`]): what the driver conformance suite
//! ([`crate::driver_tests`]) exercises, on every backend, through the same door.

use std::time::Duration;

use super::{
    Advanced, Ended, JobHead, Rescue, Retry, RunEvents, RunFailure, RunHead, Statements, StepJob,
};
use crate::error::{Error, Result};
use crate::job::{Completion, Job};
use crate::lease::Lease;
use crate::run::StepCompletion;

/// One call of a [`Statements`] method.
#[derive(Debug, Clone)]
pub enum Op {
    CompleteJobs(Vec<(i64, i32)>),
    RecordOutcomes(Vec<Completion>),
    AdvanceSteps(Vec<StepCompletion>),
    InsertStepJobs(Vec<StepJob>),
    AppendEvents(Vec<RunEvents>),
    FailRuns(Vec<RunFailure>),
    RescueJobs {
        lease: Lease,
        stale: Duration,
        rescues: Vec<Rescue>,
    },
    LockJob(i64),
    CancelJob {
        id: i64,
        running: bool,
    },
    DiscardJob(i64),
    RetryJob {
        id: i64,
        retry: Retry,
    },
    LockRun(i64),
    DoneSteps(i64),
    RestartRun {
        run_id: i64,
        index: usize,
        stage: String,
    },
    CurrentStepJob(i64),
    StopRunJobs(i64),
    /// Fail the transaction here (error `RUNTIME`): everything before it must roll back.
    Abort,
}

/// What an [`Op`] returned.
#[derive(Debug, Clone, PartialEq)]
pub enum OpResult {
    Count(u64),
    Ended(Vec<Option<Ended>>),
    Advanced(Vec<Advanced>),
    Ids(Vec<i64>),
    Flags(Vec<bool>),
    JobHead(Option<JobHead>),
    Job(Option<Box<Job>>),
    RunHead(Option<RunHead>),
    Names(Vec<String>),
    Id(Option<i64>),
    Done,
}

/// Run `ops` in order on `s` (the caller's transaction).
pub async fn dispatch<S: Statements>(s: &mut S, ops: &[Op]) -> Result<Vec<OpResult>> {
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        out.push(match op {
            Op::CompleteJobs(done) => OpResult::Count(s.complete_jobs(done).await?),
            Op::RecordOutcomes(batch) => {
                let refs: Vec<&Completion> = batch.iter().collect();
                OpResult::Ended(s.record_outcomes(&refs).await?)
            }
            Op::AdvanceSteps(steps) => {
                let refs: Vec<&StepCompletion> = steps.iter().collect();
                OpResult::Advanced(s.advance_steps(&refs).await?)
            }
            Op::InsertStepJobs(jobs) => OpResult::Ids(s.insert_step_jobs(jobs).await?),
            Op::AppendEvents(events) => {
                s.append_events(events).await?;
                OpResult::Done
            }
            Op::FailRuns(f) => OpResult::Flags(s.fail_runs(f).await?),
            Op::RescueJobs {
                lease,
                stale,
                rescues,
            } => OpResult::Ended(s.rescue_jobs(lease, *stale, rescues).await?),
            Op::LockJob(id) => OpResult::JobHead(s.lock_job(*id).await?),
            Op::CancelJob { id, running } => {
                s.cancel_job(*id, *running).await?;
                OpResult::Done
            }
            Op::DiscardJob(id) => OpResult::Job(s.discard_job(*id).await?.map(Box::new)),
            Op::RetryJob { id, retry } => {
                OpResult::Job(s.retry_job(*id, retry).await?.map(Box::new))
            }
            Op::LockRun(id) => OpResult::RunHead(s.lock_run(*id).await?),
            Op::DoneSteps(id) => OpResult::Names(s.done_steps(*id).await?),
            Op::RestartRun {
                run_id,
                index,
                stage,
            } => {
                s.restart_run(*run_id, *index, stage).await?;
                OpResult::Done
            }
            Op::CurrentStepJob(id) => OpResult::Id(s.current_step_job(*id).await?),
            Op::StopRunJobs(id) => OpResult::Id(s.stop_run_jobs(*id).await?),
            Op::Abort => {
                return Err(Error::Runtime(
                    "the transaction was aborted on purpose".into(),
                ))
            }
        });
    }
    Ok(out)
}

//! The lifecycle of jobs and runs, decided once for every backend.
//!
//! What a completion, retry, snooze, cancel, rescue, step completion or resume does to the
//! rows is decided here, in backend-neutral Rust. A driver offers [`Statements`]: batch
//! statements that each apply a decided change and check its fence in the statement itself
//! (a job's attempt and `running` state; a run's state and current step; the leader's lease),
//! so a decision made from a read that has since gone stale changes nothing. The functions of
//! this module's files call the statements in order inside the driver's transaction:
//!
//! - [`outcomes`]: a batch of attempts' ends (plain jobs and pipeline steps alike);
//! - [`steps`]: a step's completion and the run's advance, step jobs, claims, resume;
//! - [`failure`]: a run fails once, whichever path ended its step job;
//! - [`cancel`]: an operator's cancel or discard of a job, an owner's cancel of a run;
//! - [`rescue`]: the fate of a dead worker's jobs;
//! - [`retry`]: an operator's retry of a job;
//! - [`events`]: every run event, appended by one statement.
//!
//! Wake-ups are the driver's part: a statement that makes a job runnable wakes its queue, one
//! that appends events wakes the run's subscribers, one that asks a job to stop wakes its
//! worker (PostgreSQL in the statement, SQLite after the commit).

use std::time::Duration;

use crate::error::{Error, Result};
use crate::job::{AttemptError, Completion, Job, JobState};
use crate::lease::Lease;
use crate::run::{RunState, StepCompletion, StepSpec};

pub mod cancel;
pub mod events;
pub mod failure;
pub mod ops;
pub mod outcomes;
pub mod rescue;
pub mod retry;
pub mod steps;

pub use events::{NewEvent, RunEvents};
pub use failure::RunFailure;
pub use rescue::{Rescue, StaleJob};
pub use retry::Retry;
pub use steps::{StepArgs, StepJob};

/// A job whose attempt a statement just ended: what the lifecycle needs to know of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub run_id: Option<i64>,
    pub kind: String,
}

/// What [`Statements::advance_steps`] did for one step completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advanced {
    /// The job was running that attempt and is now completed, its checkpoint written.
    pub job_completed: bool,
    /// The run was running at this step and moved past it (to the next step, or `done`).
    pub run_advanced: bool,
}

/// What [`Statements::complete_items`] did for one item's completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemCounted {
    /// The job was running that attempt and is now completed, its checkpoint written.
    pub job_completed: bool,
    /// The item was counted (its first checkpoint, its run running): how many of the step's
    /// items are done after this statement, and how many it has.
    pub counted: Option<(i64, i64)>,
}

/// A job as a cancel or discard sees it (its row locked until the transaction ends).
#[derive(Debug, Clone, PartialEq)]
pub struct JobHead {
    pub state: JobState,
    pub kind: String,
    pub run_id: Option<i64>,
    pub attempt: i32,
    pub max_attempts: i32,
    pub last_error: Option<AttemptError>,
}

impl JobHead {
    /// From a row's columns as both drivers read them (`attempts`: the attempt and
    /// `max_attempts`; `last_error`: the JSON of the last error record, if any).
    pub fn decode(
        id: i64,
        state: &str,
        kind: String,
        run_id: Option<i64>,
        attempts: (i32, i32),
        last_error: Option<&str>,
    ) -> Result<JobHead> {
        Ok(JobHead {
            state: JobState::parse(state)?,
            kind,
            run_id,
            attempt: attempts.0,
            max_attempts: attempts.1,
            last_error: last_error
                .map(serde_json::from_str::<AttemptError>)
                .transpose()
                .map_err(|e| Error::Corrupt(format!("errors of job {id}: {e}")))?,
        })
    }
}

/// A run as a cancel or resume sees it (its row locked until the transaction ends).
#[derive(Debug, Clone, PartialEq)]
pub struct RunHead {
    pub state: RunState,
    pub stage: Option<String>,
    pub steps: Vec<StepSpec>,
}

impl RunHead {
    /// From a row's columns as both drivers read them (`steps`: their JSON).
    pub fn decode(run_id: i64, state: &str, stage: Option<String>, steps: &str) -> Result<RunHead> {
        Ok(RunHead {
            state: RunState::parse(state)?,
            stage,
            steps: serde_json::from_str::<Vec<StepSpec>>(steps)
                .map_err(|e| Error::Corrupt(format!("steps of run {run_id}: {e}")))?,
        })
    }
}

/// The statements a driver offers, inside one transaction (or, where a batch needs no
/// transaction, on one connection). Each is a batch where the lifecycle needs one, and each
/// checks its fence itself; none decides anything the lifecycle decides.
///
/// The driver conformance suite ([`crate::driver_tests`]) checks every contract below on a
/// real database.
#[allow(async_fn_in_trait)]
pub trait Statements {
    /// Complete these attempts `(job id, attempt)`, each only while its job is running that
    /// attempt. Returns how many applied.
    async fn complete_jobs(&mut self, done: &[(i64, i32)]) -> Result<u64>;

    /// Record these ends of attempts other than success (next state, run-at time, error
    /// record, whether the attempt counts), each only while its job is running that attempt.
    /// One entry per input: the job when it applied, `None` when the fence did not hold.
    async fn record_outcomes(&mut self, outcomes: &[&Completion]) -> Result<Vec<Option<Ended>>>;

    /// For each finished step, while its job is running that attempt: complete the job and
    /// write the output as the step's checkpoint; then, while the run is `running` with this
    /// step as its current one, move it past the step (for the last step: `done`, with the
    /// result kept for its TTL). One entry per input, in order.
    async fn advance_steps(&mut self, steps: &[&StepCompletion]) -> Result<Vec<Advanced>>;

    /// Insert step jobs (`available`, arguments [`StepJob::args`]), any number per run (no
    /// two with the same arguments). Returns the new ids in input order.
    async fn insert_step_jobs(&mut self, jobs: &[StepJob]) -> Result<Vec<i64>>;

    /// For each finished item of a mapped step, while its job is running that attempt:
    /// complete the job and write the output as the item's checkpoint
    /// ([`StepCompletion::checkpoint_key`]) unless it has one (the first stays as written);
    /// then, for an item's first checkpoint while its run is `running`, count it on the
    /// step's map row. The run's row is not touched. One entry per input, in order.
    async fn complete_items(&mut self, items: &[&StepCompletion]) -> Result<Vec<ItemCounted>>;

    /// Set the map row of mapped step `index` of a run: `items` items, `done` of them done.
    async fn start_map(
        &mut self,
        run_id: i64,
        index: usize,
        items: usize,
        done: usize,
    ) -> Result<()>;

    /// The output (checkpoint) of a step of a run, if it has one.
    async fn step_output(&mut self, run_id: i64, step: &str) -> Result<Option<serde_json::Value>>;

    /// The items of a mapped step of a run that have a checkpoint.
    async fn done_items(&mut self, run_id: i64, step: &str) -> Result<Vec<usize>>;

    /// Append each run's events in order with consecutive sequence numbers taken from the run
    /// row; the run's stage and progress become [`RunEvents::stage_after`] and
    /// [`RunEvents::progress_after`] (when given), and an event without progress gets the
    /// run's progress after that. A run with `only_if_running` that is not running gets none.
    async fn append_events(&mut self, events: &[RunEvents]) -> Result<()>;

    /// Fail each run with its code and message, only while it is `running`. One entry per
    /// input: whether it failed now.
    async fn fail_runs(&mut self, failures: &[RunFailure]) -> Result<Vec<bool>>;

    /// Apply the rescuer's decisions, each only while its job is running that attempt under a
    /// worker whose heartbeat is older than `stale`, and only while `lease` holds. One entry
    /// per input: the job when it applied.
    async fn rescue_jobs(
        &mut self,
        lease: &Lease,
        stale: Duration,
        rescues: &[Rescue],
    ) -> Result<Vec<Option<Ended>>>;

    /// The job, locked for the rest of the transaction; `None` if it does not exist.
    async fn lock_job(&mut self, id: i64) -> Result<Option<JobHead>>;

    /// Cancel a job: when `running`, ask its worker to stop (the job stays running); else
    /// make it `cancelled` now. Only a job that is not finished changes.
    async fn cancel_job(&mut self, id: i64, running: bool) -> Result<()>;

    /// Discard a job that is neither running nor changed meanwhile to running; the job as it
    /// is then, or `None`.
    async fn discard_job(&mut self, id: i64) -> Result<Option<Job>>;

    /// Retry a job that is not running (the fence): it takes `retry`'s state and
    /// `max_attempts`, is due now, and its `finalized_at` and cancel request are cleared; its
    /// queue is woken. The job then, or `None` when it is running; a unique key held by
    /// another live job is `UNIQUE_CONFLICT`.
    async fn retry_job(&mut self, id: i64, retry: &Retry) -> Result<Option<Job>>;

    /// The run, locked for the rest of the transaction; `None` if it does not exist.
    async fn lock_run(&mut self, run_id: i64) -> Result<Option<RunHead>>;

    /// Names of the run's steps that have a checkpoint (their output).
    async fn done_steps(&mut self, run_id: i64) -> Result<Vec<String>>;

    /// Make a failed run `running` again at step `index` (named `stage`), its error cleared.
    async fn restart_run(&mut self, run_id: i64, index: usize, stage: &str) -> Result<()>;

    /// The run's newest unfinished step job, if any.
    async fn current_step_job(&mut self, run_id: i64) -> Result<Option<i64>>;

    /// Cancel the run's unfinished step jobs (pending ones now, running ones by request); a
    /// job locked by a claim or completion in flight may be skipped (its step no longer
    /// advances a failed run). Returns the newest one changed.
    async fn stop_run_jobs(&mut self, run_id: i64) -> Result<Option<i64>>;
}

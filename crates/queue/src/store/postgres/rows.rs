//! Rows as the engine's types.

use tokio_postgres::Row;

use crate::error::{Error, Result};
use crate::job::{AttemptError, FetchedJob, Job, JobState};
use crate::run::{Run, RunState, StepInputs};

pub(crate) const JOB_COLUMNS: &str =
    "id, kind, queue, args::text, state, priority, attempt, max_attempts, \
    created_at, scheduled_at, attempted_at, finalized_at, attempted_by, errors::text, \
    metadata::text, tags, unique_key, cancel_requested_at IS NOT NULL";

pub(super) const RUN_COLUMNS: &str =
    "id, pipeline, owner, state, steps::text, input::text, current_step, \
    stage, progress, last_seq, error_code, error_message, created_at, finished_at";

pub(super) fn run_from_row(r: &Row) -> Result<Run> {
    Ok(Run {
        id: r.get(0),
        pipeline: r.get(1),
        owner: r.get(2),
        state: RunState::parse(r.get(3))?,
        steps: serde_json::from_str(r.get::<_, &str>(4))
            .map_err(|e| Error::Corrupt(e.to_string()))?,
        input: serde_json::from_str(r.get::<_, &str>(5))
            .map_err(|e| Error::Corrupt(e.to_string()))?,
        current_step: r.get(6),
        stage: r.get(7),
        progress: r.get(8),
        last_seq: r.get(9),
        error_code: r.get(10),
        error_message: r.get(11),
        created_at: r.get(12),
        finished_at: r.get(13),
    })
}

/// A claimed job from `sql/fetch.sql`'s columns (its step inputs are read apart).
pub(super) fn fetched_from_row(r: &Row, queue: &str) -> FetchedJob {
    FetchedJob {
        id: r.get(0),
        kind: r.get(1),
        queue: queue.to_string(),
        args: r.get(2),
        attempt: r.get(3),
        max_attempts: r.get(4),
        priority: r.get(5),
        created_at: r.get(6),
        scheduled_at: r.get(7),
        metadata: r.get(8),
        run_id: r.get(9),
        step_inputs: None,
    }
}

/// A run and its outputs from `sql/step_inputs.sql`'s columns.
pub(super) fn step_inputs_from_row(r: &Row) -> Result<StepInputs> {
    Ok(StepInputs {
        run: run_from_row(r)?,
        outputs: crate::store::outputs_from_object(r.get::<_, &str>(14))?,
    })
}

pub(crate) fn job_from_row(r: &Row) -> Result<Job> {
    let args: String = r.get(3);
    let errors: String = r.get(13);
    let metadata: String = r.get(14);
    Ok(Job {
        id: r.get(0),
        kind: r.get(1),
        queue: r.get(2),
        args: serde_json::from_str(&args).map_err(|e| Error::Corrupt(e.to_string()))?,
        state: JobState::parse(r.get(4))?,
        priority: r.get(5),
        attempt: r.get(6),
        max_attempts: r.get(7),
        created_at: r.get(8),
        scheduled_at: r.get(9),
        attempted_at: r.get(10),
        finalized_at: r.get(11),
        attempted_by: r.get(12),
        errors: serde_json::from_str::<Vec<AttemptError>>(&errors)
            .map_err(|e| Error::Corrupt(format!("errors of job: {e}")))?,
        metadata: serde_json::from_str(&metadata).map_err(|e| Error::Corrupt(e.to_string()))?,
        tags: r.get(15),
        unique_key: r.get(16),
        cancel_requested: r.get(17),
    })
}

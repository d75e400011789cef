//! Rows as the engine's types: the outer error is SQLite's, the inner one a row that does
//! not decode.

use rusqlite::Row;

use super::time::from_micros;
use crate::error::{Error, Result};
use crate::job::{AttemptError, Job, JobState};
use crate::run::{Run, RunState};

pub(super) const RUN_COLUMNS: &str =
    "id, pipeline, owner, state, steps, input, current_step, stage, \
    progress, last_seq, error_code, error_message, created_at, finished_at";

/// A run from the columns [`RUN_COLUMNS`]; the outer error is SQLite's, the inner one a row
/// that does not decode.
pub(super) fn run_from_row(r: &Row<'_>) -> rusqlite::Result<Result<Run>> {
    let state: String = r.get(3)?;
    let steps: String = r.get(4)?;
    let input: String = r.get(5)?;
    let build = |state: &str| -> Result<Run> {
        Ok(Run {
            id: r.get(0)?,
            pipeline: r.get(1)?,
            owner: r.get(2)?,
            state: RunState::parse(state)?,
            steps: serde_json::from_str(&steps).map_err(|e| Error::Corrupt(e.to_string()))?,
            input: serde_json::from_str(&input).map_err(|e| Error::Corrupt(e.to_string()))?,
            current_step: r.get(6)?,
            stage: r.get(7)?,
            progress: r.get(8)?,
            last_seq: r.get(9)?,
            error_code: r.get(10)?,
            error_message: r.get(11)?,
            created_at: from_micros(r.get(12)?),
            finished_at: r.get::<_, Option<i64>>(13)?.map(from_micros),
        })
    };
    Ok(build(&state))
}

pub(crate) const JOB_COLUMNS: &str =
    "id, kind, queue, args, state, priority, attempt, max_attempts, \
    created_at, scheduled_at, attempted_at, finalized_at, attempted_by, errors, metadata, tags, \
    unique_key, cancel_requested_at IS NOT NULL";

pub(crate) fn job_from_row(r: &Row<'_>) -> rusqlite::Result<Result<Job>> {
    let args: String = r.get(3)?;
    let state: String = r.get(4)?;
    let attempted_by: String = r.get(12)?;
    let errors: String = r.get(13)?;
    let metadata: String = r.get(14)?;
    let tags: String = r.get(15)?;
    let build = || -> Result<Job> {
        let corrupt = |what: &str, e: serde_json::Error| Error::Corrupt(format!("{what}: {e}"));
        Ok(Job {
            id: r.get(0)?,
            kind: r.get(1)?,
            queue: r.get(2)?,
            args: serde_json::from_str(&args).map_err(|e| corrupt("args", e))?,
            state: JobState::parse(&state)?,
            priority: r.get(5)?,
            attempt: r.get(6)?,
            max_attempts: r.get(7)?,
            created_at: from_micros(r.get(8)?),
            scheduled_at: from_micros(r.get(9)?),
            attempted_at: r.get::<_, Option<i64>>(10)?.map(from_micros),
            finalized_at: r.get::<_, Option<i64>>(11)?.map(from_micros),
            attempted_by: serde_json::from_str(&attempted_by)
                .map_err(|e| corrupt("attempted_by", e))?,
            errors: serde_json::from_str::<Vec<AttemptError>>(&errors)
                .map_err(|e| corrupt("errors", e))?,
            metadata: serde_json::from_str(&metadata).map_err(|e| corrupt("metadata", e))?,
            tags: serde_json::from_str(&tags).map_err(|e| corrupt("tags", e))?,
            unique_key: r.get(16)?,
            cancel_requested: r.get(17)?,
        })
    };
    Ok(build())
}

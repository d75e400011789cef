//! Pipeline runs as stored: runs, their events, checkpoints and results.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One step of a run as recorded at submission: which job kind runs it, where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepSpec {
    /// The step's name, which is also its job kind.
    pub kind: String,
    pub queue: String,
    pub max_attempts: i32,
    pub priority: i16,
    /// How long the run's result is kept after it is done (the same on every step).
    #[serde(default = "default_result_ttl_secs")]
    pub result_ttl_secs: u64,
    /// The step job's partition for its kind's limits, computed once at submission (see
    /// [`crate::Pipeline`]): a step of a limited kind is held to its limits like any job.
    /// `None` when the kind has no limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_key: Option<String>,
    /// The indices of the steps this one waits for (see [`crate::graph`]); `None`: the step
    /// before it, as in a chain (and as every run stored before graphs existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Vec<usize>>,
    /// A mapped step: it runs once per item of this step's output (a JSON array), each
    /// item its own job, and its output is the list of the items' outputs in item order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_over: Option<usize>,
    /// A failure of this step (or of one of its items) does not fail the run: the steps
    /// that wait for it receive the failure ([`crate::pipeline::Outcome`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_failure: bool,
    /// The metadata the step's job is inserted with, fixed at submission: the trace context
    /// of the submission (see [`crate::trace_context`]), so every step of a run, on whichever
    /// binary and after however many retries, is part of one trace. `None`: `{}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}

fn default_result_ttl_secs() -> u64 {
    7 * 24 * 3600
}

/// Reserve an idempotency key for a submission.
#[derive(Debug, Clone, PartialEq)]
pub struct Idempotency {
    pub key: String,
    /// A hash of the request: the same key with another fingerprint is a conflict.
    pub fingerprint: String,
    /// How long the key is held.
    pub ttl: Duration,
}

/// A new run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSubmission {
    pub owner: String,
    pub pipeline: String,
    pub steps: Vec<StepSpec>,
    pub input: serde_json::Value,
    pub idempotency: Option<Idempotency>,
}

/// What a submission produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    pub run_id: i64,
    /// True when the idempotency key was already held with the same fingerprint.
    pub existing: bool,
}

/// A step (or one item of a mapped step) finished: its output is its checkpoint. Built by
/// [`crate::lifecycle::steps::completion`], which decides what follows from the run's steps.
#[derive(Debug, Clone, PartialEq)]
pub struct StepCompletion {
    pub job_id: i64,
    pub attempt: i32,
    pub run_id: i64,
    pub step_index: usize,
    /// The step's name (its job kind, and its checkpoint's name).
    pub step: String,
    /// The item of a mapped step this job ran; `None` for a step's own job.
    pub item: Option<usize>,
    pub output: serde_json::Value,
    /// The run's steps, as stored at submission: what the completion may start.
    pub steps: Arc<Vec<StepSpec>>,
    /// What follows when the step advances its run.
    pub then: Then,
}

impl StepCompletion {
    /// The name of the checkpoint this completion writes: `""` for a step's output,
    /// `item:<n>` for one item of a mapped step.
    pub fn checkpoint_key(&self) -> String {
        self.item.map(item_key).unwrap_or_default()
    }
}

/// The checkpoint key of item `n` of a mapped step.
pub fn item_key(n: usize) -> String {
    format!("item:{n}")
}

/// The item index of a checkpoint key written by [`item_key`].
pub fn parse_item_key(key: &str) -> Option<usize> {
    key.strip_prefix("item:")?.parse().ok()
}

/// Item checkpoints `(key, JSON text)` as their outputs, in item order.
pub(crate) fn items_in_order(
    rows: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<serde_json::Value>> {
    let mut items: Vec<(usize, serde_json::Value)> = rows
        .into_iter()
        .filter_map(|(k, v)| parse_item_key(&k).map(|n| (n, v)))
        .map(|(n, v)| {
            serde_json::from_str(&v)
                .map(|v| (n, v))
                .map_err(|e| Error::Corrupt(format!("item {n}: {e}")))
        })
        .collect::<Result<_>>()?;
    items.sort_by_key(|(n, _)| *n);
    Ok(items.into_iter().map(|(_, v)| v).collect())
}

/// What follows a step that advances its run.
#[derive(Debug, Clone, PartialEq)]
pub enum Then {
    /// The steps waiting for this one whose other dependencies are done start now.
    Continue,
    /// It was the graph's last step: the run is done, its result (the output) kept this long.
    Finish { result_ttl: Duration },
    /// One item of a mapped step: it is counted, and the last one starts the step's own job,
    /// which joins the items' outputs.
    Item,
}

/// The state of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Running,
    Done,
    Failed,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Done => "done",
            RunState::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Result<RunState> {
        match s {
            "running" => Ok(RunState::Running),
            "done" => Ok(RunState::Done),
            "failed" => Ok(RunState::Failed),
            other => Err(Error::Corrupt(format!("unknown run state `{other}`"))),
        }
    }
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: i64,
    pub pipeline: String,
    pub owner: String,
    pub state: RunState,
    pub steps: Vec<StepSpec>,
    pub input: serde_json::Value,
    pub current_step: i32,
    pub stage: Option<String>,
    pub progress: i16,
    pub last_seq: i64,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// What an event says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    Queued,
    Started,
    Progress,
    Completed,
    Failed,
    Done,
}

impl EventStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Queued => "queued",
            EventStatus::Started => "started",
            EventStatus::Progress => "progress",
            EventStatus::Completed => "completed",
            EventStatus::Failed => "failed",
            EventStatus::Done => "done",
        }
    }
    pub fn parse(s: &str) -> Result<EventStatus> {
        [
            EventStatus::Queued,
            EventStatus::Started,
            EventStatus::Progress,
            EventStatus::Completed,
            EventStatus::Failed,
            EventStatus::Done,
        ]
        .into_iter()
        .find(|e| e.as_str() == s)
        .ok_or_else(|| Error::Corrupt(format!("unknown event status `{s}`")))
    }
    /// `done` and `failed` end a run.
    pub fn is_terminal(self) -> bool {
        matches!(self, EventStatus::Done | EventStatus::Failed)
    }
}

/// A progress event of a run. `seq` is gapless from 1 per run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEvent {
    pub run_id: i64,
    pub seq: i64,
    pub job_id: Option<i64>,
    /// The step's name.
    pub stage: Option<String>,
    pub status: EventStatus,
    pub at: DateTime<Utc>,
    /// 0 to 100.
    pub progress: i16,
    pub payload: Option<serde_json::Value>,
}

/// The answer to "where is my run?".
#[derive(Debug, Clone, PartialEq)]
pub enum RunStatus {
    Done {
        result: serde_json::Value,
    },
    /// Done, but its result expired and was pruned.
    Expired,
    Running {
        stage: Option<String>,
        progress: i16,
    },
    Failed {
        code: String,
        message: String,
    },
    NotFound,
}

/// What [`crate::Client::cancel_run`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunCancelOutcome {
    /// The run was running: it is now failed with code `CANCELLED` (one `failed` event), and
    /// its current step's job, if any, was cancelled (pending) or asked to stop (running).
    Cancelled { step_job: Option<i64> },
    /// The run had already ended; nothing changed.
    AlreadyFinal(RunState),
}

/// The code and message of a cancelled run.
pub(crate) const RUN_CANCELLED: (&str, &str) = ("CANCELLED", "the run was cancelled");

/// What a step reads before it runs: its run, and the outputs of the run's finished steps.
#[derive(Debug, Clone, PartialEq)]
pub struct StepInputs {
    pub run: Run,
    pub outputs: Vec<(String, serde_json::Value)>,
}

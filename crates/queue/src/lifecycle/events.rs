//! Run events as the lifecycle decides them, before a driver appends them.
//!
//! "Events" in this crate are a run's history rows only (wake-ups are [`crate::store::Wakeup`]).
//! Every event of every kind is decided here and appended by one driver statement
//! ([`super::Statements::append_events`]), which takes the sequence numbers from the run row
//! in the caller's transaction, so they are gapless and commit or roll back with the change
//! that caused them.

use crate::run::EventStatus;

/// One event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub job_id: Option<i64>,
    /// The step's name; it becomes the run's `stage`.
    pub stage: Option<String>,
    pub status: EventStatus,
    /// `None`: the run's progress once this batch's explicit progress values are applied.
    pub progress: Option<i16>,
    pub payload: Option<serde_json::Value>,
    /// Its progress is its step's alone (how many of a mapped step's items are done) and
    /// leaves the run's (finished steps / steps) as it is.
    pub step_only: bool,
}

/// The events of one run, appended in order with consecutive sequence numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEvents {
    pub run_id: i64,
    /// Append only while the run is `running` (a claim, a progress report, a queued step);
    /// false for the events of the change that just ended or advanced the run.
    pub only_if_running: bool,
    pub events: Vec<NewEvent>,
}

impl RunEvents {
    pub fn new(run_id: i64, only_if_running: bool) -> Self {
        RunEvents {
            run_id,
            only_if_running,
            events: Vec::new(),
        }
    }

    pub fn push(mut self, e: NewEvent) -> Self {
        self.events.push(e);
        self
    }

    /// The run's stage after these events: the last one that names a stage.
    pub fn stage_after(&self) -> Option<&str> {
        self.events.iter().rev().find_map(|e| e.stage.as_deref())
    }

    /// The run's progress after these events: the last explicit value that is the run's.
    pub fn progress_after(&self) -> Option<i16> {
        self.events
            .iter()
            .rev()
            .filter(|e| !e.step_only)
            .find_map(|e| e.progress)
    }
}

fn event(
    job_id: Option<i64>,
    stage: &str,
    status: EventStatus,
    progress: Option<i16>,
    payload: Option<serde_json::Value>,
) -> NewEvent {
    NewEvent {
        job_id,
        stage: Some(stage.to_string()),
        status,
        progress,
        payload,
        step_only: false,
    }
}

/// A step's job was inserted.
pub fn queued(job_id: i64, step: &str) -> NewEvent {
    event(Some(job_id), step, EventStatus::Queued, None, None)
}

/// The jobs of `items` items of a mapped step were inserted (one event for them all).
pub fn queued_items(step: &str, items: usize) -> NewEvent {
    let payload = serde_json::json!({ "items": items });
    event(None, step, EventStatus::Queued, None, Some(payload))
}

/// The items of a mapped step passed a whole percent: `done` of its `items` are done. Like
/// a step's own progress report, its `progress` is the step's (the share of its items done);
/// unlike one, it leaves the run's progress (finished steps / steps) as it is.
pub fn items_progress(step: &str, done: i64, items: i64) -> NewEvent {
    let payload = serde_json::json!({ "done": done, "items": items });
    let pct = (done * 100 / items.max(1)).clamp(0, 100) as i16;
    NewEvent {
        step_only: true,
        ..event(None, step, EventStatus::Progress, Some(pct), Some(payload))
    }
}

/// A worker claimed a step's job for this attempt.
pub fn started(run_id: i64, job_id: i64, step: &str, attempt: i32) -> RunEvents {
    let payload = serde_json::json!({ "attempt": attempt });
    RunEvents::new(run_id, true).push(event(
        Some(job_id),
        step,
        EventStatus::Started,
        None,
        Some(payload),
    ))
}

/// A running step reported progress (0–100).
pub fn progress(
    run_id: i64,
    job_id: i64,
    step: &str,
    pct: i16,
    payload: Option<serde_json::Value>,
) -> RunEvents {
    RunEvents::new(run_id, true).push(event(
        Some(job_id),
        step,
        EventStatus::Progress,
        Some(pct.clamp(0, 100)),
        payload,
    ))
}

/// The current step finished; `pct` is the share of the run's steps now done.
pub fn completed(job_id: i64, step: &str, pct: i16) -> NewEvent {
    event(Some(job_id), step, EventStatus::Completed, Some(pct), None)
}

/// The last step finished: the run is done.
pub fn done(job_id: i64, step: &str) -> NewEvent {
    event(Some(job_id), step, EventStatus::Done, Some(100), None)
}

/// The run failed (its one terminal event).
pub fn failed(job_id: Option<i64>, stage: Option<&str>, code: &str, message: &str) -> NewEvent {
    NewEvent {
        job_id,
        stage: stage.map(str::to_string),
        status: EventStatus::Failed,
        progress: None,
        payload: Some(serde_json::json!({ "code": code, "message": message })),
        step_only: false,
    }
}

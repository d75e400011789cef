//! A run's events as lines, with the run's overall progress.
//!
//! An event's own `progress` is not always the run's: a step's `progress` event carries the
//! step's own percentage (0–100 of that step), while `completed` carries the share of the
//! run's steps done. Printing it as is showed a step's "100%" before the run moved on to
//! "60%". The overall figure gives each step an equal share and places a step's own
//! percentage inside its share; the step's own figure is shown beside it.

use specline_inventory_model::terminal::terminal_safe;
use specline_queue::{EventStatus, RunEvent};

/// The run's percentage at `ev`, for a run of `steps` (in order): each step an equal share.
pub fn overall_progress(steps: &[String], ev: &RunEvent) -> u64 {
    if ev.status == EventStatus::Done {
        return 100;
    }
    let n = steps.len().max(1) as u64;
    let index = ev
        .stage
        .as_deref()
        .and_then(|s| steps.iter().position(|x| x == s))
        .unwrap_or(0) as u64;
    let within = match ev.status {
        EventStatus::Completed => 100,
        EventStatus::Progress => u64::try_from(ev.progress.clamp(0, 100)).unwrap_or(0),
        _ => 0,
    };
    (index * 100 + within) / n
}

/// The steps of the application's pipeline, the one every run of this application follows.
pub fn pipeline_steps() -> Vec<String> {
    specline_app::analyze_and_generate()
        .steps
        .iter()
        .map(|s| s.kind.clone())
        .collect()
}

/// One event as a line: `[ 45%] convert_behaviors: progress (step 25%) {payload}`, the
/// percentage being the run's (see [`overall_progress`]).
pub fn event_line_of(steps: &[String], ev: &RunEvent) -> String {
    let detail = ev
        .payload
        .as_ref()
        .map(|p| format!(" {p}"))
        .unwrap_or_default();
    let own = if ev.status == EventStatus::Progress {
        format!(" (step {}%)", ev.progress.clamp(0, 100))
    } else {
        String::new()
    };
    terminal_safe(&format!(
        "[{:>3}%] {}: {}{own}{detail}",
        overall_progress(steps, ev),
        ev.stage.as_deref().unwrap_or("-"),
        ev.status.as_str()
    ))
    .into_owned()
}

/// [`event_line_of`] for a run of the application's pipeline.
pub fn event_line(ev: &RunEvent) -> String {
    event_line_of(&pipeline_steps(), ev)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(stage: &str, status: EventStatus, progress: i16) -> RunEvent {
        RunEvent {
            run_id: 1,
            seq: 1,
            job_id: Some(1),
            stage: Some(stage.into()),
            status,
            at: chrono::Utc::now(),
            progress,
            payload: None,
        }
    }

    #[test]
    fn a_steps_own_hundred_percent_is_its_share_of_the_run() {
        let steps: Vec<String> = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
        let lines: Vec<String> = [
            ev("a", EventStatus::Started, 0),
            ev("c", EventStatus::Started, 40),
            ev("c", EventStatus::Progress, 50),
            ev("c", EventStatus::Progress, 100),
            ev("c", EventStatus::Completed, 60),
            ev("e", EventStatus::Done, 100),
        ]
        .iter()
        .map(|e| event_line_of(&steps, e))
        .collect();
        assert_eq!(
            lines,
            [
                "[  0%] a: started",
                "[ 40%] c: started",
                "[ 50%] c: progress (step 50%)",
                "[ 60%] c: progress (step 100%)",
                "[ 60%] c: completed",
                "[100%] e: done",
            ]
        );
    }

    #[test]
    fn the_application_pipeline_has_its_steps_in_order() {
        assert_eq!(
            pipeline_steps(),
            [
                "analyze_repository",
                "classify_tests",
                "list_features",
                "convert_behaviors",
                "summarize_document",
                "generate_spec_document",
            ]
        );
    }
}

//! A run's steps as a graph: one box per step in pipeline order, joined by arrows, each
//! with its state (`pending`, `running`, `completed`, `failed`, `cancelled`), and the run's
//! overall percentage. `assets/run.js` computes the same from the live events and from
//! `GET /api/v1/runs/{id}` with the same rules, so a reload shows what the live page showed.

use maud::{html, Markup};
use specline_queue::{Run, RunState};

/// Each step's name and state, in pipeline order.
pub fn states(run: &Run) -> Vec<(&str, &'static str)> {
    let current = usize::try_from(run.current_step).unwrap_or(0);
    let stopped = if run.error_code.as_deref() == Some("CANCELLED") {
        "cancelled"
    } else {
        "failed"
    };
    run.steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let state = match run.state {
                RunState::Done => "completed",
                _ if i < current => "completed",
                _ if i > current => "pending",
                RunState::Running => "running",
                RunState::Failed => stopped,
            };
            (step.kind.as_str(), state)
        })
        .collect()
}

/// The run's progress over all its steps, 0 to 100: each step is an equal share.
pub fn percent(run: &Run) -> i64 {
    if run.state == RunState::Done || run.steps.is_empty() {
        return 100;
    }
    let steps = run.steps.len() as i64;
    let done = i64::from(run.current_step.max(0)) * 100 + i64::from(run.progress.clamp(0, 100));
    (done / steps).clamp(0, 100)
}

/// A step's name as people read it: `analyze_repository` → `Analyze repository`.
pub fn title(kind: &str) -> String {
    let words = kind.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The graph: an ordered list of boxes joined by arrows (drawn by `run.css`).
pub fn graph(run: &Run) -> Markup {
    html! {
        ol.steps #run-steps aria-label="Steps" {
            @for (i, (kind, state)) in states(run).into_iter().enumerate() {
                li class={ "step " (state) } data-step=(kind) data-index=(i) {
                    span.step-name { (title(kind)) }
                    span class={ "badge step-state " (state) } { (state) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use specline_queue::run::StepSpec;

    fn run(state: RunState, current: i32, progress: i16, code: Option<&str>) -> Run {
        let step = |kind: &str| StepSpec {
            kind: kind.into(),
            queue: "q".into(),
            max_attempts: 1,
            priority: 0,
            result_ttl_secs: 60,
            partition_key: None,
            metadata: None,
            after: None,
            map_over: None,
            allow_failure: false,
        };
        Run {
            id: 1,
            pipeline: "p".into(),
            owner: "o".into(),
            state,
            steps: vec![step("a"), step("b"), step("c"), step("d")],
            input: serde_json::Value::Null,
            current_step: current,
            stage: None,
            progress,
            last_seq: 0,
            error_code: code.map(str::to_string),
            error_message: None,
            created_at: chrono::Utc::now(),
            finished_at: None,
        }
    }

    #[test]
    fn steps_before_the_current_one_are_completed_and_after_it_pending() {
        let r = run(RunState::Running, 1, 50, None);
        let s: Vec<_> = states(&r).into_iter().map(|(_, s)| s).collect();
        assert_eq!(s, ["completed", "running", "pending", "pending"]);
        assert_eq!(percent(&r), 37);
    }

    #[test]
    fn a_failed_or_cancelled_run_marks_its_current_step() {
        let r = run(RunState::Failed, 2, 0, Some("GIT_FAILED"));
        assert_eq!(states(&r)[2].1, "failed");
        let r = run(RunState::Failed, 0, 0, Some("CANCELLED"));
        assert_eq!(states(&r)[0].1, "cancelled");
        let r = run(RunState::Done, 3, 100, None);
        assert!(states(&r).iter().all(|(_, s)| *s == "completed"));
        assert_eq!(percent(&r), 100);
    }

    #[test]
    fn titles_read_as_words() {
        assert_eq!(title("analyze_repository"), "Analyze repository");
    }
}

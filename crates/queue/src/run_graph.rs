//! A run's graph as an operator or a UI draws it: each step with what it waits for and its
//! state now, decided once here from what the store reads ([`RunNodeRows`]).

use serde::{Deserialize, Serialize};

use crate::graph;
use crate::job::JobState;
use crate::run::Run;

/// What a store reads for [`RunGraph::of`]: the run's steps with a checkpoint, its step jobs
/// counted by kind and state, and the map rows of its mapped steps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunNodeRows {
    pub done: Vec<String>,
    /// `(kind, state, count)`.
    pub jobs: Vec<(String, JobState, i64)>,
    /// `(step index, items, items done)`.
    pub maps: Vec<(usize, i64, i64)>,
}

/// The state of one step of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    /// Its dependencies are not all done (or its run ended before it started).
    Waiting,
    /// A job of it waits for a worker.
    Queued,
    /// A job of it (or of one of its items) runs.
    Running,
    /// Its output is checkpointed.
    Done,
    /// Its job ended without success (discarded).
    Failed,
    /// Its job was cancelled.
    Cancelled,
}

/// How far a mapped step's items are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemProgress {
    pub total: i64,
    pub done: i64,
}

/// One step of a run's graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphNode {
    pub index: usize,
    pub name: String,
    pub queue: String,
    /// The indices of the steps it waits for.
    pub after: Vec<usize>,
    /// For a mapped step, the step whose items it runs over.
    pub map_over: Option<usize>,
    pub allow_failure: bool,
    pub state: NodeState,
    /// For a mapped step whose items were started.
    pub items: Option<ItemProgress>,
}

/// A run's steps as a graph, each with its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunGraph {
    pub run_id: i64,
    pub nodes: Vec<GraphNode>,
}

impl RunGraph {
    /// The graph of `run` from its rows. A step with a checkpoint is done; else a step with
    /// a running job (or item) is running, then one with a pending job queued, then one whose
    /// jobs were discarded failed, then cancelled; a step without a job is waiting.
    pub fn of(run: &Run, rows: &RunNodeRows) -> RunGraph {
        let count = |kind: &str, pick: &dyn Fn(JobState) -> bool| -> i64 {
            rows.jobs
                .iter()
                .filter(|(k, s, _)| k == kind && pick(*s))
                .map(|(_, _, n)| n)
                .sum()
        };
        let nodes = run
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let state = if rows.done.contains(&s.kind) {
                    NodeState::Done
                } else if count(&s.kind, &|st| st == JobState::Running) > 0 {
                    NodeState::Running
                } else if count(&s.kind, &|st| {
                    matches!(
                        st,
                        JobState::Available | JobState::Scheduled | JobState::Retryable
                    )
                }) > 0
                {
                    NodeState::Queued
                } else if count(&s.kind, &|st| st == JobState::Discarded) > 0 {
                    NodeState::Failed
                } else if count(&s.kind, &|st| st == JobState::Cancelled) > 0 {
                    NodeState::Cancelled
                } else {
                    NodeState::Waiting
                };
                GraphNode {
                    index: i,
                    name: s.kind.clone(),
                    queue: s.queue.clone(),
                    after: graph::deps(&run.steps, i),
                    map_over: s.map_over,
                    allow_failure: s.allow_failure,
                    state,
                    items: rows
                        .maps
                        .iter()
                        .find(|m| m.0 == i)
                        .map(|&(_, total, done)| ItemProgress { total, done }),
                }
            })
            .collect();
        RunGraph {
            run_id: run.id,
            nodes,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::run::{RunState, StepSpec};

    fn spec(kind: &str, after: Option<Vec<usize>>, map_over: Option<usize>) -> StepSpec {
        StepSpec {
            kind: kind.into(),
            queue: "q".into(),
            max_attempts: 1,
            priority: 1,
            result_ttl_secs: 60,
            partition_key: None,
            after,
            map_over,
            allow_failure: false,
            metadata: None,
        }
    }

    #[test]
    fn each_step_gets_the_state_its_rows_say() {
        let run = Run {
            id: 9,
            pipeline: "p".into(),
            owner: "o".into(),
            state: RunState::Running,
            steps: vec![
                spec("a", None, None),
                spec("m", Some(vec![0]), Some(0)),
                spec("b", Some(vec![0]), None),
                spec("z", Some(vec![1, 2]), None),
            ],
            input: serde_json::json!({}),
            current_step: 1,
            stage: None,
            progress: 25,
            last_seq: 5,
            error_code: None,
            error_message: None,
            created_at: chrono::Utc::now(),
            finished_at: None,
        };
        let rows = RunNodeRows {
            done: vec!["a".into()],
            jobs: vec![
                ("a".into(), JobState::Completed, 1),
                ("m".into(), JobState::Completed, 3),
                ("m".into(), JobState::Running, 2),
                ("m".into(), JobState::Available, 5),
                ("b".into(), JobState::Cancelled, 1),
                ("b".into(), JobState::Available, 1),
            ],
            maps: vec![(1, 10, 3)],
        };
        let g = RunGraph::of(&run, &rows);
        let states: Vec<NodeState> = g.nodes.iter().map(|n| n.state).collect();
        assert_eq!(
            states,
            vec![
                NodeState::Done,
                NodeState::Running,
                NodeState::Queued,
                NodeState::Waiting
            ]
        );
        assert_eq!(g.nodes[1].items, Some(ItemProgress { total: 10, done: 3 }));
        assert_eq!(g.nodes[3].after, vec![1, 2]);
    }
}

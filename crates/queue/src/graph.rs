//! A pipeline's steps as a directed acyclic graph: which steps a step waits for, which ones
//! its completion may start, what it reads, and whether the graph is one at all.
//!
//! A chain is a graph (each step waits for the one before it), so the linear pipelines of
//! [`crate::Pipeline::step`] and the graphs of [`crate::Pipeline::after`] run on the same
//! rules. The rules are written once here, over the [`StepSpec`]s a run stores; the drivers
//! only read and write rows.

use std::collections::BTreeSet;

use crate::error::{Error, Result};
use crate::run::StepSpec;

/// The dependencies of step `index`: its `after`, or the step before it when it has none.
pub fn deps(steps: &[StepSpec], index: usize) -> Vec<usize> {
    match steps.get(index).and_then(|s| s.after.as_ref()) {
        Some(after) => after.clone(),
        None if index > 0 => vec![index - 1],
        None => Vec::new(),
    }
}

/// The steps that depend on step `index`, in declaration order.
pub fn dependents(steps: &[StepSpec], index: usize) -> Vec<usize> {
    (0..steps.len())
        .filter(|&j| deps(steps, j).contains(&index))
        .collect()
}

/// Every step that step `index` waits for, directly or not, in declaration order: whose
/// outputs it reads.
pub fn ancestors(steps: &[StepSpec], index: usize) -> Vec<usize> {
    let mut seen = BTreeSet::new();
    let mut todo = deps(steps, index);
    while let Some(d) = todo.pop() {
        if seen.insert(d) {
            todo.extend(deps(steps, d));
        }
    }
    seen.into_iter().collect()
}

/// The step whose output is the run's result: the graph's one step that no other waits for.
pub fn sink(steps: &[StepSpec]) -> Option<usize> {
    (0..steps.len())
        .rev()
        .find(|&i| dependents(steps, i).is_empty())
}

/// Steps that are not done and whose dependencies all are: what may run now.
pub fn ready(steps: &[StepSpec], done: &[String]) -> Vec<usize> {
    let is_done = |i: usize| steps.get(i).is_some_and(|s| done.contains(&s.kind));
    (0..steps.len())
        .filter(|&i| !is_done(i) && deps(steps, i).into_iter().all(is_done))
        .collect()
}

/// Check that the steps form a graph the engine can run: at least one step, unique names,
/// dependencies that exist and are not the step itself, a mapped step that maps over one of
/// its dependencies, no cycle, and one end (the step whose output is the run's result, so a
/// run is done exactly when every step is).
pub fn validate(pipeline: &str, steps: &[StepSpec]) -> Result<()> {
    let invalid = |m: String| Err(Error::InvalidGraph(format!("pipeline `{pipeline}`: {m}")));
    if steps.is_empty() {
        return Err(Error::InvalidConfig(format!(
            "pipeline `{pipeline}` has no steps"
        )));
    }
    for (i, s) in steps.iter().enumerate() {
        if steps[..i].iter().any(|o| o.kind == s.kind) {
            return invalid(format!("step `{}` is declared twice", s.kind));
        }
        let d = deps(steps, i);
        if let Some(bad) = d.iter().find(|&&d| d >= steps.len() || d == i) {
            return invalid(format!("step `{}` depends on step {bad}", s.kind));
        }
        if let Some(over) = s.map_over {
            if !d.contains(&over) {
                return invalid(format!(
                    "step `{}` maps over a step it does not depend on",
                    s.kind
                ));
            }
        }
    }
    // Kahn's algorithm: a step whose dependencies never all finish is on a cycle.
    let mut indegree: Vec<usize> = (0..steps.len()).map(|i| deps(steps, i).len()).collect();
    let mut todo: Vec<usize> = (0..steps.len()).filter(|&i| indegree[i] == 0).collect();
    let mut seen = 0;
    while let Some(i) = todo.pop() {
        seen += 1;
        for j in dependents(steps, i) {
            indegree[j] -= 1;
            if indegree[j] == 0 {
                todo.push(j);
            }
        }
    }
    if seen < steps.len() {
        let on_cycle: Vec<&str> = (0..steps.len())
            .filter(|&i| indegree[i] > 0)
            .map(|i| steps[i].kind.as_str())
            .collect();
        return invalid(format!("steps {on_cycle:?} form a cycle"));
    }
    let ends: Vec<&str> = (0..steps.len())
        .filter(|&i| dependents(steps, i).is_empty())
        .map(|i| steps[i].kind.as_str())
        .collect();
    if ends.len() != 1 {
        return invalid(format!(
            "steps {ends:?} are all ends of the graph; join them in one last step, whose output is the run's result"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec(kind: &str, after: Option<Vec<usize>>) -> StepSpec {
        StepSpec {
            kind: kind.into(),
            queue: "q".into(),
            max_attempts: 1,
            priority: 1,
            result_ttl_secs: 60,
            partition_key: None,
            after,
            map_over: None,
            allow_failure: false,
            metadata: None,
        }
    }

    fn diamond() -> Vec<StepSpec> {
        vec![
            spec("a", None),
            spec("b", Some(vec![0])),
            spec("c", Some(vec![0])),
            spec("d", Some(vec![1, 2])),
        ]
    }

    #[test]
    fn a_chain_is_a_graph() {
        let chain = vec![spec("a", None), spec("b", None), spec("c", None)];
        validate("p", &chain).unwrap();
        assert_eq!(deps(&chain, 2), vec![1]);
        assert_eq!(ancestors(&chain, 2), vec![0, 1]);
        assert_eq!(sink(&chain), Some(2));
        assert_eq!(ready(&chain, &["a".into()]), vec![1]);
    }

    #[test]
    fn a_diamond_runs_its_branches_together_and_joins_once_both_are_done() {
        let g = diamond();
        validate("p", &g).unwrap();
        assert_eq!(ready(&g, &[]), vec![0]);
        assert_eq!(ready(&g, &["a".into()]), vec![1, 2]);
        assert_eq!(ready(&g, &["a".into(), "b".into()]), vec![2]);
        assert_eq!(ready(&g, &["a".into(), "b".into(), "c".into()]), vec![3]);
        assert_eq!(dependents(&g, 0), vec![1, 2]);
        assert_eq!(ancestors(&g, 3), vec![0, 1, 2]);
    }

    #[test]
    fn a_cycle_a_missing_step_or_two_ends_are_refused_with_a_code() {
        let mut cycle = diamond();
        cycle[0].after = Some(vec![3]);
        let e = validate("p", &cycle).unwrap_err();
        assert_eq!(e.code(), "INVALID_GRAPH");
        assert!(e.to_string().contains("cycle"), "{e}");
        let mut missing = diamond();
        missing[3].after = Some(vec![1, 9]);
        assert_eq!(validate("p", &missing).unwrap_err().code(), "INVALID_GRAPH");
        let mut two_ends = diamond();
        two_ends[3].after = Some(vec![1]);
        assert_eq!(
            validate("p", &two_ends).unwrap_err().code(),
            "INVALID_GRAPH"
        );
        let mut twice = diamond();
        twice[2].kind = "b".into();
        assert_eq!(validate("p", &twice).unwrap_err().code(), "INVALID_GRAPH");
    }
}

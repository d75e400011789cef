//! A run's steps: which job a step gets, what a finished step does to its run, and where a
//! resumed run starts again.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize};

use super::events::{self, NewEvent, RunEvents};
use super::failure::{self, RunFailure};
use super::{ItemCounted, Statements};
use crate::error::{Error, Result};
use crate::graph;
use crate::job::FetchedJob;
use crate::run::{Run, RunState, StepCompletion, StepSpec, Then};

/// The arguments of a step's job: its run, its index in the run's steps, and for one item of
/// a mapped step, the item's index and its element of the list the step maps over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepArgs {
    pub run_id: i64,
    pub step: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<usize>,
    /// The item's element, copied into its job when the map starts, so that starting an item
    /// costs the same whatever the length of the list: the item reads neither the list nor
    /// anything that grows with it. Absent in item jobs written before elements were carried
    /// (they read the list). A JSON `null` element is `Some(Null)`, not absent.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<serde_json::Value>,
}

/// A field that is there, `null` included, is `Some` (only an absent one is `None`).
fn present<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

impl StepArgs {
    /// The arguments of a step job as stored, if they are a step's.
    pub fn of(args: &str) -> Option<StepArgs> {
        serde_json::from_str(args).ok()
    }

    /// Whether the job is one item of a mapped step that carries its element.
    pub fn carries_item(&self) -> bool {
        self.item.is_some() && self.value.is_some()
    }
}

/// What the claimed step jobs of each run need read with them: `Some(step)` when every one of
/// the run's jobs in the claim is an item of mapped step `step` that carries its element
/// (their inputs leave out the list that step maps over, which none of them reads), `None`
/// when they need every finished step's output.
pub fn inputs_needed(jobs: &[FetchedJob]) -> HashMap<i64, Option<usize>> {
    let mut needed: HashMap<i64, Option<usize>> = HashMap::new();
    for j in jobs {
        let Some(run) = j.run_id else { continue };
        let lean = StepArgs::of(&j.args)
            .filter(StepArgs::carries_item)
            .map(|a| a.step);
        needed
            .entry(run)
            .and_modify(|n| {
                if *n != lean {
                    *n = None;
                }
            })
            .or_insert(lean);
    }
    needed
}

/// The job of step `index` of a run (or of one item of it), to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct StepJob {
    pub run_id: i64,
    pub index: usize,
    pub item: Option<usize>,
    /// The item's element of the list the step maps over.
    pub value: Option<serde_json::Value>,
    pub spec: StepSpec,
}

impl StepJob {
    /// The job's metadata as stored: the step's, fixed at submission, or `{}`.
    pub fn metadata(&self) -> String {
        self.spec
            .metadata
            .as_ref()
            .map_or_else(|| "{}".to_string(), |m| m.to_string())
    }

    /// The job's arguments, as the step's handler reads them.
    pub fn args(&self) -> serde_json::Value {
        serde_json::json!(self.step_args())
    }

    pub fn step_args(&self) -> StepArgs {
        StepArgs {
            run_id: self.run_id,
            step: self.index,
            item: self.item,
            value: self.value.clone(),
        }
    }
}

/// Decide what the completion of step `index` of `run` (or of its item `item`) does, from
/// the run's steps: count an item, finish the run (the graph's last step), or start the
/// steps that wait for this one.
///
/// Steps are fixed at submission, so the decision made when the step finishes still holds
/// when the completion is written; which waiting steps start is decided in the completion's
/// transaction, from the checkpoints then (see [`complete`]), and what may have changed
/// meanwhile (the run was cancelled, the step was redelivered and completed already) is
/// checked by the driver's statement, which advances the run only while it is `running` and
/// only with the step's first checkpoint.
pub fn completion(
    run: &Run,
    job_id: i64,
    attempt: i32,
    index: usize,
    item: Option<usize>,
    output: serde_json::Value,
) -> Result<StepCompletion> {
    let spec = run
        .steps
        .get(index)
        .ok_or_else(|| Error::Corrupt(format!("run {} has no step {index}", run.id)))?;
    let then = match item {
        Some(_) if spec.map_over.is_none() => {
            return Err(Error::Corrupt(format!(
                "run {}: step `{}` is not mapped, but its job names an item",
                run.id, spec.kind
            )))
        }
        Some(_) => Then::Item,
        None if graph::sink(&run.steps) == Some(index) => Then::Finish {
            result_ttl: std::time::Duration::from_secs(spec.result_ttl_secs),
        },
        None => Then::Continue,
    };
    Ok(StepCompletion {
        job_id,
        attempt,
        run_id: run.id,
        step_index: index,
        step: spec.kind.clone(),
        item,
        output,
        steps: Arc::new(run.steps.clone()),
        then,
    })
}

/// What starting a step puts in its run's events: its job's `queued` event, or one `queued`
/// event for the items of a mapped step.
#[derive(Debug, Clone, PartialEq)]
enum Start {
    /// The job at this index of the jobs to insert.
    Job(usize),
    Items {
        step: String,
        items: usize,
    },
}

/// The jobs and events of one run that one change brings: events before the starts (a
/// `completed`), the starts, events after them (a `done`).
#[derive(Debug, Default)]
struct Plan {
    run_id: i64,
    only_if_running: bool,
    head: Vec<NewEvent>,
    starts: Vec<Start>,
    tail: Vec<NewEvent>,
}

/// Everything one transaction starts: the jobs to insert in one batch, and the runs' events.
#[derive(Debug, Default)]
struct Starts {
    jobs: Vec<StepJob>,
    plans: Vec<Plan>,
    failures: Vec<RunFailure>,
    /// `(run, step)` already started by this transaction (two branches that finish in one
    /// batch start their join once).
    started: HashSet<(i64, usize)>,
}

impl Starts {
    /// Start step `index` of a run: its job, or for a mapped step one job per item of
    /// `items` not in `done_items` (the step's own job, which joins them, when none is left).
    /// `items` is the mapped-over step's output; one that is not a list fails the run.
    async fn step<S: Statements>(
        &mut self,
        s: &mut S,
        plan: &mut Plan,
        steps: &[StepSpec],
        index: usize,
        items: Option<&serde_json::Value>,
        done_items: &[usize],
    ) -> Result<()> {
        if !self.started.insert((plan.run_id, index)) {
            return Ok(());
        }
        let Some(spec) = steps.get(index) else {
            return Err(Error::Corrupt(format!(
                "run {} has no step {index}",
                plan.run_id
            )));
        };
        let job = |item, value| StepJob {
            run_id: plan.run_id,
            index,
            item,
            value,
            spec: spec.clone(),
        };
        let Some(over) = spec.map_over else {
            plan.starts.push(Start::Job(self.jobs.len()));
            self.jobs.push(job(None, None));
            return Ok(());
        };
        let list = match items {
            Some(serde_json::Value::Array(list)) => list,
            _ => {
                let source = steps.get(over).map_or("?", |s| s.kind.as_str());
                self.failures.push(RunFailure {
                    run_id: plan.run_id,
                    job_id: None,
                    stage: Some(spec.kind.clone()),
                    code: "INVALID_STEP_INPUT".into(),
                    message: format!(
                        "step `{}` maps over the output of step `{source}`, which is not a list",
                        spec.kind
                    ),
                });
                return Ok(());
            }
        };
        let n = list.len();
        let done: HashSet<usize> = done_items.iter().copied().filter(|&k| k < n).collect();
        s.start_map(plan.run_id, index, n, done.len()).await?;
        let todo: Vec<(usize, &serde_json::Value)> = list
            .iter()
            .enumerate()
            .filter(|(k, _)| !done.contains(k))
            .collect();
        if todo.is_empty() {
            plan.starts.push(Start::Job(self.jobs.len()));
            self.jobs.push(job(None, None));
            return Ok(());
        }
        plan.starts.push(Start::Items {
            step: spec.kind.clone(),
            items: todo.len(),
        });
        self.jobs.extend(
            todo.into_iter()
                .map(|(k, value)| job(Some(k), Some(value.clone()))),
        );
        Ok(())
    }

    /// Start the own job of mapped step `index`, once all its items are done: it joins their
    /// outputs into the step's output.
    fn join(&mut self, plan: &mut Plan, steps: &[StepSpec], index: usize) -> Result<()> {
        if !self.started.insert((plan.run_id, index)) {
            return Ok(());
        }
        let spec = steps
            .get(index)
            .ok_or_else(|| Error::Corrupt(format!("run {} has no step {index}", plan.run_id)))?;
        plan.starts.push(Start::Job(self.jobs.len()));
        self.jobs.push(StepJob {
            run_id: plan.run_id,
            index,
            item: None,
            value: None,
            spec: spec.clone(),
        });
        Ok(())
    }

    /// Insert the jobs in one batch, then append every run's events, then fail the runs whose
    /// step could not start.
    async fn apply<S: Statements>(self, s: &mut S) -> Result<()> {
        let ids = if self.jobs.is_empty() {
            Vec::new()
        } else {
            s.insert_step_jobs(&self.jobs).await?
        };
        let mut batch = Vec::with_capacity(self.plans.len());
        for plan in self.plans {
            let mut evs = RunEvents::new(plan.run_id, plan.only_if_running);
            evs.events = plan.head;
            for start in plan.starts {
                evs.events.push(match start {
                    Start::Job(i) => {
                        let (id, job) = ids.get(i).zip(self.jobs.get(i)).ok_or_else(|| {
                            Error::Corrupt("a step job insert returned no id".into())
                        })?;
                        events::queued(*id, &job.spec.kind)
                    }
                    Start::Items { step, items } => events::queued_items(&step, items),
                });
            }
            evs.events.extend(plan.tail);
            batch.push(evs);
        }
        s.append_events(&batch).await?;
        failure::apply(s, &self.failures).await
    }
}

/// Start a new run: the jobs of its steps that wait for none. The run row exists (written
/// by the driver).
pub async fn start<S: Statements>(s: &mut S, run_id: i64, steps: &[StepSpec]) -> Result<()> {
    let roots = graph::ready(steps, &[]);
    if roots.is_empty() {
        return Err(Error::InvalidConfig(format!("run {run_id} has no steps")));
    }
    let mut starts = Starts::default();
    let mut plan = Plan {
        run_id,
        only_if_running: true,
        ..Plan::default()
    };
    for i in roots {
        // A root step maps over nothing (validation refuses it), so it has no items.
        starts.step(s, &mut plan, steps, i, None, &[]).await?;
    }
    starts.plans.push(plan);
    starts.apply(s).await
}

/// Record finished steps and items: each job's completion and checkpoint; for each step that
/// advances its run (its first checkpoint, the run `running`), the `completed` event and
/// either the jobs of the steps now ready (with their `queued` events) or, for the graph's
/// last step, the run's result and `done` event. An item is counted on its step's map row
/// only: the run (its row, its events) hears of items once per percent of them done (a
/// `progress` event), and at the last item the step's own job starts (which joins the items'
/// outputs). So the items of a run do not all queue on its row.
/// Returns how many jobs were still running that attempt (the others change nothing).
pub async fn complete<S: Statements>(s: &mut S, steps: &[&StepCompletion]) -> Result<usize> {
    if steps.is_empty() {
        return Ok(0);
    }
    let (items, nodes): (Vec<&StepCompletion>, Vec<&StepCompletion>) =
        steps.iter().partition(|c| c.item.is_some());
    let mut completed = 0;
    let mut starts = Starts::default();
    if !nodes.is_empty() {
        let applied = s.advance_steps(&nodes).await?;
        completed += applied.iter().filter(|a| a.job_completed).count();
        for (c, a) in nodes.iter().zip(&applied) {
            if a.run_advanced {
                advanced(s, &mut starts, c).await?;
            }
        }
    }
    if !items.is_empty() {
        let counted = s.complete_items(&items).await?;
        completed += counted.iter().filter(|a| a.job_completed).count();
        for m in MapCount::of(&items, &counted) {
            // A progress event alone is dropped if the run has ended meanwhile (a cancel that
            // committed after the count), so nothing follows its terminal event.
            let mut plan = Plan {
                run_id: m.run_id,
                only_if_running: m.done < m.total,
                ..Plan::default()
            };
            if m.crosses_a_percent() {
                plan.head
                    .push(events::items_progress(m.step, m.done, m.total));
            }
            if m.done >= m.total {
                starts.join(&mut plan, m.steps, m.index)?;
            }
            if !plan.head.is_empty() || !plan.starts.is_empty() {
                starts.plans.push(plan);
            }
        }
    }
    starts.apply(s).await?;
    Ok(completed)
}

/// The items of one mapped step counted by one batch of completions.
struct MapCount<'a> {
    run_id: i64,
    index: usize,
    step: &'a str,
    steps: &'a [StepSpec],
    /// Items counted by this batch.
    now: i64,
    /// Items done after it, of `total`.
    done: i64,
    total: i64,
}

impl<'a> MapCount<'a> {
    /// Group the counted items of a batch by mapped step, in order of first appearance.
    fn of(items: &[&'a StepCompletion], counted: &[ItemCounted]) -> Vec<MapCount<'a>> {
        let mut maps: Vec<MapCount<'a>> = Vec::new();
        for (c, count) in items.iter().zip(counted) {
            let Some((done, total)) = count.counted else {
                continue;
            };
            match maps
                .iter_mut()
                .find(|m| m.run_id == c.run_id && m.index == c.step_index)
            {
                Some(m) => {
                    m.now += 1;
                    m.done = m.done.max(done);
                }
                None => maps.push(MapCount {
                    run_id: c.run_id,
                    index: c.step_index,
                    step: &c.step,
                    steps: c.steps.as_slice(),
                    now: 1,
                    done,
                    total,
                }),
            }
        }
        maps
    }

    /// Whether this batch took the step's items past a whole percent (the last item always
    /// does): at most 101 progress events per mapped step, whatever its number of items.
    fn crosses_a_percent(&self) -> bool {
        let pct = |n: i64| n * 100 / self.total.max(1);
        pct(self.done) > pct(self.done - self.now)
    }
}

/// A step advanced its run: plan its `completed` event and what follows.
async fn advanced<S: Statements>(s: &mut S, starts: &mut Starts, c: &StepCompletion) -> Result<()> {
    let mut plan = Plan {
        run_id: c.run_id,
        ..Plan::default()
    };
    let steps = c.steps.as_slice();
    if let Then::Finish { .. } = c.then {
        plan.head.push(events::completed(c.job_id, &c.step, 100));
        plan.tail.push(events::done(c.job_id, &c.step));
        starts.plans.push(plan);
        return Ok(());
    }
    let waiting = graph::dependents(steps, c.step_index);
    // In a chain the next step waits for this one alone: no read is needed.
    let done = if steps.iter().all(|s| s.after.is_none()) {
        steps[..=c.step_index.min(steps.len().saturating_sub(1))]
            .iter()
            .map(|s| s.kind.clone())
            .collect()
    } else {
        // The run row is locked by the advance, so a branch finishing in another transaction
        // is either seen here or sees this one's checkpoint: its join starts exactly once.
        s.done_steps(c.run_id).await?
    };
    let pct = (done.len() * 100 / steps.len().max(1)).min(100) as i16;
    plan.head.push(events::completed(c.job_id, &c.step, pct));
    let ready = graph::ready(steps, &done);
    for j in waiting.into_iter().filter(|j| ready.contains(j)) {
        let items = match steps.get(j).and_then(|s| s.map_over) {
            None => None,
            Some(over) if over == c.step_index => Some(c.output.clone()),
            Some(over) => s.step_output(c.run_id, &steps[over].kind).await?,
        };
        starts
            .step(s, &mut plan, steps, j, items.as_ref(), &[])
            .await?;
    }
    starts.plans.push(plan);
    Ok(())
}

/// Claimed step jobs each get a `started` event (while their run is running); the items of a
/// mapped step do not (their progress is counted as they finish, see [`complete`]).
pub async fn claimed<S: Statements>(s: &mut S, jobs: &[FetchedJob]) -> Result<()> {
    let evs: Vec<RunEvents> = jobs
        .iter()
        .filter(|j| StepArgs::of(&j.args).is_none_or(|a| a.item.is_none()))
        .filter_map(|j| {
            j.run_id
                .map(|run| events::started(run, j.id, &j.kind, j.attempt))
        })
        .collect();
    if evs.is_empty() {
        return Ok(());
    }
    s.append_events(&evs).await
}

/// Where a failed run resumes: the steps without a checkpoint whose dependencies all have
/// one (for a chain, its first step without a checkpoint).
pub fn resume_point(
    run_id: i64,
    state: RunState,
    steps: &[StepSpec],
    done: &[String],
) -> Result<Vec<usize>> {
    if state != RunState::Failed {
        return Err(Error::InvalidState(format!(
            "run {run_id} is {}; only a failed run can be resumed",
            state.as_str()
        )));
    }
    let ready = graph::ready(steps, done);
    if ready.is_empty() {
        return Err(Error::InvalidState(format!(
            "run {run_id} has a checkpoint for every step; nothing to resume"
        )));
    }
    Ok(ready)
}

/// Restart a failed run at its steps without a checkpoint whose dependencies have one; a
/// mapped step reruns only its items without a checkpoint.
pub async fn resume<S: Statements>(s: &mut S, run_id: i64) -> Result<()> {
    let head = s
        .lock_run(run_id)
        .await?
        .ok_or(Error::RunNotFound(run_id))?;
    let done = s.done_steps(run_id).await?;
    let ready = resume_point(run_id, head.state, &head.steps, &done)?;
    let first = ready.first().copied().unwrap_or_default();
    let stage = head
        .steps
        .get(first)
        .map(|s| s.kind.clone())
        .unwrap_or_default();
    s.restart_run(run_id, first, &stage).await?;
    let mut starts = Starts::default();
    let mut plan = Plan {
        run_id,
        only_if_running: true,
        ..Plan::default()
    };
    for i in ready {
        let (items, done_items) = match head.steps.get(i).and_then(|s| s.map_over) {
            None => (None, Vec::new()),
            Some(over) => (
                s.step_output(run_id, &head.steps[over].kind).await?,
                s.done_items(run_id, &head.steps[i].kind).await?,
            ),
        };
        starts
            .step(s, &mut plan, &head.steps, i, items.as_ref(), &done_items)
            .await?;
    }
    starts.plans.push(plan);
    starts.apply(s).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec(kind: &str) -> StepSpec {
        StepSpec {
            kind: kind.into(),
            queue: "q".into(),
            max_attempts: 3,
            priority: 1,
            result_ttl_secs: 60,
            partition_key: None,
            after: None,
            map_over: None,
            allow_failure: false,
            metadata: None,
        }
    }

    #[test]
    fn a_resumed_chain_starts_at_its_first_step_without_a_checkpoint() {
        let steps = [spec("a"), spec("b"), spec("c")];
        let ready = resume_point(1, RunState::Failed, &steps, &["a".into()]).unwrap();
        assert_eq!(ready, vec![1]);
        let all: Vec<String> = steps.iter().map(|s| s.kind.clone()).collect();
        assert!(resume_point(1, RunState::Failed, &steps, &all).is_err());
        assert!(resume_point(1, RunState::Running, &steps, &[]).is_err());
    }

    fn fetched(id: i64, run_id: Option<i64>, args: serde_json::Value) -> FetchedJob {
        let now = chrono::Utc::now();
        FetchedJob {
            id,
            kind: "k".into(),
            queue: "q".into(),
            args: args.to_string(),
            attempt: 1,
            max_attempts: 3,
            priority: 1,
            created_at: now,
            scheduled_at: now,
            metadata: "{}".into(),
            run_id,
            step_inputs: None,
        }
    }

    #[test]
    fn only_a_run_whose_claimed_jobs_are_all_carried_items_of_one_step_is_read_without_its_list() {
        let item = |run: i64, step: usize, value: Option<serde_json::Value>| {
            let mut args = serde_json::json!({ "run_id": run, "step": step, "item": 0 });
            if let Some(v) = value {
                args["value"] = v;
            }
            args
        };
        let jobs = vec![
            // Run 1: items of step 1 carrying their element (a null one too).
            fetched(1, Some(1), item(1, 1, Some(serde_json::json!(5)))),
            fetched(2, Some(1), item(1, 1, Some(serde_json::Value::Null))),
            // Run 2: an item and a plain step job.
            fetched(3, Some(2), item(2, 1, Some(serde_json::json!(5)))),
            fetched(4, Some(2), serde_json::json!({ "run_id": 2, "step": 2 })),
            // Run 3: an item written before elements were carried.
            fetched(5, Some(3), item(3, 1, None)),
            // Run 4: items of two mapped steps.
            fetched(6, Some(4), item(4, 1, Some(serde_json::json!(1)))),
            fetched(7, Some(4), item(4, 2, Some(serde_json::json!(1)))),
            // A plain job: no run.
            fetched(8, None, serde_json::json!({ "x": 1 })),
        ];
        let needed = inputs_needed(&jobs);
        assert_eq!(needed.len(), 4);
        assert_eq!(needed[&1], Some(1));
        assert_eq!(needed[&2], None);
        assert_eq!(needed[&3], None);
        assert_eq!(needed[&4], None);
    }

    #[test]
    fn a_batch_of_items_reports_progress_only_when_it_passes_a_whole_percent() {
        let steps = [spec("m")];
        let count = |now, done, total| MapCount {
            run_id: 1,
            index: 0,
            step: "m",
            steps: &steps,
            now,
            done,
            total,
        };
        // 1,000 items: every 10th item passes a percent.
        assert!(!count(1, 9, 1000).crosses_a_percent());
        assert!(count(1, 10, 1000).crosses_a_percent());
        assert!(!count(5, 19, 1000).crosses_a_percent());
        assert!(count(5, 21, 1000).crosses_a_percent());
        // The last item always does; with fewer than 100 items, every item does.
        assert!(count(1, 1000, 1000).crosses_a_percent());
        assert!(count(1, 1, 3).crosses_a_percent());
    }
}

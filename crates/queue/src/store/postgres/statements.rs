//! The lifecycle's statements on PostgreSQL ([`crate::lifecycle::Statements`]): each a batch
//! as one SQL statement (arrays through `unnest`), its fence in its `WHERE`, its wake-up a
//! `pg_notify` inside it (sent when the caller's transaction commits).

use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use super::rows::{job_from_row, JOB_COLUMNS};
use crate::clock;
use crate::error::{Error, Result};
use crate::job::{Completion, Job};
use crate::lease::Lease;
use crate::lifecycle::{
    Advanced, Ended, ItemCounted, JobHead, Rescue, Retry, RunEvents, RunFailure, RunHead,
    Statements, StepJob,
};
use crate::run::{StepCompletion, Then};

/// The statements on one client: a transaction, or a pooled connection for a batch that
/// needs none.
pub(crate) struct PgStatements<'a, C: GenericClient> {
    pub c: &'a C,
    /// The schema's NOTIFY channel.
    pub channel: &'a str,
}

fn json_text<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Corrupt(e.to_string()))
}

/// One entry per input from rows `(ordinality, run_id, kind, …)` of the jobs that applied.
fn ended_by_ordinality(rows: &[tokio_postgres::Row], len: usize) -> Vec<Option<Ended>> {
    let mut out = vec![None; len];
    for r in rows {
        let n: i64 = r.get(0);
        if let Some(slot) = usize::try_from(n - 1).ok().and_then(|i| out.get_mut(i)) {
            *slot = Some(Ended {
                run_id: r.get(1),
                kind: r.get(2),
            });
        }
    }
    out
}

impl<C: GenericClient> Statements for PgStatements<'_, C> {
    async fn complete_jobs(&mut self, done: &[(i64, i32)]) -> Result<u64> {
        if done.is_empty() {
            return Ok(0);
        }
        let ids: Vec<i64> = done.iter().map(|d| d.0).collect();
        let attempts: Vec<i32> = done.iter().map(|d| d.1).collect();
        let stmt = self
            .c
            .prepare_cached(include_str!("sql/complete_jobs.sql"))
            .await?;
        Ok(self.c.execute(&stmt, &[&ids, &attempts]).await?)
    }

    async fn record_outcomes(&mut self, batch: &[&Completion]) -> Result<Vec<Option<Ended>>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = batch.iter().map(|c| c.id).collect();
        let attempts: Vec<i32> = batch.iter().map(|c| c.attempt).collect();
        let states: Vec<&str> = batch.iter().map(|c| c.outcome.state().as_str()).collect();
        let run_at: Vec<Option<DateTime<Utc>>> = batch.iter().map(|c| c.outcome.run_at()).collect();
        let errors: Vec<Option<String>> = batch
            .iter()
            .map(|c| c.outcome.error().map(json_text).transpose())
            .collect::<Result<_>>()?;
        let uncount: Vec<i32> = batch
            .iter()
            .map(|c| i32::from(c.outcome.uncounts_attempt()))
            .collect();
        let stmt = self
            .c
            .prepare_cached(include_str!("sql/record_outcomes.sql"))
            .await?;
        let rows = self
            .c
            .query(
                &stmt,
                &[&ids, &attempts, &states, &run_at, &errors, &uncount],
            )
            .await?;
        Ok(ended_by_ordinality(&rows, batch.len()))
    }

    async fn advance_steps(&mut self, steps: &[&StepCompletion]) -> Result<Vec<Advanced>> {
        if steps.is_empty() {
            return Ok(Vec::new());
        }
        let jobs: Vec<i64> = steps.iter().map(|s| s.job_id).collect();
        let attempts: Vec<i32> = steps.iter().map(|s| s.attempt).collect();
        let runs: Vec<i64> = steps.iter().map(|s| s.run_id).collect();
        let idx: Vec<i32> = steps.iter().map(|s| s.step_index as i32).collect();
        let names: Vec<&str> = steps.iter().map(|s| s.step.as_str()).collect();
        let outputs: Vec<String> = steps.iter().map(|s| s.output.to_string()).collect();
        let finish: Vec<bool> = steps
            .iter()
            .map(|s| matches!(s.then, Then::Finish { .. }))
            .collect();
        let ttl: Vec<f64> = steps
            .iter()
            .map(|s| match s.then {
                Then::Finish { result_ttl } => clock::bounded(result_ttl).as_secs_f64(),
                Then::Continue | Then::Item => 0.0,
            })
            .collect();
        let stmt = self
            .c
            .prepare_cached(include_str!("sql/advance_steps.sql"))
            .await?;
        let rows = self
            .c
            .query(
                &stmt,
                &[
                    &jobs, &attempts, &runs, &idx, &names, &outputs, &finish, &ttl,
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Advanced {
                job_completed: r.get(1),
                run_advanced: r.get(2),
            })
            .collect())
    }

    async fn insert_step_jobs(&mut self, jobs: &[StepJob]) -> Result<Vec<i64>> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let kinds: Vec<&str> = jobs.iter().map(|j| j.spec.kind.as_str()).collect();
        let queues: Vec<&str> = jobs.iter().map(|j| j.spec.queue.as_str()).collect();
        let args: Vec<String> = jobs.iter().map(|j| j.args().to_string()).collect();
        let prios: Vec<i16> = jobs.iter().map(|j| j.spec.priority).collect();
        let maxes: Vec<i32> = jobs.iter().map(|j| j.spec.max_attempts).collect();
        let runs: Vec<i64> = jobs.iter().map(|j| j.run_id).collect();
        let keys: Vec<Option<&str>> = jobs
            .iter()
            .map(|j| j.spec.partition_key.as_deref())
            .collect();
        let metas: Vec<String> = jobs.iter().map(StepJob::metadata).collect();
        let limited: Vec<(&str, Option<&str>)> =
            kinds.iter().copied().zip(keys.iter().copied()).collect();
        let (fair_tags, tagger) = super::tags::tag(&super::tags::Pooled(self.c), &limited).await?;
        let stmt = self
            .c
            .prepare_cached(include_str!("sql/insert_step_jobs.sql"))
            .await?;
        let rows = self
            .c
            .query(
                &stmt,
                &[
                    &kinds,
                    &queues,
                    &args,
                    &prios,
                    &maxes,
                    &runs,
                    &self.channel,
                    &keys,
                    &metas,
                    &fair_tags,
                ],
            )
            .await?;
        super::tags::save(&super::tags::Pooled(self.c), &tagger).await?;
        // Each job comes back with its (run, step, item), unique within a call.
        let by_args: std::collections::HashMap<(i64, i64, Option<i64>), i64> = rows
            .iter()
            .map(|r| ((r.get(1), r.get(2), r.get(3)), r.get(0)))
            .collect();
        jobs.iter()
            .map(|j| {
                let key = (j.run_id, j.index as i64, j.item.map(|k| k as i64));
                by_args.get(&key).copied().ok_or_else(|| {
                    Error::Corrupt(format!(
                        "no job was inserted for step {} of run {}",
                        j.index, j.run_id
                    ))
                })
            })
            .collect()
    }

    async fn complete_items(&mut self, items: &[&StepCompletion]) -> Result<Vec<ItemCounted>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let jobs: Vec<i64> = items.iter().map(|s| s.job_id).collect();
        let attempts: Vec<i32> = items.iter().map(|s| s.attempt).collect();
        let runs: Vec<i64> = items.iter().map(|s| s.run_id).collect();
        let idx: Vec<i32> = items.iter().map(|s| s.step_index as i32).collect();
        let names: Vec<&str> = items.iter().map(|s| s.step.as_str()).collect();
        let keys: Vec<String> = items.iter().map(|s| s.checkpoint_key()).collect();
        let outputs: Vec<String> = items.iter().map(|s| s.output.to_string()).collect();
        let stmt = self
            .c
            .prepare_cached(include_str!("sql/complete_items.sql"))
            .await?;
        let rows = self
            .c
            .query(
                &stmt,
                &[&jobs, &attempts, &runs, &idx, &names, &keys, &outputs],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let done: Option<i32> = r.get(2);
                let total: Option<i32> = r.get(3);
                ItemCounted {
                    job_completed: r.get(1),
                    counted: done.zip(total).map(|(d, t)| (i64::from(d), i64::from(t))),
                }
            })
            .collect())
    }

    async fn start_map(
        &mut self,
        run_id: i64,
        index: usize,
        items: usize,
        done: usize,
    ) -> Result<()> {
        self.c
            .execute(
                "INSERT INTO specline_run_maps (run_id, step, items, done) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (run_id, step) DO UPDATE SET items = EXCLUDED.items, done = EXCLUDED.done",
                &[&run_id, &(index as i32), &(items as i32), &(done as i32)],
            )
            .await?;
        Ok(())
    }

    async fn step_output(&mut self, run_id: i64, step: &str) -> Result<Option<serde_json::Value>> {
        let row = self
            .c
            .query_opt(
                "SELECT value::text FROM specline_checkpoints WHERE run_id = $1 AND step = $2 AND key = ''",
                &[&run_id, &step],
            )
            .await?;
        row.map(|r| {
            serde_json::from_str(r.get::<_, &str>(0)).map_err(|e| Error::Corrupt(e.to_string()))
        })
        .transpose()
    }

    async fn done_items(&mut self, run_id: i64, step: &str) -> Result<Vec<usize>> {
        let rows = self
            .c
            .query(
                "SELECT key FROM specline_checkpoints WHERE run_id = $1 AND step = $2 AND key LIKE 'item:%'",
                &[&run_id, &step],
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| crate::run::parse_item_key(r.get(0)))
            .collect())
    }

    async fn append_events(&mut self, batch: &[RunEvents]) -> Result<()> {
        // One statement updates a run row once: a run named twice goes to a later statement
        // (each sees the seqs the one before took).
        let mut rounds: Vec<Vec<&RunEvents>> = Vec::new();
        for g in batch.iter().filter(|g| !g.events.is_empty()) {
            match rounds
                .iter_mut()
                .find(|r| r.iter().all(|o| o.run_id != g.run_id))
            {
                Some(round) => round.push(g),
                None => rounds.push(vec![g]),
            }
        }
        for round in rounds {
            self.append_round(&round).await?;
        }
        Ok(())
    }
    async fn fail_runs(&mut self, failures: &[RunFailure]) -> Result<Vec<bool>> {
        if failures.is_empty() {
            return Ok(Vec::new());
        }
        let runs: Vec<i64> = failures.iter().map(|f| f.run_id).collect();
        let codes: Vec<&str> = failures.iter().map(|f| f.code.as_str()).collect();
        let messages: Vec<&str> = failures.iter().map(|f| f.message.as_str()).collect();
        let stmt = self
            .c
            .prepare_cached(include_str!("sql/fail_runs.sql"))
            .await?;
        let rows = self.c.query(&stmt, &[&runs, &codes, &messages]).await?;
        let mut out = vec![false; failures.len()];
        for r in rows {
            let n: i64 = r.get(0);
            if let Some(slot) = out.get_mut((n - 1) as usize) {
                *slot = true;
            }
        }
        Ok(out)
    }

    async fn rescue_jobs(
        &mut self,
        lease: &Lease,
        stale: Duration,
        rescues: &[Rescue],
    ) -> Result<Vec<Option<Ended>>> {
        if rescues.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = rescues.iter().map(|r| r.id).collect();
        let attempts: Vec<i32> = rescues.iter().map(|r| r.attempt).collect();
        let states: Vec<&str> = rescues.iter().map(|r| r.state.as_str()).collect();
        let credits: Vec<i32> = rescues.iter().map(|r| i32::from(r.credit)).collect();
        let errors: Vec<String> = rescues
            .iter()
            .map(|r| json_text(&r.error))
            .collect::<Result<_>>()?;
        let stmt = self
            .c
            .prepare_cached(include_str!("sql/rescue_jobs.sql"))
            .await?;
        let rows = self
            .c
            .query(
                &stmt,
                &[
                    &lease.holder,
                    &lease.term,
                    &clock::bounded(stale).as_secs_f64(),
                    &ids,
                    &attempts,
                    &states,
                    &credits,
                    &errors,
                    &self.channel,
                ],
            )
            .await?;
        Ok(ended_by_ordinality(&rows, rescues.len()))
    }

    async fn lock_job(&mut self, id: i64) -> Result<Option<JobHead>> {
        let row = self
            .c
            .query_opt(
                "SELECT state, kind, run_id, attempt, max_attempts, (errors -> -1)::text
                 FROM specline_jobs WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await?;
        row.map(|r| {
            JobHead::decode(
                id,
                r.get(0),
                r.get(1),
                r.get(2),
                (r.get(3), r.get(4)),
                r.get(5),
            )
        })
        .transpose()
    }

    async fn cancel_job(&mut self, id: i64, running: bool) -> Result<()> {
        self.c
            .query_one(
                include_str!("sql/cancel_job.sql"),
                &[&id, &running, &self.channel],
            )
            .await?;
        Ok(())
    }

    async fn discard_job(&mut self, id: i64) -> Result<Option<Job>> {
        let row = self
            .c
            .query_opt(
                &format!(
                    "UPDATE specline_jobs SET state = 'discarded', finalized_at = now()
                     WHERE id = $1 AND state <> 'running' RETURNING {JOB_COLUMNS}"
                ),
                &[&id],
            )
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn retry_job(&mut self, id: i64, retry: &Retry) -> Result<Option<Job>> {
        let res = self
            .c
            .query_opt(
                &format!(
                    "WITH upd AS (
                       UPDATE specline_jobs SET state = $2, scheduled_at = now(), finalized_at = NULL,
                         cancel_requested_at = NULL, max_attempts = $3
                       WHERE id = $1 AND state <> 'running' RETURNING *
                     ), woke AS (SELECT pg_notify($4, 'i:' || queue) FROM upd)
                     SELECT {JOB_COLUMNS}, (SELECT count(*) FROM woke) FROM upd"
                ),
                &[&id, &retry.state.as_str(), &retry.max_attempts, &self.channel],
            )
            .await;
        match res {
            Ok(row) => row.as_ref().map(job_from_row).transpose(),
            Err(e) if super::is_unique_violation(&e) => Err(Error::UniqueConflict(format!(
                "job {id} cannot run again: another live job holds its unique key"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    async fn lock_run(&mut self, run_id: i64) -> Result<Option<RunHead>> {
        let row = self
            .c
            .query_opt(
                "SELECT state, stage, steps::text FROM specline_runs WHERE id = $1 FOR UPDATE",
                &[&run_id],
            )
            .await?;
        row.map(|r| RunHead::decode(run_id, r.get(0), r.get(1), r.get(2)))
            .transpose()
    }

    async fn done_steps(&mut self, run_id: i64) -> Result<Vec<String>> {
        let rows = self
            .c
            .query(
                "SELECT step FROM specline_checkpoints WHERE run_id = $1 AND key = ''",
                &[&run_id],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn restart_run(&mut self, run_id: i64, index: usize, stage: &str) -> Result<()> {
        self.c
            .execute(
                "UPDATE specline_runs SET state = 'running', error_code = NULL,
                   error_message = NULL, finished_at = NULL, current_step = $2, stage = $3,
                   updated_at = now()
                 WHERE id = $1",
                &[&run_id, &(index as i32), &stage],
            )
            .await?;
        Ok(())
    }

    async fn current_step_job(&mut self, run_id: i64) -> Result<Option<i64>> {
        let row = self
            .c
            .query_one(
                "SELECT max(id) FROM specline_jobs WHERE run_id = $1
                   AND state NOT IN ('completed', 'cancelled', 'discarded')",
                &[&run_id],
            )
            .await?;
        Ok(row.get(0))
    }

    async fn stop_run_jobs(&mut self, run_id: i64) -> Result<Option<i64>> {
        let row = self
            .c
            .query_one(
                include_str!("sql/stop_run_jobs.sql"),
                &[&run_id, &self.channel],
            )
            .await?;
        Ok(row.get(0))
    }
}

impl<C: GenericClient> PgStatements<'_, C> {
    /// Append the events of distinct runs with one statement.
    async fn append_round(&mut self, batch: &[&RunEvents]) -> Result<()> {
        let g_run: Vec<i64> = batch.iter().map(|g| g.run_id).collect();
        let g_k: Vec<i32> = batch.iter().map(|g| g.events.len() as i32).collect();
        let g_stage: Vec<Option<&str>> = batch.iter().map(|g| g.stage_after()).collect();
        let g_progress: Vec<Option<i16>> = batch.iter().map(|g| g.progress_after()).collect();
        let g_only: Vec<bool> = batch.iter().map(|g| g.only_if_running).collect();
        let mut e_run = Vec::new();
        let mut e_i = Vec::new();
        let mut e_job = Vec::new();
        let mut e_stage = Vec::new();
        let mut e_status = Vec::new();
        let mut e_progress = Vec::new();
        let mut e_payload = Vec::new();
        for g in batch {
            for (i, e) in g.events.iter().enumerate() {
                e_run.push(g.run_id);
                e_i.push(i as i32 + 1);
                e_job.push(e.job_id);
                e_stage.push(e.stage.as_deref());
                e_status.push(e.status.as_str());
                e_progress.push(e.progress);
                e_payload.push(e.payload.as_ref().map(|p| p.to_string()));
            }
        }
        let stmt = self
            .c
            .prepare_cached(include_str!("sql/append_events.sql"))
            .await?;
        self.c
            .query_one(
                &stmt,
                &[
                    &g_run,
                    &g_k,
                    &g_stage,
                    &g_progress,
                    &g_only,
                    &e_run,
                    &e_i,
                    &e_job,
                    &e_stage,
                    &e_status,
                    &e_progress,
                    &e_payload,
                    &self.channel,
                ],
            )
            .await?;
        Ok(())
    }
}

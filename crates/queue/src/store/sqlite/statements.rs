//! The lifecycle's statements on SQLite ([`crate::lifecycle::Statements`]), in the caller's
//! write transaction. SQLite runs in-process, so a batch is a prepared statement run per
//! entry (no round trips to save); each checks its fence in its `WHERE` like PostgreSQL's.
//! Wake-ups are collected and sent by the store after the commit.
//!
//! The methods are `async` to share the trait with PostgreSQL but never wait: the store runs
//! the lifecycle's functions on its blocking thread with `futures::executor::block_on`.

use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use super::lease_ok;
use super::rows::{job_from_row, JOB_COLUMNS};
use super::tags::SqliteTags;
use super::time::{minus, plus};
use crate::error::{Error, Result};
use crate::job::{Completion, Job, JobState};
use crate::lease::Lease;
use crate::lifecycle::{
    Advanced, Ended, ItemCounted, JobHead, Rescue, Retry, RunEvents, RunFailure, RunHead,
    Statements, StepJob,
};
use crate::run::{StepCompletion, Then};
use crate::store::Wakeup;

/// The statements on one connection (in a transaction), at one `now` (microseconds).
pub(crate) struct SqliteStatements<'a> {
    pub conn: &'a Connection,
    pub now: i64,
    /// Wake-ups to send once the transaction commits.
    pub wake: Vec<Wakeup>,
}

impl<'a> SqliteStatements<'a> {
    pub fn new(conn: &'a Connection, now: i64) -> Self {
        SqliteStatements {
            conn,
            now,
            wake: Vec::new(),
        }
    }

    fn wake(&mut self, w: Wakeup) {
        if !self.wake.contains(&w) {
            self.wake.push(w);
        }
    }
}

fn json_text<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Corrupt(e.to_string()))
}

impl SqliteStatements<'_> {
    /// Complete a step's (or item's) job, fenced by its attempt, and write its checkpoint:
    /// `None` when the fence did not hold, else whether the checkpoint is the first one.
    fn complete_with_checkpoint(&self, s: &StepCompletion) -> Result<Option<bool>> {
        let mut complete = self.conn.prepare_cached(
            "UPDATE specline_jobs SET state = 'completed', finalized_at = ?3
             WHERE id = ?1 AND attempt = ?2 AND state = 'running'",
        )?;
        if complete.execute(params![s.job_id, s.attempt, self.now])? == 0 {
            return Ok(None);
        }
        let key = s.checkpoint_key();
        let existed = self
            .conn
            .prepare_cached(
                "SELECT 1 FROM specline_checkpoints WHERE run_id = ?1 AND step = ?2 AND key = ?3",
            )?
            .exists(params![s.run_id, s.step, key])?;
        if existed && s.item.is_some() {
            // An item's output is written once: its first checkpoint stays as it was.
            return Ok(Some(false));
        }
        self.conn
            .prepare_cached(include_str!("sql/put_checkpoint.sql"))?
            .execute(params![
                s.run_id,
                s.step,
                key,
                s.output.to_string(),
                self.now
            ])?;
        Ok(Some(!existed))
    }
}

impl Statements for SqliteStatements<'_> {
    async fn complete_jobs(&mut self, done: &[(i64, i32)]) -> Result<u64> {
        if done.is_empty() {
            return Ok(0);
        }
        // One statement for the batch: the pairs (id, attempt) travel as one JSON array.
        let pairs = json_text(&done)?;
        let n = self
            .conn
            .prepare_cached(include_str!("sql/complete_jobs.sql"))?
            .execute(params![self.now, pairs])?;
        Ok(n as u64)
    }

    async fn record_outcomes(&mut self, batch: &[&Completion]) -> Result<Vec<Option<Ended>>> {
        let mut out = Vec::with_capacity(batch.len());
        let mut stmt = self
            .conn
            .prepare_cached(include_str!("sql/record_outcome.sql"))?;
        let mut wake = Vec::new();
        for c in batch {
            let error = c.outcome.error().map(json_text).transpose()?;
            let run_at = c.outcome.run_at().map(|t| t.timestamp_micros());
            let row: Option<(String, Option<i64>, String)> = stmt
                .query_row(
                    params![
                        c.outcome.state().as_str(),
                        run_at,
                        self.now,
                        error,
                        i32::from(c.outcome.uncounts_attempt()),
                        c.id,
                        c.attempt
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            out.push(row.map(|(queue, run_id, kind)| {
                if run_at.is_some_and(|t| t <= self.now) {
                    wake.push(Wakeup::Inserted(queue));
                }
                Ended { run_id, kind }
            }));
        }
        drop(stmt);
        for w in wake {
            self.wake(w);
        }
        Ok(out)
    }

    async fn advance_steps(&mut self, steps: &[&StepCompletion]) -> Result<Vec<Advanced>> {
        let mut advance = self.conn.prepare_cached(
            "UPDATE specline_runs SET current_step = max(current_step, ?2 + 1),
               state = CASE WHEN ?3 THEN 'done' ELSE state END,
               finished_at = CASE WHEN ?3 THEN ?4 ELSE finished_at END, updated_at = ?4
             WHERE id = ?1 AND state = 'running'",
        )?;
        let mut result = self.conn.prepare_cached(
            "INSERT INTO specline_results (run_id, result, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (run_id) DO UPDATE SET result = excluded.result,
               created_at = excluded.created_at, expires_at = excluded.expires_at",
        )?;
        let mut out = Vec::with_capacity(steps.len());
        for s in steps {
            let Some(fresh) = self.complete_with_checkpoint(s)? else {
                out.push(Advanced {
                    job_completed: false,
                    run_advanced: false,
                });
                continue;
            };
            let finish = matches!(s.then, Then::Finish { .. });
            let advanced = fresh
                && advance.execute(params![s.run_id, s.step_index as i64, finish, self.now])? > 0;
            if let (true, Then::Finish { result_ttl }) = (advanced, &s.then) {
                result.execute(params![
                    s.run_id,
                    s.output.to_string(),
                    self.now,
                    plus(self.now, *result_ttl)
                ])?;
            }
            out.push(Advanced {
                job_completed: true,
                run_advanced: advanced,
            });
        }
        Ok(out)
    }

    async fn complete_items(&mut self, items: &[&StepCompletion]) -> Result<Vec<ItemCounted>> {
        let mut count = self.conn.prepare_cached(
            "UPDATE specline_run_maps SET done = done + 1
             WHERE run_id = ?1 AND step = ?2
               AND EXISTS (SELECT 1 FROM specline_runs r WHERE r.id = ?1 AND r.state = 'running')
             RETURNING done, items",
        )?;
        let mut out = Vec::with_capacity(items.len());
        for s in items {
            let Some(fresh) = self.complete_with_checkpoint(s)? else {
                out.push(ItemCounted {
                    job_completed: false,
                    counted: None,
                });
                continue;
            };
            let counted = if fresh {
                count
                    .query_row(params![s.run_id, s.step_index as i64], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()?
            } else {
                None
            };
            out.push(ItemCounted {
                job_completed: true,
                counted,
            });
        }
        Ok(out)
    }

    async fn start_map(
        &mut self,
        run_id: i64,
        index: usize,
        items: usize,
        done: usize,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO specline_run_maps (run_id, step, items, done) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (run_id, step) DO UPDATE SET items = excluded.items, done = excluded.done",
            params![run_id, index as i64, items as i64, done as i64],
        )?;
        Ok(())
    }

    async fn step_output(&mut self, run_id: i64, step: &str) -> Result<Option<serde_json::Value>> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM specline_checkpoints WHERE run_id = ?1 AND step = ?2 AND key = ''",
                params![run_id, step],
                |r| r.get(0),
            )
            .optional()?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| Error::Corrupt(e.to_string())))
            .transpose()
    }

    async fn done_items(&mut self, run_id: i64, step: &str) -> Result<Vec<usize>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT key FROM specline_checkpoints WHERE run_id = ?1 AND step = ?2 AND key LIKE 'item:%'",
        )?;
        let keys = stmt
            .query_map(params![run_id, step], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(keys
            .iter()
            .filter_map(|k| crate::run::parse_item_key(k))
            .collect())
    }

    async fn insert_step_jobs(&mut self, jobs: &[StepJob]) -> Result<Vec<i64>> {
        let mut ids = Vec::with_capacity(jobs.len());
        {
            let mut stmt = self.conn.prepare_cached(
                "INSERT INTO specline_jobs (kind, queue, args, state, priority, max_attempts,
                   created_at, scheduled_at, run_id, partition_key, metadata, fair_tag)
                 VALUES (?1, ?2, ?3, 'available', ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10) RETURNING id",
            )?;
            let mut tags = SqliteTags::default();
            for j in jobs {
                let fair_tag = match &j.spec.partition_key {
                    Some(key) => Some(tags.tag(self.conn, &j.spec.kind, key)?),
                    None => None,
                };
                ids.push(stmt.query_row(
                    params![
                        j.spec.kind,
                        j.spec.queue,
                        j.args().to_string(),
                        j.spec.priority,
                        j.spec.max_attempts,
                        self.now,
                        j.run_id,
                        j.spec.partition_key,
                        j.metadata(),
                        fair_tag
                    ],
                    |r| r.get::<_, i64>(0),
                )?);
            }
            tags.save(self.conn)?;
        }
        for j in jobs {
            self.wake(Wakeup::Inserted(j.spec.queue.clone()));
        }
        Ok(ids)
    }

    async fn append_events(&mut self, batch: &[RunEvents]) -> Result<()> {
        let mut take = self.conn.prepare_cached(
            "UPDATE specline_runs SET last_seq = last_seq + ?2, stage = COALESCE(?3, stage),
               progress = COALESCE(?4, progress), updated_at = ?5
             WHERE id = ?1 AND (NOT ?6 OR state = 'running')
             RETURNING last_seq - ?2, progress",
        )?;
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO specline_run_events (run_id, seq, job_id, stage, status, progress, payload, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let mut woke = Vec::new();
        for g in batch.iter().filter(|g| !g.events.is_empty()) {
            let taken: Option<(i64, i16)> = take
                .query_row(
                    params![
                        g.run_id,
                        g.events.len() as i64,
                        g.stage_after(),
                        g.progress_after(),
                        self.now,
                        g.only_if_running
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((base, progress)) = taken else {
                continue;
            };
            for (i, e) in g.events.iter().enumerate() {
                insert.execute(params![
                    g.run_id,
                    base + i as i64 + 1,
                    e.job_id,
                    e.stage,
                    e.status.as_str(),
                    e.progress.unwrap_or(progress),
                    e.payload.as_ref().map(|p| p.to_string()),
                    self.now
                ])?;
            }
            woke.push(Wakeup::RunEvent(g.run_id));
        }
        drop((take, insert));
        for w in woke {
            self.wake(w);
        }
        Ok(())
    }

    async fn fail_runs(&mut self, failures: &[RunFailure]) -> Result<Vec<bool>> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE specline_runs SET state = 'failed', finished_at = ?2, updated_at = ?2,
               error_code = ?3, error_message = ?4
             WHERE id = ?1 AND state = 'running'",
        )?;
        failures
            .iter()
            .map(|f| Ok(stmt.execute(params![f.run_id, self.now, f.code, f.message])? > 0))
            .collect()
    }

    async fn rescue_jobs(
        &mut self,
        lease: &Lease,
        stale: Duration,
        rescues: &[Rescue],
    ) -> Result<Vec<Option<Ended>>> {
        if !lease_ok(self.conn, lease, self.now)? {
            return Ok(vec![None; rescues.len()]);
        }
        let mut stmt = self
            .conn
            .prepare_cached(include_str!("sql/rescue_job.sql"))?;
        let mut out = Vec::with_capacity(rescues.len());
        let mut wake = Vec::new();
        for r in rescues {
            let row: Option<(String, Option<i64>, String)> = stmt
                .query_row(
                    params![
                        r.state.as_str(),
                        self.now,
                        json_text(&r.error)?,
                        i32::from(r.credit),
                        r.id,
                        r.attempt,
                        minus(self.now, stale)
                    ],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?;
            out.push(row.map(|(queue, run_id, kind)| {
                if r.state == JobState::Retryable {
                    wake.push(Wakeup::Inserted(queue));
                }
                Ended { run_id, kind }
            }));
        }
        drop(stmt);
        for w in wake {
            self.wake(w);
        }
        Ok(out)
    }

    async fn lock_job(&mut self, id: i64) -> Result<Option<JobHead>> {
        type Row = (String, String, Option<i64>, i32, i32, Option<String>);
        let row: Option<Row> = self
            .conn
            .query_row(
                "SELECT state, kind, run_id, attempt, max_attempts, errors -> '$[#-1]'
                 FROM specline_jobs WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(state, kind, run_id, attempt, max_attempts, err)| {
            JobHead::decode(
                id,
                &state,
                kind,
                run_id,
                (attempt, max_attempts),
                err.as_deref(),
            )
        })
        .transpose()
    }

    async fn cancel_job(&mut self, id: i64, running: bool) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE specline_jobs SET
               state = CASE WHEN ?3 THEN state ELSE 'cancelled' END,
               finalized_at = CASE WHEN ?3 THEN finalized_at ELSE ?2 END,
               cancel_requested_at = ?2
             WHERE id = ?1 AND state NOT IN ('completed', 'cancelled', 'discarded')
               AND (state = 'running') = ?3",
            params![id, self.now, running],
        )?;
        if n > 0 && running {
            self.wake(Wakeup::CancelRequested(id));
        }
        Ok(())
    }

    async fn discard_job(&mut self, id: i64) -> Result<Option<Job>> {
        let job = self
            .conn
            .query_row(
                &format!(
                    "UPDATE specline_jobs SET state = 'discarded', finalized_at = ?1
                     WHERE id = ?2 AND state <> 'running' RETURNING {JOB_COLUMNS}"
                ),
                params![self.now, id],
                job_from_row,
            )
            .optional()?;
        job.transpose()
    }

    async fn retry_job(&mut self, id: i64, retry: &Retry) -> Result<Option<Job>> {
        let res = self
            .conn
            .query_row(
                &format!(
                    "UPDATE specline_jobs SET state = ?3, scheduled_at = ?1, finalized_at = NULL,
                       cancel_requested_at = NULL, max_attempts = ?4
                     WHERE id = ?2 AND state <> 'running' RETURNING {JOB_COLUMNS}"
                ),
                params![self.now, id, retry.state.as_str(), retry.max_attempts],
                job_from_row,
            )
            .optional();
        let job = match res {
            Ok(job) => job.transpose()?,
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
            {
                return Err(Error::UniqueConflict(format!(
                    "job {id} cannot run again: another live job holds its unique key"
                )))
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(job) = &job {
            self.wake(Wakeup::Inserted(job.queue.clone()));
        }
        Ok(job)
    }

    async fn lock_run(&mut self, run_id: i64) -> Result<Option<RunHead>> {
        let row: Option<(String, Option<String>, String)> = self
            .conn
            .query_row(
                "SELECT state, stage, steps FROM specline_runs WHERE id = ?1",
                [run_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        row.map(|(state, stage, steps)| RunHead::decode(run_id, &state, stage, &steps))
            .transpose()
    }

    async fn done_steps(&mut self, run_id: i64) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT step FROM specline_checkpoints WHERE run_id = ?1 AND key = ''",
        )?;
        let rows = stmt
            .query_map([run_id], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(rows)
    }

    async fn restart_run(&mut self, run_id: i64, index: usize, stage: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE specline_runs SET state = 'running', error_code = NULL, error_message = NULL,
               finished_at = NULL, current_step = ?2, stage = ?3, updated_at = ?4 WHERE id = ?1",
            params![run_id, index as i64, stage, self.now],
        )?;
        Ok(())
    }

    async fn current_step_job(&mut self, run_id: i64) -> Result<Option<i64>> {
        Ok(self.conn.query_row(
            "SELECT max(id) FROM specline_jobs WHERE run_id = ?1
               AND state NOT IN ('completed', 'cancelled', 'discarded')",
            [run_id],
            |r| r.get(0),
        )?)
    }

    async fn stop_run_jobs(&mut self, run_id: i64) -> Result<Option<i64>> {
        let rows: Vec<(i64, String)> = {
            let mut stmt = self.conn.prepare_cached(
                "UPDATE specline_jobs SET
                   state = CASE WHEN state = 'running' THEN 'running' ELSE 'cancelled' END,
                   finalized_at = CASE WHEN state = 'running' THEN NULL ELSE ?2 END,
                   cancel_requested_at = ?2
                 WHERE run_id = ?1 AND state NOT IN ('completed', 'cancelled', 'discarded')
                 RETURNING id, state",
            )?;
            let rows = stmt
                .query_map(params![run_id, self.now], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows
        };
        for (id, state) in &rows {
            if state == "running" {
                self.wake(Wakeup::CancelRequested(*id));
            }
        }
        Ok(rows.iter().map(|r| r.0).max())
    }
}

//! Runs: submit, step completion, reads, checkpoints, events, results, resume and cancel.

use super::*;

impl SqliteStore {
    pub(super) async fn submit_run(&self, sub: RunSubmission) -> Result<Submitted> {
        let first = sub.steps.first().cloned().ok_or_else(|| {
            Error::InvalidConfig(format!("pipeline `{}` has no steps", sub.pipeline))
        })?;
        let (out, queue) = self
            .with_conn(move |conn| {
                let now = now_us();
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                if let Some(idem) = &sub.idempotency {
                    tx.execute(
                        "DELETE FROM specline_idempotency WHERE owner = ?1 AND key = ?2 AND expires_at <= ?3",
                        params![sub.owner, idem.key, now],
                    )?;
                    let existing: Option<(String, Option<i64>)> = tx
                        .query_row(
                            "SELECT fingerprint, run_id FROM specline_idempotency WHERE owner = ?1 AND key = ?2",
                            params![sub.owner, idem.key],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )
                        .optional()?;
                    if let Some((fingerprint, run_id)) = existing {
                        return match run_id {
                            Some(run_id) if fingerprint == idem.fingerprint => Ok((
                                Submitted { run_id, existing: true },
                                Vec::new(),
                            )),
                            _ => Err(Error::IdempotencyConflict {
                                owner: sub.owner.clone(),
                                key: idem.key.clone(),
                            }),
                        };
                    }
                    tx.execute(
                        "INSERT INTO specline_idempotency (owner, key, fingerprint, created_at, expires_at)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![sub.owner, idem.key, idem.fingerprint, now, plus(now, idem.ttl)],
                    )?;
                }
                let steps = serde_json::to_string(&sub.steps).map_err(|e| Error::InvalidArgs(e.to_string()))?;
                let run_id: i64 = tx.query_row(
                    "INSERT INTO specline_runs (pipeline, owner, state, steps, input, stage, created_at, updated_at)
                     VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6, ?6) RETURNING id",
                    params![sub.pipeline, sub.owner, steps, sub.input.to_string(), first.kind, now],
                    |r| r.get(0),
                )?;
                let mut st = SqliteStatements::new(&tx, now);
                block_on(lifecycle::steps::start(&mut st, run_id, &sub.steps))?;
                let wake = std::mem::take(&mut st.wake);
                if let Some(idem) = &sub.idempotency {
                    tx.execute(
                        "UPDATE specline_idempotency SET run_id = ?3 WHERE owner = ?1 AND key = ?2",
                        params![sub.owner, idem.key, run_id],
                    )?;
                }
                tx.commit()?;
                Ok((Submitted { run_id, existing: false }, wake))
            })
            .await?;
        for w in queue {
            self.emit(w);
        }
        Ok(out)
    }

    pub(super) async fn complete_step(&self, cpl: StepCompletion) -> Result<bool> {
        let n = self
            .apply(move |st| block_on(lifecycle::steps::complete(st, &[&cpl])))
            .await?;
        Ok(n > 0)
    }

    pub(super) async fn get_run(&self, run_id: i64) -> Result<Option<Run>> {
        self.with_conn(move |conn| {
            let row = conn
                .prepare_cached(&format!(
                    "SELECT {RUN_COLUMNS} FROM specline_runs WHERE id = ?1"
                ))?
                .query_row([run_id], run_from_row)
                .optional()?;
            row.transpose()
        })
        .await
    }

    pub(super) async fn step_context(&self, run_id: i64) -> Result<Option<StepInputs>> {
        self.with_conn(move |conn| step_inputs(conn, run_id)).await
    }

    pub(super) async fn step_outputs(
        &self,
        run_id: i64,
    ) -> Result<Vec<(String, serde_json::Value)>> {
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT step, value FROM specline_checkpoints WHERE run_id = ?1 AND key = ''",
            )?;
            let rows = stmt
                .query_map([run_id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(k, v)| {
                    Ok((
                        k,
                        serde_json::from_str(&v).map_err(|e| Error::Corrupt(e.to_string()))?,
                    ))
                })
                .collect()
        })
        .await
    }

    pub(super) async fn run_nodes(&self, run_id: i64) -> Result<crate::run_graph::RunNodeRows> {
        self.with_conn(move |conn| {
            let done = conn
                .prepare_cached(
                    "SELECT step FROM specline_checkpoints WHERE run_id = ?1 AND key = ''",
                )?
                .query_map([run_id], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            let jobs = conn
                .prepare_cached(
                    "SELECT kind, state, count(*) FROM specline_jobs WHERE run_id = ?1
                     GROUP BY kind, state",
                )?
                .query_map([run_id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?))
                })?
                .collect::<rusqlite::Result<Vec<(String, String, i64)>>>()?
                .into_iter()
                .map(|(k, s, n)| Ok((k, crate::job::JobState::parse(&s)?, n)))
                .collect::<Result<_>>()?;
            let maps = conn
                .prepare_cached(
                    "SELECT step, items, done FROM specline_run_maps WHERE run_id = ?1",
                )?
                .query_map([run_id], |r| {
                    Ok((r.get::<_, i64>(0)? as usize, r.get(1)?, r.get(2)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(crate::run_graph::RunNodeRows { done, jobs, maps })
        })
        .await
    }

    pub(super) async fn map_outputs(
        &self,
        run_id: i64,
        step: &str,
    ) -> Result<Vec<serde_json::Value>> {
        let step = step.to_string();
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT key, value FROM specline_checkpoints
                 WHERE run_id = ?1 AND step = ?2 AND key LIKE 'item:%'",
            )?;
            let rows = stmt
                .query_map(params![run_id, step], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            crate::run::items_in_order(rows)
        })
        .await
    }

    pub(super) async fn put_checkpoint(
        &self,
        run_id: i64,
        step: &str,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        let (step, key) = (step.to_string(), key.to_string());
        self.with_conn(move |conn| {
            conn.prepare_cached(include_str!("sql/put_checkpoint.sql"))?
                .execute(params![run_id, step, key, value.to_string(), now_us()])?;
            Ok(())
        })
        .await
    }

    pub(super) async fn get_checkpoint(
        &self,
        run_id: i64,
        step: &str,
        key: &str,
    ) -> Result<Option<serde_json::Value>> {
        let (step, key) = (step.to_string(), key.to_string());
        self.with_conn(move |conn| {
            let v: Option<String> = conn
                .query_row(
                    "SELECT value FROM specline_checkpoints WHERE run_id = ?1 AND step = ?2 AND key = ?3",
                    params![run_id, step, key],
                    |r| r.get(0),
                )
                .optional()?;
            v.map(|v| serde_json::from_str(&v).map_err(|e| Error::Corrupt(e.to_string())))
                .transpose()
        })
        .await
    }

    pub(super) async fn run_progress(
        &self,
        run_id: i64,
        job_id: i64,
        stage: &str,
        progress: i16,
        payload: Option<serde_json::Value>,
    ) -> Result<()> {
        let events = lifecycle::events::progress(run_id, job_id, stage, progress, payload);
        self.apply(move |st| block_on(st.append_events(&[events])))
            .await
    }

    pub(super) async fn run_events(
        &self,
        run_id: i64,
        after: i64,
        limit: usize,
    ) -> Result<Vec<RunEvent>> {
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT run_id, seq, job_id, stage, status, at, progress, payload
                 FROM specline_run_events WHERE run_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            let rows = stmt
                .query_map(params![run_id, after, limit as i64], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, i16>(6)?,
                        r.get::<_, Option<String>>(7)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(
                    |(run_id, seq, job_id, stage, status, at, progress, payload)| {
                        Ok(RunEvent {
                            run_id,
                            seq,
                            job_id,
                            stage,
                            status: EventStatus::parse(&status)?,
                            at: from_micros(at),
                            progress,
                            payload: payload
                                .map(|p| serde_json::from_str(&p))
                                .transpose()
                                .map_err(|e| Error::Corrupt(e.to_string()))?,
                        })
                    },
                )
                .collect()
        })
        .await
    }

    pub(super) async fn run_result(&self, run_id: i64) -> Result<Option<serde_json::Value>> {
        self.with_conn(move |conn| {
            let v: Option<String> = conn
                .query_row(
                    "SELECT result FROM specline_results WHERE run_id = ?1 AND expires_at > ?2",
                    params![run_id, now_us()],
                    |r| r.get(0),
                )
                .optional()?;
            v.map(|v| serde_json::from_str(&v).map_err(|e| Error::Corrupt(e.to_string())))
                .transpose()
        })
        .await
    }

    pub(super) async fn resume_run(&self, run_id: i64) -> Result<()> {
        self.apply(move |st| block_on(lifecycle::steps::resume(st, run_id)).map(drop))
            .await
    }

    pub(super) async fn cancel_run(&self, run_id: i64) -> Result<RunCancelOutcome> {
        self.apply(move |st| block_on(lifecycle::cancel::run(st, run_id)))
            .await
    }
}

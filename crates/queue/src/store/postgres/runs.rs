//! Runs: submit, step completion, reads, checkpoints, events, results, resume and cancel.

use super::*;

impl PgStore {
    pub(super) async fn submit_run(&self, sub: RunSubmission) -> Result<Submitted> {
        let first = sub.steps.first().cloned().ok_or_else(|| {
            Error::InvalidConfig(format!("pipeline `{}` has no steps", sub.pipeline))
        })?;
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        if let Some(idem) = &sub.idempotency {
            tx.execute(
                "DELETE FROM specline_idempotency WHERE owner = $1 AND key = $2 AND expires_at <= now()",
                &[&sub.owner, &idem.key],
            )
            .await?;
            let reserved = tx
                .query_opt(
                    "INSERT INTO specline_idempotency (owner, key, fingerprint, expires_at)
                     VALUES ($1, $2, $3, now() + make_interval(secs => $4))
                     ON CONFLICT (owner, key) DO NOTHING RETURNING 1",
                    &[
                        &sub.owner,
                        &idem.key,
                        &idem.fingerprint,
                        &clock::bounded(idem.ttl).as_secs_f64(),
                    ],
                )
                .await?;
            if reserved.is_none() {
                let row = tx
                    .query_one(
                        "SELECT fingerprint, run_id FROM specline_idempotency WHERE owner = $1 AND key = $2",
                        &[&sub.owner, &idem.key],
                    )
                    .await?;
                let fingerprint: String = row.get(0);
                let run_id: Option<i64> = row.get(1);
                tx.commit().await?;
                return match run_id {
                    Some(run_id) if fingerprint == idem.fingerprint => Ok(Submitted {
                        run_id,
                        existing: true,
                    }),
                    _ => Err(Error::IdempotencyConflict {
                        owner: sub.owner.clone(),
                        key: idem.key.clone(),
                    }),
                };
            }
        }
        let steps =
            serde_json::to_value(&sub.steps).map_err(|e| Error::InvalidArgs(e.to_string()))?;
        let run_id: i64 = tx
            .query_one(
                "INSERT INTO specline_runs (pipeline, owner, state, steps, input, stage)
                 VALUES ($1, $2, 'running', $3::text::jsonb, $4::text::jsonb, $5) RETURNING id",
                &[
                    &sub.pipeline,
                    &sub.owner,
                    &steps.to_string(),
                    &sub.input.to_string(),
                    &first.kind,
                ],
            )
            .await?
            .get(0);
        lifecycle::steps::start(&mut self.statements(&tx), run_id, &sub.steps).await?;
        if let Some(idem) = &sub.idempotency {
            tx.execute(
                "UPDATE specline_idempotency SET run_id = $3 WHERE owner = $1 AND key = $2",
                &[&sub.owner, &idem.key, &run_id],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Submitted {
            run_id,
            existing: false,
        })
    }

    pub(super) async fn complete_step(&self, cpl: StepCompletion) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let n = lifecycle::steps::complete(&mut self.statements(&tx), &[&cpl]).await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    pub(super) async fn get_run(&self, run_id: i64) -> Result<Option<Run>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {RUN_COLUMNS} FROM specline_runs WHERE id = $1"),
                &[&run_id],
            )
            .await?;
        row.as_ref().map(run_from_row).transpose()
    }

    pub(super) async fn step_context(&self, run_id: i64) -> Result<Option<StepInputs>> {
        let c = self.client().await?;
        let mut inputs = step_inputs(&c, &[run_id]).await?;
        Ok(inputs.remove(&run_id).map(Arc::unwrap_or_clone))
    }

    pub(super) async fn step_outputs(
        &self,
        run_id: i64,
    ) -> Result<Vec<(String, serde_json::Value)>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT step, value::text FROM specline_checkpoints WHERE run_id = $1 AND key = ''",
                &[&run_id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.get::<_, String>(0),
                    serde_json::from_str(r.get::<_, &str>(1))
                        .map_err(|e| Error::Corrupt(e.to_string()))?,
                ))
            })
            .collect()
    }

    pub(super) async fn run_nodes(&self, run_id: i64) -> Result<crate::run_graph::RunNodeRows> {
        let c = self.client().await?;
        let done = c
            .query(
                "SELECT step FROM specline_checkpoints WHERE run_id = $1 AND key = ''",
                &[&run_id],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let jobs = c
            .query(
                "SELECT kind, state, count(*) FROM specline_jobs WHERE run_id = $1
                 GROUP BY kind, state",
                &[&run_id],
            )
            .await?
            .iter()
            .map(|r| Ok((r.get(0), crate::job::JobState::parse(r.get(1))?, r.get(2))))
            .collect::<Result<_>>()?;
        let maps = c
            .query(
                "SELECT step, items, done FROM specline_run_maps WHERE run_id = $1",
                &[&run_id],
            )
            .await?
            .iter()
            .map(|r| {
                (
                    r.get::<_, i32>(0) as usize,
                    i64::from(r.get::<_, i32>(1)),
                    i64::from(r.get::<_, i32>(2)),
                )
            })
            .collect();
        Ok(crate::run_graph::RunNodeRows { done, jobs, maps })
    }

    pub(super) async fn map_outputs(
        &self,
        run_id: i64,
        step: &str,
    ) -> Result<Vec<serde_json::Value>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT key, value::text FROM specline_checkpoints
                 WHERE run_id = $1 AND step = $2 AND key LIKE 'item:%'",
                &[&run_id, &step],
            )
            .await?;
        crate::run::items_in_order(
            rows.iter()
                .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1))),
        )
    }

    pub(super) async fn put_checkpoint(
        &self,
        run_id: i64,
        step: &str,
        key: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO specline_checkpoints (run_id, step, key, value) VALUES ($1, $2, $3, $4::text::jsonb)
             ON CONFLICT (run_id, step, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
            &[&run_id, &step, &key, &value.to_string()],
        )
        .await?;
        Ok(())
    }

    pub(super) async fn get_checkpoint(
        &self,
        run_id: i64,
        step: &str,
        key: &str,
    ) -> Result<Option<serde_json::Value>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT value::text FROM specline_checkpoints WHERE run_id = $1 AND step = $2 AND key = $3",
                &[&run_id, &step, &key],
            )
            .await?;
        row.map(|r| {
            serde_json::from_str(r.get::<_, &str>(0)).map_err(|e| Error::Corrupt(e.to_string()))
        })
        .transpose()
    }

    pub(super) async fn run_progress(
        &self,
        run_id: i64,
        job_id: i64,
        stage: &str,
        progress: i16,
        payload: Option<serde_json::Value>,
    ) -> Result<()> {
        let c = self.client().await?;
        let events = lifecycle::events::progress(run_id, job_id, stage, progress, payload);
        self.statements(&c).append_events(&[events]).await
    }

    pub(super) async fn run_events(
        &self,
        run_id: i64,
        after: i64,
        limit: usize,
    ) -> Result<Vec<RunEvent>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT run_id, seq, job_id, stage, status, at, progress, payload::text
                 FROM specline_run_events WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                &[&run_id, &after, &(limit as i64)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(RunEvent {
                    run_id: r.get(0),
                    seq: r.get(1),
                    job_id: r.get(2),
                    stage: r.get(3),
                    status: EventStatus::parse(r.get(4))?,
                    at: r.get(5),
                    progress: r.get(6),
                    payload: r
                        .get::<_, Option<&str>>(7)
                        .map(serde_json::from_str)
                        .transpose()
                        .map_err(|e| Error::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }

    pub(super) async fn run_result(&self, run_id: i64) -> Result<Option<serde_json::Value>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT result::text FROM specline_results WHERE run_id = $1 AND expires_at > now()",
                &[&run_id],
            )
            .await?;
        row.map(|r| {
            serde_json::from_str(r.get::<_, &str>(0)).map_err(|e| Error::Corrupt(e.to_string()))
        })
        .transpose()
    }

    pub(super) async fn resume_run(&self, run_id: i64) -> Result<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        lifecycle::steps::resume(&mut self.statements(&tx), run_id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn cancel_run(&self, run_id: i64) -> Result<RunCancelOutcome> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let out = lifecycle::cancel::run(&mut self.statements(&tx), run_id).await?;
        tx.commit().await?;
        Ok(out)
    }
}

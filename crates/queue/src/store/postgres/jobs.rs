//! Jobs: insert, claim, complete; read, list and count; an operator's cancel, retry and discard; paused queues.

use super::*;

impl PgStore {
    pub(super) async fn insert_many(&self, jobs: Vec<NewJob>) -> Result<Vec<Inserted>> {
        let notify = self.queues_to_notify(&jobs);
        let c = self.client().await?;
        let stmt = c.prepare_cached(INSERT_SQL).await?;
        let mut out = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(INSERT_CHUNK) {
            out.extend(insert_rows(&**c, &stmt, chunk, &self.inner.channel, &notify).await?);
        }
        Ok(out)
    }

    pub(super) async fn complete(&self, batch: &[Completion]) -> Result<usize> {
        if batch.is_empty() {
            return Ok(0);
        }
        let mut c = self.client().await?;
        if !outcomes::touches_runs(batch) {
            // Plain successes: one statement, no transaction around it.
            return outcomes::record(&mut self.statements(&c), batch).await;
        }
        let tx = c.transaction().await?;
        let n = outcomes::record(&mut self.statements(&tx), batch).await?;
        tx.commit().await?;
        Ok(n)
    }

    pub(super) async fn get_job(&self, id: i64) -> Result<Option<Job>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {JOB_COLUMNS} FROM specline_jobs WHERE id = $1"),
                &[&id],
            )
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    pub(super) async fn list_jobs(&self, f: &JobFilter) -> Result<Vec<Job>> {
        f.validate()?;
        let c = self.client().await?;
        let limit = if f.limit == 0 { 100 } else { f.limit } as i64;
        let state = f.state.map(|s| s.as_str());
        let rows = c
            .query(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM specline_jobs
                     WHERE ($1::text IS NULL OR queue = $1) AND ($2::text IS NULL OR kind = $2)
                       AND ($3::text IS NULL OR state = $3) AND tags @> $5::text[]
                       AND ($6::jsonb IS NULL OR args @> $6::jsonb)
                       AND ($7::jsonb IS NULL OR metadata @> $7::jsonb)
                       AND id < COALESCE($8::bigint, 9223372036854775807)
                       AND id > COALESCE($9::bigint, 0)
                     ORDER BY id DESC LIMIT $4"
                ),
                &[
                    &f.queue,
                    &f.kind,
                    &state,
                    &limit,
                    &f.tags,
                    &f.args,
                    &f.metadata,
                    &f.before_id,
                    &f.after_id,
                ],
            )
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    pub(super) async fn count_by_state(&self, queue: Option<&str>) -> Result<StateCounts> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT state, count(*) FROM specline_jobs WHERE ($1::text IS NULL OR queue = $1)
                 GROUP BY state ORDER BY state",
                &[&queue],
            )
            .await?;
        rows.iter()
            .map(|r| Ok((JobState::parse(r.get(0))?, r.get::<_, i64>(1))))
            .collect()
    }

    pub(super) async fn cancel(&self, id: i64) -> Result<CancelOutcome> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let out = lifecycle::cancel::job(&mut self.statements(&tx), id).await?;
        tx.commit().await?;
        Ok(out)
    }

    pub(super) async fn retry(&self, id: i64) -> Result<Job> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let job = lifecycle::retry::job(&mut self.statements(&tx), id).await?;
        tx.commit().await?;
        Ok(job)
    }

    pub(super) async fn discard(&self, id: i64) -> Result<Job> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let job = lifecycle::cancel::discard(&mut self.statements(&tx), id).await?;
        tx.commit().await?;
        Ok(job)
    }

    pub(super) async fn set_paused(&self, queue: &str, paused: bool) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO specline_queues (name, paused, updated_at) VALUES ($1, $2, now())
             ON CONFLICT (name) DO UPDATE SET paused = EXCLUDED.paused, updated_at = now()",
            &[&queue, &paused],
        )
        .await?;
        self.notify(format!("q:{queue}")).await?;
        if !paused {
            self.notify(format!("i:{queue}")).await?;
        }
        Ok(())
    }

    pub(super) async fn paused_queues(&self) -> Result<Vec<String>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT name FROM specline_queues WHERE paused ORDER BY name",
                &[],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    pub(super) async fn next_due(&self, queue: &str) -> Result<Option<DateTime<Utc>>> {
        let c = self.client().await?;
        let row = c
            .query_one(
                "SELECT min(scheduled_at) FROM specline_jobs
                 WHERE queue = $1 AND state IN ('available', 'scheduled', 'retryable')
                   AND partition_key IS NULL",
                &[&queue],
            )
            .await?;
        Ok(row.get(0))
    }
}

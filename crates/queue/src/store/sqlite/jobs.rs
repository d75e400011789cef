//! Jobs: insert, claim, complete; read, list and count; an operator's cancel, retry and discard; paused queues.

use super::*;

impl SqliteStore {
    pub(super) async fn insert_many(&self, jobs: Vec<NewJob>) -> Result<Vec<Inserted>> {
        self.transaction(move |tx| tx.insert(&jobs)).await
    }

    pub(super) async fn get_job(&self, id: i64) -> Result<Option<Job>> {
        self.with_conn(move |conn| {
            let job = conn
                .query_row(
                    &format!("SELECT {JOB_COLUMNS} FROM specline_jobs WHERE id = ?1"),
                    [id],
                    job_from_row,
                )
                .optional()?;
            job.transpose()
        })
        .await
    }

    pub(super) async fn list_jobs(&self, f: &JobFilter) -> Result<Vec<Job>> {
        f.validate()?;
        let f = f.clone();
        let tags = serde_json::Value::from(f.tags.clone()).to_string();
        let args = f.args.as_ref().map(|v| v.to_string());
        let metadata = f.metadata.as_ref().map(|v| v.to_string());
        self.with_conn(move |conn| {
            let limit = if f.limit == 0 { 100 } else { f.limit } as i64;
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {JOB_COLUMNS} FROM specline_jobs
                 WHERE (?1 IS NULL OR queue = ?1) AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR state = ?3)
                   AND NOT EXISTS (SELECT 1 FROM json_each(?5) want
                                   WHERE want.value NOT IN (SELECT value FROM json_each(specline_jobs.tags)))
                   AND (?6 IS NULL OR {contains}(args, ?6))
                   AND (?7 IS NULL OR {contains}(metadata, ?7))
                   AND id < COALESCE(?8, 9223372036854775807)
                   AND id > COALESCE(?9, 0)
                 ORDER BY id DESC LIMIT ?4",
                contains = json_contains::SQL_NAME,
            ))?;
            let rows = stmt
                .query_map(
                    params![
                        f.queue,
                        f.kind,
                        f.state.map(|s| s.as_str()),
                        limit,
                        tags,
                        args,
                        metadata,
                        f.before_id,
                        f.after_id
                    ],
                    job_from_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().collect()
        })
        .await
    }

    pub(super) async fn count_by_state(&self, queue: Option<&str>) -> Result<StateCounts> {
        let queue = queue.map(str::to_string);
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT state, count(*) FROM specline_jobs WHERE (?1 IS NULL OR queue = ?1)
                 GROUP BY state ORDER BY state",
            )?;
            let rows = stmt
                .query_map([queue], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(s, n)| Ok((JobState::parse(&s)?, n)))
                .collect()
        })
        .await
    }

    pub(super) async fn cancel(&self, id: i64) -> Result<CancelOutcome> {
        self.apply(move |st| block_on(lifecycle::cancel::job(st, id)))
            .await
    }

    pub(super) async fn retry(&self, id: i64) -> Result<Job> {
        self.apply(move |st| block_on(lifecycle::retry::job(st, id)))
            .await
    }

    pub(super) async fn discard(&self, id: i64) -> Result<Job> {
        self.apply(move |st| block_on(lifecycle::cancel::discard(st, id)))
            .await
    }

    pub(super) async fn set_paused(&self, queue: &str, paused: bool) -> Result<()> {
        let q = queue.to_string();
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO specline_queues (name, paused, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, updated_at = excluded.updated_at",
                params![q, paused, now_us()],
            )?;
            Ok(())
        })
        .await?;
        self.emit(Wakeup::QueueChanged(queue.to_string()));
        if !paused {
            self.emit(Wakeup::Inserted(queue.to_string()));
        }
        Ok(())
    }

    pub(super) async fn paused_queues(&self) -> Result<Vec<String>> {
        self.with_conn(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT name FROM specline_queues WHERE paused ORDER BY name")?;
            let rows = stmt
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(rows)
        })
        .await
    }

    pub(super) async fn next_due(&self, queue: &str) -> Result<Option<DateTime<Utc>>> {
        let queue = queue.to_string();
        self.with_conn(move |conn| {
            let t: Option<i64> = conn.query_row(
                "SELECT min(scheduled_at) FROM specline_jobs
                 WHERE queue = ?1 AND state IN ('available', 'scheduled', 'retryable')
                   AND partition_key IS NULL",
                [queue],
                |r| r.get(0),
            )?;
            Ok(t.map(from_micros))
        })
        .await
    }
}

//! Claiming due jobs, with the `started` events of step jobs in the same transaction.

use rusqlite::{params, Connection, TransactionBehavior};

use super::statements::SqliteStatements;
use super::time::from_micros;
use crate::error::Result;
use crate::job::FetchedJob;
use crate::lifecycle;
use crate::store::Wakeup;

/// Claim up to `limit` due jobs of `queue` (of run `run`, if given) for `worker`.
pub(super) fn claim(
    conn: &mut Connection,
    queue: &str,
    worker: &str,
    now: i64,
    limit: usize,
    run: Option<i64>,
) -> Result<(Vec<FetchedJob>, Vec<Wakeup>)> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut jobs = {
        let mut stmt = tx.prepare_cached(
                    "UPDATE specline_jobs
                     SET state = 'running', attempt = attempt + 1, attempted_at = ?1,
                         attempted_by = json_insert(attempted_by, '$[#]', ?2)
                     WHERE id IN (
                       SELECT id FROM specline_jobs
                       WHERE queue = ?3 AND state IN ('available', 'scheduled', 'retryable')
                         AND scheduled_at <= ?1 AND (?5 IS NULL OR run_id = ?5)
                         AND NOT EXISTS (SELECT 1 FROM specline_queues q WHERE q.name = ?3 AND q.paused)
                       ORDER BY priority, scheduled_at, id
                       LIMIT ?4)
                     RETURNING id, kind, args, attempt, max_attempts, priority, created_at, scheduled_at, metadata, run_id",
                )?;
        let rows = stmt.query_map(params![now, worker, queue, limit as i64, run], |r| {
            Ok(FetchedJob {
                id: r.get(0)?,
                kind: r.get(1)?,
                queue: queue.to_string(),
                args: r.get(2)?,
                attempt: r.get(3)?,
                max_attempts: r.get(4)?,
                priority: r.get(5)?,
                created_at: from_micros(r.get(6)?),
                scheduled_at: from_micros(r.get(7)?),
                metadata: r.get(8)?,
                run_id: r.get(9)?,
                step_inputs: None,
            })
        })?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    // A step job's run and outputs come with it (the step need not read them again).
    for job in &mut jobs {
        if let Some(run_id) = job.run_id {
            job.step_inputs = super::step_inputs(&tx, run_id)?.map(std::sync::Arc::new);
        }
    }
    let mut st = SqliteStatements::new(&tx, now);
    futures::executor::block_on(lifecycle::steps::claimed(&mut st, &jobs))?;
    let wake = std::mem::take(&mut st.wake);
    tx.commit()?;
    jobs.sort_by(|a, b| {
        (a.priority, a.scheduled_at, a.id).cmp(&(b.priority, b.scheduled_at, b.id))
    });
    Ok((jobs, wake))
}

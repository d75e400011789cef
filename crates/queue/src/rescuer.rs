//! The rescuer: the maintenance service that returns the running jobs of dead workers.
//!
//! A worker whose heartbeat is older than `rescue_after` is dead (a live one fences itself
//! before that, see [`crate::heartbeat`]). Each round reads its running jobs and decides
//! their fate with [`crate::lifecycle::rescue::decide`]; the driver applies the decisions
//! with fenced statements.

use std::time::Duration;

use crate::error::Result;
use crate::lifecycle::rescue::{decide, message};
use crate::store::{Lease, Rescue, StaleJob, Store};

/// Most jobs rescued by one round.
const BATCH: usize = 10_000;

/// One round of rescue. Returns the number of jobs rescued.
pub async fn rescue(
    store: &dyn Store,
    lease: &Lease,
    stale: Duration,
    max_credits: i32,
) -> Result<u64> {
    let jobs = store.stale_jobs(lease, stale, BATCH).await?;
    if jobs.is_empty() {
        return Ok(0);
    }
    let message = message(stale);
    let rescues: Vec<Rescue> = jobs
        .iter()
        .map(|j| decide(j, max_credits, &message))
        .collect();
    let rescued = store.rescue_jobs(lease, stale, &rescues).await?;
    for (job, decision) in jobs.iter().zip(&rescues) {
        trace(job, decision);
    }
    Ok(rescued)
}

/// A span `rescue job` in the trace the job carries (its run's), so a trace shows why a
/// step ran again and on which worker it was lost.
fn trace(job: &StaleJob, decision: &Rescue) {
    let span = tracing::info_span!(
        "rescue job",
        job_id = job.id,
        run_id = tracing::field::Empty,
        kind = %job.kind,
        attempt = job.attempt,
        worker = %job.worker,
        next = decision.state.as_str()
    );
    if let Some(run_id) = job.run_id {
        span.record("run_id", run_id);
    }
    crate::trace_context::attach(&span, &job.metadata);
    span.in_scope(|| tracing::info!("rescued a job whose worker stopped heartbeating"));
}

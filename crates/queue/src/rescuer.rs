//! The rescuer: the maintenance service that returns the running jobs of dead workers.
//!
//! A worker whose heartbeat is older than `rescue_after` is dead (a live one fences itself
//! before that, see [`crate::heartbeat`]). Each round reads its running jobs and decides
//! their fate with [`crate::lifecycle::rescue::decide`]; the driver applies the decisions
//! with fenced statements.

use std::time::Duration;

use crate::error::Result;
use crate::lifecycle::rescue::{decide, message};
use crate::store::{Lease, Rescue, Store};

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
    store.rescue_jobs(lease, stale, &rescues).await
}

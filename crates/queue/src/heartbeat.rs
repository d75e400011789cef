//! The heartbeat: keeps the worker's row fresh, and fences the worker when it cannot.
//!
//! The rescuer takes the running jobs of a worker whose row is older than its
//! `rescue_after`, and another worker runs them again. A worker that is alive but cannot
//! renew its row (the database is out of reach, the row is locked, the process was paused)
//! must therefore stop its own jobs before that happens, or two workers run the same job.
//! So when no renewal succeeded for `fence_after`, the worker fences itself: it stops every
//! running job (their outcome is `FENCED`, the attempt not counted) and claims nothing new
//! until a renewal succeeds again. `fence_after` must be shorter than the rescuer's
//! `rescue_after`, by at least one heartbeat interval.
//!
//! The fence of an attempt (job id + attempt) is also what a handler's own writes check
//! ([`crate::handler::Fence`]): a rescued attempt's fence no longer holds.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::store::Store;

/// What the heartbeat tells the worker.
pub(crate) trait Pulse: Send + Sync {
    /// The store asks to cancel this running job (backstop for a missed cancel signal).
    fn cancel(&self, job: i64);
    /// `true`: stop every running job and claim nothing; `false`: renewals work again.
    fn fence(&self, fenced: bool);
}

/// Renew every `interval` until `stop`; then deregister the worker.
pub(crate) async fn run(
    store: Arc<dyn Store>,
    worker: String,
    interval: Duration,
    fence_after: Duration,
    stop: CancellationToken,
    pulse: Arc<dyn Pulse>,
) {
    let mut renewed = Instant::now();
    let mut fenced = false;
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(interval) => {}
        }
        let sent = Instant::now();
        // A renewal that hangs counts as failed once the fence is due: wait no longer.
        let due = (renewed + fence_after).max(sent + Duration::from_millis(1));
        match tokio::time::timeout_at(due, store.heartbeat(&worker)).await {
            Ok(Ok(cancel_ids)) => {
                renewed = sent;
                if fenced {
                    fenced = false;
                    tracing::warn!(worker = %worker, "heartbeat renewed; the worker claims jobs again");
                    pulse.fence(false);
                }
                for id in cancel_ids {
                    pulse.cancel(id);
                }
            }
            Ok(Err(e)) => tracing::error!(error = %e, "heartbeat failed"),
            Err(_) => tracing::error!("heartbeat did not answer within the fence bound"),
        }
        if !fenced && renewed.elapsed() >= fence_after {
            fenced = true;
            tracing::error!(
                worker = %worker,
                since = ?renewed.elapsed(),
                "no heartbeat renewal within {fence_after:?}: stopping every running job before the rescuer hands them to another worker"
            );
            pulse.fence(true);
        }
    }
    if let Err(e) = store.deregister_worker(&worker).await {
        tracing::warn!(error = %e, "could not deregister worker");
    }
}

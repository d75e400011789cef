//! The worker's listener: turns the store's wake-ups into work for its producers (a queue
//! got jobs, was resumed, or everything must be looked at again) and into cancels of its
//! running jobs.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::shared::{cancel_running, Shared};
use crate::store::Wakeup;

pub(crate) async fn listen(
    shared: Arc<Shared>,
    mut wakeups: tokio::sync::broadcast::Receiver<Wakeup>,
    stop: CancellationToken,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let ev = tokio::select! {
            _ = stop.cancelled() => return,
            ev = wakeups.recv() => ev,
        };
        match ev {
            Ok(Wakeup::Inserted(q)) | Ok(Wakeup::QueueChanged(q)) => {
                if let Some(w) = shared.wakers.get(&q) {
                    w.notify_one();
                }
            }
            Ok(Wakeup::CancelRequested(id)) => cancel_running(&shared, id),
            Ok(Wakeup::RunEvent(_)) => {}
            Ok(Wakeup::Resync) | Err(RecvError::Lagged(_)) => {
                for w in shared.wakers.values() {
                    w.notify_one();
                }
            }
            Err(RecvError::Closed) => return,
        }
    }
}

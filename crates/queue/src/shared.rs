//! What the tasks of one worker share: its store and handlers, its running jobs and how to
//! stop them, its wake-up signals, and the channel to its completer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use crate::config::WorkerConfig;
use crate::handler::Entry;
use crate::heartbeat;
use crate::job::Completion;
use crate::metrics as m;
use crate::store::Store;

pub(crate) struct Running {
    pub(crate) token: CancellationToken,
    /// Why the token fired: set before cancelling.
    pub(crate) reason: Arc<Mutex<Option<StopReason>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopReason {
    Cancelled,
    Shutdown,
    /// The worker could not renew its heartbeat in time (see [`crate::heartbeat`]).
    Fenced,
}

pub(crate) struct Shared {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) entries: HashMap<String, Entry>,
    /// Metric handles by kind, then queue, for what this worker can run (registered at start).
    pub(crate) metrics: HashMap<String, HashMap<String, m::KindMetrics>>,
    pub(crate) config: WorkerConfig,
    pub(crate) running: Mutex<HashMap<i64, Running>>,
    pub(crate) wakers: HashMap<String, Arc<Notify>>,
    pub(crate) completions: mpsc::Sender<Completion>,
    /// Producers stop fetching.
    pub(crate) stop_fetching: CancellationToken,
    /// Every running job is told to stop (the shutdown deadline passed).
    pub(crate) hard_stop: CancellationToken,
    /// Signalled whenever a job finishes.
    pub(crate) idle: Notify,
    /// The heartbeat could not be renewed in time: claim nothing until it is.
    pub(crate) fenced: AtomicBool,
}

impl heartbeat::Pulse for Shared {
    fn cancel(&self, job: i64) {
        cancel_running(self, job);
    }

    fn fence(&self, fenced: bool) {
        self.fenced.store(fenced, Ordering::SeqCst);
        if fenced {
            stop_all(self, StopReason::Fenced);
        } else {
            for w in self.wakers.values() {
                w.notify_one();
            }
        }
    }
}

/// Stop every running job for `why`; returns how many there were.
pub(crate) fn stop_all(shared: &Shared, why: StopReason) -> usize {
    let Ok(running) = shared.running.lock() else {
        return 0;
    };
    for r in running.values() {
        if let Ok(mut reason) = r.reason.lock() {
            reason.get_or_insert(why);
        }
        r.token.cancel();
    }
    running.len()
}

pub(crate) fn cancel_running(shared: &Shared, id: i64) {
    if let Ok(running) = shared.running.lock() {
        if let Some(r) = running.get(&id) {
            if let Ok(mut reason) = r.reason.lock() {
                reason.get_or_insert(StopReason::Cancelled);
            }
            r.token.cancel();
        }
    }
}

//! What a store keeps in memory about limits: the limited kinds its workers declared, by
//! queue (only those take the limited claim path), and when a queue whose claim a limit held
//! back is worth claiming again: when a rate's tokens return, or, for a concurrency limit,
//! after a short backoff that doubles while the limit keeps holding (a slot frees when a
//! job finishes on any worker, which no wake-up announces); and which of this process's
//! finished jobs still say `running` ([`Released`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::released::{ClaimedJob, Released};
use crate::limits::Declared;

#[derive(Debug, Default)]
pub(crate) struct Local {
    kinds_by_queue: Mutex<HashMap<String, Vec<String>>>,
    /// By queue: when to claim again, and how many claims in a row a limit held back with
    /// nothing claimed.
    retry_at: Mutex<HashMap<String, (DateTime<Utc>, u32)>>,
    released: Mutex<Released>,
}

/// The first look-again delay after a claim a limit held back.
const FIRST_BACKOFF: Duration = Duration::from_millis(5);
/// The longest: a slot freed by another process is seen within this.
const MAX_BACKOFF: Duration = Duration::from_millis(200);

impl Local {
    pub(crate) fn declare(&self, declared: &[Declared]) {
        let mut map = self
            .kinds_by_queue
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for d in declared {
            for q in &d.queues {
                let kinds = map.entry(q.clone()).or_default();
                if !kinds.contains(&d.kind) {
                    kinds.push(d.kind.clone());
                    kinds.sort();
                }
            }
        }
    }

    /// The queues with limited kinds declared here.
    pub(crate) fn limited_queues(&self) -> Vec<String> {
        self.kinds_by_queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// The limited kinds declared for `queue`, in name order.
    pub(crate) fn kinds_in(&self, queue: &str) -> Vec<String> {
        self.kinds_by_queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(queue)
            .cloned()
            .unwrap_or_default()
    }

    /// For each of `kinds`: this process's finished jobs whose outcome is not committed yet.
    pub(crate) fn released(&self, kinds: &[String]) -> HashMap<String, Vec<(i64, i32)>> {
        self.released
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .of(kinds)
    }

    /// A job's handler returned (of any kind: only limited ones are known here).
    pub(crate) fn finished(&self, id: i64) {
        self.released
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .finished(id);
    }

    /// Jobs whose completions committed (of any kind: only limited ones are known here).
    pub(crate) fn completed(&self, ids: impl IntoIterator<Item = i64>) {
        self.released
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .completed(ids);
    }

    /// Note what a claim of `queue` found: whether a limit held due jobs back, when a rate's
    /// tokens return, whether it claimed anything, and the limited jobs it claimed.
    pub(crate) fn after_claim(
        &self,
        queue: &str,
        throttled: bool,
        tokens_at: Option<DateTime<Utc>>,
        claimed_any: bool,
        claimed: Vec<ClaimedJob>,
    ) {
        self.released
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .claimed(claimed);
        let mut map = self.retry_at.lock().unwrap_or_else(|e| e.into_inner());
        if !throttled && tokens_at.is_none() {
            map.remove(queue);
            return;
        }
        let streak = match map.get(queue) {
            Some((_, n)) if !claimed_any => n.saturating_add(1),
            _ => 0,
        };
        let backoff = FIRST_BACKOFF
            .saturating_mul(1u32 << streak.min(16))
            .min(MAX_BACKOFF);
        // A rate that held jobs back decides: nothing starts before its tokens return.
        let at = tokens_at.unwrap_or_else(|| crate::clock::in_future(backoff));
        map.insert(queue.to_string(), (at, streak));
    }

    /// When the queue is worth claiming again, if that is still ahead.
    pub(crate) fn retry_at(&self, queue: &str) -> Option<DateTime<Utc>> {
        let map = self.retry_at.lock().unwrap_or_else(|e| e.into_inner());
        map.get(queue).map(|e| e.0).filter(|at| *at > Utc::now())
    }
}

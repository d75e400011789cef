//! What a store keeps in memory about limits: the limited kinds its workers declared, by
//! queue (only those take the limited claim path), and when a rate-limited queue's tokens
//! return (so a producer sleeps until then instead of polling).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::limits::Declared;

#[derive(Debug, Default)]
pub(crate) struct Local {
    kinds_by_queue: Mutex<HashMap<String, Vec<String>>>,
    retry_at: Mutex<HashMap<String, DateTime<Utc>>>,
}

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

    /// The limited kinds declared for `queue`, in name order.
    pub(crate) fn kinds_in(&self, queue: &str) -> Vec<String> {
        self.kinds_by_queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(queue)
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn set_retry_at(&self, queue: &str, at: Option<DateTime<Utc>>) {
        let mut map = self.retry_at.lock().unwrap_or_else(|e| e.into_inner());
        match at {
            Some(at) => {
                map.insert(queue.to_string(), at);
            }
            None => {
                map.remove(queue);
            }
        }
    }

    /// When the queue's rate-limited tokens return, if that is still ahead.
    pub(crate) fn retry_at(&self, queue: &str) -> Option<DateTime<Utc>> {
        let map = self.retry_at.lock().unwrap_or_else(|e| e.into_inner());
        map.get(queue).copied().filter(|at| *at > Utc::now())
    }
}

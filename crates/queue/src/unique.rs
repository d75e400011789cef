//! Unique jobs: which inserts collide, and the key that a unique index enforces.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::state::JobState;

/// Uniqueness of an insert: among jobs whose state is in `states`, at most one has the key.
///
/// The key is a hash of the kind plus whichever of `by_args`, `key` and `period` are set;
/// a unique index enforces it, so concurrent identical inserts yield exactly one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UniqueOpts {
    /// Include the (canonical JSON) arguments in the key.
    pub by_args: bool,
    /// Include an explicit key.
    pub key: Option<String>,
    /// Include the time bucket `floor(now / period)`: at most one job per period.
    pub period: Option<Duration>,
    /// Include the queue name.
    pub by_queue: bool,
    /// States in which the key is held. Default: every state but cancelled and discarded.
    pub states: Vec<JobState>,
}

impl Default for UniqueOpts {
    fn default() -> Self {
        UniqueOpts {
            by_args: true,
            key: None,
            period: None,
            by_queue: false,
            states: vec![
                JobState::Available,
                JobState::Scheduled,
                JobState::Running,
                JobState::Retryable,
                JobState::Completed,
            ],
        }
    }
}

impl UniqueOpts {
    /// Unique by arguments among the default states.
    pub fn by_args() -> Self {
        UniqueOpts::default()
    }

    /// Unique by an explicit key (arguments ignored) among the default states.
    pub fn by_key(key: impl Into<String>) -> Self {
        UniqueOpts {
            by_args: false,
            key: Some(key.into()),
            ..UniqueOpts::default()
        }
    }

    pub fn period(mut self, period: Duration) -> Self {
        self.period = Some(period);
        self
    }

    pub fn states(mut self, states: &[JobState]) -> Self {
        self.states = states.to_vec();
        self
    }

    pub fn mask(&self) -> i32 {
        self.states.iter().fold(0, |m, s| m | s.bit())
    }

    pub fn compute_key(
        &self,
        kind: &str,
        queue: &str,
        args: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> String {
        let mut h = Sha256::new();
        h.update(b"kind=");
        h.update(kind.as_bytes());
        if self.by_queue {
            h.update(b"\0queue=");
            h.update(queue.as_bytes());
        }
        if self.by_args {
            // serde_json's map is ordered by key, so this serialization is canonical.
            h.update(b"\0args=");
            h.update(args.to_string().as_bytes());
        }
        if let Some(k) = &self.key {
            h.update(b"\0key=");
            h.update(k.as_bytes());
        }
        if let Some(p) = self.period {
            let p = p.as_micros().max(1) as i64;
            let bucket = now.timestamp_micros().div_euclid(p);
            h.update(b"\0period=");
            h.update(bucket.to_string().as_bytes());
        }
        hex::encode(h.finalize())
    }
}

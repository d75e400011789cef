//! A rollout's mode as one process sees it: read from the database at most once per refresh
//! interval, so the hot path costs one clock read, and a change reaches a running worker
//! within that interval.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::RolloutMode;
use crate::store::Store;

#[derive(Default)]
pub(super) struct ModeCache {
    last: Mutex<Option<(RolloutMode, Instant)>>,
    /// Whether this process made the rollout known in the database.
    declared: AtomicBool,
}

impl ModeCache {
    pub(super) async fn get(
        &self,
        name: &str,
        store: &dyn Store,
        refresh: Duration,
    ) -> RolloutMode {
        let known = self.last.lock().ok().and_then(|l| *l);
        if let Some((mode, at)) = known {
            if at.elapsed() < refresh {
                return mode;
            }
        }
        let mode = match store.rollouts().rollout(name).await {
            Ok(Some(state)) => state.mode,
            Ok(None) => {
                if !self.declared.swap(true, Ordering::SeqCst) {
                    if let Err(e) = store.rollouts().declare_rollout(name).await {
                        tracing::warn!(rollout = name, error = %e, "could not declare the rollout");
                        self.declared.store(false, Ordering::SeqCst);
                    }
                }
                RolloutMode::Off
            }
            Err(e) => {
                // The database out of reach: keep what was known (the primary if nothing
                // was), and look again after the interval rather than on every job.
                let kept = known.map_or(RolloutMode::Off, |(m, _)| m);
                tracing::warn!(rollout = name, error = %e, mode = %kept, "could not read the rollout's mode; keeping the last one");
                kept
            }
        };
        if let Ok(mut last) = self.last.lock() {
            *last = Some((mode, Instant::now()));
        }
        mode
    }
}

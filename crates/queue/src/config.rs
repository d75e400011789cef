//! The tunables of a worker.

use std::time::Duration;

/// Tunables of a worker. The defaults suit most deployments.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Unique name of this worker process. Default: `host-pid-random`.
    pub id: String,
    /// Poll for work this often when no wake-up arrives (±20% jitter).
    pub poll_interval: Duration,
    /// Refresh the heartbeat this often.
    pub heartbeat_interval: Duration,
    /// Most jobs claimed by one fetch.
    pub fetch_max: usize,
    /// Most outcomes written by one completion statement.
    pub complete_batch: usize,
    /// Outcomes waiting for the completer before executors wait (backpressure).
    pub complete_buffer: usize,
    /// Stop every running job when no heartbeat renewal succeeded for this long (see
    /// [`crate::heartbeat`]). Keep it below the rescuer's `rescue_after` by at least one
    /// `heartbeat_interval`.
    pub fence_after: Duration,
    /// Claim only the jobs of this pipeline run (a one-shot command that must not serve the
    /// other runs of a shared database). `None`: every job of the consumed queues.
    pub only_run: Option<i64>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            id: default_worker_id(),
            poll_interval: Duration::from_secs(1),
            heartbeat_interval: Duration::from_secs(2),
            fetch_max: 1000,
            complete_batch: 2000,
            complete_buffer: 10_000,
            fence_after: Duration::from_secs(6),
            only_run: None,
        }
    }
}

/// `host-pid-random`: readable in `attempted_by`, unique across restarts.
pub fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_string());
    format!(
        "{host}-{}-{:06x}",
        std::process::id(),
        rand::random::<u32>() & 0xff_ffff
    )
}

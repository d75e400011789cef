//! The producer: one per consumed queue, it claims as many due jobs as it has free slots,
//! woken by the store's insert wake-up, by a freed slot, or by a jittered poll, and hands
//! each claimed job to an executor.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, Semaphore};

use crate::executor::spawn_job;
use crate::shared::Shared;

fn jittered(d: Duration) -> Duration {
    let f = 1.0 + rand::random_range(-0.2..=0.2);
    d.mul_f64(f)
}

pub(crate) async fn producer(shared: Arc<Shared>, queue: String, concurrency: usize) {
    let slots = Arc::new(Semaphore::new(concurrency));
    let Some(wake) = shared.wakers.get(&queue).cloned() else {
        return;
    };
    let slot_freed = Arc::new(Notify::new());
    let fetched = crate::metrics::fetch_batch(&queue);
    let mut failures: u32 = 0;
    loop {
        if shared.stop_fetching.is_cancelled() {
            return;
        }
        // Register interest before fetching, so a wake-up during the fetch is not lost.
        let woken = wake.notified();
        let freed = slot_freed.notified();
        tokio::pin!(woken, freed);
        woken.as_mut().enable();
        freed.as_mut().enable();

        let free = slots.available_permits();
        let mut wait = jittered(shared.config.poll_interval);
        if free > 0 && !shared.fenced.load(Ordering::SeqCst) {
            let want = free.min(shared.config.fetch_max);
            let claimed = match shared.config.only_run {
                None => shared.store.fetch(&queue, want, &shared.config.id).await,
                Some(run) => {
                    shared
                        .store
                        .fetch_run(&queue, want, &shared.config.id, run)
                        .await
                }
            };
            match claimed {
                Ok(jobs) => {
                    failures = 0;
                    let got = jobs.len();
                    fetched.record(got as f64);
                    for job in jobs {
                        let Ok(permit) = slots.clone().try_acquire_owned() else {
                            // Cannot happen: we asked for at most the free slots.
                            break;
                        };
                        let freed = slot_freed.clone();
                        spawn_job(shared.clone(), job, permit, freed);
                    }
                    if got == want {
                        continue;
                    }
                    // A rate limit held jobs back: look again when its tokens are back.
                    if let Some(at) = shared.store.throttled_until(&queue) {
                        let until = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                        wait = wait.min(until + Duration::from_millis(1));
                    }
                    if got == 0 {
                        if let Ok(Some(at)) = shared.store.next_due(&queue).await {
                            let until = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                            wait = wait.min(until + Duration::from_millis(1));
                        }
                    }
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let backoff = Duration::from_millis(100 * 2u64.pow(failures.min(6)));
                    tracing::error!(queue = %queue, error = %e, "fetch failed; retrying in {backoff:?}");
                    wait = backoff;
                }
            }
        }
        tokio::select! {
            _ = shared.stop_fetching.cancelled() => return,
            _ = &mut woken => {}
            _ = &mut freed, if free == 0 || slots.available_permits() == 0 => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

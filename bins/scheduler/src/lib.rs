//! The scheduler: the engine's leader-elected maintenance plus the application's own
//! leader-only duties.
//!
//! Any number of schedulers may run; one holds the lease at a time (a lease row with a
//! fencing term, see docs/queue.md) and only that one:
//! - rescues jobs of dead workers and prunes finished jobs and expired run results (engine);
//! - applies retention to old analyses and document versions (`apply_retention`, which
//!   always keeps the newest of each);
//! - every `reanalyze_interval`, submits an "analyze and generate" run per watched
//!   repository. The analyzer first asks the remote for its commit (`git ls-remote`) and
//!   reuses the stored analysis when neither the commit nor the parser version changed, and
//!   the spec generator reuses the stored document, so an unchanged repository costs one
//!   `ls-remote` and no model call. Each repository's last submission time is stored with it
//!   and claimed atomically ([`AppStore::claim_due_watched`]): a tick reads only what is due
//!   (one indexed statement, usually matching nothing), and two leaders overlapping during a
//!   handover cannot both claim a repository, whatever the interval (an idempotency key,
//!   which expires after 24 h, cannot remember a weekly interval).
//!
//! The scheduler never decrypts a token: it copies the watched repository's encrypted token
//! into the request, and only the analyzer holds the key.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use specline_app::store::{AppStore, WatchedRepository};
use specline_app::{analyze_and_generate, AnalysisRequest, SYSTEM_OWNER};
use specline_inventory_model::target::{check_ref, Target};
use specline_queue::store::Store;
use specline_queue::{Client, Maintenance, MaintenanceConfig, MaintenanceHandle, SubmitOpts};
use specline_settings::SchedulerSection;
use tokio_util::sync::CancellationToken;

/// The scheduler's tunables, from `[scheduler]`.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    pub rescue_after: Duration,
    pub prune_interval: Duration,
    pub retain_completed: Duration,
    pub reanalyze_interval: Option<Duration>,
    /// Cached model answers older than this are deleted with each retention pass.
    pub spec_cache_retain: Duration,
    /// Most cached model answers kept (the oldest go first).
    pub spec_cache_max_entries: u64,
    /// How often the application loop looks at its timers.
    pub tick: Duration,
}

impl SchedulerConfig {
    pub fn from_settings(s: &SchedulerSection) -> Self {
        SchedulerConfig {
            rescue_after: s.rescue_after(),
            prune_interval: s.prune_interval(),
            retain_completed: s.retain_completed(),
            reanalyze_interval: s.reanalyze_interval(),
            spec_cache_retain: s.spec_cache_retain(),
            spec_cache_max_entries: s.spec_cache_max_entries,
            tick: Duration::from_secs(1),
        }
    }
}

/// A running scheduler.
pub struct SchedulerHandle {
    maintenance: MaintenanceHandle,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    alive: Arc<AtomicBool>,
}

impl SchedulerHandle {
    /// True while this node holds the leadership lease.
    pub fn is_leader(&self) -> bool {
        self.maintenance.lease().is_some()
    }

    /// The readiness check of `/readyz`: the application loop is running.
    pub fn readiness(&self) -> (&'static str, specline_service::http::Check) {
        let alive = self.alive.clone();
        ("scheduler", Arc::new(move || alive.load(Ordering::Relaxed)))
    }

    /// Stop both loops and give up the lease, so another node takes over at once.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.task.await;
        self.maintenance.shutdown().await;
    }
}

/// Start maintenance and the application loop.
pub fn start(
    jobs: Arc<dyn Store>,
    app: Arc<dyn AppStore>,
    config: SchedulerConfig,
) -> SchedulerHandle {
    let maintenance = Maintenance::new(
        jobs.clone(),
        MaintenanceConfig {
            rescue_after: config.rescue_after,
            rescue_interval: (config.rescue_after / 4)
                .clamp(Duration::from_secs(1), Duration::from_secs(30)),
            prune_interval: config.prune_interval,
            retain_completed: config.retain_completed,
            ..MaintenanceConfig::default()
        },
    )
    .start();
    let stop = CancellationToken::new();
    let alive = Arc::new(AtomicBool::new(true));
    // The application loop acts only while this node leads.
    let lease_of = maintenance.leader_probe();
    let task = {
        let (stop, alive) = (stop.clone(), alive.clone());
        tokio::spawn(async move {
            let mut duties = Duties::new(jobs, app, config.clone());
            loop {
                if lease_of() {
                    duties.run_due().await;
                } else {
                    duties.reset();
                }
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(config.tick) => {}
                }
            }
            alive.store(false, Ordering::Relaxed);
        })
    };
    SchedulerHandle {
        maintenance,
        stop,
        task,
        alive,
    }
}

/// The application's leader-only work and when it is next due.
struct Duties {
    jobs: Arc<dyn Store>,
    app: Arc<dyn AppStore>,
    config: SchedulerConfig,
    next_retention: Option<tokio::time::Instant>,
}

impl Duties {
    fn new(jobs: Arc<dyn Store>, app: Arc<dyn AppStore>, config: SchedulerConfig) -> Self {
        Duties {
            jobs,
            app,
            config,
            next_retention: None,
        }
    }

    /// Leadership lost: a new term starts its timers afresh.
    fn reset(&mut self) {
        self.next_retention = None;
    }

    async fn run_due(&mut self) {
        let now = tokio::time::Instant::now();
        if self.next_retention.is_none_or(|t| t <= now) {
            self.next_retention = Some(now + self.config.prune_interval);
            self.retention().await;
        }
        if let Some(interval) = self.config.reanalyze_interval {
            self.reanalyze(interval).await;
        }
    }

    async fn retention(&self) {
        let keep = chrono::Duration::from_std(self.config.retain_completed)
            .unwrap_or(chrono::Duration::MAX);
        let before = Utc::now()
            .checked_sub_signed(keep)
            .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
        match self.app.apply_retention(before).await {
            Ok(r) if r.analyses + r.documents > 0 => tracing::info!(
                analyses = r.analyses,
                documents = r.documents,
                "retention deleted old analyses and documents"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "retention failed; retrying next interval"),
        }
        // Never inside the budgets' 24-hour window, however short the retention.
        let usage_before = before.min(Utc::now() - chrono::Duration::hours(24));
        match self.app.prune_usage(usage_before).await {
            Ok(n) if n > 0 => {
                tracing::info!(
                    rows = n,
                    "retention deleted model usage of deleted documents"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "usage retention failed; retrying next interval"),
        }
        let keep = chrono::Duration::from_std(self.config.spec_cache_retain)
            .unwrap_or(chrono::Duration::MAX);
        let before = Utc::now()
            .checked_sub_signed(keep)
            .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
        match self
            .app
            .prune_spec_cache(before, self.config.spec_cache_max_entries)
            .await
        {
            Ok(r) if r.expired + r.over_limit > 0 => tracing::info!(
                expired = r.expired,
                over_limit = r.over_limit,
                "retention deleted cached model answers"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cache retention failed; retrying next interval"),
        }
    }

    async fn reanalyze(&self, interval: Duration) {
        reanalyze_due(&self.jobs, &*self.app, interval, Utc::now()).await;
    }
}

/// Repositories claimed per statement.
const CLAIM_BATCH: usize = 100;

/// Submit the periodic run of every watched repository due at `now` (never submitted, or
/// last submitted at least `interval` before `now`); the number submitted. A repository whose
/// submission fails is released, to be claimed again on the next tick.
///
/// `now` is a parameter so that tests can move time (an interval of days is tested without
/// waiting for it).
/// The target and ref rules every submission path applies (`specline_inventory_model::target`).
fn checked_target(repo: &WatchedRepository) -> Result<(), &'static str> {
    Target::parse(&repo.repository).map_err(|e| e.code())?;
    if let Some(branch) = &repo.branch {
        check_ref(branch).map_err(|e| e.code())?;
    }
    Ok(())
}

pub async fn reanalyze_due(
    jobs: &Arc<dyn Store>,
    app: &dyn AppStore,
    interval: Duration,
    now: DateTime<Utc>,
) -> usize {
    let every = chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::MAX);
    // Names the interval, so a submission that committed but reported an error and is then
    // released and claimed again in the same interval returns the same run.
    let slot = u64::try_from(now.timestamp()).unwrap_or(0) / interval.as_secs().max(1);
    let client = Client::new(jobs.clone());
    let pipeline = analyze_and_generate();
    let mut submitted = 0;
    loop {
        let due = match app.claim_due_watched(now, every, CLAIM_BATCH).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim the watched repositories that are due");
                return submitted;
            }
        };
        let full = due.len() == CLAIM_BATCH;
        let mut released = false;
        for repo in due {
            // A row stored before targets were checked (or written around the operator
            // commands) may carry a token or control characters: it is neither submitted nor
            // named in the log, only counted by its code. Its claim is kept, so it is not
            // retried before the next interval.
            if let Err(code) = checked_target(&repo) {
                tracing::warn!(
                    code,
                    "a watched repository is refused by the target rules and not submitted; \
                     remove it with `watch remove` and add it again"
                );
                continue;
            }
            let request = AnalysisRequest {
                target: repo.repository.clone(),
                git_ref: repo.branch.clone(),
                lang: repo.language.clone(),
                encrypted_token: repo.encrypted_token.clone(),
                fresh: false,
            };
            let key = format!("watch:{}:{}:{slot}", repo.repository, repo.language);
            match client
                .submit(
                    &pipeline,
                    SYSTEM_OWNER,
                    &request,
                    SubmitOpts::default().idempotency_key(key),
                )
                .await
            {
                Ok(s) => {
                    submitted += 1;
                    tracing::info!(
                        repository = %repo.repository,
                        run = s.run_id,
                        existing = s.existing,
                        "submitted the periodic re-analysis"
                    );
                }
                Err(e) => {
                    tracing::warn!(
                        repository = %repo.repository,
                        error = %e,
                        "could not submit the periodic re-analysis; it is due again"
                    );
                    released = true;
                    if let Err(e) = app.release_watched_claim(&repo.repository, now).await {
                        tracing::warn!(repository = %repo.repository, error = %e,
                            "could not release the claim; the repository waits one interval");
                    }
                }
            }
        }
        // A released repository is due again at once: leave it to the next tick.
        if !full || released {
            return submitted;
        }
    }
}

//! The client: insert jobs and manage them.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::job::{CancelOutcome, InsertOpts, Inserted, Job, JobFilter, NewJob};
use crate::kind::JobKind;
use crate::limits::{LimitStatus, LimitValues};
use crate::store::{StateCounts, Store};

/// Inserts and manages jobs. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Client {
    store: Arc<dyn Store>,
}

impl Client {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Client { store }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Insert one job of kind `K` with the kind's defaults.
    pub async fn insert<K: JobKind>(&self, args: &K) -> Result<Inserted> {
        self.insert_with(args, InsertOpts::default()).await
    }

    /// Insert one job with options (queue, schedule, priority, uniqueness, …).
    pub async fn insert_with<K: JobKind>(&self, args: &K, opts: InsertOpts) -> Result<Inserted> {
        let job = NewJob::new(args, opts)?;
        let mut out = self.store.insert_many(vec![job]).await?;
        out.pop()
            .ok_or_else(|| crate::error::Error::Corrupt("insert returned no row".into()))
    }

    /// Insert many jobs in one statement per chunk. Build each with [`NewJob::new`].
    pub async fn insert_many(&self, jobs: Vec<NewJob>) -> Result<Vec<Inserted>> {
        self.store.insert_many(jobs).await
    }

    pub async fn get(&self, id: i64) -> Result<Option<Job>> {
        self.store.get_job(id).await
    }

    pub async fn list(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        self.store.list_jobs(filter).await
    }

    pub async fn counts(&self, queue: Option<&str>) -> Result<StateCounts> {
        self.store.count_by_state(queue).await
    }

    /// Cancel a pending job, or tell the worker of a running one to stop.
    pub async fn cancel(&self, id: i64) -> Result<CancelOutcome> {
        self.store.cancel(id).await
    }

    /// Run a job again now (not while it is running).
    pub async fn retry(&self, id: i64) -> Result<Job> {
        self.store.retry(id).await
    }

    /// Discard a job that is not running.
    pub async fn discard(&self, id: i64) -> Result<Job> {
        self.store.discard(id).await
    }

    /// Stop workers fetching from `queue` (running jobs finish).
    pub async fn pause_queue(&self, queue: &str) -> Result<()> {
        self.store.set_paused(queue, true).await
    }

    pub async fn resume_queue(&self, queue: &str) -> Result<()> {
        self.store.set_paused(queue, false).await
    }

    /// Every limited kind with its limits and counts (see [`crate::limits`]).
    pub async fn limits(&self) -> Result<Vec<LimitStatus>> {
        self.store.limits().await
    }

    /// Override a limited kind's declared limits with `overrides`, a JSON object of
    /// [`crate::LimitValues`] keys (`null` lifts a limit, `{}` goes back to the code's
    /// values). Every worker's next claim uses them. Checked first: `INVALID_LIMITS` for
    /// anything else, `LIMIT_NOT_FOUND` for a kind no worker declared.
    pub async fn set_limits(&self, kind: &str, overrides: &str) -> Result<()> {
        let value = LimitValues::parse_overrides(overrides).map_err(Error::InvalidLimits)?;
        if self.store.set_limit_overrides(kind, &value).await? {
            Ok(())
        } else {
            Err(Error::LimitNotFound(kind.to_string()))
        }
    }
}

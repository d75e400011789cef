//! The spec generator's model-answer cache, in the application's tables.
//!
//! An entry is a model answer (a classification, a behavior sentence, a summary) stored under
//! a key the spec generator builds (`specline_specdoc::cache`): a SHA-256 digest of exactly
//! what the answer depends on — the content, the language, the model and the prompt version,
//! and for a classification the repository. This crate does not read the keys or the values;
//! it keeps them where every spec generator process sees them, so a restart, another process
//! or the next commit does not pay twice for the same answer.
//!
//! Bounded by [`SpecCacheStore::prune_spec_cache`] (the scheduler's retention): entries older
//! than an age go, and past a count the oldest go first.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Result;

/// One entry to store.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheEntry {
    /// The digest key (`behavior:…`, `classification:…`, `summary:…`).
    pub key: String,
    pub value: serde_json::Value,
}

impl CacheEntry {
    /// The part of the key before `:` (what kind of answer), stored for the statistics.
    pub fn kind(&self) -> &str {
        self.key.split(':').next().unwrap_or("")
    }
}

/// What a prune deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CachePruneReport {
    /// Entries older than the age limit.
    pub expired: u64,
    /// Entries past the count limit (the oldest first).
    pub over_limit: u64,
}

/// The cache's persistence, implemented by both application stores.
#[async_trait]
pub trait SpecCacheStore: Send + Sync {
    /// The stored values of those `keys` that have one (in any order; missing keys are absent).
    async fn cache_get_many(&self, keys: &[String]) -> Result<Vec<CacheEntry>>;

    /// Store entries; an existing key gets the new value (the newest answer wins) and a new
    /// creation time.
    async fn cache_put_many(&self, entries: &[CacheEntry]) -> Result<()>;

    /// Delete entries created before `before`, then the oldest beyond `max_entries`.
    async fn prune_spec_cache(
        &self,
        before: DateTime<Utc>,
        max_entries: u64,
    ) -> Result<CachePruneReport>;

    /// Entries held (for statistics and tests).
    async fn cache_len(&self) -> Result<u64>;
}

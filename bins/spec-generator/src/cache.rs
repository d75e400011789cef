//! The spec document caches in the application's tables: the model answers (classifications,
//! behavior sentences, summaries) every spec generator process shares, so a restart, another
//! process or the next commit of a repository does not pay for the same answer twice.
//!
//! The keys are built by `specline_specdoc::cache` (content, language, model, prompt version;
//! the repository too where an answer depends on the repository); this adapter only moves
//! them to and from [`specline_app::store::SpecCacheStore`]. A failing database is logged by
//! the generator and read as a miss: it costs model calls, never a document.

use std::sync::Arc;

use futures::future::BoxFuture;
use specline_app::store::{AppStore, CacheEntry};
use specline_specdoc::cache::Cache;
use specline_specdoc::SpecError;

/// [`Cache`] over the application store.
pub struct StoreCache {
    app: Arc<dyn AppStore>,
}

impl StoreCache {
    pub fn new(app: Arc<dyn AppStore>) -> Self {
        Self { app }
    }
}

fn cache_error(e: specline_app::store::StoreError) -> SpecError {
    SpecError::Cache(e.to_string())
}

impl Cache for StoreCache {
    fn get<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<serde_json::Value>, SpecError>> {
        Box::pin(async move {
            let keys = [key.to_string()];
            let mut found = self.app.cache_get_many(&keys).await.map_err(cache_error)?;
            Ok(found.pop().map(|e| e.value))
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: serde_json::Value,
    ) -> BoxFuture<'a, Result<(), SpecError>> {
        self.put_many(vec![(key.to_string(), value)])
    }

    fn get_many<'a>(
        &'a self,
        keys: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<(String, serde_json::Value)>, SpecError>> {
        Box::pin(async move {
            let found = self.app.cache_get_many(keys).await.map_err(cache_error)?;
            Ok(found.into_iter().map(|e| (e.key, e.value)).collect())
        })
    }

    fn put_many<'a>(
        &'a self,
        entries: Vec<(String, serde_json::Value)>,
    ) -> BoxFuture<'a, Result<(), SpecError>> {
        Box::pin(async move {
            let entries: Vec<CacheEntry> = entries
                .into_iter()
                .map(|(key, value)| CacheEntry { key, value })
                .collect();
            self.app.cache_put_many(&entries).await.map_err(cache_error)
        })
    }
}

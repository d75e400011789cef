//! The generation phases: classify → convert → summarize → assemble.
//!
//! Each phase is a plain async function whose input and output are serde values, so that each
//! can become a resumable pipeline step whose output is its checkpoint once the engine's
//! pipeline API lands. Outputs carry the inventory's content hash and the language, and a later
//! phase refuses outputs of another input (`INCONSISTENT_INPUT`) instead of mixing documents.

mod assemble;
mod classify;
mod convert;
mod estimate;
mod feature;
pub mod placement;
mod summarize;

pub use assemble::{assemble, generate, generate_from, AssembleMeta};
pub use classify::{
    chunk_by_file, classify, classify_from, classify_resumable, ClassDomain, ClassFeature,
    Classification, ClassifyHook, ClassifyProgress,
};
pub use convert::{convert, Behaviors, CheckpointHook, FeatureBehaviors, Sentence};
pub use estimate::{estimate, Estimate};
pub use feature::{convert_one, features, join, FeatureConversion, FeatureOutcome, FeatureRef};
pub use summarize::{summarize, Summary};

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::cache::{Cache, CacheMode, MemoryCache};
use crate::document::GeneratorInfo;
use crate::error::SpecError;
use crate::input::{clean_text, SpecInput, TestEntry};
use crate::lang::LanguageTag;
use crate::offline;
use crate::prompts::{self};
use crate::reliability::ModelClient;

/// Name of the domain and feature that hold tests no classification placed.
pub const UNCATEGORIZED: &str = "Uncategorized";

/// Longest domain or feature name kept from a model answer.
const MAX_GROUP_NAME_CHARS: usize = 120;

/// Per-request settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateOptions {
    pub language: LanguageTag,
    pub cache_mode: CacheMode,
    /// Tests per classification request (whole files are kept together, so a chunk can be
    /// larger when one file is).
    pub classify_chunk_tests: usize,
    /// Tests per conversion request; a larger feature takes several requests.
    pub convert_batch_tests: usize,
    /// Features converted at the same time.
    pub concurrency: usize,
    /// Classify every test again even when a previous version of the document exists (see
    /// [`placement`]).
    #[serde(default)]
    pub fresh: bool,
    /// Past this share (percent of the previous version's tests added or removed), a new
    /// version is classified from scratch instead of incrementally.
    #[serde(default = "default_max_changed_percent")]
    pub max_changed_percent: u8,
}

/// 30 %: past it the previous structure is more likely to mislead than to help.
pub const DEFAULT_MAX_CHANGED_PERCENT: u8 = 30;

fn default_max_changed_percent() -> u8 {
    DEFAULT_MAX_CHANGED_PERCENT
}

impl GenerateOptions {
    pub fn new(language: LanguageTag) -> Self {
        Self {
            language,
            cache_mode: CacheMode::Use,
            classify_chunk_tests: 300,
            convert_batch_tests: 60,
            concurrency: 4,
            fresh: false,
            max_changed_percent: DEFAULT_MAX_CHANGED_PERCENT,
        }
    }
}

/// Who writes the document: the offline generator or a model behind a [`ModelClient`].
#[derive(Clone)]
pub struct Generator {
    client: Option<ModelClient>,
    cache: Arc<dyn Cache>,
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator")
            .field("client", &self.client)
            .finish()
    }
}

impl Generator {
    /// The offline generator (no network).
    pub fn offline() -> Self {
        Self {
            client: None,
            cache: Arc::new(MemoryCache::new()),
        }
    }

    /// A model-backed generator with its caches.
    pub fn with_model(client: ModelClient, cache: Arc<dyn Cache>) -> Self {
        Self {
            client: Some(client),
            cache,
        }
    }

    /// The same generator with another cache (the spec generator's database cache).
    pub fn with_cache(mut self, cache: Arc<dyn Cache>) -> Self {
        self.cache = cache;
        self
    }

    pub fn is_offline(&self) -> bool {
        self.client.is_none()
    }

    /// What the document will record as its author.
    pub fn info(&self) -> GeneratorInfo {
        match &self.client {
            None => GeneratorInfo {
                kind: "offline".into(),
                model: offline::MODEL.into(),
                prompt_version: "none".into(),
            },
            Some(c) => GeneratorInfo {
                kind: c.kind().into(),
                model: c.model().into(),
                prompt_version: prompts::combined_version(),
            },
        }
    }

    /// A cache read in place of a model call (counted as a hit or a miss). A failing cache
    /// is an optimisation lost, not a failed document: the error is logged and the read is a
    /// miss.
    async fn cache_get(&self, key: &str) -> Option<serde_json::Value> {
        let v = self.cache_peek(key).await;
        let i = self.info();
        crate::model_metrics::cache_lookups(
            &i.kind,
            &i.model,
            v.is_some() as u64,
            v.is_none() as u64,
        );
        v
    }

    /// [`Self::cache_get`] for several keys at once.
    async fn cache_get_many(&self, keys: &[String]) -> HashMap<String, serde_json::Value> {
        let found = self.cache_peek_many(keys).await;
        let i = self.info();
        let hits = found.len() as u64;
        crate::model_metrics::cache_lookups(
            &i.kind,
            &i.model,
            hits,
            (keys.len() as u64).saturating_sub(hits),
        );
        found
    }

    /// A cache read that replaces no call (an estimate looking ahead): not counted.
    async fn cache_peek(&self, key: &str) -> Option<serde_json::Value> {
        match self.cache.get(key).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(code = e.code(), error = %e, "cache read failed; treating as a miss");
                None
            }
        }
    }

    /// [`Self::cache_peek`] for several keys; a failure is logged and every read is a miss.
    async fn cache_peek_many(&self, keys: &[String]) -> HashMap<String, serde_json::Value> {
        match self.cache.get_many(keys).await {
            Ok(v) => v.into_iter().collect(),
            Err(e) => {
                tracing::warn!(code = e.code(), error = %e, "cache read failed; treating as misses");
                HashMap::new()
            }
        }
    }

    /// A cache write; a failure is logged and costs only a future model call.
    async fn cache_put(&self, key: &str, value: serde_json::Value) {
        if let Err(e) = self.cache.put(key, value).await {
            tracing::warn!(code = e.code(), error = %e, "cache write failed");
        }
    }

    /// Several cache writes at once; a failure is logged.
    async fn cache_put_many(&self, entries: Vec<(String, serde_json::Value)>) {
        if entries.is_empty() {
            return;
        }
        if let Err(e) = self.cache.put_many(entries).await {
            tracing::warn!(code = e.code(), error = %e, "cache write failed");
        }
    }

    /// `kind:model`, the model part of cache keys.
    fn model_id(&self) -> String {
        let i = self.info();
        format!("{}:{}", i.kind, i.model)
    }
}

// Helpers shared by the phases.

/// Refuses a phase output of another inventory or language (a stale checkpoint).
pub(super) fn check_same_input(
    input: &SpecInput,
    hash: &str,
    language: &LanguageTag,
    opts: &GenerateOptions,
    what: &str,
) -> Result<(), SpecError> {
    if hash != input.content_hash {
        return Err(SpecError::InconsistentInput(format!(
            "{what} belongs to another inventory"
        )));
    }
    if language != &opts.language {
        return Err(SpecError::InconsistentInput(format!(
            "{what} is in {language}, the request is for {}",
            opts.language
        )));
    }
    Ok(())
}

/// What a behavior shows when there is no sentence: the test's cleaned name.
pub(super) fn fallback_text(t: &TestEntry) -> String {
    let n = t.clean_name();
    if n.is_empty() {
        "Unnamed test".into()
    } else {
        n
    }
}

/// One prompt line: index, (file,) suite path and name, tab-separated and cleaned.
pub(super) fn test_line(t: &TestEntry, with_file: bool) -> String {
    let suites = clean_text(&t.suite_path.join(" > "), 300);
    if with_file {
        format!(
            "{}\t{}\t{}\t{}",
            t.index,
            clean_text(&t.file, 300),
            suites,
            t.clean_name()
        )
    } else {
        format!("{}\t{}\t{}", t.index, suites, t.clean_name())
    }
}

/// Adds tests to the "Uncategorized" domain and feature, creating them when needed.
pub(super) fn push_uncategorized(domains: &mut Vec<ClassDomain>, tests: Vec<usize>) {
    let feature = ClassFeature {
        name: UNCATEGORIZED.into(),
        tests,
    };
    match domains.iter_mut().find(|d| d.name == UNCATEGORIZED) {
        Some(d) => match d.features.iter_mut().find(|f| f.name == UNCATEGORIZED) {
            Some(f) => f.tests.extend(feature.tests),
            None => d.features.push(feature),
        },
        None => domains.push(ClassDomain {
            name: UNCATEGORIZED.into(),
            description: Some("Tests that could not be placed in a domain.".into()),
            features: vec![feature],
        }),
    }
}

//! Caches of model answers, so that regenerating a document does not pay twice for the same
//! sentence.
//!
//! Keys are SHA-256 digests of length-prefixed fields, built only by the functions here, so
//! every key says exactly what it depends on:
//! - a behavior: (normalised test name, suite path, file path, language, model, prompt
//!   version);
//! - a classification: (repository identity, inventory content hash, language, model, prompt
//!   version, chunk size) — never file paths alone, so one repository's domain names can never
//!   leak into another's document;
//! - a summary: (repository identity, digest of the summary request, language, model, prompt
//!   version).
//!
//! A behavior sentence depends only on its test (name, suites, file), so two repositories
//! holding the same test share it; anything that depends on a repository's structure carries
//! the repository in its key. The production cache is a table of the application
//! (`specline_app::store::SpecCacheStore`), shared by every spec generator process.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::future::BoxFuture;
use sha2::{Digest, Sha256};

use crate::error::SpecError;
use crate::input::{clean_text, RepoIdentity};
use crate::lang::LanguageTag;

/// Whether a generation reads the caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheMode {
    /// Read cached answers and store new ones (the normal regeneration).
    #[default]
    Use,
    /// Read nothing from the cache; every answer comes fresh from the model. Fresh answers are
    /// still stored, so the next `Use` run sees them.
    Bypass,
}

/// A store of JSON values by key. Async because the production one is a database table.
pub trait Cache: Send + Sync {
    fn get<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<serde_json::Value>, SpecError>>;
    fn put<'a>(
        &'a self,
        key: &'a str,
        value: serde_json::Value,
    ) -> BoxFuture<'a, Result<(), SpecError>>;

    /// The values of those `keys` that have one, as `(key, value)`. A database cache answers
    /// in one query; the default asks key by key.
    fn get_many<'a>(
        &'a self,
        keys: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<(String, serde_json::Value)>, SpecError>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for k in keys {
                if let Some(v) = self.get(k).await? {
                    out.push((k.clone(), v));
                }
            }
            Ok(out)
        })
    }

    /// Stores several values; a database cache writes them in one transaction.
    fn put_many<'a>(
        &'a self,
        entries: Vec<(String, serde_json::Value)>,
    ) -> BoxFuture<'a, Result<(), SpecError>> {
        Box::pin(async move {
            for (k, v) in entries {
                self.put(&k, v).await?;
            }
            Ok(())
        })
    }
}

/// A cache in a `HashMap`, for tests, the CLI and single runs.
#[derive(Debug, Default)]
pub struct MemoryCache {
    map: Mutex<HashMap<String, serde_json::Value>>,
}

impl MemoryCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Cache for MemoryCache {
    fn get<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<serde_json::Value>, SpecError>> {
        let v = self
            .map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned();
        Box::pin(async move { Ok(v) })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        value: serde_json::Value,
    ) -> BoxFuture<'a, Result<(), SpecError>> {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), value);
        Box::pin(async move { Ok(()) })
    }
}

fn digest(kind: &str, fields: &[&str]) -> String {
    let mut h = Sha256::new();
    for f in std::iter::once(&kind).chain(fields) {
        h.update((f.len() as u64).to_le_bytes());
        h.update(f.as_bytes());
    }
    format!("{kind}:{}", hex::encode(h.finalize()))
}

/// The name as the cache sees it: control characters and runs of whitespace do not make two
/// names different. Never cut: two long names that differ only at the end are two tests.
pub fn normalize_test_name(name: &str) -> String {
    clean_text(name, usize::MAX)
}

/// Key of one behavior sentence.
pub fn behavior_key(
    test_name: &str,
    suite_path: &[String],
    file: &str,
    language: &LanguageTag,
    model: &str,
    prompt_version: &str,
) -> String {
    let suites = suite_path.join("\u{1f}");
    digest(
        "behavior",
        &[
            &normalize_test_name(test_name),
            &suites,
            file,
            language.as_str(),
            model,
            prompt_version,
        ],
    )
}

/// Key of a summary: the repository (a summary names its domains), the digest of the
/// summary request's content (domain and feature names, counts, example sentences), the
/// language, the model and the prompt version.
pub fn summary_key(
    repository: &RepoIdentity,
    request_digest: &str,
    language: &LanguageTag,
    model: &str,
    prompt_version: &str,
) -> String {
    digest(
        "summary",
        &[
            &repository.0,
            request_digest,
            language.as_str(),
            model,
            prompt_version,
        ],
    )
}

/// Key of a whole classification.
pub fn classification_key(
    repository: &RepoIdentity,
    content_hash: &str,
    language: &LanguageTag,
    model: &str,
    prompt_version: &str,
    chunk_tests: usize,
) -> String {
    digest(
        "classification",
        &[
            &repository.0,
            content_hash,
            language.as_str(),
            model,
            prompt_version,
            &chunk_tests.to_string(),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn en() -> LanguageTag {
        LanguageTag::parse("en").unwrap()
    }

    #[test]
    fn behavior_key_depends_on_every_field_but_not_on_whitespace_noise() {
        let base = behavior_key("rejects x", &["Login".into()], "a.ts", &en(), "m", "p1");
        assert_eq!(
            base,
            behavior_key("rejects \n x", &["Login".into()], "a.ts", &en(), "m", "p1")
        );
        let ko = LanguageTag::parse("ko").unwrap();
        for other in [
            behavior_key("rejects y", &["Login".into()], "a.ts", &en(), "m", "p1"),
            behavior_key("rejects x", &["Logout".into()], "a.ts", &en(), "m", "p1"),
            behavior_key("rejects x", &["Login".into()], "b.ts", &en(), "m", "p1"),
            behavior_key("rejects x", &["Login".into()], "a.ts", &ko, "m", "p1"),
            behavior_key("rejects x", &["Login".into()], "a.ts", &en(), "m2", "p1"),
            behavior_key("rejects x", &["Login".into()], "a.ts", &en(), "m", "p2"),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn classification_key_separates_repositories_with_identical_files() {
        let a = RepoIdentity::from_location("https://h/org/a");
        let b = RepoIdentity::from_location("https://h/org/b");
        assert_ne!(
            classification_key(&a, "hash", &en(), "m", "p", 300),
            classification_key(&b, "hash", &en(), "m", "p", 300)
        );
        assert_ne!(
            classification_key(&a, "hash", &en(), "m", "p", 300),
            classification_key(&a, "hash2", &en(), "m", "p", 300)
        );
    }

    #[tokio::test]
    async fn memory_cache_round_trips() {
        let c = MemoryCache::new();
        assert_eq!(c.get("k").await.unwrap(), None);
        c.put("k", serde_json::json!({"a": 1})).await.unwrap();
        assert_eq!(c.get("k").await.unwrap(), Some(serde_json::json!({"a": 1})));
        assert_eq!(c.len(), 1);
    }
}

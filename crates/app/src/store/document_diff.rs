//! What changed between a document version and the one before it, stored with the version
//! so the CLI, the API and the pages show it without loading two documents.
//!
//! The diff itself is computed by the spec generator (`specline_specdoc_model::diff`) and
//! is opaque JSON here; the counts are columns so a list of versions can show "+3 −1"
//! without reading the JSON.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Result;

/// A diff to store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewDocumentDiff {
    /// The new version.
    pub document_id: i64,
    /// The version it is compared with (the latest one before it of the same repository and
    /// language).
    pub base_document_id: i64,
    pub added: i64,
    pub removed: i64,
    pub reworded: i64,
    pub moved: i64,
    /// The whole `specline_specdoc_model::diff::DocumentDiff`.
    pub content: serde_json::Value,
}

/// A stored diff. Its `base_document_id` may name a version retention has since deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentDiffRecord {
    #[serde(flatten)]
    pub diff: NewDocumentDiff,
    pub created_at: DateTime<Utc>,
}

pub(crate) const DIFF_COLUMNS: &str =
    "document_id, base_document_id, added, removed, reworded, moved, content, created_at";

/// Diffs' persistence, implemented by both application stores.
#[async_trait]
pub trait DocumentDiffStore: Send + Sync {
    /// Store the diff of a version. A second diff for the same version (a retried step) is
    /// ignored: the first one stays.
    async fn store_document_diff(&self, diff: &NewDocumentDiff) -> Result<()>;

    /// The diff of a version against the one before it, if one was stored (the first version
    /// of a document has none).
    async fn document_diff(&self, document_id: i64) -> Result<Option<DocumentDiffRecord>>;
}

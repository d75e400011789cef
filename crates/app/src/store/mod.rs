//! The application's own tables: analyses with their inventory (files, suites, tests) stored
//! row by row, spec documents and their versions, and watched repositories.
//!
//! They live next to the job engine's tables (the same PostgreSQL schema or SQLite file), so
//! one database holds everything and a step can write its rows where its job lives. Both
//! backends implement [`AppStore`] with the same semantics; the conformance tests in
//! `tests/store.rs` run every behaviour on both.
//!
//! Why rows and not one JSON blob: a large repository's inventory streams in batches while
//! the scan goes on (`insert_files`), a failed analysis keeps what it had, and retention and
//! reuse are plain queries.

pub mod api;
pub mod document_diff;
pub mod model_usage;
mod postgres;
mod rows;
pub mod spec_cache;
mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use specline_inventory_model::{FileError, Inventory, ScanStats, TestFile};
use specline_queue::{ErrorClass, ErrorCode};

use crate::AppCode;

pub use api::{ApiStore, ApiToken, NewApiToken, OwnedRun};
pub use document_diff::{DocumentDiffRecord, DocumentDiffStore, NewDocumentDiff};
pub use model_usage::{
    ModelUsageStore, PhaseUsage, PhaseUsageRecord, UsageTotals, FAILED_CONVERT_PHASE,
};
pub use postgres::PgAppStore;
pub use spec_cache::{CacheEntry, CachePruneReport, SpecCacheStore};
pub use sqlite::SqliteAppStore;

/// Errors of the application store, each with a stable code.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `APP_DB`: the database failed or could not be reached.
    #[error("APP_DB: {0}")]
    Database(String),
    /// `APP_NOT_FOUND`: no such analysis, document or repository.
    #[error("APP_NOT_FOUND: {0}")]
    NotFound(String),
    /// `APP_CONFLICT`: the operation does not fit the record's state (e.g. adding files to a
    /// finished analysis).
    #[error("APP_CONFLICT: {0}")]
    Conflict(String),
    /// `APP_CORRUPT`: a stored value could not be read back.
    #[error("APP_CORRUPT: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The error's code in the list.
    pub fn kind(&self) -> AppCode {
        match self {
            StoreError::Database(_) => AppCode::AppDb,
            StoreError::NotFound(_) => AppCode::AppNotFound,
            StoreError::Conflict(_) => AppCode::AppConflict,
            StoreError::Corrupt(_) => AppCode::AppCorrupt,
        }
    }
}

impl ErrorCode for StoreError {
    fn code(&self) -> &'static str {
        StoreError::code(self)
    }

    /// The database being out of reach is worth another attempt; anything about the rows
    /// themselves is not.
    fn class(&self) -> ErrorClass {
        crate::codes::fixed(self.kind())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Where the application's schema stands (its own migration counter, apart from the engine's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AppMigrationStatus {
    pub current: i32,
    pub latest: i32,
}

impl AppMigrationStatus {
    pub fn is_current(&self) -> bool {
        self.current == self.latest
    }
}

/// State of an analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnalysisState {
    /// Rows are being written.
    Running,
    /// Finished; `stats` is set. Only complete, untruncated analyses are reused.
    Complete,
    /// Stopped with an error; the rows written so far stay for inspection until retention.
    Failed,
}

/// What starts an analysis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAnalysis {
    /// Normalised location: a git URL without credentials, or a canonical local path.
    pub repository: String,
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub commit_time: Option<DateTime<Utc>>,
    pub parser_version: String,
    /// The pipeline run that does the work (a retried step finds its own analysis by it).
    pub run_id: Option<i64>,
}

/// One analysis, without its rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisRecord {
    pub id: i64,
    pub repository: String,
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub commit_time: Option<DateTime<Utc>>,
    pub parser_version: String,
    pub run_id: Option<i64>,
    pub state: AnalysisState,
    /// Set when complete.
    pub stats: Option<ScanStats>,
    /// Per-file errors recorded.
    pub error_count: i64,
    /// Set when failed.
    pub failure: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A document to store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewDocument {
    pub analysis_id: i64,
    pub repository: String,
    /// Requested language (BCP-47).
    pub language: String,
    /// `offline`, `gemini`, `openai`.
    pub generator_kind: String,
    pub model: String,
    pub prompt_version: String,
    /// The whole `specline_specdoc::SpecDocument` as JSON (this crate does not link specdoc).
    /// Its top-level `version` is overwritten by the store with the version it assigns, so
    /// the JSON and the row always agree (see [`stamp_version`]).
    pub content: serde_json::Value,
    pub behaviors: i64,
    pub run_id: Option<i64>,
}

/// `content` with its top-level `version` set to `version`.
///
/// A document's version is assigned by the store under its lock (one writer per repository
/// and language). A generator that read the latest version beforehand and wrote `N + 1` into
/// its JSON raced any other generation of the same repository: two concurrent ones both wrote
/// `vN+1` in the JSON and got `N+1` and `N+2` in the rows. Writing the number into the JSON
/// inside the same transaction that assigns it makes them agree by construction.
pub(crate) fn stamp_version(content: &serde_json::Value, version: i32) -> serde_json::Value {
    let mut content = content.clone();
    if let Some(fields) = content.as_object_mut() {
        fields.insert("version".to_string(), version.into());
    }
    content
}

/// A watched repository last submitted at or before this time is due at `now`. Clamped to
/// the epoch, so an absurd interval means "not again" rather than a time no database holds.
pub(crate) fn due_before(now: DateTime<Utc>, interval: chrono::Duration) -> DateTime<Utc> {
    now.checked_sub_signed(interval)
        .filter(|t| *t > DateTime::UNIX_EPOCH)
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// A stored document version: its head (what a list of versions shows) and its content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentRecord {
    #[serde(flatten)]
    pub head: DocumentHead,
    pub content: serde_json::Value,
}

/// A stored document without its content: what a list of versions needs (a content can be
/// megabytes; a list holds up to hundreds of versions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentHead {
    pub id: i64,
    pub analysis_id: i64,
    pub repository: String,
    pub language: String,
    /// As [`DocumentRecord::version`].
    pub version: i32,
    pub generator_kind: String,
    pub model: String,
    pub prompt_version: String,
    pub behaviors: i64,
    pub run_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// A repository the scheduler re-analyses periodically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchedRepository {
    /// Normalised location (no credentials).
    pub repository: String,
    pub branch: Option<String>,
    /// Language of the document generated after each new analysis.
    pub language: String,
    /// The access token encrypted with `specline_settings::TokenCipher` (never plaintext).
    pub encrypted_token: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What retention deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    pub analyses: u64,
    pub documents: u64,
}

/// The application's persistence. Implemented by [`PgAppStore`] and [`SqliteAppStore`].
/// The spec generator's cache ([`SpecCacheStore`]), the diffs between document versions
/// ([`DocumentDiffStore`]) and model cost ([`ModelUsageStore`]) are part of it, so every holder of the store reaches them through
/// the same handle.
#[async_trait]
pub trait AppStore:
    SpecCacheStore + DocumentDiffStore + ModelUsageStore + Send + Sync + 'static
{
    /// Create or upgrade the application's tables (safe to run concurrently).
    async fn migrate(&self) -> Result<()>;
    async fn migration_status(&self) -> Result<AppMigrationStatus>;

    /// The newest complete, untruncated analysis of exactly this repository, commit and
    /// parser version.
    async fn find_reusable_analysis(
        &self,
        repository: &str,
        commit: &str,
        parser_version: &str,
    ) -> Result<Option<AnalysisRecord>>;

    /// Start an analysis. If a `running` analysis with the same `run_id` exists (the step was
    /// retried after a crash), its rows are deleted and it is returned, restarted, so a retry
    /// never duplicates rows.
    async fn begin_analysis(&self, new: &NewAnalysis) -> Result<AnalysisRecord>;

    /// Store a batch of files with their suites and tests, in one transaction.
    /// `APP_CONFLICT` unless the analysis is running.
    async fn insert_files(&self, analysis_id: i64, files: &[TestFile]) -> Result<()>;

    /// Store per-file errors. `APP_CONFLICT` unless the analysis is running.
    async fn insert_file_errors(&self, analysis_id: i64, errors: &[FileError]) -> Result<()>;

    /// Mark the analysis complete with its statistics (a truncated scan is complete but never
    /// reused). `APP_CONFLICT` unless the analysis is running.
    async fn finish_analysis(&self, analysis_id: i64, stats: &ScanStats) -> Result<AnalysisRecord>;

    /// Mark the analysis failed. Failing a failed analysis again does nothing (an error path
    /// may run twice; the first message stays); `APP_CONFLICT` for a complete one.
    async fn fail_analysis(&self, analysis_id: i64, message: &str) -> Result<()>;

    async fn get_analysis(&self, analysis_id: i64) -> Result<Option<AnalysisRecord>>;

    /// Newest first, optionally of one repository, with `id < before` (all when `None`):
    /// `before` is the last id of the previous page, a keyset cursor that neither repeats nor
    /// skips a row when analyses are added between pages.
    async fn list_analyses(
        &self,
        repository: Option<&str>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<AnalysisRecord>>;

    /// The analysis rebuilt as an [`Inventory`]: files sorted by path, suites and tests in
    /// source order, errors sorted by path — equal to the inventory that was stored.
    async fn load_inventory(&self, analysis_id: i64) -> Result<Inventory>;

    /// A document of this analysis, language and generator (kind, model, prompt version)
    /// already stored: the newest such.
    async fn find_document(
        &self,
        analysis_id: i64,
        language: &str,
        generator_kind: &str,
        model: &str,
        prompt_version: &str,
    ) -> Result<Option<DocumentRecord>>;

    /// Store a document as the next version of its (repository, language), with that version
    /// written into its JSON as well. Storing again for the same `run_id`, analysis and
    /// language returns the existing record (a retried step does not make a second version).
    async fn store_document(&self, doc: &NewDocument) -> Result<DocumentRecord>;

    async fn get_document(&self, id: i64) -> Result<Option<DocumentRecord>>;

    /// The newest version for (repository, language).
    async fn latest_document(
        &self,
        repository: &str,
        language: &str,
    ) -> Result<Option<DocumentRecord>>;

    /// Newest first, without their contents ([`Self::get_document`] reads one).
    async fn list_documents(
        &self,
        repository: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DocumentHead>>;

    /// Insert or update (by repository) a watched repository. An update keeps the stored
    /// `created_at` (when it was first watched).
    async fn watch(&self, repo: &WatchedRepository) -> Result<()>;
    /// Stop watching; `APP_NOT_FOUND` if it was not watched.
    async fn unwatch(&self, repository: &str) -> Result<()>;
    async fn watched(&self) -> Result<Vec<WatchedRepository>>;
    async fn get_watched(&self, repository: &str) -> Result<Option<WatchedRepository>>;

    /// Claim up to `limit` watched repositories due for re-analysis at `now`: never submitted,
    /// or last submitted at or before `now - interval`. One statement marks each claimed
    /// repository submitted at `now`, so of several schedulers claiming at once exactly one
    /// gets it, and it is not due again before `now + interval`, however long the interval
    /// (the time is stored, not inferred from an idempotency key that expires after 24 h).
    /// Re-watching a repository keeps its time.
    async fn claim_due_watched(
        &self,
        now: DateTime<Utc>,
        interval: chrono::Duration,
        limit: usize,
    ) -> Result<Vec<WatchedRepository>>;

    /// Give back a claim made at `claimed_at` whose submission failed: the repository is due
    /// again at once. Does nothing if a later claim has replaced it.
    async fn release_watched_claim(
        &self,
        repository: &str,
        claimed_at: DateTime<Utc>,
    ) -> Result<()>;

    /// Delete analyses and documents finished before `before`, but always keep, per
    /// repository, the newest complete analysis and, per (repository, language), the newest
    /// document, and never delete an analysis a kept document refers to or one still running.
    async fn apply_retention(&self, before: DateTime<Utc>) -> Result<RetentionReport>;
}

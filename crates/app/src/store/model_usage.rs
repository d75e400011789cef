//! What model calls cost: calls and tokens in and out per phase of each generation, with the
//! run's owner and, once stored, the document — so cost can be read per phase, per document
//! and per owner, and an owner's budget checked before a generation calls anything.
//!
//! One row per (run, phase), written when the phase's step ends: a retried step replaces
//! its row instead of counting twice. The calls of feature conversions that failed (a job
//! attempt that is retried, or a feature that falls back to its test names) are paid for too
//! but leave no output to count again later: each failed attempt adds its calls to the run's
//! [`FAILED_CONVERT_PHASE`] row instead.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Result;

/// One phase's cost in one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseUsage {
    pub run_id: i64,
    pub owner: String,
    pub repository: String,
    pub language: String,
    /// `classify`, `convert`, `summarize`, or [`FAILED_CONVERT_PHASE`].
    pub phase: String,
    pub calls: i64,
    pub prompt_tokens: i64,
    pub output_tokens: i64,
}

/// A stored [`PhaseUsage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseUsageRecord {
    #[serde(flatten)]
    pub usage: PhaseUsage,
    /// Set when the run's document was stored.
    pub document_id: Option<i64>,
    pub recorded_at: DateTime<Utc>,
}

/// Sums over many rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageTotals {
    pub calls: i64,
    pub prompt_tokens: i64,
    pub output_tokens: i64,
}

/// The phase under which failed feature conversions' calls add up (see the module doc).
pub const FAILED_CONVERT_PHASE: &str = "convert_failed";

/// The `ON CONFLICT (run_id, phase) DO UPDATE SET` counts of [`ModelUsageStore::record_usage`]
/// (the step's row replaces the last) and of [`ModelUsageStore::add_usage`] (adds up); the
/// same SQL on both backends.
pub(crate) const REPLACE_COUNTS: &str = "calls = excluded.calls, \
     prompt_tokens = excluded.prompt_tokens, output_tokens = excluded.output_tokens";
pub(crate) const ADD_COUNTS: &str = "calls = specline_model_usage.calls + excluded.calls, \
     prompt_tokens = specline_model_usage.prompt_tokens + excluded.prompt_tokens, \
     output_tokens = specline_model_usage.output_tokens + excluded.output_tokens";

pub(crate) const USAGE_COLUMNS: &str = "run_id, owner, repository, language, phase, calls, \
     prompt_tokens, output_tokens, document_id, recorded_at";

/// Cost accounting's persistence, implemented by both application stores.
#[async_trait]
pub trait ModelUsageStore: Send + Sync {
    /// Record a phase's cost; a second record of the same run and phase replaces the first.
    async fn record_usage(&self, usage: &PhaseUsage) -> Result<()>;

    /// Add a phase's cost to the run's row of that phase (created if missing): for calls
    /// that were paid for but whose output will not be recorded by [`Self::record_usage`].
    async fn add_usage(&self, usage: &PhaseUsage) -> Result<()>;

    /// Tie a run's rows to the document it stored.
    async fn attach_usage(&self, run_id: i64, document_id: i64) -> Result<()>;

    /// An owner's cost recorded at or after `since`.
    async fn owner_usage(&self, owner: &str, since: DateTime<Utc>) -> Result<UsageTotals>;

    /// The rows of a document, by phase.
    async fn document_usage(&self, document_id: i64) -> Result<Vec<PhaseUsageRecord>>;

    /// Retention: delete rows recorded before `before` unless they belong to a document that
    /// is still stored (a kept version keeps its cost). Returns the rows deleted.
    async fn prune_usage(&self, before: DateTime<Utc>) -> Result<u64>;
}

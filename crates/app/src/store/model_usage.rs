//! What model calls cost: calls and tokens in and out per phase of each generation, with the
//! run's owner and, once stored, the document — so cost can be read per phase, per document
//! and per owner, and an owner's budget checked before a generation calls anything.
//!
//! One row per (run, phase), written when the phase's step ends: a retried step replaces
//! its row instead of counting twice.

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
    /// `classify`, `convert` or `summarize`.
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

pub(crate) const USAGE_COLUMNS: &str = "run_id, owner, repository, language, phase, calls, \
     prompt_tokens, output_tokens, document_id, recorded_at";

/// Cost accounting's persistence, implemented by both application stores.
#[async_trait]
pub trait ModelUsageStore: Send + Sync {
    /// Record a phase's cost; a second record of the same run and phase replaces the first.
    async fn record_usage(&self, usage: &PhaseUsage) -> Result<()>;

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

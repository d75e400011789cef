//! The rows of rollouts and the drivers' part of them ([`crate::rollout`] has the rules: the
//! mode cache, the choice of implementation, the shadow runs, the report). Here, under
//! `store`, so that the store's interface names them without depending on the rollout module.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::store::rollout_mode::RolloutMode;

/// A rollout's current mode, as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolloutState {
    /// The rollout's name: a job kind, a step, or a part of one (`analyze_repository.extract`).
    pub name: String,
    #[serde(serialize_with = "as_text")]
    pub mode: RolloutMode,
    pub updated_at: DateTime<Utc>,
    /// Who set it last (empty: declared by a worker, never set).
    pub updated_by: String,
}

/// One change of a rollout's mode: who, when, from, to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolloutChange {
    pub id: i64,
    pub name: String,
    #[serde(serialize_with = "as_text")]
    pub from: RolloutMode,
    #[serde(serialize_with = "as_text")]
    pub to: RolloutMode,
    pub actor: String,
    pub at: DateTime<Utc>,
}

fn as_text<S: serde::Serializer>(m: &RolloutMode, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(m)
}

/// A stored mode read back (a row someone edited by hand is reported, not guessed at).
pub(crate) fn stored_mode(name: &str, text: &str) -> Result<RolloutMode> {
    RolloutMode::parse(text)
        .map_err(|e| Error::Corrupt(format!("the mode of rollout `{name}`: {e}")))
}

/// What became of one shadow run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShadowOutcome {
    /// Both succeeded and the comparator found them alike.
    Match,
    /// Both succeeded and differ.
    Mismatch,
    /// The candidate returned an error.
    CandidateError,
    /// The candidate panicked.
    CandidatePanic,
    /// The candidate ran past its timeout and was stopped.
    CandidateTimeout,
    /// The primary failed (or stopped), so there was nothing to compare with.
    PrimaryError,
}

impl ShadowOutcome {
    pub const ALL: [ShadowOutcome; 6] = [
        ShadowOutcome::Match,
        ShadowOutcome::Mismatch,
        ShadowOutcome::CandidateError,
        ShadowOutcome::CandidatePanic,
        ShadowOutcome::CandidateTimeout,
        ShadowOutcome::PrimaryError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ShadowOutcome::Match => "match",
            ShadowOutcome::Mismatch => "mismatch",
            ShadowOutcome::CandidateError => "candidate_error",
            ShadowOutcome::CandidatePanic => "candidate_panic",
            ShadowOutcome::CandidateTimeout => "candidate_timeout",
            ShadowOutcome::PrimaryError => "primary_error",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == text)
            .ok_or_else(|| Error::Corrupt(format!("unknown shadow outcome `{text}`")))
    }
}

/// The record of one shadow run: what each side did and how long it took.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShadowResult {
    pub rollout: String,
    pub job_id: i64,
    /// The job's rollout key (a run id, an owner).
    pub key: String,
    pub outcome: ShadowOutcome,
    /// The comparator's score, for a match (1.0) or mismatch.
    pub similarity: Option<f64>,
    /// What differs, bounded (see [`crate::rollout::MAX_DIFF_BYTES`]).
    pub diff: Option<serde_json::Value>,
    /// `CODE: message` of the side that failed.
    pub error: Option<String>,
    pub primary_us: i64,
    pub candidate_us: i64,
    pub at: DateTime<Utc>,
}

/// The drivers' part: statements only. Reach it with [`super::Store::rollouts`].
#[async_trait]
pub trait RolloutStore: Send + Sync {
    /// Make the rollout known (mode `off`) if it is not: what a worker does the first time it
    /// reads a rollout's mode, so an operator's `rollout show` lists it.
    async fn declare_rollout(&self, name: &str) -> Result<()>;

    async fn rollout(&self, name: &str) -> Result<Option<RolloutState>>;

    /// Every known rollout, by name.
    async fn list_rollouts(&self) -> Result<Vec<RolloutState>>;

    /// Set the mode and record the change, in one transaction.
    async fn set_rollout(
        &self,
        name: &str,
        mode: RolloutMode,
        actor: &str,
    ) -> Result<RolloutChange>;

    /// The rollout's changes, newest first, at most `limit`.
    async fn rollout_history(&self, name: &str, limit: usize) -> Result<Vec<RolloutChange>>;

    async fn record_shadow(&self, result: &ShadowResult) -> Result<()>;

    /// The rollout's shadow results, newest first, at most `limit`.
    async fn shadow_results(&self, name: &str, limit: usize) -> Result<Vec<ShadowResult>>;

    /// Delete at most `limit` shadow results (of any rollout) recorded before `before`, the
    /// oldest first; how many went. The maintenance leader calls it with
    /// [`crate::maintenance::MaintenanceConfig::retain_rollout_results`], so a shadow left on
    /// for months does not grow the table without bound.
    async fn prune_shadow_results(&self, before: DateTime<Utc>, limit: usize) -> Result<u64>;
}

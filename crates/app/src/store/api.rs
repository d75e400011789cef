//! The API's own tables: access tokens (hashes only) and which owner submitted which run.
//!
//! The engine already records each run's owner and checks it; the API adds a list of an
//! owner's runs (newest first, for `GET /api/v1/runs`) and, per run, the repository its
//! analysis step stored, which is how the API decides that an owner may read a
//! repository's analyses and documents: one of their runs analysed it. (A repository is
//! named by the analyzer's normalised location, so this is recorded from the step's output,
//! not from what was typed.)

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Result;

/// A token to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    pub owner: String,
    pub admin: bool,
    /// SHA-256 of the token, hex (`crate::tokens::hash`).
    pub hash: String,
    pub label: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A stored token (without any way back to the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub owner: String,
    pub admin: bool,
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    /// Neither revoked nor expired at `now`.
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

/// A run submitted through the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedRun {
    pub run_id: i64,
    pub owner: String,
    /// What was submitted (credential-free: the policy refuses userinfo).
    pub target: String,
    /// The repository as the analyzer stored it, once known.
    pub repository: Option<String>,
    /// True once `repository` is final (set, or the run ended without an analysis).
    pub resolved: bool,
    pub created_at: DateTime<Utc>,
}

/// The API's persistence, implemented by both application stores.
#[async_trait]
pub trait ApiStore: Send + Sync + 'static {
    async fn create_token(&self, token: &NewApiToken) -> Result<ApiToken>;
    /// The token with this hash, valid or not (the caller checks [`ApiToken::is_valid_at`]).
    async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>>;
    /// Every token, newest first.
    async fn list_tokens(&self) -> Result<Vec<ApiToken>>;
    /// Revoke; `APP_NOT_FOUND` if there is no such token. Revoking twice keeps the first time.
    async fn revoke_token(&self, id: i64) -> Result<ApiToken>;

    /// Record that `owner` submitted `run_id` (again: nothing changes).
    async fn record_run(&self, owner: &str, run_id: i64, target: &str) -> Result<()>;
    /// The owner's runs with `run_id < before` (all when `None`), newest first.
    async fn owner_runs(
        &self,
        owner: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<OwnedRun>>;
    /// The owner's runs whose repository is not known yet.
    async fn unresolved_runs(&self, owner: &str, limit: usize) -> Result<Vec<OwnedRun>>;
    /// Record the repository a run analysed (`None`: it ended without one).
    async fn resolve_run(&self, run_id: i64, repository: Option<&str>) -> Result<()>;
    /// True when one of the owner's runs analysed `repository`.
    async fn owner_has_repository(&self, owner: &str, repository: &str) -> Result<bool>;
    /// The repositories the owner's runs analysed, in name order, strictly after `after`
    /// (from the first when `None`), at most `limit`: one index probe per name, however
    /// many runs analysed each ([`OWNER_REPOSITORIES`]).
    async fn owner_repositories(
        &self,
        owner: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>>;

    /// Mark (or unmark) the owner's badge of `repository` as public.
    async fn set_badge(&self, owner: &str, repository: &str, public: bool) -> Result<()>;
    /// True when some owner marked the repository's badge public.
    async fn badge_is_public(&self, repository: &str) -> Result<bool>;
}

/// Columns of a token, in the order [`read_token`] reads them.
pub(super) const TOKEN_COLUMNS: &str =
    "id, owner, admin, label, created_at, expires_at, revoked_at";
/// [`ApiStore::owner_repositories`] on both backends (`{P1}`, `{P2}`, `{P3}`: the owner, the
/// name to start after, the most names; `{FIRST}`: `>` after a name, `>=` from `''`): a loose
/// index scan over `specline_api_runs_repository`, each name found by a seek past the last
/// (a plain `DISTINCT` would read every run of the owner).
pub(super) const OWNER_REPOSITORIES: &str = "WITH RECURSIVE names(name, n) AS (
  SELECT (SELECT repository FROM specline_api_runs
          WHERE owner = {P1} AND repository IS NOT NULL AND repository {FIRST} {P2}
          ORDER BY repository LIMIT 1), CAST(1 AS bigint)
  UNION ALL
  SELECT (SELECT repository FROM specline_api_runs
          WHERE owner = {P1} AND repository IS NOT NULL AND repository > names.name
          ORDER BY repository LIMIT 1), names.n + 1
  FROM names WHERE names.name IS NOT NULL AND names.n < CAST({P3} AS bigint)
)
SELECT name FROM names WHERE name IS NOT NULL ORDER BY n";

/// [`OWNER_REPOSITORIES`] with the backend's three placeholders and its comparison filled in,
/// and the name to bind for the second placeholder.
pub(super) fn owner_repositories_sql(after: Option<&str>, params: [&str; 3]) -> (String, String) {
    let (first, from) = match after {
        Some(a) => (">", a.to_string()),
        None => (">=", String::new()),
    };
    let sql = OWNER_REPOSITORIES
        .replace("{FIRST}", first)
        .replace("{P1}", params[0])
        .replace("{P2}", params[1])
        .replace("{P3}", params[2]);
    (sql, from)
}

/// Columns of an owned run, in the order [`read_owned_run`] reads them.
pub(super) const OWNED_RUN_COLUMNS: &str =
    "run_id, owner, target, repository, resolved, created_at";

fn required_time(r: &impl super::rows::RowRead, i: usize) -> Result<DateTime<Utc>> {
    r.opt_time(i)?
        .ok_or_else(|| super::StoreError::Corrupt(format!("column {i} is null")))
}

pub(super) fn read_token(r: &impl super::rows::RowRead) -> Result<ApiToken> {
    Ok(ApiToken {
        id: r.int(0)?,
        owner: r.text(1)?,
        admin: r.flag(2)?,
        label: r.opt_text(3)?,
        created_at: required_time(r, 4)?,
        expires_at: r.opt_time(5)?,
        revoked_at: r.opt_time(6)?,
    })
}

pub(super) fn read_owned_run(r: &impl super::rows::RowRead) -> Result<OwnedRun> {
    Ok(OwnedRun {
        run_id: r.int(0)?,
        owner: r.text(1)?,
        target: r.text(2)?,
        repository: r.opt_text(3)?,
        resolved: r.flag(4)?,
        created_at: required_time(r, 5)?,
    })
}

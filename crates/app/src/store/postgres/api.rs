//! [`ApiStore`] on PostgreSQL.

use async_trait::async_trait;

use super::super::api::{
    owner_repositories_sql, read_owned_run, read_token, ApiStore, ApiToken, NewApiToken, OwnedRun,
    OWNED_RUN_COLUMNS, TOKEN_COLUMNS,
};
use super::{limit_of, PgAppStore};
use crate::store::{Result, StoreError};

/// The API's tables (application migration 3).
pub(super) const MIGRATION_3: &str = r#"
CREATE TABLE specline_api_tokens (
  id         bigserial PRIMARY KEY,
  owner      text NOT NULL,
  admin      boolean NOT NULL DEFAULT false,
  token_hash text NOT NULL UNIQUE,
  label      text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  revoked_at timestamptz
);
CREATE TABLE specline_api_runs (
  run_id     bigint PRIMARY KEY,
  owner      text NOT NULL,
  target     text NOT NULL,
  repository text,
  resolved   boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX specline_api_runs_owner ON specline_api_runs (owner, run_id DESC);
CREATE INDEX specline_api_runs_repository ON specline_api_runs (owner, repository)
  WHERE repository IS NOT NULL;
CREATE TABLE specline_api_badges (
  owner      text NOT NULL,
  repository text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (owner, repository)
);
CREATE INDEX specline_api_badges_repository ON specline_api_badges (repository);
"#;

#[async_trait]
impl ApiStore for PgAppStore {
    async fn create_token(&self, t: &NewApiToken) -> Result<ApiToken> {
        self.first(
            &format!(
                "INSERT INTO specline_api_tokens (owner, admin, token_hash, label, expires_at)
                 VALUES ($1, $2, $3, $4, $5) RETURNING {TOKEN_COLUMNS}"
            ),
            &[&t.owner, &t.admin, &t.hash, &t.label, &t.expires_at],
            read_token,
        )
        .await?
        .ok_or_else(|| StoreError::Corrupt("insert returned no token".into()))
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>> {
        self.first(
            &format!("SELECT {TOKEN_COLUMNS} FROM specline_api_tokens WHERE token_hash = $1"),
            &[&hash],
            read_token,
        )
        .await
    }

    async fn list_tokens(&self) -> Result<Vec<ApiToken>> {
        self.all(
            &format!("SELECT {TOKEN_COLUMNS} FROM specline_api_tokens ORDER BY id DESC"),
            &[],
            read_token,
        )
        .await
    }

    async fn revoke_token(&self, id: i64) -> Result<ApiToken> {
        self.first(
            &format!(
                "UPDATE specline_api_tokens SET revoked_at = COALESCE(revoked_at, now())
                 WHERE id = $1 RETURNING {TOKEN_COLUMNS}"
            ),
            &[&id],
            read_token,
        )
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("token {id} does not exist")))
    }

    async fn record_run(&self, owner: &str, run_id: i64, target: &str) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO specline_api_runs (run_id, owner, target) VALUES ($1, $2, $3)
             ON CONFLICT (run_id) DO NOTHING",
            &[&run_id, &owner, &target],
        )
        .await?;
        Ok(())
    }

    async fn owner_runs(
        &self,
        owner: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<OwnedRun>> {
        self.all(
            &format!(
                "SELECT {OWNED_RUN_COLUMNS} FROM specline_api_runs
                 WHERE owner = $1 AND run_id < $2 ORDER BY run_id DESC LIMIT $3"
            ),
            &[&owner, &before.unwrap_or(i64::MAX), &limit_of(limit)],
            read_owned_run,
        )
        .await
    }

    async fn unresolved_runs(&self, owner: &str, limit: usize) -> Result<Vec<OwnedRun>> {
        self.all(
            &format!(
                "SELECT {OWNED_RUN_COLUMNS} FROM specline_api_runs
                 WHERE owner = $1 AND NOT resolved ORDER BY run_id DESC LIMIT $2"
            ),
            &[&owner, &limit_of(limit)],
            read_owned_run,
        )
        .await
    }

    async fn resolve_run(&self, run_id: i64, repository: Option<&str>) -> Result<()> {
        let c = self.client().await?;
        c.execute(
            "UPDATE specline_api_runs SET repository = $2, resolved = true WHERE run_id = $1",
            &[&run_id, &repository],
        )
        .await?;
        Ok(())
    }

    async fn owner_has_repository(&self, owner: &str, repository: &str) -> Result<bool> {
        let c = self.client().await?;
        Ok(c.query_opt(
            "SELECT 1 FROM specline_api_runs WHERE owner = $1 AND repository = $2 LIMIT 1",
            &[&owner, &repository],
        )
        .await?
        .is_some())
    }

    async fn owner_repositories(
        &self,
        owner: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let (sql, from) = owner_repositories_sql(after, ["$1", "$2", "$3"]);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let c = self.client().await?;
        Ok(c.query(&sql, &[&owner, &from, &limit])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    async fn set_badge(&self, owner: &str, repository: &str, public: bool) -> Result<()> {
        let c = self.client().await?;
        let sql = if public {
            "INSERT INTO specline_api_badges (owner, repository) VALUES ($1, $2)
             ON CONFLICT (owner, repository) DO NOTHING"
        } else {
            "DELETE FROM specline_api_badges WHERE owner = $1 AND repository = $2"
        };
        c.execute(sql, &[&owner, &repository]).await?;
        Ok(())
    }

    async fn badge_is_public(&self, repository: &str) -> Result<bool> {
        let c = self.client().await?;
        Ok(c.query_opt(
            "SELECT 1 FROM specline_api_badges WHERE repository = $1 LIMIT 1",
            &[&repository],
        )
        .await?
        .is_some())
    }
}

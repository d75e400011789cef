//! [`ApiStore`] on SQLite.

use async_trait::async_trait;
use chrono::Utc;
use rusqlite::params;

use super::super::api::{
    owner_repositories_sql, read_owned_run, read_token, ApiStore, ApiToken, NewApiToken, OwnedRun,
    OWNED_RUN_COLUMNS, TOKEN_COLUMNS,
};
use super::super::rows::RowRead;
use super::{limit_of, micros, query_all, query_first, SqliteAppStore};
use crate::store::{Result, StoreError};

/// The API's tables (application migration 3).
pub(super) const MIGRATION_3: &str = r#"
CREATE TABLE specline_api_tokens (
  id         INTEGER PRIMARY KEY,
  owner      TEXT NOT NULL,
  admin      INTEGER NOT NULL DEFAULT 0,
  token_hash TEXT NOT NULL UNIQUE,
  label      TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER
);
CREATE TABLE specline_api_runs (
  run_id     INTEGER PRIMARY KEY,
  owner      TEXT NOT NULL,
  target     TEXT NOT NULL,
  repository TEXT,
  resolved   INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE INDEX specline_api_runs_owner ON specline_api_runs (owner, run_id DESC);
CREATE INDEX specline_api_runs_repository ON specline_api_runs (owner, repository)
  WHERE repository IS NOT NULL;
CREATE TABLE specline_api_badges (
  owner      TEXT NOT NULL,
  repository TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (owner, repository)
);
CREATE INDEX specline_api_badges_repository ON specline_api_badges (repository);
"#;

#[async_trait]
impl ApiStore for SqliteAppStore {
    async fn create_token(&self, t: &NewApiToken) -> Result<ApiToken> {
        let t = t.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO specline_api_tokens (owner, admin, token_hash, label, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![t.owner, t.admin, t.hash, t.label, micros(Utc::now()), t.expires_at.map(micros)],
            )?;
            let id = tx.last_insert_rowid();
            query_first(
                tx,
                &format!("SELECT {TOKEN_COLUMNS} FROM specline_api_tokens WHERE id = ?1"),
                [id],
                |r| read_token(r),
            )?
            .ok_or_else(|| StoreError::Corrupt("insert returned no token".into()))
        })
        .await
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>> {
        let hash = hash.to_string();
        self.read(move |conn| {
            query_first(
                conn,
                &format!("SELECT {TOKEN_COLUMNS} FROM specline_api_tokens WHERE token_hash = ?1"),
                [hash],
                |r| read_token(r),
            )
        })
        .await
    }

    async fn list_tokens(&self) -> Result<Vec<ApiToken>> {
        self.read(|conn| {
            query_all(
                conn,
                &format!("SELECT {TOKEN_COLUMNS} FROM specline_api_tokens ORDER BY id DESC"),
                [],
                |r| read_token(r),
            )
        })
        .await
    }

    async fn revoke_token(&self, id: i64) -> Result<ApiToken> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE specline_api_tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
                params![id, micros(Utc::now())],
            )?;
            query_first(
                tx,
                &format!("SELECT {TOKEN_COLUMNS} FROM specline_api_tokens WHERE id = ?1"),
                [id],
                |r| read_token(r),
            )?
            .ok_or_else(|| StoreError::NotFound(format!("token {id} does not exist")))
        })
        .await
    }

    async fn record_run(&self, owner: &str, run_id: i64, target: &str) -> Result<()> {
        let (owner, target) = (owner.to_string(), target.to_string());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO specline_api_runs (run_id, owner, target, created_at)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (run_id) DO NOTHING",
                params![run_id, owner, target, micros(Utc::now())],
            )?;
            Ok(())
        })
        .await
    }

    async fn owner_runs(
        &self,
        owner: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<OwnedRun>> {
        let owner = owner.to_string();
        self.read(move |conn| {
            query_all(
                conn,
                &format!(
                    "SELECT {OWNED_RUN_COLUMNS} FROM specline_api_runs
                     WHERE owner = ?1 AND run_id < ?2 ORDER BY run_id DESC LIMIT ?3"
                ),
                params![owner, before.unwrap_or(i64::MAX), limit_of(limit)],
                |r| read_owned_run(r),
            )
        })
        .await
    }

    async fn unresolved_runs(&self, owner: &str, limit: usize) -> Result<Vec<OwnedRun>> {
        let owner = owner.to_string();
        self.read(move |conn| {
            query_all(
                conn,
                &format!(
                    "SELECT {OWNED_RUN_COLUMNS} FROM specline_api_runs
                     WHERE owner = ?1 AND NOT resolved ORDER BY run_id DESC LIMIT ?2"
                ),
                params![owner, limit_of(limit)],
                |r| read_owned_run(r),
            )
        })
        .await
    }

    async fn resolve_run(&self, run_id: i64, repository: Option<&str>) -> Result<()> {
        let repository = repository.map(str::to_string);
        self.write(move |tx| {
            tx.execute(
                "UPDATE specline_api_runs SET repository = ?2, resolved = 1 WHERE run_id = ?1",
                params![run_id, repository],
            )?;
            Ok(())
        })
        .await
    }

    async fn owner_has_repository(&self, owner: &str, repository: &str) -> Result<bool> {
        let (owner, repository) = (owner.to_string(), repository.to_string());
        self.read(move |conn| {
            Ok(query_first(
                conn,
                "SELECT 1 FROM specline_api_runs WHERE owner = ?1 AND repository = ?2 LIMIT 1",
                [owner, repository],
                |r| r.int(0),
            )?
            .is_some())
        })
        .await
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
        let (sql, from) = owner_repositories_sql(after, ["?1", "?2", "?3"]);
        let owner = owner.to_string();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| query_all(conn, &sql, params![owner, from, limit], |r| r.text(0)))
            .await
    }

    async fn set_badge(&self, owner: &str, repository: &str, public: bool) -> Result<()> {
        let (owner, repository) = (owner.to_string(), repository.to_string());
        self.write(move |tx| {
            if public {
                tx.execute(
                    "INSERT INTO specline_api_badges (owner, repository, created_at)
                     VALUES (?1, ?2, ?3) ON CONFLICT (owner, repository) DO NOTHING",
                    params![owner, repository, micros(Utc::now())],
                )?;
            } else {
                tx.execute(
                    "DELETE FROM specline_api_badges WHERE owner = ?1 AND repository = ?2",
                    params![owner, repository],
                )?;
            }
            Ok(())
        })
        .await
    }

    async fn badge_is_public(&self, repository: &str) -> Result<bool> {
        let repository = repository.to_string();
        self.read(move |conn| {
            Ok(query_first(
                conn,
                "SELECT 1 FROM specline_api_badges WHERE repository = ?1 LIMIT 1",
                [repository],
                |r| r.int(0),
            )?
            .is_some())
        })
        .await
    }
}

//! The PostgreSQL schema `specline bench` works in: one it created itself, and the only
//! schema it ever drops.
//!
//! The bench used to drop whatever `--schema` named (any schema but `public`), with the
//! `DROP` formatted before the name was checked. Now a drop is possible only through a
//! [`ScratchSchema`] whose `CREATE SCHEMA` this process ran (no `IF NOT EXISTS`: a schema that
//! already exists is refused, not adopted), names are checked against a strict identifier
//! rule before any SQL is built, and they are quoted as well.

use anyhow::{bail, Context};
use specline_service::db::describe_postgres_url;

/// Longest schema name (the engine's own limit, below PostgreSQL's 63 bytes).
const MAX_NAME: usize = 48;

/// A schema for the bench's data.
pub struct ScratchSchema {
    url: String,
    name: String,
    /// This process created it, so this process may drop it.
    created: bool,
}

/// `BENCH_SCHEMA_INVALID` unless `name` is 1–48 lowercase ASCII letters, digits or
/// underscores, not starting with a digit.
pub fn check_name(name: &str) -> anyhow::Result<()> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !(first_ok && rest_ok && name.len() <= MAX_NAME) {
        bail!(
            "BENCH_SCHEMA_INVALID: the schema name must be 1-{MAX_NAME} lowercase ASCII letters, \
             digits or underscores, not starting with a digit (got {:?})",
            name
        );
    }
    Ok(())
}

/// `"name"`, for SQL; only ever called on a checked name.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A name no schema has had: the process id and the time in nanoseconds.
fn fresh_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("specline_bench_{:x}_{:x}", std::process::id(), nanos)
}

async fn connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {}", describe_postgres_url(url)))?;
    tokio::spawn(conn);
    Ok(client)
}

impl ScratchSchema {
    /// Create `name` (a fresh unique name when `None`). `BENCH_SCHEMA_EXISTS` when it exists:
    /// the bench never writes into, nor later drops, a schema it did not make.
    pub async fn create(url: &str, name: Option<&str>) -> anyhow::Result<ScratchSchema> {
        let name = name.map_or_else(fresh_name, str::to_string);
        check_name(&name)?;
        let client = connect(url).await?;
        let exists = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
                &[&name],
            )
            .await?
            .get::<_, bool>(0);
        if exists {
            bail!(
                "BENCH_SCHEMA_EXISTS: schema {name} already exists; the bench only works in a \
                 schema it creates (omit --schema for a fresh one, or add --keep to reuse it \
                 without dropping anything)"
            );
        }
        // No IF NOT EXISTS: if another process made it since the check, this fails.
        if let Err(e) = client
            .batch_execute(&format!("CREATE SCHEMA {}", quoted(&name)))
            .await
        {
            if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_SCHEMA) {
                bail!("BENCH_SCHEMA_EXISTS: schema {name} was created by someone else meanwhile");
            }
            return Err(e).with_context(|| format!("creating schema {name}"));
        }
        Ok(ScratchSchema {
            url: url.to_string(),
            name,
            created: true,
        })
    }

    /// Use `name` as it is (`--keep`): created if missing, and never dropped.
    pub async fn reuse(url: &str, name: &str) -> anyhow::Result<ScratchSchema> {
        check_name(name)?;
        let client = connect(url).await?;
        client
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {}", quoted(name)))
            .await?;
        Ok(ScratchSchema {
            url: url.to_string(),
            name: name.to_string(),
            created: false,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drop the schema if this process created it; otherwise leave it.
    pub async fn drop_if_created(self) -> anyhow::Result<()> {
        if !self.created {
            return Ok(());
        }
        check_name(&self.name)?;
        let client = connect(&self.url).await?;
        client
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", quoted(&self.name)))
            .await
            .with_context(|| format!("dropping the bench's schema {}", self.name))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_before_any_sql_is_built() {
        for bad in [
            "",
            "Public",
            "a\"; DROP SCHEMA public CASCADE; --",
            "1abc",
            "a-b",
            "sch ema",
            &"a".repeat(49),
        ] {
            let err = check_name(bad).unwrap_err().to_string();
            assert!(err.starts_with("BENCH_SCHEMA_INVALID"), "{bad}: {err}");
        }
        for good in ["a", "_x", "specline_bench_1", &"a".repeat(48)] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        assert!(check_name(&fresh_name()).is_ok());
    }
}

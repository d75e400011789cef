//! `token create/list/revoke`: the API's access tokens. A token is printed once, at
//! creation; only its hash is stored, so a lost token is revoked and replaced, never shown.

use anyhow::{bail, Context};
use chrono::{DateTime, Duration, Utc};
use clap::Subcommand;
use specline_app::store::NewApiToken;
use specline_app::tokens;

use crate::{print_json, Tools};

#[derive(Debug, Clone, Subcommand)]
pub enum TokenCommand {
    /// Make a token for an owner; prints it once.
    Create {
        /// The owner the token acts as (any name but `system`).
        #[arg(long)]
        owner: String,
        /// May read every owner's data and use the admin routes.
        #[arg(long)]
        admin: bool,
        /// When it stops working: a duration (`90d`, `12h`, `30m`) or an RFC 3339 time.
        #[arg(long)]
        expires: Option<String>,
        /// A note for `token list` (who or what uses it).
        #[arg(long)]
        label: Option<String>,
    },
    /// Every token (never the token itself).
    List,
    /// Stop a token from working.
    Revoke { id: i64 },
}

/// `90d`, `12h`, `30m` from now, or an RFC 3339 time in the future.
fn parse_expiry(text: &str, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    let text = text.trim();
    let relative = text
        .char_indices()
        .last()
        .and_then(|(i, unit)| Some((text.get(..i)?.parse::<i64>().ok()?, unit)));
    let at = match relative {
        Some((n, 'd')) if n > 0 => Duration::try_days(n).map(|d| now + d),
        Some((n, 'h')) if n > 0 => Duration::try_hours(n).map(|d| now + d),
        Some((n, 'm')) if n > 0 => Duration::try_minutes(n).map(|d| now + d),
        _ => DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
    }
    .with_context(|| {
        format!("INVALID_ARGS: --expires `{text}` is neither a duration (90d, 12h, 30m) nor an RFC 3339 time")
    })?;
    if at <= now {
        bail!("INVALID_ARGS: --expires is in the past");
    }
    Ok(at)
}

impl Tools {
    pub(crate) async fn token_command(&self, c: TokenCommand) -> anyhow::Result<()> {
        match c {
            TokenCommand::Create {
                owner,
                admin,
                expires,
                label,
            } => {
                tokens::validate_owner(&owner)?;
                let expires_at = expires.map(|e| parse_expiry(&e, Utc::now())).transpose()?;
                let made = tokens::generate();
                let stored = self
                    .api
                    .create_token(&NewApiToken {
                        owner,
                        admin,
                        hash: made.hash.clone(),
                        label,
                        expires_at,
                    })
                    .await?;
                if self.json {
                    let mut v = serde_json::to_value(&stored)?;
                    v["token"] = serde_json::Value::String(made.plaintext);
                    return print_json(&v);
                }
                println!("{}", made.plaintext);
                eprintln!(
                    "token {} for owner {}{}: shown once, store it now",
                    stored.id,
                    stored.owner,
                    if stored.admin { " (admin)" } else { "" }
                );
                Ok(())
            }
            TokenCommand::List => {
                let list = self.api.list_tokens().await?;
                if self.json {
                    return print_json(&list);
                }
                let now = Utc::now();
                for t in list {
                    let state = if t.revoked_at.is_some() {
                        "revoked"
                    } else if !t.is_valid_at(now) {
                        "expired"
                    } else {
                        "active"
                    };
                    println!(
                        "{} {} {}{} {}",
                        t.id,
                        t.owner,
                        state,
                        if t.admin { " admin" } else { "" },
                        t.label.as_deref().unwrap_or("")
                    );
                }
                Ok(())
            }
            TokenCommand::Revoke { id } => {
                let t = self.api.revoke_token(id).await?;
                println!("token {} of {} revoked", t.id, t.owner);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries_are_durations_or_times_in_the_future() {
        let now = Utc::now();
        let ok = |t: &str| parse_expiry(t, now).ok();
        assert_eq!(ok("90d"), Some(now + Duration::days(90)));
        assert_eq!(ok("12h"), Some(now + Duration::hours(12)));
        assert_eq!(ok("30m"), Some(now + Duration::minutes(30)));
        assert!(ok("2999-01-01T00:00:00Z").is_some());
        for bad in [
            "",
            "0d",
            "-1d",
            "soon",
            "2000-01-01T00:00:00Z",
            "99999999999999d",
        ] {
            assert!(ok(bad).is_none(), "{bad}");
        }
    }
}

//! `rollout show/set/report`: a candidate implementation's rollout as the database holds
//! it, an operator's change of its mode (recorded with who and when), and what its shadow
//! runs found.

use clap::Subcommand;
use specline_queue::rollout::{report, RolloutMode};

use specline_inventory_model::terminal::terminal_safe;

use crate::{print_json, Tools};

/// Changes `rollout show NAME` lists.
const HISTORY_SHOWN: usize = 20;

#[derive(Debug, Clone, Subcommand)]
pub enum RolloutCommand {
    /// Every rollout and its mode; with a name, that rollout and its latest changes.
    Show { name: Option<String> },
    /// Change a rollout's mode: `off`, `shadow [RATE]` (e.g. `shadow 0.25`), `percent N`,
    /// `full`. Running workers follow within seconds; the change is recorded.
    Set {
        name: String,
        /// The mode's words, e.g. `percent 10`.
        #[arg(required = true, num_args = 1..)]
        mode: Vec<String>,
        /// Who makes the change (default: `$USER`).
        #[arg(long)]
        by: Option<String>,
    },
    /// Match rate, latency of both sides (p50, p95), the most frequent mismatches and the
    /// candidate's failures, over the latest shadow results.
    Report {
        name: String,
        /// How many of the latest results to read.
        #[arg(long, default_value_t = 10_000)]
        window: usize,
    },
}

fn actor(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "operator".to_string())
}

impl Tools {
    pub(crate) async fn rollout_command(&self, c: RolloutCommand) -> anyhow::Result<()> {
        let rollouts = self.jobs.rollouts();
        match c {
            RolloutCommand::Show { name: None } => {
                let all = rollouts.list_rollouts().await?;
                if self.json {
                    return print_json(&all);
                }
                if all.is_empty() {
                    say!("no rollouts (a worker makes its rollouts known on their first job)");
                }
                for s in &all {
                    say!("{}: {}", s.name, s.mode);
                }
                Ok(())
            }
            RolloutCommand::Show { name: Some(name) } => {
                let state = rollouts.rollout(&name).await?;
                let history = rollouts.rollout_history(&name, HISTORY_SHOWN).await?;
                if self.json {
                    return print_json(&serde_json::json!({"rollout": state, "changes": history}));
                }
                match &state {
                    Some(s) => say!("{}: {}", s.name, s.mode),
                    None => say!("{name}: unknown (off)"),
                }
                for c in &history {
                    say!(
                        "  {}  {} -> {}  by {}",
                        c.at.format("%Y-%m-%d %H:%M:%S UTC"),
                        c.from,
                        c.to,
                        c.actor
                    );
                }
                Ok(())
            }
            RolloutCommand::Set { name, mode, by } => {
                let mode = RolloutMode::parse(&mode.join(" "))?;
                let change = rollouts.set_rollout(&name, mode, &actor(by)).await?;
                if self.json {
                    return print_json(&change);
                }
                say!(
                    "rollout {name}: {} -> {} (running workers follow within seconds)",
                    change.from,
                    change.to
                );
                Ok(())
            }
            RolloutCommand::Report { name, window } => {
                if window == 0 || window > 1_000_000 {
                    anyhow::bail!("INVALID_LIMIT: --window must be between 1 and 1000000");
                }
                let r = report(self.jobs.as_ref(), &name, window).await?;
                if self.json {
                    return print_json(&r);
                }
                print!("{}", terminal_safe(&r.to_string()));
                Ok(())
            }
        }
    }
}

//! `limits show/set/clear` and `queue show`: the engine's concurrency and rate limits as the
//! database holds them, an operator's overrides, and why a queue's jobs wait.

use clap::Subcommand;
use specline_queue::limits::explain::waits;
use specline_queue::limits::{LimitStatus, LimitValues};
use specline_queue::{Client, JobState};

use specline_inventory_model::terminal::terminal_safe;

use crate::{print_json, Tools};

/// The busiest partitions `queue show` lists per limited kind.
const PARTITIONS_SHOWN: usize = 10;

#[derive(Debug, Clone, Subcommand)]
pub enum LimitsCommand {
    /// Every limited kind: declared, overridden and effective limits, running and pending
    /// jobs, claims a limit held back.
    Show,
    /// Override some of a kind's limits, e.g. `'{"concurrency": 4, "rate": {"count": 60,
    /// "per": 60000}}'` (`null` lifts a limit); every worker's next claim uses them.
    Set {
        kind: String,
        /// A JSON object with any of `concurrency`, `per_partition`, `rate`, `partition_rate`,
        /// `weights` (e.g. `{"weights": {"acme": 3}}`: partition `acme` gets 3 starts per
        /// round-robin pass where the others get 1).
        overrides: String,
    },
    /// Go back to the limits declared in code.
    Clear { kind: String },
}

#[derive(Debug, Clone, Subcommand)]
pub enum QueueCommand {
    /// A queue's jobs by state, and why its pending jobs wait: paused, a concurrency limit
    /// reached, rate limited, partitions at their limit (with the busiest partitions).
    Show { queue: String },
}

fn values_text(v: &LimitValues) -> String {
    let mut parts = Vec::new();
    if let Some(n) = v.concurrency {
        parts.push(format!("concurrency {n}"));
    }
    if let Some(n) = v.per_partition {
        parts.push(format!("per partition {n}"));
    }
    if let Some(r) = v.rate {
        parts.push(format!("rate {}/{}ms", r.count, r.per.as_millis()));
    }
    if let Some(r) = v.partition_rate {
        parts.push(format!(
            "partition rate {}/{}ms",
            r.count,
            r.per.as_millis()
        ));
    }
    if let Some(w) = v.weights.as_ref().filter(|w| !w.is_empty()) {
        let named: Vec<String> = w.iter().map(|(k, n)| format!("{k:?}={n}")).collect();
        parts.push(format!("weights {}", named.join(" ")));
    }
    if parts.is_empty() {
        "no limit".into()
    } else {
        parts.join(", ")
    }
}

fn status_line(s: &LimitStatus) -> String {
    let overridden = s.overrides.as_object().is_some_and(|o| !o.is_empty());
    format!(
        "{}: {}{} — {} running, {} pending, {} throttled claims",
        s.kind,
        values_text(&s.effective),
        if overridden {
            format!(
                " (overrides {}; declared: {})",
                s.overrides,
                values_text(&s.declared)
            )
        } else {
            String::new()
        },
        s.running,
        s.pending,
        s.throttled
    )
}

impl Tools {
    pub(crate) async fn limits_command(
        &self,
        client: &Client,
        c: LimitsCommand,
    ) -> anyhow::Result<()> {
        match c {
            LimitsCommand::Show => {
                let all = client.limits().await?;
                if self.json {
                    return print_json(&all);
                }
                if all.is_empty() {
                    say!("no limited kinds (a worker declares them when it starts)");
                }
                for s in &all {
                    say!("{}", status_line(s));
                }
                Ok(())
            }
            LimitsCommand::Set { kind, overrides } => {
                client.set_limits(&kind, &overrides).await?;
                say!("limits of {kind} overridden with {overrides}");
                Ok(())
            }
            LimitsCommand::Clear { kind } => {
                client.set_limits(&kind, "{}").await?;
                say!("limits of {kind} are the declared ones again");
                Ok(())
            }
        }
    }

    pub(crate) async fn queue_command(
        &self,
        client: &Client,
        c: QueueCommand,
    ) -> anyhow::Result<()> {
        let QueueCommand::Show { queue } = c;
        let counts = client.counts(Some(&queue)).await?;
        let paused = client.store().paused_queues().await?.contains(&queue);
        let now = chrono::Utc::now();
        let mut kinds = Vec::new();
        for s in client.limits().await? {
            if !s.queues.contains(&queue) {
                continue;
            }
            let partitions = client
                .store()
                .limit_partitions(&s.kind, PARTITIONS_SHOWN)
                .await?;
            let why = waits(&s, &partitions, now);
            kinds.push((s, partitions, why));
        }
        let pending: i64 = counts
            .iter()
            .filter(|(st, _)| !st.is_final() && *st != JobState::Running)
            .map(|(_, n)| n)
            .sum();
        if self.json {
            let kinds: Vec<serde_json::Value> = kinds
                .iter()
                .map(|(s, p, why)| serde_json::json!({"limits": s, "partitions": p, "waiting_because": why}))
                .collect();
            let counts: serde_json::Map<String, serde_json::Value> = counts
                .iter()
                .map(|(s, n)| (s.as_str().to_string(), (*n).into()))
                .collect();
            return print_json(&serde_json::json!({
                "queue": queue, "paused": paused, "counts": counts, "limited_kinds": kinds,
            }));
        }
        let running = counts
            .iter()
            .find(|(s, _)| *s == JobState::Running)
            .map_or(0, |c| c.1);
        say!(
            "queue {queue}{}: {running} running, {pending} pending",
            if paused { " (paused)" } else { "" }
        );
        if paused && pending > 0 {
            say!("  waiting because: the queue is paused (`job` commands still work)");
        }
        for (s, partitions, why) in &kinds {
            say!("  {}", status_line(s));
            for reason in why {
                say!("    waiting because: {reason}");
            }
            if s.effective.per_partition.is_some() || s.effective.partition_rate.is_some() {
                for p in partitions {
                    say!(
                        "    partition {:?}: {} running, {} pending",
                        p.key,
                        p.running,
                        p.pending
                    );
                }
            }
        }
        Ok(())
    }
}

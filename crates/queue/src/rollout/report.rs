//! The report an operator reads before each step of a rollout: over the latest shadow
//! results, how often the candidate agreed, how fast each side was, what differed most often
//! and how the candidate failed.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use super::{RolloutChange, RolloutState, ShadowOutcome, ShadowResult};
use crate::error::Result;
use crate::store::Store;

/// Groups listed under "top mismatches" and "failures".
const TOP: usize = 5;
/// Changes listed.
const CHANGES: usize = 5;

/// Latency percentiles of one side.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Latency {
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

/// Mismatches with the same diff.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MismatchGroup {
    pub count: usize,
    /// The lowest similarity among them.
    pub similarity: f64,
    pub diff: serde_json::Value,
    /// One of them.
    pub job_id: i64,
    pub key: String,
}

/// Candidate (or primary) failures with the same outcome and code.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureGroup {
    pub outcome: ShadowOutcome,
    pub code: String,
    pub count: usize,
    /// The error of one of them.
    pub example: String,
    pub job_id: i64,
}

/// A rollout's state and what its latest shadow runs found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolloutReport {
    pub rollout: String,
    /// `None` when no worker ran it and nobody set it.
    pub state: Option<RolloutState>,
    /// At most this many of the latest results were read.
    pub window: usize,
    pub results: usize,
    /// Results per outcome, every outcome listed.
    pub outcomes: Vec<(ShadowOutcome, usize)>,
    /// Matches over the runs whose primary succeeded (a candidate failure counts against).
    pub match_rate: Option<f64>,
    pub primary: Latency,
    pub candidate: Latency,
    pub top_mismatches: Vec<MismatchGroup>,
    pub failures: Vec<FailureGroup>,
    /// The latest changes of the mode, newest first.
    pub changes: Vec<RolloutChange>,
}

impl RolloutReport {
    pub fn count(&self, outcome: ShadowOutcome) -> usize {
        self.outcomes
            .iter()
            .find(|(o, _)| *o == outcome)
            .map_or(0, |(_, n)| *n)
    }
}

/// The report of rollout `name` over its latest `window` shadow results.
pub async fn report(store: &dyn Store, name: &str, window: usize) -> Result<RolloutReport> {
    let rollouts = store.rollouts();
    let state = rollouts.rollout(name).await?;
    let results = rollouts.shadow_results(name, window).await?;
    let changes = rollouts.rollout_history(name, CHANGES).await?;
    Ok(summarise(name, state, window, &results, changes))
}

fn percentile(sorted: &[i64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    // Nearest rank.
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1] as f64 / 1000.0)
}

fn latency(results: &[ShadowResult], side: fn(&ShadowResult) -> i64) -> Latency {
    let mut us: Vec<i64> = results.iter().map(side).collect();
    us.sort_unstable();
    Latency {
        p50_ms: percentile(&us, 0.50),
        p95_ms: percentile(&us, 0.95),
    }
}

fn summarise(
    name: &str,
    state: Option<RolloutState>,
    window: usize,
    results: &[ShadowResult],
    changes: Vec<RolloutChange>,
) -> RolloutReport {
    let outcomes: Vec<(ShadowOutcome, usize)> = ShadowOutcome::ALL
        .iter()
        .map(|o| (*o, results.iter().filter(|r| r.outcome == *o).count()))
        .collect();
    let count = |o: ShadowOutcome| outcomes.iter().find(|(x, _)| *x == o).map_or(0, |c| c.1);
    let compared = results.len() - count(ShadowOutcome::PrimaryError);
    let match_rate = (compared > 0).then(|| count(ShadowOutcome::Match) as f64 / compared as f64);

    let mut mismatches: HashMap<String, MismatchGroup> = HashMap::new();
    let mut failures: HashMap<(ShadowOutcome, String), FailureGroup> = HashMap::new();
    for r in results {
        match r.outcome {
            ShadowOutcome::Match => {}
            ShadowOutcome::Mismatch => {
                let diff = r.diff.clone().unwrap_or(serde_json::Value::Null);
                let similarity = r.similarity.unwrap_or(0.0);
                let g = mismatches
                    .entry(diff.to_string())
                    .or_insert_with(|| MismatchGroup {
                        count: 0,
                        similarity,
                        diff,
                        job_id: r.job_id,
                        key: r.key.clone(),
                    });
                g.count += 1;
                g.similarity = g.similarity.min(similarity);
            }
            outcome => {
                let error = r.error.clone().unwrap_or_default();
                let code = error
                    .split_once(':')
                    .map_or(error.as_str(), |(c, _)| c)
                    .trim()
                    .to_string();
                let g = failures
                    .entry((outcome, code.clone()))
                    .or_insert_with(|| FailureGroup {
                        outcome,
                        code,
                        count: 0,
                        example: error.clone(),
                        job_id: r.job_id,
                    });
                g.count += 1;
            }
        }
    }
    let mut top_mismatches: Vec<MismatchGroup> = mismatches.into_values().collect();
    top_mismatches.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.similarity.total_cmp(&b.similarity))
            .then(a.job_id.cmp(&b.job_id))
    });
    top_mismatches.truncate(TOP);
    let mut failures: Vec<FailureGroup> = failures.into_values().collect();
    failures.sort_by(|a, b| b.count.cmp(&a.count).then(a.job_id.cmp(&b.job_id)));
    failures.truncate(TOP);
    RolloutReport {
        rollout: name.to_string(),
        state,
        window,
        results: results.len(),
        outcomes,
        match_rate,
        primary: latency(results, |r| r.primary_us),
        candidate: latency(results, |r| r.candidate_us),
        top_mismatches,
        failures,
        changes,
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |ms| format!("{ms:.1} ms"))
}

fn pct(n: usize, of: usize) -> String {
    if of == 0 {
        return "-".into();
    }
    format!("{:.1}%", n as f64 * 100.0 / of as f64)
}

/// Cut a diff's text for one line of the report.
fn line(v: &serde_json::Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(160) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

impl fmt::Display for RolloutReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            Some(s) if s.updated_by.is_empty() => {
                writeln!(f, "rollout {}: {} (never set)", self.rollout, s.mode)?
            }
            Some(s) => writeln!(
                f,
                "rollout {}: {} (set by {} at {})",
                self.rollout,
                s.mode,
                s.updated_by,
                s.updated_at.format("%Y-%m-%d %H:%M:%S UTC")
            )?,
            None => writeln!(f, "rollout {}: unknown (off)", self.rollout)?,
        }
        writeln!(
            f,
            "shadow results: {} (the latest, at most {})",
            self.results, self.window
        )?;
        for (o, n) in &self.outcomes {
            writeln!(
                f,
                "  {:<18} {:>7}  {:>6}",
                o.as_str(),
                n,
                pct(*n, self.results)
            )?;
        }
        match self.match_rate {
            Some(r) => writeln!(f, "match rate: {:.1}%", r * 100.0)?,
            None => writeln!(f, "match rate: - (nothing compared)")?,
        }
        writeln!(f, "latency      {:>10} {:>10}", "p50", "p95")?;
        for (side, l) in [("primary", self.primary), ("candidate", self.candidate)] {
            writeln!(f, "  {side:<10} {:>10} {:>10}", ms(l.p50_ms), ms(l.p95_ms))?;
        }
        if !self.top_mismatches.is_empty() {
            writeln!(f, "top mismatches:")?;
            for m in &self.top_mismatches {
                writeln!(
                    f,
                    "  {:>5}x  similarity {:.2}  e.g. job {} (key {})  {}",
                    m.count,
                    m.similarity,
                    m.job_id,
                    m.key,
                    line(&m.diff)
                )?;
            }
        }
        if !self.failures.is_empty() {
            writeln!(f, "failures:")?;
            for g in &self.failures {
                writeln!(
                    f,
                    "  {:>5}x  {} {}  e.g. job {}: {}",
                    g.count,
                    g.outcome.as_str(),
                    g.code,
                    g.job_id,
                    line(&serde_json::Value::String(g.example.clone()))
                )?;
            }
        }
        if !self.changes.is_empty() {
            writeln!(f, "changes:")?;
            for c in &self.changes {
                writeln!(
                    f,
                    "  {}  {} -> {}  by {}",
                    c.at.format("%Y-%m-%d %H:%M:%S UTC"),
                    c.from,
                    c.to,
                    c.actor
                )?;
            }
        }
        Ok(())
    }
}

//! Cost accounting of the spec steps: each phase's model calls and tokens recorded with the
//! run's owner (and later its document), and the owner's daily budget checked against the
//! generation's estimate before anything is called.

use std::sync::Arc;

use specline_app::store::{AppStore, PhaseUsage, FAILED_CONVERT_PHASE};
use specline_app::{SpecContext, StepError, SYSTEM_OWNER};
use specline_queue::store::Store;
use specline_queue::JobError;
use specline_specdoc::document::TokenUsage;
use specline_specdoc::phases::Estimate;

/// The owner of a run (the operator's `system` when the run is gone).
pub async fn owner_of(jobs: &Arc<dyn Store>, run_id: i64) -> Result<String, JobError> {
    let run = jobs.get_run(run_id).await.map_err(JobError::from)?;
    Ok(run.map_or_else(|| SYSTEM_OWNER.to_string(), |r| r.owner))
}

/// Refuses a generation whose estimate would take `owner` past `budget` model calls over the
/// last 24 hours (`BUDGET_EXCEEDED`, permanent: retrying costs the same). A generation
/// estimated at no call passes.
pub async fn check_budget(
    app: &dyn AppStore,
    owner: &str,
    estimate: &Estimate,
    budget: Option<u64>,
) -> Result<(), JobError> {
    let total = estimate.total_calls();
    // Nothing to pay for (offline, or everything cached): never refused, even past the budget.
    let Some(budget) = budget.filter(|_| total > 0) else {
        return Ok(());
    };
    let since = chrono::Utc::now() - chrono::Duration::hours(24);
    let used = u64::try_from(app.owner_usage(owner, since).await?.calls).unwrap_or(0);
    if used.saturating_add(total) > budget {
        return Err(StepError::BudgetExceeded {
            owner: owner.to_string(),
            estimate: total,
            used,
            budget,
        }
        .into());
    }
    Ok(())
}

/// One phase's row of this run, with the run's owner.
async fn row(
    jobs: &Arc<dyn Store>,
    c: &SpecContext,
    run_id: i64,
    phase: &str,
    usage: &TokenUsage,
) -> Result<PhaseUsage, JobError> {
    let owner = owner_of(jobs, run_id).await?;
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    Ok(PhaseUsage {
        run_id,
        owner,
        repository: c.analyze_repository.repository.clone(),
        language: c.input.lang.clone(),
        phase: phase.to_string(),
        calls: n(usage.calls),
        prompt_tokens: n(usage.prompt_tokens),
        output_tokens: n(usage.output_tokens),
    })
}

/// Records one phase's cost with the run's owner. A failure to write is logged: the document
/// matters more than its bill.
pub async fn record(
    jobs: &Arc<dyn Store>,
    app: &dyn AppStore,
    c: &SpecContext,
    run_id: i64,
    phase: &str,
    usage: &TokenUsage,
) -> Result<(), JobError> {
    let row = row(jobs, c, run_id, phase, usage).await?;
    if let Err(e) = app.record_usage(&row).await {
        tracing::warn!(run = run_id, phase, error = %e, "model usage could not be recorded");
    }
    Ok(())
}

/// Adds the calls of one failed attempt at converting a feature to the run's
/// [`FAILED_CONVERT_PHASE`] row: they were paid for, but the conversion's row (written from
/// the features' outputs when they are joined) cannot count them, and a retry makes new ones.
/// Logged, not returned, when it cannot be written (the attempt's own error matters more).
pub async fn add_failed_conversion(
    jobs: &Arc<dyn Store>,
    app: &dyn AppStore,
    c: &SpecContext,
    run_id: i64,
    usage: &TokenUsage,
) {
    if usage.calls == 0 && usage.prompt_tokens == 0 && usage.output_tokens == 0 {
        return;
    }
    let added = match row(jobs, c, run_id, FAILED_CONVERT_PHASE, usage).await {
        Ok(row) => app.add_usage(&row).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(error) = added {
        tracing::warn!(run = run_id, %error, "a failed conversion's model usage could not be recorded");
    }
}

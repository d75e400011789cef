//! Cost accounting of the spec steps: each phase's model calls and tokens recorded with the
//! run's owner (and later its document), and the owner's daily budget checked against the
//! generation's estimate before anything is called.

use std::sync::Arc;

use specline_app::store::{AppStore, PhaseUsage};
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
    let owner = owner_of(jobs, run_id).await?;
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let row = PhaseUsage {
        run_id,
        owner,
        repository: c.analyze_repository.repository.clone(),
        language: c.input.lang.clone(),
        phase: phase.to_string(),
        calls: n(usage.calls),
        prompt_tokens: n(usage.prompt_tokens),
        output_tokens: n(usage.output_tokens),
    };
    if let Err(e) = app.record_usage(&row).await {
        tracing::warn!(run = run_id, phase, error = %e, "model usage could not be recorded");
    }
    Ok(())
}

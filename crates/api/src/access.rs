//! Owner checks on every read: another owner's run, analysis or document is answered
//! exactly like one that does not exist (404), so ids cannot be probed.

use specline_app::store::{AnalysisRecord, DocumentRecord};
use specline_app::{AnalysisSummary, AnalyzeRepository};
use specline_queue::{Run, RunState, StepKind};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::ApiState;

/// Unresolved runs examined per check (the newest): older ones are resolved as they age.
const RESOLVE_BATCH: usize = 50;

/// The run, if the caller may read it.
pub async fn run(state: &ApiState, caller: &Caller, run_id: i64) -> ApiResult<Run> {
    let client = &state.inner.parts.client;
    if caller.admin {
        return client
            .store()
            .get_run(run_id)
            .await?
            .ok_or_else(ApiError::not_found);
    }
    Ok(client.get_run(&caller.owner, run_id).await?)
}

/// The analysis, if one of the caller's runs analysed its repository.
pub async fn analysis(state: &ApiState, caller: &Caller, id: i64) -> ApiResult<AnalysisRecord> {
    let record = state
        .inner
        .parts
        .app
        .get_analysis(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    repository(state, caller, &record.repository).await?;
    Ok(record)
}

/// The document, if one of the caller's runs analysed its repository.
pub async fn document(state: &ApiState, caller: &Caller, id: i64) -> ApiResult<DocumentRecord> {
    let record = state
        .inner
        .parts
        .app
        .get_document(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    repository(state, caller, &record.head.repository).await?;
    Ok(record)
}

/// Ok when the caller may read `repository`'s analyses and documents: an admin, or an
/// owner one of whose runs analysed it (so had access to it).
pub async fn repository(state: &ApiState, caller: &Caller, repository: &str) -> ApiResult<()> {
    if caller.admin {
        return Ok(());
    }
    let api = &state.inner.parts.api;
    if api.owner_has_repository(&caller.owner, repository).await? {
        return Ok(());
    }
    resolve_pending(state, &caller.owner).await?;
    if api.owner_has_repository(&caller.owner, repository).await? {
        Ok(())
    } else {
        Err(ApiError::not_found())
    }
}

/// Record the repository of each of the owner's runs whose analysis step has finished
/// since it was submitted (its output names the repository as the analyzer stored it).
pub async fn resolve_pending(state: &ApiState, owner: &str) -> ApiResult<()> {
    let (api, client) = (&state.inner.parts.api, &state.inner.parts.client);
    for pending in api.unresolved_runs(owner, RESOLVE_BATCH).await? {
        let run = match client.get_run(owner, pending.run_id).await {
            Ok(run) => run,
            Err(e) if e.code() == "RUN_NOT_FOUND" => {
                api.resolve_run(pending.run_id, None).await?;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let outputs = client.store().step_outputs(run.id).await?;
        let analysed = outputs
            .into_iter()
            .find(|(step, _)| step == AnalyzeRepository::NAME)
            .and_then(|(_, v)| serde_json::from_value::<AnalysisSummary>(v).ok());
        match analysed {
            Some(summary) => api.resolve_run(run.id, Some(&summary.repository)).await?,
            None if run.state != RunState::Running => api.resolve_run(run.id, None).await?,
            None => {}
        }
    }
    Ok(())
}

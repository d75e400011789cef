//! The policy as the analyzer applies it to a run it is about to execute.
//!
//! The run's owner decides one thing: runs of [`crate::SYSTEM_OWNER`] come from the
//! operator tools (`specline-enqueue`, `specline analyze`, the scheduler), which may name a
//! directory on the analyzer's machine; the API refuses that owner name, so no API caller
//! can borrow the exception. Everything else (schemes, hosts, resolved addresses,
//! credentials, option-like values) applies to every run.

use specline_queue::Client;

use super::{PolicyError, RepositoryPolicy, Resolve, SystemResolver, Target};
use crate::AnalysisRequest;

/// The policy and the engine client to look up a run's owner.
#[derive(Clone)]
pub struct RunPolicy {
    pub policy: RepositoryPolicy,
    pub runs: Client,
}

impl RunPolicy {
    /// Check the request of run `run_id`, resolving names with the system resolver; the
    /// target it returns carries the checked addresses, for the clone to be pinned to.
    pub async fn check(
        &self,
        run_id: i64,
        request: &AnalysisRequest,
    ) -> Result<Target, PolicyError> {
        self.check_with(run_id, request, &SystemResolver).await
    }

    pub async fn check_with(
        &self,
        run_id: i64,
        request: &AnalysisRequest,
        resolver: &dyn Resolve,
    ) -> Result<Target, PolicyError> {
        let owner = self
            .runs
            .store()
            .get_run(run_id)
            .await
            .ok()
            .flatten()
            .map(|run| run.owner);
        let mut policy = self.policy.clone();
        if owner.as_deref() == Some(crate::SYSTEM_OWNER) {
            policy.allow_local_paths = true;
        }
        policy
            .check(&request.target, request.git_ref.as_deref(), resolver)
            .await
    }
}

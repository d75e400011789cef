//! The model-call limit shared by every spec generator on one database: at most
//! `[provider] requests_per_minute` calls per minute per provider key, counted by the engine's
//! rate gate ([`specline_queue::limits::gate`]), under each process's own client-side limiter.
//! The gate's partition is the key's fingerprint, never the key.

use std::sync::Arc;

use futures::future::BoxFuture;
use specline_queue::rate_gate;
use specline_queue::store::Store;
use specline_queue::Rate;
use specline_specdoc::provider::ApiKey;
use specline_specdoc::reliability::CallGate;

/// The rate gate's name in the engine's tables.
pub const MODEL_CALLS: &str = "model_calls";

/// The engine's rate gate for one provider key.
pub struct ModelCallGate {
    jobs: Arc<dyn Store>,
    /// `kind:fingerprint` of the provider key.
    partition: String,
    rate: Rate,
}

impl std::fmt::Debug for ModelCallGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelCallGate")
            .field("partition", &self.partition)
            .field("rate", &self.rate)
            .finish()
    }
}

impl ModelCallGate {
    /// The gate of `per_minute` calls for `provider`'s `key` (the partition is the provider's
    /// name and the key's fingerprint).
    pub fn new(jobs: Arc<dyn Store>, provider: &str, key: &ApiKey, per_minute: u32) -> Self {
        Self {
            jobs,
            partition: format!("{provider}:{}", key.fingerprint()),
            rate: Rate::per_minute(per_minute),
        }
    }

    /// The partition this gate counts in.
    pub fn partition(&self) -> &str {
        &self.partition
    }
}

impl CallGate for ModelCallGate {
    fn acquire(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            rate_gate::acquire(&*self.jobs, MODEL_CALLS, &self.partition, &self.rate)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

//! Waiting at a rate gate ([`crate::limits::gate`]): take a token of the gate from the store,
//! or sleep until the time the store says the next one returns.
//!
//! Apart from [`crate::limits`] because it needs the [`crate::store::Store`], which itself
//! depends on the limits' rules: kept there, it would close an import loop.

use chrono::Utc;

use crate::error::Result;
use crate::limits::Rate;
use crate::store::Store;

/// Wait for a token of `rate` for partition `key` of the gate `name` (see
/// [`crate::limits::gate::take_token`]), sleeping until the time the store says the next one
/// returns.
pub async fn acquire(store: &dyn Store, name: &str, key: &str, rate: &Rate) -> Result<()> {
    while let Some(at) = store.take_rate_token(name, key, rate).await? {
        let wait = (at - Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait + std::time::Duration::from_millis(1)).await;
    }
    Ok(())
}

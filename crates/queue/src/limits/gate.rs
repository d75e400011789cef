//! A rate gate: at most N events per period for one partition of a named limit, held across
//! every process sharing the database (e.g. "60 model calls per minute per provider key").
//!
//! It is the per-partition token bucket of a limited kind ([`super::bucket`]) for events that
//! are not jobs: the caller takes a token before the event, under a lock on the bucket's row
//! (`specline_limit_partitions`, keyed by the limit's name and the partition), so two
//! processes never take the same token. The rule is here, once; a driver supplies only the
//! statements ([`GateStatements`]).

use chrono::{DateTime, Utc};

use super::bucket::{self, Bucket};
use super::Rate;
use crate::error::Result;

/// The statements of one gate's transaction.
#[allow(async_fn_in_trait)]
pub trait GateStatements {
    /// The partition's bucket, locked until the transaction ends (created when missing), and
    /// the database's clock read after the lock was granted.
    async fn lock_gate(&mut self, name: &str, key: &str)
        -> Result<(Option<Bucket>, DateTime<Utc>)>;
    /// Write the partition's bucket.
    async fn save_gate(&mut self, name: &str, key: &str, bucket: &Bucket) -> Result<()>;
}

/// Take one token of `rate` for partition `key` of the limit `name`: `None` when taken, else
/// when the next token returns (nothing was taken).
pub async fn take_token<S: GateStatements>(
    st: &mut S,
    name: &str,
    key: &str,
    rate: &Rate,
) -> Result<Option<DateTime<Utc>>> {
    // Gates share the bucket table with limited kinds: their rows are named apart.
    let name = format!("gate:{name}");
    let (prev, now) = st.lock_gate(&name, key).await?;
    let mut b = bucket::refill(rate, prev, now);
    let wait = if b.available() >= 1 {
        b.take(1);
        None
    } else {
        Some(b.token_at(rate))
    };
    st.save_gate(&name, key, &b).await?;
    Ok(wait)
}

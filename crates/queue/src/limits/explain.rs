//! Why a limited kind's due jobs wait, in words an operator reads (`specline-enqueue queue
//! show`), from what the database holds: decided here once for both backends.

use chrono::{DateTime, Utc};

use super::bucket::refill;
use super::{LimitStatus, PartitionCounts};

/// The reasons the kind's pending jobs are not all running now; empty when no limit holds
/// them (they wait for a free worker slot or their scheduled time). `partitions`: the
/// busiest partitions, as [`crate::store::Store::limit_partitions`] reads them.
pub fn waits(
    status: &LimitStatus,
    partitions: &[PartitionCounts],
    now: DateTime<Utc>,
) -> Vec<String> {
    let mut out = Vec::new();
    if status.pending == 0 {
        return out;
    }
    let v = &status.effective;
    if let Some(limit) = v.concurrency {
        if status.running >= i64::from(limit) {
            out.push(format!(
                "concurrency limit reached: {} running of {limit}",
                status.running
            ));
        }
    }
    if let (Some(rate), Some(b)) = (&v.rate, status.bucket) {
        let now_bucket = refill(rate, Some(b), now);
        if now_bucket.available() == 0 {
            let wait = (now_bucket.ready_at(rate) - now).num_milliseconds().max(0);
            out.push(format!(
                "rate limited: {} starts per {} ms; tokens back in about {wait} ms",
                rate.count,
                rate.per.as_millis()
            ));
        }
    }
    if let Some(limit) = v.per_partition {
        let full: Vec<&PartitionCounts> = partitions
            .iter()
            .filter(|p| p.pending > 0 && p.running >= i64::from(limit))
            .collect();
        if !full.is_empty() {
            let names: Vec<String> = full
                .iter()
                .take(5)
                .map(|p| format!("{:?}", p.key))
                .collect();
            out.push(format!(
                "partition limit reached ({limit} running each) in {} of the {} busiest partitions: {}",
                full.len(),
                partitions.len(),
                names.join(", ")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::limits::{Bucket, LimitValues, Rate};

    fn status(
        values: LimitValues,
        running: i64,
        pending: i64,
        bucket: Option<Bucket>,
    ) -> LimitStatus {
        LimitStatus {
            kind: "k".into(),
            queues: vec!["q".into()],
            declared: values.clone(),
            overrides: serde_json::json!({}),
            effective: values,
            running,
            pending,
            throttled: 0,
            bucket,
        }
    }

    #[test]
    fn each_limit_that_holds_jobs_back_is_named() {
        let now = Utc::now();
        let values = LimitValues {
            concurrency: Some(2),
            per_partition: Some(1),
            rate: Some(Rate {
                count: 10,
                per: Duration::from_secs(60),
            }),
            partition_rate: None,
            weights: None,
        };
        let empty = Bucket {
            tokens: 0.0,
            refilled_at: now,
        };
        let parts = [
            PartitionCounts {
                key: "a".into(),
                running: 1,
                pending: 5,
            },
            PartitionCounts {
                key: "b".into(),
                running: 0,
                pending: 1,
            },
        ];
        let why = waits(&status(values.clone(), 2, 6, Some(empty)), &parts, now);
        assert_eq!(why.len(), 3, "{why:?}");
        assert!(why[0].starts_with("concurrency limit reached: 2 running of 2"));
        assert!(why[1].starts_with("rate limited"));
        assert!(why[2].contains("1 of the 2 busiest partitions: \"a\""));
        // Below every limit, or nothing pending: no reason.
        let full = Bucket {
            tokens: 1.0,
            refilled_at: now,
        };
        assert!(waits(&status(values.clone(), 1, 6, Some(full)), &parts[1..], now).is_empty());
        assert!(waits(&status(values, 2, 0, Some(empty)), &parts, now).is_empty());
    }
}

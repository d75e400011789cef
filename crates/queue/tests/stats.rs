//! The dashboard's reads (`JobStats`) on both stores: capped counts per queue and state,
//! the last hour's activity, recent runs.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use specline_queue::stats::CappedCount;
use specline_queue::{Client, JobKind, JobState};

use common::Harness;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Probe {
    n: i64,
}
impl JobKind for Probe {
    const KIND: &'static str = "probe";
    const QUEUE: &'static str = "stats_a";
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Other {
    n: i64,
}
impl JobKind for Other {
    const KIND: &'static str = "other";
    const QUEUE: &'static str = "stats_b";
}

async fn counts_and_activity(h: Harness) {
    let client = Client::new(h.store.clone());
    let a1 = client.insert(&Probe { n: 1 }).await.unwrap().id;
    client.insert(&Probe { n: 2 }).await.unwrap();
    client.insert(&Other { n: 3 }).await.unwrap();
    client.discard(a1).await.unwrap();

    let stats = h.store.stats();
    let mut counts = stats.job_counts().await.unwrap().counts;
    counts.sort_by(|x, y| (&x.queue, x.state.as_str()).cmp(&(&y.queue, y.state.as_str())));
    let c = |queue: &str, state, count| CappedCount {
        queue: queue.into(),
        state,
        count,
    };
    assert_eq!(
        counts,
        vec![
            c("stats_a", JobState::Available, 1),
            c("stats_a", JobState::Discarded, 1),
            c("stats_b", JobState::Available, 1),
        ]
    );

    // The discarded job finished in the last hour; nothing was attempted.
    let activity = stats
        .activity(Utc::now() - Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(activity.len(), 1, "{activity:?}");
    assert_eq!(activity[0].queue, "stats_a");
    assert_eq!((activity[0].finished, activity[0].attempted), (1, 0));
    // Nothing since a minute ahead.
    assert!(stats
        .activity(Utc::now() + Duration::minutes(1))
        .await
        .unwrap()
        .is_empty());
    assert!(stats.recent_run_ids(None, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn postgres_counts_per_queue_and_state_and_the_last_hour() {
    counts_and_activity(Harness::pg().await).await;
}

#[tokio::test]
async fn sqlite_counts_per_queue_and_state_and_the_last_hour() {
    counts_and_activity(Harness::sqlite().await).await;
}
